//! `ir run PLAYBOOK|NAME` and `ir playbooks`.

use crate::case::Ctx;
use crate::exit::Exit;
use crate::playbook::{self, run};
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Arguments of `ir run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A shipped playbook's name (see `ir playbooks`) or a .toml file.
    pub playbook: String,
    /// Print the plan with every effect; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Continue after the last step that succeeded in this case's journal.
    #[arg(long)]
    pub resume: bool,
    /// A variable, such as recipient=age1... or isolate=true (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// Runs a playbook.
pub fn run(ctx: &Ctx, a: &RunArgs) -> Result<Exit> {
    let (pb, text, origin) = playbook::load(&a.playbook)?;
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("since".into(), "24h".into());
    for kv in &a.set {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(crate::exit::hint(
                format!("--set {kv:?} is not KEY=VALUE"),
                "e.g. --set recipient=age1...",
            ));
        };
        vars.insert(k.trim().to_string(), v.to_string());
    }
    let o = run::Options {
        dry_run: a.dry_run,
        resume: a.resume,
        yes: ctx.global.yes,
        vars,
    };
    if a.dry_run {
        let plan = run::plan(&pb, &o.vars)?;
        if ctx.global.json {
            crate::output::print_json(
                &serde_json::json!({"playbook": pb.name, "origin": origin, "plan": plan}),
            );
        } else {
            let mut s = String::new();
            let _ = writeln!(
                s,
                "{}: {}\n(dry run: nothing is changed)\n",
                pb.name, pb.description
            );
            for (i, p) in plan.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "{:>2}. {:<15} {}{}\n    effects: {}{}{}{}",
                    i + 1,
                    p.id,
                    crate::sanitize::escape(&crate::case::redact_argv(&p.command).join(" ")),
                    if p.enabled {
                        ""
                    } else {
                        "  (disabled: its `when` variable is not set)"
                    },
                    if p.effects.is_empty() {
                        "none".to_string()
                    } else {
                        p.effects.join(", ")
                    },
                    if p.confirm {
                        "; asks for confirmation"
                    } else {
                        ""
                    },
                    if p.requires.is_empty() {
                        String::new()
                    } else {
                        format!("; requires {}", p.requires.join(", "))
                    },
                    if p.on_failure == "continue" {
                        "; continues on failure"
                    } else {
                        ""
                    },
                );
            }
            crate::output::print(&s);
        }
        return Ok(Exit::Ok);
    }
    let (outcomes, exit) = run::execute(ctx, &pb, &text, &origin, &o)?;
    if ctx.global.json {
        crate::output::print_json(&serde_json::json!({"playbook": pb.name, "steps": outcomes}));
    }
    Ok(exit)
}

/// `ir playbooks`: the shipped playbooks.
pub fn list(ctx: &Ctx) -> Result<Exit> {
    let mut v = Vec::new();
    let mut s = String::new();
    for (name, text) in playbook::SHIPPED {
        let pb = playbook::parse(text, name)?;
        let _ = writeln!(s, "{:<14} {}", name, pb.description);
        let _ = writeln!(
            s,
            "{:<14} steps: {}",
            "",
            pb.steps
                .iter()
                .map(|st| st.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        v.push(serde_json::json!({"name": name, "description": pb.description, "steps": pb.steps.iter().map(|st| &st.id).collect::<Vec<_>>()}));
    }
    if ctx.global.json {
        crate::output::print_json(&v);
    } else {
        crate::output::print(&s);
    }
    Ok(Exit::Ok)
}
