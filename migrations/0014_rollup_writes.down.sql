-- Reverts 0014_rollup_writes: migration 0006's fold, the two-statement
-- task trigger, the line trigger through private.rollup_invoiced, the
-- layout check on the deltas and tasks_rollup_due_idx beside
-- tasks_due_at_idx.

create or replace function private.rollup_fold(p_org_id uuid, p_limit integer) returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  folded integer;
  touched uuid[];
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
          limit greatest(p_limit, 1)
            for update skip locked)
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
    returning r.node_id
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
    returning r.node_id
  )
  select (select count(*)::integer from taken),
         array(select node_id from own union select node_id from subtree)
    into folded, touched;
  -- rows that came to all zeros (a currency no longer used) go; this
  -- transaction holds their row locks, so they are still zero
  delete from private.rollup_own z
   where z.org_id = p_org_id and z.node_id = any (touched)
     and (z.tasks_draft, z.tasks_planning, z.tasks_active, z.tasks_review, z.tasks_completed, z.tasks_cancelled, z.tasks_archived, z.schedule_items, z.schedule_conflicts, z.crew_headcount, z.budget_planned_minor, z.invoiced_draft_minor, z.invoiced_active_minor, z.invoiced_review_minor, z.invoiced_completed_minor, z.invoiced_cancelled_minor, z.invoiced_archived_minor, z.crew_cost_minor, z.tasks_open_due, z.assets_started, z.assets_ended)
         = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  delete from private.rollup_subtree z
   where z.org_id = p_org_id and z.node_id = any (touched)
     and (z.tasks_draft, z.tasks_planning, z.tasks_active, z.tasks_review, z.tasks_completed, z.tasks_cancelled, z.tasks_archived, z.schedule_items, z.schedule_conflicts, z.crew_headcount, z.budget_planned_minor, z.invoiced_draft_minor, z.invoiced_active_minor, z.invoiced_review_minor, z.invoiced_completed_minor, z.invoiced_cancelled_minor, z.invoiced_archived_minor, z.crew_cost_minor, z.tasks_open_due, z.assets_started, z.assets_ended)
         = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  return folded;
end
$$;

drop index showtree.tasks_due_at_idx;
create index tasks_due_at_idx on showtree.tasks (org_id, due_at) where deleted_at is null and due_at is not null;
create index tasks_rollup_due_idx on showtree.tasks (org_id, due_at) include (node_id)
  where deleted_at is null and due_at is not null
    and status in ('draft', 'planning', 'active', 'review');

create or replace function private.rollup_tasks() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if tg_op <> 'INSERT' and old.deleted_at is null then
    insert into private.rollup_deltas (org_id, node_id, currency, tasks_draft, tasks_planning,
      tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived)
    values (old.org_id, old.node_id, 'XXX', -(old.status = 'draft')::int, -(old.status = 'planning')::int,
      -(old.status = 'active')::int, -(old.status = 'review')::int, -(old.status = 'completed')::int,
      -(old.status = 'cancelled')::int, -(old.status = 'archived')::int);
    if old.due_at is not null and old.status in ('draft', 'planning', 'active', 'review') then
      insert into private.rollup_deltas (org_id, node_id, currency, week, tasks_open_due)
      values (old.org_id, old.node_id, 'XXX', private.rollup_week(old.due_at), -1);
    end if;
  end if;
  if tg_op <> 'DELETE' and new.deleted_at is null then
    insert into private.rollup_deltas (org_id, node_id, currency, tasks_draft, tasks_planning,
      tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived)
    values (new.org_id, new.node_id, 'XXX', (new.status = 'draft')::int, (new.status = 'planning')::int,
      (new.status = 'active')::int, (new.status = 'review')::int, (new.status = 'completed')::int,
      (new.status = 'cancelled')::int, (new.status = 'archived')::int);
    if new.due_at is not null and new.status in ('draft', 'planning', 'active', 'review') then
      insert into private.rollup_deltas (org_id, node_id, currency, week, tasks_open_due)
      values (new.org_id, new.node_id, 'XXX', private.rollup_week(new.due_at), 1);
    end if;
  end if;
  return null;
end
$$;

create or replace function private.rollup_invoice_lines() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  inv record;
begin
  if tg_op <> 'INSERT' and old.deleted_at is null then
    select i.node_id, i.currency, i.status, i.deleted_at into inv
      from showtree.invoices i
     where i.org_id = old.org_id and i.id = old.invoice_id
       for share;
    if found and inv.deleted_at is null then
      perform private.rollup_invoiced(old.org_id, inv.node_id, inv.currency, inv.status,
                                      -round(old.quantity * old.unit_amount_minor)::bigint);
    end if;
  end if;
  if tg_op <> 'DELETE' and new.deleted_at is null then
    select i.node_id, i.currency, i.status, i.deleted_at into inv
      from showtree.invoices i
     where i.org_id = new.org_id and i.id = new.invoice_id
       for share;
    if found and inv.deleted_at is null then
      perform private.rollup_invoiced(new.org_id, inv.node_id, inv.currency, inv.status,
                                      round(new.quantity * new.unit_amount_minor)::bigint);
    end if;
  end if;
  return null;
end
$$;

alter table private.rollup_subtree drop constraint rollup_subtree_weeks_check;
alter table private.rollup_own drop constraint rollup_own_weeks_check;
alter table private.rollup_deltas add constraint rollup_deltas_weeks_check check (
  case when week = '-infinity'
       then tasks_open_due = 0 and assets_started = 0 and assets_ended = 0
       else tasks_draft = 0 and tasks_planning = 0 and tasks_active = 0 and tasks_review = 0 and tasks_completed = 0 and tasks_cancelled = 0 and tasks_archived = 0 and schedule_items = 0 and schedule_conflicts = 0 and crew_headcount = 0 and budget_planned_minor = 0 and invoiced_draft_minor = 0 and invoiced_active_minor = 0 and invoiced_review_minor = 0 and invoiced_completed_minor = 0 and invoiced_cancelled_minor = 0 and invoiced_archived_minor = 0 and crew_cost_minor = 0
  end);
