//! `/v1/nodes/{id}/crew-assignments` and `/v1/crew-assignments/{id}`: who
//! works where, when, in what role. The rate is money: shown only to the
//! finance capability (`rate_visible`), set only with it (403 otherwise).

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use serde::{Deserialize, Serialize};
use showtree_core::Capability;
use showtree_db::domain::tables;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::nodes::{Timestamp, nullable};
use crate::collection::{Body, Collection, RowPage, Universal};
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::NodeStatus;

/// Crew assignments: read with the node, written with `write` (the rate
/// with `finance`).
pub const CREW_ASSIGNMENTS: Collection = Collection {
    table: &tables::CREW_ASSIGNMENTS,
    read: Capability::Read,
    write: Capability::Write,
    noun: "crew_assignment",
    path: "/v1/crew-assignments",
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_crew_assignments, create_crew_assignment))
        .routes(routes!(
            get_crew_assignment,
            update_crew_assignment,
            delete_crew_assignment
        ))
        .routes(routes!(restore_crew_assignment))
}

/// What a rate is per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateUnit {
    /// Per hour.
    Hour,
    /// Per day.
    Day,
    /// For the whole assignment.
    Flat,
}

/// A person working at a node.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CrewAssignment {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// Where they work.
    pub node_id: Uuid,
    /// Who.
    pub person_id: Uuid,
    /// As what (stage manager, rigger, ...).
    pub role: String,
    /// Call time.
    pub call_at: Option<Timestamp>,
    /// Wrap time (after call).
    pub wrap_at: Option<Timestamp>,
    /// Lifecycle status (planning = tentative, active = confirmed).
    pub status: NodeStatus,
    /// Whether the caller may see the rate (finance); when not, the rate
    /// fields are null.
    pub rate_visible: bool,
    /// Rate in minor units of `currency`.
    pub rate_amount_minor: Option<i64>,
    /// ISO 4217 code of the rate.
    pub currency: Option<String>,
    /// What the rate is per.
    pub rate_unit: Option<RateUnit>,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

fn check_times(call: Option<Timestamp>, wrap: Option<Timestamp>) -> Result<(), ApiError> {
    match (call, wrap) {
        (Some(c), Some(w)) if w.0 <= c.0 => {
            Err(ApiError::invalid_field("wrap_at", "must be after call_at"))
        }
        _ => Ok(()),
    }
}

/// What `POST /v1/nodes/{id}/crew-assignments` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCrewAssignment {
    /// A person of the node's organization.
    pub person_id: Uuid,
    /// As what (1 to 100 characters).
    pub role: String,
    /// Call time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_at: Option<Timestamp>,
    /// Wrap time (after call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_at: Option<Timestamp>,
    /// Initial status (default planning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// Rate in minor units (finance only; with currency and rate_unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub rate_amount_minor: Option<i64>,
    /// ISO 4217 code of the rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// What the rate is per.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_unit: Option<RateUnit>,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewCrewAssignment {
    fn validate(&self) -> Result<(), ApiError> {
        check_times(self.call_at, self.wrap_at)
    }
}

/// What `PATCH /v1/crew-assignments/{id}` takes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrewAssignmentChanges {
    /// As what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Call time; null to clear.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub call_at: Option<Option<Timestamp>>,
    /// Wrap time; null to clear.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub wrap_at: Option<Option<Timestamp>>,
    /// Lifecycle status (transitions are checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// Rate in minor units (finance only); null to clear with the others.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub rate_amount_minor: Option<Option<i64>>,
    /// ISO 4217 code of the rate.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub currency: Option<Option<String>>,
    /// What the rate is per.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<RateUnit>)]
    pub rate_unit: Option<Option<RateUnit>>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for CrewAssignmentChanges {
    fn validate(&self) -> Result<(), ApiError> {
        check_times(self.call_at.flatten(), self.wrap_at.flatten())
    }
}

crate::node_list_routes!(
    collection = CREW_ASSIGNMENTS,
    tag = "crew",
    view = CrewAssignment,
    new = NewCrewAssignment,
    path = "/v1/nodes/{id}/crew-assignments",
    list = list_crew_assignments,
    create = create_crew_assignment
);
crate::row_routes!(
    collection = CREW_ASSIGNMENTS,
    tag = "crew",
    view = CrewAssignment,
    patch = CrewAssignmentChanges,
    one = "/v1/crew-assignments/{id}",
    restore = "/v1/crew-assignments/{id}/restore",
    get = get_crew_assignment,
    update = update_crew_assignment,
    delete = delete_crew_assignment,
    restore_fn = restore_crew_assignment
);
