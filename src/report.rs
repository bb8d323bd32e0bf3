//! The case report: `report.md` and `report.json` in the case dir, built
//! from the journal alone, for a reader who was not there: who ran what and
//! when (and whether the journal verifies), the bundle and how to open it,
//! the triage findings most serious first, what was rotated and revoked and
//! which provider keys must still be revoked, the audit before and after,
//! and what remains to do. Host strings are rendered as escaped code spans
//! so a crafted file name cannot inject Markdown.

use crate::journal::{self, Entry};
use anyhow::Result;
use serde_json::{Value, json};
use std::fmt::Write;
use std::path::{Path, PathBuf};

fn last_end<'a>(entries: &'a [Entry], command: &str) -> Option<&'a Entry> {
    journal::last_end(entries, command, false)
}

fn first_end<'a>(entries: &'a [Entry], command: &str) -> Option<&'a Entry> {
    entries
        .iter()
        .find(|e| e.str("command") == Some(command) && e.str("kind") == Some("end"))
}

/// A host string as a Markdown code span.
fn code(s: &str) -> String {
    format!("`{}`", crate::sanitize::escape(s).replace('`', "'"))
}

/// Builds the report document.
pub fn build(case_dir: &Path) -> Result<Value> {
    let jpath = case_dir.join(journal::JOURNAL_FILE);
    let entries = journal::read_entries(&jpath)?;
    let verification = journal::verify(&jpath)?;
    let steps: Vec<Value> = entries
        .iter()
        .filter(|e| e.str("kind") == Some("end"))
        .map(|e| {
            json!({"command": e.str("command"), "status": e.str("status"), "exit_code": e.value.get("exit_code"), "ts": e.str("ts"),
                "user": e.str("user"), "host": e.str("host"), "error": e.str("error")})
        })
        .collect();
    let collect = last_end(&entries, "collect")
        .and_then(|e| e.value.get("details"))
        .cloned();
    let hunt = last_end(&entries, "hunt")
        .and_then(|e| e.value.get("details"))
        .cloned();
    let persistence = last_end(&entries, "persistence")
        .and_then(|e| e.value.get("details"))
        .cloned();
    let timeline = last_end(&entries, "timeline")
        .and_then(|e| e.value.get("details"))
        .cloned();
    let rotate = last_end(&entries, "rotate")
        .and_then(|e| e.value.get("details"))
        .cloned();
    let clear = last_end(&entries, "clear-sessions")
        .and_then(|e| e.value.get("details"))
        .cloned();
    let audit_before = first_end(&entries, "audit")
        .and_then(|e| {
            e.pointer("/details/findings_before")
                .or_else(|| e.pointer("/details/findings"))
        })
        .cloned();
    let audit_after = last_end(&entries, "recover")
        .and_then(|e| e.pointer("/details/findings"))
        .or_else(|| last_end(&entries, "audit").and_then(|e| e.pointer("/details/findings")))
        .cloned();
    let mut todo: Vec<String> = Vec::new();
    if let Some(r) = &rotate {
        for a in r
            .get("operator_actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            todo.push(a.to_string());
        }
        let n = r
            .get("provider_credentials")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if n > 0 {
            todo.push(format!(
                "revoke the {n} provider/channel credential(s) listed above at their providers"
            ));
        }
    } else {
        todo.push("credentials were not rotated (ir rotate)".into());
    }
    if clear.is_none() {
        todo.push("the sessions were not cleared (ir clear-sessions)".into());
    }
    if let Some(r) = last_end(&entries, "recover")
        .and_then(|e| e.pointer("/details/todo"))
        .and_then(Value::as_array)
    {
        todo.extend(r.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    for f in audit_after
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if f.get("severity").and_then(Value::as_str) == Some("critical") {
            todo.push(format!(
                "fix {}: {}",
                f["id"].as_str().unwrap_or(""),
                f["fix"].as_str().unwrap_or("")
            ));
        }
    }
    if verification.verdict == journal::Verdict::Tampered {
        todo.insert(
            0,
            "THE CASE JOURNAL FAILS VERIFICATION: treat this report as untrusted".into(),
        );
    }
    Ok(json!({
        "format": "ir-report/1",
        "created": journal::now_rfc3339(),
        "case": case_dir.display().to_string(),
        "journal": {"verdict": verification.verdict, "entries": verification.entries, "last_digest": verification.last_digest, "problems": verification.problems, "notes": verification.notes},
        "steps": steps,
        "bundle": collect,
        "triage": {"timeline": timeline, "persistence": persistence, "hunt": hunt},
        "rotation": rotate,
        "sessions_cleared": clear,
        "audit": {"before": audit_before, "after": audit_after},
        "todo": todo,
    }))
}

fn md(r: &Value) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Incident report\n\nCase: {}  \nWritten: {}\n",
        code(r["case"].as_str().unwrap_or("")),
        r["created"].as_str().unwrap_or("")
    );
    let j = &r["journal"];
    let _ = writeln!(
        o,
        "## Chain of custody\n\nThe case journal holds {} entries and **{}** verification (last digest `{}`).\n",
        j["entries"],
        j["verdict"].as_str().unwrap_or("?"),
        j["last_digest"].as_str().unwrap_or("-")
    );
    for p in j["problems"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "- problem: {}",
            code(p["message"].as_str().unwrap_or(""))
        );
    }
    let _ = writeln!(
        o,
        "| when (UTC) | who | command | status | exit |\n|---|---|---|---|---|"
    );
    for s in r["steps"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {} | {}@{} | {} | {} | {} |",
            s["ts"].as_str().unwrap_or(""),
            s["user"].as_str().unwrap_or(""),
            s["host"].as_str().unwrap_or(""),
            s["command"].as_str().unwrap_or(""),
            s["status"].as_str().unwrap_or(""),
            s["exit_code"]
        );
    }
    let _ = writeln!(o, "\n## Evidence\n");
    match r["bundle"].as_object() {
        Some(b) => {
            let bundle = b.get("bundle").and_then(Value::as_str).unwrap_or("");
            let _ = writeln!(
                o,
                "- bundle: {}\n- sha256: `{}`\n- size: {} bytes, {} items\n- manifest: {} (sha256 `{}`)\n- verdicts: {}",
                code(bundle),
                b.get("sha256").and_then(Value::as_str).unwrap_or(""),
                b.get("size").unwrap_or(&Value::Null),
                b.get("items").unwrap_or(&Value::Null),
                code(b.get("manifest").and_then(Value::as_str).unwrap_or("")),
                b.get("manifest_sha256")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                b.get("verdicts")
                    .and_then(Value::as_object)
                    .map(|m| m
                        .iter()
                        .map(|(k, v)| format!("{k} {}", v["count"]))
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                o,
                "\nTo open it: `ir verify {bundle} -i KEY` then `ir extract {bundle} -i KEY -o DIR`; or `age -d -i KEY {bundle} | tar -xzf -` and `sha256sum -c MANIFEST.sha256` in the top folder."
            );
        }
        None => {
            let _ = writeln!(o, "No evidence bundle was collected.");
        }
    }
    let _ = writeln!(o, "\n## Findings, most serious first\n");
    let t = &r["triage"];
    for h in t["hunt"]["top_hits"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "- **{}** {} at {}: {}",
            h["severity"].as_str().unwrap_or(""),
            h["title"].as_str().unwrap_or(""),
            code(h["source"].as_str().unwrap_or("")),
            code(h["snippet"].as_str().unwrap_or(""))
        );
    }
    for p in t["persistence"]["flagged"].as_array().into_iter().flatten() {
        let flags: Vec<&str> = p["flags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let _ = writeln!(
            o,
            "- persistence {} {} [{}]{}",
            p["mechanism"].as_str().unwrap_or(""),
            code(p["path"].as_str().unwrap_or("")),
            flags.join(", "),
            p["command"]
                .as_str()
                .map(|c| format!(": {}", code(c)))
                .unwrap_or_default()
        );
    }
    if let Some(tl) = t["timeline"].as_object() {
        let _ = writeln!(
            o,
            "- timeline {} to {}: {} changed paths, {} flagged",
            tl.get("since").and_then(Value::as_str).unwrap_or(""),
            tl.get("until").and_then(Value::as_str).unwrap_or(""),
            tl.get("changed").unwrap_or(&Value::Null),
            tl.get("flagged").unwrap_or(&Value::Null)
        );
        for e in tl
            .get("flagged_entries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let _ = writeln!(
                o,
                "  - {} {}",
                code(e["path"].as_str().unwrap_or("")),
                e["flags"]
            );
        }
    }
    let _ = writeln!(o, "\n## Containment\n");
    match r["rotation"].as_object() {
        Some(rot) => {
            for x in rot
                .get("rotated")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let _ = writeln!(
                    o,
                    "- rotated {} (new fingerprint `{}`, written to {})",
                    x["secret"].as_str().unwrap_or(""),
                    x["new_fingerprint"].as_str().unwrap_or(""),
                    x["written_to"].as_str().unwrap_or("")
                );
            }
            for x in rot
                .get("revoked")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let _ = writeln!(
                    o,
                    "- revoked {} x{}",
                    x["what"].as_str().unwrap_or(""),
                    x["count"]
                );
            }
            let creds = rot
                .get("provider_credentials")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !creds.is_empty() {
                let _ = writeln!(
                    o,
                    "\nTo revoke at each provider:\n\n| provider | type | last 4 | sha256 prefix | where |\n|---|---|---|---|---|"
                );
                for c in creds {
                    let _ = writeln!(
                        o,
                        "| {} | {} | {} | `{}` | {} |",
                        code(c["provider"].as_str().unwrap_or("")),
                        c["type"].as_str().unwrap_or(""),
                        code(c["last4"].as_str().unwrap_or("")),
                        c["sha256_prefix"].as_str().unwrap_or(""),
                        code(c["source"].as_str().unwrap_or(""))
                    );
                }
            }
        }
        None => {
            let _ = writeln!(o, "Nothing was rotated.");
        }
    }
    if let Some(c) = r["sessions_cleared"].as_object() {
        let _ = writeln!(
            o,
            "\n- sessions cleared for agents {}: {} files removed, {} databases cleared",
            c.get("agents").unwrap_or(&Value::Null),
            c.get("files_removed")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
            c.get("rows_deleted")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        );
    }
    let _ = writeln!(o, "\n## Hardening audit\n");
    for (label, key) in [("before", "before"), ("after", "after")] {
        let f = r["audit"][key].as_array().cloned().unwrap_or_default();
        let n = |s: &str| f.iter().filter(|x| x["severity"] == s).count();
        let _ = writeln!(
            o,
            "- {label}: {} critical, {} warn, {} info",
            n("critical"),
            n("warn"),
            n("info")
        );
    }
    let _ = writeln!(o, "\n## What remains to do\n");
    for t in r["todo"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let _ = writeln!(o, "- [ ] {}", crate::sanitize::escape(t));
    }
    o
}

/// Writes `report.md` and `report.json` into the case dir.
pub fn write(case_dir: &Path) -> Result<(PathBuf, PathBuf, Value)> {
    let r = build(case_dir)?;
    let j = case_dir.join("report.json");
    let m = case_dir.join("report.md");
    crate::safefs::write_atomic(&j, &serde_json::to_vec_pretty(&r)?, 0o600)?;
    crate::safefs::write_atomic(&m, md(&r).as_bytes(), 0o600)?;
    Ok((m, j, r))
}
