//! The "Attack chain" section: each session's attack as the story of the
//! incident, one row per step in order (the injected text and where it
//! came from, each tool call after it, each file those calls changed with
//! the persistence item it is), in both renderings.
//!
//! The rows are built once from the hunt record's typed chains
//! ([`crate::record::AttackChain`]) and written twice, so the Markdown and
//! the HTML tell the same story; the summary's first lines read the same
//! chains. Everything here is host text, escaped and bounded on the way in
//! and made safe for each rendering on the way out.

use super::Report;
use super::sources::HostPaths;
use crate::record::{AttackChain, ChainOrigin, HuntRecord};
use std::fmt::Write;

/// Rows each chain shows before it only counts the rest.
const MAX_ROWS: usize = 60;

/// One step of the story.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `injected`, `tool call` or `file changed`.
    pub step: &'static str,
    pub time: String,
    pub what: String,
    /// Where it was seen (`file:line`, `db:table:rowid`, a host path).
    pub place: String,
}

/// Where the injected text came from, in words.
pub fn origin_words(o: &ChainOrigin) -> String {
    let mut s = if o.text.is_empty() {
        "the agent's input".to_string()
    } else {
        o.text.clone()
    };
    if let Some(u) = o.url.as_ref().filter(|u| !s.contains(u.as_str())) {
        let _ = write!(s, " from {u}");
    }
    if let Some(ch) = &o.channel {
        let _ = write!(s, " in a {ch} session");
    }
    if let Some(from) = &o.sender {
        let _ = write!(s, " with sender {from}");
    }
    if let Some(f) = &o.file {
        let _ = write!(s, " (file {f})");
    }
    s
}

/// The story rows of one chain, in order.
pub fn rows(c: &AttackChain) -> Vec<Row> {
    let unknown = || "time unknown".to_string();
    let mut out = vec![Row {
        step: "injected",
        time: c.time.clone().unwrap_or_else(unknown),
        what: format!("{} ({}) in {}", c.title, c.rule, origin_words(&c.origin)),
        place: c.source.clone(),
    }];
    for k in &c.calls {
        let rules = if k.rules.is_empty() {
            String::new()
        } else {
            format!(" [{}]", k.rules.join(", "))
        };
        out.push(Row {
            step: "tool call",
            time: k.time.clone().unwrap_or_else(unknown),
            what: format!("{} {}{rules}", k.tool, super::model::bound(&k.command)),
            place: k.source.clone(),
        });
    }
    for f in &c.files {
        let changed = match (f.changed_after, f.mtime.is_some()) {
            (Some(true), _) => "changed after the injection",
            (Some(false), _) => "not changed since the injection",
            (None, true) => "time of the injection unknown",
            (None, false) => "not found on the host",
        };
        // What the triage's timeline saw, which a later step cannot undo.
        let seen = f.timeline.as_ref().map_or(String::new(), |e| {
            let at = e.time.as_deref().unwrap_or("time unknown");
            format!("; timeline: {} at {at}", e.what)
        });
        let planted = f.persistence.as_ref().map_or(String::new(), |p| {
            format!(
                "; persistence item: {} [{}]{}",
                p.mechanism,
                p.flags.join(", "),
                p.severity.map(|s| format!(", {s}")).unwrap_or_default()
            )
        });
        out.push(Row {
            step: "file changed",
            time: f
                .mtime
                .clone()
                .or_else(|| f.timeline.as_ref().and_then(|e| e.time.clone()))
                .unwrap_or_else(unknown),
            what: format!(
                "{}: {changed}, written by {}{planted}{seen}",
                f.path, f.written_by
            ),
            place: f.path.clone(),
        });
    }
    out
}

/// Makes every analyst-side path of the chains a host path.
pub fn map_paths(h: &mut HuntRecord, hp: &HostPaths) {
    for c in &mut h.chains {
        c.source = hp.map(&c.source);
        c.snippet = hp.map(&c.snippet);
        c.origin.file = c.origin.file.as_deref().map(|f| hp.map(f));
        for k in &mut c.calls {
            k.source = hp.map(&k.source);
        }
        for f in &mut c.files {
            f.written_by = hp.map(&f.written_by);
        }
    }
}

/// The chains of the case's last hunt.
pub fn of(r: &Report) -> &[AttackChain] {
    r.triage.hunt.as_ref().map_or(&[], |h| &h.chains)
}

/// The Markdown section; nothing when no chain was found.
pub fn markdown(o: &mut String, chains: &[AttackChain]) {
    if chains.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n## Attack chain\n\nEach session where injected text was followed by actions, told in order: where the text came from, the tool calls after it, the files they changed.\n"
    );
    // Also inside the code spans of the headings and the last column.
    let md = |s: &str| super::markdown::cell(&s.replace('`', "'"));
    for c in chains {
        let _ = writeln!(
            o,
            "### Session `{}`\n\n| # | Time | Step | What | Where |\n|---|---|---|---|---|",
            md(c.session.as_deref().unwrap_or("unknown"))
        );
        let rows = rows(c);
        for (n, row) in rows.iter().take(MAX_ROWS).enumerate() {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | `{}` |",
                n + 1,
                md(&row.time),
                row.step,
                md(&row.what),
                md(&row.place)
            );
        }
        if rows.len() > MAX_ROWS {
            let _ = writeln!(
                o,
                "\n… and {} more in `report.json`.",
                rows.len() - MAX_ROWS
            );
        }
    }
}

