//! Opening the database: the embedded cluster or `DATABASE_URL`, a pool, migrations; and
//! keeping the embedded cluster running while a server uses it.

mod fault;
pub mod roles;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use fault::{detached, is_unavailable, Health};
use prometheus_client::metrics::counter::Counter;
use tokio::task::JoinHandle;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::DatabaseArgs;
use crate::embedded_pg::{EmbeddedError, EmbeddedPostgres, LeaseKind, DATABASE};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(sqlx::Error),
    #[error("applying migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("the embedded PostgreSQL task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The pools and, with the embedded cluster, this process's lease on it.
pub struct Database {
    /// Requests and commands: the server's own role (read and append events only), see
    /// [`roles`].
    pub pool: PgPool,
    /// The owner, for migrations, partition upkeep, retention and legal holds.
    pub owner: PgPool,
    pub url: String,
    embedded: Option<EmbeddedPostgres>,
    supervisor: Option<JoinHandle<()>>,
}

impl Database {
    /// Connects (starting the embedded cluster if needed) and applies migrations.
    pub async fn open(args: &DatabaseArgs, pool_size: u32) -> Result<Database, DbError> {
        let (url, embedded) = match args.external_url() {
            // The address of an embedded cluster (from `auditorium db url`): lease it like any
            // other user, so a stopping process does not take it away from this one.
            Some(url) => match embedded_socket_dir(url) {
                Some(socket_dir) => {
                    let cluster = tokio::task::spawn_blocking(move || {
                        EmbeddedPostgres::for_socket_dir(&socket_dir).map(|found| found?.start(LeaseKind::Process)).transpose()
                    })
                    .await??;
                    (url.to_string(), cluster)
                }
                None => (url.to_string(), None),
            },
            None => {
                let data_dir = args.data_dir.clone();
                let cluster = tokio::task::spawn_blocking(move || {
                    EmbeddedPostgres::locate(&data_dir)?.start(LeaseKind::Process)
                })
                .await??;
                ensure_database(&cluster).await?;
                (cluster.url(DATABASE), Some(cluster))
            }
        };
        let pool = match connect(&url, args.statement_timeout, pool_size).await {
            Ok(pool) => pool,
            Err(e) => {
                if let Some(cluster) = embedded {
                    let _ = tokio::task::spawn_blocking(move || cluster.release()).await;
                }
                return Err(e);
            }
        };
        MIGRATOR.run(&pool).await?;
        let app = match roles::app_role(&pool).await? {
            Some(options) => connect_with(options, args.statement_timeout, pool_size).await?,
            None => pool.clone(),
        };
        Ok(Database { pool: app, owner: pool, url, embedded, supervisor: None })
    }

    /// With the embedded cluster: checks every second that it runs and starts it again when
    /// it stopped (crash, kill, `db stop --force`), with backoff while starting fails. Every
    /// restart is logged and counted in `restarts`.
    pub fn supervise(&mut self, restarts: Counter) {
        let Some(cluster) = self.embedded.as_ref().map(EmbeddedPostgres::watcher) else { return };
        self.supervisor = Some(tokio::spawn(async move {
            let cluster = std::sync::Arc::new(cluster);
            let mut backoff = Duration::from_secs(1);
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if cluster.running_pid().is_some() {
                    backoff = Duration::from_secs(1);
                    continue;
                }
                tracing::error!("the embedded PostgreSQL is not running; starting it again");
                let watched = cluster.clone();
                match tokio::task::spawn_blocking(move || watched.ensure_running()).await {
                    Ok(Ok(true)) => {
                        restarts.inc();
                        tracing::info!("the embedded PostgreSQL runs again");
                    }
                    Ok(Ok(false)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "restarting the embedded PostgreSQL failed ({e}); next try in {backoff:?}");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                    Err(e) => tracing::error!(error = %e, "the embedded PostgreSQL supervisor failed: {e}"),
                }
            }
        }));
    }

    /// Closes the pool and gives up the lease (stopping the embedded cluster if this was its
    /// last user).
    pub async fn close(self) -> Result<(), DbError> {
        if let Some(supervisor) = self.supervisor {
            supervisor.abort();
        }
        self.pool.close().await;
        self.owner.close().await;
        if let Some(cluster) = self.embedded {
            tokio::task::spawn_blocking(move || cluster.release()).await??;
        }
        Ok(())
    }
}

pub async fn connect(url: &str, statement_timeout: Duration, pool_size: u32) -> Result<PgPool, DbError> {
    connect_with(PgConnectOptions::from_str(url).map_err(DbError::Connect)?, statement_timeout, pool_size).await
}

async fn connect_with(options: PgConnectOptions, statement_timeout: Duration, pool_size: u32) -> Result<PgPool, DbError> {
    let options = options
        .application_name("auditorium")
        // Filters are built per request: plan each with its real values (selectivity and
        // partition pruning depend on them) instead of a generic plan after 5 executions.
        .options([
            ("statement_timeout", statement_timeout.as_millis().to_string()),
            ("plan_cache_mode", "force_custom_plan".to_string()),
        ]);
    PgPoolOptions::new()
        .max_connections(pool_size)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(DbError::Connect)
}

/// The unix-socket directory `url` points to, if any.
fn embedded_socket_dir(url: &str) -> Option<PathBuf> {
    let options = PgConnectOptions::from_str(url).ok()?;
    if let Some(socket) = options.get_socket() {
        return Some(socket.clone());
    }
    let host = options.get_host();
    host.starts_with('/').then(|| PathBuf::from(host))
}

/// Creates the `auditorium` database in a fresh cluster.
pub async fn ensure_database(cluster: &EmbeddedPostgres) -> Result<(), DbError> {
    let admin = connect(&cluster.url("postgres"), Duration::from_secs(30), 1).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(DATABASE)
        .fetch_one(&admin)
        .await?;
    if !exists {
        // An identifier, not a value: DATABASE is a constant of ours.
        match sqlx::query(&format!("CREATE DATABASE {DATABASE}")).execute(&admin).await {
            Ok(_) => {}
            // Another process created it at the same moment (two commands on a fresh data
            // directory): 42P04 duplicate_database, or the catalogue's unique index.
            Err(e) if e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "42P04" || c == "23505") => {}
            Err(e) => return Err(e.into()),
        }
    }
    admin.close().await;
    Ok(())
}
