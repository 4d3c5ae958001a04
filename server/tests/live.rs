//! The live tail over real WebSockets against a real PostgreSQL: every committed event once,
//! in commit order, across reconnects, instances and slow clients.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use app::api::{LiveMessage, LiveMessageKind};
use common::{event, install_reader, state, ws_request, TEST_READER};
use futures::StreamExt;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn start_server(pool: &PgPool) -> SocketAddr {
    install_reader(pool).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = server::serve::router(state(pool).await);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Subscribes as the test reader.
async fn subscribe(addr: SocketAddr, query: &str) -> Socket {
    subscribe_as(addr, query, Some(TEST_READER)).await
}

async fn subscribe_as(addr: SocketAddr, query: &str, token: Option<&str>) -> Socket {
    let request = match token {
        Some(token) => ws_request(addr, query, token),
        None => tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!("ws://{addr}/api/v1/live?{query}"))
            .expect("request"),
    };
    let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("connect");
    socket
}

/// The next live message (pings are answered by the client library).
async fn next(socket: &mut Socket) -> Option<LiveMessage> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), socket.next()).await.expect("a message within 20 s")? {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).expect("a live message")),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Reads until `ready`, returning the position it reports and the events replayed before it.
async fn until_ready(socket: &mut Socket) -> (i64, Vec<(i64, Uuid)>) {
    let mut replayed = Vec::new();
    loop {
        let message = next(socket).await.expect("open");
        match message.kind {
            LiveMessageKind::Ready => return (message.position, replayed),
            LiveMessageKind::Events => replayed.extend(message.events.iter().map(|e| (e.position, e.event.id))),
            LiveMessageKind::Position => {}
        }
    }
}

/// Reads events until `count` arrived; returns (position, id) in arrival order.
async fn collect(socket: &mut Socket, count: usize) -> Vec<(i64, Uuid)> {
    let mut got = Vec::new();
    while got.len() < count {
        match next(socket).await {
            Some(m) => got.extend(m.events.iter().map(|e| (e.position, e.event.id))),
            None => break,
        }
    }
    got
}

fn batch(prefix: &str, n: usize) -> Vec<Value> {
    (0..n).map(|i| {
        let mut e = event(i);
        e["action"] = json!(format!("{prefix}.written"));
        e
    }).collect()
}

