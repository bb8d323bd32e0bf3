//! Gateway checks: auth on the bind (resolved as OpenClaw's
//! `resolveGatewayAuthForConfig` resolves it: explicit mode, config, the
//! environment and the state dir's `.env`), the Control UI's origins,
//! trusted proxies, Tailscale, mDNS, HTTP endpoints, rate limiting, the
//! gateway's secrets and the hooks endpoint; then the hardening
//! checklist's gateway items (`ir.*`).

use super::Findings;
use crate::openclaw::Deployment;
use crate::openclaw::config::{self, SecretInfo};
use crate::record::Severity;
use serde_json::Value;

/// What the gateway checks look at, read once.
pub(super) struct Facts<'a> {
    c: &'a Value,
    g: &'a crate::openclaw::gateway::Settings,
    bind: &'a str,
    tailscale: &'a str,
    /// `gateway.auth.mode` as written.
    explicit_mode: Option<&'a str>,
    /// The mode OpenClaw resolves (`token` when nothing says otherwise).
    mode: &'a str,
    /// `OPENCLAW_GATEWAY_TOKEN` from the environment or the state dir's
    /// `.env`.
    env_token: Option<String>,
    /// The resolved token and password (inline or from the environment);
    /// `None` for a SecretRef or when unset.
    token: Option<String>,
    password: Option<String>,
    has_auth: bool,
    has_loopback_auth: bool,
    control_ui: bool,
    origins: Vec<&'a str>,
    trusted_proxies: Vec<&'a str>,
}

/// An inline string secret, trimmed; `None` when unset or a SecretRef.
fn inline(c: &Value, key: &str) -> Option<String> {
    config::get_str(c, key).map(|s| s.to_string())
}

fn non_blank(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.trim().is_empty())
}

fn is_ref(c: &Value, key: &str) -> bool {
    matches!(SecretInfo::at(c, key), SecretInfo::Ref { .. })
}

fn strings<'a>(c: &'a Value, key: &str) -> Vec<&'a str> {
    config::get(c, key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

impl<'a> Facts<'a> {
    pub(super) fn of(dep: &'a Deployment, c: &'a Value) -> Facts<'a> {
        let g = &dep.gateway;
        // The gateway loads the state dir's .env into its environment.
        let dotenv = config::dotenv(&dep.paths.state_dir);
        let env = |k: &str| {
            dotenv
                .iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(k).ok())
                .filter(|v| !v.trim().is_empty())
        };
        let explicit_mode = config::get_str(c, "gateway.auth.mode");
        let (local_token, local_password) = (
            inline(c, "gateway.auth.token"),
            inline(c, "gateway.auth.password"),
        );
        let (env_token, env_password) = (
            env("OPENCLAW_GATEWAY_TOKEN"),
            env("OPENCLAW_GATEWAY_PASSWORD"),
        );
        let token_ref = is_ref(c, "gateway.auth.token");
        let password_ref = is_ref(c, "gateway.auth.password");
        let remote_token = inline(c, "gateway.remote.token");
        let token_configured = non_blank(&local_token)
            || env_token.is_some()
            || token_ref
            || non_blank(&remote_token)
            || is_ref(c, "gateway.remote.token");
        let token = if token_ref {
            None
        } else {
            local_token.clone().or(env_token.clone()).or(remote_token)
        };
        let password = if password_ref {
            None
        } else {
            local_password.clone().or(env_password.clone()).or_else(|| {
                (explicit_mode != Some("trusted-proxy"))
                    .then(|| inline(c, "gateway.remote.password"))
                    .flatten()
            })
        };
        let mode = explicit_mode.unwrap_or(if non_blank(&password) {
            "password"
        } else {
            "token"
        });
        let password_source = non_blank(&local_password) || env_password.is_some() || password_ref;
        let password_configured = non_blank(&local_password)
            || (explicit_mode == Some("password")
                || (!matches!(explicit_mode, Some("token" | "none" | "trusted-proxy"))
                    && !token_configured))
                && password_source;
        let has_auth = match explicit_mode {
            Some("token") => token_configured,
            Some("password") => password_configured,
            Some("none" | "trusted-proxy") => false,
            _ => token_configured || password_configured,
        } || mode == "trusted-proxy";
        let tailscale = g.tailscale_mode.as_deref().unwrap_or("off");
        let allow_tailscale = config::get(c, "gateway.auth.allowTailscale")
            .and_then(Value::as_bool)
            .unwrap_or(tailscale == "serve" && mode != "password" && mode != "trusted-proxy");
        Facts {
            c,
            g,
            bind: g.bind.as_str(),
            tailscale,
            explicit_mode,
            mode,
            env_token,
            token,
            password,
            has_auth,
            has_loopback_auth: has_auth || (allow_tailscale && tailscale == "serve"),
            control_ui: config::get(c, "gateway.controlUi.enabled") != Some(&Value::Bool(false)),
            origins: strings(c, "gateway.controlUi.allowedOrigins"),
            trusted_proxies: config::get(c, "gateway.trustedProxies")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default(),
        }
    }

    fn is_true(&self, key: &str) -> bool {
        config::get(self.c, key) == Some(&Value::Bool(true))
    }

    fn loopback(&self) -> bool {
        self.bind == "loopback"
    }
}

