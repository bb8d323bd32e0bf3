//! `ir audit`: an offline hardening audit of the state dir and config. It
//! runs no Node and no OpenClaw, since the host's own may be tampered with.
//!
//! Where OpenClaw's `security audit` tests the same condition, the finding
//! carries its id and severity (`fs.config.perms_world_readable`,
//! `gateway.token_too_short`...; read from openclaw 2026.9.6's
//! `src/security/audit*.ts`). The hardening checklist
//! (`docs/hardening.md`) adds `ir.*` checks. Every check is one entry of
//! [`CHECKS`] (id, severity, title, fix); the functions below, one per
//! area, decide which fire and say what was found. `--fix` applies only OpenClaw's own safe fixes: chmod of
//! the state dir and secret files, and open group policies flipped to
//! allowlist; each change is journaled.

use crate::case::Run;
use crate::openclaw::config::{self, SecretInfo};
use crate::openclaw::{Deployment, layout};
use crate::record::{Change, ChangeKind, Severity};
use anyhow::Result;
use serde_json::Value;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One audit finding.
pub use crate::record::AuditFinding as Finding;

/// How severe a check is.
#[derive(Debug, Clone, Copy)]
enum Level {
    Always(Severity),
    /// Critical when the gateway binds beyond loopback, warn on loopback.
    ByExposure,
}

/// One check: all it says except the detail, which names what was found.
/// A `*` in the id stands for a channel name.
#[derive(Debug)]
struct Check {
    id: &'static str,
    level: Level,
    title: &'static str,
    fix: &'static str,
    /// Whether `--fix` repairs it.
    fixable: bool,
}

const fn check(
    id: &'static str,
    level: Level,
    title: &'static str,
    fix: &'static str,
    fixable: bool,
) -> Check {
    Check {
        id,
        level,
        title,
        fix,
        fixable,
    }
}

const CRITICAL: Level = Level::Always(Severity::Critical);
const WARN: Level = Level::Always(Severity::Warn);
const INFO: Level = Level::Always(Severity::Info);

