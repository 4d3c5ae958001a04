//! One live-tail subscription: catch up from the database after the client's position, then
//! forward matching events as they commit. Never skips an event, never sends one twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::api::live_close;
use app::query::EventFilter;
use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt, Stream, StreamExt};
use super::hub::{events_message, LiveEvent, LiveHub};
use super::ring::Next;
use crate::auth::{Authenticator, Need, Principal};
use crate::metrics::LiveMetrics;
use sqlx::PgPool;
use crate::store::live::matching_between;

/// Catch-up reads fetch at most this many events at once (events are at most ~100 KB each,
/// so a socket catching up holds at most ~20 MB, typically a few hundred KB)...
const REPLAY_CHUNK: i64 = 200;
/// ... and send them in messages of at most about this many bytes.
const MESSAGE_BYTES: usize = 1024 * 1024;
/// A socket cut for being too slow gets this long to take its close frame (4408), holding
/// nothing but what is already in its send buffer.
const CLOSE_GRACE: Duration = Duration::from_secs(30);
const PING_EVERY: Duration = Duration::from_secs(15);
const PONG_TIMEOUT: Duration = Duration::from_secs(45);
/// Without matching events, tell the client its position at most this often.
const POSITION_EVERY: Duration = Duration::from_secs(1);

/// Why a subscription ended, when the server ends it.
#[derive(Debug)]
pub struct Close {
    pub code: u16,
    pub reason: String,
}

impl Close {
    pub fn new(code: u16, reason: impl Into<String>) -> Close {
        let mut reason: String = reason.into();
        // A close reason has at most 123 bytes.
        while reason.len() > 120 {
            reason.pop();
        }
        Close { code, reason }
    }

    pub fn frame(self) -> Message {
        Message::Close(Some(CloseFrame { code: self.code, reason: self.reason.into() }))
    }
}

/// What a socket subscribed to: its filter (within the reader's scope), and the same
/// conditions without the time window in canonical form with the scope (`key`), under which
/// batches share the messages they build.
pub struct Subscription {
    pub filter: EventFilter,
    pub key: String,
    /// Who is reading: the socket ends when their access ends or changes.
    pub watch: Option<AccessWatch>,
}

/// What a socket needs to notice that its reader's access ended or changed.
pub struct AccessWatch {
    pub principal: Arc<Principal>,
    pub auth: Arc<Authenticator>,
    pub pool: PgPool,
}

impl AccessWatch {
    /// `Err(close)` when the reader may no longer read what they subscribed to.
    async fn check(&self) -> Result<(), Close> {
        match self.auth.resolve(&self.pool, &self.principal.credential).await {
            Ok(Some(now)) if now.role == self.principal.role && now.scope == self.principal.scope && now.allows(Need::Read).is_ok() => Ok(()),
            Ok(Some(_)) => Err(Close::new(live_close::FORBIDDEN, "your access changed; reconnect to tail what you may see now")),
            Ok(None) => Err(Close::new(live_close::UNAUTHORIZED, "your session or token has ended; sign in again")),
            // Checked again at the next change; meanwhile nothing new is granted.
            Err(e) => {
                tracing::warn!(error = %e, "re-checking a live tail's access failed: {e}");
                Ok(())
            }
        }
    }
}

/// Runs one subscription until the client leaves (`None`) or the server ends it.
/// `send_timeout`: a send blocked this long means the client is not reading (4408).
pub async fn run<S>(
    socket: S,
    hub: Arc<LiveHub>,
    subscription: Subscription,
    after: Option<i64>,
    send_timeout: Duration,
    metrics: &LiveMetrics,
) -> Option<Close>
where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let (mut sink, mut incoming) = socket.split();
    let timer = Timer { send_timeout };
    metrics.sockets.inc();
    let outcome = forward(&mut sink, &mut incoming, &hub, &subscription, after, &timer).await;
    metrics.sockets.dec();
    if let Some(close) = outcome.as_ref().err() {
        if close.code == live_close::TOO_SLOW {
            metrics.slow_closed.inc();
        }
        // The subscription's batches are released by now. A client that stopped reading has
        // a full send buffer: the close frame waits behind it, so it gets a while to drain
        // (a client that comes back reads its data, then 4408), while the socket holds
        // nothing else.
        let grace = if close.code == live_close::TOO_SLOW { CLOSE_GRACE } else { Duration::from_secs(2) };
        let closing = async {
            let _ = sink.send(Close::new(close.code, close.reason.clone()).frame()).await;
            let _ = sink.flush().await;
        };
        let client_left = async { while let Some(Ok(_)) = incoming.next().await {} };
        tokio::select! {
            _ = tokio::time::timeout(grace, closing) => {}
            () = client_left => {}
        }
    }
    outcome.err()
}

