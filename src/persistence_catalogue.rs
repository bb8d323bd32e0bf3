//! The persistence catalogue: every host mechanism that can bring an
//! attacker back, as one table of data.
//!
//! Two commands read it, and nothing else lists persistence locations:
//! `ir collect` takes every location into the evidence bundle
//! ([`crate::evidence::scope`]), and `ir persistence` reads every location
//! with the entry's parser and judges what it finds
//! ([`crate::triage::persistence`]). Kept apart, the two lists drifted (a
//! script in NetworkManager's `dispatcher.d` was collected but never judged);
//! kept here, adding a location is one line and both sides get it.
//!
//! A location is a host path under `--root`, or a path relative to each
//! passwd home. A location ending in `/` is a directory whose entries are
//! read (one level: a subdirectory that matters is a location of its own);
//! any other names one file. A component may be a glob (`*`, `?`, `[0-6]`),
//! expanded against what exists under the root.
//!
//! OpenClaw's own mechanisms (its supervisor, jobs, skills, hooks, MCP
//! servers, prompt files) are not here: they live in the deployment, which
//! collect takes whole and persistence reads from its config.

use crate::host::Root;
use crate::host::users::User;
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// One mechanism: what it is, where it lives, and how to read it.
#[derive(Debug)]
pub struct Mechanism {
    /// The name every item of it carries (`cron`, `systemd-service`...).
    pub id: &'static str,
    /// Its MITRE ATT&CK technique.
    pub attack: &'static str,
    /// Host paths or globs.
    pub system: &'static [&'static str],
    /// Paths or globs relative to each passwd home.
    pub home: &'static [&'static str],
    /// How one file of it becomes items, and where the program it runs is named.
    pub parser: Parser,
}

/// How a file becomes items; each variant says where the command it runs is.
#[derive(Debug, Clone, Copy)]
pub enum Parser {
    /// Crontab lines: five time fields (or `@reboot`...), then the user in
    /// system crontabs under `/etc`, then the command. Spool crontabs are
    /// named after their user and have no user field.
    Crontab,
    /// The whole file runs as a script (cron.daily, profile.d, rc.local, a
    /// polkit rule): one item per file, whose command is the first line the
    /// flag rules catch.
    Script,
    /// `Key=value` files (systemd units with their drop-ins and `.wants`
    /// links, desktop entries, D-Bus services): the files ending in one of
    /// `suffixes`, one item per key in `keys`, whose value is the command.
    Keyed {
        suffixes: &'static [&'static str],
        keys: &'static [&'static str],
    },
    /// One item per line that names a program; [`Runs`] says which part.
    Lines(Runs),
    /// Links to scripts (`rc2.d/S01x -> ../init.d/x`): the link's target is
    /// what runs; a regular file there is read as a script.
    Links,
    /// authorized_keys: one item per key; a `command="..."` option is what
    /// the key runs. The files are `AuthorizedKeysFile` of sshd_config for
    /// each account, or the entry's home paths when it names none.
    AuthorizedKeys,
    /// sudoers: one item per rule; `NOPASSWD` is flagged.
    Sudoers,
    /// launchd plists: `ProgramArguments`, else `Program`.
    Launchd,
    /// systemd linger: the file name is the user whose services outlive login.
    Linger,
    /// passwd: one item per uid-0 account other than root.
    Accounts,
    /// Nothing runs from it: one item per file, with its metadata and hash,
    /// so changes show against a baseline.
    Listing,
}

/// Which part of a line names the program it runs.
#[derive(Debug, Clone, Copy)]
pub enum Runs {
    /// The whole line (`ld.so.preload`).
    WholeLine,
    /// A module to load, or the command of a modprobe `install` line; other
    /// modprobe directives load nothing of their own.
    Module,
    /// Lines containing this text, whole (`pam_exec.so`).
    Containing(&'static str),
    /// What follows one of these keywords, as `Key value` or `Key=value`
    /// (sshd's `AuthorizedKeysCommand`, ssh's `ProxyCommand`).
    Keyword(&'static [&'static str]),
    /// anacrontab: period, delay, job id, then the command.
    Anacron,
    /// udev rules: the value of `RUN+=` (or `RUN=`).
    UdevRun,
    /// apt.conf: the quoted command of a `Pre-Invoke`/`Post-Invoke` hook.
    AptInvoke,
    /// git config: the value of a key in [`GIT_COMMAND_KEYS`], or any
    /// value git runs in a shell (`alias.x = !cmd`).
    Git,
}

