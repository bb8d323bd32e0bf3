//! Writing a bundle's members out (`ir extract`), safely.
//!
//! The archive's names are attacker-influenced (they come from the host), so
//! extraction accepts only relative paths below the bundle's top folder,
//! never writes or links through a symlink (each component is checked
//! without following it), creates no device, FIFO or setuid bit, writes
//! files 600 and the holes of sparse files as holes, and stops before the
//! output's filesystem fills.

use super::read::Sink;
use super::tarr::{Kind, Member};
use crate::record::FileKind;
use crate::sanitize::{escape_bytes, unescape_bytes};
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// `dir/rel` when no directory between `dir` and the last component is a
/// symlink (each is checked without following it), so nothing reached
/// through it lies outside `dir`.
fn no_link_below(dir: &Path, rel: &Path) -> Result<PathBuf> {
    let mut cur = dir.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for (i, c) in parts.iter().enumerate() {
        cur.push(c);
        if i + 1 < parts.len() {
            let m = std::fs::symlink_metadata(&cur)
                .with_context(|| format!("{} is missing", cur.display()))?;
            if !m.file_type().is_dir() {
                bail!(
                    "{} is not a real directory (a symlink?): refused",
                    cur.display()
                );
            }
        }
    }
    Ok(cur)
}

/// Room `extract` leaves free on the output's filesystem.
const EXTRACT_RESERVE: u64 = 64 << 20;

/// Writes entries under a fresh directory, safely.
pub struct Extractor {
    pub dir: PathBuf,
    /// Directories and their times, set last.
    dirs: Vec<Stamp>,
}

impl Extractor {
    pub fn new(dir: PathBuf) -> Extractor {
        Extractor {
            dir,
            dirs: Vec::new(),
        }
    }

    /// Creates every missing parent of `rel` as a real directory, refusing
    /// any that exists as something else (a symlink above all).
    fn parents(&self, rel: &Path) -> Result<PathBuf> {
        let mut cur = self.dir.clone();
        if let Some(parent) = rel.parent() {
            for c in parent.components() {
                cur.push(c);
                match std::fs::symlink_metadata(&cur) {
                    Ok(m) if m.file_type().is_dir() => {}
                    Ok(_) => bail!("{} would be written through a non-directory", cur.display()),
                    Err(_) => std::fs::DirBuilder::new()
                        .mode(0o700)
                        .create(&cur)
                        .with_context(|| format!("creating {}", cur.display()))?,
                }
            }
        }
        Ok(self.dir.join(rel))
    }

    /// A hard link to a regular file extracted before it, reached without
    /// going through any symlink.
    fn hard_link(&self, m: &Member, dst: &Path) -> Result<()> {
        let target = m.link.as_deref().unwrap_or_default();
        let trel = target
            .iter()
            .position(|b| *b == b'/')
            .map(|i| &target[i + 1..])
            .unwrap_or_default();
        let src = no_link_below(&self.dir, &safe_rel(trel)?)?;
        let md = std::fs::symlink_metadata(&src)
            .with_context(|| format!("hard link target {} missing", src.display()))?;
        if !md.file_type().is_file() {
            bail!("hard link to {} which is not a regular file", src.display());
        }
        Ok(std::fs::hard_link(&src, dst)?)
    }

    /// A regular file, 600, hashed as written. A sparse member's holes are
    /// skipped (seeked over), so they take no disk space.
    fn file(
        &self,
        rel: &[u8],
        m: &Member,
        e: &mut dyn Read,
        hasher: &mut Sha256,
        dst: &Path,
    ) -> Result<()> {
        // Never fill the disk: what is stored must fit with room to spare.
        if let Some(free) = crate::evidence::collect::free_bytes(&self.dir)
            && m.stored.saturating_add(EXTRACT_RESERVE) > free
        {
            bail!(
                "{} is {} bytes but {} has {free} bytes free: extraction stopped",
                escape_bytes(rel),
                m.stored,
                self.dir.display()
            );
        }
        let mut f = create_private(dst)?;
        if m.size == 0 {
            return Ok(());
        }
        let mut buf = vec![0u8; (1 << 16).min(m.size as usize)];
        let mut regions = m.sparse.as_deref().map(|r| r.iter().peekable());
        let mut pos = 0u64;
        loop {
            let n = e.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            // A read never spans a hole and a region, so a read that starts
            // before the next region is all hole.
            let hole = regions.as_mut().is_some_and(|r| {
                while r.next_if(|(o, l)| o + l <= pos).is_some() {}
                r.peek().is_none_or(|(o, _)| pos < *o)
            });
            if hole {
                f.seek(io::SeekFrom::Current(n as i64))?;
            } else {
                f.write_all(&buf[..n])?;
            }
            pos += n as u64;
        }
        if m.sparse.is_some() {
            f.set_len(m.size)?; // a trailing hole
        }
        Ok(())
    }

    /// Sets the times of directories, whose items were kept as they passed
    /// ([`Sink::item`] sets files' times at once), deepest first so that
    /// their times survive their children.
    pub fn finish_times(&mut self) {
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by_key(|(p, _, _)| std::cmp::Reverse(p.components().count()));
        for (p, m, a) in dirs {
            set_times(&p, m, a);
        }
    }
}

