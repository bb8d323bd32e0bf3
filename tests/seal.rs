//! The sealed journal: an attacker with root who rewrites entries and
//! recomputes every digest and the head passes the chain check but fails
//! `ir journal verify -i KEY`; so does a cut-off tail, a key stolen after
//! the fact, and a case rebuilt with a new seed.

use crate::collect::keypair;
use crate::util::{Host, json_out};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// A case sealed by `ir case init -r`, then `notes` notes. Returns the
/// host, the identity file and the fingerprint `case init` printed.
fn sealed_case(notes: usize) -> (Host, std::path::PathBuf, String) {
    let h = Host::files();
    let (id, rcpt) = keypair(h.dir.path());
    let out = h.ir().args(["case", "init", "-r", &rcpt]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let fp = err
        .lines()
        .find_map(|l| l.strip_prefix("seal: "))
        .expect("case init prints `seal: FP`")
        .to_string();
    for i in 0..notes {
        h.ir()
            .args(["journal", "note", &format!("note {i}")])
            .assert()
            .success();
    }
    (h, id, fp)
}

fn raw_lines(h: &Host) -> Vec<String> {
    std::fs::read_to_string(h.journal())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn objects(h: &Host) -> Vec<Map<String, Value>> {
    h.entries()
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect()
}

/// The line an attacker writes for `m`: digest recomputed, `seal` as given.
fn reline(m: &Map<String, Value>, seal: Option<&str>) -> (String, String) {
    let mut m = m.clone();
    m.remove("digest");
    m.remove("seal");
    let text = serde_json::to_string(&m).unwrap();
    let d = hex::encode(Sha256::digest(text.as_bytes()));
    let seal = seal.map_or(String::new(), |s| format!(",\"seal\":\"{s}\""));
    (
        format!("{},\"digest\":\"{d}\"{seal}}}", &text[..text.len() - 1]),
        d,
    )
}

/// Rewrites the journal from entry `from` on: `edit` changes that entry,
/// every later `prev` and digest and the head are recomputed, and `seal`
/// gives each rewritten entry's seal (seq, digest, old seal).
fn rewrite(
    h: &Host,
    from: usize,
    edit: impl Fn(&mut Map<String, Value>),
    seal: impl Fn(u64, &str, Option<&str>) -> Option<String>,
) {
    let raw = raw_lines(h);
    let mut es = objects(h);
    edit(&mut es[from]);
    let mut lines = Vec::new();
    let mut prev = es[from]["prev"].as_str().unwrap().to_string();
    for (i, e) in es.iter_mut().enumerate() {
        if i < from {
            lines.push(raw[i].clone());
            continue;
        }
        e.insert("prev".into(), Value::String(prev.clone()));
        let (_, d) = reline(e, None);
        let s = seal(i as u64, &d, e.get("seal").and_then(Value::as_str));
        let (line, d) = reline(e, s.as_deref());
        lines.push(line);
        prev = d;
    }
    write_journal(h, &lines, &prev);
}

/// Writes `lines` as the journal and a head that matches them.
fn write_journal(h: &Host, lines: &[String], last_digest: &str) {
    let text = lines.join("\n") + "\n";
    std::fs::write(h.journal(), &text).unwrap();
    let head =
        serde_json::json!({"seq": lines.len() - 1, "digest": last_digest, "size": text.len()});
    std::fs::write(h.case.join("journal.head"), head.to_string()).unwrap();
}

/// `ir --json journal verify ARGS`: (exit code, report).
fn verify(h: &Host, args: &[&str]) -> (i32, Value) {
    let out = h
        .ir()
        .args(["--json", "journal", "verify"])
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap(), json_out(&out))
}

fn idarg(id: &Path) -> [&str; 2] {
    ["-i", id.to_str().unwrap()]
}

fn seed_of(h: &Host, id: &Path) -> ir::seal::Seed {
    let ids = ir::evidence::keys::identities(&ir::evidence::keys::IdentityArgs {
        identities: vec![id.to_path_buf()],
        ..Default::default()
    })
    .unwrap();
    ir::seal::read_seal_age(&h.case.join("seal.age"), &ids).unwrap()
}

#[test]
fn a_sealed_journal_verifies_with_and_without_the_key() {
    let (h, id, fp) = sealed_case(3);
    let (code, r) = verify(&h, &[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["seal"]["checked"], false);
    assert_eq!(r["seal"]["sealed"], 5, "{r}");
    let (code, r) = verify(&h, &[&idarg(&id)[..], &["--expect-seal", &fp]].concat());
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["seal"]["checked"], true);
    assert_eq!(r["seal"]["fingerprint"], fp.as_str());
    assert_eq!(r["seal"]["failed"], 0);
    assert_eq!(r["seal"]["first_seq"], 1);
}

#[test]
fn a_full_rewrite_from_entry_1_passes_the_chain_and_fails_the_seals() {
    let (h, id, _) = sealed_case(6);
    // Root rewrites entry 1 and every entry after it, copying the old
    // seals (it cannot make new ones), with the head to match.
    rewrite(
        &h,
        1,
        |e| {
            e.insert("user".into(), Value::String("nobody".into()));
        },
        |_, _, old| old.map(str::to_owned),
    );
    let (code, r) = verify(&h, &[]);
    assert_eq!(code, 0, "the plain chain check cannot see it: {r}");
    assert_eq!(r["verdict"], "intact");
    let (code, r) = verify(&h, &idarg(&id));
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["verdict"], "tampered");
    assert_eq!(r["problems"][0]["kind"], "seal_failed");
    assert_eq!(r["problems"][0]["seq"], 1);
    assert_eq!(r["seal"]["first_failed"], 1);
    let out = h
        .ir()
        .args(["journal", "verify"])
        .args(idarg(&id))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("entry 1 (line 2) fails its seal"), "{text}");
}

