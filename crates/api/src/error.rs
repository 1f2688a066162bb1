//! The API's one error type and its wire form, RFC 9457 problem details.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use showtree_db::DbError;
use tokio_postgres::error::SqlState;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error body (RFC 9457).
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:showtree:problem:<name>`).
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The database rule that refused the request, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Which fields of the request were wrong, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldError {
    /// The field: a JSON path into the body (`organization.name`), or a
    /// path, query or header parameter's name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a handler can fail with. Each variant's doc says its status;
/// server-side causes (5xx) are logged once by
/// [`crate::middleware::problems`] and never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read (malformed JSON, bad path, query or
    /// header parameters).
    #[error("bad request: {detail}")]
    BadRequest {
        /// What is wrong.
        detail: Cow<'static, str>,
        /// Which parameters.
        errors: Vec<FieldError>,
    },
    /// 401: no credentials, or forged, expired or revoked ones.
    #[error("unauthenticated")]
    Unauthenticated,
    /// 401: login with a wrong email or password (one answer for both).
    #[error("login failed")]
    LoginFailed,
    /// 403: the caller can see the resource but lacks the capability.
    #[error("forbidden: {0}")]
    Forbidden(Cow<'static, str>),
    /// 404: no such resource, or one the caller cannot see.
    #[error("not found")]
    NotFound,
    /// 409: the request conflicts with the current state (a unique rule,
    /// the last owner, a deleted parent).
    #[error("conflict: {detail}")]
    Conflict {
        /// The rule that refused it.
        rule: Option<String>,
        /// What conflicts.
        detail: Cow<'static, str>,
        /// The fields involved.
        errors: Vec<FieldError>,
    },
    /// 412: `If-Match` names a version that is no longer current.
    #[error("precondition failed")]
    PreconditionFailed,
    /// 413: the body is larger than the configured limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 422: the request is well-formed but its content is invalid.
    #[error("unprocessable: {detail}")]
    Unprocessable {
        /// The rule that refused it, if the database did.
        rule: Option<String>,
        /// What is wrong.
        detail: Cow<'static, str>,
        /// Which fields.
        errors: Vec<FieldError>,
    },
    /// 428: a conditional request (`If-Match`) is required.
    #[error("precondition required")]
    PreconditionRequired,
    /// 429: too many attempts; retry after the given seconds.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// 503: the database is unreachable.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 503: the request ran out of time (the configured timeout).
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// 500: a bug or an unexpected state; the cause is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// 422 about one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::Unprocessable {
            rule: None,
            detail: Cow::Owned(message.clone()),
            errors: vec![FieldError::new(field, message)],
        }
    }

    /// 400 about one parameter.
    pub fn bad_parameter(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::BadRequest {
            detail: Cow::Owned(message.clone()),
            errors: vec![FieldError::new(field, message)],
        }
    }

    /// The HTTP status this error becomes.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::LoginFailed => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem body sent to the client.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (name, detail): (&str, Cow<'_, str>) = match self {
            ApiError::BadRequest { detail, .. } => ("bad-request", detail.clone()),
            ApiError::Unauthenticated => (
                "unauthenticated",
                "missing, invalid, expired or revoked credentials".into(),
            ),
            ApiError::LoginFailed => ("login-failed", "wrong email or password".into()),
            ApiError::Forbidden(d) => ("forbidden", d.clone()),
            ApiError::NotFound => ("not-found", "no such resource".into()),
            ApiError::Conflict { detail, .. } => ("conflict", detail.clone()),
            ApiError::PreconditionFailed => (
                "stale",
                "If-Match does not name the current version: read the resource again".into(),
            ),
            ApiError::PayloadTooLarge => (
                "payload-too-large",
                "the request body is larger than the limit".into(),
            ),
            ApiError::UnsupportedMediaType => (
                "unsupported-media-type",
                "send the body as application/json".into(),
            ),
            ApiError::Unprocessable { detail, .. } => ("validation", detail.clone()),
            ApiError::PreconditionRequired => (
                "precondition-required",
                "this request needs an If-Match header with the resource's ETag".into(),
            ),
            ApiError::TooManyRequests { .. } => {
                ("rate-limited", "too many attempts; try again later".into())
            }
            ApiError::Unavailable(_) => (
                "unavailable",
                "the service cannot reach its database right now; retry shortly".into(),
            ),
            ApiError::Timeout(_) => (
                "timeout",
                "the request took longer than the service allows; retry".into(),
            ),
            ApiError::Internal(_) => ("internal", "an internal error occurred".into()),
        };
        let (rule, errors) = match self {
            ApiError::BadRequest { errors, .. } => (None, errors.clone()),
            ApiError::Conflict { rule, errors, .. }
            | ApiError::Unprocessable { rule, errors, .. } => (rule.clone(), errors.clone()),
            _ => (None, Vec::new()),
        };
        Problem {
            type_: format!("urn:showtree:problem:{name}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into_owned(),
            rule,
            errors,
        }
    }
}

/// The cause of a 5xx, handed to the logging middleware in the response's
/// extensions (and removed there: it never reaches the client).
#[derive(Debug, Clone)]
pub struct ServerErrorCause(pub String);

/// A problem+json response for `status` with `detail`, for errors that do
/// not come from a handler (the router's 404/405, the body limit).
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = problem_response(&self.problem());
        match &self {
            ApiError::Unauthenticated | ApiError::LoginFailed => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyRequests { retry_after } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            ApiError::Unavailable(cause) | ApiError::Internal(cause) => {
                response
                    .extensions_mut()
                    .insert(ServerErrorCause(cause.clone()));
            }
            ApiError::Timeout(limit) => {
                response
                    .extensions_mut()
                    .insert(ServerErrorCause(format!("timed out after {limit:?}")));
            }
            _ => {}
        }
        response
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> ApiError {
        match e {
            DbError::NotFound => ApiError::NotFound,
            DbError::Rule {
                rule,
                code,
                message,
            } => rule_error(&rule, &code, &message),
            DbError::Forbidden { rule, .. } => {
                let detail = match rule.as_str() {
                    "grants_not_allowed" => "you may not grant roles here",
                    "grants_explain_denied" => "you may not explain another user's access here",
                    "crew_assignments_rate_finance" => {
                        "setting a rate needs the finance capability"
                    }
                    _ => "not allowed",
                };
                ApiError::Forbidden(detail.into())
            }
            DbError::Invalid(message) => ApiError::Unprocessable {
                rule: None,
                detail: message.into(),
                errors: Vec::new(),
            },
            DbError::Unexpected(message) => ApiError::Internal(message),
            DbError::Pool(e) => ApiError::Unavailable(format!("connection pool: {e}")),
            DbError::Postgres(e) => postgres_error(e),
        }
    }
}

/// A database failure that is not a named rule.
fn postgres_error(e: tokio_postgres::Error) -> ApiError {
    let cause = showtree_db::connect::describe(&e);
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection broke (server gone, socket closed).
        return ApiError::Unavailable(cause);
    };
    let class = &code.code()[..2];
    if class == "08" // connection exception
        || class == "53" // insufficient resources (too many connections)
        || class == "57" // operator intervention: shutdown, statement timeout
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
    {
        return ApiError::Unavailable(cause);
    }
    if class == "22" {
        // data exception: a value the client sent that the column refuses
        return ApiError::Unprocessable {
            rule: None,
            detail: "a value is out of range or malformed".into(),
            errors: Vec::new(),
        };
    }
    ApiError::Internal(cause)
}

/// How a named database rule reaches the client: status, field, message.
struct RuleMapping {
    conflict: bool,
    field: Option<&'static str>,
    detail: &'static str,
}

const fn unprocessable(field: &'static str, detail: &'static str) -> RuleMapping {
    RuleMapping {
        conflict: false,
        field: Some(field),
        detail,
    }
}

const fn conflict(field: &'static str, detail: &'static str) -> RuleMapping {
    RuleMapping {
        conflict: true,
        field: Some(field),
        detail,
    }
}

/// The rules of migrations 0002 and 0003 (see docs/ARCHITECTURE.md), by
/// name. Unknown rules fall back on their SQLSTATE class.
fn rule_mapping(rule: &str) -> Option<RuleMapping> {
    Some(match rule {
        "nodes_kind_rule" => unprocessable(
            "parent_id",
            "a node of this kind cannot be placed under that parent",
        ),
        "nodes_no_cycle" => unprocessable(
            "parent_id",
            "a node cannot be moved under itself or its own descendant",
        ),
        "nodes_parent_fkey" => unprocessable("parent_id", "no such node in this organization"),
        "nodes_depth_check" => {
            unprocessable("parent_id", "the hierarchy is at most 10 levels deep")
        }
        "nodes_parent_live" => {
            conflict("parent_id", "the parent node is deleted: restore it first")
        }
        "nodes_slug_key" => conflict("slug", "a sibling already has this slug"),
        "nodes_slug_check" => unprocessable(
            "slug",
            "lowercase letters and digits in words joined by single hyphens",
        ),
        "nodes_name_check" => unprocessable("name", "must be 1 to 200 characters"),
        "nodes_metadata_check" => unprocessable("metadata", "must be a JSON object"),
        "nodes_kind_immutable" => unprocessable("kind", "a node cannot change kind"),
        "nodes_identity_immutable" => {
            unprocessable("id", "a node cannot change organization or id")
        }
        "nodes_ancestors_managed" => {
            unprocessable("ancestors", "ancestors are maintained by the database")
        }
        "nodes_root_check" | "nodes_org_root_check" => unprocessable(
            "kind",
            "organizations are roots; every other node needs a parent",
        ),
        "nodes_status_transition" => unprocessable(
            "status",
            "that status change is not allowed from the current status",
        ),
        "organizations_base_currency_check" => {
            unprocessable("base_currency", "three uppercase letters (ISO 4217)")
        }
        "organizations_timezone_check" | "activations_timezone_check" => {
            unprocessable("timezone", "not a known IANA time zone")
        }
        "activations_dates_check" => unprocessable("ends_at", "must not be before starts_at"),
        "activations_venue_check" => unprocessable("venue", "at most 500 characters"),
        "activations_capacity_check" => unprocessable("capacity", "must be positive"),
        "workspaces_workspace_type_check" => unprocessable(
            "workspace_type",
            "one of stage, area, department, zone, team, venue, office, other",
        ),
        "projects_description_check" | "productions_description_check" => {
            unprocessable("description", "at most 10000 characters")
        }
        "users_email_key" => conflict("email", "an account with this email already exists"),
        "users_email_check" => unprocessable("email", "not a valid email address"),
        "users_display_name_check" => unprocessable("display_name", "at most 200 characters"),
        "grants_role_above_own" => RuleMapping {
            conflict: false,
            field: Some("role"),
            detail: "you cannot grant a role above your own, or change an owner's grant",
        },
        "grants_last_owner" => conflict("role", "an organization keeps at least one owner"),
        "grants_node_live" => conflict("node_id", "grants go on live nodes"),
        "grants_node_user_key" => conflict("user_id", "the user already has a grant here"),
        "grants_user_id_fkey" => unprocessable("user_id", "no such user"),
        "api_tokens_name_check" => unprocessable("name", "must be 1 to 100 characters"),
        _ => return None,
    })
}

/// A named rule as a client error. A few rules are about permission, not
/// data, and become 403.
fn rule_error(rule: &str, code: &str, message: &str) -> ApiError {
    if matches!(
        rule,
        "grants_role_above_own"
            | "grants_not_allowed"
            | "grants_explain_denied"
            | "crew_assignments_rate_finance"
    ) {
        let detail = rule_mapping(rule).map_or("not allowed", |m| m.detail);
        return ApiError::Forbidden(detail.into());
    }
    if let Some(m) = rule_mapping(rule) {
        let errors = m
            .field
            .map(|f| vec![FieldError::new(f, m.detail)])
            .unwrap_or_default();
        let (rule, detail) = (Some(rule.to_owned()), Cow::Borrowed(m.detail));
        return if m.conflict {
            ApiError::Conflict {
                rule,
                detail,
                errors,
            }
        } else {
            ApiError::Unprocessable {
                rule,
                detail,
                errors,
            }
        };
    }
    if let Some((conflict, field, detail)) = domain_rule(rule) {
        let errors = vec![FieldError::new(field, detail)];
        let (rule, detail) = (Some(rule.to_owned()), Cow::Borrowed(detail));
        return if conflict {
            ApiError::Conflict {
                rule,
                detail,
                errors,
            }
        } else {
            ApiError::Unprocessable {
                rule,
                detail,
                errors,
            }
        };
    }
    // An unknown rule: the message names the rule, not data (DbError::Rule).
    let detail = Cow::Owned(message.to_owned());
    let rule = Some(rule.to_owned());
    if code == SqlState::UNIQUE_VIOLATION.code() || code == SqlState::EXCLUSION_VIOLATION.code() {
        ApiError::Conflict {
            rule,
            detail,
            errors: Vec::new(),
        }
    } else {
        ApiError::Unprocessable {
            rule,
            detail,
            errors: Vec::new(),
        }
    }
}

/// The domain tables (migration 0005), longest name first so a prefix
/// match finds the right one.
const DOMAIN_TABLES: [&str; 18] = [
    "asset_assignments",
    "crew_assignments",
    "schedule_items",
    "document_tags",
    "invoice_lines",
    "budget_lines",
    "invoice_tags",
    "person_tags",
    "asset_tags",
    "task_tags",
    "documents",
    "invoices",
    "fx_rates",
    "vendors",
    "people",
    "assets",
    "tasks",
    "tags",
];

/// Specific messages of domain rules; the others get one by their kind.
fn domain_detail(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "asset_assignments_overlap_excl" => "the asset is assigned elsewhere for part of this time",
        "schedule_items_overlap_excl" => {
            "this slot overlaps another item in the same location, which this node forbids"
        }
        "invoices_vendor_number_key" => "this vendor already has an invoice with this number",
        "vendors_name_key" | "tags_name_key" => "the organization already has one with this name",
        "assets_serial_key" => "the organization already has an asset with this serial",
        "people_user_key" => "this user is already a person of the organization",
        "documents_series_version_key" => "this version of the document already exists",
        "invoices_status_check" => "invoices do not use this status",
        "crew_assignments_rate_check" => "rate_amount_minor, currency and rate_unit go together",
        "invoices_due_on_check" => "must not be before issued_on",
        "asset_assignments_ends_at_check" | "schedule_items_ends_at_check" => {
            "must be after starts_at"
        }
        "crew_assignments_wrap_at_check" => "must be after call_at",
        "invoice_lines_quantity_check" | "fx_rates_rate_check" => "must be positive",
        "fx_rates_currency_date_key" => {
            "the organization already has a rate for this currency on this day"
        }
        _ if rule.ends_with("_currency_check") => "not an ISO 4217 currency code",
        _ if rule.ends_with("_amount_minor_check") || rule.ends_with("_size_bytes_check") => {
            "must not be negative"
        }
        _ if rule.ends_with("_metadata_check") => "must be a JSON object",
        _ if rule.ends_with("_status_transition") => "this status change is not allowed",
        _ if rule.ends_with("_org_id_immutable") => "a row never moves to another organization",
        _ => return None,
    })
}

/// A rule of a domain table as `(conflict, field, detail)`, from its name
/// (`<table>_<column>_<kind>`, DESIGN.md section 4).
fn domain_rule(rule: &str) -> Option<(bool, String, &'static str)> {
    let table = DOMAIN_TABLES
        .iter()
        .find(|t| rule.starts_with(*t) && rule.as_bytes().get(t.len()) == Some(&b'_'))?;
    let rest = &rule[table.len() + 1..];
    let detail = domain_detail(rule);
    if rest == "status_transition" || rest == "org_id_immutable" {
        let field = if rest == "org_id_immutable" {
            "org_id"
        } else {
            "status"
        };
        return Some((false, field.to_owned(), detail?));
    }
    if let Some(col) = rest.strip_suffix("_fkey") {
        let field = if col.ends_with("_id") || col.ends_with("_to") || col.ends_with("_by") {
            col.to_owned()
        } else {
            format!("{col}_id")
        };
        return Some((false, field, "no such row in this organization"));
    }
    if let Some(col) = rest.strip_suffix("_check") {
        let field = match col {
            "rate" if *table == "crew_assignments" => "rate_amount_minor",
            "node_org" => "node_id",
            c => c,
        };
        return Some((
            false,
            field.to_owned(),
            detail.unwrap_or("not a valid value here"),
        ));
    }
    if let Some(cols) = rest.strip_suffix("_key").or((rest == "key").then_some("")) {
        let field = match cols {
            "vendor_number" => "number",
            "series_version" => "version",
            "currency_date" => "rate_date",
            "user" => "user_id",
            // tag links: (row, tag) pairs
            "" => "tag_id",
            c => c,
        };
        return Some((true, field.to_owned(), detail.unwrap_or("already exists")));
    }
    if rest.ends_with("_excl") {
        return Some((true, "starts_at".to_owned(), detail?));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, code: &str) -> DbError {
        DbError::Rule {
            rule: name.into(),
            code: code.into(),
            message: format!("{name} violated"),
        }
    }

    #[test]
    fn rules_map_by_name_to_status_and_field() {
        let e = ApiError::from(rule("nodes_slug_key", "23505"));
        assert_eq!(e.status(), StatusCode::CONFLICT);
        assert_eq!(e.problem().errors[0].field, "slug");
        let e = ApiError::from(rule("nodes_kind_rule", "23514"));
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.problem().rule.as_deref(), Some("nodes_kind_rule"));
        assert_eq!(
            ApiError::from(rule("grants_role_above_own", "23514")).status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            ApiError::from(rule("grants_last_owner", "23514")).status(),
            StatusCode::CONFLICT
        );
    }

    #[test]
    fn unknown_rules_fall_back_on_their_class() {
        assert_eq!(
            ApiError::from(rule("tasks_title_key", "23505")).status(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            ApiError::from(rule("tasks_title_check", "23514")).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn server_errors_never_carry_their_cause_in_the_body() {
        let response = ApiError::Internal("select secret from vault".into()).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.extensions().get::<ServerErrorCause>().is_some());
        let problem = ApiError::Internal("select secret from vault".into()).problem();
        assert!(!problem.detail.contains("secret"));
    }
}
