//! The test harness: fake hosts copied from `fixtures/hosts/` into a temp
//! dir, and an `ir` command pointed at them with a clean environment.

#![allow(dead_code)]

use assert_cmd::Command;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The repo's fixtures dir.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Copies a tree, keeping symlinks as symlinks.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        let dst = to.join(e.file_name());
        if t.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &dst).unwrap();
        } else if t.is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// A fake host in a temp dir.
pub struct Host {
    pub dir: tempfile::TempDir,
    /// The `--root`.
    pub root: PathBuf,
    /// The case dir.
    pub case: PathBuf,
    /// `HOME` of the host's OpenClaw user, as the host sees it.
    pub home: String,
}

impl Host {
    fn from_fixture(name: &str, home: &str) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        copy_tree(&fixtures().join("hosts").join(name), &root);
        let h = Host {
            case: dir.path().join("case"),
            root,
            dir,
            home: home.to_string(),
        };
        // Git keeps no dir modes: give the state dir OpenClaw's 700.
        let _ = std::fs::set_permissions(h.state(), std::fs::Permissions::from_mode(0o700));
        h
    }

    /// alice's host, OpenClaw 2026.7.1, files layout.
    pub fn files() -> Host {
        Host::from_fixture("files-2026.7.1", "/home/alice")
    }

    /// bob's host, OpenClaw 2026.9.6, SQLite layout.
    pub fn sqlite() -> Host {
        let h = Host::from_fixture("sqlite-2026.9.6", "/home/bob");
        ir::sample::build_sqlite_state(&h.state(), "/home/bob/.openclaw").unwrap();
        h
    }

    /// A local path for a host path.
    pub fn path(&self, host_path: &str) -> PathBuf {
        self.root.join(host_path.trim_start_matches('/'))
    }

    /// The default state dir (local path).
    pub fn state(&self) -> PathBuf {
        self.path(&format!("{}/.openclaw", self.home))
    }

    /// `ir --root ROOT --case CASE` with only `HOME` set.
    pub fn ir(&self) -> Command {
        let mut c = self.ir_no_case();
        c.arg("--case").arg(&self.case);
        c
    }

    /// `ir --root ROOT` with only `HOME` set (the test picks `--case`).
    pub fn ir_no_case(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ir"));
        c.env_clear()
            .env("HOME", &self.home)
            .env("PATH", "/usr/bin:/bin")
            .arg("--root")
            .arg(&self.root);
        c
    }

    /// A plain (unasserted) `ir` process on this host and case, for tests
    /// that signal it.
    pub fn command(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ir"));
        c.env_clear()
            .env("HOME", &self.home)
            .arg("--root")
            .arg(&self.root)
            .arg("--case")
            .arg(&self.case);
        c
    }

    /// The case journal.
    pub fn journal(&self) -> PathBuf {
        self.case.join("journal.jsonl")
    }

    /// The journal's entries as JSON values.
    pub fn entries(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.journal())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Parses a command's stdout as one JSON document.
pub fn json_out(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The cache of test tools outside the repo (`scripts/setup.sh` fills it).
pub fn tools_dir() -> PathBuf {
    std::env::var("IR_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            std::env::var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|_| Path::new(&home).join(".cache"))
                .join("ir-tools")
        })
}

/// True when running under CI, where a missing tool is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (prints why) or, in CI, fails.
pub fn skip_or_fail(reason: &str) {
    if in_ci() {
        panic!("required tool missing in CI: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

/// Sends SIGINT, what Ctrl-C sends, to a running `ir` and waits for it.
pub fn ctrl_c(child: std::process::Child) -> std::process::Output {
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::INT,
    )
    .unwrap();
    child.wait_with_output().unwrap()
}

/// Reads `child`'s piped stderr until a line containing `marker` (a
/// command paused by `IR_TEST_PAUSE_AT` says where); the rest is drained
/// on a thread whose result is all of stderr.
pub fn wait_for_stderr(
    child: &mut std::process::Child,
    marker: &str,
) -> std::thread::JoinHandle<String> {
    use std::io::BufRead;
    let mut r = std::io::BufReader::new(child.stderr.take().expect("stderr is piped"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).unwrap();
        seen.push_str(&line);
        assert!(n > 0, "{marker:?} never came; stderr:\n{seen}");
        if line.contains(marker) {
            break;
        }
    }
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut r, &mut rest);
        seen + &rest
    })
}

impl Host {
    /// Waits (at most 60 s) until the case journal holds the `start` entry
    /// of `command`: its work has begun.
    pub fn wait_for_start(&self, command: &str) {
        let t0 = std::time::Instant::now();
        loop {
            let text = std::fs::read_to_string(self.journal()).unwrap_or_default();
            // The last line may be half-written: parse leniently.
            let started = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .any(|e| e["kind"] == "start" && e["command"] == command);
            if started {
                return;
            }
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(60),
                "ir {command} never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Asserts that a run of `command` was stopped by Ctrl-C: exit 130, an
    /// `end` entry with status `interrupted` and exit code 130, and a
    /// journal that still verifies. Returns that entry.
    pub fn assert_interrupted(
        &self,
        command: &str,
        out: &std::process::Output,
        stderr: &str,
    ) -> serde_json::Value {
        assert_eq!(out.status.code(), Some(130), "stderr:\n{stderr}");
        let end = self
            .entries()
            .into_iter()
            .rev()
            .find(|e| e["kind"] == "end" && e["command"] == command)
            .unwrap_or_else(|| panic!("no end entry for {command}"));
        assert_eq!(end["status"], "interrupted", "{end}");
        assert_eq!(end["exit_code"], 130, "{end}");
        self.ir().args(["journal", "verify"]).assert().success();
        end
    }
}
