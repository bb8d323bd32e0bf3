//! Which hunt rules can match a text at all, found in one pass over it.
//!
//! Most of what an agent reads is harmless and matches no rule, yet every
//! rule's regex (long Unicode case-insensitive alternations) would be run
//! over every view of it. Instead, each regex is read once
//! ([`regex_syntax`]) for a set of literals one of which every match must
//! contain (`ignore|disregard|…` for the override rule, `91.92.242.30` for
//! an IOC), and one Aho-Corasick automaton over all the rules' literals
//! says which rules' literals occur in a text; only those rules are run.
//!
//! The literals come from the regexes themselves, never from a list kept
//! by hand, so a rule added to `hunt-rules.toml` or a user's `--rules`
//! file is prefiltered as well. The sets are exact supersets: a literal is
//! searched ASCII-case-insensitively (a superset of what a case-sensitive
//! regex asks), every member of a small class is its own alternative (the
//! Kelvin sign that `(?i)k` matches included), and a regex with no literal
//! every match needs (`\w{5}`), or one that does not parse here, is simply
//! always run. Prefiltered and unfiltered matching give the same hits
//! (property-tested below).
//!
//! Two things keep the sets small enough to be kept. `(?i)` lets `s`
//! match `ſ` and `k` the Kelvin sign, which doubled a literal's spellings
//! per such letter until the set was given up (nearly every injection rule
//! ran on every text): those two are folded to ASCII ([`fold`]) in the
//! literals and in each scanned text alike. And a rule every match of
//! which holds a non-ASCII character (invisible or look-alike text) is
//! never a candidate on an ASCII text.
//!
//! A literal the regex puts between ASCII word boundaries (`\bnc\b`,
//! `\bat\s`) is kept with them ([`EDGE`]): on an ASCII text, the `nc` of
//! "once" or the `at` of "what" does not make the rule a candidate. Most
//! of a hunt's regex time went to rules woken by such short words inside
//! longer ones.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind, Look};
use std::collections::BTreeSet;

/// Most strings a literal set may hold before it is given up on.
const MAX_SET: usize = 64;
/// Most strings an alternation's requirement (the union of its branches')
/// may hold: a union is never crossed with anything, so it may be larger.
const MAX_UNION: usize = 1024;
/// Most characters of a class enumerated as alternatives.
const MAX_CLASS: usize = 8;

type Set = BTreeSet<Vec<u8>>;

/// Stands for an ASCII word boundary inside a literal: a byte no UTF-8
/// text holds. Taken out before the automaton is built, and checked around
/// each match instead.
const EDGE: u8 = 0xFF;

/// A literal's length without its [`EDGE`]s.
fn content(l: &[u8]) -> usize {
    l.iter().filter(|b| **b != EDGE).count()
}

/// What one part of a regex says about its matches.
struct Info {
    /// Every string it can match, when few.
    exact: Option<Set>,
    /// Strings one of which occurs in every match (`None`: no such set).
    need: Option<Set>,
}

impl Info {
    fn exact(s: Set) -> Info {
        let need = usable(&s).then(|| s.clone());
        Info {
            exact: Some(s),
            need,
        }
    }

    fn unknown() -> Info {
        Info {
            exact: None,
            need: None,
        }
    }

    /// The best requirement it offers.
    fn need(&self) -> Option<&Set> {
        self.need.as_ref()
    }
}

/// A set is a requirement only when it holds no empty string (which every
/// text contains).
fn usable(s: &Set) -> bool {
    !s.iter().any(|l| content(l) == 0)
}

/// How good a requirement is: longer shortest literals first, then fewer
/// literals.
fn score(s: &Set) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = s.iter().map(|l| content(l)).min().unwrap_or(usize::MAX);
    (shortest.min(8), std::cmp::Reverse(s.len()))
}

fn better(a: Option<Set>, b: Option<Set>) -> Option<Set> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn lower(b: &[u8]) -> Vec<u8> {
    b.to_ascii_lowercase()
}

/// The two non-ASCII characters `(?i)` folds into ASCII letters, as
/// those letters; done to literals and scanned text alike, so a literal
/// needs one spelling for them.
fn fold_char(c: char) -> char {
    match c {
        '\u{17F}' => 's',
        '\u{212A}' => 'k',
        c => c,
    }
}

/// `text` with [`fold_char`] applied, copied only when it changes.
fn fold(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii() || !text.contains(['\u{17F}', '\u{212A}']) {
        return text.into();
    }
    text.chars().map(fold_char).collect::<String>().into()
}

