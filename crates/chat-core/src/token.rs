//! Signed tokens: `v1.<base64url(JSON claims)>.<base64url(Ed25519 signature)>`.
//!
//! The origin signs; anything holding the public key (an edge room, another node) verifies without a
//! round trip. Agent access tokens expire; visitor tokens bind a visitor to one site and do not.
//! Attachment tokens vouch for an uploaded file's details, so a message can carry them without the
//! room asking the file store (they do not expire either: an outbox may hold one for a while).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, Millis, SiteId, TenantId, VisitorId};
use crate::protocol::{AttachmentView, Role};

const PREFIX: &str = "v1.";

/// What an agent's access token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentClaims {
    /// The agent's tenant.
    pub tenant: TenantId,
    /// The agent.
    pub agent: AgentId,
    /// Their role when the token was issued.
    pub role: Role,
    /// Not valid at or after this time.
    pub exp: Millis,
    /// The agent's token generation when it was issued: a new password, role, disabling or "log
    /// out everywhere" start a new one, and a token of an older generation is refused.
    #[serde(default)]
    pub generation: u64,
}

/// What a visitor token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorClaims {
    /// The site's tenant.
    pub tenant: TenantId,
    /// The only site this token is good for.
    pub site: SiteId,
    /// The visitor.
    pub visitor: VisitorId,
}

/// What an attachment token says: this file was uploaded to this site by this visitor or agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentClaims {
    /// The site's tenant.
    pub tenant: TenantId,
    /// The site the file may be sent in.
    pub site: SiteId,
    /// The visitor's or agent's id: only they may send it.
    pub uploader: String,
    /// The file as the server found it.
    pub file: AttachmentView,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "typ", rename_all = "snake_case")]
enum Claims {
    Agent(AgentClaims),
    Visitor(VisitorClaims),
    Attachment(AttachmentClaims),
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of this format.
    #[error("the token is malformed")]
    Malformed,
    /// Not signed by this server's key, or altered.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// An agent token past its expiry.
    #[error("the token has expired")]
    Expired,
    /// A visitor token where an agent token belongs, or the other way round.
    #[error("the token is of the wrong kind")]
    WrongKind,
}

/// Signs an agent access token.
pub fn sign_agent(key: &SigningKey, claims: AgentClaims) -> String {
    sign(key, &Claims::Agent(claims))
}

/// Signs a visitor token.
pub fn sign_visitor(key: &SigningKey, claims: VisitorClaims) -> String {
    sign(key, &Claims::Visitor(claims))
}

/// Signs an attachment token.
pub fn sign_attachment(key: &SigningKey, claims: AttachmentClaims) -> String {
    sign(key, &Claims::Attachment(claims))
}

/// Checks an attachment token.
pub fn verify_attachment(key: &VerifyingKey, token: &str) -> Result<AttachmentClaims, TokenError> {
    match verify(key, token)? {
        Claims::Attachment(claims) => Ok(claims),
        _ => Err(TokenError::WrongKind),
    }
}

/// Checks an agent access token at time `now`.
pub fn verify_agent(key: &VerifyingKey, token: &str, now: Millis) -> Result<AgentClaims, TokenError> {
    match verify(key, token)? {
        Claims::Agent(claims) if now >= claims.exp => Err(TokenError::Expired),
        Claims::Agent(claims) => Ok(claims),
        _ => Err(TokenError::WrongKind),
    }
}

/// Checks a visitor token.
pub fn verify_visitor(key: &VerifyingKey, token: &str) -> Result<VisitorClaims, TokenError> {
    match verify(key, token)? {
        Claims::Visitor(claims) => Ok(claims),
        _ => Err(TokenError::WrongKind),
    }
}

fn sign(key: &SigningKey, claims: &Claims) -> String {
    // Claims hold strings and numbers only: serialising them cannot fail.
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let mut token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    token
}

