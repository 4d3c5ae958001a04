//! Export throughput end to end over HTTP, against the real server binary: the whole dataset
//! in each format through `GET /api/v1/export`, next to PostgreSQL's own
//! `COPY (…) TO STDOUT (FORMAT csv)` of the same rows in the same run; the server's memory
//! (resident set before, peak after); and the first page's latency while an export job of all
//! four formats runs, next to its idle value.
//!
//! make bench-export                          (1M events; the query benchmark's dataset is reused)
//! make bench-export ARGS="--events 10000000"

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sqlx::PgPool;
use support::{dataset, percentile, Args, BenchCluster};

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<bytes::Bytes>>;

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The server's resident memory in MiB: now, and the peak since it started.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn start_server(url: &str, port: u16, export_dir: &std::path::Path) -> Child {
    let bin = std::env::var("AUDITORIUM_BIN").unwrap_or_else(|_| "../target/release/auditorium".into());
    Command::new(bin)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--statement-timeout", "60s"])
        .arg("--export-dir")
        .arg(export_dir)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start auditorium serve (make bench-export builds it)")
}

async fn wait_ready(client: &HttpClient, port: u16) {
    for _ in 0..240 {
        let request = hyper::Request::get(format!("http://127.0.0.1:{port}/readyz")).body(Full::default()).expect("request");
        if client.request(request).await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the server did not become ready");
}

/// Streams a GET to its end: (bytes, line breaks, seconds).
async fn download(client: &HttpClient, url: &str, token: &str) -> (u64, u64, f64) {
    let started = Instant::now();
    let request = hyper::Request::get(url).header("authorization", format!("Bearer {token}")).body(Full::default()).expect("request");
    let response = client.request(request).await.expect("response");
    assert!(response.status().is_success(), "{url}: {}", response.status());
    let mut body = response.into_body();
    let (mut bytes, mut lines) = (0u64, 0u64);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("body").into_data() {
            bytes += data.len() as u64;
            lines += memchr_count(&data);
        }
    }
    (bytes, lines, started.elapsed().as_secs_f64())
}

fn memchr_count(data: &[u8]) -> u64 {
    data.iter().filter(|b| **b == b'\n').count() as u64
}

/// PostgreSQL's own CSV of the same rows (every column of the events, newest first).
async fn copy_csv(pool: &PgPool, from: DateTime<Utc>, to: DateTime<Utc>) -> (u64, f64) {
    use futures::StreamExt;
    let started = Instant::now();
    let mut conn = pool.acquire().await.expect("connection");
    let sql = format!(
        "COPY (SELECT * FROM events WHERE occurred_at >= '{}' AND occurred_at < '{}' ORDER BY occurred_at DESC, id DESC) TO STDOUT (FORMAT csv, HEADER)",
        iso(from),
        iso(to)
    );
    let mut stream = conn.copy_out_raw(&sql).await.expect("copy out");
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        bytes += chunk.expect("chunk").len() as u64;
    }
    (bytes, started.elapsed().as_secs_f64())
}

async fn first_page_ms(client: &HttpClient, url: &str, token: &str, runs: usize) -> (f64, f64) {
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let request = hyper::Request::get(url).header("authorization", format!("Bearer {token}")).body(Full::default()).expect("request");
        let response = client.request(request).await.expect("response");
        assert!(response.status().is_success());
        let _ = response.into_body().collect().await.expect("body");
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 50.0), percentile(&ms, 95.0))
}

