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
//! Streamed (`ir collect -o -`, [`Options::stream`]), the ciphertext goes
//! to stdout instead and nothing of the bundle touches the host's disk: its
//! hash is computed on the way out and recorded (sidecar, journal) under
//! the name the receiver should give it; there is nothing to read back.
//!
//! [`collect`] reads as those steps on a `BundleWriter`: `create` opens the
//! temp file behind the writer stack; `add_volatile`, `add_journal`,
//! `add_snapshots` and `add_scope` append entries in RFC 3227 order, most
//! volatile first, each with its manifest item and checksum line; `finish`
//! appends the manifests, seals and checks the bundle, and names it.
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
    /// The target host's name for the bundle name and the manifest
    /// (default: [`Root::hostname`]).
    pub hostname: Option<String>,
    /// The case's chain-of-custody fields, for the manifest.
    pub custody: Option<crate::record::Custody>,
    /// The case's `seal.age` (the journal's seed, encrypted), stored next
    /// to the journal so the bundle alone can check its seals.
    pub seal_age: Option<Vec<u8>>,
    /// Write the ciphertext to stdout instead of a file in the case dir.
    pub stream: bool,
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
            hostname: None,
            custody: None,
            seal_age: None,
            stream: false,
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

/// Where the ciphertext goes: the `.partial-` file, or stdout.
enum Dest {
    File(File),
    Stdout(io::Stdout),
}

impl Write for Dest {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Dest::File(f) => f.write(b),
            Dest::Stdout(o) => o.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Dest::File(f) => f.flush(),
            Dest::Stdout(o) => o.flush(),
        }
    }
}

type Sink = HashWriter<BufWriter<Dest>>;
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

/// The bundle being written, and what the walk has met so far.
///
/// `create` opens the temp file and its writer stack; the `add_*` steps
/// append entries, each with its manifest item and checksum line; `finish`
/// seals the bundle and gives it its final name. Dropped unfinished (an
/// error, Ctrl-C), it deletes the temp file and the spools with it.
struct BundleWriter<'a> {
    tar: tar::Builder<Out>,
    /// The `.partial-` file the writer stack ends in; `None` when the
    /// bundle streams to stdout.
    tmp: Option<tempfile::NamedTempFile>,
    case_dir: PathBuf,
    final_path: PathBuf,
    /// The bundle's top folder, which is also its file stem.
    top: String,
    root: &'a Root,
    opts: &'a Options,
    excludes: GlobSet,
    /// Manifest items and `sha256sum` lines are spooled to disk so that
    /// memory does not grow with the number of files.
    items: BufWriter<tempfile::NamedTempFile>,
    sums: BufWriter<tempfile::NamedTempFile>,
    n_items: u64,
    /// Local paths already collected: scopes may overlap.
    seen: HashSet<PathBuf>,
    /// (dev, inode) of multiply-linked files stored so far, with their
    /// archive path and SHA-256, so later names become hard link entries.
    links: HashMap<(u64, u64), (Vec<u8>, String)>,
    verdicts: BTreeMap<Verdict, Tally>,
    progress: Option<indicatif::ProgressBar>,
}

/// What `finish` sealed: where the pieces are and what they hash to.
struct Sealed {
    bundle: PathBuf,
    sha256: String,
    size: u64,
    sidecar: PathBuf,
    manifest: PathBuf,
    manifest_sha256: String,
    items: u64,
    verdicts: BTreeMap<String, Tally>,
}

/// Why a walk entry is collected, attached to its manifest item.
struct Item<'a> {
    host: &'a Path,
    why: &'static str,
}

/// What storing a file's bytes yielded.
struct Contents {
    /// SHA-256 of the logical content stored, holes included.
    sha256: String,
    /// Bytes in the tar entry: fewer than the logical size stored when
    /// holes were skipped.
    data_bytes: u64,
    /// Why what was stored is not all the file held (it shrank, a read
    /// failed); the missing bytes are zeros.
    short: Option<String>,
}

