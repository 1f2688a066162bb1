//! What each table's rows hold. One function per table writes one
//! organization's rows from that table's random stream for the
//! organization (`Plan::rng`), so a table can be written in any order and
//! in pieces, and comes out the same.
//!
//! Rows another table points at are named by ordinal (see `ids`): the
//! tables counted in the plan by their `Org::first` offsets, child rows by
//! their parent's ordinal times a fixed fan-out (an invoice's lines are
//! ordinals `8 * invoice ..`), so nobody has to remember anybody's ids.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::index::sample;
use showtree_core::{NodeKind, Status};
use uuid::Uuid;

use super::copy::{Closed, CopyWriter};
use super::ids::{IMPORT_SECS, IdCursor, Ids};
use super::plan::{
    DAY, NO_PARENT, NODE_TABLES, Org, Plan, activity, day_of, pick_weighted, skewed,
};
use super::table::Table;
use super::words::{self, CURRENCIES};

/// Most lines per invoice, assignments per asset, versions per document,
/// tags per task and per other row: the fan-outs of the child ordinals.
const LINES_PER_INVOICE: u64 = 8;
const ASSIGNMENTS_PER_ASSET: u64 = 16;
const VERSIONS_PER_DOCUMENT: u64 = 8;
const TAGS_PER_TASK: u64 = 4;
const TAGS_PER_ROW: u64 = 2;
const GRANTS_PER_NODE: u64 = 8;

const HOUR: i64 = 3_600;
/// The import's day: events before it are over.
const IMPORT_DAY: i32 = (IMPORT_SECS / DAY) as i32;

/// Writes organization `o`'s rows of `table`.
pub(crate) fn write_org(
    plan: &Plan,
    ids: &Ids,
    table: Table,
    o: u32,
    w: &mut CopyWriter,
) -> Result<(), Closed> {
    let mut g = OrgRows::new(plan, ids, table, o);
    match table {
        Table::Users => g.users(w),
        Table::Nodes => g.nodes(w),
        Table::Organizations
        | Table::Projects
        | Table::Productions
        | Table::Activations
        | Table::Workspaces => g.details(w),
        Table::Grants => g.grants(w),
        Table::Vendors => g.vendors(w),
        Table::People => g.people(w),
        Table::Assets => g.assets(w),
        Table::Tags => g.tags(w),
        Table::Tasks => g.tasks(w),
        Table::BudgetLines => g.budget_lines(w),
        Table::Invoices => g.invoices(w),
        Table::InvoiceLines => g.invoice_lines(w),
        Table::AssetAssignments => g.asset_assignments(w),
        Table::ScheduleItems => g.schedule_items(w),
        Table::CrewAssignments => g.crew_assignments(w),
        Table::Documents => g.documents(w),
        Table::TaskTags
        | Table::InvoiceTags
        | Table::AssetTags
        | Table::PersonTags
        | Table::DocumentTags => g.tag_links(w),
    }
}

/// About how many rows of `table` organization `o` gets (exact for the
/// tables the plan counts; the progress bar's estimate for the others).
pub(crate) fn estimate(plan: &Plan, table: Table, o: u32) -> u64 {
    let org = &plan.orgs[o as usize];
    let rows = |t: Table| org.rows[t as usize] as f64;
    let kind = |k: NodeKind| {
        org.nodes
            .clone()
            .filter(|&v| plan.nodes.kind[v as usize] == k)
            .count() as f64
    };
    let n = match table {
        Table::Nodes => org.nodes.len() as f64,
        Table::Organizations => 1.0,
        Table::Projects => kind(NodeKind::Project),
        Table::Productions => kind(NodeKind::Production),
        Table::Activations => kind(NodeKind::Activation),
        Table::Workspaces => kind(NodeKind::Workspace),
        Table::Grants => {
            2.5 + 0.2 * kind(NodeKind::Project)
                + 0.85 * kind(NodeKind::Production)
                + 0.35 * kind(NodeKind::Activation)
                + 0.15 * kind(NodeKind::Workspace)
        }
        Table::InvoiceLines => 3.0 * rows(Table::Invoices),
        Table::AssetAssignments => 4.5 * rows(Table::Assets),
        Table::Documents => 1.6 * rows(Table::Documents),
        Table::TaskTags => 0.24 * rows(Table::Tasks),
        Table::InvoiceTags => 0.1 * rows(Table::Invoices),
        Table::AssetTags | Table::PersonTags => {
            0.3 * rows(if table == Table::AssetTags {
                Table::Assets
            } else {
                Table::People
            })
        }
        Table::DocumentTags => 0.1 * rows(Table::Documents),
        t => rows(t),
    };
    n.round() as u64
}

/// The name of organization `o`.
pub(crate) fn org_name(o: u32) -> String {
    let n = o as usize;
    format!(
        "{} {}",
        words::combined(words::ORG_FIRST, words::ORG_SECOND, n),
        words::ORG_SUFFIX[n % words::ORG_SUFFIX.len()]
    )
}

/// The `i`-th sibling's name: consecutive entries of `list` from `start`,
/// numbered once the list runs out, so siblings never share a name.
fn numbered(list: &[&str], i: usize, start: usize) -> String {
    let name = list[(i + start) % list.len()];
    match i / list.len() {
        0 => name.to_owned(),
        round => format!("{name} {}", round + 1),
    }
}

