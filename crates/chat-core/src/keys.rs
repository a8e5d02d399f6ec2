//! Ed25519 keys given as settings: 32 bytes in base64url or base64 (padded or not), or PEM as
//! OpenSSL and Terraform's tls provider write it (a PKCS#8 private key, a SubjectPublicKeyInfo
//! public key).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use ed25519_dalek::VerifyingKey;

/// What a PKCS#8 (version 1) Ed25519 private key holds before its 32-byte seed.
const PKCS8_SEED_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
/// What a SubjectPublicKeyInfo of an Ed25519 key holds before its 32 bytes.
const SPKI_KEY_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// How the settings' messages describe a key they could not read.
pub const KEY_FORMATS: &str = "32 bytes in base64url or base64, or PEM";

/// A private key's 32-byte seed, from raw base64(url) or a `PRIVATE KEY` PEM.
pub fn seed(text: &str) -> Option<[u8; 32]> {
    key_bytes(text, "PRIVATE KEY", &PKCS8_SEED_PREFIX)
}

/// A public key, from raw base64(url) or a `PUBLIC KEY` PEM.
pub fn public(text: &str) -> Option<VerifyingKey> {
    let bytes = key_bytes(text, "PUBLIC KEY", &SPKI_KEY_PREFIX)?;
    VerifyingKey::from_bytes(&bytes).ok()
}

fn key_bytes(text: &str, label: &str, der_prefix: &[u8]) -> Option<[u8; 32]> {
    let text = text.trim();
    let bytes = match pem_body(text, label) {
        Some(body) => STANDARD.decode(body).ok()?.strip_prefix(der_prefix)?.to_vec(),
        None if text.starts_with("-----") => return None,
        None => {
            let unpadded = text.trim_end_matches('=');
            URL_SAFE_NO_PAD.decode(unpadded).or_else(|_| STANDARD_NO_PAD.decode(unpadded)).ok()?
        }
    };
    bytes.try_into().ok()
}

/// The base64 between `-----BEGIN {label}-----` and `-----END {label}-----`, without line breaks.
fn pem_body(text: &str, label: &str) -> Option<String> {
    let inner = text
        .strip_prefix(&format!("-----BEGIN {label}-----"))?
        .strip_suffix(&format!("-----END {label}-----"))?;
    Some(inner.split_whitespace().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout`.
    const PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIPVaGYicX/+PGqGcTo9cpMa26osG6Ryy7tVmQDw4JsPW\n\
        -----END PRIVATE KEY-----\n";
    const SEED: &str = "9VoZiJxf_48aoZxOj1ykxrbqiwbpHLLu1WZAPDgmw9Y";
    const PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
        MCowBQYDK2VwAyEAcvUBwytbnevx7G7VIyN+x27j7cyM8MKTU0WjPcMQ2wQ=\n\
        -----END PUBLIC KEY-----\n";
    const PUBLIC: &str = "cvUBwytbnevx7G7VIyN-x27j7cyM8MKTU0WjPcMQ2wQ";

    #[test]
    fn a_pem_private_key_gives_the_seed_openssl_wrote_and_its_public_half() {
        let from_pem = seed(PRIVATE_PEM).expect("the PEM is read");
        assert_eq!(URL_SAFE_NO_PAD.encode(from_pem), SEED);
        let signing = ed25519_dalek::SigningKey::from_bytes(&from_pem);
        assert_eq!(public(PUBLIC_PEM), Some(signing.verifying_key()));
        assert_eq!(URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes()), PUBLIC);
    }

    #[test]
    fn raw_keys_are_read_in_base64url_and_base64_padded_or_not() {
        let expected = seed(SEED).expect("base64url");
        let standard = STANDARD.encode(expected);
        assert!(standard.contains('/') && standard.ends_with('='), "the fixture exercises both alphabets");
        assert_eq!(seed(&standard), Some(expected));
        assert_eq!(seed(&format!("  {SEED}\n")), Some(expected));
        assert_eq!(public(PUBLIC).map(|key| key.to_bytes()), public(PUBLIC_PEM).map(|key| key.to_bytes()));
    }

    #[test]
    fn the_wrong_kind_of_pem_or_length_is_refused() {
        assert_eq!(seed(PUBLIC_PEM), None, "a public key is not a private key");
        assert_eq!(public(PRIVATE_PEM), None, "a private key is not a public key");
        assert_eq!(seed(&SEED[..40]), None, "too short");
        assert_eq!(seed(&format!("{SEED}AAAA")), None, "too long");
        assert_eq!(seed("not a key at all!"), None);
        // An RSA key's PEM has the right label and the wrong contents.
        let rsa_like = "-----BEGIN PRIVATE KEY-----\nMIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEA\n-----END PRIVATE KEY-----";
        assert_eq!(seed(rsa_like), None);
    }
}
