//! Reading events by commit position, for the live tail.

use app::event::Event;
use app::query::EventFilter;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::filter_sql::push_conditions;
use super::rows::{EventRow, EVENT_COLUMNS};

#[derive(sqlx::FromRow)]
struct PositionedRow {
    seq: i64,
    #[sqlx(flatten)]
    event: EventRow,
}

/// Up to `limit` events with a position after `after`, in position (= commit) order.
pub async fn events_after(pool: &PgPool, after: i64, limit: i64) -> Result<Vec<(i64, Event)>, sqlx::Error> {
    matching_between(pool, None, after, None, limit).await
}

/// Up to `limit` events matching `filter` with a position in `(after, until]`, in position
/// order: what a reconnecting client missed.
pub async fn matching_between(
    db: impl sqlx::PgExecutor<'_>,
    filter: Option<&EventFilter>,
    after: i64,
    until: Option<i64>,
    limit: i64,
) -> Result<Vec<(i64, Event)>, sqlx::Error> {
    // Walk positions in order and fetch each event by its key. The LATERAL ... LIMIT 1 keeps
    // this a nested loop over the position index: as a plain join the planner may choose a
    // hash join over every partition (measured: 1.1 s instead of 2 ms for 1,000 events
    // after a position in a 1M-event table).
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT p.seq, {EVENT_COLUMNS} FROM event_positions p
         CROSS JOIN LATERAL (SELECT * FROM events x WHERE x.occurred_at = p.occurred_at AND x.id = p.id LIMIT 1) e
         WHERE p.seq > "
    ));
    qb.push_bind(after);
    if let Some(until) = until {
        qb.push(" AND p.seq <= ").push_bind(until);
    }
    if let Some(filter) = filter {
        push_conditions(&mut qb, filter);
    }
    qb.push(" ORDER BY p.seq LIMIT ").push_bind(limit);
    let rows: Vec<PositionedRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| (r.seq, Event::from(r.event))).collect())
}
