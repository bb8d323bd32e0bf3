//! Running a playbook: every step journaled (start, end, outcome), steps
//! run as `ir` child processes on the same case or as absolute-path
//! programs with a timeout, `requires` enforced, `--resume` after the last
//! step that succeeded, confirmation for steps that ask for it, and Ctrl-C
//! journaled as an interruption (exit 130).

use super::{OnFailure, Playbook, Step, substitute};
use crate::case::{Ctx, Outcome, Run};
use crate::exit::Exit;
use crate::record::{Record, RunRecord, RunStart, StepEnd, StepStart, StepStatus};
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub dry_run: bool,
    pub resume: bool,
    pub yes: bool,
    pub vars: BTreeMap<String, String>,
}

/// One step as planned.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub id: String,
    pub command: Vec<String>,
    pub effects: Vec<String>,
    pub confirm: bool,
    pub requires: Vec<String>,
    pub on_failure: &'static str,
    /// False when its `when` variable is not set to true.
    pub enabled: bool,
}

/// How a step ended.
pub use crate::record::StepEnd as Outcome1;

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// The environment variable that counts nested `ir run`s.
const DEPTH_VAR: &str = "IR_RUN_DEPTH";
/// How deep playbooks may run playbooks (a playbook that runs itself
/// would otherwise recurse without end).
const MAX_DEPTH: u32 = 4;

/// How many `ir run`s this process runs inside.
fn depth() -> u32 {
    std::env::var(DEPTH_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Refuses to start a playbook nested deeper than [`MAX_DEPTH`].
pub fn check_depth() -> Result<()> {
    if depth() >= MAX_DEPTH {
        return Err(crate::exit::hint(
            format!(
                "playbooks nested {} deep: a playbook that runs itself?",
                depth()
            ),
            "remove the `ir run` step that runs this playbook again",
        ));
    }
    Ok(())
}

/// An `exec` program must be an absolute path without `..`.
fn check_program(p: &str, step: &str) -> Result<()> {
    let path = std::path::Path::new(p);
    if !path.is_absolute()
        || path
            .components()
            .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(crate::exit::hint(
            format!(
                "step {step}: exec program {:?} is not an absolute path without `..` once its variables are substituted",
                crate::sanitize::escape(p)
            ),
            "--set an absolute path to the program",
        ));
    }
    Ok(())
}

/// Plans every step: variables substituted, `when` evaluated.
pub fn plan(pb: &Playbook, vars: &BTreeMap<String, String>) -> Result<Vec<Planned>> {
    pb.steps
        .iter()
        .map(|s| {
            let enabled = s.when.as_ref().is_none_or(|w| truthy(vars.get(w)));
            let raw: Vec<String> = match (&s.run, &s.exec) {
                (Some(r), _) => r.clone(),
                (None, Some(e)) => std::iter::once(e.get_ref().clone())
                    .chain(s.args.iter().cloned())
                    .collect(),
                _ => Vec::new(),
            };
            let command: Vec<String> = if enabled {
                raw.iter()
                    .map(|a| substitute(a, vars, &s.id))
                    .collect::<Result<_>>()?
            } else {
                raw
            };
            // The program is checked as it will run, after substitution: a
            // `--set tool=../../tmp/evil.sh` must not pass as absolute.
            if s.exec.is_some() && enabled {
                check_program(&command[0], &s.id)?;
            }
            Ok(Planned {
                id: s.id.clone(),
                command,
                effects: s.effects.iter().map(|e| e.get_ref().clone()).collect(),
                confirm: s.confirm,
                requires: s.requires.clone(),
                on_failure: if s.on_failure == OnFailure::Continue {
                    "continue"
                } else {
                    "stop"
                },
                enabled,
            })
        })
        .collect()
}

/// Steps of this playbook that succeeded in its most recent run in the case.
fn done_before(journal: &std::path::Path, name: &str) -> Vec<String> {
    let Ok(entries) = crate::journal::read_entries(journal) else {
        return Vec::new();
    };
    let last_run = entries.iter().rev().find_map(|e| match e.body()? {
        Record::Start(s) if s.command == "run" => {
            let d: RunStart = serde_json::from_value(s.details.clone()?).ok()?;
            (d.playbook == name).then(|| s.run.clone())
        }
        _ => None,
    });
    let Some(run) = last_run else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| e.event())
        .filter(|ev| ev.run == run && ev.event == "step end")
        .filter_map(|ev| serde_json::from_value::<StepEnd>(ev.details.clone()).ok())
        .filter(|s| s.status.succeeded())
        .map(|s| s.id)
        .collect()
}

/// The global options a child `ir` inherits.
fn child_globals(ctx: &Ctx) -> Vec<String> {
    let g = &ctx.global;
    let mut v = Vec::new();
    for (flag, val) in [("--home", &g.home), ("--config", &g.config)] {
        if let Some(p) = val {
            v.push(flag.to_string());
            v.push(p.display().to_string());
        }
    }
    if let Some(p) = &g.profile {
        v.push("--profile".into());
        v.push(p.clone());
    }
    v.extend([
        "--root".into(),
        g.root.display().to_string(),
        "--case".into(),
        g.case.display().to_string(),
    ]);
    v
}

