//! Keeps showtree's roll-ups (migration 0006) exact for the rows the import
//! writes. The import writes with showtree's triggers off
//! (`session_replication_role = replica`), so the roll-up triggers that
//! append to `private.rollup_deltas` do not fire. Two ways make up for it,
//! both append-only like the triggers, so the fold and the readers work
//! unchanged:
//!
//! * per row (dual-write, the catch-up): `rollup_rows` appends what the
//!   written rows contribute, negated before the write and again after
//!   it: the write's exact effect, as 0006's per-row triggers append, at
//!   the cost of a few index lookups ([`around`]);
//! * per node (the end of the backfill, whose batches append nothing):
//!   `rollup_reconcile` computes the nodes' own figures from their rows
//!   (as migration 0006's backfill does for every node) and appends the
//!   difference from what the roll-up store holds (folded own totals plus
//!   pending deltas); `validate` uses the same difference to prove them.
//!
//! Figures are sums over rows, so concurrent writers each append the effect
//! of their own change; the exception is schedule overlaps (pairs of
//! rows), for which writers take a transaction lock on the nodes first.

use crate::plan::{Plan, Unit};
use crate::sql::{ident, lit, own};

/// The figures of a roll-up row, in `private.rollup_deltas` order.
pub const METRICS: [&str; 21] = [
    "tasks_draft",
    "tasks_planning",
    "tasks_active",
    "tasks_review",
    "tasks_completed",
    "tasks_cancelled",
    "tasks_archived",
    "schedule_items",
    "schedule_conflicts",
    "crew_headcount",
    "budget_planned_minor",
    "invoiced_draft_minor",
    "invoiced_active_minor",
    "invoiced_review_minor",
    "invoiced_completed_minor",
    "invoiced_cancelled_minor",
    "invoiced_archived_minor",
    "crew_cost_minor",
    "tasks_open_due",
    "assets_started",
    "assets_ended",
];

