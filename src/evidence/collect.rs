//! `ir collect`: one streaming pass from the host into an encrypted bundle.
//!
//! tar → parallel gzip → age → SHA-256 → a temp file in the case dir. Every
//! file is opened without following links or blocking, `fstat`ed on the
//! handle, and read for exactly the size its header declares (padded or cut
//! if it changes meanwhile, and marked so), hashing what is stored. When the
//! stream is finished the temp file is read back from disk and must hash to
//! what was written; only then is it renamed to its final name. A failure
//! or Ctrl-C removes the temp file, so a file under a final bundle name is
//! always complete.
//!
//! Memory does not grow with the size of the evidence: file data streams
//! through fixed buffers, and the manifest is spooled to disk as it grows.

use super::keys::Encryption;
use super::pgzip::ParGz;
use super::scope::{self, Scope};
use super::tarw::{self, Region, Stamp};
use crate::host::Root;
use crate::openclaw::Deployment;
use crate::record::{FileKind, ManifestHeader, ManifestItem, Verdict};
use crate::sanitize::escape_bytes;
use anyhow::{Context, Result, bail};
use base64::Engine;
use globset::{Glob, GlobSet, GlobSetBuilder};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, Metadata};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use tar::EntryType;

/// How to collect.
#[derive(Debug, Clone)]
pub struct Options {
    /// gzip level, 1 (fast) to 9. The default, 5, is within 2.5% of level
    /// 6's size on transcripts at 60% of its time (zlib's level 6 searches
    /// match chains four times longer); see the README's benchmark.
    pub level: u32,
    pub threads: usize,
    /// Files larger than this are stored cut at this size.
    pub max_file_size: u64,
    /// Stay on the filesystem of each root.
    pub one_file_system: bool,
    /// Globs on host paths to leave out.
    pub excludes: Vec<String>,
    /// Extra roots (host paths).
    pub add: Vec<PathBuf>,
    /// Draw a progress bar on stderr (only drawn when it is a TTY).
    pub progress: bool,
    /// Refuse to start when the case dir's filesystem looks too small.
    pub check_space: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            level: 5,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_file_size: 2 << 30,
            one_file_system: true,
            excludes: Vec::new(),
            add: Vec::new(),
            progress: false,
            check_space: true,
        }
    }
}

/// How each item was read.
pub const VERDICTS: [Verdict; 6] = Verdict::ALL;

pub use crate::record::Tally;

/// What a collection produced: the record `ir collect` journals.
pub type Summary = crate::record::CollectRecord;

/// Counts bytes and hashes them on their way to the file.
pub struct HashWriter<W: Write> {
    pub inner: W,
    pub hasher: Sha256,
    pub len: u64,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(b)?;
        self.hasher.update(&b[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type Sink = HashWriter<BufWriter<File>>;
type Out = ParGz<age::stream::StreamWriter<Sink>>;

/// RFC 3339 UTC with nanoseconds from seconds and nanoseconds.
pub fn ts(secs: i64, ns: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(secs, ns.clamp(0, 999_999_999) as u32)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
}

fn birth(m: &Metadata) -> Option<String> {
    let d = m
        .created()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    ts(d.as_secs() as i64, i64::from(d.subsec_nanos()))
}

fn stamp(m: &Metadata) -> Stamp {
    Stamp {
        mode: m.mode(),
        uid: u64::from(m.uid()),
        gid: u64::from(m.gid()),
        mtime: (m.mtime(), m.mtime_nsec()),
        atime: (m.atime(), m.atime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    }
}

/// The verdict an open/read error maps to.
fn io_verdict(e: &io::Error) -> Verdict {
    match e.kind() {
        io::ErrorKind::NotFound => Verdict::Vanished,
        _ if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            Verdict::ChangedDuringRead
        }
        _ => Verdict::Denied,
    }
}

/// Escapes a name for a `sha256sum` line the way coreutils does.
pub fn sha256sum_line(hex: &str, name: &[u8]) -> Vec<u8> {
    let needs = name.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r'));
    let mut l = Vec::with_capacity(name.len() + 70);
    if needs {
        l.push(b'\\');
    }
    l.extend_from_slice(hex.as_bytes());
    l.extend_from_slice(b"  ");
    for &b in name {
        match (needs, b) {
            (true, b'\\') => l.extend_from_slice(b"\\\\"),
            (true, b'\n') => l.extend_from_slice(b"\\n"),
            (true, b'\r') => l.extend_from_slice(b"\\r"),
            _ => l.push(b),
        }
    }
    l.push(b'\n');
    l
}

static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

fn hash_zeros(h: &mut Sha256, mut n: u64) {
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        h.update(&ZEROS[..k]);
        n -= k as u64;
    }
}

/// Reads exactly `left` bytes from a file, padding with zeros if it ends
/// early, hashing what it yields. It never fails, except on interruption:
/// a failed read mid-entry would leave the archive corrupt.
struct Exact<'a> {
    file: &'a File,
    left: u64,
    hasher: &'a mut Sha256,
    short: &'a mut Option<String>,
    since_check: usize,
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        self.since_check += buf.len();
        if self.since_check > (8 << 20) {
            self.since_check = 0;
            if crate::signal::interrupted() {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "interrupted by a signal",
                ));
            }
        }
        let n = (buf.len() as u64).min(self.left) as usize;
        let mut got = 0;
        if self.short.is_none() {
            loop {
                match (&*self.file).read(&mut buf[..n]) {
                    Ok(k) => {
                        got = k;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        *self.short = Some(format!("read error: {e}"));
                        break;
                    }
                }
            }
            if got == 0 && self.short.is_none() {
                *self.short = Some("the file shrank while it was read".into());
            }
        }
        if got == 0 {
            buf[..n].fill(0);
            got = n;
        }
        self.hasher.update(&buf[..got]);
        self.left -= got as u64;
        Ok(got)
    }
}

