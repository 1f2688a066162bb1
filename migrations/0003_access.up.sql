-- Access: the service's roles, grants inherited down the tree and stopped
-- at restricted nodes, credentials and API tokens, the audit log, and Row
-- Level Security on every table of the showtree schema.

-- Tables are owned by the role running migrations; its security-definer
-- helpers (tree maintenance, readable sets) must see every row, so it has
-- to bypass RLS. The service itself logs in as `authenticator`, which never
-- does.
do $migration$
begin
  if not exists (select from pg_catalog.pg_roles
                  where rolname = current_user and (rolsuper or rolbypassrls)) then
    raise exception 'migrations must run as the owner of showtree''s tables, a role with BYPASSRLS (or a superuser); % is not', current_user;
  end if;
end
$migration$;

-- Roles are cluster-wide and shared with PostgREST/Supabase conventions:
-- created when missing, never dropped by the down migration (another
-- database may use them).
do $migration$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticator') then
    -- noinherit: on its own it holds no privilege at all; each transaction
    -- takes `set local role authenticated` (or anon) with the caller's claims
    create role authenticator login noinherit nobypassrls;
  end if;
end
$migration$;
grant anon to authenticator;
grant authenticated to authenticator;

create type showtree.access_role as enum
  ('viewer', 'finance', 'editor', 'manager', 'admin', 'owner');

-- The capability table of DESIGN.md section 3; showtree_core::Role::has is
-- the same (a test compares them).
-- (no SET clause: a pure expression PostgreSQL inlines into its callers)
create function private.role_has(p_role showtree.access_role, p_capability text)
returns boolean
language sql immutable parallel safe
as $$
  select case p_capability
    when 'read' then true
    when 'write' then p_role in ('editor', 'manager', 'admin', 'owner')
    when 'manage' then p_role in ('manager', 'admin', 'owner')
    when 'grant' then p_role in ('manager', 'admin', 'owner')
    when 'finance' then p_role in ('finance', 'admin', 'owner')
    else false
  end
$$;

create table showtree.grants (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  node_id uuid not null,
  -- the grantee: the subject of the row, not an attribution
  user_id uuid not null,
  role showtree.access_role not null,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint grants_pkey primary key (org_id, id),
  constraint grants_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint grants_user_id_fkey foreign key (user_id)
    references auth.users (id) on delete cascade,
  constraint grants_created_by_fkey foreign key (created_by)
    references auth.users (id) on delete set null,
  constraint grants_updated_by_fkey foreign key (updated_by)
    references auth.users (id) on delete set null,
  constraint grants_deleted_by_fkey foreign key (deleted_by)
    references auth.users (id) on delete set null,
  constraint grants_metadata_check check (jsonb_typeof(metadata) = 'object')
);
-- one live grant per user and node; a new role replaces the old one
create unique index grants_node_user_key on showtree.grants (org_id, node_id, user_id)
  where deleted_at is null;
create index grants_node_id_idx on showtree.grants (org_id, node_id);
-- what every readable-set computation starts from
create index grants_user_id_idx on showtree.grants (user_id, org_id, node_id, role);
create index grants_created_by_idx on showtree.grants (created_by);
create index grants_updated_by_idx on showtree.grants (updated_by);
create index grants_deleted_by_idx on showtree.grants (deleted_by);

create trigger grants_set_updated_at before update on showtree.grants
  for each row execute function private.set_updated_at();

-- Access is decided per row from small per-statement sets:
--  * admin_orgs(): organizations where the caller is owner or admin at the
--    root: they see and manage everything there, restricted nodes included;
--  * access_roots(cap): the nodes where the caller holds a grant carrying
--    the capability (admin organizations left out: policies let those
--    through first);
--  * restricted_nodes(): the restricted nodes of the caller's other
--    organizations.
-- A node is reachable when its path (ancestors || id) holds a root at or
-- below its deepest restricted node (a grant on the restricted node itself
-- counts). All the sets are loaded together, once per transaction, by
-- private.load_access() (two index lookups), and cached in
-- transaction-local settings: a handful of ids, cheap to read back, unlike
-- a set of every readable node. The grants' and the tree's triggers clear
-- the cache when they change what it depends on.
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

-- One of the cached sets (1 admin organizations, 2..6 roots for read,
-- write, manage, grant, finance, 7 restricted nodes), loading them all
-- first when this transaction has none, or has them for another caller.
-- Plain SQL without a SET clause, so PostgreSQL inlines it into the
-- policies' initplans: a cache hit costs no function call.
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

