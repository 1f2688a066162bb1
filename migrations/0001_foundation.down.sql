do $migration$
begin
  if to_regclass('auth.users') is not null
     and obj_description('auth.users'::regclass, 'pg_class') = 'showtree auth shim' then
    drop table auth.users;
  end if;
  if to_regprocedure('auth.role()') is not null
     and obj_description('auth.role()'::regprocedure, 'pg_proc') = 'showtree auth shim' then
    drop function auth.role();
  end if;
  if to_regprocedure('auth.uid()') is not null
     and obj_description('auth.uid()'::regprocedure, 'pg_proc') = 'showtree auth shim' then
    drop function auth.uid();
  end if;
  if to_regprocedure('auth.jwt()') is not null
     and obj_description('auth.jwt()'::regprocedure, 'pg_proc') = 'showtree auth shim' then
    drop function auth.jwt();
  end if;
  if exists (select from pg_catalog.pg_namespace n
              where n.nspname = 'auth'
                and obj_description(n.oid, 'pg_namespace') = 'showtree auth shim') then
    drop schema auth;
  end if;
end
$migration$;

drop function private.set_updated_at();
drop function private.enforce_status_transition();
drop function private.status_transition_allowed(showtree.entity_status, showtree.entity_status);
drop type showtree.priority;
drop type showtree.entity_status;
drop function private.is_valid_timezone(text);
drop function private.uuid_generate_v7();
drop schema private;
drop schema showtree;