/// Where sshd reads its config, which names the authorized_keys files.
pub const SSHD_CONFIG: &[&str] = &["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/"];

/// Directories systemd loads units from, system and user.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system/",
    "/run/systemd/system/",
    "/run/systemd/transient/",
    "/usr/local/lib/systemd/system/",
    "/usr/lib/systemd/system/",
    "/etc/systemd/user/",
    "/usr/lib/systemd/user/",
    "/usr/local/lib/systemd/user/",
];

/// A user's own unit directories, relative to the home.
const USER_UNIT_DIRS: &[&str] = &[".config/systemd/user/", ".local/share/systemd/user/"];

/// git settings whose value is a program git runs (or where it finds hooks).
pub const GIT_COMMAND_KEYS: &[&str] = &[
    "fsmonitor",
    "pager",
    "sshCommand",
    "hooksPath",
    "editor",
    "askPass",
];

/// Files a maintainer script writes rather than dpkg installs, so no
/// package lists them: each is judged by how it is made, not flagged
/// `unpackaged`.
pub static GENERATED: &[Generated] = &[
    Generated {
        path: "/etc/profile",
        from: Made::Template("/usr/share/base-files/profile"),
    },
    Generated {
        path: "/etc/environment",
        from: Made::Empty,
    },
    Generated {
        path: "/etc/default/grub",
        from: Made::Template("/usr/share/grub/default/grub"),
    },
    Generated {
        path: "/etc/ssh/sshd_config",
        from: Made::Template("/usr/share/openssh/sshd_config"),
    },
    Generated {
        path: "/etc/passwd",
        from: Made::Accounts,
    },
    Generated {
        path: "/etc/shadow",
        from: Made::Accounts,
    },
    Generated {
        path: "/etc/group",
        from: Made::Accounts,
    },
    Generated {
        path: "/etc/gshadow",
        from: Made::Accounts,
    },
];

/// A file a maintainer script writes.
#[derive(Debug)]
pub struct Generated {
    /// Host path.
    pub path: &'static str,
    pub from: Made,
}

/// How a generated file is made, and so what it may hold.
#[derive(Debug)]
pub enum Made {
    /// Copied from this packaged template: equal to it, or to an older
    /// version whose MD5 the package lists beside it (`<template>.md5sums`).
    Template(&'static str),
    /// Created empty: comments and blank lines only.
    Empty,
    /// An account database, judged line by line by the account rules.
    Accounts,
}

/// True when `host` is a generated file that holds what its maker wrote.
pub fn generated_ok(root: &Root, host: &str) -> bool {
    let Some(g) = GENERATED.iter().find(|g| g.path == host) else {
        return false;
    };
    let read = |p: &str| crate::safefs::read_bounded(&root.join(p), 1 << 20).ok();
    match g.from {
        Made::Accounts => true,
        Made::Empty => read(host).is_some_and(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        }),
        Made::Template(t) => {
            let Some(have) = read(host) else { return false };
            if read(t).is_some_and(|want| want == have) {
                return true;
            }
            let sum = hex::encode(<md5::Md5 as md5::Digest>::digest(&have));
            [format!("{t}.md5sums"), format!("{t}.md5sum")]
                .iter()
                .filter_map(|p| read(p))
                .any(|b| {
                    String::from_utf8_lossy(&b)
                        .lines()
                        .any(|l| l.split_whitespace().next() == Some(sum.as_str()))
                })
        }
    }
}

