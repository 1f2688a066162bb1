//! The request flow every domain collection shares (tasks, invoices, ...):
//! who may do what, pages, ETags, idempotent creation, soft delete and
//! restore, tags. Each resource module (`routes/tasks.rs`, ...) declares its
//! typed bodies and views and its documented handlers, which call these.
//!
//! Access is decided twice on purpose: here, so a caller who can read a
//! node but lacks the capability gets 403 and one who cannot read it 404;
//! and by the tables' Row Level Security, which holds whatever this code
//! does.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use showtree_core::Capability;
use showtree_db::Conn;
use showtree_db::DbError;
use showtree_db::domain::{self, ListQuery, Owner, Scope, Table};
use showtree_db::nodes::{self, Node};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::etag::{ETag, Precondition};
use crate::extract::IdempotencyKey;
use crate::idempotency::{self, Reply, fingerprint};
use crate::pagination::{Page, PageParams};
use crate::routes::access::{audit_denial, require};
use crate::routes::nodes::Timestamp;
use crate::state::AppState;
use crate::wire::NodeStatus;

/// A create or update body: checks beyond its types, and columns it
/// implies.
pub trait Body {
    /// Checks what serde's types cannot (400/422 naming the field).
    fn validate(&self) -> Result<(), ApiError> {
        Ok(())
    }
    /// Columns added to the body's own (none by default).
    fn extra(&self) -> Map<String, Value> {
        Map::new()
    }
}

/// The columns every row view carries.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Universal {
    /// Free-form attributes (an object).
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it was soft-deleted; null when live.
    pub deleted_at: Option<Timestamp>,
    /// Who created it.
    pub created_by: Option<Uuid>,
    /// Who changed it last.
    pub updated_by: Option<Uuid>,
    /// Who deleted it.
    pub deleted_by: Option<Uuid>,
}

/// One collection: its table, the capabilities it needs, its names.
#[derive(Debug, Clone, Copy)]
pub struct Collection {
    /// The table.
    pub table: &'static Table,
    /// What reading needs (at the owning node).
    pub read: Capability,
    /// What writing needs.
    pub write: Capability,
    /// The singular, for audit actions (`task.create`).
    pub noun: &'static str,
    /// The path of one row, without the id (`/v1/tasks`).
    pub path: &'static str,
}

/// Whether a node-scoped list covers the node alone or its subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListScope {
    /// Rows of this node only.
    #[default]
    Node,
    /// Rows of this node and every live node below it.
    Subtree,
}

/// Filters and paging of a collection list. A filter the collection does
/// not have is a 400.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `node` (default) or `subtree` (node-owned collections).
    pub scope: Option<ListScope>,
    /// Only rows in this status.
    pub status: Option<NodeStatus>,
    /// Only rows assigned to this user (tasks).
    pub assigned_to: Option<Uuid>,
    /// Only rows carrying this tag.
    pub tag: Option<Uuid>,
    /// Only rows whose date (due, start, issue, call) is at or after this.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<Timestamp>,
    /// Only rows whose date is before this.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<Timestamp>,
    /// Only rows whose text matches this web-search query.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only invoices (or people) of this vendor.
    pub vendor_id: Option<Uuid>,
    /// Only crew assignments of this person.
    pub person_id: Option<Uuid>,
    /// Only assignments of this asset.
    pub asset_id: Option<Uuid>,
    /// Only invoice lines booked against this budget line.
    pub budget_line_id: Option<Uuid>,
    /// Only the versions of this document.
    pub series_id: Option<Uuid>,
    /// Rows per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListParams {
    /// The database query for `scope`, every filter checked against what
    /// the table has.
    fn to_query(&self, table: &Table, org_id: Uuid, scope: Scope) -> Result<ListQuery, ApiError> {
        let page = PageParams {
            limit: self.limit,
            cursor: self.cursor.clone(),
        };
        let limit = page.limit()?;
        let after: Option<Uuid> = page.cursor()?;
        let unsupported =
            |name: &str| ApiError::bad_parameter(name.to_owned(), "this list has no such filter");
        if self.status.is_some() && !table.status {
            return Err(unsupported("status"));
        }
        if self.assigned_to.is_some() && !table.assigned_to {
            return Err(unsupported("assigned_to"));
        }
        if self.tag.is_some() && table.tags.is_none() {
            return Err(unsupported("tag"));
        }
        if (self.from.is_some() || self.to.is_some()) && table.date_column.is_none() {
            return Err(unsupported(if self.from.is_some() { "from" } else { "to" }));
        }
        let text = match &self.q {
            Some(_) if !table.search => return Err(unsupported("q")),
            Some(q) if q.trim().is_empty() || q.chars().count() > 200 => {
                return Err(ApiError::bad_parameter("q", "must be 1 to 200 characters"));
            }
            q => q.clone(),
        };
        let mut equals = Vec::new();
        for (name, value) in [
            ("vendor_id", self.vendor_id),
            ("person_id", self.person_id),
            ("asset_id", self.asset_id),
            ("budget_line_id", self.budget_line_id),
            ("series_id", self.series_id),
        ] {
            if let Some(v) = value {
                let Some(column) = table.filters.iter().find(|c| **c == name) else {
                    return Err(unsupported(name));
                };
                equals.push((*column, v));
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if to.0 <= from.0 {
                return Err(ApiError::bad_parameter("to", "must be after from"));
            }
        }
        Ok(ListQuery {
            org_id,
            scope,
            status: self.status.map(|s| status_name(s).to_owned()),
            assigned_to: self.assigned_to,
            tag: self.tag,
            from: self.from.map(|t| t.0),
            to: self.to.map(|t| t.0),
            text,
            equals,
            after,
            limit: i64::from(limit) + 1,
        })
    }
}

