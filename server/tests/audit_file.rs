//! `--audit-file`: every committed event exactly once, in commit order, across a SIGKILL of
//! the server while events keep arriving.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use server::store::tokens::{self, Scope};

const BIN: &str = env!("CARGO_BIN_EXE_auditorium");

fn url_of(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let database = pool.connect_options().get_database().expect("database").to_string();
    let (before, after) = base.split_once('?').map_or((base.as_str(), ""), |(b, a)| (b, a));
    let root = before.rsplit_once('/').map_or(before, |(r, _)| r);
    format!("{root}/{database}?{after}")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(pool: &PgPool, dir: &Path, addr: std::net::SocketAddr) -> Server {
    let child = Command::new(BIN)
        .env("DATABASE_URL", url_of(pool))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["serve", "--addr", &addr.to_string(), "--site-root", "/nonexistent", "--audit-file"])
        .arg(dir.join("audit"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    Server(child)
}

/// Sends batches of 20 events until `stop` says so; returns how many were acknowledged.
async fn keep_sending(addr: std::net::SocketAddr, secret: String, until: Instant) -> usize {
    let client = reqwest::Client::new();
    let mut acknowledged = 0;
    while Instant::now() < until {
        let events: Vec<Value> = (0..20).map(|i| json!({"id": Uuid::now_v7().to_string(), "action": "file.written", "actor": {"id": format!("u{i}"), "name": "U", "type": "user"}})).collect();
        match client.post(format!("http://{addr}/api/v1/events")).bearer_auth(&secret).header("content-type", "application/json").body(serde_json::to_vec(&events).expect("json")).timeout(Duration::from_secs(5)).send().await {
            Ok(r) if r.status().is_success() => acknowledged += 20,
            // The server is down (killed, starting): try again shortly.
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    acknowledged
}

fn lines(dir: &Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    // Rotated days first (by name), the active file last.
    files.sort_by_key(|p| (p.file_name().is_some_and(|n| n == "audit.log"), p.clone()));
    files
        .iter()
        .flat_map(|p| std::fs::read_to_string(p).unwrap_or_default().lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect::<Vec<Value>>())
        .collect()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn every_committed_event_once_in_order_across_a_sigkill(pool: PgPool) {
    let dir = std::env::temp_dir().join(format!("auditorium-auditfile-{}", Uuid::now_v7()));
    let secret = tokens::create(&pool, "writer", Scope::Ingest).await.expect("token").1;
    let addr = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let mut server = start(&pool, &dir, addr);
    let sender = tokio::spawn(keep_sending(addr, secret.clone(), Instant::now() + Duration::from_secs(8)));
    // Killed without warning in the middle of the traffic, then started again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    server.0.kill().expect("SIGKILL");
    let _ = server.0.wait();
    let _server = start(&pool, &dir, addr);
    let acknowledged = sender.await.expect("sender");
    assert!(acknowledged > 100, "events flowed before and after the kill ({acknowledged})");

    let committed: Vec<(i64, Uuid)> = sqlx::query_as("SELECT seq, id FROM event_positions ORDER BY seq").fetch_all(&pool).await.expect("positions");
    assert!(committed.len() >= acknowledged, "every acknowledged event is committed");
    let deadline = Instant::now() + Duration::from_secs(20);
    let written = loop {
        let written = lines(&dir.join("audit"));
        if written.len() >= committed.len() || Instant::now() > deadline {
            break written;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let in_file: Vec<(i64, Uuid)> = written
        .iter()
        .map(|l| (l["position"].as_i64().expect("position"), l["id"].as_str().and_then(|id| id.parse().ok()).expect("id")))
        .collect();
    assert_eq!(in_file.len(), committed.len(), "no gaps, no duplicates");
    assert_eq!(in_file, committed, "exactly the committed events, in commit order");
    assert!(written.iter().all(|l| l["action"].is_string() && l["actor"]["id"].is_string()), "whole events");
}
