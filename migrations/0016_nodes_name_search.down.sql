drop index showtree.nodes_name_search_idx;