/// The unit keys that run a command.
const EXEC_KEYS: &[&str] = &[
    "ExecStart",
    "ExecStartPre",
    "ExecStartPost",
    "ExecStop",
    "ExecStopPost",
    "ExecReload",
    "ExecCondition",
];

/// The catalogue, in the order items are reported and roots collected.
pub static CATALOGUE: &[Mechanism] = &[
    // Scheduled jobs.
    Mechanism {
        id: "cron",
        attack: "T1053.003",
        system: &[
            "/etc/crontab",
            "/etc/cron.d/",
            "/var/spool/cron/crontabs/",
            // RHEL keeps user crontabs directly in the spool.
            "/var/spool/cron/",
            "/usr/lib/cron/tabs/",
            "/private/var/at/tabs/",
        ],
        home: &[],
        parser: Parser::Crontab,
    },
    Mechanism {
        id: "cron-periodic",
        attack: "T1053.003",
        system: &[
            "/etc/cron.hourly/",
            "/etc/cron.daily/",
            "/etc/cron.weekly/",
            "/etc/cron.monthly/",
        ],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        id: "cron-access",
        attack: "T1053.003",
        system: &["/etc/cron.allow", "/etc/cron.deny"],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        id: "anacron",
        attack: "T1053.003",
        system: &["/etc/anacrontab", "/var/spool/anacron/"],
        home: &[],
        parser: Parser::Lines(Runs::Anacron),
    },
    Mechanism {
        id: "at",
        attack: "T1053.002",
        system: &[
            "/var/spool/cron/atjobs/",
            "/var/spool/at/",
            "/private/var/at/jobs/",
        ],
        home: &[],
        parser: Parser::Script,
    },
    // systemd, system and user.
    Mechanism {
        id: "systemd-service",
        attack: "T1543.002",
        system: UNIT_DIRS,
        home: USER_UNIT_DIRS,
        parser: Parser::Keyed {
            suffixes: &[".service", ".socket", ".path", ".mount"],
            keys: EXEC_KEYS,
        },
    },
    Mechanism {
        id: "systemd-timer",
        attack: "T1053.006",
        system: UNIT_DIRS,
        home: USER_UNIT_DIRS,
        parser: Parser::Keyed {
            suffixes: &[".timer"],
            keys: &["OnCalendar", "OnBootSec", "OnUnitActiveSec", "Unit"],
        },
    },
    Mechanism {
        id: "systemd-generator",
        attack: "T1543.002",
        system: &[
            "/etc/systemd/system-generators/",
            "/etc/systemd/user-generators/",
            "/usr/local/lib/systemd/system-generators/",
            "/usr/local/lib/systemd/user-generators/",
            "/usr/lib/systemd/system-generators/",
            "/usr/lib/systemd/user-generators/",
        ],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        // The units generators wrote at boot: what they make systemd run.
        id: "systemd-generated-unit",
        attack: "T1543.002",
        system: &[
            "/run/systemd/generator/",
            "/run/systemd/generator.early/",
            "/run/systemd/generator.late/",
        ],
        home: &[],
        parser: Parser::Keyed {
            suffixes: &[".service", ".socket", ".path", ".mount", ".timer"],
            keys: EXEC_KEYS,
        },
    },
    Mechanism {
        id: "systemd-linger",
        attack: "T1543.002",
        system: &["/var/lib/systemd/linger/"],
        home: &[],
        parser: Parser::Linger,
    },
    // Login.
    Mechanism {
        id: "xdg-autostart",
        attack: "T1547.013",
        system: &["/etc/xdg/autostart/", "/usr/share/autostart/"],
        home: &[".config/autostart/"],
        parser: Parser::Keyed {
            suffixes: &[".desktop"],
            keys: &["Exec"],
        },
    },
    Mechanism {
        id: "shell-rc",
        attack: "T1546.004",
        system: &[
            "/etc/profile",
            "/etc/profile.d/",
            "/etc/bash.bashrc",
            "/etc/bashrc",
            "/etc/environment",
            "/etc/zsh/",
            "/etc/zshrc",
            "/etc/zprofile",
            "/etc/zshenv",
        ],
        home: &[
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
            // KDE runs these at login like an rc file.
            ".config/autostart-scripts/",
        ],
        parser: Parser::Script,
    },
    Mechanism {
        // LD_PRELOAD or PATH for every user service of the account.
        id: "environment-d",
        attack: "T1574.006",
        system: &["/etc/environment.d/"],
        home: &[".config/environment.d/"],
        parser: Parser::Script,
    },
    // SSH.
    Mechanism {
        id: "ssh-authorized-keys",
        attack: "T1098.004",
        system: &[],
        home: &[".ssh/authorized_keys", ".ssh/authorized_keys2"],
        parser: Parser::AuthorizedKeys,
    },
    Mechanism {
        id: "ssh-rc",
        attack: "T1098.004",
        system: &["/etc/ssh/sshrc"],
        home: &[".ssh/rc"],
        parser: Parser::Script,
    },
    Mechanism {
        id: "sshd-config",
        attack: "T1098.004",
        system: SSHD_CONFIG,
        home: &[],
        parser: Parser::Lines(Runs::Keyword(&["AuthorizedKeysCommand"])),
    },
    Mechanism {
        // Runs whenever the account uses ssh.
        id: "ssh-client-config",
        attack: "T1546",
        system: &["/etc/ssh/ssh_config", "/etc/ssh/ssh_config.d/"],
        home: &[".ssh/config"],
        parser: Parser::Lines(Runs::Keyword(&[
            "ProxyCommand",
            "LocalCommand",
            "KnownHostsCommand",
        ])),
    },
    Mechanism {
        // core.pager, core.fsmonitor, core.sshCommand... run on ordinary git
        // use, from the user's config and from any repository's own
        // (OpenClaw workspaces are git repositories).
        id: "git-config",
        attack: "T1546",
        system: &["/etc/gitconfig"],
        home: &[
            ".gitconfig",
            ".config/git/config",
            "*/.git/config",
            ".openclaw/workspace/.git/config",
            ".openclaw/workspace-*/.git/config",
        ],
        parser: Parser::Lines(Runs::Git),
    },
    Mechanism {
        // Hooks git runs on commit, checkout, merge... (`*.sample` never run).
        id: "git-hook",
        attack: "T1546",
        system: &[],
        home: &[
            "*/.git/hooks/",
            ".openclaw/workspace/.git/hooks/",
            ".openclaw/workspace-*/.git/hooks/",
            ".config/git/hooks/",
        ],
        parser: Parser::Script,
    },
    // Loading and boot.
    Mechanism {
        id: "ld-preload",
        attack: "T1574.006",
        system: &["/etc/ld.so.preload"],
        home: &[],
        parser: Parser::Lines(Runs::WholeLine),
    },
    Mechanism {
        id: "ld-so-conf",
        attack: "T1574.006",
        system: &["/etc/ld.so.conf", "/etc/ld.so.conf.d/"],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        id: "rc-init",
        attack: "T1037.004",
        system: &[
            "/etc/rc.local",
            "/etc/rc.d/rc.local",
            "/etc/rc.common",
            "/etc/init.d/",
            "/etc/inittab",
        ],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        id: "rc-link",
        attack: "T1037.004",
        system: &["/etc/rc[0-6S].d/"],
        home: &[],
        parser: Parser::Links,
    },
    Mechanism {
        // Runs as root at every interactive login.
        id: "motd",
        attack: "T1037",
        system: &["/etc/update-motd.d/"],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        id: "grub",
        attack: "T1542",
        system: &[
            "/etc/default/grub",
            "/etc/default/grub.d/",
            "/etc/grub.d/",
            "/boot/grub/grub.cfg",
            "/boot/grub2/grub.cfg",
        ],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        // Scripts copied into the initramfs and run before the root is mounted.
        id: "initramfs-hook",
        attack: "T1542",
        system: &[
            "/etc/initramfs-tools/hooks/",
            "/etc/initramfs-tools/scripts/*/",
            "/usr/share/initramfs-tools/hooks/",
            "/usr/share/initramfs-tools/scripts/*/",
            "/etc/dracut.conf.d/",
            "/usr/lib/dracut/modules.d/*/",
        ],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        id: "kernel-module",
        attack: "T1547.006",
        system: &[
            "/etc/modules",
            "/etc/modules-load.d/",
            "/usr/lib/modules-load.d/",
            "/run/modules-load.d/",
            "/etc/modprobe.d/",
        ],
        home: &[],
        parser: Parser::Lines(Runs::Module),
    },
    // Events.
    Mechanism {
        id: "udev-rule",
        attack: "T1546.017",
        system: &[
            "/etc/udev/rules.d/",
            "/usr/lib/udev/rules.d/",
            "/run/udev/rules.d/",
        ],
        home: &[],
        parser: Parser::Lines(Runs::UdevRun),
    },
    Mechanism {
        // Run as root when an interface goes up or down.
        id: "network-hook",
        attack: "T1546",
        system: &[
            "/etc/NetworkManager/dispatcher.d/",
            "/etc/NetworkManager/dispatcher.d/*/",
            "/etc/network/if-*.d/",
        ],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        id: "apt-hook",
        attack: "T1546.016",
        system: &["/etc/apt/apt.conf.d/"],
        home: &[],
        parser: Parser::Lines(Runs::AptInvoke),
    },
    Mechanism {
        id: "dnf-plugin",
        attack: "T1546.016",
        system: &["/etc/dnf/plugins/", "/etc/yum/pluginconf.d/"],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        // Activated on demand by the bus; system services run as root.
        id: "dbus-service",
        attack: "T1543",
        system: &[
            "/usr/share/dbus-1/system-services/",
            "/usr/local/share/dbus-1/system-services/",
            "/usr/share/dbus-1/services/",
            "/usr/local/share/dbus-1/services/",
        ],
        home: &[".local/share/dbus-1/services/"],
        parser: Parser::Keyed {
            suffixes: &[".service"],
            keys: &["Exec"],
        },
    },
    Mechanism {
        // Who may own and call which bus names.
        id: "dbus-policy",
        attack: "T1543",
        system: &[
            "/etc/dbus-1/system.d/",
            "/usr/share/dbus-1/system.d/",
            "/etc/dbus-1/session.d/",
        ],
        home: &[],
        parser: Parser::Script,
    },
    // Privilege and accounts.
    Mechanism {
        id: "pam-exec",
        attack: "T1556.003",
        system: &["/etc/pam.d/"],
        home: &[],
        parser: Parser::Lines(Runs::Containing("pam_exec.so")),
    },
    Mechanism {
        // Rules are JavaScript that can grant any action or spawn programs.
        id: "polkit-rule",
        attack: "T1556",
        system: &[
            "/etc/polkit-1/rules.d/",
            "/usr/share/polkit-1/rules.d/",
            "/etc/polkit-1/localauthority/*/",
            "/var/lib/polkit-1/localauthority/*/",
        ],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        // A script a co-hosted web server runs on request.
        id: "web-shell",
        attack: "T1505.003",
        system: &[
            "/var/www/",
            "/var/www/html/",
            "/srv/www/",
            "/srv/http/",
            "/usr/share/nginx/html/",
        ],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        id: "sudoers",
        attack: "T1548.003",
        system: &["/etc/sudoers", "/etc/sudoers.d/"],
        home: &[],
        parser: Parser::Sudoers,
    },
    Mechanism {
        // One item per account: a second uid 0, a service account that can
        // log in, an account new since the baseline.
        id: "account",
        attack: "T1136.001",
        system: &["/etc/passwd"],
        home: &[],
        parser: Parser::Accounts,
    },
    Mechanism {
        id: "account-files",
        attack: "T1098",
        system: &["/etc/shadow", "/etc/group"],
        home: &[],
        parser: Parser::Listing,
    },
    // macOS.
    Mechanism {
        id: "launch-agent",
        attack: "T1543.001",
        system: &["/Library/LaunchAgents/"],
        home: &["Library/LaunchAgents/"],
        parser: Parser::Launchd,
    },
    Mechanism {
        id: "launch-daemon",
        attack: "T1543.004",
        system: &["/Library/LaunchDaemons/"],
        home: &[],
        parser: Parser::Launchd,
    },
    Mechanism {
        id: "startup-item",
        attack: "T1037.005",
        system: &[
            "/Library/StartupItems/",
            "/Library/StartupItems/*/",
            "/System/Library/StartupItems/",
            "/System/Library/StartupItems/*/",
        ],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        id: "macos-periodic",
        attack: "T1053.003",
        system: &["/etc/periodic/", "/etc/periodic/*/"],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        id: "emond",
        attack: "T1546.014",
        system: &[
            "/etc/emond.d/",
            "/etc/emond.d/rules/",
            "/private/var/db/emondClients/",
        ],
        home: &[],
        parser: Parser::Script,
    },
    Mechanism {
        // Binary stores, listed with their hashes for the analyst.
        id: "macos-login-item",
        attack: "T1547.015",
        system: &["/private/var/db/com.apple.backgroundtaskmanagement/"],
        home: &[
            "Library/Application Support/com.apple.backgroundtaskmanagementagent/",
            "Library/Preferences/com.apple.loginitems.plist",
        ],
        parser: Parser::Script,
    },
];

