//! The story parts of the report model: header, executive summary,
//! indicators, timeline, ranked findings and containment. Each is a typed
//! record (serialised into `report.json`, described by
//! `fixtures/schema/report.schema.json`) that the Markdown and HTML
//! renderers read; no renderer reads JSON back by key.
//!
//! Every string here that came from the host is already escaped
//! ([`crate::sanitize::escape`]) and cut to [`MAX_FIELD`] characters, and
//! every path is a host path (as the target sees it), so the renderers
//! only have to quote for their own syntax.

use crate::record::Severity;
use serde::Serialize;

/// The longest host string any field of the report carries, in characters:
/// a report is read by people, and a crafted or binary file must not blow
/// it up (a 232 KB report of escaped ELF bytes once did).
pub const MAX_FIELD: usize = 240;

/// Makes a host string safe to show and cuts it to [`MAX_FIELD`]
/// characters (marked with `…`). Most strings reach the report escaped
/// already (hunt snippets, persistence paths and commands), so only a
/// string that still holds a control, bidi or zero-width character is
/// escaped ([`crate::sanitize::display_safe`]), never twice.
pub fn bound(s: &str) -> String {
    let e = crate::sanitize::display_safe(s);
    if e.chars().count() <= MAX_FIELD {
        return e;
    }
    let mut cut: String = e.chars().take(MAX_FIELD - 1).collect();
    cut.push('…');
    cut
}

/// Where and what the report is about, for the top of the page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Header {
    /// The target host's name.
    pub host: Option<String>,
    /// The `--root` the host was read under (`/` on a live host).
    pub root: Option<String>,
    /// The OpenClaw state dir, as a host path.
    pub state_dir: Option<String>,
    pub openclaw_version: Option<String>,
    /// `files`, `sqlite`, `mixed` or `empty`.
    pub layout: Option<String>,
    pub examiner: Option<String>,
    pub case_number: Option<String>,
    /// The earliest and latest time of any event in the timeline.
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    /// When the case's journal began and last changed.
    pub case_opened: Option<String>,
    pub case_last: Option<String>,
    /// The `ir` version that wrote the journal's first entry, and this one.
    pub ir_version_journal: Option<String>,
    pub ir_version: String,
    /// The journal's last sequence number and digest.
    pub journal_seq: Option<u64>,
    pub journal_head: Option<String>,
}

/// One line of the five-line executive summary.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryLine {
    /// `started`, `ran`, `persists`, `done` or `remains`.
    pub topic: SummaryTopic,
    pub text: String,
}

/// The five questions the executive summary answers, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SummaryTopic {
    Started,
    Ran,
    Persists,
    Done,
    Remains,
}

impl SummaryTopic {
    /// The label shown before the line.
    pub fn label(self) -> &'static str {
        match self {
            SummaryTopic::Started => "How it started",
            SummaryTopic::Ran => "What the attacker ran",
            SummaryTopic::Persists => "What persists",
            SummaryTopic::Done => "What was done",
            SummaryTopic::Remains => "What remains",
        }
    }
}

/// What kind of indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IocKind {
    Ip,
    Domain,
    Url,
    Hash,
    Account,
    Key,
}

impl IocKind {
    /// The name shown.
    pub fn as_str(self) -> &'static str {
        match self {
            IocKind::Ip => "ip",
            IocKind::Domain => "domain",
            IocKind::Url => "url",
            IocKind::Hash => "hash",
            IocKind::Account => "account",
            IocKind::Key => "key",
        }
    }
}

/// An indicator of compromise and where it was seen.
#[derive(Debug, Clone, Serialize)]
pub struct Ioc {
    pub kind: IocKind,
    pub value: String,
    /// Host locations (`path`, `path:line`, `db:table:rowid`), at most
    /// [`MAX_SEEN`].
    pub seen: Vec<String>,
    /// How many places in all.
    pub seen_count: usize,
}

/// How many places an indicator lists before it only counts them.
pub const MAX_SEEN: usize = 5;

/// Where a timeline event comes from (one lane of the chart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// Text the agent read or wrote (a transcript row, a task run, memory).
    Transcript,
    /// A tool call the agent made.
    ToolCall,
    /// A line of OpenClaw's gateway log.
    GatewayLog,
    /// A file that changed in the window.
    File,
    /// A persistence item that changed.
    Persistence,
    /// A step `ir` ran, from the case journal.
    Ir,
}

