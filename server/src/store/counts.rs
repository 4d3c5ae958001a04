//! Counting matching events per time bucket and outcome — the histogram, and with one bucket
//! the table's total.
//!
//! When a filter involves at most one low-cardinality field (plus the outcome) and no search,
//! whole minutes come from `event_counts` (kept exact by the insert trigger) and only the
//! partial minutes at the range's ragged edges are counted from `events`. Everything else is
//! counted from `events`. Both paths give the same numbers; tests check it.

use app::query::{EventFilter, Field, Filter};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::filter_sql::{push_conditions, push_filter, On};

/// Successes and failures.
pub type Pair = [u64; 2];

/// The `event_counts` dimension of a field, if it has one.
pub fn count_dimension(field: &Field) -> Option<&'static str> {
    match field {
        Field::Action => Some("action"),
        Field::ActorType => Some("actor.type"),
        Field::Source => Some("source"),
        Field::Method => Some("method"),
        Field::Status => Some("status"),
        Field::ResourceType => Some("resource.type"),
        _ => None,
    }
}

/// How to answer from `event_counts`: the dimension, its include/exclude filters, and the
/// outcome filters.
struct CountPlan<'a> {
    dim: &'static str,
    include: Option<&'a Filter>,
    exclude: Option<&'a Filter>,
    outcome: Vec<&'a Filter>,
}

fn plan(filter: &EventFilter) -> Option<CountPlan<'_>> {
    if filter.search.is_some() {
        return None;
    }
    let mut plan = CountPlan { dim: "", include: None, exclude: None, outcome: Vec::new() };
    let mut field: Option<&Field> = None;
    for f in &filter.filters {
        if f.field == Field::Outcome {
            plan.outcome.push(f);
            continue;
        }
        let dim = count_dimension(&f.field)?;
        if field.is_some_and(|seen| *seen != f.field) {
            return None; // two different fields: no single dimension holds both
        }
        field = Some(&f.field);
        plan.dim = dim;
        if f.negated {
            plan.exclude = Some(f);
        } else {
            plan.include = Some(f);
        }
    }
    Some(plan)
}

/// Whether `event_counts` can answer for this filter (then counting is fast and exact).
pub fn is_counted(filter: &EventFilter) -> bool {
    plan(filter).is_some()
}

/// Counts of events matching `filter` (whose `from` and `to` must be set) per bucket, where
/// bucket i is `[bounds[i], bounds[i+1])`. Events outside `[from, to)` are not counted.
pub async fn count_buckets(pool: &PgPool, filter: &EventFilter, bounds: &[DateTime<Utc>]) -> Result<Vec<Pair>, sqlx::Error> {
    let mut counts = vec![[0u64; 2]; bounds.len().saturating_sub(1)];
    let (Some(from), Some(to)) = (filter.from, filter.to) else {
        return Ok(counts);
    };
    let minute = TimeDelta::minutes(1);
    let aligned = |t: &DateTime<Utc>| t.duration_trunc(minute).is_ok_and(|m| m == *t);
    let inner_from = from.duration_trunc(minute).map(|m| if m < from { m + minute } else { m });
    let inner_to = to.duration_trunc(minute);
    match (plan(filter), inner_from, inner_to) {
        (Some(plan), Ok(inner_from), Ok(inner_to)) if inner_from < inner_to && bounds.iter().all(aligned) => {
            add_rows(&mut counts, rollup_rows(pool, &plan, bounds, inner_from, inner_to).await?);
            for (edge_from, edge_to) in [(from, inner_from), (inner_to, to)] {
                if edge_from < edge_to {
                    let edge = EventFilter { from: Some(edge_from), to: Some(edge_to), ..filter.clone() };
                    add_rows(&mut counts, event_rows(pool, &edge, bounds).await?);
                }
            }
        }
        _ => add_rows(&mut counts, event_rows(pool, filter, bounds).await?),
    }
    Ok(counts)
}

