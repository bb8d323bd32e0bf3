//! The host half of the hardening checklist, read under `--root`: SSH
//! (`PermitRootLogin no`, `PasswordAuthentication no`, `MaxAuthTries 3`,
//! `AllowUsers`), the firewall (UFW enabled with default deny incoming;
//! else nftables or iptables rules with a dropping input policy), a VPN
//! actually installed and configured where the config relies on one, and
//! the modes of SSH keys. Every finding is `ir.host.*` with a fix command;
//! `--fix` never changes any of them (sshd and the firewall can lock the
//! responder out).
//!
//! sshd is read as sshd reads it: `Include` expanded in place (globs in
//! lexical order, relative paths under `/etc/ssh`), the first value of a
//! keyword wins, and lines in a `Match` block apply only to what it
//! matches, so they never set the global value; a `Match` block that
//! re-enables root or password login is reported on its own.

use super::Findings;
use crate::openclaw::Deployment;
use anyhow::Result;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The host path `p` under `root`.
fn under(root: &Path, p: &str) -> PathBuf {
    root.join(p.trim_start_matches('/'))
}

fn read(root: &Path, p: &str) -> Option<String> {
    crate::safefs::read_text(&under(root, p), 1 << 20).ok()
}

/// Runs the host checks.
pub(super) fn check(out: &mut Findings, dep: &Deployment) -> Result<()> {
    let root = &dep.root;
    crate::signal::check()?;
    // A root without /etc (a copied home dir, not a host image) says
    // nothing about the host's SSH or firewall.
    if under(root, "/etc").is_dir() {
        ssh(out, root);
        firewall(out, root);
    }
    vpn(out, dep);
    key_modes(out, dep);
    Ok(())
}

/// One sshd directive: keyword (lower case), value, where, and the
/// `Match` it sits under.
#[derive(Debug)]
struct Directive {
    key: String,
    value: String,
    at: String,
    in_match: Option<String>,
}

/// Expands `sshd_config` and its includes into directives, in sshd's
/// order. Bounded: 16 levels, 256 files.
fn sshd_directives(root: &Path, file: &str, depth: usize, files: &mut usize) -> Vec<Directive> {
    let mut v = Vec::new();
    if depth > 16 || *files > 256 {
        return v;
    }
    *files += 1;
    let Some(text) = read(root, file) else {
        return v;
    };
    let mut in_match: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, val) = line
            .split_once(|c: char| c.is_whitespace() || c == '=')
            .map_or((line, ""), |(k, v)| {
                (k, v.trim_start_matches(['=', ' ', '\t']))
            });
        let key = k.to_ascii_lowercase();
        let val = val.trim().trim_matches('"').to_string();
        if key == "match" {
            in_match = (!val.eq_ignore_ascii_case("all")).then(|| val.clone());
            continue;
        }
        if key == "include" {
            for pat in val.split_whitespace() {
                let pat = if pat.starts_with('/') {
                    pat.to_string()
                } else {
                    format!("/etc/ssh/{pat}")
                };
                for inc in glob_files(root, &pat) {
                    v.extend(sshd_directives(root, &inc, depth + 1, files));
                }
            }
            continue;
        }
        v.push(Directive {
            key,
            value: val,
            at: format!("{file}:{}", n + 1),
            in_match: in_match.clone(),
        });
    }
    v
}

