//! The attack told as one story per session, joined with what the case
//! already knows.
//!
//! `ir hunt` finds the rows: the injected text and the actions after it
//! ([`super::hunt`]'s `chain.injection_to_action`). A responder needs the
//! rest of the story in one place: where the injection came from (which
//! channel and sender, which URL, which file), every tool call that
//! followed, and every file those calls wrote, each checked against the
//! host (did it change after the injection?) and against the case's last
//! `ir persistence` record (is it a planted item?). This module owns that
//! join, and reading the case facts it uses (the persistence record, the
//! gateway pids `ir inventory` and `ir stop` saw) out of the journal as
//! typed records.

use super::hunt::{ToolCall, is_entry};
use crate::host::Root;
use crate::openclaw::Deployment;
use crate::record::{
    ArtifactRef, AttackChain, CaseEvent, ChainCall, ChainFile, ChainOrigin, ChainPersistence,
    EventLane, Hit, InventoryRecord, PersistenceRecord, PreStopSnapshot, Severity, TimelineRecord,
};
use anyhow::Result;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// What the case journal already knows that a hunt uses.
#[derive(Debug, Clone, Default)]
pub struct CaseFacts {
    /// Gateway pids of this deployment that `ir inventory` or `ir stop`
    /// recorded: its lines in a shared log name them long after it stopped.
    pub pids: Vec<u32>,
    /// The last `ir persistence` record.
    pub persistence: Option<PersistenceRecord>,
    /// The last `ir timeline` run's artifact of every changed path, and
    /// the case dir it sits in.
    pub timeline: Option<(PathBuf, ArtifactRef)>,
}

impl CaseFacts {
    /// Reads the facts out of the case journal at `journal`. Inventory
    /// records count only when they are of this deployment (same state
    /// dir); a pre-stop snapshot is of the case's deployment by
    /// construction (stop signals only the verified gateway). A record that
    /// does not parse is an error naming its entry.
    pub fn from_journal(journal: &Path, dep: &Deployment) -> Result<CaseFacts> {
        let state = crate::sanitize::escape_path(&dep.paths.state_dir);
        CaseFacts::read(journal, &state)
    }

    /// [`CaseFacts::from_journal`] for the deployment whose state dir is
    /// `state` (escaped, as inventory records it).
    fn read(journal: &Path, state: &str) -> Result<CaseFacts> {
        let entries = crate::journal::read_entries(journal)?;
        let mut facts = CaseFacts::default();
        for e in &entries {
            if let Some(end) = e
                .end()
                .filter(|x| x.command == "inventory" && x.details.is_some())
            {
                let r: InventoryRecord = end.record(e.seq)?;
                if r.deployment.state_dir == state {
                    facts.pids.extend(r.deployment.gateway_pid);
                }
            }
            if let Some(ev) = e.event().filter(|ev| ev.event == "pre-stop snapshot") {
                let s: PreStopSnapshot =
                    crate::record::details_as(Some(&ev.details), "pre-stop snapshot", e.seq)?;
                for p in &s.processes {
                    facts.pids.push(p.pid);
                    facts.pids.extend(p.children.iter().map(|c| c.pid));
                }
            }
        }
        facts.pids.sort_unstable();
        facts.pids.dedup();
        if let Some((e, end)) = crate::journal::last_end(&entries, "persistence", false)
            .filter(|(_, end)| end.details.is_some())
        {
            facts.persistence = Some(end.record(e.seq)?);
        }
        if let Some((e, end)) = crate::journal::last_end(&entries, "timeline", false)
            .filter(|(_, end)| end.details.is_some())
        {
            let r: TimelineRecord = end.record(e.seq)?;
            let dir = journal.parent().unwrap_or(Path::new(".")).to_path_buf();
            facts.timeline = r.events.map(|a| (dir, a));
        }
        Ok(facts)
    }
}

