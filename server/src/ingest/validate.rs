//! Turning one submitted JSON object into a valid event, or into every reason it is not.
//! The limits here are documented in docs/events.md.

use std::collections::BTreeMap;

use app::api::ErrorDetail;
use app::event::{Actor, ActorType, Change, Event, Outcome, Resource};
use app::query::field::{is_valid_context_key, MAX_CONTEXT_KEY_LEN};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

pub const MAX_ACTION_LEN: usize = 128;
pub const MAX_ID_LEN: usize = 256;
pub const MAX_NAME_LEN: usize = 512;
pub const MAX_EMAIL_LEN: usize = 320;
pub const MAX_SOURCE_LEN: usize = 64;
pub const MAX_PATH_LEN: usize = 2048;
pub const MAX_ERROR_LEN: usize = 4096;
pub const MAX_RESOURCE_TYPE_LEN: usize = 64;
pub const MAX_REQUEST_ID_LEN: usize = 128;
pub const MAX_USER_AGENT_LEN: usize = 1024;
pub const MAX_CONTEXT_LABELS: usize = 16;
pub const MAX_CONTEXT_VALUE_LEN: usize = 256;
pub const MAX_CHANGES: usize = 100;
pub const MAX_CHANGES_BYTES: usize = 64 * 1024;
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Events may not claim to have happened further in the future than this (clock skew).
pub const MAX_FUTURE_SKEW_MINUTES: i64 = 60;

const KNOWN_FIELDS: [&str; 19] = [
    "id", "occurred_at", "action", "actor", "source", "method", "status", "path", "outcome", "error",
    "resource", "context", "request_id", "ip", "user_agent", "changes", "metadata", "received_at", "$schema",
];

/// The earliest accepted `occurred_at`.
pub fn earliest_occurred_at() -> DateTime<Utc> {
    DateTime::from_timestamp(946_684_800, 0).unwrap_or_default() // 2000-01-01T00:00:00Z
}

/// Validates item `index` of a request received at `received_at`.
pub fn validate_event(index: usize, value: &Value, received_at: DateTime<Utc>) -> Result<Event, Vec<ErrorDetail>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![detail(index, None, "must be a JSON object")]);
    };
    let mut v = Checker { index, errors: Vec::new() };
    for key in obj.keys() {
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            v.error(key, "is not a field of an event (see docs/events.md)");
        } else if key == "received_at" {
            v.error(key, "is set by the server and cannot be sent");
        }
    }
    let id = match obj.get("id") {
        None | Some(Value::Null) => Uuid::now_v7(),
        Some(Value::String(s)) => match Uuid::parse_str(s) {
            Ok(id) if !id.is_nil() => id,
            _ => v.fail("id", "must be a UUID such as 0192e4a0-7b1c-7cde-8f00-1234567890ab", Uuid::nil()),
        },
        Some(_) => v.fail("id", "must be a UUID string", Uuid::nil()),
    };
    let occurred_at = v.occurred_at(obj.get("occurred_at"), received_at);
    let action = v.action(obj.get("action"));
    let actor = v.actor(obj.get("actor"));
    let source = v.text(obj, "source", MAX_SOURCE_LEN);
    let method = v.method(obj.get("method"));
    let status = v.status(obj.get("status"));
    let path = v.text(obj, "path", MAX_PATH_LEN);
    let outcome = match obj.get("outcome") {
        None | Some(Value::Null) => Outcome::from_status(status),
        Some(Value::String(s)) => Outcome::parse(s).unwrap_or_else(|| v.fail("outcome", "must be \"success\" or \"failure\"", Outcome::Success)),
        Some(_) => v.fail("outcome", "must be \"success\" or \"failure\"", Outcome::Success),
    };
    let error = v.text(obj, "error", MAX_ERROR_LEN);
    let resource = v.resource(obj.get("resource"));
    let context = v.context(obj.get("context"));
    let request_id = v.text(obj, "request_id", MAX_REQUEST_ID_LEN);
    let ip = v.ip(obj.get("ip"));
    let user_agent = v.text(obj, "user_agent", MAX_USER_AGENT_LEN);
    let changes = v.changes(obj.get("changes"));
    let metadata = v.metadata(obj.get("metadata"));

    if !v.errors.is_empty() {
        return Err(v.errors);
    }
    Ok(Event {
        id,
        occurred_at,
        received_at,
        action: action.unwrap_or_default(),
        actor: actor.unwrap_or_else(|| Actor { id: String::new(), name: String::new(), email: None, actor_type: ActorType::User }),
        source,
        method,
        status,
        path,
        outcome,
        error,
        resource,
        context,
        request_id,
        ip,
        user_agent,
        changes,
        metadata,
    })
}

