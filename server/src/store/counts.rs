//! Counting matching events per time bucket and outcome — the histogram, and with one bucket
//! the table's total.
//!
//! When a filter involves at most one counted field (plus the outcome) and no search, the
//! counts come from tables the insert trigger keeps exact: whole hours from
//! `event_counts_hourly`, the partial hours at the edges from `event_counts` (per minute), and
//! only the partial minutes from `events`. A context label is counted per hour from
//! `event_label_counts`. Everything else is counted from `events`. Every path gives the same
//! numbers; `tests/filter_agreement.rs` checks it.

use app::query::{EventFilter, Field, Filter, Scope};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

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

/// A pre-aggregated table, coarse or fine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    /// `event_counts_hourly`: per hour, per counted field (`dim`; '' = every event).
    Hours,
    /// `event_counts`: the same per minute.
    Minutes,
    /// `event_label_counts`: per hour, per context label (`dim` = the context key).
    Labels,
}

impl Table {
    fn step(self) -> TimeDelta {
        match self {
            Table::Minutes => TimeDelta::minutes(1),
            Table::Hours | Table::Labels => TimeDelta::hours(1),
        }
    }

    /// Name, time column, dimension column.
    fn sql(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Table::Hours => ("event_counts_hourly", "hour", "dim"),
            Table::Minutes => ("event_counts", "minute", "dim"),
            Table::Labels => ("event_label_counts", "hour", "key"),
        }
    }

    /// The table holding every event's count at the same granularity ('' rows).
    fn all(self) -> Table {
        match self {
            Table::Minutes => Table::Minutes,
            Table::Hours | Table::Labels => Table::Hours,
        }
    }
}

/// How to answer from the counts tables: the tables from coarse to fine, the dimension, its
/// include/exclude filters, and the outcome filters.
struct CountPlan<'a> {
    levels: &'static [Table],
    dim: String,
    include: Option<&'a Filter>,
    exclude: Option<&'a Filter>,
    outcome: Vec<&'a Filter>,
}

fn plan(filter: &EventFilter) -> Option<CountPlan<'_>> {
    if filter.search.is_some() {
        return None;
    }
    let mut plan = CountPlan { levels: &[Table::Hours, Table::Minutes], dim: String::new(), include: None, exclude: None, outcome: Vec::new() };
    let mut field: Option<&Field> = None;
    // A scope of one view without search adds its filters; any other scope is counted from
    // the events (the tables hold no per-person counts).
    let scope_filters: &[Filter] = match &filter.scope {
        Scope::All => &[],
        Scope::AnyOf(views) => match views.as_slice() {
            [one] if one.search.is_none() => &one.filters,
            _ => return None,
        },
    };
    for f in filter.filters.iter().chain(scope_filters) {
        if f.field == Field::Outcome {
            plan.outcome.push(f);
            continue;
        }
        let (levels, dim): (&'static [Table], String) = match &f.field {
            Field::Context(key) => (&[Table::Labels], key.clone()),
            other => (&[Table::Hours, Table::Minutes], count_dimension(other)?.to_string()),
        };
        if field.is_some_and(|seen| *seen != f.field) {
            return None; // two different fields: no single dimension holds both
        }
        field = Some(&f.field);
        (plan.levels, plan.dim) = (levels, dim);
        // A second include (or exclude) on the same field — the view's and the scope's —
        // must both hold; the plan keeps one of each.
        let slot = if f.negated { &mut plan.exclude } else { &mut plan.include };
        if slot.is_some() {
            return None;
        }
        *slot = Some(f);
    }
    Some(plan)
}

/// Whether the counts tables can answer for this filter (then counting is fast and exact).
pub fn is_counted(filter: &EventFilter) -> bool {
    plan(filter).is_some()
}

/// A half-open time segment.
type Segment = (DateTime<Utc>, DateTime<Utc>);

/// Counts of events matching `filter` (whose `from` and `to` must be set) per bucket, where
/// bucket i is `[bounds[i], bounds[i+1])`. Events outside `[from, to)` are not counted.
pub async fn count_buckets(conn: &mut PgConnection, filter: &EventFilter, bounds: &[DateTime<Utc>]) -> Result<Vec<Pair>, sqlx::Error> {
    let mut counts = vec![[0u64; 2]; bounds.len().saturating_sub(1)];
    let (Some(from), Some(to)) = (filter.from, filter.to) else {
        return Ok(counts);
    };
    let Some(plan) = plan(filter) else {
        add_rows(&mut counts, event_rows(conn, filter, &[(from, to)], bounds).await?);
        return Ok(counts);
    };
    let mut segments = vec![(from, to)];
    for &table in plan.levels {
        let step = table.step();
        let mut whole = Vec::new();
        let mut rest = Vec::new();
        for (a, b) in segments {
            match whole_steps(a, b, step) {
                // A bound inside the span must fall on a step, or a row would straddle two
                // buckets. The outer bounds may be ragged: counting stops at the segment.
                Some((ia, ib)) if bounds.iter().filter(|t| ia < **t && **t < ib).all(|t| on_step(*t, step)) => {
                    whole.push((ia, ib));
                    rest.extend([(a, ia), (ib, b)].into_iter().filter(|(x, y)| x < y));
                }
                _ => rest.push((a, b)),
            }
        }
        if !whole.is_empty() {
            add_rows(&mut counts, rollup_rows(conn, &plan, table, &whole, bounds).await?);
        }
        segments = rest;
    }
    if !segments.is_empty() {
        add_rows(&mut counts, event_rows(conn, filter, &segments, bounds).await?);
    }
    Ok(counts)
}

