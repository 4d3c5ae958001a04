//! Retention and integrity: what the hash chain costs ingest, how fast `verify` and archiving
//! run, and how long dropping a day takes while reads and ingest go on.
//!
//! make bench-integrity                                  (3 days × 333,000 events)
//! make bench-integrity ARGS="--per-day 100000 --ingest 100000"
//! make bench-integrity ARGS="--only verify --database bench_query_10000000"   (an existing dataset)

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use server::ingest::Ingestor;
use server::integrity::chain::{self, Range};
use server::retention::{self, archive, Retention};
use server::store::partitions::PartitionCache;
use server::store::write::copy_events;
use sqlx::PgPool;
use support::dataset::generate_chunk;
use support::{percentile, Args, BenchCluster};
use tokio::sync::Mutex;

/// The insert trigger as it was before the chain (migration 20261122000004), for the A/B.
const WITHOUT_CHAIN: &str = include_str!("../../migrations/20261122000004_hourly_counts.sql");

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let only: String = args.get("only", String::new());
    let per_day: usize = args.get("per-day", 333_000);
    let days: i64 = args.get("days", 3);
    let ingest_events: usize = args.get("ingest", 200_000);
    println!("machine: {}", support::machine());
    let cluster = BenchCluster::start().await;
    if only == "verify" {
        let name: String = args.get("database", "bench_query_10000000".to_string());
        let started = Instant::now();
        let (pool, _) = cluster.existing_database(&name).await.expect("an existing dataset (run make bench-query first)");
        println!("opened {name} (migrations applied) in {:.1} s", started.elapsed().as_secs_f64());
        verify(&pool, 2).await;
        cluster.finish().await;
        return;
    }
    if only.is_empty() || only == "ingest" {
        ingest_cost(&cluster, ingest_events).await;
    }
    if only.is_empty() || only == "day" {
        let (pool, _) = cluster.fresh_database("bench_integrity").await;
        load(&pool, per_day, days).await;
        verify(&pool, 2).await;
        archive_and_drop(&pool).await;
    }
    cluster.finish().await;
}

/// `days` whole past days of `per_day` events each, ending yesterday, in batches of 5,000
/// (each one chained by the trigger).
async fn load(pool: &PgPool, per_day: usize, days: i64) {
    let started = Instant::now();
    let today = Utc::now().date_naive().and_hms_opt(0, 0, 0).expect("t").and_utc();
    let partitions = PartitionCache::default();
    let mut rng = StdRng::seed_from_u64(17);
    let mut request = (String::new(), 0);
    for day in (1..=days).rev() {
        let start = today - chrono::Duration::days(day);
        let step = 86_400_000_000 / per_day as i64;
        let times: Vec<DateTime<Utc>> = (0..per_day as i64).map(|i| start + chrono::Duration::microseconds(i * step)).collect();
        for chunk in times.chunks(5_000) {
            copy_events(pool, &partitions, &generate_chunk(&mut rng, chunk, &mut request)).await.expect("copy");
        }
    }
    sqlx::query("VACUUM ANALYZE").execute(pool).await.expect("vacuum");
    println!("loaded {days} days × {per_day} events in {:.0} s (not measured)", started.elapsed().as_secs_f64());
}

async fn verify(pool: &PgPool, runs: usize) {
    for run in 1..=runs {
        let started = Instant::now();
        let report = chain::verify(pool, &Range { find_inserted: true, ..Range::default() }, &[]).await.expect("verify");
        let seconds = started.elapsed().as_secs_f64();
        assert!(report.intact(), "{:?}", report.findings);
        println!(
            "verify run {run}: {} events in {} batches in {seconds:.1} s = {:.0} events/s (target ≥ 200,000)",
            report.events,
            report.batches,
            report.events as f64 / seconds
        );
    }
}

