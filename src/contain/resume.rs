//! What OpenClaw would resume on its own when it starts, and how `ir`
//! stops it from doing so: the attacker's interrupted turn must never run
//! again after recovery, nor anything else it set in motion.
//!
//! OpenClaw's restart recovery (2026.9: `main-session-restart-recovery`)
//! picks every main session whose row says `running` (the `status` column
//! of `session_nodes` and `entry_json.status` both) and dispatches a new
//! agent turn that resumes it, with the tools it had: a turn killed in the
//! middle of an injected `exec` runs that `exec` again. Up to 2026.7.1 the
//! same flag lives on the entry in `agents/<id>/sessions/sessions.json`,
//! and a 2026.9 gateway started on such a state dir imports it as is.
//! Other work starts on boot without any new message: pending outbound
//! deliveries and the restart sentinel's continuation (an agent turn); in
//! the state database, scheduled jobs that are due or were cut off
//! (`cron_jobs`, `cron_run_receipts`), subagent runs not settled (announced
//! to their requester as a new turn, `subagent_runs`), inbound Telegram
//! updates not handled (`channel_ingress_events`, re-dispatched) and
//! background tasks whose result is still to be delivered (`task_runs`,
//! a wake of the owner session).
//!
//! Each is neutralised the way OpenClaw itself records an aborted run, so
//! the gateway starts idle: the session becomes `killed` (OpenClaw's
//! forced-clear record: `status`, `abortedLastRun`, `endedAt`, `updatedAt`,
//! the recovery bookkeeping removed, the promoted columns kept equal to the
//! JSON or OpenClaw would treat the row as invalid); a pending delivery
//! becomes `failed`; the sentinel row is removed; a job an agent created
//! is disabled as `cron edit --disable` records it; a job cut off mid-run
//! is marked failed as OpenClaw's startup repair does and its run receipt
//! `interrupted`; a subagent run gets the record a kill leaves (terminal,
//! `subagent-killed`, announce suppressed, delivery discarded); an inbound
//! update is dead-lettered (`failed`); an active task is `cancelled` and a
//! pending task delivery `not_applicable`; a pending approval is cancelled
//! as OpenClaw's own start does (`gateway-restart`). A declared job (from
//! config, or an operator's) that merely missed a run is not changed, as
//! config reconciliation would undo it: it is named, for the operator to
//! disable in config or start once with `OPENCLAW_SKIP_CRON=1`.
//! Transcripts are left alone: a killed gateway appends nothing, and the
//! rows alone gate recovery. Every change sits behind the evidence gate
//! and is journaled with the keys and ids.

use crate::case::Run;
use crate::openclaw::Deployment;
use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;
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
        out.extend(found.into_iter().map(|f| Resumable {
            kind: f.kind,
            store: shown.clone(),
            key: f.key,
            session_id: f.session,
            note: f.note,
            local: store.clone(),
        }));
    }
    Ok(out)
}

/// One thing found in a store, before it is tied to the store.
struct Found {
    kind: ResumeKind,
    key: String,
    session: Option<String>,
    note: Option<String>,
}

impl Found {
    fn new(kind: ResumeKind, key: String, session: Option<String>) -> Found {
        Found {
            kind,
            key,
            session,
            note: None,
        }
    }
}

/// At most this many rows are read from one table.
const MAX_ROWS: usize = 100_000;