/// The database name of a status.
pub fn status_name(s: NodeStatus) -> &'static str {
    match s {
        NodeStatus::Draft => "draft",
        NodeStatus::Planning => "planning",
        NodeStatus::Active => "active",
        NodeStatus::Review => "review",
        NodeStatus::Completed => "completed",
        NodeStatus::Cancelled => "cancelled",
        NodeStatus::Archived => "archived",
    }
}

/// A page of rows typed as `V`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowPage<V> {
    /// The rows, oldest first.
    pub items: Vec<V>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A row's id, as every view carries it.
pub(crate) fn row_id(v: &Value) -> Uuid {
    v.get("id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or_default()
}

/// The version tag of a row view: its id and last change.
pub fn etag_of(v: &Value) -> ETag {
    let updated = v.get("updated_at").and_then(Value::as_str).unwrap_or("");
    ETag::from_parts(&[row_id(v).as_bytes(), updated.as_bytes()])
}

pub(crate) fn typed<V: DeserializeOwned>(v: Value) -> Result<V, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::Internal(format!("reading a row view: {e}")))
}

fn page_of<V: DeserializeOwned>(rows: Vec<Value>, limit: i64) -> Result<RowPage<V>, ApiError> {
    let limit = u32::try_from(limit - 1).unwrap_or(0);
    let page = Page::from_rows(rows, limit, row_id, |r| r);
    Ok(RowPage {
        items: page
            .items
            .into_iter()
            .map(typed)
            .collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    })
}

/// The body of a create or update as columns and JSON values.
pub fn values_of<B: Serialize>(body: &B) -> Result<Map<String, Value>, ApiError> {
    match serde_json::to_value(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::Internal("a body that is not an object".into())),
    }
}

/// The node owning rows of a node-scoped collection, checked for `cap`.
pub(crate) async fn owner_node(
    tx: &Conn,
    node_id: Uuid,
    cap: Capability,
) -> Result<Node, ApiError> {
    let node = nodes::find(tx, node_id).await?;
    if node.deleted_at.is_some() {
        return Err(ApiError::NotFound);
    }
    require(tx, &node, cap).await?;
    Ok(node)
}

/// Whether the caller may `cap` somewhere in the organization (org-level
/// reference data): 404 when they are not a member at all, 403 when they
/// are but lack it.
async fn require_member(tx: &Conn, org_id: Uuid, cap: Capability) -> Result<(), ApiError> {
    let roles = showtree_db::grants::my_roles_in_org(tx, org_id).await?;
    if roles.is_empty() {
        return Err(ApiError::NotFound);
    }
    if roles.iter().any(|r| r.has(cap)) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "no role of yours in this organization allows this".into(),
        ))
    }
}

/// Checks that the caller may `cap` on the row `id` of `c`, answering 404
/// when they cannot see it at all; returns the row's organization.
pub(crate) async fn require_row(
    tx: &Conn,
    c: &Collection,
    id: Uuid,
    cap: Capability,
) -> Result<(Uuid, Uuid), ApiError> {
    let (org_id, node_id) = domain::locate(tx, c.table, id).await?;
    match c.table.owner {
        Owner::Org => require_member(tx, org_id, cap).await?,
        Owner::Node | Owner::Parent { .. } => {
            owner_node(tx, node_id, cap).await?;
        }
    }
    Ok((org_id, node_id))
}

