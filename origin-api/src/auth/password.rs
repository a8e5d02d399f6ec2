//! Password hashes: argon2id with the library's recommended parameters and a random salt.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (hashing cost grows with length).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Why a password cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")]
    Length,
    /// Hashing failed (no randomness).
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// The 19 MiB an argon2id hash works in. A thread that hashes often keeps one and passes it to
/// [`hash_in`] and [`verify_in`], so no hash allocates (see `hashing`).
#[derive(Debug, Default)]
pub struct Memory(Vec<Block>);

/// Blocks (of 1 KiB) reserved at least: over 32 MiB, the most glibc ever serves from its heaps,
/// so the memory is mapped on its own and handed back to the system when dropped. Only the blocks
/// a hash uses (19 MiB) are ever touched.
const RESERVED_BLOCKS: usize = 33 * 1024;

impl Memory {
    /// The first `blocks` blocks, grown to that size once.
    fn blocks(&mut self, blocks: usize) -> &mut [Block] {
        if self.0.len() < blocks {
            if self.0.capacity() < blocks {
                self.0 = Vec::with_capacity(blocks.max(RESERVED_BLOCKS));
            }
            self.0.resize(blocks, Block::default());
        }
        &mut self.0[..blocks]
    }
}

/// Hashes a new password after checking its length.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    hash_in(&mut Memory::default(), password)
}

/// [`hash`], working in `memory`.
pub fn hash_in(memory: &mut Memory, password: &str) -> Result<String, PasswordError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(PasswordError::Length);
    }
    let failed = |e: &dyn std::fmt::Display| PasswordError::Hash(e.to_string());
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| failed(&e))?;
    let salt_text = SaltString::encode_b64(&salt).map_err(|e| failed(&e))?;
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                &salt,
                out,
                memory.blocks(params.block_count()),
            )
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(|e| failed(&e))?;
    let hashed = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt_text.as_salt()),
        hash: Some(output),
    };
    Ok(hashed.to_string())
}

/// Whether `password` matches `hash`. Unknown accounts are checked against [`unknown_account_hash`]
/// so answering "wrong email" takes as long as "wrong password".
pub fn verify(hash: &str, password: &str) -> bool {
    verify_in(&mut Memory::default(), hash, password)
}

/// [`verify`], working in `memory`.
pub fn verify_in(memory: &mut Memory, hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let Ok(version) = parsed.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let computed = Output::init_with(expected.len(), |out| {
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                out,
                memory.blocks(params.block_count()),
            )
            .map_err(|_| argon2::password_hash::Error::Crypto)
    });
    // `Output` compares in constant time.
    computed.is_ok_and(|computed| computed == expected)
}

/// A valid hash of a random password nobody knows, to verify against when the email is unknown.
pub fn unknown_account_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let mut secret = [0u8; 24];
        // Without randomness the fixed bytes still give a valid hash; it is never a real account's.
        let _ = getrandom::fill(&mut secret);
        let password: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        hash(&password).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hashed = hash("correct horse battery").unwrap();
        assert!(hashed.starts_with("$argon2id$"));
        assert!(verify(&hashed, "correct horse battery"));
        assert!(!verify(&hashed, "correct horse battery "));
        assert!(!verify("not a hash", "x"));
        assert!(!verify(unknown_account_hash(), "correct horse battery"));
    }

    #[test]
    fn hashes_made_in_kept_memory_are_the_same_kind_and_check_both_ways() {
        let mut memory = Memory::default();
        let kept = hash_in(&mut memory, "correct horse battery").unwrap();
        assert!(verify(&kept, "correct horse battery"), "checked by the library's way");
        let fresh = hash("correct horse battery").unwrap();
        assert!(verify_in(&mut memory, &fresh, "correct horse battery"));
        assert!(!verify_in(&mut memory, &fresh, "wrong horse battery"));
        // A hash of other parameters (as an older Kefu or another tool wrote it) still checks.
        let light = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).unwrap());
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let other =
            argon2::password_hash::PasswordHasher::hash_password(&light, b"secret words", &salt).unwrap();
        assert!(verify_in(&mut memory, &other.to_string(), "secret words"));
        assert!(!verify_in(&mut memory, &other.to_string(), "secret word"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash("short"), Err(PasswordError::Length)));
    }
}
