//! `ir collect`, `ir verify`, `ir extract`: the bundle on both layouts,
//! interop with Go age and GNU tar, hostile trees, tampering, interruption.

use crate::util::{Host, json_out, skip_or_fail};
use age::secrecy::ExposeSecret;
use predicates::prelude::*;
use serde_json::Value;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An age identity file and its recipient.
pub fn keypair(dir: &Path) -> (PathBuf, String) {
    let id = age::x25519::Identity::generate();
    let p = dir.join("key.txt");
    std::fs::write(&p, format!("{}\n", id.to_string().expose_secret())).unwrap();
    (p, id.to_public().to_string())
}

/// Runs `ir collect -r KEY` and returns (bundle path, summary JSON).
pub fn collect(h: &Host, recipient: &str, extra: &[&str]) -> (PathBuf, Value) {
    let out = h
        .ir()
        .args(["--json", "collect", "-r", recipient])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "collect failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_out(&out);
    (PathBuf::from(v["bundle"].as_str().unwrap()), v)
}

pub fn manifest(h: &Host) -> Value {
    let p = std::fs::read_dir(&h.case)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .unwrap();
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn item<'a>(m: &'a Value, host_path: &str) -> &'a Value {
    m["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == host_path)
        .unwrap_or_else(|| panic!("{host_path} not in manifest"))
}

fn verify(h: &Host, bundle: &Path, key: &Path) -> (i32, Value) {
    let out = h
        .ir()
        .args(["--json", "verify"])
        .arg(bundle)
        .arg("-i")
        .arg(key)
        .output()
        .unwrap();
    (out.status.code().unwrap(), json_out(&out))
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

#[test]
fn files_layout_bundle_verifies_and_is_journaled() {
    let h = Host::files();
    let (key, r) = keypair(h.dir.path());
    let (bundle, s) = collect(&h, &r, &[]);
    let name = bundle.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("incident-") && name.ends_with(".tar.gz.age"),
        "{name}"
    );
    assert_eq!(s["verdicts"]["ok"]["count"], s["items"]);
    let (code, v) = verify(&h, &bundle, &key);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["outer"]["sidecar_matches"], true);
    assert_eq!(v["outer"]["journal_matches"], true);
    // The journal's end entry records the bundle, its hash and the manifest.
    let end = h
        .entries()
        .into_iter()
        .rev()
        .find(|e| e["command"] == "collect" && e["kind"] == "end")
        .unwrap();
    assert_eq!(end["details"]["sha256"], s["sha256"]);
    assert_eq!(end["details"]["manifest_sha256"], s["manifest_sha256"]);
    assert_eq!(end["details"]["verdicts"]["ok"]["count"], s["items"]);
    // What the playbook needs preserved is in the manifest, with hashes.
    let m = manifest(&h);
    for p in [
        "/home/alice/.openclaw/openclaw.json",
        "/home/alice/.openclaw/openclaw.json.bak",
        "/home/alice/.openclaw/.env",
        "/home/alice/.openclaw/agents/main/sessions/sessions.json",
        "/home/alice/.openclaw/agents/main/sessions/7f3c1a20-5b1e-4c8e-9d2a-1e0c6b9a4f11.jsonl",
        "/home/alice/.openclaw/credentials/telegram-allowFrom.json",
        "/home/alice/.openclaw/workspace/SOUL.md",
        "/tmp/openclaw/openclaw-2026-11-21.log",
        "/home/alice/.config/systemd/user/openclaw-gateway.service",
        "/etc/passwd",
    ] {
        let i = item(&m, p);
        assert_eq!(i["verdict"], "ok", "{p}");
        assert_eq!(i["sha256"].as_str().unwrap().len(), 64, "{p}");
        assert!(i["mtime"].as_str().unwrap().ends_with('Z'));
        assert!(i["ctime"].as_str().is_some());
    }
    // The enabling link is kept as a link.
    let l = item(
        &m,
        "/home/alice/.config/systemd/user/default.target.wants/openclaw-gateway.service",
    );
    assert_eq!(l["type"], "symlink");
    assert_eq!(l["target"], "../openclaw-gateway.service");
    // Volatile state came first, with the gateway's environment.
    let first = &m["items"][0];
    assert_eq!(first["archive_path"], "volatile/system.json");
    assert!(
        m["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["archive_path"] == "volatile/gateway-4242.json")
    );
}

