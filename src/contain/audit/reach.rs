//! What a scope can reach: small models with web or browser tools
//! (OpenClaw's `models.small_params`), agents that can read other
//! agents' sessions (`security.trust_model.cross_agent_session_access_default`)
//! and extension plugins' tools (`plugins.tools_reachable_permissive_policy`),
//! all decided through [`policy`](super::policy) as OpenClaw 2026.9.6's
//! `audit-extra.summary` does.
//!
//! Left out, and so never raised from: a web-search credential that only
//! the gateway's environment holds (its environment is not ours), model
//! aliases (`agents.defaults.models.*.alias`), and scopes whose sandbox
//! tool policy is configured.

use super::Findings;
use super::fs::agent_entries;
use super::policy::{Scope, allowed};
use super::tools::sandbox_mode;
use crate::openclaw::{Deployment, config};
use crate::record::Severity;
use serde_json::Value;

/// Models up to this many billion parameters count as small
/// (`SMALL_MODEL_PARAM_B_MAX`).
const SMALL_MODEL_MAX_B: f64 = 300.0;

/// The session tools whose reach makes transcripts cross agents.
const SESSION_TOOLS: &[&str] = &[
    "sessions_list",
    "sessions_history",
    "sessions_search",
    "sessions_send",
    "session_status",
];

/// Runs the three checks.
pub(super) fn check(out: &mut Findings, dep: &Deployment, c: &Value) {
    small_models(out, c);
    cross_agent_sessions(out, c);
    plugin_tools(out, dep, c);
}

/// Lowercased, trimmed, non-empty strings of a list.
pub(super) fn ids(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Installed extension plugins that are enabled (`resolveEnabledExtensionPluginIds`).
fn enabled_extensions(dep: &Deployment, c: &Value) -> Vec<String> {
    if config::get(c, "plugins.enabled") == Some(&Value::Bool(false)) {
        return Vec::new();
    }
    let allow = ids(config::get(c, "plugins.allow"));
    let deny = ids(config::get(c, "plugins.deny"));
    let entries = config::get(c, "plugins.entries").and_then(Value::as_object);
    let disabled = |id: &str| {
        entries.is_some_and(|m| {
            m.iter().any(|(k, e)| {
                k.trim().to_lowercase() == id && e.get("enabled") == Some(&Value::Bool(false))
            })
        })
    };
    super::fs::plugin_dirs(dep)
        .into_iter()
        .filter(|id| !deny.contains(id))
        .filter(|id| allow.is_empty() || allow.contains(id))
        .filter(|id| !disabled(id))
        .collect()
}

/// Enabled extension plugins whose tools some scope's policy lets through:
/// no allow list that excludes unknown tools, or an allow entry naming a
/// plugin (`plugins.tools_reachable_permissive_policy`).
fn plugin_tools(out: &mut Findings, dep: &Deployment, c: &Value) {
    let enabled = enabled_extensions(dep, c);
    if enabled.is_empty() {
        return;
    }
    let names = |t: Option<&Value>| -> bool {
        let mut e = ids(t.and_then(|t| t.get("allow")));
        e.extend(ids(t.and_then(|t| t.get("alsoAllow"))));
        e.iter()
            .any(|x| x == "group:plugins" || enabled.contains(x))
    };
    let by_provider = |t: Option<&Value>| -> bool {
        t.and_then(|t| t.get("byProvider"))
            .and_then(Value::as_object)
            .is_some_and(|m| m.values().any(|p| names(Some(p))))
    };
    let global = config::get(c, "tools");
    let agents = agent_entries(c);
    let mut contexts: Vec<(String, Option<&Value>)> = vec![("default".into(), None)];
    contexts.extend(
        agents
            .iter()
            .map(|(id, e)| (format!("agents.entries.{id}"), Some(*e))),
    );
    let mut permissive = Vec::new();
    for (label, agent) in contexts {
        let tools = agent.and_then(|a| a.get("tools"));
        let profile = tools
            .and_then(|t| t.get("profile"))
            .or_else(|| global.and_then(|g| g.get("profile")))
            .and_then(Value::as_str);
        let scope = Scope {
            agent_tools: tools,
            sandbox_mode: sandbox_mode(c, agent),
            model: None,
        };
        let Some(p) = scope.policies_plain(c) else {
            continue;
        };
        let broad = allowed(&p, "__openclaw_plugin_probe__");
        let explicit = !super::policy::is_profile(profile)
            && (names(global) || by_provider(global) || names(tools) || by_provider(tools));
        if broad || explicit {
            permissive.push(label);
        }
    }
    if !permissive.is_empty() {
        out.raise(
            "plugins.tools_reachable_permissive_policy",
            format!(
                "enabled extension plugins: {}; permissive tool policy in: {}",
                enabled.join(", "),
                permissive.join(", ")
            ),
        );
    }
}

/// The largest `<n>b` parameter count in a model id (`inferParamBFromIdOrName`).
fn param_b(id: &str) -> Option<f64> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?:^|[^a-z0-9])[a-z]?(\d+(?:\.\d+)?)b(?:[^a-z0-9]|$)")
            .expect("static regex")
    });
    let s = id.to_lowercase();
    let mut best: Option<f64> = None;
    let mut at = 0;
    // OpenClaw's pattern ends in a lookahead: resume right after the `b`
    // so that the character it looked at can start the next match.
    while let Some(m) = RE.captures_at(&s, at) {
        let num = m.get(1).expect("group 1");
        at = num.end() + 1;
        if let Ok(v) = num.as_str().parse::<f64>() {
            if v > 0.0 && best.is_none_or(|b| v > b) {
                best = Some(v);
            }
        }
        if at > s.len() {
            break;
        }
    }
    best
}

