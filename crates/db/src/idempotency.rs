//! Idempotency keys (`migrations/0004_idempotency.up.sql`): the first
//! response to a POST, kept for the user who sent it so a retry gets it
//! again instead of repeating the work.
//!
//! Both functions run in the request's own transaction (opened for the
//! caller, so `auth.uid()` is the key's owner): the key is claimed before
//! the work and its response stored after it, and all of it commits or
//! rolls back together. A concurrent request with the same key waits on the
//! claim's unique index until the first one commits, then sees its response.

use crate::Sql;

use crate::DbError;

/// How long a key answers with its stored response.
pub const KEY_LIFETIME_HOURS: i32 = 24;

/// A stored first response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status code.
    pub status: u16,
    /// The JSON body, byte for byte.
    pub body: Vec<u8>,
    /// The `ETag` header, if the response had one.
    pub etag: Option<String>,
    /// The `Location` header, if the response had one.
    pub location: Option<String>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: do the work, then [`complete`] it.
    New,
    /// The key was used for the same request: answer with its response.
    Replay(StoredResponse),
    /// The key was used for a different request.
    Mismatch,
}

/// Claims `key` for a request whose fingerprint is `request_hash` (32
/// bytes), for the transaction's caller.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn claim(c: &impl Sql, key: &str, request_hash: &[u8]) -> Result<Claim, DbError> {
    // Expire the caller's old keys, and purge long-expired ones, before
    // looking: an expired key is free for a new request.
    c.execute(
        "with expired as (
           update showtree.idempotency_keys set deleted_at = now()
            where owner_id = (select auth.uid()) and deleted_at is null
              and created_at < now() - make_interval(hours => $1)
           returning 1)
         delete from showtree.idempotency_keys
          where owner_id = (select auth.uid())
            and deleted_at < now() - interval '7 days'",
        &[&KEY_LIFETIME_HOURS],
    )
    .await?;
    let inserted = c
        .query_opt(
            "insert into showtree.idempotency_keys (owner_id, key, request_hash)
             values (auth.uid(), $1, $2)
             on conflict (owner_id, key) where deleted_at is null do nothing
             returning id",
            &[&key, &request_hash],
        )
        .await?;
    if inserted.is_some() {
        return Ok(Claim::New);
    }
    let row = c
        .query_opt(
            "select request_hash, response_status, response_body, response_etag, response_location
               from showtree.idempotency_keys
              where owner_id = (select auth.uid()) and key = $1 and deleted_at is null",
            &[&key],
        )
        .await?
        // The conflicting row was committed before our insert gave up, and
        // read committed lets this statement see it.
        .ok_or_else(|| DbError::Unexpected("idempotency key vanished".into()))?;
    let stored_hash: Vec<u8> = row.try_get(0)?;
    if stored_hash != request_hash {
        return Ok(Claim::Mismatch);
    }
    let status: Option<i16> = row.try_get(1)?;
    let body: Option<Vec<u8>> = row.try_get(2)?;
    match (status, body) {
        (Some(status), Some(body)) => Ok(Claim::Replay(StoredResponse {
            status: u16::try_from(status).map_err(|e| DbError::Unexpected(e.to_string()))?,
            body,
            etag: row.try_get(3)?,
            location: row.try_get(4)?,
        })),
        // Claim and completion commit together, so a committed claim
        // always carries its response.
        _ => Err(DbError::Unexpected(
            "idempotency key without a response".into(),
        )),
    }
}

/// Stores the response of the request that claimed `key`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn complete(c: &impl Sql, key: &str, response: &StoredResponse) -> Result<(), DbError> {
    let status = i16::try_from(response.status).map_err(|e| DbError::Unexpected(e.to_string()))?;
    let n = c
        .execute(
            "update showtree.idempotency_keys
                set response_status = $2, response_body = $3, response_etag = $4,
                    response_location = $5
              where owner_id = (select auth.uid()) and key = $1 and deleted_at is null",
            &[
                &key,
                &status,
                &response.body,
                &response.etag,
                &response.location,
            ],
        )
        .await?;
    if n == 1 {
        Ok(())
    } else {
        Err(DbError::Unexpected(
            "completing an unclaimed idempotency key".into(),
        ))
    }
}
