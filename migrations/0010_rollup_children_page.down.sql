-- Back to migration 0008's roll-up: every child read and listed.
drop function private.rollup(uuid, uuid, boolean, text, uuid, integer);
drop function private.rollup_parts(uuid, uuid, uuid[], uuid[]);
drop index showtree.nodes_restricted_children_idx;
alter table private.rollup_deltas drop constraint rollup_deltas_weeks_check;

-- The roll-up (migration 0006) reads the caller's grants the same way:
-- the node's and each child's grant path against the grant nodes.
create function private.rollup(p_org_id uuid, p_node_id uuid, p_convert boolean)
returns table (
  kind text, child_id uuid, currency char(3), money_visible boolean,
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
begin
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
  if p_convert then
    select o.base_currency into base
      from showtree.organizations o
     where o.org_id = p_org_id and o.node_id = p_org_id;
  end if;
  return query
  with raw as materialized (
    select * from private.rollup_raw(p_org_id, p_node_id)
  ), kids as materialized (
    select c.id,
           is_admin or private.grant_path(c.ancestors, c.id, c.depth, c.restricted, c.restricted_ancestor_depth)
                       && read_nodes as readable,
           is_admin or private.grant_path(c.ancestors, c.id, c.depth, c.restricted, c.restricted_ancestor_depth)
                       && finance_nodes as finance
      from showtree.nodes c
     where c.org_id = p_org_id and c.parent_id = p_node_id and c.deleted_at is null
  ), shown as (
    select 'total'::text as kind, null::uuid as child_id, node_finance as money
    union all
    select 'own', null, node_finance
    union all
    select 'child', k.id, k.finance from kids k where k.readable
    union all
    select 'restricted', null, node_finance where exists (select from kids k where not k.readable)
  ), placed as (
    -- each raw row counts in the total and in exactly one other bucket
    select r.*, b.kind, b.child_id
      from raw r
      left join kids k on k.id = r.bucket
     cross join lateral (values
       ('total'::text, null::uuid),
       (case when r.bucket = p_node_id then 'own' when k.readable then 'child' else 'restricted' end,
        case when r.bucket <> p_node_id and k.readable then r.bucket end)) b(kind, child_id)
  ), grouped as (
    select p.kind, p.child_id, p.currency,
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
           sum(p.tasks_overdue)::bigint as tasks_overdue,
           sum(p.assets_now)::bigint as assets_now,
           sum(p.pending)::bigint as pending
      from placed p
     group by p.kind, p.child_id, p.currency
  ), fx as materialized (
    select * from private.rollup_fx(p_org_id, p_node_id, base) where p_convert
  ), fx_grouped as (
    select b.kind, b.child_id, f.currency,
           sum(f.base_invoiced_draft_minor)::bigint as base_invoiced_draft_minor,
           sum(f.base_invoiced_active_minor)::bigint as base_invoiced_active_minor,
           sum(f.base_invoiced_review_minor)::bigint as base_invoiced_review_minor,
           sum(f.base_invoiced_completed_minor)::bigint as base_invoiced_completed_minor,
           sum(f.base_invoiced_cancelled_minor)::bigint as base_invoiced_cancelled_minor,
           sum(f.base_invoiced_archived_minor)::bigint as base_invoiced_archived_minor,
           sum(f.unrated)::bigint as unrated
      from fx f
      left join kids k on k.id = f.bucket
     cross join lateral (values
       ('total'::text, null::uuid),
       (case when f.bucket = p_node_id then 'own' when k.readable then 'child' else 'restricted' end,
        case when f.bucket <> p_node_id and k.readable then f.bucket end)) b(kind, child_id)
     group by b.kind, b.child_id, f.currency
  )
  select s.kind, s.child_id, c.currency, s.money,
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
   cross join lateral (
     select 'XXX'::char(3) as currency
     union
     select g2.currency from grouped g2
      where g2.kind = s.kind and g2.child_id is not distinct from s.child_id) c
    left join grouped g
      on g.kind = s.kind and g.child_id is not distinct from s.child_id and g.currency = c.currency
    left join fx_grouped x
      on x.kind = s.kind and x.child_id is not distinct from s.child_id and x.currency = c.currency
   cross join lateral (select p_convert and s.money and c.currency <> 'XXX' as conv) v
    left join lateral (
      select private.fx_rate(p_org_id, c.currency, current_date) as rate where v.conv) r on true
   where c.currency = 'XXX' or s.money
   order by case s.kind when 'total' then 0 when 'own' then 1 when 'child' then 2 else 3 end,
            s.child_id, c.currency;
end
$$;
revoke execute on function private.rollup(uuid, uuid, boolean) from public;
grant execute on function private.rollup(uuid, uuid, boolean) to authenticated;
