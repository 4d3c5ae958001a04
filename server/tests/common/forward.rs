//! Helpers of the forwarding tests: an application with fast retries, destinations made
//! through the API, project events, and what "at least once, in commit order" means.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::Router;
use serde_json::{json, Value};
use sqlx::PgPool;

use super::{ingest, send};
use server::config::ServeArgs;
use server::store::tokens::Scope;

pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auditorium-forward-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

pub struct Setup {
    pub app: Router,
    pub admin: String,
    pub writer: String,
}

pub async fn setup(pool: &PgPool) -> Setup {
    setup_allowing(pool, &[]).await
}

/// With `--webhook-allow` set to `allow`.
pub async fn setup_allowing(pool: &PgPool, allow: &[&str]) -> Setup {
    let args = ServeArgs {
        data_dir: scratch_dir(),
        forward_alarm_after: Duration::from_secs(2),
        forward_max_backoff: Duration::from_millis(500),
        webhook_allow: allow.iter().map(|h| h.to_string()).collect(),
        ..ServeArgs::default()
    };
    let state = server::state::AppState::new(pool.clone(), &args).await.expect("state");
    Setup { app: server::serve::router(state), admin: super::admin_token(pool).await, writer: super::token(pool, Scope::Ingest).await }
}

pub fn request(method: &str, path: &str, token: &str, body: Option<&Value>) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(axum::body::Body::empty, |b| axum::body::Body::from(b.to_string())))
        .expect("request")
}

pub async fn create(s: &Setup, body: Value) -> Value {
    let reply = send(&s.app, request("POST", "/api/v1/destinations", &s.admin, Some(&body))).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

pub async fn destination(s: &Setup, id: &str) -> Value {
    let reply = send(&s.app, request("GET", &format!("/api/v1/destinations/{id}"), &s.admin, None)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

/// `n` project events, every third a failure, in batches of 50.
pub async fn ingest_projects(s: &Setup, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let events: Vec<Value> = chunk
            .iter()
            .map(|i| {
                let mut e = super::event(*i);
                e["outcome"] = json!(if i % 3 == 0 { "failure" } else { "success" });
                e
            })
            .collect();
        let reply = ingest(&s.app, &s.writer, &Value::Array(events)).await;
        assert!(reply.status.is_success(), "{}", reply.text);
    }
}

/// Ids of committed events matching an SQL condition on `events e`, in commit order.
pub async fn committed(pool: &PgPool, condition: &str) -> Vec<String> {
    sqlx::query_scalar(&format!(
        "SELECT e.id::text FROM event_positions p JOIN events e ON e.id = p.id AND e.occurred_at = p.occurred_at WHERE {condition} ORDER BY p.seq"
    ))
    .fetch_all(pool)
    .await
    .expect("committed")
}

pub async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, seconds: u64, mut condition: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The received ids with repeats removed (first arrival kept): at least once, in order,
/// means this equals the committed order.
pub fn first_arrivals(ids: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().filter(|id| seen.insert((*id).clone())).cloned().collect()
}

