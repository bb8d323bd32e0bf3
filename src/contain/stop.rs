//! `ir stop`: stop the gateway however it runs, after recording what
//! stopping destroys.
//!
//! The supervisor goes first (a `Restart=always` unit revives a killed
//! gateway), called by absolute path. Then the gateway: only a pid that a
//! lock file names *and* whose `/proc` start time matches the lock *and*
//! that is an OpenClaw process is ever signalled, re-checked right before
//! each signal, so neither a reused pid nor a crafted lock can aim `ir` at
//! another process. SIGTERM, a wait, then SIGKILL. Its process group is
//! signalled only when it leads one (a gateway started from a shell shares
//! the shell's group, which must survive); otherwise its descendants are
//! signalled one by one.

use crate::case::Run;
use crate::host::Root;
use crate::host::exec;
use crate::host::procfs::{self, Process};
use crate::openclaw::Deployment;
use crate::record::PreStopSnapshot;
use anyhow::Result;
use rustix::process::{Pid, Signal};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// What `ir stop` did and found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub already_stopped: bool,
    pub targets: Vec<u32>,
    pub supervisor: Vec<exec::Ran>,
    pub signals: Vec<Value>,
    pub stopped: bool,
    /// What is still there after the attempt.
    pub remaining: Value,
    pub notes: Vec<String>,
}

impl Report {
    /// The report for a `--root` that is not the live host: nothing to stop.
    pub fn not_live(dep: &Deployment) -> Report {
        Report {
            already_stopped: !dep.runtime.running,
            targets: vec![],
            supervisor: vec![],
            signals: vec![],
            stopped: true,
            remaining: json!({}),
            notes: vec![
                "--root is not the live host: no process was looked for or signalled".into(),
            ],
        }
    }
}

/// True when a process is OpenClaw by what it runs, never by what its
/// arguments mention (a `vim ~/.openclaw/openclaw.json`, or `ir` itself,
/// mentions OpenClaw too): a Node executable that is either titled
/// `openclaw…` (the title OpenClaw's entry sets, which replaces argv) or
/// runs an entry script inside a package whose package.json is named
/// `openclaw`.
pub fn is_openclaw(root: &Root, p: &Process) -> bool {
    let node = p
        .exe
        .as_deref()
        .map(|e| e.trim_end_matches(" (deleted)"))
        .and_then(|e| std::path::Path::new(e).file_name()?.to_str())
        .is_some_and(is_node_name);
    if !node {
        return false;
    }
    let titled = p.comm.starts_with("openclaw")
        || p.cmdline.first().is_some_and(|a| a.starts_with("openclaw"));
    let script = p.cmdline.iter().skip(1).find(|a| !a.starts_with('-'));
    titled || script.is_some_and(|s| in_openclaw_package(root, s))
}

