//! The case report: `report.md`, `report.html` and `report.json` in the
//! case dir, built from the journal alone, for a reader who was not there.
//! One typed model ([`Report`], with the story parts in [`model`]) is built
//! from the journal's typed records, one source function each
//! ([`sources`]), and rendered twice: Markdown ([`markdown`]) and one
//! self-contained HTML page ([`html`]). The JSON is the model itself,
//! described by `fixtures/schema/report.schema.json`.
//!
//! Every host string is escaped and bounded when it enters the model, and
//! every path is a host path, so the three files name the same things the
//! same way.

pub mod chain;
pub mod html;
pub mod markdown;
pub mod model;
pub mod sources;
pub mod summary;

use crate::journal::{self, Entry, Problem, Verdict};
use crate::record::{
    AuditFinding, AuditRecord, ClearRecord, CollectRecord, HuntRecord, PersistenceRecord,
    QuarantineRunRecord, RecoverRecord, RestoreRecord, RotateRecord, Severity, Status,
    TimelineRecord,
};
use anyhow::Result;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `report.json`: everything the Markdown shows, as data.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `ir-report/1`.
    pub format: String,
    pub created: String,
    pub case: String,
    /// The case's chain-of-custody fields (absent for older journals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custody: Option<crate::record::Custody>,
    /// The target host's name, as the case's first command saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_host: Option<String>,
    pub journal: JournalSummary,
    pub steps: Vec<StepRow>,
    /// The last collection's record.
    pub bundle: Option<CollectRecord>,
    pub triage: Triage,
    pub rotation: Option<RotateRecord>,
    pub sessions_cleared: Option<ClearRecord>,
    pub audit: AuditBeforeAfter,
    pub todo: Vec<String>,
    /// Host, root, state dir, OpenClaw, custody, time span, versions.
    pub header: model::Header,
    /// Five lines: how it started, what ran, what persists, what was
    /// done, what remains.
    pub summary: Vec<model::SummaryLine>,
    /// Indicators of compromise with where each was seen.
    pub iocs: Vec<model::Ioc>,
    /// The merged timeline, oldest first.
    pub timeline: Vec<model::Event>,
    /// The case artifacts whose events the timeline holds, each checked
    /// against the journal.
    pub event_artifacts: Vec<model::EventArtifact>,
    /// Hunt, persistence and audit findings, most serious first.
    pub findings: Vec<model::Ranked>,
    /// What the response did, in order.
    pub containment: Vec<model::Action>,
}

/// How the case journal verified.
#[derive(Debug, Clone, Serialize)]
pub struct JournalSummary {
    pub verdict: Verdict,
    pub entries: u64,
    pub last_digest: Option<String>,
    pub problems: Vec<Problem>,
    pub notes: Vec<String>,
    /// Where sealing began and with which seed (absent when unsealed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal: Option<SealSummary>,
}

/// The journal's seal as the report states it; the seals themselves are
/// checked by `ir journal verify -i KEY`, which needs the analyst's key.
#[derive(Debug, Clone, Serialize)]
pub struct SealSummary {
    pub first_seq: u64,
    pub fingerprint: String,
    pub sealed: u64,
}

/// The `seal` event that began sealing, with the verifier's count.
fn seal_summary(entries: &[Entry], sealed: u64) -> Option<SealSummary> {
    entries.iter().find_map(|e| {
        let ev = e.event().filter(|ev| ev.event == "seal")?;
        Some(SealSummary {
            first_seq: e.seq,
            fingerprint: ev.details["fingerprint"].as_str()?.to_string(),
            sealed,
        })
    })
}

/// One ended command, for the table of who ran what.
#[derive(Debug, Clone, Serialize)]
pub struct StepRow {
    pub command: String,
    pub status: Status,
    pub exit_code: i32,
    pub ts: String,
    pub user: String,
    pub host: String,
    pub error: Option<String>,
}

/// The last record of each triage command.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Triage {
    pub timeline: Option<TimelineRecord>,
    pub persistence: Option<PersistenceRecord>,
    pub hunt: Option<HuntRecord>,
}

/// The hardening audit's findings before the fixes and after recovery.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditBeforeAfter {
    pub before: Option<Vec<AuditFinding>>,
    pub after: Option<Vec<AuditFinding>>,
}

