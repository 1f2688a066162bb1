//! Extractors that answer bad input in the API's own problem+json shape:
//! axum's rejections are plain text, so JSON bodies, paths and queries are
//! read through these wrappers instead.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header, request::Parts};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// A JSON request body of type `T`: 415 unless the body is JSON, 413 when
/// too large, 400 when it is not JSON at all, 422 naming the field when it
/// does not fit `T` (wrong types, missing or unknown fields, invalid
/// values).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection)?;
        parse_json(&bytes).map(JsonBody)
    }
}

fn bytes_rejection(e: BytesRejection) -> ApiError {
    match e {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            ApiError::PayloadTooLarge
        }
        other => ApiError::BadRequest {
            detail: format!("cannot read the request body: {}", other.body_text()).into(),
            errors: Vec::new(),
        },
    }
}

/// Parses a JSON body into `T` with the error model of [`JsonBody`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                let field = field_name(&path, &message);
                ApiError::Unprocessable {
                    rule: None,
                    detail: format!("{field}: {message}").into(),
                    errors: vec![FieldError::new(field, message)],
                }
            }
            _ => ApiError::BadRequest {
                detail: format!("the body is not valid JSON: {inner}").into(),
                errors: Vec::new(),
            },
        }
    })?;
    de.end().map_err(|e| ApiError::BadRequest {
        detail: format!("the body is not valid JSON: {e}").into(),
        errors: Vec::new(),
    })?;
    Ok(value)
}

/// serde_json appends " at line L column C", which says nothing to a
/// client that sent the field by name.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The field an error is about: the path where deserializing stopped, or,
/// for a missing or unknown field (reported on the enclosing object), that
/// field's name appended to it.
fn field_name(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    let parent = if path == "." { "" } else { path };
    match named {
        // serde_path_to_error already ends the path with an unknown field.
        Some(name) if parent.ends_with(name) => parent.to_owned(),
        Some(name) if parent.is_empty() => name.to_owned(),
        Some(name) => format!("{parent}.{name}"),
        None if parent.is_empty() => "body".to_owned(),
        None => parent.to_owned(),
    }
}

/// Path parameters: a malformed one (a bad UUID) is a 400 naming it.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind;
                let field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => key.clone(),
                    _ => "path".to_owned(),
                };
                let message = match e.kind() {
                    ErrorKind::ParseErrorAtKey { expected_type, .. }
                        if expected_type.contains("Uuid") =>
                    {
                        "not a UUID".to_owned()
                    }
                    _ => e.body_text(),
                };
                Err(ApiError::bad_parameter(field, message))
            }
            Err(e) => Err(ApiError::Internal(format!(
                "path extraction: {}",
                e.body_text()
            ))),
        }
    }
}

/// Query parameters: malformed ones are a 400 naming the parameter.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                let field = field_name(&path, &message);
                let field = if field == "body" {
                    "query".to_owned()
                } else {
                    field
                };
                ApiError::bad_parameter(field, message)
            })
    }
}

/// The `If-Match` header, required: 428 without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub crate::etag::Precondition);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let values: Vec<&str> = parts
            .headers
            .get_all(header::IF_MATCH)
            .iter()
            .map(|v| v.to_str())
            .collect::<Result<_, _>>()
            .map_err(|_| ApiError::bad_parameter("If-Match", "not a valid header value"))?;
        if values.is_empty() {
            return Err(ApiError::PreconditionRequired);
        }
        crate::etag::Precondition::parse(&values.join(","))
            .map(IfMatch)
            .ok_or_else(|| ApiError::bad_parameter("If-Match", "expected * or a list of ETags"))
    }
}

/// The optional `Idempotency-Key` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let invalid =
            || ApiError::bad_parameter("Idempotency-Key", "1 to 255 visible ASCII characters");
        let key = value.to_str().map_err(|_| invalid())?.trim();
        if key.is_empty()
            || key.len() > MAX_IDEMPOTENCY_KEY
            || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        {
            return Err(invalid());
        }
        Ok(IdempotencyKey(Some(key.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        email: String,
        organization: Inner,
    }

    fn field_of(body: &str) -> (u16, String) {
        let e = parse_json::<Outer>(body.as_bytes()).expect_err("must fail");
        let p = e.problem();
        (
            p.status,
            p.errors
                .first()
                .map(|f| f.field.clone())
                .unwrap_or_default(),
        )
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(
            field_of(r#"{"email":"a@b","organization":{"name":5}}"#),
            (422, "organization.name".into())
        );
        assert_eq!(
            field_of(r#"{"email":"a@b","organization":{}}"#),
            (422, "organization.name".into())
        );
        assert_eq!(
            field_of(r#"{"email":"a@b","organization":{"name":"x"},"extra":1}"#),
            (422, "extra".into())
        );
        assert_eq!(field_of(r#"{"email":"a@b""#).0, 400);
        assert_eq!(
            field_of(r#"{"email":"a@b","organization":{"name":"x"}} trailing"#).0,
            400
        );
    }
}
