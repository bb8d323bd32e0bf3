//! Tool, sandbox and model checks: elevated allowlists, exec security and
//! host, safe-bin trust dirs, tool profiles, the sandbox's Docker settings,
//! legacy and weak models, and what open DMs and groups can reach
//! (OpenClaw's exposure matrix and multi-user heuristic); then the
//! checklist's sandbox and public-agent items.

use super::Findings;
use super::fs::agent_entries;
use crate::openclaw::config;
use crate::record::Severity;
use serde_json::Value;

/// Runs the tool, sandbox and model checks.
pub(super) fn check(out: &mut Findings, c: &Value) {
    roster(out, c);
    elevated(out, c);
    exec(out, c);
    sandbox(out, c);
    models(out, c);
    exposure(out, c);
    checklist(out, c);
}

/// The sandbox mode of an agent, else the defaults', else `off`.
pub(super) fn sandbox_mode<'a>(c: &'a Value, agent: Option<&'a Value>) -> &'a str {
    agent
        .and_then(|a| a.pointer("/sandbox/mode"))
        .and_then(Value::as_str)
        .or_else(|| config::get_str(c, "agents.defaults.sandbox.mode"))
        .unwrap_or("off")
}

fn trimmed(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| match e {
                    Value::String(s) => Some(s.trim().to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The agent roster must name one default agent: a sole entry, exactly
/// one `default: true`, or `agents.ownership: "explicit"` with none.
fn roster(out: &mut Findings, c: &Value) {
    let agents = agent_entries(c);
    let has_roster =
        config::get(c, "agents.entries").is_some() || config::get(c, "agents.list").is_some();
    if agents.is_empty() && !has_roster {
        return;
    }
    let defaults = agents
        .iter()
        .filter(|(_, a)| a.get("default") == Some(&Value::Bool(true)))
        .count();
    let explicit = config::get_str(c, "agents.ownership") == Some("explicit");
    let ok = if explicit {
        defaults == 0
    } else {
        agents.len() == 1 || defaults == 1
    };
    if !ok {
        out.raise(
            "config.agent_roster.invalid_default_count",
            format!(
                "{defaults} default markers across {} configured agents.",
                agents.len()
            ),
        );
    }
}

fn elevated(out: &mut Findings, c: &Value) {
    if config::get(c, "tools.elevated.enabled") == Some(&Value::Bool(false)) {
        return;
    }
    let Some(Value::Object(m)) = config::get(c, "tools.elevated.allowFrom") else {
        return;
    };
    for (provider, list) in m {
        let l = trimmed(Some(list));
        if l.iter().any(|e| e == "*") {
            out.raise_for(
                "tools.elevated.allowFrom.*.wildcard",
                provider,
                format!("tools.elevated.allowFrom.{provider} includes \"*\"."),
            );
        } else if l.len() > 25 {
            out.raise_for(
                "tools.elevated.allowFrom.*.large",
                provider,
                format!(
                    "tools.elevated.allowFrom.{provider} has {} entries.",
                    l.len()
                ),
            );
        }
    }
}

/// The exec security a scope resolves to (`mode` wins over `security`).
fn exec_security(mode: Option<&str>, security: &str) -> String {
    match mode {
        Some("deny") => "deny".into(),
        Some("allowlist" | "ask" | "auto") => "allowlist".into(),
        Some("full") => "full".into(),
        _ => security.to_string(),
    }
}

/// Open DM/group policies anywhere under `channels` (OpenClaw's
/// `collectOpenExecSurfacePaths`).
fn open_exec_surfaces(c: &Value) -> Vec<String> {
    fn visit(v: &Value, scope: &str, hits: &mut Vec<String>, depth: usize) {
        let Value::Object(m) = v else { return };
        if depth > 8 {
            return;
        }
        for k in ["groupPolicy", "dmPolicy"] {
            if m.get(k).and_then(Value::as_str) == Some("open") {
                hits.push(format!("{scope}.{k}"));
            }
        }
        for (k, n) in m {
            visit(n, &format!("{scope}.{k}"), hits, depth + 1);
        }
    }
    let mut hits = Vec::new();
    if let Some(Value::Object(chs)) = config::get(c, "channels") {
        for (id, v) in chs {
            visit(v, &format!("channels.{id}"), &mut hits, 0);
        }
    }
    hits.sort();
    hits.dedup();
    hits
}

/// Scopes where write/edit/apply_patch are denied but exec is not and the
/// sandbox does not hold the filesystem (OpenClaw's
/// `collectExecFilesystemPolicyDriftHits`): exec is a shell and writes
/// files anyway.
fn fs_denied_exec_allowed(c: &Value) -> Vec<String> {
    let mut ctx: Vec<(String, Option<&Value>)> = vec![("tools".into(), None)];
    for (id, a) in agent_entries(c) {
        ctx.push((format!("agents.entries.{id}.tools"), Some(a)));
    }
    let mut hits = Vec::new();
    for (label, agent) in ctx {
        let tools = agent.and_then(|a| a.get("tools"));
        let host = tools
            .and_then(|t| t.pointer("/exec/host"))
            .and_then(Value::as_str)
            .or_else(|| config::get_str(c, "tools.exec.host"))
            .unwrap_or("auto");
        let access = agent
            .and_then(|a| a.pointer("/sandbox/workspaceAccess"))
            .and_then(Value::as_str)
            .or_else(|| config::get_str(c, "agents.defaults.sandbox.workspaceAccess"))
            .unwrap_or("none");
        let constrained = sandbox_mode(c, agent) == "all"
            && host != "gateway"
            && host != "node"
            && access != "rw";
        if constrained || !tool_allowed(c, tools, "exec") {
            continue;
        }
        if ["write", "edit", "apply_patch"]
            .iter()
            .all(|t| !tool_allowed(c, tools, t))
        {
            hits.push(label);
        }
    }
    hits
}

fn exec(out: &mut Findings, c: &Value) {
    let drift = fs_denied_exec_allowed(c);
    if !drift.is_empty() {
        out.raise(
            "tools.exec.fs_tools_disabled_but_exec_enabled",
            format!(
                "write/edit/apply_patch are denied but exec is not in: {}.",
                drift.join(", ")
            ),
        );
    }
    let host = config::get_str(c, "tools.exec.host");
    if host == Some("sandbox") && sandbox_mode(c, None) == "off" {
        out.raise(
            "tools.exec.host_sandbox_no_sandbox_defaults",
            "tools.exec.host=sandbox while agents.defaults.sandbox.mode=off.",
        );
    }
    let agents = agent_entries(c);
    let risky: Vec<&str> = agents
        .iter()
        .filter(|(_, a)| {
            a.pointer("/tools/exec/host").and_then(Value::as_str) == Some("sandbox")
                && sandbox_mode(c, Some(a)) == "off"
        })
        .map(|(id, _)| id.as_str())
        .take(5)
        .collect();
    if !risky.is_empty() {
        out.raise(
            "tools.exec.host_sandbox_no_sandbox_agents",
            format!(
                "exec host is sandbox with sandbox off for: {}.",
                risky.join(", ")
            ),
        );
    }
    let g_mode = config::get_str(c, "tools.exec.mode");
    let g_sec = exec_security(
        g_mode,
        config::get_str(c, "tools.exec.security").unwrap_or("deny"),
    );
    let mut scopes = vec![("default".to_string(), g_sec.clone())];
    for (id, a) in &agents {
        let sec = a
            .pointer("/tools/exec/security")
            .and_then(Value::as_str)
            .unwrap_or(&g_sec);
        let mode = a.pointer("/tools/exec/mode").and_then(Value::as_str);
        scopes.push((id.clone(), exec_security(mode, sec)));
    }
    let full: Vec<&str> = scopes
        .iter()
        .filter(|(_, s)| s == "full")
        .map(|(id, _)| id.as_str())
        .collect();
    let enabled = scopes.iter().any(|(_, s)| s != "deny");
    let open = open_exec_surfaces(c);
    let sev = |b: bool| {
        if b {
            Severity::Critical
        } else {
            Severity::Warn
        }
    };
    if !full.is_empty() {
        out.raise_at(
            "tools.exec.security_full_configured",
            sev(!open.is_empty()),
            format!("Full exec trust is enabled for: {}.", full.join(", ")),
        );
    }
    if !open.is_empty() && enabled {
        out.raise_at(
            "security.exposure.open_channels_with_exec",
            sev(!full.is_empty()),
            format!(
                "Open DM/group access at {} reaches exec-enabled agents.",
                open.join(", ")
            ),
        );
    }
    let mut dirs = Vec::new();
    let mut risky_dirs = |scope: &str, v: Option<&Value>| {
        for d in trimmed(v) {
            if let Some(why) = risky_trusted_dir(&d) {
                dirs.push(format!("{scope}.safeBinTrustedDirs: {d} ({why})"));
            }
        }
    };
    risky_dirs(
        "tools.exec",
        config::get(c, "tools.exec.safeBinTrustedDirs"),
    );
    for (id, a) in &agents {
        risky_dirs(
            &format!("agents.entries.{id}.tools.exec"),
            a.pointer("/tools/exec/safeBinTrustedDirs"),
        );
    }
    if !dirs.is_empty() {
        out.raise("tools.exec.safe_bin_trusted_dirs_risky", dirs.join("; "));
    }
    if config::get_str(c, "tools.profile") == Some("minimal") {
        let over: Vec<String> = agents
            .iter()
            .filter_map(|(id, a)| {
                let p = a.pointer("/tools/profile").and_then(Value::as_str)?;
                (p != "minimal").then(|| format!("{id}={p}"))
            })
            .collect();
        if !over.is_empty() {
            out.raise("tools.profile_minimal_overridden", over.join(", "));
        }
    }
}

/// Why a `safeBinTrustedDirs` entry is risky (OpenClaw's classifier).
fn risky_trusted_dir(raw: &str) -> Option<&'static str> {
    if !raw.starts_with('/') {
        return Some("relative path");
    }
    let n = raw.trim_end_matches('/').to_lowercase();
    let under = |p: &str| n == p || n.starts_with(&format!("{p}/"));
    if under("/tmp") || under("/var/tmp") || under("/private/tmp") {
        return Some("temporary directory is mutable and easy to poison");
    }
    if [
        "/usr/local/bin",
        "/opt/homebrew/bin",
        "/opt/local/bin",
        "/home/linuxbrew/.linuxbrew/bin",
    ]
    .contains(&n.as_str())
    {
        return Some("package-manager bin directory");
    }
    if n.starts_with("/users/") || n.starts_with("/home/") || n.contains("/.local/bin") {
        return Some("home-scoped bin directory");
    }
    None
}

/// Host paths a sandbox bind may neither cover nor target.
const BLOCKED_HOST_PATHS: &[&str] = &[
    "/etc",
    "/private/etc",
    "/proc",
    "/sys",
    "/dev",
    "/root",
    "/boot",
    "/run",
    "/var/run",
    "/private/var/run",
    "/var/run/docker.sock",
    "/private/var/run/docker.sock",
    "/run/docker.sock",
];

fn inside(parent: &str, child: &str) -> bool {
    child == parent || child.starts_with(&format!("{}/", parent.trim_end_matches('/')))
}

/// A docker section has settings that would take effect with a sandbox.
fn docker_configured(d: Option<&Value>) -> bool {
    matches!(d, Some(Value::Object(m)) if !m.is_empty())
}

fn sandbox(out: &mut Findings, c: &Value) {
    let agents = agent_entries(c);
    let mut off_paths = Vec::new();
    let any_on = agents
        .iter()
        .any(|(_, a)| sandbox_mode(c, Some(a)) != "off");
    if docker_configured(config::get(c, "agents.defaults.sandbox.docker"))
        && sandbox_mode(c, None) == "off"
        && !any_on
    {
        off_paths.push("agents.defaults.sandbox.docker".to_string());
    }
    let mut dockers = vec![(
        "agents.defaults.sandbox.docker".to_string(),
        config::get(c, "agents.defaults.sandbox.docker"),
    )];
    for (id, a) in &agents {
        let d = a.pointer("/sandbox/docker");
        if docker_configured(d) && sandbox_mode(c, Some(a)) == "off" {
            off_paths.push(format!("agents.entries.{id}.sandbox.docker"));
        }
        dockers.push((format!("agents.entries.{id}.sandbox.docker"), d));
    }
    if !off_paths.is_empty() {
        out.raise("sandbox.docker_config_mode_off", off_paths.join(", "));
    }
    for (src, d) in dockers {
        let Some(Value::Object(d)) = d else { continue };
        for b in d
            .get("binds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(b) = b.as_str() else { continue };
            let host = b.split(':').next().unwrap_or(b).trim();
            if !host.starts_with('/') {
                out.raise(
                    "sandbox.bind_mount_non_absolute",
                    format!("{src}.binds contains \"{b}\"."),
                );
                continue;
            }
            let n = if host == "/" {
                "/"
            } else {
                host.trim_end_matches('/')
            };
            let hit = n == "/"
                || BLOCKED_HOST_PATHS
                    .iter()
                    .any(|p| inside(p, n) || inside(n, p));
            if hit {
                out.raise(
                    "sandbox.dangerous_bind_mount",
                    format!("{src}.binds contains \"{b}\"."),
                );
            }
        }
        let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_lowercase);
        if let Some(n) = s("network") {
            if n == "host" || n.starts_with("container:") {
                out.raise(
                    "sandbox.dangerous_network_mode",
                    format!("{src}.network is \"{n}\"."),
                );
            }
        }
        if s("seccompProfile").as_deref() == Some("unconfined") {
            out.raise(
                "sandbox.dangerous_seccomp_profile",
                format!("{src}.seccompProfile is \"unconfined\"."),
            );
        }
        if s("apparmorProfile").as_deref() == Some("unconfined") {
            out.raise(
                "sandbox.dangerous_apparmor_profile",
                format!("{src}.apparmorProfile is \"unconfined\"."),
            );
        }
    }
}

/// The model refs OpenClaw's model hygiene looks at, `(id, where)`.
pub(super) fn model_refs(c: &Value) -> Vec<(String, String)> {
    let mut v = Vec::new();
    let mut add_model = |m: Option<&Value>, src: &str| match m {
        Some(Value::String(s)) => v.push((s.trim().to_string(), format!("{src}.primary"))),
        Some(Value::Object(o)) => {
            if let Some(p) = o.get("primary").and_then(Value::as_str) {
                v.push((p.trim().to_string(), format!("{src}.primary")));
            }
            for f in o
                .get("fallbacks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(f) = f.as_str() {
                    v.push((f.trim().to_string(), format!("{src}.fallbacks")));
                }
            }
        }
        _ => {}
    };
    add_model(
        config::get(c, "agents.defaults.model"),
        "agents.defaults.model",
    );
    add_model(
        config::get(c, "agents.defaults.imageModel"),
        "agents.defaults.imageModel",
    );
    for (id, a) in agent_entries(c) {
        add_model(a.get("model"), &format!("agents.entries.{id}.model"));
    }
    v.retain(|(m, _)| !m.is_empty());
    v
}

