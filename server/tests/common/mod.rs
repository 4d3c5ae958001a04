//! Helpers for tests that drive the real router against a fresh PostgreSQL database
//! (`#[sqlx::test]` creates one per test from DATABASE_URL).
#![allow(dead_code)] // each test file uses a different subset

pub mod cef;
pub mod exports;
pub mod forward;
pub mod oidc;
pub mod random;
pub mod receivers;
pub mod rsyslog;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sqlx::PgPool;
use tower::ServiceExt;

use server::config::ServeArgs;
use server::state::AppState;
use server::store::tokens::{self, Scope};

pub async fn state(pool: &PgPool) -> AppState {
    // Keys made for sealing secrets go to a directory of the test's own, not the source tree.
    let data_dir = std::env::temp_dir().join(format!("auditorium-test-data-{}", uuid::Uuid::now_v7().simple()));
    AppState::new(pool.clone(), &ServeArgs { data_dir, ..ServeArgs::default() }).await.expect("state")
}

/// The application, with the test reader's token (see [`read`]) installed.
pub async fn app(pool: &PgPool) -> Router {
    install_reader(pool).await;
    server::serve::router(state(pool).await)
}

/// The secret of a read token (no owner: it reads everything) that [`app`] installs, for
/// tests about reading rather than about access.
pub const TEST_READER: &str = "aud_test-reader-0000000000000000000000000000";

pub async fn install_reader(pool: &PgPool) {
    sqlx::query("INSERT INTO api_tokens (id, name, scope, secret_hash) VALUES ($1, 'test reader', 'read', $2) ON CONFLICT DO NOTHING")
        .bind(uuid::Uuid::now_v7())
        .bind(tokens::hash(TEST_READER))
        .execute(pool)
        .await
        .expect("test reader");
}

/// GET `path` as the test reader.
pub fn read(path: &str) -> Request<Body> {
    get(path, Some(TEST_READER))
}

pub async fn token(pool: &PgPool, scope: Scope) -> String {
    let name = format!("test-{}-{}", scope.as_str(), uuid::Uuid::now_v7());
    tokens::create(pool, &name, scope).await.expect("token").1
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
    pub raw: Vec<u8>,
}

pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, body, text, raw: bytes.to_vec() }
}

pub fn post(path: &str, token: Option<&str>, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::builder().method(Method::POST).uri(path).header(header::CONTENT_TYPE, content_type);
    if let Some(t) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    builder.body(body.into()).expect("request")
}

pub fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().uri(path);
    if let Some(t) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    builder.body(Body::empty()).expect("request")
}

/// Posts events as a JSON array with an ingest token.
pub async fn ingest(app: &Router, token: &str, events: &Value) -> Reply {
    send(app, post("/api/v1/events", Some(token), "application/json", events.to_string())).await
}

/// A valid event; `n` varies its action and actor.
pub fn event(n: usize) -> Value {
    json!({
        "action": format!("project.updated{}", if n % 2 == 0 { "" } else { "_again" }),
        "actor": { "id": format!("u{}", n % 5), "name": format!("User {}", n % 5), "type": "user" },
        "method": "PATCH",
        "status": 200,
        "resource": { "type": "project", "id": format!("p{n}"), "name": format!("Project {n}") },
        "context": { "cluster": "prod-eu" },
    })
}

pub async fn count_events(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(pool).await.expect("count")
}

/// A WebSocket request for the live tail with a token (and the Host a browser would send).
pub fn ws_request(addr: std::net::SocketAddr, query: &str, token: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/api/v1/live?{query}").into_client_request().expect("request");
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
    request
}

/// The URL of the test's own database (DATABASE_URL names the cluster), for running the
/// `auditorium` binary against it.
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let database = pool.connect_options().get_database().expect("database").to_string();
    let (before, after) = base.split_once('?').map_or((base.as_str(), ""), |(b, a)| (b, a));
    let root = before.rsplit_once('/').map_or(before, |(r, _)| r);
    format!("{root}/{database}?{after}")
}

/// `count(*)` of `table` rows matching `condition` (a fixed SQL text of the test's).
pub async fn count_events_where(pool: &PgPool, condition: &str, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE {condition}")).fetch_one(pool).await.expect("count")
}

/// An administrator as the server sees one (for calling library functions directly).
pub fn admin_principal() -> server::auth::Principal {
    server::auth::Principal {
        credential: server::auth::Credential::Session(vec![1]),
        user: None,
        role: server::store::users::Role::Admin,
        scope: app::query::Scope::All,
        scope_views: vec![],
        token: None,
    }
}

/// An admin token owned by an admin account (an ownerless token reads as an auditor).
pub async fn admin_token(pool: &PgPool) -> String {
    use server::auth::accounts;
    use server::auth::audit::{Actor, Origin};
    let email = format!("admin-{}@example.com", uuid::Uuid::now_v7().simple());
    let (user, _) = accounts::create_user(pool, &email, None, server::store::users::Role::Admin, &[], Some("a long enough password".into()), Actor::system(), Origin::default()).await.expect("admin");
    accounts::create_token(pool, "admin", Scope::Admin, Some(user.id), Actor::system(), Origin::default()).await.expect("token").1
}