/// The data regions of a sparse file within `[0, upto)`, or `None` when it
/// is not sparse (or the filesystem cannot tell).
fn sparse_regions(file: &File, meta: &Metadata, upto: u64) -> Option<Vec<Region>> {
    use rustix::fs::SeekFrom;
    if upto == 0 || meta.blocks() * 512 >= upto {
        return None;
    }
    let mut regions = Vec::new();
    let mut off = 0u64;
    while off < upto {
        let data = match rustix::fs::seek(file, SeekFrom::Data(off)) {
            Ok(d) => d,
            Err(rustix::io::Errno::NXIO) => break,
            Err(_) => return None,
        };
        if data >= upto {
            break;
        }
        let hole = rustix::fs::seek(file, SeekFrom::Hole(data)).ok()?.min(upto);
        if hole <= data {
            return None;
        }
        regions.push((data, hole - data));
        off = hole;
        if regions.len() > 100_000 {
            return None; // pathological fragmentation: read it plainly
        }
    }
    let _ = (&*file).seek(io::SeekFrom::Start(0));
    Some(regions)
}

/// Yields the bytes of each region in turn (each exactly its length) and
/// hashes the logical content, holes included.
struct Sparse<'a> {
    file: &'a File,
    regions: std::vec::IntoIter<Region>,
    cur: Option<(u64, u64)>, // (offset of next byte, bytes left in region)
    pos: u64,                // logical bytes hashed so far
    end: u64,
    hasher: &'a mut Sha256,
    short: &'a mut Option<String>,
}

impl Read for Sparse<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if crate::signal::interrupted() {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "interrupted by a signal",
            ));
        }
        loop {
            if let Some((off, left)) = self.cur
                && left > 0
            {
                let n = (buf.len() as u64).min(left) as usize;
                let got = if self.short.is_some() {
                    0
                } else {
                    rustix::io::pread(self.file, &mut buf[..n], off).unwrap_or(0)
                };
                let got = if got == 0 {
                    if self.short.is_none() {
                        *self.short = Some("the file shrank while it was read".into());
                    }
                    buf[..n].fill(0);
                    n
                } else {
                    got
                };
                self.hasher.update(&buf[..got]);
                self.pos = off + got as u64;
                self.cur = Some((off + got as u64, left - got as u64));
                return Ok(got);
            }
            match self.regions.next() {
                Some((off, len)) => {
                    hash_zeros(self.hasher, off.saturating_sub(self.pos));
                    self.pos = off;
                    self.cur = Some((off, len));
                }
                None => {
                    hash_zeros(self.hasher, self.end.saturating_sub(self.pos));
                    self.pos = self.end;
                    return Ok(0);
                }
            }
        }
    }
}

struct Collector<'a> {
    tar: tar::Builder<Out>,
    top: String,
    root: &'a Root,
    opts: &'a Options,
    excludes: GlobSet,
    items: BufWriter<tempfile::NamedTempFile>,
    sums: BufWriter<tempfile::NamedTempFile>,
    n_items: u64,
    seen: HashSet<PathBuf>,
    links: HashMap<(u64, u64), (Vec<u8>, String)>,
    verdicts: BTreeMap<Verdict, Tally>,
    progress: Option<indicatif::ProgressBar>,
}

