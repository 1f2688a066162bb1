//! `GET /v1/nodes/{id}/rollup`: money, work and headcount of a node's live
//! subtree, per currency, overall, for the node's own rows, per child the
//! caller can read, and one `restricted` bucket for the children it cannot.
//! Money appears only with the finance capability. The database applies
//! the caller's access (`private.rollup`, migration 0006); the figures are
//! exact as of the request's transaction (see docs/ROLLUPS.md).

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use showtree_core::Capability;
use showtree_db::rollups::{self, BaseMoney, Bucket, BucketKind, ChildPage, Line, Money};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::nodes::{NodeId, Timestamp};
use crate::auth::Auth;
use crate::collection::owner_node;
use crate::error::ApiError;
use crate::etag::ETag;
use crate::extract::{Path, Query};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::wire::Kind;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_rollup))
}

/// Options of a roll-up.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RollupParams {
    /// Also convert money to the organization's base currency (invoices at
    /// the rate of their issue date, budgets and crew cost at today's),
    /// beside the per-currency figures. Default false.
    pub convert: Option<bool>,
    /// Children listed per page, 1 to 1000 (default 100); the other
    /// buckets are the same on every page.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (of children).
    pub cursor: Option<String>,
}

/// Tasks by status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskCounts {
    /// Draft.
    pub draft: i64,
    /// Planning.
    pub planning: i64,
    /// Active.
    pub active: i64,
    /// Review.
    pub review: i64,
    /// Completed.
    pub completed: i64,
    /// Cancelled.
    pub cancelled: i64,
    /// Archived.
    pub archived: i64,
}

/// The tasks of a bucket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskFigures {
    /// Live tasks by status.
    pub by_status: TaskCounts,
    /// Live tasks.
    pub total: i64,
    /// Completed among live tasks neither cancelled nor archived; null
    /// when there are none.
    pub completion_ratio: Option<f64>,
    /// Open (draft, planning, active, review) tasks due before `as_of`.
    pub overdue: i64,
}

/// The run of show of a bucket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleFigures {
    /// Live schedule items.
    pub items: i64,
    /// Pairs of live items overlapping in one location of one node.
    pub conflicts: i64,
}

/// Amounts by invoice status (minor units).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoicedByStatus {
    /// Entered, not approved.
    pub draft: i64,
    /// Approved, unpaid.
    pub active: i64,
    /// Disputed.
    pub review: i64,
    /// Paid.
    pub completed: i64,
    /// Void.
    pub cancelled: i64,
    /// Archived.
    pub archived: i64,
}

/// Money of a bucket in one currency (minor units of that currency).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MoneyFigures {
    /// ISO 4217 code.
    pub currency: String,
    /// Planned: live budget lines.
    pub budget_planned_minor: i64,
    /// Live invoice lines of live invoices, by the invoice's status.
    pub invoiced_minor: InvoicedByStatus,
    /// Paid: invoices completed.
    pub paid_minor: i64,
    /// Committed: invoices approved, disputed or paid.
    pub committed_minor: i64,
    /// Planned minus committed.
    pub variance_minor: i64,
    /// Live, not cancelled crew assignments with a rate: flat, per hour of
    /// call to wrap, or per started day.
    pub crew_cost_minor: i64,
}

/// Money converted to the organization's base currency: each field null
/// when a rate it needs is missing (`missing_rates` names the currencies).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BaseFigures {
    /// The base currency.
    pub currency: String,
    /// Planned, at today's rates.
    pub budget_planned_minor: Option<i64>,
    /// Invoiced (every status), each invoice at the rate of its issue date.
    pub invoiced_minor: Option<i64>,
    /// Paid.
    pub paid_minor: Option<i64>,
    /// Committed.
    pub committed_minor: Option<i64>,
    /// Planned minus committed.
    pub variance_minor: Option<i64>,
    /// Crew cost, at today's rates.
    pub crew_cost_minor: Option<i64>,
    /// Currencies with amounts but no rate on or before the day needed.
    pub missing_rates: Vec<String>,
}

