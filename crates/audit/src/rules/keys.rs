//! Keys and indexes: `fk-delete-rule`, `fk-unindexed`, `index-duplicate`,
//! `no-primary-key`.

use std::collections::HashSet;

use crate::catalog::{Constraint, ForeignKey, Index, Table};
use crate::finding::{Finding, Rule, Severity};
use crate::rules::{Context, Output};
use crate::sql;

/// The SQL words of a referential action letter (`confdeltype`).
fn action_words(letter: char) -> &'static str {
    match letter {
        'r' => "restrict",
        'c' => "cascade",
        'n' => "set null",
        'd' => "set default",
        _ => "no action",
    }
}

/// A foreign key's definition with `on_delete` as its delete rule; every
/// other property (match, update rule, deferrability) is kept.
pub(crate) fn fk_definition(
    table: &Table,
    c: &Constraint,
    f: &ForeignKey,
    on_delete: &str,
) -> String {
    let mut def = format!(
        "foreign key ({}) references {} ({})",
        sql::ident_list(&table.column_names(&c.columns)),
        sql::qualified(&f.target_schema, &f.target_name),
        sql::ident_list(&f.target_columns),
    );
    if f.match_type == 'f' {
        def += " match full";
    }
    def += &format!(" on delete {on_delete}");
    if f.on_update != 'a' {
        def += &format!(" on update {}", action_words(f.on_update));
    }
    if f.deferrable {
        def += " deferrable";
        if f.deferred {
            def += " initially deferred";
        }
    }
    def
}

/// `fk-delete-rule`: foreign keys on NO ACTION, with a proposed rule.
pub fn delete_rules(ctx: &Context<'_>, out: &mut Output) {
    for table in &ctx.catalog.tables {
        for (c, f) in table.foreign_keys() {
            if f.on_delete != 'a' {
                continue;
            }
            let nullable: Vec<String> = c
                .columns
                .iter()
                .filter_map(|&n| table.column(n))
                .filter(|col| !col.not_null)
                .map(|col| col.name.clone())
                .collect();
            let identifying = table
                .primary_key()
                .is_some_and(|pk| c.columns.iter().all(|n| pk.columns.contains(n)));
            let (rule, why) = if nullable.len() == c.columns.len() {
                (
                    "set null".to_owned(),
                    "the reference is optional (nullable)",
                )
            } else if !nullable.is_empty() {
                (
                    format!("set null ({})", sql::ident_list(&nullable)),
                    "the reference is optional; only its nullable columns are cleared",
                )
            } else if identifying {
                (
                    "cascade".to_owned(),
                    "the key is part of this table's primary key: the row belongs to its parent",
                )
            } else {
                (
                    "restrict".to_owned(),
                    "the reference is required; restrict keeps today's behaviour (use cascade if \
                     these rows are the parent's children)",
                )
            };
            let columns = table.column_names(&c.columns);
            out.findings.push(Finding {
                rule: Rule::FkDeleteRule,
                severity: Severity::Warn,
                key: format!("{}:{}:{}", Rule::FkDeleteRule.id(), table.key_name(), c.name),
                table: table.key_name(),
                columns,
                constraint: Some(c.name.clone()),
                message: format!(
                    "{} references {}.{} with no stated delete rule (NO ACTION; the catalog cannot \
                     tell a stated NO ACTION from the default). Proposed: on delete {rule}, because \
                     {why}.",
                    c.name, f.target_schema, f.target_name
                ),
                fix: Some(format!(
                    "alter table {t} drop constraint {n}, add constraint {n} {def};",
                    t = table.sql_name(),
                    n = sql::ident(&c.name),
                    def = fk_definition(table, c, f, &rule),
                )),
            });
        }
    }
}

/// Whether `index` can serve lookups by exactly these columns (its leading
/// key columns are the set `columns`, and it covers every row).
pub(crate) fn index_leads_with(index: &Index, columns: &[i16]) -> bool {
    if !index.valid
        || index.predicate.is_some()
        || !matches!(index.method.as_str(), "btree" | "hash")
    {
        return false;
    }
    if index.method == "hash" && columns.len() != 1 {
        return false;
    }
    let n = columns.len();
    if index.key_columns.len() < n {
        return false;
    }
    let lead: HashSet<i16> = index.key_columns[..n].iter().copied().collect();
    !lead.contains(&0) && lead == columns.iter().copied().collect()
}