/// Why a walk entry is collected, attached to its manifest item.
struct Item<'a> {
    host: &'a Path,
    why: &'static str,
}

impl Collector<'_> {
    fn archive_path(&self, host: &Path) -> Vec<u8> {
        let mut p = format!("{}/files/", self.top).into_bytes();
        p.extend_from_slice(
            host.as_os_str()
                .as_bytes()
                .strip_prefix(b"/")
                .unwrap_or(host.as_os_str().as_bytes()),
        );
        p
    }

    fn rel(&self, archive: &[u8]) -> Vec<u8> {
        archive[self.top.len() + 1..].to_vec()
    }

    fn tally(&mut self, verdict: Verdict, bytes: u64) {
        let t = self.verdicts.entry(verdict).or_default();
        t.count += 1;
        t.bytes += bytes;
    }

    fn record(&mut self, mut v: ManifestItem, verdict: Verdict, stored: u64) -> Result<()> {
        v.verdict = verdict;
        self.tally(verdict, stored);
        if self.n_items > 0 {
            self.items.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut self.items, &v)?;
        self.n_items += 1;
        Ok(())
    }

    fn base(&self, it: &Item, archive: Option<&[u8]>, m: Option<&Metadata>) -> ManifestItem {
        let raw = it.host.as_os_str().as_bytes();
        let mut v = ManifestItem {
            path: Some(escape_bytes(raw)),
            archive_path: archive.map(|a| escape_bytes(&self.rel(a))),
            source: it.why.to_string(),
            ..ManifestItem::default()
        };
        if std::str::from_utf8(raw).is_err() {
            v.path_b64 = Some(base64::engine::general_purpose::STANDARD.encode(raw));
        }
        if let Some(m) = m {
            v.kind = Some(FileKind::from_file_type(m.file_type()));
            v.size = Some(m.len());
            v.mode = Some(format!("{:o}", m.mode() & 0o7777));
            v.uid = Some(m.uid());
            v.gid = Some(m.gid());
            v.inode = Some(m.ino());
            v.mtime = ts(m.mtime(), m.mtime_nsec());
            v.atime = ts(m.atime(), m.atime_nsec());
            v.ctime = ts(m.ctime(), m.ctime_nsec());
            v.btime = birth(m);
        }
        v
    }

    fn sum(&mut self, sha: &str, archive: &[u8]) -> Result<()> {
        let rel = self.rel(archive);
        self.sums.write_all(&sha256sum_line(sha, &rel))?;
        Ok(())
    }

    /// Adds bytes we produced (volatile state, the journal, snapshots).
    fn add_generated(&mut self, rel: &str, data: &[u8], why: &'static str) -> Result<()> {
        let archive = format!("{}/{rel}", self.top).into_bytes();
        let now = chrono::Utc::now();
        let t = (now.timestamp(), i64::from(now.timestamp_subsec_nanos()));
        let st = Stamp {
            mode: 0o600,
            uid: 0,
            gid: 0,
            mtime: t,
            atime: t,
            ctime: t,
        };
        tarw::append(
            &mut self.tar,
            &archive,
            EntryType::Regular,
            &st,
            data.len() as u64,
            None,
            None,
            data,
        )?;
        let sha = hex::encode(Sha256::digest(data));
        self.sum(&sha, &archive)?;
        let v = ManifestItem {
            path: None,
            archive_path: Some(rel.to_string()),
            source: why.to_string(),
            kind: Some(FileKind::File),
            size: Some(data.len() as u64),
            sha256: Some(sha),
            mtime: ts(t.0, t.1),
            ..ManifestItem::default()
        };
        self.record(v, Verdict::Ok, data.len() as u64)
    }

    fn excluded(&self, host: &Path) -> bool {
        !self.excludes.is_empty() && self.excludes.is_match(host)
    }

    fn walk(&mut self, scope: &Scope) -> Result<()> {
        let Some(top_meta) = crate::safefs::lstat(&scope.local).ok().flatten() else {
            return Ok(());
        };
        let host_root = self.root.host_view(&scope.local);
        if self.excluded(&host_root) {
            return Ok(());
        }
        let follow = scope.follow_root && top_meta.file_type().is_symlink();
        if follow && self.seen.insert(scope.local.clone()) {
            // Keep the link itself as evidence, then collect what it names.
            self.add_symlink(
                &scope.local,
                &Item {
                    host: &host_root,
                    why: scope.why,
                },
                &top_meta,
            )?;
        }
        let mut it = walkdir::WalkDir::new(&scope.local)
            .follow_links(false)
            .follow_root_links(follow)
            .same_file_system(self.opts.one_file_system)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = it.next() {
            crate::signal::check()?;
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let p = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| scope.local.clone());
                    let host = self.root.host_view(&p);
                    let io = e
                        .io_error()
                        .map(|x| io::Error::new(x.kind(), x.to_string()));
                    let verdict = io.as_ref().map_or(Verdict::Denied, io_verdict);
                    let mut v = self.base(
                        &Item {
                            host: &host,
                            why: scope.why,
                        },
                        None,
                        None,
                    );
                    v.error = Some(e.to_string());
                    self.record(v, verdict, 0)?;
                    continue;
                }
            };
            let local = entry.path().to_path_buf();
            let is_dir = entry.file_type().is_dir();
            let host = self.root.host_view(&local);
            if self.excluded(&host) || !self.seen.insert(local.clone()) {
                if is_dir && entry.depth() > 0 {
                    it.skip_current_dir();
                }
                continue;
            }
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    let mut v = self.base(
                        &Item {
                            host: &host,
                            why: scope.why,
                        },
                        None,
                        None,
                    );
                    v.error = Some(e.to_string());
                    let verdict = e.io_error().map_or(Verdict::Denied, io_verdict);
                    self.record(v, verdict, 0)?;
                    continue;
                }
            };
            let item = Item {
                host: &host,
                why: scope.why,
            };
            let t = meta.file_type();
            if t.is_file() {
                self.add_file(&local, &item, &meta)?;
            } else if t.is_dir() {
                self.add_dir(&item, &meta)?;
            } else if t.is_symlink() {
                self.add_symlink(&local, &item, &meta)?;
            } else {
                // FIFOs, sockets, devices: never opened, only recorded.
                let v = self.base(&item, None, Some(&meta));
                self.record(v, Verdict::SkippedSpecial, 0)?;
            }
        }
        Ok(())
    }

    /// Records an item that could not be read, with the verdict its error means.
    fn record_error(&mut self, it: &Item, m: Option<&Metadata>, e: &io::Error) -> Result<()> {
        let mut v = self.base(it, None, m);
        v.error = Some(e.to_string());
        self.record(v, io_verdict(e), 0)
    }

    fn add_dir(&mut self, it: &Item, m: &Metadata) -> Result<()> {
        let mut archive = self.archive_path(it.host);
        archive.push(b'/');
        tarw::append(
            &mut self.tar,
            &archive,
            EntryType::Directory,
            &stamp(m),
            0,
            None,
            None,
            io::empty(),
        )?;
        let v = self.base(it, Some(&archive), Some(m));
        self.record(v, Verdict::Ok, 0)
    }

    fn add_symlink(&mut self, local: &Path, it: &Item, m: &Metadata) -> Result<()> {
        let target = match std::fs::read_link(local) {
            Ok(t) => t,
            Err(e) => return self.record_error(it, Some(m), &e),
        };
        let archive = self.archive_path(it.host);
        let tb = target.as_os_str().as_bytes();
        tarw::append(
            &mut self.tar,
            &archive,
            EntryType::Symlink,
            &stamp(m),
            0,
            Some(tb),
            None,
            io::empty(),
        )?;
        let mut v = self.base(it, Some(&archive), Some(m));
        v.target = Some(escape_bytes(tb));
        self.record(v, Verdict::Ok, 0)
    }

    fn add_file(&mut self, local: &Path, it: &Item, lmeta: &Metadata) -> Result<()> {
        let file = match crate::safefs::open_nofollow(local) {
            Ok(f) => f,
            Err(e) => return self.record_error(it, Some(lmeta), &e),
        };
        let f1 = file.metadata()?;
        let mut notes: Vec<String> = Vec::new();
        if (f1.dev(), f1.ino()) != (lmeta.dev(), lmeta.ino()) {
            notes.push("replaced between listing and opening".into());
        }
        if !f1.file_type().is_file() {
            let mut v = self.base(it, None, Some(&f1));
            v.error = Some("became a special file before it was opened".into());
            return self.record(v, Verdict::SkippedSpecial, 0);
        }
        let archive = self.archive_path(it.host);
        // A second name for a file already stored: a hard link entry.
        if f1.nlink() > 1
            && let Some((first, sha)) = self.links.get(&(f1.dev(), f1.ino())).cloned()
        {
            tarw::append(
                &mut self.tar,
                &archive,
                EntryType::Link,
                &stamp(&f1),
                0,
                Some(&first),
                None,
                io::empty(),
            )?;
            let mut v = self.base(it, Some(&archive), Some(&f1));
            v.kind = Some(FileKind::Hardlink);
            v.target = Some(escape_bytes(&self.rel(&first)));
            v.sha256 = Some(sha.to_string());
            self.sum(&sha, &archive)?;
            return self.record(v, Verdict::Ok, 0);
        }
        if f1.len() == 0 && is_pseudo_fs(&file) {
            return self.add_pseudo(&file, it, &f1, &archive);
        }
        let size = f1.len();
        let want = size.min(self.opts.max_file_size);
        let mut hasher = Sha256::new();
        let mut short: Option<String> = None;
        let regions = sparse_regions(&file, &f1, want);
        let stored = match &regions {
            Some(r) => r.iter().map(|(_, l)| l).sum(),
            None => want,
        };
        if let Some(p) = &self.progress {
            p.set_message(crate::sanitize::escape_path(it.host));
        }
        let result = match regions {
            Some(r) => {
                let reader = Sparse {
                    file: &file,
                    regions: r.clone().into_iter(),
                    cur: None,
                    pos: 0,
                    end: want,
                    hasher: &mut hasher,
                    short: &mut short,
                };
                tarw::append(
                    &mut self.tar,
                    &archive,
                    EntryType::Regular,
                    &stamp(&f1),
                    stored,
                    None,
                    Some((&r, want)),
                    reader,
                )
            }
            None => {
                let reader = Exact {
                    file: &file,
                    left: want,
                    hasher: &mut hasher,
                    short: &mut short,
                    since_check: 0,
                };
                tarw::append(
                    &mut self.tar,
                    &archive,
                    EntryType::Regular,
                    &stamp(&f1),
                    want,
                    None,
                    None,
                    reader,
                )
            }
        };
        if let Err(e) = result {
            if e.kind() == io::ErrorKind::Interrupted {
                return Err(crate::exit::Interrupted.into());
            }
            return Err(e).context("writing the bundle");
        }
        if let Some(p) = &self.progress {
            p.inc(want);
        }
        let f2 = file.metadata()?;
        if let Some(s) = short {
            notes.push(s);
        }
        if f2.len() != f1.len()
            || (f2.mtime(), f2.mtime_nsec()) != (f1.mtime(), f1.mtime_nsec())
            || (f2.ctime(), f2.ctime_nsec()) != (f1.ctime(), f1.ctime_nsec())
        {
            notes.push(format!(
                "changed while it was read (size {} -> {})",
                f1.len(),
                f2.len()
            ));
        }
        let sha = hex::encode(hasher.finalize());
        let verdict = if !notes.is_empty() {
            Verdict::ChangedDuringRead
        } else if size > want {
            Verdict::TruncatedAtCap
        } else {
            Verdict::Ok
        };
        if f1.nlink() > 1 {
            self.links
                .insert((f1.dev(), f1.ino()), (archive.clone(), sha.clone()));
        }
        self.sum(&sha, &archive)?;
        let mut v = self.base(it, Some(&archive), Some(&f1));
        v.sha256 = Some(sha.to_string());
        v.stored_bytes = Some(want);
        if stored != want {
            v.sparse_data_bytes = Some(stored);
        }
        if !notes.is_empty() {
            v.error = Some(notes.join("; "));
        }
        self.record(v, verdict, want)
    }
}

