-- The small named example `showtree demo --legacy` loads into the flat
-- layout (legacy_layout.sql): one organization, two workspaces holding
-- four productions, and a little of everything in the old tables.

insert into organizations (name, slug, plan, config, created_at, updated_at) values
  ('Insomniac', 'insomniac', 'pro', '{"brand": "Insomniac Events", "fiscal_year_start": 1}', '2019-01-07 09:00', '2025-01-06 10:00');

insert into users (email, full_name, created_at) values
  ('pasquale@insomniac.example', 'Pasquale Rotella', '2019-01-07 09:05'),
  ('ops@insomniac.example', 'Site Operations Lead', '2020-03-02 10:00'),
  ('finance@insomniac.example', 'Finance Desk', '2020-03-02 10:05');

insert into workspaces (organization_id, name, settings, created_at, updated_at)
select o.id, w.name, w.settings::jsonb, '2019-02-01 09:00', '2024-12-01 09:00'
  from organizations o,
       (values ('Festivals', '{"color": "#ff00aa"}'), ('Club Nights', null)) w(name, settings)
 where o.slug = 'insomniac';

insert into productions (organization_id, workspace_id, name, status, starts_on, ends_on, venue, config, created_at, updated_at)
select w.organization_id, w.id, p.name, p.status, p.starts_on::date, p.ends_on::date, p.venue, p.config::jsonb,
       '2024-06-01 09:00', '2025-01-06 09:00'
  from workspaces w
  join (values
    ('Festivals', 'EDC Las Vegas', 'active', '2025-05-16', '2025-05-18', 'Las Vegas Motor Speedway', '{"capacity": 185000}'),
    ('Festivals', 'EDC Orlando', 'planning', '2025-11-07', '2025-11-09', 'Tinker Field', '{"capacity": 60000}'),
    ('Festivals', 'Beyond Wonderland SoCal', 'completed', '2025-03-21', '2025-03-22', 'NOS Events Center', null),
    ('Club Nights', 'Factory 93 Halloween', 'planning', '2025-10-31', '2025-11-01', 'Factory 93', null)
  ) p(workspace, name, status, starts_on, ends_on, venue, config) on p.workspace = w.name;

insert into vendors (organization_id, name, email, phone, created_at)
select o.id, v.name, v.email, v.phone, '2020-01-10 09:00'
  from organizations o,
       (values ('Clair Global', 'billing@clair.example', '+1 717 665 4000'),
               ('PRG', 'ar@prg.example', null)) v(name, email, phone);

insert into tasks (organization_id, workspace_id, production_id, title, description, status, priority, assignee_id, due_at, custom_fields, created_at, updated_at)
select p.organization_id, p.workspace_id, p.id, t.title, t.description, t.status, t.priority,
       (select id from users where email = t.assignee), t.due_at::timestamp, t.custom_fields::jsonb,
       '2025-01-06 09:00', '2025-01-06 09:30'
  from productions p
  join (values
    ('EDC Las Vegas', 'Confirm Kinetic Field stage build', 'Steel on site by May 1', 'in_progress', 'high', 'ops@insomniac.example', '2025-04-20 17:00', '{"ticket": "OPS-101"}'),
    ('EDC Las Vegas', 'Book medical tents', null, 'todo', 'urgent', 'ops@insomniac.example', '2025-04-01 12:00', null),
    ('EDC Las Vegas', 'Sign sound contract', null, 'done', 'medium', 'finance@insomniac.example', null, null),
    ('EDC Orlando', 'Site visit at Tinker Field', null, 'todo', 'medium', null, '2025-08-15 10:00', null),
    ('Factory 93 Halloween', 'Costume contest judges', null, 'todo', 'low', null, null, '{"theme": "neon"}')
  ) t(production, title, description, status, priority, assignee, due_at, custom_fields) on t.production = p.name;

-- an organization-wide task: it names no workspace and no production
insert into tasks (organization_id, title, status, priority, created_at, updated_at)
select id, 'Renew event insurance', 'in_progress', 'high', '2025-01-02 09:00', '2025-01-03 09:00' from organizations;

