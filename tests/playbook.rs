//! `ir run`, `ir report`, `ir demo`.

use crate::util::{Host, json_out};
use predicates::prelude::*;
use std::path::Path;

fn tree_hash(dir: &Path) -> String {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let m = e.path().symlink_metadata().unwrap();
            let data = if m.is_file() {
                ir::journal::sha256_hex(&std::fs::read(e.path()).unwrap())
            } else {
                String::new()
            };
            use std::os::unix::fs::MetadataExt;
            format!(
                "{} {:o} {} {}",
                e.path().display(),
                m.mode(),
                m.mtime_nsec(),
                data
            )
        })
        .collect();
    v.sort();
    ir::journal::sha256_hex(v.join("\n").as_bytes())
}

fn write_pb(h: &Host, text: &str) -> std::path::PathBuf {
    let p = h.dir.path().join("pb.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn dry_run_changes_nothing() {
    let h = Host::files();
    let before = tree_hash(&h.root);
    h.ir()
        .args([
            "run",
            "respond",
            "--dry-run",
            "--set",
            "recipient=age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("clear-sessions"))
        .stdout(predicate::str::contains(
            "effects: deletes; asks for confirmation; requires collect, verify, stop",
        ));
    assert_eq!(before, tree_hash(&h.root));
    assert!(!h.case.exists(), "a dry run created the case dir");
}

#[test]
fn parse_errors_name_line_and_column() {
    let h = Host::files();
    let p = write_pb(
        &h,
        "name = \"x\"\n[[step]]\nid = \"a\"\nrun = [\"hunt\"]\nconfrim = true\n",
    );
    h.ir()
        .arg("run")
        .arg(&p)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "pb.toml:5:1: unknown field `confrim`",
        ));
    let p = write_pb(&h, "name = \"x\"\n[[step]]\nid = \"a\"\nexec = \"ufw\"\n");
    h.ir()
        .arg("run")
        .arg(&p)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pb.toml:4:8:"))
        .stderr(predicate::str::contains("not an absolute path"));
    h.ir()
        .args(["run", "respond"])
        .arg("--yes")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs ${recipient}"));
}

#[test]
fn refuses_without_yes_when_there_is_no_tty() {
    let h = Host::files();
    h.ir()
        .args(["run", "respond", "--set", "recipient=age1x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "need confirmation and there is no TTY",
        ));
    assert!(
        !h.entries().iter().any(|e| e["event"] == "step start"),
        "a step ran"
    );
}

#[test]
fn requires_is_enforced() {
    let h = Host::files();
    let p = write_pb(
        &h,
        "name = \"t\"\n[[step]]\nid = \"a\"\nexec = \"/bin/false\"\non_failure = \"continue\"\n[[step]]\nid = \"b\"\nrun = [\"hunt\"]\nrequires = [\"a\"]\n",
    );
    h.ir()
        .arg("run")
        .arg(&p)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("[refused] b: requires a"));
    assert!(!h.entries().iter().any(|e| e["command"] == "hunt"));
}

#[test]
fn exec_steps_time_out() {
    let h = Host::files();
    let p = write_pb(
        &h,
        "name = \"t\"\n[[step]]\nid = \"slow\"\nexec = \"/bin/sleep\"\nargs = [\"30\"]\ntimeout = 1\n",
    );
    let t0 = std::time::Instant::now();
    h.ir()
        .arg("run")
        .arg(&p)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("[failed] slow"));
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
    let exec = h
        .entries()
        .into_iter()
        .find(|e| e["event"] == "exec")
        .unwrap();
    assert_eq!(exec["details"]["timed_out"], true);
}

#[test]
fn resume_continues_after_the_failed_step() {
    let h = Host::files();
    let flag = h.dir.path().join("flag");
    let p = write_pb(
        &h,
        &format!(
            "name = \"t\"\n[[step]]\nid = \"first\"\nrun = [\"inventory\"]\n[[step]]\nid = \"flaky\"\nexec = \"/bin/sh\"\nargs = [\"-c\", \"test -e {}\"]\n[[step]]\nid = \"last\"\nrun = [\"report\"]\nrequires = [\"first\", \"flaky\"]\n",
            flag.display()
        ),
    );
    h.ir()
        .arg("run")
        .arg(&p)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("[failed] flaky"));
    assert!(!h.case.join("report.md").exists());
    std::fs::write(&flag, "").unwrap();
    h.ir()
        .arg("run")
        .arg(&p)
        .arg("--resume")
        .assert()
        .success()
        .stderr(predicate::str::contains("[done-before] first"));
    let inventories = h
        .entries()
        .iter()
        .filter(|e| e["command"] == "inventory" && e["kind"] == "end")
        .count();
    assert_eq!(inventories, 1, "the step that succeeded ran again");
    assert!(h.case.join("report.md").exists());
    h.ir().args(["journal", "verify"]).assert().success();
}

