//! `ir audit`: an offline hardening audit of the state dir and config. It
//! runs no Node and no OpenClaw, since the host's own may be tampered with.
//!
//! Where OpenClaw's `security audit` tests the same condition, the finding
//! carries its id and severity (`fs.config.perms_world_readable`,
//! `gateway.token_too_short`...; read from openclaw 2026.9.6's
//! `src/security/audit*.ts`). The hardening reference's checklist adds
//! `ir.*` checks. `--fix` applies only OpenClaw's own safe fixes: chmod of
//! the state dir and secret files, and open group policies flipped to
//! allowlist; each change is journaled.

use crate::case::Run;
use crate::openclaw::config::{self, SecretInfo};
use crate::openclaw::{Deployment, layout};
use anyhow::Result;
use serde::Serialize;
use serde_json::{Value, json};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One audit finding.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub id: String,
    pub severity: &'static str,
    pub title: String,
    pub detail: String,
    pub fix: String,
    /// Whether `--fix` repairs it.
    pub fixable: bool,
}

fn f(
    id: impl Into<String>,
    severity: &'static str,
    title: &str,
    detail: impl Into<String>,
    fix: &str,
    fixable: bool,
) -> Finding {
    Finding {
        id: id.into(),
        severity,
        title: title.into(),
        detail: detail.into(),
        fix: fix.into(),
        fixable,
    }
}

/// The OpenClaw `security audit` check ids this audit implements with the
/// same condition and severity (`channels.*` stands for every channel).
pub const OPENCLAW_CHECKS: &[&str] = &[
    "fs.state_dir.symlink",
    "fs.state_dir.perms_world_writable",
    "fs.state_dir.perms_group_writable",
    "fs.state_dir.perms_readable",
    "fs.config.symlink",
    "fs.config.perms_writable",
    "fs.config.perms_world_readable",
    "fs.config.perms_group_readable",
    "fs.credentials_dir.perms_writable",
    "fs.credentials_dir.perms_readable",
    "gateway.bind_no_auth",
    "gateway.loopback_no_auth",
    "gateway.control_ui.allowed_origins_required",
    "gateway.control_ui.allowed_origins_wildcard",
    "gateway.tailscale_funnel",
    "gateway.tailscale_serve",
    "discovery.mdns_full_mode",
    "gateway.token_placeholder_value",
    "gateway.password_placeholder_value",
    "gateway.token_too_short",
    "gateway.password_too_short",
    "gateway.auth_no_rate_limit",
    "hooks.token_too_short",
    "hooks.token_reuse_gateway_token",
    "hooks.path_root",
    "channels.*.dm.open",
];

/// True when `id` is one of [`OPENCLAW_CHECKS`].
pub fn implements(id: &str) -> bool {
    OPENCLAW_CHECKS
        .iter()
        .any(|c| match c.strip_prefix("channels.*") {
            Some(rest) => id.starts_with("channels.") && id.ends_with(rest),
            None => *c == id,
        })
}

/// The first version without CVE-2026-25253 (Control UI gatewayUrl token leak).
pub const FIXED_CVE_2026_25253: &str = "2026.1.29";

fn perms(path: &Path) -> Option<(bool, u32)> {
    crate::safefs::lstat(path)
        .ok()
        .flatten()
        .map(|m| (m.file_type().is_symlink(), m.mode() & 0o777))
}

