-- Back to migration 0025: a line's delta carries its invoice's node,
-- currency and status, read when written. The pending deltas go to
-- rollup_deltas, resolved at their invoices as they are (none of a deleted
-- or gone invoice).

lock table private.rollup_deltas, private.rollup_line_deltas in share row exclusive mode;
insert into private.rollup_deltas (org_id, node_id, currency, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor)
select t.org_id, i.node_id, i.currency, (t.amount_minor * (i.status = 'draft')::int)::bigint, (t.amount_minor * (i.status = 'active')::int)::bigint, (t.amount_minor * (i.status = 'review')::int)::bigint, (t.amount_minor * (i.status = 'completed')::int)::bigint, (t.amount_minor * (i.status = 'cancelled')::int)::bigint, (t.amount_minor * (i.status = 'archived')::int)::bigint
  from private.rollup_line_deltas t
  join showtree.invoices i on i.org_id = t.org_id and i.id = t.invoice_id and i.deleted_at is null;
drop view private.rollup_pending;
drop table private.rollup_line_deltas;

create table private.rollup_line_deltas (
  org_id uuid not null,
  node_id uuid not null,
  id uuid not null default gen_random_uuid(),
  currency char(3) not null,
  status showtree.entity_status not null,
  -- the line's amount in the invoice's currency, negated when the line
  -- stops counting
  amount_minor bigint not null,
  created_at timestamptz not null default now(),
  constraint rollup_line_deltas_pkey primary key (org_id, node_id, id)
);
comment on table private.rollup_line_deltas is
  'append-only: written by the invoice lines'' roll-up triggers, folded and deleted by private.rollup_fold';
alter table private.rollup_line_deltas enable row level security;
alter table private.rollup_line_deltas force row level security;
create policy rollup_line_deltas_direct_denied on private.rollup_line_deltas
  as restrictive to public using (false) with check (false);

create view private.rollup_pending as
select d.org_id, d.node_id, d.currency, d.week, d.tasks_draft, d.tasks_planning, d.tasks_active, d.tasks_review, d.tasks_completed, d.tasks_cancelled, d.tasks_archived, d.schedule_items, d.schedule_conflicts, d.crew_headcount, d.budget_planned_minor, d.invoiced_draft_minor, d.invoiced_active_minor, d.invoiced_review_minor, d.invoiced_completed_minor, d.invoiced_cancelled_minor, d.invoiced_archived_minor, d.crew_cost_minor, d.tasks_open_due, d.assets_started, d.assets_ended
  from private.rollup_deltas d
union all
select t.org_id, t.node_id, 'XXX'::char(3) as currency, f.week, f.tasks_draft, f.tasks_planning, f.tasks_active, f.tasks_review, f.tasks_completed, f.tasks_cancelled, f.tasks_archived, 0::bigint as schedule_items, 0::bigint as schedule_conflicts, 0::bigint as crew_headcount, 0::bigint as budget_planned_minor, 0::bigint as invoiced_draft_minor, 0::bigint as invoiced_active_minor, 0::bigint as invoiced_review_minor, 0::bigint as invoiced_completed_minor, 0::bigint as invoiced_cancelled_minor, 0::bigint as invoiced_archived_minor, 0::bigint as crew_cost_minor, f.tasks_open_due, 0::bigint as assets_started, 0::bigint as assets_ended
  from private.rollup_task_deltas t
 cross join lateral private.rollup_task_figures(t.status, t.due_at, t.n) f
union all
select t.org_id, t.node_id, t.currency, '-infinity'::date as week, 0::bigint as tasks_draft, 0::bigint as tasks_planning, 0::bigint as tasks_active, 0::bigint as tasks_review, 0::bigint as tasks_completed, 0::bigint as tasks_cancelled, 0::bigint as tasks_archived, 0::bigint as schedule_items, 0::bigint as schedule_conflicts, 0::bigint as crew_headcount, 0::bigint as budget_planned_minor, (t.amount_minor * (t.status = 'draft')::int)::bigint as invoiced_draft_minor, (t.amount_minor * (t.status = 'active')::int)::bigint as invoiced_active_minor, (t.amount_minor * (t.status = 'review')::int)::bigint as invoiced_review_minor, (t.amount_minor * (t.status = 'completed')::int)::bigint as invoiced_completed_minor, (t.amount_minor * (t.status = 'cancelled')::int)::bigint as invoiced_cancelled_minor, (t.amount_minor * (t.status = 'archived')::int)::bigint as invoiced_archived_minor, 0::bigint as crew_cost_minor, 0::bigint as tasks_open_due, 0::bigint as assets_started, 0::bigint as assets_ended
  from private.rollup_line_deltas t;
comment on view private.rollup_pending is
  'every pending roll-up delta, task and invoice-line deltas with their figures derived: what the roll-up readers add to the folded totals';

