//! `showtree import validate`: in one repeatable-read snapshot (dual-write
//! writes both sides in the writer's transaction, so a snapshot sees them
//! consistent; an asynchronous drain takes a change off the log in the
//! transaction that copies its row, so the rows with a change still in the
//! log are left out and counted), for every mapping: row counts, a checksum per mapped
//! column of the values the mapping computes from the legacy rows against
//! those showtree holds, and, where they differ, the rows; every foreign
//! key of showtree's tables over the imported organizations; the rows
//! dual-write could not map; then `showtree audit` on showtree's schema.
//!
//! [`validate_keys`] does the same for given legacy keys only (asynchronous
//! cutover re-checks so, under the writers' lock, the keys drained after
//! its full validation started).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, IsolationLevel, Transaction};

use crate::ImportError;
use crate::plan::{Plan, Unit, UnitKind};
use crate::report::Report;
use crate::sql::{ident, lit, own};
use crate::state::{Phase, Session};

/// One mapping's comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    /// The mapping.
    pub mapping: String,
    /// The legacy table.
    pub source: String,
    /// Legacy rows the mapping takes.
    pub legacy_rows: i64,
    /// showtree rows made from them.
    pub showtree_rows: i64,
    /// Columns compared by checksum.
    pub columns: Vec<String>,
    /// Columns whose checksums differ.
    pub mismatched: Vec<String>,
}

/// What validate found.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Per mapping.
    pub tables: Vec<TableCheck>,
    /// Rows that differ, broken references, unmappable rows.
    pub report: Report,
    /// Captured changes not caught up yet (left out of the comparison).
    pub pending: i64,
    /// Audit findings on showtree's schema (errors, warnings).
    pub audit: (usize, usize),
    /// Foreign keys checked.
    pub foreign_keys: usize,
    /// Imported nodes whose roll-up figures were checked against their rows.
    pub rollup_nodes: i64,
}

impl Outcome {
    /// No mismatch, no broken reference, no audit error.
    pub fn is_clean(&self) -> bool {
        self.report.is_clean() && self.audit.0 == 0
    }

    /// The outcome as text; at most `max_ids` ids per problem (0: all).
    pub fn render(&self, max_ids: usize) -> String {
        let mut out = String::new();
        for t in &self.tables {
            let _ = writeln!(
                out,
                "{:<18} {:>9} legacy rows  {:>9} showtree rows  {} columns {}",
                t.mapping,
                t.legacy_rows,
                t.showtree_rows,
                t.columns.len(),
                if t.mismatched.is_empty() && t.legacy_rows == t.showtree_rows {
                    "match".to_owned()
                } else if t.mismatched.is_empty() {
                    "COUNTS DIFFER".to_owned()
                } else {
                    format!("DIFFER: {}", t.mismatched.join(", "))
                }
            );
        }
        let _ = writeln!(
            out,
            "references: {} foreign keys of showtree's tables checked over the imported organizations",
            self.foreign_keys
        );
        let _ = writeln!(
            out,
            "roll-ups: {} imported nodes' figures checked against their rows",
            self.rollup_nodes
        );
        let _ = writeln!(
            out,
            "audit of showtree's schema: {} errors, {} warnings",
            self.audit.0, self.audit.1
        );
        if self.pending > 0 {
            let _ = writeln!(
                out,
                "{} captured changes are not caught up yet (their rows were left out; dual-write catches them up: asynchronous dual-write drains them)",
                self.pending
            );
        }
        out += &self.report.render(max_ids);
        if self.is_clean() {
            out += "validation: clean\n";
        }
        out
    }
}

/// The plan of an import that can be validated.
async fn validatable(session: &mut Session) -> Result<Plan, ImportError> {
    let st = session.require().await?;
    if st.phase < Phase::Backfilled || st.phase == Phase::Contracted {
        return Err(ImportError::State(format!(
            "validate compares a finished backfill with its legacy tables; the import is at {}",
            st.phase.as_str()
        )));
    }
    session.plan(&st).await
}

/// A read-only transaction in one repeatable-read snapshot: what every
/// validation reads in.
async fn snapshot(client: &mut tokio_postgres::Client) -> Result<Transaction<'_>, ImportError> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(ImportError::db("starting the validation"))
}

