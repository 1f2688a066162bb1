-- Roles (anon, authenticated, authenticator) are cluster-wide and may serve
-- other databases: they stay. Everything else 0003 made goes.
revoke select on showtree_meta.schema_migrations from authenticator;
revoke usage on schema showtree_meta from authenticator;
do $migration$
begin
  if to_regprocedure('auth.uid()') is not null then
    revoke execute on function auth.uid(), auth.jwt(), auth.role() from anon, authenticated;
  end if;
end
$migration$;
revoke usage on schema showtree, private, auth from anon, authenticated;
revoke all on all tables in schema showtree from anon, authenticated;
revoke execute on all functions in schema private from anon, authenticated;
revoke execute on all functions in schema showtree from anon, authenticated;
grant execute on all functions in schema private to public;
grant execute on all functions in schema showtree to public;

drop policy workspaces_update on showtree.workspaces;
drop policy workspaces_select on showtree.workspaces;
drop policy activations_update on showtree.activations;
drop policy activations_select on showtree.activations;
drop policy productions_update on showtree.productions;
drop policy productions_select on showtree.productions;
drop policy projects_update on showtree.projects;
drop policy projects_select on showtree.projects;
drop policy organizations_update on showtree.organizations;
drop policy organizations_select on showtree.organizations;
alter table showtree.workspaces no force row level security;
alter table showtree.workspaces disable row level security;
alter table showtree.activations no force row level security;
alter table showtree.activations disable row level security;
alter table showtree.productions no force row level security;
alter table showtree.productions disable row level security;
alter table showtree.projects no force row level security;
alter table showtree.projects disable row level security;
alter table showtree.organizations no force row level security;
alter table showtree.organizations disable row level security;
drop policy nodes_delete on showtree.nodes;
drop policy nodes_update on showtree.nodes;
drop policy nodes_insert on showtree.nodes;
drop policy nodes_select on showtree.nodes;
alter table showtree.nodes no force row level security;
alter table showtree.nodes disable row level security;

drop index showtree.nodes_id_key;
drop trigger nodes_move_check on showtree.nodes;
drop function private.nodes_check_move();
alter function private.nodes_after_update() security invoker;
alter function private.nodes_after_insert() security invoker;
alter function private.check_detail_kind() security invoker;

drop function private.user_id_by_email(uuid, uuid, text);
drop function private.me();
drop function private.revoke_api_token(uuid);
drop function private.list_api_tokens();
drop function private.api_token_lookup(uuid);
drop function private.create_api_token(text, bytea, timestamptz);
drop function private.login_lookup(text);
drop function private.signup(text, text, text, text, text, text, text);
drop table private.api_tokens;
drop table private.user_credentials;
drop function private.record_security_event(text, text, uuid, text, jsonb);
drop table private.security_events;
drop table showtree.grants;
drop function private.grants_audit();
drop function private.record_event(uuid, uuid, text, text, text, uuid, jsonb);
drop function private.ensure_audit_partition(timestamptz);
drop table showtree.audit_events;
drop function private.grants_check();
drop function private.effective_role(uuid, uuid);
drop function private.explain_access(uuid, uuid, uuid);
drop function private.has_capability(uuid, uuid, text);
drop trigger nodes_forget_access_cache on showtree.nodes;
drop function private.forget_access_cache_trigger();
drop function private.forget_access_cache();
drop function private.path_allows(uuid[], uuid[], uuid[]);
drop index showtree.nodes_restricted_idx;
drop function private.restricted_nodes();
drop function private.access_roots(text);
drop function private.admin_orgs();
drop function private.access_set(integer);
drop function private.load_access(integer);
drop function private.role_has(showtree.access_role, text);
drop type showtree.access_role;
