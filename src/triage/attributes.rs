//! Persistence that lives in a file's attributes or in a packaged file's
//! bytes rather than in any config: SUID/SGID bits on an interpreter
//! (T1548.001), file capabilities such as `cap_setuid+ep` on `node`
//! (T1548), and replaced system binaries and PAM modules (T1554), checked
//! offline against dpkg's MD5 sums for a bounded set of critical paths.
//!
//! Only the standard bin directories (and a few per-user ones where
//! runtimes like Node live) are listed, one level deep, never following a
//! link: this is a look at where a backdoored shell is put, not a scan of
//! the disk (that is `ir timeline`).

use super::packages::{Packages, Verdict};
use crate::host::Root;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Directories whose executables are checked for SUID/SGID and capabilities.
pub const BIN_DIRS: &[&str] = &[
    "/bin/",
    "/sbin/",
    "/usr/bin/",
    "/usr/sbin/",
    "/usr/local/bin/",
    "/usr/local/sbin/",
    "/usr/libexec/",
    "/opt/*/bin/",
];

/// Per-user bin directories (relative to each home) where Node and other
/// runtimes are installed without a package.
pub const HOME_BIN_DIRS: &[&str] = &[".local/bin/", ".nvm/versions/node/*/bin/", ".volta/bin/"];

/// Programs that give a shell or write any file when run with privilege
/// (interpreters and GTFOBins-style helpers): a SUID bit or a capability on
/// one is a root backdoor.
pub const SHELL_LIKE: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "python", "perl", "ruby", "node",
    "nodejs", "php", "lua", "tclsh", "wish", "expect", "busybox", "find", "vi", "vim", "nano",
    "ed", "env", "awk", "gawk", "mawk", "nawk", "socat", "nc", "ncat", "netcat", "cp", "mv", "dd",
    "tar", "gdb", "strace", "less", "more", "xargs", "tee", "rsync", "git", "make", "chroot",
    "nmap", "openssl", "install", "bun", "deno",
];

/// Programs distributions ship SUID or SGID on purpose (shadow, util-linux,
/// sudo, polkit, OpenSSH, D-Bus, cron, iputils, mail and X helpers). dpkg
/// keeps no file modes offline, so on a Debian host a packaged SUID/SGID
/// program outside this list is worth a look (`unexpected_setid`); on an
/// rpm host the package's own declared mode decides instead.
pub const KNOWN_SETID: &[&str] = &[
    "su",
    "sudo",
    "sudoedit",
    "passwd",
    "chsh",
    "chfn",
    "gpasswd",
    "newgrp",
    "expiry",
    "chage",
    "unix_chkpwd",
    "pam_timestamp_check",
    "mount",
    "umount",
    "fusermount",
    "fusermount3",
    "pkexec",
    "polkit-agent-helper-1",
    "ssh-keysign",
    "ssh-agent",
    "dbus-daemon-launch-helper",
    "crontab",
    "at",
    "utempter",
    "ping",
    "ping6",
    "arping",
    "traceroute6.iputils",
    "wall",
    "write",
    "bsd-write",
    "dotlockfile",
    "plocate",
    "mlocate",
    "locate",
    "Xorg.wrap",
    "chrome-sandbox",
    "ntfs-3g",
    "pppd",
    "exim4",
    "sendmail",
    "postdrop",
    "postqueue",
    "mount.nfs",
    "mount.cifs",
    "mount.ecryptfs_private",
    "newuidmap",
    "newgidmap",
    "grub2-set-bootflag",
    "userhelper",
    "usernetctl",
    "snap-confine",
    "doas",
    "ksu",
    "staprun",
    "lockfile",
    "procmail",
    "screen",
    "vmware-user-suid-wrapper",
    "kismet_cap_linux_wifi",
    "fping",
    "mtr-packet",
    "netreport",
    "cockpit-session",
    "spice-client-glib-usb-acl-helper",
    "qemu-bridge-helper",
    "Xorg",
    "nvidia-modprobe",
    "firejail",
    "bwrap",
];

