drop policy nodes_select on showtree.nodes;
create policy nodes_select on showtree.nodes for select to authenticated
  using (org_id = any (array(select a.org_id from private.caller_admin_orgs a))
         or private.grant_path(ancestors, id, depth, restricted, restricted_ancestor_depth)
            && array(select g.node_id from private.caller_grant_nodes g));
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