#[test]
fn sqlite_layout_collects_raw_database_files() {
    let h = Host::sqlite();
    let (key, r) = keypair(h.dir.path());
    let (bundle, s) = collect(&h, &r, &[]);
    let m = manifest(&h);
    let db = "/home/bob/.openclaw/state/openclaw.sqlite";
    assert_eq!(item(&m, db)["verdict"], "ok");
    assert_eq!(item(&m, &format!("{db}-wal"))["verdict"], "ok");
    assert_eq!(
        item(
            &m,
            "/home/bob/.openclaw/agents/main/agent/openclaw-agent.sqlite"
        )["verdict"],
        "ok"
    );
    // The workspace outside the state dir is collected too.
    assert_eq!(
        item(&m, "/srv/openclaw/bob-workspace/SOUL.md")["verdict"],
        "ok"
    );
    // The raw database files come before the rest of the state dir.
    let idx = |p: &str| {
        m["items"]
            .as_array()
            .unwrap()
            .iter()
            .position(|i| i["path"] == p)
            .unwrap()
    };
    assert!(idx(db) < idx("/home/bob/.openclaw/openclaw.json"));
    // No live gateway: no snapshot needed.
    assert_eq!(s["snapshots"].as_array().unwrap().len(), 0);
    assert_eq!(verify(&h, &bundle, &key).0, 0);
}

#[test]
fn go_age_and_gnu_tar_read_the_bundle() {
    if !have("age") || !have("tar") || !have("sha256sum") {
        return skip_or_fail("Go age, GNU tar or sha256sum missing (apt-get install age)");
    }
    let h = Host::files();
    let (key, r) = keypair(h.dir.path());
    // A sparse file with data in the middle, and a non-UTF-8 name.
    let sparse = h.state().join("logs/sparse.bin");
    let f = std::fs::File::create(&sparse).unwrap();
    f.set_len(64 << 20).unwrap();
    use std::os::unix::fs::FileExt;
    f.write_all_at(b"in the middle", 32 << 20).unwrap();
    drop(f);
    std::fs::write(
        h.state()
            .join(std::ffi::OsStr::from_bytes(b"logs/caf\xe9.txt")),
        b"latin-1 name",
    )
    .unwrap();
    let (bundle, _) = collect(&h, &r, &[]);
    let out = h.dir.path().join("gnu");
    std::fs::create_dir(&out).unwrap();
    let sh = format!(
        "age -d -i '{}' '{}' | tar -xzf - -C '{}' && cd '{}'/incident-* && sha256sum -c --quiet MANIFEST.sha256",
        key.display(),
        bundle.display(),
        out.display(),
        out.display()
    );
    let st = Command::new("sh").arg("-c").arg(&sh).output().unwrap();
    assert!(
        st.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&st.stdout),
        String::from_utf8_lossy(&st.stderr)
    );
    let top = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let back = std::fs::read(top.join("files/home/alice/.openclaw/logs/sparse.bin")).unwrap();
    assert_eq!(back.len(), 64 << 20);
    assert_eq!(&back[32 << 20..(32 << 20) + 13], b"in the middle");
    // GNU tar kept the nanosecond mtime from the PAX record.
    let m = manifest(&h);
    let soul = item(&m, "/home/alice/.openclaw/workspace/SOUL.md");
    let meta = std::fs::metadata(top.join("files/home/alice/.openclaw/workspace/SOUL.md")).unwrap();
    let got = chrono::DateTime::<chrono::Utc>::from(meta.modified().unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    assert_eq!(soul["mtime"], got);
    // And the sidecar is sha256sum -c compatible.
    let st = Command::new("sha256sum")
        .arg("-c")
        .arg(format!("{}.sha256", bundle.display()))
        .current_dir(&h.case)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stdout)
    );
}

