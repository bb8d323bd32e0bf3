//! The case journal: every kind of tampering fails `ir journal verify`
//! (exit 1, naming the first bad entry); an interrupted run does not.

use crate::util::{Host, json_out};
use predicates::prelude::*;
use std::io::Write;

/// A case with a journal of `n` notes (each note is one entry).
fn case_with(n: usize) -> Host {
    let h = Host::files();
    for i in 0..n {
        h.ir()
            .args(["journal", "note", &format!("note {i}")])
            .assert()
            .success();
    }
    h
}

fn lines(h: &Host) -> Vec<String> {
    std::fs::read_to_string(h.journal())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(h: &Host, l: &[String]) {
    std::fs::write(h.journal(), l.join("\n") + "\n").unwrap();
}

fn verify(h: &Host) -> (i32, serde_json::Value) {
    let out = h
        .ir()
        .args(["--json", "journal", "verify"])
        .output()
        .unwrap();
    (out.status.code().unwrap(), json_out(&out))
}

#[test]
fn intact_journal_verifies() {
    let h = case_with(5);
    let (code, r) = verify(&h);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["verdict"], "intact");
    assert_eq!(r["entries"], 5);
    h.ir()
        .args(["journal", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("journal intact: 5 entries"));
}

#[test]
fn changed_byte_is_tampering() {
    let h = case_with(5);
    let mut l = lines(&h);
    l[2] = l[2].replace("note 2", "note X");
    write_lines(&h, &l);
    let (code, r) = verify(&h);
    assert_eq!(code, 1);
    assert_eq!(r["problems"][0]["kind"], "edited");
    assert_eq!(r["problems"][0]["seq"], 2);
    h.ir()
        .args(["journal", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "entry 2 (line 3) does not match its digest",
        ));
}

#[test]
fn deleted_line_is_tampering() {
    let h = case_with(5);
    let mut l = lines(&h);
    l.remove(2);
    write_lines(&h, &l);
    let (code, r) = verify(&h);
    assert_eq!(code, 1);
    assert_eq!(r["problems"][0]["kind"], "deleted");
    assert_eq!(r["problems"][0]["line"], 3);
}

#[test]
fn swapped_lines_are_tampering() {
    let h = case_with(5);
    let mut l = lines(&h);
    l.swap(1, 2);
    write_lines(&h, &l);
    let (code, r) = verify(&h);
    assert_eq!(code, 1);
    assert_eq!(r["problems"][0]["line"], 2);
}

#[test]
fn hand_appended_line_is_tampering() {
    let h = case_with(3);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(h.journal())
        .unwrap();
    f.write_all(b"{\"seq\":3,\"kind\":\"note\",\"message\":\"all fine here\"}\n")
        .unwrap();
    let (code, r) = verify(&h);
    assert_eq!(code, 1);
    assert_eq!(r["problems"][0]["kind"], "foreign_line");
    assert_eq!(r["problems"][0]["line"], 4);
}

#[test]
fn well_formed_entries_appended_outside_ir_are_tampering() {
    // Someone who knows the format re-computes digests for forged entries:
    // the chain holds, but the head shows entries ir never wrote.
    let h = case_with(3);
    let head = std::fs::read(h.case.join("journal.head")).unwrap();
    h.ir().args(["journal", "note", "a"]).assert().success();
    h.ir().args(["journal", "note", "b"]).assert().success();
    std::fs::write(h.case.join("journal.head"), head).unwrap();
    let (code, r) = verify(&h);
    assert_eq!(code, 1);
    assert_eq!(r["problems"][0]["kind"], "appended");
}

#[test]
fn removed_last_entry_is_truncation() {
    let h = case_with(4);
    let mut l = lines(&h);
    l.pop();
    write_lines(&h, &l);
    let (code, r) = verify(&h);
    assert_eq!(code, 1);
    assert_eq!(r["problems"][0]["kind"], "truncated");
}

#[test]
fn truncated_last_line_is_tampering() {
    let h = case_with(4);
    let data = std::fs::read(h.journal()).unwrap();
    std::fs::write(h.journal(), &data[..data.len() - 20]).unwrap();
    let (code, r) = verify(&h);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["problems"][0]["kind"], "truncated");
    assert_eq!(r["problems"][0]["line"], 4);
}

#[test]
fn killed_mid_write_is_interrupted_not_tampering() {
    let h = case_with(4);
    // What a run killed inside its write leaves: a fragment, and a head that
    // still names the entry before it.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(h.journal())
        .unwrap();
    f.write_all(b"{\"seq\":4,\"prev\":\"0a1b2c").unwrap();
    drop(f);
    let (code, r) = verify(&h);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["verdict"], "interrupted");
    h.ir()
        .args(["journal", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("interrupted write"));
    // The next command carries on, recording the fragment; the journal is
    // intact again and still says what happened.
    h.ir()
        .args(["journal", "note", "after the crash"])
        .assert()
        .success();
    let (code, r) = verify(&h);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["verdict"], "intact");
    assert!(r["notes"].to_string().contains("interrupted"), "{r}");
    // And that fragment cannot be swapped for something else afterwards.
    let mut l = lines(&h);
    l[4] = "{\"seq\":4,\"prev\":\"ffffff".into();
    write_lines(&h, &l);
    assert_eq!(verify(&h).0, 1);
}

