//! The audit log: events the access layer records beside the triggers'.

use uuid::Uuid;

use crate::DbError;
use crate::pool::{Caller, Db};

/// Records that `caller` was refused `action` at a node, in a transaction
/// of its own (the refused request's transaction rolls back). Failing to
/// record is logged, never passed on: the refusal stands either way.
pub async fn record_denied(
    db: &Db,
    caller: &Caller,
    org_id: Uuid,
    node_id: Uuid,
    action: &str,
    reason: &str,
) {
    let result = db
        .run_as(caller, async |c| {
            c.execute(
                "select private.record_event($1, $2, $3, $4)",
                &[&org_id, &node_id, &action, &reason],
            )
            .await
            .map_err(DbError::from)
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, action, "could not record a denied request");
    }
}

/// Records a security event that names no organization (failed login,
/// refused token) in a transaction of its own.
pub async fn record_security(
    db: &Db,
    action: &str,
    reason: &str,
    user_id: Option<Uuid>,
    client_address: Option<&str>,
) {
    let result = db
        .run_anonymous(async |c| {
            crate::auth::record_security_event(c, action, reason, user_id, client_address).await
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, action, "could not record a security event");
    }
}

/// Creates the audit log's partitions for this month and the next (run by
/// the owner at start-up, after migrating; idempotent). Returns their names.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn ensure_partitions(owner: &tokio_postgres::Client) -> Result<Vec<String>, DbError> {
    let row = owner
        .query_one(
            "select private.ensure_audit_partition(now()), \
                    private.ensure_audit_partition(now() + interval '1 month')",
            &[],
        )
        .await?;
    Ok(vec![row.try_get(0)?, row.try_get(1)?])
}

/// One event of a subtree's activity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Event {
    /// Its id.
    pub id: Uuid,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: time::OffsetDateTime,
    /// The node it happened at.
    pub node_id: Option<Uuid>,
    /// Who did it.
    pub actor: Option<Uuid>,
    /// What happened (`tasks.updated`, `grant.created`, `node.update.denied`...).
    pub action: String,
    /// The table of the row it changed.
    pub table_name: Option<String>,
    /// The row it changed.
    pub row_id: Option<Uuid>,
    /// Why (refusals).
    pub reason: Option<String>,
    /// The changed columns, old and new.
    pub changes: serde_json::Value,
}

/// The events at a live node and everything below it that the caller may
/// read (the audit log's policy applies: money events need finance), newest
/// first, after `before` (the previous page's last `(occurred_at, id)`).
#[tracing::instrument(skip_all, err)]
pub async fn activity(
    c: &impl crate::Sql,
    org_id: Uuid,
    node_id: Uuid,
    before: Option<(time::OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<Event>, DbError> {
    let (at, id) = before.unzip();
    let rows = c
        .query(
            "select e.id, e.occurred_at, e.node_id, e.created_by, e.action, e.table_name, e.row_id, \
                    e.reason, e.changes \
               from showtree.audit_events e \
               join showtree.nodes n on n.org_id = e.org_id and n.id = e.node_id \
              where e.org_id = $1 \
                and (n.ancestors || n.id) >= (select r.ancestors || r.id from showtree.nodes r \
                                               where r.org_id = $1 and r.id = $2) \
                and (n.ancestors || n.id) < (select r.ancestors || r.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid \
                                              from showtree.nodes r where r.org_id = $1 and r.id = $2) \
                and ($3::timestamptz is null or (e.occurred_at, e.id) < ($3, $4)) \
              order by e.occurred_at desc, e.id desc \
              limit $5",
            &[&org_id, &node_id, &at, &id, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                id: r.try_get(0)?,
                occurred_at: r.try_get(1)?,
                node_id: r.try_get(2)?,
                actor: r.try_get(3)?,
                action: r.try_get(4)?,
                table_name: r.try_get(5)?,
                row_id: r.try_get(6)?,
                reason: r.try_get(7)?,
                changes: r.try_get(8)?,
            })
        })
        .collect()
}