fn models(out: &mut Findings, c: &Value) {
    let re = |p: &str| regex::Regex::new(p).expect("static regex");
    let legacy = [
        re(r"(?i)\bgpt-3\.5\b"),
        re(r"(?i)\bclaude-(instant|2)\b"),
        re(r"(?i)\bgpt-4-(0314|0613)\b"),
    ];
    let haiku = re(r"(?i)\bhaiku\b");
    let gpt = re(r"(?i)\bgpt-");
    let gpt5 = re(r"(?i)\bgpt-5(?:\b|[.-])");
    let claude = re(r"(?i)\bclaude-");
    let claude45 = re(
        r"(?i)\bclaude-[^\s/]*?(?:-4-?(?:[5-9]|[1-9]\d)\b|4\.(?:[5-9]|[1-9]\d)\b|-[5-9](?:\b|[.-]))",
    );
    let (mut old, mut weak) = (Vec::new(), Vec::new());
    for (m, src) in model_refs(c) {
        if legacy.iter().any(|r| r.is_match(&m)) {
            old.push(format!("{m} @ {src}"));
        }
        if haiku.is_match(&m)
            || (gpt.is_match(&m) && !gpt5.is_match(&m))
            || (claude.is_match(&m) && !claude45.is_match(&m))
        {
            weak.push(format!("{m} @ {src}"));
        }
    }
    if !old.is_empty() {
        out.raise("models.legacy", old.join(", "));
    }
    if !weak.is_empty() {
        out.raise("models.weak_tier", weak.join(", "));
    }
}

