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

/// The operator's answer when the snapshot cannot say how the gateway ran
/// (`--node`, `--openclaw`): each overrides what the snapshot says.
#[derive(Debug, Clone, Default)]
pub struct StartWith {
    /// The Node binary.
    pub node: Option<PathBuf>,
    /// The openclaw package dir (`…/node_modules/openclaw`) or its entry file.
    pub openclaw: Option<PathBuf>,
}

const PKG: &str = "/node_modules/openclaw";

/// The openclaw package dir a path lies in, if it does.
pub(crate) fn package_of(path: &str) -> Option<PathBuf> {
    let i = path
        .find(&format!("{PKG}/"))
        .or_else(|| path.ends_with(PKG).then(|| path.len() - PKG.len()))?;
    Some(PathBuf::from(&path[..i + PKG.len()]))
}

/// Where the openclaw package was, from every clue the snapshot holds, most
/// direct first: the workers' command lines (2026.9), the process's own
/// (before `process.title` renamed it), its open files, the program the
/// shell ran (`_`, through its symlink), and the supervisor's command.
fn package_from(snap: &PreStopSnapshot) -> Option<PathBuf> {
    let p = snap.processes.first()?;
    let cmdlines = p
        .children
        .iter()
        .chain(std::iter::once(p))
        .filter_map(|x| x.process.as_ref())
        .flat_map(|x| x.cmdline.iter().cloned());
    let open_files = p.open_files.values().cloned();
    let shell_program = p
        .environ
        .iter()
        .filter(|kv| kv.name == "_")
        .filter_map(|kv| kv.value.as_deref())
        .filter_map(|v| std::fs::canonicalize(v).ok())
        .map(|v| v.to_string_lossy().into_owned());
    let supervisor = serde_json::to_string(&snap.supervisors)
        .ok()
        .into_iter()
        .flat_map(|s| {
            s.split(['"', ' ', '='])
                .filter(|w| w.contains(PKG))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
    cmdlines
        .chain(open_files)
        .chain(shell_program)
        .chain(supervisor)
        .find_map(|a| package_of(&a))
}

/// The package that last wrote this deployment's config, from OpenClaw's
/// own `logs/config-audit.jsonl` (each line records the writer's argv):
/// the one clue a 2026.7.1 gateway, retitled and holding nothing open in
/// its package, leaves in its state dir. Newest line first, bounded.
pub(crate) fn package_from_config_audit(state_dir: &Path) -> Option<PathBuf> {
    #[derive(serde::Deserialize)]
    struct Line {
        #[serde(default)]
        argv: Vec<String>,
    }
    let path = state_dir.join("logs/config-audit.jsonl");
    let (f, meta) = crate::safefs::open_regular(&path).ok()?;
    let keep = 1u64 << 20;
    let mut tail = Vec::new();
    std::io::Seek::seek(
        &mut &f,
        std::io::SeekFrom::Start(meta.len().saturating_sub(keep)),
    )
    .ok()?;
    (&f).take(keep).read_to_end(&mut tail).ok()?;
    tail.split(|b| *b == b'\n')
        .rev()
        .filter_map(|l| serde_json::from_slice::<Line>(l).ok())
        .flat_map(|l| l.argv.into_iter().skip(1).take(1))
        .find_map(|a| package_of(&a))
}

/// Whether `pkg` is an openclaw package: a package.json named `openclaw`
/// (a path from the host's own records is never run on its word alone).
pub fn is_openclaw_package(pkg: &Path) -> bool {
    let dir = if pkg.extension().is_some_and(|e| e == "mjs" || e == "js") {
        pkg.parent().unwrap_or(pkg)
    } else {
        pkg
    };
    crate::safefs::read_bounded(&dir.join("package.json"), 1 << 20)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("name").and_then(|n| n.as_str()) == Some("openclaw"))
}

/// The openclaw package the gateway ran from, as far as the case journal's
/// pre-stop snapshot and the state dir say; only a real openclaw package.
pub fn installed_package(dep: &Deployment, journal: &Path) -> Option<PathBuf> {
    let snap = last_snapshot(journal).ok().flatten();
    snap.as_ref()
        .and_then(package_from)
        .or_else(|| package_from_config_audit(&dep.paths.state_dir))
        .filter(|p| is_openclaw_package(p))
}

/// The package's entry script: its `bin` in package.json, else openclaw.mjs.
fn entry_of(pkg: &Path) -> PathBuf {
    // An entry script given directly (`--openclaw …/openclaw.mjs`).
    if pkg.is_file() || pkg.extension().is_some_and(|e| e == "mjs" || e == "js") {
        return pkg.to_path_buf();
    }
    let bin = crate::safefs::read_bounded(&pkg.join("package.json"), 1 << 20)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| match v.get("bin")? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(m) => m
                .get("openclaw")
                .or_else(|| m.values().next())
                .and_then(|b| b.as_str().map(str::to_owned)),
            _ => None,
        });
    pkg.join(bin.unwrap_or_else(|| "openclaw.mjs".into()))
}

