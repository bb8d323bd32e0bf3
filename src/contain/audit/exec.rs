//! Exec approvals and safe bins: OpenClaw's `tools.exec.safe_bins_*`
//! checks on the config, and its `tools.exec.auto_allow_skills_enabled`
//! and `allowlist_interpreter_without_strict_inline_eval` checks on the
//! exec approvals it keeps in `state/openclaw.sqlite` (table
//! `exec_approvals_config`, row `current`; 2026.9.6 no longer reads an
//! `exec-approvals.json`). The name lists are OpenClaw 2026.9.6's, copied
//! as data (`exec-safe-bin-runtime-policy`, `exec-safe-bin-trust`,
//! `command-analysis/inline-eval`). The approvals loaded here also set
//! the floor of each scope's exec policy in [`super::boundary`].
//!
//! An attacker who wants shell on the host without touching the config
//! widens these: an interpreter in `safeBins`, `autoAllowSkills`, or a
//! `python3` allowlist entry that still accepts `-c`.

use super::Findings;
use super::fs::agent_entries;
use crate::openclaw::{Deployment, config};
use serde_json::Value;
use std::collections::BTreeSet;

/// safeBins entries that interpret scripts or run embedded programs
/// (OpenClaw's `INTERPRETER_LIKE_SAFE_BINS`).
const INTERPRETER_SAFE_BINS: &[&str] = &[
    "ash",
    "awk",
    "bash",
    "busybox",
    "bun",
    "cmd",
    "cmd.exe",
    "cscript",
    "dash",
    "deno",
    "fish",
    "gawk",
    "gsed",
    "ksh",
    "lua",
    "mawk",
    "nawk",
    "node",
    "nodejs",
    "perl",
    "php",
    "powershell",
    "powershell.exe",
    "pypy",
    "pwsh",
    "pwsh.exe",
    "python",
    "python2",
    "python3",
    "ruby",
    "sed",
    "sh",
    "toybox",
    "wscript",
    "zsh",
];

/// Interpreter families also matched with a version suffix (`python3.12`).
const INTERPRETER_SAFE_BIN_PREFIXES: &[&str] = &["python", "ruby", "perl", "php", "node"];

/// safeBins whose semantics are broader than a stdin filter, with
/// OpenClaw's warning (its `SAFE_BIN_SEMANTIC_RULES`).
const BROAD_SAFE_BINS: &[(&str, &str)] = &[
    (
        "awk",
        "awk-family interpreters can execute commands, access ENVIRON, and write files",
    ),
    (
        "gawk",
        "awk-family interpreters can execute commands, access ENVIRON, and write files",
    ),
    ("gsed", "sed scripts can execute commands and write files"),
    (
        "jq",
        "jq can read environment data and load jq code from modules or startup files",
    ),
    (
        "mawk",
        "awk-family interpreters can execute commands, access ENVIRON, and write files",
    ),
    (
        "nawk",
        "awk-family interpreters can execute commands, access ENVIRON, and write files",
    ),
    ("sed", "sed scripts can execute commands and write files"),
];

/// Executables with an inline-eval form (`python -c`, `node -e`, `find
/// -exec`...): OpenClaw's `INTERPRETER_ALLOWLIST_NAMES`.
const INLINE_EVAL_NAMES: &[&str] = &[
    "python",
    "python2",
    "python3",
    "pypy",
    "pypy3",
    "node",
    "nodejs",
    "bun",
    "deno",
    "awk",
    "gawk",
    "mawk",
    "nawk",
    "ruby",
    "perl",
    "php",
    "r",
    "rscript",
    "julia",
    "elixir",
    "iex",
    "guile",
    "groovy",
    "scala",
    "scala-cli",
    "clojure",
    "clj",
    "raku",
    "perl6",
    "ghc",
    "ghci",
    "erl",
    "werl",
    "gdb",
    "expect",
    "lua",
    "osascript",
    "find",
    "make",
    "gmake",
    "sed",
    "gsed",
    "xargs",
];

/// The largest approvals document read (OpenClaw keeps it small; a huge
/// one is not parsed).
const MAX_APPROVALS_BYTES: i64 = 4 << 20;

