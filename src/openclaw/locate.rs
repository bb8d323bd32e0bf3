//! Where an OpenClaw deployment keeps its state, resolved exactly as
//! OpenClaw does (`src/config/state-dir.ts`, `src/config/paths.ts`,
//! `src/cli/profile-utils.ts` in openclaw 2026.9.6):
//!
//! - home: `OPENCLAW_HOME` > `HOME`;
//! - state dir: `--home` (ours) > `OPENCLAW_STATE_DIR` (`~` expanded) >
//!   profile (`~/.openclaw-<name>`) > `~/.openclaw` > legacy `~/.clawdbot`
//!   (only when `~/.openclaw` is missing);
//! - config: `--config` (ours) > `OPENCLAW_CONFIG_PATH` > `$STATE/openclaw.json`
//!   > legacy `$STATE/clawdbot.json`.
//!
//! Paths from the environment and from defaults are host paths and are
//! mapped under `--root`; paths given on our own command line are taken as
//! they are, on the machine running `ir`.

use crate::host::Root;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The environment variables discovery reads, snapshotted so tests and
/// dead-box analysis can supply their own.
#[derive(Debug, Clone, Default)]
pub struct Env(pub BTreeMap<String, String>);

/// The variables that shape discovery.
pub const ENV_VARS: &[&str] = &[
    "HOME",
    "OPENCLAW_HOME",
    "OPENCLAW_STATE_DIR",
    "OPENCLAW_PROFILE",
    "OPENCLAW_CONFIG_PATH",
    "OPENCLAW_OAUTH_DIR",
    "OPENCLAW_GATEWAY_PORT",
    "OPENCLAW_WORKSPACE_DIR",
    "OPENCLAW_SYSTEMD_UNIT",
    "OPENCLAW_LAUNCHD_LABEL",
    "TMPDIR",
];

impl Env {
    /// The relevant variables of this process.
    pub fn from_process() -> Env {
        Env(ENV_VARS
            .iter()
            .filter_map(|k| {
                let v = std::env::var(k).ok()?;
                (!v.is_empty()).then(|| (k.to_string(), v))
            })
            .collect())
    }

    /// One variable, if set and not empty.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// What the operator asked for on our command line.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub home: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub profile: Option<String>,
}

/// The resolved locations of one deployment.
#[derive(Debug, Clone, Serialize)]
pub struct Paths {
    /// The user's home directory (host view).
    pub user_home: PathBuf,
    /// The state dir, as a local path (under `--root`). Under a `--root`
    /// other than `/`, every symlink on its way has been followed inside
    /// the root (an image's `/home -> /var/home`, or a state dir linked to
    /// `/srv/oc`), never into the examiner's own filesystem.
    pub state_dir: PathBuf,
    /// Where the state dir's own symlink points, as written in the link
    /// (escaped), when the state dir is one. (`Deployment` reports it.)
    #[serde(skip)]
    pub state_dir_symlink: Option<String>,
    /// Which rule chose it: `--home`, `OPENCLAW_STATE_DIR`, `profile`,
    /// `default`, `legacy`.
    pub state_dir_source: &'static str,
    /// The config file, as a local path.
    pub config: PathBuf,
    pub config_source: &'static str,
    /// The profile in effect (`None` for the default profile).
    pub profile: Option<String>,
    /// The credentials dir (`OPENCLAW_OAUTH_DIR` or `$STATE/credentials`).
    pub credentials_dir: PathBuf,
}

/// Checks a profile name as OpenClaw does: `^[a-z0-9][a-z0-9_-]{0,63}$`,
/// case-insensitive. `default` means no profile.
pub fn check_profile(name: &str) -> Result<Option<String>> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(crate::exit::hint(
            format!(
                "invalid OpenClaw profile name {:?}",
                crate::sanitize::escape(name)
            ),
            "a profile is 1-64 letters, digits, '_' or '-', starting with a letter or digit",
        ));
    }
    Ok((!name.eq_ignore_ascii_case("default")).then(|| name.to_string()))
}

