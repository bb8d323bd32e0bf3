//! `ir audit`: an offline hardening audit of the state dir, the config and
//! the host. It runs no Node and no OpenClaw, since the host's own may be
//! tampered with.
//!
//! Every check is one entry of [`CHECKS`] (id, severity, title, fix). Where
//! OpenClaw's `security audit` tests a condition, the entry carries its
//! check id and severity and the condition is the one of OpenClaw 2026.9.6's
//! code (`dist/audit*.mjs`, read in the package; `tests/audit.rs` compares
//! both audits on a set of weakened configs). Checks only `ir` makes are
//! under `ir.*`: the hardening checklist's config items, the host (SSH,
//! firewall, VPN; [`host`]) and config keys the installed version rejects
//! ([`schema`]). The submodules decide which checks fire, one per area:
//! [`fs`], [`gateway`], [`nodes`], [`tools`], [`exec`] (with
//! [`boundary`]), [`reach`] (with [`policy`]), [`channels`], [`skills`],
//! [`installs`], [`registry`].
//!
//! `--fix` applies only safe, reversible changes: chmod of the state dir
//! and secret files (never through a link), open group policies flipped to
//! allowlist; each change is journaled. It never touches sshd or the
//! firewall.

mod boundary;
mod catalogue;
mod channels;
mod codesafety;
mod codescan;
mod exec;
mod fs;
mod gateway;
mod host;
mod installs;
mod nodes;
mod policy;
mod reach;
mod registry;
mod schema;
mod skills;
mod tools;

use crate::case::Run;
use crate::openclaw::{Deployment, config};
use crate::record::{Change, ChangeKind, Severity};
use anyhow::Result;
use serde_json::Value;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

pub use catalogue::{CHECKS, Check, DEEP_ONLY, Level, NOT_CHECKED, NotChecked};
pub use fs::chmod_plan;

/// One audit finding.
pub use crate::record::AuditFinding as Finding;

/// The findings of one audit run, raised by check id.
pub(crate) struct Findings {
    out: Vec<Finding>,
    /// `gateway.bind` is not loopback.
    beyond_loopback: bool,
    /// Beyond loopback, or Tailscale serve/funnel (OpenClaw's
    /// `isGatewayRemotelyExposed`).
    remote: bool,
}

impl Findings {
    fn new(dep: &Deployment) -> Findings {
        let ts = dep.gateway.tailscale_mode.as_deref().unwrap_or("off");
        let beyond_loopback = dep.gateway.bind != "loopback";
        Findings {
            out: Vec::new(),
            beyond_loopback,
            remote: beyond_loopback || ts == "serve" || ts == "funnel",
        }
    }

    /// Raises check `id` with what was found.
    pub(crate) fn raise(&mut self, id: &str, detail: impl Into<String>) {
        self.raise_for(id, "", detail);
    }

    /// Raises check `id` (whose `*` is replaced by `name`).
    pub(crate) fn raise_for(&mut self, id: &str, name: &str, detail: impl Into<String>) {
        self.push(id, name, None, detail.into());
    }

    /// Raises a check whose severity the caller decides (`Level::Varies`).
    pub(crate) fn raise_at(&mut self, id: &str, severity: Severity, detail: impl Into<String>) {
        self.push(id, "", Some(severity), detail.into());
    }

    fn push(&mut self, id: &str, name: &str, at: Option<Severity>, detail: String) {
        let Some(c) = CHECKS.iter().find(|c| c.id == id) else {
            // Only a typo in this module can get here; the unit tests raise
            // every id through the table.
            debug_assert!(false, "audit check {id} is not in CHECKS");
            return;
        };
        let severity = match (c.level, at) {
            (_, Some(s)) => s,
            (Level::Always(s), None) => s,
            (Level::ByBind, None) if self.beyond_loopback => Severity::Critical,
            (Level::ByRemote, None) if self.remote => Severity::Critical,
            _ => Severity::Warn,
        };
        self.out.push(Finding {
            id: c.id.replace('*', name),
            severity,
            title: c.title.into(),
            detail: crate::sanitize::escape(&detail),
            fix: c.fix.into(),
            fixable: c.fixable,
        });
    }
}

