//! Single sign-on against the provider of `common/oidc.rs`, over real HTTP: the good path,
//! every bad answer, who may sign in, several instances, concurrency and abandoned requests.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use app::sso::{MappingRule, SsoSettingsInput};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::oidc::{provider, Code, Fake, Fault, CLIENT_ID, CLIENT_SECRET};
use common::{send, Reply};
use serde_json::{json, Value};
use sqlx::PgPool;

use server::auth::audit::{Actor, Origin};
use server::config::ServeArgs;
use server::state::AppState;
use server::store::users::Role;


struct World {
    pool: PgPool,
    app: Router,
    fake: Arc<Fake>,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rule(group: &str, role: &str, scopes: &[&str]) -> MappingRule {
    MappingRule { group: group.into(), role: role.into(), scopes: scopes.iter().map(|s| s.to_string()).collect() }
}

async fn world(pool: PgPool, password_sign_in: bool) -> World {
    let fake = provider().await;
    let dir = TempDir(std::env::temp_dir().join(format!("auditorium-sso-{}", uuid::Uuid::new_v4().simple())));
    let args = ServeArgs { data_dir: dir.0.clone(), ..ServeArgs::default() };
    let state = AppState::new(pool.clone(), &args).await.expect("state");
    let input = SsoSettingsInput {
        enabled: true,
        display_name: "Test IdP".into(),
        issuer: fake.issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        scopes: vec!["openid email profile groups".into()],
        groups_claim: "groups".into(),
        mappings: vec![rule("sec-team", "auditor", &[]), rule("team-machinery", "member", &["context.team=machinery"])],
        allowed_domains: vec!["example.com".into()],
        create_accounts: true,
        password_sign_in,
    };
    server::auth::sso::settings::save(&pool, &state.secrets, &input, Actor::system(), Origin::default()).await.expect("settings saved");
    World { pool, app: server::serve::router(state), fake, _dir: dir }
}

/// `/sso/start` as a browser: the provider's URL's parameters and the browser cookie.
async fn start(w: &World) -> (HashMap<String, String>, String) {
    let reply = send(&w.app, Request::get("/sso/start?next=%2Fpeople").body(Body::empty()).expect("request")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let location = reply.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).expect("location");
    assert!(location.starts_with(&format!("{}/auth?", w.fake.issuer)), "{location}");
    let url = openidconnect::url::Url::parse(location).expect("url");
    let params: HashMap<String, String> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    for p in ["state", "nonce", "code_challenge", "redirect_uri", "client_id", "scope"] {
        assert!(params.contains_key(p), "{p} in {location}");
    }
    assert_eq!(params["code_challenge_method"], "S256");
    let cookie = reply.headers.get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).expect("browser cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    (params, cookie.split(';').next().expect("cookie").to_string())
}

/// The provider's side of signing in: `subject` signs in; the code it will accept.
fn authorize(w: &World, params: &HashMap<String, String>, subject: &str, fault: Fault) -> String {
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    let entry = Code { nonce: params["nonce"].clone(), challenge: params["code_challenge"].clone(), subject: subject.into(), fault };
    w.fake.codes.lock().expect("lock").insert(code.clone(), entry);
    code
}

async fn callback(w: &World, query: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::get(format!("/sso/callback?{query}"));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(&w.app, request.body(Body::empty()).expect("request")).await
}

fn location(reply: &Reply) -> String {
    reply.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

fn session_cookie(reply: &Reply) -> Option<String> {
    reply.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with("auditorium_session=") && !c.starts_with("auditorium_session=;")).map(|c| c.split(';').next().unwrap_or_default().to_string())
}

fn person(w: &World, subject: &str, email: &str, groups: &[&str]) {
    w.fake.people.lock().expect("lock").insert(subject.into(), (email.into(), groups.iter().map(|g| g.to_string()).collect()));
}

/// A whole sign-in as `subject`; the callback's answer.
async fn sign_in(w: &World, subject: &str, fault: Fault) -> Reply {
    let (params, cookie) = start(w).await;
    let code = authorize(w, &params, subject, fault);
    callback(w, &format!("code={code}&state={}", params["state"]), Some(&cookie)).await
}

async fn me(w: &World, cookie: &str) -> Value {
    let reply = send(&w.app, Request::get("/api/v1/session").header(header::COOKIE, cookie).body(Body::empty()).expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

/// The self-audit entries (written to the outbox with the action they record).
async fn audited(pool: &PgPool, action: &str) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let found: Vec<Value> = sqlx::query_scalar(
            "SELECT event FROM audit_outbox WHERE event->>'action' = $1
             UNION ALL SELECT jsonb_build_object('action', action, 'error', error, 'metadata', metadata, 'changes', changes, 'actor', jsonb_build_object('name', actor_name))
               FROM events WHERE action = $1",
        )
        .bind(action)
        .fetch_all(pool)
        .await
        .expect("audit");
        if !found.is_empty() || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn signing_in_maps_groups_to_role_and_scope_at_every_sign_in(pool: PgPool) {
    let w = world(pool, true).await;
    person(&w, "ada", "Ada@Example.com", &["team-machinery", "unmapped"]);
    let reply = sign_in(&w, "ada", Fault::None).await;
    assert_eq!((reply.status, location(&reply).as_str()), (StatusCode::SEE_OTHER, "/people"), "{}", reply.text);
    let cookie = session_cookie(&reply).expect("a session");
    let who = me(&w, &cookie).await;
    assert_eq!((who["role"].as_str(), who["scopes"].clone()), (Some("member"), json!(["context.team=machinery"])));
    assert_eq!(who["user"]["email"], "ada@example.com");
    assert_eq!(who["user"]["name"], "Person ada");
    let created = audited(&w.pool, "auditorium.user.created").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(audited(&w.pool, "auditorium.session.created").await.iter().any(|e| e["metadata"]["method"] == "sso"));

    // Moved to the security team at the provider: an auditor at the next sign-in.
    person(&w, "ada", "ada@example.com", &["sec-team"]);
    let again = sign_in(&w, "ada", Fault::None).await;
    let who = me(&w, &session_cookie(&again).expect("a session")).await;
    assert_eq!((who["role"].as_str(), who["scopes"].clone()), (Some("auditor"), json!([])));
    let changed = audited(&w.pool, "auditorium.user.role_changed").await;
    assert!(changed.iter().any(|e| e["changes"][0]["after"] == "auditor"), "{changed:?}");

    // A read token an admin made for her acts as her.
    let ada: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users").fetch_one(&w.pool).await.expect("ada");
    let (_, token) = server::store::tokens::create_for(&w.pool, "ada's script", server::store::tokens::Scope::Read, Some(ada)).await.expect("token");
    let by_token = || send(&w.app, Request::get("/api/v1/events?range=1h").header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).expect("request"));
    assert_eq!(by_token().await.status, StatusCode::OK);

    // Removed from every mapped group: refused, and the sessions and tokens they had end.
    person(&w, "ada", "ada@example.com", &["marketing"]);
    let refused = sign_in(&w, "ada", Fault::None).await;
    assert_eq!(location(&refused), "/sign-in?sso_error=no_access");
    assert!(session_cookie(&refused).is_none());
    let old = send(&w.app, Request::get("/api/v1/session").header(header::COOKIE, &cookie).body(Body::empty()).expect("request")).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "an earlier session no longer works");
    assert_eq!(by_token().await.status, StatusCode::UNAUTHORIZED, "nor does her token");
    let refusals = audited(&w.pool, "auditorium.sso.refused").await;
    let refusal = refusals.iter().find(|e| e["error"].as_str().is_some_and(|r| r.contains("marketing"))).unwrap_or_else(|| panic!("{refusals:?}"));
    assert_eq!((&refusal["metadata"]["sessions_ended"], &refusal["metadata"]["tokens_revoked"]), (&json!(2), &json!(1)), "{refusal}");
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&w.pool).await.expect("count");
    assert_eq!(accounts, 1, "one account, linked to its identity at the provider");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn every_bad_answer_is_refused_and_audited(pool: PgPool) {
    let w = world(pool, true).await;
    person(&w, "ada", "ada@example.com", &["sec-team"]);
    for (fault, expected) in [
        (Fault::WrongAudience, "audience"),
        (Fault::Expired, "expired"),
        (Fault::BadSignature, "signature"),
        (Fault::WrongNonce, "nonce"),
    ] {
        let reply = sign_in(&w, "ada", fault).await;
        assert_eq!(location(&reply), "/sign-in?sso_error=token", "{fault:?}: {}", reply.text);
        assert!(session_cookie(&reply).is_none(), "{fault:?} signs nobody in");
        let refusals = audited(&w.pool, "auditorium.sso.refused").await;
        assert!(
            refusals.iter().any(|e| e["error"].as_str().is_some_and(|r| r.to_lowercase().contains(expected))),
            "{fault:?} audited with its reason: {refusals:?}"
        );
    }

    // A state nobody issued, and one answered to another browser.
    let (params, cookie) = start(&w).await;
    let code = authorize(&w, &params, "ada", Fault::None);
    let forged = callback(&w, &format!("code={code}&state=made-up"), Some(&cookie)).await;
    assert_eq!(location(&forged), "/sign-in?sso_error=state");
    let elsewhere = callback(&w, &format!("code={code}&state={}", params["state"]), Some("auditorium_sso=another-browser")).await;
    assert_eq!(location(&elsewhere), "/sign-in?sso_error=state");
    assert!(session_cookie(&elsewhere).is_none());

    // A good answer works once: the same answer again, or its code with a fresh state, not.
    let (params, cookie) = start(&w).await;
    let code = authorize(&w, &params, "ada", Fault::None);
    let query = format!("code={code}&state={}", params["state"]);
    assert!(session_cookie(&callback(&w, &query, Some(&cookie)).await).is_some());
    let replayed = callback(&w, &query, Some(&cookie)).await;
    assert_eq!(location(&replayed), "/sign-in?sso_error=state");
    let (fresh, fresh_cookie) = start(&w).await;
    let reused = callback(&w, &format!("code={code}&state={}", fresh["state"]), Some(&fresh_cookie)).await;
    assert_eq!(location(&reused), "/sign-in?sso_error=code");
    assert!(session_cookie(&reused).is_none());

    // The provider says no (the person cancelled), or another issuer answers.
    let (params, cookie) = start(&w).await;
    let denied = callback(&w, &format!("error=access_denied&state={}", params["state"]), Some(&cookie)).await;
    assert_eq!(location(&denied), "/sign-in?sso_error=provider");
    let (params, cookie) = start(&w).await;
    let code = authorize(&w, &params, "ada", Fault::None);
    let mixed = callback(&w, &format!("code={code}&state={}&iss=https%3A%2F%2Fevil.example", params["state"]), Some(&cookie)).await;
    assert_eq!(location(&mixed), "/sign-in?sso_error=provider");

    let refusals = audited(&w.pool, "auditorium.sso.refused").await;
    for reason in ["unknown or was already used", "another browser", "refused the code", "access_denied", "another issuer"] {
        assert!(refusals.iter().any(|e| e["error"].as_str().is_some_and(|r| r.contains(reason))), "{reason}: {refusals:?}");
    }
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&w.pool).await.expect("count");
    assert_eq!(sessions, 1, "only the one good answer opened a session");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn who_may_sign_in_and_with_what(pool: PgPool) {
    let w = world(pool, false).await;
    // Another domain, and (with account creation off) someone not invited.
    person(&w, "eve", "eve@elsewhere.example", &["sec-team"]);
    assert_eq!(location(&sign_in(&w, "eve", Fault::None).await), "/sign-in?sso_error=domain");
    sqlx::query("UPDATE sso_settings SET create_accounts = false").execute(&w.pool).await.expect("invite only");
    person(&w, "bob", "bob@example.com", &["sec-team"]);
    assert_eq!(location(&sign_in(&w, "bob", Fault::None).await), "/sign-in?sso_error=not_invited");

    // Invited people sign in (their account is linked); password sign-in is off for all but admins.
    let password = "correct horse battery staple";
    for (email, role) in [("bob@example.com", Role::Member), ("root@example.com", Role::Admin)] {
        server::auth::accounts::create_user(&w.pool, email, None, role, &["actor.id=x".to_string()], Some(password.into()), Actor::system(), Origin::default())
            .await
            .expect("invited");
    }
    let bob = sign_in(&w, "bob", Fault::None).await;
    let who = me(&w, &session_cookie(&bob).expect("invited bob signs in")).await;
    assert_eq!(who["role"], "auditor", "the groups decide, not the invitation");
    let by_password = |email: &'static str| {
        let app = w.app.clone();
        async move {
            let body = json!({"email": email, "password": password}).to_string();
            send(&app, Request::post("/api/v1/session").header(header::CONTENT_TYPE, "application/json").body(Body::from(body)).expect("request")).await
        }
    };
    let bob_password = by_password("bob@example.com").await;
    assert_eq!(bob_password.status, StatusCode::FORBIDDEN, "{}", bob_password.text);
    assert!(bob_password.text.contains("single sign-on"), "{}", bob_password.text);
    let root = by_password("root@example.com").await;
    assert_eq!(root.status, StatusCode::OK, "the break-glass admin still signs in");
    let root_cookie = session_cookie(&root).expect("admin session");