#[test]
fn seals_stripped_by_a_rewrite_are_caught_too() {
    let (h, id, _) = sealed_case(4);
    rewrite(
        &h,
        3,
        |e| {
            e.insert("message".into(), Value::String("nothing happened".into()));
        },
        |_, _, _| None,
    );
    assert_eq!(verify(&h, &[]).0, 0);
    let (code, r) = verify(&h, &idarg(&id));
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["problems"][0]["seq"], 3);
    assert!(
        r["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("carries no seal"),
        "{r}"
    );
}

#[test]
fn a_truncated_tail_fails_the_sealed_verify() {
    let (h, id, _) = sealed_case(6);
    let es = objects(&h);
    let keep = es.len() - 2;
    let lines = raw_lines(&h)[..keep].to_vec();
    write_journal(&h, &lines, es[keep - 1]["digest"].as_str().unwrap());
    let (code, r) = verify(&h, &[]);
    assert_eq!(code, 0, "the chain and head alone cannot see it: {r}");
    let (code, r) = verify(&h, &idarg(&id));
    assert_eq!(code, 1, "{r}");
    let p = &r["problems"][0];
    assert_eq!(p["kind"], "truncated", "{r}");
    assert_eq!(p["seq"], keep as u64);
}

#[test]
fn a_stolen_current_key_cannot_reseal_an_earlier_entry() {
    let (h, id, _) = sealed_case(10);
    // All the thief holds: the on-disk state after the last entry N.
    let stolen = std::fs::read_to_string(h.case.join("seal.key")).unwrap();
    let stolen: Value = serde_json::from_str(&stolen).unwrap();
    let n = stolen["seq"].as_u64().unwrap() - 1;
    let mut key = [0u8; 32];
    hex::decode_to_slice(stolen["key"].as_str().unwrap(), &mut key).unwrap();
    let target = n - 5;
    // Rewrite N-5 and re-seal it and every later entry with the best the
    // thief can do: the stolen key and keys evolved from it.
    rewrite(
        &h,
        target as usize,
        |e| {
            e.insert("message".into(), Value::String("forged".into()));
        },
        |seq, d, _| Some(ir::seal::mac(&ir::seal::evolve_by(&key, seq - target), d)),
    );
    let (code, r) = verify(&h, &idarg(&id));
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["problems"][0]["kind"], "seal_failed");
    assert_eq!(r["problems"][0]["seq"], target);
    // And no key derivable from the stolen one is the key of entry N-5.
    let seed = seed_of(&h, &id);
    let real = seed.key_at(target).unwrap();
    for j in 0..256 {
        assert_ne!(*ir::seal::evolve_by(&key, j), *real);
    }
}