impl EventSource {
    /// Every lane, top to bottom.
    pub const ALL: [EventSource; 6] = [
        EventSource::Transcript,
        EventSource::ToolCall,
        EventSource::GatewayLog,
        EventSource::File,
        EventSource::Persistence,
        EventSource::Ir,
    ];

    /// The name shown.
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Transcript => "transcript",
            EventSource::ToolCall => "tool call",
            EventSource::GatewayLog => "gateway log",
            EventSource::File => "file",
            EventSource::Persistence => "persistence",
            EventSource::Ir => "ir",
        }
    }
}

/// One event of the merged timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// The anchor findings link to (`ev-12`).
    pub id: String,
    /// RFC 3339 UTC.
    pub time: String,
    pub source: EventSource,
    /// What happened, escaped and bounded.
    pub what: String,
    /// Where (host path, `file:line`, `db:table:rowid`, or the `ir` command).
    #[serde(rename = "where")]
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Part of an attack chain (injected text followed by actions).
    pub chain: bool,
}

/// A case artifact whose events joined the timeline (or were refused).
#[derive(Debug, Clone, Serialize)]
pub struct EventArtifact {
    /// The command that wrote it (`hunt`, `timeline`).
    pub command: String,
    /// Its file name in the case dir.
    pub file: String,
    /// The sha256 and event count the journal holds for it.
    pub sha256: String,
    pub lines: u64,
    /// Whether it still matched the journal; a file that does not is
    /// refused whole and `note` says why.
    pub verified: bool,
    /// Events added to the timeline (those the journal's own records had
    /// not already placed), events without a time, and events past the
    /// report's cap ([`MAX_ARTIFACT_EVENTS`]; they stay in the artifact).
    pub added: u64,
    pub undated: u64,
    pub left_out: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The most events one artifact adds to `report.json`; the rest are
/// counted and stay in the artifact, whose hash the report states.
pub const MAX_ARTIFACT_EVENTS: u64 = 20_000;

/// The events a bounded rendering shows, oldest first: flagged ones
/// (a severity or the attack chain) and `ir` steps first, then the rest
/// in time order, `max` in all; with how many of each lane were left out.
pub fn shown_events(events: &[Event], max: usize) -> (Vec<Event>, Vec<(EventSource, usize)>) {
    if events.len() <= max {
        return (events.to_vec(), Vec::new());
    }
    let key = |e: &Event| !(e.severity.is_some() || e.chain || e.source == EventSource::Ir);
    let mut idx: Vec<usize> = (0..events.len()).collect();
    idx.sort_by_key(|i| key(&events[*i]));
    let mut keep: Vec<usize> = idx.into_iter().take(max).collect();
    keep.sort_unstable();
    let mut left = std::collections::BTreeMap::new();
    let mut k = keep.iter().peekable();
    for (i, e) in events.iter().enumerate() {
        if k.peek() == Some(&&i) {
            k.next();
        } else {
            *left.entry(e.source).or_insert(0usize) += 1;
        }
    }
    (
        keep.iter().map(|i| events[*i].clone()).collect(),
        left.into_iter().collect(),
    )
}

/// The line under a bounded timeline: how many events of which lanes it
/// leaves out, and that they are in `report.json`.
pub fn left_out_words(left: &[(EventSource, usize)]) -> Option<String> {
    if left.is_empty() {
        return None;
    }
    let n: usize = left.iter().map(|(_, n)| n).sum();
    let parts: Vec<String> = left
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    Some(format!(
        "{n} more unflagged event(s) ({}) are in report.json.",
        parts.join(", ")
    ))
}

/// One sentence per event artifact: how many events it held, whether it
/// matched the journal, how many joined the timeline.
pub fn artifact_words(a: &EventArtifact) -> String {
    if !a.verified {
        return format!(
            "{} (ir {}) was REFUSED, none of its events are shown: {}",
            a.file,
            a.command,
            a.note.as_deref().unwrap_or("it did not match the journal")
        );
    }
    let mut s = format!(
        "{} (ir {}): {} event(s), sha256 {} as journaled; {} added to the timeline",
        a.file, a.command, a.lines, a.sha256, a.added
    );
    if a.undated > 0 {
        s.push_str(&format!(", {} without a time", a.undated));
    }
    if a.left_out > 0 {
        s.push_str(&format!(
            ", {} past the report's cap (in the file only)",
            a.left_out
        ));
    }
    s
}

/// Which detector raised a ranked finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    Hunt,
    Persistence,
    Audit,
}