fn detail(index: usize, field: Option<&str>, message: &str) -> ErrorDetail {
    ErrorDetail { index: Some(index), field: field.map(str::to_string), message: message.to_string() }
}

struct Checker {
    index: usize,
    errors: Vec<ErrorDetail>,
}

impl Checker {
    fn error(&mut self, field: &str, message: &str) {
        self.errors.push(detail(self.index, Some(field), message));
    }

    fn fail<T>(&mut self, field: &str, message: &str, placeholder: T) -> T {
        self.error(field, message);
        placeholder
    }

    /// A string of 1..=max characters with no NUL; `None` when absent or invalid.
    fn string(&mut self, field: &str, value: Option<&Value>, required: bool, max: usize) -> Option<String> {
        match value {
            None | Some(Value::Null) if required => self.fail(field, "is required", None),
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => self.fail(field, "must not be empty (omit it instead)", None),
            Some(Value::String(s)) if s.chars().count() > max => self.fail(field, &format!("is longer than {max} characters"), None),
            Some(Value::String(s)) if s.contains('\0') => self.fail(field, "must not contain NUL characters", None),
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => self.fail(field, "must be a string", None),
        }
    }

    fn text(&mut self, obj: &Map<String, Value>, field: &str, max: usize) -> Option<String> {
        self.string(field, obj.get(field), false, max)
    }

    fn occurred_at(&mut self, value: Option<&Value>, received_at: DateTime<Utc>) -> DateTime<Utc> {
        let text = match value {
            None | Some(Value::Null) => return received_at,
            Some(Value::String(s)) => s,
            Some(_) => return self.fail("occurred_at", "must be an RFC 3339 time string", received_at),
        };
        let Ok(t) = DateTime::parse_from_rfc3339(text) else {
            return self.fail("occurred_at", "must be an RFC 3339 time such as 2026-11-20T10:00:00Z", received_at);
        };
        // chrono represents a leap second (23:59:60) as 23:59:59 plus more than a second of
        // nanoseconds; PostgreSQL would read it as the next day.
        if t.timestamp_subsec_nanos() >= 1_000_000_000 {
            return self.fail("occurred_at", "is a leap second (:60), which cannot be stored: use 23:59:59.999999", received_at);
        }
        let t = t.with_timezone(&Utc).trunc_subsecs(6);
        if t < earliest_occurred_at() {
            return self.fail("occurred_at", "is before 2000-01-01", received_at);
        }
        if t > received_at + Duration::minutes(MAX_FUTURE_SKEW_MINUTES) {
            return self.fail("occurred_at", &format!("is more than {MAX_FUTURE_SKEW_MINUTES} minutes in the future"), received_at);
        }
        t
    }

    fn action(&mut self, value: Option<&Value>) -> Option<String> {
        let action = self.string("action", value, true, MAX_ACTION_LEN)?;
        let valid = action.split('.').all(|segment| {
            segment.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && segment.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        });
        if valid {
            Some(action)
        } else {
            self.fail("action", "must be dotted lower-case words such as project.created", None)
        }
    }

    fn actor(&mut self, value: Option<&Value>) -> Option<Actor> {
        let obj = match value {
            Some(Value::Object(obj)) => obj,
            None | Some(Value::Null) => return self.fail("actor", "is required", None),
            Some(_) => return self.fail("actor", "must be an object with id, name and type", None),
        };
        for key in obj.keys().filter(|k| !["id", "name", "email", "type"].contains(&k.as_str())) {
            self.error(&format!("actor.{key}"), "is not a field of an actor (id, name, email, type)");
        }
        let id = self.string("actor.id", obj.get("id"), true, MAX_ID_LEN);
        let name = self.string("actor.name", obj.get("name"), true, MAX_NAME_LEN);
        let email = self.string("actor.email", obj.get("email"), false, MAX_EMAIL_LEN);
        if email.as_deref().is_some_and(|e| !e.contains('@')) {
            self.error("actor.email", "must be an email address");
        }
        let actor_type = match obj.get("type") {
            Some(Value::String(s)) => ActorType::parse(s),
            None | Some(Value::Null) => return self.fail("actor.type", "is required", None),
            Some(_) => None,
        };
        if actor_type.is_none() {
            self.error("actor.type", "must be one of user, api_token, system, service");
        }
        Some(Actor { id: id?, name: name?, email, actor_type: actor_type? })
    }