/// Running sessions, pending deliveries, the restart sentinel, and the
/// state database's scheduled jobs, subagent runs, inbound updates, tasks
/// and approvals of one database, read from a private copy. A table that
/// does not exist is skipped; one that cannot be read is an error.
fn sqlite_resumables(db: &Path) -> Result<Vec<Found>> {
    let conn = crate::sqlite::open_isolated(db)?;
    let c = &conn.conn;
    let mut out = Vec::new();
    let queries: [(ResumeKind, &str, &str); 6] = [
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
        (
            ResumeKind::IngressEvent,
            "channel_ingress_events",
            "SELECT queue_name || '/' || event_id, NULL FROM channel_ingress_events \
             WHERE status IN ('pending', 'claimed') ORDER BY received_at, event_id",
        ),
        (
            ResumeKind::Task,
            "task_runs",
            "SELECT task_id, owner_key FROM task_runs \
             WHERE status IN ('queued', 'running') OR delivery_status = 'pending' \
             ORDER BY created_at, task_id",
        ),
        (
            ResumeKind::Approval,
            "operator_approvals",
            "SELECT approval_id, source_session_key FROM operator_approvals \
             WHERE status = 'pending' ORDER BY created_at_ms, approval_id",
        ),
    ];
    for (kind, table, sql) in queries {
        if !crate::sqlite::has_table(c, table) {
            continue;
        }
        let read = || -> Result<Vec<Found>> {
            let mut st = c.prepare(sql)?;
            let rows = st.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })?;
            let mut v = Vec::new();
            for row in rows.take(MAX_ROWS) {
                let (key, sid) = row?;
                v.push(Found::new(kind, key, sid));
            }
            Ok(v)
        };
        out.extend(read().with_context(|| format!("reading {table}"))?);
    }
    if crate::sqlite::has_table(c, "cron_jobs") {
        out.extend(
            cron_resumables(c, chrono::Utc::now().timestamp_millis())
                .context("reading cron_jobs")?,
        );
    }
    if crate::sqlite::has_table(c, "subagent_runs") {
        out.extend(subagent_resumables(c).context("reading subagent_runs")?);
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
            Found::new(ResumeKind::Session, k.clone(), sid)
        })
        .collect())
}

/// Whether `table` has `column`.
fn has_column(c: &Connection, table: &str, column: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
        [table, column],
        |r| r.get::<_, i64>(0),
    )
    .with_context(|| format!("reading the columns of {table}"))?
        > 0)
}

/// 2026.7.1's `cron_jobs` keeps the definition and the runtime state in
/// columns (`enabled`, `owner_session_key`, `next_run_at_ms`,
/// `running_at_ms`… laid over `state_json`); 2026.9 keeps the definition in
/// `job_json` (its `enabled` is the truth, the column a projection) and the
/// runtime state in `state_json` alone.
fn cron_in_columns(c: &Connection) -> Result<bool> {
    has_column(c, "cron_jobs", "running_at_ms")
}