/// Runs the gateway checks.
pub(super) fn check(out: &mut Findings, x: &Facts) {
    exposure(out, x);
    env_token_conflict(out, x);
    nodes(out, x);
    control_ui(out, x);
    trusted_proxy(out, x);
    http(out, x);
    secrets(out, x);
    hooks(out, x);
    checklist(out, x);
}

/// `OPENCLAW_GATEWAY_TOKEN` set beside a different configured token
/// (OpenClaw's `resolveGatewayAuthTokenSourceConflict`; the gateway's own
/// service environment is not visible offline, so only `.env` and ours).
fn env_token_conflict(out: &mut Findings, x: &Facts) {
    let Some(env) = x.env_token.as_deref().map(str::trim) else {
        return;
    };
    if config::get_str(x.c, "gateway.mode") == Some("remote")
        || matches!(x.explicit_mode, Some("password" | "none" | "trusted-proxy"))
    {
        return;
    }
    let configured = match SecretInfo::at(x.c, "gateway.auth.token") {
        SecretInfo::Ref { source, id, .. } => {
            if source == "env" && id.as_deref() == Some("OPENCLAW_GATEWAY_TOKEN") {
                return;
            }
            None
        }
        SecretInfo::Inline { .. } => {
            inline(x.c, "gateway.auth.token").map(|t| t.trim().to_string())
        }
        _ => return,
    };
    if configured.as_deref() == Some(env) {
        return;
    }
    out.raise(
        "gateway.env_token_overrides_config",
        "OPENCLAW_GATEWAY_TOKEN is set while gateway.auth.token uses a different configured source.",
    );
}

/// Node commands with high-impact device actions (OpenClaw's
/// `DEFAULT_DANGEROUS_NODE_COMMANDS`; plugin-declared ones are not known
/// offline).
const DANGEROUS_NODE_COMMANDS: &[&str] = &[
    "camera.snap",
    "camera.clip",
    "camera.ptz.control",
    "screen.record",
    "contacts.add",
    "calendar.add",
    "reminders.add",
    "sms.send",
    "sms.search",
    "health.summary",
];

fn nodes(out: &mut Findings, x: &Facts) {
    let norm = |v: Vec<&str>| -> Vec<String> { v.iter().map(|s| s.to_lowercase()).collect() };
    let allow = norm(strings(x.c, "gateway.nodes.commands.allow"));
    let deny = norm(strings(x.c, "gateway.nodes.commands.deny"));
    let hit: Vec<&str> = DANGEROUS_NODE_COMMANDS
        .iter()
        .copied()
        .filter(|c| allow.iter().any(|a| a == c) && !deny.iter().any(|d| d == c))
        .collect();
    if !hit.is_empty() {
        out.raise(
            "gateway.nodes.allow_commands_dangerous",
            format!("gateway.nodes.commands.allow includes: {}.", hit.join(", ")),
        );
    }
}

