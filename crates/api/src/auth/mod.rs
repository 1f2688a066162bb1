//! Who is calling: bearer credentials (our JWTs, Supabase's, personal API
//! tokens), password hashing, and the login rate limits.

pub mod api_token;
pub mod jwt;
pub mod password;
pub mod ratelimit;

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use showtree_db::pool::Caller;

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller: 401 unless the request carries a valid
/// `Authorization: Bearer` credential.
#[derive(Debug, Clone)]
pub struct Auth(pub Caller);

impl Auth {
    /// The caller's user id.
    pub fn user_id(&self) -> uuid::Uuid {
        self.0.user_id
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthenticated);
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            state
                .record_denied(None, None, "authenticate", "malformed authorization header")
                .await;
            return Err(ApiError::Unauthenticated);
        };
        if !token.starts_with(api_token::PREFIX) {
            return match state.jwt.verify(token) {
                Ok(caller) => Ok(Auth(caller)),
                Err(refusal) => {
                    state
                        .record_denied(None, None, "authenticate", refusal.as_str())
                        .await;
                    Err(ApiError::Unauthenticated)
                }
            };
        }
        let Some((id, secret)) = api_token::parse(token) else {
            state
                .record_denied(None, None, "authenticate", "malformed api token")
                .await;
            return Err(ApiError::Unauthenticated);
        };
        // looked up, matched and marked used in one transaction
        let owner = state
            .db
            .run_anonymous(
                async |tx| match showtree_db::auth::token_lookup(tx, id).await? {
                    Some((owner, hash)) if api_token::matches(secret, &hash) => {
                        showtree_db::auth::token_used(tx, id, &hash).await?;
                        Ok::<_, ApiError>(Some(owner))
                    }
                    _ => Ok(None),
                },
            )
            .await?;
        match owner {
            Some(owner) => Ok(Auth(Caller::user(owner))),
            None => {
                state
                    .record_denied(
                        None,
                        None,
                        "authenticate",
                        "unknown, expired or revoked api token",
                    )
                    .await;
                Err(ApiError::Unauthenticated)
            }
        }
    }
}