/// (bucket 1-based, failure?, count) rows.
type Row = (i32, bool, i64);

fn add_rows(counts: &mut [Pair], rows: Vec<Row>) {
    for (bucket, failure, n) in rows {
        if let Some(pair) = usize::try_from(bucket - 1).ok().and_then(|i| counts.get_mut(i)) {
            pair[usize::from(failure)] = pair[usize::from(failure)].saturating_add_signed(n);
        }
    }
}

async fn event_rows(pool: &PgPool, filter: &EventFilter, bounds: &[DateTime<Utc>]) -> Result<Vec<Row>, sqlx::Error> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT width_bucket(e.occurred_at, ");
    qb.push_bind(bounds.to_vec()).push("::timestamptz[]) AS bucket, e.outcome = 'failure', count(*) FROM events e WHERE true");
    push_conditions(&mut qb, filter);
    qb.push(" GROUP BY 1, 2");
    qb.build_query_as().fetch_all(pool).await
}

/// Sums of whole minutes in `[inner_from, inner_to)`. An exclude-only filter is answered as
/// "all events minus the excluded values", which reads far fewer rows.
async fn rollup_rows(
    pool: &PgPool,
    plan: &CountPlan<'_>,
    bounds: &[DateTime<Utc>],
    inner_from: DateTime<Utc>,
    inner_to: DateTime<Utc>,
) -> Result<Vec<Row>, sqlx::Error> {
    let subtract = plan.include.is_none() && plan.exclude.is_some();
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT width_bucket(c.minute, ");
    qb.push_bind(bounds.to_vec()).push("::timestamptz[]) AS bucket, c.outcome = 'failure', ");
    qb.push(if subtract { "sum(CASE WHEN c.dim = '' THEN c.n ELSE -c.n END)" } else { "sum(c.n)" });
    qb.push("::int8 FROM event_counts c WHERE c.minute >= ").push_bind(inner_from);
    qb.push(" AND c.minute < ").push_bind(inner_to);
    match (plan.include, plan.exclude) {
        (None, None) => {
            qb.push(" AND c.dim = ''");
        }
        (None, Some(exclude)) => {
            // Every event, minus those whose value is excluded.
            let positive = Filter::new(exclude.field.clone(), false, exclude.values().iter().cloned());
            qb.push(" AND (c.dim = '' OR (c.dim = ").push_bind(plan.dim).push(" ");
            if let Some(positive) = &positive {
                push_filter(&mut qb, On::Counts, positive);
            }
            qb.push("))");
        }
        (Some(include), exclude) => {
            qb.push(" AND c.dim = ").push_bind(plan.dim);
            push_filter(&mut qb, On::Counts, include);
            if let Some(exclude) = exclude {
                push_filter(&mut qb, On::Counts, exclude);
            }
        }
    }
    for outcome in &plan.outcome {
        push_filter(&mut qb, On::Counts, outcome);
    }
    qb.push(" GROUP BY 1, 2");
    qb.build_query_as().fetch_all(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::query::decode_query;

    fn planned(query: &str) -> Option<&'static str> {
        let view = decode_query(query, &[]).view;
        let filter = EventFilter { filters: view.filters().to_vec(), search: view.search.clone(), from: None, to: None };
        plan(&filter).map(|p| p.dim)
    }

    #[test]
    fn which_filters_the_counts_table_can_answer() {
        assert_eq!(planned(""), Some(""));
        assert_eq!(planned("method!=GET"), Some("method"));
        assert_eq!(planned("action=project.*&action!=project.viewed&outcome=failure"), Some("action"));
        assert_eq!(planned("status=5xx&outcome!=success"), Some("status"));
        assert_eq!(planned("method!=GET&action=user.login"), None, "two dimensions");
        assert_eq!(planned("actor.id=u1"), None, "not a counted dimension");
        assert_eq!(planned("context.cluster=prod"), None);
        assert_eq!(planned("q=deploy"), None);
    }
}