fn fs_findings(out: &mut Vec<Finding>, dep: &Deployment) {
    let state = &dep.paths.state_dir;
    let shown = crate::sanitize::escape_path(state);
    if dep.state_dir_symlink.is_some() {
        out.push(f(
            "fs.state_dir.symlink",
            "warn",
            "State dir is a symlink",
            format!("{shown} is a symlink"),
            "make sure you trust its target",
            false,
        ));
    }
    if let Some((_, m)) = perms(state) {
        let detail = format!("{shown} mode={m:o}");
        if m & 0o002 != 0 {
            out.push(f(
                "fs.state_dir.perms_world_writable",
                "critical",
                "State dir is world-writable",
                detail,
                "chmod 700 the state dir",
                true,
            ));
        } else if m & 0o020 != 0 {
            out.push(f(
                "fs.state_dir.perms_group_writable",
                "warn",
                "State dir is group-writable",
                detail,
                "chmod 700 the state dir",
                true,
            ));
        } else if m & 0o044 != 0 {
            out.push(f(
                "fs.state_dir.perms_readable",
                "warn",
                "State dir is readable by others",
                detail,
                "chmod 700 the state dir",
                true,
            ));
        }
    }
    let cfg = &dep.paths.config;
    if let Some((link, m)) = perms(cfg) {
        let detail = format!("{} mode={m:o}", crate::sanitize::escape_path(cfg));
        if link {
            out.push(f(
                "fs.config.symlink",
                "warn",
                "Config file is a symlink",
                detail,
                "make sure you trust its target",
                false,
            ));
        } else if m & 0o022 != 0 {
            out.push(f(
                "fs.config.perms_writable",
                "critical",
                "Config file is writable by others",
                detail,
                "chmod 600 the config",
                true,
            ));
        } else if m & 0o004 != 0 {
            out.push(f(
                "fs.config.perms_world_readable",
                "critical",
                "Config file is world-readable",
                detail,
                "chmod 600 the config",
                true,
            ));
        } else if m & 0o040 != 0 {
            out.push(f(
                "fs.config.perms_group_readable",
                "warn",
                "Config file is group-readable",
                detail,
                "chmod 600 the config",
                true,
            ));
        }
    }
    let creds = &dep.paths.credentials_dir;
    if let Some((false, m)) = perms(creds) {
        let detail = format!("{} mode={m:o}", crate::sanitize::escape_path(creds));
        if m & 0o022 != 0 {
            out.push(f(
                "fs.credentials_dir.perms_writable",
                "critical",
                "Credentials dir is writable by others",
                detail,
                "chmod 700 credentials/",
                true,
            ));
        } else if m & 0o044 != 0 {
            out.push(f(
                "fs.credentials_dir.perms_readable",
                "warn",
                "Credentials dir is readable by others",
                detail,
                "chmod 700 credentials/",
                true,
            ));
        }
    }
    // The checklist: every secret-bearing file 600.
    for (p, _) in secret_files(dep) {
        if let Some((false, m)) = perms(&p)
            && m & 0o077 != 0
        {
            out.push(f(
                "ir.fs.secret_file_perms",
                "warn",
                "A file holding secrets or transcripts is readable by others",
                format!("{} mode={m:o}", crate::sanitize::escape_path(&p)),
                "chmod 600",
                true,
            ));
        }
    }
}

/// Dirs that should be 700 and files that should be 600 (OpenClaw's fix list
/// plus `.env` and the `.bak` copies that hold old secrets).
pub fn chmod_plan(dep: &Deployment) -> Vec<(PathBuf, u32)> {
    let s = &dep.paths.state_dir;
    let mut v = vec![
        (s.clone(), 0o700),
        (dep.paths.credentials_dir.clone(), 0o700),
        (dep.paths.config.clone(), 0o600),
    ];
    for a in layout::agent_dirs(s) {
        let ad = s.join("agents").join(&a);
        v.push((ad.clone(), 0o700));
        v.push((ad.join("agent"), 0o700));
        v.push((ad.join("sessions"), 0o700));
    }
    v.extend(secret_files(dep));
    v
}

fn secret_files(dep: &Deployment) -> Vec<(PathBuf, u32)> {
    let s = &dep.paths.state_dir;
    let mut v = Vec::new();
    let mut push_dir = |dir: &Path, pred: &dyn Fn(&str) -> bool| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten().take(100_000) {
                let n = e.file_name().to_string_lossy().into_owned();
                if pred(&n) && e.file_type().is_ok_and(|t| t.is_file()) {
                    v.push((e.path(), 0o600));
                }
            }
        }
    };
    push_dir(s, &|n| {
        n == ".env" || n.starts_with("openclaw.json.bak") || n == "secrets.json"
    });
    push_dir(&dep.paths.credentials_dir, &|n| n.ends_with(".json"));
    for a in layout::agent_dirs(s) {
        let ad = s.join("agents").join(&a);
        push_dir(&ad.join("agent"), &|n| {
            n == "auth-profiles.json" || n == "auth.json" || n.starts_with("openclaw-agent.sqlite")
        });
        push_dir(&ad.join("sessions"), &|n| {
            n == "sessions.json" || n.ends_with(".jsonl")
        });
    }
    push_dir(&s.join("state"), &|n| n.starts_with("openclaw.sqlite"));
    v
}