fn rate(rows: u64, seconds: f64) -> String {
    format!("{:.0}", rows as f64 / seconds)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let events: u64 = args.get("events", 1_000_000);
    println!("export benchmark: {events} events over 30 days, every format end to end over HTTP (release server binary)");
    println!("machine: {}", support::machine());
    let cluster = BenchCluster::start().await;
    let name = format!("bench_query_{events}");
    let (pool, url) = match cluster.existing_database(&name).await {
        Some(db) => db,
        None => cluster.fresh_database(&name).await,
    };
    let data = dataset::ensure(&pool, events).await;
    server::store::partitions::seal_finished_days(&pool).await.expect("seal");
    let (token, _) = support::readers(&pool).await;
    let to = data.to + chrono::Duration::seconds(1);
    let view = format!("from={}&to={}", iso(data.from), iso(to));

    let export_dir = std::env::temp_dir().join(format!("auditorium-bench-export-{}", std::process::id()));
    let port = 3301;
    let mut server = start_server(&url, port, &export_dir);
    let pid = server.id();
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    wait_ready(&client, port).await;
    let base = format!("http://127.0.0.1:{port}");

    println!("\n## Instant download of the whole view ({events} rows)\n");
    println!("| what | rows/s | MB | seconds | server RSS before → peak (MiB) | target |");
    println!("|---|---|---|---|---|---|");
    let (copy_bytes, copy_s) = copy_csv(&pool, data.from, to).await;
    println!("| PostgreSQL `COPY … TO STDOUT (FORMAT csv)` (reference) | {} | {:.0} | {copy_s:.1} | — | — |", rate(events, copy_s), copy_bytes as f64 / 1e6);
    for (format, target) in [("csv", "≥ 250,000 rows/s"), ("ndjson", "≥ 150,000 rows/s"), ("cef", "reported"), ("xlsx", "reported")] {
        let (rss_before, _) = memory(pid);
        let (bytes, lines, seconds) = download(&client, &format!("{base}/api/v1/export?{view}&format={format}"), &token).await;
        let (_, peak) = memory(pid);
        if format != "xlsx" {
            let expected = if format == "csv" { events + 1 } else { events };
            assert!(lines >= expected, "{format}: {lines} lines for {events} events");
        }
        println!("| {format} | {} | {:.0} | {seconds:.1} | {rss_before:.0} → {peak:.0} | {target} |", rate(events, seconds), bytes as f64 / 1e6);
    }

    println!("\n## The page while an export job of all four formats runs\n");
    let page = format!("{base}/api/v1/events?range=24h&limit=50");
    let (idle_p50, idle_p95) = first_page_ms(&client, &page, &token, 40).await;
    let body = serde_json::json!({"name": "bench", "formats": ["csv", "ndjson", "cef", "xlsx"], "view": view}).to_string();
    let request = hyper::Request::post(format!("{base}/api/v1/exports"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .expect("request");
    let created = client.request(request).await.expect("create");
    assert_eq!(created.status(), 201);
    let job: serde_json::Value = serde_json::from_slice(&created.into_body().collect().await.expect("body").to_bytes()).expect("json");
    let id = job["id"].as_str().expect("id").to_string();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (busy_p50, busy_p95) = first_page_ms(&client, &page, &token, 40).await;
    let finished = loop {
        let request = hyper::Request::get(format!("{base}/api/v1/exports/{id}")).header("authorization", format!("Bearer {token}")).body(Full::default()).expect("request");
        let response = client.request(request).await.expect("job");
        let job: serde_json::Value = serde_json::from_slice(&response.into_body().collect().await.expect("body").to_bytes()).expect("json");
        if job["status"] != "running" && job["status"] != "queued" {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let job_s = started.elapsed().as_secs_f64();
    let (_, peak) = memory(pid);
    println!("| first page (`range=24h`, 50 rows) | p50 ms | p95 ms | target |");
    println!("|---|---|---|---|");
    println!("| idle | {idle_p50:.1} | {idle_p95:.1} | — |");
    println!("| while the job runs | {busy_p50:.1} | {busy_p95:.1} | p95 ≤ 2 × idle ({:.1} ms) |", idle_p95 * 2.0);
    let zipped: u64 = finished["files"].as_array().map(|f| f.iter().filter_map(|x| x["bytes"].as_u64()).sum()).unwrap_or(0);
    println!(
        "\nThe job ({} rows, 4 formats in one pass): {} in {job_s:.0} s ({} rows/s), {:.0} MB of ZIP files; server peak RSS {peak:.0} MiB.",
        finished["rows_done"], finished["status"], rate(events, job_s), zipped as f64 / 1e6
    );

    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&export_dir);
    pool.close().await;
    cluster.finish().await;
}
