//! The live tail: one database listener per instance, in-process fan-out to WebSockets.
//! See docs/architecture.md.

pub mod hub;
pub mod ring;
pub mod socket;

pub use hub::LiveHub;
