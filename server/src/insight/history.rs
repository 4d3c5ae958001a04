//! A resource's and an actor's history (`/api/v1/resources/{type}/{id}`,
//! `/api/v1/actors/{id}`): their events within the reader's scope, summarised.
//!
//! Totals, first and last are exact (the key's index answers them). The breakdowns (names,
//! actors, actions, resources, days) are tallied over the newest [`BREAKDOWN_SAMPLE`] events
//! and say so when there were more: a busy service account has millions, and the page must
//! still open in a blink.

use std::collections::HashSet;

use app::event::Event;
use app::insight::{
    is_sign_in, ActorHistory, DayCount, NameSeen, Ranked, ResourceHistory, SignIn, BREAKDOWN_SAMPLE,
};
use app::query::{EventFilter, Field, Filter, FilterValue, Scope};
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::explore::ExploreError;
use crate::store::filter_sql::push_conditions;
use crate::store::rows::{EventRow, EVENT_COLUMNS};

/// How many of the newest events each page lists.
pub const LATEST: i64 = 50;
/// The longest version history shown (the newest changes, in order).
pub const CHANGES: i64 = 500;

fn exactly(field: Field, value: &str) -> Option<Filter> {
    Filter::new(field, false, [FilterValue::Exact(value.to_string())])
}

fn selection(filters: Vec<Option<Filter>>, scope: &Scope) -> EventFilter {
    EventFilter {
        filters: filters.into_iter().flatten().collect(),
        search: None,
        from: None,
        to: None,
        scope: scope.clone(),
    }
}

/// `SELECT <columns> FROM events e WHERE <filter> <extra>`.
fn select<'a>(columns: &str, filter: &EventFilter, extra: &str) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new(format!("SELECT {columns} FROM events e WHERE true"));
    push_conditions(&mut qb, filter);
    qb.push(extra);
    qb
}

async fn events(
    pool: &PgPool,
    filter: &EventFilter,
    extra: &str,
    order: &str,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    let mut qb = select(EVENT_COLUMNS, filter, extra);
    qb.push(format!(" ORDER BY {order} LIMIT "))
        .push_bind(limit);
    let rows: Vec<EventRow> = qb.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(Event::from).collect())
}

/// (count, failures, first, last) of every selected event.
async fn summary(
    pool: &PgPool,
    filter: &EventFilter,
    counted: (&str, String),
) -> Result<(u64, u64, Option<DateTime<Utc>>, Option<DateTime<Utc>>), sqlx::Error> {
    let (n, failed): (i64, i64) = if filter.scope.is_all() {
        // Everyone's events: from the daily counts (a few rows per day), exact.
        sqlx::query_as(
            "SELECT coalesce(sum(n), 0)::int8, coalesce(sum(n) FILTER (WHERE outcome = 'failure'), 0)::int8
             FROM event_counts_daily WHERE dim = $1 AND value = $2",
        )
        .bind(counted.0)
        .bind(&counted.1)
        .fetch_one(pool)
        .await?
    } else {
        select(
            "count(*)::int8, (count(*) FILTER (WHERE e.outcome = 'failure'))::int8",
            filter,
            "",
        )
        .build_query_as()
        .fetch_one(pool)
        .await?
    };
    // First and last along the key's index.
    let edge = |order: &str| {
        let mut qb = select("e.occurred_at", filter, "");
        qb.push(format!(" ORDER BY e.occurred_at {order} LIMIT 1"));
        qb
    };
    let (mut asc, mut desc) = (edge("ASC"), edge("DESC"));
    let (first, last) = tokio::try_join!(
        asc.build_query_scalar::<DateTime<Utc>>()
            .fetch_optional(pool),
        desc.build_query_scalar::<DateTime<Utc>>()
            .fetch_optional(pool),
    )?;
    Ok((n.max(0) as u64, failed.max(0) as u64, first, last))
}

/// The newest sampled events' keys, as a CTE other queries tally over.
fn sampled<'a>(
    filter: &EventFilter,
    select_list: &str,
    group: &str,
    limit: i64,
) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new("WITH s AS (SELECT e.* FROM events e WHERE true");
    push_conditions(&mut qb, filter);
    qb.push(" ORDER BY e.occurred_at DESC LIMIT ")
        .push_bind(BREAKDOWN_SAMPLE);
    qb.push(format!(") SELECT {select_list} FROM s e {group} LIMIT "));
    qb.push_bind(limit);
    qb
}

