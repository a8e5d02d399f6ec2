//! `GET /live`: where an agent's live sockets go. A single `kefu serve` hosts every room, so it
//! answers one endpoint for all the agent's sites; a cluster answers one per node and the edge one
//! per site, and clients open one socket per endpoint either way.

use axum::extract::{Path, State};
use axum::http::HeaderName;
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL};
use axum::routing::get;
use axum::{Json, Router};
use chat_core::ids::SiteId;
use chat_core::routes::{self, Route, RoutesTable};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::CurrentAgent;
use crate::error::{ApiError, ApiResult};
use crate::live::cluster::socket_url;

pub fn router() -> Router<AppState> {
    Router::new().route("/live", get(live))
}

/// `GET /route/{site_key}` (outside `/api/v1/`, for the loader before anything else): where a
/// visitor's socket for the site goes.
pub fn route_router() -> Router<AppState> {
    Router::new().route("/route", get(table)).route("/route/{site_key}", get(route))
}

/// Any page may ask (the loader runs on the site's pages), and the answer changes with moves.
const ROUTE_HEADERS: [(HeaderName, &str); 2] =
    [(ACCESS_CONTROL_ALLOW_ORIGIN, "*"), (CACHE_CONTROL, "no-store")];

async fn route(
    State(state): State<AppState>,
    Path(site_key): Path<String>,
) -> ApiResult<([(HeaderName, &'static str); 2], Json<Route>)> {
    let site = state
        .store
        .site_by_key_any_tenant(&site_key)
        .await?
        .ok_or(ApiError::NotFound("no site has this key"))?;
    let path = routes::visitor_path(&site.key);
    let url = match state.hub.cluster() {
        Some(cluster) => socket_url(&cluster.route(&site.id).await?, &path),
        None => path,
    };
    Ok((ROUTE_HEADERS, Json(Route { url })))
}

/// `GET /route`: the routes table of a cluster, for a router in front of it (docs/rest.md).
async fn table(
    State(state): State<AppState>,
) -> ApiResult<([(HeaderName, &'static str); 2], Json<RoutesTable>)> {
    let cluster = state.hub.cluster().ok_or(ApiError::NotFound("this server is not part of a cluster"))?;
    Ok((ROUTE_HEADERS, Json(cluster.table().await?)))
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
    let endpoints = if let Some(cluster) = state.hub.cluster() {
        // On a cluster each site's room runs on one node: a socket per site, to that node.
        let mut endpoints = Vec::with_capacity(sites.len());
        for site in sites {
            let node = cluster.route(&site).await?;
            endpoints.push(Endpoint {
                url: socket_url(&node, &format!("/ws/agent?site={}", site.0)),
                sites: vec![site],
            });
        }
        endpoints
    } else if state.config.edge_secret.is_some() {
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
