//! The capability check every node route makes, and the audit of refusals.

use showtree_core::{Capability, Role};
use showtree_db::Conn;
use showtree_db::nodes::{self, Node};
use uuid::Uuid;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

/// The caller's role at `node`, which must carry `cap`: 404 when the caller
/// has no role there (it cannot read the node: no existence leak), 403
/// when it can read it but the role lacks the capability.
pub async fn require(tx: &Conn, node: &Node, cap: Capability) -> Result<Role, ApiError> {
    match showtree_db::grants::effective_role(tx, node.org_id, node.id).await? {
        None => Err(ApiError::NotFound),
        Some(role) if role.has(cap) => Ok(role),
        Some(role) => Err(ApiError::Forbidden(
            format!(
                "your role here ({}) does not allow {}",
                role_name(role),
                capability_name(cap)
            )
            .into(),
        )),
    }
}

/// A node named in a request body (a parent, a move target): one the
/// caller cannot read is reported as an invalid field, like one that does
/// not exist.
pub async fn find_referenced(tx: &Conn, id: Uuid, field: &str) -> Result<Node, ApiError> {
    match nodes::find(tx, id).await {
        Ok(node) => Ok(node),
        Err(showtree_db::DbError::NotFound) => Err(ApiError::invalid_field(field, "no such node")),
        Err(e) => Err(e.into()),
    }
}

/// The name of a role in messages.
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

fn capability_name(cap: Capability) -> &'static str {
    match cap {
        Capability::Read => "reading",
        Capability::Write => "changing work",
        Capability::Manage => "managing nodes",
        Capability::Finance => "money",
        Capability::Grant => "granting roles",
    }
}

/// Writes a refusal to the audit log (after the request's transaction
/// rolled back, in a transaction of its own): a 403 at the node it was
/// about; a 404 (nothing the caller may read) as a security event, since
/// naming the node's organization would say that it exists.
pub async fn audit_denial(
    state: &AppState,
    auth: &Auth,
    target: Option<(Uuid, Uuid)>,
    action: &str,
    error: Option<&ApiError>,
) {
    match error {
        Some(ApiError::Forbidden(reason)) => {
            state
                .record_denied(Some(auth.user_id()), target, action, reason)
                .await;
        }
        Some(ApiError::NotFound) => {
            state
                .record_denied(
                    Some(auth.user_id()),
                    None,
                    action,
                    "not found or not readable",
                )
                .await;
        }
        _ => {}
    }
}