/// The exec approvals OpenClaw would load.
pub(super) enum Approvals {
    /// No database, table or row: OpenClaw's empty document.
    Absent,
    /// A row OpenClaw cannot parse: it falls back to deny-all.
    Malformed,
    /// The parsed document.
    Doc(Value),
    /// `ir` could not read them (reported as `ir.exec.approvals_unreadable`).
    Unreadable,
}

/// Runs the safe-bin, exec-approval and skill/MCP boundary checks.
pub(super) fn check(out: &mut Findings, dep: &Deployment, c: &Value) {
    safe_bins(out, c);
    let a = match approvals(dep) {
        Ok(a) => a,
        Err(e) => {
            out.raise("ir.exec.approvals_unreadable", format!("{e:#}"));
            Approvals::Unreadable
        }
    };
    if let Approvals::Doc(d) = &a {
        approval_checks(out, c, d);
    }
    super::boundary::check(out, dep, c, &a);
}

/// A safeBins entry reduced to its executable name (`normalizeSafeBinName`).
fn safe_bin_name(raw: &str) -> String {
    let lower = raw.trim().to_lowercase();
    let base = lower.rsplit(['/', '\\']).next().unwrap_or(&lower);
    for sfx in [".exe", ".cmd", ".bat", ".com"] {
        if let Some(s) = base.strip_suffix(sfx) {
            return s.to_string();
        }
    }
    base.to_string()
}

/// Whether `name` (normalised) is interpreter-like (`isInterpreterLikeSafeBin`).
fn interpreter_like(name: &str) -> bool {
    INTERPRETER_SAFE_BINS.contains(&name)
        || INTERPRETER_SAFE_BIN_PREFIXES.iter().any(|p| {
            // ^<p>\d+(\.\d+)?$
            name.strip_prefix(p).is_some_and(|v| {
                let (a, b) = v.split_once('.').unwrap_or((v, "0"));
                !a.is_empty()
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && !b.is_empty()
                    && b.bytes().all(|c| c.is_ascii_digit())
            })
        })
}

/// The configured safeBins of one scope: lowercased, trimmed, unique
/// (`normalizeConfiguredSafeBins`).
fn configured(v: Option<&Value>) -> BTreeSet<String> {
    super::reach::ids(v).into_iter().collect()
}

/// Profile names of one or two scopes (`resolveMergedSafeBinProfileFixtures`).
fn profiled(scopes: &[Option<&Value>]) -> BTreeSet<String> {
    scopes
        .iter()
        .flatten()
        .filter_map(|v| v.get("safeBinProfiles").and_then(Value::as_object))
        .flat_map(|m| m.keys())
        .map(|k| k.trim().to_lowercase())
        .filter(|k| !k.is_empty())
        .collect()
}

/// Interpreters in safeBins without a profile, and broad safeBins, per scope.
fn safe_bins(out: &mut Findings, c: &Value) {
    let global = config::get(c, "tools.exec");
    let mut scopes = vec![("tools.exec".to_string(), global, profiled(&[global]))];
    for (id, a) in agent_entries(c) {
        let local = a.pointer("/tools/exec");
        scopes.push((
            format!("agents.entries.{id}.tools.exec"),
            local,
            profiled(&[global, local]),
        ));
    }
    let (mut interp, mut broad) = (Vec::new(), Vec::new());
    for (scope, exec, profiles) in scopes {
        let bins = configured(exec.and_then(|e| e.get("safeBins")));
        if bins.is_empty() {
            continue;
        }
        let names: BTreeSet<String> = bins.iter().map(|b| safe_bin_name(b)).collect();
        let unprofiled: Vec<&str> = names
            .iter()
            .filter(|n| !n.is_empty() && interpreter_like(n) && !profiles.contains(*n))
            .map(String::as_str)
            .collect();
        if !unprofiled.is_empty() {
            interp.push(format!("{scope}.safeBins: {}", unprofiled.join(", ")));
        }
        for (bin, why) in BROAD_SAFE_BINS.iter().filter(|(b, _)| names.contains(*b)) {
            broad.push(format!("{scope}.safeBins: {bin} ({why})"));
        }
    }
    if !interp.is_empty() {
        out.raise(
            "tools.exec.safe_bins_interpreter_unprofiled",
            interp.join("; "),
        );
    }
    if !broad.is_empty() {
        out.raise("tools.exec.safe_bins_broad_behavior", broad.join("; "));
    }
}

