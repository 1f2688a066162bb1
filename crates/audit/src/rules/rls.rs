//! `rls-missing`: tables holding tenant data without row level security
//! enabled, forced and with policies; and policies that call a function
//! once per row where `(select f())` would call it once per statement.

use std::collections::HashSet;

use tokio_postgres::types::Oid;

use crate::catalog::{Catalog, Policy, Table, Volatility};
use crate::finding::{Finding, Rule, Severity};
use crate::rules::{Context, Output};
use crate::sql;

/// Words that look like calls in deparsed SQL but are syntax.
const SYNTAX: &[&str] = &[
    "all",
    "and",
    "any",
    "array",
    "as",
    "between",
    "case",
    "cast",
    "coalesce",
    "else",
    "end",
    "exists",
    "filter",
    "greatest",
    "ilike",
    "in",
    "is",
    "least",
    "like",
    "not",
    "nullif",
    "on",
    "or",
    "over",
    "row",
    "select",
    "similar",
    "some",
    "then",
    "using",
    "values",
    "when",
    "where",
    "from",
    "join",
    "with",
    "distinct",
    "interval",
    "at",
    "time",
    "zone",
    "collate",
    "true",
    "false",
    "null",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "current_user",
    "session_user",
    "current_role",
    "current_date",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "limit",
    "order",
    "by",
    "group",
    "having",
    "left",
    "right",
    "inner",
    "outer",
    "cross",
    "lateral",
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A possibly qualified name: (schema, name, start, end).
    Name(Option<String>, String, usize, usize),
    Open(usize),
    Close(usize),
    /// `::`, after which comes a type name.
    Cast,
    Other,
}

/// Reads one identifier (plain or quoted) at byte `i`; returns it and the
/// byte after it.
fn identifier(s: &str, i: usize) -> Option<(String, usize)> {
    let b = s.as_bytes();
    if b.get(i) == Some(&b'"') {
        let mut out = String::new();
        let mut j = i + 1;
        while j < b.len() {
            if b[j] == b'"' {
                if b.get(j + 1) == Some(&b'"') {
                    out.push('"');
                    j += 2;
                    continue;
                }
                return Some((out, j + 1));
            }
            let ch = s[j..].chars().next()?;
            out.push(ch);
            j += ch.len_utf8();
        }
        return None;
    }
    let first = s[i..].chars().next()?;
    if !(first.is_alphabetic() || first == '_') {
        return None;
    }
    let end = s[i..]
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '$'))
        .map_or(s.len(), |(k, _)| i + k);
    Some((s[i..end].to_ascii_lowercase(), end))
}

fn tokenize(s: &str) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                toks.push(Tok::Other);
            }
            b'(' => {
                toks.push(Tok::Open(i));
                i += 1;
            }
            b')' => {
                toks.push(Tok::Close(i));
                i += 1;
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                toks.push(Tok::Cast);
                i += 2;
            }
            _ if c.is_ascii_whitespace() => i += 1,
            _ => match identifier(s, i) {
                Some((first, mut end)) => {
                    let start = i;
                    let mut parts = vec![first];
                    while b.get(end) == Some(&b'.') {
                        match identifier(s, end + 1) {
                            Some((next, after)) => {
                                parts.push(next);
                                end = after;
                            }
                            None => break,
                        }
                    }
                    let name = parts.pop().unwrap_or_default();
                    let schema = parts.pop();
                    toks.push(Tok::Name(schema, name, start, end));
                    i = end;
                }
                None => {
                    // Numbers, operators, commas: one character at a time
                    // (a multi-byte character is skipped whole).
                    i += s[i..].chars().next().map_or(1, char::len_utf8);
                    toks.push(Tok::Other);
                }
            },
        }
    }
    toks
}

/// A function call in a deparsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Schema, when qualified.
    pub schema: Option<String>,
    /// Function name.
    pub name: String,
    /// Byte range of the call, name to closing parenthesis.
    pub span: (usize, usize),
    /// The call is inside a subquery without `from`, such as
    /// `(select f())`: evaluated once per statement.
    pub per_statement: bool,
    /// Its arguments mention a name (a column): it cannot be hoisted.
    pub uses_columns: bool,
}

