//! Receivers started by the forwarding tests: a Splunk HTTP Event Collector (checks the
//! `Authorization: Splunk <token>` header, takes concatenated JSON envelopes) and a webhook
//! receiver that verifies Standard Webhooks signatures (its own HMAC, not the server's code).
//! Each keeps what it accepted, in arrival order, and can be stopped and started again on
//! the same port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

#[derive(Default)]
pub struct Received {
    /// Accepted events (the `event` of each HEC envelope, or each NDJSON line), in order.
    pub events: Vec<Value>,
    /// Whole HEC envelopes.
    pub envelopes: Vec<Value>,
    /// Requests refused (bad token, bad signature, unparsable body).
    pub refused: Vec<String>,
    /// Webhook ids seen.
    pub ids: Vec<String>,
}

#[derive(Clone)]
struct Shared {
    secret: String,
    /// A HEC that refuses larger requests with 413 (as Splunk's max_content_length does).
    max_events: Option<usize>,
    received: Arc<Mutex<Received>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    kind: Kind,
    shared: Shared,
    task: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Clone, Copy)]
enum Kind {
    Hec,
    Webhook,
}

impl Receiver {
    /// A HEC receiver accepting `token`.
    pub async fn hec(token: &str) -> Receiver {
        Receiver::start(Kind::Hec, token, "127.0.0.1:0".parse().expect("addr")).await
    }

    /// A HEC receiver answering 413 to requests of more than `max_events` events.
    pub async fn hec_limited(token: &str, max_events: usize) -> Receiver {
        let mut receiver = Receiver::start(Kind::Hec, token, "127.0.0.1:0".parse().expect("addr")).await;
        receiver.stop();
        receiver.shared.max_events = Some(max_events);
        receiver.listen().await;
        receiver
    }

    /// A webhook receiver verifying signatures made with `secret` (`whsec_…`).
    pub async fn webhook(secret: &str) -> Receiver {
        Receiver::start(Kind::Webhook, secret, "127.0.0.1:0".parse().expect("addr")).await
    }

    async fn start(kind: Kind, secret: &str, addr: SocketAddr) -> Receiver {
        let shared = Shared { secret: secret.to_string(), max_events: None, received: Arc::default() };
        let mut receiver = Receiver { addr, kind, shared, task: None };
        receiver.listen().await;
        receiver
    }

    async fn listen(&mut self) {
        let router = match self.kind {
            Kind::Hec => Router::new().route("/services/collector/event", post(hec)),
            Kind::Webhook => Router::new().route("/hook", post(webhook)),
        }
        .with_state(self.shared.clone());
        let listener = loop {
            // The port of a stopped receiver may take a moment to be free again.
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        self.addr = listener.local_addr().expect("addr");
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        }));
    }

    /// Stops listening (connections are refused) until [`Receiver::restart`].
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    pub async fn restart(&mut self) {
        self.stop();
        self.listen().await;
    }

    pub fn url(&self) -> String {
        match self.kind {
            Kind::Hec => format!("http://{}", self.addr),
            Kind::Webhook => format!("http://{}/hook", self.addr),
        }
    }

    /// Ids of the accepted events, in arrival order.
    pub fn ids(&self) -> Vec<String> {
        self.shared.received.lock().expect("lock").events.iter().map(|e| e["id"].as_str().unwrap_or_default().to_string()).collect()
    }

    pub fn with<T>(&self, f: impl FnOnce(&Received) -> T) -> T {
        f(&self.shared.received.lock().expect("lock"))
    }

    pub fn refused(&self) -> Vec<String> {
        self.with(|r| r.refused.clone())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn hec(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let mut received = shared.received.lock().expect("lock");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Splunk {}", shared.secret)) {
        received.refused.push("token".into());
        return (StatusCode::UNAUTHORIZED, r#"{"text":"Invalid token","code":4}"#.into());
    }
    let envelopes: Result<Vec<Value>, _> = serde_json::Deserializer::from_slice(&body).into_iter::<Value>().collect();
    if let (Ok(envelopes), Some(max)) = (&envelopes, shared.max_events) {
        if envelopes.len() > max {
            received.refused.push("too large".into());
            return (StatusCode::PAYLOAD_TOO_LARGE, r#"{"text":"Content too large","code":27}"#.into());
        }
    }
    match envelopes {
        Ok(envelopes) if envelopes.iter().all(|e| e["event"].is_object() && e["time"].is_number()) => {
            received.events.extend(envelopes.iter().map(|e| e["event"].clone()));
            received.envelopes.extend(envelopes);
            (StatusCode::OK, r#"{"text":"Success","code":0}"#.into())
        }
        _ => {
            received.refused.push("body".into());
            (StatusCode::BAD_REQUEST, r#"{"text":"Invalid data format","code":6}"#.into())
        }
    }
}

/// Standard Webhooks: `v1,` + base64(HMAC-SHA256(base64-decoded secret, "id.timestamp.body")).
pub fn expected_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).expect("secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

async fn webhook(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (id, timestamp, signature) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let mut received = shared.received.lock().expect("lock");
    let fresh = timestamp.parse::<i64>().is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= 300);
    let valid = signature.split(' ').any(|s| s == expected_signature(&shared.secret, &id, &timestamp, &body));
    if id.is_empty() || !fresh || !valid {
        received.refused.push(format!("signature of {id:?}"));
        return StatusCode::UNAUTHORIZED;
    }
    let lines: Result<Vec<Value>, _> = body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(serde_json::from_slice).collect();
    match lines {
        Ok(events) => {
            received.ids.push(id);
            received.events.extend(events);
            StatusCode::NO_CONTENT
        }
        Err(_) => {
            received.refused.push("body".into());
            StatusCode::BAD_REQUEST
        }
    }
}
