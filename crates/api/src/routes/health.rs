//! `/healthz` (the process is up) and `/readyz` (the database answers and
//! its migrations are current).

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{Problem, problem_response};
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database answers and every migration is applied.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Not ready", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let detail = match state.db.ping().await {
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database unreachable");
            "the database does not answer"
        }
        Ok(()) => match state.db.migrations_current().await {
            Ok(true) => return Json(Health { status: "ready" }).into_response(),
            Ok(false) => "the database's migrations are not current",
            Err(e) => {
                tracing::warn!(error = %e, "not ready: cannot read the migrations");
                "the database does not answer"
            }
        },
    };
    // Not an ApiError: being unready is reported, not logged as a failure.
    problem_response(&Problem {
        type_: "urn:showtree:problem:not-ready".into(),
        title: "Service Unavailable".into(),
        status: 503,
        detail: detail.into(),
        rule: None,
        errors: Vec::new(),
    })
}
