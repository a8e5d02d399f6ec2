//! Sessions: a short-lived signed access token plus a refresh token that is stored (hashed), used
//! once, and replaced on every refresh.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_core::ids::Millis;
use chat_core::token::{self, AgentClaims};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Keys;
use crate::store::{Agent, RefreshToken, Store, StoreError, StoreResult};

/// What login and refresh return.
#[derive(Debug, Serialize)]
pub struct TokenPair {
    /// Send as `Authorization: Bearer` and in the agent hello.
    pub access_token: String,
    /// Seconds the access token is valid.
    pub expires_in: u64,
    /// Trade for a new pair at `/api/v1/auth/refresh`; valid once.
    pub refresh_token: String,
}

/// Issues a new pair for `agent` and stores the refresh token.
pub async fn issue(
    store: &dyn Store,
    keys: &Keys,
    agent: &Agent,
    access_ttl: Duration,
    refresh_ttl: Duration,
    now: Millis,
) -> StoreResult<TokenPair> {
    let claims = AgentClaims {
        tenant: agent.tenant.clone(),
        agent: agent.id.clone(),
        role: agent.role,
        exp: now.plus(duration_ms(access_ttl)),
        generation: agent.token_generation,
    };
    let access_token = token::sign_agent(keys.signing(), claims);
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| StoreError::Unavailable(format!("no randomness: {e}")))?;
    let refresh_token = URL_SAFE_NO_PAD.encode(secret);
    store
        .save_refresh_token(
            RefreshToken {
                hash: refresh_hash(&refresh_token),
                tenant: agent.tenant.clone(),
                agent: agent.id.clone(),
                expires_at: now.plus(duration_ms(refresh_ttl)),
            },
            now,
        )
        .await?;
    Ok(TokenPair { access_token, expires_in: access_ttl.as_secs(), refresh_token })
}

/// How refresh tokens are stored: a leaked table does not leak sessions.
pub fn refresh_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
