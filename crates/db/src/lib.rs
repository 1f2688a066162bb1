//! showtree's database layer: connection pool, the embedded PostgreSQL
//! launcher, the migration runner, and one module per feature.

pub mod catalog;
pub mod connect;
pub mod embedded;
pub mod error;
pub mod example;
pub mod migrate;
pub mod nodes;
pub mod testing;

pub use error::DbError;
