//! What a destination receives, as plain functions: RFC 5424 syslog messages (CEF or JSON
//! body) with their RFC 5425 / RFC 6587 octet-counting frame, Splunk HEC envelopes, and the
//! webhook's NDJSON body.

use std::fmt::Write as _;

use app::destinations::SyslogFormat;
use app::event::{Event, Outcome};
use serde_json::Value;

/// RFC 5424 facility 13: "log audit".
pub const FACILITY: u8 = 13;
/// The largest UDP datagram sent (a message beyond it is cut at a character boundary).
pub const UDP_MAX: usize = 65_000;

/// Severity: warning (4) for a failure, informational (6) otherwise.
pub fn severity(event: &Event) -> u8 {
    match event.outcome {
        Outcome::Failure => 4,
        Outcome::Success => 6,
    }
}

/// RFC 5424 header fields are printable US-ASCII without spaces, of a bounded length; "-"
/// when nothing is left.
fn header_token(text: &str, max: usize) -> String {
    let cleaned: String = text.chars().filter(|c| c.is_ascii_graphic()).take(max).collect();
    if cleaned.is_empty() {
        "-".into()
    } else {
        cleaned
    }
}

/// One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME auditorium - MSGID - MSG`, the MSGID being
/// the event's action and MSG the CEF line or the event's JSON (no line breaks in either).
pub fn syslog_message(event: &Event, hostname: &str, format: SyslogFormat) -> String {
    let mut out = String::with_capacity(640);
    let pri = FACILITY * 8 + severity(event);
    let _ = write!(
        out,
        "<{pri}>1 {} {} auditorium - {} - ",
        event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        header_token(hostname, 255),
        header_token(&event.action, 32),
    );
    match format {
        SyslogFormat::Cef => out.push_str(&crate::export::cef::line(event)),
        SyslogFormat::Json => out.push_str(&serde_json::to_string(event).unwrap_or_else(|_| "{}".into())),
    }
    out
}

/// Octet-counting framing (RFC 5425 for TLS, RFC 6587 for plain TCP): `LEN SP MSG`.
pub fn frame(message: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(message.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(message.as_bytes());
}

/// A message cut to fit a datagram, at a character boundary.
pub fn datagram(message: &str) -> &str {
    if message.len() <= UDP_MAX {
        return message;
    }
    let mut end = UDP_MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

/// The HEC envelope fields set by the destination (empty ones are left to Splunk).
#[derive(Clone, Debug, Default)]
pub struct HecFields {
    pub index: String,
    pub source: String,
    pub sourcetype: String,
}

/// One HEC envelope (`/services/collector/event`): `time` (seconds, milliseconds as
/// decimals), `host` (the event's source, else "auditorium"), `source`, `sourcetype`,
/// `index` and the event.
pub fn hec_envelope(event: &Event, fields: &HecFields, out: &mut String) {
    // Written directly (not through a serde_json::Value): this runs for every event sent.
    let _ = write!(out, "{{\"time\":{:.3},\"host\":", event.occurred_at.timestamp_millis() as f64 / 1000.0);
    out.push_str(&Value::from(event.source.as_deref().unwrap_or("auditorium")).to_string());
    for (key, value) in [("source", &fields.source), ("sourcetype", &fields.sourcetype), ("index", &fields.index)] {
        if !value.is_empty() {
            let _ = write!(out, ",\"{key}\":{}", Value::from(value.as_str()));
        }
    }
    out.push_str(",\"event\":");
    out.push_str(&serde_json::to_string(event).unwrap_or_else(|_| "{}".into()));
    out.push('}');
}

/// Events as NDJSON: one JSON object per line.
pub fn ndjson(events: &[&Event]) -> String {
    let mut out = String::with_capacity(events.len() * 600);
    for event in events {
        out.push_str(&serde_json::to_string(event).unwrap_or_else(|_| "{}".into()));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::event::{Actor, ActorType};
    use chrono::DateTime;
    use serde_json::json;

    fn event(action: &str, outcome: Outcome) -> Event {
        Event {
            occurred_at: DateTime::parse_from_rfc3339("2026-12-04T10:11:12.345Z").expect("time").into(),
            action: action.into(),
            actor: Actor { id: "u1".into(), name: "Ada | \"admin\"".into(), email: None, actor_type: ActorType::User },
            source: Some("billing".into()),
            outcome,
            ..crate::test_support::sample_event()
        }
    }

    #[test]
    fn a_syslog_message_has_the_rfc_5424_header_and_the_cef_body() {
        let message = syslog_message(&event("user.login", Outcome::Failure), "aud-1", SyslogFormat::Cef);
        assert!(message.starts_with("<108>1 2026-12-04T10:11:12.345Z aud-1 auditorium - user.login - CEF:0|Auditorium|"), "{message}");
        assert!(message.contains("suser=Ada | \"admin\""), "{message}");
        let ok = syslog_message(&event("user.login", Outcome::Success), "aud-1", SyslogFormat::Json);
        assert!(ok.starts_with("<110>1 "), "{ok}");
        let body = ok.split(" - ").nth(2).expect("MSG");
        assert_eq!(serde_json::from_str::<Value>(body).expect("JSON")["actor"]["id"], "u1");
    }

    #[test]
    fn header_fields_lose_spaces_and_control_characters() {
        let message = syslog_message(&event("weird action\nname", Outcome::Success), "", SyslogFormat::Cef);
        assert!(message.contains(" - - auditorium - weirdactionname - ") || message.contains("Z - auditorium - weirdactionname - "), "{message}");
        let long = "a.".repeat(40);
        let message = syslog_message(&event(&long, Outcome::Success), "h", SyslogFormat::Cef);
        assert!(message.contains(&format!(" {} - CEF", &long[..32])), "{message}");
    }

    #[test]
    fn frames_count_bytes_not_characters() {
        let mut out = Vec::new();
        frame("<110>1 é", &mut out);
        assert_eq!(out, "9 <110>1 é".as_bytes());
    }

    #[test]
    fn a_datagram_is_cut_at_a_character_boundary() {
        let long = "é".repeat(UDP_MAX);
        let cut = datagram(&long);
        assert!(cut.len() <= UDP_MAX && cut.len() >= UDP_MAX - 1);
        assert_eq!(datagram("short"), "short");
    }

    #[test]
    fn hec_envelopes_carry_time_host_and_the_set_fields_only() {
        let mut out = String::new();
        hec_envelope(&event("a", Outcome::Success), &HecFields { index: "audit".into(), ..Default::default() }, &mut out);
        let v: Value = serde_json::from_str(&out).expect("JSON");
        assert_eq!(v["time"], json!(1_796_379_072.345));
        assert_eq!((v["host"].as_str(), v["index"].as_str(), v.get("sourcetype")), (Some("billing"), Some("audit"), None));
        assert_eq!(v["event"]["action"], "a");
    }
}