/// `node`, `nodejs`, or a versioned `node24` as some distributions name it.
fn is_node_name(n: &str) -> bool {
    n == "nodejs"
        || n.strip_prefix("node")
            .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether the host path `script` lies in an `openclaw` package (its own
/// dir or one of the five above it holds the package.json).
fn in_openclaw_package(root: &Root, script: &str) -> bool {
    let local = root.join(script);
    local
        .ancestors()
        .skip(1)
        .take(6)
        .any(crate::contain::recover::is_openclaw_package)
}

/// `ir` itself and every process above it: never signalled, so a lock
/// that names the responder's own shell or playbook cannot stop it.
fn own_lineage(root: &Root) -> std::collections::HashSet<u32> {
    let mut out = std::collections::HashSet::new();
    let mut pid = std::process::id();
    while pid > 1 && out.insert(pid) {
        let Some(st) = procfs::stat(root, pid) else {
            break;
        };
        pid = st.ppid;
    }
    out
}

/// A process identity: pid and start time.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ident {
    pid: u32,
    start: u64,
}

fn alive(root: &Root, id: Ident) -> bool {
    procfs::stat(root, id.pid).is_some_and(|s| s.start_ticks == id.start && s.state != 'Z')
}

fn signal(
    root: &Root,
    id: Ident,
    group: bool,
    sig: Signal,
    run: &Run,
    log: &mut Vec<Value>,
) -> Result<()> {
    // Re-check right before signalling: the pid must still be the process we chose.
    if !alive(root, id) {
        return Ok(());
    }
    let Some(pid) = Pid::from_raw(id.pid as i32) else {
        return Ok(());
    };
    let r = if group {
        rustix::process::kill_process_group(pid, sig)
    } else {
        rustix::process::kill_process(pid, sig)
    };
    let entry = json!({"pid": id.pid, "start_ticks": id.start, "signal": if sig == Signal::KILL { "SIGKILL" } else { "SIGTERM" }, "process_group": group, "result": r.map(|_| "sent".to_string()).unwrap_or_else(|e| e.to_string())});
    run.event("signal", entry.clone())?;
    log.push(entry);
    Ok(())
}

/// Our gateway processes: the lock-verified pid, and OpenClaw processes
/// listening on our port, each with its verified OpenClaw descendants;
/// anything else below them is named in `notes`, not signalled.
fn targets(dep: &Deployment, root: &Root, notes: &mut Vec<String>) -> Vec<StopTarget> {
    let lineage = own_lineage(root);
    let mut out = Vec::new();
    for g in &dep.runtime.processes {
        let p = &g.process;
        let on_port = dep.runtime.listeners.iter().any(|l| l.pid == Some(p.pid));
        if !(g.owns_lock || on_port) || lineage.contains(&p.pid) {
            continue;
        }
        if !is_openclaw(root, p) {
            notes.push(format!(
                "pid {} ({}) holds the lock or the port but is not OpenClaw by its executable: not signalled",
                p.pid,
                crate::sanitize::escape(&p.cmdline.join(" "))
            ));
            continue;
        }
        let mut kids = Vec::new();
        for c in &g.children {
            if lineage.contains(&c.pid) {
                continue;
            }
            if is_openclaw(root, c) {
                kids.push(Ident {
                    pid: c.pid,
                    start: c.start_ticks,
                });
            } else {
                notes.push(format!(
                    "pid {} below the gateway ({}) is not OpenClaw: left running, look at it",
                    c.pid,
                    crate::sanitize::escape(&c.cmdline.join(" "))
                ));
            }
        }
        // The group is signalled only when the gateway leads it and
        // nothing of ours is in it.
        let leader = procfs::stat(root, p.pid).is_some_and(|s| s.pgrp == p.pid)
            && !lineage
                .iter()
                .any(|&l| procfs::stat(root, l).is_some_and(|s| s.pgrp == p.pid));
        out.push((
            Ident {
                pid: p.pid,
                start: p.start_ticks,
            },
            kids,
            leader,
        ));
    }
    out
}

fn supervisor(
    dep: &Deployment,
    disable: bool,
    run: &Run,
    notes: &mut Vec<String>,
) -> Result<Vec<exec::Ran>> {
    let mut ran = Vec::new();
    for s in &dep.runtime.supervisors {
        let cmds: Vec<(&str, Vec<String>)> = match s.kind {
            "systemd-user" | "systemd-system" => {
                let Some(sc) = exec::find_program(&["/usr/bin/systemctl", "/bin/systemctl"]) else {
                    notes.push(format!(
                        "{} {}: systemctl not found; if it restarts the gateway, stop it by hand",
                        s.kind, s.name
                    ));
                    continue;
                };
                let mut base: Vec<String> = Vec::new();
                if s.kind == "systemd-user" {
                    base.push("--user".into());
                    // Root acting on another user's manager: systemctl -M user@.
                    let owner = std::fs::symlink_metadata(&s.path)
                        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
                        .ok();
                    let me = rustix::process::getuid().as_raw();
                    if let Some(uid) = owner.filter(|u| *u != me)
                        && let Some(u) = crate::host::users::users(&Root::new("/"))
                            .into_iter()
                            .find(|u| u.uid == uid)
                    {
                        base.push("-M".into());
                        base.push(format!("{}@", u.name));
                    }
                }
                let mut v = vec![(
                    sc,
                    [base.clone(), vec!["stop".into(), s.name.clone()]].concat(),
                )];
                if disable {
                    v.push((sc, [base, vec!["disable".into(), s.name.clone()]].concat()));
                }
                v
            }
            "launchd" => {
                let Some(lc) = exec::find_program(&["/bin/launchctl"]) else {
                    notes.push(format!(
                        "launchd {}: launchctl not found (not macOS?)",
                        s.name
                    ));
                    continue;
                };
                let uid = rustix::process::getuid().as_raw();
                let mut v = vec![(
                    lc,
                    vec!["bootout".to_string(), format!("gui/{uid}/{}", s.name)],
                )];
                if disable {
                    v.push((
                        lc,
                        vec!["disable".to_string(), format!("gui/{uid}/{}", s.name)],
                    ));
                }
                v
            }
            _ => continue,
        };
        for (prog, args) in cmds {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let r = exec::run(prog, &a, &[], Duration::from_secs(30))?;
            run.event("supervisor", serde_json::to_value(&r)?)?;
            if !r.ok() {
                notes.push(format!("{} {} failed: {}", prog, args.join(" "), r.stderr));
            }
            ran.push(r);
        }
    }
    Ok(ran)
}

/// What still runs, listens or holds a lock.
fn remaining(dep: &Deployment, root: &Root, env: &crate::openclaw::locate::Env) -> (bool, Value) {
    let rt = crate::openclaw::gateway::runtime(&dep.paths, &dep.gateway, env, root);
    let procs: Vec<u32> = rt
        .processes
        .iter()
        .filter(|g| g.owns_lock || rt.listeners.iter().any(|l| l.pid == Some(g.process.pid)))
        .map(|g| g.process.pid)
        .collect();
    let port = dep.gateway.port;
    let lock_port = dep
        .runtime
        .locks
        .iter()
        .find_map(|l| l.port)
        .unwrap_or(port);
    let listeners: Vec<String> = rt
        .listeners
        .iter()
        .filter(|l| l.local_port == port || l.local_port == lock_port)
        .map(|l| format!("{}:{}", l.local, l.local_port))
        .collect();
    let live_locks: Vec<String> = rt
        .locks
        .iter()
        .filter(|l| l.status == "live")
        .map(|l| l.path.display().to_string())
        .collect();
    let clear = procs.is_empty() && listeners.is_empty() && live_locks.is_empty();
    (
        clear,
        json!({"processes": procs, "listeners": listeners, "live_locks": live_locks}),
    )
}

/// A gateway process to stop: who it is, its children, and whether it
/// leads its process group.
type StopTarget = (Ident, Vec<Ident>, bool);

/// Stops the deployment's gateway: snapshot, supervisor, signals, proof.
pub fn stop(
    dep: &Deployment,
    root: &Root,
    env: &crate::openclaw::locate::Env,
    timeout: Duration,
    disable: bool,
    run: &Run,
) -> Result<Report> {
    let mut notes = Vec::new();
    let tg = targets(dep, root, &mut notes);
    if tg.is_empty() {
        let mut r = nothing_to_stop(dep, root, env);
        r.notes.extend(notes);
        return Ok(r);
    }
    // 1. What stopping destroys, journaled before anything is touched.
    pre_stop_snapshot(dep, root, &tg, run)?;
    // Ctrl-C is honoured up to here; from the supervisor on, the stop
    // runs to its end (a gateway left half-stopped is worse than either).
    crate::signal::check()?;
    // 2. The supervisor, so that nothing restarts what we stop.
    let sup = supervisor(dep, disable, run, &mut notes)?;
    // 3. SIGTERM, wait, SIGKILL.
    let signals = terminate(root, &tg, timeout, run, &mut notes)?;
    // 4. Proof: nothing of ours runs, listens, or holds a live lock.
    let mut rem = remaining(dep, root, env);
    let t2 = Instant::now();
    while !rem.0 && t2.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(200));
        rem = remaining(dep, root, env);
    }
    Ok(Report {
        already_stopped: false,
        targets: tg.iter().map(|(i, _, _)| i.pid).collect(),
        supervisor: sup,
        signals,
        stopped: rem.0,
        remaining: rem.1,
        notes,
    })
}