fn how_it_ran(snap: &PreStopSnapshot, with: &StartWith, state_dir: &Path) -> Result<HowItRan> {
    let p = snap.processes.first();
    let process = p.and_then(|p| p.process.as_ref());
    let node = with.node.clone().or_else(|| {
        process
            .and_then(|x| x.exe.as_deref())
            .map(|e| PathBuf::from(e.trim_end_matches(" (deleted)")))
    });
    let pkg = with.openclaw.clone().or_else(|| {
        package_from(snap)
            .or_else(|| package_from_config_audit(state_dir))
            .filter(|p| is_openclaw_package(p))
    });
    let (Some(node), Some(pkg)) = (node, pkg) else {
        return Err(crate::exit::hint(
            "the pre-stop snapshot does not say which node and openclaw package ran the gateway",
            "pass --node /path/to/node and --openclaw /path/to/node_modules/openclaw",
        ));
    };
    let env = p
        .into_iter()
        .flat_map(|p| &p.environ)
        .filter_map(|kv| Some((kv.name.clone(), kv.value.clone()?)))
        .filter(|(k, v)| v != "<redacted>" && k != "_")
        .collect();
    Ok(HowItRan {
        node,
        entry: entry_of(&pkg),
        cwd: process.and_then(|x| x.cwd.as_deref()).map(PathBuf::from),
        env,
    })
}

fn start_as_before(
    dep: &Deployment,
    journal: &Path,
    with: &StartWith,
    run: &Run,
) -> Result<String> {
    let snap = last_snapshot(journal)?.context("the case journal holds no pre-stop snapshot to start the gateway from (ir stop records one)")?;
    let HowItRan {
        node: exe,
        entry,
        cwd,
        env,
    } = how_it_ran(&snap, with, &dep.paths.state_dir)?;
    for p in [&exe, &entry] {
        if !p.is_absolute() || !std::fs::metadata(p).is_ok_and(|m| m.is_file()) {
            bail!(
                "{} is gone: cannot start the gateway the way it ran",
                p.display()
            );
        }
    }
    let as_owner = run_as(dep)?;
    let log = gateway_log(dep, as_owner)?;
    let mut c = std::process::Command::new(&exe);
    c.arg(&entry)
        .args(["gateway", "run"])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    if let Some((uid, gid)) = as_owner {
        // std drops the supplementary groups too when it sets the uid.
        std::os::unix::process::CommandExt::uid(&mut c, uid);
        std::os::unix::process::CommandExt::gid(&mut c, gid);
    }
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
        json!({"how": how, "as_uid": as_owner.map(|o| o.0), "env_names": env.iter().map(|(k, _)| k).collect::<Vec<_>>()}),
    )?;
    Ok(how)
}

