//! Opening OpenClaw's SQLite databases without changing them.
//!
//! A plain read-only open of a WAL database may *create* `-wal` and `-shm`
//! files (as root, SQLite even `fchown`s them to the database's owner),
//! write read marks into `-shm`, and a read-write one may checkpoint and
//! delete the WAL, where the most recent (and recently deleted) rows live.
//! Every command that examines a host therefore uses [`open_isolated`]:
//!
//! - no `-wal` beside the file: open with `immutable=1` (nothing is written,
//!   nothing is missed);
//! - a `-wal`: copy the database and its WAL into a private temp dir and
//!   open the copy, so SQLite's recovery runs on the copy and the host's
//!   files keep their bytes, size and ctime.
//!
//! The one exception is [`open_readonly`], for collect's backup-API snapshot
//! of a database a *running* gateway is writing: a copy of a live WAL
//! database is not consistent, and the gateway rewrites its `-shm` all the
//! time anyway, so there a `mode=ro` reader (taking part in the WAL locking
//! protocol) is the only way to a consistent snapshot. The raw files are
//! collected before it.
//!
//! Symlinks are never followed (`SQLITE_OPEN_NOFOLLOW`) and the connection
//! runs in defensive mode, since the file may be crafted.
//!
//! A copy ([`Snapshot`]) is shared by every later open of the same file in
//! the process while someone holds it and the file and its WAL are
//! unchanged: a 100,000-event agent database and its WAL are hundreds of
//! MB, and discovery, the hunt and the hunt's chain join each copied them
//! again (most of what a hunt of the SQLite layout spent beyond the
//! regexes). Discovery keeps each database's snapshot
//! ([`crate::openclaw::layout::Database::snapshot`]) for the command.

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

/// A read-only connection, and the copy it reads when one was needed.
pub struct ReadOnlyDb {
    pub conn: Connection,
    copy: Option<Arc<Snapshot>>,
}

impl ReadOnlyDb {
    /// The copy it reads, to keep for later opens of the same file.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.copy.clone()
    }
}

/// A private copy of a WAL database and its WAL, removed with its last
/// holder.
#[derive(Debug)]
pub struct Snapshot {
    dir: tempfile::TempDir,
    /// What the original and its WAL were when they were copied.
    of: (FileId, FileId),
}

/// What says a file is unchanged: its inode, size, and change times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileId {
    fn of(p: &Path) -> Result<FileId> {
        use std::os::unix::fs::MetadataExt;
        let m = crate::safefs::lstat(p)?.with_context(|| format!("{} vanished", p.display()))?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

/// The copies of this process, by original path; a copy lives as long as
/// a connection or a discovered [`crate::openclaw::layout::Database`]
/// holds it.
static SNAPSHOTS: Mutex<Vec<(PathBuf, Weak<Snapshot>)>> = Mutex::new(Vec::new());

/// A live copy of `path` taken when it and its WAL were `of`.
fn shared(path: &Path, of: (FileId, FileId)) -> Option<Arc<Snapshot>> {
    let mut all = SNAPSHOTS.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|(_, w)| w.strong_count() > 0);
    all.iter()
        .filter(|(p, _)| p == path)
        .filter_map(|(_, w)| w.upgrade())
        .find(|s| s.of == of)
}

fn sidecar(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Percent-encodes a path for an SQLite `file:` URI.
fn uri_path(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in p.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn open_uri(uri: &str) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_NOFOLLOW;
    let c = Connection::open_with_flags(uri, flags)?;
    c.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    c.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA,
        false,
    )?;
    c.busy_timeout(std::time::Duration::from_secs(2))?;
    Ok(c)
}

/// Opens a database a running gateway is writing, for a consistent
/// snapshot (see the module docs: never for a stopped gateway's files).
pub fn open_readonly(path: &Path) -> Result<ReadOnlyDb> {
    let meta = crate::safefs::lstat(path)?
        .with_context(|| format!("{} does not exist", path.display()))?;
    if !meta.file_type().is_file() {
        bail!(
            "{} is a {}, not a database file; not opened",
            crate::sanitize::escape_path(path),
            crate::safefs::type_name(meta.file_type())
        );
    }
    let wal = sidecar(path, "-wal");
    let shm = sidecar(path, "-shm");
    let has_wal = crate::safefs::lstat(&wal)?.is_some_and(|m| m.len() > 0);
    let has_shm = crate::safefs::lstat(&shm)?.is_some();
    let ctx = || format!("opening {} read-only", crate::sanitize::escape_path(path));
    if !has_wal {
        let conn = open_uri(&format!("file:{}?immutable=1", uri_path(path))).with_context(ctx)?;
        return Ok(ReadOnlyDb { conn, copy: None });
    }
    if has_shm && let Ok(conn) = open_uri(&format!("file:{}?mode=ro", uri_path(path))) {
        // The open is lazy: make sure the WAL can really be read.
        if conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .is_ok()
        {
            return Ok(ReadOnlyDb { conn, copy: None });
        }
    }
    open_copy(path, &wal)
}

