//! Access at a node: `GET/POST /v1/nodes/{id}/grants`,
//! `DELETE /v1/grants/{id}`, and `GET /v1/nodes/{id}/access?user_id=`.

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use showtree_core::{Capability, Role};
use showtree_db::grants::{self, Grant, Grantee};
use showtree_db::nodes;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::access::{audit_denial, require};
use super::nodes::{IdempotencyHeader, NodeId, Timestamp};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, JsonBody, Path, Query};
use crate::idempotency::{self, Reply, fingerprint};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::wire::AccessRole;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_grants, create_grant))
        .routes(routes!(revoke_grant))
        .routes(routes!(explain_access))
}

/// A role granted to a user on a node.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GrantView {
    /// The grant's id.
    pub id: Uuid,
    /// The organization.
    pub org_id: Uuid,
    /// The node it is granted on (and inherited below).
    pub node_id: Uuid,
    /// The grantee.
    pub user_id: Uuid,
    /// The role.
    pub role: AccessRole,
    /// When it was granted.
    pub created_at: Timestamp,
}

impl From<Grant> for GrantView {
    fn from(g: Grant) -> GrantView {
        GrantView {
            id: g.id,
            org_id: g.org_id,
            node_id: g.node_id,
            user_id: g.user_id,
            role: g.role.into(),
            created_at: Timestamp(g.created_at),
        }
    }
}

/// A page of grants.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantPage {
    /// The grants on the node, oldest first.
    pub items: Vec<GrantView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Paging parameters of the grants list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantListParams {
    /// Rows per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The grants on a node (those on its ancestors are listed at theirs);
/// needs the grant capability.
#[utoipa::path(get, path = "/v1/nodes/{id}/grants", tag = "access",
    security(("bearer" = [])),
    params(NodeId, GrantListParams),
    responses((status = 200, description = "A page of grants", body = GrantPage)))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn list_grants(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    Query(params): Query<GrantListParams>,
) -> Result<Json<GrantPage>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    let limit = page.limit()?;
    let after: Option<Uuid> = page.cursor()?;
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = nodes::find(tx, id).await?;
            target = Some((node.org_id, node.id));
            require(tx, &node, Capability::Grant).await?;
            Ok::<_, ApiError>(grants::list(tx, node.org_id, node.id).await?)
        })
        .await;
    audit_denial(&state, &auth, target, "grant.list", result.as_ref().err()).await;
    // A node holds a handful of grants: the page is cut here, keyed by the
    // grant's id (time-ordered), so the cursor stays stable.
    let mut rows = result?;
    rows.sort_by_key(|g| g.id);
    let rows: Vec<Grant> = rows
        .into_iter()
        .filter(|g| after.is_none_or(|a| g.id > a))
        .take(limit as usize + 1)
        .collect();
    let page = Page::from_rows(rows, limit, |g: &Grant| g.id, GrantView::from);
    Ok(Json(GrantPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// What `POST /v1/nodes/{id}/grants` takes: the grantee by id or email.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    /// The grantee's id (or give `email`).
    #[serde(default)]
    pub user_id: Option<Uuid>,
    /// The grantee's email (or give `user_id`).
    #[serde(default)]
    pub email: Option<String>,
    /// The role; at most the caller's own (a manager grants up to manager).
    pub role: AccessRole,
}

/// Grants a role on a node; the user's previous grant there, if any, is
/// replaced.
#[utoipa::path(post, path = "/v1/nodes/{id}/grants", tag = "access",
    security(("bearer" = [])),
    params(NodeId, IdempotencyHeader),
    request_body = CreateGrant,
    responses((status = 201, description = "Granted", body = GrantView)))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create_grant(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<CreateGrant>,
) -> Result<Response, ApiError> {
    let hash = fingerprint("POST", &format!("/v1/nodes/{id}/grants"), &body)?;
    let grantee = match (&body.user_id, &body.email) {
        (Some(user_id), None) => Grantee::User(*user_id),
        (None, Some(email)) => Grantee::Email(email.trim().to_owned()),
        _ => {
            return Err(ApiError::invalid_field(
                "user_id",
                "give exactly one of user_id and email",
            ));
        }
    };
    let role: Role = body.role.into();
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            if let Some(replay) = idempotency::claim(tx, &key, &hash).await? {
                return Ok(replay);
            }
            let node = nodes::find(tx, id).await?;
            target = Some((node.org_id, node.id));
            let mine = require(tx, &node, Capability::Grant).await?;
            if mine.max_grantable().is_none_or(|max| role > max) {
                return Err(ApiError::Forbidden(
                    "you cannot grant a role above your own".into(),
                ));
            }
            let grant = match grants::grant(tx, node.org_id, node.id, &grantee, role).await {
                Ok(grant) => grant,
                // the email names nobody (or nobody the caller may look up)
                Err(showtree_db::DbError::Invalid(_)) if matches!(grantee, Grantee::Email(_)) => {
                    return Err(ApiError::invalid_field("email", "no user with that email"));
                }
                Err(e) => return Err(e.into()),
            };
            let reply = Reply::json(StatusCode::CREATED, &GrantView::from(grant))?;
            idempotency::complete(tx, &key, reply).await
        })
        .await;
    audit_denial(&state, &auth, target, "grant.create", result.as_ref().err()).await;
    result
}

