//! Login, refresh, logout, the agent's own account, and the public key that verifies tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_core::ids::TenantId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ClientIp;
use crate::app::AppState;
use crate::auth::sessions::{self, TokenPair, refresh_hash};
use crate::auth::{CurrentAgent, hashing, password};
use crate::clock::now;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::store::Agent;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/logout-everywhere", post(logout_everywhere))
        .route("/auth/public-key", get(public_key))
        .route("/me", get(me))
        .route("/me/password", post(change_password))
}

#[derive(Deserialize)]
struct Login {
    email: String,
    password: String,
    /// Which organisation, when the email and password open accounts in several.
    #[serde(default)]
    tenant: Option<TenantId>,
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult<Json<Value>> {
    if !state.ip_limits.allow_attempt(ip, now()) {
        return Err(ApiError::TooManyRequests("too many login attempts; wait a minute".into()));
    }
    // An email may have an account in several tenants: the password picks the one it opens.
    let found: Vec<(Agent, String)> = state
        .store
        .agents_by_email(body.email.trim())
        .await?
        .into_iter()
        .filter(|(agent, _)| body.tenant.as_ref().is_none_or(|tenant| *tenant == agent.tenant))
        .collect();
    if found.is_empty() {
        // As long as a wrong password takes: the answer tells nobody whether the email has an account.
        verify_blocking(None, body.password).await?;
        return Err(wrong_login());
    }
    let mut opened = Vec::new();
    for (agent, hash) in found {
        if verify_blocking(Some(hash), body.password.clone()).await? {
            opened.push(agent);
        }
    }
    if opened.len() > 1 {
        let mut tenants = Vec::with_capacity(opened.len());
        for agent in &opened {
            let name = state.store.tenant(&agent.tenant).await?.map(|tenant| tenant.name).unwrap_or_default();
            tenants.push((agent.tenant.clone(), name));
        }
        return Err(ApiError::ChooseTenant(tenants));
    }
    let Some(agent) = opened.pop() else { return Err(wrong_login()) };
    if agent.disabled {
        return Err(ApiError::Forbidden("the account is disabled".into()));
    }
    let pair = issue(&state, &agent).await?;
    Ok(Json(json!({ "tokens": pair, "agent": agent })))
}

fn wrong_login() -> ApiError {
    ApiError::Unauthorized("wrong email or password".into())
}

#[derive(Deserialize)]
struct Refresh {
    refresh_token: String,
}

async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Refresh>,
) -> ApiResult<Json<TokenPair>> {
    let invalid = || ApiError::Unauthorized("the refresh token is not valid; log in again".into());
    let token =
        state.store.take_refresh_token(&refresh_hash(&body.refresh_token)).await?.ok_or_else(invalid)?;
    if token.expires_at <= now() {
        return Err(invalid());
    }
    let agent =
        state.store.agent(&token.tenant, &token.agent).await?.filter(|a| !a.disabled).ok_or_else(invalid)?;
    Ok(Json(issue(&state, &agent).await?))
}

async fn logout(State(state): State<AppState>, ApiJson(body): ApiJson<Refresh>) -> ApiResult<StatusCode> {
    state.store.take_refresh_token(&refresh_hash(&body.refresh_token)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn public_key(State(state): State<AppState>) -> Json<Value> {
    Json(
        json!({ "algorithm": "Ed25519", "public_key": URL_SAFE_NO_PAD.encode(state.keys.verifying.as_bytes()) }),
    )
}

async fn me(State(state): State<AppState>, me: CurrentAgent) -> ApiResult<Json<Agent>> {
    let agent = state.store.agent(&me.tenant, &me.agent).await?;
    agent.map(Json).ok_or_else(|| ApiError::Unauthorized("the account no longer exists".into()))
}

#[derive(Deserialize)]
struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// Changes the agent's own password; every other session of theirs ends.
async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    me: CurrentAgent,
    ApiJson(body): ApiJson<ChangePassword>,
) -> ApiResult<Json<TokenPair>> {
    // Guessing the current password with a stolen access token is as limited as logging in.
    if !state.ip_limits.allow_attempt(ip, now()) {
        return Err(ApiError::TooManyRequests("too many attempts; wait a minute".into()));
    }
    let found = state.store.agent_with_hash(&me.tenant, &me.agent).await?;
    let (_, stored) = found.ok_or_else(|| ApiError::Unauthorized("the account no longer exists".into()))?;
    if !verify_blocking(Some(stored), body.current_password).await? {
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    let hash = hash_blocking(body.new_password).await?;
    state.store.set_password(&me.tenant, &me.agent, &hash).await?;
    // Every socket of theirs closes (4001) and comes back with the new token, of the new generation.
    state.hub.revoke_agent(&me.agent);
    crate::edge::tenant_changed(&state, &me.tenant);
    let agent = state.store.agent(&me.tenant, &me.agent).await?;
    let agent = agent.ok_or_else(|| ApiError::Unauthorized("the account no longer exists".into()))?;
    Ok(Json(issue(&state, &agent).await?))
}

/// Ends every session of the agent, this one too: every token issued so far is refused, every
/// socket closes.
async fn logout_everywhere(State(state): State<AppState>, me: CurrentAgent) -> ApiResult<StatusCode> {
    state.store.end_sessions(&me.tenant, &me.agent).await?;
    state.hub.revoke_agent(&me.agent);
    crate::edge::tenant_changed(&state, &me.tenant);
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn issue(state: &AppState, agent: &Agent) -> ApiResult<TokenPair> {
    let config = &state.config;
    let pair = sessions::issue(
        &*state.store,
        &state.keys,
        agent,
        config.access_token_ttl,
        config.refresh_token_ttl,
        now(),
    )
    .await?;
    Ok(pair)
}

/// argon2 runs on the hashing threads, off the async ones. Without a hash (no such account) it
/// checks against one nobody knows the password of, so the answer takes as long.
async fn verify_blocking(hash: Option<String>, candidate: String) -> ApiResult<bool> {
    hashing::run(move |memory| {
        let hash = hash.as_deref().unwrap_or_else(|| password::unknown_account_hash());
        password::verify_in(memory, hash, &candidate)
    })
    .await
    .map_err(busy)
}

/// Hashes a new password on the hashing threads; a bad length is the client's to fix.
pub(super) async fn hash_blocking(new_password: String) -> ApiResult<String> {
    hashing::run(move |memory| password::hash_in(memory, &new_password)).await.map_err(busy)?.map_err(
        |error| match error {
            password::PasswordError::Length => ApiError::Invalid(error.to_string()),
            password::PasswordError::Hash(_) => ApiError::Internal(error.into()),
        },
    )
}

fn busy(error: hashing::Busy) -> ApiError {
    ApiError::Busy(error.to_string())
}
