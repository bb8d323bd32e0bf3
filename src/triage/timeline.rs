//! `ir timeline`: every file, directory or link whose mtime, ctime or birth
//! time falls in a window, newest first.
//!
//! ctime matters because `touch -d` can backdate an mtime but not a ctime,
//! so an mtime far older than its ctime is flagged as possible timestomping.
//! The walk is parallel ([`crate::walk`]: hidden files included, no ignore
//! files), never follows a symlink, stays on each root's filesystem,
//! reports unreadable directories instead of failing on them, and stops
//! on Ctrl-C.

use super::window::Window;
use crate::host::Root;
use crate::record::{ChangedPath, FileKind};
use anyhow::Result;
use serde::Serialize;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// One timestamp: seconds and nanoseconds since the epoch.
pub type Ts = (i64, i64);

/// A changed path. Strings are made only when it is rendered, because a
/// timeline can hold every file of the tree.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Host path.
    pub raw: PathBuf,
    pub kind: FileKind,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub inode: u64,
    /// Which of m, c, b fell in the window.
    pub matched: Vec<&'static str>,
    /// `future_mtime`, `mtime_predates_ctime`.
    pub flags: Vec<&'static str>,
    /// mtime, atime, ctime, birth time.
    pub times: [Option<Ts>; 4],
    /// The newest of the times that matched, in ns: the sort key.
    pub newest: i128,
}

impl Entry {
    /// The escaped host path.
    pub fn path(&self) -> String {
        crate::sanitize::escape_path(&self.raw)
    }

    /// `ls -l` style mode string.
    pub fn mode_string(&self) -> String {
        mode_chars(self.kind.type_char(), self.mode)
    }

    /// One of the four times as RFC 3339.
    pub fn time(&self, i: usize) -> Option<String> {
        fmt(self.times[i])
    }
}

impl Entry {
    /// The entry as the record other commands read (owned strings).
    pub fn record(&self) -> ChangedPath {
        ChangedPath {
            path: self.path(),
            kind: self.kind,
            size: self.size,
            mode: self.mode_string(),
            uid: self.uid,
            gid: self.gid,
            inode: self.inode,
            mtime: self.time(0),
            atime: self.time(1),
            ctime: self.time(2),
            btime: self.time(3),
            matched: self.matched.iter().map(|m| m.to_string()).collect(),
            flags: self.flags.iter().map(|f| f.to_string()).collect(),
        }
    }
}

impl Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.record().serialize(s)
    }
}

/// What a timeline run found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub since: String,
    pub until: String,
    pub roots: Vec<String>,
    pub scanned: u64,
    pub entries: Vec<Entry>,
    /// Directories or files that could not be read.
    pub unreadable: Vec<String>,
}

fn fmt(t: Option<Ts>) -> Option<String> {
    t.and_then(|(s, n)| crate::evidence::collect::ts(s, n))
}

/// `ls -l` style mode string, with the file type letter.
pub fn mode_string(m: &std::fs::Metadata) -> String {
    mode_chars(
        FileKind::from_file_type(m.file_type()).type_char(),
        m.mode(),
    )
}

fn mode_chars(c: char, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(c);
    for (i, ch) in "rwxrwxrwx".chars().enumerate() {
        let bit = 1 << (8 - i);
        let mut x = if mode & bit != 0 { ch } else { '-' };
        // setuid, setgid and sticky replace the x of their triple.
        if (i == 2 && mode & 0o4000 != 0) || (i == 5 && mode & 0o2000 != 0) {
            x = if mode & bit != 0 { 's' } else { 'S' };
        } else if i == 8 && mode & 0o1000 != 0 {
            x = if mode & bit != 0 { 't' } else { 'T' };
        }
        s.push(x);
    }
    s
}

