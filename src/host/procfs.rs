//! Processes and sockets, read from `/proc` under the host root.
//!
//! Written by hand rather than with a procfs crate so that every read is
//! bounded, nothing follows symlinks, and tests can plant a fake `/proc`
//! under `--root`. A process can vanish between two reads; every function
//! here treats that as "gone", never as an error.

use super::Root;
use crate::safefs::read_pseudo;
use serde::Serialize;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// Cap on any single `/proc` file we read.
const PROC_READ_MAX: u64 = 256 * 1024;
/// Cap on the number of fds inspected per process.
const FD_SCAN_MAX: usize = 65_536;

/// One process, as far as `/proc` told us.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Process {
    pub pid: u32,
    pub ppid: u32,
    pub pgrp: u32,
    /// `comm` (at most 15 bytes, set by `prctl`/process.title).
    pub comm: String,
    /// Start time after boot, in clock ticks (field 22 of `stat`).
    pub start_ticks: u64,
    pub uid: Option<u32>,
    pub cmdline: Vec<String>,
    pub exe: Option<String>,
    pub exe_deleted: bool,
    pub cwd: Option<String>,
}

fn proc_dir(root: &Root) -> PathBuf {
    root.join("/proc")
}

/// Parsed fields of `/proc/<pid>/stat`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    pub comm: String,
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    pub start_ticks: u64,
}

/// Parses `/proc/<pid>/stat`. The comm field may itself hold spaces and
/// parentheses, so it is delimited by the first `(` and the *last* `)`.
pub fn parse_stat(s: &str) -> Option<Stat> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    if close < open {
        return None;
    }
    let comm = s[open + 1..close].to_string();
    let rest: Vec<&str> = s[close + 1..].split_whitespace().collect();
    // rest[0] is field 3 (state); field N is rest[N - 3].
    Some(Stat {
        comm,
        state: rest.first()?.chars().next()?,
        ppid: rest.get(1)?.parse().ok()?,
        pgrp: rest.get(2)?.parse().ok()?,
        start_ticks: rest.get(19)?.parse().ok()?,
    })
}

/// Reads `/proc/<pid>/stat`, `None` if the process is gone or unreadable.
pub fn stat(root: &Root, pid: u32) -> Option<Stat> {
    let raw = read_pseudo(&proc_dir(root).join(pid.to_string()).join("stat"), 4096).ok()?;
    parse_stat(&String::from_utf8_lossy(&raw))
}

fn read_link_string(p: PathBuf) -> Option<String> {
    std::fs::read_link(p)
        .ok()
        .map(|t| crate::sanitize::escape_path(&t))
}

/// Reads what `/proc` says about one process.
pub fn process(root: &Root, pid: u32) -> Option<Process> {
    let dir = proc_dir(root).join(pid.to_string());
    let st = stat(root, pid)?;
    let uid = read_pseudo(&dir.join("status"), PROC_READ_MAX)
        .ok()
        .and_then(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        });
    let cmdline = read_pseudo(&dir.join("cmdline"), PROC_READ_MAX)
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let exe = read_link_string(dir.join("exe"));
    let exe_deleted = exe.as_deref().is_some_and(|e| e.ends_with(" (deleted)"));
    Some(Process {
        pid,
        ppid: st.ppid,
        pgrp: st.pgrp,
        comm: st.comm,
        start_ticks: st.start_ticks,
        uid,
        cmdline,
        exe,
        exe_deleted,
        cwd: read_link_string(dir.join("cwd")),
    })
}

/// The pids currently in `/proc`.
pub fn pids(root: &Root) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir(proc_dir(root)) else {
        return Vec::new();
    };
    let mut v: Vec<u32> = rd
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

/// Every process we can read.
pub fn processes(root: &Root) -> Vec<Process> {
    pids(root)
        .into_iter()
        .filter_map(|p| process(root, p))
        .collect()
}

