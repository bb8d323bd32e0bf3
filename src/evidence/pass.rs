//! The one streaming pass over a bundle's archive that `verify` and
//! `extract` share: every member is hashed as it passes (and handed to a
//! sink), then checked against `manifest.json` and `MANIFEST.sha256`,
//! which `collect` writes last.
//!
//! The archive may be crafted, so memory must not grow with what it claims.
//! What is kept per member is small and fixed (a kind, a 32-byte hash, two
//! flags; the name and a link target), the manifests are checked item by
//! item and line by line as they stream and are never held, and every count
//! is bounded ([`Limits`]): members, name bytes, the holes of sparse
//! members, problems listed. With the defaults peak memory stays under
//! 256 MiB (measured by `scripts/bench-bundle.sh`).

use super::read::Sink;
use super::tarr::{Archive, Kind, Member};
use crate::record::{FileKind, ManifestItem};
use crate::sanitize::{escape_bytes, unescape_bytes};
use anyhow::Result;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::ops::ControlFlow;
use std::rc::Rc;

/// Largest manifest accepted, whatever the number of members.
const MAX_MANIFEST: u64 = 1 << 30;
/// Manifest bytes allowed per archive member read before it: an item is a
/// few hundred bytes, its escaped paths at most a few KiB.
const PER_ENTRY: u64 = 16 << 10;
/// Bytes one manifest item (or the header before the items) may take.
const PER_ITEM: u64 = 256 << 10;
/// Problems listed one by one; past this they are counted.
const MAX_PROBLEMS: usize = 1000;

/// Bounds on what one archive may make the reader keep or do.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Limits {
    /// Refuse a bundle with more members than this (memory is ~200 bytes
    /// per member).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_members: u64,
    /// The largest file the bundle may hold, as `collect --max-file-size`
    /// stored it: a sparse member claiming more is refused unread (its
    /// holes would be hashed as zeros). All holes together may be 8 times this.
    #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = crate::cmd::collect::parse_size)]
    pub max_file_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_members: 1_000_000,
            max_file_size: 2 << 30,
        }
    }
}

impl Limits {
    /// All member names together (about 96 bytes a member).
    fn name_bytes(&self) -> u64 {
        self.max_members.saturating_mul(96)
    }
}

/// The whole pass over a decrypted, decompressed archive stream: every
/// member through `sink`, then the checks. What `verify` and `extract` run
/// once the bundle is opened (and what the fuzz target drives).
pub fn check_archive(
    r: impl Read,
    limits: Limits,
    sink: &mut dyn Sink,
) -> Result<(Inner, Vec<String>)> {
    let mut pass = Pass::new(limits);
    pass.stream(&mut Archive::new(r), sink)?;
    Ok(pass.check())
}

/// One member below the top folder, as little as the checks need.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub kind: FileKind,
    pub sha256: Option<[u8; 32]>,
    /// Named by a manifest.json item.
    pub listed: bool,
    /// Named by a MANIFEST.sha256 line.
    pub summed: bool,
}

/// Problems, listed up to [`MAX_PROBLEMS`] and counted past it.
#[derive(Default)]
pub(super) struct Problems {
    list: Vec<String>,
    more: u64,
}

impl Problems {
    pub fn push(&mut self, p: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(p);
        } else {
            self.more += 1;
        }
    }

    pub fn into_vec(mut self) -> Vec<String> {
        if self.more > 0 {
            self.list
                .push(format!("and {} more problem(s), not listed", self.more));
        }
        self.list
    }
}

/// What reading the whole bundle found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inner {
    pub top: String,
    pub entries: u64,
    pub files_checked: u64,
    pub manifest_items: u64,
    pub manifest_sha256: Option<String>,
}

/// What one pass over the archive gathers.
#[derive(Default)]
pub(super) struct Pass {
    pub problems: Problems,
    pub limits: Limits,
    /// The bundle's top folder, as the first entry names it.
    pub top: Option<Vec<u8>>,
    /// Every member below the top folder but the two manifests.
    pub seen: BTreeMap<Box<[u8]>, Seen>,
    pub entries: u64,
    name_bytes: u64,
    holes: u64,
    /// manifest.json, once streamed: its hash and whether it parsed.
    manifest: Option<(String, bool)>,
    manifest_items: u64,
    files_checked: u64,
    sums_seen: bool,
    /// The manifest.json hash MANIFEST.sha256 gave, if it came first.
    sums_want_manifest: Option<String>,
}

