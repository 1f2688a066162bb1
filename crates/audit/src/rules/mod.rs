//! The rules. Each reads the [`Catalog`] and appends to one [`Output`];
//! none touches the database.

pub mod hierarchy;
pub mod keys;
pub mod metadata;
pub mod money;
pub mod rls;
pub mod status;
pub mod timestamps;
pub mod users;

use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::finding::{Allowed, Finding, StatusSet};

/// What every rule reads.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// The conventions.
    pub config: &'a Config,
    /// Distinct values of status-like columns (`--sample`), by (quoted
    /// table name, column).
    pub samples: &'a HashMap<(String, String), Vec<String>>,
}

/// What the rules produce.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Problems.
    pub findings: Vec<Finding>,
    /// Things looked at and deliberately accepted.
    pub allowed: Vec<Allowed>,
    /// Every status-like column's value set.
    pub status_sets: Vec<StatusSet>,
}

/// Runs every rule.
pub fn run_all(ctx: &Context<'_>) -> Output {
    let mut out = Output::default();
    hierarchy::check(ctx, &mut out);
    users::check(ctx, &mut out);
    status::check(ctx, &mut out);
    metadata::check(ctx, &mut out);
    timestamps::check(ctx, &mut out);
    keys::delete_rules(ctx, &mut out);
    keys::unindexed(ctx, &mut out);
    keys::duplicates(ctx, &mut out);
    keys::primary_keys(ctx, &mut out);
    rls::check(ctx, &mut out);
    money::check(ctx, &mut out);
    out
}