/// The HTML section; nothing when no chain was found.
pub fn html(o: &mut String, chains: &[AttackChain]) {
    use super::html::esc;
    if chains.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "<section id=\"attack-chain-story\"><h2>Attack chain</h2><p>Each session where injected text was followed by actions, told in order.</p>"
    );
    for c in chains {
        let _ = writeln!(
            o,
            "<h3>Session <code>{}</code></h3><table class=\"chain\"><tr><th>#</th><th>Time</th><th>Step</th><th>What</th><th>Where</th></tr>",
            esc(c.session.as_deref().unwrap_or("unknown"))
        );
        let rows = rows(c);
        for (n, row) in rows.iter().take(MAX_ROWS).enumerate() {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                n + 1,
                esc(&row.time),
                row.step,
                esc(&row.what),
                esc(&row.place)
            );
        }
        let _ = writeln!(o, "</table>");
        if rows.len() > MAX_ROWS {
            let _ = writeln!(
                o,
                "<p class=\"more\">… and {} more in report.json.</p>",
                rows.len() - MAX_ROWS
            );
        }
    }
    let _ = writeln!(o, "</section>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ChainCall, ChainFile, ChainPersistence, Severity};

    fn chain() -> AttackChain {
        AttackChain {
            session: Some("s1".into()),
            agent: Some("main".into()),
            time: Some("2026-11-21T08:00:03.000Z".into()),
            source: "db:transcript_events:3".into(),
            rule: "injection.ignore_instructions".into(),
            title: "Injected instructions".into(),
            snippet: String::new(),
            origin: ChainOrigin {
                kind: "message".into(),
                channel: Some("telegram".into()),
                sender: Some("991".into()),
                text: "user message".into(),
                ..Default::default()
            },
            calls: vec![ChainCall {
                time: Some("2026-11-21T08:00:04.000Z".into()),
                source: "db:transcript_events:4".into(),
                tool: "exec".into(),
                command: "echo x >> /var/spool/cron/crontabs/demo | <b>".into(),
                rules: vec!["write.cron".into()],
            }],
            files: vec![ChainFile {
                path: "/var/spool/cron/crontabs/demo".into(),
                written_by: "db:transcript_events:4".into(),
                mtime: Some("2026-11-21T08:00:05.000Z".into()),
                changed_after: Some(true),
                persistence: Some(ChainPersistence {
                    mechanism: "cron".into(),
                    flags: vec!["downloads_and_runs".into()],
                    severity: Some(Severity::Critical),
                }),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn rows_tell_origin_calls_and_files_in_order() {
        let r = rows(&chain());
        let steps: Vec<&str> = r.iter().map(|x| x.step).collect();
        assert_eq!(steps, ["injected", "tool call", "file changed"]);
        assert!(
            r[0].what.contains("in a telegram session with sender 991"),
            "{}",
            r[0].what
        );
        assert!(r[1].what.contains("[write.cron]"));
        assert!(
            r[2].what.contains("changed after the injection")
                && r[2]
                    .what
                    .contains("persistence item: cron [downloads_and_runs], critical"),
            "{}",
            r[2].what
        );
    }

    /// A file removed since the triage is told by the timeline's view.
    #[test]
    fn a_file_gone_from_the_host_is_told_by_the_timeline() {
        let mut c = chain();
        let f = &mut c.files[0];
        f.mtime = None;
        f.timeline = Some(crate::record::CaseEvent {
            time: Some("2026-11-21T08:00:05.000Z".into()),
            lane: crate::record::EventLane::File,
            what: "file changed (56 bytes, -rw-------)".into(),
            location: f.path.clone(),
        });
        let r = rows(&c);
        assert_eq!(r[2].time, "2026-11-21T08:00:05.000Z");
        assert!(
            r[2].what.contains("changed after the injection")
                && r[2].what.contains(
                    "timeline: file changed (56 bytes, -rw-------) at 2026-11-21T08:00:05.000Z"
                ),
            "{}",
            r[2].what
        );
    }

    #[test]
    fn host_text_is_inert_in_both_renderings() {
        let chains = [chain()];
        let mut md = String::new();
        markdown(&mut md, &chains);
        assert!(
            md.contains("## Attack chain") && !md.contains("<b>"),
            "{md}"
        );
        let mut h = String::new();
        html(&mut h, &chains);
        assert!(h.contains("&lt;b&gt;") && !h.contains("<b>"), "{h}");
    }
}
