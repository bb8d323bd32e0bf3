//! `ir clear-sessions`: remove poisoned sessions, and the session text kept
//! in import archives, task runs and the memory index, once the evidence is
//! safe.

use crate::case::{Ctx, Outcome};
use crate::exit::Exit;
use anyhow::Result;
use std::fmt::Write;

/// Arguments of `ir clear-sessions`.
#[derive(Debug, clap::Args)]
pub struct ClearArgs {
    /// Only this agent's sessions.
    #[arg(long, value_name = "ID")]
    pub agent: Option<String>,
    /// Go ahead even if the sessions are not preserved (journaled as forced).
    #[arg(long)]
    pub force: bool,
}

/// Clears.
pub fn run(ctx: &Ctx, a: &ClearArgs) -> Result<Exit> {
    let (r, exit) = ctx.journaled("clear-sessions", |run| {
        let dep = ctx.discover()?;
        let r = crate::contain::clear::clear(
            &dep,
            run.journal().path(),
            &ctx.root(),
            a.agent.as_deref(),
            a.force,
            run,
        )?;
        Ok((r.clone(), Outcome::record(Exit::Ok, &r)?))
    })?;
    if ctx.global.json {
        crate::output::print_json(&r);
    } else {
        let mut o = String::new();
        let _ = writeln!(o, "cleared agents: {}", r.agents.join(", "));
        let _ = writeln!(o, "files removed: {}", r.files_removed.len());
        let _ = writeln!(o, "import archives removed: {}", r.archives_removed.len());
        for d in r.rows_deleted.iter().chain(&r.state_rows_deleted) {
            let total: u64 = d.rows.values().sum();
            let _ = writeln!(o, "rows deleted: {total} in {}", d.db);
        }
        for m in &r.memory_forgotten {
            let total: u64 = m.rows.values().sum();
            let _ = writeln!(
                o,
                "memory index: {total} session rows deleted, {} sessions tombstoned in {}",
                m.tombstoned.len(),
                m.db
            );
        }
        for n in &r.notes {
            let _ = writeln!(o, "note: {n}");
        }
        crate::output::print(&o);
    }
    Ok(exit)
}
