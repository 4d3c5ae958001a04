//! Read latency on a large dataset (1M events by default, `--events 10000000` for 10M):
//! first pages of typical views through the API and at the driver, facet values, and the
//! histogram next to the raw `date_bin` SQL over the events table.
//!
//! make bench-query                          (1M events; the dataset is kept for later runs)
//! make bench-query ARGS="--events 10000000 --runs 30"

mod support;


use app::query::{decode_query, EventFilter};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use server::store::filter_sql::push_conditions;
use sqlx::{PgPool, Postgres, QueryBuilder};
use support::{dataset, measure, Args, BenchCluster};

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<bytes::Bytes>>;

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}


async fn http_get(client: &HttpClient, url: &str, token: &str) {
    let request = hyper::Request::get(url).header("authorization", format!("Bearer {token}")).body(Full::default()).expect("request");
    let response = client.request(request).await.expect("response");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    assert!(status.is_success(), "{url}: {status} {}", String::from_utf8_lossy(&body));
}

/// The raw SQL a histogram replaces: date_bin over the events table.
async fn raw_date_bin(pool: &PgPool, query: &str, width_seconds: i64) {
    let view = decode_query(query, &[]).view;
    let filter = EventFilter::for_window(&view, Utc::now());
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT date_bin(");
    qb.push_bind(sqlx::postgres::types::PgInterval { months: 0, days: 0, microseconds: width_seconds * 1_000_000 });
    qb.push(", e.occurred_at, TIMESTAMPTZ '2000-01-01'), e.outcome, count(*) FROM events e WHERE true");
    push_conditions(&mut qb, &filter);
    qb.push(" GROUP BY 1, 2");
    let _rows: Vec<(DateTime<Utc>, String, i64)> = qb.build_query_as().fetch_all(pool).await.expect("date_bin");
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let events: u64 = args.get("events", 1_000_000);
    let runs: usize = args.get("runs", 30);
    println!("query benchmark: {events} events over 30 days, {runs} timed runs per measurement (warm cache)");
    println!("machine: {}", support::machine());
    let cluster = BenchCluster::start().await;
    let name = format!("bench_query_{events}");
    let (pool, _) = match cluster.existing_database(&name).await {
        Some(db) => db,
        None => cluster.fresh_database(&name).await,
    };
    let data = dataset::ensure(&pool, events).await;
    // A day may have ended since the dataset was loaded: seal it now, not while measuring.
    server::store::partitions::seal_finished_days(&pool).await.expect("seal");
    // What `serve` does in the background: sample search texts for the trigram lookups.
    server::store::trigrams::refresh(&pool).await.expect("sample search texts");
    if std::env::args().any(|a| a == "--prepare-only") {
        println!("dataset {name} ready: {} to {}", iso(data.from), iso(data.to));
        pool.close().await;
        cluster.finish().await;
        return;
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = server::state::AppState::new(pool.clone(), &server::config::ServeArgs::default())
        .await
        .expect("state");
    tokio::spawn(async move { axum::serve(listener, server::serve::router(state)).await });
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    // An auditor's token reads everything; a member's reads their scope (two cluster labels,
    // about 4% of the events).
    let (auditor, member) = support::readers(&pool).await;
    let token = auditor.as_str();

    let range = format!("from={}&to={}", iso(data.from), iso(data.to));
    let last_hour = format!("from={}&to={}", iso(data.to - Duration::hours(1)), iso(data.to));
    let rare_actor = dataset::actor(4321);
    let views: Vec<(&str, String)> = vec![
        ("no filter", range.clone()),
        ("one selective action", format!("{range}&action=secret.deleted")),
        ("method!=GET", format!("{range}&method!=GET")),
        ("actor + 5xx", format!("{range}&actor.id=act_42&status=5xx")),
        ("context label", format!("{range}&context.cluster=cluster-7")),
        ("1-hour window", last_hour.clone()),
        ("search, rare term", format!("{range}&q={}", rare_actor.email.clone().unwrap_or_default().replace('@', "%40"))),
        ("search, common term", format!("{range}&q=timeout")),
    ];

    println!("\n## First page (limit 50) with total\n");
    println!("| view | API p50 | API p95 | SQL p50 | SQL p95 | API/SQL (p50) | total |");
    println!("|---|---|---|---|---|---|---|");
    for (label, query) in &views {
        let url = format!("http://{addr}/api/v1/events?{query}");
        let (api50, api95) = measure(runs, || http_get(&client, &url, token)).await;
        let (sql50, sql95) = measure(runs, || async {
            server::explore::events_page(&pool, query, Utc::now(), &app::query::Scope::All).await.expect("page");
        })
        .await;
        let page = server::explore::events_page(&pool, query, Utc::now(), &app::query::Scope::All).await.expect("page");
        let total = if page.total.exact { format!("{}", page.total.count) } else { format!("> {}", page.total.count) };
        println!("| {label} | {api50:.1} ms | {api95:.1} ms | {sql50:.1} ms | {sql95:.1} ms | {:.2} | {total} |", api50 / sql50.max(0.001));
    }

    println!("\n## Facet values (autocomplete), 30 days\n");
    println!("| field | p50 | p95 | exact |");
    println!("|---|---|---|---|");
    for field in ["action", "status", "actor.name", "context.cluster", "resource.name"] {
        let url = format!("http://{addr}/api/v1/fields/{field}/values?{range}&method!=GET");
        let (p50, p95) = measure(runs, || http_get(&client, &url, token)).await;
        let values = server::explore::field_values(&pool, field, &format!("{range}&method!=GET"), Utc::now(), &app::query::Scope::All).await.expect("values");
        println!("| {field} (with method!=GET) | {p50:.1} ms | {p95:.1} ms | {} |", values.exact);
    }

    println!("\n## Histogram with total, 30 days, next to raw date_bin SQL\n");
    println!("| filter | histogram p50 | histogram p95 | raw date_bin p50 | target |");
    println!("|---|---|---|---|---|");
    let histogram_views: Vec<(&str, String, &str)> = vec![
        ("no filter", range.clone(), "100 ms"),
        ("action", format!("{range}&action=project.updated"), "100 ms"),
        ("method!=GET", format!("{range}&method!=GET"), "100 ms"),
        ("status=5xx", format!("{range}&status=5xx"), "100 ms"),
        ("outcome=failure", format!("{range}&outcome=failure"), "100 ms"),
        ("resource.type", format!("{range}&resource.type=deployment"), "100 ms"),
        ("actor.type", format!("{range}&actor.type=api_token"), "100 ms"),
        ("context label", format!("{range}&context.cluster=cluster-7"), "400 ms"),
        ("actor + 5xx", format!("{range}&actor.id=act_42&status=5xx"), "400 ms"),
        ("method!=GET + action", format!("{range}&method!=GET&action=application.updated"), "400 ms"),
        ("actor.email", format!("{range}&actor.email=user1234%40acme.io"), "400 ms"),
        ("path prefix", format!("{range}&path=/api/invoices/invoice_17*"), "400 ms"),
        ("actor.name broad prefix (~9% of events)", format!("{range}&actor.name=Ada*"), "400 ms"),
    ];
    for (label, query, target) in &histogram_views {
        let url = format!("http://{addr}/api/v1/histogram?{query}");
        let (p50, p95) = measure(runs, || http_get(&client, &url, token)).await;
        let (raw50, _) = measure(3, || raw_date_bin(&pool, query, 6 * 3600)).await;
        println!("| {label} | {p50:.1} ms | {p95:.1} ms | {raw50:.0} ms | ≤ {target} |");
    }
    member_views(&pool, &client, addr, &range, &member, runs).await;
    pool.close().await;
    cluster.finish().await;
}

/// A member's views (scope ≈ 4% of events) and the authentication step itself.
async fn member_views(pool: &PgPool, client: &HttpClient, addr: std::net::SocketAddr, range: &str, member: &str, runs: usize) {
    println!("\n## A member (scope: two cluster labels, ~4% of events), 30 days\n");
    println!("| what | p50 | p95 | target p95 |");
    println!("|---|---|---|---|");
    for (label, path, target) in [
        ("first page + total", format!("/api/v1/events?{range}"), "50 ms"),
        ("first page, one action", format!("/api/v1/events?{range}&action=project.updated"), "50 ms"),
        ("histogram", format!("/api/v1/histogram?{range}"), "400 ms"),
        ("facet values: action", format!("/api/v1/fields/action/values?{range}"), "150 ms"),
        ("facet values: actor.name", format!("/api/v1/fields/actor.name/values?{range}"), "150 ms"),
    ] {
        let url = format!("http://{addr}{path}");
        let (p50, p95) = measure(runs, || http_get(client, &url, member)).await;
        println!("| {label} | {p50:.1} ms | {p95:.1} ms | ≤ {target} |");
    }
    // The authentication step: resolving a token, from the cache (every request but the
    // first few in 10 s) and from the database.
    let hub = server::live::LiveHub::start(pool.clone()).await.expect("hub");
    let limits = server::auth::SessionLimits { idle: std::time::Duration::from_secs(3600), absolute: std::time::Duration::from_secs(86_400) };
    let credential = server::auth::Credential::Token(server::store::tokens::hash(member));
    let cached = server::auth::Authenticator::new(hub.clone(), limits);
    let (c50, c95) = measure(runs * 10, || async { cached.resolve(pool, &credential).await.expect("resolve").expect("known"); }).await;
    let (d50, d95) = measure(runs, || async {
        let fresh = server::auth::Authenticator::new(hub.clone(), limits);
        fresh.resolve(pool, &credential).await.expect("resolve").expect("known");
    })
    .await;
    println!("| authentication, cached | {:.3} ms | {:.3} ms | ≤ 2 ms |", c50, c95);
    println!("| authentication, from the database | {d50:.2} ms | {d95:.2} ms | ≤ 2 ms |");
}
