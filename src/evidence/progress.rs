//! The progress bar of collect, verify and extract: bytes, percent, rate,
//! ETA and files, with the file being read on a line of its own below, on
//! stderr, drawn only when stderr is a terminal and
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
        // The path on its own line, cut to the terminal's width by
        // `wide_msg`: a long path never wraps the bar itself.
        "{prefix:>10} [{bar:20}] {bytes}/{total_bytes} {percent:>3}% {binary_bytes_per_sec} ETA {eta}\n{wide_msg}",
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

/// Says how many files were done so far and which one is being read
/// (an archive path: escaped, and only its tail when long).
pub fn file(n: u64, path: &[u8]) {
    if let Some(b) = active() {
        b.set_message(file_line(n, path));
    }
}

/// The bar's second line: `1234 files  …/tail/of/the/path`.
fn file_line(n: u64, path: &[u8]) -> String {
    /// Enough to name the file and its directory on any terminal.
    const KEEP: usize = 72;
    // An archive path `<top>/files/<host path>` is shown as the host path.
    let host = path
        .iter()
        .position(|&b| b == b'/')
        .map(|i| &path[i..])
        .and_then(|rest| rest.strip_prefix(b"/files"))
        .unwrap_or(path);
    let shown = crate::sanitize::escape_bytes(host);
    let chars = shown.chars().count();
    let tail: String = if chars > KEEP {
        let t: String = shown.chars().skip(chars - (KEEP - 1)).collect();
        format!("…{t}")
    } else {
        shown
    };
    format!("{n:>8} files  {tail}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_or_hostile_path_is_escaped_and_cut_to_its_tail() {
        let line = file_line(3, b"state/agents/main/sessions/x.jsonl");
        assert_eq!(line, "       3 files  state/agents/main/sessions/x.jsonl");
        let mut long = b"a/".repeat(100);
        long.extend_from_slice(b"end\x1b[2J\n");
        let line = file_line(1, &long);
        assert!(!line.contains('\x1b') && !line.contains('\n'), "{line}");
        assert!(line.contains("…") && line.contains("end"), "{line}");
        assert!(line.chars().count() <= 16 + 72, "{line}");
        let line = file_line(9, b"incident-x-20261126T0558Z/files/etc/cron.d/sync");
        assert!(line.ends_with("files  /etc/cron.d/sync"), "{line}");
    }
}