fn confirm(step: &Planned) -> Result<bool> {
    eprint!(
        "ir: run step {} ({}; effects: {})? [y/N] ",
        step.id,
        step.command.join(" "),
        step.effects.join(", ")
    );
    std::io::stderr().flush()?;
    // Ctrl-C must still abort the prompt: see signal::interruptible.
    let line = crate::signal::interruptible(|| {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })??;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

fn run_step(
    ctx: &Ctx,
    s: &Planned,
    step: &Step,
    n: usize,
    run: &Run,
) -> Result<(i32, Option<PathBuf>)> {
    if step.run.is_some() {
        let dir = ctx.global.case.join("steps");
        crate::safefs::ensure_private_dir(&dir)?;
        let out = dir.join(format!("{n:02}-{}.out", s.id.replace(['/', '\\'], "_")));
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&out)?;
        let exe = PathBuf::from("/proc/self/exe");
        let exe = if exe.exists() {
            exe
        } else {
            std::env::current_exe()?
        };
        let mut c = std::process::Command::new(exe);
        c.env(DEPTH_VAR, (depth() + 1).to_string())
            .args(child_globals(ctx))
            .args(&s.command)
            .stdin(std::process::Stdio::null())
            .stdout(f.try_clone()?)
            .stderr(f);
        let status = c
            .status()
            .with_context(|| format!("starting step {}", s.id))?;
        let code = status.code().unwrap_or(130);
        Ok((code, Some(out)))
    } else {
        let prog = &s.command[0];
        let args: Vec<&str> = s.command[1..].iter().map(String::as_str).collect();
        // The depth goes along, so a program that runs `ir run` again is
        // bounded too.
        let d = (depth() + 1).to_string();
        let env = [(DEPTH_VAR, d.as_str())];
        let r = crate::host::exec::run(prog, &args, &env, Duration::from_secs(step.timeout))?;
        run.event("exec", serde_json::to_value(&r)?)?;
        Ok((
            if crate::signal::interrupted() {
                130
            } else if r.timed_out {
                124
            } else {
                r.status.unwrap_or(2)
            },
            None,
        ))
    }
}

/// Runs a playbook (or prints its plan with `dry_run`).
pub fn execute(
    ctx: &Ctx,
    pb: &Playbook,
    text: &str,
    origin: &str,
    o: &Options,
) -> Result<(Vec<Outcome1>, Exit)> {
    check_depth()?;
    let plan = plan(pb, &o.vars)?;
    if o.dry_run {
        return Ok((Vec::new(), Exit::Ok));
    }
    let tty = std::io::stdin().is_terminal();
    refuse_unanswerable(&plan, o.yes, tty)?;
    let before = if o.resume {
        done_before(
            &ctx.global.case.join(crate::journal::JOURNAL_FILE),
            &pb.name,
        )
    } else {
        Vec::new()
    };
    let details_start = serde_json::to_value(start_record(pb, text, origin, o, &before))?;
    let (outcomes, exit) = ctx.journaled_with("run", details_start, |run| {
        let (outcomes, exit) = run_steps(ctx, run, pb, &plan, &before, o.yes, tty)?;
        let details = serde_json::to_value(RunRecord {
            playbook: pb.name.clone(),
            steps: outcomes.clone(),
        })?;
        Ok((outcomes, Outcome { exit, details }))
    })?;
    Ok((outcomes, exit))
}

/// Refuses, before anything is run or journaled, a run whose enabled steps
/// ask for confirmation when there is no TTY to ask on and no `--yes`:
/// better nothing than half a playbook.
fn refuse_unanswerable(plan: &[Planned], yes: bool, tty: bool) -> Result<()> {
    let steps: Vec<&str> = plan
        .iter()
        .filter(|p| p.enabled && p.confirm)
        .map(|p| p.id.as_str())
        .collect();
    if yes || tty || steps.is_empty() {
        return Ok(());
    }
    Err(crate::exit::Refused(format!(
        "steps {} need confirmation and there is no TTY to ask on: nothing was run (pass --yes for unattended runs)",
        steps.join(", ")
    ))
    .into())
}

/// The `details` of the run's start entry: which playbook, the variables
/// (secret values redacted, as on the command line) and what a resume skips.
fn start_record(
    pb: &Playbook,
    text: &str,
    origin: &str,
    o: &Options,
    before: &[String],
) -> RunStart {
    let vars = o
        .vars
        .iter()
        .map(|(k, v)| {
            let redacted =
                crate::case::redact_argv(&[format!("--{k}"), v.clone()])[1] == "<redacted>";
            let shown = if redacted { "<redacted>" } else { v.as_str() };
            (k.clone(), shown.to_string())
        })
        .collect();
    RunStart {
        playbook: pb.name.clone(),
        origin: origin.to_string(),
        sha256: crate::journal::sha256_hex(text.as_bytes()),
        vars,
        resume: o.resume,
        done_before: before.to_vec(),
    }
}