/// One place to read, after globs and homes are expanded.
#[derive(Debug, Clone)]
pub struct Location {
    /// The catalogue entry it belongs to.
    pub mechanism: &'static Mechanism,
    /// Host path (read under `--root`): a file, or a directory of them.
    pub host: PathBuf,
    /// The account it grants a way in to, for per-account files (authorized_keys).
    pub account: Option<String>,
}

/// Every location of every mechanism on this host, in catalogue order and
/// without repeats (users sharing a home share its files).
pub fn locations(root: &Root, users: &[User]) -> Vec<Location> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for m in CATALOGUE {
        let found = match m.parser {
            Parser::AuthorizedKeys => authorized_keys(root, users, m),
            _ => fixed(root, users, m),
        };
        for l in found {
            if seen.insert((l.mechanism.id, l.host.clone(), l.account.clone())) {
                out.push(l);
            }
        }
    }
    out
}

/// The mechanism's own paths, system-wide and under each existing home.
fn fixed(root: &Root, users: &[User], m: &'static Mechanism) -> Vec<Location> {
    let homes: Vec<&str> = homes(root, users).map(|u| u.home.as_str()).collect();
    let per_home = m
        .home
        .iter()
        .flat_map(|rel| homes.iter().map(move |h| home_path(h, rel)));
    m.system
        .iter()
        .map(|p| p.to_string())
        .chain(per_home)
        .flat_map(|p| expand(root, &p))
        .map(|host| Location {
            mechanism: m,
            host,
            account: None,
        })
        .collect()
}

