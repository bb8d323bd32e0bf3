//! `ir inventory`: what OpenClaw deployment is on this host.

use crate::case::{Ctx, Outcome};
use crate::exit::Exit;
use crate::openclaw::Deployment;
use crate::openclaw::config::SecretInfo;
use crate::sanitize::{escape, escape_path};
use anyhow::Result;
use serde_json::json;
use std::fmt::Write;

/// Arguments of `ir inventory`.
#[derive(Debug, clap::Args)]
pub struct InventoryArgs {}

/// Runs discovery, journals it, renders it.
pub fn run(ctx: &Ctx, _a: &InventoryArgs) -> Result<Exit> {
    let (dep, exit) = ctx.journaled("inventory", |_run| {
        let dep = ctx.discover()?;
        let exit = if dep.problems.is_empty() {
            Exit::Ok
        } else {
            Exit::Error
        };
        let details = serde_json::to_value(crate::record::InventoryRecord {
            deployment: dep.summary(),
            problems: dep.problems.clone(),
        })?;
        Ok((dep, Outcome { exit, details }))
    })?;
    if ctx.global.json {
        crate::output::print_json(&json!({
            "ir_version": env!("CARGO_PKG_VERSION"),
            "deployment": dep,
        }));
    } else {
        crate::output::print(&render(&dep));
    }
    for p in &dep.problems {
        eprintln!(
            "ir: error: could not read {}: {}",
            p.path,
            escape(&p.message)
        );
    }
    Ok(exit)
}

fn secret(s: &SecretInfo) -> String {
    match s {
        SecretInfo::Unset => "unset".into(),
        SecretInfo::Inline { length } => format!("set in config, {length} chars"),
        SecretInfo::Ref {
            source,
            provider,
            id,
        } => format!(
            "SecretRef source={source}{}{}",
            provider
                .as_deref()
                .map(|p| format!(" provider={p}"))
                .unwrap_or_default(),
            id.as_deref()
                .map(|i| format!(" id={i}"))
                .unwrap_or_default()
        ),
        SecretInfo::Other => "set, but not a string or SecretRef".into(),
    }
}

/// Renders the human summary, one section after another.
pub fn render(d: &Deployment) -> String {
    let mut o = String::new();
    render_deployment(&mut o, d);
    render_agents(&mut o, d);
    render_logs(&mut o, d);
    render_gateway_settings(&mut o, d);
    render_gateway_process(&mut o, d);
    render_supervisors(&mut o, d);
    render_problems(&mut o, d);
    o
}

/// A path relative to the state dir when it is inside it.
fn rel(d: &Deployment, path: &std::path::Path) -> String {
    path.strip_prefix(&d.paths.state_dir)
        .map(escape_path)
        .unwrap_or_else(|_| escape_path(path))
}

