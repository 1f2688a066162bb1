-- Back to migration 0007: the per-transaction cache of the caller's sets
-- (load_access, access_set and the triggers that forget it), the policies
-- that read it, and nodes without restricted_ancestor_depth.

drop policy idempotency_keys_owner_delete on showtree.idempotency_keys;
drop policy idempotency_keys_owner_update on showtree.idempotency_keys;
drop policy idempotency_keys_owner_insert on showtree.idempotency_keys;
drop policy idempotency_keys_owner_select on showtree.idempotency_keys;
drop policy audit_events_select on showtree.audit_events;
drop policy grants_update on showtree.grants;
drop policy grants_insert on showtree.grants;
drop policy grants_select on showtree.grants;
do $migration$
declare
  t text;
begin
  foreach t in array array['organizations', 'projects', 'productions', 'activations', 'workspaces'] loop
    execute format('drop policy %I on showtree.%I', t || '_update', t);
    execute format('drop policy %I on showtree.%I', t || '_select', t);
  end loop;
end
$migration$;
drop policy nodes_update on showtree.nodes;
drop policy nodes_insert on showtree.nodes;
drop policy nodes_select on showtree.nodes;

create function private.load_access(p_part integer) returns uuid[]
language plpgsql stable security definer
set search_path = ''
as $$
declare
  uid uuid := auth.uid();
  loaded text;
begin
  -- one statement over the caller's grants: admin organizations, then the
  -- roots per capability and the restricted nodes outside them
  with g as (
    select gr.org_id, gr.node_id, gr.role
      from showtree.grants gr
     where gr.user_id = uid and gr.deleted_at is null
  ), a as (
    select coalesce(array_agg(distinct g.org_id) filter (
             where g.node_id = g.org_id and g.role in ('owner', 'admin')), '{}') as orgs
      from g
  )
  select concat_ws('|', coalesce(uid::text, '-'), a.orgs::text,
           array(select g.node_id from g where g.org_id <> all(a.orgs))::text,
           array(select g.node_id from g where g.org_id <> all(a.orgs) and private.role_has(g.role, 'write'))::text,
           array(select g.node_id from g where g.org_id <> all(a.orgs) and private.role_has(g.role, 'manage'))::text,
           array(select g.node_id from g where g.org_id <> all(a.orgs) and private.role_has(g.role, 'grant'))::text,
           array(select g.node_id from g where g.org_id <> all(a.orgs) and private.role_has(g.role, 'finance'))::text,
           array(select r.id from showtree.nodes r
                  where r.restricted and r.org_id in (select g.org_id from g)
                    and r.org_id <> all(a.orgs))::text)
    into loaded
    from a;
  perform pg_catalog.set_config('showtree.access', loaded, true);
  return pg_catalog.split_part(loaded, '|', p_part + 1)::uuid[];
end
$$;

create function private.access_set(p_part integer) returns uuid[]
language sql stable
as $$
  select case
    when pg_catalog.split_part(coalesce(pg_catalog.current_setting('showtree.access', true), ''), '|', 1)
         = coalesce(auth.uid()::text, '-')
    then pg_catalog.split_part(pg_catalog.current_setting('showtree.access', true), '|', p_part + 1)::uuid[]
    else private.load_access(p_part)
  end
$$;

create or replace function private.admin_orgs() returns uuid[]
language sql stable
as $$ select private.access_set(1) $$;

create or replace function private.access_roots(p_capability text) returns uuid[]
language sql stable
as $$
  select case p_capability
    when 'read' then private.access_set(2)
    when 'write' then private.access_set(3)
    when 'manage' then private.access_set(4)
    when 'grant' then private.access_set(5)
    when 'finance' then private.access_set(6)
    else '{}'::uuid[]
  end
$$;

create or replace function private.restricted_nodes() returns uuid[]
language sql stable
as $$ select private.access_set(7) $$;

create function private.forget_access_cache() returns void
language sql volatile
set search_path = ''
as $$
  select pg_catalog.set_config('showtree.access', '', true);
$$;

create function private.forget_access_cache_trigger() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform private.forget_access_cache();
  return null;
end
$$;

create trigger nodes_forget_access_cache
  after insert or update of restricted or delete on showtree.nodes
  for each statement execute function private.forget_access_cache_trigger();