impl<'a> BundleWriter<'a> {
    /// Opens `.<stem>.tar.gz.age.partial-*` in `case_dir` behind tar →
    /// parallel gzip → age → SHA-256, and the manifest spools beside it.
    /// `input_bytes` is the progress bar's total.
    fn create(
        case_dir: &Path,
        stem: &str,
        enc: &Encryption,
        root: &'a Root,
        opts: &'a Options,
        excludes: GlobSet,
        input_bytes: u64,
    ) -> Result<BundleWriter<'a>> {
        let final_path = case_dir.join(format!("{stem}.tar.gz.age"));
        if final_path.exists() {
            bail!("{} already exists", final_path.display());
        }
        let (tmp, dest) = if opts.stream {
            (None, Dest::Stdout(io::stdout()))
        } else {
            let tmp = tempfile::Builder::new()
                .prefix(&format!(".{stem}.tar.gz.age.partial-"))
                .tempfile_in(case_dir)
                .with_context(|| format!("creating a temp file in {}", case_dir.display()))?;
            let f = tmp.reopen()?;
            (Some(tmp), Dest::File(f))
        };
        let sink = HashWriter {
            inner: BufWriter::with_capacity(1 << 20, dest),
            hasher: Sha256::new(),
            len: 0,
        };
        let gz = ParGz::new(encrypt(enc, sink)?, opts.level, opts.threads);
        let mut tar = tar::Builder::new(gz);
        tar.mode(tar::HeaderMode::Complete);
        let progress = progress_bar(opts, input_bytes);
        Ok(BundleWriter {
            tar,
            tmp,
            case_dir: case_dir.to_path_buf(),
            final_path,
            top: stem.to_string(),
            root,
            opts,
            excludes,
            items: spool(case_dir, stem, "items")?,
            sums: spool(case_dir, stem, "sums")?,
            n_items: 0,
            seen: HashSet::new(),
            links: HashMap::new(),
            verdicts: BTreeMap::new(),
            progress,
        })
    }

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

    /// Records an item that could not be read, with the verdict its error means.
    fn record_error(&mut self, it: &Item, m: Option<&Metadata>, e: &io::Error) -> Result<()> {
        let mut v = self.base(it, None, m);
        v.error = Some(e.to_string());
        self.record(v, io_verdict(e), 0)
    }
}

/// Bytes we produce: volatile state, the journal, database snapshots.
impl BundleWriter<'_> {
    /// Adds bytes we produced, as a file of ours under the top folder.
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

    /// Captures volatile state now and adds it, most volatile first: it is
    /// what the rest of the collection would disturb or outlive.
    fn add_volatile(&mut self, dep: &Deployment) -> Result<()> {
        for (name, doc) in super::volatile::capture(self.root, dep) {
            crate::signal::check()?;
            self.add_generated(
                &format!("volatile/{name}"),
                &serde_json::to_vec_pretty(&doc)?,
                "volatile",
            )?;
        }
        Ok(())
    }

    /// Adds the case journal as it stood when this collection started, and
    /// its `seal.age`: off the host, the bundle's journal is a sealed head
    /// the case journal must still contain.
    fn add_journal(&mut self, snapshot: &[u8], seal_age: Option<&[u8]>) -> Result<()> {
        self.add_generated("journal.jsonl", snapshot, "journal")?;
        match seal_age {
            Some(s) => self.add_generated(crate::seal::SEAL_AGE, s, "journal"),
            None => Ok(()),
        }
    }

    /// Adds consistent SQLite snapshots when a gateway runs, since it may
    /// be writing the raw database files the walk stores later. Returns
    /// their bundle paths and notes on databases not snapshotted.
    fn add_snapshots(&mut self, dep: &Deployment) -> Result<(Vec<String>, Vec<String>)> {
        let mut notes = Vec::new();
        let mut snaps = Vec::new();
        if dep.runtime.running {
            for (host_path, bytes) in snapshots(dep, self.root, 512 << 20, &mut notes) {
                let rel = format!(
                    "snapshots/{}",
                    host_path.display().to_string().trim_start_matches('/')
                );
                self.add_generated(&rel, &bytes, "snapshot")?;
                snaps.push(rel);
            }
        }
        Ok((snaps, notes))
    }
}

