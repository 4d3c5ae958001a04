//! One destination's sender. It runs on the instance holding the destination's advisory lock
//! (one at a time across instances) on a connection of its own: the events are read, and
//! the checkpoint written, on that connection, so a sender that lost its lock (connection
//! gone) cannot move the checkpoint any more. Events are read after the checkpoint in
//! position (= commit) order, sent in batches, and the checkpoint moves once the receiver
//! has them (see [`super::link`]). A failure drops the connection to the receiver and sends
//! again from the checkpoint after a backoff: at least once, in order.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use app::event::Event;
use app::query::{decode_query, EventFilter};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use super::link::Link;
use super::store::{self, DestinationRow};
use super::Context;
use crate::auth::audit::{self, Actor, Entry, Origin};

/// Events read (and sent) at once.
pub const BATCH: i64 = 2_000;

/// Wait before the attempt after `failures` failed ones: 1 s, 2 s, 4 s, ... up to `max`.
pub fn backoff(failures: u32, max: Duration) -> Duration {
    Duration::from_secs(1u64 << failures.clamp(1, 20).saturating_sub(1)).min(max)
}

/// Whether `--webhook-allow` (when set) lets the server send to a destination's host.
pub fn allowed(settings: &app::destinations::DestinationSettings, allow: &[String]) -> bool {
    let url = match settings.kind {
        app::destinations::DestinationKind::Syslog => format!("syslog://{}", settings.host.trim()),
        _ => settings.url.trim().to_string(),
    };
    allow.is_empty() || crate::alerts::webhook::allowed(&url, allow)
}

/// The destination's selection (its filter, no time window, everything in scope).
pub fn selection(filter: &str) -> EventFilter {
    let view = decode_query(filter, &[]).view;
    EventFilter { from: None, to: None, ..EventFilter::from_view(&view, Utc::now()) }
}

