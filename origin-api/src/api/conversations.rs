//! Conversation lists and history, for the agents of the sites they belong to; and a visitor's own
//! history, for their chat window.

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
use chat_core::ids::{ConversationId, Seq, TenantId};
use chat_core::protocol::MessageView;
use serde::{Deserialize, Serialize};

use super::{Page, page_limit};
use crate::app::AppState;
use crate::auth::{CurrentAgent, CurrentVisitor};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::store::{ConversationQuery, ConversationSummary, MessageRange};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversations", get(list))
        .route("/conversations/{conversation}", get(show))
        .route("/conversations/{conversation}/tags", put(set_tags))
        .route("/conversations/{conversation}/messages", get(messages))
        .route("/visitor/conversations/{conversation}/messages", get(visitor_messages))
}

async fn list(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiQuery(mut query): ApiQuery<ConversationQuery>,
) -> ApiResult<Json<Page<ConversationSummary>>> {
    query.sites = me.sites.clone();
    let limit = page_limit(query.limit)?;
    let items = state.store.list_conversations(&me.tenant, &query).await?;
    Ok(Json(Page::new(items, limit, |c| c.conversation.id.0.clone())))
}

/// Tags a conversation may have at most, and their length in characters.
const MAX_TAGS: usize = 10;
const MAX_TAG_CHARS: usize = 32;

#[derive(Deserialize)]
struct Tags {
    tags: Vec<String>,
}

/// Replaces a conversation's tags: trimmed, each once (whatever its case), in the order given.
async fn set_tags(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<Tags>,
) -> ApiResult<Json<ConversationSummary>> {
    let mut conversation = visible(&state, &me, &id).await?;
    let mut tags: Vec<String> = Vec::new();
    for tag in body.tags.iter().map(|tag| tag.trim()) {
        super::check_length("tag", tag, 1, MAX_TAG_CHARS)?;
        if !tags.iter().any(|kept| kept.to_lowercase() == tag.to_lowercase()) {
            tags.push(tag.to_owned());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::Invalid(format!("a conversation has at most {MAX_TAGS} tags")));
    }
    if !state.store.set_tags(&me.tenant, &id, &tags).await? {
        return Err(ApiError::NotFound("no such conversation"));
    }
    conversation.tags = tags;
    Ok(Json(conversation))
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
    page(&state, &me.tenant, &conversation, &query, true).await.map(Json)
}

/// A visitor's own conversation, in `seq` order from `after_seq`, without agents' notes. Any other
/// conversation, of another visitor or site, is not found.
async fn visitor_messages(
    State(state): State<AppState>,
    CurrentVisitor(visitor): CurrentVisitor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> ApiResult<Json<MessagesPage>> {
    let found = state.store.conversation(&visitor.tenant, &id).await?;
    let conversation = found
        .filter(|c| c.conversation.visitor == visitor.visitor && c.conversation.site == visitor.site)
        .ok_or(ApiError::NotFound("no such conversation"))?;
    page(&state, &visitor.tenant, &conversation, &query, false).await.map(Json)
}

async fn page(
    state: &AppState,
    tenant: &TenantId,
    conversation: &ConversationSummary,
    query: &MessagesQuery,
    include_notes: bool,
) -> ApiResult<MessagesPage> {
    let limit = page_limit(query.limit)?;
    let range = MessageRange {
        conversation: conversation.conversation.id.clone(),
        after_seq: query.after_seq,
        through_seq: conversation.conversation.last_seq,
        limit,
        include_notes,
    };
    let items = state.store.messages(tenant, &range).await?;
    let next_after_seq =
        items.last().map(|m| m.seq).filter(|last| items.len() >= limit as usize && *last < range.through_seq);
    Ok(MessagesPage { items, next_after_seq })
}

/// The conversation, if it is the tenant's and in a site the agent may see.
async fn visible(state: &AppState, me: &CurrentAgent, id: &ConversationId) -> ApiResult<ConversationSummary> {
    let sites = me.sites.clone();
    let found = state.store.conversation(&me.tenant, id).await?;
    found
        .filter(|c| sites.as_ref().is_none_or(|sites| sites.contains(&c.conversation.site)))
        .ok_or(ApiError::NotFound("no such conversation"))
}