/// The walk: files, directories and links under each scope root.
impl BundleWriter<'_> {
    fn excluded(&self, host: &Path) -> bool {
        !self.excludes.is_empty() && self.excludes.is_match(host)
    }

    /// Adds everything under one scope root, in file-name order. Links are
    /// stored as links, never followed, except a root the scope says to
    /// follow.
    fn add_scope(&mut self, scope: &Scope) -> Result<()> {
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
            let item = Item {
                host: &host_root,
                why: scope.why,
            };
            self.add_symlink(&scope.local, &item, &top_meta)?;
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
                    self.record_walk_error(scope, &e)?;
                    continue;
                }
            };
            let local = entry.path().to_path_buf();
            let host = self.root.host_view(&local);
            if self.excluded(&host) || !self.seen.insert(local.clone()) {
                if entry.file_type().is_dir() && entry.depth() > 0 {
                    it.skip_current_dir();
                }
                continue;
            }
            let item = Item {
                host: &host,
                why: scope.why,
            };
            self.add_entry(&local, &item, &entry)?;
        }
        Ok(())
    }

    /// Records an entry the walk could not list.
    fn record_walk_error(&mut self, scope: &Scope, e: &walkdir::Error) -> Result<()> {
        let p = e
            .path()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| scope.local.clone());
        let host = self.root.host_view(&p);
        let io = e
            .io_error()
            .map(|x| io::Error::new(x.kind(), x.to_string()));
        let verdict = io.as_ref().map_or(Verdict::Denied, io_verdict);
        let item = Item {
            host: &host,
            why: scope.why,
        };
        let mut v = self.base(&item, None, None);
        v.error = Some(e.to_string());
        self.record(v, verdict, 0)
    }

    /// Adds one listed entry as what its `lstat` says it is.
    fn add_entry(&mut self, local: &Path, it: &Item, entry: &walkdir::DirEntry) -> Result<()> {
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) => {
                let mut v = self.base(it, None, None);
                v.error = Some(e.to_string());
                let verdict = e.io_error().map_or(Verdict::Denied, io_verdict);
                return self.record(v, verdict, 0);
            }
        };
        let t = meta.file_type();
        if t.is_file() {
            self.add_file(local, it, &meta)
        } else if t.is_dir() {
            self.add_dir(it, &meta)
        } else if t.is_symlink() {
            self.add_symlink(local, it, &meta)
        } else {
            // FIFOs, sockets, devices: never opened, only recorded.
            let v = self.base(it, None, Some(&meta));
            self.record(v, Verdict::SkippedSpecial, 0)
        }
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
}