/// Every check, one entry per id: the ids and texts of OpenClaw's own
/// audit where it tests the same condition, then the `ir.*` checks of the
/// hardening checklist. The functions below decide which fire.
#[rustfmt::skip]
const CHECKS: &[Check] = &[
    // Filesystem: the state dir, the config, credentials/ and secret files.
    check("fs.state_dir.symlink", WARN, "State dir is a symlink", "make sure you trust its target", false),
    check("fs.state_dir.perms_world_writable", CRITICAL, "State dir is world-writable", "chmod 700 the state dir", true),
    check("fs.state_dir.perms_group_writable", WARN, "State dir is group-writable", "chmod 700 the state dir", true),
    check("fs.state_dir.perms_readable", WARN, "State dir is readable by others", "chmod 700 the state dir", true),
    check("fs.config.symlink", WARN, "Config file is a symlink", "make sure you trust its target", false),
    check("fs.config.perms_writable", CRITICAL, "Config file is writable by others", "chmod 600 the config", true),
    check("fs.config.perms_world_readable", CRITICAL, "Config file is world-readable", "chmod 600 the config", true),
    check("fs.config.perms_group_readable", WARN, "Config file is group-readable", "chmod 600 the config", true),
    check("fs.credentials_dir.perms_writable", CRITICAL, "Credentials dir is writable by others", "chmod 700 credentials/", true),
    check("fs.credentials_dir.perms_readable", WARN, "Credentials dir is readable by others", "chmod 700 credentials/", true),
    check("ir.fs.secret_file_perms", WARN, "A file holding secrets or transcripts is readable by others", "chmod 600", true),
    // Gateway exposure.
    check("gateway.bind_no_auth", CRITICAL, "Gateway binds beyond loopback without auth", "set gateway.auth (token recommended) or bind to loopback", false),
    check("gateway.loopback_no_auth", CRITICAL, "Gateway auth missing on loopback", "set gateway.auth (token recommended)", false),
    check("gateway.control_ui.allowed_origins_required", CRITICAL, "Non-loopback Control UI missing explicit allowed origins", "set gateway.controlUi.allowedOrigins, or bind to loopback", false),
    check("gateway.control_ui.allowed_origins_wildcard", Level::ByExposure, "Control UI allowed origins contains wildcard", "list explicit trusted origins", false),
    check("gateway.tailscale_funnel", CRITICAL, "Tailscale Funnel exposure enabled", "set tailscale.mode to serve or off", false),
    check("gateway.tailscale_serve", INFO, "Tailscale Serve exposure enabled", "", false),
    check("discovery.mdns_full_mode", Level::ByExposure, "mDNS full mode can leak host metadata", "set discovery.mdns.mode to minimal or off", false),
    check("gateway.auth_no_rate_limit", WARN, "No auth rate limiting configured", "set gateway.auth.rateLimit", false),
    check("ir.gateway.bind_not_loopback", WARN, "Gateway not bound to loopback", "bind to loopback and reach it over Tailscale or a VPN", false),
    check("ir.gateway.control_ui_insecure_auth", CRITICAL, "Control UI allows insecure auth", "set it to false", false),
    check("ir.discovery.mdns_on", INFO, "mDNS discovery is on", "set discovery.mdns.mode to off", false),
    // Gateway secrets.
    check("gateway.token_placeholder_value", CRITICAL, "Gateway token is a blank or placeholder value", "ir rotate", false),
    check("gateway.password_placeholder_value", CRITICAL, "Gateway password is a blank or placeholder value", "ir rotate", false),
    check("gateway.token_too_short", WARN, "Gateway token looks short", "ir rotate", false),
    check("gateway.password_too_short", WARN, "Gateway password looks short", "ir rotate", false),
    check("ir.gateway.token_under_32", WARN, "Gateway token shorter than 32 characters", "ir rotate", false),
    check("ir.gateway.token_in_config", WARN, "Gateway token written into the config", "move it to OPENCLAW_GATEWAY_TOKEN or a file SecretRef", false),
    // Hooks.
    check("hooks.token_too_short", WARN, "Hooks token looks short", "ir rotate", false),
    check("hooks.token_reuse_gateway_token", CRITICAL, "Hooks token reuses the gateway token", "ir rotate (it gives hooks its own token)", false),
    check("hooks.path_root", CRITICAL, "Hooks base path is '/'", "use a dedicated path like /hooks", false),
    // Channels and sessions.
    check("channels.*.dm.open", CRITICAL, "Open DM policy", "set dmPolicy to pairing or allowlist", false),
    check("ir.channels.*.group_open", WARN, "Open group policy", "ir audit --fix flips it to allowlist", true),
    check("ir.session.dm_scope_shared", WARN, "Several users share one DM session scope", "set session.dmScope to per-channel-peer", false),
    // Tools and sandbox.
    check("ir.sandbox.off", WARN, "No sandbox", "set it to non-main or all", false),
    check("ir.tools.public_agent_without_deny", WARN, "Public agent without a tool deny list", "deny exec, write, browser for public agents", false),
    // Logging and version.
    check("ir.logging.redaction_off", WARN, "Log redaction is off", "set it to tools or full", false),
    check("ir.version.cve_2026_25253", CRITICAL, "Vulnerable OpenClaw version", "update openclaw, then rotate the gateway token", false),
];

/// The findings of one audit run, raised by check id.
struct Findings {
    out: Vec<Finding>,
    beyond_loopback: bool,
}

impl Findings {
    /// Raises check `id` with what was found.
    fn raise(&mut self, id: &str, detail: impl Into<String>) {
        self.raise_for(id, "", detail);
    }

