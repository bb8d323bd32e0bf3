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
use crate::record::RowsDeleted;
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::path::{Path, PathBuf};

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

/// What was cleared: the record `ir clear-sessions` journals.
pub use crate::record::ClearRecord as Report;

/// The files of a session dir that hold session text: the index,
/// transcripts live, deleted, reset or compressed, and trajectories.
fn is_session_file(n: &str) -> bool {
    n == "sessions.json"
        || n.contains(".jsonl")
        || n.ends_with(".zst")
        || n.contains(".deleted.")
        || n.contains(".reset.")
        || n.contains(".trajectory")
}

/// What a clear removes, decided before anything changes.
struct Plan {
    agents: Vec<String>,
    /// Transcript and store files to remove.
    files: Vec<PathBuf>,
    /// Agent databases whose session rows go.
    dbs: Vec<PathBuf>,
}

impl Plan {
    /// Every file the gate must find preserved: the files, the databases
    /// and their non-empty WALs.
    fn guarded(&self) -> Result<Vec<PathBuf>> {
        let mut guarded: Vec<PathBuf> = self.files.clone();
        for db in &self.dbs {
            guarded.push(db.clone());
            let wal = PathBuf::from(format!("{}-wal", db.display()));
            if crate::safefs::lstat(&wal)?.is_some_and(|m| m.len() > 0) {
                guarded.push(wal);
            }
        }
        Ok(guarded)
    }
}

/// Step 1: the agents (all, or the one asked for), their session files
/// and databases.
fn plan(dep: &Deployment, agent: Option<&str>) -> Result<Plan> {
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
        files.extend(crate::openclaw::layout::session_dir_files(
            &s.join("agents").join(a).join("sessions"),
            is_session_file,
        ));
        let db = s.join("agents").join(a).join("agent/openclaw-agent.sqlite");
        if crate::safefs::lstat(&db)?.is_some_and(|m| m.file_type().is_file()) {
            dbs.push(db);
        }
    }
    Ok(Plan { agents, files, dbs })
}

/// Every database's write lock, before anything is removed: a live writer
/// refuses the whole run with nothing changed.
fn lock_all(dbs: &[PathBuf]) -> Result<Vec<(&PathBuf, rusqlite::Connection)>> {
    let mut conns = Vec::new();
    for db in dbs {
        let c = crate::sqlite::lock_for_write(db, "nothing was removed")?;
        conns.push((db, c));
    }
    Ok(conns)
}

/// Deletes the session rows of one locked database and commits.
fn clear_db(
    db: &Path,
    c: &rusqlite::Connection,
    root: &crate::host::Root,
    run: &Run,
) -> Result<RowsDeleted> {
    let mut rows = std::collections::BTreeMap::new();
    for t in SESSION_TABLES {
        if crate::sqlite::has_table(c, t) {
            let n = c
                .execute(&format!("DELETE FROM \"{t}\""), [])
                .with_context(|| format!("clearing {t} in {}", db.display()))?;
            rows.insert((*t).to_string(), n as u64);
        }
    }
    c.execute_batch("COMMIT")?;
    let e = RowsDeleted {
        db: crate::sanitize::escape_path(&root.host_view(db)),
        rows,
    };
    run.event("cleared", serde_json::to_value(&e)?)?;
    Ok(e)
}

/// Clears the sessions of every agent, or of one: plan, evidence gate,
/// locks, act. Ctrl-C is honoured until the act begins; the act (file
/// removals, then one transaction per database) then runs to its end.
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
    let plan = plan(dep, agent)?;
    crate::signal::check()?;
    let pairs: Vec<(PathBuf, PathBuf)> = plan
        .guarded()?
        .iter()
        .map(|p| (p.clone(), root.host_view(p)))
        .collect();
    let (_, forced) = gate::require(case_journal, &pairs, force, "clear-sessions")?;
    let mut r = Report {
        agents: plan.agents.clone(),
        forced,
        ..Report::default()
    };
    if !r.forced.is_empty() {
        run.event("forced", json!({"uncovered": r.forced}))?;
    }
    let conns = lock_all(&plan.dbs)?;
    crate::signal::check()?;
    for f in &plan.files {
        std::fs::remove_file(f).with_context(|| format!("removing {}", f.display()))?;
        r.files_removed
            .push(crate::sanitize::escape_path(&root.host_view(f)));
    }
    if !plan.files.is_empty() {
        run.event("removed", json!({"files": r.files_removed}))?;
    }
    for (db, c) in conns {
        r.rows_deleted.push(clear_db(db, &c, root, run)?);
    }
    r.notes.push("OpenClaw's memory index can still hold text from these sessions (openclaw issue 141807): review MEMORY.md and memory/ in the workspace".into());
    Ok(r)
}
