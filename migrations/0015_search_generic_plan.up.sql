-- showtree.search_subtree is one large union (both plans of the subtree,
-- six tables); PL/pgSQL plans its statement with the call's values for the
-- first five calls of each session (custom plans, 20-40 ms of planning each
-- at scale 1) before it settles on the generic plan that then runs in about
-- 1 ms. Pooled connections met those slow calls in every benchmark run:
-- search's p95 was several times its p50 at a paced 100 requests/s. The
-- generic plan is what the function runs anyway (the choice between the
-- small and the large subtree is a one-time filter, not a plan choice), so
-- it is used from the first call, as private.rollup does.
alter function showtree.search_subtree(uuid, uuid, text, integer, integer)
  set plan_cache_mode = force_generic_plan;
