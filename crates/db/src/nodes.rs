//! The hierarchy: creating, reading, moving, deleting and restoring nodes,
//! and navigating the tree. The rules themselves (kinds, cycles, depth,
//! ancestry) live in the database (`migrations/0002_hierarchy.up.sql`);
//! this module only speaks to them.

use serde::Serialize;
use showtree_core::{NodeKind, NodeName, ParseError, Slug, Status};
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::Sql;
use uuid::Uuid;

use crate::DbError;

/// The columns every node query returns, in the order [`Node::from_row`]
/// reads them.
pub const NODE_COLUMNS: &str = "org_id, id, parent_id, kind::text, name, slug, status::text, \
     restricted, ancestors, depth, metadata, created_at, updated_at, deleted_at, settings";

/// One node of the hierarchy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// The organization (tenant) the node belongs to.
    pub org_id: Uuid,
    /// The node's id.
    pub id: Uuid,
    /// Its parent; `None` for an organization.
    pub parent_id: Option<Uuid>,
    /// Its level.
    pub kind: NodeKind,
    /// Display name.
    pub name: String,
    /// URL name, unique among live siblings.
    pub slug: String,
    /// Lifecycle status.
    pub status: Status,
    /// Whether grants from above stop here.
    pub restricted: bool,
    /// Root..parent, maintained by the database.
    pub ancestors: Vec<Uuid>,
    /// Number of ancestors (0 for an organization).
    pub depth: i16,
    /// Free-form attributes (a JSON object).
    pub metadata: serde_json::Value,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When it (or an ancestor) was soft-deleted.
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    /// What the node configures (a JSON object), e.g.
    /// `{"schedule": {"forbid_overlap": true}}` (inherited by its subtree).
    pub settings: serde_json::Value,
}

impl Node {
    fn from_row(row: &Row) -> Result<Node, DbError> {
        let kind: String = row.try_get(3)?;
        let status: String = row.try_get(6)?;
        Ok(Node {
            org_id: row.try_get(0)?,
            id: row.try_get(1)?,
            parent_id: row.try_get(2)?,
            kind: kind.parse().map_err(unexpected)?,
            name: row.try_get(4)?,
            slug: row.try_get(5)?,
            status: status.parse().map_err(unexpected)?,
            restricted: row.try_get(7)?,
            ancestors: row.try_get(8)?,
            depth: row.try_get(9)?,
            metadata: row.try_get(10)?,
            created_at: row.try_get(11)?,
            updated_at: row.try_get(12)?,
            deleted_at: row.try_get(13)?,
            settings: row.try_get(14)?,
        })
    }

    /// The node's materialized path: its ancestors, then itself. Subtree
    /// pages use the last row's path as their cursor.
    pub fn path(&self) -> Vec<Uuid> {
        let mut p = self.ancestors.clone();
        p.push(self.id);
        p
    }
}

/// A value the database returned that this code does not know: a schema
/// and code out of step, never a client's fault.
fn unexpected(e: ParseError) -> DbError {
    DbError::Unexpected(e.to_string())
}

/// The fields that belong to one level (the per-level detail tables).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LevelFields {
    /// Keep the level's defaults.
    #[default]
    Defaults,
    /// `organizations`.
    Organization {
        /// ISO 4217 base currency for conversions.
        base_currency: showtree_core::Currency,
        /// IANA time zone name.
        timezone: String,
    },
    /// `projects` or `productions`.
    Described {
        /// Free text.
        description: String,
    },
    /// `activations`.
    Activation {
        /// When the event starts.
        starts_at: Option<OffsetDateTime>,
        /// When it ends (not before it starts).
        ends_at: Option<OffsetDateTime>,
        /// IANA time zone of the venue.
        timezone: String,
        /// Where it happens.
        venue: String,
        /// How many people it holds.
        capacity: Option<i32>,
    },
    /// `workspaces`.
    Workspace {
        /// stage, area, department, zone, team, venue, office, other.
        workspace_type: String,
    },
}

/// What it takes to create a node.
#[derive(Debug, Clone)]
pub struct NewNode {
    /// The parent; `None` creates an organization.
    pub parent_id: Option<Uuid>,
    /// The organization; ignored (and derived) for an organization.
    pub org_id: Option<Uuid>,
    /// Its level.
    pub kind: NodeKind,
    /// Display name.
    pub name: NodeName,
    /// URL name; derived from the name when absent.
    pub slug: Option<Slug>,
    /// Whether grants from above stop here.
    pub restricted: bool,
    /// Level fields.
    pub level: LevelFields,
}

