-- The hierarchy: one `nodes` table for every level, ancestry stored on the
-- node and maintained by the database, plus one detail table per level.

create type showtree.node_kind as enum
  ('organization', 'project', 'production', 'activation', 'workspace');

-- Kind rules; showtree_core::NodeKind::may_have_parent is the same table
-- (a test compares them).
-- (no SET clause: a pure expression PostgreSQL inlines into its callers)
create function private.node_kind_parent_allowed(
  parent_kind showtree.node_kind, child_kind showtree.node_kind)
returns boolean
language sql immutable parallel safe
as $$
  select case child_kind
    when 'organization' then parent_kind is null
    when 'project' then parent_kind = 'organization'
    when 'production' then parent_kind = 'project'
    when 'activation' then parent_kind = 'production'
    when 'workspace' then parent_kind in ('activation', 'workspace')
    else false
  end
$$;

create table showtree.nodes (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  parent_id uuid,
  kind showtree.node_kind not null,
  name text not null,
  slug text not null,
  status showtree.entity_status not null default 'active',
  restricted boolean not null default false,
  -- root..parent; maintained by triggers, never written by clients
  ancestors uuid[] not null default '{}',
  depth smallint not null default 0,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint nodes_pkey primary key (org_id, id),
  constraint nodes_parent_fkey foreign key (org_id, parent_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint nodes_created_by_fkey foreign key (created_by)
    references auth.users (id) on delete set null,
  constraint nodes_updated_by_fkey foreign key (updated_by)
    references auth.users (id) on delete set null,
  constraint nodes_deleted_by_fkey foreign key (deleted_by)
    references auth.users (id) on delete set null,
  constraint nodes_root_check check ((parent_id is null) = (kind = 'organization')),
  constraint nodes_org_root_check check (kind <> 'organization' or id = org_id),
  constraint nodes_name_check check (length(name) between 1 and 200 and name = btrim(name)),
  constraint nodes_slug_check check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 63),
  -- depth 0 is the organization; ten levels in all
  constraint nodes_depth_check check (depth between 0 and 9),
  constraint nodes_ancestors_check check (
    cardinality(ancestors) = depth and (depth = 0 or ancestors[1] = org_id)),
  constraint nodes_metadata_check check (jsonb_typeof(metadata) = 'object')
);
comment on table showtree.nodes is
  'every node of the hierarchy; ancestors (root..parent) and depth are maintained by triggers';

-- children (and the parent foreign key)
create index nodes_parent_id_idx on showtree.nodes (org_id, parent_id, name, id);
-- the materialized path: a subtree is one range of this index, in pre-order
create index nodes_path_idx on showtree.nodes (org_id, (ancestors || id));
create unique index nodes_slug_key on showtree.nodes (org_id, parent_id, slug)
  where deleted_at is null;
create index nodes_created_by_idx on showtree.nodes (created_by);
create index nodes_updated_by_idx on showtree.nodes (updated_by);
create index nodes_deleted_by_idx on showtree.nodes (deleted_by);

-- Structural changes of one organization's tree (insert, move, soft delete,
-- restore) read the parent's ancestry and write the descendants'. Inserts
-- share a per-organization lock; moves, deletes and restores take it
-- exclusively, so an insert can never compute its ancestry from a parent
-- that a concurrent move is rewriting (and two moves cannot form a cycle).
-- Requires read committed: each statement of the trigger sees what the
-- lock holder committed.
create function private.lock_tree(p_org_id uuid, p_exclusive boolean) returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_exclusive then
    perform pg_catalog.pg_advisory_xact_lock(1398034034, pg_catalog.hashtext(p_org_id::text));
  else
    perform pg_catalog.pg_advisory_xact_lock_shared(1398034034, pg_catalog.hashtext(p_org_id::text));
  end if;
end
$$;

-- Looks up the parent a node is (re)attached under and checks every rule
-- that depends on it. Returns the parent's path (its ancestors || its id).
create function private.node_parent_path(
  p_org_id uuid, p_parent_id uuid, p_id uuid, p_kind showtree.node_kind)
returns uuid[]
language plpgsql
set search_path = ''
as $$
declare
  parent record;
