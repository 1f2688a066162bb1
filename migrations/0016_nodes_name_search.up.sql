-- showtree.search_subtree matches node names with
-- to_tsvector('english', name) @@ query. Over a large subtree (its second
-- half, more than p_small nodes) nothing indexed that expression, so every
-- live node of the subtree had its name parsed: 1.6 s of the 3-4 s an
-- organization-root search took at the largest organization of
-- `bench generate --scale 1` (282,026 nodes). With this index the same
-- searches took 1.4-1.7 s; a small subtree's search (found through its
-- nodes' ids) is unchanged. Partial, as the search reads live nodes only.
create index nodes_name_search_idx on showtree.nodes
  using gin (to_tsvector('english'::regconfig, name)) where deleted_at is null;
