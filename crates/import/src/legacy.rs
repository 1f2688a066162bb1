//! The flat layout the import supports (`sql/legacy_layout.sql`), its
//! generator (used by the tests and `showtree bench import`) and the small
//! named example of `showtree demo --legacy`.

use tokio_postgres::GenericClient;

use crate::ImportError;

/// The legacy layout's DDL.
pub const LAYOUT: &str = include_str!("../sql/legacy_layout.sql");

/// The named example rows of `showtree demo --legacy`.
pub const EXAMPLE: &str = include_str!("../sql/legacy_example.sql");

/// How much to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Organizations.
    pub organizations: u32,
    /// Workspaces per organization.
    pub workspaces_per_org: u32,
    /// Productions per workspace.
    pub productions_per_workspace: u32,
    /// Domain rows per production (tasks, budgets, invoices, assets,
    /// events, crew), about.
    pub rows_per_production: u32,
    /// Users per organization.
    pub users_per_org: u32,
    /// Vendors per organization.
    pub vendors_per_org: u32,
}

impl Size {
    /// `bench generate --scale S` laid out flat: scale 1 is 1,000
    /// organizations, 50,000 productions and about 10 million domain rows.
    pub fn scale(s: f64) -> Size {
        Size {
            organizations: ((1000.0 * s).ceil() as u32).max(1),
            workspaces_per_org: 5,
            productions_per_workspace: 10,
            rows_per_production: 190,
            users_per_org: 20,
            vendors_per_org: 10,
        }
    }

    /// A few hundred rows: what the tests use.
    pub fn tiny() -> Size {
        Size {
            organizations: 2,
            workspaces_per_org: 2,
            productions_per_workspace: 2,
            rows_per_production: 20,
            users_per_org: 3,
            vendors_per_org: 2,
        }
    }

    /// Legacy rows this size generates.
    pub fn rows(&self) -> u64 {
        let o = u64::from(self.organizations);
        let w = o * u64::from(self.workspaces_per_org);
        let p = w * u64::from(self.productions_per_workspace);
        let per = self.per_production();
        o + w
            + p
            + o * u64::from(self.users_per_org + self.vendors_per_org)
            + p * u64::from(per.iter().sum::<u32>())
    }

    /// Tasks, budgets, invoices, assets, events, crew per production.
    fn per_production(&self) -> [u32; 6] {
        let r = self.rows_per_production;
        let part = |pct: u32| (r * pct / 100).max(1);
        [part(40), part(15), part(10), part(5), part(20), part(10)]
    }
}

/// Creates the legacy tables in the connection's current schema (`public`).
pub async fn create(c: &impl GenericClient) -> Result<(), ImportError> {
    c.batch_execute(LAYOUT)
        .await
        .map_err(ImportError::db("creating the legacy tables"))
}

/// Loads the named example (a few organizations, workspaces, productions).
pub async fn example(c: &impl GenericClient) -> Result<(), ImportError> {
    c.batch_execute(EXAMPLE)
        .await
        .map_err(ImportError::db("loading the legacy example"))
}