/// Core tools of each profile that the exposure checks ask about.
fn profile_allows(profile: Option<&str>, tool: &str) -> bool {
    const CODING: &[&str] = &[
        "exec",
        "process",
        "read",
        "write",
        "edit",
        "apply_patch",
        "plugins",
    ];
    match profile {
        Some("minimal" | "messaging") => false,
        Some("coding") => CODING.contains(&tool),
        _ => true,
    }
}

/// The tools a group name in a deny/allow list stands for.
fn in_list(list: &[String], tool: &str) -> bool {
    list.iter().any(|e| {
        let e = e.to_lowercase();
        e == "*"
            || e == tool
            || (e == "group:runtime" && ["exec", "process"].contains(&tool))
            || (e == "group:fs" && ["read", "write", "edit", "apply_patch"].contains(&tool))
    })
}

/// Whether `tool` is allowed in a context (global tools, then the agent's).
fn tool_allowed(c: &Value, agent_tools: Option<&Value>, tool: &str) -> bool {
    let profile = agent_tools
        .and_then(|t| t.get("profile"))
        .and_then(Value::as_str)
        .or_else(|| config::get_str(c, "tools.profile"));
    if !profile_allows(profile, tool) {
        return false;
    }
    for t in [config::get(c, "tools"), agent_tools].into_iter().flatten() {
        if in_list(&trimmed(t.get("deny")), tool) {
            return false;
        }
        let allow = trimmed(t.get("allow"));
        if !allow.is_empty() && !in_list(&allow, tool) {
            return false;
        }
    }
    true
}

