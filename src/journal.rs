//! The case journal: an append-only, hash-chained record of everything `ir`
//! did, in `<case>/journal.jsonl`.
//!
//! Each line is one JSON object whose last member is `"digest"`, the SHA-256
//! of the line as it would read without that member; `prev` holds the digest
//! of the entry before (zeros for the first) and `seq` counts from 0. So a
//! changed byte breaks a digest, a deleted or swapped line breaks `seq` and
//! `prev`, and a hand-written line breaks all three.
//!
//! A sidecar `journal.head` (written atomically after each append) records
//! the last `seq` and digest. It is what tells a journal whose tail was cut
//! off (tampering) from one whose writer was killed (an interrupted run):
//!
//! - killed after the line but before the head: the head is one entry behind;
//! - killed in the middle of the write: a final fragment with no newline and
//!   a head that still names the entry before it.
//!
//! The next append after an interrupted write does not rewrite the fragment
//! (it is evidence too): it terminates it and names it, by offset, length and
//! hash, in its own `recovered_partial` member, so the verifier can tell it
//! from a line slipped in by hand.
//!
//! Appends take an exclusive `flock` on the journal, write the line with one
//! `write`, and `fsync`, so concurrent `ir` processes never interleave or
//! fork the chain.
//!
//! Once the case is sealed ([`crate::seal`]), each line ends with a `seal`
//! member after `digest`: the HMAC of the digest under a key that evolves
//! one way after every entry. The digest is computed as before, over the
//! line without either, so older journals read unchanged; [`verify_with`]
//! recomputes the seals when given the seed.

use crate::record::{CollectRecord, End, Envelope, Event, Partial, Record, Status};
use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The format marker carried by the first entry of every journal.
pub const FORMAT: &str = "ir-journal/1";
/// File name of the journal inside a case dir.
pub const JOURNAL_FILE: &str = "journal.jsonl";
/// The `prev` of the first entry.
pub const ZERO_DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// No single entry may be longer than this (a bound on hostile input).
pub const MAX_LINE: usize = 64 << 20;

const DIGEST_PREFIX: &[u8] = b",\"digest\":\"";
const SEAL_PREFIX: &[u8] = b",\"seal\":\"";

/// What starts sealing: the new seed, and what to encrypt it to (none
/// when the operator only writes down the verification key).
pub struct SealStart<'a> {
    pub seed: crate::seal::Key,
    pub enc: Option<&'a crate::evidence::keys::Encryption>,
}

/// The journal of one case dir.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
}

/// Who and what is writing: stamped on every entry.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub host: String,
    pub uid: u32,
    pub user: String,
    pub pid: u32,
    pub ir_version: &'static str,
}

impl Identity {
    /// The identity of this process.
    pub fn current() -> &'static Identity {
        static ID: OnceLock<Identity> = OnceLock::new();
        ID.get_or_init(|| {
            let uid = rustix::process::getuid().as_raw();
            Identity {
                host: rustix::system::uname()
                    .nodename()
                    .to_string_lossy()
                    .into_owned(),
                uid,
                user: crate::host::users::local_user_name(uid).unwrap_or_else(|| uid.to_string()),
                pid: std::process::id(),
                ir_version: env!("CARGO_PKG_VERSION"),
            }
        })
    }
}

/// The SHA-256 of the running `ir` binary, read through `/proc/self/exe`
/// so a binary replaced on disk after start is not what gets hashed.
pub fn self_sha256() -> Option<String> {
    let f = File::open("/proc/self/exe")
        .or_else(|_| File::open(std::env::current_exe()?))
        .ok()?;
    sha256_reader(f).ok()
}

/// Streams a reader through SHA-256.
pub fn sha256_reader(mut r: impl Read) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// The current time as RFC 3339 UTC with nanoseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// What an append returns: enough to cite the entry elsewhere.
#[derive(Debug, Clone, Serialize)]
pub struct Appended {
    pub seq: u64,
    pub digest: String,
}

/// The head sidecar: the last entry a completed append wrote.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Head {
    pub seq: u64,
    pub digest: String,
    /// Journal size in bytes right after that append.
    pub size: u64,
}

/// The head sidecar's path for a journal file.
pub fn head_path(journal: &Path) -> PathBuf {
    let stem = journal
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "journal".into());
    journal.with_file_name(format!("{stem}.head"))
}

/// A parsed, digest-checked entry line.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    pub prev: String,
    pub digest: String,
    /// The entry's seal (HMAC of its digest under the case's evolving
    /// key), when the journal was sealed as it was written.
    pub seal: Option<String>,
    /// Whether the digest matches the line.
    pub digest_ok: bool,
    /// The entry as a typed record, or why it is not one (a line with a
    /// valid digest that is no `ir` record was not written by `ir`).
    pub record: Result<Envelope, String>,
}

impl Entry {
    /// The typed entry, when it is one.
    pub fn envelope(&self) -> Option<&Envelope> {
        self.record.as_ref().ok()
    }

    /// What the entry says, when it is a typed entry.
    pub fn body(&self) -> Option<&Record> {
        self.envelope().map(|e| &e.body)
    }

    /// The `end` record, when this is one.
    pub fn end(&self) -> Option<&End> {
        match self.body() {
            Some(Record::End(e)) => Some(e),
            _ => None,
        }
    }

    /// The `event` record, when this is one.
    pub fn event(&self) -> Option<&Event> {
        match self.body() {
            Some(Record::Event(e)) => Some(e),
            _ => None,
        }
    }

    /// The time the entry was written.
    pub fn ts(&self) -> &str {
        self.envelope().map_or("", |e| e.ts.as_str())
    }
}

/// The members every line must have to be chained at all, read before the
/// typed record so that a line that is not a record still takes its place
/// in the chain.
#[derive(serde::Deserialize)]
struct Chained {
    seq: u64,
    prev: String,
    digest: String,
    #[serde(default)]
    seal: Option<String>,
}