/// Files whose replacement is the classic rootkit or credential stealer:
/// checked against the package's MD5 (globs for the multiarch dir).
pub const CRITICAL_FILES: &[&str] = &[
    "/usr/bin/ls",
    "/usr/bin/ps",
    "/usr/bin/ss",
    "/usr/bin/netstat",
    "/usr/bin/top",
    "/usr/bin/find",
    "/usr/bin/lsof",
    "/usr/bin/who",
    "/usr/bin/w",
    "/usr/bin/login",
    "/usr/bin/su",
    "/usr/bin/sudo",
    "/usr/bin/passwd",
    "/usr/bin/crontab",
    "/usr/bin/bash",
    "/usr/bin/dash",
    "/usr/bin/id",
    "/usr/bin/kill",
    "/usr/bin/ssh",
    "/usr/bin/dpkg",
    "/usr/sbin/sshd",
    "/usr/sbin/cron",
    "/usr/lib/systemd/systemd",
    "/usr/lib/*/security/pam_unix.so",
    "/usr/lib/*/security/pam_permit.so",
    "/usr/lib/*/security/pam_deny.so",
    "/usr/lib/*/libpam.so.0",
    "/usr/lib/*/libkeyutils.so.1",
    "/usr/lib/*/libc.so.6",
    "/usr/lib64/ld-linux-x86-64.so.2",
    "/usr/lib/*/libaudit.so.1",
    "/usr/lib/*/libselinux.so.1",
];

/// Capabilities that amount to root (ids from `linux/capability.h`).
const DANGEROUS_CAPS: &[(u32, &str)] = &[
    (0, "cap_chown"),
    (1, "cap_dac_override"),
    (2, "cap_dac_read_search"),
    (3, "cap_fowner"),
    (6, "cap_setgid"),
    (7, "cap_setuid"),
    (8, "cap_setpcap"),
    (16, "cap_sys_module"),
    (17, "cap_sys_rawio"),
    (19, "cap_sys_ptrace"),
    (21, "cap_sys_admin"),
    (31, "cap_setfcap"),
    (39, "cap_bpf"),
];

/// One file with a notable attribute.
#[derive(Debug)]
pub struct Attr {
    pub local: PathBuf,
    pub mechanism: &'static str,
    pub attack: &'static str,
    pub flags: Vec<&'static str>,
    pub detail: String,
}

/// True when a file name is a shell-like program (`python3.11` is `python`).
pub fn shell_like(name: &str) -> bool {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-');
    SHELL_LIKE.contains(&stem) || SHELL_LIKE.contains(&name)
}

/// The permitted set of a `security.capability` value, with its effective bit.
pub fn parse_caps(v: &[u8]) -> Option<(u64, bool)> {
    let word = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            v.get(i * 4..i * 4 + 4)?.try_into().ok()?,
        ))
    };
    let magic = word(0)?;
    let lo = u64::from(word(1)?);
    let hi = match magic & 0xff00_0000 {
        0x0100_0000 => 0,
        0x0200_0000 | 0x0300_0000 => u64::from(word(3)?),
        _ => return None,
    };
    Some((lo | (hi << 32), magic & 1 == 1))
}

/// Names of the dangerous capabilities in a permitted set.
pub fn dangerous(permitted: u64) -> Vec<&'static str> {
    DANGEROUS_CAPS
        .iter()
        .filter(|(bit, _)| permitted & (1u64 << bit) != 0)
        .map(|(_, n)| *n)
        .collect()
}

fn caps_of(local: &Path) -> Option<(u64, bool)> {
    let mut buf = [0u8; 64];
    let n = rustix::fs::lgetxattr(local, "security.capability", &mut buf).ok()?;
    parse_caps(&buf[..n])
}

/// SUID/SGID files and files with capabilities in the bin dirs (host paths,
/// already expanded and resolved).
pub fn scan_bins(root: &Root, dirs: &[PathBuf], pkgs: Option<&Packages>) -> Vec<Attr> {
    let mut out = Vec::new();
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(root.join(d)) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = rd.flatten().take(50_000).map(|e| e.path()).collect();
        entries.sort();
        for local in entries {
            if let Some(a) = judge_bin(root, &local, pkgs) {
                out.push(a);
            }
        }
    }
    out
}

