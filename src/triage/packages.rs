//! What dpkg says about a file under `--root`: whether a package installed
//! it, and whether it still has the content the package shipped.
//!
//! Read offline from `/var/lib/dpkg`: `info/*.list` (every installed path),
//! `info/*.md5sums` (MD5 of every packaged file but conffiles) and the
//! `Conffiles:` fields of `status`. A file a package installed and nobody
//! changed is the vendor's: its text is not judged by the heuristics (a
//! stock init script may well mention `/dev/shm/`). A changed packaged
//! binary or library is a finding of its own; a changed conffile is
//! ordinary administration, so it is judged by content like any other.
//!
//! Debian 12 packages still name `/bin/ls` while the file lives at
//! `/usr/bin/ls` (merged `/usr`), so lookups try both spellings.
//!
//! On an rpm host (RHEL, Fedora) the same questions are answered from rpm's
//! database ([`super::rpmdb`]), which also records each file's mode, so a
//! SUID bit the package never set can be told from one it did.

use super::rpmdb::{self, Algo};
use crate::host::Root;
use md5::{Digest, Md5};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// A digest a package recorded for a file.
#[derive(Debug, Clone)]
struct Sum {
    algo: Algo,
    hex: String,
}

/// The package database, as far as judging files needs it.
#[derive(Debug, Default)]
pub struct Packages {
    /// Which manager the database is (`dpkg` or `rpm`), for the report.
    pub manager: &'static str,
    files: HashSet<String>,
    /// Digests of packaged files that are not conffiles.
    sums: HashMap<String, Sum>,
    /// Digests of conffiles as the package shipped them.
    conffiles: HashMap<String, Sum>,
    /// File modes the package declares (rpm only: dpkg keeps none offline).
    modes: HashMap<String, u16>,
    /// Paths whose owner and mode `dpkg-statoverride` declares.
    overrides: HashSet<String>,
}

/// What the package database says of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No package installed this path.
    Unpackaged,
    /// Packaged, with the content the package shipped.
    Intact,
    /// A packaged file (not a conffile) whose content changed: a replaced
    /// binary, library or PAM module.
    Modified,
    /// A conffile the administrator (or someone) edited.
    ConffileEdited,
    /// Packaged, but nothing to compare (a directory, a link, unreadable).
    Unverified,
}

impl Verdict {
    /// The word the report carries for it.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Unpackaged => "unpackaged",
            Verdict::Intact => "intact",
            Verdict::Modified => "modified",
            Verdict::ConffileEdited => "conffile-edited",
            Verdict::Unverified => "packaged",
        }
    }
}

/// Files larger than this are not hashed (the verdict is `Unverified`).
const MAX_HASHED: u64 = 512 << 20;

/// The other spelling of a path under merged `/usr` (`/bin/x` ↔ `/usr/bin/x`).
fn merged_usr_twin(host: &str) -> Option<String> {
    const TOP: &[&str] = &["bin/", "sbin/", "lib/", "lib32/", "lib64/", "libx32/"];
    if let Some(rest) = host.strip_prefix("/usr/") {
        return TOP
            .iter()
            .any(|t| rest.starts_with(t))
            .then(|| format!("/{rest}"));
    }
    let rest = host.strip_prefix('/')?;
    TOP.iter()
        .any(|t| rest.starts_with(t))
        .then(|| format!("/usr/{rest}"))
}

impl Packages {
    /// Reads the dpkg database under the root, else rpm's; `None` when the
    /// host has neither.
    pub fn load(root: &Root) -> Option<Packages> {
        Self::load_dpkg(root).or_else(|| Self::load_rpm(root))
    }

    /// The rpm database: every file, its digest, its mode and whether it
    /// is `%config` (rpm's conffiles).
    fn load_rpm(root: &Root) -> Option<Packages> {
        let mut p = Packages {
            manager: "rpm",
            ..Packages::default()
        };
        for pkg in rpmdb::load(root)? {
            for f in pkg.files {
                if f.mode != 0 {
                    p.modes.insert(f.path.clone(), f.mode);
                }
                if !f.digest.is_empty() {
                    let sum = Sum {
                        algo: pkg.algo,
                        hex: f.digest,
                    };
                    let map = if f.config {
                        &mut p.conffiles
                    } else {
                        &mut p.sums
                    };
                    map.insert(f.path.clone(), sum);
                }
                p.files.insert(f.path);
            }
        }
        Some(p)
    }