/// Expands a leading `~` the way OpenClaw does for `OPENCLAW_STATE_DIR`.
fn expand_tilde(p: &str, home: &Path) -> PathBuf {
    if p == "~" {
        home.to_path_buf()
    } else if let Some(rest) = p.strip_prefix("~/") {
        home.join(rest)
    } else {
        PathBuf::from(p)
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// The target of `p` when `p` itself is a symlink, as written (escaped).
fn own_link(p: &Path) -> Option<String> {
    let m = crate::safefs::lstat(p).ok().flatten()?;
    if !m.file_type().is_symlink() {
        return None;
    }
    std::fs::read_link(p)
        .ok()
        .map(|t| crate::sanitize::escape_path(&t))
}

/// `local` with every symlink on its way followed inside `root`, as a
/// chroot would: the kernel would take an absolute link in an image
/// (`/home -> /var/home`, `.openclaw -> /srv/oc`) into the examiner's own
/// filesystem. The live host, a path outside the root (a state dir copied
/// out of the image) and a link loop are left as they are.
fn within_root(root: &Root, local: PathBuf) -> PathBuf {
    if root.is_live() || !local.starts_with(root.dir()) {
        return local;
    }
    match root.resolve(&root.host_view(&local)) {
        Some(host) => root.join(host),
        None => local,
    }
}

/// Resolves the deployment's paths. Does not check that they exist.
pub fn resolve(req: &Request, env: &Env, root: &Root) -> Result<Paths> {
    let user_home = PathBuf::from(
        env.get("OPENCLAW_HOME")
            .or(env.get("HOME"))
            .unwrap_or("/root"),
    );
    let profile = match req.profile.as_deref().or(env.get("OPENCLAW_PROFILE")) {
        Some(p) => check_profile(p)?,
        None => None,
    };
    let (state_dir, state_dir_source) = if let Some(h) = &req.home {
        (absolute(h), "--home")
    } else if let Some(s) = env.get("OPENCLAW_STATE_DIR") {
        (root.join(expand_tilde(s, &user_home)), "OPENCLAW_STATE_DIR")
    } else if let Some(p) = &profile {
        (
            root.join(user_home.join(format!(".openclaw-{p}"))),
            "profile",
        )
    } else {
        let current = root.join(user_home.join(".openclaw"));
        let legacy = root.join(user_home.join(".clawdbot"));
        if crate::safefs::lstat(&current)?.is_none() && crate::safefs::lstat(&legacy)?.is_some() {
            (legacy, "legacy")
        } else {
            (current, "default")
        }
    };
    let state_dir_symlink = own_link(&state_dir);
    let state_dir = within_root(root, state_dir);
    let (config, config_source) = if let Some(c) = &req.config {
        (absolute(c), "--config")
    } else if let Some(c) = env.get("OPENCLAW_CONFIG_PATH") {
        (
            root.join(expand_tilde(c, &user_home)),
            "OPENCLAW_CONFIG_PATH",
        )
    } else {
        let current = state_dir.join("openclaw.json");
        let legacy = state_dir.join("clawdbot.json");
        if crate::safefs::lstat(&current)?.is_none() && crate::safefs::lstat(&legacy)?.is_some() {
            (legacy, "legacy")
        } else {
            (current, "default")
        }
    };
    let credentials_dir = match env.get("OPENCLAW_OAUTH_DIR") {
        Some(d) => root.join(expand_tilde(d, &user_home)),
        None => state_dir.join("credentials"),
    };
    Ok(Paths {
        user_home,
        state_dir,
        state_dir_symlink,
        state_dir_source,
        config,
        config_source,
        profile,
        credentials_dir,
    })
}

/// Other state dirs on the host (`.openclaw*` and `.clawdbot` in every
/// passwd home), to suggest when the resolved one does not exist.
pub fn candidates(root: &Root) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for u in crate::host::users::users(root) {
        let home = root.join(&u.home);
        let Ok(rd) = std::fs::read_dir(&home) else {
            continue;
        };
        for e in rd.flatten().take(10_000) {
            let n = e.file_name();
            let n = n.to_string_lossy();
            if (n == ".openclaw" || n.starts_with(".openclaw-") || n == ".clawdbot")
                && e.file_type().is_ok_and(|t| t.is_dir())
            {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    #[test]
    fn precedence() {
        let root = Root::new("/nonexistent-root");
        let r = Request::default();
        let p = resolve(&r, &env(&[("HOME", "/home/a")]), &root).unwrap();
        assert_eq!(
            p.state_dir,
            PathBuf::from("/nonexistent-root/home/a/.openclaw")
        );
        let p = resolve(
            &r,
            &env(&[("HOME", "/home/a"), ("OPENCLAW_HOME", "/srv/oc")]),
            &root,
        )
        .unwrap();
        assert_eq!(
            p.state_dir,
            PathBuf::from("/nonexistent-root/srv/oc/.openclaw")
        );
        let p = resolve(
            &r,
            &env(&[("HOME", "/home/a"), ("OPENCLAW_PROFILE", "work")]),
            &root,
        )
        .unwrap();
        assert_eq!(
            p.state_dir,
            PathBuf::from("/nonexistent-root/home/a/.openclaw-work")
        );
        let p = resolve(
            &r,
            &env(&[
                ("HOME", "/home/a"),
                ("OPENCLAW_PROFILE", "work"),
                ("OPENCLAW_STATE_DIR", "~/st"),
            ]),
            &root,
        )
        .unwrap();
        assert_eq!(p.state_dir, PathBuf::from("/nonexistent-root/home/a/st"));
        assert_eq!(p.state_dir_source, "OPENCLAW_STATE_DIR");
        let p = resolve(
            &r,
            &env(&[("HOME", "/home/a"), ("OPENCLAW_PROFILE", "Default")]),
            &root,
        )
        .unwrap();
        assert_eq!(p.profile, None);
    }

    #[test]
    fn bad_profile() {
        assert!(check_profile("../x").is_err());
        assert!(check_profile("-x").is_err());
        assert!(check_profile("ok_1-2").is_ok());
    }
}
