//! `ir rotate`: new secrets, revoked pairings, provider keys to revoke.

use crate::case::{Ctx, Outcome};
use crate::contain::rotate::{self, Options};
use crate::exit::Exit;
use anyhow::Result;
use std::fmt::Write;

/// Arguments of `ir rotate`.
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// Print the new gateway token (it is never journaled).
    #[arg(long)]
    pub show_token: bool,
    /// Remove the openclaw.json.bak* copies that still hold old secrets
    /// (only when a verified bundle holds them).
    #[arg(long)]
    pub purge_backups: bool,
    /// Go ahead even if the evidence is not preserved (journaled as forced).
    #[arg(long)]
    pub force: bool,
}

/// Rotates.
pub fn run(ctx: &Ctx, a: &RotateArgs) -> Result<Exit> {
    let (r, exit) = ctx.journaled("rotate", |run| {
        let dep = ctx.discover()?;
        let o = Options {
            show_token: a.show_token,
            purge_backups: a.purge_backups,
            force: a.force,
        };
        let r = rotate::rotate(&dep, run.journal().path(), &ctx.root(), &o, run)?;
        Ok((r.clone(), Outcome::record(Exit::Ok, &r.record)?))
    })?;
    if ctx.global.json {
        let mut v = serde_json::to_value(&r)?;
        if let Some(t) = &r.new_gateway_token {
            v["new_gateway_token"] = serde_json::Value::String(t.as_str().to_owned());
        }
        crate::output::print_json(&v);
    } else {
        let mut o = String::new();
        for x in &r.rotated {
            let _ = writeln!(
                o,
                "rotated  {} -> {} (new fingerprint {})",
                x.secret, x.written_to, x.new_fingerprint
            );
        }
        for x in &r.revoked {
            let _ = writeln!(o, "revoked  {} x{} ({})", x.what, x.count, x.location);
        }
        if let Some(s) = &r.revocation_skipped {
            let _ = writeln!(o, "revocation skipped: {s}");
        }
        for b in &r.backups_purged {
            let _ = writeln!(o, "purged   {b}");
        }
        let _ = writeln!(o, "proof    {}", r.proof.detail);
        if !r.provider_credentials.is_empty() {
            let _ = writeln!(o, "\nRevoke these at their provider (ir cannot):");
            for c in &r.provider_credentials {
                let _ = writeln!(
                    o,
                    "  {:<14} {:<22} …{}  sha256:{}  ({})",
                    c.provider, c.kind, c.last4, c.sha256_prefix, c.source
                );
            }
        }
        for x in &r.operator_actions {
            let _ = writeln!(o, "TODO     {x}");
        }
        if let Some(t) = &r.new_gateway_token {
            let _ = writeln!(o, "\nnew gateway token: {}", t.as_str());
        }
        crate::output::print(&o);
    }
    Ok(exit)
}
