//! Command-line definitions (clap) and dispatch. Argument structs only;
//! each subcommand's work lives in `cmd/<name>.rs`.

use crate::case::{Ctx, Global};
use crate::cmd;
use crate::exit::{self, Exit};
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

const LONG_ABOUT: &str = "\
ir: incident response for hosts that run OpenClaw.

When an OpenClaw deployment is compromised (prompt injection turned into tool
misuse, a leaked gateway token, a malicious skill), ir stops the gateway,
preserves evidence, finds what the attacker changed and left behind, rotates
credentials, clears poisoned sessions and brings the service back hardened.

Every command that reads or changes the host appends hash-chained entries to
the case journal (<case>/journal.jsonl); `ir journal verify` proves it was not
edited, truncated or reordered.

The deployment is found as OpenClaw finds it: --home, else OPENCLAW_STATE_DIR,
else --profile/OPENCLAW_PROFILE (~/.openclaw-NAME), else ~/.openclaw, else the
legacy ~/.clawdbot; ~ is OPENCLAW_HOME, else HOME. The config is --config,
else OPENCLAW_CONFIG_PATH, else openclaw.json (or legacy clawdbot.json) in the
state dir. Host paths are read under --root, so a mounted disk image can be
examined offline.

Exit codes: 0 success; 1 findings (tampering, persistence, hits...);
2 error (bad input, refusal, failure); 130 interrupted.";

/// The `ir` command line.
#[derive(Debug, Parser)]
#[command(name = "ir", version = env!("IR_VERSION_LONG"), about = "Incident response for hosts that run OpenClaw", long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts, listed under their own heading in
/// every `--help`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The OpenClaw state dir (default: as OpenClaw resolves it).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The OpenClaw config file (default: openclaw.json in the state dir).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The OpenClaw profile (state dir ~/.openclaw-NAME).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Where the host's filesystem is: / for live response, or a mounted image.
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The case dir holding the journal and the evidence [default: ./ir-case].
    #[arg(long, global = true, value_name = "DIR", env = "IR_CASE")]
    pub case: Option<PathBuf>,
    /// Print exactly one JSON document on stdout instead of text (errors
    /// too: {"error","fix","exit_code"}); messages stay on stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// Colour severities on stdout: auto (only on a terminal, and not when
    /// NO_COLOR is set), always or never.
    #[arg(
        long,
        global = true,
        value_name = "WHEN",
        value_enum,
        default_value = "auto"
    )]
    pub color: crate::output::ColorChoice,
    /// Print less: no warnings, no progress, no journal head line.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more (repeat for more still).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Answer yes to confirmations (for unattended runbooks).
    #[arg(long, global = true)]
    pub yes: bool,
    /// The target host's name for bundle names, the manifest and the
    /// journal (default: /etc/hostname under --root; the kernel's on /).
    #[arg(long, global = true, value_name = "NAME", env = "IR_HOSTNAME")]
    pub hostname: Option<String>,
    /// Chain of custody: who examines (set once per case).
    #[arg(long, global = true, value_name = "NAME", env = "IR_EXAMINER")]
    pub examiner: Option<String>,
    /// Chain of custody: the case number (set once per case).
    #[arg(long, global = true, value_name = "ID", env = "IR_CASE_NUMBER")]
    pub case_number: Option<String>,
    /// Chain of custody: the evidence number (set once per case).
    #[arg(long, global = true, value_name = "ID", env = "IR_EVIDENCE_NUMBER")]
    pub evidence_number: Option<String>,
    /// Chain of custody: what the case is about (set once per case).
    #[arg(long, global = true, value_name = "TEXT", env = "IR_DESCRIPTION")]
    pub description: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find the OpenClaw deployment: paths, layout and version, agents,
    /// logs, gateway settings, the running gateway and its supervisor.
    Inventory(cmd::inventory::InventoryArgs),
    /// Preserve the evidence: volatile state, then OpenClaw's state, logs,
    /// workspaces and the host's persistence files, in one hashed,
    /// age-encrypted bundle in the case dir.
    Collect(cmd::collect::CollectArgs),
    /// Check a bundle: its hash against the sidecar and the journal; with a
    /// key, every file against both manifests.
    Verify(cmd::verify::VerifyArgs),
    /// Extract a bundle safely into a new directory, checking every hash.
    Extract(cmd::extract::ExtractArgs),
    /// Files, directories and links whose mtime, ctime or birth time falls
    /// in a window, newest first (table, JSON or TSK bodyfile).
    Timeline(cmd::timeline::TimelineArgs),
    /// Every persistence mechanism on the host and in OpenClaw, flagged;
    /// exit 1 when anything is flagged.
    Persistence(cmd::persistence::PersistenceArgs),
    /// Session transcripts and logs scanned for injection and tool misuse;
    /// exit 1 on any hit.
    Hunt(cmd::hunt::HuntArgs),
    /// Stop the gateway however it runs: journal its volatile state, stop
    /// and disable its supervisor, SIGTERM then SIGKILL the verified pid,
    /// then prove nothing runs, listens or holds a lock.
    Stop(cmd::stop::StopArgs),
    /// Rotate the gateway, hooks and remote secrets, revoke paired devices
    /// and DM approvals, list provider keys to revoke; prove the old token
    /// is rejected. Refuses until the evidence is in a verified bundle.
    Rotate(cmd::rotate::RotateArgs),
    /// Remove the sessions (transcripts and session rows), only once they
    /// sit in a verified bundle and the gateway is stopped.
    ClearSessions(cmd::clear_sessions::ClearArgs),
    /// Put back a known-good version of a poisoned prompt file (SOUL.md,
    /// AGENTS.md…): shows what changes, writes it atomically, only once the
    /// poisoned one sits in a verified bundle.
    Restore(cmd::restore::RestoreArgs),
    /// Eradicate: move flagged persistence items and poisoned files into
    /// <case>/quarantine/<id>/ (shared files keep all but their offending
    /// lines), once preserved in a verified bundle; --undo ID puts one back.
    Quarantine(cmd::quarantine::QuarantineArgs),
    /// Back to service: safe fixes, --start the gateway (supervisor, or as it
    /// ran before), prove it healthy and listening as configured, write
    /// post-incident-audit.json and what is left to do.
    Recover(cmd::recover::RecoverArgs),
    /// Offline hardening audit of the state dir and config (OpenClaw's check
    /// ids where they match); --fix applies the safe fixes.
    Audit(cmd::audit::AuditArgs),
    /// Record the volatile state (processes, sockets, gateway environment)
    /// into the case dir, before anything changes.
    Snapshot,
    /// Run a playbook: a shipped one by name, or a TOML file.
    Run(cmd::run::RunArgs),
    /// List the shipped playbooks.
    Playbooks,
    /// Write report.md and report.json into the case dir, from the journal.
    Report,
    /// A whole incident on a sample compromised host in a temp dir: the
    /// respond playbook end to end. The real host is never touched.
    Demo(cmd::demo::DemoArgs),
    /// Open a case: seal its journal to the responder's keys.
    #[command(subcommand)]
    Case(cmd::case::CaseCommand),
    /// Work with the case journal: verify its chain, show it, add a note.
    #[command(subcommand)]
    Journal(cmd::journal::JournalCommand),
    /// Print shell completions.
    Completions(cmd::completions::CompletionsArgs),
    /// Print a man page (roff), or write them all with --dir.
    Man(cmd::completions::ManArgs),
}