/// The grant id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GrantId {
    /// The grant's id.
    pub id: Uuid,
}

/// Revokes a grant (the caller needs the grant capability at its node, and
/// an organization keeps at least one owner). Grants never change, so no
/// `If-Match` is needed.
#[utoipa::path(delete, path = "/v1/grants/{id}", tag = "access",
    security(("bearer" = [])),
    params(GrantId),
    responses((status = 204, description = "Revoked")))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn revoke_grant(
    State(state): State<AppState>,
    auth: Auth,
    Path(GrantId { id }): Path<GrantId>,
) -> Result<StatusCode, ApiError> {
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            grants::revoke(tx, id).await?;
            Ok::<_, ApiError>(StatusCode::NO_CONTENT)
        })
        .await;
    audit_denial(&state, &auth, None, "grant.revoke", result.as_ref().err()).await;
    result
}

/// Whose access to explain.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessParams {
    /// The user; the caller when absent. Explaining someone else needs the
    /// grant capability at the node.
    pub user_id: Option<Uuid>,
}

/// One grant on the way from the root to the node.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessStep {
    /// The grant.
    pub grant_id: Uuid,
    /// The node it sits on.
    pub node_id: Uuid,
    /// Its role.
    pub role: AccessRole,
    /// Root..the grant's node.
    pub path: Vec<Uuid>,
    /// Whether it reaches the node (false when a restricted node between
    /// stops it).
    pub applies: bool,
    /// The restricted node that stops it, if one does.
    pub blocked_by: Option<Uuid>,
}

/// Why a user has the role they have at a node.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessExplanation {
    /// The user.
    pub user_id: Uuid,
    /// The node.
    pub node_id: Uuid,
    /// Their effective role: the strongest grant that applies; null: none.
    pub effective_role: Option<AccessRole>,
    /// Every grant on the node or its ancestors, root first.
    pub grants: Vec<AccessStep>,
}

/// Explains a user's effective role at a node: which grants, on which
/// nodes, along which path, and which restricted node stops any.
#[utoipa::path(get, path = "/v1/nodes/{id}/access", tag = "access",
    security(("bearer" = [])),
    params(NodeId, AccessParams),
    responses((status = 200, description = "The explanation", body = AccessExplanation)))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn explain_access(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    Query(params): Query<AccessParams>,
) -> Result<Json<AccessExplanation>, ApiError> {
    let user_id = params.user_id.unwrap_or(auth.user_id());
    let mut target = None;
    let result = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = nodes::find(tx, id).await?;
            target = Some((node.org_id, node.id));
            let capability = if user_id == auth.user_id() {
                Capability::Read
            } else {
                Capability::Grant
            };
            require(tx, &node, capability).await?;
            Ok::<_, ApiError>(grants::explain(tx, node.org_id, node.id, user_id).await?)
        })
        .await;
    audit_denial(
        &state,
        &auth,
        target,
        "access.explain",
        result.as_ref().err(),
    )
    .await;
    let explanation = result?;
    Ok(Json(AccessExplanation {
        user_id,
        node_id: id,
        effective_role: explanation.effective_role.map(Into::into),
        grants: explanation
            .grants
            .into_iter()
            .map(|s| AccessStep {
                grant_id: s.grant_id,
                node_id: s.node_id,
                role: s.role.into(),
                path: s.path,
                applies: s.applies,
                blocked_by: s.blocked_by,
            })
            .collect(),
    }))
}
