//! `auditorium serve`: the web UI and the API on one port, until SIGINT/SIGTERM.

use std::sync::Arc;

use axum::{middleware, Router};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::config::{DatabaseArgs, ServeArgs};
use crate::db::Database;
use crate::state::AppState;
use crate::auth::{access, guard};
use crate::metrics::Metrics;
use crate::store::partitions;
use crate::{api, demo, store, web};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub async fn serve(db_args: &DatabaseArgs, args: ServeArgs) -> Result<(), BoxError> {
    let mut db = Database::open(db_args, 32).await?;
    let metrics = Arc::new(Metrics::new());
    db.supervise(metrics.embedded_restarts.clone());
    let result = serve_with(&db, args, metrics).await;
    db.close().await?;
    result
}

async fn serve_with(db: &Database, args: ServeArgs, metrics: Arc<Metrics>) -> Result<(), BoxError> {
    partitions::create_ahead(&db.pool).await?;
    let state = AppState::with_metrics(db.pool.clone(), &args, metrics).await?;
    if args.demo && store::is_empty(&db.pool).await? {
        tracing::info!("the database is empty: adding demo data (once)");
        demo::seed(&state.ingestor, 60_000, 30, 7).await?;
    }
    crate::commands::user::first_run(&db.pool, &state.web.base_url, args.demo).await?;
    if state.web.allowed_hosts.is_none() {
        tracing::warn!(addr = %args.addr, "listening on a public address without --public-url: any Host header is accepted; set --public-url to the address people use");
    }
    // Pages may send a signed-out browser on to the identity provider (CSP form-action).
    tokio::spawn({
        let state = state.clone();
        async move { crate::auth::sso::refresh_sign_out_origin(&state).await }
    });
    let maintenance = tokio::spawn(partitions::maintain(db.owner.clone(), args.retention, args.archive_dir.clone()));
    let verifier = tokio::spawn(crate::integrity::verifier::keep_verifying(db.pool.clone(), args.data_dir.clone(), args.checkpoint_every));
    let audit_file = args.audit_file.clone().map(|dir| tokio::spawn(crate::auditfile::keep_writing(db.pool.clone(), dir)));
    if args.retention != crate::retention::Retention::Forever {
        tracing::info!(retention = %args.retention, "events are kept for {}, then dropped by whole days{}", args.retention, if args.archive_dir.is_some() { " after archiving" } else { "" });
    }
    let sampling = tokio::spawn(store::trigrams::keep_fresh(db.pool.clone()));
    let (live, ingestor) = (state.live.clone(), state.ingestor.clone());
    let listener = TcpListener::bind(args.addr).await.map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    tracing::info!(addr = %args.addr, "Auditorium is ready at http://{}", args.addr);
    let served = axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Live-tail sockets are not tracked by axum: tell them to close (browsers reconnect).
            live.shut_down();
        })
        .await;
    maintenance.abort();
    sampling.abort();
    verifier.abort();
    if let Some(task) = audit_file {
        task.abort();
    }
    // Requests still queued (their clients may be gone) are written before stopping.
    ingestor.stop(std::time::Duration::from_secs(30)).await;
    tracing::info!("shutting down");
    Ok(served?)
}

/// What is worth compressing: the default (not images, not tiny answers, not event streams), and
/// not files that are compressed already (export ZIPs and workbooks are ZIP inside; gzip only
/// costs CPU there, and browsers then see a length that does not match the file's).
fn compressible() -> impl tower_http::compression::Predicate {
    use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
    DefaultPredicate::new()
        .and(NotForContentType::const_new("application/zip"))
        .and(NotForContentType::const_new("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
}

/// The whole application: API, health checks, pages and static files, behind the checks
/// every request passes (outermost first): the Host header, security headers, who is asking,
/// and where a state-changing request comes from.
pub fn router(state: AppState) -> Router {
    api::router()
        .merge(web::router(&state))
        .layer(middleware::from_fn(guard::check_origin))
        .layer(middleware::from_fn_with_state(state.clone(), access::authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), guard::security_headers))
        .layer(middleware::from_fn_with_state(state.clone(), guard::check_host))
        .layer(CompressionLayer::new().compress_when(compressible()))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let route = request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| request.uri().path().to_string());
            tracing::info_span!("request", method = %request.method(), route = %route)
        }))
        .with_state(state)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
