-- What the roll-up triggers cost a write (issue 6's goal: writers keep at
-- least 85% of their throughput). Measured per insert, backend CPU time:
--  * rollup_deltas_weeks_check (migration 0010) was a third of a delta's
--    insert: PostgreSQL parses a check constraint's stored expression
--    again for every statement that inserts (8,816 characters here), and
--    every delta is its own statement. The layout it guards (undated
--    figures only in the '-infinity' week, dated ones only in real weeks)
--    is now checked on rollup_own and rollup_subtree instead, which only
--    the fold, moves and rebuilds write, a statement per batch: a writer
--    that broke it would make the next fold of its organization fail (the
--    property test folds among its writes), where the reader would
--    otherwise sum it wrong;
--  * an open task with a due date wrote its two delta rows in two
--    statements: now one;
--  * an invoice line read its invoice `for share` in one statement, then
--    called private.rollup_invoiced (a function with its own search_path
--    setting) to insert: now one statement locks and inserts;
--  * tasks_rollup_due_idx duplicated tasks_due_at_idx (same key, same
--    rows but the closed tasks): tasks_due_at_idx now carries node_id and
--    status, and serves the readers' count of this week's open tasks;
--  * the fold, which `showtree serve` runs beside the writers on the same
--    cores, cost about as much CPU per delta as the trigger that wrote
--    it. It no longer locks the deltas it takes (`for update skip
--    locked`: one more WAL record per delta; only one fold of an
--    organization runs at a time, under its advisory lock, and writers'
--    uncommitted deltas are invisible to it anyway), and it deletes the
--    totals that came to zero from the rows its upserts return instead of
--    scanning both tables for them (a search of the touched nodes' array
--    per stored row).

alter table private.rollup_deltas drop constraint rollup_deltas_weeks_check;

-- a | b | ... = 0 holds exactly when every one of them is 0
alter table private.rollup_own add constraint rollup_own_weeks_check check (
  case when week = '-infinity'
       then (tasks_open_due | assets_started | assets_ended) = 0
       else (tasks_draft | tasks_planning | tasks_active | tasks_review | tasks_completed | tasks_cancelled | tasks_archived | schedule_items | schedule_conflicts | crew_headcount | budget_planned_minor | invoiced_draft_minor | invoiced_active_minor | invoiced_review_minor | invoiced_completed_minor | invoiced_cancelled_minor | invoiced_archived_minor | crew_cost_minor) = 0
  end);
alter table private.rollup_subtree add constraint rollup_subtree_weeks_check check (
  case when week = '-infinity'
       then (tasks_open_due | assets_started | assets_ended) = 0
       else (tasks_draft | tasks_planning | tasks_active | tasks_review | tasks_completed | tasks_cancelled | tasks_archived | schedule_items | schedule_conflicts | crew_headcount | budget_planned_minor | invoiced_draft_minor | invoiced_active_minor | invoiced_review_minor | invoiced_completed_minor | invoiced_cancelled_minor | invoiced_archived_minor | crew_cost_minor) = 0
  end);

-- Tasks: one per status, while live; and one by due week while open. The
-- rows before (negated) and after, in one statement.
create or replace function private.rollup_tasks() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into private.rollup_deltas (org_id, node_id, currency, week, tasks_draft, tasks_planning,
    tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, tasks_open_due)
  select r.org_id, r.node_id, 'XXX', r.week,
         r.sign * (r.status is not distinct from 'draft')::int, r.sign * (r.status is not distinct from 'planning')::int,
         r.sign * (r.status is not distinct from 'active')::int, r.sign * (r.status is not distinct from 'review')::int,
         r.sign * (r.status is not distinct from 'completed')::int, r.sign * (r.status is not distinct from 'cancelled')::int,
         r.sign * (r.status is not distinct from 'archived')::int, r.sign * r.due
    from (values
      (old.org_id, old.node_id, -1, old.status, '-infinity'::date, 0,
       tg_op <> 'INSERT' and old.deleted_at is null),
      (old.org_id, old.node_id, -1, null, private.rollup_week(old.due_at), 1,
       tg_op <> 'INSERT' and old.deleted_at is null and old.due_at is not null
       and old.status in ('draft', 'planning', 'active', 'review')),
      (new.org_id, new.node_id, 1, new.status, '-infinity'::date, 0,
       tg_op <> 'DELETE' and new.deleted_at is null),
      (new.org_id, new.node_id, 1, null, private.rollup_week(new.due_at), 1,
       tg_op <> 'DELETE' and new.deleted_at is null and new.due_at is not null
       and new.status in ('draft', 'planning', 'active', 'review'))
    ) r(org_id, node_id, sign, status, week, due, wanted)
   where r.wanted;
  return null;
