//! Event artifacts: the full event lists `ir hunt` (every transcript
//! message, tool call and gateway log line of this deployment) and
//! `ir timeline` (every changed path) write into the case dir, one
//! [`CaseEvent`] per line. The journal keeps only counts and the first
//! hits, so it stays small; the artifact's sha256 and line count go into
//! the command's journal record ([`ArtifactRef`]) and the report reads the
//! artifact back only when it still matches them, streaming, so a changed
//! or swapped file is refused by name, never trusted.
//!
//! Written like every other `ir` file: a private temp name beside the
//! target (mode 600), fsync, rename, fsync of the dir; a run that fails
//! midway leaves no half artifact under the real name.

use crate::record::{ArtifactRef, CaseEvent};
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The most events one artifact holds: a hostile host can write a log
/// of billions of lines; past this, events are counted, not written.
pub const MAX_EVENTS: u64 = 1_000_000;

/// The longest line the reader accepts (events are bounded when written).
const MAX_LINE: usize = 64 * 1024;

/// Streams events into `<case>/<name>`.
pub struct EventWriter {
    tmp: PathBuf,
    path: PathBuf,
    name: String,
    out: BufWriter<File>,
    hash: Sha256,
    lines: u64,
    dropped: u64,
}

impl EventWriter {
    /// Starts `<case_dir>/<name>` under a private temp name.
    pub fn create(case_dir: &Path, name: &str) -> Result<EventWriter> {
        let path = case_dir.join(name);
        let tmp = case_dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        Ok(EventWriter {
            tmp,
            path,
            name: name.to_string(),
            out: BufWriter::new(f),
            hash: Sha256::new(),
            lines: 0,
            dropped: 0,
        })
    }

    /// Appends one event (counted, not written, past [`MAX_EVENTS`]).
    pub fn push(&mut self, e: &CaseEvent) -> Result<()> {
        if self.lines >= MAX_EVENTS {
            self.dropped += 1;
            return Ok(());
        }
        let mut line = serde_json::to_vec(e)?;
        line.push(b'\n');
        self.hash.update(&line);
        self.out
            .write_all(&line)
            .with_context(|| format!("writing {}", self.tmp.display()))?;
        self.lines += 1;
        Ok(())
    }

    /// Flushes, syncs and renames the artifact into place.
    pub fn finish(mut self) -> Result<ArtifactRef> {
        self.out
            .flush()
            .with_context(|| format!("writing {}", self.tmp.display()))?;
        self.out
            .get_ref()
            .sync_all()
            .with_context(|| format!("syncing {}", self.tmp.display()))?;
        std::fs::rename(&self.tmp, &self.path)
            .with_context(|| format!("renaming {} into place", self.path.display()))?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("syncing {}", dir.display()))?;
        }
        Ok(ArtifactRef {
            file: std::mem::take(&mut self.name),
            sha256: hex::encode(std::mem::take(&mut self.hash).finalize()),
            lines: self.lines,
            dropped: self.dropped,
        })
    }
}

impl Drop for EventWriter {
    /// A run that failed leaves no temp file behind (after `finish` the
    /// temp name is gone and this does nothing).
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// The artifact `r` names, checked against the journal's hash and count
/// (a first streaming pass), then read event by event into `each`. An
/// error says why it was refused, naming the path.
pub fn read(case_dir: &Path, r: &ArtifactRef, mut each: impl FnMut(CaseEvent)) -> Result<()> {
    // The name comes from the journal: a bare file name, never a path.
    if r.file.contains('/') || r.file.starts_with('.') || r.file.is_empty() {
        bail!("artifact name {:?} is not a file in the case dir", r.file);
    }
    let path = case_dir.join(&r.file);
    let open = || -> Result<File> {
        let (f, _) = crate::safefs::open_regular(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(f)
    };
    let mut hash = Sha256::new();
    std::io::copy(&mut open()?, &mut hash)
        .with_context(|| format!("reading {}", path.display()))?;
    let got = hex::encode(hash.finalize());
    if got != r.sha256 {
        bail!(
            "{} does not match the journal (sha256 {got}, journaled {}): it changed after it was written",
            path.display(),
            r.sha256
        );
    }
    let mut n = 0u64;
    // Bounded per line: a longer one is an error, never an allocation.
    for line in crate::safefs::bounded_lines(open()?, MAX_LINE) {
        let (_, line, _) =
            line.with_context(|| format!("{}:{}: reading", path.display(), n + 1))?;
        let e: CaseEvent = serde_json::from_slice(&line)
            .with_context(|| format!("{}:{}: not an event", path.display(), n + 1))?;
        each(e);
        n += 1;
    }
    if n != r.lines {
        bail!("{}: {n} events, journaled {}", path.display(), r.lines);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::EventLane;

    fn ev(n: u32) -> CaseEvent {
        CaseEvent {
            time: Some(format!("2026-01-01T00:00:{n:02}Z")),
            lane: EventLane::ToolCall,
            what: format!("exec echo {n}"),
            location: format!("/s.jsonl:{n}"),
        }
    }

    #[test]
    fn an_artifact_reads_back_and_a_changed_one_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(d.path(), "events.jsonl").unwrap();
        for n in 0..3 {
            w.push(&ev(n)).unwrap();
        }
        let r = w.finish().unwrap();
        assert_eq!(r.lines, 3);
        let p = d.path().join("events.jsonl");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "temp file left"
        );
        let mut got = Vec::new();
        read(d.path(), &r, |e| got.push(e)).unwrap();
        assert_eq!(got, vec![ev(0), ev(1), ev(2)]);
        // One byte changed: refused, naming the file.
        let t = std::fs::read_to_string(&p)
            .unwrap()
            .replace("echo 1", "echo 9");
        std::fs::write(&p, t).unwrap();
        let e = read(d.path(), &r, |_| {}).unwrap_err().to_string();
        assert!(
            e.contains("events.jsonl") && e.contains("does not match"),
            "{e}"
        );
        // A name that leaves the case dir is refused before any read.
        let bad = ArtifactRef {
            file: "../x".into(),
            ..r
        };
        assert!(read(d.path(), &bad, |_| {}).is_err());
    }
}
