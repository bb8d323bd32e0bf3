//! The transcript line decoder hunt uses on JSONL sessions: bounded lines,
//! then lenient JSON (lone surrogates kept).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in ir::safefs::bounded_lines(data, 4096).flatten() {
        let _ = ir::triage::hunt::lenient_json(&line.1);
    }
});