/// A literal's bytes folded and lowercased; `None` when they are not
/// UTF-8 (a `&str` regex never has such a literal; it is then run
/// always rather than folded wrongly).
fn folded(b: &[u8]) -> Option<Vec<u8>> {
    let s = std::str::from_utf8(b).ok()?;
    Some(lower(fold(s).as_bytes()))
}

fn class(c: &Class) -> Info {
    let mut out = Set::new();
    match c {
        Class::Unicode(u) => {
            for r in u.ranges() {
                for ch in r.start()..=r.end() {
                    if out.len() > MAX_CLASS {
                        return Info::unknown();
                    }
                    let mut buf = [0u8; 4];
                    out.insert(lower(fold_char(ch).encode_utf8(&mut buf).as_bytes()));
                }
            }
        }
        Class::Bytes(b) => {
            for r in b.ranges() {
                for byte in r.start()..=r.end() {
                    if out.len() > MAX_CLASS {
                        return Info::unknown();
                    }
                    out.insert(lower(&[byte]));
                }
            }
        }
    }
    Info::exact(out)
}

/// Every string of `a` followed by one of `b`, when not too many.
fn cross(a: &Set, b: &Set) -> Option<Set> {
    if a.len().saturating_mul(b.len()) > MAX_SET {
        return None;
    }
    Some(
        a.iter()
            .flat_map(|x| b.iter().map(move |y| [x.as_slice(), y].concat()))
            .collect(),
    )
}

fn concat(parts: &[Hir]) -> Info {
    let mut best: Option<Set> = None;
    // The exact strings of the run of exact parts just read.
    let mut run: Option<Set> = Some(Set::from([Vec::new()]));
    let mut all_exact = true;
    for p in parts {
        let i = info(p);
        match (i.exact, run.take()) {
            (Some(e), Some(r)) => match cross(&r, &e) {
                Some(x) => run = Some(x),
                None => {
                    all_exact = false;
                    best = better(best, Some(r).filter(usable));
                    run = Some(e);
                }
            },
            (Some(e), None) => run = Some(e),
            (None, r) => {
                all_exact = false;
                best = better(best, r.filter(usable));
                best = better(best, i.need);
                run = Some(Set::from([Vec::new()]));
            }
        }
    }
    if all_exact && let Some(r) = run {
        return Info::exact(r);
    }
    best = better(best, run.filter(usable));
    Info {
        exact: None,
        need: best,
    }
}

fn alternation(parts: &[Hir]) -> Info {
    let infos: Vec<Info> = parts.iter().map(info).collect();
    let exact = infos
        .iter()
        .map(|i| i.exact.as_ref())
        .collect::<Option<Vec<_>>>()
        .map(|sets| sets.into_iter().flatten().cloned().collect::<Set>())
        .filter(|s| s.len() <= MAX_SET);
    if let Some(e) = exact {
        return Info::exact(e);
    }
    let mut need = Set::new();
    for i in &infos {
        match i.need() {
            Some(n) => need.extend(n.iter().cloned()),
            None => return Info::unknown(),
        }
    }
    Info {
        exact: None,
        need: (need.len() <= MAX_UNION).then_some(need),
    }
}

fn info(h: &Hir) -> Info {
    match h.kind() {
        HirKind::Look(Look::WordAscii | Look::WordUnicode) => Info::exact(Set::from([vec![EDGE]])),
        HirKind::Empty | HirKind::Look(_) => Info::exact(Set::from([Vec::new()])),
        HirKind::Literal(l) => match folded(&l.0) {
            Some(f) => Info::exact(Set::from([f])),
            None => Info::unknown(),
        },
        HirKind::Class(c) => class(c),
        HirKind::Capture(c) => info(&c.sub),
        HirKind::Repetition(r) => {
            let sub = info(&r.sub);
            match (r.min, r.max) {
                (0, Some(1)) => match sub.exact {
                    Some(mut e) if e.len() < MAX_SET => {
                        e.insert(Vec::new());
                        Info::exact(e)
                    }
                    _ => Info::unknown(),
                },
                (0, _) => Info::unknown(),
                (1, Some(1)) => sub,
                _ => Info {
                    exact: None,
                    need: sub.need,
                },
            }
        }
        HirKind::Concat(parts) => concat(parts),
        HirKind::Alternation(parts) => alternation(parts),
    }
}

