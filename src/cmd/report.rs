//! `ir report`: report.md, report.html and report.json from the case journal.

use crate::case::{Ctx, Outcome};
use crate::exit::Exit;
use anyhow::Result;
use serde_json::json;

/// Writes the case report.
pub fn run(ctx: &Ctx) -> Result<Exit> {
    let (w, exit) = ctx.journaled("report", |_| {
        let (w, r) = crate::report::write(&ctx.global.case)?;
        let details = json!({"report_md": w.report_md, "report_html": w.report_html,
            "report_json": w.report_json, "journal_verdict": r.journal.verdict, "todo": r.todo});
        Ok((w, Outcome::ok(details)))
    })?;
    if ctx.global.json {
        crate::output::print_json(&w);
    } else if !ctx.global.quiet {
        crate::output::print(&format!(
            "report: {}\n        {}\n        {}\n",
            w.report_md.display(),
            w.report_html.display(),
            w.report_json.display()
        ));
    }
    Ok(exit)
}