/// Finds a trailing `<prefix><64 lowercase hex>"` that ends at `end`
/// (exclusive). Returns where the prefix starts and the hex.
fn hex_member<'a>(line: &'a [u8], end: usize, prefix: &[u8]) -> Option<(usize, &'a str)> {
    let start = end.checked_sub(prefix.len() + 64 + 1)?;
    let (p, rest) = line[start..end].split_at(prefix.len());
    let hex = rest.strip_suffix(b"\"")?;
    if p != prefix
        || !hex
            .iter()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return None;
    }
    Some((start, std::str::from_utf8(hex).ok()?))
}

/// Splits off the trailing `,"digest":"<64 hex>"` (and the optional
/// `,"seal":"<64 hex>"` after it) and checks the digest. Returns `None`
/// when the line is not shaped like an `ir` entry at all.
pub fn parse_entry(line: &[u8]) -> Option<Entry> {
    if line.len() < 2 * DIGEST_PREFIX.len()
        || !line.ends_with(b"}")
        || !line.starts_with(b"{\"seq\":")
    {
        return None;
    }
    let close = line.len() - 1;
    let (close, seal) = match hex_member(line, close, SEAL_PREFIX) {
        Some((at, s)) => (at, Some(s)),
        None => (close, None),
    };
    let (cut, digest) = hex_member(line, close, DIGEST_PREFIX)?;
    if cut < 2 {
        return None;
    }
    // The object must be JSON with no member twice: a decoy `digest`,
    // `seal` or `seq` earlier in the line must not be what a reader sees.
    let chained: Chained = serde_json::from_slice(line).ok()?;
    let mut h = Sha256::new();
    h.update(&line[..cut]);
    h.update(b"}");
    let digest_ok = hex::encode(h.finalize()) == digest
        && chained.digest == digest
        && chained.seal.as_deref() == seal;
    let record = serde_json::from_slice::<Envelope>(line).map_err(|e| e.to_string());
    Some(Entry {
        seq: chained.seq,
        prev: chained.prev,
        digest: digest.to_string(),
        seal: seal.map(str::to_owned),
        digest_ok,
        record,
    })
}

/// Serializes an entry body and closes it with its digest, then with its
/// seal under `key` when the journal is sealed.
fn finish_line(body: &Map<String, Value>, key: Option<&[u8; 32]>) -> Result<(Vec<u8>, String)> {
    let text = serde_json::to_vec(body)?;
    let digest = sha256_hex(&text);
    let mut line = text;
    line.pop(); // the closing brace
    line.extend_from_slice(DIGEST_PREFIX);
    line.extend_from_slice(digest.as_bytes());
    if let Some(k) = key {
        line.extend_from_slice(b"\"");
        line.extend_from_slice(SEAL_PREFIX);
        line.extend_from_slice(crate::seal::mac(k, &digest).as_bytes());
    }
    line.extend_from_slice(b"\"}");
    Ok((line, digest))
}

/// The end of a journal file, as an append sees it.
struct Tail {
    /// The last complete (newline-terminated) line.
    last: Option<Vec<u8>>,
    /// A final fragment with no newline: (offset, bytes).
    partial: Option<(u64, Vec<u8>)>,
}

/// Reads backwards from the end for the last complete line and any final
/// fragment, without reading the whole file.
fn read_tail(f: &File, len: u64) -> Result<Tail> {
    // Chunks read backwards, newest last; each is counted once and they
    // are joined once, so a long last line costs linear time (prepending
    // and recounting the whole buffer per chunk was quadratic).
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let (mut start, mut newlines, mut read) = (len, 0usize, 0usize);
    // Two line breaks bracket the last complete line (or we reach the start).
    while start > 0 && newlines < 2 {
        if read > 2 * MAX_LINE {
            bail!("the journal's last line is longer than {MAX_LINE} bytes");
        }
        let step = (1 << 20).min(start);
        let mut chunk = vec![0u8; step as usize];
        f.read_exact_at(&mut chunk, start - step)?;
        newlines += chunk.iter().filter(|b| **b == b'\n').count();
        read += chunk.len();
        chunks.push(chunk);
        start -= step;
    }
    let buf: Vec<u8> = chunks.into_iter().rev().flatten().collect(); // the bytes [start, len)
    let Some(i) = buf.iter().rposition(|b| *b == b'\n') else {
        let partial = (!buf.is_empty()).then_some((start, buf));
        return Ok(Tail {
            last: None,
            partial,
        });
    };
    let partial = (i + 1 < buf.len()).then(|| (start + i as u64 + 1, buf[i + 1..].to_vec()));
    let region = &buf[..i];
    let from = region
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |j| j + 1);
    Ok(Tail {
        last: Some(region[from..].to_vec()),
        partial,
    })
}

fn open_for_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .with_context(|| format!("opening the journal {}", path.display()))
}

impl Journal {
    /// The seq and prev of the entry an append will write after `tail`,
    /// refusing to chain onto a damaged entry or a foreign fragment.
    fn next_position(&self, tail: &Tail) -> Result<(u64, String)> {
        let next = match &tail.last {
            None => (0, ZERO_DIGEST.to_string()),
            Some(line) => {
                let e = parse_entry(line).filter(|e| e.digest_ok).ok_or_else(|| {
                    crate::exit::hint(
                        format!("the last entry of {} is damaged", self.path.display()),
                        "run `ir journal verify` on it, and continue in a new --case",
                    )
                })?;
                (e.seq + 1, e.digest)
            }
        };
        if let Some((_, frag)) = &tail.partial
            && !frag.starts_with(b"{\"seq\":")
        {
            bail!(
                "{} ends with a line ir did not write; run `ir journal verify` and continue in a new --case",
                self.path.display()
            );
        }
        Ok(next)
    }