/// Tools that `POST /tools/invoke` denies unless `gateway.tools.allow`
/// re-enables them (OpenClaw's `DEFAULT_GATEWAY_HTTP_TOOL_DENY`).
const HTTP_TOOL_DENY: &[&str] = &[
    "exec",
    "spawn",
    "shell",
    "fs_write",
    "fs_delete",
    "fs_move",
    "apply_patch",
    "terminal",
    "portal",
    "sessions_spawn",
    "sessions_send",
    "conversations_list",
    "conversations_send",
    "conversations_turn",
    "automations",
    "gateway",
    "plugins",
    "nodes",
    "computer",
    "mobile_ui",
    "openclaw",
];

/// Auth on the bind, Tailscale, mDNS, MCP apps, rate limiting.
fn exposure(out: &mut Findings, x: &Facts) {
    if !x.loopback() && !x.has_auth {
        out.raise(
            "gateway.bind_no_auth",
            format!(
                "gateway.bind=\"{}\" but no gateway.auth token/password is configured.",
                x.bind
            ),
        );
    }
    if x.loopback() && x.control_ui && x.trusted_proxies.is_empty() {
        out.raise(
            "gateway.trusted_proxies_missing",
            "gateway.bind is loopback and gateway.trustedProxies is empty.",
        );
    }
    if x.loopback() && x.control_ui && !x.has_loopback_auth {
        out.raise(
            "gateway.loopback_no_auth",
            "gateway.bind is loopback but no gateway auth secret is configured.",
        );
    }
    match x.tailscale {
        "funnel" => out.raise(
            "gateway.tailscale_funnel",
            "gateway.tailscale.mode=\"funnel\" exposes the Gateway publicly.",
        ),
        "serve" => out.raise(
            "gateway.tailscale_serve",
            "gateway.tailscale.mode=\"serve\" exposes the Gateway to your tailnet.",
        ),
        _ => {}
    }
    if config::get_str(x.c, "discovery.mdns.mode") == Some("full") {
        out.raise("discovery.mdns_full_mode", "discovery.mdns.mode=\"full\".");
    }
    if x.is_true("mcp.apps.enabled") {
        out.raise("mcp.apps.enabled", "mcp.apps.enabled=true.");
    }
    if !x.loopback()
        && x.mode != "trusted-proxy"
        && config::get(x.c, "gateway.auth.rateLimit").is_none_or(|v| v.is_null())
    {
        out.raise(
            "gateway.auth_no_rate_limit",
            "gateway.bind is not loopback but no gateway.auth.rateLimit is configured.",
        );
    }
    for flag in dangerous_flags(x.c) {
        out.raise(
            "config.insecure_or_dangerous_flags",
            format!("Detected enabled flag: {flag}."),
        );
    }
}

