//! `status-taxonomy`: every status column uses the one status enum
//! (DESIGN.md section 4: `entity_status`); tables may allow a subset with a
//! check constraint. Other value sets are shown side by side with a
//! proposed mapping onto the taxonomy.

use crate::catalog::{Catalog, Column, ConstraintKind, Table};
use crate::finding::{Finding, Rule, Severity, StatusSet};
use crate::rules::{Context, Output};
use crate::sql;

/// Common status words and the taxonomy value each most likely means.
const SYNONYMS: &[(&str, &str)] = &[
    ("new", "draft"),
    ("pending", "draft"),
    ("proposed", "draft"),
    ("requested", "draft"),
    ("submitted", "draft"),
    ("todo", "planning"),
    ("to_do", "planning"),
    ("backlog", "planning"),
    ("not_started", "planning"),
    ("planned", "planning"),
    ("scheduled", "planning"),
    ("queued", "planning"),
    ("upcoming", "planning"),
    ("on_hold", "planning"),
    ("paused", "planning"),
    ("in_progress", "active"),
    ("doing", "active"),
    ("started", "active"),
    ("open", "active"),
    ("ongoing", "active"),
    ("live", "active"),
    ("published", "active"),
    ("running", "active"),
    ("confirmed", "active"),
    ("approved", "active"),
    ("blocked", "active"),
    ("in_review", "review"),
    ("reviewing", "review"),
    ("under_review", "review"),
    ("awaiting_review", "review"),
    ("pending_review", "review"),
    ("done", "completed"),
    ("complete", "completed"),
    ("finished", "completed"),
    ("closed", "completed"),
    ("resolved", "completed"),
    ("delivered", "completed"),
    ("paid", "completed"),
    ("fulfilled", "completed"),
    ("canceled", "cancelled"),
    ("rejected", "cancelled"),
    ("declined", "cancelled"),
    ("void", "cancelled"),
    ("voided", "cancelled"),
    ("abandoned", "cancelled"),
    ("failed", "cancelled"),
    ("inactive", "archived"),
    ("retired", "archived"),
    ("expired", "archived"),
    ("deleted", "archived"),
    ("disabled", "archived"),
];

/// Types whose values can be cast through text.
const TEXT_TYPES: &[&str] = &["text", "varchar", "bpchar", "citext", "name"];

/// Whether a column is status-like: text or enum, named `status`/`*_status`, of an enum
/// named `*status*`, or a constrained `state`/`*_state` (a bare `state`
/// text column is as likely a postal state).
fn status_like(table: &Table, col: &Column, enum_name: Option<&str>) -> bool {
    // Status words are text or enum labels; a number (an HTTP response
    // status) or a flag is another kind of value.
    if !(col.is_enum() || TEXT_TYPES.contains(&col.base_type.as_str())) {
        return false;
    }
    let n = col.name.to_ascii_lowercase();
    if n == "status" || n.ends_with("_status") {
        return true;
    }
    if enum_name.is_some_and(|e| e.contains("status")) {
        return true;
    }
    (n == "state" || n.ends_with("_state"))
        && (col.is_enum() || !check_values(table, col).1.is_empty())
}

/// The status-like columns `--sample` reads: (quoted table, column).
pub fn sample_targets(catalog: &Catalog) -> Vec<(String, String)> {
    catalog
        .tables
        .iter()
        .flat_map(|t| {
            t.columns
                .iter()
                .filter(|c| {
                    status_like(
                        t,
                        c,
                        catalog.enums.get(&c.type_oid).map(|e| e.name.as_str()),
                    )
                })
                .map(|c| (t.sql_name(), c.name.clone()))
        })
        .collect()
}

/// Single-column check constraints on `col` and the string literals they
/// allow.
fn check_values(table: &Table, col: &Column) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut values = Vec::new();
    for c in &table.constraints {
        if c.kind == ConstraintKind::Check && c.columns == [col.num] {
            names.push(c.name.clone());
            for v in literals(&c.definition) {
                if !values.contains(&v) {
                    values.push(v);
                }
            }
        }
    }
    (names, values)
}

/// The string literals in a deparsed expression, in order.
pub(crate) fn literals(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut lit = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    lit.push('\'');
                } else {
                    break;
                }
            } else {
                lit.push(c);
            }
        }
        out.push(lit);
    }
    out
}

/// The taxonomy value proposed for `value` (config mapping first).
fn map_value(ctx: &Context<'_>, value: &str) -> Option<String> {
    let taxonomy = &ctx.config.status_values;
    if taxonomy.iter().any(|t| t == value) {
        return Some(value.to_owned());
    }
    let norm = value.to_ascii_lowercase().replace([' ', '-'], "_");
    if let Some(v) = ctx
        .config
        .status_mapping
        .get(value)
        .or(ctx.config.status_mapping.get(&norm))
    {
        return Some(v.clone());
    }
    if taxonomy.contains(&norm) {
        return Some(norm);
    }
    SYNONYMS
        .iter()
        .find(|(from, _)| *from == norm)
        .map(|(_, to)| (*to).to_owned())
        .filter(|to| taxonomy.contains(to))
}

