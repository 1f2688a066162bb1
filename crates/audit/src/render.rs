//! The reporters: text for people, JSON for machines, SARIF 2.1.0 for
//! code scanning.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::finding::{Finding, Rule, Severity};
use crate::report::{Report, percent};

/// `1536` as `1.5 kB`.
fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn pct(part: usize, whole: usize) -> String {
    format!("{:.0}% ({part} of {whole})", percent(part, whole))
}

fn hit(r: Option<f64>) -> String {
    r.map_or_else(
        || "n/a (nothing read yet)".to_owned(),
        |r| format!("{:.2}%", r * 100.0),
    )
}

fn finding_text(out: &mut String, f: &Finding, reason: Option<&str>) {
    let _ = writeln!(out, "  [{}] {}", f.severity.as_str(), f.key);
    let mut place = format!("    table {}", f.table);
    if !f.columns.is_empty() {
        place += &format!(", columns {}", f.columns.join(", "));
    }
    if let Some(c) = &f.constraint {
        place += &format!(", {c}");
    }
    let _ = writeln!(out, "{place}");
    let _ = writeln!(out, "    {}", f.message);
    if let Some(reason) = reason {
        let _ = writeln!(out, "    silenced: {reason}");
    }
    match &f.fix {
        Some(fix) => {
            let _ = writeln!(out, "    fix:");
            for line in fix.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
        None => {
            let _ = writeln!(out, "    fix: none proposed (see above)");
        }
    }
}

/// The report for a terminal: grouped by rule, worst first.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "showtree audit of {} (PostgreSQL {}), schemas: {}",
        r.database,
        r.server_version,
        if r.schemas.is_empty() {
            "(none)".to_owned()
        } else {
            r.schemas.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "read-only: everything was read in one `begin transaction read only`; nothing was written{}.\n",
        if r.sampled {
            " (--sample read status values from the data)"
        } else {
            ""
        }
    );
    let mut current: Option<Rule> = None;
    for f in &r.findings {
        if current != Some(f.rule) {
            let n = r.findings.iter().filter(|g| g.rule == f.rule).count();
            let _ = writeln!(out, "{} ({n}): {}", f.rule.id(), f.rule.summary());
            current = Some(f.rule);
        }
        finding_text(&mut out, f, None);
        out.push('\n');
    }
    if r.findings.is_empty() {
        let _ = writeln!(out, "no findings.\n");
    }
    if !r.status_sets.is_empty() {
        let _ = writeln!(out, "status value sets, side by side:");
        let rows: Vec<[String; 4]> = r
            .status_sets
            .iter()
            .map(|s| {
                [
                    format!("{}.{}", s.table, s.column),
                    s.type_sql.clone(),
                    format!("{}: {}", s.source, s.values.join(", ")),
                    s.mapping
                        .iter()
                        .map(|(a, b)| format!("{a} -> {b}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ]
            })
            .collect();
        let w: Vec<usize> = (0..3)
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        for row in &rows {
            let line = format!(
                "  {:<w0$}  {:<w1$}  {:<w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2]
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out.push('\n');
    }
    if !r.allowed.is_empty() {
        let _ = writeln!(out, "allowed (checked and accepted, not findings):");
        for a in &r.allowed {
            let _ = writeln!(out, "  [info] {}: {}", a.key, a.reason);
        }
        out.push('\n');
    }
    if !r.silenced.is_empty() {
        let _ = writeln!(out, "silenced by the config file:");
        for s in &r.silenced {
            finding_text(&mut out, &s.finding, Some(&s.reason));
        }
        out.push('\n');
    }
    if !r.unused_ignores.is_empty() {
        let _ = writeln!(out, "config ignores that matched no finding (remove them):");
        for k in &r.unused_ignores {
            let _ = writeln!(out, "  {k}");
        }
        out.push('\n');
    }
    let s = &r.summary;
    let _ = writeln!(out, "summary");
    let _ = writeln!(
        out,
        "  audited: {} tables, {} foreign keys, {} indexes",
        s.tables, s.foreign_keys, s.indexes
    );
    let _ = writeln!(
        out,
        "  findings: {} error, {} warn ({} silenced)",
        s.errors, s.warnings, s.silenced
    );
    let _ = writeln!(
        out,
        "  redundant foreign keys: {} ({} tenant keys allowed)",
        s.redundant_foreign_keys, s.allowed_tenant_keys
    );
    let _ = writeln!(
        out,
        "  naming consistency: {} user, status and json columns",
        pct(s.naming_consistent, s.naming_checked)
    );
    let _ = writeln!(
        out,
        "  tables with an index on every foreign key: {}",
        pct(s.tables_fully_indexed, s.tables_with_foreign_keys)
    );
    let _ = writeln!(
        out,
        "  relationships with a stated delete rule: {}",
        pct(s.stated_delete_rules, s.foreign_keys)
    );
    let _ = writeln!(
        out,
        "  tenant tables with RLS enabled, forced and policies: {}",
        pct(s.tenant_tables_with_rls, s.tenant_tables)
    );
    let _ = writeln!(
        out,
        "  cache hit ratio: indexes {}, tables {}",
        hit(s.index_hit_ratio),
        hit(s.table_hit_ratio)
    );
    let _ = writeln!(
        out,
        "  size: tables {}, indexes {}, database {}",
        bytes(s.table_bytes),
        bytes(s.index_bytes),
        bytes(s.database_bytes)
    );
    if s.largest_tables.iter().any(|(_, t, i)| t + i > 0) {
        let largest: Vec<String> = s
            .largest_tables
            .iter()
            .map(|(n, t, i)| format!("{n} {} + {} indexes", bytes(*t), bytes(*i)))
            .collect();
        let _ = writeln!(out, "  largest: {}", largest.join("; "));
    }
    out
}

/// The report as pretty JSON.
pub fn json(r: &Report) -> String {
    // A Report holds only strings, numbers and lists: serializing cannot fail.
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warn => "warning",
        Severity::Info => "note",
    }
}

fn default_level(rule: Rule) -> Severity {
    match rule {
        Rule::RedundantHierarchyFk | Rule::NoPrimaryKey | Rule::RlsMissing | Rule::MoneyType => {
            Severity::Error
        }
        _ => Severity::Warn,
    }
}

fn sarif_result(r: &Report, f: &Finding, suppression: Option<&str>) -> Value {
    let index = Rule::ALL.iter().position(|x| *x == f.rule).unwrap_or(0);
    let mut result = json!({
        "ruleId": f.rule.id(),
        "ruleIndex": index,
        "level": level(f.severity),
        "message": { "text": f.message },
        "locations": [{
            "logicalLocations": [{
                "name": f.table.rsplit('.').next().unwrap_or(&f.table),
                "fullyQualifiedName": format!("{}.{}", r.database, f.table),
                "kind": "table"
            }]
        }],
        "partialFingerprints": { "showtreeAuditKey/v1": f.key },
        "properties": {
            "key": f.key,
            "table": f.table,
            "columns": f.columns,
            "constraint": f.constraint,
            "fix": f.fix
        }
    });
    if let Some(reason) = suppression {
        result["suppressions"] = json!([{ "kind": "external", "justification": reason }]);
    }
    result
}

/// The report as a SARIF 2.1.0 log (silenced findings carry an external
/// suppression with the config's reason).
pub fn sarif(r: &Report) -> String {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id(),
                "name": rule.id(),
                "shortDescription": { "text": rule.summary() },
                "fullDescription": { "text": rule.rationale() },
                "help": { "text": format!("{} See docs/AUDIT.md.", rule.rationale()) },
                "defaultConfiguration": { "level": level(default_level(*rule)) }
            })
        })
        .collect();
    let mut results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| sarif_result(r, f, None))
        .collect();
    results.extend(
        r.silenced
            .iter()
            .map(|s| sarif_result(r, &s.finding, Some(&s.reason))),
    );
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "showtree-audit",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules
                }
            },
            "invocations": [{
                "executionSuccessful": true,
                "properties": {
                    "database": r.database,
                    "serverVersion": r.server_version,
                    "schemas": r.schemas,
                    "readOnly": r.read_only
                }
            }],
            "results": results,
            "properties": { "summary": r.summary }
        }]
    });
    serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 kB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MB");
    }
}
