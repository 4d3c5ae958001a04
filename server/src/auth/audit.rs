//! Auditorium audits itself: sign-ins, sign-outs, accounts, tokens and settings become events
//! of its own store (source `auditorium`, actions `auditorium.*`, the schema of every other
//! event), searchable, chartable and tailed like any other.
//!
//! An entry is written to `audit_outbox` in the same transaction as the change it records, so
//! the change cannot happen without its record, and whoever makes it cannot suppress it. A
//! background task moves the outbox into the event store through the ordinary ingest path
//! (ids are fixed when the entry is written, so moving it twice stores it once).

use std::sync::Arc;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use sqlx::{PgExecutor, PgPool};
use tokio::sync::Notify;
use uuid::Uuid;

use super::principal::Principal;
use crate::ingest::{ingest, IngestError, Ingestor};
use crate::store::outbox;

/// Who did it, as the event's actor.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub kind: &'static str,
}

impl Actor {
    pub fn of(principal: &Principal) -> Actor {
        match (&principal.user, &principal.token) {
            (Some(user), None) => Actor { id: user.id.to_string(), name: user.name.clone(), email: Some(user.email.clone()), kind: "user" },
            (_, Some(token)) => Actor { id: token.id.to_string(), name: token.name.clone(), email: None, kind: "api_token" },
            (None, None) => Actor::system(),
        }
    }

    /// The command line (`auditorium user …`, `auditorium token …`), run by an operator.
    pub fn command_line() -> Actor {
        let name = match std::env::var("USER") {
            Ok(user) if !user.is_empty() => format!("auditorium command line, user {user}"),
            _ => "auditorium command line".into(),
        };
        Actor { id: "cli".into(), name, email: None, kind: "system" }
    }

    pub fn system() -> Actor {
        Actor { id: "auditorium".into(), name: "Auditorium".into(), email: None, kind: "system" }
    }

    /// Someone who is not (yet) known: a failed sign-in names the email that was typed.
    pub fn claimed(email: &str) -> Actor {
        let shown: String = email.trim().chars().take(320).collect();
        Actor { id: "anonymous".into(), name: if shown.is_empty() { "(no email)".into() } else { shown }, email: None, kind: "user" }
    }
}

/// Where the request came from.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// One entry of Auditorium's own log.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Under `auditorium.`, e.g. `auditorium.session.created`.
    pub action: &'static str,
    pub actor: Actor,
    pub origin: Origin,
    pub success: bool,
    pub error: Option<String>,
    /// (type, id, name)
    pub resource: Option<(&'static str, String, String)>,
    /// (field, before, after)
    pub changes: Vec<(String, Value, Value)>,
    pub metadata: Map<String, Value>,
}

impl Entry {
    pub fn new(action: &'static str, actor: Actor, origin: Origin) -> Entry {
        Entry { action, actor, origin, success: true, error: None, resource: None, changes: Vec::new(), metadata: Map::new() }
    }

    pub fn on(mut self, kind: &'static str, id: impl ToString, name: impl ToString) -> Entry {
        self.resource = Some((kind, id.to_string(), name.to_string()));
        self
    }

    pub fn change(mut self, field: &str, before: Value, after: Value) -> Entry {
        self.changes.push((field.into(), before, after));
        self
    }

    pub fn failed(mut self, reason: impl Into<String>) -> Entry {
        self.success = false;
        self.error = Some(reason.into());
        self
    }

    pub fn note(mut self, key: &str, value: Value) -> Entry {
        self.metadata.insert(key.into(), value);
        self
    }

    /// The event as the ingest API takes it.
    pub fn to_event(&self, id: Uuid) -> Value {
        let mut event = json!({
            "id": id.to_string(),
            "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
            "action": self.action,
            "source": "auditorium",
            "outcome": if self.success { "success" } else { "failure" },
            "actor": { "id": self.actor.id, "name": self.actor.name, "type": self.actor.kind },
        });
        if let Some(email) = self.actor.email.as_ref().filter(|e| e.contains('@')) {
            event["actor"]["email"] = json!(email);
        }
        if let Some((kind, id, name)) = &self.resource {
            event["resource"] = json!({ "type": kind, "id": id });
            if !name.is_empty() {
                event["resource"]["name"] = json!(name);
            }
        }
        if let Some(error) = &self.error {
            event["error"] = json!(error);
        }
        if let Some(ip) = self.origin.ip.as_ref().filter(|ip| ip.parse::<std::net::IpAddr>().is_ok()) {
            event["ip"] = json!(ip);
        }
        if let Some(agent) = self.origin.user_agent.as_ref().filter(|a| !a.is_empty()) {
            event["user_agent"] = json!(agent.chars().take(1024).collect::<String>());
        }
        if !self.changes.is_empty() {
            event["changes"] = Value::Array(self.changes.iter().map(|(f, b, a)| json!({ "field": f, "before": b, "after": a })).collect());
        }
        if !self.metadata.is_empty() {
            event["metadata"] = Value::Object(self.metadata.clone());
        }
        event
    }
}

