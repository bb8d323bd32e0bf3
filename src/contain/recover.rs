//! `ir recover`: the way back to service. Safe fixes, then (with `--start`)
//! the gateway started again through its supervisor, or the way it ran
//! before `ir stop` recorded it, then proof that it is healthy and listens
//! only where the config says, a post-incident audit, and what is left to do.
//!
//! "The way it ran before" comes from the journal's pre-stop snapshot: the
//! absolute path of the Node binary that ran the gateway, the OpenClaw
//! package its workers ran from, its working directory and its environment
//! (secret values were never recorded, so they are not restored). Nothing is
//! looked up through `PATH`.

use super::audit;
use crate::case::Run;
use crate::host::exec;
use crate::openclaw::Deployment;
use crate::record::PreStopSnapshot;
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What `ir recover` did and found: the record it journals.
pub use crate::record::RecoverRecord as Report;

/// The last pre-stop snapshot the case journal holds; an error names
/// the entry when it does not parse.
fn last_snapshot(journal: &Path) -> Result<Option<PreStopSnapshot>> {
    let entries = crate::journal::read_entries(journal)?;
    let Some((seq, ev)) = entries.iter().rev().find_map(|e| {
        e.event()
            .filter(|ev| ev.event == "pre-stop snapshot")
            .map(|ev| (e.seq, ev))
    }) else {
        return Ok(None);
    };
    crate::record::details_as(Some(&ev.details), "pre-stop snapshot", seq).map(Some)
}

/// How the gateway ran, from a pre-stop snapshot.
struct HowItRan {
    node: PathBuf,
    entry: PathBuf,
    cwd: Option<PathBuf>,
    env: Vec<(String, String)>,
}

fn how_it_ran(snap: &PreStopSnapshot) -> Option<HowItRan> {
    let p = snap.processes.first()?;
    let process = p.process.as_ref()?;
    let exe = PathBuf::from(process.exe.as_deref()?.trim_end_matches(" (deleted)"));
    // The workers run from <package>/dist/...: the package root holds openclaw.mjs.
    let pkg = p
        .children
        .iter()
        .filter_map(|c| c.process.as_ref())
        .flat_map(|c| &c.cmdline)
        .filter_map(|a| {
            a.find("/node_modules/openclaw/")
                .map(|i| PathBuf::from(&a[..i + "/node_modules/openclaw".len()]))
        })
        .next_back();
    let entry = pkg?.join("openclaw.mjs");
    let env = p
        .environ
        .iter()
        .filter_map(|kv| Some((kv.name.clone(), kv.value.clone()?)))
        .filter(|(_, v)| v != "<redacted>")
        .collect();
    Some(HowItRan {
        node: exe,
        entry,
        cwd: process.cwd.as_deref().map(PathBuf::from),
        env,
    })
}

fn start_as_before(dep: &Deployment, journal: &Path, run: &Run) -> Result<String> {
    let snap = last_snapshot(journal)?.context("the case journal holds no pre-stop snapshot to start the gateway from (ir stop records one)")?;
    let HowItRan {
        node: exe,
        entry,
        cwd,
        env,
    } = how_it_ran(&snap).context(
        "the pre-stop snapshot does not say which node and openclaw package ran the gateway",
    )?;
    for p in [&exe, &entry] {
        if !p.is_absolute() || !std::fs::metadata(p).is_ok_and(|m| m.is_file()) {
            bail!(
                "{} is gone: cannot start the gateway the way it ran",
                p.display()
            );
        }
    }
    let logs = dep.paths.state_dir.join("logs");
    crate::safefs::ensure_private_dir(&logs)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .mode(0o600)
        .open(logs.join("gateway.log"))?;
    let mut c = std::process::Command::new(&exe);
    c.arg(&entry)
        .args(["gateway", "run"])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    if let Some(d) = cwd.filter(|d| d.is_dir()) {
        c.current_dir(d);
    }
    std::os::unix::process::CommandExt::process_group(&mut c, 0);
    let child = c
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {} {} gateway run", exe.display(), entry.display()))?;
    let how = format!(
        "{} {} gateway run (pid {})",
        exe.display(),
        entry.display(),
        child.id()
    );
    run.event(
        "start",
        json!({"how": how, "env_names": env.iter().map(|(k, _)| k).collect::<Vec<_>>()}),
    )?;
    Ok(how)
}

