//! Flag rules that need to know which mechanism an entry belongs to: the
//! same text is harmless in one place and a backdoor in another
//! (`expose_authtok` hands the typed password to a pam_exec program; any
//! line at all in `ld.so.preload` is loaded into every process).
//!
//! The text rules every entry gets are [`super::persistence::text_flags`];
//! these come on top, from the entry's mechanism, account and schedule.

use crate::host::users::User;
use crate::record::Severity;

/// Every flag persistence raises: how serious it is and what it means, in
/// words, so a responder reads the list top-down. A flag not here is `Warn`.
pub static FLAGS: &[(&str, Severity, &str)] = &[
    (
        "download_exec",
        Severity::Critical,
        "downloads code and runs it",
    ),
    (
        "reverse_shell",
        Severity::Critical,
        "opens a shell to a remote host",
    ),
    (
        "ioc",
        Severity::Critical,
        "names a known indicator of compromise",
    ),
    (
        "web_shell",
        Severity::Critical,
        "runs what a web request sends",
    ),
    (
        "modified_package_file",
        Severity::Critical,
        "a packaged file changed since its package installed it",
    ),
    ("uid0", Severity::Critical, "a second account with uid 0"),
    (
        "pam_exec_authtok",
        Severity::Critical,
        "hands typed passwords to a program",
    ),
    (
        "ld_preload",
        Severity::Critical,
        "preloads a library into every process",
    ),
    (
        "grub_init_override",
        Severity::Critical,
        "boots something else as init",
    ),
    (
        "system_account_shell",
        Severity::Critical,
        "a service account that can log in",
    ),
    (
        "ssh_key_system_account",
        Severity::Critical,
        "an SSH key that logs in as a service account",
    ),
    (
        "unpackaged_module",
        Severity::Critical,
        "loads a kernel module no package ships",
    ),
    (
        "suid_interpreter",
        Severity::Critical,
        "a SUID/SGID interpreter: a root shell for anyone",
    ),
    (
        "setid_not_in_package",
        Severity::Critical,
        "SUID/SGID bits its package does not set",
    ),
    (
        "dangerous_capability",
        Severity::Critical,
        "file capabilities that amount to root",
    ),
    (
        "empty_password",
        Severity::Critical,
        "logs in with no password at all",
    ),
    (
        "system_account_password",
        Severity::Critical,
        "a service account with a usable password",
    ),
    (
        "base64_decode",
        Severity::Warn,
        "decodes base64, usually to run it",
    ),
    ("base64_blob", Severity::Warn, "carries a long base64 blob"),
    (
        "runs_from_tmp",
        Severity::Warn,
        "runs something from /tmp, /dev/shm or a hidden directory",
    ),
    (
        "runs_from_data_dir",
        Severity::Warn,
        "runs a program kept where only data belongs",
    ),
    (
        "world_writable",
        Severity::Warn,
        "anyone can change it, or the program it runs",
    ),
    (
        "undeclared",
        Severity::Warn,
        "an OpenClaw job OpenClaw did not declare",
    ),
    ("nopasswd", Severity::Warn, "sudo without a password"),
    (
        "unexpected_setid",
        Severity::Warn,
        "a packaged program distributions do not ship SUID/SGID",
    ),
    (
        "root_cron_every_minute",
        Severity::Warn,
        "a root job that runs every minute",
    ),
    (
        "installs_package",
        Severity::Warn,
        "installs software or runs a maintainer script when it fires",
    ),
    (
        "git_fsmonitor_command",
        Severity::Warn,
        "git runs this program on every status",
    ),
    (
        "shell_not_in_etc_shells",
        Severity::Warn,
        "a login shell /etc/shells does not list",
    ),
    (
        "ssh_key_added",
        Severity::Warn,
        "an SSH key the baseline did not have",
    ),
    (
        "new_account",
        Severity::Warn,
        "an account the baseline did not have",
    ),
    (
        "unpackaged_suid",
        Severity::Warn,
        "a SUID/SGID file no package installed",
    ),
    (
        "unpackaged",
        Severity::Info,
        "a system file no package installed",
    ),
    ("recent", Severity::Info, "changed in the time window"),
];

