//! Accounts and sessions as a person and a browser meet them: signing in (same refusal for a
//! wrong password and an unknown account, attempts slowing down), the cookie, signing out
//! (here and everywhere), sessions ending (idle, absolute, disabled account), the live tail
//! ending with its session, the browser protections, and Auditorium's audit of itself.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{send, Reply};
use futures::StreamExt;
use serde_json::json;
use server::auth::accounts::{self, UserChange};
use server::auth::audit::{Actor, Origin};
use server::store::users::Role;
use sqlx::PgPool;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "correct horse battery staple";

async fn user(pool: &PgPool, email: &str, role: Role) -> uuid::Uuid {
    accounts::create_user(pool, email, Some("Ada Lovelace"), role, &[], Some(PASSWORD.into()), Actor::system(), Origin::default())
        .await
        .expect("user")
        .0
        .id
}

fn json_request(method: Method, path: &str, body: serde_json::Value, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(c) = cookie {
        builder = builder.header(header::COOKIE, c);
    }
    builder.body(Body::from(body.to_string())).expect("request")
}

fn with_cookie(path: &str, cookie: &str) -> Request<Body> {
    Request::builder().uri(path).header(header::COOKIE, cookie).body(Body::empty()).expect("request")
}

/// Signs in through the API; the `name=value` of the session cookie and the raw header.
async fn sign_in(app: &axum::Router, email: &str, password: &str) -> (Reply, Option<(String, String)>) {
    let reply = send(app, json_request(Method::POST, "/api/v1/session", json!({"email": email, "password": password}), None)).await;
    let set_cookie = reply.headers.get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let cookie = set_cookie.map(|raw| (raw.split(';').next().unwrap_or_default().to_string(), raw));
    (reply, cookie)
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn signing_in_sets_a_protected_cookie_and_refuses_alike(pool: PgPool) {
    let app = common::app(&pool).await;
    user(&pool, "ada@example.com", Role::Auditor).await;
    let (wrong, _) = sign_in(&app, "ada@example.com", "not the password").await;
    let (unknown, _) = sign_in(&app, "nobody@example.com", PASSWORD).await;
    assert_eq!((wrong.status, unknown.status), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(wrong.body, unknown.body, "no hint whether the account exists");
    assert_eq!(wrong.body["error"]["code"], "invalid_credentials");

    let (ok, cookie) = sign_in(&app, " ADA@example.com ", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["role"], "auditor");
    let (cookie, raw) = cookie.expect("a session cookie");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(raw.contains(part), "{part} in {raw}");
    }
    assert!(!raw.contains("Secure"), "plain http without --public-url https");
    let me = send(&app, with_cookie("/api/v1/session", &cookie)).await;
    assert_eq!((me.status, me.body["user"]["email"].as_str()), (StatusCode::OK, Some("ada@example.com")));
    // Every sign-in gets a new session id.
    let (_, again) = sign_in(&app, "ada@example.com", PASSWORD).await;
    assert_ne!(again.expect("cookie").0, cookie);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn signing_out_ends_one_session_or_every_session(pool: PgPool) {
    let app = common::app(&pool).await;
    user(&pool, "ada@example.com", Role::Member).await;
    let a = sign_in(&app, "ada@example.com", PASSWORD).await.1.expect("cookie").0;
    let b = sign_in(&app, "ada@example.com", PASSWORD).await.1.expect("cookie").0;
    let c = sign_in(&app, "ada@example.com", PASSWORD).await.1.expect("cookie").0;
    let out = send(&app, json_request(Method::DELETE, "/api/v1/session", json!({}), Some(&a))).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(send(&app, with_cookie("/api/v1/session", &a)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&app, with_cookie("/api/v1/session", &b)).await.status, StatusCode::OK, "the others go on");
    let everywhere = send(&app, json_request(Method::DELETE, "/api/v1/session?everywhere=true", json!({}), Some(&b))).await;
    assert_eq!(everywhere.status, StatusCode::NO_CONTENT);
    // Another instance learns it through NOTIFY; this one at once.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while send(&app, with_cookie("/api/v1/session", &c)).await.status != StatusCode::UNAUTHORIZED {
        assert!(std::time::Instant::now() < deadline, "sign out everywhere ends every session");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn failed_sign_ins_slow_down(pool: PgPool) {
    let app = common::app(&pool).await;
    user(&pool, "ada@example.com", Role::Member).await;
    for _ in 0..10 {
        assert_eq!(sign_in(&app, "ada@example.com", "guess").await.0.status, StatusCode::UNAUTHORIZED);
    }
    use tower::ServiceExt;
    let response = app
        .clone()
        .oneshot(json_request(Method::POST, "/api/v1/session", json!({"email": "ada@example.com", "password": PASSWORD}), None))
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(response.headers().contains_key(header::RETRY_AFTER));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn sessions_end_when_idle_expired_or_disabled(pool: PgPool) {
    let app = common::app(&pool).await;
    let id = user(&pool, "ada@example.com", Role::Auditor).await;
    let idle = sign_in(&app, "ada@example.com", PASSWORD).await.1.expect("cookie").0;
    let old = sign_in(&app, "ada@example.com", PASSWORD).await.1.expect("cookie").0;
    let live = sign_in(&app, "ada@example.com", PASSWORD).await.1.expect("cookie").0;
    let hash = |cookie: &str| server::auth::session::hash_secret(cookie.split_once('=').expect("name=value").1);
    sqlx::query("UPDATE sessions SET last_seen_at = now() - interval '13 hours' WHERE id_hash = $1").bind(hash(&idle)).execute(&pool).await.expect("idle");
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1").bind(hash(&old)).execute(&pool).await.expect("old");
    assert_eq!(send(&app, with_cookie("/api/v1/events", &idle)).await.status, StatusCode::UNAUTHORIZED, "idle past 12 h");
    assert_eq!(send(&app, with_cookie("/api/v1/events", &old)).await.status, StatusCode::UNAUTHORIZED, "past its lifetime");
    assert_eq!(send(&app, with_cookie("/api/v1/events", &live)).await.status, StatusCode::OK);
    // A page for an ended session: to the sign-in page, which brings them back.
    let page = send(&app, with_cookie("/?action=user.login", &old)).await;
    assert!(page.status.is_redirection());
    let token = accounts::create_token(&pool, "ada-read", server::store::tokens::Scope::Read, Some(id), Actor::system(), Origin::default()).await.expect("token").1;
    accounts::change_user(&pool, id, UserChange { disabled: Some(true), ..Default::default() }, Actor::system(), Origin::default()).await.expect("disable");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let session = send(&app, with_cookie("/api/v1/events", &live)).await.status;
        let by_token = send(&app, common::get("/api/v1/events", Some(&token))).await.status;
        if (session, by_token) == (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "a disabled account's session and token stop working");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_last_admin_stays_an_admin(pool: PgPool) {
    let only = user(&pool, "root@example.com", Role::Admin).await;
    let demote = accounts::change_user(&pool, only, UserChange { role: Some(Role::Member), ..Default::default() }, Actor::system(), Origin::default()).await;
    assert!(matches!(demote, Err(accounts::AccountError::Conflict(_))), "{demote:?}");
    let disable = accounts::change_user(&pool, only, UserChange { disabled: Some(true), ..Default::default() }, Actor::system(), Origin::default()).await;
    assert!(matches!(disable, Err(accounts::AccountError::Conflict(_))));
    user(&pool, "second@example.com", Role::Admin).await;
    assert!(accounts::change_user(&pool, only, UserChange { role: Some(Role::Auditor), ..Default::default() }, Actor::system(), Origin::default()).await.is_ok());
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn browser_protections(pool: PgPool) {
    let app = common::app(&pool).await;
    user(&pool, "ada@example.com", Role::Admin).await;
    let cookie = sign_in(&app, "ada@example.com", PASSWORD).await.1.expect("cookie").0;
    // A form on another site posting with the visitor's cookie.
    let forged = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/users")
        .header(header::HOST, "localhost:3000")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"email": "mallory@evil.example", "role": "admin"}).to_string()))
        .expect("request");
    assert_eq!(send(&app, forged).await.status, StatusCode::FORBIDDEN);
    let login_csrf = Request::builder()
        .method(Method::POST)
        .uri("/sign-in")
        .header(header::HOST, "localhost:3000")
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("email=ada%40example.com&password=x"))
        .expect("request");
    assert_eq!(send(&app, login_csrf).await.status, StatusCode::FORBIDDEN);
    assert_eq!(common::count_events_where(&pool, "email = 'mallory@evil.example'", "users").await, 0);
    // DNS rebinding: a foreign host name pointing at this server.
    let rebound = Request::builder().uri("/api/v1/events").header(header::HOST, "attacker.example:3000").header(header::COOKIE, &cookie).body(Body::empty()).expect("request");
    assert_eq!(send(&app, rebound).await.status, StatusCode::MISDIRECTED_REQUEST);
    // Security headers, and the page's inline scripts carrying the CSP nonce.
    use tower::ServiceExt;
    let page = app.clone().oneshot(with_cookie("/sign-in", &cookie)).await.expect("page");
    let csp = page.headers().get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).expect("CSP").to_string();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self' 'wasm-unsafe-eval' 'nonce-"), "{csp}");
    assert_eq!(page.headers().get(header::X_CONTENT_TYPE_OPTIONS).map(|v| v.as_bytes()), Some(&b"nosniff"[..]));
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("nonce").to_string();
    let bytes = http_body_util::BodyExt::collect(page.into_body()).await.expect("body").to_bytes();
    let html = String::from_utf8_lossy(&bytes);
    let scripts = html.matches("<script").count();
    assert!(scripts >= 1);
    assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "every inline script carries the nonce: {html}");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_live_tail_ends_with_its_session_and_refuses_other_sites(pool: PgPool) {
    let state = common::state(&pool).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = server::serve::router(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let id = user(&pool, "ada@example.com", Role::Auditor).await;
    let cookie = sign_in(&common::app(&pool).await, "ada@example.com", PASSWORD).await.1.expect("cookie").0;
    let socket = |origin: &str| {
        let mut request = format!("ws://{addr}/api/v1/live?range=1h").into_client_request().expect("request");
        request.headers_mut().insert("cookie", cookie.parse().expect("cookie"));
        request.headers_mut().insert("origin", origin.parse().expect("origin"));
        request
    };
    // Another site's page cannot open the tail with the visitor's cookie.
    assert!(tokio_tungstenite::connect_async(socket("https://evil.example")).await.is_err(), "refused before the upgrade");
    let (mut tail, _) = tokio_tungstenite::connect_async(socket(&format!("http://{addr}"))).await.expect("own origin");
    loop {
        let Some(Ok(Message::Text(text))) = tail.next().await else { panic!("closed early") };
        if text.contains("\"ready\"") {
            break;
        }
    }
    // An admin ends every session of the account: the tail closes with 4401.
    accounts::end_all_sessions(&pool, id, Actor::system(), Origin::default()).await.expect("end");
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(message)) = tail.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await
    .expect("closed within 10 s");
    assert_eq!(closed, Some(4401));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn auditorium_audits_itself(pool: PgPool) {
    let app = common::app(&pool).await;
    let admin = user(&pool, "root@example.com", Role::Admin).await;
    let member = user(&pool, "ada@example.com", Role::Member).await;
    let _ = sign_in(&app, "ada@example.com", "wrong").await;
    let cookie = sign_in(&app, "root@example.com", PASSWORD).await.1.expect("cookie").0;
    let token = send(&app, json_request(Method::POST, "/api/v1/tokens", json!({"name": "billing", "scope": "ingest"}), Some(&cookie))).await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.text);
    let role = send(&app, json_request(Method::PATCH, &format!("/api/v1/users/{member}"), json!({"role": "auditor"}), Some(&cookie))).await;
    assert_eq!(role.status, StatusCode::OK, "{}", role.text);
    let _ = admin;
    // The entries reach the event store through the outbox (moved in the background).
    let wanted = ["auditorium.session.failed", "auditorium.session.created", "auditorium.token.created", "auditorium.user.role_changed"];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page = send(&app, with_cookie("/api/v1/events?range=1h&source=auditorium&limit=100", &cookie)).await;
        let actions: Vec<String> = page.body["events"].as_array().map(|e| e.iter().filter_map(|e| e["action"].as_str().map(str::to_string)).collect()).unwrap_or_default();
        if wanted.iter().all(|w| actions.iter().any(|a| a == w)) {
            let change = page.body["events"].as_array().expect("events").iter().find(|e| e["action"] == "auditorium.user.role_changed").expect("role change").clone();
            assert_eq!(change["changes"][0], json!({"field": "role", "before": "member", "after": "auditor"}));
            assert_eq!(change["actor"]["email"], "root@example.com");
            let failed = page.body["events"].as_array().expect("events").iter().find(|e| e["action"] == "auditorium.session.failed").expect("failure").clone();
            assert_eq!((failed["outcome"].as_str(), failed["error"].as_str()), (Some("failure"), Some("wrong password")));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "self-audit events appear: {actions:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
