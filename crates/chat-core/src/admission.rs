//! What every driver of a room (the self-hosted server, the edge's room objects) checks before a
//! socket joins, and when an agent's socket brings a fresh token, so that both answer alike.

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::ids::{AgentId, Millis, SiteId, TenantId, VisitorId};
use crate::protocol::{AttachmentView, ErrorCode, HelloRefused, close};
use crate::token::{self, AgentClaims, TokenError, VisitorClaims};

/// Whether `origin` is Kefu's own, where its chat page (`/chat/{site_key}`) is: the `host` the
/// socket was opened on, under either scheme. That page is at home on every site.
pub fn is_own_origin(origin: &str, host: Option<&str>) -> bool {
    let origin_host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    origin_host.is_some_and(|origin_host| host == Some(origin_host))
}

/// Whether a page on `origin` may embed the site's chat. Browsers always send the page's origin;
/// other clients send none and are not embedding, so they pass.
pub fn check_origin(allowed: &[String], origin: Option<&str>) -> Result<(), HelloRefused> {
    match origin {
        Some(origin) if !allowed.is_empty() && !allowed.iter().any(|allowed| allowed == origin) => {
            let message = "this site's chat may not be embedded on this origin";
            Err(HelloRefused::new(ErrorCode::Forbidden, message, close::FORBIDDEN))
        }
        _ => Ok(()),
    }
}

/// Who a visitor is: the one their token names (signed with `key`, for this site), or a new
/// visitor `fresh` names, with a new token.
pub fn visitor_identity(
    key: (&SigningKey, &VerifyingKey),
    token: Option<&str>,
    (tenant, site): (&TenantId, &SiteId),
    fresh: impl FnOnce() -> VisitorId,
) -> Result<(VisitorId, String), HelloRefused> {
    let (signing, verifying) = key;
    let Some(token) = token else {
        let visitor = fresh();
        let claims = VisitorClaims { tenant: tenant.clone(), site: site.clone(), visitor: visitor.clone() };
        return Ok((visitor, token::sign_visitor(signing, claims)));
    };
    let claims = token::verify_visitor(verifying, token).map_err(|_| {
        let message = "the visitor token is not valid; connect without one to start afresh";
        HelloRefused::new(ErrorCode::Unauthorized, message, close::UNAUTHORIZED)
    })?;
    if claims.site != *site {
        let message = "the visitor token belongs to another site";
        return Err(HelloRefused::new(ErrorCode::Unauthorized, message, close::UNAUTHORIZED));
    }
    Ok((claims.visitor, token.to_owned()))
}

/// The claims of an agent's hello token: expired tokens are told to refresh, others are refused.
pub fn agent_claims(
    key: &VerifyingKey,
    access_token: &str,
    now: Millis,
) -> Result<AgentClaims, HelloRefused> {
    token::verify_agent(key, access_token, now).map_err(|error| match error {
        TokenError::Expired => HelloRefused::new(
            ErrorCode::TokenExpired,
            "the access token has expired; refresh it",
            close::UNAUTHORIZED,
        ),
        _ => HelloRefused::new(ErrorCode::Unauthorized, "the access token is not valid", close::UNAUTHORIZED),
    })
}

/// The session an agent's socket was opened in: whose, and of which token generation.
#[derive(Clone, Copy, Debug)]
pub struct AgentSession<'a> {
    pub tenant: &'a TenantId,
    pub agent: &'a AgentId,
    pub generation: u64,
}

/// A `refresh` frame's token: the same agent's, of the generation the socket was opened in. The
/// claims carry the socket on until they expire; anything else is answered with an error of this
/// code and message (the socket stays as it was).
pub fn refresh(
    key: &VerifyingKey,
    access_token: &str,
    now: Millis,
    session: AgentSession<'_>,
) -> Result<AgentClaims, (ErrorCode, &'static str)> {
    match token::verify_agent(key, access_token, now) {
        Ok(claims)
            if claims.agent == *session.agent
                && claims.tenant == *session.tenant
                && claims.generation == session.generation =>
        {
            Ok(claims)
        }
        Ok(_) => Err((ErrorCode::Unauthorized, "that token is not for this session; log in again")),
        Err(TokenError::Expired) => Err((ErrorCode::TokenExpired, "that token has expired already")),
        Err(_) => Err((ErrorCode::Unauthorized, "the access token is not valid")),
    }
}

