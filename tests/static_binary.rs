//! The static binaries of `scripts/build-static.sh` run on any Linux box:
//! each ELF is read here (no PT_INTERP, no DT_NEEDED: nothing asked of the
//! host's loader or libc), then run inside an empty chroot holding nothing
//! but the binary and a fixture host (the aarch64 one under qemu-user), where
//! `ir --version` and a dead-box `ir persistence --root` must give the same
//! answer as the test build. And `ir --version` names the commit.
//!
//! The script is run first: cargo rebuilds only what changed, so a stale
//! `dist/` is never what gets tested.

use crate::util::{Host, copy_tree, json_out, skip_or_fail};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const CHROOT: &str = "/usr/sbin/chroot";
const QEMU_AARCH64: &str = "/usr/bin/qemu-aarch64-static";
const GIT: &str = "/usr/bin/git";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What the ELF asks of the system: its machine, its interpreter (the
/// dynamic loader) and the libraries it needs.
#[derive(Debug, PartialEq)]
struct Elf {
    machine: u16,
    interp: bool,
    needed: usize,
}

const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NEEDED: u64 = 1;

/// Reads an ELF64 little-endian file's program headers and dynamic section.
fn read_elf(path: &Path) -> Elf {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..4], b"\x7fELF", "{} is not ELF", path.display());
    assert_eq!((b[4], b[5]), (2, 1), "{}: not ELF64 LE", path.display());
    let u16_at = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56));
    let mut elf = Elf {
        machine: u16_at(18),
        interp: false,
        needed: 0,
    };
    for i in 0..phnum as usize {
        let ph = phoff + i * phentsize;
        match u32_at(ph) {
            PT_INTERP => elf.interp = true,
            // A static-pie binary keeps a dynamic section to relocate
            // itself; what matters is that it names no library.
            PT_DYNAMIC => {
                let (off, size) = (u64_at(ph + 8) as usize, u64_at(ph + 32) as usize);
                elf.needed += (off..off + size)
                    .step_by(16)
                    .filter(|&d| u64_at(d) == DT_NEEDED)
                    .count();
            }
            _ => {}
        }
    }
    elf
}

/// The reader tells a dynamic binary: the test build asks for a loader and libc.
#[test]
fn elf_reader_sees_the_test_builds_loader_and_libraries() {
    let elf = read_elf(Path::new(env!("CARGO_BIN_EXE_ir")));
    assert!(elf.interp, "{elf:?}");
    assert!(elf.needed > 0, "{elf:?}");
}

/// The commit `/usr/bin/git` sees here, abbreviated as `ir --version` does
/// (None outside a checkout).
fn head_commit() -> Option<String> {
    if !repo().join(".git").exists() || !Path::new(GIT).exists() {
        return None;
    }
    let out = Command::new(GIT)
        .arg("-C")
        .arg(repo())
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `ir --version` is `ir VERSION (COMMIT DATE)`, the commit HEAD's.
#[test]
fn version_names_the_commit() {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    let prefix = concat!("ir ", env!("CARGO_PKG_VERSION"), " (");
    let inner = line
        .trim_end()
        .strip_prefix(prefix)
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line:?}"));
    let Some(head) = head_commit() else {
        assert!(!inner.is_empty(), "{line:?}");
        return;
    };
    let (hash, rest) = inner.split_once(' ').unwrap_or_else(|| panic!("{line:?}"));
    assert!(
        hash.len() >= 7 && head.starts_with(hash),
        "{line:?} vs HEAD {head}"
    );
    let date = rest.trim_end_matches("+dirty");
    let d = date.as_bytes();
    assert!(
        d.len() == 10 && d[4] == b'-' && d[7] == b'-',
        "not a yyyy-mm-dd date: {line:?}"
    );
}

