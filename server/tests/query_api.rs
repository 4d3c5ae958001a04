//! The read API against a real PostgreSQL: operators, search, ranges, pagination, totals,
//! errors, one event, fields and autocomplete values, read access.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use common::*;
use serde_json::{json, Value};
use server::store::tokens::Scope;
use sqlx::PgPool;

/// Stores a small, known log: 12 events over the last 3 days.
async fn seed(pool: &PgPool) -> axum::Router {
    let app = app(pool).await;
    let t = token(pool, Scope::Ingest).await;
    let now = Utc::now();
    let at = |minutes: i64| (now - Duration::minutes(minutes)).to_rfc3339();
    let e = |minutes: i64, action: &str, method: &str, status: u16, cluster: &str, actor: &str| {
        json!({
            "occurred_at": at(minutes), "action": action, "method": method, "status": status,
            "actor": { "id": actor, "name": format!("Name {actor}"), "type": if actor.starts_with('t') { "api_token" } else { "user" } },
            "resource": { "type": action.split('.').next().unwrap_or("x"), "name": format!("{action} target") },
            "context": { "cluster": cluster }, "path": format!("/api/{action}"),
        })
    };
    let events = json!([
        e(5, "user.login", "POST", 200, "prod-eu", "u1"),
        e(10, "user.logout", "POST", 200, "prod-eu", "u1"),
        e(15, "project.created", "POST", 201, "prod-us", "u2"),
        e(20, "project.updated", "PATCH", 200, "prod-us", "u2"),
        e(25, "project.viewed", "GET", 200, "prod-eu", "u3"),
        e(30, "project.deleted", "DELETE", 403, "prod-eu", "u3"),
        e(35, "deployment.started", "POST", 503, "staging", "t1"),
        e(40, "deployment.started", "POST", 500, "prod-eu", "t1"),
        e(45, "project.viewed", "GET", 404, "prod-us", "u1"),
        e(60 * 30, "user.login", "POST", 200, "prod-eu", "u2"),
        e(60 * 50, "project.updated", "PATCH", 200, "prod-us", "u3"),
        e(60 * 70, "user.login", "POST", 401, "prod-eu", "u4"),
    ]);
    let reply = ingest(&app, &t, &events).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    app
}

