//! ArcSight Common Event Format (CEF) version 0, one event per line:
//!
//! `CEF:0|Auditorium|Auditorium|<version>|<action>|<action>|<severity>|<extension>`
//!
//! Header fields escape `\` and `|` with a backslash (line breaks, which the header cannot
//! hold, become spaces — the exact action is also in `act`). Extension values escape `\`,
//! `=`, LF (`\n`) and CR (`\r`). Standard keys where CEF has them, custom strings with labels
//! for the rest:
//!
//! | event field | CEF key |
//! |---|---|
//! | id | `externalId` |
//! | occurred_at, received_at | `rt`, `art` (milliseconds since the epoch) |
//! | action | `act` |
//! | actor.id, actor.name | `suid`, `suser` |
//! | actor.email, actor.type | `flexString1`, `flexString2` (labelled) |
//! | ip | `src` (IPv4) or `c6a2` (IPv6) |
//! | outcome | `outcome` |
//! | path, method, user_agent | `request`, `requestMethod`, `requestClientApplication` |
//! | status | `cn1` (label `status`) |
//! | error | `msg` |
//! | source | `sourceServiceName` |
//! | resource.type | `cat` |
//! | resource.id, resource.name, request_id | `cs1`, `cs2`, `cs3` (labelled) |
//! | context, changes, metadata | `cs4`, `cs5`, `cs6` (labelled, JSON) |
//!
//! Severity: 3 for a success, 6 for a failure.

use std::fmt::Write as _;

use app::event::{Event, Outcome};

use super::ExportError;

pub const VENDOR: &str = "Auditorium";
pub const PRODUCT: &str = "Auditorium";

/// Escapes a header field.
pub fn header_field(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an extension value.
pub fn extension_value(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// One event as a CEF line (without the line break).
pub fn line(event: &Event) -> String {
    let mut out = String::with_capacity(512);
    let severity = match event.outcome {
        Outcome::Success => 3,
        Outcome::Failure => 6,
    };
    let action = header_field(&event.action);
    let _ = write!(
        out,
        "CEF:0|{}|{}|{}|{action}|{action}|{severity}|",
        header_field(VENDOR),
        header_field(PRODUCT),
        header_field(env!("CARGO_PKG_VERSION"))
    );
    let mut ext = Extension { out: &mut out, first: true };
    ext.put("rt", &event.occurred_at.timestamp_millis().to_string());
    ext.put("art", &event.received_at.timestamp_millis().to_string());
    ext.put("externalId", &event.id.to_string());
    ext.put("act", &event.action);
    ext.put("suid", &event.actor.id);
    ext.put("suser", &event.actor.name);
    ext.labelled("flexString1", "actor.email", event.actor.email.as_deref());
    ext.labelled("flexString2", "actor.type", Some(event.actor.actor_type.as_str()));
    match event.ip.as_deref().map(|ip| (ip, ip.parse::<std::net::IpAddr>())) {
        Some((ip, Ok(std::net::IpAddr::V4(_)))) => ext.put("src", ip),
        Some((ip, _)) => ext.labelled("c6a2", "ip", Some(ip)),
        None => {}
    }
    ext.put("outcome", event.outcome.as_str());
    ext.opt("request", event.path.as_deref());
    ext.opt("requestMethod", event.method.as_deref());
    ext.opt("requestClientApplication", event.user_agent.as_deref());
    ext.labelled("cn1", "status", event.status.map(|s| s.to_string()).as_deref());
    ext.opt("msg", event.error.as_deref());
    ext.opt("sourceServiceName", event.source.as_deref());
    if let Some(resource) = &event.resource {
        ext.put("cat", &resource.resource_type);
        ext.labelled("cs1", "resource.id", resource.id.as_deref());
        ext.labelled("cs2", "resource.name", resource.name.as_deref());
    }
    ext.labelled("cs3", "request_id", event.request_id.as_deref());
    if !event.context.is_empty() {
        ext.labelled("cs4", "context", Some(&serde_json::to_string(&event.context).unwrap_or_default()));
    }
    if !event.changes.is_empty() {
        ext.labelled("cs5", "changes", Some(&serde_json::to_string(&event.changes).unwrap_or_default()));
    }
    if let Some(metadata) = &event.metadata {
        ext.labelled("cs6", "metadata", Some(&metadata.to_string()));
    }
    out
}

struct Extension<'a> {
    out: &'a mut String,
    first: bool,
}

impl Extension<'_> {
    fn put(&mut self, key: &str, value: &str) {
        if !self.first {
            self.out.push(' ');
        }
        self.first = false;
        self.out.push_str(key);
        self.out.push('=');
        extension_value(value, self.out);
    }

    fn opt(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.put(key, v);
        }
    }

    fn labelled(&mut self, key: &str, label: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.put(key, v);
            self.put(&format!("{key}Label"), label);
        }
    }
}

/// One CEF record (see [`line`]) for the export's line encoder.
pub fn write_line(event: &Event, out: &mut Vec<u8>) -> Result<(), ExportError> {
    out.extend_from_slice(line(event).as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::event::{Actor, ActorType, Resource};
    use chrono::DateTime;

    fn event() -> Event {
        Event {
            id: uuid::Uuid::from_u128(9),
            occurred_at: DateTime::from_timestamp_millis(1_764_000_000_123).expect("t"),
            received_at: DateTime::from_timestamp_millis(1_764_000_000_500).expect("t"),
            action: "repo|delete\\x".into(),
            actor: Actor { id: "u=1".into(), name: "Ada\nLovelace".into(), email: Some("ada@example.com".into()), actor_type: ActorType::User },
            method: Some("DELETE".into()),
            status: Some(403),
            path: Some("/repos/a=b".into()),
            error: Some("denied\r\n".into()),
            resource: Some(Resource { resource_type: "repo".into(), id: Some("r1".into()), name: None }),
            ip: Some("2001:db8::1".into()),
            ..crate::test_support::sample_event()
        }
    }

    #[test]
    fn header_escapes_pipes_and_backslashes() {
        let line = line(&event());
        assert!(line.starts_with(&format!("CEF:0|Auditorium|Auditorium|{}|repo\\|delete\\\\x|repo\\|delete\\\\x|6|", env!("CARGO_PKG_VERSION"))), "{line}");
    }

    #[test]
    fn extension_escapes_equals_backslashes_and_line_breaks() {
        let line = line(&event());
        assert!(line.contains(" suid=u\\=1 "), "{line}");
        assert!(line.contains(" suser=Ada\\nLovelace "), "{line}");
        assert!(line.contains(" act=repo|delete\\\\x "), "{line}");
        assert!(line.contains(" msg=denied\\r\\n "), "{line}");
        assert!(line.contains("rt=1764000000123 art=1764000000500 externalId=00000000-0000-0000-0000-000000000009"), "{line}");
        assert!(line.contains(" c6a2=2001:db8::1 c6a2Label=ip "), "{line}");
        assert!(line.contains(" cn1=403 cn1Label=status "), "{line}");
        assert!(line.contains(" cat=repo cs1=r1 cs1Label=resource.id"), "{line}");
        assert!(!line.contains('\n') && !line.contains('\r'));
    }
}
