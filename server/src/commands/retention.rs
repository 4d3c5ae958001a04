//! `auditorium retention hold|release|status` and `auditorium archive restore`.

use sqlx::PgPool;

use crate::config::{ArchiveCommand, RetentionCommand};
use crate::ingest::Ingestor;
use crate::retention::{self, holds, restore};
use crate::BoxError;

/// Holds are placed by the owner (the server's own role may only read them).
pub async fn retention(owner: &PgPool, command: RetentionCommand) -> Result<(), BoxError> {
    let by = std::env::var("USER").unwrap_or_else(|_| "command line".into());
    match command {
        RetentionCommand::Hold { reason } => {
            let reason = reason.trim();
            if reason.is_empty() {
                return Err("a legal hold needs a --reason".into());
            }
            let hold = holds::place(owner, reason, &by).await?;
            println!("Legal hold {} placed: retention drops nothing until it is released.", hold.id);
        }
        RetentionCommand::Release { id, all } => {
            if id.is_none() && !all {
                return Err("name the hold to release (its id) or use --all".into());
            }
            let released = holds::release(owner, id, &by).await?;
            if released.is_empty() {
                return Err("no such hold".into());
            }
            for hold in &released {
                println!("Released legal hold {} ({}).", hold.id, hold.reason);
            }
            let left = holds::count(owner).await?;
            println!("{left} hold(s) left{}", if left == 0 { "; retention applies again." } else { "." });
        }
        RetentionCommand::Status => {
            let holds = holds::list(owner).await?;
            println!("Legal holds: {}", holds.len());
            for hold in holds {
                println!("  {}  {}  by {}  since {}", hold.id, hold.reason, hold.created_by, hold.created_at.to_rfc3339());
            }
            let dropped: Vec<(chrono::NaiveDate, i64, Option<String>)> =
                sqlx::query_as("SELECT day, events, archive FROM retention_drops ORDER BY day").fetch_all(owner).await?;
            println!("Dropped days: {}", dropped.len());
            for (day, events, archive) in dropped.iter().rev().take(10) {
                println!("  {day}  {events} events  {}", archive.as_deref().unwrap_or("(not archived)"));
            }
            match retention::oldest_available_day(owner).await? {
                Some(day) => println!("Oldest available day: {day}"),
                None => println!("Nothing has been dropped."),
            }
        }
    }
    Ok(())
}

pub async fn archive(pool: &PgPool, command: ArchiveCommand) -> Result<(), BoxError> {
    match command {
        ArchiveCommand::Restore { file } => {
            let ingestor = Ingestor::for_command(pool.clone());
            let result = restore::restore(pool, &ingestor, &file).await;
            ingestor.stop(std::time::Duration::from_secs(30)).await;
            let restored = result?;
            println!(
                "Restored {} events from {} ({} new, {} stored already).",
                restored.events,
                file.display(),
                restored.new,
                restored.duplicates
            );
            if !restored.digest_matches {
                return Err("the restored events do not hash to the manifest's integrity digest".into());
            }
            println!("Their integrity digest matches the manifest.");
        }
    }
    Ok(())
}
