//! `ir timeline`: what changed in a window, newest first.

use crate::case::{Ctx, Outcome};
use crate::exit::Exit;
use crate::record::TimelineRecord;
use crate::triage::{timeline, window::Window};
use anyhow::Result;
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `ir timeline`.
#[derive(Debug, clap::Args)]
pub struct TimelineArgs {
    /// Start of the window: a duration before now (24h, 7d), a date, or RFC 3339.
    #[arg(long, value_name = "WHEN", default_value = "24h")]
    pub since: String,
    /// End of the window (default: now).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// table, json or bodyfile (The Sleuth Kit 3.x, for mactime/plaso/Timesketch).
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = ["table", "json", "bodyfile"])]
    pub format: String,
    /// Walking threads (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Host paths to walk instead of the default scope (the OpenClaw state
    /// dir, workspaces, logs and persistence locations).
    pub paths: Vec<PathBuf>,
}

/// Checks that `--root` exists.
pub fn check_root(ctx: &Ctx) -> Result<()> {
    if !ctx.global.root.is_dir() {
        return Err(crate::exit::hint(
            format!("--root {} is not a directory", ctx.global.root.display()),
            "give / for the live host, or the mount point of the image",
        ));
    }
    Ok(())
}

/// Runs the timeline.
pub fn run(ctx: &Ctx, a: &TimelineArgs) -> Result<Exit> {
    let (report, exit) = ctx.journaled("timeline", |_| {
        check_root(ctx)?;
        let w = Window::parse(Some(&a.since), a.until.as_deref(), chrono::Utc::now())?;
        let root = ctx.root();
        let roots: Vec<PathBuf> = if a.paths.is_empty() {
            let dep = crate::openclaw::discover(&ctx.target())?;
            crate::evidence::scope::roots(&dep, &root, &[])
                .into_iter()
                .map(|s| s.local)
                .collect()
        } else {
            let cwd = std::env::current_dir()?;
            a.paths
                .iter()
                .map(|p| {
                    root.join(if p.is_absolute() {
                        p.clone()
                    } else {
                        cwd.join(p)
                    })
                })
                .collect()
        };
        let threads = a
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let r = timeline::run(&roots, &root, &w, threads)?;
        let flagged = r.entries.iter().filter(|e| !e.flags.is_empty()).count();
        let details = serde_json::to_value(TimelineRecord {
            since: r.since.clone(),
            until: r.until.clone(),
            roots: r.roots.len(),
            scanned: r.scanned,
            changed: r.entries.len(),
            flagged,
            unreadable: r.unreadable.len(),
            flagged_entries: r
                .entries
                .iter()
                .filter(|e| !e.flags.is_empty())
                .take(50)
                .map(|e| e.record())
                .collect(),
            newest: r.entries.iter().take(20).map(|e| e.record()).collect(),
        })?;
        // A window with unreadable dirs is incomplete: never a clean 0.
        let exit = if r.unreadable.is_empty() {
            Exit::Ok
        } else {
            Exit::Findings
        };
        Ok((r, Outcome { exit, details }))
    })?;
    match (ctx.global.json, a.format.as_str()) {
        (true, _) | (_, "json") => crate::output::print_json(&report),
        (_, "bodyfile") => {
            let mut o = String::with_capacity(report.entries.len() * 96);
            for e in &report.entries {
                timeline::bodyfile_line(&mut o, e);
            }
            crate::output::print(&o);
        }
        _ => crate::output::print(&render(&report)),
    }
    for u in &report.unreadable {
        crate::output::warn(ctx.global.quiet, &format!("not readable: {u}"));
    }
    Ok(exit)
}

fn render(r: &timeline::Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} changed of {} scanned, {} to {}",
        r.entries.len(),
        r.scanned,
        r.since,
        r.until
    );
    let _ = writeln!(
        o,
        "{:<30}  {:<5}  {:<10}  {:>10}  {:>5}  PATH",
        "NEWEST (UTC)", "MATCH", "MODE", "SIZE", "UID"
    );
    for e in &r.entries {
        let newest = [e.time(0), e.time(2), e.time(3)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "{:<30}  {:<5}  {:<10}  {:>10}  {:>5}  {}{}",
            newest,
            e.matched.join(""),
            e.mode_string(),
            e.size,
            e.uid,
            e.path(),
            if e.flags.is_empty() {
                String::new()
            } else {
                format!("  [{}]", e.flags.join(", "))
            }
        );
    }
    o
}
