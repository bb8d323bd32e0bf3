//! The volatile state that stopping the gateway destroys, captured first
//! (RFC 3227): processes, sockets, the system, and each gateway process's
//! environment (secret values redacted) and open files.

use crate::host::Root;
use crate::host::procfs::{self, Socket};
use crate::openclaw::Deployment;
use crate::record::{EnvVar, GatewayProcessRecord};
use crate::safefs::read_pseudo;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Environment variable names whose values are never recorded.
pub fn is_secret_env(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "AUTH",
    ]
    .iter()
    .any(|w| n.contains(w))
}

fn clock_ticks() -> u64 {
    rustix::param::clock_ticks_per_second().max(1)
}

/// Boot time in seconds since the epoch, from `/proc/stat`'s `btime`.
pub fn boot_time(root: &Root) -> Option<i64> {
    let s = read_pseudo(&root.join("/proc/stat"), 1 << 20).ok()?;
    String::from_utf8_lossy(&s)
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// A process start time (clock ticks after boot) as RFC 3339 UTC.
pub fn start_time(root: &Root, ticks: u64) -> Option<String> {
    let boot = boot_time(root)?;
    let hz = clock_ticks();
    let secs = boot + (ticks / hz) as i64;
    let ns = ((ticks % hz) * 1_000_000_000 / hz) as u32;
    chrono::DateTime::from_timestamp(secs, ns)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
}

/// Every process with what `/proc` shows of it.
pub fn processes(root: &Root) -> Value {
    let list: Vec<Value> = procfs::processes(root)
        .into_iter()
        .map(|p| {
            json!({
                "pid": p.pid, "ppid": p.ppid, "pgrp": p.pgrp, "uid": p.uid,
                "comm": p.comm, "cmdline": p.cmdline,
                "exe": p.exe, "exe_deleted": p.exe_deleted, "cwd": p.cwd,
                "start_ticks": p.start_ticks, "start_time": start_time(root, p.start_ticks),
                "fds": procfs::fd_count(root, p.pid),
            })
        })
        .collect();
    json!({"captured_at": crate::journal::now_rfc3339(), "processes": list})
}

/// TCP and UDP sockets, listening and connected, with owning pids.
pub fn sockets(root: &Root) -> Value {
    let mut socks: Vec<Socket> = procfs::tcp_sockets(root);
    for (file, proto) in [("udp", "udp"), ("udp6", "udp6")] {
        if let Ok(b) = read_pseudo(&root.join("/proc/net").join(file), 16 << 20) {
            let mut u = procfs::parse_net_tcp(&String::from_utf8_lossy(&b), proto);
            for s in &mut u {
                // UDP reuses the TCP state numbers; 07 means unconnected.
                if s.state == "CLOSE" {
                    s.state = "UNCONN";
                }
            }
            socks.extend(u);
        }
    }
    let pids = procfs::pids(root);
    procfs::attach_owners(root, &mut socks, &pids);
    json!({"captured_at": crate::journal::now_rfc3339(), "sockets": socks})
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    crate::sanitize::escape_bytes(&b[..end])
}

/// Logged-in users from a utmp file (glibc x86_64/aarch64 layout, 384-byte
/// records; only USER_PROCESS records).
pub fn parse_utmp(data: &[u8]) -> Vec<Value> {
    data.chunks_exact(384)
        .filter(|r| i16::from_le_bytes([r[0], r[1]]) == 7)
        .map(|r| {
            let secs = i32::from_le_bytes(r[340..344].try_into().unwrap_or([0; 4]));
            json!({
                "user": cstr(&r[44..76]),
                "line": cstr(&r[8..40]),
                "host": cstr(&r[76..332]),
                "pid": i32::from_le_bytes(r[4..8].try_into().unwrap_or([0; 4])),
                "since": chrono::DateTime::from_timestamp(i64::from(secs), 0).map(|t| t.to_rfc3339()),
            })
        })
        .collect()
}

/// The system: clock, time zone, uptime, boot id, users, kernel.
pub fn system(root: &Root) -> Value {
    let text = |p: &str| {
        read_pseudo(&root.join(p), 64 * 1024)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
    };
    let utmp = ["/run/utmp", "/var/run/utmp"]
        .iter()
        .find_map(|p| crate::safefs::read_bounded(&root.join(p), 4 << 20).ok())
        .map(|b| parse_utmp(&b))
        .unwrap_or_default();
    let tz_link = std::fs::read_link(root.join("/etc/localtime"))
        .ok()
        .map(|p| crate::sanitize::escape_path(&p));
    let un = rustix::system::uname();
    json!({
        "clock_utc": crate::journal::now_rfc3339(),
        "clock_local": chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, false),
        "timezone": {"TZ": std::env::var("TZ").ok(), "etc_timezone": text("/etc/timezone"), "localtime_link": tz_link},
        "uptime": text("/proc/uptime"),
        "boot_id": text("/proc/sys/kernel/random/boot_id"),
        "boot_time": boot_time(root),
        "hostname": un.nodename().to_string_lossy(),
        "kernel": format!("{} {} {}", un.sysname().to_string_lossy(), un.release().to_string_lossy(), un.version().to_string_lossy()),
        "logged_in": utmp,
        "ir_version": env!("CARGO_PKG_VERSION"),
        "live": root.is_live(),
    })
}