/// One open parenthesis while scanning.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Index of the call it opens, if it opens one.
    call: Option<usize>,
    /// It opens a subquery (`(select ...`).
    subquery: bool,
    /// That subquery has a `from` clause (so it may be correlated).
    has_from: bool,
}

/// Every function call in `expr`.
pub fn calls(expr: &str) -> Vec<Call> {
    let toks = tokenize(expr);
    let mut frames: Vec<Frame> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut out: Vec<Call> = Vec::new();
    // Per call: the frames enclosing it.
    let mut enclosing: Vec<Vec<usize>> = Vec::new();
    let prev = |k: usize| k.checked_sub(1).map(|p| &toks[p]);
    for (k, tok) in toks.iter().enumerate() {
        match tok {
            Tok::Name(schema, name, start, _) => {
                let after_cast = matches!(prev(k), Some(Tok::Cast));
                let is_call = matches!(toks.get(k + 1), Some(Tok::Open(_)))
                    && !after_cast
                    && (schema.is_some() || !SYNTAX.contains(&name.as_str()));
                if schema.is_none() && name == "from" {
                    if let Some(&top) = stack.last() {
                        frames[top].has_from = true;
                    }
                }
                if !is_call && !after_cast && !SYNTAX.contains(&name.as_str()) {
                    // A column (or other name) inside every open call's arguments.
                    for &f in &stack {
                        if let Some(c) = frames[f].call {
                            out[c].uses_columns = true;
                        }
                    }
                }
                if is_call {
                    out.push(Call {
                        schema: schema.clone(),
                        name: name.clone(),
                        span: (*start, *start),
                        per_statement: false,
                        uses_columns: false,
                    });
                    enclosing.push(stack.clone());
                }
            }
            Tok::Open(_) => {
                let call = match prev(k) {
                    Some(Tok::Name(_, _, start, _)) => out
                        .len()
                        .checked_sub(1)
                        .filter(|&c| out[c].span == (*start, *start)),
                    _ => None,
                };
                let subquery =
                    matches!(toks.get(k + 1), Some(Tok::Name(None, n, _, _)) if n == "select");
                frames.push(Frame {
                    call,
                    subquery,
                    has_from: false,
                });
                stack.push(frames.len() - 1);
            }
            Tok::Close(at) => {
                if let Some(f) = stack.pop() {
                    if let Some(c) = frames[f].call {
                        out[c].span.1 = at + 1;
                    }
                }
            }
            Tok::Cast | Tok::Other => {}
        }
    }
    // A subquery without `from` cannot be correlated through a table: the
    // planner runs it once per statement (an init plan).
    for (call, around) in out.iter_mut().zip(&enclosing) {
        call.per_statement = around
            .iter()
            .any(|&f| frames[f].subquery && !frames[f].has_from);
    }
    out.retain(|c| c.span.1 > c.span.0);
    out
}

/// The calls of `expr` that run once per row although they could run once
/// per statement: not immutable, no column arguments, not already inside
/// a subquery without `from`. Calls nested in one of these are left to it.
fn per_row_calls(catalog: &Catalog, expr: &str) -> Vec<Call> {
    let flagged: Vec<Call> = calls(expr)
        .into_iter()
        .filter(|c| !c.per_statement && !c.uses_columns)
        .filter(|c| {
            let schema = c.schema.clone().unwrap_or_else(|| "pg_catalog".to_owned());
            catalog
                .function_volatility
                .get(&(schema, c.name.clone()))
                .is_some_and(|v| *v != Volatility::Immutable)
        })
        .collect();
    flagged
        .iter()
        .filter(|c| {
            !flagged
                .iter()
                .any(|o| o.span != c.span && o.span.0 <= c.span.0 && c.span.1 <= o.span.1)
        })
        .cloned()
        .collect()
}

/// `expr` with each of `calls` wrapped as `(select ...)`.
fn hoisted(expr: &str, calls: &[Call]) -> String {
    let mut out = expr.to_owned();
    let mut spans: Vec<(usize, usize)> = calls.iter().map(|c| c.span).collect();
    spans.sort_unstable();
    for (start, end) in spans.into_iter().rev() {
        out.insert(end, ')');
        out.insert_str(start, "(select ");
    }
    out
}

