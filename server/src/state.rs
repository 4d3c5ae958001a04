//! The one state every handler and server-rendered page shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

use crate::store::partitions::PartitionCache;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub partitions: Arc<PartitionCache>,
    /// Reading without a token: only while listening on loopback.
    pub anonymous_read: bool,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}
