//! Conversation lists and history, for the agents of the sites they belong to.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chat_core::ids::{ConversationId, Seq};
use chat_core::protocol::MessageView;
use serde::{Deserialize, Serialize};

use super::Page;
use crate::app::AppState;
use crate::auth::CurrentAgent;
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::store::{ConversationQuery, ConversationSummary, MessageRange, page_size};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversations", get(list))
        .route("/conversations/{conversation}", get(show))
        .route("/conversations/{conversation}/messages", get(messages))
}

async fn list(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiQuery(mut query): ApiQuery<ConversationQuery>,
) -> ApiResult<Json<Page<ConversationSummary>>> {
    query.sites = me.sites.clone();
    let limit = page_size(query.limit);
    let items = state.store.list_conversations(&me.tenant, &query).await?;
    Ok(Json(Page::new(items, limit, |c| c.conversation.id.0.clone())))
}

async fn show(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<Json<ConversationSummary>> {
    visible(&state, &me, &id).await.map(Json)
}

#[derive(Deserialize)]
struct MessagesQuery {
    #[serde(default)]
    after_seq: Seq,
    limit: Option<u32>,
}

#[derive(Serialize)]
struct MessagesPage {
    items: Vec<MessageView>,
    /// Pass as `after_seq` for the next page; absent on the last.
    next_after_seq: Option<Seq>,
}

/// Messages in `seq` order from `after_seq`, notes included.
async fn messages(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> ApiResult<Json<MessagesPage>> {
    let conversation = visible(&state, &me, &id).await?;
    let limit = page_size(query.limit);
    let range = MessageRange {
        conversation: id,
        after_seq: query.after_seq,
        through_seq: conversation.conversation.last_seq,
        limit,
        include_notes: true,
    };
    let items = state.store.messages(&me.tenant, &range).await?;
    let next_after_seq =
        items.last().map(|m| m.seq).filter(|last| items.len() >= limit as usize && *last < range.through_seq);
    Ok(Json(MessagesPage { items, next_after_seq }))
}

/// The conversation, if it is the tenant's and in a site the agent may see.
async fn visible(state: &AppState, me: &CurrentAgent, id: &ConversationId) -> ApiResult<ConversationSummary> {
    let sites = me.sites.clone();
    let found = state.store.conversation(&me.tenant, id).await?;
    found
        .filter(|c| sites.as_ref().is_none_or(|sites| sites.contains(&c.conversation.site)))
        .ok_or(ApiError::NotFound("no such conversation"))
}
