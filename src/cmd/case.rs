//! `ir case init`: open a case sealed to the responder's keys.

use crate::case::{Ctx, Outcome};
use crate::evidence::keys::{self, KeyArgs};
use crate::exit::Exit;
use anyhow::Result;
use serde_json::json;

/// `ir case` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CaseCommand {
    /// Open the case: seal its journal to the responder's age recipients
    /// (seal.age), so that a rewrite by root fails `ir journal verify -i`.
    Init(InitArgs),
}

/// Arguments of `ir case init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Who can check the seals: the same recipients (or passphrase) as
    /// `ir collect`.
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// Dispatches a case subcommand.
pub fn run(ctx: &Ctx, c: &CaseCommand) -> Result<Exit> {
    match c {
        CaseCommand::Init(a) => init(ctx, a),
    }
}

fn init(ctx: &Ctx, a: &InitArgs) -> Result<Exit> {
    let (fp, exit) = ctx.journaled("case-init", |run| {
        let enc = keys::encryption(&a.keys)?;
        let Some(fp) = run.begin_sealing(&enc)? else {
            return Err(crate::exit::hint(
                format!("the case {} is already sealed", ctx.global.case.display()),
                "a case is sealed once; its seal.age already holds the seed",
            ));
        };
        let details = json!({"seal": fp, "encrypted_to": enc.describe()});
        Ok((fp, Outcome::ok(details)))
    })?;
    if ctx.global.json {
        crate::output::print_json(&json!({"case": ctx.global.case, "seal": fp}));
    } else if !ctx.global.quiet {
        crate::output::print(&format!(
            "case {} sealed (seed fingerprint {fp}: write it down, then check with `ir journal verify -i KEY --expect-seal {fp}`)\n",
            ctx.global.case.display()
        ));
    }
    Ok(exit)
}
