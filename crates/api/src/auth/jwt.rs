//! Access tokens: HS256 JWTs with `sub`, `role` and `exp` (the claims
//! PostgREST and Supabase use, so a Supabase-issued token verifies here when
//! the secret is the project's JWT secret).

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use showtree_db::pool::Caller;
use uuid::Uuid;

use crate::config::Secret;
use crate::error::ApiError;

/// The database role every signed-in caller acts as.
pub const AUTHENTICATED_ROLE: &str = "authenticated";

/// Why a token was refused (logged and audited, never sent: every refusal
/// is the same 401 to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Bad signature, wrong algorithm (`none` included), malformed.
    Invalid,
    /// Past `exp`.
    Expired,
    /// Missing or unusable `sub` or `role`.
    Claims,
}

impl Refusal {
    /// A short reason for the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Invalid => "invalid access token",
            Refusal::Expired => "expired access token",
            Refusal::Claims => "access token without a usable sub or role",
        }
    }
}

/// Issues and verifies access tokens with one HS256 secret.
pub struct Jwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Jwt {
    /// Keys from `secret`; issued tokens live `ttl`.
    pub fn new(secret: &Secret, ttl: Duration) -> Jwt {
        let bytes = secret.expose().as_bytes();
        // Only HS256: a token naming any other algorithm (`none` included)
        // fails before its signature is even looked at.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        // Supabase's tokens carry `aud: authenticated`, as ours do; a token
        // meant for another audience is refused.
        validation.set_audience(&[AUTHENTICATED_ROLE]);
        Jwt {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            ttl,
        }
    }

    /// How long issued tokens live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new access token for `user`.
    pub fn issue(&self, user: Uuid) -> Result<String, ApiError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = json!({
            "sub": user,
            "role": AUTHENTICATED_ROLE,
            "aud": AUTHENTICATED_ROLE,
            "iat": now,
            "exp": now.saturating_add(ttl),
        });
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("signing an access token: {e}")))
    }

    /// The caller a token names, if its signature, expiry and claims hold.
    pub fn verify(&self, token: &str) -> Result<Caller, Refusal> {
        let data = jsonwebtoken::decode::<Value>(token, &self.decoding, &self.validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Refusal::Expired,
                jsonwebtoken::errors::ErrorKind::MissingRequiredClaim(_) => Refusal::Claims,
                _ => Refusal::Invalid,
            },
        )?;
        let claims = data.claims;
        let user_id = claims
            .get("sub")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or(Refusal::Claims)?;
        // Only signed-in users: an `anon` or `service_role` token names no
        // user, and nothing here may run with more than a user's rights.
        if claims.get("role").and_then(Value::as_str) != Some(AUTHENTICATED_ROLE) {
            return Err(Refusal::Claims);
        }
        Ok(Caller { user_id, claims })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn jwt() -> Jwt {
        Jwt::new(
            &Secret::new("a-test-secret-that-is-long-enough-for-hs256"),
            Duration::from_secs(60),
        )
    }

    fn forge(header: Value, claims: Value, signature: &str) -> String {
        format!(
            "{}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn issued_tokens_verify_as_their_user() {
        let jwt = jwt();
        let user = Uuid::now_v7();
        let caller = jwt
            .verify(&jwt.issue(user).expect("issue"))
            .expect("verify");
        assert_eq!(caller.user_id, user);
        assert_eq!(caller.claims["role"], AUTHENTICATED_ROLE);
    }

    #[test]
    fn alg_none_and_foreign_signatures_are_refused() {
        let claims =
            json!({"sub": Uuid::now_v7(), "role": "authenticated", "exp": 4_000_000_000u64});
        let none = forge(json!({"alg": "none", "typ": "JWT"}), claims.clone(), "");
        assert_eq!(jwt().verify(&none).err(), Some(Refusal::Invalid));
        let other = Jwt::new(
            &Secret::new("another-secret-that-is-long-enough-for-hs256"),
            Duration::from_secs(60),
        );
        let forged = other.issue(Uuid::now_v7()).expect("issue");
        assert_eq!(jwt().verify(&forged).err(), Some(Refusal::Invalid));
    }

    #[test]
    fn tokens_for_other_roles_are_refused() {
        let jwt = jwt();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": Uuid::now_v7(), "role": "service_role", "exp": 4_000_000_000u64}),
            &jwt.encoding,
        )
        .expect("sign");
        assert_eq!(jwt.verify(&token).err(), Some(Refusal::Claims));
    }
}
