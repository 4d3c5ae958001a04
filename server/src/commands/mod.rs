//! The subcommands other than `serve`.

pub mod db;
pub mod export;
pub mod ingest_file;
pub mod retention;
pub mod token;
pub mod user;
pub mod verify;
