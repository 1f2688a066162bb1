-- The old, flat layout `showtree import` supports (STRATEGY.md, "Current
-- State Analysis"): organizations, workspaces as isolated containers,
-- productions with no hierarchy, every table carrying copies of
-- `organization_id`, `workspace_id` and often `production_id`, per-table
-- status words, `custom_fields` / `config` json and timestamps without
-- time zone. `showtree demo --legacy`, the tests and `showtree bench
-- import` create exactly this; docs/IMPORT.md maps it to showtree.

create table organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  slug text,
  plan text not null default 'standard',
  config jsonb,
  created_at timestamp not null default now(),
  updated_at timestamp not null default now()
);

create table users (
  id uuid primary key default gen_random_uuid(),
  email text not null unique,
  full_name text not null default '',
  created_at timestamp not null default now()
);

create table workspaces (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  name text not null,
  settings jsonb,
  created_at timestamp not null default now(),
  updated_at timestamp not null default now()
);
create index workspaces_organization_id_idx on workspaces (organization_id);

-- a workspace contains productions
create table productions (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id uuid not null references workspaces (id) on delete cascade,
  name text not null,
  -- planning, active, completed, cancelled
  status text not null default 'planning',
  starts_on date,
  ends_on date,
  venue text,
  config jsonb,
  created_at timestamp not null default now(),
  updated_at timestamp not null default now()
);
create index productions_workspace_id_idx on productions (workspace_id);

create table vendors (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  name text not null,
  email text,
  phone text,
  created_at timestamp not null default now()
);
create index vendors_organization_id_idx on vendors (organization_id);

create table tasks (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id uuid references workspaces (id) on delete cascade,
  production_id uuid references productions (id) on delete cascade,
  title text not null,
  description text,
  -- todo, in_progress, done
  status text not null default 'todo',
  priority text not null default 'medium',
  assignee_id uuid references users (id) on delete set null,
  due_at timestamp,
  custom_fields jsonb,
  created_at timestamp not null default now(),
  updated_at timestamp not null default now()
);
create index tasks_production_id_idx on tasks (production_id);
create index tasks_workspace_id_idx on tasks (workspace_id);

create table budgets (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id uuid references workspaces (id) on delete cascade,
  production_id uuid references productions (id) on delete cascade,
  category text not null,
  description text,
  amount numeric(14, 2) not null,
  currency char(3) not null default 'USD',
  custom_fields jsonb,
  created_at timestamp not null default now(),
  updated_at timestamp not null default now()
);
create index budgets_production_id_idx on budgets (production_id);

create table invoices (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id uuid not null references workspaces (id) on delete cascade,
  production_id uuid references productions (id) on delete cascade,
  vendor_id uuid not null references vendors (id),
  number text not null,
  amount numeric(14, 2) not null,
  currency char(3) not null default 'USD',
  -- draft, sent, paid, void
  status text not null default 'draft',
  issued_on date not null,
  due_on date,
  custom_fields jsonb,
  created_at timestamp not null default now(),
  updated_at timestamp not null default now()
);
create index invoices_production_id_idx on invoices (production_id);
create index invoices_vendor_id_idx on invoices (vendor_id);

create table assets (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id uuid references workspaces (id) on delete cascade,
  production_id uuid references productions (id) on delete cascade,
  name text not null,
  category text,
  serial text,
  -- available, in_use, retired
  status text not null default 'available',
  custom_fields jsonb,
  purchased_at timestamp,
  created_at timestamp not null default now(),
  updated_at timestamp not null default now()
);
create index assets_production_id_idx on assets (production_id);

-- the schedule
create table events (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id uuid references workspaces (id) on delete cascade,
  production_id uuid references productions (id) on delete cascade,
  name text not null,
  kind text not null default 'other',
  location text,
  -- draft, published, cancelled
  status text not null default 'draft',
  starts_at timestamp not null,
  ends_at timestamp not null,
  custom_fields jsonb,
  created_at timestamp not null default now(),
  updated_at timestamp not null default now()
);
create index events_production_id_idx on events (production_id);

create table crew (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id uuid references workspaces (id) on delete cascade,
  production_id uuid references productions (id) on delete cascade,
  name text not null,
  email text,
  phone text,
  role text not null,
  -- invited, confirmed, cancelled
  status text not null default 'invited',
  call_time timestamp,
  wrap_time timestamp,
  day_rate numeric(10, 2),
  currency char(3),
  custom_fields jsonb,
  created_at timestamp not null default now(),
  updated_at timestamp not null default now()
);
create index crew_production_id_idx on crew (production_id);
