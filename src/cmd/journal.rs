//! `ir journal verify|show|note`: the case journal for the analyst.

use crate::case::Ctx;
use crate::evidence::keys::{self, IdentityArgs};
use crate::exit::Exit;
use crate::journal::{self, Verdict};
use crate::record::{Note, Record};
use crate::sanitize::escape;
use crate::seal;
use anyhow::Result;
use serde_json::{Value, json};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// `ir journal` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum JournalCommand {
    /// Check the hash chain, the sequence and the head; with -i, every
    /// seal from the seed in seal.age. Exit 1 on tampering.
    Verify(VerifyArgs),
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

/// Arguments of `ir journal verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The journal file (default: the case's journal.jsonl).
    pub file: Option<PathBuf>,
    /// Decrypt seal.age with these to check every seal.
    #[command(flatten)]
    pub id: IdentityArgs,
    /// The seal.age to check with (default: next to the journal; give a
    /// bundle's copy when the host's may have been replaced).
    #[arg(long, value_name = "FILE")]
    pub seal: Option<PathBuf>,
    /// Check the seals with the verification key written down from
    /// `ir case init --print-verify-key` instead of seal.age.
    #[arg(long, value_name = "KEY", conflicts_with_all = ["identities", "passphrase", "passphrase_file", "seal"])]
    pub verify_key: Option<String>,
    /// The seal fingerprint written down when the case was sealed: fail
    /// when seal.age holds another seed (a case rebuilt with a new one).
    #[arg(long, value_name = "FP")]
    pub expect_seal: Option<String>,
    /// A head recorded out of band (the hex of `journal: seq N head HEX`):
    /// fail unless an entry of this chain has that digest.
    #[arg(long, value_name = "HEX")]
    pub expect_head: Option<String>,
}

fn file_or_case(ctx: &Ctx, file: &Option<PathBuf>) -> PathBuf {
    file.clone()
        .unwrap_or_else(|| ctx.global.case.join(journal::JOURNAL_FILE))
}

/// Dispatches a journal subcommand. Verify and show only read the case, so
/// they do not journal themselves.
pub fn run(ctx: &Ctx, c: &JournalCommand) -> Result<Exit> {
    match c {
        JournalCommand::Verify(a) => verify(ctx, a),
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

/// The seed to check the seals with, when a key was given.
fn load_seed(a: &VerifyArgs, journal: &Path) -> Result<Option<seal::Seed>> {
    if let Some(k) = &a.verify_key {
        return seal::parse_verify_key(k).map(Some);
    }
    if !a.id.given() {
        if a.expect_seal.is_some() {
            return Err(crate::exit::hint(
                "--expect-seal needs the seed: the fingerprint is checked on the seed seal.age holds",
                "add -i IDENTITY (or --passphrase, or --verify-key KEY)",
            ));
        }
        return Ok(None);
    }
    let ids = keys::identities(&a.id)?;
    let path = a
        .seal
        .clone()
        .unwrap_or_else(|| seal::seal_age_path(journal));
    Ok(Some(seal::read_seal_age(&path, &ids)?))
}

/// Checks the `--expect-*` values are hex, so a typo is bad input
/// (exit 2), not tampering.
fn check_hex(flag: &str, v: &Option<String>) -> Result<()> {
    match v {
        Some(h) if h.len() < 8 || !h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Err(crate::exit::hint(
                format!("{flag} {h:?} is not a hex digest prefix"),
                "give at least 8 hex digits, as ir printed them",
            ))
        }
        _ => Ok(()),
    }
}

fn verify(ctx: &Ctx, a: &VerifyArgs) -> Result<Exit> {
    let path = file_or_case(ctx, &a.file);
    check_hex("--expect-seal", &a.expect_seal)?;
    check_hex("--expect-head", &a.expect_head)?;
    let seed = load_seed(a, &path)?;
    let checks = journal::Checks {
        seed: seed.as_ref(),
        expect_head: a.expect_head.as_deref(),
    };
    let mut r = journal::verify_with(&path, &checks)?;
    if let (Some(want), Some(s)) = (&a.expect_seal, &seed) {
        let got = s.fingerprint();
        if !got.starts_with(&want.to_ascii_lowercase()) {
            r.problems.insert(0, journal::Problem {
                line: 0,
                offset: 0,
                seq: None,
                kind: "seal_mismatch",
                message: format!(
                    "seal.age holds the seed {got}, not {want}: the case was sealed again with a new seed"
                ),
            });
            r.verdict = Verdict::Tampered;
        }
    }
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
        let _ = writeln!(o, "  {}", seal_line(&r.seal));
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

/// What the seals say, in one line.
fn seal_line(s: &journal::SealReport) -> String {
    let from = s
        .first_seq
        .map_or(String::new(), |f| format!(" from entry {f}"));
    if !s.checked {
        return if s.sealed == 0 {
            "seals: none (an unsealed journal: written before sealing, or never given a recipient)"
                .into()
        } else {
            format!(
                "seals: {} entries sealed{from}, NOT checked (give -i IDENTITY to check them)",
                s.sealed
            )
        };
    }
    let fp = s.fingerprint.as_deref().unwrap_or("?");
    let mut l = format!("seals: checked with seed {fp}: {} sealed{from}", s.sealed);
    match s.first_failed {
        Some(f) => l.push_str(&format!(", FIRST FAILURE AT ENTRY {f} ({} fail)", s.failed)),
        None => l.push_str(", all valid"),
    }
    if s.unsealed_after > 0 {
        l.push_str(&format!(
            "; {} unsealed entries after the last seal",
            s.unsealed_after
        ));
    }
    l
}

fn show(ctx: &Ctx, path: &Path) -> Result<Exit> {
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
