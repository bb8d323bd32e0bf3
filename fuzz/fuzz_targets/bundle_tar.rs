//! The bundle's tar reader on arbitrary bytes: every member and its data
//! read to the end, through the same pass verify runs. It must never
//! panic, hang or allocate with what a header claims.
#![no_main]

use ir::evidence::read::{HashOnly, Limits};
use ir::evidence::tarr::Archive;
use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let mut ar = Archive::new(data);
    while let Ok(Some(m)) = ar.next_member() {
        let _ = ar.data(&m).take(1 << 20).read_to_end(&mut Vec::new());
    }
    let _ = ir::evidence::pass::check_archive(data, Limits::default(), &mut HashOnly);
});
