//! Keeps showtree's roll-ups (migration 0006) exact for the rows the import
//! writes, append-only like 0006's triggers, so the fold and the readers
//! work unchanged:
//!
//! * per row (dual-write, the catch-up): the import writes through
//!   showtree's triggers (migration 0013 lets it skip only those that keep
//!   columns or check transitions), so 0006's roll-up triggers append each
//!   write's deltas, schedule items under 0006's per-(node, location) lock
//!   like the API's writes;
//! * per node (the end of the backfill, whose batches write with every
//!   showtree trigger off and append nothing): `rollup_reconcile_orgs`
//!   computes the nodes' own figures from their rows (as migration 0006's
//!   backfill does for every node) and appends the difference from what
//!   the roll-up store holds (folded own totals plus pending deltas);
//!   `validate` uses the same difference (`rollup_diff`) to prove them.

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

/// The figures counted by week (the rest live in the `-infinity` week).
const DATED: [&str; 3] = ["tasks_open_due", "assets_started", "assets_ended"];

/// `showtree_import.rollup_diff`, `rollup_reconcile` (some nodes) and
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
    -- a delta in a dated week may carry undated figures (a task's, since
    -- migration 0023): they count in '-infinity', as the fold puts them
    select o.org_id, o.node_id, o.currency,
           case when m.metric in ({dated}) then o.week
                else '-infinity'::date end,
           m.metric, m.amount::numeric
      from private.rollup_pending o join k on k.org_id = o.org_id and k.node_id = o.node_id
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

-- appends the difference of the nodes (org_id, node_id): afterwards their
-- figures are what their rows say
create function {reconcile}(p_orgs uuid[], p_nodes uuid[]) returns bigint
language sql security definer set search_path = '' as $fn$
  with ins as (
  insert into private.rollup_deltas (org_id, node_id, currency, week, {metrics})
  select d.org_id, d.node_id, d.currency, d.week,
         {pivot}
    from {diff}(p_orgs, p_nodes) d
   group by d.org_id, d.node_id, d.currency, d.week
  returning 1)
  select count(*) from ins
$fn$;

-- every node of the organizations, at once
create function {reconcile_orgs}(p_orgs uuid[]) returns bigint
language sql security definer set search_path = '' as $fn$
  select {reconcile}(array(select n.org_id from showtree.nodes n where n.org_id = any (p_orgs)),
                     array(select n.id from showtree.nodes n where n.org_id = any (p_orgs)))
$fn$;
"#,
        diff = own("rollup_diff"),
        reconcile = own("rollup_reconcile"),
        reconcile_orgs = own("rollup_reconcile_orgs"),
        own_values = unpivot("o"),
        dated = DATED
            .iter()
            .map(|m| format!("'{m}'"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}