/// Fills the legacy tables with generated rows; returns how many.
pub async fn generate(c: &impl GenericClient, size: Size) -> Result<u64, ImportError> {
    let [tasks, budgets, invoices, assets, events, crew] = size.per_production();
    let sql = format!(
        r#"
create temp table gen_o on commit drop as
  select n, gen_random_uuid() as id from generate_series(1, {orgs}) n;
insert into organizations (id, name, slug, plan, config, created_at, updated_at)
  select id, 'Organization ' || n, 'org-' || n, (array['standard', 'pro'])[1 + n % 2],
         case when n % 3 = 0 then null else jsonb_build_object('tier', n % 4, 'region', (array['us', 'eu'])[1 + n % 2]) end,
         timestamp '2023-01-02 09:00' + n * interval '1 hour', timestamp '2024-06-03 10:00' + n * interval '1 minute'
    from gen_o;

create temp table gen_w on commit drop as
  select row_number() over (order by o.n, k) as n, gen_random_uuid() as id, o.id as org_id, o.n as org_n
    from gen_o o cross join generate_series(1, {wpo}) k;
insert into workspaces (id, organization_id, name, settings, created_at, updated_at)
  select id, org_id, (array['Main Stage', 'Site Operations', 'Production Office', 'Hospitality', 'Logistics', 'Artist Relations'])[1 + n % 6] || ' ' || n,
         case when n % 2 = 0 then jsonb_build_object('color', '#' || lpad(to_hex((n * 9973) % 16777216), 6, '0')) end,
         timestamp '2023-02-01 09:00' + n * interval '1 hour', timestamp '2024-06-04 10:00' + n * interval '1 minute'
    from gen_w;

create temp table gen_p on commit drop as
  select row_number() over (order by w.n, k) as n, gen_random_uuid() as id, w.id as ws_id, w.org_id, w.org_n
    from gen_w w cross join generate_series(1, {ppw}) k;
insert into productions (id, organization_id, workspace_id, name, status, starts_on, ends_on, venue, config, created_at, updated_at)
  select id, org_id, ws_id, (array['Festival', 'Tour', 'Club Night', 'Conference', 'Gala'])[1 + n % 5] || ' ' || n,
         (array['planning', 'active', 'completed', 'cancelled'])[1 + n % 4],
         date '2024-03-01' + (n % 500)::int, date '2024-03-01' + (n % 500)::int + (n % 4)::int,
         case when n % 3 <> 0 then 'Venue ' || (n % 40) end,
         case when n % 2 = 0 then jsonb_build_object('capacity', 1000 + n % 50000) end,
         timestamp '2023-03-01 09:00' + n * interval '1 minute', timestamp '2024-06-05 10:00' + n * interval '1 second'
    from gen_p;
create index on gen_p (n);

create temp table gen_u on commit drop as
  select n, gen_random_uuid() as id from generate_series(1, {users}) n;
insert into users (id, email, full_name, created_at)
  select id, 'user' || n || '@legacy.example', 'User ' || n, timestamp '2023-01-05 08:00' + n * interval '1 minute' from gen_u;

create temp table gen_v on commit drop as
  select o.n as org_n, k, gen_random_uuid() as id from gen_o o cross join generate_series(1, {vpo}) k;
insert into vendors (id, organization_id, name, email, phone, created_at)
  select v.id, o.id, 'Vendor ' || v.org_n || '-' || v.k, 'billing' || v.k || '@vendor' || v.org_n || '.example',
         case when v.k % 2 = 0 then '+1 555 01' || lpad(v.k::text, 2, '0') end,
         timestamp '2023-01-10 08:00' + v.k * interval '1 hour'
    from gen_v v join gen_o o on o.n = v.org_n;

-- every domain row: i numbers the rows of one production
insert into tasks (organization_id, workspace_id, production_id, title, description, status, priority, assignee_id, due_at, custom_fields, created_at, updated_at)
  select p.org_id,
         case when i % 20 in (0, 1) then null else p.ws_id end,
         case when i % 20 = 0 then null else p.id end,
         'Task ' || p.n || '.' || i, case when i % 4 = 0 then null else 'Do the thing number ' || i || ' for production ' || p.n end,
         (array['todo', 'in_progress', 'done'])[1 + (p.n + i) % 3],
         (array['low', 'medium', 'high', 'urgent'])[1 + i % 4],
         case when i % 5 = 0 then null else (select u.id from gen_u u where u.n = 1 + (p.n * 31 + i) % {users}) end,
         case when i % 3 = 0 then null else timestamp '2024-04-01 08:00' + ((p.n + i) % 400) * interval '1 day' + (i % 12) * interval '1 hour' end,
         case when i % 2 = 0 then jsonb_build_object('ref', 'T-' || p.n || '-' || i, 'points', i % 8) end,
         timestamp '2024-01-01 08:00' + ((p.n * 7 + i) % 300) * interval '1 day' + (i % 10) * interval '1 hour',
         timestamp '2024-09-01 08:00' + ((p.n + i) % 90) * interval '1 day' + (i % 10) * interval '1 hour'
    from gen_p p cross join generate_series(1, {tasks}) i;

insert into budgets (organization_id, workspace_id, production_id, category, description, amount, currency, custom_fields, created_at, updated_at)
  select p.org_id, p.ws_id, p.id, (array['Staging', 'Sound', 'Lighting', 'Security', 'Catering', 'Travel'])[1 + i % 6],
         case when i % 3 = 0 then null else 'Line ' || i end,
         ((p.n * 7919 + i * 104729) % 5000000) / 100.0, (array['USD', 'USD', 'EUR'])[1 + i % 3],
         case when i % 2 = 1 then jsonb_build_object('gl', 6000 + i) end,
         timestamp '2024-01-02 08:00' + (i % 200) * interval '1 day', timestamp '2024-09-02 08:00' + (i % 60) * interval '1 day'
    from gen_p p cross join generate_series(1, {budgets}) i;

insert into invoices (organization_id, workspace_id, production_id, vendor_id, number, amount, currency, status, issued_on, due_on, custom_fields, created_at, updated_at)
  select p.org_id, p.ws_id, case when i % 10 = 0 then null else p.id end,
         (select v.id from gen_v v where v.org_n = p.org_n and v.k = 1 + (p.n + i) % {vpo}),
         'INV-' || p.n || '-' || i, ((p.n * 104729 + i * 7919) % 2000000) / 100.0, (array['USD', 'EUR'])[1 + i % 2],
         (array['draft', 'sent', 'paid', 'void'])[1 + (p.n + i) % 4],
         date '2024-02-01' + ((p.n + i) % 300)::int, case when i % 4 <> 0 then date '2024-03-01' + ((p.n + i) % 300)::int end,
         case when i % 3 = 0 then jsonb_build_object('po', 'PO-' || i) end,
         timestamp '2024-02-01 09:00' + (i % 100) * interval '1 day', timestamp '2024-09-03 09:00' + (i % 30) * interval '1 day'
    from gen_p p cross join generate_series(1, {invoices}) i;
-- a workspace-level invoice needs a workspace holding one production: none here

insert into assets (organization_id, workspace_id, production_id, name, category, serial, status, custom_fields, purchased_at, created_at, updated_at)
  select p.org_id, case when i % 2 = 0 then p.ws_id end, case when i % 2 = 0 then p.id end,
         (array['Line array', 'Console', 'Moving head', 'Generator', 'Radio', 'Truss'])[1 + i % 6] || ' ' || p.n || '.' || i,
         (array['audio', 'lighting', 'power', 'comms', 'staging'])[1 + i % 5],
         case when i % 3 <> 0 then 'SN-' || p.n || '-' || i end,
         (array['available', 'in_use', 'retired'])[1 + (p.n + i) % 3],
         case when i % 2 = 0 then jsonb_build_object('weight_kg', 10 + i) end,
         case when i % 2 = 1 then timestamp '2022-05-01 10:00' + i * interval '3 days' end,
         timestamp '2023-05-01 10:00' + ((p.n + i) % 200) * interval '1 day', timestamp '2024-09-04 10:00' + (i % 20) * interval '1 day'
    from gen_p p cross join generate_series(1, {assets}) i;

insert into events (organization_id, workspace_id, production_id, name, kind, location, status, starts_at, ends_at, custom_fields, created_at, updated_at)
  select p.org_id, p.ws_id, p.id, 'Slot ' || i, (array['performance', 'soundcheck', 'changeover', 'doors', 'meeting', 'other'])[1 + i % 6],
         case when i % 4 <> 0 then 'Stage ' || (1 + i % 3) end,
         (array['draft', 'published', 'cancelled'])[1 + (p.n + i) % 3],
         timestamp '2024-05-01 10:00' + ((p.n + i) % 300) * interval '1 day' + (i % 8) * interval '1 hour',
         timestamp '2024-05-01 10:00' + ((p.n + i) % 300) * interval '1 day' + (i % 8) * interval '1 hour' + (1 + i % 3) * interval '30 minutes',
         case when i % 5 = 0 then jsonb_build_object('artist', 'Artist ' || i) end,
         timestamp '2024-03-01 08:00' + (i % 50) * interval '1 day', timestamp '2024-09-05 08:00' + (i % 50) * interval '1 hour'
    from gen_p p cross join generate_series(1, {events}) i;

insert into crew (organization_id, workspace_id, production_id, name, email, phone, role, status, call_time, wrap_time, day_rate, currency, custom_fields, created_at, updated_at)
  select p.org_id, p.ws_id, p.id, 'Crew ' || p.n || '.' || i,
         case when i % 3 <> 0 then 'crew' || p.n || '.' || i || '@legacy.example' end,
         case when i % 2 = 0 then '+1 555 02' || lpad((i % 100)::text, 2, '0') end,
         (array['Stagehand', 'Rigger', 'Audio tech', 'Lighting tech', 'Runner'])[1 + i % 5],
         (array['invited', 'confirmed', 'cancelled'])[1 + (p.n + i) % 3],
         timestamp '2024-05-01 07:00' + ((p.n + i) % 300) * interval '1 day',
         timestamp '2024-05-01 19:00' + ((p.n + i) % 300) * interval '1 day',
         case when i % 3 <> 0 then (250 + (i * 37) % 500)::numeric(10, 2) end,
         case when i % 3 <> 0 then 'USD' end,
         case when i % 4 = 0 then jsonb_build_object('shirt', (array['S', 'M', 'L', 'XL'])[1 + i % 4]) end,
         timestamp '2024-04-01 08:00' + (i % 30) * interval '1 day', timestamp '2024-09-06 08:00' + (i % 30) * interval '1 hour'
    from gen_p p cross join generate_series(1, {crew}) i;
"#,
        orgs = size.organizations,
        wpo = size.workspaces_per_org,
        ppw = size.productions_per_workspace,
        users = size.organizations * size.users_per_org,
        vpo = size.vendors_per_org,
    );
    // temp tables `on commit drop`: one transaction
    c.batch_execute(&format!("begin;\n{sql}\ncommit;"))
        .await
        .map_err(ImportError::db("generating legacy rows"))?;
    c.batch_execute("analyze")
        .await
        .map_err(ImportError::db("analyzing the legacy tables"))?;
    Ok(size.rows())
}