/// Regular files: the no-follow open, what is stored, and its verdict.
impl BundleWriter<'_> {
    /// Adds a regular file. It is opened without following links or
    /// blocking and judged by the `fstat` of that handle (the listing may
    /// be stale): stored as a hard link to a name already stored, as a
    /// bounded pseudo-file, or as exactly the bytes its size declares.
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
        if f1.nlink() > 1
            && let Some(first) = self.links.get(&(f1.dev(), f1.ino())).cloned()
        {
            return self.add_hardlink(it, &f1, &archive, first);
        }
        if f1.len() == 0 && is_pseudo_fs(&file) {
            return self.add_pseudo(&file, it, &f1, &archive);
        }
        let want = f1.len().min(self.opts.max_file_size);
        let mut contents = self.append_contents(&file, it, &f1, &archive, want)?;
        let f2 = file.metadata()?;
        notes.extend(contents.short.take());
        notes.extend(changed_while_read(&f1, &f2));
        self.record_file(it, &f1, archive, want, contents, notes)
    }

    /// Adds a further name of a file already stored, as a hard link entry
    /// pointing at the `first` name (and sharing its SHA-256).
    fn add_hardlink(
        &mut self,
        it: &Item,
        f1: &Metadata,
        archive: &[u8],
        (first, sha): (Vec<u8>, String),
    ) -> Result<()> {
        tarw::append(
            &mut self.tar,
            archive,
            EntryType::Link,
            &stamp(f1),
            0,
            Some(&first),
            None,
            io::empty(),
        )?;
        let mut v = self.base(it, Some(archive), Some(f1));
        v.kind = Some(FileKind::Hardlink);
        v.target = Some(escape_bytes(&self.rel(&first)));
        v.sha256 = Some(sha.to_string());
        self.sum(&sha, archive)?;
        self.record(v, Verdict::Ok, 0)
    }

    /// Appends the first `want` bytes of `file` as a regular entry: only
    /// its data regions when it is sparse, else exactly `want` bytes, so
    /// the entry always matches its header however the file changes.
    fn append_contents(
        &mut self,
        file: &File,
        _it: &Item,
        f1: &Metadata,
        archive: &[u8],
        want: u64,
    ) -> Result<Contents> {
        let regions = sparse_regions(file, f1, want);
        if self.progress.is_some() {
            super::progress::file(self.n_items, archive);
        }
        let st = stamp(f1);
        let contents = match regions {
            Some(r) => self.append_sparse(file, &st, archive, r, want),
            None => self.append_exact(file, &st, archive, want),
        }
        .map_err(entry_write_error)?;
        if let Some(p) = &self.progress {
            p.inc(want);
        }
        Ok(contents)
    }

    /// Appends a sparse file as GNU tar's sparse map and its data `regions`
    /// within the first `want` bytes; holes are hashed but not stored.
    fn append_sparse(
        &mut self,
        file: &File,
        st: &Stamp,
        archive: &[u8],
        regions: Vec<Region>,
        want: u64,
    ) -> io::Result<Contents> {
        let mut hasher = Sha256::new();
        let mut short = None;
        let data_bytes = regions.iter().map(|(_, l)| l).sum();
        let reader = Sparse {
            file,
            regions: regions.clone().into_iter(),
            cur: None,
            pos: 0,
            end: want,
            hasher: &mut hasher,
            short: &mut short,
        };
        let sparse = Some((&regions[..], want));
        tarw::append(
            &mut self.tar,
            archive,
            EntryType::Regular,
            st,
            data_bytes,
            None,
            sparse,
            reader,
        )?;
        Ok(Contents {
            sha256: hex::encode(hasher.finalize()),
            data_bytes,
            short,
        })
    }

    /// Appends exactly the first `want` bytes of `file`, whatever it does
    /// meanwhile: a growing log is cut, a shrinking one padded with zeros.
    fn append_exact(
        &mut self,
        file: &File,
        st: &Stamp,
        archive: &[u8],
        want: u64,
    ) -> io::Result<Contents> {
        let mut hasher = Sha256::new();
        let mut short = None;
        let reader = Exact {
            file,
            left: want,
            hasher: &mut hasher,
            short: &mut short,
            since_check: 0,
        };
        tarw::append(
            &mut self.tar,
            archive,
            EntryType::Regular,
            st,
            want,
            None,
            None,
            reader,
        )?;
        Ok(Contents {
            sha256: hex::encode(hasher.finalize()),
            data_bytes: want,
            short,
        })
    }

    /// Records a stored file: its checksum line, and its manifest item with
    /// the verdict its `notes` and the size cap make.
    fn record_file(
        &mut self,
        it: &Item,
        f1: &Metadata,
        archive: Vec<u8>,
        want: u64,
        contents: Contents,
        notes: Vec<String>,
    ) -> Result<()> {
        let verdict = if !notes.is_empty() {
            Verdict::ChangedDuringRead
        } else if f1.len() > want {
            Verdict::TruncatedAtCap
        } else {
            Verdict::Ok
        };
        let sha = contents.sha256;
        if f1.nlink() > 1 {
            self.links
                .insert((f1.dev(), f1.ino()), (archive.clone(), sha.clone()));
        }
        self.sum(&sha, &archive)?;
        let mut v = self.base(it, Some(&archive), Some(f1));
        v.sha256 = Some(sha);
        v.stored_bytes = Some(want);
        if contents.data_bytes != want {
            v.sparse_data_bytes = Some(contents.data_bytes);
        }
        if !notes.is_empty() {
            v.error = Some(notes.join("; "));
        }
        self.record(v, verdict, want)
    }

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

