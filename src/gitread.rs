//! Reading committed versions of a file from a git repository, without git.
//!
//! OpenClaw creates each agent workspace as a git repository, so a
//! workspace whose owner committed holds the known-good SOUL.md that an
//! attacker's `write` replaced. Running `git` there is out: the repository
//! is the attacker's to shape (`core.fsmonitor`, hooks, aliases and
//! `safe.directory` all run or refuse things), and the responder's box may
//! have no git. So this module reads the object store itself: `HEAD`, loose
//! and packed refs, loose objects and pack files (v2 index, offset and
//! reference deltas), first-parent history only. Every read is bounded
//! (object size, delta depth, history length) and no symlink is followed
//! out of `.git`; a repository it cannot read yields an error, never a
//! panic.

use anyhow::{Context, Result, bail, ensure};
use flate2::read::ZlibDecoder;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The largest object read (a prompt file is a few KiB).
const MAX_OBJECT: u64 = 16 << 20;
/// The longest delta chain followed.
const MAX_DEPTH: usize = 64;
/// The most pack files looked at.
const MAX_PACKS: usize = 64;

/// A 20-byte SHA-1 object id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Oid(pub [u8; 20]);

impl Oid {
    /// Parses 40 hex digits.
    pub fn parse(hex: &str) -> Option<Oid> {
        let b = hex::decode(hex.get(..40)?).ok()?;
        Some(Oid(b.try_into().ok()?))
    }

    /// The 40-digit hex form.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// A git object kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Commit,
    Tree,
    Blob,
    Tag,
}

impl Kind {
    fn from_name(n: &[u8]) -> Option<Kind> {
        Some(match n {
            b"commit" => Kind::Commit,
            b"tree" => Kind::Tree,
            b"blob" => Kind::Blob,
            b"tag" => Kind::Tag,
            _ => return None,
        })
    }

    fn from_pack(t: u8) -> Option<Kind> {
        Some(match t {
            1 => Kind::Commit,
            2 => Kind::Tree,
            3 => Kind::Blob,
            4 => Kind::Tag,
            _ => return None,
        })
    }
}

/// The parts of a commit this module uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    /// The first line of the message.
    pub summary: String,
}

/// One committed version of a file.
#[derive(Debug, Clone)]
pub struct Version {
    pub commit: Oid,
    pub time: i64,
    pub summary: String,
    pub content: Vec<u8>,
}

/// A repository's `.git` directory.
pub struct Repo {
    git_dir: PathBuf,
    /// Every pack's index and pack path, read once on first need (an
    /// object lookup per tree level and commit would read them again).
    packs: std::cell::OnceCell<Vec<(Vec<u8>, PathBuf)>>,
}

impl Repo {
    /// The repository whose work tree is `worktree`, when `worktree/.git`
    /// is a real directory (a `.git` file or symlink points elsewhere, and
    /// is not followed).
    pub fn open(worktree: &Path) -> Option<Repo> {
        let git_dir = worktree.join(".git");
        let m = crate::safefs::lstat(&git_dir).ok()??;
        m.is_dir().then(|| Repo {
            git_dir,
            packs: std::cell::OnceCell::new(),
        })
    }

