//! showtree-db's integration tests, one module per feature, linked into one binary.

mod access;
mod domain;
mod embedded;
mod hierarchy;
mod migrations;
mod plans;
mod pool;
mod rollups;
