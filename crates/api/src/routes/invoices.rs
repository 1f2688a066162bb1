//! `/v1/nodes/{id}/invoices`, `/v1/invoices/{id}` and their lines
//! (`/v1/invoices/{id}/lines`, `/v1/invoice-lines/{id}`): bills from
//! vendors booked at a node. The finance capability reads and writes them;
//! an invoice's total is derived from its lines, never typed.

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use showtree_core::Capability;
use showtree_db::domain::tables;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::nodes::{IdempotencyHeader, nullable};
use crate::auth::Auth;
use crate::collection::{self, Body, Collection, Into, ListParams, RowId, RowPage, Universal};
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, JsonBody, Path, Query};
use crate::state::AppState;
use crate::wire::{Day, NodeStatus};

/// Invoices: finance only.
pub const INVOICES: Collection = Collection {
    table: &tables::INVOICES,
    read: Capability::Finance,
    write: Capability::Finance,
    noun: "invoice",
    path: "/v1/invoices",
};

/// Invoice lines: finance only, through their invoice.
pub const INVOICE_LINES: Collection = Collection {
    table: &tables::INVOICE_LINES,
    read: Capability::Finance,
    write: Capability::Finance,
    noun: "invoice_line",
    path: "/v1/invoice-lines",
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invoices, create_invoice))
        .routes(routes!(get_invoice, update_invoice, delete_invoice))
        .routes(routes!(restore_invoice))
        .routes(routes!(tag_invoice))
        .routes(routes!(untag_invoice))
        .routes(routes!(list_invoice_lines, create_invoice_line))
        .routes(routes!(
            get_invoice_line,
            update_invoice_line,
            delete_invoice_line
        ))
        .routes(routes!(restore_invoice_line))
}

/// A vendor's bill.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Invoice {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The node it is booked at.
    pub node_id: Uuid,
    /// The vendor who sent it.
    pub vendor_id: Uuid,
    /// The vendor's number for it (unique per vendor).
    pub number: String,
    /// When it was issued.
    pub issued_on: Day,
    /// When it is due.
    pub due_on: Option<Day>,
    /// draft (entered), active (approved: committed, unpaid), review
    /// (disputed), completed (paid), cancelled (void), archived.
    pub status: NodeStatus,
    /// ISO 4217 code of every amount on it.
    pub currency: String,
    /// Details.
    pub description: String,
    /// The sum of its live lines, in minor units.
    pub total_minor: i64,
    /// Its tags.
    pub tags: Vec<Uuid>,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

/// What `POST /v1/nodes/{id}/invoices` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoice {
    /// A vendor of the node's organization.
    pub vendor_id: Uuid,
    /// The vendor's number for it.
    pub number: String,
    /// When it was issued.
    pub issued_on: Day,
    /// When it is due (not before issued_on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<Day>,
    /// Initial status (default draft; never planning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// ISO 4217 code.
    #[schema(min_length = 3, max_length = 3)]
    pub currency: String,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewInvoice {}

/// What `PATCH /v1/invoices/{id}` takes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceChanges {
    /// Another vendor of the organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<Uuid>,
    /// The vendor's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// When it was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<Day>,
    /// When it is due; null to clear.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<Option<Day>>,
    /// Lifecycle status (transitions are checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// ISO 4217 code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for InvoiceChanges {}

crate::node_list_routes!(
    collection = INVOICES,
    tag = "finance",
    view = Invoice,
    new = NewInvoice,
    path = "/v1/nodes/{id}/invoices",
    list = list_invoices,
    create = create_invoice
);
crate::row_routes!(
    collection = INVOICES,
    tag = "finance",
    view = Invoice,
    patch = InvoiceChanges,
    one = "/v1/invoices/{id}",
    restore = "/v1/invoices/{id}/restore",
    get = get_invoice,
    update = update_invoice,
    delete = delete_invoice,
    restore_fn = restore_invoice
);
crate::tag_routes!(
    collection = INVOICES,
    tag = "finance",
    view = Invoice,
    add_path = "/v1/invoices/{id}/tags",
    remove_path = "/v1/invoices/{id}/tags/{tag_id}",
    add = tag_invoice,
    remove = untag_invoice
);

