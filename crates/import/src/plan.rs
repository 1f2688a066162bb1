//! Compiling a mapping against the live catalogs into SQL: for every
//! mapping ("unit") the expressions of its target columns over the legacy
//! row (alias `t`), the joins that find its owner and references, and the
//! conditions that make a row unmappable, each with the message that names
//! it. The backfill, the catch-up, the dual-write triggers and the
//! validation all run these same expressions, so what is copied, what is
//! kept current and what is checked can never disagree.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Column, Table, TypeKind};
use crate::mapping::{Mapping, OwnerLevel, OwnerSpec, Spec, TableMapping, WorkspaceOnly};
use crate::report::Finding;
use crate::sql::{ident, lit, own, qualified};

/// What a unit makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// Organization nodes (and the project under each).
    Organization,
    /// Legacy workspaces: named by the workspace nodes of their productions.
    Workspace,
    /// Production nodes, their activation and workspace node.
    Production,
    /// Rows of a showtree table.
    Rows,
}

/// One target column and its expression over the legacy row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutColumn {
    /// The target column.
    pub name: String,
    /// Its value, an SQL expression of the target's type.
    pub expr: String,
}

/// A condition that makes a row unmappable and the message naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// SQL condition, true for an offending row.
    pub when: String,
    /// SQL text expression: the message (with the offending value).
    pub message: String,
}

/// One compiled mapping.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The mapping's name.
    pub name: String,
    /// The legacy table.
    pub source: String,
    /// Its primary key column.
    pub pk: String,
    /// Its primary key's type.
    pub pk_type: String,
    /// What it makes.
    pub kind: UnitKind,
    /// Target schema and table (`Rows`), `showtree.nodes` otherwise.
    pub target: (String, String),
    /// The target has `org_id` (a tenant table).
    pub tenant: bool,
    /// The target has `node_id`.
    pub has_node: bool,
    /// The written columns (besides id, org_id, node_id).
    pub columns: Vec<OutColumn>,
    /// Join clauses after `from <legacy> t left join <map> m`.
    pub joins: Vec<String>,
    /// The row's organization (`null` when not a tenant).
    pub org_expr: String,
    /// The row's node (`null` without one).
    pub node_expr: String,
    /// Unmappable rows.
    pub problems: Vec<Problem>,
    /// Which legacy rows this mapping takes.
    pub filter: Option<String>,
    /// Units that must be imported first.
    pub deps: BTreeSet<String>,
    /// Hierarchy units: further named expressions (activation name, the
    /// workspace node's name over alias `lw`, ...).
    pub extra: BTreeMap<&'static str, String>,
    /// Legacy columns the mapping reads.
    pub reads: BTreeSet<String>,
}

impl Unit {
    /// `showtree_import."map_<name>"`.
    pub fn map_table(&self) -> String {
        own(&format!("map_{}", self.name))
    }

    /// The target table, qualified.
    pub fn target_table(&self) -> String {
        qualified(&self.target.0, &self.target.1)
    }

    /// The filter, or `true`.
    pub fn filter_sql(&self) -> String {
        self.filter
            .as_ref()
            .map_or_else(|| "true".to_owned(), |f| format!("({f})"))
    }

    /// `array_remove(array[...], null)`: the row's problems.
    pub fn problems_sql(&self) -> String {
        if self.problems.is_empty() {
            return "'{}'::text[]".to_owned();
        }
        let items: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("case when {} then {} end", p.when, p.message))
            .collect();
        format!(
            "array_remove(array[{}]::text[], null)",
            items.join(",\n      ")
        )
    }

    /// The expression of target column `name`, if mapped.
    pub fn column(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.expr.as_str())
    }
}

/// A whole mapping, compiled, units in dependency order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The mapping it came from.
    pub mapping: Mapping,
    /// The legacy schema.
    pub schema: String,
    /// The units, every one after those it depends on.
    pub units: Vec<Unit>,
}

impl Plan {
    /// The legacy table, qualified.
    pub fn legacy(&self, table: &str) -> String {
        qualified(&self.schema, table)
    }

    /// The unit named `name`.
    pub fn unit(&self, name: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.name == name)
    }

    /// The unit of a hierarchy kind.
    pub fn unit_of(&self, kind: UnitKind) -> Option<&Unit> {
        self.units.iter().find(|u| u.kind == kind)
    }

    /// Legacy tables read, in the order of their first unit.
    pub fn sources(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for u in &self.units {
            if !out.contains(&u.source) {
                out.push(u.source.clone());
            }
        }
        out
    }

    /// The units reading `table`, in dependency order.
    pub fn units_of(&self, table: &str) -> Vec<&Unit> {
        self.units.iter().filter(|u| u.source == table).collect()
    }
}

/// The catalogs a mapping is compiled against.
#[derive(Debug)]
pub struct Catalogs {
    /// The legacy schema's tables.
    pub legacy: BTreeMap<String, Table>,
    /// showtree's tables (`showtree`), keyed `schema.table`.
    pub target: BTreeMap<String, Table>,
}

/// Compiles `mapping`; returns the plan and every problem of the mapping
/// itself (a plan with findings must not run).
pub fn compile(mapping: &Mapping, catalogs: &Catalogs) -> (Plan, Vec<Finding>) {
    let mut c = Compiler {
        mapping,
        catalogs,
        findings: Vec::new(),
    };
    let mut units = Vec::new();
    for (name, tm) in &mapping.tables {
        if let Some(u) = c.unit(name, tm) {
            units.push(u);
        }
    }
    c.check_hierarchy(&units);
    c.check_unmapped(&units);
    let units = c.order(units);
    let mut findings = c.findings;
    findings.sort();
    findings.dedup();
    (
        Plan {
            mapping: mapping.clone(),
            schema: mapping.schema.clone(),
            units,
        },
        findings,
    )
}

/// Node columns a hierarchy mapping may set.
const NODE_COLUMNS: &[&str] = &["name", "status", "created_at", "updated_at"];

/// Target columns the import computes itself.
const DERIVED: &[&str] = &["id", "org_id", "node_id", "metadata"];

struct Compiler<'a> {
    mapping: &'a Mapping,
    catalogs: &'a Catalogs,
    findings: Vec<Finding>,
}

/// The expressions compiled for one column.
struct Compiled {
    expr: String,
    problems: Vec<Problem>,
    reads: BTreeSet<String>,
    deps: BTreeSet<String>,
    joins: Vec<String>,
    /// Money: the target's `currency` column, unless the mapping sets it.
    currency: Option<String>,
}

