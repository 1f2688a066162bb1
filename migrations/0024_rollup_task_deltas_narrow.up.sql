-- Task deltas in a narrow table of their own.
--
-- A task's delta was a row of private.rollup_deltas: 27 columns, 21 of
-- them figures, of which a task sets two, and a primary key on a random
-- id. What a task insert pays for the roll-ups is mostly that row: the
-- executor builds a projection of every column on each trigger call, and
-- the trigger's expressions pivoted the status into seven columns. Counted
-- with callgrind (postgres --single, 1,000 single-row task inserts in a
-- plpgsql loop on `bench rollup`'s database, instructions per insert):
-- 991k without the mechanism, 1,026k with a trigger that does nothing,
-- 1,178k as migration 0023 left it, 1,081k with this migration. Now:
--  * a task's trigger appends (org_id, node_id, status, due_at, n) to
--    private.rollup_task_deltas: the version counted (n = 1) or taken back
--    (n = -1), nothing derived; one function per event, none of them
--    branching on tg_op;
--  * private.rollup_task_figures(status, due_at, n) derives its figures in
--    the layout of migration 0023 (one row: the status count, and the open
--    count in its due week when it is open and due), an inlined SQL
--    function that the fold and the view below share;
--  * private.rollup_pending is every pending delta in the wide layout
--    (rollup_deltas and the task deltas' figures): rollup_parts and
--    rollup_raw read it where they read rollup_deltas, and so does the
--    import's rollup_diff;
--  * private.rollup_fold takes from both tables, rollup_fold_all finds the
--    organizations of both, rollup_rebuild empties both.
-- The other tables' triggers still append to rollup_deltas.

create table private.rollup_task_deltas (
  org_id uuid not null,
  node_id uuid not null,
  id uuid not null default gen_random_uuid(),
  status showtree.entity_status not null,
  due_at timestamptz,
  -- 1: this version of the task counts; -1: it no longer does (only the
  -- triggers below write here; a check constraint would cost 25k
  -- instructions an insert: the executor prepares its expression again
  -- for every statement)
  n smallint not null,
  created_at timestamptz not null default now(),
  -- (org_id, node_id) leads: a roll-up reads the pending deltas of its
  -- nodes, the fold those of its organization
  constraint rollup_task_deltas_pkey primary key (org_id, node_id, id)
);
comment on table private.rollup_task_deltas is
  'append-only: written by the tasks'' roll-up triggers, folded and deleted by private.rollup_fold';
alter table private.rollup_task_deltas enable row level security;
alter table private.rollup_task_deltas force row level security;
create policy rollup_task_deltas_direct_denied on private.rollup_task_deltas
  as restrictive to public using (false) with check (false);

-- A task delta's figures, as migration 0023's one delta row held them.
-- Not strict, not security definer, no settings: the planner inlines it.
create function private.rollup_task_figures(p_status showtree.entity_status, p_due_at timestamptz, p_n integer)
returns table (week date, tasks_draft bigint, tasks_planning bigint, tasks_active bigint, tasks_review bigint, tasks_completed bigint, tasks_cancelled bigint, tasks_archived bigint, tasks_open_due bigint)
language sql immutable parallel safe
as $$
  select case when o.open_due then private.rollup_week(p_due_at) else '-infinity'::date end,
         (p_n * (p_status = 'draft')::int)::bigint,
         (p_n * (p_status = 'planning')::int)::bigint,
         (p_n * (p_status = 'active')::int)::bigint,
         (p_n * (p_status = 'review')::int)::bigint,
         (p_n * (p_status = 'completed')::int)::bigint,
         (p_n * (p_status = 'cancelled')::int)::bigint,
         (p_n * (p_status = 'archived')::int)::bigint,
         (p_n * o.open_due::int)::bigint
    from (select p_due_at is not null and p_status in ('draft', 'planning', 'active', 'review') as open_due) o
$$;

-- Every delta not folded yet, in rollup_deltas' layout.
create view private.rollup_pending as
select d.org_id, d.node_id, d.currency, d.week, d.tasks_draft, d.tasks_planning, d.tasks_active, d.tasks_review, d.tasks_completed, d.tasks_cancelled, d.tasks_archived, d.schedule_items, d.schedule_conflicts, d.crew_headcount, d.budget_planned_minor, d.invoiced_draft_minor, d.invoiced_active_minor, d.invoiced_review_minor, d.invoiced_completed_minor, d.invoiced_cancelled_minor, d.invoiced_archived_minor, d.crew_cost_minor, d.tasks_open_due, d.assets_started, d.assets_ended
  from private.rollup_deltas d
union all
select t.org_id, t.node_id, 'XXX'::char(3) as currency, f.week, f.tasks_draft, f.tasks_planning, f.tasks_active, f.tasks_review, f.tasks_completed, f.tasks_cancelled, f.tasks_archived, 0::bigint as schedule_items, 0::bigint as schedule_conflicts, 0::bigint as crew_headcount, 0::bigint as budget_planned_minor, 0::bigint as invoiced_draft_minor, 0::bigint as invoiced_active_minor, 0::bigint as invoiced_review_minor, 0::bigint as invoiced_completed_minor, 0::bigint as invoiced_cancelled_minor, 0::bigint as invoiced_archived_minor, 0::bigint as crew_cost_minor, f.tasks_open_due, 0::bigint as assets_started, 0::bigint as assets_ended
  from private.rollup_task_deltas t
 cross join lateral private.rollup_task_figures(t.status, t.due_at, t.n) f;
comment on view private.rollup_pending is
  'every pending roll-up delta, task deltas with their figures derived: what the roll-up readers add to the folded totals';

create function private.rollup_tasks_insert() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into private.rollup_task_deltas (org_id, node_id, status, due_at, n)
  values (new.org_id, new.node_id, new.status, new.due_at, 1);
  return null;
end
$$;

create function private.rollup_tasks_update() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if old.deleted_at is null then
    insert into private.rollup_task_deltas (org_id, node_id, status, due_at, n)
    values (old.org_id, old.node_id, old.status, old.due_at, -1);
  end if;
  if new.deleted_at is null then
    insert into private.rollup_task_deltas (org_id, node_id, status, due_at, n)
    values (new.org_id, new.node_id, new.status, new.due_at, 1);
  end if;
  return null;
end
$$;

create function private.rollup_tasks_delete() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into private.rollup_task_deltas (org_id, node_id, status, due_at, n)
  values (old.org_id, old.node_id, old.status, old.due_at, -1);
  return null;
end
$$;

drop trigger tasks_rollup_insert on showtree.tasks;
drop trigger tasks_rollup_update on showtree.tasks;
drop trigger tasks_rollup_delete on showtree.tasks;
create trigger tasks_rollup_insert after insert on showtree.tasks
  for each row when (new.deleted_at is null) execute function private.rollup_tasks_insert();
create trigger tasks_rollup_update after update on showtree.tasks
  for each row when (old.node_id is distinct from new.node_id or old.status is distinct from new.status
    or old.due_at is distinct from new.due_at or (old.deleted_at is null) <> (new.deleted_at is null))
  execute function private.rollup_tasks_update();
create trigger tasks_rollup_delete after delete on showtree.tasks
  for each row when (old.deleted_at is null) execute function private.rollup_tasks_delete();
drop function private.rollup_tasks();
revoke execute on function private.rollup_task_figures(showtree.entity_status, timestamptz, integer),
  private.rollup_tasks_insert(), private.rollup_tasks_update(), private.rollup_tasks_delete() from public;

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
  ), taken as (
    select t.node_id, t.currency, t.week, t.tasks_draft, t.tasks_planning, t.tasks_active, t.tasks_review, t.tasks_completed, t.tasks_cancelled, t.tasks_archived, t.schedule_items, t.schedule_conflicts, t.crew_headcount, t.budget_planned_minor, t.invoiced_draft_minor, t.invoiced_active_minor, t.invoiced_review_minor, t.invoiced_completed_minor, t.invoiced_cancelled_minor, t.invoiced_archived_minor, t.crew_cost_minor, t.tasks_open_due, t.assets_started, t.assets_ended
      from taken_wide t
    union all
    -- a task's figures, derived (migration 0024)
    select t.node_id, 'XXX'::char(3), f.week, f.tasks_draft, f.tasks_planning, f.tasks_active, f.tasks_review, f.tasks_completed, f.tasks_cancelled, f.tasks_archived, 0::bigint as schedule_items, 0::bigint as schedule_conflicts, 0::bigint as crew_headcount, 0::bigint as budget_planned_minor, 0::bigint as invoiced_draft_minor, 0::bigint as invoiced_active_minor, 0::bigint as invoiced_review_minor, 0::bigint as invoiced_completed_minor, 0::bigint as invoiced_cancelled_minor, 0::bigint as invoiced_archived_minor, 0::bigint as crew_cost_minor, f.tasks_open_due, 0::bigint as assets_started, 0::bigint as assets_ended
      from taken_tasks t
     cross join lateral private.rollup_task_figures(t.status, t.due_at, t.n) f
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

create or replace function private.rollup_fold_all(p_limit integer)
 returns integer
 language plpgsql
 security definer
 set search_path = ''
as $function$
declare
  o uuid;
  total integer := 0;
begin
  -- the organizations with deltas of either kind, one index probe each
  -- (a loose scan of each table)
  for o in
    with recursive orgs as (
      select (select d.org_id from private.rollup_deltas d order by d.org_id limit 1) as id
      union all
      select (select d.org_id from private.rollup_deltas d where d.org_id > orgs.id
               order by d.org_id limit 1)
        from orgs where orgs.id is not null),
    task_orgs as (
      select (select d.org_id from private.rollup_task_deltas d order by d.org_id limit 1) as id
      union all
      select (select d.org_id from private.rollup_task_deltas d where d.org_id > task_orgs.id
               order by d.org_id limit 1)
        from task_orgs where task_orgs.id is not null)
    select orgs.id from orgs where orgs.id is not null
    union
    select task_orgs.id from task_orgs where task_orgs.id is not null
  loop
    total := total + private.rollup_fold(o, p_limit - total);
    exit when total >= p_limit;
  end loop;
  return total;
end
$function$;

create or replace function private.rollup_parts(p_org_id uuid, p_node_id uuid, p_children uuid[], p_hidden uuid[])
 returns table(part text, child_id uuid, currency character, tasks_draft bigint, tasks_planning bigint, tasks_active bigint, tasks_review bigint, tasks_completed bigint, tasks_cancelled bigint, tasks_archived bigint, schedule_items bigint, schedule_conflicts bigint, crew_headcount bigint, budget_planned_minor bigint, invoiced_draft_minor bigint, invoiced_active_minor bigint, invoiced_review_minor bigint, invoiced_completed_minor bigint, invoiced_cancelled_minor bigint, invoiced_archived_minor bigint, crew_cost_minor bigint, tasks_overdue bigint, assets_now bigint, pending bigint)
 language plpgsql
 stable security definer
 set search_path = ''
 set plan_cache_mode = 'force_generic_plan'
 set jit = 'off'
as $function$
declare
  lo uuid[];
  hi uuid[];
  child integer;
  -- the node's, its children's subtree totals kept (organization, project,
  -- production, activation), or summed from the own totals (workspaces)
  kept boolean;
  children_kept boolean;
  this_week date := private.rollup_week(now());
  since timestamptz := this_week::timestamp at time zone 'UTC';
begin
  select n.ancestors || n.id, n.ancestors || n.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid,
         n.depth + 2, n.depth <= 3, n.depth <= 2
    into lo, hi, child, kept, children_kept
    from showtree.nodes n
   where n.org_id = p_org_id and n.id = p_node_id and n.deleted_at is null;
  if not found then
    return;
  end if;
  return query
  with folded as (
    select 'total'::text as part, null::uuid as child_id, s.currency, s.week, s.tasks_draft, s.tasks_planning, s.tasks_active, s.tasks_review, s.tasks_completed, s.tasks_cancelled, s.tasks_archived, s.schedule_items, s.schedule_conflicts, s.crew_headcount, s.budget_planned_minor, s.invoiced_draft_minor, s.invoiced_active_minor, s.invoiced_review_minor, s.invoiced_completed_minor, s.invoiced_cancelled_minor, s.invoiced_archived_minor, s.crew_cost_minor, s.tasks_open_due, s.assets_started, s.assets_ended, 0 as pending
      from private.rollup_subtree s
     where kept and s.org_id = p_org_id and s.node_id = p_node_id
    union all
    -- a workspace's total: the own totals of its live subtree
    select 'total', null, o.currency, o.week, o.tasks_draft, o.tasks_planning, o.tasks_active, o.tasks_review, o.tasks_completed, o.tasks_cancelled, o.tasks_archived, o.schedule_items, o.schedule_conflicts, o.crew_headcount, o.budget_planned_minor, o.invoiced_draft_minor, o.invoiced_active_minor, o.invoiced_review_minor, o.invoiced_completed_minor, o.invoiced_cancelled_minor, o.invoiced_archived_minor, o.crew_cost_minor, o.tasks_open_due, o.assets_started, o.assets_ended, 0
      from showtree.nodes e
      join private.rollup_own o on o.org_id = e.org_id and o.node_id = e.id
     where not kept and e.org_id = p_org_id and e.deleted_at is null
       and (e.ancestors || e.id) >= lo and (e.ancestors || e.id) < hi
    union all
    select 'own', null, o.currency, o.week, o.tasks_draft, o.tasks_planning, o.tasks_active, o.tasks_review, o.tasks_completed, o.tasks_cancelled, o.tasks_archived, o.schedule_items, o.schedule_conflicts, o.crew_headcount, o.budget_planned_minor, o.invoiced_draft_minor, o.invoiced_active_minor, o.invoiced_review_minor, o.invoiced_completed_minor, o.invoiced_cancelled_minor, o.invoiced_archived_minor, o.crew_cost_minor, o.tasks_open_due, o.assets_started, o.assets_ended, 0
      from private.rollup_own o
     where o.org_id = p_org_id and o.node_id = p_node_id
    union all
    -- (two scans: telling the parts apart row by row searched the arrays
    -- once per stored row)
    select 'child', s.node_id, s.currency, s.week, s.tasks_draft, s.tasks_planning, s.tasks_active, s.tasks_review, s.tasks_completed, s.tasks_cancelled, s.tasks_archived, s.schedule_items, s.schedule_conflicts, s.crew_headcount, s.budget_planned_minor, s.invoiced_draft_minor, s.invoiced_active_minor, s.invoiced_review_minor, s.invoiced_completed_minor, s.invoiced_cancelled_minor, s.invoiced_archived_minor, s.crew_cost_minor, s.tasks_open_due, s.assets_started, s.assets_ended, 0
      from private.rollup_subtree s
     where children_kept and s.org_id = p_org_id and s.node_id = any (p_children)
    union all
    select 'restricted', null, s.currency, s.week, s.tasks_draft, s.tasks_planning, s.tasks_active, s.tasks_review, s.tasks_completed, s.tasks_cancelled, s.tasks_archived, s.schedule_items, s.schedule_conflicts, s.crew_headcount, s.budget_planned_minor, s.invoiced_draft_minor, s.invoiced_active_minor, s.invoiced_review_minor, s.invoiced_completed_minor, s.invoiced_cancelled_minor, s.invoiced_archived_minor, s.crew_cost_minor, s.tasks_open_due, s.assets_started, s.assets_ended, 0
      from private.rollup_subtree s
     where children_kept and s.org_id = p_org_id and s.node_id = any (p_hidden)
    union all
    -- children that are workspaces: the own totals of their live subtrees
    select case when (e.ancestors || e.id)[child] = any (p_children) then 'child' else 'restricted' end,
           case when (e.ancestors || e.id)[child] = any (p_children) then (e.ancestors || e.id)[child] end,
           o.currency, o.week, o.tasks_draft, o.tasks_planning, o.tasks_active, o.tasks_review, o.tasks_completed, o.tasks_cancelled, o.tasks_archived, o.schedule_items, o.schedule_conflicts, o.crew_headcount, o.budget_planned_minor, o.invoiced_draft_minor, o.invoiced_active_minor, o.invoiced_review_minor, o.invoiced_completed_minor, o.invoiced_cancelled_minor, o.invoiced_archived_minor, o.crew_cost_minor, o.tasks_open_due, o.assets_started, o.assets_ended, 0
      from showtree.nodes e
      join private.rollup_own o on o.org_id = e.org_id and o.node_id = e.id
     where not children_kept and e.org_id = p_org_id and e.deleted_at is null
       and (e.ancestors || e.id) > lo and (e.ancestors || e.id) < hi
       and ((e.ancestors || e.id)[child] = any (p_children) or (e.ancestors || e.id)[child] = any (p_hidden))
  ), unfolded as (
    -- committed deltas not folded yet, of live nodes in the subtree, summed
    -- per bucket (the child a node is in, the node itself for its own
    -- rows) before anything else reads them
    select coalesce(n.path[child], p_node_id) as bucket, g.currency, v.week,
           sum(g.tasks_draft * v.undated)::bigint as tasks_draft,
           sum(g.tasks_planning * v.undated)::bigint as tasks_planning,
           sum(g.tasks_active * v.undated)::bigint as tasks_active,
           sum(g.tasks_review * v.undated)::bigint as tasks_review,
           sum(g.tasks_completed * v.undated)::bigint as tasks_completed,
           sum(g.tasks_cancelled * v.undated)::bigint as tasks_cancelled,
           sum(g.tasks_archived * v.undated)::bigint as tasks_archived,
           sum(g.schedule_items * v.undated)::bigint as schedule_items,
           sum(g.schedule_conflicts * v.undated)::bigint as schedule_conflicts,
           sum(g.crew_headcount * v.undated)::bigint as crew_headcount,
           sum(g.budget_planned_minor * v.undated)::bigint as budget_planned_minor,
           sum(g.invoiced_draft_minor * v.undated)::bigint as invoiced_draft_minor,
           sum(g.invoiced_active_minor * v.undated)::bigint as invoiced_active_minor,
           sum(g.invoiced_review_minor * v.undated)::bigint as invoiced_review_minor,
           sum(g.invoiced_completed_minor * v.undated)::bigint as invoiced_completed_minor,
           sum(g.invoiced_cancelled_minor * v.undated)::bigint as invoiced_cancelled_minor,
           sum(g.invoiced_archived_minor * v.undated)::bigint as invoiced_archived_minor,
           sum(g.crew_cost_minor * v.undated)::bigint as crew_cost_minor,
           sum(g.tasks_open_due * v.dated)::bigint as tasks_open_due,
           sum(g.assets_started * v.dated)::bigint as assets_started,
           sum(g.assets_ended * v.dated)::bigint as assets_ended,
           sum(g.pending * v.undated)::bigint as pending
      from (
        -- per node first: each node is looked up once
        select d.node_id, d.currency, d.week, sum(d.tasks_draft) as tasks_draft, sum(d.tasks_planning) as tasks_planning, sum(d.tasks_active) as tasks_active, sum(d.tasks_review) as tasks_review, sum(d.tasks_completed) as tasks_completed, sum(d.tasks_cancelled) as tasks_cancelled, sum(d.tasks_archived) as tasks_archived, sum(d.schedule_items) as schedule_items, sum(d.schedule_conflicts) as schedule_conflicts, sum(d.crew_headcount) as crew_headcount, sum(d.budget_planned_minor) as budget_planned_minor, sum(d.invoiced_draft_minor) as invoiced_draft_minor, sum(d.invoiced_active_minor) as invoiced_active_minor, sum(d.invoiced_review_minor) as invoiced_review_minor, sum(d.invoiced_completed_minor) as invoiced_completed_minor, sum(d.invoiced_cancelled_minor) as invoiced_cancelled_minor, sum(d.invoiced_archived_minor) as invoiced_archived_minor, sum(d.crew_cost_minor) as crew_cost_minor, sum(d.tasks_open_due) as tasks_open_due, sum(d.assets_started) as assets_started, sum(d.assets_ended) as assets_ended, count(*) as pending
          from private.rollup_pending d
         where d.org_id = p_org_id
         group by d.node_id, d.currency, d.week) g
     cross join lateral (
       select x.ancestors || x.id as path from showtree.nodes x
        where x.org_id = p_org_id and x.id = g.node_id and x.deleted_at is null
       offset 0) n
     -- a dated group's undated figures (a task's since migration 0023),
     -- and its count of deltas, go to the '-infinity' week, as the fold
     -- puts them
     cross join lateral (values (g.week, (g.week = '-infinity')::int, 1),
                                ('-infinity'::date, 1, 0)) v(week, undated, dated)
     where n.path >= lo and n.path < hi
       and (v.dated = 1 or g.week <> '-infinity')
     group by 1, g.currency, v.week
  ), stored as (
    select * from folded
    union all
    -- each pending delta counts in the total and in the part its bucket is in
    select b.part, b.child_id, u.currency, u.week, u.tasks_draft, u.tasks_planning, u.tasks_active, u.tasks_review, u.tasks_completed, u.tasks_cancelled, u.tasks_archived, u.schedule_items, u.schedule_conflicts, u.crew_headcount, u.budget_planned_minor, u.invoiced_draft_minor, u.invoiced_active_minor, u.invoiced_review_minor, u.invoiced_completed_minor, u.invoiced_cancelled_minor, u.invoiced_archived_minor, u.crew_cost_minor, u.tasks_open_due, u.assets_started, u.assets_ended, u.pending
      from unfolded u
     cross join lateral (values
       ('total'::text, null::uuid),
       (case when u.bucket = p_node_id then 'own'
             when u.bucket = any (p_children) then 'child'
             when u.bucket = any (p_hidden) then 'restricted' end,
        case when u.bucket = any (p_children) then u.bucket end)) b(part, child_id)
     where b.part is not null
  ), summed as (
    -- undated figures, summed where they are stored: in the '-infinity'
    -- week (rollup_deltas_weeks_check), one row per bucket and currency,
    -- so the weekly rows are not summed 18 columns wide. Grouped in the C
    -- collation: nothing here needs the locale's order.
    select s.part collate "C" as part, s.child_id, s.currency collate "C" as currency,
           sum(s.tasks_draft)::bigint as tasks_draft,
           sum(s.tasks_planning)::bigint as tasks_planning,
           sum(s.tasks_active)::bigint as tasks_active,
           sum(s.tasks_review)::bigint as tasks_review,
           sum(s.tasks_completed)::bigint as tasks_completed,
           sum(s.tasks_cancelled)::bigint as tasks_cancelled,
           sum(s.tasks_archived)::bigint as tasks_archived,
           sum(s.schedule_items)::bigint as schedule_items,
           sum(s.schedule_conflicts)::bigint as schedule_conflicts,
           sum(s.crew_headcount)::bigint as crew_headcount,
           sum(s.budget_planned_minor)::bigint as budget_planned_minor,
           sum(s.invoiced_draft_minor)::bigint as invoiced_draft_minor,
           sum(s.invoiced_active_minor)::bigint as invoiced_active_minor,
           sum(s.invoiced_review_minor)::bigint as invoiced_review_minor,
           sum(s.invoiced_completed_minor)::bigint as invoiced_completed_minor,
           sum(s.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
           sum(s.invoiced_archived_minor)::bigint as invoiced_archived_minor,
           sum(s.crew_cost_minor)::bigint as crew_cost_minor,
           sum(s.pending)::bigint as pending,
           -- a join key without nulls: `is not distinct from` cannot hash,
           -- and a page of children makes hundreds of rows to join
           coalesce(s.child_id, '00000000-0000-0000-0000-000000000000'::uuid) as key
      from stored s
     where s.week = '-infinity'
     group by s.part collate "C", s.child_id, s.currency collate "C"
  ), dated as (
    -- dated figures (counts) of the weeks before this one
    select s.part collate "C" as part, s.child_id,
           coalesce(sum(s.tasks_open_due) filter (where s.week < this_week), 0)::bigint as overdue,
           coalesce(sum(s.assets_started - s.assets_ended) filter (where s.week < this_week), 0)::bigint
             as assets,
           sum(s.pending)::bigint as pending,
           coalesce(s.child_id, '00000000-0000-0000-0000-000000000000'::uuid) as key
      from stored s
     where s.week <> '-infinity'
     group by s.part collate "C", s.child_id
  ), recent as (
    -- this week up to now(), from the base tables (as private.rollup_raw)
    select t.node_id, 1 as overdue, 0 as assets
      from showtree.tasks t
     where t.org_id = p_org_id and t.deleted_at is null and t.due_at is not null
       and t.status in ('draft', 'planning', 'active', 'review')
       and t.due_at >= since and t.due_at < now()
    union all
    select a.node_id, 0, 1
      from showtree.asset_assignments a
     where a.org_id = p_org_id and a.deleted_at is null
       and a.starts_at >= since and a.starts_at <= now()
       and exists (select from showtree.assets x
                    where x.org_id = a.org_id and x.id = a.asset_id and x.deleted_at is null)
    union all
    select a.node_id, 0, -1
      from showtree.asset_assignments a
     where a.org_id = p_org_id and a.deleted_at is null
       and a.ends_at >= since and a.ends_at <= now()
       and exists (select from showtree.assets x
                    where x.org_id = a.org_id and x.id = a.asset_id and x.deleted_at is null)
  ), recent_placed as (
    select coalesce(n.path[child], p_node_id) as bucket, r.overdue, r.assets
      from recent r
     cross join lateral (
       select x.ancestors || x.id as path from showtree.nodes x
        where x.org_id = p_org_id and x.id = r.node_id and x.deleted_at is null
       offset 0) n
     where n.path >= lo and n.path < hi
  ), clock as (
    select b.part collate "C" as part, b.child_id, coalesce(b.child_id, '00000000-0000-0000-0000-000000000000'::uuid) as key,
           sum(r.overdue)::bigint as overdue, sum(r.assets)::bigint as assets
      from recent_placed r
     cross join lateral (values
       ('total'::text, null::uuid),
       (case when r.bucket = p_node_id then 'own'
             when r.bucket = any (p_children) then 'child'
             when r.bucket = any (p_hidden) then 'restricted' end,
        case when r.bucket = any (p_children) then r.bucket end)) b(part, child_id)
     where b.part is not null
     group by b.part collate "C", b.child_id
  ), counts as (
    select s.part, s.child_id, s.key from summed s where s.currency = 'XXX'
    union
    select d.part, d.child_id, d.key from dated d
    union
    select c.part, c.child_id, c.key from clock c
  )
  select s.part, s.child_id, s.currency, s.tasks_draft, s.tasks_planning, s.tasks_active, s.tasks_review, s.tasks_completed, s.tasks_cancelled, s.tasks_archived, s.schedule_items, s.schedule_conflicts, s.crew_headcount, s.budget_planned_minor, s.invoiced_draft_minor, s.invoiced_active_minor, s.invoiced_review_minor, s.invoiced_completed_minor, s.invoiced_cancelled_minor, s.invoiced_archived_minor, s.crew_cost_minor,
         0::bigint, 0::bigint, s.pending
    from summed s
   where s.currency <> 'XXX'
  union all
  select k.part, k.child_id, 'XXX'::char(3), coalesce(s.tasks_draft, 0), coalesce(s.tasks_planning, 0), coalesce(s.tasks_active, 0), coalesce(s.tasks_review, 0), coalesce(s.tasks_completed, 0), coalesce(s.tasks_cancelled, 0), coalesce(s.tasks_archived, 0), coalesce(s.schedule_items, 0), coalesce(s.schedule_conflicts, 0), coalesce(s.crew_headcount, 0),
         0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
         coalesce(d.overdue, 0) + coalesce(c.overdue, 0), coalesce(d.assets, 0) + coalesce(c.assets, 0),
         coalesce(s.pending, 0) + coalesce(d.pending, 0)
    from counts k
    left join summed s on s.part = k.part and s.key = k.key and s.currency = 'XXX'
    left join dated d on d.part = k.part and d.key = k.key
    left join clock c on c.part = k.part and c.key = k.key;
end
$function$;

create or replace function private.rollup_raw(p_org_id uuid, p_node_id uuid)
 returns table(bucket uuid, currency character, tasks_draft bigint, tasks_planning bigint, tasks_active bigint, tasks_review bigint, tasks_completed bigint, tasks_cancelled bigint, tasks_archived bigint, schedule_items bigint, schedule_conflicts bigint, crew_headcount bigint, budget_planned_minor bigint, invoiced_draft_minor bigint, invoiced_active_minor bigint, invoiced_review_minor bigint, invoiced_completed_minor bigint, invoiced_cancelled_minor bigint, invoiced_archived_minor bigint, crew_cost_minor bigint, tasks_overdue bigint, assets_now bigint, pending bigint)
 language plpgsql
 stable security definer
 set search_path = ''
 set plan_cache_mode = 'force_generic_plan'
 set jit = 'off'
as $function$
declare
  lo uuid[];
  hi uuid[];
  child integer;
  -- the node's, its children's subtree totals kept (organization, project,
  -- production, activation), or summed from the own totals (workspaces)
  kept boolean;
  children_kept boolean;
  -- the current week of dated figures (UTC), as a key and as an instant
  this_week date := private.rollup_week(now());
  since timestamptz := this_week::timestamp at time zone 'UTC';
begin
  select n.ancestors || n.id, n.ancestors || n.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid,
         n.depth + 2, n.depth <= 3, n.depth <= 2
    into lo, hi, child, kept, children_kept
    from showtree.nodes n
   where n.org_id = p_org_id and n.id = p_node_id and n.deleted_at is null;
  if not found then
    return;
  end if;
  return query
  with stored as (
    select p_node_id as bucket, o.currency, o.week, o.tasks_draft, o.tasks_planning, o.tasks_active, o.tasks_review, o.tasks_completed, o.tasks_cancelled, o.tasks_archived, o.schedule_items, o.schedule_conflicts, o.crew_headcount, o.budget_planned_minor, o.invoiced_draft_minor, o.invoiced_active_minor, o.invoiced_review_minor, o.invoiced_completed_minor, o.invoiced_cancelled_minor, o.invoiced_archived_minor, o.crew_cost_minor, o.tasks_open_due, o.assets_started, o.assets_ended, 0 as pending
      from private.rollup_own o
     where o.org_id = p_org_id and o.node_id = p_node_id
    union all
    select s.node_id, s.currency, s.week, s.tasks_draft, s.tasks_planning, s.tasks_active, s.tasks_review, s.tasks_completed, s.tasks_cancelled, s.tasks_archived, s.schedule_items, s.schedule_conflicts, s.crew_headcount, s.budget_planned_minor, s.invoiced_draft_minor, s.invoiced_active_minor, s.invoiced_review_minor, s.invoiced_completed_minor, s.invoiced_cancelled_minor, s.invoiced_archived_minor, s.crew_cost_minor, s.tasks_open_due, s.assets_started, s.assets_ended, 0
      from showtree.nodes c
      join private.rollup_subtree s on s.org_id = c.org_id and s.node_id = c.id
     where children_kept and c.org_id = p_org_id and c.parent_id = p_node_id and c.deleted_at is null
    union all
    -- children that are workspaces: the own totals of their live subtrees
    select (e.ancestors || e.id)[child], o.currency, o.week, o.tasks_draft, o.tasks_planning, o.tasks_active, o.tasks_review, o.tasks_completed, o.tasks_cancelled, o.tasks_archived, o.schedule_items, o.schedule_conflicts, o.crew_headcount, o.budget_planned_minor, o.invoiced_draft_minor, o.invoiced_active_minor, o.invoiced_review_minor, o.invoiced_completed_minor, o.invoiced_cancelled_minor, o.invoiced_archived_minor, o.crew_cost_minor, o.tasks_open_due, o.assets_started, o.assets_ended, 0
      from showtree.nodes e
      join private.rollup_own o on o.org_id = e.org_id and o.node_id = e.id
     where not children_kept and e.org_id = p_org_id and e.deleted_at is null
       and (e.ancestors || e.id) > lo and (e.ancestors || e.id) < hi
    union all
    -- committed deltas not folded yet, of live nodes in the subtree, summed
    -- per bucket first
    select u.* from (
    select coalesce(n.path[child], p_node_id) as bucket, g.currency, g.week,
           sum(g.tasks_draft)::bigint as tasks_draft,
           sum(g.tasks_planning)::bigint as tasks_planning,
           sum(g.tasks_active)::bigint as tasks_active,
           sum(g.tasks_review)::bigint as tasks_review,
           sum(g.tasks_completed)::bigint as tasks_completed,
           sum(g.tasks_cancelled)::bigint as tasks_cancelled,
           sum(g.tasks_archived)::bigint as tasks_archived,
           sum(g.schedule_items)::bigint as schedule_items,
           sum(g.schedule_conflicts)::bigint as schedule_conflicts,
           sum(g.crew_headcount)::bigint as crew_headcount,
           sum(g.budget_planned_minor)::bigint as budget_planned_minor,
           sum(g.invoiced_draft_minor)::bigint as invoiced_draft_minor,
           sum(g.invoiced_active_minor)::bigint as invoiced_active_minor,
           sum(g.invoiced_review_minor)::bigint as invoiced_review_minor,
           sum(g.invoiced_completed_minor)::bigint as invoiced_completed_minor,
           sum(g.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
           sum(g.invoiced_archived_minor)::bigint as invoiced_archived_minor,
           sum(g.crew_cost_minor)::bigint as crew_cost_minor,
           sum(g.tasks_open_due)::bigint as tasks_open_due,
           sum(g.assets_started)::bigint as assets_started,
           sum(g.assets_ended)::bigint as assets_ended,
           sum(g.pending)::bigint as pending
      from (
        -- per node first: each node is looked up once
        select d.node_id, d.currency, d.week, sum(d.tasks_draft) as tasks_draft, sum(d.tasks_planning) as tasks_planning, sum(d.tasks_active) as tasks_active, sum(d.tasks_review) as tasks_review, sum(d.tasks_completed) as tasks_completed, sum(d.tasks_cancelled) as tasks_cancelled, sum(d.tasks_archived) as tasks_archived, sum(d.schedule_items) as schedule_items, sum(d.schedule_conflicts) as schedule_conflicts, sum(d.crew_headcount) as crew_headcount, sum(d.budget_planned_minor) as budget_planned_minor, sum(d.invoiced_draft_minor) as invoiced_draft_minor, sum(d.invoiced_active_minor) as invoiced_active_minor, sum(d.invoiced_review_minor) as invoiced_review_minor, sum(d.invoiced_completed_minor) as invoiced_completed_minor, sum(d.invoiced_cancelled_minor) as invoiced_cancelled_minor, sum(d.invoiced_archived_minor) as invoiced_archived_minor, sum(d.crew_cost_minor) as crew_cost_minor, sum(d.tasks_open_due) as tasks_open_due, sum(d.assets_started) as assets_started, sum(d.assets_ended) as assets_ended, count(*) as pending
          from private.rollup_pending d
         where d.org_id = p_org_id
         group by d.node_id, d.currency, d.week) g
     cross join lateral (
       select x.ancestors || x.id as path from showtree.nodes x
        where x.org_id = p_org_id and x.id = g.node_id and x.deleted_at is null
       offset 0) n
     where n.path >= lo and n.path < hi
     group by 1, g.currency, g.week) u
  ), summed as (
    -- dated figures of the weeks before this one; the rest as they are
    select s.bucket, s.currency,
           sum(s.tasks_draft)::bigint as tasks_draft,
           sum(s.tasks_planning)::bigint as tasks_planning,
           sum(s.tasks_active)::bigint as tasks_active,
           sum(s.tasks_review)::bigint as tasks_review,
           sum(s.tasks_completed)::bigint as tasks_completed,
           sum(s.tasks_cancelled)::bigint as tasks_cancelled,
           sum(s.tasks_archived)::bigint as tasks_archived,
           sum(s.schedule_items)::bigint as schedule_items,
           sum(s.schedule_conflicts)::bigint as schedule_conflicts,
           sum(s.crew_headcount)::bigint as crew_headcount,
           sum(s.budget_planned_minor)::bigint as budget_planned_minor,
           sum(s.invoiced_draft_minor)::bigint as invoiced_draft_minor,
           sum(s.invoiced_active_minor)::bigint as invoiced_active_minor,
           sum(s.invoiced_review_minor)::bigint as invoiced_review_minor,
           sum(s.invoiced_completed_minor)::bigint as invoiced_completed_minor,
           sum(s.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
           sum(s.invoiced_archived_minor)::bigint as invoiced_archived_minor,
           sum(s.crew_cost_minor)::bigint as crew_cost_minor,
           coalesce(sum(s.tasks_open_due) filter (where s.week < this_week), 0)::bigint as overdue,
           coalesce(sum(s.assets_started - s.assets_ended) filter (where s.week < this_week), 0)::bigint
             as assets,
           sum(s.pending)::bigint as pending
      from stored s
     group by s.bucket, s.currency
  ), recent as (
    -- this week up to now(), from the base tables: open tasks that fell
    -- due, assignments that started or ended
    select t.node_id, 1 as overdue, 0 as assets
      from showtree.tasks t
     where t.org_id = p_org_id and t.deleted_at is null and t.due_at is not null
       and t.status in ('draft', 'planning', 'active', 'review')
       and t.due_at >= since and t.due_at < now()
    union all
    select a.node_id, 0, 1
      from showtree.asset_assignments a
     where a.org_id = p_org_id and a.deleted_at is null
       and a.starts_at >= since and a.starts_at <= now()
       and exists (select from showtree.assets x
                    where x.org_id = a.org_id and x.id = a.asset_id and x.deleted_at is null)
    union all
    select a.node_id, 0, -1
      from showtree.asset_assignments a
     where a.org_id = p_org_id and a.deleted_at is null
       and a.ends_at >= since and a.ends_at <= now()
       and exists (select from showtree.assets x
                    where x.org_id = a.org_id and x.id = a.asset_id and x.deleted_at is null)
  ), clock as (
    -- each of the few rows looks its node up (offset 0 keeps it a lookup:
    -- joined, the generic plan may hash the whole subtree)
    select coalesce(n.path[child], p_node_id) as bucket,
           sum(r.overdue)::bigint as overdue, sum(r.assets)::bigint as assets
      from recent r
     cross join lateral (
       select x.ancestors || x.id as path from showtree.nodes x
        where x.org_id = p_org_id and x.id = r.node_id and x.deleted_at is null
       offset 0) n
     where n.path >= lo and n.path < hi
     group by 1
  ), counts as (
    select s.bucket from summed s where s.currency = 'XXX'
    union
    select c.bucket from clock c
  )
  select s.bucket, s.currency, s.tasks_draft, s.tasks_planning, s.tasks_active, s.tasks_review, s.tasks_completed, s.tasks_cancelled, s.tasks_archived, s.schedule_items, s.schedule_conflicts, s.crew_headcount, s.budget_planned_minor, s.invoiced_draft_minor, s.invoiced_active_minor, s.invoiced_review_minor, s.invoiced_completed_minor, s.invoiced_cancelled_minor, s.invoiced_archived_minor, s.crew_cost_minor,
         0::bigint, 0::bigint, s.pending
    from summed s
   where s.currency <> 'XXX'
  union all
  select k.bucket, 'XXX'::char(3), coalesce(s.tasks_draft, 0), coalesce(s.tasks_planning, 0), coalesce(s.tasks_active, 0), coalesce(s.tasks_review, 0), coalesce(s.tasks_completed, 0), coalesce(s.tasks_cancelled, 0), coalesce(s.tasks_archived, 0), coalesce(s.schedule_items, 0), coalesce(s.schedule_conflicts, 0), coalesce(s.crew_headcount, 0),
         0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
         coalesce(s.overdue, 0) + coalesce(c.overdue, 0), coalesce(s.assets, 0) + coalesce(c.assets, 0),
         coalesce(s.pending, 0)
    from counts k
    left join summed s on s.bucket = k.bucket and s.currency = 'XXX'
    left join clock c on c.bucket = k.bucket;
end
$function$;

create or replace function private.rollup_rebuild()
 returns void
 language plpgsql
 set search_path = ''
as $function$
begin
  lock table private.rollup_deltas, private.rollup_task_deltas in access exclusive mode;
  lock table private.rollup_own, private.rollup_subtree in access exclusive mode;
  delete from private.rollup_deltas;
  delete from private.rollup_task_deltas;
  delete from private.rollup_own;
  delete from private.rollup_subtree;
  insert into private.rollup_own (org_id, node_id, currency, week,
    tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
  select c.org_id, c.node_id, c.currency, c.week,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_draft'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_planning'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_active'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_review'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_completed'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_cancelled'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_archived'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'schedule_items'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'schedule_conflicts'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'crew_headcount'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'budget_planned_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_draft_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_active_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_review_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_completed_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_cancelled_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_archived_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'crew_cost_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_open_due'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'assets_started'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'assets_ended'), 0)::bigint
    from (
      select t.org_id, t.node_id, 'XXX'::char(3) as currency, '-infinity'::date as week,
             'tasks_' || t.status as metric, 1::numeric as amount
        from showtree.tasks t where t.deleted_at is null
      union all
      select b.org_id, b.node_id, b.currency, '-infinity', 'budget_planned_minor', b.amount_minor
        from showtree.budget_lines b where b.deleted_at is null
      union all
      select i.org_id, i.node_id, i.currency, '-infinity', 'invoiced_' || i.status || '_minor',
             round(l.quantity * l.unit_amount_minor)
        from showtree.invoices i
        join showtree.invoice_lines l on l.org_id = i.org_id and l.invoice_id = i.id
       where i.deleted_at is null and l.deleted_at is null
      union all
      select a.org_id, a.node_id, 'XXX', '-infinity', 'crew_headcount', 1
        from showtree.crew_assignments a where a.deleted_at is null and a.status <> 'cancelled'
      union all
      select a.org_id, a.node_id, a.currency, '-infinity', 'crew_cost_minor',
             private.crew_cost_minor(a.rate_amount_minor, a.rate_unit, a.call_at, a.wrap_at)
        from showtree.crew_assignments a
       where a.deleted_at is null and a.status <> 'cancelled'
         and private.crew_cost_minor(a.rate_amount_minor, a.rate_unit, a.call_at, a.wrap_at) <> 0
      union all
      select s.org_id, s.node_id, 'XXX', '-infinity', 'schedule_items', 1
        from showtree.schedule_items s where s.deleted_at is null
      union all
      select s.org_id, s.node_id, 'XXX', '-infinity', 'schedule_conflicts', 1
        from showtree.schedule_items s
        join showtree.schedule_items o
          on o.org_id = s.org_id and o.node_id = s.node_id and o.location = s.location and o.id > s.id
         and o.deleted_at is null and o.starts_at < s.ends_at and s.starts_at < o.ends_at
       where s.deleted_at is null
      union all
      select t.org_id, t.node_id, 'XXX', private.rollup_week(t.due_at), 'tasks_open_due', 1
        from showtree.tasks t
       where t.deleted_at is null and t.due_at is not null
         and t.status in ('draft', 'planning', 'active', 'review')
      union all
      select a.org_id, a.node_id, 'XXX', private.rollup_week(m.at), m.metric, 1
        from showtree.asset_assignments a
        join showtree.assets x on x.org_id = a.org_id and x.id = a.asset_id and x.deleted_at is null
       cross join lateral (values (a.starts_at, 'assets_started'), (a.ends_at, 'assets_ended')) m(at, metric)
       where a.deleted_at is null and m.at is not null
    ) c
   group by c.org_id, c.node_id, c.currency, c.week;
  insert into private.rollup_subtree (org_id, node_id, currency, week, tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
  select o.org_id, a.node_id, o.currency, o.week,
         sum(o.tasks_draft)::bigint as tasks_draft,
         sum(o.tasks_planning)::bigint as tasks_planning,
         sum(o.tasks_active)::bigint as tasks_active,
         sum(o.tasks_review)::bigint as tasks_review,
         sum(o.tasks_completed)::bigint as tasks_completed,
         sum(o.tasks_cancelled)::bigint as tasks_cancelled,
         sum(o.tasks_archived)::bigint as tasks_archived,
         sum(o.schedule_items)::bigint as schedule_items,
         sum(o.schedule_conflicts)::bigint as schedule_conflicts,
         sum(o.crew_headcount)::bigint as crew_headcount,
         sum(o.budget_planned_minor)::bigint as budget_planned_minor,
         sum(o.invoiced_draft_minor)::bigint as invoiced_draft_minor,
         sum(o.invoiced_active_minor)::bigint as invoiced_active_minor,
         sum(o.invoiced_review_minor)::bigint as invoiced_review_minor,
         sum(o.invoiced_completed_minor)::bigint as invoiced_completed_minor,
         sum(o.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
         sum(o.invoiced_archived_minor)::bigint as invoiced_archived_minor,
         sum(o.crew_cost_minor)::bigint as crew_cost_minor,
         sum(o.tasks_open_due)::bigint as tasks_open_due,
         sum(o.assets_started)::bigint as assets_started,
         sum(o.assets_ended)::bigint as assets_ended
    from private.rollup_own o
    join showtree.nodes n on n.org_id = o.org_id and n.id = o.node_id and n.deleted_at is null
   cross join unnest((n.ancestors || n.id)[1:4]) as a(node_id)
   group by o.org_id, a.node_id, o.currency, o.week;
end
$function$;
