//! Reading a bundle back: `ir verify` and `ir extract`.
//!
//! Without a key, the ciphertext is checked against its sidecar and the case
//! journal, and the age header is parsed. With a key, the bundle is streamed
//! through age, gzip and tar once; every entry is hashed as it passes and,
//! at the end, checked against both manifests (`manifest.json` and
//! `MANIFEST.sha256`, which come last in the archive): every item present,
//! nothing extra, every hash equal.
//!
//! The archive's names are attacker-influenced (they come from the host), so
//! extraction accepts only relative paths below the bundle's top folder,
//! never writes through a symlink, and creates no device and no setuid bit.

use super::keys::{self, IdentityArgs};
use crate::record::{FileKind, Manifest, ManifestItem};
use crate::sanitize::{escape_bytes, unescape_bytes};
use anyhow::{Context, Result, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Largest manifest.json accepted (a bound on hostile input).
const MAX_MANIFEST: u64 = 1 << 30;

/// What the keyless checks found.
#[derive(Debug, Clone, Serialize)]
pub struct Outer {
    pub bundle: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// `Some(true)` when the sidecar exists and matches.
    pub sidecar_matches: Option<bool>,
    /// `Some(true)` when a case journal records this bundle with this hash.
    pub journal_matches: Option<bool>,
    pub journal: Option<PathBuf>,
    /// The manifest hash the journal recorded, if it did.
    pub journal_manifest_sha256: Option<String>,
    /// `recipients` or `passphrase`.
    pub encrypted_to: &'static str,
}

/// Checks the ciphertext without a key.
pub fn outer(bundle: &Path, case_journal: Option<&Path>) -> Result<(Outer, Vec<String>)> {
    let (f, meta) = crate::safefs::open_regular(bundle)?;
    let sha = crate::journal::sha256_reader(BufReader::with_capacity(1 << 20, f))
        .with_context(|| format!("reading {}", bundle.display()))?;
    let mut problems = Vec::new();
    let name = bundle
        .file_name()
        .map(|n| n.as_bytes().to_vec())
        .unwrap_or_default();
    let mut side = bundle.as_os_str().to_owned();
    side.push(".sha256");
    let sidecar_matches = match crate::safefs::read_bounded(Path::new(&side), 64 * 1024) {
        Ok(b) => {
            let text = String::from_utf8_lossy(&b);
            let expected = text
                .trim_start_matches('\\')
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            let ok = expected == sha;
            if !ok {
                problems.push(format!(
                    "the bundle hashes to {sha} but its sidecar {} says {expected}",
                    Path::new(&side).display()
                ));
            }
            Some(ok)
        }
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            problems.push(format!("sidecar unreadable: {e}"));
            Some(false)
        }
    };
    // The journal that recorded the collection: beside the bundle, else the case's.
    let beside = bundle
        .parent()
        .map(|d| d.join(crate::journal::JOURNAL_FILE));
    let journal = beside
        .filter(|p| p.exists())
        .or_else(|| case_journal.map(Path::to_path_buf).filter(|p| p.exists()));
    let mut journal_matches = None;
    let mut journal_manifest = None;
    if let Some(j) = &journal {
        let entries = crate::journal::read_entries(j)?;
        let mut recorded = None;
        for c in crate::journal::collects(&entries) {
            let (_, r) = c?;
            if r.bundle.file_name().map(|n| n.as_bytes()) == Some(&name[..]) {
                recorded = Some(r);
            }
        }
        if let Some(r) = recorded {
            let ok = r.sha256 == sha;
            if !ok {
                problems.push(format!(
                    "the bundle hashes to {sha} but the case journal recorded {}",
                    r.sha256
                ));
            }
            journal_matches = Some(ok);
            journal_manifest = Some(r.manifest_sha256);
        }
    }
    // The header must parse as age (binary or armored).
    let (f, _) = crate::safefs::open_regular(bundle)?;
    let dec = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(BufReader::new(f)));
    let encrypted_to = match &dec {
        Ok(d) if d.is_scrypt() => "passphrase",
        Ok(_) => "recipients",
        Err(e) => {
            problems.push(format!("the age header is malformed: {e}"));
            "unknown"
        }
    };
    Ok((
        Outer {
            bundle: bundle.to_path_buf(),
            sha256: sha,
            size: meta.len(),
            sidecar_matches,
            journal_matches,
            journal,
            journal_manifest_sha256: journal_manifest,
            encrypted_to,
        },
        problems,
    ))
}

