//! `ir journal verify|show|note`: the case journal for the analyst.

use crate::case::{Ctx, Outcome};
use crate::exit::Exit;
use crate::journal::{self, Verdict};
use crate::sanitize::escape;
use anyhow::Result;
use serde_json::{Map, Value, json};
use std::fmt::Write;
use std::path::PathBuf;

/// `ir journal` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum JournalCommand {
    /// Check the hash chain, the sequence and the head; exit 1 on tampering.
    Verify {
        /// The journal file (default: the case's journal.jsonl).
        file: Option<PathBuf>,
    },
    /// Print the case as a readable timeline (--json: the raw entries).
    Show {
        /// The journal file (default: the case's journal.jsonl).
        file: Option<PathBuf>,
    },
    /// Append a note (chain of custody, a decision, a hand-over).
    Note {
        /// The text of the note.
        message: String,
    },
}

fn file_or_case(ctx: &Ctx, file: &Option<PathBuf>) -> PathBuf {
    file.clone()
        .unwrap_or_else(|| ctx.global.case.join(journal::JOURNAL_FILE))
}

/// Dispatches a journal subcommand. Verify and show only read the case, so
/// they do not journal themselves.
pub fn run(ctx: &Ctx, c: &JournalCommand) -> Result<Exit> {
    match c {
        JournalCommand::Verify { file } => verify(ctx, &file_or_case(ctx, file)),
        JournalCommand::Show { file } => show(ctx, &file_or_case(ctx, file)),
        JournalCommand::Note { message } => {
            let j = ctx.journal()?;
            let mut m = Map::new();
            m.insert("kind".into(), json!("note"));
            m.insert("argv".into(), json!(ctx.argv));
            m.insert("message".into(), json!(message));
            let a = j.append(m)?;
            if ctx.global.json {
                crate::output::print_json(&a);
            } else if !ctx.global.quiet {
                crate::output::print(&format!("noted as entry {} ({})\n", a.seq, &a.digest[..16]));
            }
            Ok(Exit::Ok)
        }
    }
}

fn verify(ctx: &Ctx, path: &std::path::Path) -> Result<Exit> {
    let r = journal::verify(path)?;
    if ctx.global.json {
        crate::output::print_json(&r);
    } else {
        let mut o = String::new();
        let _ = match r.verdict {
            Verdict::Intact => writeln!(o, "journal intact: {} entries", r.entries),
            Verdict::Interrupted => writeln!(
                o,
                "journal intact up to an interrupted write: {} entries",
                r.entries
            ),
            Verdict::Tampered => writeln!(o, "JOURNAL TAMPERED: {} entries read", r.entries),
        };
        if let (Some(s), Some(d)) = (r.last_seq, &r.last_digest) {
            let _ = writeln!(o, "  last entry {s}, digest {d}");
            let _ = writeln!(
                o,
                "  (record this digest somewhere the host cannot reach: it anchors the whole chain)"
            );
        }
        for p in &r.problems {
            let _ = writeln!(o, "  ! {} [{}]", escape(&p.message), p.kind);
        }
        for n in &r.notes {
            let _ = writeln!(o, "  - {}", escape(n));
        }
        crate::output::print(&o);
    }
    Ok(if r.verdict == Verdict::Tampered {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

fn show(ctx: &Ctx, path: &std::path::Path) -> Result<Exit> {
    let entries = journal::read_entries(path)?;
    if ctx.global.json {
        let v: Vec<&Map<String, Value>> = entries.iter().map(|e| &e.value).collect();
        crate::output::print_json(&v);
        return Ok(Exit::Ok);
    }
    let mut o = String::new();
    let mut open: Vec<String> = Vec::new();
    for e in &entries {
        let ts = e.str("ts").unwrap_or("?");
        let who = format!(
            "{}@{}",
            e.str("user").unwrap_or("?"),
            e.str("host").unwrap_or("?")
        );
        let cmd = e.str("command").unwrap_or("");
        let line = match e.str("kind") {
            Some("start") => {
                open.push(e.str("run").unwrap_or("").to_string());
                format!(
                    "start  {cmd}  ({})",
                    e.value
                        .get("argv")
                        .and_then(Value::as_array)
                        .map(|a| a
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(" "))
                        .unwrap_or_default()
                )
            }
            Some("end") => {
                open.retain(|r| Some(r.as_str()) != e.str("run"));
                let mut s = format!(
                    "end    {cmd}  {} (exit {})",
                    e.str("status").unwrap_or("?"),
                    e.value
                        .get("exit_code")
                        .and_then(Value::as_i64)
                        .unwrap_or(-1)
                );
                if let Some(err) = e.str("error") {
                    s.push_str(&format!(": {err}"));
                }
                s
            }
            Some("event") => format!("event  {cmd}: {}", e.str("event").unwrap_or("")),
            Some("note") => format!("note   {}", e.str("message").unwrap_or("")),
            Some(k) => k.to_string(),
            None => "?".into(),
        };
        let _ = writeln!(o, "{:>4}  {ts}  {}  {}", e.seq, escape(&who), escape(&line));
    }
    for r in open {
        let _ = writeln!(
            o,
            "      run {r} never ended: interrupted, or still running"
        );
    }
    crate::output::print(&o);
    let _ = Outcome::ok(Value::Null);
    Ok(Exit::Ok)
}
