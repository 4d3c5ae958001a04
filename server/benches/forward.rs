//! Forwarding to SIEMs: a real `auditorium serve` sends to a local syslog-over-TLS receiver
//! (RFC 5425 frames, CEF) and a local HEC receiver at once, both written here (they count
//! and time what arrives; rsyslog's file output would measure rsyslog).
//!
//! Phases: (1) the ingest ceiling without and with both destinations (batches of 200 from 8
//! clients), (2) a sustained rate to both with the delivery lag (event received by the server
//! → at the receiver) p50/p99, (3) the HEC receiver down for `--outage` seconds at 2,000
//! events/s, then the backlog's drain rate; and, in the same run, how fast PostgreSQL alone
//! reads events in commit order (the ceiling for draining).
//!
//! make bench-forward                    (10,000 events/s for 60 s; a 300 s outage)
//! make bench-forward ARGS="--rate 10000 --seconds 60 --outage 300"

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::Utc;
use serde_json::{json, Value};
use support::{percentile, Args, BenchCluster};
use tokio::io::AsyncReadExt;
use uuid::Uuid;

/// What one receiver got: ids, and lags in ms (server's `received_at` → arrival here).
#[derive(Default)]
struct Tally {
    ids: HashSet<Uuid>,
    arrivals: usize,
    /// When each arrival came.
    times: Vec<Instant>,
    lag_ms: Vec<f64>,
}

type Shared = Arc<Mutex<Tally>>;

fn record(tally: &Shared, id: Uuid, received_ms: i64) {
    let lag = (Utc::now().timestamp_millis() - received_ms) as f64;
    let mut t = tally.lock().expect("tally");
    t.arrivals += 1;
    t.times.push(Instant::now());
    t.ids.insert(id);
    t.lag_ms.push(lag);
}

/// A HEC receiver; answers 503 while `down` is set.
async fn hec_receiver(tally: Shared, down: Arc<AtomicBool>) -> u16 {
    #[derive(serde::Deserialize)]
    struct Envelope {
        event: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        id: Uuid,
        #[serde(with = "app::api::rfc3339")]
        received_at: chrono::DateTime<Utc>,
    }
    let handler = move |body: Bytes| {
        let (tally, down) = (tally.clone(), down.clone());
        async move {
            if down.load(Ordering::Relaxed) {
                return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down");
            }
            for envelope in serde_json::Deserializer::from_slice(&body).into_iter::<Envelope>().flatten() {
                record(&tally, envelope.event.id, envelope.event.received_at.timestamp_millis());
            }
            (axum::http::StatusCode::OK, r#"{"text":"Success","code":0}"#)
        }
    };
    let router = axum::Router::new().route("/services/collector/event", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    port
}

/// A CA and a certificate for 127.0.0.1 signed by it, made with the openssl command.
fn certificates(dir: &Path) -> (String, String, String) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench CA"]);
    run(&["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").expect("ext");
    run(&["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"]);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("pem");
    (read("ca.pem"), read("server.pem"), read("server.key"))
}

/// An RFC 5425 receiver over TLS: reads `LEN SP MSG` frames, takes `externalId` and `art`
/// (the server's receive time, ms) from each CEF message.
async fn syslog_receiver(tally: Shared, cert: &str, key: &str) -> u16 {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert.as_bytes()).collect::<Result<_, _>>().expect("cert");
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, tally) = (acceptor.clone(), tally.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
                let mut chunk = vec![0u8; 256 * 1024];
                loop {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    let mut at = 0;
                    while let Some(space) = buf[at..].iter().position(|b| *b == b' ') {
                        let Some(len) = std::str::from_utf8(&buf[at..at + space]).ok().and_then(|l| l.parse::<usize>().ok()) else { return };
                        let start = at + space + 1;
                        if buf.len() < start + len {
                            break;
                        }
                        let message = String::from_utf8_lossy(&buf[start..start + len]);
                        let field = |key: &str| message.split(key).nth(1).and_then(|rest| rest.split(' ').next()).map(str::to_string);
                        if let (Some(id), Some(art)) = (field(" externalId=").and_then(|v| v.parse().ok()), field(" art=").and_then(|v| v.parse().ok())) {
                            record(&tally, id, art);
                        }
                        at = start + len;
                    }
                    buf.drain(..at);
                }
            });
        }
    });
    port
}

