//! `ir journal verify|show|note`: the case journal for the analyst.

use crate::case::Ctx;
use crate::exit::Exit;
use crate::journal::{self, Verdict};
use crate::record::{Note, Record};
use crate::sanitize::escape;
use anyhow::Result;
use serde_json::{Value, json};
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
            let a = j.append(Record::Note(Note {
                message: message.clone(),
                argv: ctx.argv.clone(),
            }))?;
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
        let v: Vec<Value> = entries.iter().map(show_json).collect();
        crate::output::print_json(&v);
        return Ok(Exit::Ok);
    }
    let mut o = String::new();
    let mut open: Vec<String> = Vec::new();
    for e in &entries {
        let (ts, who, line) = match e.envelope() {
            Some(env) => (
                env.ts.as_str(),
                format!("{}@{}", env.user, env.host),
                show_line(&env.body, &mut open),
            ),
            None => ("?", "?".into(), "(not an ir record)".into()),
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
    Ok(Exit::Ok)
}

/// One entry for `show --json`: the typed record, or why it is not one.
fn show_json(e: &journal::Entry) -> Value {
    match &e.record {
        Ok(env) => serde_json::to_value(env).unwrap_or(Value::Null),
        Err(why) => json!({"seq": e.seq, "digest": e.digest, "not_a_record": why}),
    }
}

/// One entry as a line of `show`, tracking runs not yet ended.
fn show_line(r: &Record, open: &mut Vec<String>) -> String {
    match r {
        Record::Start(s) => {
            open.push(s.run.clone());
            format!("start  {}  ({})", s.command, s.argv.join(" "))
        }
        Record::End(end) => {
            open.retain(|r| *r != end.run);
            let mut s = format!(
                "end    {}  {} (exit {})",
                end.command,
                end.status.as_str(),
                end.exit_code
            );
            if let Some(err) = &end.error {
                s.push_str(&format!(": {err}"));
            }
            s
        }
        Record::Event(ev) => format!("event  {}: {}", ev.command, ev.event),
        Record::Note(n) => format!("note   {}", n.message),
    }
}