    /// Reads the dpkg database under the root; `None` when there is none.
    fn load_dpkg(root: &Root) -> Option<Packages> {
        let dir = root.join("/var/lib/dpkg/info");
        let rd = std::fs::read_dir(&dir).ok()?;
        let mut p = Packages {
            manager: "dpkg",
            ..Packages::default()
        };
        for e in rd.flatten().take(200_000) {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_list = name.ends_with(".list");
            if !is_list && !name.ends_with(".md5sums") {
                continue;
            }
            let Ok(b) = crate::safefs::read_bounded(&e.path(), 64 << 20) else {
                continue;
            };
            let text = String::from_utf8_lossy(&b);
            if is_list {
                p.files.extend(text.lines().map(str::to_owned));
            } else {
                for (sum, path) in text.lines().filter_map(|l| l.split_once("  ")) {
                    let sum = Sum {
                        algo: Algo::Md5,
                        hex: sum.into(),
                    };
                    p.sums
                        .insert(format!("/{}", path.trim_start_matches('/')), sum);
                }
            }
        }
        if let Ok(b) = crate::safefs::read_bounded(&root.join("/var/lib/dpkg/status"), 256 << 20) {
            p.conffiles = conffiles(&String::from_utf8_lossy(&b))
                .into_iter()
                .map(|(k, hex)| {
                    let algo = Algo::Md5;
                    (k, Sum { algo, hex })
                })
                .collect();
        }
        // `owner group mode path`, one a line.
        if let Ok(b) =
            crate::safefs::read_bounded(&root.join("/var/lib/dpkg/statoverride"), 16 << 20)
        {
            p.overrides = String::from_utf8_lossy(&b)
                .lines()
                .filter_map(|l| l.split_whitespace().nth(3).map(str::to_owned))
                .collect();
        }
        Some(p)
    }

    /// The key a path has in `map`, trying both merged-`/usr` spellings.
    fn lookup<'a, V>(map: &'a HashMap<String, V>, host: &str) -> Option<&'a V> {
        map.get(host)
            .or_else(|| merged_usr_twin(host).and_then(|t| map.get(&t)))
    }

    /// True when a package installed this path.
    pub fn owns(&self, host: &str) -> bool {
        self.files.contains(host) || merged_usr_twin(host).is_some_and(|t| self.files.contains(&t))
    }

    /// Verdict on the file at host path `host` (not followed: pass the
    /// resolved path to judge what a link leads to).
    pub fn verify(&self, root: &Root, host: &str) -> Verdict {
        if !self.owns(host) {
            return Verdict::Unpackaged;
        }
        let (want, conffile) = match Self::lookup(&self.sums, host) {
            Some(s) => (s, false),
            None => match Self::lookup(&self.conffiles, host) {
                Some(s) => (s, true),
                None => return Verdict::Unverified,
            },
        };
        match digest_file(&root.join(host), want.algo) {
            Some(got) if got.eq_ignore_ascii_case(&want.hex) => Verdict::Intact,
            Some(_) if conffile => Verdict::ConffileEdited,
            Some(_) => Verdict::Modified,
            None => Verdict::Unverified,
        }
    }

    /// True when `dpkg-statoverride` declares this path's owner and mode
    /// (how a package or an administrator makes a file SUID on purpose).
    pub fn overridden(&self, host: &str) -> bool {
        self.overrides.contains(host)
            || merged_usr_twin(host).is_some_and(|t| self.overrides.contains(&t))
    }

    /// The permission bits (`0o7777`) the package declares for a path, when
    /// the database records modes (rpm).
    pub fn declared_mode(&self, host: &str) -> Option<u32> {
        Self::lookup(&self.modes, host).map(|m| u32::from(*m) & 0o7777)
    }

    /// Packaged kernel module names (`.ko`, compressed or not), with `-`
    /// and `_` made the same as modprobe does.
    pub fn module_names(&self) -> HashSet<String> {
        self.files
            .iter()
            .filter(|f| f.contains("/lib/modules/"))
            .filter_map(|f| f.rsplit('/').next())
            .filter_map(|n| {
                [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
                    .iter()
                    .find_map(|s| n.strip_suffix(s))
            })
            .map(|n| n.replace('-', "_"))
            .collect()
    }
}

/// The `Conffiles:` entries of dpkg's status file: ` /etc/x <md5>`.
fn conffiles(status: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut inside = false;
    for l in status.lines() {
        if l.starts_with("Conffiles:") {
            inside = true;
            continue;
        }
        if !l.starts_with(' ') {
            inside = false;
            continue;
        }
        if inside {
            let mut f = l.split_whitespace();
            if let (Some(p), Some(sum)) = (f.next(), f.next())
                && sum.len() == 32
            {
                out.insert(p.to_string(), sum.to_string());
            }
        }
    }
    out
}