#[test]
fn the_seed_never_appears_in_the_journal_or_the_output() {
    let h = Host::files();
    let (id, rcpt) = keypair(h.dir.path());
    let mut said = Vec::new();
    let runs: Vec<Vec<String>> = vec![
        vec!["case".into(), "init".into(), "-r".into(), rcpt.clone()],
        vec!["journal".into(), "note".into(), "one".into()],
        vec![
            "--json".into(),
            "journal".into(),
            "note".into(),
            "two".into(),
        ],
        vec![
            "journal".into(),
            "verify".into(),
            "-i".into(),
            id.display().to_string(),
        ],
        vec!["journal".into(), "show".into()],
    ];
    for args in runs {
        let out = h.ir().args(&args).output().unwrap();
        said.extend_from_slice(&out.stdout);
        said.extend_from_slice(&out.stderr);
    }
    let seed = seed_of(&h, &id);
    let hex_seed = hex::encode(&seed.seed[..]);
    let text = String::from_utf8_lossy(&said).to_ascii_lowercase();
    assert!(text.contains(&format!("seal: {}", seed.fingerprint())));
    assert!(!text.contains(&hex_seed));
    for f in ["journal.jsonl", "journal.head", "seal.key"] {
        let b = std::fs::read(h.case.join(f)).unwrap();
        assert!(!String::from_utf8_lossy(&b).contains(&hex_seed), "{f}");
        assert!(!b.windows(32).any(|w| w == &seed.seed[..]), "{f}");
    }
}

#[test]
fn a_case_rebuilt_with_a_new_seed_fails_expect_seal() {
    let (h, id, fp) = sealed_case(2);
    // Root throws the seal away and seals a rebuilt journal to the same
    // (public) recipient: the seals are valid, but under another seed.
    let (_, rcpt) = {
        let text = std::fs::read_to_string(&id).unwrap();
        let key: age::x25519::Identity = text.trim().parse().unwrap();
        ((), key.to_public().to_string())
    };
    for f in ["journal.jsonl", "journal.head", "seal.key", "seal.age"] {
        std::fs::remove_file(h.case.join(f)).unwrap();
    }
    h.ir()
        .args(["case", "init", "-r", &rcpt])
        .assert()
        .success();
    let (code, r) = verify(&h, &idarg(&id));
    assert_eq!(code, 0, "alone, a rebuilt case is self-consistent: {r}");
    let (code, r) = verify(&h, &[&idarg(&id)[..], &["--expect-seal", &fp]].concat());
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["problems"][0]["kind"], "seal_mismatch");
}

#[test]
fn every_command_ends_with_the_head_and_expect_head_checks_it() {
    let (h, _, _) = sealed_case(2);
    let out = h.ir().args(["journal", "note", "x"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("journal: seq "))
        .expect("the head line");
    let hex = line.rsplit(' ').next().unwrap().to_string();
    let last = h.entries().last().unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        line,
        format!(
            "journal: seq {} head {}",
            h.entries().len() - 1,
            &last[..16]
        )
    );
    assert_eq!(verify(&h, &["--expect-head", &hex]).0, 0);
    // Later entries keep the recorded head in the chain.
    h.ir().args(["journal", "note", "y"]).assert().success();
    assert_eq!(verify(&h, &["--expect-head", &hex]).0, 0);
    let (code, r) = verify(&h, &["--expect-head", "0123456789abcdef"]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["problems"][0]["kind"], "head_mismatch");
    h.ir()
        .args(["journal", "verify", "--expect-head", "xyz"])
        .assert()
        .code(2);
}

#[test]
fn an_unsealed_journal_is_reported_as_unsealed() {
    let h = Host::files();
    h.ir().args(["journal", "note", "old"]).assert().success();
    let (code, r) = verify(&h, &[]);
    assert_eq!(code, 0);
    assert_eq!(r["seal"]["sealed"], 0);
    h.ir()
        .args(["journal", "verify"])
        .assert()
        .success()
        .stdout(predicates::str::contains("seals: none"));
}

