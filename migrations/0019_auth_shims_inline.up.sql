-- auth.jwt(), auth.uid() and auth.role(): showtree's shims (migration 0001,
-- created only where Supabase's own are missing) had `set search_path =
-- ''`, and PostgreSQL never inlines a function with a SET clause: every
-- call planned its body. Every write to a domain table calls auth.uid()
-- twice (private.set_actor before, private.audit_row after). With
-- SQL-standard bodies (`return ...`: parsed and bound when created, so a
-- caller's search_path cannot redirect them and the SET clause has nothing
-- left to protect) they are inlined, as Supabase's own are. Only the shims
-- are replaced (comment 'showtree auth shim'); functions someone else
-- installed are left as they are.
do $migration$
begin
  if pg_catalog.obj_description('auth.jwt()'::regprocedure, 'pg_proc') = 'showtree auth shim' then
    create or replace function auth.jwt() returns jsonb
    language sql stable
    return coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), ''), '{}')::jsonb;
  end if;
  if pg_catalog.obj_description('auth.uid()'::regprocedure, 'pg_proc') = 'showtree auth shim' then
    create or replace function auth.uid() returns uuid
    language sql stable
    return nullif(coalesce(
      nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
      nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'), '')::uuid;
  end if;
  if pg_catalog.obj_description('auth.role()'::regprocedure, 'pg_proc') = 'showtree auth shim' then
    create or replace function auth.role() returns text
    language sql stable
    return coalesce(
      nullif(pg_catalog.current_setting('request.jwt.claim.role', true), ''),
      nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'role');
  end if;
end
$migration$;
