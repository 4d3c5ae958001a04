//! Ingest under a hostile crowd: 64 clients at once over real sockets, a third of whose
//! requests are abandoned — halfway through the body, right after sending it (while the
//! events are being written), or while waiting for the answer — with reads abandoned too.
//! Afterwards nothing is broken: every polite request succeeds, the server is ready, the live
//! tail delivers, and the store holds exactly the acknowledged events plus, at most once each,
//! some of the abandoned ones.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{count_events, event, token};
use futures::StreamExt;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use server::store::tokens::Scope;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

const CLIENTS: usize = 64;
const REQUESTS_PER_CLIENT: usize = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Sent whole; the answer is read.
    Answered,
    /// The connection is dropped halfway through the body.
    CutMidBody,
    /// The whole body is sent, then the connection is dropped at once (events in flight).
    DroppedAfterBody,
    /// The whole body is sent, then dropped after a moment without reading the answer.
    DroppedWhileWaiting,
}

async fn start(pool: &PgPool) -> (SocketAddr, server::state::AppState) {
    let state = common::state(pool).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = server::serve::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, state)
}

fn request(token: &str, body: &str) -> String {
    format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The status of a whole request whose answer is read.
async fn answered(addr: SocketAddr, raw: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(raw.as_bytes()).await.expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

async fn abandoned(addr: SocketAddr, raw: &str, fate: Fate, wait: Duration) {
    let Ok(mut stream) = TcpStream::connect(addr).await else { return };
    let bytes = raw.as_bytes();
    let sent = match fate {
        Fate::CutMidBody => &bytes[..bytes.len() - bytes.len() / 3],
        _ => bytes,
    };
    let _ = stream.write_all(sent).await;
    if fate == Fate::DroppedWhileWaiting {
        tokio::time::sleep(wait).await;
    }
    drop(stream);
}

/// A batch of 1 (most often) to 40 events with fresh ids.
fn batch(rng: &mut impl Rng) -> Vec<Value> {
    let n = if rng.random_bool(0.7) { 1 } else { rng.random_range(2..=40) };
    (0..n)
        .map(|i| {
            let mut e = event(i);
            e["id"] = json!(Uuid::now_v7().to_string());
            e
        })
        .collect()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn abandoned_requests_break_nothing_and_lose_or_double_nothing(pool: PgPool) {
    let (addr, state) = start(&pool).await;
    let ingest_token = token(&pool, Scope::Ingest).await;
    let read_token = token(&pool, Scope::Read).await;

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (ingest_token, read_token) = (ingest_token.clone(), read_token.clone());
            tokio::spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(c as u64);
                let mut sent: Vec<(Vec<Uuid>, Fate, u16)> = Vec::new();
                for _ in 0..REQUESTS_PER_CLIENT {
                    let events = batch(&mut rng);
                    let ids = events.iter().map(|e| Uuid::parse_str(e["id"].as_str().unwrap_or_default()).unwrap_or_default()).collect();
                    let raw = request(&ingest_token, &Value::Array(events).to_string());
                    let fate = match rng.random_range(0..6) {
                        0 => Fate::CutMidBody,
                        1 => Fate::DroppedAfterBody,
                        2 => Fate::DroppedWhileWaiting,
                        _ => Fate::Answered,
                    };
                    let status = match fate {
                        Fate::Answered => answered(addr, &raw).await,
                        _ => {
                            abandoned(addr, &raw, fate, Duration::from_millis(rng.random_range(0..15))).await;
                            0
                        }
                    };
                    sent.push((ids, fate, status));
                    // Now and then a read, abandoned after a moment.
                    if rng.random_bool(0.15) {
                        let get = format!(
                            "GET /api/v1/events?range=1h&q=project HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {read_token}\r\n\r\n"
                        );
                        abandoned(addr, &get, Fate::DroppedWhileWaiting, Duration::from_millis(rng.random_range(0..5))).await;
                    }
                }
                sent
            })
        })
        .collect();
    let mut sent = Vec::new();
    for client in clients {
        sent.extend(client.await.expect("client"));
    }

    // Every request whose answer was read was answered 201 — none 401, none 5xx.
    let statuses: HashMap<u16, usize> = sent.iter().filter(|s| s.1 == Fate::Answered).fold(HashMap::new(), |mut m, s| {
        *m.entry(s.2).or_default() += 1;
        m
    });
    assert_eq!(statuses.keys().copied().collect::<Vec<_>>(), vec![201], "statuses of answered requests: {statuses:?}");

    // Abandoned writes finish in the writer: wait (bounded) until its queue is empty.
    let deadline = Instant::now() + Duration::from_secs(30);
    while state.ingestor.queued_events() > 0 {
        assert!(Instant::now() < deadline, "the ingest queue never drained");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // What is stored: every acknowledged event, never a cut one, nothing twice, nothing else.
    let stored: Vec<(Uuid, i64)> =
        sqlx::query_as("SELECT id, count(*) FROM events GROUP BY id").fetch_all(&pool).await.expect("stored");
    assert!(stored.iter().all(|(_, n)| *n == 1), "an event was stored twice");
    let stored: HashSet<Uuid> = stored.into_iter().map(|(id, _)| id).collect();
    let positions: i64 = sqlx::query_scalar("SELECT count(*) FROM event_positions").fetch_one(&pool).await.expect("positions");
    assert_eq!(positions as usize, stored.len(), "one position per stored event");
    let mut abandoned_stored = 0;
    for (ids, fate, _) in &sent {
        let kept = ids.iter().filter(|id| stored.contains(id)).count();
        match fate {
            Fate::Answered => assert_eq!(kept, ids.len(), "an acknowledged event is missing"),
            Fate::CutMidBody => assert_eq!(kept, 0, "events of a body cut short were stored"),
            // All of a request or none of it.
            _ => {
                assert!(kept == 0 || kept == ids.len(), "a request was stored in part");
                abandoned_stored += usize::from(kept > 0);
            }
        }
    }
    let all_sent: HashSet<Uuid> = sent.iter().flat_map(|s| s.0.iter().copied()).collect();
    assert!(stored.is_subset(&all_sent));
    eprintln!(
        "{} requests, {} stored events; {abandoned_stored} abandoned requests were stored anyway",
        sent.len(),
        stored.len()
    );

    // Afterwards the server is fully healthy: polite single-event requests all succeed...
    for i in 0..100 {
        let status = answered(addr, &request(&ingest_token, &event(i).to_string())).await;
        assert_eq!(status, 201, "request {i} after the storm");
    }
    let reads = (0..20).map(|_| {
        let read_token = read_token.clone();
        tokio::spawn(async move {
            let raw = format!("GET /api/v1/events?range=1h HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {read_token}\r\nConnection: close\r\n\r\n");
            answered(addr, &raw).await
        })
    });
    for read in reads {
        assert_eq!(read.await.expect("read"), 200);
    }
    // ... it is ready ...
    let ready = answered(addr, "GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
    assert_eq!(ready, 200);
    // ... and the live tail delivers.
    let (mut socket, _) = tokio_tungstenite::connect_async(common::ws_request(addr, "range=1h&action=tail.check", &read_token))
        .await
        .expect("websocket");
    loop {
        let text = socket.next().await.expect("message").expect("frame").into_text().expect("text");
        if text.contains("\"ready\"") {
            break;
        }
    }
    let mut check = event(0);
    check["action"] = json!("tail.check");
    assert_eq!(answered(addr, &request(&ingest_token, &check.to_string())).await, 201);
    let delivered = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let text = socket.next().await.expect("message").expect("frame").into_text().expect("text");
            if text.contains("tail.check") {
                return;
            }
        }
    })
    .await;
    assert!(delivered.is_ok(), "the live tail delivered the new event");
    assert_eq!(count_events(&pool).await as usize, stored.len() + 101);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn concurrent_single_events_are_committed_in_groups(pool: PgPool) {
    let (addr, state) = start(&pool).await;
    let ingest_token = token(&pool, Scope::Ingest).await;
    let clients: Vec<_> = (0..32)
        .map(|c| {
            let ingest_token = ingest_token.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    assert_eq!(answered(addr, &request(&ingest_token, &event(c * 100 + i).to_string())).await, 201);
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("client");
    }
    assert_eq!(count_events(&pool).await, 640);
    // Fewer transactions than requests: concurrent requests shared commits.
    let metrics = state.metrics.render(&pool, 0);
    let groups: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("auditorium_ingest_group_events_count "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the group histogram is exported");
    assert!(groups < 640.0, "{groups} transactions for 640 requests");
}
