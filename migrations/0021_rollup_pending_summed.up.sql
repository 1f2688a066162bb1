-- Pending deltas summed per node, then per bucket, before a roll-up reads
-- them.
--
-- A roll-up adds the committed deltas the fold has not taken yet to the
-- stored totals (read-your-writes). private.rollup_parts and
-- private.rollup_raw (migrations 0010 and 0006) looked every pending delta
-- up to its node and carried it, 21 figures wide, through the buckets'
-- classification and the sums of the stored rows: an organization root
-- took 5 ms with nothing pending, 65 ms with 9,600 deltas pending and 115
-- ms with 19,200 (one organization of 5,000 nodes, deltas spread over all
-- of them, about 6 us a delta), which is what a fold every 200 ms leaves
-- pending while 64 connections insert tasks. Now the deltas are summed per
-- node, currency and week in one pass, each such sum looks its node up
-- (live, in the subtree, under which child), and the sums are summed again
-- per bucket: 47-52 ms with the same 19,200 deltas, and less the more
-- deltas a node has (a 300-node organization with 9,568 deltas pending, 32
-- per node: 9.8 ms against 21.6 ms). The delta table is read once: a first
-- version read it twice and joined the two, and a session whose generic
-- plan was made while the table was empty (the readers' plans are cached
-- per session) joined them by nested loop, which grows with the square of
-- the deltas pending (80 ms with 9,568 in that organization; this shape
-- took 6.3 ms there). The figures are the same (the property tests
-- compare them with the brute force).

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
  this_week date := private.rollup_week(now());
  since timestamptz := this_week::timestamp at time zone 'UTC';
begin
  select n.ancestors || n.id, n.ancestors || n.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid,
         n.depth + 2
    into lo, hi, child
    from showtree.nodes n
   where n.org_id = p_org_id and n.id = p_node_id and n.deleted_at is null;
  if not found then
    return;
  end if;
  return query
  with folded as (
    select 'total'::text as part, null::uuid as child_id, s.currency, s.week, s.tasks_draft, s.tasks_planning, s.tasks_active, s.tasks_review, s.tasks_completed, s.tasks_cancelled, s.tasks_archived, s.schedule_items, s.schedule_conflicts, s.crew_headcount, s.budget_planned_minor, s.invoiced_draft_minor, s.invoiced_active_minor, s.invoiced_review_minor, s.invoiced_completed_minor, s.invoiced_cancelled_minor, s.invoiced_archived_minor, s.crew_cost_minor, s.tasks_open_due, s.assets_started, s.assets_ended, 0 as pending
      from private.rollup_subtree s
     where s.org_id = p_org_id and s.node_id = p_node_id
    union all
    select 'own', null, o.currency, o.week, o.tasks_draft, o.tasks_planning, o.tasks_active, o.tasks_review, o.tasks_completed, o.tasks_cancelled, o.tasks_archived, o.schedule_items, o.schedule_conflicts, o.crew_headcount, o.budget_planned_minor, o.invoiced_draft_minor, o.invoiced_active_minor, o.invoiced_review_minor, o.invoiced_completed_minor, o.invoiced_cancelled_minor, o.invoiced_archived_minor, o.crew_cost_minor, o.tasks_open_due, o.assets_started, o.assets_ended, 0
      from private.rollup_own o
     where o.org_id = p_org_id and o.node_id = p_node_id
    union all
    -- (two scans: telling the parts apart row by row searched the arrays
    -- once per stored row)
    select 'child', s.node_id, s.currency, s.week, s.tasks_draft, s.tasks_planning, s.tasks_active, s.tasks_review, s.tasks_completed, s.tasks_cancelled, s.tasks_archived, s.schedule_items, s.schedule_conflicts, s.crew_headcount, s.budget_planned_minor, s.invoiced_draft_minor, s.invoiced_active_minor, s.invoiced_review_minor, s.invoiced_completed_minor, s.invoiced_cancelled_minor, s.invoiced_archived_minor, s.crew_cost_minor, s.tasks_open_due, s.assets_started, s.assets_ended, 0
      from private.rollup_subtree s
     where s.org_id = p_org_id and s.node_id = any (p_children)
    union all
    select 'restricted', null, s.currency, s.week, s.tasks_draft, s.tasks_planning, s.tasks_active, s.tasks_review, s.tasks_completed, s.tasks_cancelled, s.tasks_archived, s.schedule_items, s.schedule_conflicts, s.crew_headcount, s.budget_planned_minor, s.invoiced_draft_minor, s.invoiced_active_minor, s.invoiced_review_minor, s.invoiced_completed_minor, s.invoiced_cancelled_minor, s.invoiced_archived_minor, s.crew_cost_minor, s.tasks_open_due, s.assets_started, s.assets_ended, 0
      from private.rollup_subtree s
     where s.org_id = p_org_id and s.node_id = any (p_hidden)
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

create or replace function private.rollup_raw(p_org_id uuid, p_node_id uuid)
returns table (
  bucket uuid, currency char(3),
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
  -- the current week of dated figures (UTC), as a key and as an instant
  this_week date := private.rollup_week(now());
  since timestamptz := this_week::timestamp at time zone 'UTC';
begin
  select n.ancestors || n.id, n.ancestors || n.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid,
         n.depth + 2
    into lo, hi, child
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
     where c.org_id = p_org_id and c.parent_id = p_node_id and c.deleted_at is null
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
          from private.rollup_deltas d
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
$$;
