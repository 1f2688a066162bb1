//! Accounts, credentials and personal API tokens. Password hashing and
//! token secrets are the service's business; this module stores and looks
//! up, through the security-definer functions of migration 0003.

use crate::Sql;
use serde::Serialize;
use showtree_core::{Currency, NodeName, Slug};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::DbError;

/// What signing up needs.
#[derive(Debug, Clone)]
pub struct NewSignup {
    /// The login; unique regardless of case.
    pub email: String,
    /// An argon2id PHC string.
    pub password_hash: String,
    /// How the user is shown.
    pub display_name: String,
    /// The new organization's name.
    pub org_name: NodeName,
    /// Its slug; derived from the name when absent.
    pub org_slug: Option<Slug>,
    /// Its base currency (default USD).
    pub base_currency: Option<Currency>,
    /// Its time zone (default UTC).
    pub timezone: Option<String>,
}

/// What signing up made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Signup {
    /// The new user.
    pub user_id: Uuid,
    /// The organization they own.
    pub org_id: Uuid,
}

/// Creates the user, their credentials, an organization and their owner
/// grant, in the caller's (anonymous) transaction. A taken email breaks
/// `users_email_key`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn signup(c: &impl Sql, new: &NewSignup) -> Result<Signup, DbError> {
    let slug = new
        .org_slug
        .clone()
        .unwrap_or_else(|| Slug::from_name(new.org_name.as_str()));
    let currency = new.base_currency.map(|c| c.as_str().to_owned());
    let row = c
        .query_one(
            "select user_id, org_id from private.signup($1, $2, $3, $4, $5, $6, $7)",
            &[
                &new.email,
                &new.password_hash,
                &new.display_name,
                &new.org_name.as_str(),
                &slug.as_str(),
                &currency,
                &new.timezone,
            ],
        )
        .await?;
    Ok(Signup {
        user_id: row.try_get(0)?,
        org_id: row.try_get(1)?,
    })
}

/// The user with this email (any case) and their password hash.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn login_lookup(c: &impl Sql, email: &str) -> Result<Option<(Uuid, String)>, DbError> {
    let row = c
        .query_opt(
            "select user_id, password_hash from private.login_lookup($1)",
            &[&email],
        )
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// A personal API token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// The token's id (also the public part of the token string).
    pub id: Uuid,
    /// What the owner called it.
    pub name: String,
    /// When it stops working, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Stores a new token of the caller's; `secret_hash` is the SHA-256 of the
/// secret, which is shown to the caller once and never stored.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create_token(
    c: &impl Sql,
    name: &str,
    secret_hash: &[u8; 32],
    expires_at: Option<OffsetDateTime>,
) -> Result<ApiToken, DbError> {
    let row = c
        .query_one(
            "select id, name, expires_at, created_at from private.create_api_token($1, $2, $3)",
            &[&name, &secret_hash.as_slice(), &expires_at],
        )
        .await?;
    Ok(ApiToken {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        expires_at: row.try_get(2)?,
        created_at: row.try_get(3)?,
    })
}

/// The owner and stored hash of a live, unexpired token, for the service to
/// compare in constant time.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn token_lookup(
    c: &impl Sql,
    token_id: Uuid,
) -> Result<Option<(Uuid, Vec<u8>)>, DbError> {
    let row = c
        .query_opt(
            "select owner_id, secret_hash from private.api_token_lookup($1)",
            &[&token_id],
        )
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// Records that a token was used (its `last_used_at`, at most once a
/// minute); `secret_hash` is the stored hash the service just matched.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn token_used(c: &impl Sql, token_id: Uuid, secret_hash: &[u8]) -> Result<(), DbError> {
    c.execute(
        "select private.api_token_used($1, $2)",
        &[&token_id, &secret_hash],
    )
    .await?;
    Ok(())
}

/// The caller's live tokens.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn list_tokens(c: &impl Sql) -> Result<Vec<ApiToken>, DbError> {
    c.query(
        "select id, name, expires_at, created_at from private.list_api_tokens()",
        &[],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(ApiToken {
            id: r.try_get(0)?,
            name: r.try_get(1)?,
            expires_at: r.try_get(2)?,
            created_at: r.try_get(3)?,
        })
    })
    .collect()
}

/// Revokes one of the caller's tokens; `NotFound` for anyone else's.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn revoke_token(c: &impl Sql, token_id: Uuid) -> Result<(), DbError> {
    let revoked: bool = c
        .query_one("select private.revoke_api_token($1)", &[&token_id])
        .await?
        .try_get(0)?;
    if revoked {
        Ok(())
    } else {
        Err(DbError::NotFound)
    }
}

/// The caller's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// The user's id.
    pub id: Uuid,
    /// Their login.
    pub email: String,
    /// How they are shown.
    pub display_name: String,
    /// When they signed up.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The caller's own account (`NotFound` without a caller).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn me(c: &impl Sql) -> Result<User, DbError> {
    let row = c
        .query_opt(
            "select id, email, display_name, created_at from private.me()",
            &[],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(User {
        id: row.try_get(0)?,
        email: row.try_get(1)?,
        display_name: row.try_get(2)?,
        created_at: row.try_get(3)?,
    })
}

/// Records a security event that belongs to no organization (a failed
/// login, a refused token), in the caller's transaction.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn record_security_event(
    c: &impl Sql,
    action: &str,
    reason: &str,
    user_id: Option<Uuid>,
    client_address: Option<&str>,
) -> Result<(), DbError> {
    c.execute(
        "select private.record_security_event($1, $2, $3, $4, '{}')",
        &[&action, &reason, &user_id, &client_address],
    )
    .await?;
    Ok(())
}

/// Creates a user as the operator (the database owner, no caller): with a
/// password hash when one is given, else without a way to log in until one
/// is set. `users_email_key` refuses an email already taken.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create_user(
    c: &impl Sql,
    email: &str,
    display_name: &str,
    password_hash: Option<&str>,
) -> Result<Uuid, DbError> {
    let id: Uuid = c
        .query_one(
            "insert into auth.users (email, display_name) values ($1, $2) returning id",
            &[&email, &display_name],
        )
        .await?
        .try_get(0)?;
    if let Some(hash) = password_hash {
        c.execute(
            "insert into private.user_credentials (user_id, password_hash) values ($1, $2)",
            &[&id, &hash],
        )
        .await?;
    }
    Ok(id)
}

/// The id of the user with this email (any case), as the operator.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn user_by_email(c: &impl Sql, email: &str) -> Result<Option<Uuid>, DbError> {
    Ok(c.query_opt(
        "select id from auth.users where lower(email) = lower($1) and deleted_at is null",
        &[&email],
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()?)
}
