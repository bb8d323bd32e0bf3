//! Writing to the terminal: one JSON document on stdout with `--json` (one
//! object per line with `--jsonl`), readable text otherwise; diagnostics on
//! stderr. A closed stdout (`ir ... | head`) is not an error.
//!
//! It also remembers whether a JSON document already went out, so that an
//! error after it never adds a second one, and whether stdout gets colour.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a JSON document (or a JSON line) was written to stdout.
static DOC_PRINTED: AtomicBool = AtomicBool::new(false);
/// Whether severities on stdout are coloured; decided once by [`set_color`].
static COLOR: OnceLock<bool> = OnceLock::new();

/// When to colour: `--color auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Only when stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always (even into a pipe; `less -R` shows it).
    Always,
    /// Never.
    Never,
}

/// Decides once whether stdout gets colour. `NO_COLOR` (any non-empty
/// value, <https://no-color.org>) turns `auto` off; `always` wins over it
/// because it is the more explicit request.
pub fn set_color(choice: ColorChoice, json: bool) {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let on = !json
        && match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stdout().is_terminal(),
        };
    let _ = COLOR.set(on);
}

/// Whether stdout gets colour.
pub fn color() -> bool {
    COLOR.get().copied().unwrap_or(false)
}

/// A severity word (`critical`, `warn`, `info`...) coloured for stdout when
/// colour is on: red and bold, yellow, blue; anything else unchanged.
pub fn severity(word: &str) -> String {
    paint(word, word)
}

/// `text` in the colour of severity `sev`, when colour is on.
pub fn paint(sev: &str, text: &str) -> String {
    if !color() {
        return text.to_string();
    }
    let code = match sev.to_ascii_lowercase().as_str() {
        "critical" | "high" | "tampered" | "error" => "1;31",
        "warn" | "warning" | "medium" => "33",
        "info" | "low" => "34",
        "ok" | "sound" | "intact" => "32",
        _ => return text.to_string(),
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Writes text to stdout, ignoring a closed pipe.
pub fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes()).and_then(|_| out.flush());
}

/// Writes one JSON document (pretty) to stdout.
pub fn print_json(v: &impl serde::Serialize) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => {
            DOC_PRINTED.store(true, Ordering::Relaxed);
            print(&(s + "\n"))
        }
        Err(e) => eprintln!("ir: error: rendering JSON: {e}"),
    }
}

/// Writes one JSON object as one line to stdout (`--jsonl`), flushed so a
/// reader downstream sees it at once.
pub fn print_jsonl(v: &impl serde::Serialize) {
    match serde_json::to_string(v) {
        Ok(s) => {
            DOC_PRINTED.store(true, Ordering::Relaxed);
            print(&(s + "\n"))
        }
        Err(e) => eprintln!("ir: error: rendering JSON: {e}"),
    }
}

/// `v` as a JSON object with `"record": kind` first (`type` is taken: a
/// timeline entry's file type).
pub fn tagged(kind: &str, v: &impl serde::Serialize) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("record".into(), kind.into());
    match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(o)) => m.extend(o),
        Ok(other) => {
            m.insert("value".into(), other);
        }
        Err(_) => {}
    }
    serde_json::Value::Object(m)
}

/// Whether a JSON document or line was already written to stdout.
pub fn json_printed() -> bool {
    DOC_PRINTED.load(Ordering::Relaxed)
}

/// How a failed command reports under `--json`/`--jsonl`.
#[derive(Debug, serde::Serialize)]
pub struct ErrorDoc<'a> {
    /// The error, with its causes (`a: b: c`).
    pub error: &'a str,
    /// How to fix it, when known.
    pub fix: Option<&'a str>,
    /// The process exit code (2, or 130 when interrupted).
    pub exit_code: i32,
}

/// Prints the error document on stdout. Under `--json`, only when no
/// document went out yet (stdout keeps exactly one; the error is on stderr
/// anyway). Under `--jsonl` always, as a last `"record":"error"` line: the
/// lines streamed before it are a partial result, and a reader must see
/// that the stream ended in failure.
pub fn print_error_doc(doc: &ErrorDoc, lines: bool) {
    if lines {
        print_jsonl(&tagged("error", doc));
    } else if !json_printed() {
        print_json(doc);
    }
}

/// A warning on stderr (silenced by `-q`).
pub fn warn(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("ir: warning: {msg}");
    }
}

/// A size for people: `512 B`, `1.2 KiB`, `3.4 GiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(1_288_490_189), "1.2 GiB");
    }
}
