//! `Idempotency-Key` on POST: the request's work and its stored response
//! commit in one transaction (a handler calls [`claim`] first and
//! [`complete`] last, inside its `run_as`), so a retry with the same key and body gets
//! the first response again (never a second resource), and the same key
//! with another body gets 422.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use showtree_db::Conn;
use showtree_db::idempotency::{self, Claim, StoredResponse};

use crate::error::{ApiError, FieldError};
use crate::etag::ETag;
use crate::extract::IdempotencyKey;

/// The header marking a replayed response.
pub const REPLAYED: &str = "idempotent-replayed";

/// A successful POST's answer, before it is sent (and stored).
#[derive(Debug)]
pub struct Reply {
    status: StatusCode,
    body: Vec<u8>,
    stored_body: Option<Vec<u8>>,
    etag: Option<ETag>,
    location: Option<String>,
}

impl Reply {
    /// `status` with `body` as JSON.
    pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Result<Reply, ApiError> {
        Ok(Reply {
            status,
            body: serde_json::to_vec(body)
                .map_err(|e| ApiError::Internal(format!("serializing a response: {e}")))?,
            stored_body: None,
            etag: None,
            location: None,
        })
    }

    /// Adds an `ETag`.
    pub fn with_etag(mut self, etag: ETag) -> Reply {
        self.etag = Some(etag);
        self
    }

    /// Adds a `Location`.
    pub fn with_location(mut self, location: String) -> Reply {
        self.location = Some(location);
        self
    }

    /// Stores `body` for replays instead of the response itself: for a
    /// response carrying a secret that must be shown once and never kept.
    pub fn storing<T: Serialize>(mut self, body: &T) -> Result<Reply, ApiError> {
        self.stored_body = Some(
            serde_json::to_vec(body)
                .map_err(|e| ApiError::Internal(format!("serializing a response: {e}")))?,
        );
        Ok(self)
    }

    fn stored(&self) -> StoredResponse {
        StoredResponse {
            status: self.status.as_u16(),
            body: self
                .stored_body
                .clone()
                .unwrap_or_else(|| self.body.clone()),
            etag: self.etag.as_ref().map(|e| e.as_str().to_owned()),
            location: self.location.clone(),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(etag) = &self.etag {
            headers.insert(header::ETAG, etag.header_value());
        }
        if let Some(v) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, v);
        }
        response
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    if let Some(v) = stored.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        headers.insert(header::ETAG, v);
    }
    if let Some(v) = stored.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, v);
    }
    response
}

/// The fingerprint of a request: method, path and body (as parsed and
/// re-serialized, so whitespace and key order do not matter).
pub fn fingerprint<T: Serialize>(method: &str, path: &str, body: &T) -> Result<Vec<u8>, ApiError> {
    let json = serde_json::to_vec(body)
        .map_err(|e| ApiError::Internal(format!("fingerprinting a request: {e}")))?;
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), &json] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    Ok(hash.finalize().to_vec())
}

/// The first half of an idempotent POST, inside its transaction: claims
/// `key` for this request. `Some(response)` is the answer already (the
/// stored first response); `None` means do the work, then [`complete`].
/// The same key with another request is 422.
pub async fn claim(
    tx: &Conn,
    key: &IdempotencyKey,
    request_hash: &[u8],
) -> Result<Option<Response>, ApiError> {
    let Some(key) = &key.0 else {
        return Ok(None);
    };
    match idempotency::claim(tx, key, request_hash).await? {
        Claim::New => Ok(None),
        Claim::Replay(stored) => Ok(Some(replay(stored))),
        Claim::Mismatch => {
            let message = "this key was already used for a different request";
            Err(ApiError::Unprocessable {
                rule: None,
                detail: message.into(),
                errors: vec![FieldError::new("Idempotency-Key", message)],
            })
        }
    }
}

/// The second half: stores `reply` under the claimed key, in the same
/// transaction as the work, and turns it into the response.
pub async fn complete(tx: &Conn, key: &IdempotencyKey, reply: Reply) -> Result<Response, ApiError> {
    if let Some(key) = &key.0 {
        idempotency::complete(tx, key, &reply.stored()).await?;
    }
    Ok(reply.into_response())
}