/// Users whose home exists under the root: a missing home holds nothing.
fn homes<'a>(root: &Root, users: &'a [User]) -> impl Iterator<Item = &'a User> {
    users.iter().filter(|u| {
        !u.home.is_empty()
            && crate::safefs::lstat(&root.join(&u.home))
                .ok()
                .flatten()
                .is_some()
    })
}

fn home_path(home: &str, rel: &str) -> String {
    format!("{}/{rel}", home.trim_end_matches('/'))
}

/// authorized_keys files per account: sshd's `AuthorizedKeysFile`
/// patterns, or the mechanism's home paths when sshd_config names none.
fn authorized_keys(root: &Root, users: &[User], m: &'static Mechanism) -> Vec<Location> {
    let mut pats = authorized_keys_patterns(root);
    if pats.is_empty() {
        pats = m.home.iter().map(|s| s.to_string()).collect();
    }
    let present: HashSet<&str> = homes(root, users).map(|u| u.name.as_str()).collect();
    let mut out = Vec::new();
    for u in users.iter().filter(|u| !u.home.is_empty()) {
        for p in &pats {
            let host = expand_keys_pattern(p, u);
            // An absolute pattern (`/etc/ssh/keys/%u`) applies to every
            // account; one under the home only where the home exists.
            if p.starts_with('/') || present.contains(u.name.as_str()) {
                out.push(Location {
                    mechanism: m,
                    host: PathBuf::from(host),
                    account: Some(u.name.clone()),
                });
            }
        }
    }
    out
}