/// Runs the validation.
pub async fn validate(session: &mut Session) -> Result<Outcome, ImportError> {
    let plan = validatable(session).await?;
    let mut outcome = Outcome::default();
    {
        let tx = snapshot(&mut session.client).await?;
        compare(&tx, &plan, &mut outcome).await?;
        tx.rollback()
            .await
            .map_err(ImportError::db("ending the validation"))?;
    }
    let mut audit_client = crate::state::connect(&session.url).await?;
    let report = showtree_audit::audit(
        &mut audit_client,
        &showtree_audit::Options {
            schemas: vec!["showtree".to_owned()],
            sample: false,
        },
        &showtree_audit::Config::default(),
    )
    .await
    .map_err(|e| ImportError::Other(format!("auditing showtree's schema: {e}")))?;
    outcome.audit = (report.summary.errors, report.summary.warnings);
    for f in report
        .findings
        .iter()
        .filter(|f| f.severity == showtree_audit::Severity::Error)
    {
        outcome.report.findings.push(crate::report::Finding::new(
            &f.table,
            None,
            format!("audit: {}", f.message),
        ));
    }
    Ok(outcome)
}

/// Everything but the audit, in the caller's snapshot.
pub async fn compare(
    c: &impl GenericClient,
    plan: &Plan,
    outcome: &mut Outcome,
) -> Result<(), ImportError> {
    outcome.pending = crate::dualwrite::pending(c).await?;
    for u in &plan.units {
        let (expected, actual, columns) = sides(plan, u, false);
        let check = compare_unit(
            c,
            u,
            (&expected, &actual),
            &columns,
            &[],
            &mut outcome.report,
        )
        .await?;
        outcome.tables.push(check);
    }
    // rows dual-write (or the catch-up) could not map, but for rows with a
    // change still pending: a catch-up copies a row from its current state,
    // which may name a row inserted after the catch-up's end (unresolved,
    // for now); the change that made it name that row is pending and copies
    // it again after its new reference
    let source_of: Vec<String> = plan
        .units
        .iter()
        .map(|u| format!("when {} then {}", lit(&u.name), lit(&u.source)))
        .collect();
    let rows = c
        .query(
            &format!(
                "select e.mapping, e.legacy_id, e.problems from {errors} e
                  where not exists (select from {changes} ch
                                     where ch.legacy_id = e.legacy_id
                                       and ch.legacy_table = case e.mapping {cases} end)
                  order by e.mapping, e.legacy_id",
                errors = own("errors"),
                changes = own("changes"),
                cases = source_of.join(" "),
            ),
            &[],
        )
        .await
        .map_err(ImportError::db("reading dual-write's errors"))?;
    for u in &plan.units {
        let mine: Vec<(String, Vec<String>)> = rows
            .iter()
            .filter(|r| r.get::<_, String>(0) == u.name)
            .map(|r| {
                let problems: Vec<String> = r.get(2);
                (
                    r.get(1),
                    problems
                        .into_iter()
                        .map(|p| format!("not copied by dual-write: {p}"))
                        .collect(),
                )
            })
            .collect();
        outcome.report.add_rows(&u.name, &u.source, mine);
    }
    outcome.foreign_keys = references(c, plan, None, &mut outcome.report).await?;
    outcome.rollup_nodes = rollups(c, plan, None, &mut outcome.report).await?;
    Ok(())
}

/// Showtree rows by table (`(schema, table)` -> ids as text).
type Scope = BTreeMap<(String, String), BTreeSet<String>>;

/// A showtree row an id map names for a legacy key: (legacy key,
/// organization, showtree id, node), as text.
type Mapped = (String, Option<String>, String, Option<String>);

/// Legacy keys for [`validate_keys`]: per legacy table its keys, and per
/// mapping the showtree rows its id map named for them before a drain
/// copied them (so that a row the drain should have removed is looked for).
#[derive(Debug, Clone, Default)]
pub struct Keys {
    legacy: BTreeMap<String, BTreeSet<String>>,
    before: BTreeMap<String, BTreeSet<Mapped>>,
}

impl Keys {
    /// Adds a legacy key (`table` is the legacy table's name, `id` its
    /// primary key as text).
    pub fn add(&mut self, table: &str, id: &str) {
        self.legacy
            .entry(table.to_owned())
            .or_default()
            .insert(id.to_owned());
    }

    /// How many legacy keys.
    pub fn len(&self) -> usize {
        self.legacy.values().map(BTreeSet::len).sum()
    }