/// Checks that a bundle-relative path is a plain relative path.
pub fn safe_rel(rel: &[u8]) -> Result<PathBuf> {
    let p = Path::new(std::ffi::OsStr::from_bytes(rel));
    if rel.is_empty() || rel.contains(&0) {
        bail!("empty or NUL-bearing path");
    }
    for c in p.components() {
        match c {
            Component::Normal(_) => {}
            _ => bail!(
                "unsafe path {} (absolute, or with . or ..)",
                escape_bytes(rel)
            ),
        }
    }
    Ok(p.to_path_buf())
}

/// Creates a new file, 600, refusing an existing name or a symlink.
fn create_private(dst: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(dst)
        .with_context(|| format!("creating {}", dst.display()))
}

impl Sink for Extractor {
    /// Sets a file's times from its item (nanoseconds); a directory's wait
    /// for [`Extractor::finish_times`].
    fn item(&mut self, it: &crate::record::ManifestItem) {
        let Some((p, m, a)) = item_times(&self.dir, it) else {
            return;
        };
        if it.kind == Some(FileKind::Dir) {
            self.dirs.push((p, m, a));
        } else {
            set_times(&p, m, a);
        }
    }

    fn manifest(&mut self, rel: &[u8]) -> Result<Option<Box<dyn Write>>> {
        let dst = self.dir.join(safe_rel(rel)?);
        Ok(Some(Box::new(io::BufWriter::new(create_private(&dst)?))))
    }

    fn entry(
        &mut self,
        rel: &[u8],
        m: &Member,
        e: &mut dyn Read,
        hasher: &mut Sha256,
    ) -> Result<()> {
        if rel.is_empty() {
            return Ok(());
        }
        let relp = safe_rel(rel)?;
        let dst = self.parents(&relp)?;
        match m.kind {
            Kind::Dir => match std::fs::symlink_metadata(&dst) {
                Ok(md) if md.file_type().is_dir() => Ok(()),
                Ok(_) => bail!("{} exists and is not a directory", dst.display()),
                Err(_) => Ok(std::fs::DirBuilder::new().mode(0o700).create(&dst)?),
            },
            // The link is recreated as data; nothing is ever written through it.
            Kind::Symlink => {
                let target = m.link.as_deref().unwrap_or_default();
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), &dst)
                    .with_context(|| format!("creating the symlink {}", dst.display()))
            }
            Kind::Hardlink => self.hard_link(m, &dst),
            Kind::File => self.file(rel, m, e, hasher, &dst),
            // Devices, FIFOs and anything else are never created.
            _ => Ok(()),
        }
    }
}

type Stamp = (PathBuf, std::time::SystemTime, std::time::SystemTime);

/// Where an item was extracted and its mtime and atime, for a file or a
/// directory reached without any symlink.
fn item_times(dir: &Path, it: &crate::record::ManifestItem) -> Option<Stamp> {
    let parse = |v: Option<&str>| {
        v.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(std::time::SystemTime::from)
    };
    if !matches!(it.kind, Some(FileKind::File | FileKind::Dir)) {
        return None;
    }
    let m = parse(it.mtime.as_deref())?;
    let raw = unescape_bytes(it.archive_path.as_deref()?)?;
    let raw = raw.strip_suffix(b"/").unwrap_or(&raw);
    let p = no_link_below(dir, &safe_rel(raw).ok()?).ok()?;
    Some((p, m, parse(it.atime.as_deref()).unwrap_or(m)))
}

/// Sets a file's times through a descriptor opened without following a
/// final symlink.
fn set_times(p: &Path, m: std::time::SystemTime, a: std::time::SystemTime) {
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(p);
    if let Ok(f) = opened {
        let _ = f.set_times(std::fs::FileTimes::new().set_modified(m).set_accessed(a));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unsafe_paths_are_refused() {
        assert!(safe_rel(b"files/etc/passwd").is_ok());
        assert!(safe_rel(b"../x").is_err());
        assert!(safe_rel(b"/etc/x").is_err());
        assert!(safe_rel(b"a/../../x").is_err());
        assert!(safe_rel(b"").is_err());
    }

    #[test]
    fn nothing_is_reached_through_a_symlinked_dir() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("real")).unwrap();
        std::os::unix::fs::symlink("/etc", d.path().join("e")).unwrap();
        assert!(no_link_below(d.path(), Path::new("real/x")).is_ok());
        assert!(no_link_below(d.path(), Path::new("e/passwd")).is_err());
        assert!(
            no_link_below(d.path(), Path::new("e")).is_ok(),
            "the last component itself is the caller's to judge"
        );
    }

    proptest! {
        #[test]
        fn safe_rel_never_escapes(b in proptest::collection::vec(any::<u8>(), 0..60)) {
            if let Ok(p) = safe_rel(&b) {
                prop_assert!(p.is_relative());
                prop_assert!(p.components().all(|c| matches!(c, Component::Normal(_))));
            }
        }
    }
}