/// The figures of one bucket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    /// Tasks.
    pub tasks: TaskFigures,
    /// Live assignments of live assets covering `as_of`.
    pub assets_assigned_now: i64,
    /// Live, not cancelled crew assignments.
    pub crew_headcount: i64,
    /// Schedule items.
    pub schedule: ScheduleFigures,
    /// Whether the caller has the finance capability here (else `money`
    /// and `base` are null).
    pub money_visible: bool,
    /// Money per currency, never summed across currencies.
    #[schema(nullable)]
    pub money: Option<Vec<MoneyFigures>>,
    /// Money in the base currency, when `convert=true` (and money is shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseFigures>,
}

/// One child of the node, with its subtree's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildFigures {
    /// The child's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its level.
    pub kind: Kind,
    /// Its subtree's figures.
    pub figures: Figures,
}

/// A node's roll-up.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rollup {
    /// The node.
    pub node_id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The instant the figures are exact at (overdue and "now" use it).
    pub as_of: Timestamp,
    /// The whole live subtree (the node, every descendant, restricted ones
    /// included).
    pub total: Figures,
    /// The node's own rows.
    pub own: Figures,
    /// A page of the live children the caller can read, by name then id.
    pub children: Vec<ChildFigures>,
    /// Pass as `cursor` for the next page of children; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The children the caller cannot read, summed; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restricted: Option<Figures>,
}

fn counts_of(line: &Line) -> TaskCounts {
    let t = &line.0;
    TaskCounts {
        draft: t[0],
        planning: t[1],
        active: t[2],
        review: t[3],
        completed: t[4],
        cancelled: t[5],
        archived: t[6],
    }
}

fn money_of(m: &Money) -> MoneyFigures {
    let i = &m.invoiced_minor;
    let committed = i[1] + i[2] + i[3];
    MoneyFigures {
        currency: m.currency.clone(),
        budget_planned_minor: m.budget_planned_minor,
        invoiced_minor: InvoicedByStatus {
            draft: i[0],
            active: i[1],
            review: i[2],
            completed: i[3],
            cancelled: i[4],
            archived: i[5],
        },
        paid_minor: i[3],
        committed_minor: committed,
        variance_minor: m.budget_planned_minor - committed,
        crew_cost_minor: m.crew_cost_minor,
    }
}

/// Sums the base-currency figures of every currency row (exact: they are
/// integers in one currency); a field is null when any part is.
fn base_of(money: &[Money]) -> Option<BaseFigures> {
    let bases: Vec<(&Money, &BaseMoney)> = money
        .iter()
        .filter_map(|m| m.base.as_ref().map(|b| (m, b)))
        .collect();
    let currency = bases.first()?.1.currency.clone();
    let sum = |f: &dyn Fn(&BaseMoney) -> Option<i64>| -> Option<i64> {
        bases.iter().map(|(_, b)| f(b)).sum()
    };
    let invoiced = |k: &[usize]| sum(&|b| k.iter().map(|&s| b.invoiced_minor[s]).sum());
    let budget = sum(&|b| b.budget_planned_minor);
    let committed = invoiced(&[1, 2, 3]);
    let mut missing: Vec<String> = bases
        .iter()
        .filter(|(_, b)| {
            b.budget_planned_minor.is_none()
                || b.crew_cost_minor.is_none()
                || b.invoiced_minor.iter().any(Option::is_none)
        })
        .map(|(m, _)| m.currency.clone())
        .collect();
    missing.dedup();
    Some(BaseFigures {
        currency,
        budget_planned_minor: budget,
        invoiced_minor: invoiced(&[0, 1, 2, 3, 4, 5]),
        paid_minor: invoiced(&[3]),
        committed_minor: committed,
        variance_minor: budget.zip(committed).map(|(b, c)| b - c),
        crew_cost_minor: sum(&|b| b.crew_cost_minor),
        missing_rates: missing,
    })
}

