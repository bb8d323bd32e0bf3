//! Which storage layout a state dir uses, and which OpenClaw wrote it.
//!
//! Up to 2026.7.1 sessions, transcripts, auth profiles, pairing, devices and
//! cron are JSON/JSONL files; from 2026.7.2 they live in SQLite
//! (`state/openclaw.sqlite`, `agents/<id>/agent/openclaw-agent.sqlite`).
//! Legacy files can linger beside the databases until `openclaw doctor --fix`
//! imports them, which is the *mixed* layout: both must be collected.

use crate::sqlite;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The storage layout of a state dir.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// JSON/JSONL files (OpenClaw <= 2026.7.1).
    Files,
    /// SQLite (OpenClaw >= 2026.7.2).
    Sqlite,
    /// SQLite with legacy files still beside it.
    Mixed,
    /// Neither: a state dir with no sessions yet.
    Empty,
}

impl Kind {
    /// The name written to journals and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Files => "files",
            Kind::Sqlite => "sqlite",
            Kind::Mixed => "mixed",
            Kind::Empty => "empty",
        }
    }
}

/// One OpenClaw SQLite database and what its `schema_meta` says.
#[derive(Debug, Clone, Serialize)]
pub struct Database {
    pub path: PathBuf,
    /// `global` (state) or `agent`.
    pub role: Option<String>,
    pub agent_id: Option<String>,
    pub schema_version: Option<i64>,
    pub app_version: Option<String>,
    pub user_version: Option<i64>,
    pub has_wal: bool,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
    /// The private copy discovery read it through (a WAL database), kept
    /// for the command's later opens of the unchanged file
    /// ([`crate::sqlite::Snapshot`]).
    #[serde(skip)]
    pub snapshot: Option<std::sync::Arc<crate::sqlite::Snapshot>>,
}

/// What [`detect`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    pub kind: Kind,
    /// The best version we know: the newest of config and databases.
    pub version: Option<String>,
    /// `meta.lastTouchedVersion` from the config.
    pub config_version: Option<String>,
    pub databases: Vec<Database>,
    /// Legacy files and dirs present (relative to the state dir).
    pub legacy: Vec<String>,
}

fn exists(p: &Path) -> bool {
    crate::safefs::lstat(p).ok().flatten().is_some()
}

fn sidecar_exists(p: &Path, suffix: &str) -> bool {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    exists(Path::new(&s))
}