/// A flag's severity and meaning (`Warn` and the flag itself when unknown).
pub fn describe(flag: &str) -> (Severity, &str) {
    FLAGS
        .iter()
        .find(|(f, _, _)| *f == flag)
        .map_or((Severity::Warn, flag), |(_, s, w)| (*s, *w))
}

/// The severity of an item: that of its most serious flag.
pub fn severity(flags: &[String]) -> Option<Severity> {
    flags.iter().map(|f| describe(f).0).max()
}

/// Flags an entry of `mechanism` raises by what it is, beyond its text.
/// `user` is the account it runs as, `detail` the item's detail (a cron
/// schedule, a git key).
pub fn entry_flags(
    mechanism: &str,
    user: Option<&str>,
    detail: Option<&str>,
    cmd: &str,
) -> Vec<&'static str> {
    let mut f = Vec::new();
    match mechanism {
        "pam-exec" if cmd.contains("expose_authtok") => f.push("pam_exec_authtok"),
        "ld-preload" if !cmd.trim().is_empty() => f.push("ld_preload"),
        "cron" | "at" | "anacron" => {
            if user == Some("root") && detail.is_some_and(every_minute) {
                f.push("root_cron_every_minute");
            }
            if installs_package(cmd) {
                f.push("installs_package");
            }
        }
        "grub" if init_override(cmd) => f.push("grub_init_override"),
        // LD_PRELOAD set for every login shell or user service.
        "shell-rc" | "environment-d" if sets_ld_preload(cmd) => f.push("ld_preload"),
        // core.fsmonitor is a boolean or a program git runs on every status.
        "git-config"
            if detail.is_some_and(|k| k.eq_ignore_ascii_case("fsmonitor"))
                && !matches!(cmd.trim(), "true" | "false") =>
        {
            f.push("git_fsmonitor_command")
        }
        _ => {}
    }
    f
}

/// `* * * * *` or `*/1 * * * *`: runs every minute.
fn every_minute(s: &str) -> bool {
    let f: Vec<&str> = s.split_whitespace().collect();
    f.len() == 5 && matches!(f[0], "*" | "*/1") && f[1..].iter().all(|x| *x == "*")
}

/// A command that installs software (a job that re-installs a backdoor
/// package, or runs a dpkg maintainer script, each time it fires).
fn installs_package(cmd: &str) -> bool {
    let c = cmd.to_ascii_lowercase();
    c.contains("/var/lib/dpkg/info/")
        || [
            "dpkg -i",
            "dpkg --install",
            "rpm -i",
            "rpm -u",
            "rpm --install",
            "apt-get install",
            "apt install",
            "yum install",
            "dnf install",
            "pip install",
            "npm install -g",
        ]
        .iter()
        .any(|p| c.contains(p))
}

/// `LD_PRELOAD=...` (or `export LD_PRELOAD`) outside a comment.
fn sets_ld_preload(line: &str) -> bool {
    let l = line.trim_start();
    !l.starts_with('#') && l.contains("LD_PRELOAD=")
}

/// An `init=` on a kernel command line that is not the system's own init.
fn init_override(line: &str) -> bool {
    const STOCK: &[&str] = &[
        "/sbin/init",
        "/lib/systemd/systemd",
        "/usr/lib/systemd/systemd",
        "/bin/systemd",
    ];
    line.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .filter_map(|w| w.strip_prefix("init="))
        .any(|v| !STOCK.contains(&v))
}

/// Shells that let nobody log in.
const NO_LOGIN: &[&str] = &[
    "/usr/sbin/nologin",
    "/sbin/nologin",
    "/usr/bin/nologin",
    "/bin/false",
    "/usr/bin/false",
    "/bin/sync",
    "/usr/bin/sync",
    "/sbin/shutdown",
    "/sbin/halt",
];