/// The note a file earns when its size or times moved while it was read.
fn changed_while_read(f1: &Metadata, f2: &Metadata) -> Option<String> {
    let moved = f2.len() != f1.len()
        || (f2.mtime(), f2.mtime_nsec()) != (f1.mtime(), f1.mtime_nsec())
        || (f2.ctime(), f2.ctime_nsec()) != (f1.ctime(), f1.ctime_nsec());
    moved.then(|| {
        format!(
            "changed while it was read (size {} -> {})",
            f1.len(),
            f2.len()
        )
    })
}

/// The error for a file entry that could not be written. The readers
/// report Ctrl-C as `Interrupted` from inside the tar writer; it must reach
/// the caller as an interruption, not as a broken bundle.
fn entry_write_error(e: io::Error) -> anyhow::Error {
    if e.kind() == io::ErrorKind::Interrupted {
        return crate::exit::Interrupted.into();
    }
    anyhow::Error::new(e).context("writing the bundle")
}

/// Sealing the bundle.
impl BundleWriter<'_> {
    /// Appends manifest.json and MANIFEST.sha256, last because they describe
    /// everything before them; closes every layer and fsyncs; checks that
    /// the file read back from disk hashes to what was written; and only
    /// then renames it to its final name, then writes its `.sha256` sidecar
    /// and the plaintext manifest copy beside it.
    fn finish(self, header: &ManifestHeader) -> Result<Sealed> {
        let BundleWriter {
            mut tar,
            tmp,
            case_dir,
            final_path,
            top,
            items,
            sums,
            n_items,
            verdicts,
            progress,
            ..
        } = self;
        let (manifest, manifest_sha256) =
            append_manifests(&mut tar, &case_dir, &top, header, items, sums)?;
        let (sha256, size) = close_stream(tar)?;
        // Streamed, the bytes are the receiver's: the hash made on the way
        // out is what `ir verify` checks there.
        if let Some(tmp) = &tmp {
            super::progress::phase(progress.is_some(), "re-hashing", size);
            check_read_back(tmp.path(), &sha256)?;
        }
        super::progress::finish();
        let (sidecar, manifest) = publish(tmp, &final_path, manifest, &case_dir, &top, &sha256)?;
        Ok(Sealed {
            bundle: final_path,
            sha256,
            size,
            sidecar,
            manifest,
            manifest_sha256,
            items: n_items,
            verdicts: verdict_table(verdicts),
        })
    }
}

/// Wraps `sink` in age encryption to the recipients or the passphrase.
fn encrypt(enc: &Encryption, sink: Sink) -> Result<age::stream::StreamWriter<Sink>> {
    Ok(enc.encryptor()?.wrap_output(sink)?)
}

/// A spool file `.<stem>.<what>-*` in the case dir, deleted when dropped.
fn spool(case_dir: &Path, stem: &str, what: &str) -> Result<BufWriter<tempfile::NamedTempFile>> {
    Ok(BufWriter::new(
        tempfile::Builder::new()
            .prefix(&format!(".{stem}.{what}-"))
            .tempfile_in(case_dir)?,
    ))
}

