//! End-to-end tests of the HTTP API: the real server on port 0 against a
//! real PostgreSQL, one database per test.

mod access;
mod auth;
mod conditional;
mod connections;
mod db_down;
mod domain;
mod errors;
mod health;
mod helpers;
mod idempotency;
mod nodes;
mod openapi;
mod rollups;