struct Timer {
    send_timeout: Duration,
}

/// `Ok(())`: the client went away. `Err(close)`: the server ends the subscription.
async fn forward<W, R>(
    sink: &mut W,
    incoming: &mut R,
    hub: &LiveHub,
    subscription: &Subscription,
    after: Option<i64>,
    timer: &Timer,
) -> Result<(), Close>
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let filter = &subscription.filter;
    let untimed = EventFilter { from: None, to: None, ..filter.clone() };
    // Subscribe before reading the database: nothing committed in between can be missed.
    // Catch up to the newest committed event (the hub may trail it by a notification); the
    // hub's later batches then repeat some of it, which the position check skips.
    let (mut batches, hub_head) = hub.subscribe();
    let mut stop = hub.shutting_down();
    let head = newest(hub).await?.max(hub_head);
    let tracked = hub.track_position(after.unwrap_or(head));
    let mut position = replay(sink, hub, filter, after.unwrap_or(head), head, timer).await?;
    timer.send(sink, format!("{{\"type\":\"ready\",\"position\":{position}}}")).await?;

    let mut access = hub.access_changes();
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_pong = Instant::now();
    let mut last_sent = Instant::now();
    loop {
        tracked.store(position, std::sync::atomic::Ordering::Release);
        tokio::select! {
            batch = batches.next() => match batch {
                Next::Batch(batch) => {
                    let (Some(first), Some(top)) = (batch.first_position(), batch.last_position()) else { continue };
                    if top <= position {
                        continue;
                    }
                    // Positions have no holes, so a batch that does not follow on from ours
                    // means the hub skipped events (it had no subscribers): read them first.
                    if first > position + 1 {
                        position = replay(sink, hub, filter, position, first - 1, timer).await?;
                    }
                    // The common case — all of the batch is new to us and inside our window —
                    // shares one message with every socket of the same conditions.
                    let message = if first > position && batch.inside_window(filter) {
                        batch.message_for(&subscription.key, &untimed)
                    } else {
                        let fresh: Vec<&Arc<LiveEvent>> = batch
                            .events
                            .iter()
                            .filter(|e| e.position > position && filter.matches_with_text(&e.event, &e.search_text))
                            .collect();
                        (!fresh.is_empty()).then(|| events_message(top, &fresh).into())
                    };
                    // Hold no batch while waiting on a slow client.
                    drop(batch);
                    if let Some(message) = message {
                        timer.timed(sink.send(Message::Text(message))).await?;
                        last_sent = Instant::now();
                    } else if last_sent.elapsed() >= POSITION_EVERY {
                        timer.send(sink, format!("{{\"type\":\"position\",\"position\":{top}}}")).await?;
                        last_sent = Instant::now();
                    }
                    position = top;
                }
                // This client fell behind the buffer: read what it missed from the database.
                Next::Lagged => {
                    let head = newest(hub).await?.max(hub.latest());
                    position = replay(sink, hub, filter, position, head, timer).await?;
                }
                Next::Closed => return Err(Close::new(live_close::GOING_AWAY, "the server is shutting down")),
            },
            message = incoming.next() => match message {
                Some(Ok(Message::Pong(_))) => last_pong = Instant::now(),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Ok(()),
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if last_pong.elapsed() > PONG_TIMEOUT {
                    return Err(Close::new(live_close::TOO_SLOW, "no answer to keep-alive pings"));
                }
                timer.timed(sink.send(Message::Ping(Vec::new().into()))).await?;
            }
            _ = stop.changed() => return Err(Close::new(live_close::GOING_AWAY, "the server is shutting down")),
            changed = access.changed() => {
                if changed.is_ok() {
                    if let Some(watch) = &subscription.watch {
                        watch.check().await?;
                    }
                }
            }
        }
    }
}