fn json_with_etag<V: Serialize>(view: V, etag: &ETag) -> Response {
    ([(header::ETAG, etag.header_value())], Json(view)).into_response()
}

/// `GET /v1/nodes/{id}/{collection}`.
pub async fn list_in_node<V: DeserializeOwned>(
    state: &AppState,
    auth: &Auth,
    c: &Collection,
    node_id: Uuid,
    params: &ListParams,
) -> Result<RowPage<V>, ApiError> {
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = owner_node(tx, node_id, c.read).await?;
            let scope = match params.scope.unwrap_or_default() {
                ListScope::Node => Scope::Node(node.id),
                ListScope::Subtree => Scope::Subtree(node.id),
            };
            let q = params.to_query(c.table, node.org_id, scope)?;
            let rows = domain::list(tx, c.table, &q).await?;
            page_of(rows, q.limit)
        })
        .await;
    audit_denial(
        state,
        auth,
        None,
        &format!("{}.list", c.noun),
        result.as_ref().err(),
    )
    .await;
    result
}

/// `GET /v1/orgs/{org_id}/{collection}`.
pub async fn list_in_org<V: DeserializeOwned>(
    state: &AppState,
    auth: &Auth,
    c: &Collection,
    org_id: Uuid,
    params: &ListParams,
) -> Result<RowPage<V>, ApiError> {
    if params.scope.is_some() {
        return Err(ApiError::bad_parameter(
            "scope",
            "this list has no such filter",
        ));
    }
    state
        .db
        .run_as(&auth.0, async |tx| {
            require_member(tx, org_id, c.read).await?;
            let q = params.to_query(c.table, org_id, Scope::Org)?;
            let rows = domain::list(tx, c.table, &q).await?;
            page_of(rows, q.limit)
        })
        .await
}

/// `GET /v1/{parents}/{id}/{children}` (invoice lines).
pub async fn list_in_parent<V: DeserializeOwned>(
    state: &AppState,
    auth: &Auth,
    parent: &Collection,
    c: &Collection,
    parent_id: Uuid,
    params: &ListParams,
) -> Result<RowPage<V>, ApiError> {
    if params.scope.is_some() {
        return Err(ApiError::bad_parameter(
            "scope",
            "this list has no such filter",
        ));
    }
    state
        .db
        .run_as(&auth.0, async |tx| {
            let (org_id, _) = require_row(tx, parent, parent_id, c.read).await?;
            domain::get(tx, parent.table, parent_id, false).await?;
            let q = params.to_query(c.table, org_id, Scope::Parent(parent_id))?;
            let rows = domain::list(tx, c.table, &q).await?;
            page_of(rows, q.limit)
        })
        .await
}

/// Where a new row goes.
#[derive(Debug, Clone, Copy)]
pub enum Into {
    /// Under this node.
    Node(Uuid),
    /// Into this organization's reference data.
    Org(Uuid),
    /// Under this parent row of this collection.
    Parent(&'static Collection, Uuid),
}

/// A new row as a request: its idempotency fingerprint and its columns.
#[derive(Debug, Clone)]
pub struct NewRow {
    hash: Vec<u8>,
    values: Map<String, Value>,
}

impl NewRow {
    /// The body posted to `route`, plus columns the route implies.
    pub fn of<B: Serialize>(
        route: &str,
        body: &B,
        extra: Map<String, Value>,
    ) -> Result<NewRow, ApiError> {
        let hash = fingerprint("POST", route, body)?;
        let mut values = values_of(body)?;
        values.extend(extra);
        Ok(NewRow { hash, values })
    }
}

/// `POST` of a new row: idempotent, one transaction, 201 with its view.
pub async fn create<V: DeserializeOwned + Serialize>(
    state: &AppState,
    auth: &Auth,
    key: &IdempotencyKey,
    c: &Collection,
    into: Into,
    new: NewRow,
) -> Result<Response, ApiError> {
    let NewRow { hash, values } = new;
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            if let Some(replay) = idempotency::claim(tx, key, &hash).await? {
                return Ok(replay);
            }
            let row = match into {
                Into::Node(node_id) => {
                    let node = owner_node(tx, node_id, c.write).await?;
                    target = Some((node.org_id, node.id));
                    domain::insert(tx, c.table, node.org_id, Some(node.id), &values).await?
                }
                Into::Org(org_id) => {
                    require_member(tx, org_id, c.write).await?;
                    domain::insert(tx, c.table, org_id, Some(org_id), &values).await?
                }
                Into::Parent(parent, parent_id) => {
                    let (org_id, node_id) = require_row(tx, parent, parent_id, c.write).await?;
                    target = Some((org_id, node_id));
                    domain::get(tx, parent.table, parent_id, false).await?;
                    domain::insert(tx, c.table, org_id, None, &values).await?
                }
            };
            let etag = etag_of(&row);
            let location = format!("{}/{}", c.path, row_id(&row));
            let view: V = typed(row)?;
            let reply = Reply::json(StatusCode::CREATED, &view)?
                .with_etag(etag)
                .with_location(location);
            idempotency::complete(tx, key, reply).await
        })
        .await;
    audit_denial(
        state,
        auth,
        target,
        &format!("{}.create", c.noun),
        result.as_ref().err(),
    )
    .await;
    result
}