/// `showtree_import.rollup_lock`, `rollup_diff`, `rollup_reconcile`,
/// `rollup_reconcile_orgs` and `rollup_rows` (created by expand).
pub fn functions() -> String {
    let unpivot = |alias: &str| {
        METRICS
            .iter()
            .map(|m| format!("('{m}', {alias}.{m})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let pivot = METRICS
        .iter()
        .map(|m| format!("coalesce(sum(d.amount) filter (where d.metric = '{m}'), 0)::bigint"))
        .collect::<Vec<_>>()
        .join(",\n         ");
    let metrics = METRICS.join(", ");
    format!(
        r#"
-- a transaction lock of each node, in one order: writers of one node's
-- schedule take turns (overlap pairs are not sums)
create function {lock}(p_nodes uuid[]) returns void
language plpgsql security definer set search_path = '' as $fn$
declare
  v_key bigint;
begin
  for v_key in select distinct pg_catalog.hashtextextended(x::text, 1919707244) from unnest(p_nodes) x
                where x is not null order by 1 loop
    perform pg_catalog.pg_advisory_xact_lock(v_key);
  end loop;
end
$fn$;

-- the difference, per node, currency, week and figure, between what the
-- rows of the nodes (org_id, node_id) say and what the roll-up store holds
-- (plpgsql: its plan is cached for the session, where an SQL function's
-- would be planned on every call of a dual-write trigger)
create function {diff}(p_orgs uuid[], p_nodes uuid[])
returns table (org_id uuid, node_id uuid, currency char(3), week date, metric text, amount numeric)
language plpgsql stable security definer set search_path = '' as $fn$
#variable_conflict use_column
begin
  return query
  with k as materialized (
    select distinct u.o as org_id, u.n as node_id from unnest(p_orgs, p_nodes) u(o, n) where u.n is not null
  ), want as (
    select t.org_id, t.node_id, 'XXX'::char(3) as currency, '-infinity'::date as week,
           'tasks_' || t.status as metric, 1::numeric as amount
      from showtree.tasks t join k on k.org_id = t.org_id and k.node_id = t.node_id
     where t.deleted_at is null
    union all
    select b.org_id, b.node_id, b.currency, '-infinity', 'budget_planned_minor', b.amount_minor
      from showtree.budget_lines b join k on k.org_id = b.org_id and k.node_id = b.node_id
     where b.deleted_at is null
    union all
    select i.org_id, i.node_id, i.currency, '-infinity', 'invoiced_' || i.status || '_minor',
           round(l.quantity * l.unit_amount_minor)
      from showtree.invoices i join k on k.org_id = i.org_id and k.node_id = i.node_id
      join showtree.invoice_lines l on l.org_id = i.org_id and l.invoice_id = i.id
     -- `is true`: a plain `deleted_at is null` lets the planner prefer the
     -- partial (org_id, vendor_id, number) index, read whole per node
     -- (1.6 s of 3.6 s for every node of scale 0.02)
     where (i.deleted_at is null) is true and l.deleted_at is null
    union all
    select a.org_id, a.node_id, 'XXX', '-infinity', 'crew_headcount', 1
      from showtree.crew_assignments a join k on k.org_id = a.org_id and k.node_id = a.node_id
     where a.deleted_at is null and a.status <> 'cancelled'
    union all
    select a.org_id, a.node_id, a.currency, '-infinity', 'crew_cost_minor',
           private.crew_cost_minor(a.rate_amount_minor, a.rate_unit, a.call_at, a.wrap_at)
      from showtree.crew_assignments a join k on k.org_id = a.org_id and k.node_id = a.node_id
     where a.deleted_at is null and a.status <> 'cancelled'
       and private.crew_cost_minor(a.rate_amount_minor, a.rate_unit, a.call_at, a.wrap_at) <> 0
    union all
    select s.org_id, s.node_id, 'XXX', '-infinity', 'schedule_items', 1
      from showtree.schedule_items s join k on k.org_id = s.org_id and k.node_id = s.node_id
     where s.deleted_at is null
    union all
    select s.org_id, s.node_id, 'XXX', '-infinity', 'schedule_conflicts', 1
      from showtree.schedule_items s join k on k.org_id = s.org_id and k.node_id = s.node_id
      join showtree.schedule_items o
        on o.org_id = s.org_id and o.node_id = s.node_id and o.location = s.location and o.id > s.id
       and o.deleted_at is null and o.starts_at < s.ends_at and s.starts_at < o.ends_at
     where s.deleted_at is null
    union all
    select t.org_id, t.node_id, 'XXX', private.rollup_week(t.due_at), 'tasks_open_due', 1
      from showtree.tasks t join k on k.org_id = t.org_id and k.node_id = t.node_id
     where t.deleted_at is null and t.due_at is not null
       and t.status in ('draft', 'planning', 'active', 'review')
    union all
    select a.org_id, a.node_id, 'XXX', private.rollup_week(m.at), m.metric, 1
      from showtree.asset_assignments a join k on k.org_id = a.org_id and k.node_id = a.node_id
      join showtree.assets x on x.org_id = a.org_id and x.id = a.asset_id and x.deleted_at is null
     cross join lateral (values (a.starts_at, 'assets_started'), (a.ends_at, 'assets_ended')) m(at, metric)
     where a.deleted_at is null and m.at is not null
  ), have as (
    select o.org_id, o.node_id, o.currency, o.week, m.metric, m.amount::numeric
      from private.rollup_own o join k on k.org_id = o.org_id and k.node_id = o.node_id
     cross join lateral (values {own_values}) m(metric, amount)
    union all
    select o.org_id, o.node_id, o.currency, o.week, m.metric, m.amount::numeric
      from private.rollup_deltas o join k on k.org_id = o.org_id and k.node_id = o.node_id
     cross join lateral (values {own_values}) m(metric, amount)
  )
  select x.org_id, x.node_id, x.currency, x.week, x.metric, sum(x.amount)
    from (select w.org_id, w.node_id, w.currency, w.week, w.metric, w.amount from want w
          union all
          select h.org_id, h.node_id, h.currency, h.week, h.metric, -h.amount from have h) x
   group by x.org_id, x.node_id, x.currency, x.week, x.metric
  having sum(x.amount) <> 0;
end
$fn$;

-- appends the difference as deltas; returns how many delta rows
create function {reconcile}(p_orgs uuid[], p_nodes uuid[], p_lock boolean) returns bigint
language plpgsql security definer set search_path = '' as $fn$
declare
  n bigint;
begin
  if coalesce(cardinality(p_nodes), 0) = 0 then
    return 0;
  end if;
  -- overlap pairs are not sums: writers of one node's schedule take
  -- turns (in a fixed order); the statement below then sees the previous
  -- one's rows and deltas
  if p_lock then
    perform {lock}(p_nodes);
  end if;
  insert into private.rollup_deltas (org_id, node_id, currency, week, {metrics})
  select d.org_id, d.node_id, d.currency, d.week,
         {pivot}
    from {diff}(p_orgs, p_nodes) d
   group by d.org_id, d.node_id, d.currency, d.week;
  get diagnostics n = row_count;
  return n;
end
$fn$;

-- every node of the organizations, at once
create function {reconcile_orgs}(p_orgs uuid[]) returns bigint
language sql security definer set search_path = '' as $fn$
  with ins as (
  insert into private.rollup_deltas (org_id, node_id, currency, week, {metrics})
  select d.org_id, d.node_id, d.currency, d.week,
         {pivot}
    from {diff}(array(select n.org_id from showtree.nodes n where n.org_id = any (p_orgs)),
                array(select n.id from showtree.nodes n where n.org_id = any (p_orgs))) d
   group by d.org_id, d.node_id, d.currency, d.week
  returning 1)
  select count(*) from ins
$fn$;
{rows}"#,
        diff = own("rollup_diff"),
        reconcile = own("rollup_reconcile"),
        reconcile_orgs = own("rollup_reconcile_orgs"),
        lock = own("rollup_lock"),
        rows = rows_function(),
        own_values = unpivot("o"),
    )
}

/// The showtree tables whose rows count in roll-up figures, each with the
/// `select org_id, node_id, currency, week, metric, amount` of what the
/// rows keyed in `k (org_id, id)` contribute (the same figures as
/// [`functions`]' `rollup_diff` and migration 0006's triggers).
/// Schedule conflicts are pairs: every live overlapping pair with at least
/// one member in `k`, counted once.
fn contributions(table: &str) -> Option<&'static str> {
    Some(match table {
        "tasks" => {
            "select t.org_id, t.node_id, 'XXX'::char(3) as currency, '-infinity'::date as week,
           'tasks_' || t.status as metric, 1::numeric as amount
      from showtree.tasks t join k on k.org_id = t.org_id and k.id = t.id
     where t.deleted_at is null
    union all
    select t.org_id, t.node_id, 'XXX', private.rollup_week(t.due_at), 'tasks_open_due', 1
      from showtree.tasks t join k on k.org_id = t.org_id and k.id = t.id
     where t.deleted_at is null and t.due_at is not null
       and t.status in ('draft', 'planning', 'active', 'review')"
        }
        "budget_lines" => {
            "select b.org_id, b.node_id, b.currency, '-infinity'::date as week,
           'budget_planned_minor' as metric, b.amount_minor::numeric as amount
      from showtree.budget_lines b join k on k.org_id = b.org_id and k.id = b.id
     where b.deleted_at is null"
        }
        "invoices" => {
            "select i.org_id, i.node_id, i.currency, '-infinity'::date as week,
           'invoiced_' || i.status || '_minor' as metric, round(l.quantity * l.unit_amount_minor) as amount
      from showtree.invoices i join k on k.org_id = i.org_id and k.id = i.id
      join showtree.invoice_lines l on l.org_id = i.org_id and l.invoice_id = i.id
     where i.deleted_at is null and l.deleted_at is null"
        }
        "invoice_lines" => {
            "select i.org_id, i.node_id, i.currency, '-infinity'::date as week,
           'invoiced_' || i.status || '_minor' as metric, round(l.quantity * l.unit_amount_minor) as amount
      from showtree.invoice_lines l join k on k.org_id = l.org_id and k.id = l.id
      join showtree.invoices i on i.org_id = l.org_id and i.id = l.invoice_id
     where i.deleted_at is null and l.deleted_at is null"
        }
        "crew_assignments" => {
            "select a.org_id, a.node_id, 'XXX'::char(3) as currency, '-infinity'::date as week,
           'crew_headcount' as metric, 1::numeric as amount
      from showtree.crew_assignments a join k on k.org_id = a.org_id and k.id = a.id
     where a.deleted_at is null and a.status <> 'cancelled'
    union all
    select a.org_id, a.node_id, a.currency, '-infinity', 'crew_cost_minor',
           private.crew_cost_minor(a.rate_amount_minor, a.rate_unit, a.call_at, a.wrap_at)
      from showtree.crew_assignments a join k on k.org_id = a.org_id and k.id = a.id
     where a.deleted_at is null and a.status <> 'cancelled'
       and private.crew_cost_minor(a.rate_amount_minor, a.rate_unit, a.call_at, a.wrap_at) <> 0"
        }
        "schedule_items" => {
            "select s.org_id, s.node_id, 'XXX'::char(3) as currency, '-infinity'::date as week,
           'schedule_items' as metric, 1::numeric as amount
      from showtree.schedule_items s join k on k.org_id = s.org_id and k.id = s.id
     where s.deleted_at is null
    union all
    select p.org_id, p.node_id, 'XXX', '-infinity', 'schedule_conflicts', 1
      from (select distinct s.org_id, s.node_id, least(s.id, o.id), greatest(s.id, o.id)
              from showtree.schedule_items s join k on k.org_id = s.org_id and k.id = s.id
              join showtree.schedule_items o
                on o.org_id = s.org_id and o.node_id = s.node_id and o.location = s.location and o.id <> s.id
               and o.deleted_at is null and o.starts_at < s.ends_at and s.starts_at < o.ends_at
             where s.deleted_at is null) p (org_id, node_id, a, b)"
        }
        "asset_assignments" => {
            "select a.org_id, a.node_id, 'XXX'::char(3) as currency, private.rollup_week(m.at) as week,
           m.metric, 1::numeric as amount
      from showtree.asset_assignments a join k on k.org_id = a.org_id and k.id = a.id
      join showtree.assets x on x.org_id = a.org_id and x.id = a.asset_id and x.deleted_at is null
     cross join lateral (values (a.starts_at, 'assets_started'), (a.ends_at, 'assets_ended')) m(at, metric)
     where a.deleted_at is null and m.at is not null"
        }
        "assets" => {
            "select a.org_id, a.node_id, 'XXX'::char(3) as currency, private.rollup_week(m.at) as week,
           m.metric, 1::numeric as amount
      from showtree.assets x join k on k.org_id = x.org_id and k.id = x.id
      join showtree.asset_assignments a on a.org_id = x.org_id and a.asset_id = x.id
     cross join lateral (values (a.starts_at, 'assets_started'), (a.ends_at, 'assets_ended')) m(at, metric)
     where x.deleted_at is null and a.deleted_at is null and m.at is not null"
        }
        _ => return None,
    })
}

/// The showtree tables [`contributions`] knows, in a fixed order.
const COUNTED: [&str; 8] = [
    "tasks",
    "budget_lines",
    "invoices",
    "invoice_lines",
    "crew_assignments",
    "schedule_items",
    "asset_assignments",
    "assets",
];

/// `showtree_import.rollup_rows(table, orgs, ids, sign)`: appends to
/// `private.rollup_deltas` `sign` times what the rows `(orgs[i], ids[i])` of
/// showtree table `table` contribute to their nodes' figures. Called with
/// -1 before a write and +1 after it, over the same keys, it appends
/// exactly the write's effect, as migration 0006's per-row triggers do
/// (which do not fire for the import's writes: showtree's triggers are off).
pub fn rows_function() -> String {
    let pivot = METRICS
        .iter()
        .map(|m| {
            format!("(p_sign * coalesce(sum(d.amount) filter (where d.metric = '{m}'), 0))::bigint")
        })
        .collect::<Vec<_>>()
        .join(",\n           ");
    let metrics = METRICS.join(", ");
    let mut branches = String::new();
    for (i, table) in COUNTED.iter().enumerate() {
        let Some(select) = contributions(table) else {
            continue;
        };
        branches += &format!(
            "  {kw} p_table = '{table}' then
    insert into private.rollup_deltas (org_id, node_id, currency, week, {metrics})
    select d.org_id, d.node_id, d.currency, d.week,
           {pivot}
      from (with k as (select distinct u.o as org_id, u.i as id from unnest(p_orgs, p_ids) u(o, i) where u.i is not null)
    {select}) d
     where d.amount <> 0
     group by d.org_id, d.node_id, d.currency, d.week;
",
            kw = if i == 0 { "if" } else { "elsif" },
        );
    }
    format!(
        r#"
-- sign times what the rows contribute to their nodes' roll-up figures,
-- appended as deltas (before a write with -1, after it with +1)
create function {rows}(p_table text, p_orgs uuid[], p_ids uuid[], p_sign integer) returns bigint
language plpgsql security definer set search_path = '' as $fn$
declare
  n bigint := 0;
begin
  if coalesce(cardinality(p_ids), 0) = 0 then
    return 0;
  end if;
{branches}  end if;
  get diagnostics n = row_count;
  return n;
end
$fn$;
"#,
        rows = own("rollup_rows"),
    )
}

/// plpgsql declarations for [`around`].
pub const DECLARE: &str = "v_rollup_orgs uuid[] := '{}';\n  v_rollup_ids uuid[] := '{}';\n  v_rollup_nodes uuid[] := '{}';\n";

/// plpgsql statements before and after a write of `u`'s rows for the
/// legacy ids `ids` (an expression of the unit's key type): what the
/// showtree rows of those ids contribute to the roll-up figures is
/// appended negated before the write and again after it, so the deltas
/// carry exactly the write's effect (migration 0006's per-row triggers do
/// the same for showtree's own writes). Empty when `u`'s rows count in no
/// roll-up.
///
/// Schedule conflicts are pairs of rows: a writer counts them under a
/// transaction lock of every node the rows leave or enter (in one order,
/// before counting), so two writers of one node see each other's rows
/// exactly once (the lock `rollup_reconcile` takes too).
pub fn around(plan: &Plan, u: &Unit, ids: &str) -> (String, String) {
    let table = u.target.1.as_str();
    if u.target.0 != "showtree" || contributions(table).is_none() {
        return (String::new(), String::new());
    }
    let map = u.map_table();
    let rows = own("rollup_rows");
    let mut before = format!(
        "  select coalesce(array_agg(m.org_id), '{{}}'), coalesce(array_agg(m.new_id), '{{}}')
    into v_rollup_orgs, v_rollup_ids from {map} m where m.legacy_id = any ({ids});\n"
    );
    if table == "schedule_items" {
        // the nodes the rows are in now, and those the legacy rows say
        before += &format!(
            "  select coalesce(array_agg(z.node_id), '{{}}') into v_rollup_nodes from (
    select x.node_id from {target} x join unnest(v_rollup_orgs, v_rollup_ids) k(org_id, id)
        on x.org_id = k.org_id and x.id = k.id
    union all
    select {node} from {legacy} t left join {map} m on m.legacy_id = t.{pk} {joins}
     where t.{pk} = any ({ids}) and {filter}) z;
  perform {lock}(v_rollup_nodes);\n",
            target = u.target_table(),
            node = u.node_expr,
            legacy = plan.legacy(&u.source),
            joins = u.joins.join(" "),
            pk = ident(&u.pk),
            filter = u.filter_sql(),
            lock = own("rollup_lock"),
        );
    }
    before += &format!(
        "  perform {rows}({t}, v_rollup_orgs, v_rollup_ids, -1);\n",
        t = lit(table)
    );
    let after = format!(
        "  select v_rollup_orgs || coalesce(array_agg(m.org_id), '{{}}'), v_rollup_ids || coalesce(array_agg(m.new_id), '{{}}')
    into v_rollup_orgs, v_rollup_ids from {map} m where m.legacy_id = any ({ids}) and m.new_id <> all (v_rollup_ids);
  perform {rows}({t}, v_rollup_orgs, v_rollup_ids, 1);\n",
        t = lit(table)
    );
    (before, after)
}
