-- A roll-up read every child of its node (private.rollup_raw: each child's
-- subtree total, week by week) and the API listed every child the caller
-- can read: an organization root of 17,903 projects read 1.6 s of rows to
-- answer one request, and answered with all of them. Now:
--  * the total comes from the node's own subtree total (kept by the fold,
--    like every ancestor's), not from summing its children;
--  * the children are a page (keyset on name, id, as /children pages);
--  * the `restricted` bucket sums only the children the caller cannot
--    read. A child of a node the caller reads is unreadable only when it
--    is restricted (a child's grant path extends its parent's unless it is
--    restricted, migration 0008), so those are found through a partial
--    index of restricted children, not by reading every child.
-- private.rollup_raw (every child, no access: `showtree report` and the
-- property tests) is unchanged.

create index nodes_restricted_children_idx on showtree.nodes (org_id, parent_id)
  where restricted and deleted_at is null;

-- What reading relies on (private.rollup_parts sums undated figures from
-- the '-infinity' week alone, dated ones from the other weeks alone), as
-- every writer already does it: undated figures only in the '-infinity'
-- week, dated ones (open tasks by due week, assignments by start and end
-- week) only in real weeks.
alter table private.rollup_deltas add constraint rollup_deltas_weeks_check check (
  case when week = '-infinity'
       then tasks_open_due = 0 and assets_started = 0 and assets_ended = 0
       else tasks_draft = 0 and tasks_planning = 0 and tasks_active = 0 and tasks_review = 0 and tasks_completed = 0 and tasks_cancelled = 0 and tasks_archived = 0 and schedule_items = 0 and schedule_conflicts = 0 and crew_headcount = 0 and budget_planned_minor = 0 and invoiced_draft_minor = 0 and invoiced_active_minor = 0 and invoiced_review_minor = 0 and invoiced_completed_minor = 0 and invoiced_cancelled_minor = 0 and invoiced_archived_minor = 0 and crew_cost_minor = 0
  end);

