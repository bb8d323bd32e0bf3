//! One consistent CLI: bad input, `--json` everywhere, `--home`/`--root`,
//! help and man pages, colour, quiet.

use crate::util::{Host, json_out};
use predicates::prelude::*;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts a failed `--json` run printed exactly the error document.
fn assert_error_doc(o: &std::process::Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(o));
    let v = json_out(o);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["error", "fix", "exit_code"], "{v}");
    assert_eq!(v["exit_code"], 2);
    assert!(!v["error"].as_str().unwrap().is_empty());
    v
}

#[test]
fn timeline_of_a_missing_path_exits_2_naming_it() {
    let h = Host::files();
    h.ir()
        .args(["timeline", "/no/such/path"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("/no/such/path"));
}

#[test]
fn timeline_lists_a_path_once_when_roots_overlap() {
    let h = Host::files();
    let o = h
        .ir()
        .args(["--json", "timeline", "--since", "36500d"])
        .args([
            "/home/alice/.openclaw",
            "/home/alice/.openclaw/agents",
            "/home/alice/.openclaw",
        ])
        .output()
        .unwrap();
    let v = json_out(&o);
    let paths: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.iter().any(|p| p.contains("/agents/")), "{paths:?}");
    let mut uniq = paths.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), paths.len(), "a path listed twice: {paths:?}");
    assert_eq!(v["roots"].as_array().unwrap().len(), 1, "{}", v["roots"]);
}

#[test]
fn a_read_only_command_says_where_it_created_the_case_dir() {
    let h = Host::files();
    let cwd = tempfile::tempdir().unwrap();
    let run = || {
        h.ir_no_case()
            .current_dir(cwd.path())
            .arg("inventory")
            .output()
            .unwrap()
    };
    let first = run();
    let want = format!(
        "created the case dir {}",
        cwd.path().join("ir-case").display()
    );
    assert!(stderr(&first).contains(&want), "{}", stderr(&first));
    let again = run();
    assert!(!stderr(&again).contains("created the case dir"));
}

#[test]
fn quiet_prints_no_journal_head_line() {
    let h = Host::files();
    let o = h.ir().args(["-q", "inventory"]).output().unwrap();
    assert!(o.status.success());
    assert!(!stderr(&o).contains("journal: seq"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("created the case dir"));
    let o = h.ir().arg("inventory").output().unwrap();
    assert!(stderr(&o).contains("journal: seq"));
}

#[test]
fn demo_honours_case() {
    let d = tempfile::tempdir().unwrap();
    let case = d.path().join("my-case");
    let o = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"))
        .env_clear()
        .env("HOME", d.path())
        .env("PATH", "/usr/bin:/bin")
        .arg("--case")
        .arg(&case)
        .arg("demo")
        .arg("--dir")
        .arg(d.path().join("demo"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(case.join("journal.jsonl").is_file());
    assert!(!d.path().join("demo/case").exists());
}

#[test]
fn every_error_under_json_is_one_json_document() {
    let h = Host::files();
    let cases: &[&[&str]] = &[
        &["timeline", "/no/such/path"],
        &["timeline", "--format", "bodyfile"],
        &["verify", "/no/such/bundle.age"],
        &["extract", "/no/such/bundle.age", "-o", "/tmp/x"],
        &["no-such-command"],
        &["collect", "--level", "99"],
        &["--profile", "bad/name", "inventory"],
        &["man", "no-such-page"],
        &["completions", "bash"],
    ];
    for args in cases {
        let o = h.ir().arg("--json").args(*args).output().unwrap();
        let v = assert_error_doc(&o);
        eprintln!("{args:?}: {v}");
    }
    let o = h
        .ir()
        .args(["timeline", "--jsonl", "/no/such/path"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["exit_code"], 2);
}

#[test]
fn snapshot_prints_json() {
    let h = Host::files();
    let o = h.ir().args(["--json", "snapshot"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json_out(&o);
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    assert!(std::path::Path::new(v["path"].as_str().unwrap()).is_file());
}

#[test]
fn timeline_and_hunt_stream_json_lines() {
    let h = Host::files();
    for args in [
        &["timeline", "--jsonl", "--since", "36500d"][..],
        &["hunt", "--jsonl"][..],
    ] {
        let o = h.ir().args(args).output().unwrap();
        assert!(o.status.code().unwrap() <= 1, "{}", stderr(&o));
        let lines: Vec<serde_json::Value> = stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert!(lines.len() > 1, "{args:?}");
        assert_eq!(lines.last().unwrap()["record"], "summary");
        let first = lines[0]["record"].as_str().unwrap();
        assert!(["entry", "hit", "tool_call"].contains(&first), "{first}");
    }
}

/// `--home` as a host path found under `--root`, and as the analyst-side
/// path under the root, with the examiner's own HOME: both find the
/// workspace (`~/.openclaw/workspace` is alice's, not the examiner's).
#[test]
fn home_is_found_under_root_either_way() {
    let h = Host::files();
    let local = h.state();
    for home in [
        std::path::PathBuf::from("/home/alice/.openclaw"),
        local.clone(),
    ] {
        let o = h
            .ir()
            .env("HOME", "/root")
            .arg("--home")
            .arg(&home)
            .args(["--json", "persistence"])
            .output()
            .unwrap();
        let v = json_out(&o);
        let soul = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["path"].as_str().unwrap().ends_with("workspace/SOUL.md"));
        assert!(
            soul,
            "SOUL.md missing with --home {}: {}",
            home.display(),
            stderr(&o)
        );
        assert!(!stderr(&o).contains("is missing"), "{}", stderr(&o));
    }
}

#[test]
fn a_configured_path_missing_under_root_is_warned_about_by_every_command() {
    let h = Host::files();
    let cfg = h.state().join("openclaw.json");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace(
            "{ id: \"main\", workspace: \"~/.openclaw/workspace\" }",
            "{ id: \"main\", workspace: \"/srv/elsewhere/ws\" }",
        ),
    )
    .unwrap();
    for cmd in ["inventory", "persistence", "hunt", "timeline", "snapshot"] {
        let o = h.ir().arg(cmd).output().unwrap();
        let err = stderr(&o);
        assert!(
            err.contains(
                "warning: the workspace /srv/elsewhere/ws (agent main) is missing under --root"
            ),
            "{cmd}: {err}"
        );
    }
}
