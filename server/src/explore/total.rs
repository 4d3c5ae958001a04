//! The table's total: exact when it can be had within a time budget, otherwise a lower bound
//! flagged as such — never a silently wrong number.

use app::api::Total;
use app::query::EventFilter;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::store::counts::{count_buckets, is_counted};
use crate::store::filter_sql::push_conditions;

/// How long an exact count of events may take.
const EXACT_BUDGET_MS: u32 = 400;
/// How long the bounded fallback count may take, and how far it counts.
const BOUND_BUDGET_MS: u32 = 150;
const BOUND_LIMIT: i64 = 10_000;

pub async fn total(pool: &PgPool, filter: &EventFilter) -> Result<Total, sqlx::Error> {
    if is_counted(filter) {
        let (Some(from), Some(to)) = (filter.from, filter.to) else {
            return Ok(Total { count: 0, exact: true });
        };
        let [[success, failure]] = count_buckets(pool, filter, &[from, to]).await?[..] else {
            return Ok(Total { count: 0, exact: true });
        };
        return Ok(Total { count: success + failure, exact: true });
    }
    let exact = timed_count(pool, filter, EXACT_BUDGET_MS, None).await?;
    if let Some(count) = exact {
        return Ok(Total { count, exact: true });
    }
    match timed_count(pool, filter, BOUND_BUDGET_MS, Some(BOUND_LIMIT + 1)).await? {
        Some(n) if n > BOUND_LIMIT as u64 => Ok(Total { count: BOUND_LIMIT as u64, exact: false }),
        // Fewer than the limit within a shorter budget than the full count: exact after all.
        Some(n) => Ok(Total { count: n, exact: true }),
        None => Ok(Total { count: 0, exact: false }),
    }
}

/// `count(*)` (up to `limit`) within `budget_ms`; `None` when the budget ran out.
async fn timed_count(pool: &PgPool, filter: &EventFilter, budget_ms: u32, limit: Option<i64>) -> Result<Option<u64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("SET LOCAL statement_timeout = {budget_ms}")).execute(&mut *tx).await?;
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM events e WHERE true");
    push_conditions(&mut qb, filter);
    if let Some(limit) = limit {
        qb.push(" LIMIT ").push_bind(limit);
    }
    qb.push(") matching");
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
