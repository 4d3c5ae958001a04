//! `GET /api/v1/overview`: the state of things at a glance, within the reader's scope.
//!
//! Every number is exact. The periods and the daily chart come from the count tables (via
//! `count_buckets`, whose bounds here fall on whole hours); the top actors and resources of
//! everyone's events from `event_counts_daily` plus what committed since (`top::TopCache`); within a member's scope (which the count
//! tables do not know) they are counted from the events the member may see.

use app::insight::{DayCount, Overview, Period, Ranked, Source, QUIET_HOURS};
use app::query::{EventFilter, Scope};
use chrono::{DateTime, DurationRound, NaiveTime, TimeDelta, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::explore::{self, ExploreError};
use crate::store::counts::count_buckets;
use crate::store::filter_sql::push_conditions;

/// How many values each top list holds.
pub const TOP: i64 = 10;
/// The daily chart's and the top lists' days (today included).
pub const DAYS: i64 = 30;
/// How many of the newest events the overview lists.
pub const LATEST: u32 = 20;

/// Hour-aligned period bounds: `[h-60d, h-30d, h-14d, h-7d, h-48h, h-24h, now]` where `h` is
/// the start of the current hour (so the count tables answer every whole hour).
pub fn period_bounds(now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let h = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
    let mut bounds: Vec<_> = [60, 30, 14, 7]
        .iter()
        .map(|d| h - TimeDelta::days(*d))
        .collect();
    bounds.extend([h - TimeDelta::hours(48), h - TimeDelta::hours(24), now]);
    bounds
}

/// Midnight (UTC) `DAYS - 1` days ago: where the chart and the top lists start.
pub fn first_day(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive().and_time(NaiveTime::MIN).and_utc() - TimeDelta::days(DAYS - 1)
}

pub async fn overview(
    pool: &PgPool,
    tops: &super::TopCache,
    now: DateTime<Utc>,
    scope: &Scope,
) -> Result<Overview, ExploreError> {
    let bounds = period_bounds(now);
    let start = first_day(now);
    let everything = |from: DateTime<Utc>| EventFilter {
        filters: vec![],
        search: None,
        from: Some(from),
        to: Some(now),
        scope: scope.clone(),
    };
    let day_bounds: Vec<DateTime<Utc>> = (0..=DAYS).map(|d| start + TimeDelta::days(d)).collect();
    // Independent reads, at once (each on its own pooled connection).
    let counts = |from: DateTime<Utc>, bounds: Vec<DateTime<Utc>>| {
        let filter = everything(from);
        async move {
            let mut conn = pool.acquire().await?;
            Ok::<_, ExploreError>(count_buckets(&mut conn, &filter, &bounds).await?)
        }
    };
    let ranked = async {
        if scope.is_all() {
            let (actions, actors, resources) = tops.top(pool, start, TOP as usize).await?;
            return Ok::<_, ExploreError>((actions, actors, resources, true));
        }
        let since = format!("from={}", app::query::time_range::format_instant(start));
        let actions = explore::field_values(pool, "action", &since, now, scope).await?;
        let exact = actions.exact;
        let actions = actions
            .values
            .into_iter()
            .take(TOP as usize)
            .map(|v| (v.value, v.count))
            .collect();
        let (actors, resources) = tokio::try_join!(
            top_in_scope(pool, "actor.id", start, scope),
            top_in_scope(pool, "resource", start, scope)
        )?;
        Ok((actions, actors, resources, exact))
    };
    let (c, daily, (actions, actors, resources, exact), sources, (latest, position)) = tokio::try_join!(
        counts(bounds[0], bounds.clone()),
        counts(start, day_bounds.clone()),
        ranked,
        async { Ok(sources(pool, now, scope).await?) },
        async { Ok(newest(pool, start, scope).await?) },
    )?;
    let sum = |range: std::ops::Range<usize>, i: usize| c[range].iter().map(|p| p[i]).sum::<u64>();
    let period = |label: &str, from: usize, previous: usize| Period {
        from: bounds[from],
        label: label.into(),
        count: sum(from..6, 0) + sum(from..6, 1),
        failures: sum(from..6, 1),
        previous: c[previous][0] + c[previous][1],
    };
    let periods = vec![
        period("Last 24 hours", 5, 4),
        period("Last 7 days", 3, 2),
        period("Last 30 days", 1, 0),
    ];
    let days = day_bounds
        .iter()
        .zip(daily)
        .map(|(start, [success, failure])| DayCount {
            start: *start,
            success,
            failure,
        })
        .collect();
    let (top_actors, top_resources) =
        tokio::try_join!(named_actors(pool, actors), named_resources(pool, resources))?;
    Ok(Overview {
        now,
        periods,
        days,
        top_actions: actions
            .into_iter()
            .map(|(value, count)| Ranked {
                value,
                kind: None,
                name: None,
                count,
            })
            .collect(),
        top_actors,
        top_resources,
        exact,
        sources,
        latest,
        position,
    })
}

/// The newest events since `start` that `scope` lets someone see, and the commit position
/// read just before them (a live tail goes on after it).
async fn newest(
    pool: &PgPool,
    start: DateTime<Utc>,
    scope: &Scope,
) -> Result<(Vec<app::event::Event>, i64), sqlx::Error> {
    let position = crate::store::page::latest_position(pool).await?;
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT {} FROM events e WHERE true",
        crate::store::rows::EVENT_COLUMNS
    ));
    let filter = EventFilter {
        filters: vec![],
        search: None,
        from: Some(start),
        to: None,
        scope: scope.clone(),
    };
    push_conditions(&mut qb, &filter);
    qb.push(" ORDER BY e.occurred_at DESC, e.id DESC LIMIT ")
        .push_bind(i64::from(LATEST));
    let rows: Vec<crate::store::rows::EventRow> = qb.build_query_as().fetch_all(pool).await?;
    Ok((
        rows.into_iter().map(app::event::Event::from).collect(),
        position,
    ))
}

