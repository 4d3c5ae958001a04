//! Auditorium's own audit events on their way into the event store: written in the same
//! transaction as the action they record, moved by a background task (`auth::audit`).

use serde_json::Value;
use sqlx::{PgExecutor, Postgres, Transaction};
use uuid::Uuid;

pub async fn put(db: impl PgExecutor<'_>, id: Uuid, event: &Value) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_outbox (id, event) VALUES ($1, $2)").bind(id).bind(event).execute(db).await.map(|_| ())
}

/// Up to `limit` waiting events, oldest first, locked for this transaction (another instance
/// moving the outbox at the same time skips them).
pub async fn take(tx: &mut Transaction<'_, Postgres>, limit: i64) -> Result<Vec<(Uuid, Value)>, sqlx::Error> {
    sqlx::query_as("SELECT id, event FROM audit_outbox ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED")
        .bind(limit)
        .fetch_all(&mut **tx)
        .await
}

pub async fn remove(tx: &mut Transaction<'_, Postgres>, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM audit_outbox WHERE id = ANY($1)").bind(ids).execute(&mut **tx).await.map(|_| ())
}
