//! Identity verification: a site vouches for a visitor's identity (`Kefu('identify', …)`) with
//! HMAC-SHA256 of the visitor's id, keyed with a secret only the site's server and Kefu know.
//! Without the secret anyone can claim any id, so agents see whether the proof held.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::protocol::{IdentityView, VisitorIdentity};

/// Longest external id, in characters. Longer: `bad_frame`.
pub const MAX_IDENTITY_ID_CHARS: usize = 200;
/// Longest name, in characters. Longer: `bad_frame`.
pub const MAX_IDENTITY_NAME_CHARS: usize = 100;
/// Longest email, in characters. Longer: `bad_frame`.
pub const MAX_IDENTITY_EMAIL_CHARS: usize = 254;

/// A site's identity secret. It never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentitySecret(pub String);

impl fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentitySecret(***)")
    }
}

/// The proof a site's server computes for `id`: lower-case hex of HMAC-SHA256(secret, id).
pub fn proof(secret: &IdentitySecret, id: &str) -> String {
    let mut mac = mac(secret);
    mac.update(id.as_bytes());
    mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Checks an identity's lengths, then whether its hash proves it with `secret` (never, without one).
pub fn check(identity: VisitorIdentity, secret: Option<&IdentitySecret>) -> Result<IdentityView, String> {
    let chars = |text: &str| text.chars().count();
    if identity.id.trim().is_empty() || chars(&identity.id) > MAX_IDENTITY_ID_CHARS {
        return Err(format!("an identity's id has 1 to {MAX_IDENTITY_ID_CHARS} characters"));
    }
    if chars(&identity.name) > MAX_IDENTITY_NAME_CHARS {
        return Err(format!("an identity's name has at most {MAX_IDENTITY_NAME_CHARS} characters"));
    }
    if chars(&identity.email) > MAX_IDENTITY_EMAIL_CHARS {
        return Err(format!("an identity's email has at most {MAX_IDENTITY_EMAIL_CHARS} characters"));
    }
    let verified = secret.is_some_and(|secret| {
        let mut mac = mac(secret);
        mac.update(identity.id.as_bytes());
        // Compared in constant time: timing must not reveal how much of a forged hash was right.
        decode_hex(identity.hash.trim()).is_some_and(|hash| mac.verify_slice(&hash).is_ok())
    });
    Ok(IdentityView { id: identity.id, name: identity.name, email: identity.email, verified })
}

fn mac(secret: &IdentitySecret) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this cannot fail.
    Hmac::<Sha256>::new_from_slice(secret.0.as_bytes()).unwrap_or_else(|_| unreachable!())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(id: &str, hash: &str) -> VisitorIdentity {
        VisitorIdentity {
            id: id.into(),
            name: "Ana".into(),
            email: "ana@shop.example".into(),
            hash: hash.into(),
        }
    }

    #[test]
    fn a_hash_made_with_the_secret_verifies_and_anything_else_does_not() {
        let secret = IdentitySecret("s3cret".into());
        // What Python's hmac module (and any other HMAC-SHA256) gives for "s3cret", "user-42".
        let good = proof(&secret, "user-42");
        assert_eq!(good, "1136c48073bd2ba64f2a18895ff27ecfa11e24ccd2d86972ace148983668a992");
        assert!(check(identity("user-42", &good), Some(&secret)).unwrap().verified);
        assert!(check(identity("user-42", &good.to_uppercase()), Some(&secret)).unwrap().verified);
        assert!(!check(identity("user-43", &good), Some(&secret)).unwrap().verified, "another id");
        let other = IdentitySecret("other".into());
        assert!(!check(identity("user-42", &good), Some(&other)).unwrap().verified, "another secret");
        assert!(!check(identity("user-42", &good), None).unwrap().verified, "the site has no secret");
        for forged in ["", "zz", "abc", &good[..62], "é"] {
            assert!(!check(identity("user-42", forged), Some(&secret)).unwrap().verified, "{forged:?}");
        }
    }

    #[test]
    fn identities_over_the_limits_are_refused() {
        assert!(check(identity("", ""), None).is_err());
        assert!(check(identity(&"x".repeat(MAX_IDENTITY_ID_CHARS + 1), ""), None).is_err());
        let mut long_name = identity("u", "");
        long_name.name = "名".repeat(MAX_IDENTITY_NAME_CHARS + 1);
        assert!(check(long_name, None).is_err());
        assert!(check(identity(&"字".repeat(MAX_IDENTITY_ID_CHARS), ""), None).is_ok());
    }
}