#[test]
fn passphrase_bundles() {
    let h = Host::files();
    let pf = h.dir.path().join("pass");
    std::fs::write(&pf, "correct horse battery staple\n").unwrap();
    let out = h
        .ir()
        .args(["--json", "collect", "--passphrase-file"])
        .arg(&pf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_out(&out);
    assert_eq!(v["encryption"]["passphrase"], true);
    let bundle = v["bundle"].as_str().unwrap();
    h.ir()
        .args(["verify", bundle])
        .env("IR_PASSPHRASE", "correct horse battery staple")
        .arg("--passphrase")
        .assert()
        .success();
    // The passphrase never reaches the journal.
    assert!(
        !std::fs::read_to_string(h.journal())
            .unwrap()
            .contains("horse")
    );
    h.ir()
        .args(["verify", bundle, "--passphrase"])
        .env("IR_PASSPHRASE", "wrong")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot decrypt"));
}

#[test]
fn bad_keys_are_clear_errors_and_leave_nothing_behind() {
    let h = Host::files();
    let (_, r) = keypair(h.dir.path());
    for (args, msg) in [
        (vec!["collect"], "no key to encrypt"),
        (
            vec!["collect", "-r", "age1notakey"],
            "invalid age recipient \"age1notakey\"",
        ),
        (
            vec!["collect", "-r", "hello"],
            "invalid recipient \"hello\"",
        ),
        (
            vec!["collect", "-r", &r, "--passphrase"],
            "recipients and a passphrase cannot be combined",
        ),
    ] {
        h.ir()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
    let left: Vec<_> = std::fs::read_dir(&h.case)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["journal.head", "journal.jsonl"]);
    assert!(
        h.entries()
            .iter()
            .filter(|e| e["kind"] == "end")
            .all(|e| e["status"] == "failed")
    );
}

#[test]
fn ssh_recipients_work() {
    if Command::new("ssh-keygen").arg("-?").output().is_err() {
        return skip_or_fail("ssh-keygen missing (apt-get install openssh-client)");
    }
    for kind in ["ed25519", "rsa"] {
        let h = Host::files();
        let dir = h.dir.path();
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", "", "-f"])
            .arg(dir.join("id"))
            .status()
            .unwrap();
        assert!(st.success());
        let pubkey = std::fs::read_to_string(dir.join("id.pub")).unwrap();
        assert!(pubkey.starts_with(&format!("ssh-{kind}")));
        let (bundle, _) = collect(&h, pubkey.trim(), &[]);
        h.ir()
            .arg("verify")
            .arg(&bundle)
            .arg("-i")
            .arg(dir.join("id"))
            .assert()
            .success();
    }
}

#[test]
fn hostile_tree_is_collected_safely() {
    let h = Host::files();
    let (key, r) = keypair(h.dir.path());
    let s = h.state();
    let logs = s.join("logs");
    // A FIFO named like a log: never opened (opening it would block).
    rustix::fs::mknodat(
        rustix::fs::CWD,
        logs.join("openclaw-2026-11-25.log"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    // Links: a loop, a link to /etc/shadow, a dangling one, one to the root.
    std::os::unix::fs::symlink("b", s.join("a")).unwrap();
    std::os::unix::fs::symlink("a", s.join("b")).unwrap();
    std::os::unix::fs::symlink(".", s.join("self")).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", s.join("shadow")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/x", s.join("dangling")).unwrap();
    std::os::unix::fs::symlink("/", s.join("rootlink")).unwrap();
    // A 10 GiB sparse file.
    let f = std::fs::File::create(s.join("huge.sparse")).unwrap();
    f.set_len(10 << 30).unwrap();
    drop(f);
    // A name with a newline and invalid UTF-8.
    let weird = std::ffi::OsStr::from_bytes(b"we\nird\xff.txt");
    std::fs::write(s.join(weird), b"odd name").unwrap();
    // A hard link: stored once, then as a link.
    std::fs::hard_link(s.join("openclaw.json"), s.join("linked-config.json")).unwrap();
    // A directory with 100,000 entries.
    let big = s.join("agents/main/sessions/big");
    std::fs::create_dir(&big).unwrap();
    for i in 0..100_000 {
        std::fs::File::create(big.join(format!("{i:06}.jsonl"))).unwrap();
    }
    // A log being appended to while it is read.
    let live = logs.join("live.log");
    std::fs::write(&live, vec![b'x'; 8 << 20]).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let live = live.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().append(true).open(live).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = f.write_all(b"{\"line\":\"more\"}\n");
            }
        })
    };
    let t0 = std::time::Instant::now();
    let (bundle, summary) = collect(&h, &r, &[]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    eprintln!("hostile collect took {:?}", t0.elapsed());
    let m = manifest(&h);
    let p = |rel: &str| format!("/home/alice/.openclaw/{rel}");
    assert_eq!(
        item(&m, &p("logs/openclaw-2026-11-25.log"))["verdict"],
        "skipped_special"
    );
    assert_eq!(item(&m, &p("logs/openclaw-2026-11-25.log"))["type"], "fifo");
    assert_eq!(item(&m, &p("shadow"))["type"], "symlink");
    assert_eq!(item(&m, &p("shadow"))["target"], "/etc/shadow");
    assert_eq!(item(&m, &p("a"))["target"], "b");
    assert_eq!(item(&m, &p("self"))["type"], "symlink");
    assert_eq!(item(&m, &p("dangling"))["verdict"], "ok");
    let (a, b) = (
        item(&m, &p("linked-config.json")),
        item(&m, &p("openclaw.json")),
    );
    let (first, second) = if a["type"] == "hardlink" {
        (b, a)
    } else {
        (a, b)
    };
    assert_eq!(second["type"], "hardlink");
    assert_eq!(second["sha256"], first["sha256"]);
    assert_eq!(second["target"], first["archive_path"]);
    assert_eq!(item(&m, &p("huge.sparse"))["verdict"], "truncated_at_cap");
    assert_eq!(item(&m, &p("huge.sparse"))["sparse_data_bytes"], 0);
    let w = item(&m, &p("we\\nird\\xff.txt"));
    assert_eq!(w["path_b64"].as_str().unwrap().len() % 4, 0);
    assert!(matches!(
        item(&m, &p("logs/live.log"))["verdict"].as_str(),
        Some("ok" | "changed_during_read")
    ));
    assert_eq!(summary["verdicts"]["skipped_special"]["count"], 1);
    assert!(m["items"].as_array().unwrap().len() > 100_000);
    // The bundle is sound, and nothing from outside the roots got in.
    let (code, v) = verify(&h, &bundle, &key);
    assert_eq!(code, 0, "{}", v["problems"]);
    let out = h.dir.path().join("x");
    h.ir()
        .arg("extract")
        .arg(&bundle)
        .arg("-i")
        .arg(&key)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let x = out.join("files/home/alice/.openclaw");
    assert!(
        std::fs::symlink_metadata(x.join("shadow"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(x.join(weird)).unwrap(), b"odd name");
    // The 2 GiB hole (cut at the 2 GiB cap) comes back as a hole: its full
    // logical size, and no disk blocks.
    let sparse = std::fs::metadata(x.join("huge.sparse")).unwrap();
    assert_eq!(sparse.len(), 2 << 30);
    assert!(std::os::unix::fs::MetadataExt::blocks(&sparse) < 64);
    if let Ok(shadow) = std::fs::read("/etc/shadow")
        && !shadow.is_empty()
    {
        let files = walkdir::WalkDir::new(&out)
            .into_iter()
            .filter_map(Result::ok);
        for e in files.filter(|e| {
            e.file_type().is_file()
                && e.metadata()
                    .is_ok_and(|m| m.len() > 0 && m.len() < 64 << 20)
        }) {
            let data = std::fs::read(e.path()).unwrap();
            assert!(
                !data
                    .windows(shadow.len().min(64))
                    .any(|w| w == &shadow[..shadow.len().min(64)]),
                "{} holds /etc/shadow",
                e.path().display()
            );
        }
    }
}

#[test]
fn any_flipped_byte_or_truncation_fails_verification() {
    let h = Host::files();
    let (key, r) = keypair(h.dir.path());
    let (bundle, _) = collect(&h, &r, &[]);
    let data = std::fs::read(&bundle).unwrap();
    let n = data.len();
    for (i, pos) in [10, 100, n / 3, n / 2, n - 20, n - 1]
        .into_iter()
        .enumerate()
    {
        let bad = h.dir.path().join(format!("flip{i}.tar.gz.age"));
        let mut d = data.clone();
        d[pos] ^= 0x01;
        std::fs::write(&bad, &d).unwrap();
        let out = h
            .ir()
            .arg("verify")
            .arg(&bad)
            .arg("-i")
            .arg(&key)
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "flip at {pos} went unnoticed");
    }
    // Keyless: the sidecar catches a flip beside the bundle.
    let mut d = data.clone();
    d[n / 2] ^= 0x80;
    std::fs::write(&bundle, &d).unwrap();
    h.ir()
        .arg("verify")
        .arg(&bundle)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DOES NOT MATCH"));
    std::fs::write(&bundle, &data[..n - 100]).unwrap();
    h.ir()
        .arg("verify")
        .arg(&bundle)
        .arg("-i")
        .arg(&key)
        .assert()
        .code(1);
    // A file that is not age at all.
    let junk = h.dir.path().join("junk.age");
    std::fs::write(&junk, b"not an age file").unwrap();
    h.ir()
        .arg("verify")
        .arg(&junk)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("age header is malformed"));
}

