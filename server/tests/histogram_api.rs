//! `GET /api/v1/histogram`: bucket widths, zero buckets, totals equal to the table's,
//! time-zone alignment, filters.

mod common;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Timelike, Utc};
use chrono_tz::Tz;
use common::*;
use serde_json::{json, Value};
use server::store::tokens::Scope;
use sqlx::PgPool;

async fn seed(pool: &PgPool) -> axum::Router {
    let app = app(pool).await;
    let t = token(pool, Scope::Ingest).await;
    let now = Utc::now();
    // Bursts at a few moments; most of the day is empty.
    let mut events = Vec::new();
    for (minutes_ago, n, status) in [(30, 5, 200), (31, 3, 503), (400, 4, 200), (1300, 2, 404), (60 * 24 * 20, 6, 200), (60 * 24 * 45, 3, 500)] {
        for i in 0..n {
            let mut e = event(i);
            e["occurred_at"] = json!((now - Duration::minutes(minutes_ago) - Duration::seconds(i as i64)).to_rfc3339());
            e["status"] = json!(status);
            events.push(e);
        }
    }
    assert_eq!(ingest(&app, &t, &Value::Array(events)).await.status, StatusCode::CREATED);
    app
}

async fn histogram(app: &axum::Router, query: &str) -> Value {
    let reply = send(app, read(&format!("/api/v1/histogram?{query}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
    reply.body
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("time")).expect("rfc3339").with_timezone(&Utc)
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn buckets_cover_the_range_with_round_widths_and_zeros(pool: PgPool) {
    let app = seed(&pool).await;
    let h = histogram(&app, "range=24h").await;
    assert_eq!(h["bucket_seconds"], 1800);
    let buckets = h["buckets"].as_array().expect("buckets");
    assert!((48..=50).contains(&buckets.len()), "{} buckets", buckets.len());
    for pair in buckets.windows(2) {
        assert_eq!(pair[0]["end"], pair[1]["start"], "contiguous");
    }
    assert!(time(&buckets[0]["start"]) <= time(&h["from"]) && time(&buckets[buckets.len() - 1]["end"]) >= time(&h["to"]));
    assert!(buckets.iter().all(|b| time(&b["start"]).minute() % 30 == 0), "aligned to the half hour");
    let empty = buckets.iter().filter(|b| b["success"] == 0 && b["failure"] == 0).count();
    assert!(empty > 40, "empty buckets are returned as zeros ({empty})");
    assert_eq!(histogram(&app, "range=15m").await["bucket_seconds"], 10);
    assert_eq!(histogram(&app, "range=7d").await["bucket_seconds"], 10_800);
    assert_eq!(histogram(&app, "range=30d").await["bucket_seconds"], 21_600);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_histogram_total_equals_the_table_total(pool: PgPool) {
    let app = seed(&pool).await;
    for query in ["range=24h", "range=30d", "range=90d", "range=24h&status=5xx", "range=30d&outcome=failure", "range=90d&actor.id=u1", "range=24h&q=project", "range=2h&method!=PATCH"] {
        let h = histogram(&app, query).await;
        let sum: u64 = h["buckets"].as_array().expect("buckets").iter().map(|b| b["success"].as_u64().unwrap_or(0) + b["failure"].as_u64().unwrap_or(0)).sum();
        let table = send(&app, read(&format!("/api/v1/events?{query}"))).await.body;
        assert_eq!(h["total"]["count"].as_u64(), Some(sum), "{query}");
        assert_eq!(table["total"]["count"].as_u64(), Some(sum), "{query}");
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn filters_split_successes_and_failures(pool: PgPool) {
    let app = seed(&pool).await;
    let h = histogram(&app, "range=24h&status=5xx").await;
    let (ok, failed): (u64, u64) = h["buckets"].as_array().expect("b").iter()
        .fold((0, 0), |(s, f), b| (s + b["success"].as_u64().unwrap_or(0), f + b["failure"].as_u64().unwrap_or(0)));
    assert_eq!((ok, failed), (0, 3));
    let all = histogram(&app, "range=24h").await;
    let failed_all: u64 = all["buckets"].as_array().expect("b").iter().map(|b| b["failure"].as_u64().unwrap_or(0)).sum();
    assert_eq!(failed_all, 5, "503s and 404s are failures");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn day_buckets_start_at_local_midnight(pool: PgPool) {
    let app = seed(&pool).await;
    for zone in ["Europe/Berlin", "America/New_York", "Asia/Kolkata"] {
        let h = histogram(&app, &format!("range=90d&tz={zone}")).await;
        assert_eq!(h["bucket_seconds"], 86_400);
        let tz: Tz = zone.parse().expect("zone");
        for b in h["buckets"].as_array().expect("buckets") {
            let local = time(&b["start"]).with_timezone(&tz);
            assert_eq!((local.hour(), local.minute()), (0, 0), "{zone}: {local}");
        }
    }
    let bad = send(&app, read("/api/v1/histogram?range=24h&tz=Mars/Olympus")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"]["details"][0]["field"], "tz");
}

/// The chart and the live tail meet at the histogram's `position`: its counts are exactly the
/// events committed up to it (one snapshot), also while events are being written — so the page
/// adds each live event once, and misses none.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_histogram_counts_exactly_the_events_up_to_its_position_during_ingest(pool: PgPool) {
    let app = app(&pool).await;
    let t = token(&pool, Scope::Ingest).await;
    let writer = {
        let (app, t) = (app.clone(), t.clone());
        tokio::spawn(async move {
            for batch in 0..100 {
                let events: Vec<Value> = (0..25).map(|i| event(batch * 25 + i)).collect();
                assert_eq!(ingest(&app, &t, &Value::Array(events)).await.status, StatusCode::CREATED);
            }
        })
    };
    let (mut positions, mut during) = (Vec::new(), 0);
    while !writer.is_finished() || positions.len() < 3 {
        during += usize::from(!writer.is_finished());
        let h = histogram(&app, "range=1h").await;
        let position = h["position"].as_i64().expect("position");
        let counted: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM event_positions WHERE seq <= $1 AND occurred_at >= $2 AND occurred_at < $3",
        )
        .bind(position)
        .bind(time(&h["from"]))
        .bind(time(&h["to"]))
        .fetch_one(&pool)
        .await
        .expect("count");
        assert_eq!(h["total"]["count"].as_i64(), Some(counted), "position {position}");
        positions.push(position);
    }
    writer.await.expect("writer");
    assert!(positions.windows(2).all(|p| p[0] <= p[1]), "positions only grow: {positions:?}");
    assert!(during >= 1, "answers were read while events were written: {positions:?}");
}