/// True when `id` is an OpenClaw check id this audit implements (a `*` in
/// a catalogue id stands for a channel or provider name).
pub fn implements(id: &str) -> bool {
    CHECKS
        .iter()
        .filter(|c| !c.id.starts_with("ir."))
        .any(|c| match c.id.split_once('*') {
            Some((pre, post)) => {
                id.len() > pre.len() + post.len() && id.starts_with(pre) && id.ends_with(post)
            }
            None => c.id == id,
        })
}

/// The first version without CVE-2026-25253 (Control UI gatewayUrl token leak).
pub const FIXED_CVE_2026_25253: &str = "2026.1.29";

/// Runs every check but the deep ones ([`audit_deep`]).
pub fn audit(dep: &Deployment) -> Result<Vec<Finding>> {
    audit_deep(dep, false)
}

/// Runs every check, and with `deep` the code-safety scan of plugins and
/// skills ([`codesafety`]; OpenClaw's `--deep` also probes the live
/// gateway, which `ir` never does). Interrupted (Ctrl-C) between files, the
/// only part that grows with the deployment.
pub fn audit_deep(dep: &Deployment, deep: bool) -> Result<Vec<Finding>> {
    let mut found = Findings::new(dep);
    fs::check(&mut found, dep)?;
    let null = Value::Null;
    let c = dep.config.as_ref().unwrap_or(&null);
    schema::check(&mut found, dep, c);
    let x = gateway::Facts::of(dep, c);
    gateway::check(&mut found, &x);
    nodes::check(&mut found, c);
    tools::check(&mut found, c);
    exec::check(&mut found, dep, c);
    reach::check(&mut found, dep, c);
    channels::check(&mut found, c);
    fs::check_plugins(&mut found, dep, c);
    registry::check(&mut found, dep, c);
    installs::check(&mut found, dep);
    skills::check(&mut found, dep)?;
    host::check(&mut found, dep)?;
    if deep {
        codesafety::check(&mut found, dep)?;
    }
    let mut out = found.out;
    // Stable: findings of one id keep the order they were found in.
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// Applies the safe fixes, journaling each change; returns what changed.
pub fn fix(dep: &Deployment, run: &Run) -> Result<Vec<Change>> {
    // Ctrl-C is honoured before the first change only: the fixes are a
    // handful of chmods and one atomic config write, so once begun they
    // finish and the run ends as interrupted.
    crate::signal::check()?;
    let mut changes = Vec::new();
    for (p, want) in chmod_plan(dep) {
        let Some(m) = crate::safefs::lstat(&p)? else {
            continue;
        };
        if m.file_type().is_symlink() {
            continue; // never chmod through a link
        }
        let have = m.mode() & 0o7777;
        if have == want {
            continue;
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(want))
            .map_err(|e| anyhow::anyhow!("chmod {:o} {}: {e}", want, p.display()))?;
        let c = Change {
            kind: ChangeKind::Chmod,
            path: crate::sanitize::escape_path(&p),
            from: format!("{have:o}"),
            to: format!("{want:o}"),
        };
        run.event("fix", serde_json::to_value(&c)?)?;
        changes.push(c);
    }
    changes.extend(fix_open_groups(dep, run)?);
    Ok(changes)
}

/// Open group policies become allowlists (OpenClaw's own fix).
fn fix_open_groups(dep: &Deployment, run: &Run) -> Result<Vec<Change>> {
    let open: Vec<String> = match dep.config.as_ref().and_then(|c| config::get(c, "channels")) {
        Some(Value::Object(chs)) => chs
            .iter()
            .filter(|(_, v)| v.get("groupPolicy").and_then(Value::as_str) == Some("open"))
            .map(|(k, _)| k.clone())
            .collect(),
        _ => Vec::new(),
    };
    let mut changes = Vec::new();
    if open.is_empty() {
        return Ok(changes);
    }
    let e = crate::openclaw::edit::ConfigEdit::open(&dep.paths.config)?;
    for ch in &open {
        e.set_string(&format!("channels.{ch}.groupPolicy"), "allowlist")?;
    }
    e.save()?;
    for ch in open {
        let c = Change {
            kind: ChangeKind::Config,
            path: format!("channels.{ch}.groupPolicy"),
            from: "open".into(),
            to: "allowlist".into(),
        };
        run.event("fix", serde_json::to_value(&c)?)?;
        changes.push(c);
    }
    Ok(changes)
}

/// Most dirs read from one config list (`skills.load.extraDirs`,
/// `plugins.load.paths`): the config is the host's, and may list millions.
const MAX_CONFIG_DIRS: usize = 64;

/// The dirs a config list of paths names, as local paths under `--root`:
/// `~` and `~/…` in the user's home, absolute paths as they are, relative
/// ones skipped (relative to the gateway's cwd, unknown here). Each is
/// followed inside the root as a chroot would, the dir itself included
/// ([`crate::host::Root::resolve`]), so an image's absolute links never
/// lead into the examiner's files; a link loop drops the entry.
pub(super) fn config_dirs(dep: &Deployment, c: &Value, key: &str) -> Vec<std::path::PathBuf> {
    let root = crate::host::Root::new(&dep.root);
    let home = &dep.paths.user_home;
    config::get(c, key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .take(MAX_CONFIG_DIRS)
        .map(str::trim)
        .filter_map(|s| match s.strip_prefix("~/") {
            Some(rest) => Some(home.join(rest)),
            None if s == "~" => Some(home.clone()),
            None => Some(std::path::PathBuf::from(s)).filter(|p| p.is_absolute()),
        })
        .filter_map(|host| root.resolve(&host))
        .map(|host| root.join(host))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_entry_per_check_id() {
        let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "a check id appears twice in CHECKS");
        for nc in DEEP_ONLY {
            assert!(ids.contains(&nc.id), "deep-only {} is not in CHECKS", nc.id);
        }
        for nc in NOT_CHECKED {
            assert!(!ids.contains(&nc.id), "{} is both checked and not", nc.id);
        }
    }

    #[test]
    fn every_raised_id_is_in_the_table() {
        // The literal ids the area modules raise (directly or from a mode
        // ladder).
        let srcs = [
            include_str!("audit/fs.rs"),
            include_str!("audit/gateway.rs"),
            include_str!("audit/tools.rs"),
            include_str!("audit/channels.rs"),
            include_str!("audit/host.rs"),
            include_str!("audit/schema.rs"),
            include_str!("audit/skills.rs"),
            include_str!("audit/codesafety.rs"),
            include_str!("audit/boundary.rs"),
            include_str!("audit/registry.rs"),
        ];
        let re =
            regex::Regex::new(r#"(?:raise(?:_for|_at)?\(\s*|\(0o[0-7]+,\s*)"([^"]+)""#).unwrap();
        let mut n = 0;
        for src in srcs {
            for c in re.captures_iter(src) {
                n += 1;
                assert!(
                    CHECKS.iter().any(|k| k.id == &c[1]),
                    "{} is not in CHECKS",
                    &c[1]
                );
            }
        }
        assert!(n > 60, "{n}");
    }

    #[test]
    fn severity_follows_exposure_and_names_fill_the_id() {
        let mut f = Findings {
            out: Vec::new(),
            beyond_loopback: true,
            remote: true,
        };
        f.raise("discovery.mdns_full_mode", "d");
        f.beyond_loopback = false;
        f.raise("discovery.mdns_full_mode", "d");
        f.raise_for("tools.elevated.allowFrom.*.wildcard", "telegram", "d");
        assert_eq!(f.out[0].severity, Severity::Critical);
        assert_eq!(f.out[1].severity, Severity::Warn);
        assert_eq!(f.out[2].id, "tools.elevated.allowFrom.telegram.wildcard");
        assert!(implements(&f.out[2].id));
        assert!(!implements("channels.telegram.dm.open"));
        assert!(!implements("ir.sandbox.off"));
        assert!(!implements("channels.telegram.unknown"));
    }
}