/// Cap on what is read from a pseudo-file (procfs, sysfs...).
pub const PSEUDO_CAP: u64 = 5 << 20;

/// True for files on filesystems whose sizes lie (procfs, sysfs and kin
/// report 0 and may stream without end).
fn is_pseudo_fs(f: &File) -> bool {
    const MAGICS: &[i64] = &[
        0x9fa0,      // proc
        0x6265_6572, // sysfs
        0x6462_6720, // debugfs
        0x7472_6163, // tracefs
        0x7363_6673, // securityfs
        0x2762_5463, // cgroup
        0x6367_7270, // cgroup2
    ];
    rustix::fs::fstatfs(f).is_ok_and(|s| MAGICS.contains(&{ s.f_type }))
}

impl Collector<'_> {
    /// Stores what a pseudo-file yields, up to [`PSEUDO_CAP`] bytes.
    fn add_pseudo(&mut self, file: &File, it: &Item, f1: &Metadata, archive: &[u8]) -> Result<()> {
        let mut data = Vec::new();
        let mut err = None;
        if let Err(e) = file.take(PSEUDO_CAP + 1).read_to_end(&mut data) {
            err = Some(e.to_string());
        }
        let cut = data.len() as u64 > PSEUDO_CAP;
        data.truncate(PSEUDO_CAP as usize);
        tarw::append(
            &mut self.tar,
            archive,
            EntryType::Regular,
            &stamp(f1),
            data.len() as u64,
            None,
            None,
            &data[..],
        )?;
        let sha = hex::encode(Sha256::digest(&data));
        self.sum(&sha, archive)?;
        let mut v = self.base(it, Some(archive), Some(f1));
        v.sha256 = Some(sha.to_string());
        v.stored_bytes = Some(data.len() as u64);
        v.pseudo_file = Some(true);
        if let Some(e) = err {
            v.error = Some(e.to_string());
        }
        let verdict = if cut {
            Verdict::TruncatedAtCap
        } else {
            Verdict::Ok
        };
        self.record(v, verdict, data.len() as u64)
    }
}