begin
  select n.kind, n.ancestors, n.id, n.deleted_at into parent
    from showtree.nodes n
   where n.org_id = p_org_id and n.id = p_parent_id;
  if not found then
    raise exception 'parent node % does not exist in this organization', p_parent_id
      using errcode = 'foreign_key_violation', constraint = 'nodes_parent_fkey',
            schema = 'showtree', table = 'nodes';
  end if;
  if parent.deleted_at is not null then
    raise exception 'parent node % is deleted', p_parent_id
      using errcode = 'check_violation', constraint = 'nodes_parent_live',
            schema = 'showtree', table = 'nodes';
  end if;
  if not private.node_kind_parent_allowed(parent.kind, p_kind) then
    raise exception 'kind rule: a % cannot be placed under a node of kind %', p_kind, parent.kind
      using errcode = 'check_violation', constraint = 'nodes_kind_rule',
            schema = 'showtree', table = 'nodes';
  end if;
  if p_id = parent.id or p_id = any(parent.ancestors) then
    raise exception 'node % cannot be moved under itself or its own descendant', p_id
      using errcode = 'check_violation', constraint = 'nodes_no_cycle',
            schema = 'showtree', table = 'nodes';
  end if;
  if cardinality(parent.ancestors) + 1 > 9 then
    raise exception 'the hierarchy is at most 10 levels deep'
      using errcode = 'check_violation', constraint = 'nodes_depth_check',
            schema = 'showtree', table = 'nodes';
  end if;
  return parent.ancestors || parent.id;
end
$$;

create function private.nodes_before_insert() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.kind = 'organization' then
    new.org_id := coalesce(new.org_id, new.id);
    new.ancestors := '{}';
    new.depth := 0;
    if new.parent_id is not null then
      raise exception 'an organization is a root: it has no parent'
        using errcode = 'check_violation', constraint = 'nodes_kind_rule',
              schema = 'showtree', table = 'nodes';
    end if;
    return new;
  end if;
  if new.parent_id is null then
    raise exception 'a % needs a parent', new.kind
      using errcode = 'check_violation', constraint = 'nodes_kind_rule',
            schema = 'showtree', table = 'nodes';
  end if;
  perform private.lock_tree(new.org_id, false);
  new.ancestors := private.node_parent_path(new.org_id, new.parent_id, new.id, new.kind);
  new.depth := cardinality(new.ancestors);
  return new;
end
$$;

create function private.nodes_before_update() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.org_id is distinct from old.org_id or new.id is distinct from old.id then
    raise exception 'a node cannot change organization or id'
      using errcode = 'check_violation', constraint = 'nodes_identity_immutable',
            schema = 'showtree', table = 'nodes';
  end if;
  if new.kind is distinct from old.kind then
    raise exception 'a node cannot change kind'
      using errcode = 'check_violation', constraint = 'nodes_kind_immutable',
            schema = 'showtree', table = 'nodes';
  end if;

  if new.parent_id is distinct from old.parent_id then
    if old.parent_id is null or new.parent_id is null then
      raise exception 'an organization is a root: it has no parent'
        using errcode = 'check_violation', constraint = 'nodes_kind_rule',
              schema = 'showtree', table = 'nodes';
    end if;
    perform private.lock_tree(new.org_id, true);
    new.ancestors := private.node_parent_path(new.org_id, new.parent_id, new.id, new.kind);
    new.depth := cardinality(new.ancestors);
  elsif (new.ancestors, new.depth) is distinct from (old.ancestors, old.depth)
        and pg_catalog.pg_trigger_depth() < 2 then
    -- only this table's own triggers (depth 2 and more) rewrite ancestry
    raise exception 'ancestors and depth are maintained by the database'
      using errcode = 'check_violation', constraint = 'nodes_ancestors_managed',
            schema = 'showtree', table = 'nodes';
  end if;

  if (old.deleted_at is null) <> (new.deleted_at is null) and pg_catalog.pg_trigger_depth() < 2 then
    perform private.lock_tree(new.org_id, true);
    if new.deleted_at is null and new.parent_id is not null and exists (
         select from showtree.nodes p
          where p.org_id = new.org_id and p.id = new.parent_id and p.deleted_at is not null) then
      raise exception 'restore the parent first: node % is deleted', new.parent_id
        using errcode = 'check_violation', constraint = 'nodes_parent_live',
              schema = 'showtree', table = 'nodes';
    end if;
  end if;
  return new;
end
$$;

-- Carries a move, soft delete or restore to the whole subtree, in the same
-- statement's transaction.
create function private.nodes_after_update() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  old_path uuid[] := old.ancestors || old.id;
  -- the largest uuid bounds the range of paths that start with old_path
  path_end uuid[] := old.ancestors || old.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid;
