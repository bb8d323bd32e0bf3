//! `ir quarantine`: move flagged persistence and poisoned files into the
//! case, or put one back with `--undo`.

use crate::case::{Ctx, Outcome};
use crate::contain::quarantine::{self, Request};
use crate::exit::Exit;
use crate::record::QuarantineRunRecord;
use anyhow::Result;
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `ir quarantine`.
#[derive(Debug, clap::Args)]
pub struct QuarantineArgs {
    /// Host paths (read under --root) of the files to quarantine.
    #[arg(value_name = "ITEM", required_unless_present_any = ["all_flagged", "undo"])]
    pub items: Vec<PathBuf>,
    /// Every persistence item whose content is flagged (download_exec,
    /// reverse_shell, base64, runs_from_tmp, ioc).
    #[arg(long, conflicts_with = "undo")]
    pub all_flagged: bool,
    /// Move named shared files (a .bashrc, a crontab...) out whole instead
    /// of removing their offending lines.
    #[arg(long, conflicts_with = "undo")]
    pub whole_file: bool,
    /// Put back quarantine ID exactly as it was.
    #[arg(long, value_name = "ID", conflicts_with = "items")]
    pub undo: Option<String>,
    /// Go ahead even if the evidence is not preserved (journaled as forced).
    #[arg(long)]
    pub force: bool,
}

/// Quarantines, or undoes one quarantine.
pub fn run(ctx: &Ctx, a: &QuarantineArgs) -> Result<Exit> {
    let (r, exit) = ctx.journaled("quarantine", |run| {
        for i in &a.items {
            quarantine::check_item(i)?;
        }
        let case = &ctx.global.case;
        let journal = run.journal().path();
        let r = if let Some(id) = &a.undo {
            quarantine::undo(id, &ctx.root(), journal, run)?
        } else {
            // Only --all-flagged reads the deployment; without one the
            // host's own mechanisms still count, as for `ir persistence`.
            let dep = if a.all_flagged {
                ctx.discover().ok()
            } else {
                None
            };
            let req = Request {
                items: a.items.clone(),
                all_flagged: a.all_flagged,
                whole_file: a.whole_file,
                force: a.force,
            };
            quarantine::quarantine(&req, dep.as_ref(), &ctx.root(), case, journal, run)?
        };
        // Something flagged is still on the host: the operator must look.
        let exit = if r.left.is_empty() {
            Exit::Ok
        } else {
            Exit::Findings
        };
        Ok((r.clone(), Outcome::record(exit, &r)?))
    })?;
    if ctx.global.json {
        crate::output::print_json(&r);
    } else {
        crate::output::print(&render(&r));
    }
    Ok(exit)
}

/// One line per item: what moved where, which lines went, what was put
/// back, what was left and why. Removed lines are named by number and
/// flag, not quoted: they may carry a secret (`--json` has them, escaped).
fn render(r: &QuarantineRunRecord) -> String {
    let mut o = String::new();
    for q in &r.quarantined {
        if q.whole_file {
            let _ = writeln!(o, "moved    {} -> {}  (id {})", q.path, q.stored, q.id);
        } else {
            let lines: Vec<String> = q
                .removed_lines
                .iter()
                .map(|l| format!("{} ({})", l.line, l.flags.join(",")))
                .collect();
            let _ = writeln!(
                o,
                "edited   {}: removed line {}; original in {}  (id {})",
                q.path,
                lines.join(", "),
                q.stored,
                q.id
            );
        }
    }
    for q in &r.restored {
        let _ = writeln!(
            o,
            "restored {} (sha256 {}, mode {}, owner {}:{}, mtime {})",
            q.path,
            &q.sha256[..12.min(q.sha256.len())],
            q.mode,
            q.uid,
            q.gid,
            q.mtime
        );
    }
    for l in &r.left {
        let _ = writeln!(o, "left     {}: {}", l.path, l.reason);
    }
    for f in &r.forced {
        let _ = writeln!(o, "forced   {} ({})", f.path, f.reason);
    }
    if r.quarantined.is_empty() && r.restored.is_empty() && r.left.is_empty() {
        let _ = writeln!(o, "nothing to quarantine");
    }
    o
}