/// Runs the rule.
pub fn check(ctx: &Context<'_>, out: &mut Output) {
    let wanted = ctx.config.status_enum.as_str();
    for table in &ctx.catalog.tables {
        for col in &table.columns {
            let enum_type = ctx.catalog.enums.get(&col.type_oid);
            if !status_like(table, col, enum_type.map(|e| e.name.as_str())) {
                continue;
            }
            let (check_names, checked) = check_values(table, col);
            let sampled = ctx
                .samples
                .get(&(table.sql_name(), col.name.clone()))
                .cloned()
                .unwrap_or_default();
            let (source, values) = match enum_type {
                Some(e) if e.name == wanted && !checked.is_empty() => ("check", checked.clone()),
                Some(e) => ("enum", e.labels.clone()),
                None if !checked.is_empty() => ("check", checked.clone()),
                None if !sampled.is_empty() => ("sample", sampled),
                None => ("none", Vec::new()),
            };
            let mapping: Vec<(String, String)> = values
                .iter()
                .filter(|v| !ctx.config.status_values.contains(v))
                .map(|v| {
                    (
                        v.clone(),
                        map_value(ctx, v).unwrap_or_else(|| "?".to_owned()),
                    )
                })
                .collect();
            out.status_sets.push(StatusSet {
                table: table.key_name(),
                column: col.name.clone(),
                type_sql: col.type_sql.clone(),
                source: source.to_owned(),
                values: values.clone(),
                mapping: mapping.clone(),
            });
            if enum_type.is_some_and(|e| e.name == wanted) {
                continue;
            }
            let outside: Vec<&str> = mapping.iter().map(|(v, _)| v.as_str()).collect();
            let problem = if values.is_empty() {
                format!(
                    "{}.{} ({}) is a status with no declared values (run with --sample to see the \
                     data's)",
                    table.name, col.name, col.type_sql
                )
            } else if outside.is_empty() {
                format!(
                    "{}.{} ({}) keeps taxonomy values ({}) in its own type instead of the shared \
                     {wanted} enum",
                    table.name,
                    col.name,
                    col.type_sql,
                    values.join(", ")
                )
            } else {
                format!(
                    "{}.{} ({}) allows {} outside the unified taxonomy ({}); proposed mapping: {}",
                    table.name,
                    col.name,
                    col.type_sql,
                    outside.join(", "),
                    ctx.config.status_values.join(", "),
                    mapping
                        .iter()
                        .map(|(a, b)| format!("{a} -> {b}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let fix = fix(ctx, table, col, &check_names, &values);
            out.findings.push(Finding {
                rule: Rule::StatusTaxonomy,
                severity: Severity::Warn,
                key: format!(
                    "{}:{}:{}",
                    Rule::StatusTaxonomy.id(),
                    table.key_name(),
                    col.name
                ),
                table: table.key_name(),
                columns: vec![col.name.clone()],
                constraint: check_names.first().cloned(),
                message: format!(
                    "{problem}. Every table's status should be one {wanted} enum, each table \
                     allowing its subset with a check constraint, so filters, roll-ups and \
                     transitions mean the same everywhere."
                ),
                fix,
            });
        }
    }
}

/// Converts the column to the shared enum with the proposed mapping, and
/// keeps the table's subset as a check constraint.
fn fix(
    ctx: &Context<'_>,
    table: &Table,
    col: &Column,
    checks: &[String],
    values: &[String],
) -> Option<String> {
    let wanted = &ctx.config.status_enum;
    let schema = ctx
        .catalog
        .enum_named(&table.schema, wanted)
        .map_or(table.schema.as_str(), |e| e.schema.as_str());
    let enum_sql = sql::qualified(schema, wanted);
    let t = table.sql_name();
    let c = sql::ident(&col.name);
    let mut fix = format!(
        "do $$ begin if to_regtype({}) is null then create type {enum_sql} as enum ({}); end if; end $$;\n",
        sql::literal(&enum_sql),
        sql::literal_list(&ctx.config.status_values)
    );
    for check in checks {
        fix += &format!("alter table {t} drop constraint {};\n", sql::ident(check));
    }
    let old_default = col
        .default
        .as_deref()
        .and_then(|d| literals(d).into_iter().next());
    if col.default.is_some() {
        fix += &format!("alter table {t} alter column {c} drop default;\n");
    }
    let mut branches = String::new();
    let mut unmapped = Vec::new();
    for v in values {
        match map_value(ctx, v) {
            Some(to) if &to != v => {
                branches += &format!(" when {} then {}", sql::literal(v), sql::literal(&to));
            }
            Some(_) => {}
            None => unmapped.push(v.as_str()),
        }
    }
    let case = if branches.is_empty() {
        format!("{c}::text")
    } else {
        format!("case {c}::text{branches} else {c}::text end")
    };
    if !unmapped.is_empty() {
        fix += &format!(
            "-- no proposal for {}: add a when branch before running on data that has them\n",
            sql::literal_list(&unmapped)
        );
    }
    fix +=
        &format!("alter table {t} alter column {c} type {enum_sql} using ({case})::{enum_sql};\n");
    if let Some(d) = old_default.and_then(|d| map_value(ctx, &d)) {
        fix += &format!(
            "alter table {t} alter column {c} set default {};\n",
            sql::literal(&d)
        );
    }
    let mut subset: Vec<String> = values.iter().filter_map(|v| map_value(ctx, v)).collect();
    subset.sort_by_key(|v| ctx.config.status_values.iter().position(|t| t == v));
    subset.dedup();
    if !subset.is_empty() && subset.len() < ctx.config.status_values.len() {
        fix += &format!(
            "alter table {t} add constraint {} check ({c} in ({}));\n",
            sql::ident(&sql::object_name(&[&table.name, &col.name], "check")),
            sql::literal_list(&subset)
        );
    }
    Some(fix.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_read_from_check_definitions() {
        let def =
            "CHECK ((status = ANY (ARRAY['todo'::text, 'in_progress'::text, 'it''s'::text])))";
        assert_eq!(literals(def), vec!["todo", "in_progress", "it's"]);
    }
}
