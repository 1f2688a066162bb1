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
