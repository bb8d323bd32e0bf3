//! `ir snapshot`: the volatile state, on its own, before anything changes.

use crate::case::{Ctx, Outcome};
use crate::exit::Exit;
use anyhow::Result;
use serde_json::json;

/// Writes `<case>/volatile-<UTC>.json` (processes, sockets, system, each
/// gateway process's environment with secrets redacted) and journals its hash.
pub fn run(ctx: &Ctx) -> Result<Exit> {
    let (details, exit) = ctx.journaled("snapshot", |_| {
        let dep = ctx.discover()?;
        let docs = crate::evidence::volatile::capture(&ctx.root(), &dep);
        let doc: serde_json::Map<String, serde_json::Value> = docs.into_iter().collect();
        let bytes = serde_json::to_vec_pretty(&doc)?;
        let path = ctx.global.case.join(format!("volatile-{}.json", chrono::Utc::now().format("%Y%m%dT%H%M%S%.fZ")));
        crate::safefs::write_atomic(&path, &bytes, 0o600)?;
        let details = json!({"path": path, "sha256": crate::journal::sha256_hex(&bytes), "processes": doc.get("processes.json").and_then(|p| p["processes"].as_array().map(Vec::len))});
        Ok((details.clone(), Outcome::ok(details)))
    })?;
    if ctx.global.json {
        crate::output::print_json(&details);
    } else if !ctx.global.quiet {
        let path = details["path"].as_str().unwrap_or_default();
        crate::output::print(&format!("volatile state written to {path}\n"));
    }
    Ok(exit)
}
