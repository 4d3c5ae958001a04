//! Evaluating the rules on the stream of committed events, on exactly one instance.
//!
//! Leadership: the instance holding a PostgreSQL advisory lock (on a connection of its own,
//! outside the pool) evaluates; the others try again every few seconds, and take over when
//! that connection goes away (the lock goes with it).
//!
//! Exactly once: the evaluator follows the live hub's batches in commit (position) order from
//! `alert_progress.position`. A crossing is identified by (rule, group, position of the event
//! that made the count reach the threshold) — unique in `alert_firings` — and is written in the
//! same transaction as the progress it was found at. After a restart (or a new leader), each
//! rule's window is rebuilt from the events up to that position, whose crossings were already
//! written; evaluation then goes on after it. Re-reading events cannot fire twice (the unique
//! key), and no event after the recorded position is skipped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::event::{search_text, Event};
use app::query::{decode_query, EventFilter, Field, TimeRange, ViewState};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool, Postgres, QueryBuilder};
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use super::rules::{self, RuleRow};
use super::webhook;
use super::window::{Crossing, Threshold};
use crate::auth::audit::{self, Actor, Entry, Origin};
use crate::live::ring::Next;
use crate::live::LiveHub;
use crate::store::filter_sql::push_conditions;
use crate::store::rows::{EventRow, EVENT_COLUMNS};

/// The advisory lock whose holder evaluates ("AUDALERT").
pub const LOCK_KEY: i64 = 0x4155_4441_4c45_5254;
/// How often followers try to lead, and the leader checks its rules and its lock.
const CHECK_EVERY: Duration = Duration::from_secs(2);
/// Progress without firings is written at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// A rule's window is rebuilt from at most this many of its newest events.
const WARM_UP_LIMIT: i64 = 20_000;
/// Events read from the database at once when catching up.
const CHUNK: i64 = 2000;

/// One rule, ready to evaluate.
struct Compiled {
    row: RuleRow,
    filter: EventFilter,
    per: Option<Field>,
    threshold: Threshold,
}

/// Where the evaluator's findings go.
#[derive(Clone)]
pub struct Context {
    pub pool: PgPool,
    pub hub: Arc<LiveHub>,
    /// Wakes the webhook deliverer.
    pub deliver: Arc<Notify>,
    /// The public URL, for links in firings.
    pub base_url: String,
    /// Wakes the mover of Auditorium's own audit events.
    pub audit_kick: Arc<Notify>,
}

