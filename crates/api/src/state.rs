//! What every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use showtree_db::pool::{Caller, Db};
use uuid::Uuid;

use crate::auth::jwt::Jwt;
use crate::auth::password::Passwords;
use crate::auth::ratelimit::LoginLimiter;

/// The shared state, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
#[derive(Debug)]
pub struct Shared {
    /// The connection pool (as `authenticator`).
    pub db: Db,
    /// Access token keys.
    pub jwt: Jwt,
    /// Password hashing.
    pub passwords: Passwords,
    /// Login rate limits.
    pub limiter: Arc<LoginLimiter>,
    /// Whether `POST /v1/auth/signup` is open.
    pub public_signup: bool,
}

impl AppState {
    /// Wraps the shared parts.
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }

    /// Writes a refused attempt to the audit log, in a transaction of its
    /// own: at the node when there is one, else as a security event. A
    /// failure to record is logged and never fails the request.
    pub async fn record_denied(
        &self,
        actor: Option<Uuid>,
        node: Option<(Uuid, Uuid)>,
        action: &str,
        reason: &str,
    ) {
        tracing::info!(actor = ?actor, action, reason, "request denied");
        match (actor, node) {
            (Some(actor), Some((org_id, node_id))) => {
                showtree_db::audit_log::record_denied(
                    &self.db,
                    &Caller::user(actor),
                    org_id,
                    node_id,
                    action,
                    reason,
                )
                .await;
            }
            _ => {
                showtree_db::audit_log::record_security(&self.db, action, reason, actor, None).await
            }
        }
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
