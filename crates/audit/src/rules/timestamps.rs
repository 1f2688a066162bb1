//! `timestamps`: `created_at timestamptz not null default now()`,
//! `updated_at` the same and kept by a trigger, `deleted_at timestamptz`;
//! never `timestamp` without time zone.

use crate::catalog::{Column, Table};
use crate::finding::{Allowed, Finding, Rule, Severity};
use crate::rules::{Context, Output};
use crate::sql;

/// Whether a table's primary key is also a cascading foreign key to a
/// table that has `column`: a 1:1 detail row is deleted (and attributed)
/// with its parent, so storing the column again would be a second copy
/// (docs/ARCHITECTURE.md, departures). Returns the parent's name.
fn inherits(ctx: &Context<'_>, table: &Table, column: &str) -> Option<String> {
    let pk = table.primary_key()?;
    let mut pk_cols = pk.columns.clone();
    pk_cols.sort_unstable();
    table.foreign_keys().find_map(|(c, f)| {
        let mut cols = c.columns.clone();
        cols.sort_unstable();
        let (parent, has) = match ctx.catalog.table(f.target) {
            Some(p) => (p.key_name(), p.column_named(column).is_some()),
            None => {
                let (name, columns) = ctx.catalog.external_tables.get(&f.target)?;
                (name.clone(), columns.iter().any(|c| c == column))
            }
        };
        (cols == pk_cols && f.on_delete == 'c' && has).then_some(parent)
    })
}

/// Append-only tables (see [`Table::append_only`]) are never updated or
/// soft-deleted: their rows are facts with a time, removed whole by
/// retention.
fn append_only_allowed(table: &Table, column: &str) -> Allowed {
    Allowed {
        rule: Rule::Timestamps,
        key: format!("{}:{}:{column}", Rule::Timestamps.id(), table.key_name()),
        table: table.key_name(),
        columns: vec![column.to_owned()],
        reason: format!(
            "append-only: row level security is forced and no policy allows update or delete, \
             so {column} could never be set"
        ),
    }
}

/// Whether a row-level before-update trigger keeps `updated_at`.
fn kept_by_trigger(table: &Table) -> bool {
    table.triggers.iter().any(|t| {
        t.is_before_update_row()
            && (t
                .function_source
                .to_ascii_lowercase()
                .contains("updated_at")
                || t.args.contains("updated_at"))
    })
}

/// The statements that create (when missing) a trigger function setting
/// `updated_at`, and the trigger on `table`.
fn trigger_fix(ctx: &Context<'_>, table: &Table) -> String {
    let mut fix = String::new();
    let function = match ctx.catalog.updated_at_functions.first() {
        Some(f) => f.clone(),
        None => {
            let f = sql::qualified(&table.schema, "set_updated_at");
            fix += &format!(
                "do $do$ begin if to_regprocedure({}) is null then \
                 create function {f}() returns trigger language plpgsql set search_path = '' as \
                 $fn$ begin new.updated_at := pg_catalog.now(); return new; end $fn$; end if; end $do$;\n",
                sql::literal(&format!("{f}()"))
            );
            f
        }
    };
    let mut name = sql::object_name(&[&table.name], "set_updated_at");
    let mut n = 1;
    while table.has_object_named(&name) {
        name = sql::object_name(&[&table.name], &format!("set_updated_at{n}"));
        n += 1;
    }
    fix += &format!(
        "create trigger {} before update on {} for each row execute function {function}();",
        sql::ident(&name),
        table.sql_name()
    );
    fix
}

fn timestamp_type_fix(table: &Table, col: &Column) -> String {
    let c = sql::ident(&col.name);
    format!(
        "alter table {} alter column {c} type timestamptz using {c} at time zone 'UTC';",
        table.sql_name()
    )
}

