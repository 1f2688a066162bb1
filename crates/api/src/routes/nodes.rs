//! `/v1/nodes`: create, read, update, soft delete, restore and move nodes
//! of every level, and navigate the tree (children, ancestors, subtree).

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use showtree_core::{Capability, Currency, NodeKind, NodeName, Role, Slug};
use showtree_db::Conn;
use showtree_db::nodes::{self, Details, LevelChanges, LevelFields, NewNode, Node, NodeChanges};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::access::{audit_denial, find_referenced, require};
use crate::auth::Auth;
use crate::error::{ApiError, FieldError};
use crate::etag::ETag;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, Path, Query};
use crate::idempotency::{self, Reply, fingerprint};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::wire::{AccessRole, Kind, NodeStatus, WorkspaceType};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_node))
        .routes(routes!(get_node, update_node, delete_node))
        .routes(routes!(restore_node))
        .routes(routes!(move_node))
        .routes(routes!(children))
        .routes(routes!(ancestors))
        .routes(routes!(subtree))
}

/// A point in time, RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, format = DateTime)]
pub struct Timestamp(pub OffsetDateTime);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        time::serde::rfc3339::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        time::serde::rfc3339::deserialize(d).map(Timestamp)
    }
}

/// For fields where `null` means "clear it" and absence "leave it".
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A node, as lists show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NodeSummary {
    /// The node's id.
    pub id: Uuid,
    /// Its organization (the tenant).
    pub org_id: Uuid,
    /// Its parent; null for an organization.
    pub parent_id: Option<Uuid>,
    /// Its level.
    pub kind: Kind,
    /// Display name.
    pub name: String,
    /// URL name, unique among live siblings.
    pub slug: String,
    /// Lifecycle status.
    pub status: NodeStatus,
    /// Whether grants from above stop here (org owners and admins pass).
    pub restricted: bool,
    /// Number of ancestors (0 for an organization).
    pub depth: i16,
    /// Root..parent.
    pub ancestors: Vec<Uuid>,
    /// Free-form attributes.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it (or an ancestor) was soft-deleted; null when live.
    pub deleted_at: Option<Timestamp>,
    /// What it configures, inherited by its subtree:
    /// `{"schedule": {"forbid_overlap": true}}` refuses overlapping
    /// schedule items in one location.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
}

impl From<Node> for NodeSummary {
    fn from(n: Node) -> NodeSummary {
        NodeSummary {
            id: n.id,
            org_id: n.org_id,
            parent_id: n.parent_id,
            kind: n.kind.into(),
            name: n.name,
            slug: n.slug,
            status: n.status.into(),
            restricted: n.restricted,
            depth: n.depth,
            ancestors: n.ancestors,
            metadata: n.metadata,
            created_at: Timestamp(n.created_at),
            updated_at: Timestamp(n.updated_at),
            deleted_at: n.deleted_at.map(Timestamp),
            settings: n.settings,
        }
    }
}

/// A node's level fields: only those of its own level are present.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct LevelView {
    /// Projects and productions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Organizations: ISO 4217 base currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_currency: Option<String>,
    /// Organizations and activations: IANA time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Activations: when the event starts (may be null).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Option<Timestamp>>,
    /// Activations: when it ends (may be null).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<Timestamp>>,
    /// Activations: where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
    /// Activations: how many people (may be null).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i32>)]
    pub capacity: Option<Option<i32>>,
    /// Workspaces: what kind of workspace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_type: Option<WorkspaceType>,
}

impl From<&LevelFields> for LevelView {
    fn from(level: &LevelFields) -> LevelView {
        match level {
            LevelFields::Defaults => LevelView::default(),
            LevelFields::Organization {
                base_currency,
                timezone,
            } => LevelView {
                base_currency: Some(base_currency.as_str().to_owned()),
                timezone: Some(timezone.clone()),
                ..LevelView::default()
            },
            LevelFields::Described { description } => LevelView {
                description: Some(description.clone()),
                ..LevelView::default()
            },
            LevelFields::Activation {
                starts_at,
                ends_at,
                timezone,
                venue,
                capacity,
            } => LevelView {
                starts_at: Some(starts_at.map(Timestamp)),
                ends_at: Some(ends_at.map(Timestamp)),
                timezone: Some(timezone.clone()),
                venue: Some(venue.clone()),
                capacity: Some(*capacity),
                ..LevelView::default()
            },
            LevelFields::Workspace { workspace_type } => LevelView {
                workspace_type: WorkspaceType::parse(workspace_type),
                ..LevelView::default()
            },
        }
    }
}

