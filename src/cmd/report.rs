//! `ir report`: report.md and report.json from the case journal.

use crate::case::{Ctx, Outcome};
use crate::exit::Exit;
use anyhow::Result;
use serde_json::json;

/// Writes the case report.
pub fn run(ctx: &Ctx) -> Result<Exit> {
    let ((md, js), exit) = ctx.journaled("report", |_| {
        let (md, js, r) = crate::report::write(&ctx.global.case)?;
        let details = json!({"report_md": md, "report_json": js, "journal_verdict": r.journal.verdict, "todo": r.todo});
        Ok(((md, js), Outcome::ok(details)))
    })?;
    if !ctx.global.quiet {
        crate::output::print(&format!(
            "report: {}\n        {}\n",
            md.display(),
            js.display()
        ));
    }
    Ok(exit)
}