/// The record of the last `end` of `command`, whatever its status; an
/// error names the entry when its details are not that command's record.
fn last<T: serde::de::DeserializeOwned>(entries: &[Entry], command: &str) -> Result<Option<T>> {
    journal::last_end(entries, command, false)
        .filter(|(_, end)| end.details.as_ref().is_some_and(|d| !d.is_null()))
        .map(|(e, end)| end.record(e.seq))
        .transpose()
}

/// Builds the report document.
pub fn build(case_dir: &Path) -> Result<Report> {
    let jpath = case_dir.join(journal::JOURNAL_FILE);
    let entries = journal::read_entries(&jpath)?;
    let verification = journal::verify(&jpath)?;
    let hp = sources::HostPaths::new(sources::case_root(&entries).as_deref());
    let steps = entries
        .iter()
        .filter_map(|e| Some((e.envelope()?, e.end()?)))
        .map(|(env, end)| StepRow {
            command: end.command.clone(),
            status: end.status,
            exit_code: end.exit_code,
            ts: env.ts.clone(),
            user: env.user.clone(),
            host: env.host.clone(),
            error: end.error.clone(),
        })
        .collect();
    let audit = audit_before_after(&entries)?;
    let mut r = Report {
        format: "ir-report/1".into(),
        created: journal::now_rfc3339(),
        case: case_dir.display().to_string(),
        custody: journal::case_custody(&jpath),
        // The case's first command named the host (older journals did not).
        target_host: entries
            .iter()
            .find_map(|e| match e.body() {
                Some(crate::record::Record::Start(s)) => Some(s),
                _ => None,
            })
            .and_then(|s| s.target.hostname.clone()),
        journal: JournalSummary {
            verdict: verification.verdict,
            entries: verification.entries,
            last_digest: verification.last_digest,
            problems: verification.problems,
            notes: verification.notes,
            seal: seal_summary(&entries, verification.seal.sealed),
        },
        steps,
        bundle: last(&entries, "collect")?,
        triage: Triage {
            timeline: last(&entries, "timeline")?,
            persistence: last(&entries, "persistence")?,
            hunt: last(&entries, "hunt")?,
        },
        rotation: last(&entries, "rotate")?,
        sessions_cleared: last(&entries, "clear-sessions")?,
        audit,
        todo: Vec::new(),
        header: model::Header::default(),
        summary: Vec::new(),
        iocs: Vec::new(),
        timeline: Vec::new(),
        event_artifacts: Vec::new(),
        findings: Vec::new(),
        containment: Vec::new(),
    };
    let recover: Option<RecoverRecord> = last(&entries, "recover")?;
    r.todo = todo(&r, recover.as_ref());
    r.todo.extend(still_in_place(&entries, recover.as_ref())?);
    let status = persistence_status(&entries)?;
    story(&mut r, case_dir, &entries, &hp, &status);
    Ok(r)
}