/// MD5 (hex) of a regular file, read without following a link and bounded.
pub fn md5_file(local: &Path) -> Option<String> {
    digest_file(local, Algo::Md5)
}

/// The hex digest of a regular file in the package's algorithm, read
/// without following a link and bounded; `None` for an algorithm we cannot
/// compute (SHA-1) or a file we cannot read.
fn digest_file(local: &Path, algo: Algo) -> Option<String> {
    fn run<D: Digest + std::io::Write>(mut h: D, f: &mut std::fs::File) -> Option<String> {
        std::io::copy(&mut std::io::Read::take(f, MAX_HASHED), &mut h).ok()?;
        Some(hex::encode(h.finalize()))
    }
    let (mut f, meta) = crate::safefs::open_regular(local).ok()?;
    if meta.len() > MAX_HASHED {
        return None;
    }
    match algo {
        Algo::Md5 => run(Md5::new(), &mut f),
        Algo::Sha256 => run(sha2::Sha256::new(), &mut f),
        Algo::Sha384 => run(sha2::Sha384::new(), &mut f),
        Algo::Sha512 => run(sha2::Sha512::new(), &mut f),
        Algo::Sha224 => run(sha2::Sha224::new(), &mut f),
        Algo::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A root with one package installing `/bin/ls` (under merged `/usr`)
    /// and the conffile `/etc/x.conf`.
    pub(crate) fn dpkg_root() -> (tempfile::TempDir, Root) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        for dir in ["var/lib/dpkg/info", "usr/bin", "etc"] {
            std::fs::create_dir_all(p.join(dir)).unwrap();
        }
        std::os::unix::fs::symlink("usr/bin", p.join("bin")).unwrap();
        std::fs::write(p.join("usr/bin/ls"), "ls binary").unwrap();
        std::fs::write(p.join("etc/x.conf"), "a=1\n").unwrap();
        let info = p.join("var/lib/dpkg/info");
        std::fs::write(info.join("x.list"), "/bin\n/bin/ls\n/etc/x.conf\n").unwrap();
        let sum = |s: &str| hex::encode(Md5::digest(s.as_bytes()));
        std::fs::write(
            info.join("x.md5sums"),
            format!("{}  bin/ls\n", sum("ls binary")),
        )
        .unwrap();
        std::fs::write(
            p.join("var/lib/dpkg/status"),
            format!(
                "Package: x\nConffiles:\n /etc/x.conf {}\nDescription: x\n",
                sum("a=1\n")
            ),
        )
        .unwrap();
        let root = Root::new(p);
        (d, root)
    }

    #[test]
    fn verdicts() {
        let (d, root) = dpkg_root();
        let p = Packages::load(&root).unwrap();
        assert_eq!(p.verify(&root, "/usr/bin/ls"), Verdict::Intact);
        assert_eq!(p.verify(&root, "/bin/ls"), Verdict::Intact);
        assert_eq!(p.verify(&root, "/etc/x.conf"), Verdict::Intact);
        assert_eq!(p.verify(&root, "/usr/bin/evil"), Verdict::Unpackaged);
        std::fs::write(d.path().join("usr/bin/ls"), "trojan").unwrap();
        std::fs::write(d.path().join("etc/x.conf"), "a=2\n").unwrap();
        assert_eq!(p.verify(&root, "/usr/bin/ls"), Verdict::Modified);
        assert_eq!(p.verify(&root, "/etc/x.conf"), Verdict::ConffileEdited);
        assert!(Packages::load(&Root::new("/nonexistent")).is_none());
        std::fs::write(
            d.path().join("var/lib/dpkg/statoverride"),
            "root messagebus 4754 /usr/lib/dbus-1.0/dbus-daemon-launch-helper\n",
        )
        .unwrap();
        let p = Packages::load(&root).unwrap();
        assert!(p.overridden("/usr/lib/dbus-1.0/dbus-daemon-launch-helper"));
        assert!(!p.overridden("/usr/bin/ls"));
    }

    #[test]
    fn merged_usr_spellings() {
        assert_eq!(merged_usr_twin("/usr/bin/ls").as_deref(), Some("/bin/ls"));
        assert_eq!(
            merged_usr_twin("/lib/x.so").as_deref(),
            Some("/usr/lib/x.so")
        );
        assert_eq!(merged_usr_twin("/usr/share/x"), None);
        assert_eq!(merged_usr_twin("/etc/x"), None);
    }
}