/// The position of the newest committed event.
async fn newest(hub: &LiveHub) -> Result<i64, Close> {
    crate::store::page::latest_position(hub.pool()).await.map_err(|e| {
        tracing::warn!(error = %e, "live tail could not read the newest position: {e}");
        Close::new(live_close::INTERNAL, "reading the newest position failed; reconnect to retry")
    })
}

/// Sends every matching event with a position in `(after, until]`, in order; returns the new
/// position (`until`, or `after` when that is later).
async fn replay<W: Sink<Message> + Unpin>(
    sink: &mut W,
    hub: &LiveHub,
    filter: &EventFilter,
    after: i64,
    until: i64,
    timer: &Timer,
) -> Result<i64, Close> {
    let mut position = after;
    while position < until {
        let rows = matching_between(hub.pool(), Some(filter), position, Some(until), REPLAY_CHUNK)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "live catch-up failed: {e}");
                Close::new(live_close::INTERNAL, "reading missed events failed; reconnect to retry")
            })?;
        let full = rows.len() as i64 == REPLAY_CHUNK;
        let events: Vec<Arc<LiveEvent>> = rows.into_iter().map(|(p, e)| Arc::new(LiveEvent::new(p, e))).collect();
        // A short read reached the end of the range: everything up to `until` is covered.
        let reached = if full { events.last().map_or(until, |e| e.position) } else { until };
        // Messages of at most about MESSAGE_BYTES; each says how far it covers.
        let mut start = 0;
        while start < events.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < events.len() && (end == start || bytes + events[end].json.len() <= MESSAGE_BYTES) {
                bytes += events[end].json.len();
                end += 1;
            }
            let covered = if end == events.len() { reached } else { events[end - 1].position };
            timer.send(sink, events_message(covered, &events[start..end].iter().collect::<Vec<_>>())).await?;
            start = end;
        }
        position = reached;
        if !full {
            break;
        }
    }
    Ok(position.max(after))
}

impl Timer {
    async fn send<W: Sink<Message> + Unpin>(&self, sink: &mut W, text: String) -> Result<(), Close> {
        self.timed(sink.send(Message::Text(text.into()))).await
    }

    async fn timed<F: std::future::Future<Output = Result<(), E>>, E>(&self, send: F) -> Result<(), Close> {
        match tokio::time::timeout(self.send_timeout, send).await {
            Ok(Ok(())) => Ok(()),
            // The client is gone; nothing to tell it.
            Ok(Err(_)) => Err(Close::new(live_close::GOING_AWAY, "connection closed")),
            Err(_) => Err(Close::new(live_close::TOO_SLOW, "the connection could not keep up; reconnect to catch up")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::api::{LiveMessage, LiveMessageKind};

    #[test]
    fn hand_built_messages_are_what_the_browser_decodes() {
        let mut event: app::event::Event =
            serde_json::from_value(serde_json::json!({
                "id": "0192e4a0-7b1c-7cde-8f00-1234567890ab", "occurred_at": "2026-11-21T10:00:00Z",
                "received_at": "2026-11-21T10:00:01Z", "action": "a.b",
                "actor": {"id": "u", "name": "U \"quoted\"", "type": "user"}, "outcome": "success", "context": {}
            }))
            .expect("event");
        event.context.insert("k".into(), "v\nw".into());
        let live = Arc::new(LiveEvent::new(7, event.clone()));
        let message: LiveMessage = serde_json::from_str(&super::super::hub::events_message(9, &[&live])).expect("valid JSON");
        assert_eq!((message.kind, message.position), (LiveMessageKind::Events, 9));
        assert_eq!(message.events[0].position, 7);
        assert_eq!(message.events[0].event, event);
        let ready: LiveMessage = serde_json::from_str("{\"type\":\"ready\",\"position\":3}").expect("ready");
        assert_eq!(ready, LiveMessage { kind: LiveMessageKind::Ready, position: 3, events: vec![] });
    }

    #[test]
    fn close_reasons_fit_in_a_frame() {
        assert!(Close::new(4400, "x".repeat(300)).reason.len() <= 123);
    }
}