    fn read(&self, rel: &str, max: u64) -> Result<Option<Vec<u8>>> {
        match crate::safefs::read_bounded(&self.git_dir.join(rel), max) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(anyhow::anyhow!("{e}")),
        }
    }

    /// The commit `HEAD` names; `None` on a repository with no commit yet.
    pub fn head(&self) -> Result<Option<Oid>> {
        let head = self
            .read("HEAD", 4096)?
            .with_context(|| format!("{} has no HEAD", self.git_dir.display()))?;
        let head = String::from_utf8_lossy(&head);
        let head = head.trim();
        match head.strip_prefix("ref:") {
            Some(r) => self.resolve(r.trim()),
            None => Oid::parse(head)
                .map(Some)
                .with_context(|| format!("{}/HEAD is malformed", self.git_dir.display())),
        }
    }

    /// A branch's commit, from its loose ref or `packed-refs`.
    fn resolve(&self, name: &str) -> Result<Option<Oid>> {
        let safe = name.starts_with("refs/")
            && !name.contains("..")
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
        ensure!(
            safe,
            "HEAD names an unusual ref {:?}",
            crate::sanitize::escape(name)
        );
        if let Some(b) = self.read(name, 4096)? {
            return Ok(Oid::parse(String::from_utf8_lossy(&b).trim()));
        }
        let Some(packed) = self.read("packed-refs", 64 << 20)? else {
            return Ok(None);
        };
        Ok(String::from_utf8_lossy(&packed).lines().find_map(|l| {
            let (oid, r) = l.split_once(' ')?;
            (r == name).then(|| Oid::parse(oid)).flatten()
        }))
    }

    /// An object's kind and content.
    pub fn object(&self, oid: Oid) -> Result<(Kind, Vec<u8>)> {
        self.object_at_depth(oid, 0)
    }

    fn object_at_depth(&self, oid: Oid, depth: usize) -> Result<(Kind, Vec<u8>)> {
        ensure!(depth <= MAX_DEPTH, "delta chain deeper than {MAX_DEPTH}");
        let h = oid.hex();
        if let Some(z) = self.read(&format!("objects/{}/{}", &h[..2], &h[2..]), MAX_OBJECT * 2)? {
            return parse_loose(&inflate(&z[..], MAX_OBJECT + 64)?);
        }
        if self.packs.get().is_none() {
            let _ = self.packs.set(self.read_packs()?);
        }
        for (idx, pack) in self.packs.get().into_iter().flatten() {
            if let Some(off) = find_in_index(idx, &oid)? {
                return self.packed(pack, off, depth);
            }
        }
        bail!("object {h} is not in {}", self.git_dir.display())
    }

    /// Every pack's index (read whole, bounded) and pack path.
    fn read_packs(&self) -> Result<Vec<(Vec<u8>, PathBuf)>> {
        let dir = self.git_dir.join("objects/pack");
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for e in rd.flatten().take(MAX_PACKS * 4) {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "idx") && out.len() < MAX_PACKS {
                let idx = crate::safefs::read_bounded(&p, 256 << 20)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                out.push((idx, p.with_extension("pack")));
            }
        }
        Ok(out)
    }

    /// The object at `off` in a pack, its deltas applied.
    fn packed(&self, pack: &Path, off: u64, depth: usize) -> Result<(Kind, Vec<u8>)> {
        ensure!(depth <= MAX_DEPTH, "delta chain deeper than {MAX_DEPTH}");
        let (mut f, _) = crate::safefs::open_regular(pack).map_err(|e| anyhow::anyhow!("{e}"))?;
        f.seek(SeekFrom::Start(off))?;
        let mut r = std::io::BufReader::new(f);
        let (t, size) = pack_header(&mut r)?;
        ensure!(
            size <= MAX_OBJECT,
            "a packed object of {size} bytes is over the cap"
        );
        match t {
            6 => {
                let back = ofs_delta_offset(&mut r)?;
                ensure!(back <= off && back > 0, "a delta points outside its pack");
                let delta = inflate(&mut r, size)?;
                let (k, base) = self.packed(pack, off - back, depth + 1)?;
                Ok((k, apply_delta(&base, &delta)?))
            }
            7 => {
                let mut id = [0u8; 20];
                r.read_exact(&mut id)?;
                let delta = inflate(&mut r, size)?;
                let (k, base) = self.object_at_depth(Oid(id), depth + 1)?;
                Ok((k, apply_delta(&base, &delta)?))
            }
            _ => {
                let k = Kind::from_pack(t).context("an unknown packed object type")?;
                Ok((k, inflate(&mut r, size)?))
            }
        }
    }

    /// A commit.
    pub fn commit(&self, oid: Oid) -> Result<Commit> {
        let (k, data) = self.object(oid)?;
        ensure!(k == Kind::Commit, "{} is not a commit", oid.hex());
        parse_commit(&data)
    }

    /// The blob at `path` (components separated by `/`) in a tree.
    pub fn blob_at(&self, tree: Oid, path: &str) -> Result<Option<Oid>> {
        let mut cur = tree;
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            let (k, data) = self.object(cur)?;
            ensure!(k == Kind::Tree, "{} is not a tree", cur.hex());
            let Some((mode, oid)) = tree_entry(&data, part.as_bytes())? else {
                return Ok(None);
            };
            let is_dir = mode == b"40000";
            if i + 1 == parts.len() {
                return Ok((!is_dir && mode != b"120000" && mode != b"160000").then_some(oid));
            }
            if !is_dir {
                return Ok(None);
            }
            cur = oid;
        }
        Ok(None)
    }

    /// The distinct committed versions of `path`, newest first, following
    /// first parents from `HEAD` for at most `max_commits` commits.
    pub fn versions(&self, path: &str, max_commits: usize) -> Result<Vec<Version>> {
        let mut out: Vec<Version> = Vec::new();
        let mut last: Option<Oid> = None;
        let mut next = self.head()?;
        for _ in 0..max_commits {
            let Some(id) = next else { break };
            let c = self.commit(id)?;
            if let Some(blob) = self.blob_at(c.tree, path)?
                && last != Some(blob)
            {
                let (k, content) = self.object(blob)?;
                ensure!(k == Kind::Blob, "{} is not a blob", blob.hex());
                out.push(Version {
                    commit: id,
                    time: c.time,
                    summary: c.summary.clone(),
                    content,
                });
                last = Some(blob);
            }
            next = c.parents.first().copied();
        }
        Ok(out)
    }
}

