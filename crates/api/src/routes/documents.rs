//! `/v1/nodes/{id}/documents`, `/v1/documents/{id}` and
//! `/v1/documents/{id}/versions`: the metadata of a node's files (the bytes
//! live in object storage under `storage_key`). A new version is a new row
//! of the same series; older versions stay.

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use showtree_core::Capability;
use showtree_db::Sql;
use showtree_db::domain::{self, tables};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::nodes::IdempotencyHeader;
use crate::auth::Auth;
use crate::collection::{self, Body, Collection, RowId, RowPage, Universal, values_of};
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, JsonBody, Path};
use crate::idempotency::{self, Reply, fingerprint};
use crate::routes::access::audit_denial;
use crate::state::AppState;
use crate::wire::NodeStatus;

/// Documents: read with the node, written with `write`.
pub const DOCUMENTS: Collection = Collection {
    table: &tables::DOCUMENTS,
    read: Capability::Read,
    write: Capability::Write,
    noun: "document",
    path: "/v1/documents",
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_documents, create_document))
        .routes(routes!(get_document, update_document, delete_document))
        .routes(routes!(restore_document))
        .routes(routes!(create_document_version))
        .routes(routes!(tag_document))
        .routes(routes!(untag_document))
}

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A contract.
    Contract,
    /// An artist's rider.
    Rider,
    /// A stage plot.
    StagePlot,
    /// A permit.
    Permit,
    /// An insurance certificate.
    Insurance,
    /// A plan (site, power, ...).
    Plan,
    /// A scanned invoice.
    InvoiceScan,
    /// Anything else.
    Other,
}

/// One version of a document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Document {
    /// Its id (this version's).
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The node it belongs to.
    pub node_id: Uuid,
    /// The first version's id, shared by every version.
    pub series_id: Uuid,
    /// 1 for the first version, then 2, 3, ...
    pub version: i32,
    /// Title.
    pub title: String,
    /// What it is.
    pub kind: DocumentKind,
    /// Lifecycle status.
    pub status: NodeStatus,
    /// Where the bytes are.
    pub storage_key: String,
    /// Media type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// `sha256:<hex>` of the bytes.
    pub checksum: String,
    /// Its tags.
    pub tags: Vec<Uuid>,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

/// What `POST /v1/nodes/{id}/documents` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    /// Title (1 to 300 characters).
    pub title: String,
    /// What it is (default other).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// Initial status (default active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// Where the bytes are (1 to 1024 characters).
    pub storage_key: String,
    /// Media type (`application/pdf`).
    pub content_type: String,
    /// Size in bytes.
    #[schema(minimum = 0)]
    pub size_bytes: i64,
    /// `sha256:` and 64 lowercase hex digits.
    pub checksum: String,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewDocument {}

/// What `POST /v1/documents/{id}/versions` takes: the new bytes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    /// Where the new bytes are.
    pub storage_key: String,
    /// Media type.
    pub content_type: String,
    /// Size in bytes.
    #[schema(minimum = 0)]
    pub size_bytes: i64,
    /// `sha256:` and 64 lowercase hex digits.
    pub checksum: String,
    /// A new title (default: the previous version's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// What `PATCH /v1/documents/{id}` takes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentChanges {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// Lifecycle status (transitions are checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for DocumentChanges {}

crate::node_list_routes!(
    collection = DOCUMENTS,
    tag = "documents",
    view = Document,
    new = NewDocument,
    path = "/v1/nodes/{id}/documents",
    list = list_documents,
    create = create_document
);
crate::row_routes!(
    collection = DOCUMENTS,
    tag = "documents",
    view = Document,
    patch = DocumentChanges,
    one = "/v1/documents/{id}",
    restore = "/v1/documents/{id}/restore",
    get = get_document,
    update = update_document,
    delete = delete_document,
    restore_fn = restore_document
);
crate::tag_routes!(
    collection = DOCUMENTS,
    tag = "documents",
    view = Document,
    add_path = "/v1/documents/{id}/tags",
    remove_path = "/v1/documents/{id}/tags/{tag_id}",
    add = tag_document,
    remove = untag_document
);

/// Adds a new version to a document's series (any version's id names the
/// series); the older versions stay.
#[utoipa::path(post, path = "/v1/documents/{id}/versions", tag = "documents",
    security(("bearer" = [])),
    params(RowId, IdempotencyHeader),
    request_body = NewVersion,
    responses((status = 201, description = "The new version", body = Document,
        headers(("ETag" = String, description = "The version's ETag"),
                ("Location" = String, description = "The version's URL")))))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create_document_version(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    Path(RowId { id }): Path<RowId>,
    JsonBody(body): JsonBody<NewVersion>,
) -> Result<Response, ApiError> {
    let hash = fingerprint("POST", &format!("/v1/documents/{id}/versions"), &body)?;
    let mut values = values_of(&body)?;
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            if let Some(replay) = idempotency::claim(tx, &key, &hash).await? {
                return Ok(replay);
            }
            let (org_id, node_id) =
                collection::require_row(tx, &DOCUMENTS, id, Capability::Write).await?;
            target = Some((org_id, node_id));
            let current = domain::get(tx, &tables::DOCUMENTS, id, false).await?;
            let series = current["series_id"].clone();
            let next = tx
                .query_one(
                    "select coalesce(max(version), 0) + 1 from showtree.documents \
                      where org_id = $1 and series_id = $2",
                    &[
                        &org_id,
                        &collection::row_id(&serde_json::json!({"id": series})),
                    ],
                )
                .await
                .map_err(showtree_db::DbError::from)?
                .try_get::<_, i32>(0)
                .map_err(showtree_db::DbError::from)?;
            values.insert("series_id".into(), series);
            values.insert("version".into(), serde_json::json!(next));
            for inherited in ["title", "kind", "status"] {
                if !values.contains_key(inherited) {
                    values.insert(inherited.into(), current[inherited].clone());
                }
            }
            let row =
                domain::insert(tx, &tables::DOCUMENTS, org_id, Some(node_id), &values).await?;
            let etag = collection::etag_of(&row);
            let location = format!("/v1/documents/{}", collection::row_id(&row));
            let view: Document = collection::typed(row)?;
            let reply = Reply::json(StatusCode::CREATED, &view)?
                .with_etag(etag)
                .with_location(location);
            idempotency::complete(tx, &key, reply).await
        })
        .await;
    audit_denial(
        &state,
        &auth,
        target,
        "document.version",
        result.as_ref().err(),
    )
    .await;
    result
}
