//! Reading a bundle back: `ir verify` and `ir extract`.
//!
//! Without a key, the ciphertext is checked against its sidecar and the case
//! journal, and the age header is parsed. With a key, the bundle is streamed
//! through age, gzip and tar once ([`super::tarr`], [`super::pass`]); every
//! entry is hashed as it passes through a [`Sink`] and checked against both
//! manifests (`manifest.json` and `MANIFEST.sha256`, which come last in the
//! archive): every item present, nothing extra, every hash equal.

use super::keys::{self, IdentityArgs};
pub use super::pass::{Inner, Limits};
use super::tarr::Member;
use anyhow::{Context, Result};
use serde::Serialize;
use sha2::Sha256;
use std::io::{BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

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

/// Checks the ciphertext without a key: its hash against the sidecar and
/// the case journal, and its age header.
pub fn outer(bundle: &Path, case_journal: Option<&Path>) -> Result<(Outer, Vec<String>)> {
    let (f, meta) = crate::safefs::open_regular(bundle)?;
    let sha = crate::journal::sha256_reader(BufReader::with_capacity(
        1 << 20,
        super::progress::Counted(f),
    ))
    .with_context(|| format!("reading {}", bundle.display()))?;
    let mut problems = Vec::new();
    let sidecar_matches = check_sidecar(bundle, &sha, &mut problems);
    let journal = journal_for(bundle, case_journal);
    let (journal_matches, journal_manifest) = match &journal {
        Some(j) => check_journal_record(j, bundle, &sha, &mut problems)?,
        None => (None, None),
    };
    let encrypted_to = check_age_header(bundle, &mut problems)?;
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

/// Compares the ciphertext hash `sha` with `<bundle>.sha256`: `None` when
/// there is no sidecar, `Some(false)` (with a problem) when it differs or
/// cannot be read.
fn check_sidecar(bundle: &Path, sha: &str, problems: &mut Vec<String>) -> Option<bool> {
    let mut side = bundle.as_os_str().to_owned();
    side.push(".sha256");
    match crate::safefs::read_bounded(Path::new(&side), 64 * 1024) {
        Ok(b) => {
            let text = String::from_utf8_lossy(&b);
            // sha256sum prefixes the line with a backslash when the name is escaped.
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
    }
}

/// The journal that recorded the collection: the one beside the bundle
/// (a case dir holds both), else the case's, whichever exists.
fn journal_for(bundle: &Path, case_journal: Option<&Path>) -> Option<PathBuf> {
    let beside = bundle
        .parent()
        .map(|d| d.join(crate::journal::JOURNAL_FILE));
    beside
        .filter(|p| p.exists())
        .or_else(|| case_journal.map(Path::to_path_buf).filter(|p| p.exists()))
}

/// Compares the ciphertext hash `sha` with the last collection `journal`
/// recorded under the bundle's file name. Returns whether it matched and
/// the manifest hash recorded, both `None` when no collection names it.
fn check_journal_record(
    journal: &Path,
    bundle: &Path,
    sha: &str,
    problems: &mut Vec<String>,
) -> Result<(Option<bool>, Option<String>)> {
    let name = bundle
        .file_name()
        .map(|n| n.as_bytes().to_vec())
        .unwrap_or_default();
    // A journal that fails its own chain cannot vouch for a bundle: an
    // entry whose digest is wrong may say anything.
    let v = crate::journal::verify(journal)?;
    if v.verdict == crate::journal::Verdict::Tampered {
        problems.push(format!(
            "the case journal {} fails verification ({} problem(s), run ir journal verify): it cannot vouch for this bundle",
            crate::sanitize::escape_path(journal),
            v.problems.len()
        ));
        return Ok((Some(false), None));
    }
    let entries = crate::journal::read_entries(journal)?;
    let mut recorded = None;
    for c in crate::journal::collects(&entries) {
        let (_, r) = c?;
        // Matched by file name: the bundle may have been moved since.
        if r.bundle.file_name().map(|n| n.as_bytes()) == Some(&name[..]) {
            recorded = Some(r);
        }
    }
    let Some(r) = recorded else {
        return Ok((None, None));
    };
    let ok = r.sha256 == sha;
    if !ok {
        problems.push(format!(
            "the bundle hashes to {sha} but the case journal recorded {}",
            r.sha256
        ));
    }
    Ok((Some(ok), Some(r.manifest_sha256)))
}

/// Parses the age header (binary or armored) and says what the bundle is
/// encrypted to: `recipients`, `passphrase`, or `unknown` with a problem.
fn check_age_header(bundle: &Path, problems: &mut Vec<String>) -> Result<&'static str> {
    let (f, _) = crate::safefs::open_regular(bundle)?;
    let dec = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(BufReader::new(f)));
    Ok(match &dec {
        Ok(d) if d.is_scrypt() => "passphrase",
        Ok(_) => "recipients",
        Err(e) => {
            problems.push(format!("the age header is malformed: {e}"));
            "unknown"
        }
    })
}

/// Where a bundle's members go, if anywhere, as they stream by.
pub trait Sink {
    /// Called for each member below the top folder but the manifests, with
    /// its logical content (holes as zeros), which the sink must read to
    /// its end through `hasher`.
    fn entry(
        &mut self,
        rel: &[u8],
        m: &Member,
        data: &mut dyn Read,
        hasher: &mut Sha256,
    ) -> Result<()>;
    /// Where to copy a manifest as it streams by, if anywhere.
    fn manifest(&mut self, _rel: &[u8]) -> Result<Option<Box<dyn Write>>> {
        Ok(None)
    }
    /// Called with each manifest.json item as it is parsed (after every
    /// member it may describe has passed).
    fn item(&mut self, _it: &crate::record::ManifestItem) {}
}

/// Reads an entry to its end, hashing every byte, and returns its first
/// `keep` bytes (the rest is hashed, never held: the archive is hostile).
pub fn hash_keeping(e: &mut dyn Read, hasher: &mut Sha256, keep: usize) -> Result<Vec<u8>> {
    use sha2::Digest;
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = e.read(&mut buf)?;
        if n == 0 {
            return Ok(kept);
        }
        hasher.update(&buf[..n]);
        let room = keep.saturating_sub(kept.len()).min(n);
        kept.extend_from_slice(&buf[..room]);
    }
}

