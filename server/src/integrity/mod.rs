//! Tamper evidence: the hash chain the insert trigger writes, recomputed by [`chain`];
//! signed checkpoints ([`checkpoint`]); the background verifier behind "verified up to" on
//! the page ([`verifier`]). `auditorium verify` is the full check.

pub mod chain;
pub mod checkpoint;
pub mod verifier;
