//! SIEM destinations (`/api/v1/destinations`): the JSON shapes shared by the server and the
//! admin page, and the checks of a destination's settings. See docs/api.md.

use serde::{Deserialize, Serialize};

/// Where events go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    /// RFC 5424 syslog (TLS per RFC 5425, or plain TCP, or UDP).
    #[default]
    Syslog,
    /// Splunk HTTP Event Collector.
    SplunkHec,
    /// HTTPS POST of NDJSON batches signed the Standard Webhooks way.
    Webhook,
}

impl DestinationKind {
    pub fn label(self) -> &'static str {
        match self {
            DestinationKind::Syslog => "Syslog",
            DestinationKind::SplunkHec => "Splunk HEC",
            DestinationKind::Webhook => "Webhook",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyslogTransport {
    /// TCP with TLS, octet-counting framing (RFC 5425).
    #[default]
    Tls,
    /// Plain TCP, octet-counting framing (RFC 6587).
    Tcp,
    /// One message per datagram (RFC 5426): no delivery guarantee.
    Udp,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyslogFormat {
    /// ArcSight CEF, the same encoder as the CEF export.
    #[default]
    Cef,
    /// The event as one line of JSON.
    Json,
}

/// Where a new destination starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartFrom {
    /// With the next event committed.
    #[default]
    Now,
    /// With the oldest event kept.
    Beginning,
}

/// A destination's settings (everything but its secrets). Fields that do not apply to the
/// kind are ignored (and kept empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DestinationSettings {
    pub name: String,
    pub kind: DestinationKind,
    /// Only events selected by this view (URL format: `action=user.login&outcome=failure`)
    /// are sent; empty sends everything. Its time range is ignored.
    pub filter: String,
    /// Paused destinations keep their checkpoint and send nothing.
    pub enabled: bool,
    /// syslog: receiver host and port.
    pub host: String,
    pub port: u16,
    pub transport: SyslogTransport,
    pub format: SyslogFormat,
    /// Splunk HEC: the collector's base URL (`https://splunk:8088`); webhook: the URL.
    pub url: String,
    /// Splunk HEC envelope fields (empty: Splunk's defaults for the token).
    pub index: String,
    pub source: String,
    pub sourcetype: String,
    /// PEM certificates trusted for this destination instead of the system roots.
    pub ca_pem: String,
    /// PEM client certificate (chain) for mutual TLS; its key is a secret.
    pub client_cert_pem: String,
}

/// `POST /api/v1/destinations` and `PUT /api/v1/destinations/{id}`. Secrets are write-only:
/// missing (or empty) keeps the stored one when changing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DestinationInput {
    #[serde(flatten)]
    pub settings: DestinationSettings,
    /// Splunk HEC token, or the webhook's `whsec_` secret (made for you when not given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// PEM private key of the client certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key_pem: Option<String>,
    /// Creating only: start with the next event (default) or the oldest one kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<StartFrom>,
}

/// How a destination is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Sending, up to date or catching up.
    #[default]
    Ok,
    /// The last attempts failed; retrying (not yet for long).
    Retrying,
    /// Failing for longer than the alarm delay: red.
    Failing,
    Paused,
}

