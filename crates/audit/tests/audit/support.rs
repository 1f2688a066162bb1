//! Fixture databases and audit runs.

use showtree_audit::{Config, Options, Report, Rule};
use showtree_db::testing::{self, TestDb};

/// The old flat layout: every problem at least once.
pub const FLAT: &str = include_str!("../fixtures/flat.sql");
/// The same data laid out by the conventions: nothing to find.
pub const CLEAN: &str = include_str!("../fixtures/clean.sql");

/// A fresh database holding `sql`.
pub async fn fixture(sql: &str) -> TestDb {
    let db = testing::empty_db().await;
    db.client()
        .await
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("loading fixture: {e}"));
    db
}

/// Audits `db` with the default schemas and config.
pub async fn audit(db: &TestDb) -> Report {
    audit_with(db, &Options::default(), &Config::default()).await
}

/// Audits `db` with these options and config.
pub async fn audit_with(db: &TestDb, opts: &Options, config: &Config) -> Report {
    let mut client = showtree_audit::connect(db.url()).await.expect("connect");
    showtree_audit::audit(&mut client, opts, config)
        .await
        .unwrap_or_else(|e| panic!("audit: {e}"))
}

/// The keys of one rule's findings, sorted.
pub fn keys(report: &Report, rule: Rule) -> Vec<String> {
    let mut k: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.key.clone())
        .collect();
    k.sort();
    k
}

/// The keys of one rule's allowed items, sorted.
pub fn allowed(report: &Report, rule: Rule) -> Vec<String> {
    let mut k: Vec<String> = report
        .allowed
        .iter()
        .filter(|a| a.rule == rule)
        .map(|a| a.key.clone())
        .collect();
    k.sort();
    k
}