create function private.admin_orgs() returns uuid[]
language sql stable
as $$ select private.access_set(1) $$;

create function private.access_roots(p_capability text) returns uuid[]
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

create function private.restricted_nodes() returns uuid[]
language sql stable
as $$ select private.access_set(7) $$;
create index nodes_restricted_idx on showtree.nodes (org_id) where restricted;

-- Whether a path holds a root at or below its deepest restricted node.
-- Policies call it only for paths that hold both a root and a restricted
-- node; everything else is decided by two inline array overlaps.
create function private.path_allows(p_path uuid[], p_roots uuid[], p_restricted uuid[])
returns boolean
language plpgsql immutable parallel safe
set search_path = ''
as $$
declare
  last_root integer := 0;
  last_restricted integer := 0;
begin
  for i in 1 .. coalesce(cardinality(p_path), 0) loop
    if p_path[i] = any(p_roots) then
      last_root := i;
    end if;
    if p_path[i] = any(p_restricted) then
      last_restricted := i;
    end if;
  end loop;
  return last_root > 0 and last_root >= last_restricted;
end
$$;

-- Forgets the cached sets of this transaction (called by triggers that
-- change the tree or the grants).
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

-- Whether the caller holds a capability at one node (for checks inside
-- functions and triggers; policies use the per-statement sets instead).
create function private.has_capability(p_org_id uuid, p_node_id uuid, p_capability text)
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

-- Every grant that gives `p_user_id` a role at the node, and every grant on
-- an ancestor that a restricted node cuts off: the answer to "why".
create function private.explain_access(p_org_id uuid, p_node_id uuid, p_user_id uuid)
returns table (
  grant_id uuid, grant_node_id uuid, role showtree.access_role,
  path uuid[], applies boolean, blocked_by uuid)
language plpgsql stable security definer
set search_path = ''
as $$
begin
  -- one may explain oneself, or anyone where one may grant
  if p_user_id is distinct from auth.uid()
     and not private.has_capability(p_org_id, p_node_id, 'grant') then
    raise exception 'not allowed to explain another user''s access here'
      using errcode = 'insufficient_privilege', constraint = 'grants_explain_denied';
  end if;
  return query
  with target as (
    select n.ancestors || n.id as path
      from showtree.nodes n
     where n.org_id = p_org_id and n.id = p_node_id
  ), candidates as (
    select g.id, g.node_id, g.role, gn.depth, t.path
      from showtree.grants g
      join showtree.nodes gn on gn.org_id = g.org_id and gn.id = g.node_id
      cross join target t
     where g.org_id = p_org_id and g.user_id = p_user_id and g.deleted_at is null
       and g.node_id = any(t.path)
  )
  select c.id, c.node_id, c.role, c.path[1:c.depth + 1],
         b.id is null or (c.node_id = p_org_id and c.role in ('owner', 'admin')),
         b.id
    from candidates c
    left join lateral (
      select r.id
        from unnest(c.path[c.depth + 2:]) with ordinality as p(id, ord)
        join showtree.nodes r on r.org_id = p_org_id and r.id = p.id and r.restricted
       order by p.ord
       limit 1
    ) b on true
   order by c.depth;
end
$$;

-- The caller's strongest role at a node (null: none).
create function private.effective_role(p_org_id uuid, p_node_id uuid)
returns showtree.access_role
language sql stable security definer
set search_path = ''
as $$
  select max(e.role)
    from private.explain_access(p_org_id, p_node_id, auth.uid()) e
   where e.applies
$$;