/// The files a `dir/*.conf`-style pattern names, in lexical order (only a
/// `*` in the last component is expanded, as Debian's include uses).
fn glob_files(root: &Path, pat: &str) -> Vec<String> {
    let Some((dir, name)) = pat.rsplit_once('/') else {
        return Vec::new();
    };
    if !name.contains('*') {
        return vec![pat.to_string()];
    }
    let (pre, post) = name.split_once('*').unwrap_or((name, ""));
    let mut v: Vec<String> = std::fs::read_dir(under(root, dir))
        .map(|rd| {
            rd.flatten()
                .take(1000)
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| {
                    n.starts_with(pre) && n.ends_with(post) && n.len() >= pre.len() + post.len()
                })
                .map(|n| format!("{dir}/{n}"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn ssh(out: &mut Findings, root: &Path) {
    if !under(root, "/etc/ssh/sshd_config").exists() {
        return;
    }
    let ds = sshd_directives(root, "/etc/ssh/sshd_config", 0, &mut 0);
    let global = |k: &str| ds.iter().find(|d| d.key == k && d.in_match.is_none());
    let shown = |d: Option<&Directive>, default: &str| match d {
        Some(d) => format!("{} {} ({})", d.key, crate::sanitize::escape(&d.value), d.at),
        None => format!("not set: sshd's default is {default}"),
    };
    let root_login = global("permitrootlogin");
    if root_login.is_none_or(|d| !d.value.eq_ignore_ascii_case("no")) {
        out.raise(
            "ir.host.ssh_root_login",
            shown(root_login, "prohibit-password"),
        );
    }
    let password = global("passwordauthentication");
    if password.is_none_or(|d| !d.value.eq_ignore_ascii_case("no")) {
        out.raise("ir.host.ssh_password_auth", shown(password, "yes"));
    }
    for d in ds.iter().filter(|d| d.in_match.is_some()) {
        let yes = |k: &str, bad: &[&str]| {
            d.key == k && bad.iter().any(|b| d.value.eq_ignore_ascii_case(b))
        };
        let m = d.in_match.as_deref().unwrap_or("");
        if yes(
            "permitrootlogin",
            &["yes", "prohibit-password", "without-password"],
        ) {
            out.raise(
                "ir.host.ssh_root_login",
                format!("Match {m}: {}", shown(Some(d), "")),
            );
        }
        if yes("passwordauthentication", &["yes"]) {
            out.raise(
                "ir.host.ssh_password_auth",
                format!("Match {m}: {}", shown(Some(d), "")),
            );
        }
    }
    let tries = global("maxauthtries");
    if tries.is_none_or(|d| d.value.parse::<u32>().map_or(true, |n| n > 3)) {
        out.raise("ir.host.ssh_max_auth_tries", shown(tries, "6"));
    }
    if global("allowusers").is_none() && global("allowgroups").is_none() {
        out.raise(
            "ir.host.ssh_no_allow_users",
            "neither AllowUsers nor AllowGroups is set",
        );
    }
}

fn kv(text: &str, key: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_string())
}

fn firewall(out: &mut Findings, root: &Path) {
    if let Some(conf) = read(root, "/etc/ufw/ufw.conf") {
        if kv(&conf, "ENABLED").is_none_or(|v| !v.eq_ignore_ascii_case("yes")) {
            out.raise(
                "ir.host.firewall_disabled",
                "/etc/ufw/ufw.conf: ENABLED is not yes",
            );
            return;
        }
        let policy = read(root, "/etc/default/ufw").and_then(|t| kv(&t, "DEFAULT_INPUT_POLICY"));
        if policy
            .as_deref()
            .is_none_or(|p| !p.eq_ignore_ascii_case("DROP") && !p.eq_ignore_ascii_case("REJECT"))
        {
            out.raise(
                "ir.host.firewall_default_allow",
                format!(
                    "/etc/default/ufw: DEFAULT_INPUT_POLICY={}",
                    policy
                        .as_deref()
                        .map_or("unset".into(), crate::sanitize::escape)
                ),
            );
        }
        return;
    }
    let nft = read(root, "/etc/nftables.conf");
    let ipt = read(root, "/etc/iptables/rules.v4");
    if nft.is_none() && ipt.is_none() {
        out.raise(
            "ir.host.firewall_none",
            "no /etc/ufw/ufw.conf, /etc/nftables.conf or /etc/iptables/rules.v4",
        );
        return;
    }
    let nft_drop = nft.as_deref().is_some_and(nft_input_drops);
    let ipt_drop = ipt.as_deref().is_some_and(|t| {
        t.lines()
            .any(|l| l.starts_with(":INPUT DROP") || l.starts_with(":INPUT REJECT"))
    });
    if !nft_drop && !ipt_drop {
        out.raise(
            "ir.host.firewall_default_allow",
            "the input chain of /etc/nftables.conf or /etc/iptables/rules.v4 does not drop by default",
        );
    }
}

/// An nftables ruleset whose `hook input` chain has `policy drop`.
fn nft_input_drops(t: &str) -> bool {
    let mut in_input = false;
    for l in t.lines().map(str::trim) {
        if l.contains("hook input") {
            in_input = true;
        }
        if in_input && l.contains("policy") {
            return l.contains("policy drop");
        }
        if l.starts_with('}') {
            in_input = false;
        }
    }
    false
}

/// Whether Tailscale is installed and has been brought up.
fn tailscale_up(root: &Path) -> bool {
    let installed = ["/usr/bin/tailscale", "/usr/sbin/tailscaled"]
        .iter()
        .any(|p| under(root, p).exists());
    let state = crate::safefs::lstat(&under(root, "/var/lib/tailscale/tailscaled.state"))
        .ok()
        .flatten()
        .is_some_and(|m| m.is_file() && m.len() > 2);
    installed && state
}

/// A WireGuard interface is configured.
fn wireguard(root: &Path) -> bool {
    std::fs::read_dir(under(root, "/etc/wireguard")).is_ok_and(|rd| {
        rd.flatten()
            .take(100)
            .any(|e| e.file_name().to_string_lossy().ends_with(".conf"))
    })
}

fn vpn(out: &mut Findings, dep: &Deployment) {
    let ts = dep.gateway.tailscale_mode.as_deref().unwrap_or("off");
    let bind = dep.gateway.bind.as_str();
    let wants_tailscale = ts == "serve" || ts == "funnel" || bind == "tailnet";
    if wants_tailscale && !tailscale_up(&dep.root) {
        out.raise(
            "ir.host.vpn_missing",
            format!("gateway.tailscale.mode={ts}, gateway.bind={bind}, but /var/lib/tailscale/tailscaled.state or the tailscale binaries are missing"),
        );
    } else if !wants_tailscale
        && !matches!(bind, "loopback")
        && !tailscale_up(&dep.root)
        && !wireguard(&dep.root)
    {
        out.raise(
            "ir.host.vpn_missing",
            format!("gateway.bind={bind} is reachable beyond loopback and no Tailscale or WireGuard is configured"),
        );
    }
}

/// SSH private keys and dirs of the state dir's owner, and the host keys.
fn key_modes(out: &mut Findings, dep: &Deployment) {
    let home = &dep.paths.user_home;
    let ssh_dir = dep
        .root
        .join(home.strip_prefix("/").unwrap_or(home))
        .join(".ssh");
    let mut check = |p: &Path, max: u32| {
        if let Some(m) = crate::safefs::lstat(p).ok().flatten() {
            let mode = m.mode() & 0o777;
            if !m.file_type().is_symlink() && mode & !max != 0 {
                out.raise(
                    "ir.host.secret_store_perms",
                    format!("{} mode={mode:o}", crate::sanitize::escape_path(p)),
                );
            }
        }
    };
    check(&ssh_dir, 0o700);
    let keys = |dir: &Path, pred: &dyn Fn(&str) -> bool| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .take(1000)
                    .filter(|e| pred(&e.file_name().to_string_lossy()))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default()
    };
    for k in keys(&ssh_dir, &|n| n.starts_with("id_") && !n.ends_with(".pub")) {
        check(&k, 0o600);
    }
    let etc_ssh = under(&dep.root, "/etc/ssh");
    for k in keys(&etc_ssh, &|n| {
        n.starts_with("ssh_host_") && n.ends_with("_key")
    }) {
        check(&k, 0o600);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_hook_policy_decides_and_other_chains_do_not() {
        let drop = "table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n }\n chain output {\n  type filter hook output priority 0; policy accept;\n }\n}";
        let accept = "table inet filter {\n chain forward {\n  type filter hook forward priority 0; policy drop;\n }\n chain input {\n  type filter hook input priority 0; policy accept;\n }\n}";
        assert!(nft_input_drops(drop));
        assert!(!nft_input_drops(accept));
        assert!(!nft_input_drops(""));
    }

    #[test]
    fn sshd_first_value_wins_across_includes_and_match_is_kept_apart() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("etc/ssh/sshd_config.d")).unwrap();
        std::fs::write(
            root.join("etc/ssh/sshd_config"),
            "Include sshd_config.d/*.conf\nPermitRootLogin yes\nMatch User deploy\n  PasswordAuthentication yes\n",
        )
        .unwrap();
        std::fs::write(
            root.join("etc/ssh/sshd_config.d/20-b.conf"),
            "PermitRootLogin prohibit-password\n",
        )
        .unwrap();
        std::fs::write(
            root.join("etc/ssh/sshd_config.d/10-a.conf"),
            "permitrootlogin=no\n",
        )
        .unwrap();
        let ds = sshd_directives(root, "/etc/ssh/sshd_config", 0, &mut 0);
        let first = ds
            .iter()
            .find(|d| d.key == "permitrootlogin" && d.in_match.is_none())
            .unwrap();
        assert_eq!(first.value, "no");
        assert!(first.at.ends_with("10-a.conf:1"), "{}", first.at);
        let m = ds
            .iter()
            .find(|d| d.key == "passwordauthentication")
            .unwrap();
        assert_eq!(m.in_match.as_deref(), Some("User deploy"));
    }
}
