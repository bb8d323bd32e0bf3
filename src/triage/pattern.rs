//! A hunt rule's regex, split into its top-level branches, each compiled
//! when first needed, in two forms: as written, for any text, and narrowed
//! to what can match ASCII text, for the (most common) text that is all
//! ASCII.
//!
//! Why narrowed: the injection rules are long multilingual alternations.
//! On an ASCII text their Cyrillic, CJK, Arabic and accented branches can
//! never match, yet the lazy DFA carries their NFA states through every
//! determinised state it builds; on gapped patterns (`verb [^.]{0,40}
//! object`) it builds a new state every few bytes, so those branches made
//! the rules three to ten times slower than their English part alone.
//! Narrowing is exact on an ASCII haystack: a dropped piece needs a
//! non-ASCII character to match, so it never matches there, and
//! leftmost-first matching of what is left finds the same match.
//!
//! Why split: each branch is a key of the prefilter
//! ([`crate::triage::prefilter`]) of its own, so on a text only the
//! branches whose words it holds are run, each a small automaton, instead
//! of the whole alternation over the whole text as soon as one branch's
//! words are there. Most of a hunt's regex time was the lazy DFA building
//! states for branches that could not match. Splitting is exact too: the
//! leftmost-first match of `A|B|…` is the match of the branch that starts
//! leftmost, the earliest branch on a tie ([`Pattern::find_in`]).
//!
//! Why compiled when first needed: a rule has dozens of branches, one per
//! language and phrasing, and a host's text wakes few of them; compiling
//! them all was a tenth of a hunt's start. Built-in rules are compiled
//! whole by a unit test; a user's rules file is compiled whole when it is
//! read ([`Pattern::check`]), so a bad rule is refused up front.
//!
//! Why windowed: a gapped branch still builds a DFA state every few bytes
//! wherever its everyday verbs are. Every match holds one of the branch's
//! required literals and is at most its longest match long, so on a long
//! text only the windows around those literals are searched ([`Window`]).

use aho_corasick::AhoCorasick;
use anyhow::{Context, Result};
use regex_automata::Input;
use regex_automata::meta::{self, Regex};
use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange};
use regex_syntax::hir::{Hir, HirKind, Repetition};
use std::ops::Range;
use std::sync::OnceLock;

/// Compiled size allowed for a rule: rules are long alternations over
/// Unicode text, past the regex crate's default 10 MiB.
const SIZE_LIMIT: usize = 32 << 20;
/// Lazy DFA cache per rule and thread. The default 2 MiB is cleared many
/// times a second by the gapped multilingual rules, and each clear makes
/// the DFA rebuild the same states; 64 MiB is a ceiling, not an
/// allocation (a cache grows as states are built).
const DFA_LIMIT: usize = 64 << 20;

/// A rule regex, as top-level branches with their ASCII-only forms.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    /// The prefilter key of the first branch; branch `j` is `key + j`.
    key: usize,
    branches: Vec<Branch>,
}

/// One top-level branch of a [`Pattern`].
#[derive(Debug, Clone)]
struct Branch {
    any: Form,
    /// `None` when no match is possible on ASCII text.
    ascii: Option<Form>,
}

/// A regex kept as its syntax until first asked for.
#[derive(Debug, Clone)]
struct Form {
    hir: Hir,
    compiled: OnceLock<Compiled>,
}

/// A [`Form`] compiled.
#[derive(Debug, Clone)]
struct Compiled {
    re: Regex,
    window: Option<Window>,
}

/// Where in a long text a regex can match: near its anchors.
///
/// A gapped branch (`verb [^.]{0,80}? in your response`) makes the lazy
/// DFA build a new state every few bytes wherever its everyday verbs are,
/// over the whole text. But every match holds one of a few literals (its
/// *anchors*, `in your response`) and is at most `reach` bytes long, so it
/// lies within `reach` bytes of an anchor; only those windows are searched.
#[derive(Debug, Clone)]
struct Window {
    anchors: AhoCorasick,
    reach: usize,
}

/// Longest match a windowed regex may have: past it, windows are most of
/// the text.
const MAX_REACH: usize = 4096;

impl Form {
    fn new(hir: Hir) -> Form {
        Form {
            hir,
            compiled: OnceLock::new(),
        }
    }

    fn compile(&self) -> Result<Compiled> {
        Ok(Compiled {
            re: build(&self.hir)?,
            window: Window::of(&self.hir),
        })
    }

    fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| {
            // `Pattern::check` compiled it when the rules were loaded, or
            // a unit test did (built-in rules): it cannot fail now.
            self.compile()
                .expect("rule regexes are checked when they are loaded")
        })
    }
}

