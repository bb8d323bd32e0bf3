//! What OpenClaw would resume on its own when it starts, and how `ir`
//! stops it from doing so: the attacker's interrupted turn must never run
//! again after recovery.
//!
//! OpenClaw's restart recovery (2026.9: `main-session-restart-recovery`)
//! picks every main session whose row says `running` (the `status` column
//! of `session_nodes` and `entry_json.status` both) and dispatches a new
//! agent turn that resumes it, with the tools it had: a turn killed in the
//! middle of an injected `exec` runs that `exec` again. Up to 2026.7.1 the
//! same flag lives on the entry in `agents/<id>/sessions/sessions.json`,
//! and a 2026.9 gateway started on such a state dir imports it as is.
//! Other work starts on boot without any new message: pending outbound
//! deliveries and the restart sentinel's continuation (an agent turn).
//!
//! Each is neutralised the way OpenClaw itself records an aborted run, so
//! the gateway starts idle: the session becomes `killed` (OpenClaw's
//! forced-clear record: `status`, `abortedLastRun`, `endedAt`, `updatedAt`,
//! the recovery bookkeeping removed, the promoted columns kept equal to the
//! JSON or OpenClaw would treat the row as invalid); a pending delivery
//! becomes `failed`; the sentinel row is removed. Transcripts are left
//! alone: a killed gateway appends nothing, and the row alone gates
//! recovery. Every change sits behind the evidence gate and is journaled
//! with the session keys.

use crate::case::Run;
use crate::openclaw::Deployment;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub use crate::record::{Resumable, ResumeKind};

/// Every store a start reads: the agent databases, the state database and
/// each agent's legacy `sessions.json`.
fn stores(dep: &Deployment) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = dep
        .layout
        .databases
        .iter()
        .map(|d| d.path.clone())
        .collect();
    for a in crate::openclaw::layout::agent_dirs(&dep.paths.state_dir) {
        v.push(
            dep.paths
                .state_dir
                .join("agents")
                .join(a)
                .join("sessions/sessions.json"),
        );
    }
    v.retain(|p| {
        crate::safefs::lstat(p)
            .ok()
            .flatten()
            .is_some_and(|m| m.is_file())
    });
    v
}

/// Finds what would resume. An error means `ir` cannot tell (a store it
/// cannot read): the caller must then refuse to start.
pub fn find(dep: &Deployment, root: &crate::host::Root) -> Result<Vec<Resumable>> {
    let mut out = Vec::new();
    for store in stores(dep) {
        let shown = crate::sanitize::escape_path(&root.host_view(&store));
        let found = if store.extension().is_some_and(|e| e == "json") {
            legacy_sessions(&store)
        } else {
            sqlite_resumables(&store)
        }
        .with_context(|| format!("cannot tell what {shown} would resume on start"))?;
        out.extend(found.into_iter().map(|(kind, key, session_id)| Resumable {
            kind,
            store: shown.clone(),
            key,
            session_id,
            local: store.clone(),
        }));
    }
    Ok(out)
}

type Found = (ResumeKind, String, Option<String>);

/// Running sessions, pending deliveries and the restart sentinel of one
/// database, read from a private copy.
fn sqlite_resumables(db: &Path) -> Result<Vec<Found>> {
    let conn = crate::sqlite::open_isolated(db)?;
    let c = &conn.conn;
    let mut out = Vec::new();
    let queries: [(ResumeKind, &str, &str); 3] = [
        (
            ResumeKind::Session,
            "session_nodes",
            "SELECT session_key, current_session_id FROM session_nodes \
             WHERE status = 'running' OR json_extract(entry_json, '$.status') = 'running'",
        ),
        (
            ResumeKind::Delivery,
            "delivery_queue_entries",
            "SELECT queue_name || '/' || id, session_key FROM delivery_queue_entries \
             WHERE status = 'pending' OR recovery_state = 'settlement_pending'",
        ),
        (
            ResumeKind::RestartSentinel,
            "gateway_restart_sentinel",
            "SELECT sentinel_key, session_key FROM gateway_restart_sentinel",
        ),
    ];
    for (kind, table, sql) in queries {
        if !crate::sqlite::has_table(c, table) {
            continue;
        }
        let mut st = c.prepare(sql)?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        for row in rows.take(100_000) {
            let (key, sid) = row?;
            out.push((kind, key, sid));
        }
    }
    Ok(out)
}

/// Entries of a legacy `sessions.json` whose status is `running`.
fn legacy_sessions(path: &Path) -> Result<Vec<Found>> {
    let bytes = crate::safefs::read_bounded(path, 256 << 20)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let Some(map) = v.as_object() else {
        return Ok(Vec::new());
    };
    Ok(map
        .iter()
        .filter(|(_, e)| e.get("status").and_then(|s| s.as_str()) == Some("running"))
        .map(|(k, e)| {
            let sid = e
                .get("sessionId")
                .and_then(|s| s.as_str())
                .map(str::to_owned);
            (ResumeKind::Session, k.clone(), sid)
        })
        .collect())
}

