-- The production domain: what a production team records, each row owned by
-- exactly one node (org-level reference data by the organization's root
-- node), following every convention of DESIGN.md section 4.
--
-- Shapes shared by every table here:
--  * `org_id` leads the primary key and every foreign key between tenant
--    tables, so no row can point into another organization;
--  * `node_id` names the owning node (child rows such as invoice lines and
--    tag links are owned through their parent row and carry no node of
--    their own: a node stored twice could disagree);
--  * created/updated/deleted by and at, kept by triggers (private.set_actor,
--    private.set_updated_at), `metadata jsonb` object;
--  * an audit trigger (private.audit_row) writes every change to
--    showtree.audit_events;
--  * RLS enabled and forced, policies generated at the end of this file.

-- Exclusion constraints over (asset, time range) need equality on uuid in a
-- GiST index: btree_gist, a trusted contrib extension shipped with
-- PostgreSQL. Left alone when it already exists; dropped by the down
-- migration only when this migration created it.
do $migration$
begin
  if not exists (select from pg_catalog.pg_extension where extname = 'btree_gist') then
    create extension btree_gist;
    comment on extension btree_gist is 'created by showtree migration 0005';
  end if;
end
$migration$;

-- ISO 4217 codes in use and their minor units (digits after the decimal
-- point). Immutable on purpose: codes change only with a migration.
-- showtree_core::money::ISO_4217 is the same list (a test compares them).
create function private.currency_minor_unit(p_code text) returns smallint
language sql immutable parallel safe
as $$
  select case
    when p_code = any ('{BIF,CLP,DJF,GNF,ISK,JPY,KMF,KRW,PYG,RWF,UGX,UYI,VND,VUV,XAF,XOF,XPF}'::text[]) then 0::smallint
    when p_code = any ('{BHD,IQD,JOD,KWD,LYD,OMR,TND}'::text[]) then 3::smallint
    when p_code = any ('{CLF,UYW}'::text[]) then 4::smallint
    when p_code = any ('{AED,AFN,ALL,AMD,AOA,ARS,AUD,AWG,AZN,BAM,BBD,BDT,BGN,BMD,BND,BOB,BOV,BRL,BSD,BTN,BWP,BYN,BZD,CAD,CDF,CHE,CHF,CHW,CNY,COP,COU,CRC,CUP,CVE,CZK,DKK,DOP,DZD,EGP,ERN,ETB,EUR,FJD,FKP,GBP,GEL,GHS,GIP,GMD,GTQ,GYD,HKD,HNL,HTG,HUF,IDR,ILS,INR,IRR,JMD,KES,KGS,KHR,KPW,KYD,KZT,LAK,LBP,LKR,LRD,LSL,MAD,MDL,MGA,MKD,MMK,MNT,MOP,MRU,MUR,MVR,MWK,MXN,MXV,MYR,MZN,NAD,NGN,NIO,NOK,NPR,NZD,PAB,PEN,PGK,PHP,PKR,PLN,QAR,RON,RSD,RUB,SAR,SBD,SCR,SDG,SEK,SGD,SHP,SLE,SOS,SRD,SSP,STN,SVC,SYP,SZL,THB,TJS,TMT,TOP,TRY,TTD,TWD,TZS,UAH,USD,USN,UYU,UZS,VED,VES,WST,XCD,XCG,YER,ZAR,ZMW,ZWG}'::text[]) then 2::smallint
  end
$$;

create type showtree.person_kind as enum ('crew', 'artist', 'vendor_staff', 'staff', 'other');
create type showtree.schedule_item_type as enum
  ('performance', 'changeover', 'soundcheck', 'doors', 'load_in', 'load_out', 'meeting', 'broadcast', 'other');
create type showtree.document_kind as enum
  ('contract', 'rider', 'stage_plot', 'permit', 'insurance', 'plan', 'invoice_scan', 'other');
create type showtree.rate_unit as enum ('hour', 'day', 'flat');

-- What a node configures (e.g. {"schedule": {"forbid_overlap": true}}).
alter table showtree.nodes add column settings jsonb not null default '{}';
alter table showtree.nodes add constraint nodes_settings_check check (jsonb_typeof(settings) = 'object');

-- Keeps the actor columns: created_by on insert (never changed after),
-- updated_by on every write, deleted_by when deleted_at is set; and keeps a
-- row inside its organization.
create function private.set_actor() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  uid uuid := auth.uid();
begin
  if tg_op = 'INSERT' then
    new.created_by := coalesce(uid, new.created_by);
    new.updated_by := coalesce(uid, new.updated_by, new.created_by);
    if new.deleted_at is not null then
      new.deleted_by := coalesce(uid, new.deleted_by);
    end if;
    return new;
  end if;
  if new.org_id is distinct from old.org_id then
    raise exception 'a row never moves to another organization'
      using errcode = 'check_violation', constraint = tg_table_name || '_org_id_immutable',
            schema = tg_table_schema, table = tg_table_name;
  end if;
  new.created_by := old.created_by;
  new.created_at := old.created_at;
  new.updated_by := coalesce(uid, new.updated_by);
  if new.deleted_at is not null and old.deleted_at is null then
    new.deleted_by := coalesce(uid, new.deleted_by);
  elsif new.deleted_at is null then
    new.deleted_by := null;
  end if;
  return new;
