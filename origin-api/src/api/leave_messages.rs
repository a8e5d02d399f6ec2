//! Leave-a-message: visitors leave one when nobody is online (a public route, keyed by the site's
//! public key); agents list them and mark them handled.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::agents::check_email;
use super::{ClientIp, Page, check_length, page_limit};
use crate::app::AppState;
use crate::auth::CurrentAgent;
use crate::clock::now;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::store::{LeaveMessage, LeaveMessageQuery, NewLeaveMessage};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/leave-messages", post(create))
        .route("/leave-messages", get(list))
        .route("/leave-messages/{id}/handled", post(mark_handled))
}

#[derive(Deserialize)]
struct Create {
    site_key: String,
    visitor_token: Option<String>,
    #[serde(default)]
    name: String,
    email: String,
    body: String,
    #[serde(default)]
    page_url: String,
}

#[derive(serde::Serialize)]
struct Created {
    id: String,
}

async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Create>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    if !state.ip_limits.allow_attempt(ip, now()) {
        return Err(ApiError::TooManyRequests("too many messages from this address; try again later".into()));
    }
    let site = state
        .store
        .site_by_key_any_tenant(&body.site_key)
        .await?
        .ok_or(ApiError::NotFound("no site has this key"))?;
    let visitor = match &body.visitor_token {
        Some(token) => {
            let claims = crate::auth::verify_visitor(&state, token)
                .ok()
                .filter(|claims| claims.site == site.id)
                .ok_or_else(|| {
                    ApiError::Unauthorized("the visitor token is not valid for this site".into())
                })?;
            Some(claims.visitor)
        }
        None => None,
    };
    check_length("name", &body.name, 0, 100)?;
    check_email(&body.email)?;
    check_length("body", &body.body, 1, chat_core::limits::MAX_MESSAGE_CHARS)?;
    check_length("page_url", &body.page_url, 0, chat_core::limits::MAX_URL_CHARS)?;
    let message = NewLeaveMessage {
        site: site.id,
        visitor,
        name: body.name.trim().to_owned(),
        email: body.email.trim().to_owned(),
        body: body.body,
        page_url: body.page_url,
    };
    let stored = state.store.create_leave_message(&site.tenant, message, now()).await?;
    Ok((StatusCode::CREATED, Json(Created { id: stored.id })))
}

async fn list(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiQuery(mut query): ApiQuery<LeaveMessageQuery>,
) -> ApiResult<Json<Page<LeaveMessage>>> {
    query.sites = me.sites.clone();
    let limit = page_limit(query.limit)?;
    let items = state.store.list_leave_messages(&me.tenant, &query).await?;
    Ok(Json(Page::new(items, limit, |m| m.id.clone())))
}

async fn mark_handled(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<LeaveMessage>> {
    let sites = me.sites.clone();
    // An agent of other sites may neither handle this one nor learn that it exists.
    let message = state.store.leave_message(&me.tenant, &id).await?;
    if !message.is_some_and(|m| sites.as_ref().is_none_or(|sites| sites.contains(&m.site))) {
        return Err(ApiError::NotFound("no such message"));
    }
    let handled = state.store.mark_leave_message_handled(&me.tenant, &id, &me.agent, now()).await?;
    handled.map(Json).ok_or(ApiError::NotFound("no such message"))
}
