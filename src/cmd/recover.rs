//! `ir recover [--start]`: back to service, hardened.

use crate::case::{Ctx, Outcome};
use crate::exit::Exit;
use anyhow::Result;
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `ir recover`.
#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    /// Start the gateway again (through its supervisor, or as it ran before).
    #[arg(long)]
    pub start: bool,
    /// With --start: the Node binary to run the gateway with, when the
    /// pre-stop snapshot cannot tell (an absolute path).
    #[arg(long, value_name = "PATH", requires = "start")]
    pub node: Option<PathBuf>,
    /// With --start: the openclaw package dir (…/node_modules/openclaw) or
    /// its entry script, when the pre-stop snapshot cannot tell.
    #[arg(long, value_name = "PATH", requires = "start")]
    pub openclaw: Option<PathBuf>,
    /// Neutralise what OpenClaw would resume even when the evidence bundle
    /// does not hold its stores as they are now (journaled as forced).
    #[arg(long)]
    pub force: bool,
}

/// Recovers; exit 1 when something is left to do that matters.
pub fn run(ctx: &Ctx, a: &RecoverArgs) -> Result<Exit> {
    let (r, exit) = ctx.journaled("recover", |run| {
        if a.start && !ctx.root().is_live() {
            return Err(crate::exit::hint(
                "ir recover --start starts a process on the live host; --root must be /",
                "drop --start to fix and audit an image offline",
            ));
        }
        let with = crate::contain::recover::StartWith {
            node: a.node.clone(),
            openclaw: a.openclaw.clone(),
        };
        let r = crate::contain::recover::recover(
            &ctx.target(),
            &ctx.global.case,
            a.start.then_some(&with),
            a.force,
            run,
        )?;
        let bad = r.healthy == Some(false)
            || r.listening_as_configured == Some(false)
            || r.findings
                .iter()
                .any(|f| f.severity == crate::record::Severity::Critical);
        let exit = if bad { Exit::Findings } else { Exit::Ok };
        Ok((r.clone(), Outcome::record(exit, &r)?))
    })?;
    if ctx.global.json {
        crate::output::print_json(&r);
    } else {
        let mut o = String::new();
        for n in &r.neutralised {
            let _ = writeln!(
                o,
                "stopped  {} {} in {} from resuming on start",
                n.kind.as_str(),
                crate::sanitize::escape(&n.key),
                n.store
            );
        }
        for f in &r.fixes {
            let _ = writeln!(o, "fixed    {} {} -> {}", f.path, f.from, f.to);
        }
        if let Some(s) = &r.started {
            let _ = writeln!(o, "started  {s}");
            let _ = writeln!(
                o,
                "healthy  {}",
                r.healthy.map_or("-".into(), |h| h.to_string())
            );
            let _ = writeln!(
                o,
                "listens  {} ({})",
                r.listeners.join(", "),
                if r.listening_as_configured == Some(true) {
                    "as configured"
                } else {
                    "NOT as configured"
                }
            );
        }
        let _ = writeln!(
            o,
            "audit    {} ({} findings)",
            r.post_audit.display(),
            r.findings.len()
        );
        for t in &r.todo {
            let _ = writeln!(o, "TODO     {t}");
        }
        crate::output::print(&o);
    }
    Ok(exit)
}