-- Grant rules: nobody grants above their own role (a manager at most
-- manager), and an organization keeps at least one owner.
create function private.grants_check() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  mine showtree.access_role;
  -- the caller rules bind the service's callers; the owner's own code
  -- (signup, operators' commands) gives the first owner grant
  as_caller boolean := current_user in ('authenticated', 'anon');
begin
  if as_caller and tg_op in ('INSERT', 'UPDATE') and new.deleted_at is null then
    mine := private.effective_role(new.org_id, new.node_id);
    if mine is null or not private.role_has(mine, 'grant') then
      raise exception 'you may not grant roles here'
        using errcode = 'insufficient_privilege', constraint = 'grants_not_allowed',
              schema = 'showtree', table = 'grants';
    end if;
    if new.role > mine then
      raise exception 'a % cannot grant %', mine, new.role
        using errcode = 'check_violation', constraint = 'grants_role_above_own',
              schema = 'showtree', table = 'grants';
    end if;
  end if;
  if tg_op in ('INSERT', 'UPDATE') and new.deleted_at is null and not exists (
       select from showtree.nodes n
        where n.org_id = new.org_id and n.id = new.node_id and n.deleted_at is null) then
    raise exception 'grants go on live nodes'
      using errcode = 'check_violation', constraint = 'grants_node_live',
            schema = 'showtree', table = 'grants';
  end if;
  if tg_op in ('UPDATE', 'DELETE') and old.deleted_at is null and old.role = 'owner'
     and old.node_id = old.org_id
     and (tg_op = 'DELETE' or new.deleted_at is not null or new.role <> 'owner') then
    if as_caller and private.effective_role(old.org_id, old.node_id) is distinct from 'owner' then
      raise exception 'only an owner changes an owner''s grant'
        using errcode = 'check_violation', constraint = 'grants_role_above_own',
              schema = 'showtree', table = 'grants';
    end if;
    if not exists (select from showtree.grants g
                    where g.org_id = old.org_id and g.node_id = old.org_id
                      and g.role = 'owner' and g.deleted_at is null and g.id <> old.id)
       -- the whole organization going away takes its owners with it
       and exists (select from showtree.nodes n where n.org_id = old.org_id and n.id = old.org_id) then
      raise exception 'an organization keeps at least one owner'
        using errcode = 'check_violation', constraint = 'grants_last_owner',
              schema = 'showtree', table = 'grants';
    end if;
  end if;
  if tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end
$$;

create trigger grants_check before insert or update or delete on showtree.grants
  for each row execute function private.grants_check();

-- The audit log: append-only, partitioned by month (retention drops whole
-- partitions; private.ensure_audit_partition creates them ahead).
create table showtree.audit_events (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  occurred_at timestamptz not null default now(),
  node_id uuid,
  -- the actor
  created_by uuid,
  action text not null,
  table_name text,
  row_id uuid,
  reason text,
  changes jsonb not null default '{}',
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  constraint audit_events_pkey primary key (org_id, id, occurred_at),
  constraint audit_events_created_by_fkey foreign key (created_by)
    references auth.users (id) on delete set null,
  constraint audit_events_action_check check (action ~ '^[a-z_.]+$'),
  constraint audit_events_changes_check check (jsonb_typeof(changes) = 'object'),
  constraint audit_events_metadata_check check (jsonb_typeof(metadata) = 'object')
) partition by range (occurred_at);
comment on table showtree.audit_events is
  'append-only: no update or delete for the service; events outlive the rows and nodes they name';
create table showtree.audit_events_default partition of showtree.audit_events default;
create index audit_events_node_idx on showtree.audit_events (org_id, node_id, occurred_at);
create index audit_events_created_by_idx on showtree.audit_events (created_by);

-- Creates the month's partition holding `p_at` (moving any rows the
-- default partition caught for it), with RLS like its parent.
create function private.ensure_audit_partition(p_at timestamptz) returns text
language plpgsql
set search_path = ''
as $$
declare
  lo timestamptz := date_trunc('month', p_at at time zone 'UTC') at time zone 'UTC';
  hi timestamptz := lo + interval '1 month';
  part text := 'audit_events_' || to_char(lo at time zone 'UTC', 'YYYY_MM');
begin
  if to_regclass('showtree.' || part) is not null then
    return part;
  end if;
  execute format('create table showtree.%I (like showtree.audit_events including defaults including constraints)', part);
  execute format(
    'with moved as (delete from showtree.audit_events_default where occurred_at >= $1 and occurred_at < $2 returning *) '
    'insert into showtree.%I select * from moved', part) using lo, hi;
  execute format('alter table showtree.audit_events attach partition showtree.%I for values from (%L) to (%L)',
                 part, lo, hi);
  execute format('alter table showtree.%I enable row level security', part);
  execute format('alter table showtree.%I force row level security', part);
  execute format('create policy %I on showtree.%I as restrictive to public using (false) with check (false)',
                 part || '_direct_denied', part);
  return part;
end
$$;

-- Records an event of the caller's (grants, denied requests, ...).
create function private.record_event(
  p_org_id uuid, p_node_id uuid, p_action text, p_reason text,
  p_table_name text default null, p_row_id uuid default null,
  p_changes jsonb default '{}')
