//! The caller's own view (`GET /v1/me`): their grants, and the
//! organizations those grants are in.

use crate::Sql;
use uuid::Uuid;

use crate::DbError;
use crate::grants::{Grant, parse_role};

/// An organization the caller holds a grant in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The organization's id.
    pub org_id: Uuid,
    /// Its name and slug, when the caller can read its root (a grant
    /// further down does not show the organization's node).
    pub name: Option<(String, String)>,
}

/// The caller's live grants, oldest first.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn grants(c: &impl Sql) -> Result<Vec<Grant>, DbError> {
    c.query(
        "select org_id, id, node_id, user_id, role::text, created_at, created_by \
           from showtree.grants \
          where user_id = (select auth.uid()) and deleted_at is null \
          order by created_at, id",
        &[],
    )
    .await?
    .iter()
    .map(|r| {
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
    })
    .collect()
}

/// The organizations the caller holds a grant in, by id.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn organizations(c: &impl Sql) -> Result<Vec<Membership>, DbError> {
    c.query(
        "select g.org_id, n.name, n.slug \
           from (select distinct org_id from showtree.grants \
                  where user_id = (select auth.uid()) and deleted_at is null) g \
           left join showtree.nodes n on n.org_id = g.org_id and n.id = g.org_id \
          order by g.org_id",
        &[],
    )
    .await?
    .iter()
    .map(|r| {
        let name: Option<String> = r.try_get(1)?;
        let slug: Option<String> = r.try_get(2)?;
        Ok(Membership {
            org_id: r.try_get(0)?,
            name: name.zip(slug),
        })
    })
    .collect()
}