/// The typed chain of each `chain.*` hit in `chains`: its injected row from
/// `hits`, the tool calls after it in its session, the files they wrote.
pub fn join(
    dep: &Deployment,
    chains: &[Hit],
    hits: &[Hit],
    calls: &[ToolCall],
    facts: &CaseFacts,
) -> Vec<AttackChain> {
    let mut keys = SessionKeys::default();
    // The warn-or-worse rules each row hit, looked up once per call below
    // (searching every hit for every call of every chain was quadratic).
    let mut rules_at: std::collections::HashMap<&str, Vec<&str>> = Default::default();
    for h in hits
        .iter()
        .filter(|h| h.severity >= Severity::Warn && !h.rule.starts_with("chain."))
    {
        rules_at.entry(&h.source).or_default().push(&h.rule);
    }
    chains
        .iter()
        .filter_map(|c| {
            let first = hits
                .iter()
                .find(|h| h.source == c.source && h.session == c.session && is_entry(h))?;
            // The row as the agent read it rather than a copy OpenClaw
            // keeps of it (an import archive), when both were read.
            let entry = hits
                .iter()
                .find(|h| {
                    h.session == first.session
                        && h.rule == first.rule
                        && h.snippet == first.snippet
                        && !is_copy(&h.source)
                })
                .unwrap_or(first);
            let after = calls_after(entry, &rules_at, calls);
            let files = after
                .iter()
                .flat_map(|(call, raw)| raw.writes.iter().map(move |w| (call, w)))
                .map(|(call, w)| file(dep, entry, &call.source, w, facts))
                .fold(Vec::<ChainFile>::new(), |mut v, f| {
                    if !v.iter().any(|x| x.path == f.path) {
                        v.push(f);
                    }
                    v
                });
            Some(AttackChain {
                session: entry.session.clone(),
                agent: entry.agent.clone(),
                time: entry.time.clone(),
                source: entry.source.clone(),
                rule: entry.rule.clone(),
                title: entry.title.clone(),
                snippet: entry.snippet.clone(),
                origin: origin(dep, entry, calls, &mut keys),
                calls: after.into_iter().map(|(c, _)| c).collect(),
                files,
            })
        })
        .collect()
}

/// The chain told in one line for the hit's snippet: what wrote which
/// file, and which of them is a planted persistence item.
pub fn files_line(c: &AttackChain) -> String {
    let files: Vec<String> = c
        .files
        .iter()
        .map(|f| match &f.persistence {
            Some(p) => format!("{} (persistence: {})", f.path, p.mechanism),
            None => f.path.clone(),
        })
        .collect();
    if files.is_empty() {
        String::new()
    } else {
        format!("; wrote {}", files.join(", "))
    }
}

/// Gives each chain file the change the case's last `ir timeline` saw at
/// its path, in one streaming pass over the timeline's artifact (only the
/// chains' paths are kept, so memory stays with the chains). A file the
/// host no longer has gets its "changed after the injection" from the
/// timeline's time. An artifact that no longer matches the journal is
/// refused whole: the error names it, and no chain gets a timeline.
pub fn attach_timeline(chains: &mut [AttackChain], facts: &CaseFacts) -> Result<()> {
    let Some((dir, artifact)) = &facts.timeline else {
        return Ok(());
    };
    let wanted: std::collections::BTreeSet<String> = chains
        .iter()
        .flat_map(|c| c.files.iter().map(|f| f.path.clone()))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let mut seen: std::collections::BTreeMap<String, CaseEvent> = Default::default();
    crate::artifact::read(dir, artifact, |e| {
        if e.lane == EventLane::File && wanted.contains(&e.location) {
            seen.insert(e.location.clone(), e);
        }
    })?;
    for c in chains.iter_mut() {
        let since = c.time.as_deref().and_then(parse_time);
        for f in &mut c.files {
            f.timeline = seen.get(&f.path).cloned();
            if f.changed_after.is_none() {
                let t = f.timeline.as_ref().and_then(|e| e.time.as_deref());
                if let (Some(since), Some(t)) = (since, t.and_then(parse_time)) {
                    f.changed_after = Some(t > since);
                }
            }
        }
    }
    Ok(())
}