/// Inflates a zlib stream, refusing more than `max` bytes of output.
fn inflate(r: impl Read, max: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    ZlibDecoder::new(r)
        .take(max + 1)
        .read_to_end(&mut out)
        .context("a git object does not inflate")?;
    ensure!(
        out.len() as u64 <= max,
        "a git object inflates past {max} bytes"
    );
    Ok(out)
}

/// `<kind> <size>\0<content>`.
fn parse_loose(raw: &[u8]) -> Result<(Kind, Vec<u8>)> {
    let nul = raw
        .iter()
        .position(|b| *b == 0)
        .context("a loose object has no header")?;
    let (head, body) = (&raw[..nul], &raw[nul + 1..]);
    let sp = head
        .iter()
        .position(|b| *b == b' ')
        .context("a malformed object header")?;
    let kind = Kind::from_name(&head[..sp]).context("an unknown object kind")?;
    let size: usize = std::str::from_utf8(&head[sp + 1..])?.parse()?;
    ensure!(
        size == body.len(),
        "a loose object's size does not match its header"
    );
    Ok((kind, body.to_vec()))
}

/// A pack entry's type and inflated size.
fn pack_header(r: &mut impl Read) -> Result<(u8, u64)> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    let t = (b[0] >> 4) & 7;
    let mut size = u64::from(b[0] & 0x0f);
    let mut shift = 4;
    while b[0] & 0x80 != 0 {
        ensure!(shift < 57, "a pack entry's size is too long");
        r.read_exact(&mut b)?;
        size |= u64::from(b[0] & 0x7f) << shift;
        shift += 7;
    }
    Ok((t, size))
}

/// The backwards distance of an offset delta's base.
fn ofs_delta_offset(r: &mut impl Read) -> Result<u64> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    let mut v = u64::from(b[0] & 0x7f);
    let mut n = 0;
    while b[0] & 0x80 != 0 {
        n += 1;
        ensure!(n < 9, "an offset delta's distance is too long");
        r.read_exact(&mut b)?;
        v = ((v + 1) << 7) | u64::from(b[0] & 0x7f);
    }
    Ok(v)
}

