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
    /// One JSON object per line on stdout instead: each changed path
    /// (`"record":"entry"`) as the walk finds it (unsorted), each
    /// unreadable path, then a summary.
    #[arg(long, conflicts_with = "format")]
    pub jsonl: bool,
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

/// The local paths to walk: the PATHs given (each must exist, else exit 2
/// naming it), or the default scope; a root inside another on the same
/// filesystem is left out, since the outer walk already lists it.
fn scope(ctx: &Ctx, a: &TimelineArgs) -> Result<Vec<PathBuf>> {
    let root = ctx.root();
    let roots: Vec<PathBuf> = if a.paths.is_empty() {
        let dep = ctx.discover()?;
        crate::evidence::scope::roots(&dep, &root, &[])
            .into_iter()
            .map(|s| s.local)
            .collect()
    } else {
        let cwd = std::env::current_dir()?;
        let mut v = Vec::new();
        for p in &a.paths {
            let local = root.join(if p.is_absolute() {
                p.clone()
            } else {
                cwd.join(p)
            });
            if crate::safefs::lstat(&local).ok().flatten().is_none() {
                let shown = crate::sanitize::escape_path(p);
                let fix = if root.is_live() {
                    "give an existing path".to_string()
                } else {
                    format!(
                        "PATHs are host paths, read under --root {}",
                        crate::sanitize::escape_path(root.dir())
                    )
                };
                return Err(crate::exit::hint(
                    format!(
                        "timeline: {shown} does not exist (looked for {})",
                        crate::sanitize::escape_path(&local)
                    ),
                    fix,
                ));
            }
            v.push(local);
        }
        v
    };
    Ok(outermost(roots))
}

/// Drops duplicate roots and roots nested in another one on the same
/// filesystem (the walk stays on one filesystem, so a mount below a root
/// is kept as its own root).
fn outermost(roots: Vec<PathBuf>) -> Vec<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let dev = |p: &std::path::Path| crate::safefs::lstat(p).ok().flatten().map(|m| m.dev());
    let mut out: Vec<PathBuf> = Vec::new();
    for (i, r) in roots.iter().enumerate() {
        let covered = roots.iter().enumerate().any(|(j, o)| {
            let nested = r.starts_with(o) && (r != o || j < i);
            nested && (r == o || (dev(o).is_some() && dev(o) == dev(r)))
        });
        if !covered {
            out.push(r.clone());
        }
    }
    out
}

/// The case artifact the report's timeline reads: every changed path
/// (the journal keeps only the flagged and newest), one event each; not
/// directories, which change with every file in them.
fn write_events(
    case: &std::path::Path,
    r: &timeline::Report,
) -> Result<crate::record::ArtifactRef> {
    let mut w = crate::artifact::EventWriter::create(case, TIMELINE_EVENTS)?;
    for e in r
        .entries
        .iter()
        .filter(|e| e.kind != crate::record::FileKind::Dir)
    {
        let c = e.record();
        let mut what = format!("{} changed ({} bytes, {})", c.kind, c.size, c.mode);
        if !c.flags.is_empty() {
            what.push_str(&format!(" {}", c.flags.join(", ")));
        }
        w.push(&crate::record::CaseEvent {
            time: c.ctime.or(c.mtime),
            lane: crate::record::EventLane::File,
            what: crate::report::model::bound(&what),
            location: crate::report::model::bound(&c.path),
        })?;
    }
    w.finish()
}

/// The file name of `ir timeline`'s event artifact in the case dir.
pub const TIMELINE_EVENTS: &str = "timeline.jsonl";

/// Runs the timeline.
pub fn run(ctx: &Ctx, a: &TimelineArgs) -> Result<Exit> {
    if ctx.global.json && a.format == "bodyfile" {
        return Err(crate::exit::hint(
            "--json and --format bodyfile ask for two different outputs",
            "drop --json for a bodyfile, or --format for JSON",
        ));
    }
    let (report, exit) = ctx.journaled("timeline", |_| {
        check_root(ctx)?;
        let w = Window::parse(Some(&a.since), a.until.as_deref(), chrono::Utc::now())?;
        let roots = scope(ctx, a)?;
        let threads = a
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let streamed = std::sync::Mutex::new(std::collections::HashSet::new());
        let stream = |e: &timeline::Entry| {
            // Overlapping roots may meet a path twice: one line each.
            if a.jsonl && streamed.lock().expect("streamed").insert(e.raw.clone()) {
                crate::output::print_jsonl(&crate::output::tagged("entry", e));
            }
        };
        let mut r = timeline::run(&roots, &ctx.root(), &w, threads, &stream)?;
        // Overlapping roots: each path once. Equal paths
        // have equal times, so they sit next to each other in the order.
        r.entries.dedup_by(|a, b| a.raw == b.raw);
        let flagged = r.entries.iter().filter(|e| !e.flags.is_empty()).count();
        let events = write_events(&ctx.global.case, &r)?;
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
            events: Some(events),
        })?;
        // A window with unreadable dirs is incomplete: never a clean 0.
        let exit = if r.unreadable.is_empty() {
            Exit::Ok
        } else {
            Exit::Findings
        };
        Ok((r, Outcome { exit, details }))
    })?;
    match (a.jsonl, ctx.global.json, a.format.as_str()) {
        (true, _, _) => print_lines(&report),
        (_, true, _) | (_, _, "json") => crate::output::print_json(&report),
        (_, _, "bodyfile") => {
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

/// `--jsonl`, after the walk streamed one line per changed path as it
/// found it (walk order, not sorted: sort on `newest`): a line per
/// unreadable path, then the summary.
fn print_lines(r: &timeline::Report) {
    for u in &r.unreadable {
        crate::output::print_jsonl(&serde_json::json!({"record": "unreadable", "path": u}));
    }
    crate::output::print_jsonl(&serde_json::json!({
        "record": "summary", "since": r.since, "until": r.until, "roots": r.roots,
        "scanned": r.scanned, "changed": r.entries.len(), "unreadable": r.unreadable.len(),
    }));
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
