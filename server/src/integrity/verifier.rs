//! The background verifier: every half minute, one instance (advisory lock) recomputes the
//! batches committed since its last run and records how far the log is verified; every
//! `checkpoint_every` it signs the chain's head. A problem is logged, audited once and shown
//! on the page until `auditorium verify` has been run and the state reset.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgPool};

use super::chain::{self, Anchor, Range};
use super::checkpoint;
use crate::auth::audit::{self, Actor, Entry, Origin};

const EVERY: Duration = Duration::from_secs(30);

/// What the page shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Commit time of the newest batch verified.
    pub verified_upto: Option<DateTime<Utc>>,
    pub problem: Option<String>,
}

pub async fn status<'e>(db: impl sqlx::PgExecutor<'e>) -> Result<Status, sqlx::Error> {
    let row: Option<(Option<DateTime<Utc>>, Option<String>)> = sqlx::query_as("SELECT verified_upto, problem FROM integrity_state").fetch_optional(db).await?;
    Ok(row.map(|(verified_upto, problem)| Status { verified_upto, problem }).unwrap_or_default())
}

/// One incremental run; returns the findings of this run (empty: intact so far).
pub async fn run_once(pool: &PgPool) -> Result<Vec<chain::Finding>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('auditorium.verifier'))").fetch_one(&mut *conn).await?;
    if !locked {
        return Ok(Vec::new());
    }
    let result = verify_new(&mut conn, pool).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock(hashtext('auditorium.verifier'))").execute(&mut *conn).await;
    if result.is_err() || unlocked.is_err() {
        // Its session state (the lock, a transaction) is not certain: never back to the pool.
        let _ = conn.detach().close().await;
    }
    result
}

async fn verify_new(conn: &mut sqlx::PgConnection, pool: &PgPool) -> Result<Vec<chain::Finding>, sqlx::Error> {
    let state: Option<(i64, Vec<u8>, Option<String>)> = sqlx::query_as("SELECT verified_seq, digest, problem FROM integrity_state").fetch_optional(&mut *conn).await?;
    let (after, previous_problem) = match state {
        Some((seq, digest, problem)) => (Some((seq, digest)), problem),
        None => (None, None),
    };
    let from = after.as_ref().map_or(0, |(seq, _)| *seq);
    let anchors: Vec<Anchor> = checkpoint::stored(pool, from)
        .await?
        .into_iter()
        .filter_map(|c| Some(Anchor { seq: c.seq, digest: c.digest_bytes()? }))
        .collect();
    let report = chain::verify(pool, &Range { after, ..Range::default() }, &anchors).await?;
    let Some(last_seq) = report.last_seq else { return Ok(report.findings) };
    let problem = report.findings.first().map(|f| format!("{f} ({} problem(s); run `auditorium verify`)", report.findings.len()));
    sqlx::query(
        "INSERT INTO integrity_state (verified_seq, digest, verified_upto, checked_at, problem) VALUES ($1, $2, $3, now(), $4)
         ON CONFLICT (singleton) DO UPDATE SET verified_seq = $1, digest = $2, verified_upto = $3, checked_at = now(),
             problem = coalesce(integrity_state.problem, $4)",
    )
    .bind(last_seq)
    .bind(report.last_digest.clone().unwrap_or_default())
    .bind(report.verified_upto)
    .bind(&problem)
    .execute(&mut *conn)
    .await?;
    if let (Some(problem), None) = (&problem, &previous_problem) {
        tracing::error!(problem = %problem, "the audit log's integrity check failed: {problem}");
        let entry = Entry::new("auditorium.integrity.check_failed", Actor::system(), Origin::default()).failed(problem.clone());
        audit::record(&mut *conn, &entry).await?;
    }
    Ok(report.findings)
}

/// Background: verify every half minute, sign a checkpoint every `checkpoint_every`.
pub async fn keep_verifying(pool: PgPool, data_dir: PathBuf, checkpoint_every: Duration) {
    let key = match checkpoint::load_or_create(&data_dir) {
        Ok(key) => Some(key),
        Err(e) => {
            tracing::error!(error = %e, "no integrity key, so no signed checkpoints: {e}");
            None
        }
    };
    let mut last_checkpoint: Option<std::time::Instant> = None;
    loop {
        if let Err(e) = run_once(&pool).await {
            tracing::warn!(error = %e, "verifying the audit log failed: {e}");
        }
        if let Some(key) = &key {
            if last_checkpoint.is_none_or(|t| t.elapsed() >= checkpoint_every) {
                match checkpoint::make(&pool, key).await {
                    Ok(_) => last_checkpoint = Some(std::time::Instant::now()),
                    Err(e) => tracing::warn!(error = %e, "signing a checkpoint failed: {e}"),
                }
            }
        }
        tokio::time::sleep(EVERY).await;
    }
}
