//! The content hash that makes retries idempotent: same id + same content = duplicate,
//! same id + other content = conflict. It hashes the event as sent (keys sorted), so a retry
//! that leaves `occurred_at` to the server still counts as the same event.

use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn fingerprint(sent: &Value) -> Vec<u8> {
    let mut canonical = String::new();
    write_canonical(sent, &mut canonical);
    Sha256::digest(canonical.as_bytes())[..16].to_vec()
}

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
    use serde_json::json;

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": null}}"#).expect("json");
        let b: Value = serde_json::from_str(r#"{"a":{"x":null,"y":[1,2]},"b":1}"#).expect("json");
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn content_matters() {
        assert_ne!(fingerprint(&json!({"a": [1, 2]})), fingerprint(&json!({"a": [2, 1]})));
        assert_ne!(fingerprint(&json!({"a": "1"})), fingerprint(&json!({"a": 1})));
    }
}
