//! Agent skill allowlists against host exec: OpenClaw's
//! `tools.exec.agent_skill_mcp_boundary_drift` and
//! `tools.exec.mcporter_registry_inspection_incomplete`.
//!
//! `agents.*.skills` only filters which skills an agent sees; an agent
//! that can still run host commands can run any MCP client the host has,
//! and read the global mcporter registry (`$STATE/skills/config/
//! mcporter.json`). OpenClaw warns when a scope with a skill allowlist
//! resolves to host exec (not denied, not sandboxed) while MCP servers are
//! configured. Deciding that needs each scope's effective exec policy, so
//! this module ports OpenClaw 2026.9.6's `resolveExecDefaults`
//! (`dist/exec-defaults-*.mjs`: the target, the config's policy layers and
//! the exec approvals' floor) for a scope with no session.

use super::Findings;
use super::exec::{Approvals, approval_agents};
use super::fs::agent_entries;
use super::tools::sandbox_mode;
use crate::openclaw::{Deployment, config};
use serde_json::Value;

/// OpenClaw's cap on the global mcporter registry it parses.
const MAX_REGISTRY_BYTES: u64 = 16 << 20;

/// Exec security, weakest grant first (`minSecurity` takes the lower).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Security {
    Deny,
    Allowlist,
    Full,
}

/// When exec asks, least first (`maxAsk` takes the higher).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ask {
    Off,
    OnMiss,
    Always,
}

impl Security {
    fn parse(v: Option<&Value>) -> Option<Security> {
        match v?.as_str()?.trim() {
            "deny" => Some(Security::Deny),
            "allowlist" => Some(Security::Allowlist),
            "full" => Some(Security::Full),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Security::Deny => "deny",
            Security::Allowlist => "allowlist",
            Security::Full => "full",
        }
    }
}

impl Ask {
    fn parse(v: Option<&Value>) -> Option<Ask> {
        match v?.as_str()?.trim() {
            "off" => Some(Ask::Off),
            "on-miss" => Some(Ask::OnMiss),
            "always" => Some(Ask::Always),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Ask::Off => "off",
            Ask::OnMiss => "on-miss",
            Ask::Always => "always",
        }
    }
}

/// A policy as OpenClaw layers it: `mode`, when a layer set one, wins.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Policy {
    security: Security,
    ask: Ask,
    mode: bool,
}

/// `resolveExecPolicyForMode`; `None` for a mode OpenClaw rejects.
fn for_mode(mode: &str) -> Option<Policy> {
    let (security, ask) = match mode {
        "deny" => (Security::Deny, Ask::Off),
        "allowlist" => (Security::Allowlist, Ask::Off),
        "ask" | "auto" => (Security::Allowlist, Ask::OnMiss),
        "full" => (Security::Full, Ask::Off),
        _ => return None,
    };
    Some(Policy {
        security,
        ask,
        mode: true,
    })
}

/// `applyExecPolicyLayer`: a layer's `mode` replaces the policy; else its
/// `security` and `ask` (any value present, even null, drops the mode).
fn layer(base: Policy, l: Option<&Value>) -> Policy {
    let Some(l) = l.filter(|l| l.is_object()) else {
        return base;
    };
    if let Some(p) = l
        .get("mode")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .and_then(for_mode)
    {
        return p;
    }
    if l.get("security").is_some() || l.get("ask").is_some() {
        return Policy {
            security: Security::parse(l.get("security")).unwrap_or(base.security),
            ask: Ask::parse(l.get("ask")).unwrap_or(base.ask),
            mode: false,
        };
    }
    base
}