-- The figures of one node's roll-up, in parts: 'total' (the live subtree),
-- 'own' (the node's own rows), 'child' for each of p_children (children of
-- the node) and one 'restricted' part summing p_hidden (other children).
-- Stored totals plus the committed deltas not folded yet, overdue tasks and
-- assets assigned now as in private.rollup_raw. No access checks: the
-- caller (private.rollup) decides the parts; not executable by the service.
create function private.rollup_parts(p_org_id uuid, p_node_id uuid, p_children uuid[], p_hidden uuid[])
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
    -- committed deltas not folded yet, of live nodes in the subtree, each
    -- under the child its node is in (the node itself for its own rows)
    select coalesce(n.path[child], p_node_id) as bucket, d.currency, d.week, d.tasks_draft, d.tasks_planning, d.tasks_active, d.tasks_review, d.tasks_completed, d.tasks_cancelled, d.tasks_archived, d.schedule_items, d.schedule_conflicts, d.crew_headcount, d.budget_planned_minor, d.invoiced_draft_minor, d.invoiced_active_minor, d.invoiced_review_minor, d.invoiced_completed_minor, d.invoiced_cancelled_minor, d.invoiced_archived_minor, d.crew_cost_minor, d.tasks_open_due, d.assets_started, d.assets_ended
      from private.rollup_deltas d
     cross join lateral (
       select x.ancestors || x.id as path from showtree.nodes x
        where x.org_id = p_org_id and x.id = d.node_id and x.deleted_at is null
       offset 0) n
     where d.org_id = p_org_id and n.path >= lo and n.path < hi
  ), stored as (
    select * from folded
    union all
    -- each pending delta counts in the total and in the part its bucket is in
    select b.part, b.child_id, u.currency, u.week, u.tasks_draft, u.tasks_planning, u.tasks_active, u.tasks_review, u.tasks_completed, u.tasks_cancelled, u.tasks_archived, u.schedule_items, u.schedule_conflicts, u.crew_headcount, u.budget_planned_minor, u.invoiced_draft_minor, u.invoiced_active_minor, u.invoiced_review_minor, u.invoiced_completed_minor, u.invoiced_cancelled_minor, u.invoiced_archived_minor, u.crew_cost_minor, u.tasks_open_due, u.assets_started, u.assets_ended, 1
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
revoke execute on function private.rollup_parts(uuid, uuid, uuid[], uuid[]) from public;

-- The roll-up a caller may see, as migration 0008's private.rollup, with
-- the children paged: up to p_limit children the caller can read after
-- (p_after_name, p_after_id), ordered by name then id, with their name and
-- kind; the `total`, `own` and `restricted` buckets are the same on every
-- page. A caller that cannot read the node gets no rows.
drop function private.rollup(uuid, uuid, boolean);
create function private.rollup(
  p_org_id uuid, p_node_id uuid, p_convert boolean,
  p_after_name text, p_after_id uuid, p_limit integer)
returns table (
  kind text, child_id uuid, child_name text, child_kind text, currency char(3), money_visible boolean,
  tasks_draft bigint, tasks_planning bigint, tasks_active bigint, tasks_review bigint, tasks_completed bigint, tasks_cancelled bigint, tasks_archived bigint, schedule_items bigint, schedule_conflicts bigint, crew_headcount bigint, budget_planned_minor bigint, invoiced_draft_minor bigint, invoiced_active_minor bigint, invoiced_review_minor bigint, invoiced_completed_minor bigint, invoiced_cancelled_minor bigint, invoiced_archived_minor bigint, crew_cost_minor bigint, tasks_overdue bigint, assets_now bigint, pending bigint,
  base_currency char(3), base_budget_planned_minor bigint, base_invoiced_draft_minor bigint, base_invoiced_active_minor bigint, base_invoiced_review_minor bigint, base_invoiced_completed_minor bigint, base_invoiced_cancelled_minor bigint, base_invoiced_archived_minor bigint, base_crew_cost_minor bigint)
language plpgsql stable security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
set jit = off
as $$
declare
  node_gate uuid[];
  is_admin boolean;
  read_nodes uuid[];
  finance_nodes uuid[];
  node_finance boolean;
  base char(3);
  page uuid[];
  hidden uuid[];
begin
  if p_limit is null or p_limit < 1 then
    raise exception 'roll-up page limit must be at least 1' using errcode = '22023';
  end if;
  select private.grant_path(n.ancestors, n.id, n.depth, n.restricted, n.restricted_ancestor_depth)
    into node_gate
    from showtree.nodes n
   where n.org_id = p_org_id and n.id = p_node_id and n.deleted_at is null;
  if not found then
    return;
  end if;
  -- the caller's grants as the policies read them (migration 0008)
  is_admin := p_org_id = any (array(select a.org_id from private.caller_admin_orgs a));
  read_nodes := array(select g.node_id from private.caller_grant_nodes g);
  finance_nodes := array(select g.node_id from private.caller_grants g
                          where private.role_has(g.role, 'finance'));
  if not (is_admin or node_gate && read_nodes) then
    return;
  end if;
  node_finance := is_admin or node_gate && finance_nodes;
  page := array(
    select c.id from showtree.nodes c
     where c.org_id = p_org_id and c.parent_id = p_node_id and c.deleted_at is null
       and (p_after_name is null or (c.name, c.id) > (p_after_name, p_after_id))
       and (is_admin or not c.restricted
            or private.grant_path(c.ancestors, c.id, c.depth, c.restricted, c.restricted_ancestor_depth)
               && read_nodes)
     order by c.name, c.id
     limit p_limit);
  -- only a restricted child can be unreadable here (see the file's head)
  hidden := case when is_admin then '{}'::uuid[] else array(
    select c.id from showtree.nodes c
     where c.org_id = p_org_id and c.parent_id = p_node_id and c.restricted and c.deleted_at is null
       and not private.grant_path(c.ancestors, c.id, c.depth, c.restricted, c.restricted_ancestor_depth)
               && read_nodes) end;
  if p_convert then
    select o.base_currency into base
      from showtree.organizations o
     where o.org_id = p_org_id and o.node_id = p_org_id;
  end if;
  return query
  with grouped as materialized (
    -- keyed without nulls, so that every join below can hash
    select p.*, coalesce(p.child_id, '00000000-0000-0000-0000-000000000000'::uuid) as key
      from private.rollup_parts(p_org_id, p_node_id, page, hidden) p
  ), kids as materialized (
    select c.id, c.name, c.kind::text as kind,
           is_admin or private.grant_path(c.ancestors, c.id, c.depth, c.restricted, c.restricted_ancestor_depth)
                       && finance_nodes as finance
      from showtree.nodes c
     where c.org_id = p_org_id and c.id = any (page)
  ), shown as materialized (
    select b.*, coalesce(b.child_id, '00000000-0000-0000-0000-000000000000'::uuid) as key
      from (
        select 'total'::text as kind, null::uuid as child_id, null::text as child_name,
               null::text as child_kind, node_finance as money
        union all
        select 'own', null, null, null, node_finance
        union all
        select 'child', k.id, k.name, k.kind, k.finance from kids k
        union all
        select 'restricted', null, null, null, node_finance where cardinality(hidden) > 0) b
  ), cells as (
    -- each bucket's currencies, and its counts row in any case
    select g.part, g.key, g.currency from grouped g
    union
    select s.kind, s.key, 'XXX'::char(3) from shown s
  ), fx as materialized (
    select * from private.rollup_fx(p_org_id, p_node_id, base) where p_convert
  ), fx_grouped as (
    select b.kind, coalesce(b.child_id, '00000000-0000-0000-0000-000000000000'::uuid) as key, f.currency,
           sum(f.base_invoiced_draft_minor)::bigint as base_invoiced_draft_minor,
           sum(f.base_invoiced_active_minor)::bigint as base_invoiced_active_minor,
           sum(f.base_invoiced_review_minor)::bigint as base_invoiced_review_minor,
           sum(f.base_invoiced_completed_minor)::bigint as base_invoiced_completed_minor,
           sum(f.base_invoiced_cancelled_minor)::bigint as base_invoiced_cancelled_minor,
           sum(f.base_invoiced_archived_minor)::bigint as base_invoiced_archived_minor,
           sum(f.unrated)::bigint as unrated
      from fx f
     cross join lateral (values
       ('total'::text, null::uuid),
       (case when f.bucket = p_node_id then 'own'
             when f.bucket = any (page) then 'child'
             when f.bucket = any (hidden) then 'restricted' end,
        case when f.bucket = any (page) then f.bucket end)) b(kind, child_id)
     where b.kind is not null
     group by b.kind, b.child_id, f.currency
  )
  select s.kind, s.child_id, s.child_name, s.child_kind, c.currency, s.money,
         coalesce(g.tasks_draft, 0),
         coalesce(g.tasks_planning, 0),
         coalesce(g.tasks_active, 0),
         coalesce(g.tasks_review, 0),
         coalesce(g.tasks_completed, 0),
         coalesce(g.tasks_cancelled, 0),
         coalesce(g.tasks_archived, 0),
         coalesce(g.schedule_items, 0),
         coalesce(g.schedule_conflicts, 0),
         coalesce(g.crew_headcount, 0),
         case when s.money then coalesce(g.budget_planned_minor, 0) end,
         case when s.money then coalesce(g.invoiced_draft_minor, 0) end,
         case when s.money then coalesce(g.invoiced_active_minor, 0) end,
         case when s.money then coalesce(g.invoiced_review_minor, 0) end,
         case when s.money then coalesce(g.invoiced_completed_minor, 0) end,
         case when s.money then coalesce(g.invoiced_cancelled_minor, 0) end,
         case when s.money then coalesce(g.invoiced_archived_minor, 0) end,
         case when s.money then coalesce(g.crew_cost_minor, 0) end,
         coalesce(g.tasks_overdue, 0),
         coalesce(g.assets_now, 0),
         coalesce(g.pending, 0),
         case when v.conv then base end,
         case when v.conv then private.fx_convert_minor(coalesce(g.budget_planned_minor, 0), c.currency, base, r.rate) end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_draft_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_draft_minor, 0) end end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_active_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_active_minor, 0) end end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_review_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_review_minor, 0) end end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_completed_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_completed_minor, 0) end end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_cancelled_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_cancelled_minor, 0) end end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_archived_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_archived_minor, 0) end end,
         case when v.conv then private.fx_convert_minor(coalesce(g.crew_cost_minor, 0), c.currency, base, r.rate) end
    from shown s
    join cells c on c.part = s.kind and c.key = s.key
    left join grouped g on g.part = s.kind and g.key = s.key and g.currency = c.currency
    left join fx_grouped x on x.kind = s.kind and x.key = s.key and x.currency = c.currency
   cross join lateral (select p_convert and s.money and c.currency <> 'XXX' as conv) v
    left join lateral (
      select private.fx_rate(p_org_id, c.currency, current_date) as rate where v.conv) r on true
   where c.currency = 'XXX' or s.money
   order by case s.kind when 'total' then 0 when 'own' then 1 when 'child' then 2 else 3 end,
            s.child_name, s.child_id, c.currency;
end
$$;
revoke execute on function private.rollup(uuid, uuid, boolean, text, uuid, integer) from public;
grant execute on function private.rollup(uuid, uuid, boolean, text, uuid, integer) to authenticated;
