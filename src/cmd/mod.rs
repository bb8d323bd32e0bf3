//! One module per subcommand: turn arguments into library calls and render
//! the result as text or JSON. No logic another command could need.

pub mod audit;
pub mod case;
pub mod clear_sessions;
pub mod collect;
pub mod completions;
pub mod demo;
pub mod extract;
pub mod hunt;
pub mod inventory;
pub mod journal;
pub mod persistence;
pub mod quarantine;
pub mod recover;
pub mod report;
pub mod restore;
pub mod rotate;
pub mod run;
pub mod snapshot;
pub mod stop;
pub mod timeline;
pub mod verify;