/// Whether a row is one of the copies OpenClaw keeps of session text (the
/// import archive of legacy transcripts), not the session itself.
fn is_copy(source: &str) -> bool {
    source.contains("session-sqlite-import-archive")
}

/// At most this many tool calls are told in one chain.
const MAX_CALLS: usize = 40;

/// The tool calls of the entry's session read after it, each with the
/// rules it hit (`rules_at` its row), paired with the call itself.
fn calls_after<'a>(
    entry: &Hit,
    rules_at: &std::collections::HashMap<&str, Vec<&str>>,
    calls: &'a [ToolCall],
) -> Vec<(ChainCall, &'a ToolCall)> {
    let session = entry.session.as_deref().unwrap_or("");
    let agent = entry.agent.as_deref().unwrap_or("");
    let mine = |c: &&ToolCall| c.session == session && c.agent == agent && later(entry, c);
    // One call once: a copy of it (import archive) only when the session
    // itself does not hold it.
    let twin = |c: &ToolCall| {
        is_copy(&c.source)
            && calls.iter().any(|o| {
                !is_copy(&o.source)
                    && o.session == c.session
                    && o.tool == c.tool
                    && o.arguments == c.arguments
                    && o.time == c.time
            })
    };
    calls
        .iter()
        .filter(mine)
        .filter(|c| !twin(c))
        .take(MAX_CALLS)
        .map(|c| {
            let mut rules: Vec<String> = rules_at
                .get(c.source.as_str())
                .into_iter()
                .flatten()
                .map(|r| r.to_string())
                .collect();
            rules.dedup();
            let call = ChainCall {
                time: c.time.clone(),
                source: c.source.clone(),
                tool: c.tool.clone(),
                command: c.arguments.clone(),
                rules,
            };
            (call, c)
        })
        .collect()
}

