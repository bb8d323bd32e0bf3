//! The streaming manifest reader on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut n = 0u64;
    let _ = ir::record::Manifest::stream(data, &mut |_| n += 1);
    let _ = ir::record::Manifest::from_json(data);
});
