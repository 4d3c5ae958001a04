//! The one state every handler and server-rendered page shares.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

use crate::auth::TokenCache;
use crate::config::ServeArgs;
use crate::db::Health;
use crate::ingest::Ingestor;
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::store::partitions::PartitionCache;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub partitions: Arc<PartitionCache>,
    pub ingestor: Arc<Ingestor>,
    pub live: Arc<LiveHub>,
    pub tokens: Arc<TokenCache>,
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    /// Reading without a token: only while listening on loopback.
    pub anonymous_read: bool,
    /// A live-tail send blocked this long closes the socket (4408).
    pub live_send_timeout: Duration,
    pub leptos_options: LeptosOptions,
}

impl AppState {
    /// The state of one server instance; starts its ingest writer and live-tail listener.
    pub async fn new(pool: PgPool, args: &ServeArgs) -> Result<AppState, sqlx::Error> {
        AppState::with_metrics(pool, args, Arc::new(Metrics::new())).await
    }

    pub async fn with_metrics(pool: PgPool, args: &ServeArgs, metrics: Arc<Metrics>) -> Result<AppState, sqlx::Error> {
        let live = LiveHub::start(pool.clone()).await?;
        let partitions = Arc::new(PartitionCache::default());
        let health = Arc::new(Health::default());
        let ingestor = Arc::new(Ingestor::start(pool.clone(), partitions.clone(), health.clone(), metrics.ingest.clone()));
        Ok(AppState {
            tokens: Arc::new(TokenCache::new(live.clone())),
            pool,
            partitions,
            ingestor,
            live,
            health,
            metrics,
            anonymous_read: args.addr.ip().is_loopback(),
            live_send_timeout: args.live_send_timeout,
            leptos_options: crate::web::leptos_options(args),
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}