end
$$;

-- Writes one audit event per changed row. Arguments:
--  0: how to find the row's node: '' (its own node_id) or
--     'parent_table.parent_column' (the node of the parent row);
--  1: 'finance' when only finance may read the event, else '';
--  2: columns whose values are never copied into the event (only that
--     they changed), as a text array literal.
create function private.audit_row() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  r jsonb := case when tg_op = 'DELETE' then to_jsonb(old) else to_jsonb(new) end;
  o jsonb := case when tg_op = 'UPDATE' then to_jsonb(old) end;
  node uuid;
  parent text[];
  hidden text[] := coalesce(nullif(tg_argv[2], ''), '{}')::text[];
  skipped text[] := array['updated_at', 'updated_by', 'search', 'created_at', 'created_by'];
  action text;
  changes jsonb;
begin
  if tg_argv[0] = '' then
    node := (r ->> 'node_id')::uuid;
  else
    parent := pg_catalog.string_to_array(tg_argv[0], '.');
    execute pg_catalog.format('select node_id from showtree.%I where org_id = $1 and id = $2', parent[1])
      into node using (r ->> 'org_id')::uuid, (r ->> parent[2])::uuid;
  end if;

  if tg_op = 'INSERT' then
    action := 'created';
    select coalesce(jsonb_object_agg(e.key,
             case when e.key = any (hidden) then '"hidden"'::jsonb else e.value end), '{}')
      into changes
      from jsonb_each(r) e
     where e.key <> all (skipped || array['org_id', 'id', 'deleted_at', 'deleted_by'])
       and e.value <> 'null'::jsonb;
  elsif tg_op = 'DELETE' then
    action := 'purged';
    changes := '{}';
  else
    action := case
      when o ->> 'deleted_at' is null and r ->> 'deleted_at' is not null then 'deleted'
      when o ->> 'deleted_at' is not null and r ->> 'deleted_at' is null then 'restored'
      else 'updated' end;
    select coalesce(jsonb_object_agg(e.key,
             case when e.key = any (hidden) then '{"changed": true}'::jsonb
                  else jsonb_build_object('old', o -> e.key, 'new', e.value) end), '{}')
      into changes
      from jsonb_each(r) e
     where e.key <> all (skipped || array['deleted_at', 'deleted_by'])
       and e.value is distinct from o -> e.key;
    if action = 'updated' and changes = '{}' then
      return null;
    end if;
  end if;

  insert into showtree.audit_events (org_id, node_id, created_by, action, table_name, row_id, changes, metadata)
  values ((r ->> 'org_id')::uuid, node, auth.uid(), tg_table_name || '.' || action, tg_table_name,
          (r ->> 'id')::uuid, changes,
          case when tg_argv[1] = 'finance' then '{"capability": "finance"}'::jsonb else '{}'::jsonb end);
  return null;
end
$$;

-- ---------------------------------------------------------------- tasks
create table showtree.tasks (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  node_id uuid not null,
  title text not null,
  description text not null default '',
  status showtree.entity_status not null default 'planning',
  priority showtree.priority not null default 'medium',
  assigned_to uuid,
  due_at timestamptz,
  completed_at timestamptz,
  search tsvector generated always as (
    to_tsvector('english'::regconfig, title || ' ' || description)) stored,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint tasks_pkey primary key (org_id, id),
  constraint tasks_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint tasks_assigned_to_fkey foreign key (assigned_to)
    references auth.users (id) on delete set null,
  constraint tasks_title_check check (length(title) between 1 and 500 and title = btrim(title)),
  constraint tasks_description_check check (length(description) <= 20000),
  -- completed_at is set by the transition to completed (tasks_completion)
  constraint tasks_completed_at_check check ((status = 'completed') = (completed_at is not null)),
  constraint tasks_metadata_check check (jsonb_typeof(metadata) = 'object')
);
create index tasks_node_id_idx on showtree.tasks (org_id, node_id, id);
create index tasks_assigned_to_idx on showtree.tasks (assigned_to);
create index tasks_due_at_idx on showtree.tasks (org_id, due_at) where deleted_at is null and due_at is not null;
create index tasks_search_idx on showtree.tasks using gin (search);

create function private.tasks_completion() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.status = 'completed' and (tg_op = 'INSERT' or old.status <> 'completed') then
    new.completed_at := pg_catalog.now();
  elsif new.status <> 'completed' then
    new.completed_at := null;
  elsif tg_op = 'UPDATE' then
    new.completed_at := old.completed_at;
  end if;
  return new;
end
$$;
create trigger tasks_completion before insert or update of status, completed_at on showtree.tasks
  for each row execute function private.tasks_completion();