/// `AuthorizedKeysFile` patterns from sshd_config and its drop-ins.
pub fn authorized_keys_patterns(root: &Root) -> Vec<String> {
    let mut pats = Vec::new();
    let files = SSHD_CONFIG.iter().flat_map(|p| files_at(root, p));
    for f in files {
        let Ok(data) = crate::safefs::read_bounded(&f, 16 << 20) else {
            continue;
        };
        for l in String::from_utf8_lossy(&data).lines().map(str::trim) {
            let mut w = l.split_whitespace();
            if w.next()
                .is_some_and(|k| k.eq_ignore_ascii_case("AuthorizedKeysFile"))
            {
                pats.extend(w.map(str::to_owned));
            }
        }
    }
    pats
}

/// The file at a location, or the files directly in it (local paths, sorted).
fn files_at(root: &Root, host: &str) -> Vec<PathBuf> {
    let local = root.join(host);
    match std::fs::read_dir(&local) {
        Ok(rd) => {
            let mut v: Vec<PathBuf> = rd.flatten().take(MAX_ENTRIES).map(|e| e.path()).collect();
            v.sort();
            v
        }
        Err(_) => vec![local],
    }
}

/// An `AuthorizedKeysFile` pattern for one account (`%h`, `%u`, `%U`, `%%`);
/// a relative one is under the home.
pub fn expand_keys_pattern(p: &str, u: &User) -> String {
    let s = p
        .replace("%%", "\u{0}")
        .replace("%h", &u.home)
        .replace("%u", &u.name)
        .replace("%U", &u.uid.to_string())
        .replace('\u{0}', "%");
    if s.starts_with('/') {
        s
    } else {
        home_path(&u.home, &s)
    }
}

