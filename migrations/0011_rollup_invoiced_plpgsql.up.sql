-- private.rollup_invoiced (migration 0006) was a SQL-language function
-- called from the invoice and invoice-line triggers: PostgreSQL 15 plans a
-- SQL function's statement again on every call, so every line written
-- paid for planning its delta insert. In PL/pgSQL the plan is cached per
-- session. Same statement, same result.
create or replace function private.rollup_invoiced(
  p_org_id uuid, p_node_id uuid, p_currency char(3), p_status showtree.entity_status, p_amount bigint)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_amount = 0 then
    return;
  end if;
  insert into private.rollup_deltas (org_id, node_id, currency, invoiced_draft_minor,
    invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor,
    invoiced_cancelled_minor, invoiced_archived_minor)
  values (p_org_id, p_node_id, p_currency,
    case when p_status = 'draft' then p_amount else 0 end,
    case when p_status = 'active' then p_amount else 0 end,
    case when p_status = 'review' then p_amount else 0 end,
    case when p_status = 'completed' then p_amount else 0 end,
    case when p_status = 'cancelled' then p_amount else 0 end,
    case when p_status = 'archived' then p_amount else 0 end);
end
$$;
