//! What an OpenClaw deployment is, read off the host: where its state
//! lives, which storage layout and version it has, its agents and their
//! workspaces, its logs, its gateway settings and the running gateway.
//!
//! [`discover`] is the one entry point; every command starts from the
//! [`Deployment`] it returns.

pub mod config;
pub mod edit;
pub mod gateway;
pub mod include;
pub mod layout;
pub mod locate;

use crate::host::Root;
use anyhow::Result;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One agent and its workspace.
#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    pub id: String,
    /// The agent dir (`agents/<id>/agent` unless configured).
    pub agent_dir: PathBuf,
    pub workspace: Option<PathBuf>,
    pub workspace_exists: bool,
    /// True when the workspace lies outside the state dir (collect it too).
    pub workspace_outside_state: bool,
    /// Where we learned of it: `config:entries`, `config:list`, `disk`.
    pub source: &'static str,
}

/// A directory OpenClaw writes logs to.
#[derive(Debug, Clone, Serialize)]
pub struct LogDir {
    pub path: PathBuf,
    /// `shared-tmp`, `fallback-tmp`, `state`, `macos`, `configured`.
    pub kind: &'static str,
    pub exists: bool,
    /// Log files in it that belong to OpenClaw (names only, at most 200).
    pub files: Vec<String>,
}

/// Something that could not be read; discovery goes on without it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// A resolved OpenClaw deployment.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub root: PathBuf,
    pub paths: locate::Paths,
    /// The state dir is itself a symlink (OpenClaw's audit flags this).
    pub state_dir_symlink: Option<String>,
    /// `openclaw.json` is a symlink to this file inside the state dir,
    /// followed as OpenClaw follows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_symlink: Option<String>,
    /// Files `openclaw.json` pulls in with `$include` (merged into
    /// `config`); collected, rotated and audited with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config_includes: Vec<PathBuf>,
    pub config_present: bool,
    pub layout: layout::Layout,
    pub agents: Vec<Agent>,
    pub logs: Vec<LogDir>,
    pub gateway: gateway::Settings,
    pub runtime: gateway::Runtime,
    pub problems: Vec<Problem>,
    /// The parsed config, for commands that need more of it. Not serialized:
    /// it holds secrets.
    #[serde(skip)]
    pub config: Option<Value>,
}

impl Deployment {
    /// The short form that goes into journal entries and bundle manifests.
    pub fn summary(&self) -> crate::record::DeploymentSummary {
        use crate::sanitize::escape_path;
        crate::record::DeploymentSummary {
            state_dir: escape_path(&self.paths.state_dir),
            state_dir_source: self.paths.state_dir_source.to_string(),
            config: escape_path(&self.paths.config),
            config_present: self.config_present,
            profile: self.paths.profile.clone(),
            layout: self.layout.kind.as_str().to_string(),
            version: self.layout.version.clone(),
            workspaces: self
                .agents
                .iter()
                .filter_map(|a| a.workspace.as_deref().map(escape_path))
                .collect(),
            gateway_pid: self.runtime.pid,
            gateway_running: self.runtime.running,
            port: self.gateway.port,
        }
    }
}

/// What the operator asked for, plus the environment and root to read.
#[derive(Debug, Clone)]
pub struct Target {
    pub request: locate::Request,
    pub env: locate::Env,
    pub root: Root,
}

fn map_config_path(s: &str, paths: &locate::Paths, root: &Root) -> PathBuf {
    let p = if s == "~" {
        paths.user_home.clone()
    } else if let Some(rest) = s.strip_prefix("~/") {
        paths.user_home.join(rest)
    } else {
        PathBuf::from(s)
    };
    if p.is_absolute() {
        root.join(p)
    } else {
        paths.state_dir.join(p)
    }
}

