//! The JSON shapes of the HTTP API, shared by the server (which writes them) and the page
//! (which reads them). Documented in docs/api.md and the OpenAPI document.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::query::FieldKind;

/// (De)serialises times as RFC 3339 with the dedicated parser: chrono's general `FromStr`
/// would add its whole format-string machinery to the WebAssembly bundle.
pub mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc)).map_err(serde::de::Error::custom)
    }
}

/// Like [`rfc3339`], for an optional time (`null` or absent: `None`).
pub mod optional_rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::rfc3339::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

/// A count that is exact, or — when counting would take too long — a lower bound
/// ("more than N").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    pub count: u64,
    pub exact: bool,
}

/// One page of events, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    pub events: Vec<Event>,
    pub total: Total,
    /// The window the page covers (a relative range resolved at query time).
    #[serde(with = "rfc3339")]
    pub from: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub to: DateTime<Utc>,
    /// Cursor of the next (older) page, if there is one.
    pub older: Option<String>,
    /// Cursor of the previous (newer) page, if there is one.
    pub newer: Option<String>,
    /// Where the first event of this page is among all selected (0: the newest), when known:
    /// "51–100 of N". Unknown for cursors from before this field existed.
    #[serde(default)]
    pub offset: Option<u64>,
    /// Commit position of the newest stored event when the page was read; live tail
    /// resumes after it.
    pub position: i64,
    /// Start (UTC midnight) of the oldest day still kept, once retention has removed days.
    #[serde(default, with = "optional_rfc3339", skip_serializing_if = "Option::is_none")]
    pub retained_from: Option<DateTime<Utc>>,
    /// Commit time up to which the background verifier has checked the hash chain.
    #[serde(default, with = "optional_rfc3339", skip_serializing_if = "Option::is_none")]
    pub verified_upto: Option<DateTime<Utc>>,
    /// What the verifier found wrong, if anything (until `auditorium verify` clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity_problem: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistogramBucket {
    #[serde(with = "rfc3339")]
    pub start: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub end: DateTime<Utc>,
    pub success: u64,
    pub failure: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    #[serde(with = "rfc3339")]
    pub from: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub to: DateTime<Utc>,
    /// Nominal bucket width in seconds (day-sized buckets may differ by an hour across DST).
    pub bucket_seconds: i64,
    pub buckets: Vec<HistogramBucket>,
    pub total: Total,
    /// Commit position of the newest event counted: a live tail adds the events after it.
    #[serde(default)]
    pub position: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldInfo {
    /// The URL key, e.g. `actor.email` or `context.cluster`.
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    /// For enum fields, every allowed value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldList {
    pub fields: Vec<FieldInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValues {
    pub field: String,
    pub values: Vec<ValueCount>,
    /// False when the counts come from the newest 50,000 matching events only.
    pub exact: bool,
}

/// The body of every error response: `{ "error": { "code", "message", "details" } }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorInfo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// Stable machine-readable code, e.g. `invalid_query`, `validation_failed`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
}

/// One precise problem: which item (`index`, for batches), which field or parameter, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

/// A message of the live tail (`GET /api/v1/live`, WebSocket, JSON text frames):
/// `{"type": "events" | "ready" | "position", "position": N, "events": [...]}`. (A flat
/// struct rather than a tagged enum: far less decoding code in the WebAssembly bundle.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveMessage {
    #[serde(rename = "type")]
    pub kind: LiveMessageKind,
    /// The newest position this message covers; reconnect with `after` set to it.
    pub position: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<PositionedEvent>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveMessageKind {
    /// Matching events in commit order.
    Events,
    /// The catch-up is done: from here on events arrive as they commit.
    Ready,
    /// Nothing new matched, but everything up to `position` has been looked at.
    Position,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PositionedEvent {
    pub position: i64,
    pub event: Event,
}

/// Close codes of the live tail, with the reason in the close frame.
pub mod live_close {
    /// The server is stopping: reconnect (to another instance).
    pub const GOING_AWAY: u16 = 1001;
    /// A query parameter is invalid: do not retry as is.
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    /// The client did not keep up (or stopped answering): reconnect with the last position.
    pub const TOO_SLOW: u16 = 4408;
    /// A server-side failure: retry with the last position.
    pub const INTERNAL: u16 = 4500;
}
