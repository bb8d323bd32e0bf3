//! The `ir` binary: parse, dispatch, exit. Everything else is in the library.

#![forbid(unsafe_code)]

/// mimalloc, not the C library's allocator: a hunt allocates for every
/// event on every thread, and musl's allocator (the static release binary a
/// responder copies to an unknown box) made it 1.4 times slower than the
/// same code on glibc; glibc's own spent a tenth of the hunt in malloc and
/// free.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(ir::cli::run(std::env::args_os().collect()));
}
