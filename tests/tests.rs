//! Integration tests, in one binary to save link time.

mod util;

mod ansible;
mod audit;
mod cli;
mod collect;
mod contain;
mod custody;
mod hunt_corpus;
mod inventory;
mod journal;
mod persistence;
mod playbook;
mod readonly;
mod real_openclaw;
mod report;
mod report_browser;
mod seal;
mod static_binary;
mod triage;
