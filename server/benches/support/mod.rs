//! Shared by the benchmarks: a PostgreSQL to measure against, fresh databases, arguments,
//! and a description of the machine for docs/benchmarks.md.
#![allow(dead_code)] // each benchmark uses a different subset

pub mod dataset;
pub mod single;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;

use server::embedded_pg::{EmbeddedPostgres, LeaseKind};
use server::ingest::{fingerprint::fingerprint, validate::validate_event};
use server::store::write::NewEvent;

/// `--name value` pairs after `cargo bench -- `.
pub struct Args(HashMap<String, String>);

impl Args {
    pub fn parse() -> Args {
        let mut map = HashMap::new();
        let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
        while let Some(arg) = args.next() {
            if let Some(name) = arg.strip_prefix("--") {
                map.insert(name.to_string(), args.next().unwrap_or_default());
            }
        }
        Args(map)
    }

    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        self.0.get(name).and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
    }
}

/// The PostgreSQL the benchmark runs against: DATABASE_URL (an admin database), or the
/// embedded cluster in `.data/bench`.
pub struct BenchCluster {
    embedded: Option<EmbeddedPostgres>,
    admin_url: String,
}

impl BenchCluster {
    pub async fn start() -> BenchCluster {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return BenchCluster { embedded: None, admin_url: url };
        }
        let dir = std::path::PathBuf::from(std::env::var("AUDITORIUM_BENCH_DATA_DIR").unwrap_or_else(|_| "../.data/bench".into()));
        let cluster = tokio::task::spawn_blocking(move || EmbeddedPostgres::locate(&dir).and_then(|c| c.start(LeaseKind::Process)))
            .await
            .expect("join")
            .expect("embedded PostgreSQL for the benchmark");
        let admin_url = cluster.url("postgres");
        BenchCluster { embedded: Some(cluster), admin_url }
    }

    /// Drops and recreates `name`, applies migrations, returns a pool and its URL.
    pub async fn fresh_database(&self, name: &str) -> (PgPool, String) {
        let admin = server::db::connect(&self.admin_url, Duration::from_secs(60), 1).await.expect("admin connection");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await.expect("drop");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create");
        admin.close().await;
        let url = database_url(&self.admin_url, name);
        let pool = server::db::connect(&url, Duration::from_secs(60), 16).await.expect("connect");
        server::db::MIGRATOR.run(&pool).await.expect("migrate");
        (pool, url)
    }

    /// Reuses `name` if it exists (large datasets take minutes to load).
    pub async fn existing_database(&self, name: &str) -> Option<(PgPool, String)> {
        let url = database_url(&self.admin_url, name);
        let pool = server::db::connect(&url, Duration::from_secs(60), 16).await.ok()?;
        server::db::MIGRATOR.run(&pool).await.ok()?;
        Some((pool, url))
    }

    pub async fn finish(self) {
        if let Some(cluster) = self.embedded {
            let _ = tokio::task::spawn_blocking(move || cluster.release()).await;
        }
    }
}

/// The same URL with another database name.
pub fn database_url(url: &str, database: &str) -> String {
    let (before_query, query) = url.split_once('?').map(|(a, b)| (a, Some(b))).unwrap_or((url, None));
    let base = before_query.rsplit_once('/').map(|(b, _)| b).unwrap_or(before_query);
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// Validated events, as the API would store them.
pub fn prepare(values: &[Value]) -> Vec<NewEvent> {
    let now = chrono::Utc::now();
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let event = validate_event(i, v, now).expect("valid demo event");
            let fingerprint = fingerprint(&event, v.get("occurred_at").is_some());
            NewEvent { event, fingerprint }
        })
        .collect()
}

/// CPU model, cores, memory and today's date.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| l.strip_prefix("model name")).map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()).unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem_kb: u64 = std::fs::read_to_string("/proc/meminfo").unwrap_or_default().lines()
        .find_map(|l| l.strip_prefix("MemTotal:")).and_then(|v| v.trim().trim_end_matches(" kB").parse().ok()).unwrap_or(0);
    format!("{model}, {cores} cores, {} GiB RAM, {}", mem_kb / 1024 / 1024, chrono::Utc::now().format("%Y-%m-%d"))
}

/// p50 and p95 in milliseconds of `runs` timed calls (after two warm-up calls).
pub async fn measure<F, Fut>(runs: usize, mut call: F) -> (f64, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..2 {
        call().await;
    }
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = std::time::Instant::now();
        call().await;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 50.0), percentile(&ms, 95.0))
}

pub fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    if sorted_ms.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted_ms.len() as f64 - 1.0)).round() as usize;
    sorted_ms[rank.min(sorted_ms.len() - 1)]
}

/// Read tokens of an auditor (reads everything) and of a member whose scope is two cluster
/// labels (about 4% of the dataset).
pub async fn readers(pool: &PgPool) -> (String, String) {
    use server::auth::accounts;
    use server::auth::audit::{Actor, Origin};
    use server::store::tokens::Scope as TokenScope;
    use server::store::users::{self, Role};
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    let mut tokens = Vec::new();
    for (role, scopes) in [(Role::Auditor, vec![]), (Role::Member, vec!["context.cluster=cluster-7".to_string(), "context.cluster=cluster-8".to_string()])] {
        let email = format!("bench-{}-{suffix}@example.com", role.as_str());
        let user = match users::by_email(pool, &email).await.expect("user") {
            Some(u) => u,
            None => accounts::create_user(pool, &email, None, role, &scopes, None, Actor::system(), Origin::default()).await.expect("user").0,
        };
        let (_, secret) = accounts::create_token(pool, &format!("bench-{}-{suffix}", role.as_str()), TokenScope::Read, Some(user.id), Actor::system(), Origin::default())
            .await
            .expect("token");
        tokens.push(secret);
    }
    (tokens[0].clone(), tokens[1].clone())
}