impl Pass {
    pub fn new(limits: Limits) -> Pass {
        Pass {
            limits,
            ..Pass::default()
        }
    }

    /// Takes every member until the archive ends or breaks. Only an
    /// interruption is an error; a broken stream is a problem.
    pub fn stream<R: Read>(&mut self, ar: &mut Archive<R>, sink: &mut dyn Sink) -> Result<()> {
        loop {
            let m = match ar.next_member() {
                Ok(Some(m)) => m,
                Ok(None) => return Ok(()),
                Err(e) => {
                    interrupted()?;
                    self.problems.push(format!(
                        "the stream breaks after {} entries: {e:#} (the bundle was modified or truncated)",
                        self.entries
                    ));
                    return Ok(());
                }
            };
            self.entries += 1;
            if self.entries > self.limits.max_members {
                self.problems.push(format!(
                    "the archive holds more than {} members: not read further (--max-members raises the bound)",
                    self.limits.max_members
                ));
                return Ok(());
            }
            if self.take(&m, ar, sink)?.is_break() {
                return Ok(());
            }
        }
    }

    /// Takes one member: the manifests are checked as they stream, any
    /// other member below the top folder goes through the sink and is hashed.
    fn take<R: Read>(
        &mut self,
        m: &Member,
        ar: &mut Archive<R>,
        sink: &mut dyn Sink,
    ) -> Result<ControlFlow<()>> {
        let Some(rel) = self.below_top(&m.name) else {
            return Ok(ControlFlow::Continue(()));
        };
        if let Some(why) = &m.refused {
            self.problems
                .push(format!("{}: {why}: not read", escape_bytes(&rel)));
            return Ok(ControlFlow::Continue(()));
        }
        if rel == b"manifest.json" || rel == b"MANIFEST.sha256" {
            return self.take_manifest(&rel, m, ar, sink);
        }
        if let Some(why) = self.refusal(&rel, m) {
            self.problems.push(format!("{}: {why}", escape_bytes(&rel)));
            return Ok(ControlFlow::Continue(()));
        }
        self.name_bytes += rel.len() as u64;
        if self.name_bytes > self.limits.name_bytes() {
            self.problems.push(format!(
                "the archive's names exceed {} bytes: not read further",
                self.limits.name_bytes()
            ));
            return Ok(ControlFlow::Break(()));
        }
        self.hash_entry(rel, m, ar, sink)
    }

    /// Why a member below the top folder is not taken, if it is not.
    fn refusal(&mut self, rel: &[u8], m: &Member) -> Option<String> {
        if self.manifest.is_some() || self.sums_seen {
            return Some("comes after the manifests (collect writes them last): not read".into());
        }
        // One name, one member: `files/./a`, `files//a` or `files/../a`
        // would alias another member (extract refuses them; so does verify).
        if !rel.is_empty()
            && rel
                .split(|b| *b == b'/')
                .any(|c| c.is_empty() || c == b"." || c == b"..")
        {
            return Some("is not a plain name (., .. or an empty component): not extracted".into());
        }
        // A name, or a hard link's target, below a symlink of the archive
        // would be written or linked through it, out of the output dir.
        let target = (m.kind == Kind::Hardlink)
            .then(|| m.link.clone())
            .flatten()
            .map(|t| self.below_top(&t).unwrap_or(t));
        for name in std::iter::once(rel).chain(target.as_deref()) {
            if let Some(link) = self.symlinked_ancestor(name) {
                return Some(format!(
                    "goes through {}, a symlink in the archive: not extracted",
                    escape_bytes(&link)
                ));
            }
        }
        self.hole_refusal(m)
    }

    /// A sparse member's holes are hashed as zeros: bounded per member by
    /// the largest file collect stores, and in all by eight times that.
    fn hole_refusal(&mut self, m: &Member) -> Option<String> {
        m.sparse.as_ref()?;
        let hole = m.size - m.stored;
        let max = self.limits.max_file_size;
        if m.size > max || self.holes + hole > max.saturating_mul(8) {
            return Some(format!(
                "claims {} bytes, {hole} of them holes: more than this bundle may hold (--max-file-size raises the bound): not read",
                m.size
            ));
        }
        self.holes += hole;
        None
    }

