//! The five-line executive summary: how it started, what the attacker ran,
//! what persists, what was done, what remains. Each line is built from the
//! typed parts of the report, so it says only what the case shows, and says
//! so plainly when a step did not run.

use super::Report;
use super::model::{Detector, SummaryLine, SummaryTopic, bound};
use crate::record::{Hit, Severity};

/// The summary of a built report (everything but the summary filled in).
pub fn summarise(r: &Report, hits: &[Hit], hp: &super::sources::HostPaths) -> Vec<SummaryLine> {
    let line = |topic, text: String| SummaryLine {
        topic,
        text: bound(&text),
    };
    vec![
        line(SummaryTopic::Started, started(r, hits, hp)),
        line(SummaryTopic::Ran, ran(r, hits, hp)),
        line(SummaryTopic::Persists, persists(r)),
        line(SummaryTopic::Done, done(r)),
        line(SummaryTopic::Remains, remains(r)),
    ]
}

/// The earliest injected text the agent read, and where it came from.
fn started(r: &Report, hits: &[Hit], hp: &super::sources::HostPaths) -> String {
    if r.triage.hunt.is_none() {
        return "unknown: the transcripts were not hunted (ir hunt)".into();
    }
    // The attack chain tells where it came from best (channel and sender).
    // The line is bounded: what, from where and when come first, and the
    // attack chain section right below names the session and the row.
    if let Some(c) = first_chain(r) {
        return format!(
            "{} in {}, {} (see the attack chain)",
            c.title,
            super::chain::origin_words(&c.origin),
            c.time.as_deref().unwrap_or("time unknown"),
        );
    }
    // The text as the agent read it (a tool's result, a message) tells
    // where it came from; the copies OpenClaw keeps (task runs, memory,
    // import archives) come after.
    let copy = |h: &Hit| {
        [
            "task_runs",
            "memory_index_chunks",
            "session-sqlite-import-archive",
        ]
        .iter()
        .any(|c| h.source.contains(c))
    };
    let first = hits
        .iter()
        .filter(|h| super::sources::is_injection(h))
        .min_by(|a, b| (copy(a), &a.time, b.severity).cmp(&(copy(b), &b.time, a.severity)));
    let Some(h) = first else {
        return "no injected text was found in the transcripts, task runs, memory or logs".into();
    };
    let via = h.origin.as_deref().unwrap_or("the agent's input");
    format!(
        "{} in {} (session {}, {}), at {}",
        h.title,
        via,
        h.session.as_deref().unwrap_or("unknown"),
        h.time.as_deref().unwrap_or("time unknown"),
        hp.map(&h.source)
    )
}

/// The first dangerous command the agent ran, and how many more.
fn ran(r: &Report, hits: &[Hit], hp: &super::sources::HostPaths) -> String {
    if r.triage.hunt.is_none() {
        return "unknown: the transcripts were not hunted (ir hunt)".into();
    }
    let mut acts: Vec<&Hit> = hits
        .iter()
        .filter(|h| {
            h.severity == Severity::Critical
                && super::sources::is_action(h)
                && !h.rule.starts_with("tool.")
        })
        .collect();
    acts.sort_by(|a, b| a.time.cmp(&b.time));
    // The attack chain's first flagged call is what the injection led to.
    if let Some(line) = chain_ran(r, &acts, hp) {
        return line;
    }
    let Some(first) = acts.first() else {
        return "no dangerous tool call was found".into();
    };
    // The row's `tool.exec` hit quotes the whole command; a rule's own
    // snippet may quote only what it matched (`SOUL.md`).
    let command = |h: &Hit| -> String {
        hits.iter()
            .find(|x| x.source == h.source && x.rule == "tool.exec")
            .map_or(h.snippet.clone(), |x| x.snippet.clone())
    };
    // OpenClaw keeps copies of a row (import archives, memory): count
    // commands, not rows.
    let mut cmds: Vec<String> = acts.iter().map(|h| command(h)).collect();
    cmds.sort();
    cmds.dedup();
    let more = cmds.len().saturating_sub(1);
    // The command first and cut, so the rule and place still fit the line.
    let cmd: String = command(first).replace('`', "'");
    let cmd = if cmd.chars().count() > 160 {
        cmd.chars().take(159).chain(std::iter::once('…')).collect()
    } else {
        cmd
    };
    format!(
        "`{}` ({}, at {}, {}){}",
        cmd,
        first.title,
        first.time.as_deref().unwrap_or("time unknown"),
        hp.map(&first.source),
        if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        }
    )
}