/// Runs the planned steps in order, each journaled by `one_step`, and
/// returns how each ended and the run's exit. Ctrl-C between steps is
/// journaled and ends the run as interrupted.
fn run_steps(
    ctx: &Ctx,
    run: &Run,
    pb: &Playbook,
    plan: &[Planned],
    before: &[String],
    yes: bool,
    tty: bool,
) -> Result<(Vec<StepEnd>, Exit)> {
    let mut outcomes: Vec<StepEnd> = Vec::new();
    let mut ok: Vec<String> = before.to_vec();
    let mut exit = Exit::Ok;
    for (i, (s, step)) in plan.iter().zip(&pb.steps).enumerate() {
        if crate::signal::interrupted() {
            run.event("interrupted", json!({"before_step": s.id}))?;
            return Err(crate::exit::Interrupted.into());
        }
        let out = one_step(ctx, run, (s, step, i + 1), before, &ok, yes, tty)?;
        if out.status != StepStatus::Refused {
            eprintln!("[{}] {} ({:.1}s)", out.status, s.id, out.seconds);
        }
        if out.status.succeeded() {
            ok.push(s.id.clone());
        }
        let next = exit_after(s, &out, exit)?;
        outcomes.push(out);
        match next {
            ControlFlow::Continue(e) => exit = e,
            ControlFlow::Break(e) => return Ok((outcomes, e)),
        }
    }
    Ok((outcomes, exit))
}

/// What a step's end means for the run, given its exit so far: go on
/// (with findings or a tolerated failure noted), stop with an error, or an
/// `Interrupted` error after Ctrl-C killed the step.
fn exit_after(s: &Planned, out: &StepEnd, exit: Exit) -> Result<ControlFlow<Exit, Exit>> {
    Ok(match out.status {
        StepStatus::Interrupted => return Err(crate::exit::Interrupted.into()),
        // The operator's no ends the run whatever the step says.
        StepStatus::Refused if s.on_failure == "stop" || out_said_no(out) => {
            ControlFlow::Break(Exit::Error)
        }
        StepStatus::Refused => ControlFlow::Continue(exit),
        StepStatus::Failed if s.on_failure == "stop" => ControlFlow::Break(Exit::Error),
        StepStatus::Failed | StepStatus::Findings => {
            ControlFlow::Continue(exit.max(Exit::Findings))
        }
        _ => ControlFlow::Continue(exit),
    })
}

const OPERATOR_SAID_NO: &str = "the operator said no";

fn out_said_no(o: &StepEnd) -> bool {
    o.reason.as_deref() == Some(OPERATOR_SAID_NO)
}

/// Runs (or skips, or refuses) one planned step and journals how it ended.
fn one_step(
    ctx: &Ctx,
    run: &Run,
    (s, step, n): (&Planned, &Step, usize),
    before: &[String],
    ok: &[String],
    yes: bool,
    tty: bool,
) -> Result<StepEnd> {
    let t0 = Instant::now();
    let mut out = StepEnd {
        id: s.id.clone(),
        status: StepStatus::Skipped,
        reason: None,
        exit_code: None,
        seconds: 0.0,
        output: None,
    };
    if before.contains(&s.id) {
        out.status = StepStatus::DoneBefore;
        return Ok(out);
    }
    if !s.enabled {
        return Ok(out);
    }
    let refusal = if let Some(missing) = s.requires.iter().find(|r| !ok.contains(r)) {
        Some(format!("requires {missing}, which did not succeed"))
    } else if s.confirm && !yes && tty && !confirm(s)? {
        Some(OPERATOR_SAID_NO.to_string())
    } else {
        None
    };
    if let Some(reason) = refusal {
        eprintln!("[refused] {}: {reason}", s.id);
        out.status = StepStatus::Refused;
        out.reason = Some(reason);
        run.event("step end", serde_json::to_value(&out)?)?;
        return Ok(out);
    }
    let start = StepStart {
        id: s.id.clone(),
        command: crate::case::redact_argv(&s.command),
        effects: s.effects.clone(),
    };
    run.event("step start", serde_json::to_value(&start)?)?;
    let (code, output) = run_step(ctx, s, step, n, run)?;
    out.exit_code = Some(code);
    out.output = output;
    out.status = match code {
        0 => StepStatus::Ok,
        1 if step.run.is_some() => StepStatus::Findings,
        130 => StepStatus::Interrupted,
        _ => StepStatus::Failed,
    };
    out.seconds = t0.elapsed().as_secs_f64();
    run.event("step end", serde_json::to_value(&out)?)?;
    Ok(out)
}