fn start_supervised(dep: &Deployment, run: &Run) -> Result<Option<String>> {
    for s in &dep.runtime.supervisors {
        if s.kind.starts_with("systemd") {
            let Some(sc) = exec::find_program(&["/usr/bin/systemctl", "/bin/systemctl"]) else {
                continue;
            };
            let user = s.kind == "systemd-user";
            for verb in ["enable", "start"] {
                let mut args: Vec<&str> = Vec::new();
                if user {
                    args.push("--user");
                }
                args.extend([verb, s.name.as_str()]);
                let r = exec::run(sc, &args, &[], Duration::from_secs(60))?;
                run.event("supervisor", serde_json::to_value(&r)?)?;
                if !r.ok() {
                    bail!("{sc} {} failed: {}", args.join(" "), r.stderr);
                }
            }
            return Ok(Some(format!("systemd unit {}", s.name)));
        }
        if s.kind == "launchd"
            && let Some(lc) = exec::find_program(&["/bin/launchctl"])
        {
            let uid = rustix::process::getuid().as_raw();
            let domain = format!("gui/{uid}");
            let path = s.path.display().to_string();
            for args in [
                vec!["enable", &format!("{domain}/{}", s.name)][..].to_vec(),
                vec!["bootstrap", &domain, &path],
            ] {
                let a: Vec<&str> = args.iter().map(|x| x.as_ref()).collect();
                let r = exec::run(lc, &a, &[], Duration::from_secs(60))?;
                run.event("supervisor", serde_json::to_value(&r)?)?;
            }
            return Ok(Some(format!("launchd job {}", s.name)));
        }
    }
    Ok(None)
}

fn healthz(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_secs(2),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let _ = s.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut buf = Vec::new();
    let _ = (&mut s).take(4096).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).contains("\"ok\":true")
}

use std::os::unix::fs::OpenOptionsExt;

/// Fixes, optionally starts, audits again, writes the post-incident audit.
pub fn recover(
    target: &crate::openclaw::Target,
    case_dir: &Path,
    start: bool,
    run: &Run,
) -> Result<Report> {
    let dep = crate::openclaw::discover(target)?;
    let mut r = Report {
        fixes: audit::fix(&dep, run)?,
        ..Report::default()
    };
    let dep = crate::openclaw::discover(target)?;
    if start {
        start_and_watch(&dep, target, run, &mut r)?;
    }
    let dep = crate::openclaw::discover(target)?;
    r.findings = audit::audit(&dep)?;
    r.post_audit = case_dir.join("post-incident-audit.json");
    let doc = json!({"created": crate::journal::now_rfc3339(), "state_dir": crate::sanitize::escape_path(&dep.paths.state_dir), "version": dep.layout.version, "findings": r.findings});
    crate::safefs::write_atomic(&r.post_audit, &serde_json::to_vec_pretty(&doc)?, 0o600)?;
    r.todo = what_is_left(&dep, start, &r);
    Ok(r)
}

/// Starts the gateway (through its supervisor, else as it ran before),
/// waits for `/healthz` and checks where it listens. Ctrl-C stops the wait
/// only: the gateway is started by then.
fn start_and_watch(
    dep: &Deployment,
    target: &crate::openclaw::Target,
    run: &Run,
    r: &mut Report,
) -> Result<()> {
    if dep.runtime.running {
        r.started = Some("already running".into());
    } else {
        crate::signal::check()?;
        let how = match start_supervised(dep, run)? {
            Some(h) => h,
            None => start_as_before(dep, run.journal().path(), run)?,
        };
        r.started = Some(how);
    }
    let port = dep.gateway.port;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(120) && !crate::signal::interrupted() && !healthz(port)
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    r.healthy = Some(healthz(port));
    let after = crate::openclaw::discover(target)?;
    let ours = || {
        after
            .runtime
            .listeners
            .iter()
            .filter(|l| l.local_port == port)
    };
    r.listeners = ours()
        .map(|l| std::net::SocketAddr::new(l.local, l.local_port).to_string())
        .collect();
    let loopback_only = ours().all(|l| l.local.is_loopback());
    r.listening_as_configured = Some(match dep.gateway.bind.as_str() {
        "loopback" => loopback_only && !r.listeners.is_empty(),
        _ => !r.listeners.is_empty(),
    });
    run.event("health", json!({"healthy": r.healthy, "listeners": r.listeners, "as_configured": r.listening_as_configured}))?;
    Ok(())
}

/// What the operator still has to do.
fn what_is_left(dep: &Deployment, start: bool, r: &Report) -> Vec<String> {
    let mut todo = Vec::new();
    let creds = super::rotate::provider_credentials(dep);
    if !creds.is_empty() {
        todo.push(format!("revoke {} provider/channel credential(s) at their provider (ir rotate lists them by fingerprint)", creds.len()));
    }
    match &dep.layout.version {
        Some(v) if !crate::openclaw::layout::version_at_least(v, audit::FIXED_CVE_2026_25253) => {
            todo.push(format!("update openclaw from {v} to {} or later (CVE-2026-25253), then rotate the token again", audit::FIXED_CVE_2026_25253));
        }
        Some(v) => todo.push(format!(
            "openclaw {v}: check npm for a newer release and update"
        )),
        None => todo.push("the OpenClaw version is unknown: check it and update".into()),
    }
    for f in r
        .findings
        .iter()
        .filter(|f| f.severity != crate::record::Severity::Info && !f.fixable)
    {
        todo.push(format!("{}: {} ({})", f.id, f.title, f.fix));
    }
    if start && r.healthy != Some(true) {
        todo.push("the gateway did not answer /healthz: look at $STATE/logs/gateway.log".into());
    }
    if r.listening_as_configured == Some(false) {
        todo.push(format!(
            "the gateway listens on {:?}, not only where gateway.bind={} says",
            r.listeners, dep.gateway.bind
        ));
    }
    todo
}
