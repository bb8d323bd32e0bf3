//! `report.md`: the report top-down for a reader who was not there:
//! header, executive summary, indicators, timeline, ranked findings,
//! containment done and to do, the audit, the chain of custody.
//!
//! Host strings reach here escaped and bounded; they are written as code
//! spans (a backtick becomes `'`, a `|` is escaped for tables) so a crafted
//! name cannot inject Markdown. Long lists stop at a fixed count with the
//! number left out; `report.json` holds them all.

use super::model::{Ioc, Ranked};
use super::{AuditBeforeAfter, Report};
use crate::journal::Verdict;
use crate::record::{CollectRecord, RotateRecord, Severity};
use std::fmt::Write;

/// Rows each long table shows before it only counts the rest.
pub const MAX_IOCS: usize = 100;
pub const MAX_EVENTS: usize = 300;
pub const MAX_FINDINGS: usize = 200;

/// A host string as a Markdown code span, safe inside a table cell.
fn code(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    format!(
        "`{}`",
        crate::sanitize::display_safe(s)
            .replace('`', "'")
            .replace('|', "\\|")
    )
}

/// Plain text safe inside a table cell.
pub(super) fn cell(s: &str) -> String {
    crate::sanitize::display_safe(s)
        .replace('|', "\\|")
        .replace('<', "&lt;")
}

/// The whole Markdown report.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    header(&mut o, r);
    summary(&mut o, r);
    super::chain::markdown(&mut o, super::chain::of(r));
    iocs(&mut o, &r.iocs);
    timeline(&mut o, r);
    findings(&mut o, &r.findings);
    containment(&mut o, r);
    let _ = writeln!(o, "\n## What remains to do\n");
    for t in &r.todo {
        // Not a table cell: only `<` could start markup (an HTML comment
        // would hide the rest of the report).
        let _ = writeln!(
            o,
            "- [ ] {}",
            crate::sanitize::display_safe(t).replace('<', "&lt;")
        );
    }
    audit(&mut o, &r.audit);
    custody(&mut o, r);
    o
}

fn header(o: &mut String, r: &Report) {
    let h = &r.header;
    let host = h.host.as_deref().unwrap_or("unknown host");
    let _ = writeln!(o, "# Incident report: {}\n", code(host));
    let _ = writeln!(o, "Case: {}  \nWritten: {}  ", code(&r.case), r.created);
    let mut line = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            let _ = writeln!(o, "{k}: {v}  ");
        }
    };
    line("Host", r.target_host.as_deref().map(code));
    line("Root", h.root.as_deref().map(code));
    line("State dir", h.state_dir.as_deref().map(code));
    line(
        "OpenClaw",
        h.openclaw_version.as_deref().map(|v| {
            format!(
                "{} ({} layout)",
                code(v),
                h.layout.as_deref().unwrap_or("unknown")
            )
        }),
    );
    for (k, v) in r.custody.iter().flat_map(|c| c.fields()) {
        line(
            &format!("{}{}", k[..1].to_uppercase(), &k[1..]),
            Some(code(v)),
        );
    }
    line(
        "Events",
        h.first_event
            .as_ref()
            .map(|f| format!("{f} to {}", h.last_event.as_deref().unwrap_or(f))),
    );
    line(
        "Case journal",
        h.case_opened
            .as_ref()
            .map(|f| format!("{f} to {}", h.case_last.as_deref().unwrap_or(f))),
    );
    line(
        "ir",
        Some(format!(
            "{} (journal begun by {})",
            h.ir_version,
            h.ir_version_journal.as_deref().unwrap_or("unknown")
        )),
    );
    line(
        "Journal head",
        h.journal_seq.map(|s| {
            format!(
                "seq {s}, digest `{}`",
                h.journal_head.as_deref().unwrap_or("-")
            )
        }),
    );
}

fn summary(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Executive summary\n");
    for l in &r.summary {
        let _ = writeln!(o, "- **{}:** {}", l.topic.label(), cell(&l.text));
    }
}

/// "… and N more (report.json)" when a table was cut.
fn more(o: &mut String, total: usize, shown: usize) {
    if total > shown {
        let _ = writeln!(o, "\n… and {} more in `report.json`.", total - shown);
    }
}