impl NewNode {
    /// A node of `kind` named `name` under `parent` (of `org_id`).
    pub fn child(org_id: Uuid, parent_id: Uuid, kind: NodeKind, name: NodeName) -> NewNode {
        NewNode {
            parent_id: Some(parent_id),
            org_id: Some(org_id),
            kind,
            name,
            slug: None,
            restricted: false,
            level: LevelFields::Defaults,
        }
    }

    /// A new organization named `name`.
    pub fn organization(name: NodeName) -> NewNode {
        NewNode {
            parent_id: None,
            org_id: None,
            kind: NodeKind::Organization,
            name,
            slug: None,
            restricted: false,
            level: LevelFields::Defaults,
        }
    }
}

/// Creates a node (and, by trigger, its level's detail row), then writes
/// its level fields. Run it in the caller's transaction so both commit
/// together.
#[tracing::instrument(skip_all, err(level = "debug"), fields(kind = %new.kind))]
pub async fn create(c: &impl Sql, new: &NewNode, actor: Option<Uuid>) -> Result<Node, DbError> {
    let id = Uuid::now_v7();
    let org_id = match new.kind {
        NodeKind::Organization => id,
        _ => new.org_id.ok_or(DbError::Invalid("org_id is required"))?,
    };
    let slug = new
        .slug
        .clone()
        .unwrap_or_else(|| Slug::from_name(new.name.as_str()));
    let sql = format!(
        "insert into showtree.nodes \
           (org_id, id, parent_id, kind, name, slug, restricted, created_by, updated_by) \
         values ($1, $2, $3, $4::text::showtree.node_kind, $5, $6, $7, $8, $8) \
         returning {NODE_COLUMNS}"
    );
    let row = c
        .query_one(
            &sql,
            &[
                &org_id,
                &id,
                &new.parent_id,
                &new.kind.as_str(),
                &new.name.as_str(),
                &slug.as_str(),
                &new.restricted,
                &actor,
            ],
        )
        .await?;
    let node = Node::from_row(&row)?;
    write_level_fields(c, &node, &new.level).await?;
    Ok(node)
}

/// Writes a node's level fields into its detail row.
async fn write_level_fields(c: &impl Sql, node: &Node, level: &LevelFields) -> Result<(), DbError> {
    let (org, id) = (&node.org_id, &node.id);
    let updated = match (node.kind, level) {
        (_, LevelFields::Defaults) => return Ok(()),
        (
            NodeKind::Organization,
            LevelFields::Organization {
                base_currency,
                timezone,
            },
        ) => {
            c.execute(
                "update showtree.organizations set base_currency = $3, timezone = $4 \
                  where org_id = $1 and node_id = $2",
                &[org, id, &base_currency.as_str(), timezone],
            )
            .await?
        }
        (NodeKind::Project, LevelFields::Described { description }) => {
            c.execute(
                "update showtree.projects set description = $3 where org_id = $1 and node_id = $2",
                &[org, id, description],
            )
            .await?
        }
        (NodeKind::Production, LevelFields::Described { description }) => {
            c.execute(
                "update showtree.productions set description = $3 \
                  where org_id = $1 and node_id = $2",
                &[org, id, description],
            )
            .await?
        }
        (
            NodeKind::Activation,
            LevelFields::Activation {
                starts_at,
                ends_at,
                timezone,
                venue,
                capacity,
            },
        ) => {
            c.execute(
                "update showtree.activations \
                    set starts_at = $3, ends_at = $4, timezone = $5, venue = $6, capacity = $7 \
                  where org_id = $1 and node_id = $2",
                &[org, id, starts_at, ends_at, timezone, venue, capacity],
            )
            .await?
        }
        (NodeKind::Workspace, LevelFields::Workspace { workspace_type }) => {
            c.execute(
                "update showtree.workspaces set workspace_type = $3 \
                  where org_id = $1 and node_id = $2",
                &[org, id, workspace_type],
            )
            .await?
        }
        _ => {
            return Err(DbError::Invalid(
                "level fields do not match the node's kind",
            ));
        }
    };
    if updated == 1 {
        Ok(())
    } else {
        Err(DbError::Unexpected(format!("no detail row for {id}")))
    }
}

