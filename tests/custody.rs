//! Chain of custody: the target host's name from the root, and the
//! examiner, case and evidence numbers and description, set once per case
//! and carried into the journal, every manifest and the report.

use crate::collect::{collect, keypair, manifest};
use crate::util::Host;

#[test]
fn a_dead_box_bundle_is_named_after_the_roots_hostname() {
    let h = Host::files();
    std::fs::write(h.path("/etc/hostname"), "victim-01\n").unwrap();
    let (_, r) = keypair(h.dir.path());
    let (bundle, _) = collect(&h, &r, &[]);
    let name = bundle.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("incident-victim-01-") && name.ends_with(".tar.gz.age"),
        "{name}"
    );
    assert_eq!(manifest(&h)["host"], "victim-01");
    let start = &h.entries()[0];
    assert_eq!(start["target"]["hostname"], "victim-01");
}

#[test]
fn hostname_flag_overrides_the_root() {
    let h = Host::files();
    std::fs::write(h.path("/etc/hostname"), "victim-01\n").unwrap();
    let (_, r) = keypair(h.dir.path());
    let (bundle, _) = collect(&h, &r, &["--hostname", "web-7"]);
    let name = bundle.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("incident-web-7-"), "{name}");
}

#[test]
fn custody_is_set_once_and_reaches_manifest_and_report() {
    let h = Host::files();
    let (_, r) = keypair(h.dir.path());
    h.ir()
        .args(["--examiner", "A. Auditor", "--case-number", "C-42"])
        .args(["case", "init", "-r", &r])
        .assert()
        .success();
    assert_eq!(h.entries()[0]["custody"]["examiner"], "A. Auditor");
    // The same value again is fine; env adds a field; a different one is refused.
    h.ir()
        .env("IR_EVIDENCE_NUMBER", "E-1")
        .args(["--examiner", "A. Auditor", "inventory"])
        .assert()
        .success();
    h.ir()
        .args(["--examiner", "Mallory", "inventory"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--examiner is already"));
    h.ir()
        .args(["--examiner", "Mallory"])
        .args(["journal", "verify"])
        .assert()
        .success();
    collect(&h, &r, &[]);
    let m = manifest(&h);
    assert_eq!(m["custody"]["examiner"], "A. Auditor");
    assert_eq!(m["custody"]["case_number"], "C-42");
    assert_eq!(m["custody"]["evidence_number"], "E-1");
    h.ir().arg("report").assert().success();
    let md = std::fs::read_to_string(h.case.join("report.md")).unwrap();
    assert!(md.contains("Examiner: `A. Auditor`"), "{md}");
    assert!(md.contains("Evidence number: `E-1`"), "{md}");
    assert!(md.contains("The journal is sealed from entry 1"), "{md}");
    let js: serde_json::Value =
        serde_json::from_slice(&std::fs::read(h.case.join("report.json")).unwrap()).unwrap();
    assert_eq!(js["custody"]["case_number"], "C-42");
    assert_eq!(js["journal"]["seal"]["first_seq"], 1);
}