/// The spool's file, with everything written to it flushed.
fn unspool(w: BufWriter<tempfile::NamedTempFile>) -> Result<tempfile::NamedTempFile> {
    let mut f = w.into_inner().map_err(|e| e.into_error())?;
    f.flush()?;
    Ok(f)
}

/// A progress bar on stderr, only when asked for and stderr is a terminal.
fn progress_bar(opts: &Options, total: u64) -> Option<indicatif::ProgressBar> {
    let on = super::progress::enabled(opts.progress);
    super::progress::phase(on, "collecting", total);
    super::progress::active()
}

/// Writes the manifest (the header with the spooled items spliced in) to
/// a temp file in the case dir and appends it and MANIFEST.sha256, whose
/// last line is the manifest's own. Returns the manifest file, for the
/// plaintext copy, and its SHA-256.
fn append_manifests(
    tar: &mut tar::Builder<Out>,
    case_dir: &Path,
    top: &str,
    header: &ManifestHeader,
    items: BufWriter<tempfile::NamedTempFile>,
    mut sums: BufWriter<tempfile::NamedTempFile>,
) -> Result<(tempfile::NamedTempFile, String)> {
    let items = unspool(items)?;
    let (manifest, manifest_sha, manifest_len) = write_manifest(case_dir, top, header, &items)?;
    let now_t = (chrono::Utc::now().timestamp(), 0);
    let st = Stamp {
        mode: 0o600,
        mtime: now_t,
        atime: now_t,
        ctime: now_t,
        ..Stamp::default()
    };
    tarw::append(
        tar,
        format!("{top}/manifest.json").as_bytes(),
        EntryType::Regular,
        &st,
        manifest_len,
        None,
        None,
        File::open(manifest.path())?,
    )?;
    sums.write_all(&sha256sum_line(&manifest_sha, b"manifest.json"))?;
    let sums = unspool(sums)?;
    let sums_len = sums.as_file().metadata()?.len();
    tarw::append(
        tar,
        format!("{top}/MANIFEST.sha256").as_bytes(),
        EntryType::Regular,
        &st,
        sums_len,
        None,
        None,
        File::open(sums.path())?,
    )?;
    Ok((manifest, manifest_sha))
}

/// Writes `.<top>.manifest-*` in the case dir and fsyncs it: the header
/// object with an `items` array streamed from the spool, so the manifest
/// is never whole in memory. Returns the file, its SHA-256 and its length.
fn write_manifest(
    case_dir: &Path,
    top: &str,
    header: &ManifestHeader,
    items: &tempfile::NamedTempFile,
) -> Result<(tempfile::NamedTempFile, String, u64)> {
    let mut manifest = tempfile::Builder::new()
        .prefix(&format!(".{top}.manifest-"))
        .tempfile_in(case_dir)?;
    let mut mh = HashWriter {
        inner: BufWriter::new(manifest.as_file_mut()),
        hasher: Sha256::new(),
        len: 0,
    };
    let head = serde_json::to_vec(header)?;
    // Reopen the header object (drop its `}`) to splice the items in.
    mh.write_all(&head[..head.len() - 1])?;
    mh.write_all(b",\"items\":[\n")?;
    io::copy(&mut File::open(items.path())?, &mut mh)?;
    mh.write_all(b"\n]}\n")?;
    mh.flush()?;
    let sha = hex::encode(mh.hasher.clone().finalize());
    let len = mh.len;
    drop(mh);
    manifest.as_file().sync_all()?;
    Ok((manifest, sha, len))
}

