//! Running a playbook: every step journaled (start, end, outcome), steps
//! run as `ir` child processes on the same case or as absolute-path
//! programs with a timeout, `requires` enforced, `--resume` after the last
//! step that succeeded, confirmation for steps that ask for it, and Ctrl-C
//! journaled as an interruption (exit 130).

use super::{OnFailure, Playbook, Step, substitute};
use crate::case::{Ctx, Outcome, Run};
use crate::exit::Exit;
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
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
#[derive(Debug, Clone, Serialize)]
pub struct Outcome1 {
    pub id: String,
    /// ok, findings, failed, skipped, done-before, interrupted, refused
    pub status: &'static str,
    pub exit_code: Option<i32>,
    pub seconds: f64,
    pub output: Option<PathBuf>,
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
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
            let command = if enabled {
                raw.iter()
                    .map(|a| substitute(a, vars, &s.id))
                    .collect::<Result<_>>()?
            } else {
                raw
            };
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
    let last_run = entries
        .iter()
        .rev()
        .find(|e| {
            e.str("command") == Some("run")
                && e.str("kind") == Some("start")
                && e.pointer("/details/playbook").and_then(Value::as_str) == Some(name)
        })
        .and_then(|e| e.str("run").map(str::to_owned));
    let Some(run) = last_run else {
        return Vec::new();
    };
    entries
        .iter()
        .filter(|e| e.str("run") == Some(run.as_str()) && e.str("event") == Some("step end"))
        .filter(|e| {
            matches!(
                e.pointer("/details/status").and_then(Value::as_str),
                Some("ok" | "findings" | "done-before")
            )
        })
        .filter_map(|e| {
            e.pointer("/details/id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
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
        c.args(child_globals(ctx))
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
        let r = crate::host::exec::run(prog, &args, &[], Duration::from_secs(step.timeout))?;
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
    let plan = plan(pb, &o.vars)?;
    if o.dry_run {
        return Ok((Vec::new(), Exit::Ok));
    }
    let tty = std::io::stdin().is_terminal();
    if !o.yes && !tty && plan.iter().any(|p| p.enabled && p.confirm) {
        let steps: Vec<&str> = plan
            .iter()
            .filter(|p| p.enabled && p.confirm)
            .map(|p| p.id.as_str())
            .collect();
        return Err(crate::exit::Refused(format!(
            "steps {} need confirmation and there is no TTY to ask on: nothing was run (pass --yes for unattended runs)",
            steps.join(", ")
        ))
        .into());
    }
    let journal = ctx.global.case.join(crate::journal::JOURNAL_FILE);
    let before = if o.resume {
        done_before(&journal, &pb.name)
    } else {
        Vec::new()
    };
    let vars_shown: BTreeMap<&String, &str> = o
        .vars
        .iter()
        .map(|(k, v)| {
            (
                k,
                if crate::case::redact_argv(&[format!("--{k}"), v.clone()])[1] == "<redacted>" {
                    "<redacted>"
                } else {
                    v.as_str()
                },
            )
        })
        .collect();
    let details_start = json!({"playbook": pb.name, "origin": origin, "sha256": crate::journal::sha256_hex(text.as_bytes()), "vars": vars_shown, "resume": o.resume, "done_before": before});
    let (outcomes, exit) = ctx.journaled_with("run", details_start, |run| {
        let mut outcomes: Vec<Outcome1> = Vec::new();
        let mut ok: Vec<String> = before.clone();
        let mut exit = Exit::Ok;
        for (i, (s, step)) in plan.iter().zip(&pb.steps).enumerate() {
            if crate::signal::interrupted() {
                run.event("interrupted", json!({"before_step": s.id}))?;
                return Err(crate::exit::Interrupted.into());
            }
            let t0 = Instant::now();
            let mut out = Outcome1 { id: s.id.clone(), status: "skipped", exit_code: None, seconds: 0.0, output: None };
            if before.contains(&s.id) {
                out.status = "done-before";
            } else if !s.enabled {
                out.status = "skipped";
            } else if let Some(missing) = s.requires.iter().find(|r| !ok.contains(r)) {
                out.status = "refused";
                run.event("step end", json!({"id": s.id, "status": "refused", "reason": format!("requires {missing}, which did not succeed")}))?;
                eprintln!("[refused] {}: requires {missing}, which did not succeed", s.id);
                outcomes.push(out);
                if s.on_failure == "stop" {
                    exit = Exit::Error;
                    break;
                }
                continue;
            } else if s.confirm && !o.yes && tty && !confirm(s)? {
                out.status = "refused";
                run.event("step end", json!({"id": s.id, "status": "refused", "reason": "the operator said no"}))?;
                outcomes.push(out);
                exit = Exit::Error;
                break;
            } else {
                run.event("step start", json!({"id": s.id, "command": crate::case::redact_argv(&s.command), "effects": s.effects}))?;
                let (code, output) = run_step(ctx, s, step, i + 1, run)?;
                out.exit_code = Some(code);
                out.output = output;
                out.status = match code {
                    0 => "ok",
                    1 if step.run.is_some() => "findings",
                    130 => "interrupted",
                    _ => "failed",
                };
            }
            out.seconds = t0.elapsed().as_secs_f64();
            if matches!(out.status, "ok" | "findings" | "done-before") {
                ok.push(s.id.clone());
            }
            if !matches!(out.status, "done-before" | "skipped") {
                run.event("step end", json!({"id": s.id, "status": out.status, "exit_code": out.exit_code, "seconds": out.seconds, "output": out.output}))?;
            }
            eprintln!("[{}] {} ({:.1}s)", out.status, s.id, out.seconds);
            let status = out.status;
            outcomes.push(out);
            match status {
                "interrupted" => return Err(crate::exit::Interrupted.into()),
                "failed" if s.on_failure == "stop" => {
                    exit = Exit::Error;
                    break;
                }
                "failed" => exit = exit.max(Exit::Findings),
                "findings" => exit = exit.max(Exit::Findings),
                _ => {}
            }
        }
        let details = json!({"playbook": pb.name, "steps": outcomes});
        Ok((outcomes, Outcome { exit, details }))
    })?;
    Ok((outcomes, exit))
}