/// Whether a tool call was read after the entry: by time when both have
/// one, else by row number in the same source.
fn later(entry: &Hit, c: &ToolCall) -> bool {
    if let (Some(a), Some(b)) = (
        entry.time.as_deref().and_then(parse_time),
        c.time.as_deref().and_then(parse_time),
    ) {
        return b > a;
    }
    let row = |s: &str| {
        s.rsplit_once(':')
            .and_then(|(f, n)| Some((f.to_string(), n.parse::<u64>().ok()?)))
    };
    matches!((row(&entry.source), row(&c.source)), (Some((f1, n1)), Some((f2, n2))) if f1 == f2 && n2 > n1)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// What the call a tool result answers asked for: the arguments of the
/// last call of that tool before it in the session.
#[derive(serde::Deserialize, Default)]
struct Asked {
    url: Option<String>,
    path: Option<String>,
    file_path: Option<String>,
    #[serde(rename = "filePath")]
    file_path_camel: Option<String>,
    file: Option<String>,
}

impl Asked {
    fn path(self) -> Option<String> {
        self.path
            .or(self.file_path)
            .or(self.file_path_camel)
            .or(self.file)
    }
}

/// The arguments of the call a tool-result row answers, with the tool's
/// name: the last call of that tool before it in the session.
fn asked(entry: &Hit, calls: &[ToolCall]) -> Option<(String, Asked)> {
    let tool = entry.origin.as_deref()?.strip_prefix("result of ")?;
    let session = entry.session.as_deref().unwrap_or("");
    calls
        .iter()
        .rev()
        .find(|c| {
            c.session == session && c.tool == tool && c.source != entry.source && !later(entry, c)
        })
        .and_then(|c| Some((c.tool.clone(), serde_json::from_str(&c.arguments).ok()?)))
}

/// Where the injected text came from.
fn origin(
    dep: &Deployment,
    entry: &Hit,
    calls: &[ToolCall],
    keys: &mut SessionKeys,
) -> ChainOrigin {
    let text = entry.origin.clone().unwrap_or_default();
    let mut o = ChainOrigin {
        kind: "unknown".into(),
        text: text.clone(),
        ..Default::default()
    };
    if let Some((_, url)) = text.split_once(" from ") {
        o.kind = "url".into();
        o.url = Some(url.to_string());
    } else if entry.source.contains("memory_index_chunks") {
        o.kind = "file".into();
        o.file = Some(entry.source.clone());
    } else if text == "user message" {
        o.kind = "message".into();
    } else if let Some((tool, args)) = asked(entry, calls) {
        let read = super::hunt::READ_TOOLS.contains(&tool.to_ascii_lowercase().as_str());
        o.kind = "tool_result".into();
        if let Some(url) = &args.url {
            o.kind = "url".into();
            o.url = Some(crate::sanitize::escape(url));
        } else if let Some(p) = args.path().filter(|_| read) {
            // A skill, memory or prompt file the agent read: named as a
            // host path when it can be placed, else as the call gave it.
            let agent = entry.agent.as_deref().unwrap_or("");
            o.kind = "file".into();
            o.file = Some(match host_path(dep, agent, &p) {
                Some(h) => crate::sanitize::escape_path(&h),
                None => crate::sanitize::escape(&p),
            });
        }
    } else if text.starts_with("result of ") {
        o.kind = "tool_result".into();
    }
    // The session's channel and peer frame whatever it read.
    if o.channel.is_none() {
        let session = entry.session.as_deref().unwrap_or("");
        let agent = entry.agent.as_deref().unwrap_or("");
        if let Some(key) = keys.key(dep, agent, session) {
            (o.channel, o.sender) = channel_and_sender(&key);
        }
    }
    o
}

/// The agent databases and legacy `sessions.json` files a join has
/// opened, each once: opening a database copies it and its WAL (see
/// [`crate::sqlite::open_isolated`]) and a `sessions.json` may be tens of
/// MiB, so a hunt with a chain in every session must not pay that per
/// chain.
#[derive(Default)]
struct SessionKeys {
    /// Each agent's open databases (`None`: did not open).
    dbs: Vec<(std::path::PathBuf, Option<crate::sqlite::ReadOnlyDb>)>,
    /// Each agent's `sessions.json`, as session id to key (empty: none).
    json: std::collections::HashMap<String, std::collections::HashMap<String, String>>,
}

impl SessionKeys {
    /// The key of session `id` (`agent:main:telegram:direct:991`): the
    /// agent database's session windows and nodes, else the legacy
    /// `sessions.json`.
    fn key(&mut self, dep: &Deployment, agent: &str, id: &str) -> Option<String> {
        for db in
            dep.layout.databases.iter().filter(|d| {
                d.role.as_deref() == Some("agent") && d.agent_id.as_deref() == Some(agent)
            })
        {
            let i = match self.dbs.iter().position(|(p, _)| *p == db.path) {
                Some(i) => i,
                None => {
                    let c = crate::sqlite::open_isolated(&db.path).ok();
                    self.dbs.push((db.path.clone(), c));
                    self.dbs.len() - 1
                }
            };
            let Some(c) = &self.dbs[i].1 else { continue };
            for q in [
                "SELECT session_key FROM session_windows WHERE session_id = ?1 LIMIT 1",
                "SELECT session_key FROM session_nodes WHERE current_session_id = ?1 LIMIT 1",
            ] {
                if let Ok(k) = c.conn.query_row(q, [id], |r| r.get::<_, String>(0)) {
                    return Some(k);
                }
            }
        }
        self.json
            .entry(agent.to_string())
            .or_insert_with(|| sessions_json_keys(dep, agent))
            .get(id)
            .cloned()
    }
}

/// The agent's legacy `sessions.json` as session id to key (empty when it
/// is missing or does not parse).
fn sessions_json_keys(dep: &Deployment, agent: &str) -> std::collections::HashMap<String, String> {
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "sessionId", default)]
        session_id: Option<String>,
    }
    let file = dep
        .paths
        .state_dir
        .join("agents")
        .join(agent)
        .join("sessions/sessions.json");
    let Ok(bytes) = crate::safefs::read_bounded(&file, 64 << 20) else {
        return Default::default();
    };
    let map: std::collections::BTreeMap<String, Entry> =
        serde_json::from_slice(&bytes).unwrap_or_default();
    // The first key naming a session wins, as the search in key order did.
    let mut out = std::collections::HashMap::new();
    for (k, e) in map {
        if let Some(id) = e.session_id {
            out.entry(id).or_insert(k);
        }
    }
    out
}