/// One node with its level fields and the caller's role there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NodeView {
    /// The node.
    #[serde(flatten)]
    pub node: NodeSummary,
    /// The caller's effective role at this node.
    pub effective_role: AccessRole,
    /// Its level's fields.
    #[serde(flatten)]
    pub level: LevelView,
}

/// The version of a node as an entity tag: the node row's and its detail
/// row's change times, and the caller's role (part of the representation).
fn node_etag(node: &Node, details: &Details, role: Role) -> ETag {
    ETag::from_parts(&[
        node.id.as_bytes(),
        &node.updated_at.unix_timestamp_nanos().to_be_bytes(),
        &details.updated_at.unix_timestamp_nanos().to_be_bytes(),
        crate::routes::access::role_name(role).as_bytes(),
    ])
}

/// The full view of a node and its ETag.
async fn view(tx: &Conn, node: Node, role: Role) -> Result<(NodeView, ETag), ApiError> {
    let details = nodes::details(tx, &node).await?;
    Ok(view_of(node, &details, role))
}

fn view_of(node: Node, details: &Details, role: Role) -> (NodeView, ETag) {
    let etag = node_etag(&node, details, role);
    let view = NodeView {
        node: node.into(),
        effective_role: role.into(),
        level: (&details.level).into(),
    };
    (view, etag)
}

fn with_etag(view: NodeView, etag: &ETag) -> Response {
    ([(header::ETAG, etag.header_value())], Json(view)).into_response()
}

/// What `POST /v1/nodes` takes: the parent, the kind and name, and the
/// level fields of that kind.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNode {
    /// The parent node (its organization becomes the new node's).
    pub parent_id: Uuid,
    /// The level: project, production, activation or workspace
    /// (organizations are created by signing up).
    pub kind: Kind,
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// URL name; derived from the name when absent.
    #[serde(default)]
    pub slug: Option<String>,
    /// Whether grants from above stop here.
    #[serde(default)]
    pub restricted: Option<bool>,
    /// Free-form attributes (a JSON object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Projects and productions.
    #[serde(default)]
    pub description: Option<String>,
    /// Activations: IANA time zone (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Activations.
    #[serde(default)]
    pub starts_at: Option<Timestamp>,
    /// Activations.
    #[serde(default)]
    pub ends_at: Option<Timestamp>,
    /// Activations.
    #[serde(default)]
    pub venue: Option<String>,
    /// Activations.
    #[serde(default)]
    pub capacity: Option<i32>,
    /// Workspaces (default area).
    #[serde(default)]
    pub workspace_type: Option<WorkspaceType>,
}

/// 422 for each field that is set but not one of `kind`'s.
fn check_level_fields(kind: NodeKind, set: &[&'static str]) -> Result<(), ApiError> {
    let allowed = LevelChanges::fields_of(kind);
    let errors: Vec<FieldError> = set
        .iter()
        .filter(|f| !allowed.contains(f))
        .map(|f| FieldError::new(*f, format!("not a field of a {kind}")))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Unprocessable {
            rule: None,
            detail: format!("fields that a {kind} does not have").into(),
            errors,
        })
    }
}

fn parse_name(name: &str) -> Result<NodeName, ApiError> {
    NodeName::parse(name).map_err(|e| ApiError::invalid_field("name", e.message))
}

fn parse_slug(slug: &str) -> Result<Slug, ApiError> {
    Slug::parse(slug).map_err(|e| ApiError::invalid_field("slug", e.message))
}

fn check_metadata(metadata: &Option<serde_json::Value>) -> Result<(), ApiError> {
    match metadata {
        Some(v) if !v.is_object() => {
            Err(ApiError::invalid_field("metadata", "must be a JSON object"))
        }
        _ => Ok(()),
    }
}

