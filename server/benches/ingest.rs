//! Ingest throughput: N events through the HTTP API (batches, concurrent clients) versus the
//! same N events with raw `COPY` into the same table (same indexes, same triggers).
//!
//! Then the single-event pattern: 1 / 16 / 64 / 256 concurrent clients each posting one event
//! per request for 30 s (wrk), next to PostgreSQL's single-row INSERT rate into a plain table
//! with the same indexes (pgbench), in the same run.
//!
//! make bench-ingest                      (1,000,000 events, then 4 × 30 s single events)
//! make bench-ingest ARGS="--events 200000 --clients 4 --batch 1000 --seconds 10"
//! make bench-ingest ARGS="--only single"

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use server::demo::Generator;
use server::store::write::copy_events;
use server::store::partitions::PartitionCache;
use server::store::tokens::{self, Scope};
use support::{prepare, single, Args, BenchCluster};

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let only: String = args.get("only", String::new());
    let seconds: u64 = args.get("seconds", 30);
    if only == "single" {
        println!("machine: {}", support::machine());
        let cluster = BenchCluster::start().await;
        single_events(&cluster, seconds, &client_counts(&args)).await;
        cluster.finish().await;
        return;
    }
    let total: usize = args.get("events", 1_000_000);
    let clients: usize = args.get("clients", 4);
    let batch: usize = args.get("batch", 1000);
    println!("ingest benchmark: {total} events, {clients} concurrent clients, {batch} events per request");
    println!("machine: {}", support::machine());

    let now = chrono::Utc::now();
    let started = Instant::now();
    let values = Generator::new(11, now - chrono::Duration::hours(24), now).events_between(now - chrono::Duration::hours(24), now, total as u64);
    let bodies: Vec<Bytes> = values.chunks(batch).map(|c| Bytes::from(serde_json::to_vec(c).expect("json"))).collect();
    let prepared = prepare(&values);
    println!("generated {} events in {:.1} s (not measured)", values.len(), started.elapsed().as_secs_f64());

    let cluster = BenchCluster::start().await;

    // 1. Through the HTTP API: a real server on a local port, clients sending JSON arrays.
    let (pool, _) = cluster.fresh_database("bench_ingest_api").await;
    let (_, secret) = tokens::create(&pool, "bench", Scope::Ingest).await.expect("token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = server::state::AppState::new(pool.clone(), &server::config::ServeArgs::default())
        .await
        .expect("state");
    tokio::spawn(async move { axum::serve(listener, server::serve::router(state)).await });
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let next = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(bodies);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (client, next, bodies, secret) = (client.clone(), next.clone(), bodies.clone(), secret.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let request = hyper::Request::post(format!("http://{addr}/api/v1/events"))
                        .header("content-type", "application/json")
                        .header("authorization", format!("Bearer {secret}"))
                        .body(Full::new(body.clone()))
                        .expect("request");
                    let response = client.request(request).await.expect("response");
                    let status = response.status();
                    let text = response.into_body().collect().await.expect("body").to_bytes();
                    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&text));
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("client");
    }
    let api_secs = started.elapsed().as_secs_f64();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&pool).await.expect("count");
    assert_eq!(stored as usize, total, "every event acknowledged is stored");
    pool.close().await;
    let api_rate = total as f64 / api_secs;
    println!("API:  {total} events in {api_secs:.1} s = {api_rate:.0} events/s");

    // 2. Raw COPY into the same table, with the same concurrency and batch size, and as one
    //    single stream; the faster of the two is the baseline.
    let mut copy_rates = Vec::new();
    for (label, streams, rows) in [("COPY, same batches", clients, batch), ("COPY, one stream", 1, 50_000)] {
        let (pool, _) = cluster.fresh_database("bench_ingest_copy").await;
        let partitions = Arc::new(PartitionCache::default());
        let chunks: Arc<Vec<Vec<_>>> = Arc::new(prepared.chunks(rows).map(|c| c.to_vec()).collect());
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let workers: Vec<_> = (0..streams)
            .map(|_| {
                let (pool, partitions, chunks, next) = (pool.clone(), partitions.clone(), chunks.clone(), next.clone());
                tokio::spawn(async move {
                    while let Some(chunk) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) {
                        copy_events(&pool, &partitions, chunk).await.expect("copy");
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.expect("copy stream");
        }
        let secs = started.elapsed().as_secs_f64();
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&pool).await.expect("count");
        assert_eq!(stored as usize, total);
        pool.close().await;
        let rate = total as f64 / secs;
        println!("{label}: {total} events in {secs:.1} s = {rate:.0} events/s");
        copy_rates.push(rate);
    }
    let best_copy = copy_rates.iter().cloned().fold(0.0, f64::max);
    println!();
    println!("| path | events/s |");
    println!("|---|---|");
    println!("| HTTP API ({clients} clients × {batch}/request) | {api_rate:.0} |");
    println!("| raw COPY (best) | {best_copy:.0} |");
    println!("| API / COPY | {:.2} |", api_rate / best_copy);
    println!("targets: API >= 20000 events/s: {}; API >= 0.6 x COPY: {}",
        if api_rate >= 20_000.0 { "met" } else { "MISSED" },
        if api_rate >= 0.6 * best_copy { "met" } else { "MISSED" });
    println!();
    single_events(&cluster, seconds, &client_counts(&args)).await;
    cluster.finish().await;
}

/// `--single-clients 1,16,64,256` (the default).
fn client_counts(args: &Args) -> Vec<usize> {
    let list: String = args.get("single-clients", "1,16,64,256".to_string());
    list.split(',').filter_map(|n| n.trim().parse().ok()).collect()
}

/// One event per request from 1 / 16 / 64 / 256 clients, then pgbench's single-row INSERTs.
async fn single_events(cluster: &BenchCluster, seconds: u64, counts: &[usize]) {
    println!("single events: {seconds} s per client count, wrk posting one event per request");
    let (pool, _) = cluster.fresh_database("bench_ingest_single").await;
    let (_, secret) = tokens::create(&pool, "bench", Scope::Ingest).await.expect("token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = server::state::AppState::new(pool.clone(), &server::config::ServeArgs::default()).await.expect("state");
    tokio::spawn(async move { axum::serve(listener, server::serve::router(state)).await });
    let url = format!("http://{addr}");
    let mut rows = Vec::new();
    for &clients in counts {
        // wrk blocks: run it off the runtime that serves the requests.
        let (url, secret) = (url.clone(), secret.clone());
        let row = tokio::task::spawn_blocking(move || single::wrk(&url, &secret, clients, seconds)).await.expect("wrk");
        println!("  {clients:>3} clients: {:.0} events/s, p50 {:.1} ms, p99 {:.1} ms, {} errors", row.events_per_second, row.p50_ms, row.p99_ms, row.errors);
        rows.push(row);
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&pool).await.expect("count");
    let acknowledged: f64 = rows.iter().map(|r| r.events_per_second * seconds as f64).sum();
    println!("  stored {stored} events (wrk acknowledged about {acknowledged:.0})");
    pool.close().await;
    let mut raw = Vec::new();
    let with_pgbench = std::env::var("AUDITORIUM_BENCH_NO_PGBENCH").is_err();
    for &clients in counts.iter().filter(|_| with_pgbench) {
        let tps = single::pgbench(cluster, clients, seconds).await;
        println!("  pgbench, {clients:>3} clients: {tps:.0} single-row INSERTs/s into a plain indexed table");
        raw.push(tps);
    }
    println!();
    println!("| clients | API events/s | p50 | p99 | errors | plain-table INSERT/s (pgbench) | API / plain |");
    println!("|---|---|---|---|---|---|---|");
    if !with_pgbench {
        raw = vec![f64::NAN; rows.len()];
    }
    for (row, tps) in rows.iter().zip(&raw) {
        println!(
            "| {} | {:.0} | {:.1} ms | {:.1} ms | {} | {:.0} | {:.2} |",
            row.clients, row.events_per_second, row.p50_ms, row.p99_ms, row.errors, tps, row.events_per_second / tps
        );
    }
    if let Some(at64) = rows.iter().find(|r| r.clients == 64) {
        println!(
            "targets at 64 clients: >= 8000 events/s: {}; p99 <= 50 ms: {}",
            if at64.events_per_second >= 8000.0 { "met" } else { "MISSED" },
            if at64.p99_ms <= 50.0 { "met" } else { "MISSED" }
        );
    }
}
