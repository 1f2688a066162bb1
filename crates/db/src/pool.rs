//! The service's connection pool and the only way to reach tenant data: a
//! transaction opened for a caller.
//!
//! Every transaction sets the caller's claims (`request.jwt.claims`, and
//! their `sub` as `request.jwt.claim.sub`) and `role authenticated` (the
//! PostgREST convention), pipelined with `begin`
//! and the transaction's first statement, so the context costs no round
//! trip of its own. The pool logs in as the
//! `authenticator` role, which holds no privilege of its own: without a
//! context it can read nothing.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{Client, Config, NoTls};

use crate::Conn;
use uuid::Uuid;

use crate::DbError;

/// How long opening or recycling a connection may take before the request
/// fails (fast, so a missing database becomes a 503, not a hang).
const POOL_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a request queues for a connection while every one is busy
/// before it is shed with a 503. Longer than `POOL_TIMEOUT`: a busy pool is
/// a queue draining at the database's pace (1,024 clients on 16
/// connections wait about 1,024 / throughput seconds), not a fault.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// Sets the caller's context for the current transaction only: the claims
/// as PostgREST sets them (`$1`), their `sub` alone as well (`$2`, empty
/// without a user: what `private.caller_id()` and `auth.uid()` read first,
/// so no policy parses the claims' JSON), and the role (`$3`).
pub const SET_CONTEXT: &str = "select set_config('request.jwt.claims', $1, true), \
     set_config('request.jwt.claim.sub', $2, true), set_config('role', $3, true)";

/// Who a transaction runs for.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user (the `sub` claim).
    pub user_id: Uuid,
    /// The claims as PostgREST would set them: at least `sub` and `role`.
    pub claims: serde_json::Value,
}

impl Caller {
    /// A signed-in user with the standard claims.
    pub fn user(user_id: Uuid) -> Caller {
        Caller {
            user_id,
            claims: serde_json::json!({ "sub": user_id, "role": "authenticated" }),
        }
    }
}

/// The pool of the service's connections.
#[derive(Debug, Clone)]
pub struct Db {
    pool: Pool,
}

impl Db {
    /// A pool for `app_url` (the service's own login role); connections
    /// open on first use.
    pub fn new(app_url: &str, max_size: usize) -> Result<Db, DbError> {
        let mut config =
            Config::from_str(app_url).map_err(|_| DbError::Invalid("unparsable database URL"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(POOL_TIMEOUT);
        }
        config.application_name("showtree");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // a connection handed back mid-transaction is never reused
                // (see TxGuard), so the cheap check is enough
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|_| DbError::Invalid("cannot build the connection pool"))?;
        Ok(Db { pool })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        let client = self.pool.get().await?;
        client.simple_query("select 1").await?;
        Ok(())
    }

    /// Whether every migration this binary knows is applied and unchanged.
    pub async fn migrations_current(&self) -> Result<bool, DbError> {
        let client = self.pool.get().await?;
        crate::migrate::Migrator::embedded()
            .is_current(&client)
            .await
            .map_err(|e| DbError::Unexpected(e.to_string()))
    }

    /// Runs `f` in one transaction for `caller`: committed when `f` returns
    /// `Ok`, rolled back otherwise (and when the future is dropped).
    pub async fn run_as<T, E>(
        &self,
        caller: &Caller,
        f: impl AsyncFnOnce(&Conn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let claims = caller.claims.to_string();
        self.run(&claims, &caller.user_id.to_string(), "authenticated", f)
            .await
    }

    /// Runs `f` in one transaction without a caller (`role anon`): signup,
    /// login and API token checks, which only call the functions granted to
    /// `anon`.
    pub async fn run_anonymous<T, E>(
        &self,
        f: impl AsyncFnOnce(&Conn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError>,
    {
        self.run("{\"role\":\"anon\"}", "", "anon", f).await
    }

    /// Runs `f` in one transaction as `authenticated` with no user: the
    /// service's own chores (folding roll-up deltas), which call only
    /// functions that tell no caller anything.
    pub async fn run_maintenance<T, E>(
        &self,
        f: impl AsyncFnOnce(&Conn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError>,
    {
        self.run("{\"role\":\"authenticated\"}", "", "authenticated", f)
            .await
    }

    async fn run<T, E>(
        &self,
        claims: &str,
        sub: &str,
        role: &str,
        f: impl AsyncFnOnce(&Conn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let object = self.pool.get().await.map_err(DbError::from)?;
        let mut guard = TxGuard {
            object: Some(object),
            open: true,
        };
        let Some(wrapper) = guard.object.as_deref() else {
            return Err(DbError::Unexpected("pooled connection missing".into()).into());
        };
        let client: &Client = wrapper;
        // Prepared once per connection, so later transactions skip the parse.
        let set_context = wrapper
            .prepare_cached(SET_CONTEXT)
            .await
            .map_err(DbError::from)?;
        // `begin`, the context and `f`'s first statement leave together,
        // before any answer arrives: the context costs no round trip of its
        // own. Polled in this order (biased), each enqueues its request on
        // its first poll, and the server runs them in that order: `f`'s
        // statements can only run inside the caller's context (a failed
        // context aborts the transaction, so they fail too; without `begin`
        // they would run as `authenticator`, which may touch nothing).
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&claims, &sub, &role];
        let (begin, context, result) = tokio::join!(
            biased;
            client.batch_execute("begin"),
            client.execute(&set_context, &params),
            f(wrapper),
        );
        begin.map_err(DbError::from)?;
        context.map_err(DbError::from)?;
        let end = if result.is_ok() { "commit" } else { "rollback" };
        client.batch_execute(end).await.map_err(DbError::from)?;
        guard.open = false;
        result
    }
}

/// Holds a pooled connection while its transaction is open. Dropped while
/// still open (an error, a panic, a cancelled request), it takes the
/// connection out of the pool instead of returning it: closing it ends the
/// transaction on the server, and nobody can inherit its context.
struct TxGuard {
    object: Option<Object>,
    open: bool,
}

impl Drop for TxGuard {
    fn drop(&mut self) {
        if self.open {
            if let Some(object) = self.object.take() {
                drop(Object::take(object));
            }
        }
    }
}