/// The pack offset of `oid` in a v2 index, if it holds it.
fn find_in_index(idx: &[u8], oid: &Oid) -> Result<Option<u64>> {
    ensure!(
        idx.len() >= 8 + 1024 && idx[..8] == [0xff, b't', b'O', b'c', 0, 0, 0, 2],
        "a pack index that is not version 2"
    );
    let fan = |i: usize| -> usize {
        let p = 8 + i * 4;
        u32::from_be_bytes(idx[p..p + 4].try_into().unwrap_or_default()) as usize
    };
    let n = fan(255);
    let names = 8 + 1024;
    let offsets = names + n * 20 + n * 4;
    ensure!(idx.len() >= offsets + n * 4, "a truncated pack index");
    let first = oid.0[0] as usize;
    let (mut lo, mut hi) = (if first == 0 { 0 } else { fan(first - 1) }, fan(first));
    ensure!(lo <= hi && hi <= n, "a pack index's fan-out is not sorted");
    while lo < hi {
        let mid = (lo + hi) / 2;
        let name = &idx[names + mid * 20..names + mid * 20 + 20];
        match name.cmp(&oid.0[..]) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => {
                let o =
                    u32::from_be_bytes(idx[offsets + mid * 4..offsets + mid * 4 + 4].try_into()?);
                if o & 0x8000_0000 == 0 {
                    return Ok(Some(u64::from(o)));
                }
                let p = offsets + n * 4 + (o & 0x7fff_ffff) as usize * 8;
                let big = idx.get(p..p + 8).context("a truncated pack index")?;
                return Ok(Some(u64::from_be_bytes(big.try_into()?)));
            }
        }
    }
    Ok(None)
}

/// A little-endian base-128 size at the start of a delta.
fn delta_size(d: &[u8], pos: &mut usize) -> Result<u64> {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let b = *d.get(*pos).context("a truncated delta")?;
        *pos += 1;
        ensure!(shift < 63, "a delta size is too long");
        v |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
}

/// Applies a git delta to its base, checking every bound.
pub fn apply_delta(base: &[u8], d: &[u8]) -> Result<Vec<u8>> {
    let mut pos = 0;
    ensure!(
        delta_size(d, &mut pos)? == base.len() as u64,
        "a delta for another base"
    );
    let size = delta_size(d, &mut pos)?;
    ensure!(
        size <= MAX_OBJECT,
        "a delta result of {size} bytes is over the cap"
    );
    let mut out = Vec::with_capacity(size as usize);
    while pos < d.len() {
        let op = d[pos];
        pos += 1;
        if op & 0x80 != 0 {
            let mut field = |bits: u8, count: usize| -> Result<u64> {
                let mut v = 0u64;
                for i in 0..count {
                    if bits & (1 << i) != 0 {
                        v |= u64::from(*d.get(pos).context("a truncated delta")?) << (8 * i);
                        pos += 1;
                    }
                }
                Ok(v)
            };
            let off = field(op & 0x0f, 4)? as usize;
            let mut len = field((op >> 4) & 0x07, 3)? as usize;
            if len == 0 {
                len = 0x10000;
            }
            let src = base
                .get(off..off.saturating_add(len))
                .context("a delta copies outside its base")?;
            out.extend_from_slice(src);
        } else {
            ensure!(op != 0, "a delta with a reserved opcode");
            let lit = d.get(pos..pos + op as usize).context("a truncated delta")?;
            out.extend_from_slice(lit);
            pos += op as usize;
        }
        ensure!(
            out.len() as u64 <= size,
            "a delta writes past its stated size"
        );
    }
    ensure!(
        out.len() as u64 == size,
        "a delta's result is not its stated size"
    );
    Ok(out)
}

/// The tree, parents, committer time and summary of a commit object.
fn parse_commit(data: &[u8]) -> Result<Commit> {
    let text = String::from_utf8_lossy(data);
    let (head, msg) = text.split_once("\n\n").unwrap_or((&text, ""));
    let (mut tree, mut parents, mut time) = (None, Vec::new(), 0);
    for l in head.lines() {
        if let Some(t) = l.strip_prefix("tree ") {
            tree = Oid::parse(t);
        } else if let Some(p) = l.strip_prefix("parent ") {
            parents.extend(Oid::parse(p));
        } else if let Some(c) = l.strip_prefix("committer ") {
            time = c
                .rsplit(' ')
                .nth(1)
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
        }
    }
    Ok(Commit {
        tree: tree.context("a commit without a tree")?,
        parents,
        time,
        summary: msg.lines().next().unwrap_or("").chars().take(200).collect(),
    })
}

