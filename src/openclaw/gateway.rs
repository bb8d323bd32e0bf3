//! The gateway: its settings, whether it runs, and what keeps it running.
//!
//! A running gateway is found three ways, cross-checked:
//! 1. its lock files (`$STATE/tmp/openclaw-<uid>/gateway*.lock` from 2026.9,
//!    `$TMPDIR/openclaw-<uid>/gateway.<sha256(config)[:8]>.lock` before):
//!    JSON followed by padding, holding `pid` and `startTime`, the process
//!    start time in clock ticks, which must equal field 22 of
//!    `/proc/<pid>/stat` or the pid has been reused by someone else;
//! 2. processes titled `openclaw-gateway`, and their children;
//! 3. listeners on the gateway port, IPv4 and IPv6, from `/proc/net`.
//!
//! The supervisor (systemd unit or launchd job) matters because one with
//! `Restart=always` brings a killed gateway straight back.

use crate::host::Root;
use crate::host::procfs::{self, Process, Socket};
use crate::openclaw::config::{self, SecretInfo};
use crate::openclaw::locate::{Env, Paths};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// OpenClaw's default gateway port.
pub const DEFAULT_PORT: u16 = 18789;
/// The process title the gateway gives itself.
pub const PROCESS_TITLE: &str = "openclaw-gateway";

/// Gateway settings from the config. Secrets appear only as [`SecretInfo`].
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub mode: Option<String>,
    pub bind: String,
    pub custom_bind_host: Option<String>,
    pub port: u16,
    /// `OPENCLAW_GATEWAY_PORT`, `config`, `profile` or `default`.
    pub port_source: &'static str,
    pub auth_mode: Option<String>,
    pub token: SecretInfo,
    pub password: SecretInfo,
    pub remote_token: SecretInfo,
    pub remote_password: SecretInfo,
    pub hooks_token: SecretInfo,
    pub tailscale_mode: Option<String>,
}

