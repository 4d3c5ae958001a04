//! Destinations in PostgreSQL: created, changed and deleted by admins (each change audited in
//! the same transaction), read with their delivery status, and loaded with their secrets
//! opened for the sender.

use app::destinations::{check_destination, CreatedDestination, DeliveryState, DeliveryStatus, Destination, DestinationInput, DestinationKind, DestinationSettings, StartFrom};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::link::Target;
use super::tls::Certificates;
use crate::auth::audit::{self, Actor, Entry, Origin};
use crate::secrets::{SecretBox, SecretError};

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("not valid")]
    Invalid(Vec<(String, String)>),
    #[error("no such destination")]
    NotFound,
    #[error("a destination with that name exists")]
    Duplicate,
    #[error("sealing a secret failed: {0}")]
    Secret(#[from] SecretError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct DestinationRow {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub settings: sqlx::types::Json<DestinationSettings>,
    pub filter: String,
    pub enabled: bool,
    pub secret: Option<String>,
    pub client_key: Option<String>,
    pub checkpoint: i64,
    pub delivered: i64,
    pub last_delivery_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub alarmed: bool,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn kind_name(kind: DestinationKind) -> &'static str {
    match kind {
        DestinationKind::Syslog => "syslog",
        DestinationKind::SplunkHec => "splunk_hec",
        DestinationKind::Webhook => "webhook",
    }
}

fn time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

impl DestinationRow {
    /// The settings with the columns that are kept outside the JSON.
    pub fn settings(&self) -> DestinationSettings {
        DestinationSettings { name: self.name.clone(), filter: self.filter.clone(), enabled: self.enabled, ..self.settings.0.clone() }
    }

    pub fn state(&self) -> DeliveryState {
        match (self.enabled, self.failing_since, self.alarmed) {
            (false, _, _) => DeliveryState::Paused,
            (true, Some(_), true) => DeliveryState::Failing,
            (true, Some(_), false) => DeliveryState::Retrying,
            (true, None, _) => DeliveryState::Ok,
        }
    }

    /// The API's view. `newest`: the newest committed position; `behind_since`: when the
    /// oldest event not yet acknowledged was received.
    pub fn view(&self, newest: i64, behind_since: Option<DateTime<Utc>>) -> Destination {
        let lag_events = (newest - self.checkpoint).max(0);
        let lag_seconds = if lag_events > 0 { behind_since.map_or(0, |t| (Utc::now() - t).num_seconds().max(0)) } else { 0 };
        Destination {
            id: self.id.to_string(),
            settings: self.settings(),
            has_secret: self.secret.is_some(),
            has_client_key: self.client_key.is_some(),
            status: DeliveryStatus {
                state: self.state(),
                checkpoint: self.checkpoint,
                newest,
                lag_events,
                lag_seconds,
                delivered: self.delivered,
                last_delivery_at: time(self.last_delivery_at),
                failing_since: time(self.failing_since),
                last_error: self.last_error.clone(),
                last_error_at: time(self.last_error_at),
            },
            created_at: self.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            updated_at: self.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }

    /// What the sender needs, the secrets opened.
    pub fn target(&self, secrets: &SecretBox, hostname: &str) -> Result<Target, SecretError> {
        let settings = self.settings();
        let open = |sealed: &Option<String>| sealed.as_deref().map(|s| secrets.open(s)).transpose();
        Ok(Target {
            id: self.id,
            certs: Certificates { ca_pem: settings.ca_pem.clone(), client_cert_pem: settings.client_cert_pem.clone(), client_key_pem: open(&self.client_key)?.unwrap_or_default() },
            settings,
            secret: open(&self.secret)?,
            hostname: hostname.to_string(),
        })
    }
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<DestinationRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM destinations WHERE id = $1").bind(id).fetch_optional(db).await
}

pub async fn all(db: impl PgExecutor<'_>) -> Result<Vec<DestinationRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM destinations ORDER BY lower(name)").fetch_all(db).await
}

/// When the oldest event after `checkpoint` was received (None: nothing after it).
pub async fn behind_since(db: impl PgExecutor<'_>, checkpoint: i64) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT e.received_at FROM event_positions p
         CROSS JOIN LATERAL (SELECT received_at FROM events x WHERE x.occurred_at = p.occurred_at AND x.id = p.id LIMIT 1) e
         WHERE p.seq > $1 ORDER BY p.seq LIMIT 1",
    )
    .bind(checkpoint)
    .fetch_optional(db)
    .await
}