    /// The first ancestor of `rel` that the archive holds as a symlink.
    fn symlinked_ancestor(&self, rel: &[u8]) -> Option<Vec<u8>> {
        rel.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'/')
            .map(|(i, _)| &rel[..i])
            .find(|anc| {
                self.seen
                    .get(*anc)
                    .is_some_and(|s| s.kind == FileKind::Symlink)
            })
            .map(<[u8]>::to_vec)
    }

    /// The entry's name below the top folder, without a trailing slash.
    /// The first entry sets the top folder; an entry outside it is a
    /// problem and is skipped (`None`).
    fn below_top(&mut self, path: &[u8]) -> Option<Vec<u8>> {
        let (first, rest) = match path.iter().position(|b| *b == b'/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (path, &[][..]),
        };
        match &self.top {
            None => self.top = Some(first.to_vec()),
            Some(t) if t.as_slice() != first => {
                self.problems.push(format!(
                    "entry {} lies outside the top folder",
                    escape_bytes(path)
                ));
                return None;
            }
            _ => {}
        }
        Some(rest.strip_suffix(b"/").unwrap_or(rest).to_vec())
    }

    /// Passes one member through the sink, hashing its data, and records
    /// what it is. A file whose data cannot be read means the stream is
    /// broken: that breaks the pass. An interruption is an error.
    fn hash_entry<R: Read>(
        &mut self,
        rel: Vec<u8>,
        m: &Member,
        ar: &mut Archive<R>,
        sink: &mut dyn Sink,
    ) -> Result<ControlFlow<()>> {
        let kind = FileKind::from(m.kind);
        let mut h = Sha256::new();
        if let Err(err) = sink.entry(&rel, m, &mut ar.data(m), &mut h) {
            interrupted()?;
            if err.chain().any(|c| c.downcast_ref::<io::Error>().is_some())
                && kind == FileKind::File
            {
                self.problems.push(format!(
                    "reading {} failed: {err:#} (the bundle was modified or truncated)",
                    escape_bytes(&rel)
                ));
                return Ok(ControlFlow::Break(()));
            }
            self.problems
                .push(format!("{}: {err:#}", escape_bytes(&rel)));
        }
        let sha256 = match kind {
            FileKind::File => Some(h.finalize().into()),
            FileKind::Hardlink => self.link_target_hash(m.link.as_deref()),
            _ => None,
        };
        let seen = Seen {
            kind,
            sha256,
            listed: false,
            summed: false,
        };
        if self.seen.insert(rel.clone().into(), seen).is_some() {
            self.problems.push(format!(
                "{} appears twice in the archive",
                escape_bytes(&rel)
            ));
        }
        Ok(ControlFlow::Continue(()))
    }

    /// A hard link stands for its target's content: the hash of the entry
    /// it names (a name with the top folder), if that came before it.
    fn link_target_hash(&self, link: Option<&[u8]>) -> Option<[u8; 32]> {
        let l = link?;
        let i = l.iter().position(|b| *b == b'/')?;
        self.seen.get(&l[i + 1..]).and_then(|s| s.sha256)
    }

    /// Streams manifest.json or MANIFEST.sha256 through the sink while
    /// checking it. Each may appear once, as a regular file, within a
    /// size its members can need (a bigger one is a bomb).
    fn take_manifest<R: Read>(
        &mut self,
        rel: &[u8],
        m: &Member,
        ar: &mut Archive<R>,
        sink: &mut dyn Sink,
    ) -> Result<ControlFlow<()>> {
        let is_json = rel == b"manifest.json";
        let name = escape_bytes(rel);
        let bound = MAX_MANIFEST.min((1 << 20) + self.entries.saturating_mul(PER_ENTRY));
        let why = if m.kind != Kind::File {
            Some(format!(
                "is a {}, not a file",
                FileKind::from(m.kind).as_str()
            ))
        } else if (is_json && self.manifest.is_some()) || (!is_json && self.sums_seen) {
            Some("appears twice in the archive".into())
        } else if m.size > bound || m.sparse.is_some() {
            Some(format!(
                "is {} bytes for {} entries: too large to be ours",
                m.size, self.entries
            ))
        } else {
            None
        };
        if let Some(why) = why {
            self.problems.push(format!("{name} {why}: not read"));
            return Ok(ControlFlow::Continue(()));
        }
        let out = sink.manifest(rel).unwrap_or_else(|e| {
            self.problems.push(format!("{name}: {e:#}"));
            None
        });
        let mut tee = BufReader::new(Tee {
            r: ar.data(m),
            h: Sha256::new(),
            out,
            write_failed: None,
        });
        let parsed = if is_json {
            self.check_manifest(&mut tee, sink)
        } else {
            self.check_sums(&mut tee)
        };
        let drained = io::copy(&mut tee, &mut io::sink());
        let mut tee = tee.into_inner();
        if let Some(e) = tee.finish() {
            self.problems
                .push(format!("{name}: writing it failed: {e}"));
        }
        if let Err(e) = drained {
            interrupted()?;
            self.problems.push(format!(
                "reading {name} failed: {e} (the bundle was modified or truncated)"
            ));
            return Ok(ControlFlow::Break(()));
        }
        let sha = hex::encode(tee.h.finalize());
        if is_json {
            self.manifest_read(sha, parsed);
        } else {
            self.sums_seen = true;
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Records manifest.json's hash once read, and holds it to what
    /// MANIFEST.sha256 said if that came first.
    fn manifest_read(&mut self, sha: String, parsed: bool) {
        if let Some(want) = self.sums_want_manifest.take()
            && want != sha
        {
            self.problems
                .push("MANIFEST.sha256: manifest.json does not match".into());
        }
        self.manifest = Some((sha, parsed));
    }

    /// Checks each manifest item against the archive as it is parsed.
    /// Returns whether the manifest parsed whole.
    fn check_manifest(&mut self, r: &mut impl Read, sink: &mut dyn Sink) -> bool {
        let used = Rc::new(Cell::new(0u64));
        // Buffered above the budget too: the parser reads byte by byte.
        let budget = BufReader::new(Budget {
            r,
            used: used.clone(),
        });
        let (seen, problems) = (&mut self.seen, &mut self.problems);
        let (mut items, mut checked) = (0u64, 0u64);
        let res = crate::record::Manifest::stream(budget, &mut |it| {
            used.set(0);
            items += 1;
            checked += u64::from(check_item(&it, seen, problems));
            sink.item(&it);
        });
        (self.manifest_items, self.files_checked) = (items, checked);
        match res {
            Ok(_) => true,
            Err(e) => {
                self.problems
                    .push(format!("manifest.json is not an ir manifest: {e}"));
                false
            }
        }
    }

    /// Checks each MANIFEST.sha256 line against the hash taken, as it is
    /// read. Stops at the first malformed line.
    fn check_sums(&mut self, r: &mut impl BufRead) -> bool {
        let max_line = 70 + 4 * super::tarr::MAX_NAME;
        let mut line = Vec::new();
        for i in 1.. {
            line.clear();
            match Read::take(&mut *r, max_line).read_until(b'\n', &mut line) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(_) => return false, // the caller reports the read failure
            }
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            if body.is_empty() {
                continue;
            }
            let Some((name, hex)) = parse_sum_line(body) else {
                self.problems
                    .push(format!("MANIFEST.sha256 line {i} is malformed"));
                return false;
            };
            self.check_sum(&name, hex);
        }
        true
    }

    /// One MANIFEST.sha256 line against the hash taken.
    fn check_sum(&mut self, name: &[u8], want: &str) {
        let ok = if name == b"manifest.json" {
            match &self.manifest {
                Some((sha, _)) => sha == want,
                None => {
                    self.sums_want_manifest = Some(want.to_string());
                    true
                }
            }
        } else {
            match self.seen.get_mut(name) {
                Some(s) => {
                    s.summed = true;
                    s.sha256.map(hex::encode).as_deref() == Some(want)
                }
                None => false,
            }
        };
        if !ok {
            self.problems.push(format!(
                "MANIFEST.sha256: {} does not match",
                escape_bytes(name)
            ));
        }
    }

    /// The checks that need the whole archive: every member listed in the
    /// manifest and, for files, in MANIFEST.sha256.
    pub fn check(mut self) -> (Inner, Vec<String>) {
        let mut inner = Inner {
            top: self.top.as_deref().map(escape_bytes).unwrap_or_default(),
            entries: self.entries,
            files_checked: self.files_checked,
            manifest_items: self.manifest_items,
            manifest_sha256: None,
        };
        let Some((sha, parsed)) = self.manifest.take() else {
            self.problems.push("manifest.json is missing".into());
            return (inner, self.problems.into_vec());
        };
        inner.manifest_sha256 = Some(sha);
        if !parsed {
            return (inner, self.problems.into_vec());
        }
        for (rel, s) in &self.seen {
            if !s.listed {
                self.problems.push(format!(
                    "{} ({}) is in the archive but not in the manifest",
                    escape_bytes(rel),
                    s.kind.as_str()
                ));
            }
        }
        if !self.sums_seen {
            self.problems.push("MANIFEST.sha256 is missing".into());
        } else {
            for (rel, s) in &self.seen {
                if s.kind == FileKind::File && !s.summed {
                    self.problems
                        .push(format!("{} is not in MANIFEST.sha256", escape_bytes(rel)));
                }
            }
        }
        (inner, self.problems.into_vec())
    }
}

