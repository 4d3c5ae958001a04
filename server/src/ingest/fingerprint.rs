//! The content hash that makes retries idempotent: same id + same content = duplicate,
//! same id + other content = conflict.
//!
//! It hashes the event's *meaning*, not its bytes: the validated event in canonical form, so
//! a retry that spells the same event differently (`"source": null` or absent, `context: {}`,
//! another offset for `occurred_at`, `2001:DB8::1` for `2001:db8::1`, an `outcome` equal to the
//! one derived from `status`, keys in another order) is still a duplicate. Two things are left
//! out because the server fills them in: `received_at`, and `occurred_at` when it was not sent
//! (a retry that leaves the time to the server is the same event).

use app::event::Event;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Version tag of the canonical form, hashed first: changing the form changes every hash.
const CANONICAL_FORM: &str = "auditorium.event.v2";

/// The fingerprint of a validated event; `occurred_at_sent` says whether the sender gave the time.
pub fn fingerprint(event: &Event, occurred_at_sent: bool) -> Vec<u8> {
    let mut value = serde_json::to_value(event).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.remove("received_at");
        if !occurred_at_sent {
            map.remove("occurred_at");
        }
    }
    let mut canonical = String::from(CANONICAL_FORM);
    write_canonical(&value, &mut canonical);
    Sha256::digest(canonical.as_bytes())[..16].to_vec()
}

/// JSON with object keys sorted at every level, no whitespace.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::validate::validate_event;
    use chrono::{DateTime, Utc};
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    /// The fingerprint of `sent` as ingest computes it, received at `received`.
    fn of(sent: Value, received: &str) -> Vec<u8> {
        let event = validate_event(0, &sent, at(received)).expect("valid");
        fingerprint(&event, sent.get("occurred_at").is_some_and(|v| !v.is_null()))
    }

    fn base() -> Value {
        json!({"id": "0192e4a0-7b1c-7cde-8f00-1234567890ab", "action": "a.b", "status": 200,
               "occurred_at": "2026-11-20T10:00:00Z", "ip": "2001:db8::1",
               "actor": {"id": "u", "name": "U", "type": "user"}, "metadata": {"b": 1, "a": [1, 2]}})
    }

    #[test]
    fn the_same_event_spelled_differently_is_the_same() {
        let reference = of(base(), "2026-11-20T10:00:01Z");
        let spellings = [
            json!({"source": null}),
            json!({"context": {}}),
            json!({"occurred_at": "2026-11-20T11:00:00.000+01:00"}),
            json!({"occurred_at": "2026-11-20T10:00:00.000000Z"}),
            json!({"ip": "2001:DB8:0::1"}),
            json!({"outcome": "success"}),
            json!({"metadata": {"a": [1, 2], "b": 1}}),
            json!({"resource": null, "changes": null, "changes_absent": true}),
        ];
        for spelling in spellings {
            let mut sent = base();
            for (k, v) in spelling.as_object().expect("object") {
                if k != "changes_absent" {
                    sent[k] = v.clone();
                }
            }
            assert_eq!(of(sent.clone(), "2026-11-20T10:00:01Z"), reference, "{sent}");
        }
        // The receiving time is not part of the event.
        assert_eq!(of(base(), "2026-11-20T10:05:00Z"), reference);
    }

    #[test]
    fn content_matters() {
        let reference = of(base(), "2026-11-20T10:00:01Z");
        for (key, value) in [
            ("status", json!(500)),
            ("occurred_at", json!("2026-11-20T10:00:00.001Z")),
            ("metadata", json!({"b": 1, "a": [2, 1]})),
            ("metadata", json!({"b": "1", "a": [1, 2]})),
            ("outcome", json!("failure")),
            ("source", json!("cli")),
        ] {
            let mut sent = base();
            sent[key] = value;
            assert_ne!(of(sent.clone(), "2026-11-20T10:00:01Z"), reference, "{sent}");
        }
    }

    #[test]
    fn a_time_left_to_the_server_is_not_part_of_the_content() {
        let mut sent = base();
        sent.as_object_mut().expect("object").remove("occurred_at");
        assert_eq!(of(sent.clone(), "2026-11-20T10:00:01Z"), of(sent, "2026-11-20T10:09:00Z"));
    }
}
