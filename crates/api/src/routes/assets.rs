//! Equipment: the organization's inventory (`/v1/orgs/{org_id}/assets`,
//! `/v1/assets/{id}`) and where it is when (`/v1/nodes/{id}/assets` lists
//! and creates the node's assignments, `/v1/asset-assignments/{id}`). One
//! asset is never assigned twice for overlapping times (an exclusion
//! constraint).

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

/// Assets: org-level reference data; members with `write` change them.
pub const ASSETS: Collection = Collection {
    table: &tables::ASSETS,
    read: Capability::Read,
    write: Capability::Write,
    noun: "asset",
    path: "/v1/assets",
};

/// Asset assignments: read with the node, written with `write`.
pub const ASSET_ASSIGNMENTS: Collection = Collection {
    table: &tables::ASSET_ASSIGNMENTS,
    read: Capability::Read,
    write: Capability::Write,
    noun: "asset_assignment",
    path: "/v1/asset-assignments",
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_assets, create_asset))
        .routes(routes!(get_asset, update_asset, delete_asset))
        .routes(routes!(restore_asset))
        .routes(routes!(tag_asset))
        .routes(routes!(untag_asset))
        .routes(routes!(list_asset_assignments, create_asset_assignment))
        .routes(routes!(
            get_asset_assignment,
            update_asset_assignment,
            delete_asset_assignment
        ))
        .routes(routes!(restore_asset_assignment))
}

/// A piece of equipment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Asset {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The organization's root node (reference data belongs to it).
    pub node_id: Uuid,
    /// Name.
    pub name: String,
    /// Kind of equipment (audio, lighting, staging, ...).
    pub category: String,
    /// Serial number, unique in the organization.
    pub serial: Option<String>,
    /// Lifecycle status.
    pub status: NodeStatus,
    /// Its tags.
    pub tags: Vec<Uuid>,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

/// What `POST /v1/orgs/{org_id}/assets` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAsset {
    /// Name (1 to 200 characters).
    pub name: String,
    /// Kind of equipment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Initial status (default active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewAsset {}

/// What `PATCH /v1/assets/{id}` takes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetChanges {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind of equipment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Serial number; null to clear.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub serial: Option<Option<String>>,
    /// Lifecycle status (transitions are checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for AssetChanges {}

crate::org_list_routes!(
    collection = ASSETS,
    tag = "assets",
    view = Asset,
    new = NewAsset,
    path = "/v1/orgs/{org_id}/assets",
    list = list_assets,
    create = create_asset
);
crate::row_routes!(
    collection = ASSETS,
    tag = "assets",
    view = Asset,
    patch = AssetChanges,
    one = "/v1/assets/{id}",
    restore = "/v1/assets/{id}/restore",
    get = get_asset,
    update = update_asset,
    delete = delete_asset,
    restore_fn = restore_asset
);
crate::tag_routes!(
    collection = ASSETS,
    tag = "assets",
    view = Asset,
    add_path = "/v1/assets/{id}/tags",
    remove_path = "/v1/assets/{id}/tags/{tag_id}",
    add = tag_asset,
    remove = untag_asset
);

/// An asset at a node for a time range.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetAssignment {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The asset.
    pub asset_id: Uuid,
    /// Where it is.
    pub node_id: Uuid,
    /// From when.
    pub starts_at: Timestamp,
    /// Until when (exclusive); null: open-ended.
    pub ends_at: Option<Timestamp>,
    /// Notes.
    pub notes: String,
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

/// What `POST /v1/nodes/{id}/assets` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAssetAssignment {
    /// An asset of the node's organization.
    pub asset_id: Uuid,
    /// From when.
    pub starts_at: Timestamp,
    /// Until when (after starts_at); absent: open-ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewAssetAssignment {
    fn validate(&self) -> Result<(), ApiError> {
        check_range(Some(self.starts_at), self.ends_at)
    }
}

/// What `PATCH /v1/asset-assignments/{id}` takes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetAssignmentChanges {
    /// From when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Timestamp>,
    /// Until when; null: open-ended.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<Timestamp>>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for AssetAssignmentChanges {
    fn validate(&self) -> Result<(), ApiError> {
        check_range(self.starts_at, self.ends_at.flatten())
    }
}

crate::node_list_routes!(
    collection = ASSET_ASSIGNMENTS,
    tag = "assets",
    view = AssetAssignment,
    new = NewAssetAssignment,
    path = "/v1/nodes/{id}/assets",
    list = list_asset_assignments,
    create = create_asset_assignment
);
crate::row_routes!(
    collection = ASSET_ASSIGNMENTS,
    tag = "assets",
    view = AssetAssignment,
    patch = AssetAssignmentChanges,
    one = "/v1/asset-assignments/{id}",
    restore = "/v1/asset-assignments/{id}/restore",
    get = get_asset_assignment,
    update = update_asset_assignment,
    delete = delete_asset_assignment,
    restore_fn = restore_asset_assignment
);