create trigger grants_forget_access_cache
  after insert or update or delete on showtree.grants
  for each statement execute function private.forget_access_cache_trigger();

create or replace function private.has_capability(p_org_id uuid, p_node_id uuid, p_capability text)
returns boolean
language sql stable security definer
set search_path = ''
as $$
  select p_org_id = any(private.admin_orgs())
      or exists (select from showtree.nodes n
                  where n.org_id = p_org_id and n.id = p_node_id
                    and private.path_allows(n.ancestors || n.id,
                          private.access_roots(p_capability), private.restricted_nodes()))
$$;

revoke execute on function private.load_access(integer), private.access_set(integer),
  private.forget_access_cache(), private.forget_access_cache_trigger()
  from public;
grant execute on function private.load_access(integer), private.access_set(integer),
  private.forget_access_cache()
  to authenticated;

create policy nodes_select on showtree.nodes for select to authenticated
  using (org_id = any ((select private.admin_orgs())::uuid[])
         or ((ancestors || id) && (select private.access_roots('read'))::uuid[]
              and (not ((ancestors || id) && (select private.restricted_nodes())::uuid[])
                   or private.path_allows((ancestors || id), (select private.access_roots('read'))::uuid[],
                                          (select private.restricted_nodes())::uuid[]))));
-- creating needs manage at the parent: the new row's ancestors (computed by
-- the before-insert trigger, which policies run after) end with it
create policy nodes_insert on showtree.nodes for insert to authenticated
  with check (org_id = any ((select private.admin_orgs())::uuid[])
              or (ancestors && (select private.access_roots('manage'))::uuid[]
              and (not (ancestors && (select private.restricted_nodes())::uuid[])
                   or private.path_allows(ancestors, (select private.access_roots('manage'))::uuid[],
                                          (select private.restricted_nodes())::uuid[]))));
-- changing needs manage at the node, where it is and where it goes; a move
-- also needs manage at the new parent (nodes_before_update checks it)
create policy nodes_update on showtree.nodes for update to authenticated
  using (org_id = any ((select private.admin_orgs())::uuid[])
         or ((ancestors || id) && (select private.access_roots('manage'))::uuid[]
              and (not ((ancestors || id) && (select private.restricted_nodes())::uuid[])
                   or private.path_allows((ancestors || id), (select private.access_roots('manage'))::uuid[],
                                          (select private.restricted_nodes())::uuid[]))))
  with check (org_id = any ((select private.admin_orgs())::uuid[])
              or ((ancestors || id) && (select private.access_roots('manage'))::uuid[]
              and (not ((ancestors || id) && (select private.restricted_nodes())::uuid[])
                   or private.path_allows((ancestors || id), (select private.access_roots('manage'))::uuid[],
                                          (select private.restricted_nodes())::uuid[]))));

do $migration$
declare
  t text;
begin
  foreach t in array array['organizations', 'projects', 'productions', 'activations', 'workspaces'] loop
    execute format(
      'create policy %I on showtree.%I for select to authenticated using ('
      'org_id = any ((select private.admin_orgs())::uuid[]) or exists (select from showtree.nodes n where n.org_id = %I.org_id and n.id = %I.node_id))',
      t || '_select', t, t, t);
    execute format(
      'create policy %I on showtree.%I for update to authenticated using ('
      'org_id = any ((select private.admin_orgs())::uuid[]) or exists (select from showtree.nodes n where n.org_id = %I.org_id and n.id = %I.node_id '
      'and private.has_capability(n.org_id, n.id, ''manage'')))',
      t || '_update', t, t, t);
  end loop;
end
$migration$;

create policy grants_select on showtree.grants for select to authenticated
  using (user_id = (select auth.uid())
         or org_id = any ((select private.admin_orgs())::uuid[])
         or exists (select from showtree.nodes n where n.org_id = grants.org_id and n.id = grants.node_id
                 and ((n.ancestors || n.id) && (select private.access_roots('grant'))::uuid[]
              and (not ((n.ancestors || n.id) && (select private.restricted_nodes())::uuid[])
                   or private.path_allows((n.ancestors || n.id), (select private.access_roots('grant'))::uuid[],
                                          (select private.restricted_nodes())::uuid[])))));
