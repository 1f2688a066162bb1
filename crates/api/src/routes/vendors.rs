//! `/v1/orgs/{org_id}/vendors` and `/v1/vendors/{id}`: an organization's
//! suppliers. Every member reads them; the finance capability (anywhere in
//! the organization) writes them.

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

/// Vendors: org-level reference data.
pub const VENDORS: Collection = Collection {
    table: &tables::VENDORS,
    read: Capability::Read,
    write: Capability::Finance,
    noun: "vendor",
    path: "/v1/vendors",
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_vendors, create_vendor))
        .routes(routes!(get_vendor, update_vendor, delete_vendor))
        .routes(routes!(restore_vendor))
}

/// A supplier.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Vendor {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The organization's root node (reference data belongs to it).
    pub node_id: Uuid,
    /// Name, unique in the organization (case-insensitively).
    pub name: String,
    /// Contact email.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

/// What `POST /v1/orgs/{org_id}/vendors` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVendor {
    /// Name (1 to 200 characters).
    pub name: String,
    /// Contact email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Contact phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewVendor {}

/// What `PATCH /v1/vendors/{id}` takes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorChanges {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Contact email; null to clear.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Contact phone; null to clear.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for VendorChanges {}

crate::org_list_routes!(
    collection = VENDORS,
    tag = "reference data",
    view = Vendor,
    new = NewVendor,
    path = "/v1/orgs/{org_id}/vendors",
    list = list_vendors,
    create = create_vendor
);
crate::row_routes!(
    collection = VENDORS,
    tag = "reference data",
    view = Vendor,
    patch = VendorChanges,
    one = "/v1/vendors/{id}",
    restore = "/v1/vendors/{id}/restore",
    get = get_vendor,
    update = update_vendor,
    delete = delete_vendor,
    restore_fn = restore_vendor
);