begin
  if pg_catalog.pg_trigger_depth() > 1 then
    return null;
  end if;
  if new.parent_id is distinct from old.parent_id then
    update showtree.nodes d
       set ancestors = new.ancestors || new.id || d.ancestors[old.depth + 2:],
           depth = d.depth - old.depth + new.depth
     where d.org_id = old.org_id
       and (d.ancestors || d.id) > old_path
       and (d.ancestors || d.id) < path_end;
  end if;
  if old.deleted_at is null and new.deleted_at is not null then
    update showtree.nodes d
       set deleted_at = new.deleted_at, deleted_by = new.deleted_by
     where d.org_id = old.org_id
       and (d.ancestors || d.id) > old_path
       and (d.ancestors || d.id) < path_end
       and d.deleted_at is null;
  elsif old.deleted_at is not null and new.deleted_at is null then
    -- exactly what the delete took away: parts deleted earlier, on their
    -- own, carry another timestamp and stay deleted
    update showtree.nodes d
       set deleted_at = null, deleted_by = null
     where d.org_id = old.org_id
       and (d.ancestors || d.id) > old_path
       and (d.ancestors || d.id) < path_end
       and d.deleted_at = old.deleted_at;
  end if;
  return null;
end
$$;

create trigger nodes_before_insert before insert on showtree.nodes
  for each row execute function private.nodes_before_insert();
create trigger nodes_before_update before update on showtree.nodes
  for each row execute function private.nodes_before_update();
create trigger nodes_after_update after update on showtree.nodes
  for each row
  when (old.parent_id is distinct from new.parent_id or old.deleted_at is distinct from new.deleted_at)
  execute function private.nodes_after_update();
create trigger nodes_set_updated_at before update on showtree.nodes
  for each row execute function private.set_updated_at();
create trigger nodes_status_transition before update of status on showtree.nodes
  for each row execute function private.enforce_status_transition();

-- Per-level detail tables, 1:1 with nodes. A node's detail row is created
-- with the node (nodes_after_insert), so the pair can never be half there.

create table showtree.organizations (
  org_id uuid not null,
  node_id uuid not null,
  base_currency char(3) not null default 'USD',
  timezone text not null default 'UTC',
  settings jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint organizations_pkey primary key (org_id, node_id),
  constraint organizations_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint organizations_root_check check (node_id = org_id),
  constraint organizations_base_currency_check check (base_currency ~ '^[A-Z]{3}$'),
  constraint organizations_timezone_check check (private.is_valid_timezone(timezone)),
  constraint organizations_settings_check check (jsonb_typeof(settings) = 'object')
);

create table showtree.projects (
  org_id uuid not null,
  node_id uuid not null,
  description text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint projects_pkey primary key (org_id, node_id),
  constraint projects_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint projects_description_check check (length(description) <= 10000)
);

create table showtree.productions (
  org_id uuid not null,
  node_id uuid not null,
  description text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint productions_pkey primary key (org_id, node_id),
  constraint productions_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint productions_description_check check (length(description) <= 10000)
);

create table showtree.activations (
  org_id uuid not null,
  node_id uuid not null,
  starts_at timestamptz,
  ends_at timestamptz,
  timezone text not null default 'UTC',
  venue text not null default '',
  capacity integer,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint activations_pkey primary key (org_id, node_id),
  constraint activations_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint activations_dates_check check (ends_at is null or starts_at is null or ends_at >= starts_at),
  constraint activations_timezone_check check (private.is_valid_timezone(timezone)),
  constraint activations_venue_check check (length(venue) <= 500),
  constraint activations_capacity_check check (capacity is null or capacity > 0)
);

create table showtree.workspaces (
  org_id uuid not null,
  node_id uuid not null,
  workspace_type text not null default 'area',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint workspaces_pkey primary key (org_id, node_id),
  constraint workspaces_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint workspaces_workspace_type_check check (
    workspace_type in ('stage', 'area', 'department', 'zone', 'team', 'venue', 'office', 'other'))
);

create function private.nodes_after_insert() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  case new.kind
    when 'organization' then
      insert into showtree.organizations (org_id, node_id) values (new.org_id, new.id);
    when 'project' then
      insert into showtree.projects (org_id, node_id) values (new.org_id, new.id);
    when 'production' then
      insert into showtree.productions (org_id, node_id) values (new.org_id, new.id);
    when 'activation' then
      insert into showtree.activations (org_id, node_id) values (new.org_id, new.id);
    when 'workspace' then
      insert into showtree.workspaces (org_id, node_id) values (new.org_id, new.id);
  end case;
  return null;
end
$$;

create trigger nodes_after_insert after insert on showtree.nodes
  for each row execute function private.nodes_after_insert();

