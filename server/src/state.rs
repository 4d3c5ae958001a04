//! The one state every handler and server-rendered page shares.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;
use tokio::sync::{Notify, Semaphore};

use crate::auth::guard::WebConfig;
use crate::auth::sign_in::Throttle;
use crate::auth::{Authenticator, SessionLimits};
use crate::config::ServeArgs;
use crate::db::Health;
use crate::export::files::ExportFiles;
use crate::ingest::Ingestor;
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::store::partitions::PartitionCache;

/// How many field-value counts (sidebar, filter suggestions) run at once per instance.
pub const FACET_TURNS: usize = 2;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub partitions: Arc<PartitionCache>,
    pub ingestor: Arc<Ingestor>,
    pub live: Arc<LiveHub>,
    pub auth: Arc<Authenticator>,
    pub throttle: Arc<Throttle>,
    /// Wakes the task that moves Auditorium's own audit events into the store.
    pub audit_kick: Arc<Notify>,
    pub web: Arc<WebConfig>,
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    /// Where export jobs write their files, and for how long they stay.
    pub exports: Arc<ExportFiles>,
    /// Wakes this instance's export worker when a job is created here.
    pub export_kick: Arc<Notify>,
    /// A live-tail send blocked this long closes the socket (4408).
    pub live_send_timeout: Duration,
    /// Wakes this instance's alert webhook deliverer.
    pub alert_kick: Arc<Notify>,
    /// Hosts alert webhooks may go to (empty: any).
    pub webhook_allow: Arc<Vec<String>>,
    /// The overview's top actions, actors and resources, kept current.
    pub tops: Arc<crate::insight::TopCache>,
    /// Turns for field-value counts: at most [`FACET_TURNS`] run at once.
    pub facet_turns: Arc<Semaphore>,
    /// Seals stored secrets (the OIDC client secret).
    pub secrets: Arc<crate::secrets::SecretBox>,
    /// The single-sign-on provider's client and discovery cache.
    pub sso: Arc<crate::auth::sso::Provider>,
    /// What this instance's SIEM senders share; `forward_kick` tells them a destination changed.
    pub forward: crate::forward::Context,
    pub forward_kick: Arc<Notify>,
    pub leptos_options: LeptosOptions,
}

impl AppState {
    /// The state of one server instance; starts its ingest writers, its live-tail listener
    /// and the mover of its own audit events.
    pub async fn new(pool: PgPool, args: &ServeArgs) -> Result<AppState, crate::BoxError> {
        AppState::with_metrics(pool, args, Arc::new(Metrics::new())).await
    }

    pub async fn with_metrics(pool: PgPool, args: &ServeArgs, metrics: Arc<Metrics>) -> Result<AppState, crate::BoxError> {
        let web = WebConfig::new(args.addr, args.public_url.as_deref(), args.trusted_proxies.clone())?;
        let live = LiveHub::start(pool.clone()).await?;
        let partitions = Arc::new(PartitionCache::default());
        let health = Arc::new(Health::default());
        let ingestor = Arc::new(Ingestor::start(pool.clone(), partitions.clone(), health.clone(), metrics.ingest.clone()));
        let limits = SessionLimits { idle: args.session_idle, absolute: args.session_lifetime };
        let audit_kick = Arc::new(Notify::new());
        tokio::spawn(crate::auth::audit::keep_draining(pool.clone(), ingestor.clone(), audit_kick.clone()));
        let export_dir = args.export_dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("auditorium-exports-{}", uuid::Uuid::new_v4().simple())));
        let exports = Arc::new(ExportFiles::new(export_dir, args.export_expiry));
        let export_kick = Arc::new(Notify::new());
        tokio::spawn(crate::export::worker::Worker::new(pool.clone(), (*exports).clone(), export_kick.clone()).run());
        let alert_kick = Arc::new(Notify::new());
        let alerts = crate::alerts::evaluator::Context {
            pool: pool.clone(),
            hub: live.clone(),
            deliver: alert_kick.clone(),
            base_url: web.base_url.clone(),
            audit_kick: audit_kick.clone(),
        };
        tokio::spawn(crate::alerts::evaluator::run(alerts, live.shutting_down()));
        tokio::spawn(crate::alerts::webhook::keep_delivering(pool.clone(), alert_kick.clone(), args.webhook_allow.clone(), live.shutting_down()));
        let secrets = Arc::new(crate::secrets::SecretBox::new(args.data_dir.clone()));
        let forward = crate::forward::Context {
            pool: pool.clone(),
            hub: live.clone(),
            secrets: secrets.clone(),
            audit_kick: audit_kick.clone(),
            hostname: crate::forward::hostname(args.public_url.as_deref()),
            alarm_after: args.forward_alarm_after,
            max_backoff: args.forward_max_backoff,
            allow: Arc::new(args.webhook_allow.clone()),
        };
        let forward_kick = Arc::new(Notify::new());
        tokio::spawn(crate::forward::run(forward.clone(), forward_kick.clone(), live.shutting_down()));
        let tops: Arc<crate::insight::TopCache> = Arc::default();
        // Read the overview's top lists once now, not on the first person's overview.
        let (warm, warm_pool) = (tops.clone(), pool.clone());
        tokio::spawn(async move {
            let since = crate::insight::overview::first_day(chrono::Utc::now());
            let _ = warm.top(&warm_pool, since, crate::insight::overview::TOP as usize).await;
        });
        Ok(AppState {
            auth: Arc::new(Authenticator::new(live.clone(), limits)),
            throttle: Arc::new(Throttle::default()),
            audit_kick,
            web: Arc::new(web),
            pool,
            partitions,
            ingestor,
            live,
            health,
            metrics,
            exports,
            export_kick,
            alert_kick,
            webhook_allow: Arc::new(args.webhook_allow.clone()),
            tops,
            live_send_timeout: args.live_send_timeout,
            facet_turns: Arc::new(Semaphore::new(FACET_TURNS)),
            secrets,
            forward,
            forward_kick,
            sso: Arc::new(crate::auth::sso::Provider::default()),
            leptos_options: crate::web::leptos_options(args),
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}
