-- The tree's policies test the row's grant path against the caller's
-- grant nodes first and the organizations where the caller is an owner or
-- admin last (migration 0008 had them the other way round). Each array is
-- an init plan, and PostgreSQL runs an init plan only when its value is
-- first needed: in this order, a row the caller reaches through a grant
-- (every row a non-admin reads, and an admin's rows outside restricted
-- nodes, since an admin's root grant is one of its grant nodes) never
-- needs the admin organizations, and a statement that reads only such rows
-- scans the caller's grants once instead of twice. The rows decided are the
-- same; only rows behind a restricted node, or not readable at all, run
-- the second scan.
drop policy nodes_select on showtree.nodes;
create policy nodes_select on showtree.nodes for select to authenticated
  using (private.grant_path(ancestors, id, depth, restricted, restricted_ancestor_depth)
         && array(select g.node_id from private.caller_grant_nodes g)
         or org_id = any (array(select a.org_id from private.caller_admin_orgs a)));
drop policy nodes_insert on showtree.nodes;
create policy nodes_insert on showtree.nodes for insert to authenticated
  with check (ancestors[restricted_ancestor_depth + 1:]
              && array(select g.node_id from private.caller_grants g
                        where private.role_has(g.role, 'manage'))
              or org_id = any (array(select a.org_id from private.caller_admin_orgs a)));
drop policy nodes_update on showtree.nodes;
create policy nodes_update on showtree.nodes for update to authenticated
  using (private.grant_path(ancestors, id, depth, restricted, restricted_ancestor_depth)
         && array(select g.node_id from private.caller_grants g
                   where private.role_has(g.role, 'manage'))
         or org_id = any (array(select a.org_id from private.caller_admin_orgs a)))
  with check (private.grant_path(ancestors, id, depth, restricted, restricted_ancestor_depth)
              && array(select g.node_id from private.caller_grants g
                        where private.role_has(g.role, 'manage'))
              or org_id = any (array(select a.org_id from private.caller_admin_orgs a)));
