//! `ir hunt`: session transcripts and logs against the hunt rules.

use crate::case::{Ctx, Outcome};
use crate::exit::Exit;
use crate::output::tagged;
use crate::record::HuntRecord;
use crate::triage::hunt;
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `ir hunt`.
#[derive(Debug, clap::Args)]
pub struct HuntArgs {
    /// A TOML rules file that extends (mode = "extend") or replaces
    /// (mode = "replace") the built-in rules.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Also scan this log file (repeatable).
    #[arg(long, value_name = "FILE")]
    pub log: Vec<PathBuf>,
    /// One JSON object per line on stdout instead: each hit
    /// (`"record":"hit"`), each tool call, each unreadable source, then a
    /// summary.
    #[arg(long)]
    pub jsonl: bool,
}

/// The file name of `ir hunt`'s event artifact in the case dir.
pub const HUNT_EVENTS: &str = "hunt-events.jsonl";

/// Runs the hunt.
pub fn run(ctx: &Ctx, a: &HuntArgs) -> Result<Exit> {
    let (report, exit) = ctx.journaled("hunt", |run| {
        crate::cmd::timeline::check_root(ctx)?;
        let rules = hunt::rules(a.rules.as_deref())?;
        let dep = ctx.discover()?;
        let facts = crate::triage::chain::CaseFacts::from_journal(run.journal().path(), &dep)?;
        // Every event goes to a case artifact for the report's timeline;
        // the journal keeps counts, the first hundred hits and the chains.
        let mut events = crate::artifact::EventWriter::create(&ctx.global.case, HUNT_EVENTS)?;
        // `--jsonl` streams each hit and tool call as it is found.
        let mut stream = |f: hunt::Streamed| match f {
            hunt::Streamed::Hit(h) => crate::output::print_jsonl(&tagged("hit", h)),
            hunt::Streamed::ToolCall(c) => crate::output::print_jsonl(&tagged("tool_call", c)),
        };
        let taps = hunt::Taps {
            events: Some(&mut events),
            found: a
                .jsonl
                .then_some(&mut stream as &mut dyn FnMut(hunt::Streamed)),
        };
        let r = hunt::run_in_case(&dep, &rules, &a.log, &facts, taps)?;
        let events = events.finish()?;
        let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
        for h in &r.hits {
            *by_rule.entry(h.rule.clone()).or_default() += 1;
        }
        // What could not be read may hold the hit: never a clean 0.
        let exit = if r.hits.is_empty() && r.unreadable.is_empty() {
            Exit::Ok
        } else {
            Exit::Findings
        };
        let details = serde_json::to_value(HuntRecord {
            sources: r.sources.len(),
            tool_calls: r.tool_calls.len(),
            hits: r.hits.len(),
            by_rule,
            malformed: r.malformed,
            unreadable: r.unreadable.len(),
            top_hits: r.hits.iter().take(100).cloned().collect(),
            other_deployment_lines: r.other_deployment_lines,
            events: Some(events),
            chains: r.chains.clone(),
            cut_events: r.cut_events,
            cut_bytes: r.cut_bytes,
        })?;
        Ok((r, Outcome { exit, details }))
    })?;
    if a.jsonl {
        print_lines(&report);
    } else if ctx.global.json {
        crate::output::print_json(&report);
    } else {
        crate::output::print(&render(&report, ctx.global.verbose > 0));
    }
    Ok(exit)
}

/// `--jsonl`, after the hunt streamed each hit and tool call as it found
/// them (reading order): the chain findings, known only once everything
/// was read, unreadable sources, hits listed apart, each attack chain and
/// the summary.
fn print_lines(r: &hunt::Report) {
    for h in r.hits.iter().filter(|h| !h.chain.is_empty()) {
        crate::output::print_jsonl(&tagged("hit", h));
    }
    for u in &r.unreadable {
        crate::output::print_jsonl(&serde_json::json!({"record": "unreadable", "source": u}));
    }
    for h in &r.unattributed {
        crate::output::print_jsonl(&tagged("unattributed_hit", h));
    }
    for c in &r.chains {
        crate::output::print_jsonl(&tagged("chain", c));
    }
    crate::output::print_jsonl(&serde_json::json!({
        "record": "summary", "sources": r.sources.len(), "tool_calls": r.tool_calls.len(),
        "hits": r.hits.len(), "malformed": r.malformed, "unreadable": r.unreadable.len(),
        "other_deployment_lines": r.other_deployment_lines, "unattributed": r.unattributed.len(),
        "cut_events": r.cut_events, "cut_bytes": r.cut_bytes,
    }));
}

fn render(r: &hunt::Report, all_calls: bool) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} sources, {} tool calls, {} hits, {} malformed lines or rows",
        r.sources.len(),
        r.tool_calls.len(),
        r.hits.len(),
        r.malformed
    );
    for h in &r.hits {
        let sev = h.severity.to_string();
        let _ = writeln!(
            o,
            "\n[{}] {} ({})",
            crate::output::severity(&sev),
            h.title,
            h.rule
        );
        let _ = writeln!(o, "  at   {}", h.source);
        if let Some(t) = &h.time {
            let _ = writeln!(
                o,
                "  time {t}{}",
                h.session
                    .as_deref()
                    .map(|s| format!("  session {s}"))
                    .unwrap_or_default()
            );
        }
        if let Some(from) = &h.origin {
            let _ = writeln!(o, "  from {from}");
        }
        if let Some(how) = &h.decoded {
            let _ = writeln!(o, "  seen after: {how}");
        }
        let _ = writeln!(o, "  {}", h.snippet);
        for row in h.chain.iter().skip(1) {
            let _ = writeln!(o, "  then {row}");
        }
    }
    if all_calls {
        let _ = writeln!(o, "\nTool calls");
        for c in &r.tool_calls {
            let _ = writeln!(
                o,
                "  {}  {:<12} {}  [{}]",
                c.time.as_deref().unwrap_or("-"),
                c.tool,
                c.arguments,
                c.source
            );
        }
    }
    for u in &r.unreadable {
        let _ = writeln!(o, "not readable: {}", crate::sanitize::escape(u));
    }
    if r.cut_events > 0 {
        let _ = writeln!(
            o,
            "cut: {} transcript events over the size cap ({} bytes) were not matched (named above)",
            r.cut_events, r.cut_bytes
        );
    }
    if r.other_deployment_lines > 0 {
        let _ = writeln!(
            o,
            "left out: {} lines of the shared log that name another deployment's port or paths",
            r.other_deployment_lines
        );
    }
    if !r.unattributed.is_empty() {
        let _ = writeln!(
            o,
            "\nNot attributed (shared-log lines that name no deployment, in a log another one writes too; not counted as findings):"
        );
        for h in &r.unattributed {
            let _ = writeln!(
                o,
                "  [{}] {} ({})  at {}",
                h.severity, h.title, h.rule, h.source
            );
        }
    }
    o
}
