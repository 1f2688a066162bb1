-- Back to migration 0006's SQL-language function.
create or replace function private.rollup_invoiced(
  p_org_id uuid, p_node_id uuid, p_currency char(3), p_status showtree.entity_status, p_amount bigint)
returns void
language sql
set search_path = ''
as $$
  insert into private.rollup_deltas (org_id, node_id, currency, invoiced_draft_minor,
    invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor,
    invoiced_cancelled_minor, invoiced_archived_minor)
  select p_org_id, p_node_id, p_currency,
    case when p_status = 'draft' then p_amount else 0 end,
    case when p_status = 'active' then p_amount else 0 end,
    case when p_status = 'review' then p_amount else 0 end,
    case when p_status = 'completed' then p_amount else 0 end,
    case when p_status = 'cancelled' then p_amount else 0 end,
    case when p_status = 'archived' then p_amount else 0 end
   where p_amount <> 0
$$;
