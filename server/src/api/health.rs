//! `/healthz`: the process answers. `/readyz`: this instance can do its work — the database
//! answers, every migration this build knows is applied, and a write commits (a full disk or
//! a read-only database is not ready), and the ingest writer's last write did not fail.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::db::{detached, MIGRATOR};
use crate::state::AppState;

/// How long the readiness checks may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let expected = MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration()).count() as i64;
    let pool = state.pool.clone();
    let checks = detached(async move {
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success").fetch_one(&pool).await?;
        // One tiny committed write: fails on a full disk, a read-only standby, a broken WAL.
        let wrote = sqlx::query(
            "INSERT INTO readiness_probe (singleton, checked_at) VALUES (true, now())
             ON CONFLICT (singleton) DO UPDATE SET checked_at = EXCLUDED.checked_at",
        )
        .execute(&pool)
        .await
        .map(|_| ());
        Ok::<_, sqlx::Error>((applied, wrote))
    });
    let unavailable = |database: &str, detail: String| {
        // The cause goes to the log; the unauthenticated answer names only the condition.
        tracing::warn!(database, "not ready ({database}): {detail}");
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "not_ready", "database": database })))
    };
    let (applied, wrote) = match tokio::time::timeout(CHECK_TIMEOUT, checks).await {
        Ok(Some(Ok(results))) => results,
        Ok(Some(Err(e))) => return unavailable("unreachable", e.to_string()),
        Ok(None) => return unavailable("unreachable", "the check failed".into()),
        Err(_) => return unavailable("not_answering", format!("no answer within {CHECK_TIMEOUT:?}")),
    };
    let migrations = json!({ "applied": applied, "expected": expected });
    if applied < expected {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "not_ready", "database": "ok", "migrations": migrations })));
    }
    if let Err(e) = wrote {
        return unavailable("cannot_write", e.to_string());
    }
    if let Some(problem) = state.health.write_problem() {
        return unavailable("ingest_failing", problem);
    }
    (StatusCode::OK, Json(json!({ "status": "ready", "database": "ok", "migrations": migrations })))
}
