//! What the edge (the Worker and the room objects) and the origin say to each other.
//!
//! Requests between them are signed with a secret both hold: HMAC-SHA256 over the method, the path
//! with its query, the time and the body, sent as `x-kefu-signature: t=<ms>,s=<hex>`. The origin
//! refuses a request signed more than [`MAX_SKEW_MS`] from its own time, so a captured request
//! cannot be replayed later. Both sides use this module, so they cannot drift apart.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::ids::{AgentId, Millis, SiteId, TenantId};
use crate::protocol::{Role, WidgetView};

/// The header a signature travels in.
pub const SIGNATURE_HEADER: &str = "x-kefu-signature";

/// How far a request's time may be from the receiver's.
pub const MAX_SKEW_MS: u64 = 5 * 60 * 1000;

/// Why a signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header, or not `t=…,s=…`.
    #[error("the request is not signed")]
    Missing,
    /// Signed too long ago, or in the future.
    #[error("the request's signature is too old or too new")]
    Stale,
    /// Not signed with this secret, or changed since.
    #[error("the request's signature does not match")]
    Mismatch,
}

/// The header value for a request: `t=<at>,s=<hex>`.
pub fn sign(secret: &[u8], method: &str, path: &str, at: Millis, body: &[u8]) -> String {
    format!("t={},s={}", at.0, hex(&mac(secret, method, path, at, body)))
}

/// Checks a request's header value against the secret, at `now`.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    method: &str,
    path: &str,
    body: &[u8],
    now: Millis,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let (at, signature) = header
        .split_once(',')
        .and_then(|(t, s)| Some((t.strip_prefix("t=")?.parse::<u64>().ok()?, s.strip_prefix("s=")?)))
        .ok_or(SignatureError::Missing)?;
    if at.abs_diff(now.0) > MAX_SKEW_MS {
        return Err(SignatureError::Stale);
    }
    let bytes = unhex(signature).ok_or(SignatureError::Mismatch)?;
    let mut check = keyed(secret);
    feed(&mut check, method, path, Millis(at), body);
    check.verify_slice(&bytes).map_err(|_| SignatureError::Mismatch)
}

type HmacSha256 = Hmac<Sha256>;

fn keyed(secret: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    #[allow(clippy::expect_used)]
    HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length")
}

fn feed(mac: &mut HmacSha256, method: &str, path: &str, at: Millis, body: &[u8]) {
    for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", at.0.to_string().as_bytes(), b"\n"] {
        mac.update(part);
    }
    mac.update(body);
}

fn mac(secret: &[u8], method: &str, path: &str, at: Millis, body: &[u8]) -> Vec<u8> {
    let mut mac = keyed(secret);
    feed(&mut mac, method, path, at, body);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Which site a public site key names (`GET /internal/v1/site-keys/{key}`), for the Worker to
/// route a visitor's socket to the site's object and to write the site's chat window page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteKeyAnswer {
    /// The site.
    pub site: SiteId,
    /// What its chat window's page shows.
    pub page: crate::chat_page::PageSite,
}

/// Everything a site's room object needs to host it (`GET /internal/v1/sites/{site}/room`):
/// fetched once, and again when the origin says it changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    /// The site's tenant.
    pub tenant: TenantId,
    /// The site.
    pub site: SiteId,
    /// Its public key (the snippet's).
    pub key: String,
    /// Shown to visitors.
    pub name: String,
    /// Shown to visitors before their first message.
    pub greeting: String,
    /// Round-robin assignment.
    pub auto_assign: bool,
    /// Origins allowed to embed the chat; empty: any.
    pub allowed_origins: Vec<String>,
    /// How the widget looks.
    pub widget: WidgetView,
    /// The secret identities are verified with.
    pub identity_secret: Option<String>,
    /// The agents who serve the site (owners and admins serve every site).
    pub agents: Vec<RoomAgent>,
    /// The origin's Ed25519 public key agents' access tokens are verified with (base64url).
    pub token_key: String,
}

/// An agent who serves a site, as its room object knows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomAgent {
    /// The agent.
    pub id: AgentId,
    /// Their display name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// How many open conversations round-robin gives them.
    pub capacity: u32,
    /// Their token generation: a token of an older one is refused.
    pub generation: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a secret only the edge and the origin hold";

    #[test]
    fn a_signed_request_verifies_and_any_change_to_it_does_not() {
        let at = Millis(1_800_000_000_000);
        let header = sign(SECRET, "POST", "/internal/v1/outbox", at, b"{\"a\":1}");
        assert_eq!(verify(SECRET, Some(&header), "POST", "/internal/v1/outbox", b"{\"a\":1}", at), Ok(()));
        let refused =
            |method, path, body: &[u8], secret: &[u8]| verify(secret, Some(&header), method, path, body, at);
        assert_eq!(
            refused("GET", "/internal/v1/outbox", b"{\"a\":1}", SECRET),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            refused("POST", "/internal/v1/outboy", b"{\"a\":1}", SECRET),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            refused("POST", "/internal/v1/outbox", b"{\"a\":2}", SECRET),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            refused("POST", "/internal/v1/outbox", b"{\"a\":1}", b"another"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_old_or_garbled_signature_is_refused() {
        let at = Millis(1_800_000_000_000);
        let header = sign(SECRET, "GET", "/x", at, b"");
        let later = Millis(at.0 + MAX_SKEW_MS + 1);
        assert_eq!(verify(SECRET, Some(&header), "GET", "/x", b"", later), Err(SignatureError::Stale));
        assert_eq!(verify(SECRET, None, "GET", "/x", b"", at), Err(SignatureError::Missing));
        assert_eq!(verify(SECRET, Some("t=1"), "GET", "/x", b"", at), Err(SignatureError::Missing));
        let garbled = format!("t={},s=zz", at.0);
        assert_eq!(verify(SECRET, Some(&garbled), "GET", "/x", b"", at), Err(SignatureError::Mismatch));
    }
}