/// A row as the API shows it.
pub async fn view(pool: &PgPool, row: &DestinationRow, newest: i64) -> Result<Destination, sqlx::Error> {
    let since = if newest > row.checkpoint { behind_since(pool, row.checkpoint).await? } else { None };
    Ok(row.view(newest, since))
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "23505")
}

/// A URL as audit events show it: without a query or credentials (they may hold tokens).
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let hidden = u.query().is_some() || !u.username().is_empty() || u.password().is_some();
            u.set_query(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            format!("{u}{}", if hidden { " (query and credentials not shown)" } else { "" })
        }
        Err(_) => "(not a URL)".into(),
    }
}

/// A short description of where events go, for audit events.
fn target_text(s: &DestinationSettings) -> String {
    match s.kind {
        DestinationKind::Syslog => format!("{}:{} ({:?}, {:?})", s.host, s.port, s.transport, s.format).to_lowercase(),
        _ => shown_url(&s.url),
    }
}

pub async fn create(pool: &PgPool, secrets: &SecretBox, input: &DestinationInput, actor: Actor, origin: Origin) -> Result<CreatedDestination, SaveError> {
    let settings = check_destination(input, true).map_err(SaveError::Invalid)?;
    let made = (settings.kind == DestinationKind::Webhook && given(&input.secret).is_none()).then(crate::alerts::webhook::new_secret);
    let secret = given(&input.secret).map(str::to_string).or_else(|| made.clone());
    let sealed = secret.as_deref().map(|s| secrets.seal(s)).transpose()?;
    let key = given(&input.client_key_pem).map(|k| secrets.seal(k)).transpose()?;
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    // Starting "now": after the newest committed position (taken inside the transaction).
    let start: i64 = match input.start.unwrap_or_default() {
        StartFrom::Now => sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM event_positions").fetch_one(&mut *tx).await?,
        StartFrom::Beginning => 0,
    };
    let inserted = sqlx::query(
        "INSERT INTO destinations (id, name, kind, settings, filter, enabled, secret, client_key, checkpoint)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(&settings.name)
    .bind(kind_name(settings.kind))
    .bind(sqlx::types::Json(&settings))
    .bind(&settings.filter)
    .bind(settings.enabled)
    .bind(&sealed)
    .bind(&key)
    .bind(start)
    .execute(&mut *tx)
    .await;
    if let Err(e) = inserted {
        return Err(if unique_violation(&e) { SaveError::Duplicate } else { e.into() });
    }
    let entry = Entry::new("auditorium.destination.created", actor, origin)
        .on("destination", id, &settings.name)
        .note("kind", json!(kind_name(settings.kind)))
        .note("target", json!(target_text(&settings)))
        .note("filter", json!(settings.filter))
        .note("enabled", json!(settings.enabled))
        .note("start_position", json!(start));
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(CreatedDestination { id: id.to_string(), secret: made })
}

/// The settings fields an audit event compares, as JSON.
fn fields(s: &DestinationSettings) -> Vec<(&'static str, Value)> {
    vec![
        ("name", json!(s.name)),
        ("filter", json!(s.filter)),
        ("enabled", json!(s.enabled)),
        ("host", json!(s.host)),
        ("port", json!(s.port)),
        ("transport", json!(s.transport)),
        ("format", json!(s.format)),
        ("url", json!(shown_url(&s.url))),
        ("index", json!(s.index)),
        ("source", json!(s.source)),
        ("sourcetype", json!(s.sourcetype)),
        ("ca_pem", json!(s.ca_pem)),
        ("client_cert_pem", json!(s.client_cert_pem)),
    ]
}

pub async fn update(pool: &PgPool, secrets: &SecretBox, id: Uuid, input: &DestinationInput, actor: Actor, origin: Origin) -> Result<DestinationRow, SaveError> {
    let mut tx = pool.begin().await?;
    let before: DestinationRow = sqlx::query_as("SELECT * FROM destinations WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut *tx).await?.ok_or(SaveError::NotFound)?;
    // The kind cannot change: a destination's checkpoint belongs to its receiver.
    if input.settings.kind != before.settings.0.kind {
        return Err(SaveError::Invalid(vec![("kind".into(), "a destination's kind cannot change: add a new destination instead".into())]));
    }
    let settings = check_destination(input, false).map_err(SaveError::Invalid)?;
    let secret = given(&input.secret).map(|s| secrets.seal(s)).transpose()?;
    let key = given(&input.client_key_pem).map(|k| secrets.seal(k)).transpose()?;
    let updated = sqlx::query_as(
        "UPDATE destinations SET name = $2, settings = $3, filter = $4, enabled = $5,
             secret = coalesce($6, secret), client_key = CASE WHEN $8 THEN NULL ELSE coalesce($7, client_key) END,
             failing_since = CASE WHEN $5 THEN failing_since END, alarmed = alarmed AND $5, updated_at = now()
         WHERE id = $1 RETURNING *",
    )
    .bind(id)
    .bind(&settings.name)
    .bind(sqlx::types::Json(&settings))
    .bind(&settings.filter)
    .bind(settings.enabled)
    .bind(&secret)
    .bind(&key)
    .bind(settings.client_cert_pem.is_empty())
    .fetch_one(&mut *tx)
    .await;
    let after: DestinationRow = match updated {
        Ok(row) => row,
        Err(e) if unique_violation(&e) => return Err(SaveError::Duplicate),
        Err(e) => return Err(e.into()),
    };
    let mut entry = Entry::new("auditorium.destination.changed", actor, origin).on("destination", id, &settings.name).note("kind", json!(kind_name(settings.kind)));
    for ((field, was), (_, now)) in fields(&before.settings()).into_iter().zip(fields(&after.settings())) {
        if was != now {
            entry = entry.change(field, was, now);
        }
    }
    if secret.is_some() {
        entry = entry.change("secret", if before.secret.is_some() { json!("(set)") } else { Value::Null }, json!("(changed)"));
    }
    if key.is_some() {
        entry = entry.change("client_key_pem", if before.client_key.is_some() { json!("(set)") } else { Value::Null }, json!("(changed)"));
    }
    if !entry.changes.is_empty() {
        audit::record(&mut *tx, &entry).await?;
    }
    tx.commit().await?;
    Ok(after)
}

pub async fn delete(pool: &PgPool, id: Uuid, actor: Actor, origin: Origin) -> Result<(), SaveError> {
    let mut tx = pool.begin().await?;
    let row: DestinationRow = sqlx::query_as("DELETE FROM destinations WHERE id = $1 RETURNING *").bind(id).fetch_optional(&mut *tx).await?.ok_or(SaveError::NotFound)?;
    let entry = Entry::new("auditorium.destination.deleted", actor, origin)
        .on("destination", id, &row.name)
        .note("kind", json!(row.kind))
        .note("target", json!(target_text(&row.settings())))
        .note("checkpoint", json!(row.checkpoint))
        .note("delivered", json!(row.delivered));
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_events_show_urls_without_tokens_or_credentials() {
        assert_eq!(shown_url("https://hooks.example.com/in"), "https://hooks.example.com/in");
        let shown = shown_url("https://user:pw@hooks.example.com/in?token=s3cret");
        assert!(!shown.contains("s3cret") && !shown.contains("pw") && shown.starts_with("https://hooks.example.com/in"), "{shown}");
    }
}