/// One entry as the stream shows it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub kind: FileKind,
    pub sha256: Option<String>,
    pub link: Option<Vec<u8>>,
    pub size: u64,
}

/// What reading the whole bundle found.
#[derive(Debug, Clone, Serialize)]
pub struct Inner {
    pub top: String,
    pub entries: u64,
    pub files_checked: u64,
    pub manifest_items: u64,
    pub manifest_sha256: Option<String>,
}

/// Where extracted entries go, if anywhere.
pub trait Sink {
    /// Called for each entry below the top folder, with its data.
    fn entry(
        &mut self,
        rel: &[u8],
        e: &mut tar::Entry<'_, Box<dyn Read + '_>>,
        hasher: &mut Sha256,
    ) -> Result<()>;
    /// Called with the manifests, which the reader keeps in memory.
    fn manifest(&mut self, _rel: &[u8], _data: &[u8]) -> Result<()> {
        Ok(())
    }
}

/// A sink that only hashes.
pub struct HashOnly;

impl Sink for HashOnly {
    fn entry(
        &mut self,
        _rel: &[u8],
        e: &mut tar::Entry<'_, Box<dyn Read + '_>>,
        hasher: &mut Sha256,
    ) -> Result<()> {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = e.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            hasher.update(&buf[..n]);
        }
    }
}

/// Opens the decrypted, decompressed stream.
fn open_stream<'a>(bundle: &Path, ids: &'a [Box<dyn age::Identity>]) -> Result<Box<dyn Read + 'a>> {
    let (f, _) = crate::safefs::open_regular(bundle)?;
    let dec = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(
        BufReader::with_capacity(1 << 20, f),
    ))
    .map_err(|e| {
        crate::exit::hint(
            format!("{} is not an age file: {e}", bundle.display()),
            "give the .tar.gz.age bundle that ir collect wrote",
        )
    })?;
    let scrypt = dec.is_scrypt();
    let r = dec.decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity)).map_err(|e| {
        let fix = if scrypt {
            "this bundle is passphrase-encrypted: use --passphrase (or --passphrase-file / IR_PASSPHRASE) with the right passphrase"
        } else {
            "this bundle is encrypted to recipients: pass -i with the identity (private key) matching one of them"
        };
        crate::exit::hint(format!("cannot decrypt {}: {e}", bundle.display()), fix)
    })?;
    Ok(Box::new(flate2::read::MultiGzDecoder::new(
        BufReader::with_capacity(1 << 20, r),
    )))
}

/// Parses MANIFEST.sha256 lines (coreutils escaping) into name → hash.
pub fn parse_sums(text: &[u8]) -> Result<HashMap<Vec<u8>, String>> {
    let mut out = HashMap::new();
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let (escaped, line) = match line.strip_prefix(b"\\") {
            Some(l) => (true, l),
            None => (false, line),
        };
        if line.len() < 66 || &line[64..66] != b"  " {
            bail!("MANIFEST.sha256 line {} is malformed", i + 1);
        }
        let hex = String::from_utf8_lossy(&line[..64]).into_owned();
        let mut name = Vec::with_capacity(line.len() - 66);
        let mut it = line[66..].iter();
        while let Some(&b) = it.next() {
            if escaped && b == b'\\' {
                match it.next() {
                    Some(b'n') => name.push(b'\n'),
                    Some(b'r') => name.push(b'\r'),
                    Some(b'\\') => name.push(b'\\'),
                    _ => bail!("MANIFEST.sha256 line {} has a bad escape", i + 1),
                }
            } else {
                name.push(b);
            }
        }
        out.insert(name, hex);
    }
    Ok(out)
}

