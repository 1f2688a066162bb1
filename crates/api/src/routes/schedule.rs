//! `/v1/nodes/{id}/schedule-items` and `/v1/schedule-items/{id}`: the run
//! of show. Items overlapping another in the same location of the same
//! node are listed in `conflicts`; a node (or an ancestor) with
//! `settings.schedule.forbid_overlap` refuses them (409).

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use serde::{Deserialize, Serialize};
use showtree_core::Capability;
use showtree_db::domain::tables;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::nodes::Timestamp;
use crate::collection::{Body, Collection, RowPage, Universal};
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::NodeStatus;

/// Schedule items: read with the node, written with `write`.
pub const SCHEDULE_ITEMS: Collection = Collection {
    table: &tables::SCHEDULE_ITEMS,
    read: Capability::Read,
    write: Capability::Write,
    noun: "schedule_item",
    path: "/v1/schedule-items",
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_schedule_items, create_schedule_item))
        .routes(routes!(
            get_schedule_item,
            update_schedule_item,
            delete_schedule_item
        ))
        .routes(routes!(restore_schedule_item))
}

/// What a slot of the run of show is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    /// A set.
    Performance,
    /// Between sets.
    Changeover,
    /// A sound check.
    Soundcheck,
    /// Doors open.
    Doors,
    /// Load in.
    LoadIn,
    /// Load out.
    LoadOut,
    /// A meeting.
    Meeting,
    /// A broadcast.
    Broadcast,
    /// Anything else.
    Other,
}

/// One slot of the run of show.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScheduleItem {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The node it belongs to.
    pub node_id: Uuid,
    /// What happens.
    pub title: String,
    /// Its type.
    pub item_type: ItemType,
    /// A space within the node ("" = the node as a whole).
    pub location: String,
    /// Start.
    pub starts_at: Timestamp,
    /// End (after start).
    pub ends_at: Timestamp,
    /// Lifecycle status.
    pub status: NodeStatus,
    /// Details.
    pub description: String,
    /// Live items overlapping this one in the same location of the node.
    pub conflicts: Vec<Uuid>,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

fn check_range(starts: Option<Timestamp>, ends: Option<Timestamp>) -> Result<(), ApiError> {
    match (starts, ends) {
        (Some(s), Some(e)) if e.0 <= s.0 => Err(ApiError::invalid_field(
            "ends_at",
            "must be after starts_at",
        )),
        _ => Ok(()),
    }
}

/// What `POST /v1/nodes/{id}/schedule-items` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScheduleItem {
    /// What happens (1 to 300 characters).
    pub title: String,
    /// Its type (default other).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_type: Option<ItemType>,
    /// A space within the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Start.
    pub starts_at: Timestamp,
    /// End (after start).
    pub ends_at: Timestamp,
    /// Initial status (default planning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewScheduleItem {
    fn validate(&self) -> Result<(), ApiError> {
        check_range(Some(self.starts_at), Some(self.ends_at))
    }
}

/// What `PATCH /v1/schedule-items/{id}` takes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleItemChanges {
    /// What happens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_type: Option<ItemType>,
    /// A space within the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Timestamp>,
    /// End.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
    /// Lifecycle status (transitions are checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for ScheduleItemChanges {
    fn validate(&self) -> Result<(), ApiError> {
        check_range(self.starts_at, self.ends_at)
    }
}

crate::node_list_routes!(
    collection = SCHEDULE_ITEMS,
    tag = "schedule",
    view = ScheduleItem,
    new = NewScheduleItem,
    path = "/v1/nodes/{id}/schedule-items",
    list = list_schedule_items,
    create = create_schedule_item
);
crate::row_routes!(
    collection = SCHEDULE_ITEMS,
    tag = "schedule",
    view = ScheduleItem,
    patch = ScheduleItemChanges,
    one = "/v1/schedule-items/{id}",
    restore = "/v1/schedule-items/{id}/restore",
    get = get_schedule_item,
    update = update_schedule_item,
    delete = delete_schedule_item,
    restore_fn = restore_schedule_item
);