-- A detail row belongs to a node of its own kind (trigger argument).
create function private.check_detail_kind() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not exists (select from showtree.nodes n
                  where n.org_id = new.org_id and n.id = new.node_id
                    and n.kind::text = tg_argv[0]) then
    raise exception '% rows belong to % nodes', tg_table_name, tg_argv[0]
      using errcode = 'check_violation', constraint = tg_table_name || '_kind_check',
            schema = tg_table_schema, table = tg_table_name;
  end if;
  return new;
end
$$;

create trigger organizations_kind_check before insert or update of org_id, node_id on showtree.organizations
  for each row execute function private.check_detail_kind('organization');
create trigger projects_kind_check before insert or update of org_id, node_id on showtree.projects
  for each row execute function private.check_detail_kind('project');
create trigger productions_kind_check before insert or update of org_id, node_id on showtree.productions
  for each row execute function private.check_detail_kind('production');
create trigger activations_kind_check before insert or update of org_id, node_id on showtree.activations
  for each row execute function private.check_detail_kind('activation');
create trigger workspaces_kind_check before insert or update of org_id, node_id on showtree.workspaces
  for each row execute function private.check_detail_kind('workspace');

create trigger organizations_set_updated_at before update on showtree.organizations
  for each row execute function private.set_updated_at();
create trigger projects_set_updated_at before update on showtree.projects
  for each row execute function private.set_updated_at();
create trigger productions_set_updated_at before update on showtree.productions
  for each row execute function private.set_updated_at();
create trigger activations_set_updated_at before update on showtree.activations
  for each row execute function private.set_updated_at();
create trigger workspaces_set_updated_at before update on showtree.workspaces
  for each row execute function private.set_updated_at();

-- Navigation. Deleted nodes (and so their whole subtrees) are hidden.
-- Plain SQL without a SET clause (every name is qualified), so PostgreSQL
-- inlines them into the calling query and plans them with the caller's
-- actual arguments: as functions with SET they were planned generically,
-- and a subtree page ran 3 to 40 times slower than the same query inlined.

-- root..parent of a live node, in order
create function showtree.node_ancestors(p_org_id uuid, p_node_id uuid)
returns setof showtree.nodes
language sql stable
as $$
  select a.*
    from showtree.nodes n
   cross join lateral unnest(n.ancestors) with ordinality as u(id, ord)
    join showtree.nodes a on a.org_id = n.org_id and a.id = u.id
   where n.org_id = p_org_id and n.id = p_node_id and n.deleted_at is null
   order by u.ord
$$;

-- ancestors, then the node itself: what a breadcrumb trail shows
create function showtree.node_breadcrumbs(p_org_id uuid, p_node_id uuid)
returns table (id uuid, kind showtree.node_kind, name text, slug text, depth smallint)
language sql stable
as $$
  select a.id, a.kind, a.name, a.slug, a.depth
    from showtree.nodes n
    join showtree.nodes a
      on a.org_id = n.org_id and (a.id = any(n.ancestors) or a.id = n.id)
   where n.org_id = p_org_id and n.id = p_node_id and n.deleted_at is null
   order by a.depth
$$;

create function showtree.node_children(p_org_id uuid, p_node_id uuid)
returns setof showtree.nodes
language sql stable
as $$
  select c.*
    from showtree.nodes c
   where c.org_id = p_org_id and c.parent_id = p_node_id and c.deleted_at is null
   order by c.name, c.id
$$;

-- Descendants in pre-order (parents before children), one page at a time:
-- p_after is the path (ancestors || id) of the last row of the previous page.
create function showtree.node_subtree(
  p_org_id uuid, p_node_id uuid,
  p_kind showtree.node_kind default null,
  p_after uuid[] default null,
  p_limit integer default 1000)
returns setof showtree.nodes
language sql stable
as $$
  -- the bounds are scalar subqueries, so they become index conditions of
  -- one range scan of nodes_path_idx (a join on the root row would leave
  -- only org_id as the condition and walk the organization from its start)
  select d.*
    from showtree.nodes d
   where d.org_id = p_org_id
     and (d.ancestors || d.id) > greatest(p_after,
           (select r.ancestors || r.id from showtree.nodes r
             where r.org_id = p_org_id and r.id = p_node_id and r.deleted_at is null))
     and (d.ancestors || d.id) <
           (select r.ancestors || r.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid
              from showtree.nodes r
             where r.org_id = p_org_id and r.id = p_node_id and r.deleted_at is null)
     and d.deleted_at is null
     and (p_kind is null or d.kind = p_kind)
   order by (d.ancestors || d.id)
   limit least(greatest(p_limit, 0), 10000)
$$;
