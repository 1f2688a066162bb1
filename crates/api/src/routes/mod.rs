//! One router per resource; [`router`] puts them together with the
//! OpenAPI document.

pub mod access;
pub mod activity;
pub mod assets;
pub mod auth;
pub mod budget_lines;
pub mod crew;
pub mod documents;
pub mod fx_rates;
pub mod grants;
pub mod health;
pub mod invoices;
pub mod me;
pub mod nodes;
pub mod people;
pub mod rollups;
pub mod schedule;
pub mod search;
pub mod tags;
pub mod tasks;
pub mod vendors;

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
        .merge(tasks::router())
        .merge(activity::router())
        .merge(assets::router())
        .merge(budget_lines::router())
        .merge(crew::router())
        .merge(documents::router())
        .merge(invoices::router())
        .merge(people::router())
        .merge(rollups::router())
        .merge(schedule::router())
        .merge(search::router())
        .merge(tags::router())
        .merge(vendors::router())
        .merge(fx_rates::router())
}
