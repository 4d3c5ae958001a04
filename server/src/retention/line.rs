//! One line of an archive file: the event in the ingest API's JSON shape, written from the
//! row's columns (JSON columns as jsonb's text, as they are) without decoding the event.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::integrity::checkpoint::hex;

#[derive(sqlx::FromRow)]
pub(super) struct ArchiveRow {
    pub(super) seq: i64,
    pub(super) id: Uuid,
    pub(super) fingerprint: Option<Vec<u8>>,
    pub(super) recorded: Option<Vec<u8>>,
    /// `None`: the event's row is gone.
    pub(super) actual: Option<Vec<u8>>,
    pub(super) occurred_at: Option<DateTime<Utc>>,
    pub(super) received_at: Option<DateTime<Utc>>,
    pub(super) action: Option<String>,
    pub(super) actor_id: Option<String>,
    pub(super) actor_name: Option<String>,
    pub(super) actor_email: Option<String>,
    pub(super) actor_type: Option<String>,
    pub(super) source: Option<String>,
    pub(super) method: Option<String>,
    pub(super) status: Option<i16>,
    pub(super) path: Option<String>,
    pub(super) outcome: Option<String>,
    pub(super) error: Option<String>,
    pub(super) resource_type: Option<String>,
    pub(super) resource_id: Option<String>,
    pub(super) resource_name: Option<String>,
    /// JSON columns as their text (jsonb's normalised form), written into the line as is.
    pub(super) context: Option<String>,
    pub(super) request_id: Option<String>,
    pub(super) ip: Option<String>,
    pub(super) user_agent: Option<String>,
    pub(super) changes: Option<String>,
    pub(super) metadata: Option<String>,
}

/// The columns of [`ArchiveRow`] after the position's, from the event's row `e`.
pub(super) const LINE_COLUMNS: &str = "e.occurred_at, e.received_at, e.action, e.actor_id, e.actor_name, e.actor_email, e.actor_type, \
     e.source, e.method, e.status, e.path, e.outcome, e.error, e.resource_type, e.resource_id, e.resource_name, \
     e.context::text AS context, e.request_id, e.ip, e.user_agent, e.changes::text AS changes, e.metadata::text AS metadata";

/// One archive line: the event in the ingest API's JSON shape (absent values as `null`, times
/// in UTC with microseconds), its position and idempotency fingerprint first; `restore` reads
/// it back through the API's validation.
pub(super) fn write_line(out: &mut String, row: &ArchiveRow) {
    use std::fmt::Write as _;
    fn text(out: &mut String, value: Option<&str>) {
        match value {
            Some(v) => out.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "null".into())),
            None => out.push_str("null"),
        }
    }
    fn raw(out: &mut String, json: Option<&str>) {
        out.push_str(json.unwrap_or("null"));
    }
    fn time(out: &mut String, t: Option<DateTime<Utc>>) {
        match t {
            Some(t) => {
                let _ = write!(out, "\"{}\"", t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
            }
            None => out.push_str("null"),
        }
    }
    let _ = write!(out, "{{\"position\":{},\"fingerprint\":\"{}\",\"id\":\"{}\",\"occurred_at\":", row.seq, hex(row.fingerprint.as_deref().unwrap_or_default()), row.id);
    time(out, row.occurred_at);
    out.push_str(",\"received_at\":");
    time(out, row.received_at);
    out.push_str(",\"action\":");
    text(out, row.action.as_deref());
    out.push_str(",\"actor\":{\"id\":");
    text(out, row.actor_id.as_deref());
    out.push_str(",\"name\":");
    text(out, row.actor_name.as_deref());
    out.push_str(",\"email\":");
    text(out, row.actor_email.as_deref());
    out.push_str(",\"type\":");
    text(out, row.actor_type.as_deref());
    out.push_str("},\"source\":");
    text(out, row.source.as_deref());
    out.push_str(",\"method\":");
    text(out, row.method.as_deref());
    out.push_str(",\"status\":");
    match row.status {
        Some(s) => {
            let _ = write!(out, "{s}");
        }
        None => out.push_str("null"),
    }
    out.push_str(",\"path\":");
    text(out, row.path.as_deref());
    out.push_str(",\"outcome\":");
    text(out, row.outcome.as_deref());
    out.push_str(",\"error\":");
    text(out, row.error.as_deref());
    out.push_str(",\"resource\":");
    if row.resource_type.is_some() {
        out.push_str("{\"type\":");
        text(out, row.resource_type.as_deref());
        out.push_str(",\"id\":");
        text(out, row.resource_id.as_deref());
        out.push_str(",\"name\":");
        text(out, row.resource_name.as_deref());
        out.push('}');
    } else {
        out.push_str("null");
    }
    out.push_str(",\"context\":");
    raw(out, row.context.as_deref());
    out.push_str(",\"request_id\":");
    text(out, row.request_id.as_deref());
    out.push_str(",\"ip\":");
    text(out, row.ip.as_deref());
    out.push_str(",\"user_agent\":");
    text(out, row.user_agent.as_deref());
    out.push_str(",\"changes\":");
    raw(out, row.changes.as_deref());
    out.push_str(",\"metadata\":");
    raw(out, row.metadata.as_deref());
    out.push_str("}\n");
}