    /// Opens (creating if needed) the journal of `case_dir`. Refuses a file
    /// that is not an `ir` journal.
    pub fn open(case_dir: &Path) -> Result<Journal> {
        crate::safefs::ensure_private_dir(case_dir).map_err(|e| {
            crate::exit::hint(
                format!("cannot use case dir {}: {e:#}", case_dir.display()),
                "pass a writable --case DIR (or set IR_CASE)",
            )
        })?;
        let path = case_dir.join(JOURNAL_FILE);
        let j = Journal { path };
        j.check_is_ir_journal()?;
        Ok(j)
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_is_ir_journal(&self) -> Result<()> {
        let f = match crate::safefs::open_nofollow(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(anyhow!(e)).with_context(|| format!("opening {}", self.path.display()));
            }
        };
        if !f.metadata()?.file_type().is_file() {
            bail!("{} is not a regular file", self.path.display());
        }
        let mut first = Vec::new();
        BufReader::new(f.take(MAX_LINE as u64)).read_until(b'\n', &mut first)?;
        if first.is_empty() {
            return Ok(());
        }
        let ok = match parse_entry(first.strip_suffix(b"\n").unwrap_or(&first)) {
            Some(e) => e.seq == 0 && e.envelope().and_then(|v| v.format.as_deref()) == Some(FORMAT),
            // A first write that was cut short is still ours.
            None => !first.ends_with(b"\n") && first.starts_with(b"{\"seq\":0,"),
        };
        if !ok {
            return Err(crate::exit::hint(
                format!("{} is not an ir journal", self.path.display()),
                "point --case at an ir case dir, or at a new empty one",
            ));
        }
        Ok(())
    }

    /// Appends one entry, stamped with seq, prev, time and the writer's
    /// identity, and sealed when the case is. Returns its seq and digest.
    pub fn append(&self, record: Record) -> Result<Appended> {
        self.append_inner(record, None)
    }

    /// Appends `record` as the first sealed entry: under the journal's lock,
    /// writes `seal.age` (the seed and this entry's seq, encrypted), seals
    /// the entry with the seed and leaves only the next key on disk.
    pub fn append_starting_seal(&self, record: Record, start: SealStart) -> Result<Appended> {
        self.append_inner(record, Some(start))
    }

    /// Whether this journal was sealed: its key file or its `seal.age`
    /// exists. Either means sealing must not begin again: a new seed would
    /// replace the `seal.age` that verifies the entries already sealed.
    pub fn is_sealed(&self) -> bool {
        crate::seal::key_path(&self.path).exists()
            || crate::seal::seal_age_path(&self.path).exists()
    }

    /// The key that seals entry `seq`: the new seed, the key file's key
    /// evolved up to `seq`, or none for an unsealed journal.
    fn entry_key(&self, seq: u64, start: Option<SealStart>) -> Result<Option<crate::seal::Key>> {
        use crate::seal;
        let key_file = seal::key_path(&self.path);
        if let Some(st) = start {
            if self.is_sealed() {
                bail!("{} is already sealed", self.path.display());
            }
            let s = seal::Seed {
                seed: st.seed,
                first_seq: seq,
            };
            if let Some(enc) = st.enc {
                seal::write_seal_age(&seal::seal_age_path(&self.path), enc, &s)?;
            }
            return Ok(Some(s.seed));
        }
        let Some(state) = seal::read_state(&key_file)? else {
            return Ok(None);
        };
        if state.seq > seq {
            return Err(crate::exit::hint(
                format!(
                    "the seal key {} is for entry {} but the journal's next entry is {seq}: its end was cut off",
                    key_file.display(),
                    state.seq
                ),
                "run `ir journal verify -i IDENTITY`, and continue in a new --case",
            ));
        }
        Ok(Some(seal::evolve_by(&state.key, seq - state.seq)))
    }

    fn append_inner(&self, record: Record, start: Option<SealStart>) -> Result<Appended> {
        let mut file = open_for_append(&self.path)?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .with_context(|| format!("locking {}", self.path.display()))?;
        let len = file.metadata()?.len();
        let tail = read_tail(&file, len)?;
        let (seq, prev) = self.next_position(&tail)?;
        let key = self.entry_key(seq, start)?;
        let id = Identity::current();
        let envelope = Envelope {
            seq,
            prev,
            ts: now_rfc3339(),
            format: (seq == 0).then(|| FORMAT.to_string()),
            ir_sha256: if seq == 0 { self_sha256() } else { None },
            ir_build: (seq == 0).then(|| env!("IR_GIT_COMMIT").to_string()),
            host: id.host.clone(),
            uid: id.uid,
            user: id.user.clone(),
            pid: id.pid,
            ir_version: id.ir_version.to_string(),
            recovered_partial: tail.partial.as_ref().map(|(off, frag)| Partial {
                offset: *off,
                bytes: frag.len() as u64,
                sha256: sha256_hex(frag),
            }),
            body: record,
        };
        let Value::Object(body) = serde_json::to_value(&envelope)? else {
            bail!("a journal entry must serialise to an object");
        };
        let (line, digest) = finish_line(&body, key.as_deref())?;
        let mut buf = Vec::with_capacity(line.len() + 2);
        if tail.partial.is_some() {
            buf.push(b'\n');
        }
        buf.extend_from_slice(&line);
        buf.push(b'\n');
        file.write_all(&buf)
            .and_then(|_| file.sync_data())
            .with_context(|| format!("appending to {}", self.path.display()))?;
        if let Some(k) = key {
            // The line is on disk; only now may its key go. `k` is wiped
            // when dropped here.
            let next = crate::seal::KeyState {
                seq: seq + 1,
                key: crate::seal::evolve(&k),
            };
            crate::seal::write_state(&crate::seal::key_path(&self.path), &next)?;
        }
        let head = Head {
            seq,
            digest: digest.clone(),
            size: len + buf.len() as u64,
        };
        crate::safefs::write_atomic(&head_path(&self.path), &serde_json::to_vec(&head)?, 0o600)?;
        Ok(Appended { seq, digest })
        // The flock is released when `file` is dropped.
    }
}

/// The verdict of [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every entry chains; nothing was cut short.
    Intact,
    /// The chain is intact but a run was killed while writing.
    Interrupted,
    /// Edited, deleted, reordered, appended by hand or truncated.
    Tampered,
}