/// The file a `send` carries, from its attachment token (signed with `key`): uploaded to this site
/// of this tenant by this sender. Anything else is refused with what to do.
pub fn attachment(
    key: &VerifyingKey,
    token: Option<&str>,
    (tenant, site, uploader): (&TenantId, &SiteId, &str),
) -> Result<Option<AttachmentView>, &'static str> {
    let Some(token) = token else { return Ok(None) };
    match token::verify_attachment(key, token) {
        Ok(claims) if claims.tenant == *tenant && claims.site == *site && claims.uploader == uploader => {
            Ok(Some(claims.file))
        }
        _ => Err("the attachment is not valid here; upload the file again"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (SigningKey, VerifyingKey) {
        let signing = SigningKey::from_bytes(&[3; 32]);
        let verifying = signing.verifying_key();
        (signing, verifying)
    }

    fn ids() -> (TenantId, SiteId, AgentId) {
        (TenantId::from("t_1"), SiteId::from("s_1"), AgentId::from("a_1"))
    }

    #[test]
    fn origins_are_checked_only_when_the_site_names_some_and_a_browser_sends_one() {
        let allowed = vec!["https://shop.example".to_owned()];
        assert!(check_origin(&allowed, Some("https://shop.example")).is_ok());
        assert!(check_origin(&allowed, None).is_ok());
        assert!(check_origin(&[], Some("https://elsewhere.example")).is_ok());
        let refused = check_origin(&allowed, Some("https://elsewhere.example")).unwrap_err();
        assert_eq!((refused.code, refused.close), (ErrorCode::Forbidden, close::FORBIDDEN));
        assert!(is_own_origin("https://chat.example", Some("chat.example")));
        assert!(is_own_origin("http://127.0.0.1:8787", Some("127.0.0.1:8787")));
        assert!(!is_own_origin("https://chat.example.evil", Some("chat.example")));
        assert!(!is_own_origin("https://chat.example", None));
    }

    #[test]
    fn a_visitor_keeps_their_token_on_its_site_only() {
        let (signing, verifying) = keys();
        let (tenant, site, _) = ids();
        let (visitor, token) =
            visitor_identity((&signing, &verifying), None, (&tenant, &site), || VisitorId::from("v_1"))
                .unwrap();
        assert_eq!(visitor, VisitorId::from("v_1"));
        let fresh = || panic!("a returning visitor is not new");
        let again = visitor_identity((&signing, &verifying), Some(&token), (&tenant, &site), fresh).unwrap();
        assert_eq!(again, (visitor, token.clone()));

        let other = SiteId::from("s_2");
        let fresh = || VisitorId::from("v_2");
        let refused =
            visitor_identity((&signing, &verifying), Some(&token), (&tenant, &other), fresh).unwrap_err();
        assert_eq!((refused.code, refused.close), (ErrorCode::Unauthorized, close::UNAUTHORIZED));
        let fresh = || VisitorId::from("v_3");
        let refused =
            visitor_identity((&signing, &verifying), Some("v1.x.y"), (&tenant, &site), fresh).unwrap_err();
        assert_eq!(refused.code, ErrorCode::Unauthorized);
    }

    #[test]
    fn agent_tokens_expire_into_refresh_and_refreshes_keep_the_session() {
        let (signing, verifying) = keys();
        let (tenant, _, agent) = ids();
        let sign = |exp: u64, generation: u64, agent: &AgentId| {
            let claims = AgentClaims {
                tenant: tenant.clone(),
                agent: agent.clone(),
                role: crate::protocol::Role::Agent,
                exp: Millis(exp),
                generation,
            };
            token::sign_agent(&signing, claims)
        };
        let now = Millis(1_000);
        assert_eq!(agent_claims(&verifying, &sign(2_000, 4, &agent), now).unwrap().generation, 4);
        assert_eq!(
            agent_claims(&verifying, &sign(500, 4, &agent), now).unwrap_err().code,
            ErrorCode::TokenExpired
        );
        assert_eq!(agent_claims(&verifying, "nonsense", now).unwrap_err().code, ErrorCode::Unauthorized);

        let session = AgentSession { tenant: &tenant, agent: &agent, generation: 4 };
        assert_eq!(refresh(&verifying, &sign(9_000, 4, &agent), now, session).unwrap().exp, Millis(9_000));
        let code = |result: Result<AgentClaims, (ErrorCode, &str)>| result.err().map(|(code, _)| code);
        assert_eq!(
            code(refresh(&verifying, &sign(9_000, 5, &agent), now, session)),
            Some(ErrorCode::Unauthorized)
        );
        let someone_else = AgentId::from("a_2");
        assert_eq!(
            code(refresh(&verifying, &sign(9_000, 4, &someone_else), now, session)),
            Some(ErrorCode::Unauthorized)
        );
        assert_eq!(
            code(refresh(&verifying, &sign(500, 4, &agent), now, session)),
            Some(ErrorCode::TokenExpired)
        );
    }
}