/// Closes every layer in order (tar, gzip, age, then the file) and fsyncs
/// the file. Returns the SHA-256 and length of what was written.
fn close_stream(tar: tar::Builder<Out>) -> Result<(String, u64)> {
    let gz = tar.into_inner().context("finishing the tar stream")?;
    let aged = gz.finish().context("finishing the gzip stream")?;
    let sink = aged.finish().context("finishing the age stream")?;
    let digest = hex::encode(sink.hasher.finalize());
    let size = sink.len;
    match sink.inner.into_inner().map_err(|e| e.into_error())? {
        Dest::File(file) => file.sync_all()?,
        Dest::Stdout(mut out) => out.flush().context("writing the bundle to stdout")?,
    }
    Ok((digest, size))
}

/// Fails unless the file read back from disk hashes to `digest`, what was
/// written to it: a bundle is only named once the disk is known to hold it.
fn check_read_back(path: &Path, digest: &str) -> Result<()> {
    let on_disk = crate::journal::sha256_reader(io::BufReader::with_capacity(
        1 << 20,
        super::progress::Counted(File::open(path)?),
    ))?;
    if on_disk != digest {
        bail!(
            "the bundle read back from disk hashes to {on_disk}, not {digest}: the disk or something on it altered it"
        );
    }
    Ok(())
}