/// One thing found wrong, located by line (1-based) and byte offset.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub line: u64,
    pub offset: u64,
    pub seq: Option<u64>,
    pub kind: &'static str,
    pub message: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub journal: String,
    pub verdict: Verdict,
    pub entries: u64,
    pub last_seq: Option<u64>,
    pub last_digest: Option<String>,
    pub head: Option<Head>,
    /// Tampering, first one first.
    pub problems: Vec<Problem>,
    /// Things worth knowing that are not tampering (interrupted runs...).
    pub notes: Vec<String>,
    /// What the seals say (checked only with the seed).
    pub seal: SealReport,
}

/// The seals of a journal, as [`verify_sealed`] found them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SealReport {
    /// Whether the seals were recomputed from the seed.
    pub checked: bool,
    /// The fingerprint of the seed they were checked with.
    pub fingerprint: Option<String>,
    /// The entry sealing began at (from the seed; else the first sealed).
    pub first_seq: Option<u64>,
    /// How many entries carry a seal.
    pub sealed: u64,
    pub last_sealed: Option<u64>,
    /// The first entry whose seal fails, and how many fail in all.
    pub first_failed: Option<u64>,
    pub failed: u64,
    /// Entries after the last sealed one that carry no seal.
    pub unsealed_after: u64,
    /// The key file's next seq, when it was read.
    pub key_seq: Option<u64>,
}

/// Verifies a journal file's chain, sequence and head. Errors only when the
/// file cannot be read or holds no `ir` entry at all.
pub fn verify(path: &Path) -> Result<Report> {
    verify_with(path, &Checks::default())
}

/// What [`verify_with`] checks beyond the chain.
#[derive(Default)]
pub struct Checks<'a> {
    /// The seed from `seal.age`: every seal and the key file are checked.
    pub seed: Option<&'a crate::seal::Seed>,
    /// A head recorded out of band (hex prefix of a digest): it must be
    /// an entry of this chain.
    pub expect_head: Option<&'a str>,
}

/// [`verify`], plus the seals and an out-of-band head when given.
pub fn verify_with(path: &Path, checks: &Checks) -> Result<Report> {
    // A FIFO, device or directory is no journal: said so, never read as
    // an empty one.
    let (f, _) = crate::safefs::open_regular(path).map_err(|e| {
        crate::exit::hint(
            e.to_string(),
            "give the case's journal.jsonl (a regular file)",
        )
    })?;
    // A shared lock waits out an append in progress, but never for long:
    // a hostile process holding the lock must not hang verification.
    for _ in 0..100 {
        if rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockShared).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut v = Verifier::new(path, read_head(path));
    v.seed = checks.seed;
    v.expect_head = checks.expect_head.map(str::to_ascii_lowercase);
    for (i, item) in crate::safefs::bounded_lines(f, MAX_LINE).enumerate() {
        let (off, bytes, terminated) =
            item.with_context(|| format!("reading {}", path.display()))?;
        let at = Line {
            no: i as u64 + 1,
            off,
        };
        if !terminated {
            v.partial = Some((at, bytes));
            break;
        }
        v.line(at, &bytes);
    }
    v.finish(path)
}

/// The head sidecar, with a note when it is unusable.
fn read_head(journal: &Path) -> (Option<Head>, Option<String>) {
    let head_file = head_path(journal);
    match crate::safefs::read_bounded(&head_file, 4096) {
        Ok(b) => match serde_json::from_slice(&b) {
            Ok(h) => (Some(h), None),
            Err(_) => (
                None,
                Some(format!(
                    "{} is unreadable as a head record; ignored",
                    head_file.display()
                )),
            ),
        },
        Err(e) if e.is_not_found() => (None, None),
        Err(e) => (None, Some(format!("head record not read: {e}"))),
    }
}

/// The line every command ends with, `journal: seq N head <16 hex>`, for
/// the operator to copy off the host (`ir journal verify --expect-head`
/// checks against it). `None` when the case has no head yet.
pub fn head_line(case_dir: &Path) -> Option<String> {
    let (head, _) = read_head(&case_dir.join(JOURNAL_FILE));
    let h = head?;
    Some(format!(
        "journal: seq {} head {}",
        h.seq,
        h.digest.get(..16).unwrap_or(&h.digest)
    ))
}

/// Where a line sits in the file: 1-based number and byte offset.
#[derive(Debug, Clone, Copy)]
struct Line {
    no: u64,
    off: u64,
}

/// A terminated line that is not an entry, waiting to be claimed by the
/// next entry's `recovered_partial`.
struct Junk {
    at: Line,
    len: u64,
    sha256: String,
}

/// The verifier's state between lines: what the next entry must be, and
/// what has been seen so far.
struct Verifier<'s> {
    head_file: PathBuf,
    seed: Option<&'s crate::seal::Seed>,
    expect_head: Option<String>,
    /// The entry whose digest the expected head names.
    head_found: Option<u64>,
    /// The last key derived, for the seq it seals (saves re-deriving).
    key: Option<(u64, crate::seal::Key)>,
    seal: SealReport,
    head: Option<Head>,
    problems: Vec<Problem>,
    notes: Vec<String>,
    entries: u64,
    expected_seq: u64,
    prev_digest: String,
    last: Option<(u64, String)>,
    pending_junk: Option<Junk>,
    partial: Option<(Line, Vec<u8>)>,
    /// Runs with a start and no end yet: (run id, command).
    open_runs: Vec<(String, String)>,
}

