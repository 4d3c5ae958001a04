//! The overview, resource and actor histories, and alert evaluation (issue 16).
//!
//! Reads: `/api/v1/overview` and the server-rendered `/overview`, `/resources/{type}/{id}` and
//! `/actors/{id}` pages on the query benchmark's dataset (1M events by default, `--events
//! 10000000` for 10M), next to the raw PostgreSQL `count(*)` of the same 30 days.
//!
//! Alerts (a fresh database): ingest throughput with no rules and with 100 rules being
//! evaluated in the same process; then a paced 5,000 events/s with 100 rules, measuring how
//! far evaluation trails the newest committed event and how long a crossing takes to become a
//! firing.
//!
//! make bench-insight                                  (1M events)
//! make bench-insight ARGS="--events 10000000 --runs 30"
//! make bench-insight ARGS="--only alerts --seconds 20"

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::SeedableRng;
use server::auth::audit::Origin;
use server::config::ServeArgs;
use server::state::AppState;
use sqlx::PgPool;
use support::{dataset, measure, percentile, Args, BenchCluster};

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<bytes::Bytes>>;

async fn get(client: &HttpClient, url: &str, token: &str) -> usize {
    let request = hyper::Request::get(url)
        .header("authorization", format!("Bearer {token}"))
        .body(Full::default())
        .expect("request");
    let response = client.request(request).await.expect("response");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert!(
        status.is_success(),
        "{url}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    body.len()
}


#[tokio::main]
async fn main() {
    let args = Args::parse();
    let only: String = args.get("only", String::new());
    println!("machine: {}", support::machine());
    let cluster = BenchCluster::start().await;
    if only != "alerts" {
        reads(&cluster, &args).await;
    }
    if only != "reads" {
        alerts(&cluster, &args).await;
    }
    cluster.finish().await;
}

async fn reads(cluster: &BenchCluster, args: &Args) {
    let events: u64 = args.get("events", 1_000_000);
    let runs: usize = args.get("runs", 30);
    let name = format!("bench_query_{events}");
    let (pool, _) = match cluster.existing_database(&name).await {
        Some(db) => db,
        None => cluster.fresh_database(&name).await,
    };
    dataset::ensure(&pool, events).await;
    server::store::partitions::seal_finished_days(&pool)
        .await
        .expect("seal");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = AppState::new(
        pool.clone(),
        &ServeArgs {
            site_root: "../target/site".into(),
            ..ServeArgs::default()
        },
    )
    .await
    .expect("state");
    let app = server::serve::router(state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let (auditor, member) = support::readers(&pool).await;
    // The busiest and a quiet resource and actor of the dataset.
    let busy_resource: (String, String) =
        sqlx::query_as("SELECT resource_type, resource_id FROM events WHERE resource_id IS NOT NULL GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1")
            .fetch_one(&pool)
            .await
            .expect("resource");
    let quiet_resource: (String, String) = sqlx::query_as(
        "SELECT resource_type, resource_id FROM events WHERE occurred_at > now() - interval '1 day' AND resource_id IS NOT NULL
         GROUP BY 1, 2 ORDER BY count(*), 1, 2 LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .expect("resource");
    let seg = app::insight::segment;
    println!(
        "\n## Overview and histories — {events} events over 30 days, {runs} runs (warm cache)\n"
    );
    let (raw50, raw95) = measure(runs, || async {
        let _: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE occurred_at >= now() - interval '30 days'",
        )
        .fetch_one(&pool)
        .await
        .expect("count");
    })
    .await;
    println!("| what | p50 | p95 | bytes | target p95 |");
    println!("|---|---|---|---|---|");
    println!("| raw SQL: count(*) of the last 30 days (one number) | {raw50:.1} ms | {raw95:.1} ms | | |");
    let rows = [
        (
            "GET /api/v1/overview (auditor)",
            "/api/v1/overview".to_string(),
            auditor.clone(),
            "150 ms",
        ),
        (
            "GET /api/v1/overview (member, ~4% scope)",
            "/api/v1/overview".to_string(),
            member.clone(),
            "—",
        ),
        (
            "page /overview (SSR)",
            "/overview".to_string(),
            auditor.clone(),
            "—",
        ),
        (
            "page /resources: busiest resource (SSR)",
            format!(
                "/resources/{}/{}",
                seg(&busy_resource.0),
                seg(&busy_resource.1)
            ),
            auditor.clone(),
            "300 ms",
        ),
        (
            "page /resources: a quiet resource (SSR)",
            format!(
                "/resources/{}/{}",
                seg(&quiet_resource.0),
                seg(&quiet_resource.1)
            ),
            auditor.clone(),
            "300 ms",
        ),
        (
            "page /actors: busiest actor act_0 (SSR)",
            "/actors/act_0".to_string(),
            auditor.clone(),
            "300 ms",
        ),
        (
            "page /actors: act_4321 (SSR)",
            "/actors/act_4321".to_string(),
            auditor.clone(),
            "300 ms",
        ),
    ];
    for (label, path, token, target) in rows {
        let url = format!("http://{addr}{path}");
        let bytes = AtomicU64::new(0);
        let (p50, p95) = measure(runs, || async {
            bytes.store(get(&client, &url, &token).await as u64, Ordering::Relaxed);
        })
        .await;
        println!(
            "| {label} | {p50:.1} ms | {p95:.1} ms | {} | ≤ {target} |",
            bytes.load(Ordering::Relaxed)
        );
    }
    state.live.shut_down();
    pool.close().await;
}

/// Rule `i` of the 100: a mix like real ones — per actor, per action, a context label, search.
fn rule(i: usize) -> app::alerts::NewAlertRule {
    let (action, _) = dataset::action(i * 3);
    let view = match i % 4 {
        0 => format!("action={action}&outcome=failure"),
        1 => format!("action={action}"),
        2 => format!("context.cluster=cluster-{}&status=5xx", i % 50),
        _ => format!(
            "method=DELETE&actor.type=api_token&resource.type={}",
            action.split('.').next().unwrap_or("project")
        ),
    };
    app::alerts::NewAlertRule {
        name: format!("bench rule {i}"),
        view,
        threshold: app::alerts::Threshold {
            count: 5 + (i as u32 % 20),
            window: "10m".into(),
            per: (i % 2 == 0).then(|| "actor.id".into()),
        },
        webhook: None,
    }
}

async fn alerts(cluster: &BenchCluster, args: &Args) {
    let seconds: u64 = args.get("seconds", 15);
    let rate: u64 = args.get("rate", 5000);
    let (pool, _) = cluster.fresh_database("bench_alerts").await;
    let state = AppState::new(pool.clone(), &ServeArgs::default())
        .await
        .expect("state");
    println!("\n## Alerts — ingest with and without 100 rules; {rate} events/s with 100 rules ({seconds} s each)\n");
    let without = flat_out(&state, seconds).await;
    let baseline = paced_writes(&state, rate, seconds).await;
    let admin = admin(&pool).await;
    for i in 0..100 {
        server::alerts::rules::create(&pool, &admin, &rule(i), &[], Origin::default())
            .await
            .expect("rule");
    }
    // The marker rule: every marker event is a crossing of its own (one per minute-long window).
    let marker = app::alerts::NewAlertRule {
        name: "marker".into(),
        view: "action=bench.marker".into(),
        threshold: app::alerts::Threshold {
            count: 1,
            window: "1s".into(),
            per: Some("actor.id".into()),
        },
        webhook: None,
    };
    let marker_id = server::alerts::rules::create(&pool, &admin, &marker, &[], Origin::default())
        .await
        .expect("marker")
        .id;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let with = flat_out(&state, seconds).await;
    let drained = drain_time(&pool).await;
    println!("| ingest, as fast as possible | events/s |");
    println!("|---|---|");
    println!("| no rules | {without:.0} |");
    println!(
        "| 100 rules evaluated | {with:.0} ({:+.1} %) |",
        (with - without) * 100.0 / without
    );
    println!("\nevaluation caught up {drained:.1} s after the flat-out ingest stopped\n");
    let with_rules = paced(&state, &pool, rate, seconds, &marker_id).await;
    println!("\n| write latency of a 500-event batch at {rate} events/s | p50 | p95 |");
    println!("|---|---|---|");
    println!("| no rules | {:.1} ms | {:.1} ms |", percentile(&baseline, 50.0), percentile(&baseline, 95.0));
    println!("| 100 rules evaluated | {:.1} ms | {:.1} ms |", percentile(&with_rules, 50.0), percentile(&with_rules, 95.0));
    state.live.shut_down();
    pool.close().await;
}

async fn admin(pool: &PgPool) -> server::auth::Principal {
    let (user, _) = server::auth::accounts::create_user(
        pool,
        "bench-admin@example.com",
        None,
        server::store::users::Role::Admin,
        &[],
        None,
        server::auth::audit::Actor::system(),
        Origin::default(),
    )
    .await
    .expect("admin");
    server::auth::Principal {
        credential: server::auth::Credential::Session(vec![0]),
        user: Some(server::auth::principal::UserInfo {
            id: user.id,
            email: user.email.clone(),
            name: user.display_name.clone(),
        }),
        role: server::store::users::Role::Admin,
        scope: app::query::Scope::All,
        scope_views: vec![],
        token: None,
    }
}

fn chunk(rng: &mut rand::rngs::StdRng, n: usize) -> Vec<server::store::write::NewEvent> {
    let now = Utc::now();
    let times: Vec<_> = (0..n)
        .map(|i| now - chrono::Duration::microseconds(i as i64))
        .collect();
    let mut request = (String::new(), 0);
    dataset::generate_chunk(rng, &times, &mut request)
}

/// Events/s written by 4 concurrent writers of 500-event batches for `seconds`.
async fn flat_out(state: &AppState, seconds: u64) -> f64 {
    let written = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..4u64 {
        let (ingestor, written) = (state.ingestor.clone(), written.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng =
                rand::rngs::StdRng::seed_from_u64(w + started.elapsed().as_nanos() as u64);
            while started.elapsed() < Duration::from_secs(seconds) {
                let batch = chunk(&mut rng, 500);
                ingestor.write(batch).await.expect("write");
                written.fetch_add(500, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    written.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Seconds until the evaluation's recorded progress reaches the newest committed event.
async fn drain_time(pool: &PgPool) -> f64 {
    let started = Instant::now();
    let newest = server::store::page::latest_position(pool)
        .await
        .expect("newest");
    loop {
        let at: i64 = sqlx::query_scalar("SELECT position FROM alert_progress")
            .fetch_one(pool)
            .await
            .expect("progress");
        if at >= newest || started.elapsed() > Duration::from_secs(120) {
            return started.elapsed().as_secs_f64();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `rate` events/s in 100 ms steps; every second one marker event, timed from its commit to
/// its firing row.
/// Write latencies (ms, sorted) of `rate` events/s in 100 ms steps, with no rules.
async fn paced_writes(state: &AppState, rate: u64, seconds: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let mut step = tokio::time::interval(Duration::from_millis(100));
    let started = Instant::now();
    let mut ms = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        step.tick().await;
        let t = Instant::now();
        state.ingestor.write(chunk(&mut rng, (rate / 10) as usize)).await.expect("write");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    ms
}

async fn paced(state: &AppState, pool: &PgPool, rate: u64, seconds: u64, marker_rule: &str) -> Vec<f64> {
    let mut writes = Vec::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let per_step = (rate / 10) as usize;
    let mut latencies = Vec::new();
    let mut lags = Vec::new();
    let started = Instant::now();
    let mut step = tokio::time::interval(Duration::from_millis(100));
    let mut n = 0u64;
    let mut behind = 0usize;
    while started.elapsed() < Duration::from_secs(seconds) {
        step.tick().await;
        let t = Instant::now();
        state
            .ingestor
            .write(chunk(&mut rng, per_step))
            .await
            .expect("write");
        writes.push(t.elapsed().as_secs_f64() * 1000.0);
        if t.elapsed() > Duration::from_millis(100) {
            behind += 1;
        }
        n += 1;
        if n % 10 == 0 {
            let actor = format!("marker-{n}");
            let value = serde_json::json!([{ "action": "bench.marker", "actor": {"id": actor, "name": actor, "type": "system"} }]);
            server::ingest::ingest(&state.ingestor, value.as_array().expect("array"))
                .await
                .expect("marker");
            let committed = Instant::now();
            let (db, rule) = (pool.clone(), marker_rule.to_string());
            latencies.push(tokio::spawn(async move {
                loop {
                    let found: Option<i32> = sqlx::query_scalar(
                        "SELECT 1 FROM alert_firings WHERE rule_id = $1::uuid AND group_value = $2",
                    )
                    .bind(&rule)
                    .bind(&actor)
                    .fetch_optional(&db)
                    .await
                    .expect("firing");
                    if found.is_some() || committed.elapsed() > Duration::from_secs(30) {
                        return committed.elapsed().as_secs_f64() * 1000.0;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }));
            let newest = server::store::page::latest_position(pool)
                .await
                .expect("newest");
            let at: i64 = sqlx::query_scalar("SELECT position FROM alert_progress")
                .fetch_one(pool)
                .await
                .expect("progress");
            lags.push((newest - at).max(0) as f64);
        }
    }
    let mut ms = Vec::new();
    for l in latencies {
        ms.push(l.await.expect("latency"));
    }
    ms.sort_by(f64::total_cmp);
    lags.sort_by(f64::total_cmp);
    println!("| paced {rate} events/s, 100 rules + marker | value |");
    println!("|---|---|");
    println!("| 100 ms steps that took longer than 100 ms to write | {behind} of {n} |");
    println!("| commit → firing, p50 / p95 / max ({} markers) | {:.0} / {:.0} / {:.0} ms (target ≤ 2 s) |", ms.len(), percentile(&ms, 50.0), percentile(&ms, 95.0), ms.last().copied().unwrap_or(0.0));
    println!(
        "| recorded progress behind the newest event, p50 / max (events; progress is written at most once a second) | {:.0} / {:.0} |",
        percentile(&lags, 50.0),
        lags.last().copied().unwrap_or(0.0)
    );
    writes.sort_by(f64::total_cmp);
    writes
}
