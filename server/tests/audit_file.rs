//! `--audit-file`: every committed event exactly once, in commit order, across a SIGKILL of
//! the server while events keep arriving.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use server::store::tokens::{self, Scope};

const BIN: &str = env!("CARGO_BIN_EXE_auditorium");

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(pool: &PgPool, dir: &Path, addr: std::net::SocketAddr) -> Server {
    let child = Command::new(BIN)
        .env("DATABASE_URL", common::database_url(pool))
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

/// Sends batches of 20 events until `stop` is set, counting those acknowledged.
async fn keep_sending(addr: std::net::SocketAddr, secret: String, acknowledged: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    let client = reqwest::Client::new();
    while !stop.load(Ordering::Relaxed) {
        let events: Vec<Value> = (0..20).map(|i| json!({"id": Uuid::now_v7().to_string(), "action": "file.written", "actor": {"id": format!("u{i}"), "name": "U", "type": "user"}})).collect();
        match client.post(format!("http://{addr}/api/v1/events")).bearer_auth(&secret).header("content-type", "application/json").body(serde_json::to_vec(&events).expect("json")).timeout(Duration::from_secs(5)).send().await {
            Ok(r) if r.status().is_success() => {
                acknowledged.fetch_add(20, Ordering::Relaxed);
            }
            // The server is down (killed, starting): a client backs off before retrying.
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Polls `condition` until it holds (or fails the test after 30 s).
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn lines(dir: &Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    // Rotated days first (by name), the active file last.
    files.sort_by_key(|p| (p.file_name().is_some_and(|n| n == "audit.log"), p.clone()));
    files
        .iter()
        // The writer may be in the middle of appending: a last line without its line break
        // is not written yet.
        .flat_map(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let complete = text.rfind('\n').map_or("", |end| &text[..end]).to_string();
            complete.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect::<Vec<Value>>()
        })
        .collect()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn every_committed_event_once_in_order_across_a_sigkill(pool: PgPool) {
    let dir = std::env::temp_dir().join(format!("auditorium-auditfile-{}", Uuid::now_v7()));
    let secret = tokens::create(&pool, "writer", Scope::Ingest).await.expect("token").1;
    let addr = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let mut server = start(&pool, &dir, addr);
    let (count, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let sender = tokio::spawn(keep_sending(addr, secret.clone(), count.clone(), stop.clone()));
    // Killed without warning in the middle of the traffic (once events flow and the file is
    // being written), then started again while the traffic goes on.
    let audit = dir.join("audit");
    wait_until("events flow and reach the file", || count.load(Ordering::Relaxed) >= 1_000 && !lines(&audit).is_empty()).await;
    server.0.kill().expect("SIGKILL");
    let _ = server.0.wait();
    let before = count.load(Ordering::Relaxed);
    let _server = start(&pool, &dir, addr);
    wait_until("events flow again after the restart", || count.load(Ordering::Relaxed) >= before + 1_000).await;
    stop.store(true, Ordering::Relaxed);
    sender.await.expect("sender");
    let acknowledged = count.load(Ordering::Relaxed);

    let committed: Vec<(i64, Uuid)> = sqlx::query_as("SELECT seq, id FROM event_positions ORDER BY seq").fetch_all(&pool).await.expect("positions");
    assert!(committed.len() >= acknowledged, "every acknowledged event is committed");
    wait_until("the file has caught up", || lines(&audit).len() >= committed.len()).await;
    let written = lines(&audit);
    let in_file: Vec<(i64, Uuid)> = written
        .iter()
        .map(|l| (l["position"].as_i64().expect("position"), l["id"].as_str().and_then(|id| id.parse().ok()).expect("id")))
        .collect();
    assert_eq!(in_file.len(), committed.len(), "no gaps, no duplicates");
    assert_eq!(in_file, committed, "exactly the committed events, in commit order");
    assert!(written.iter().all(|l| l["action"].is_string() && l["actor"]["id"].is_string()), "whole events");
}
