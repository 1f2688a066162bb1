//! The description of every domain table the engine serves (migration
//! 0005 holds the tables, their rules and policies).

use super::{Owner, Table, TagLink};

/// Nothing merged into the view.
const PLAIN: &str = "'{}'::jsonb";

/// Work items of a node.
pub const TASKS: Table = Table {
    name: "tasks",
    owner: Owner::Node,
    insertable: &[
        "title",
        "description",
        "status",
        "priority",
        "assigned_to",
        "due_at",
        "metadata",
    ],
    updatable: &[
        "title",
        "description",
        "status",
        "priority",
        "assigned_to",
        "due_at",
        "metadata",
    ],
    view: PLAIN,
    status: true,
    assigned_to: true,
    date_column: Some("due_at"),
    search: true,
    tags: Some(TagLink {
        table: "task_tags",
        column: "task_id",
    }),
    filters: &[],
};

/// Planned money of a node (finance).
pub const BUDGET_LINES: Table = Table {
    name: "budget_lines",
    owner: Owner::Node,
    insertable: &[
        "category",
        "description",
        "amount_minor",
        "currency",
        "metadata",
    ],
    updatable: &[
        "category",
        "description",
        "amount_minor",
        "currency",
        "metadata",
    ],
    view: PLAIN,
    status: false,
    assigned_to: false,
    date_column: None,
    search: true,
    tags: None,
    filters: &[],
};

/// Suppliers of an organization (reference data).
pub const VENDORS: Table = Table {
    name: "vendors",
    owner: Owner::Org,
    insertable: &["name", "email", "phone", "metadata"],
    updatable: &["name", "email", "phone", "metadata"],
    view: PLAIN,
    status: false,
    assigned_to: false,
    date_column: None,
    search: true,
    tags: None,
    filters: &[],
};

/// Bills from vendors, booked at a node (finance); the total comes from
/// the lines.
pub const INVOICES: Table = Table {
    name: "invoices",
    owner: Owner::Node,
    insertable: &[
        "vendor_id",
        "number",
        "issued_on",
        "due_on",
        "status",
        "currency",
        "description",
        "metadata",
    ],
    updatable: &[
        "vendor_id",
        "number",
        "issued_on",
        "due_on",
        "status",
        "currency",
        "description",
        "metadata",
    ],
    view: "jsonb_build_object('total_minor', showtree.invoice_total_minor(t.org_id, t.id))",
    status: true,
    assigned_to: false,
    date_column: Some("issued_on"),
    search: true,
    tags: Some(TagLink {
        table: "invoice_tags",
        column: "invoice_id",
    }),
    filters: &["vendor_id"],
};

/// The lines of an invoice, in its currency.
pub const INVOICE_LINES: Table = Table {
    name: "invoice_lines",
    owner: Owner::Parent {
        table: "invoices",
        column: "invoice_id",
    },
    insertable: &[
        "invoice_id",
        "budget_line_id",
        "description",
        "quantity",
        "unit_amount_minor",
        "metadata",
    ],
    updatable: &[
        "budget_line_id",
        "description",
        "quantity",
        "unit_amount_minor",
        "metadata",
    ],
    view: "jsonb_build_object('amount_minor', round(t.quantity * t.unit_amount_minor)::bigint)",
    status: false,
    assigned_to: false,
    date_column: None,
    search: false,
    tags: None,
    filters: &["budget_line_id"],
};

/// Equipment an organization owns (reference data).
pub const ASSETS: Table = Table {
    name: "assets",
    owner: Owner::Org,
    insertable: &["name", "category", "serial", "status", "metadata"],
    updatable: &["name", "category", "serial", "status", "metadata"],
    view: PLAIN,
    status: true,
    assigned_to: false,
    date_column: None,
    search: true,
    tags: Some(TagLink {
        table: "asset_tags",
        column: "asset_id",
    }),
    filters: &[],
};

/// Where an asset is, for a time range.
pub const ASSET_ASSIGNMENTS: Table = Table {
    name: "asset_assignments",
    owner: Owner::Node,
    insertable: &["asset_id", "starts_at", "ends_at", "notes", "metadata"],
    updatable: &["starts_at", "ends_at", "notes", "metadata"],
    view: PLAIN,
    status: false,
    assigned_to: false,
    date_column: Some("starts_at"),
    search: false,
    tags: None,
    filters: &["asset_id"],
};

