//! The subcommands other than `serve`.

pub mod db;
pub mod export;
pub mod ingest_file;
pub mod token;
pub mod user;