/// The whole steps inside `[a, b)`, if any.
pub fn whole_steps(a: DateTime<Utc>, b: DateTime<Utc>, step: TimeDelta) -> Option<Segment> {
    let start = a.duration_trunc(step).ok().map(|t| if t < a { t + step } else { t })?;
    let end = b.duration_trunc(step).ok()?;
    (start < end).then_some((start, end))
}

fn on_step(t: DateTime<Utc>, step: TimeDelta) -> bool {
    t.duration_trunc(step).is_ok_and(|m| m == t)
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

/// `AND (t >= a1 AND t < b1 OR ...)` for the segments.
pub fn push_segments(qb: &mut QueryBuilder<'_, Postgres>, column: &str, segments: &[Segment]) {
    qb.push(" AND (");
    for (i, (a, b)) in segments.iter().enumerate() {
        if i > 0 {
            qb.push(" OR ");
        }
        qb.push(format!("({column} >= ")).push_bind(*a).push(format!(" AND {column} < ")).push_bind(*b).push(")");
    }
    qb.push(")");
}

async fn event_rows(conn: &mut PgConnection, filter: &EventFilter, segments: &[Segment], bounds: &[DateTime<Utc>]) -> Result<Vec<Row>, sqlx::Error> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT width_bucket(e.occurred_at, ");
    qb.push_bind(bounds.to_vec()).push("::timestamptz[]) AS bucket, e.outcome = 'failure', count(*) FROM events e WHERE true");
    push_conditions(&mut qb, &EventFilter { from: None, to: None, ..filter.clone() });
    push_segments(&mut qb, "e.occurred_at", segments);
    qb.push(" GROUP BY 1, 2");
    qb.build_query_as().fetch_all(&mut *conn).await
}

/// Sums of whole steps of `table` in `segments`. An exclude-only filter is answered as "all
/// events minus the excluded values", which reads far fewer rows.
async fn rollup_rows(conn: &mut PgConnection, plan: &CountPlan<'_>, table: Table, segments: &[Segment], bounds: &[DateTime<Utc>]) -> Result<Vec<Row>, sqlx::Error> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT width_bucket(c.t, ");
    qb.push_bind(bounds.to_vec()).push("::timestamptz[]) AS bucket, c.outcome = 'failure', sum(c.n)::int8 FROM (");
    match (plan.include, plan.exclude) {
        (None, None) => push_part(&mut qb, plan, table.all(), Part::All, segments),
        (None, Some(exclude)) => {
            push_part(&mut qb, plan, table.all(), Part::All, segments);
            qb.push(" UNION ALL ");
            let positive = Filter::new(exclude.field.clone(), false, exclude.values().iter().cloned());
            push_part(&mut qb, plan, table, Part::Minus(positive.as_ref()), segments);
        }
        (Some(include), exclude) => push_part(&mut qb, plan, table, Part::Values(include, exclude), segments),
    }
    qb.push(") c GROUP BY 1, 2");
    qb.build_query_as().fetch_all(&mut *conn).await
}

/// One SELECT of (t, outcome, n) rows.
enum Part<'a> {
    /// Every event ('' rows).
    All,
    /// The plan's dimension, values matching include and not exclude.
    Values(&'a Filter, Option<&'a Filter>),
    /// The plan's dimension, values matching the filter, counted negatively.
    Minus(Option<&'a Filter>),
}

fn push_part(qb: &mut QueryBuilder<'_, Postgres>, plan: &CountPlan<'_>, table: Table, part: Part<'_>, segments: &[Segment]) {
    let (name, time, dim_column) = table.sql();
    let sign = if matches!(part, Part::Minus(_)) { "-" } else { "" };
    qb.push(format!("SELECT c.{time} AS t, c.outcome, {sign}c.n AS n FROM {name} c WHERE c.{dim_column} = "));
    match &part {
        Part::All => qb.push("''"),
        _ => qb.push_bind(plan.dim.clone()),
    };
    push_segments(qb, &format!("c.{time}"), segments);
    match part {
        Part::All => {}
        Part::Values(include, exclude) => {
            push_filter(qb, On::Counts, include);
            if let Some(exclude) = exclude {
                push_filter(qb, On::Counts, exclude);
            }
        }
        Part::Minus(Some(values)) => push_filter(qb, On::Counts, values),
        Part::Minus(None) => {
            qb.push(" AND false");
        }
    }
    for outcome in &plan.outcome {
        push_filter(qb, On::Counts, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::query::decode_query;

    fn planned(query: &str) -> Option<String> {
        let view = decode_query(query, &[]).view;
        let filter = EventFilter { filters: view.filters().to_vec(), search: view.search.clone(), from: None, to: None, scope: Scope::All };
        plan(&filter).map(|p| format!("{:?}:{}", p.levels, p.dim))
    }

    #[test]
    fn which_filters_the_counts_table_can_answer() {
        assert_eq!(planned("").as_deref(), Some("[Hours, Minutes]:"));
        assert_eq!(planned("method!=GET").as_deref(), Some("[Hours, Minutes]:method"));
        assert_eq!(planned("action=project.*&action!=project.viewed&outcome=failure").as_deref(), Some("[Hours, Minutes]:action"));
        assert_eq!(planned("status=5xx&outcome!=success").as_deref(), Some("[Hours, Minutes]:status"));
        assert_eq!(planned("context.cluster!=prod&outcome=failure").as_deref(), Some("[Labels]:cluster"));
        assert_eq!(planned("method!=GET&action=user.login"), None, "two dimensions");
        assert_eq!(planned("context.cluster=a&context.team=b"), None, "two labels");
        assert_eq!(planned("actor.id=u1"), None, "not a counted dimension");
        assert_eq!(planned("q=deploy"), None);
    }
}