/// An interruption (Ctrl-C, SIGTERM) as the error that ends the command.
fn interrupted() -> Result<()> {
    if crate::signal::interrupted() {
        return Err(crate::exit::Interrupted.into());
    }
    Ok(())
}

/// One manifest item against the archive: present, the same kind and, for
/// a file, the same hash. True when a file's hash was checked.
fn check_item(
    it: &ManifestItem,
    seen: &mut BTreeMap<Box<[u8]>, Seen>,
    problems: &mut Problems,
) -> bool {
    let Some(ap) = it.archive_path.as_deref() else {
        return false;
    };
    let Some(raw) = unescape_bytes(ap) else {
        problems.push(format!("manifest item {ap:?} has a malformed path"));
        return false;
    };
    let raw = raw.strip_suffix(b"/").unwrap_or(&raw);
    let Some(s) = seen.get_mut(raw) else {
        problems.push(format!(
            "{} is in the manifest but not in the archive",
            escape_bytes(raw)
        ));
        return false;
    };
    s.listed = true;
    if it.kind != Some(s.kind) {
        problems.push(format!(
            "{} is a {} in the archive but a {} in the manifest",
            escape_bytes(raw),
            s.kind.as_str(),
            it.kind.map_or("", FileKind::as_str)
        ));
    }
    if s.kind != FileKind::File {
        return false;
    }
    let got = s.sha256.map(hex::encode);
    let want = it.sha256.as_deref();
    if want != got.as_deref() {
        problems.push(format!(
            "{}: content hashes to {} but the manifest says {}",
            escape_bytes(raw),
            got.as_deref().unwrap_or("-"),
            want.unwrap_or("-")
        ));
    }
    true
}

