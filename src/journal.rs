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

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use serde_json::{Map, Value, json};
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
    /// Whether the digest matches the line.
    pub digest_ok: bool,
    pub value: Map<String, Value>,
}

impl Entry {
    /// A string member of the entry.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.value.get(key).and_then(Value::as_str)
    }

    /// A value by JSON pointer (`/details/status`).
    pub fn pointer(&self, ptr: &str) -> Option<&Value> {
        let rest = ptr.strip_prefix('/')?;
        let (first, tail) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
        let v = self.value.get(first)?;
        if tail.is_empty() {
            Some(v)
        } else {
            v.pointer(&format!("/{tail}"))
        }
    }
}

/// Splits off the trailing `,"digest":"<64 hex>"}` and checks it. Returns
/// `None` when the line is not shaped like an `ir` entry at all.
pub fn parse_entry(line: &[u8]) -> Option<Entry> {
    let suffix_len = DIGEST_PREFIX.len() + 64 + 2;
    if line.len() < suffix_len + 2 || !line.ends_with(b"\"}") || !line.starts_with(b"{\"seq\":") {
        return None;
    }
    let cut = line.len() - suffix_len;
    if &line[cut..cut + DIGEST_PREFIX.len()] != DIGEST_PREFIX {
        return None;
    }
    let digest = std::str::from_utf8(&line[cut + DIGEST_PREFIX.len()..line.len() - 2]).ok()?;
    if !digest
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return None;
    }
    let value: Map<String, Value> = serde_json::from_slice(line).ok()?;
    let seq = value.get("seq")?.as_u64()?;
    let prev = value.get("prev")?.as_str()?.to_string();
    let mut h = Sha256::new();
    h.update(&line[..cut]);
    h.update(b"}");
    let digest_ok = hex::encode(h.finalize()) == digest
        // The member we split off must be the one serde saw, not a decoy
        // earlier in the object.
        && value.get("digest").and_then(Value::as_str) == Some(digest);
    Some(Entry {
        seq,
        prev,
        digest: digest.to_string(),
        digest_ok,
        value,
    })
}