#[test]
fn wrong_identity_is_a_clear_error() {
    let h = Host::files();
    let (_, r) = keypair(h.dir.path());
    let (bundle, _) = collect(&h, &r, &[]);
    let other = tempfile::tempdir().unwrap();
    let (key2, _) = keypair(other.path());
    h.ir()
        .arg("verify")
        .arg(&bundle)
        .arg("-i")
        .arg(&key2)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot decrypt"))
        .stderr(predicate::str::contains(
            "fix: this bundle is encrypted to recipients",
        ));
    h.ir()
        .arg("extract")
        .arg(&bundle)
        .arg("-i")
        .arg(&key2)
        .arg("-o")
        .arg(h.dir.path().join("o"))
        .assert()
        .code(2);
    assert!(!h.dir.path().join("o").exists());
}

#[test]
fn case_dir_inside_a_collected_root_is_refused() {
    let h = Host::files();
    let (_, r) = keypair(h.dir.path());
    let case = h.state().join("ir-case");
    let mut c = h.ir_no_case();
    c.arg("--case").arg(&case).args(["collect", "-r", &r]);
    c.assert()
        .code(2)
        .stderr(predicate::str::contains("the bundle would collect itself"));
    let mut c = h.ir_no_case();
    c.arg("--case").arg(&case).args([
        "collect",
        "-r",
        &r,
        "--exclude",
        "/home/alice/.openclaw/ir-case/**",
        "--exclude",
        "/home/alice/.openclaw/ir-case",
    ]);
    c.assert().success();
}