/// The database `showtree demo --legacy` (re)creates.
pub const DEMO_DATABASE: &str = "showtree_legacy";

/// The comment marking a database the legacy demo created (and may drop).
const DEMO_MARKER: &str = "showtree demo --legacy";

/// `showtree demo --legacy`: (re)creates database `name` (default
/// `showtree_legacy`) on the
/// server of `admin_url` with the flat layout, the named example and some
/// generated rows; writes the layout's mapping to `mapping` unless a file
/// is there. Returns the database's URL.
pub async fn demo(
    admin_url: &str,
    name: &str,
    mapping: &std::path::Path,
) -> Result<String, ImportError> {
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ImportError::Usage(
            "the demo database's name is lowercase letters, digits and _".to_owned(),
        ));
    }
    let admin = crate::state::connect(admin_url).await?;
    let comment: Option<Option<String>> = admin
        .query_opt(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = $1",
            &[&name],
        )
        .await
        .map_err(ImportError::db("looking for the demo database"))?
        .map(|r| r.get(0));
    match comment {
        Some(Some(c)) if c == DEMO_MARKER => {
            admin
                .batch_execute(&format!("drop database {name} with (force)"))
                .await
                .map_err(ImportError::db("dropping the previous demo database"))?;
        }
        Some(_) => {
            return Err(ImportError::Usage(format!(
                "a database {name} exists and was not made by the demo; drop or rename it first"
            )));
        }
        None => {}
    }
    admin
        .batch_execute(&format!("create database {name}"))
        .await
        .map_err(ImportError::db("creating the demo database"))?;
    admin
        .batch_execute(&format!("comment on database {name} is '{DEMO_MARKER}'"))
        .await
        .map_err(ImportError::db("marking the demo database"))?;
    let url = showtree_db::connect::url_with_database(admin_url, name);
    let c = crate::state::connect(&url).await?;
    create(&c).await?;
    example(&c).await?;
    generate(
        &c,
        Size {
            organizations: 3,
            workspaces_per_org: 2,
            productions_per_workspace: 3,
            rows_per_production: 40,
            users_per_org: 5,
            vendors_per_org: 3,
        },
    )
    .await?;
    if !mapping.exists() {
        std::fs::write(mapping, crate::mapping::FLAT_MAPPING)
            .map_err(|e| ImportError::Other(format!("writing {}: {e}", mapping.display())))?;
    }
    Ok(url)
}

