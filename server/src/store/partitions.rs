//! Daily partitions of `events`: created ahead, created on demand for backfills, and
//! "sealed" with a trigram search index once their day is over.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use sqlx::{Connection, PgConnection, PgPool};

/// Days known to have a partition, so ingest asks the database only for new days.
#[derive(Debug, Default)]
pub struct PartitionCache {
    known: Mutex<HashSet<NaiveDate>>,
}

impl PartitionCache {
    /// Makes sure every day in `days` has a partition.
    pub async fn ensure(&self, pool: &PgPool, days: impl IntoIterator<Item = NaiveDate>) -> Result<(), sqlx::Error> {
        let missing: Vec<NaiveDate> = {
            let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            let mut missing: Vec<NaiveDate> = days.into_iter().filter(|d| !known.contains(d)).collect();
            missing.sort();
            missing.dedup();
            missing
        };
        for day in missing {
            sqlx::query("SELECT ensure_event_partitions($1, $1)").bind(day).execute(pool).await?;
            self.known.lock().unwrap_or_else(|e| e.into_inner()).insert(day);
        }
        Ok(())
    }
}

/// Creates partitions for yesterday through a week ahead.
pub async fn create_ahead(pool: &PgPool) -> Result<i32, sqlx::Error> {
    let today = Utc::now().date_naive();
    sqlx::query_scalar("SELECT ensure_event_partitions($1, $2)")
        .bind(today - chrono::Days::new(1))
        .bind(today + chrono::Days::new(7))
        .fetch_one(pool)
        .await
}

/// Builds the trigram search index of every partition whose day ended at least an hour
/// ago. `CREATE INDEX CONCURRENTLY` keeps late inserts into those partitions flowing.
///
/// The builds run on a connection of their own, outside the pool (they need no statement
/// timeout, and a connection with changed settings must never serve a request), holding a
/// session advisory lock so that of several instances only one seals at a time. Returns how
/// many partitions were sealed (0 when another instance holds the lock).
pub async fn seal_finished_days(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let options = pool.connect_options().as_ref().clone().options([("statement_timeout", "0")]);
    let mut conn = PgConnection::connect_with(&options).await?;
    let result = seal_on(&mut conn).await;
    // Closing the session also releases its advisory lock.
    let _ = conn.close().await;
    result
}

async fn seal_on(conn: &mut PgConnection) -> Result<usize, sqlx::Error> {
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('auditorium.seal_partitions'))")
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        tracing::debug!("another instance is sealing partitions");
        return Ok(0);
    }
    let older_than = Utc::now() - chrono::Duration::hours(1);
    let partitions: Vec<String> = sqlx::query_scalar("SELECT partition_name FROM event_partitions_to_seal($1)")
        .bind(older_than)
        .fetch_all(&mut *conn)
        .await?;
    for partition in &partitions {
        // A leftover invalid index from an interrupted build must go first.
        let index = format!("{partition}_search");
        sqlx::query(&format!("DROP INDEX CONCURRENTLY IF EXISTS \"{index}\"")).execute(&mut *conn).await?;
        // Identifiers come from our own catalogue query (events_pYYYYMMDD), never from input.
        sqlx::query(&format!(
            "CREATE INDEX CONCURRENTLY \"{index}\" ON \"{partition}\" USING gin (search_text gin_trgm_ops)"
        ))
        .execute(&mut *conn)
        .await?;
        tracing::info!(partition = %partition, "sealed partition {partition}: search index built");
    }
    Ok(partitions.len())
}

/// Background upkeep, as the database owner: partitions ahead, sealing, and the retention
/// policy, every ten minutes.
pub async fn maintain(owner: PgPool, retention: crate::retention::Retention, archive_dir: Option<std::path::PathBuf>) {
    let pool = owner;
    loop {
        if let Err(e) = create_ahead(&pool).await {
            tracing::warn!(error = %e, "creating partitions ahead failed: {e}");
        }
        if let Err(e) = seal_finished_days(&pool).await {
            tracing::warn!(error = %e, "sealing partitions failed: {e}");
        }
        let options = pool.connect_options().as_ref().clone();
        if let Err(e) = crate::retention::apply(&options, retention, archive_dir.as_deref(), Utc::now()).await {
            tracing::error!(error = %e, "applying the retention policy ({retention}) failed; nothing more is dropped until the next round: {e}");
        }
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
}