/// The site a visitor token names, read without checking its signature: only for routing a
/// request to the place that checks it (the edge's Worker sends it to that site's room).
pub fn visitor_site_unchecked(token: &str) -> Option<crate::ids::SiteId> {
    let (signed, _) = token.rsplit_once('.')?;
    let json = URL_SAFE_NO_PAD.decode(signed.strip_prefix(PREFIX)?).ok()?;
    match serde_json::from_slice(&json).ok()? {
        Claims::Visitor(claims) => Some(claims.site),
        _ => None,
    }
}

fn verify(key: &VerifyingKey, token: &str) -> Result<Claims, TokenError> {
    let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let payload = signed.strip_prefix(PREFIX).ok_or(TokenError::Malformed)?;
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(TokenError::Malformed)?;
    key.verify_strict(signed.as_bytes(), &Signature::from_bytes(&signature))
        .map_err(|_| TokenError::BadSignature)?;
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32])
    }

    fn agent_claims(exp: u64) -> AgentClaims {
        AgentClaims {
            tenant: "t1".into(),
            agent: "a1".into(),
            role: Role::Agent,
            exp: Millis(exp),
            generation: 0,
        }
    }

    #[test]
    fn a_visitor_tokens_site_is_read_for_routing_and_nothing_else() {
        let claims = VisitorClaims { tenant: "t1".into(), site: "s1".into(), visitor: "v1".into() };
        let token = sign_visitor(&key(1), claims);
        assert_eq!(visitor_site_unchecked(&token), Some("s1".into()));
        assert_eq!(visitor_site_unchecked(&sign_agent(&key(1), agent_claims(1))), None);
        assert_eq!(visitor_site_unchecked("v1.garbage.sig"), None);
    }

    #[test]
    fn an_agent_token_verifies_until_it_expires() {
        let token = sign_agent(&key(1), agent_claims(1_000));
        let public = key(1).verifying_key();
        assert_eq!(verify_agent(&public, &token, Millis(999)), Ok(agent_claims(1_000)));
        assert_eq!(verify_agent(&public, &token, Millis(1_000)), Err(TokenError::Expired));
    }

    #[test]
    fn another_servers_key_or_an_altered_token_is_refused() {
        let token = sign_agent(&key(1), agent_claims(1_000));
        assert_eq!(verify_agent(&key(2).verifying_key(), &token, Millis(0)), Err(TokenError::BadSignature));

        // Re-encode the claims with a higher role but keep the old signature.
        let (_, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged_claims = URL_SAFE_NO_PAD
            .encode(br#"{"typ":"agent","tenant":"t1","agent":"a1","role":"owner","exp":1000}"#);
        let forged = format!("v1.{forged_claims}.{signature}");
        assert_eq!(verify_agent(&key(1).verifying_key(), &forged, Millis(0)), Err(TokenError::BadSignature));
    }

    #[test]
    fn tokens_of_the_wrong_kind_or_shape_are_refused() {
        let public = key(1).verifying_key();
        let visitor = sign_visitor(
            &key(1),
            VisitorClaims { tenant: "t1".into(), site: "s1".into(), visitor: "v1".into() },
        );
        assert_eq!(verify_agent(&public, &visitor, Millis(0)), Err(TokenError::WrongKind));
        assert_eq!(verify_attachment(&public, &visitor), Err(TokenError::WrongKind));
        assert!(verify_visitor(&public, &visitor).is_ok());
        let file = AttachmentView {
            id: "f1".into(),
            name: "a.png".into(),
            size: 3,
            content_type: "image/png".into(),
            width: Some(1),
            height: Some(1),
        };
        let claims = AttachmentClaims { tenant: "t1".into(), site: "s1".into(), uploader: "v1".into(), file };
        let attachment = sign_attachment(&key(1), claims.clone());
        assert_eq!(verify_attachment(&public, &attachment), Ok(claims));
        assert_eq!(verify_visitor(&public, &attachment), Err(TokenError::WrongKind));
        for junk in ["", "v1.", "v1..", "v2.abc.def", "v1.abc.!!!", "not a token"] {
            assert_eq!(verify_visitor(&public, junk), Err(TokenError::Malformed), "{junk:?}");
        }
    }
}