async fn ranked(
    pool: &PgPool,
    filter: &EventFilter,
    key: &str,
    name: &str,
    limit: i64,
) -> Result<Vec<(String, Option<String>, u64)>, sqlx::Error> {
    let list = format!("{key}, (array_agg({name} ORDER BY e.occurred_at DESC))[1], count(*)::int8");
    let rows: Vec<(Option<String>, Option<String>, i64)> = sampled(
        filter,
        &list,
        &format!("WHERE {key} IS NOT NULL GROUP BY 1 ORDER BY 3 DESC, 1"),
        limit,
    )
    .build_query_as()
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(k, n, c)| Some((k?, n, c.max(0) as u64)))
        .collect())
}

async fn names(
    pool: &PgPool,
    filter: &EventFilter,
    column: &str,
) -> Result<Vec<NameSeen>, sqlx::Error> {
    let list = format!("{column}, min(e.occurred_at), max(e.occurred_at)");
    let rows: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = sampled(
        filter,
        &list,
        &format!("WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY 2"),
        100,
    )
    .build_query_as()
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, first, last)| NameSeen { name, first, last })
        .collect())
}

async fn days(pool: &PgPool, filter: &EventFilter) -> Result<Vec<DayCount>, sqlx::Error> {
    let list = "date_trunc('day', e.occurred_at, 'UTC'), (count(*) FILTER (WHERE e.outcome = 'success'))::int8, \
                (count(*) FILTER (WHERE e.outcome = 'failure'))::int8";
    let rows: Vec<(DateTime<Utc>, i64, i64)> =
        sampled(filter, list, "GROUP BY 1 ORDER BY 1 DESC", 90)
            .build_query_as()
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .rev()
        .map(|(start, s, f)| DayCount {
            start,
            success: s.max(0) as u64,
            failure: f.max(0) as u64,
        })
        .collect())
}

fn to_ranked(rows: Vec<(String, Option<String>, u64)>) -> Vec<Ranked> {
    rows.into_iter()
        .map(|(value, name, count)| Ranked {
            value,
            kind: None,
            name,
            count,
        })
        .collect()
}

pub async fn resource(
    pool: &PgPool,
    kind: &str,
    id: &str,
    scope: &Scope,
) -> Result<ResourceHistory, ExploreError> {
    let filter = selection(
        vec![
            exactly(Field::ResourceType, kind),
            exactly(Field::ResourceId, id),
        ],
        scope,
    );
    let (total, _, first, last) =
        summary(pool, &filter, ("resource", format!("{kind}\u{1f}{id}"))).await?;
    if total == 0 {
        return Err(ExploreError::NotFound(format!(
            "there are no events about the {kind} {id:?} (that you may see)"
        )));
    }
    let changes_only = " AND e.changes IS NOT NULL AND jsonb_typeof(e.changes) = 'array' AND jsonb_array_length(e.changes) > 0";
    // Independent reads, at once (each its own pooled connection).
    let (mut changes, names, actors, actions, activity, latest) = tokio::try_join!(
        events(
            pool,
            &filter,
            changes_only,
            "e.occurred_at DESC, e.id DESC",
            CHANGES
        ),
        names(pool, &filter, "e.resource_name"),
        ranked(pool, &filter, "e.actor_id", "e.actor_name", 20),
        ranked(pool, &filter, "e.action", "e.action", 20),
        days(pool, &filter),
        events(pool, &filter, "", "e.occurred_at DESC, e.id DESC", LATEST),
    )?;
    changes.reverse();
    Ok(ResourceHistory {
        resource_type: kind.into(),
        id: id.into(),
        names,
        total,
        first,
        last,
        actors: to_ranked(actors),
        actions: to_ranked(actions),
        activity,
        sampled: total > BREAKDOWN_SAMPLE as u64,
        changes,
        latest,
    })
}

