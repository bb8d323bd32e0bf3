//! Parallel gzip: the tar stream is cut into fixed-size chunks, each chunk
//! is compressed on a worker thread as its own gzip member, and the members
//! are written in order.
//!
//! RFC 1952 allows a gzip file to be a sequence of members; `gzip -d`, GNU
//! tar, Python's `gzip` and flate2's `MultiGzDecoder` all read them as one
//! stream. Compressing chunks independently loses the 32 KiB window across
//! chunk edges, which costs well under 1% at 1 MiB chunks, and buys
//! near-linear scaling with cores: gzip is the only stage of the bundle
//! pipeline slower than the disk (`docs/collection.md`). Memory stays bounded:
//! at most `2 × threads + 1` chunks are in flight.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Size of the chunk each gzip member holds.
pub const CHUNK: usize = 1 << 20;

type Job = (Vec<u8>, Sender<io::Result<Vec<u8>>>);

/// A `Write` that gzips what it is given on `threads` workers.
pub struct ParGz<W: Write> {
    inner: Option<W>,
    buf: Vec<u8>,
    level: Compression,
    jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    pending: VecDeque<Receiver<io::Result<Vec<u8>>>>,
    workers: Vec<JoinHandle<()>>,
    max_pending: usize,
}

fn compress(data: &[u8], level: Compression) -> io::Result<Vec<u8>> {
    // Already-compressed media gains nothing from deflate but costs the
    // most time per byte: store such chunks (deflate level 0) instead.
    let level = if level.level() > 0 && looks_incompressible(data) {
        Compression::none()
    } else {
        level
    };
    let mut e = GzEncoder::new(Vec::with_capacity(data.len() / 2 + 64), level);
    e.write_all(data)?;
    e.finish()
}

/// True when three 8 KiB samples (start, middle, end) all fail to shrink
/// by 2% at level 1. Cheap (under 3% of a chunk), and conservative: one
/// compressible sample keeps the chunk compressed.
fn looks_incompressible(data: &[u8]) -> bool {
    const S: usize = 8 * 1024;
    if data.len() < 8 * S {
        return false;
    }
    [0, data.len() / 2 - S / 2, data.len() - S]
        .iter()
        .all(|&off| {
            let sample = &data[off..off + S];
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::with_capacity(S + 64), Compression::fast());
            e.write_all(sample).is_ok() && e.finish().is_ok_and(|out| out.len() * 100 > S * 98)
        })
}

impl<W: Write> ParGz<W> {
    /// Wraps `inner`; `level` 0-9, `threads` >= 1.
    pub fn new(inner: W, level: u32, threads: usize) -> ParGz<W> {
        let threads = threads.max(1);
        let level = Compression::new(level.min(9));
        let (tx, rx) = sync_channel::<Job>(threads);
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..threads)
            .map(|_| {
                let rx = Arc::clone(&rx);
                std::thread::spawn(move || {
                    loop {
                        // Hold the lock only to take a job, not while compressing.
                        let job = rx.lock().map(|r| r.recv());
                        let Ok(Ok((data, reply))) = job else { break };
                        let _ = reply.send(compress(&data, level));
                    }
                })
            })
            .collect();
        ParGz {
            inner: Some(inner),
            buf: Vec::with_capacity(CHUNK),
            level,
            jobs: Some(tx),
            pending: VecDeque::new(),
            workers,
            max_pending: 2 * threads,
        }
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        if let Some(rx) = self.pending.pop_front() {
            let member = rx
                .recv()
                .map_err(|_| io::Error::other("a gzip worker died"))??;
            self.inner
                .as_mut()
                .expect("ParGz used after finish")
                .write_all(&member)?;
        }
        Ok(())
    }

    fn submit(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        while self.pending.len() >= self.max_pending {
            self.write_oldest()?;
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let (reply, rx) = channel();
        match self.jobs.as_ref() {
            Some(jobs) => jobs
                .send((data, reply))
                .map_err(|_| io::Error::other("gzip workers are gone"))?,
            // No workers: compress inline.
            None => reply.send(compress(&data, self.level)).ok().unwrap_or(()),
        }
        self.pending.push_back(rx);
        Ok(())
    }

    /// Compresses what is left, writes every member, stops the workers and
    /// returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        // An empty input still makes a valid (one empty member) gzip file.
        if self.buf.is_empty() && self.pending.is_empty() {
            let empty = compress(&[], self.level)?;
            self.inner.as_mut().expect("inner").write_all(&empty)?;
        }
        self.submit()?;
        while !self.pending.is_empty() {
            self.write_oldest()?;
        }
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        Ok(self.inner.take().expect("inner"))
    }
}

impl<W: Write> Write for ParGz<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.submit()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for ParGz<W> {
    fn drop(&mut self) {
        self.jobs = None;
        self.pending.clear();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn random_chunks_are_stored_text_is_compressed() {
        let mut random = vec![0u8; CHUNK];
        getrandom::fill(&mut random).unwrap();
        assert!(looks_incompressible(&random));
        let text: Vec<u8> = b"{\"role\":\"assistant\",\"text\":\"hello\"}\n"
            .iter()
            .copied()
            .cycle()
            .take(CHUNK)
            .collect();
        assert!(!looks_incompressible(&text));
        let mut z = ParGz::new(Vec::new(), 6, 2);
        z.write_all(&random).unwrap();
        z.write_all(&text).unwrap();
        let out = z.finish().unwrap();
        assert!(out.len() < CHUNK + CHUNK / 10, "{}", out.len());
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(&back[..CHUNK], &random[..]);
    }

    #[test]
    fn round_trips_through_multigz() {
        for len in [0usize, 1, CHUNK - 1, CHUNK, CHUNK * 3 + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut z = ParGz::new(Vec::new(), 6, 2);
            z.write_all(&data).unwrap();
            let out = z.finish().unwrap();
            let mut back = Vec::new();
            flate2::read::MultiGzDecoder::new(&out[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "len {len}");
        }
    }
}
