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

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// A read-only connection, and the temp dir of a copy when one was needed.
pub struct ReadOnlyDb {
    pub conn: Connection,
    _copy: Option<tempfile::TempDir>,
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
        return Ok(ReadOnlyDb { conn, _copy: None });
    }
    if has_shm && let Ok(conn) = open_uri(&format!("file:{}?mode=ro", uri_path(path))) {
        // The open is lazy: make sure the WAL can really be read.
        if conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .is_ok()
        {
            return Ok(ReadOnlyDb { conn, _copy: None });
        }
    }
    open_copy(path, &wal)
}

/// Copies a database and its WAL into a private temp dir and opens the copy,
/// so SQLite's WAL recovery runs there and never on the original.
fn open_copy(path: &Path, wal: &Path) -> Result<ReadOnlyDb> {
    let dir = tempfile::Builder::new()
        .prefix("ir-sqlite-")
        .tempdir()
        .context("creating a temp dir for a database copy")?;
    let copy = dir.path().join("db.sqlite");
    copy_regular(path, &copy)?;
    copy_regular(wal, &sidecar(&copy, "-wal"))?;
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
        _copy: Some(dir),
    })
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
        return Ok(ReadOnlyDb { conn, _copy: None });
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