fn iocs(o: &mut String, iocs: &[Ioc]) {
    let _ = writeln!(o, "\n## Indicators of compromise\n");
    if iocs.is_empty() {
        let _ = writeln!(o, "None found.");
        return;
    }
    let _ = writeln!(o, "| kind | indicator | seen at |\n|---|---|---|");
    for i in iocs.iter().take(MAX_IOCS) {
        let mut seen: Vec<String> = i.seen.iter().map(|s| code(s)).collect();
        if i.seen_count > i.seen.len() {
            seen.push(format!("and {} more", i.seen_count - i.seen.len()));
        }
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            i.kind.as_str(),
            code(&i.value),
            seen.join("<br>")
        );
    }
    more(o, iocs.len(), MAX_IOCS);
}

fn timeline(o: &mut String, r: &Report) {
    let events = &r.timeline;
    let _ = writeln!(
        o,
        "\n## Timeline\n\nEvery transcript message, tool call and log line of this deployment the hunt read, files and persistence that changed, and every `ir` step, oldest first; ★ marks the attack chain.\n"
    );
    for a in &r.event_artifacts {
        let _ = writeln!(o, "- {}", cell(&super::model::artifact_words(a)));
    }
    if !r.event_artifacts.is_empty() {
        let _ = writeln!(o);
    }
    if events.is_empty() {
        let _ = writeln!(o, "No dated event.");
        return;
    }
    let (shown, left) = super::model::shown_events(events, MAX_EVENTS);
    let _ = writeln!(
        o,
        "| # | time (UTC) | source | what | where |\n|---|---|---|---|---|"
    );
    for e in &shown {
        let _ = writeln!(
            o,
            "| {}{} | {} | {} | {} | {} |",
            e.id.trim_start_matches("ev-"),
            if e.chain { " ★" } else { "" },
            e.time,
            e.source.as_str(),
            code(&e.what),
            code(&e.location)
        );
    }
    if let Some(w) = super::model::left_out_words(&left) {
        let _ = writeln!(o, "\n… {w}");
    }
}

fn findings(o: &mut String, f: &[Ranked]) {
    let _ = writeln!(o, "\n## Findings, most serious first\n");
    if f.is_empty() {
        let _ = writeln!(o, "None.");
        return;
    }
    let n = |s: Severity| f.iter().filter(|x| x.severity == s).count();
    let _ = writeln!(
        o,
        "{} critical, {} warn, {} info, across hunt, persistence and audit.\n",
        n(Severity::Critical),
        n(Severity::Warn),
        n(Severity::Info)
    );
    let _ = writeln!(
        o,
        "| # | severity | from | finding | where | evidence | event |\n|---|---|---|---|---|---|---|"
    );
    for x in f.iter().take(MAX_FINDINGS) {
        let mut title = cell(&x.title);
        if let Some(a) = &x.attack {
            title.push_str(&format!(" ({a})"));
        }
        if let Some(s) = x.status_text() {
            title.push_str(&format!(" [{}]", cell(&s)));
        }
        let _ = writeln!(
            o,
            "| {} | **{}** | {} {} | {} | {} | {} | {} |",
            x.id.trim_start_matches("f-"),
            x.severity,
            x.detector.as_str(),
            code(&x.rule),
            title,
            code(&x.location),
            code(&x.evidence),
            x.event
                .as_deref()
                .map(|e| e.trim_start_matches("ev-").to_string())
                .unwrap_or_default()
        );
    }
    more(o, f.len(), MAX_FINDINGS);
}

fn containment(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Containment\n");
    if r.containment.is_empty() {
        let _ = writeln!(o, "Nothing was done to the host yet.");
    }
    for a in &r.containment {
        let _ = writeln!(o, "- {} {}: {}", a.time, a.step, cell(&a.what));
    }
    evidence(o, r.bundle.as_ref());
    let _ = writeln!(o, "\n### Credentials\n");
    match &r.rotation {
        Some(rot) => rotation(o, rot),
        None => {
            let _ = writeln!(o, "Nothing was rotated.");
        }
    }
    if let Some(c) = &r.sessions_cleared {
        let _ = writeln!(
            o,
            "\n- sessions cleared for agents {}: {} files removed, {} databases cleared",
            serde_json::to_string(&c.agents).unwrap_or_default(),
            c.files_removed.len(),
            c.rows_deleted.len()
        );
    }
}

