//! Password hashing: argon2id (PHC strings), off the async threads.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

use crate::config::Secret;
use crate::error::ApiError;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (hashing cost grows with it).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Hashes and verifies passwords. Verification of an unknown account runs
/// against a dummy hash so it costs the same as a wrong password.
pub struct Passwords {
    dummy_hash: String,
    // Each hash takes tens of milliseconds of CPU and 19 MiB; bound how
    // many run at once so a burst of logins cannot starve the server.
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

/// An argon2id PHC string for `password`, computed on this thread (tens of
/// milliseconds: call it from blocking code, as `showtree demo` does).
pub fn hash_blocking(password: &[u8]) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| ApiError::Internal(format!("encoding a salt: {e}")))?;
    Argon2::default()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
}

fn verify_blocking(password: &[u8], hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password, &parsed).is_ok())
        .unwrap_or(false)
}

impl Passwords {
    /// Ready to hash; computes the dummy hash (blocking, once).
    pub async fn new(concurrency: usize) -> Result<Passwords, ApiError> {
        let random: [u8; 32] = rand::random();
        let dummy_hash = tokio::task::spawn_blocking(move || hash_blocking(&random))
            .await
            .map_err(|e| ApiError::Internal(format!("hashing task: {e}")))??;
        Ok(Passwords {
            dummy_hash,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        })
    }

    /// An argon2id PHC string for `password`.
    pub async fn hash(&self, password: &Secret) -> Result<String, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(format!("hash permits: {e}")))?;
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_blocking(password.expose().as_bytes()))
            .await
            .map_err(|e| ApiError::Internal(format!("hashing task: {e}")))?
    }

    /// Whether `password` matches `hash`; with no hash (unknown account) it
    /// verifies against the dummy and answers false, in the same time.
    pub async fn verify(&self, password: &Secret, hash: Option<String>) -> Result<bool, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(format!("hash permits: {e}")))?;
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let password = password.clone();
        let matched = tokio::task::spawn_blocking(move || {
            verify_blocking(password.expose().as_bytes(), &hash)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("hashing task: {e}")))?;
        Ok(known && matched)
    }
}

/// Checks a new password's length (422 naming `field`).
pub fn check_new_password(field: &str, password: &Secret) -> Result<(), ApiError> {
    let p = password.expose();
    if p.chars().count() < MIN_PASSWORD_CHARS || p.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid_field(
            field,
            format!(
                "must be at least {MIN_PASSWORD_CHARS} characters and at most {MAX_PASSWORD_BYTES} bytes"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_do() {
        let passwords = Passwords::new(2).await.expect("ready");
        let secret = Secret::new("correct horse battery");
        let hash = passwords.hash(&secret).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            passwords
                .verify(&secret, Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !passwords
                .verify(&Secret::new("wrong horse"), Some(hash))
                .await
                .expect("verify")
        );
        assert!(!passwords.verify(&secret, None).await.expect("verify"));
    }
}