/// No verified gateway process: already stopped, or something that is not
/// ours holds the port or a lock.
fn nothing_to_stop(dep: &Deployment, root: &Root, env: &crate::openclaw::locate::Env) -> Report {
    let mut notes = Vec::new();
    let (clear, rem) = remaining(dep, root, env);
    if !clear {
        notes.push(
            "something holds the gateway's port or a live lock, but it is not a verified OpenClaw process of this deployment: nothing was signalled; look at it by hand".into(),
        );
    }
    Report {
        already_stopped: clear,
        targets: vec![],
        supervisor: vec![],
        signals: vec![],
        stopped: clear,
        remaining: rem,
        notes,
    }
}

/// Journals the processes, their sockets, the locks and supervisors.
fn pre_stop_snapshot(dep: &Deployment, root: &Root, tg: &[StopTarget], run: &Run) -> Result<()> {
    let mut snap = Vec::new();
    for (id, kids, _) in tg {
        let mut doc = crate::evidence::volatile::gateway_process(root, id.pid);
        doc.children = kids
            .iter()
            .map(|k| crate::evidence::volatile::gateway_process(root, k.pid))
            .collect();
        doc.start_time = crate::evidence::volatile::start_time(root, id.start);
        snap.push(doc);
    }
    let owned: Vec<u32> = tg
        .iter()
        .flat_map(|(i, k, _)| std::iter::once(i.pid).chain(k.iter().map(|c| c.pid)))
        .collect();
    let mut socks = procfs::tcp_sockets(root);
    procfs::attach_owners(root, &mut socks, &owned);
    socks.retain(|s| s.pid.is_some());
    let record = PreStopSnapshot {
        processes: snap,
        sockets: serde_json::to_value(&socks)?,
        locks: serde_json::to_value(&dep.runtime.locks)?,
        supervisors: serde_json::to_value(&dep.runtime.supervisors)?,
    };
    run.event("pre-stop snapshot", serde_json::to_value(&record)?)?;
    Ok(())
}