/// Runs the sender for `id` whenever this instance can hold its lock, until aborted (the
/// destination changed, was paused or deleted, or the server stops).
pub async fn run(ctx: Context, id: Uuid) {
    loop {
        let outcome = match PgConnection::connect_with(&ctx.pool.connect_options()).await {
            Ok(mut conn) => lead(&ctx, &mut conn, id).await,
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            tracing::warn!(destination = %id, error = %e, "forwarding to a destination stopped ({e}); retrying");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Waits for the destination's lock, then delivers. Returns on a database error.
async fn lead(ctx: &Context, conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    loop {
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('auditorium.destination'), hashtext($1::text))")
            .bind(id.to_string())
            .fetch_one(&mut *conn)
            .await?;
        if locked {
            break;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let Some(row) = store::find(&mut *conn, id).await? else {
        // Deleted meanwhile: the supervisor stops this task.
        std::future::pending::<()>().await;
        return Ok(());
    };
    tracing::info!(destination = %row.name, checkpoint = row.checkpoint, "sending to {} from position {}", row.name, row.checkpoint + 1);
    Sender::new(ctx, row).deliver(conn).await
}

/// A batch sent and not yet counted as received.
struct Mark {
    /// The position the checkpoint may move to once it is received.
    upto: i64,
    sent_at: Instant,
    events: i64,
    /// Bytes written to the connection up to the end of this batch (syslog streams).
    bytes: u64,
}

struct Sender<'a> {
    ctx: &'a Context,
    row: DestinationRow,
    /// Acknowledged (stored) and sent positions.
    acked: i64,
    sent: i64,
    /// Sent but not yet counted as received.
    marks: VecDeque<Mark>,
    link: Option<Link>,
    failing_since: Option<DateTime<Utc>>,
    alarmed: bool,
    failures: u32,
    /// The destination was changed (elsewhere): this sender stops.
    changed: bool,
    /// Events per batch: halved while a receiver refuses a batch as too large.
    limit: i64,
}

impl<'a> Sender<'a> {
    fn new(ctx: &'a Context, row: DestinationRow) -> Sender<'a> {
        Sender {
            ctx,
            acked: row.checkpoint,
            sent: row.checkpoint,
            marks: VecDeque::new(),
            link: None,
            failing_since: row.failing_since,
            alarmed: row.alarmed,
            failures: 0,
            changed: false,
            limit: BATCH,
            row,
        }
    }

    async fn deliver(mut self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let target = match self.row.target(&self.ctx.secrets, &self.ctx.hostname) {
            Ok(target) => target,
            Err(e) => {
                // Another key than the one that sealed it: nothing can be sent until fixed (or
                // until an instance with the right key takes over). Failing, so it is alarmed.
                let reason = format!("the stored secret cannot be opened ({e}): is AUDITORIUM_SECRET_KEY the one it was saved with?");
                loop {
                    self.fail_and_wait(conn, &reason).await?;
                    if self.failures >= 6 {
                        // Let another instance try (its key may be the right one).
                        return Ok(());
                    }
                }
            }
        };
        let filter = selection(&self.row.filter);
        let mut newest_changes = self.ctx.hub.newest_changes();
        loop {
            if let Some(Err(reason)) = self.link.as_ref().map(Link::check) {
                if self.marks.is_empty() {
                    // Closed while idle (receivers time idle connections out): nothing is in
                    // doubt; the next batch opens a new one.
                    self.link = None;
                } else {
                    self.fail_and_wait(conn, &reason).await?;
                }
                continue;
            }
            self.confirm(conn).await?;
            if self.changed {
                return Ok(());
            }
            let newest = (*newest_changes.borrow_and_update()).max(self.ctx.hub.latest());
            if self.sent >= newest {
                // Up to date: wait for new events, or for the next batch to count as received.
                let now = Instant::now();
                let grace = self.link.as_ref().map_or(Duration::ZERO, Link::grace);
                let wait = self.marks.front().map_or(Duration::from_secs(1), |m| (m.sent_at + grace).saturating_duration_since(now)).clamp(Duration::from_millis(10), Duration::from_secs(1));
                tokio::select! {
                    _ = newest_changes.changed() => {}
                    () = tokio::time::sleep(wait) => {}
                }
                continue;
            }
            let batch = crate::store::live::matching_between(&mut *conn, Some(&filter), self.sent, Some(newest), self.limit).await?;
            let upto = if (batch.len() as i64) < self.limit { newest } else { batch.last().map_or(newest, |(p, _)| *p) };
            if batch.is_empty() {
                // Nothing in this stretch matches: it is passed once what came before is in.
                self.mark(upto, 0);
                self.sent = upto;
                continue;
            }
            if self.link.is_none() {
                if !allowed(&target.settings, &self.ctx.allow) {
                    self.fail_and_wait(conn, "the host is not among those the server may send to (--webhook-allow)").await?;
                    continue;
                }
                match Link::connect(&target).await {
                    Ok(link) => self.link = Some(link),
                    Err(reason) => {
                        self.fail_and_wait(conn, &reason).await?;
                        continue;
                    }
                }
            }
            let events: Vec<&Event> = batch.iter().map(|(_, e)| e).collect();
            let sent = match self.link.as_mut() {
                Some(link) => link.send(&events).await,
                None => continue,
            };
            match sent {
                Ok(_) => {
                    self.mark(upto, events.len() as i64);
                    self.sent = upto;
                    self.limit = (self.limit * 2).min(BATCH);
                }
                Err(reason) => {
                    if reason.starts_with("HTTP 413") {
                        // Too large for the receiver: smaller batches (down to one event).
                        self.limit = (self.limit / 2).max(1);
                    }
                    self.fail_and_wait(conn, &reason).await?
                }
            }
        }
    }

    fn mark(&mut self, upto: i64, events: i64) {
        let bytes = self.link.as_ref().map_or(0, |l| l.progress().0);
        self.marks.push_back(Mark { upto, sent_at: Instant::now(), events, bytes });
    }

    /// Moves the checkpoint over the batches that count as received: acknowledged (HTTP), or
    /// every byte acknowledged by the receiver's TCP and the connection still open a moment
    /// after the write (syslog streams).
    async fn confirm(&mut self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let grace = self.link.as_ref().map_or(Duration::ZERO, Link::grace);
        let acknowledged = if self.marks.is_empty() { None } else { self.link.as_ref().and_then(|l| l.progress().1) };
        let now = Instant::now();
        let (mut upto, mut events) = (None, 0);
        while let Some(mark) = self.marks.front() {
            if mark.sent_at + grace > now || acknowledged.is_some_and(|acked| mark.bytes > acked) {
                break;
            }
            upto = Some(mark.upto);
            events += mark.events;
            self.marks.pop_front();
        }
        let Some(upto) = upto else { return Ok(()) };
        // A delivery through a live connection ends a failure; skipping non-matching
        // positions proves nothing.
        let recovered = self.failing_since.is_some() && self.link.is_some() && events > 0;
        // The checkpoint and its audit record together; and only while the settings this sender
        // runs with are the stored ones (changed elsewhere: stop, and start again with them).
        let mut tx = conn.begin().await?;
        let stored = sqlx::query(
            "UPDATE destinations SET checkpoint = $2, delivered = delivered + $3,
                 last_delivery_at = CASE WHEN $3 > 0 THEN now() ELSE last_delivery_at END,
                 failing_since = CASE WHEN $4 THEN NULL ELSE failing_since END,
                 alarmed = CASE WHEN $4 THEN false ELSE alarmed END
             WHERE id = $1 AND updated_at = $5",
        )
        .bind(self.row.id)
        .bind(upto)
        .bind(events)
        .bind(recovered)
        .bind(self.row.updated_at)
        .execute(&mut *tx)
        .await?;
        if stored.rows_affected() == 0 {
            self.changed = true;
            return Ok(());
        }
        if recovered && self.alarmed {
            let since = self.failing_since.unwrap_or_else(Utc::now);
            let entry = Entry::new("auditorium.destination.recovered", Actor::system(), Origin::default())
                .on("destination", self.row.id, &self.row.name)
                .note("failing_since", json!(since.to_rfc3339()))
                .note("failed_for_seconds", json!((Utc::now() - since).num_seconds()));
            audit::record(&mut *tx, &entry).await?;
        }
        tx.commit().await?;
        self.acked = upto;
        if recovered {
            if self.alarmed {
                self.ctx.audit_kick.notify_one();
                tracing::info!(destination = %self.row.name, "the destination {} receives events again", self.row.name);
            }
            (self.failing_since, self.alarmed, self.failures) = (None, false, 0);
        }
        Ok(())
    }

    /// Records the failure, forgets what was not acknowledged, and waits before trying again.
    async fn fail_and_wait(&mut self, conn: &mut PgConnection, reason: &str) -> Result<(), sqlx::Error> {
        self.link = None;
        self.marks.clear();
        self.sent = self.acked;
        self.failures += 1;
        self.failed(conn, reason).await?;
        tokio::time::sleep(backoff(self.failures, self.ctx.max_backoff)).await;
        Ok(())
    }

    async fn failed(&mut self, conn: &mut PgConnection, reason: &str) -> Result<(), sqlx::Error> {
        let since = *self.failing_since.get_or_insert_with(Utc::now);
        let alarm = !self.alarmed && (Utc::now() - since).to_std().unwrap_or_default() >= self.ctx.alarm_after;
        tracing::warn!(destination = %self.row.name, error = %reason, failures = self.failures, "sending to {} failed: {reason}", self.row.name);
        let mut tx = conn.begin().await?;
        sqlx::query("UPDATE destinations SET failing_since = $2, last_error = $3, last_error_at = now(), alarmed = alarmed OR $4 WHERE id = $1")
            .bind(self.row.id)
            .bind(since)
            .bind(reason)
            .bind(alarm)
            .execute(&mut *tx)
            .await?;
        if alarm {
            let entry = Entry::new("auditorium.destination.failing", Actor::system(), Origin::default())
                .on("destination", self.row.id, &self.row.name)
                .failed(reason)
                .note("failing_since", json!(since.to_rfc3339()))
                .note("checkpoint", json!(self.acked));
            audit::record(&mut *tx, &entry).await?;
        }
        tx.commit().await?;
        if alarm {
            self.alarmed = true;
            self.ctx.audit_kick.notify_one();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_limit() {
        let max = Duration::from_secs(60);
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n, max).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(0, max).as_secs(), 1);
    }

    #[test]
    fn a_selection_has_no_time_window() {
        let s = selection("range=1h&outcome=failure");
        assert_eq!((s.from, s.to, s.filters.len()), (None, None, 1));
    }
}