/// OpenClaw's core insecure or dangerous flags (plugin-declared flags are
/// not read: they come from each plugin's manifest contracts).
fn dangerous_flags(c: &Value) -> Vec<String> {
    let t = |k: &str| config::get(c, k) == Some(&Value::Bool(true));
    let f = |k: &str| config::get(c, k) == Some(&Value::Bool(false));
    let mut v = Vec::new();
    for k in [
        "gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback",
        "hooks.gmail.allowUnsafeExternalContent",
    ] {
        if t(k) {
            v.push(format!("{k}=true"));
        }
    }
    if let Some(Value::Array(m)) = config::get(c, "hooks.mappings") {
        for (i, e) in m.iter().enumerate() {
            if e.get("allowUnsafeExternalContent") == Some(&Value::Bool(true)) {
                v.push(format!(
                    "hooks.mappings[{i}].allowUnsafeExternalContent=true"
                ));
            }
        }
    }
    if f("tools.exec.applyPatch.workspaceOnly") {
        v.push("tools.exec.applyPatch.workspaceOnly=false".into());
    }
    if let Some(n) = config::get(c, "security.audit.suppressions")
        .and_then(Value::as_array)
        .map(Vec::len)
        .filter(|n| *n > 0)
    {
        v.push(format!("security.audit.suppressions configured ({n})"));
    }
    if t("hooks.allowRequestSessionKey") {
        v.push("hooks.allowRequestSessionKey=true".into());
    }
    if t("browser.ssrfPolicy.dangerouslyAllowPrivateNetwork") {
        v.push("browser.ssrfPolicy.dangerouslyAllowPrivateNetwork=true".into());
    }
    if f("tools.fs.workspaceOnly") {
        v.push("tools.fs.workspaceOnly=false".into());
    }
    let mut dockers = vec![(
        "agents.defaults.sandbox.docker".to_string(),
        config::get(c, "agents.defaults.sandbox.docker"),
    )];
    for (id, a) in super::fs::agent_entries(c) {
        dockers.push((
            format!("agents.entries.{id}.sandbox.docker"),
            a.pointer("/sandbox/docker"),
        ));
    }
    for (path, d) in dockers {
        for k in DANGEROUS_DOCKER_FLAGS {
            if d.and_then(|d| d.get(*k)) == Some(&Value::Bool(true)) {
                v.push(format!("{path}.{k}=true"));
            }
        }
    }
    v
}

/// Sandbox docker booleans that switch a safety check off.
const DANGEROUS_DOCKER_FLAGS: &[&str] = &[
    "dangerouslyAllowReservedContainerTargets",
    "dangerouslyAllowExternalBindSources",
    "dangerouslyAllowContainerNamespaceJoin",
];

/// The Control UI's origins and the real-IP fallback.
fn control_ui(out: &mut Findings, x: &Facts) {
    let fallback = x.is_true("gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback");
    if !x.loopback() && x.control_ui && x.origins.is_empty() && !fallback {
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
    if fallback {
        out.raise(
            "gateway.control_ui.host_header_origin_fallback",
            "gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback=true.",
        );
    }
    if x.is_true("gateway.allowRealIpFallback") {
        let strict_loopback = |p: &str| {
            let p = p.trim();
            p == "127.0.0.1" || p == "::1" || p == "127.0.0.1/32" || p == "::1/128"
        };
        let exposed = !x.loopback()
            || (x.mode == "trusted-proxy" && x.trusted_proxies.iter().any(|p| !strict_loopback(p)));
        out.raise_at(
            "gateway.real_ip_fallback_enabled",
            if exposed {
                Severity::Critical
            } else {
                Severity::Warn
            },
            "gateway.allowRealIpFallback=true.",
        );
    }
}

/// `gateway.auth.mode: "trusted-proxy"`: authenticated by the proxy, and
/// judged by how the proxy is trusted.
fn trusted_proxy(out: &mut Findings, x: &Facts) {
    if x.mode != "trusted-proxy" {
        return;
    }
    let tp = |k: &str| config::get(x.c, &format!("gateway.auth.trustedProxy.{k}"));
    out.raise(
        "gateway.trusted_proxy_auth",
        "gateway.auth.mode=\"trusted-proxy\" delegates authentication to a reverse proxy.",
    );
    if x.trusted_proxies.is_empty() {
        out.raise(
            "gateway.trusted_proxy_no_proxies",
            "gateway.trustedProxies is empty.",
        );
    }
    if tp("userHeader")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        out.raise(
            "gateway.trusted_proxy_no_user_header",
            "gateway.auth.trustedProxy.userHeader is not configured.",
        );
    }
    if tp("allowLoopback") == Some(&Value::Bool(true)) {
        out.raise(
            "gateway.trusted_proxy_allow_loopback",
            "gateway.auth.trustedProxy.allowLoopback=true.",
        );
    }
    if tp("deviceAutoApprove").and_then(|d| d.get("enabled")) == Some(&Value::Bool(true)) {
        out.raise(
            "gateway.trusted_proxy_device_auto_approve",
            "gateway.auth.trustedProxy.deviceAutoApprove.enabled=true.",
        );
        if strings(x.c, "gateway.auth.trustedProxy.deviceAutoApprove.scopes")
            .contains(&"operator.admin")
        {
            out.raise(
                "gateway.trusted_proxy_device_auto_approve_admin",
                "gateway.auth.trustedProxy.deviceAutoApprove.scopes includes operator.admin.",
            );
        }
    }
    if tp("allowUsers")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        out.raise(
            "gateway.trusted_proxy_no_allowlist",
            "gateway.auth.trustedProxy.allowUsers is empty.",
        );
    }
}