/// A JSON object, or `None` for anything else (OpenClaw skips such rows).
fn json_object(text: Option<&str>) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_str(text?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn number(v: Option<&Value>) -> Option<i64> {
    v.and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}

/// Scheduled jobs that would run on their own at start: the ones an agent
/// created (an owner session, no declaration) and still enabled, the ones
/// cut off mid-run or queued, and (named only) declared or operator jobs
/// with a missed run.
fn cron_resumables(c: &Connection, now: i64) -> Result<Vec<Found>> {
    let columns = cron_in_columns(c)?;
    let sql = if columns {
        "SELECT job_id, declaration_key, name, job_json, state_json, owner_session_key, enabled, \
                running_at_ms, next_run_at_ms FROM cron_jobs ORDER BY sort_order, job_id"
    } else {
        "SELECT job_id, declaration_key, name, job_json, state_json, NULL, enabled, NULL, NULL \
         FROM cron_jobs ORDER BY sort_order, job_id"
    };
    let mut running_receipts = std::collections::BTreeSet::new();
    if crate::sqlite::has_table(c, "cron_run_receipts") {
        let mut st =
            c.prepare("SELECT DISTINCT job_id FROM cron_run_receipts WHERE status = 'running'")?;
        for id in st.query_map([], |r| r.get::<_, String>(0))?.take(MAX_ROWS) {
            running_receipts.insert(id?);
        }
    }
    let mut st = c.prepare(sql)?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    let mut n = 0;
    while let Some(r) = rows.next()? {
        n += 1;
        if n > MAX_ROWS {
            break;
        }
        let id: String = r.get(0)?;
        let declaration: Option<String> = r.get(1)?;
        let name: String = r.get(2)?;
        let job = json_object(r.get::<_, Option<String>>(3)?.as_deref());
        let state = json_object(r.get::<_, Option<String>>(4)?.as_deref());
        let (owner, enabled, state) = if columns {
            let owner: Option<String> = r.get(5)?;
            (owner, r.get::<_, i64>(6)? != 0, state.unwrap_or_default())
        } else {
            // 2026.9 skips a row whose definition or state is not an object.
            let (Some(job), Some(state)) = (job, state) else {
                continue;
            };
            let owner = job
                .get("owner")
                .and_then(|o| o.get("sessionKey"))
                .and_then(|k| k.as_str())
                .map(str::to_owned);
            let enabled = job.get("enabled").and_then(|e| e.as_bool()).unwrap_or(true);
            (owner, enabled, state)
        };
        let owner = owner.filter(|o| !o.trim().is_empty());
        let declared = declaration.as_deref().is_some_and(|d| !d.is_empty());
        let running = number(state.get("runningAtMs")).or(r.get(7)?);
        let next = r
            .get::<_, Option<i64>>(8)?
            .or(number(state.get("nextRunAtMs")));
        let interrupted = running.is_some()
            || number(state.get("queuedAtMs")).is_some()
            || running_receipts.contains(&id);
        let due =
            next.is_some_and(|t| t <= now) || number(state.get("startupCatchupAtMs")).is_some();
        let kind = if owner.is_some() && !declared && enabled {
            ResumeKind::CronJob
        } else if interrupted {
            ResumeKind::CronRun
        } else if enabled && due {
            ResumeKind::CronCatchUp
        } else {
            continue;
        };
        let mut f = Found::new(kind, id, owner);
        if kind == ResumeKind::CronCatchUp {
            let whose = match &declaration {
                Some(d) if declared => format!("declared job {d}"),
                _ => "operator's job".to_string(),
            };
            f.note = Some(format!(
                "{whose} '{}' has a missed run it catches up on start; ir does not change it \
                 (config reconciliation would undo it): disable it in config, or start once \
                 with OPENCLAW_SKIP_CRON=1",
                crate::sanitize::escape(&name)
            ));
        }
        out.push(f);
    }
    Ok(out)
}

/// The record of a subagent run inside `payload_json`: the payload itself,
/// or `parentCompletion` when the run completes into its parent.
fn subagent_record(payload: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    let wrapped = payload
        .get("parentCompletion")
        .and_then(|p| p.get("completionTarget"))
        .and_then(|t| t.as_str())
        == Some("parent");
    let v = if wrapped {
        payload.get_mut("parentCompletion")?
    } else {
        payload
    };
    v.as_object_mut()
}

/// Whether start would do anything with a subagent run: recover it (not
/// ended), retry its announce (delivery pending, in progress or
/// suspended), wake its requester, or finish a kill it had begun.
fn subagent_unsettled(e: &serde_json::Map<String, Value>) -> bool {
    let exec = e.get("execution");
    let ended = exec
        .and_then(|x| x.get("endedAt"))
        .is_some_and(|t| t.is_number());
    let delivery = e
        .get("delivery")
        .and_then(|d| d.get("status"))
        .and_then(|s| s.as_str());
    !ended
        || matches!(delivery, Some("pending" | "in_progress" | "suspended"))
        || exec.is_some_and(|x| x.get("restartRecovery").is_some_and(|r| !r.is_null()))
        || [
            "requesterSettleWake",
            "killIntent",
            "killReconciliation",
            "terminalOwner",
        ]
        .iter()
        .any(|k| e.get(*k).is_some_and(|v| !v.is_null()))
}

/// Subagent runs start would recover, announce or wake a requester for.
/// 2026.7.1 keeps a run in typed columns beside its payload
/// (`ended_at`, `pending_final_delivery`…): those are named, not changed.
fn subagent_resumables(c: &Connection) -> Result<Vec<Found>> {
    if has_column(c, "subagent_runs", "ended_at")? {
        let mut st = c.prepare(
            "SELECT run_id, requester_session_key FROM subagent_runs \
             WHERE ended_at IS NULL OR pending_final_delivery = 1 ORDER BY created_at, run_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows.take(MAX_ROWS) {
            let (id, requester) = row?;
            let mut f = Found::new(ResumeKind::SubagentRun, id, requester.clone());
            f.note = Some(format!(
                "a 2026.7.1 subagent run not settled: OpenClaw may announce it to {} on start; \
                 ir does not change this layout, so check it before a start",
                crate::sanitize::escape(requester.as_deref().unwrap_or("its requester"))
            ));
            out.push(f);
        }
        return Ok(out);
    }
    let mut st = c.prepare(
        "SELECT run_id, requester_session_key, payload_json FROM subagent_runs \
         ORDER BY created_at, run_id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows.take(MAX_ROWS) {
        let (id, requester, payload) = row?;
        // A payload that is not a JSON object is one OpenClaw cannot load
        // either (its canonical filter skips it).
        let Some(mut v) = payload.and_then(|p| serde_json::from_str::<Value>(&p).ok()) else {
            continue;
        };
        if subagent_record(&mut v).is_some_and(|e| subagent_unsettled(e)) {
            out.push(Found::new(ResumeKind::SubagentRun, id, requester));
        }
    }
    Ok(out)
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
    let items: Vec<Resumable> = items
        .iter()
        .filter(|i| i.changed_by_ir())
        .cloned()
        .collect();
    let items = &items[..];
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
            ResumeKind::CronJob => neutralise_cron(&c, &it.key, true, now)?,
            ResumeKind::CronRun => neutralise_cron(&c, &it.key, false, now)?,
            // Named only: config reconciliation would undo a change.
            ResumeKind::CronCatchUp => {}
            ResumeKind::SubagentRun => neutralise_subagent(&c, &it.key, now)?,
            ResumeKind::IngressEvent => {
                // OpenClaw's dead letter (`fail()` of its ingress queue):
                // the update is kept, never dispatched again.
                c.execute(
                    "UPDATE channel_ingress_events SET status = 'failed', failed_at = ?2, \
                       failed_reason = 'ir-neutralised', \
                       last_error = 'ir: neutralised during incident response', \
                       payload_json = CASE WHEN payload_json = 'null' \
                         THEN 'OPENCLAW_CHANNEL_INGRESS_FAILED_NULL_V1' ELSE payload_json END, \
                       claim_token = NULL, claim_owner = NULL, claimed_at = NULL, updated_at = ?2 \
                     WHERE queue_name || '/' || event_id = ?1 AND status IN ('pending', 'claimed')",
                    rusqlite::params![it.key, now],
                )?;
            }
            ResumeKind::Task => {
                // What `openclaw tasks cancel` records (a subagent's task:
                // what a kill records), and the delivery state OpenClaw
                // gives a result nobody is to be told about.
                c.execute(
                    "UPDATE task_runs SET status = 'cancelled', ended_at = ?2, last_event_at = ?2, \
                       error = CASE WHEN runtime = 'subagent' THEN 'Subagent run killed.' \
                                    ELSE 'Cancelled by operator.' END \
                     WHERE task_id = ?1 AND status IN ('queued', 'running')",
                    rusqlite::params![it.key, now],
                )?;
                c.execute(
                    "UPDATE task_runs SET delivery_status = 'not_applicable' \
                     WHERE task_id = ?1 AND delivery_status = 'pending'",
                    [&it.key],
                )?;
            }
            ResumeKind::Approval => {
                // What OpenClaw's own start writes for an approval of a
                // previous process (`closeOrphanedOperatorApprovals`).
                c.execute(
                    "UPDATE operator_approvals SET status = 'cancelled', decision = 'deny', \
                       terminal_reason = 'gateway-restart', resolved_at_ms = max(?2, created_at_ms), \
                       resolver_kind = 'system', resolver_id = NULL, \
                       updated_at_ms = max(?2, created_at_ms, updated_at_ms) \
                     WHERE approval_id = ?1 AND status = 'pending'",
                    rusqlite::params![it.key, now],
                )?;
            }
        }
    }
    c.execute_batch("COMMIT")
        .with_context(|| format!("committing {}", db.display()))?;
    Ok(())
}

