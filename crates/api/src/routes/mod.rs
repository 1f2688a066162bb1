//! One router per resource; [`router`] puts them together with the
//! OpenAPI document.

pub mod access;
pub mod auth;
pub mod grants;
pub mod health;
pub mod me;
pub mod nodes;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::openapi::ApiDoc;
use crate::state::AppState;

/// Every route, with its documentation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(auth::router())
        .merge(me::router())
        .merge(nodes::router())
        .merge(grants::router())
}
