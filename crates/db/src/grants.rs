//! Roles granted on nodes, inherited down the tree, and the explanation of
//! a user's effective role. The rules (nobody grants above their own role,
//! an organization keeps an owner) are enforced by the database
//! (`private.grants_check`); RLS decides who sees which grants.

use serde::Serialize;
use showtree_core::Role;
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::Sql;
use uuid::Uuid;

use crate::DbError;

const GRANT_COLUMNS: &str = "org_id, id, node_id, user_id, role::text, created_at, created_by";

/// One grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The organization.
    pub org_id: Uuid,
    /// The grant's id.
    pub id: Uuid,
    /// The node it is granted on.
    pub node_id: Uuid,
    /// The grantee.
    pub user_id: Uuid,
    /// The role.
    pub role: Role,
    /// When it was granted.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Who granted it.
    pub created_by: Option<Uuid>,
}

/// Parses a role name the database returned.
pub fn parse_role(s: &str) -> Result<Role, DbError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| DbError::Unexpected(format!("unknown role {s}")))
}

/// A role's name in SQL.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Viewer => "viewer",
        Role::Finance => "finance",
        Role::Editor => "editor",
        Role::Manager => "manager",
        Role::Admin => "admin",
        Role::Owner => "owner",
    }
}

impl Grant {
    fn from_row(r: &Row) -> Result<Grant, DbError> {
        let role: String = r.try_get(4)?;
        Ok(Grant {
            org_id: r.try_get(0)?,
            id: r.try_get(1)?,
            node_id: r.try_get(2)?,
            user_id: r.try_get(3)?,
            role: parse_role(&role)?,
            created_at: r.try_get(5)?,
            created_by: r.try_get(6)?,
        })
    }
}

/// The caller's strongest role at a node; `None` when they cannot read it.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn effective_role(
    c: &impl Sql,
    org_id: Uuid,
    node_id: Uuid,
) -> Result<Option<Role>, DbError> {
    let role: Option<String> = c
        .query_one(
            "select private.effective_role($1, $2)::text",
            &[&org_id, &node_id],
        )
        .await?
        .try_get(0)?;
    role.as_deref().map(parse_role).transpose()
}

/// Whether the caller holds `capability` (read, write, manage, grant,
/// finance) at a node, by any grant that reaches it.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn has_capability(
    c: &impl Sql,
    org_id: Uuid,
    node_id: Uuid,
    capability: showtree_core::Capability,
) -> Result<bool, DbError> {
    let cap = serde_json::to_value(capability)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or(DbError::Invalid("capability"))?;
    Ok(c.query_one(
        "select private.has_capability($1, $2, $3)",
        &[&org_id, &node_id, &cap],
    )
    .await?
    .try_get(0)?)
}

/// The live grants on one node that the caller may see.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn list(c: &impl Sql, org_id: Uuid, node_id: Uuid) -> Result<Vec<Grant>, DbError> {
    let sql = format!(
        "select {GRANT_COLUMNS} from showtree.grants \
          where org_id = $1 and node_id = $2 and deleted_at is null order by created_at, id"
    );
    c.query(&sql, &[&org_id, &node_id])
        .await?
        .iter()
        .map(Grant::from_row)
        .collect()
}

/// Who to grant to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// A user by id.
    User(Uuid),
    /// A user by email (any case).
    Email(String),
}

/// Grants `role` at a node; an existing live grant of the same user there
/// is replaced. Refused by the database above the caller's own role.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn grant(
    c: &impl Sql,
    org_id: Uuid,
    node_id: Uuid,
    grantee: &Grantee,
    role: Role,
) -> Result<Grant, DbError> {
    let user_id = match grantee {
        Grantee::User(id) => *id,
        Grantee::Email(email) => c
            .query_one(
                "select private.user_id_by_email($1, $2, $3)",
                &[&org_id, &node_id, email],
            )
            .await?
            .try_get::<_, Option<Uuid>>(0)?
            .ok_or(DbError::Invalid("no user with that email"))?,
    };
    let sql = format!(
        "insert into showtree.grants (org_id, node_id, user_id, role, created_by, updated_by) \
         values ($1, $2, $3, $4::text::showtree.access_role, auth.uid(), auth.uid()) \
         on conflict (org_id, node_id, user_id) where deleted_at is null \
         do update set role = excluded.role, updated_by = excluded.updated_by \
         returning {GRANT_COLUMNS}"
    );
    let row = c
        .query_one(&sql, &[&org_id, &node_id, &user_id, &role_name(role)])
        .await?;
    Grant::from_row(&row)
}

/// Revokes a grant (soft delete, recorded in the audit log).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn revoke(c: &impl Sql, grant_id: Uuid) -> Result<Grant, DbError> {
    let sql = format!(
        "update showtree.grants set deleted_at = now(), deleted_by = auth.uid(), updated_by = auth.uid() \
          where id = $1 and deleted_at is null returning {GRANT_COLUMNS}"
    );
    let row = c.query_opt(&sql, &[&grant_id]).await?;
    Grant::from_row(&row.ok_or(DbError::NotFound)?)
}

/// One grant on the way from the root to a node, and whether it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathGrant {
    /// The grant.
    pub grant_id: Uuid,
    /// The node it sits on.
    pub node_id: Uuid,
    /// Its role.
    pub role: Role,
    /// Root..grant node.
    pub path: Vec<Uuid>,
    /// Whether it reaches the node.
    pub applies: bool,
    /// The restricted node that stops it, if any.
    pub blocked_by: Option<Uuid>,
}

/// Why a user has the role they have at a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The user explained.
    pub user_id: Uuid,
    /// The node.
    pub node_id: Uuid,
    /// Their strongest role there (`None`: no access).
    pub effective_role: Option<Role>,
    /// The grant that gives it.
    pub via: Option<PathGrant>,
    /// Every grant of theirs on the node or its ancestors.
    pub grants: Vec<PathGrant>,
}

/// Explains `user_id`'s access at a node; only oneself, or where the
/// caller may grant (`grants_explain_denied` otherwise).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn explain(
    c: &impl Sql,
    org_id: Uuid,
    node_id: Uuid,
    user_id: Uuid,
) -> Result<Explanation, DbError> {
    let rows = c
        .query(
            "select grant_id, grant_node_id, role::text, path, applies, blocked_by \
               from private.explain_access($1, $2, $3)",
            &[&org_id, &node_id, &user_id],
        )
        .await?;
    let grants = rows
        .iter()
        .map(|r| {
            let role: String = r.try_get(2)?;
            Ok(PathGrant {
                grant_id: r.try_get(0)?,
                node_id: r.try_get(1)?,
                role: parse_role(&role)?,
                path: r.try_get(3)?,
                applies: r.try_get(4)?,
                blocked_by: r.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let via = grants
        .iter()
        .filter(|g| g.applies)
        .max_by_key(|g| (g.role, g.path.len()))
        .cloned();
    Ok(Explanation {
        user_id,
        node_id,
        effective_role: via.as_ref().map(|g| g.role),
        via,
        grants,
    })
}

/// The caller's roles anywhere in an organization (empty: not a member);
/// org-level reference data is open to every member.
#[tracing::instrument(skip_all, err)]
pub async fn my_roles_in_org(c: &impl Sql, org_id: Uuid) -> Result<Vec<Role>, DbError> {
    let rows = c
        .query(
            "select role::text from showtree.grants \
              where user_id = auth.uid() and org_id = $1 and deleted_at is null",
            &[&org_id],
        )
        .await?;
    rows.iter()
        .map(|r| parse_role(r.try_get::<_, &str>(0)?))
        .collect()
}
