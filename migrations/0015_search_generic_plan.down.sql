alter function showtree.search_subtree(uuid, uuid, text, integer, integer)
  reset plan_cache_mode;
