//! `GET /live`: where an agent's live sockets go. A single `kefu serve` hosts every room, so it
//! answers one endpoint for all the agent's sites; a cluster answers one per node and the edge one
//! per site, and clients open one socket per endpoint either way.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chat_core::ids::SiteId;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::CurrentAgent;
use crate::error::{ApiError, ApiResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/live", get(live))
}

/// Where to connect.
#[derive(Serialize)]
struct Live {
    endpoints: Vec<Endpoint>,
}

/// One socket to open, and the sites it carries.
#[derive(Serialize)]
struct Endpoint {
    /// A WebSocket URL, or a path on the server the API was reached at.
    url: String,
    sites: Vec<SiteId>,
}

async fn live(State(state): State<AppState>, me: CurrentAgent) -> ApiResult<Json<Live>> {
    let agent = state
        .store
        .agent(&me.tenant, &me.agent)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the account no longer exists".into()))?;
    let sites = state.store.list_sites(&me.tenant).await?;
    let sites: Vec<SiteId> =
        sites.into_iter().filter(|site| agent.serves(&site.id)).map(|site| site.id).collect();
    let endpoints = if state.config.edge_secret.is_some() {
        // On the edge each site's room is an object of its own, reached through the Worker.
        sites
            .into_iter()
            .map(|site| Endpoint { url: format!("/ws/agent?site={}", site.0), sites: vec![site] })
            .collect()
    } else {
        vec![Endpoint { url: "/ws/agent".into(), sites }]
    };
    Ok(Json(Live { endpoints }))
}
