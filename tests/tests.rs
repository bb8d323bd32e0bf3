//! Integration tests, in one binary to save link time.

mod util;

mod ansible;
mod collect;
mod contain;
mod custody;
mod inventory;
mod journal;
mod persistence;
mod playbook;
mod readonly;
mod real_openclaw;
mod seal;
mod static_binary;
mod triage;
