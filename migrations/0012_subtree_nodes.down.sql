drop function showtree.search_subtree(uuid, uuid, text, integer, integer);
drop function private.subtree_nodes(uuid, uuid, integer);

-- migration 0009's search, with 0005's grant
create function showtree.search_subtree(p_org_id uuid, p_node_id uuid, p_query text, p_limit integer)
returns table (kind text, id uuid, node_id uuid, title text, rank real)
language sql stable
as $$
  with q as (select websearch_to_tsquery('english'::regconfig, p_query) as q),
  root as (
    select r.ancestors || r.id as path from showtree.nodes r where r.org_id = p_org_id and r.id = p_node_id
  ),
  -- one range of nodes_path_idx (the containment test it replaces read
  -- every node of the organization)
  sub as materialized (
    select n.id, n.name from showtree.nodes n
     where n.org_id = p_org_id and n.deleted_at is null
       and (n.ancestors || n.id) >= (select path from root)
       and (n.ancestors || n.id) < (select path || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid from root)
  ),
  hits as (
    select 'node'::text, n.id, n.id, n.name,
           ts_rank(to_tsvector('english'::regconfig, n.name), q.q)
      from sub n, q
     where to_tsvector('english'::regconfig, n.name) @@ q.q
    union all
    select 'task', t.id, t.node_id, t.title, ts_rank(t.search, q.q)
      from showtree.tasks t, q where t.org_id = p_org_id and t.deleted_at is null
       and t.node_id in (select id from sub) and t.search @@ q.q
    union all
    select 'schedule_item', s.id, s.node_id, s.title, ts_rank(s.search, q.q)
      from showtree.schedule_items s, q where s.org_id = p_org_id and s.deleted_at is null
       and s.node_id in (select id from sub) and s.search @@ q.q
    union all
    select 'document', d.id, d.node_id, d.title, ts_rank(d.search, q.q)
      from showtree.documents d, q where d.org_id = p_org_id and d.deleted_at is null
       and d.node_id in (select id from sub) and d.search @@ q.q
    union all
    select 'budget_line', b.id, b.node_id, b.category, ts_rank(b.search, q.q)
      from showtree.budget_lines b, q where b.org_id = p_org_id and b.deleted_at is null
       and b.node_id in (select id from sub) and b.search @@ q.q
    union all
    select 'invoice', i.id, i.node_id, i.number, ts_rank(i.search, q.q)
      from showtree.invoices i, q where i.org_id = p_org_id and i.deleted_at is null
       and i.node_id in (select id from sub) and i.search @@ q.q
  )
  select * from hits order by 5 desc, 2 limit p_limit
$$;
revoke execute on function showtree.search_subtree(uuid, uuid, text, integer) from public;
grant execute on function showtree.search_subtree(uuid, uuid, text, integer) to authenticated;
