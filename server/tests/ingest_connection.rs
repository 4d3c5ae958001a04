//! A client that disappears in the middle of sending a batch: nothing of it is stored,
//! not even the lines that arrived complete.

mod common;

use common::{app, count_events, event, token};
use server::store::tokens::Scope;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start_server(pool: &PgPool) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = app(pool).await;
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Sends `head` + `body`, then (if `hang_up`) closes the sending side, and reads the answer.
async fn send(addr: std::net::SocketAddr, head: String, body: &[u8], hang_up: bool) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(body).await.expect("body");
    if hang_up {
        stream.shutdown().await.expect("half-close");
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    answer
}

fn ndjson(n: usize) -> String {
    (0..n).map(|i| format!("{}\n", event(i))).collect()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_body_cut_short_stores_nothing(pool: PgPool) {
    let addr = start_server(&pool).await;
    let token = token(&pool, Scope::Ingest).await;
    let body = ndjson(50);
    // Cut after 25 complete lines.
    let cut = body.match_indices('\n').nth(24).map(|(i, _)| i + 1).expect("25 lines");
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let answer = send(addr, head, &body.as_bytes()[..cut], true).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("body_unreadable"), "{answer}");
    assert_eq!(count_events(&pool).await, 0);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_chunked_stream_without_its_end_stores_nothing(pool: PgPool) {
    let addr = start_server(&pool).await;
    let token = token(&pool, Scope::Ingest).await;
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let mut chunks = String::new();
    for part in [ndjson(10), ndjson(10)] {
        chunks.push_str(&format!("{:x}\r\n{part}\r\n", part.len()));
    }
    // No terminating zero-length chunk: the stream just ends.
    let answer = send(addr, head, chunks.as_bytes(), true).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(count_events(&pool).await, 0);

    // The same connection pattern with the whole body stores all of it.
    let body = ndjson(20);
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let answer = send(addr, head, body.as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(count_events(&pool).await, 20);
}