/// One MANIFEST.sha256 line (coreutils escaping): name and hash.
pub fn parse_sum_line(line: &[u8]) -> Option<(Vec<u8>, &str)> {
    let (escaped, line) = match line.strip_prefix(b"\\") {
        Some(l) => (true, l),
        None => (false, line),
    };
    if line.len() < 66 || &line[64..66] != b"  " {
        return None;
    }
    let hex = std::str::from_utf8(&line[..64]).ok()?;
    let mut name = Vec::with_capacity(line.len() - 66);
    let mut it = line[66..].iter();
    while let Some(&b) = it.next() {
        if escaped && b == b'\\' {
            match it.next() {
                Some(b'n') => name.push(b'\n'),
                Some(b'r') => name.push(b'\r'),
                Some(b'\\') => name.push(b'\\'),
                _ => return None,
            }
        } else {
            name.push(b);
        }
    }
    Some((name, hex))
}

/// Hashes (and copies to the sink's writer) every byte read through it.
/// A writer failure is kept, not raised, so the parse and the hash go on;
/// it is reported once the read is done.
struct Tee<R> {
    r: R,
    h: Sha256,
    out: Option<Box<dyn Write>>,
    write_failed: Option<io::Error>,
}

impl<R> Tee<R> {
    /// Flushes the copy; the first write failure, if any.
    fn finish(&mut self) -> Option<io::Error> {
        if let Some(o) = &mut self.out
            && let Err(e) = o.flush()
        {
            self.write_failed.get_or_insert(e);
        }
        self.out = None;
        self.write_failed.take()
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.r.read(buf)?;
        self.h.update(&buf[..n]);
        if let Some(o) = &mut self.out
            && let Err(e) = o.write_all(&buf[..n])
        {
            self.write_failed = Some(e);
            self.out = None;
        }
        Ok(n)
    }
}