    /// Raises check `id` (whose `*` is replaced by `name`).
    fn raise_for(&mut self, id: &str, name: &str, detail: impl Into<String>) {
        let Some(c) = CHECKS.iter().find(|c| c.id == id) else {
            // Only a typo in this file can get here; the unit tests raise
            // every id through the table.
            debug_assert!(false, "audit check {id} is not in CHECKS");
            return;
        };
        let severity = match c.level {
            Level::Always(s) => s,
            Level::ByExposure if self.beyond_loopback => Severity::Critical,
            Level::ByExposure => Severity::Warn,
        };
        self.out.push(Finding {
            id: c.id.replace('*', name),
            severity,
            title: c.title.into(),
            detail: detail.into(),
            fix: c.fix.into(),
            fixable: c.fixable,
        });
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

/// Raises the first check whose mode bits are set in `mode`.
fn first_mode_match(out: &mut Findings, mode: u32, ladder: &[(u32, &str)], detail: String) {
    if let Some((_, id)) = ladder.iter().find(|(bits, _)| mode & bits != 0) {
        out.raise(id, detail);
    }
}

fn fs_state_dir(out: &mut Findings, dep: &Deployment) {
    let state = &dep.paths.state_dir;
    let shown = crate::sanitize::escape_path(state);
    if dep.state_dir_symlink.is_some() {
        out.raise("fs.state_dir.symlink", format!("{shown} is a symlink"));
    }
    if let Some((_, m)) = perms(state) {
        let ladder = [
            (0o002, "fs.state_dir.perms_world_writable"),
            (0o020, "fs.state_dir.perms_group_writable"),
            (0o044, "fs.state_dir.perms_readable"),
        ];
        first_mode_match(out, m, &ladder, format!("{shown} mode={m:o}"));
    }
}

fn fs_config(out: &mut Findings, dep: &Deployment) {
    let cfg = &dep.paths.config;
    if let Some((link, m)) = perms(cfg) {
        let detail = format!("{} mode={m:o}", crate::sanitize::escape_path(cfg));
        if link {
            out.raise("fs.config.symlink", detail);
            return;
        }
        let ladder = [
            (0o022, "fs.config.perms_writable"),
            (0o004, "fs.config.perms_world_readable"),
            (0o040, "fs.config.perms_group_readable"),
        ];
        first_mode_match(out, m, &ladder, detail);
    }
}

fn fs_credentials_dir(out: &mut Findings, dep: &Deployment) {
    let creds = &dep.paths.credentials_dir;
    if let Some((false, m)) = perms(creds) {
        let ladder = [
            (0o022, "fs.credentials_dir.perms_writable"),
            (0o044, "fs.credentials_dir.perms_readable"),
        ];
        let detail = format!("{} mode={m:o}", crate::sanitize::escape_path(creds));
        first_mode_match(out, m, &ladder, detail);
    }
}

/// The checklist: every secret-bearing file 600.
fn fs_secret_files(out: &mut Findings, dep: &Deployment) -> Result<()> {
    for (p, _) in secret_files(dep) {
        crate::signal::check()?;
        if let Some((false, m)) = perms(&p)
            && m & 0o077 != 0
        {
            let detail = format!("{} mode={m:o}", crate::sanitize::escape_path(&p));
            out.raise("ir.fs.secret_file_perms", detail);
        }
    }
    Ok(())
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

/// What the config checks look at, read once.
struct Facts<'a> {
    c: &'a Value,
    g: &'a crate::openclaw::gateway::Settings,
    bind: &'a str,
    mode: Option<&'a str>,
    has_auth: bool,
    control_ui: bool,
    origins: Vec<&'a str>,
}

impl<'a> Facts<'a> {
    fn of(dep: &'a Deployment, c: &'a Value) -> Facts<'a> {
        let g = &dep.gateway;
        let mode = g.auth_mode.as_deref();
        let token_set = g.token.is_set()
            || std::env::var("OPENCLAW_GATEWAY_TOKEN").is_ok_and(|t| !t.is_empty());
        let has_auth = match mode {
            Some("token") => token_set,
            Some("password") => g.password.is_set(),
            Some("none" | "trusted-proxy") => false,
            _ => token_set || g.password.is_set(),
        };
        Facts {
            c,
            g,
            bind: g.bind.as_str(),
            mode,
            has_auth,
            control_ui: config::get(c, "gateway.controlUi.enabled") != Some(&Value::Bool(false)),
            origins: config::get(c, "gateway.controlUi.allowedOrigins")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default(),
        }
    }

    fn is_true(&self, key: &str) -> bool {
        config::get(self.c, key) == Some(&Value::Bool(true))
    }
}

/// Auth on the gateway's bind, the Control UI's origins, Tailscale, mDNS,
/// rate limiting.
fn gateway_exposure(out: &mut Findings, x: &Facts) {
    let (bind, c) = (x.bind, x.c);
    if bind != "loopback" && !x.has_auth {
        out.raise(
            "gateway.bind_no_auth",
            format!("gateway.bind=\"{bind}\" but no gateway.auth token/password is configured."),
        );
    }
    if bind == "loopback" && x.control_ui && !x.has_auth {
        out.raise(
            "gateway.loopback_no_auth",
            "gateway.bind is loopback but no gateway auth secret is configured.",
        );
    }
    if bind != "loopback"
        && x.control_ui
        && x.origins.is_empty()
        && !x.is_true("gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback")
    {
        out.raise(
            "gateway.control_ui.allowed_origins_required",
            "Control UI is enabled on a non-loopback bind but gateway.controlUi.allowedOrigins is empty.",
        );
    }
    if x.origins.contains(&"*") {
        out.raise(
            "gateway.control_ui.allowed_origins_wildcard",
            "gateway.controlUi.allowedOrigins includes \"*\".",
        );
    }
    match x.g.tailscale_mode.as_deref() {
        Some("funnel") => out.raise(
            "gateway.tailscale_funnel",
            "gateway.tailscale.mode=\"funnel\" exposes the Gateway publicly.",
        ),
        Some("serve") => out.raise(
            "gateway.tailscale_serve",
            "gateway.tailscale.mode=\"serve\" exposes the Gateway to your tailnet.",
        ),
        _ => {}
    }
    if config::get_str(c, "discovery.mdns.mode") == Some("full") {
        out.raise("discovery.mdns_full_mode", "discovery.mdns.mode=\"full\".");
    }
    if bind != "loopback"
        && x.mode != Some("trusted-proxy")
        && config::get(c, "gateway.auth.rateLimit").is_none()
    {
        out.raise(
            "gateway.auth_no_rate_limit",
            "gateway.bind is not loopback but no gateway.auth.rateLimit is configured.",
        );
    }
}

/// Values OpenClaw treats as no secret at all.
const PLACEHOLDERS: &[&str] = &[
    "",
    "undefined",
    "null",
    "change-me-to-a-long-random-token",
    "change-me-now",
    "__OPENCLAW_REDACTED__",
];

/// The gateway token or password of the active auth mode: blank,
/// placeholder or short.
fn gateway_secrets(out: &mut Findings, x: &Facts) {
    for cred in ["token", "password"] {
        if x.mode != Some(cred) {
            continue;
        }
        let raw = config::get_str(x.c, &format!("gateway.auth.{cred}")).map(str::trim);
        if raw.is_some_and(|r| PLACEHOLDERS.contains(&r)) {
            out.raise(
                &format!("gateway.{cred}_placeholder_value"),
                "Gateway startup rejects it.",
            );
        } else if let Some(n) = raw.map(|r| r.chars().count()).filter(|n| *n < 24) {
            out.raise(
                &format!("gateway.{cred}_too_short"),
                format!("gateway auth {cred} is {n} chars; prefer a long random {cred}."),
            );
        }
    }
}

/// The hooks endpoint: its token and base path.
fn hooks(out: &mut Findings, x: &Facts) {
    let c = x.c;
    if !x.is_true("hooks.enabled") {
        return;
    }
    let ht = config::get_str(c, "hooks.token").unwrap_or("");
    let n = ht.chars().count();
    if !ht.is_empty() && n < 24 {
        out.raise(
            "hooks.token_too_short",
            format!("hooks.token is {n} chars; prefer a long random token."),
        );
    }
    if !ht.is_empty() && Some(ht) == config::get_str(c, "gateway.auth.token") {
        out.raise(
            "hooks.token_reuse_gateway_token",
            "hooks.token equals gateway.auth.token.",
        );
    }
    if config::get_str(c, "hooks.path") == Some("/") {
        out.raise(
            "hooks.path_root",
            "hooks.path='/' would shadow other HTTP endpoints.",
        );
    }
}

/// DM and group policies of every channel, and whether several allowed
/// senders share one DM session.
fn channels(out: &mut Findings, x: &Facts) {
    let c = x.c;
    let mut allow_users = 0usize;
    if let Some(Value::Object(chs)) = config::get(c, "channels") {
        for (name, ch) in chs {
            let dm = ch
                .get("dmPolicy")
                .and_then(Value::as_str)
                .or_else(|| ch.pointer("/dm/policy").and_then(Value::as_str));
            if dm == Some("open") {
                let detail = format!("channels.{name} accepts DMs from anyone.");
                out.raise_for("channels.*.dm.open", name, detail);
            }
            if ch.get("groupPolicy").and_then(Value::as_str) == Some("open") {
                let detail = format!("channels.{name}.groupPolicy is \"open\".");
                out.raise_for("ir.channels.*.group_open", name, detail);
            }
            allow_users += ch
                .get("allowFrom")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
        }
    }
    if allow_users > 1 && config::get_str(c, "session.dmScope") != Some("per-channel-peer") {
        out.raise(
            "ir.session.dm_scope_shared",
            "more than one allowed sender but session.dmScope is not per-channel-peer.",
        );
    }
}

/// The hardening checklist's gateway items: token length and place, bind,
/// Control UI auth, mDNS.
fn checklist_gateway(out: &mut Findings, x: &Facts) {
    let g = x.g;
    if let Some(n) = secret_len(&g.token).filter(|n| *n < 32) {
        out.raise(
            "ir.gateway.token_under_32",
            format!("the token is {n} chars; the checklist asks for 32 or more."),
        );
    }
    if matches!(g.token, SecretInfo::Inline { .. }) {
        out.raise(
            "ir.gateway.token_in_config",
            "the checklist asks for the token to come from the environment or a secret file (a SecretRef), not the config, whose .bak copies keep old tokens.",
        );
    }
    if x.bind != "loopback" {
        out.raise(
            "ir.gateway.bind_not_loopback",
            format!("gateway.bind=\"{}\".", x.bind),
        );
    }
    if x.is_true("gateway.controlUi.allowInsecureAuth") {
        out.raise(
            "ir.gateway.control_ui_insecure_auth",
            "gateway.controlUi.allowInsecureAuth is true.",
        );
    }
    if config::get_str(x.c, "discovery.mdns.mode").unwrap_or("minimal") != "off" {
        out.raise("ir.discovery.mdns_on", "the checklist turns mDNS off.");
    }
}

/// The sandbox default and agents that run sandboxed for everyone without
/// denying any tool.
fn tools_and_sandbox(out: &mut Findings, x: &Facts) {
    let c = x.c;
    if config::get_str(c, "agents.defaults.sandbox.mode").unwrap_or("off") == "off" {
        out.raise(
            "ir.sandbox.off",
            "agents.defaults.sandbox.mode is off or unset.",
        );
    }
    let agents = config::get(c, "agents.list").and_then(Value::as_array);
    for a in agents.into_iter().flatten() {
        if a.pointer("/sandbox/mode").and_then(Value::as_str) == Some("all")
            && a.pointer("/sandbox/tools/deny").is_none()
            && a.pointer("/tools/deny").is_none()
        {
            out.raise(
                "ir.tools.public_agent_without_deny",
                format!(
                    "agent {} runs sandboxed for everyone but denies no tool.",
                    a.get("id").and_then(Value::as_str).unwrap_or("?")
                ),
            );
        }
    }
}

/// Log redaction and a version with a known token leak.
fn logging_and_version(out: &mut Findings, x: &Facts, dep: &Deployment) {
    if config::get_str(x.c, "logging.redactSensitive") == Some("off") {
        out.raise(
            "ir.logging.redaction_off",
            "logging.redactSensitive is off.",
        );
    }
    if let Some(v) = &dep.layout.version
        && !layout::version_at_least(v, FIXED_CVE_2026_25253)
    {
        out.raise(
            "ir.version.cve_2026_25253",
            format!("{v} is older than {FIXED_CVE_2026_25253} (CVE-2026-25253: the Control UI leaks the gateway token)."),
        );
    }
}

fn config_findings(out: &mut Findings, dep: &Deployment) {
    let null = Value::Null;
    let c = dep.config.as_ref().unwrap_or(&null);
    let x = Facts::of(dep, c);
    gateway_exposure(out, &x);
    gateway_secrets(out, &x);
    hooks(out, &x);
    channels(out, &x);
    checklist_gateway(out, &x);
    tools_and_sandbox(out, &x);
    logging_and_version(out, &x, dep);
}
/// Runs every check. Interrupted (Ctrl-C) between secret files, the only
/// part that grows with the deployment.
pub fn audit(dep: &Deployment) -> Result<Vec<Finding>> {
    let mut found = Findings {
        out: Vec::new(),
        beyond_loopback: dep.gateway.bind != "loopback",
    };
    fs_state_dir(&mut found, dep);
    fs_config(&mut found, dep);
    fs_credentials_dir(&mut found, dep);
    fs_secret_files(&mut found, dep)?;
    config_findings(&mut found, dep);
    let mut out = found.out;
    // Stable: findings of one id keep the order they were found in.
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// Applies the safe fixes, journaling each change; returns what changed.
pub fn fix(dep: &Deployment, run: &Run) -> Result<Vec<Change>> {
    // Ctrl-C is honoured before the first change only: the fixes are a
    // handful of chmods and one atomic config write, so once begun they
    // finish and the run ends as interrupted.
    crate::signal::check()?;
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
        let c = Change {
            kind: ChangeKind::Chmod,
            path: crate::sanitize::escape_path(&p),
            from: format!("{have:o}"),
            to: format!("{want:o}"),
        };
        run.event("fix", serde_json::to_value(&c)?)?;
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
            let c = Change {
                kind: ChangeKind::Config,
                path: format!("channels.{ch}.groupPolicy"),
                from: "open".into(),
                to: "allowlist".into(),
            };
            run.event("fix", serde_json::to_value(&c)?)?;
            changes.push(c);
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_entry_per_check_id() {
        let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "a check id appears twice in CHECKS");
        for id in OPENCLAW_CHECKS {
            assert!(ids.contains(id), "{id} is implemented but not in CHECKS");
        }
    }

    #[test]
    fn every_raised_id_is_in_the_table() {
        // The literal ids this file raises (directly or from a mode
        // ladder), and the ones it formats.
        let src = include_str!("audit.rs");
        let re = regex::Regex::new(r#"(?:raise(?:_for)?\(|\(0o[0-7]+,)\s*"([^"]+)""#).unwrap();
        let mut raised: Vec<String> = re.captures_iter(src).map(|c| c[1].to_string()).collect();
        assert!(raised.len() > 35, "{raised:?}");
        for cred in ["token", "password"] {
            raised.push(format!("gateway.{cred}_placeholder_value"));
            raised.push(format!("gateway.{cred}_too_short"));
        }
        for id in raised {
            assert!(CHECKS.iter().any(|c| c.id == id), "{id} is not in CHECKS");
        }
    }

    #[test]
    fn severity_follows_exposure_and_names_fill_the_id() {
        let mut f = Findings {
            out: Vec::new(),
            beyond_loopback: true,
        };
        f.raise("discovery.mdns_full_mode", "d");
        f.beyond_loopback = false;
        f.raise("discovery.mdns_full_mode", "d");
        f.raise_for("channels.*.dm.open", "telegram", "d");
        assert_eq!(f.out[0].severity, Severity::Critical);
        assert_eq!(f.out[1].severity, Severity::Warn);
        assert_eq!(f.out[2].id, "channels.telegram.dm.open");
        assert!(implements(&f.out[2].id));
    }
}