impl Window {
    /// The window of a regex, when it has anchors and a bounded reach.
    fn of(hir: &Hir) -> Option<Window> {
        let reach = hir.properties().maximum_len()?;
        let anchors = crate::triage::prefilter::required(hir)?;
        if reach > MAX_REACH || anchors.iter().any(Vec::is_empty) {
            return None;
        }
        let anchors = aho_corasick::AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(anchors)
            .ok()?;
        Some(Window { anchors, reach })
    }

    /// The windows of `text`, in order and disjoint: around each anchor
    /// found, `reach` bytes either side. An anchor the leftmost search
    /// passed over starts inside one it found, so within its window.
    fn spans<'t>(&'t self, text: &'t str) -> impl Iterator<Item = Range<usize>> + 't {
        let mut found = self.anchors.find_iter(text).map(|m| {
            let lo = char_floor(text, m.start().saturating_sub(self.reach));
            let hi = char_ceil(text, m.end().saturating_add(self.reach));
            lo..hi
        });
        let mut cur = found.next();
        std::iter::from_fn(move || {
            let mut span = cur.take()?;
            for next in found.by_ref() {
                if next.start > span.end {
                    cur = Some(next);
                    break;
                }
                span.end = span.end.max(next.end);
            }
            Some(span)
        })
    }
}

impl Compiled {
    /// The leftmost-first match in `text`. `plain` says `text` holds no
    /// long s or Kelvin sign: anchors are found ASCII-case-insensitively,
    /// and those two are the letters `(?i)` matches that the anchors
    /// spell in ASCII ([`crate::triage::prefilter`]).
    ///
    /// Exact: every match lies in a window, so a window before the first
    /// that holds a match holds none, and the leftmost match of the text
    /// is the leftmost of that window.
    fn find(&self, text: &str, plain: bool) -> Option<Range<usize>> {
        let search = |span: Range<usize>| {
            self.re
                .search(&Input::new(text).span(span))
                .map(|m| m.range())
        };
        match &self.window {
            Some(w) if plain && text.len() > 4 * w.reach => w.spans(text).find_map(search),
            _ => search(0..text.len()),
        }
    }
}

impl Pattern {
    /// Reads `re` and splits it; nothing is compiled yet ([`Self::check`]).
    pub fn new(re: &str) -> Result<Pattern> {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(re)
            .context("regex syntax")?;
        let branches = top_branches(&hir)
            .into_iter()
            .map(|h| Branch {
                ascii: narrow(&h).map(Form::new),
                any: Form::new(h),
            })
            .collect();
        Ok(Pattern {
            source: re.to_string(),
            key: 0,
            branches,
        })
    }

    /// Compiles every branch in both forms: what is refused (too large)
    /// is refused now, not in the middle of a hunt.
    pub fn check(&self) -> Result<()> {
        for b in &self.branches {
            for f in std::iter::once(&b.any).chain(&b.ascii) {
                let c = f.compile()?;
                let _ = f.compiled.set(c);
            }
        }
        Ok(())
    }

    /// The regex as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// How many prefilter keys it takes: one a branch.
    pub fn len(&self) -> usize {
        self.branches.len()
    }

    /// Whether it has no branch (never: a regex has at least one).
    pub fn is_empty(&self) -> bool {
        self.branches.is_empty()
    }

    /// Its first prefilter key.
    pub fn key(&self) -> usize {
        self.key
    }

    /// Numbers its branches from `key` on; the next free key is returned.
    pub fn number(&mut self, key: usize) -> usize {
        self.key = key;
        key + self.len()
    }

    /// Each branch's syntax as written and narrowed to ASCII (`None`:
    /// it cannot match ASCII text), in key order.
    pub fn forms(&self) -> impl Iterator<Item = (&Hir, Option<&Hir>)> {
        self.branches
            .iter()
            .map(|b| (&b.any.hir, b.ascii.as_ref().map(|f| &f.hir)))
    }

    /// The leftmost-first match in `text` of the branches whose key `may`
    /// lets through, as the whole regex would find it: the match that
    /// starts leftmost, the earlier branch on a tie. `seen` is what the
    /// caller knows of `text` already ([`Seen`]).
    pub fn find_in(
        &self,
        text: &str,
        seen: Seen,
        may: impl Fn(usize) -> bool,
    ) -> Option<Range<usize>> {
        debug_assert_eq!(seen.ascii, text.is_ascii());
        let mut best: Option<Range<usize>> = None;
        for (j, b) in self.branches.iter().enumerate() {
            if best.as_ref().is_some_and(|m| m.start == 0) {
                break;
            }
            let form = if seen.ascii {
                b.ascii.as_ref()
            } else {
                Some(&b.any)
            };
            let Some(form) = form.filter(|_| may(self.key + j)) else {
                continue;
            };
            if let Some(m) = form.compiled().find(text, seen.plain)
                && best.as_ref().is_none_or(|b| m.start < b.start)
            {
                best = Some(m);
            }
        }
        best
    }