pub async fn actor(pool: &PgPool, id: &str, scope: &Scope) -> Result<ActorHistory, ExploreError> {
    let filter = selection(vec![exactly(Field::ActorId, id)], scope);
    let (total, failures, first, last) =
        summary(pool, &filter, ("actor.id", id.to_string())).await?;
    if total == 0 {
        return Err(ExploreError::NotFound(format!(
            "there are no events by the actor {id:?} (that you may see)"
        )));
    }
    let resources = async {
        let rows: Vec<(Option<String>, Option<String>, Option<String>, i64)> = sampled(
            &filter,
            "e.resource_type, e.resource_id, (array_agg(e.resource_name ORDER BY e.occurred_at DESC))[1], count(*)::int8",
            "WHERE e.resource_id IS NOT NULL GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2",
            20,
        )
        .build_query_as()
        .fetch_all(pool)
        .await?;
        Ok::<_, sqlx::Error>(rows)
    };
    // Independent reads, at once (each its own pooled connection).
    let (latest, resources, names, actions, sign_ins, failed) = tokio::try_join!(
        events(pool, &filter, "", "e.occurred_at DESC, e.id DESC", LATEST),
        resources,
        names(pool, &filter, "e.actor_name"),
        ranked(pool, &filter, "e.action", "e.action", 20),
        sign_ins(pool, &filter),
        events(
            pool,
            &filter,
            " AND e.outcome = 'failure'",
            "e.occurred_at DESC, e.id DESC",
            20
        ),
    )?;
    let newest = latest.first();
    Ok(ActorHistory {
        id: id.into(),
        names,
        actor_type: newest.map(|e| e.actor.actor_type.as_str().to_string()),
        email: latest.iter().find_map(|e| e.actor.email.clone()),
        total,
        failures,
        first,
        last,
        actions: to_ranked(actions),
        resources: resources
            .into_iter()
            .filter_map(|(kind, value, name, n)| {
                Some(Ranked {
                    value: value?,
                    kind: kind.or(Some(String::new())),
                    name,
                    count: n.max(0) as u64,
                })
            })
            .collect(),
        sampled: total > BREAKDOWN_SAMPLE as u64,
        sign_ins,
        failed,
        latest,
    })
}

/// SQL matching the actions [`is_sign_in`] accepts (kept in step by a test).
const SIGN_IN_SQL: &str = " AND (e.action ILIKE ANY (ARRAY['%login%', '%log\\_in%', '%signin%', '%sign\\_in%', '%sign-in%', \
     '%session.created%', '%session.create%', '%authenticate%']))";

/// The newest sign-ins, each marked when its address or user agent had not signed this actor
/// in before.
async fn sign_ins(pool: &PgPool, filter: &EventFilter) -> Result<Vec<SignIn>, sqlx::Error> {
    // Among their newest events (a service account signs in millions of times).
    let only = format!("WHERE true{SIGN_IN_SQL}");
    let firsts = |column: &'static str| {
        sampled(
            filter,
            &format!("{column}, min(e.occurred_at)"),
            &format!("{only} AND {column} IS NOT NULL GROUP BY 1"),
            100_000,
        )
    };
    let mut newest = sampled(
        filter,
        EVENT_COLUMNS,
        &format!("{only} ORDER BY e.occurred_at DESC, e.id DESC"),
        50,
    );
    // The first time each address and agent signed them in (within that sample).
    let (mut by_ip, mut by_agent) = (firsts("e.ip"), firsts("e.user_agent"));
    let (rows, ips, agents) = tokio::try_join!(
        newest.build_query_as::<EventRow>().fetch_all(pool),
        by_ip
            .build_query_as::<(String, DateTime<Utc>)>()
            .fetch_all(pool),
        by_agent
            .build_query_as::<(String, DateTime<Utc>)>()
            .fetch_all(pool),
    )?;
    let recent: Vec<Event> = rows.into_iter().map(Event::from).collect();
    let earliest = recent.iter().map(|e| e.occurred_at).min();
    let had_earlier =
        earliest.is_some_and(|t| ips.iter().chain(&agents).any(|(_, first)| *first < t));
    let new = |list: &[(String, DateTime<Utc>)],
               value: &Option<String>,
               at: DateTime<Utc>,
               first_ever: bool| {
        !first_ever
            && value
                .as_ref()
                .is_some_and(|v| list.iter().any(|(x, first)| x == v && *first == at))
    };
    let first_ever: HashSet<uuid::Uuid> = if had_earlier {
        HashSet::new()
    } else {
        recent.last().map(|e| e.id).into_iter().collect()
    };
    Ok(recent
        .into_iter()
        .filter(|e| is_sign_in(&e.action))
        .map(|event| SignIn {
            new_ip: new(
                &ips,
                &event.ip,
                event.occurred_at,
                first_ever.contains(&event.id),
            ),
            new_agent: new(
                &agents,
                &event.user_agent,
                event.occurred_at,
                first_ever.contains(&event.id),
            ),
            event,
        })
        .collect())
}