/// The audited tables holding tenant data: those with a tenant column,
/// the tables tenant columns reference (the tenants themselves), and
/// every table with a foreign key into one of those, transitively.
pub(crate) fn tenant_tables(ctx: &Context<'_>) -> HashSet<Oid> {
    let tenant_columns = &ctx.config.tenant_columns;
    let mut tenant: HashSet<Oid> = HashSet::new();
    for table in &ctx.catalog.tables {
        if ctx.catalog.is_users_table(table.oid) {
            continue;
        }
        if table
            .columns
            .iter()
            .any(|c| tenant_columns.contains(&c.name))
        {
            tenant.insert(table.oid);
            for (c, f) in table.foreign_keys() {
                let on_tenant_column = table
                    .column_names(&c.columns)
                    .iter()
                    .any(|n| tenant_columns.contains(n));
                if on_tenant_column && !ctx.catalog.is_users_table(f.target) {
                    tenant.insert(f.target);
                }
            }
        }
    }
    loop {
        let before = tenant.len();
        for table in &ctx.catalog.tables {
            if ctx.catalog.is_users_table(table.oid) || tenant.contains(&table.oid) {
                continue;
            }
            if table
                .foreign_keys()
                .any(|(_, f)| tenant.contains(&f.target))
            {
                tenant.insert(table.oid);
            }
        }
        if tenant.len() == before {
            return tenant;
        }
    }
}

/// A proposed tenant isolation predicate for `table`.
fn proposed_predicate(ctx: &Context<'_>, table: &Table, tenant: &HashSet<Oid>) -> String {
    let setting = "(select nullif(current_setting('app.tenant_id', true), '')";
    if let Some(col) = ctx
        .config
        .tenant_columns
        .iter()
        .find_map(|n| table.column_named(n))
    {
        return format!("{} = {setting}::{})", sql::ident(&col.name), col.type_sql);
    }
    // A tenant itself: its key is what tenant columns point at.
    let referenced = ctx.catalog.tables.iter().find_map(|t| {
        t.foreign_keys().find_map(|(c, f)| {
            let on_tenant = t
                .column_names(&c.columns)
                .iter()
                .any(|n| ctx.config.tenant_columns.contains(n));
            (on_tenant && f.target == table.oid && f.target_columns.len() == 1)
                .then(|| f.target_columns[0].clone())
        })
    });
    if let Some(key) = referenced.and_then(|k| table.column_named(&k)) {
        return format!("{} = {setting}::{})", sql::ident(&key.name), key.type_sql);
    }
    // A child: visible when its parent is (the subquery runs under the
    // parent's own policies).
    let parent = table
        .foreign_keys()
        .filter(|(_, f)| tenant.contains(&f.target) && f.target != table.oid)
        .max_by_key(|(c, _)| table.all_not_null(&c.columns));
    match parent {
        Some((c, f)) => {
            let on: Vec<String> = table
                .column_names(&c.columns)
                .iter()
                .zip(&f.target_columns)
                .map(|(mine, theirs)| {
                    format!(
                        "p.{} = {}.{}",
                        sql::ident(theirs),
                        sql::ident(&table.name),
                        sql::ident(mine)
                    )
                })
                .collect();
            format!(
                "exists (select from {} p where {})",
                sql::qualified(&f.target_schema, &f.target_name),
                on.join(" and ")
            )
        }
        None => "false".to_owned(),
    }
}

/// Runs the rule.
pub fn check(ctx: &Context<'_>, out: &mut Output) {
    let tenant = tenant_tables(ctx);
    for table in &ctx.catalog.tables {
        if tenant.contains(&table.oid) {
            table_level(ctx, table, &tenant, out);
        }
        for policy in &table.policies {
            policy_level(ctx, table, policy, out);
        }
    }
}