create policy grants_insert on showtree.grants for insert to authenticated
  with check (org_id = any ((select private.admin_orgs())::uuid[])
              or exists (select from showtree.nodes n where n.org_id = grants.org_id and n.id = grants.node_id
                 and ((n.ancestors || n.id) && (select private.access_roots('grant'))::uuid[]
              and (not ((n.ancestors || n.id) && (select private.restricted_nodes())::uuid[])
                   or private.path_allows((n.ancestors || n.id), (select private.access_roots('grant'))::uuid[],
                                          (select private.restricted_nodes())::uuid[])))));
create policy grants_update on showtree.grants for update to authenticated
  using (org_id = any ((select private.admin_orgs())::uuid[])
         or exists (select from showtree.nodes n where n.org_id = grants.org_id and n.id = grants.node_id
                 and ((n.ancestors || n.id) && (select private.access_roots('grant'))::uuid[]
              and (not ((n.ancestors || n.id) && (select private.restricted_nodes())::uuid[])
                   or private.path_allows((n.ancestors || n.id), (select private.access_roots('grant'))::uuid[],
                                          (select private.restricted_nodes())::uuid[])))));

-- migration 0005's version, finance rule included
create policy audit_events_select on showtree.audit_events for select to authenticated
  using (org_id = any ((select private.admin_orgs())::uuid[])
         or exists (select from showtree.nodes n where n.org_id = audit_events.org_id and n.id = audit_events.node_id
                     and (not (audit_events.metadata ? 'capability')
                          or ((n.ancestors || n.id) && (select private.access_roots('finance'))::uuid[]
                              and (not ((n.ancestors || n.id) && (select private.restricted_nodes())::uuid[])
                                   or private.path_allows((n.ancestors || n.id), (select private.access_roots('finance'))::uuid[],
                                                          (select private.restricted_nodes())::uuid[]))))));

-- (select auth.uid()) is evaluated once per statement, not once per row.
create policy idempotency_keys_owner_select on showtree.idempotency_keys
  for select to authenticated using (owner_id = (select auth.uid()));
create policy idempotency_keys_owner_insert on showtree.idempotency_keys
  for insert to authenticated with check (owner_id = (select auth.uid()));
create policy idempotency_keys_owner_update on showtree.idempotency_keys
  for update to authenticated using (owner_id = (select auth.uid()))
  with check (owner_id = (select auth.uid()));
create policy idempotency_keys_owner_delete on showtree.idempotency_keys
  for delete to authenticated using (owner_id = (select auth.uid()));

-- migration 0005's policy helpers, and the domain's and fx_rates' policies
-- generated from them (0005, 0006)
create or replace function private.policy_can(p_alias text, p_capability text) returns text
language sql immutable
set search_path = ''
as $$
  select case when p_capability = 'read' then pg_catalog.format(
    '(%1$s.org_id = any ((select private.admin_orgs())::uuid[]) '
    'or exists (select from showtree.nodes n where n.org_id = %1$s.org_id and n.id = %1$s.node_id))', p_alias)
  else pg_catalog.format(
    '(%1$s.org_id = any ((select private.admin_orgs())::uuid[]) '
    'or exists (select from showtree.nodes n where n.org_id = %1$s.org_id and n.id = %1$s.node_id '
    'and (n.ancestors || n.id) && (select private.access_roots(%2$L))::uuid[] '
    'and (not ((n.ancestors || n.id) && (select private.restricted_nodes())::uuid[]) '
    'or private.path_allows((n.ancestors || n.id), (select private.access_roots(%2$L))::uuid[], '
    '(select private.restricted_nodes())::uuid[]))))', p_alias, p_capability)
  end
$$;

create or replace function private.policy_member(p_alias text, p_capability text) returns text
language sql immutable
set search_path = ''
as $$
  select pg_catalog.format(
    '(%1$s.org_id = any ((select private.admin_orgs())::uuid[]) '
    'or exists (select from showtree.grants g where g.user_id = (select auth.uid()) '
    'and g.org_id = %1$s.org_id and g.deleted_at is null%2$s))',
    p_alias,
    case when p_capability = 'read' then ''
         else pg_catalog.format(' and private.role_has(g.role, %L)', p_capability) end)
$$;

do $migration$
declare
  t record;
  readable text;
  writable text;