/// The exec approvals document OpenClaw would load.
fn approvals(dep: &Deployment) -> anyhow::Result<Approvals> {
    use anyhow::Context;
    let db = dep.paths.state_dir.join("state").join("openclaw.sqlite");
    if crate::safefs::lstat(&db)?.is_none() {
        return Ok(Approvals::Absent);
    }
    let conn = crate::sqlite::open_isolated(&db)?;
    if !crate::sqlite::has_table(&conn.conn, "exec_approvals_config") {
        return Ok(Approvals::Absent);
    }
    let row = conn.conn.query_row(
        "SELECT length(raw_json), CASE WHEN length(raw_json) <= ?1 THEN raw_json END \
         FROM exec_approvals_config WHERE config_key = 'current'",
        [MAX_APPROVALS_BYTES],
        |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<String>>(1)?)),
    );
    let (len, raw) = match row {
        Ok(r) => r,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(Approvals::Absent),
        Err(e) => {
            return Err(e).with_context(|| format!("reading exec approvals in {}", db.display()));
        }
    };
    let Some(raw) = raw else {
        anyhow::bail!(
            "exec approvals in {} are {} bytes, over the {MAX_APPROVALS_BYTES}-byte read limit",
            db.display(),
            len.unwrap_or(0)
        );
    };
    // A malformed row makes OpenClaw fall back to a deny-all policy.
    Ok(serde_json::from_str::<Value>(&raw)
        .ok()
        .filter(Value::is_object)
        .map_or(Approvals::Malformed, Approvals::Doc))
}

/// The approvals' agents with the legacy `default` entry folded into
/// `main` (OpenClaw's `normalizeExecApprovalsInternal`).
pub(super) fn approval_agents(a: &Value) -> Vec<(String, Value)> {
    let mut agents: serde_json::Map<String, Value> = a
        .get("agents")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(legacy) = agents.remove("default").filter(truthy) {
        let merged = match agents.remove("main") {
            Some(Value::Object(mut m)) => {
                let mut list: Vec<Value> = allowlist(&Value::Object(m.clone()));
                list.extend(allowlist(&legacy));
                // `current ?? legacy` per field (`mergeLegacyAgent`).
                for k in ["autoAllowSkills", "security", "ask", "askFallback"] {
                    if m.get(k).is_none_or(Value::is_null) {
                        if let Some(v) = legacy.get(k) {
                            m.insert(k.into(), v.clone());
                        }
                    }
                }
                m.insert("allowlist".into(), Value::Array(list));
                Value::Object(m)
            }
            _ => legacy,
        };
        agents.insert("main".into(), merged);
    }
    agents.into_iter().collect()
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
}

/// An agent's allowlist entries as `{pattern}` objects (bare strings are
/// accepted, as OpenClaw's `coerceAllowlistEntries` does).
fn allowlist(agent: &Value) -> Vec<Value> {
    agent
        .get("allowlist")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| match e {
            Value::String(s) if !s.trim().is_empty() => {
                Some(serde_json::json!({ "pattern": s.trim() }))
            }
            Value::Object(o)
                if o.get("pattern")
                    .and_then(Value::as_str)
                    .is_some_and(|p| !p.trim().is_empty()) =>
            {
                Some(e.clone())
            }
            _ => None,
        })
        .collect()
}

/// Lowercase basename without a Windows suffix (`normalizeExecutableToken`).
fn executable_token(p: &str) -> String {
    let posix = p.rsplit('/').next().unwrap_or(p);
    let win = p.rsplit(['/', '\\']).next().unwrap_or(p);
    let base = if win.len() < posix.len() { win } else { posix }.to_lowercase();
    for sfx in [".exe", ".cmd", ".bat", ".com"] {
        if let Some(s) = base.strip_suffix(sfx) {
            return s.to_string();
        }
    }
    base
}

/// `name` and `name` without a version suffix (`-?\d+(?:\.\d+)*$`),
/// OpenClaw's `interpreterNameVariants`.
fn name_variants(v: &str) -> Vec<String> {
    static VERSION: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"-?\d+(?:\.\d+)*$").expect("static regex"));
    let stripped = VERSION.replace(v, "");
    if stripped.is_empty() || stripped == v || stripped.len() < 2 {
        vec![v.to_string()]
    } else {
        vec![v.to_string(), stripped.into_owned()]
    }
}