/// One line of an invoice, in the invoice's currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvoiceLine {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The invoice it belongs to.
    pub invoice_id: Uuid,
    /// The budget line it is booked against, if any.
    pub budget_line_id: Option<Uuid>,
    /// What was bought.
    pub description: String,
    /// How many (up to three decimals).
    pub quantity: f64,
    /// Price of one, in minor units.
    pub unit_amount_minor: i64,
    /// quantity x unit price, rounded to a minor unit.
    pub amount_minor: i64,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

/// Checks a quantity: positive, at most three decimals, at most 11 digits
/// before the point.
fn check_quantity(q: f64) -> Result<(), ApiError> {
    let scaled = q * 1000.0;
    if q.is_nan() || q <= 0.0 || q >= 1e11 || (scaled - scaled.round()).abs() > 1e-6 {
        return Err(ApiError::invalid_field(
            "quantity",
            "must be positive, below 100000000000, with at most three decimals",
        ));
    }
    Ok(())
}

/// What `POST /v1/invoices/{id}/lines` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoiceLine {
    /// What was bought (1 to 2000 characters).
    pub description: String,
    /// How many (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0)]
    pub quantity: Option<f64>,
    /// Price of one, in minor units (not negative).
    #[schema(minimum = 0)]
    pub unit_amount_minor: i64,
    /// A budget line of the organization to book it against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_line_id: Option<Uuid>,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewInvoiceLine {
    fn validate(&self) -> Result<(), ApiError> {
        self.quantity.map_or(Ok(()), check_quantity)
    }
}

/// What `PATCH /v1/invoice-lines/{id}` takes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceLineChanges {
    /// What was bought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0)]
    pub quantity: Option<f64>,
    /// Price of one, in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub unit_amount_minor: Option<i64>,
    /// The budget line it is booked against; null to clear.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Uuid>)]
    pub budget_line_id: Option<Option<Uuid>>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for InvoiceLineChanges {
    fn validate(&self) -> Result<(), ApiError> {
        self.quantity.map_or(Ok(()), check_quantity)
    }
}

/// Lists the lines of an invoice, oldest first.
#[utoipa::path(get, path = "/v1/invoices/{id}/lines", tag = "finance",
    security(("bearer" = [])),
    params(RowId, ListParams),
    responses((status = 200, description = "One page", body = RowPage<InvoiceLine>)))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn list_invoice_lines(
    State(state): State<AppState>,
    auth: Auth,
    Path(RowId { id }): Path<RowId>,
    Query(params): Query<ListParams>,
) -> Result<Json<RowPage<InvoiceLine>>, ApiError> {
    collection::list_in_parent(&state, &auth, &INVOICES, &INVOICE_LINES, id, &params)
        .await
        .map(Json)
}

/// Adds a line to an invoice.
#[utoipa::path(post, path = "/v1/invoices/{id}/lines", tag = "finance",
    security(("bearer" = [])),
    params(RowId, IdempotencyHeader),
    request_body = NewInvoiceLine,
    responses((status = 201, description = "Created", body = InvoiceLine,
        headers(("ETag" = String, description = "The line's version"),
                ("Location" = String, description = "The line's URL")))))]
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create_invoice_line(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    Path(RowId { id }): Path<RowId>,
    JsonBody(body): JsonBody<NewInvoiceLine>,
) -> Result<Response, ApiError> {
    body.validate()?;
    let mut extra = serde_json::Map::new();
    extra.insert("invoice_id".into(), serde_json::json!(id));
    let new = collection::NewRow::of(&format!("/v1/invoices/{id}/lines"), &body, extra)?;
    collection::create::<InvoiceLine>(
        &state,
        &auth,
        &key,
        &INVOICE_LINES,
        Into::Parent(&INVOICES, id),
        new,
    )
    .await
}

crate::row_routes!(
    collection = INVOICE_LINES,
    tag = "finance",
    view = InvoiceLine,
    patch = InvoiceLineChanges,
    one = "/v1/invoice-lines/{id}",
    restore = "/v1/invoice-lines/{id}/restore",
    get = get_invoice_line,
    update = update_invoice_line,
    delete = delete_invoice_line,
    restore_fn = restore_invoice_line
);