/// How errors must be reported on stdout: not at all (text mode), as one
/// JSON document (`--json`), or as one JSON line (`--jsonl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonMode {
    Text,
    Document,
    Lines,
}

impl JsonMode {
    /// From the raw arguments, for errors clap reports before anything is
    /// parsed (a flag name is never a value ir takes, so a plain scan is
    /// safe enough here).
    fn from_raw(args: &[OsString]) -> JsonMode {
        let has = |f: &str| args.iter().skip(1).any(|a| a == f);
        if has("--jsonl") {
            JsonMode::Lines
        } else if has("--json") {
            JsonMode::Document
        } else {
            JsonMode::Text
        }
    }

    fn of(cli: &Cli) -> JsonMode {
        let lines = match &cli.command {
            Command::Timeline(a) => a.jsonl,
            Command::Hunt(a) => a.jsonl,
            _ => false,
        };
        if lines {
            JsonMode::Lines
        } else if cli.global.json {
            JsonMode::Document
        } else {
            JsonMode::Text
        }
    }
}

/// Prints an error: on stderr always, and as the JSON error document on
/// stdout under `--json`/`--jsonl`.
fn report_error(mode: JsonMode, message: &str, fix: Option<&str>, code: Exit) {
    if code == Exit::Interrupted {
        eprintln!("ir: interrupted");
    } else {
        eprintln!("ir: error: {message}");
        if let Some(fix) = fix {
            eprintln!("  fix: {fix}");
        }
    }
    if mode != JsonMode::Text {
        let doc = crate::output::ErrorDoc {
            error: message,
            fix,
            exit_code: code.code(),
        };
        crate::output::print_error_doc(&doc, mode == JsonMode::Lines);
    }
}

