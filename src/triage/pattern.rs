//! A hunt rule's regex compiled twice: as written, for any text, and
//! narrowed to what can match ASCII text, for the (most common) text that
//! is all ASCII.
//!
//! Why: the injection rules are long multilingual alternations. On an ASCII
//! text their Cyrillic, CJK, Arabic and accented branches can never match,
//! yet the lazy DFA carries their NFA states through every determinised
//! state it builds; on gapped patterns (`verb [^.]{0,40} object`) it builds
//! a new state every few bytes, so those branches made the rules three to
//! ten times slower than their English part alone. Narrowing is exact on an
//! ASCII haystack: a dropped piece needs a non-ASCII character to match, so
//! it never matches there, and leftmost-first matching of what is left
//! finds the same match.

use anyhow::{Context, Result};
use regex::Regex;
use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange};
use regex_syntax::hir::{Hir, HirKind, Repetition};

/// Compiled size allowed for a rule: rules are long alternations over
/// Unicode text, past the regex crate's default 10 MiB.
const SIZE_LIMIT: usize = 32 << 20;
/// Lazy DFA cache per rule and thread. The default 2 MiB is cleared many
/// times a second by the gapped multilingual rules, and each clear makes
/// the DFA rebuild the same states; 64 MiB is a ceiling, not an
/// allocation (a cache grows as states are built).
const DFA_LIMIT: usize = 64 << 20;

/// A rule regex, with its ASCII-only form.
#[derive(Debug, Clone)]
pub struct Pattern {
    any: Regex,
    /// `None` when no match is possible on ASCII text.
    ascii: Option<Regex>,
}

impl std::ops::Deref for Pattern {
    type Target = Regex;
    /// The regex as written.
    fn deref(&self) -> &Regex {
        &self.any
    }
}

impl Pattern {
    /// Compiles `re` and its ASCII form.
    pub fn new(re: &str) -> Result<Pattern> {
        let any = build(re)?;
        let ascii = match regex_syntax::ParserBuilder::new().build().parse(re) {
            Ok(hir) => match narrow(&hir) {
                Some(h) => Some(build(&h.to_string()).context("narrowed regex")?),
                None => None,
            },
            // The regex crate parsed it, so this cannot happen; keep the
            // regex as written for ASCII text too.
            Err(_) => Some(any.clone()),
        };
        Ok(Pattern { any, ascii })
    }

    /// The leftmost-first match in `text`; `ascii` says `text.is_ascii()`
    /// (the caller knows it once for many rules).
    pub fn find_in<'t>(&self, text: &'t str, ascii: bool) -> Option<regex::Match<'t>> {
        debug_assert_eq!(ascii, text.is_ascii());
        if ascii {
            self.ascii.as_ref()?.find(text)
        } else {
            self.any.find(text)
        }
    }
}

fn build(re: &str) -> Result<Regex> {
    Ok(regex::RegexBuilder::new(re)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_LIMIT)
        .build()?)
}

/// `h` with every piece that needs a non-ASCII character removed: what
/// matches an ASCII text exactly where `h` does. `None` when nothing of it
/// can match ASCII text, that is when every match of `h` holds a
/// non-ASCII character.
pub(crate) fn narrow(h: &Hir) -> Option<Hir> {
    Some(match h.kind() {
        HirKind::Empty | HirKind::Look(_) => h.clone(),
        HirKind::Literal(l) => {
            if !l.0.is_ascii() {
                return None;
            }
            h.clone()
        }
        HirKind::Class(Class::Unicode(u)) => {
            let mut c = u.clone();
            c.intersect(&ClassUnicode::new([ClassUnicodeRange::new('\0', '\x7f')]));
            if c.ranges().is_empty() {
                return None;
            }
            Hir::class(Class::Unicode(c))
        }
        HirKind::Class(Class::Bytes(b)) => {
            let mut c = b.clone();
            c.intersect(&ClassBytes::new([ClassBytesRange::new(0, 0x7f)]));
            if c.ranges().is_empty() {
                return None;
            }
            Hir::class(Class::Bytes(c))
        }
        HirKind::Capture(c) => {
            let mut c = c.clone();
            c.sub = Box::new(narrow(&c.sub)?);
            Hir::capture(c)
        }
        HirKind::Repetition(r) => match narrow(&r.sub) {
            Some(sub) => Hir::repetition(Repetition {
                sub: Box::new(sub),
                ..r.clone()
            }),
            None if r.min == 0 => Hir::empty(),
            None => return None,
        },
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(narrow).collect::<Option<_>>()?),
        HirKind::Alternation(parts) => {
            let kept: Vec<Hir> = parts.iter().filter_map(narrow).collect();
            if kept.is_empty() {
                return None;
            }
            Hir::alternation(kept)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn narrowed(re: &str) -> Option<String> {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(re)
            .unwrap();
        narrow(&hir).map(|h| h.to_string())
    }

    #[test]
    fn non_ascii_branches_are_dropped() {
        let p = Pattern::new(r"(?i)ignore (?:all|toutes) instructions|игнорируй|忽略").unwrap();
        let n = p.ascii.as_ref().unwrap().as_str().to_string();
        assert!(!n.contains('и') && !n.contains('忽'), "{n}");
        assert!(p.find_in("please IGNORE all instructions", true).is_some());
        assert!(p.find_in("игнорируй это", false).is_some());
        assert_eq!(narrowed("忽略|игнор"), None);
    }

    #[test]
    fn optional_non_ascii_parts_become_empty() {
        let p = Pattern::new(r"caf[eé]s?(?:\u{301})?\b").unwrap();
        assert!(p.find_in("cafes here", true).is_some());
        assert!(p.find_in("cafés here", false).is_some());
        // A required non-ASCII piece: nothing is left for ASCII text.
        assert!(
            Pattern::new("naïve")
                .unwrap()
                .find_in("naive", true)
                .is_none()
        );
    }

    #[test]
    fn case_folding_to_ascii_is_kept() {
        // (?i)k also matches the Kelvin sign; the ASCII form keeps k and K.
        let p = Pattern::new("(?i)kill").unwrap();
        assert!(p.find_in("KILL it", true).is_some());
        assert!(p.find_in("\u{212A}ILL it", false).is_some());
    }
}