impl CreateNode {
    fn level_set(&self) -> Vec<&'static str> {
        LevelChanges {
            description: self.description.clone(),
            timezone: self.timezone.clone(),
            starts_at: self.starts_at.map(|t| Some(t.0)),
            ends_at: self.ends_at.map(|t| Some(t.0)),
            venue: self.venue.clone(),
            capacity: self.capacity.map(Some),
            workspace_type: self.workspace_type.map(|t| t.as_str().to_owned()),
            base_currency: None,
        }
        .fields_set()
    }

    /// The node to create, checked before any database work.
    fn to_new_node(&self) -> Result<NewNode, ApiError> {
        let kind = NodeKind::from(self.kind);
        if kind == NodeKind::Organization {
            return Err(ApiError::invalid_field(
                "kind",
                "organizations are created by signing up (POST /v1/auth/signup)",
            ));
        }
        let set = self.level_set();
        check_level_fields(kind, &set)?;
        check_metadata(&self.metadata)?;
        let level = if set.is_empty() {
            LevelFields::Defaults
        } else {
            match kind {
                NodeKind::Project | NodeKind::Production => LevelFields::Described {
                    description: self.description.clone().unwrap_or_default(),
                },
                NodeKind::Activation => LevelFields::Activation {
                    starts_at: self.starts_at.map(|t| t.0),
                    ends_at: self.ends_at.map(|t| t.0),
                    timezone: self.timezone.clone().unwrap_or_else(|| "UTC".into()),
                    venue: self.venue.clone().unwrap_or_default(),
                    capacity: self.capacity,
                },
                NodeKind::Workspace => LevelFields::Workspace {
                    workspace_type: self
                        .workspace_type
                        .unwrap_or(WorkspaceType::Area)
                        .as_str()
                        .to_owned(),
                },
                NodeKind::Organization => LevelFields::Defaults,
            }
        };
        Ok(NewNode {
            parent_id: Some(self.parent_id),
            org_id: None,
            kind,
            name: parse_name(&self.name)?,
            slug: self.slug.as_deref().map(parse_slug).transpose()?,
            restricted: self.restricted.unwrap_or(false),
            level,
        })
    }
}

/// The idempotency key header of every POST.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyHeader {
    /// Makes the POST safe to retry: the same key with the same body
    /// returns the first response (`Idempotent-Replayed: true`); with
    /// another body, 422. Keys live 24 hours per user.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 255)]
    #[allow(dead_code)]
    idempotency_key: Option<String>,
}

/// The `If-Match` header of every PATCH and DELETE.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatchHeader {
    /// The ETag of the version this change is based on (or `*`).
    #[param(rename = "If-Match")]
    #[allow(dead_code)]
    if_match: String,
}

/// The node id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NodeId {
    /// The node's id.
    pub id: Uuid,
}

/// Creates a node under a parent the caller manages.
#[utoipa::path(post, path = "/v1/nodes", tag = "nodes",
    security(("bearer" = [])),
    params(IdempotencyHeader),
    request_body = CreateNode,
    responses(
        (status = 201, description = "Created", body = NodeView,
         headers(("ETag" = String, description = "The node's version"),
                 ("Location" = String, description = "The node's URL"))),
    ))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create_node(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<CreateNode>,
) -> Result<Response, ApiError> {
    let hash = fingerprint("POST", "/v1/nodes", &body)?;
    let new = body.to_new_node()?;
    let actor = auth.user_id();
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            if let Some(replay) = idempotency::claim(tx, &key, &hash).await? {
                return Ok(replay);
            }
            let parent = find_referenced(tx, body.parent_id, "parent_id").await?;
            target = Some((parent.org_id, parent.id));
            require(tx, &parent, Capability::Manage).await?;
            let new = NewNode {
                org_id: Some(parent.org_id),
                ..new
            };
            let mut node = nodes::create(tx, &new, Some(actor)).await?;
            if body.metadata.is_some() {
                let changes = NodeChanges {
                    metadata: body.metadata.clone(),
                    ..NodeChanges::default()
                };
                node = nodes::update(tx, node.org_id, node.id, &changes, Some(actor)).await?;
            }
            let role = require(tx, &node, Capability::Read).await?;
            let location = format!("/v1/nodes/{}", node.id);
            let (view, etag) = view(tx, node, role).await?;
            let reply = Reply::json(StatusCode::CREATED, &view)?
                .with_etag(etag)
                .with_location(location);
            idempotency::complete(tx, &key, reply).await
        })
        .await;
    audit_denial(&state, &auth, target, "node.create", result.as_ref().err()).await;
    result
}