impl DeliveryState {
    pub fn label(self) -> &'static str {
        match self {
            DeliveryState::Ok => "Delivering",
            DeliveryState::Retrying => "Retrying",
            DeliveryState::Failing => "Failing",
            DeliveryState::Paused => "Paused",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryStatus {
    pub state: DeliveryState,
    /// The last position acknowledged by the receiver, and the newest committed.
    pub checkpoint: i64,
    pub newest: i64,
    /// Positions behind (events committed and not yet acknowledged, matching or not).
    pub lag_events: i64,
    /// Seconds since the destination was last fully up to date (0 when it is).
    pub lag_seconds: i64,
    pub delivered: i64,
    pub last_delivery_at: Option<String>,
    pub failing_since: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

/// `GET /api/v1/destinations` (a list of these) and `GET /api/v1/destinations/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Destination {
    pub id: String,
    #[serde(flatten)]
    pub settings: DestinationSettings,
    /// A token or signing secret is stored (never shown again).
    pub has_secret: bool,
    pub has_client_key: bool,
    pub status: DeliveryStatus,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /api/v1/destinations` answers this; `secret` only when the server made it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CreatedDestination {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `POST /api/v1/destinations/{id}/test`: one synthetic event sent, and what came back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DestinationTest {
    pub ok: bool,
    /// The receiver's answer (HTTP status and body), or what the connection showed.
    pub answer: String,
    pub took_ms: u64,
}

/// The checks of a destination's settings, every problem as (field, message). `creating`:
/// a secret is required for Splunk HEC then.
pub fn check_destination(input: &DestinationInput, creating: bool) -> Result<DestinationSettings, Vec<(String, String)>> {
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut s = input.settings.clone();
    s.name = s.name.trim().to_string();
    if s.name.is_empty() || s.name.chars().count() > 100 {
        problems.push(("name".into(), "give the destination a name of 1 to 100 characters".into()));
    }
    match crate::query::selection_only(&s.filter) {
        Ok(filter) => s.filter = filter,
        Err(found) => problems.extend(found.into_iter().map(|m| ("filter".to_string(), m))),
    }
    let secret_given = input.secret.as_deref().is_some_and(|v| !v.trim().is_empty());
    match s.kind {
        DestinationKind::Syslog => {
            s.host = s.host.trim().to_string();
            if s.host.is_empty() || s.host.len() > 253 || s.host.contains(['/', ' ', '@']) {
                problems.push(("host".into(), "a host name or IP address".into()));
            }
            if s.port == 0 {
                s.port = match s.transport {
                    SyslogTransport::Tls => 6514,
                    _ => 514,
                };
            }
            (s.url, s.index, s.source, s.sourcetype) = Default::default();
        }
        DestinationKind::SplunkHec | DestinationKind::Webhook => {
            s.url = s.url.trim().trim_end_matches(if s.kind == DestinationKind::SplunkHec { "/" } else { "" }).to_string();
            let scheme_ok = s.url.starts_with("https://") || s.url.starts_with("http://");
            let host_ok = s.url.split("://").nth(1).is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
            if !scheme_ok || !host_ok || s.url.contains(char::is_whitespace) {
                problems.push(("url".into(), "an http:// or https:// URL".into()));
            }
            if s.kind == DestinationKind::SplunkHec && creating && !secret_given {
                problems.push(("secret".into(), "the HEC token is required".into()));
            }
            if s.kind == DestinationKind::Webhook {
                (s.index, s.source, s.sourcetype) = Default::default();
                if let Some(secret) = input.secret.as_deref().filter(|v| !v.trim().is_empty()) {
                    if !is_webhook_secret(secret.trim()) {
                        problems.push(("secret".into(), "a Standard Webhooks secret: whsec_ and base64 (or leave empty for a new one)".into()));
                    }
                }
            }
            (s.host, s.port) = (String::new(), 0);
            s.transport = SyslogTransport::Tls;
            s.format = SyslogFormat::Cef;
        }
    }
    for (field, value) in [("index", &s.index), ("source", &s.source), ("sourcetype", &s.sourcetype)] {
        if value.len() > 200 || value.contains(['\n', '\r']) {
            problems.push((field.into(), "at most 200 characters on one line".into()));
        }
    }
    s.ca_pem = s.ca_pem.trim().to_string();
    s.client_cert_pem = s.client_cert_pem.trim().to_string();
    for (field, value) in [("ca_pem", &s.ca_pem), ("client_cert_pem", &s.client_cert_pem)] {
        if !value.is_empty() && !value.contains("-----BEGIN CERTIFICATE-----") {
            problems.push((field.into(), "PEM certificates (-----BEGIN CERTIFICATE-----)".into()));
        }
    }
    if let Some(key) = input.client_key_pem.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        if !key.contains("PRIVATE KEY-----") {
            problems.push(("client_key_pem".into(), "a PEM private key".into()));
        }
    }
    if s.kind == DestinationKind::Syslog && s.transport == SyslogTransport::Udp && !s.client_cert_pem.is_empty() {
        problems.push(("client_cert_pem".into(), "UDP has no TLS: choose TLS for a client certificate".into()));
    }
    if problems.is_empty() {
        Ok(s)
    } else {
        Err(problems)
    }
}

/// `whsec_` followed by base64 of at least 24 bytes.
pub fn is_webhook_secret(secret: &str) -> bool {
    secret.strip_prefix("whsec_").is_some_and(|b64| {
        b64.len() >= 32 && b64.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: DestinationKind) -> DestinationInput {
        DestinationInput {
            settings: DestinationSettings { name: " SIEM ".into(), kind, enabled: true, ..Default::default() },
            ..Default::default()
        }
    }

    #[test]
    fn syslog_needs_a_host_and_gets_the_port_of_its_transport() {
        let mut d = input(DestinationKind::Syslog);
        let problems = check_destination(&d, true).unwrap_err();
        assert_eq!(problems.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(), ["host"]);
        d.settings.host = "siem.example.com".into();
        d.settings.url = "https://leftover".into();
        let s = check_destination(&d, true).expect("valid");
        assert_eq!((s.name.as_str(), s.port, s.url.as_str()), ("SIEM", 6514, ""));
        d.settings.transport = SyslogTransport::Udp;
        assert_eq!(check_destination(&d, true).expect("valid").port, 514);
    }

    #[test]
    fn hec_needs_a_url_and_a_token_when_created() {
        let mut d = input(DestinationKind::SplunkHec);
        d.settings.url = "splunk:8088".into();
        let problems = check_destination(&d, true).unwrap_err();
        assert_eq!(problems.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(), ["url", "secret"]);
        d.settings.url = "https://splunk:8088/".into();
        assert!(check_destination(&d, false).is_ok(), "a change keeps the stored token");
        d.secret = Some("abc".into());
        assert_eq!(check_destination(&d, true).expect("valid").url, "https://splunk:8088");
    }

    #[test]
    fn a_webhook_secret_must_be_standard_and_may_be_left_to_the_server() {
        let mut d = input(DestinationKind::Webhook);
        d.settings.url = "https://hooks.example.com/in".into();
        assert!(check_destination(&d, true).is_ok());
        d.secret = Some("hunter2".into());
        assert_eq!(check_destination(&d, true).unwrap_err()[0].0, "secret");
        d.secret = Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        assert!(check_destination(&d, true).is_ok());
    }

    #[test]
    fn the_filter_is_a_view_without_its_time_range() {
        let mut d = input(DestinationKind::Syslog);
        d.settings.host = "h".into();
        d.settings.filter = "range=7d&outcome=failure".into();
        assert_eq!(check_destination(&d, true).expect("valid").filter, "outcome=failure");
        d.settings.filter = "outcome=maybe".into();
        assert_eq!(check_destination(&d, true).unwrap_err()[0].0, "filter");
    }

    #[test]
    fn certificates_and_keys_must_be_pem() {
        let mut d = input(DestinationKind::Syslog);
        d.settings.host = "h".into();
        d.settings.ca_pem = "not a cert".into();
        d.client_key_pem = Some("nope".into());
        let fields: Vec<String> = check_destination(&d, true).unwrap_err().into_iter().map(|p| p.0).collect();
        assert_eq!(fields, ["ca_pem", "client_key_pem"]);
    }
}