/// The exec approvals' policy for `agent` (`None`: the defaults scope,
/// OpenClaw's key `default`, which its loader folds into `main`), with
/// OpenClaw's gateway-host fallbacks `full`/`off`
/// (`resolveExecApprovalsFromFile`).
fn approval_floor(a: &Approvals, agent: Option<&str>) -> (Security, Ask) {
    let doc = match a {
        Approvals::Doc(d) => d,
        // OpenClaw's fail-closed document.
        Approvals::Malformed => return (Security::Deny, Ask::Off),
        Approvals::Absent | Approvals::Unreadable => return (Security::Full, Ask::Off),
    };
    let agents = approval_agents(doc);
    let find = |k: &str| agents.iter().find(|(id, _)| id == k).map(|(_, v)| v);
    let own = find(agent.unwrap_or("default"));
    let wild = find("*");
    let defaults = doc.get("defaults");
    // An agent's invalid value is sanitized away when loaded, so the
    // next layer answers.
    let sec = [own, wild, defaults]
        .into_iter()
        .flatten()
        .find_map(|v| Security::parse(v.get("security")))
        .unwrap_or(Security::Full);
    let ask = [own, wild, defaults]
        .into_iter()
        .flatten()
        .find_map(|v| Ask::parse(v.get("ask")))
        .unwrap_or(Ask::Off);
    (sec, ask)
}

/// What one scope's exec resolves to (`resolveExecDefaults` without a
/// session): the effective host, security and ask.
#[derive(Debug, PartialEq)]
struct Resolved {
    host: String,
    security: Security,
    ask: Ask,
}

fn resolve(c: &Value, agent: Option<&Value>, id: Option<&str>, a: &Approvals) -> Resolved {
    let global = config::get(c, "tools.exec");
    let local = agent.and_then(|a| a.pointer("/tools/exec"));
    let host = [local, global]
        .into_iter()
        .flatten()
        .find_map(|e| e.get("host").filter(|h| !h.is_null()))
        .and_then(Value::as_str)
        .unwrap_or("auto");
    let sandboxed = sandbox_mode(c, agent) != "off";
    let host = match host {
        "auto" if sandboxed => "sandbox",
        "auto" => "gateway",
        h => h,
    }
    .to_string();
    if host == "sandbox" {
        // Never a host-exec scope, whatever its policy.
        return Resolved {
            host,
            security: Security::Deny,
            ask: Ask::Off,
        };
    }
    let (fs, fa) = approval_floor(a, id);
    let p = layer(
        layer(
            Policy {
                security: fs,
                ask: fa,
                mode: false,
            },
            global,
        ),
        local,
    );
    Resolved {
        host,
        security: p.security.min(fs),
        ask: p.ask.max(fa),
    }
}

/// A scope with a skill allowlist whose exec reaches the host.
struct Scope {
    id: String,
    source: &'static str,
    exec: Resolved,
}

