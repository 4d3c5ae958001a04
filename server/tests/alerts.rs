//! Alert rules against real PostgreSQL and a real webhook receiver started by the test: a
//! crossing fires exactly once — across a restart in the middle of the window and with two
//! instances running — and the receiver checks the Standard Webhooks signature itself.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::alerts::{NewAlertRule, Threshold, Webhook};
use axum::http::HeaderMap;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use server::auth::audit::Origin;
use server::config::ServeArgs;
use server::state::AppState;
use sha2::Sha256;
use sqlx::PgPool;

const SECRET: &str = "whsec_c2VjcmV0LWZvci10aGUtYWxlcnRzLXRlc3QtMTIzNDU2";

/// What the receiver got: (signature valid, body).
type Received = Arc<Mutex<Vec<(bool, Value)>>>;

/// A webhook receiver on a loopback port that verifies each delivery's signature the way the
/// Standard Webhooks specification says (its own HMAC, not the server's code).
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let keep = keep.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                let key = base64::engine::general_purpose::STANDARD
                    .decode(SECRET.trim_start_matches("whsec_"))
                    .expect("key");
                let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("mac");
                mac.update(
                    format!(
                        "{}.{}.{}",
                        header("webhook-id"),
                        header("webhook-timestamp"),
                        body
                    )
                    .as_bytes(),
                );
                let expected = format!(
                    "v1,{}",
                    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
                );
                let fresh = header("webhook-timestamp")
                    .parse::<i64>()
                    .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
                let valid = fresh
                    && header("webhook-signature")
                        .split(' ')
                        .any(|s| s == expected);
                keep.lock()
                    .expect("lock")
                    .push((valid, serde_json::from_str(&body).unwrap_or(Value::Null)));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), got)
}

async fn instance(pool: &PgPool) -> AppState {
    AppState::new(pool.clone(), &ServeArgs::default())
        .await
        .expect("state")
}

async fn rule(pool: &PgPool, url: &str, view: &str, count: u32, per: Option<&str>) -> String {
    let new = NewAlertRule {
        name: "Failed sign-ins".into(),
        view: view.into(),
        threshold: Threshold {
            count,
            window: "10m".into(),
            per: per.map(str::to_string),
        },
        webhook: Some(Webhook {
            url: url.into(),
            secret: Some(SECRET.into()),
        }),
    };
    server::alerts::rules::create(
        pool,
        &common::admin_principal(),
        &new,
        &[],
        Origin::default(),
    )
    .await
    .expect("rule")
    .id
}

fn login(actor: &str, minutes_ago: i64) -> Value {
    json!({
        "action": "user.login",
        "outcome": "failure",
        "occurred_at": (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes_ago)).to_rfc3339(),
        "actor": {"id": actor, "name": actor, "type": "user"},
        "ip": "203.0.113.9",
    })
}

async fn store(state: &AppState, events: &[Value]) -> Vec<String> {
    server::ingest::ingest(&state.ingestor, events)
        .await
        .expect("ingest")
        .iter()
        .map(|r| r.id.to_string())
        .collect()
}

async fn firings(pool: &PgPool, rule: &str) -> Vec<(String, Vec<uuid::Uuid>)> {
    sqlx::query_as("SELECT group_value, event_ids FROM alert_firings WHERE rule_id = $1::uuid ORDER BY fired_at")
        .bind(rule)
        .fetch_all(pool)
        .await
        .expect("firings")
}

