//! `user-ref-naming`: references to the users table under non-standard
//! names, and user-like columns with no foreign key at all.

use std::collections::HashSet;

use crate::catalog::{Column, ConstraintKind, Table, UsersTable};
use crate::finding::{Allowed, Finding, Rule, Severity};
use crate::rules::{Context, Output};
use crate::sql;

/// The standard name a user column's spelling most likely means, if any
/// of the configured ones fits: `author_id` -> `created_by`,
/// `user_id`/`owner`/`manager_id` -> `owner_id`, `assignee` -> `assigned_to`.
fn proposed_name<'c>(column: &str, standard: &'c [String]) -> Option<&'c str> {
    let n = column.to_ascii_lowercase();
    let guess = if n.contains("creat") || n.contains("author") {
        "created_by"
    } else if n.contains("updat") || n.contains("modif") || n.contains("edit") {
        "updated_by"
    } else if n.contains("delet") || n.contains("remov") {
        "deleted_by"
    } else if n.contains("assign") {
        "assigned_to"
    } else if n.contains("owner") || n.contains("manager") || n == "user_id" || n == "user" {
        "owner_id"
    } else {
        return None;
    };
    standard.iter().find(|s| *s == guess).map(String::as_str)
}

/// Whether a column's name says it holds a user.
fn user_like(name: &str, standard: &[String]) -> bool {
    let n = name.to_ascii_lowercase();
    standard.contains(&n)
        || n.ends_with("_by")
        || n.ends_with("_user_id")
        || n == "user_id"
        || n.starts_with("owner")
        || n.starts_with("manager")
}

/// The statements that rename `column` to `to` on `table`, carrying along
/// a constraint named after the old column by the `<table>_<col>_fkey` rule.
fn rename(table: &Table, column: &str, to: &str, constraint: Option<&str>) -> String {
    let mut fix = format!(
        "alter table {} rename column {} to {};",
        table.sql_name(),
        sql::ident(column),
        sql::ident(to)
    );
    if let Some(c) = constraint.filter(|c| *c == sql::object_name(&[&table.name, column], "fkey")) {
        fix += &format!(
            "\nalter table {} rename constraint {} to {};",
            table.sql_name(),
            sql::ident(c),
            sql::ident(&sql::object_name(&[&table.name, to], "fkey"))
        );
    }
    fix
}

