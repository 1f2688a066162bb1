//! The result of one audit: findings (worst first), what was accepted or
//! silenced, the status value sets, and the summary block.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::finding::{Allowed, Finding, Rule, Severity, Silenced, StatusSet};
use crate::rules::{self, Context};

/// One audit's result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `showtree-audit` and its version.
    pub tool: String,
    /// The database audited.
    pub database: String,
    /// Its server version.
    pub server_version: String,
    /// The schemas audited.
    pub schemas: Vec<String>,
    /// Always true: the catalog is read in one read-only transaction.
    pub read_only: bool,
    /// Whether `--sample` read status values from the data.
    pub sampled: bool,
    /// Problems not silenced, worst first, grouped by rule.
    pub findings: Vec<Finding>,
    /// Accepted on purpose (not findings).
    pub allowed: Vec<Allowed>,
    /// Silenced by the config file, with its reasons.
    pub silenced: Vec<Silenced>,
    /// Config ignores that matched no finding (stale).
    pub unused_ignores: Vec<String>,
    /// Status-like columns and their values, side by side.
    pub status_sets: Vec<StatusSet>,
    /// The summary block.
    pub summary: Summary,
}

/// The health metrics of STRATEGY.md's success criteria, plus sizes and
/// cache hit ratios from the statistics views.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Tables audited.
    pub tables: usize,
    /// Foreign keys.
    pub foreign_keys: usize,
    /// Indexes.
    pub indexes: usize,
    /// Findings by severity (not silenced).
    pub errors: usize,
    /// Warnings (not silenced).
    pub warnings: usize,
    /// Silenced findings.
    pub silenced: usize,
    /// `redundant-hierarchy-fk` findings.
    pub redundant_foreign_keys: usize,
    /// Derivable tenant keys accepted because composite keys check them.
    pub allowed_tenant_keys: usize,
    /// User, status and json columns checked for naming.
    pub naming_checked: usize,
    /// Of which follow the conventions.
    pub naming_consistent: usize,
    /// Tables with at least one foreign key.
    pub tables_with_foreign_keys: usize,
    /// Of which have an index on every foreign key.
    pub tables_fully_indexed: usize,
    /// Foreign keys with a stated delete rule.
    pub stated_delete_rules: usize,
    /// Tables holding tenant data.
    pub tenant_tables: usize,
    /// Of which have RLS enabled, forced and policies.
    pub tenant_tables_with_rls: usize,
    /// Index blocks hit / (hit + read), when anything was read.
    pub index_hit_ratio: Option<f64>,
    /// Heap blocks hit / (hit + read), when anything was read.
    pub table_hit_ratio: Option<f64>,
    /// Heap bytes of the audited tables.
    pub table_bytes: i64,
    /// Index bytes of the audited tables.
    pub index_bytes: i64,
    /// The whole database's bytes.
    pub database_bytes: i64,
    /// The largest tables: (name, table bytes, index bytes).
    pub largest_tables: Vec<(String, i64, i64)>,
}

/// A percentage, 100 when there is nothing to count.
pub fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        // Counts stay far below 2^52: the conversion is exact.
        part as f64 * 100.0 / whole as f64
    }
}

fn ratio(hit: i64, read: i64) -> Option<f64> {
    let total = hit + read;
    (total > 0).then(|| hit as f64 / total as f64)
}

impl Report {
    /// Runs the rules over `catalog` and applies the config's silences.
    pub fn build(
        catalog: &Catalog,
        config: &Config,
        samples: &HashMap<(String, String), Vec<String>>,
    ) -> Report {
        let ctx = Context {
            catalog,
            config,
            samples,
        };
        let out = rules::run_all(&ctx);
        let mut findings = Vec::new();
        let mut silenced = Vec::new();
        for f in out.findings.iter().cloned() {
            match config.ignored(&f.key) {
                Some(reason) => silenced.push(Silenced {
                    finding: f,
                    reason: reason.to_owned(),
                }),
                None => findings.push(f),
            }
        }
        let keys: HashSet<&str> = out.findings.iter().map(|f| f.key.as_str()).collect();
        let unused_ignores = config
            .ignore
            .iter()
            .filter(|i| !keys.contains(i.key.as_str()))
            .map(|i| i.key.clone())
            .collect();
        sort(&mut findings);
        let summary = summarize(&ctx, &out, &findings, silenced.len());
        Report {
            tool: format!("showtree-audit {}", env!("CARGO_PKG_VERSION")),
            database: catalog.database.clone(),
            server_version: catalog.server_version.clone(),
            schemas: catalog.schemas.clone(),
            read_only: true,
            sampled: !samples.is_empty(),
            findings,
            allowed: out.allowed,
            silenced,
            unused_ignores,
            status_sets: out.status_sets,
            summary,
        }
    }

