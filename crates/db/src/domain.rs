//! The production domain (migration 0005): tasks, budget lines, vendors,
//! invoices and their lines, assets and their assignments, schedule items,
//! people, crew assignments, documents, tags and tag links.
//!
//! Every table follows the same conventions (an owner node, soft delete,
//! actor columns kept by triggers, RLS), so one engine reads and writes them
//! all, driven by a static [`Table`] per table (see [`tables`]). Rows travel
//! as JSON objects PostgreSQL builds (`to_jsonb`), typed at the API's edge.
//! Identifiers in the SQL only ever come from those static descriptions;
//! values are always bound parameters.

use crate::Sql;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::DbError;

pub mod tables;

/// Who owns a table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A node of the hierarchy (`node_id`).
    Node,
    /// The organization: reference data owned by the root node
    /// (`node_id = org_id`), readable by every member of the organization.
    Org,
    /// A parent row (`column` references `table`), whose node is the row's.
    Parent {
        /// The parent table.
        table: &'static str,
        /// The column naming the parent row.
        column: &'static str,
    },
}

/// The tag links of a table: which junction table, which column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagLink {
    /// The junction table (`task_tags`).
    pub table: &'static str,
    /// Its column naming the tagged row (`task_id`).
    pub column: &'static str,
}

/// How the engine treats one table.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// The table in schema `showtree`.
    pub name: &'static str,
    /// Who owns its rows.
    pub owner: Owner,
    /// Columns a client may set when creating a row (besides the owner).
    pub insertable: &'static [&'static str],
    /// Columns a client may change.
    pub updatable: &'static [&'static str],
    /// A JSON object (SQL over the row alias `t`) merged into each row's
    /// view: derived figures, masked columns.
    pub view: &'static str,
    /// Whether it has a `status` column.
    pub status: bool,
    /// Whether it has an `assigned_to` column.
    pub assigned_to: bool,
    /// The column `from`/`to` filter on.
    pub date_column: Option<&'static str>,
    /// Whether it has a `search` tsvector column.
    pub search: bool,
    /// Its tag links, when rows can be tagged.
    pub tags: Option<TagLink>,
    /// Columns lists may filter on by equality with a UUID.
    pub filters: &'static [&'static str],
}

impl Table {
    /// The row's JSON view (alias `t`).
    pub fn view_sql(&self) -> String {
        let mut sql = format!("((to_jsonb(t) - 'search') || {}", self.view);
        if let Some(link) = self.tags {
            sql.push_str(&format!(
                " || jsonb_build_object('tags', coalesce((select jsonb_agg(l.tag_id order by l.tag_id) \
                 from showtree.{lt} l where l.org_id = t.org_id and l.{lc} = t.id and l.deleted_at is null), '[]'))",
                lt = link.table,
                lc = link.column
            ));
        }
        sql.push(')');
        sql
    }

    /// Joins that reach the row's node (alias `n`), for liveness.
    pub fn node_join(&self) -> String {
        match self.owner {
            Owner::Node => {
                "join showtree.nodes n on n.org_id = t.org_id and n.id = t.node_id".into()
            }
            // the root node may be unreadable to a member granted lower down;
            // a deleted organization takes its reference data with it
            Owner::Org => String::new(),
            Owner::Parent { table, column } => format!(
                "join showtree.{table} p on p.org_id = t.org_id and p.id = t.{column} and p.deleted_at is null \
                 join showtree.nodes n on n.org_id = p.org_id and n.id = p.node_id"
            ),
        }
    }

    /// The liveness condition on the row's node, when it has one.
    pub fn node_live(&self) -> &'static str {
        match self.owner {
            Owner::Org => "",
            _ => " and n.deleted_at is null",
        }
    }
}

/// Which rows a list covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Rows owned by this node.
    Node(Uuid),
    /// Rows owned by this node or any live node below it.
    Subtree(Uuid),
    /// Every row of the organization (org-level tables).
    Org,
    /// The child rows of this parent row.
    Parent(Uuid),
}