/// Whom the gateway runs as when `ir` (as root) starts it: the owner of
/// the state dir, as OpenClaw ran, never root. A package found through the
/// host's own records then runs with no more rights than the account that
/// could already change it. `None` when `ir` is not root or the owner is.
fn run_as(dep: &Deployment) -> Result<Option<(u32, u32)>> {
    use std::os::unix::fs::MetadataExt;
    let Some(m) = crate::safefs::lstat(&dep.paths.state_dir)? else {
        return Ok(None);
    };
    Ok((rustix::process::geteuid().is_root() && m.uid() != 0).then(|| (m.uid(), m.gid())))
}

/// `$STATE/logs/gateway.log`, opened for append without following a link;
/// what `ir` creates there belongs to the account the gateway runs as.
fn gateway_log(dep: &Deployment, owner: Option<(u32, u32)>) -> Result<std::fs::File> {
    let logs = dep.paths.state_dir.join("logs");
    let created = crate::safefs::lstat(&logs)?.is_none();
    crate::safefs::ensure_private_dir(&logs)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .mode(0o600)
        .open(logs.join("gateway.log"))?;
    if let Some((uid, gid)) = owner {
        let (u, g) = (
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        );
        if created {
            rustix::fs::chownat(
                rustix::fs::CWD,
                &logs,
                u,
                g,
                rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
            )?;
        }
        rustix::fs::fchown(&log, u, g)?;
    }
    Ok(log)
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
    start: Option<&StartWith>,
    force: bool,
    run: &Run,
) -> Result<Report> {
    let dep = crate::openclaw::discover(target)?;
    let mut r = Report::default();
    if !dep.runtime.running {
        neutralise_resumes(&dep, &target.root, start.is_some(), force, run, &mut r)?;
    } else {
        // A running gateway has already resumed what it would; its stores
        // are its own. Said, never skipped in silence.
        r.todo.push(
            "the gateway is running, so what it resumes on start was not looked at: ir stop, then ir recover".into(),
        );
    }
    check_prompt_files(&dep, &target.root, start.is_some(), force, run, &mut r)?;
    r.fixes = audit::fix(&dep, run)?;
    let dep = crate::openclaw::discover(target)?;
    if let Some(with) = start {
        start_and_watch(&dep, target, with, run, &mut r)?;
    }
    let dep = crate::openclaw::discover(target)?;
    r.findings = audit::audit(&dep)?;
    r.post_audit = case_dir.join("post-incident-audit.json");
    let doc = json!({"created": crate::journal::now_rfc3339(), "state_dir": crate::sanitize::escape_path(&dep.paths.state_dir), "version": dep.layout.version, "findings": r.findings});
    crate::safefs::write_atomic(&r.post_audit, &serde_json::to_vec_pretty(&doc)?, 0o600)?;
    let left = what_is_left(&dep, start.is_some(), &r);
    r.todo.extend(left);
    Ok(r)
}

