//! The stored audit event, as the API returns it and the browser shows it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorType {
    User,
    ApiToken,
    System,
    Service,
}

impl ActorType {
    pub const ALL: [ActorType; 4] = [Self::User, Self::ApiToken, Self::System, Self::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ApiToken => "api_token",
            Self::System => "system",
            Self::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }

    /// The outcome implied by an HTTP status when the sender gave none.
    pub fn from_status(status: Option<u16>) -> Self {
        match status {
            Some(s) if s >= 400 => Self::Failure,
            _ => Self::Success,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "type")]
    pub actor_type: ActorType,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One field-level change of an update: `before` absent means the field was added,
/// `after` absent means it was removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    #[serde(with = "crate::api::rfc3339")]
    pub occurred_at: DateTime<Utc>,
    #[serde(with = "crate::api::rfc3339")]
    pub received_at: DateTime<Utc>,
    pub action: String,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// Separates fields in [`search_text`], so a search term never matches across two fields
/// unless it contains this character itself.
pub const SEARCH_SEPARATOR: char = '\n';

/// The lower-cased text that free-text search looks in: action, actor id/name/email, resource
/// type/id/name, path, request id, context values, ip and error message.
///
/// Stored with every event (`events.search_text`) and used by the Rust predicate, so the
/// database and the live tail agree on what a search matches.
pub fn search_text(event: &Event) -> String {
    let mut parts: Vec<&str> = vec![&event.action, &event.actor.id, &event.actor.name];
    parts.extend(event.actor.email.as_deref());
    if let Some(resource) = &event.resource {
        parts.push(&resource.resource_type);
        parts.extend(resource.id.as_deref());
        parts.extend(resource.name.as_deref());
    }
    parts.extend(event.path.as_deref());
    parts.extend(event.request_id.as_deref());
    parts.extend(event.context.values().map(String::as_str));
    parts.extend(event.ip.as_deref());
    parts.extend(event.error.as_deref());
    let mut text = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            text.push(SEARCH_SEPARATOR);
        }
        text.push_str(&part.to_lowercase());
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample_event() -> Event {
        Event {
            id: Uuid::nil(),
            occurred_at: DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z")
                .expect("valid")
                .with_timezone(&Utc),
            received_at: DateTime::parse_from_rfc3339("2026-11-20T10:00:01Z")
                .expect("valid")
                .with_timezone(&Utc),
            action: "project.updated".into(),
            actor: Actor {
                id: "u_42".into(),
                name: "Ada Lovelace".into(),
                email: Some("ada@example.com".into()),
                actor_type: ActorType::User,
            },
            source: Some("dashboard".into()),
            method: Some("PATCH".into()),
            status: Some(200),
            path: Some("/api/projects/p_1".into()),
            outcome: Outcome::Success,
            error: None,
            resource: Some(Resource {
                resource_type: "project".into(),
                id: Some("p_1".into()),
                name: Some("Billing".into()),
            }),
            context: BTreeMap::from([("cluster".into(), "prod-EU".into())]),
            request_id: Some("req_1".into()),
            ip: Some("10.0.0.1".into()),
            user_agent: Some("curl/8".into()),
            changes: vec![],
            metadata: None,
        }
    }

    #[test]
    fn search_text_covers_the_documented_fields_in_lower_case() {
        let text = search_text(&sample_event());
        for needle in ["project.updated", "ada lovelace", "ada@example.com", "billing", "p_1", "prod-eu", "req_1", "10.0.0.1"] {
            assert!(text.contains(needle), "{needle} missing from {text:?}");
        }
        assert!(!text.contains("curl"), "user agent is not searchable");
    }

    #[test]
    fn outcome_follows_status_when_absent() {
        assert_eq!(Outcome::from_status(Some(503)), Outcome::Failure);
        assert_eq!(Outcome::from_status(Some(404)), Outcome::Failure);
        assert_eq!(Outcome::from_status(Some(201)), Outcome::Success);
        assert_eq!(Outcome::from_status(None), Outcome::Success);
    }
}