async fn start_server(url: &str, port: u16, data_dir: &Path) -> Child {
    let bin = std::env::var("AUDITORIUM_BIN").unwrap_or_else(|_| "../target/release/auditorium".into());
    let child = Command::new(bin)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--forward-max-backoff", "5s"])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start auditorium serve (make bench-forward builds it)");
    for _ in 0..240 {
        if reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.is_ok_and(|r| r.status().is_success()) {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the server did not start");
}

/// One request of `n` events happening now.
fn batch(n: usize) -> Vec<u8> {
    let now = Utc::now();
    let events: Vec<Value> = (0..n)
        .map(|i| (i, ["user.login", "project.updated", "token.created"][i % 3]))
        .map(|(i, action)| json!({"id": Uuid::now_v7(), "occurred_at": now.to_rfc3339(), "action": action,
            "actor": {"id": format!("u{}", i % 50), "name": "Bench", "type": "user"}, "outcome": if i % 7 == 0 { "failure" } else { "success" },
            "ip": "10.0.0.1", "resource": {"type": "project", "id": format!("p{i}")}, "context": {"cluster": "prod-eu"}}))
        .collect();
    serde_json::to_vec(&events).expect("json")
}

/// The most events/s 8 clients get in with batches of 200 for `seconds`.
async fn ingest_ceiling(client: &reqwest::Client, port: u16, token: &str, seconds: u64) -> f64 {
    let stored = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (client, token, stored) = (client.clone(), token.to_string(), stored.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let answer = client.post(format!("http://127.0.0.1:{port}/api/v1/events")).bearer_auth(&token).header("content-type", "application/json").body(batch(200)).send().await;
                    if answer.is_ok_and(|a| a.status().is_success()) {
                        stored.fetch_add(200, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client");
    }
    stored.load(Ordering::Relaxed) as f64 / seconds as f64
}

/// Ingests `rate` events/s for `seconds` (one request every 50 ms); returns how many.
async fn steady(client: &reqwest::Client, port: u16, token: &str, rate: usize, seconds: u64) -> usize {
    let per_tick = (rate / 20).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut tasks = Vec::new();
    for _ in 0..seconds * 20 {
        tick.tick().await;
        let request = client.post(format!("http://127.0.0.1:{port}/api/v1/events")).bearer_auth(token).header("content-type", "application/json").body(batch(per_tick));
        tasks.push(tokio::spawn(async move { request.send().await.is_ok_and(|a| a.status().is_success()) }));
    }
    let mut stored = 0;
    for task in tasks {
        if task.await.expect("request") {
            stored += per_tick;
        }
    }
    stored
}

/// Waits until both receivers hold every id stored after `position` (or `limit` passes).
async fn wait_for_all(pool: &sqlx::PgPool, after: i64, tallies: &[&Shared], limit: Duration) -> (usize, Duration) {
    // Auditorium's own events (a destination created, failing) are left out: each destination
    // starts with the event after its creation.
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT p.id FROM event_positions p JOIN events e ON e.id = p.id AND e.occurred_at = p.occurred_at WHERE p.seq > $1 AND e.action NOT LIKE 'auditorium.%'")
        .bind(after)
        .fetch_all(pool)
        .await
        .expect("ids");
    let started = Instant::now();
    loop {
        let missing: usize = tallies.iter().map(|t| { let t = t.lock().expect("tally"); ids.iter().filter(|id| !t.ids.contains(id)).count() }).sum();
        if missing == 0 || started.elapsed() > limit {
            return (missing, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn lag_row(name: &str, tally: &Shared) -> String {
    let mut t = tally.lock().expect("tally");
    t.lag_ms.sort_by(f64::total_cmp);
    let row = format!("| {name} | {} | {:.0} ms | {:.0} ms | {:.0} ms |", t.lag_ms.len(), percentile(&t.lag_ms, 50.0), percentile(&t.lag_ms, 99.0), t.lag_ms.last().copied().unwrap_or(0.0));
    t.lag_ms.clear();
    row
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let rate: usize = args.get("rate", 10_000);
    let seconds: u64 = args.get("seconds", 60);
    let outage: u64 = args.get("outage", 300);
    println!("forward benchmark: {rate} events/s for {seconds} s to syslog/TLS and HEC at once; a {outage} s HEC outage at 2,000 events/s");
    println!("machine: {}", support::machine());
    let cluster = BenchCluster::start().await;
    let (pool, url) = cluster.fresh_database("bench_forward").await;
    let dir = std::env::temp_dir().join(format!("auditorium-bench-forward-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (ca, cert, key) = certificates(&dir);
    let (syslog_tally, hec_tally): (Shared, Shared) = (Shared::default(), Shared::default());
    let hec_down = Arc::new(AtomicBool::new(false));
    let syslog_port = syslog_receiver(syslog_tally.clone(), &cert, &key).await;
    let hec_port = hec_receiver(hec_tally.clone(), hec_down.clone()).await;
    let admin = {
        use server::auth::audit::{Actor, Origin};
        let (user, _) = server::auth::accounts::create_user(&pool, "bench@example.com", None, server::store::users::Role::Admin, &[], None, Actor::system(), Origin::default()).await.expect("admin");
        server::auth::accounts::create_token(&pool, "bench", server::store::tokens::Scope::Admin, Some(user.id), Actor::system(), Origin::default()).await.expect("token").1
    };
    let port = 3310;
    let mut server = start_server(&url, port, &dir).await;
    let client = reqwest::Client::new();

    println!("\n## Ingest ceiling (8 clients, 200 events per request, 20 s each)\n");
    let without = ingest_ceiling(&client, port, &admin, 20).await;
    let first = server::store::page::latest_position(&pool).await.expect("position");
    for body in [
        json!({"name": "syslog", "kind": "syslog", "enabled": true, "host": "127.0.0.1", "port": syslog_port, "transport": "tls", "format": "cef", "ca_pem": ca}),
        json!({"name": "hec", "kind": "splunk_hec", "enabled": true, "url": format!("http://127.0.0.1:{hec_port}"), "secret": "bench"}),
    ] {
        let answer = client.post(format!("http://127.0.0.1:{port}/api/v1/destinations")).bearer_auth(&admin).header("content-type", "application/json").body(body.to_string()).send().await.expect("create");
        assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap_or_default());
    }
    let with = ingest_ceiling(&client, port, &admin, 20).await;
    println!("| | events/s |\n|---|---|\n| without destinations | {without:.0} |\n| with syslog/TLS + HEC forwarding | {with:.0} ({:+.1} %) |", (with / without - 1.0) * 100.0);
    // Both destinations start with the next event: let them catch up before the next phase.
    let (missing, took) = wait_for_all(&pool, first, &[&syslog_tally, &hec_tally], Duration::from_secs(300)).await;
    println!("\nthe receivers had everything {:.1} s after the ingest stopped (missing: {missing})", took.as_secs_f64());
    for t in [&syslog_tally, &hec_tally] {
        t.lock().expect("tally").lag_ms.clear();
    }

    println!("\n## Sustained {rate} events/s for {seconds} s to both\n");
    let start = server::store::page::latest_position(&pool).await.expect("position");
    let stored = steady(&client, port, &admin, rate, seconds).await;
    let (missing, _) = wait_for_all(&pool, start, &[&syslog_tally, &hec_tally], Duration::from_secs(60)).await;
    println!("{stored} events stored; missing at the receivers after 60 s: {missing}\n");
    println!("| receiver | events in this phase | lag p50 | lag p99 (target ≤ 2 s) | max |\n|---|---|---|---|---|");
    println!("{}\n{}", lag_row("syslog over TLS (CEF)", &syslog_tally), lag_row("Splunk HEC", &hec_tally));

    println!("\n## HEC down for {outage} s at 2,000 events/s, then the drain\n");
    let start = server::store::page::latest_position(&pool).await.expect("position");
    hec_down.store(true, Ordering::Relaxed);
    let stored = steady(&client, port, &admin, 2_000, outage).await;
    let (before, arrivals_before) = {
        let t = hec_tally.lock().expect("tally");
        (t.ids.len(), t.times.len())
    };
    hec_down.store(false, Ordering::Relaxed);
    let (missing, took) = wait_for_all(&pool, start, &[&hec_tally], Duration::from_secs(900)).await;
    let t = hec_tally.lock().expect("tally");
    let drained = t.ids.len() - before;
    // From the first delivery after the outage (the sender was waiting out its backoff, at
    // most 5 s here) to the last.
    let span = match (t.times.get(arrivals_before), t.times.last()) {
        (Some(first), Some(last)) => last.duration_since(*first).as_secs_f64().max(0.001),
        _ => took.as_secs_f64(),
    };
    println!("{stored} events stored during the outage; {drained} delivered after it: {:.1} s from the first to the last = {:.0} events/s (target ≥ 20,000); {:.1} s after the receiver came back in all; missing: {missing}",
        span, drained as f64 / span, took.as_secs_f64());
    drop(t);

    println!("\n## PostgreSQL alone: reading those events in commit order, 2,000 at a time\n");
    let started = Instant::now();
    let (mut after, mut read) = (start, 0usize);
    loop {
        let rows = server::store::live::matching_between(&pool, None, after, None, 2_000).await.expect("read");
        let Some(last) = rows.last().map(|(p, _)| *p) else { break };
        read += rows.len();
        after = last;
    }
    println!("{read} events in {:.1} s = {:.0} events/s (the ceiling for a drain)", started.elapsed().as_secs_f64(), read as f64 / started.elapsed().as_secs_f64());
    let _ = server.kill();
    pool.close().await;
    cluster.finish().await;
    let _ = std::fs::remove_dir_all(&dir);
}