/// Writes `entry` to the outbox on `db` (the caller's transaction, when there is one).
pub async fn record(db: impl PgExecutor<'_>, entry: &Entry) -> Result<(), sqlx::Error> {
    let id = Uuid::now_v7();
    outbox::put(db, id, &entry.to_event(id)).await
}

/// Moves what the outbox holds into the event store; how many entries were moved.
pub async fn drain(pool: &PgPool, ingestor: &Ingestor) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let mut moved = 0;
    loop {
        let mut tx = pool.begin().await?;
        let taken = outbox::take(&mut tx, 500).await?;
        if taken.is_empty() {
            return Ok(moved);
        }
        let (ids, mut events): (Vec<Uuid>, Vec<Value>) = taken.into_iter().unzip();
        match ingest(ingestor, &events).await {
            Ok(_) => {}
            // An entry the store refuses is a fault of ours; it must neither be lost nor block
            // the others: it is kept as a plain record of what could not be stored.
            Err(IngestError::Invalid(problems)) => {
                for problem in &problems {
                    let Some(event) = problem.index.and_then(|i| events.get_mut(i)) else { continue };
                    tracing::error!(problem = %problem.message, "an audit entry of Auditorium's own was refused: {}", problem.message);
                    *event = unrecordable(event, &problem.message);
                }
                ingest(ingestor, &events).await?;
            }
            Err(e) => return Err(e.into()),
        }
        outbox::remove(&mut tx, &ids).await?;
        tx.commit().await?;
        moved += ids.len();
    }
}

/// What is stored instead of an entry the event store refused: its id, the original as text.
fn unrecordable(original: &Value, problem: &str) -> Value {
    let text: String = original.to_string().chars().take(8 * 1024).collect();
    json!({
        "id": original["id"],
        "occurred_at": original["occurred_at"],
        "action": "auditorium.audit.unrecordable",
        "source": "auditorium",
        "outcome": "failure",
        "error": problem.chars().take(4096).collect::<String>(),
        "actor": { "id": "auditorium", "name": "Auditorium", "type": "system" },
        "metadata": { "original": text },
    })
}

/// The background task: moves the outbox when kicked (after a change on this instance) and
/// every few seconds (changes made by other instances or the command line).
pub async fn keep_draining(pool: PgPool, ingestor: Arc<Ingestor>, kick: Arc<Notify>) {
    while !pool.is_closed() {
        if let Err(e) = drain(&pool, &ingestor).await {
            tracing::warn!(error = %e, "moving Auditorium's own audit events failed ({e}); retrying");
        }
        tokio::select! {
            () = kick.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::validate::validate_event;

    #[test]
    fn entries_are_valid_events() {
        let entry = Entry::new("auditorium.user.role_changed", Actor::command_line(), Origin { ip: Some("10.0.0.1".into()), user_agent: Some("curl".into()) })
            .on("user", Uuid::nil(), "ada@example.com")
            .change("role", json!("member"), json!("admin"))
            .note("via", json!("cli"));
        let event = validate_event(0, &entry.to_event(Uuid::now_v7()), Utc::now()).expect("a valid event");
        assert_eq!(event.source.as_deref(), Some("auditorium"));
        assert_eq!(event.changes.len(), 1);
        let ended = Entry::new("auditorium.session.ended", Actor::system(), Origin::default()).on("user", Uuid::nil(), "");
        assert!(validate_event(0, &ended.to_event(Uuid::now_v7()), Utc::now()).is_ok(), "a resource without a name");
        let failed = Entry::new("auditorium.session.failed", Actor::claimed("  who@example.com "), Origin::default()).failed("wrong password");
        let event = validate_event(0, &failed.to_event(Uuid::now_v7()), Utc::now()).expect("a valid event");
        assert_eq!((event.outcome.as_str(), event.actor.name.as_str()), ("failure", "who@example.com"));
    }
}