-- ---------------------------------------------------------- budget lines
create table showtree.budget_lines (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  node_id uuid not null,
  category text not null,
  description text not null default '',
  amount_minor bigint not null,
  currency char(3) not null,
  search tsvector generated always as (
    to_tsvector('english'::regconfig, category || ' ' || description)) stored,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint budget_lines_pkey primary key (org_id, id),
  constraint budget_lines_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint budget_lines_category_check check (length(category) between 1 and 100 and category = btrim(category)),
  constraint budget_lines_description_check check (length(description) <= 5000),
  constraint budget_lines_amount_minor_check check (amount_minor >= 0),
  constraint budget_lines_currency_check check (private.currency_minor_unit(currency) is not null),
  constraint budget_lines_metadata_check check (jsonb_typeof(metadata) = 'object')
);
create index budget_lines_node_id_idx on showtree.budget_lines (org_id, node_id, id);
create index budget_lines_search_idx on showtree.budget_lines using gin (search);

-- --------------------------------------------------------------- vendors
create table showtree.vendors (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  -- org-level reference data: owned by the organization's root node
  node_id uuid not null,
  name text not null,
  email text,
  phone text,
  search tsvector generated always as (to_tsvector('english'::regconfig, name)) stored,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint vendors_pkey primary key (org_id, id),
  constraint vendors_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint vendors_node_org_check check (node_id = org_id),
  constraint vendors_name_check check (length(name) between 1 and 200 and name = btrim(name)),
  constraint vendors_email_check check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' and length(email) <= 320),
  constraint vendors_phone_check check (length(phone) between 1 and 50),
  constraint vendors_metadata_check check (jsonb_typeof(metadata) = 'object')
);
create index vendors_node_id_idx on showtree.vendors (org_id, node_id);
create unique index vendors_name_key on showtree.vendors (org_id, lower(name)) where deleted_at is null;
create index vendors_search_idx on showtree.vendors using gin (search);

-- -------------------------------------------------------------- invoices
create table showtree.invoices (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  node_id uuid not null,
  vendor_id uuid not null,
  number text not null,
  issued_on date not null,
  due_on date,
  status showtree.entity_status not null default 'draft',
  currency char(3) not null,
  description text not null default '',
  search tsvector generated always as (
    to_tsvector('english'::regconfig, number || ' ' || description)) stored,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint invoices_pkey primary key (org_id, id),
  constraint invoices_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint invoices_vendor_fkey foreign key (org_id, vendor_id)
    references showtree.vendors (org_id, id) on delete restrict,
  constraint invoices_number_check check (length(number) between 1 and 100 and number = btrim(number)),
  constraint invoices_due_on_check check (due_on >= issued_on),
  -- draft (entered), active (approved: committed, unpaid), review
  -- (disputed), completed (paid), cancelled (void), archived
  constraint invoices_status_check check (status <> 'planning'),
  constraint invoices_currency_check check (private.currency_minor_unit(currency) is not null),
  constraint invoices_description_check check (length(description) <= 5000),
  constraint invoices_metadata_check check (jsonb_typeof(metadata) = 'object')
);
create index invoices_node_id_idx on showtree.invoices (org_id, node_id, id);
create unique index invoices_vendor_number_key on showtree.invoices (org_id, vendor_id, number)
  where deleted_at is null;
create index invoices_vendor_id_idx on showtree.invoices (org_id, vendor_id);
create index invoices_search_idx on showtree.invoices using gin (search);

create table showtree.invoice_lines (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  -- owned through the invoice: the invoice's node is the line's
  invoice_id uuid not null,
  budget_line_id uuid,
  description text not null,
  quantity numeric(14, 3) not null default 1,
  -- in the invoice's currency
  unit_amount_minor bigint not null,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint invoice_lines_pkey primary key (org_id, id),
  constraint invoice_lines_invoice_fkey foreign key (org_id, invoice_id)
    references showtree.invoices (org_id, id) on delete cascade,
  constraint invoice_lines_budget_line_fkey foreign key (org_id, budget_line_id)
    references showtree.budget_lines (org_id, id) on delete set null (budget_line_id),
  constraint invoice_lines_description_check check (length(description) between 1 and 2000),
  constraint invoice_lines_quantity_check check (quantity > 0),
  constraint invoice_lines_unit_amount_minor_check check (unit_amount_minor >= 0),
  constraint invoice_lines_metadata_check check (jsonb_typeof(metadata) = 'object')
);
create index invoice_lines_invoice_id_idx on showtree.invoice_lines (org_id, invoice_id, id);
create index invoice_lines_budget_line_id_idx on showtree.invoice_lines (org_id, budget_line_id);

-- An invoice's total: derived from its live lines, never typed twice.
create function showtree.invoice_total_minor(p_org_id uuid, p_invoice_id uuid) returns bigint
language sql stable
as $$
  select coalesce(sum(round(l.quantity * l.unit_amount_minor)), 0)::bigint
    from showtree.invoice_lines l
   where l.org_id = p_org_id and l.invoice_id = p_invoice_id and l.deleted_at is null
$$;