fn table_level(ctx: &Context<'_>, table: &Table, tenant: &HashSet<Oid>, out: &mut Output) {
    let mut problems = Vec::new();
    let mut fix = Vec::new();
    let t = table.sql_name();
    if !table.rls_enabled {
        problems.push("row level security is not enabled");
        fix.push(format!("alter table {t} enable row level security;"));
    }
    if !table.rls_forced {
        problems.push("it is not forced (the owner bypasses it)");
        fix.push(format!("alter table {t} force row level security;"));
    }
    if table.policies.is_empty() {
        problems.push("it has no policies");
        let predicate = proposed_predicate(ctx, table, tenant);
        fix.push(format!(
            "-- proposed predicate: replace app.tenant_id with how the application names its tenant\n\
             create policy {} on {t} using ({predicate});",
            sql::ident(&sql::object_name(&[&table.name], "tenant_isolation"))
        ));
    }
    if problems.is_empty() {
        return;
    }
    out.findings.push(Finding {
        rule: Rule::RlsMissing,
        severity: Severity::Error,
        key: format!("{}:{}", Rule::RlsMissing.id(), table.key_name()),
        table: table.key_name(),
        columns: Vec::new(),
        constraint: None,
        message: format!(
            "{} holds tenant data, but {}: one missing where clause shows every tenant's rows to \
             every other.",
            table.key_name(),
            problems.join(", ")
        ),
        fix: Some(fix.join("\n")),
    });
}

fn policy_level(ctx: &Context<'_>, table: &Table, policy: &Policy, out: &mut Output) {
    let using = policy
        .using
        .as_deref()
        .map(|e| (e, per_row_calls(ctx.catalog, e)));
    let check = policy
        .with_check
        .as_deref()
        .map(|e| (e, per_row_calls(ctx.catalog, e)));
    let mut names: Vec<String> = using
        .iter()
        .chain(check.iter())
        .flat_map(|(_, calls)| calls.iter())
        .map(|c| match &c.schema {
            Some(s) => format!("{s}.{}()", c.name),
            None => format!("{}()", c.name),
        })
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return;
    }
    let mut fix = format!(
        "alter policy {} on {}",
        sql::ident(&policy.name),
        table.sql_name()
    );
    if let Some((e, calls)) = using.as_ref().filter(|(_, c)| !c.is_empty()) {
        fix += &format!(" using ({})", hoisted(e, calls));
    }
    if let Some((e, calls)) = check.as_ref().filter(|(_, c)| !c.is_empty()) {
        fix += &format!(" with check ({})", hoisted(e, calls));
    }
    fix.push(';');
    out.findings.push(Finding {
        rule: Rule::RlsMissing,
        severity: Severity::Warn,
        key: format!(
            "{}:{}:{}",
            Rule::RlsMissing.id(),
            table.key_name(),
            policy.name
        ),
        table: table.key_name(),
        columns: Vec::new(),
        constraint: Some(policy.name.clone()),
        message: format!(
            "policy {} calls {} once per row; the arguments do not depend on the row, so \
             (select ...) evaluates it once per statement (an init plan) with the same result.",
            policy.name,
            names.join(", ")
        ),
        fix: Some(fix),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_calls_and_whether_they_are_hoisted() {
        let e = "((org_id = (current_setting('app.org'::text, true))::uuid) AND \
                 (node_id = ANY (ARRAY( SELECT private.readable_nodes() AS readable_nodes))))";
        let found = calls(e);
        let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["current_setting", "readable_nodes"]);
        assert!(!found[0].per_statement && !found[0].uses_columns);
        assert!(found[1].per_statement);
        assert_eq!(found[1].schema.as_deref(), Some("private"));
        assert_eq!(
            &e[found[0].span.0..found[0].span.1],
            "current_setting('app.org'::text, true)"
        );
    }

    #[test]
    fn column_arguments_cannot_be_hoisted() {
        let found = calls("private.can_read(node_id)");
        assert!(found[0].uses_columns);
        let found = calls("(owner_id = ( SELECT auth.uid() AS uid))");
        assert!(found[0].per_statement);
        let found = calls(
            "(org_id = ( SELECT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid AS \"nullif\"))",
        );
        assert!(found[0].per_statement && !found[0].uses_columns);
        let found = calls("(EXISTS ( SELECT 1 FROM grants g WHERE (g.user_id = auth.uid())))");
        assert!(!found[0].per_statement && !found[0].uses_columns);
    }

    #[test]
    fn hoisting_wraps_each_call() {
        let e = "(owner_id = auth.uid())";
        let c = calls(e);
        assert_eq!(hoisted(e, &c), "(owner_id = (select auth.uid()))");
    }
}