/// A list request: scope, filters, page.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// The organization.
    pub org_id: Uuid,
    /// Which rows.
    pub scope: Scope,
    /// Only rows in this status (tables with a status).
    pub status: Option<String>,
    /// Only rows assigned to this user (tables with `assigned_to`).
    pub assigned_to: Option<Uuid>,
    /// Only rows carrying this tag (taggable tables).
    pub tag: Option<Uuid>,
    /// Only rows whose date column is at or after this.
    pub from: Option<OffsetDateTime>,
    /// Only rows whose date column is before this.
    pub to: Option<OffsetDateTime>,
    /// Only rows matching this web-search query (tables with search).
    pub text: Option<String>,
    /// Equality filters on the table's filter columns.
    pub equals: Vec<(&'static str, Uuid)>,
    /// Rows after this id (the previous page's last).
    pub after: Option<Uuid>,
    /// At most this many rows.
    pub limit: i64,
}

type Param = Box<dyn ToSql + Sync + Send>;

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn push(params: &mut Vec<Param>, value: impl ToSql + Sync + Send + 'static) -> String {
    params.push(Box::new(value));
    format!("${}", params.len())
}

/// How a subtree list reaches its rows (see [`subtree_plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubtreePlan {
    /// Walk the table's rows in id order and keep the subtree's: a page
    /// fills at once when the subtree holds much of the organization.
    Walk,
    /// Read the subtree's nodes, their rows by `(org_id, node_id)`, then
    /// sort: few rows to read when the subtree holds little.
    ThroughNodes,
}

/// One page of rows in id order (ids are v7: creation order).
#[tracing::instrument(skip_all, err, fields(table = table.name))]
pub async fn list(c: &impl Sql, table: &Table, q: &ListQuery) -> Result<Vec<Value>, DbError> {
    let plan = match (q.scope, table.owner) {
        (Scope::Subtree(node), Owner::Node) => subtree_plan(c, q.org_id, node).await?,
        _ => SubtreePlan::ThroughNodes,
    };
    list_planned(c, table, q, plan).await
}

/// [`list`] with the plan of a subtree list chosen by the caller (the same
/// page either way; tests compare them). Other scopes ignore `plan`.
#[tracing::instrument(skip_all, err, fields(table = table.name))]
pub async fn list_planned(
    c: &impl Sql,
    table: &Table,
    q: &ListQuery,
    plan: SubtreePlan,
) -> Result<Vec<Value>, DbError> {
    let mut params: Vec<Param> = Vec::new();
    let org = push(&mut params, q.org_id);
    let walk = matches!(
        (q.scope, table.owner, plan),
        (Scope::Subtree(_), Owner::Node, SubtreePlan::Walk)
    );
    let mut sql = if walk {
        // No join to the nodes: the planner cannot estimate the path range
        // (its bounds are sub-selects) nor the policies, so with the join it
        // drives from the nodes and sorts the whole subtree (the root of a
        // 282,000-node organization: 1.4 M buffers, 3 s). The node test is
        // a per-row sub-plan (`offset 0` keeps it one) on the id-order walk.
        format!(
            "select {view} from showtree.{name} t where t.org_id = {org} and t.deleted_at is null",
            view = table.view_sql(),
            name = table.name,
        )
    } else {
        format!(
            "select {view} from showtree.{name} t {join} where t.org_id = {org} and t.deleted_at is null{live}",
            view = table.view_sql(),
            name = table.name,
            join = table.node_join(),
            live = table.node_live(),
        )
    };
    match (q.scope, table.owner) {
        (Scope::Node(node), Owner::Node) => {
            let p = push(&mut params, node);
            sql.push_str(&format!(" and t.node_id = {p}"));
        }
        (Scope::Subtree(node), Owner::Node) => {
            let p = push(&mut params, node);
            sql.push_str(&subtree_condition(plan, &org, &p));
        }
        (Scope::Org, Owner::Org) => {}
        (Scope::Parent(parent), Owner::Parent { column, .. }) => {
            let p = push(&mut params, parent);
            sql.push_str(&format!(" and t.{column} = {p}"));
        }
        _ => return Err(DbError::Invalid("this list has no such scope")),
    }
    if let Some(status) = &q.status {
        if !table.status {
            return Err(DbError::Invalid("this list has no status"));
        }
        let p = push(&mut params, status.clone());
        sql.push_str(&format!(
            " and t.status = ({p}::text)::showtree.entity_status"
        ));
    }
    if let Some(user) = q.assigned_to {
        if !table.assigned_to {
            return Err(DbError::Invalid("this list has no assignee"));
        }
        let p = push(&mut params, user);
        sql.push_str(&format!(" and t.assigned_to = {p}"));
    }
    if let Some(tag) = q.tag {
        let Some(link) = table.tags else {
            return Err(DbError::Invalid("this list has no tags"));
        };
        let p = push(&mut params, tag);
        sql.push_str(&format!(
            " and exists (select from showtree.{lt} l where l.org_id = t.org_id and l.{lc} = t.id \
               and l.tag_id = {p} and l.deleted_at is null)",
            lt = link.table,
            lc = link.column
        ));
    }
    if q.from.is_some() || q.to.is_some() {
        let Some(col) = table.date_column else {
            return Err(DbError::Invalid("this list has no date to filter on"));
        };
        if let Some(from) = q.from {
            let p = push(&mut params, from);
            sql.push_str(&format!(" and t.{col} >= {p}::timestamptz"));
        }
        if let Some(to) = q.to {
            let p = push(&mut params, to);
            sql.push_str(&format!(" and t.{col} < {p}::timestamptz"));
        }
    }
    if let Some(text) = &q.text {
        if !table.search {
            return Err(DbError::Invalid("this list has no text search"));
        }
        let p = push(&mut params, text.clone());
        sql.push_str(&format!(
            " and t.search @@ websearch_to_tsquery('english'::regconfig, {p})"
        ));
    }
    for (column, value) in &q.equals {
        if !table.filters.contains(column) {
            return Err(DbError::Invalid("this list has no such filter"));
        }
        let p = push(&mut params, *value);
        sql.push_str(&format!(" and t.{column} = {p}"));
    }
    if let Some(after) = q.after {
        let p = push(&mut params, after);
        sql.push_str(&format!(" and t.id > {p}"));
    }
    let p = push(&mut params, q.limit);
    sql.push_str(&format!(" order by t.id limit {p}"));
    let rows = c.query(&sql, &refs(&params)).await?;
    rows.iter().map(|r| Ok(r.try_get::<_, Value>(0)?)).collect()
}