/// The run of show of a node; overlaps in one location are reported.
pub const SCHEDULE_ITEMS: Table = Table {
    name: "schedule_items",
    owner: Owner::Node,
    insertable: &[
        "title",
        "item_type",
        "location",
        "starts_at",
        "ends_at",
        "status",
        "description",
        "metadata",
    ],
    updatable: &[
        "title",
        "item_type",
        "location",
        "starts_at",
        "ends_at",
        "status",
        "description",
        "metadata",
    ],
    view: "jsonb_build_object('conflicts', coalesce((select jsonb_agg(o.id order by o.starts_at, o.id) \
           from showtree.schedule_items o where o.org_id = t.org_id and o.node_id = t.node_id \
           and o.location = t.location and o.id <> t.id and o.deleted_at is null and t.deleted_at is null \
           and o.starts_at < t.ends_at and t.starts_at < o.ends_at), '[]'::jsonb))",
    status: true,
    assigned_to: false,
    date_column: Some("starts_at"),
    search: true,
    tags: None,
    filters: &[],
};

/// Crew, artists and vendor staff of an organization (reference data).
pub const PEOPLE: Table = Table {
    name: "people",
    owner: Owner::Org,
    insertable: &[
        "name",
        "kind",
        "email",
        "phone",
        "user_id",
        "vendor_id",
        "metadata",
    ],
    updatable: &[
        "name",
        "kind",
        "email",
        "phone",
        "user_id",
        "vendor_id",
        "metadata",
    ],
    view: PLAIN,
    status: false,
    assigned_to: false,
    date_column: None,
    search: true,
    tags: Some(TagLink {
        table: "person_tags",
        column: "person_id",
    }),
    filters: &["vendor_id"],
};

/// People working at a node; the rate shows only with finance.
pub const CREW_ASSIGNMENTS: Table = Table {
    name: "crew_assignments",
    owner: Owner::Node,
    insertable: &[
        "person_id",
        "role",
        "call_at",
        "wrap_at",
        "status",
        "rate_amount_minor",
        "currency",
        "rate_unit",
        "metadata",
    ],
    updatable: &[
        "role",
        "call_at",
        "wrap_at",
        "status",
        "rate_amount_minor",
        "currency",
        "rate_unit",
        "metadata",
    ],
    view: "case when private.has_capability(t.org_id, t.node_id, 'finance') \
           then '{\"rate_visible\": true}'::jsonb \
           else '{\"rate_amount_minor\": null, \"currency\": null, \"rate_unit\": null, \"rate_visible\": false}'::jsonb end",
    status: true,
    assigned_to: false,
    date_column: Some("call_at"),
    search: false,
    tags: None,
    filters: &["person_id"],
};

/// Files of a node (their metadata; the bytes live in object storage).
pub const DOCUMENTS: Table = Table {
    name: "documents",
    owner: Owner::Node,
    insertable: &[
        "series_id",
        "version",
        "title",
        "kind",
        "status",
        "storage_key",
        "content_type",
        "size_bytes",
        "checksum",
        "metadata",
    ],
    updatable: &["title", "kind", "status", "metadata"],
    view: PLAIN,
    status: true,
    assigned_to: false,
    date_column: None,
    search: true,
    tags: Some(TagLink {
        table: "document_tags",
        column: "document_id",
    }),
    filters: &["series_id"],
};

/// Labels of an organization (reference data).
pub const TAGS: Table = Table {
    name: "tags",
    owner: Owner::Org,
    insertable: &["name", "color", "metadata"],
    updatable: &["name", "color", "metadata"],
    view: PLAIN,
    status: false,
    assigned_to: false,
    date_column: None,
    search: false,
    tags: None,
    filters: &[],
};

/// Dated exchange rates to the organization's base currency (reference
/// data; finance writes them). `rate` is shown as a decimal string, every
/// digit kept.
pub const FX_RATES: Table = Table {
    name: "fx_rates",
    owner: Owner::Org,
    insertable: &["currency", "rate_date", "rate", "metadata"],
    updatable: &["rate", "metadata"],
    view: "jsonb_build_object('rate', t.rate::text)",
    status: false,
    assigned_to: false,
    date_column: Some("rate_date"),
    search: false,
    tags: None,
    filters: &[],
};

/// Every table, for tests that walk them all.
pub const ALL: [&Table; 13] = [
    &TASKS,
    &BUDGET_LINES,
    &VENDORS,
    &INVOICES,
    &INVOICE_LINES,
    &ASSETS,
    &ASSET_ASSIGNMENTS,
    &SCHEDULE_ITEMS,
    &PEOPLE,
    &CREW_ASSIGNMENTS,
    &DOCUMENTS,
    &TAGS,
    &FX_RATES,
];