/// Runs `scripts/build-static.sh ARCH` and returns the binary, or None
/// (having skipped, or failed under CI) when its tools are missing.
fn built(arch: &str) -> Option<PathBuf> {
    let script = repo().join("scripts/build-static.sh");
    let check = Command::new("/bin/bash")
        .arg(&script)
        .args(["--check", arch])
        .output()
        .unwrap();
    if !check.status.success() {
        skip_or_fail(String::from_utf8_lossy(&check.stderr).trim());
        return None;
    }
    let t0 = std::time::Instant::now();
    // `cargo test` runs tests with build.rs's `rustc-env` values set, so
    // this process carries IR_GIT_COMMIT; inherited, it changed what
    // build.rs watches and rebuilt both binaries inside CI (10 minutes).
    let out = Command::new("/bin/bash")
        .arg(&script)
        .arg(arch)
        .env_remove("IR_GIT_COMMIT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "build-static.sh {arch} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "build-static.sh {arch}: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let bin = repo().join(format!("dist/ir-{arch}-linux"));
    // The sidecar is sha256sum's format and matches the binary.
    let sidecar =
        std::fs::read_to_string(repo().join(format!("dist/ir-{arch}-linux.sha256"))).unwrap();
    let sum = Command::new("/usr/bin/sha256sum")
        .arg("-c")
        .arg(format!("ir-{arch}-linux.sha256"))
        .current_dir(repo().join("dist"))
        .output()
        .unwrap();
    assert!(sum.status.success(), "{sidecar}: {sum:?}");
    Some(bin)
}

/// A chroot with nothing but the binary (and qemu for a foreign one), an
/// empty `/tmp` (where a WAL database is copied to be read without touching
/// it, as on any analyst machine) and fixture hosts, each at `/NAME`.
struct Jail {
    dir: tempfile::TempDir,
    /// The command prefix inside the jail: `/ir`, or `/qemu-aarch64 /ir`.
    argv0: Vec<String>,
}

impl Jail {
    fn new(bin: &Path, qemu: Option<&Path>) -> Jail {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(bin, dir.path().join("ir")).unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let mut argv0 = vec![];
        if let Some(q) = qemu {
            std::fs::copy(q, dir.path().join("qemu-aarch64")).unwrap();
            argv0.push("/qemu-aarch64".to_string());
        }
        argv0.push("/ir".to_string());
        Jail { dir, argv0 }
    }

    /// Copies a fixture host's root to `/NAME`; returns it as the test sees it.
    fn add_host(&self, name: &str, root: &Path) -> PathBuf {
        let to = self.dir.path().join(name);
        copy_tree(root, &to);
        to
    }

    /// Runs `ir ARGS` inside the jail with a bare environment.
    fn ir(&self, home: &str, args: &[&str]) -> std::process::Output {
        Command::new(CHROOT)
            .arg(self.dir.path())
            .args(&self.argv0)
            .args(args)
            .env_clear()
            .env("HOME", home)
            .output()
            .unwrap()
    }
}

/// Tools for the jail: root and chroot, and qemu for aarch64. None (having
/// skipped, or failed under CI) when missing.
fn jail_tools(arch: &str) -> Option<Option<PathBuf>> {
    if !rustix::process::geteuid().is_root() || !Path::new(CHROOT).exists() {
        skip_or_fail("the chroot test runs as root with /usr/sbin/chroot");
        return None;
    }
    if arch == std::env::consts::ARCH {
        return Some(None);
    }
    if arch == "aarch64" && Path::new(QEMU_AARCH64).exists() {
        return Some(Some(QEMU_AARCH64.into()));
    }
    skip_or_fail(&format!(
        "{QEMU_AARCH64} is missing to run the {arch} binary (apt-get install qemu-user-static)"
    ));
    None
}

/// (mechanism, path, flags) of each persistence item: what must agree.
fn persistence_items(v: &Value) -> Vec<(String, String, String)> {
    let mut items: Vec<_> = v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {v}"))
        .iter()
        .map(|i| {
            (
                i["mechanism"].to_string(),
                i["path"].to_string(),
                i["flags"].to_string(),
            )
        })
        .collect();
    items.sort();
    items
}

fn stdout_of(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The whole proof for one architecture.
/// The system's own `ldd` agrees: no library to load. A static-PIE build
/// (x86_64: relocations but no interpreter) reads "statically linked"; a
/// binary for another machine reads "not a dynamic executable".
fn assert_ldd_says_static(bin: &Path) {
    let ldd = Path::new("/usr/bin/ldd");
    if !ldd.exists() {
        skip_or_fail("no /usr/bin/ldd (Debian: libc-bin)");
        return;
    }
    let o = std::process::Command::new(ldd).arg(bin).output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        said.contains("not a dynamic executable") || said.contains("statically linked"),
        "ldd {}: {said}",
        bin.display()
    );
    assert!(!said.contains("=>"), "ldd lists libraries: {said}");
}

fn static_binary_runs_in_an_empty_chroot(arch: &str, machine: u16) {
    let Some(qemu) = jail_tools(arch) else { return };
    let Some(bin) = built(arch) else { return };
    let elf = read_elf(&bin);
    assert_eq!(
        elf,
        Elf {
            machine,
            interp: false,
            needed: 0
        },
        "{} is not static",
        bin.display()
    );
    assert_ldd_says_static(&bin);
    let files = Host::files();
    let jail = Jail::new(&bin, qemu.as_deref());
    let files_root = jail.add_host("files", &files.root);

    // --version, and the same line as the test build's (same sources).
    let v = jail.ir("/", &["--version"]);
    assert!(v.status.success(), "{}", stdout_of(&v));
    let ours = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&ours.stdout)
    );

    // A dead-box persistence sweep: the fixture's planted cron job is
    // found, and the items are exactly the test build's on the same tree.
    let args = [
        "-q",
        "--json",
        "--root",
        "/files",
        "--case",
        "/case",
        "persistence",
    ];
    let out = jail.ir(&files.home, &args);
    assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
    let got = persistence_items(&json_out(&out));
    assert!(
        got.iter().any(|(_, p, _)| p.contains("cron/jobs.json")),
        "{got:#?}"
    );
    let local = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"))
        .env_clear()
        .env("HOME", &files.home)
        .arg("--root")
        .arg(&files_root)
        .arg("--case")
        .arg(files.dir.path().join("local-case"))
        .args(["-q", "--json", "persistence"])
        .output()
        .unwrap();
    assert_eq!(persistence_items(&json_out(&local)), got);

    // The bundled SQLite, compiled for the target by zig: the 2026.9.6
    // databases are opened and their schema versions read.
    let sqlite = Host::sqlite();
    jail.add_host("sqlite", &sqlite.root);
    let args = [
        "-q",
        "--json",
        "--root",
        "/sqlite",
        "--case",
        "/case",
        "inventory",
    ];
    let out = jail.ir(&sqlite.home, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stdout_of(&out));
    let layout = &json_out(&out)["deployment"]["layout"];
    assert_eq!(layout["kind"], "sqlite", "{layout}");
    let versions: Vec<&Value> = layout["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["schema_version"])
        .collect();
    assert_eq!(versions, [18, 23], "{layout}");
}

#[test]
fn static_x86_64_binary_runs_in_an_empty_chroot() {
    static_binary_runs_in_an_empty_chroot("x86_64", EM_X86_64);
}

#[test]
fn static_aarch64_binary_runs_in_an_empty_chroot_under_qemu() {
    static_binary_runs_in_an_empty_chroot("aarch64", EM_AARCH64);
}