impl<'s> Verifier<'s> {
    fn new(journal: &Path, (head, note): (Option<Head>, Option<String>)) -> Verifier<'s> {
        Verifier {
            head_file: head_path(journal),
            seed: None,
            expect_head: None,
            head_found: None,
            key: None,
            seal: SealReport::default(),
            head,
            problems: Vec::new(),
            notes: note.into_iter().collect(),
            entries: 0,
            expected_seq: 0,
            prev_digest: ZERO_DIGEST.to_string(),
            last: None,
            pending_junk: None,
            partial: None,
            open_runs: Vec::new(),
        }
    }

    fn problem(&mut self, at: Line, seq: Option<u64>, kind: &'static str, message: String) {
        if self.problems.len() < 50 {
            self.problems.push(Problem {
                line: at.no,
                offset: at.off,
                seq,
                kind,
                message,
            });
        }
    }

    /// One terminated line.
    fn line(&mut self, at: Line, bytes: &[u8]) {
        let parsed = parse_entry(bytes);
        if let Some(j) = &self.pending_junk
            && parsed.is_none()
        {
            // Two junk lines in a row: the first cannot be an interrupted write.
            let jl = j.at;
            self.problem(
                jl,
                None,
                "foreign_line",
                format!("line {} is not an ir entry (written by hand?)", jl.no),
            );
            self.pending_junk = None;
        }
        match parsed {
            None => {
                if self.pending_junk.is_none() {
                    self.pending_junk = Some(Junk {
                        at,
                        len: bytes.len() as u64,
                        sha256: sha256_hex(bytes),
                    });
                }
            }
            Some(e) => self.entry(at, &e),
        }
    }

    /// One line that is shaped like an entry.
    fn entry(&mut self, at: Line, e: &Entry) {
        self.entries += 1;
        self.claim_junk(at, e);
        if !e.digest_ok {
            self.problem(
                at,
                Some(e.seq),
                "edited",
                format!(
                    "entry {} (line {}) does not match its digest: it was edited",
                    e.seq, at.no
                ),
            );
        } else if let Err(why) = &e.record {
            self.problem(
                at,
                Some(e.seq),
                "not_a_record",
                format!(
                    "entry {} (line {}) chains but is not an ir record ({why})",
                    e.seq, at.no
                ),
            );
        }
        if e.seq == 0 && e.envelope().and_then(|v| v.format.as_deref()) != Some(FORMAT) {
            self.problem(
                at,
                Some(0),
                "edited",
                "the first entry lacks the ir journal format marker".into(),
            );
        }
        self.check_position(at, e);
        self.check_seal(at, e);
        if let Some(h) = &self.expect_head
            && e.digest_ok
            && e.digest.starts_with(h.as_str())
        {
            self.head_found = Some(e.seq);
        }
        self.track_run(e);
        self.expected_seq = e.seq + 1;
        self.prev_digest = e.digest.clone();
        self.last = Some((e.seq, e.digest.clone()));
    }

    /// A junk line before an entry is an interrupted write only if this
    /// entry names it, by offset, length and hash.
    fn claim_junk(&mut self, at: Line, e: &Entry) {
        let claimed = e.envelope().and_then(|v| v.recovered_partial.as_ref());
        match (self.pending_junk.take(), claimed) {
            (Some(j), Some(c)) => {
                if c.offset == j.at.off && c.bytes == j.len && c.sha256 == j.sha256 {
                    self.notes.push(format!(
                        "line {} is the fragment of a write that was interrupted (a killed run); entry {} recorded it",
                        j.at.no, e.seq
                    ));
                } else {
                    self.problem(
                        j.at,
                        None,
                        "foreign_line",
                        format!(
                            "line {} is not an ir entry and does not match the interrupted write entry {} records",
                            j.at.no, e.seq
                        ),
                    );
                }
            }
            (Some(j), None) => self.problem(
                j.at,
                None,
                "foreign_line",
                format!("line {} is not an ir entry (written by hand?)", j.at.no),
            ),
            (None, Some(_)) => self.problem(
                at,
                Some(e.seq),
                "missing_line",
                format!(
                    "entry {} records an interrupted write before it, but that line is gone",
                    e.seq
                ),
            ),
            (None, None) => {}
        }
    }

    /// Sequence and chain: deleted, reordered or unchained entries.
    fn check_position(&mut self, at: Line, e: &Entry) {
        let expected = self.expected_seq;
        if e.seq > expected {
            let n = e.seq - expected;
            self.problem(
                at,
                Some(e.seq),
                "deleted",
                format!(
                    "line {} holds entry {} where entry {expected} was expected: {n} entr{} deleted",
                    at.no,
                    e.seq,
                    if n == 1 { "y was" } else { "ies were" }
                ),
            );
        } else if e.seq < expected {
            self.problem(
                at,
                Some(e.seq),
                "reordered",
                format!(
                    "line {} holds entry {} where entry {expected} was expected: entries were reordered or duplicated",
                    at.no, e.seq
                ),
            );
        } else if e.prev != self.prev_digest {
            self.problem(
                at,
                Some(e.seq),
                "chain_broken",
                format!(
                    "entry {} (line {}) does not chain to the entry before it",
                    e.seq, at.no
                ),
            );
        }
    }

    /// Counts seals and, with the seed, recomputes this entry's. Only the
    /// first failure is a problem of its own: after a rewrite every later
    /// seal fails too, and the first one is what locates it.
    fn check_seal(&mut self, at: Line, e: &Entry) {
        if e.seal.is_some() {
            self.seal.sealed += 1;
            self.seal.first_seq.get_or_insert(e.seq);
            self.seal.last_sealed = Some(e.seq);
            self.seal.unsealed_after = 0;
        } else if self.seal.sealed > 0 {
            self.seal.unsealed_after += 1;
        }
        let Some(seed) = self.seed else {
            return;
        };
        let Some(key) = self.key_for(seed, e.seq) else {
            if e.seal.is_some() {
                self.problem(
                    at,
                    Some(e.seq),
                    "seal_failed",
                    format!(
                        "entry {} (line {}) carries a seal, but sealing began at entry {}",
                        e.seq, at.no, seed.first_seq
                    ),
                );
            }
            return;
        };
        let ok = e
            .seal
            .as_deref()
            .is_some_and(|s| crate::seal::mac_ok(&key, &e.digest, s));
        if ok {
            return;
        }
        self.seal.failed += 1;
        if self.seal.first_failed.is_some() {
            return;
        }
        self.seal.first_failed = Some(e.seq);
        let why = if e.seal.is_some() {
            "fails its seal: it, or an entry before it, was rewritten after it was sealed"
        } else {
            "carries no seal though sealing had begun: it was rewritten or added without the key"
        };
        self.problem(
            at,
            Some(e.seq),
            "seal_failed",
            format!("entry {} (line {}) {why}", e.seq, at.no),
        );
    }

    /// The key of entry `seq` (`None` before sealing began), derived from
    /// the last one when it is behind.
    fn key_for(&mut self, seed: &crate::seal::Seed, seq: u64) -> Option<crate::seal::Key> {
        let key = match self.key.take() {
            Some((s, k)) if s <= seq => crate::seal::evolve_by(&k, seq - s),
            _ => seed.key_at(seq)?,
        };
        self.key = Some((seq, key.clone()));
        Some(key)
    }

    fn track_run(&mut self, e: &Entry) {
        match e.body() {
            Some(Record::Start(s)) => self.open_runs.push((s.run.clone(), s.command.clone())),
            Some(Record::End(end)) => self.open_runs.retain(|(r, _)| *r != end.run),
            _ => {}
        }
    }

    /// A final fragment: a killed writer, or a cut made after the fact.
    /// Returns whether it is an interrupted write.
    fn judge_partial(&mut self) -> bool {
        let Some((at, frag)) = self.partial.take() else {
            return false;
        };
        let last_seq = self.last.as_ref().map(|l| l.0);
        let head_seq = self.head.as_ref().map(|h| h.seq);
        let cut_entry = self.head.as_ref().is_some_and(|h| {
            Some(h.seq) > last_seq || (last_seq.is_none() && h.seq == 0 && h.size > 0)
        });
        let interrupted = if !frag.starts_with(b"{\"seq\":") {
            self.problem(
                at,
                None,
                "foreign_line",
                format!("the last line ({}) is not an ir entry", at.no),
            );
            false
        } else if cut_entry {
            self.problem(
                at,
                head_seq,
                "truncated",
                format!(
                    "the last line ({}) was cut short after it had been written completely (the head records entry {})",
                    at.no,
                    head_seq.unwrap_or(0)
                ),
            );
            false
        } else {
            self.notes.push(format!(
                "the last line ({}, {} bytes at offset {}) is an interrupted write: a run was killed while journaling; the next append will record it",
                at.no,
                frag.len(),
                at.off
            ));
            true
        };
        self.partial = Some((at, frag));
        interrupted
    }

    /// The head sidecar against the last entry: a cut-off end, a rewrite,
    /// or entries added without `ir`.
    /// `compare` is false when the journal ends in a fragment that is not
    /// an interrupted write (already a problem of its own).
    fn check_head(&mut self, compare: bool) {
        let (Some(h), Some((ls, ld))) = (self.head.clone(), self.last.clone()) else {
            if self.head.is_none() && self.last.is_some() {
                self.notes.push(format!(
                    "no head record ({}): a cut-off end cannot be ruled out",
                    self.head_file.display()
                ));
            }
            return;
        };
        if !compare {
            return;
        }
        let at = |line| Line { no: line, off: 0 };
        if h.seq > ls {
            self.problem(
                at(self.entries + 1),
                Some(h.seq),
                "truncated",
                format!(
                    "the journal ends at entry {ls} but its head records entry {}: the end was cut off",
                    h.seq
                ),
            );
        } else if h.seq == ls && h.digest != ld {
            self.problem(
                at(self.entries),
                Some(ls),
                "edited",
                format!(
                    "entry {ls} differs from the one the head records: the journal was rewritten"
                ),
            );
        } else if h.seq + 1 == ls {
            self.notes.push(format!(
                "entry {ls} was written but the head not updated: the writing run was killed right after"
            ));
        } else if h.seq + 1 < ls {
            self.problem(
                at(self.entries),
                Some(h.seq + 1),
                "appended",
                format!(
                    "entries {} to {ls} were added after the head's entry {} without ir",
                    h.seq + 1,
                    h.seq
                ),
            );
        }
    }

    /// With the seed: the key file against the journal's end. Its `seq`
    /// only moves forward and its key cannot be derived backwards, so a
    /// journal cut short no longer meets it.
    fn check_key_state(&mut self, journal: &Path) {
        let Some(seed) = self.seed else {
            return;
        };
        self.seal.checked = true;
        self.seal.fingerprint = Some(seed.fingerprint());
        self.seal.first_seq = Some(seed.first_seq);
        let Some(last) = self.last.as_ref().map(|l| l.0) else {
            return;
        };
        let at = |no| Line { no, off: 0 };
        if last < seed.first_seq {
            self.problem(
                at(self.entries + 1),
                Some(seed.first_seq),
                "truncated",
                format!(
                    "sealing began at entry {} but the journal ends at entry {last}: the end was cut off",
                    seed.first_seq
                ),
            );
            return;
        }
        let key_file = crate::seal::key_path(journal);
        let state = match crate::seal::read_state(&key_file) {
            Ok(Some(s)) => s,
            Ok(None) => {
                self.notes.push(format!(
                    "no seal key file ({}): a cut-off end is not ruled out by the seal; compare the head with one recorded out of band",
                    key_file.display()
                ));
                return;
            }
            Err(e) => {
                let m = format!("the seal key file is unusable: {e:#}");
                self.problem(at(self.entries), None, "key_mismatch", m);
                return;
            }
        };
        self.seal.key_seq = Some(state.seq);
        let derives = seed.key_at(state.seq).is_some_and(|k| *k == *state.key);
        if !derives {
            self.problem(
                at(self.entries),
                Some(state.seq),
                "key_mismatch",
                format!(
                    "the seal key on disk is not the one this seed gives for entry {}: the seal state was replaced",
                    state.seq
                ),
            );
        } else if state.seq > last + 1 {
            self.problem(
                at(self.entries + 1),
                Some(last + 1),
                "truncated",
                format!(
                    "the seal key has advanced to entry {} but the journal ends at entry {last}: entries {} to {} were cut off",
                    state.seq,
                    last + 1,
                    state.seq - 1
                ),
            );
        } else if state.seq == last {
            self.notes.push(format!(
                "entry {last} was written but the seal key not advanced: the writing run was killed right after"
            ));
        } else if state.seq < last {
            self.problem(
                at(self.entries),
                Some(state.seq),
                "key_mismatch",
                format!(
                    "the seal key is for entry {}, behind the journal's last entry {last}: an older key file was put back",
                    state.seq
                ),
            );
        }
    }

    /// An out-of-band head must still be in the chain: a rewrite or a cut
    /// below it removes it.
    fn check_expected_head(&mut self) {
        let Some(h) = self.expect_head.clone() else {
            return;
        };
        let last = self.last.as_ref().map_or(0, |l| l.0);
        match self.head_found {
            Some(s) if s == last => self
                .notes
                .push(format!("the head recorded out of band ({h}) is the last entry, {s}")),
            Some(s) => self.notes.push(format!(
                "the head recorded out of band ({h}) is entry {s}; {} entries were written after it",
                last - s
            )),
            None => self.problem(
                Line {
                    no: self.entries,
                    off: 0,
                },
                None,
                "head_mismatch",
                format!(
                    "no entry's digest starts with the head recorded out of band ({h}): the journal was rewritten or cut below it"
                ),
            ),
        }
    }

    fn finish(mut self, path: &Path) -> Result<Report> {
        if let Some(j) = self.pending_junk.take() {
            self.problem(
                j.at,
                None,
                "foreign_line",
                format!("line {} is not an ir entry (appended by hand?)", j.at.no),
            );
        }
        let had_partial = self.partial.is_some();
        let interrupted = self.judge_partial();
        self.check_head(!had_partial || interrupted);
        self.check_key_state(path);
        self.check_expected_head();
        for (run, cmd) in std::mem::take(&mut self.open_runs) {
            self.notes.push(format!(
                "run {run} ({cmd}) has a start entry and no end: it was interrupted or is still running"
            ));
        }
        let ours_partial = self
            .partial
            .as_ref()
            .is_some_and(|p| p.1.starts_with(b"{\"seq\":"));
        if self.entries == 0 && !ours_partial {
            if self.problems.is_empty() && !had_partial {
                self.notes = vec!["the journal is empty".into()];
                return Ok(self.report(path, Verdict::Intact));
            }
            return Err(crate::exit::hint(
                format!(
                    "{} is not an ir journal: no line in it is an ir entry",
                    path.display()
                ),
                "give the path of a case's journal.jsonl",
            ));
        }
        let verdict = if !self.problems.is_empty() {
            Verdict::Tampered
        } else if interrupted {
            Verdict::Interrupted
        } else {
            Verdict::Intact
        };
        Ok(self.report(path, verdict))
    }

    fn report(self, path: &Path, verdict: Verdict) -> Report {
        Report {
            journal: path.display().to_string(),
            verdict,
            entries: self.entries,
            last_seq: self.last.as_ref().map(|l| l.0),
            last_digest: self.last.map(|l| l.1),
            head: self.head,
            problems: self.problems,
            notes: self.notes,
            seal: self.seal,
        }
    }
}