/// Parses `OPENCLAW_GATEWAY_PORT` as OpenClaw does: `N`, `host:N`, `[v6]:N`.
pub fn parse_port_env(v: &str) -> Option<u16> {
    let v = v.trim();
    let digits = if let Some(rest) = v.strip_prefix('[') {
        rest.split_once("]:")?.1
    } else if v.bytes().all(|b| b.is_ascii_digit()) {
        v
    } else {
        let (first, last) = (v.find(':')?, v.rfind(':')?);
        if first == 0 || first != last {
            return None;
        }
        &v[first + 1..]
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u16>().ok().filter(|p| *p > 0)
}

/// The port a named profile gets when none is configured:
/// `20000 + FNV-1a-32(profile) % 40000`.
pub fn profile_port(profile: &str) -> u16 {
    let mut h: u32 = 2166136261;
    for b in profile.as_bytes() {
        h = (h ^ u32::from(*b)).wrapping_mul(16777619);
    }
    (20000 + h % 40000) as u16
}

fn escaped_str(v: &Value, path: &str) -> Option<String> {
    config::get_str(v, path).map(crate::sanitize::escape)
}

/// Reads the gateway settings from a parsed config.
pub fn settings(cfg: Option<&Value>, env: &Env, paths: &Paths) -> Settings {
    let null = Value::Null;
    let v = cfg.unwrap_or(&null);
    let (port, port_source) =
        if let Some(p) = env.get("OPENCLAW_GATEWAY_PORT").and_then(parse_port_env) {
            (p, "OPENCLAW_GATEWAY_PORT")
        } else if let Some(p) = config::get(v, "gateway.port")
            .and_then(Value::as_u64)
            .filter(|p| (1..=65535).contains(p))
        {
            (p as u16, "config")
        } else if let Some(p) = &paths.profile {
            (profile_port(p), "profile")
        } else {
            (DEFAULT_PORT, "default")
        };
    Settings {
        mode: escaped_str(v, "gateway.mode"),
        bind: escaped_str(v, "gateway.bind").unwrap_or_else(|| "loopback".into()),
        custom_bind_host: escaped_str(v, "gateway.customBindHost"),
        port,
        port_source,
        auth_mode: escaped_str(v, "gateway.auth.mode"),
        token: SecretInfo::at(v, "gateway.auth.token"),
        password: SecretInfo::at(v, "gateway.auth.password"),
        remote_token: SecretInfo::at(v, "gateway.remote.token"),
        remote_password: SecretInfo::at(v, "gateway.remote.password"),
        hooks_token: SecretInfo::at(v, "hooks.token"),
        tailscale_mode: escaped_str(v, "gateway.tailscale.mode"),
    }
}

/// A gateway lock file and what it says.
#[derive(Debug, Clone, Serialize)]
pub struct Lock {
    pub path: PathBuf,
    pub pid: Option<u32>,
    pub start_time: Option<u64>,
    pub port: Option<u16>,
    pub config_path: Option<String>,
    pub state_dir: Option<String>,
    pub created_at: Option<String>,
    /// `live` (pid runs and start time matches), `stale` (pid gone),
    /// `reused` (pid runs but is another process), `unreadable`.
    pub status: &'static str,
    pub detail: Option<String>,
}

/// The lock dirs to look in for this deployment.
fn lock_candidates(paths: &Paths, root: &Root, env: &Env) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let tmp = paths.state_dir.join("tmp");
    // Any uid: the gateway may run as another user than `ir`.
    for d in read_dir_names(&tmp)
        .into_iter()
        .filter(|n| n == "openclaw" || n.starts_with("openclaw-"))
    {
        for f in read_dir_names(&tmp.join(&d)) {
            if f.starts_with("gateway") && f.ends_with(".lock") {
                files.push(tmp.join(&d).join(f));
            }
        }
    }
    // Older releases: os.tmpdir()/openclaw-<uid>/gateway.<hash>.lock, where
    // the hash binds the lock to this config path.
    let hash = config_hash(&root.host_view(&paths.config));
    let sys_tmp = root.join(env.get("TMPDIR").unwrap_or("/tmp"));
    for d in read_dir_names(&sys_tmp)
        .into_iter()
        .filter(|n| n.starts_with("openclaw-") && n[9..].bytes().all(|b| b.is_ascii_digit()))
    {
        let f = sys_tmp.join(d).join(format!("gateway.{hash}.lock"));
        if crate::safefs::lstat(&f).ok().flatten().is_some() {
            files.push(f);
        }
    }
    files.sort();
    files.dedup();
    files
}

/// `sha256(configPath)[:8]`, the suffix OpenClaw gives a config's lock.
pub fn config_hash(config: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    hex::encode(Sha256::digest(config.as_os_str().as_bytes()))[..8].to_string()
}