/// Fills in the story parts: timeline, ranked findings, indicators,
/// containment, header and summary. Hunt hits are kept with host paths.
fn story(
    r: &mut Report,
    case_dir: &Path,
    entries: &[Entry],
    hp: &sources::HostPaths,
    status: &[model::ItemStatus],
) {
    let hits = r
        .triage
        .hunt
        .as_ref()
        .map(|h| h.top_hits.clone())
        .unwrap_or_default();
    let mut events = sources::journal_events(entries);
    if let Some(h) = &r.triage.hunt {
        events.extend(sources::hunt_events(h, hp));
    }
    if let Some(t) = &r.triage.timeline {
        events.extend(sources::file_events(t, r.triage.persistence.as_ref()));
    }
    // Every transcript message, tool call, log line and changed file the
    // commands kept in their artifacts, beyond the rows placed above.
    let placed: std::collections::HashSet<String> =
        events.iter().map(|e| e.location.clone()).collect();
    let artifacts = [
        (
            "hunt",
            r.triage.hunt.as_ref().and_then(|h| h.events.as_ref()),
        ),
        (
            "timeline",
            r.triage.timeline.as_ref().and_then(|t| t.events.as_ref()),
        ),
    ];
    for (command, aref) in artifacts {
        if let Some(aref) = aref {
            let (more, info) = sources::artifact_events(case_dir, command, aref, &placed, hp);
            events.extend(more);
            r.event_artifacts.push(info);
        }
    }
    events.sort_by(|a, b| event_key(a).cmp(&event_key(b)));
    let mut at = HashMap::new();
    for (n, e) in events.iter_mut().enumerate() {
        e.id = format!("ev-{}", n + 1);
        at.entry(e.location.clone()).or_insert_with(|| e.id.clone());
    }
    let mut findings = Vec::new();
    if let Some(h) = &r.triage.hunt {
        findings.extend(sources::hunt_findings(h, hp, &at));
    }
    if let Some(p) = &r.triage.persistence {
        findings.extend(sources::persistence_findings(p, &at, status));
    }
    if let Some(b) = &r.audit.before {
        findings.extend(sources::audit_findings(b, r.audit.after.as_deref(), hp));
    }
    // One scale for every detector; a stable sort keeps each detector's
    // own order (hunt's chains first) within a severity.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for (n, f) in findings.iter_mut().enumerate() {
        f.id = format!("f-{}", n + 1);
    }
    let creds = r
        .rotation
        .as_ref()
        .map(|x| x.provider_credentials.clone())
        .unwrap_or_default();
    r.iocs = sources::iocs(
        r.triage.hunt.as_ref(),
        r.triage.persistence.as_ref(),
        &sources::quarantined(entries),
        &creds,
        hp,
    );
    r.containment = sources::containment(entries);
    r.timeline = events;
    r.findings = findings;
    r.header = header(r, entries, hp);
    r.summary = summary::summarise(r, &hits, hp);
    if let Some(h) = r.triage.hunt.as_mut() {
        chain::map_paths(h, hp);
        for hit in &mut h.top_hits {
            hit.source = hp.map(&hit.source);
            hit.snippet = hp.map(&hit.snippet);
        }
    }
    // The raw records stay in report.json, bounded like the rest: a
    // binary a unit runs must not fill it with escaped bytes.
    if let Some(p) = r.triage.persistence.as_mut() {
        for i in &mut p.flagged {
            i.command = i.command.as_deref().map(model::bound);
        }
    }
}

/// Sorts events by time (parsed, so `.000Z` and nanoseconds compare
/// right), then lane and place.
fn event_key(
    e: &model::Event,
) -> (
    Option<chrono::DateTime<chrono::Utc>>,
    model::EventSource,
    &str,
) {
    let t = chrono::DateTime::parse_from_rfc3339(&e.time)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc));
    (t, e.source, &e.location)
}

/// The header: target, OpenClaw, custody, time span, versions, journal head.
fn header(r: &Report, entries: &[Entry], hp: &sources::HostPaths) -> model::Header {
    let dep = r.bundle.as_ref().and_then(|b| b.deployment.as_ref());
    let c = r.custody.clone().unwrap_or_default();
    let first = entries.iter().find_map(|e| e.envelope());
    let last = entries.iter().rev().find_map(|e| e.envelope());
    let root = sources::case_root(entries);
    let home = entries.iter().rev().find_map(|e| match e.body() {
        Some(crate::record::Record::Start(s)) => s.target.home.clone(),
        _ => None,
    });
    model::Header {
        host: r.target_host.as_deref().map(model::bound),
        root: root.as_deref().map(model::bound),
        state_dir: dep
            .map(|d| d.state_dir.clone())
            .or(home)
            .map(|d| model::bound(&hp.map(&d))),
        openclaw_version: dep.and_then(|d| d.version.as_deref()).map(model::bound),
        layout: dep.map(|d| d.layout.clone()),
        examiner: c.examiner.as_deref().map(model::bound),
        case_number: c.case_number.as_deref().map(model::bound),
        first_event: r.timeline.first().map(|e| e.time.clone()),
        last_event: r.timeline.last().map(|e| e.time.clone()),
        case_opened: first.map(|e| e.ts.clone()),
        case_last: last.map(|e| e.ts.clone()),
        ir_version_journal: first.map(|e| match &e.ir_build {
            Some(b) => format!("{} ({b})", e.ir_version),
            None => e.ir_version.clone(),
        }),
        ir_version: env!("CARGO_PKG_VERSION").into(),
        journal_seq: entries.last().map(|e| e.seq),
        journal_head: r.journal.last_digest.clone(),
    }
}

