//! Containment and recovery: the commands that change the host. Each one
//! journals what it is about to destroy before it acts, proves what it did,
//! and refuses what would destroy evidence that is not preserved.

pub mod audit;
pub mod clear;
pub mod gate;
pub mod known_good;
pub mod prompts;
pub mod quarantine;
pub mod recover;
pub mod resume;
pub mod rotate;
pub mod stop;
