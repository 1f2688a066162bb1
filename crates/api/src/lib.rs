//! showtree's HTTP API: an axum service over the hierarchy and its access
//! rules (DESIGN.md section 5).
//!
//! [`App::build`] binds the configured address (port 0 in tests) and
//! [`App::run_until_stopped`] serves until SIGTERM/SIGINT. One router module
//! per resource lives under [`routes`]; every error leaves as
//! `application/problem+json` ([`error::ApiError`]).

pub mod auth;
pub mod collection;
pub mod config;
pub mod connection;
pub mod error;
pub mod etag;
pub mod extract;
pub mod idempotency;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod routes;
pub mod startup;
pub mod state;
pub mod wire;

pub use config::{Config, Secret};
pub use error::ApiError;
pub use startup::App;