/// Most nodes a subtree below the root may have for its lists to be read
/// node by node.
const SMALL_SUBTREE: i64 = 2_000;

/// The rows a subtree list reads either way, as a [`list_planned`] clause
/// on `t` (and `n`, the row's node, joined when [`SubtreePlan::ThroughNodes`]),
/// `org` and `node` being SQL parameters. Public so that the benchmark's
/// pgbench baseline runs the very statement the service runs.
pub fn subtree_condition(plan: SubtreePlan, org: &str, node: &str) -> String {
    match plan {
        SubtreePlan::Walk => format!(
            " and exists (select from showtree.nodes n where n.org_id = t.org_id and n.id = t.node_id \
               and n.deleted_at is null and {} offset 0)",
            subtree_range("n", org, node)
        ),
        // private.subtree_nodes reads the path range with the index, which
        // the nodes' policy forbids here (array comparison is not leakproof)
        SubtreePlan::ThroughNodes => {
            format!(
                " and t.node_id = any((select private.subtree_nodes({org}, {node}, null))::uuid[])"
            )
        }
    }
}

/// Which plan reads fewer rows for a page over the subtree of `node`. With
/// rows spread over the nodes, the id-order walk reads about
/// `limit * o / s` rows before the page is full (`s` nodes in the subtree,
/// `o` in the organization) and the read through the nodes about
/// `s * (1 + rows per node)`, `3.5 s` for tasks: the walk wins once
/// `3.5 s^2 > limit * o`. At the organization's root (`s = o`) that is
/// any organization of more than a few nodes, so the root walks without
/// counting. Below it, counting the organization would read all of it for
/// a caller who may read little of it, so the subtree's readable nodes
/// alone are counted, up to [`SMALL_SUBTREE`], the break-even in the
/// largest organization (282,000 nodes, 51 rows): one short range of the
/// path index (`private.subtree_nodes`).
async fn subtree_plan(c: &impl Sql, org_id: Uuid, node: Uuid) -> Result<SubtreePlan, DbError> {
    if node == org_id {
        return Ok(SubtreePlan::Walk);
    }
    let row = c
        .query_one(
            "select cardinality(private.subtree_nodes($1, $2, $3))::bigint",
            &[&org_id, &node, &((SMALL_SUBTREE + 1) as i32)],
        )
        .await?;
    Ok(if row.try_get::<_, i64>(0)? > SMALL_SUBTREE {
        SubtreePlan::Walk
    } else {
        SubtreePlan::ThroughNodes
    })
}