    fn method(&mut self, value: Option<&Value>) -> Option<String> {
        let method = self.string("method", value, false, 16)?;
        if method.chars().all(|c| c.is_ascii_uppercase()) {
            Some(method)
        } else {
            self.fail("method", "must be an HTTP method in upper case, such as POST", None)
        }
    }

    fn status(&mut self, value: Option<&Value>) -> Option<u16> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(code @ 100..=599) => u16::try_from(code).ok(),
                _ => self.fail("status", "must be an HTTP status code from 100 to 599", None),
            },
            Some(_) => self.fail("status", "must be a number", None),
        }
    }

    fn resource(&mut self, value: Option<&Value>) -> Option<Resource> {
        let obj = match value {
            None | Some(Value::Null) => return None,
            Some(Value::Object(obj)) => obj,
            Some(_) => return self.fail("resource", "must be an object with type, id and name", None),
        };
        for key in obj.keys().filter(|k| !["type", "id", "name"].contains(&k.as_str())) {
            self.error(&format!("resource.{key}"), "is not a field of a resource (type, id, name)");
        }
        let resource_type = self.string("resource.type", obj.get("type"), true, MAX_RESOURCE_TYPE_LEN);
        let id = self.string("resource.id", obj.get("id"), false, MAX_ID_LEN);
        let name = self.string("resource.name", obj.get("name"), false, MAX_NAME_LEN);
        Some(Resource { resource_type: resource_type?, id, name })
    }

    fn context(&mut self, value: Option<&Value>) -> BTreeMap<String, String> {
        let obj = match value {
            None | Some(Value::Null) => return BTreeMap::new(),
            Some(Value::Object(obj)) => obj,
            Some(_) => return self.fail("context", "must be an object of string labels", BTreeMap::new()),
        };
        if obj.len() > MAX_CONTEXT_LABELS {
            self.error("context", &format!("has more than {MAX_CONTEXT_LABELS} labels"));
        }
        let mut labels = BTreeMap::new();
        for (key, value) in obj {
            let field = format!("context.{key}");
            if !is_valid_context_key(key) {
                self.error(&field, &format!("key must be 1-{MAX_CONTEXT_KEY_LEN} letters, digits, '_', '-' or '.'"));
                continue;
            }
            if let Some(text) = self.string(&field, Some(value), true, MAX_CONTEXT_VALUE_LEN) {
                labels.insert(key.clone(), text);
            }
        }
        labels
    }

    fn ip(&mut self, value: Option<&Value>) -> Option<String> {
        let text = self.string("ip", value, false, 64)?;
        match text.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(ip.to_string()),
            Err(_) => self.fail("ip", "must be an IPv4 or IPv6 address", None),
        }
    }

    fn changes(&mut self, value: Option<&Value>) -> Vec<Change> {
        let items = match value {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => return self.fail("changes", "must be an array of {field, before, after}", Vec::new()),
        };
        if items.len() > MAX_CHANGES {
            return self.fail("changes", &format!("has more than {MAX_CHANGES} entries"), Vec::new());
        }
        if value.map(|v| v.to_string().len()).unwrap_or(0) > MAX_CHANGES_BYTES {
            return self.fail("changes", &format!("is larger than {} KiB", MAX_CHANGES_BYTES / 1024), Vec::new());
        }
        let mut changes = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("changes[{i}]");
            let Some(obj) = item.as_object() else {
                self.error(&path, "must be an object {field, before, after}");
                continue;
            };
            for key in obj.keys().filter(|k| !["field", "before", "after"].contains(&k.as_str())) {
                self.error(&format!("{path}.{key}"), "is not part of a change (field, before, after)");
            }
            for side in ["before", "after"] {
                if obj.get(side).is_some_and(contains_nul) {
                    self.error(&format!("{path}.{side}"), "must not contain NUL characters (in values or keys)");
                }
            }
            if let Some(field) = self.string(&format!("{path}.field"), obj.get("field"), true, MAX_ID_LEN) {
                changes.push(Change { field, before: obj.get("before").cloned(), after: obj.get("after").cloned() });
            }
        }
        changes
    }

    fn metadata(&mut self, value: Option<&Value>) -> Option<Value> {
        match value {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) if v.to_string().len() > MAX_METADATA_BYTES => {
                self.fail("metadata", &format!("is larger than {} KiB", MAX_METADATA_BYTES / 1024), None)
            }
            Some(v @ Value::Object(_)) if contains_nul(v) => self.fail("metadata", "must not contain NUL characters (in values or keys)", None),
            // An empty object says nothing: the same as no metadata.
            Some(Value::Object(map)) if map.is_empty() => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => self.fail("metadata", "must be a JSON object", None),
        }
    }
}

