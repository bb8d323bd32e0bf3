//! Reading and writing files on a hostile host.
//!
//! Every read of a host file goes through here: the final component is never
//! followed if it is a symlink (`O_NOFOLLOW`), a FIFO cannot block us
//! (`O_NONBLOCK`), access times are left alone where the kernel lets us
//! (`O_NOATIME`), the handle is `fstat`ed so what we read is what we checked,
//! and every read is bounded. Writes of our own outputs are atomic: a temp
//! file in the destination directory, fsync, rename.

use anyhow::{Context, Result, bail};
use rustix::fs::{Mode, OFlags};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Why a bounded read did not return the file's content.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0} is a symlink; not followed")]
    Symlink(String),
    #[error("{0} is not a regular file ({1})")]
    NotRegular(String, &'static str),
    #[error("{0} is larger than {1} bytes; not read")]
    TooLarge(String, u64),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

impl ReadError {
    /// True when the file simply does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(_, e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// A short name for a file type, for messages (the one vocabulary of
/// [`crate::record::FileKind`]).
pub fn type_name(ft: std::fs::FileType) -> &'static str {
    crate::record::FileKind::from_file_type(ft).words()
}

/// Opens a file for reading without following a final symlink, without
/// blocking on FIFOs and, where permitted, without touching its atime.
pub fn open_nofollow(path: &Path) -> std::io::Result<File> {
    let base = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(path, base | OFlags::NOATIME, Mode::empty()) {
        // O_NOATIME is refused on files we do not own unless we have CAP_FOWNER.
        Err(rustix::io::Errno::PERM) => rustix::fs::open(path, base, Mode::empty()),
        other => other,
    }
    .map_err(std::io::Error::from)?;
    Ok(File::from(fd))
}

/// Opens a regular file safely (see [`open_nofollow`]) and checks, on the
/// handle, that it is a regular file.
pub fn open_regular(path: &Path) -> Result<(File, std::fs::Metadata), ReadError> {
    let shown = crate::sanitize::escape_path(path);
    let file = open_nofollow(path).map_err(|e| {
        if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            ReadError::Symlink(shown.clone())
        } else {
            ReadError::Io(shown.clone(), e)
        }
    })?;
    let meta = file
        .metadata()
        .map_err(|e| ReadError::Io(shown.clone(), e))?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular(shown, type_name(meta.file_type())));
    }
    Ok((file, meta))
}

/// Reads a whole regular file of at most `max` bytes.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let (file, meta) = open_regular(path)?;
    let shown = || crate::sanitize::escape_path(path);
    if meta.len() > max {
        return Err(ReadError::TooLarge(shown(), max));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    // take(max + 1): a file that grew past the cap since fstat is still caught.
    file.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ReadError::Io(shown(), e))?;
    if buf.len() as u64 > max {
        return Err(ReadError::TooLarge(shown(), max));
    }
    Ok(buf)
}

/// Reads a pseudo-file (procfs) of unknown size, up to `max` bytes; longer
/// content is cut, never an error, because `/proc` files can stream forever.
pub fn read_pseudo(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let file = open_nofollow(path)?;
    let mut buf = Vec::new();
    file.take(max).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Reads a UTF-8 text file of at most `max` bytes.
pub fn read_text(path: &Path, max: u64) -> Result<String> {
    let bytes = read_bounded(path, max)?;
    String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not valid UTF-8", crate::sanitize::escape_path(path)))
}

/// `lstat` that reports "absent" as `None` rather than as an error.
pub fn lstat(path: &Path) -> std::io::Result<Option<std::fs::Metadata>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `data` to `path` atomically with the given mode: a temp file in
/// the same directory, fsync, rename, fsync of the directory. A killed run
/// leaves either the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    write_then_rename(path, data, mode, |_| Ok(()))
}

