//! What `ir collect` takes, in order of volatility (RFC 3227): the SQLite
//! databases a gateway writes to, then OpenClaw's logs in /tmp, then the
//! state dir, the workspaces, the supervisor, the persistence locations
//! (every one in [`crate::persistence_catalogue`]) and the owner's shell
//! histories, then `--add`.
//!
//! Roots are host paths; they are read under `--root`. A root that does not
//! exist is skipped silently: most persistence locations are absent on any
//! given host.

use crate::host::Root;
use crate::host::users;
use crate::openclaw::Deployment;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// One place to collect.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Local path (under `--root`).
    pub local: PathBuf,
    /// Why it is collected (`sqlite`, `logs`, `state`, `workspace`, ...).
    pub why: &'static str,
    /// Follow the root itself if it is a symlink (operator-chosen roots
    /// such as the state dir); links inside are never followed.
    pub follow_root: bool,
}

/// Shell and REPL histories of the state dir's owner.
pub const HISTORIES: &[&str] = &[
    ".bash_history",
    ".zsh_history",
    ".history",
    ".sh_history",
    ".local/share/fish/fish_history",
    ".python_history",
    ".node_repl_history",
    ".psql_history",
    ".mysql_history",
    ".lesshst",
    ".viminfo",
];

/// The roots to collect for a deployment, in collection order.
pub fn roots(dep: &Deployment, root: &Root, add: &[PathBuf]) -> Vec<Scope> {
    let mut out: Vec<Scope> = Vec::new();
    let mut push = |local: PathBuf, why: &'static str, follow_root: bool| {
        if !out.iter().any(|s| s.local == local) {
            out.push(Scope {
                local,
                why,
                follow_root,
            });
        }
    };
    // Most volatile on disk first: databases a live gateway is writing.
    for db in &dep.layout.databases {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = db.path.as_os_str().to_owned();
            p.push(suffix);
            push(PathBuf::from(p), "sqlite", false);
        }
    }
    for l in &dep.logs {
        if l.exists && matches!(l.kind, "shared-tmp" | "fallback-tmp") {
            push(l.path.clone(), "logs", false);
        }
    }
    push(dep.paths.state_dir.clone(), "state", true);
    if !dep.paths.config.starts_with(&dep.paths.state_dir) {
        push(dep.paths.config.clone(), "config", true);
    }
    // `$include`d files lie beside the config; the gateway runs them too.
    for inc in dep
        .config_includes
        .iter()
        .filter(|i| !i.starts_with(&dep.paths.state_dir))
    {
        push(inc.clone(), "config", true);
    }
    if !dep.paths.credentials_dir.starts_with(&dep.paths.state_dir) {
        push(dep.paths.credentials_dir.clone(), "credentials", true);
    }
    for a in &dep.agents {
        if let Some(w) = &a.workspace
            && !w.starts_with(&dep.paths.state_dir)
        {
            push(w.clone(), "workspace", true);
        }
        if !a.agent_dir.starts_with(&dep.paths.state_dir) {
            push(a.agent_dir.clone(), "agent", true);
        }
    }
    for l in &dep.logs {
        if l.exists && !matches!(l.kind, "shared-tmp" | "fallback-tmp") {
            push(l.path.clone(), "logs", false);
        }
    }
    for s in &dep.runtime.supervisors {
        push(s.path.clone(), "supervisor", false);
        let mut d = s.path.as_os_str().to_owned();
        d.push(".d");
        push(PathBuf::from(d), "supervisor", false);
    }
    let all_users = users::users(root);
    // Every location the persistence catalogue names, so that what
    // `ir persistence` judges is also in the bundle.
    for l in crate::persistence_catalogue::locations(root, &all_users) {
        push(root.join(&l.host), "persistence", false);
    }
    // And the programs those entries run, where no package vouches for
    // them (a pam_exec script, a unit's ExecStart): the payload itself.
    // The host's entries only: reading the deployment's own (its databases)
    // before they are collected would change the order of volatility.
    for p in crate::triage::persistence::untrusted_programs(root) {
        push(root.join(&p), "payload", false);
    }
    // The histories of whoever owns the state dir.
    let owner = crate::safefs::lstat(&dep.paths.state_dir)
        .ok()
        .flatten()
        .map(|m| m.uid());
    let homes: Vec<PathBuf> = match owner.and_then(|uid| all_users.iter().find(|u| u.uid == uid)) {
        Some(u) => vec![root.join(&u.home)],
        None => vec![root.join(&dep.paths.user_home)],
    };
    for h in homes {
        for rel in HISTORIES {
            push(h.join(rel), "history", false);
        }
    }
    for a in add {
        push(root.join(a), "added", true);
    }
    out
}