create or replace function private.rollup_invoice_lines_insert() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  -- the invoice locked whether deleted or not, then tested: a restore in
  -- progress must wait for this line as any other change of the invoice
  insert into private.rollup_line_deltas (org_id, node_id, currency, status, amount_minor)
  select i.org_id, i.node_id, i.currency, i.status, i.amount
    from (select x.org_id, x.node_id, x.currency, x.status, x.deleted_at,
                 round(new.quantity * new.unit_amount_minor)::bigint as amount
            from showtree.invoices x
           where x.org_id = new.org_id and x.id = new.invoice_id
             and round(new.quantity * new.unit_amount_minor) <> 0
             for share) i
   where i.deleted_at is null;
  return null;
end
$$;

create or replace function private.rollup_invoice_lines_delete() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into private.rollup_line_deltas (org_id, node_id, currency, status, amount_minor)
  select i.org_id, i.node_id, i.currency, i.status, i.amount
    from (select x.org_id, x.node_id, x.currency, x.status, x.deleted_at,
                 -round(old.quantity * old.unit_amount_minor)::bigint as amount
            from showtree.invoices x
           where x.org_id = old.org_id and x.id = old.invoice_id
             and round(old.quantity * old.unit_amount_minor) <> 0
             for share) i
   where i.deleted_at is null;
  return null;
end
$$;

create or replace function private.rollup_invoice_lines_update() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if old.deleted_at is null then
    insert into private.rollup_line_deltas (org_id, node_id, currency, status, amount_minor)
    select i.org_id, i.node_id, i.currency, i.status, i.amount
      from (select x.org_id, x.node_id, x.currency, x.status, x.deleted_at,
                   -round(old.quantity * old.unit_amount_minor)::bigint as amount
              from showtree.invoices x
             where x.org_id = old.org_id and x.id = old.invoice_id
               and round(old.quantity * old.unit_amount_minor) <> 0
               for share) i
     where i.deleted_at is null;
  end if;
  if new.deleted_at is null then
    insert into private.rollup_line_deltas (org_id, node_id, currency, status, amount_minor)
    select i.org_id, i.node_id, i.currency, i.status, i.amount
      from (select x.org_id, x.node_id, x.currency, x.status, x.deleted_at,
                   round(new.quantity * new.unit_amount_minor)::bigint as amount
              from showtree.invoices x
             where x.org_id = new.org_id and x.id = new.invoice_id
               and round(new.quantity * new.unit_amount_minor) <> 0
               for share) i
     where i.deleted_at is null;
  end if;
  return null;
end
$$;

create or replace function private.rollup_invoices() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  total bigint;
begin
  select coalesce(sum(round(l.quantity * l.unit_amount_minor)), 0)::bigint into total
    from showtree.invoice_lines l
   where l.org_id = old.org_id and l.invoice_id = old.id and l.deleted_at is null;
  if old.deleted_at is null then
    perform private.rollup_invoiced(old.org_id, old.node_id, old.currency, old.status, -total);
  end if;
  if tg_op = 'UPDATE' and new.deleted_at is null then
    perform private.rollup_invoiced(new.org_id, new.node_id, new.currency, new.status, total);
  end if;
  if tg_op = 'DELETE' then
    return old;
  end if;
  return null;
end
$$;
create or replace function private.rollup_fold(p_org_id uuid, p_limit integer)
 returns integer
 language plpgsql
 security definer
 set search_path = ''
as $function$
declare
  folded integer;
  own_zero uuid[];
  subtree_zero uuid[];
