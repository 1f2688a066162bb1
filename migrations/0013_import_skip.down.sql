-- The trigger functions as migrations 0001 and 0005 made them, without the import skip.

create or replace function private.enforce_status_transition() returns trigger
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

create or replace function private.set_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
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

create or replace function private.schedule_items_check_overlap() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.deleted_at is not null or not private.schedule_overlap_forbidden(new.org_id, new.node_id) then
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

drop function private.importing();