/// Open inbound policies (OpenClaw's `listOpenInboundPolicies`).
fn open_inbound(c: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let inspect = |s: &Value, base: &str, out: &mut Vec<String>| {
        if s.get("groupPolicy").and_then(Value::as_str) == Some("open") {
            out.push(format!("{base}.groupPolicy"));
        }
        let dm = s
            .get("dmPolicy")
            .and_then(Value::as_str)
            .or_else(|| s.pointer("/dm/policy").and_then(Value::as_str));
        if dm == Some("open") {
            out.push(format!("{base}.dmPolicy"));
        }
    };
    if let Some(Value::Object(chs)) = config::get(c, "channels") {
        for (id, s) in chs {
            inspect(s, &format!("channels.{id}"), &mut out);
            if let Some(Value::Object(acc)) = s.get("accounts") {
                for (a, v) in acc {
                    inspect(v, &format!("channels.{id}.accounts.{a}"), &mut out);
                }
            }
        }
    }
    out
}

/// Contexts (defaults, each agent) where runtime or fs tools run unguarded.
fn risky_contexts(c: &Value) -> (Vec<String>, bool) {
    let mut ctx: Vec<(String, Option<&Value>, Option<&Value>)> =
        vec![("agents.defaults".into(), None, None)];
    for (id, a) in agent_entries(c) {
        ctx.push((format!("agents.entries.{id}"), Some(a), a.get("tools")));
    }
    let (mut risky, mut runtime_risk) = (Vec::new(), false);
    for (label, agent, tools) in ctx {
        let sb = sandbox_mode(c, agent);
        let runtime = ["exec", "process"]
            .iter()
            .any(|t| tool_allowed(c, tools, t));
        let fs = ["read", "write", "edit", "apply_patch"]
            .iter()
            .any(|t| tool_allowed(c, tools, t));
        let ws_only = tools
            .and_then(|t| t.pointer("/fs/workspaceOnly"))
            .or_else(|| config::get(c, "tools.fs.workspaceOnly"))
            == Some(&Value::Bool(true));
        let rt = runtime && sb != "all";
        let fu = fs && sb != "all" && !ws_only;
        if rt || fu {
            runtime_risk |= rt;
            risky.push(label);
        }
    }
    (risky, runtime_risk)
}