/// Waits until `check` holds (the evaluator and deliverer run in the background).
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    for _ in 0..150 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_crossing_fires_once_across_a_restart_in_the_middle_of_the_window(pool: PgPool) {
    let (url, received) = receiver().await;
    let first = instance(&pool).await;
    let rule = rule(
        &pool,
        &url,
        "action=user.login&outcome=failure",
        3,
        Some("actor.id"),
    )
    .await;
    // Two failures for ada, one for bob: nobody has reached 3.
    let mut ada = store(&first, &[login("ada", 4), login("ada", 3), login("bob", 3)]).await;
    ada.truncate(2);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        firings(&pool, &rule).await.is_empty(),
        "below the threshold nothing fires"
    );

    // Restart: the first instance stops, a new one takes over in the middle of the window.
    first.live.shut_down();
    let second = instance(&pool).await;
    ada.extend(store(&second, &[login("ada", 1)]).await);
    eventually("one firing", || async {
        firings(&pool, &rule).await.len() == 1
    })
    .await;
    let fired = firings(&pool, &rule).await;
    assert_eq!(fired[0].0, "ada");
    let mut ids: Vec<String> = fired[0].1.iter().map(|u| u.to_string()).collect();
    ids.sort();
    ada.sort();
    assert_eq!(ids, ada, "the firing names the three events of the window");

    // The receiver got it once, correctly signed, with the rule, window and events.
    eventually("the webhook", || async {
        !received.lock().expect("lock").is_empty()
    })
    .await;
    // More failures while above the threshold are the same crossing: nothing new fires.
    store(&second, &[login("ada", 0), login("ada", 0)]).await;
    // A restart after the firing does not fire it again.
    second.live.shut_down();
    let third = instance(&pool).await;
    store(&third, &[login("bob", 0)]).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(firings(&pool, &rule).await.len(), 1, "exactly once");
    let got = received.lock().expect("lock").clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let (valid, body) = &got[0];
    assert!(valid, "the signature verifies: {body}");
    assert_eq!(body["rule"]["id"], rule);
    assert_eq!(body["group"], json!({"field": "actor.id", "value": "ada"}));
    assert_eq!(body["count"], 3);
    assert!(
        body["link"]
            .as_str()
            .is_some_and(|l| l.contains("actor.id=ada")),
        "{body}"
    );
    // The firing is in the notification list and in Auditorium's own audit log.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_outbox WHERE event->>'action' = 'auditorium.alert.fired'",
    )
    .fetch_one(&pool)
    .await
    .expect("outbox");
    let moved: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE action = 'auditorium.alert.fired'")
            .fetch_one(&pool)
            .await
            .expect("events");
    assert_eq!(audited + moved, 1, "the firing is audited once");
    third.live.shut_down();
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn two_instances_fire_each_crossing_once(pool: PgPool) {
    let (url, received) = receiver().await;
    let a = instance(&pool).await;
    let b = instance(&pool).await;
    let rule = rule(&pool, &url, "action=user.login&outcome=failure", 2, None).await;
    // Give both a moment to see the rule, then cross it twice (two bursts an hour apart in
    // event time: the window empties between them).
    tokio::time::sleep(Duration::from_secs(3)).await;
    store(&a, &[login("ada", 70), login("cy", 69)]).await;
    store(&b, &[login("bob", 2), login("dee", 1)]).await;
    eventually("two firings", || async {
        firings(&pool, &rule).await.len() >= 2
    })
    .await;
    eventually("two deliveries", || async {
        received.lock().expect("lock").len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(firings(&pool, &rule).await.len(), 2);
    let got = received.lock().expect("lock").clone();
    assert_eq!(got.len(), 2, "each firing delivered once: {got:?}");
    assert!(got.iter().all(|(valid, _)| *valid));
    a.live.shut_down();
    b.live.shut_down();
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_silenced_rule_does_not_fire_and_a_bad_rule_is_refused(pool: PgPool) {
    let (url, _) = receiver().await;
    let state = instance(&pool).await;
    let id = rule(&pool, &url, "action=user.login", 1, None).await;
    let admin = common::admin_principal();
    let change = app::alerts::AlertRuleChange {
        enabled: Some(false),
    };
    server::alerts::rules::change(&pool, &admin, &id, &change, Origin::default())
        .await
        .expect("silence");
    tokio::time::sleep(Duration::from_secs(3)).await;
    store(&state, &[login("ada", 0)]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(firings(&pool, &rule_id(&id)).await.is_empty());
    let bad = NewAlertRule {
        name: "x".into(),
        view: "colour=red".into(),
        threshold: Threshold {
            count: 0,
            window: "soon".into(),
            per: None,
        },
        webhook: Some(Webhook {
            url: url.clone(),
            secret: Some("not-a-secret".into()),
        }),
    };
    let refused = server::alerts::rules::create(&pool, &admin, &bad, &[], Origin::default())
        .await
        .expect_err("refused");
    let message = refused.to_string();
    for field in [
        "view",
        "threshold.count",
        "threshold.window",
        "webhook.secret",
    ] {
        assert!(message.contains(field), "{field} named in {message}");
    }
    // Webhook targets can be restricted.
    let good = NewAlertRule {
        view: "action=x".into(),
        threshold: Threshold {
            count: 1,
            window: "1m".into(),
            per: None,
        },
        ..bad
    };
    let elsewhere = NewAlertRule {
        webhook: Some(Webhook {
            url: url.clone(),
            secret: None,
        }),
        ..good
    };
    let refused = server::alerts::rules::create(
        &pool,
        &admin,
        &elsewhere,
        &["hooks.example.com".into()],
        Origin::default(),
    )
    .await;
    assert!(refused.is_err_and(|e| e.to_string().contains("--webhook-allow")));
    state.live.shut_down();
}

fn rule_id(id: &str) -> String {
    id.to_string()
}
