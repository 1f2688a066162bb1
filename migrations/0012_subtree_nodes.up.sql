-- Subtree lists and search read a subtree's nodes through nodes_path_idx,
-- a range of (ancestors || id). Under the nodes' policy that range is no
-- index condition: array comparison is not leakproof, so PostgreSQL tests
-- it only after the policy, on every node of the organization (a
-- production of a 282,000-node organization: 12,500 buffers to find its 6
-- nodes). private.subtree_nodes reads the range with the owner's rights
-- and applies the nodes' read policy itself, after the range.

-- The live nodes of the subtree of p_node_id the caller may read (the
-- policy nodes_select of migration 0008, verbatim), at most p_limit (null:
-- all). PL/pgSQL, so its plans are kept for the session.
create function private.subtree_nodes(p_org_id uuid, p_node_id uuid, p_limit integer)
returns uuid[]
language plpgsql stable security definer
set search_path = ''
as $$
declare
  v_path uuid[];
begin
  select r.ancestors || r.id into v_path
    from showtree.nodes r
   where r.org_id = p_org_id and r.id = p_node_id
     and (r.org_id = any (array(select a.org_id from private.caller_admin_orgs a))
          or private.grant_path(r.ancestors, r.id, r.depth, r.restricted, r.restricted_ancestor_depth)
             && array(select g.node_id from private.caller_grant_nodes g));
  if v_path is null then
    return '{}';
  end if;
  return array(
    select n.id from showtree.nodes n
     where n.org_id = p_org_id
       and (n.ancestors || n.id) >= v_path
       and (n.ancestors || n.id) < v_path || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid
       and n.deleted_at is null
       and (n.org_id = any (array(select a.org_id from private.caller_admin_orgs a))
            or private.grant_path(n.ancestors, n.id, n.depth, n.restricted, n.restricted_ancestor_depth)
               && array(select g.node_id from private.caller_grant_nodes g))
     limit p_limit);
end
$$;
revoke execute on function private.subtree_nodes(uuid, uuid, integer) from public;
grant execute on function private.subtree_nodes(uuid, uuid, integer) to authenticated;

-- Search reads a small subtree through its nodes (private.subtree_nodes,
-- then each table by (org_id, node_id)). A large one (more than p_small
-- nodes) it reads as the organization's rows, testing each match's node:
-- through the nodes, the root of a 282,000-node organization meant 282,000
-- probes of each table (5 M buffers, 18 s for 'stage'); the matches come
-- out of a fenced sub-select (offset 0) so that only they, not every row of
-- the organization, have their node tested. Which half runs is
-- a one-time filter; the other is never started. PL/pgSQL, so the plan is
-- kept for the session (a SQL function is planned at every call, 37 ms
-- here), and without JIT (its compilation costs more than these reads).
drop function showtree.search_subtree(uuid, uuid, text, integer);
create function showtree.search_subtree(
  p_org_id uuid, p_node_id uuid, p_query text, p_limit integer, p_small integer default 2000)