-- ---------------------------------------------------------------- assets
create table showtree.assets (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  -- org-level inventory: owned by the organization's root node
  node_id uuid not null,
  name text not null,
  category text not null default '',
  serial text,
  status showtree.entity_status not null default 'active',
  search tsvector generated always as (
    to_tsvector('english'::regconfig, name || ' ' || category || ' ' || coalesce(serial, ''))) stored,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint assets_pkey primary key (org_id, id),
  constraint assets_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint assets_node_org_check check (node_id = org_id),
  constraint assets_name_check check (length(name) between 1 and 200 and name = btrim(name)),
  constraint assets_category_check check (length(category) <= 100),
  constraint assets_serial_check check (length(serial) between 1 and 100),
  constraint assets_metadata_check check (jsonb_typeof(metadata) = 'object')
);
create index assets_node_id_idx on showtree.assets (org_id, node_id);
create unique index assets_serial_key on showtree.assets (org_id, serial) where deleted_at is null;
create index assets_search_idx on showtree.assets using gin (search);

create table showtree.asset_assignments (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  asset_id uuid not null,
  -- where the asset is: the node this assignment belongs to
  node_id uuid not null,
  starts_at timestamptz not null,
  -- open-ended when null
  ends_at timestamptz,
  notes text not null default '',
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint asset_assignments_pkey primary key (org_id, id),
  constraint asset_assignments_asset_fkey foreign key (org_id, asset_id)
    references showtree.assets (org_id, id) on delete restrict,
  constraint asset_assignments_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint asset_assignments_ends_at_check check (ends_at > starts_at),
  constraint asset_assignments_notes_check check (length(notes) <= 2000),
  constraint asset_assignments_metadata_check check (jsonb_typeof(metadata) = 'object'),
  -- one asset is in one place at a time
  constraint asset_assignments_overlap_excl exclude using gist (
    org_id with =, asset_id with =, tstzrange(starts_at, ends_at, '[)') with &&)
    where (deleted_at is null)
);
create index asset_assignments_asset_id_idx on showtree.asset_assignments (org_id, asset_id);
create index asset_assignments_node_id_idx on showtree.asset_assignments (org_id, node_id, id);

-- -------------------------------------------------------- schedule items
create table showtree.schedule_items (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  node_id uuid not null,
  title text not null,
  item_type showtree.schedule_item_type not null default 'other',
  -- a space within the node ('' = the node as a whole)
  location text not null default '',
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  status showtree.entity_status not null default 'planning',
  description text not null default '',
  search tsvector generated always as (
    to_tsvector('english'::regconfig, title || ' ' || location || ' ' || description)) stored,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint schedule_items_pkey primary key (org_id, id),
  constraint schedule_items_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint schedule_items_title_check check (length(title) between 1 and 300 and title = btrim(title)),
  constraint schedule_items_location_check check (length(location) <= 200 and location = btrim(location)),
  constraint schedule_items_ends_at_check check (ends_at > starts_at),
  constraint schedule_items_description_check check (length(description) <= 5000),
  constraint schedule_items_metadata_check check (jsonb_typeof(metadata) = 'object')
);
create index schedule_items_node_id_idx on showtree.schedule_items (org_id, node_id, id);
-- overlap lookups: same node and location, by time
create index schedule_items_slot_idx on showtree.schedule_items (org_id, node_id, location, starts_at)
  where deleted_at is null;
create index schedule_items_search_idx on showtree.schedule_items using gin (search);

-- Whether overlapping items in one location are forbidden at a node: its
-- own setting or an ancestor's (settings.schedule.forbid_overlap).
create function private.schedule_overlap_forbidden(p_org_id uuid, p_node_id uuid) returns boolean
language sql stable security definer
set search_path = ''
as $$
  select coalesce(bool_or((a.settings -> 'schedule' ->> 'forbid_overlap')::boolean), false)
    from showtree.nodes n
    join showtree.nodes a on a.org_id = n.org_id and a.id = any (n.ancestors || n.id)
   where n.org_id = p_org_id and n.id = p_node_id
     and jsonb_typeof(a.settings -> 'schedule' -> 'forbid_overlap') = 'boolean'
$$;

-- Refuses an overlapping item where the node forbids overlaps. Writers of
-- one (node, location) take a transaction lock first, so two concurrent
-- inserts cannot both miss each other.
create function private.schedule_items_check_overlap() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.deleted_at is not null or not private.schedule_overlap_forbidden(new.org_id, new.node_id) then
    return new;
  end if;
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended(new.org_id::text || new.node_id::text || new.location, 6));
  if exists (select from showtree.schedule_items s
              where s.org_id = new.org_id and s.node_id = new.node_id and s.location = new.location
                and s.id <> new.id and s.deleted_at is null
                and s.starts_at < new.ends_at and new.starts_at < s.ends_at) then
    raise exception 'this slot overlaps another item in the same location'
      using errcode = 'exclusion_violation', constraint = 'schedule_items_overlap_excl',
            schema = 'showtree', table = 'schedule_items';
  end if;
  return new;
end
$$;
create trigger schedule_items_check_overlap
  before insert or update of node_id, location, starts_at, ends_at, deleted_at on showtree.schedule_items
  for each row execute function private.schedule_items_check_overlap();

