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
//!
//! Session text also persists outside the session tables, and goes too
//! (see `research/restart-recovery.md` §5):
//! - the import archives `agents/<id>/session-sqlite-import-archive/`,
//!   verbatim legacy transcripts kept after the 2026.7 → 2026.9 import;
//! - the memory index's session-derived rows (`source = 'sessions'`), which
//!   are forgotten as OpenClaw's own "forget" does: rows deleted, sessions
//!   tombstoned, index revision bumped, so nothing is indexed again. Rows
//!   built from workspace files (`source = 'memory'`) stay;
//! - `task_runs` in the global state database, whose `task` column holds
//!   each run's full prompt, with its `task_delivery_state` and the
//!   `flow_runs` of the cleared agents (see [`doomed`] for which rows).

use super::gate;
use crate::case::Run;
use crate::openclaw::{Deployment, layout};
use crate::record::{MemoryForgotten, RowsDeleted};
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

/// The import archive's files: `<key>.<name>.imported-<ms>[.n]`, where
/// `<name>` is the imported file's (a transcript `<session>.jsonl`, or the
/// legacy `sessions.json`): all of them session data.
pub fn is_import_archive(n: &str) -> bool {
    n.contains(".imported-")
}

/// The dir, under an agent's dir, where the SQLite import keeps the legacy
/// transcripts it imported.
pub const IMPORT_ARCHIVE_DIR: &str = "session-sqlite-import-archive";

/// What a clear removes, decided before anything changes.
struct Plan {
    agents: Vec<String>,
    /// Whether every agent is cleared (no `--agent`).
    all: bool,
    /// Transcript and store files to remove.
    files: Vec<PathBuf>,
    /// Import-archive transcripts to remove.
    archives: Vec<PathBuf>,
    /// Agent databases whose session rows go, with their agent.
    dbs: Vec<(String, PathBuf)>,
    /// The global state database, whose task rows go.
    state_db: Option<PathBuf>,
}

impl Plan {
    /// Every database the clear writes: the agents', then the global one.
    fn databases(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.dbs.iter().map(|(_, d)| d.clone()).collect();
        v.extend(self.state_db.clone());
        v
    }

    /// Every file the gate must find preserved: the files, the archives,
    /// the databases and their non-empty WALs.
    fn guarded(&self) -> Result<Vec<PathBuf>> {
        let mut guarded: Vec<PathBuf> = self.files.clone();
        guarded.extend(self.archives.iter().cloned());
        for db in self.databases() {
            let wal = PathBuf::from(format!("{}-wal", db.display()));
            guarded.push(db);
            if crate::safefs::lstat(&wal)?.is_some_and(|m| m.len() > 0) {
                guarded.push(wal);
            }
        }
        Ok(guarded)
    }
}

fn is_db_file(p: &Path) -> Result<bool> {
    Ok(crate::safefs::lstat(p)?.is_some_and(|m| m.file_type().is_file()))
}

/// Step 1: the agents (all, or the one asked for), their session files,
/// import archives and databases, and the global state database.
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
    let (mut files, mut archives, mut dbs) = (Vec::new(), Vec::new(), Vec::new());
    for a in &agents {
        let adir = s.join("agents").join(a);
        files.extend(layout::session_dir_files(
            &adir.join("sessions"),
            is_session_file,
        ));
        archives.extend(layout::session_dir_files(
            &adir.join(IMPORT_ARCHIVE_DIR),
            is_import_archive,
        ));
        let db = adir.join("agent/openclaw-agent.sqlite");
        if is_db_file(&db)? {
            dbs.push((a.clone(), db));
        }
    }
    let state = s.join("state/openclaw.sqlite");
    let state_db = is_db_file(&state)?.then_some(state);
    Ok(Plan {
        agents,
        all: agent.is_none(),
        files,
        archives,
        dbs,
        state_db,
    })
}

/// Every database's write lock, before anything is removed: a live writer
/// refuses the whole run with nothing changed.
fn lock_all(dbs: &[PathBuf]) -> Result<Vec<rusqlite::Connection>> {
    dbs.iter()
        .map(|db| crate::sqlite::lock_for_write(db, "nothing was removed"))
        .collect()
}