insert into budgets (organization_id, workspace_id, production_id, category, description, amount, currency, created_at, updated_at)
select p.organization_id, p.workspace_id, p.id, b.category, b.description, b.amount, 'USD', '2025-01-06 09:00', '2025-01-06 09:00'
  from productions p
  join (values ('EDC Las Vegas', 'Sound', 'Main stages PA', 1250000.00),
               ('EDC Las Vegas', 'Security', null, 480000.50),
               ('EDC Orlando', 'Sound', null, 310000.00)) b(production, category, description, amount)
    on b.production = p.name;

insert into invoices (organization_id, workspace_id, production_id, vendor_id, number, amount, currency, status, issued_on, due_on, created_at, updated_at)
select p.organization_id, p.workspace_id, p.id, v.id, i.number, i.amount, 'USD', i.status, i.issued_on::date, i.due_on::date,
       '2025-01-06 09:00', '2025-01-06 09:00'
  from productions p
  join (values ('EDC Las Vegas', 'Clair Global', 'CG-2025-001', 412500.00, 'sent', '2025-01-05', '2025-02-04'),
               ('EDC Las Vegas', 'PRG', 'PRG-88341', 98000.00, 'paid', '2024-12-15', '2025-01-14'),
               ('Beyond Wonderland SoCal', 'Clair Global', 'CG-2025-002', 150000.00, 'draft', '2025-01-06', null))
       i(production, vendor, number, amount, status, issued_on, due_on) on i.production = p.name
  join vendors v on v.name = i.vendor;

insert into assets (organization_id, workspace_id, production_id, name, category, serial, status, purchased_at, created_at, updated_at)
select o.id, p.workspace_id, p.id, a.name, a.category, a.serial, a.status, '2023-03-01 10:00', '2023-03-01 10:00', '2025-01-06 09:00'
  from organizations o
  left join productions p on p.name = 'EDC Las Vegas'
  cross join (values ('L-Acoustics K2 array', 'audio', 'K2-0001', 'in_use'),
                     ('DiGiCo SD7', 'audio', 'SD7-0042', 'in_use')) a(name, category, serial, status);
insert into assets (organization_id, name, category, serial, status, created_at, updated_at)
select id, 'Spare generator 500 kVA', 'power', 'GEN-500-7', 'available', '2022-08-01 10:00', '2024-08-01 10:00' from organizations;

insert into events (organization_id, workspace_id, production_id, name, kind, location, status, starts_at, ends_at, created_at, updated_at)
select p.organization_id, p.workspace_id, p.id, e.name, e.kind, e.location, e.status, e.starts_at::timestamp, e.ends_at::timestamp,
       '2025-01-06 09:00', '2025-01-06 09:00'
  from productions p
  join (values ('EDC Las Vegas', 'Gates open', 'doors', 'Main gate', 'published', '2025-05-16 19:00', '2025-05-16 20:00'),
               ('EDC Las Vegas', 'Headliner', 'performance', 'Kinetic Field', 'published', '2025-05-17 02:30', '2025-05-17 04:00'),
               ('EDC Orlando', 'Production meeting', 'meeting', null, 'draft', '2025-10-01 10:00', '2025-10-01 11:00'))
       e(production, name, kind, location, status, starts_at, ends_at) on e.production = p.name;

insert into crew (organization_id, workspace_id, production_id, name, email, role, status, call_time, wrap_time, day_rate, currency, created_at, updated_at)
select p.organization_id, p.workspace_id, p.id, c.name, c.email, c.role, c.status, c.call_time::timestamp, c.wrap_time::timestamp,
       c.day_rate, c.currency, '2025-01-06 09:00', '2025-01-06 09:00'
  from productions p
  join (values ('EDC Las Vegas', 'Ana Rigger', 'ana@crew.example', 'Head rigger', 'confirmed', '2025-05-10 07:00', '2025-05-10 19:00', 650.00, 'USD'),
               ('EDC Las Vegas', 'Ben Runner', null, 'Runner', 'invited', null, null, null, null))
       c(production, name, email, role, status, call_time, wrap_time, day_rate, currency) on c.production = p.name;