fn read_dir_names(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .flatten()
        .take(10_000)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Parses lock content: JSON followed by a run of padding.
pub fn parse_lock(bytes: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?;
    let v: Value =
        serde_json::from_str(text.trim_end_matches([' ', '\t', '\n', '\r', '\0'])).ok()?;
    v.is_object().then_some(v)
}

/// Reads and checks one lock file against `/proc`.
pub fn read_lock(path: &Path, root: &Root) -> Lock {
    let mut lock = Lock {
        path: path.to_path_buf(),
        pid: None,
        start_time: None,
        port: None,
        config_path: None,
        state_dir: None,
        created_at: None,
        status: "unreadable",
        detail: None,
    };
    let v = match crate::safefs::read_bounded(path, 1 << 20) {
        Ok(b) => match parse_lock(&b) {
            Some(v) => v,
            None => {
                lock.detail = Some("not JSON".into());
                return lock;
            }
        },
        Err(e) => {
            lock.detail = Some(e.to_string());
            return lock;
        }
    };
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(crate::sanitize::escape)
    };
    lock.pid = v
        .get("pid")
        .and_then(Value::as_u64)
        .and_then(|p| u32::try_from(p).ok());
    lock.start_time = v.get("startTime").and_then(Value::as_u64);
    lock.port = v
        .get("port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok());
    lock.config_path = s("configPath");
    lock.state_dir = s("stateDir");
    lock.created_at = s("createdAt");
    let Some(pid) = lock.pid.filter(|p| *p > 0) else {
        lock.detail = Some("no pid".into());
        return lock;
    };
    (lock.status, lock.detail) = match procfs::stat(root, pid) {
        None => ("stale", Some(format!("pid {pid} is not running"))),
        Some(st) if st.state == 'Z' => ("stale", Some(format!("pid {pid} is a zombie"))),
        Some(st) => match lock.start_time {
            Some(t) if t == st.start_ticks => ("live", None),
            Some(t) => (
                "reused",
                Some(format!(
                    "pid {pid} started at tick {} but the lock says {t}: another process reuses the pid",
                    st.start_ticks
                )),
            ),
            // Without a start time, the title is the best we have.
            None if st.comm.starts_with("openclaw") => (
                "live",
                Some("no startTime in lock; matched by title".into()),
            ),
            None => (
                "reused",
                Some(format!("pid {pid} is {:?}, not the gateway", st.comm)),
            ),
        },
    };
    lock
}

/// True when a process looks like an OpenClaw gateway by its title.
pub fn is_gateway_title(p: &Process) -> bool {
    // comm is cut to 15 bytes: "openclaw-gatewa".
    p.comm.starts_with(&PROCESS_TITLE[..15])
        || p.cmdline
            .first()
            .is_some_and(|a| a.starts_with(PROCESS_TITLE))
}

/// A gateway process and its children.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayProcess {
    pub process: Process,
    /// True when a live lock of this deployment names this pid.
    pub owns_lock: bool,
    /// The systemd unit whose cgroup it runs in, if any.
    pub cgroup_unit: Option<String>,
    pub children: Vec<Process>,
}

/// What supervises the gateway, from unit files and plists on disk.
#[derive(Debug, Clone, Serialize)]
pub struct Supervisor {
    /// `systemd-user`, `systemd-system` or `launchd`.
    pub kind: &'static str,
    pub name: String,
    pub path: PathBuf,
    /// `Restart=` (systemd) or `KeepAlive` (launchd), as written.
    pub restart: Option<String>,
    pub restarts_on_kill: bool,
    /// Whether it is enabled (`*.wants/` link, or `RunAtLoad`).
    pub enabled: bool,
}

/// The running gateway, as far as the host shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Runtime {
    pub locks: Vec<Lock>,
    /// The pid a live lock vouches for.
    pub pid: Option<u32>,
    pub processes: Vec<GatewayProcess>,
    /// Sockets listening on the gateway port or held by a gateway process.
    pub listeners: Vec<Socket>,
    pub supervisors: Vec<Supervisor>,
    /// OpenClaw gateways of other deployments on this host (pids).
    pub other_gateways: Vec<u32>,
    pub running: bool,
}

fn cgroup_unit(root: &Root, pid: u32) -> Option<String> {
    let raw =
        crate::safefs::read_pseudo(&root.join(format!("/proc/{pid}/cgroup")), 64 * 1024).ok()?;
    String::from_utf8_lossy(&raw)
        .lines()
        .flat_map(|l| l.rsplit('/'))
        .find(|seg| seg.ends_with(".service"))
        .map(crate::sanitize::escape)
}

/// Unit names OpenClaw installs for this profile, newest name first.
pub fn unit_names(paths: &Paths, env: &Env) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(u) = env.get("OPENCLAW_SYSTEMD_UNIT") {
        v.push(if u.ends_with(".service") {
            u.to_string()
        } else {
            format!("{u}.service")
        });
    }
    match &paths.profile {
        Some(p) => {
            v.push(format!("openclaw-gateway-{p}.service"));
            v.push(format!("clawdbot-gateway-{p}.service"));
        }
        None => {
            v.push("openclaw-gateway.service".into());
            v.push("clawdbot-gateway.service".into());
        }
    }
    v
}

