//! Appends N journal entries to an unsealed and to a sealed journal and
//! prints the time per append, to show what sealing costs (an HMAC, a
//! SHA-256 and one more atomic file replace per entry). Run it through
//! `scripts/bench-journal.sh`; it is a measurement, not a test.

use ir::evidence::keys::Encryption;
use ir::journal::{Journal, SealStart};
use ir::record::{Note, Record};
use std::time::Instant;

fn note(i: u64) -> Record {
    Record::Note(Note {
        message: format!("bench note {i}: a line of about the length an operator writes"),
        argv: Vec::new(),
    })
}

/// Appends `n` notes after `first` (the entry that starts sealing, or a
/// plain note) and returns the seconds the `n` appends took.
fn run(dir: &std::path::Path, n: u64, seal: bool) -> anyhow::Result<f64> {
    let j = Journal::open(dir)?;
    if seal {
        let id = age::x25519::Identity::generate();
        let enc = Encryption::Recipients(vec![Box::new(id.to_public())], Vec::new());
        let seed = ir::seal::new_seed()?;
        j.append_starting_seal(
            note(0),
            SealStart {
                seed,
                enc: Some(&enc),
            },
        )?;
    } else {
        j.append(note(0))?;
    }
    let t0 = Instant::now();
    for i in 1..=n {
        j.append(note(i))?;
    }
    Ok(t0.elapsed().as_secs_f64())
}

fn main() -> anyhow::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let base = std::env::args().nth(2).map(std::path::PathBuf::from);
    let mk = || match &base {
        Some(b) => tempfile::tempdir_in(b),
        None => tempfile::tempdir(),
    };
    let (d1, d2) = (mk()?, mk()?);
    let plain = run(d1.path(), n, false)?;
    let sealed = run(d2.path(), n, true)?;
    let per = |t: f64| t / n as f64 * 1e6;
    println!("appends           {n}");
    println!(
        "unsealed          {plain:.2} s  ({:.0} us/append)",
        per(plain)
    );
    println!(
        "sealed            {sealed:.2} s  ({:.0} us/append)",
        per(sealed)
    );
    println!(
        "sealing costs     {:+.0} us/append ({:+.0}%)",
        per(sealed) - per(plain),
        (sealed / plain - 1.0) * 100.0
    );
    let r = ir::journal::verify(&d2.path().join("journal.jsonl"))?;
    println!("sealed journal    {:?}, {} entries", r.verdict, r.entries);
    Ok(())
}