/// Bundle file name: `incident-<host>-<UTC yyyymmddThhmmssZ>`.
pub fn bundle_stem(host: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("incident-{host}-{}", at.format("%Y%m%dT%H%M%SZ"))
}

fn build_globs(globs: &[String]) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g).map_err(|e| crate::exit::hint(format!("invalid --exclude glob {g:?}: {e}"), "globs use *, ** and ?, matched against host paths such as /home/u/.openclaw/cache/**"))?);
    }
    Ok(b.build()?)
}

/// Bytes the roots hold (what the bundle can take at worst), and file count.
fn measure(roots: &[Scope], root: &Root, ex: &GlobSet, opts: &Options) -> (u64, u64) {
    let (mut bytes, mut files) = (0u64, 0u64);
    for s in roots {
        let follow = s.follow_root;
        let mut it = walkdir::WalkDir::new(&s.local)
            .follow_links(false)
            .follow_root_links(follow)
            .same_file_system(opts.one_file_system)
            .into_iter();
        while let Some(Ok(e)) = it.next() {
            if !ex.is_empty() && ex.is_match(root.host_view(e.path())) {
                if e.file_type().is_dir() {
                    it.skip_current_dir();
                }
                continue;
            }
            if e.file_type().is_file()
                && let Ok(m) = e.metadata()
            {
                bytes += m.len().min(opts.max_file_size).min(m.blocks() * 512 + 4096);
                files += 1;
            }
        }
    }
    (bytes, files)
}