fn judge_bin(root: &Root, local: &Path, pkgs: Option<&Packages>) -> Option<Attr> {
    let m = crate::safefs::lstat(local).ok()??;
    if !m.file_type().is_file() {
        return None;
    }
    let name = local.file_name()?.to_string_lossy().into_owned();
    let host = root.host_view(local).to_string_lossy().into_owned();
    let suid = m.mode() & 0o6000;
    let caps = caps_of(local);
    if suid == 0 && caps.is_none() {
        return None;
    }
    let verdict = pkgs.map(|p| p.verify(root, &host));
    let mut flags = Vec::new();
    let mut detail = Vec::new();
    if suid != 0 {
        detail.push(format!("mode {:o}", m.mode() & 0o7777));
        if let Some(f) = setid_flag(&name, &host, suid, verdict, pkgs) {
            flags.push(f);
        }
    }
    if let Some((perm, eff)) = caps {
        let bad = dangerous(perm);
        detail.push(format!(
            "capabilities {perm:#x}{}",
            if eff { "+ep" } else { "" }
        ));
        if !bad.is_empty() {
            detail.push(bad.join(","));
            flags.push("dangerous_capability");
        }
    }
    if verdict == Some(Verdict::Modified) {
        flags.push("modified_package_file");
    }
    Some(Attr {
        local: local.to_path_buf(),
        mechanism: if suid != 0 {
            "setuid"
        } else {
            "file-capability"
        },
        attack: if suid != 0 { "T1548.001" } else { "T1548" },
        flags,
        detail: detail.join(", "),
    })
}

/// The flag a SUID/SGID file earns: an interpreter always; else judged by
/// the package (the mode it declares on rpm, a known setid program on
/// dpkg), or by having no package at all.
fn setid_flag(
    name: &str,
    host: &str,
    suid: u32,
    verdict: Option<Verdict>,
    pkgs: Option<&Packages>,
) -> Option<&'static str> {
    if shell_like(name) {
        return Some("suid_interpreter");
    }
    let pkgs = pkgs?;
    if pkgs.overridden(host) {
        return None;
    }
    if verdict == Some(Verdict::Unpackaged) {
        return Some("unpackaged_suid");
    }
    match pkgs.declared_mode(host) {
        Some(declared) => (suid & !declared != 0).then_some("setid_not_in_package"),
        None => (!KNOWN_SETID.contains(&name)).then_some("unexpected_setid"),
    }
}

/// Critical packaged files whose bytes differ from what the package shipped.
pub fn replaced_binaries(root: &Root, pkgs: &Packages) -> Vec<Attr> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for pat in CRITICAL_FILES {
        for host in crate::persistence_catalogue::expand(root, pat) {
            let Some(real) = root.resolve(&host) else {
                continue;
            };
            if !seen.insert(real.clone()) {
                continue;
            }
            if pkgs.verify(root, &real.to_string_lossy()) == Verdict::Modified {
                out.push(Attr {
                    local: root.join(&real),
                    mechanism: "package-integrity",
                    attack: "T1554",
                    flags: vec!["modified_package_file"],
                    detail: format!(
                        "content differs from the {} database's digest",
                        pkgs.manager
                    ),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_values() {
        // cap_setuid+ep, revision 2.
        let mut v = Vec::new();
        for w in [0x0200_0001u32, 1 << 7, 0, 0, 0] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        let (perm, eff) = parse_caps(&v).unwrap();
        assert!(eff);
        assert_eq!(dangerous(perm), ["cap_setuid"]);
        // cap_net_raw+ep (ping) is not dangerous.
        v[4..8].copy_from_slice(&(1u32 << 13).to_le_bytes());
        assert!(dangerous(parse_caps(&v).unwrap().0).is_empty());
        assert!(parse_caps(&[1, 2]).is_none());
    }

    #[test]
    fn shell_like_names() {
        for n in ["python3", "python3.11", "bash", "find", "node"] {
            assert!(shell_like(n), "{n}");
        }
        for n in ["su", "passwd", "mount", "ping", "sudo"] {
            assert!(!shell_like(n), "{n}");
        }
    }

    #[test]
    fn suid_interpreter_is_flagged_and_su_is_not() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("usr/bin")).unwrap();
        for (n, mode) in [("python3", 0o4755), ("su", 0o4755), ("ls", 0o755)] {
            let p = d.path().join("usr/bin").join(n);
            std::fs::write(&p, "x").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let root = Root::new(d.path());
        let got = scan_bins(&root, &[PathBuf::from("/usr/bin")], None);
        let flags: Vec<(String, Vec<&str>)> = got
            .iter()
            .map(|a| {
                (
                    a.local.file_name().unwrap().to_string_lossy().into(),
                    a.flags.clone(),
                )
            })
            .collect();
        assert_eq!(
            flags,
            [
                ("python3".into(), vec!["suid_interpreter"]),
                ("su".into(), vec![])
            ]
        );
    }
}
