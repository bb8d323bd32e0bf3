//! `ir inventory`: discovery on both layouts, precedence, JSON5, bad input.

use crate::util::{Host, json_out};
use predicates::prelude::*;
use serde_json::Value;

fn inventory(h: &Host, envs: &[(&str, &str)]) -> (Value, std::process::Output) {
    let mut c = h.ir();
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.args(["--json", "inventory"]).output().unwrap();
    let v = if out.stdout.is_empty() {
        Value::Null
    } else {
        json_out(&out)
    };
    (v, out)
}

#[test]
fn files_layout_2026_7_1() {
    let h = Host::files();
    let (v, out) = inventory(&h, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = &v["deployment"];
    assert_eq!(d["layout"]["kind"], "files");
    assert_eq!(d["layout"]["version"], "2026.7.1");
    assert_eq!(d["paths"]["state_dir_source"], "default");
    let legacy: Vec<&str> = d["layout"]["legacy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(
        legacy.contains(&"agents/main/sessions/sessions.json"),
        "{legacy:?}"
    );
    assert!(legacy.contains(&"agents/main/agent/auth-profiles.json"));
    // Agents come from agents.list[] with a ~ path.
    assert_eq!(d["agents"][0]["id"], "main");
    assert_eq!(d["agents"][0]["source"], "config:list");
    assert_eq!(
        d["agents"][0]["workspace"],
        h.state().join("workspace").to_str().unwrap()
    );
    // Gateway settings: the token is described, never shown.
    assert_eq!(d["gateway"]["port"], 18789);
    assert_eq!(d["gateway"]["token"]["kind"], "inline");
    assert_eq!(d["gateway"]["token"]["length"], 46);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("FAKE-TOKEN"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("FAKE-mock-key"));
    // The running gateway: lock checked against /proc, listeners on v4 and v6.
    let r = &d["runtime"];
    assert_eq!(r["pid"], 4242);
    assert_eq!(r["locks"][0]["status"], "live");
    assert_eq!(r["processes"][0]["owns_lock"], true);
    assert_eq!(r["processes"][0]["children"][0]["pid"], 4243);
    let listeners: Vec<String> = r["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}:{}:{}",
                l["local"].as_str().unwrap(),
                l["local_port"],
                l["pid"]
            )
        })
        .collect();
    assert!(
        listeners.contains(&"127.0.0.1:18789:4242".to_string()),
        "{listeners:?}"
    );
    assert!(
        listeners.contains(&"::1:18789:4242".to_string()),
        "{listeners:?}"
    );
    let sup = &r["supervisors"][0];
    assert_eq!(sup["kind"], "systemd-user");
    assert_eq!(sup["restart"], "always");
    assert_eq!(sup["restarts_on_kill"], true);
    assert_eq!(sup["enabled"], true);
    // Logs: the shared /tmp/openclaw dir and the state logs dir.
    let logs = d["logs"].as_array().unwrap();
    assert!(
        logs.iter()
            .any(|l| l["kind"] == "shared-tmp" && l["files"][0] == "openclaw-2026-11-21.log")
    );
}

#[test]
fn journal_records_start_and_end_with_deployment() {
    let h = Host::files();
    h.ir().arg("inventory").assert().success();
    let e = h.entries();
    assert_eq!(e.len(), 2);
    assert_eq!(e[0]["kind"], "start");
    assert_eq!(e[0]["format"], "ir-journal/1");
    assert_eq!(e[0]["ir_sha256"].as_str().unwrap().len(), 64);
    // The build that began the journal: the commit `ir --version` names.
    let version = h.ir().arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let build = e[0]["ir_build"].as_str().unwrap();
    assert!(
        version.contains(&format!("({build})")),
        "{version} vs {build}"
    );
    assert!(e[1].get("ir_build").is_none(), "first entry only");
    assert!(e[0]["ts"].as_str().unwrap().ends_with('Z'));
    assert_eq!(e[1]["kind"], "end");
    assert_eq!(e[1]["status"], "ok");
    assert_eq!(e[1]["details"]["deployment"]["layout"], "files");
    assert_eq!(e[1]["prev"], e[0]["digest"]);
}

#[test]
fn human_output_is_readable() {
    let h = Host::files();
    h.ir()
        .arg("inventory")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "layout      files  version 2026.7.1",
        ))
        .stdout(predicate::str::contains(
            "listening 127.0.0.1:18789  pid 4242",
        ))
        .stdout(predicate::str::contains(
            "restart=always (brings a killed gateway back)",
        ))
        .stdout(predicate::str::contains("set in config, 46 chars"))
        .stdout(predicate::str::contains("FAKE").not());
}