returns void
language sql volatile security definer
set search_path = ''
as $$
  insert into showtree.audit_events (org_id, node_id, created_by, action, reason, table_name, row_id, changes)
  values (p_org_id, p_node_id, auth.uid(), p_action, p_reason, p_table_name, p_row_id, coalesce(p_changes, '{}'))
$$;

create function private.grants_audit() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.record_event(new.org_id, new.node_id, 'grant.created', null, 'grants', new.id,
      jsonb_build_object('user_id', new.user_id, 'role', new.role));
  elsif new.deleted_at is not null and old.deleted_at is null then
    perform private.record_event(new.org_id, new.node_id, 'grant.revoked', null, 'grants', new.id,
      jsonb_build_object('user_id', new.user_id, 'role', new.role));
  elsif new.role <> old.role then
    perform private.record_event(new.org_id, new.node_id, 'grant.changed', null, 'grants', new.id,
      jsonb_build_object('user_id', new.user_id, 'old_role', old.role, 'role', new.role));
  end if;
  return null;
end
$$;

create trigger grants_audit after insert or update on showtree.grants
  for each row execute function private.grants_audit();

-- Events that belong to no organization: failed logins, requests refused
-- before any tenant was named.
create table private.security_events (
  id uuid not null default private.uuid_generate_v7(),
  occurred_at timestamptz not null default now(),
  created_by uuid,
  action text not null,
  reason text,
  client_address text,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  constraint security_events_pkey primary key (id),
  constraint security_events_created_by_fkey foreign key (created_by)
    references auth.users (id) on delete set null,
  constraint security_events_metadata_check check (jsonb_typeof(metadata) = 'object')
);
create index security_events_created_by_idx on private.security_events (created_by);
comment on table private.security_events is
  'append-only: written by private.record_security_event, read by operators; no policy lets anyone else in';
alter table private.security_events enable row level security;
alter table private.security_events force row level security;
create index security_events_occurred_at_idx on private.security_events (occurred_at);

create function private.record_security_event(
  p_action text, p_reason text, p_user_id uuid, p_client_address text, p_metadata jsonb default '{}')
returns void
language sql volatile security definer
set search_path = ''
as $$
  insert into private.security_events (action, reason, created_by, client_address, metadata)
  values (p_action, p_reason, p_user_id, p_client_address, coalesce(p_metadata, '{}'))
$$;

-- Credentials live apart from auth.users, so the same schema works where
-- auth.users is Supabase's. argon2id PHC strings, written by the service.
create table private.user_credentials (
  user_id uuid not null,
  password_hash text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint user_credentials_pkey primary key (user_id),
  constraint user_credentials_user_id_fkey foreign key (user_id)
    references auth.users (id) on delete cascade,
  constraint user_credentials_password_hash_check check (password_hash like '$argon2id$%')
);
create trigger user_credentials_set_updated_at before update on private.user_credentials
  for each row execute function private.set_updated_at();

-- Personal API tokens: the secret is shown once and stored as its SHA-256.
create table private.api_tokens (
  id uuid not null default private.uuid_generate_v7(),
  owner_id uuid not null,
  name text not null,
  secret_hash bytea not null,
  expires_at timestamptz,
  last_used_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint api_tokens_pkey primary key (id),
  constraint api_tokens_owner_id_fkey foreign key (owner_id)
    references auth.users (id) on delete cascade,
  constraint api_tokens_name_check check (length(name) between 1 and 100),
  constraint api_tokens_secret_hash_check check (length(secret_hash) = 32)
);
create index api_tokens_owner_id_idx on private.api_tokens (owner_id);
create trigger api_tokens_set_updated_at before update on private.api_tokens
  for each row execute function private.set_updated_at();

-- Signup: user, credentials, organization and its owner grant, at once.
create function private.signup(
  p_email text, p_password_hash text, p_display_name text,
  p_org_name text, p_org_slug text, p_base_currency text, p_timezone text)
returns table (user_id uuid, org_id uuid)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  uid uuid;
  oid uuid := private.uuid_generate_v7();
