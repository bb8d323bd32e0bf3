//! `ir stop`: stop the gateway, supervisor first, after journaling its state.

use crate::case::{Ctx, Outcome};
use crate::contain::stop;
use crate::exit::Exit;
use anyhow::Result;
use std::fmt::Write;
use std::time::Duration;

/// Arguments of `ir stop`.
#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// Seconds to wait after SIGTERM before SIGKILL.
    #[arg(long, value_name = "SECS", default_value = "30")]
    pub timeout: u64,
    /// Stop the supervisor's unit without disabling it.
    #[arg(long)]
    pub no_disable: bool,
}

/// Stops the gateway; exit 0 when it is (or already was) stopped, 2 if
/// something remains.
pub fn run(ctx: &Ctx, a: &StopArgs) -> Result<Exit> {
    let (r, exit) = ctx.journaled("stop", |run| {
        let target = ctx.target();
        let dep = crate::openclaw::discover(&target)?;
        ctx.warn_missing(&dep);
        if !ctx.root().is_live() {
            // A /proc under --root is an image's, or a planted one: its pids are
            // not this host's, so nothing is ever signalled from it.
            let r = stop::Report::not_live(&dep);
            return Ok((r.clone(), Outcome::record(Exit::Ok, &r)?));
        }
        let r = stop::stop(
            &dep,
            &ctx.root(),
            &target.env,
            Duration::from_secs(a.timeout),
            !a.no_disable,
            run,
        )?;
        let exit = if r.stopped { Exit::Ok } else { Exit::Error };
        Ok((r.clone(), Outcome::record(exit, &r)?))
    })?;
    if ctx.global.json {
        crate::output::print_json(&r);
    } else {
        let mut o = String::new();
        if r.already_stopped {
            let _ = writeln!(o, "already stopped");
        } else if r.stopped {
            let _ = writeln!(
                o,
                "stopped: pid(s) {:?}; no process, listener or live lock remains",
                r.targets
            );
        } else {
            let _ = writeln!(o, "NOT STOPPED: still there: {}", r.remaining);
        }
        for s in &r.supervisor {
            let _ = writeln!(
                o,
                "  {} {} -> {}",
                s.program,
                s.args.join(" "),
                s.status.map_or("timed out".into(), |c| c.to_string())
            );
        }
        for n in &r.notes {
            let _ = writeln!(o, "  note: {}", crate::sanitize::escape(n));
        }
        crate::output::print(&o);
    }
    Ok(exit)
}
