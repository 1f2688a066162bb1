-- Lets `showtree import` write rows through showtree's triggers while
-- skipping the few that must not run for imported data: the legacy row
-- brings its own updated_at, created_at, completed_at and actor columns,
-- and its status history may go where showtree's transitions would not
-- (done -> todo), or overlap where a node forbids it. Every other trigger
-- (audit, roll-up deltas, ancestry, foreign keys) runs as for any write.
--
-- Before this, the import switched session_replication_role to replica
-- inside every dual-write trigger, which turned all of showtree's triggers
-- off and, as a side effect, threw away every cached plan of the writer's
-- session at each legacy write (issue 9).
--
-- The skip is asked for by the transaction setting `showtree.importing`
-- (the import's security-definer functions carry `set showtree.importing
-- = on`, so it holds only while they run) and honoured only when the
-- current user is a superuser: anybody can set a custom setting, but only
-- a superuser can also turn every trigger off with session_replication_role,
-- so honouring it for them grants nothing new. An API request runs as
-- `authenticated` and cannot skip a check or an audit row this way.

-- True when the current statement writes for `showtree import`. Callers
-- test the setting first (`is not distinct from 'on' and ...`), so an
-- ordinary write never reaches the catalog lookup.
create function private.importing() returns boolean
language plpgsql stable
set search_path = ''
as $$
begin
  if pg_catalog.current_setting('showtree.importing', true) is distinct from 'on' then
    return false;
  end if;
  return exists (select from pg_catalog.pg_roles r where r.rolname = current_user and r.rolsuper);
end
$$;
comment on function private.importing() is
  'true inside showtree import''s writes (setting showtree.importing = on, current user a superuser): triggers keeping columns or checking transitions let imported rows through as they are';
revoke all on function private.importing() from public;
-- the trigger functions below run as the writer (authenticated for the API)
grant execute on function private.importing() to authenticated;

create or replace function private.enforce_status_transition() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if pg_catalog.current_setting('showtree.importing', true) is not distinct from 'on' and private.importing() then
    return new;
  end if;
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

create or replace function private.set_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if pg_catalog.current_setting('showtree.importing', true) is not distinct from 'on' and private.importing() then
    return new;
  end if;
  new.updated_at := pg_catalog.now();
  return new;
end
$$;

create or replace function private.set_actor() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  uid uuid := auth.uid();
begin
  if pg_catalog.current_setting('showtree.importing', true) is not distinct from 'on' and private.importing() then
    if tg_op = 'UPDATE' and new.org_id is distinct from old.org_id then
      raise exception 'a row never moves to another organization'
        using errcode = 'check_violation', constraint = tg_table_name || '_org_id_immutable',
              schema = tg_table_schema, table = tg_table_name;
    end if;
    return new;
  end if;
  if tg_op = 'INSERT' then
    new.created_by := coalesce(uid, new.created_by);
    new.updated_by := coalesce(uid, new.updated_by, new.created_by);
    if new.deleted_at is not null then
      new.deleted_by := coalesce(uid, new.deleted_by);
    end if;
    return new;
  end if;
  if new.org_id is distinct from old.org_id then
    raise exception 'a row never moves to another organization'
      using errcode = 'check_violation', constraint = tg_table_name || '_org_id_immutable',
            schema = tg_table_schema, table = tg_table_name;
  end if;
  new.created_by := old.created_by;
  new.created_at := old.created_at;
  new.updated_by := coalesce(uid, new.updated_by);
  if new.deleted_at is not null and old.deleted_at is null then
    new.deleted_by := coalesce(uid, new.deleted_by);
  elsif new.deleted_at is null then
    new.deleted_by := null;
  end if;
  return new;
end
$$;

create or replace function private.tasks_completion() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if pg_catalog.current_setting('showtree.importing', true) is not distinct from 'on' and private.importing() then
    return new;
  end if;
  if new.status = 'completed' and (tg_op = 'INSERT' or old.status <> 'completed') then
    new.completed_at := pg_catalog.now();
  elsif new.status <> 'completed' then
    new.completed_at := null;
  elsif tg_op = 'UPDATE' then
    new.completed_at := old.completed_at;
  end if;
  return new;
end
$$;

-- Refuses an overlapping item where the node forbids overlaps. Writers of
-- one (node, location) take a transaction lock first, so two concurrent
-- inserts cannot both miss each other. Imported items are let through
-- (the legacy application allowed them); they still count in the node's
-- schedule conflicts.
create or replace function private.schedule_items_check_overlap() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.deleted_at is not null or not private.schedule_overlap_forbidden(new.org_id, new.node_id)
     or (pg_catalog.current_setting('showtree.importing', true) is not distinct from 'on' and private.importing()) then
    return new;
  end if;
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended(new.org_id::text || new.node_id::text || new.location, 6));
  if exists (select from showtree.schedule_items s
              where s.org_id = new.org_id and s.node_id = new.node_id and s.location = new.location
                and s.id <> new.id and s.deleted_at is null
                and s.starts_at < new.ends_at and new.starts_at < s.ends_at) then
    raise exception 'this slot overlaps another item in the same location'
      using errcode = 'exclusion_violation', constraint = 'schedule_items_overlap_excl',
            schema = 'showtree', table = 'schedule_items';
  end if;
  return new;
end
$$;