/// Refuses a case dir inside a root that would be collected.
fn check_output_location(
    case_dir: &Path,
    roots: &[Scope],
    root: &Root,
    ex: &GlobSet,
) -> Result<()> {
    let case = std::fs::canonicalize(case_dir).unwrap_or_else(|_| case_dir.to_path_buf());
    for s in roots {
        let Ok(r) = std::fs::canonicalize(&s.local) else {
            continue;
        };
        if case.starts_with(&r)
            && !(ex.is_match(root.host_view(&case)) || ex.is_match(root.host_view(case_dir)))
        {
            return Err(crate::exit::hint(
                format!(
                    "the case dir {} is inside {}, which is collected: the bundle would collect itself",
                    case.display(),
                    r.display()
                ),
                format!(
                    "use --case on another path (another disk is best), or --exclude '{}/**'",
                    root.host_view(case_dir).display()
                ),
            ));
        }
    }
    Ok(())
}

/// Free bytes for an unprivileged writer on the filesystem of `dir`.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

/// SQLite snapshots made with the online backup API, for databases a live
/// gateway may be writing: (host path, bytes). In memory, so no plaintext
/// copy touches the disk; databases over `cap` are skipped with a note.
fn snapshots(
    dep: &Deployment,
    root: &Root,
    cap: u64,
    notes: &mut Vec<String>,
) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for db in &dep.layout.databases {
        let size = std::fs::symlink_metadata(&db.path)
            .map(|m| m.len())
            .unwrap_or(0);
        if size > cap {
            notes.push(format!(
                "{} is {size} bytes: no in-memory snapshot (its raw files are collected)",
                db.path.display()
            ));
            continue;
        }
        let snap = (|| -> Result<Vec<u8>> {
            let src = crate::sqlite::open_readonly(&db.path)?;
            let mut mem = rusqlite::Connection::open_in_memory()?;
            {
                let b = rusqlite::backup::Backup::new(&src.conn, &mut mem)?;
                b.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
            }
            let data = mem.serialize(rusqlite::MAIN_DB)?;
            Ok(data.to_vec())
        })();
        match snap {
            Ok(b) => out.push((root.host_view(&db.path), b)),
            Err(e) => notes.push(format!("snapshot of {} failed: {e:#}", db.path.display())),
        }
    }
    out
}

