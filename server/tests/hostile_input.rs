//! Input found by fuzzing and by reading the code: each is a clear 4xx with a JSON error,
//! never a 500, never the HTML page, and nothing of a refused request is stored. And the
//! same event spelled differently is recognised as a retry.

mod common;

use axum::http::{Method, Request, StatusCode};
use common::{app, count_events, event, get, ingest, post, send, token};
use serde_json::{json, Value};
use server::store::tokens::Scope;
use sqlx::PgPool;

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn hostile_queries_are_clear_400s(pool: PgPool) {
    let app = app(&pool).await;
    let read = token(&pool, Scope::Read).await;
    for path in [
        "/api/v1/events?q=%00",
        "/api/v1/events?actor.name=%00",
        "/api/v1/events?action=a%00b",
        "/api/v1/histogram?q=%00",
        "/api/v1/fields/action/values?prefix=%00",
        "/api/v1/fields/action/values?range=1h&prefix=ab%00",
        "/api/v1/live?q=%00",
    ] {
        let reply = send(&app, get(path, Some(&read))).await;
        if path.contains("/live") {
            // Not a WebSocket request: refused before the upgrade, in JSON too.
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}: {}", reply.text);
            assert_eq!(reply.body["error"]["code"], "websocket_required", "{path}: {}", reply.text);
            continue;
        }
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}: {}", reply.text);
        assert_eq!(reply.body["error"]["code"], "invalid_query", "{path}: {}", reply.text);
        assert!(reply.text.contains("NUL"), "{path}: {}", reply.text);
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_histogram_of_all_time_has_at_most_120_bars(pool: PgPool) {
    let app = app(&pool).await;
    let read = token(&pool, Scope::Read).await;
    let reply = send(&app, get("/api/v1/histogram?from=0001-01-01T00:00:00Z&to=9999-12-31T00:00:00Z", Some(&read))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let bars = reply.body["buckets"].as_array().expect("buckets").len();
    assert!((1..=120).contains(&bars), "{bars} bars");
    assert!(reply.text.len() < 64 * 1024, "{} bytes", reply.text.len());
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn unknown_api_paths_and_methods_answer_json(pool: PgPool) {
    let app = app(&pool).await;
    let read = token(&pool, Scope::Read).await;
    for path in ["/api/v1/nope", "/api/v2/events", "/api/v1/events/x/y", "/api", "/api/"] {
        let reply = send(&app, get(path, Some(&read))).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.body["error"]["code"], "not_found", "{path}: {}", reply.text);
    }
    for (method, path) in [(Method::DELETE, "/api/v1/events"), (Method::PUT, "/api/v1/histogram"), (Method::POST, "/api/v1/fields")] {
        let request = Request::builder().method(method.clone()).uri(path).body(axum::body::Body::empty()).expect("request");
        let reply = send(&app, request).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(reply.body["error"]["code"], "method_not_allowed", "{method} {path}: {}", reply.text);
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn hostile_events_are_422_for_the_item_and_store_nothing(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    let cases = [
        (with(event(0), "changes", json!([{"field": "a", "after": "x\u{0}"}])), "changes[0].after"),
        (with(event(0), "changes", json!([{"field": "a", "before": {"k\u{0}": 1}}])), "changes[0].before"),
        (with(event(0), "metadata", json!({"k": ["\u{0}"]})), "metadata"),
        (with(event(0), "occurred_at", json!("2016-12-31T23:59:60Z")), "occurred_at"),
    ];
    for (bad, field) in cases {
        let reply = ingest(&app, &t, &json!([event(1), bad])).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", reply.text);
        let details = reply.body["error"]["details"].as_array().expect("details");
        assert_eq!(details.len(), 1, "{}", reply.text);
        assert_eq!((details[0]["index"].as_u64(), details[0]["field"].as_str()), (Some(1), Some(field)), "{}", reply.text);
    }
    // An integer beyond 64 bits would be rounded: refused, naming the item.
    let body = format!("[{}, {{\"action\":\"a.b\",\"actor\":{{\"id\":\"u\",\"name\":\"U\",\"type\":\"user\"}},\"metadata\":{{\"n\":123456789012345678901234567890}}}}]", event(1));
    let reply = send(&app, post("/api/v1/events", Some(&t), "application/json", body)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(reply.body["error"]["details"][0]["index"], 1, "{}", reply.text);
    // ... while every u64 and i64 is kept exactly.
    let exact = json!([with(event(2), "metadata", json!({"max": u64::MAX, "min": i64::MIN}))]);
    let stored = ingest(&app, &t, &exact).await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text);
    let id = stored.body["events"][0]["id"].as_str().expect("id").to_string();
    let read = token(&pool, Scope::Read).await;
    let back = send(&app, get(&format!("/api/v1/events/{id}"), Some(&read))).await;
    assert_eq!(back.body["metadata"], json!({"max": u64::MAX, "min": i64::MIN}));
    assert_eq!(count_events(&pool).await, 1, "only the valid request was stored");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_retry_spelled_differently_is_a_duplicate_not_a_conflict(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    let original = json!({
        "id": "0192e4a0-7b1c-7cde-8f00-1234567890ab", "occurred_at": "2026-11-20T10:00:00.000Z",
        "action": "project.deleted", "actor": {"id": "u", "name": "U", "type": "user"},
        "status": 204, "ip": "2001:db8::1", "context": {}
    });
    assert_eq!(ingest(&app, &t, &json!([original])).await.status, StatusCode::CREATED);
    let respelled = json!({
        "actor": {"type": "user", "name": "U", "id": "u"}, "action": "project.deleted",
        "id": "0192e4a0-7b1c-7cde-8f00-1234567890ab", "occurred_at": "2026-11-20T11:00:00+01:00",
        "status": 204, "outcome": "success", "ip": "2001:DB8:0:0::1", "source": null, "metadata": {}
    });
    let retry = ingest(&app, &t, &json!([respelled])).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert_eq!(retry.body["events"][0]["status"], "duplicate");
    // Another meaning is still a conflict.
    let changed = with(original, "status", json!(500));
    assert_eq!(ingest(&app, &t, &json!([changed])).await.status, StatusCode::CONFLICT);
    assert_eq!(count_events(&pool).await, 1);
}
