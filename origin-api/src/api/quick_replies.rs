//! Quick replies: shared ones (managed by owners and admins) and each agent's own.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::check_length;
use crate::app::AppState;
use crate::auth::CurrentAgent;
use crate::clock::now;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::store::{NewQuickReply, QuickReply, QuickReplyPatch};

const MAX_TITLE_CHARS: usize = 100;
const MAX_BODY_CHARS: usize = chat_core::limits::MAX_MESSAGE_CHARS;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/quick-replies", get(list).post(create))
        .route("/quick-replies/{id}", axum::routing::patch(update).delete(remove))
}

async fn list(State(state): State<AppState>, me: CurrentAgent) -> ApiResult<Json<Vec<QuickReply>>> {
    Ok(Json(state.store.list_quick_replies(&me.tenant, &me.agent).await?))
}

#[derive(Deserialize)]
struct Create {
    title: String,
    body: String,
    /// Shared with the whole tenant (owners and admins only); otherwise the agent's own.
    #[serde(default)]
    shared: bool,
}

async fn create(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiJson(body): ApiJson<Create>,
) -> ApiResult<(StatusCode, Json<QuickReply>)> {
    if body.shared {
        me.require_manager()?;
    }
    check_length("title", &body.title, 1, MAX_TITLE_CHARS)?;
    check_length("body", &body.body, 1, MAX_BODY_CHARS)?;
    let reply =
        NewQuickReply { agent: (!body.shared).then(|| me.agent.clone()), title: body.title, body: body.body };
    Ok((StatusCode::CREATED, Json(state.store.create_quick_reply(&me.tenant, reply, now()).await?)))
}

async fn update(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<QuickReplyPatch>,
) -> ApiResult<Json<QuickReply>> {
    editable(&state, &me, &id).await?;
    if let Some(title) = &patch.title {
        check_length("title", title, 1, MAX_TITLE_CHARS)?;
    }
    if let Some(body) = &patch.body {
        check_length("body", body, 1, MAX_BODY_CHARS)?;
    }
    let reply = state.store.update_quick_reply(&me.tenant, &id, patch).await?;
    reply.map(Json).ok_or(ApiError::NotFound("no such quick reply"))
}

async fn remove(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    editable(&state, &me, &id).await?;
    state.store.delete_quick_reply(&me.tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Own replies are the agent's to change; shared ones the managers'; another agent's own are not
/// even visible.
async fn editable(state: &AppState, me: &CurrentAgent, id: &str) -> ApiResult<()> {
    let reply = state.store.quick_reply(&me.tenant, id).await?;
    match reply.map(|reply| reply.agent) {
        Some(Some(owner)) if owner == me.agent => Ok(()),
        Some(None) => me.require_manager(),
        _ => Err(ApiError::NotFound("no such quick reply")),
    }
}