/// Parses argv with clap; `Err(code)` when it printed help, the version or
/// a usage error.
fn parse(args: &[OsString]) -> Result<Cli, i32> {
    let parsed = command()
        .try_get_matches_from(args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    match parsed {
        Ok(c) => Ok(c),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Err(0)
        }
        Err(e) => {
            let mode = JsonMode::from_raw(args);
            if mode == JsonMode::Text {
                let _ = e.print();
            } else {
                // clap's first line on stderr, the document on stdout.
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("bad arguments");
                let first = first.trim_start_matches("error: ");
                report_error(mode, first, Some("see ir --help"), Exit::Error);
            }
            Err(Exit::Error.code())
        }
    }
}

/// The global options as the library takes them. `--root` and `--case`
/// are made absolute here, once, so a relative `--root img` and a
/// `--home img/home/a/.openclaw` compare as paths under one another.
fn global(g: GlobalArgs) -> Global {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let abs = |p: PathBuf| if p.is_absolute() { p } else { cwd.join(p) };
    Global {
        home: g.home,
        config: g.config,
        profile: g.profile,
        root: abs(g.root),
        case_given: g.case.is_some(),
        case: g.case.unwrap_or_else(|| PathBuf::from("ir-case")),
        json: g.json,
        quiet: g.quiet,
        verbose: g.verbose,
        yes: g.yes,
        hostname: g.hostname,
        custody: crate::record::Custody {
            examiner: g.examiner,
            case_number: g.case_number,
            evidence_number: g.evidence_number,
            description: g.description,
        },
    }
}

/// Parses argv, runs the command, and returns the process exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    let cli = match parse(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mode = JsonMode::of(&cli);
    crate::output::set_color(cli.global.color, mode != JsonMode::Text);
    let raw: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let ctx = Ctx::new(global(cli.global), &raw);
    // Once for every command: Ctrl-C and SIGTERM only set a flag, so each
    // command stops at a safe point, journals an `interrupted` end and
    // exits 130 instead of dying between its start and end entries.
    crate::signal::install();
    let ends_with_head = !matches!(
        cli.command,
        Command::Completions(_) | Command::Man(_) | Command::Playbooks
    );
    let result = dispatch(&ctx, cli.command);
    // The out-of-band head: one line on stderr (so --json stays one
    // document on stdout) that the operator copies off the host; -q asks
    // for silence, and the head is in the journal anyway.
    if let Some(line) = (ends_with_head && !ctx.global.quiet)
        .then(|| crate::journal::head_line(&ctx.global.case))
        .flatten()
    {
        eprintln!("{line}");
    }
    match result {
        Ok(exit) => exit.code(),
        Err(e) => {
            let (_, code) = exit::classify(&e);
            report_error(mode, &format!("{e:#}"), exit::fix_of(&e), code);
            code.code()
        }
    }
}

/// Runs one subcommand.
fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<Exit> {
    let json = ctx.global.json;
    match command {
        Command::Inventory(a) => cmd::inventory::run(ctx, &a),
        Command::Journal(c) => cmd::journal::run(ctx, &c),
        Command::Case(c) => cmd::case::run(ctx, &c),
        Command::Collect(a) => cmd::collect::run(ctx, &a),
        Command::Stop(a) => cmd::stop::run(ctx, &a),
        Command::Audit(a) => cmd::audit::run(ctx, &a),
        Command::Rotate(a) => cmd::rotate::run(ctx, &a),
        Command::Recover(a) => cmd::recover::run(ctx, &a),
        Command::Snapshot => cmd::snapshot::run(ctx),
        Command::Run(a) => cmd::run::run(ctx, &a),
        Command::Playbooks => cmd::run::list(ctx),
        Command::Report => cmd::report::run(ctx),
        Command::Demo(a) => cmd::demo::run(ctx, &a),
        Command::ClearSessions(a) => cmd::clear_sessions::run(ctx, &a),
        Command::Restore(a) => cmd::restore::run(ctx, &a),
        Command::Quarantine(a) => cmd::quarantine::run(ctx, &a),
        Command::Timeline(a) => cmd::timeline::run(ctx, &a),
        Command::Persistence(a) => cmd::persistence::run(ctx, &a),
        Command::Hunt(a) => cmd::hunt::run(ctx, &a),
        Command::Verify(a) => cmd::verify::run(ctx, &a),
        Command::Extract(a) => cmd::extract::run(ctx, &a),
        Command::Completions(a) => cmd::completions::run(&a, json),
        Command::Man(a) => cmd::completions::man(&a, json),
    }
}

/// The clap command, for completions and the man page.
/// Each subcommand gets its examples (`--help` shows them; the man pages
/// render them as EXAMPLES).
pub fn command() -> clap::Command {
    crate::help::with_examples(Cli::command())
}