/// HTTP endpoints: without auth, with dangerous tools re-enabled, with a
/// caller-chosen session key.
fn http(out: &mut Findings, x: &Facts) {
    let http_auth = match x.mode {
        "token" => non_blank(&x.token) || is_ref(x.c, "gateway.auth.token"),
        "password" => non_blank(&x.password) || is_ref(x.c, "gateway.auth.password"),
        "trusted-proxy" => true,
        _ => false,
    };
    if !http_auth {
        out.raise(
            "gateway.http.no_auth",
            format!(
                "gateway.auth.mode=\"{}\" leaves /tools/invoke callable without a shared secret.",
                x.mode
            ),
        );
    }
    let allow: Vec<String> = strings(x.c, "gateway.tools.allow")
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let reenabled: Vec<&str> = HTTP_TOOL_DENY
        .iter()
        .copied()
        .filter(|t| allow.iter().any(|a| a == t))
        .collect();
    if !reenabled.is_empty() {
        let extra = !x.loopback() || x.tailscale == "funnel";
        out.raise_at(
            "gateway.tools_invoke_http.dangerous_allow",
            if extra {
                Severity::Critical
            } else {
                Severity::Warn
            },
            format!("gateway.tools.allow includes {}.", reenabled.join(", ")),
        );
    }
    let ep = |k: &str| x.is_true(&format!("gateway.http.endpoints.{k}.enabled"));
    if x.is_true("gateway.http.allowSessionKeyOverride")
        && (ep("chatCompletions") || ep("responses"))
    {
        out.raise(
            "gateway.http.session_key_override_enabled",
            "gateway.http.allowSessionKeyOverride=true.",
        );
    }
}

/// Published example secrets the gateway refuses to start with.
const KNOWN_WEAK: &[&str] = &[
    "change-me-to-a-long-random-token",
    "change-me-now",
    "change-me-to-a-strong-password",
];

/// The secret of the active auth mode: blank, placeholder or short; a
/// password kept in the config.
fn secrets(out: &mut Findings, x: &Facts) {
    for cred in ["token", "password"] {
        if x.mode != cred {
            continue;
        }
        let key = format!("gateway.auth.{cred}");
        let resolved = if cred == "token" {
            &x.token
        } else {
            &x.password
        };
        let input = if is_ref(x.c, &key) {
            None
        } else {
            resolved.clone().or_else(|| inline(x.c, &key))
        };
        let Some(v) = input.as_deref().map(str::trim) else {
            continue;
        };
        if ["", "undefined", "null"].contains(&v) {
            out.raise(
                &format!("gateway.{cred}_placeholder_value"),
                "The selected Gateway secret is a known non-secret value. Gateway startup rejects it.",
            );
        } else if KNOWN_WEAK.contains(&v) {
            out.raise(
                "ir.gateway.token_known_weak",
                format!("gateway auth {cred} is a published example value."),
            );
        } else if v.chars().count() < 24 {
            out.raise(
                &format!("gateway.{cred}_too_short"),
                format!(
                    "gateway auth {cred} is {} chars; prefer a long random {cred}.",
                    v.encode_utf16().count()
                ),
            );
        }
    }
    if config::get_str(x.c, "gateway.auth.password").is_some_and(|p| !p.trim().is_empty()) {
        out.raise(
            "config.secrets.gateway_password_in_config",
            "gateway.auth.password is set in the config file.",
        );
    }
}