/// The first audit's "before" and the latest "after" (recovery's audit
/// when there was one).
fn audit_before_after(entries: &[Entry]) -> Result<AuditBeforeAfter> {
    let before = journal::first_end(entries, "audit")
        .filter(|(_, end)| end.details.is_some())
        .map(|(e, end)| end.record::<AuditRecord>(e.seq))
        .transpose()?
        .map(|a| a.findings_before.unwrap_or(a.findings));
    let after = match last::<RecoverRecord>(entries, "recover")? {
        Some(r) => Some(r.findings),
        None => last::<AuditRecord>(entries, "audit")?.map(|a| a.findings),
    };
    Ok(AuditBeforeAfter { before, after })
}

/// What is left for the operator.
fn todo(r: &Report, recover: Option<&RecoverRecord>) -> Vec<String> {
    let mut todo: Vec<String> = Vec::new();
    if let Some(rot) = &r.rotation {
        todo.extend(rot.operator_actions.iter().cloned());
        let n = rot.provider_credentials.len();
        if n > 0 {
            todo.push(format!(
                "revoke the {n} provider/channel credential(s) listed above at their providers"
            ));
        }
    } else {
        todo.push("credentials were not rotated (ir rotate)".into());
    }
    if r.sessions_cleared.is_none() {
        todo.push("the sessions were not cleared (ir clear-sessions)".into());
    }
    if let Some(rec) = recover {
        todo.extend(rec.todo.iter().cloned());
    }
    for f in r.audit.after.iter().flatten() {
        if f.severity == Severity::Critical {
            todo.push(format!("fix {}: {}", f.id, f.fix));
        }
    }
    if r.journal.verdict == Verdict::Tampered {
        todo.insert(
            0,
            "THE CASE JOURNAL FAILS VERIFICATION: treat this report as untrusted".into(),
        );
    }
    todo
}

/// Paths the journal shows were quarantined (and not put back) or
/// restored after entry `after`, each with the step that took it away.
fn removed_since(entries: &[Entry], after: u64) -> Result<HashMap<String, model::RemovedBy>> {
    let mut gone = HashMap::new();
    for e in entries.iter().filter(|e| e.seq > after) {
        let Some(end) = e.end() else { continue };
        if end.details.as_ref().is_none_or(|d| d.is_null()) {
            continue;
        }
        let by = model::RemovedBy {
            step: end.command.clone(),
            time: e.envelope().map(|v| v.ts.clone()).unwrap_or_default(),
            journal_seq: e.seq,
        };
        match end.command.as_str() {
            "quarantine" => {
                let q: QuarantineRunRecord = end.record(e.seq)?;
                for x in q.quarantined {
                    gone.insert(x.path, by.clone());
                }
                for x in q.restored {
                    gone.remove(&x.path);
                }
            }
            "restore" => {
                let x: RestoreRecord = end.record(e.seq)?;
                for x in x.restored {
                    gone.insert(x.path, by.clone());
                }
            }
            _ => {}
        }
    }
    Ok(gone)
}

/// The status of every item the last `ir persistence` flagged, in its
/// order (several items can share a path: jobs in one database, accounts
/// in `/etc/passwd`): removed (by which later quarantine or restore
/// step), to review (only recently changed) or still to do (with the
/// command that removes it). Both the to-do list and the findings read
/// this one answer, so they cannot disagree.
pub fn persistence_status(entries: &[Entry]) -> Result<Vec<model::ItemStatus>> {
    let Some((e, end)) = journal::last_end(entries, "persistence", false)
        .filter(|(_, end)| end.details.as_ref().is_some_and(|d| !d.is_null()))
    else {
        return Ok(Vec::new());
    };
    let p: PersistenceRecord = end.record(e.seq)?;
    let gone = removed_since(entries, e.seq)?;
    Ok(p.flagged
        .iter()
        .map(|i| match gone.get(&i.path).cloned() {
            Some(by) => model::ItemStatus::Removed { by },
            // Changed lately and nothing else: to look at, not to remove.
            None if real_flags(i).is_empty() => model::ItemStatus::Review,
            None => model::ItemStatus::ToDo {
                remove_with: removal(i, &real_flags(i)),
            },
        })
        .collect())
}