/// Deletes the session rows of one locked agent database and forgets its
/// session-derived memory, in its one transaction, then commits.
fn clear_db(
    (agent, db): &(String, PathBuf),
    c: &rusqlite::Connection,
    root: &crate::host::Root,
    run: &Run,
) -> Result<(RowsDeleted, MemoryForgotten)> {
    let shown = crate::sanitize::escape_path(&root.host_view(db));
    // Before the transcript tables are emptied: they name the sessions.
    let (rows, tombstoned) = forget_memory(c, agent)
        .with_context(|| format!("forgetting session memory in {}", db.display()))?;
    let forgot = MemoryForgotten {
        db: shown.clone(),
        rows,
        tombstoned,
    };
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
    let e = RowsDeleted { db: shown, rows };
    run.event("cleared", serde_json::to_value(&e)?)?;
    run.event("forgot", serde_json::to_value(&forgot)?)?;
    Ok((e, forgot))
}

/// Memory-index statements, in order, each run only when its tables exist.
/// `memory_index_chunks_fts` is a plain FTS5 table OpenClaw maintains in
/// code, not by trigger, so its copies are deleted explicitly (by id, and
/// by source for copies whose chunk is already gone).
const FORGET: &[(&str, &[&str], &str)] = &[
    (
        "memory_index_chunks_fts",
        &["memory_index_chunks_fts", "memory_index_chunks"],
        "DELETE FROM memory_index_chunks_fts WHERE source = 'sessions' OR id IN (SELECT id FROM memory_index_chunks WHERE source = 'sessions')",
    ),
    (
        "memory_index_chunk_provenance",
        &["memory_index_chunk_provenance", "memory_index_chunks"],
        "DELETE FROM memory_index_chunk_provenance WHERE chunk_id IN (SELECT id FROM memory_index_chunks WHERE source = 'sessions')",
    ),
    (
        "memory_index_chunk_recall_metadata",
        &["memory_index_chunk_recall_metadata", "memory_index_chunks"],
        "DELETE FROM memory_index_chunk_recall_metadata WHERE chunk_id IN (SELECT id FROM memory_index_chunks WHERE source = 'sessions')",
    ),
    (
        "memory_index_chunks",
        &["memory_index_chunks"],
        "DELETE FROM memory_index_chunks WHERE source = 'sessions'",
    ),
    (
        "memory_index_sources",
        &["memory_index_sources"],
        "DELETE FROM memory_index_sources WHERE source = 'sessions'",
    ),
];

/// The session id in a memory path `sessions/<agentId>/<sessionId>.jsonl`.
fn session_of_memory_path(p: &str) -> Option<&str> {
    let rest = p.strip_prefix("sessions/")?;
    let (_, file) = rest.split_once('/')?;
    let sid = file.strip_suffix(".jsonl").unwrap_or(file);
    (!sid.is_empty() && !sid.contains('/')).then_some(sid)
}

/// The sessions an agent database knows of: the memory index's session
/// paths and the transcripts' and windows' session ids.
fn known_sessions(c: &rusqlite::Connection) -> Result<std::collections::BTreeSet<String>> {
    let mut out = std::collections::BTreeSet::new();
    for t in ["memory_index_chunks", "memory_index_sources"] {
        if crate::sqlite::has_table(c, t) {
            let mut st = c.prepare(&format!("SELECT path FROM {t} WHERE source = 'sessions'"))?;
            for p in st.query_map([], |r| r.get::<_, String>(0))? {
                out.extend(session_of_memory_path(&p?).map(str::to_string));
            }
        }
    }
    for t in ["transcript_events", "session_windows"] {
        if crate::sqlite::has_table(c, t) {
            let mut st = c.prepare(&format!(
                "SELECT DISTINCT session_id FROM {t} WHERE session_id IS NOT NULL"
            ))?;
            for s in st.query_map([], |r| r.get::<_, String>(0))? {
                out.insert(s?);
            }
        }
    }
    Ok(out)
}

