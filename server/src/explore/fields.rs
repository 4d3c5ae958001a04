//! The filterable fields and, for autocomplete, the most frequent values of one of them.

use app::api::{FieldInfo, FieldList, FieldValues, ValueCount};
use app::query::{EventFilter, Field, Scope};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::decode_strict;
use super::ExploreError;
use crate::store::counts::{count_dimension, is_counted, push_segments, whole_steps};
use crate::store::filter_sql::{like_escape, push_conditions, push_filter, push_text, On};

/// How many values autocomplete offers.
const TOP: i64 = 20;
/// Without a counts table, values are tallied over the newest this-many matching events.
const SAMPLE: i64 = 50_000;

/// `GET /api/v1/fields`: every fixed field and every context key seen so far.
pub async fn fields(pool: &PgPool) -> Result<FieldList, ExploreError> {
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM context_keys ORDER BY key").fetch_all(pool).await?;
    let fields = Field::FIXED
        .into_iter()
        .chain(keys.into_iter().map(Field::Context))
        .map(|f| FieldInfo {
            key: f.key(),
            label: f.label(),
            kind: f.kind(),
            values: f.known_values().into_iter().map(str::to_string).collect(),
        })
        .collect();
    Ok(FieldList { fields })
}

/// `GET /api/v1/fields/{field}/values?<view>&prefix=`: the most frequent values of `field`
/// among the events the view selects, ignoring the view's own filters on that field.
/// Within `scope`: no value of an event the reader may not see is offered.
pub async fn field_values(pool: &PgPool, field_key: &str, query: &str, now: DateTime<Utc>, scope: &Scope) -> Result<FieldValues, ExploreError> {
    let field = Field::parse(field_key).map_err(|_| ExploreError::NotFound(format!("there is no field {field_key:?}")))?;
    let decoded = decode_strict(query, &["prefix"])?;
    let prefix = decoded.extras.iter().find(|(k, _)| k == "prefix").map(|(_, v)| v.clone()).unwrap_or_default();
    let filter = EventFilter::for_window(&decoded.view, now).within(scope).without_field(&field);
    // The counts tables hold no per-person counts: within a scope, values are tallied from
    // the events the person may see.
    let counted = filter.scope.is_all() && is_counted(&filter) && !has_other_dimension(&filter);
    let table = match &field {
        Field::Context(key) if counted => Some(("event_label_counts", "key", "hour", key.clone())),
        other => count_dimension(other).filter(|_| counted).map(|dim| ("event_counts", "dim", "minute", dim.to_string())),
    };
    let counted = match table {
        Some(table) => counted_values(pool, &filter, &field, table, &prefix).await?,
        None => None,
    };
    let (values, exact) = match counted {
        Some(values) => (values, true),
        None => sampled_values(pool, &filter, &field, &prefix).await?,
    };
    Ok(FieldValues { field: field.key(), values, exact })
}

/// Whether the filter already uses a counted field (then values cannot be grouped by another).
fn has_other_dimension(filter: &EventFilter) -> bool {
    filter.filters.iter().any(|f| count_dimension(&f.field).is_some() || matches!(f.field, Field::Context(_)))
}

/// A counts table: name, dimension column, time column, dimension.
type CountsTable = (&'static str, &'static str, &'static str, String);

/// Exact counts: the whole minutes (or hours) inside the window from a counts table, and the
/// ragged edges around them tallied from the events themselves. `None` when the window holds
/// no whole step (then the events are few: tallying them is as cheap).
async fn counted_values(pool: &PgPool, filter: &EventFilter, field: &Field, table: CountsTable, prefix: &str) -> Result<Option<Vec<ValueCount>>, sqlx::Error> {
    let (name, dim_column, time, dim) = table;
    let step = if time == "hour" { TimeDelta::hours(1) } else { TimeDelta::minutes(1) };
    let (Some(from), Some(to)) = (filter.from, filter.to) else { return Ok(None) };
    let Some((whole_from, whole_to)) = whole_steps(from, to, step) else { return Ok(None) };
    let mut qb: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT value, sum(n)::int8 FROM (SELECT c.value AS value, c.n::int8 AS n FROM {name} c WHERE c.{dim_column} = "));
    qb.push_bind(dim).push(" AND c.value IS NOT NULL");
    qb.push(format!(" AND c.{time} >= ")).push_bind(whole_from).push(format!(" AND c.{time} < ")).push_bind(whole_to);
    for outcome in filter.filters.iter().filter(|f| f.field == Field::Outcome) {
        push_filter(&mut qb, On::Counts, outcome);
    }
    if !prefix.is_empty() {
        qb.push(" AND c.value LIKE ").push_bind(format!("{}%", like_escape(prefix)));
    }
    let edges: Vec<_> = [(from, whole_from), (whole_to, to)].into_iter().filter(|(a, b)| a < b).collect();
    if !edges.is_empty() {
        qb.push(" UNION ALL SELECT ");
        push_text(&mut qb, field);
        qb.push(", count(*)::int8 FROM events e WHERE true");
        push_conditions(&mut qb, filter);
        push_segments(&mut qb, "e.occurred_at", &edges);
        if !prefix.is_empty() {
            qb.push(" AND ");
            push_text(&mut qb, field);
            qb.push(" LIKE ").push_bind(format!("{}%", like_escape(prefix)));
        }
        qb.push(" GROUP BY 1");
    }
    qb.push(") parts WHERE value IS NOT NULL GROUP BY value ORDER BY 2 DESC, 1 LIMIT ").push_bind(TOP);
    let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(pool).await?;
    Ok(Some(rows.into_iter().map(|(value, n)| ValueCount { value, count: u64::try_from(n).unwrap_or(0) }).collect()))
}

/// Tallied over the newest matching events; exact when fewer than the sample matched.
async fn sampled_values(pool: &PgPool, filter: &EventFilter, field: &Field, prefix: &str) -> Result<(Vec<ValueCount>, bool), sqlx::Error> {
    let mut qb: QueryBuilder<Postgres> =
        QueryBuilder::new("SELECT v, count(*)::int8, (sum(count(*)) OVER ())::int8 FROM (SELECT ");
    push_text(&mut qb, field);
    qb.push(" AS v FROM events e WHERE true");
    push_conditions(&mut qb, filter);
    if !prefix.is_empty() {
        qb.push(" AND ");
        push_text(&mut qb, field);
        qb.push(" LIKE ").push_bind(format!("{}%", like_escape(prefix)));
    }
    qb.push(" ORDER BY e.occurred_at DESC LIMIT ").push_bind(SAMPLE);
    qb.push(") newest GROUP BY v ORDER BY 2 DESC, 1 LIMIT ").push_bind(TOP + 1);
    let rows: Vec<(Option<String>, i64, i64)> = qb.build_query_as().fetch_all(pool).await?;
    let whole = rows.first().is_none_or(|(_, _, sampled)| *sampled < SAMPLE);
    let values = rows
        .into_iter()
        .filter_map(|(value, n, _)| Some(ValueCount { value: value?, count: u64::try_from(n).unwrap_or(0) }))
        .take(TOP as usize)
        .collect();
    Ok((values, whole))
}