fn evidence(o: &mut String, bundle: Option<&CollectRecord>) {
    let _ = writeln!(o, "\n### Evidence\n");
    let Some(b) = bundle else {
        let _ = writeln!(o, "No evidence bundle was collected.");
        return;
    };
    let path = b.bundle.display().to_string();
    let verdicts: Vec<String> = b
        .verdicts
        .iter()
        .map(|(k, v)| format!("{k} {}", v.count))
        .collect();
    let _ = writeln!(
        o,
        "- bundle: {}\n- sha256: `{}`\n- size: {} bytes, {} items\n- manifest: {} (sha256 `{}`)\n- verdicts: {}",
        code(&path),
        b.sha256,
        b.size,
        b.items,
        code(&b.manifest.display().to_string()),
        b.manifest_sha256,
        verdicts.join(", ")
    );
    let p = code(&path);
    let _ = writeln!(
        o,
        "\nTo open it: `ir verify BUNDLE -i KEY` then `ir extract BUNDLE -i KEY -o DIR` (BUNDLE: {p}); or `age -d -i KEY BUNDLE | tar -xzf -` and `sha256sum -c MANIFEST.sha256` in the top folder."
    );
}

fn rotation(o: &mut String, rot: &RotateRecord) {
    for x in &rot.rotated {
        let _ = writeln!(
            o,
            "- rotated {} (new fingerprint `{}`, written to {})",
            x.secret, x.new_fingerprint, x.written_to
        );
    }
    for x in &rot.revoked {
        let _ = writeln!(o, "- revoked {} x{}", x.what, x.count);
    }
    if rot.provider_credentials.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\nTo revoke at each provider:\n\n| provider | type | last 4 | sha256 prefix | where |\n|---|---|---|---|---|"
    );
    for c in &rot.provider_credentials {
        let _ = writeln!(
            o,
            "| {} | {} | {} | `{}` | {} |",
            code(&c.provider),
            cell(&c.kind),
            code(&c.last4),
            c.sha256_prefix,
            code(&c.source)
        );
    }
}

fn audit(o: &mut String, a: &AuditBeforeAfter) {
    let _ = writeln!(o, "\n## Hardening audit\n");
    for (label, f) in [("before", &a.before), ("after", &a.after)] {
        let f = f.as_deref().unwrap_or_default();
        let n = |s: Severity| f.iter().filter(|x| x.severity == s).count();
        let _ = writeln!(
            o,
            "- {label}: {} critical, {} warn, {} info",
            n(Severity::Critical),
            n(Severity::Warn),
            n(Severity::Info)
        );
    }
}

/// The words for a journal verdict.
pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Intact => "intact",
        Verdict::Interrupted => "interrupted",
        Verdict::Tampered => "tampered",
    }
}

fn custody(o: &mut String, r: &Report) {
    let j = &r.journal;
    let _ = writeln!(
        o,
        "\n## Chain of custody\n\nThe case journal holds {} entries and **{}** verification (last digest `{}`).\n",
        j.entries,
        verdict_word(j.verdict),
        j.last_digest.as_deref().unwrap_or("-")
    );
    if let Some(s) = &j.seal {
        let _ = writeln!(
            o,
            "The journal is sealed from entry {} ({} sealed entries, seed fingerprint `{}`); the seals are checked with the analyst's key: `ir journal verify -i KEY --expect-seal {}`.\n",
            s.first_seq, s.sealed, s.fingerprint, s.fingerprint
        );
    }
    for p in &j.problems {
        let _ = writeln!(o, "- problem: {}", code(&p.message));
    }
    let _ = writeln!(
        o,
        "| when (UTC) | who | command | status | exit |\n|---|---|---|---|---|"
    );
    for s in &r.steps {
        let _ = writeln!(
            o,
            "| {} | {}@{} | {} | {} | {} |",
            s.ts,
            cell(&s.user),
            cell(&s.host),
            s.command,
            s.status.as_str(),
            s.exit_code
        );
    }
}