/// Serializes an entry body and seals it with its digest.
fn seal(body: &Map<String, Value>) -> Result<(Vec<u8>, String)> {
    let text = serde_json::to_vec(body)?;
    let digest = sha256_hex(&text);
    let mut line = text;
    line.pop(); // the closing brace
    line.extend_from_slice(DIGEST_PREFIX);
    line.extend_from_slice(digest.as_bytes());
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
    let mut buf: Vec<u8> = Vec::new(); // the bytes [start, len)
    let mut start = len;
    // Two line breaks bracket the last complete line (or we reach the start).
    while start > 0 && buf.iter().filter(|b| **b == b'\n').count() < 2 {
        if buf.len() > 2 * MAX_LINE {
            bail!("the journal's last line is longer than {MAX_LINE} bytes");
        }
        let step = (64 * 1024).min(start);
        let mut chunk = vec![0u8; step as usize];
        f.read_exact_at(&mut chunk, start - step)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        start -= step;
    }
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
            Some(e) => e.seq == 0 && e.str("format") == Some(FORMAT),
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

    /// Appends one entry made of `fields`, stamped with seq, prev, time and
    /// the writer's identity. Returns its seq and digest.
    pub fn append(&self, fields: Map<String, Value>) -> Result<Appended> {
        let mut file = open_for_append(&self.path)?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .with_context(|| format!("locking {}", self.path.display()))?;
        let len = file.metadata()?.len();
        let tail = read_tail(&file, len)?;

        let (seq, prev) = match &tail.last {
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

        let id = Identity::current();
        let mut body = Map::new();
        body.insert("seq".into(), json!(seq));
        body.insert("prev".into(), json!(prev));
        body.insert("ts".into(), json!(now_rfc3339()));
        if seq == 0 {
            body.insert("format".into(), json!(FORMAT));
            body.insert("ir_sha256".into(), json!(self_sha256()));
        }
        body.insert("host".into(), json!(id.host));
        body.insert("uid".into(), json!(id.uid));
        body.insert("user".into(), json!(id.user));
        body.insert("pid".into(), json!(id.pid));
        body.insert("ir_version".into(), json!(id.ir_version));
        if let Some((off, frag)) = &tail.partial {
            body.insert(
                "recovered_partial".into(),
                json!({"offset": off, "bytes": frag.len(), "sha256": sha256_hex(frag)}),
            );
        }
        for (k, v) in fields {
            if !body.contains_key(&k) && k != "digest" {
                body.insert(k, v);
            }
        }
        let (line, digest) = seal(&body)?;
        let mut buf = Vec::with_capacity(line.len() + 2);
        if tail.partial.is_some() {
            buf.push(b'\n');
        }
        buf.extend_from_slice(&line);
        buf.push(b'\n');
        file.write_all(&buf)
            .and_then(|_| file.sync_data())
            .with_context(|| format!("appending to {}", self.path.display()))?;
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
}

/// Verifies a journal file's chain, sequence and head. Errors only when the
/// file cannot be read or holds no `ir` entry at all.
pub fn verify(path: &Path) -> Result<Report> {
    let f = crate::safefs::open_nofollow(path)
        .with_context(|| format!("opening {}", path.display()))?;
    // A shared lock waits out an append in progress, but never for long:
    // a hostile process holding the lock must not hang verification.
    for _ in 0..100 {
        if rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockShared).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let head_file = head_path(path);
    let mut notes = Vec::new();
    let head: Option<Head> = match crate::safefs::read_bounded(&head_file, 4096) {
        Ok(b) => match serde_json::from_slice(&b) {
            Ok(h) => Some(h),
            Err(_) => {
                notes.push(format!(
                    "{} is unreadable as a head record; ignored",
                    head_file.display()
                ));
                None
            }
        },
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            notes.push(format!("head record not read: {e}"));
            None
        }
    };

    let mut problems: Vec<Problem> = Vec::new();
    let mut push = |p: Problem| {
        if problems.len() < 50 {
            problems.push(p);
        }
    };
    let mut entries = 0u64;
    let mut any_ir = false;
    let mut expected_seq = 0u64;
    let mut prev_digest = ZERO_DIGEST.to_string();
    let mut last: Option<(u64, String)> = None;
    // A terminated line that is not an entry, waiting to be claimed by the
    // next entry's `recovered_partial`: (line no, offset, len, sha256).
    let mut pending_junk: Option<(u64, u64, usize, String)> = None;
    let mut partial: Option<(u64, u64, Vec<u8>)> = None;
    let mut open_runs: Vec<(String, String)> = Vec::new();

    for (i, item) in crate::safefs::bounded_lines(f, MAX_LINE).enumerate() {
        let lineno = i as u64 + 1;
        let (off, bytes, terminated) =
            item.with_context(|| format!("reading {}", path.display()))?;
        if !terminated {
            partial = Some((lineno, off, bytes));
            break;
        }
        if let Some((jl, joff, _, _)) = &pending_junk {
            // Two junk lines in a row: the first cannot be an interrupted write.
            if parse_entry(&bytes).is_none() {
                push(Problem {
                    line: *jl,
                    offset: *joff,
                    seq: None,
                    kind: "foreign_line",
                    message: format!("line {jl} is not an ir entry (written by hand?)"),
                });
                pending_junk = None;
            }
        }
        let Some(e) = parse_entry(&bytes) else {
            if pending_junk.is_none() {
                pending_junk = Some((lineno, off, bytes.len(), sha256_hex(&bytes)));
            }
            continue;
        };
        any_ir = true;
        entries += 1;
        let claimed = e.value.get("recovered_partial");
        match (pending_junk.take(), claimed) {
            (Some((jl, joff, jlen, jsha)), Some(c)) => {
                if c.get("offset").and_then(Value::as_u64) == Some(joff)
                    && c.get("bytes").and_then(Value::as_u64) == Some(jlen as u64)
                    && c.get("sha256").and_then(Value::as_str) == Some(jsha.as_str())
                {
                    notes.push(format!(
                        "line {jl} is the fragment of a write that was interrupted (a killed run); entry {} recorded it",
                        e.seq
                    ));
                } else {
                    push(Problem {
                        line: jl,
                        offset: joff,
                        seq: None,
                        kind: "foreign_line",
                        message: format!(
                            "line {jl} is not an ir entry and does not match the interrupted write entry {} records",
                            e.seq
                        ),
                    });
                }
            }
            (Some((jl, joff, _, _)), None) => push(Problem {
                line: jl,
                offset: joff,
                seq: None,
                kind: "foreign_line",
                message: format!("line {jl} is not an ir entry (written by hand?)"),
            }),
            (None, Some(_)) => push(Problem {
                line: lineno,
                offset: off,
                seq: Some(e.seq),
                kind: "missing_line",
                message: format!(
                    "entry {} records an interrupted write before it, but that line is gone",
                    e.seq
                ),
            }),
            (None, None) => {}
        }
        if !e.digest_ok {
            push(Problem {
                line: lineno,
                offset: off,
                seq: Some(e.seq),
                kind: "edited",
                message: format!(
                    "entry {} (line {lineno}) does not match its digest: it was edited",
                    e.seq
                ),
            });
        }
        if e.seq == 0 && e.str("format") != Some(FORMAT) {
            push(Problem {
                line: lineno,
                offset: off,
                seq: Some(0),
                kind: "edited",
                message: "the first entry lacks the ir journal format marker".into(),
            });
        }
        if e.seq != expected_seq {
            let (kind, message) = if e.seq > expected_seq {
                (
                    "deleted",
                    format!(
                        "line {lineno} holds entry {} where entry {expected_seq} was expected: {} entr{} deleted",
                        e.seq,
                        e.seq - expected_seq,
                        if e.seq - expected_seq == 1 {
                            "y was"
                        } else {
                            "ies were"
                        }
                    ),
                )
            } else {
                (
                    "reordered",
                    format!(
                        "line {lineno} holds entry {} where entry {expected_seq} was expected: entries were reordered or duplicated",
                        e.seq
                    ),
                )
            };
            push(Problem {
                line: lineno,
                offset: off,
                seq: Some(e.seq),
                kind,
                message,
            });
        } else if e.prev != prev_digest {
            push(Problem {
                line: lineno,
                offset: off,
                seq: Some(e.seq),
                kind: "chain_broken",
                message: format!(
                    "entry {} (line {lineno}) does not chain to the entry before it",
                    e.seq
                ),
            });
        }
        if let (Some(run), Some(kind)) = (e.str("run"), e.str("kind")) {
            match kind {
                "start" => {
                    open_runs.push((run.to_string(), e.str("command").unwrap_or("?").to_string()))
                }
                "end" => open_runs.retain(|(r, _)| r != run),
                _ => {}
            }
        }
        expected_seq = e.seq + 1;
        prev_digest = e.digest.clone();
        last = Some((e.seq, e.digest));
    }

    if let Some((jl, joff, _, _)) = pending_junk {
        push(Problem {
            line: jl,
            offset: joff,
            seq: None,
            kind: "foreign_line",
            message: format!("line {jl} is not an ir entry (appended by hand?)"),
        });
    }
    let last_seq = last.as_ref().map(|l| l.0);
    let mut interrupted = false;
    if let Some((lineno, off, frag)) = &partial {
        let cut_entry = head.as_ref().is_some_and(|h| {
            Some(h.seq) > last_seq || (last_seq.is_none() && h.seq == 0 && h.size > 0)
        });
        if !frag.starts_with(b"{\"seq\":") {
            push(Problem {
                line: *lineno,
                offset: *off,
                seq: None,
                kind: "foreign_line",
                message: format!("the last line ({lineno}) is not an ir entry"),
            });
        } else if cut_entry {
            push(Problem {
                line: *lineno,
                offset: *off,
                seq: head.as_ref().map(|h| h.seq),
                kind: "truncated",
                message: format!(
                    "the last line ({lineno}) was cut short after it had been written completely (the head records entry {})",
                    head.as_ref().map_or(0, |h| h.seq)
                ),
            });
        } else {
            interrupted = true;
            notes.push(format!(
                "the last line ({lineno}, {} bytes at offset {off}) is an interrupted write: a run was killed while journaling; the next append will record it",
                frag.len()
            ));
        }
    }
    match (&head, &last) {
        (Some(h), Some((ls, ld))) if partial.is_none() || interrupted => {
            if h.seq > *ls {
                push(Problem {
                    line: entries + 1,
                    offset: 0,
                    seq: Some(h.seq),
                    kind: "truncated",
                    message: format!(
                        "the journal ends at entry {ls} but its head records entry {}: the end was cut off",
                        h.seq
                    ),
                });
            } else if h.seq == *ls && &h.digest != ld {
                push(Problem {
                    line: entries,
                    offset: 0,
                    seq: Some(*ls),
                    kind: "edited",
                    message: format!(
                        "entry {ls} differs from the one the head records: the journal was rewritten"
                    ),
                });
            } else if h.seq + 1 == *ls {
                notes.push(format!(
                    "entry {ls} was written but the head not updated: the writing run was killed right after"
                ));
            } else if h.seq + 1 < *ls {
                push(Problem {
                    line: entries,
                    offset: 0,
                    seq: Some(h.seq + 1),
                    kind: "appended",
                    message: format!(
                        "entries {} to {ls} were added after the head's entry {} without ir",
                        h.seq + 1,
                        h.seq
                    ),
                });
            }
        }
        (None, Some(_)) => notes.push(format!(
            "no head record ({}): a cut-off end cannot be ruled out",
            head_file.display()
        )),
        _ => {}
    }
    for (run, cmd) in &open_runs {
        notes.push(format!(
            "run {run} ({cmd}) has a start entry and no end: it was interrupted or is still running"
        ));
    }
    if !any_ir
        && partial
            .as_ref()
            .is_none_or(|p| !p.2.starts_with(b"{\"seq\":"))
    {
        if problems.is_empty() && partial.is_none() {
            return Ok(Report {
                journal: path.display().to_string(),
                verdict: Verdict::Intact,
                entries: 0,
                last_seq: None,
                last_digest: None,
                head,
                problems,
                notes: vec!["the journal is empty".into()],
            });
        }
        return Err(crate::exit::hint(
            format!(
                "{} is not an ir journal: no line in it is an ir entry",
                path.display()
            ),
            "give the path of a case's journal.jsonl",
        ));
    }
    let verdict = if !problems.is_empty() {
        Verdict::Tampered
    } else if interrupted {
        Verdict::Interrupted
    } else {
        Verdict::Intact
    };
    Ok(Report {
        journal: path.display().to_string(),
        verdict,
        entries,
        last_seq,
        last_digest: last.map(|l| l.1),
        head,
        problems,
        notes,
    })
}

/// The last `end` entry of `command` (any status when `ok_only` is false).
pub fn last_end<'a>(entries: &'a [Entry], command: &str, ok_only: bool) -> Option<&'a Entry> {
    entries.iter().rev().find(|e| {
        e.str("command") == Some(command)
            && e.str("kind") == Some("end")
            && (!ok_only || e.str("status") == Some("ok"))
    })
}

/// Reads every parseable entry, in file order (for `journal show`).
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

    fn fields(n: u64) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("kind".into(), json!("note"));
        m.insert("n".into(), json!(n));
        m
    }

    fn journal_with(n: u64) -> (tempfile::TempDir, Journal) {
        let d = tempfile::tempdir().unwrap();
        let j = Journal::open(d.path()).unwrap();
        for i in 0..n {
            j.append(fields(i)).unwrap();
        }
        (d, j)
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
