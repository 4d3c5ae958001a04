//! Forwarding with the real `auditorium` binary: two instances on one database, events
//! arriving all along, each instance killed with SIGKILL in turn and started again. The
//! receivers get every matching event at least once and in commit order; while both
//! instances run undisturbed, exactly one of them sends (nothing arrives twice).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use common::forward::{committed, first_arrivals};
use common::receivers::Receiver;

async fn wait_until(what: &str, seconds: u64, mut condition: impl FnMut() -> bool) {
    common::forward::wait_until(what, seconds, || std::future::ready(condition())).await
}

const BIN: &str = env!("CARGO_BIN_EXE_auditorium");

struct Instance {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts an instance; ready when our own process answers `/readyz` (another test's server
/// may have taken the port we picked: then we try another one).
async fn start(pool: &PgPool, dir: &Path) -> Instance {
    for _ in 0..5 {
        let addr = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
        let child = Command::new(BIN)
            .env("DATABASE_URL", common::database_url(pool))
            .env("AUDITORIUM_FORWARD_MAX_BACKOFF", "500ms")
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--addr", &addr.to_string(), "--site-root", "/nonexistent"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("server-{}.log", addr.port()))).expect("log"))
            .spawn()
            .expect("server starts");
        let mut instance = Instance { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if instance.child.try_wait().expect("status").is_some() {
                break;
            }
            let ready = reqwest::get(format!("http://{addr}/readyz")).await.is_ok_and(|r| r.status().is_success());
            if ready {
                // Ours only if our process still runs a moment later (it exits when the port
                // was taken by another test's server, which would have answered).
                tokio::time::sleep(Duration::from_millis(100)).await;
                if instance.child.try_wait().expect("status").is_none() {
                    return instance;
                }
                break;
            }
            assert!(Instant::now() < deadline, "the server never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("the server could not start");
}

fn kill(instance: Instance) {
    let mut instance = instance;
    instance.child.kill().expect("SIGKILL");
    let _ = instance.child.wait();
}

/// Posts batches of 10 events to whichever instance answers, until `stop`.
async fn keep_sending(addrs: Arc<std::sync::Mutex<Vec<SocketAddr>>>, token: String, sent: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    let client = reqwest::Client::new();
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let targets = addrs.lock().expect("addrs").clone();
        let addr = targets[n % targets.len()];
        let events: Vec<Value> = (0..10)
            .map(|i| json!({"id": Uuid::now_v7().to_string(), "action": if i % 2 == 0 { "deploy.started" } else { "noise.ignored" }, "actor": {"id": "ci", "name": "CI", "type": "service"}}))
            .collect();
        let answer = client.post(format!("http://{addr}/api/v1/events")).bearer_auth(&token).header("content-type", "application/json").body(serde_json::to_vec(&events).expect("json")).timeout(Duration::from_secs(5)).send().await;
        match answer {
            Ok(r) if r.status().is_success() => {
                sent.fetch_add(10, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn two_instances_and_sigkills_lose_nothing_and_keep_commit_order(pool: PgPool) {
    let dir = std::env::temp_dir().join(format!("auditorium-forward-two-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let admin = common::admin_token(&pool).await;
    let writer = common::token(&pool, server::store::tokens::Scope::Ingest).await;
    let hec = Receiver::hec("two-instances").await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let hook = Receiver::webhook(secret).await;

    let a = start(&pool, &dir).await;
    let b = start(&pool, &dir).await;
    let client = reqwest::Client::new();
    for body in [
        json!({"name": "HEC", "kind": "splunk_hec", "enabled": true, "url": hec.url(), "secret": "two-instances", "filter": "action=deploy.*"}),
        json!({"name": "Hook", "kind": "webhook", "enabled": true, "url": hook.url(), "secret": secret, "filter": "action=deploy.*"}),
    ] {
        let answer = client.post(format!("http://{}/api/v1/destinations", a.addr)).bearer_auth(&admin).header("content-type", "application/json").body(body.to_string()).send().await.expect("create");
        assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap_or_default());
    }
    let addrs = Arc::new(std::sync::Mutex::new(vec![a.addr, b.addr]));
    let (sent, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let sender = tokio::spawn(keep_sending(addrs.clone(), writer.clone(), sent.clone(), stop.clone()));

    // Both instances up: one sender per destination, so nothing arrives twice.
    wait_until("events flow to both receivers", 30, || hec.ids().len() >= 300 && hook.ids().len() >= 300).await;
    for (name, ids) in [("HEC", hec.ids()), ("webhook", hook.ids())] {
        assert_eq!(first_arrivals(&ids).len(), ids.len(), "{name}: two instances sent the same events");
    }

    // SIGKILL one instance, then the other, each started again while events keep coming.
    *addrs.lock().expect("addrs") = vec![b.addr];
    kill(a);
    let before = sent.load(Ordering::Relaxed);
    wait_until("events go on after the first kill", 30, || sent.load(Ordering::Relaxed) >= before + 300).await;
    let a = start(&pool, &dir).await;
    *addrs.lock().expect("addrs") = vec![a.addr];
    kill(b);
    let before = sent.load(Ordering::Relaxed);
    wait_until("events go on after the second kill", 30, || sent.load(Ordering::Relaxed) >= before + 300).await;
    let b = start(&pool, &dir).await;
    *addrs.lock().expect("addrs") = vec![a.addr, b.addr];
    let before = sent.load(Ordering::Relaxed);
    wait_until("events go on with both back", 30, || sent.load(Ordering::Relaxed) >= before + 300).await;
    stop.store(true, Ordering::Relaxed);
    sender.await.expect("sender");

    let expected = committed(&pool, "e.action = 'deploy.started'").await;
    assert!(expected.len() * 2 >= sent.load(Ordering::Relaxed), "every acknowledged deploy event is committed");
    wait_until("the receivers have caught up", 60, || first_arrivals(&hec.ids()).len() >= expected.len() && first_arrivals(&hook.ids()).len() >= expected.len()).await;
    for (name, ids) in [("HEC", hec.ids()), ("webhook", hook.ids())] {
        assert_eq!(first_arrivals(&ids), expected, "{name}: every matching event at least once, in commit order, nothing else");
    }
    assert!(hec.refused().is_empty() && hook.refused().is_empty());
    eprintln!("{} deploy events; HEC received {}, webhook {} (repeats are re-sends after a kill)", expected.len(), hec.ids().len(), hook.ids().len());
    drop((a, b));
}