/// The hooks endpoint: its token, base path, routing and session keys.
fn hooks(out: &mut Findings, x: &Facts) {
    let c = x.c;
    if !x.is_true("hooks.enabled") {
        return;
    }
    let ht = config::get_str(c, "hooks.token").map_or("", str::trim);
    if !ht.is_empty() {
        out.raise(
            "config.secrets.hooks_token_in_config",
            "hooks.token is set in the config file.",
        );
    }
    if !ht.is_empty() && ht.encode_utf16().count() < 24 {
        out.raise(
            "hooks.token_too_short",
            format!(
                "hooks.token is {} chars; prefer a long random token.",
                ht.encode_utf16().count()
            ),
        );
    }
    let shared = match x.mode {
        "token" => x.token.as_deref(),
        "password" | "trusted-proxy" => x.password.as_deref(),
        _ => None,
    };
    if !ht.is_empty() && shared.map(str::trim) == Some(ht) {
        out.raise(
            "hooks.token_reuse_gateway_token",
            "hooks.token matches the gateway's shared secret.",
        );
    }
    if config::get_str(c, "hooks.path").map(str::trim) == Some("/") {
        out.raise(
            "hooks.path_root",
            "hooks.path='/' would shadow other HTTP endpoints.",
        );
    }
    if config::get_str(c, "hooks.defaultSessionKey").is_none_or(|s| s.trim().is_empty()) {
        out.raise(
            "hooks.default_session_key_unset",
            "hooks.defaultSessionKey is not set.",
        );
    }
    let ids = config::get(c, "hooks.allowedAgentIds").and_then(Value::as_array);
    if ids.is_none_or(|a| a.iter().any(|v| v.as_str().map(str::trim) == Some("*"))) {
        out.raise(
            "hooks.allowed_agent_ids_unrestricted",
            "hooks.allowedAgentIds is unset or includes '*'.",
        );
    }
    if x.is_true("hooks.allowRequestSessionKey") {
        out.raise(
            "hooks.request_session_key_enabled",
            "hooks.allowRequestSessionKey=true.",
        );
        if strings(c, "hooks.allowedSessionKeyPrefixes").is_empty() {
            out.raise(
                "hooks.request_session_key_prefixes_missing",
                "hooks.allowedSessionKeyPrefixes is unset or empty.",
            );
        }
    }
}

/// The hardening checklist's gateway items: token length and place, bind,
/// mDNS.
fn checklist(out: &mut Findings, x: &Facts) {
    let g = x.g;
    if let SecretInfo::Inline { length } = g.token {
        if length < 32 && x.explicit_mode != Some("password") {
            out.raise(
                "ir.gateway.token_under_32",
                format!("the token is {length} chars; the checklist asks for 32 or more."),
            );
        }
        out.raise(
            "ir.gateway.token_in_config",
            "the checklist asks for the token to come from the environment or a secret file (a SecretRef), not the config, whose .bak copies keep old tokens.",
        );
    }
    if !x.loopback() {
        out.raise(
            "ir.gateway.bind_not_loopback",
            format!("gateway.bind=\"{}\".", x.bind),
        );
    }
    if config::get_str(x.c, "discovery.mdns.mode").unwrap_or("minimal") != "off" {
        out.raise("ir.discovery.mdns_on", "the checklist turns mDNS off.");
    }
}
