//! Counters for operators, served at `GET /metrics` in the Prometheus text format
//! (the `prometheus-client` crate, maintained by the Prometheus project). See README.md.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use sqlx::PgPool;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// The HTTP status answered.
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// `stored` or `duplicate`.
    pub result: &'static str,
}

/// What the ingest writer records.
#[derive(Clone)]
pub struct IngestMetrics {
    pub group_events: Histogram,
    pub commit_seconds: Histogram,
    pub connections_closed: Counter,
}

impl IngestMetrics {
    fn new() -> IngestMetrics {
        IngestMetrics {
            group_events: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            commit_seconds: Histogram::new(exponential_buckets(0.000_5, 2.0, 14)),
            connections_closed: Counter::default(),
        }
    }

    /// For a writer whose figures nobody reads (a command-line run).
    pub fn unregistered() -> IngestMetrics {
        IngestMetrics::new()
    }
}

/// What the live tail records.
#[derive(Clone, Default)]
pub struct LiveMetrics {
    pub sockets: Gauge,
    /// Sockets closed because they could not keep up.
    pub slow_closed: Counter,
    /// Events the slowest socket is behind the newest committed one (sampled at scrape).
    pub max_lag_events: Gauge,
    /// Bytes of committed events held in memory for the sockets.
    pub buffered_bytes: Gauge,
}

/// Every metric of one server instance.
pub struct Metrics {
    registry: Registry,
    pub ingest_requests: Family<StatusLabel, Counter>,
    pub ingest_events: Family<ResultLabel, Counter>,
    pub ingest_queue_events: Gauge,
    pub ingest: IngestMetrics,
    pub live: LiveMetrics,
    pub embedded_restarts: Counter,
    pool_in_use: Gauge,
    pool_idle: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("auditorium");
        let ingest_requests = Family::<StatusLabel, Counter>::default();
        registry.register("ingest_requests", "Ingest requests answered, by HTTP status", ingest_requests.clone());
        let ingest_events = Family::<ResultLabel, Counter>::default();
        registry.register("ingest_events", "Events accepted by ingest (stored, or duplicates of stored ones)", ingest_events.clone());
        let ingest_queue_events = Gauge::default();
        registry.register("ingest_queue_events", "Events waiting for the ingest writer or being written", ingest_queue_events.clone());
        let ingest = IngestMetrics::new();
        registry.register("ingest_group_events", "Events written per transaction (group commit)", ingest.group_events.clone());
        registry.register("ingest_commit_seconds", "Time to write and commit one group", ingest.commit_seconds.clone());
        registry.register(
            "db_connections_closed_broken",
            "Database connections closed instead of returned to the pool because an error left their state in doubt",
            ingest.connections_closed.clone(),
        );
        let live = LiveMetrics::default();
        registry.register("live_sockets", "Open live-tail WebSockets", live.sockets.clone());
        registry.register("live_slow_closed", "Live-tail sockets closed because the client could not keep up", live.slow_closed.clone());
        registry.register("live_max_lag_events", "Events the slowest live-tail socket is behind", live.max_lag_events.clone());
        registry.register("live_buffered_bytes", "Bytes of committed events held for live-tail sockets", live.buffered_bytes.clone());
        let embedded_restarts = Counter::default();
        registry.register("embedded_postgres_restarts", "Times the embedded PostgreSQL was found stopped and restarted", embedded_restarts.clone());
        let pool_in_use = Gauge::default();
        registry.register("db_pool_connections_in_use", "Pooled database connections in use", pool_in_use.clone());
        let pool_idle = Gauge::default();
        registry.register("db_pool_connections_idle", "Pooled database connections idle", pool_idle.clone());
        Metrics {
            registry,
            ingest_requests,
            ingest_events,
            ingest_queue_events,
            ingest,
            live,
            embedded_restarts,
            pool_in_use,
            pool_idle,
        }
    }

    /// The text exposition, with the gauges sampled now.
    pub fn render(&self, pool: &PgPool, queued_events: usize) -> String {
        let size = i64::from(pool.size());
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        self.pool_in_use.set(size - idle);
        self.pool_idle.set(idle);
        self.ingest_queue_events.set(i64::try_from(queued_events).unwrap_or(i64::MAX));
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "encoding the metrics failed: {e}");
        }
        text
    }
}