/// The channel and peer a session key names:
/// `agent:<id>:<channel>:<direct|dm|group|channel>:<peer>`.
pub fn channel_and_sender(key: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = key.split(':').collect();
    match parts.as_slice() {
        ["agent", _, channel, _, peer, ..] => (
            Some(crate::sanitize::escape(channel)),
            Some(crate::sanitize::escape(peer)),
        ),
        ["agent", _, channel, _] if *channel != "main" => {
            (Some(crate::sanitize::escape(channel)), None)
        }
        _ => (None, None),
    }
}

/// One written file: where it is on the host, whether it changed after
/// the injected row, and the persistence item at that path.
fn file(dep: &Deployment, entry: &Hit, by: &str, written: &str, facts: &CaseFacts) -> ChainFile {
    let host = host_path(dep, entry.agent.as_deref().unwrap_or(""), written);
    let path = host
        .as_deref()
        .map_or_else(|| written.to_string(), crate::sanitize::escape_path);
    let mut f = ChainFile {
        path: path.clone(),
        written_by: by.to_string(),
        ..Default::default()
    };
    if let Some((m, c)) = host
        .as_deref()
        .and_then(|h| times(&Root::new(&dep.root), h))
    {
        let since = entry.time.as_deref().and_then(parse_time);
        f.changed_after = since.map(|t| m > t || c > t);
        let show = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        f.mtime = Some(show(m));
        f.ctime = Some(show(c));
    }
    f.persistence = facts.persistence.as_ref().and_then(|p| {
        p.flagged
            .iter()
            .find(|i| i.path == path)
            .map(|i| ChainPersistence {
                mechanism: i.mechanism.clone(),
                flags: i.flags.clone(),
                severity: i.severity,
            })
    });
    f
}

/// A path a tool call wrote, as a host path: absolute as it is, `~/` in
/// the user's home, relative in the agent's workspace. `None` when it
/// cannot be placed (no workspace, an unescaped control character).
fn host_path(dep: &Deployment, agent: &str, written: &str) -> Option<PathBuf> {
    if written.is_empty() || crate::sanitize::escape(written) != written {
        return None;
    }
    if written.starts_with('/') {
        return Some(PathBuf::from(written));
    }
    if let Some(rest) = written.strip_prefix("~/") {
        return Some(dep.paths.user_home.join(rest));
    }
    let root = Root::new(&dep.root);
    let ws = dep
        .agents
        .iter()
        .find(|a| a.id == agent)
        .or(dep.agents.first())?
        .workspace
        .as_deref()?;
    Some(root.host_view(ws).join(written))
}

