//! Filesystem checks: the modes of the state dir, the config and its
//! `$include` files, `credentials/`, each agent's auth store and session
//! store, the log file, and the checklist's secret files; a state dir in a
//! synced folder; installed plugins without an allowlist. OpenClaw judges
//! a symlink by its target's mode (`inspectPathPermissions` stats through
//! it); so does this, resolving the target under `--root`.

use super::Findings;
use crate::openclaw::{Deployment, config, layout};
use crate::record::Severity;
use anyhow::Result;
use serde_json::Value;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What a path's mode says, judged as OpenClaw judges it.
struct Perms {
    symlink: bool,
    mode: u32,
}

impl Perms {
    fn world_writable(&self) -> bool {
        self.mode & 0o002 != 0
    }
    fn group_writable(&self) -> bool {
        self.mode & 0o020 != 0
    }
    fn world_readable(&self) -> bool {
        self.mode & 0o004 != 0
    }
    fn group_readable(&self) -> bool {
        self.mode & 0o040 != 0
    }
}

/// Where a symlink at `link` points, as a local path under `root` (one
/// level: a link to a link is judged by the second link's own mode).
pub(crate) fn link_target(root: &Path, link: &Path) -> Option<PathBuf> {
    let t = std::fs::read_link(link).ok()?;
    Some(match t.strip_prefix("/") {
        Ok(rel) => root.join(rel),
        Err(_) => link.parent()?.join(t),
    })
}

/// The mode of `path`, through one symlink (resolved under `root`).
fn inspect(root: &Path, path: &Path) -> Option<Perms> {
    let m = crate::safefs::lstat(path).ok().flatten()?;
    if !m.file_type().is_symlink() {
        return Some(Perms {
            symlink: false,
            mode: m.mode() & 0o777,
        });
    }
    let target = link_target(root, path).and_then(|t| crate::safefs::lstat(&t).ok().flatten());
    Some(Perms {
        symlink: true,
        mode: target.map_or(m.mode(), |t| t.mode()) & 0o777,
    })
}

fn shown(p: &Path, perms: &Perms) -> String {
    format!("{} mode={:o}", crate::sanitize::escape_path(p), perms.mode)
}

/// Runs the file checks.
pub(super) fn check(out: &mut Findings, dep: &Deployment) -> Result<()> {
    state_dir(out, dep);
    config_file(out, dep);
    includes(out, dep);
    credentials_dir(out, dep);
    agent_stores(out, dep)?;
    log_file(out, dep);
    synced(out, dep);
    secret_files(out, dep)?;
    Ok(())
}

fn state_dir(out: &mut Findings, dep: &Deployment) {
    let s = &dep.paths.state_dir;
    let Some(p) = inspect(&dep.root, s) else {
        return;
    };
    // Under `--root` the path is already the link's target inside the
    // root; discovery kept what the link said.
    if p.symlink || dep.state_dir_symlink.is_some() {
        let to = dep.state_dir_symlink.as_deref().unwrap_or("?");
        out.raise(
            "fs.state_dir.symlink",
            format!(
                "the state dir is a symlink to {to} (read at {})",
                crate::sanitize::escape_path(&crate::host::Root::new(&dep.root).host_view(s))
            ),
        );
    }
    let d = shown(s, &p);
    if p.world_writable() {
        out.raise("fs.state_dir.perms_world_writable", d);
    } else if p.group_writable() {
        out.raise("fs.state_dir.perms_group_writable", d);
    } else if p.group_readable() || p.world_readable() {
        out.raise("fs.state_dir.perms_readable", d);
    }
}

fn config_file(out: &mut Findings, dep: &Deployment) {
    let c = &dep.paths.config;
    let Some(p) = inspect(&dep.root, c) else {
        return;
    };
    let d = shown(c, &p);
    if p.symlink {
        out.raise("fs.config.symlink", d.clone());
    }
    if p.world_writable() || p.group_writable() {
        out.raise("fs.config.perms_writable", d);
    } else if !p.symlink && p.world_readable() {
        out.raise("fs.config.perms_world_readable", d);
    } else if !p.symlink && p.group_readable() {
        out.raise("fs.config.perms_group_readable", d);
    }
}

