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