#[test]
fn sqlite_layout_2026_9_6() {
    let h = Host::sqlite();
    let (v, out) = inventory(&h, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = &v["deployment"];
    assert_eq!(d["layout"]["kind"], "sqlite");
    assert_eq!(d["layout"]["version"], "2026.9.6");
    let dbs = d["layout"]["databases"].as_array().unwrap();
    assert_eq!(dbs.len(), 2);
    assert_eq!(dbs[0]["role"], "global");
    assert_eq!(dbs[0]["schema_version"], 18);
    assert_eq!(dbs[1]["role"], "agent");
    assert_eq!(dbs[1]["schema_version"], 23);
    assert_eq!(dbs[1]["agent_id"], "main");
    // The workspace sits outside the state dir: it must be seen.
    assert_eq!(d["agents"][0]["workspace_outside_state"], true);
    assert_eq!(d["agents"][0]["workspace_exists"], true);
    // The lock names a pid that is not running.
    assert_eq!(d["runtime"]["locks"][0]["status"], "stale");
    assert_eq!(d["runtime"]["running"], false);
    assert_eq!(d["gateway"]["token"]["length"], 16);
}

#[test]
fn reading_sqlite_leaves_no_new_files() {
    let h = Host::sqlite();
    // Rewrite each database whole, without its WAL: a cleanly stopped gateway.
    for db in [
        "state/openclaw.sqlite",
        "agents/main/agent/openclaw-agent.sqlite",
    ] {
        let p = h.state().join(db);
        let fresh = p.with_extension("fresh");
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute("VACUUM INTO ?1", [fresh.to_str().unwrap()])
            .unwrap();
        drop(c);
        for s in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", p.display()));
        }
        std::fs::rename(&fresh, &p).unwrap();
    }
    let before: Vec<_> = walk(&h.state());
    inventory(&h, &[]);
    assert_eq!(
        before,
        walk(&h.state()),
        "inventory created or removed files"
    );
}

fn walk(d: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(d)
        .into_iter()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn mixed_layout_when_legacy_files_remain() {
    let h = Host::sqlite();
    let s = h.state().join("agents/main/sessions");
    std::fs::create_dir_all(&s).unwrap();
    std::fs::write(s.join("sessions.json"), "{}").unwrap();
    let (v, _) = inventory(&h, &[]);
    assert_eq!(v["deployment"]["layout"]["kind"], "mixed");
}

#[test]
fn state_dir_precedence() {
    let h = Host::files();
    // OPENCLAW_STATE_DIR beats the profile and the default.
    std::fs::create_dir_all(h.path("/srv/oc-state")).unwrap();
    let (v, _) = inventory(
        &h,
        &[
            ("OPENCLAW_STATE_DIR", "/srv/oc-state"),
            ("OPENCLAW_PROFILE", "work"),
        ],
    );
    assert_eq!(
        v["deployment"]["paths"]["state_dir_source"],
        "OPENCLAW_STATE_DIR"
    );
    assert_eq!(v["deployment"]["layout"]["kind"], "empty");
    // A profile gives ~/.openclaw-NAME, and a port derived from the name.
    std::fs::create_dir_all(h.path("/home/alice/.openclaw-work")).unwrap();
    let (v, _) = inventory(&h, &[("OPENCLAW_PROFILE", "work")]);
    assert_eq!(
        v["deployment"]["paths"]["state_dir"],
        h.path("/home/alice/.openclaw-work").to_str().unwrap()
    );
    assert_eq!(v["deployment"]["gateway"]["port_source"], "profile");
    // OPENCLAW_HOME moves ~.
    copy_state(&h, "/home/alice/.openclaw", "/opt/alt/.openclaw");
    let (v, _) = inventory(&h, &[("OPENCLAW_HOME", "/opt/alt")]);
    assert_eq!(
        v["deployment"]["paths"]["state_dir"],
        h.path("/opt/alt/.openclaw").to_str().unwrap()
    );
    // --home beats everything.
    let out = h
        .ir()
        .env("OPENCLAW_STATE_DIR", "/nope")
        .arg("--home")
        .arg(h.state())
        .args(["--json", "inventory"])
        .output()
        .unwrap();
    assert_eq!(
        json_out(&out)["deployment"]["paths"]["state_dir_source"],
        "--home"
    );
    // Legacy ~/.clawdbot only when ~/.openclaw is missing.
    std::fs::rename(h.state(), h.path("/home/alice/.clawdbot")).unwrap();
    let (v, _) = inventory(&h, &[]);
    assert_eq!(v["deployment"]["paths"]["state_dir_source"], "legacy");
    assert_eq!(v["deployment"]["layout"]["kind"], "files");
}

fn copy_state(h: &Host, from: &str, to: &str) {
    crate::util::copy_tree(&h.path(from), &h.path(to));
}

#[test]
fn config_precedence_and_legacy_name() {
    let h = Host::files();
    let cfg = h.path("/etc/oc.json");
    std::fs::write(&cfg, "{gateway: {port: 19999}}").unwrap();
    let (v, _) = inventory(&h, &[("OPENCLAW_CONFIG_PATH", "/etc/oc.json")]);
    assert_eq!(
        v["deployment"]["paths"]["config_source"],
        "OPENCLAW_CONFIG_PATH"
    );
    assert_eq!(v["deployment"]["gateway"]["port"], 19999);
    std::fs::rename(
        h.state().join("openclaw.json"),
        h.state().join("clawdbot.json"),
    )
    .unwrap();
    let (v, _) = inventory(&h, &[]);
    assert_eq!(v["deployment"]["paths"]["config_source"], "legacy");
    assert_eq!(v["deployment"]["layout"]["config_version"], "2026.7.1");
    // The env port beats the config.
    let (v, _) = inventory(&h, &[("OPENCLAW_GATEWAY_PORT", "127.0.0.1:20001")]);
    assert_eq!(v["deployment"]["gateway"]["port"], 20001);
}

#[test]
fn json5_syntax_error_names_file_line_and_column() {
    let h = Host::files();
    std::fs::write(
        h.state().join("openclaw.json"),
        "{\n  gateway: {\n    port: 18789,,\n  },\n}\n",
    )
    .unwrap();
    h.ir()
        .arg("inventory")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "openclaw.json: JSON5 syntax error at line 3, column",
        ))
        .stderr(predicate::str::contains("fix:"));
    let e = h.entries();
    assert_eq!(e.len(), 2);
    assert_eq!(e[1]["status"], "failed");
    assert!(e[1]["error"].as_str().unwrap().contains("line 3"));
}

