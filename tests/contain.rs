//! `ir audit`: checks and safe fixes on fixtures.

use crate::util::{Host, json_out};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

fn audit(h: &Host, args: &[&str]) -> (i32, Value) {
    let out = h
        .ir()
        .arg("--json")
        .arg("audit")
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap(), json_out(&out))
}

fn ids(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn audit_finds_the_weak_spots_of_the_fixture() {
    let h = Host::sqlite();
    std::fs::set_permissions(
        h.state().join("openclaw.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (code, v) = audit(&h, &[]);
    assert_eq!(code, 1);
    let ids = ids(&v);
    for want in [
        "fs.config.perms_world_readable",
        "gateway.token_too_short",
        "ir.gateway.token_under_32",
        "ir.gateway.token_in_config",
        "ir.sandbox.off",
    ] {
        assert!(ids.iter().any(|i| i == want), "{want} missing: {ids:?}");
    }
    let f = &v["findings"][0];
    assert_eq!(f["severity"], "critical");
    for k in ["id", "severity", "title", "detail", "fix"] {
        assert!(f.get(k).is_some(), "{k}");
    }
}

#[test]
fn audit_fix_applies_only_safe_fixes_and_journals_each() {
    let h = Host::files();
    let s = h.state();
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        s.join("openclaw.json"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    std::fs::set_permissions(
        s.join("agents/main/agent/auth-profiles.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/passwd", s.join("credentials/linked.json")).unwrap();
    let (code, v) = audit(&h, &["--fix"]);
    let mode =
        |p: &std::path::Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s), 0o700);
    assert_eq!(mode(&s.join("openclaw.json")), 0o600);
    assert_eq!(mode(&s.join("agents/main/agent/auth-profiles.json")), 0o600);
    assert_eq!(
        std::fs::metadata("/etc/passwd")
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644,
        "chmod went through a symlink"
    );
    // The open telegram group policy became an allowlist, comments kept.
    let cfg = std::fs::read_to_string(s.join("openclaw.json")).unwrap();
    assert!(cfg.contains("groupPolicy: \"allowlist\""), "{cfg}");
    assert!(cfg.starts_with("// OpenClaw config, hand-edited by alice"));
    assert!(cfg.contains("// not a real secret"));
    let fixes: Vec<Value> = h
        .entries()
        .into_iter()
        .filter(|e| e["event"] == "fix")
        .collect();
    assert!(fixes.len() >= 4, "{fixes:?}");
    assert!(!ids(&v).iter().any(|i| i.starts_with("fs.config.perms")));
    assert_eq!(code, 1); // the token is still short: that is rotate's job
}

#[test]
fn audit_fix_refuses_a_broken_config_and_changes_nothing() {
    let h = Host::files();
    std::fs::write(
        h.state().join("openclaw.json"),
        "{ gateway: { port: 1,, } channels: { telegram: { groupPolicy: 'open' } } }",
    )
    .unwrap();
    let before = std::fs::read(h.state().join("openclaw.json")).unwrap();
    h.ir().args(["audit", "--fix"]).assert().code(2);
    assert_eq!(
        before,
        std::fs::read(h.state().join("openclaw.json")).unwrap()
    );
}