async fn committed(pool: &PgPool) -> Vec<(i64, Uuid)> {
    sqlx::query_as("SELECT seq, id FROM event_positions ORDER BY seq").fetch_all(pool).await.expect("positions")
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn concurrent_writers_are_seen_once_each_in_commit_order(pool: PgPool) {
    let addr = start_server(&pool).await;
    let mut socket = subscribe(addr, "range=1h").await;
    let (start, replayed) = until_ready(&mut socket).await;
    assert_eq!((start, replayed.len()), (0, 0));

    let writers: Vec<_> = (0..8)
        .map(|w| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let ingestor = server::ingest::Ingestor::for_command(pool.clone());
                for _ in 0..25 {
                    server::ingest::ingest(&ingestor, &batch(&format!("writer{w}"), 20)).await.expect("ingest");
                }
            })
        })
        .collect();
    let received = collect(&mut socket, 8 * 25 * 20).await;
    for w in writers {
        w.await.expect("writer");
    }
    let stored = committed(&pool).await;
    assert_eq!(stored.len(), 4000);
    assert_eq!(received, stored, "every committed event, once, in commit order");
    assert!(received.windows(2).all(|w| w[0].0 < w[1].0));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn reconnecting_with_a_position_replays_exactly_what_was_missed(pool: PgPool) {
    let addr = start_server(&pool).await;
    let ingestor = server::ingest::Ingestor::for_command(pool.clone());
    let mut socket = subscribe(addr, "range=1h&action=kept.*").await;
    until_ready(&mut socket).await;
    server::ingest::ingest(&ingestor, &batch("kept", 10)).await.expect("ingest");
    let first = collect(&mut socket, 10).await;
    let last = first.last().expect("events").0;
    socket.close(None).await.expect("close");

    // While disconnected: matching and non-matching events.
    server::ingest::ingest(&ingestor, &batch("kept", 7)).await.expect("ingest");
    server::ingest::ingest(&ingestor, &batch("ignored", 5)).await.expect("ingest");
    server::ingest::ingest(&ingestor, &batch("kept", 8)).await.expect("ingest");

    let mut socket = subscribe(addr, &format!("range=1h&action=kept.*&after={last}")).await;
    let (ready_at, replayed) = until_ready(&mut socket).await;
    assert_eq!(replayed.len(), 15, "the 15 matching events missed, not the 5 others, not the 10 seen");
    let seen: HashSet<Uuid> = first.iter().map(|(_, id)| *id).collect();
    assert!(replayed.iter().all(|(p, id)| *p > last && !seen.contains(id)));
    assert_eq!(ready_at, committed(&pool).await.last().expect("stored").0);

    // And then live again.
    server::ingest::ingest(&ingestor, &batch("kept", 3)).await.expect("ingest");
    assert_eq!(collect(&mut socket, 3).await.len(), 3);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn two_instances_deliver_each_others_events(pool: PgPool) {
    let (a, b) = (start_server(&pool).await, start_server(&pool).await);
    let (mut on_a, mut on_b) = (subscribe(a, "range=1h").await, subscribe(b, "range=1h").await);
    until_ready(&mut on_a).await;
    until_ready(&mut on_b).await;
    let token = server::store::tokens::create(&pool, "writer", server::store::tokens::Scope::Ingest).await.expect("token").1;
    let http = |addr: SocketAddr, body: String| {
        let token = token.clone();
        async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let request = format!(
                "POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.expect("write");
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.expect("read");
            assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
        }
    };
    http(a, json!(batch("via_a", 5)).to_string()).await;
    http(b, json!(batch("via_b", 5)).to_string()).await;
    let (got_a, got_b) = (collect(&mut on_a, 10).await, collect(&mut on_b, 10).await);
    assert_eq!(got_a, committed(&pool).await);
    assert_eq!(got_b, got_a);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_stalled_client_neither_delays_others_nor_loses_events(pool: PgPool) {
    let addr = start_server(&pool).await;
    let mut stalled = subscribe(addr, "range=1h").await;
    let (_, _) = until_ready(&mut stalled).await;
    let mut fast = subscribe(addr, "range=1h").await;
    until_ready(&mut fast).await;

    // About 24 MB of events in 300 commits: more than socket buffers and the hub's buffer hold.
    let ingestor = server::ingest::Ingestor::for_command(pool.clone());
    let padding = "x".repeat(7_000);
    let total = 300 * 10;
    let writer = {
        tokio::spawn(async move {
            for i in 0..300 {
                let events: Vec<Value> = (0..10).map(|j| {
                    let mut e = event(j);
                    e["metadata"] = json!({ "batch": i, "padding": padding });
                    e
                }).collect();
                server::ingest::ingest(&ingestor, &events).await.expect("ingest");
            }
        })
    };
    let started = Instant::now();
    let fast_got = collect(&mut fast, total).await;
    let fast_took = started.elapsed();
    writer.await.expect("writer");
    assert_eq!(fast_got.len(), total, "the reading client gets everything");
    assert!(fast_took < Duration::from_secs(30), "and is not held back by the stalled one ({fast_took:?})");

    // The stalled client now reads: everything arrives, once, in order — through the socket,
    // through catch-up from the database, or after a reconnect with its last position.
    let mut got: Vec<(i64, Uuid)> = Vec::new();
    loop {
        match next(&mut stalled).await {
            Some(m) => got.extend(m.events.iter().map(|e| (e.position, e.event.id))),
            None => {
                let last = got.last().map_or(0, |e| e.0);
                stalled = subscribe(addr, &format!("range=1h&after={last}")).await;
                let (_, replayed) = until_ready(&mut stalled).await;
                got.extend(replayed);
            }
        }
        if got.len() >= total {
            break;
        }
    }
    assert_eq!(got, committed(&pool).await);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn bad_parameters_and_missing_access_close_with_a_reason(pool: PgPool) {
    let open = start_server(&pool).await;
    let mut socket = subscribe(open, "limit=0").await;
    match socket.next().await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 4400);
            assert!(frame.reason.contains("limit"), "{}", frame.reason);
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    let mut socket = subscribe_as(open, "range=1h", None).await;
    match socket.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4401),
        other => panic!("expected a close frame, got {other:?}"),
    }
}