end
$$;

-- Invoice lines: their amount, on their invoice's node, currency and
-- status, while both are live; the invoice read `for share` (a concurrent
-- change of its status, node, currency or liveness waits for this
-- transaction or this one for it), in the statement that inserts. A line
-- whose invoice is gone or deleted counts for nothing, as before.
create or replace function private.rollup_invoice_lines() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into private.rollup_deltas (org_id, node_id, currency, invoiced_draft_minor,
    invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor,
    invoiced_cancelled_minor, invoiced_archived_minor)
  select i.org_id, i.node_id, i.currency,
         case when i.status = 'draft' then l.amount else 0 end,
         case when i.status = 'active' then l.amount else 0 end,
         case when i.status = 'review' then l.amount else 0 end,
         case when i.status = 'completed' then l.amount else 0 end,
         case when i.status = 'cancelled' then l.amount else 0 end,
         case when i.status = 'archived' then l.amount else 0 end
    from (values
      (old.org_id, old.invoice_id, -round(old.quantity * old.unit_amount_minor)::bigint,
       tg_op <> 'INSERT' and old.deleted_at is null),
      (new.org_id, new.invoice_id, round(new.quantity * new.unit_amount_minor)::bigint,
       tg_op <> 'DELETE' and new.deleted_at is null)) l(org_id, invoice_id, amount, wanted)
   cross join lateral (
     -- locked whether deleted or not, then tested: a restore in progress
     -- must wait for this line as any other change of the invoice
     select x.org_id, x.node_id, x.currency, x.status, x.deleted_at
       from showtree.invoices x
      where l.wanted and l.amount <> 0 and x.org_id = l.org_id and x.id = l.invoice_id
        for share) i
   where i.deleted_at is null;
  return null;
end
$$;

drop index showtree.tasks_rollup_due_idx;
drop index showtree.tasks_due_at_idx;
create index tasks_due_at_idx on showtree.tasks (org_id, due_at) include (node_id, status)
  where deleted_at is null and due_at is not null;

-- Folds up to `p_limit` committed deltas of one organization (migration
-- 0006; see the head of this file for what changed).
create or replace function private.rollup_fold(p_org_id uuid, p_limit integer) returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  folded integer;
  own_zero uuid[];
  subtree_zero uuid[];
