//! Sites: everyone sees the sites they serve; owners and admins create, change and delete them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chat_core::ids::SiteId;

use super::check_length;
use crate::app::AppState;
use crate::auth::CurrentAgent;
use crate::clock::now;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::store::{NewSite, Site, SitePatch};

const DEFAULT_GREETING: &str = "Hi! How can we help you today?";
const MAX_NAME_CHARS: usize = 100;
const MAX_GREETING_CHARS: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sites", get(list).post(create))
        .route("/sites/{site}", get(show).patch(update).delete(remove))
}

async fn list(State(state): State<AppState>, me: CurrentAgent) -> ApiResult<Json<Vec<Site>>> {
    let sites = state.store.list_sites(&me.tenant).await?;
    let visible = me.sites.clone();
    Ok(Json(sites.into_iter().filter(|site| visible.as_ref().is_none_or(|v| v.contains(&site.id))).collect()))
}

async fn create(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiJson(mut body): ApiJson<NewSite>,
) -> ApiResult<(StatusCode, Json<Site>)> {
    me.require_manager()?;
    check_length("name", &body.name, 1, MAX_NAME_CHARS)?;
    check_length("greeting", &body.greeting, 0, MAX_GREETING_CHARS)?;
    check_origins(&body.allowed_origins)?;
    if body.greeting.trim().is_empty() {
        body.greeting = DEFAULT_GREETING.to_owned();
    }
    let site = state.store.create_site(&me.tenant, body, now()).await?;
    Ok((StatusCode::CREATED, Json(site)))
}

async fn show(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<SiteId>,
) -> ApiResult<Json<Site>> {
    let visible = me.sites.clone();
    let site = state.store.site(&me.tenant, &id).await?.filter(|_| visible.is_none_or(|v| v.contains(&id)));
    site.map(Json).ok_or(ApiError::NotFound("no such site"))
}

async fn update(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<SiteId>,
    ApiJson(patch): ApiJson<SitePatch>,
) -> ApiResult<Json<Site>> {
    me.require_manager()?;
    if let Some(name) = &patch.name {
        check_length("name", name, 1, MAX_NAME_CHARS)?;
    }
    if let Some(greeting) = &patch.greeting {
        check_length("greeting", greeting, 1, MAX_GREETING_CHARS)?;
    }
    if let Some(origins) = &patch.allowed_origins {
        check_origins(origins)?;
    }
    let site =
        state.store.update_site(&me.tenant, &id, patch).await?.ok_or(ApiError::NotFound("no such site"))?;
    state.hub.site_changed(&site);
    Ok(Json(site))
}

async fn remove(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<SiteId>,
) -> ApiResult<StatusCode> {
    me.require_manager()?;
    if state.store.delete_site(&me.tenant, &id).await? {
        state.hub.site_deleted(&id);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no such site"))
    }
}

fn check_origins(origins: &[String]) -> ApiResult<()> {
    crate::validate::origins(origins).map_err(ApiError::Invalid)
}
