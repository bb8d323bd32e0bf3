//! Writing to the terminal: one JSON document on stdout with `--json`,
//! readable text otherwise; diagnostics on stderr. A closed stdout (`ir ...
//! | head`) is not an error.

use std::io::Write;

/// Writes text to stdout, ignoring a closed pipe.
pub fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes()).and_then(|_| out.flush());
}

/// Writes one JSON document (pretty) to stdout.
pub fn print_json(v: &impl serde::Serialize) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => print(&(s + "\n")),
        Err(e) => eprintln!("ir: error: rendering JSON: {e}"),
    }
}

/// A warning on stderr (silenced by `-q`).
pub fn warn(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("ir: warning: {msg}");
    }
}
