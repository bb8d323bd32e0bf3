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
//! every match needs (`\w{5}`) is simply always run. Prefiltered and
//! unfiltered matching give the same hits (property-tested below). A key
//! is one top-level branch of a rule's regex ([`crate::triage::pattern`]),
//! so a long alternation runs only the branches whose words are there.
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
//!
//! A requirement is a formula, not one set ([`Need`]): each part of a
//! concatenation must be there, one branch of an alternation. A gapped
//! rule (`(tell me|share|print) [^.]{0,40} the user's (email|address)`)
//! is a candidate only where a verb *and* its object occur, not wherever
//! an everyday verb does. And ASCII text, most of what an agent reads, is
//! judged by each regex narrowed to ASCII ([`crate::triage::pattern`]), in
//! an automaton of its own: a multilingual rule's whole requirement (every
//! script's words) is too large to keep as a formula, its ASCII part is
//! not. A rule's formula is evaluated only when the hunt asks about that
//! rule ([`Prefilter::may`]), and only when one of its literals was seen.

use aho_corasick::automaton::Automaton;
use aho_corasick::{Anchored, MatchKind, StartKind};
use regex_syntax::hir::{Class, Hir, HirKind, Look};
use std::collections::{BTreeSet, HashMap};

/// Most strings a literal set may hold before it is given up on.
const MAX_SET: usize = 64;
/// Most strings an alternation's requirement (the union of its branches')
/// may hold: a union is never crossed with anything, so it may be larger.
const MAX_UNION: usize = 1024;
/// Most characters of a class enumerated as alternatives.
const MAX_CLASS: usize = 8;
/// Most parts of a concatenation asked at once ([`Need::All`]).
const MAX_ALL: usize = 4;
/// Shortest literal a part other than the best must have to be asked too.
const MIN_CONJUNCT: usize = 3;

type Set = BTreeSet<Vec<u8>>;

/// Stands for an ASCII word boundary inside a literal: a byte no UTF-8
/// text holds. Taken out before the automaton is built, and checked around
/// each match instead.
const EDGE: u8 = 0xFF;

/// A literal's length without its [`EDGE`]s.
fn content(l: &[u8]) -> usize {
    l.iter().filter(|b| **b != EDGE).count()
}

/// What every match of one part of a regex must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Need {
    /// One of these strings.
    Lits(Set),
    /// What each of these asks (the parts of a concatenation): a gapped
    /// rule (`verb [^.]{0,40} object`) is a candidate only where a verb
    /// *and* an object occur, not wherever an everyday verb does.
    All(Vec<Need>),
    /// What one of these asks (the branches of an alternation).
    Any(Vec<Need>),
}

impl Need {
    /// How many literals it holds (each one a pattern of the automaton).
    fn size(&self) -> usize {
        match self {
            Need::Lits(s) => s.len(),
            Need::All(v) | Need::Any(v) => v.iter().map(Need::size).sum(),
        }
    }

    /// How selective it is ([`score`]): a conjunction is as good as its
    /// best part, an alternation as its worst branch.
    fn score(&self) -> (usize, std::cmp::Reverse<usize>) {
        match self {
            Need::Lits(s) => score(s),
            Need::All(v) => v.iter().map(Need::score).max().unwrap_or_default(),
            Need::Any(v) => v.iter().map(Need::score).min().unwrap_or_default(),
        }
    }

    /// The requirement as one set of strings, as good as one can be:
    /// the best part of a conjunction, the union of an alternation's
    /// branches (`None` when too many).
    fn one_set(&self) -> Option<Set> {
        match self {
            Need::Lits(s) => Some(s.clone()),
            Need::All(v) => v.iter().filter_map(Need::one_set).reduce(better_of),
            Need::Any(v) => {
                let mut u = Set::new();
                for n in v {
                    u.extend(n.one_set()?);
                }
                (u.len() <= MAX_UNION).then_some(u)
            }
        }
    }

