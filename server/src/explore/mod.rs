//! Reading: the one implementation behind the REST API and the server-rendered page. Each
//! function takes the URL query string as sent, so both callers share validation too.

mod buckets;
pub mod error;
mod fields;
pub mod total;

use app::api::{ErrorDetail, EventPage, Histogram, HistogramBucket, Total};
use app::event::Event;
use app::query::{decode_query, DecodedQuery, EventFilter, Scope};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;
use uuid::Uuid;

pub use error::ExploreError;
pub use fields::{field_values, fields};

use crate::store::counts::{count_buckets, is_counted};
use crate::store::page::{fetch_event, fetch_page, latest_position, page_of_keys, Cursor};

/// Decodes a query, refusing it (400, every problem named) when any parameter is bad.
pub fn decode_strict(query: &str, extras: &[&str]) -> Result<DecodedQuery, ExploreError> {
    let decoded = decode_query(query, extras);
    if decoded.problems.is_empty() {
        return Ok(decoded);
    }
    let details: Vec<ErrorDetail> = decoded
        .problems
        .iter()
        .map(|p| ErrorDetail { index: None, field: Some(p.param.clone()), message: format!("{}: {}", p.param, p.message) })
        .collect();
    let message = details.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; ");
    Err(ExploreError::InvalidQuery { message, details })
}

/// `GET /api/v1/events`: a page, newest first, with the total — of what `scope` lets the
/// reader see.
pub async fn events_page(pool: &PgPool, query: &str, now: DateTime<Utc>, scope: &Scope) -> Result<EventPage, ExploreError> {
    let view = decode_strict(query, &[])?.view;
    let filter = EventFilter::for_window(&view, now).within(scope);
    let cursor = match &view.cursor {
        Some(text) => Some(
            Cursor::decode(text)
                .ok_or_else(|| ExploreError::invalid("cursor", "is not a page cursor from this API (drop it to start at the newest events)"))?,
        ),
        None => None,
    };
    let position = latest_position(pool).await?;
    let (page, total) = if is_counted(&filter) {
        let (page, total) = tokio::join!(fetch_page(pool, &filter, cursor, view.limit), total::counted(pool, &filter));
        (page?, total?)
    } else {
        // One pass over the newest matches: often the exact total, and the first page's keys.
        let newest = total::newest_keys(pool, &filter, total::CAP.max(view.limit as usize)).await?;
        let page = match cursor {
            None => page_of_keys(pool, &newest, view.limit).await?,
            Some(_) => fetch_page(pool, &filter, cursor, view.limit).await?,
        };
        (page, total::beyond_cap(pool, &filter, newest.len()).await?)
    };
    // A lower bound is at least what this page shows.
    let total = if total.exact { total } else { Total { count: total.count.max(page.events.len() as u64), exact: false } };
    let bounds = view.range.resolve(now);
    let retained_from = crate::retention::oldest_available_day(pool).await?.map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc());
    let integrity = crate::integrity::verifier::status(pool).await?;
    Ok(EventPage {
        events: page.events,
        total,
        from: bounds.from,
        to: bounds.to,
        older: page.older.map(|c| c.encode()),
        newer: page.newer.map(|c| c.encode()),
        offset: page.offset,
        position,
        retained_from,
        verified_upto: integrity.verified_upto,
        integrity_problem: integrity.problem,
    })
}

/// `GET /api/v1/events/{id}`: an event outside the reader's scope does not exist for them.
pub async fn event(pool: &PgPool, id: &str, scope: &Scope) -> Result<Event, ExploreError> {
    let id = Uuid::parse_str(id).map_err(|_| ExploreError::NotFound(format!("{id:?} is not an event id (a UUID)")))?;
    fetch_event(pool, id)
        .await?
        .filter(|event| scope.matches(event, &app::event::search_text(event)))
        .ok_or_else(|| ExploreError::NotFound(format!("there is no event {id}")))
}

/// `GET /api/v1/histogram`: counts per bucket and outcome; `tz` aligns buckets.
pub async fn histogram(pool: &PgPool, query: &str, now: DateTime<Utc>, scope: &Scope) -> Result<Histogram, ExploreError> {
    let decoded = decode_strict(query, &["tz"])?;
    let tz = time_zone(&decoded)?;
    let filter = EventFilter::for_window(&decoded.view, now).within(scope);
    let window = decoded.view.range.resolve(now);
    let width = app::query::buckets::bucket_width(window.duration().num_seconds());
    let bounds = buckets::boundaries(window.from, window.to, width, tz);
    // One snapshot for the counts and the position they go up to: the page's live tail adds
    // exactly the events after it (none twice, none missed). Positions are taken in commit
    // order (the row lock on event_sequence), so the snapshot holds exactly positions <= it.
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    let counts = count_buckets(&mut tx, &filter, &bounds).await?;
    let position = latest_position(&mut *tx).await?;
    tx.commit().await?;
    let buckets: Vec<HistogramBucket> = bounds
        .windows(2)
        .zip(counts)
        .map(|(b, [success, failure])| HistogramBucket { start: b[0], end: b[1], success, failure })
        .collect();
    let count = buckets.iter().map(|b| b.success + b.failure).sum();
    Ok(Histogram { from: window.from, to: window.to, bucket_seconds: width, buckets, total: Total { count, exact: true }, position })
}

fn time_zone(decoded: &DecodedQuery) -> Result<Tz, ExploreError> {
    match decoded.extras.iter().find(|(k, _)| k == "tz") {
        None => Ok(Tz::UTC),
        Some((_, name)) => {
            name.parse::<Tz>().map_err(|_| ExploreError::invalid("tz", format!("{name:?} is not an IANA time zone such as Europe/Berlin")))
        }
    }
}
