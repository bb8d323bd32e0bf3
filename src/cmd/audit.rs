//! `ir audit [--fix] [--deep] [--list-checks]`: offline hardening audit.

use crate::case::{Ctx, Outcome};
use crate::contain::audit::{self, Finding};
use crate::exit::Exit;
use crate::record::{AuditRecord, Change, ChangeKind, Severity};
use anyhow::Result;
use serde_json::json;
use std::fmt::Write;

/// Arguments of `ir audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Apply the safe fixes (chmod; open group policies to allowlist).
    #[arg(long)]
    pub fix: bool,
    /// Print the catalogue of checks (id, severity, title, fix) and the
    /// OpenClaw checks not decided offline, then exit; reads nothing.
    #[arg(long, conflicts_with = "fix")]
    pub list_checks: bool,
    /// Also scan installed plugins' and skills' code for OpenClaw's
    /// dangerous patterns (as `openclaw security audit --deep`; the live
    /// gateway probe of OpenClaw's --deep is not made). Reads, never runs.
    #[arg(long)]
    pub deep: bool,
}

/// Audits; with --fix, fixes and audits again. Exit 1 on a critical or warn finding.
pub fn run(ctx: &Ctx, a: &AuditArgs) -> Result<Exit> {
    if a.list_checks {
        return list_checks(ctx.global.json);
    }
    let ((findings, changes), exit) = ctx.journaled("audit", |run| {
        let target = ctx.target();
        let mut dep = crate::openclaw::discover(&target)?;
        let mut changes = Vec::new();
        let before = audit::audit_deep(&dep, a.deep)?;
        if a.fix {
            changes = audit::fix(&dep, run)?;
            dep = crate::openclaw::discover(&target)?;
        }
        let findings = audit::audit_deep(&dep, a.deep)?;
        let exit = if findings.iter().any(|f| f.severity != Severity::Info) {
            Exit::Findings
        } else {
            Exit::Ok
        };
        let details = serde_json::to_value(AuditRecord {
            findings_before: a.fix.then_some(before),
            findings: findings.clone(),
            changes: changes.clone(),
        })?;
        Ok(((findings, changes), Outcome { exit, details }))
    })?;
    if ctx.global.json {
        crate::output::print_json(&json!({
            "findings": findings,
            "changes": changes,
            "not_checked": not_checked(a.deep),
        }));
    } else {
        crate::output::print(&render(&findings, &changes, a.deep));
    }
    Ok(exit)
}

/// The OpenClaw checks this run did not decide: the deep ones too unless
/// `--deep`.
fn not_checked(deep: bool) -> Vec<&'static audit::NotChecked> {
    let extra = if deep { &[][..] } else { audit::DEEP_ONLY };
    audit::NOT_CHECKED.iter().chain(extra).collect()
}

/// One catalogue entry as `--list-checks` prints it.
#[derive(serde::Serialize)]
struct Listed {
    id: &'static str,
    /// `critical`, `warn`, `info`, or `warn/critical` for a check whose
    /// severity depends on exposure.
    severity: String,
    openclaw: bool,
    /// Run only with `--deep` (the plugin and skill code scan).
    deep: bool,
    title: &'static str,
    fix: &'static str,
}

/// `ir audit --list-checks`: the catalogue, for coverage figures.
fn list_checks(json: bool) -> Result<Exit> {
    let listed: Vec<Listed> = audit::CHECKS
        .iter()
        .map(|c| Listed {
            id: c.id,
            severity: match c.level {
                audit::Level::Always(s) => s.to_string(),
                _ => "warn/critical".into(),
            },
            openclaw: !c.id.starts_with("ir."),
            deep: audit::DEEP_ONLY.iter().any(|d| d.id == c.id),
            title: c.title,
            fix: c.fix,
        })
        .collect();
    if json {
        crate::output::print_json(&json!({"checks": listed, "not_checked": audit::NOT_CHECKED}));
    } else {
        let mut o = String::new();
        for l in &listed {
            let deep = if l.deep { " (--deep)" } else { "" };
            let _ = writeln!(o, "{:<58} {:<13} {}{deep}", l.id, l.severity, l.title);
        }
        for n in audit::NOT_CHECKED {
            let _ = writeln!(o, "{:<58} {:<13} {}", n.id, "not checked", n.reason);
        }
        crate::output::print(&o);
    }
    Ok(Exit::Ok)
}

/// Renders findings as text.
pub fn render(findings: &[Finding], changes: &[Change], deep: bool) -> String {
    let mut o = String::new();
    for c in changes {
        let _ = writeln!(
            o,
            "fixed: {} {} {} -> {}",
            match c.kind {
                ChangeKind::Chmod => "chmod",
                ChangeKind::Config => "config",
            },
            c.path,
            c.from,
            c.to
        );
    }
    let n = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    // Only a count that is not zero is coloured: "0 critical" is good news.
    let count = |s: Severity| match n(s) {
        0 => format!("0 {s}"),
        k => crate::output::paint(s.as_str(), &format!("{k} {s}")),
    };
    let _ = writeln!(
        o,
        "{}, {}, {}",
        count(Severity::Critical),
        count(Severity::Warn),
        count(Severity::Info)
    );
    let _ = writeln!(
        o,
        "not checked offline: {} OpenClaw checks that need a live gateway, Docker or plugin code (ir audit --list-checks)",
        audit::NOT_CHECKED.len()
    );
    if !deep {
        let _ = writeln!(
            o,
            "not checked: plugin and skill code safety, {} checks (run with --deep)",
            audit::DEEP_ONLY.len()
        );
    }
    for f in findings {
        let _ = writeln!(
            o,
            "\n[{}] {}  ({})\n  {}",
            crate::output::severity(f.severity.as_str()),
            f.title,
            f.id,
            crate::sanitize::escape(&f.detail)
        );
        if !f.fix.is_empty() {
            let _ = writeln!(
                o,
                "  fix: {}{}",
                f.fix,
                if f.fixable { " (ir audit --fix)" } else { "" }
            );
        }
    }
    o
}