/// launchd labels OpenClaw installs for this profile.
pub fn launchd_labels(paths: &Paths, env: &Env) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(l) = env.get("OPENCLAW_LAUNCHD_LABEL") {
        v.push(l.to_string());
    }
    match &paths.profile {
        Some(p) => v.push(format!("ai.openclaw.{p}")),
        None => v.push("ai.openclaw.gateway".into()),
    }
    v
}

/// Reads `Restart=` from a unit's `[Service]` section and its drop-ins.
fn systemd_restart(unit: &Path) -> Option<String> {
    let mut files = vec![unit.to_path_buf()];
    let mut dropin = unit.as_os_str().to_owned();
    dropin.push(".d");
    let dropin = PathBuf::from(dropin);
    for n in read_dir_names(&dropin) {
        if n.ends_with(".conf") {
            files.push(dropin.join(n));
        }
    }
    let mut restart = None;
    for f in files {
        let Ok(text) = crate::safefs::read_text(&f, 1 << 20) else {
            continue;
        };
        let mut in_service = false;
        for l in text.lines().map(str::trim) {
            if l.starts_with('[') {
                in_service = l == "[Service]";
            } else if in_service && let Some(v) = l.strip_prefix("Restart=") {
                restart = Some(crate::sanitize::escape(v.trim()));
            }
        }
    }
    restart
}

fn find_supervisors(paths: &Paths, env: &Env, root: &Root) -> Vec<Supervisor> {
    let mut out = Vec::new();
    let home = &paths.user_home;
    let user_dirs = [
        home.join(".config/systemd/user"),
        PathBuf::from("/etc/systemd/user"),
        PathBuf::from("/usr/lib/systemd/user"),
    ];
    let system_dirs = [
        PathBuf::from("/etc/systemd/system"),
        PathBuf::from("/usr/local/lib/systemd/system"),
        PathBuf::from("/usr/lib/systemd/system"),
        PathBuf::from("/lib/systemd/system"),
    ];
    for name in unit_names(paths, env) {
        for (kind, dirs) in [
            ("systemd-user", &user_dirs[..]),
            ("systemd-system", &system_dirs[..]),
        ] {
            for d in dirs {
                let p = root.join(d.join(&name));
                if crate::safefs::lstat(&p).ok().flatten().is_none() {
                    continue;
                }
                let restart = systemd_restart(&p);
                let restarts_on_kill = matches!(
                    restart.as_deref(),
                    Some("always" | "on-failure" | "on-abnormal" | "on-abort")
                );
                let enabled = dirs.iter().any(|d| {
                    read_dir_names(&root.join(d)).iter().any(|w| {
                        w.ends_with(".wants")
                            && crate::safefs::lstat(&root.join(d.join(w).join(&name)))
                                .ok()
                                .flatten()
                                .is_some()
                    })
                });
                out.push(Supervisor {
                    kind,
                    name: name.clone(),
                    path: p,
                    restart,
                    restarts_on_kill,
                    enabled,
                });
            }
        }
    }
    for label in launchd_labels(paths, env) {
        for d in [
            home.join("Library/LaunchAgents"),
            PathBuf::from("/Library/LaunchDaemons"),
        ] {
            let p = root.join(d.join(format!("{label}.plist")));
            let Ok(text) = crate::safefs::read_text(&p, 1 << 20) else {
                continue;
            };
            let flat: String = text.split_whitespace().collect();
            let keep_alive = flat.contains("<key>KeepAlive</key><true/>")
                || flat.contains("<key>KeepAlive</key><dict>");
            out.push(Supervisor {
                kind: "launchd",
                name: label.clone(),
                path: p,
                restart: Some(if keep_alive { "KeepAlive" } else { "none" }.into()),
                restarts_on_kill: keep_alive,
                enabled: flat.contains("<key>RunAtLoad</key><true/>"),
            });
        }
    }
    out
}

