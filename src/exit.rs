//! Exit codes and the errors callers branch on.
//!
//! 0 success, 1 findings (something was found: tampering, persistence,
//! hits), 2 error (bad input, refusal, failure), 130 interrupted (Ctrl-C).

use crate::record::Status;

/// The process exit status of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// Done, nothing to report.
    Ok,
    /// Done, and something was found that the operator must look at.
    Findings,
    /// Could not do what was asked.
    Error,
    /// Stopped by SIGINT/SIGTERM.
    Interrupted,
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Findings => 1,
            Exit::Error => 2,
            Exit::Interrupted => 130,
        }
    }

    /// The worse of two outcomes.
    pub fn max(self, other: Exit) -> Exit {
        if self.code() >= other.code() {
            self
        } else {
            other
        }
    }
}

/// A refusal by policy (evidence not preserved, no confirmation...): the
/// journal records the step as `refused`, the exit code is 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The run was interrupted by a signal: journaled, exit 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// An error with a line telling the operator how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    pub message: String,
    pub fix: String,
}

/// Builds an error that carries a fix.
pub fn hint(message: impl Into<String>, fix: impl Into<String>) -> anyhow::Error {
    Hinted {
        message: message.into(),
        fix: fix.into(),
    }
    .into()
}

/// The fix attached anywhere in an error's chain, if any.
pub fn fix_of(err: &anyhow::Error) -> Option<&str> {
    err.chain()
        .find_map(|e| e.downcast_ref::<Hinted>())
        .map(|h| h.fix.as_str())
}

/// The journal status and exit code an error maps to.
pub fn classify(err: &anyhow::Error) -> (Status, Exit) {
    if err.chain().any(|e| e.is::<Interrupted>()) {
        (Status::Interrupted, Exit::Interrupted)
    } else if err.chain().any(|e| e.is::<Refused>()) {
        (Status::Refused, Exit::Error)
    } else {
        (Status::Failed, Exit::Error)
    }
}
