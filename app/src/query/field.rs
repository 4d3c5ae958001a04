//! The filterable fields of an event and what values each accepts.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::event::{ActorType, Event, Outcome};

/// A field a filter can test. `Context` is one label of the event's `context` map.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Field {
    Action,
    ActorId,
    ActorName,
    ActorEmail,
    ActorType,
    Source,
    Method,
    Status,
    Outcome,
    ResourceType,
    ResourceId,
    ResourceName,
    RequestId,
    Ip,
    Path,
    Context(String),
}

/// What kind of values a field holds; decides which operators and values make sense.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text: exact values and `prefix*` wildcards.
    Text,
    /// One of a known set of values.
    Enum,
    /// An HTTP status: codes and classes such as `5xx`.
    Status,
}

/// The longest context key accepted, at ingest and in URLs.
pub const MAX_CONTEXT_KEY_LEN: usize = 64;

impl Field {
    /// Every fixed field, in canonical (URL) order; context labels sort after these.
    pub const FIXED: [Field; 15] = [
        Field::Action,
        Field::ActorId,
        Field::ActorName,
        Field::ActorEmail,
        Field::ActorType,
        Field::Source,
        Field::Method,
        Field::Status,
        Field::Outcome,
        Field::ResourceType,
        Field::ResourceId,
        Field::ResourceName,
        Field::RequestId,
        Field::Ip,
        Field::Path,
    ];

    /// The name used in URLs and the API, e.g. `actor.email`, `context.cluster`.
    pub fn key(&self) -> String {
        match self {
            Field::Context(k) => format!("context.{k}"),
            other => other.fixed_key().to_string(),
        }
    }

    fn fixed_key(&self) -> &'static str {
        match self {
            Field::Action => "action",
            Field::ActorId => "actor.id",
            Field::ActorName => "actor.name",
            Field::ActorEmail => "actor.email",
            Field::ActorType => "actor.type",
            Field::Source => "source",
            Field::Method => "method",
            Field::Status => "status",
            Field::Outcome => "outcome",
            Field::ResourceType => "resource.type",
            Field::ResourceId => "resource.id",
            Field::ResourceName => "resource.name",
            Field::RequestId => "request_id",
            Field::Ip => "ip",
            Field::Path => "path",
            Field::Context(_) => "context",
        }
    }

    /// Parses a URL key. Errors say what is wrong, for the API's 400 and the page's notice.
    pub fn parse(key: &str) -> Result<Field, String> {
        if let Some(label) = key.strip_prefix("context.") {
            return if is_valid_context_key(label) {
                Ok(Field::Context(label.to_string()))
            } else {
                Err(format!(
                    "context key {label:?} is not valid: use 1-{MAX_CONTEXT_KEY_LEN} letters, digits, '_', '-' or '.'"
                ))
            };
        }
        Field::FIXED
            .into_iter()
            .find(|f| f.fixed_key() == key)
            .ok_or_else(|| "is not a known parameter (see docs/url-format.md)".to_string())
    }

    /// A human label for the filter builder.
    pub fn label(&self) -> String {
        match self {
            Field::Action => "Action".into(),
            Field::ActorId => "Actor ID".into(),
            Field::ActorName => "Actor".into(),
            Field::ActorEmail => "Actor email".into(),
            Field::ActorType => "Actor type".into(),
            Field::Source => "Source".into(),
            Field::Method => "Method".into(),
            Field::Status => "Status".into(),
            Field::Outcome => "Outcome".into(),
            Field::ResourceType => "Resource type".into(),
            Field::ResourceId => "Resource ID".into(),
            Field::ResourceName => "Resource".into(),
            Field::RequestId => "Request ID".into(),
            Field::Ip => "IP address".into(),
            Field::Path => "Path".into(),
            Field::Context(k) => k.clone(),
        }
    }

    pub fn kind(&self) -> FieldKind {
        match self {
            Field::ActorType | Field::Outcome | Field::Method => FieldKind::Enum,
            Field::Status => FieldKind::Status,
            _ => FieldKind::Text,
        }
    }

    /// Position in canonical order: fixed fields first, then context labels by key.
    pub(crate) fn rank(&self) -> usize {
        Field::FIXED.iter().position(|f| f == self).unwrap_or(Field::FIXED.len())
    }

    /// The event's value for this field, as text (status as its decimal code).
    pub fn value_of(&self, event: &Event) -> Option<String> {
        let text = |s: &Option<String>| s.clone();
        match self {
            Field::Action => Some(event.action.clone()),
            Field::ActorId => Some(event.actor.id.clone()),
            Field::ActorName => Some(event.actor.name.clone()),
            Field::ActorEmail => text(&event.actor.email),
            Field::ActorType => Some(event.actor.actor_type.as_str().to_string()),
            Field::Source => text(&event.source),
            Field::Method => text(&event.method),
            Field::Status => event.status.map(|s| s.to_string()),
            Field::Outcome => Some(event.outcome.as_str().to_string()),
            Field::ResourceType => event.resource.as_ref().map(|r| r.resource_type.clone()),
            Field::ResourceId => event.resource.as_ref().and_then(|r| r.id.clone()),
            Field::ResourceName => event.resource.as_ref().and_then(|r| r.name.clone()),
            Field::RequestId => text(&event.request_id),
            Field::Ip => text(&event.ip),
            Field::Path => text(&event.path),
            Field::Context(k) => event.context.get(k).cloned(),
        }
    }

    /// The closed set of values of an enum field, for the filter builder.
    pub fn known_values(&self) -> Vec<&'static str> {
        match self {
            Field::ActorType => ActorType::ALL.iter().map(|t| t.as_str()).collect(),
            Field::Outcome => vec![Outcome::Success.as_str(), Outcome::Failure.as_str()],
            Field::Method => vec!["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
            _ => vec![],
        }
    }
}

pub fn is_valid_context_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_CONTEXT_KEY_LEN
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl From<Field> for String {
    fn from(field: Field) -> String {
        field.key()
    }
}

impl TryFrom<String> for Field {
    type Error = String;
    fn try_from(key: String) -> Result<Field, String> {
        Field::parse(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for field in Field::FIXED.into_iter().chain([Field::Context("cluster".into())]) {
            assert_eq!(Field::parse(&field.key()), Ok(field));
        }
    }

    #[test]
    fn bad_keys_are_explained() {
        assert!(Field::parse("colour").unwrap_err().contains("not a known parameter"));
        assert!(Field::parse("context.").unwrap_err().contains("not valid"));
        assert!(Field::parse("context.a b").unwrap_err().contains("not valid"));
    }
}
