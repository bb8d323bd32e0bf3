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
    /// Also print the verification key (the seed) once, to write down off
    /// the host, like journald's; with no recipient it is the only copy.
    #[arg(long)]
    pub print_verify_key: bool,
}

/// Whether any recipient or passphrase option was given.
fn keys_given(k: &KeyArgs) -> bool {
    !k.recipients.is_empty()
        || !k.recipients_files.is_empty()
        || k.passphrase
        || k.passphrase_file.is_some()
}

/// Dispatches a case subcommand.
pub fn run(ctx: &Ctx, c: &CaseCommand) -> Result<Exit> {
    match c {
        CaseCommand::Init(a) => init(ctx, a),
    }
}

fn init(ctx: &Ctx, a: &InitArgs) -> Result<Exit> {
    let (sealed, exit) = ctx.journaled("case-init", |run| {
        // Recipients, or at least a key to write down: a seed nobody can
        // get back would seal for no one.
        let enc = if keys_given(&a.keys) || !a.print_verify_key {
            Some(keys::encryption(&a.keys)?)
        } else {
            None
        };
        let Some(sealed) = run.begin_sealing(enc.as_ref(), a.print_verify_key)? else {
            return Err(crate::exit::hint(
                format!("the case {} is already sealed", ctx.global.case.display()),
                "a case is sealed once; its seal.age already holds the seed",
            ));
        };
        let details = json!({
            "seal": sealed.fingerprint,
            "encrypted_to": enc.as_ref().map(|e| e.describe()),
            "verify_key_shown": a.print_verify_key,
        });
        Ok((sealed, Outcome::ok(details)))
    })?;
    let fp = &sealed.fingerprint;
    let vk = sealed.verify_key.as_deref().map(String::as_str);
    if ctx.global.json {
        let doc = json!({"case": ctx.global.case, "seal": fp, "verify_key": vk});
        crate::output::print_json(&doc);
        return Ok(exit);
    }
    let mut o = format!(
        "case {} sealed; seed fingerprint {fp} (write it down off the host)\n",
        ctx.global.case.display()
    );
    if keys_given(&a.keys) || vk.is_none() {
        o.push_str(&format!(
            "check with: ir journal verify -i KEY --expect-seal {fp}\n"
        ));
    }
    if let Some(k) = vk {
        // Shown this once and kept nowhere: the operator's copy is the key.
        o.push_str(&format!(
            "verify key: {k}\n  (shown once, stored nowhere: write it down; check with `ir journal verify --verify-key KEY --expect-seal {fp}`)\n"
        ));
    }
    if !ctx.global.quiet || vk.is_some() {
        crate::output::print(&o);
    }
    Ok(exit)
}