/// OpenClaw's "forget" for every session of the agent: the session-derived
/// index rows go, each session gets a tombstone and the index revision is
/// bumped, so the indexer neither serves nor rebuilds them. Returns the
/// rows deleted per table and the sessions tombstoned (escaped).
fn forget_memory(
    c: &rusqlite::Connection,
    agent: &str,
) -> Result<(std::collections::BTreeMap<String, u64>, Vec<String>)> {
    let sessions = known_sessions(c)?;
    let mut rows = std::collections::BTreeMap::new();
    for (name, needs, sql) in FORGET {
        if needs.iter().all(|t| crate::sqlite::has_table(c, t)) {
            rows.insert((*name).to_string(), c.execute(sql, [])? as u64);
        }
    }
    let mut tombstoned = Vec::new();
    // The tombstone table is optional in OpenClaw's schema: without it there
    // is nothing to record, and the rows above are gone all the same.
    if crate::sqlite::has_table(c, "memory_session_tombstones") {
        let now = chrono::Utc::now().timestamp_millis();
        for sid in &sessions {
            c.execute(
                "INSERT INTO memory_session_tombstones (session_id, agent_id, reason, created_at) \
                 VALUES (?1, ?2, 'forgotten', ?3) ON CONFLICT(session_id) DO NOTHING",
                rusqlite::params![sid, agent, now],
            )?;
            tombstoned.push(crate::sanitize::escape(sid));
        }
    }
    let changed = !tombstoned.is_empty() || rows.values().any(|n| *n > 0);
    if changed && crate::sqlite::has_table(c, "memory_index_state") {
        c.execute(
            "UPDATE memory_index_state SET revision = revision + 1 WHERE id = 1",
            [],
        )?;
    }
    Ok((rows, tombstoned))
}

/// The agent a session key names: `agent:<id>:…`.
fn agent_of_key(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("agent:")?;
    rest.split(':').next().filter(|a| !a.is_empty())
}

/// Whether a task or flow row goes: with every agent cleared, all of them
/// (their sessions are gone, and each holds a prompt); with one, the rows
/// tied to it by an agent id or a session key, and the rows tied to no
/// agent at all, since they may hold the cleared sessions' prompts and
/// nothing says otherwise (the bundle keeps them). Rows tied only to other
/// agents stay.
fn doomed(ids: &[Option<String>], keys: &[Option<String>], agents: &[String], all: bool) -> bool {
    if all {
        return true;
    }
    let owners: Vec<&str> = ids
        .iter()
        .flatten()
        .map(String::as_str)
        .chain(keys.iter().flatten().filter_map(|k| agent_of_key(k)))
        .collect();
    owners.is_empty()
        || owners
            .iter()
            .any(|o| agents.iter().any(|a| a.eq_ignore_ascii_case(o)))
}

/// The primary keys of `table`'s rows [`doomed`] picks; `id_cols` and
/// `key_cols` are the agent-id and session-key columns it has.
fn doomed_rows(
    c: &rusqlite::Connection,
    table: &str,
    pk: &str,
    id_cols: &[&str],
    key_cols: &[&str],
    plan: &Plan,
) -> Result<Vec<String>> {
    let cols: Vec<&str> = std::iter::once(pk)
        .chain(id_cols.iter().copied())
        .chain(key_cols.iter().copied())
        .collect();
    let mut st = c.prepare(&format!("SELECT {} FROM {table}", cols.join(", ")))?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let get = |i: usize| r.get::<_, Option<String>>(i);
        let ids = (1..=id_cols.len())
            .map(get)
            .collect::<Result<Vec<_>, _>>()?;
        let keys = (id_cols.len() + 1..cols.len())
            .map(get)
            .collect::<Result<Vec<_>, _>>()?;
        if doomed(&ids, &keys, &plan.agents, plan.all) {
            out.push(r.get(0)?);
        }
    }
    Ok(out)
}

/// Deletes `table`'s rows whose `col` is one of `keys`; returns how many.
fn delete_keyed(c: &rusqlite::Connection, table: &str, col: &str, keys: &[String]) -> Result<u64> {
    if !crate::sqlite::has_table(c, table) {
        return Ok(0);
    }
    let mut st = c.prepare(&format!("DELETE FROM {table} WHERE {col} = ?1"))?;
    let mut n = 0;
    for k in keys {
        n += st.execute([k])? as u64;
    }
    Ok(n)
}

