//! `/v1/nodes/{id}/budget-lines` and `/v1/budget-lines/{id}`: planned money
//! of a node; reading or changing it needs the finance capability.

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use serde::{Deserialize, Serialize};
use showtree_core::Capability;
use showtree_db::domain::tables;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::collection::{Body, Collection, RowPage, Universal};
use crate::state::AppState;

/// Budget lines: finance only.
pub const BUDGET_LINES: Collection = Collection {
    table: &tables::BUDGET_LINES,
    read: Capability::Finance,
    write: Capability::Finance,
    noun: "budget_line",
    path: "/v1/budget-lines",
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_budget_lines, create_budget_line))
        .routes(routes!(
            get_budget_line,
            update_budget_line,
            delete_budget_line
        ))
        .routes(routes!(restore_budget_line))
}

/// A planned amount of one category at a node.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BudgetLine {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The node it plans for.
    pub node_id: Uuid,
    /// What it is for (staging, security, ...).
    pub category: String,
    /// Details.
    pub description: String,
    /// The planned amount in minor units of `currency`.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

/// What `POST /v1/nodes/{id}/budget-lines` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBudgetLine {
    /// What it is for (1 to 100 characters).
    pub category: String,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Planned amount in minor units (not negative).
    #[schema(minimum = 0)]
    pub amount_minor: i64,
    /// ISO 4217 code.
    #[schema(min_length = 3, max_length = 3)]
    pub currency: String,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewBudgetLine {}

/// What `PATCH /v1/budget-lines/{id}` takes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetLineChanges {
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Planned amount in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub amount_minor: Option<i64>,
    /// ISO 4217 code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for BudgetLineChanges {}

crate::node_list_routes!(
    collection = BUDGET_LINES,
    tag = "finance",
    view = BudgetLine,
    new = NewBudgetLine,
    path = "/v1/nodes/{id}/budget-lines",
    list = list_budget_lines,
    create = create_budget_line
);
crate::row_routes!(
    collection = BUDGET_LINES,
    tag = "finance",
    view = BudgetLine,
    patch = BudgetLineChanges,
    one = "/v1/budget-lines/{id}",
    restore = "/v1/budget-lines/{id}/restore",
    get = get_budget_line,
    update = update_budget_line,
    delete = delete_budget_line,
    restore_fn = restore_budget_line
);