/// Where a node's name starts in its list: siblings take consecutive
/// entries from there, so they never share a name, and cousins differ.
fn offset(parent: u32) -> usize {
    (parent as usize).wrapping_mul(2_654_435_761) >> 7
}

/// A node's name and, for workspaces, its type. A pure function of the
/// plan: the nodes and the workspaces tables must agree.
fn node_label(plan: &Plan, v: u32) -> (String, &'static str) {
    let n = &plan.nodes;
    let (i, parent) = (n.sibling[v as usize] as usize, n.parent[v as usize]);
    match n.kind[v as usize] {
        NodeKind::Organization => (org_name(n.org[v as usize]), ""),
        NodeKind::Project => (numbered(words::PROJECTS, i, 0), ""),
        NodeKind::Production => (numbered(words::PRODUCTIONS, i, offset(parent)), ""),
        NodeKind::Activation => {
            let j = i + offset(parent);
            let city = words::CITIES[j % words::CITIES.len()];
            let year = year_of(n.day[v as usize]);
            let round = i / words::CITIES.len();
            let name = if round == 0 {
                format!("{city} {year}")
            } else {
                format!("{city} {year} {}", round + 1)
            };
            (name, "")
        }
        NodeKind::Workspace => {
            let list = if n.kind[parent as usize] == NodeKind::Activation {
                words::WORKSPACES
            } else {
                words::SUB_WORKSPACES
            };
            let j = i + offset(parent);
            let (name, kind) = list[j % list.len()];
            let round = i / list.len();
            if round == 0 {
                (name.to_owned(), kind)
            } else {
                (format!("{name} {}", round + 1), kind)
            }
        }
    }
}

/// Created, updated and (soft) deleted: when and by whom.
struct Stamp {
    created: i64,
    updated: i64,
    deleted: Option<i64>,
    by: Uuid,
    updated_by: Uuid,
}

/// Writes the columns every domain table ends with (`table::TAIL`).
fn tail(w: &mut CopyWriter, s: &Stamp) -> Result<(), Closed> {
    w.jsonb("{}")
        .ts(s.created)
        .ts(s.updated)
        .opt_ts(s.deleted)
        .uuid(s.by)
        .uuid(s.updated_by)
        .opt_uuid(s.deleted.map(|_| s.updated_by));
    w.end_row()
}

/// Draws one of `items` by weight.
fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    items[pick_weighted(rng, items.iter().map(|i| i.1))].0
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// Lowercase hex of `n` random bytes.
fn hex(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// How many units of a currency one US dollar buys, roughly: amounts
/// stay plausible in every currency.
fn per_dollar(currency: &str) -> f64 {
    match currency {
        "JPY" => 150.0,
        "MXN" => 18.0,
        "BRL" => 5.0,
        "SEK" => 10.0,
        _ => 1.0,
    }
}

/// An amount in minor units of `currency` worth about `dollars`.
fn amount(rng: &mut StdRng, currency: usize, dollars: f64) -> i64 {
    let (code, minor, _, _) = CURRENCIES[currency];
    let major = dollars * activity(rng, 0.9) * per_dollar(code);
    (major * 10f64.powi(i32::from(minor))).round().max(0.0) as i64
}

/// The calendar year of a Unix day (proleptic Gregorian).
fn year_of(unix_day: i32) -> i32 {
    // Howard Hinnant's days_from_civil, inverted
    let z = unix_day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i32::from(month <= 2)
}

/// One organization's rows of one table.
struct OrgRows<'a> {
    plan: &'a Plan,
    ids: &'a Ids,
    table: Table,
    o: u32,
    org: &'a Org,
    org_id: Uuid,
    rng: StdRng,
    users: Vec<Uuid>,
    /// Columns of `table`.
    width: i16,
}