/// Reads a node, with its level fields and the caller's effective role.
#[utoipa::path(get, path = "/v1/nodes/{id}", tag = "nodes",
    security(("bearer" = [])),
    params(NodeId),
    responses(
        (status = 200, description = "The node", body = NodeView,
         headers(("ETag" = String, description = "The node's version, for If-Match"))),
    ))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn get_node(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
) -> Result<Response, ApiError> {
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = nodes::find(tx, id).await?;
            let role = require(tx, &node, Capability::Read).await?;
            view(tx, node, role).await
        })
        .await;
    audit_denial(&state, &auth, None, "node.read", result.as_ref().err()).await;
    let (view, etag) = result?;
    Ok(with_etag(view, &etag))
}

/// What `PATCH /v1/nodes/{id}` takes; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateNode {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// URL name.
    #[serde(default)]
    pub slug: Option<String>,
    /// Lifecycle status (transitions are checked).
    #[serde(default)]
    pub status: Option<NodeStatus>,
    /// Whether grants from above stop here.
    #[serde(default)]
    pub restricted: Option<bool>,
    /// Replaces the metadata object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Replaces the settings object (see the node view).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
    /// Projects and productions.
    #[serde(default)]
    pub description: Option<String>,
    /// Organizations.
    #[serde(default)]
    pub base_currency: Option<String>,
    /// Organizations and activations.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Activations; null clears it.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Option<Timestamp>>,
    /// Activations; null clears it.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<Timestamp>>,
    /// Activations.
    #[serde(default)]
    pub venue: Option<String>,
    /// Activations; null clears it.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i32>)]
    pub capacity: Option<Option<i32>>,
    /// Workspaces.
    #[serde(default)]
    pub workspace_type: Option<WorkspaceType>,
}

impl UpdateNode {
    fn to_changes(&self) -> Result<NodeChanges, ApiError> {
        check_metadata(&self.metadata)?;
        if self.settings.as_ref().is_some_and(|s| !s.is_object()) {
            return Err(ApiError::invalid_field("settings", "must be a JSON object"));
        }
        Ok(NodeChanges {
            name: self.name.as_deref().map(parse_name).transpose()?,
            slug: self.slug.as_deref().map(parse_slug).transpose()?,
            status: self.status.map(Into::into),
            restricted: self.restricted,
            metadata: self.metadata.clone(),
            settings: self.settings.clone(),
            level: LevelChanges {
                description: self.description.clone(),
                base_currency: self
                    .base_currency
                    .as_deref()
                    .map(|c| {
                        Currency::parse(c)
                            .map_err(|e| ApiError::invalid_field("base_currency", e.message))
                    })
                    .transpose()?,
                timezone: self.timezone.clone(),
                starts_at: self.starts_at.map(|t| t.map(|t| t.0)),
                ends_at: self.ends_at.map(|t| t.map(|t| t.0)),
                venue: self.venue.clone(),
                capacity: self.capacity,
                workspace_type: self.workspace_type.map(|t| t.as_str().to_owned()),
            },
        })
    }
}

/// Updates a node; `If-Match` must carry its current ETag.
#[utoipa::path(patch, path = "/v1/nodes/{id}", tag = "nodes",
    security(("bearer" = [])),
    params(NodeId, IfMatchHeader),
    request_body = UpdateNode,
    responses(
        (status = 200, description = "The updated node", body = NodeView,
         headers(("ETag" = String, description = "The node's new version"))),
    ))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update_node(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody<UpdateNode>,
) -> Result<Response, ApiError> {
    let changes = body.to_changes()?;
    let actor = auth.user_id();
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = nodes::find(tx, id).await?;
            target = Some((node.org_id, node.id));
            let role = require(tx, &node, Capability::Manage).await?;
            let (node, details) = nodes::lock(tx, node.org_id, node.id).await?;
            if !precondition.matches(&node_etag(&node, &details, role)) {
                return Err(ApiError::PreconditionFailed);
            }
            check_level_fields(node.kind, &changes.level.fields_set())?;
            let node = nodes::update(tx, node.org_id, node.id, &changes, Some(actor)).await?;
            view(tx, node, role).await
        })
        .await;
    audit_denial(&state, &auth, target, "node.update", result.as_ref().err()).await;
    let (view, etag) = result?;
    Ok(with_etag(view, &etag))
}