/// One write of the old application, chosen by `step`: inserts, updates
/// and deletes across the legacy tables (new productions with their first
/// task, renamed workspaces, moved assets, new users ...), always valid for
/// the layout. The tests and the benchmark drive the legacy tables with it
/// while the import runs.
pub async fn churn(c: &impl GenericClient, step: u64) -> Result<(), tokio_postgres::Error> {
    let n = step as i64;
    let sql = match step % 14 {
        0 | 7 => {
            "insert into tasks (organization_id, workspace_id, production_id, title, status, custom_fields, due_at)
             select organization_id, workspace_id, id, 'churn ' || $1::bigint, (array['todo', 'in_progress', 'done'])[1 + $1::bigint % 3],
                    jsonb_build_object('churn', $1::bigint), timestamp '2025-01-10 10:00' + $1::bigint * interval '1 minute'
               from productions order by random() limit 1"
        }
        1 | 8 => {
            "update tasks set status = (array['todo', 'in_progress', 'done'])[1 + $1::bigint % 3], title = title || ' +',
                    updated_at = timestamp '2025-02-01 09:00' + $1::bigint * interval '1 second'
              where id = (select id from tasks order by random() limit 1)"
        }
        2 => "delete from tasks where id = (select id from tasks where $1::bigint >= 0 order by random() limit 1)",
        3 => {
            "update budgets set amount = amount + 1.25, custom_fields = jsonb_build_object('bumped', $1::bigint)
              where id = (select id from budgets order by random() limit 1)"
        }
        4 => "delete from invoices where id = (select id from invoices where $1::bigint >= 0 order by random() limit 1)",
        5 => {
            "with p as (
               insert into productions (organization_id, workspace_id, name, status, starts_on, ends_on)
               select organization_id, id, 'Churn production ' || $1::bigint, 'planning', date '2025-06-01', date '2025-06-02'
                 from workspaces order by random() limit 1
               returning id, organization_id, workspace_id)
             insert into tasks (organization_id, workspace_id, production_id, title)
             select organization_id, workspace_id, id, 'first task of ' || $1::bigint from p"
        }
        6 => {
            "update workspaces set name = left(name, 40) || ' ' || $1::bigint, updated_at = timestamp '2025-03-01 12:00'
              where id = (select id from workspaces order by random() limit 1)"
        }
        9 => {
            "update assets set production_id = null, workspace_id = null
              where id = (select id from assets where production_id is not null and $1::bigint >= 0 order by random() limit 1)"
        }
        10 => {
            "with u as (insert into users (email, full_name) values ('churn' || $1::bigint || '@legacy.example', 'Churn ' || $1::bigint) returning id)
             update tasks set assignee_id = (select id from u)
              where id = (select id from tasks order by random() limit 1)"
        }
        11 => {
            "update crew set day_rate = case when day_rate is null then 300 + $1::bigint % 100 end,
                    currency = case when day_rate is null then 'USD' end, status = 'confirmed'
              where id = (select id from crew order by random() limit 1)"
        }
        12 => {
            "insert into events (organization_id, workspace_id, production_id, name, kind, status, starts_at, ends_at)
             select organization_id, workspace_id, id, 'Churn slot ' || $1::bigint, 'meeting', 'published',
                    timestamp '2025-07-01 10:00' + $1::bigint * interval '1 hour', timestamp '2025-07-01 11:00' + $1::bigint * interval '1 hour'
               from productions order by random() limit 1"
        }
        _ => {
            "update productions set status = (array['planning', 'active', 'completed', 'cancelled'])[1 + $1::bigint % 4],
                    name = left(name, 60) || ' ' || $1::bigint
              where id = (select id from productions order by random() limit 1)"
        }
    };
    c.execute(sql, &[&n]).await.map(|_| ())
}