/// Streams the bundle through `sink`, then checks everything against the
/// manifests. Integrity problems are returned, not raised; errors are for
/// what cannot be read at all (no key fits, not an age file).
pub fn read_all(
    bundle: &Path,
    id: &IdentityArgs,
    sink: &mut dyn Sink,
) -> Result<(Inner, Vec<String>, Option<Manifest>)> {
    let ids = keys::identities(id)?;
    let stream = open_stream(bundle, &ids)?;
    let mut ar = tar::Archive::new(stream);
    let mut problems: Vec<String> = Vec::new();
    let mut top: Option<Vec<u8>> = None;
    let mut seen: BTreeMap<Vec<u8>, Seen> = BTreeMap::new();
    let mut manifest: Option<Vec<u8>> = None;
    let mut sums: Option<Vec<u8>> = None;
    let mut entries = 0u64;
    let iter = match ar.entries() {
        Ok(i) => i,
        Err(e) => {
            problems.push(format!("the archive cannot be read: {e}"));
            return Ok((
                Inner {
                    top: String::new(),
                    entries,
                    files_checked: 0,
                    manifest_items: 0,
                    manifest_sha256: None,
                },
                problems,
                None,
            ));
        }
    };
    for item in iter {
        crate::signal::check()?;
        let mut e = match item {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!(
                    "the stream breaks after {entries} entries: {e} (the bundle was modified or truncated)"
                ));
                break;
            }
        };
        entries += 1;
        let path = e.path_bytes().into_owned();
        let (first, rest) = match path.iter().position(|b| *b == b'/') {
            Some(i) => (path[..i].to_vec(), path[i + 1..].to_vec()),
            None => (path.clone(), Vec::new()),
        };
        match &top {
            None => top = Some(first.clone()),
            Some(t) if *t != first => {
                problems.push(format!(
                    "entry {} lies outside the top folder",
                    escape_bytes(&path)
                ));
                continue;
            }
            _ => {}
        }
        let kind = FileKind::from_tar(e.header().entry_type());
        let link = e.link_name_bytes().map(|l| l.into_owned());
        let size = e.size();
        let rel = rest.strip_suffix(b"/").unwrap_or(&rest).to_vec();
        if rel == b"manifest.json" || rel == b"MANIFEST.sha256" {
            if size > MAX_MANIFEST {
                problems.push(format!(
                    "{} is {size} bytes: too large to be ours",
                    escape_bytes(&rel)
                ));
                continue;
            }
            let mut buf = Vec::with_capacity(size as usize);
            if let Err(err) = (&mut e).take(MAX_MANIFEST).read_to_end(&mut buf) {
                problems.push(format!("reading {} failed: {err}", escape_bytes(&rel)));
                break;
            }
            if let Err(err) = sink.manifest(&rel, &buf) {
                problems.push(format!("{}: {err:#}", escape_bytes(&rel)));
            }
            if rel == b"manifest.json" {
                manifest = Some(buf);
            } else {
                sums = Some(buf);
            }
            continue;
        }
        let mut h = Sha256::new();
        let r = sink.entry(&rel, &mut e, &mut h);
        if let Err(err) = r {
            if err.chain().any(|c| c.is::<crate::exit::Interrupted>()) {
                return Err(err);
            }
            if err.chain().any(|c| c.downcast_ref::<io::Error>().is_some())
                && kind == FileKind::File
            {
                problems.push(format!(
                    "reading {} failed: {err:#} (the bundle was modified or truncated)",
                    escape_bytes(&rel)
                ));
                break;
            }
            problems.push(format!("{}: {err:#}", escape_bytes(&rel)));
        }
        let sha = match kind {
            FileKind::File => Some(hex::encode(h.finalize())),
            // A hard link stands for its target's content.
            FileKind::Hardlink => link
                .as_deref()
                .and_then(|l| {
                    l.iter()
                        .position(|b| *b == b'/')
                        .map(|i| l[i + 1..].to_vec())
                })
                .and_then(|t| seen.get(&t).and_then(|s| s.sha256.clone())),
            _ => None,
        };
        if seen
            .insert(
                rel.clone(),
                Seen {
                    kind,
                    sha256: sha,
                    link,
                    size,
                },
            )
            .is_some()
        {
            problems.push(format!(
                "{} appears twice in the archive",
                escape_bytes(&rel)
            ));
        }
    }
    let top_s = top.as_deref().map(escape_bytes).unwrap_or_default();
    let mut inner = Inner {
        top: top_s,
        entries,
        files_checked: 0,
        manifest_items: 0,
        manifest_sha256: None,
    };
    let Some(mbytes) = manifest else {
        problems.push("manifest.json is missing".into());
        return Ok((inner, problems, None));
    };
    inner.manifest_sha256 = Some(hex::encode(Sha256::digest(&mbytes)));
    let m: Manifest = match serde_json::from_slice(&mbytes) {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("manifest.json is not an ir manifest: {e}"));
            return Ok((inner, problems, None));
        }
    };
    inner.manifest_items = m.items.len() as u64;
    let mut listed: HashMap<Vec<u8>, &ManifestItem> = HashMap::new();
    for it in &m.items {
        let Some(ap) = it.archive_path.as_deref() else {
            continue;
        };
        let Some(raw) = unescape_bytes(ap) else {
            problems.push(format!("manifest item {ap:?} has a malformed path"));
            continue;
        };
        let raw = raw.strip_suffix(b"/").map(<[u8]>::to_vec).unwrap_or(raw);
        match seen.get(&raw) {
            None => problems.push(format!(
                "{} is in the manifest but not in the archive",
                escape_bytes(&raw)
            )),
            Some(s) => {
                if it.kind != Some(s.kind) {
                    problems.push(format!(
                        "{} is a {} in the archive but a {} in the manifest",
                        escape_bytes(&raw),
                        s.kind.as_str(),
                        it.kind.map_or("", FileKind::as_str)
                    ));
                }
                if s.kind == FileKind::File {
                    inner.files_checked += 1;
                    let want = it.sha256.as_deref();
                    if want != s.sha256.as_deref() {
                        problems.push(format!(
                            "{}: content hashes to {} but the manifest says {}",
                            escape_bytes(&raw),
                            s.sha256.as_deref().unwrap_or("-"),
                            want.unwrap_or("-")
                        ));
                    }
                }
            }
        }
        listed.insert(raw, it);
    }
    for (rel, s) in &seen {
        if !listed.contains_key(rel) {
            problems.push(format!(
                "{} ({}) is in the archive but not in the manifest",
                escape_bytes(rel),
                s.kind.as_str()
            ));
        }
    }
    match sums {
        None => problems.push("MANIFEST.sha256 is missing".into()),
        Some(text) => match parse_sums(&text) {
            Err(e) => problems.push(e.to_string()),
            Ok(map) => {
                for (name, want) in &map {
                    let got = if name == b"manifest.json" {
                        inner.manifest_sha256.clone()
                    } else {
                        seen.get(name).and_then(|s| s.sha256.clone())
                    };
                    if got.as_deref() != Some(want.as_str()) {
                        problems.push(format!(
                            "MANIFEST.sha256: {} does not match",
                            escape_bytes(name)
                        ));
                    }
                }
                for (rel, s) in &seen {
                    if s.kind == FileKind::File && !map.contains_key(rel) {
                        problems.push(format!("{} is not in MANIFEST.sha256", escape_bytes(rel)));
                    }
                }
            }
        },
    }
    Ok((inner, problems, Some(m)))
}