begin
  if not pg_catalog.pg_try_advisory_xact_lock(1919707244, private.rollup_lock_key(p_org_id)) then
    return 0;
  end if;
  with taken as (
    delete from private.rollup_deltas d
     where d.org_id = p_org_id
       and (d.node_id, d.id) in (
         select x.node_id, x.id from private.rollup_deltas x
          where x.org_id = p_org_id
          limit greatest(p_limit, 1))
    returning d.*
  ), summed as (
    select t.node_id, t.currency, t.week,
           sum(t.tasks_draft)::bigint as tasks_draft,
           sum(t.tasks_planning)::bigint as tasks_planning,
           sum(t.tasks_active)::bigint as tasks_active,
           sum(t.tasks_review)::bigint as tasks_review,
           sum(t.tasks_completed)::bigint as tasks_completed,
           sum(t.tasks_cancelled)::bigint as tasks_cancelled,
           sum(t.tasks_archived)::bigint as tasks_archived,
           sum(t.schedule_items)::bigint as schedule_items,
           sum(t.schedule_conflicts)::bigint as schedule_conflicts,
           sum(t.crew_headcount)::bigint as crew_headcount,
           sum(t.budget_planned_minor)::bigint as budget_planned_minor,
           sum(t.invoiced_draft_minor)::bigint as invoiced_draft_minor,
           sum(t.invoiced_active_minor)::bigint as invoiced_active_minor,
           sum(t.invoiced_review_minor)::bigint as invoiced_review_minor,
           sum(t.invoiced_completed_minor)::bigint as invoiced_completed_minor,
           sum(t.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
           sum(t.invoiced_archived_minor)::bigint as invoiced_archived_minor,
           sum(t.crew_cost_minor)::bigint as crew_cost_minor,
           sum(t.tasks_open_due)::bigint as tasks_open_due,
           sum(t.assets_started)::bigint as assets_started,
           sum(t.assets_ended)::bigint as assets_ended
      from taken t
     group by t.node_id, t.currency, t.week
  ), placed as (
    -- the node's path when it is live (the subtrees it is in), else nothing
    select s.*, n.deleted_at is null as live, n.ancestors || n.id as path
      from summed s
      join showtree.nodes n on n.org_id = p_org_id and n.id = s.node_id
  ), own as (
    insert into private.rollup_own as r (org_id, node_id, currency, week, tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
    select p_org_id, p.node_id, p.currency, p.week, p.tasks_draft, p.tasks_planning, p.tasks_active, p.tasks_review, p.tasks_completed, p.tasks_cancelled, p.tasks_archived, p.schedule_items, p.schedule_conflicts, p.crew_headcount, p.budget_planned_minor, p.invoiced_draft_minor, p.invoiced_active_minor, p.invoiced_review_minor, p.invoiced_completed_minor, p.invoiced_cancelled_minor, p.invoiced_archived_minor, p.crew_cost_minor, p.tasks_open_due, p.assets_started, p.assets_ended
      from placed p
     -- one order for every writer of these rows: locks are taken alike
     order by p.node_id, p.currency, p.week
    on conflict (org_id, node_id, currency, week) do update set
      tasks_draft = r.tasks_draft + excluded.tasks_draft,
      tasks_planning = r.tasks_planning + excluded.tasks_planning,
      tasks_active = r.tasks_active + excluded.tasks_active,
      tasks_review = r.tasks_review + excluded.tasks_review,
      tasks_completed = r.tasks_completed + excluded.tasks_completed,
      tasks_cancelled = r.tasks_cancelled + excluded.tasks_cancelled,
      tasks_archived = r.tasks_archived + excluded.tasks_archived,
      schedule_items = r.schedule_items + excluded.schedule_items,
      schedule_conflicts = r.schedule_conflicts + excluded.schedule_conflicts,
      crew_headcount = r.crew_headcount + excluded.crew_headcount,
      budget_planned_minor = r.budget_planned_minor + excluded.budget_planned_minor,
      invoiced_draft_minor = r.invoiced_draft_minor + excluded.invoiced_draft_minor,
      invoiced_active_minor = r.invoiced_active_minor + excluded.invoiced_active_minor,
      invoiced_review_minor = r.invoiced_review_minor + excluded.invoiced_review_minor,
      invoiced_completed_minor = r.invoiced_completed_minor + excluded.invoiced_completed_minor,
      invoiced_cancelled_minor = r.invoiced_cancelled_minor + excluded.invoiced_cancelled_minor,
      invoiced_archived_minor = r.invoiced_archived_minor + excluded.invoiced_archived_minor,
      crew_cost_minor = r.crew_cost_minor + excluded.crew_cost_minor,
      tasks_open_due = r.tasks_open_due + excluded.tasks_open_due,
      assets_started = r.assets_started + excluded.assets_started,
      assets_ended = r.assets_ended + excluded.assets_ended
    returning r.node_id, r.currency, r.week, (r.tasks_draft | r.tasks_planning | r.tasks_active | r.tasks_review | r.tasks_completed | r.tasks_cancelled | r.tasks_archived | r.schedule_items | r.schedule_conflicts | r.crew_headcount | r.budget_planned_minor | r.invoiced_draft_minor | r.invoiced_active_minor | r.invoiced_review_minor | r.invoiced_completed_minor | r.invoiced_cancelled_minor | r.invoiced_archived_minor | r.crew_cost_minor | r.tasks_open_due | r.assets_started | r.assets_ended) = 0 as zero
  ), subtree as (
    insert into private.rollup_subtree as r (org_id, node_id, currency, week, tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
    select p_org_id, a.node_id, p.currency, p.week,
           sum(p.tasks_draft)::bigint as tasks_draft,
           sum(p.tasks_planning)::bigint as tasks_planning,
           sum(p.tasks_active)::bigint as tasks_active,
           sum(p.tasks_review)::bigint as tasks_review,
           sum(p.tasks_completed)::bigint as tasks_completed,
           sum(p.tasks_cancelled)::bigint as tasks_cancelled,
           sum(p.tasks_archived)::bigint as tasks_archived,
           sum(p.schedule_items)::bigint as schedule_items,
           sum(p.schedule_conflicts)::bigint as schedule_conflicts,
           sum(p.crew_headcount)::bigint as crew_headcount,
           sum(p.budget_planned_minor)::bigint as budget_planned_minor,
           sum(p.invoiced_draft_minor)::bigint as invoiced_draft_minor,
           sum(p.invoiced_active_minor)::bigint as invoiced_active_minor,
           sum(p.invoiced_review_minor)::bigint as invoiced_review_minor,
           sum(p.invoiced_completed_minor)::bigint as invoiced_completed_minor,
           sum(p.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
           sum(p.invoiced_archived_minor)::bigint as invoiced_archived_minor,
           sum(p.crew_cost_minor)::bigint as crew_cost_minor,
           sum(p.tasks_open_due)::bigint as tasks_open_due,
           sum(p.assets_started)::bigint as assets_started,
           sum(p.assets_ended)::bigint as assets_ended
      from placed p
     cross join unnest(p.path) as a(node_id)
     where p.live
     group by a.node_id, p.currency, p.week
     order by a.node_id, p.currency, p.week
    on conflict (org_id, node_id, currency, week) do update set
      tasks_draft = r.tasks_draft + excluded.tasks_draft,
      tasks_planning = r.tasks_planning + excluded.tasks_planning,
      tasks_active = r.tasks_active + excluded.tasks_active,
      tasks_review = r.tasks_review + excluded.tasks_review,
      tasks_completed = r.tasks_completed + excluded.tasks_completed,
      tasks_cancelled = r.tasks_cancelled + excluded.tasks_cancelled,
      tasks_archived = r.tasks_archived + excluded.tasks_archived,
      schedule_items = r.schedule_items + excluded.schedule_items,
      schedule_conflicts = r.schedule_conflicts + excluded.schedule_conflicts,
      crew_headcount = r.crew_headcount + excluded.crew_headcount,
      budget_planned_minor = r.budget_planned_minor + excluded.budget_planned_minor,
      invoiced_draft_minor = r.invoiced_draft_minor + excluded.invoiced_draft_minor,
      invoiced_active_minor = r.invoiced_active_minor + excluded.invoiced_active_minor,
      invoiced_review_minor = r.invoiced_review_minor + excluded.invoiced_review_minor,
      invoiced_completed_minor = r.invoiced_completed_minor + excluded.invoiced_completed_minor,
      invoiced_cancelled_minor = r.invoiced_cancelled_minor + excluded.invoiced_cancelled_minor,
      invoiced_archived_minor = r.invoiced_archived_minor + excluded.invoiced_archived_minor,
      crew_cost_minor = r.crew_cost_minor + excluded.crew_cost_minor,
      tasks_open_due = r.tasks_open_due + excluded.tasks_open_due,
      assets_started = r.assets_started + excluded.assets_started,
      assets_ended = r.assets_ended + excluded.assets_ended
    returning r.node_id, r.currency, r.week, (r.tasks_draft | r.tasks_planning | r.tasks_active | r.tasks_review | r.tasks_completed | r.tasks_cancelled | r.tasks_archived | r.schedule_items | r.schedule_conflicts | r.crew_headcount | r.budget_planned_minor | r.invoiced_draft_minor | r.invoiced_active_minor | r.invoiced_review_minor | r.invoiced_completed_minor | r.invoiced_cancelled_minor | r.invoiced_archived_minor | r.crew_cost_minor | r.tasks_open_due | r.assets_started | r.assets_ended) = 0 as zero
  )
  select (select count(*)::integer from taken),
         array(select o.node_id from own o where o.zero),
         array(select t.node_id from subtree t where t.zero)
    into folded, own_zero, subtree_zero;
  -- rows that came to all zeros (a currency no longer used) go; this
  -- transaction holds their row locks, so they are still zero (the nodes
  -- the upserts returned as zero: the tables are not scanned for them)
  if cardinality(own_zero) > 0 then
    delete from private.rollup_own z
     where z.org_id = p_org_id and z.node_id = any (own_zero)
       and (z.tasks_draft | z.tasks_planning | z.tasks_active | z.tasks_review | z.tasks_completed | z.tasks_cancelled | z.tasks_archived | z.schedule_items | z.schedule_conflicts | z.crew_headcount | z.budget_planned_minor | z.invoiced_draft_minor | z.invoiced_active_minor | z.invoiced_review_minor | z.invoiced_completed_minor | z.invoiced_cancelled_minor | z.invoiced_archived_minor | z.crew_cost_minor | z.tasks_open_due | z.assets_started | z.assets_ended) = 0;
  end if;
  if cardinality(subtree_zero) > 0 then
    delete from private.rollup_subtree z
     where z.org_id = p_org_id and z.node_id = any (subtree_zero)
       and (z.tasks_draft | z.tasks_planning | z.tasks_active | z.tasks_review | z.tasks_completed | z.tasks_cancelled | z.tasks_archived | z.schedule_items | z.schedule_conflicts | z.crew_headcount | z.budget_planned_minor | z.invoiced_draft_minor | z.invoiced_active_minor | z.invoiced_review_minor | z.invoiced_completed_minor | z.invoiced_cancelled_minor | z.invoiced_archived_minor | z.crew_cost_minor | z.tasks_open_due | z.assets_started | z.assets_ended) = 0;
  end if;
  return folded;
end
$$;
