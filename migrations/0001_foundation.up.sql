-- Foundation: schemas, the auth shim, ids, the shared enums and the
-- conventions every table follows (DESIGN.md section 4).

create schema showtree;
comment on schema showtree is 'showtree: the tables the API serves';
create schema private;
comment on schema private is 'showtree: helpers and trigger functions, never exposed';

-- uuid v7 (time-ordered, good index locality); PostgreSQL 15 has no uuidv7().
-- Bits 48..51 hold the version: gen_random_uuid() gives 0100, setting bits
-- 52 and 53 (set_bit counts from the low bit of each byte) turns it into 0111.
create function private.uuid_generate_v7() returns uuid
language sql volatile parallel safe
set search_path = ''
as $$
  select encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
              from 1 for 6),
      52, 1), 53, 1), 'hex')::uuid
$$;

-- Declared immutable so a check constraint may call it: time zone names
-- only ever get added to the tz database, never silently redefined.
create function private.is_valid_timezone(tz text) returns boolean
language plpgsql immutable parallel safe
set search_path = ''
as $$
begin
  perform now() at time zone tz;
  return true;
exception when invalid_parameter_value then
  return false;
end
$$;

-- The auth shim: compatible with Supabase's auth.users / auth.uid() /
-- auth.role() / auth.jwt(). Where they already exist they are left alone,
-- and the down migration only removes what this one created (marked by the
-- comment 'showtree auth shim').
do $migration$
begin
  if not exists (select from pg_catalog.pg_namespace where nspname = 'auth') then
    create schema auth;
    comment on schema auth is 'showtree auth shim';
  end if;

  if to_regclass('auth.users') is null then
    create table auth.users (
      id uuid not null default private.uuid_generate_v7(),
      email text not null,
      display_name text not null default '',
      metadata jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz,
      constraint users_pkey primary key (id),
      constraint users_email_check check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' and length(email) <= 320),
      constraint users_display_name_check check (length(display_name) <= 200),
      constraint users_metadata_check check (jsonb_typeof(metadata) = 'object')
    );
    create unique index users_email_key on auth.users (lower(email));
    comment on table auth.users is 'showtree auth shim';
  end if;

  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb
    language sql stable
    set search_path = ''
    as $fn$
      select coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), ''), '{}')::jsonb
    $fn$;
    comment on function auth.jwt() is 'showtree auth shim';
  end if;

  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid
    language sql stable
    set search_path = ''
    as $fn$
      select nullif(coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
        auth.jwt() ->> 'sub'), '')::uuid
    $fn$;
    comment on function auth.uid() is 'showtree auth shim';
  end if;

  if to_regprocedure('auth.role()') is null then
    create function auth.role() returns text
    language sql stable
    set search_path = ''
    as $fn$
      select coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim.role', true), ''),
        auth.jwt() ->> 'role')
    $fn$;
    comment on function auth.role() is 'showtree auth shim';
  end if;
end
$migration$;

-- The one status taxonomy and priority scale of every table.
create type showtree.entity_status as enum
  ('draft', 'planning', 'active', 'review', 'completed', 'cancelled', 'archived');
create type showtree.priority as enum ('low', 'medium', 'high', 'urgent');

-- Allowed status transitions; showtree_core::Status::can_transition_to is
-- the same table (a test compares them). Staying put is always allowed.
-- (no SET clause: a pure expression PostgreSQL inlines into its callers)
create function private.status_transition_allowed(
  from_status showtree.entity_status, to_status showtree.entity_status)
returns boolean
language sql immutable parallel safe
as $$
  select from_status = to_status or case from_status
    when 'draft' then to_status in ('planning', 'active', 'cancelled', 'archived')
    when 'planning' then to_status in ('draft', 'active', 'cancelled', 'archived')
    when 'active' then to_status in ('planning', 'review', 'completed', 'cancelled', 'archived')
    when 'review' then to_status in ('active', 'completed', 'cancelled')
    when 'completed' then to_status in ('active', 'archived')
    when 'cancelled' then to_status in ('planning', 'archived')
    when 'archived' then to_status in ('planning')
    else false
  end
$$;

-- Trigger function for any table with a `status entity_status` column:
-- `before update of status ... execute function private.enforce_status_transition()`.
create function private.enforce_status_transition() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not private.status_transition_allowed(old.status, new.status) then
    raise exception 'status cannot change from % to %', old.status, new.status
      using errcode = 'check_violation',
            constraint = tg_table_name || '_status_transition',
            schema = tg_table_schema,
            table = tg_table_name;
  end if;
  return new;
end
$$;

-- Trigger function keeping `updated_at` of every table.
create function private.set_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end
$$;

do $migration$
begin
  if obj_description('auth.users'::regclass, 'pg_class') = 'showtree auth shim' then
    create trigger users_set_updated_at before update on auth.users
      for each row execute function private.set_updated_at();
  end if;
end
$migration$;