/// Writes entries under a fresh directory, safely.
pub struct Extractor {
    pub dir: PathBuf,
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

impl Extractor {
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
}

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

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
    fn manifest(&mut self, rel: &[u8], data: &[u8]) -> Result<()> {
        let dst = self.dir.join(safe_rel(rel)?);
        let mut f = create_private(&dst)?;
        io::Write::write_all(&mut f, data)?;
        Ok(())
    }

    fn entry(
        &mut self,
        rel: &[u8],
        e: &mut tar::Entry<'_, Box<dyn Read + '_>>,
        hasher: &mut Sha256,
    ) -> Result<()> {
        if rel.is_empty() {
            return Ok(());
        }
        let relp = safe_rel(rel)?;
        let dst = self.parents(&relp)?;
        match e.header().entry_type() {
            tar::EntryType::Directory => {
                match std::fs::symlink_metadata(&dst) {
                    Ok(m) if m.file_type().is_dir() => {}
                    Ok(_) => bail!("{} exists and is not a directory", dst.display()),
                    Err(_) => std::fs::DirBuilder::new().mode(0o700).create(&dst)?,
                }
                Ok(())
            }
            tar::EntryType::Symlink => {
                let target = e
                    .link_name_bytes()
                    .map(|l| l.into_owned())
                    .unwrap_or_default();
                // The link is recreated as data; nothing is ever written through it.
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), &dst)
                    .with_context(|| format!("creating the symlink {}", dst.display()))
            }
            tar::EntryType::Link => {
                let target = e
                    .link_name_bytes()
                    .map(|l| l.into_owned())
                    .unwrap_or_default();
                let trel = target
                    .iter()
                    .position(|b| *b == b'/')
                    .map(|i| target[i + 1..].to_vec())
                    .unwrap_or_default();
                let src = self.dir.join(safe_rel(&trel)?);
                let m = std::fs::symlink_metadata(&src)
                    .with_context(|| format!("hard link target {} missing", src.display()))?;
                if !m.file_type().is_file() {
                    bail!("hard link to {} which is not a regular file", src.display());
                }
                std::fs::hard_link(&src, &dst)?;
                Ok(())
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let mut f = create_private(&dst)?;
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = e.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    io::Write::write_all(&mut f, &buf[..n])?;
                }
                Ok(())
            }
            // Devices, FIFOs and anything else are never created.
            _ => Ok(()),
        }
    }
}