fn secret_len(s: &SecretInfo) -> Option<usize> {
    match s {
        SecretInfo::Inline { length } => Some(*length),
        _ => None,
    }
}

fn config_findings(out: &mut Vec<Finding>, dep: &Deployment) {
    let null = Value::Null;
    let c = dep.config.as_ref().unwrap_or(&null);
    let g = &dep.gateway;
    let bind = g.bind.as_str();
    let mode = g.auth_mode.as_deref();
    let token_set =
        g.token.is_set() || std::env::var("OPENCLAW_GATEWAY_TOKEN").is_ok_and(|t| !t.is_empty());
    let has_auth = match mode {
        Some("token") => token_set,
        Some("password") => g.password.is_set(),
        Some("none" | "trusted-proxy") => false,
        _ => token_set || g.password.is_set(),
    };
    let control_ui = config::get(c, "gateway.controlUi.enabled") != Some(&Value::Bool(false));
    let origins: Vec<&str> = config::get(c, "gateway.controlUi.allowedOrigins")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if bind != "loopback" && !has_auth {
        out.push(f(
            "gateway.bind_no_auth",
            "critical",
            "Gateway binds beyond loopback without auth",
            format!("gateway.bind=\"{bind}\" but no gateway.auth token/password is configured."),
            "set gateway.auth (token recommended) or bind to loopback",
            false,
        ));
    }
    if bind == "loopback" && control_ui && !has_auth {
        out.push(f(
            "gateway.loopback_no_auth",
            "critical",
            "Gateway auth missing on loopback",
            "gateway.bind is loopback but no gateway auth secret is configured.",
            "set gateway.auth (token recommended)",
            false,
        ));
    }
    if bind != "loopback"
        && control_ui
        && origins.is_empty()
        && config::get(
            c,
            "gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback",
        ) != Some(&Value::Bool(true))
    {
        out.push(f("gateway.control_ui.allowed_origins_required", "critical", "Non-loopback Control UI missing explicit allowed origins", "Control UI is enabled on a non-loopback bind but gateway.controlUi.allowedOrigins is empty.", "set gateway.controlUi.allowedOrigins, or bind to loopback", false));
    }
    if origins.contains(&"*") {
        out.push(f(
            "gateway.control_ui.allowed_origins_wildcard",
            if bind != "loopback" {
                "critical"
            } else {
                "warn"
            },
            "Control UI allowed origins contains wildcard",
            "gateway.controlUi.allowedOrigins includes \"*\".",
            "list explicit trusted origins",
            false,
        ));
    }
    match g.tailscale_mode.as_deref() {
        Some("funnel") => out.push(f(
            "gateway.tailscale_funnel",
            "critical",
            "Tailscale Funnel exposure enabled",
            "gateway.tailscale.mode=\"funnel\" exposes the Gateway publicly.",
            "set tailscale.mode to serve or off",
            false,
        )),
        Some("serve") => out.push(f(
            "gateway.tailscale_serve",
            "info",
            "Tailscale Serve exposure enabled",
            "gateway.tailscale.mode=\"serve\" exposes the Gateway to your tailnet.",
            "",
            false,
        )),
        _ => {}
    }
    if config::get_str(c, "discovery.mdns.mode") == Some("full") {
        out.push(f(
            "discovery.mdns_full_mode",
            if bind != "loopback" {
                "critical"
            } else {
                "warn"
            },
            "mDNS full mode can leak host metadata",
            "discovery.mdns.mode=\"full\".",
            "set discovery.mdns.mode to minimal or off",
            false,
        ));
    }
    for (cred, info) in [("token", &g.token), ("password", &g.password)] {
        if mode != Some(cred) {
            continue;
        }
        let raw = config::get_str(c, &format!("gateway.auth.{cred}")).map(str::trim);
        let placeholder = matches!(
            raw,
            Some(
                "" | "undefined"
                    | "null"
                    | "change-me-to-a-long-random-token"
                    | "change-me-now"
                    | "__OPENCLAW_REDACTED__"
            )
        );
        if placeholder {
            out.push(f(
                format!("gateway.{cred}_placeholder_value"),
                "critical",
                &format!("Gateway {cred} is a blank or placeholder value"),
                "Gateway startup rejects it.",
                "ir rotate",
                false,
            ));
        } else if let Some(n) = raw.map(|r| r.chars().count()).filter(|n| *n < 24) {
            out.push(f(
                format!("gateway.{cred}_too_short"),
                "warn",
                &format!("Gateway {cred} looks short"),
                format!("gateway auth {cred} is {n} chars; prefer a long random {cred}."),
                "ir rotate",
                false,
            ));
        }
        let _ = info;
    }
    if bind != "loopback"
        && mode != Some("trusted-proxy")
        && config::get(c, "gateway.auth.rateLimit").is_none()
    {
        out.push(f(
            "gateway.auth_no_rate_limit",
            "warn",
            "No auth rate limiting configured",
            "gateway.bind is not loopback but no gateway.auth.rateLimit is configured.",
            "set gateway.auth.rateLimit",
            false,
        ));
    }
    if config::get(c, "hooks.enabled") == Some(&Value::Bool(true)) {
        let ht = config::get_str(c, "hooks.token").unwrap_or("");
        if !ht.is_empty() && ht.chars().count() < 24 {
            out.push(f(
                "hooks.token_too_short",
                "warn",
                "Hooks token looks short",
                format!(
                    "hooks.token is {} chars; prefer a long random token.",
                    ht.chars().count()
                ),
                "ir rotate",
                false,
            ));
        }
        if !ht.is_empty() && Some(ht) == config::get_str(c, "gateway.auth.token") {
            out.push(f(
                "hooks.token_reuse_gateway_token",
                "critical",
                "Hooks token reuses the gateway token",
                "hooks.token equals gateway.auth.token.",
                "ir rotate (it gives hooks its own token)",
                false,
            ));
        }
        if config::get_str(c, "hooks.path") == Some("/") {
            out.push(f(
                "hooks.path_root",
                "critical",
                "Hooks base path is '/'",
                "hooks.path='/' would shadow other HTTP endpoints.",
                "use a dedicated path like /hooks",
                false,
            ));
        }
    }
    let mut allow_users = 0usize;
    if let Some(Value::Object(chs)) = config::get(c, "channels") {
        for (name, ch) in chs {
            let dm = ch
                .get("dmPolicy")
                .and_then(Value::as_str)
                .or_else(|| ch.pointer("/dm/policy").and_then(Value::as_str));
            if dm == Some("open") {
                out.push(f(
                    format!("channels.{name}.dm.open"),
                    "critical",
                    "Open DM policy",
                    format!("channels.{name} accepts DMs from anyone."),
                    "set dmPolicy to pairing or allowlist",
                    false,
                ));
            }
            if ch.get("groupPolicy").and_then(Value::as_str) == Some("open") {
                out.push(f(
                    format!("ir.channels.{name}.group_open"),
                    "warn",
                    "Open group policy",
                    format!("channels.{name}.groupPolicy is \"open\"."),
                    "ir audit --fix flips it to allowlist",
                    true,
                ));
            }
            allow_users += ch
                .get("allowFrom")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
        }
    }
    // The hardening checklist.
    if let Some(n) = secret_len(&g.token).filter(|n| *n < 32) {
        out.push(f(
            "ir.gateway.token_under_32",
            "warn",
            "Gateway token shorter than 32 characters",
            format!("the token is {n} chars; the checklist asks for 32 or more."),
            "ir rotate",
            false,
        ));
    }
    if matches!(g.token, SecretInfo::Inline { .. }) {
        out.push(f("ir.gateway.token_in_config", "warn", "Gateway token written into the config", "the checklist asks for the token to come from the environment or a secret file (a SecretRef), not the config, whose .bak copies keep old tokens.", "move it to OPENCLAW_GATEWAY_TOKEN or a file SecretRef", false));
    }
    if bind != "loopback" {
        out.push(f(
            "ir.gateway.bind_not_loopback",
            "warn",
            "Gateway not bound to loopback",
            format!("gateway.bind=\"{bind}\"."),
            "bind to loopback and reach it over Tailscale or a VPN",
            false,
        ));
    }
    if config::get(c, "gateway.controlUi.allowInsecureAuth") == Some(&Value::Bool(true)) {
        out.push(f(
            "ir.gateway.control_ui_insecure_auth",
            "critical",
            "Control UI allows insecure auth",
            "gateway.controlUi.allowInsecureAuth is true.",
            "set it to false",
            false,
        ));
    }
    let sandbox = config::get_str(c, "agents.defaults.sandbox.mode").unwrap_or("off");
    if sandbox == "off" {
        out.push(f(
            "ir.sandbox.off",
            "warn",
            "No sandbox",
            "agents.defaults.sandbox.mode is off or unset.",
            "set it to non-main or all",
            false,
        ));
    }
    let agents: Vec<&Value> = config::get(c, "agents.list")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    for a in agents {
        if a.pointer("/sandbox/mode").and_then(Value::as_str) == Some("all")
            && a.pointer("/sandbox/tools/deny").is_none()
            && a.pointer("/tools/deny").is_none()
        {
            out.push(f(
                "ir.tools.public_agent_without_deny",
                "warn",
                "Public agent without a tool deny list",
                format!(
                    "agent {} runs sandboxed for everyone but denies no tool.",
                    a.get("id").and_then(Value::as_str).unwrap_or("?")
                ),
                "deny exec, write, browser for public agents",
                false,
            ));
        }
    }
    if config::get_str(c, "discovery.mdns.mode").unwrap_or("minimal") != "off" {
        out.push(f(
            "ir.discovery.mdns_on",
            "info",
            "mDNS discovery is on",
            "the checklist turns mDNS off.",
            "set discovery.mdns.mode to off",
            false,
        ));
    }
    if allow_users > 1 && config::get_str(c, "session.dmScope") != Some("per-channel-peer") {
        out.push(f(
            "ir.session.dm_scope_shared",
            "warn",
            "Several users share one DM session scope",
            "more than one allowed sender but session.dmScope is not per-channel-peer.",
            "set session.dmScope to per-channel-peer",
            false,
        ));
    }
    if config::get_str(c, "logging.redactSensitive") == Some("off") {
        out.push(f(
            "ir.logging.redaction_off",
            "warn",
            "Log redaction is off",
            "logging.redactSensitive is off.",
            "set it to tools or full",
            false,
        ));
    }
    if let Some(v) = &dep.layout.version
        && !layout::version_at_least(v, FIXED_CVE_2026_25253)
    {
        out.push(f("ir.version.cve_2026_25253", "critical", "Vulnerable OpenClaw version", format!("{v} is older than {FIXED_CVE_2026_25253} (CVE-2026-25253: the Control UI leaks the gateway token)."), "update openclaw, then rotate the gateway token", false));
    }
}

