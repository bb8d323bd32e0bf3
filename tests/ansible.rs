//! The Ansible fleet playbook, against localhost with ansible_connection=local
//! and two host aliases using two state dirs (and a third that fails).

use crate::util::{Host, skip_or_fail};
use std::process::Command;

/// scripts/setup.sh's venv in the tools cache, else PATH.
fn ansible_playbook() -> Option<std::path::PathBuf> {
    let tools = std::env::var("IR_TOOLS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            std::env::var("XDG_CACHE_HOME")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|_| std::path::Path::new(&home).join(".cache"))
                .join("ir-tools")
        });
    let venv = tools.join("ansible/bin/ansible-playbook");
    if venv.exists() {
        return Some(venv);
    }
    Command::new("ansible-playbook")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| "ansible-playbook".into())
}

#[test]
fn fleet_collection_over_ansible() {
    let Some(ansible) = ansible_playbook() else {
        return skip_or_fail(
            "ansible-playbook is missing (scripts/setup.sh installs ansible-core)",
        );
    };
    let a = Host::files();
    let b = Host::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let (key, r) = crate::collect::keypair(dir.path());
    let inv = dir.path().join("inventory.ini");
    std::fs::write(
        &inv,
        format!(
            "[openclaw]\nhost-a ansible_connection=local ir_home={}\nhost-b ansible_connection=local ir_home={}\nhost-c ansible_connection=local ir_home={}\n[all:vars]\nansible_python_interpreter={{{{ ansible_playbook_python }}}}\n",
            a.state().display(),
            b.state().display(),
            dir.path().join("missing").display()
        ),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    // The playbook ships dist/ir-<arch>-linux, picked by each host's
    // architecture: a dist dir holding the test build under that name
    // proves the pick without a static build.
    let dist = dir.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_ir"),
        dist.join(format!("ir-{}-linux", std::env::consts::ARCH)),
    )
    .unwrap();
    let playbook =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/ansible/collect.yml");
    let out = Command::new(&ansible)
        .arg("-i")
        .arg(&inv)
        .arg(&playbook)
        .arg("-e")
        .arg(format!("ir_recipient={r}"))
        .arg("-e")
        .arg(format!("ir_dist={}", dist.display()))
        .arg("-e")
        .arg(format!("ir_output={}", out_dir.display()))
        .env("ANSIBLE_LOCAL_TEMP", dir.path().join("atmp"))
        .env("ANSIBLE_REMOTE_TEMP", dir.path().join("rtmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The failing host is reported, the others collected.
    assert!(
        stdout.contains("\"failed\": [\n            \"host-c\"\n        ]"),
        "{stdout}"
    );
    for h in ["host-a", "host-b"] {
        let d = out_dir.join(h);
        let bundle = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(".tar.gz.age"))
            .unwrap_or_else(|| panic!("no bundle fetched for {h}"));
        for f in ["journal.jsonl", "report.md"] {
            assert!(d.join(f).exists(), "{h}: {f} not fetched");
        }
        // The fetched bundle opens with the analysts' key and matches its journal.
        let v = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"))
            .arg("--case")
            .arg(dir.path().join("check"))
            .arg("verify")
            .arg(&bundle)
            .arg("-i")
            .arg(&key)
            .output()
            .unwrap();
        assert!(
            v.status.success(),
            "{h}: {}{}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
        assert!(String::from_utf8_lossy(&v.stdout).contains("journal  matches"));
        // The head the control node kept is where the fetched journal ends.
        let head = std::fs::read_to_string(d.join("journal-head.txt")).unwrap();
        let hex = head.split_whitespace().last().unwrap();
        assert_cmd::Command::new(env!("CARGO_BIN_EXE_ir"))
            .arg("--case")
            .arg(dir.path().join("check"))
            .args(["journal", "verify"])
            .arg(d.join("journal.jsonl"))
            .args(["--expect-head", hex])
            .assert()
            .success();
    }
}