/// Sets extracted files' times from the manifest (nanoseconds), deepest
/// first so directory times survive their children.
pub fn restore_times(dir: &Path, manifest: &Manifest) {
    let mut paths: Vec<(PathBuf, std::time::SystemTime, std::time::SystemTime)> = Vec::new();
    let parse = |v: Option<&str>| {
        v.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(std::time::SystemTime::from)
    };
    for it in &manifest.items {
        let (Some(ap), Some(m)) = (it.archive_path.as_deref(), parse(it.mtime.as_deref())) else {
            continue;
        };
        if !matches!(it.kind, Some(FileKind::File | FileKind::Dir)) {
            continue;
        }
        let Some(raw) = unescape_bytes(ap) else {
            continue;
        };
        let raw = raw.strip_suffix(b"/").map(<[u8]>::to_vec).unwrap_or(raw);
        let Ok(rel) = safe_rel(&raw) else { continue };
        let a = parse(it.atime.as_deref()).unwrap_or(m);
        paths.push((dir.join(rel), m, a));
    }
    paths.sort_by_key(|(p, _, _)| std::cmp::Reverse(p.components().count()));
    for (p, m, a) in paths {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            continue;
        }
        if let Ok(f) = File::open(&p) {
            let _ = f.set_times(std::fs::FileTimes::new().set_modified(m).set_accessed(a));
        }
    }
}

/// Reads a whole small file for tests and tools.
pub fn read_lines(p: &Path) -> Result<Vec<String>> {
    Ok(BufReader::new(File::open(p)?)
        .lines()
        .collect::<io::Result<_>>()?)
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
    fn sums_round_trip() {
        let line = crate::evidence::collect::sha256sum_line(&"a".repeat(64), b"x\ny\\z");
        let m = parse_sums(&line).unwrap();
        assert_eq!(m.get(b"x\ny\\z".as_slice()).unwrap(), &"a".repeat(64));
    }

    proptest! {
        #[test]
        fn sums_parser_never_panics(b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_sums(&b);
        }
        #[test]
        fn safe_rel_never_escapes(b in proptest::collection::vec(any::<u8>(), 0..60)) {
            if let Ok(p) = safe_rel(&b) {
                prop_assert!(p.is_relative());
                prop_assert!(p.components().all(|c| matches!(c, Component::Normal(_))));
            }
        }
    }
}
