//! Streaming to SIEMs with real receivers started by the tests: a HEC-speaking server, a
//! webhook receiver that verifies signatures, and rsyslog (Debian's, with its TLS module)
//! writing what it receives to a file. Every matching event (and no other) arrives at
//! least once, in commit order; outages are shown, audited and caught up.

mod common;

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;

use common::forward::{committed, create, destination, first_arrivals, ingest_projects, request, setup, setup_allowing, wait_until};
use common::receivers::Receiver;
use common::send;

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn hec_and_webhook_receive_exactly_the_matching_events_in_commit_order(pool: PgPool) {
    let s = setup(&pool).await;
    let hec = Receiver::hec("hec-token-7f3a").await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let hook = Receiver::webhook(secret).await;
    let hec_id = create(&s, json!({"name": "Splunk", "kind": "splunk_hec", "enabled": true, "url": hec.url(), "secret": "hec-token-7f3a",
        "filter": "range=7d&action=project.*&outcome=failure", "index": "audit", "sourcetype": "auditorium:event"})).await["id"].as_str().expect("id").to_string();
    let hook_id = create(&s, json!({"name": "Hook", "kind": "webhook", "enabled": true, "url": hook.url(), "secret": secret, "filter": "action=project.*"})).await["id"]
        .as_str()
        .expect("id")
        .to_string();

    ingest_projects(&s, 600).await;
    let failures = committed(&pool, "e.action LIKE 'project.%' AND e.outcome = 'failure'").await;
    let projects = committed(&pool, "e.action LIKE 'project.%'").await;
    assert_eq!((failures.len(), projects.len()), (200, 600));
    wait_until("both receivers have their events", 30, || async { hec.ids().len() >= 200 && hook.ids().len() >= 600 }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // One sender, nothing failed: exactly once, in commit order, nothing else.
    assert_eq!(hec.ids(), failures, "HEC: the failures only, in commit order");
    assert_eq!(hook.ids(), projects, "webhook: every project event, in commit order");
    assert!(hec.refused().is_empty() && hook.refused().is_empty(), "{:?} {:?}", hec.refused(), hook.refused());
    let envelope = hec.with(|r| r.envelopes[0].clone());
    assert_eq!((envelope["index"].as_str(), envelope["sourcetype"].as_str()), (Some("audit"), Some("auditorium:event")), "{envelope}");
    assert!(envelope["time"].as_f64().is_some_and(|t| t > 1.7e9) && envelope["host"].is_string());
    assert!(hook.with(|r| r.ids.iter().all(|id| id.starts_with("msg_"))));

    // The status: delivered counts, up to date; the secrets are never shown.
    wait_until("the checkpoints are stored", 10, || async { destination(&s, &hec_id).await["status"]["delivered"] == 200 }).await;
    let shown = destination(&s, &hook_id).await;
    assert_eq!((shown["status"]["state"].as_str(), shown["status"]["delivered"].as_i64()), (Some("ok"), Some(600)), "{shown}");
    assert_eq!((shown["has_secret"].as_bool(), shown.get("secret")), (Some(true), None));
    let list = send(&s.app, request("GET", "/api/v1/destinations", &s.admin, None)).await;
    assert!(!list.text.contains("hec-token-7f3a") && !list.text.contains(secret), "secrets are write-only");
    let stored: Vec<String> = sqlx::query_scalar("SELECT secret FROM destinations").fetch_all(&pool).await.expect("secrets");
    assert!(stored.iter().all(|s| !s.contains("hec-token") && !s.contains("whsec_")), "sealed at rest: {stored:?}");
    // The filter was kept without its time range.
    assert_eq!(destination(&s, &hec_id).await["filter"], "action=project.*&outcome=failure");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_receiver_down_then_back_gets_everything_and_the_outage_is_shown_and_audited(pool: PgPool) {
    let s = setup(&pool).await;
    let mut hec = Receiver::hec("tok").await;
    let id = create(&s, json!({"name": "Splunk", "kind": "splunk_hec", "enabled": true, "url": hec.url(), "secret": "tok", "filter": "action=project.*"})).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    ingest_projects(&s, 100).await;
    wait_until("the first events arrive", 20, || async { hec.ids().len() >= 100 }).await;

    hec.stop();
    ingest_projects(&s, 300).await;
    wait_until("the destination shows red", 20, || async { destination(&s, &id).await["status"]["state"] == "failing" }).await;
    let down = destination(&s, &id).await["status"].clone();
    assert!(down["last_error"].as_str().is_some_and(|e| e.contains("connect")), "{down}");
    assert!(down["lag_events"].as_i64().is_some_and(|n| n >= 300) && down["lag_seconds"].as_i64().is_some(), "{down}");
    assert!(down["failing_since"].is_string());
    wait_until("the failure is audited", 20, || async { common::count_events_where(&pool, "action = 'auditorium.destination.failing' AND outcome = 'failure'", "events").await == 1 }).await;

    hec.restart().await;
    let expected = committed(&pool, "e.action LIKE 'project.%'").await;
    wait_until("everything arrives after the outage", 30, || async { first_arrivals(&hec.ids()).len() >= 400 }).await;
    assert_eq!(first_arrivals(&hec.ids()), expected, "every event at least once, in commit order");
    wait_until("the recovery is shown and audited", 20, || async {
        destination(&s, &id).await["status"]["state"] == "ok" && common::count_events_where(&pool, "action = 'auditorium.destination.recovered'", "events").await == 1
    })
    .await;
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_test_button_sends_one_event_and_shows_the_answer(pool: PgPool) {
    let s = setup(&pool).await;
    let hec = Receiver::hec("right").await;
    let good = create(&s, json!({"name": "Good", "kind": "splunk_hec", "enabled": false, "url": hec.url(), "secret": "right"})).await["id"].as_str().expect("id").to_string();
    let bad = create(&s, json!({"name": "Bad", "kind": "splunk_hec", "enabled": false, "url": hec.url(), "secret": "wrong"})).await["id"].as_str().expect("id").to_string();
    let test = |id: String| {
        let s = &s;
        async move { send(&s.app, request("POST", &format!("/api/v1/destinations/{id}/test"), &s.admin, None)).await.body }
    };
    let answer = test(good).await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert!(answer["answer"].as_str().is_some_and(|a| a.contains("HTTP 200") && a.contains("Success")), "{answer}");
    assert_eq!(hec.with(|r| r.events.iter().map(|e| e["action"].clone()).collect::<Vec<_>>()), [json!("auditorium.destination.test")]);
    let answer = test(bad).await;
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(answer["answer"].as_str().is_some_and(|a| a.contains("HTTP 401") && a.contains("Invalid token")), "{answer}");
    // A paused destination sends nothing by itself.
    ingest_projects(&s, 10).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(hec.ids().len(), 1, "only the test event");
    wait_until("the tests are audited", 20, || async { common::count_events_where(&pool, "action = 'auditorium.destination.tested'", "events").await == 2 }).await;
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn destinations_are_checked_and_a_webhook_secret_is_made_once(pool: PgPool) {
    let s = setup(&pool).await;
    let reply = send(&s.app, request("POST", "/api/v1/destinations", &s.admin, Some(&json!({"name": "", "kind": "splunk_hec", "url": "splunk:8088"})))).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    let fields: Vec<&str> = reply.body["error"]["details"].as_array().expect("details").iter().filter_map(|d| d["field"].as_str()).collect();
    assert_eq!(fields, ["name", "url", "secret"], "{}", reply.text);
    let made = create(&s, json!({"name": "Hook", "kind": "webhook", "url": "https://hooks.example.com/in"})).await;
    let secret = made["secret"].as_str().expect("a secret was made");
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    let again = send(&s.app, request("POST", "/api/v1/destinations", &s.admin, Some(&json!({"name": "hook", "kind": "webhook", "url": "https://x.example.com"})))).await;
    assert_eq!((again.status.as_u16(), again.body["error"]["details"][0]["field"].as_str()), (422, Some("name")), "names are unique: {}", again.text);
    // A change keeps the secret when none is given; the change is audited.
    let id = made["id"].as_str().expect("id");
    let changed = send(&s.app, request("PUT", &format!("/api/v1/destinations/{id}"), &s.admin, Some(&json!({"name": "Hook", "kind": "webhook", "url": "https://hooks.example.com/v2"})))).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!((changed.body["has_secret"].as_bool(), changed.body["url"].as_str(), changed.body["enabled"].as_bool()), (Some(true), Some("https://hooks.example.com/v2"), Some(false)));
    let kind = send(&s.app, request("PUT", &format!("/api/v1/destinations/{id}"), &s.admin, Some(&json!({"name": "Hook", "kind": "splunk_hec", "url": "https://hooks.example.com/v2"})))).await;
    assert_eq!((kind.status.as_u16(), kind.body["error"]["details"][0]["field"].as_str()), (422, Some("kind")), "{}", kind.text);
    wait_until("the change is audited", 20, || async { common::count_events_where(&pool, "action = 'auditorium.destination.changed'", "events").await == 1 }).await;
    let deleted = send(&s.app, request("DELETE", &format!("/api/v1/destinations/{id}"), &s.admin, None)).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(send(&s.app, request("GET", &format!("/api/v1/destinations/{id}"), &s.admin, None)).await.status, 404);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn with_webhook_allow_only_listed_hosts_can_be_destinations(pool: PgPool) {
    let s = setup_allowing(&pool, &["*.corp.example", "siem.example.com"]).await;
    let refused = [
        (json!({"name": "a", "kind": "webhook", "url": "https://169.254.169.254/latest"}), "url"),
        (json!({"name": "b", "kind": "syslog", "host": "10.0.0.7"}), "host"),
    ];
    for (body, field) in refused {
        let reply = send(&s.app, request("POST", "/api/v1/destinations", &s.admin, Some(&body))).await;
        assert_eq!((reply.status.as_u16(), reply.body["error"]["details"][0]["field"].as_str()), (422, Some(field)), "{}", reply.text);
    }
    create(&s, json!({"name": "c", "kind": "webhook", "url": "https://hooks.corp.example/in"})).await;
    create(&s, json!({"name": "d", "kind": "syslog", "host": "siem.example.com"})).await;
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_collector_that_refuses_large_batches_gets_smaller_ones(pool: PgPool) {
    let s = setup(&pool).await;
    let hec = Receiver::hec_limited("tok", 150).await;
    // Paused while 1,000 events arrive, so the first batch after resuming is too large.
    let settings = json!({"name": "Small", "kind": "splunk_hec", "enabled": false, "url": hec.url(), "secret": "tok", "filter": "action=project.*"});
    let id = create(&s, settings.clone()).await["id"].as_str().expect("id").to_string();
    ingest_projects(&s, 1_000).await;
    let mut resumed = settings;
    resumed["enabled"] = json!(true);
    assert_eq!(send(&s.app, request("PUT", &format!("/api/v1/destinations/{id}"), &s.admin, Some(&resumed))).await.status, 200);
    let expected = committed(&pool, "e.action LIKE 'project.%'").await;
    wait_until("everything arrives in batches it takes", 60, || async { first_arrivals(&hec.ids()).len() >= 1_000 }).await;
    assert_eq!(first_arrivals(&hec.ids()), expected, "every event, in commit order");
    let refused = hec.refused();
    assert!(!refused.is_empty() && refused.iter().all(|r| r == "too large"), "{refused:?}");
    assert!(hec.with(|r| r.envelopes.len()) >= 1_000);
}
