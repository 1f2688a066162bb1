//! Keeps showtree's roll-ups (migration 0006) exact for the rows the import
//! writes. The import writes with showtree's triggers off
//! (`session_replication_role = replica`), so the roll-up triggers that
//! append to `private.rollup_deltas` do not fire. Instead, for every node
//! an import write touches, `rollup_reconcile` computes the node's own
//! figures from its rows (as migration 0006's backfill does for every
//! node) and appends the difference from what the roll-up store holds
//! (folded own totals plus pending deltas) as one more delta: append-only,
//! like the triggers, so the fold and the readers work unchanged.
//!
//! Figures are sums over rows, so two writers reconciling one node from
//! their own snapshots each append the effect of their own change; the
//! exception is schedule overlaps (pairs of rows), for which the
//! reconciliation takes a transaction lock on the node first.

use crate::plan::Unit;
use crate::sql::own;

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

/// `showtree_import.rollup_diff`, `rollup_reconcile` and
/// `rollup_reconcile_orgs` (created by expand).
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
     where i.deleted_at is null and l.deleted_at is null
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
  v_key bigint;
begin
  if coalesce(cardinality(p_nodes), 0) = 0 then
    return 0;
  end if;
  -- overlap pairs are not sums: writers of one node's schedule take
  -- turns (in a fixed order); the statement below then sees the previous
  -- one's rows and deltas
  if p_lock then
    for v_key in select distinct pg_catalog.hashtextextended(x::text, 1919707244) from unnest(p_nodes) x
                  where x is not null order by 1 loop
      perform pg_catalog.pg_advisory_xact_lock(v_key);
    end loop;
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
"#,
        diff = own("rollup_diff"),
        reconcile = own("rollup_reconcile"),
        reconcile_orgs = own("rollup_reconcile_orgs"),
        own_values = unpivot("o"),
    )
}

/// A `select org_id, node_id` of the nodes whose roll-up figures the
/// showtree rows of `u` mapped from the legacy ids `ids` count in; `None`
/// when the target's rows count in no roll-up.
pub fn nodes_of(u: &Unit, ids: &str) -> Option<String> {
    let (schema, table) = (&u.target.0, &u.target.1);
    if schema != "showtree" {
        return None;
    }
    let mapped = format!(
        "{map} m join {target} x on x.org_id = m.org_id and x.id = m.new_id",
        map = u.map_table(),
        target = u.target_table(),
    );
    let which = format!("where m.legacy_id = any ({ids})");
    match table.as_str() {
        "tasks" | "budget_lines" | "invoices" | "crew_assignments" | "schedule_items"
        | "asset_assignments" => Some(format!("select x.org_id, x.node_id from {mapped} {which}")),
        "invoice_lines" => Some(format!(
            "select i.org_id, i.node_id from {mapped}
               join showtree.invoices i on i.org_id = x.org_id and i.id = x.invoice_id {which}"
        )),
        "assets" => Some(format!(
            "select a.org_id, a.node_id from {mapped}
               join showtree.asset_assignments a on a.org_id = x.org_id and a.asset_id = x.id {which}"
        )),
        _ => None,
    }
}

/// plpgsql declarations for [`around`].
pub const DECLARE: &str = "v_rollup_orgs uuid[] := '{}';\n  v_rollup_nodes uuid[] := '{}';\n";

/// plpgsql statements before and after a write of `u`'s rows for the
/// legacy ids `ids`: collect the nodes they count in, before and after,
/// then reconcile those nodes. Empty when `u`'s rows count in no roll-up.
pub fn around(u: &Unit, ids: &str) -> (String, String) {
    let Some(nodes) = nodes_of(u, ids) else {
        return (String::new(), String::new());
    };
    let collect = format!(
        "select v_rollup_orgs || coalesce(array_agg(z.org_id), '{{}}'), v_rollup_nodes || coalesce(array_agg(z.node_id), '{{}}')
    into v_rollup_orgs, v_rollup_nodes from ({nodes}) z;\n"
    );
    (
        format!("  {collect}"),
        format!(
            "  {collect}  perform {}(v_rollup_orgs, v_rollup_nodes, {});\n",
            own("rollup_reconcile"),
            u.target.1 == "schedule_items"
        ),
    )
}