/// One node, live or soft-deleted.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn get(c: &impl Sql, org_id: Uuid, id: Uuid) -> Result<Node, DbError> {
    let sql = format!("select {NODE_COLUMNS} from showtree.nodes where org_id = $1 and id = $2");
    let row = c.query_opt(&sql, &[&org_id, &id]).await?;
    Node::from_row(&row.ok_or(DbError::NotFound)?)
}

async fn node_list(
    c: &impl Sql,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Node>, DbError> {
    c.query(sql, params)
        .await?
        .iter()
        .map(Node::from_row)
        .collect()
}

/// Root..parent of a live node (empty for an organization or a deleted
/// node).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn ancestors(c: &impl Sql, org_id: Uuid, id: Uuid) -> Result<Vec<Node>, DbError> {
    let sql = format!("select {NODE_COLUMNS} from showtree.node_ancestors($1, $2)");
    node_list(c, &sql, &[&org_id, &id]).await
}

/// Live children, by name.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn children(c: &impl Sql, org_id: Uuid, id: Uuid) -> Result<Vec<Node>, DbError> {
    let sql = format!("select {NODE_COLUMNS} from showtree.node_children($1, $2)");
    node_list(c, &sql, &[&org_id, &id]).await
}

/// One breadcrumb: a node on the way from the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Crumb {
    /// The node.
    pub id: Uuid,
    /// Its level.
    pub kind: NodeKind,
    /// Display name.
    pub name: String,
    /// URL name.
    pub slug: String,
}

/// The trail from the organization down to the node itself.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn breadcrumbs(c: &impl Sql, org_id: Uuid, id: Uuid) -> Result<Vec<Crumb>, DbError> {
    let rows = c
        .query(
            "select id, kind::text, name, slug from showtree.node_breadcrumbs($1, $2)",
            &[&org_id, &id],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(1)?;
            Ok(Crumb {
                id: r.try_get(0)?,
                kind: kind.parse().map_err(unexpected)?,
                name: r.try_get(2)?,
                slug: r.try_get(3)?,
            })
        })
        .collect()
}

/// Largest subtree page.
pub const MAX_PAGE: i32 = 10_000;

/// One page of a live node's descendants, in pre-order (parents first).
/// `after` is the [`Node::path`] of the previous page's last row.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn subtree(
    c: &impl Sql,
    org_id: Uuid,
    id: Uuid,
    kind: Option<NodeKind>,
    after: Option<&[Uuid]>,
    limit: i32,
) -> Result<Vec<Node>, DbError> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(DbError::Invalid("limit must be between 1 and 10000"));
    }
    let sql = format!(
        "select {NODE_COLUMNS} from showtree.node_subtree($1, $2, $3::text::showtree.node_kind, $4, $5)"
    );
    let kind = kind.map(NodeKind::as_str);
    node_list(c, &sql, &[&org_id, &id, &kind, &after, &limit]).await
}

/// Moves a node (and its whole subtree) under `new_parent` of the same
/// organization. The database checks kinds, cycles and depth, and rewrites
/// every descendant's ancestry in the same transaction.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn move_to(
    c: &impl Sql,
    org_id: Uuid,
    id: Uuid,
    new_parent: Uuid,
    actor: Option<Uuid>,
) -> Result<Node, DbError> {
    let sql = format!(
        "update showtree.nodes set parent_id = $3, updated_by = $4 \
          where org_id = $1 and id = $2 and deleted_at is null \
         returning {NODE_COLUMNS}"
    );
    let row = c
        .query_opt(&sql, &[&org_id, &id, &new_parent, &actor])
        .await?;
    Node::from_row(&row.ok_or(DbError::NotFound)?)
}

/// Soft-deletes a live node and its live descendants, with one timestamp.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn soft_delete(
    c: &impl Sql,
    org_id: Uuid,
    id: Uuid,
    actor: Option<Uuid>,
) -> Result<Node, DbError> {
    let sql = format!(
        "update showtree.nodes set deleted_at = now(), deleted_by = $3, updated_by = $3 \
          where org_id = $1 and id = $2 and deleted_at is null \
         returning {NODE_COLUMNS}"
    );
    let row = c.query_opt(&sql, &[&org_id, &id, &actor]).await?;
    Node::from_row(&row.ok_or(DbError::NotFound)?)
}

