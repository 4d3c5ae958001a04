//! `/healthz`: the process answers. `/readyz`: the database answers and every migration
//! this build knows is applied.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::db::MIGRATOR;
use crate::state::AppState;

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let expected = MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration()).count() as i64;
    let applied: Result<i64, sqlx::Error> =
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success").fetch_one(&state.pool).await;
    match applied {
        Ok(applied) if applied >= expected => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": "ok", "migrations": { "applied": applied, "expected": expected } })),
        ),
        Ok(applied) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "database": "ok", "migrations": { "applied": applied, "expected": expected } })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "not_ready", "database": "unreachable" })))
        }
    }
}
