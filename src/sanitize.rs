//! Escaping of strings that come from the host before they reach a terminal.
//!
//! File names, config values and process titles are attacker-controlled: a
//! name holding an ANSI escape or a right-to-left override can rewrite what a
//! responder sees. Everything host-derived goes through [`escape`] (or
//! [`escape_path`]) before it is printed; the escaping is reversible so
//! nothing is lost (`\\` for a backslash, `\xNN` for a raw byte, `\u{..}` for
//! an invisible or control character).

use std::ffi::OsStr;
use std::fmt::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// True for characters that must not reach a terminal as themselves:
/// C0/C1 controls, bidi marks, overrides and isolates, zero-width and
/// invisible characters (a name can hide or reorder text with any of them).
fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}'                 // soft hyphen
            | '\u{061c}'               // Arabic letter mark (bidi)
            | '\u{115f}' | '\u{1160}'  // Hangul fillers
            | '\u{180e}'               // Mongolian vowel separator
            | '\u{200b}'..='\u{200f}'   // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202e}' // line/para separators, bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{206f}' // bidi isolates, deprecated format controls
            | '\u{3164}' | '\u{ffa0}'  // Hangul fillers
            | '\u{feff}'               // BOM
            | '\u{fff9}'..='\u{fffb}' // interlinear annotation
            | '\u{e0000}'..='\u{e007f}') // tag characters
}

/// Escapes a string for display: controls, bidi and zero-width characters
/// become `\u{XXXX}` (or `\n`, `\t`, `\r`), and backslashes are doubled.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        // Runs of printable ASCII (most text) are copied whole.
        let plain = rest
            .bytes()
            .position(|b| !is_plain(b))
            .unwrap_or(rest.len());
        out.push_str(&rest[..plain]);
        rest = &rest[plain..];
        if let Some(c) = rest.chars().next() {
            push_char(&mut out, c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Printable ASCII that [`escape`] leaves as it is.
fn is_plain(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b'\\'
}

/// `s` itself when it holds nothing dangerous (so text escaped earlier is
/// not escaped twice), else [`escape`]d: the last guard before a terminal.
pub fn display_safe(s: &str) -> String {
    if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) && s.chars().any(is_dangerous) {
        escape(s)
    } else {
        s.to_string()
    }
}

fn push_char(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if is_dangerous(c) => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Escapes raw bytes: valid UTF-8 runs as in [`escape`], invalid bytes as
/// `\xNN`. Reversible, so a non-UTF-8 file name survives in text form.
pub fn escape_bytes(bytes: &[u8]) -> String {
    // Most names are plain printable ASCII: nothing to escape.
    if bytes
        .iter()
        .all(|b| (0x20..0x7f).contains(b) && *b != b'\\')
    {
        return String::from_utf8(bytes.to_vec()).expect("ASCII is UTF-8");
    }
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Escapes a path for display or for a JSON text field.
pub fn escape_path(p: &Path) -> String {
    escape_os(p.as_os_str())
}

/// Escapes an OS string (see [`escape_bytes`]).
pub fn escape_os(s: &OsStr) -> String {
    escape_bytes(s.as_bytes())
}

/// Reverses [`escape_bytes`]. Returns `None` on a malformed escape.
pub fn unescape_bytes(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match it.next()? {
            '\\' => out.push(b'\\'),
            'n' => out.push(b'\n'),
            't' => out.push(b'\t'),
            'r' => out.push(b'\r'),
            'x' => {
                let h: String = [it.next()?, it.next()?].iter().collect();
                out.push(u8::from_str_radix(&h, 16).ok()?);
            }
            'u' => {
                if it.next()? != '{' {
                    return None;
                }
                let mut h = String::new();
                loop {
                    match it.next()? {
                        '}' => break,
                        d => h.push(d),
                    }
                }
                let c = char::from_u32(u32::from_str_radix(&h, 16).ok()?)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_invisible_and_reordering_characters() {
        for c in [
            '\u{061c}',
            '\u{00ad}',
            '\u{180e}',
            '\u{fff9}',
            '\u{206a}',
            '\u{3164}',
            '\u{e0041}',
            '\u{9b}',
        ] {
            let s = format!("a{c}b");
            let e = escape(&s);
            assert!(e.starts_with("a\\u{") && e.is_ascii(), "{c:?} -> {e}");
            assert_eq!(unescape_bytes(&e).unwrap(), s.as_bytes());
            assert_eq!(display_safe(&s), e);
        }
        assert_eq!(display_safe("C:\\x already"), "C:\\x already");
    }

    #[test]
    fn escapes_terminal_attacks() {
        assert_eq!(escape("a\x1b[31mb"), "a\\u{001b}[31mb");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(escape("line\nbreak"), "line\\nbreak");
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn invalid_utf8_is_kept_as_hex() {
        assert_eq!(escape_bytes(b"caf\xe9.txt"), "caf\\xe9.txt");
    }

    proptest! {
        #[test]
        fn escape_bytes_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let e = escape_bytes(&bytes);
            prop_assert!(!e.chars().any(is_dangerous));
            prop_assert_eq!(unescape_bytes(&e).unwrap(), bytes);
        }

        /// The run-copying [`escape`] escapes exactly as one character at
        /// a time does, and [`display_safe`] leaves only safe text alone.
        #[test]
        fn escape_copies_runs_as_chars_would(s in "(\\PC|[\\\\\n\t\r\u{1b}\u{202e}\u{200b}]){0,80}") {
            let mut one = String::new();
            s.chars().for_each(|c| push_char(&mut one, c));
            prop_assert_eq!(escape(&s), one);
            let shown = display_safe(&s);
            prop_assert!(!shown.chars().any(is_dangerous));
            prop_assert!(shown == s || shown == escape(&s));
        }
    }
}