/// Restores a soft-deleted node and exactly the descendants its deletion
/// took with it. The parent must be live.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn restore(
    c: &impl Sql,
    org_id: Uuid,
    id: Uuid,
    actor: Option<Uuid>,
) -> Result<Node, DbError> {
    let sql = format!(
        "update showtree.nodes set deleted_at = null, deleted_by = null, updated_by = $3 \
          where org_id = $1 and id = $2 and deleted_at is not null \
         returning {NODE_COLUMNS}"
    );
    let row = c.query_opt(&sql, &[&org_id, &id, &actor]).await?;
    Node::from_row(&row.ok_or(DbError::NotFound)?)
}

/// Changes a node's lifecycle status (the database refuses forbidden
/// transitions with `nodes_status_transition`).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn set_status(
    c: &impl Sql,
    org_id: Uuid,
    id: Uuid,
    status: Status,
    actor: Option<Uuid>,
) -> Result<Node, DbError> {
    let sql = format!(
        "update showtree.nodes set status = $3::text::showtree.entity_status, updated_by = $4 \
          where org_id = $1 and id = $2 \
         returning {NODE_COLUMNS}"
    );
    let row = c
        .query_opt(&sql, &[&org_id, &id, &status.as_str(), &actor])
        .await?;
    Node::from_row(&row.ok_or(DbError::NotFound)?)
}

/// Live organizations whose slug is `slug`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn organizations_by_slug(c: &impl Sql, slug: &Slug) -> Result<Vec<Node>, DbError> {
    let sql = format!(
        "select {NODE_COLUMNS} from showtree.nodes \
          where kind = 'organization' and slug = $1 and deleted_at is null order by id"
    );
    node_list(c, &sql, &[&slug.as_str()]).await
}

/// Permanently removes an organization and everything under it (every
/// tenant row cascades from its node).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn purge_organization(c: &impl Sql, org_id: Uuid) -> Result<(), DbError> {
    // restrict keys inside the organization are cleared child-first there
    let found: bool = c
        .query_one("select private.purge_organization($1)", &[&org_id])
        .await?
        .try_get(0)?;
    if found {
        Ok(())
    } else {
        Err(DbError::NotFound)
    }
}

// ---------------------------------------------------------------------------
// For the HTTP API (crates/api): level fields as read back, versions for
// ETags, updates, and paged children.

/// A node's detail row: its level fields, and when they last changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    /// The level fields (never [`LevelFields::Defaults`]: every node has its
    /// detail row).
    pub level: LevelFields,
    /// When the detail row last changed.
    pub updated_at: OffsetDateTime,
}

/// Reads a node's level fields from its detail table.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn details(c: &impl Sql, node: &Node) -> Result<Details, DbError> {
    let (org, id) = (&node.org_id, &node.id);
    let not_found = || DbError::Unexpected(format!("no detail row for {id}"));
    let (level, updated_at) = match node.kind {
        NodeKind::Organization => {
            let r = c
                .query_opt(
                    "select base_currency::text, timezone, updated_at from showtree.organizations \
                      where org_id = $1 and node_id = $2",
                    &[org, id],
                )
                .await?
                .ok_or_else(not_found)?;
            let currency: String = r.try_get(0)?;
            let level = LevelFields::Organization {
                base_currency: showtree_core::Currency::parse(&currency).map_err(unexpected)?,
                timezone: r.try_get(1)?,
            };
            (level, r.try_get(2)?)
        }
        NodeKind::Project | NodeKind::Production => {
            let sql = if node.kind == NodeKind::Project {
                "select description, updated_at from showtree.projects \
                  where org_id = $1 and node_id = $2"
            } else {
                "select description, updated_at from showtree.productions \
                  where org_id = $1 and node_id = $2"
            };
            let r = c.query_opt(sql, &[org, id]).await?.ok_or_else(not_found)?;
            let level = LevelFields::Described {
                description: r.try_get(0)?,
            };
            (level, r.try_get(1)?)
        }
        NodeKind::Activation => {
            let r = c
                .query_opt(
                    "select starts_at, ends_at, timezone, venue, capacity, updated_at \
                       from showtree.activations where org_id = $1 and node_id = $2",
                    &[org, id],
                )
                .await?
                .ok_or_else(not_found)?;
            let level = LevelFields::Activation {
                starts_at: r.try_get(0)?,
                ends_at: r.try_get(1)?,
                timezone: r.try_get(2)?,
                venue: r.try_get(3)?,
                capacity: r.try_get(4)?,
            };
            (level, r.try_get(5)?)
        }
        NodeKind::Workspace => {
            let r = c
                .query_opt(
                    "select workspace_type, updated_at from showtree.workspaces \
                      where org_id = $1 and node_id = $2",
                    &[org, id],
                )
                .await?
                .ok_or_else(not_found)?;
            let level = LevelFields::Workspace {
                workspace_type: r.try_get(0)?,
            };
            (level, r.try_get(1)?)
        }
    };
    Ok(Details { level, updated_at })
}