#[test]
fn missing_state_dir_is_a_clear_error() {
    let h = Host::files();
    h.ir()
        .arg("--home")
        .arg(h.path("/nowhere"))
        .arg("inventory")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not exist"))
        .stderr(predicate::str::contains("fix: pass --home"));
    // Default resolution fails but lists the state dirs it can see.
    let out = h
        .ir()
        .env("HOME", "/root")
        .arg("inventory")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(".openclaw"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn case_dir_that_cannot_be_created() {
    let h = Host::files();
    let file = h.dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"));
    c.env_clear()
        .env("HOME", &h.home)
        .arg("--root")
        .arg(&h.root)
        .arg("--case")
        .arg(file.join("case"))
        .arg("inventory")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot use case dir"));
}

#[test]
fn foreign_journal_is_refused() {
    let h = Host::files();
    std::fs::create_dir_all(&h.case).unwrap();
    std::fs::write(h.journal(), "{\"hello\": 1}\n").unwrap();
    h.ir()
        .arg("inventory")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not an ir journal"));
    assert_eq!(
        std::fs::read_to_string(h.journal()).unwrap(),
        "{\"hello\": 1}\n"
    );
}

#[test]
fn unreadable_file_is_reported_and_inventory_goes_on() {
    let h = Host::sqlite();
    let db = h.state().join("state/openclaw.sqlite");
    for s in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", db.display()));
    }
    std::fs::write(
        &db,
        b"this is not a database, it is junk padding to look like one......",
    )
    .unwrap();
    let (v, out) = inventory(&h, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not read"));
    // The rest of the inventory is there.
    assert_eq!(v["deployment"]["layout"]["version"], "2026.9.6");
    assert!(
        v["deployment"]["problems"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("openclaw.sqlite")
    );
    assert_eq!(h.entries().last().unwrap()["exit_code"], 2);
}

#[test]
fn reused_pid_is_not_the_gateway() {
    let h = Host::files();
    std::fs::write(
        h.path("/proc/4242/stat"),
        "4242 (bash) S 1 4242 4242 0 -1 4194560 1 0 0 0 1 1 0 0 20 0 11 0 99999 1 1\n",
    )
    .unwrap();
    std::fs::write(h.path("/proc/4242/cmdline"), "bash\0").unwrap();
    let (v, _) = inventory(&h, &[]);
    let r = &v["deployment"]["runtime"];
    assert_eq!(r["locks"][0]["status"], "reused");
    assert_eq!(r["pid"], Value::Null);
    assert!(r["processes"].as_array().unwrap().is_empty());
}

#[test]
fn hostile_strings_are_escaped_in_text_output() {
    let h = Host::files();
    std::fs::write(
        h.state().join("openclaw.json"),
        "{agents: {defaults: {workspace: \"/srv/\\u001b[31mred\\u202eevil\"}}, gateway: {bind: \"\\u001b]0;pwned\\u0007\"}}",
    )
    .unwrap();
    let out = h.ir().arg("inventory").output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        !s.contains('\u{1b}') && !s.contains('\u{202e}') && !s.contains('\u{7}'),
        "{s}"
    );
    assert!(s.contains("\\u{001b}[31mred\\u{202e}evil"), "{s}");
}

#[test]
fn profile_name_is_validated() {
    let h = Host::files();
    h.ir()
        .args(["--profile", "../../etc", "inventory"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid OpenClaw profile name"));
}

#[test]
fn completions_and_man() {
    let h = Host::files();
    h.ir()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("inventory"));
    h.ir()
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH ir"));
    assert!(!h.journal().exists(), "completions must not journal");
}

/// Regression: a symlinked `openclaw.json` (OpenClaw follows it) made
/// every command abort, so no evidence was collected. Inside the state dir
/// it is followed and named; out of it, it is refused by name, and
/// `collect` collects all the same, as it does with a config that does
/// not parse.
#[test]
fn a_symlinked_or_broken_config_never_stops_collection() {
    let h = Host::files();
    let cfg = h.state().join("openclaw.json");
    std::fs::rename(&cfg, h.state().join("real.json5")).unwrap();
    std::os::unix::fs::symlink("real.json5", &cfg).unwrap();
    let out = h.ir().args(["--json", "inventory"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        json_out(&out)["deployment"]["config_symlink"]
            .as_str()
            .unwrap()
            .ends_with("real.json5")
    );

    let (_, r) = crate::collect::keypair(h.dir.path());
    let outside = h.dir.path().join("elsewhere.json");
    std::fs::write(&outside, "{ gateway: { port: 1 } }").unwrap();
    std::fs::remove_file(&cfg).unwrap();
    std::os::unix::fs::symlink(&outside, &cfg).unwrap();
    h.ir()
        .arg("inventory")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "outside the state dir: not followed",
        ));
    h.ir().args(["-q", "collect", "-r", &r]).assert().success();

    std::fs::remove_file(&cfg).unwrap();
    std::fs::write(&cfg, "{ gateway: { port: 1,, } }").unwrap();
    h.ir().args(["-q", "collect", "-r", &r]).assert().success();
    let bundles = std::fs::read_dir(&h.case)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tar.gz.age")
        })
        .count();
    assert_eq!(bundles, 2);
}

