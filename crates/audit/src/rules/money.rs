//! `money-type`: money-like columns as float (inexact) or numeric of
//! unstated precision (any scale goes in).

use crate::finding::{Finding, Rule, Severity};
use crate::rules::{Context, Output};
use crate::sql;

/// Runs the rule.
pub fn check(ctx: &Context<'_>, out: &mut Output) {
    for table in &ctx.catalog.tables {
        for col in &table.columns {
            let lower = col.name.to_ascii_lowercase();
            let money_like = lower
                .split('_')
                .any(|w| ctx.config.money_words.iter().any(|m| m == w));
            if !money_like {
                continue;
            }
            let (severity, problem) = match (col.base_type.as_str(), col.base_typmod) {
                ("float4" | "float8", _) => (
                    Severity::Error,
                    "is a binary float: 0.1 + 0.2 is not 0.3, and sums of cents drift",
                ),
                ("numeric", -1) => (
                    Severity::Warn,
                    "is numeric without precision: any scale is accepted, so 10.005 and 10.01 \
                     both go in",
                ),
                ("money", _) => (
                    Severity::Warn,
                    "is the money type: its scale follows the server's lc_monetary, and it has \
                     no currency",
                ),
                _ => continue,
            };
            let c = sql::ident(&col.name);
            out.findings.push(Finding {
                rule: Rule::MoneyType,
                severity,
                key: format!("{}:{}:{}", Rule::MoneyType.id(), table.key_name(), col.name),
                table: table.key_name(),
                columns: vec![col.name.clone()],
                constraint: None,
                message: format!(
                    "{}.{} ({}) {problem}. The fix states the precision, numeric(19, 4); \
                     showtree's own tables go further and store amount_minor bigint with a \
                     currency char(3).",
                    table.name, col.name, col.type_sql
                ),
                fix: Some(format!(
                    "alter table {} alter column {c} type numeric(19, 4) using {c}::numeric::numeric(19, 4);",
                    table.sql_name()
                )),
            });
        }
    }
}
