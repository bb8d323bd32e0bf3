//! The progress bar of collect, verify and extract: bytes, percent, rate,
//! ETA and files, on stderr, drawn only when stderr is a terminal and
//! never under `--json` or `-q` (the caller decides [`enabled`]).
//!
//! One bar per process at most, held here so the readers deep in a bundle
//! pass (the ciphertext hash, the decrypting read, the read-back re-hash)
//! can feed it without every signature carrying it.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::Read;
use std::sync::Mutex;

static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Whether a bar may be drawn: asked for, and stderr is a terminal.
pub fn enabled(wanted: bool) -> bool {
    wanted && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

fn style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:>10} {msg:>10} [{bar:20}] {bytes}/{total_bytes} {percent:>3}% {binary_bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// Starts (or restarts, for the next pass) the bar at `phase` over `total`
/// bytes. Does nothing unless `on`.
pub fn phase(on: bool, phase: &str, total: u64) {
    if !on {
        return;
    }
    let mut a = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let bar = a.get_or_insert_with(|| ProgressBar::new(total).with_style(style()));
    bar.set_length(total);
    bar.set_position(0);
    bar.reset_eta();
    bar.set_prefix(phase.to_string());
}

/// The active bar, if any.
pub fn active() -> Option<ProgressBar> {
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Adds `n` bytes.
pub fn inc(n: u64) {
    if let Some(b) = active() {
        b.inc(n);
    }
}

/// Says how many files were done so far.
pub fn files(n: u64) {
    if let Some(b) = active() {
        b.set_message(format!("{n} files"));
    }
}

/// Clears the bar from the terminal.
pub fn finish() {
    if let Some(b) = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).take() {
        b.finish_and_clear();
    }
}

/// A reader that feeds the active bar with what passes through it.
pub struct Counted<R>(pub R);

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        inc(n as u64);
        Ok(n)
    }
}