/// Archives the oldest day, then drops it (through the retention policy) while a writer
/// ingests 2,000 events/s and a reader keeps reading the newest page.
async fn archive_and_drop(pool: &PgPool) {
    let oldest: chrono::NaiveDate = sqlx::query_scalar("SELECT min(day) FROM event_counts_daily").fetch_one(pool).await.expect("day");
    let dir = std::env::temp_dir().join(format!("auditorium-bench-archive-{}", std::process::id()));
    let started = Instant::now();
    let file = archive::write_day(pool.connect_options().as_ref(), &dir, oldest).await.expect("archive");
    let seconds = started.elapsed().as_secs_f64();
    let manifest = archive::read_manifest(&file).expect("manifest");
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!(
        "archive {oldest}: {} events in {seconds:.2} s = {:.0} events/s (target ≥ 100,000), {:.1} MB gzip (written, synced, read back and checked)",
        manifest.events,
        manifest.events as f64 / seconds,
        size as f64 / 1e6
    );

    // Load during the drop: ingest 100 events every 50 ms, and page reads back to back.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let samples: Arc<Mutex<(Vec<(Instant, f64)>, Vec<(Instant, f64)>)>> = Arc::default();
    let ingestor = Arc::new(Ingestor::for_command(pool.clone()));
    let writer = {
        let (stop, samples, ingestor) = (stop.clone(), samples.clone(), ingestor.clone());
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(5);
            let mut request = (String::new(), 0);
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                let now = Utc::now();
                let times: Vec<DateTime<Utc>> = (0..100).map(|i| now - chrono::Duration::milliseconds(i)).collect();
                let mut batch = generate_chunk(&mut rng, &times, &mut request);
                for e in &mut batch {
                    e.event.id = uuid::Uuid::now_v7();
                }
                let t = Instant::now();
                ingestor.write(batch).await.expect("ingest");
                samples.lock().await.0.push((t, t.elapsed().as_secs_f64() * 1000.0));
            }
        })
    };
    let reader = {
        let (stop, samples, pool) = (stop.clone(), samples.clone(), pool.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                server::explore::events_page(&pool, "range=24h", Utc::now(), &app::query::Scope::All).await.expect("read");
                samples.lock().await.1.push((t, t.elapsed().as_secs_f64() * 1000.0));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    let owner = pool.connect_options().as_ref().clone();
    // Two days kept: exactly the oldest of the three goes.
    let drop_started = Instant::now();
    let outcome = retention::apply(&owner, Retention::Days(2), None, Utc::now()).await.expect("drop");
    let drop_seconds = drop_started.elapsed().as_secs_f64();
    let drop_ended = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.expect("writer");
    reader.await.expect("reader");
    ingestor.stop(Duration::from_secs(10)).await;
    let dropped: i64 = outcome.dropped.iter().map(|d| d.events).sum();
    println!("drop {:?}: {dropped} events in {drop_seconds:.2} s (target ≤ 1 s; the whole retention run: connect, lock, find the day, drop)", outcome.dropped.iter().map(|d| d.day).collect::<Vec<_>>());
    let (writes, reads) = &*samples.lock().await;
    for (what, list) in [("ingest write (100 events)", writes), ("page read (24 h)", reads)] {
        let split = |during: bool| {
            let mut ms: Vec<f64> = list.iter().filter(|(t, _)| (*t >= drop_started && *t <= drop_ended) == during).map(|(_, ms)| *ms).collect();
            ms.sort_by(f64::total_cmp);
            ms
        };
        let (before, during) = (split(false), split(true));
        println!(
            "  {what}: outside the drop p50 {:.1} / p99 {:.1} ms ({} samples); started during it: max {:.1} ms ({} samples)",
            percentile(&before, 50.0),
            percentile(&before, 99.0),
            before.len(),
            during.last().copied().unwrap_or(0.0),
            during.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Events/s through the group-commit writer, with the chain and with the trigger as it was
/// before it, alternating.
async fn ingest_cost(cluster: &BenchCluster, events: usize) {
    let trigger = WITHOUT_CHAIN
        .split("CREATE OR REPLACE FUNCTION events_after_insert()")
        .nth(1)
        .map(|rest| format!("CREATE OR REPLACE FUNCTION events_after_insert(){}$$;", rest.split("$$;").next().unwrap_or_default()))
        .expect("the old trigger");
    let mut rates: Vec<(&str, f64)> = Vec::new();
    for round in 0..2 {
        for chained in [true, false] {
            let (pool, _) = cluster.fresh_database("bench_integrity_ingest").await;
            if !chained {
                sqlx::raw_sql(&trigger).execute(&pool).await.expect("old trigger");
            }
            let rate = ingest_rate(&pool, events, round).await;
            let label = if chained { "with the chain" } else { "without (old trigger)" };
            println!("ingest round {}: {label}: {rate:.0} events/s", round + 1);
            rates.push((label, rate));
            pool.close().await;
        }
    }
    let mean = |label: &str| {
        let r: Vec<f64> = rates.iter().filter(|(l, _)| *l == label).map(|(_, r)| *r).collect();
        r.iter().sum::<f64>() / r.len() as f64
    };
    let (with, without) = (mean("with the chain"), mean("without (old trigger)"));
    println!("ingest: {without:.0} → {with:.0} events/s with the hash chain ({:+.1} %, target ≥ −10 %)", (with / without - 1.0) * 100.0);
}

/// `events` now-ish events from 4 concurrent writers of 500-event requests.
async fn ingest_rate(pool: &PgPool, events: usize, seed: u64) -> f64 {
    let ingestor = Arc::new(Ingestor::start(pool.clone(), Arc::default(), Arc::default(), server::metrics::IngestMetrics::unregistered()));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut request = (String::new(), 0);
    let now = Utc::now();
    let times: Vec<DateTime<Utc>> = (0..events as i64).map(|i| now - chrono::Duration::milliseconds(events as i64 - i)).collect();
    let mut batches: Vec<Vec<server::store::write::NewEvent>> = times.chunks(500).map(|c| generate_chunk(&mut rng, c, &mut request)).collect();
    for batch in &mut batches {
        for e in batch.iter_mut() {
            e.event.id = uuid::Uuid::now_v7();
        }
    }
    let queue = Arc::new(Mutex::new(batches));
    let started = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (queue, ingestor) = (queue.clone(), ingestor.clone());
            tokio::spawn(async move {
                loop {
                    let Some(batch) = queue.lock().await.pop() else { break };
                    ingestor.write(batch).await.expect("write");
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    let rate = events as f64 / started.elapsed().as_secs_f64();
    ingestor.stop(Duration::from_secs(10)).await;
    rate
}