/// What OpenClaw's startup repair writes for a run the restart cut off.
const CRON_INTERRUPTED: &str = "cron: job interrupted by gateway restart";

/// 2026.7.1's runtime columns laid over `state_json`, and the state key
/// each mirrors.
const CRON_STATE_COLUMNS: &[(&str, &str)] = &[
    ("next_run_at_ms", "nextRunAtMs"),
    ("running_at_ms", "runningAtMs"),
    ("last_run_at_ms", "lastRunAtMs"),
    ("last_run_status", "lastRunStatus"),
    ("last_error", "lastError"),
    ("last_duration_ms", "lastDurationMs"),
    ("consecutive_errors", "consecutiveErrors"),
    ("last_delivery_status", "lastDeliveryStatus"),
    ("last_delivery_error", "lastDeliveryError"),
    ("last_delivered", "lastDelivered"),
];

/// A JSON value as the SQLite value OpenClaw binds for it.
fn sql_value(v: Option<&Value>) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Some(Value::Bool(b)) => V::Integer(*b as i64),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(V::Integer)
            .unwrap_or_else(|| V::Real(n.as_f64().unwrap_or(0.0))),
        Some(Value::String(s)) => V::Text(s.clone()),
        _ => V::Null,
    }
}

/// Disables a job as `cron.update {enabled:false}` records it (`disable`),
/// or marks its cut-off run failed as OpenClaw's startup repair does; its
/// running run receipts become `interrupted` either way.
fn neutralise_cron(c: &Connection, id: &str, disable: bool, now: i64) -> Result<()> {
    let columns = cron_in_columns(c)?;
    let sql = if columns {
        "SELECT store_key, job_json, state_json, schedule_identity, running_at_ms \
         FROM cron_jobs WHERE job_id = ?1"
    } else {
        "SELECT store_key, job_json, state_json, schedule_identity, NULL \
         FROM cron_jobs WHERE job_id = ?1"
    };
    type Row = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let rows: Vec<Row> = c
        .prepare(sql)?
        .query_map([id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (store, job_json, state_json, identity, running_col) in rows {
        let mut state = json_object(state_json.as_deref()).unwrap_or_default();
        if columns {
            // 2026.7.1 reads its state as the JSON with the columns laid over.
            for (col, key) in CRON_STATE_COLUMNS {
                let v: rusqlite::types::Value = c.query_row(
                    &format!("SELECT {col} FROM cron_jobs WHERE store_key = ?1 AND job_id = ?2"),
                    [&store, id],
                    |r| r.get(0),
                )?;
                let v = match v {
                    rusqlite::types::Value::Integer(i) if *key == "lastDelivered" => {
                        Value::Bool(i != 0)
                    }
                    rusqlite::types::Value::Integer(i) => i.into(),
                    rusqlite::types::Value::Real(f) => f.into(),
                    rusqlite::types::Value::Text(t) => t.into(),
                    _ => continue,
                };
                state.insert((*key).into(), v);
            }
        }
        let running = number(state.get("runningAtMs")).or(running_col);
        let mut job_json = job_json;
        let mut identity = identity;
        if disable {
            if let Some(mut job) = json_object(job_json.as_deref())
                && (!columns || job.contains_key("enabled"))
            {
                job.insert("enabled".into(), false.into());
                job_json = Some(Value::Object(job).to_string());
            }
            if let Some(mut ident) = json_object(identity.as_deref()) {
                ident.insert("enabled".into(), false.into());
                identity = Some(Value::Object(ident).to_string());
            }
            for k in [
                "nextRunAtMs",
                "queuedAtMs",
                "runningAtMs",
                "runningReceiptId",
                "runningScheduleChangeId",
                "startupCatchupAtMs",
                "pacedNextRunAtMs",
                "forcePreservedNextRunAtMs",
            ] {
                state.remove(k);
            }
            state.insert("scheduleActivatedAtMs".into(), now.into());
        } else {
            for k in [
                "queuedAtMs",
                "runningAtMs",
                "runningReceiptId",
                "runningScheduleChangeId",
                "startupCatchupAtMs",
                "nextRunAtMs",
            ] {
                state.remove(k);
            }
            if let Some(at) = running {
                let errors = number(state.get("consecutiveErrors")).unwrap_or(0).max(0);
                for (k, v) in [
                    ("lastRunAtMs", Value::from(at)),
                    ("lastRunStatus", "error".into()),
                    ("lastStatus", "error".into()),
                    ("lastError", CRON_INTERRUPTED.into()),
                    ("lastDurationMs", (now - at).max(0).into()),
                    ("consecutiveErrors", (errors + 1).into()),
                    ("lastDelivered", false.into()),
                    ("lastDeliveryStatus", "unknown".into()),
                    ("lastDeliveryError", CRON_INTERRUPTED.into()),
                    (
                        "lastFailureNotificationDeliveryStatus",
                        "not-requested".into(),
                    ),
                ] {
                    state.insert(k.into(), v);
                }
                for k in [
                    "lastErrorReason",
                    "deliverySuppressionReason",
                    "lastFailureNotificationDelivered",
                    "lastFailureNotificationDeliveryError",
                ] {
                    state.remove(k);
                }
            }
        }
        let state = Value::Object(state);
        c.execute(
            "UPDATE cron_jobs SET job_json = coalesce(?3, job_json), state_json = ?4, \
               schedule_identity = ?5, enabled = CASE WHEN ?6 THEN 0 ELSE enabled END, \
               runtime_updated_at_ms = ?7, updated_at = ?7 \
             WHERE store_key = ?1 AND job_id = ?2",
            rusqlite::params![
                store,
                id,
                job_json,
                state.to_string(),
                identity,
                disable,
                now
            ],
        )?;
        if columns {
            for (col, key) in CRON_STATE_COLUMNS {
                c.execute(
                    &format!(
                        "UPDATE cron_jobs SET {col} = ?3 WHERE store_key = ?1 AND job_id = ?2"
                    ),
                    rusqlite::params![store, id, sql_value(state.get(*key))],
                )?;
            }
        }
    }
    if crate::sqlite::has_table(c, "cron_run_receipts") {
        // OpenClaw's own repair of a receipt whose owner is gone.
        c.execute(
            "UPDATE cron_run_receipts SET status = 'interrupted', \
               finished_at_ms = max(?2, started_at_ms), \
               error_text = 'cron: job interrupted because owner is unavailable' \
             WHERE job_id = ?1 AND status = 'running'",
            rusqlite::params![id, now],
        )?;
    }
    Ok(())
}

/// What a kill's completion writes for a run that had not ended.
const SUBAGENT_KILLED: &str = "Subagent run killed.";

/// Gives a subagent run the record OpenClaw leaves once a kill has
/// settled: terminal, `subagent-killed`, its announce suppressed, its
/// delivery discarded as dismissed, the wake, kill and restart-recovery
/// bookkeeping removed, cleanup done. A run that had already ended keeps
/// its end and outcome; only its pending announce and wake are dropped.
fn neutralise_subagent(c: &Connection, id: &str, now: i64) -> Result<()> {
    let payload: Option<String> = c
        .query_row(
            "SELECT payload_json FROM subagent_runs WHERE run_id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let Some(mut v) = payload.and_then(|p| serde_json::from_str::<Value>(&p).ok()) else {
        return Ok(());
    };
    let Some(e) = subagent_record(&mut v) else {
        return Ok(());
    };
    let obj = |e: &mut serde_json::Map<String, Value>, k: &str| {
        if !e.get(k).is_some_and(|v| v.is_object()) {
            e.insert(k.into(), Value::Object(Default::default()));
        }
    };
    obj(e, "execution");
    let ended = e["execution"].get("endedAt").is_some_and(|t| t.is_number());
    if let Some(x) = e["execution"].as_object_mut() {
        if !ended {
            x.insert("status".into(), "terminal".into());
            x.insert("endedAt".into(), now.into());
            x.insert(
                "outcome".into(),
                serde_json::json!({"status": "error", "error": SUBAGENT_KILLED}),
            );
        }
        for k in [
            "restartRecovery",
            "interruptedAt",
            "interruptionReason",
            "suppressSessionEffects",
        ] {
            x.remove(k);
        }
    }
    if !ended {
        e.insert("endedReason".into(), "subagent-killed".into());
    }
    e.insert("suppressAnnounceReason".into(), "killed".into());
    e.insert("suppressCompletionDelivery".into(), true.into());
    for k in [
        "requesterSettleWake",
        "killIntent",
        "killReconciliation",
        "terminalOwner",
        "pauseReason",
        "wakeOnDescendantSettle",
    ] {
        e.remove(k);
    }
    // The delivery as `discardTerminalDelivery(…, "dismissed")` leaves it.
    obj(e, "delivery");
    if let Some(d) = e["delivery"].as_object_mut() {
        d.insert("status".into(), "discarded".into());
        d.insert("disposition".into(), "intentional_non_delivery".into());
        d.insert("dismissedAt".into(), now.into());
        for k in [
            "queueId",
            "nextAttemptAt",
            "payload",
            "createdAt",
            "lastAttemptAt",
            "attemptCount",
            "lastError",
            "announcedAt",
            "suspendedAt",
            "suspendedReason",
            "handoffLeaseId",
            "handoffLeasedAt",
            "handoffInjectedAt",
        ] {
            d.remove(k);
        }
    }
    let required = e.get("expectsCompletionMessage") == Some(&Value::Bool(true));
    obj(e, "completion");
    if let Some(m) = e["completion"].as_object_mut() {
        if !m.get("required").is_some_and(|r| r.is_boolean()) {
            m.insert("required".into(), required.into());
        }
        m.remove("fallbackResultText");
        m.remove("fallbackCapturedAt");
    }
    e.insert("cleanupHandled".into(), true.into());
    e.insert("cleanupCompletedAt".into(), now.into());
    c.execute(
        "UPDATE subagent_runs SET payload_json = ?2 WHERE run_id = ?1",
        rusqlite::params![id, v.to_string()],
    )?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A database at a temp path built from `schema`.
    fn db(schema: &str) -> (tempfile::TempDir, PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("openclaw.sqlite");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(schema).unwrap();
        (dir, path, c)
    }

    fn found(path: &Path) -> Vec<Resumable> {
        sqlite_resumables(path)
            .unwrap()
            .into_iter()
            .map(|f| Resumable {
                kind: f.kind,
                store: path.display().to_string(),
                key: f.key,
                session_id: f.session,
                note: f.note,
                local: path.to_path_buf(),
            })
            .collect()
    }

    fn neutralise_all(path: &Path, items: &[Resumable]) {
        let mine: Vec<&Resumable> = items.iter().filter(|i| i.changed_by_ir()).collect();
        neutralise_sqlite(path, &mine, 1_800_000_000_000).unwrap();
    }

    fn kinds(items: &[Resumable]) -> Vec<(ResumeKind, String, bool)> {
        items
            .iter()
            .map(|i| (i.kind, i.key.clone(), i.changed_by_ir()))
            .collect()
    }

    /// 2026.7.1 keeps a job's `enabled`, owner and runtime state in
    /// columns laid over `state_json`: the same jobs are found and the
    /// columns edited; its subagent runs are named, not changed.
    #[test]
    fn the_2026_7_1_column_layout_is_found_and_edited_in_its_columns() {
        let (_d, path, c) = db(include_str!(
            "../../fixtures/schema/openclaw-state-2026.7.1-start-work.sql"
        ));
        let now = chrono::Utc::now().timestamp_millis();
        for (id, decl, owner, running, next) in [
            (
                "agent",
                None,
                Some("agent:main:main"),
                Some(now - 5_000),
                Some(now - 60_000),
            ),
            (
                "beat",
                Some("heartbeat:main"),
                None,
                None,
                Some(now - 60_000),
            ),
            ("op", None, None, Some(now - 5_000), Some(now + 60_000)),
            ("idle", None, None, None, Some(now + 60_000)),
        ] {
            c.execute(
                "INSERT INTO cron_jobs (store_key, job_id, declaration_key, owner_session_key, name, enabled, \
                 created_at_ms, schedule_kind, every_ms, session_target, wake_mode, payload_kind, \
                 running_at_ms, next_run_at_ms, last_run_status, consecutive_errors, job_json, state_json, updated_at) \
                 VALUES ('/s/cron/jobs.json', ?1, ?2, ?3, ?1, 1, 1, 'every', 60000, 'isolated', 'now', 'agentTurn', \
                 ?4, ?5, 'ok', 2, '{}', '{}', 1)",
                rusqlite::params![id, decl, owner, running, next],
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO subagent_runs (run_id, child_session_key, requester_session_key, requester_display_key, \
             task, cleanup, created_at) VALUES ('sub', 'agent:main:subagent:1', 'agent:main:main', 'main', 't', 'keep', 1)",
            [],
        )
        .unwrap();
        let items = found(&path);
        assert_eq!(
            kinds(&items),
            vec![
                (ResumeKind::CronJob, "agent".into(), true),
                (ResumeKind::CronCatchUp, "beat".into(), false),
                (ResumeKind::CronRun, "op".into(), true),
                (ResumeKind::SubagentRun, "sub".into(), false),
            ]
        );
        assert!(items[1].note.as_deref().unwrap().contains("heartbeat:main"));
        let before_beat: String = c
            .query_row(
                "SELECT json_array(*) FROM (SELECT * FROM cron_jobs WHERE job_id = 'beat')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        neutralise_all(&path, &items);
        let row = |id: &str| -> (i64, Option<i64>, Option<i64>, Option<String>, Option<i64>) {
            c.query_row(
                "SELECT enabled, running_at_ms, next_run_at_ms, last_run_status, consecutive_errors \
                 FROM cron_jobs WHERE job_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap()
        };
        assert_eq!(row("agent"), (0, None, None, Some("ok".into()), Some(2)));
        assert_eq!(row("op"), (1, None, None, Some("error".into()), Some(3)));
        let after_beat: String = c
            .query_row(
                "SELECT json_array(*) FROM (SELECT * FROM cron_jobs WHERE job_id = 'beat')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(before_beat, after_beat);
        let ended: Option<i64> = c
            .query_row("SELECT ended_at FROM subagent_runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ended, None);
        assert!(
            found(&path).iter().all(|i| !i.changed_by_ir()),
            "{:?}",
            kinds(&found(&path))
        );
    }

    /// A run completing into its parent is wrapped in `parentCompletion`;
    /// a run that had ended keeps its end and outcome and loses only its
    /// pending announce; a payload OpenClaw could not load is skipped.
    #[test]
    fn subagent_runs_wrapped_ended_and_unreadable() {
        let (_d, path, c) = db(crate::sample::STATE_SCHEMA);
        let wrapped = json!({"parentCompletion": {"completionTarget": "parent", "runId": "w",
            "execution": {"status": "running", "startedAt": 5}, "completion": {"required": false},
            "delivery": {"status": "pending"}}});
        let ended = json!({"runId": "e", "execution": {"status": "terminal", "endedAt": 9,
            "outcome": {"status": "ok"}}, "endedReason": "subagent-complete",
            "completion": {"required": true}, "delivery": {"status": "in_progress", "payload": {"text": "hi"}}});
        for (id, p) in [
            ("w", wrapped.to_string()),
            ("e", ended.to_string()),
            ("bad", "{".into()),
        ] {
            c.execute(
                "INSERT INTO subagent_runs (run_id, child_session_key, requester_session_key, created_at, payload_json) \
                 VALUES (?1, 'c', 'agent:main:main', 1, ?2)",
                [id, &p],
            )
            .unwrap();
        }
        let items = found(&path);
        assert_eq!(
            kinds(&items),
            vec![
                (ResumeKind::SubagentRun, "e".into(), true),
                (ResumeKind::SubagentRun, "w".into(), true),
            ]
        );
        neutralise_all(&path, &items);
        let payload = |id: &str| -> Value {
            serde_json::from_str(
                &c.query_row(
                    "SELECT payload_json FROM subagent_runs WHERE run_id = ?1",
                    [id],
                    |r| r.get::<_, String>(0),
                )
                .unwrap(),
            )
            .unwrap()
        };
        let w = &payload("w")["parentCompletion"];
        assert_eq!(w["execution"]["status"], "terminal");
        assert_eq!(w["endedReason"], "subagent-killed");
        assert_eq!(w["delivery"]["status"], "discarded");
        assert_eq!(w["completionTarget"], "parent");
        let e = payload("e");
        assert_eq!(e["execution"]["endedAt"], 9);
        assert_eq!(e["execution"]["outcome"]["status"], "ok");
        assert_eq!(e["endedReason"], "subagent-complete");
        assert_eq!(e["suppressAnnounceReason"], "killed");
        assert_eq!(e["delivery"]["status"], "discarded");
        assert!(e["delivery"].get("payload").is_none(), "{e}");
        let bad: String = c
            .query_row(
                "SELECT payload_json FROM subagent_runs WHERE run_id = 'bad'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(bad, "{");
        assert!(found(&path).is_empty());
    }

    /// A table that exists in a shape `ir` cannot read is an error (recover
    /// then refuses to start), never an empty answer.
    #[test]
    fn an_unreadable_table_is_an_error_not_nothing() {
        for table in [
            "cron_jobs",
            "subagent_runs",
            "channel_ingress_events",
            "task_runs",
        ] {
            let (_d, path, _c) = db(&format!("CREATE TABLE {table} (x TEXT);"));
            let e = sqlite_resumables(&path).err().expect(table);
            assert!(
                format!("{e:#}").contains(&format!("reading {table}")),
                "{e:#}"
            );
        }
        let (_d, path, _c) = db("CREATE TABLE unrelated (x TEXT);");
        assert!(sqlite_resumables(&path).unwrap().is_empty());
    }
}