impl Detector {
    /// The name shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::Hunt => "hunt",
            Detector::Persistence => "persistence",
            Detector::Audit => "audit",
        }
    }
}

/// A finding of any detector on the one severity scale.
#[derive(Debug, Clone, Serialize)]
pub struct Ranked {
    /// The anchor (`f-3`).
    pub id: String,
    pub severity: Severity,
    pub detector: Detector,
    /// Hunt rule, persistence flags, audit check id.
    pub rule: String,
    pub title: String,
    /// Host location; empty for a config-wide audit finding.
    #[serde(rename = "where")]
    pub location: String,
    /// What was seen, escaped and bounded.
    pub evidence: String,
    /// ATT&CK or OWASP-LLM id, when the rule maps to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack: Option<String>,
    /// The timeline event it is, when it has a time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Audit findings: `open` or `fixed` (by the response). Flagged
    /// persistence items: `to do` (still in place), `review` (flagged
    /// only as recently changed) or `removed` (by a later quarantine or
    /// restore). Else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A persistence item still in place: the exact command that removes
    /// it (or what to do by hand, for an entry inside a shared file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_with: Option<String>,
    /// A persistence item taken away: which step, when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<RemovedBy>,
}

impl Ranked {
    /// The status as shown after the title: `open`, `fixed`, `to do: <the
    /// command that removes it>`, `removed by quarantine at <time>`.
    pub fn status_text(&self) -> Option<String> {
        let s = self.status.as_deref()?;
        Some(match (&self.remove_with, &self.removed_by) {
            (Some(cmd), _) => format!("{s}: {cmd}"),
            (None, Some(by)) => format!("{s} by {} at {}", by.step, by.time),
            (None, None) => s.to_string(),
        })
    }
}

/// Where a flagged persistence item stands after the response, worked out
/// once from the journal ([`super::persistence_status`]) for both the
/// findings and the to-do list.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemStatus {
    /// Still in place; the command that removes it.
    ToDo { remove_with: String },
    /// Flagged only for changing in the window: to look at, not remove.
    Review,
    /// Taken away by a later step.
    Removed { by: RemovedBy },
}

/// The `ir` step that took a flagged item away.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemovedBy {
    /// `quarantine` or `restore`.
    pub step: String,
    /// When the step ended (RFC 3339 UTC).
    pub time: String,
    /// Its `end` entry in the case journal.
    pub journal_seq: u64,
}

/// One thing the response did.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// The `ir` command (`stop`, `collect`, `rotate`, `clear-sessions`,
    /// `quarantine`, `restore`, `recover`).
    pub step: String,
    /// When it ended (RFC 3339 UTC).
    pub time: String,
    /// What it did, in words.
    pub what: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: usize, source: EventSource, severity: Option<Severity>) -> Event {
        Event {
            id: format!("ev-{n}"),
            time: String::new(),
            source,
            what: String::new(),
            location: String::new(),
            severity,
            chain: false,
        }
    }

    #[test]
    fn a_long_timeline_shows_flagged_events_first_and_counts_the_rest() {
        let events = vec![
            ev(1, EventSource::Transcript, None),
            ev(2, EventSource::ToolCall, Some(Severity::Critical)),
            ev(3, EventSource::GatewayLog, None),
            ev(4, EventSource::Ir, None),
            ev(5, EventSource::Transcript, None),
        ];
        let (shown, left) = shown_events(&events, 3);
        let ids: Vec<&str> = shown.iter().map(|e| e.id.as_str()).collect();
        // Flagged and `ir` first, then the oldest; shown in time order.
        assert_eq!(ids, ["ev-1", "ev-2", "ev-4"]);
        assert_eq!(
            left,
            [(EventSource::Transcript, 1), (EventSource::GatewayLog, 1)]
        );
        assert_eq!(
            left_out_words(&left).unwrap(),
            "2 more unflagged event(s) (1 transcript, 1 gateway log) are in report.json."
        );
        assert_eq!(shown_events(&events, 9).0.len(), 5);
    }

    #[test]
    fn fields_are_bounded_and_escaped_once() {
        let long = "x".repeat(10_000);
        let b = bound(&long);
        assert_eq!(b.chars().count(), MAX_FIELD);
        assert!(b.ends_with('…'));
        // Escaped already: left alone; raw control characters: escaped.
        assert_eq!(bound("a\\nb"), "a\\nb");
        assert_eq!(bound("a\nb\u{1b}[2J"), "a\\nb\\u{001b}[2J");
    }
}