-- ---------------------------------------------------------------- people
create table showtree.people (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  -- org-level reference data: owned by the organization's root node
  node_id uuid not null,
  name text not null,
  kind showtree.person_kind not null default 'crew',
  email text,
  phone text,
  -- the person's login, when they have one
  user_id uuid,
  -- the company a vendor's staff member works for
  vendor_id uuid,
  search tsvector generated always as (
    to_tsvector('simple'::regconfig, name || ' ' || coalesce(email, ''))) stored,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint people_pkey primary key (org_id, id),
  constraint people_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint people_user_id_fkey foreign key (user_id)
    references auth.users (id) on delete set null,
  constraint people_vendor_fkey foreign key (org_id, vendor_id)
    references showtree.vendors (org_id, id) on delete set null (vendor_id),
  constraint people_node_org_check check (node_id = org_id),
  constraint people_name_check check (length(name) between 1 and 200 and name = btrim(name)),
  constraint people_email_check check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' and length(email) <= 320),
  constraint people_phone_check check (length(phone) between 1 and 50),
  constraint people_metadata_check check (jsonb_typeof(metadata) = 'object')
);
create index people_node_id_idx on showtree.people (org_id, node_id);
create index people_user_id_idx on showtree.people (user_id);
create index people_vendor_id_idx on showtree.people (org_id, vendor_id);
create unique index people_user_key on showtree.people (org_id, user_id) where deleted_at is null;
create index people_search_idx on showtree.people using gin (search);

create table showtree.crew_assignments (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  node_id uuid not null,
  person_id uuid not null,
  role text not null,
  call_at timestamptz,
  wrap_at timestamptz,
  status showtree.entity_status not null default 'planning',
  -- finance only: read masked and written only with the finance capability
  rate_amount_minor bigint,
  currency char(3),
  rate_unit showtree.rate_unit,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint crew_assignments_pkey primary key (org_id, id),
  constraint crew_assignments_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint crew_assignments_person_fkey foreign key (org_id, person_id)
    references showtree.people (org_id, id) on delete restrict,
  constraint crew_assignments_role_check check (length(role) between 1 and 100 and role = btrim(role)),
  constraint crew_assignments_wrap_at_check check (wrap_at > call_at),
  constraint crew_assignments_rate_check check (
    (rate_amount_minor is null) = (currency is null) and (rate_amount_minor is null) = (rate_unit is null)),
  constraint crew_assignments_rate_amount_minor_check check (rate_amount_minor >= 0),
  constraint crew_assignments_currency_check check (currency is null or private.currency_minor_unit(currency) is not null),
  constraint crew_assignments_metadata_check check (jsonb_typeof(metadata) = 'object')
);
create index crew_assignments_node_id_idx on showtree.crew_assignments (org_id, node_id, id);
create index crew_assignments_person_id_idx on showtree.crew_assignments (org_id, person_id);

-- A crew member's rate is money: only the finance capability at the node
-- sets or changes it.
create function private.crew_assignments_check_rate() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user = 'authenticated'
     and (case when tg_op = 'INSERT' then new.rate_amount_minor is not null
               else (new.rate_amount_minor, new.currency, new.rate_unit)
                    is distinct from (old.rate_amount_minor, old.currency, old.rate_unit) end)
     and not private.has_capability(new.org_id, new.node_id, 'finance') then
    raise exception 'setting a rate needs the finance capability'
      using errcode = 'insufficient_privilege', constraint = 'crew_assignments_rate_finance',
            schema = 'showtree', table = 'crew_assignments';
  end if;
  return new;
end
$$;
create trigger crew_assignments_check_rate
  before insert or update on showtree.crew_assignments
  for each row execute function private.crew_assignments_check_rate();

-- ------------------------------------------------------------- documents
create table showtree.documents (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  node_id uuid not null,
  -- every version of one document shares the first version's id
  series_id uuid not null,
  version integer not null default 1,
  title text not null,
  kind showtree.document_kind not null default 'other',
  status showtree.entity_status not null default 'active',
  storage_key text not null,
  content_type text not null,
  size_bytes bigint not null,
  checksum text not null,
  search tsvector generated always as (to_tsvector('english'::regconfig, title)) stored,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint documents_pkey primary key (org_id, id),
  constraint documents_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint documents_series_fkey foreign key (org_id, series_id)
    references showtree.documents (org_id, id) on delete cascade,
  constraint documents_version_check check (version >= 1 and (version = 1) = (series_id = id)),
  constraint documents_title_check check (length(title) between 1 and 300 and title = btrim(title)),
  constraint documents_storage_key_check check (length(storage_key) between 1 and 1024),
  constraint documents_content_type_check check (content_type ~ '^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$' and length(content_type) <= 255),
  constraint documents_size_bytes_check check (size_bytes >= 0),
  constraint documents_checksum_check check (checksum ~ '^sha256:[0-9a-f]{64}$'),
  constraint documents_metadata_check check (jsonb_typeof(metadata) = 'object')
);
-- a first version is its own series
create function private.documents_series() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.series_id := coalesce(new.series_id, new.id);
  return new;
end
$$;
create trigger documents_series before insert on showtree.documents
  for each row execute function private.documents_series();

