-- Back to two delta rows per open task with a due date (migration 0014).
-- Writers wait until the pending deltas are in the old layout again.
lock table private.rollup_deltas in share row exclusive mode;

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
    -- by tuple id, from an array taken once: whatever the plan (a semi join
    -- planned while the table was empty nested its two scans)
    delete from private.rollup_deltas d
     where d.ctid = any (array(
         select x.ctid from private.rollup_deltas x
          where x.org_id = p_org_id
          limit greatest(p_limit, 1)))
       and d.org_id = p_org_id
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
$$;

create or replace function private.rollup_parts(p_org_id uuid, p_node_id uuid, p_children uuid[], p_hidden uuid[])
returns table (
  part text, child_id uuid, currency char(3),
  tasks_draft bigint, tasks_planning bigint, tasks_active bigint, tasks_review bigint,
  tasks_completed bigint, tasks_cancelled bigint, tasks_archived bigint,
  schedule_items bigint, schedule_conflicts bigint, crew_headcount bigint,
  budget_planned_minor bigint, invoiced_draft_minor bigint, invoiced_active_minor bigint,
  invoiced_review_minor bigint, invoiced_completed_minor bigint, invoiced_cancelled_minor bigint,
  invoiced_archived_minor bigint, crew_cost_minor bigint,
  tasks_overdue bigint, assets_now bigint, pending bigint)
language plpgsql stable security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
set jit = off
as $$
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
          from private.rollup_deltas d
         where d.org_id = p_org_id
         group by d.node_id, d.currency, d.week) g
     cross join lateral (
       select x.ancestors || x.id as path from showtree.nodes x
        where x.org_id = p_org_id and x.id = g.node_id and x.deleted_at is null
       offset 0) n
     where n.path >= lo and n.path < hi
     group by 1, g.currency, g.week
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
$$;

-- pending deltas with undated figures in a dated week: those figures move
-- to a '-infinity' delta of their own
insert into private.rollup_deltas (org_id, node_id, currency, tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, created_at)
select d.org_id, d.node_id, d.currency, d.tasks_draft, d.tasks_planning, d.tasks_active, d.tasks_review, d.tasks_completed, d.tasks_cancelled, d.tasks_archived, d.schedule_items, d.schedule_conflicts, d.crew_headcount, d.budget_planned_minor, d.invoiced_draft_minor, d.invoiced_active_minor, d.invoiced_review_minor, d.invoiced_completed_minor, d.invoiced_cancelled_minor, d.invoiced_archived_minor, d.crew_cost_minor, d.created_at
  from private.rollup_deltas d
 where d.week <> '-infinity' and (d.tasks_draft | d.tasks_planning | d.tasks_active | d.tasks_review | d.tasks_completed | d.tasks_cancelled | d.tasks_archived | d.schedule_items | d.schedule_conflicts | d.crew_headcount | d.budget_planned_minor | d.invoiced_draft_minor | d.invoiced_active_minor | d.invoiced_review_minor | d.invoiced_completed_minor | d.invoiced_cancelled_minor | d.invoiced_archived_minor | d.crew_cost_minor) <> 0;
update private.rollup_deltas d set tasks_draft = 0, tasks_planning = 0, tasks_active = 0, tasks_review = 0, tasks_completed = 0, tasks_cancelled = 0, tasks_archived = 0, schedule_items = 0, schedule_conflicts = 0, crew_headcount = 0, budget_planned_minor = 0, invoiced_draft_minor = 0, invoiced_active_minor = 0, invoiced_review_minor = 0, invoiced_completed_minor = 0, invoiced_cancelled_minor = 0, invoiced_archived_minor = 0, crew_cost_minor = 0
 where d.week <> '-infinity' and (d.tasks_draft | d.tasks_planning | d.tasks_active | d.tasks_review | d.tasks_completed | d.tasks_cancelled | d.tasks_archived | d.schedule_items | d.schedule_conflicts | d.crew_headcount | d.budget_planned_minor | d.invoiced_draft_minor | d.invoiced_active_minor | d.invoiced_review_minor | d.invoiced_completed_minor | d.invoiced_cancelled_minor | d.invoiced_archived_minor | d.crew_cost_minor) <> 0;