/// An image whose state dir, or whose `/home`, is an absolute symlink: it
/// is followed inside `--root`, as a chroot would, never into the
/// examiner's own `/srv` or `/var` (regression: the kernel followed it
/// there, and the deployment was "missing").
#[test]
fn absolute_links_in_an_image_are_followed_inside_the_root() {
    let soul_found = |h: &Host| {
        let o = h.ir().args(["--json", "persistence"]).output().unwrap();
        json_out(&o)["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["path"].as_str().unwrap().ends_with("workspace/SOUL.md"))
    };
    // The state dir itself.
    let h = Host::files();
    assert!(!std::path::Path::new("/srv/oc-ir-test").exists());
    std::fs::create_dir_all(h.path("/srv")).unwrap();
    std::fs::rename(h.state(), h.path("/srv/oc-ir-test")).unwrap();
    std::os::unix::fs::symlink("/srv/oc-ir-test", h.state()).unwrap();
    let v = found_state_dir(&h, "/srv/oc-ir-test");
    assert_eq!(v["deployment"]["state_dir_symlink"], "/srv/oc-ir-test");
    assert!(soul_found(&h));
    let o = h.ir().args(["--json", "audit"]).output().unwrap();
    let ids: Vec<String> = json_out(&o)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.iter().any(|i| i == "fs.state_dir.symlink"), "{ids:?}");

    // `/home` (an OSTree host's `/home -> /var/home`, written absolute).
    let h = Host::files();
    std::fs::create_dir_all(h.path("/var")).unwrap();
    std::fs::rename(h.path("/home"), h.path("/var/home")).unwrap();
    std::os::unix::fs::symlink("/var/home", h.path("/home")).unwrap();
    found_state_dir(&h, "/var/home/alice/.openclaw");
    assert!(soul_found(&h));
}

/// Inventory succeeds and finds the state dir at `host` under the root.
fn found_state_dir(h: &Host, host: &str) -> Value {
    let (v, out) = inventory(h, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = v["deployment"]["paths"]["state_dir"].as_str().unwrap();
    assert_eq!(state, h.path(host).to_str().unwrap());
    v
}