/// Agent ids that have a directory under `agents/`.
pub fn agent_dirs(state: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(state.join("agents")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .flatten()
        .take(10_000)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn read_meta(path: &Path) -> Database {
    let mut db = Database {
        path: path.to_path_buf(),
        role: None,
        agent_id: None,
        schema_version: None,
        app_version: None,
        user_version: None,
        has_wal: sidecar_exists(path, "-wal"),
        error: None,
        snapshot: None,
    };
    let conn = match sqlite::open_isolated(path) {
        Ok(c) => c,
        Err(e) => {
            db.error = Some(format!("{e:#}"));
            return db;
        }
    };
    db.snapshot = conn.snapshot();
    let c = &conn.conn;
    db.user_version = c.query_row("PRAGMA user_version", [], |r| r.get(0)).ok();
    if sqlite::has_table(c, "schema_meta") {
        let row = c.query_row(
            "SELECT role, schema_version, agent_id, app_version FROM schema_meta \
             WHERE meta_key = 'primary'",
            [],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            },
        );
        match row {
            Ok((role, sv, agent, app)) => {
                db.role = role;
                db.schema_version = sv;
                db.agent_id = agent;
                db.app_version = app;
            }
            Err(e) => db.error = Some(format!("schema_meta: {e}")),
        }
    } else if db.user_version.is_none() {
        db.error = Some("not an OpenClaw database (no schema_meta)".into());
    }
    db
}

/// Orders OpenClaw's calendar versions (`2026.9.6`, `2026.7.1-beta.2`).
pub fn version_key(v: &str) -> Vec<u64> {
    v.split(['.', '-'])
        .map_while(|p| p.parse::<u64>().ok())
        .collect()
}

/// True when `v` is at least `min` (both calendar versions).
pub fn version_at_least(v: &str, min: &str) -> bool {
    version_key(v) >= version_key(min)
}

/// An agent's files of the file layout: its sessions store, auth files
/// and JSONL transcripts.
fn agent_legacy(state: &Path, agent: &str) -> Vec<String> {
    let adir = state.join("agents").join(agent);
    let mut legacy = Vec::new();
    for rel in [
        "sessions/sessions.json",
        "agent/auth-profiles.json",
        "agent/auth.json",
    ] {
        if exists(&adir.join(rel)) {
            legacy.push(format!("agents/{agent}/{rel}"));
        }
    }
    if let Ok(rd) = std::fs::read_dir(adir.join("sessions")) {
        let n = rd
            .flatten()
            .take(1_000_000)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
            .count();
        if n > 0 {
            legacy.push(format!("agents/{agent}/sessions/*.jsonl ({n})"));
        }
    }
    legacy
}

/// The state dir's own files of the file layout: cron jobs, devices, node
/// pairings, channel allow lists and pairings, OAuth.
fn state_legacy(state: &Path) -> Vec<String> {
    let mut legacy = Vec::new();
    for rel in ["cron/jobs.json", "devices", "nodes/paired.json"] {
        let p = state.join(rel);
        let live = if rel == "devices" {
            std::fs::read_dir(&p).is_ok_and(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".json"))
            })
        } else {
            exists(&p)
        };
        if live {
            legacy.push(rel.to_string());
        }
    }
    if let Ok(rd) = std::fs::read_dir(state.join("credentials")) {
        let n = rd
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.ends_with("-allowFrom.json") || n.ends_with("-pairing.json") || n == "oauth.json"
            })
            .count();
        if n > 0 {
            legacy.push(format!("credentials/*.json ({n})"));
        }
    }
    legacy
}

/// Detects the layout of `state`, given the config's parsed value.
pub fn detect(state: &Path, config: Option<&serde_json::Value>) -> Layout {
    let mut databases = Vec::new();
    let global = state.join("state").join("openclaw.sqlite");
    if exists(&global) {
        databases.push(read_meta(&global));
    }
    let mut legacy = Vec::new();
    for agent in agent_dirs(state) {
        let db = state
            .join("agents")
            .join(&agent)
            .join("agent")
            .join("openclaw-agent.sqlite");
        if exists(&db) {
            databases.push(read_meta(&db));
        }
        legacy.extend(agent_legacy(state, &agent));
    }
    legacy.extend(state_legacy(state));
    let kind = match (!databases.is_empty(), !legacy.is_empty()) {
        (true, true) => Kind::Mixed,
        (true, false) => Kind::Sqlite,
        (false, true) => Kind::Files,
        (false, false) => Kind::Empty,
    };
    let config_version = config
        .and_then(|c| crate::openclaw::config::get_str(c, "meta.lastTouchedVersion"))
        .map(crate::sanitize::escape);
    let version = databases
        .iter()
        .filter_map(|d| d.app_version.clone())
        .chain(config_version.clone())
        .max_by_key(|v| version_key(v));
    Layout {
        kind,
        version,
        config_version,
        databases,
        legacy,
    }
}

/// The regular files directly in an agent's `sessions/` dir whose names
/// satisfy `wanted`, sorted; bounded, since the dir is the attacker's to fill.
pub fn session_dir_files(dir: &Path, wanted: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .take(1_000_000)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| wanted(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order() {
        assert!(version_at_least("2026.9.6", "2026.7.2"));
        assert!(!version_at_least("2026.7.1", "2026.7.2"));
        assert!(version_key("2026.10.1") > version_key("2026.9.30"));
    }
}