/// Index names already taken in each schema, so generated names never collide.
pub(crate) fn taken_names(ctx: &Context<'_>) -> HashSet<(String, String)> {
    ctx.catalog
        .tables
        .iter()
        .flat_map(|t| {
            t.indexes
                .iter()
                .map(|i| (t.schema.clone(), i.name.clone()))
                .chain(std::iter::once((t.schema.clone(), t.name.clone())))
        })
        .collect()
}

/// A fresh index name in `schema`, recorded as taken.
pub(crate) fn fresh_index_name(
    taken: &mut HashSet<(String, String)>,
    schema: &str,
    table: &str,
    columns: &[String],
) -> String {
    let mut parts: Vec<&str> = vec![table];
    parts.extend(columns.iter().map(String::as_str));
    let mut name = sql::object_name(&parts, "idx");
    let mut n = 1;
    while taken.contains(&(schema.to_owned(), name.clone())) {
        name = sql::object_name(&parts, &format!("idx{n}"));
        n += 1;
    }
    taken.insert((schema.to_owned(), name.clone()));
    name
}

/// `fk-unindexed`: foreign keys no index leads with.
pub fn unindexed(ctx: &Context<'_>, out: &mut Output) {
    let mut taken = taken_names(ctx);
    for table in &ctx.catalog.tables {
        let mut seen: HashSet<Vec<i16>> = HashSet::new();
        for (c, _) in table.foreign_keys() {
            if table
                .indexes
                .iter()
                .any(|i| index_leads_with(i, &c.columns))
            {
                continue;
            }
            let columns = table.column_names(&c.columns);
            // Two keys on the same columns need one index; the second
            // finding reuses the first fix's name, so applying both is safe.
            let mut key_cols = c.columns.clone();
            key_cols.sort_unstable();
            let first = seen.insert(key_cols);
            let name = if first {
                fresh_index_name(&mut taken, &table.schema, &table.name, &columns)
            } else {
                sql::object_name(
                    &std::iter::once(table.name.as_str())
                        .chain(columns.iter().map(String::as_str))
                        .collect::<Vec<_>>(),
                    "idx",
                )
            };
            out.findings.push(Finding {
                rule: Rule::FkUnindexed,
                severity: Severity::Warn,
                key: format!("{}:{}:{}", Rule::FkUnindexed.id(), table.key_name(), c.name),
                table: table.key_name(),
                columns: columns.clone(),
                constraint: Some(c.name.clone()),
                message: format!(
                    "no index leads with ({}) for {}: every delete or key update of the parent \
                     scans {} (on a busy table, build it with create index concurrently).",
                    columns.join(", "),
                    c.name,
                    table.key_name()
                ),
                fix: Some(format!(
                    "create index if not exists {} on {} ({});",
                    sql::ident(&name),
                    table.sql_name(),
                    sql::ident_list(&columns)
                )),
            });
        }
    }
}

/// Whether two indexes have the same method, predicate, expressions, and
/// the same column, operator class, collation and ordering in the first `n`
/// key positions.
fn same_prefix(a: &Index, b: &Index, n: usize) -> bool {
    let first = |v: &[i16]| v.iter().take(n).copied().collect::<Vec<_>>();
    let first_oid = |v: &[u32]| v.iter().take(n).copied().collect::<Vec<_>>();
    a.method == b.method
        && a.predicate == b.predicate
        && a.expressions == b.expressions
        && a.key_columns.len() >= n
        && b.key_columns.len() >= n
        && first(&a.key_columns) == first(&b.key_columns)
        && first_oid(&a.opclasses) == first_oid(&b.opclasses)
        && first_oid(&a.collations) == first_oid(&b.collations)
        && first(&a.options) == first(&b.options)
}