/// Renames the checked temp file to `final_path` (never over an existing
/// file; streamed, there is none and `final_path` is only the name the
/// receiver should give it), then writes the `.sha256` sidecar and renames
/// the manifest copy into the case dir, readable by its owner only.
/// Returns their paths.
fn publish(
    tmp: Option<tempfile::NamedTempFile>,
    final_path: &Path,
    manifest: tempfile::NamedTempFile,
    case_dir: &Path,
    top: &str,
    digest: &str,
) -> Result<(PathBuf, PathBuf)> {
    if let Some(tmp) = tmp {
        tmp.persist_noclobber(final_path)
            .map_err(|e| e.error)
            .with_context(|| format!("renaming into {}", final_path.display()))?;
    }
    let name = final_path
        .file_name()
        .map(|n| n.as_bytes().to_vec())
        .unwrap_or_default();
    let sidecar = case_dir.join(format!("{top}.tar.gz.age.sha256"));
    crate::safefs::write_atomic(&sidecar, &sha256sum_line(digest, &name), 0o644)?;
    let manifest_path = case_dir.join(format!("{top}.manifest.json"));
    manifest
        .persist_noclobber(&manifest_path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming into {}", manifest_path.display()))?;
    std::fs::set_permissions(
        &manifest_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;
    Ok((sidecar, manifest_path))
}

/// Every verdict's tally by name, zero for those never given, so that a
/// record always lists them all.
fn verdict_table(mut verdicts: BTreeMap<Verdict, Tally>) -> BTreeMap<String, Tally> {
    for v in VERDICTS {
        verdicts.entry(v).or_default();
    }
    verdicts
        .into_iter()
        .map(|(k, t)| (k.as_str().to_string(), t))
        .collect()
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

/// `stem`, or `stem-2`, `stem-3`… when a bundle of that name is already in
/// the case dir: two collections in one second (a playbook that collects
/// again right after a fast step) must not make the second one fail. A
/// race with another `ir` is still caught by the no-clobber rename.
fn free_stem(case_dir: &Path, stem: &str) -> String {
    let taken = |s: &str| {
        crate::safefs::lstat(&case_dir.join(format!("{s}.tar.gz.age")))
            .map_or(true, |m| m.is_some())
    };
    if !taken(stem) {
        return stem.to_string();
    }
    (2..1000)
        .map(|n| format!("{stem}-{n}"))
        .find(|s| !taken(s))
        .unwrap_or_else(|| stem.to_string())
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

/// Refuses to start when the case dir's filesystem has less room than the
/// bundle may take at worst, with a margin.
fn check_free_space(case_dir: &Path, input_bytes: u64, n_files: u64) -> Result<()> {
    if let Some(free) = free_bytes(case_dir)
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
    Ok(())
}

/// The manifest's header: what the bundle is and where it came from.
fn manifest_header(host: &str, root: &Root, dep: &Deployment, opts: &Options) -> ManifestHeader {
    ManifestHeader {
        format: "ir-bundle/1".into(),
        created: crate::journal::now_rfc3339(),
        host: host.to_string(),
        ir_version: env!("CARGO_PKG_VERSION").into(),
        root: crate::sanitize::escape_path(root.dir()),
        deployment: Some(dep.summary()),
        verdicts: VERDICTS.to_vec(),
        custody: opts.custody.clone(),
    }
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
    // Streamed, only the manifest copy and its spools land in the case dir.
    if opts.check_space && !opts.stream {
        check_free_space(case_dir, input_bytes, n_files)?;
    }
    // The evidence's host, not the examiner's: a dead box is named by its
    // own /etc/hostname.
    let host = opts.hostname.clone().unwrap_or_else(|| root.hostname());
    let stem = free_stem(case_dir, &bundle_stem(&host, chrono::Utc::now()));
    let mut bundle = BundleWriter::create(case_dir, &stem, enc, root, opts, excludes, input_bytes)?;
    // RFC 3227 order, most volatile first: live state, then database
    // snapshots consistent while a gateway may be writing, then the files.
    bundle.add_volatile(dep)?;
    bundle.add_journal(journal_snapshot, opts.seal_age.as_deref())?;
    let (snapshots, notes) = bundle.add_snapshots(dep)?;
    for s in &roots {
        bundle.add_scope(s)?;
    }
    let sealed = bundle.finish(&manifest_header(&host, root, dep, opts))?;
    Ok(Summary {
        bundle: sealed.bundle,
        sha256: sealed.sha256,
        size: sealed.size,
        sidecar: sealed.sidecar,
        manifest: sealed.manifest,
        manifest_sha256: sealed.manifest_sha256,
        top: stem,
        items: sealed.items,
        input_bytes,
        verdicts: sealed.verdicts,
        snapshots,
        encryption: enc.describe(),
        notes,
        deployment: Some(dep.summary()),
        streamed: opts.stream,
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
    fn every_verdict_is_tallied_even_when_never_given() {
        let mut given = BTreeMap::new();
        given.insert(Verdict::Denied, Tally { count: 2, bytes: 0 });
        let table = verdict_table(given);
        assert_eq!(table.len(), VERDICTS.len());
        assert_eq!(table["denied"].count, 2);
        assert_eq!(table["ok"].count, 0);
    }

    #[test]
    fn ctrl_c_mid_entry_is_an_interruption_not_a_write_error() {
        let e = entry_write_error(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        assert!(e.is::<crate::exit::Interrupted>());
        let e = entry_write_error(io::Error::other("disk full"));
        assert!(!e.is::<crate::exit::Interrupted>());
        assert!(format!("{e:#}").starts_with("writing the bundle: "));
    }

    #[test]
    fn a_file_that_moved_while_read_gets_a_note() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let before = f.as_file().metadata().unwrap();
        assert_eq!(changed_while_read(&before, &before), None);
        f.as_file().set_len(3).unwrap();
        let after = f.as_file().metadata().unwrap();
        assert_eq!(
            changed_while_read(&before, &after).as_deref(),
            Some("changed while it was read (size 0 -> 3)")
        );
    }

    #[test]
    fn stem_is_filename_safe() {
        let t = chrono::DateTime::from_timestamp(1_795_248_000, 0).unwrap();
        assert_eq!(bundle_stem("h/o st", t), "incident-h_o_st-20261121T080000Z");
        // Regression: a second collect in the same second got "already exists".
        let d = tempfile::tempdir().unwrap();
        assert_eq!(free_stem(d.path(), "incident-h-1"), "incident-h-1");
        std::fs::write(d.path().join("incident-h-1.tar.gz.age"), b"").unwrap();
        assert_eq!(free_stem(d.path(), "incident-h-1"), "incident-h-1-2");
    }
}