/// A case sealed by its first collect: (host, identity, fingerprint, bundle).
fn collected_case() -> (Host, std::path::PathBuf, String, std::path::PathBuf) {
    let h = Host::files();
    let (id, rcpt) = keypair(h.dir.path());
    h.ir()
        .args(["journal", "note", "before"])
        .assert()
        .success();
    let out = h
        .ir()
        .args(["--json", "collect", "-r", &rcpt])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let fp = err
        .lines()
        .find_map(|l| l.strip_prefix("seal: "))
        .expect("the first collect seals the case")
        .to_string();
    let bundle = json_out(&out)["bundle"].as_str().unwrap().into();
    (h, id, fp, bundle)
}

fn verify_bundle(h: &Host, bundle: &Path, id: &Path) -> (i32, Value) {
    let out = h
        .ir()
        .args(["--json", "verify"])
        .arg(bundle)
        .args(idarg(id))
        .output()
        .unwrap();
    (out.status.code().unwrap(), json_out(&out))
}

#[test]
fn the_bundle_holds_seal_age_and_verify_checks_its_sealed_journal() {
    let (h, id, fp, bundle) = collected_case();
    let m = crate::collect::manifest(&h);
    let items = m["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["archive_path"] == "seal.age"));
    let (code, r) = verify_bundle(&h, &bundle, &id);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["seal"]["fingerprint"], fp.as_str());
    assert_eq!(r["seal"]["bundle_journal"]["checked"], true);
    assert_eq!(r["seal"]["bundle_journal"]["failed"], 0);
    // Entry 0 (the note) came before sealing; the collect's start did too.
    assert_eq!(r["seal"]["bundle_journal"]["first_seq"], 2);
    assert_eq!(r["seal"]["case_journal"]["failed"], 0, "{r}");
}

#[test]
fn verify_bundle_catches_a_case_journal_rewritten_after_collect() {
    let (h, id, _, bundle) = collected_case();
    rewrite(
        &h,
        0,
        |e| {
            e.insert("message".into(), Value::String("nothing to see".into()));
        },
        |_, _, old| old.map(str::to_owned),
    );
    let (code, r) = verify(&h, &[]);
    assert_eq!(code, 0, "{r}");
    let (code, r) = verify_bundle(&h, &bundle, &id);
    assert_eq!(code, 1, "{r}");
    let problems = r["problems"].to_string();
    assert!(problems.contains("the case journal: entry 2"), "{problems}");
}

#[test]
fn verify_bundle_catches_a_case_journal_cut_below_its_head() {
    let (h, id, _, bundle) = collected_case();
    // Cut everything from the seal on, and the key file with it.
    let lines = raw_lines(&h)[..2].to_vec();
    let last = objects(&h)[1]["digest"].as_str().unwrap().to_string();
    write_journal(&h, &lines, &last);
    std::fs::remove_file(h.case.join("seal.key")).unwrap();
    assert_eq!(verify(&h, &[]).0, 0);
    let (code, r) = verify_bundle(&h, &bundle, &id);
    assert_eq!(code, 1, "{r}");
    assert!(
        r["problems"].to_string().contains("the case journal"),
        "{r}"
    );
}

#[test]
fn a_verify_key_written_down_checks_the_seals_without_seal_age() {
    let h = Host::files();
    let out = h
        .ir()
        .args(["case", "init", "--print-verify-key"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("verify key: "))
        .expect("the key is shown once")
        .to_string();
    assert!(!h.case.join("seal.age").exists());
    for i in 0..3 {
        h.ir()
            .args(["journal", "note", &format!("n{i}")])
            .assert()
            .success();
    }
    let seed_hex = key.split('-').next().unwrap();
    for f in ["journal.jsonl", "journal.head", "seal.key"] {
        let t = std::fs::read_to_string(h.case.join(f)).unwrap();
        assert!(!t.contains(seed_hex), "{f}");
    }
    let (code, r) = verify(&h, &["--verify-key", &key]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["seal"]["checked"], true);
    rewrite(
        &h,
        2,
        |e| {
            e.insert("user".into(), Value::String("x".into()));
        },
        |_, _, old| old.map(str::to_owned),
    );
    let (code, r) = verify(&h, &["--verify-key", &key]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["problems"][0]["seq"], 2);
    h.ir()
        .args(["journal", "verify", "--verify-key", "nothex-1"])
        .assert()
        .code(2);
}