/// OpenClaw's `collectAgentSkillMcpBoundaryScopes`.
fn scopes(c: &Value, a: &Approvals) -> Vec<Scope> {
    let has_skills = |v: Option<&Value>| {
        v.and_then(Value::as_object)
            .is_some_and(|o| o.contains_key("skills"))
    };
    let defaults = has_skills(config::get(c, "agents.defaults"));
    let mut cands: Vec<(String, &'static str, Option<&Value>)> = Vec::new();
    if defaults {
        cands.push(("agents.defaults".into(), "agents.defaults.skills", None));
    }
    for (id, e) in agent_entries(c) {
        if has_skills(Some(e)) {
            cands.push((id, "agents.entries.*.skills", Some(e)));
        } else if defaults {
            cands.push((id, "agents.defaults.skills (inherited)", Some(e)));
        }
    }
    cands
        .into_iter()
        .filter_map(|(id, source, e)| {
            let agent_id = e.map(|_| id.as_str());
            let exec = resolve(c, e, agent_id, a);
            (exec.security != Security::Deny && exec.host != "sandbox").then_some(Scope {
                id,
                source,
                exec,
            })
        })
        .collect()
}

/// The global mcporter registry, as OpenClaw's `readBoundedMcporterRegistry`
/// sees it.
#[derive(Debug, PartialEq)]
enum Registry {
    Absent,
    /// Present but not inspectable, and why (OpenClaw's words).
    Rejected(&'static str),
    /// Its enabled server names, sorted.
    Servers(Vec<String>),
}

/// Reads `$STATE/skills/config/mcporter.json`. OpenClaw opens it through
/// symlinks; `ir` follows them only as a chroot would, inside `--root`.
fn registry(dep: &Deployment) -> Registry {
    use crate::safefs::ReadError;
    let local = dep.paths.state_dir.join("skills/config/mcporter.json");
    let root = crate::host::Root::new(&dep.root);
    let Some(host) = root.resolve(&root.host_view(&local)) else {
        return Registry::Rejected("unreadable"); // a symlink loop
    };
    let path = root.join(&host);
    match crate::safefs::lstat(&path) {
        Ok(None) => return Registry::Absent,
        Err(_) => return Registry::Rejected("unreadable"),
        Ok(Some(_)) => {}
    }
    let bytes = match crate::safefs::read_bounded(&path, MAX_REGISTRY_BYTES) {
        Ok(b) => b,
        Err(ReadError::NotRegular(..)) => return Registry::Rejected("not a regular file"),
        Err(ReadError::TooLarge(..)) => {
            return Registry::Rejected("larger than the 16 MiB audit cap");
        }
        Err(e) if e.is_not_found() => return Registry::Absent,
        Err(_) => return Registry::Rejected("unreadable"),
    };
    // Node decodes invalid UTF-8 as U+FFFD before JSON.parse.
    let Ok(v) = serde_json::from_str::<Value>(&String::from_utf8_lossy(&bytes)) else {
        return Registry::Rejected("not valid JSON");
    };
    let names = enabled_names(v.get("mcpServers"));
    if names.is_empty() {
        Registry::Absent
    } else {
        Registry::Servers(names)
    }
}

/// The keys of a server map whose entry is not `enabled: false`, sorted.
fn enabled_names(m: Option<&Value>) -> Vec<String> {
    let mut names: Vec<String> = m
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, v)| v.get("enabled") != Some(&Value::Bool(false)))
        .map(|(k, _)| k.clone())
        .collect();
    names.sort();
    names
}

/// `formatNamesPreview`: six names, then a count.
fn preview(names: &[String]) -> String {
    let more = names.len().saturating_sub(6);
    let shown = names.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
    if more > 0 {
        format!("{shown}, +{more} more")
    } else {
        shown
    }
}

