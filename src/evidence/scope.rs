//! What `ir collect` takes, in order of volatility (RFC 3227): the SQLite
//! databases a gateway writes to, then OpenClaw's logs in /tmp, then the
//! state dir, the workspaces, the supervisor, the persistence locations
//! (`field-notes.md` §1) and the owner's shell histories, then `--add`.
//!
//! Roots are host paths; they are read under `--root`. A root that does not
//! exist is skipped silently: most persistence locations are absent on any
//! given host.

use crate::host::Root;
use crate::host::users;
use crate::openclaw::Deployment;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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

/// System-wide persistence locations (Linux, with the macOS ones that share
/// a path), as host paths.
pub const SYSTEM_PERSISTENCE: &[&str] = &[
    "/etc/crontab",
    "/etc/cron.d",
    "/etc/cron.hourly",
    "/etc/cron.daily",
    "/etc/cron.weekly",
    "/etc/cron.monthly",
    "/etc/anacrontab",
    "/etc/cron.allow",
    "/etc/cron.deny",
    "/var/spool/anacron",
    "/var/spool/cron",
    "/var/spool/at",
    "/etc/systemd/system",
    "/etc/systemd/user",
    "/run/systemd/system",
    "/run/systemd/transient",
    "/run/systemd/generator",
    "/run/systemd/generator.early",
    "/run/systemd/generator.late",
    "/usr/local/lib/systemd/system",
    "/usr/local/lib/systemd/user",
    "/usr/lib/systemd/system",
    "/usr/lib/systemd/user",
    "/etc/systemd/system-generators",
    "/etc/systemd/user-generators",
    "/usr/local/lib/systemd/system-generators",
    "/usr/local/lib/systemd/user-generators",
    "/usr/lib/systemd/system-generators",
    "/usr/lib/systemd/user-generators",
    "/var/lib/systemd/linger",
    "/etc/xdg/autostart",
    "/usr/share/autostart",
    "/etc/profile",
    "/etc/profile.d",
    "/etc/bash.bashrc",
    "/etc/bashrc",
    "/etc/environment",
    "/etc/zsh",
    "/etc/zshrc",
    "/etc/zprofile",
    "/etc/zshenv",
    "/etc/ssh/sshd_config",
    "/etc/ssh/sshd_config.d",
    "/etc/ssh/sshrc",
    "/etc/ld.so.preload",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/rc.local",
    "/etc/rc.d/rc.local",
    "/etc/rc.common",
    "/etc/init.d",
    "/etc/rc0.d",
    "/etc/rc1.d",
    "/etc/rc2.d",
    "/etc/rc3.d",
    "/etc/rc4.d",
    "/etc/rc5.d",
    "/etc/rc6.d",
    "/etc/inittab",
    "/etc/update-motd.d",
    "/etc/udev/rules.d",
    "/usr/lib/udev/rules.d",
    "/run/udev/rules.d",
    "/etc/modules",
    "/etc/modules-load.d",
    "/usr/lib/modules-load.d",
    "/etc/modprobe.d",
    "/etc/pam.d",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/apt/apt.conf.d",
    "/etc/dnf/plugins",
    "/etc/yum/pluginconf.d",
    "/etc/NetworkManager/dispatcher.d",
    "/etc/network/if-up.d",
    "/etc/network/if-down.d",
    "/etc/network/if-pre-up.d",
    "/etc/network/if-post-down.d",
    "/etc/dbus-1/system.d",
    "/etc/polkit-1/rules.d",
    "/etc/default/grub",
    "/etc/default/grub.d",
    "/etc/periodic",
    "/etc/emond.d",
    "/Library/LaunchAgents",
    "/Library/LaunchDaemons",
    "/Library/StartupItems",
    "/usr/lib/cron/tabs",
    "/private/var/at/tabs",
];

/// Shell startup files of a user, relative to the home (T1546.004).
pub const USER_SHELL_RC: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".config/fish/config.fish",
    ".config/autostart-scripts",
];

/// Other per-user persistence locations, relative to each passwd home.
pub const USER_PERSISTENCE: &[&str] = &[
    ".ssh/authorized_keys",
    ".ssh/authorized_keys2",
    ".ssh/rc",
    ".ssh/config",
    ".config/autostart",
    ".config/systemd/user",
    ".local/share/systemd/user",
    ".config/environment.d",
    ".gitconfig",
    "Library/LaunchAgents",
];

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
    for p in SYSTEM_PERSISTENCE {
        push(root.join(p), "persistence", false);
    }
    let all_users = users::users(root);
    for u in &all_users {
        if u.home.is_empty() || u.home == "/" || u.home == "/nonexistent" {
            continue;
        }
        for rel in USER_SHELL_RC.iter().chain(USER_PERSISTENCE) {
            push(
                root.join(Path::new(&u.home).join(rel)),
                "persistence",
                false,
            );
        }
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