begin
  insert into auth.users (email, display_name) values (p_email, coalesce(p_display_name, ''))
  returning id into uid;
  insert into private.user_credentials (user_id, password_hash) values (uid, p_password_hash);
  insert into showtree.nodes (org_id, id, kind, name, slug, created_by, updated_by)
  values (oid, oid, 'organization', p_org_name, p_org_slug, uid, uid);
  update showtree.organizations
     set base_currency = coalesce(p_base_currency, base_currency),
         timezone = coalesce(p_timezone, timezone)
   where organizations.org_id = oid and node_id = oid;
  -- runs as the owner, so grants_check's caller rules do not apply: the
  -- first owner is the one grant nobody could give
  insert into showtree.grants (org_id, node_id, user_id, role, created_by, updated_by)
  values (oid, oid, uid, 'owner', uid, uid);
  return query select uid, oid;
end
$$;

-- What login needs: the user and their password hash (null for unknown
-- emails; the service then verifies against a dummy hash, same time).
create function private.login_lookup(p_email text)
returns table (user_id uuid, password_hash text)
language sql stable security definer
set search_path = ''
as $$
  select u.id, c.password_hash
    from auth.users u
    join private.user_credentials c on c.user_id = u.id
   where lower(u.email) = lower(p_email) and u.deleted_at is null
$$;

create function private.create_api_token(p_name text, p_secret_hash bytea, p_expires_at timestamptz)
returns table (id uuid, name text, expires_at timestamptz, created_at timestamptz)
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  if auth.uid() is null then
    raise exception 'no caller' using errcode = 'insufficient_privilege';
  end if;
  return query
  insert into private.api_tokens (owner_id, name, secret_hash, expires_at)
  values (auth.uid(), p_name, p_secret_hash, p_expires_at)
  returning api_tokens.id, api_tokens.name, api_tokens.expires_at, api_tokens.created_at;
end
$$;

-- The token's owner and stored hash, for a constant-time comparison in the
-- service; nothing for an expired or revoked token.
create function private.api_token_lookup(p_id uuid)
returns table (owner_id uuid, secret_hash bytea)
language sql stable security definer
set search_path = ''
as $$
  select t.owner_id, t.secret_hash
    from private.api_tokens t
    join auth.users u on u.id = t.owner_id and u.deleted_at is null
   where t.id = p_id and t.deleted_at is null
     and (t.expires_at is null or t.expires_at > now())
$$;

create function private.list_api_tokens()
returns table (id uuid, name text, expires_at timestamptz, last_used_at timestamptz, created_at timestamptz)
language sql stable security definer
set search_path = ''
as $$
  select t.id, t.name, t.expires_at, t.last_used_at, t.created_at
    from private.api_tokens t
   where t.owner_id = auth.uid() and t.deleted_at is null
   order by t.created_at, t.id
$$;

create function private.revoke_api_token(p_id uuid) returns boolean
language sql volatile security definer
set search_path = ''
as $$
  with revoked as (
    update private.api_tokens set deleted_at = now()
     where id = p_id and owner_id = auth.uid() and deleted_at is null
    returning 1)
  select exists (select from revoked)
$$;

-- The caller's own account.
create function private.me()
returns table (id uuid, email text, display_name text, created_at timestamptz)
language sql stable security definer
set search_path = ''
as $$
  select u.id, u.email, u.display_name, u.created_at
    from auth.users u
   where u.id = auth.uid() and u.deleted_at is null
$$;

-- A user id by email, for granting by email; only where the caller may grant.
create function private.user_id_by_email(p_org_id uuid, p_node_id uuid, p_email text)
returns uuid
language plpgsql stable security definer
set search_path = ''
as $$
begin
  if not private.has_capability(p_org_id, p_node_id, 'grant') then
    return null;
  end if;
  return (select u.id from auth.users u where lower(u.email) = lower(p_email) and u.deleted_at is null);
end
$$;

-- A move needs manage at the target too (the policies see only the row).
-- Runs after nodes_before_update (trigger order is by name), which has
-- already refused a target the caller cannot read.
create function private.nodes_check_move() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user = 'authenticated'
     and not private.has_capability(new.org_id, new.parent_id, 'manage') then
    raise exception 'moving here needs the manage capability at the new parent'
      using errcode = 'insufficient_privilege', constraint = 'nodes_move_target_denied',
            schema = 'showtree', table = 'nodes';
  end if;
  return new;
end
$$;
create trigger nodes_move_check before update of parent_id on showtree.nodes
  for each row when (old.parent_id is distinct from new.parent_id)
  execute function private.nodes_check_move();

