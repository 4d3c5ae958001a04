//! The OpenAPI document stays in step with the router: every mounted path is documented,
//! every documented operation exists, and real answers carry the documented fields.

mod common;

use axum::http::{Method, Request, StatusCode};
use common::*;
use serde_json::{json, Value};
use server::store::tokens::Scope;
use sqlx::PgPool;

fn document() -> Value {
    serde_json::from_str(server::api::OPENAPI).expect("the OpenAPI document is JSON")
}

/// Paths the router mounts, read from its source so a new route cannot go undocumented.
fn mounted_paths() -> Vec<String> {
    include_str!("../src/api/mod.rs")
        .split(".route(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_string))
        .collect()
}

#[test]
fn every_mounted_path_is_documented() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().expect("paths");
    let mounted = mounted_paths();
    assert!(mounted.len() >= 8, "{mounted:?}");
    for path in &mounted {
        assert!(paths.contains_key(path), "{path} is mounted but not documented");
    }
    for path in paths.keys() {
        assert!(mounted.contains(path), "{path} is documented but not mounted");
    }
}

/// The required properties of a schema (resolving one `$ref`).
fn required(doc: &Value, schema: &str) -> Vec<String> {
    doc["components"]["schemas"][schema]["required"].as_array().expect("required").iter().map(|v| v.as_str().unwrap_or("").to_string()).collect()
}

fn assert_has(doc: &Value, schema: &str, value: &Value) {
    for key in required(doc, schema) {
        assert!(value.get(&key).is_some(), "{schema}.{key} missing in {value}");
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn documented_operations_answer_with_documented_shapes(pool: PgPool) {
    let app = app(&pool).await;
    let doc = document();
    let token = token(&pool, Scope::Admin).await;
    let stored = ingest(&app, &token, &json!([event(1)])).await;
    assert_has(&doc, "IngestResponse", &stored.body);
    let id = stored.body["events"][0]["id"].as_str().expect("id").to_string();

    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for method in operations.as_object().expect("operations").keys() {
            let uri = path.replace("{type}", "project").replace("{id}", &id).replace("{field}", "action").replace("{handle}", "0123456789abcdef").replace("{format}", "csv");
            let request = match method.as_str() {
                "post" => post(&uri, Some(&token), "application/json", json!([event(2)]).to_string()),
                other => Request::builder()
                    .method(Method::from_bytes(other.to_uppercase().as_bytes()).expect("method"))
                    .uri(&uri)
                    .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(axum::http::header::CONTENT_TYPE, "application/json")
                    .body(axum::body::Body::from(if other == "patch" { "{}" } else { "" }))
                    .expect("request"),
            };
            let response = send(&app, request).await;
            // A documented operation is routed: no "no such endpoint" 404 and no 405 (a 404
            // about the resource, e.g. "no such user" for an event's id, is an answer).
            let unrouted = response.status == StatusCode::NOT_FOUND && response.text.contains("there is no API endpoint");
            assert!(!unrouted && response.status != StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}: {} {}", response.status, response.text);
            let documented = &operations[method]["responses"];
            assert!(documented.get(response.status.as_str()).is_some(), "{method} {path} answered {} which is not documented: {}", response.status, response.text);
            if path == "/metrics" {
                assert!(response.text.contains("# TYPE auditorium_ingest_requests"), "{}", response.text);
                continue;
            }
            if path == "/api/v1/live" {
                // Answers only WebSocket upgrades (tested in tests/live.rs).
                assert!(response.status.is_client_error(), "{}", response.status);
                continue;
            }
            if response.status == StatusCode::NO_CONTENT {
                continue;
            }
            assert!(response.body.is_object(), "{method} {uri} answers JSON: {}", response.text);
        }
    }
    let page = send(&app, read("/api/v1/events?range=1h")).await.body;
    assert_has(&doc, "EventPage", &page);
    assert_has(&doc, "Event", &page["events"][0]);
    assert_has(&doc, "Actor", &page["events"][0]["actor"]);
    let histogram = send(&app, read("/api/v1/histogram?range=1h")).await.body;
    assert_has(&doc, "Histogram", &histogram);
    assert_has(&doc, "HistogramBucket", &histogram["buckets"][0]);
    assert_has(&doc, "FieldList", &send(&app, read("/api/v1/fields")).await.body);
    assert_has(&doc, "FieldValues", &send(&app, read("/api/v1/fields/action/values")).await.body);
    let error = send(&app, read("/api/v1/events?colour=red")).await.body;
    assert_has(&doc, "ErrorBody", &error);
    let job = json!({"name": "shape", "formats": ["csv"], "view": "range=1h"}).to_string();
    let created = send(&app, post("/api/v1/exports", Some(&token), "application/json", job)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_has(&doc, "ExportSummary", &created.body);
    assert_has(&doc, "ExportList", &send(&app, read("/api/v1/exports")).await.body);
    let served = send(&app, read("/api/v1/openapi.json")).await;
    assert_eq!(served.body, doc);
}