/// `GET /v1/{collection}/{id}`, with its ETag.
pub async fn get<V: DeserializeOwned + Serialize>(
    state: &AppState,
    auth: &Auth,
    c: &Collection,
    id: Uuid,
) -> Result<Response, ApiError> {
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            target = Some(require_row(tx, c, id, c.read).await?);
            let row = domain::get(tx, c.table, id, false).await?;
            let etag = etag_of(&row);
            Ok::<_, ApiError>((typed::<V>(row)?, etag))
        })
        .await;
    audit_denial(
        state,
        auth,
        target,
        &format!("{}.read", c.noun),
        result.as_ref().err(),
    )
    .await;
    let (view, etag) = result?;
    Ok(json_with_etag(view, &etag))
}

/// The row locked for a change, after its version is checked.
async fn locked(
    tx: &Conn,
    c: &Collection,
    id: Uuid,
    precondition: &Precondition,
    deleted: bool,
) -> Result<(Uuid, Value), ApiError> {
    let (org_id, _) = require_row(tx, c, id, c.write).await?;
    // visible (and under a live node) first: 404 otherwise
    domain::get(tx, c.table, id, deleted).await?;
    let row = domain::lock(tx, c.table, id).await?;
    if !precondition.matches(&etag_of(&row)) {
        return Err(ApiError::PreconditionFailed);
    }
    Ok((org_id, row))
}

/// `PATCH /v1/{collection}/{id}` with `If-Match`.
pub async fn update<B: Serialize, V: DeserializeOwned + Serialize>(
    state: &AppState,
    auth: &Auth,
    c: &Collection,
    id: Uuid,
    precondition: &Precondition,
    body: &B,
) -> Result<Response, ApiError> {
    let values = values_of(body)?;
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            let (org_id, row) = locked(tx, c, id, precondition, false).await?;
            target = Some((org_id, row_node(&row).unwrap_or(org_id)));
            if row.get("deleted_at").is_some_and(|d| !d.is_null()) {
                return Err(ApiError::NotFound);
            }
            let row = domain::update(tx, c.table, org_id, id, &values).await?;
            let etag = etag_of(&row);
            Ok::<_, ApiError>((typed::<V>(row)?, etag))
        })
        .await;
    audit_denial(
        state,
        auth,
        target,
        &format!("{}.update", c.noun),
        result.as_ref().err(),
    )
    .await;
    let (view, etag) = result?;
    Ok(json_with_etag(view, &etag))
}

fn row_node(v: &Value) -> Option<Uuid> {
    v.get("node_id")?.as_str()?.parse().ok()
}

/// `DELETE /v1/{collection}/{id}` with `If-Match`: a soft delete (204).
pub async fn delete(
    state: &AppState,
    auth: &Auth,
    c: &Collection,
    id: Uuid,
    precondition: &Precondition,
) -> Result<StatusCode, ApiError> {
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            let (org_id, row) = locked(tx, c, id, precondition, false).await?;
            target = Some((org_id, row_node(&row).unwrap_or(org_id)));
            domain::set_deleted(tx, c.table, org_id, id, true).await?;
            Ok::<_, ApiError>(StatusCode::NO_CONTENT)
        })
        .await;
    audit_denial(
        state,
        auth,
        target,
        &format!("{}.delete", c.noun),
        result.as_ref().err(),
    )
    .await;
    result
}