    /// Every part of `parts` asked at once. The best parts are kept, and
    /// only those that are words (a conjunct that is a space or a letter
    /// would be found in every text and cost the automaton for nothing).
    fn all(parts: Vec<Need>) -> Option<Need> {
        let mut flat: Vec<Need> = Vec::new();
        for p in parts {
            match p {
                Need::All(v) => flat.extend(v),
                p => flat.push(p),
            }
        }
        flat.sort_by_key(|n| std::cmp::Reverse(n.score()));
        flat.dedup();
        let mut kept: Vec<Need> = Vec::new();
        let mut size = 0;
        for (i, n) in flat.into_iter().enumerate() {
            let worth = i == 0 || n.score().0 >= MIN_CONJUNCT;
            if worth && kept.len() < MAX_ALL && size + n.size() <= MAX_UNION {
                size += n.size();
                kept.push(n);
            }
        }
        match kept.len() {
            0 => None,
            1 => kept.pop(),
            _ => Some(Need::All(kept)),
        }
    }

    /// One of `branches` asked. Plain sets are joined into one; when the
    /// whole is too large it falls back to [`Need::one_set`].
    fn any(branches: Vec<Need>) -> Option<Need> {
        let mut lits = Set::new();
        let mut rest: Vec<Need> = Vec::new();
        for b in branches {
            match b {
                Need::Lits(s) => lits.extend(s),
                Need::Any(v) => rest.extend(v),
                b => rest.push(b),
            }
        }
        if !lits.is_empty() {
            rest.push(Need::Lits(lits));
        }
        let n = if rest.len() == 1 {
            rest.pop()?
        } else {
            Need::Any(rest)
        };
        if n.size() <= MAX_UNION {
            Some(n)
        } else {
            n.one_set().map(Need::Lits)
        }
    }
}

/// What one part of a regex says about its matches.
struct Info {
    /// Every string it can match, when few.
    exact: Option<Set>,
    /// What every match contains (`None`: nothing known).
    need: Option<Need>,
}

