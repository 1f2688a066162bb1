//! Cross-cutting request handling: problem+json for every error, 5xx
//! causes logged once, the per-request timeout, conditional GET, caching
//! rules.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, PROBLEM_JSON, Problem, ServerErrorCause, problem_response};
use crate::etag;

/// Turns every error response into problem+json (the router's own 404 and
/// 405, the body limit's 413, ...) and logs the cause of every 5xx, once,
/// inside the request's span; the cause never leaves the process.
pub async fn problems(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let status = response.status();
    if status.is_server_error() {
        match response.extensions_mut().remove::<ServerErrorCause>() {
            Some(ServerErrorCause(cause)) => {
                tracing::error!(status = status.as_u16(), cause = %cause, "request failed")
            }
            None => tracing::error!(status = status.as_u16(), "request failed"),
        }
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let problem = generic_problem(status);
        let headers = response.headers().clone();
        let mut replaced = problem_response(&problem);
        // keep Allow (405), Retry-After, WWW-Authenticate and the request id
        for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
            if let Some(v) = headers.get(&name) {
                replaced.headers_mut().insert(name, v.clone());
            }
        }
        return replaced;
    }
    response
}

/// The problem for an error response that came without one.
fn generic_problem(status: StatusCode) -> Problem {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge.problem(),
        StatusCode::NOT_FOUND => ApiError::NotFound.problem(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType.problem(),
        StatusCode::INTERNAL_SERVER_ERROR => ApiError::Internal(String::new()).problem(),
        _ => {
            let reason = status.canonical_reason().unwrap_or("Error");
            Problem {
                type_: "about:blank".into(),
                title: reason.into(),
                status: status.as_u16(),
                detail: reason.to_lowercase(),
                rule: None,
                errors: Vec::new(),
            }
        }
    }
}

/// Answers 503 when a request takes longer than the configured timeout;
/// dropping the handler's future rolls its transaction back.
pub async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(limit).into_response(),
    }
}

/// Conditional GET (RFC 9110 section 13.1.2): a successful GET or HEAD
/// whose `ETag` the request's `If-None-Match` names becomes 304 Not
/// Modified, with the ETag and no body. Judged on the response the handler
/// gave, so every read that sends an ETag honours it, and only where the
/// unconditional request succeeds (section 13.2.1: errors stay errors).
/// The handler has done its reads by then: 304 saves the transfer, not
/// the query.
pub async fn not_modified(request: Request, next: Next) -> Response {
    let if_none_match = if matches!(*request.method(), Method::GET | Method::HEAD) {
        joined(request.headers().get_all(header::IF_NONE_MATCH))
    } else {
        None
    };
    let response = next.run(request).await;
    let Some(if_none_match) = if_none_match else {
        return response;
    };
    let names_current = response.status().is_success()
        && response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|current| etag::none_match_names(&if_none_match, current));
    if !names_current {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::NOT_MODIFIED;
    // representation metadata goes with the body (section 15.4.5)
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::empty())
}

/// Caching rules (RFC 9111) for every response that does not set its own
/// `Cache-Control`. A resource's ETag names the row's version, but its body
/// depends on the caller (a crew rate is hidden without finance, a roll-up
/// lists the children the caller can read), so `/v1` answers are `private`
/// (a shared cache must not serve one caller's body to another),
/// `no-cache` (a client revalidates with `If-None-Match` before reuse) and
/// vary by `Authorization`. Credentials (`/v1/auth/...`) and health answers
/// are never stored.
pub async fn cache_policy(request: Request, next: Next) -> Response {
    let policy = cache_policy_for(request.uri().path());
    let mut response = next.run(request).await;
    let Some(policy) = policy else {
        return response;
    };
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    if policy == PRIVATE {
        let varies = headers.get_all(header::VARY).iter().any(|v| {
            v.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|name| name.trim().eq_ignore_ascii_case("authorization"))
            })
        });
        if !varies {
            headers.append(header::VARY, HeaderValue::from_static("authorization"));
        }
    }
    response
}

/// `Cache-Control` of caller-dependent answers.
const PRIVATE: &str = "private, no-cache";
/// `Cache-Control` of answers that must never be stored.
const NO_STORE: &str = "no-store";

/// The `Cache-Control` a path's answers get, if any.
fn cache_policy_for(path: &str) -> Option<&'static str> {
    if path.starts_with("/v1/auth/") || path == "/healthz" || path == "/readyz" {
        Some(NO_STORE)
    } else if path.starts_with("/v1/") {
        Some(PRIVATE)
    } else {
        None
    }
}

/// A header's lines joined by commas; `None` when absent or not text.
fn joined(values: header::GetAll<'_, HeaderValue>) -> Option<String> {
    let mut joined: Option<String> = None;
    for value in values {
        let text = value.to_str().ok()?;
        match &mut joined {
            Some(j) => {
                j.push(',');
                j.push_str(text);
            }
            None => joined = Some(text.to_owned()),
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_health_are_never_stored_and_v1_is_private() {
        assert_eq!(cache_policy_for("/v1/auth/login"), Some(NO_STORE));
        assert_eq!(cache_policy_for("/v1/auth/tokens/x"), Some(NO_STORE));
        assert_eq!(cache_policy_for("/readyz"), Some(NO_STORE));
        assert_eq!(cache_policy_for("/healthz"), Some(NO_STORE));
        assert_eq!(cache_policy_for("/v1/nodes/x"), Some(PRIVATE));
        assert_eq!(cache_policy_for("/v1/me"), Some(PRIVATE));
        assert_eq!(cache_policy_for("/openapi.json"), None);
        assert_eq!(cache_policy_for("/v1"), None);
    }
}
