//! Export jobs: created by a request, claimed by whichever instance is free (through the
//! database, so it survives restarts and runs once), expiring.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ExportRow {
    pub id: Uuid,
    pub name: String,
    pub view: String,
    pub window_at: DateTime<Utc>,
    pub formats: Vec<String>,
    pub created_by: Option<Uuid>,
    pub creator_name: String,
    pub scope_all: bool,
    pub scope_views: Vec<String>,
    pub scope_key: String,
    pub status: String,
    pub rows_total: Option<i64>,
    pub rows_done: i64,
    pub files: serde_json::Value,
    pub error: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, view, window_at, formats, created_by, creator_name, scope_all, scope_views, scope_key, status, \
     rows_total, rows_done, files, error, attempts, created_at, started_at, finished_at, expires_at";

pub struct NewRow<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub view: &'a str,
    pub window_at: DateTime<Utc>,
    pub formats: Vec<String>,
    pub created_by: Option<Uuid>,
    pub creator_name: &'a str,
    pub scope_all: bool,
    pub scope_views: &'a [String],
    pub scope_key: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(db: impl PgExecutor<'_>, new: &NewRow<'_>) -> Result<ExportRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO exports (id, name, view, window_at, formats, created_by, creator_name, scope_all, scope_views, scope_key, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COLUMNS}"
    ))
    .bind(new.id)
    .bind(new.name)
    .bind(new.view)
    .bind(new.window_at)
    .bind(&new.formats)
    .bind(new.created_by)
    .bind(new.creator_name)
    .bind(new.scope_all)
    .bind(new.scope_views)
    .bind(new.scope_key)
    .bind(new.expires_at)
    .fetch_one(db)
    .await
}

/// Newest first.
pub async fn list(pool: &PgPool) -> Result<Vec<ExportRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM exports ORDER BY created_at DESC, id")).fetch_all(pool).await
}

pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<ExportRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM exports WHERE id = $1")).bind(id).fetch_optional(db).await
}

pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM exports WHERE id = $1").bind(id).execute(db).await?.rows_affected() == 1)
}

/// A job is taken over when its instance has not said it is alive for this long.
pub const STALE_SECONDS: i32 = 30;

/// Claims the oldest waiting job — queued, or running on an instance that stopped saying it
/// is alive — for `instance`. Each claim counts an attempt and starts the job over.
pub async fn claim(pool: &PgPool, instance: &str) -> Result<Option<ExportRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE exports SET status = 'running', claimed_by = $1, heartbeat_at = now(), started_at = now(),
                attempts = attempts + 1, rows_done = 0, error = NULL
         WHERE id = (SELECT id FROM exports
                     WHERE status = 'queued'
                        OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => $2))
                     ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
         RETURNING {COLUMNS}"
    ))
    .bind(instance)
    .bind(f64::from(STALE_SECONDS))
    .fetch_optional(pool)
    .await
}

/// Progress and "still alive"; false when the job is no longer this instance's (deleted, or
/// taken over), and the work should stop.
pub async fn heartbeat(pool: &PgPool, id: Uuid, instance: &str, rows_done: i64, rows_total: Option<i64>) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE exports SET heartbeat_at = now(), rows_done = $3, rows_total = coalesce($4, rows_total)
         WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(instance)
    .bind(rows_done)
    .bind(rows_total)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn finish(pool: &PgPool, id: Uuid, instance: &str, rows: i64, files: &serde_json::Value, expires_at: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE exports SET status = 'done', rows_done = $3, rows_total = $3, files = $4, finished_at = now(), expires_at = $5
         WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(instance)
    .bind(rows)
    .bind(files)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn fail(pool: &PgPool, id: Uuid, instance: &str, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE exports SET status = 'failed', error = $3, finished_at = now() WHERE id = $1 AND claimed_by = $2 AND status = 'running'")
        .bind(id)
        .bind(instance)
        .bind(error)
        .execute(pool)
        .await?;
    Ok(())
}

/// Jobs whose files have expired (removed from the list, then their files).
pub async fn take_expired(pool: &PgPool, now: DateTime<Utc>) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("DELETE FROM exports WHERE expires_at < $1 AND status IN ('done', 'failed') RETURNING id").bind(now).fetch_all(pool).await
}

/// Every job id still listed (directories of others are leftovers to remove).
pub async fn ids(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM exports").fetch_all(pool).await
}