fn exposure(out: &mut Findings, c: &Value) {
    let open = open_inbound(c);
    if !open.is_empty() {
        let at = open.join(", ");
        if config::get(c, "tools.elevated.enabled") != Some(&Value::Bool(false)) {
            out.raise(
                "security.exposure.open_groups_with_elevated",
                format!("inbound policy=\"open\" at {at} with tools.elevated enabled."),
            );
        }
        let (risky, runtime) = risky_contexts(c);
        if !risky.is_empty() {
            out.raise_at(
                "security.exposure.open_groups_with_runtime_or_fs",
                if runtime {
                    Severity::Critical
                } else {
                    Severity::Warn
                },
                format!(
                    "inbound policy=\"open\" at {at}; exposed: {}.",
                    risky.join(", ")
                ),
            );
        }
        let mut ctx: Vec<Option<&Value>> = vec![None];
        ctx.extend(agent_entries(c).into_iter().map(|(_, a)| a.get("tools")));
        let cp = ctx.into_iter().any(|t| {
            ["automations", "gateway", "plugins"]
                .iter()
                .any(|tool| tool_allowed(c, t, tool))
        });
        if cp {
            out.raise(
                "security.exposure.open_groups_with_control_plane_tools",
                format!("inbound policy=\"open\" at {at} reaches automations, gateway or plugins."),
            );
        }
    }
    if config::get_str(c, "session.groupScope") == Some("main") {
        out.raise(
            "security.trust_model.group_scope_main",
            "session.groupScope=\"main\".",
        );
    }
    let signals = multi_user_signals(c);
    if !signals.is_empty() {
        out.raise(
            "security.trust_model.multi_user_heuristic",
            format!("signals: {}.", signals.join(", ")),
        );
    }
}

