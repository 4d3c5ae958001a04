//! Reading stored events back into the shared `Event` type.

use std::collections::BTreeMap;

use app::event::{Actor, ActorType, Change, Event, Outcome, Resource};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// The columns every event query selects, in `EventRow` order.
pub const EVENT_COLUMNS: &str = "e.occurred_at, e.id, e.received_at, e.action, e.actor_id, e.actor_name, \
     e.actor_email, e.actor_type, e.source, e.method, e.status, e.path, e.outcome, e.error, e.resource_type, \
     e.resource_id, e.resource_name, e.context, e.request_id, e.ip, e.user_agent, e.changes, e.metadata";

#[derive(Debug, sqlx::FromRow)]
pub struct EventRow {
    pub occurred_at: DateTime<Utc>,
    pub id: Uuid,
    pub received_at: DateTime<Utc>,
    pub action: String,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_email: Option<String>,
    pub actor_type: String,
    pub source: Option<String>,
    pub method: Option<String>,
    pub status: Option<i16>,
    pub path: Option<String>,
    pub outcome: String,
    pub error: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub context: Value,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub changes: Option<Value>,
    pub metadata: Option<Value>,
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Event {
        let context: BTreeMap<String, String> = serde_json::from_value(r.context).unwrap_or_default();
        let changes: Vec<Change> = r.changes.and_then(|c| serde_json::from_value(c).ok()).unwrap_or_default();
        Event {
            id: r.id,
            occurred_at: r.occurred_at,
            received_at: r.received_at,
            action: r.action,
            actor: Actor {
                id: r.actor_id,
                name: r.actor_name,
                email: r.actor_email,
                // The table's CHECK constraints admit only known values.
                actor_type: ActorType::parse(&r.actor_type).unwrap_or(ActorType::System),
            },
            source: r.source,
            method: r.method,
            status: r.status.and_then(|s| u16::try_from(s).ok()),
            path: r.path,
            outcome: Outcome::parse(&r.outcome).unwrap_or(Outcome::Success),
            error: r.error,
            resource: r.resource_type.map(|resource_type| Resource { resource_type, id: r.resource_id, name: r.resource_name }),
            context,
            request_id: r.request_id,
            ip: r.ip,
            user_agent: r.user_agent,
            changes,
            metadata: r.metadata,
        }
    }
}