/// The mode and id of the entry `name` of a tree object.
fn tree_entry(data: &[u8], name: &[u8]) -> Result<Option<(Vec<u8>, Oid)>> {
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest
            .iter()
            .position(|b| *b == b' ')
            .context("a malformed tree")?;
        let nul = rest
            .iter()
            .position(|b| *b == 0)
            .context("a malformed tree")?;
        ensure!(sp < nul && rest.len() >= nul + 21, "a malformed tree");
        if &rest[sp + 1..nul] == name {
            let id: [u8; 20] = rest[nul + 1..nul + 21].try_into()?;
            return Ok(Some((rest[..sp].to_vec(), Oid(id))));
        }
        rest = &rest[nul + 21..];
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_delta_copies_and_inserts() {
        let base = b"hello world";
        // base 11, result 11: copy 6 bytes from 0, insert "there".
        let d = [11u8, 11, 0x90, 6, 5, b't', b'h', b'e', b'r', b'e'];
        assert_eq!(apply_delta(base, &d).unwrap(), b"hello there");
    }

    #[test]
    fn a_delta_that_copies_outside_its_base_is_refused() {
        let d = [3u8, 10, 0x91, 2, 10];
        assert!(apply_delta(b"abc", &d).is_err());
    }

    #[test]
    fn commits_and_trees_parse() {
        let c = parse_commit(
            b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 0000000000000000000000000000000000000001\nauthor A <a@b> 1700000000 +0000\ncommitter A <a@b> 1700000001 +0000\n\nfirst line\nmore\n",
        )
        .unwrap();
        assert_eq!(c.time, 1_700_000_001);
        assert_eq!(c.summary, "first line");
        assert_eq!(c.parents.len(), 1);
        let mut tree = b"100644 SOUL.md\0".to_vec();
        tree.extend([7u8; 20]);
        let (mode, id) = tree_entry(&tree, b"SOUL.md").unwrap().unwrap();
        assert_eq!((mode.as_slice(), id), (&b"100644"[..], Oid([7; 20])));
        assert!(tree_entry(&tree, b"AGENTS.md").unwrap().is_none());
    }

    fn git(dir: &Path, args: &[&str]) -> bool {
        std::process::Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// The same history reads the same from loose objects and from a
    /// pack with deltas; a file in a subdirectory is found too.
    #[test]
    fn versions_read_the_same_loose_and_packed() {
        let d = tempfile::tempdir().unwrap();
        if !git(d.path(), &["init", "-q"]) {
            return eprintln!("SKIPPED: git is not installed");
        }
        std::fs::create_dir(d.path().join("memory")).unwrap();
        let texts: Vec<String> = (0..5)
            .map(|i| format!("# SOUL\n{}\nline {i}\n", "x".repeat(2000)))
            .collect();
        for t in &texts {
            std::fs::write(d.path().join("memory/a.md"), t).unwrap();
            assert!(git(d.path(), &["add", "-A"]) && git(d.path(), &["commit", "-qm", "v"]));
        }
        let read = || {
            let r = Repo::open(d.path()).unwrap();
            r.versions("memory/a.md", 100)
                .unwrap()
                .into_iter()
                .map(|v| String::from_utf8(v.content).unwrap())
                .collect::<Vec<_>>()
        };
        let want: Vec<String> = texts.iter().rev().cloned().collect();
        assert_eq!(read(), want);
        assert!(git(d.path(), &["gc", "-q", "--aggressive"]));
        assert!(
            std::fs::read_dir(d.path().join(".git/objects/pack"))
                .unwrap()
                .count()
                > 0
        );
        assert_eq!(read(), want);
    }

    proptest! {
        #[test]
        fn hostile_objects_never_panic(base in proptest::collection::vec(any::<u8>(), 0..64),
                                       d in proptest::collection::vec(any::<u8>(), 0..64),
                                       idx in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = apply_delta(&base, &d);
            let _ = parse_commit(&d);
            let _ = tree_entry(&d, b"SOUL.md");
            let _ = parse_loose(&d);
            let _ = pack_header(&mut &d[..]);
            let _ = ofs_delta_offset(&mut &d[..]);
            let mut good = vec![0xff, b't', b'O', b'c', 0, 0, 0, 2];
            good.extend(&idx);
            let _ = find_in_index(&good, &Oid([0x42; 20]));
        }
    }
}
