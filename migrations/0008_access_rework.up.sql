-- Access, per statement and never cached: every policy reads the caller's
-- grants afresh through two small index scans, and decides each row with
-- one array overlap against a maintained column, instead of loading the
-- caller's sets once per transaction into a setting.
--
-- Why not a cache (docs/ARCHITECTURE.md, "Access"): any cache kept across
-- transactions must be checked against an access version that only an
-- MVCC read can give, and that read is an index scan per statement, the
-- same as reading the grants themselves; reading a cached set back from a
-- setting also means parsing its text, which for 200 grants costs more
-- than scanning them. Fresh reads are as cheap or cheaper, and can never
-- be stale: each statement sees the grants its snapshot sees.

-- The caller's user id from the request's claims: what auth.uid() returns
-- (request.jwt.claim.sub, else the sub of request.jwt.claims), as plain
-- SQL that PostgreSQL inlines. auth.uid() has a SET clause, so every
-- statement that called it paid for planning its body (~50 us).
create function private.caller_id() returns uuid
language sql stable
as $$
  select nullif(coalesce(
    nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
    nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'), '')::uuid
$$;

-- Grants from above stop at a restricted node. restricted_ancestor_depth
-- is the depth of a node's deepest restricted ancestor (0 when it has
-- none: the root's grants reach it). It is derived from the restricted
-- flags along the node's path, which stays stored once, in ancestors; the
-- triggers below keep it exact on insert, move and (un)restrict, and
-- clients cannot write it. With it, "a grant at or below the deepest
-- restricted node on the path" is one overlap of a path slice, whatever
-- the number of restricted nodes in the organization.
alter table showtree.nodes add column restricted_ancestor_depth smallint not null default 0
  constraint nodes_restricted_ancestor_depth_check check (restricted_ancestor_depth between 0 and 8);
-- existing rows: not a change of theirs, so updated_at stays
alter table showtree.nodes disable trigger nodes_set_updated_at;
update showtree.nodes d
   set restricted_ancestor_depth = g.depth
  from (select n.org_id, n.id, max(r.depth) as depth
          from showtree.nodes n
          join showtree.nodes r on r.org_id = n.org_id and r.id = any(n.ancestors) and r.restricted
         group by n.org_id, n.id) g
 where d.org_id = g.org_id and d.id = g.id;
alter table showtree.nodes enable trigger nodes_set_updated_at;

-- The part of a node's path whose grants reach it: from its deepest
-- restricted node (itself included) down to itself. Policies test it with
-- && against the caller's grant nodes.
create function private.grant_path(
  p_ancestors uuid[], p_id uuid, p_depth smallint, p_restricted boolean,
  p_restricted_ancestor_depth smallint)
returns uuid[]
language sql immutable parallel safe
as $$
  select (p_ancestors || p_id)[(case when p_restricted then p_depth else p_restricted_ancestor_depth end) + 1:]
$$;

-- Keeps restricted_ancestor_depth: from the parent on insert and move;
-- refused from clients. Fires after nodes_before_insert/_update (which
-- lock the tree and compute the path) and nodes_set_updated_at (trigger
-- order is by name). Restricting or opening a node takes the tree lock
-- exclusively, like a move: an insert below it waits, then reads the
-- parent's new value.
create function private.nodes_track_restricted() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and new.restricted is distinct from old.restricted then
    perform private.lock_tree(new.org_id, true);
  end if;
  if tg_op = 'INSERT' or new.parent_id is distinct from old.parent_id then
    new.restricted_ancestor_depth := coalesce((
      select case when p.restricted then p.depth else p.restricted_ancestor_depth end
        from showtree.nodes p
       where p.org_id = new.org_id and p.id = new.parent_id), 0);
  elsif new.restricted_ancestor_depth is distinct from old.restricted_ancestor_depth then
    if pg_catalog.pg_trigger_depth() < 2 then
      raise exception 'restricted_ancestor_depth is maintained by the database'
        using errcode = 'check_violation', constraint = 'nodes_ancestors_managed',
              schema = 'showtree', table = 'nodes';
    end if;
    -- nodes_restricted_cascade changing only this derived column is no
    -- change of the row's own: it keeps its updated_at (and so its ETag)
    if (pg_catalog.to_jsonb(new) - 'restricted_ancestor_depth' - 'updated_at')
       = (pg_catalog.to_jsonb(old) - 'restricted_ancestor_depth' - 'updated_at') then
      new.updated_at := old.updated_at;
    end if;
  end if;
  return new;
end
$$;
create trigger nodes_track_restricted
  before insert or update of parent_id, restricted, restricted_ancestor_depth on showtree.nodes
  for each row execute function private.nodes_track_restricted();

-- Carries a move or a (un)restrict to the subtree. Runs after
-- nodes_after_update (by name), so a moved subtree already has its new
-- paths; its restricted_ancestor_depth values are still the old ones:
-- those set by a restricted node inside the subtree shift with it, the
-- others become the subtree root's own gate.
create function private.nodes_restricted_cascade() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  path_start uuid[] := new.ancestors || new.id;
  path_end uuid[] := new.ancestors || new.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid;
  gate smallint := case when new.restricted then new.depth else new.restricted_ancestor_depth end;
begin
  update showtree.nodes d
     set restricted_ancestor_depth = case when d.restricted_ancestor_depth > old.depth
                                          then d.restricted_ancestor_depth - old.depth + new.depth
                                          else gate end
   where d.org_id = new.org_id
     and (d.ancestors || d.id) > path_start
     and (d.ancestors || d.id) < path_end
     and d.restricted_ancestor_depth <> case when d.restricted_ancestor_depth > old.depth
                                             then d.restricted_ancestor_depth - old.depth + new.depth
                                             else gate end;
  return null;
end
$$;
create trigger nodes_restricted_cascade after update on showtree.nodes
  for each row
  when (old.parent_id is distinct from new.parent_id or old.restricted is distinct from new.restricted)
  execute function private.nodes_restricted_cascade();

-- The caller's live grants, read with the owner's rights (so the grants'
-- own policies, which look at nodes, do not recurse into the nodes'
-- policies), only ever the caller's own rows. security_barrier keeps a
-- caller's own conditions from running on other users' rows first.
create view private.caller_grants with (security_barrier) as
  select g.org_id, g.node_id, g.role
    from showtree.grants g
   where g.user_id = private.caller_id() and g.deleted_at is null;
-- The nodes of those grants (every role reads). One column, so the plan
-- needs no subquery scan on top of the index scan.
create view private.caller_grant_nodes with (security_barrier) as
  select g.node_id
    from showtree.grants g
   where g.user_id = private.caller_id() and g.deleted_at is null;
-- Organizations where the caller is owner or admin at the root: they pass
-- every restricted node there.
create view private.caller_admin_orgs with (security_barrier) as
  select g.org_id
    from showtree.grants g
   where g.user_id = private.caller_id() and g.node_id = g.org_id
     and g.role in ('owner', 'admin') and g.deleted_at is null;
-- what those views read: index-only scans of the caller's live grants
create index grants_caller_idx on showtree.grants (user_id, org_id, node_id, role)
  where deleted_at is null;
create index grants_caller_admin_idx on showtree.grants (user_id, org_id)
  where node_id = org_id and role in ('owner', 'admin') and deleted_at is null;

-- The sets of migration 0003, same names, signatures and meanings, now
-- read fresh. PL/pgSQL: it keeps their plans for the session, where a SQL
-- function that cannot be inlined is planned at every statement.
create or replace function private.admin_orgs() returns uuid[]
language plpgsql stable
as $$
begin
  return array(select a.org_id from private.caller_admin_orgs a);
end
$$;

create or replace function private.access_roots(p_capability text) returns uuid[]
language plpgsql stable
as $$
begin
  return array(select g.node_id from private.caller_grants g
                where private.role_has(g.role, p_capability)
                  and g.org_id <> all(array(select a.org_id from private.caller_admin_orgs a)));
end
$$;

create or replace function private.restricted_nodes() returns uuid[]
language plpgsql stable security definer
set search_path = ''
as $$
begin
  return array(select r.id from showtree.nodes r
                where r.restricted
                  and r.org_id in (select g.org_id from private.caller_grants g)
                  and r.org_id <> all(array(select a.org_id from private.caller_admin_orgs a)));
end
$$;

create or replace function private.has_capability(p_org_id uuid, p_node_id uuid, p_capability text)
returns boolean
language sql stable security definer
set search_path = ''
as $$
  select p_org_id = any(array(select a.org_id from private.caller_admin_orgs a))
      or exists (select from showtree.nodes n
                  where n.org_id = p_org_id and n.id = p_node_id
                    and private.grant_path(n.ancestors, n.id, n.depth, n.restricted,
                                           n.restricted_ancestor_depth)
                        && array(select g.node_id from private.caller_grants g
                                  where private.role_has(g.role, p_capability)))
$$;

-- The per-transaction cache is gone.
drop trigger grants_forget_access_cache on showtree.grants;
drop trigger nodes_forget_access_cache on showtree.nodes;
drop function private.forget_access_cache_trigger();
drop function private.forget_access_cache();
drop function private.access_set(integer);
drop function private.load_access(integer);

-- Policies: the admin organizations first (one array test per row), then
-- the row's grant path against the caller's grant nodes carrying the
-- capability. Each array(...) is an init plan: one index scan per
-- statement. Tables that name a node check it through nodes, whose own
-- policy then applies.
drop policy nodes_select on showtree.nodes;
create policy nodes_select on showtree.nodes for select to authenticated
  using (org_id = any (array(select a.org_id from private.caller_admin_orgs a))
         or private.grant_path(ancestors, id, depth, restricted, restricted_ancestor_depth)
            && array(select g.node_id from private.caller_grant_nodes g));
-- creating needs manage at the parent: the new row's ancestors, cut at
-- their deepest restricted node (both set by the before-insert triggers)
drop policy nodes_insert on showtree.nodes;
create policy nodes_insert on showtree.nodes for insert to authenticated
  with check (org_id = any (array(select a.org_id from private.caller_admin_orgs a))
              or ancestors[restricted_ancestor_depth + 1:]
                 && array(select g.node_id from private.caller_grants g
                           where private.role_has(g.role, 'manage')));
drop policy nodes_update on showtree.nodes;
create policy nodes_update on showtree.nodes for update to authenticated
  using (org_id = any (array(select a.org_id from private.caller_admin_orgs a))
         or private.grant_path(ancestors, id, depth, restricted, restricted_ancestor_depth)
            && array(select g.node_id from private.caller_grants g
                      where private.role_has(g.role, 'manage')))
  with check (org_id = any (array(select a.org_id from private.caller_admin_orgs a))
              or private.grant_path(ancestors, id, depth, restricted, restricted_ancestor_depth)
                 && array(select g.node_id from private.caller_grants g
                           where private.role_has(g.role, 'manage')));

do $migration$
declare
  t text;
begin
  foreach t in array array['organizations', 'projects', 'productions', 'activations', 'workspaces'] loop
    execute format('drop policy %I on showtree.%I', t || '_select', t);
    execute format(
      'create policy %I on showtree.%I for select to authenticated using ('
      'org_id = any (array(select a.org_id from private.caller_admin_orgs a)) '
      'or exists (select from showtree.nodes n where n.org_id = %I.org_id and n.id = %I.node_id))',
      t || '_select', t, t, t);
    execute format('drop policy %I on showtree.%I', t || '_update', t);
    execute format(
      'create policy %I on showtree.%I for update to authenticated using ('
      'org_id = any (array(select a.org_id from private.caller_admin_orgs a)) '
      'or exists (select from showtree.nodes n where n.org_id = %I.org_id and n.id = %I.node_id '
      'and private.grant_path(n.ancestors, n.id, n.depth, n.restricted, n.restricted_ancestor_depth) '
      '&& array(select g.node_id from private.caller_grants g where private.role_has(g.role, ''manage''))))',
      t || '_update', t, t, t);
  end loop;
end
$migration$;

drop policy grants_select on showtree.grants;
create policy grants_select on showtree.grants for select to authenticated
  using (user_id = (select private.caller_id())
         or org_id = any (array(select a.org_id from private.caller_admin_orgs a))
         or exists (select from showtree.nodes n where n.org_id = grants.org_id and n.id = grants.node_id
                 and private.grant_path(n.ancestors, n.id, n.depth, n.restricted, n.restricted_ancestor_depth)
                     && array(select g.node_id from private.caller_grants g
                               where private.role_has(g.role, 'grant'))));
drop policy grants_insert on showtree.grants;
create policy grants_insert on showtree.grants for insert to authenticated
  with check (org_id = any (array(select a.org_id from private.caller_admin_orgs a))
              or exists (select from showtree.nodes n where n.org_id = grants.org_id and n.id = grants.node_id
                 and private.grant_path(n.ancestors, n.id, n.depth, n.restricted, n.restricted_ancestor_depth)
                     && array(select g.node_id from private.caller_grants g
                               where private.role_has(g.role, 'grant'))));
drop policy grants_update on showtree.grants;
create policy grants_update on showtree.grants for update to authenticated
  using (org_id = any (array(select a.org_id from private.caller_admin_orgs a))
         or exists (select from showtree.nodes n where n.org_id = grants.org_id and n.id = grants.node_id
                 and private.grant_path(n.ancestors, n.id, n.depth, n.restricted, n.restricted_ancestor_depth)
                     && array(select g.node_id from private.caller_grants g
                               where private.role_has(g.role, 'grant'))));

-- Audit events of money (metadata names a capability: budget lines,
-- invoices, their lines and tags) are read only with the finance
-- capability at their node (migration 0005's rule).
alter policy audit_events_select on showtree.audit_events
  using (org_id = any (array(select a.org_id from private.caller_admin_orgs a))
         or exists (select from showtree.nodes n where n.org_id = audit_events.org_id and n.id = audit_events.node_id
                     and (not (audit_events.metadata ? 'capability')
                          or private.grant_path(n.ancestors, n.id, n.depth, n.restricted, n.restricted_ancestor_depth)
                             && array(select g.node_id from private.caller_grants g
                                       where private.role_has(g.role, 'finance')))));

-- The domain's policy expressions (migration 0005), same names and
-- meanings, on the same pattern as the tree's: the admin organizations and
-- the caller's grant nodes per capability, each an init plan read once per
-- statement.
--  * can(T, cap): the caller holds `cap` at T's node: T's node's grant path
--    overlaps the caller's grant nodes carrying it. Reading rides on
--    nodes' own policy inside `exists`.
--  * member(T, cap): org-level reference data: T's organization is among
--    those where the caller holds a grant carrying `cap` (reading: any).
create or replace function private.policy_can(p_alias text, p_capability text) returns text
language sql immutable
set search_path = ''
as $$
  select case when p_capability = 'read' then pg_catalog.format(
    '(%1$s.org_id = any (array(select a.org_id from private.caller_admin_orgs a)) '
    'or exists (select from showtree.nodes n where n.org_id = %1$s.org_id and n.id = %1$s.node_id))', p_alias)
  else pg_catalog.format(
    '(%1$s.org_id = any (array(select a.org_id from private.caller_admin_orgs a)) '
    'or exists (select from showtree.nodes n where n.org_id = %1$s.org_id and n.id = %1$s.node_id '
    'and private.grant_path(n.ancestors, n.id, n.depth, n.restricted, n.restricted_ancestor_depth) '
    '&& array(select g.node_id from private.caller_grants g where private.role_has(g.role, %2$L))))',
    p_alias, p_capability)
  end
$$;

create or replace function private.policy_member(p_alias text, p_capability text) returns text
language sql immutable
set search_path = ''
as $$
  select pg_catalog.format(
    '(%1$s.org_id = any (array(select a.org_id from private.caller_admin_orgs a)) '
    'or %1$s.org_id = any (array(select g.org_id from private.caller_grants g%2$s)))',
    p_alias,
    case when p_capability = 'read' then ''
         else pg_catalog.format(' where private.role_has(g.role, %L)', p_capability) end)
$$;

-- The domain tables' policies (migration 0005's table) and fx_rates'
-- (0006's), regenerated from the helpers above.
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

-- The roll-up (migration 0006) reads the caller's grants the same way:
-- the node's and each child's grant path against the grant nodes.
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

-- (select private.caller_id()) instead of (select auth.uid()): the same
-- value, without planning auth.uid()'s body at every statement.
drop policy idempotency_keys_owner_select on showtree.idempotency_keys;
create policy idempotency_keys_owner_select on showtree.idempotency_keys
  for select to authenticated using (owner_id = (select private.caller_id()));
drop policy idempotency_keys_owner_insert on showtree.idempotency_keys;
create policy idempotency_keys_owner_insert on showtree.idempotency_keys
  for insert to authenticated with check (owner_id = (select private.caller_id()));
drop policy idempotency_keys_owner_update on showtree.idempotency_keys;
create policy idempotency_keys_owner_update on showtree.idempotency_keys
  for update to authenticated using (owner_id = (select private.caller_id()))
  with check (owner_id = (select private.caller_id()));
drop policy idempotency_keys_owner_delete on showtree.idempotency_keys;
create policy idempotency_keys_owner_delete on showtree.idempotency_keys
  for delete to authenticated using (owner_id = (select private.caller_id()));

-- A personal API token was used: its last_used_at moves (at most once a
-- minute, so a busy token is not a row written per request). Called by the
-- service after it has matched the secret; the hash is asked again so
-- nobody can touch a token whose secret they do not hold.
create function private.api_token_used(p_id uuid, p_secret_hash bytea) returns void
language sql volatile security definer
set search_path = ''
as $$
  update private.api_tokens
     set last_used_at = pg_catalog.now()
   where id = p_id and secret_hash = p_secret_hash and deleted_at is null
     and (last_used_at is null or last_used_at < pg_catalog.now() - interval '1 minute')
$$;

revoke execute on function private.api_token_used(uuid, bytea) from public;
grant execute on function private.api_token_used(uuid, bytea) to anon, authenticated;
revoke execute on function private.caller_id(),
  private.grant_path(uuid[], uuid, smallint, boolean, smallint),
  private.nodes_track_restricted(), private.nodes_restricted_cascade()
  from public;
grant execute on function private.caller_id(),
  private.grant_path(uuid[], uuid, smallint, boolean, smallint)
  to authenticated;
grant select on private.caller_grants, private.caller_grant_nodes, private.caller_admin_orgs
  to authenticated;
