//! Writing events: what is already stored for a set of ids, and one transaction with one
//! `COPY ... FROM STDIN` for the new ones. The database's insert trigger assigns the
//! commit-ordered positions, keeps the counts and notifies live tails (see the migrations).
//!
//! Only the ingest writer task (`crate::ingest::writer`) calls [`write_new`], on a connection
//! it owns: a dropped HTTP request can never leave a connection in the middle of a `COPY`.
//! [`copy_events`] is the raw baseline of the ingest benchmark and its dataset loader.

use std::collections::HashMap;
use std::fmt::Write;

use app::event::{search_text, Event};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::partitions::PartitionCache;

/// A validated event and the fingerprint of its canonical content.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub event: Event,
    pub fingerprint: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Written by this request.
    New,
    /// Already stored with the same content (a retry).
    Duplicate,
}

const COLUMNS: &str = "occurred_at, id, received_at, action, actor_id, actor_name, actor_email, actor_type, \
     source, method, status, path, outcome, error, resource_type, resource_id, resource_name, context, \
     request_id, ip, user_agent, changes, metadata, search_text, fingerprint";

/// The stored fingerprint of each of `ids` that is already stored (`None`: stored without one).
pub async fn stored_fingerprints(conn: &mut PgConnection, ids: &[Uuid]) -> Result<HashMap<Uuid, Option<Vec<u8>>>, sqlx::Error> {
    Ok(sqlx::query_as::<_, (Uuid, Option<Vec<u8>>)>("SELECT id, fingerprint FROM event_positions WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect())
}

/// Writes `events` in one transaction — a single `COPY` statement, which commits on its own
/// (all rows or none, one trigger call) without the round trips of `BEGIN` and `COMMIT`.
pub async fn write_new<'a>(conn: &mut PgConnection, events: impl Iterator<Item = &'a NewEvent>) -> Result<u64, sqlx::Error> {
    copy_into(conn, events).await
}

/// Copies `events` in one COPY statement, without any of ingest's checks: the benchmark's raw
/// baseline and its dataset loader.
pub async fn copy_events(pool: &PgPool, partitions: &PartitionCache, events: &[NewEvent]) -> Result<u64, sqlx::Error> {
    partitions.ensure(pool, events.iter().map(|e| e.event.occurred_at.date_naive())).await?;
    let mut conn = pool.acquire().await?;
    match copy_into(&mut conn, events.iter()).await {
        Ok(n) => Ok(n),
        Err(e) => {
            // Whatever state the COPY left behind, this connection does not go back to the pool.
            let _ = conn.close().await;
            Err(e)
        }
    }
}

/// Streams `events` into the events table on `conn` (inside the caller's transaction, if any).
async fn copy_into<'a>(conn: &mut PgConnection, events: impl Iterator<Item = &'a NewEvent>) -> Result<u64, sqlx::Error> {
    let mut data = String::with_capacity(64 * 1024);
    for e in events {
        write_row(&mut data, e);
    }
    let mut copy = conn.copy_in_raw(&format!("COPY events ({COLUMNS}) FROM STDIN")).await?;
    if let Err(e) = copy.send(data.as_bytes()).await {
        // Ends the COPY on the server side before reporting the error.
        let _ = copy.abort("the data could not be sent").await;
        return Err(e);
    }
    copy.finish().await
}

/// One row in COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
fn write_row(out: &mut String, new: &NewEvent) {
    let e = &new.event;
    let json = |v: &serde_json::Value| v.to_string();
    let fields: [Option<String>; 25] = [
        Some(e.occurred_at.to_rfc3339()),
        Some(e.id.to_string()),
        Some(e.received_at.to_rfc3339()),
        Some(e.action.clone()),
        Some(e.actor.id.clone()),
        Some(e.actor.name.clone()),
        e.actor.email.clone(),
        Some(e.actor.actor_type.as_str().to_string()),
        e.source.clone(),
        e.method.clone(),
        e.status.map(|s| s.to_string()),
        e.path.clone(),
        Some(e.outcome.as_str().to_string()),
        e.error.clone(),
        e.resource.as_ref().map(|r| r.resource_type.clone()),
        e.resource.as_ref().and_then(|r| r.id.clone()),
        e.resource.as_ref().and_then(|r| r.name.clone()),
        Some(serde_json::to_string(&e.context).unwrap_or_else(|_| "{}".into())),
        e.request_id.clone(),
        e.ip.clone(),
        e.user_agent.clone(),
        (!e.changes.is_empty()).then(|| serde_json::to_string(&e.changes).unwrap_or_default()),
        e.metadata.as_ref().map(json),
        Some(search_text(e)),
        Some(new.fingerprint.iter().fold(String::from("\\x"), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })),
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match field {
            None => out.push_str("\\N"),
            Some(text) => escape_into(out, text),
        }
    }
    out.push('\n');
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_escapes() {
        let mut out = String::new();
        escape_into(&mut out, "a\tb\nc\\d");
        assert_eq!(out, "a\\tb\\nc\\\\d");
    }
}