/// Finds the running gateway of this deployment. Other OpenClaw gateways
/// on the host (another profile, another user) are listed apart and never
/// taken for this one: a process is ours when this deployment's live lock
/// names it or when it listens on this deployment's port.
///
/// Longer than 80 lines on purpose: one chain of inference (lock, then
/// candidate processes and their families, then sockets, then which are
/// ours), every step using the ones before; split up, the closures over
/// the process table would have to be passed around.
pub fn runtime(paths: &Paths, settings: &Settings, env: &Env, root: &Root) -> Runtime {
    let locks: Vec<Lock> = lock_candidates(paths, root, env)
        .iter()
        .map(|p| read_lock(p, root))
        .collect();
    let pid = locks
        .iter()
        .find(|l| l.status == "live")
        .and_then(|l| l.pid);
    let port = locks
        .iter()
        .find(|l| l.status == "live")
        .and_then(|l| l.port)
        .unwrap_or(settings.port);
    let all = procfs::processes(root);
    let mut candidates: Vec<u32> = all
        .iter()
        .filter(|p| is_gateway_title(p))
        .map(|p| p.pid)
        .collect();
    if let Some(p) = pid
        && !candidates.contains(&p)
    {
        candidates.push(p);
    }
    let family = |p: u32| {
        std::iter::once(p)
            .chain(procfs::descendants(&all, p))
            .collect::<Vec<u32>>()
    };
    let mut owner_pids: Vec<u32> = candidates.iter().flat_map(|&p| family(p)).collect();
    owner_pids.sort_unstable();
    owner_pids.dedup();
    let mut sockets = procfs::tcp_sockets(root);
    procfs::attach_owners(root, &mut sockets, &owner_pids);
    let listens_on_port = |p: u32| {
        let fam = family(p);
        sockets.iter().any(|s| {
            s.state == "LISTEN" && s.local_port == port && s.pid.is_some_and(|o| fam.contains(&o))
        })
    };
    let mut processes = Vec::new();
    let mut others = Vec::new();
    for &p in &candidates {
        let Some(process) = all.iter().find(|x| x.pid == p).cloned() else {
            continue;
        };
        if Some(p) != pid && !listens_on_port(p) {
            others.push(p);
            continue;
        }
        let children = procfs::descendants(&all, p)
            .into_iter()
            .filter_map(|c| all.iter().find(|x| x.pid == c).cloned())
            .collect();
        processes.push(GatewayProcess {
            owns_lock: Some(p) == pid,
            cgroup_unit: cgroup_unit(root, p),
            process,
            children,
        });
    }
    let ours: Vec<u32> = processes
        .iter()
        .flat_map(|g| family(g.process.pid))
        .collect();
    let listeners: Vec<Socket> = sockets
        .into_iter()
        .filter(|s| {
            s.state == "LISTEN"
                && (s.local_port == port || s.pid.is_some_and(|o| ours.contains(&o)))
        })
        .collect();
    let running =
        pid.is_some() || !processes.is_empty() || listeners.iter().any(|l| l.local_port == port);
    Runtime {
        locks,
        pid,
        processes,
        listeners,
        other_gateways: others,
        supervisors: find_supervisors(paths, env, root),
        running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn port_env_forms() {
        assert_eq!(parse_port_env("18790"), Some(18790));
        assert_eq!(parse_port_env("127.0.0.1:18790"), Some(18790));
        assert_eq!(parse_port_env("[::1]:18790"), Some(18790));
        assert_eq!(parse_port_env("a:b:1"), None);
        assert_eq!(parse_port_env("99999"), None);
    }

    #[test]
    fn lock_with_padding() {
        let v = parse_lock(b"{\"pid\":42,\"startTime\":7}\n\t\t  \t ").unwrap();
        assert_eq!(v["pid"], 42);
    }

    #[test]
    fn config_hash_matches_openclaw() {
        // Seen on a real 2026.9.6 gateway: gateway.ccf19b26.lock.
        assert_eq!(
            config_hash(Path::new("/tmp/octest/state/openclaw.json")),
            "ccf19b26"
        );
    }

    proptest! {
        #[test]
        fn lock_parser_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_lock(&b);
        }
        #[test]
        fn port_parser_never_panics(s in "\\PC{0,30}") {
            let _ = parse_port_env(&s);
        }
    }
}