/// Deletes the task and flow rows of the cleared agents from the locked
/// global state database, in its one transaction, then commits.
/// `task_delivery_state` is deleted explicitly: its `ON DELETE CASCADE`
/// needs `foreign_keys`, which cannot be switched on inside a transaction.
fn clear_state_db(
    db: &Path,
    c: &rusqlite::Connection,
    plan: &Plan,
    root: &crate::host::Root,
    run: &Run,
) -> Result<RowsDeleted> {
    let mut rows = std::collections::BTreeMap::new();
    if crate::sqlite::has_table(c, "task_runs") {
        let ids = ["agent_id", "requester_agent_id"];
        let keys = ["requester_session_key", "child_session_key", "owner_key"];
        let tasks = doomed_rows(c, "task_runs", "task_id", &ids, &keys, plan)?;
        let n = delete_keyed(c, "task_delivery_state", "task_id", &tasks)?;
        rows.insert("task_delivery_state".to_string(), n);
        let n = delete_keyed(c, "task_runs", "task_id", &tasks)?;
        rows.insert("task_runs".to_string(), n);
    }
    if crate::sqlite::has_table(c, "flow_runs") {
        let flows = doomed_rows(c, "flow_runs", "flow_id", &[], &["owner_key"], plan)?;
        let n = delete_keyed(c, "flow_runs", "flow_id", &flows)?;
        rows.insert("flow_runs".to_string(), n);
    }
    c.execute_batch("COMMIT")
        .with_context(|| format!("committing {}", db.display()))?;
    let e = RowsDeleted {
        db: crate::sanitize::escape_path(&root.host_view(db)),
        rows,
    };
    run.event("cleared", serde_json::to_value(&e)?)?;
    Ok(e)
}

/// Removes `files`, returning their host paths (escaped).
fn remove_files(files: &[PathBuf], root: &crate::host::Root) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for f in files {
        std::fs::remove_file(f).with_context(|| format!("removing {}", f.display()))?;
        out.push(crate::sanitize::escape_path(&root.host_view(f)));
    }
    Ok(out)
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
    let mut conns = lock_all(&plan.databases())?.into_iter();
    crate::signal::check()?;
    act(&plan, &mut conns, root, run, &mut r)?;
    r.notes.push("the memory index's session-derived rows are forgotten; what the agent wrote into its workspace memory (MEMORY.md, memory/) stays: review it".into());
    Ok(r)
}

/// Step 4, with every lock held: files, archives, then each database.
/// `conns` holds the locks in [`Plan::databases`] order.
fn act(
    plan: &Plan,
    conns: &mut impl Iterator<Item = rusqlite::Connection>,
    root: &crate::host::Root,
    run: &Run,
    r: &mut Report,
) -> Result<()> {
    r.files_removed = remove_files(&plan.files, root)?;
    r.archives_removed = remove_files(&plan.archives, root)?;
    if !r.files_removed.is_empty() || !r.archives_removed.is_empty() {
        run.event(
            "removed",
            json!({"files": r.files_removed, "archives": r.archives_removed}),
        )?;
    }
    for db in &plan.dbs {
        let c = conns.next().context("a database lock is missing")?;
        let (rows, forgot) = clear_db(db, &c, root, run)?;
        r.rows_deleted.push(rows);
        r.memory_forgotten.push(forgot);
    }
    if let Some(db) = &plan.state_db {
        let c = conns
            .next()
            .context("the state database's lock is missing")?;
        r.state_rows_deleted = Some(clear_state_db(db, &c, plan, root, run)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_paths_and_session_keys_name_their_owner() {
        assert_eq!(
            session_of_memory_path("sessions/main/abc-1.jsonl"),
            Some("abc-1")
        );
        assert_eq!(session_of_memory_path("MEMORY.md"), None);
        assert_eq!(session_of_memory_path("sessions/main/a/b.jsonl"), None);
        assert_eq!(agent_of_key("agent:ops:telegram:direct:1"), Some("ops"));
        assert_eq!(agent_of_key("cron:job-1"), None);
    }

    #[test]
    fn one_agent_takes_its_rows_and_the_untied_ones() {
        let s = |x: &str| Some(x.to_string());
        let main = ["main".to_string()];
        assert!(doomed(&[s("main")], &[None], &main, false));
        assert!(doomed(&[None], &[s("agent:main:x")], &main, false));
        assert!(!doomed(&[s("ops")], &[s("agent:ops:x")], &main, false));
        assert!(doomed(&[None], &[s("system:cron")], &main, false));
        assert!(doomed(&[s("ops")], &[None], &main, true));
    }
}