#[test]
fn unwritable_output_dir_is_a_clear_error() {
    let h = Host::files();
    let (_, r) = keypair(h.dir.path());
    let file = h.dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let mut c = h.ir_no_case();
    c.arg("--case")
        .arg(file.join("case"))
        .args(["collect", "-r", &r]);
    c.assert()
        .code(2)
        .stderr(predicate::str::contains("cannot use case dir"));
}

#[test]
fn excludes_and_adds() {
    let h = Host::files();
    let (_, r) = keypair(h.dir.path());
    // Not a catalogue location (web roots are: they would be taken anyway).
    std::fs::create_dir_all(h.path("/srv/app")).unwrap();
    std::fs::write(h.path("/srv/app/shell.php"), "<?php system($_GET['c']); ?>").unwrap();
    collect(
        &h,
        &r,
        &[
            "--add",
            "/srv/app",
            "--exclude",
            "/home/alice/.openclaw/workspace/**",
        ],
    );
    let m = manifest(&h);
    assert_eq!(item(&m, "/srv/app/shell.php")["source"], "added");
    assert!(
        !m["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["path"] == "/home/alice/.openclaw/workspace/SOUL.md")
    );
    h.ir()
        .args(["collect", "-r", &r, "--exclude", "a{b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid --exclude glob"));
}

fn big_host() -> (Host, String) {
    let h = Host::files();
    let (_, r) = keypair(h.dir.path());
    // Enough text to take seconds at level 9 on one thread (random bytes
    // would be stored, not compressed, and go too fast).
    let words = [
        "agent ", "tool ", "exec ", "read ", "session ", "token ", "gateway ", "skill ",
    ];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut data = Vec::with_capacity(96 << 20);
    while data.len() < 96 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(words[(x % 8) as usize].as_bytes());
        data.extend_from_slice(&x.to_le_bytes()[..2]);
    }
    std::fs::write(h.state().join("media.bin"), &data).unwrap();
    (h, r)
}