/// `POST /v1/{collection}/{id}/restore`: undoes a soft delete.
pub async fn restore<V: DeserializeOwned + Serialize>(
    state: &AppState,
    auth: &Auth,
    c: &Collection,
    id: Uuid,
) -> Result<Response, ApiError> {
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            let (org_id, _) = locked(tx, c, id, &Precondition::Any, true).await?;
            let row = domain::set_deleted(tx, c.table, org_id, id, false).await?;
            let etag = etag_of(&row);
            Ok::<_, ApiError>((typed::<V>(row)?, etag))
        })
        .await;
    let (view, etag) = result?;
    Ok(json_with_etag(view, &etag))
}

/// What `POST /v1/{collection}/{id}/tags` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagBody {
    /// A tag of the row's organization.
    pub tag_id: Uuid,
}

/// Adds a tag to a row (idempotent); answers with the row.
pub async fn tag<V: DeserializeOwned + Serialize>(
    state: &AppState,
    auth: &Auth,
    c: &Collection,
    id: Uuid,
    tag_id: Uuid,
) -> Result<Response, ApiError> {
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            let (org_id, _) = require_row(tx, c, id, c.write).await?;
            domain::get(tx, c.table, id, false).await?;
            match domain::tag(tx, c.table, org_id, id, tag_id).await {
                Err(DbError::Rule { rule, .. }) if rule.ends_with("_tag_fkey") => {
                    return Err(ApiError::invalid_field(
                        "tag_id",
                        "no such tag in this organization",
                    ));
                }
                r => r?,
            }
            let row = domain::get(tx, c.table, id, false).await?;
            let etag = etag_of(&row);
            Ok::<_, ApiError>((typed::<V>(row)?, etag))
        })
        .await;
    let (view, etag) = result?;
    Ok(json_with_etag(view, &etag))
}

/// Removes a tag from a row (204; 404 when the row did not carry it).
pub async fn untag(
    state: &AppState,
    auth: &Auth,
    c: &Collection,
    id: Uuid,
    tag_id: Uuid,
) -> Result<StatusCode, ApiError> {
    state
        .db
        .run_as(&auth.0, async |tx| {
            let (org_id, _) = require_row(tx, c, id, c.write).await?;
            domain::get(tx, c.table, id, false).await?;
            if domain::untag(tx, c.table, org_id, id, tag_id).await? {
                Ok(StatusCode::NO_CONTENT)
            } else {
                Err(ApiError::NotFound)
            }
        })
        .await
}

/// The org id in the path of org-level collections.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OrgId {
    /// The organization's id (its root node's).
    pub org_id: Uuid,
}

/// A row id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RowId {
    /// The row's id.
    pub id: Uuid,
}

/// A row id and a tag id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RowTagId {
    /// The row's id.
    pub id: Uuid,
    /// The tag's id.
    pub tag_id: Uuid,
}