fn agents(
    paths: &locate::Paths,
    cfg: Option<&Value>,
    env: &locate::Env,
    root: &Root,
) -> Vec<Agent> {
    let state = &paths.state_dir;
    let default_ws = cfg
        .and_then(|c| config::get_str(c, "agents.defaults.workspace"))
        .map(|s| map_config_path(s, paths, root))
        .or_else(|| {
            env.get("OPENCLAW_WORKSPACE_DIR")
                .map(|s| map_config_path(s, paths, root))
        })
        .unwrap_or_else(|| state.join("workspace"));
    let mut out: Vec<Agent> = Vec::new();
    let add = |out: &mut Vec<Agent>,
               id: &str,
               ws: Option<&str>,
               dir: Option<&str>,
               source: &'static str| {
        if out.iter().any(|a| a.id == crate::sanitize::escape(id)) {
            return;
        }
        let workspace =
            Some(ws.map_or_else(|| default_ws.clone(), |w| map_config_path(w, paths, root)));
        let agent_dir = dir.map_or_else(
            || state.join("agents").join(id).join("agent"),
            |d| map_config_path(d, paths, root),
        );
        out.push(Agent {
            id: crate::sanitize::escape(id),
            workspace_exists: workspace.as_deref().is_some_and(|w| w.is_dir()),
            workspace_outside_state: workspace.as_deref().is_some_and(|w| !w.starts_with(state)),
            workspace,
            agent_dir,
            source,
        });
    };
    let field = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(c) = cfg {
        if let Some(Value::Object(entries)) = config::get(c, "agents.entries") {
            for (id, e) in entries {
                let (ws, dir) = (field(e, "workspace"), field(e, "agentDir"));
                add(
                    &mut out,
                    id,
                    ws.as_deref(),
                    dir.as_deref(),
                    "config:entries",
                );
            }
        }
        if let Some(Value::Array(list)) = config::get(c, "agents.list") {
            for e in list {
                if let Some(id) = e.get("id").and_then(Value::as_str) {
                    let (ws, dir) = (field(e, "workspace"), field(e, "agentDir"));
                    add(&mut out, id, ws.as_deref(), dir.as_deref(), "config:list");
                }
            }
        }
    }
    for id in layout::agent_dirs(state) {
        add(&mut out, &id, None, None, "disk");
    }
    if out.is_empty() {
        add(&mut out, "main", None, None, "default");
    }
    out
}

fn list_logs(dir: &Path, keep: impl Fn(&str) -> bool) -> (bool, Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return (dir.is_dir(), Vec::new());
    };
    let mut v: Vec<String> = rd
        .flatten()
        .take(100_000)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| keep(n))
        .collect();
    v.sort();
    v.truncate(200);
    (
        true,
        v.into_iter().map(|n| crate::sanitize::escape(&n)).collect(),
    )
}

fn logs(paths: &locate::Paths, cfg: Option<&Value>, root: &Root) -> Vec<LogDir> {
    let mut out = Vec::new();
    let prefix = match &paths.profile {
        Some(p) => format!("openclaw-{p}-"),
        None => "openclaw-".to_string(),
    };
    let is_ours = |n: &str| n.starts_with(&prefix) && n.contains(".log");
    let mut push = |path: PathBuf, kind: &'static str, keep: &dyn Fn(&str) -> bool| {
        let (exists, files) = list_logs(&path, keep);
        out.push(LogDir {
            path,
            kind,
            exists,
            files,
        });
    };
    push(root.join("/tmp/openclaw"), "shared-tmp", &is_ours);
    // The fallback when /tmp/openclaw is unsafe: os.tmpdir()/openclaw-<uid>.
    if let Ok(rd) = std::fs::read_dir(root.join("/tmp")) {
        let mut dirs: Vec<PathBuf> = rd
            .flatten()
            .take(100_000)
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.len() > 9
                    && n.starts_with("openclaw-")
                    && n[9..].bytes().all(|b| b.is_ascii_digit())
            })
            .map(|e| e.path())
            .collect();
        dirs.sort();
        for d in dirs {
            push(d, "fallback-tmp", &is_ours);
        }
    }
    if let Some(f) = cfg.and_then(|c| config::get_str(c, "logging.file")) {
        let p = map_config_path(f, paths, root);
        if let (Some(dir), Some(name)) = (p.parent(), p.file_name()) {
            let name = name.to_string_lossy().into_owned();
            push(dir.to_path_buf(), "configured", &|n: &str| {
                n.starts_with(&name)
            });
        }
    }
    push(paths.state_dir.join("logs"), "state", &|_: &str| true);
    push(
        root.join(paths.user_home.join("Library/Logs/openclaw")),
        "macos",
        &|_: &str| true,
    );
    out
}

