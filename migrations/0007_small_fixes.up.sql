-- private.is_valid_timezone catches an exception, and a plpgsql exception
-- block opens a subtransaction, which PostgreSQL refuses while a query runs
-- in parallel mode ("cannot start subtransactions during a parallel
-- operation"), in the workers and in the leader alike. 0001 declared it
-- parallel safe, so any parallel plan that evaluated it (a filter over a
-- large scan, a bulk check) failed. Parallel unsafe keeps such a query
-- serial instead.
alter function private.is_valid_timezone(text) parallel unsafe;

-- The exchange rates of 0006 get the API of every other table of reference
-- data (GET/PATCH/DELETE /v1/fx-rates/{id}), which finds a row's place
-- through private.locate_row.
create or replace function private.locate_row(p_table text, p_id uuid)
returns table (org_id uuid, node_id uuid)
language plpgsql stable security definer
set search_path = ''
as $$
begin
  case p_table
    when 'tasks', 'budget_lines', 'vendors', 'invoices', 'assets', 'asset_assignments',
         'schedule_items', 'people', 'crew_assignments', 'documents', 'tags', 'fx_rates' then
      return query execute pg_catalog.format(
        'select t.org_id, t.node_id from showtree.%I t where t.id = $1', p_table) using p_id;
    when 'invoice_lines' then
      return query select l.org_id, i.node_id
        from showtree.invoice_lines l
        join showtree.invoices i on i.org_id = l.org_id and i.id = l.invoice_id
       where l.id = p_id;
    else
      raise exception 'locate_row: unknown table %', p_table using errcode = 'invalid_parameter_value';
  end case;
end
$$;

-- Rebuilds every roll-up total from the base tables, as migration 0006's
-- backfill did: for data loaded without triggers (`showtree bench generate`
-- loads with session_replication_role = replica) or to repair. It locks the
-- delta log first, so writers wait until it commits and nothing they did is
-- counted twice or lost; an operator's tool, granted to nobody.
create function private.rollup_rebuild() returns void
language plpgsql
set search_path = ''
as $$
begin
  lock table private.rollup_deltas in access exclusive mode;
  lock table private.rollup_own, private.rollup_subtree in access exclusive mode;
  delete from private.rollup_deltas;
  delete from private.rollup_own;
  delete from private.rollup_subtree;
  insert into private.rollup_own (org_id, node_id, currency, week,
    tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
  select c.org_id, c.node_id, c.currency, c.week,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_draft'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_planning'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_active'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_review'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_completed'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_cancelled'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_archived'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'schedule_items'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'schedule_conflicts'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'crew_headcount'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'budget_planned_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_draft_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_active_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_review_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_completed_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_cancelled_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'invoiced_archived_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'crew_cost_minor'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'tasks_open_due'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'assets_started'), 0)::bigint,
         coalesce(sum(c.amount) filter (where c.metric = 'assets_ended'), 0)::bigint
    from (
      select t.org_id, t.node_id, 'XXX'::char(3) as currency, '-infinity'::date as week,
             'tasks_' || t.status as metric, 1::numeric as amount
        from showtree.tasks t where t.deleted_at is null
      union all
      select b.org_id, b.node_id, b.currency, '-infinity', 'budget_planned_minor', b.amount_minor
        from showtree.budget_lines b where b.deleted_at is null
      union all
      select i.org_id, i.node_id, i.currency, '-infinity', 'invoiced_' || i.status || '_minor',
             round(l.quantity * l.unit_amount_minor)
        from showtree.invoices i
        join showtree.invoice_lines l on l.org_id = i.org_id and l.invoice_id = i.id
       where i.deleted_at is null and l.deleted_at is null
      union all
      select a.org_id, a.node_id, 'XXX', '-infinity', 'crew_headcount', 1
        from showtree.crew_assignments a where a.deleted_at is null and a.status <> 'cancelled'
      union all
      select a.org_id, a.node_id, a.currency, '-infinity', 'crew_cost_minor',
             private.crew_cost_minor(a.rate_amount_minor, a.rate_unit, a.call_at, a.wrap_at)
        from showtree.crew_assignments a
       where a.deleted_at is null and a.status <> 'cancelled'
         and private.crew_cost_minor(a.rate_amount_minor, a.rate_unit, a.call_at, a.wrap_at) <> 0
      union all
      select s.org_id, s.node_id, 'XXX', '-infinity', 'schedule_items', 1
        from showtree.schedule_items s where s.deleted_at is null
      union all
      select s.org_id, s.node_id, 'XXX', '-infinity', 'schedule_conflicts', 1
        from showtree.schedule_items s
        join showtree.schedule_items o
          on o.org_id = s.org_id and o.node_id = s.node_id and o.location = s.location and o.id > s.id
         and o.deleted_at is null and o.starts_at < s.ends_at and s.starts_at < o.ends_at
       where s.deleted_at is null
      union all
      select t.org_id, t.node_id, 'XXX', private.rollup_week(t.due_at), 'tasks_open_due', 1
        from showtree.tasks t
       where t.deleted_at is null and t.due_at is not null
         and t.status in ('draft', 'planning', 'active', 'review')
      union all
      select a.org_id, a.node_id, 'XXX', private.rollup_week(m.at), m.metric, 1
        from showtree.asset_assignments a
        join showtree.assets x on x.org_id = a.org_id and x.id = a.asset_id and x.deleted_at is null
       cross join lateral (values (a.starts_at, 'assets_started'), (a.ends_at, 'assets_ended')) m(at, metric)
       where a.deleted_at is null and m.at is not null
    ) c
   group by c.org_id, c.node_id, c.currency, c.week;
  insert into private.rollup_subtree (org_id, node_id, currency, week, tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
  select o.org_id, a.node_id, o.currency, o.week,
         sum(o.tasks_draft)::bigint as tasks_draft,
         sum(o.tasks_planning)::bigint as tasks_planning,
         sum(o.tasks_active)::bigint as tasks_active,
         sum(o.tasks_review)::bigint as tasks_review,
         sum(o.tasks_completed)::bigint as tasks_completed,
         sum(o.tasks_cancelled)::bigint as tasks_cancelled,
         sum(o.tasks_archived)::bigint as tasks_archived,
         sum(o.schedule_items)::bigint as schedule_items,
         sum(o.schedule_conflicts)::bigint as schedule_conflicts,
         sum(o.crew_headcount)::bigint as crew_headcount,
         sum(o.budget_planned_minor)::bigint as budget_planned_minor,
         sum(o.invoiced_draft_minor)::bigint as invoiced_draft_minor,
         sum(o.invoiced_active_minor)::bigint as invoiced_active_minor,
         sum(o.invoiced_review_minor)::bigint as invoiced_review_minor,
         sum(o.invoiced_completed_minor)::bigint as invoiced_completed_minor,
         sum(o.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
         sum(o.invoiced_archived_minor)::bigint as invoiced_archived_minor,
         sum(o.crew_cost_minor)::bigint as crew_cost_minor,
         sum(o.tasks_open_due)::bigint as tasks_open_due,
         sum(o.assets_started)::bigint as assets_started,
         sum(o.assets_ended)::bigint as assets_ended
    from private.rollup_own o
    join showtree.nodes n on n.org_id = o.org_id and n.id = o.node_id and n.deleted_at is null
   cross join unnest(n.ancestors || n.id) as a(node_id)
   group by o.org_id, a.node_id, o.currency, o.week;
end
$$;
revoke execute on function private.rollup_rebuild() from public;