/// Replaces an existing file atomically, keeping its owner and group (we
/// may run as root on a user's file) and setting `mode`. The original must
/// be a regular file, not a symlink. If anything fails (no space, no
/// permission), the original is left exactly as it was.
pub fn replace_file(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let meta = lstat(path)?.with_context(|| format!("{} does not exist", path.display()))?;
    if !meta.file_type().is_file() {
        bail!(
            "{} is a {}, not a regular file; not replaced",
            path.display(),
            type_name(meta.file_type())
        );
    }
    write_then_rename(path, data, mode, |f| {
        if rustix::process::geteuid().is_root() {
            rustix::fs::fchown(
                f,
                Some(rustix::fs::Uid::from_raw(meta.uid())),
                Some(rustix::fs::Gid::from_raw(meta.gid())),
            )?;
        }
        Ok(())
    })
}

/// The one way `ir` writes a file in place: a temp file beside it (mode
/// 600 until finished), `prepare` on its handle, fsync, the exact mode
/// (the builder's is filtered by the umask), rename, fsync of the dir.
fn write_then_rename(
    path: &Path,
    data: &[u8],
    mode: u32,
    prepare: impl FnOnce(&File) -> Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".ir-tmp-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .with_context(|| format!("creating a temp file beside {}", path.display()))?;
    tmp.write_all(data)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    prepare(tmp.as_file())?;
    rustix::fs::fchmod(tmp.as_file(), Mode::from_raw_mode(mode))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming into {}", path.display()))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates a directory (and parents) with mode 700 if it does not exist, and
/// refuses one that exists but is not a directory or is a symlink.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    match lstat(dir)? {
        Some(m) if m.file_type().is_dir() => Ok(()),
        Some(m) => bail!(
            "{} exists but is a {}, not a directory",
            dir.display(),
            type_name(m.file_type())
        ),
        None => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("creating {}", dir.display()))?;
            Ok(())
        }
    }
}

use std::os::unix::fs::DirBuilderExt;

/// Reads lines of at most `max` bytes; yields (offset, bytes without the
/// newline, terminated). A longer line is an `InvalidData` error, not an
/// allocation, and is skipped whole: the next item is the next line.
pub fn bounded_lines(
    r: impl Read,
    max: usize,
) -> impl Iterator<Item = std::io::Result<(u64, Vec<u8>, bool)>> {
    use std::io::BufRead;
    let mut r = std::io::BufReader::with_capacity(1 << 16, r);
    let mut off = 0u64;
    std::iter::from_fn(move || {
        let mut line = Vec::new();
        match (&mut r).take(max as u64 + 1).read_until(b'\n', &mut line) {
            Ok(0) => None,
            Ok(n) => {
                let start = off;
                off += n as u64;
                let terminated = line.last() == Some(&b'\n');
                if terminated {
                    line.pop();
                } else if line.len() > max {
                    // Skip the rest of the line, so a reader that goes on
                    // past it (`InvalidData`) starts at the next one.
                    let skipped = r.skip_until(b'\n').unwrap_or(0);
                    off += skipped as u64;
                    return Some(Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "line at byte {start} is longer than {max} bytes ({} bytes)",
                            n + skipped
                        ),
                    )));
                }
                Some(Ok((start, line, terminated)))
            }
            Err(e) => Some(Err(e)),
        }
    })
}

/// The mode bits of a metadata, without the file type.
pub fn mode_bits(m: &std::fs::Metadata) -> u32 {
    m.mode() & 0o7777
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_symlink_and_fifo_and_large() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, b"hello").unwrap();
        std::os::unix::fs::symlink(&f, d.path().join("l")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            d.path().join("p"),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert_eq!(read_bounded(&f, 10).unwrap(), b"hello");
        assert!(matches!(
            read_bounded(&d.path().join("l"), 10),
            Err(ReadError::Symlink(_))
        ));
        assert!(matches!(
            read_bounded(&d.path().join("p"), 10),
            Err(ReadError::NotRegular(..))
        ));
        assert!(matches!(read_bounded(&f, 3), Err(ReadError::TooLarge(..))));
    }

    #[test]
    fn atomic_write_sets_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out");
        write_atomic(&p, b"x", 0o600).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
    }
}