    // Someone at the provider whose email is not said to be verified does not get root's
    // account; nor does root's own identity there demote the last admin (left as they are).
    person(&w, "mallory", "root@example.com", &["sec-team"]);
    w.fake.unverified.lock().expect("lock").insert("mallory".into());
    assert_eq!(location(&sign_in(&w, "mallory", Fault::None).await), "/sign-in?sso_error=unverified_email");
    person(&w, "root", "root@example.com", &["sec-team"]);
    assert_eq!(location(&sign_in(&w, "root", Fault::None).await), "/sign-in?sso_error=last_admin");
    assert_eq!(me(&w, &root_cookie).await["role"], "admin", "the last admin keeps their role and session");
    let refusals = audited(&w.pool, "auditorium.sso.refused").await;
    assert!(refusals.iter().any(|e| e["error"].as_str().is_some_and(|r| r.contains("email_verified"))), "{refusals:?}");
    assert!(refusals.iter().any(|e| e["error"].as_str().is_some_and(|r| r.contains("last active admin"))), "{refusals:?}");
    let listed = send(&w.app, Request::get("/api/v1/users").header(header::COOKIE, &root_cookie).body(Body::empty()).expect("request")).await;
    let sso: Vec<(String, bool)> = listed.body["users"].as_array().expect("users").iter().map(|u| (u["email"].as_str().unwrap_or_default().to_string(), u["sso"] == true)).collect();
    assert!(sso.contains(&("bob@example.com".into(), true)) && sso.contains(&("root@example.com".into(), false)), "the Users page tells who signs in with single sign-on: {sso:?}");
    let options = send(&w.app, Request::get("/api/v1/sso").body(Body::empty()).expect("request")).await;
    assert_eq!(options.body, json!({"sso": true, "name": "Test IdP", "password": false}));

