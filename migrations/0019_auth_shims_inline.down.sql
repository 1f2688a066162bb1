do $migration$
begin
  if pg_catalog.obj_description('auth.jwt()'::regprocedure, 'pg_proc') = 'showtree auth shim' then
    create or replace function auth.jwt() returns jsonb
    language sql stable
    set search_path = ''
    as $fn$
      select coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), ''), '{}')::jsonb
    $fn$;
  end if;
  if pg_catalog.obj_description('auth.uid()'::regprocedure, 'pg_proc') = 'showtree auth shim' then
    create or replace function auth.uid() returns uuid
    language sql stable
    set search_path = ''
    as $fn$
      select nullif(coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
        auth.jwt() ->> 'sub'), '')::uuid
    $fn$;
  end if;
  if pg_catalog.obj_description('auth.role()'::regprocedure, 'pg_proc') = 'showtree auth shim' then
    create or replace function auth.role() returns text
    language sql stable
    set search_path = ''
    as $fn$
      select coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim.role', true), ''),
        auth.jwt() ->> 'role')
    $fn$;
  end if;
end
$migration$;