/// Web search on: explicitly, or by a credential in the config.
fn web_search_on(c: &Value) -> bool {
    match config::get(c, "tools.web.search.enabled") {
        Some(Value::Bool(b)) => *b,
        _ => config::get(c, "tools.web.search").is_some_and(has_api_key),
    }
}

fn has_api_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            (k == "apiKey" && !matches!(v, Value::Null) && v.as_str() != Some("")) || has_api_key(v)
        }),
        _ => false,
    }
}

/// The browser plugin is enabled (`isBrowserEnabled`).
fn browser_on(c: &Value) -> bool {
    let off = |k: &str| config::get(c, k) == Some(&Value::Bool(false));
    let list = |k: &str| ids(config::get(c, k));
    let allow = list("plugins.allow");
    !off("browser.enabled")
        && !off("plugins.enabled")
        && !list("plugins.deny").iter().any(|d| d == "browser")
        && !off("plugins.entries.browser.enabled")
        && (allow.is_empty() || allow.iter().any(|a| a == "browser"))
}

/// Small models whose scope still allows web_search, web_fetch or browser.
fn small_models(out: &mut Findings, c: &Value) {
    let agents = agent_entries(c);
    let mut unsafe_models = Vec::new();
    let mut any = false;
    for (id, src) in super::tools::model_refs(c) {
        if src.contains("imageModel") {
            continue;
        }
        let Some(b) = param_b(&id).filter(|b| *b <= SMALL_MODEL_MAX_B) else {
            continue;
        };
        any = true;
        let agent = src
            .strip_prefix("agents.entries.")
            .and_then(|r| r.split_once('.'))
            .and_then(|(a, _)| agents.iter().find(|(i, _)| i == a))
            .map(|(_, e)| *e);
        let scope = Scope {
            agent_tools: agent.and_then(|a| a.get("tools")),
            sandbox_mode: sandbox_mode(c, agent),
            model: Some(&id),
        };
        let Some(p) = scope.policies(c) else {
            continue;
        };
        let mut exposed = Vec::new();
        if web_search_on(c) && allowed(&p, "web_search") {
            exposed.push("web_search");
        }
        if config::get(c, "tools.web.fetch.enabled") != Some(&Value::Bool(false))
            && allowed(&p, "web_fetch")
        {
            exposed.push("web_fetch");
        }
        if browser_on(c) && allowed(&p, "browser") {
            exposed.push("browser");
        }
        if !exposed.is_empty() {
            unsafe_models.push(format!("{id} ({b}B) @ {src}: {}", exposed.join(", ")));
        }
    }
    if !unsafe_models.is_empty() {
        out.raise_at(
            "models.small_params",
            Severity::Critical,
            unsafe_models.join("; "),
        );
    } else if any {
        out.raise_at(
            "models.small_params",
            Severity::Info,
            "small models configured, with no web or browser tools",
        );
    }
}