/// Runs both checks (OpenClaw's `collectAgentSkillMcpBoundaryFindings`).
pub(super) fn check(out: &mut Findings, dep: &Deployment, c: &Value, a: &Approvals) {
    let scopes = scopes(c, a);
    if scopes.is_empty() {
        return;
    }
    let mut sources = Vec::new();
    let conf = enabled_names(config::get(c, "mcp.servers"));
    if !conf.is_empty() {
        sources.push(format!("mcp.servers: {}", preview(&conf)));
    }
    match registry(dep) {
        Registry::Rejected(why) => out.raise(
            "tools.exec.mcporter_registry_inspection_incomplete",
            format!(
                "skills/config/mcporter.json exists but could not be safely inspected ({why})."
            ),
        ),
        Registry::Servers(n) => {
            sources.push(format!("skills/config/mcporter.json: {}", preview(&n)));
        }
        Registry::Absent => {}
    }
    if sources.is_empty() {
        return;
    }
    let mut lines: Vec<String> = scopes
        .iter()
        .take(8)
        .map(|s| {
            format!(
                "{}: {}, exec.host={}, security={}, ask={}",
                s.id,
                s.source,
                s.exec.host,
                s.exec.security.name(),
                s.exec.ask.name()
            )
        })
        .collect();
    if scopes.len() > 8 {
        lines.push(format!("+{} more scopes", scopes.len() - 8));
    }
    out.raise(
        "tools.exec.agent_skill_mcp_boundary_drift",
        format!(
            "skill allowlists on host-exec scopes: {}; MCP servers visible: {}",
            lines.join("; "),
            sources.join("; ")
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sec(c: Value, a: &Approvals) -> Vec<(String, &'static str, String)> {
        scopes(&c, a)
            .into_iter()
            .map(|s| (s.id, s.exec.security.name(), s.exec.host))
            .collect()
    }

    #[test]
    fn scopes_follow_skill_allowlists_and_exec_policy() {
        let none = Approvals::Absent;
        // No skill allowlist anywhere: no scope.
        assert!(sec(json!({"agents": {"entries": {"a": {}}}}), &none).is_empty());
        // Defaults' allowlist is inherited by agents; exec defaults to full
        // on the gateway host.
        let got = sec(
            json!({"agents": {"defaults": {"skills": []}, "entries": {"a": {}}}}),
            &none,
        );
        assert_eq!(
            got,
            [
                ("agents.defaults".into(), "full", "gateway".into()),
                ("a".into(), "full", "gateway".into())
            ]
        );
        // Sandboxed (auto host) or denied: not a host-exec scope.
        let c = json!({"agents": {"defaults": {"skills": ["x"], "sandbox": {"mode": "all"}}}});
        assert!(sec(c, &none).is_empty());
        let c = json!({"tools": {"exec": {"security": "deny"}}, "agents": {"defaults": {"skills": []}}});
        assert!(sec(c, &none).is_empty());
        let c = json!({"tools": {"exec": {"mode": "deny"}}, "agents": {"entries": {"a": {"skills": [], "tools": {"exec": {"mode": "allowlist"}}}}}});
        assert_eq!(sec(c, &none), [("a".into(), "allowlist", "gateway".into())]);
        // An explicit gateway host with the sandbox on still runs on the host.
        let c = json!({"tools": {"exec": {"host": "gateway"}}, "agents": {"defaults": {"skills": [], "sandbox": {"mode": "all"}}}});
        assert_eq!(
            sec(c, &none),
            [("agents.defaults".into(), "full", "gateway".into())]
        );
    }

    #[test]
    fn exec_approvals_are_a_floor() {
        let c = json!({"agents": {"defaults": {"skills": []}, "entries": {"main": {}, "b": {}}}});
        // The approvals deny main (and, folded from the legacy `default`
        // key, not the defaults scope), allowlist everyone else.
        let a = Approvals::Doc(json!({
            "defaults": {"security": "allowlist"},
            "agents": {"main": {"security": "deny"}, "*": {"ask": "always"}}
        }));
        let got: Vec<_> = scopes(&c, &a)
            .into_iter()
            .map(|s| (s.id, s.exec.security.name(), s.exec.ask.name()))
            .collect();
        assert_eq!(
            got,
            [
                ("agents.defaults".to_string(), "allowlist", "always"),
                ("b".to_string(), "allowlist", "always")
            ]
        );
        // A malformed approvals row denies everything.
        assert!(scopes(&c, &Approvals::Malformed).is_empty());
    }

    #[test]
    fn policy_layers_follow_openclaw() {
        let base = Policy {
            security: Security::Full,
            ask: Ask::Off,
            mode: false,
        };
        let p = layer(base, Some(&json!({"mode": "ask", "security": "full"})));
        assert_eq!(
            (p.security, p.ask, p.mode),
            (Security::Allowlist, Ask::OnMiss, true)
        );
        let p = layer(p, Some(&json!({"ask": "off"})));
        assert_eq!(
            (p.security, p.ask, p.mode),
            (Security::Allowlist, Ask::Off, false)
        );
        assert_eq!(layer(base, Some(&json!({"host": "gateway"}))), base);
    }

    #[test]
    fn names_are_previewed_and_disabled_servers_dropped() {
        let m = json!({"b": {}, "a": {"enabled": true}, "off": {"enabled": false}});
        assert_eq!(enabled_names(Some(&m)), ["a", "b"]);
        let many: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
        assert_eq!(preview(&many), "s0, s1, s2, s3, s4, s5, +2 more");
    }
}
