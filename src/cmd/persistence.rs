//! `ir persistence`: what will bring the attacker back.

use crate::case::{Ctx, Outcome};
use crate::exit::Exit;
use crate::record::{FlaggedItem, PersistenceRecord};
use crate::triage::persistence::{self, Item};
use crate::triage::window::Window;
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `ir persistence`.
#[derive(Debug, clap::Args)]
pub struct PersistenceArgs {
    /// Flag items changed since (a duration, date or RFC 3339).
    #[arg(long, value_name = "WHEN", default_value = "24h")]
    pub since: String,
    /// End of that window (default: now).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Report only what was added, removed or changed since this baseline.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Save this inventory as a baseline.
    #[arg(long, value_name = "FILE")]
    pub save_baseline: Option<PathBuf>,
}

/// Runs the enumeration.
pub fn run(ctx: &Ctx, a: &PersistenceArgs) -> Result<Exit> {
    let (report, exit) = ctx.journaled("persistence", |_| {
        crate::cmd::timeline::check_root(ctx)?;
        let w = Window::parse(Some(&a.since), a.until.as_deref(), chrono::Utc::now())?;
        // Without an OpenClaw deployment the host's own mechanisms still count.
        let dep = match ctx.discover() {
            Ok(d) => Some(d),
            Err(e) => {
                crate::output::warn(
                    ctx.global.quiet,
                    &format!("no OpenClaw deployment ({e:#}); host mechanisms only"),
                );
                None
            }
        };
        let base = match &a.baseline {
            Some(b) => Some(crate::contain::known_good::read_baseline(b)?),
            None => None,
        };
        let base_items = base.as_ref().map(|b| b.items.as_slice());
        let mut r = persistence::run_against(dep.as_ref(), &ctx.root(), &w, base_items);
        if let Some(base) = &base {
            r.baseline = Some(persistence::diff(&r.items, &base.items));
        }
        if let Some(s) = &a.save_baseline {
            let doc = crate::record::Baseline {
                format: "ir-persistence-baseline/1".into(),
                created: crate::journal::now_rfc3339(),
                items: r.items.clone(),
                prompt_files: dep
                    .as_ref()
                    .map(|d| crate::contain::known_good::keep_prompt_files(d, &ctx.root()))
                    .unwrap_or_default(),
            };
            crate::safefs::write_atomic(s, &serde_json::to_vec_pretty(&doc)?, 0o600)?;
        }
        let exit = match &r.baseline {
            Some(d) if !(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty()) => {
                Exit::Findings
            }
            Some(_) => Exit::Ok,
            None if r.flagged > 0 || !r.unreadable.is_empty() => Exit::Findings,
            None => Exit::Ok,
        };
        let mut by_mechanism: BTreeMap<String, usize> = BTreeMap::new();
        for i in &r.items {
            *by_mechanism.entry(i.mechanism.clone()).or_default() += 1;
        }
        let flagged = r
            .items
            .iter()
            .filter(|i| !i.flags.is_empty())
            .map(|i| FlaggedItem {
                mechanism: i.mechanism.clone(),
                path: i.path.clone(),
                flags: i.flags.clone(),
                command: i.command.clone(),
                severity: i.severity,
                payload: i.payload.clone(),
                payload_flags: i.payload_flags.clone(),
            })
            .collect();
        let details = serde_json::to_value(PersistenceRecord {
            items: r.items.len(),
            by_mechanism,
            flagged,
            baseline: a.baseline.clone(),
            unreadable: r.unreadable.len(),
        })?;
        Ok((r, Outcome { exit, details }))
    })?;
    if ctx.global.json {
        crate::output::print_json(&report);
    } else {
        crate::output::print(&render(&report, ctx.global.verbose > 0));
    }
    Ok(exit)
}

fn line(o: &mut String, i: &Item) {
    let _ = writeln!(
        o,
        "  {:<20} {:<10} {}{}{}{}",
        i.mechanism,
        i.attack,
        i.path,
        i.user
            .as_deref()
            .map(|u| format!(" (as {u})"))
            .unwrap_or_default(),
        i.command
            .as_deref()
            .map(|c| format!("\n      runs: {c}"))
            .unwrap_or_default(),
        i.detail
            .as_deref()
            .map(|d| format!("\n      {d}"))
            .unwrap_or_default(),
    );
    if !i.flags.is_empty() {
        let sev = i.severity.map_or("warn", |s| s.as_str());
        let _ = writeln!(
            o,
            "      {} ({}): {}",
            crate::output::paint(sev, "FLAGS"),
            crate::output::severity(sev),
            i.flags.join(", ")
        );
        for f in &i.flags {
            let (_, words) = crate::triage::rules::describe(f);
            let from = if i.payload_flags.contains(f) {
                format!(
                    " (in {})",
                    i.payload.as_deref().unwrap_or("the program it runs")
                )
            } else {
                String::new()
            };
            let _ = writeln!(o, "        {f}: {words}{from}");
        }
    }
}

fn render(r: &persistence::Report, all: bool) -> String {
    let mut o = String::new();
    if let Some(d) = &r.baseline {
        let _ = writeln!(
            o,
            "Since the baseline: {} added, {} changed, {} removed",
            d.added.len(),
            d.changed.len(),
            d.removed.len()
        );
        for (title, list) in [
            ("Added", &d.added),
            ("Changed", &d.changed),
            ("Removed", &d.removed),
        ] {
            if !list.is_empty() {
                let _ = writeln!(o, "\n{title}");
                for i in list {
                    line(&mut o, i);
                }
            }
        }
        return o;
    }
    let _ = writeln!(o, "{} items, {} flagged", r.items.len(), r.flagged);
    if r.flagged > 0 {
        let _ = writeln!(o, "\nFlagged");
        for i in r.items.iter().filter(|i| !i.flags.is_empty()) {
            line(&mut o, i);
        }
    }
    if all {
        let _ = writeln!(o, "\nEverything else");
        for i in r.items.iter().filter(|i| i.flags.is_empty()) {
            line(&mut o, i);
        }
    } else {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for i in r.items.iter().filter(|i| i.flags.is_empty()) {
            *counts.entry(&i.mechanism).or_default() += 1;
        }
        if !counts.is_empty() {
            let _ = writeln!(
                o,
                "\nNot flagged (-v lists them): {}",
                counts
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    for u in &r.unreadable {
        let _ = writeln!(o, "not readable: {}", crate::sanitize::escape(u));
    }
    o
}
