//! `/v1/auth`: signing up, logging in, personal API tokens.

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use showtree_core::{Currency, NodeName, Slug};
use showtree_db::auth::NewSignup;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::nodes::{IdempotencyHeader, Timestamp};
use crate::auth::password::check_new_password;
use crate::auth::{Auth, api_token};
use crate::config::Secret;
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, JsonBody, Path};
use crate::idempotency::{self, Reply, fingerprint};
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(create_token))
        .routes(routes!(revoke_token))
}

/// The longest email address accepted (RFC 5321's path limit).
const MAX_EMAIL: usize = 320;

/// A password in a request body: never printed, never logged.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Password)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    fn secret(&self) -> Secret {
        Secret::new(self.0.clone())
    }
}

fn check_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim();
    let well_formed = email.len() <= MAX_EMAIL
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if well_formed {
        Ok(email.to_owned())
    } else {
        Err(ApiError::invalid_field(
            "email",
            "not a valid email address",
        ))
    }
}

/// The organization a signup creates.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    /// Display name.
    pub name: String,
    /// URL name; derived from the name when absent.
    #[serde(default)]
    pub slug: Option<String>,
    /// ISO 4217 base currency (default USD).
    #[serde(default)]
    pub base_currency: Option<String>,
    /// IANA time zone (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
}

/// What `POST /v1/auth/signup` takes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// The login; unique, case-insensitively.
    pub email: String,
    /// At least 8 characters.
    pub password: Password,
    /// How the user is shown to others.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The organization the user will own.
    pub organization: NewOrganization,
}

/// A new account.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    /// The new user.
    pub user_id: Uuid,
    /// The organization they own.
    pub org_id: Uuid,
    /// An access token for the new user.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// Creates an account, an organization, and makes the account its owner,
/// in one transaction. Signup and login are not stored for
/// `Idempotency-Key`: their responses carry credentials, which are never
/// kept; a repeated signup answers 409 (the email exists) and creates
/// nothing twice.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Signed up", body = SignupResponse),
        (status = 403, description = "Public signup is turned off",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn signup(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<SignupRequest>,
) -> Result<(StatusCode, Json<SignupResponse>), ApiError> {
    if !state.public_signup {
        return Err(ApiError::Forbidden("public signup is turned off".into()));
    }
    state.limiter.check_address(addr.ip())?;
    let email = check_email(&body.email)?;
    let password = body.password.secret();
    check_new_password("password", &password)?;
    let display_name = body.display_name.unwrap_or_default();
    if display_name.chars().count() > 200 {
        return Err(ApiError::invalid_field(
            "display_name",
            "at most 200 characters",
        ));
    }
    let org = &body.organization;
    let org_name = NodeName::parse(&org.name)
        .map_err(|e| ApiError::invalid_field("organization.name", e.message))?;
    let org_slug = org
        .slug
        .as_deref()
        .map(|s| {
            Slug::parse(s).map_err(|e| ApiError::invalid_field("organization.slug", e.message))
        })
        .transpose()?;
    let base_currency = org
        .base_currency
        .as_deref()
        .map(|c| {
            Currency::parse(c)
                .map_err(|e| ApiError::invalid_field("organization.base_currency", e.message))
        })
        .transpose()?;
    let password_hash = state.passwords.hash(&password).await?;
    let new = NewSignup {
        email,
        password_hash,
        display_name,
        org_name,
        org_slug,
        base_currency,
        timezone: org.timezone.clone(),
    };
    let created = state
        .db
        .run_anonymous(async |tx| {
            showtree_db::auth::signup(tx, &new)
                .await
                .map_err(|e| prefix_organization(e.into()))
        })
        .await?;
    let access_token = state.jwt.issue(created.user_id)?;
    Ok((
        StatusCode::CREATED,
        Json(SignupResponse {
            user_id: created.user_id,
            org_id: created.org_id,
            access_token,
            token_type: "bearer",
            expires_in: state.jwt.ttl().as_secs(),
        }),
    ))
}

/// The organization's rules name node fields; in a signup they sit under
/// `organization`.
fn prefix_organization(e: ApiError) -> ApiError {
    match e {
        ApiError::Unprocessable {
            rule,
            detail,
            mut errors,
        } => {
            for f in &mut errors {
                if matches!(
                    f.field.as_str(),
                    "name" | "slug" | "timezone" | "base_currency"
                ) {
                    f.field = format!("organization.{}", f.field);
                }
            }
            ApiError::Unprocessable {
                rule,
                detail,
                errors,
            }
        }
        other => other,
    }
}

/// What `POST /v1/auth/login` takes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's email.
    pub email: String,
    /// Its password.
    pub password: Password,
}