/// The most frequent actors or resources since `start`, counted from the events `scope` lets
/// someone see.
async fn top_in_scope(
    pool: &PgPool,
    dim: &str,
    start: DateTime<Utc>,
    scope: &Scope,
) -> Result<Vec<(String, u64)>, sqlx::Error> {
    let key = if dim == "resource" {
        "e.resource_type || chr(31) || e.resource_id"
    } else {
        "e.actor_id"
    };
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT {key}, count(*)::int8 FROM events e WHERE {key} IS NOT NULL"
    ));
    let filter = EventFilter {
        filters: vec![],
        search: None,
        from: Some(start),
        to: None,
        scope: scope.clone(),
    };
    push_conditions(&mut qb, &filter);
    qb.push(" GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ")
        .push_bind(TOP);
    let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(v, n)| (v, n.max(0) as u64))
        .collect())
}

async fn named_actors(pool: &PgPool, top: Vec<(String, u64)>) -> Result<Vec<Ranked>, sqlx::Error> {
    let ids: Vec<String> = top.iter().map(|(v, _)| v.clone()).collect();
    let names: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT a.id, (SELECT e.actor_name FROM events e WHERE e.actor_id = a.id ORDER BY e.occurred_at DESC LIMIT 1) FROM unnest($1::text[]) a(id)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(top
        .into_iter()
        .map(|(value, count)| {
            let name = names
                .iter()
                .find(|(id, _)| *id == value)
                .and_then(|(_, n)| n.clone());
            Ranked {
                value,
                kind: None,
                name,
                count,
            }
        })
        .collect())
}