/// Whether every match of `regex` holds a non-ASCII character (`false`
/// when it does not parse here).
pub fn needs_non_ascii(regex: &str) -> bool {
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(regex)
        .is_ok_and(|h| crate::triage::pattern::narrow(&h).is_none())
}

/// Literals one of which every match of `regex` contains (ASCII letters in
/// lower case), or `None` when there is no such set or the regex does not
/// parse here: the regex must then always be run.
fn marked_literals(regex: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(regex)
        .ok()?;
    let need = info(&hir).need?;
    (!need.is_empty() && usable(&need)).then(|| need.into_iter().collect())
}

/// [`marked_literals`] without their edges.
pub fn literals(regex: &str) -> Option<Vec<Vec<u8>>> {
    marked_literals(regex).map(|v| v.into_iter().map(|l| Edged::of(&l).bytes).collect())
}

/// A literal of the automaton, and whether an ASCII word boundary must
/// stand before and after it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edged {
    bytes: Vec<u8>,
    start: bool,
    end: bool,
}

impl Edged {
    /// `l` with its [`EDGE`]s taken out: those at its ends become the
    /// checks, those inside are dropped (never checked: a superset).
    fn of(l: &[u8]) -> Edged {
        Edged {
            bytes: l.iter().copied().filter(|b| *b != EDGE).collect(),
            start: l.first() == Some(&EDGE),
            end: l.last() == Some(&EDGE),
        }
    }

    /// Whether the match at `at` of `text` (ASCII) has the boundaries
    /// this literal needs.
    fn fits(&self, text: &[u8], at: std::ops::Range<usize>) -> bool {
        let word = |i: Option<usize>| {
            i.and_then(|i| text.get(i))
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        };
        let edge = |i: usize| word(i.checked_sub(1)) != word(Some(i));
        (!self.start || edge(at.start)) && (!self.end || edge(at.end))
    }
}

/// One automaton over the literals of many regexes (their *keys*, `0..n`).
#[derive(Debug, Clone)]
pub struct Prefilter {
    ac: Option<AhoCorasick>,
    /// The key of each of the automaton's patterns.
    owner: Vec<usize>,
    /// Each pattern's boundaries, checked on ASCII text ([`Edged`]).
    edges: Vec<Edged>,
    /// Keys with no literals: always run.
    always: Vec<bool>,
    /// Keys whose every match holds a non-ASCII character: never a
    /// candidate on an ASCII text.
    wide: Vec<bool>,
}