    /// The leftmost-first match in `text`, every branch asked.
    pub fn find(&self, text: &str) -> Option<Range<usize>> {
        self.find_in(text, Seen::of(text), |_| true)
    }

    /// Whether it matches `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.find(text).is_some()
    }
}

/// What the caller knows of a text before matching it.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// It is all ASCII.
    pub ascii: bool,
    /// It holds neither the long s nor the Kelvin sign ([`Compiled::find`]).
    pub plain: bool,
}

impl Seen {
    /// What `text` is.
    pub fn of(text: &str) -> Seen {
        Seen {
            ascii: text.is_ascii(),
            plain: crate::triage::prefilter::plain(text),
        }
    }
}

/// `re` compiled as the `regex` crate compiles a `Regex` (leftmost-first,
/// UTF-8), with this module's limits.
fn build(re: &Hir) -> Result<Regex> {
    let config = meta::Config::new()
        .match_kind(regex_automata::MatchKind::LeftmostFirst)
        .utf8_empty(true)
        .nfa_size_limit(Some(SIZE_LIMIT))
        .hybrid_cache_capacity(DFA_LIMIT);
    Ok(meta::Builder::new().configure(config).build_from_hir(re)?)
}

/// The char boundary at or before `i`.
fn char_floor(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The char boundary at or after `i`, at most the end.
fn char_ceil(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The branches of `h`'s top-level alternation, in order (`h` alone when
/// it is none). A group around the alternation is looked through: only
/// where a branch matches is asked, never what it captured.
fn top_branches(h: &Hir) -> Vec<Hir> {
    match h.kind() {
        HirKind::Alternation(v) => v.iter().flat_map(top_branches).collect(),
        HirKind::Capture(c) => top_branches(&c.sub),
        _ => vec![h.clone()],
    }
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
    use proptest::prelude::*;

    fn narrowed(re: &str) -> Option<String> {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(re)
            .unwrap();
        narrow(&hir).map(|h| h.to_string())
    }

    /// `p`'s match on `text` with the ASCII form when `text` is ASCII.
    fn found(p: &Pattern, text: &str) -> Option<std::ops::Range<usize>> {
        p.find_in(text, Seen::of(text), |_| true)
    }

    #[test]
    fn non_ascii_branches_are_dropped() {
        let p = Pattern::new(r"(?i)ignore (?:all|toutes) instructions|игнорируй|忽略").unwrap();
        let ascii: Vec<String> = p
            .forms()
            .filter_map(|(_, a)| a.map(Hir::to_string))
            .collect();
        assert!(
            ascii.iter().all(|n| !n.contains('и') && !n.contains('忽')),
            "{ascii:?}"
        );
        assert!(found(&p, "please IGNORE all instructions").is_some());
        assert!(found(&p, "игнорируй это").is_some());
        assert_eq!(narrowed("忽略|игнор"), None);
    }

    #[test]
    fn optional_non_ascii_parts_become_empty() {
        let p = Pattern::new(r"caf[eé]s?(?:\u{301})?\b").unwrap();
        assert!(found(&p, "cafes here").is_some());
        assert!(found(&p, "cafés here").is_some());
        // A required non-ASCII piece: nothing is left for ASCII text.
        assert!(found(&Pattern::new("naïve").unwrap(), "naive").is_none());
    }

    #[test]
    fn case_folding_to_ascii_is_kept() {
        // (?i)k also matches the Kelvin sign; the ASCII form keeps k and K.
        let p = Pattern::new("(?i)kill").unwrap();
        assert!(found(&p, "KILL it").is_some());
        assert!(found(&p, "\u{212A}ILL it").is_some());
    }

    #[test]
    fn top_level_branches_are_split_through_groups() {
        let p = Pattern::new("(?:ab+|(cd|ef))|gh(i|j)").unwrap();
        let any: Vec<String> = p.forms().map(|(h, _)| h.to_string()).collect();
        assert_eq!(any.len(), 4, "{any:?}");
        assert_eq!(Pattern::new("ab").unwrap().len(), 1);
    }

    #[test]
    fn the_leftmost_branch_wins_and_the_earlier_on_a_tie() {
        let p = Pattern::new("world|hello w|hello").unwrap();
        assert_eq!(found(&p, "say hello world"), Some(4..11));
        let p = Pattern::new("hello|hello w").unwrap();
        assert_eq!(found(&p, "say hello world"), Some(4..9));
    }

    #[test]
    fn a_branch_the_gate_shuts_is_not_run() {
        let mut p = Pattern::new("alpha|beta").unwrap();
        assert_eq!(p.number(10), 12);
        let text = "alpha beta";
        let m = p.find_in(text, Seen::of(text), |k| k == 11);
        assert_eq!(m.map(|m| &text[m]), Some("beta"));
        assert!(p.find_in(text, Seen::of(text), |_| false).is_none());
    }

    #[test]
    fn a_gapped_branch_is_windowed_and_an_open_one_is_not() {
        let form = |re: &str| {
            let p = Pattern::new(re).unwrap();
            p.branches[0].any.compile().unwrap()
        };
        let w = form(r"(?i)\b(?:add|use)\b[^.]{0,80}?\bin your (?:reply|answer)\b");
        assert!(w.window.as_ref().is_some_and(|w| w.reach < MAX_REACH));
        assert!(form(r"add\s+in your reply").window.is_none());
        assert!(form(r"\w{5}").window.is_none());
        // Far from any anchor, a verb alone is not searched; near one the
        // match is found whole (`true`: no long s or Kelvin sign in the
        // text, so windows are used).
        let text = format!(
            "{} add this in your reply {}",
            "use it. ".repeat(400),
            "x".repeat(900)
        );
        let at = text.find("add this").unwrap();
        assert_eq!(
            w.find(&text, true),
            Some(at..at + "add this in your reply".len())
        );
        // A match as long as the reach, before its anchor and after it.
        let far = format!("add {} in your answer", "é".repeat(78));
        let text = format!("{}{far}{}", ".".repeat(2000), ".".repeat(2000));
        assert_eq!(w.find(&text, true), Some(2000..2000 + far.len()));
        // `(?i)s` matches the long s, which the anchors spell `s`: such a
        // text is searched whole.
        let text = format!(
            "{}add in your an\u{17F}wer{}",
            ".".repeat(2000),
            ".".repeat(2000)
        );
        let m = w.find(&text, Seen::of(&text).plain);
        assert_eq!(m.map(|m| &text[m]), Some("add in your an\u{17F}wer"));
        let w = form(r"anchor[^.]{0,60}end");
        let far = format!("anchor{}end", "é".repeat(60));
        let text = format!("{}{far}{}", ".".repeat(2000), ".".repeat(2000));
        assert_eq!(w.find(&text, true), Some(2000..2000 + far.len()));
    }

    #[test]
    fn check_refuses_what_cannot_compile() {
        assert!(Pattern::new("(").is_err());
        let huge = Pattern::new(r"\w{1000}\w{1000}\w{1000}").unwrap();
        assert!(huge.check().is_err());
    }

    proptest! {
        /// Split, gated-open matching finds what the whole regex finds,
        /// on texts of the branches' own pieces.
        #[test]
        fn split_matching_is_the_whole_regex_match(
            parts in prop::collection::vec(0usize..9, 0..12)
        ) {
            const PIECES: [&str; 9] = ["ab", "a", "b", "abc", " ", "c", "é", "bc", "x"];
            let text: String = parts.iter().map(|i| PIECES[*i]).collect();
            for re in ["a|ab|abc", "b(c|é)|ab|é+", "(?i)x|(?:A|bc)+|c", r"\ba|b\b|c"] {
                let whole = regex::Regex::new(re).unwrap();
                let p = Pattern::new(re).unwrap();
                prop_assert_eq!(found(&p, &text), whole.find(&text).map(|m| m.range()), "{}", re);
                prop_assert_eq!(p.find(&text), whole.find(&text).map(|m| m.range()));
            }
        }

        /// Searching only near a gapped regex's anchors finds what a
        /// search of the whole text finds, on texts long enough to be
        /// windowed: anchors that overlap, recur, sit at either end, and
        /// look-alike letters `(?i)` matches.
        #[test]
        fn windowed_matching_is_the_whole_text_match(
            parts in prop::collection::vec(0usize..15, 0..400)
        ) {
            const PIECES: [&str; 15] = [
                "add", " ", "use", "in your reply", "In Your Answer", ".", "x",
                "é", "in your an\u{17F}wer", "ababa", "aba", "q", "z", "\u{212A}ey",
                "\u{17F}",
            ];
            let text: String = parts.iter().map(|i| PIECES[*i]).collect();
            for re in [
                r"(?i)\b(?:add|use)\b[^.]{0,12}?\bin your (?:reply|answer)\b",
                r"(?:q[a-z ]{0,6})?aba[a-z ]{0,4}z",
                r"(?i)key[^.]{0,9}ababa|add.{1,3}\bx",
            ] {
                let whole = regex::Regex::new(re).unwrap();
                let p = Pattern::new(re).unwrap();
                prop_assert_eq!(found(&p, &text), whole.find(&text).map(|m| m.range()), "{}", re);
            }
        }
    }
}