returns table (kind text, id uuid, node_id uuid, title text, rank real)
language plpgsql stable
set jit = off
as $$
#variable_conflict use_column
begin
  return query
  with q as (select websearch_to_tsquery('english'::regconfig, p_query) as q),
  -- one more node than p_small tells a large subtree from a small one
  found as (select private.subtree_nodes(p_org_id, p_node_id, p_small + 1) as ids),
  sub as materialized (select ns.ids, cardinality(ns.ids) > p_small as big from found ns),
  root as materialized (
    select r.ancestors || r.id as lo,
           r.ancestors || r.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid as hi
      from showtree.nodes r where r.org_id = p_org_id and r.id = p_node_id
  ),
  hits as (
    select 'node'::text, n.id, n.id, n.name,
           ts_rank(to_tsvector('english'::regconfig, n.name), q.q)
      from showtree.nodes n, q
     where (select not s.big from sub s)
       and n.org_id = p_org_id and n.id = any ((select s.ids from sub s)::uuid[])
       and to_tsvector('english'::regconfig, n.name) @@ q.q
    union all
    select 'task', t.id, t.node_id, t.title, ts_rank(t.search, q.q)
      from showtree.tasks t, q
     where (select not s.big from sub s)
       and t.org_id = p_org_id and t.deleted_at is null
       and t.node_id = any ((select s.ids from sub s)::uuid[]) and t.search @@ q.q
    union all
    select 'schedule_item', s.id, s.node_id, s.title, ts_rank(s.search, q.q)
      from showtree.schedule_items s, q
     where (select not s.big from sub s)
       and s.org_id = p_org_id and s.deleted_at is null
       and s.node_id = any ((select s.ids from sub s)::uuid[]) and s.search @@ q.q
    union all
    select 'document', d.id, d.node_id, d.title, ts_rank(d.search, q.q)
      from showtree.documents d, q
     where (select not s.big from sub s)
       and d.org_id = p_org_id and d.deleted_at is null
       and d.node_id = any ((select s.ids from sub s)::uuid[]) and d.search @@ q.q
    union all
    select 'budget_line', b.id, b.node_id, b.category, ts_rank(b.search, q.q)
      from showtree.budget_lines b, q
     where (select not s.big from sub s)
       and b.org_id = p_org_id and b.deleted_at is null
       and b.node_id = any ((select s.ids from sub s)::uuid[]) and b.search @@ q.q
    union all
    select 'invoice', i.id, i.node_id, i.number, ts_rank(i.search, q.q)
      from showtree.invoices i, q
     where (select not s.big from sub s)
       and i.org_id = p_org_id and i.deleted_at is null
       and i.node_id = any ((select s.ids from sub s)::uuid[]) and i.search @@ q.q
    union all
    select 'node'::text, n.id, n.id, n.name,
           ts_rank(to_tsvector('english'::regconfig, n.name), q.q)
      from showtree.nodes n, q
     where (select s.big from sub s)
       and n.org_id = p_org_id and n.deleted_at is null
       and (n.ancestors || n.id) >= (select r.lo from root r)
       and (n.ancestors || n.id) < (select r.hi from root r)
       and to_tsvector('english'::regconfig, n.name) @@ q.q
    union all
    select 'task', t.id, t.node_id, t.title, ts_rank(t.search, q.q)
      from (select t.org_id, t.id, t.node_id, t.title, t.search
              from showtree.tasks t, q
             where (select s.big from sub s)
               and t.org_id = p_org_id and t.deleted_at is null and t.search @@ q.q
            offset 0) t, q
     where exists (select from showtree.nodes n
                    where n.org_id = t.org_id and n.id = t.node_id and n.deleted_at is null
                      and (n.ancestors || n.id) >= (select r.lo from root r)
                      and (n.ancestors || n.id) < (select r.hi from root r)
                   offset 0)
    union all
    select 'schedule_item', s.id, s.node_id, s.title, ts_rank(s.search, q.q)
      from (select s.org_id, s.id, s.node_id, s.title, s.search
              from showtree.schedule_items s, q
             where (select s.big from sub s)
               and s.org_id = p_org_id and s.deleted_at is null and s.search @@ q.q
            offset 0) s, q
     where exists (select from showtree.nodes n
                    where n.org_id = s.org_id and n.id = s.node_id and n.deleted_at is null
                      and (n.ancestors || n.id) >= (select r.lo from root r)
                      and (n.ancestors || n.id) < (select r.hi from root r)
                   offset 0)
    union all
    select 'document', d.id, d.node_id, d.title, ts_rank(d.search, q.q)
      from (select d.org_id, d.id, d.node_id, d.title, d.search
              from showtree.documents d, q
             where (select s.big from sub s)
               and d.org_id = p_org_id and d.deleted_at is null and d.search @@ q.q
            offset 0) d, q
     where exists (select from showtree.nodes n
                    where n.org_id = d.org_id and n.id = d.node_id and n.deleted_at is null
                      and (n.ancestors || n.id) >= (select r.lo from root r)
                      and (n.ancestors || n.id) < (select r.hi from root r)
                   offset 0)
    union all
    select 'budget_line', b.id, b.node_id, b.category, ts_rank(b.search, q.q)
      from (select b.org_id, b.id, b.node_id, b.category, b.search
              from showtree.budget_lines b, q
             where (select s.big from sub s)
               and b.org_id = p_org_id and b.deleted_at is null and b.search @@ q.q
            offset 0) b, q
     where exists (select from showtree.nodes n
                    where n.org_id = b.org_id and n.id = b.node_id and n.deleted_at is null
                      and (n.ancestors || n.id) >= (select r.lo from root r)
                      and (n.ancestors || n.id) < (select r.hi from root r)
                   offset 0)
    union all
    select 'invoice', i.id, i.node_id, i.number, ts_rank(i.search, q.q)
      from (select i.org_id, i.id, i.node_id, i.number, i.search
              from showtree.invoices i, q
             where (select s.big from sub s)
               and i.org_id = p_org_id and i.deleted_at is null and i.search @@ q.q
            offset 0) i, q
     where exists (select from showtree.nodes n
                    where n.org_id = i.org_id and n.id = i.node_id and n.deleted_at is null
                      and (n.ancestors || n.id) >= (select r.lo from root r)
                      and (n.ancestors || n.id) < (select r.hi from root r)
                   offset 0)
  )
  select h.* from hits h order by 5 desc, 2 limit p_limit;
end
$$;
revoke execute on function showtree.search_subtree(uuid, uuid, text, integer, integer) from public;
grant execute on function showtree.search_subtree(uuid, uuid, text, integer, integer) to authenticated;
