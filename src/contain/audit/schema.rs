//! Version-aware config checks: keys the installed OpenClaw's schema
//! rejects are reported as such (info), never silently judged; on versions
//! that still accept them the hardening checklist judges them. Also the
//! version with the Control UI token leak (CVE-2026-25253).

use super::{FIXED_CVE_2026_25253, Findings};
use crate::openclaw::{Deployment, config, layout};
use serde_json::Value;

/// A config key some versions retired, and from which version on it is
/// rejected (read off each installed package's legacy-key rules:
/// 2026.9.6 rejects them, 2026.7.1 accepts them).
struct Retired {
    key: &'static str,
    rejected_from: &'static str,
    /// What the version does instead.
    note: &'static str,
}

const RETIRED: &[Retired] = &[
    Retired {
        key: "gateway.controlUi.allowInsecureAuth",
        rejected_from: "2026.9.6",
        note: "the key was retired; device auth is always required",
    },
    Retired {
        key: "logging.redactSensitive",
        rejected_from: "2026.9.6",
        note: "the key was retired; redaction is always on",
    },
    Retired {
        key: "agents.list",
        rejected_from: "2026.9.6",
        note: "agents.list moved to keyed agents.entries (openclaw doctor --fix)",
    },
];

/// Runs the version-aware checks.
pub(super) fn check(out: &mut Findings, dep: &Deployment, c: &Value) {
    // Unknown version: judged as the newest known, which rejects.
    let version = dep.layout.version.as_deref();
    let rejects = |from: &str| version.is_none_or(|v| layout::version_at_least(v, from));
    for r in RETIRED {
        if config::get(c, r.key).is_none() {
            continue;
        }
        if rejects(r.rejected_from) {
            out.raise(
                "ir.config.key_rejected",
                format!(
                    "{} is set, but OpenClaw {} rejects it ({}); `openclaw config validate` fails and the gateway will not start.",
                    r.key,
                    version.unwrap_or(r.rejected_from),
                    r.note
                ),
            );
        }
    }
    if !rejects("2026.9.6") {
        older_keys(out, c);
    }
    if let Some(v) = version {
        if !layout::version_at_least(v, FIXED_CVE_2026_25253) {
            out.raise(
                "ir.version.cve_2026_25253",
                format!("{v} is older than {FIXED_CVE_2026_25253} (CVE-2026-25253: the Control UI leaks the gateway token)."),
            );
        }
    }
}

/// The checklist items whose keys only older versions accept.
fn older_keys(out: &mut Findings, c: &Value) {
    if config::get(c, "gateway.controlUi.allowInsecureAuth") == Some(&Value::Bool(true)) {
        out.raise(
            "ir.gateway.control_ui_insecure_auth",
            "gateway.controlUi.allowInsecureAuth is true.",
        );
    }
    if config::get_str(c, "logging.redactSensitive") == Some("off") {
        out.raise(
            "ir.logging.redaction_off",
            "logging.redactSensitive is off.",
        );
    }
}