create index documents_node_id_idx on showtree.documents (org_id, node_id, id);
create unique index documents_series_version_key on showtree.documents (org_id, series_id, version);
create index documents_search_idx on showtree.documents using gin (search);

-- ------------------------------------------------------------------ tags
create table showtree.tags (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  -- org-level reference data: owned by the organization's root node
  node_id uuid not null,
  name text not null,
  color text,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint tags_pkey primary key (org_id, id),
  constraint tags_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint tags_node_org_check check (node_id = org_id),
  constraint tags_name_check check (length(name) between 1 and 60 and name = btrim(name)),
  constraint tags_color_check check (color ~ '^#[0-9a-f]{6}$'),
  constraint tags_metadata_check check (jsonb_typeof(metadata) = 'object')
);
create index tags_node_id_idx on showtree.tags (org_id, node_id);
create unique index tags_name_key on showtree.tags (org_id, lower(name)) where deleted_at is null;

-- Tag links: one table per tagged table, real composite keys both sides.
do $migration$
declare
  link record;
begin
  for link in select * from (values
      ('task_tags', 'tasks', 'task_id', 'task'),
      ('invoice_tags', 'invoices', 'invoice_id', 'invoice'),
      ('asset_tags', 'assets', 'asset_id', 'asset'),
      ('person_tags', 'people', 'person_id', 'person'),
      ('document_tags', 'documents', 'document_id', 'document')) v(name, target, col, singular)
  loop
    execute format($ddl$
      create table showtree.%1$I (
        org_id uuid not null,
        id uuid not null default private.uuid_generate_v7(),
        %3$I uuid not null,
        tag_id uuid not null,
        metadata jsonb not null default '{}',
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        deleted_at timestamptz,
        created_by uuid,
        updated_by uuid,
        deleted_by uuid,
        constraint %7$I primary key (org_id, id),
        constraint %4$I foreign key (org_id, %3$I)
          references showtree.%2$I (org_id, id) on delete cascade,
        constraint %5$I foreign key (org_id, tag_id)
          references showtree.tags (org_id, id) on delete cascade,
        constraint %6$I check (jsonb_typeof(metadata) = 'object')
      )$ddl$,
      link.name, link.target, link.col,
      link.name || '_' || link.singular || '_fkey', link.name || '_tag_fkey',
      link.name || '_metadata_check', link.name || '_pkey');
    execute format('create unique index %I on showtree.%I (org_id, %I, tag_id) where deleted_at is null',
                   link.name || '_key', link.name, link.col);
    execute format('create index %I on showtree.%I (org_id, %I)', link.name || '_' || link.col || '_idx', link.name, link.col);
    execute format('create index %I on showtree.%I (org_id, tag_id)', link.name || '_tag_id_idx', link.name);
    execute format('comment on table showtree.%I is %L', link.name,
                   'tags of ' || link.target || '; owned through the tagged row');
  end loop;
end
$migration$;

-- ------------------------------------------- conventions on every table
do $migration$
declare
  t record;
begin
  for t in select * from (values
      -- table, has status, node source for audit, audit visibility, hidden columns
      ('tasks', true, '', '', ''),
      ('budget_lines', false, '', 'finance', ''),
      ('vendors', false, '', '', ''),
      ('invoices', true, '', 'finance', ''),
      ('invoice_lines', false, 'invoices.invoice_id', 'finance', ''),
      ('assets', true, '', '', ''),
      ('asset_assignments', false, '', '', ''),
      ('schedule_items', true, '', '', ''),
      ('people', false, '', '', ''),
      ('crew_assignments', true, '', '', '{rate_amount_minor,currency,rate_unit}'),
      ('documents', true, '', '', ''),
      ('tags', false, '', '', ''),
      ('task_tags', false, 'tasks.task_id', '', ''),
      ('invoice_tags', false, 'invoices.invoice_id', 'finance', ''),
      ('asset_tags', false, 'assets.asset_id', '', ''),
      ('person_tags', false, 'people.person_id', '', ''),
      ('document_tags', false, 'documents.document_id', '', '')) v(name, has_status, node_source, visibility, hidden)
  loop
    execute format('alter table showtree.%1$I add constraint %2$I foreign key (created_by) references auth.users (id) on delete set null',
                   t.name, t.name || '_created_by_fkey');
    execute format('alter table showtree.%1$I add constraint %2$I foreign key (updated_by) references auth.users (id) on delete set null',
                   t.name, t.name || '_updated_by_fkey');
    execute format('alter table showtree.%1$I add constraint %2$I foreign key (deleted_by) references auth.users (id) on delete set null',
                   t.name, t.name || '_deleted_by_fkey');
    -- `/v1/<collection>/{id}` names a row by id alone (v7 ids are unique)
    execute format('create unique index %I on showtree.%I (id)', t.name || '_id_key', t.name);
    execute format('create index %I on showtree.%I (created_by)', t.name || '_created_by_idx', t.name);
    execute format('create index %I on showtree.%I (updated_by)', t.name || '_updated_by_idx', t.name);
    execute format('create index %I on showtree.%I (deleted_by)', t.name || '_deleted_by_idx', t.name);
    execute format('create trigger %I before update on showtree.%I for each row execute function private.set_updated_at()',
                   t.name || '_set_updated_at', t.name);
    execute format('create trigger %I before insert or update on showtree.%I for each row execute function private.set_actor()',
                   t.name || '_set_actor', t.name);
    if t.has_status then
      execute format('create trigger %I before update of status on showtree.%I for each row execute function private.enforce_status_transition()',
                     t.name || '_status_transition', t.name);
    end if;
    execute format('create trigger %I after insert or update or delete on showtree.%I for each row execute function private.audit_row(%L, %L, %L)',
                   t.name || '_audit', t.name, t.node_source, t.visibility, t.hidden);
    execute format('alter table showtree.%I enable row level security', t.name);
    execute format('alter table showtree.%I force row level security', t.name);
  end loop;