/// Locks a node (live or deleted) against concurrent changes until the
/// transaction ends and returns it with its details: the version a
/// conditional update (`If-Match`) is checked against.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn lock(c: &impl Sql, org_id: Uuid, id: Uuid) -> Result<(Node, Details), DbError> {
    // `no key update`: foreign keys pointing at the node (children, grants)
    // may still be inserted meanwhile.
    let sql = format!(
        "select {NODE_COLUMNS} from showtree.nodes where org_id = $1 and id = $2 \
         for no key update"
    );
    let row = c.query_opt(&sql, &[&org_id, &id]).await?;
    let node = Node::from_row(&row.ok_or(DbError::NotFound)?)?;
    let details = details(c, &node).await?;
    Ok((node, details))
}

/// Changes to a node's own columns; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeChanges {
    /// New display name.
    pub name: Option<NodeName>,
    /// New URL name.
    pub slug: Option<Slug>,
    /// New status (the database checks the transition).
    pub status: Option<Status>,
    /// Whether grants from above stop here.
    pub restricted: Option<bool>,
    /// Replaces the metadata object.
    pub metadata: Option<serde_json::Value>,
    /// Replaces the settings object.
    pub settings: Option<serde_json::Value>,
    /// Changes to the level fields.
    pub level: LevelChanges,
}

/// Changes to a node's level fields; `None` leaves a field as it is, and
/// `Some(None)` clears a nullable one. Only the node's own level's fields
/// may be set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LevelChanges {
    /// projects, productions.
    pub description: Option<String>,
    /// organizations.
    pub base_currency: Option<showtree_core::Currency>,
    /// organizations, activations.
    pub timezone: Option<String>,
    /// activations.
    pub starts_at: Option<Option<OffsetDateTime>>,
    /// activations.
    pub ends_at: Option<Option<OffsetDateTime>>,
    /// activations.
    pub venue: Option<String>,
    /// activations.
    pub capacity: Option<Option<i32>>,
    /// workspaces.
    pub workspace_type: Option<String>,
}

impl LevelChanges {
    /// The names of the fields set, for checking them against a kind.
    pub fn fields_set(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        let mut note = |present: bool, name| {
            if present {
                set.push(name);
            }
        };
        note(self.description.is_some(), "description");
        note(self.base_currency.is_some(), "base_currency");
        note(self.timezone.is_some(), "timezone");
        note(self.starts_at.is_some(), "starts_at");
        note(self.ends_at.is_some(), "ends_at");
        note(self.venue.is_some(), "venue");
        note(self.capacity.is_some(), "capacity");
        note(self.workspace_type.is_some(), "workspace_type");
        set
    }

    /// The level fields a node of `kind` has.
    pub fn fields_of(kind: NodeKind) -> &'static [&'static str] {
        match kind {
            NodeKind::Organization => &["base_currency", "timezone"],
            NodeKind::Project | NodeKind::Production => &["description"],
            NodeKind::Activation => &["starts_at", "ends_at", "timezone", "venue", "capacity"],
            NodeKind::Workspace => &["workspace_type"],
        }
    }
}

