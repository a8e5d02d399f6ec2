//! Who is asking: password hashing, the token signing key, sessions, and the request extractor.
//!
//! - [`password`] — argon2id hashes and the password rules.
//! - [`hashing`] — the threads hashes are computed on, and their queue.
//! - [`sessions`] — access + refresh token pairs.
//! - [`CurrentAgent`] — the extractor every agent route takes.
//! - [`CurrentVisitor`], [`Caller`] — routes a visitor's window calls with its visitor token.

pub mod hashing;
pub mod password;
pub mod sessions;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chat_core::ids::{AgentId, SiteId, TenantId};
use chat_core::protocol::Role;
use chat_core::token::{self, TokenError, VisitorClaims};
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::app::AppState;
use crate::clock::now;
use crate::config::Secret;
use crate::error::ApiError;
use crate::store::Store;

/// The Ed25519 key pair that signs agent access tokens and visitor tokens.
#[derive(Clone)]
pub struct Keys {
    signing: SigningKey,
    /// Verifies tokens; what an edge room is given.
    pub verifying: VerifyingKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("verifying", &self.verifying).finish_non_exhaustive()
    }
}

const SIGNING_KEY_NAME: &str = "token-signing-ed25519";

impl Keys {
    /// The configured key, or the one kept in the database (created on first start).
    pub async fn load(configured: Option<&Secret>, store: &dyn Store) -> anyhow::Result<Keys> {
        let seed = match configured {
            Some(secret) => chat_core::keys::seed(secret.expose())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "the signing key is not an Ed25519 key ({})",
                        chat_core::keys::KEY_FORMATS
                    )
                })?
                .to_vec(),
            None => {
                let mut fresh = [0u8; 32];
                getrandom::fill(&mut fresh).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
                store.init_server_key(SIGNING_KEY_NAME, &fresh, now()).await?
            }
        };
        let seed: [u8; 32] =
            seed.try_into().map_err(|_| anyhow::anyhow!("the signing key must be 32 bytes (base64)"))?;
        Ok(Keys::from_seed(seed))
    }

    /// Keys from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Keys {
        let signing = SigningKey::from_bytes(&seed);
        Keys { verifying: signing.verifying_key(), signing }
    }

    /// Signs tokens.
    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }
}

/// Why an unexpired access token is refused: it was issued before the agent's sessions ended.
pub const SESSION_ENDED: &str =
    "this session has ended (a new password, a new role or a log-out everywhere); log in again";

/// The agent making a request: the `Authorization: Bearer` access token names them, and the
/// account as stored now decides (a disabled, deleted or demoted agent loses their powers at once,
/// not when the token expires).
#[derive(Clone, Debug)]
pub struct CurrentAgent {
    /// Their tenant; every query of the request is scoped to it.
    pub tenant: TenantId,
    /// The agent.
    pub agent: AgentId,
    /// Their role now.
    pub role: Role,
    /// The sites they may see: `None` for all of the tenant's (managers, and agents of all sites).
    pub sites: Option<Vec<SiteId>>,
}

impl CurrentAgent {
    /// Refuses agents who are not owners or admins.
    pub fn require_manager(&self) -> Result<(), ApiError> {
        if self.role.can_manage() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("only owners and admins may do this".into()))
        }
    }
}

impl FromRequestParts<AppState> for CurrentAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(parts) else {
            return Err(ApiError::Unauthorized("send an access token: Authorization: Bearer <token>".into()));
        };
        current_agent(token, state).await
    }
}

/// The bearer token of a request.
fn bearer(parts: &Parts) -> Option<&str> {
    let header = parts.headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok());
    header.and_then(|value| value.strip_prefix("Bearer ")).map(str::trim)
}

/// The visitor whose chat window asks (`Authorization: Bearer <visitor token>`).
#[derive(Clone, Debug)]
pub struct CurrentVisitor(pub VisitorClaims);

impl FromRequestParts<AppState> for CurrentVisitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::Unauthorized("send the visitor token: Authorization: Bearer <token>".into())
        })?;
        let claims = verify_visitor(state, token)
            .map_err(|_| ApiError::Unauthorized("the visitor token is not valid".into()))?;
        Ok(CurrentVisitor(claims))
    }
}

/// A visitor or an agent: routes both may call (files).
#[derive(Clone, Debug)]
pub enum Caller {
    /// An agent, with their access token.
    Agent(CurrentAgent),
    /// A visitor, with their visitor token.
    Visitor(VisitorClaims),
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::Unauthorized("send a token: Authorization: Bearer <access or visitor token>".into())
        })?;
        match verify_visitor(state, token) {
            Ok(claims) => Ok(Caller::Visitor(claims)),
            Err(TokenError::WrongKind) => current_agent(token, state).await.map(Caller::Agent),
            Err(_) => Err(ApiError::Unauthorized("the token is not valid".into())),
        }
    }
}

/// A visitor token this server issued, or one the edge's rooms issued.
pub(crate) fn verify_visitor(state: &AppState, token: &str) -> Result<VisitorClaims, TokenError> {
    let own = token::verify_visitor(&state.keys.verifying, token);
    match (&own, &state.config.edge_visitor_key) {
        (Ok(_) | Err(TokenError::WrongKind), _) | (_, None) => own,
        (Err(_), Some(edge)) => token::verify_visitor(edge, token),
    }
}

async fn current_agent(token: &str, state: &AppState) -> Result<CurrentAgent, ApiError> {
    let claims = match token::verify_agent(&state.keys.verifying, token, now()) {
        Ok(claims) => claims,
        Err(TokenError::Expired) => {
            return Err(ApiError::Unauthorized("the access token has expired; refresh it".into()));
        }
        Err(_) => return Err(ApiError::Unauthorized("the access token is not valid".into())),
    };
    let agent = state.store.agent(&claims.tenant, &claims.agent).await?;
    let agent = agent.ok_or_else(|| ApiError::Unauthorized("the account no longer exists".into()))?;
    if agent.disabled {
        return Err(ApiError::Forbidden("the account is disabled".into()));
    }
    if claims.generation != agent.token_generation {
        return Err(ApiError::Unauthorized(SESSION_ENDED.into()));
    }
    let sites = (!agent.role.can_manage() && !agent.all_sites).then_some(agent.sites);
    Ok(CurrentAgent { tenant: agent.tenant, agent: agent.id, role: agent.role, sites })
}

impl CurrentAgent {
    /// Whether the agent may see `site`'s conversations and files.
    pub fn sees(&self, site: &SiteId) -> bool {
        self.sites.as_ref().is_none_or(|sites| sites.contains(site))
    }
}