end
$migration$;

-- ------------------------------------------------------------------ RLS
-- Policy expressions, by what they ask:
--  * can(T, cap): the caller holds `cap` at T's node (org admins and owners
--    everywhere in their organizations; otherwise an unblocked grant on the
--    node's path). Reading rides on nodes' own policy inside `exists`.
--  * member(T, cap): org-level reference data: any grant in T's
--    organization carrying `cap` (reading: any grant at all).
--  * through(T, parent, col): a child row is visible and writable exactly
--    when its parent row is visible (the parent's policy decides).
create function private.policy_can(p_alias text, p_capability text) returns text
language sql immutable
set search_path = ''
as $$
  select case when p_capability = 'read' then pg_catalog.format(
    '(%1$s.org_id = any ((select private.admin_orgs())::uuid[]) '
    'or exists (select from showtree.nodes n where n.org_id = %1$s.org_id and n.id = %1$s.node_id))', p_alias)
  else pg_catalog.format(
    '(%1$s.org_id = any ((select private.admin_orgs())::uuid[]) '
    'or exists (select from showtree.nodes n where n.org_id = %1$s.org_id and n.id = %1$s.node_id '
    'and (n.ancestors || n.id) && (select private.access_roots(%2$L))::uuid[] '
    'and (not ((n.ancestors || n.id) && (select private.restricted_nodes())::uuid[]) '
    'or private.path_allows((n.ancestors || n.id), (select private.access_roots(%2$L))::uuid[], '
    '(select private.restricted_nodes())::uuid[]))))', p_alias, p_capability)
  end
$$;

create function private.policy_member(p_alias text, p_capability text) returns text
language sql immutable
set search_path = ''
as $$
  select pg_catalog.format(
    '(%1$s.org_id = any ((select private.admin_orgs())::uuid[]) '
    'or exists (select from showtree.grants g where g.user_id = (select auth.uid()) '
    'and g.org_id = %1$s.org_id and g.deleted_at is null%2$s))',
    p_alias,
    case when p_capability = 'read' then ''
         else pg_catalog.format(' and private.role_has(g.role, %L)', p_capability) end)
$$;

do $migration$
declare
  t record;
  readable text;
  writable text;
begin
  for t in select * from (values
      ('tasks', 'can', 'read', 'write', null, null),
      ('schedule_items', 'can', 'read', 'write', null, null),
      ('documents', 'can', 'read', 'write', null, null),
      ('crew_assignments', 'can', 'read', 'write', null, null),
      ('asset_assignments', 'can', 'read', 'write', null, null),
      ('budget_lines', 'can', 'finance', 'finance', null, null),
      ('invoices', 'can', 'finance', 'finance', null, null),
      ('vendors', 'member', 'read', 'finance', null, null),
      ('people', 'member', 'read', 'write', null, null),
      ('assets', 'member', 'read', 'write', null, null),
      ('tags', 'member', 'read', 'write', null, null),
      ('invoice_lines', 'through', null, null, 'invoices', 'invoice_id'),
      ('task_tags', 'through', null, null, 'tasks', 'task_id'),
      ('invoice_tags', 'through', null, null, 'invoices', 'invoice_id'),
      ('asset_tags', 'through', null, null, 'assets', 'asset_id'),
      ('person_tags', 'through', null, null, 'people', 'person_id'),
      ('document_tags', 'through', null, null, 'documents', 'document_id'))
      v(name, kind, read_cap, write_cap, parent, col)
  loop
    if t.kind = 'can' then
      readable := private.policy_can(t.name, t.read_cap);
      writable := private.policy_can(t.name, t.write_cap);
    elsif t.kind = 'member' then
      readable := private.policy_member(t.name, t.read_cap);
      writable := private.policy_member(t.name, t.write_cap);
    else
      -- the parent's select policy applies inside exists; writing a child
      -- needs what writing the parent needs
      readable := format('exists (select from showtree.%1$I p where p.org_id = %2$I.org_id and p.id = %2$I.%3$I)',
                         t.parent, t.name, t.col);
      writable := format('exists (select from showtree.%1$I p where p.org_id = %2$I.org_id and p.id = %2$I.%3$I and %4$s)',
                         t.parent, t.name, t.col,
                         case t.parent
                           when 'invoices' then private.policy_can('p', 'finance')
                           when 'tasks' then private.policy_can('p', 'write')
                           when 'documents' then private.policy_can('p', 'write')
                           else private.policy_member('p', 'write') end);
    end if;
    execute format('create policy %I on showtree.%I for select to authenticated using (%s)',
                   t.name || '_select', t.name, readable);
    execute format('create policy %I on showtree.%I for insert to authenticated with check (%s)',
                   t.name || '_insert', t.name, writable);
    execute format('create policy %I on showtree.%I for update to authenticated using (%s) with check (%s)',
                   t.name || '_update', t.name, writable, writable);
    execute format('grant select, insert, update on showtree.%I to authenticated', t.name);
  end loop;
end
$migration$;

-- Audit events of money (budget lines, invoices, their lines and tags) are
-- read only with the finance capability at their node.
alter policy audit_events_select on showtree.audit_events
  using (org_id = any ((select private.admin_orgs())::uuid[])
         or exists (select from showtree.nodes n where n.org_id = audit_events.org_id and n.id = audit_events.node_id
                     and (not (audit_events.metadata ? 'capability')
                          or ((n.ancestors || n.id) && (select private.access_roots('finance'))::uuid[]
                              and (not ((n.ancestors || n.id) && (select private.restricted_nodes())::uuid[])
                                   or private.path_allows((n.ancestors || n.id), (select private.access_roots('finance'))::uuid[],
                                                          (select private.restricted_nodes())::uuid[]))))));

-- Where a row is: its organization and owning node (a child row's is its
-- parent's), whether or not the caller may read it. The service uses it to
-- answer 403 (the caller reads the node but lacks the capability) rather
-- than 404 (cannot read the node) for rows its policies hide; it tells
-- nothing to a caller who cannot read the node.
create function private.locate_row(p_table text, p_id uuid)
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

-- Deletes an organization for good, with everything in it. Rows that
-- protect what they reference (`on delete restrict`: an invoice its vendor,
-- an assignment its asset or person) go first, so the cascade from the
-- root never meets one still pointing at a row it is deleting.
create function private.purge_organization(p_org_id uuid) returns boolean
language plpgsql
set search_path = ''
as $$
begin
  delete from showtree.invoices where org_id = p_org_id;
  delete from showtree.asset_assignments where org_id = p_org_id;
  delete from showtree.crew_assignments where org_id = p_org_id;
  delete from showtree.nodes where org_id = p_org_id and id = p_org_id;
  return found;
end
$$;

-- --------------------------------------------------------------- search
-- Full-text search over the live subtree of a node: what the caller may
-- read (every table's policy applies), ranked.
create function showtree.search_subtree(p_org_id uuid, p_node_id uuid, p_query text, p_limit integer)
returns table (kind text, id uuid, node_id uuid, title text, rank real)
language sql stable
as $$
  with q as (select websearch_to_tsquery('english'::regconfig, p_query) as q),
  sub as (
    select n.id from showtree.nodes n
     where n.org_id = p_org_id and (n.ancestors || n.id) @> array[p_node_id] and n.deleted_at is null
  ),
  hits as (
    select 'node'::text, n.id, n.id, n.name,
           ts_rank(to_tsvector('english'::regconfig, n.name), q.q)
      from showtree.nodes n, q
     where n.org_id = p_org_id and (n.ancestors || n.id) @> array[p_node_id] and n.deleted_at is null
       and to_tsvector('english'::regconfig, n.name) @@ q.q
    union all
    select 'task', t.id, t.node_id, t.title, ts_rank(t.search, q.q)
      from showtree.tasks t, q where t.org_id = p_org_id and t.deleted_at is null
       and t.node_id in (select id from sub) and t.search @@ q.q
    union all
    select 'schedule_item', s.id, s.node_id, s.title, ts_rank(s.search, q.q)
      from showtree.schedule_items s, q where s.org_id = p_org_id and s.deleted_at is null
       and s.node_id in (select id from sub) and s.search @@ q.q
    union all
    select 'document', d.id, d.node_id, d.title, ts_rank(d.search, q.q)
      from showtree.documents d, q where d.org_id = p_org_id and d.deleted_at is null
       and d.node_id in (select id from sub) and d.search @@ q.q
    union all
    select 'budget_line', b.id, b.node_id, b.category, ts_rank(b.search, q.q)
      from showtree.budget_lines b, q where b.org_id = p_org_id and b.deleted_at is null
       and b.node_id in (select id from sub) and b.search @@ q.q
    union all
    select 'invoice', i.id, i.node_id, i.number, ts_rank(i.search, q.q)
      from showtree.invoices i, q where i.org_id = p_org_id and i.deleted_at is null
       and i.node_id in (select id from sub) and i.search @@ q.q
  )
  select * from hits order by 5 desc, 2 limit p_limit
$$;

revoke execute on all functions in schema private from public;
revoke execute on all functions in schema showtree from public;
grant execute on function
  private.currency_minor_unit(text),
  private.locate_row(text, uuid),
  private.schedule_overlap_forbidden(uuid, uuid),
  showtree.invoice_total_minor(uuid, uuid),
  showtree.search_subtree(uuid, uuid, text, integer)
  to authenticated;
