//! `/internal/v1/…`: what the edge asks the origin. Open only when `edge_secret` is set, and only
//! to requests signed with it (`chat_core::edge`): the Worker looks up site keys, a site's room
//! object fetches what it needs to host the site.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_core::edge::{self, RoomAgent, RoomSettings, SIGNATURE_HEADER, SiteKeyAnswer};
use chat_core::ids::{SiteId, TenantId};
use chat_core::records::WriteOp;
use serde::Deserialize;

use crate::app::AppState;
use crate::clock::now;
use crate::error::{ApiError, ApiResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/internal/v1/site-keys/{key}", get(site_key))
        .route("/internal/v1/sites/{site}/room", get(room))
        .route("/internal/v1/outbox", post(outbox))
        // A batch of the longest messages.
        .layer(DefaultBodyLimit::max(8 << 20))
}

/// The body of a request the edge signed. Whatever the edge did not sign is refused; everything,
/// when no edge is configured.
struct Signed(Bytes);

impl FromRequest<AppState> for Signed {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(secret) = &state.config.edge_secret else {
            return Err(ApiError::NotFound("no such route").into_response());
        };
        let (parts, body) = request.into_parts();
        let header = parts.headers.get(SIGNATURE_HEADER).and_then(|value| value.to_str().ok());
        let path = parts.uri.path_and_query().map_or(parts.uri.path(), |path| path.as_str());
        let (method, header, path) = (parts.method.to_string(), header.map(str::to_owned), path.to_owned());
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        edge::verify(secret.expose().as_bytes(), header.as_deref(), &method, &path, &body, now())
            .map_err(|error| ApiError::Unauthorized(error.to_string()).into_response())?;
        Ok(Signed(body))
    }
}

async fn site_key(
    State(state): State<AppState>,
    Path(key): Path<String>,
    _: Signed,
) -> ApiResult<Json<SiteKeyAnswer>> {
    let site = state.store.site_by_key_any_tenant(&key).await?;
    let site = site.ok_or_else(|| ApiError::NotFound("no site has this key"))?;
    Ok(Json(SiteKeyAnswer { page: crate::web::pages::page_site(&site, &state), site: site.id }))
}

async fn room(
    State(state): State<AppState>,
    Path(site): Path<SiteId>,
    _: Signed,
) -> ApiResult<Json<RoomSettings>> {
    let site = state.store.site_any_tenant(&site).await?;
    let site = site.ok_or_else(|| ApiError::NotFound("no such site"))?;
    let agents = state.store.list_agents(&site.tenant).await?;
    let agents = agents
        .into_iter()
        .filter(|agent| !agent.disabled && agent.serves(&site.id))
        .map(|agent| RoomAgent {
            capacity: agent.capacity,
            generation: agent.token_generation,
            id: agent.id,
            name: agent.name,
            role: agent.role,
        })
        .collect::<Vec<_>>();
    Ok(Json(RoomSettings {
        tenant: site.tenant,
        site: site.id,
        key: site.key,
        name: site.name,
        greeting: site.greeting,
        auto_assign: site.auto_assign,
        allowed_origins: site.allowed_origins,
        widget: site.widget,
        identity_secret: site.identity_secret.map(|secret| secret.0),
        agents,
        token_key: URL_SAFE_NO_PAD.encode(state.keys.verifying.as_bytes()),
    }))
}

/// A batch of a room object's writes, oldest first.
#[derive(Deserialize)]
struct Batch {
    site: SiteId,
    writes: Vec<WriteOp>,
}

/// Stores a room object's writes in one transaction. Messages already stored (by conversation and
/// `seq`) are skipped and conversations are upserts, so a batch sent again changes nothing.
async fn outbox(State(state): State<AppState>, Signed(body): Signed) -> ApiResult<Json<serde_json::Value>> {
    let batch: Batch = serde_json::from_slice(&body)
        .map_err(|error| ApiError::BadRequest(format!("not a batch of writes: {error}")))?;
    let site = state.store.site_any_tenant(&batch.site).await?;
    let site = site.ok_or_else(|| ApiError::NotFound("no such site"))?;
    // A room writes only its own site's records.
    let (tenant, site_id) = (&site.tenant, &site.id);
    let owned = |t: &TenantId, s: &SiteId| t == tenant && s == site_id;
    let foreign = batch.writes.iter().any(|write| match write {
        WriteOp::Conversation(record) => !owned(&record.tenant, &record.site),
        WriteOp::Message { tenant, message } => !owned(tenant, &message.site),
        WriteOp::PageView(view) => !owned(&view.tenant, &view.site),
    });
    if foreign {
        return Err(ApiError::Forbidden("a write of another site".into()));
    }
    state.store.apply_writes(&batch.writes).await?;
    Ok(Json(serde_json::json!({ "stored": batch.writes.len() })))
}
