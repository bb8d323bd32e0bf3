//! `ir clear-sessions`: remove the poisoned sessions, once they are safe in
//! a verified bundle and the gateway is stopped.
//!
//! Files layout: every transcript in `agents/<id>/sessions/` (live,
//! `.deleted.*`, `.reset.*`, `.zst` cold storage, trajectories) and
//! `sessions.json`. SQLite layout: the session and transcript rows of each
//! agent database, in one transaction per database, leaving the database
//! file, its schema, the agent's auth profiles and its memory in place, so
//! OpenClaw starts on it as on an agent with no history (tested with a real
//! gateway). Deleting the database files instead would also delete the
//! agent's auth profiles and memory, which are not the poison.

use super::gate;
use crate::case::Run;
use crate::openclaw::{Deployment, layout};
use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Agent-database tables that hold sessions, transcripts and what derives
/// from them. `session_key_contract` (configuration), `auth_profile_*`,
/// `memory_*` and `cache_entries` stay.
pub const SESSION_TABLES: &[&str] = &[
    "transcript_events",
    "transcript_event_identities",
    "transcript_rewrite_watermarks",
    "session_transcript_archives",
    "session_transcript_cold_archives",
    "session_transcript_index_state",
    "session_transcript_active_events",
    "session_transcript_fts_rows",
    "session_transcript_fts",
    "trajectory_runtime_events",
    "acp_parent_stream_events",
    "context_engine_turn_outbox",
    "session_pending_inputs",
    "session_input_completions",
    "session_conversations",
    "conversation_deliveries",
    "conversations",
    "session_participants",
    "session_members",
    "session_suggestions",
    "session_progress_cards",
    "session_goal_operations",
    "heartbeat_outcomes",
    "message_tool_run_outcomes",
    "session_windows",
    "session_nodes",
    // Last: the triggers above refill it.
    "session_canonical_validation_pending",
];

/// What was cleared.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub agents: Vec<String>,
    pub files_removed: Vec<String>,
    pub rows_deleted: Vec<Value>,
    pub forced: Vec<gate::Uncovered>,
    pub notes: Vec<String>,
}

fn session_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .take(1_000_000)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n == "sessions.json"
                || n.contains(".jsonl")
                || n.ends_with(".zst")
                || n.contains(".deleted.")
                || n.contains(".reset.")
                || n.contains(".trajectory")
        })
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

/// Clears the sessions of every agent, or of one.
pub fn clear(
    dep: &Deployment,
    case_journal: &Path,
    root: &crate::host::Root,
    agent: Option<&str>,
    force: bool,
    run: &Run,
) -> Result<Report> {
    if dep.runtime.running {
        return Err(crate::exit::Refused("the gateway is running: stop it first (ir stop); clearing under a live gateway would race its writes".into()).into());
    }
    let s = &dep.paths.state_dir;
    let mut agents = layout::agent_dirs(s);
    if let Some(a) = agent {
        if !agents.iter().any(|x| x == a) {
            bail!(
                "no agent {a:?} in {} (agents: {})",
                s.display(),
                agents.join(", ")
            );
        }
        agents.retain(|x| x == a);
    }
    let mut files = Vec::new();
    let mut dbs = Vec::new();
    for a in &agents {
        files.extend(session_files(&s.join("agents").join(a).join("sessions")));
        let db = s.join("agents").join(a).join("agent/openclaw-agent.sqlite");
        if crate::safefs::lstat(&db)?.is_some_and(|m| m.file_type().is_file()) {
            dbs.push(db);
        }
    }
    let mut guarded: Vec<PathBuf> = files.clone();
    for db in &dbs {
        guarded.push(db.clone());
        let wal = PathBuf::from(format!("{}-wal", db.display()));
        if crate::safefs::lstat(&wal)?.is_some_and(|m| m.len() > 0) {
            guarded.push(wal);
        }
    }
    let pairs: Vec<(PathBuf, PathBuf)> = guarded
        .iter()
        .map(|p| (p.clone(), root.host_view(p)))
        .collect();
    let (_, forced) = gate::require(case_journal, &pairs, force, "clear-sessions")?;
    let mut r = Report {
        agents: agents.clone(),
        forced,
        ..Report::default()
    };
    if !r.forced.is_empty() {
        run.event("forced", json!({"uncovered": r.forced}))?;
    }
    // Every database's write lock first: a live writer refuses the whole
    // run before anything is removed.
    let mut conns = Vec::new();
    for db in &dbs {
        let c = rusqlite::Connection::open_with_flags(
            db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW,
        )?;
        c.busy_timeout(Duration::from_millis(1500))?;
        if let Err(e) = c.execute_batch("BEGIN IMMEDIATE") {
            return Err(crate::exit::Refused(format!(
                "{} is locked by another writer ({e}); nothing was removed",
                db.display()
            ))
            .into());
        }
        conns.push((db, c));
    }
    for f in &files {
        std::fs::remove_file(f).with_context(|| format!("removing {}", f.display()))?;
        r.files_removed
            .push(crate::sanitize::escape_path(&root.host_view(f)));
    }
    if !files.is_empty() {
        run.event("removed", json!({"files": r.files_removed}))?;
    }
    for (db, c) in conns {
        let mut counts = serde_json::Map::new();
        for t in SESSION_TABLES {
            if crate::sqlite::has_table(&c, t) {
                let n = c
                    .execute(&format!("DELETE FROM \"{t}\""), [])
                    .with_context(|| format!("clearing {t} in {}", db.display()))?;
                counts.insert((*t).into(), json!(n));
            }
        }
        c.execute_batch("COMMIT")?;
        let e = json!({"db": crate::sanitize::escape_path(&root.host_view(db)), "rows": counts});
        run.event("cleared", e.clone())?;
        r.rows_deleted.push(e);
    }
    r.notes.push("OpenClaw's memory index can still hold text from these sessions (openclaw issue 141807): review MEMORY.md and memory/ in the workspace".into());
    Ok(r)
}