impl<'a> Compiler<'a> {
    fn finding(&mut self, table: &str, column: Option<&str>, message: impl Into<String>) {
        self.findings.push(Finding::new(table, column, message));
    }

    fn legacy_table(&self, name: &str) -> Option<&'a Table> {
        self.catalogs.legacy.get(name)
    }

    fn mapping_of(&self, kind: &str) -> Option<(&'a String, &'a TableMapping)> {
        self.mapping.tables.iter().find(|(_, t)| t.target == kind)
    }

    fn unit(&mut self, name: &str, tm: &TableMapping) -> Option<Unit> {
        let source = tm.source(name).to_owned();
        let Some(legacy) = self.legacy_table(&source) else {
            self.finding(
                name,
                None,
                format!(
                    "legacy table {}.{source} does not exist",
                    self.mapping.schema
                ),
            );
            return None;
        };
        if !name
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
            || name.len() > 50
        {
            self.finding(
                name,
                None,
                "mapping names are lowercase letters, digits and _ (at most 50)",
            );
            return None;
        }
        let [pk] = legacy.primary_key.as_slice() else {
            self.finding(
                &source,
                None,
                "needs a single-column primary key (the id map and the batches are keyed by it)",
            );
            return None;
        };
        let pk_type = legacy
            .column(pk)
            .map(|c| c.type_name.clone())
            .unwrap_or_default();
        let kind = match tm.target.as_str() {
            "organization" => UnitKind::Organization,
            "workspace" => UnitKind::Workspace,
            "production" => UnitKind::Production,
            _ => UnitKind::Rows,
        };
        let target_key = match kind {
            UnitKind::Rows if tm.target.contains('.') => tm.target.clone(),
            UnitKind::Rows => format!("showtree.{}", tm.target),
            _ => "showtree.nodes".to_owned(),
        };
        let Some(target) = self.catalogs.target.get(&target_key) else {
            self.finding(
                name,
                None,
                format!("target table {target_key} does not exist in showtree's schema"),
            );
            return None;
        };
        let (tschema, ttable) = target_key
            .split_once('.')
            .map(|(s, t)| (s.to_owned(), t.to_owned()))
            .unwrap_or_default();
        let mut unit = Unit {
            name: name.to_owned(),
            source: source.clone(),
            pk: pk.clone(),
            pk_type,
            kind,
            target: (tschema, ttable),
            tenant: target.column("org_id").is_some(),
            has_node: target.column("node_id").is_some(),
            columns: Vec::new(),
            joins: Vec::new(),
            org_expr: "null::uuid".to_owned(),
            node_expr: "null::uuid".to_owned(),
            problems: Vec::new(),
            filter: tm.filter.clone(),
            deps: BTreeSet::new(),
            extra: BTreeMap::new(),
            reads: BTreeSet::from([pk.clone()]),
        };
        if kind != UnitKind::Rows && tm.filter.is_some() {
            self.finding(name, None, "hierarchy mappings take no filter");
        }
        if let Some(f) = &tm.filter {
            // the columns a filter reads count as read (a crude scan of `t.<name>`)
            for col in &legacy.columns {
                if f.contains(&format!("t.{}", col.name)) {
                    unit.reads.insert(col.name.clone());
                }
            }
        }
        self.columns(&mut unit, tm, legacy, target, "t");
        match kind {
            UnitKind::Rows => self.rows_owner(&mut unit, tm, legacy),
            UnitKind::Organization => self.organization(&mut unit, tm),
            UnitKind::Workspace => self.workspace(&mut unit, tm, legacy),
            UnitKind::Production => self.production(&mut unit, tm, legacy),
        }
        Some(unit)
    }

    /// Compiles the `columns` and `metadata` of `tm` over `alias` into `unit`.
    fn columns(
        &mut self,
        unit: &mut Unit,
        tm: &TableMapping,
        legacy: &Table,
        target: &Table,
        alias: &str,
    ) {
        let hierarchy = unit.kind != UnitKind::Rows;
        let mut auto_currency = None;
        for (tcol, spec) in &tm.columns {
            if hierarchy && !NODE_COLUMNS.contains(&tcol.as_str()) {
                self.finding(
                    &unit.name,
                    Some(tcol),
                    format!(
                        "a {} mapping sets only {}",
                        tm.target,
                        NODE_COLUMNS.join(", ")
                    ),
                );
                continue;
            }
            if DERIVED.contains(&tcol.as_str()) {
                self.finding(
                    &unit.name,
                    Some(tcol),
                    "is computed by the import (ids from the id map, the owner from `owner`, metadata from `metadata`)",
                );
                continue;
            }
            let Some(tc) = target.column(tcol) else {
                self.finding(
                    &unit.name,
                    Some(tcol),
                    format!("{}.{} has no such column", target.schema, target.name),
                );
                continue;
            };
            if tc.generated {
                self.finding(&unit.name, Some(tcol), "is generated; it cannot be written");
                continue;
            }
            if let Some(c) = self.column(unit, tcol, tc, &spec.spec(), legacy, alias) {
                unit.columns.push(OutColumn {
                    name: tcol.clone(),
                    expr: c.expr,
                });
                unit.problems.extend(c.problems);
                unit.reads.extend(c.reads);
                unit.deps.extend(c.deps);
                unit.joins.extend(c.joins);
                auto_currency = auto_currency.or(c.currency);
            }
        }
        if let Some(expr) = auto_currency {
            if target.column("currency").is_some() && !tm.columns.contains_key("currency") {
                unit.columns.push(OutColumn {
                    name: "currency".to_owned(),
                    expr,
                });
            }
        }
        if hierarchy {
            if let Some(c) = unit.columns.iter_mut().find(|c| c.name == "name") {
                let raw = std::mem::take(&mut c.expr);
                c.expr =
                    format!("left(btrim(regexp_replace(({raw})::text, '\\s+', ' ', 'g')), 200)");
                let e = c.expr.clone();
                unit.problems.push(Problem {
                    when: format!("coalesce({e}, '') = ''"),
                    message: lit("name is empty"),
                });
            }
        }
        // metadata: json columns merged into one object
        if let Some(meta) = target.column("metadata") {
            let mut parts = Vec::new();
            for col in &tm.metadata {
                let Some(lc) = legacy.column(col) else {
                    self.finding(&unit.source, Some(col), "no such column (in `metadata`)");
                    continue;
                };
                let v = format!("{alias}.{}", ident(col));
                let json = match lc.kind() {
                    TypeKind::Json => format!("{v}::jsonb"),
                    TypeKind::Text => format!("{v}::jsonb"),
                    _ => {
                        self.finding(&unit.source, Some(col), "is not json (in `metadata`)");
                        continue;
                    }
                };
                unit.problems.push(Problem {
                    when: format!("{v} is not null and jsonb_typeof({json}) <> 'object'"),
                    message: format!(
                        "{} || ' is not a JSON object: ' || left({v}::text, 60)",
                        lit(col)
                    ),
                });
                unit.reads.insert(col.clone());
                parts.push(format!("coalesce({json}, '{{}}'::jsonb)"));
            }
            if !parts.is_empty() {
                let _ = meta;
                unit.columns.push(OutColumn {
                    name: "metadata".to_owned(),
                    expr: format!("({})", parts.join(" || ")),
                });
            }
        } else if !tm.metadata.is_empty() {
            self.finding(&unit.name, None, "the target has no metadata column");
        }
        if unit.kind == UnitKind::Rows {
            self.derived(unit, target);
        }
        // required columns
        if unit.kind == UnitKind::Rows {
            for tc in &target.columns {
                if tc.not_null
                    && tc.default.is_none()
                    && !tc.generated
                    && !DERIVED.contains(&tc.name.as_str())
                    && unit.column(&tc.name).is_none()
                {
                    self.finding(
                        &unit.name,
                        Some(&tc.name),
                        format!(
                            "{}.{} requires this column; map it",
                            target.schema, target.name
                        ),
                    );
                }
            }
        } else if unit.column("name").is_none() {
            self.finding(&unit.name, Some("name"), "nodes need a name; map it");
        }
    }

    /// Columns showtree's triggers would keep, computed here because the
    /// import writes with those triggers off.
    fn derived(&mut self, unit: &mut Unit, target: &Table) {
        if unit.target.1 == "tasks"
            && target.column("completed_at").is_some()
            && unit.column("completed_at").is_none()
        {
            let Some(status) = unit.column("status").map(str::to_owned) else {
                return;
            };
            let when = unit
                .column("updated_at")
                .or_else(|| unit.column("created_at"))
                .map(str::to_owned);
            match when {
                Some(when) => unit.columns.push(OutColumn {
                    name: "completed_at".to_owned(),
                    expr: format!(
                        "case when ({status}) = 'completed' then ({when}) end"
                    ),
                }),
                None => self.finding(
                    &unit.name,
                    Some("completed_at"),
                    "tasks need completed_at for completed rows: map it, or map updated_at or created_at",
                ),
            }
        }
    }

    /// One column.
    fn column(
        &mut self,
        unit: &Unit,
        tcol: &str,
        tc: &Column,
        spec: &Spec,
        legacy: &Table,
        alias: &str,
    ) -> Option<Compiled> {
        let sources = [
            spec.value.is_some() as u8,
            spec.reference.is_some() as u8,
            spec.money.is_some() as u8,
            (spec.column.is_some() && spec.reference.is_none()) as u8,
        ];
        if sources.iter().sum::<u8>() != 1 {
            self.finding(
                &unit.name,
                Some(tcol),
                "say exactly one of column, value, ref or money",
            );
            return None;
        }
        let mut out = Compiled {
            expr: String::new(),
            problems: Vec::new(),
            reads: BTreeSet::new(),
            deps: BTreeSet::new(),
            joins: Vec::new(),
            currency: None,
        };
        let cast = &tc.type_name;
        if let Some(value) = &spec.value {
            if tc.kind() == TypeKind::Enum && !tc.enum_labels.contains(value) {
                self.finding(
                    &unit.name,
                    Some(tcol),
                    format!("{value:?} is not one of {}", tc.enum_labels.join(", ")),
                );
                return None;
            }
            out.expr = format!("{}::{cast}", lit(value));
            if let Some(wp) = &spec.when_present {
                self.legacy_col(unit, legacy, wp)?;
                out.reads.insert(wp.clone());
                out.expr = format!(
                    "case when {alias}.{} is not null then {} end",
                    ident(wp),
                    out.expr
                );
            }
        } else if let Some(reference) = &spec.reference {
            let Some(col) = &spec.column else {
                self.finding(
                    &unit.name,
                    Some(tcol),
                    "a ref needs the legacy column holding the id",
                );
                return None;
            };
            self.legacy_col(unit, legacy, col)?;
            let Some((_, rtm)) = self
                .mapping
                .tables
                .iter()
                .find(|(n, _)| n.as_str() == reference)
            else {
                self.finding(
                    &unit.name,
                    Some(tcol),
                    format!("ref: no mapping named {reference}"),
                );
                return None;
            };
            let rsource = rtm.source(reference).to_owned();
            let j = format!("r_{tcol}");
            let v = format!("{alias}.{}", ident(col));
            out.joins.push(format!(
                "left join {} {j} on {j}.legacy_id = {v}",
                own(&format!("map_{reference}"))
            ));
            out.expr = format!("{j}.new_id");
            out.reads.insert(col.clone());
            out.deps.insert(reference.clone());
            let rpk = self
                .legacy_table(&rsource)
                .and_then(|t| t.primary_key.first().cloned())
                .unwrap_or_else(|| "id".to_owned());
            out.problems.push(Problem {
                when: format!("{v} is not null and {j}.new_id is null"),
                message: format!(
                    "case when exists (select from {} x where x.{} = {v}) then 'unresolved: ' || {} || {v}::text || ' is not imported ({} row with a problem, filtered out, or not copied yet)' else 'orphan: ' || {} || {v}::text || ' names no {} row' end",
                    qualified(&self.mapping.schema, &rsource),
                    ident(&rpk),
                    lit(&format!("{col} ")),
                    rsource,
                    lit(&format!("{col} ")),
                    rsource
                ),
            });
        } else if let Some(money) = &spec.money {
            let lc = self.legacy_col(unit, legacy, money)?;
            if lc.kind() != TypeKind::Numeric && lc.kind() != TypeKind::Integer {
                self.finding(&unit.source, Some(money), "money must be a number column");
                return None;
            }
            if tc.kind() != TypeKind::Integer {
                self.finding(
                    &unit.name,
                    Some(tcol),
                    "money goes into an integer (minor units) column",
                );
                return None;
            }
            let currency = match (&spec.currency_column, &spec.currency) {
                (Some(cc), None) => {
                    self.legacy_col(unit, legacy, cc)?;
                    out.reads.insert(cc.clone());
                    format!("upper(btrim({alias}.{}::text))", ident(cc))
                }
                (None, Some(code)) => lit(code),
                (None, None) => lit(&self.mapping.currency),
                (Some(_), Some(_)) => {
                    self.finding(
                        &unit.name,
                        Some(tcol),
                        "say currency or currency_column, not both",
                    );
                    return None;
                }
            };
            let v = format!("{alias}.{}", ident(money));
            let scaled = format!(
                "({v}::numeric * power(10::numeric, private.currency_minor_unit({currency})))"
            );
            out.reads.insert(money.clone());
            out.expr = format!("round({scaled})::bigint");
            out.problems.push(Problem {
                when: format!(
                    "{v} is not null and private.currency_minor_unit({currency}) is null"
                ),
                message: format!(
                    "{} || coalesce({currency}, 'NULL') || ' is not an ISO 4217 currency code'",
                    lit(&format!("{money}: currency "))
                ),
            });
            out.problems.push(Problem {
                when: format!("{v} is not null and {scaled} <> trunc({scaled})"),
                message: format!(
                    "{} || {v}::text || ' has more decimals than ' || {currency} || ' has minor units'",
                    lit(&format!("{money}: "))
                ),
            });
            out.problems.push(Problem {
                when: format!("{v} < 0"),
                message: format!(
                    "{} || {v}::text",
                    lit(&format!("{money}: negative amount "))
                ),
            });
            // the currency column of the target follows the amount
            out.currency = Some(format!(
                "(case when {v} is not null then {currency} end)::character(3)"
            ));
        } else if let Some(col) = &spec.column {
            let lc = self.legacy_col(unit, legacy, col)?.clone();
            out.reads.insert(col.clone());
            let v = format!("{alias}.{}", ident(col));
            out.expr = self.convert(unit, tcol, tc, &lc, &v, spec, &mut out.problems)?;
        }
        // NULL where the target refuses it
        if tc.not_null && spec.money.is_none() {
            match &tc.default {
                Some(d) if !d.contains("uuid_generate") => {
                    out.expr = format!("coalesce({}, {d})", out.expr);
                }
                _ => out.problems.push(Problem {
                    when: format!("({}) is null", out.expr),
                    message: lit(&format!("{tcol} would be NULL, which showtree refuses")),
                }),
            }
        } else if tc.not_null {
            out.problems.push(Problem {
                when: format!("({}) is null", out.expr),
                message: lit(&format!("{tcol} would be NULL, which showtree refuses")),
            });
        }
        Some(out)
    }

    fn legacy_col<'t>(&mut self, unit: &Unit, legacy: &'t Table, col: &str) -> Option<&'t Column> {
        let found = legacy.column(col);
        if found.is_none() {
            self.finding(
                &unit.source,
                Some(col),
                format!("no such column (mapping {})", unit.name),
            );
        }
        found
    }

    /// A legacy column's value converted to the target column's type.
    #[allow(clippy::too_many_arguments)]
    fn convert(
        &mut self,
        unit: &Unit,
        tcol: &str,
        tc: &Column,
        lc: &Column,
        v: &str,
        spec: &Spec,
        problems: &mut Vec<Problem>,
    ) -> Option<String> {
        let cast = &tc.type_name;
        let zone = spec.timezone.as_deref().unwrap_or(&self.mapping.timezone);
        let text = if spec.trim {
            format!("btrim({v}::text)")
        } else {
            format!("{v}::text")
        };
        if !spec.values.is_empty() {
            if tc.kind() == TypeKind::Enum {
                for target in spec.values.values().chain(spec.default.iter()) {
                    if !tc.enum_labels.contains(target) {
                        self.finding(
                            &unit.name,
                            Some(tcol),
                            format!("{target:?} is not one of {}", tc.enum_labels.join(", ")),
                        );
                        return None;
                    }
                }
            }
            let arms: Vec<String> = spec
                .default
                .iter()
                .map(|d| format!("when {v} is null then {}", lit(d)))
                .chain(
                    spec.values
                        .iter()
                        .map(|(from, to)| format!("when {text} = {} then {}", lit(from), lit(to))),
                )
                .collect();
            let keys: Vec<String> = spec.values.keys().cloned().collect();
            problems.push(Problem {
                when: format!(
                    "{v} is not null and not ({text} = any ({}))",
                    crate::sql::text_array(&keys)
                ),
                message: format!(
                    "{} || quote_literal({text})",
                    lit(&format!("{}: no mapping for value ", lc.name))
                ),
            });
            return Some(format!("(case {} end)::{cast}", arms.join(" ")));
        }
        if let Some(d) = &spec.default {
            let inner = self.convert(
                unit,
                tcol,
                tc,
                lc,
                v,
                &Spec {
                    default: None,
                    ..spec.clone()
                },
                problems,
            )?;
            return Some(format!("coalesce({inner}, {}::{cast})", lit(d)));
        }
        let expr = match (lc.kind(), tc.kind()) {
            (TypeKind::Timestamp, TypeKind::Timestamptz) => {
                problems.push(self.placeable(v, zone, &lc.name));
                format!("({v} at time zone {})", lit(zone))
            }
            (TypeKind::Date, TypeKind::Timestamptz) => {
                let ts = format!("{v}::timestamp");
                problems.push(self.placeable(&ts, zone, &lc.name));
                format!("({ts} at time zone {})", lit(zone))
            }
            (TypeKind::Timestamp, TypeKind::Date) => format!("{v}::date"),
            (TypeKind::Timestamptz, TypeKind::Date) => {
                format!("({v} at time zone {})::date", lit(zone))
            }
            (TypeKind::Json, TypeKind::Json) => format!("{v}::jsonb"),
            (TypeKind::Text | TypeKind::Enum, TypeKind::Enum) => {
                let labels = crate::sql::text_array(&tc.enum_labels);
                problems.push(Problem {
                    when: format!("{v} is not null and not ({text} = any ({labels}))"),
                    message: format!(
                        "{} || quote_literal({text})",
                        lit(&format!("{}: no such {} value ", lc.name, tc.type_name))
                    ),
                });
                format!("(case when {text} = any ({labels}) then {text} end)::{cast}")
            }
            (TypeKind::Numeric, TypeKind::Integer) => {
                problems.push(Problem {
                    when: format!("{v} <> trunc({v})"),
                    message: format!(
                        "{} || {v}::text",
                        lit(&format!("{}: not a whole number ", lc.name))
                    ),
                });
                format!("{v}::{cast}")
            }
            (_, TypeKind::Text) if tcol == "currency" || cast.starts_with("character(3)") => {
                let code = format!("upper(btrim({v}::text))");
                problems.push(Problem {
                    when: format!(
                        "{v} is not null and private.currency_minor_unit({code}) is null"
                    ),
                    message: format!(
                        "{} || quote_literal({v}::text)",
                        lit(&format!("{}: not an ISO 4217 currency code ", lc.name))
                    ),
                });
                format!("{code}::{cast}")
            }
            (_, TypeKind::Text) => format!("{text}::{cast}"),
            (from, to) if from == to => format!("{v}::{cast}"),
            (TypeKind::Text, _) => format!("{text}::{cast}"),
            _ => {
                self.finding(
                    &unit.name,
                    Some(tcol),
                    format!(
                        "cannot convert {} ({}) to {}",
                        lc.name, lc.type_name, tc.type_name
                    ),
                );
                return None;
            }
        };
        Some(expr)
    }

    /// A local time that does not exist in `zone` (skipped by a daylight
    /// saving change) cannot be placed: PostgreSQL would silently move it.
    fn placeable(&self, ts: &str, zone: &str, col: &str) -> Problem {
        let z = lit(zone);
        Problem {
            when: format!(
                "{ts} is not null and (({ts} at time zone {z}) at time zone {z}) <> {ts}"
            ),
            message: format!(
                "{} || {ts}::text || {}",
                lit(&format!("{col}: ")),
                lit(&format!(
                    " does not exist in {zone} (a daylight-saving gap)"
                ))
            ),
        }
    }

    /// Owner resolution of a rows unit: the deepest node its legacy ids name.
    fn rows_owner(&mut self, unit: &mut Unit, tm: &TableMapping, legacy: &Table) {
        let org_unit = self.mapping_of("organization").map(|(n, _)| n.clone());
        let ws_unit = self.mapping_of("workspace").map(|(n, _)| n.clone());
        let prod_unit = self
            .mapping_of("production")
            .map(|(n, t)| (n.clone(), t.clone()));
        match (&tm.owner, &tm.org_from) {
            (Some(_), Some(_)) => {
                self.finding(&unit.name, None, "say owner or org_from, not both");
                return;
            }
            (None, Some(col)) => {
                if !unit.tenant {
                    self.finding(&unit.name, None, "org_from is for tenant tables");
                    return;
                }
                if unit.has_node {
                    self.finding(
                        &unit.name,
                        None,
                        "a table with node_id needs an owner, not org_from",
                    );
                    return;
                }
                let j = format!("r_{col}");
                if unit.column(col).is_none() {
                    self.finding(
                        &unit.name,
                        Some(col),
                        "org_from names a column that is not a mapped ref",
                    );
                    return;
                }
                unit.org_expr = format!("{j}.org_id");
                return;
            }
            (None, None) => {
                if unit.tenant {
                    self.finding(
                        &unit.name,
                        None,
                        "a showtree tenant table: say its owner (organization, workspace, production columns) or org_from",
                    );
                }
                return;
            }
            (Some(_), None) if !unit.tenant => {
                self.finding(
                    &unit.name,
                    None,
                    "the target is not a tenant table: it takes no owner",
                );
                return;
            }
            (Some(_), None) => {}
        }
        let owner: OwnerSpec = tm.owner.clone().unwrap_or_default();
        let check = |c: &Option<String>, me: &mut Self| -> Option<String> {
            let col = c.as_ref()?;
            if legacy.column(col).is_none() {
                me.finding(
                    &unit.source,
                    Some(col),
                    format!("no such column (owner of {})", unit.name),
                );
                return None;
            }
            Some(col.clone())
        };
        let o = check(&owner.organization, self);
        let w = check(&owner.workspace, self);
        let p = check(&owner.production, self);
        if o.is_none() && w.is_none() && p.is_none() {
            self.finding(&unit.name, None, "the owner names no column");
            return;
        }
        let need = |u: &Option<String>, what: &str, me: &mut Self| -> Option<String> {
            if u.is_none() {
                me.finding(
                    &unit.name,
                    None,
                    format!("the owner names a {what} but no mapping targets {what}"),
                );
            }
            u.clone()
        };
        let schema = self.mapping.schema.clone();
        let catalogs = self.catalogs;
        let legacy_of = |m: Option<&TableMapping>, n: &str| -> (String, String) {
            let src = m.map_or(n, |tm| tm.source(n));
            let pk = catalogs
                .legacy
                .get(src)
                .and_then(|t| t.primary_key.first().cloned())
                .unwrap_or_else(|| "id".to_owned());
            (qualified(&schema, src), pk)
        };
        let mut org_parts = Vec::new();
        let mut branches = Vec::new();
        let level_org = owner.level == Some(OwnerLevel::Organization);
        if let Some(p) = &p {
            let Some(pu) = need(&prod_unit.as_ref().map(|x| x.0.clone()), "production", self)
            else {
                return;
            };
            unit.reads.insert(p.clone());
            unit.deps.insert(pu.clone());
            let v = format!("t.{}", ident(p));
            unit.joins.push(format!(
                "left join {} ow_p on ow_p.legacy_id = {v}",
                own(&format!("map_{pu}"))
            ));
            let psrc = legacy_of(prod_unit.as_ref().map(|x| &x.1), &pu);
            unit.problems
                .push(missing("ow_p", &v, p, &psrc, "production"));
            org_parts.push("ow_p.org_id".to_owned());
            let node = match &w {
                Some(w) => format!(
                    "case when t.{} is not null then ow_p.workspace_node_id else ow_p.new_id end",
                    ident(w)
                ),
                None => "ow_p.new_id".to_owned(),
            };
            branches.push(format!("when {v} is not null then {node}"));
            if let Some(w) = &w {
                let wv = format!("t.{}", ident(w));
                unit.problems.push(Problem {
                    when: format!(
                        "{v} is not null and {wv} is not null and ow_p.legacy_id is not null and ow_p.legacy_workspace_id is distinct from {wv}"
                    ),
                    message: format!(
                        "'ambiguous owner: {w} ' || {wv}::text || ' but production ' || {v}::text || ' is in workspace ' || coalesce(ow_p.legacy_workspace_id::text, 'NULL')"
                    ),
                });
            }
        }
        if let Some(w) = &w {
            let Some(wu) = need(&ws_unit, "workspace", self) else {
                return;
            };
            let pu = prod_unit.as_ref().map(|x| x.0.clone());
            unit.reads.insert(w.clone());
            unit.deps.insert(wu.clone());
            let v = format!("t.{}", ident(w));
            unit.joins.push(format!(
                "left join {} ow_w on ow_w.legacy_id = {v}",
                own(&format!("map_{wu}"))
            ));
            let wsrc = legacy_of(self.mapping.tables.get(&wu), &wu);
            unit.problems
                .push(missing("ow_w", &v, w, &wsrc, "workspace"));
            org_parts.push("ow_w.org_id".to_owned());
            let pcond = p
                .as_ref()
                .map_or_else(|| "true".to_owned(), |p| format!("t.{} is null", ident(p)));
            match (self.mapping.workspace_only, level_org, pu) {
                (_, true, _) | (WorkspaceOnly::Organization, _, _) => {
                    branches.push(format!("when {v} is not null then ow_w.org_id"));
                }
                (WorkspaceOnly::Error, false, Some(pu)) => {
                    unit.deps.insert(pu.clone());
                    unit.joins.push(format!(
                        "left join lateral (select count(*) as n, (array_agg(x.workspace_node_id))[1] as node from {} x where x.legacy_workspace_id = {v}) ow_wp on {pcond} and {v} is not null",
                        own(&format!("map_{pu}"))
                    ));
                    branches.push(format!(
                        "when {v} is not null then case when ow_wp.n = 1 then ow_wp.node end"
                    ));
                    unit.problems.push(Problem {
                        when: format!(
                            "{pcond} and {v} is not null and ow_w.legacy_id is not null and coalesce(ow_wp.n, 0) <> 1"
                        ),
                        message: format!(
                            "'ambiguous owner: the row names workspace ' || {v}::text || ', which holds ' || coalesce(ow_wp.n, 0) || ' productions, and no production'"
                        ),
                    });
                }
                (WorkspaceOnly::Error, false, None) => {
                    branches.push(format!("when {v} is not null then ow_w.org_id"));
                }
            }
        }
        if let Some(o) = &o {
            let Some(ou) = need(&org_unit, "organization", self) else {
                return;
            };
            unit.reads.insert(o.clone());
            unit.deps.insert(ou.clone());
            let v = format!("t.{}", ident(o));
            unit.joins.push(format!(
                "left join {} ow_o on ow_o.legacy_id = {v}",
                own(&format!("map_{ou}"))
            ));
            let osrc = legacy_of(self.mapping.tables.get(&ou), &ou);
            unit.problems
                .push(missing("ow_o", &v, o, &osrc, "organization"));
            if !org_parts.is_empty() {
                let derived = format!("coalesce({})", org_parts.join(", "));
                let legacy_org = {
                    let mut parts = Vec::new();
                    if p.is_some() {
                        parts.push("ow_p.legacy_org_id::text");
                    }
                    if w.is_some() {
                        parts.push("ow_w.legacy_org_id::text");
                    }
                    format!("coalesce({}, 'NULL')", parts.join(", "))
                };
                unit.problems.push(Problem {
                    when: format!(
                        "ow_o.legacy_id is not null and {derived} is not null and {derived} <> ow_o.org_id"
                    ),
                    message: format!(
                        "'ambiguous owner: {o} ' || {v}::text || ' but the row''s workspace or production belongs to organization ' || {legacy_org}"
                    ),
                });
            }
            org_parts.push("ow_o.org_id".to_owned());
            branches.push(format!("when {v} is not null then ow_o.new_id"));
        }
        let all_null: Vec<String> = [&o, &w, &p]
            .iter()
            .filter_map(|c| c.as_ref().map(|c| format!("t.{} is null", ident(c))))
            .collect();
        unit.problems.push(Problem {
            when: all_null.join(" and "),
            message: "'no owner: the row names no organization, workspace or production'"
                .to_owned(),
        });
        unit.org_expr = format!("coalesce({})", org_parts.join(", "));
        unit.node_expr = if level_org || !unit.has_node {
            unit.org_expr.clone()
        } else {
            format!("case {} end", branches.join(" "))
        };
        if !unit.has_node && level_org {
            self.finding(
                &unit.name,
                None,
                "level = organization needs a target with node_id",
            );
        }
    }

    fn organization(&mut self, unit: &mut Unit, tm: &TableMapping) {
        if tm.owner.is_some() || tm.org_from.is_some() {
            self.finding(&unit.name, None, "organizations have no owner");
        }
        unit.org_expr = "m.new_id".to_owned();
        unit.node_expr = "m.new_id".to_owned();
        if self.mapping.project.name.trim().is_empty() {
            self.finding("project", Some("name"), "the project needs a name");
        }
        let cur = &self.mapping.currency;
        if cur.len() != 3 || !cur.chars().all(|c| c.is_ascii_uppercase()) {
            self.finding("currency", None, "a three-letter ISO 4217 code");
        }
    }

    fn workspace(&mut self, unit: &mut Unit, tm: &TableMapping, legacy: &Table) {
        let Some(o) = tm.owner.as_ref().and_then(|o| o.organization.clone()) else {
            self.finding(
                &unit.name,
                None,
                "workspaces need owner = { organization = \"<column>\" }",
            );
            return;
        };
        if legacy.column(&o).is_none() {
            self.finding(&unit.source, Some(&o), "no such column (owner)");
            return;
        }
        let Some((ou, otm)) = self.mapping_of("organization") else {
            self.finding(&unit.name, None, "no mapping targets organization");
            return;
        };
        let v = format!("t.{}", ident(&o));
        unit.reads.insert(o.clone());
        unit.deps.insert(ou.clone());
        unit.joins.push(format!(
            "left join {} ow_o on ow_o.legacy_id = {v}",
            own(&format!("map_{ou}"))
        ));
        let osrc = (
            qualified(&self.mapping.schema, otm.source(ou)),
            self.legacy_table(otm.source(ou))
                .and_then(|t| t.primary_key.first().cloned())
                .unwrap_or_else(|| "id".to_owned()),
        );
        unit.problems
            .push(missing("ow_o", &v, &o, &osrc, "organization"));
        unit.org_expr = "ow_o.org_id".to_owned();
        unit.extra.insert("legacy_org", v);
        // what the workspace nodes show of it: a change of it renames them
        let shown: Vec<String> = unit
            .columns
            .iter()
            .map(|c| format!("({})::text", c.expr))
            .collect();
        unit.extra.insert(
            "digest",
            format!(
                "md5(concat_ws('|', {}))",
                if shown.is_empty() {
                    "''".to_owned()
                } else {
                    shown.join(", ")
                }
            ),
        );
    }

    fn production(&mut self, unit: &mut Unit, tm: &TableMapping, legacy: &Table) {
        let owner = tm.owner.clone().unwrap_or_default();
        let Some(w) = owner.workspace.clone() else {
            self.finding(
                &unit.name,
                None,
                "productions need owner = { workspace = \"<column>\" }",
            );
            return;
        };
        if legacy.column(&w).is_none() {
            self.finding(&unit.source, Some(&w), "no such column (owner)");
            return;
        }
        let Some((wu, wtm)) = self.mapping_of("workspace") else {
            self.finding(&unit.name, None, "no mapping targets workspace");
            return;
        };
        let Some((ou, _)) = self.mapping_of("organization") else {
            self.finding(&unit.name, None, "no mapping targets organization");
            return;
        };
        let wsrc = wtm.source(wu).to_owned();
        let Some(wtable) = self.legacy_table(&wsrc) else {
            return;
        };
        let Some(worg) = wtm.owner.as_ref().and_then(|o| o.organization.clone()) else {
            return;
        };
        let wpk = wtable.primary_key.first().cloned().unwrap_or_default();
        let v = format!("t.{}", ident(&w));
        unit.reads.insert(w.clone());
        unit.deps.insert(wu.clone());
        unit.deps.insert(ou.clone());
        unit.joins.push(format!(
            "left join {} lw on lw.{} = {v}",
            qualified(&self.mapping.schema, &wsrc),
            ident(&wpk)
        ));
        unit.joins.push(format!(
            "left join {} mw on mw.legacy_id = {v}",
            own(&format!("map_{wu}"))
        ));
        unit.joins.push(format!(
            "left join {} ow_o on ow_o.legacy_id = lw.{}",
            own(&format!("map_{ou}")),
            ident(&worg)
        ));
        unit.problems.push(Problem {
            when: format!("{v} is null"),
            message: lit(&format!("{w} is NULL: a production needs its workspace")),
        });
        unit.problems.push(Problem {
            when: format!("{v} is not null and lw.{} is null", ident(&wpk)),
            message: format!("'orphan: {w} ' || {v}::text || ' names no workspace'"),
        });
        unit.problems.push(Problem {
            when: format!("lw.{} is not null and mw.legacy_id is null", ident(&wpk)),
            message: format!("'unresolved: {w} ' || {v}::text || ': that workspace is not imported (it has a problem, or is not copied yet)'"),
        });
        if let Some(o) = &owner.organization {
            if legacy.column(o).is_none() {
                self.finding(&unit.source, Some(o), "no such column (owner)");
            } else {
                unit.reads.insert(o.clone());
                let ov = format!("t.{}", ident(o));
                unit.problems.push(Problem {
                    when: format!(
                        "lw.{} is not null and {ov} is distinct from lw.{}",
                        ident(&wpk),
                        ident(&worg)
                    ),
                    message: format!(
                        "'ambiguous owner: {o} ' || coalesce({ov}::text, 'NULL') || ' but workspace ' || {v}::text || ' belongs to organization ' || lw.{}::text",
                        ident(&worg)
                    ),
                });
            }
        }
        if owner.production.is_some() || owner.level.is_some() {
            self.finding(
                &unit.name,
                None,
                "a production's owner names its workspace (and organization) only",
            );
        }
        unit.org_expr = "ow_o.org_id".to_owned();
        for (k, null) in [
            ("ws_name", "null::text"),
            ("ws_metadata", "null::jsonb"),
            ("ws_created_at", "null::timestamptz"),
            ("ws_updated_at", "null::timestamptz"),
            ("activation_starts_at", "null::timestamptz"),
            ("activation_ends_at", "null::timestamptz"),
        ] {
            unit.extra.insert(k, null.to_owned());
        }
        unit.extra.insert("legacy_workspace", v);
        unit.extra
            .insert("legacy_org", format!("lw.{}", ident(&worg)));
        // the workspace node is named after the legacy workspace (alias lw)
        let nodes = self.catalogs.target.get("showtree.nodes").cloned();
        if let Some(nodes) = nodes {
            let mut wunit = unit.clone();
            wunit.kind = UnitKind::Workspace;
            wunit.columns.clear();
            wunit.problems.clear();
            let before = self.findings.len();
            self.columns(&mut wunit, wtm, wtable, &nodes, "lw");
            self.findings.truncate(before);
            for c in &wunit.columns {
                let key = match c.name.as_str() {
                    "name" => "ws_name",
                    "metadata" => "ws_metadata",
                    "created_at" => "ws_created_at",
                    "updated_at" => "ws_updated_at",
                    _ => continue,
                };
                unit.extra.insert(key, c.expr.clone());
            }
        }
        // the activation
        let act = tm
            .activation
            .clone()
            .unwrap_or(crate::mapping::ActivationSpec {
                name: "{name}".to_owned(),
                starts_at: None,
                ends_at: None,
                venue: None,
            });
        let name = self.template(unit, legacy, &act.name);
        unit.extra.insert("activation_name", name);
        let zone = lit(&self.mapping.timezone);
        for (key, col) in [
            ("activation_starts_at", &act.starts_at),
            ("activation_ends_at", &act.ends_at),
        ] {
            let Some(col) = col else {
                continue;
            };
            let Some(lc) = legacy.column(col) else {
                self.finding(&unit.source, Some(col), "no such column (activation)");
                continue;
            };
            unit.reads.insert(col.clone());
            let v = format!("t.{}", ident(col));
            let expr = match lc.kind() {
                TypeKind::Date => {
                    let ts = format!("{v}::timestamp");
                    unit.problems
                        .push(self.placeable(&ts, &self.mapping.timezone, col));
                    format!("({ts} at time zone {zone})")
                }
                TypeKind::Timestamp => {
                    unit.problems
                        .push(self.placeable(&v, &self.mapping.timezone, col));
                    format!("({v} at time zone {zone})")
                }
                TypeKind::Timestamptz => v,
                _ => {
                    self.finding(
                        &unit.source,
                        Some(col),
                        "the activation's dates need a date or timestamp column",
                    );
                    continue;
                }
            };
            unit.extra.insert(key, expr);
        }
        if let (Some(s), Some(e)) = (
            act.starts_at
                .as_ref()
                .and(unit.extra.get("activation_starts_at")),
            act.ends_at
                .as_ref()
                .and(unit.extra.get("activation_ends_at")),
        ) {
            unit.problems.push(Problem {
                when: format!("{e} < {s}"),
                message: "'the activation would end before it starts'".to_owned(),
            });
        }
        let venue = match &act.venue {
            Some(col) if legacy.column(col).is_some() => {
                unit.reads.insert(col.clone());
                format!("left(coalesce(btrim(t.{}::text), ''), 500)", ident(col))
            }
            Some(col) => {
                self.finding(&unit.source, Some(col), "no such column (activation venue)");
                "''".to_owned()
            }
            None => "''".to_owned(),
        };
        unit.extra.insert("activation_venue", venue);
        let wt = tm
            .workspace_type
            .clone()
            .unwrap_or_else(|| "area".to_owned());
        if ![
            "stage",
            "area",
            "department",
            "zone",
            "team",
            "venue",
            "office",
            "other",
        ]
        .contains(&wt.as_str())
        {
            self.finding(
                &unit.name,
                Some("workspace_type"),
                "one of stage, area, department, zone, team, venue, office, other",
            );
        }
        unit.extra.insert("workspace_type", lit(&wt));
    }

    /// `{column}` and `{column:year}` over the legacy row.
    fn template(&mut self, unit: &mut Unit, legacy: &Table, template: &str) -> String {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(lit(&rest[..open]));
            }
            let Some(close) = rest[open..].find('}') else {
                self.finding(
                    &unit.name,
                    Some("activation"),
                    "unclosed { in the name template",
                );
                return "t.name::text".to_owned();
            };
            let field = &rest[open + 1..open + close];
            let (col, fmt) = field.split_once(':').unwrap_or((field, ""));
            match legacy.column(col) {
                None => self.finding(
                    &unit.source,
                    Some(col),
                    "no such column (activation name template)",
                ),
                Some(lc) => {
                    unit.reads.insert(col.to_owned());
                    let v = format!("t.{}", ident(col));
                    match fmt {
                        "" => parts.push(format!("coalesce({v}::text, '')")),
                        "year"
                            if matches!(
                                lc.kind(),
                                TypeKind::Date | TypeKind::Timestamp | TypeKind::Timestamptz
                            ) =>
                        {
                            parts.push(format!("coalesce(extract(year from {v})::int::text, '')"))
                        }
                        other => self.finding(
                            &unit.name,
                            Some("activation"),
                            format!("unknown template format {other:?} (only :year, on dates)"),
                        ),
                    }
                }
            }
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(lit(rest));
        }
        let name = unit.column("name").unwrap_or("''").to_owned();
        format!(
            "coalesce(nullif(left(btrim(regexp_replace({}, '\\s+', ' ', 'g')), 200), ''), {name})",
            if parts.is_empty() {
                "''".to_owned()
            } else {
                parts.join(" || ")
            }
        )
    }

    fn check_hierarchy(&mut self, units: &[Unit]) {
        for (kind, what) in [
            (UnitKind::Organization, "organization"),
            (UnitKind::Workspace, "workspace"),
            (UnitKind::Production, "production"),
        ] {
            let n = units.iter().filter(|u| u.kind == kind).count();
            if n > 1 {
                self.finding(
                    "tables",
                    None,
                    format!("{n} mappings target {what}; at most one may"),
                );
            }
        }
        if units.iter().all(|u| u.kind != UnitKind::Organization) {
            self.finding(
                "tables",
                None,
                "no mapping targets organization (every import needs one)",
            );
        }
        let prod = units.iter().any(|u| u.kind == UnitKind::Production);
        let ws = units.iter().any(|u| u.kind == UnitKind::Workspace);
        if prod != ws {
            self.finding(
                "tables",
                None,
                "productions and workspaces are mapped together or not at all",
            );
        }
        for u in units {
            if u.kind != UnitKind::Rows {
                continue;
            }
            if let Some(tm) = self.mapping.tables.get(&u.name) {
                if let Some(of) = &tm.org_from {
                    let ok = tm
                        .columns
                        .get(of)
                        .is_some_and(|c| c.spec().reference.is_some());
                    if !ok {
                        self.finding(
                            &u.name,
                            Some(of),
                            "org_from must name a target column mapped with ref",
                        );
                    }
                }
            }
        }
    }

    /// Every legacy column no mapping reads, and every legacy table no mapping names.
    fn check_unmapped(&mut self, units: &[Unit]) {
        let mut read: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for u in units {
            let e = read.entry(u.source.as_str()).or_default();
            e.extend(u.reads.iter().map(String::as_str));
        }
        for (name, tm) in &self.mapping.tables {
            let e = read.entry(tm.source(name)).or_default();
            e.extend(tm.ignore.iter().map(String::as_str));
        }
        let mut findings = Vec::new();
        for (table, t) in &self.catalogs.legacy {
            if self.mapping.ignore_tables.contains(table) {
                continue;
            }
            let Some(cols) = read.get(table.as_str()) else {
                findings.push(Finding::new(
                    table,
                    None,
                    "no mapping reads this table (map it, or list it in ignore_tables)",
                ));
                continue;
            };
            for c in &t.columns {
                if !cols.contains(c.name.as_str()) {
                    findings.push(Finding::new(
                        table,
                        Some(&c.name),
                        "unmapped column (map it, merge it into metadata, or list it in ignore)",
                    ));
                }
            }
        }
        self.findings.extend(findings);
    }

    /// Units in dependency order (stable: by name among equals).
    fn order(&mut self, units: Vec<Unit>) -> Vec<Unit> {
        let mut done: Vec<Unit> = Vec::new();
        let mut left = units;
        while !left.is_empty() {
            let names: BTreeSet<String> = left.iter().map(|u| u.name.clone()).collect();
            let (ready, wait): (Vec<Unit>, Vec<Unit>) = left
                .into_iter()
                .partition(|u| u.deps.iter().all(|d| !names.contains(d) || d == &u.name));
            if ready.is_empty() {
                let cycle: Vec<String> = wait.iter().map(|u| u.name.clone()).collect();
                self.finding(
                    "tables",
                    None,
                    format!(
                        "mappings depend on each other in a cycle: {}",
                        cycle.join(", ")
                    ),
                );
                done.extend(wait);
                break;
            }
            // hierarchy first, in its own order
            let mut ready = ready;
            ready.sort_by_key(|u| {
                (
                    u.kind as u8 == UnitKind::Rows as u8,
                    u.kind as u8,
                    u.name.clone(),
                )
            });
            done.extend(ready);
            left = wait;
        }
        done
    }
}

/// The problem of an owner column naming no imported row.
fn missing(alias: &str, v: &str, col: &str, legacy: &(String, String), what: &str) -> Problem {
    let (legacy, pk) = legacy;
    Problem {
        when: format!("{v} is not null and {alias}.legacy_id is null"),
        message: format!(
            "case when exists (select from {legacy} x where x.{} = {v}) then 'unresolved: {col} ' || {v}::text || ': that {what} is not imported (it has a problem, or is not copied yet)' else 'orphan: {col} ' || {v}::text || ' names no {what}' end",
            ident(pk)
        ),
    }
}

/// The `showtree.nodes` columns a hierarchy unit's `ColumnSpec`s may use.
pub fn is_node_column(name: &str) -> bool {
    NODE_COLUMNS.contains(&name)
}