impl Info {
    fn exact(s: Set) -> Info {
        let need = usable(&s).then(|| Need::Lits(s.clone()));
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

fn better_of(a: Set, b: Set) -> Set {
    if score(&b) > score(&a) { b } else { a }
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

/// Whether `text` holds neither of the two characters [`fold_char`]
/// changes: then it reads the same folded, and the literals' ASCII
/// spelling finds every occurrence in it as it is.
pub fn plain(text: &str) -> bool {
    text.is_ascii() || !text.contains(['\u{17F}', '\u{212A}'])
}

/// `text` with [`fold_char`] applied, copied only when it changes.
fn fold(text: &str) -> std::borrow::Cow<'_, str> {
    if plain(text) {
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
    let mut needs: Vec<Need> = Vec::new();
    // The exact strings of the run of exact parts just read.
    let mut run: Option<Set> = Some(Set::from([Vec::new()]));
    let mut all_exact = true;
    let close = |r: Option<Set>, needs: &mut Vec<Need>| {
        needs.extend(r.filter(usable).map(Need::Lits));
    };
    for p in parts {
        let i = info(p);
        match (i.exact, run.take()) {
            (Some(e), Some(r)) => match cross(&r, &e) {
                Some(x) => run = Some(x),
                None => {
                    all_exact = false;
                    close(Some(r), &mut needs);
                    run = Some(e);
                }
            },
            (Some(e), None) => run = Some(e),
            (None, r) => {
                all_exact = false;
                close(r, &mut needs);
                needs.extend(i.need);
                run = Some(Set::from([Vec::new()]));
            }
        }
    }
    if all_exact && let Some(r) = run {
        return Info::exact(r);
    }
    close(run, &mut needs);
    Info {
        exact: None,
        need: Need::all(needs),
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
    let need = infos
        .into_iter()
        .map(|i| i.need)
        .collect::<Option<Vec<_>>>()
        .and_then(Need::any);
    Info { exact: None, need }
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

/// Literals one of which every match of `hir` contains, without their
/// edges ([`Need::one_set`] of its requirement): lowercase ASCII, the long
/// s and the Kelvin sign spelled `s` and `k` ([`fold`]).
pub fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let set = info(hir).need?.one_set()?;
    Some(set.iter().map(|l| Edged::of(l).bytes).collect())
}

/// A key's requirement over the automaton's sets of literals (its
/// *leaves*), evaluated once the text was scanned.
#[derive(Debug, Clone)]
enum Formula {
    /// A literal of this leaf was seen.
    Leaf(usize),
    All(Vec<Formula>),
    Any(Vec<Formula>),
}

impl Formula {
    fn holds(&self, seen: &[bool]) -> bool {
        match self {
            Formula::Leaf(l) => seen[*l],
            Formula::All(v) => v.iter().all(|f| f.holds(seen)),
            Formula::Any(v) => v.iter().any(|f| f.holds(seen)),
        }
    }
}

/// When a key is a candidate on one kind of text; `F` is its requirement,
/// a [`Need`] while the prefilter is built.
#[derive(Debug, Clone)]
enum Gate<F = Formula> {
    /// Never (none of its matches can be in such text).
    Never,
    /// Always (nothing every match contains is known).
    Always,
    /// When the literals seen in the text fit its requirement.
    When(F),
}

/// A literal of the automaton, and whether an ASCII word boundary must
/// stand before and after it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// Automata over the literals of many regexes (their *keys*, `0..n`): one
/// for ASCII text and one for any other.
///
/// Two, because ASCII text (most of what an agent reads) needs only the
/// requirement of each regex narrowed to ASCII: a fraction of the
/// literals, and far more selective (a multilingual rule's whole
/// requirement, every script's words, is too large to keep as a
/// conjunction and falls back to one set of common words).
#[derive(Debug, Clone)]
pub struct Prefilter {
    ascii: Side,
    other: Side,
}

/// The automaton of one kind of text and each key's gate on it.
#[derive(Debug, Clone)]
struct Side {
    /// `None` when it could not be built: every gate then opens.
    ac: Option<Literals>,
    /// The leaves ([`Formula::Leaf`]) of each of the automaton's patterns:
    /// a word many rules ask for is one pattern, reported once a match.
    owner: Vec<Vec<usize>>,
    /// Each pattern's boundaries, checked on ASCII text ([`Edged`]).
    edges: Vec<Edged>,
    /// The key each leaf belongs to.
    leaf_key: Vec<usize>,
    /// Each key's gate.
    gates: Vec<Gate>,
}

/// Each automaton pattern's place in [`Side::edges`], while a side is
/// built: a word several rules ask for is one pattern.
type Index = HashMap<Edged, usize>;

/// What the prefilter found in one text: which leaves' literals it holds,
/// and so which keys' requirements are worth evaluating. A key's gate is
/// evaluated only when asked ([`Prefilter::may`]): most rules are never
/// asked about most texts (a rule of another field, or one already hit).
#[derive(Debug, Default)]
pub struct Candidates {
    ascii: bool,
    /// Neither the long s nor the Kelvin sign is in the text ([`fold`]).
    plain: bool,
    /// `None` when the automaton could not be built (everything opens).
    seen: Option<Vec<bool>>,
    /// Keys with a leaf seen.
    touched: Vec<bool>,
}

impl Candidates {
    /// What a regex may know of the text ([`crate::triage::pattern::Seen`]).
    pub fn seen(&self) -> crate::triage::pattern::Seen {
        crate::triage::pattern::Seen {
            ascii: self.ascii,
            plain: self.plain,
        }
    }
}

impl Side {
    /// The automaton (of `kind`) of the requirements of `gates`, one per
    /// key.
    fn new(gates: &[Gate<Need>], kind: Kind) -> Side {
        let mut s = Side::all(0);
        let mut index = HashMap::new();
        s.gates = gates
            .iter()
            .enumerate()
            .map(|(key, g)| s.gate(&mut index, key, g))
            .collect();
        s.ac = Literals::new(s.edges.iter().map(|e| &e.bytes), kind);
        s
    }

    /// `g`, key `key`'s gate, with its requirement's literals added
    /// (`index`: each pattern's place in `edges`).
    fn gate(&mut self, index: &mut Index, key: usize, g: &Gate<Need>) -> Gate {
        match g {
            Gate::Never => Gate::Never,
            Gate::Always => Gate::Always,
            Gate::When(n) => Gate::When(self.formula(index, key, n)),
        }
    }

    /// `n` as a formula over new leaves of `key`, their literals added.
    fn formula(&mut self, index: &mut Index, key: usize, n: &Need) -> Formula {
        match n {
            Need::Lits(set) => {
                let leaf = self.leaf_key.len();
                self.leaf_key.push(key);
                for l in set {
                    let e = Edged::of(l);
                    let next = self.edges.len();
                    let p = *index.entry(e.clone()).or_insert(next);
                    if p == next {
                        self.edges.push(e);
                        self.owner.push(Vec::new());
                    }
                    self.owner[p].push(leaf);
                }
                Formula::Leaf(leaf)
            }
            Need::All(v) => Formula::All(v.iter().map(|n| self.formula(index, key, n)).collect()),
            Need::Any(v) => Formula::Any(v.iter().map(|n| self.formula(index, key, n)).collect()),
        }
    }

    /// The literals of `text`, `ascii` when it is all ASCII.
    fn scan(&self, text: &str, ascii: bool) -> Candidates {
        let mut touched = vec![false; self.gates.len()];
        let folded = fold(text);
        let plain = matches!(folded, std::borrow::Cow::Borrowed(_));
        let seen = self.ac.as_ref().map(|ac| {
            let mut seen = vec![false; self.leaf_key.len()];
            // A pattern is counted once; common words recur in a text.
            let mut found = vec![false; self.edges.len()];
            ac.each_match(folded.as_bytes(), |p, at| {
                // Boundaries are checked on ASCII text only: folding the
                // long s or the Kelvin sign would move them.
                if found[p] || (ascii && !self.edges[p].fits(text.as_bytes(), at)) {
                    return;
                }
                found[p] = true;
                for l in &self.owner[p] {
                    seen[*l] = true;
                    touched[self.leaf_key[*l]] = true;
                }
            });
            seen
        });
        Candidates {
            ascii,
            plain,
            seen,
            touched,
        }
    }

    /// A side of `n` keys that rules nothing out.
    fn all(n: usize) -> Side {
        Side {
            ac: None,
            owner: Vec::new(),
            edges: Vec::new(),
            leaf_key: Vec::new(),
            gates: vec![Gate::Always; n],
        }
    }
}

/// The automaton over a side's literals, searched ASCII-case-insensitively
/// for every occurrence, overlapping ones included.
#[derive(Debug, Clone)]
enum Literals {
    Dfa(aho_corasick::dfa::DFA),
    Nfa(aho_corasick::nfa::contiguous::NFA),
}

/// Which automaton a side's literals get.
///
/// ASCII text is most of what is scanned, against a few thousand
/// literals: a DFA (one table load a byte, 13 MiB) is fastest. The other
/// side's literals spell every case of every script's words; its DFA was
/// 54 MiB, built at every start (about 0.1 s) for a few MiB of text: a
/// contiguous NFA (1.4 MiB) builds five times faster. It scans slower
/// than that DFA with its table in cache (70 against 45 ms for the 6.7 MB
/// of non-ASCII text in the 100,000-event corpus), which in a hunt,
/// between regex runs, the table is not.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Dfa,
    Nfa,
}

impl Literals {
    /// `None` when it cannot be built (too many states).
    fn new<I, P>(patterns: I, kind: Kind) -> Option<Literals>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        Some(match kind {
            Kind::Dfa => Literals::Dfa(
                aho_corasick::dfa::Builder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .start_kind(StartKind::Unanchored)
                    .build(patterns)
                    .ok()?,
            ),
            Kind::Nfa => Literals::Nfa(
                aho_corasick::nfa::contiguous::Builder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(patterns)
                    .ok()?,
            ),
        })
    }

    /// Calls `f` with the pattern and range of every match in `hay`; a
    /// match may be reported twice.
    ///
    /// A long text is walked as [`LANES`] pieces in step. Each step of a
    /// walk waits on one load from a table of many MiB, and the next load
    /// depends on it; independent walks keep several loads in flight. Each
    /// piece but the first starts a pattern's length early, so a match
    /// across a cut is found by the piece after it.
    fn each_match(&self, hay: &[u8], mut f: impl FnMut(usize, std::ops::Range<usize>)) {
        match self {
            Literals::Dfa(a) => each_match(a, hay, &mut f),
            Literals::Nfa(a) => each_match(a, hay, &mut f),
        }
    }
}

/// [`Literals::each_match`] with automaton `a`.
fn each_match<A: Automaton>(a: &A, hay: &[u8], f: &mut impl FnMut(usize, std::ops::Range<usize>)) {
    if hay.len() >= SPLIT_WALK {
        walk::<A, LANES>(a, hay, f);
    } else {
        walk::<A, 1>(a, hay, f);
    }
}

/// [`Literals::each_match`] in `K` pieces.
fn walk<A: Automaton, const K: usize>(
    a: &A,
    hay: &[u8],
    f: &mut impl FnMut(usize, std::ops::Range<usize>),
) {
    let Ok(start) = a.start_state(Anchored::No) else {
        return;
    };
    let piece = hay.len() / K;
    let back = a.max_pattern_len().saturating_sub(1);
    // Piece k is `from[k]..to[k]`; the first `piece` bytes of each are
    // walked in step, then what is left of each.
    let from: [usize; K] = std::array::from_fn(|k| (k * piece).saturating_sub(back));
    let to: [usize; K] = std::array::from_fn(|k| {
        if k + 1 == K {
            hay.len()
        } else {
            (k + 1) * piece
        }
    });
    let mut sid = [start; K];
    for i in 0..piece {
        for k in 0..K {
            let at = from[k] + i;
            sid[k] = a.next_state(Anchored::No, sid[k], hay[at]);
            if a.is_special(sid[k]) {
                matched(a, sid[k], at, f);
            }
        }
    }
    for k in 0..K {
        for (at, b) in hay.iter().enumerate().take(to[k]).skip(from[k] + piece) {
            sid[k] = a.next_state(Anchored::No, sid[k], *b);
            if a.is_special(sid[k]) {
                matched(a, sid[k], at, f);
            }
        }
    }
}

/// Reports the matches of state `sid` of `a`, entered on the byte at `at`.
#[inline(never)]
fn matched<A: Automaton>(
    a: &A,
    sid: aho_corasick::automaton::StateID,
    at: usize,
    f: &mut impl FnMut(usize, std::ops::Range<usize>),
) {
    if a.is_match(sid) {
        for i in 0..a.match_len(sid) {
            let p = a.match_pattern(sid, i);
            f(p.as_usize(), at + 1 - a.pattern_len(p)..at + 1);
        }
    }
}

/// How many pieces of a long text are walked in step.
const LANES: usize = 2;

/// Shortest text walked in [`LANES`] pieces ([`Literals::each_match`]).
const SPLIT_WALK: usize = 256;

/// What `hir` (`None`: nothing) requires, as a gate.
fn gate_of(hir: Option<&Hir>) -> Gate<Need> {
    match hir.map(|h| info(h).need) {
        None => Gate::Never,
        Some(None) => Gate::Always,
        Some(Some(n)) => Gate::When(n),
    }
}

impl Prefilter {
    /// The prefilter of one key per item: a regex as written and
    /// narrowed to ASCII (`None`: it cannot match ASCII text,
    /// [`crate::triage::pattern::narrow`]).
    pub fn new<'a>(keys: impl IntoIterator<Item = (&'a Hir, Option<&'a Hir>)>) -> Prefilter {
        let keys: Vec<(&Hir, Option<&Hir>)> = keys.into_iter().collect();
        // Reading the long multilingual regexes, and building each
        // automaton, are most of the start of a hunt: on every core.
        let (ascii, other): (Vec<_>, Vec<_>) =
            crate::triage::cores::map(&keys, |(any, ascii)| (gate_of(*ascii), gate_of(Some(any))))
                .into_iter()
                .unzip();
        let [ascii, other]: [Side; 2] =
            crate::triage::cores::map(&[(ascii, Kind::Dfa), (other, Kind::Nfa)], |(g, k)| {
                Side::new(g, *k)
            })
            .try_into()
            .expect("two sides");
        Prefilter { ascii, other }
    }

    /// A prefilter over `n` keys that rules nothing out (matching without
    /// it, to compare).
    pub fn all(n: usize) -> Prefilter {
        Prefilter {
            ascii: Side::all(n),
            other: Side::all(n),
        }
    }

    /// How many keys it was built for.
    pub fn len(&self) -> usize {
        self.ascii.gates.len()
    }

    /// Whether it was built for no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The literals of `text`, to ask [`Self::may`] of.
    pub fn scan(&self, text: &str) -> Candidates {
        if text.is_ascii() {
            self.ascii.scan(text, true)
        } else {
            self.other.scan(text, false)
        }
    }

    /// Whether key `key`'s regex may match the text `c` was scanned from.
    pub fn may(&self, c: &Candidates, key: usize) -> bool {
        let side = if c.ascii { &self.ascii } else { &self.other };
        match (&side.gates[key], &c.seen) {
            (Gate::Never, _) => false,
            (Gate::Always, _) | (Gate::When(_), None) => true,
            (Gate::When(f), Some(seen)) => c.touched[key] && f.holds(seen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether every match of `regex` holds a non-ASCII character: what
    /// makes its ASCII gate [`Gate::Never`].
    fn needs_non_ascii(regex: &str) -> bool {
        parse(regex).is_some_and(|h| crate::triage::pattern::narrow(&h).is_none())
    }

    /// The prefilter of `regexes`, one key each.
    fn pre(regexes: &[&str]) -> Prefilter {
        let hirs: Vec<(Hir, Option<Hir>)> = regexes
            .iter()
            .map(|r| {
                let h = parse(r).unwrap();
                let n = crate::triage::pattern::narrow(&h);
                (h, n)
            })
            .collect();
        Prefilter::new(hirs.iter().map(|(h, n)| (h, n.as_ref())))
    }

    /// Which keys of `p` may match `text`.
    fn may(p: &Prefilter, text: &str) -> Vec<bool> {
        let c = p.scan(text);
        (0..p.len()).map(|k| p.may(&c, k)).collect()
    }

    fn parse(regex: &str) -> Option<Hir> {
        regex_syntax::ParserBuilder::new().build().parse(regex).ok()
    }

    fn lits(re: &str) -> Option<Vec<String>> {
        required(&parse(re)?).map(|v| {
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
        let p = pre(&["(?i)kiss", "(?i)disregard"]);
        assert_eq!(may(&p, "a \u{212A}i\u{17F}s"), [true, false]);
        assert_eq!(may(&p, "DI\u{17F}REGARD"), [false, true]);
    }

    #[test]
    fn a_rule_that_needs_non_ascii_is_no_candidate_on_ascii() {
        let p = pre(&["[\u{200B}-\u{200F}]{2,}", "\\w{5}"]);
        assert_eq!(may(&p, "plain ascii text"), [false, true]);
        assert_eq!(may(&p, "zero\u{200B}\u{200B}width"), [true, true]);
        assert!(needs_non_ascii("a[\u{430}-\u{44F}]|\u{FF21}+"));
        assert!(!needs_non_ascii("a[\u{430}-\u{44F}]?"));
        assert!(!needs_non_ascii("[a\u{430}]"));
    }

    #[test]
    fn a_literal_between_word_boundaries_needs_them_on_ascii_text() {
        let p = pre(&[
            "(?-u:\\b)nc(?-u:\\b)\\s+-e",
            "(?i)(?-u:\\b)at(?-u:\\b)",
            "x(?-u:\\b)-i",
        ]);
        assert_eq!(
            may(&p, "once upon a time, what next"),
            [false, false, false]
        );
        assert_eq!(may(&p, "nc -e /bin/sh; AT now; x-i"), [true, true, true]);
        assert_eq!(may(&p, "(nc)\n_at now"), [true, false, false]);
        // On non-ASCII text the boundaries are not checked.
        assert_eq!(may(&p, "once é"), [true, false, false]);
        assert_eq!(lits("(?-u:\\b)nc(?-u:\\b)").unwrap(), ["nc"]);
    }

    #[test]
    fn a_gapped_rule_needs_each_of_its_parts() {
        let p = pre(&[
            r"(?i)\b(?:share|print)\b[^.]{0,40}\bthe user'?s (?:email|address)\b",
            r"(?i)ignore (?:all|previous) rules|игнорируй\s+правила|(?:tell|show) me\s+\w+",
        ]);
        // A verb alone, or the object alone, is no candidate.
        assert_eq!(may(&p, "please share this page"), [false, false]);
        assert_eq!(may(&p, "the user's email is on file"), [false, false]);
        assert_eq!(may(&p, "Share, now, THE USER'S ADDRESS"), [true, false]);
        // One branch whole is enough; ASCII text is judged by the ASCII
        // branches only, other text by all of them.
        assert_eq!(may(&p, "so ignore all rules"), [false, true]);
        assert_eq!(may(&p, "tell me more"), [false, true]);
        assert_eq!(may(&p, "ignore rules"), [false, false]);
        assert_eq!(may(&p, "игнорируй правила"), [false, true]);
        assert_eq!(may(&p, "игнорируй это"), [false, false]);
    }

    #[test]
    fn a_word_many_rules_ask_for_is_one_pattern() {
        let p = pre(&["secret token", "(?i)SECRET", "secret"]);
        assert_eq!(may(&p, "a Secret"), [false, true, true]);
        assert_eq!(p.ascii.edges.len(), 2, "{:?}", p.ascii.edges);
    }

    #[test]
    fn a_rule_without_literals_is_always_a_candidate() {
        let p = pre(&["\\w{5}\\d", "needle"]);
        assert_eq!(may(&p, "nothing here"), [true, false]);
        assert_eq!(may(&p, "a NEEDLE"), [true, true]);
    }

    proptest::proptest! {
        /// The walk in pieces reports every match the library's own
        /// overlapping search reports, and no other, on texts long enough
        /// to be cut, with matches across every cut.
        #[test]
        fn the_walk_in_pieces_finds_every_overlapping_match(
            parts in proptest::collection::vec(0usize..8, 0..600)
        ) {
            const PIECES: [&str; 8] = ["ab", "a", "b", "abab", " ", "BA", "x", "ba"];
            let text: String = parts.iter().map(|i| PIECES[*i]).collect();
            let patterns = ["ab", "aba", "babab", "b", "x ab", "abba"];
            let got = |kind| {
                let mut got = BTreeSet::new();
                Literals::new(patterns, kind).unwrap().each_match(text.as_bytes(), |p, at| {
                    got.insert((p, at.start, at.end));
                });
                got
            };
            let theirs = aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(patterns)
                .unwrap();
            let want: BTreeSet<_> = theirs
                .find_overlapping_iter(&text)
                .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
                .collect();
            proptest::prop_assert_eq!(got(Kind::Dfa), want.clone());
            proptest::prop_assert_eq!(got(Kind::Nfa), want);
        }
    }
}