/// OpenClaw's `listPotentialMultiUserSignals`.
pub(super) fn multi_user_signals(c: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let wild = |v: Option<&Value>| trimmed(v).iter().any(|e| e == "*");
    let targets = |s: &Value| {
        ["groups", "guilds", "channels", "rooms"]
            .iter()
            .any(|k| matches!(s.get(*k), Some(Value::Object(m)) if !m.is_empty()))
    };
    let mut inspect = |s: &Value, base: &str| {
        match s.get("groupPolicy").and_then(Value::as_str) {
            Some("open") => out.push(format!("{base}.groupPolicy=open")),
            Some("allowlist") if targets(s) => {
                out.push(format!("{base}.groupPolicy=allowlist with group targets"))
            }
            _ => {}
        }
        if s.get("dmPolicy").and_then(Value::as_str) == Some("open") {
            out.push(format!("{base}.dmPolicy=open"));
        }
        if wild(s.get("allowFrom")) || wild(s.get("groupAllowFrom")) {
            out.push(format!("{base} allowFrom includes *"));
        }
        if let Some(dm) = s.get("dm") {
            if dm.get("policy").and_then(Value::as_str) == Some("open") || wild(dm.get("allowFrom"))
            {
                out.push(format!("{base}.dm open"));
            }
        }
    };
    if let Some(Value::Object(chs)) = config::get(c, "channels") {
        for (id, s) in chs {
            inspect(s, &format!("channels.{id}"));
            if let Some(Value::Object(acc)) = s.get("accounts") {
                for (a, v) in acc {
                    let merged = crate::openclaw::include::deep_merge(s.clone(), v.clone());
                    inspect(&merged, &format!("channels.{id}.accounts.{a}"));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The checklist: a sandbox by default, and agents sandboxed for everyone
/// that deny no tool.
fn checklist(out: &mut Findings, c: &Value) {
    if sandbox_mode(c, None) == "off" {
        out.raise(
            "ir.sandbox.off",
            "agents.defaults.sandbox.mode is off or unset.",
        );
    }
    for (id, a) in agent_entries(c) {
        if a.pointer("/sandbox/mode").and_then(Value::as_str) == Some("all")
            && a.pointer("/sandbox/tools/deny").is_none()
            && a.pointer("/tools/deny").is_none()
        {
            out.raise(
                "ir.tools.public_agent_without_deny",
                format!("agent {id} runs sandboxed for everyone but denies no tool."),
            );
        }
    }
}
