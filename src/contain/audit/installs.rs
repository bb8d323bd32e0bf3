//! Supply-chain checks on npm-installed plugins and hook packs
//! (OpenClaw's `plugins.installs_*` and `hooks.installs_*`): an install
//! spec that is not pinned to an exact version, a record without an
//! integrity hash, and a record whose version is not the one on disk.
//!
//! OpenClaw 2026.9.6 keeps both ledgers in `state/openclaw.sqlite`, table
//! `config_machine_state`: `plugins.installedIndex` (its
//! `index.installRecords`) and `hooks.internal.installs`. They are read
//! read-only through [`crate::sqlite::open_isolated`]; the installed
//! `package.json` is read bounded, never through a link out of `--root`.
//! Not ported: the plugin records OpenClaw recovers from its managed npm
//! dir when the index lacks them (the index is what `plugins install`
//! writes, so only a damaged ledger differs).

use super::Findings;
use crate::openclaw::Deployment;
use anyhow::{Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The largest ledger row and `package.json` read.
const MAX_JSON_BYTES: i64 = 4 << 20;

/// One ledger: where it is, the default install dir, and the check ids.
struct Ledger {
    key: &'static str,
    /// JSON pointer from the row's value to the record map.
    pointer: &'static str,
    /// `$STATE/<dir>/<id>` when a record names no install path.
    dir: &'static str,
    prefix: &'static str,
}

const LEDGERS: &[Ledger] = &[
    Ledger {
        key: "plugins.installedIndex",
        pointer: "/index/installRecords",
        dir: "extensions",
        prefix: "plugins",
    },
    Ledger {
        key: "hooks.internal.installs",
        pointer: "",
        dir: "hooks",
        prefix: "hooks",
    },
];

/// Runs both ledgers' checks; a database that cannot be read is named.
pub(super) fn check(out: &mut Findings, dep: &Deployment) {
    for l in LEDGERS {
        match records(dep, l) {
            Ok(recs) => judge(out, dep, l, &recs),
            Err(e) => out.raise("ir.installs.ledger_unreadable", format!("{e:#}")),
        }
    }
}

/// The npm records of one ledger, `(id, record)`.
fn records(dep: &Deployment, l: &Ledger) -> Result<Vec<(String, Value)>> {
    let db = dep.paths.state_dir.join("state").join("openclaw.sqlite");
    if crate::safefs::lstat(&db)?.is_none() {
        return Ok(Vec::new());
    }
    let conn = crate::sqlite::open_isolated(&db)?;
    if !crate::sqlite::has_table(&conn.conn, "config_machine_state") {
        return Ok(Vec::new());
    }
    let row = conn.conn.query_row(
        "SELECT length(value_json), CASE WHEN length(value_json) <= ?2 THEN value_json END \
         FROM config_machine_state WHERE state_key = ?1",
        rusqlite::params![l.key, MAX_JSON_BYTES],
        |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<String>>(1)?)),
    );
    let raw = match row {
        Ok((_, Some(raw))) => raw,
        Ok((len, None)) => anyhow::bail!(
            "{} in {} is {} bytes, over the read limit",
            l.key,
            db.display(),
            len.unwrap_or(0)
        ),
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {} in {}", l.key, db.display())),
    };
    let v: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
    let map = v.pointer(l.pointer).and_then(Value::as_object);
    Ok(map
        .into_iter()
        .flatten()
        .filter(|(_, r)| r.get("source").and_then(Value::as_str) == Some("npm"))
        .map(|(k, r)| (k.clone(), r.clone()))
        .collect())
}

/// `name@1.2.3` (an exact semver after the last `@`): OpenClaw's
/// `isPinnedRegistrySpec`.
fn pinned(spec: &str) -> bool {
    static SEMVER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
            .expect("static regex")
    });
    let v = spec.trim();
    match v.rfind('@') {
        Some(at) if at > 0 && at < v.len() - 1 => SEMVER.is_match(v[at + 1..].trim()),
        _ => false,
    }
}

/// The version in an install dir's `package.json` (host path `dir`).
fn installed_version(dep: &Deployment, dir: &Path) -> Option<String> {
    let local = dep.root.join(dir.strip_prefix("/").unwrap_or(dir));
    let real = super::skills::resolve_under(&dep.root, &local)?;
    let bytes =
        crate::safefs::read_bounded(&real.join("package.json"), MAX_JSON_BYTES as u64).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("version").and_then(Value::as_str).map(str::to_string)
}

fn judge(out: &mut Findings, dep: &Deployment, l: &Ledger, recs: &[(String, Value)]) {
    let (mut unpinned, mut no_integrity, mut drift) = (Vec::new(), Vec::new(), Vec::new());
    for (id, r) in recs {
        let s = |k: &str| r.get(k).and_then(Value::as_str);
        if let Some(spec) = s("spec").filter(|sp| !pinned(sp)) {
            unpinned.push(format!("{id} ({spec})"));
        }
        if s("integrity").is_none_or(|i| i.trim().is_empty()) {
            no_integrity.push(id.clone());
        }
        let Some(recorded) = s("resolvedVersion")
            .or_else(|| s("version"))
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        let dir = match s("installPath") {
            Some(p) => PathBuf::from(p),
            None => dep
                .paths
                .state_dir
                .strip_prefix(&dep.root)
                .map(|p| Path::new("/").join(p))
                .unwrap_or_else(|_| dep.paths.state_dir.clone())
                .join(l.dir)
                .join(id),
        };
        if let Some(v) = installed_version(dep, &dir).filter(|v| v != recorded) {
            drift.push(format!("{id} (recorded {recorded}, installed {v})"));
        }
    }
    let raise = |out: &mut Findings, what: &str, v: Vec<String>| {
        if !v.is_empty() {
            out.raise(&format!("{}.installs_{what}", l.prefix), v.join(", "));
        }
    };
    raise(out, "unpinned_npm_specs", unpinned);
    raise(out, "missing_integrity", no_integrity);
    raise(out, "version_drift", drift);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_specs_are_exact_versions() {
        assert!(pinned("@scope/pkg@1.2.3"));
        assert!(pinned("pkg@v1.2.3-beta.1+build"));
        assert!(!pinned("@scope/pkg"));
        assert!(!pinned("pkg@^1.2.3"));
        assert!(!pinned("pkg@latest"));
        assert!(!pinned("pkg@"));
    }
}
