//! The tables the generator fills, with the columns it writes (in COPY
//! order; generated columns such as `search` are left to the server).

/// Columns every domain table ends with, in this order.
const TAIL: &str =
    "metadata, created_at, updated_at, deleted_at, created_by, updated_by, deleted_by";

/// One table the generator loads. The discriminant numbers the table's id
/// stream: never reorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Table {
    /// `auth.users`.
    Users,
    /// `showtree.nodes`.
    Nodes,
    /// `showtree.organizations`.
    Organizations,
    /// `showtree.projects`.
    Projects,
    /// `showtree.productions`.
    Productions,
    /// `showtree.activations`.
    Activations,
    /// `showtree.workspaces`.
    Workspaces,
    /// `showtree.grants`.
    Grants,
    /// `showtree.vendors`.
    Vendors,
    /// `showtree.people`.
    People,
    /// `showtree.assets`.
    Assets,
    /// `showtree.tags`.
    Tags,
    /// `showtree.tasks`.
    Tasks,
    /// `showtree.budget_lines`.
    BudgetLines,
    /// `showtree.invoices`.
    Invoices,
    /// `showtree.invoice_lines`.
    InvoiceLines,
    /// `showtree.asset_assignments`.
    AssetAssignments,
    /// `showtree.schedule_items`.
    ScheduleItems,
    /// `showtree.crew_assignments`.
    CrewAssignments,
    /// `showtree.documents`.
    Documents,
    /// `showtree.task_tags`.
    TaskTags,
    /// `showtree.invoice_tags`.
    InvoiceTags,
    /// `showtree.asset_tags`.
    AssetTags,
    /// `showtree.person_tags`.
    PersonTags,
    /// `showtree.document_tags`.
    DocumentTags,
}

impl Table {
    /// Every table, in the summary's order.
    pub const ALL: [Table; 25] = [
        Table::Users,
        Table::Nodes,
        Table::Organizations,
        Table::Projects,
        Table::Productions,
        Table::Activations,
        Table::Workspaces,
        Table::Grants,
        Table::Vendors,
        Table::People,
        Table::Assets,
        Table::Tags,
        Table::Tasks,
        Table::BudgetLines,
        Table::Invoices,
        Table::InvoiceLines,
        Table::AssetAssignments,
        Table::ScheduleItems,
        Table::CrewAssignments,
        Table::Documents,
        Table::TaskTags,
        Table::InvoiceTags,
        Table::AssetTags,
        Table::PersonTags,
        Table::DocumentTags,
    ];

    /// Number of tables.
    pub const COUNT: usize = Table::ALL.len();

    /// Schema-qualified name.
    pub fn qualified(self) -> &'static str {
        match self {
            Table::Users => "auth.users",
            Table::Nodes => "showtree.nodes",
            Table::Organizations => "showtree.organizations",
            Table::Projects => "showtree.projects",
            Table::Productions => "showtree.productions",
            Table::Activations => "showtree.activations",
            Table::Workspaces => "showtree.workspaces",
            Table::Grants => "showtree.grants",
            Table::Vendors => "showtree.vendors",
            Table::People => "showtree.people",
            Table::Assets => "showtree.assets",
            Table::Tags => "showtree.tags",
            Table::Tasks => "showtree.tasks",
            Table::BudgetLines => "showtree.budget_lines",
            Table::Invoices => "showtree.invoices",
            Table::InvoiceLines => "showtree.invoice_lines",
            Table::AssetAssignments => "showtree.asset_assignments",
            Table::ScheduleItems => "showtree.schedule_items",
            Table::CrewAssignments => "showtree.crew_assignments",
            Table::Documents => "showtree.documents",
            Table::TaskTags => "showtree.task_tags",
            Table::InvoiceTags => "showtree.invoice_tags",
            Table::AssetTags => "showtree.asset_tags",
            Table::PersonTags => "showtree.person_tags",
            Table::DocumentTags => "showtree.document_tags",
        }
    }

    /// The name without its schema.
    pub fn name(self) -> &'static str {
        let q = self.qualified();
        q.split_once('.').map_or(q, |(_, n)| n)
    }

    /// The schema.
    pub fn schema(self) -> &'static str {
        let q = self.qualified();
        q.split_once('.').map_or(q, |(s, _)| s)
    }

    /// A row of the production domain (section 3 of DESIGN.md), rather than
    /// the hierarchy, users or access.
    pub fn is_domain(self) -> bool {
        self >= Table::Vendors
    }

    /// The columns written, in order.
    pub(crate) fn columns(self) -> String {
        let own = match self {
            Table::Users => {
                return "id, email, display_name, metadata, created_at, updated_at, deleted_at"
                    .to_owned();
            }
            Table::Nodes => {
                return "org_id, id, parent_id, kind, name, slug, status, restricted, ancestors, \
                        depth, metadata, settings, created_at, updated_at, deleted_at, \
                        created_by, updated_by, deleted_by"
                    .to_owned();
            }
            Table::Organizations => {
                return "org_id, node_id, base_currency, timezone, settings, created_at, updated_at"
                    .to_owned();
            }
            Table::Projects | Table::Productions => {
                return "org_id, node_id, description, created_at, updated_at".to_owned();
            }
            Table::Activations => {
                return "org_id, node_id, starts_at, ends_at, timezone, venue, capacity, \
                        created_at, updated_at"
                    .to_owned();
            }
            Table::Workspaces => {
                return "org_id, node_id, workspace_type, created_at, updated_at".to_owned();
            }
            Table::Grants => "org_id, id, node_id, user_id, role",
            Table::Vendors => "org_id, id, node_id, name, email, phone",
            Table::People => "org_id, id, node_id, name, kind, email, phone, user_id, vendor_id",
            Table::Assets => "org_id, id, node_id, name, category, serial, status",
            Table::Tags => "org_id, id, node_id, name, color",
            Table::Tasks => {
                "org_id, id, node_id, title, description, status, priority, assigned_to, due_at, \
                 completed_at"
            }
            Table::BudgetLines => {
                "org_id, id, node_id, category, description, amount_minor, currency"
            }
            Table::Invoices => {
                "org_id, id, node_id, vendor_id, number, issued_on, due_on, status, currency, \
                 description"
            }
            Table::InvoiceLines => {
                "org_id, id, invoice_id, budget_line_id, description, quantity, unit_amount_minor"
            }
            Table::AssetAssignments => "org_id, id, asset_id, node_id, starts_at, ends_at, notes",
            Table::ScheduleItems => {
                "org_id, id, node_id, title, item_type, location, starts_at, ends_at, status, \
                 description"
            }
            Table::CrewAssignments => {
                "org_id, id, node_id, person_id, role, call_at, wrap_at, status, \
                 rate_amount_minor, currency, rate_unit"
            }
            Table::Documents => {
                "org_id, id, node_id, series_id, version, title, kind, status, storage_key, \
                 content_type, size_bytes, checksum"
            }
            Table::TaskTags => "org_id, id, task_id, tag_id",
            Table::InvoiceTags => "org_id, id, invoice_id, tag_id",
            Table::AssetTags => "org_id, id, asset_id, tag_id",
            Table::PersonTags => "org_id, id, person_id, tag_id",
            Table::DocumentTags => "org_id, id, document_id, tag_id",
        };
        format!("{own}, {TAIL}")
    }

    /// Number of columns written.
    pub(crate) fn width(self) -> i16 {
        let n = self.columns().split(',').count();
        i16::try_from(n).unwrap_or(i16::MAX)
    }
}
