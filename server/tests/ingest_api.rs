//! `POST /api/v1/events` against a real PostgreSQL: bodies, validation, atomicity,
//! idempotency, tokens, limits, and the database's own append-only guarantee.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{json, Value};
use server::store::tokens::{self, Scope};
use sqlx::PgPool;

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn one_event_an_array_and_ndjson_are_all_stored(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;

    let one = send(&app, post("/api/v1/events", Some(&t), "application/json", event(0).to_string())).await;
    assert_eq!(one.status, StatusCode::CREATED, "{}", one.text);
    assert_eq!(one.body["stored"], 1);

    let many = ingest(&app, &t, &json!([event(1), event(2), event(3)])).await;
    assert_eq!(many.status, StatusCode::CREATED);
    assert_eq!(many.body["events"].as_array().map(Vec::len), Some(3));

    let ndjson = format!("{}\n{}\n", event(4), event(5));
    let lines = send(&app, post("/api/v1/events", Some(&t), "application/x-ndjson", ndjson)).await;
    assert_eq!(lines.status, StatusCode::CREATED, "{}", lines.text);
    assert_eq!(lines.body["stored"], 2);

    assert_eq!(count_events(&pool).await, 6);
    let positions: Vec<i64> = sqlx::query_scalar("SELECT seq FROM event_positions ORDER BY seq").fetch_all(&pool).await.expect("seq");
    assert_eq!(positions, (1..=6).collect::<Vec<i64>>(), "positions are contiguous");
    // The answer carries the stored ids.
    let id = one.body["events"][0]["id"].as_str().expect("id");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE id = $1::uuid").bind(id).fetch_one(&pool).await.expect("q");
    assert_eq!(stored, 1);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_batch_with_bad_items_names_each_problem_and_stores_nothing(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    let mut bad_status = event(1);
    bad_status["status"] = json!(42);
    let mut no_actor = event(2);
    no_actor.as_object_mut().expect("object").remove("actor");
    let reply = ingest(&app, &t, &json!([event(0), bad_status, no_actor, "not an object"])).await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(reply.body["error"]["code"], "validation_failed");
    let details: Vec<(u64, String)> = reply.body["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| (d["index"].as_u64().unwrap_or(99), d["field"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(details.contains(&(1, "status".into())), "{details:?}");
    assert!(details.contains(&(2, "actor".into())), "{details:?}");
    assert!(details.iter().any(|(i, _)| *i == 3), "{details:?}");
    assert!(!details.iter().any(|(i, _)| *i == 0), "the good item is not blamed");
    assert_eq!(count_events(&pool).await, 0, "all or nothing");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn malformed_json_answers_400_with_line_and_column(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    let body = format!("{}\n{{\"action\": oops}}\n", event(0));
    let reply = send(&app, post("/api/v1/events", Some(&t), "application/x-ndjson", body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"]["code"], "malformed_json");
    let message = reply.body["error"]["message"].as_str().expect("message");
    assert!(message.contains("line 2, column 12"), "{message}");
    assert_eq!(count_events(&pool).await, 0);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn content_type_and_size_limits(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    let wrong = send(&app, post("/api/v1/events", Some(&t), "text/plain", event(0).to_string())).await;
    assert_eq!(wrong.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(wrong.body["error"]["code"], "unsupported_media_type");

    let too_many = ingest(&app, &t, &Value::Array((0..1001).map(event).collect())).await;
    assert_eq!(too_many.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_many.body["error"]["message"].as_str().unwrap_or("").contains("1000"));

    let huge = format!("[{}]", format!("\"{}\"", "x".repeat(11 * 1024 * 1024)));
    let too_big = send(&app, post("/api/v1/events", Some(&t), "application/json", huge)).await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_big.body["error"]["code"], "payload_too_large");

    let empty = ingest(&app, &t, &json!([])).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count_events(&pool).await, 0);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn tokens_are_required_and_scoped(pool: PgPool) {
    let app = app(&pool).await;
    let body = json!([event(0)]);
    let none = send(&app, post("/api/v1/events", None, "application/json", body.to_string())).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(none.body["error"]["message"].as_str().unwrap_or("").contains("Bearer"));
    assert_eq!(ingest(&app, "aud_not-a-real-token", &body).await.status, StatusCode::UNAUTHORIZED);

    let read = token(&pool, Scope::Read).await;
    let forbidden = ingest(&app, &read, &body).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert!(forbidden.body["error"]["message"].as_str().unwrap_or("").contains("ingest"));

    let admin = token(&pool, Scope::Admin).await;
    assert_eq!(ingest(&app, &admin, &body).await.status, StatusCode::CREATED);

    let (row, secret) = tokens::create(&pool, "ci", Scope::Ingest).await.expect("token");
    assert!(row.last_used_at.is_none());
    assert_eq!(ingest(&app, &secret, &body).await.status, StatusCode::CREATED);
    // Use is recorded in the background, revocation reaches every instance through NOTIFY:
    // both within moments (bounded waits, not sleeps).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let used: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT last_used_at FROM api_tokens WHERE id = $1").bind(row.id).fetch_one(&pool).await.expect("q");
        if used.is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "use is recorded");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(tokens::revoke(&pool, "ci").await.expect("revoke"));
    let revoked_at = std::time::Instant::now();
    while ingest(&app, &secret, &body).await.status != StatusCode::UNAUTHORIZED {
        assert!(revoked_at.elapsed() < std::time::Duration::from_secs(2), "revoked tokens stop working within moments");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT secret_hash FROM api_tokens").fetch_all(&pool).await.expect("q");
    assert!(hashes.iter().all(|h| h.len() == 32 && !h.windows(4).any(|w| w == b"aud_")), "only hashes are stored");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn retrying_a_batch_never_duplicates(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    let ids = ["0192e4a0-7b1c-7cde-8f00-000000000001", "0192e4a0-7b1c-7cde-8f00-000000000002"];
    let batch: Vec<Value> = ids.iter().enumerate().map(|(n, id)| {
        let mut e = event(n);
        e["id"] = json!(id);
        e
    }).collect();
    let first = ingest(&app, &t, &json!(batch)).await;
    assert_eq!(first.status, StatusCode::CREATED);

    let retry = ingest(&app, &t, &json!(batch)).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert_eq!(retry.body["stored"], 0);
    assert_eq!(retry.body["duplicates"], 2);
    assert_eq!(retry.body["events"][0]["status"], "duplicate");

    // A retry that also carries a new event stores only the new one.
    let mut extended = batch.clone();
    extended.push(event(7));
    let partial = ingest(&app, &t, &json!(extended)).await;
    assert_eq!((partial.body["stored"].as_u64(), partial.body["duplicates"].as_u64()), (Some(1), Some(2)));
    assert_eq!(count_events(&pool).await, 3);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn reusing_an_id_for_other_content_is_a_conflict(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    let mut original = event(0);
    original["id"] = json!("0192e4a0-7b1c-7cde-8f00-00000000000a");
    assert_eq!(ingest(&app, &t, &json!([original.clone()])).await.status, StatusCode::CREATED);

    let mut changed = original.clone();
    changed["status"] = json!(500);
    let reply = ingest(&app, &t, &json!([event(1), changed])).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(reply.body["error"]["code"], "id_conflict");
    assert_eq!(reply.body["error"]["details"][0]["index"], 1);
    assert_eq!(count_events(&pool).await, 1, "the other event of that batch was not stored either");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_database_itself_refuses_update_and_delete(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    ingest(&app, &t, &json!([event(0)])).await;
    for statement in [
        "UPDATE events SET action = 'tampered'",
        "DELETE FROM events",
        "TRUNCATE events",
        "UPDATE event_positions SET seq = seq + 100",
        "DELETE FROM event_positions",
    ] {
        let err = sqlx::query(statement).execute(&pool).await.expect_err(statement);
        assert!(err.to_string().contains("append-only"), "{statement}: {err}");
    }
    let partition: String = sqlx::query_scalar("SELECT tableoid::regclass::text FROM events LIMIT 1").fetch_one(&pool).await.expect("q");
    for statement in [format!("DELETE FROM {partition}"), format!("TRUNCATE {partition}")] {
        let err = sqlx::query(&statement).execute(&pool).await.expect_err("refused");
        assert!(err.to_string().contains("append-only"), "{statement}: {err}");
    }
    let action: String = sqlx::query_scalar("SELECT action FROM events").fetch_one(&pool).await.expect("q");
    assert_eq!(action, "project.updated");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn backfilled_events_get_their_partitions_and_counts_stay_exact(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    let mut old = event(0);
    old["occurred_at"] = json!("2024-02-29T23:59:59.999999Z");
    let mut failing = event(1);
    failing["status"] = json!(503);
    let reply = ingest(&app, &t, &json!([old, failing, event(2), event(3)])).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let (stored_at, outcome): (chrono::DateTime<chrono::Utc>, String) =
        sqlx::query_as("SELECT occurred_at, outcome FROM events WHERE resource_id = 'p0'").fetch_one(&pool).await.expect("q");
    assert_eq!(stored_at.to_rfc3339(), "2024-02-29T23:59:59.999999+00:00");
    assert_eq!(outcome, "success");
    let failures: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE outcome = 'failure'").fetch_one(&pool).await.expect("q");
    assert_eq!(failures, 1, "outcome derived from status 503");

    // The per-minute counts equal counting the events, for every dimension.
    let mismatches: i64 = sqlx::query_scalar(
        "WITH truth AS (
             SELECT d.dim, d.value, date_trunc('minute', occurred_at) AS minute, outcome, count(*) AS n
             FROM events CROSS JOIN LATERAL (VALUES ('', NULL), ('action', action), ('method', method),
                 ('status', status::text), ('actor.type', actor_type), ('source', source), ('resource.type', resource_type)) d(dim, value)
             GROUP BY 1, 2, 3, 4)
         SELECT count(*) FROM truth FULL JOIN event_counts c
             ON c.dim = truth.dim AND c.value IS NOT DISTINCT FROM truth.value AND c.minute = truth.minute AND c.outcome = truth.outcome
         WHERE c.n IS DISTINCT FROM truth.n",
    )
    .fetch_one(&pool)
    .await
    .expect("q");
    assert_eq!(mismatches, 0);
}