/// The handlers of one row of a collection: read, update (If-Match), soft
/// delete (If-Match), restore. Names are given so operation ids stay unique.
#[macro_export]
macro_rules! row_routes {
    (
        collection = $coll:path, tag = $tag:literal, view = $view:ty, patch = $patch:ty,
        one = $one:literal, restore = $restore:literal,
        get = $get:ident, update = $update:ident, delete = $delete:ident, restore_fn = $restore_fn:ident
    ) => {
        /// Reads one row, with its ETag.
        #[utoipa::path(get, path = $one, tag = $tag, security(("bearer" = [])),
            params($crate::collection::RowId),
            responses((status = 200, description = "The row", body = $view,
                headers(("ETag" = String, description = "The row's version, for If-Match")))))]
        #[tracing::instrument(skip_all, err(level = "debug"))]
        pub async fn $get(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            $crate::extract::Path($crate::collection::RowId { id }): $crate::extract::Path<$crate::collection::RowId>,
        ) -> Result<axum::response::Response, $crate::error::ApiError> {
            $crate::collection::get::<$view>(&state, &auth, &$coll, id).await
        }

        /// Changes a row; `If-Match` must carry its current ETag. Absent
        /// fields stay as they are.
        #[utoipa::path(patch, path = $one, tag = $tag, security(("bearer" = [])),
            params($crate::collection::RowId, $crate::routes::nodes::IfMatchHeader),
            request_body = $patch,
            responses((status = 200, description = "The changed row", body = $view,
                headers(("ETag" = String, description = "The row's new version")))))]
        #[tracing::instrument(skip_all, err(level = "debug"))]
        pub async fn $update(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            $crate::extract::Path($crate::collection::RowId { id }): $crate::extract::Path<$crate::collection::RowId>,
            $crate::extract::IfMatch(precondition): $crate::extract::IfMatch,
            $crate::extract::JsonBody(body): $crate::extract::JsonBody<$patch>,
        ) -> Result<axum::response::Response, $crate::error::ApiError> {
            $crate::collection::Body::validate(&body)?;
            $crate::collection::update::<_, $view>(&state, &auth, &$coll, id, &precondition, &body).await
        }

        /// Soft-deletes a row (restorable); `If-Match` must carry its
        /// current ETag.
        #[utoipa::path(delete, path = $one, tag = $tag, security(("bearer" = [])),
            params($crate::collection::RowId, $crate::routes::nodes::IfMatchHeader),
            responses((status = 204, description = "Deleted (restorable)")))]
        #[tracing::instrument(skip_all, err(level = "debug"))]
        pub async fn $delete(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            $crate::extract::Path($crate::collection::RowId { id }): $crate::extract::Path<$crate::collection::RowId>,
            $crate::extract::IfMatch(precondition): $crate::extract::IfMatch,
        ) -> Result<axum::http::StatusCode, $crate::error::ApiError> {
            $crate::collection::delete(&state, &auth, &$coll, id, &precondition).await
        }

        /// Restores a soft-deleted row.
        #[utoipa::path(post, path = $restore, tag = $tag, security(("bearer" = [])),
            params($crate::collection::RowId),
            responses((status = 200, description = "The restored row", body = $view,
                headers(("ETag" = String, description = "The row's new version")))))]
        #[tracing::instrument(skip_all, err(level = "debug"))]
        pub async fn $restore_fn(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            $crate::extract::Path($crate::collection::RowId { id }): $crate::extract::Path<$crate::collection::RowId>,
        ) -> Result<axum::response::Response, $crate::error::ApiError> {
            $crate::collection::restore::<$view>(&state, &auth, &$coll, id).await
        }
    };
}

/// The list and create handlers of a node-owned collection.
#[macro_export]
macro_rules! node_list_routes {
    (
        collection = $coll:path, tag = $tag:literal, view = $view:ty, new = $new:ty,
        path = $path:literal, list = $list:ident, create = $create:ident
    ) => {
        /// Lists rows of a node (`scope=node`, default) or of its whole
        /// subtree (`scope=subtree`), oldest first, filtered.
        #[utoipa::path(get, path = $path, tag = $tag, security(("bearer" = [])),
            params($crate::routes::nodes::NodeId, $crate::collection::ListParams),
            responses((status = 200, description = "One page", body = $crate::collection::RowPage<$view>)))]
        #[tracing::instrument(skip_all, err(level = "debug"))]
        pub async fn $list(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            $crate::extract::Path($crate::routes::nodes::NodeId { id }): $crate::extract::Path<$crate::routes::nodes::NodeId>,
            $crate::extract::Query(params): $crate::extract::Query<$crate::collection::ListParams>,
        ) -> Result<axum::Json<$crate::collection::RowPage<$view>>, $crate::error::ApiError> {
            $crate::collection::list_in_node(&state, &auth, &$coll, id, &params).await.map(axum::Json)
        }

        /// Creates a row at a node.
        #[utoipa::path(post, path = $path, tag = $tag, security(("bearer" = [])),
            params($crate::routes::nodes::NodeId, $crate::routes::nodes::IdempotencyHeader),
            request_body = $new,
            responses((status = 201, description = "Created", body = $view,
                headers(("ETag" = String, description = "The row's version"),
                        ("Location" = String, description = "The row's URL")))))]
        #[tracing::instrument(skip_all, err(level = "debug"))]
        pub async fn $create(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            key: $crate::extract::IdempotencyKey,
            $crate::extract::Path($crate::routes::nodes::NodeId { id }): $crate::extract::Path<$crate::routes::nodes::NodeId>,
            $crate::extract::JsonBody(body): $crate::extract::JsonBody<$new>,
        ) -> Result<axum::response::Response, $crate::error::ApiError> {
            $crate::collection::Body::validate(&body)?;
            let new = $crate::collection::NewRow::of(
                &format!("{}#{id}", $path), &body, $crate::collection::Body::extra(&body))?;
            $crate::collection::create::<$view>(
                &state, &auth, &key, &$coll, $crate::collection::Into::Node(id), new,
            )
            .await
        }
    };
}