/// Runs every check.
pub fn audit(dep: &Deployment) -> Vec<Finding> {
    let mut out = Vec::new();
    fs_findings(&mut out, dep);
    config_findings(&mut out, dep);
    let rank = |s: &str| match s {
        "critical" => 0,
        "warn" => 1,
        _ => 2,
    };
    out.sort_by(|a, b| {
        rank(a.severity)
            .cmp(&rank(b.severity))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

/// Applies the safe fixes, journaling each change; returns what changed.
pub fn fix(dep: &Deployment, run: &Run) -> Result<Vec<Value>> {
    let mut changes = Vec::new();
    for (p, want) in chmod_plan(dep) {
        let Some(m) = crate::safefs::lstat(&p)? else {
            continue;
        };
        if m.file_type().is_symlink() {
            continue; // never chmod through a link
        }
        let have = m.mode() & 0o7777;
        if have == want {
            continue;
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(want))?;
        let c = json!({"kind": "chmod", "path": crate::sanitize::escape_path(&p), "from": format!("{have:o}"), "to": format!("{want:o}")});
        run.event("fix", c.clone())?;
        changes.push(c);
    }
    // Open group policies become allowlists (OpenClaw's own fix).
    let open: Vec<String> = match &dep.config {
        Some(Value::Object(_)) => {
            match config::get(dep.config.as_ref().expect("config"), "channels") {
                Some(Value::Object(chs)) => chs
                    .iter()
                    .filter(|(_, v)| v.get("groupPolicy").and_then(Value::as_str) == Some("open"))
                    .map(|(k, _)| k.clone())
                    .collect(),
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    if !open.is_empty() {
        let e = crate::openclaw::edit::ConfigEdit::open(&dep.paths.config)?;
        for ch in &open {
            e.set_string(&format!("channels.{ch}.groupPolicy"), "allowlist")?;
        }
        e.save()?;
        for ch in open {
            let c = json!({"kind": "config", "path": format!("channels.{ch}.groupPolicy"), "from": "open", "to": "allowlist"});
            run.event("fix", c.clone())?;
            changes.push(c);
        }
    }
    Ok(changes)
}
