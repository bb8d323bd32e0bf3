//! The case journal's readers on arbitrary bytes: one entry per line, and
//! the whole-file verification (chain, seals, head).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|b| *b == b'\n') {
        let _ = ir::journal::parse_entry(line);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("journal.jsonl");
    std::fs::write(&p, data).expect("write");
    let _ = ir::journal::verify(&p);
    let _ = ir::journal::read_entries(&p);
});