/// The last `end` entry of `command` (any status when `ok_only` is false).
pub fn last_end<'a>(
    entries: &'a [Entry],
    command: &str,
    ok_only: bool,
) -> Option<(&'a Entry, &'a End)> {
    entries.iter().rev().find_map(|e| {
        let end = e.end()?;
        (end.command == command && (!ok_only || end.status == Status::Ok)).then_some((e, end))
    })
}

/// The record of the last successful `ir collect` and the time it ended;
/// an error (naming the entry) when that entry does not hold one.
pub fn last_collect(entries: &[Entry]) -> Option<Result<(String, CollectRecord)>> {
    let (e, end) = last_end(entries, "collect", true)?;
    Some(end.record(e.seq).map(|r| (e.ts().to_string(), r)))
}

/// Every successful `ir collect` record, oldest first, each with its
/// entry's seq; records that do not parse are errors naming their entry.
pub fn collects(entries: &[Entry]) -> Vec<Result<(u64, CollectRecord)>> {
    entries
        .iter()
        .filter_map(|e| {
            let end = e.end()?;
            (end.command == "collect" && end.status == Status::Ok)
                .then(|| end.record(e.seq).map(|r| (e.seq, r)))
        })
        .collect()
}

/// The first `end` entry of `command`.
pub fn first_end<'a>(entries: &'a [Entry], command: &str) -> Option<(&'a Entry, &'a End)> {
    entries.iter().find_map(|e| {
        let end = e.end()?;
        (end.command == command).then_some((e, end))
    })
}

