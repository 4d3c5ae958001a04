//! The table's total: exact when it can be had quickly, otherwise a lower bound flagged as
//! such — never a silently wrong number.
//!
//! Filters a counts table can answer are counted exactly from it. For the others, one pass
//! reads the newest matching keys up to [`CAP`]: fewer than that is the exact total (and the
//! first page, so the rows are not looked up twice). Past it, an exact count gets
//! [`EXACT_BUDGET_MS`]; if that is not enough, the total is "more than CAP".

use app::api::Total;
use app::query::EventFilter;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::store::counts::count_buckets;
use crate::store::filter_sql::push_conditions;

/// How many matching events the capped pass reads at most.
pub const CAP: usize = 1000;
/// How long an exact count may take once more than CAP events match.
const EXACT_BUDGET_MS: u32 = 150;

/// Exactly, from the counts tables (the caller checked `is_counted`).
pub async fn counted(pool: &PgPool, filter: &EventFilter) -> Result<Total, sqlx::Error> {
    let (Some(from), Some(to)) = (filter.from, filter.to) else {
        return Ok(Total { count: 0, exact: true });
    };
    let count = count_buckets(&mut *pool.acquire().await?, filter, &[from, to]).await?.iter().map(|[s, f]| s + f).sum();
    Ok(Total { count, exact: true })
}

/// The newest matching keys, at most `cap + 1` of them, newest first.
pub async fn newest_keys(pool: &PgPool, filter: &EventFilter, cap: usize) -> Result<Vec<(DateTime<Utc>, Uuid)>, sqlx::Error> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT e.occurred_at, e.id FROM events e WHERE true");
    push_conditions(&mut qb, filter);
    qb.push(" ORDER BY e.occurred_at DESC, e.id DESC LIMIT ").push_bind(cap as i64 + 1);
    qb.build_query_as().fetch_all(pool).await
}

/// The total given the capped pass found `found` keys.
pub async fn beyond_cap(pool: &PgPool, filter: &EventFilter, found: usize) -> Result<Total, sqlx::Error> {
    beyond_cap_within(pool, filter, found, EXACT_BUDGET_MS).await
}

/// [`beyond_cap`] with another budget for the exact count.
pub async fn beyond_cap_within(pool: &PgPool, filter: &EventFilter, found: usize, budget_ms: u32) -> Result<Total, sqlx::Error> {
    if found <= CAP {
        return Ok(Total { count: found as u64, exact: true });
    }
    Ok(match timed_count(pool, filter, budget_ms).await? {
        Some(count) => Total { count, exact: true },
        None => Total { count: CAP as u64, exact: false },
    })
}

/// `count(*)` within `budget_ms`; `None` when the budget ran out.
async fn timed_count(pool: &PgPool, filter: &EventFilter, budget_ms: u32) -> Result<Option<u64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("SET LOCAL statement_timeout = {budget_ms}")).execute(&mut *tx).await?;
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT count(*) FROM events e WHERE true");
    push_conditions(&mut qb, filter);
    let result: Result<i64, sqlx::Error> = qb.build_query_scalar().fetch_one(&mut *tx).await;
    match result {
        Ok(n) => {
            tx.commit().await?;
            Ok(Some(u64::try_from(n).unwrap_or(0)))
        }
        Err(e) if e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "57014") => Ok(None),
        Err(e) => Err(e),
    }
}