/// Before any start: what OpenClaw would resume or retry on its own (the
/// attacker's interrupted turn above all) is neutralised behind the
/// evidence gate. With `--start`, a store `ir` cannot read, or a gate that
/// refuses, refuses the start naming what would resume; without it, they
/// become to-do items.
fn neutralise_resumes(
    dep: &Deployment,
    root: &crate::host::Root,
    start: bool,
    force: bool,
    run: &Run,
    r: &mut Report,
) -> Result<()> {
    let items = match super::resume::find(dep, root) {
        Ok(items) => items,
        Err(e) if start && !force => {
            return Err(crate::exit::Refused(format!(
                "{e:#}: ir cannot tell whether the gateway would replay an interrupted turn, so it does not start it. Run `ir clear-sessions`, or --force (journaled)"
            ))
            .into());
        }
        Err(e) => {
            r.todo.push(format!(
                "{e:#}: check by hand that no session is left running before a start"
            ));
            return Ok(());
        }
    };
    // What ir only names (a declared job's catch-up, a layout it does not
    // edit) goes to the to-do and needs no gate.
    let (items, named_only): (Vec<_>, Vec<_>) = items.into_iter().partition(|i| i.changed_by_ir());
    for i in &named_only {
        r.todo.push(format!(
            "{} {} in {}: {}",
            i.kind.as_str(),
            crate::sanitize::escape(&i.key),
            i.store,
            i.note.as_deref().unwrap_or_default()
        ));
    }
    if items.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = items
        .iter()
        .take(10)
        .map(|i| format!("{} {} in {}", i.kind.as_str(), i.key, i.store))
        .collect();
    let paths = super::resume::gate_paths(&items, root);
    let gate = super::gate::require(
        run.journal().path(),
        &paths,
        force,
        "neutralising what OpenClaw would resume on start",
    );
    match gate {
        Ok((_, forced)) => {
            if !forced.is_empty() {
                run.event("forced", json!({"uncovered": forced}))?;
            }
            super::resume::neutralise(&items, run)?;
            r.neutralised = items;
            Ok(())
        }
        Err(e) if !start => {
            r.todo.push(format!(
                "OpenClaw would resume {} on start ({e:#}): run ir collect, then ir recover",
                named.join("; ")
            ));
            Ok(())
        }
        Err(e) => Err(e.context(format!(
            "OpenClaw would resume {} on start, replaying what it was doing when it was stopped",
            named.join("; ")
        ))),
    }
}

/// No start on a poisoned prompt file: every new session would load it
/// into its system prompt. With `--start` it refuses (unless `--force`,
/// journaled), naming each file and the command that restores it; without,
/// each becomes a to-do item.
fn check_prompt_files(
    dep: &Deployment,
    root: &crate::host::Root,
    start: bool,
    force: bool,
    run: &Run,
    r: &mut Report,
) -> Result<()> {
    let poisoned = super::prompts::poisoned(dep, root);
    if poisoned.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = poisoned
        .iter()
        .map(|p| format!("{} [{}]: {}", p.path, p.flags.join(", "), p.fix))
        .collect();
    if start && !force {
        return Err(crate::exit::Refused(format!(
            "recover --start refused: every new session would load a poisoned prompt file: {}. Restore each as shown (or quarantine it), or --force (journaled)",
            named.join("; ")
        ))
        .into());
    }
    if start {
        run.event("forced", json!({"poisoned_prompt_files": poisoned}))?;
    }
    r.todo.extend(
        named
            .into_iter()
            .map(|n| format!("poisoned prompt file {n}")),
    );
    Ok(())
}

