//! Sites: everyone sees the sites they serve; owners and admins create, change and delete them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_core::identity::IdentitySecret;
use chat_core::ids::SiteId;
use serde::Serialize;

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
        .route("/sites/{site}/identity-secret", post(new_identity_secret).delete(remove_identity_secret))
}

/// A site as the API shows it: never its identity secret, only whether it has one.
#[derive(Serialize)]
struct SiteView {
    #[serde(flatten)]
    site: Site,
    /// Identities the site's pages give are verified with its secret.
    identity_verification: bool,
}

impl From<Site> for SiteView {
    fn from(site: Site) -> Self {
        SiteView { identity_verification: site.identity_secret.is_some(), site }
    }
}

async fn list(State(state): State<AppState>, me: CurrentAgent) -> ApiResult<Json<Vec<SiteView>>> {
    let sites = state.store.list_sites(&me.tenant).await?;
    Ok(Json(sites.into_iter().filter(|site| me.sees(&site.id)).map(SiteView::from).collect()))
}

async fn create(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiJson(mut body): ApiJson<NewSite>,
) -> ApiResult<(StatusCode, Json<SiteView>)> {
    me.require_manager()?;
    check_length("name", &body.name, 1, MAX_NAME_CHARS)?;
    check_length("greeting", &body.greeting, 0, MAX_GREETING_CHARS)?;
    check_origins(&body.allowed_origins)?;
    check_widget(body.color.as_deref(), body.languages.as_deref())?;
    if body.greeting.trim().is_empty() {
        body.greeting = DEFAULT_GREETING.to_owned();
    }
    let site = state.store.create_site(&me.tenant, body, now()).await?;
    Ok((StatusCode::CREATED, Json(site.into())))
}

async fn show(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<SiteId>,
) -> ApiResult<Json<SiteView>> {
    let site = state.store.site(&me.tenant, &id).await?.filter(|_| me.sees(&id));
    site.map(|site| Json(site.into())).ok_or(ApiError::NotFound("no such site"))
}

async fn update(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<SiteId>,
    ApiJson(patch): ApiJson<SitePatch>,
) -> ApiResult<Json<SiteView>> {
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
    check_widget(patch.color.as_deref(), patch.languages.as_deref())?;
    let site =
        state.store.update_site(&me.tenant, &id, patch).await?.ok_or(ApiError::NotFound("no such site"))?;
    state.hub.site_changed(&site);
    crate::edge::tenant_changed(&state, &site.tenant);
    Ok(Json(site.into()))
}

#[derive(Serialize)]
struct NewSecret {
    /// Shown this once: the site's server keeps it to sign its visitors' ids.
    identity_secret: String,
}

/// Makes a new identity secret (replacing any other at once) and shows it this once.
async fn new_identity_secret(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<SiteId>,
) -> ApiResult<(StatusCode, Json<NewSecret>)> {
    me.require_manager()?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    let secret = IdentitySecret(URL_SAFE_NO_PAD.encode(bytes));
    set_identity_secret(&state, &me, &id, Some(&secret)).await?;
    Ok((StatusCode::CREATED, Json(NewSecret { identity_secret: secret.0 })))
}

/// Stops verifying identities: every identity is shown as unverified from now on.
async fn remove_identity_secret(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<SiteId>,
) -> ApiResult<StatusCode> {
    me.require_manager()?;
    set_identity_secret(&state, &me, &id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_identity_secret(
    state: &AppState,
    me: &CurrentAgent,
    id: &SiteId,
    secret: Option<&IdentitySecret>,
) -> ApiResult<()> {
    if !state.store.set_identity_secret(&me.tenant, id, secret).await? {
        return Err(ApiError::NotFound("no such site"));
    }
    if let Some(site) = state.store.site(&me.tenant, id).await? {
        state.hub.site_changed(&site);
        crate::edge::tenant_changed(state, &site.tenant);
    }
    Ok(())
}

async fn remove(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<SiteId>,
) -> ApiResult<StatusCode> {
    me.require_manager()?;
    if state.store.delete_site(&me.tenant, &id).await? {
        state.hub.site_deleted(&id);
        crate::edge::tenant_changed(&state, &me.tenant);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no such site"))
    }
}

fn check_origins(origins: &[String]) -> ApiResult<()> {
    crate::validate::origins(origins).map_err(ApiError::Invalid)
}

fn check_widget(color: Option<&str>, languages: Option<&[String]>) -> ApiResult<()> {
    if let Some(color) = color {
        crate::validate::color(color).map_err(ApiError::Invalid)?;
    }
    if let Some(languages) = languages {
        crate::validate::languages(languages).map_err(ApiError::Invalid)?;
    }
    Ok(())
}