impl<'a> OrgRows<'a> {
    fn new(plan: &'a Plan, ids: &'a Ids, table: Table, o: u32) -> OrgRows<'a> {
        let org = &plan.orgs[o as usize];
        let users = ids
            .cursor(Table::Users)
            .range(org.first[Table::Users as usize], u64::from(org.users));
        OrgRows {
            plan,
            ids,
            table,
            o,
            org,
            org_id: plan.nodes.id[org.root() as usize],
            rng: plan.rng(table, o),
            users,
            width: table.width(),
        }
    }

    /// The ids of the organization's rows of a table the plan counts.
    fn all(&self, table: Table) -> Vec<Uuid> {
        self.ids.cursor(table).range(
            self.org.first[table as usize],
            self.org.rows[table as usize],
        )
    }

    fn cursor(&self, table: Table) -> IdCursor {
        self.ids.cursor(table)
    }

    fn user(&mut self) -> Uuid {
        self.users[self.rng.random_range(0..self.users.len())]
    }

    /// A row created after `since` (and before the import), updated later,
    /// deleted with chance `deleted`.
    fn stamp(&mut self, since: i64, deleted: f64) -> Stamp {
        self.stamp_until(since, IMPORT_SECS, deleted)
    }

    /// A row created between `since` and `until` (or the import, if
    /// sooner), updated later (up to the import), deleted with chance
    /// `deleted`.
    fn stamp_until(&mut self, since: i64, until: i64, deleted: f64) -> Stamp {
        let since = since.min(IMPORT_SECS - DAY);
        let until = until.clamp(since + HOUR, IMPORT_SECS - HOUR);
        let created = self.rng.random_range(since..until);
        // most rows change soon after they are made, a few much later
        let later = (IMPORT_SECS - created) as f64 * self.rng.random::<f64>().powi(4);
        let updated = created + later as i64;
        let by = self.user();
        let updated_by = if self.rng.random_bool(0.7) {
            by
        } else {
            self.user()
        };
        Stamp {
            created,
            updated,
            deleted: self.rng.random_bool(deleted).then_some(updated),
            by,
            updated_by,
        }
    }

    /// A row of node `v`'s work: made after the node, before its event is over.
    fn work_stamp(&mut self, v: u32, deleted: f64) -> Stamp {
        let until = i64::from(self.day(v)) * DAY + 2 * DAY;
        self.stamp_until(self.created(v), until, deleted)
    }

    fn created(&self, v: u32) -> i64 {
        self.plan.nodes.created[v as usize]
    }

    fn day(&self, v: u32) -> i32 {
        self.plan.nodes.day[v as usize]
    }

    /// Whether the event a node belongs to is over.
    fn past(&self, v: u32) -> bool {
        self.day(v) + 3 < IMPORT_DAY
    }

    fn kind(&self, v: u32) -> NodeKind {
        self.plan.nodes.kind[v as usize]
    }

    fn node_range(&self) -> std::ops::Range<u32> {
        self.org.nodes.clone()
    }

    /// The nodes work happens at (activations and workspaces).
    fn event_nodes(&self) -> Vec<u32> {
        self.node_range()
            .filter(|&v| matches!(self.kind(v), NodeKind::Activation | NodeKind::Workspace))
            .collect()
    }

    fn users(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let domain = words::slug(&org_name(self.o));
        let first = self.org.first[Table::Users as usize];
        for j in 0..self.users.len() {
            let given = pick(&mut self.rng, words::FIRST_NAMES);
            let family = pick(&mut self.rng, words::LAST_NAMES);
            let created = self.rng.random_range(
                self.created(self.org.root()).min(IMPORT_SECS - DAY)..IMPORT_SECS - HOUR,
            );
            let email = format!(
                "{}.{}.{}@{domain}.example",
                given.to_lowercase(),
                family.to_lowercase(),
                first + j as u64
            );
            w.row(self.width)
                .uuid(self.users[j])
                .text(&email)
                .text(&format!("{given} {family}"))
                .jsonb("{}")
                .ts(created)
                .ts(created)
                .null();
            w.end_row()?;
        }
        Ok(())
    }

    fn nodes(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let plan = self.plan;
        let n = &plan.nodes;
        for v in self.node_range() {
            let kind = self.kind(v);
            let (name, _) = node_label(self.plan, v);
            let status = match kind {
                NodeKind::Organization => Status::Active,
                NodeKind::Project | NodeKind::Production => weighted(
                    &mut self.rng,
                    &[
                        (Status::Active, 85),
                        (Status::Archived, 10),
                        (Status::Planning, 5),
                    ],
                ),
                NodeKind::Activation | NodeKind::Workspace if self.past(v) => weighted(
                    &mut self.rng,
                    &[
                        (Status::Completed, 70),
                        (Status::Archived, 25),
                        (Status::Cancelled, 5),
                    ],
                ),
                NodeKind::Activation | NodeKind::Workspace => weighted(
                    &mut self.rng,
                    &[
                        (Status::Planning, 40),
                        (Status::Active, 50),
                        (Status::Draft, 10),
                    ],
                ),
            };
            let settings = if kind == NodeKind::Activation && self.rng.random_bool(0.1) {
                r#"{"schedule": {"forbid_overlap": true}}"#
            } else {
                "{}"
            };
            let created = self.created(v);
            let updated = created
                + ((IMPORT_SECS - created) as f64 * self.rng.random::<f64>().powi(3)) as i64;
            let by = if kind == NodeKind::Organization {
                self.users[0]
            } else {
                self.user()
            };
            let parent = n.parent[v as usize];
            w.row(self.width)
                .uuid(self.org_id)
                .uuid(n.id[v as usize])
                .opt_uuid((parent != NO_PARENT).then(|| n.id[parent as usize]))
                .text(kind.as_str())
                .text(&name)
                .text(&words::slug(&name))
                .text(status.as_str())
                .bool(n.restricted[v as usize])
                .uuid_array(&n.ancestors(v))
                .i16(i16::from(n.depth[v as usize]))
                .jsonb("{}")
                .jsonb(settings)
                .ts(created)
                .ts(updated)
                .null()
                .uuid(by)
                .uuid(by)
                .null();
            w.end_row()?;
        }
        Ok(())
    }

    /// The detail rows of one level (`self.table`).
    fn details(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let kind = match self.table {
            Table::Organizations => NodeKind::Organization,
            Table::Projects => NodeKind::Project,
            Table::Productions => NodeKind::Production,
            Table::Activations => NodeKind::Activation,
            _ => NodeKind::Workspace,
        };
        let (currency, _, _, timezone) = CURRENCIES[self.org.currency];
        let level: Vec<u32> = self
            .node_range()
            .filter(|&v| self.kind(v) == kind)
            .collect();
        for v in level {
            let id = self.plan.nodes.id[v as usize];
            let created = self.created(v);
            match kind {
                NodeKind::Organization => {
                    w.row(self.width)
                        .uuid(self.org_id)
                        .uuid(id)
                        .text(currency)
                        .text(timezone)
                        .jsonb("{}")
                        .ts(created)
                        .ts(created);
                }
                NodeKind::Project | NodeKind::Production => {
                    let description = if self.rng.random_bool(0.4) {
                        format!(
                            "{} for the {} season.",
                            node_label(self.plan, v).0,
                            1970 + self.day(v) / 365
                        )
                    } else {
                        String::new()
                    };
                    w.row(self.width)
                        .uuid(self.org_id)
                        .uuid(id)
                        .text(&description)
                        .ts(created)
                        .ts(created);
                }
                NodeKind::Activation => {
                    let starts = i64::from(self.day(v)) * DAY + 16 * HOUR;
                    let ends = starts + self.rng.random_range(1..=3) * DAY - 8 * HOUR;
                    let capacity = self.rng.random_bool(0.8).then(|| {
                        (5_000.0 * activity(&mut self.rng, 1.2))
                            .round()
                            .clamp(50.0, 500_000.0) as i32
                    });
                    w.row(self.width)
                        .uuid(self.org_id)
                        .uuid(id)
                        .ts(starts)
                        .ts(ends)
                        .text(timezone)
                        .text(pick(&mut self.rng, words::VENUES))
                        .opt_i32(capacity)
                        .ts(created)
                        .ts(created);
                }
                NodeKind::Workspace => {
                    let (_, workspace_type) = node_label(self.plan, v);
                    w.row(self.width)
                        .uuid(self.org_id)
                        .uuid(id)
                        .text(workspace_type)
                        .ts(created)
                        .ts(created);
                }
            }
            w.end_row()?;
        }
        Ok(())
    }

    /// Owners and admins at the root, managers and finance at projects and
    /// productions, editors, finance and viewers further down, someone on
    /// every restricted workspace, and a few guests from the previous
    /// organization.
    fn grants(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let mut cursor = self.cursor(Table::Grants);
        let guests = match self.o.checked_sub(1) {
            Some(prev) => {
                let org = &self.plan.orgs[prev as usize];
                self.cursor(Table::Users)
                    .range(org.first[Table::Users as usize], u64::from(org.users))
            }
            None => Vec::new(),
        };
        for v in self.node_range() {
            let mut picks: Vec<(usize, &'static str)> = Vec::new();
            let r = &mut self.rng;
            let n_users = self.users.len();
            // a node holds one grant per user
            let take = |r: &mut StdRng, picks: &mut Vec<(usize, &'static str)>, role| {
                for _ in 0..10 {
                    let u = r.random_range(0..n_users);
                    if picks.iter().all(|p| p.0 != u) {
                        picks.push((u, role));
                        return;
                    }
                }
            };
            match self.plan.nodes.kind[v as usize] {
                NodeKind::Organization => {
                    // users 0 and 1 may own it, 2 and 3 may administer it
                    picks.push((0, "owner"));
                    if r.random_bool(0.3) {
                        picks.push((1, "owner"));
                    }
                    for a in 0..r.random_range(0..=2) {
                        picks.push((2 + a, "admin"));
                    }
                }
                NodeKind::Project => {
                    if r.random_bool(0.2) {
                        take(r, &mut picks, "manager");
                    }
                }
                NodeKind::Production => {
                    if r.random_bool(0.5) {
                        take(r, &mut picks, "manager");
                    }
                    if r.random_bool(0.3) {
                        take(r, &mut picks, "finance");
                    }
                }
                NodeKind::Activation => {
                    if r.random_bool(0.25) {
                        take(r, &mut picks, "editor");
                    }
                    if r.random_bool(0.1) {
                        take(r, &mut picks, "finance");
                    }
                }
                NodeKind::Workspace => {
                    if r.random_bool(0.08) {
                        take(r, &mut picks, "viewer");
                    }
                    if r.random_bool(0.05) {
                        take(r, &mut picks, "editor");
                    }
                    if self.plan.nodes.restricted[v as usize] {
                        take(r, &mut picks, "editor");
                        if r.random_bool(0.5) {
                            take(r, &mut picks, "manager");
                        }
                    }
                }
            }
            // the users above (a node holds one grant per user of its own
            // organization), then perhaps a guest from the previous one
            let mut grants: Vec<(Uuid, &str)> = picks
                .iter()
                .map(|&(u, role)| (self.users[u], role))
                .collect();
            if self.plan.nodes.kind[v as usize] == NodeKind::Production
                && !guests.is_empty()
                && self.rng.random_bool(0.05)
            {
                grants.push((guests[self.rng.random_range(0..guests.len())], "viewer"));
            }
            let node_id = self.plan.nodes.id[v as usize];
            let since = self.created(v);
            for (j, (user, role)) in grants.into_iter().enumerate() {
                let mut stamp = self.stamp(since, 0.0);
                stamp.by = self.users[0];
                stamp.updated_by = self.users[0];
                w.row(self.width)
                    .uuid(self.org_id)
                    .uuid(cursor.at(u64::from(v) * GRANTS_PER_NODE + j as u64))
                    .uuid(node_id)
                    .uuid(user)
                    .text(role);
                tail(w, &stamp)?;
            }
        }
        Ok(())
    }

    fn vendors(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let ids = self.all(Table::Vendors);
        let since = self.created(self.org.root());
        for (j, id) in ids.into_iter().enumerate() {
            let name = words::combined(words::VENDOR_FIRST, words::VENDOR_SECOND, j);
            let email = self
                .rng
                .random_bool(0.8)
                .then(|| format!("accounts@{}.example", words::slug(&name)));
            let phone = self
                .rng
                .random_bool(0.7)
                .then(|| format!("+1 555 {:04}", self.rng.random_range(0..10_000)));
            let stamp = self.stamp(since, 0.0);
            w.row(self.width)
                .uuid(self.org_id)
                .uuid(id)
                .uuid(self.org_id)
                .text(&name)
                .opt_text(email.as_deref())
                .opt_text(phone.as_deref());
            tail(w, &stamp)?;
        }
        Ok(())
    }

    /// Staff with a login first (one person per user, as `people_user_key`
    /// wants), then crew, artists and vendors' staff.
    fn people(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let ids = self.all(Table::People);
        let vendors = self.all(Table::Vendors);
        let since = self.created(self.org.root());
        let with_login = self.users.len() / 2;
        for (j, id) in ids.into_iter().enumerate() {
            let kind = if j < with_login {
                "staff"
            } else {
                weighted(
                    &mut self.rng,
                    &[
                        ("crew", 70),
                        ("artist", 10),
                        ("vendor_staff", 10),
                        ("other", 10),
                    ],
                )
            };
            let given = pick(&mut self.rng, words::FIRST_NAMES);
            let family = pick(&mut self.rng, words::LAST_NAMES);
            let email = self.rng.random_bool(0.6).then(|| {
                format!(
                    "{}.{}{j}@people.example",
                    given.to_lowercase(),
                    family.to_lowercase()
                )
            });
            let phone = self
                .rng
                .random_bool(0.5)
                .then(|| format!("+1 555 {:04}", self.rng.random_range(0..10_000)));
            let vendor = (kind == "vendor_staff" && !vendors.is_empty())
                .then(|| vendors[self.rng.random_range(0..vendors.len())]);
            let stamp = self.stamp(since, 0.0);
            w.row(self.width)
                .uuid(self.org_id)
                .uuid(id)
                .uuid(self.org_id)
                .text(&format!("{given} {family}"))
                .text(kind)
                .opt_text(email.as_deref())
                .opt_text(phone.as_deref())
                .opt_uuid((j < with_login).then(|| self.users[j]))
                .opt_uuid(vendor);
            tail(w, &stamp)?;
        }
        Ok(())
    }

    fn assets(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let ids = self.all(Table::Assets);
        let since = self.created(self.org.root());
        for (j, id) in ids.into_iter().enumerate() {
            let (name, category) = pick(&mut self.rng, words::ASSETS);
            let serial = self
                .rng
                .random_bool(0.9)
                .then(|| format!("SN-{}-{j:06}", self.o));
            let status = weighted(
                &mut self.rng,
                &[
                    (Status::Active, 85),
                    (Status::Review, 5),
                    (Status::Archived, 10),
                ],
            );
            let stamp = self.stamp(since, 0.0);
            w.row(self.width)
                .uuid(self.org_id)
                .uuid(id)
                .uuid(self.org_id)
                .text(&format!("{name} {}", j + 1))
                .text(category)
                .opt_text(serial.as_deref())
                .text(status.as_str());
            tail(w, &stamp)?;
        }
        Ok(())
    }

    fn tags(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let ids = self.all(Table::Tags);
        let since = self.created(self.org.root());
        for (j, id) in ids.into_iter().enumerate() {
            let color = self
                .rng
                .random_bool(0.8)
                .then(|| format!("#{}", hex(&mut self.rng, 3)));
            let stamp = self.stamp(since, 0.0);
            w.row(self.width)
                .uuid(self.org_id)
                .uuid(id)
                .uuid(self.org_id)
                .text(&numbered(words::TAGS, j, 0))
                .opt_text(color.as_deref());
            tail(w, &stamp)?;
        }
        Ok(())
    }

    /// Rows of a per-node table: (node, ordinal) in load order.
    fn per_node(&self, table: Table) -> Vec<(u32, u64)> {
        let t = NODE_TABLES.iter().position(|&x| x == table).unwrap_or(0);
        let mut next = self.org.first[table as usize];
        let mut rows = Vec::with_capacity(self.org.rows[table as usize] as usize);
        for v in self.node_range() {
            for _ in 0..self.plan.nodes.counts[t][v as usize] {
                rows.push((v, next));
                next += 1;
            }
        }
        rows
    }

    fn tasks(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let mut cursor = self.cursor(Table::Tasks);
        for (v, ordinal) in self.per_node(Table::Tasks) {
            let title = format!(
                "{} {}",
                pick(&mut self.rng, words::TASK_VERBS),
                pick(&mut self.rng, words::TASK_OBJECTS)
            );
            let description = if self.rng.random_bool(0.3) {
                format!(
                    "Owner to confirm with {} before the event.",
                    pick(&mut self.rng, words::FIRST_NAMES)
                )
            } else {
                String::new()
            };
            let status = if self.past(v) {
                weighted(
                    &mut self.rng,
                    &[
                        (Status::Completed, 85),
                        (Status::Cancelled, 7),
                        (Status::Archived, 8),
                    ],
                )
            } else {
                weighted(
                    &mut self.rng,
                    &[
                        (Status::Draft, 10),
                        (Status::Planning, 35),
                        (Status::Active, 40),
                        (Status::Review, 10),
                        (Status::Completed, 5),
                    ],
                )
            };
            let priority = weighted(
                &mut self.rng,
                &[("low", 20), ("medium", 50), ("high", 22), ("urgent", 8)],
            );
            let assigned = self.rng.random_bool(0.75).then(|| self.user());
            let due = self.rng.random_bool(0.85).then(|| {
                i64::from(self.day(v)) * DAY - self.rng.random_range(0..30) * DAY
                    + self.rng.random_range(9..18) * HOUR
            });
            let stamp = self.work_stamp(v, 0.02);
            let completed = (status == Status::Completed)
                .then(|| stamp.created + (stamp.updated - stamp.created) / 2);
            w.row(self.width)
                .uuid(self.org_id)
                .uuid(cursor.at(ordinal))
                .uuid(self.plan.nodes.id[v as usize])
                .text(&title)
                .text(&description)
                .text(status.as_str())
                .text(priority)
                .opt_uuid(assigned)
                .opt_ts(due)
                .opt_ts(completed);
            tail(w, &stamp)?;
        }
        Ok(())
    }

    /// Mostly in the organization's currency, some in others.
    fn currency(&mut self) -> usize {
        if self.rng.random_bool(0.9) {
            self.org.currency
        } else {
            self.rng.random_range(0..CURRENCIES.len())
        }
    }

    fn budget_lines(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let mut cursor = self.cursor(Table::BudgetLines);
        for (v, ordinal) in self.per_node(Table::BudgetLines) {
            let category = pick(&mut self.rng, words::BUDGET_CATEGORIES);
            let description = if self.rng.random_bool(0.3) {
                format!("{category} for {}", node_label(self.plan, v).0)
            } else {
                String::new()
            };
            let currency = self.currency();
            let amount = amount(&mut self.rng, currency, 8_000.0);
            let stamp = self.work_stamp(v, 0.0);
            w.row(self.width)
                .uuid(self.org_id)
                .uuid(cursor.at(ordinal))
                .uuid(self.plan.nodes.id[v as usize])
                .text(category)
                .text(&description)
                .i64(amount)
                .text(CURRENCIES[currency].0);
            tail(w, &stamp)?;
        }
        Ok(())
    }

    /// Invoices never use `planning`: draft (entered), active (approved),
    /// review (disputed), completed (paid), cancelled (void), archived.
    fn invoices(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let mut cursor = self.cursor(Table::Invoices);
        let vendors = self.all(Table::Vendors);
        let first = self.org.first[Table::Invoices as usize];
        for (v, ordinal) in self.per_node(Table::Invoices) {
            let stamp = self.work_stamp(v, 0.0);
            let issued = day_of(stamp.created);
            let due = self
                .rng
                .random_bool(0.95)
                .then(|| issued + pick(&mut self.rng, &[15, 30, 30, 45, 60]));
            let status = if self.past(v) {
                weighted(
                    &mut self.rng,
                    &[
                        (Status::Completed, 75),
                        (Status::Archived, 15),
                        (Status::Review, 5),
                        (Status::Cancelled, 5),
                    ],
                )
            } else {
                weighted(
                    &mut self.rng,
                    &[
                        (Status::Draft, 30),
                        (Status::Active, 50),
                        (Status::Review, 10),
                        (Status::Completed, 10),
                    ],
                )
            };
            let currency = self.currency();
            let description = if self.rng.random_bool(0.5) {
                format!("{} services", pick(&mut self.rng, words::BUDGET_CATEGORIES))
            } else {
                String::new()
            };
            w.row(self.width)
                .uuid(self.org_id)
                .uuid(cursor.at(ordinal))
                .uuid(self.plan.nodes.id[v as usize])
                .uuid(vendors[self.rng.random_range(0..vendors.len())])
                .text(&format!("INV-{:06}", ordinal - first + 1))
                .date(issued);
            match due {
                Some(d) => w.date(d),
                None => w.null(),
            };
            w.text(status.as_str())
                .text(CURRENCIES[currency].0)
                .text(&description);
            tail(w, &stamp)?;
        }
        Ok(())
    }

    /// One to eight lines per invoice, most booked against a budget line of
    /// the invoice's node when it has one.
    fn invoice_lines(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let mut cursor = self.cursor(Table::InvoiceLines);
        let mut invoices = self.cursor(Table::Invoices);
        let mut budget = self.cursor(Table::BudgetLines);
        let budget_t = 1; // NODE_TABLES index of budget lines
        let invoice_t = 2;
        let mut next_invoice = self.org.first[Table::Invoices as usize];
        let mut next_budget = self.org.first[Table::BudgetLines as usize];
        for v in self.node_range() {
            let budget_lines = u64::from(self.plan.nodes.counts[budget_t][v as usize]);
            let node_budget: Vec<Uuid> = budget.range(next_budget, budget_lines);
            next_budget += budget_lines;
            for _ in 0..self.plan.nodes.counts[invoice_t][v as usize] {
                let invoice_ordinal = next_invoice;
                next_invoice += 1;
                let invoice = invoices.at(invoice_ordinal);
                let lines = skewed(&mut self.rng, 2.0, 0).min(LINES_PER_INVOICE as u32 - 1) + 1;
                for j in 0..u64::from(lines) {
                    let budget_line = (!node_budget.is_empty() && self.rng.random_bool(0.6))
                        .then(|| node_budget[self.rng.random_range(0..node_budget.len())]);
                    let quantity = if self.rng.random_bool(0.7) {
                        self.rng.random_range(1..=10) * 1_000
                    } else {
                        self.rng.random_range(1..=80) * 250
                    };
                    let unit = (20_000.0 * activity(&mut self.rng, 1.0)).round() as i64;
                    let stamp = self.work_stamp(v, 0.0);
                    w.row(self.width)
                        .uuid(self.org_id)
                        .uuid(cursor.at(invoice_ordinal * LINES_PER_INVOICE + j))
                        .uuid(invoice)
                        .opt_uuid(budget_line)
                        .text(pick(&mut self.rng, words::LINE_ITEMS))
                        .numeric_milli(quantity)
                        .i64(unit);
                    tail(w, &stamp)?;
                }
            }
        }
        Ok(())
    }

    /// Each asset goes from event to event: one assignment after another,
    /// never two at once (`asset_assignments_overlap_excl`); the last one
    /// is sometimes open-ended.
    fn asset_assignments(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let targets = self.event_nodes();
        if targets.is_empty() {
            return Ok(());
        }
        let mut cursor = self.cursor(Table::AssetAssignments);
        let mut assets = self.cursor(Table::Assets);
        let first = self.org.first[Table::Assets as usize];
        let since = self.created(self.org.root());
        for asset_ordinal in first..first + self.org.rows[Table::Assets as usize] {
            let count = if self.rng.random_bool(0.1) {
                0
            } else {
                u64::from(skewed(&mut self.rng, 5.0, 1).min(ASSIGNMENTS_PER_ASSET as u32))
            };
            if count == 0 {
                continue;
            }
            let asset = assets.at(asset_ordinal);
            let mut t = since.max(IMPORT_SECS - 700 * DAY) + self.rng.random_range(0..180) * DAY;
            for k in 0..count {
                let starts = t + self.rng.random_range(0..30 * DAY);
                let ends = starts + self.rng.random_range(1..=10) * DAY;
                let open = k + 1 == count && self.rng.random_bool(0.1);
                t = ends;
                let node = targets[self.rng.random_range(0..targets.len())];
                let stamp = self.stamp_until(since, starts, 0.0);
                w.row(self.width)
                    .uuid(self.org_id)
                    .uuid(cursor.at(asset_ordinal * ASSIGNMENTS_PER_ASSET + k))
                    .uuid(asset)
                    .uuid(self.plan.nodes.id[node as usize])
                    .ts(starts)
                    .opt_ts((!open).then_some(ends))
                    .text("");
                tail(w, &stamp)?;
            }
        }
        Ok(())
    }

    /// A run of show per node: items in one to three locations, each
    /// location's items one after another (so nodes that forbid overlaps
    /// hold too).
    fn schedule_items(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let mut cursor = self.cursor(Table::ScheduleItems);
        let rows = self.per_node(Table::ScheduleItems);
        let mut i = 0;
        while i < rows.len() {
            let v = rows[i].0;
            let n = rows[i..].iter().take_while(|r| r.0 == v).count();
            let locations = self.rng.random_range(1..=3usize);
            let first_location = self.rng.random_range(0..words::LOCATIONS.len());
            let start = i64::from(self.day(v)) * DAY + 9 * HOUR;
            let mut clock = vec![start; locations];
            for (k, &(_, ordinal)) in rows[i..i + n].iter().enumerate() {
                let l = k % locations;
                let location = words::LOCATIONS[(first_location + l) % words::LOCATIONS.len()];
                let starts = clock[l] + self.rng.random_range(0..=12) * 5 * 60;
                let ends = starts + self.rng.random_range(3..=36) * 5 * 60;
                clock[l] = ends;
                let (title, item_type) = pick(&mut self.rng, words::SCHEDULE_ITEMS);
                let status = if self.past(v) {
                    weighted(
                        &mut self.rng,
                        &[(Status::Completed, 90), (Status::Cancelled, 10)],
                    )
                } else {
                    weighted(
                        &mut self.rng,
                        &[(Status::Planning, 50), (Status::Active, 50)],
                    )
                };
                let stamp = self.work_stamp(v, 0.0);
                w.row(self.width)
                    .uuid(self.org_id)
                    .uuid(cursor.at(ordinal))
                    .uuid(self.plan.nodes.id[v as usize])
                    .text(title)
                    .text(item_type)
                    .text(location)
                    .ts(starts)
                    .ts(ends)
                    .text(status.as_str())
                    .text("");
                tail(w, &stamp)?;
            }
            i += n;
        }
        Ok(())
    }

    fn crew_assignments(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let mut cursor = self.cursor(Table::CrewAssignments);
        let people = self.all(Table::People);
        for (v, ordinal) in self.per_node(Table::CrewAssignments) {
            let call = self
                .rng
                .random_bool(0.9)
                .then(|| i64::from(self.day(v)) * DAY + self.rng.random_range(6..14) * HOUR);
            let wrap = call.map(|c| c + self.rng.random_range(4..=14) * HOUR);
            let status = if self.past(v) {
                weighted(
                    &mut self.rng,
                    &[(Status::Completed, 90), (Status::Cancelled, 10)],
                )
            } else {
                weighted(
                    &mut self.rng,
                    &[(Status::Planning, 50), (Status::Active, 50)],
                )
            };
            let rate = self.rng.random_bool(0.7).then(|| {
                let unit = weighted(&mut self.rng, &[("hour", 50), ("day", 40), ("flat", 10)]);
                let dollars = match unit {
                    "hour" => 45.0,
                    "day" => 400.0,
                    _ => 1_500.0,
                };
                (amount(&mut self.rng, self.org.currency, dollars), unit)
            });
            let stamp = self.work_stamp(v, 0.0);
            w.row(self.width)
                .uuid(self.org_id)
                .uuid(cursor.at(ordinal))
                .uuid(self.plan.nodes.id[v as usize])
                .uuid(people[self.rng.random_range(0..people.len())])
                .text(pick(&mut self.rng, words::CREW_ROLES))
                .opt_ts(call)
                .opt_ts(wrap)
                .text(status.as_str())
                .opt_i64(rate.map(|r| r.0))
                .opt_text(rate.map(|_| CURRENCIES[self.org.currency].0))
                .opt_text(rate.map(|r| r.1));
            tail(w, &stamp)?;
        }
        Ok(())
    }

    /// Document series: version 1 is its own series (`series_id = id`),
    /// later versions point at it; only the newest is active.
    fn documents(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let mut cursor = self.cursor(Table::Documents);
        for (v, series) in self.per_node(Table::Documents) {
            let versions = weighted(&mut self.rng, &[(1u64, 60), (2, 25), (3, 10), (4, 5)]);
            let (title, kind, content_type) = pick(&mut self.rng, words::DOCUMENTS);
            let series_id = cursor.at(series * VERSIONS_PER_DOCUMENT);
            let mut since = self.created(v);
            for version in 1..=versions {
                let id = cursor.at(series * VERSIONS_PER_DOCUMENT + version - 1);
                let status = if version < versions {
                    Status::Archived
                } else {
                    weighted(&mut self.rng, &[(Status::Active, 90), (Status::Draft, 10)])
                };
                let stamp = self.stamp(since, 0.0);
                since = stamp.created;
                w.row(self.width)
                    .uuid(self.org_id)
                    .uuid(id)
                    .uuid(self.plan.nodes.id[v as usize])
                    .uuid(series_id)
                    .i32(i32::try_from(version).unwrap_or(i32::MAX))
                    .text(title)
                    .text(kind)
                    .text(status.as_str())
                    .text(&format!(
                        "orgs/{}/documents/{series_id}/v{version}",
                        self.org_id
                    ))
                    .text(content_type)
                    .i64((200_000.0 * activity(&mut self.rng, 1.5)).round() as i64)
                    .text(&format!("sha256:{}", hex(&mut self.rng, 32)));
                tail(w, &stamp)?;
            }
        }
        Ok(())
    }

    /// Tags on some tasks, invoices, assets, people and documents (the
    /// first version of a series), each tag at most once per row.
    fn tag_links(&mut self, w: &mut CopyWriter) -> Result<(), Closed> {
        let tags = self.all(Table::Tags);
        if tags.is_empty() {
            return Ok(());
        }
        let (target, chance, most, fan_out, stride) = match self.table {
            Table::TaskTags => (Table::Tasks, 0.12, 3, TAGS_PER_TASK, 1),
            Table::InvoiceTags => (Table::Invoices, 0.1, 1, TAGS_PER_ROW, 1),
            Table::AssetTags => (Table::Assets, 0.2, 2, TAGS_PER_ROW, 1),
            Table::PersonTags => (Table::People, 0.2, 2, TAGS_PER_ROW, 1),
            _ => (
                Table::Documents,
                0.1,
                1,
                TAGS_PER_ROW,
                VERSIONS_PER_DOCUMENT,
            ),
        };
        let mut cursor = self.cursor(self.table);
        let mut targets = self.cursor(target);
        let first = self.org.first[target as usize];
        let since = self.created(self.org.root());
        for row in first..first + self.org.rows[target as usize] {
            if !self.rng.random_bool(chance) {
                continue;
            }
            let row_ordinal = row * stride;
            let row_id = targets.at(row_ordinal);
            let count = self.rng.random_range(1..=most).min(tags.len());
            for (j, t) in sample(&mut self.rng, tags.len(), count)
                .into_iter()
                .enumerate()
            {
                let stamp = self.stamp(since, 0.0);
                w.row(self.width)
                    .uuid(self.org_id)
                    .uuid(cursor.at(row_ordinal * fan_out + j as u64))
                    .uuid(row_id)
                    .uuid(tags[t]);
                tail(w, &stamp)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_follow_the_calendar() {
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(20_088), 2024); // 2024-12-31
        assert_eq!(year_of(20_089), 2025); // 2025-01-01
        assert_eq!(year_of(IMPORT_DAY), 2025);
    }

    #[test]
    fn sibling_names_differ() {
        let plan = Plan::new(0.002, 3);
        let mut seen = std::collections::HashSet::new();
        for v in 0..plan.nodes.len() as u32 {
            let parent = plan.nodes.parent[v as usize];
            let slug = words::slug(&node_label(&plan, v).0);
            assert!(!slug.is_empty());
            if parent != NO_PARENT {
                assert!(
                    seen.insert((parent, slug)),
                    "two siblings share a slug under {parent}"
                );
            }
        }
    }
}
