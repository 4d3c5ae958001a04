//! Storing a batch of validated events atomically and idempotently.
//!
//! One INSERT per batch (arrays + UNNEST). The database's insert trigger assigns commit-ordered
//! positions, keeps the per-minute counts and notifies live tails (see the migration).

use std::collections::HashMap;

use app::event::{search_text, Event};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

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

/// Column arrays of a batch, in the order of the INSERT below.
#[derive(Default)]
struct Columns {
    occurred_at: Vec<chrono::DateTime<chrono::Utc>>,
    id: Vec<Uuid>,
    received_at: Vec<chrono::DateTime<chrono::Utc>>,
    action: Vec<String>,
    actor_id: Vec<String>,
    actor_name: Vec<String>,
    actor_email: Vec<Option<String>>,
    actor_type: Vec<&'static str>,
    source: Vec<Option<String>>,
    method: Vec<Option<String>>,
    status: Vec<Option<i16>>,
    path: Vec<Option<String>>,
    outcome: Vec<&'static str>,
    error: Vec<Option<String>>,
    resource_type: Vec<Option<String>>,
    resource_id: Vec<Option<String>>,
    resource_name: Vec<Option<String>>,
    context: Vec<Value>,
    request_id: Vec<Option<String>>,
    ip: Vec<Option<String>>,
    user_agent: Vec<Option<String>>,
    changes: Vec<Option<Value>>,
    metadata: Vec<Option<Value>>,
    search_text: Vec<String>,
    fingerprint: Vec<Vec<u8>>,
}

impl Columns {
    fn push(&mut self, new: &NewEvent) {
        let e = &new.event;
        self.occurred_at.push(e.occurred_at);
        self.id.push(e.id);
        self.received_at.push(e.received_at);
        self.action.push(e.action.clone());
        self.actor_id.push(e.actor.id.clone());
        self.actor_name.push(e.actor.name.clone());
        self.actor_email.push(e.actor.email.clone());
        self.actor_type.push(e.actor.actor_type.as_str());
        self.source.push(e.source.clone());
        self.method.push(e.method.clone());
        self.status.push(e.status.and_then(|s| i16::try_from(s).ok()));
        self.path.push(e.path.clone());
        self.outcome.push(e.outcome.as_str());
        self.error.push(e.error.clone());
        self.resource_type.push(e.resource.as_ref().map(|r| r.resource_type.clone()));
        self.resource_id.push(e.resource.as_ref().and_then(|r| r.id.clone()));
        self.resource_name.push(e.resource.as_ref().and_then(|r| r.name.clone()));
        self.context.push(serde_json::to_value(&e.context).unwrap_or_default());
        self.request_id.push(e.request_id.clone());
        self.ip.push(e.ip.clone());
        self.user_agent.push(e.user_agent.clone());
        self.changes.push((!e.changes.is_empty()).then(|| serde_json::to_value(&e.changes).unwrap_or_default()));
        self.metadata.push(e.metadata.clone());
        self.search_text.push(search_text(e));
        self.fingerprint.push(new.fingerprint.clone());
    }
}

async fn write(pool: &PgPool, events: &[&NewEvent]) -> Result<(), sqlx::Error> {
    let mut c = Columns::default();
    for e in events {
        c.push(e);
    }
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO events (occurred_at, id, received_at, action, actor_id, actor_name, actor_email, actor_type,
             source, method, status, path, outcome, error, resource_type, resource_id, resource_name, context,
             request_id, ip, user_agent, changes, metadata, search_text, fingerprint)
         SELECT * FROM UNNEST($1::timestamptz[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
             $7::text[], $8::text[], $9::text[], $10::text[], $11::int2[], $12::text[], $13::text[], $14::text[],
             $15::text[], $16::text[], $17::text[], $18::jsonb[], $19::text[], $20::text[], $21::text[],
             $22::jsonb[], $23::jsonb[], $24::text[], $25::bytea[])",
    )
    .bind(&c.occurred_at)
    .bind(&c.id)
    .bind(&c.received_at)
    .bind(&c.action)
    .bind(&c.actor_id)
    .bind(&c.actor_name)
    .bind(&c.actor_email)
    .bind(&c.actor_type)
    .bind(&c.source)
    .bind(&c.method)
    .bind(&c.status)
    .bind(&c.path)
    .bind(&c.outcome)
    .bind(&c.error)
    .bind(&c.resource_type)
    .bind(&c.resource_id)
    .bind(&c.resource_name)
    .bind(&c.context)
    .bind(&c.request_id)
    .bind(&c.ip)
    .bind(&c.user_agent)
    .bind(&c.changes)
    .bind(&c.metadata)
    .bind(&c.search_text)
    .bind(&c.fingerprint)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
