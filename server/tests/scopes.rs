//! Property: what a member reads through the API — ids, totals, histogram totals, facet
//! values, one event by id, the live tail — is exactly scope ∩ view as the Rust predicate
//! computes it over the stored events, for random scopes and random views. Nothing out of
//! scope is reachable.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use app::event::Event;
use app::query::{encode_query, EventFilter, Field, Scope, TimeRange};
use axum::http::StatusCode;
use chrono::Utc;
use common::random::*;
use common::{get, send};
use futures::StreamExt;
use rand::SeedableRng;
use serde_json::Value;
use server::auth::accounts;
use server::auth::audit::{Actor, Origin};
use server::store::rows::{EventRow, EVENT_COLUMNS};
use server::store::tokens::Scope as TokenScope;
use server::store::users::Role;
use sqlx::PgPool;

/// A random scope: one to three views of one or two filters (or a search).
fn random_scope(rng: &mut TestRng) -> Vec<String> {
    (0..rand::Rng::random_range(rng, 1..=3))
        .map(|_| loop {
            let view = random_view(rng).with_range(TimeRange::default());
            let text = encode_query(&view);
            if !view.filters().is_empty() || view.search.is_some() {
                return text;
            }
        })
        .collect()
}

async fn member_token(pool: &PgPool, n: usize, scopes: &[String]) -> String {
    let user = accounts::create_user(pool, &format!("member{n}@example.com"), None, Role::Member, scopes, None, Actor::system(), Origin::default())
        .await
        .expect("member")
        .0;
    accounts::create_token(pool, &format!("m{n}"), TokenScope::Read, Some(user.id), Actor::system(), Origin::default()).await.expect("token").1
}

async fn stored(pool: &PgPool) -> Vec<Event> {
    let rows: Vec<EventRow> = sqlx::query_as(&format!("SELECT {EVENT_COLUMNS} FROM events e")).fetch_all(pool).await.expect("events");
    rows.into_iter().map(Event::from).collect()
}