/// SIGTERM to each target (and its group when it leads one), a wait of
/// `timeout`, SIGKILL to what is left, children included.
fn terminate(
    root: &Root,
    tg: &[StopTarget],
    timeout: Duration,
    run: &Run,
    notes: &mut Vec<String>,
) -> Result<Vec<Value>> {
    let mut signals = Vec::new();
    for (id, _, leader) in tg {
        signal(root, *id, false, Signal::TERM, run, &mut signals)?;
        if *leader {
            signal(root, *id, true, Signal::TERM, run, &mut signals)?;
        }
    }
    let t0 = Instant::now();
    let all: Vec<Ident> = tg
        .iter()
        .flat_map(|(i, k, _)| std::iter::once(*i).chain(k.iter().copied()))
        .collect();
    while t0.elapsed() < timeout && tg.iter().any(|(i, _, _)| alive(root, *i)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    for (id, kids, leader) in tg {
        if alive(root, *id) {
            notes.push(format!(
                "pid {} did not exit within {:?}: SIGKILL",
                id.pid, timeout
            ));
            if *leader {
                signal(root, *id, true, Signal::KILL, run, &mut signals)?;
            }
            signal(root, *id, false, Signal::KILL, run, &mut signals)?;
        }
        // Children left behind by a gateway that is gone are ours to end too.
        for k in kids {
            if alive(root, *k) {
                std::thread::sleep(Duration::from_millis(200));
                if alive(root, *k) {
                    signal(root, *k, false, Signal::KILL, run, &mut signals)?;
                }
            }
        }
    }
    let t1 = Instant::now();
    while t1.elapsed() < Duration::from_secs(5) && all.iter().any(|i| alive(root, *i)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(signals)
}