begin
  if not pg_catalog.pg_try_advisory_xact_lock(1919707244, private.rollup_lock_key(p_org_id)) then
    return 0;
  end if;
  with taken_wide as (
    -- by tuple id, from an array taken once: whatever the plan (a semi join
    -- planned while the table was empty nested its two scans)
    delete from private.rollup_deltas d
     where d.ctid = any (array(
         select x.ctid from private.rollup_deltas x
          where x.org_id = p_org_id
          limit greatest(p_limit, 1)))
       and d.org_id = p_org_id
    returning d.*
  ), taken_tasks as (
    delete from private.rollup_task_deltas d
     where d.ctid = any (array(
         select x.ctid from private.rollup_task_deltas x
          where x.org_id = p_org_id
          limit greatest(p_limit, 1)))
       and d.org_id = p_org_id
    returning d.*
  ), taken_lines as (
    delete from private.rollup_line_deltas d
     where d.ctid = any (array(
         select x.ctid from private.rollup_line_deltas x
          where x.org_id = p_org_id
          limit greatest(p_limit, 1)))
       and d.org_id = p_org_id
    returning d.*
  ), taken as (
    select t.node_id, t.currency, t.week, t.tasks_draft, t.tasks_planning, t.tasks_active, t.tasks_review, t.tasks_completed, t.tasks_cancelled, t.tasks_archived, t.schedule_items, t.schedule_conflicts, t.crew_headcount, t.budget_planned_minor, t.invoiced_draft_minor, t.invoiced_active_minor, t.invoiced_review_minor, t.invoiced_completed_minor, t.invoiced_cancelled_minor, t.invoiced_archived_minor, t.crew_cost_minor, t.tasks_open_due, t.assets_started, t.assets_ended
      from taken_wide t
    union all
    -- a task's figures, derived (migration 0024)
    select t.node_id, 'XXX'::char(3), f.week, f.tasks_draft, f.tasks_planning, f.tasks_active, f.tasks_review, f.tasks_completed, f.tasks_cancelled, f.tasks_archived, 0::bigint as schedule_items, 0::bigint as schedule_conflicts, 0::bigint as crew_headcount, 0::bigint as budget_planned_minor, 0::bigint as invoiced_draft_minor, 0::bigint as invoiced_active_minor, 0::bigint as invoiced_review_minor, 0::bigint as invoiced_completed_minor, 0::bigint as invoiced_cancelled_minor, 0::bigint as invoiced_archived_minor, 0::bigint as crew_cost_minor, f.tasks_open_due, 0::bigint as assets_started, 0::bigint as assets_ended
      from taken_tasks t
     cross join lateral private.rollup_task_figures(t.status, t.due_at, t.n) f
    union all
    -- a line's amount in the invoiced figure of its invoice's status
    -- (migration 0025)
    select t.node_id, t.currency, '-infinity'::date, 0::bigint as tasks_draft, 0::bigint as tasks_planning, 0::bigint as tasks_active, 0::bigint as tasks_review, 0::bigint as tasks_completed, 0::bigint as tasks_cancelled, 0::bigint as tasks_archived, 0::bigint as schedule_items, 0::bigint as schedule_conflicts, 0::bigint as crew_headcount, 0::bigint as budget_planned_minor, (t.amount_minor * (t.status = 'draft')::int)::bigint as invoiced_draft_minor, (t.amount_minor * (t.status = 'active')::int)::bigint as invoiced_active_minor, (t.amount_minor * (t.status = 'review')::int)::bigint as invoiced_review_minor, (t.amount_minor * (t.status = 'completed')::int)::bigint as invoiced_completed_minor, (t.amount_minor * (t.status = 'cancelled')::int)::bigint as invoiced_cancelled_minor, (t.amount_minor * (t.status = 'archived')::int)::bigint as invoiced_archived_minor, 0::bigint as crew_cost_minor, 0::bigint as tasks_open_due, 0::bigint as assets_started, 0::bigint as assets_ended
      from taken_lines t
  ), summed as (
    -- a delta in a dated week may carry undated figures too (a task's
    -- since migration 0023): they go to the '-infinity' week, the dated
    -- ones stay in theirs; a '-infinity' delta stays whole
    select t.node_id, t.currency, v.week,
           sum(t.tasks_draft * v.undated)::bigint as tasks_draft,
           sum(t.tasks_planning * v.undated)::bigint as tasks_planning,
           sum(t.tasks_active * v.undated)::bigint as tasks_active,
           sum(t.tasks_review * v.undated)::bigint as tasks_review,
           sum(t.tasks_completed * v.undated)::bigint as tasks_completed,
           sum(t.tasks_cancelled * v.undated)::bigint as tasks_cancelled,
           sum(t.tasks_archived * v.undated)::bigint as tasks_archived,
           sum(t.schedule_items * v.undated)::bigint as schedule_items,
           sum(t.schedule_conflicts * v.undated)::bigint as schedule_conflicts,
           sum(t.crew_headcount * v.undated)::bigint as crew_headcount,
           sum(t.budget_planned_minor * v.undated)::bigint as budget_planned_minor,
           sum(t.invoiced_draft_minor * v.undated)::bigint as invoiced_draft_minor,
           sum(t.invoiced_active_minor * v.undated)::bigint as invoiced_active_minor,
           sum(t.invoiced_review_minor * v.undated)::bigint as invoiced_review_minor,
           sum(t.invoiced_completed_minor * v.undated)::bigint as invoiced_completed_minor,
           sum(t.invoiced_cancelled_minor * v.undated)::bigint as invoiced_cancelled_minor,
           sum(t.invoiced_archived_minor * v.undated)::bigint as invoiced_archived_minor,
           sum(t.crew_cost_minor * v.undated)::bigint as crew_cost_minor,
           sum(t.tasks_open_due * v.dated)::bigint as tasks_open_due,
           sum(t.assets_started * v.dated)::bigint as assets_started,
           sum(t.assets_ended * v.dated)::bigint as assets_ended
      from taken t
     cross join lateral (values (t.week, (t.week = '-infinity')::int, 1),
                                ('-infinity'::date, 1, 0)) v(week, undated, dated)
     where v.dated = 1
        or (t.week <> '-infinity' and (t.tasks_draft | t.tasks_planning | t.tasks_active | t.tasks_review | t.tasks_completed | t.tasks_cancelled | t.tasks_archived | t.schedule_items | t.schedule_conflicts | t.crew_headcount | t.budget_planned_minor | t.invoiced_draft_minor | t.invoiced_active_minor | t.invoiced_review_minor | t.invoiced_completed_minor | t.invoiced_cancelled_minor | t.invoiced_archived_minor | t.crew_cost_minor) <> 0)
     group by t.node_id, t.currency, v.week
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
     -- subtree totals are kept for the first four levels only (migration 0022)
     cross join unnest(p.path[1:4]) as a(node_id)
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
$function$;