/// What a shadow password field allows: `None` when the account is not in
/// shadow (or the field is a lock: `*`, `!...`), else whether it is empty
/// (a login with no password at all).
pub fn password_state(field: Option<&str>) -> Option<PasswordState> {
    let f = field?;
    if f.starts_with('!') || f.starts_with('*') {
        return None;
    }
    Some(if f.is_empty() {
        PasswordState::Empty
    } else {
        PasswordState::Set
    })
}

/// A shadow entry that lets someone log in with a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordState {
    Empty,
    Set,
}

/// Flags of an account's shadow entry: no password at all on any account;
/// a usable password on a service account (nobody types one for it).
pub fn password_flags(u: &User, uid_min: u32, state: Option<PasswordState>) -> Vec<&'static str> {
    match state {
        Some(PasswordState::Empty) => vec!["empty_password"],
        Some(PasswordState::Set) if is_system_account(u, uid_min) => {
            vec!["system_account_password"]
        }
        _ => Vec::new(),
    }
}

/// Service accounts their package gives a login shell on purpose, with a
/// file of that package: the account is fine when the package is there
/// (postgresql-common creates `postgres` with `/bin/bash`).
pub const SERVICE_SHELLS: &[(&str, &str)] = &[("postgres", "/usr/share/postgresql-common")];

/// The lowest uid of a human account (`UID_MIN` of `login.defs`, 1000 by default).
pub fn uid_min(login_defs: &str) -> u32 {
    login_defs
        .lines()
        .filter_map(|l| l.trim().strip_prefix("UID_MIN"))
        .find_map(|v| v.trim().parse().ok())
        .unwrap_or(1000)
}

/// True for a service account: not root, below `UID_MIN`, or `nobody`.
pub fn is_system_account(u: &User, uid_min: u32) -> bool {
    u.uid != 0 && (u.uid < uid_min || u.uid == 65534)
}