fn push(out: &mut Output, table: &Table, column: &str, problems: &[String], fix: &[String]) {
    out.findings.push(Finding {
        rule: Rule::Timestamps,
        severity: Severity::Warn,
        key: format!("{}:{}:{}", Rule::Timestamps.id(), table.key_name(), column),
        table: table.key_name(),
        columns: vec![column.to_owned()],
        constraint: None,
        message: format!(
            "{}.{} {}. Every row records when it was created, last changed and soft-deleted, in \
             timestamptz.",
            table.name,
            column,
            problems.join("; ")
        ),
        fix: Some(fix.join("\n")),
    });
}

/// Runs the rule.
pub fn check(ctx: &Context<'_>, out: &mut Output) {
    const UTC_NOTE: &str = "is timestamp without time zone (the fix reads stored values as UTC; \
                            use their real zone if they were local times)";
    for table in &ctx.catalog.tables {
        let t = table.sql_name();
        for name in ["created_at", "updated_at"] {
            let mut problems = Vec::new();
            let mut fix = Vec::new();
            match table.column_named(name) {
                None if name == "updated_at" && table.append_only() => {
                    out.allowed.push(append_only_allowed(table, name));
                }
                None => {
                    problems.push("is missing".to_owned());
                    fix.push(format!(
                        "alter table {t} add column {name} timestamptz not null default now();"
                    ));
                    if name == "updated_at" {
                        fix.push(trigger_fix(ctx, table));
                    }
                }
                Some(col) => {
                    if col.base_type == "timestamp" {
                        problems.push(UTC_NOTE.to_owned());
                        fix.push(timestamp_type_fix(table, col));
                    } else if col.base_type != "timestamptz" {
                        problems.push(format!("is {}, not timestamptz", col.type_sql));
                    }
                    if !col.not_null || col.default.is_none() {
                        problems.push("must be not null default now()".to_owned());
                        fix.push(format!(
                            "update {t} set {name} = now() where {name} is null;"
                        ));
                        fix.push(format!(
                            "alter table {t} alter column {name} set default now(), \
                             alter column {name} set not null;"
                        ));
                    }
                    if name == "updated_at" && !kept_by_trigger(table) {
                        problems.push("is not kept by a before update trigger".to_owned());
                        fix.push(trigger_fix(ctx, table));
                    }
                }
            }
            if !problems.is_empty() {
                push(out, table, name, &problems, &fix);
            }
        }
        match table.column_named("deleted_at") {
            None if table.append_only() => {
                out.allowed.push(append_only_allowed(table, "deleted_at"));
            }
            None => {
                if let Some(parent) = inherits(ctx, table, "deleted_at") {
                    out.allowed.push(Allowed {
                        rule: Rule::Timestamps,
                        key: format!("{}:{}:deleted_at", Rule::Timestamps.id(), table.key_name()),
                        table: table.key_name(),
                        columns: vec!["deleted_at".to_owned()],
                        reason: format!(
                            "its primary key is a cascading foreign key to {parent}: the row is \
                             soft-deleted with its parent, whose deleted_at it inherits"
                        ),
                    });
                } else {
                    push(
                        out,
                        table,
                        "deleted_at",
                        &["is missing (soft delete)".to_owned()],
                        &[format!(
                            "alter table {t} add column deleted_at timestamptz;"
                        )],
                    );
                }
            }
            Some(col) if col.base_type == "timestamp" => {
                push(
                    out,
                    table,
                    "deleted_at",
                    &[UTC_NOTE.to_owned()],
                    &[timestamp_type_fix(table, col)],
                );
            }
            Some(_) => {}
        }
        for col in &table.columns {
            if col.base_type == "timestamp"
                && !matches!(
                    col.name.as_str(),
                    "created_at" | "updated_at" | "deleted_at"
                )
            {
                push(
                    out,
                    table,
                    &col.name,
                    &[UTC_NOTE.to_owned()],
                    &[timestamp_type_fix(table, col)],
                );
            }
        }
    }
}
