drop function private.rollup_rebuild();
alter function private.is_valid_timezone(text) parallel safe;

create or replace function private.locate_row(p_table text, p_id uuid)
returns table (org_id uuid, node_id uuid)
language plpgsql stable security definer
set search_path = ''
as $$
begin
  case p_table
    when 'tasks', 'budget_lines', 'vendors', 'invoices', 'assets', 'asset_assignments',
         'schedule_items', 'people', 'crew_assignments', 'documents', 'tags' then
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
