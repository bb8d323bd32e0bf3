//! The case report: `report.md` and `report.json` in the case dir, built
//! from the journal alone, for a reader who was not there: who ran what and
//! when (and whether the journal verifies), the bundle and how to open it,
//! the triage findings most serious first, what was rotated and revoked and
//! which provider keys must still be revoked, the audit before and after,
//! and what remains to do. Host strings are rendered as escaped code spans
//! so a crafted file name cannot inject Markdown.

use crate::journal::{self, Entry, Problem, Verdict};
use crate::record::{
    AuditFinding, AuditRecord, ClearRecord, CollectRecord, HuntRecord, PersistenceRecord,
    QuarantineRunRecord, RecoverRecord, RestoreRecord, RotateRecord, Severity, Status,
    TimelineRecord,
};
use anyhow::Result;
use serde::Serialize;
use std::fmt::Write;
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

/// A host string as a Markdown code span.
fn code(s: &str) -> String {
    format!("`{}`", crate::sanitize::escape(s).replace('`', "'"))
}

/// Builds the report document.
pub fn build(case_dir: &Path) -> Result<Report> {
    let jpath = case_dir.join(journal::JOURNAL_FILE);
    let entries = journal::read_entries(&jpath)?;
    let verification = journal::verify(&jpath)?;
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
    };
    let recover: Option<RecoverRecord> = last(&entries, "recover")?;
    r.todo = todo(&r, recover.as_ref());
    r.todo.extend(still_in_place(&entries, recover.as_ref())?);
    Ok(r)
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
/// restored after entry `after`.
fn removed_since(entries: &[Entry], after: u64) -> Result<std::collections::HashSet<String>> {
    let mut gone = std::collections::HashSet::new();
    for e in entries.iter().filter(|e| e.seq > after) {
        let Some(end) = e.end() else { continue };
        if end.details.as_ref().is_none_or(|d| d.is_null()) {
            continue;
        }
        match end.command.as_str() {
            "quarantine" => {
                let q: QuarantineRunRecord = end.record(e.seq)?;
                gone.extend(q.quarantined.into_iter().map(|x| x.path));
                for x in q.restored {
                    gone.remove(&x.path);
                }
            }
            "restore" => {
                let x: RestoreRecord = end.record(e.seq)?;
                gone.extend(x.restored.into_iter().map(|x| x.path));
            }
            _ => {}
        }
    }
    Ok(gone)
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
    let gone = removed_since(entries, e.seq)?;
    let named_by_recover =
        |path: &str| recover.is_some_and(|r| r.todo.iter().any(|t| t.contains(path)));
    let mut out = Vec::new();
    let mut recent_only = 0;
    for i in p.flagged.iter().filter(|i| !gone.contains(&i.path)) {
        let flags: Vec<&str> = i
            .flags
            .iter()
            .map(String::as_str)
            .filter(|f| *f != "recent")
            .collect();
        if flags.is_empty() {
            recent_only += 1;
            continue;
        }
        if i.mechanism == "openclaw-prompt-file" && named_by_recover(&i.path) {
            continue;
        }
        out.push(format!(
            "{} {} [{}]: {}",
            i.mechanism,
            i.path,
            flags.join(", "),
            removal(i, &flags)
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

/// The Markdown report, top-down.
fn md(r: &Report) -> String {
    let mut o = String::new();
    md_custody(&mut o, r);
    md_evidence(&mut o, r.bundle.as_ref());
    md_findings(&mut o, &r.triage);
    md_containment(&mut o, r);
    md_audit(&mut o, &r.audit);
    let _ = writeln!(o, "\n## What remains to do\n");
    for t in &r.todo {
        let _ = writeln!(o, "- [ ] {}", crate::sanitize::escape(t));
    }
    o
}

fn md_custody(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "# Incident report\n\nCase: {}  \nWritten: {}\n",
        code(&r.case),
        r.created
    );
    // Only what the journal holds: a report of an older journal reads as
    // it did.
    if let Some(h) = &r.target_host {
        let _ = writeln!(o, "Host: {}  ", code(h));
    }
    for (k, v) in r.custody.iter().flat_map(|c| c.fields()) {
        let _ = writeln!(o, "{}{}: {}  ", k[..1].to_uppercase(), &k[1..], code(v));
    }
    if r.target_host.is_some() || r.custody.is_some() {
        let _ = writeln!(o);
    }
    let j = &r.journal;
    let _ = writeln!(
        o,
        "## Chain of custody\n\nThe case journal holds {} entries and **{}** verification (last digest `{}`).\n",
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
            s.user,
            s.host,
            s.command,
            s.status.as_str(),
            s.exit_code
        );
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Intact => "intact",
        Verdict::Interrupted => "interrupted",
        Verdict::Tampered => "tampered",
    }
}

fn md_evidence(o: &mut String, bundle: Option<&CollectRecord>) {
    let _ = writeln!(o, "\n## Evidence\n");
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
    let _ = writeln!(
        o,
        "\nTo open it: `ir verify {path} -i KEY` then `ir extract {path} -i KEY -o DIR`; or `age -d -i KEY {path} | tar -xzf -` and `sha256sum -c MANIFEST.sha256` in the top folder."
    );
}

fn md_findings(o: &mut String, t: &Triage) {
    let _ = writeln!(o, "\n## Findings, most serious first\n");
    for h in t.hunt.iter().flat_map(|h| &h.top_hits) {
        let _ = writeln!(
            o,
            "- **{}** {} at {}: {}",
            h.severity,
            h.title,
            code(&h.source),
            code(&h.snippet)
        );
    }
    for p in t.persistence.iter().flat_map(|p| &p.flagged) {
        let _ = writeln!(
            o,
            "- persistence {} {} [{}]{}",
            p.mechanism,
            code(&p.path),
            p.flags.join(", "),
            p.command
                .as_deref()
                .map(|c| format!(": {}", code(c)))
                .unwrap_or_default()
        );
    }
    if let Some(tl) = &t.timeline {
        let _ = writeln!(
            o,
            "- timeline {} to {}: {} changed paths, {} flagged",
            tl.since, tl.until, tl.changed, tl.flagged
        );
        for e in &tl.flagged_entries {
            let _ = writeln!(
                o,
                "  - {} {}",
                code(&e.path),
                serde_json::to_string(&e.flags).unwrap_or_default()
            );
        }
    }
}

fn md_containment(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Containment\n");
    match &r.rotation {
        Some(rot) => md_rotation(o, rot),
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

fn md_rotation(o: &mut String, rot: &RotateRecord) {
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
            c.kind,
            code(&c.last4),
            c.sha256_prefix,
            code(&c.source)
        );
    }
}

fn md_audit(o: &mut String, a: &AuditBeforeAfter) {
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

/// Writes `report.md` and `report.json` into the case dir.
pub fn write(case_dir: &Path) -> Result<(PathBuf, PathBuf, Report)> {
    let r = build(case_dir)?;
    let j = case_dir.join("report.json");
    let m = case_dir.join("report.md");
    crate::safefs::write_atomic(&j, &serde_json::to_vec_pretty(&r)?, 0o600)?;
    crate::safefs::write_atomic(&m, md(&r).as_bytes(), 0o600)?;
    Ok((m, j, r))
}