/// One gateway process: environment (secrets redacted), open files, maps.
pub fn gateway_process(root: &Root, pid: u32) -> GatewayProcessRecord {
    let dir = root.join(format!("/proc/{pid}"));
    let environ: Vec<EnvVar> = read_pseudo(&dir.join("environ"), 1 << 20)
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let kv = String::from_utf8_lossy(kv);
                    match kv.split_once('=') {
                        Some((k, _)) if is_secret_env(k) => EnvVar {
                            name: k.to_string(),
                            value: Some("<redacted>".into()),
                        },
                        Some((k, v)) => EnvVar {
                            name: k.to_string(),
                            value: Some(v.to_string()),
                        },
                        None => EnvVar {
                            name: kv.to_string(),
                            value: None,
                        },
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut fds: Vec<(u64, String)> = std::fs::read_dir(dir.join("fd"))
        .map(|rd| {
            rd.flatten()
                .take(65_536)
                .filter_map(|e| {
                    let n: u64 = e.file_name().to_str()?.parse().ok()?;
                    let t = std::fs::read_link(e.path()).ok()?;
                    Some((n, crate::sanitize::escape_path(&t)))
                })
                .collect()
        })
        .unwrap_or_default();
    fds.sort();
    let fds: BTreeMap<String, String> = fds.into_iter().map(|(n, t)| (n.to_string(), t)).collect();
    let text = |name: &str| {
        read_pseudo(&dir.join(name), 64 * 1024)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    GatewayProcessRecord {
        pid,
        process: procfs::process(root, pid),
        environ,
        open_files: fds,
        cgroup: text("cgroup"),
        status: text("status"),
        children: Vec::new(),
        start_time: None,
    }
}

fn to_value(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Every volatile document, named as it goes into the bundle.
pub fn capture(root: &Root, dep: &Deployment) -> Vec<(String, Value)> {
    let mut out = vec![
        ("system.json".to_string(), system(root)),
        ("processes.json".to_string(), processes(root)),
        ("sockets.json".to_string(), sockets(root)),
    ];
    for gp in &dep.runtime.processes {
        out.push((
            format!("gateway-{}.json", gp.process.pid),
            to_value(&gateway_process(root, gp.process.pid)),
        ));
        for c in &gp.children {
            out.push((
                format!("gateway-{}-child-{}.json", gp.process.pid, c.pid),
                to_value(&gateway_process(root, c.pid)),
            ));
        }
    }
    out.push((
        "deployment.json".to_string(),
        serde_json::to_value(dep).unwrap_or(Value::Null),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn secret_env_names() {
        assert!(is_secret_env("OPENCLAW_GATEWAY_TOKEN"));
        assert!(is_secret_env("anthropic_api_key"));
        assert!(!is_secret_env("HOME"));
    }

    proptest! {
        #[test]
        fn utmp_parser_never_panics(b in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = parse_utmp(&b);
        }
    }
}