/// Until shutdown: lead when possible, follow otherwise.
pub async fn run(ctx: Context, mut stop: watch::Receiver<bool>) {
    if let Err(e) = rules::ensure_suggestions(&ctx.pool).await {
        tracing::warn!(error = %e, "could not add the suggested alert rules: {e}");
    }
    loop {
        match try_lead(&ctx, &mut stop).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "alert evaluation stopped ({e}); trying again"),
        }
        tokio::select! {
            () = tokio::time::sleep(CHECK_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Leads while the lock is held; `Ok(true)` at shutdown, `Ok(false)` when another leads.
async fn try_lead(ctx: &Context, stop: &mut watch::Receiver<bool>) -> Result<bool, sqlx::Error> {
    let mut lock = PgConnection::connect_with(ctx.pool.connect_options().as_ref()).await?;
    let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut lock)
        .await?;
    if !leader {
        lock.close().await.ok();
        return Ok(false);
    }
    tracing::info!("this instance evaluates the alert rules");
    let result = lead(ctx, &mut lock, stop).await;
    // Closing the connection releases the lock for another instance.
    lock.close().await.ok();
    result
}

async fn lead(
    ctx: &Context,
    lock: &mut PgConnection,
    stop: &mut watch::Receiver<bool>,
) -> Result<bool, sqlx::Error> {
    let pool = &ctx.pool;
    // Subscribe first: nothing committed from here on can be missed.
    let mut batches = Some(ctx.hub.subscribe().0);
    let mut position: i64 = sqlx::query_scalar("SELECT position FROM alert_progress").fetch_one(pool).await?;
    let mut version = rules::version(pool).await?;
    let mut compiled = compile(pool, rules::enabled(pool).await?, position).await?;
    let mut found: Vec<(usize, Crossing)> = Vec::new();
    let mut saved = Instant::now();
    let mut saved_at = position;
    let head = crate::store::page::latest_position(pool).await?;
    position = catch_up(pool, &mut compiled, position, head, &mut found).await?;
    // Without enabled rules, the stream is not followed at all (the hub then reads nothing
    // for this instance): the position just follows the newest event.
    if compiled.is_empty() {
        batches = None;
    }
    let mut check = tokio::time::interval(CHECK_EVERY);
    loop {
        if !found.is_empty() || (position > saved_at && saved.elapsed() >= PROGRESS_EVERY) {
            record(ctx, &compiled, std::mem::take(&mut found), position).await?;
            saved = Instant::now();
            saved_at = position;
        }
        tokio::select! {
            next = next_batch(&mut batches) => match next {
                Next::Batch(batch) => {
                    let (Some(first), Some(top)) = (batch.first_position(), batch.last_position()) else { continue };
                    if top <= position {
                        continue;
                    }
                    // Positions have no holes: a batch that does not follow on means the hub
                    // skipped events; read them from the database first.
                    if first > position + 1 {
                        position = catch_up(pool, &mut compiled, position, first - 1, &mut found).await?;
                    }
                    for e in batch.events.iter().filter(|e| e.position > position) {
                        observe(&mut compiled, e.position, &e.event, &e.search_text, &mut found);
                    }
                    position = top;
                }
                Next::Lagged => {
                    let head = crate::store::page::latest_position(pool).await?;
                    position = catch_up(pool, &mut compiled, position, head, &mut found).await?;
                }
                Next::Closed => return Ok(true),
            },
            _ = check.tick() => {
                // Still holding the lock (the connection is alive)?
                sqlx::query("SELECT 1").execute(&mut *lock).await?;
                let now = rules::version(pool).await?;
                if now != version {
                    record(ctx, &compiled, std::mem::take(&mut found), position).await?;
                    saved_at = position;
                    version = now;
                    if batches.is_none() {
                        batches = Some(ctx.hub.subscribe().0);
                    }
                    compiled = compile(pool, rules::enabled(pool).await?, position).await?;
                    let head = crate::store::page::latest_position(pool).await?;
                    position = catch_up(pool, &mut compiled, position, head, &mut found).await?;
                    if compiled.is_empty() {
                        batches = None;
                    }
                } else if batches.is_none() {
                    position = position.max(crate::store::page::latest_position(pool).await?);
                }
            }
            _ = stop.changed() => {
                record(ctx, &compiled, std::mem::take(&mut found), position).await?;
                return Ok(true);
            }
        }
    }
}

/// The next batch of the stream, or never when not following it.
async fn next_batch(batches: &mut Option<crate::live::ring::Reader>) -> Next {
    match batches {
        Some(reader) => reader.next().await,
        None => std::future::pending().await,
    }
}

/// The rule's selection, without a time window, within its owner's scope.
fn selection(row: &RuleRow) -> EventFilter {
    let view = decode_query(&row.view, &[]).view;
    EventFilter {
        from: None,
        to: None,
        ..EventFilter::from_view(&view, Utc::now())
    }
    .within(&row.scope())
}

/// Rules with their windows rebuilt from the events up to `position`.
async fn compile(
    pool: &PgPool,
    rows: Vec<RuleRow>,
    position: i64,
) -> Result<Vec<Compiled>, sqlx::Error> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let filter = selection(&row);
        let per = row.per.as_deref().and_then(|p| Field::parse(p).ok());
        let mut threshold = Threshold::new(row.threshold.max(1) as u32, row.window_seconds.into());
        let since =
            Utc::now() - TimeDelta::seconds(row.window_seconds.into()) - TimeDelta::minutes(5);
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT p.seq, {EVENT_COLUMNS} FROM events e JOIN event_positions p ON p.id = e.id AND p.occurred_at = e.occurred_at WHERE p.seq <= "
        ));
        qb.push_bind(position);
        push_conditions(
            &mut qb,
            &EventFilter {
                from: Some(since),
                ..filter.clone()
            },
        );
        qb.push(" ORDER BY p.seq DESC LIMIT ")
            .push_bind(WARM_UP_LIMIT);
        let rows: Vec<Positioned> = qb.build_query_as().fetch_all(pool).await?;
        for r in rows.into_iter().rev() {
            let event = Event::from(r.event);
            // Crossings up to `position` were recorded before: only the window is rebuilt.
            let _ = threshold.observe(
                &group_of(per.as_ref(), &event),
                event.occurred_at,
                r.seq,
                event.id,
            );
        }
        out.push(Compiled {
            row,
            filter,
            per,
            threshold,
        });
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct Positioned {
    seq: i64,
    #[sqlx(flatten)]
    event: EventRow,
}