async fn actions(app: &axum::Router, query: &str) -> Vec<String> {
    let reply = send(app, read(&format!("/api/v1/events?{query}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
    reply.body["events"].as_array().expect("events").iter().map(|e| e["action"].as_str().unwrap_or("").to_string()).collect()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn operators_wildcards_status_classes_and_search(pool: PgPool) {
    let app = seed(&pool).await;
    assert_eq!(actions(&app, "range=24h").await.len(), 9, "the default window holds the last 24 hours");
    assert_eq!(actions(&app, "range=7d").await.len(), 12);
    assert_eq!(actions(&app, "range=24h&action=user.login").await, vec!["user.login"]);
    assert_eq!(actions(&app, "range=24h&action=user.login,user.logout").await, vec!["user.login", "user.logout"]);
    assert_eq!(actions(&app, "range=24h&method!=GET").await.len(), 7);
    assert_eq!(actions(&app, "range=24h&method!=GET,POST").await, vec!["project.updated", "project.deleted"]);
    assert_eq!(actions(&app, "range=24h&action=project.*&method!=GET").await, vec!["project.created", "project.updated", "project.deleted"]);
    assert_eq!(actions(&app, "range=24h&status=5xx").await, vec!["deployment.started", "deployment.started"]);
    assert_eq!(actions(&app, "range=24h&status=4xx,201").await, vec!["project.created", "project.deleted", "project.viewed"]);
    assert_eq!(actions(&app, "range=24h&outcome=failure&actor.type=api_token").await.len(), 2);
    assert_eq!(actions(&app, "range=24h&context.cluster=staging").await, vec!["deployment.started"]);
    assert_eq!(actions(&app, "range=24h&context.cluster!=prod-eu,prod-us").await, vec!["deployment.started"]);
    assert_eq!(actions(&app, "range=24h&path=/api/user.*").await, vec!["user.login", "user.logout"]);
    assert_eq!(actions(&app, "range=24h&q=DEPLOYMENT.STA").await.len(), 2, "search ignores case");
    assert_eq!(actions(&app, "range=24h&q=name%20u3").await, vec!["project.viewed", "project.deleted"], "search covers actor names");
    assert_eq!(actions(&app, "range=7d&actor.id=u4").await, vec!["user.login"]);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn totals_are_exact_and_match_the_rows(pool: PgPool) {
    let app = seed(&pool).await;
    for query in ["range=24h", "range=24h&method!=GET", "range=7d&status=5xx", "range=24h&context.cluster=prod-eu", "range=24h&q=project"] {
        let reply = send(&app, read(&format!("/api/v1/events?{query}&limit=500"))).await;
        let rows = reply.body["events"].as_array().expect("events").len() as u64;
        assert_eq!(reply.body["total"], json!({ "count": rows, "exact": true }), "{query}");
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn walking_pages_yields_every_event_once_even_with_equal_times(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    let same_time = (Utc::now() - Duration::minutes(3)).to_rfc3339();
    let events: Vec<Value> = (0..23)
        .map(|i| {
            let mut e = event(i);
            e["occurred_at"] = json!(if i % 3 == 0 { (Utc::now() - Duration::minutes(i as i64 + 10)).to_rfc3339() } else { same_time.clone() });
            e
        })
        .collect();
    assert_eq!(ingest(&app, &t, &json!(events)).await.status, StatusCode::CREATED);

    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor { Some(c) => format!("range=1h&limit=5&cursor={c}"), None => "range=1h&limit=5".into() };
        let page = send(&app, read(&format!("/api/v1/events?{query}"))).await.body;
        let ids: Vec<String> = page["events"].as_array().expect("events").iter().map(|e| e["id"].as_str().unwrap_or("").to_string()).collect();
        assert!(ids.len() <= 5);
        seen.extend(ids.clone());
        pages.push((ids, page["newer"].clone()));
        match page["older"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 23, "every event once");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 23, "no event twice");
    assert_eq!(pages.len(), 5);
    assert!(pages[0].1.is_null(), "the first page has no newer page");
    // Newer from the third page returns exactly the second page.
    let newer = pages[2].1.as_str().expect("newer cursor");
    let back = send(&app, read(&format!("/api/v1/events?range=1h&limit=5&cursor={newer}"))).await.body;
    let back_ids: Vec<String> = back["events"].as_array().expect("events").iter().map(|e| e["id"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(back_ids, pages[1].0);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn malformed_parameters_answer_400_naming_them(pool: PgPool) {
    let app = seed(&pool).await;
    for (query, param) in [
        ("colour=red", "colour"),
        ("status=6xx", "status"),
        ("range=24y", "range"),
        ("limit=501", "limit"),
        ("from=yesterday", "from"),
        ("range=1h&from=2026-11-20T10:00:00Z", "range"),
        ("cursor=garbage", "cursor"),
        ("context.bad%20key=x", "context.bad key"),
        ("action=a\\", "action"),
    ] {
        let reply = send(&app, read(&format!("/api/v1/events?{query}"))).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.body["error"]["code"], "invalid_query", "{query}");
        let named = reply.body["error"]["details"].as_array().expect("details").iter().any(|d| d["field"] == param);
        assert!(named, "{query}: {}", reply.text);
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn one_event_with_every_field(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    let full = json!({
        "action": "application.updated", "actor": { "id": "u1", "name": "Ada", "email": "ada@acme.io", "type": "user" },
        "source": "dashboard", "method": "PATCH", "status": 200, "path": "/api/apps/web", "resource": { "type": "application", "id": "app_web", "name": "web" },
        "context": { "cluster": "prod-eu" }, "request_id": "req_1", "ip": "203.0.113.7", "user_agent": "Firefox",
        "changes": [{ "field": "replicas", "before": 2, "after": 3 }], "metadata": { "ticket": "OPS-1" },
    });
    let id = ingest(&app, &t, &json!([full])).await.body["events"][0]["id"].as_str().expect("id").to_string();
    let reply = send(&app, read(&format!("/api/v1/events/{id}"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    for key in ["action", "actor", "source", "method", "status", "path", "resource", "context", "request_id", "ip", "user_agent", "changes", "metadata"] {
        assert_eq!(reply.body[key], full[key], "{key}");
    }
    assert_eq!(reply.body["outcome"], "success");
    assert!(reply.body["received_at"].is_string());
    assert_eq!(send(&app, read("/api/v1/events/0192e4a0-7b1c-7cde-8f00-999999999999")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(send(&app, read("/api/v1/events/nope")).await.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn fields_and_their_frequent_values(pool: PgPool) {
    let app = seed(&pool).await;
    let fields = send(&app, read("/api/v1/fields")).await.body;
    let keys: Vec<&str> = fields["fields"].as_array().expect("fields").iter().filter_map(|f| f["key"].as_str()).collect();
    assert!(keys.contains(&"action") && keys.contains(&"status") && keys.contains(&"context.cluster"), "{keys:?}");
    let method = fields["fields"].as_array().expect("fields").iter().find(|f| f["key"] == "method").expect("method");
    assert_eq!(method["kind"], "enum");

    let values = send(&app, read("/api/v1/fields/action/values?range=24h")).await.body;
    assert_eq!(values["values"][0], json!({ "value": "deployment.started", "count": 2 }), "most frequent first, ties by name");
    assert_eq!(values["values"][1], json!({ "value": "project.viewed", "count": 2 }));
    assert_eq!(values["values"].as_array().map(Vec::len), Some(7));
    assert_eq!(values["exact"], true);
    // The field's own filter is ignored; other filters apply; prefix narrows.
    let filtered = send(&app, read("/api/v1/fields/action/values?range=24h&action=user.login&method!=GET&prefix=project")).await.body;
    let listed: Vec<&str> = filtered["values"].as_array().expect("values").iter().filter_map(|v| v["value"].as_str()).collect();
    assert_eq!(listed.iter().collect::<BTreeSet<_>>(), ["project.created", "project.deleted", "project.updated"].iter().collect());
    let clusters = send(&app, read("/api/v1/fields/context.cluster/values?range=24h&status=5xx")).await.body;
    assert_eq!(clusters["values"], json!([{ "value": "prod-eu", "count": 1 }, { "value": "staging", "count": 1 }]));
    assert_eq!(send(&app, read("/api/v1/fields/colour/values")).await.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn reading_needs_a_read_token_even_on_loopback(pool: PgPool) {
    // The server listens on 127.0.0.1 (the default): no exception for anonymous readers.
    let app = server::serve::router(state(&pool).await);
    assert_eq!(send(&app, get("/api/v1/events", None)).await.status, StatusCode::UNAUTHORIZED);
    let read = token(&pool, Scope::Read).await;
    assert_eq!(send(&app, get("/api/v1/events", Some(&read))).await.status, StatusCode::OK);
    let ingest_only = token(&pool, Scope::Ingest).await;
    assert_eq!(send(&app, get("/api/v1/histogram", Some(&ingest_only))).await.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_runaway_query_is_stopped_with_advice(pool: PgPool) {
    let app = seed(&pool).await;
    // Enough rows that a search for something absent takes well over a millisecond.
    sqlx::query("SELECT ensure_event_partitions((now() - interval '3 days')::date, now()::date)").execute(&pool).await.expect("partitions");
    sqlx::query(
        "INSERT INTO events (occurred_at, id, action, actor_id, actor_name, actor_type, outcome, search_text)
         SELECT now() - (g || ' seconds')::interval, gen_random_uuid(), 'bulk.load', 'u', 'U', 'user', 'success',
                repeat('padding text ', 20) || g
         FROM generate_series(1, 200000) g",
    )
    .execute(&pool)
    .await
    .expect("bulk rows");
    // A count that cannot finish within its budget is a flagged lower bound, never a guess.
    let filter = app::query::EventFilter::for_window(&app::query::decode_query("range=7d&q=padding", &[]).view, Utc::now());
    let keys = server::explore::total::newest_keys(&pool, &filter, server::explore::total::CAP).await.expect("keys");
    assert_eq!(keys.len(), server::explore::total::CAP + 1);
    let bound = server::explore::total::beyond_cap_within(&pool, &filter, keys.len(), 1).await.expect("total");
    assert_eq!((bound.count, bound.exact), (1000, false));
    let exact = server::explore::total::beyond_cap_within(&pool, &filter, keys.len(), 60_000).await.expect("total");
    assert_eq!((exact.count, exact.exact), (200_000, true));

    let options: sqlx::postgres::PgConnectOptions = pool.connect_options().as_ref().clone();
    let impatient = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.options([("statement_timeout", "25")]))
        .await
        .expect("pool");
    let app_impatient = server::serve::router(state(&impatient).await);
    let reply = send(&app_impatient, read("/api/v1/events?range=7d&q=zzzz-not-there")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.text);
    assert_eq!(reply.body["error"]["code"], "query_timeout");
    assert!(reply.body["error"]["message"].as_str().unwrap_or("").contains("Narrow the time range"));
    drop(app);
    impatient.close().await;
}
