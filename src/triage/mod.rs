//! Triage after containment: what changed ([`timeline`]), what will come
//! back ([`persistence`]) and what the agent was made to do ([`hunt`]).
//! Everything here only reads.

pub mod attributes;
pub mod attribution;
pub mod chain;
pub mod cores;
pub mod hunt;
pub mod normalize;
pub mod packages;
pub mod pattern;
pub mod payload;
pub mod persistence;
pub mod prefilter;
pub mod rpmdb;
pub mod rules;
pub mod shell;
pub mod stage_rules;
pub mod timeline;
pub mod window;