/// A collect slow enough (level 9, one thread) to be interrupted.
fn spawn_slow_collect(h: &Host, r: &str) -> std::process::Child {
    h.command()
        .args(["collect", "-r", r, "--level", "9", "--threads", "1"])
        .spawn()
        .unwrap()
}

fn bundles_in(case: &Path) -> Vec<String> {
    std::fs::read_dir(case)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tar.gz.age"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn ctrl_c_leaves_no_bundle_and_is_journaled() {
    let (h, r) = big_host();
    let child = spawn_slow_collect(&h, &r);
    h.wait_for_start("collect");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = crate::util::ctrl_c(child);
    assert_eq!(out.status.code(), Some(130));
    assert!(bundles_in(&h.case).is_empty(), "{:?}", bundles_in(&h.case));
    let end = h
        .entries()
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "end")
        .unwrap();
    assert_eq!(end["status"], "interrupted");
    assert_eq!(end["exit_code"], 130);
    h.ir().args(["journal", "verify"]).assert().success();
}

#[test]
fn a_killed_collect_never_leaves_a_final_name() {
    let (h, r) = big_host();
    let mut child = spawn_slow_collect(&h, &r);
    // Killed once its work has begun (a fixed sleep raced a busy machine).
    h.wait_for_start("collect");
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let names = bundles_in(&h.case);
    assert!(
        names
            .iter()
            .all(|n| n.starts_with('.') && n.contains(".partial-")),
        "{names:?}"
    );
    // The journal tells the run never finished; it is not tampering.
    let out = h
        .ir()
        .args(["--json", "journal", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(json_out(&out)["notes"].to_string().contains("no end"));
}

#[test]
fn extract_refuses_a_malicious_archive() {
    // A bundle crafted by hand: escaping paths, a symlink to write through,
    // a device node and a setuid file.
    let h = Host::files();
    let (key, r) = keypair(h.dir.path());
    let mut tar_bytes = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut tar_bytes, flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        let mut add =
            |path: &[u8], kind: tar::EntryType, link: Option<&str>, data: &[u8], mode: u32| {
                let mut hd = tar::Header::new_gnu();
                let g = hd.as_gnu_mut().unwrap();
                g.name[..path.len()].copy_from_slice(path);
                if let Some(l) = link {
                    g.linkname[..l.len()].copy_from_slice(l.as_bytes());
                }
                hd.set_entry_type(kind);
                hd.set_size(data.len() as u64);
                hd.set_mode(mode);
                hd.set_cksum();
                b.append(&hd, data).unwrap();
            };
        add(
            b"top/files/ok.txt",
            tar::EntryType::Regular,
            None,
            b"fine",
            0o4755,
        );
        add(
            b"top/evil",
            tar::EntryType::Symlink,
            Some("/tmp"),
            b"",
            0o777,
        );
        add(
            b"top/evil/pwned",
            tar::EntryType::Regular,
            None,
            b"through the link",
            0o644,
        );
        add(
            b"top/../../escape",
            tar::EntryType::Regular,
            None,
            b"out",
            0o644,
        );
        add(b"top/dev", tar::EntryType::Char, None, b"", 0o644);
        b.into_inner().unwrap().finish().unwrap();
    }
    let rec: age::x25519::Recipient = r.parse().unwrap();
    let enc = age::encrypt(&rec, &tar_bytes).unwrap();
    let bundle = h.dir.path().join("evil.tar.gz.age");
    std::fs::write(&bundle, enc).unwrap();
    let out = h.dir.path().join("out");
    h.ir()
        .arg("extract")
        .arg(&bundle)
        .arg("-i")
        .arg(&key)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("failed verification"));
    assert!(!out.exists());
    assert!(!Path::new("/tmp/pwned").exists());
    // Even with --force, nothing lands outside and no setuid bit is set.
    h.ir()
        .arg("extract")
        .arg(&bundle)
        .arg("-i")
        .arg(&key)
        .arg("-o")
        .arg(&out)
        .arg("--force")
        .assert()
        .code(1);
    assert!(!Path::new("/tmp/pwned").exists());
    assert!(!h.dir.path().join("escape").exists());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(out.join("files/ok.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7000,
        0
    );
    assert!(!out.join("dev").exists());
}

/// A small tmpfs, unmounted when dropped.
pub struct SmallFs(pub PathBuf);

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn too_little_free_space_is_refused_before_starting() {
    let h = Host::files();
    let (_, r) = keypair(h.dir.path());
    let mnt = h.dir.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return skip_or_fail("cannot mount a tmpfs (needs root) to test the free-space check");
    }
    let _guard = SmallFs(mnt.clone());
    let mut big = vec![0u8; 8 << 20];
    getrandom::fill(&mut big).unwrap();
    std::fs::write(h.state().join("media.bin"), big).unwrap();
    let case = mnt.join("case");
    let mut c = h.ir_no_case();
    c.arg("--case").arg(&case).args(["collect", "-r", &r]);
    c.assert()
        .code(2)
        .stderr(predicate::str::contains("too little free space"))
        .stderr(predicate::str::contains(
            "fix: put --case on a filesystem with more room",
        ));
    let left: Vec<String> = std::fs::read_dir(&case)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // The journal and its seal (the first collect seals the case), no spool.
    assert!(
        left.iter()
            .all(|n| n.starts_with("journal.") || n.starts_with("seal.")),
        "{left:?}"
    );
}

