//! Which core tools a scope's tool policy allows, as OpenClaw 2026.9.6's
//! audit resolves it (`resolveConfiguredToolPolicies`, then
//! `isToolAllowedByPolicies`): the profile (with `alsoAllow`), the global
//! and the agent's allow/deny, the `byProvider` policies of the model, and
//! under `sandbox.mode: "all"` the sandbox's default tool policy. Every
//! policy must allow a tool; deny wins within one.
//!
//! Only what the model and session checks ask about is ported: the
//! profiles and the tool groups those tools belong to, as data. A policy
//! this port cannot read the same way (a configured sandbox tool policy)
//! makes [`Scope::policies`] answer `None`, and the caller decides nothing.

use crate::openclaw::config;
use serde_json::Value;

/// The core tool profiles (OpenClaw's `CORE_TOOL_PROFILES`).
const PROFILES: &[(&str, &[&str])] = &[
    ("minimal", &["session_status", "gateway"]),
    (
        "coding",
        &[
            "ls",
            "read",
            "write",
            "edit",
            "apply_patch",
            "exec",
            "process",
            "code_execution",
            "secrets",
            "web_search",
            "web_fetch",
            "x_search",
            "memory_search",
            "memory_get",
            "sessions",
            "sessions_list",
            "sessions_history",
            "sessions_search",
            "conversations_list",
            "conversations_send",
            "conversations_turn",
            "sessions_send",
            "sessions_spawn",
            "github_identity_status",
            "github_publish",
            "agents_wait",
            "sessions_yield",
            "subagents",
            "session_status",
            "suggest_task",
            "dismiss_task",
            "screen",
            "theme",
            "dashboard",
            "terminal",
            "portal",
            "automations",
            "gateway",
            "plugins",
            "get_goal",
            "create_goal",
            "update_goal",
            "progress_card",
            "ask_user",
            "skill_workshop",
            "view_image",
            "image_generate",
            "music_generate",
            "video_generate",
            "bundle-mcp",
        ],
    ),
    (
        "messaging",
        &[
            "secrets",
            "sessions",
            "sessions_list",
            "sessions_history",
            "sessions_search",
            "conversations_list",
            "conversations_send",
            "conversations_turn",
            "sessions_send",
            "sessions_spawn",
            "sessions_yield",
            "subagents",
            "session_status",
            "theme",
            "message",
            "gateway",
            "ask_user",
            "bundle-mcp",
        ],
    ),
    ("full", &["*"]),
];

/// Tool groups, limited to the tools [`allowed`] is asked about: a group
/// stands for these members (OpenClaw's `CORE_TOOL_GROUPS`).
const GROUPS: &[(&str, &[&str])] = &[
    ("group:web", &["web_search", "web_fetch", "x_search"]),
    (
        "group:sessions",
        &[
            "sessions_list",
            "sessions_history",
            "sessions_search",
            "sessions_send",
            "session_status",
        ],
    ),
    ("group:ui", &["browser"]),
    (
        "group:openclaw",
        &[
            "web_search",
            "web_fetch",
            "x_search",
            "sessions_list",
            "sessions_history",
            "sessions_search",
            "sessions_send",
            "session_status",
            "browser",
        ],
    ),
];

/// The tools the sandbox allows when `tools.sandbox.tools` is not set
/// (OpenClaw's `DEFAULT_TOOL_ALLOW`).
const SANDBOX_DEFAULT_ALLOW: &[&str] = &[
    "exec",
    "process",
    "read",
    "ls",
    "write",
    "edit",
    "apply_patch",
    "view_image",
    "sessions_list",
    "sessions_history",
    "sessions_search",
    "sessions_send",
    "sessions_spawn",
    "sessions_yield",
    "subagents",
    "session_status",
];

/// One allow/deny policy; `allow: None` allows everything not denied.
#[derive(Debug, Clone, Default)]
pub(super) struct Policy {
    allow: Option<Vec<String>>,
    deny: Vec<String>,
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

/// Whether a policy entry (a name, a `*` glob or a group) covers `tool`.
fn covers(entry: &str, tool: &str) -> bool {
    if let Some((_, members)) = GROUPS.iter().find(|(g, _)| *g == entry) {
        return members.contains(&tool);
    }
    if entry.contains('*') {
        let re = format!("^{}$", regex::escape(entry).replace(r"\*", ".*"));
        return regex::Regex::new(&re).is_ok_and(|r| r.is_match(tool));
    }
    entry == tool
}

impl Policy {
    fn allows(&self, tool: &str) -> bool {
        if self.deny.iter().any(|d| covers(d, tool)) {
            return false;
        }
        match &self.allow {
            None => true,
            Some(a) if a.is_empty() => true,
            Some(a) => a.iter().any(|e| covers(e, tool)),
        }
    }

    /// A `tools`-shaped section's allow/alsoAllow/deny (`pickSandboxToolPolicy`).
    fn pick(t: Option<&Value>) -> Option<Policy> {
        let t = t?;
        let allow = strings(t.get("allow"));
        let also = strings(t.get("alsoAllow")).filter(|a| !a.is_empty());
        let allow = match (allow, also) {
            (Some(a), Some(x)) if a.is_empty() => Some([vec!["*".into()], x].concat()),
            (Some(a), Some(x)) => Some([a, x].concat()),
            (Some(a), None) => Some(a),
            (None, Some(x)) => Some([vec!["*".into()], x].concat()),
            (None, None) => None,
        };
        let deny = strings(t.get("deny"));
        if allow.is_none() && deny.is_none() {
            return None;
        }
        Some(Policy {
            allow,
            deny: deny.unwrap_or_default(),
        })
    }