/// Applies `changes` to a node (live or deleted) and its detail row.
/// Returns the node as it now is.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update(
    c: &impl Sql,
    org_id: Uuid,
    id: Uuid,
    changes: &NodeChanges,
    actor: Option<Uuid>,
) -> Result<Node, DbError> {
    let sql = format!(
        "update showtree.nodes \
            set name = coalesce($3, name), slug = coalesce($4, slug), \
                status = coalesce($5::text::showtree.entity_status, status), \
                restricted = coalesce($6, restricted), metadata = coalesce($7, metadata), \
                updated_by = $8, settings = coalesce($9, settings) \
          where org_id = $1 and id = $2 \
         returning {NODE_COLUMNS}"
    );
    let row = c
        .query_opt(
            &sql,
            &[
                &org_id,
                &id,
                &changes.name.as_ref().map(NodeName::as_str),
                &changes.slug.as_ref().map(Slug::as_str),
                &changes.status.map(Status::as_str),
                &changes.restricted,
                &changes.metadata,
                &actor,
                &changes.settings,
            ],
        )
        .await?;
    let node = Node::from_row(&row.ok_or(DbError::NotFound)?)?;
    let level = &changes.level;
    let set = level.fields_set();
    if set.is_empty() {
        return Ok(node);
    }
    let allowed = LevelChanges::fields_of(node.kind);
    if set.iter().any(|f| !allowed.contains(f)) {
        return Err(DbError::Invalid(
            "level fields do not match the node's kind",
        ));
    }
    let (org, id) = (&node.org_id, &node.id);
    let updated = match node.kind {
        NodeKind::Organization => {
            c.execute(
                "update showtree.organizations \
                    set base_currency = coalesce($3, base_currency), \
                        timezone = coalesce($4, timezone) \
                  where org_id = $1 and node_id = $2",
                &[
                    org,
                    id,
                    &level.base_currency.as_ref().map(|c| c.as_str().to_owned()),
                    &level.timezone,
                ],
            )
            .await?
        }
        NodeKind::Project => {
            c.execute(
                "update showtree.projects set description = coalesce($3, description) \
                  where org_id = $1 and node_id = $2",
                &[org, id, &level.description],
            )
            .await?
        }
        NodeKind::Production => {
            c.execute(
                "update showtree.productions set description = coalesce($3, description) \
                  where org_id = $1 and node_id = $2",
                &[org, id, &level.description],
            )
            .await?
        }
        NodeKind::Activation => {
            // $n: whether the nullable field is being set, $n+1: its value
            c.execute(
                "update showtree.activations \
                    set starts_at = case when $3 then $4 else starts_at end, \
                        ends_at = case when $5 then $6 else ends_at end, \
                        timezone = coalesce($7, timezone), \
                        venue = coalesce($8, venue), \
                        capacity = case when $9 then $10 else capacity end \
                  where org_id = $1 and node_id = $2",
                &[
                    org,
                    id,
                    &level.starts_at.is_some(),
                    &level.starts_at.flatten(),
                    &level.ends_at.is_some(),
                    &level.ends_at.flatten(),
                    &level.timezone,
                    &level.venue,
                    &level.capacity.is_some(),
                    &level.capacity.flatten(),
                ],
            )
            .await?
        }
        NodeKind::Workspace => {
            c.execute(
                "update showtree.workspaces set workspace_type = coalesce($3, workspace_type) \
                  where org_id = $1 and node_id = $2",
                &[org, id, &level.workspace_type],
            )
            .await?
        }
    };
    if updated == 1 {
        Ok(node)
    } else {
        Err(DbError::Unexpected(format!("no detail row for {id}")))
    }
}

/// One page of a live node's live children, ordered by name then id.
/// `after` is the (name, id) of the previous page's last child.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn children_page(
    c: &impl Sql,
    org_id: Uuid,
    id: Uuid,
    after: Option<(&str, Uuid)>,
    limit: i32,
) -> Result<Vec<Node>, DbError> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(DbError::Invalid("limit must be between 1 and 10000"));
    }
    let sql = format!(
        "select {NODE_COLUMNS} from showtree.nodes c \
          where c.org_id = $1 and c.parent_id = $2 and c.deleted_at is null \
            and ($3::text is null or (c.name, c.id) > ($3::text, $4::uuid)) \
          order by c.name, c.id \
          limit $5"
    );
    let (name, after_id) = match after {
        Some((name, id)) => (Some(name), Some(id)),
        None => (None, None),
    };
    let limit = i64::from(limit);
    node_list(c, &sql, &[&org_id, &id, &name, &after_id, &limit]).await
}

/// How many live children a live node has.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn count_children(c: &impl Sql, org_id: Uuid, id: Uuid) -> Result<i64, DbError> {
    let row = c
        .query_one(
            "select count(*) from showtree.nodes \
              where org_id = $1 and parent_id = $2 and deleted_at is null",
            &[&org_id, &id],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// One node by id alone, live or soft-deleted, in whichever organization
/// holds it: under RLS only a node the caller can read is found
/// (`NotFound` otherwise, the same for a node that does not exist).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn find(c: &impl Sql, id: Uuid) -> Result<Node, DbError> {
    let sql = format!("select {NODE_COLUMNS} from showtree.nodes where id = $1");
    let row = c.query_opt(&sql, &[&id]).await?;
    Node::from_row(&row.ok_or(DbError::NotFound)?)
}