/// The case's chain-of-custody fields: the last start entry that recorded
/// them holds them all (each adds to the one before).
pub fn case_custody(path: &Path) -> Option<crate::record::Custody> {
    let entries = read_entries(path).ok()?;
    entries.iter().rev().find_map(|e| match e.body() {
        Some(Record::Start(s)) => s.custody.as_deref().cloned(),
        _ => None,
    })
}

/// Reads every entry-shaped line, in file order. Lines that are not entries
/// are skipped here; `verify` is what reports them.
pub fn read_entries(path: &Path) -> Result<Vec<Entry>> {
    let f = crate::safefs::open_nofollow(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for item in crate::safefs::bounded_lines(f, MAX_LINE) {
        let (_, bytes, _) = item?;
        if let Some(e) = parse_entry(&bytes) {
            out.push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fields(n: u64) -> Record {
        Record::Note(crate::record::Note {
            message: format!("note {n}"),
            argv: Vec::new(),
        })
    }

    fn journal_with(n: u64) -> (tempfile::TempDir, Journal) {
        let d = tempfile::tempdir().unwrap();
        let j = Journal::open(d.path()).unwrap();
        for i in 0..n {
            j.append(fields(i)).unwrap();
        }
        (d, j)
    }

    /// A journal of `n` notes sealed from its first entry, and its seed.
    fn sealed_with(n: u64) -> (tempfile::TempDir, Journal, crate::seal::Seed) {
        let d = tempfile::tempdir().unwrap();
        let j = Journal::open(d.path()).unwrap();
        let id = age::x25519::Identity::generate();
        let enc =
            crate::evidence::keys::Encryption::Recipients(vec![Box::new(id.to_public())], vec![]);
        let seed = crate::seal::new_seed().unwrap();
        j.append_starting_seal(
            fields(0),
            SealStart {
                seed,
                enc: Some(&enc),
            },
        )
        .unwrap();
        for i in 1..n {
            j.append(fields(i)).unwrap();
        }
        let ids: Vec<Box<dyn age::Identity>> = vec![Box::new(id)];
        let seed = crate::seal::read_seal_age(&crate::seal::seal_age_path(j.path()), &ids).unwrap();
        (d, j, seed)
    }

    fn sealed_verify(j: &Journal, seed: &crate::seal::Seed) -> Report {
        let checks = Checks {
            seed: Some(seed),
            expect_head: None,
        };
        verify_with(j.path(), &checks).unwrap()
    }

    #[test]
    fn sealed_chain_verifies_and_the_key_only_moves_forward() {
        let (_d, j, seed) = sealed_with(5);
        let r = sealed_verify(&j, &seed);
        assert_eq!(r.verdict, Verdict::Intact, "{r:?}");
        assert_eq!(
            (r.seal.sealed, r.seal.failed, r.seal.key_seq),
            (5, 0, Some(5))
        );
        // An append after a key that ran ahead of the journal is refused.
        let kp = crate::seal::key_path(j.path());
        let st = crate::seal::read_state(&kp).unwrap().unwrap();
        let ahead = crate::seal::KeyState {
            seq: st.seq + 2,
            key: crate::seal::evolve_by(&st.key, 2),
        };
        crate::seal::write_state(&kp, &ahead).unwrap();
        assert!(j.append(fields(9)).is_err());
    }

    #[test]
    fn sealing_never_begins_twice() {
        let (_d, j, _) = sealed_with(1);
        std::fs::remove_file(crate::seal::key_path(j.path())).unwrap();
        // seal.age alone still marks the journal sealed: it must not be
        // replaced by a new seed's.
        assert!(j.is_sealed());
        let enc = crate::evidence::keys::Encryption::Recipients(
            vec![Box::new(age::x25519::Identity::generate().to_public())],
            vec![],
        );
        let seed = crate::seal::new_seed().unwrap();
        let start = SealStart {
            seed,
            enc: Some(&enc),
        };
        assert!(j.append_starting_seal(fields(1), start).is_err());
    }

    #[test]
    fn a_sealed_line_parses_and_old_lines_still_do() {
        let (_d, j, _) = sealed_with(2);
        let text = std::fs::read_to_string(j.path()).unwrap();
        for l in text.lines() {
            let e = parse_entry(l.as_bytes()).unwrap();
            assert!(e.digest_ok && e.seal.is_some(), "{l}");
            // Without its seal the line is an unsealed entry with the same digest.
            let cut = l.rfind(",\"seal\":").unwrap();
            let plain = format!("{}}}", &l[..cut]);
            let p = parse_entry(plain.as_bytes()).unwrap();
            assert!(p.digest_ok && p.seal.is_none());
            assert_eq!(p.digest, e.digest);
        }
    }

    #[test]
    fn chain_verifies() {
        let (_d, j) = journal_with(5);
        let r = verify(j.path()).unwrap();
        assert_eq!(r.verdict, Verdict::Intact, "{r:?}");
        assert_eq!(r.entries, 5);
        assert_eq!(r.last_seq, Some(4));
    }

    #[test]
    fn partial_write_is_interrupted_then_recovered() {
        let (_d, j) = journal_with(3);
        let mut f = OpenOptions::new().append(true).open(j.path()).unwrap();
        f.write_all(b"{\"seq\":3,\"prev\":\"ab").unwrap();
        let r = verify(j.path()).unwrap();
        assert_eq!(r.verdict, Verdict::Interrupted, "{r:?}");
        j.append(fields(9)).unwrap();
        let r = verify(j.path()).unwrap();
        assert_eq!(r.verdict, Verdict::Intact, "{r:?}");
        assert!(r.notes.iter().any(|n| n.contains("interrupted")));
    }

    #[test]
    fn head_behind_by_one_is_interrupted_not_tampered() {
        let (_d, j) = journal_with(3);
        let h = head_path(j.path());
        let before = std::fs::read(&h).unwrap();
        j.append(fields(3)).unwrap();
        std::fs::write(&h, before).unwrap();
        let r = verify(j.path()).unwrap();
        assert_eq!(r.verdict, Verdict::Intact, "{r:?}");
        assert!(r.notes.iter().any(|n| n.contains("head not updated")));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn parse_entry_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_entry(&b);
        }

        #[test]
        fn any_single_byte_change_to_a_sealed_journal_fails_the_seal_check(
            pos in 0usize..10_000,
            byte in any::<u8>(),
        ) {
            let (_d, j, seed) = sealed_with(4);
            let mut data = std::fs::read(j.path()).unwrap();
            let pos = pos % data.len();
            prop_assume!(data[pos] != byte);
            data[pos] = byte;
            std::fs::write(j.path(), &data).unwrap();
            let checks = Checks { seed: Some(&seed), expect_head: None };
            if let Ok(r) = verify_with(j.path(), &checks) {
                prop_assert_ne!(r.verdict, Verdict::Intact, "{:?}", r);
            }
        }

        #[test]
        fn any_single_byte_change_is_caught(pos in 0usize..10_000, byte in any::<u8>()) {
            let (_d, j) = journal_with(4);
            let mut data = std::fs::read(j.path()).unwrap();
            let pos = pos % data.len();
            prop_assume!(data[pos] != byte);
            data[pos] = byte;
            std::fs::write(j.path(), &data).unwrap();
            // An Err means no ir entry is left at all: refused too.
            if let Ok(r) = verify(j.path()) {
                prop_assert_ne!(r.verdict, Verdict::Intact, "{:?}", r);
            }
        }
    }
}