/// Every id the events API lists for `query`, following the pages.
async fn listed(app: &axum::Router, token: &str, query: &str) -> (BTreeSet<String>, Value) {
    let mut ids = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut first_total = Value::Null;
    loop {
        let page_query = match &cursor {
            Some(c) => format!("{query}&limit=500&cursor={c}"),
            None => format!("{query}&limit=500"),
        };
        let reply = send(app, get(&format!("/api/v1/events?{page_query}"), Some(token))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        if cursor.is_none() {
            first_total = reply.body["total"].clone();
        }
        for e in reply.body["events"].as_array().expect("events") {
            ids.insert(e["id"].as_str().expect("id").to_string());
        }
        match reply.body["older"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return (ids, first_total),
        }
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_member_reads_exactly_scope_and_view(pool: PgPool) {
    let mut rng = TestRng::seed_from_u64(2026_12_03);
    let ingestor = server::ingest::Ingestor::for_command(pool.clone());
    let events: Vec<Value> = (0..400).map(|_| random_event(&mut rng)).collect();
    for chunk in events.chunks(100) {
        server::ingest::ingest(&ingestor, chunk).await.expect("ingest");
    }
    let all = stored(&pool).await;
    let app = common::app(&pool).await;
    let now = Utc::now();
    for case in 0..24 {
        let scopes = random_scope(&mut rng);
        let scope = Scope::parse(&scopes).expect("a valid scope");
        let token = member_token(&pool, case, &scopes).await;
        let view = random_view(&mut rng);
        let query = encode_query(&view);
        let filter = EventFilter::for_window(&view, now).within(&scope);
        let expected: BTreeSet<String> = all.iter().filter(|e| filter.matches(e)).map(|e| e.id.to_string()).collect();
        let context = format!("case {case}: scope {scopes:?}, view {query}");

        let (ids, total) = listed(&app, &token, &query).await;
        assert_eq!(ids, expected, "{context}: listed ids");
        if total["exact"] == true {
            assert_eq!(total["count"].as_u64(), Some(expected.len() as u64), "{context}: total");
        }
        let histogram = send(&app, get(&format!("/api/v1/histogram?{query}"), Some(&token))).await;
        assert_eq!(histogram.body["total"]["count"].as_u64(), Some(expected.len() as u64), "{context}: histogram {}", histogram.text);

        for field in [Field::Action, Field::Context("cluster".into()), Field::Method] {
            let reply = send(&app, get(&format!("/api/v1/fields/{}/values?{query}", field.key()), Some(&token))).await;
            assert_eq!(reply.status, StatusCode::OK, "{context}: {}", reply.text);
            let facet_filter = filter.without_field(&field);
            let mut tally: BTreeMap<String, u64> = BTreeMap::new();
            for e in all.iter().filter(|e| facet_filter.matches(e)) {
                if let Some(value) = field.value_of(e) {
                    *tally.entry(value.to_string()).or_default() += 1;
                }
            }
            for value in reply.body["values"].as_array().expect("values") {
                let name = value["value"].as_str().expect("value");
                let seen = tally.get(name).copied().unwrap_or(0);
                assert!(seen > 0, "{context}: {} offers {name:?}, which the member cannot see", field.key());
                if reply.body["exact"] == true {
                    assert_eq!(value["count"].as_u64(), Some(seen), "{context}: {} = {name}", field.key());
                }
            }
        }

        // One event by id: visible inside the scope, absent (404, not 403) outside.
        for event in all.iter().take(60) {
            let reply = send(&app, get(&format!("/api/v1/events/{}", event.id), Some(&token))).await;
            let inside = scope.matches(event, &app::event::search_text(event));
            let wanted = if inside { StatusCode::OK } else { StatusCode::NOT_FOUND };
            assert_eq!(reply.status, wanted, "{context}: event {}", event.id);
        }
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_members_live_tail_carries_only_their_scope(pool: PgPool) {
    let mut rng = TestRng::seed_from_u64(7);
    let scopes = vec!["context.cluster=prod-eu".to_string(), "action=user.*&method!=GET".to_string()];
    let scope = Scope::parse(&scopes).expect("scope");
    let token = member_token(&pool, 0, &scopes).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = server::serve::router(common::state(&pool).await);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (mut socket, _) = tokio_tungstenite::connect_async(common::ws_request(addr, "range=1h", &token)).await.expect("connect");
    loop {
        let text = socket.next().await.expect("open").expect("frame").into_text().expect("text");
        if text.contains("\"ready\"") {
            break;
        }
    }
    let ingestor = server::ingest::Ingestor::for_command(pool.clone());
    let now = Utc::now();
    let mut batch: Vec<Value> = (0..200).map(|_| random_event(&mut rng)).collect();
    for e in &mut batch {
        e["occurred_at"] = serde_json::json!(now.to_rfc3339());
    }
    let results = server::ingest::ingest(&ingestor, &batch).await.expect("ingest");
    let ids: BTreeSet<String> = results.iter().map(|r| r.id.to_string()).collect();
    let expected: BTreeSet<String> = stored(&pool)
        .await
        .into_iter()
        .filter(|e| ids.contains(&e.id.to_string()) && scope.matches(e, &app::event::search_text(e)))
        .map(|e| e.id.to_string())
        .collect();
    assert!(!expected.is_empty() && expected.len() < ids.len(), "the batch mixes visible and invisible events");
    let mut received = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while received.len() < expected.len() {
        let frame = tokio::time::timeout_at(deadline, socket.next()).await.expect("events within 20 s").expect("open").expect("frame");
        let tokio_tungstenite::tungstenite::Message::Text(text) = frame else { continue };
        let message: app::api::LiveMessage = serde_json::from_str(&text).expect("a live message");
        received.extend(message.events.iter().map(|e| e.event.id.to_string()));
    }
    assert_eq!(received, expected, "exactly the events in scope");
}
