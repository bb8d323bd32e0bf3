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

/// A test hook, inert unless `IR_TEST_PAUSE_AT` names `point`: then it
/// prints `ir: test pause at <point>` on stderr and waits until a signal
/// arrives (at most 30 s), so an integration test can deliver Ctrl-C at a
/// known step of a command that is otherwise too quick to catch. The
/// points are `rotate:plan` (before the evidence gate, nothing changed)
/// and `rotate:act` (mid-act: the config is rewritten, the revocation is
/// next), `timeline:walked` (the walk is done, the sort is next: what
/// `--jsonl` streamed is already out) and `hunt:read` (everything is read,
/// the chains are next; likewise). It never changes what the command
/// does, only when.
pub fn test_pause(point: &str) {
    if std::env::var_os("IR_TEST_PAUSE_AT").is_none_or(|v| v != point) {
        return;
    }
    eprintln!("ir: test pause at {point}");
    let t0 = std::time::Instant::now();
    while !interrupted() && t0.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Runs a blocking terminal read (a confirmation prompt) so that Ctrl-C
/// still aborts it.
///
/// With the flag handler installed, SIGINT no longer kills the process,
/// and the kernel restarts the read it interrupted (the handler is
/// installed with `SA_RESTART`), so a plain `read_line` would sit on
/// Ctrl-C until Enter. Restoring the default handler around the prompt
/// would kill the process before it journals its end. Instead the read
/// runs on a helper thread while this one waits for either its answer or
/// the flag; on the flag it returns `Err(Interrupted)` at once, the caller
/// journals the interruption and the process exits 130, ending the
/// abandoned reader with it. The read must not change terminal modes (a
/// thread that is abandoned never restores them).
pub fn interruptible<T: Send + 'static>(
    read: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    check()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(read());
    });
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(50)) {
            Ok(v) => return Ok(v),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => check()?,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                anyhow::bail!("the prompt's reader thread ended without an answer")
            }
        }
    }
}
