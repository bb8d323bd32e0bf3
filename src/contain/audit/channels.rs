//! Channel checks: open DM policies (and an open policy whose allowFrom
//! lacks `"*"`), open group policies, and several allowed senders sharing
//! one DM session. The conditions are those of OpenClaw's shared channel
//! security adapter (`dmPolicy` or legacy `dm.policy`, top level and per
//! account), but the ids are `ir.*`: OpenClaw 2026.9.6's `security audit`
//! loads read-only channel plugins without their security adapter and so
//! never reports `channels.<id>.dm.open` (checked by running its
//! `listReadOnlyChannelPluginsForConfig` on a configured Telegram).

use super::Findings;
use crate::openclaw::config;
use serde_json::Value;

fn policy<'a>(s: &'a Value, key: &str, legacy: &str) -> Option<&'a str> {
    s.get(key)
        .and_then(Value::as_str)
        .or_else(|| s.pointer(legacy).and_then(Value::as_str))
}

fn allow_from(s: &Value) -> Vec<String> {
    s.get("allowFrom")
        .or_else(|| s.pointer("/dm/allowFrom"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| match e {
                    Value::String(s) => Some(s.trim().to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Runs the channel checks.
pub(super) fn check(out: &mut Findings, c: &Value) {
    let Some(Value::Object(chs)) = config::get(c, "channels") else {
        return;
    };
    let mut senders = 0usize;
    for (name, ch) in chs {
        if !ch.is_object() || ch.get("enabled") == Some(&Value::Bool(false)) {
            continue;
        }
        let mut sections = vec![(format!("channels.{name}"), ch.clone())];
        if let Some(Value::Object(acc)) = ch.get("accounts") {
            for (a, v) in acc {
                let merged = crate::openclaw::include::deep_merge(ch.clone(), v.clone());
                sections.push((format!("channels.{name}.accounts.{a}"), merged));
            }
        }
        let (mut dm_open, mut dm_invalid, mut group_open) = (None, None, None);
        for (path, s) in &sections {
            let af = allow_from(s);
            senders = senders.max(af.iter().filter(|e| *e != "*").count());
            if policy(s, "dmPolicy", "/dm/policy") == Some("open") {
                dm_open.get_or_insert(path.clone());
                if !af.iter().any(|e| e == "*") {
                    dm_invalid.get_or_insert(path.clone());
                }
            }
            if s.get("groupPolicy").and_then(Value::as_str) == Some("open") {
                group_open.get_or_insert(path.clone());
            }
        }
        if let Some(p) = dm_open {
            out.raise_for(
                "ir.channels.*.dm_open",
                name,
                format!("{p}.dmPolicy=\"open\" allows anyone to DM the bot."),
            );
        }
        if let Some(p) = dm_invalid {
            out.raise_for(
                "ir.channels.*.dm_open_invalid",
                name,
                format!("\"open\" requires {p}.allowFrom to include \"*\"."),
            );
        }
        if let Some(p) = group_open {
            out.raise_for(
                "ir.channels.*.group_open",
                name,
                format!("{p}.groupPolicy=\"open\" lets any group trigger the bot."),
            );
        }
    }
    if senders > 1 && config::get_str(c, "session.dmScope") != Some("per-channel-peer") {
        out.raise(
            "ir.session.dm_scope_shared",
            "more than one allowed sender but session.dmScope is not per-channel-peer.",
        );
    }
}
