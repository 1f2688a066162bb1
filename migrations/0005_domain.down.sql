-- Reverts 0005_domain: the domain tables, their helpers and types.

alter policy audit_events_select on showtree.audit_events
  using (org_id = any ((select private.admin_orgs())::uuid[])
         or exists (select from showtree.nodes n where n.org_id = audit_events.org_id and n.id = audit_events.node_id));

drop function showtree.search_subtree(uuid, uuid, text, integer);
drop function private.locate_row(text, uuid);
drop function private.purge_organization(uuid);
drop table showtree.task_tags, showtree.invoice_tags, showtree.asset_tags,
  showtree.person_tags, showtree.document_tags;
drop table showtree.tags;
drop table showtree.documents;
drop function private.documents_series();
drop table showtree.crew_assignments;
drop function private.crew_assignments_check_rate();
drop table showtree.people;
drop table showtree.schedule_items;
drop function private.schedule_items_check_overlap();
drop function private.schedule_overlap_forbidden(uuid, uuid);
drop table showtree.asset_assignments;
drop table showtree.assets;
drop function showtree.invoice_total_minor(uuid, uuid);
drop table showtree.invoice_lines;
drop table showtree.invoices;
drop table showtree.vendors;
drop table showtree.budget_lines;
drop table showtree.tasks;
drop function private.tasks_completion();
drop function private.policy_can(text, text);
drop function private.policy_member(text, text);
drop function private.audit_row();
drop function private.set_actor();
alter table showtree.nodes drop constraint nodes_settings_check;
alter table showtree.nodes drop column settings;
drop type showtree.rate_unit;
drop type showtree.document_kind;
drop type showtree.schedule_item_type;
drop type showtree.person_kind;
drop function private.currency_minor_unit(text);

do $migration$
begin
  if exists (select from pg_catalog.pg_extension e
              where e.extname = 'btree_gist'
                and obj_description(e.oid, 'pg_extension') = 'created by showtree migration 0005') then
    drop extension btree_gist;
  end if;
end
$migration$;
