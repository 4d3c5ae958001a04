//! Streaming the audit log to SIEMs: syslog (RFC 5424 over TLS per RFC 5425, or TCP, or UDP;
//! CEF or JSON), Splunk's HTTP Event Collector, and signed HTTPS webhooks.
//!
//! Each destination has a checkpoint in PostgreSQL (the last position its receiver
//! acknowledged) and a sender ([`sender`]) on exactly one instance at a time (an advisory
//! lock per destination). Senders wake on the live hub's new positions and read the events
//! from the database, so a receiver that is down for hours, a restart or a crash costs
//! nothing but a catch-up, and ingest never waits for a destination.

pub mod format;
pub mod link;
pub mod sender;
pub mod store;
pub mod tcp_acks;
pub mod tls;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::destinations::{DestinationKind, DestinationTest};
use app::event::{Actor, ActorType, Event, Outcome};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use crate::live::LiveHub;
use crate::secrets::SecretBox;

/// What every sender of an instance shares.
#[derive(Clone)]
pub struct Context {
    pub pool: PgPool,
    pub hub: Arc<LiveHub>,
    pub secrets: Arc<SecretBox>,
    pub audit_kick: Arc<Notify>,
    /// This instance's name in syslog headers.
    pub hostname: String,
    /// A destination failing this long turns red and is audited.
    pub alarm_after: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// `--webhook-allow`: hosts destinations may be sent to (empty: any).
    pub allow: Arc<Vec<String>>,
}

/// The name of this machine for syslog's HOSTNAME (the public URL's host when set).
pub fn hostname(public_url: Option<&str>) -> String {
    public_url
        .and_then(|url| reqwest::Url::parse(url).ok())
        .and_then(|url| url.host_str().map(str::to_string))
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_string()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "auditorium".into())
}

/// Keeps one sender task per enabled destination on this instance (each sends only while it
/// holds its destination's lock); restarts a task when its destination changes. `kick`: a
/// destination changed here (the others notice within two seconds).
pub async fn run(ctx: Context, kick: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    let mut running: HashMap<Uuid, (DateTime<Utc>, tokio::task::JoinHandle<()>)> = HashMap::new();
    loop {
        match sqlx::query_as::<_, (Uuid, DateTime<Utc>, bool)>("SELECT id, updated_at, enabled FROM destinations").fetch_all(&ctx.pool).await {
            Ok(rows) => {
                running.retain(|id, (version, task)| {
                    let current = rows.iter().any(|(i, v, enabled)| i == id && v == version && *enabled) && !task.is_finished();
                    if !current {
                        task.abort();
                    }
                    current
                });
                for (id, version, enabled) in rows {
                    if enabled && !running.contains_key(&id) {
                        running.insert(id, (version, tokio::spawn(sender::run(ctx.clone(), id))));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the destinations failed: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
            () = kick.notified() => {}
            _ = stop.changed() => break,
        }
    }
    for (_, (_, task)) in running {
        task.abort();
    }
}

/// The event a "Test" sends: marked as a test, not stored.
pub fn test_event(destination: &str, by: &str) -> Event {
    let now = Utc::now();
    Event {
        id: Uuid::now_v7(),
        occurred_at: now,
        received_at: now,
        action: "auditorium.destination.test".into(),
        actor: Actor { id: "auditorium".into(), name: format!("Test by {by}"), email: None, actor_type: ActorType::System },
        source: Some("auditorium".into()),
        method: None,
        status: None,
        path: None,
        outcome: Outcome::Success,
        error: None,
        resource: Some(app::event::Resource { resource_type: "destination".into(), id: None, name: Some(destination.into()) }),
        context: Default::default(),
        request_id: None,
        ip: None,
        user_agent: None,
        changes: Vec::new(),
        metadata: Some(serde_json::json!({ "test": true })),
    }
}

/// Sends one synthetic event and says what came back. A stream counts when the connection
/// is still open a moment after writing.
pub async fn test(target: &link::Target, by: &str, allow: &[String]) -> DestinationTest {
    let started = Instant::now();
    let event = test_event(&target.settings.name, by);
    let result = async {
        if !sender::allowed(&target.settings, allow) {
            return Err("the host is not among those the server may send to (--webhook-allow)".to_string());
        }
        let mut link = link::Link::connect(target).await?;
        let answer = link.send(&[&event]).await?;
        if target.settings.kind == DestinationKind::Syslog {
            tokio::time::sleep(link.grace()).await;
            link.check()?;
            return Ok(format!("{answer}; the connection was still open {} s later", link.grace().as_secs()));
        }
        Ok::<String, String>(answer)
    }
    .await;
    let took_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(answer) => DestinationTest { ok: true, answer, took_ms },
        Err(answer) => DestinationTest { ok: false, answer, took_ms },
    }
}
