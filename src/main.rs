//! The `ir` binary: parse, dispatch, exit. Everything else is in the library.

#![forbid(unsafe_code)]

fn main() {
    std::process::exit(ir::cli::run(std::env::args_os().collect()));
}