/// Caps a directory listing, so a hostile directory cannot exhaust memory.
const MAX_ENTRIES: usize = 100_000;

fn is_glob(component: &str) -> bool {
    component.contains(['*', '?', '['])
}

/// The host paths a location names: itself when it has no glob, else what
/// exists under the root and matches, component by component.
pub fn expand(root: &Root, pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::from("/")];
    let comps: Vec<_> = Path::new(pattern).components().collect();
    for (i, c) in comps.iter().enumerate() {
        let Component::Normal(c) = c else { continue };
        let c = c.to_string_lossy();
        if !is_glob(&c) {
            found.iter_mut().for_each(|p| p.push(&*c));
            continue;
        }
        let Ok(m) = globset::Glob::new(&c).map(|g| g.compile_matcher()) else {
            return Vec::new();
        };
        // A glob with more path after it can only match a directory
        // (`*/.git/config` under a home full of files).
        let dirs_only = i + 1 < comps.len();
        found = found
            .iter()
            .flat_map(|dir| matching_children(root, dir, &m))
            .filter(|p| !dirs_only || is_real_dir(root, p))
            .collect();
    }
    found
}

/// A directory, not a link to one.
fn is_real_dir(root: &Root, host: &Path) -> bool {
    crate::safefs::lstat(&root.join(host))
        .ok()
        .flatten()
        .is_some_and(|m| m.file_type().is_dir())
}