fn examine(v: &crate::walk::Visit, w: &Window, now_ns: i128, root: &Root) -> Option<Entry> {
    let st = v.stat;
    let t = |x: rustix::fs::StatxTimestamp| (x.tv_sec, i64::from(x.tv_nsec));
    let mt = t(st.stx_mtime);
    let at = t(st.stx_atime);
    let ct = t(st.stx_ctime);
    let bt = (st.stx_mask & rustix::fs::StatxFlags::BTIME.bits() != 0).then(|| t(st.stx_btime));
    let mut matched = Vec::new();
    if w.contains(mt.0, mt.1) {
        matched.push("m");
    }
    if w.contains(ct.0, ct.1) {
        matched.push("c");
    }
    if bt.is_some_and(|b| w.contains(b.0, b.1)) {
        matched.push("b");
    }
    if matched.is_empty() {
        return None;
    }
    let to_ns = |t: Ts| i128::from(t.0) * 1_000_000_000 + i128::from(t.1);
    let mut flags = Vec::new();
    // A little slack for clock granularity and skew between writers.
    if to_ns(mt) > now_ns + 60_000_000_000 {
        flags.push("future_mtime");
    }
    if to_ns(ct) - to_ns(mt) > w.len_ns() {
        flags.push("mtime_predates_ctime");
    }
    let mode = u32::from(st.stx_mode);
    let kind = FileKind::from_mode(mode);
    let newest = matched
        .iter()
        .map(|m| match *m {
            "m" => to_ns(mt),
            "c" => to_ns(ct),
            _ => bt.map_or(0, to_ns),
        })
        .max()
        .unwrap_or(0);
    Some(Entry {
        raw: root.host_view(&v.path()),
        kind,
        size: st.stx_size,
        mode,
        uid: st.stx_uid,
        gid: st.stx_gid,
        inode: st.stx_ino,
        matched,
        flags,
        times: [Some(mt), Some(at), Some(ct), bt],
        newest,
    })
}

/// Walks `roots` (local paths) and returns what changed in `w`;
/// `Err(Interrupted)` when Ctrl-C stopped the walk. `on_entry` sees each
/// changed path as the walk finds it (in walk order, from any thread), so
/// `--jsonl` streams while the report waits for the sort.
pub fn run(
    roots: &[PathBuf],
    root: &Root,
    w: &Window,
    threads: usize,
    on_entry: &(dyn Fn(&Entry) + Sync),
) -> Result<Report> {
    let now = chrono::Utc::now();
    let now_ns =
        i128::from(now.timestamp()) * 1_000_000_000 + i128::from(now.timestamp_subsec_nanos());
    let existing: Vec<&PathBuf> = roots
        .iter()
        .filter(|r| crate::safefs::lstat(r).ok().flatten().is_some())
        .collect();
    let scanned = std::sync::atomic::AtomicU64::new(0);
    let entries = std::sync::Mutex::new(Vec::new());
    let unreadable = std::sync::Mutex::new(Vec::new());
    let roots: Vec<PathBuf> = existing.iter().map(|p| (*p).clone()).collect();
    crate::walk::walk(
        &roots,
        threads,
        true,
        &|v| {
            scanned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(e) = examine(v, w, now_ns, root) {
                on_entry(&e);
                entries.lock().expect("entries").push(e);
            }
        },
        &|e| unreadable.lock().expect("unreadable").push(e),
    );
    crate::signal::test_pause("timeline:walked");
    // An interrupted walk saw only part of the tree: no report from it.
    crate::signal::check()?;
    let mut entries = entries.into_inner().expect("entries");
    let mut unreadable = unreadable.into_inner().expect("unreadable");
    // Newest first, by the newest of the times that matched.
    entries.sort_unstable_by(|a, b| b.newest.cmp(&a.newest).then_with(|| a.raw.cmp(&b.raw)));
    unreadable.sort();
    let fmt_ns = |n: i128| {
        crate::evidence::collect::ts(
            (n.div_euclid(1_000_000_000)) as i64,
            (n.rem_euclid(1_000_000_000)) as i64,
        )
        .unwrap_or_default()
    };
    Ok(Report {
        since: fmt_ns(w.since_ns),
        until: fmt_ns(w.until_ns),
        roots: existing
            .iter()
            .map(|r| crate::sanitize::escape_path(&root.host_view(r)))
            .collect(),
        scanned: scanned.into_inner(),
        entries,
        unreadable,
    })
}

/// Appends one line of a TSK 3.x bodyfile:
/// `MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime`.
pub fn bodyfile_line(out: &mut String, e: &Entry) {
    use std::fmt::Write;
    let s = |i: usize| e.times[i].map_or(0, |t| t.0);
    // fls writes the name's type and the metadata's type before the mode.
    let t = match e.kind {
        FileKind::Dir => "d/",
        FileKind::Symlink => "l/",
        FileKind::File => "r/",
        _ => "-/",
    };
    let path = e.path();
    let name: std::borrow::Cow<str> = if path.contains('|') {
        path.replace('|', "\\x7c").into()
    } else {
        path.as_str().into()
    };
    let _ = writeln!(
        out,
        "0|{name}|{}|{t}{}|{}|{}|{}|{}|{}|{}|{}",
        e.inode,
        e.mode_string(),
        e.uid,
        e.gid,
        e.size,
        s(1),
        s(0),
        s(2),
        s(3)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o4755)).unwrap();
        assert_eq!(mode_string(&std::fs::metadata(&f).unwrap()), "-rwsr-xr-x");
    }
}
