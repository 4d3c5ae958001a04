//! Opening the database: the embedded cluster or `DATABASE_URL`, a pool, migrations.

use std::str::FromStr;
use std::time::Duration;

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

/// The pool and, with the embedded default, this process's lease on the cluster.
pub struct Database {
    pub pool: PgPool,
    pub url: String,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects (starting the embedded cluster if needed) and applies migrations.
    pub async fn open(args: &DatabaseArgs, pool_size: u32) -> Result<Database, DbError> {
        let (url, embedded) = match args.external_url() {
            Some(url) => (url.to_string(), None),
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
        Ok(Database { pool, url, embedded })
    }

    /// Closes the pool and gives up the lease (stopping the embedded cluster if this was its
    /// last user).
    pub async fn close(self) -> Result<(), DbError> {
        self.pool.close().await;
        if let Some(cluster) = self.embedded {
            tokio::task::spawn_blocking(move || cluster.release()).await??;
        }
        Ok(())
    }
}

pub async fn connect(url: &str, statement_timeout: Duration, pool_size: u32) -> Result<PgPool, DbError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(DbError::Connect)?
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

/// Creates the `auditorium` database in a fresh cluster.
pub async fn ensure_database(cluster: &EmbeddedPostgres) -> Result<(), DbError> {
    let admin = connect(&cluster.url("postgres"), Duration::from_secs(30), 1).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(DATABASE)
        .fetch_one(&admin)
        .await?;
    if !exists {
        // An identifier, not a value: DATABASE is a constant of ours.
        sqlx::query(&format!("CREATE DATABASE {DATABASE}")).execute(&admin).await?;
    }
    admin.close().await;
    Ok(())
}