/// State dir, config, profile, layout and version, databases, legacy files.
fn render_deployment(o: &mut String, d: &Deployment) {
    let p = &d.paths;
    let _ = writeln!(o, "OpenClaw deployment");
    let _ = writeln!(
        o,
        "  state dir   {}  ({})",
        escape_path(&p.state_dir),
        p.state_dir_source
    );
    if let Some(t) = &d.state_dir_symlink {
        let _ = writeln!(o, "              ! a symlink to {t}");
    }
    if let Some(t) = &d.config_symlink {
        let _ = writeln!(
            o,
            "  config is a symlink to {t} (inside the state dir, followed as OpenClaw follows it)"
        );
    }
    let _ = writeln!(
        o,
        "  config      {}  ({}{})",
        escape_path(&p.config),
        p.config_source,
        if d.config_present { "" } else { ", missing" }
    );
    if let Some(pr) = &p.profile {
        let _ = writeln!(o, "  profile     {pr}");
    }
    let l = &d.layout;
    let _ = writeln!(
        o,
        "  layout      {}  version {}{}",
        serde_json::to_value(l.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        l.version.as_deref().unwrap_or("unknown"),
        l.config_version
            .as_deref()
            .map(|v| format!(" (config last touched by {v})"))
            .unwrap_or_default()
    );
    for db in &l.databases {
        let _ = writeln!(
            o,
            "  database    {}  {}{}{}{}",
            rel(d, &db.path),
            db.role.as_deref().unwrap_or("?"),
            db.schema_version
                .map(|v| format!(" schema {v}"))
                .unwrap_or_default(),
            db.app_version
                .as_deref()
                .map(|v| format!(" written by {}", escape(v)))
                .unwrap_or_default(),
            if db.has_wal { ", WAL present" } else { "" }
        );
    }
    for f in &l.legacy {
        let _ = writeln!(o, "  legacy      {}", escape(f));
    }
}

fn render_agents(o: &mut String, d: &Deployment) {
    let _ = writeln!(o, "\nAgents");
    for a in &d.agents {
        let _ = writeln!(
            o,
            "  {:<10} workspace {}{}{}  [{}]",
            a.id,
            a.workspace
                .as_deref()
                .map(escape_path)
                .unwrap_or_else(|| "-".into()),
            if a.workspace_exists { "" } else { " (missing)" },
            if a.workspace_outside_state {
                " (outside the state dir)"
            } else {
                ""
            },
            a.source
        );
    }
}

fn render_logs(o: &mut String, d: &Deployment) {
    let _ = writeln!(o, "\nLogs");
    for ld in d.logs.iter().filter(|l| l.exists) {
        let note = if ld.kind == "shared-tmp" {
            ", shared by every OpenClaw on the host"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "  {}  {} file(s){note}",
            escape_path(&ld.path),
            ld.files.len()
        );
    }
    if !d.logs.iter().any(|l| l.exists) {
        let _ = writeln!(o, "  none found");
    }
}

fn render_gateway_settings(o: &mut String, d: &Deployment) {
    let g = &d.gateway;
    let _ = writeln!(o, "\nGateway settings");
    let _ = writeln!(
        o,
        "  mode {}, bind {}{}, port {} ({}), auth {}",
        g.mode.as_deref().unwrap_or("unset"),
        g.bind,
        g.custom_bind_host
            .as_deref()
            .map(|h| format!(" ({h})"))
            .unwrap_or_default(),
        g.port,
        g.port_source,
        g.auth_mode.as_deref().unwrap_or("unset")
    );
    let _ = writeln!(o, "  token          {}", secret(&g.token));
    let _ = writeln!(o, "  password       {}", secret(&g.password));
    let _ = writeln!(o, "  remote token   {}", secret(&g.remote_token));
    let _ = writeln!(o, "  hooks token    {}", secret(&g.hooks_token));
    if let Some(t) = &g.tailscale_mode {
        let _ = writeln!(o, "  tailscale      {t}");
    }
}

/// Locks, processes and their children, listeners, other gateways.
fn render_gateway_process(o: &mut String, d: &Deployment) {
    let r = &d.runtime;
    let _ = writeln!(o, "\nGateway process");
    if !r.running {
        let _ = writeln!(o, "  not running");
    }
    for lock in &r.locks {
        let _ = writeln!(
            o,
            "  lock {}  pid {} {}{}",
            rel(d, &lock.path),
            lock.pid
                .map(|p| p.to_string())
                .unwrap_or_else(|| "?".into()),
            lock.status,
            lock.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
    }
    for gp in &r.processes {
        let pr = &gp.process;
        let _ = writeln!(
            o,
            "  pid {} {}  uid {}  {}{}",
            pr.pid,
            escape(&pr.comm),
            pr.uid.map(|u| u.to_string()).unwrap_or_else(|| "?".into()),
            if gp.owns_lock {
                "holds the lock"
            } else {
                "NOT named by this deployment's lock"
            },
            gp.cgroup_unit
                .as_deref()
                .map(|u| format!(", systemd unit {u}"))
                .unwrap_or_default()
        );
        for c in &gp.children {
            let _ = writeln!(o, "    child {} {}", c.pid, escape(&c.cmdline.join(" ")));
        }
    }
    for s in &r.listeners {
        let _ = writeln!(
            o,
            "  listening {}  pid {}",
            std::net::SocketAddr::new(s.local, s.local_port),
            s.pid
                .map(|p| p.to_string())
                .unwrap_or_else(|| "unknown".into())
        );
    }
    if !r.other_gateways.is_empty() {
        let _ = writeln!(
            o,
            "  other OpenClaw gateways on this host (not this deployment's): {:?}",
            r.other_gateways
        );
    }
}

fn render_supervisors(o: &mut String, d: &Deployment) {
    let r = &d.runtime;
    let _ = writeln!(o, "\nSupervisor");
    if r.supervisors.is_empty() {
        let _ = writeln!(o, "  none found (foreground or nohup)");
    }
    for s in &r.supervisors {
        let _ = writeln!(
            o,
            "  {} {}  {}  restart={}{}{}",
            s.kind,
            s.name,
            escape_path(&s.path),
            s.restart.as_deref().unwrap_or("no"),
            if s.restarts_on_kill {
                " (brings a killed gateway back)"
            } else {
                ""
            },
            if s.enabled { ", enabled" } else { "" }
        );
    }
}

fn render_problems(o: &mut String, d: &Deployment) {
    if !d.problems.is_empty() {
        let _ = writeln!(o, "\nProblems");
        for pb in &d.problems {
            let _ = writeln!(o, "  {}: {}", pb.path, escape(&pb.message));
        }
    }
}
