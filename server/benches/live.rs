//! Live-tail delivery: events ingested through the HTTP API at a steady rate while many
//! WebSocket subscribers (a mix of filters) listen to a real `auditorium serve` process.
//! Prints delivery latency, events lost, duplicates, and the server's memory.
//!
//! make bench-live                                   (2,000 events/s for 60 s, 500 subscribers,
//!                                                    then 1,000 sockets)
//! make bench-live ARGS="--rate 2000 --seconds 60 --subscribers 500 --sockets 1000"

mod support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::api::LiveMessageKind;
use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use server::demo::Generator;
use server::store::tokens::{self, Scope};
use sqlx::PgPool;
use support::{percentile, Args, BenchCluster};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// The filters subscribers use, with their share.
const FILTERS: [(&str, usize); 5] = [
    ("range=1h", 40),
    ("range=1h&method!=GET", 20),
    ("range=1h&action=application.updated", 15),
    ("range=1h&context.cluster=prod-eu", 15),
    ("range=1h&q=deploy", 10),
];

#[derive(Default)]
struct Received {
    ids: Vec<Uuid>,
    /// Milliseconds from the server receiving the request to this client receiving the event.
    latency_ms: Vec<f64>,
    /// Every 20th event: when it arrived, to compare with when its ingest request was answered.
    samples: Vec<(Uuid, Instant)>,
}

/// Only what the benchmark reads of a live message: decoding whole events in 500 clients on
/// the same two cores as the server would measure the clients, not the server.
#[derive(serde::Deserialize)]
struct Lite {
    #[serde(rename = "type")]
    kind: LiveMessageKind,
    #[serde(default)]
    events: Vec<LiteEvent>,
}

#[derive(serde::Deserialize)]
struct LiteEvent {
    event: LiteInner,
}

#[derive(serde::Deserialize)]
struct LiteInner {
    id: Uuid,
    #[serde(with = "app::api::rfc3339")]
    received_at: chrono::DateTime<Utc>,
}

struct Subscriber {
    filter: &'static str,
    received: Arc<Mutex<Received>>,
}

/// The server's resident memory in MiB (now, and the peak so far).
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn start_server(url: &str, port: u16) -> Child {
    let bin = std::env::var("AUDITORIUM_BIN").unwrap_or_else(|_| "../target/release/auditorium".into());
    let child = Command::new(bin)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start auditorium serve (build it first: make bench-live does)");
    for _ in 0..120 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the server did not start");
}

async fn subscribe(port: u16, filter: &'static str, ready: Arc<tokio::sync::Semaphore>) -> Subscriber {
    let received = Arc::new(Mutex::new(Received::default()));
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/api/v1/live?{filter}")).await.expect("connect");
    let sink = received.clone();
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else { continue };
            let Ok(message) = serde_json::from_str::<Lite>(&text) else { continue };
            if message.kind == LiveMessageKind::Ready {
                ready.add_permits(1);
            }
            let (now, instant) = (Utc::now(), Instant::now());
            let mut r = sink.lock().expect("lock");
            for e in message.events {
                r.latency_ms.push((now - e.event.received_at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
                if r.ids.len() % 20 == 0 {
                    r.samples.push((e.event.id, instant));
                }
                r.ids.push(e.event.id);
            }
        }
    });
    Subscriber { filter, received }
}

/// Events matching `filter` among those stored after position `after`.
async fn expected(pool: &PgPool, filter: &str, after: i64) -> Vec<Uuid> {
    let view = app::query::decode_query(filter, &[]).view;
    let f = app::query::EventFilter::from_view(&view, Utc::now() - chrono::Duration::minutes(5));
    server::store::live::matching_between(pool, Some(&f), after, None, i64::MAX).await.expect("expected").into_iter().map(|(_, e)| e.id).collect()
}

struct Phase {
    label: String,
    rate: usize,
    seconds: u64,
    subscribers: usize,
}

