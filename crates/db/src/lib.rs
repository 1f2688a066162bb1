//! showtree's database layer: connection pool, the embedded PostgreSQL
//! launcher, the migration runner, and one module per feature.

pub mod audit_log;
pub mod auth;
pub mod catalog;
pub mod connect;
pub mod domain;
pub mod embedded;
pub mod error;
pub mod example;
pub mod grants;
pub mod idempotency;
pub mod me;
pub mod migrate;
pub mod nodes;
pub mod pool;
pub mod rollups;
pub mod sql;
pub mod testing;

pub use error::DbError;
pub use sql::{Conn, Sql};
