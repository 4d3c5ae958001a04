//! The one state every handler and server-rendered page shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

use crate::live::LiveHub;
use crate::store::partitions::PartitionCache;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub partitions: Arc<PartitionCache>,
    pub live: Arc<LiveHub>,
    /// Reading without a token: only while listening on loopback.
    pub anonymous_read: bool,
    pub leptos_options: LeptosOptions,
}

impl AppState {
    /// The state of one server instance; starts its live-tail listener.
    pub async fn new(pool: PgPool, anonymous_read: bool, leptos_options: LeptosOptions) -> Result<AppState, sqlx::Error> {
        let live = LiveHub::start(pool.clone()).await?;
        Ok(AppState { pool, partitions: Arc::new(PartitionCache::default()), live, anonymous_read, leptos_options })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}