#[test]
fn pseudo_files_are_read_with_a_bound() {
    // /proc files say they are empty; what they hold is read, capped.
    let h = Host::files();
    let (key, r) = keypair(h.dir.path());
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"));
    c.arg("--home").arg(h.state()).arg("--case").arg(&h.case);
    c.args([
        "collect",
        "-r",
        &r,
        "--add",
        "/proc/self/status",
        "--add",
        "/proc/self/cmdline",
    ]);
    c.assert().success();
    let m = manifest(&h);
    let st = item(&m, "/proc/self/status");
    assert_eq!(st["pseudo_file"], true);
    assert!(st["stored_bytes"].as_u64().unwrap() > 100);
    let bundle = std::fs::read_dir(&h.case)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz.age"))
        .unwrap();
    assert_eq!(verify(&h, &bundle, &key).0, 0);
}

/// Regression: a symlink member `files/e -> DIR` and then a hard-link
/// member whose target goes through it made `extract` hard-link a file
/// outside the output dir, and `verify` call the bundle sound. Both now
/// refuse it, and nothing outside is touched even with `--force`.
#[test]
fn a_hard_link_through_a_symlink_member_is_refused() {
    let h = Host::files();
    let (key, r) = keypair(h.dir.path());
    let victim = h.dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("secret"), "outside").unwrap();
    let mut tar_bytes = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut tar_bytes, flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        let mut link = |path: &str, kind: tar::EntryType, target: &str| {
            let mut hd = tar::Header::new_gnu();
            hd.set_entry_type(kind);
            hd.set_size(0);
            hd.set_mode(0o777);
            b.append_link(&mut hd, path, target).unwrap();
        };
        link(
            "top/files/e",
            tar::EntryType::Symlink,
            victim.to_str().unwrap(),
        );
        link("top/files/hl", tar::EntryType::Link, "top/files/e/secret");
        b.into_inner().unwrap().finish().unwrap();
    }
    let rec: age::x25519::Recipient = r.parse().unwrap();
    let bundle = h.dir.path().join("evil.tar.gz.age");
    std::fs::write(&bundle, age::encrypt(&rec, &tar_bytes).unwrap()).unwrap();
    let out = h
        .ir()
        .args(["--json", "verify"])
        .arg(&bundle)
        .arg("-i")
        .arg(&key)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("a symlink in the archive"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dir = h.dir.path().join("out");
    h.ir()
        .arg("extract")
        .arg(&bundle)
        .arg("-i")
        .arg(&key)
        .arg("-o")
        .arg(&dir)
        .arg("--force")
        .assert()
        .code(1);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(victim.join("secret")).unwrap().nlink(),
        1,
        "linked from inside the output"
    );
    assert!(!dir.join("files/hl").exists());
}