/// Soft-deletes a node and its whole subtree; `If-Match` must carry its
/// current ETag. Deleting an organization takes its owner.
#[utoipa::path(delete, path = "/v1/nodes/{id}", tag = "nodes",
    security(("bearer" = [])),
    params(NodeId, IfMatchHeader),
    responses((status = 204, description = "Deleted (restorable)")))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete_node(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    IfMatch(precondition): IfMatch,
) -> Result<StatusCode, ApiError> {
    let actor = auth.user_id();
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = nodes::find(tx, id).await?;
            target = Some((node.org_id, node.id));
            let role = require(tx, &node, Capability::Manage).await?;
            if node.kind == NodeKind::Organization && role != Role::Owner {
                return Err(ApiError::Forbidden(
                    "only an owner deletes an organization".into(),
                ));
            }
            let (node, details) = nodes::lock(tx, node.org_id, node.id).await?;
            if !precondition.matches(&node_etag(&node, &details, role)) {
                return Err(ApiError::PreconditionFailed);
            }
            if node.deleted_at.is_some() {
                return Err(ApiError::Conflict {
                    rule: None,
                    detail: "the node is already deleted".into(),
                    errors: Vec::new(),
                });
            }
            nodes::soft_delete(tx, node.org_id, node.id, Some(actor)).await?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await;
    audit_denial(&state, &auth, target, "node.delete", result.as_ref().err()).await;
    result
}

/// Restores a soft-deleted node and what its deletion took with it.
#[utoipa::path(post, path = "/v1/nodes/{id}/restore", tag = "nodes",
    security(("bearer" = [])),
    params(NodeId, IdempotencyHeader),
    responses(
        (status = 200, description = "The restored node", body = NodeView,
         headers(("ETag" = String, description = "The node's version"))),
    ))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn restore_node(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    key: IdempotencyKey,
) -> Result<Response, ApiError> {
    let hash = fingerprint("POST", &format!("/v1/nodes/{id}/restore"), &())?;
    let actor = auth.user_id();
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            if let Some(replay) = idempotency::claim(tx, &key, &hash).await? {
                return Ok(replay);
            }
            let node = nodes::find(tx, id).await?;
            target = Some((node.org_id, node.id));
            let role = require(tx, &node, Capability::Manage).await?;
            if node.deleted_at.is_none() {
                return Err(ApiError::Conflict {
                    rule: None,
                    detail: "the node is not deleted".into(),
                    errors: Vec::new(),
                });
            }
            let node = nodes::restore(tx, node.org_id, node.id, Some(actor)).await?;
            let (view, etag) = view(tx, node, role).await?;
            let reply = Reply::json(StatusCode::OK, &view)?.with_etag(etag);
            idempotency::complete(tx, &key, reply).await
        })
        .await;
    audit_denial(&state, &auth, target, "node.restore", result.as_ref().err()).await;
    result
}

/// What `POST /v1/nodes/{id}/move` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveNode {
    /// The new parent, in the same organization.
    pub parent_id: Uuid,
}

/// Moves a node and its subtree under another parent of the same
/// organization; the caller must manage both the node and the new parent.
#[utoipa::path(post, path = "/v1/nodes/{id}/move", tag = "nodes",
    security(("bearer" = [])),
    params(NodeId, IdempotencyHeader),
    request_body = MoveNode,
    responses(
        (status = 200, description = "The moved node", body = NodeView,
         headers(("ETag" = String, description = "The node's version"))),
    ))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn move_node(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<MoveNode>,
) -> Result<Response, ApiError> {
    let hash = fingerprint("POST", &format!("/v1/nodes/{id}/move"), &body)?;
    let actor = auth.user_id();
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            if let Some(replay) = idempotency::claim(tx, &key, &hash).await? {
                return Ok(replay);
            }
            let node = nodes::find(tx, id).await?;
            target = Some((node.org_id, node.id));
            let role = require(tx, &node, Capability::Manage).await?;
            let parent = find_referenced(tx, body.parent_id, "parent_id").await?;
            if parent.org_id != node.org_id {
                return Err(ApiError::invalid_field(
                    "parent_id",
                    "must be in the node's organization",
                ));
            }
            target = Some((parent.org_id, parent.id));
            require(tx, &parent, Capability::Manage).await?;
            let node = nodes::move_to(tx, node.org_id, node.id, parent.id, Some(actor)).await?;
            let (view, etag) = view(tx, node, role).await?;
            let reply = Reply::json(StatusCode::OK, &view)?.with_etag(etag);
            idempotency::complete(tx, &key, reply).await
        })
        .await;
    audit_denial(&state, &auth, target, "node.move", result.as_ref().err()).await;
    result
}

