//! The events of an export, read in keyset chunks newest first through the same filter SQL
//! and scope as every other read (`store::page::fetch_page`). Each chunk is one short query,
//! so an export of any size holds no transaction open, returns its connection between
//! chunks, and can resume after the last event it wrote.

use app::event::Event;
use app::query::{EventFilter, Scope, ViewState};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::columns::Columns;
use crate::explore::{decode_strict, total, ExploreError};
use crate::store::counts::is_counted;
use crate::store::page::{fetch_page, Cursor};

/// Events per query.
pub const CHUNK: u32 = 5_000;

/// What an export reads: a view at a moment, within a scope, and its columns.
#[derive(Clone, Debug)]
pub struct Plan {
    pub filter: EventFilter,
    pub columns: Columns,
}

/// Decodes `query` (refusing bad parameters with every problem named; `extras` are the
/// caller's own parameters) and fixes its time range at `now`.
pub async fn plan(pool: &PgPool, query: &str, extras: &[&str], now: DateTime<Utc>, scope: &Scope) -> Result<(Plan, Vec<(String, String)>), ExploreError> {
    let decoded = decode_strict(query, extras)?;
    Ok((plan_view(pool, &decoded.view, now, scope).await?, decoded.extras))
}

pub async fn plan_view(pool: &PgPool, view: &ViewState, now: DateTime<Utc>, scope: &Scope) -> Result<Plan, ExploreError> {
    let filter = EventFilter::for_window(view, now).within(scope);
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM context_keys ORDER BY key").fetch_all(pool).await?;
    Ok(Plan { filter, columns: Columns::new(keys) })
}

/// The next chunk after `after` (None: from the newest), and where the one after starts.
pub async fn chunk(pool: &PgPool, plan: &Plan, after: Option<Cursor>) -> Result<(Vec<Event>, Option<Cursor>), sqlx::Error> {
    let page = fetch_page(pool, &plan.filter, after, CHUNK).await?;
    Ok((page.events, page.older))
}

/// How many events the export will hold (for progress): exact, from the count tables when
/// they can answer, otherwise by counting.
pub async fn count(pool: &PgPool, plan: &Plan) -> Result<u64, sqlx::Error> {
    if is_counted(&plan.filter) {
        return Ok(total::counted(pool, &plan.filter).await?.count);
    }
    let mut qb: sqlx::QueryBuilder<sqlx::Postgres> = sqlx::QueryBuilder::new("SELECT count(*) FROM events e WHERE true");
    crate::store::filter_sql::push_conditions(&mut qb, &plan.filter);
    let n: i64 = qb.build_query_scalar().fetch_one(pool).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}
