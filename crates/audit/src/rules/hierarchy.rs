//! `redundant-hierarchy-fk`: a table references A directly and also
//! through B, where B reaches A by a chain of not-null foreign keys, so its
//! column to A is a second copy of a fact it already holds.

use std::collections::{HashMap, HashSet, VecDeque};

use tokio_postgres::types::Oid;

use crate::catalog::{Constraint, ConstraintKind, Table};
use crate::finding::{Allowed, Finding, Rule, Severity};
use crate::rules::{Context, Output};
use crate::sql;

/// One not-null foreign key, as an edge of the reference graph.
#[derive(Debug, Clone, Copy)]
struct Edge<'a> {
    from: &'a Table,
    to: Oid,
    constraint: &'a Constraint,
}

/// The not-null foreign key edges out of each audited table. User
/// references are not hierarchy: two rows with the same owner say nothing
/// about each other.
fn graph<'a>(ctx: &Context<'a>) -> HashMap<Oid, Vec<Edge<'a>>> {
    let mut edges: HashMap<Oid, Vec<Edge<'a>>> = HashMap::new();
    for table in &ctx.catalog.tables {
        for (c, f) in table.foreign_keys() {
            if f.target == table.oid
                || ctx.catalog.is_users_table(f.target)
                || !table.all_not_null(&c.columns)
            {
                continue;
            }
            edges.entry(table.oid).or_default().push(Edge {
                from: table,
                to: f.target,
                constraint: c,
            });
        }
    }
    edges
}

/// The shortest chain of edges from `start` to `goal` that never passes
/// through `avoid`.
fn path<'a>(
    edges: &HashMap<Oid, Vec<Edge<'a>>>,
    start: Oid,
    goal: Oid,
    avoid: Oid,
) -> Option<Vec<Edge<'a>>> {
    let mut came_from: HashMap<Oid, Edge<'a>> = HashMap::new();
    let mut seen: HashSet<Oid> = HashSet::from([start, avoid]);
    let mut queue = VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for edge in edges.get(&at).into_iter().flatten() {
            if edge.to == goal {
                let mut chain = vec![*edge];
                let mut cur = at;
                while cur != start {
                    let prev = came_from[&cur];
                    chain.push(prev);
                    cur = prev.from.oid;
                }
                chain.reverse();
                return Some(chain);
            }
            if seen.insert(edge.to) {
                came_from.insert(edge.to, *edge);
                queue.push_back(edge.to);
            }
        }
    }
    None
}

/// (column name, referenced column name) pairs of a foreign key.
fn pairs(table: &Table, c: &Constraint) -> Vec<(String, String)> {
    let targets = c
        .foreign
        .as_ref()
        .map(|f| f.target_columns.clone())
        .unwrap_or_default();
    let mut p: Vec<(String, String)> = table
        .column_names(&c.columns)
        .into_iter()
        .zip(targets)
        .collect();
    p.sort();
    p
}

/// Runs the rule.
pub fn check(ctx: &Context<'_>, out: &mut Output) {
    let edges = graph(ctx);
    for table in &ctx.catalog.tables {
        let fks: Vec<_> = table.foreign_keys().collect();
        let mut done: HashSet<&str> = HashSet::new();
        for &(direct, direct_fk) in &fks {
            if direct_fk.target == table.oid || ctx.catalog.is_users_table(direct_fk.target) {
                continue;
            }
            for edge in edges.get(&table.oid).into_iter().flatten() {
                let via = edge.constraint;
                if std::ptr::eq(via, direct)
                    || edge.to == direct_fk.target
                    || done.contains(direct.name.as_str())
                {
                    continue;
                }
                let Some(mut chain) = path(&edges, edge.to, direct_fk.target, table.oid) else {
                    continue;
                };
                // Derivable only if the chain ends in the same columns
                // referencing the same key: production.workspace_id for
                // asset.workspace_id. Different names are different facts
                // (a comment's author is not its task's assignee).
                let Some(last) = chain.last() else { continue };
                if pairs(last.from, last.constraint) != pairs(table, direct) {
                    continue;
                }
                chain.insert(0, *edge);
                done.insert(direct.name.as_str());
                report(table, direct, &chain, out);
            }
        }
    }
}

/// The check constraint of `table` making the foreign key `fk` always point
/// at its tenant's root: every column of the key equal to another column of
/// the key (`check (node_id = org_id)`).
fn pinned_to_tenant(table: &Table, fk: &Constraint) -> Option<String> {
    let names = table.column_names(&fk.columns);
    table
        .constraints
        .iter()
        .filter(|c| c.kind == ConstraintKind::Check)
        .find(|c| {
            let def: String = c
                .definition
                .trim_start_matches("CHECK")
                .chars()
                .filter(|ch| !ch.is_whitespace() && *ch != '(' && *ch != ')')
                .collect();
            let Some((a, b)) = def.split_once('=') else {
                return false;
            };
            a != b && names.iter().any(|n| n == a) && names.iter().any(|n| n == b)
        })
        .map(|c| c.name.clone())
}