#[test]
fn playbooks_lists_the_shipped_ones() {
    let h = Host::files();
    h.ir()
        .arg("playbooks")
        .assert()
        .success()
        .stdout(predicate::str::contains("respond"))
        .stdout(predicate::str::contains("collect-only"));
}

#[test]
fn demo_end_to_end() {
    let d = tempfile::tempdir().unwrap();
    let t0 = std::time::Instant::now();
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"))
        .arg("demo")
        .arg("--dir")
        .arg(d.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("demo took {:?}", t0.elapsed());
    let case = d.path().join("case");
    // The journal verifies, the bundle opens with the throwaway key.
    let ir = || {
        let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"));
        c.arg("--case").arg(&case);
        c
    };
    ir().args(["journal", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("journal intact"));
    ir().arg("verify")
        .arg("-i")
        .arg(d.path().join("demo-key.txt"))
        .assert()
        .success();
    // The response happened on the sample host only.
    let cfg =
        std::fs::read_to_string(d.path().join("root/home/demo/.openclaw/openclaw.json")).unwrap();
    assert!(!cfg.contains("FAKE-demo-token"), "not rotated");
    assert!(cfg.starts_with("// demo host"), "comments lost");
    // The report says what a reader needs.
    let md = std::fs::read_to_string(case.join("report.md")).unwrap();
    for want in [
        "## Chain of custody",
        "**intact** verification",
        "## Evidence",
        "sha256",
        "To open it",
        "A download run as a program",
        "undeclared",
        "clawhub-helper",
        "rotated gateway.auth.token",
        "revoked device_pairing_paired x1",
        "To revoke at each provider",
        "## Hardening audit",
        "before: 5 critical",
        "after: 0 critical",
        "## What remains to do",
    ] {
        assert!(md.contains(want), "report lacks {want:?}:\n{md}");
    }
    let js: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("report.json")).unwrap()).unwrap();
    assert_eq!(js["journal"]["verdict"], "intact");
    assert!(!md.contains("FAKE-demo-provider-key") && !md.contains("sk-FAKE-demo-openai"));
    let _ = json_out;
}

#[test]
fn ctrl_c_is_journaled_and_exits_130() {
    let h = Host::files();
    let p = write_pb(
        &h,
        "name = \"t\"\n[[step]]\nid = \"slow\"\nexec = \"/bin/sleep\"\nargs = [\"30\"]\ntimeout = 60\n[[step]]\nid = \"after\"\nrun = [\"report\"]\n",
    );
    let child = h
        .command()
        .arg("run")
        .arg(&p)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let end = h
        .entries()
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "end" && e["command"] == "run")
        .unwrap();
    assert_eq!(end["status"], "interrupted");
    assert!(
        !h.case.join("report.md").exists(),
        "a step ran after the interruption"
    );
    h.ir().args(["journal", "verify"]).assert().success();
}

/// Regression: a `${var}` in `exec` passed the absolute-path check before
/// substitution (`--set tool=../../tmp/evil.sh` ran it).
#[test]
fn an_exec_program_is_checked_after_substitution() {
    let h = Host::files();
    let p = write_pb(
        &h,
        "name = \"x\"\n[[step]]\nid = \"a\"\nexec = \"/${tool}\"\n",
    );
    h.ir()
        .args(["run"])
        .arg(&p)
        .args(["--set", "tool=../../tmp/evil.sh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("without `..`"));
}

/// Regression: a playbook that runs itself recursed without limit.
#[test]
fn a_playbook_that_runs_itself_stops_at_a_bounded_depth() {
    let h = Host::files();
    let p = h.dir.path().join("pb.toml");
    let text = format!(
        "name = \"x\"\n[[step]]\nid = \"again\"\nexec = {:?}\nargs = [\"--case\", {:?}, \"run\", {:?}]\ntimeout = 50\n",
        env!("CARGO_BIN_EXE_ir"),
        h.case.display().to_string(),
        p.display().to_string()
    );
    std::fs::write(&p, text).unwrap();
    let t0 = std::time::Instant::now();
    let out = h.ir().arg("run").arg(&p).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(t0.elapsed() < std::time::Duration::from_secs(60));
    let all: String = std::fs::read_to_string(h.journal()).unwrap();
    assert!(all.contains("nested 4 deep"), "{all}");
}