#[test]
fn run_killed_between_start_and_end_is_reported() {
    let h = Host::files();
    h.ir().arg("inventory").assert().success();
    let mut l = lines(&h);
    l.pop(); // the end entry never got written...
    write_lines(&h, &l);
    // ...and the head was updated with the start only.
    let e: serde_json::Value = serde_json::from_str(&l[0]).unwrap();
    let head = serde_json::json!({"seq": 0, "digest": e["digest"], "size": l[0].len() + 1});
    std::fs::write(h.case.join("journal.head"), head.to_string()).unwrap();
    let (code, r) = verify(&h);
    assert_eq!(code, 0, "{r}");
    assert!(r["notes"].to_string().contains("no end"), "{r}");
    h.ir()
        .args(["journal", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("never ended"));
}

#[test]
fn concurrent_appends_never_fork_the_chain() {
    let h = Host::files();
    let bin = env!("CARGO_BIN_EXE_ir");
    let children: Vec<_> = (0..8)
        .map(|p| {
            let case = h.case.clone();
            std::thread::spawn(move || {
                for i in 0..15 {
                    let st = std::process::Command::new(bin)
                        .arg("--case")
                        .arg(&case)
                        .args(["journal", "note", &format!("p{p} n{i}")])
                        .output()
                        .unwrap();
                    assert!(
                        st.status.success(),
                        "{}",
                        String::from_utf8_lossy(&st.stderr)
                    );
                }
            })
        })
        .collect();
    for c in children {
        c.join().unwrap();
    }
    let (code, r) = verify(&h);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["entries"], 120);
    assert_eq!(r["last_seq"], 119);
}

#[test]
fn verify_refuses_a_file_that_is_not_a_journal() {
    let h = Host::files();
    let f = h.dir.path().join("x.jsonl");
    std::fs::write(&f, "just some text\n").unwrap();
    h.ir()
        .args(["journal", "verify"])
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not an ir journal"));
}

#[test]
fn show_prints_a_timeline_and_json() {
    let h = Host::files();
    h.ir().arg("inventory").assert().success();
    h.ir()
        .args(["journal", "note", "handed bundle to analyst"])
        .assert()
        .success();
    h.ir()
        .args(["journal", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("start  inventory"))
        .stdout(predicate::str::contains("end    inventory  ok (exit 0)"))
        .stdout(predicate::str::contains("note   handed bundle to analyst"));
    let out = h.ir().args(["--json", "journal", "show"]).output().unwrap();
    assert_eq!(json_out(&out).as_array().unwrap().len(), 3);
}

/// A journal written by ir 0.1.0 (before typed records) still verifies,
/// and `ir report` on it still reads every record: the members 0.1.0's own
/// report.json had keep their values, the to-do keeps its lines plus the
/// ones later versions add (each flagged item still in place, with its
/// removal command: `added-todo.txt`, exactly), and the Markdown, rewritten
/// top-down for issue 16, is pinned by `report.now.md`
/// (`IR_UPDATE_GOLDEN=1` rewrites it). 0.1.0's own `report.golden.md` is
/// kept as the record of what that version wrote.
#[test]
fn a_journal_from_0_1_0_still_verifies_and_reports_the_same() {
    let fixture = crate::util::fixtures().join("journals/v0.1.0-demo");
    let d = tempfile::tempdir().unwrap();
    let case = d.path().join("case");
    std::fs::create_dir(&case).unwrap();
    for f in ["journal.jsonl", "journal.head"] {
        std::fs::copy(fixture.join(f), case.join(f)).unwrap();
    }
    let ir = || {
        let mut c = assert_cmd::Command::cargo_bin("ir").unwrap();
        c.arg("--case").arg(&case);
        c
    };
    let out = ir().args(["--json", "journal", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_out(&out)["verdict"], "intact");
    ir().arg("report").assert().success();
    let md = std::fs::read_to_string(case.join("report.md")).unwrap();
    crate::report::golden(
        &crate::report::normalise(&md, &case.display().to_string()),
        &fixture.join("report.now.md"),
    );
    // The golden JSON was written by 0.1.0's `ir report` on this journal.
    let got: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("report.json")).unwrap()).unwrap();
    let want: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture.join("report.golden.json")).unwrap())
            .unwrap();
    for k in [
        "format",
        "custody",
        "steps",
        "bundle",
        "rotation",
        "sessions_cleared",
        "audit",
    ] {
        assert_eq!(got[k], want[k], "{k}");
    }
    for k in ["verdict", "entries", "problems"] {
        assert_eq!(got["journal"][k], want["journal"][k], "journal.{k}");
    }
    let added: Vec<String> = std::fs::read_to_string(fixture.join("added-todo.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let mut todo = want["todo"].as_array().unwrap().clone();
    todo.extend(added.into_iter().map(serde_json::Value::from));
    assert_eq!(got["todo"], serde_json::Value::Array(todo));
    let errs = crate::report::schema_errors(&got);
    assert!(errs.is_empty(), "{errs:#?}");
}

/// Regression: a FIFO in place of the journal was reported "intact: 0
/// entries" (earlier, "not found"). It is refused by name, exit 2.
#[test]
fn a_fifo_is_no_journal() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("journal.jsonl");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    assert_cmd::Command::cargo_bin("ir")
        .unwrap()
        .arg("--case")
        .arg(d.path().join("case"))
        .args(["journal", "verify"])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a regular file (fifo)"));
}