/// `index-duplicate`: identical indexes and non-unique btree prefixes.
pub fn duplicates(ctx: &Context<'_>, out: &mut Output) {
    for table in &ctx.catalog.tables {
        let valid: Vec<&Index> = table.indexes.iter().filter(|i| i.valid).collect();
        let mut reported: HashSet<&str> = HashSet::new();
        for &a in &valid {
            for &b in &valid {
                if std::ptr::eq(a, b) || reported.contains(a.name.as_str()) {
                    continue;
                }
                let n = a.key_columns.len();
                let identical = n == b.key_columns.len()
                    && a.include_columns == b.include_columns
                    && same_prefix(a, b, n);
                // Of two identical indexes the one that enforces something
                // (constraint, uniqueness) stays; between equals, the first name.
                let keep_b = (b.constraint.is_some(), b.unique, std::cmp::Reverse(&b.name))
                    > (a.constraint.is_some(), a.unique, std::cmp::Reverse(&a.name));
                let prefix = !identical
                    && a.method == "btree"
                    && !a.unique
                    && a.include_columns.is_empty()
                    && a.expressions.is_none()
                    && n < b.key_columns.len()
                    && same_prefix(a, b, n);
                let (redundant, how) = if identical && keep_b {
                    (true, "identical to")
                } else if prefix {
                    (true, "a prefix of")
                } else {
                    (false, "")
                };
                if !redundant {
                    continue;
                }
                reported.insert(a.name.as_str());
                let fix = match &a.constraint {
                    Some(c) => format!(
                        "alter table {} drop constraint {};",
                        table.sql_name(),
                        sql::ident(c)
                    ),
                    None => format!("drop index {};", sql::qualified(&table.schema, &a.name)),
                };
                out.findings.push(Finding {
                    rule: Rule::IndexDuplicate,
                    severity: Severity::Warn,
                    key: format!(
                        "{}:{}:{}",
                        Rule::IndexDuplicate.id(),
                        table.key_name(),
                        a.name
                    ),
                    table: table.key_name(),
                    columns: table.column_names(&a.key_columns),
                    constraint: Some(a.name.clone()),
                    message: format!(
                        "{} is {how} {} (same method and predicate): every query it serves, {} \
                         serves; it only costs writes and memory ({} bytes, {} scans).",
                        a.name, b.name, b.name, a.bytes, a.scans
                    ),
                    fix: Some(fix),
                });
            }
        }
    }
}

/// `no-primary-key`.
pub fn primary_keys(ctx: &Context<'_>, out: &mut Output) {
    for table in &ctx.catalog.tables {
        if table.primary_key().is_some() {
            continue;
        }
        let pkey = sql::ident(&sql::object_name(&[&table.name], "pkey"));
        let tenant = table.column_named("org_id").is_some_and(|c| c.not_null);
        let (fix, columns) = match (table.column_named("id"), tenant) {
            (Some(_), true) => (
                format!(
                    "alter table {} add constraint {pkey} primary key (org_id, id);",
                    table.sql_name()
                ),
                vec!["org_id".to_owned(), "id".to_owned()],
            ),
            (Some(_), false) => (
                format!(
                    "alter table {} add constraint {pkey} primary key (id);",
                    table.sql_name()
                ),
                vec!["id".to_owned()],
            ),
            (None, _) => (
                format!(
                    "alter table {} add column id uuid not null default gen_random_uuid(), \
                     add constraint {pkey} primary key ({}id);",
                    table.sql_name(),
                    if tenant { "org_id, " } else { "" }
                ),
                vec!["id".to_owned()],
            ),
        };
        out.findings.push(Finding {
            rule: Rule::NoPrimaryKey,
            severity: Severity::Error,
            key: format!("{}:{}", Rule::NoPrimaryKey.id(), table.key_name()),
            table: table.key_name(),
            columns: columns.clone(),
            constraint: None,
            message: format!(
                "{} has no primary key: rows cannot be addressed one by one, logical replication \
                 cannot update or delete them, and duplicates go unnoticed. Proposed key: ({}).",
                table.key_name(),
                columns.join(", ")
            ),
            fix: Some(fix),
        });
    }
}