/// Paging parameters of the children list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChildrenParams {
    /// Rows per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of nodes.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodePage {
    /// The nodes.
    pub items: Vec<NodeSummary>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<Page<NodeSummary>> for NodePage {
    fn from(p: Page<NodeSummary>) -> NodePage {
        NodePage {
            items: p.items,
            next_cursor: p.next_cursor,
        }
    }
}

/// The live children the caller can read, by name.
#[utoipa::path(get, path = "/v1/nodes/{id}/children", tag = "nodes",
    security(("bearer" = [])),
    params(NodeId, ChildrenParams),
    responses((status = 200, description = "A page of children", body = NodePage)))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn children(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    Query(params): Query<ChildrenParams>,
) -> Result<Json<NodePage>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    let limit = page.limit()?;
    let after: Option<(String, Uuid)> = page.cursor()?;
    let rows = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = nodes::find(tx, id).await?;
            require(tx, &node, Capability::Read).await?;
            let after = after.as_ref().map(|(name, id)| (name.as_str(), *id));
            // one more than asked: proves a next page exists
            let fetch = i32::try_from(limit + 1).unwrap_or(i32::MAX);
            Ok::<_, ApiError>(nodes::children_page(tx, node.org_id, node.id, after, fetch).await?)
        })
        .await;
    audit_denial(&state, &auth, None, "node.children", rows.as_ref().err()).await;
    let rows = rows?;
    let page = Page::from_rows(
        rows,
        limit,
        |n: &Node| (n.name.clone(), n.id),
        NodeSummary::from,
    );
    Ok(Json(page.into()))
}

/// The ancestors list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ancestors {
    /// Root..parent, the ones the caller can read (a breadcrumb trail).
    pub items: Vec<NodeSummary>,
}

/// The node's ancestors the caller can read, root first: breadcrumbs.
#[utoipa::path(get, path = "/v1/nodes/{id}/ancestors", tag = "nodes",
    security(("bearer" = [])),
    params(NodeId),
    responses((status = 200, description = "Root..parent", body = Ancestors)))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn ancestors(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
) -> Result<Json<Ancestors>, ApiError> {
    let rows = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = nodes::find(tx, id).await?;
            require(tx, &node, Capability::Read).await?;
            Ok::<_, ApiError>(nodes::ancestors(tx, node.org_id, node.id).await?)
        })
        .await;
    audit_denial(&state, &auth, None, "node.ancestors", rows.as_ref().err()).await;
    let rows = rows?;
    Ok(Json(Ancestors {
        items: rows.into_iter().map(NodeSummary::from).collect(),
    }))
}

/// Filter and paging parameters of the subtree list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubtreeParams {
    /// Only nodes of this kind.
    pub kind: Option<Kind>,
    /// Rows per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The live descendants the caller can read, parents before children.
#[utoipa::path(get, path = "/v1/nodes/{id}/subtree", tag = "nodes",
    security(("bearer" = [])),
    params(NodeId, SubtreeParams),
    responses((status = 200, description = "A page of descendants, in pre-order", body = NodePage)))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn subtree(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    Query(params): Query<SubtreeParams>,
) -> Result<Json<NodePage>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    let limit = page.limit()?;
    let after: Option<Vec<Uuid>> = page.cursor()?;
    if after
        .as_ref()
        .is_some_and(|p| p.is_empty() || p.len() > showtree_core::MAX_DEPTH)
    {
        return Err(ApiError::bad_parameter(
            "cursor",
            "not a cursor this list issued",
        ));
    }
    let kind = params.kind.map(NodeKind::from);
    let rows = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = nodes::find(tx, id).await?;
            require(tx, &node, Capability::Read).await?;
            let fetch = i32::try_from(limit + 1).unwrap_or(i32::MAX);
            Ok::<_, ApiError>(
                nodes::subtree(tx, node.org_id, node.id, kind, after.as_deref(), fetch).await?,
            )
        })
        .await;
    audit_denial(&state, &auth, None, "node.subtree", rows.as_ref().err()).await;
    let rows = rows?;
    let page = Page::from_rows(rows, limit, Node::path, NodeSummary::from);
    Ok(Json(page.into()))
}
