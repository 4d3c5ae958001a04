//! The database goes away under a running server (a TCP hop between them is cut, the real
//! PostgreSQL behind it untouched): every endpoint answers a retryable 503 with
//! `Retry-After` — a token check that cannot reach the database is never "unknown token" —
//! and everything works again once the database is back, without a restart.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, StatusCode};
use common::{event, get, ingest, send};
use server::config::ServeArgs;
use server::store::tokens::{self, Scope};
use sqlx::PgPool;
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::task::AbortHandle;

/// A TCP front for the test's PostgreSQL that can be cut and restored.
struct Cable {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Cable {
    async fn lay(pool: &PgPool) -> Cable {
        let options = pool.connect_options();
        let socket = options.get_socket().map(|dir| dir.to_string_lossy().into_owned()).or_else(|| {
            options.get_host().starts_with('/').then(|| options.get_host().to_string())
        });
        let upstream = match socket {
            Some(dir) => Err(format!("{dir}/.s.PGSQL.{}", options.get_port())),
            None => Ok(format!("{}:{}", options.get_host(), options.get_port())),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let cable = Cable { addr: listener.local_addr().expect("addr"), up: Arc::new(AtomicBool::new(true)), pipes: Arc::default() };
        let (up, pipes) = (cable.up.clone(), cable.pipes.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up.load(Ordering::Acquire) {
                    // The database is "down": the connection ends at once.
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    match upstream {
                        Err(path) => {
                            if let Ok(mut server) = UnixStream::connect(path).await {
                                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }
                        Ok(addr) => {
                            if let Ok(mut server) = TcpStream::connect(addr).await {
                                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }
                    }
                });
                pipes.lock().expect("pipes").push(pipe.abort_handle());
            }
        });
        cable
    }

    fn url(&self, pool: &PgPool) -> String {
        let options = pool.connect_options();
        format!(
            "postgres://{}@{}/{}",
            options.get_username(),
            self.addr,
            options.get_database().expect("the test database has a name")
        )
    }

    fn cut(&self) {
        self.up.store(false, Ordering::Release);
        for pipe in self.pipes.lock().expect("pipes").drain(..) {
            pipe.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::Release);
    }
}

fn assert_retryable(reply: &common::Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {}", reply.text);
    assert_eq!(reply.body["error"]["code"], "database_unavailable", "{what}: {}", reply.text);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn an_unreachable_database_is_a_retryable_503_everywhere_and_heals(pool: PgPool) {
    let cable = Cable::lay(&pool).await;
    let through_cable = server::db::connect(&cable.url(&pool), Duration::from_secs(5), 8).await.expect("connect through the cable");
    let state = server::state::AppState::new(through_cable.clone(), &ServeArgs::default()).await.expect("state");
    let app = server::serve::router(state);
    let used = tokens::create(&pool, "used", Scope::Admin).await.expect("token").1;
    let fresh = tokens::create(&pool, "fresh", Scope::Admin).await.expect("token").1;
    assert_eq!(ingest(&app, &used, &serde_json::json!([event(1)])).await.status, StatusCode::CREATED);

    cable.cut();
    // A token the server knows, one it has never seen (its check needs the database), reads,
    // readiness: all retryable, none 401, none 500.
    let known = ingest(&app, &used, &serde_json::json!([event(2)])).await;
    assert_retryable(&known, "ingest with a cached token");
    let retry_after = app
        .clone()
        .oneshot_retry_after(common::post("/api/v1/events", Some(&used), "application/json", event(3).to_string()))
        .await;
    assert!(retry_after.is_some_and(|s| s >= 1), "Retry-After: {retry_after:?}");
    assert_retryable(&ingest(&app, &fresh, &serde_json::json!([event(4)])).await, "ingest with an unchecked token");
    assert_retryable(&send(&app, get("/api/v1/events?range=1h", Some(&fresh))).await, "a read");
    assert_retryable(&send(&app, get("/api/v1/fields", Some(&used))).await, "fields");
    let ready = send(&app, get("/readyz", None)).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE, "{}", ready.text);

    cable.restore();
    let healed = ingest(&app, &fresh, &serde_json::json!([event(5)])).await;
    assert_eq!(healed.status, StatusCode::CREATED, "{}", healed.text);
    assert_eq!(send(&app, get("/api/v1/events?range=1h", Some(&fresh))).await.status, StatusCode::OK);
    assert_eq!(send(&app, get("/readyz", None)).await.status, StatusCode::OK);
    assert_eq!(common::count_events(&pool).await, 2, "nothing refused was stored");
    through_cable.close().await;
}

/// `Retry-After` of the answer, in seconds.
trait RetryAfter {
    async fn oneshot_retry_after(self, request: axum::http::Request<axum::body::Body>) -> Option<u64>;
}

impl RetryAfter for axum::Router {
    async fn oneshot_retry_after(self, request: axum::http::Request<axum::body::Body>) -> Option<u64> {
        use tower::ServiceExt;
        let response = self.oneshot(request).await.ok()?;
        response.headers().get(header::RETRY_AFTER)?.to_str().ok()?.parse().ok()
    }
}
