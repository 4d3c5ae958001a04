//! Retention, legal holds, archives and the server's least-privilege role, against a real
//! PostgreSQL.

mod common;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use common::{app, ingest, read, send, token};
use server::integrity::chain::{self, Range};
use server::retention::{self, archive, holds, restore, Retention};
use server::store::tokens::Scope;

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("auditorium-retention-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// Noon of a past day; for today, the time the test runs (the future is refused).
fn at_noon(days_ago: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    let noon = (now.date_naive() - Duration::days(days_ago)).and_hms_opt(12, 0, 0).expect("time").and_utc();
    noon.min(now)
}

/// 12 events on each of the last 10 days (in 10 requests), plus one request spanning the
/// midnight between 7 and 6 days ago (a batch that retention cuts in two).
async fn ten_days(pool: &PgPool, now: DateTime<Utc>) -> Vec<Value> {
    let app = app(pool).await;
    let secret = token(pool, Scope::Ingest).await;
    let mut all = Vec::new();
    for days_ago in (0..10).rev() {
        let events: Vec<Value> = (0..12)
            .map(|i| {
                let mut e = common::event(all.len() + i);
                e["id"] = json!(Uuid::now_v7().to_string());
                e["occurred_at"] = json!((at_noon(days_ago, now) - Duration::minutes(i as i64 * 7)).to_rfc3339());
                e
            })
            .collect();
        assert_eq!(ingest(&app, &secret, &json!(events)).await.status.as_u16(), 201);
        all.extend(events);
    }
    let midnight = (now.date_naive() - Duration::days(6)).and_hms_opt(0, 0, 0).expect("t").and_utc();
    let spanning: Vec<Value> = [-2i64, -1, 1, 2]
        .iter()
        .map(|m| {
            let mut e = common::event(all.len());
            e["id"] = json!(Uuid::now_v7().to_string());
            e["occurred_at"] = json!((midnight + Duration::minutes(*m)).to_rfc3339());
            e
        })
        .collect();
    assert_eq!(ingest(&app, &secret, &json!(spanning)).await.status.as_u16(), 201);
    all.extend(spanning);
    all
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

/// Every count table agrees with `count(*)` per day, and positions with events.
async fn assert_consistent(pool: &PgPool) {
    let by_day = |sql: &'static str| async move {
        let rows: Vec<(NaiveDate, i64)> = sqlx::query_as(sql).fetch_all(pool).await.expect(sql);
        rows
    };
    let events = by_day("SELECT (occurred_at AT TIME ZONE 'UTC')::date d, count(*)::int8 FROM events GROUP BY 1 ORDER BY 1").await;
    for (table, sql) in [
        ("minute counts", "SELECT (minute AT TIME ZONE 'UTC')::date d, sum(n)::int8 FROM event_counts WHERE dim = '' GROUP BY 1 ORDER BY 1"),
        ("hourly counts", "SELECT (hour AT TIME ZONE 'UTC')::date d, sum(n)::int8 FROM event_counts_hourly WHERE dim = '' GROUP BY 1 ORDER BY 1"),
        ("daily counts", "SELECT day, sum(n)::int8 FROM event_counts_daily WHERE dim = 'actor.id' GROUP BY 1 ORDER BY 1"),
        ("positions", "SELECT (occurred_at AT TIME ZONE 'UTC')::date d, count(*)::int8 FROM event_positions GROUP BY 1 ORDER BY 1"),
    ] {
        assert_eq!(by_day(sql).await, events, "{table} per day equal count(*)");
    }
}

async fn verify_clean(pool: &PgPool) -> chain::Report {
    let report = chain::verify(pool, &Range { find_inserted: true, ..Range::default() }, &[]).await.expect("verify");
    assert!(report.intact(), "{:?}", report.findings);
    report
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn retention_drops_exactly_the_days_past_the_limit_and_totals_stay_exact(pool: PgPool) {
    let now = Utc::now();
    let sent = ten_days(&pool, now).await;
    assert_eq!(scalar(&pool, "SELECT count(*) FROM events").await, 124);
    let owner = pool.connect_options().as_ref().clone();
    // The overview's top lists are held in memory: read them once before the drop.
    let app = app(&pool).await;
    assert_eq!(send(&app, read("/api/v1/overview")).await.status.as_u16(), 200);
    let outcome = retention::apply(&owner, Retention::Days(6), None, now).await.expect("apply");
    // The day 6 days ago still holds events younger than 6 days: it is the first kept.
    let first_kept = Retention::Days(6).first_kept_day(now).expect("day");
    assert_eq!(first_kept, now.date_naive() - Duration::days(6));
    let dropped: Vec<NaiveDate> = outcome.dropped.iter().map(|d| d.day).collect();
    assert_eq!(dropped, (1..=3).rev().map(|i| first_kept - Duration::days(i)).collect::<Vec<_>>(), "the three whole days before it");
    // 12 a day, plus the two events just before the midnight 6 days ago.
    assert_eq!(outcome.dropped.iter().map(|d| d.events).sum::<i64>(), 3 * 12 + 2);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM events").await, 124 - 38);
    assert_eq!(scalar(&pool, &format!("SELECT count(*) FROM events WHERE occurred_at < '{first_kept}'")).await, 0);
    assert_consistent(&pool).await;
    // The API's totals, chart and overview equal what is there.
    let overview = send(&app, read("/api/v1/overview")).await;
    let top_actors: u64 = overview.body["top_actors"].as_array().expect("top").iter().map(|r| r["count"].as_u64().unwrap_or(0)).sum();
    assert_eq!(top_actors, 86, "every actor is among the top 10 here: their counts add up to the events kept");
    let page = send(&app, read("/api/v1/events?range=30d")).await;
    assert_eq!(page.body["total"], json!({"count": 86, "exact": true}), "{}", page.text);
    let chart = send(&app, read("/api/v1/histogram?range=30d")).await;
    let charted: u64 = chart.body["buckets"].as_array().expect("buckets").iter().map(|b| b["success"].as_u64().unwrap_or(0) + b["failure"].as_u64().unwrap_or(0)).sum();
    assert_eq!(charted, 86, "{}", chart.text);
    assert_eq!(page.body["retained_from"], json!(format!("{first_kept}T00:00:00Z")), "the page learns the oldest available day");
    // The chain still verifies: retired batches by their digests, the cut batch by its kept hashes.
    let report = verify_clean(&pool).await;
    assert_eq!(report.retired_batches, 3);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM chain_retired").await, 2);
    // An event of a dropped day sent again is stored again (not "duplicate" of nothing).
    let secret = token(&pool, Scope::Ingest).await;
    let again = ingest(&app, &secret, &json!([sent[0].clone()])).await;
    assert_eq!(again.body["stored"], json!(1), "{}", again.text);
    // ... and the next run drops it again.
    let outcome = retention::apply(&owner, Retention::Days(6), None, now).await.expect("apply");
    assert_eq!(outcome.dropped.iter().map(|d| d.events).sum::<i64>(), 1);
    assert_consistent(&pool).await;
    verify_clean(&pool).await;
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_legal_hold_stops_retention_until_released(pool: PgPool) {
    let now = Utc::now();
    ten_days(&pool, now).await;
    let owner = pool.connect_options().as_ref().clone();
    let hold = holds::place(&pool, "litigation 2026-17", "counsel").await.expect("hold");
    let outcome = retention::apply(&owner, Retention::Days(3), None, now).await.expect("apply");
    assert!(outcome.dropped.is_empty());
    assert_eq!(outcome.held_by, 1);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM events").await, 124);
    let released = holds::release(&pool, Some(hold.id), "counsel").await.expect("release");
    assert_eq!(released.len(), 1);
    // Both were audited (written to the outbox the server drains into the log).
    let audited: Vec<String> = sqlx::query_scalar("SELECT event->>'action' FROM audit_outbox ORDER BY event->>'occurred_at'").fetch_all(&pool).await.expect("outbox");
    assert!(audited.contains(&"auditorium.retention.hold_placed".to_string()) && audited.contains(&"auditorium.retention.hold_released".to_string()), "{audited:?}");
    let outcome = retention::apply(&owner, Retention::Days(3), None, now).await.expect("apply");
    assert_eq!(outcome.dropped.len(), 6);
    assert_consistent(&pool).await;
}

/// The stored form of the events, in position order, for comparing before and after.
async fn stored(pool: &PgPool) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT to_jsonb(e) - 'search_text' FROM event_positions p JOIN events e ON e.id = p.id AND e.occurred_at = p.occurred_at ORDER BY p.seq",
    )
    .fetch_all(pool)
    .await
    .expect("events")
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn archive_drop_and_restore_give_back_the_same_events_in_the_same_order(pool: PgPool) {
    let now = Utc::now();
    ten_days(&pool, now).await;
    let before = stored(&pool).await;
    let dir = scratch();
    let owner = pool.connect_options().as_ref().clone();
    let outcome = retention::apply(&owner, Retention::Days(6), Some(&dir), now).await.expect("apply");
    assert_eq!(outcome.dropped.len(), 3);
    for dropped in &outcome.dropped {
        let file = dropped.archive.clone().expect("archived");
        let manifest = archive::read_manifest(&file).expect("manifest");
        assert_eq!((manifest.day, manifest.events as i64), (dropped.day, dropped.events));
        archive::check(&file, &manifest).expect("intact");
    }
    let recorded: Vec<Option<String>> = sqlx::query_scalar("SELECT archive FROM retention_drops ORDER BY day").fetch_all(&pool).await.expect("drops");
    assert!(recorded.iter().all(Option::is_some), "{recorded:?}");

    // Restore every day, oldest first, through the ingest writer.
    let ingestor = server::ingest::Ingestor::for_command(pool.clone());
    for dropped in &outcome.dropped {
        let restored = restore::restore(&pool, &ingestor, dropped.archive.as_deref().expect("file")).await.expect("restore");
        assert_eq!((restored.new, restored.duplicates), (dropped.events as u64, 0));
        assert!(restored.digest_matches, "the restored events hash to the manifest's digest");
    }
    // Restoring again stores nothing (idempotent).
    let again = restore::restore(&pool, &ingestor, outcome.dropped[0].archive.as_deref().expect("file")).await.expect("restore");
    assert_eq!((again.new, again.duplicates), (0, 12));
    ingestor.stop(std::time::Duration::from_secs(5)).await;

    let after = stored(&pool).await;
    assert_eq!(after.len(), before.len());
    let key = |e: &Value| e["id"].as_str().unwrap_or_default().to_string();
    let mut by_id: std::collections::HashMap<String, &Value> = before.iter().map(|e| (key(e), e)).collect();
    for e in &after {
        let original = by_id.remove(&key(e)).expect("an event from before");
        let mut e = e.clone();
        let mut original = (*original).clone();
        // Fingerprint and every field equal; only the storage partition differs.
        e.as_object_mut().expect("obj").remove("tableoid");
        original.as_object_mut().expect("obj").remove("tableoid");
        assert_eq!(e, original);
    }
    // The dropped days' events keep their order among themselves.
    let order = |list: &[Value], day: NaiveDate| -> Vec<String> {
        list.iter().filter(|e| e["occurred_at"].as_str().is_some_and(|t| t.starts_with(&day.to_string()))).map(key).collect()
    };
    for dropped in &outcome.dropped {
        assert_eq!(order(&after, dropped.day), order(&before, dropped.day), "{}", dropped.day);
    }
    assert_consistent(&pool).await;
    verify_clean(&pool).await;
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_servers_role_can_append_and_read_but_not_rewrite_history(pool: PgPool) {
    let now = Utc::now();
    ten_days(&pool, now).await;
    let options = server::db::roles::app_role(&pool).await.expect("role").expect("the test cluster allows roles");
    let app_pool = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect_with(options).await.expect("connect as the role");
    // Appending through the real ingest path works as the role.
    let state = server::state::AppState::new(app_pool.clone(), &server::config::ServeArgs::default()).await.expect("state");
    let router = server::serve::router(state);
    let secret = token(&pool, Scope::Ingest).await;
    assert_eq!(ingest(&router, &secret, &json!([common::event(1)])).await.status.as_u16(), 201);
    assert_eq!(scalar(&app_pool, "SELECT count(*) FROM events").await, 125);
    let partition = format!("events_p{}", now.format("%Y%m%d"));
    for attack in [
        "UPDATE events SET action = 'x'".to_string(),
        "DELETE FROM events".into(),
        "TRUNCATE events".into(),
        "ALTER TABLE events DISABLE TRIGGER ALL".into(),
        format!("ALTER TABLE events DETACH PARTITION {partition}"),
        format!("DROP TABLE {partition}"),
        "UPDATE event_counts SET n = n + 1".into(),
        "DELETE FROM event_counts_hourly".into(),
        "INSERT INTO event_positions (seq, id, occurred_at) VALUES (999999, gen_random_uuid(), now())".into(),
        "UPDATE event_chain SET digest = '\\x00'".into(),
        "DELETE FROM integrity_checkpoints".into(),
        "INSERT INTO retention_holds (id, reason, created_by) VALUES (gen_random_uuid(), 'x', 'y')".into(),
        "SELECT password FROM app_role".into(),
        "SET session_replication_role = replica".into(),
    ] {
        let error = sqlx::query(&attack).execute(&app_pool).await.expect_err(&attack);
        let code = error.as_database_error().and_then(|d| d.code()).map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("42501"), "{attack}: {error}");
    }
    assert_eq!(scalar(&pool, "SELECT count(*) FROM events").await, 125);
    verify_clean(&pool).await;
}
