//! `ir`: incident response for hosts that run OpenClaw.
//!
//! Every command follows one path: discover the deployment
//! ([`openclaw::discover`]), act on it, and journal what was done
//! ([`journal`], through [`case::Ctx::journaled`]).

#![forbid(unsafe_code)]

pub mod artifact;
pub mod case;
pub mod cli;
pub mod cmd;
pub mod contain;
pub mod evidence;
pub mod exit;
pub mod gitread;
pub mod help;
pub mod host;
pub mod journal;
pub mod openclaw;
pub mod output;
pub mod persistence_catalogue;
pub mod playbook;
pub mod record;
pub mod redact;
pub mod report;
pub mod safefs;
pub mod sample;
pub mod sanitize;
pub mod seal;
pub mod signal;
pub mod sqlite;
pub mod triage;
pub mod walk;