    // Signing out of a single-sign-on session ends the provider's session too.
    let cookie = session_cookie(&bob).expect("session");
    let out = send(
        &w.app,
        Request::post("/sign-out").header(header::COOKIE, &cookie).header(header::ORIGIN, "http://127.0.0.1:3000").header(header::HOST, "127.0.0.1:3000")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::empty()).expect("request"),
    )
    .await;
    let to = location(&out);
    assert!(to.starts_with(&format!("{}/logout?", w.fake.issuer)), "{to}");
    assert!(to.contains("id_token_hint=") && to.contains("post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fsign-in%3Fsigned_out%3D1"), "{to}");
    let csp = out.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(csp.contains(&format!("form-action 'self' {}", w.fake.issuer)), "pages may send the browser on to the provider: {csp}");

    // The settings as an admin sees them: the secret is stored sealed and never shown.
    let stored: String = sqlx::query_scalar("SELECT client_secret FROM sso_settings").fetch_one(&w.pool).await.expect("secret");
    assert!(stored.starts_with("v1:") && !stored.contains(CLIENT_SECRET));
    let changes = audited(&w.pool, "auditorium.sso.settings_changed").await;
    assert!(!changes.iter().any(|e| e.to_string().contains(CLIENT_SECRET)), "the secret is not in the audit log");
    let secret_changes: Vec<&Value> = changes.iter().flat_map(|e| e["changes"].as_array().into_iter().flatten()).filter(|c| c["field"] == "client_secret").collect();
    assert_eq!(secret_changes, vec![&json!({"field": "client_secret", "before": null, "after": "(changed)"})], "setting the secret is recorded once, without it");
    assert!(changes.iter().any(|e| e["changes"].as_array().is_some_and(|c| c.iter().any(|c| c["field"] == "mappings"))), "the mapping rules are in the record");

    // An admin's test that cannot reach the provider says why on the admin page (from the
    // settings, not from text in the URL).
    sqlx::query("UPDATE sso_settings SET issuer = 'http://127.0.0.1:9'").execute(&w.pool).await.expect("unreachable issuer");
    let test = send(&w.app, Request::get("/sso/start?test=1").header(header::COOKIE, &root_cookie).body(Body::empty()).expect("request")).await;
    assert_eq!(location(&test), "/admin/sso?tested=1");
    let last: Value = sqlx::query_scalar("SELECT last_test FROM sso_settings").fetch_one(&w.pool).await.expect("last test");
    assert!(last["outcome"].as_str().is_some_and(|o| o.starts_with("Refused: ") && o.contains("127.0.0.1:9")) && last["allowed"] == false, "{last}");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn sign_ins_hold_up_across_instances_concurrency_and_abandoned_requests(pool: PgPool) {
    let w = world(pool, true).await;
    person(&w, "ada", "ada@example.com", &["sec-team"]);
    let sessions = |pool: PgPool| async move { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sessions").fetch_one(&pool).await.expect("count") };

    // Started on one instance, finished on another (behind a load balancer).
    let args = ServeArgs { data_dir: w._dir.0.clone(), ..ServeArgs::default() };
    let other = server::serve::router(AppState::new(w.pool.clone(), &args).await.expect("second instance"));
    let (params, cookie) = start(&w).await;
    let code = authorize(&w, &params, "ada", Fault::None);
    let request = Request::get(format!("/sso/callback?code={code}&state={}", params["state"])).header(header::COOKIE, &cookie).body(Body::empty()).expect("request");
    assert!(session_cookie(&send(&other, request).await).is_some(), "the other instance finishes the sign-in");

    // One answer sent 20 times at once, to both instances: exactly one session.
    let before = sessions(w.pool.clone()).await;
    let (params, cookie) = start(&w).await;
    let code = authorize(&w, &params, "ada", Fault::None);
    let uri = format!("/sso/callback?code={code}&state={}", params["state"]);
    let replies = futures::future::join_all((0..20).map(|i| {
        let app = if i % 2 == 0 { w.app.clone() } else { other.clone() };
        let request = Request::get(&uri).header(header::COOKIE, &cookie).body(Body::empty()).expect("request");
        async move { send(&app, request).await }
    }))
    .await;
    assert_eq!(replies.iter().filter(|r| session_cookie(r).is_some()).count(), 1, "one sign-in per answer");
    assert!(replies.iter().all(|r| r.status == StatusCode::SEE_OTHER));
    assert_eq!(sessions(w.pool.clone()).await, before + 1);

    // Thirty people at once, each with their own groups.
    for i in 0..30 {
        person(&w, &format!("p{i}"), &format!("p{i}@example.com"), if i % 2 == 0 { &["sec-team"] } else { &["team-machinery"] });
    }
    let names: Vec<String> = (0..30).map(|i| format!("p{i}")).collect();
    let signed: Vec<Reply> = futures::future::join_all(names.iter().map(|name| sign_in(&w, name, Fault::None))).await;
    assert!(signed.iter().all(|r| session_cookie(r).is_some()), "{:?}", signed.iter().map(location).collect::<Vec<_>>());
    let members: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'member' AND scopes = '{context.team=machinery}'").fetch_one(&w.pool).await.expect("count");
    assert_eq!(members, 15);

    // The browser gives up while the provider is slow: the sign-in finishes in the background
    // without leaving anything half-written, and the next one works.
    w.fake.delay_ms.store(400, std::sync::atomic::Ordering::Relaxed);
    let before = sessions(w.pool.clone()).await;
    let (params, cookie) = start(&w).await;
    let code = authorize(&w, &params, "ada", Fault::None);
    let abandoned = tokio::time::timeout(Duration::from_millis(50), callback(&w, &format!("code={code}&state={}", params["state"]), Some(&cookie))).await;
    assert!(abandoned.is_err(), "the request was abandoned");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while sessions(w.pool.clone()).await != before + 1 {
        assert!(std::time::Instant::now() < deadline, "the abandoned sign-in still completes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    w.fake.delay_ms.store(0, std::sync::atomic::Ordering::Relaxed);
    assert!(session_cookie(&sign_in(&w, "ada", Fault::None).await).is_some());
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM sso_logins").fetch_one(&w.pool).await.expect("count");
    assert_eq!(pending, 0, "every answered sign-in is gone from the pending table");
}