fn group_of(per: Option<&Field>, event: &Event) -> String {
    per.and_then(|f| f.value_of(event)).unwrap_or_default()
}

fn observe(
    rules: &mut [Compiled],
    position: i64,
    event: &Event,
    text: &str,
    found: &mut Vec<(usize, Crossing)>,
) {
    for (i, rule) in rules.iter_mut().enumerate() {
        if rule.filter.matches_with_text(event, text) {
            let group = group_of(rule.per.as_ref(), event);
            if let Some(crossing) =
                rule.threshold
                    .observe(&group, event.occurred_at, position, event.id)
            {
                found.push((i, crossing));
            }
        }
    }
}

/// Evaluates the events in `(after, until]` read from the database; the new position.
async fn catch_up(
    pool: &PgPool,
    rules: &mut [Compiled],
    mut after: i64,
    until: i64,
    found: &mut Vec<(usize, Crossing)>,
) -> Result<i64, sqlx::Error> {
    if rules.is_empty() {
        return Ok(after.max(until));
    }
    while after < until {
        let events =
            crate::store::live::matching_between(pool, None, after, Some(until), CHUNK).await?;
        let Some(last) = events.last().map(|(p, _)| *p) else {
            break;
        };
        for (position, event) in &events {
            observe(rules, *position, event, &search_text(event), found);
        }
        after = last;
    }
    Ok(after.max(until))
}

/// The investigation page showing a firing's events.
pub fn firing_path(
    rule_view: &str,
    per: Option<&str>,
    group: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> String {
    let mut view: ViewState = decode_query(rule_view, &[]).view;
    view = view.with_range(TimeRange::Absolute {
        from,
        to: Some(to + TimeDelta::seconds(1)),
    });
    if let Some(field) = per
        .and_then(|p| Field::parse(p).ok())
        .filter(|_| !group.is_empty())
    {
        view = view.focus_on(field, group.to_string());
    }
    format!("/?{}", app::query::encode_query(&view))
}

/// Writes the crossings (each once: the unique key) and the progress, in one transaction;
/// audits each new firing.
async fn record(
    ctx: &Context,
    rules: &[Compiled],
    found: Vec<(usize, Crossing)>,
    position: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = ctx.pool.begin().await?;
    let mut fired = 0;
    for (i, c) in found {
        let rule = &rules[i].row;
        let id = Uuid::now_v7();
        let path = firing_path(&rule.view, rule.per.as_deref(), &c.group, c.from, c.to);
        let link = format!("{}{path}", ctx.base_url);
        let body = webhook::body(
            id,
            rule.id,
            &rule.name,
            rule.per.as_deref(),
            &c.group,
            c.from,
            c.to,
            &c.event_ids,
            &link,
        );
        let delivery = if rule.webhook_url.is_some() {
            "pending"
        } else {
            "none"
        };
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO alert_firings (id, rule_id, group_value, crossing, window_from, window_to, event_ids, body, delivery)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT ON CONSTRAINT alert_firings_once DO NOTHING RETURNING id",
        )
        .bind(id)
        .bind(rule.id)
        .bind(&c.group)
        .bind(c.crossing)
        .bind(c.from)
        .bind(c.to)
        .bind(&c.event_ids)
        .bind(&body)
        .bind(delivery)
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_some() {
            fired += 1;
            let mut entry =
                Entry::new("auditorium.alert.fired", Actor::system(), Origin::default())
                    .on("alert_rule", rule.id, &rule.name)
                    .note("firing", json!(id))
                    .note("count", json!(c.event_ids.len()))
                    .note("window", json!({"from": c.from, "to": c.to}))
                    .note("link", json!(path));
            if let Some(per) = &rule.per {
                entry = entry.note("group", json!({"field": per, "value": c.group}));
            }
            audit::record(&mut *tx, &entry).await?;
        }
    }
    sqlx::query("UPDATE alert_progress SET position = GREATEST(position, $1)")
        .bind(position)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if fired > 0 {
        ctx.deliver.notify_one();
        ctx.audit_kick.notify_one();
    }
    Ok(())
}
