//! `metadata-naming`: flexible data lives in `metadata jsonb not null
//! default '{}'` (and `settings jsonb` where something is configured),
//! always a JSON object; no `custom_fields`, `config`, `extra`, `data`, no
//! `json`.

use crate::catalog::{Column, ConstraintKind, Table};
use crate::finding::{Allowed, Finding, Rule, Severity};
use crate::rules::{Context, Output};
use crate::sql;

/// Whether a check constraint on the table requires `column` to be an object.
fn has_object_check(table: &Table, col: &Column) -> bool {
    table.constraints.iter().any(|c| {
        let def = c.definition.to_ascii_lowercase();
        c.kind == ConstraintKind::Check
            && c.columns.contains(&col.num)
            && def.contains(&format!("jsonb_typeof({})", sql::ident(&col.name)))
            && def.contains("'object'")
    })
}

/// The standard name a json column's data belongs under.
fn proposed_name<'c>(column: &str, names: &'c [String]) -> &'c str {
    let n = column.to_ascii_lowercase();
    let settings = ["config", "setting", "pref", "option"]
        .iter()
        .any(|w| n.contains(w));
    let guess = if settings { "settings" } else { "metadata" };
    names
        .iter()
        .find(|s| *s == guess)
        .or(names.first())
        .map_or("metadata", String::as_str)
}

/// A constraint name not yet used on the table.
fn fresh_constraint_name(table: &Table, column: &str) -> String {
    let mut name = sql::object_name(&[&table.name, column], "check");
    let mut n = 1;
    while table.has_object_named(&name) {
        name = sql::object_name(&[&table.name, column], &format!("check{n}"));
        n += 1;
    }
    name
}

/// Runs the rule.
pub fn check(ctx: &Context<'_>, out: &mut Output) {
    let names = &ctx.config.metadata_names;
    for table in &ctx.catalog.tables {
        for col in &table.columns {
            if !matches!(col.base_type.as_str(), "json" | "jsonb") {
                continue;
            }
            let t = table.sql_name();
            let mut problems = Vec::new();
            let mut fix = Vec::new();
            // An append-only log's json is the event itself (DESIGN.md
            // section 3: an audit event's changed columns as JSON), not
            // flexible data about an entity.
            let payload = !names.contains(&col.name) && table.append_only();
            if payload {
                out.allowed.push(Allowed {
                    rule: Rule::MetadataNaming,
                    key: format!(
                        "{}:{}:{}",
                        Rule::MetadataNaming.id(),
                        table.key_name(),
                        col.name
                    ),
                    table: table.key_name(),
                    columns: vec![col.name.clone()],
                    reason: format!(
                        "{} is the payload of an append-only table (row level security allows no \
                         update or delete): the event's own data, not flexible metadata",
                        col.name
                    ),
                });
            }
            let standard = payload || names.contains(&col.name);
            let is_json = col.base_type == "json";
            if !standard {
                let to = proposed_name(&col.name, names);
                problems.push(format!(
                    "is named {} (use {})",
                    col.name,
                    names.join(" or ")
                ));
                if table.column_named(to).is_some() {
                    // Merging keeps everything: the old column's value
                    // goes under its own name inside the standard column.
                    problems.push(format!(
                        "{to} exists: the data moves into it under the key {}",
                        col.name
                    ));
                    fix.push(format!(
                        "update {t} set {to} = coalesce({to}::jsonb, '{{}}'::jsonb) || \
                         jsonb_build_object({}, {c}::jsonb) where {c} is not null;",
                        sql::literal(&col.name),
                        to = sql::ident(to),
                        c = sql::ident(&col.name),
                    ));
                    fix.push(format!(
                        "alter table {t} drop column {};",
                        sql::ident(&col.name)
                    ));
                    push(out, table, col, &problems, fix);
                    continue;
                }
                fix.push(format!(
                    "alter table {t} rename column {} to {};",
                    sql::ident(&col.name),
                    sql::ident(to)
                ));
            }
            let name = if standard {
                col.name.clone()
            } else {
                proposed_name(&col.name, names).to_owned()
            };
            let c = sql::ident(&name);
            if is_json {
                problems.push(
                    "is json, not jsonb (json keeps duplicate keys, re-parses on every read, \
                     and has no equality or GIN indexing)"
                        .to_owned(),
                );
                fix.push(format!(
                    "alter table {t} alter column {c} type jsonb using {c}::jsonb;"
                ));
            }
            if name == "metadata" && (!col.not_null || col.default.is_none()) {
                problems.push("metadata must be not null default '{}'".to_owned());
                fix.push(format!("update {t} set {c} = '{{}}' where {c} is null;"));
                fix.push(format!(
                    "alter table {t} alter column {c} set default '{{}}', alter column {c} set not null;"
                ));
            }
            if !has_object_check(table, col) {
                problems.push("has no check that it holds a JSON object".to_owned());
                fix.push(format!(
                    "alter table {t} add constraint {} check (jsonb_typeof({c}) = 'object');",
                    sql::ident(&fresh_constraint_name(table, &name))
                ));
            }
            if !problems.is_empty() {
                push(out, table, col, &problems, fix);
            }
        }
    }
}

fn push(out: &mut Output, table: &Table, col: &Column, problems: &[String], fix: Vec<String>) {
    out.findings.push(Finding {
        rule: Rule::MetadataNaming,
        severity: Severity::Warn,
        key: format!(
            "{}:{}:{}",
            Rule::MetadataNaming.id(),
            table.key_name(),
            col.name
        ),
        table: table.key_name(),
        columns: vec![col.name.clone()],
        constraint: None,
        message: format!(
            "{}.{} ({}) {}. Flexible data has one home per table, metadata jsonb (settings jsonb \
             for configuration), always an object, so every client reads it the same way.",
            table.name,
            col.name,
            col.type_sql,
            problems.join("; ")
        ),
        fix: Some(fix.join("\n")),
    });
}
