-- Back to migration 0012's search (with 0015's generic plans) and the
-- plain search indexes.
create or replace function showtree.search_subtree(
  p_org_id uuid, p_node_id uuid, p_query text, p_limit integer, p_small integer default 2000)
returns table (kind text, id uuid, node_id uuid, title text, rank real)
language plpgsql stable
set jit = off
set plan_cache_mode = force_generic_plan
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
drop function private.search_org_rows(uuid, uuid, text, integer);
drop function private.org_tsquery(uuid, tsquery);
drop index showtree.nodes_name_search_idx;
create index nodes_name_search_idx on showtree.nodes
  using gin (to_tsvector('english'::regconfig, name)) where deleted_at is null;
drop index showtree.tasks_search_idx;
create index tasks_search_idx on showtree.tasks using gin (search);
drop index showtree.budget_lines_search_idx;
create index budget_lines_search_idx on showtree.budget_lines using gin (search);
drop index showtree.vendors_search_idx;
create index vendors_search_idx on showtree.vendors using gin (search);
drop index showtree.invoices_search_idx;
create index invoices_search_idx on showtree.invoices using gin (search);
drop index showtree.assets_search_idx;
create index assets_search_idx on showtree.assets using gin (search);
drop index showtree.schedule_items_search_idx;
create index schedule_items_search_idx on showtree.schedule_items using gin (search);
drop index showtree.people_search_idx;
create index people_search_idx on showtree.people using gin (search);
drop index showtree.documents_search_idx;
create index documents_search_idx on showtree.documents using gin (search);