fn includes(out: &mut Findings, dep: &Deployment) {
    for f in &dep.config_includes {
        let Some(p) = inspect(&dep.root, f) else {
            continue;
        };
        let d = shown(f, &p);
        if p.world_writable() || p.group_writable() {
            out.raise("fs.config_include.perms_writable", d);
        } else if p.world_readable() {
            out.raise("fs.config_include.perms_world_readable", d);
        } else if p.group_readable() {
            out.raise("fs.config_include.perms_group_readable", d);
        }
    }
}

fn credentials_dir(out: &mut Findings, dep: &Deployment) {
    let c = &dep.paths.credentials_dir;
    let Some(p) = inspect(&dep.root, c) else {
        return;
    };
    if !c.is_dir() {
        return;
    }
    let d = shown(c, &p);
    if p.world_writable() || p.group_writable() {
        out.raise("fs.credentials_dir.perms_writable", d);
    } else if p.group_readable() || p.world_readable() {
        out.raise("fs.credentials_dir.perms_readable", d);
    }
}

/// The agent ids OpenClaw's audit looks at: `main`, the configured ones.
fn audited_agent_ids(c: Option<&Value>) -> Vec<String> {
    let mut ids = vec!["main".to_string()];
    for (id, _) in c.map(agent_entries).unwrap_or_default() {
        let id = id.to_ascii_lowercase();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The configured agents, `(id, entry)`: `agents.entries` (2026.9.x, keyed
/// by id) then `agents.list[]` (older).
pub(crate) fn agent_entries(c: &Value) -> Vec<(String, &Value)> {
    let mut v = Vec::new();
    if let Some(Value::Object(m)) = config::get(c, "agents.entries") {
        for (k, e) in m {
            let id = e.get("id").and_then(Value::as_str).unwrap_or(k);
            v.push((id.to_string(), e));
        }
    }
    if let Some(Value::Array(a)) = config::get(c, "agents.list") {
        for e in a {
            if let Some(id) = e.get("id").and_then(Value::as_str) {
                v.push((id.to_string(), e));
            }
        }
    }
    v
}

/// Each audited agent's auth store (legacy JSON, SQLite and sidecars) and
/// legacy session store.
fn agent_stores(out: &mut Findings, dep: &Deployment) -> Result<()> {
    let s = &dep.paths.state_dir;
    for id in audited_agent_ids(dep.config.as_ref()) {
        crate::signal::check()?;
        let agent = s.join("agents").join(&id).join("agent");
        let auth = [
            "auth-profiles.json",
            "openclaw-agent.sqlite",
            "openclaw-agent.sqlite-wal",
            "openclaw-agent.sqlite-shm",
            "openclaw-agent.sqlite-journal",
        ]
        .map(|n| agent.join(n));
        for f in auth {
            let Some(p) = inspect(&dep.root, &f) else {
                continue;
            };
            if p.world_writable() || p.group_writable() {
                out.raise("fs.auth_profiles.perms_writable", shown(&f, &p));
            } else if p.world_readable() || p.group_readable() {
                out.raise("fs.auth_profiles.perms_readable", shown(&f, &p));
            }
        }
        let store = s.join("agents").join(&id).join("sessions/sessions.json");
        if let Some(p) = inspect(&dep.root, &store) {
            if p.world_readable() || p.group_readable() {
                out.raise("fs.sessions_store.perms_readable", shown(&store, &p));
            }
        }
    }
    Ok(())
}

fn log_file(out: &mut Findings, dep: &Deployment) {
    let Some(f) = dep
        .config
        .as_ref()
        .and_then(|c| config::get_str(c, "logging.file"))
        .map(str::trim)
        .filter(|f| !f.is_empty())
    else {
        return;
    };
    let host = match f.strip_prefix("~/") {
        Some(rest) => dep.paths.user_home.join(rest),
        None => PathBuf::from(f),
    };
    let local = dep.root.join(host.strip_prefix("/").unwrap_or(&host));
    if let Some(p) = inspect(&dep.root, &local) {
        if p.world_readable() || p.group_readable() {
            out.raise("fs.log_file.perms_readable", shown(&local, &p));
        }
    }
}

fn synced(out: &mut Findings, dep: &Deployment) {
    let synced = |p: &Path| {
        let s = p.to_string_lossy().to_lowercase();
        [
            "icloud",
            "dropbox",
            "google drive",
            "googledrive",
            "onedrive",
        ]
        .iter()
        .any(|k| s.contains(k))
    };
    if synced(&dep.paths.state_dir) || synced(&dep.paths.config) {
        out.raise(
            "fs.synced_dir",
            format!(
                "stateDir={}",
                crate::sanitize::escape_path(&dep.paths.state_dir)
            ),
        );
    }
}

/// Installed plugins (`$STATE/extensions/*`) without `plugins.allow`.
pub(super) fn check_plugins(out: &mut Findings, dep: &Deployment, c: &Value) {
    let dir = dep.paths.state_dir.join("extensions");
    let n = plugin_dirs(dep).len();
    let allow = config::get(c, "plugins.allow")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if n > 0 && !allow {
        out.raise_at(
            "plugins.extensions_no_allowlist",
            Severity::Warn,
            format!(
                "Found {n} extension(s) under {} and no plugins.allow.",
                crate::sanitize::escape_path(&dir)
            ),
        );
    }
}

/// The installed plugin dirs under `$STATE/extensions`, lowercased, less
/// install debris (OpenClaw's `listInstalledPluginDirs`: real dirs only,
/// not `node_modules`, dot dirs, `.bak`, `.backup-` or `.disabled`).
pub(super) fn plugin_dirs(dep: &Deployment) -> Vec<String> {
    let dir = dep.paths.state_dir.join("extensions");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    rd.flatten()
        .take(10_000)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().trim().to_lowercase())
        .filter(|n| {
            !n.is_empty()
                && n != "node_modules"
                && !n.starts_with('.')
                && !n.ends_with(".bak")
                && !n.contains(".backup-")
                && !n.contains(".disabled")
        })
        .collect()
}

/// The checklist: every secret-bearing file 600.
fn secret_files(out: &mut Findings, dep: &Deployment) -> Result<()> {
    for (p, _) in secret_file_list(dep) {
        crate::signal::check()?;
        if let Some(Perms {
            symlink: false,
            mode,
        }) = inspect(&dep.root, &p)
        {
            if mode & 0o077 != 0 {
                let detail = format!("{} mode={mode:o}", crate::sanitize::escape_path(&p));
                out.raise("ir.fs.secret_file_perms", detail);
            }
        }
    }
    Ok(())
}

/// Dirs that should be 700 and files that should be 600 (OpenClaw's fix list
/// plus `.env`, the `.bak` copies that hold old secrets and the include
/// files). A symlinked state dir is fixed at its target, under `--root`.
pub fn chmod_plan(dep: &Deployment) -> Vec<(PathBuf, u32)> {
    let s = &dep.paths.state_dir;
    let state = if dep.state_dir_symlink.is_some() {
        link_target(&dep.root, s).unwrap_or_else(|| s.clone())
    } else {
        s.clone()
    };
    let mut v = vec![
        (state, 0o700),
        (dep.paths.credentials_dir.clone(), 0o700),
        (dep.paths.config.clone(), 0o600),
    ];
    v.extend(dep.config_includes.iter().map(|p| (p.clone(), 0o600)));
    for a in layout::agent_dirs(s) {
        let ad = s.join("agents").join(&a);
        v.push((ad.clone(), 0o700));
        v.push((ad.join("agent"), 0o700));
        v.push((ad.join("sessions"), 0o700));
    }
    v.extend(secret_file_list(dep));
    v
}

fn secret_file_list(dep: &Deployment) -> Vec<(PathBuf, u32)> {
    let s = &dep.paths.state_dir;
    let mut v = Vec::new();
    let mut push_dir = |dir: &Path, pred: &dyn Fn(&str) -> bool| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten().take(100_000) {
                let n = e.file_name().to_string_lossy().into_owned();
                if pred(&n) && e.file_type().is_ok_and(|t| t.is_file()) {
                    v.push((e.path(), 0o600));
                }
            }
        }
    };
    push_dir(s, &|n| {
        n == ".env" || n.starts_with("openclaw.json.bak") || n == "secrets.json"
    });
    push_dir(&dep.paths.credentials_dir, &|n| n.ends_with(".json"));
    for a in layout::agent_dirs(s) {
        let ad = s.join("agents").join(&a);
        push_dir(&ad.join("agent"), &|n| {
            n == "auth-profiles.json" || n == "auth.json" || n.starts_with("openclaw-agent.sqlite")
        });
        push_dir(&ad.join("sessions"), &|n| {
            n == "sessions.json" || n.ends_with(".jsonl")
        });
    }
    push_dir(&s.join("state"), &|n| n.starts_with("openclaw.sqlite"));
    v
}