/// The list and create handlers of an org-level collection.
#[macro_export]
macro_rules! org_list_routes {
    (
        collection = $coll:path, tag = $tag:literal, view = $view:ty, new = $new:ty,
        path = $path:literal, list = $list:ident, create = $create:ident
    ) => {
        /// Lists the organization's rows, oldest first, filtered.
        #[utoipa::path(get, path = $path, tag = $tag, security(("bearer" = [])),
            params($crate::collection::OrgId, $crate::collection::ListParams),
            responses((status = 200, description = "One page", body = $crate::collection::RowPage<$view>)))]
        #[tracing::instrument(skip_all, err(level = "debug"))]
        pub async fn $list(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            $crate::extract::Path($crate::collection::OrgId { org_id }): $crate::extract::Path<$crate::collection::OrgId>,
            $crate::extract::Query(params): $crate::extract::Query<$crate::collection::ListParams>,
        ) -> Result<axum::Json<$crate::collection::RowPage<$view>>, $crate::error::ApiError> {
            $crate::collection::list_in_org(&state, &auth, &$coll, org_id, &params).await.map(axum::Json)
        }

        /// Creates a row of the organization's reference data.
        #[utoipa::path(post, path = $path, tag = $tag, security(("bearer" = [])),
            params($crate::collection::OrgId, $crate::routes::nodes::IdempotencyHeader),
            request_body = $new,
            responses((status = 201, description = "Created", body = $view,
                headers(("ETag" = String, description = "The row's version"),
                        ("Location" = String, description = "The row's URL")))))]
        #[tracing::instrument(skip_all, err(level = "debug"))]
        pub async fn $create(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            key: $crate::extract::IdempotencyKey,
            $crate::extract::Path($crate::collection::OrgId { org_id }): $crate::extract::Path<$crate::collection::OrgId>,
            $crate::extract::JsonBody(body): $crate::extract::JsonBody<$new>,
        ) -> Result<axum::response::Response, $crate::error::ApiError> {
            $crate::collection::Body::validate(&body)?;
            let new = $crate::collection::NewRow::of(
                &format!("{}#{org_id}", $path), &body, $crate::collection::Body::extra(&body))?;
            $crate::collection::create::<$view>(
                &state, &auth, &key, &$coll, $crate::collection::Into::Org(org_id), new,
            )
            .await
        }
    };
}

/// Adding and removing tags of a taggable collection's rows.
#[macro_export]
macro_rules! tag_routes {
    (
        collection = $coll:path, tag = $tag:literal, view = $view:ty,
        add_path = $add:literal, remove_path = $remove:literal,
        add = $add_fn:ident, remove = $remove_fn:ident
    ) => {
        /// Tags a row with a tag of its organization (idempotent).
        #[utoipa::path(post, path = $add, tag = $tag, security(("bearer" = [])),
            params($crate::collection::RowId),
            request_body = $crate::collection::TagBody,
            responses((status = 200, description = "The tagged row", body = $view)))]
        #[tracing::instrument(skip_all, err(level = "debug"))]
        pub async fn $add_fn(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            $crate::extract::Path($crate::collection::RowId { id }): $crate::extract::Path<$crate::collection::RowId>,
            $crate::extract::JsonBody(body): $crate::extract::JsonBody<$crate::collection::TagBody>,
        ) -> Result<axum::response::Response, $crate::error::ApiError> {
            $crate::collection::tag::<$view>(&state, &auth, &$coll, id, body.tag_id).await
        }

        /// Removes a tag from a row.
        #[utoipa::path(delete, path = $remove, tag = $tag, security(("bearer" = [])),
            params($crate::collection::RowTagId),
            responses((status = 204, description = "Removed")))]
        #[tracing::instrument(skip_all, err(level = "debug"))]
        pub async fn $remove_fn(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            $crate::extract::Path($crate::collection::RowTagId { id, tag_id }): $crate::extract::Path<$crate::collection::RowTagId>,
        ) -> Result<axum::http::StatusCode, $crate::error::ApiError> {
            $crate::collection::untag(&state, &auth, &$coll, id, tag_id).await
        }
    };
}