    /// The profile's policy with `alsoAllow` merged in.
    fn profile(name: Option<&str>, also: Option<Vec<String>>) -> Option<Policy> {
        let (_, tools) = PROFILES.iter().find(|(p, _)| Some(*p) == name)?;
        let mut allow: Vec<String> = tools.iter().map(|s| s.to_string()).collect();
        allow.extend(also.unwrap_or_default());
        Some(Policy {
            allow: Some(allow),
            deny: Vec::new(),
        })
    }
}

/// Whether every policy allows `tool`.
pub(super) fn allowed(policies: &[Policy], tool: &str) -> bool {
    policies.iter().all(|p| p.allows(tool))
}

/// One scope to resolve: the agent's tools section, its sandbox mode, and
/// the model whose `byProvider` policies apply.
pub(super) struct Scope<'a> {
    pub agent_tools: Option<&'a Value>,
    pub sandbox_mode: &'a str,
    /// `provider/model`, when a model is in question.
    pub model: Option<&'a str>,
}

/// A `byProvider` map's entry for `provider/model`, then for `provider`.
fn by_provider(map: Option<&Value>, model: &str) -> Option<Policy> {
    let m = map?.as_object()?;
    let model = model.trim().to_lowercase();
    let (provider, id) = model.split_once('/').unwrap_or(("openai", model.as_str()));
    for want in [format!("{provider}/{id}"), provider.to_string()] {
        let hit = m
            .iter()
            .find(|(k, v)| v.is_object() && k.trim().to_lowercase() == want);
        if let Some((_, v)) = hit {
            return Some(Policy {
                allow: strings(v.get("allow")),
                deny: strings(v.get("deny")).unwrap_or_default(),
            });
        }
    }
    None
}

/// Whether `name` is a known tool profile (`resolveToolProfilePolicy`
/// answers a policy).
pub(super) fn is_profile(name: Option<&str>) -> bool {
    PROFILES.iter().any(|(p, _)| Some(*p) == name)
}

impl Scope<'_> {
    /// The scope's policies as the plugin check resolves them: the
    /// profile without `alsoAllow`, no provider policies.
    pub(super) fn policies_plain(&self, c: &Value) -> Option<Vec<Policy>> {
        let global = config::get(c, "tools");
        let profile = self
            .agent_tools
            .and_then(|t| t.get("profile"))
            .or_else(|| global.and_then(|g| g.get("profile")))
            .and_then(Value::as_str);
        let mut out: Vec<Policy> = [
            Policy::profile(profile, None),
            Policy::pick(global),
            Policy::pick(self.agent_tools),
        ]
        .into_iter()
        .flatten()
        .collect();
        out.extend(self.sandbox_policy(c)?);
        Some(out)
    }

    /// Under `sandbox.mode: "all"`, the sandbox's default tool policy;
    /// `None` when a sandbox tool policy is configured (not ported).
    fn sandbox_policy(&self, c: &Value) -> Option<Option<Policy>> {
        if self.sandbox_mode != "all" {
            return Some(None);
        }
        let configured = config::get(c, "tools.sandbox.tools").is_some()
            || self
                .agent_tools
                .and_then(|t| t.pointer("/sandbox/tools"))
                .is_some();
        if configured {
            return None;
        }
        Some(Some(Policy {
            allow: Some(
                SANDBOX_DEFAULT_ALLOW
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
            deny: vec!["browser".into()],
        }))
    }

    /// The scope's policies, `None` when one cannot be resolved offline
    /// the way OpenClaw does (a configured sandbox tool policy).
    pub(super) fn policies(&self, c: &Value) -> Option<Vec<Policy>> {
        let global = config::get(c, "tools");
        let profile = self
            .agent_tools
            .and_then(|t| t.get("profile"))
            .or_else(|| global.and_then(|g| g.get("profile")))
            .and_then(Value::as_str);
        let also = strings(self.agent_tools.and_then(|t| t.get("alsoAllow")))
            .or_else(|| strings(global.and_then(|g| g.get("alsoAllow"))));
        let mut out: Vec<Policy> = [
            Policy::profile(profile, also),
            Policy::pick(global),
            Policy::pick(self.agent_tools),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Some(m) = self.model {
            out.extend(by_provider(global.and_then(|g| g.get("byProvider")), m));
            out.extend(by_provider(
                self.agent_tools.and_then(|t| t.get("byProvider")),
                m,
            ));
        }
        out.extend(self.sandbox_policy(c)?);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(c: &Value, tool: &str) -> bool {
        let s = Scope {
            agent_tools: None,
            sandbox_mode: "off",
            model: Some("ollama/llama3:8b"),
        };
        allowed(&s.policies(c).unwrap(), tool)
    }

    #[test]
    fn profiles_groups_and_provider_policies() {
        assert!(ok(&json!({}), "web_fetch"));
        assert!(!ok(
            &json!({"tools": {"profile": "messaging"}}),
            "web_fetch"
        ));
        assert!(ok(&json!({"tools": {"profile": "coding"}}), "web_fetch"));
        assert!(!ok(&json!({"tools": {"deny": ["group:web"]}}), "web_fetch"));
        assert!(!ok(
            &json!({"tools": {"byProvider": {"ollama": {"deny": ["web_*"]}}}}),
            "web_fetch"
        ));
        assert!(ok(
            &json!({"tools": {"byProvider": {"openai": {"deny": ["web_*"]}}}}),
            "web_fetch"
        ));
    }
}