/// The files the evidence gate must hold before `items` are changed: each
/// store, and a database's WAL where the newest rows live.
pub fn gate_paths(items: &[Resumable], root: &crate::host::Root) -> Vec<(PathBuf, PathBuf)> {
    let mut v: Vec<PathBuf> = items.iter().map(|i| i.local.clone()).collect();
    v.sort();
    v.dedup();
    let wals: Vec<PathBuf> = v
        .iter()
        .map(|p| {
            let mut s = p.clone().into_os_string();
            s.push("-wal");
            PathBuf::from(s)
        })
        .filter(|w| {
            crate::safefs::lstat(w)
                .ok()
                .flatten()
                .is_some_and(|m| m.len() > 0)
        })
        .collect();
    v.extend(wals);
    v.into_iter()
        .map(|p| (p.clone(), root.host_view(&p)))
        .collect()
}

/// The recovery bookkeeping OpenClaw's own clear removes, so no later
/// recovery pass picks the session up again.
const RECOVERY_KEYS: &[&str] = &[
    "$.lifecycleRunId",
    "$.activeWriterRunId",
    "$.lastRunError",
    "$.mainRestartRecovery",
    "$.restartRecoveryRuns",
    "$.restartRecoveryForceSafeTools",
    "$.restartRecoveryDeliveryRunId",
    "$.restartRecoveryDeliverySourceRunId",
    "$.restartRecoveryDeliveryContext",
    "$.restartRecoveryHarnessCompletion",
    "$.restartRecoveryBeforeAgentReplyState",
    "$.restartRecoveryDeliveryReceiptState",
    "$.restartRecoveryDeliveryToolCallId",
    "$.restartRecoverySourceIngress",
    "$.restartRecoverySourceReplyDeliveryMode",
    "$.pendingFinalDelivery",
];

/// Neutralises every item, one store at a time, each in one transaction
/// taken before anything changes; journals each store's items.
pub fn neutralise(items: &[Resumable], run: &Run) -> Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut stores: Vec<&PathBuf> = items.iter().map(|i| &i.local).collect();
    stores.sort();
    stores.dedup();
    for store in stores {
        let mine: Vec<&Resumable> = items.iter().filter(|i| &i.local == store).collect();
        if store.extension().is_some_and(|e| e == "json") {
            neutralise_legacy(store, &mine, now)?;
        } else {
            neutralise_sqlite(store, &mine, now)?;
        }
        run.event("neutralised", serde_json::to_value(&mine)?)?;
    }
    Ok(())
}

fn neutralise_sqlite(db: &Path, items: &[&Resumable], now: i64) -> Result<()> {
    let c = crate::sqlite::lock_for_write(db, "nothing was changed")?;
    let remove = RECOVERY_KEYS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let session_sql = format!(
        "UPDATE session_nodes SET entry_json = json_remove(json_set(entry_json, \
           '$.status', 'killed', '$.abortedLastRun', json('true'), \
           '$.endedAt', ?2, '$.updatedAt', ?2), {remove}), \
         status = 'killed', updated_at = ?2 \
         WHERE session_key = ?1 \
           AND (status = 'running' OR json_extract(entry_json, '$.status') = 'running')"
    );
    for it in items {
        match it.kind {
            ResumeKind::Session => {
                c.execute(&session_sql, rusqlite::params![it.key, now])?;
                // What OpenClaw's own writer does after a write it trusts.
                c.execute(
                    "UPDATE session_nodes SET entry_valid = 1 WHERE session_key = ?1",
                    [&it.key],
                )?;
                if let Some(sid) = &it.session_id
                    && crate::sqlite::has_table(&c, "session_windows")
                {
                    c.execute(
                        "UPDATE session_windows SET status = 'killed', ended_at = ?2, updated_at = ?2 \
                         WHERE session_id = ?1 AND status = 'running'",
                        rusqlite::params![sid, now],
                    )?;
                }
            }
            ResumeKind::Delivery => {
                c.execute(
                    "UPDATE delivery_queue_entries SET status = 'failed', recovery_state = NULL, \
                       failed_at = ?2, updated_at = ?2, last_error = 'ir: neutralised during incident response' \
                     WHERE queue_name || '/' || id = ?1",
                    rusqlite::params![it.key, now],
                )?;
            }
            ResumeKind::RestartSentinel => {
                c.execute(
                    "DELETE FROM gateway_restart_sentinel WHERE sentinel_key = ?1",
                    [&it.key],
                )?;
            }
        }
    }
    c.execute_batch("COMMIT")
        .with_context(|| format!("committing {}", db.display()))?;
    Ok(())
}

fn neutralise_legacy(path: &Path, items: &[&Resumable], now: i64) -> Result<()> {
    let bytes = crate::safefs::read_bounded(path, 256 << 20)?;
    let mut v: serde_json::Value = serde_json::from_slice(&bytes)?;
    if let Some(map) = v.as_object_mut() {
        for it in items {
            let Some(e) = map.get_mut(&it.key).and_then(|e| e.as_object_mut()) else {
                continue;
            };
            e.insert("status".into(), "killed".into());
            e.insert("abortedLastRun".into(), true.into());
            e.insert("endedAt".into(), now.into());
            e.insert("updatedAt".into(), now.into());
            for k in RECOVERY_KEYS {
                e.remove(k.trim_start_matches("$."));
            }
        }
    }
    let mode = crate::safefs::lstat(path)?.map_or(0o600, |m| crate::safefs::mode_bits(&m));
    crate::safefs::replace_file(path, &serde_json::to_vec_pretty(&v)?, mode)
}