/// A host file's mtime and ctime under the root. `Root::join` follows the
/// dirs on the way inside the root (an image's `/home -> /var/home`); the
/// file itself is never followed: a link leaves the times unknown.
fn times(root: &Root, host: &Path) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    use std::os::unix::fs::MetadataExt;
    let m = crate::safefs::lstat(&root.join(host)).ok()??;
    if m.file_type().is_symlink() {
        return None;
    }
    let t = |s: i64, ns: i64| DateTime::from_timestamp(s, ns as u32);
    Some((t(m.mtime(), m.mtime_nsec())?, t(m.ctime(), m.ctime_nsec())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times are read through an image's dir link, inside the root, but
    /// never through a link at the file itself.
    #[test]
    fn times_follow_dirs_inside_the_root_never_the_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("var/home/a")).unwrap();
        std::fs::write(d.path().join("var/home/a/f"), "x").unwrap();
        std::os::unix::fs::symlink("/var/home", d.path().join("home")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("var/home/a/l")).unwrap();
        let root = Root::new(d.path());
        assert!(times(&root, Path::new("/home/a/f")).is_some());
        assert!(times(&root, Path::new("/home/a/l")).is_none());
        assert!(times(&root, Path::new("/home/a/missing")).is_none());
    }
    use crate::record::{DeploymentSummary, End, Event, GatewayProcessRecord, Record, Status};

    fn inventory(state: &str, pid: u32) -> Record {
        let dep = DeploymentSummary {
            state_dir: state.into(),
            state_dir_source: "default".into(),
            config: format!("{state}/openclaw.json"),
            config_present: true,
            profile: None,
            layout: "sqlite".into(),
            version: None,
            workspaces: vec![],
            gateway_pid: Some(pid),
            gateway_running: true,
            port: 18789,
        };
        let rec = InventoryRecord {
            deployment: dep,
            problems: vec![],
        };
        Record::End(End {
            run: "r1".into(),
            command: "inventory".into(),
            duration_ms: 1,
            status: Status::Ok,
            exit_code: 0,
            details: Some(serde_json::to_value(rec).unwrap()),
            error: None,
            fix: None,
        })
    }

    fn process(pid: u32) -> GatewayProcessRecord {
        GatewayProcessRecord {
            pid,
            process: None,
            environ: vec![],
            open_files: Default::default(),
            cgroup: None,
            status: None,
            children: vec![],
            start_time: None,
        }
    }

    #[test]
    fn pids_from_inventory_of_this_deployment_and_from_stop() {
        let d = tempfile::tempdir().unwrap();
        let j = crate::journal::Journal::open(d.path()).unwrap();
        j.append(inventory("/home/a/.openclaw", 4100)).unwrap();
        // Another deployment's inventory in the same case: not ours.
        j.append(inventory("/home/b/.openclaw", 4200)).unwrap();
        let mut gw = process(4300);
        gw.children.push(process(4301));
        let snap = PreStopSnapshot {
            processes: vec![gw],
            sockets: Default::default(),
            locks: Default::default(),
            supervisors: Default::default(),
        };
        j.append(Record::Event(Event {
            run: "r2".into(),
            command: "stop".into(),
            event: "pre-stop snapshot".into(),
            details: serde_json::to_value(snap).unwrap(),
        }))
        .unwrap();
        let f = CaseFacts::read(j.path(), "/home/a/.openclaw").unwrap();
        assert_eq!(f.pids, [4100, 4300, 4301]);
        assert!(f.persistence.is_none());
        // And attribution takes them as ours.
        let mut id = super::super::attribution::Identity::default();
        let line = r#"{"message":"slow write","pid":4300}"#;
        assert_eq!(id.owner(line), super::super::attribution::Owner::Unknown);
        id.add_pids(&f.pids);
        assert_eq!(id.owner(line), super::super::attribution::Owner::Ours);
    }

    #[test]
    fn an_inventory_record_that_does_not_parse_names_its_entry() {
        let d = tempfile::tempdir().unwrap();
        let j = crate::journal::Journal::open(d.path()).unwrap();
        let Record::End(mut e) = inventory("/x", 1) else {
            unreachable!()
        };
        e.details = Some(serde_json::json!({"deployment": 5}));
        j.append(Record::End(e)).unwrap();
        let err = CaseFacts::read(j.path(), "/x").unwrap_err().to_string();
        assert!(err.contains("inventory"), "{err}");
    }

    #[test]
    fn session_keys_name_channel_and_sender() {
        assert_eq!(
            channel_and_sender("agent:main:telegram:direct:991"),
            (Some("telegram".into()), Some("991".into()))
        );
        assert_eq!(channel_and_sender("agent:main:main"), (None, None));
        assert_eq!(channel_and_sender("cron:job-1"), (None, None));
    }

    fn hit(source: &str, time: Option<&str>) -> Hit {
        Hit {
            rule: "injection.x".into(),
            severity: Severity::Critical,
            title: String::new(),
            source: source.into(),
            snippet: String::new(),
            session: Some("s".into()),
            agent: Some("main".into()),
            time: time.map(str::to_string),
            family: Some("injection".into()),
            attack: None,
            decoded: None,
            origin: None,
            chain: vec![],
        }
    }

    fn call(source: &str, time: Option<&str>) -> ToolCall {
        ToolCall {
            tool: "exec".into(),
            arguments: "x".into(),
            session: "s".into(),
            agent: "main".into(),
            time: time.map(str::to_string),
            source: source.into(),
            writes: vec![],
        }
    }

    #[test]
    fn a_fetched_pages_url_comes_from_the_call_before_it() {
        let mut e = hit("/a.jsonl:5", Some("2026-11-21T08:00:03.000Z"));
        e.origin = Some("result of web_fetch".into());
        let mut fetch = call("/a.jsonl:4", Some("2026-11-21T08:00:02.000Z"));
        fetch.tool = "web_fetch".into();
        fetch.arguments = r#"{"url":"https://evil.test/p"}"#.into();
        let mut later_fetch = fetch.clone();
        later_fetch.source = "/a.jsonl:9".into();
        later_fetch.time = Some("2026-11-21T08:00:09.000Z".into());
        later_fetch.arguments = r#"{"url":"https://later.test/"}"#.into();
        let calls = [fetch, later_fetch];
        let url = |e: &Hit| asked(e, &calls).and_then(|(_, a)| a.url);
        assert_eq!(url(&e).as_deref(), Some("https://evil.test/p"));
        e.origin = Some("user message".into());
        assert_eq!(url(&e), None);
    }

    /// A file the agent read is named by the read call's path, in any of
    /// the spellings tools use; other tools' results are no file.
    #[test]
    fn a_read_results_file_comes_from_the_call_before_it() {
        let mut e = hit("/a.jsonl:5", Some("2026-11-21T08:00:03.000Z"));
        e.origin = Some("result of read".into());
        for args in [
            r#"{"path":"skills/x/SKILL.md"}"#,
            r#"{"file_path":"skills/x/SKILL.md"}"#,
            r#"{"filePath":"skills/x/SKILL.md"}"#,
        ] {
            let mut read = call("/a.jsonl:4", Some("2026-11-21T08:00:02.000Z"));
            read.tool = "read".into();
            read.arguments = args.into();
            let (tool, a) = asked(&e, &[read]).unwrap();
            assert_eq!(tool, "read");
            assert_eq!(a.path().as_deref(), Some("skills/x/SKILL.md"), "{args}");
        }
        e.origin = Some("result of exec".into());
        let mut run = call("/a.jsonl:4", Some("2026-11-21T08:00:02.000Z"));
        run.arguments = r#"{"command":"cat x"}"#.into();
        assert!(asked(&e, &[run]).unwrap().1.path().is_none());
    }

    #[test]
    fn later_by_time_else_by_row() {
        let e = hit("/a.jsonl:5", Some("2026-11-21T08:00:03.000Z"));
        assert!(later(
            &e,
            &call("/a.jsonl:6", Some("2026-11-21T08:00:04.000Z"))
        ));
        assert!(!later(
            &e,
            &call("/a.jsonl:4", Some("2026-11-21T08:00:02.000Z"))
        ));
        let e = hit("/a.jsonl:5", None);
        assert!(later(&e, &call("/a.jsonl:6", None)));
        assert!(!later(&e, &call("/a.jsonl:3", None)));
        assert!(!later(&e, &call("/b.jsonl:9", None)));
    }
}
