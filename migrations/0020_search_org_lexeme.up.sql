-- Searching a large subtree (an organization's root) was slow: its rows
-- were found through each table's organization index and the text test
-- ran on every row of the organization (the GIN indexes on `search` could
-- not serve it: under the tables' policies a condition that is not
-- leakproof, like `@@`, is tested only after them, never as an index
-- condition). The largest organization of `bench generate --scale 1`
-- (282,026 nodes) took 1.4-1.7 s for a common word.
--
-- Now every search index holds, beside the row's lexemes, one more: its
-- organization's id. `(search || array_to_tsvector(array[org_id::text]))
-- @@ (query && '<org id>')` finds the organization's matches alone in the
-- index, without btree_gin (no extension is required). Partial: every
-- reader of these indexes reads live rows only. The lists' text filter
-- (showtree_db::domain::list) keeps `search @@ query`: it runs under the
-- policies, where no text index can serve it, so it tests the stored
-- column on the rows the list reads anyway.
--
-- A large subtree's matches are read by private.search_org_rows with the
-- owner's rights, applying the tables' read policies itself (verbatim:
-- organization owners and admins read everything; others a row whose node
-- is live, in the subtree and on a path carrying a grant of theirs, a
-- finance grant for budget lines and invoices), so the index condition is
-- allowed. A small subtree is still read under the policies, through its
-- nodes.

drop index showtree.tasks_search_idx;
create index tasks_search_idx on showtree.tasks
  using gin ((search || array_to_tsvector(array[org_id::text]))) where deleted_at is null;
drop index showtree.budget_lines_search_idx;
create index budget_lines_search_idx on showtree.budget_lines
  using gin ((search || array_to_tsvector(array[org_id::text]))) where deleted_at is null;
drop index showtree.vendors_search_idx;
create index vendors_search_idx on showtree.vendors
  using gin ((search || array_to_tsvector(array[org_id::text]))) where deleted_at is null;
drop index showtree.invoices_search_idx;
create index invoices_search_idx on showtree.invoices
  using gin ((search || array_to_tsvector(array[org_id::text]))) where deleted_at is null;
drop index showtree.assets_search_idx;
create index assets_search_idx on showtree.assets
  using gin ((search || array_to_tsvector(array[org_id::text]))) where deleted_at is null;
drop index showtree.schedule_items_search_idx;
create index schedule_items_search_idx on showtree.schedule_items
  using gin ((search || array_to_tsvector(array[org_id::text]))) where deleted_at is null;
drop index showtree.people_search_idx;
create index people_search_idx on showtree.people
  using gin ((search || array_to_tsvector(array[org_id::text]))) where deleted_at is null;
drop index showtree.documents_search_idx;
create index documents_search_idx on showtree.documents
  using gin ((search || array_to_tsvector(array[org_id::text]))) where deleted_at is null;
drop index showtree.nodes_name_search_idx;
create index nodes_name_search_idx on showtree.nodes
  using gin ((to_tsvector('english'::regconfig, name) || array_to_tsvector(array[org_id::text])))
  where deleted_at is null;

-- websearch_to_tsquery(p_query) restricted to the organization's rows
-- through its lexeme; empty (matching nothing, as `@@` with an empty query
-- does) when the query has no lexeme: a query of stop words alone must not
-- become the organization's lexeme alone, which every row of it matches.
create function private.org_tsquery(p_org_id uuid, p_query tsquery)
returns tsquery
language sql immutable parallel safe
return case when pg_catalog.numnode(p_query) = 0 then p_query
            else p_query operator(pg_catalog.&&) (pg_catalog.quote_literal(p_org_id::text))::tsquery end;
grant execute on function private.org_tsquery(uuid, tsquery) to authenticated;

-- The matches of p_query in the live subtree of p_node_id the caller may
-- read, best first, at most p_limit: the large-subtree half of
-- showtree.search_subtree. Nothing when the caller cannot read the node.
create function private.search_org_rows(
  p_org_id uuid, p_node_id uuid, p_query text, p_limit integer)
returns table (kind text, id uuid, node_id uuid, title text, rank real)
language plpgsql stable security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
set jit = off
as $$
#variable_conflict use_column
declare
  v_q tsquery := pg_catalog.websearch_to_tsquery('english'::regconfig, p_query);
  v_oq tsquery := private.org_tsquery(p_org_id, v_q);
  v_admin boolean := p_org_id = any (array(select a.org_id from private.caller_admin_orgs a));
  v_read uuid[];
  v_finance uuid[];
  v_depth integer;
  v_hit record;
  v_found integer := 0;
begin
  if pg_catalog.numnode(v_q) = 0 then
    return;
  end if;
  if not v_admin then
    v_read := array(select g.node_id from private.caller_grant_nodes g);
    v_finance := array(select g.node_id from private.caller_grants g
                        where private.role_has(g.role, 'finance'));
  end if;
  select r.depth into v_depth
    from showtree.nodes r
   where r.org_id = p_org_id and r.id = p_node_id and r.deleted_at is null
     and (v_admin or private.grant_path(r.ancestors, r.id, r.depth, r.restricted,
                                        r.restricted_ancestor_depth) && v_read);
  if v_depth is null then
    return;
  end if;
  -- Every match of the organization is ranked first; then, best first
  -- (a loop over the sorted matches: the order is kept and the rest are
  -- never tested), each one's node is read by its key until p_limit have
  -- passed, so a search whose matches the caller may mostly read tests
  -- about p_limit nodes, not every match's. Each table's matches come out
  -- of a fenced sub-select (offset 0), so the organization's btree is not
  -- combined with the text index: the organization is in the index
  -- condition already. The subtree test is the root at its depth among
  -- the node's ancestors, not a range of nodes_path_idx, which a generic
  -- plan would take for a few nodes and scan once per match.
  for v_hit in
  with hits (kind, id, node_id, title, rank) as (
    select 'node'::text, n.id, n.id, n.name,
           ts_rank(to_tsvector('english'::regconfig, n.name), v_q)
      from (select n.org_id, n.id, n.name
              from showtree.nodes n
             where n.deleted_at is null
               and (to_tsvector('english'::regconfig, n.name)
                    || array_to_tsvector(array[n.org_id::text])) @@ v_oq
            offset 0) n
     where n.org_id = p_org_id
    union all
    select 'task', x.id, x.node_id, x.title, ts_rank(x.search, v_q)
      from (select x.org_id, x.id, x.node_id, x.title, x.search
              from showtree.tasks x
             where x.deleted_at is null
               and (x.search || array_to_tsvector(array[x.org_id::text])) @@ v_oq
            offset 0) x
     where x.org_id = p_org_id
    union all
    select 'schedule_item', x.id, x.node_id, x.title, ts_rank(x.search, v_q)
      from (select x.org_id, x.id, x.node_id, x.title, x.search
              from showtree.schedule_items x
             where x.deleted_at is null
               and (x.search || array_to_tsvector(array[x.org_id::text])) @@ v_oq
            offset 0) x
     where x.org_id = p_org_id
    union all
    select 'document', x.id, x.node_id, x.title, ts_rank(x.search, v_q)
      from (select x.org_id, x.id, x.node_id, x.title, x.search
              from showtree.documents x
             where x.deleted_at is null
               and (x.search || array_to_tsvector(array[x.org_id::text])) @@ v_oq
            offset 0) x
     where x.org_id = p_org_id
    union all
    select 'budget_line', x.id, x.node_id, x.category, ts_rank(x.search, v_q)
      from (select x.org_id, x.id, x.node_id, x.category, x.search
              from showtree.budget_lines x
             where x.deleted_at is null
               and (x.search || array_to_tsvector(array[x.org_id::text])) @@ v_oq
            offset 0) x
     where x.org_id = p_org_id
    union all
    select 'invoice', x.id, x.node_id, x.number, ts_rank(x.search, v_q)
      from (select x.org_id, x.id, x.node_id, x.number, x.search
              from showtree.invoices x
             where x.deleted_at is null
               and (x.search || array_to_tsvector(array[x.org_id::text])) @@ v_oq
            offset 0) x
     where x.org_id = p_org_id
  )
  select h.kind, h.id, h.node_id, h.title, h.rank from hits h order by h.rank desc, h.id
  loop
    if exists (select from showtree.nodes n
                where n.org_id = p_org_id and n.id = v_hit.node_id and n.deleted_at is null
                  and (n.id = p_node_id or n.ancestors[v_depth + 1] = p_node_id)
                  and (v_admin
                       or private.grant_path(n.ancestors, n.id, n.depth, n.restricted,
                                             n.restricted_ancestor_depth)
                          && case when v_hit.kind in ('budget_line', 'invoice') then v_finance
                                  else v_read end)) then
      kind := v_hit.kind;
      id := v_hit.id;
      node_id := v_hit.node_id;
      title := v_hit.title;
      rank := v_hit.rank;
      return next;
      v_found := v_found + 1;
      exit when v_found >= p_limit;
    end if;
  end loop;
end
$$;
revoke execute on function private.search_org_rows(uuid, uuid, text, integer) from public;
grant execute on function private.search_org_rows(uuid, uuid, text, integer) to authenticated;

-- Search: a small subtree (at most p_small nodes the caller may read) is
-- read under the tables' policies through its nodes, a large one by
-- private.search_org_rows. PL/pgSQL, so each half's plan is kept for the
-- session (generic from the first call: see migration 0015).
create or replace function showtree.search_subtree(
  p_org_id uuid, p_node_id uuid, p_query text, p_limit integer, p_small integer default 2000)
returns table (kind text, id uuid, node_id uuid, title text, rank real)
language plpgsql stable
set jit = off
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
  -- one more node than p_small tells a large subtree from a small one
  v_ids uuid[] := private.subtree_nodes(p_org_id, p_node_id, p_small + 1);
  v_q tsquery := websearch_to_tsquery('english'::regconfig, p_query);
begin
  if cardinality(v_ids) > p_small then
    return query select * from private.search_org_rows(p_org_id, p_node_id, p_query, p_limit);
    return;
  end if;
  return query
  with hits as (
    select 'node'::text, n.id, n.id, n.name,
           ts_rank(to_tsvector('english'::regconfig, n.name), v_q)
      from showtree.nodes n
     where n.org_id = p_org_id and n.id = any (v_ids)
       and to_tsvector('english'::regconfig, n.name) @@ v_q
    union all
    select 'task', x.id, x.node_id, x.title, ts_rank(x.search, v_q)
      from showtree.tasks x
     where x.org_id = p_org_id and x.deleted_at is null
       and x.node_id = any (v_ids) and x.search @@ v_q
    union all
    select 'schedule_item', x.id, x.node_id, x.title, ts_rank(x.search, v_q)
      from showtree.schedule_items x
     where x.org_id = p_org_id and x.deleted_at is null
       and x.node_id = any (v_ids) and x.search @@ v_q
    union all
    select 'document', x.id, x.node_id, x.title, ts_rank(x.search, v_q)
      from showtree.documents x
     where x.org_id = p_org_id and x.deleted_at is null
       and x.node_id = any (v_ids) and x.search @@ v_q
    union all
    select 'budget_line', x.id, x.node_id, x.category, ts_rank(x.search, v_q)
      from showtree.budget_lines x
     where x.org_id = p_org_id and x.deleted_at is null
       and x.node_id = any (v_ids) and x.search @@ v_q
    union all
    select 'invoice', x.id, x.node_id, x.number, ts_rank(x.search, v_q)
      from showtree.invoices x
     where x.org_id = p_org_id and x.deleted_at is null
       and x.node_id = any (v_ids) and x.search @@ v_q
  )
  select h.* from hits h order by 5 desc, 2 limit p_limit;
end
$$;