/// Flags one passwd account raises: a second uid 0, a service account that
/// can log in (its shell, compared exactly: `"/usr/sbin/nologin "` with a
/// trailing space is not nologin), a shell `/etc/shells` does not list.
/// `shell_ok` names the service accounts whose package gives them a shell.
pub fn account_flags(
    u: &User,
    uid_min: u32,
    shells: &[&str],
    shell_ok: &[&str],
) -> Vec<&'static str> {
    let mut f = Vec::new();
    if u.uid == 0 && u.name != "root" {
        f.push("uid0");
    }
    let nologin = NO_LOGIN.contains(&u.shell.as_str());
    let packaged_shell = shell_ok.contains(&u.name.as_str()) && shells.contains(&u.shell.as_str());
    if is_system_account(u, uid_min) && !nologin && !packaged_shell {
        f.push("system_account_shell");
    } else if !nologin
        && !shells.is_empty()
        && !u.shell.is_empty()
        && !shells.contains(&u.shell.as_str())
    {
        f.push("shell_not_in_etc_shells");
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(name: &str, uid: u32, shell: &str) -> User {
        User {
            name: name.into(),
            uid,
            gid: uid,
            home: "/".into(),
            shell: shell.into(),
        }
    }

    #[test]
    fn severities() {
        let f = |v: &[&str]| severity(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(f(&["recent", "download_exec"]), Some(Severity::Critical));
        assert_eq!(f(&["unpackaged"]), Some(Severity::Info));
        assert_eq!(f(&[]), None);
        let mut seen = std::collections::HashSet::new();
        assert!(FLAGS.iter().all(|(f, _, _)| seen.insert(*f)));
    }

    #[test]
    fn accounts() {
        let shells = ["/bin/sh", "/bin/bash"];
        let f = |x: &User| account_flags(x, 1000, &shells, &["postgres"]);
        assert!(f(&u("root", 0, "/bin/bash")).is_empty());
        assert!(f(&u("daemon", 1, "/usr/sbin/nologin")).is_empty());
        assert!(f(&u("sync", 4, "/bin/sync")).is_empty());
        assert!(f(&u("alice", 1000, "/bin/bash")).is_empty());
        assert_eq!(f(&u("toor", 0, "/bin/bash")), ["uid0"]);
        assert_eq!(f(&u("www-data", 33, "/bin/bash")), ["system_account_shell"]);
        assert_eq!(
            f(&u("www-data", 33, "/usr/sbin/nologin ")),
            ["system_account_shell"]
        );
        assert_eq!(f(&u("nobody", 65534, "/bin/sh")), ["system_account_shell"]);
        assert_eq!(f(&u("bob", 1001, "/tmp/sh")), ["shell_not_in_etc_shells"]);
        assert!(f(&u("postgres", 101, "/bin/bash")).is_empty());
        assert_eq!(f(&u("postgres", 101, "/tmp/sh")), ["system_account_shell"]);
        assert_eq!(uid_min("# x\nUID_MIN\t\t\t 500\n"), 500);
        let p = |x: &User, f: Option<&str>| password_flags(x, 1000, password_state(f));
        let daemon = u("daemon", 1, "/usr/sbin/nologin");
        assert!(p(&daemon, Some("*")).is_empty());
        assert!(p(&daemon, Some("!$6$x")).is_empty());
        assert!(p(&daemon, None).is_empty());
        assert_eq!(
            p(&daemon, Some("$6$salt$hash")),
            ["system_account_password"]
        );
        assert_eq!(
            p(&u("alice", 1000, "/bin/sh"), Some("")),
            ["empty_password"]
        );
        assert!(p(&u("alice", 1000, "/bin/sh"), Some("$y$j9T$x")).is_empty());
        assert_eq!(uid_min(""), 1000);
    }

    #[test]
    fn entries() {
        let e = |m, u, s, c| entry_flags(m, u, s, c);
        assert_eq!(
            e(
                "pam-exec",
                None,
                None,
                "auth optional pam_exec.so expose_authtok /x"
            ),
            ["pam_exec_authtok"]
        );
        assert!(
            e(
                "pam-exec",
                None,
                None,
                "session optional pam_exec.so /usr/bin/notify"
            )
            .is_empty()
        );
        assert_eq!(e("ld-preload", None, None, "/lib/x.so"), ["ld_preload"]);
        let root = Some("root");
        assert_eq!(
            e("cron", root, Some("* * * * *"), "/usr/bin/true"),
            ["root_cron_every_minute"]
        );
        assert!(e("cron", root, Some("*/5 * * * *"), "/usr/bin/true").is_empty());
        assert!(e("cron", Some("alice"), Some("* * * * *"), "/usr/bin/true").is_empty());
        assert_eq!(
            e(
                "cron",
                Some("alice"),
                Some("0 * * * *"),
                "/var/lib/dpkg/info/x.postinst configure"
            ),
            ["installs_package"]
        );
        assert_eq!(
            e(
                "grub",
                None,
                None,
                "GRUB_CMDLINE_LINUX=\"quiet init=/tmp/i\""
            ),
            ["grub_init_override"]
        );
        assert!(
            e(
                "grub",
                None,
                None,
                "linux /vmlinuz root=/dev/sda1 init=/lib/systemd/systemd"
            )
            .is_empty()
        );
        assert_eq!(
            e("shell-rc", None, None, "LD_PRELOAD=/usr/lib/x.so"),
            ["ld_preload"]
        );
        assert!(e("shell-rc", None, None, "# LD_PRELOAD=/x").is_empty());
        let fsm = Some("fsmonitor");
        assert_eq!(e("git-config", None, fsm, "/x"), ["git_fsmonitor_command"]);
        assert!(e("git-config", None, fsm, "true").is_empty());
        assert!(e("git-config", None, Some("pager"), "less -R").is_empty());
    }
}