/// Whether an allowlist pattern names an interpreter
/// (`isInterpreterLikeAllowlistPattern`).
fn interpreter_pattern(pattern: &str) -> bool {
    let t = pattern.trim().to_lowercase();
    if t.is_empty() {
        return false;
    }
    let hit = |s: &str| {
        name_variants(s)
            .iter()
            .any(|n| INLINE_EVAL_NAMES.contains(&n.as_str()))
    };
    if hit(&executable_token(&t)) {
        return true;
    }
    let unix = t.replace('\\', "/");
    let base = unix.rsplit('/').next().unwrap_or(&unix);
    let base = base.strip_suffix(".exe").unwrap_or(base);
    let cleaned: String = base.chars().filter(|c| !"*?[]{}()".contains(*c)).collect();
    hit(cleaned.trim_end_matches(['.', '-']))
}

/// `autoAllowSkills`, and interpreter allowlist entries of agents without
/// `strictInlineEval`.
fn approval_checks(out: &mut Findings, c: &Value, a: &Value) {
    let agents = approval_agents(a);
    let mut auto = Vec::new();
    if a.pointer("/defaults/autoAllowSkills") == Some(&Value::Bool(true)) {
        auto.push("defaults.autoAllowSkills".to_string());
    }
    for (id, ag) in &agents {
        if ag.get("autoAllowSkills") == Some(&Value::Bool(true)) {
            auto.push(format!("agents.{id}.autoAllowSkills"));
        }
    }
    if !auto.is_empty() {
        out.raise("tools.exec.auto_allow_skills_enabled", auto.join(", "));
    }
    let global_strict = config::get(c, "tools.exec.strictInlineEval") == Some(&Value::Bool(true));
    let conf_agents = agent_entries(c);
    let strict = |id: &str| {
        if id == "*" {
            return global_strict;
        }
        match conf_agents
            .iter()
            .find(|(a, _)| a == id)
            .and_then(|(_, e)| e.pointer("/tools/exec/strictInlineEval"))
        {
            Some(Value::Null) | None => global_strict,
            Some(v) => truthy(v),
        }
    };
    let mut hits = Vec::new();
    for (id, ag) in &agents {
        if !truthy(ag) || strict(id) {
            continue;
        }
        for e in allowlist(ag) {
            let p = e["pattern"].as_str().unwrap_or_default();
            if interpreter_pattern(p) {
                hits.push(format!("agents.{id}.allowlist: {p}"));
            }
        }
    }
    if !hits.is_empty() {
        out.raise(
            "tools.exec.allowlist_interpreter_without_strict_inline_eval",
            hits.join(", "),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_patterns_follow_openclaw() {
        for p in [
            "python3",
            "/usr/bin/python3.12",
            "node",
            "python*",
            "ruby-3.2",
            "awk",
            "find",
            "C:\\python.exe",
            "r",
            "xargs",
        ] {
            assert!(interpreter_pattern(p), "{p}");
        }
        for p in ["bash", "/usr/bin/jq", "sh", "env", "sudo", "/usr/bin/ls"] {
            assert!(!interpreter_pattern(p), "{p}");
        }
    }

    #[test]
    fn the_legacy_default_agent_folds_into_main() {
        let a = serde_json::json!({"agents": {
            "main": {"allowlist": [{"pattern": "/usr/bin/ls"}]},
            "default": {"autoAllowSkills": true, "allowlist": ["node", " "]},
        }});
        let agents = approval_agents(&a);
        assert_eq!(agents.len(), 1);
        let (id, main) = &agents[0];
        assert_eq!(id, "main");
        assert_eq!(main["autoAllowSkills"], true);
        let pats: Vec<String> = allowlist(main)
            .iter()
            .map(|e| e["pattern"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(pats, ["/usr/bin/ls", "node"]);
    }

    #[test]
    fn safe_bin_names_and_interpreters() {
        assert_eq!(safe_bin_name("/usr/bin/Python3.EXE"), "python3");
        assert!(interpreter_like("python3.12"));
        assert!(interpreter_like("node22"));
        assert!(!interpreter_like("python3."));
        assert!(!interpreter_like("cut"));
    }
}
