//! Ctrl-C and SIGTERM for long-running commands: the handler only sets a
//! flag; the work checks it between files and between read chunks, cleans
//! up (no half-written file under a final name), journals the interruption
//! and exits 130.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

fn flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Routes SIGINT and SIGTERM to the flag (idempotent).
pub fn install() {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(flag()));
    }
}

/// True once a signal arrived.
pub fn interrupted() -> bool {
    flag().load(Ordering::Relaxed)
}

/// `Err(Interrupted)` once a signal arrived.
pub fn check() -> anyhow::Result<()> {
    if interrupted() {
        Err(crate::exit::Interrupted.into())
    } else {
        Ok(())
    }
}