fn figures_of(b: &Bucket) -> Figures {
    let c = &b.counts;
    let by_status = counts_of(c);
    let total: i64 = c.0[..7].iter().sum();
    let open_or_done = total - by_status.cancelled - by_status.archived;
    Figures {
        tasks: TaskFigures {
            completion_ratio: (open_or_done > 0)
                .then(|| by_status.completed as f64 / open_or_done as f64),
            by_status,
            total,
            overdue: c.get("tasks_overdue"),
        },
        assets_assigned_now: c.get("assets_now"),
        crew_headcount: c.get("crew_headcount"),
        schedule: ScheduleFigures {
            items: c.get("schedule_items"),
            conflicts: c.get("schedule_conflicts"),
        },
        money_visible: b.money_visible,
        money: b
            .money_visible
            .then(|| b.money.iter().map(money_of).collect()),
        base: if b.money_visible {
            base_of(&b.money)
        } else {
            None
        },
    }
}

/// Reads the roll-up of a node's live subtree.
#[utoipa::path(get, path = "/v1/nodes/{id}/rollup", tag = "rollups",
    security(("bearer" = [])),
    params(NodeId, RollupParams),
    responses(
        (status = 200, description = "The roll-up", body = Rollup,
         headers(("ETag" = String, description = "The figures' version"))),
    ))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn get_rollup(
    State(state): State<AppState>,
    auth: Auth,
    Path(NodeId { id }): Path<NodeId>,
    Query(params): Query<RollupParams>,
) -> Result<Response, ApiError> {
    let convert = params.convert.unwrap_or(false);
    let paging = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    let limit = paging.limit()?;
    let after: Option<(String, Uuid)> = paging.cursor()?;
    let (node, now, buckets) = state
        .db
        .run_as(&auth.0, async |tx| {
            let node = owner_node(tx, id, Capability::Read).await?;
            let page = ChildPage {
                after: after.as_ref().map(|(name, id)| (name.as_str(), *id)),
                // one more than asked: proves a next page exists
                limit: i32::try_from(limit + 1).unwrap_or(i32::MAX),
            };
            let Some((now, buckets)) =
                rollups::for_caller(tx, node.org_id, node.id, convert, page).await?
            else {
                return Err(ApiError::NotFound);
            };
            Ok::<_, ApiError>((node, now, buckets))
        })
        .await?;
    let mut total = None;
    let mut own = None;
    let mut restricted = None;
    let mut children = Vec::new();
    for b in &buckets {
        let figures = figures_of(b);
        match &b.kind {
            BucketKind::Total => total = Some(figures),
            BucketKind::Own => own = Some(figures),
            BucketKind::Restricted => restricted = Some(figures),
            BucketKind::Child(child, name, kind) => children.push(ChildFigures {
                id: *child,
                name: name.clone(),
                kind: (*kind).into(),
                figures,
            }),
        }
    }
    // in the database's order (name by its collation, then id): the
    // cursor's order
    let page = Page::from_rows(children, limit, |c| (c.name.clone(), c.id), |c| c);
    let (Some(total), Some(own)) = (total, own) else {
        return Err(ApiError::Internal(
            "roll-up without total or own bucket".into(),
        ));
    };
    let rollup = Rollup {
        node_id: node.id,
        org_id: node.org_id,
        as_of: Timestamp(now),
        total,
        own,
        children: page.items,
        next_cursor: page.next_cursor,
        restricted,
    };
    // the figures' version: everything but the instant they were read at
    let figures = serde_json::to_vec(&(
        &rollup.total,
        &rollup.own,
        &rollup.children,
        &rollup.restricted,
    ))
    .map_err(|e| ApiError::Internal(format!("serializing a roll-up: {e}")))?;
    let etag = ETag::from_parts(&[node.id.as_bytes(), &figures]);
    Ok(([(header::ETAG, etag.header_value())], Json(rollup)).into_response())
}