/// A flagged item's flags beyond being recently changed.
fn real_flags(i: &crate::record::FlaggedItem) -> Vec<&str> {
    i.flags
        .iter()
        .map(String::as_str)
        .filter(|f| *f != "recent")
        .collect()
}

/// One to-do line per item the last `ir persistence` flagged (for more
/// than being recent) that is still in place, with the command that
/// removes it; prompt files recover already named are not repeated.
fn still_in_place(entries: &[Entry], recover: Option<&RecoverRecord>) -> Result<Vec<String>> {
    let Some((e, end)) = journal::last_end(entries, "persistence", false)
        .filter(|(_, end)| end.details.as_ref().is_some_and(|d| !d.is_null()))
    else {
        return Ok(Vec::new());
    };
    let p: PersistenceRecord = end.record(e.seq)?;
    let status = persistence_status(entries)?;
    let named_by_recover =
        |path: &str| recover.is_some_and(|r| r.todo.iter().any(|t| t.contains(path)));
    let mut out = Vec::new();
    let mut recent_only = 0;
    for (i, st) in p.flagged.iter().zip(&status) {
        let remove_with = match st {
            model::ItemStatus::ToDo { remove_with } => remove_with,
            model::ItemStatus::Review => {
                recent_only += 1;
                continue;
            }
            model::ItemStatus::Removed { .. } => continue,
        };
        let flags = real_flags(i);
        if i.mechanism == "openclaw-prompt-file" && named_by_recover(&i.path) {
            continue;
        }
        out.push(format!(
            "{} {} [{}]: {remove_with}",
            i.mechanism,
            i.path,
            flags.join(", "),
        ));
    }
    if recent_only > 0 {
        out.push(format!("review the {recent_only} persistence item(s) flagged only as recently changed (listed under Findings)"));
    }
    Ok(out)
}

/// The exact command that removes a flagged item, or what to do by hand.
fn removal(i: &crate::record::FlaggedItem, flags: &[&str]) -> String {
    let path = shell_word(&i.path);
    if let Some(how) = crate::contain::quarantine::entry_not_file(&i.mechanism) {
        return how.to_string();
    }
    if i.mechanism == "openclaw-prompt-file" {
        return format!(
            "ir restore {path} --from git|baseline|bundle|template, or ir quarantine {path}"
        );
    }
    let content = |f: &&str| crate::contain::quarantine::CONTENT_FLAGS.contains(f);
    // What the program it runs carries is that program's to remove.
    let own: Vec<&str> = flags
        .iter()
        .copied()
        .filter(|f| !i.payload_flags.iter().any(|p| p == f))
        .collect();
    if let Some(p) = &i.payload
        && flags.len() > own.len()
        && !own.iter().any(content)
    {
        let p = shell_word(p);
        return if i.mechanism == "pam-exec" {
            format!("remove the pam_exec line from {path} first, then ir quarantine {p}")
        } else {
            format!("ir quarantine {p} (the program it runs)")
        };
    }
    if flags.iter().any(content) {
        format!("ir quarantine {path}")
    } else {
        format!("review it; ir quarantine {path} removes it")
    }
}

/// An escaped host path as one shell word (single-quoted when needed).
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%,=".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Where `ir report` wrote the three files.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub report_md: PathBuf,
    pub report_html: PathBuf,
    pub report_json: PathBuf,
}

/// Writes `report.md`, `report.html` and `report.json` into the case dir.
pub fn write(case_dir: &Path) -> Result<(Written, Report)> {
    let r = build(case_dir)?;
    let w = Written {
        report_md: case_dir.join("report.md"),
        report_html: case_dir.join("report.html"),
        report_json: case_dir.join("report.json"),
    };
    crate::safefs::write_atomic(&w.report_json, &serde_json::to_vec_pretty(&r)?, 0o600)?;
    crate::safefs::write_atomic(&w.report_md, markdown::render(&r).as_bytes(), 0o600)?;
    crate::safefs::write_atomic(&w.report_html, html::render(&r).as_bytes(), 0o600)?;
    Ok((w, r))
}
