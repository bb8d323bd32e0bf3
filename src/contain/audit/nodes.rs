//! `gateway.nodes.commands.deny` entries that block nothing: OpenClaw
//! matches node command names exactly, so a glob, a regex, shell text or
//! a misspelt name leaves the command allowed while the operator believes
//! it denied. The known names are those OpenClaw 2026.9.6's
//! `listKnownNodeCommands` yields with no plugin registry (every
//! platform's pairing defaults, talk, and the dangerous defaults),
//! computed once from its `node-command-policy` and kept here as data.

use super::Findings;
use crate::openclaw::config;
use serde_json::Value;
use std::collections::BTreeSet;

/// Node commands OpenClaw knows without plugins.
const KNOWN_NODE_COMMANDS: &[&str] = &[
    "camera.list",
    "location.get",
    "device.info",
    "device.status",
    "contacts.search",
    "calendar.events",
    "reminders.list",
    "photos.latest",
    "motion.activity",
    "motion.pedometer",
    "system.notify",
    "watch.status",
    "watch.notify",
    "notifications.list",
    "notifications.actions",
    "device.permissions",
    "device.health",
    "device.apps",
    "callLog.search",
    "mobile.ui.observe",
    "mobile.ui.act",
    "camera.ptz.status",
    "system.run.prepare",
    "system.run",
    "system.which",
    "system.execApprovals.get",
    "system.execApprovals.set",
    "fs.listDir",
    "terminal.upload",
    "browser.proxy",
    "browser.proxy.upload.v1",
    "mcp.tools.call.v1",
    "agent.cli.claude.run.v1",
    "screen.snapshot",
    "desktop.stream",
    "computer.act",
    "talk.ptt.start",
    "talk.ptt.stop",
    "talk.ptt.cancel",
    "talk.ptt.once",
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

/// Worker-private commands: never in a node's allowlist, even if allowed.
const PRIVATE_NODE_COMMANDS: &[&str] = &[
    "worker.bundle.install.v1",
    "worker.launch.v1",
    "worker.status.v1",
    "worker.cancel.v1",
    "worker.environment.stop.v1",
    "worker.workspace.exec.v1",
    "worker.workspace.prepare.v1",
    "worker.workspace.retain.v1",
    "worker.desktop.stream.v1",
    "worker.desktop.launch.v1",
    "worker.desktop.computer.v1",
    "worker.portal.stream.v1",
];

/// Whether a deny entry looks like a pattern rather than a command name
/// (`looksLikeNodeCommandPattern`).
fn pattern_like(v: &str) -> bool {
    v.contains(['?', '*', '[', ']', '{', '}', '(', ')', ',', '|'])
        || v.starts_with('/')
        || v.ends_with('/')
        || v.starts_with('^')
        || v.ends_with('$')
        || v.chars().any(char::is_whitespace)
        || v.contains("group:")
}

/// The command names a deny entry could match: the known ones plus
/// `gateway.nodes.commands.allow`, less the private ones (and
/// `device.apps` when app recommendations are off).
fn known(c: &Value) -> BTreeSet<String> {
    let mut k: BTreeSet<String> = KNOWN_NODE_COMMANDS.iter().map(|s| s.to_string()).collect();
    for a in config::get(c, "gateway.nodes.commands.allow")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let a = a.trim();
        if !a.is_empty() {
            k.insert(a.to_string());
        }
    }
    for p in PRIVATE_NODE_COMMANDS {
        k.remove(*p);
    }
    if config::get(c, "wizard.appRecommendations") == Some(&Value::Bool(false)) {
        k.remove("device.apps");
    }
    k
}

/// Raises `gateway.nodes.deny_commands_ineffective`.
pub(super) fn check(out: &mut Findings, c: &Value) {
    let deny: Vec<&str> = config::get(c, "gateway.nodes.commands.deny")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if deny.is_empty() {
        return;
    }
    let known = known(c);
    let patterns: Vec<&str> = deny.iter().copied().filter(|d| pattern_like(d)).collect();
    let unknown: Vec<&str> = deny
        .iter()
        .copied()
        .filter(|d| !pattern_like(d) && !known.contains(*d))
        .collect();
    let mut parts = Vec::new();
    if !patterns.is_empty() {
        parts.push(format!(
            "pattern-like entries (exact matching only): {}",
            patterns.join(", ")
        ));
    }
    if !unknown.is_empty() {
        parts.push(format!("unknown command names: {}", unknown.join(", ")));
    }
    if !parts.is_empty() {
        out.raise("gateway.nodes.deny_commands_ineffective", parts.join("; "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_recognised() {
        for p in [
            "system.run*",
            "foo bar",
            "/x/",
            "^a",
            "a$",
            "group:x",
            "a,b",
        ] {
            assert!(pattern_like(p), "{p}");
        }
        assert!(!pattern_like("system.run"));
    }

    #[test]
    fn allowed_names_become_known_but_private_ones_never() {
        let c = serde_json::json!({"gateway": {"nodes": {"commands": {"allow": ["custom.cmd", "worker.launch.v1"]}}}});
        let k = known(&c);
        assert!(k.contains("custom.cmd") && k.contains("system.run"));
        assert!(!k.contains("worker.launch.v1"));
    }
}