    /// The worst severity among the findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Groups by rule, the rule with the worst finding first (then the
/// issue's order), and within a rule worst first, then by key.
fn sort(findings: &mut [Finding]) {
    let mut worst: HashMap<Rule, Severity> = HashMap::new();
    for f in findings.iter() {
        let w = worst.entry(f.rule).or_insert(f.severity);
        *w = (*w).max(f.severity);
    }
    findings.sort_by(|a, b| {
        worst[&b.rule]
            .cmp(&worst[&a.rule])
            .then(a.rule.cmp(&b.rule))
            .then(b.severity.cmp(&a.severity))
            .then(a.key.cmp(&b.key))
    });
}

fn summarize(
    ctx: &Context<'_>,
    out: &rules::Output,
    active: &[Finding],
    silenced: usize,
) -> Summary {
    let catalog = ctx.catalog;
    let count = |rule: Rule| active.iter().filter(|f| f.rule == rule).count();

    // Naming: every user reference (or user-like) column, json column and
    // status column is one item; a naming finding makes it inconsistent.
    let mut naming_items: HashSet<(String, String)> = HashSet::new();
    for t in &catalog.tables {
        for (c, f) in t.foreign_keys() {
            if catalog.is_users_table(f.target) {
                for name in t.column_names(&c.columns) {
                    naming_items.insert((t.key_name(), name));
                }
            }
        }
        for col in &t.columns {
            if matches!(col.base_type.as_str(), "json" | "jsonb") {
                naming_items.insert((t.key_name(), col.name.clone()));
            }
        }
    }
    for s in &out.status_sets {
        naming_items.insert((s.table.clone(), s.column.clone()));
    }
    let naming_rules = [
        Rule::UserRefNaming,
        Rule::MetadataNaming,
        Rule::StatusTaxonomy,
    ];
    for f in out
        .findings
        .iter()
        .filter(|f| naming_rules.contains(&f.rule))
    {
        for c in &f.columns {
            naming_items.insert((f.table.clone(), c.clone()));
        }
    }
    let inconsistent: HashSet<(String, String)> = active
        .iter()
        .filter(|f| naming_rules.contains(&f.rule))
        .flat_map(|f| f.columns.iter().map(|c| (f.table.clone(), c.clone())))
        .collect();

    let unindexed: HashSet<&str> = active
        .iter()
        .filter(|f| f.rule == Rule::FkUnindexed)
        .map(|f| f.table.as_str())
        .collect();
    let with_fks: Vec<String> = catalog
        .tables
        .iter()
        .filter(|t| t.foreign_keys().next().is_some())
        .map(|t| t.key_name())
        .collect();
    let fks: Vec<_> = catalog
        .tables
        .iter()
        .flat_map(|t| t.foreign_keys())
        .collect();
    let tenant = rules::rls::tenant_tables(ctx);
    let tenant_ok = catalog
        .tables
        .iter()
        .filter(|t| tenant.contains(&t.oid))
        .filter(|t| t.rls_enabled && t.rls_forced && !t.policies.is_empty())
        .count();
    let sum = |f: fn(&crate::catalog::TableStats) -> i64| -> i64 {
        catalog.tables.iter().map(|t| f(&t.stats)).sum()
    };
    let mut largest: Vec<(String, i64, i64)> = catalog
        .tables
        .iter()
        .map(|t| (t.key_name(), t.stats.table_bytes, t.stats.index_bytes))
        .collect();
    largest.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then(a.0.cmp(&b.0)));
    largest.truncate(5);

    Summary {
        tables: catalog.tables.len(),
        foreign_keys: fks.len(),
        indexes: catalog.tables.iter().map(|t| t.indexes.len()).sum(),
        errors: active
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count(),
        warnings: active
            .iter()
            .filter(|f| f.severity == Severity::Warn)
            .count(),
        silenced,
        redundant_foreign_keys: count(Rule::RedundantHierarchyFk),
        allowed_tenant_keys: out
            .allowed
            .iter()
            .filter(|a| a.rule == Rule::RedundantHierarchyFk)
            .count(),
        naming_checked: naming_items.len(),
        naming_consistent: naming_items.len() - inconsistent.len().min(naming_items.len()),
        tables_with_foreign_keys: with_fks.len(),
        tables_fully_indexed: with_fks
            .iter()
            .filter(|t| !unindexed.contains(t.as_str()))
            .count(),
        stated_delete_rules: fks.iter().filter(|(_, f)| f.on_delete != 'a').count(),
        tenant_tables: tenant.len(),
        tenant_tables_with_rls: tenant_ok,
        index_hit_ratio: ratio(sum(|s| s.idx_blks_hit), sum(|s| s.idx_blks_read)),
        table_hit_ratio: ratio(sum(|s| s.heap_blks_hit), sum(|s| s.heap_blks_read)),
        table_bytes: sum(|s| s.table_bytes),
        index_bytes: sum(|s| s.index_bytes),
        database_bytes: catalog.database_bytes,
        largest_tables: largest,
    }
}
