//! Legal holds: while any exists, retention drops nothing. Placed and released with
//! `auditorium retention hold` / `release` (as the database owner); both are audited.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::auth::audit::{self, Actor, Entry, Origin};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Hold {
    pub id: Uuid,
    pub reason: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub async fn count<'e>(db: impl PgExecutor<'e>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM retention_holds").fetch_one(db).await
}

pub async fn list(pool: &PgPool) -> Result<Vec<Hold>, sqlx::Error> {
    sqlx::query_as("SELECT id, reason, created_by, created_at FROM retention_holds ORDER BY created_at").fetch_all(pool).await
}

/// Places a hold (and audits it) in one transaction.
pub async fn place(pool: &PgPool, reason: &str, by: &str) -> Result<Hold, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let hold: Hold = sqlx::query_as("INSERT INTO retention_holds (id, reason, created_by) VALUES ($1, $2, $3) RETURNING id, reason, created_by, created_at")
        .bind(Uuid::now_v7())
        .bind(reason)
        .bind(by)
        .fetch_one(&mut *tx)
        .await?;
    let entry = Entry::new("auditorium.retention.hold_placed", Actor::command_line(), Origin::default())
        .on("legal_hold", hold.id, reason)
        .note("placed_by", serde_json::json!(by));
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(hold)
}

/// Releases one hold by id, or every hold; returns those released (each audited).
pub async fn release(pool: &PgPool, id: Option<Uuid>, by: &str) -> Result<Vec<Hold>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let released: Vec<Hold> = sqlx::query_as("DELETE FROM retention_holds WHERE $1::uuid IS NULL OR id = $1 RETURNING id, reason, created_by, created_at")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    for hold in &released {
        let entry = Entry::new("auditorium.retention.hold_released", Actor::command_line(), Origin::default())
            .on("legal_hold", hold.id, &hold.reason)
            .note("released_by", serde_json::json!(by));
        audit::record(&mut *tx, &entry).await?;
    }
    tx.commit().await?;
    Ok(released)
}