    /// No key at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds the keys of `by_table` (legacy table -> keys) with the showtree
    /// rows their maps name now, in `c`'s transaction: a drain calls it
    /// before it copies them.
    pub async fn note(
        &mut self,
        c: &impl GenericClient,
        plan: &Plan,
        by_table: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), ImportError> {
        for (table, ids) in by_table {
            for id in ids {
                self.add(table, id);
            }
            for u in plan.units_of(table) {
                let before = self.before.entry(u.name.clone()).or_default();
                before.extend(mapped_rows(c, u, ids).await?);
            }
        }
        Ok(())
    }

    fn of(&self, table: &str) -> Vec<String> {
        self.legacy
            .get(table)
            .map(|k| k.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The workspace unit a production's rows show (its name), when both exist.
fn workspace_keys<'p>(plan: &'p Plan, u: &Unit) -> Option<&'p Unit> {
    (u.kind == UnitKind::Production)
        .then(|| plan.unit_of(UnitKind::Workspace))
        .flatten()
}

/// `select` of the showtree rows `u`'s id map names for the legacy keys
/// `keys` (an SQL text array): legacy key, organization, id, node, as text.
fn mapped(u: &Unit, keys: &str) -> String {
    let only = format!("m.legacy_id = any ({keys}::text[]::{}[])", u.pk_type);
    let map = u.map_table();
    let nodes = |ids: &str| {
        format!(
            "select m.legacy_id::text, m.org_id::text, v.id::text, v.id::text
               from {map} m cross join lateral (values {ids}) v(id)
              where {only} and v.id is not null"
        )
    };
    match u.kind {
        UnitKind::Rows if u.has_node => format!(
            "select m.legacy_id::text, m.org_id::text, m.new_id::text, x.node_id::text
               from {map} m left join {} x on x.org_id = m.org_id and x.id = m.new_id
              where {only}",
            u.target_table()
        ),
        UnitKind::Rows => format!(
            "select m.legacy_id::text, m.org_id::text, m.new_id::text, null::text from {map} m where {only}"
        ),
        UnitKind::Organization => nodes("(m.new_id), (m.project_id)"),
        UnitKind::Workspace => nodes("(m.new_id)"),
        UnitKind::Production => nodes("(m.new_id), (m.activation_id), (m.workspace_node_id)"),
    }
}

async fn mapped_rows(
    c: &impl GenericClient,
    u: &Unit,
    ids: &[String],
) -> Result<Vec<Mapped>, ImportError> {
    Ok(c.query(&mapped(u, "$1"), &[&ids])
        .await
        .map_err(ImportError::db_at(format!(
            "reading the id map of {}",
            u.name
        )))?
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}

/// [`validate`] restricted to `keys`, in one repeatable-read snapshot: per
/// mapping, counts and checksums of the rows of those legacy keys (and,
/// for productions, of those showing a changed legacy workspace) against
/// the showtree rows their maps name; the showtree rows the maps named
/// before the drain and no longer do must be gone; the rows dual-write
/// could not map, among them; the foreign keys of those showtree rows and
/// of the rows referencing them; the roll-up figures of their nodes. No
/// audit: a drain changes rows, not showtree's schema.
pub async fn validate_keys(session: &mut Session, keys: &Keys) -> Result<Outcome, ImportError> {
    let plan = validatable(session).await?;
    let mut outcome = Outcome::default();
    let tx = snapshot(&mut session.client).await?;
    compare_keys(&tx, &plan, keys, &mut outcome).await?;
    tx.rollback()
        .await
        .map_err(ImportError::db("ending the validation"))?;
    Ok(outcome)
}

/// [`validate_keys`] in the caller's snapshot.
pub async fn compare_keys(
    c: &impl GenericClient,
    plan: &Plan,
    keys: &Keys,
    outcome: &mut Outcome,
) -> Result<(), ImportError> {
    outcome.pending = crate::dualwrite::pending(c).await?;
    let mut rows: Scope = BTreeMap::new();
    let mut nodes: BTreeSet<(String, String)> = BTreeSet::new();
    for u in &plan.units {
        let ids = keys.of(&u.source);
        let ws_ids = workspace_keys(plan, u).map(|w| keys.of(&w.source));
        if ids.is_empty() && ws_ids.as_ref().is_none_or(Vec::is_empty) {
            continue;
        }
        let (expected, actual, columns) = sides(plan, u, true);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&ids];
        if let Some(ws) = &ws_ids {
            params.push(ws);
        }
        let check = compare_unit(
            c,
            u,
            (&expected, &actual),
            &columns,
            &params,
            &mut outcome.report,
        )
        .await?;
        outcome.tables.push(check);
        // the showtree rows the keys name now, and named before the drain
        let now = mapped_rows(c, u, &ids).await?;
        let before = keys.before.get(&u.name);
        for (_, org, id, node) in now.iter().chain(before.into_iter().flatten()) {
            rows.entry(u.target.clone()).or_default().insert(id.clone());
            if let (Some(org), Some(node)) = (org, node) {
                nodes.insert((org.clone(), node.clone()));
            }
        }
        // a row no map names any longer must be gone
        let gone: Vec<&Mapped> = before
            .into_iter()
            .flatten()
            .filter(|b| !now.iter().any(|n| n.0 == b.0 && n.2 == b.2))
            .collect();
        if !gone.is_empty() {
            let org = if u.kind != UnitKind::Rows || u.tenant {
                " and x.org_id = g.org_id::uuid"
            } else {
                ""
            };
            let keys: Vec<&str> = gone.iter().map(|g| g.0.as_str()).collect();
            let orgs: Vec<Option<&str>> = gone.iter().map(|g| g.1.as_deref()).collect();
            let ids: Vec<&str> = gone.iter().map(|g| g.2.as_str()).collect();
            let left = c
                .query(
                    &format!(
                        "select g.legacy_id, g.id from unnest($1::text[], $2::text[], $3::text[]) g(legacy_id, org_id, id)
                          where exists (select from {} x where x.id = g.id::uuid{org})
                          order by 1, 2",
                        u.target_table()
                    ),
                    &[&keys, &orgs, &ids],
                )
                .await
                .map_err(ImportError::db_at(format!(
                    "looking for the removed rows of {}",
                    u.name
                )))?;
            outcome.report.add_rows(
                &u.name,
                &u.source,
                left.into_iter()
                    .map(|r| {
                        (
                            r.get(0),
                            vec![format!(
                                "no longer mapped from the legacy rows, but showtree still holds its row {}",
                                r.get::<_, String>(1)
                            )],
                        )
                    })
                    .collect(),
            );
        }
        // rows dual-write could not map, among the keys
        let errors = c
            .query(
                &format!(
                    "select e.legacy_id, e.problems from {errors} e
                      where e.mapping = $2 and e.legacy_id = any ($1::text[])
                        and not exists (select from {changes} ch
                                         where ch.legacy_id = e.legacy_id and ch.legacy_table = $3)
                      order by 1",
                    errors = own("errors"),
                    changes = own("changes"),
                ),
                &[&ids, &u.name, &u.source],
            )
            .await
            .map_err(ImportError::db("reading dual-write's errors"))?;
        outcome.report.add_rows(
            &u.name,
            &u.source,
            errors
                .into_iter()
                .map(|r| {
                    let problems: Vec<String> = r.get(1);
                    (
                        r.get(0),
                        problems
                            .into_iter()
                            .map(|p| format!("not copied by dual-write: {p}"))
                            .collect(),
                    )
                })
                .collect(),
        );
    }
    outcome.foreign_keys = references(c, plan, Some(&rows), &mut outcome.report).await?;
    outcome.rollup_nodes = rollups(c, plan, Some(&nodes), &mut outcome.report).await?;
    Ok(())
}

/// Every imported node whose roll-up figures (migration 0006) differ from
/// what its rows say (only the `(organization, node)` pairs of `only`,
/// when given); returns how many nodes were checked.
async fn rollups(
    c: &impl GenericClient,
    plan: &Plan,
    only: Option<&BTreeSet<(String, String)>>,
    report: &mut Report,
) -> Result<i64, ImportError> {
    let Some(orgs) = plan.unit_of(UnitKind::Organization) else {
        return Ok(0);
    };
    let (nodes, params): (String, Vec<Vec<String>>) = match only {
        None => (
            format!(
                "select n.org_id, n.id from showtree.nodes n where n.org_id in (select org_id from {})",
                orgs.map_table()
            ),
            Vec::new(),
        ),
        Some(pairs) => (
            format!(
                "select distinct n.org_id, n.id from unnest($1::text[]::uuid[], $2::text[]::uuid[]) n(org_id, id)
                  where n.org_id in (select org_id from {})
                    and exists (select from showtree.nodes x where x.org_id = n.org_id and x.id = n.id)",
                orgs.map_table()
            ),
            vec![
                pairs.iter().map(|p| p.0.clone()).collect(),
                pairs.iter().map(|p| p.1.clone()).collect(),
            ],
        ),
    };
    let params: Vec<&(dyn ToSql + Sync)> =
        params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let checked: i64 = c
        .query_one(&format!("select count(*) from ({nodes}) n"), &params)
        .await
        .map_err(ImportError::db("counting the imported nodes"))?
        .get(0);
    let rows = c
        .query(
            &format!(
                "with n as ({nodes})
                 select d.node_id::text, array_agg(distinct d.metric || ' ' || d.currency || ' off by ' || d.amount order by d.metric || ' ' || d.currency || ' off by ' || d.amount)
                   from {}(array(select org_id from n), array(select id from n)) d
                  group by d.node_id order by 1",
                own("rollup_diff")
            ),
            &params,
        )
        .await
        .map_err(ImportError::db("comparing the roll-ups with their rows"))?;
    let mismatched: Vec<(String, Vec<String>)> = rows
        .iter()
        .map(|r| {
            let figures: Vec<String> = r.get(1);
            let node: String = r.get(0);
            (
                format!("{node} ({})", figures.join(", ")),
                vec!["node whose roll-up figures differ from its rows".to_owned()],
            )
        })
        .collect();
    report.add_rows("roll-ups", "showtree.nodes", mismatched);
    Ok(checked)
}

/// Keys of captured changes not caught up yet, left out of the comparison.
fn not_pending(u: &Unit, key: &str) -> String {
    format!(
        "not exists (select from {} ch where ch.legacy_table = {} and ch.legacy_id = ({key})::text)",
        own("changes"),
        lit(&u.source)
    )
}

/// The expected rows (computed from the legacy rows) and the actual rows
/// (read from showtree through the id map) of a unit, as two selects with
/// the same columns, keyed by `legacy_id`. With `only`, the rows of the
/// legacy keys in `$1` (text), and for a production also those of the
/// legacy workspaces in `$2` (text; see [`workspace_keys`]).
fn sides(plan: &Plan, u: &Unit, only: bool) -> (String, String, Vec<String>) {
    let pk = format!("t.{}", ident(&u.pk));
    let from = format!(
        "from {} t left join {} m on m.legacy_id = {pk} {}",
        plan.legacy(&u.source),
        u.map_table(),
        u.joins.join(" ")
    );
    // a production shows its workspace's name: pending with it
    let ws_pending = |key: &str| match (u.kind, plan.unit_of(UnitKind::Workspace)) {
        (UnitKind::Production, Some(w)) => format!(" and {}", not_pending(w, key)),
        _ => String::new(),
    };
    let good = format!(
        "{} and cardinality({}) = 0 and {}{}",
        u.filter_sql(),
        u.problems_sql(),
        not_pending(u, &pk),
        ws_pending(
            u.extra
                .get("legacy_workspace")
                .map_or("null", String::as_str)
        ),
    );
    let mut exp: Vec<(String, String)> = Vec::new();
    let mut act: Vec<(String, String)> = Vec::new();
    let mut joins = String::new();
    match u.kind {
        UnitKind::Rows => {
            if u.tenant {
                exp.push(("org_id".into(), u.org_expr.clone()));
                act.push(("org_id".into(), "x.org_id".into()));
            }
            if u.has_node {
                exp.push(("node_id".into(), u.node_expr.clone()));
                act.push(("node_id".into(), "x.node_id".into()));
            }
            for c in &u.columns {
                exp.push((c.name.clone(), c.expr.clone()));
                act.push((c.name.clone(), format!("x.{}", ident(&c.name))));
            }
            let on = if u.tenant {
                "x.org_id = a.org_id and x.id = a.new_id"
            } else {
                "x.id = a.new_id"
            };
            joins = format!("join {} x on {on}", u.target_table());
        }
        UnitKind::Organization => {
            node_columns(u, &mut exp, &mut act, "n");
            exp.push(("project".into(), lit(plan.mapping.project.name.trim())));
            act.push(("project".into(), "p.name".into()));
            exp.push(("shape".into(), "true".into()));
            act.push((
                "shape".into(),
                "(n.kind = 'organization' and p.kind = 'project' and p.parent_id = n.id)".into(),
            ));
            joins = "join showtree.nodes n on n.org_id = a.new_id and n.id = a.new_id \
                     join showtree.nodes p on p.org_id = a.new_id and p.id = a.project_id"
                .into();
        }
        UnitKind::Workspace => {
            exp.push(("org_id".into(), u.org_expr.clone()));
            act.push(("org_id".into(), "a.org_id".into()));
        }
        UnitKind::Production => {
            exp.push(("org_id".into(), u.org_expr.clone()));
            act.push(("org_id".into(), "a.org_id".into()));
            node_columns(u, &mut exp, &mut act, "n");
            let ex = |k: &str| u.extra.get(k).cloned().unwrap_or_else(|| "null".into());
            exp.push(("activation".into(), ex("activation_name")));
            act.push(("activation".into(), "an.name".into()));
            exp.push(("activation_starts_at".into(), ex("activation_starts_at")));
            act.push(("activation_starts_at".into(), "ad.starts_at".into()));
            exp.push(("activation_ends_at".into(), ex("activation_ends_at")));
            act.push(("activation_ends_at".into(), "ad.ends_at".into()));
            exp.push(("activation_venue".into(), ex("activation_venue")));
            act.push(("activation_venue".into(), "ad.venue".into()));
            exp.push(("workspace".into(), ex("ws_name")));
            act.push(("workspace".into(), "wn.name".into()));
            exp.push((
                "workspace_metadata".into(),
                format!("coalesce({}, '{{}}')", ex("ws_metadata")),
            ));
            act.push(("workspace_metadata".into(), "wn.metadata".into()));
            exp.push(("legacy_workspace".into(), ex("legacy_workspace")));
            act.push(("legacy_workspace".into(), "a.legacy_workspace_id".into()));
            exp.push(("shape".into(), "true".into()));
            act.push((
                "shape".into(),
                "(n.kind = 'production' and n.parent_id = o.project_id and an.kind = 'activation' \
                 and an.parent_id = n.id and wn.kind = 'workspace' and wn.parent_id = an.id)"
                    .into(),
            ));
            let orgmap = plan
                .unit_of(UnitKind::Organization)
                .map_or_else(|| own("map_organizations"), |o| o.map_table());
            joins = format!(
                "join showtree.nodes n on n.org_id = a.org_id and n.id = a.new_id \
                 join showtree.nodes an on an.org_id = a.org_id and an.id = a.activation_id \
                 join showtree.activations ad on ad.org_id = a.org_id and ad.node_id = a.activation_id \
                 join showtree.nodes wn on wn.org_id = a.org_id and wn.id = a.workspace_node_id \
                 join {orgmap} o on o.org_id = a.org_id"
            );
        }
    }
    let cols: Vec<String> = exp.iter().map(|(n, _)| n.clone()).collect();
    let (only_exp, only_act) = if only {
        let keys = |k: &str| format!("{k} = any ($1::text[]::{}[])", u.pk_type);
        match workspace_keys(plan, u) {
            Some(w) => {
                let ws = |k: &str| format!("{k} = any ($2::text[]::{}[])", w.pk_type);
                (
                    format!(
                        " and ({} or ({}) {})",
                        keys(&pk),
                        u.extra
                            .get("legacy_workspace")
                            .map_or("null", String::as_str),
                        ws("").trim_start()
                    ),
                    format!(
                        " and ({} or {})",
                        keys("a.legacy_id"),
                        ws("a.legacy_workspace_id")
                    ),
                )
            }
            None => (
                format!(" and {}", keys(&pk)),
                format!(" and {}", keys("a.legacy_id")),
            ),
        }
    } else {
        (String::new(), String::new())
    };
    let expected = format!(
        "select {pk} as legacy_id{} {from} where {good}{only_exp}",
        exp.iter()
            .map(|(n, e)| format!(", {e} as {}", ident(n)))
            .collect::<String>()
    );
    let actual_pending = if u.kind == UnitKind::Production {
        ws_pending("a.legacy_workspace_id")
    } else {
        String::new()
    };
    let actual = format!(
        "select a.legacy_id{} from {} a {joins} where {}{actual_pending}{only_act}",
        act.iter()
            .map(|(n, e)| format!(", {e} as {}", ident(n)))
            .collect::<String>(),
        u.map_table(),
        not_pending(u, "a.legacy_id"),
    );
    (expected, actual, cols)
}

/// The node columns a hierarchy unit maps, expected and actual.
fn node_columns(
    u: &Unit,
    exp: &mut Vec<(String, String)>,
    act: &mut Vec<(String, String)>,
    n: &str,
) {
    for name in ["name", "status", "metadata", "created_at", "updated_at"] {
        let Some(e) = u.column(name) else {
            continue;
        };
        let e = match name {
            "status" => format!("coalesce({e}, 'active')"),
            "metadata" => format!("coalesce({e}, '{{}}')"),
            "updated_at" => match u.column("created_at") {
                Some(c) => format!("coalesce({e}, {c})"),
                None => e.to_owned(),
            },
            _ => e.to_owned(),
        };
        exp.push((name.to_owned(), e));
        act.push((name.to_owned(), format!("{n}.{}", ident(name))));
    }
}

/// Compares a unit's `(expected, actual)` sides ([`sides`], whose
/// parameters are `params`).
async fn compare_unit(
    c: &impl GenericClient,
    u: &Unit,
    (expected, actual): (&str, &str),
    columns: &[String],
    params: &[&(dyn ToSql + Sync)],
    report: &mut Report,
) -> Result<TableCheck, ImportError> {
    let sums = |side: &str, alias: &str| {
        let parts: Vec<String> = columns
            .iter()
            .map(|col| {
                format!(
                    "md5(coalesce(string_agg(coalesce({alias}.{}::text, '\\N'), ',' order by {alias}.legacy_id), ''))",
                    ident(col)
                )
            })
            .collect();
        format!(
            "select count(*){} from ({side}) {alias}",
            parts.iter().map(|p| format!(", {p}")).collect::<String>()
        )
    };
    let e = c
        .query_one(&sums(expected, "e"), params)
        .await
        .map_err(ImportError::db_at(format!(
            "computing the expected checksums of {}",
            u.name
        )))?;
    let a = c
        .query_one(&sums(actual, "a"), params)
        .await
        .map_err(ImportError::db_at(format!(
            "computing showtree's checksums of {}",
            u.name
        )))?;
    let mut check = TableCheck {
        mapping: u.name.clone(),
        source: u.source.clone(),
        legacy_rows: e.get(0),
        showtree_rows: a.get(0),
        columns: columns.to_vec(),
        mismatched: Vec::new(),
    };
    for (i, col) in columns.iter().enumerate() {
        if e.get::<_, String>(i + 1) != a.get::<_, String>(i + 1) {
            check.mismatched.push(col.clone());
        }
    }
    if check.mismatched.is_empty() && check.legacy_rows == check.showtree_rows {
        return Ok(check);
    }
    // name the rows
    let differs: Vec<String> = columns
        .iter()
        .map(|col| {
            format!(
                "case when e.{c} is distinct from a.{c} then {} end",
                lit(col),
                c = ident(col)
            )
        })
        .collect();
    let sql = format!(
        "select coalesce(e.legacy_id, a.legacy_id)::text,
                case when a.legacy_id is null then 'missing in showtree'
                     when e.legacy_id is null then 'in showtree but not expected from the legacy rows'
                     else 'differs in ' || array_to_string(array_remove(array[{}]::text[], null), ', ') end
           from ({expected}) e full join ({actual}) a on a.legacy_id = e.legacy_id
          where e.legacy_id is null or a.legacy_id is null
             or ({}) is distinct from ({})
          order by 1",
        if differs.is_empty() {
            "null".to_owned()
        } else {
            differs.join(", ")
        },
        columns
            .iter()
            .map(|col| format!("e.{}", ident(col)))
            .collect::<Vec<_>>()
            .join(", "),
        columns
            .iter()
            .map(|col| format!("a.{}", ident(col)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let sql = if columns.is_empty() {
        sql.replace("or () is distinct from ()", "")
    } else {
        sql
    };
    let rows = c
        .query(&sql, params)
        .await
        .map_err(ImportError::db_at(format!(
            "listing the rows of {} that differ",
            u.name
        )))?;
    report.add_rows(
        &u.name,
        &u.source,
        rows.into_iter()
            .map(|r| (r.get(0), vec![r.get::<_, String>(1)]))
            .collect(),
    );
    Ok(check)
}

/// Every foreign key of showtree's tables, over the rows of the imported
/// organizations (the backfill writes with the keys' checks off). With
/// `only` (table -> ids), only the keys of those rows, and the keys that
/// reference them.
async fn references(
    c: &impl GenericClient,
    plan: &Plan,
    only: Option<&Scope>,
    report: &mut Report,
) -> Result<usize, ImportError> {
    let Some(orgs) = plan.unit_of(UnitKind::Organization) else {
        return Ok(0);
    };
    let keys = c
        .query(
            "select con.conname::text, ch.relname::text, pa_ns.nspname::text, pa.relname::text,
                    array(select a.attname::text from unnest(con.conkey) with ordinality k(n, i)
                            join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n order by k.i),
                    array(select a.attname::text from unnest(con.confkey) with ordinality k(n, i)
                            join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n order by k.i),
                    exists (select from pg_attribute a where a.attrelid = ch.oid and a.attname = 'org_id' and not a.attisdropped),
                    exists (select from pg_attribute a where a.attrelid = ch.oid and a.attname = 'id' and not a.attisdropped),
                    (select format_type(a.atttypid, a.atttypmod) from pg_attribute a
                      where a.attrelid = ch.oid and a.attname = 'id' and not a.attisdropped),
                    (select format_type(a.atttypid, a.atttypmod) from pg_attribute a
                      where a.attrelid = pa.oid and a.attname = 'id' and not a.attisdropped)
               from pg_constraint con
               join pg_class ch on ch.oid = con.conrelid
               join pg_namespace ns on ns.oid = ch.relnamespace
               join pg_class pa on pa.oid = con.confrelid
               join pg_namespace pa_ns on pa_ns.oid = pa.relnamespace
              where con.contype = 'f' and ns.nspname = 'showtree' and not ch.relispartition
              order by 1",
            &[],
        )
        .await
        .map_err(ImportError::db("reading showtree's foreign keys"))?;
    let mut checked = 0;
    for k in keys {
        let (name, child, pschema, parent): (String, String, String, String) =
            (k.get(0), k.get(1), k.get(2), k.get(3));
        let (cols, pcols): (Vec<String>, Vec<String>) = (k.get(4), k.get(5));
        let (tenant, has_id): (bool, bool) = (k.get(6), k.get(7));
        if !tenant {
            continue;
        }
        // the rows of `only`, and those referencing them
        let mut ids: Vec<Vec<String>> = Vec::new();
        let mut which: Vec<String> = Vec::new();
        if let Some(only) = only {
            let (id_type, pid_type): (Option<String>, Option<String>) = (k.get(8), k.get(9));
            if let (Some(t), Some(mine)) = (
                id_type.filter(|_| has_id),
                only.get(&("showtree".to_owned(), child.clone())),
            ) {
                ids.push(mine.iter().cloned().collect());
                which.push(format!("x.id = any (${}::text[]::{t}[])", ids.len()));
            }
            if let (Some(t), Some(pos), Some(theirs)) = (
                pid_type,
                pcols.iter().position(|p| p == "id"),
                only.get(&(pschema.clone(), parent.clone())),
            ) {
                ids.push(theirs.iter().cloned().collect());
                which.push(format!(
                    "x.{} = any (${}::text[]::{t}[])",
                    ident(&cols[pos]),
                    ids.len()
                ));
            }
            if which.is_empty() {
                continue;
            }
        }
        let which = if which.is_empty() {
            String::new()
        } else {
            format!(" and ({})", which.join(" or "))
        };
        let params: Vec<&(dyn ToSql + Sync)> =
            ids.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        checked += 1;
        let present: Vec<String> = cols
            .iter()
            .map(|c| format!("x.{} is not null", ident(c)))
            .collect();
        let on: Vec<String> = cols
            .iter()
            .zip(&pcols)
            .map(|(c, p)| format!("p.{} = x.{}", ident(p), ident(c)))
            .collect();
        let id = if has_id { "x.id::text" } else { "x.ctid::text" };
        let sql = format!(
            "select {id} from showtree.{child} x
              where x.org_id in (select org_id from {orgs}) and {present}{which}
                and not exists (select from {parent} p where {on}) order by 1",
            child = ident(&child),
            orgs = orgs.map_table(),
            present = present.join(" and "),
            parent = crate::sql::qualified(&pschema, &parent),
            on = on.join(" and "),
        );
        let rows = c
            .query(&sql, &params)
            .await
            .map_err(ImportError::db_at(format!("checking foreign key {name}")))?;
        if !rows.is_empty() {
            report.add_rows(
                &format!("showtree.{child}"),
                &format!("showtree.{child}"),
                rows.into_iter()
                    .map(|r| {
                        (
                            r.get(0),
                            vec![format!("{name}: the row it references does not exist")],
                        )
                    })
                    .collect(),
            );
        }
    }
    Ok(checked)
}