fn describe(chain: &[Edge<'_>], catalog_table: impl Fn(Oid) -> String) -> String {
    let mut text = String::new();
    for (i, e) in chain.iter().enumerate() {
        let cols = e.from.column_names(&e.constraint.columns).join(", ");
        if i == 0 {
            text += &format!("{}.({cols})", e.from.name);
        } else {
            text += &format!(".({cols})");
        }
        if i + 1 < chain.len() {
            text += &format!(" -> {}", chain[i + 1].from.name);
        } else {
            text += &format!(" -> {}", catalog_table(e.to));
        }
    }
    text
}

fn report(table: &Table, direct: &Constraint, chain: &[Edge<'_>], out: &mut Output) {
    let Some(direct_fk) = direct.foreign.as_ref() else {
        return;
    };
    let via = chain[0].constraint;
    let target_name = format!("{}.{}", direct_fk.target_schema, direct_fk.target_name);
    let route = describe(chain, |_| target_name.clone());
    let columns = table.column_names(&direct.columns);
    let key = format!(
        "{}:{}:{}",
        Rule::RedundantHierarchyFk.id(),
        table.key_name(),
        direct.name
    );

    // A tenant key shared with the composite key it is derived through is
    // one column checked by both keys: it cannot disagree.
    if direct.columns.iter().all(|c| via.columns.contains(c)) {
        out.allowed.push(Allowed {
            rule: Rule::RedundantHierarchyFk,
            key,
            table: table.key_name(),
            columns: columns.clone(),
            reason: format!(
                "({}) also lies on the chain {route}, and is part of the composite key {}: both \
                 keys check the same column, so it cannot disagree (a tenant/partition key)",
                columns.join(", "),
                via.name
            ),
        });
        return;
    }

    // Reference data pinned to its tenant's root (`check (node_id =
    // org_id)` on vendors): the chain only ever arrives at the tenant key
    // itself, so the direct column, which names a node of the hierarchy,
    // holds a different fact (where an invoice is booked is not where its
    // vendor is listed).
    let last = chain[chain.len() - 1];
    if let Some(pin) = pinned_to_tenant(last.from, last.constraint) {
        out.allowed.push(Allowed {
            rule: Rule::RedundantHierarchyFk,
            key,
            table: table.key_name(),
            columns: columns.clone(),
            reason: format!(
                "the chain {route} ends at {}, which {} pins to the tenant key: it derives only \
                 the tenant's root, not the node ({}) names",
                last.from.name,
                pin,
                columns.join(", ")
            ),
        });
        return;
    }

    let droppable: Vec<i16> = direct
        .columns
        .iter()
        .copied()
        .filter(|c| !via.columns.contains(c))
        .collect();
    let droppable_names = table.column_names(&droppable);
    let still_used: Vec<&str> = table
        .constraints
        .iter()
        .filter(|c| !std::ptr::eq(*c, direct) && c.kind != ConstraintKind::Check)
        .filter(|c| c.columns.iter().any(|n| droppable.contains(n)))
        .map(|c| c.name.as_str())
        .collect();

    // The check query joins along the chain and compares the copy with the
    // value the chain arrives at; it must return 0 before the column goes.
    let mut joins = String::new();
    for (i, e) in chain.iter().enumerate().take(chain.len() - 1) {
        let next = chain[i + 1].from;
        let Some(f) = e.constraint.foreign.as_ref() else {
            return;
        };
        let on: Vec<String> = e
            .from
            .column_names(&e.constraint.columns)
            .iter()
            .zip(&f.target_columns)
            .map(|(c, t)| format!("t{}.{} = t{i}.{}", i + 1, sql::ident(t), sql::ident(c)))
            .collect();
        joins += &format!(
            " join {} t{} on {}",
            next.sql_name(),
            i + 1,
            on.join(" and ")
        );
    }
    let last = chain.len() - 1;
    let last_edge = chain[last];
    let by_target = |t: &Table, c: &Constraint| -> Vec<String> {
        let mut p: Vec<(String, String)> = t
            .column_names(&c.columns)
            .into_iter()
            .zip(
                c.foreign
                    .as_ref()
                    .map(|f| f.target_columns.clone())
                    .unwrap_or_default(),
            )
            .map(|(col, target)| (target, col))
            .collect();
        p.sort();
        p.into_iter().map(|(_, col)| col).collect()
    };
    let mine: Vec<String> = by_target(table, direct)
        .iter()
        .map(|c| format!("t0.{}", sql::ident(c)))
        .collect();
    let theirs: Vec<String> = by_target(last_edge.from, last_edge.constraint)
        .iter()
        .map(|c| format!("t{last}.{}", sql::ident(c)))
        .collect();
    let check = format!(
        "select count(*) from {} t0{joins} where ({}) is distinct from ({})",
        table.sql_name(),
        mine.join(", "),
        theirs.join(", ")
    );
    let fix = if still_used.is_empty() {
        format!(
            "-- must return 0 first (rows whose copy disagrees with the chain):\n\
             -- {check};\n\
             alter table {} {};",
            table.sql_name(),
            droppable_names
                .iter()
                .map(|c| format!("drop column {}", sql::ident(c)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!(
            "-- must return 0 first:\n-- {check};\n\
             -- ({} still use the column; drop it once they no longer do)\n\
             alter table {} drop constraint {};",
            still_used.join(", "),
            table.sql_name(),
            sql::ident(&direct.name)
        )
    };
    out.findings.push(Finding {
        rule: Rule::RedundantHierarchyFk,
        severity: Severity::Error,
        key,
        table: table.key_name(),
        columns,
        constraint: Some(direct.name.clone()),
        message: format!(
            "{}.({}) references {target_name} directly ({}), but the same value is derivable \
             through not-null foreign keys: {route}. The copy can disagree with the chain; derive \
             it instead of storing it.",
            table.name,
            droppable_names.join(", "),
            direct.name
        ),
        fix: Some(fix),
    });
}
