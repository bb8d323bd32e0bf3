//! Evidence: the encrypted bundle `ir collect` writes and `ir verify` and
//! `ir extract` read.

pub mod collect;
pub mod extract;
pub mod keys;
pub mod pass;
pub mod pgzip;
pub mod progress;
pub mod read;
pub mod scope;
pub mod tarr;
pub mod tarw;
pub mod volatile;
