//! Personal API tokens: `st_<id>_<secret>`. The id finds the stored row;
//! only the secret's SHA-256 is stored, compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// What every token starts with (and how the extractor tells it from a JWT).
pub const PREFIX: &str = "st_";

/// A freshly made token: the string shown once, and what is stored.
pub struct NewToken {
    /// The secret, shown once inside the token string ([`format`]).
    pub secret: String,
    /// SHA-256 of the secret.
    pub secret_hash: [u8; 32],
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewToken(***)")
    }
}

/// A new random secret (256 bits) and its hash.
pub fn generate() -> NewToken {
    let bytes: [u8; 32] = rand::random();
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let secret_hash = hash(&secret);
    NewToken {
        secret,
        secret_hash,
    }
}

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The string the owner sends: the id and the secret.
pub fn format(id: Uuid, secret: &str) -> String {
    format!("{PREFIX}{}_{secret}", id.simple())
}

/// A presented token split into id and secret; `None` when malformed.
pub fn parse(presented: &str) -> Option<(Uuid, &str)> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_at_checked(32)?;
    let secret = secret.strip_prefix('_')?;
    let id = Uuid::try_parse(id).ok()?;
    (!secret.is_empty()).then_some((id, secret))
}

/// Whether `secret` hashes to `stored`, in time independent of where they
/// differ.
pub fn matches(secret: &str, stored: &[u8]) -> bool {
    hash(secret).as_slice().ct_eq(stored).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_only_their_secret_matches() {
        let new = generate();
        let id = Uuid::now_v7();
        let token = format(id, &new.secret);
        let (parsed_id, secret) = parse(&token).expect("parses");
        assert_eq!(parsed_id, id);
        assert!(matches(secret, &new.secret_hash));
        assert!(!matches("guess", &new.secret_hash));
        assert!(!matches(secret, &[0u8; 31]));
        for bad in [
            "",
            "st_",
            "st_nothex_x",
            &format!("st_{}", id.simple()),
            "eyJ.x.y",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