/// Whether a NUL character appears in any string or object key of `value` (PostgreSQL's
/// `jsonb` cannot store it).
fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z").expect("valid").with_timezone(&Utc)
    }

    fn minimal() -> Value {
        json!({"action": "user.login", "actor": {"id": "u1", "name": "Ada", "type": "user"}})
    }

    fn fields_of(errors: Vec<ErrorDetail>) -> Vec<String> {
        errors.into_iter().map(|e| e.field.unwrap_or_default()).collect()
    }

    #[test]
    fn a_minimal_event_gets_defaults() {
        let event = validate_event(0, &minimal(), now()).expect("valid");
        assert_eq!(event.occurred_at, now());
        assert_eq!(event.outcome, Outcome::Success);
        assert_eq!(event.id.get_version_num(), 7, "server ids are time-ordered");
    }

    #[test]
    fn outcome_derives_from_status() {
        let mut e = minimal();
        e["status"] = json!(503);
        assert_eq!(validate_event(0, &e, now()).expect("valid").outcome, Outcome::Failure);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let bad = json!({
            "id": "nope", "action": "Project Created", "actor": {"id": "", "type": "robot", "colour": 1},
            "status": 42, "ip": "999.1.1.1", "context": {"bad key": "x", "ok": 5},
            "changes": [{"field": "a", "before": 1, "after": 2}, {"before": 1}], "metadata": [1], "extra": true,
            "occurred_at": "2026-11-21T12:00:00Z"
        });
        let fields = fields_of(validate_event(3, &bad, now()).expect_err("invalid"));
        for expected in [
            "extra", "id", "occurred_at", "action", "actor.colour", "actor.id", "actor.name", "actor.type", "status",
            "context.bad key", "context.ok", "ip", "changes[1].field", "metadata",
        ] {
            assert!(fields.contains(&expected.to_string()), "{expected} not in {fields:?}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let mut e = minimal();
        e["action"] = json!("a".repeat(MAX_ACTION_LEN + 1));
        e["context"] = json!((0..=MAX_CONTEXT_LABELS).map(|i| (format!("k{i}"), json!("v"))).collect::<Map<_, _>>());
        e["metadata"] = json!({"blob": "x".repeat(MAX_METADATA_BYTES)});
        let fields = fields_of(validate_event(0, &e, now()).expect_err("invalid"));
        assert_eq!(fields, vec!["action", "context", "metadata"]);
    }

    #[test]
    fn non_objects_and_nul_are_refused() {
        assert!(validate_event(0, &json!([1]), now()).is_err());
        let mut e = minimal();
        e["path"] = json!("/a\u{0}b");
        assert_eq!(fields_of(validate_event(0, &e, now()).expect_err("invalid")), vec!["path"]);
    }

    #[test]
    fn nul_anywhere_in_changes_or_metadata_is_refused_for_that_field() {
        let mut e = minimal();
        e["changes"] = json!([{"field": "a", "after": "x\u{0}y"}, {"field": "b", "before": {"k\u{0}": 1}}]);
        e["metadata"] = json!({"deep": [{"x": "\u{0}"}]});
        assert_eq!(
            fields_of(validate_event(0, &e, now()).expect_err("invalid")),
            vec!["changes[0].after", "changes[1].before", "metadata"]
        );
        // A backslash followed by "u0000" is just text.
        let mut e = minimal();
        e["metadata"] = json!({"text": "\\u0000"});
        assert!(validate_event(0, &e, now()).is_ok());
    }

    #[test]
    fn a_leap_second_is_refused_clearly() {
        let mut e = minimal();
        e["occurred_at"] = json!("2016-12-31T23:59:60Z");
        assert_eq!(fields_of(validate_event(0, &e, now()).expect_err("invalid")), vec!["occurred_at"]);
    }

    #[test]
    fn empty_metadata_is_no_metadata() {
        let mut e = minimal();
        e["metadata"] = json!({});
        assert_eq!(validate_event(0, &e, now()).expect("valid").metadata, None);
    }

    #[test]
    fn ips_are_normalised_and_times_keep_microseconds() {
        let mut e = minimal();
        e["ip"] = json!("2001:DB8::1");
        e["occurred_at"] = json!("2026-11-20T10:00:00.1234567+01:00");
        let event = validate_event(0, &e, now()).expect("valid");
        assert_eq!(event.ip.as_deref(), Some("2001:db8::1"));
        assert_eq!(event.occurred_at.to_rfc3339(), "2026-11-20T09:00:00.123456+00:00");
    }
}