/// Collects the deployment into a bundle in `case_dir`.
pub fn collect(
    dep: &Deployment,
    root: &Root,
    case_dir: &Path,
    enc: &Encryption,
    opts: &Options,
    journal_snapshot: &[u8],
) -> Result<Summary> {
    let excludes = build_globs(&opts.excludes)?;
    let roots = scope::roots(dep, root, &opts.add);
    check_output_location(case_dir, &roots, root, &excludes)?;
    let (input_bytes, n_files) = measure(&roots, root, &excludes, opts);
    if opts.check_space
        && let Some(free) = free_bytes(case_dir)
        && free < input_bytes + (64 << 20)
    {
        return Err(crate::exit::hint(
            format!(
                "too little free space in {}: {} MiB free, the bundle may need up to {} MiB ({n_files} files)",
                case_dir.display(),
                free >> 20,
                (input_bytes >> 20) + 64
            ),
            "put --case on a filesystem with more room (another disk is best: writing to the suspect one overwrites deleted data), or --exclude large paths",
        ));
    }

    let host = crate::journal::Identity::current().host.clone();
    let now = chrono::Utc::now();
    let stem = bundle_stem(&host, now);
    let final_path = case_dir.join(format!("{stem}.tar.gz.age"));
    if final_path.exists() {
        bail!("{} already exists", final_path.display());
    }
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{stem}.tar.gz.age.partial-"))
        .tempfile_in(case_dir)
        .with_context(|| format!("creating a temp file in {}", case_dir.display()))?;
    let sink = HashWriter {
        inner: BufWriter::with_capacity(1 << 20, tmp.reopen()?),
        hasher: Sha256::new(),
        len: 0,
    };
    let aged = match enc {
        Encryption::Recipients(rs, _) => {
            age::Encryptor::with_recipients(rs.iter().map(|r| r.as_ref() as &dyn age::Recipient))?
                .wrap_output(sink)?
        }
        Encryption::Passphrase(p) => age::Encryptor::with_user_passphrase(
            age::secrecy::SecretString::from(p.as_str().to_owned()),
        )
        .wrap_output(sink)?,
    };
    let spool = |what: &str| -> Result<BufWriter<tempfile::NamedTempFile>> {
        Ok(BufWriter::new(
            tempfile::Builder::new()
                .prefix(&format!(".{stem}.{what}-"))
                .tempfile_in(case_dir)?,
        ))
    };
    let mut tar = tar::Builder::new(ParGz::new(aged, opts.level, opts.threads));
    tar.mode(tar::HeaderMode::Complete);
    let progress =
        (opts.progress && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            let p = indicatif::ProgressBar::new(input_bytes);
            p.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bytes}/{total_bytes} {binary_bytes_per_sec} {wide_msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            p
        });
    let mut c = Collector {
        tar,
        top: stem.clone(),
        root,
        opts,
        excludes,
        items: spool("items")?,
        sums: spool("sums")?,
        n_items: 0,
        seen: HashSet::new(),
        links: HashMap::new(),
        verdicts: BTreeMap::new(),
        progress,
    };

    // 1. Volatile state, most volatile first.
    for (name, doc) in super::volatile::capture(root, dep) {
        crate::signal::check()?;
        c.add_generated(
            &format!("volatile/{name}"),
            &serde_json::to_vec_pretty(&doc)?,
            "volatile",
        )?;
    }
    c.add_generated("journal.jsonl", journal_snapshot, "journal")?;
    // 2. Consistent database snapshots while a gateway may be writing.
    let mut notes = Vec::new();
    let mut snaps = Vec::new();
    if dep.runtime.running {
        for (host_path, bytes) in snapshots(dep, root, 512 << 20, &mut notes) {
            let rel = format!(
                "snapshots/{}",
                host_path.display().to_string().trim_start_matches('/')
            );
            c.add_generated(&rel, &bytes, "snapshot")?;
            snaps.push(rel);
        }
    }
    // 3. Files, in scope order.
    for s in &roots {
        c.walk(s)?;
    }

    // 4. The manifests, last because they describe everything before them.
    let mut items = c.items.into_inner().map_err(|e| e.into_error())?;
    items.flush()?;
    let header = ManifestHeader {
        format: "ir-bundle/1".into(),
        created: crate::journal::now_rfc3339(),
        host: host.to_string(),
        ir_version: env!("CARGO_PKG_VERSION").into(),
        root: crate::sanitize::escape_path(root.dir()),
        deployment: Some(dep.summary()),
        verdicts: VERDICTS.to_vec(),
    };
    let mut manifest = tempfile::Builder::new()
        .prefix(&format!(".{stem}.manifest-"))
        .tempfile_in(case_dir)?;
    let mut mh = HashWriter {
        inner: BufWriter::new(manifest.as_file_mut()),
        hasher: Sha256::new(),
        len: 0,
    };
    let head = serde_json::to_vec(&header)?;
    mh.write_all(&head[..head.len() - 1])?;
    mh.write_all(b",\"items\":[\n")?;
    io::copy(&mut File::open(items.path())?, &mut mh)?;
    mh.write_all(b"\n]}\n")?;
    mh.flush()?;
    let manifest_sha = hex::encode(mh.hasher.clone().finalize());
    let manifest_len = mh.len;
    drop(mh);
    manifest.as_file().sync_all()?;
    let now_t = (chrono::Utc::now().timestamp(), 0);
    let st = Stamp {
        mode: 0o600,
        mtime: now_t,
        atime: now_t,
        ctime: now_t,
        ..Stamp::default()
    };
    let top_manifest = format!("{stem}/manifest.json").into_bytes();
    tarw::append(
        &mut c.tar,
        &top_manifest,
        EntryType::Regular,
        &st,
        manifest_len,
        None,
        None,
        File::open(manifest.path())?,
    )?;
    c.sums
        .write_all(&sha256sum_line(&manifest_sha, b"manifest.json"))?;
    let mut sums = c.sums.into_inner().map_err(|e| e.into_error())?;
    sums.flush()?;
    let sums_len = sums.as_file().metadata()?.len();
    tarw::append(
        &mut c.tar,
        format!("{stem}/MANIFEST.sha256").as_bytes(),
        EntryType::Regular,
        &st,
        sums_len,
        None,
        None,
        File::open(sums.path())?,
    )?;

    // 5. Close every layer, in order: tar, gzip, age; then the file.
    let gz = c.tar.into_inner().context("finishing the tar stream")?;
    let aged = gz.finish().context("finishing the gzip stream")?;
    let sink = aged.finish().context("finishing the age stream")?;
    let digest = hex::encode(sink.hasher.finalize());
    let size = sink.len;
    let file = sink.inner.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    if let Some(p) = &c.progress {
        p.finish_and_clear();
    }
    // 6. Read it back from disk: what is there must be what we wrote.
    let on_disk = crate::journal::sha256_reader(File::open(tmp.path())?)?;
    if on_disk != digest {
        bail!(
            "the bundle read back from disk hashes to {on_disk}, not {digest}: the disk or something on it altered it"
        );
    }
    tmp.persist_noclobber(&final_path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming into {}", final_path.display()))?;
    let name = final_path
        .file_name()
        .map(|n| n.as_bytes().to_vec())
        .unwrap_or_default();
    let sidecar = case_dir.join(format!("{stem}.tar.gz.age.sha256"));
    crate::safefs::write_atomic(&sidecar, &sha256sum_line(&digest, &name), 0o644)?;
    let manifest_path = case_dir.join(format!("{stem}.manifest.json"));
    manifest
        .persist_noclobber(&manifest_path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming into {}", manifest_path.display()))?;
    std::fs::set_permissions(
        &manifest_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;
    let mut verdicts = c.verdicts;
    for v in VERDICTS {
        verdicts.entry(v).or_default();
    }
    Ok(Summary {
        bundle: final_path,
        sha256: digest,
        size,
        sidecar,
        manifest: manifest_path,
        manifest_sha256: manifest_sha,
        top: stem,
        items: c.n_items,
        input_bytes,
        verdicts: verdicts
            .into_iter()
            .map(|(k, t)| (k.as_str().to_string(), t))
            .collect(),
        snapshots: snaps,
        encryption: enc.describe(),
        notes,
        deployment: Some(dep.summary()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256sum_escaping_matches_coreutils() {
        assert_eq!(sha256sum_line("ab", b"files/x"), b"ab  files/x\n");
        assert_eq!(sha256sum_line("ab", b"a\nb\\c"), b"\\ab  a\\nb\\\\c\n");
    }

    #[test]
    fn stem_is_filename_safe() {
        let t = chrono::DateTime::from_timestamp(1_795_248_000, 0).unwrap();
        assert_eq!(bundle_stem("h/o st", t), "incident-h_o_st-20261121T080000Z");
    }
}