-- The API names a node by its id alone (the organization is derived, and
-- RLS decides whether the caller may see it).
create unique index nodes_id_key on showtree.nodes (id);

-- Tree maintenance must reach rows the caller cannot see (a restricted
-- subtree moved with its parent), so these run as the owner.
alter function private.nodes_after_update() security definer;
alter function private.nodes_after_insert() security definer;
alter function private.check_detail_kind() security definer;

-- Row Level Security: enabled and forced on every table of the schema.
-- The per-statement sets are read through scalar subqueries (initplans),
-- so each is computed once per statement; per row only array overlaps run
-- (and path_allows where a restricted node is on the path). Tables that
-- name a node check it through `nodes`, whose own policy then applies.
alter table showtree.nodes enable row level security;
alter table showtree.nodes force row level security;
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
-- deleting for good is the organization's owners' alone
create policy nodes_delete on showtree.nodes for delete to authenticated
  using (id = org_id and private.effective_role(org_id, id) = 'owner');

do $migration$
declare
  t text;
begin
  foreach t in array array['organizations', 'projects', 'productions', 'activations', 'workspaces'] loop
    execute format('alter table showtree.%I enable row level security', t);
    execute format('alter table showtree.%I force row level security', t);
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

alter table showtree.grants enable row level security;
alter table showtree.grants force row level security;
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

alter table showtree.audit_events enable row level security;
alter table showtree.audit_events force row level security;
alter table showtree.audit_events_default enable row level security;
alter table showtree.audit_events_default force row level security;
create policy audit_events_select on showtree.audit_events for select to authenticated
  using (org_id = any ((select private.admin_orgs())::uuid[])
         or exists (select from showtree.nodes n where n.org_id = audit_events.org_id and n.id = audit_events.node_id));
-- partitions are read through the parent only
create policy audit_events_default_direct_denied on showtree.audit_events_default
  as restrictive to public using (false) with check (false);

-- Privileges: the service's roles get exactly what the policies then narrow.
revoke all on all tables in schema showtree from public;
revoke execute on all functions in schema private from public;
revoke execute on all functions in schema showtree from public;
grant usage on schema showtree, private, auth to anon, authenticated;
grant select, insert, update, delete on showtree.nodes to authenticated;
grant select, update on showtree.organizations, showtree.projects, showtree.productions,
  showtree.activations, showtree.workspaces to authenticated;
grant select, insert, update on showtree.grants to authenticated;
grant select on showtree.audit_events to authenticated;
grant execute on function
  private.uuid_generate_v7(), private.is_valid_timezone(text),
  private.status_transition_allowed(showtree.entity_status, showtree.entity_status),
  private.node_kind_parent_allowed(showtree.node_kind, showtree.node_kind),
  private.lock_tree(uuid, boolean),
  private.node_parent_path(uuid, uuid, uuid, showtree.node_kind),
  private.role_has(showtree.access_role, text),
  private.load_access(integer), private.access_set(integer),
  private.admin_orgs(), private.access_roots(text), private.restricted_nodes(),
  private.path_allows(uuid[], uuid[], uuid[]), private.has_capability(uuid, uuid, text),
  private.forget_access_cache(),
  private.explain_access(uuid, uuid, uuid), private.effective_role(uuid, uuid),
  private.record_event(uuid, uuid, text, text, text, uuid, jsonb),
  private.create_api_token(text, bytea, timestamptz), private.list_api_tokens(),
  private.revoke_api_token(uuid), private.me(),
  private.user_id_by_email(uuid, uuid, text),
  showtree.node_ancestors(uuid, uuid), showtree.node_breadcrumbs(uuid, uuid),
  showtree.node_children(uuid, uuid),
  showtree.node_subtree(uuid, uuid, showtree.node_kind, uuid[], integer)
  to authenticated;
grant execute on function
  private.signup(text, text, text, text, text, text, text),
  private.login_lookup(text), private.api_token_lookup(uuid),
  private.record_security_event(text, text, uuid, text, jsonb)
  to anon, authenticated;
do $migration$
begin
  if to_regprocedure('auth.uid()') is not null then
    grant execute on function auth.uid(), auth.jwt(), auth.role() to anon, authenticated;
  end if;
end
$migration$;
-- the service reads whether migrations are current for /readyz
grant usage on schema showtree_meta to authenticator;
grant select on showtree_meta.schema_migrations to authenticator;
