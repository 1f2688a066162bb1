//! `/v1/orgs/{org_id}/tags` and `/v1/tags/{id}`: an organization's labels.
//! Rows are tagged through their own routes (`POST /v1/tasks/{id}/tags`).

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use serde::{Deserialize, Serialize};
use showtree_core::Capability;
use showtree_db::domain::tables;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::nodes::nullable;
use crate::collection::{Body, Collection, RowPage, Universal};
use crate::state::AppState;

/// Tags: org-level reference data.
pub const TAGS: Collection = Collection {
    table: &tables::TAGS,
    read: Capability::Read,
    write: Capability::Write,
    noun: "tag",
    path: "/v1/tags",
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tags, create_tag))
        .routes(routes!(get_tag, update_tag, delete_tag))
        .routes(routes!(restore_tag))
}

/// A label.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Tag {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The organization's root node (reference data belongs to it).
    pub node_id: Uuid,
    /// Name, unique in the organization (case-insensitively).
    pub name: String,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

/// What `POST /v1/orgs/{org_id}/tags` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    /// Name (1 to 60 characters).
    pub name: String,
    /// `#rrggbb`, lowercase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewTag {}

/// What `PATCH /v1/tags/{id}` takes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagChanges {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `#rrggbb`; null to clear.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub color: Option<Option<String>>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for TagChanges {}

crate::org_list_routes!(
    collection = TAGS,
    tag = "reference data",
    view = Tag,
    new = NewTag,
    path = "/v1/orgs/{org_id}/tags",
    list = list_tags,
    create = create_tag
);
crate::row_routes!(
    collection = TAGS,
    tag = "reference data",
    view = Tag,
    patch = TagChanges,
    one = "/v1/tags/{id}",
    restore = "/v1/tags/{id}/restore",
    get = get_tag,
    update = update_tag,
    delete = delete_tag,
    restore_fn = restore_tag
);