/// Fails a read once more than [`PER_ITEM`] bytes pass without `used`
/// being reset (the manifest parser resets it after each item), so no
/// single item or header field can make the parser hold much.
struct Budget<R> {
    r: R,
    used: Rc<Cell<u64>>,
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = PER_ITEM.saturating_sub(self.used.get());
        if left == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("an item or header field is larger than {PER_ITEM} bytes"),
            ));
        }
        let want = buf.len().min(left as usize);
        let n = self.r.read(&mut buf[..want])?;
        self.used.set(self.used.get() + n as u64);
        Ok(n)
    }
}

impl From<Kind> for FileKind {
    fn from(k: Kind) -> FileKind {
        match k {
            Kind::File => FileKind::File,
            Kind::Dir => FileKind::Dir,
            Kind::Symlink => FileKind::Symlink,
            Kind::Hardlink => FileKind::Hardlink,
            Kind::Fifo => FileKind::Fifo,
            Kind::CharDevice => FileKind::CharDevice,
            Kind::BlockDevice => FileKind::BlockDevice,
            Kind::Other(_) => FileKind::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::read::HashOnly;
    use crate::record::{Manifest, ManifestHeader};
    use tar::EntryType as T;

    type M<'a> = (&'a [u8], T, Option<&'a str>, &'a [u8]);

    fn archive(members: &[M]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, kind, link, data) in members {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            if let Some(l) = link {
                h.set_link_name(l).unwrap();
            }
            let n = path.len().min(100);
            h.as_gnu_mut().unwrap().name[..n].copy_from_slice(&path[..n]);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn pass_over(bytes: &[u8], limits: Limits) -> Pass {
        let mut pass = Pass::new(limits);
        pass.stream(&mut Archive::new(bytes), &mut HashOnly)
            .unwrap();
        pass
    }

    fn run(members: &[M]) -> (Inner, Vec<String>) {
        pass_over(&archive(members), Limits::default()).check()
    }

    fn item(ap: &str, kind: FileKind, sha: Option<&str>) -> ManifestItem {
        ManifestItem {
            archive_path: Some(ap.to_string()),
            kind: Some(kind),
            sha256: sha.map(str::to_string),
            ..Default::default()
        }
    }

    fn manifest_json(items: Vec<ManifestItem>) -> Vec<u8> {
        let m = Manifest {
            header: ManifestHeader {
                format: "ir-bundle/1".into(),
                created: "2026-11-21T08:00:00Z".into(),
                host: "h".into(),
                ir_version: "0".into(),
                root: "/".into(),
                deployment: None,
                verdicts: Vec::new(),
                custody: None,
            },
            items,
        };
        serde_json::to_vec(&m).unwrap()
    }

    fn sha(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    /// A consistent bundle holding `files/x` = "hello": its manifests.
    fn consistent() -> (Vec<u8>, Vec<u8>) {
        let mbytes = manifest_json(vec![
            item("files", FileKind::Dir, None),
            item("files/x", FileKind::File, Some(&sha(b"hello"))),
        ]);
        let sums = format!(
            "{}  files/x\n{}  manifest.json\n",
            sha(b"hello"),
            sha(&mbytes)
        );
        (mbytes, sums.into_bytes())
    }

    #[test]
    fn a_consistent_bundle_passes() {
        let (mbytes, sums) = consistent();
        let (inner, problems) = run(&[
            (b"top/files/", T::Directory, None, b""),
            (b"top/files/x", T::Regular, None, b"hello"),
            (b"top/manifest.json", T::Regular, None, &mbytes),
            (b"top/MANIFEST.sha256", T::Regular, None, &sums),
        ]);
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!((inner.top.as_str(), inner.entries), ("top", 4));
        assert_eq!((inner.files_checked, inner.manifest_items), (1, 2));
        assert_eq!(inner.manifest_sha256, Some(sha(&mbytes)));
    }

    #[test]
    fn every_disagreement_is_reported() {
        let h = sha(b"hello");
        let mbytes = manifest_json(vec![
            item("gone", FileKind::File, Some(&h)),
            item("kind", FileKind::File, Some(&h)),
            item("hash", FileKind::File, Some(&h)),
        ]);
        let sums = format!("{}  hash\n", sha(b"other"));
        let (inner, problems) = run(&[
            (b"top/kind", T::Directory, None, b""),
            (b"top/hash", T::Regular, None, b"other"),
            (b"top/extra", T::Regular, None, b"hello"),
            (b"top/manifest.json", T::Regular, None, &mbytes),
            (b"top/MANIFEST.sha256", T::Regular, None, sums.as_bytes()),
        ]);
        assert_eq!(
            problems,
            vec![
                "gone is in the manifest but not in the archive".to_string(),
                "kind is a dir in the archive but a file in the manifest".to_string(),
                format!(
                    "hash: content hashes to {} but the manifest says {h}",
                    sha(b"other")
                ),
                "extra (file) is in the archive but not in the manifest".to_string(),
                "extra is not in MANIFEST.sha256".to_string(),
            ]
        );
        assert_eq!(inner.files_checked, 1);
    }

    #[test]
    fn a_missing_or_foreign_manifest_stops_the_checks() {
        let (_, problems) = run(&[(b"top/x", T::Regular, None, b"x")]);
        assert_eq!(problems, vec!["manifest.json is missing".to_string()]);
        let (inner, problems) = run(&[
            (b"top/x", T::Regular, None, b"x"),
            (b"top/manifest.json", T::Regular, None, b"{}"),
        ]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("manifest.json is not an ir manifest: "));
        assert!(inner.manifest_sha256.is_some());
    }

    #[test]
    fn sums_problems_are_reported() {
        let mbytes = manifest_json(Vec::new());
        let with_sums = |sums: &[u8]| {
            run(&[
                (b"top/manifest.json", T::Regular, None, &mbytes),
                (b"top/MANIFEST.sha256", T::Regular, None, sums),
            ])
            .1
        };
        let (_, missing) = run(&[(b"top/manifest.json", T::Regular, None, &mbytes)]);
        assert_eq!(missing, vec!["MANIFEST.sha256 is missing".to_string()]);
        assert_eq!(
            with_sums(b"short\n"),
            vec!["MANIFEST.sha256 line 1 is malformed".to_string()]
        );
        let wrong = format!("{}  manifest.json\n", "0".repeat(64));
        assert_eq!(
            with_sums(wrong.as_bytes()),
            vec!["MANIFEST.sha256: manifest.json does not match".to_string()]
        );
    }

    /// Regression: verify and extract disagreed on `files/./a` beside
    /// `files/a`; verify now refuses what extract refuses.
    #[test]
    fn an_aliased_name_is_a_problem() {
        let pass = pass_over(
            &archive(&[
                (b"top/files/a", T::Regular, None, b"x"),
                (b"top/files/./a", T::Regular, None, b"x"),
                (b"top/files//b", T::Regular, None, b"x"),
            ]),
            Limits::default(),
        );
        let aliased = pass
            .problems
            .list
            .iter()
            .filter(|p| p.contains("not a plain name"));
        assert_eq!(aliased.count(), 2, "{:?}", pass.problems.list);
    }

    /// Regression: `{"items":[0,0,…]}` drove RSS to 19 GB. One far larger
    /// than its entries is refused unread; one within the bound fails at
    /// its first item.
    #[test]
    fn a_manifest_bomb_is_refused_without_being_held() {
        let mut bomb = b"{\"items\":[".to_vec();
        bomb.extend(b"0,".repeat(2 << 20));
        bomb.extend(b"0]}");
        let (_, problems) = run(&[(b"top/manifest.json", T::Regular, None, &bomb)]);
        assert!(problems[0].contains("too large to be ours"), "{problems:?}");
        let small = [
            br#"{"format":"ir-bundle/1","items":["#.as_slice(),
            &b"0,".repeat(5000),
            b"0]}",
        ]
        .concat();
        let (_, problems) = run(&[
            (b"top/x", T::Regular, None, b"x"),
            (b"top/manifest.json", T::Regular, None, &small),
        ]);
        assert!(
            problems.iter().any(|p| p.contains("not an ir manifest")),
            "{problems:?}"
        );
    }

    #[test]
    fn one_oversized_manifest_item_is_refused() {
        let mut it = item("x", FileKind::File, None);
        it.path = Some("a".repeat(PER_ITEM as usize));
        let mbytes = manifest_json(vec![it]);
        let members: Vec<M> = (0..40)
            .map(|_| (&b"top/d/"[..], T::Directory, None, &b""[..]))
            .collect();
        let mut members = members;
        members.push((b"top/manifest.json", T::Regular, None, &mbytes));
        let (_, problems) = run(&members);
        assert!(
            problems.iter().any(|p| p.contains("larger than")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_stream_hashes_links_and_flags_strays_and_twins() {
        let pass = pass_over(
            &archive(&[
                (b"top/", T::Directory, None, b""),
                (b"top/files/x", T::Regular, None, b"hello"),
                (b"top/files/y", T::Link, Some("top/files/x"), b""),
                (b"other/z", T::Regular, None, b"z"),
                (b"top/files/x", T::Regular, None, b"again"),
            ]),
            Limits::default(),
        );
        let hash = |n: &[u8]| pass.seen[n].sha256.map(hex::encode);
        assert_eq!(hash(b"files/y"), Some(sha(b"hello")));
        assert_eq!(hash(b"files/x"), Some(sha(b"again")));
        assert_eq!(
            pass.problems.list,
            vec![
                "entry other/z lies outside the top folder".to_string(),
                "files/x appears twice in the archive".to_string(),
            ]
        );
    }

    /// Regression (issue 15): extract and verify must agree on a second
    /// manifest.json, a manifest that is a symlink, and members after the
    /// manifests.
    #[test]
    fn manifests_are_single_regular_and_last() {
        let (mbytes, sums) = consistent();
        let (_, problems) = run(&[
            (b"top/files/x", T::Regular, None, b"hello"),
            (b"top/manifest.json", T::Symlink, Some("/etc/passwd"), b""),
            (b"top/manifest.json", T::Regular, None, &mbytes),
            (b"top/manifest.json", T::Regular, None, &mbytes),
            (b"top/MANIFEST.sha256", T::Regular, None, &sums),
            (b"top/files/late", T::Regular, None, b"late"),
        ]);
        let has = |s: &str| problems.iter().any(|p| p.contains(s));
        assert!(
            has("manifest.json is a symlink, not a file"),
            "{problems:?}"
        );
        assert!(has("manifest.json appears twice"), "{problems:?}");
        assert!(has("files/late: comes after the manifests"), "{problems:?}");
    }

    #[test]
    fn a_sparse_member_claiming_more_than_a_bundle_holds_is_not_read() {
        let mut h = tar::Header::new_gnu();
        h.set_path("top/bomb").unwrap();
        h.set_entry_type(T::GNUSparse);
        h.set_size(1);
        let raw = h.as_mut_bytes();
        raw[386..398].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0]); // 2^40
        raw[398..410].copy_from_slice(b"00000000001\0");
        raw[483..495].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 1]);
        h.set_cksum();
        let mut bytes = h.as_bytes().to_vec();
        bytes.extend(b"x");
        bytes.resize(512 * 2 + 1024, 0);
        let t = std::time::Instant::now();
        let (_, problems) = pass_over(&bytes, Limits::default()).check();
        assert!(t.elapsed().as_secs() < 5);
        assert!(
            problems[0].starts_with("bomb: claims 68719476737 bytes"),
            "{problems:?}"
        );
    }

    #[test]
    fn members_and_problems_are_bounded() {
        let members: Vec<M> = (0..30)
            .map(|_| (&b"top/a"[..], T::Regular, None, &b"a"[..]))
            .collect();
        let limits = Limits {
            max_members: 10,
            ..Limits::default()
        };
        let pass = pass_over(&archive(&members), limits);
        assert_eq!(pass.entries, 11);
        assert!(
            pass.problems
                .list
                .last()
                .unwrap()
                .contains("more than 10 members")
        );
        let mut p = Problems::default();
        for i in 0..(MAX_PROBLEMS + 5) {
            p.push(i.to_string());
        }
        let v = p.into_vec();
        assert_eq!(v.len(), MAX_PROBLEMS + 1);
        assert_eq!(v.last().unwrap(), "and 5 more problem(s), not listed");
    }

    proptest::proptest! {
        #[test]
        fn sum_lines_never_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse_sum_line(&b);
        }

        #[test]
        fn manifest_streaming_never_panics(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = Manifest::stream(&b[..], &mut |_| {});
        }
    }

    #[test]
    fn sum_lines_round_trip() {
        let line = crate::evidence::collect::sha256sum_line(&"a".repeat(64), b"x\ny\\z");
        let (name, hex) = parse_sum_line(line.strip_suffix(b"\n").unwrap()).unwrap();
        assert_eq!(
            (name.as_slice(), hex),
            (&b"x\ny\\z"[..], "a".repeat(64).as_str())
        );
    }
}
