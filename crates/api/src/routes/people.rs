//! `/v1/orgs/{org_id}/people` and `/v1/people/{id}`: crew, artists and
//! vendor staff of an organization, with or without a login. Every member
//! reads them; `write` anywhere in the organization changes them.

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

/// People: org-level reference data.
pub const PEOPLE: Collection = Collection {
    table: &tables::PEOPLE,
    read: Capability::Read,
    write: Capability::Write,
    noun: "person",
    path: "/v1/people",
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_people, create_person))
        .routes(routes!(get_person, update_person, delete_person))
        .routes(routes!(restore_person))
        .routes(routes!(tag_person))
        .routes(routes!(untag_person))
}

/// Who someone is to the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PersonKind {
    /// Crew.
    Crew,
    /// A performer.
    Artist,
    /// Works for a vendor.
    VendorStaff,
    /// The organization's own staff.
    Staff,
    /// Anyone else.
    Other,
}

/// A person.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Person {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The organization's root node (reference data belongs to it).
    pub node_id: Uuid,
    /// Name.
    pub name: String,
    /// Who they are to the organization.
    pub kind: PersonKind,
    /// Contact email.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
    /// Their login, when they have one.
    pub user_id: Option<Uuid>,
    /// The vendor they work for.
    pub vendor_id: Option<Uuid>,
    /// Their tags.
    pub tags: Vec<Uuid>,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

/// What `POST /v1/orgs/{org_id}/people` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    /// Name (1 to 200 characters).
    pub name: String,
    /// Who they are (default crew).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PersonKind>,
    /// Contact email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Contact phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Their login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// A vendor of the organization they work for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<Uuid>,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewPerson {}

/// What `PATCH /v1/people/{id}` takes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonChanges {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Who they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PersonKind>,
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
    /// Their login; null to clear.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Uuid>)]
    pub user_id: Option<Option<Uuid>>,
    /// Their vendor; null to clear.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Uuid>)]
    pub vendor_id: Option<Option<Uuid>>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for PersonChanges {}

crate::org_list_routes!(
    collection = PEOPLE,
    tag = "reference data",
    view = Person,
    new = NewPerson,
    path = "/v1/orgs/{org_id}/people",
    list = list_people,
    create = create_person
);
crate::row_routes!(
    collection = PEOPLE,
    tag = "reference data",
    view = Person,
    patch = PersonChanges,
    one = "/v1/people/{id}",
    restore = "/v1/people/{id}/restore",
    get = get_person,
    update = update_person,
    delete = delete_person,
    restore_fn = restore_person
);
crate::tag_routes!(
    collection = PEOPLE,
    tag = "reference data",
    view = Person,
    add_path = "/v1/people/{id}/tags",
    remove_path = "/v1/people/{id}/tags/{tag_id}",
    add = tag_person,
    remove = untag_person
);