async fn named_resources(
    pool: &PgPool,
    top: Vec<(String, u64)>,
) -> Result<Vec<Ranked>, sqlx::Error> {
    let split: Vec<(String, String)> = top
        .iter()
        .map(|(v, _)| {
            v.split_once('\u{1f}')
                .map(|(t, i)| (t.to_string(), i.to_string()))
                .unwrap_or_default()
        })
        .collect();
    let (kinds, ids): (Vec<String>, Vec<String>) = split.iter().cloned().unzip();
    let names: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT r.t, r.i, (SELECT e.resource_name FROM events e WHERE e.resource_type = r.t AND e.resource_id = r.i
                            ORDER BY e.occurred_at DESC LIMIT 1)
         FROM unnest($1::text[], $2::text[]) r(t, i)",
    )
    .bind(&kinds)
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(top
        .into_iter()
        .zip(split)
        .map(|((_, count), (kind, id))| {
            let name = names
                .iter()
                .find(|(t, i, _)| *t == kind && *i == id)
                .and_then(|(_, _, n)| n.clone());
            Ranked {
                value: id,
                kind: Some(kind),
                name,
                count,
            }
        })
        .collect())
}

/// Sources (the `source` field) and ingest tokens with when they last sent; within a scope,
/// only the sources of events the reader may see (token names are not theirs to know).
async fn sources(
    pool: &PgPool,
    now: DateTime<Utc>,
    scope: &Scope,
) -> Result<Vec<Source>, sqlx::Error> {
    let week = now - TimeDelta::days(7);
    let quiet = |last: Option<DateTime<Utc>>| {
        last.is_some_and(|t| t >= week && now - t > TimeDelta::hours(QUIET_HOURS))
    };
    let seen: Vec<(String, Option<DateTime<Utc>>)> = if scope.is_all() {
        // Per hour from the counts; the newest hour's events give the exact time.
        sqlx::query_as(
            "SELECT s.value, (SELECT max(e.occurred_at) FROM events e WHERE e.source = s.value AND e.occurred_at >= s.hour)
             FROM (SELECT value, max(hour) AS hour FROM event_counts_hourly WHERE dim = 'source' AND value IS NOT NULL AND hour >= $1
                   GROUP BY value) s ORDER BY 2 DESC NULLS LAST LIMIT 20",
        )
        .bind(now - TimeDelta::days(DAYS))
        .fetch_all(pool)
        .await?
    } else {
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT e.source, max(e.occurred_at) FROM events e WHERE e.source IS NOT NULL",
        );
        let filter = EventFilter {
            filters: vec![],
            search: None,
            from: Some(now - TimeDelta::days(DAYS)),
            to: None,
            scope: scope.clone(),
        };
        push_conditions(&mut qb, &filter);
        qb.push(" GROUP BY 1 ORDER BY 2 DESC LIMIT 20");
        qb.build_query_as().fetch_all(pool).await?
    };
    let mut out: Vec<Source> = seen
        .into_iter()
        .map(|(name, last_seen)| Source {
            kind: "source".into(),
            name,
            last_seen,
            quiet: quiet(last_seen),
        })
        .collect();
    if scope.is_all() {
        let tokens: Vec<(String, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT name, last_used_at FROM api_tokens WHERE revoked_at IS NULL AND scope IN ('ingest', 'admin') ORDER BY last_used_at DESC NULLS LAST, name LIMIT 20",
        )
        .fetch_all(pool)
        .await?;
        out.extend(tokens.into_iter().map(|(name, last_seen)| Source {
            kind: "token".into(),
            name,
            last_seen,
            quiet: quiet(last_seen),
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_fall_on_whole_hours_and_end_now() {
        let now: DateTime<Utc> = "2026-12-04T10:37:12Z".parse().expect("time");
        let b = period_bounds(now);
        assert_eq!(b.len(), 7);
        assert_eq!(b[5].to_rfc3339(), "2026-12-03T10:00:00+00:00");
        assert_eq!(b[6], now);
        assert!(b.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(first_day(now).to_rfc3339(), "2026-11-05T00:00:00+00:00");
    }
}