impl Prefilter {
    /// The prefilter of `regexes`, key `i` for `regexes[i]` (`None`: no
    /// regex, never a candidate).
    pub fn new<'a>(regexes: impl IntoIterator<Item = Option<&'a str>>) -> Prefilter {
        let (mut edges, mut owner, mut always) = (Vec::new(), Vec::new(), Vec::new());
        let mut wide = Vec::new();
        for (key, re) in regexes.into_iter().enumerate() {
            wide.push(re.is_some_and(needs_non_ascii));
            match re.map(marked_literals) {
                Some(Some(lits)) => {
                    owner.extend(std::iter::repeat_n(key, lits.len()));
                    edges.extend(lits.iter().map(|l| Edged::of(l)));
                    always.push(false);
                }
                Some(None) => always.push(true),
                None => always.push(false),
            }
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // Every overlapping match is visited, thousands of literals on
            // every text: a DFA (one table lookup a byte) is faster here
            // than the default NFA, for a few more MiB.
            .kind(Some(AhoCorasickKind::DFA))
            .build(edges.iter().map(|e| &e.bytes))
            .ok();
        if ac.is_none() {
            // Cannot happen with these limits; run everything if it does.
            always.iter_mut().for_each(|a| *a = true);
        }
        Prefilter {
            ac,
            owner,
            edges,
            always,
            wide,
        }
    }

    /// A prefilter over `n` keys that rules nothing out (matching without
    /// it, to compare).
    pub fn all(n: usize) -> Prefilter {
        Prefilter {
            ac: None,
            owner: Vec::new(),
            edges: Vec::new(),
            always: vec![true; n],
            wide: vec![false; n],
        }
    }

    /// How many keys it was built for.
    pub fn len(&self) -> usize {
        self.always.len()
    }

    /// Whether it was built for no keys.
    pub fn is_empty(&self) -> bool {
        self.always.is_empty()
    }

    /// Sets `may[k]` for each key whose regex may match `text` (`may` is
    /// resized to [`Self::len`] and cleared first).
    pub fn scan(&self, text: &str, may: &mut Vec<bool>) {
        may.clear();
        may.extend_from_slice(&self.always);
        let ascii = text.is_ascii();
        if let Some(ac) = &self.ac {
            let folded = fold(text);
            for m in ac.find_overlapping_iter(folded.as_ref()) {
                let p = m.pattern().as_usize();
                // Boundaries are checked on ASCII text only: folding the
                // long s or the Kelvin sign would move them.
                if !ascii || self.edges[p].fits(text.as_bytes(), m.range()) {
                    may[self.owner[p]] = true;
                }
            }
        }
        if ascii {
            may.iter_mut()
                .zip(&self.wide)
                .filter(|(_, w)| **w)
                .for_each(|(m, _)| *m = false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(re: &str) -> Option<Vec<String>> {
        literals(re).map(|v| {
            v.into_iter()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .collect()
        })
    }

    #[test]
    fn literals_are_required_factors() {
        assert_eq!(lits("91\\.92\\.242\\.30").unwrap(), ["91.92.242.30"]);
        let l = lits("(?i)(?-u:\\b)(ignore|disregard)(?-u:\\b)\\s+all").unwrap();
        assert!(l.contains(&"ignore".to_string()) && l.contains(&"disregard".to_string()));
        // `(?i)k` also matches the Kelvin sign and `s` the long s: folded
        // to ASCII, one spelling is enough.
        assert_eq!(lits("(?i)kiss").unwrap(), ["kiss"]);
        assert_eq!(lits("\\w{5}\\d"), None);
        assert_eq!(lits("(a|b*)"), None);
        assert_eq!(lits("x?y?"), None);
        // A regex this parser refuses is always run.
        assert_eq!(lits("(unclosed"), None);
    }

    #[test]
    fn kelvin_and_long_s_are_folded_in_the_text_too() {
        let p = Prefilter::new([Some("(?i)kiss"), Some("(?i)disregard")]);
        let mut may = Vec::new();
        p.scan("a \u{212A}i\u{17F}s", &mut may);
        assert_eq!(may, [true, false]);
        p.scan("DI\u{17F}REGARD", &mut may);
        assert_eq!(may, [false, true]);
    }

    #[test]
    fn a_rule_that_needs_non_ascii_is_no_candidate_on_ascii() {
        let p = Prefilter::new([Some("[\u{200B}-\u{200F}]{2,}"), Some("\\w{5}")]);
        let mut may = Vec::new();
        p.scan("plain ascii text", &mut may);
        assert_eq!(may, [false, true]);
        p.scan("zero\u{200B}\u{200B}width", &mut may);
        assert_eq!(may, [true, true]);
        assert!(needs_non_ascii("a[\u{430}-\u{44F}]|\u{FF21}+"));
        assert!(!needs_non_ascii("a[\u{430}-\u{44F}]?"));
        assert!(!needs_non_ascii("[a\u{430}]"));
    }

    #[test]
    fn a_literal_between_word_boundaries_needs_them_on_ascii_text() {
        let p = Prefilter::new([
            Some("(?-u:\\b)nc(?-u:\\b)\\s+-e"),
            Some("(?i)(?-u:\\b)at(?-u:\\b)"),
            Some("x(?-u:\\b)-i"),
        ]);
        let mut may = Vec::new();
        p.scan("once upon a time, what next", &mut may);
        assert_eq!(may, [false, false, false]);
        p.scan("nc -e /bin/sh; AT now; x-i", &mut may);
        assert_eq!(may, [true, true, true]);
        p.scan("(nc)\n_at now", &mut may);
        assert_eq!(may, [true, false, false]);
        // On non-ASCII text the boundaries are not checked.
        p.scan("once é", &mut may);
        assert_eq!(may, [true, false, false]);
        assert_eq!(lits("(?-u:\\b)nc(?-u:\\b)").unwrap(), ["nc"]);
    }

    #[test]
    fn a_rule_without_literals_is_always_a_candidate() {
        let p = Prefilter::new([Some("\\w{5}\\d"), Some("needle"), None]);
        let mut may = Vec::new();
        p.scan("nothing here", &mut may);
        assert_eq!(may, [true, false, false]);
        p.scan("a NEEDLE", &mut may);
        assert_eq!(may, [true, true, false]);
    }
}