/// Resolves and reads the deployment. Fails only when the state dir is
/// missing or the config cannot be parsed; anything else unreadable is
/// listed in `problems`.
pub fn discover(target: &Target) -> Result<Deployment> {
    discover_with(target, false)
}

/// [`discover`] for commands that preserve evidence: a config that cannot
/// be read (a syntax error, a symlink out of the state dir) is a problem
/// named in the deployment, never a reason to collect nothing.
pub fn discover_for_evidence(target: &Target) -> Result<Deployment> {
    discover_with(target, true)
}

fn discover_with(target: &Target, lenient: bool) -> Result<Deployment> {
    let root = &target.root;
    let paths = locate::resolve(&target.request, &target.env, root)?;
    let state_dir_symlink = paths.state_dir_symlink.clone();
    if !paths.state_dir.is_dir() {
        let found = locate::candidates(root);
        let fix = if found.is_empty() {
            "pass --home DIR (the OpenClaw state dir) or set OPENCLAW_STATE_DIR".to_string()
        } else {
            format!(
                "pass --home with one of: {}",
                found
                    .iter()
                    .map(|p| crate::sanitize::escape_path(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(crate::exit::hint(
            format!(
                "OpenClaw state dir {} does not exist (chosen by {})",
                crate::sanitize::escape_path(&paths.state_dir),
                paths.state_dir_source
            ),
            fix,
        ));
    }
    let mut problems = Vec::new();
    let cfg = match config::load_in(&paths.config, &paths.state_dir) {
        Ok(c) => c,
        Err(e) if lenient => {
            problems.push(Problem {
                path: crate::sanitize::escape_path(&paths.config),
                message: format!("{e:#} (the config was not read; evidence is still collected)"),
            });
            None
        }
        Err(e) => return Err(e),
    };
    let config_symlink = cfg
        .as_ref()
        .and_then(|c| c.followed.as_deref())
        .map(crate::sanitize::escape_path);
    let config_includes: Vec<PathBuf> = cfg
        .as_ref()
        .map(|c| c.includes().map(Path::to_path_buf).collect())
        .unwrap_or_default();
    let value = cfg.map(|c| {
        let mut v = c.value;
        include::substitute_env(&mut v, &config::env_for(&paths.state_dir, &target.env.0));
        v
    });
    let layout = layout::detect(&paths.state_dir, value.as_ref());
    for db in &layout.databases {
        if let Some(e) = &db.error {
            problems.push(Problem {
                path: crate::sanitize::escape_path(&db.path),
                message: e.clone(),
            });
        }
    }
    let gateway = gateway::settings(value.as_ref(), &target.env, &paths);
    let runtime = gateway::runtime(&paths, &gateway, &target.env, root);
    for l in runtime.locks.iter().filter(|l| l.status == "unreadable") {
        problems.push(Problem {
            path: crate::sanitize::escape_path(&l.path),
            message: l.detail.clone().unwrap_or_default(),
        });
    }
    Ok(Deployment {
        root: root.dir().to_path_buf(),
        state_dir_symlink,
        config_symlink,
        config_includes,
        config_present: value.is_some(),
        agents: agents(&paths, value.as_ref(), &target.env, root),
        logs: logs(&paths, value.as_ref(), root),
        layout,
        gateway,
        runtime,
        problems,
        config: value,
        paths,
    })
}
