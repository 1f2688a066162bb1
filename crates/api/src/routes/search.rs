//! `GET /v1/nodes/{id}/search?q=`: full-text search over a node's live
//! subtree (node names, tasks, schedule items, documents, and with finance
//! budget lines and invoices), only what the caller may read, ranked.

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use showtree_core::Capability;
use showtree_db::domain;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::nodes::NodeId;
use crate::auth::Auth;
use crate::collection::owner_node;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

/// The query of a search.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to find (web-search syntax: "quoted phrases", -excluded, or).
    #[param(min_length = 1, max_length = 200)]
    pub q: String,
    /// Most hits, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// One search hit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hit {
    /// What was found: node, task, schedule_item, document, budget_line or invoice.
    pub kind: String,
    /// Its id.
    pub id: Uuid,
    /// The node it belongs to.
    pub node_id: Uuid,
    /// Its title (name, number, category).
    pub title: String,
    /// Relevance (higher first).
    pub rank: f32,
}

/// Search results, best first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResults {
    /// The hits.
    pub items: Vec<Hit>,
}

/// Searches the live subtree of a node.
#[utoipa::path(get, path = "/v1/nodes/{id}/search", tag = "search",
    security(("bearer" = [])),
    params(NodeId, SearchParams),
    responses((status = 200, description = "Hits, best first", body = SearchResults)))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn search(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let q = params.q.trim();
    if q.is_empty() || params.q.chars().count() > 200 {
        return Err(ApiError::bad_parameter("q", "must be 1 to 200 characters"));
    }
    let limit = match params.limit {
        None => 20,
        Some(n @ 1..=100) => n,
        Some(_) => {
            return Err(ApiError::bad_parameter(
                "limit",
                "must be between 1 and 100",
            ));
        }
    };
    let hits = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = owner_node(tx, id, Capability::Read).await?;
            let hits = domain::search(tx, node.org_id, node.id, q, limit as i32).await?;
            Ok::<_, ApiError>(hits)
        })
        .await?;
    Ok(Json(SearchResults {
        items: hits
            .into_iter()
            .map(|h| Hit {
                kind: h.kind,
                id: h.id,
                node_id: h.node_id,
                title: h.title,
                rank: h.rank,
            })
            .collect(),
    }))
}