async fn run_phase(phase: Phase, pool: &PgPool, port: u16, pid: u32, secret: &str) {
    let (baseline, _) = memory(pid);
    let ready = Arc::new(tokio::sync::Semaphore::new(0));
    let mut subscribers = Vec::new();
    let weights: usize = FILTERS.iter().map(|f| f.1).sum();
    for i in 0..phase.subscribers {
        let slot = (i * weights / phase.subscribers.max(1)) % weights;
        let mut acc = 0;
        let filter = FILTERS.iter().find(|(_, w)| { acc += w; slot < acc }).map(|f| f.0).unwrap_or(FILTERS[0].0);
        subscribers.push(subscribe(port, filter, ready.clone()).await);
    }
    let _ = ready.acquire_many(phase.subscribers as u32).await.expect("ready").forget();
    let (connected_memory, _) = memory(pid);
    let start_position = server::store::page::latest_position(pool).await.expect("position");

    // Ingest at a steady rate: one request of rate/20 events every 50 ms.
    let per_tick = (phase.rate / 20).max(1);
    let now = Utc::now();
    let total = per_tick * 20 * phase.seconds as usize;
    let values = Generator::new(5, now - chrono::Duration::minutes(1), now).events_between(now - chrono::Duration::minutes(1), now, total as u64);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut in_flight = Vec::new();
    let mut peak_memory: f64 = 0.0;
    let answered: Arc<Mutex<HashMap<Uuid, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let started = Instant::now();
    for chunk in values.chunks(per_tick) {
        tick.tick().await;
        // Events happen now (the live view is "the last hour"), with our own ids.
        let batch: Vec<serde_json::Value> = chunk.iter().map(|v| {
            let mut v = v.clone();
            v["occurred_at"] = serde_json::json!(Utc::now().to_rfc3339());
            v["id"] = serde_json::json!(Uuid::now_v7());
            v
        }).collect();
        let ids: Vec<Uuid> = batch.iter().filter_map(|v| v["id"].as_str().and_then(|s| s.parse().ok())).collect();
        let answered = answered.clone();
        let request = hyper::Request::post(format!("http://127.0.0.1:{port}/api/v1/events"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {secret}"))
            .body(Full::new(Bytes::from(serde_json::to_vec(&batch).expect("json"))))
            .expect("request");
        let client = client.clone();
        in_flight.push(tokio::spawn(async move {
            let response = client.request(request).await.expect("ingest");
            let status = response.status();
            let _ = response.into_body().collect().await;
            let at = Instant::now();
            answered.lock().expect("lock").extend(ids.into_iter().map(|id| (id, at)));
            assert_eq!(status, 201);
        }));
        peak_memory = peak_memory.max(memory(pid).0);
    }
    for f in in_flight {
        f.await.expect("ingest task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Let the last events arrive.
    let mut lost = 0usize;
    let mut duplicates = 0usize;
    let mut expected_total = 0usize;
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut by_filter: HashMap<&str, Vec<Uuid>> = HashMap::new();
    for (filter, _) in FILTERS {
        by_filter.insert(filter, expected(pool, filter, start_position).await);
    }
    for s in &subscribers {
        let want = &by_filter[s.filter];
        while s.received.lock().expect("lock").ids.len() < want.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut latencies = Vec::new();
    let mut after_answer = Vec::new();
    let answered = answered.lock().expect("lock");
    for s in &subscribers {
        let r = s.received.lock().expect("lock");
        let want: std::collections::HashSet<&Uuid> = by_filter[s.filter].iter().collect();
        let got: std::collections::HashSet<&Uuid> = r.ids.iter().collect();
        expected_total += want.len();
        lost += want.difference(&got).count();
        duplicates += r.ids.len() - got.len();
        latencies.extend(r.latency_ms.iter().copied());
        for (id, arrived) in &r.samples {
            if let Some(answer) = answered.get(id) {
                // Negative when the event arrived before the ingest request's answer did.
                let ms = arrived.saturating_duration_since(*answer).as_secs_f64() * 1000.0;
                after_answer.push(ms);
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    after_answer.sort_by(f64::total_cmp);
    let (end_memory, high_water) = memory(pid);
    println!("\n## {}\n", phase.label);
    println!("ingested {} events in {elapsed:.1} s ({:.0} events/s); {} subscribers received {} events in all",
        total, total as f64 / elapsed, phase.subscribers, latencies.len());
    println!("| measurement | value | target |");
    println!("|---|---|---|");
    println!("| latency p50 (request received → event at subscriber) | {:.1} ms | ≤ 50 ms |", percentile(&latencies, 50.0));
    println!("| latency p99 | {:.1} ms | ≤ 250 ms |", percentile(&latencies, 99.0));
    println!("| latency max | {:.1} ms | |", latencies.last().copied().unwrap_or(0.0));
    println!("| latency after the ingest answer (after commit; a lower bound), p50 / p99 | {:.1} / {:.1} ms | |",
        percentile(&after_answer, 50.0), percentile(&after_answer, 99.0));
    println!("| events lost (of {expected_total} expected deliveries) | {lost} | 0 |");
    println!("| events delivered twice | {duplicates} | 0 |");
    println!("| server memory: idle / with sockets / peak during ingest / end (VmHWM) | {baseline:.0} / {connected_memory:.0} / {peak_memory:.0} / {end_memory:.0} MiB ({high_water:.0}) | bounded |");
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let rate: usize = args.get("rate", 2000);
    let seconds: u64 = args.get("seconds", 60);
    let subscribers: usize = args.get("subscribers", 500);
    let sockets: usize = args.get("sockets", 1000);
    println!("live benchmark: {rate} events/s for {seconds} s through the API, {subscribers} subscribers; then {sockets} sockets");
    println!("machine: {}", support::machine());
    let cluster = BenchCluster::start().await;
    let (pool, url) = cluster.fresh_database("bench_live").await;
    let (_, secret) = tokens::create(&pool, "bench", Scope::Ingest).await.expect("token");
    let port = 3300;
    let mut server = start_server(&url, port).await;
    let pid = server.id();
    run_phase(Phase { label: format!("{subscribers} subscribers, {rate} events/s for {seconds} s"), rate, seconds, subscribers }, &pool, port, pid, &secret).await;
    run_phase(Phase { label: format!("{sockets} sockets on one instance, {} events/s for 20 s", rate / 4), rate: rate / 4, seconds: 20, subscribers: sockets }, &pool, port, pid, &secret).await;
    let _ = server.kill();
    pool.close().await;
    cluster.finish().await;
}
