//! The authorisation matrix: every endpoint (REST, WebSocket, pages, forms) × every kind of
//! caller → the expected answer. The matrix is data; an endpoint of the router (or a page of
//! the app) without a row fails the test, so nothing new can be mounted unreviewed.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use axum::http::{header, Method, Request, StatusCode};
use common::event;
use futures::StreamExt;
use serde_json::json;
use server::auth::audit::{Actor, Origin};
use server::auth::{accounts, session};
use server::store::tokens::Scope as TokenScope;
use server::store::users::Role;
use sqlx::PgPool;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// The callers, in the order of the matrix's columns.
const CALLERS: [&str; 10] =
    ["anonymous", "admin", "auditor", "member", "disabled", "expired", "ingest token", "member's read token", "auditor's read token", "admin's admin token"];

/// What a caller gets: let through (`A`: any answer but 401/403 and the sign-in redirect),
/// 401, 403, or sent to the sign-in page (`S`, pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    A,
    U401,
    F403,
    S,
}
use Expect::*;

/// (method, path as mounted, expectation per caller)
const MATRIX: &[(&str, &str, [Expect; 10])] = &[
    //                                          anon  admin auditor member disabl expired ingest  r-mem  r-aud  admin-t
    ("GET", "/healthz", [A, A, A, A, A, A, A, A, A, A]),
    ("GET", "/readyz", [A, A, A, A, A, A, A, A, A, A]),
    ("GET", "/metrics", [U401, A, A, F403, U401, U401, F403, F403, A, A]),
    ("POST", "/api/v1/events", [U401, F403, F403, F403, U401, U401, A, F403, F403, A]),
    ("GET", "/api/v1/events", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/events/{id}", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/histogram", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/fields", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/fields/{field}/values", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/live", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/destinations", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("POST", "/api/v1/destinations", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("GET", "/api/v1/destinations/{id}", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("PUT", "/api/v1/destinations/{id}", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("POST", "/api/v1/destinations/{id}/test", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("DELETE", "/api/v1/destinations/{id}", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("GET", "/api/v1/export", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/exports", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("POST", "/api/v1/exports", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/exports/{id}", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/exports/{id}/{format}", [U401, A, A, A, U401, U401, F403, A, A, A]),
    // The member sees no admin's export (404); the admin deletes it first, then it is gone.
    ("DELETE", "/api/v1/exports/{id}", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/openapi.json", [U401, A, A, A, U401, U401, A, A, A, A]),
    ("GET", "/api/v1/session", [U401, A, A, A, U401, U401, A, A, A, A]),
    ("POST", "/api/v1/session", [A, A, A, A, A, A, A, A, A, A]),
    ("POST", "/api/v1/password", [A, A, A, A, A, A, A, A, A, A]),
    ("GET", "/api/v1/users", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("POST", "/api/v1/users", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("PATCH", "/api/v1/users/{id}", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("POST", "/api/v1/users/{id}/password-link", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("DELETE", "/api/v1/users/{id}/sessions", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("GET", "/api/v1/tokens", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("POST", "/api/v1/tokens", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("DELETE", "/api/v1/tokens/{id}", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("GET", "/api/v1/sessions", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("DELETE", "/api/v1/sessions/{handle}", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    // How people sign in is public (the sign-in page asks); the settings are for admins.
    ("GET", "/api/v1/sso", [A, A, A, A, A, A, A, A, A, A]),
    ("GET", "/api/v1/sso/settings", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("PUT", "/api/v1/sso/settings", [U401, A, F403, F403, U401, U401, F403, F403, F403, A]),
    ("GET", "/api/v1/overview", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/resources/{type}/{id}", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/actors/{id}", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/alerts", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("GET", "/api/v1/alert-rules", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("POST", "/api/v1/alert-rules", [U401, A, A, A, U401, U401, F403, A, A, A]),
    // The member does not see the admin's rule (404); the auditor sees but may not change it
    // (403); the admin deletes it first, then it is gone for everyone (404).
    ("GET", "/api/v1/alert-rules/{id}", [U401, A, A, A, U401, U401, F403, A, A, A]),
    ("PATCH", "/api/v1/alert-rules/{id}", [U401, A, F403, A, U401, U401, F403, A, F403, A]),
    ("DELETE", "/api/v1/alert-rules/{id}", [U401, A, A, A, U401, U401, F403, A, A, A]),
    // Pages (server-rendered) and the forms that work without JavaScript.
    ("GET", "/", [S, A, A, A, S, S, F403, A, A, A]),
    ("GET", "/overview", [S, A, A, A, S, S, F403, A, A, A]),
    ("GET", "/resources/{kind}/{id}", [S, A, A, A, S, S, F403, A, A, A]),
    ("GET", "/actors/{id}", [S, A, A, A, S, S, F403, A, A, A]),
    ("GET", "/alerts", [S, A, A, A, S, S, F403, A, A, A]),
    ("GET", "/admin/users", [S, A, F403, F403, S, S, F403, F403, F403, A]),
    ("GET", "/admin/tokens", [S, A, F403, F403, S, S, F403, F403, F403, A]),
    ("GET", "/admin/sessions", [S, A, F403, F403, S, S, F403, F403, F403, A]),
    ("GET", "/admin/sso", [S, A, F403, F403, S, S, F403, F403, F403, A]),
    ("GET", "/admin/destinations", [S, A, F403, F403, S, S, F403, F403, F403, A]),
    ("GET", "/sign-in", [A, A, A, A, A, A, A, A, A, A]),
    ("GET", "/set-password", [A, A, A, A, A, A, A, A, A, A]),
    ("POST", "/sign-in", [A, A, A, A, A, A, A, A, A, A]),
    ("POST", "/set-password", [A, A, A, A, A, A, A, A, A, A]),
    // Single sign-on's redirects: to the provider, or back to the sign-in page with why not
    // (here it is off; its refusals are tested in tests/sso.rs).
    ("GET", "/sso/start", [A, A, A, A, A, A, A, A, A, A]),
    ("GET", "/sso/callback", [A, A, A, A, A, A, A, A, A, A]),
    // Signing out ends the caller's session: last (the form then finds nobody to sign out).
    ("DELETE", "/api/v1/session", [U401, A, A, A, U401, U401, A, A, A, A]),
    ("POST", "/sign-out", [A, A, A, A, A, A, A, A, A, A]),
];

/// `(method, path)` of every route the router mounts, read from its source.
fn mounted() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for source in [include_str!("../src/api/mod.rs"), include_str!("../src/web/mod.rs")] {
        for rest in source.split(".route(\"").skip(1) {
            let Some((path, handlers)) = rest.split_once('"') else { continue };
            let line = handlers.split('\n').next().unwrap_or_default();
            for method in ["get", "post", "patch", "delete", "put"] {
                if line.contains(&format!("{method}(")) {
                    routes.insert((method.to_uppercase(), path.to_string()));
                }
            }
        }
    }
    for page in leptos_axum::generate_route_list(app::App) {
        routes.insert(("GET".into(), page.path().to_string()));
    }
    routes
}

#[test]
fn every_endpoint_has_a_row() {
    let listed: BTreeSet<(String, String)> = MATRIX.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let mounted = mounted();
    assert!(mounted.len() >= 30, "{mounted:?}");
    let missing: Vec<_> = mounted.difference(&listed).collect();
    assert!(missing.is_empty(), "endpoints without a row in the authorisation matrix: {missing:?}");
    let stale: Vec<_> = listed.difference(&mounted).collect();
    assert!(stale.is_empty(), "rows for endpoints that are not mounted: {stale:?}");
}

/// How each caller proves who it is.
#[derive(Clone)]
enum Proof {
    None,
    Cookie(String),
    Bearer(String),
}

struct World {
    addr: SocketAddr,
    proofs: Vec<Proof>,
    event_id: String,
    victim_user: String,
    victim_token: String,
    export: String,
    rule: String,
    destination: String,
}

async fn person(pool: &PgPool, email: &str, role: Role, scopes: &[&str]) -> uuid::Uuid {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    accounts::create_user(pool, email, None, role, &scopes, Some("a long enough password".into()), Actor::system(), Origin::default())
        .await
        .expect("user")
        .0
        .id
}

async fn session_for(pool: &PgPool, user: uuid::Uuid, expired: bool) -> String {
    let (secret, hash) = session::new_secret();
    let expires = if expired { chrono::Utc::now() - chrono::Duration::minutes(1) } else { chrono::Utc::now() + chrono::Duration::hours(1) };
    server::store::sessions::create(pool, &hash, user, expires, None, None).await.expect("session");
    secret
}

async fn token_for(pool: &PgPool, name: &str, scope: TokenScope, owner: Option<uuid::Uuid>) -> String {
    accounts::create_token(pool, name, scope, owner, Actor::system(), Origin::default()).await.expect("token").1
}

async fn world(pool: &PgPool) -> World {
    let admin = person(pool, "admin@example.com", Role::Admin, &[]).await;
    let auditor = person(pool, "auditor@example.com", Role::Auditor, &[]).await;
    let member = person(pool, "member@example.com", Role::Member, &["context.cluster=prod-eu"]).await;
    let disabled = person(pool, "gone@example.com", Role::Auditor, &[]).await;
    let victim = person(pool, "victim@example.com", Role::Member, &["action=x.y"]).await;
    let proofs = vec![
        Proof::None,
        Proof::Cookie(session_for(pool, admin, false).await),
        Proof::Cookie(session_for(pool, auditor, false).await),
        Proof::Cookie(session_for(pool, member, false).await),
        Proof::Cookie(session_for(pool, disabled, false).await),
        Proof::Cookie(session_for(pool, auditor, true).await),
        Proof::Bearer(token_for(pool, "app", TokenScope::Ingest, None).await),
        Proof::Bearer(token_for(pool, "member-read", TokenScope::Read, Some(member)).await),
        Proof::Bearer(token_for(pool, "auditor-read", TokenScope::Read, Some(auditor)).await),
        Proof::Bearer(token_for(pool, "admin-admin", TokenScope::Admin, Some(admin)).await),
    ];
    accounts::change_user(pool, disabled, accounts::UserChange { disabled: Some(true), ..Default::default() }, Actor::system(), Origin::default())
        .await
        .expect("disable");
    let victim_token = accounts::create_token(pool, "victim", TokenScope::Ingest, None, Actor::system(), Origin::default()).await.expect("token").0.id;
    let admin_principal = common::admin_principal();
    let export = server::export::jobs::create(
        pool,
        &server::export::files::ExportFiles::new(std::env::temp_dir().join(format!("matrix-{}", uuid::Uuid::now_v7())), std::time::Duration::from_secs(60)),
        &admin_principal,
        &app::exports::NewExport { name: Some("matrix".into()), formats: vec!["csv".into()], view: String::new() },
        Origin::default(),
    )
    .await
    .expect("export")
    .id
    .to_string();
    let rule = server::alerts::rules::create(
        pool,
        &admin_principal,
        &app::alerts::NewAlertRule {
            name: "matrix".into(),
            view: "action=x.y".into(),
            threshold: app::alerts::Threshold { count: 2, window: "10m".into(), per: None },
            webhook: None,
        },
        &[],
        Origin::default(),
    )
    .await
    .expect("rule")
    .id;
    let ingest = server::ingest::Ingestor::for_command(pool.clone());
    let stored = server::ingest::ingest(&ingest, &[event(1)]).await.expect("event");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = common::state(pool).await;
    let destination = server::forward::store::create(
        pool,
        &state.secrets,
        &destination_input(),
        Actor::system(),
        Origin::default(),
    )
    .await
    .expect("destination")
    .id;
    let app = server::serve::router(state);
    tokio::spawn(async move { axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await });
    World { addr, proofs, event_id: stored[0].id.to_string(), victim_user: victim.to_string(), victim_token: victim_token.to_string(), export, rule, destination }
}

/// A paused webhook destination (port 9: nothing listens, a test fails at once).
fn destination_input() -> app::destinations::DestinationInput {
    let mut input = app::destinations::DestinationInput::default();
    input.settings.name = format!("matrix {}", uuid::Uuid::now_v7().simple());
    input.settings.kind = app::destinations::DestinationKind::Webhook;
    input.settings.url = "http://127.0.0.1:9/hook".into();
    input
}

fn concrete(path: &str, world: &World) -> String {
    path.replace("/events/{id}", &format!("/events/{}", world.event_id))
        .replace("{field}", "action")
        .replace("/users/{id}", &format!("/users/{}", world.victim_user))
        .replace("/tokens/{id}", &format!("/tokens/{}", world.victim_token))
        .replace("{handle}", "0123456789abcdef")
        .replace("/exports/{id}", &format!("/exports/{}", world.export))
        .replace("{format}", "csv")
        .replace("/alert-rules/{id}", &format!("/alert-rules/{}", world.rule))
        .replace("/destinations/{id}", &format!("/destinations/{}", world.destination))
        .replace("{type}", "project")
        .replace("{kind}", "project")
        .replace("{id}", "p1")
}

fn body_for(method: &str, path: &str) -> (Option<&'static str>, String) {
    let json = Some("application/json");
    let form = Some("application/x-www-form-urlencoded");
    match (method, path) {
        ("POST", "/api/v1/events") => (json, json!([event(2)]).to_string()),
        ("POST", "/api/v1/session") => (json, json!({"email": "auditor@example.com", "password": "a long enough password"}).to_string()),
        ("POST", "/api/v1/password") => (json, json!({"token": "not-a-link", "password": "a long enough password"}).to_string()),
        ("POST", "/api/v1/users") => (json, json!({"email": format!("new{}@example.com", uuid::Uuid::now_v7().simple()), "role": "auditor"}).to_string()),
        ("PATCH", p) if p.starts_with("/api/v1/users/") => (json, json!({"name": "Victim"}).to_string()),
        ("POST", "/api/v1/tokens") => (json, json!({"name": format!("t{}", uuid::Uuid::now_v7().simple()), "scope": "ingest"}).to_string()),
        ("POST", "/api/v1/exports") => (json, json!({"name": "mine", "formats": ["csv"], "view": "range=1h"}).to_string()),
        ("GET", "/api/v1/export") => (None, String::new()),
        ("POST", "/api/v1/alert-rules") => (json, json!({"name": "mine", "view": "action=x.y", "threshold": {"count": 2, "window": "10m"}}).to_string()),
        ("PATCH", p) if p.starts_with("/api/v1/alert-rules/") => (json, json!({"enabled": false}).to_string()),
        ("POST", "/api/v1/destinations") => (json, serde_json::to_string(&destination_input()).expect("json")),
        ("PUT", p) if p.starts_with("/api/v1/destinations/") => (json, serde_json::to_string(&destination_input()).expect("json")),
        ("POST", "/sign-in") => (form, "email=nobody%40example.com&password=wrong&next=%2F".into()),
        ("POST", "/set-password") => (form, "token=nope&password=a+long+enough+password&confirm=a+long+enough+password".into()),
        ("POST", "/sign-out") => (form, String::new()),
        _ => (None, String::new()),
    }
}

async fn http(world: &World, method: &str, path: &str, proof: &Proof) -> (StatusCode, Option<String>) {
    let uri = concrete(path, world);
    let (content_type, body) = body_for(method, path);
    let mut request = Request::builder().method(Method::from_bytes(method.as_bytes()).expect("method")).uri(&uri);
    // As a browser on this site would send it (forms and fetches carry their Origin).
    request = request.header(header::HOST, world.addr.to_string()).header(header::ORIGIN, format!("http://{}", world.addr));
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    request = match proof {
        Proof::None => request,
        Proof::Cookie(id) => request.header(header::COOKIE, format!("{}={id}", session::COOKIE)),
        Proof::Bearer(token) => request.header(header::AUTHORIZATION, format!("Bearer {token}")),
    };
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let request = request.uri(format!("http://{}{uri}", world.addr)).body(http_body_util::Full::new(bytes::Bytes::from(body))).expect("request");
    let response: hyper::Response<hyper::body::Incoming> = client.request(request).await.expect("answer");
    let location = response.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).map(str::to_string);
    (response.status(), location)
}

/// The live tail answers with a close frame after the upgrade: 4401 / 4403, or `ready`.
async fn websocket(world: &World, proof: &Proof) -> Expect {
    let mut request = format!("ws://{}/api/v1/live?range=1h", world.addr).into_client_request().expect("request");
    request.headers_mut().insert("origin", format!("http://{}", world.addr).parse().expect("origin"));
    match proof {
        Proof::None => {}
        Proof::Cookie(id) => {
            request.headers_mut().insert("cookie", format!("{}={id}", session::COOKIE).parse().expect("cookie"));
        }
        Proof::Bearer(token) => {
            request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("auth"));
        }
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
    match socket.next().await {
        Some(Ok(Message::Text(text))) if text.contains("\"ready\"") => A,
        Some(Ok(Message::Close(Some(frame)))) if u16::from(frame.code) == 4401 => U401,
        Some(Ok(Message::Close(Some(frame)))) if u16::from(frame.code) == 4403 => F403,
        other => panic!("unexpected first message: {other:?}"),
    }
}

fn classify(status: StatusCode, location: Option<&str>) -> Expect {
    match status {
        StatusCode::UNAUTHORIZED => U401,
        StatusCode::FORBIDDEN => F403,
        s if s.is_redirection() && location.is_some_and(|l| l.starts_with("/sign-in") && !l.contains("error=") && !l.contains("signed_out")) => S,
        _ => A,
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn every_endpoint_answers_every_caller_as_the_matrix_says(pool: PgPool) {
    let world = world(&pool).await;
    let mut wrong = Vec::new();
    for (method, path, expected) in MATRIX {
        for (i, proof) in world.proofs.iter().enumerate() {
            let got = if *path == "/api/v1/live" {
                websocket(&world, proof).await
            } else {
                let (status, location) = http(&world, method, path, proof).await;
                let got = classify(status, location.as_deref());
                assert!(status != StatusCode::INTERNAL_SERVER_ERROR, "{method} {path} as {}: 500", CALLERS[i]);
                got
            };
            if got != expected[i] {
                wrong.push(format!("{method} {path} as {}: expected {:?}, got {got:?}", CALLERS[i], expected[i]));
            }
        }
    }
    assert!(wrong.is_empty(), "{} answers differ from the matrix:\n{}", wrong.len(), wrong.join("\n"));
}