/// The nodes `alias` of the subtree of node `node` in organization `org`
/// (SQL parameters): one range of nodes_path_idx, the node's path and
/// everything under it.
fn subtree_range(alias: &str, org: &str, node: &str) -> String {
    format!(
        "({alias}.ancestors || {alias}.id) >= (select r.ancestors || r.id from showtree.nodes r \
           where r.org_id = {org} and r.id = {node}) \
         and ({alias}.ancestors || {alias}.id) < (select r.ancestors || r.id || \
           'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid \
           from showtree.nodes r where r.org_id = {org} and r.id = {node})"
    )
}

/// Where a row is, whether or not the caller may read it:
/// `(org_id, node_id)` (see `private.locate_row`).
#[tracing::instrument(skip_all, err, fields(table = table.name))]
pub async fn locate(c: &impl Sql, table: &Table, id: Uuid) -> Result<(Uuid, Uuid), DbError> {
    let row = c
        .query_opt(
            "select org_id, node_id from private.locate_row($1, $2)",
            &[&table.name, &id],
        )
        .await?
        .ok_or(DbError::NotFound)?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// One row the caller may read; deleted rows only when `deleted` is set.
/// Rows under a deleted node are gone until the node is restored.
#[tracing::instrument(skip_all, err, fields(table = table.name))]
pub async fn get(c: &impl Sql, table: &Table, id: Uuid, deleted: bool) -> Result<Value, DbError> {
    let sql = format!(
        "select {view} from showtree.{name} t {join} where t.id = $1{live}{alive}",
        view = table.view_sql(),
        name = table.name,
        join = table.node_join(),
        live = table.node_live(),
        alive = if deleted {
            ""
        } else {
            " and t.deleted_at is null"
        },
    );
    let row = c.query_opt(&sql, &[&id]).await?.ok_or(DbError::NotFound)?;
    Ok(row.try_get(0)?)
}

/// Locks one row the caller may change (for a compare-and-set on its
/// version) and returns it.
#[tracing::instrument(skip_all, err, fields(table = table.name))]
pub async fn lock(c: &impl Sql, table: &Table, id: Uuid) -> Result<Value, DbError> {
    let sql = format!(
        "select {view} from showtree.{name} t where t.id = $1 for no key update",
        view = table.view_sql(),
        name = table.name,
    );
    let row = c.query_opt(&sql, &[&id]).await?.ok_or(DbError::NotFound)?;
    Ok(row.try_get(0)?)
}

/// The columns of `values` a client may write here, in the table's order.
fn columns<'a>(allowed: &'a [&'static str], values: &Map<String, Value>) -> Vec<&'a str> {
    allowed
        .iter()
        .copied()
        .filter(|c| values.contains_key(*c))
        .collect()
}

/// Creates a row owned by `node_id` (node- and org-owned tables) or by its
/// parent (named among `values`); returns its view.
#[tracing::instrument(skip_all, err, fields(table = table.name))]
pub async fn insert(
    c: &impl Sql,
    table: &Table,
    org_id: Uuid,
    node_id: Option<Uuid>,
    values: &Map<String, Value>,
) -> Result<Value, DbError> {
    if values
        .keys()
        .any(|k| !table.insertable.contains(&k.as_str()))
    {
        return Err(DbError::Invalid("a field that cannot be set on creation"));
    }
    let cols = columns(table.insertable, values);
    // the owner node, unless a parent row owns this one
    let node_id = match (table.owner, node_id) {
        (Owner::Parent { .. }, None) => None,
        (Owner::Parent { .. }, Some(_)) | (_, None) => {
            return Err(DbError::Invalid("wrong owner for this table"));
        }
        (_, Some(node)) => Some(node),
    };
    let values = Value::Object(values.clone());
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&org_id, &values];
    let (owner_col, owner_val) = match &node_id {
        Some(node) => {
            params.push(node);
            (", node_id", ", $3")
        }
        None => ("", ""),
    };
    let sql = format!(
        "insert into showtree.{name} as t (org_id{owner_col}{cols}) \
         select $1{owner_val}{vals} from jsonb_populate_record(null::showtree.{name}, $2::jsonb) r \
         returning {view}",
        name = table.name,
        cols = cols.iter().map(|c| format!(", {c}")).collect::<String>(),
        vals = cols.iter().map(|c| format!(", r.{c}")).collect::<String>(),
        view = table.view_sql(),
    );
    let row = c.query_one(&sql, &params).await?;
    Ok(row.try_get(0)?)
}

/// Changes the given columns of a row; returns its new view.
#[tracing::instrument(skip_all, err, fields(table = table.name))]
pub async fn update(
    c: &impl Sql,
    table: &Table,
    org_id: Uuid,
    id: Uuid,
    values: &Map<String, Value>,
) -> Result<Value, DbError> {
    if values
        .keys()
        .any(|k| !table.updatable.contains(&k.as_str()))
    {
        return Err(DbError::Invalid("a field that cannot be changed"));
    }
    let cols = columns(table.updatable, values);
    if cols.is_empty() {
        return get(c, table, id, false).await;
    }
    let sql = format!(
        "update showtree.{name} as t set ({cols}) = row({vals}) \
         from jsonb_populate_record(null::showtree.{name}, $3::jsonb) r \
         where t.org_id = $1 and t.id = $2 returning {view}",
        name = table.name,
        cols = cols.join(", "),
        vals = cols
            .iter()
            .map(|c| format!("r.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        view = table.view_sql(),
    );
    let values = Value::Object(values.clone());
    let row = c
        .query_opt(&sql, &[&org_id, &id, &values])
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(row.try_get(0)?)
}

/// Soft-deletes (`deleted`) or restores a row; returns its view.
#[tracing::instrument(skip_all, err, fields(table = table.name))]
pub async fn set_deleted(
    c: &impl Sql,
    table: &Table,
    org_id: Uuid,
    id: Uuid,
    deleted: bool,
) -> Result<Value, DbError> {
    let sql = format!(
        "update showtree.{name} as t set deleted_at = case when $3 then now() end \
         where t.org_id = $1 and t.id = $2 returning {view}",
        name = table.name,
        view = table.view_sql(),
    );
    let row = c
        .query_opt(&sql, &[&org_id, &id, &deleted])
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(row.try_get(0)?)
}

/// Tags a row (idempotent: a live link stays as it is).
#[tracing::instrument(skip_all, err, fields(table = table.name))]
pub async fn tag(
    c: &impl Sql,
    table: &Table,
    org_id: Uuid,
    id: Uuid,
    tag_id: Uuid,
) -> Result<(), DbError> {
    let Some(link) = table.tags else {
        return Err(DbError::Invalid("these rows cannot be tagged"));
    };
    let sql = format!(
        "insert into showtree.{lt} (org_id, {lc}, tag_id) values ($1, $2, $3) \
         on conflict (org_id, {lc}, tag_id) where deleted_at is null do nothing",
        lt = link.table,
        lc = link.column
    );
    c.execute(&sql, &[&org_id, &id, &tag_id]).await?;
    Ok(())
}

/// Removes a tag from a row; false when it did not carry it.
#[tracing::instrument(skip_all, err, fields(table = table.name))]
pub async fn untag(
    c: &impl Sql,
    table: &Table,
    org_id: Uuid,
    id: Uuid,
    tag_id: Uuid,
) -> Result<bool, DbError> {
    let Some(link) = table.tags else {
        return Err(DbError::Invalid("these rows cannot be tagged"));
    };
    let sql = format!(
        "update showtree.{lt} set deleted_at = now() \
         where org_id = $1 and {lc} = $2 and tag_id = $3 and deleted_at is null",
        lt = link.table,
        lc = link.column
    );
    Ok(c.execute(&sql, &[&org_id, &id, &tag_id]).await? > 0)
}

/// One hit of a subtree search.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    /// What was found: `node`, `task`, `schedule_item`, `document`,
    /// `budget_line` or `invoice`.
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

/// Full-text search over the live subtree of a node: only rows the caller
/// may read (every table's policy applies), best first.
#[tracing::instrument(skip_all, err)]
pub async fn search(
    c: &impl Sql,
    org_id: Uuid,
    node_id: Uuid,
    query: &str,
    limit: i32,
) -> Result<Vec<Hit>, DbError> {
    let rows = c
        .query(
            "select kind, id, node_id, title, rank from showtree.search_subtree($1, $2, $3, $4)",
            &[&org_id, &node_id, &query, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Hit {
                kind: r.try_get(0)?,
                id: r.try_get(1)?,
                node_id: r.try_get(2)?,
                title: r.try_get(3)?,
                rank: r.try_get(4)?,
            })
        })
        .collect()
}