/// Regression: a file whose long name holds a newline was collected right
/// (GNU tar reads it) but the tar crate split its PAX record on the
/// newline, so `verify` said NOT SOUND and `extract` refused every bundle
/// of that host. Records are read by their length now.
#[test]
fn a_long_name_with_a_newline_verifies_and_extracts() {
    let h = Host::files();
    let (key, r) = keypair(h.dir.path());
    let name = format!("{}\nsecond line of the name", "n".repeat(120));
    let ws = h.path("/home/alice/.openclaw/workspace");
    std::fs::write(ws.join(&name), "planted").unwrap();
    std::os::unix::fs::symlink(
        ws.join(&name),
        ws.join(format!("{}\nlink", "l".repeat(120))),
    )
    .unwrap();
    let (bundle, _) = collect(&h, &r, &[]);
    h.ir()
        .arg("verify")
        .arg(&bundle)
        .arg("-i")
        .arg(&key)
        .assert()
        .success();
    let out = h.dir.path().join("out");
    h.ir()
        .arg("extract")
        .arg(&bundle)
        .arg("-i")
        .arg(&key)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let got = out.join("files/home/alice/.openclaw/workspace").join(&name);
    assert_eq!(std::fs::read_to_string(got).unwrap(), "planted");
}

/// Regression: keyless `verify` said "journal matches" from a case journal
/// whose entries fail their own digests. A journal that fails its chain
/// vouches for nothing.
#[test]
fn a_tampered_case_journal_vouches_for_no_bundle() {
    let h = Host::files();
    let (_, r) = keypair(h.dir.path());
    let (bundle, _) = collect(&h, &r, &[]);
    let j = h.journal();
    let text = std::fs::read_to_string(&j).unwrap();
    let first_ts = text
        .split("\"ts\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&j, text.replacen(&first_ts, "2020-01-01T00:00:00Z", 1)).unwrap();
    let out = h.ir().arg("verify").arg(&bundle).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(!said.contains("journal  matches"), "{said}");
    assert!(said.contains("cannot vouch"), "{said}");
}

/// Regression: `extract` had no free-space check and would fill the disk.
/// A member that does not fit with room to spare stops it, named.
#[test]
fn extract_never_fills_the_disk() {
    let h = Host::files();
    let (key, r) = keypair(h.dir.path());
    let mut big = vec![0u8; 24 << 20];
    getrandom::fill(&mut big).unwrap();
    std::fs::write(h.state().join("media.bin"), big).unwrap();
    let (bundle, _) = collect(&h, &r, &[]);
    let mnt = h.dir.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=80m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return skip_or_fail(
            "cannot mount a tmpfs (needs root) to test extract's free-space check",
        );
    }
    let _guard = SmallFs(mnt.clone());
    let out = h
        .ir()
        .arg("extract")
        .arg(&bundle)
        .arg("-i")
        .arg(&key)
        .arg("-o")
        .arg(mnt.join("out"))
        .arg("--force")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("extraction stopped"), "{said}");
    assert!(
        !mnt.join("out/files")
            .join(h.state().strip_prefix(&h.root).unwrap())
            .join("media.bin")
            .exists()
    );
}
