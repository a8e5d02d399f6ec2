//! Agents: everyone sees their colleagues; owners and admins add, change and remove them. Admins
//! cannot touch owners or make anyone an owner, and nobody demotes, disables or deletes themselves.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_core::ids::{AgentId, SiteId};
use chat_core::protocol::Role;
use serde::Deserialize;

use super::auth::hash_blocking;
use super::check_length;
use crate::app::AppState;
use crate::auth::CurrentAgent;
use crate::clock::now;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::store::{Agent, AgentPatch, NewAgent};
use crate::validate;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agents", get(list).post(create))
        .route("/agents/{agent}", get(show).patch(update).delete(remove))
        .route("/agents/{agent}/password", post(set_password))
}

async fn list(State(state): State<AppState>, me: CurrentAgent) -> ApiResult<Json<Vec<Agent>>> {
    Ok(Json(state.store.list_agents(&me.tenant).await?))
}

#[derive(Deserialize)]
struct Create {
    email: String,
    name: String,
    password: String,
    #[serde(default = "agent_role")]
    role: Role,
    capacity: Option<u32>,
    /// The sites they serve; absent: every site, including later ones.
    sites: Option<Vec<SiteId>>,
}

fn agent_role() -> Role {
    Role::Agent
}

async fn create(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiJson(body): ApiJson<Create>,
) -> ApiResult<(StatusCode, Json<Agent>)> {
    me.require_manager()?;
    may_grant(&me, body.role)?;
    check_email(&body.email)?;
    check_length("name", &body.name, 1, 100)?;
    let capacity = check_capacity(body.capacity.unwrap_or(validate::DEFAULT_CAPACITY))?;
    let password_hash = hash_blocking(body.password).await?;
    let agent = NewAgent {
        email: body.email.trim().to_owned(),
        name: body.name.trim().to_owned(),
        role: body.role,
        capacity,
        all_sites: body.sites.is_none(),
        sites: body.sites.unwrap_or_default(),
        password_hash,
    };
    let agent = state.store.create_agent(&me.tenant, agent, now()).await?;
    crate::edge::tenant_changed(&state, &me.tenant);
    Ok((StatusCode::CREATED, Json(agent)))
}

async fn show(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<AgentId>,
) -> ApiResult<Json<Agent>> {
    state.store.agent(&me.tenant, &id).await?.map(Json).ok_or(ApiError::NotFound("no such agent"))
}

#[derive(Deserialize)]
struct Update {
    name: Option<String>,
    role: Option<Role>,
    capacity: Option<u32>,
    /// Only these sites.
    sites: Option<Vec<SiteId>>,
    /// `true`: every site, including later ones.
    all_sites: Option<bool>,
    disabled: Option<bool>,
}

async fn update(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<AgentId>,
    ApiJson(body): ApiJson<Update>,
) -> ApiResult<Json<Agent>> {
    me.require_manager()?;
    let target = managed(&state, &me, &id).await?;
    if let Some(role) = body.role {
        may_grant(&me, role)?;
    }
    let demotes_self = body.role.is_some_and(|role| role != target.role) || body.disabled == Some(true);
    if id == me.agent && demotes_self {
        return Err(ApiError::Invalid("you cannot change your own role or disable yourself".into()));
    }
    if let Some(name) = &body.name {
        check_length("name", name, 1, 100)?;
    }
    let patch = AgentPatch {
        name: body.name.map(|name| name.trim().to_owned()),
        // The same role again changes nothing (and ends no session).
        role: body.role.filter(|role| *role != target.role),
        capacity: body.capacity.map(check_capacity).transpose()?,
        all_sites: body.all_sites,
        sites: body.sites,
        disabled: body.disabled,
    };
    // A disabled agent, one with another role or other sites, connects again to get what is theirs.
    let revoke = patch.disabled == Some(true)
        || patch.role.is_some_and(|role| role != target.role)
        || patch.sites.is_some()
        || patch.all_sites.is_some();
    let agent = state.store.update_agent(&me.tenant, &id, patch).await?;
    if revoke {
        state.hub.revoke_agent(&id);
    }
    // Names and capacities too: the edge's rooms hold them.
    crate::edge::tenant_changed(&state, &me.tenant);
    agent.map(Json).ok_or(ApiError::NotFound("no such agent"))
}

#[derive(Deserialize)]
struct SetPassword {
    password: String,
}

/// Sets another agent's password (they forgot theirs); their sessions end.
async fn set_password(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<AgentId>,
    ApiJson(body): ApiJson<SetPassword>,
) -> ApiResult<StatusCode> {
    me.require_manager()?;
    managed(&state, &me, &id).await?;
    let hash = hash_blocking(body.password).await?;
    state.store.set_password(&me.tenant, &id, &hash).await?;
    state.hub.revoke_agent(&id);
    crate::edge::tenant_changed(&state, &me.tenant);
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(state): State<AppState>,
    me: CurrentAgent,
    ApiPath(id): ApiPath<AgentId>,
) -> ApiResult<StatusCode> {
    me.require_manager()?;
    managed(&state, &me, &id).await?;
    if id == me.agent {
        return Err(ApiError::Invalid("you cannot delete yourself".into()));
    }
    state.store.delete_agent(&me.tenant, &id).await?;
    state.hub.revoke_agent(&id);
    crate::edge::tenant_changed(&state, &me.tenant);
    Ok(StatusCode::NO_CONTENT)
}

/// The agent `id` of the tenant, if `me` may manage them (admins may not manage owners).
async fn managed(state: &AppState, me: &CurrentAgent, id: &AgentId) -> ApiResult<Agent> {
    let target = state.store.agent(&me.tenant, id).await?.ok_or(ApiError::NotFound("no such agent"))?;
    if target.role == Role::Owner && me.role != Role::Owner {
        return Err(ApiError::Forbidden("only owners may change owners".into()));
    }
    Ok(target)
}

fn may_grant(me: &CurrentAgent, role: Role) -> ApiResult<()> {
    if role == Role::Owner && me.role != Role::Owner {
        return Err(ApiError::Forbidden("only owners may make someone an owner".into()));
    }
    Ok(())
}

pub(super) fn check_email(email: &str) -> ApiResult<()> {
    validate::email(email).map_err(ApiError::Invalid)
}

fn check_capacity(capacity: u32) -> ApiResult<u32> {
    validate::capacity(capacity).map_err(ApiError::Invalid)
}