/// What the earliest attack chain ran first: its first call a rule
/// flagged, and how many more flagged calls the chain holds.
fn chain_ran(r: &Report, acts: &[&Hit], hp: &super::sources::HostPaths) -> Option<String> {
    let chain = first_chain(r)?;
    let k = chain.calls.iter().find(|k| !k.rules.is_empty())?;
    // The chain's calls are already one per call (copies left out).
    let more = chain.calls.iter().filter(|c| !c.rules.is_empty()).count() - 1;
    // The rule's title says what it is; the ids when no hit is at hand.
    let what = acts
        .iter()
        .find(|h| h.source == k.source)
        .map_or_else(|| k.rules.join(", "), |h| h.title.clone());
    Some(format!(
        "`{}` ({}, at {}, {}){}",
        short(&format!("{} {}", k.tool, k.command)),
        what,
        k.time.as_deref().unwrap_or("time unknown"),
        hp.map(&k.source),
        if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        }
    ))
}

/// The earliest attack chain of the case's hunt.
fn first_chain(r: &Report) -> Option<&crate::record::AttackChain> {
    super::chain::of(r)
        .iter()
        .min_by(|a, b| a.time.cmp(&b.time))
}

/// A command cut to fit the line, backticks made quotes.
fn short(cmd: &str) -> String {
    let cmd = cmd.replace('`', "'");
    if cmd.chars().count() > 160 {
        cmd.chars().take(159).chain(std::iter::once('…')).collect()
    } else {
        cmd
    }
}

/// The persistence items the attack chain's tool calls wrote, as a
/// clause of the persistence line.
fn chain_planted(r: &Report) -> String {
    let mut planted: Vec<&str> = super::chain::of(r)
        .iter()
        .flat_map(|c| &c.files)
        .filter(|f| f.persistence.is_some())
        .map(|f| f.path.as_str())
        .collect();
    planted.sort_unstable();
    planted.dedup();
    match planted.len() {
        0 => String::new(),
        n => format!(" ({n} written by the attack chain)"),
    }
}

/// The flagged persistence still in place (beyond being recent).
fn persists(r: &Report) -> String {
    if r.triage.persistence.is_none() {
        return "unknown: persistence was not examined (ir persistence)".into();
    }
    let removed = r
        .containment
        .iter()
        .filter(|a| a.step == "quarantine" || a.step == "restore")
        .count();
    let planted: Vec<&super::model::Ranked> = r
        .findings
        .iter()
        .filter(|f| f.detector == Detector::Persistence && f.severity > Severity::Info)
        .collect();
    let still: Vec<&str> = planted
        .iter()
        .filter(|f| f.status.as_deref() == Some("to do"))
        .map(|f| f.location.as_str())
        .collect();
    if planted.is_empty() {
        return "no persistence was flagged".into();
    }
    let mut names: Vec<&str> = still.clone();
    names.dedup();
    let shown: Vec<&str> = names.iter().take(4).copied().collect();
    format!(
        "{} flagged persistence item(s), {} still in place{}{}{}",
        planted.len(),
        still.len(),
        chain_planted(r),
        if shown.is_empty() {
            String::new()
        } else {
            format!(": {}", shown.join(", "))
        },
        if names.len() > shown.len() {
            format!(" and {} more", names.len() - shown.len())
        } else if removed > 0 {
            format!(" ({removed} removal step(s) ran)")
        } else {
            String::new()
        }
    )
}

/// What the response did, one clause per kind of step.
fn done(r: &Report) -> String {
    let mut parts: Vec<String> = Vec::new();
    let has = |s: &str| r.containment.iter().any(|a| a.step == s);
    if let Some(a) = r.containment.iter().find(|a| a.step == "stop") {
        parts.push(a.what.clone());
    }
    if let Some(b) = &r.bundle {
        parts.push(format!(
            "evidence preserved (bundle sha256 {}…)",
            &b.sha256[..b.sha256.len().min(16)]
        ));
    }
    if let Some(rot) = &r.rotation {
        parts.push(format!("{} secret(s) rotated", rot.rotated.len()));
    }
    if has("clear-sessions") {
        parts.push("poisoned sessions cleared".into());
    }
    let q = r
        .containment
        .iter()
        .filter(|a| a.step == "quarantine")
        .count();
    if q > 0 {
        parts.push(format!("{q} quarantine step(s)"));
    }
    if has("restore") {
        parts.push("prompt files restored".into());
    }
    if has("recover") {
        parts.push("recovered".into());
    }
    if parts.is_empty() {
        return "nothing has been contained yet".into();
    }
    parts.join("; ")
}

/// How much is left, in kinds.
fn remains(r: &Report) -> String {
    if r.todo.is_empty() {
        return "nothing: every flagged item was handled".into();
    }
    let keys = r
        .rotation
        .as_ref()
        .map_or(0, |x| x.provider_credentials.len());
    let removal = r
        .todo
        .iter()
        .filter(|t| {
            t.contains("ir quarantine") || t.contains("ir restore") || t.contains("remove it")
        })
        .count();
    let mut s = format!("{} to-do item(s)", r.todo.len());
    if removal > 0 {
        s.push_str(&format!(": {removal} planted item(s) to remove"));
    }
    if keys > 0 {
        s.push_str(&format!(
            ", {keys} provider/channel key(s) to revoke at the provider"
        ));
    }
    s
}