/// The socket inodes a process holds open (`socket:[N]` fd links).
pub fn socket_inodes(root: &Root, pid: u32) -> Vec<u64> {
    let dir = proc_dir(root).join(pid.to_string()).join("fd");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.take(FD_SCAN_MAX)
        .filter_map(|e| {
            let t = std::fs::read_link(e.ok()?.path()).ok()?;
            let t = t.to_str()?;
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// Number of open fds of a process, if readable.
pub fn fd_count(root: &Root, pid: u32) -> Option<usize> {
    let rd = std::fs::read_dir(proc_dir(root).join(pid.to_string()).join("fd")).ok()?;
    Some(rd.take(FD_SCAN_MAX).count())
}

/// One TCP socket from `/proc/net/tcp{,6}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Socket {
    pub proto: &'static str,
    pub local: IpAddr,
    pub local_port: u16,
    pub remote: IpAddr,
    pub remote_port: u16,
    pub state: &'static str,
    pub uid: u32,
    pub inode: u64,
    /// Filled by [`attach_owners`] when the owning process is visible.
    pub pid: Option<u32>,
}

fn tcp_state(code: u8) -> &'static str {
    match code {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// Parses an `ADDR:PORT` field of `/proc/net/tcp{,6}`: the address is the
/// kernel's in-memory words printed in hex, so each 32-bit word is
/// little-endian on the machines we run on.
fn parse_addr(field: &str) -> Option<(IpAddr, u16)> {
    let (a, p) = field.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let ip = match a.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(a, 16).ok()?.to_le_bytes(),
        )),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                let w = u32::from_str_radix(&a[i * 8..i * 8 + 8], 16).ok()?;
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// Parses the text of `/proc/net/tcp` or `/proc/net/tcp6`.
pub fn parse_net_tcp(text: &str, proto: &'static str) -> Vec<Socket> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (local, local_port) = parse_addr(f.get(1)?)?;
            let (remote, remote_port) = parse_addr(f.get(2)?)?;
            Some(Socket {
                proto,
                local,
                local_port,
                remote,
                remote_port,
                state: tcp_state(u8::from_str_radix(f.get(3)?, 16).ok()?),
                uid: f.get(7)?.parse().ok()?,
                inode: f.get(9)?.parse().ok()?,
                pid: None,
            })
        })
        .collect()
}

/// All TCP sockets (IPv4 and IPv6) in the network namespace of `/proc/net`.
pub fn tcp_sockets(root: &Root) -> Vec<Socket> {
    let mut out = Vec::new();
    for (file, proto) in [("tcp", "tcp"), ("tcp6", "tcp6")] {
        if let Ok(b) = read_pseudo(&proc_dir(root).join("net").join(file), 16 << 20) {
            out.extend(parse_net_tcp(&String::from_utf8_lossy(&b), proto));
        }
    }
    out
}

/// Fills `pid` on each socket whose inode one of `pids` holds.
pub fn attach_owners(root: &Root, sockets: &mut [Socket], pids: &[u32]) {
    let mut owner: HashMap<u64, u32> = HashMap::new();
    for &pid in pids {
        for ino in socket_inodes(root, pid) {
            owner.entry(ino).or_insert(pid);
        }
    }
    for s in sockets {
        s.pid = owner.get(&s.inode).copied();
    }
}

/// The pid's descendants, breadth first, from a process list.
pub fn descendants(all: &[Process], pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for c in all.iter().filter(|c| c.ppid == p && c.pid != p) {
            if !out.contains(&c.pid) {
                out.push(c.pid);
                frontier.push(c.pid);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stat_with_hostile_comm() {
        let s =
            "4787 (openclaw) (x) S 1 4787 4787 0 -1 4194560 1 0 0 0 1 1 0 0 20 0 11 0 16824 1 1";
        let st = parse_stat(s).unwrap();
        assert_eq!(st.comm, "openclaw) (x");
        assert_eq!(st.ppid, 1);
        assert_eq!(st.start_ticks, 16824);
    }

    #[test]
    fn net_tcp_both_families() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:4A7B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123 1 0 100 0 0 10 0\n";
        let s = parse_net_tcp(v4, "tcp");
        assert_eq!(s[0].local, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(s[0].local_port, 0x4A7B);
        assert_eq!(s[0].state, "LISTEN");
        assert_eq!(s[0].inode, 123);
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000000000000000000001000000:4A7B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 456 1 0 100 0 0 10 0\n";
        let s = parse_net_tcp(v6, "tcp6");
        assert_eq!(s[0].local, IpAddr::V6(Ipv6Addr::LOCALHOST));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,200}") {
            let _ = parse_stat(&s);
            let _ = parse_net_tcp(&s, "tcp");
        }
    }
}