begin
  for t in select * from (values
      ('tasks', 'can', 'read', 'write', null, null),
      ('schedule_items', 'can', 'read', 'write', null, null),
      ('documents', 'can', 'read', 'write', null, null),
      ('crew_assignments', 'can', 'read', 'write', null, null),
      ('asset_assignments', 'can', 'read', 'write', null, null),
      ('budget_lines', 'can', 'finance', 'finance', null, null),
      ('invoices', 'can', 'finance', 'finance', null, null),
      ('vendors', 'member', 'read', 'finance', null, null),
      ('people', 'member', 'read', 'write', null, null),
      ('assets', 'member', 'read', 'write', null, null),
      ('tags', 'member', 'read', 'write', null, null),
      ('fx_rates', 'member', 'read', 'finance', null, null),
      ('invoice_lines', 'through', null, null, 'invoices', 'invoice_id'),
      ('task_tags', 'through', null, null, 'tasks', 'task_id'),
      ('invoice_tags', 'through', null, null, 'invoices', 'invoice_id'),
      ('asset_tags', 'through', null, null, 'assets', 'asset_id'),
      ('person_tags', 'through', null, null, 'people', 'person_id'),
      ('document_tags', 'through', null, null, 'documents', 'document_id'))
      v(name, kind, read_cap, write_cap, parent, col)
  loop
    if t.kind = 'can' then
      readable := private.policy_can(t.name, t.read_cap);
      writable := private.policy_can(t.name, t.write_cap);
    elsif t.kind = 'member' then
      readable := private.policy_member(t.name, t.read_cap);
      writable := private.policy_member(t.name, t.write_cap);
    else
      readable := format('exists (select from showtree.%1$I p where p.org_id = %2$I.org_id and p.id = %2$I.%3$I)',
                         t.parent, t.name, t.col);
      writable := format('exists (select from showtree.%1$I p where p.org_id = %2$I.org_id and p.id = %2$I.%3$I and %4$s)',
                         t.parent, t.name, t.col,
                         case t.parent
                           when 'invoices' then private.policy_can('p', 'finance')
                           when 'tasks' then private.policy_can('p', 'write')
                           when 'documents' then private.policy_can('p', 'write')
                           else private.policy_member('p', 'write') end);
    end if;
    execute format('alter policy %I on showtree.%I using (%s)', t.name || '_select', t.name, readable);
    execute format('alter policy %I on showtree.%I with check (%s)', t.name || '_insert', t.name, writable);
    execute format('alter policy %I on showtree.%I using (%s) with check (%s)',
                   t.name || '_update', t.name, writable, writable);
  end loop;
end
$migration$;

-- migration 0006's roll-up
create or replace function private.rollup(p_org_id uuid, p_node_id uuid, p_convert boolean)
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
  node_path uuid[];
  is_admin boolean;
  roots_read uuid[];
  roots_finance uuid[];
  restricted_set uuid[];
  node_finance boolean;
  base char(3);
begin
  select n.ancestors || n.id into node_path
    from showtree.nodes n
   where n.org_id = p_org_id and n.id = p_node_id and n.deleted_at is null;
  if not found then
    return;
  end if;
  is_admin := p_org_id = any (private.admin_orgs());
  roots_read := private.access_roots('read');
  roots_finance := private.access_roots('finance');
  restricted_set := private.restricted_nodes();
  if not (is_admin or private.path_allows(node_path, roots_read, restricted_set)) then
    return;
  end if;
  node_finance := is_admin or private.path_allows(node_path, roots_finance, restricted_set);
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
           is_admin or private.path_allows(node_path || c.id, roots_read, restricted_set) as readable,
           is_admin or private.path_allows(node_path || c.id, roots_finance, restricted_set) as finance
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

drop function private.api_token_used(uuid, bytea);
drop view private.caller_admin_orgs;
drop view private.caller_grant_nodes;
drop view private.caller_grants;
drop index showtree.grants_caller_admin_idx;
drop index showtree.grants_caller_idx;
drop trigger nodes_restricted_cascade on showtree.nodes;
drop function private.nodes_restricted_cascade();
drop trigger nodes_track_restricted on showtree.nodes;
drop function private.nodes_track_restricted();
drop function private.grant_path(uuid[], uuid, smallint, boolean, smallint);
alter table showtree.nodes drop column restricted_ancestor_depth;
drop function private.caller_id();
