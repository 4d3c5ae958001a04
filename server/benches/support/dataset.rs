//! A large synthetic audit log with realistic cardinalities, for the query benchmarks:
//! ~5,000 actors, 300 actions (30 resource types × 10 verbs), ~50 values per context key,
//! a daily rhythm, mostly reads, a few percent failures. Loaded with COPY (the insert trigger
//! still keeps positions and counts), then sealed and vacuumed as a running server would.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use app::event::{Actor, ActorType, Change, Event, Outcome, Resource};
use chrono::{DateTime, Duration, Timelike, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use server::store::write::{copy_events, NewEvent};
use server::store::partitions::{seal_finished_days, PartitionCache};

const RESOURCE_TYPES: [&str; 30] = [
    "project", "application", "deployment", "cluster", "secret", "api_token", "member", "user", "datastore", "backup",
    "domain", "certificate", "volume", "network", "firewall_rule", "job", "cron", "webhook", "integration", "billing_plan",
    "invoice", "report", "dashboard", "alert", "notification", "policy", "role", "group", "package", "version",
];
const VERBS: [(&str, &str, u32); 10] = [
    ("viewed", "GET", 40), ("listed", "GET", 18), ("updated", "PATCH", 12), ("created", "POST", 8), ("exported", "POST", 5),
    ("restarted", "POST", 5), ("scaled", "PATCH", 4), ("shared", "POST", 3), ("archived", "POST", 3), ("deleted", "DELETE", 2),
];
const FIRST: [&str; 25] = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
    "Radia", "Donald", "Hedy", "John", "Shafi", "Tim", "Anita", "Guido", "Jean", "Bjarne", "Adele", "Leslie", "Sophie", "Niklaus", "Mary"];
const LAST: [&str; 20] = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen",
    "Dijkstra", "Perlman", "Knuth", "Lamarr", "McCarthy", "Goldwasser", "Lee", "Borg", "Rossum", "Sammet", "Stroustrup"];
const ERRORS: [&str; 6] = ["permission denied", "not found", "conflict: modified by someone else", "quota exceeded",
    "upstream timeout after 30s", "internal error: connection reset"];
const AGENTS: [&str; 6] = ["Mozilla/5.0 Chrome/131.0", "Mozilla/5.0 Firefox/132.0", "Mozilla/5.0 Safari/605.1",
    "acme-cli/2.4.1", "terraform-provider-acme/1.8.0", "python-requests/2.32.3"];

pub const ACTORS: usize = 5_000;
pub const CONTEXT_VALUES: usize = 50;

/// The synthetic actor `i`: id, name, email, type.
pub fn actor(i: usize) -> Actor {
    let kind = match i % 100 {
        0..=79 => ActorType::User,
        80..=91 => ActorType::ApiToken,
        92..=96 => ActorType::System,
        _ => ActorType::Service,
    };
    let name = match kind {
        ActorType::User => format!("{} {} {}", FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()], i),
        _ => format!("{}-{i}", kind.as_str().replace('_', "-")),
    };
    let email = (kind == ActorType::User).then(|| format!("user{i}@acme.io"));
    Actor { id: format!("act_{i}"), name, email, actor_type: kind }
}

/// Action `i` of 300.
pub fn action(i: usize) -> (String, &'static str) {
    let (verb, method, _) = VERBS[i % VERBS.len()];
    (format!("{}.{verb}", RESOURCE_TYPES[i / VERBS.len() % RESOURCE_TYPES.len()]), method)
}

/// Skewed choice in 0..n: low indexes are much more frequent (a few actors do most work).
fn skewed(rng: &mut StdRng, n: usize, power: i32) -> usize {
    ((rng.random::<f64>().powi(power)) * n as f64) as usize % n
}