/// Two or more agents, session visibility `all`, agent-to-agent on with
/// no allow list, and some agent whose session tools reach the others.
fn cross_agent_sessions(out: &mut Findings, c: &Value) {
    let agents = agent_entries(c);
    let mut ids: Vec<&str> = Vec::new();
    for (id, _) in &agents {
        if !ids.contains(&id.as_str()) {
            ids.push(id);
        }
    }
    let visibility = config::get_str(c, "tools.sessions.visibility")
        .map(str::to_lowercase)
        .filter(|v| ["self", "tree", "agent", "all"].contains(&v.as_str()))
        .unwrap_or_else(|| "all".into());
    let a2a_allow = config::get(c, "tools.agentToAgent.allow")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if ids.len() < 2
        || visibility != "all"
        || config::get(c, "tools.agentToAgent.enabled") == Some(&Value::Bool(false))
        || a2a_allow
    {
        return;
    }
    let clamp =
        config::get_str(c, "agents.defaults.sandbox.sessionToolsVisibility").unwrap_or("spawned");
    let (mut reachers, mut signals) = (Vec::new(), Vec::new());
    for id in &ids {
        let entry = agents.iter().find(|(i, _)| i == id).map(|(_, e)| *e);
        let mode = sandbox_mode(c, entry);
        if mode != "off" {
            signals.push(format!("{id}: sandbox.mode={mode}"));
        }
        let tools = entry.and_then(|e| e.get("tools"));
        let scope = Scope {
            agent_tools: tools,
            sandbox_mode: mode,
            model: None,
        };
        let Some(p) = scope.policies(c) else {
            return; // not decided: raise nothing rather than guess
        };
        let reach: Vec<&str> = SESSION_TOOLS
            .iter()
            .copied()
            .filter(|t| allowed(&p, t))
            .collect();
        if (mode != "all" || clamp == "all") && !reach.is_empty() {
            reachers.push(format!("{id} ({})", reach.join(", ")));
        }
        let restricted: Vec<&str> = ["profile", "allow", "deny"]
            .into_iter()
            .filter(|k| tools.and_then(|t| t.get(*k)).is_some())
            .collect();
        if !restricted.is_empty() {
            signals.push(format!(
                "{id}: agent-level tool restrictions ({})",
                restricted.join(", ")
            ));
        }
    }
    if reachers.is_empty() {
        return;
    }
    signals.extend(super::tools::multi_user_signals(c));
    let sev = if signals.is_empty() {
        Severity::Info
    } else {
        Severity::Warn
    };
    let mut detail = format!(
        "agents reaching other agents' sessions: {}",
        reachers.join(", ")
    );
    if !signals.is_empty() {
        detail.push_str(&format!("; trust-boundary signals: {}", signals.join("; ")));
    }
    out.raise_at(
        "security.trust_model.cross_agent_session_access_default",
        sev,
        detail,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_counts_are_read_as_openclaw_reads_them() {
        assert_eq!(param_b("ollama/llama3.1:8b"), Some(8.0));
        assert_eq!(param_b("qwen2.5-72b-instruct"), Some(72.0));
        assert_eq!(param_b("x-7b-13b"), Some(13.0));
        assert_eq!(param_b("mixtral-8x7b"), None);
        assert_eq!(param_b("a-7b8b"), None);
        assert_eq!(param_b("q-b7b"), Some(7.0));
        assert_eq!(param_b("gpt-5"), None);
        assert_eq!(param_b("deepseek-r1:671b"), Some(671.0));
    }
}
