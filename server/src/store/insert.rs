//! Storing a batch of validated events atomically and idempotently.
//!
//! One COPY per batch, in one transaction. The database's insert trigger assigns
//! commit-ordered positions, keeps the counts and notifies live tails (see the migrations).

use std::collections::HashMap;

use app::event::Event;
use sqlx::PgPool;
use uuid::Uuid;

use super::copy::copy_into;
use super::partitions::PartitionCache;

/// A validated event and the fingerprint of its content as sent.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub event: Event,
    pub fingerprint: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Written by this request.
    New,
    /// Already stored with the same content (a retry).
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// Items (by index) whose id is already stored with different content.
    #[error("{} event id(s) already exist with different content", .0.len())]
    Conflict(Vec<usize>),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Stores `events` all-or-nothing and says, per item, whether it was new or a duplicate.
/// Answers only after the transaction committed.
pub async fn insert_events(
    pool: &PgPool,
    partitions: &PartitionCache,
    events: &[NewEvent],
) -> Result<Vec<Stored>, InsertError> {
    partitions.ensure(pool, events.iter().map(|e| e.event.occurred_at.date_naive())).await?;
    // A concurrent request may store one of our ids between the check and the insert; the
    // unique index then refuses the whole batch and the second attempt sees it as existing.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let outcome = classify(pool, events).await?;
        let fresh: Vec<&NewEvent> =
            events.iter().zip(&outcome).filter(|(_, o)| **o == Stored::New).map(|(e, _)| e).collect();
        if fresh.is_empty() {
            return Ok(outcome);
        }
        match write(pool, &fresh).await {
            Ok(()) => return Ok(outcome),
            Err(e) if attempt < 3 && is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

async fn classify(pool: &PgPool, events: &[NewEvent]) -> Result<Vec<Stored>, InsertError> {
    let ids: Vec<Uuid> = events.iter().map(|e| e.event.id).collect();
    let existing: HashMap<Uuid, Option<Vec<u8>>> =
        sqlx::query_as::<_, (Uuid, Option<Vec<u8>>)>("SELECT id, fingerprint FROM event_positions WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    let mut conflicts = Vec::new();
    let outcome = events
        .iter()
        .enumerate()
        .map(|(i, e)| match existing.get(&e.event.id) {
            None => Stored::New,
            Some(Some(stored)) if *stored == e.fingerprint => Stored::Duplicate,
            Some(_) => {
                conflicts.push(i);
                Stored::Duplicate
            }
        })
        .collect();
    if conflicts.is_empty() {
        Ok(outcome)
    } else {
        Err(InsertError::Conflict(conflicts))
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|code| code == "23505")
}

async fn write(pool: &PgPool, events: &[&NewEvent]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    copy_into(&mut tx, events.iter().copied()).await?;
    tx.commit().await
}