/// An access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Exchanges an email and password for an access token. A wrong password
/// and an unknown email get the same 401, in about the same time; attempts
/// are limited per email and per client address (429).
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Wrong email or password",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    state.limiter.check_address(addr.ip())?;
    state.limiter.check_email(&body.email)?;
    let email = body.email.trim().to_owned();
    let found = state
        .db
        .run_anonymous(async |tx| {
            Ok::<_, ApiError>(showtree_db::auth::login_lookup(tx, &email).await?)
        })
        .await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    // Unknown emails verify against a dummy hash: the same work, the same
    // answer.
    if !state
        .passwords
        .verify(&body.password.secret(), hash)
        .await?
    {
        state
            .record_denied(user, None, "login", "wrong email or password")
            .await;
        return Err(ApiError::LoginFailed);
    }
    let user = user.ok_or_else(|| ApiError::Internal("verified without an account".into()))?;
    Ok(Json(TokenResponse {
        access_token: state.jwt.issue(user)?,
        token_type: "bearer",
        expires_in: state.jwt.ttl().as_secs(),
    }))
}

/// What `POST /v1/auth/tokens` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// A name to recognise the token by, 1 to 100 characters.
    pub name: String,
    /// When it stops working; never, when absent.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

/// A personal API token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// The token's id (for revoking it).
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// When it expires, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// The secret, shown once: send it as `Authorization: Bearer <secret>`.
    /// Absent from idempotent replays, since it is never stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Creates a personal API token for the caller; its secret is in this
/// response only.
#[utoipa::path(post, path = "/v1/auth/tokens", tag = "auth",
    security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body = CreateToken,
    responses((status = 201, description = "Created", body = TokenCreated)))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<CreateToken>,
) -> Result<Response, ApiError> {
    let hash = fingerprint("POST", "/v1/auth/tokens", &body)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid_field(
            "name",
            "must be 1 to 100 characters",
        ));
    }
    if body
        .expires_at
        .is_some_and(|t| t.0 <= time::OffsetDateTime::now_utc())
    {
        return Err(ApiError::invalid_field(
            "expires_at",
            "must be in the future",
        ));
    }
    let new = api_token::generate();
    state
        .db
        .run_as(&auth.0, async |tx| {
            if let Some(replay) = idempotency::claim(tx, &key, &hash).await? {
                return Ok(replay);
            }
            let token = showtree_db::auth::create_token(
                tx,
                name,
                &new.secret_hash,
                body.expires_at.map(|t| t.0),
            )
            .await?;
            let mut created = TokenCreated {
                id: token.id,
                name: token.name,
                expires_at: token.expires_at.map(Timestamp),
                created_at: Timestamp(token.created_at),
                secret: None,
            };
            // the stored copy, for replays, never holds the secret
            let stored = serde_json::to_value(&created)
                .map_err(|e| ApiError::Internal(format!("serializing a token: {e}")))?;
            created.secret = Some(api_token::format(token.id, &new.secret));
            let reply = Reply::json(StatusCode::CREATED, &created)?.storing(&stored)?;
            idempotency::complete(tx, &key, reply).await
        })
        .await
}

/// The token id in the path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenId {
    /// The token's id.
    pub id: Uuid,
}

/// Revokes one of the caller's API tokens. Tokens never change, so no
/// `If-Match` is needed.
#[utoipa::path(delete, path = "/v1/auth/tokens/{id}", tag = "auth",
    security(("bearer" = [])),
    params(TokenId),
    responses((status = 204, description = "Revoked")))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(TokenId { id }): Path<TokenId>,
) -> Result<StatusCode, ApiError> {
    state
        .db
        .run_as(&auth.0, async |tx| {
            showtree_db::auth::revoke_token(tx, id).await?;
            Ok::<_, ApiError>(StatusCode::NO_CONTENT)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show_in_debug_output() {
        let req: LoginRequest =
            serde_json::from_str(r#"{"email":"a@b.c","password":"hunter22"}"#).expect("parses");
        assert!(!format!("{req:?}").contains("hunter22"));
    }

    #[test]
    fn emails_need_one_at_and_no_spaces() {
        assert!(check_email("a@b.c").is_ok());
        for bad in ["", "ab", "a@", "@b", "a b@c", "a@b@c"] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }
}
