//! `GET /healthz`: 200 when the database answers, 503 when it does not — within [`PING_TIMEOUT`]
//! however hung the database is, not after the connection pool gives up.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::AppState;

/// How long the database may take to answer a health check's ping.
pub const PING_TIMEOUT: Duration = Duration::from_secs(1);

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(health))
}

async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(
                json!({ "status": "ok", "sockets": state.hub.open_sockets(), "rooms": state.hub.running_rooms() }),
            ),
        ),
        failed => {
            let error =
                failed.map_or_else(|_| "no answer in time".to_owned(), |result| format!("{result:?}"));
            tracing::warn!(%error, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "database unavailable" })))
        }
    }
}