/// Runs the rule.
pub fn check(ctx: &Context<'_>, out: &mut Output) {
    let standard = &ctx.config.user_ref_names;
    let users = ctx.catalog.users_tables.first();
    let mut taken = super::keys::taken_names(ctx);
    for table in &ctx.catalog.tables {
        if ctx.catalog.is_users_table(table.oid) {
            continue;
        }
        let mut in_fk: HashSet<i16> = HashSet::new();
        // Names this table's fixes rename columns to, so two fixes never
        // claim the same one.
        let mut claimed: HashSet<String> = HashSet::new();
        for (c, f) in table.foreign_keys() {
            in_fk.extend(c.columns.iter().copied());
            if !ctx.catalog.is_users_table(f.target) {
                continue;
            }
            for &num in &c.columns {
                let Some(col) = table.column(num) else {
                    continue;
                };
                if standard.contains(&col.name) {
                    continue;
                }
                let key = format!(
                    "{}:{}:{}",
                    Rule::UserRefNaming.id(),
                    table.key_name(),
                    col.name
                );
                let in_unique_key = table.constraints.iter().any(|u| {
                    matches!(u.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique)
                        && u.columns.contains(&num)
                }) || table
                    .indexes
                    .iter()
                    .any(|i| i.unique && i.key_columns.contains(&num));
                if ctx.config.user_subject_names.contains(&col.name) && in_unique_key {
                    out.allowed.push(Allowed {
                        rule: Rule::UserRefNaming,
                        key,
                        table: table.key_name(),
                        columns: vec![col.name.clone()],
                        reason: format!(
                            "{} is the user the row is about (part of a unique key), not an \
                             attribution of who created, changed or owns it",
                            col.name
                        ),
                    });
                    continue;
                }
                let proposal = proposed_name(&col.name, standard);
                let (fix, advice) = match proposal {
                    Some(to) if table.column_named(to).is_some() || claimed.contains(to) => (
                        None,
                        format!("{to} exists already: merge the two columns by hand."),
                    ),
                    Some(to) => {
                        claimed.insert(to.to_owned());
                        (
                            Some(rename(table, &col.name, to, Some(&c.name))),
                            format!("Proposed: rename it to {to}."),
                        )
                    }
                    None => (
                        None,
                        "No standard name fits: rename it to one of them, or add it to \
                         user_ref_names in the config if it is a role of its own."
                            .to_owned(),
                    ),
                };
                out.findings.push(Finding {
                    rule: Rule::UserRefNaming,
                    severity: Severity::Warn,
                    key,
                    table: table.key_name(),
                    columns: vec![col.name.clone()],
                    constraint: Some(c.name.clone()),
                    message: format!(
                        "{}.{} references {}.{} but is not one of the standard names ({}). {advice}",
                        table.name,
                        col.name,
                        f.target_schema,
                        f.target_name,
                        standard.join(", ")
                    ),
                    fix,
                });
            }
        }
        let Some(users) = users else { continue };
        for col in &table.columns {
            if in_fk.contains(&col.num)
                || !user_like(&col.name, standard)
                || col.base_type != users.key_type
            {
                continue;
            }
            let name = if standard.contains(&col.name) {
                Some(col.name.as_str())
            } else {
                proposed_name(&col.name, standard)
            };
            let name = name.filter(|n| {
                *n == col.name || (table.column_named(n).is_none() && !claimed.contains(*n))
            });
            if let Some(n) = name {
                claimed.insert(n.to_owned());
            }
            let fix = name.map(|n| add_user_fk(table, col, n, users, &mut taken));
            out.findings.push(Finding {
                rule: Rule::UserRefNaming,
                severity: Severity::Warn,
                key: format!(
                    "{}:{}:{}",
                    Rule::UserRefNaming.id(),
                    table.key_name(),
                    col.name
                ),
                table: table.key_name(),
                columns: vec![col.name.clone()],
                constraint: None,
                message: format!(
                    "{}.{} looks like a user reference but has no foreign key: it can point at a \
                     user who does not exist. {}",
                    table.name,
                    col.name,
                    match name {
                        Some(n) if n != col.name => format!(
                            "Proposed: rename it to {n} and reference {}.",
                            users.sql_name()
                        ),
                        Some(_) => format!("Proposed: reference {}.", users.sql_name()),
                        None => "No free standard name fits: rename it by hand.".to_owned(),
                    }
                ),
                fix,
            });
        }
    }
}

/// Rename (when needed), foreign key to the users table and its index.
fn add_user_fk(
    table: &Table,
    col: &Column,
    name: &str,
    users: &UsersTable,
    taken: &mut HashSet<(String, String)>,
) -> String {
    let mut fix = String::new();
    if name != col.name {
        fix += &rename(table, &col.name, name, None);
        fix.push('\n');
    }
    let on_delete = if col.not_null { "restrict" } else { "set null" };
    fix += &format!(
        "alter table {t} add constraint {c} foreign key ({n}) references {u} ({k}) on delete {on_delete};\n\
         create index if not exists {i} on {t} ({n});",
        t = table.sql_name(),
        c = sql::ident(&sql::object_name(&[&table.name, name], "fkey")),
        n = sql::ident(name),
        u = users.sql_name(),
        k = sql::ident(&users.key_column),
        i = sql::ident(&super::keys::fresh_index_name(
            taken,
            &table.schema,
            &table.name,
            &[name.to_owned()]
        )),
    );
    fix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard() -> Vec<String> {
        crate::config::Config::default().user_ref_names
    }

    #[test]
    fn spellings_map_to_the_standard_names() {
        let s = standard();
        assert_eq!(proposed_name("user_id", &s), Some("owner_id"));
        assert_eq!(proposed_name("manager_id", &s), Some("owner_id"));
        assert_eq!(proposed_name("owner", &s), Some("owner_id"));
        assert_eq!(proposed_name("author_id", &s), Some("created_by"));
        assert_eq!(proposed_name("assignee_id", &s), Some("assigned_to"));
        assert_eq!(proposed_name("approved_by", &s), None);
    }

    #[test]
    fn user_like_names() {
        let s = standard();
        for n in [
            "created_by",
            "approved_by",
            "owner",
            "manager_id",
            "reviewer_user_id",
            "user_id",
        ] {
            assert!(user_like(n, &s), "{n}");
        }
        for n in ["org_id", "name", "node_id"] {
            assert!(!user_like(n, &s), "{n}");
        }
    }
}