/// Starts the gateway (through its supervisor, else as it ran before),
/// waits for `/healthz` and checks where it listens. Ctrl-C stops the wait
/// only: the gateway is started by then.
fn start_and_watch(
    dep: &Deployment,
    target: &crate::openclaw::Target,
    with: &StartWith,
    run: &Run,
    r: &mut Report,
) -> Result<()> {
    if dep.runtime.running {
        r.started = Some("already running".into());
    } else {
        crate::signal::check()?;
        let how = match start_supervised(dep, run)? {
            Some(h) => h,
            None => start_as_before(dep, run.journal().path(), with, run)?,
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

#[cfg(test)]
mod start_tests {
    use super::*;
    use crate::host::procfs::Process;
    use crate::record::{EnvVar, GatewayProcessRecord};

    fn gateway(cmdline: &[&str], env: &[(&str, &str)], fds: &[&str]) -> PreStopSnapshot {
        let process = Process {
            pid: 4242,
            ppid: 1,
            pgrp: 4242,
            comm: "openclaw-gatewa".into(),
            start_ticks: 1,
            uid: Some(1000),
            cmdline: cmdline.iter().map(|s| s.to_string()).collect(),
            exe: Some("/opt/node/bin/node".into()),
            exe_deleted: false,
            cwd: Some("/home/alice".into()),
        };
        PreStopSnapshot {
            processes: vec![GatewayProcessRecord {
                pid: 4242,
                process: Some(process),
                environ: env
                    .iter()
                    .map(|(k, v)| EnvVar {
                        name: k.to_string(),
                        value: Some(v.to_string()),
                    })
                    .collect(),
                open_files: fds
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (i.to_string(), f.to_string()))
                    .collect(),
                cgroup: None,
                status: None,
                children: Vec::new(),
                start_time: None,
            }],
            sockets: serde_json::Value::Null,
            locks: serde_json::Value::Null,
            supervisors: serde_json::Value::Null,
        }
    }

    /// A gateway retitled `openclaw-gateway` with no workers: the package
    /// is found from what it holds open.
    #[test]
    fn a_retitled_gateway_is_found_from_its_open_files() {
        let snap = gateway(
            &["openclaw-gateway"],
            &[("HOME", "/home/alice")],
            &["/dev/null", "/usr/lib/node_modules/openclaw/dist/index.js"],
        );
        assert_eq!(
            package_from(&snap),
            Some(PathBuf::from("/usr/lib/node_modules/openclaw"))
        );
    }

    /// What OpenClaw's config audit log records is a clue, but only a
    /// real openclaw package is ever run.
    #[test]
    fn the_config_audit_log_names_the_package_that_wrote_the_config() {
        let d = tempfile::tempdir().unwrap();
        let pkg = d.path().join("lib/node_modules/openclaw");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::create_dir_all(d.path().join("state/logs")).unwrap();
        let argv = format!("{}/openclaw.mjs", pkg.display());
        std::fs::write(
            d.path().join("state/logs/config-audit.jsonl"),
            format!("{{\"argv\":[\"/n/node\",\"{argv}\",\"onboard\"]}}\nnot json\n"),
        )
        .unwrap();
        let snap = gateway(&["openclaw-gateway"], &[], &[]);
        let state = d.path().join("state");
        assert!(
            how_it_ran(&snap, &StartWith::default(), &state).is_err(),
            "no package.json"
        );
        std::fs::write(
            pkg.join("package.json"),
            r#"{"name":"openclaw","bin":{"openclaw":"openclaw.mjs"}}"#,
        )
        .unwrap();
        let how = how_it_ran(&snap, &StartWith::default(), &state).unwrap();
        assert_eq!(how.entry, pkg.join("openclaw.mjs"));
    }

    #[test]
    fn the_shell_program_and_the_supervisor_are_clues_too() {
        let mut snap = gateway(&["openclaw-gateway"], &[], &[]);
        snap.supervisors = serde_json::json!([{"exec_start": "/usr/bin/node /srv/app/node_modules/openclaw/openclaw.mjs gateway run"}]);
        assert_eq!(
            package_from(&snap),
            Some(PathBuf::from("/srv/app/node_modules/openclaw"))
        );
    }

    #[test]
    fn nothing_to_go_on_names_the_flags_and_flags_win() {
        let snap = gateway(&["openclaw-gateway"], &[], &[]);
        let none = tempfile::tempdir().unwrap();
        let err = how_it_ran(&snap, &StartWith::default(), none.path())
            .err()
            .unwrap();
        assert_eq!(
            crate::exit::fix_of(&err),
            Some("pass --node /path/to/node and --openclaw /path/to/node_modules/openclaw")
        );
        let with = StartWith {
            node: Some("/n/node".into()),
            openclaw: Some("/p/node_modules/openclaw/openclaw.mjs".into()),
        };
        let how = how_it_ran(&snap, &with, none.path()).unwrap();
        assert_eq!(how.node, PathBuf::from("/n/node"));
        assert_eq!(
            how.entry,
            PathBuf::from("/p/node_modules/openclaw/openclaw.mjs")
        );
    }
}