/// Opens a private copy of a database and its WAL (taken now, or shared:
/// see the module docs), so SQLite's WAL recovery runs there and never on
/// the original.
fn open_copy(path: &Path, wal: &Path) -> Result<ReadOnlyDb> {
    let of = (FileId::of(path)?, FileId::of(wal)?);
    let snap = match shared(path, of) {
        Some(s) => s,
        None => {
            let s = Arc::new(take_copy(path, wal, of)?);
            let mut all = SNAPSHOTS.lock().unwrap_or_else(|p| p.into_inner());
            all.push((path.to_path_buf(), Arc::downgrade(&s)));
            s
        }
    };
    let copy = snap.dir.path().join("db.sqlite");
    let conn = Connection::open_with_flags(
        &copy,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening a copy of {}", path.display()))?;
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    // The copy is thrown away: checkpointing its WAL into it on close
    // would write the whole WAL again (and sync it) for nothing.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    Ok(ReadOnlyDb {
        conn,
        copy: Some(snap),
    })
}

/// Copies a database and its WAL, which were `of`, into a private temp dir.
fn take_copy(path: &Path, wal: &Path, of: (FileId, FileId)) -> Result<Snapshot> {
    let dir = tempfile::Builder::new()
        .prefix("ir-sqlite-")
        .tempdir()
        .context("creating a temp dir for a database copy")?;
    let copy = dir.path().join("db.sqlite");
    copy_regular(path, &copy)?;
    copy_regular(wal, &sidecar(&copy, "-wal"))?;
    Ok(Snapshot { dir, of })
}

/// Opens a database so that the original is never touched at all, not even
/// its `-shm`: `immutable=1` when there is no WAL, else a private copy of the
/// database and its WAL (recovery then runs on the copy).
pub fn open_isolated(path: &Path) -> Result<ReadOnlyDb> {
    let meta = crate::safefs::lstat(path)?
        .with_context(|| format!("{} does not exist", path.display()))?;
    if !meta.file_type().is_file() {
        bail!(
            "{} is not a regular file; not opened",
            crate::sanitize::escape_path(path)
        );
    }
    let wal = sidecar(path, "-wal");
    if crate::safefs::lstat(&wal)?.is_none_or(|m| m.len() == 0) {
        let conn = open_uri(&format!("file:{}?immutable=1", uri_path(path)))
            .with_context(|| format!("opening {} read-only", path.display()))?;
        return Ok(ReadOnlyDb { conn, copy: None });
    }
    open_copy(path, &wal)
}

fn copy_regular(from: &Path, to: &Path) -> Result<()> {
    let (mut src, _) = crate::safefs::open_regular(from)?;
    let mut dst = std::fs::File::create(to)?;
    std::io::copy(&mut src, &mut dst).with_context(|| format!("copying {}", from.display()))?;
    Ok(())
}

/// Whether a table exists.
pub fn has_table(c: &Connection, name: &str) -> bool {
    c.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |_| Ok(()),
    )
    .is_ok()
}

/// Opens `db` read-write (never through a symlink) and takes its write
/// lock (`BEGIN IMMEDIATE`) before anything changes, waiting briefly; a
/// live writer makes the caller refuse with nothing changed, so `refusal`
/// says what was not done and how to go on.
pub fn lock_for_write(db: &Path, refusal: &str) -> Result<Connection> {
    let c = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NOFOLLOW,
    )?;
    c.busy_timeout(std::time::Duration::from_millis(1500))?;
    if let Err(e) = c.execute_batch("BEGIN IMMEDIATE") {
        return Err(crate::exit::Refused(format!(
            "{} is locked by another writer ({e}); {refusal}",
            db.display()
        ))
        .into());
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(db: &ReadOnlyDb) -> i64 {
        db.conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_copy_is_shared_while_held_and_the_file_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.sqlite");
        let w = Connection::open(&p).unwrap();
        w.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1);")
            .unwrap();
        let a = open_isolated(&p).unwrap();
        let b = open_isolated(&p).unwrap();
        let (sa, sb) = (a.snapshot().unwrap(), b.snapshot().unwrap());
        assert!(Arc::ptr_eq(&sa, &sb));
        assert_eq!(count(&b), 1);
        // The WAL grew: a new copy, with the new row.
        w.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let c = open_isolated(&p).unwrap();
        assert!(!Arc::ptr_eq(&sa, &c.snapshot().unwrap()));
        assert_eq!(count(&c), 2);
        // The copy goes with its last holder.
        let copy_dir = sa.dir.path().to_path_buf();
        drop((a, b, sa, sb));
        assert!(!copy_dir.exists());
    }
}