fn matching_children(root: &Root, dir: &Path, m: &globset::GlobMatcher) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .take(MAX_ENTRIES)
        .filter(|e| m.is_match(e.file_name()))
        .map(|e| dir.join(e.file_name()))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, uid: u32, home: &str) -> User {
        User {
            name: name.into(),
            uid,
            gid: uid,
            home: home.into(),
            shell: "/bin/sh".into(),
        }
    }

    #[test]
    fn ids_are_unique_and_attack_ids_well_formed() {
        let mut ids = HashSet::new();
        let re = regex::Regex::new(r"^T1\d{3}(\.\d{3})?$").unwrap();
        for m in CATALOGUE {
            assert!(ids.insert(m.id), "{} twice", m.id);
            assert!(re.is_match(m.attack), "{}: {}", m.id, m.attack);
            assert!(!m.system.is_empty() || !m.home.is_empty(), "{}", m.id);
            for p in m.system {
                assert!(p.starts_with('/'), "{}: {p}", m.id);
            }
            for p in m.home {
                assert!(!p.starts_with('/'), "{}: {p}", m.id);
            }
        }
    }

    #[test]
    fn every_glob_compiles() {
        for m in CATALOGUE {
            for p in m.system.iter().chain(m.home) {
                for c in p.split('/').filter(|c| is_glob(c)) {
                    assert!(globset::Glob::new(c).is_ok(), "{}: {p}", m.id);
                }
            }
        }
    }

    #[test]
    fn globs_expand_against_the_root() {
        let d = tempfile::tempdir().unwrap();
        for n in ["if-up.d", "if-down.d", "interfaces"] {
            std::fs::create_dir_all(d.path().join("etc/network").join(n)).unwrap();
        }
        let root = Root::new(d.path());
        assert_eq!(
            expand(&root, "/etc/network/if-*.d/"),
            [
                PathBuf::from("/etc/network/if-down.d"),
                PathBuf::from("/etc/network/if-up.d")
            ]
        );
        assert_eq!(
            expand(&root, "/etc/crontab"),
            [PathBuf::from("/etc/crontab")]
        );
        assert!(expand(&root, "/no/such/*/x").is_empty());
    }

    #[test]
    fn homes_expand_once_and_only_where_they_exist() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("home/a")).unwrap();
        let root = Root::new(d.path());
        let users = [
            user("a", 1000, "/home/a"),
            user("a2", 1001, "/home/a/"),
            user("gone", 1002, "/nonexistent"),
        ];
        let rc: Vec<PathBuf> = locations(&root, &users)
            .into_iter()
            .filter(|l| l.mechanism.id == "shell-rc")
            .map(|l| l.host)
            .filter(|h| h.starts_with("/home") || h.starts_with("/nonexistent"))
            .collect();
        assert_eq!(rc.iter().filter(|h| h.ends_with(".bashrc")).count(), 1);
        assert!(!rc.iter().any(|h| h.starts_with("/nonexistent")));
    }

    #[test]
    fn authorized_keys_follow_sshd_config() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("home/a")).unwrap();
        std::fs::create_dir_all(d.path().join("etc/ssh")).unwrap();
        let root = Root::new(d.path());
        let users = [user("a", 1000, "/home/a"), user("svc", 999, "/nonexistent")];
        let keys = |root: &Root| -> Vec<(PathBuf, Option<String>)> {
            locations(root, &users)
                .into_iter()
                .filter(|l| l.mechanism.id == "ssh-authorized-keys")
                .map(|l| (l.host, l.account))
                .collect()
        };
        assert_eq!(
            keys(&root),
            [
                (
                    PathBuf::from("/home/a/.ssh/authorized_keys"),
                    Some("a".into())
                ),
                (
                    PathBuf::from("/home/a/.ssh/authorized_keys2"),
                    Some("a".into())
                ),
            ]
        );
        std::fs::write(
            d.path().join("etc/ssh/sshd_config"),
            "AuthorizedKeysFile /etc/ssh/keys/%u .ssh/k\n",
        )
        .unwrap();
        assert_eq!(
            keys(&root),
            [
                (PathBuf::from("/etc/ssh/keys/a"), Some("a".into())),
                (PathBuf::from("/home/a/.ssh/k"), Some("a".into())),
                (PathBuf::from("/etc/ssh/keys/svc"), Some("svc".into())),
            ]
        );
    }
}
