//! `GET /v1/me`: the caller, their organizations and their grants.

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::grants::GrantView;
use super::nodes::Timestamp;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}

/// The caller's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The user's id.
    pub id: Uuid,
    /// Their email.
    pub email: String,
    /// How they are shown to others.
    pub display_name: String,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// An organization the caller belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    /// The organization's id (its root node's id).
    pub id: Uuid,
    /// Its name; null when the caller's grants there are below its root
    /// (they cannot read the organization's own node).
    pub name: Option<String>,
    /// Its slug, likewise.
    pub slug: Option<String>,
}

/// Who the caller is.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// The account.
    pub user: UserView,
    /// The organizations where the caller holds a grant.
    pub orgs: Vec<OrgView>,
    /// The caller's grants.
    pub grants: Vec<GrantView>,
}

/// The caller, their organizations and their grants.
#[utoipa::path(get, path = "/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = MeView)))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn me(State(state): State<AppState>, auth: Auth) -> Result<Json<MeView>, ApiError> {
    let (user, orgs, grants) = state
        .db
        .run_as(&auth.0, async |tx| {
            let user = showtree_db::auth::me(tx).await?;
            let orgs = showtree_db::me::organizations(tx).await?;
            let grants = showtree_db::me::grants(tx).await?;
            Ok::<_, ApiError>((user, orgs, grants))
        })
        .await?;
    Ok(Json(MeView {
        user: UserView {
            id: user.id,
            email: user.email,
            display_name: user.display_name,
            created_at: Timestamp(user.created_at),
        },
        orgs: orgs
            .into_iter()
            .map(|m| {
                let (name, slug) = m.name.unzip();
                OrgView {
                    id: m.org_id,
                    name,
                    slug,
                }
            })
            .collect(),
        grants: grants.into_iter().map(GrantView::from).collect(),
    }))
}
