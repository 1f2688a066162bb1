//! `GET /v1/nodes/{id}/activity`: the audit log of a subtree, newest first:
//! every change of its rows, grants and refusals the caller may read (money
//! events only with the finance capability).

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use showtree_core::Capability;
use showtree_db::audit_log;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::nodes::{NodeId, Timestamp};
use crate::auth::Auth;
use crate::collection::owner_node;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(activity))
}

/// One event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    /// Its id.
    pub id: Uuid,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// The node it happened at.
    pub node_id: Option<Uuid>,
    /// Who did it.
    pub actor: Option<Uuid>,
    /// What happened: `<table>.created|updated|deleted|restored|purged`,
    /// `grant.created|changed|revoked`, `<action>.denied`.
    pub action: String,
    /// The table of the row it changed.
    pub table_name: Option<String>,
    /// The row it changed.
    pub row_id: Option<Uuid>,
    /// Why (refusals).
    pub reason: Option<String>,
    /// The changed columns: `{column: {old, new}}` (values of money columns
    /// a viewer may not see are never copied in).
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

/// A page of events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventPage {
    /// Newest first.
    pub items: Vec<Event>,
    /// Pass as `cursor` for the next (older) page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The audit events of a node's subtree, newest first.
#[utoipa::path(get, path = "/v1/nodes/{id}/activity", tag = "nodes",
    security(("bearer" = [])),
    params(NodeId, PageParams),
    responses((status = 200, description = "One page, newest first", body = EventPage)))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn activity(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    Query(page): Query<PageParams>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = page.limit()?;
    let before = page
        .cursor::<(String, Uuid)>()?
        .map(|(at, id)| {
            time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
                .map(|at| (at, id))
                .map_err(|_| ApiError::bad_parameter("cursor", "not a cursor this list issued"))
        })
        .transpose()?;
    let events = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = owner_node(tx, id, Capability::Read).await?;
            let events =
                audit_log::activity(tx, node.org_id, node.id, before, i64::from(limit) + 1).await?;
            Ok::<_, ApiError>(events)
        })
        .await?;
    let page = Page::from_rows(
        events,
        limit,
        |e| {
            (
                e.occurred_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                e.id,
            )
        },
        |e| Event {
            id: e.id,
            occurred_at: Timestamp(e.occurred_at),
            node_id: e.node_id,
            actor: e.actor,
            action: e.action,
            table_name: e.table_name,
            row_id: e.row_id,
            reason: e.reason,
            changes: e.changes,
        },
    );
    Ok(Json(EventPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}