/// A sink that only hashes.
pub struct HashOnly;

impl Sink for HashOnly {
    fn entry(&mut self, _: &[u8], _: &Member, e: &mut dyn Read, hasher: &mut Sha256) -> Result<()> {
        hash_keeping(e, hasher, 0).map(drop)
    }
}

/// A sink that hashes like [`HashOnly`] and also keeps the bundle's
/// journal and `seal.age` in memory, for checking the journal's seals.
#[derive(Default)]
pub struct KeepJournal {
    pub journal: Option<Vec<u8>>,
    pub seal_age: Option<Vec<u8>>,
}

impl Sink for KeepJournal {
    fn entry(
        &mut self,
        rel: &[u8],
        m: &Member,
        e: &mut dyn Read,
        hasher: &mut Sha256,
    ) -> Result<()> {
        let slot = match rel {
            b"journal.jsonl" => &mut self.journal,
            b"seal.age" => &mut self.seal_age,
            _ => return HashOnly.entry(rel, m, e, hasher),
        };
        *slot = Some(hash_keeping(e, hasher, crate::journal::MAX_LINE * 4)?);
        Ok(())
    }
}

/// Opens the decrypted, decompressed stream.
fn open_stream<'a>(bundle: &Path, ids: &'a [Box<dyn age::Identity>]) -> Result<Box<dyn Read + 'a>> {
    let (f, _) = crate::safefs::open_regular(bundle)?;
    let dec = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(
        BufReader::with_capacity(1 << 20, super::progress::Counted(f)),
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
/// Streams the bundle through `sink`, then checks everything against the
/// manifests. Integrity problems are returned, not raised; errors are for
/// what cannot be read at all (no key fits, not an age file).
pub fn read_all(
    bundle: &Path,
    id: &IdentityArgs,
    limits: Limits,
    sink: &mut dyn Sink,
) -> Result<(Inner, Vec<String>)> {
    read_all_with(bundle, &keys::identities(id)?, limits, sink)
}

/// [`read_all`] with identities already loaded (a passphrase asked once
/// serves the bundle and its `seal.age`).
pub fn read_all_with(
    bundle: &Path,
    ids: &[Box<dyn age::Identity>],
    limits: Limits,
    sink: &mut dyn Sink,
) -> Result<(Inner, Vec<String>)> {
    let mut counted = Counting { inner: sink, n: 0 };
    super::pass::check_archive(open_stream(bundle, ids)?, limits, &mut counted)
}

/// A sink that tells the progress bar how many files went by.
struct Counting<'a> {
    inner: &'a mut dyn Sink,
    n: u64,
}

impl Sink for Counting<'_> {
    fn entry(
        &mut self,
        rel: &[u8],
        m: &Member,
        data: &mut dyn Read,
        hasher: &mut Sha256,
    ) -> Result<()> {
        self.n += 1;
        super::progress::file(self.n, rel);
        self.inner.entry(rel, m, data, hasher)
    }
    fn manifest(&mut self, rel: &[u8]) -> Result<Option<Box<dyn Write>>> {
        self.inner.manifest(rel)
    }
    fn item(&mut self, it: &crate::record::ManifestItem) {
        self.inner.item(it)
    }
}