pub struct Dataset {
    pub events: u64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Events at `times`; `request` carries the current request id across chunks.
pub fn generate_chunk(rng: &mut StdRng, times: &[DateTime<Utc>], request: &mut (String, u32)) -> Vec<NewEvent> {
    let verb_total: u32 = VERBS.iter().map(|v| v.2).sum();
    times
        .iter()
        .map(|&t| {
            let a = actor(skewed(rng, ACTORS, 3));
            let resource_type = RESOURCE_TYPES[skewed(rng, RESOURCE_TYPES.len(), 2)];
            let (verb, method) = weighted_verb(rng.random_range(0..verb_total));
            let roll = rng.random::<f64>();
            let status: u16 = if roll < 0.03 { [403, 404, 409, 422][rng.random_range(0..4)] } else if roll < 0.04 { [500, 502, 503][rng.random_range(0..3)] } else if method == "POST" { 201 } else { 200 };
            if request.1 == 0 {
                *request = (format!("req_{:016x}", rng.random::<u64>()), rng.random_range(1..4));
            }
            request.1 -= 1;
            let resource_n = skewed(rng, 2_000, 2);
            let project = skewed(rng, CONTEXT_VALUES, 2);
            let mut context = BTreeMap::from([
                ("project".to_string(), format!("project-{project}")),
                ("group".to_string(), format!("team-{}", project % CONTEXT_VALUES)),
            ]);
            if rng.random::<f64>() < 0.6 {
                context.insert("cluster".into(), format!("cluster-{}", skewed(rng, CONTEXT_VALUES, 2)));
                context.insert("application".into(), format!("app-{}", skewed(rng, CONTEXT_VALUES, 2)));
            }
            let changes = if method == "PATCH" && status < 400 {
                vec![Change { field: "replicas".into(), before: Some(json!(rng.random_range(1..5))), after: Some(json!(rng.random_range(5..9))) }]
            } else {
                vec![]
            };
            let id_n: u32 = rng.random();
            let event = Event {
                id: Uuid::from_u64_pair(t.timestamp_micros() as u64, rng.random()),
                occurred_at: t,
                received_at: t,
                action: format!("{resource_type}.{verb}"),
                actor: a,
                source: Some(["dashboard", "cli", "api", "terraform"][skewed(rng, 4, 2)].to_string()),
                method: Some(method.to_string()),
                status: Some(status),
                path: Some(format!("/api/{resource_type}s/{resource_type}_{resource_n}")),
                outcome: Outcome::from_status(Some(status)),
                error: (status >= 400).then(|| ERRORS[rng.random_range(0..ERRORS.len())].to_string()),
                resource: Some(Resource { resource_type: resource_type.into(), id: Some(format!("{resource_type}_{resource_n}")), name: Some(format!("{resource_type} {resource_n}")) }),
                context,
                request_id: Some(request.0.clone()),
                ip: Some(format!("10.{}.{}.{}", id_n % 8, (id_n >> 8) % 250, (id_n >> 16) % 250)),
                user_agent: Some(AGENTS[rng.random_range(0..AGENTS.len())].to_string()),
                changes,
                metadata: None,
            };
            NewEvent { event, fingerprint: id_n.to_le_bytes().to_vec() }
        })
        .collect()
}

fn weighted_verb(mut pick: u32) -> (&'static str, &'static str) {
    for (verb, method, weight) in VERBS {
        if pick < weight {
            return (verb, method);
        }
        pick -= weight;
    }
    (VERBS[0].0, VERBS[0].1)
}

/// Sorted event times over `[to - 30d, to)` with a daily rhythm.
fn times(rng: &mut StdRng, count: u64, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let span = 30 * 86_400_000_000i64;
    let mut out = Vec::with_capacity(count as usize);
    while (out.len() as u64) < count {
        let t = to - Duration::microseconds(rng.random_range(1..span));
        let hour = f64::from(t.hour());
        if rng.random::<f64>() < 0.3 + 0.7 * (-(hour - 13.0).powi(2) / 18.0).exp() {
            out.push(t);
        }
    }
    out.sort();
    out
}

/// Loads the dataset into `pool` unless it already holds it; returns its span.
pub async fn ensure(pool: &PgPool, count: u64) -> Dataset {
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_dataset (events bigint, from_t timestamptz, to_t timestamptz)").execute(pool).await.expect("marker");
    if let Some((events, from, to)) = sqlx::query_as::<_, (i64, DateTime<Utc>, DateTime<Utc>)>("SELECT events, from_t, to_t FROM bench_dataset")
        .fetch_optional(pool).await.expect("marker")
    {
        if events as u64 == count {
            println!("reusing the loaded dataset of {count} events");
            return Dataset { events: count, from, to };
        }
    }
    let to = Utc::now();
    let from = to - Duration::days(30);
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(20261122);
    let all_times = times(&mut rng, count, to);
    let partitions = Arc::new(PartitionCache::default());
    let mut request = (String::new(), 0);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<NewEvent>>(4);
    let pool2 = pool.clone();
    let partitions2 = partitions.clone();
    let writer = tokio::spawn(async move {
        let mut loaded = 0usize;
        let mut in_flight: tokio::task::JoinSet<Result<(), sqlx::Error>> = tokio::task::JoinSet::new();
        while let Some(chunk) = rx.recv().await {
            while in_flight.len() >= 2 {
                in_flight.join_next().await.expect("task").expect("join").expect("copy");
            }
            loaded += chunk.len();
            let (pool, partitions) = (pool2.clone(), partitions2.clone());
            in_flight.spawn(async move { copy_events(&pool, &partitions, &chunk).await.map(|_| ()) });
            if loaded % 1_000_000 < 50_000 {
                println!("  loaded {loaded} events");
            }
        }
        while let Some(result) = in_flight.join_next().await {
            result.expect("join").expect("copy");
        }
    });
    for chunk in all_times.chunks(50_000) {
        tx.send(generate_chunk(&mut rng, chunk, &mut request)).await.expect("send");
    }
    drop(tx);
    writer.await.expect("writer");
    println!("loaded {count} events in {:.0} s; building search indexes of finished days", started.elapsed().as_secs_f64());
    seal_finished_days(pool).await.expect("seal");
    let mut conn = pool.acquire().await.expect("conn");
    sqlx::query("SET statement_timeout = 0").execute(&mut *conn).await.expect("timeout");
    sqlx::query("VACUUM ANALYZE").execute(&mut *conn).await.expect("vacuum");
    sqlx::query("INSERT INTO bench_dataset VALUES ($1, $2, $3)").bind(count as i64).bind(from).bind(to).execute(pool).await.expect("marker");
    println!("dataset ready in {:.0} s", started.elapsed().as_secs_f64());
    Dataset { events: count, from, to }
}
