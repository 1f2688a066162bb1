//! `showtree bench legacy-compare`: showtree's normalized layout against
//! the flat "current state" layout STRATEGY.md describes, on the same
//! generated data (issue 8).
//!
//! `bench generate` loads the data into showtree's schema; the same rows
//! are then copied, in the same database, into schema `legacy`: one flat
//! table per level (organizations, projects, productions, activations,
//! workspaces, each naming its parents directly) and per domain table,
//! where every domain row carries `workspace_id` and `production_id`
//! (derived from its node: the workspace it sits in, the production above
//! it), invoices (and the organization-level tables) also
//! `organization_id`; single-column uuid keys; status and priority as
//! plain text; an index on every foreign-key column, on status, and the
//! same GIN search indexes. Both sides are built fresh (indexes created
//! after the load) and analyzed, then compared: table, index and total
//! size; the typical reads (a workspace's assets, a production's invoices,
//! an organization's invoiced totals) through pgbench; single-row inserts
//! through pgbench; a bulk binary COPY of tasks.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use bytes::Bytes;
use futures_util::{SinkExt, TryStreamExt};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::generate::{self, Options};
use crate::hierarchy::{self, Machine, connect};
use crate::pgbench::{self, Load, Protocol, Target};
use crate::report::{self, Latency};
use crate::run::parse_duration;

/// Default of `--database`.
pub const DEFAULT_DATABASE: &str = "showtree_bench_legacy";
/// Default of `--scale`.
pub const DEFAULT_SCALE: f64 = 0.1;
/// Where the results go in the markdown file.
const SECTION_START: &str = "<!-- bench:legacy-compare:start -->";
const SECTION_END: &str = "<!-- bench:legacy-compare:end -->";
/// Marks the figures `bench targets` reads back.
pub const FIGURES_TAG: &str = "figures:legacy-compare";
/// Targets per read (pgbench scripts).
const READ_TARGETS: i64 = 32;

/// The domain tables compared, and who owns their rows in showtree.
const DOMAIN: [(&str, Owner); 11] = [
    ("tasks", Owner::Node),
    ("budget_lines", Owner::Node),
    ("vendors", Owner::Org),
    ("invoices", Owner::Node),
    ("invoice_lines", Owner::Invoice),
    ("assets", Owner::Org),
    ("asset_assignments", Owner::Node),
    ("schedule_items", Owner::Node),
    ("people", Owner::Org),
    ("crew_assignments", Owner::Node),
    ("documents", Owner::Node),
];

/// The hierarchy's tables in showtree (`nodes` plus one detail table per level).
const SHOWTREE_HIERARCHY: [&str; 6] = [
    "nodes",
    "organizations",
    "projects",
    "productions",
    "activations",
    "workspaces",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// `node_id`: a node of the hierarchy.
    Node,
    /// Organization-level reference data.
    Org,
    /// Through its invoice.
    Invoice,
}

/// Options of `showtree bench legacy-compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct LegacyArgs {
    /// Size of the generated data (as `bench generate --scale`).
    #[arg(long, default_value_t = DEFAULT_SCALE)]
    pub scale: f64,
    /// Seed of the data.
    #[arg(long, default_value_t = generate::DEFAULT_SEED)]
    pub seed: u64,
    /// The scratch database (created, and dropped at the end unless --keep).
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// The PostgreSQL server, as the URL of any database on it (a superuser).
    #[arg(long)]
    pub url: Option<String>,
    /// pgbench clients for the reads and the inserts.
    #[arg(long, default_value_t = 16)]
    pub clients: u32,
    /// Time per pgbench run (`10s`, `1m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Tasks copied in by the bulk COPY on each side.
    #[arg(long, default_value_t = 100_000)]
    pub bulk_rows: i64,
    /// Keep the database.
    #[arg(long)]
    pub keep: bool,
    /// Write the results into this markdown file (between the
    /// bench:legacy-compare markers).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

impl Default for LegacyArgs {
    fn default() -> Self {
        LegacyArgs {
            scale: DEFAULT_SCALE,
            seed: generate::DEFAULT_SEED,
            database: DEFAULT_DATABASE.to_owned(),
            url: None,
            clients: 16,
            duration: Duration::from_secs(10),
            bulk_rows: 100_000,
            keep: false,
            markdown: None,
        }
    }
}

impl LegacyArgs {
    /// The command that reproduces this run.
    pub fn command_line(&self) -> String {
        let d = LegacyArgs::default();
        let mut cmd = format!("showtree bench legacy-compare --scale {}", self.scale);
        let extras = [
            (self.seed != d.seed).then(|| format!(" --seed {}", self.seed)),
            (self.database != d.database).then(|| format!(" --database {}", self.database)),
            (self.clients != d.clients).then(|| format!(" --clients {}", self.clients)),
            (self.duration != d.duration)
                .then(|| format!(" --duration {}ms", self.duration.as_millis())),
            (self.bulk_rows != d.bulk_rows).then(|| format!(" --bulk-rows {}", self.bulk_rows)),
            self.keep.then(|| " --keep".to_owned()),
            self.markdown
                .as_ref()
                .map(|p| format!(" --markdown {}", p.display())),
        ];
        for extra in extras.into_iter().flatten() {
            cmd += &extra;
        }
        cmd
    }
}

/// Sizes of one table (or group) on both sides, in bytes.
#[derive(Debug, Clone, Default)]
pub struct SizeRow {
    /// What is compared.
    pub name: String,
    /// Rows (showtree's side; the same rows on the other).
    pub rows: i64,
    /// showtree: heap (and TOAST), indexes.
    pub showtree: (i64, i64),
    /// Flat layout: heap (and TOAST), indexes.
    pub legacy: (i64, i64),
}

impl SizeRow {
    fn add(&mut self, other: &SizeRow) {
        self.rows += other.rows;
        self.showtree.0 += other.showtree.0;
        self.showtree.1 += other.showtree.1;
        self.legacy.0 += other.legacy.0;
        self.legacy.1 += other.legacy.1;
    }
}

/// One measured operation on both sides.
#[derive(Debug, Clone)]
pub struct Timed {
    /// What.
    pub name: String,
    /// showtree: per second, latency.
    pub showtree: (f64, Option<Latency>),
    /// Flat layout: per second, latency.
    pub legacy: (f64, Option<Latency>),
}

impl Timed {
    /// showtree's throughput over the flat layout's (above 1: showtree faster).
    pub fn speed_ratio(&self) -> f64 {
        self.showtree.0 / self.legacy.0.max(f64::MIN_POSITIVE)
    }
}

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct LegacyReport {
    /// The command that reproduces it.
    pub command: String,
    /// Scale of the data.
    pub scale: f64,
    /// Domain rows compared.
    pub domain_rows: i64,
    /// Sizes: the hierarchy, each domain table, then the total.
    pub sizes: Vec<SizeRow>,
    /// The reads.
    pub reads: Vec<Timed>,
    /// The writes (single-row inserts, bulk COPY).
    pub writes: Vec<Timed>,
    /// pgbench clients.
    pub clients: u32,
    /// Time per pgbench run.
    pub duration: Duration,
    /// Where it ran.
    pub machine: Machine,
}

/// Runs the comparison on the server behind `admin_url` (or `--url`).
pub async fn run(args: &LegacyArgs, admin_url: &str) -> anyhow::Result<LegacyReport> {
    hierarchy::check_database_name(&args.database)?;
    let url = args.url.as_deref().unwrap_or(admin_url);
    let opts = Options {
        scale: args.scale,
        seed: args.seed,
        database: args.database.clone(),
        ..Options::default()
    };
    let mut machine = {
        let admin = connect(url).await.context("connecting to the server")?;
        hierarchy::machine(&admin).await?
    };
    generate::generate(url, &opts)
        .await
        .context("generating the data")?;
    let db_url = showtree_db::connect::url_with_database(url, &args.database);
    let result = compare(args, url, &db_url).await;
    if !args.keep {
        let admin = connect(url).await?;
        admin
            .batch_execute(&format!(
                "drop database {} with (force)",
                hierarchy::quote_ident(&args.database)
            ))
            .await
            .context("dropping the scratch database")?;
    }
    let (sizes, reads, writes, domain_rows) = result?;
    machine.load_average.1 = hierarchy::load_average();
    let report = LegacyReport {
        command: args.command_line(),
        scale: args.scale,
        domain_rows,
        sizes,
        reads,
        writes,
        clients: args.clients,
        duration: args.duration,
        machine,
    };
    if let Some(path) = &args.markdown {
        report::write_section(path, SECTION_START, SECTION_END, &report.markdown())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report)
}

type Compared = (Vec<SizeRow>, Vec<Timed>, Vec<Timed>, i64);

async fn compare(args: &LegacyArgs, url: &str, db_url: &str) -> anyhow::Result<Compared> {
    let client = connect(db_url).await?;
    build_legacy(&client).await?;
    let (sizes, domain_rows) = sizes(&client).await?;
    let target = Target::from_url(url, &args.database)?;
    let user = url_user(url);
    let load = Load {
        clients: args.clients,
        threads: args.clients.clamp(1, 2),
        duration: args.duration,
        protocol: Protocol::Extended,
    };
    let mut reads = Vec::new();
    for (name, pairs) in read_scripts(&client).await? {
        ensure!(!pairs.is_empty(), "no target for {name}");
        let (s, l): (Vec<String>, Vec<String>) = pairs.into_iter().unzip();
        let a = pgbench::run(&target, &user, &s, load)
            .await
            .with_context(|| format!("{name} (showtree)"))?;
        let b = pgbench::run(&target, &user, &l, load)
            .await
            .with_context(|| format!("{name} (flat)"))?;
        reads.push(Timed {
            name: name.to_owned(),
            showtree: (a.tps, Some(a.latency)),
            legacy: (b.tps, Some(b.latency)),
        });
    }
    let mut writes = Vec::new();
    let (s, l) = insert_scripts(&client).await?;
    let a = pgbench::run(&target, &user, &s, load)
        .await
        .context("single-row inserts (showtree)")?;
    let b = pgbench::run(&target, &user, &l, load)
        .await
        .context("single-row inserts (flat)")?;
    writes.push(Timed {
        name: format!("single-row task insert, {} clients (rows/s)", args.clients),
        showtree: (a.tps, Some(a.latency)),
        legacy: (b.tps, Some(b.latency)),
    });
    let a = bulk_copy(&client, "showtree", args.bulk_rows).await?;
    let b = bulk_copy(&client, "legacy", args.bulk_rows).await?;
    writes.push(Timed {
        name: format!(
            "bulk binary COPY of {} tasks, one session (rows/s)",
            report::thousands(args.bulk_rows.max(0) as u64)
        ),
        showtree: (a, None),
        legacy: (b, None),
    });
    Ok((sizes, reads, writes, domain_rows))
}

/// The user name of a URL (`postgres` when it names none).
fn url_user(url: &str) -> String {
    url.parse::<tokio_postgres::Config>()
        .ok()
        .and_then(|c| c.get_user().map(str::to_owned))
        .unwrap_or_else(|| "postgres".to_owned())
}

/// `(column, select expression)` of `showtree.<table>` without `skip`:
/// enums become text, generated columns are left out.
async fn columns(
    client: &Client,
    table: &str,
    skip: &[&str],
) -> anyhow::Result<Vec<(String, String)>> {
    let rows = client
        .query(
            "select a.attname, (t.typtype = 'e') as is_enum
               from pg_attribute a join pg_type t on t.oid = a.atttypid
              where a.attrelid = ('showtree.' || $1)::regclass and a.attnum > 0
                and not a.attisdropped and a.attgenerated = ''
              order by a.attnum",
            &[&table],
        )
        .await
        .context("reading columns")?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, bool>(1)))
        .filter(|(c, _)| !skip.contains(&c.as_str()))
        .map(|(c, e)| {
            let expr = if e {
                format!("t.{c}::text")
            } else {
                format!("t.{c}")
            };
            (c, expr)
        })
        .collect())
}

/// Creates schema `legacy` and fills it from showtree's tables.
async fn build_legacy(client: &Client) -> anyhow::Result<()> {
    client
        .batch_execute(
            "drop schema if exists legacy cascade; create schema legacy;
             create unlogged table legacy.node_map as
               select n.id as node_id, n.org_id,
                      case when n.kind = 'workspace' then n.id end as workspace_id,
                      case when n.depth >= 2 then (n.ancestors || n.id)[3] end as production_id
                 from showtree.nodes n;
             create unique index on legacy.node_map (node_id);
             analyze legacy.node_map;",
        )
        .await
        .context("mapping nodes to workspaces and productions")?;
    let node_skip = ["org_id", "parent_id", "kind", "ancestors", "depth"];
    // the levels: the node's own columns, the detail row's, the parents by id
    let levels: [(&str, &str, &str); 5] = [
        ("organizations", "organization", ""),
        ("projects", "project", ", n.org_id as organization_id"),
        (
            "productions",
            "production",
            ", n.org_id as organization_id, n.parent_id as project_id, null::uuid as workspace_id",
        ),
        (
            "activations",
            "activation",
            ", n.org_id as organization_id, n.parent_id as production_id, null::uuid as workspace_id",
        ),
        (
            "workspaces",
            "workspace",
            ", n.org_id as organization_id, (n.ancestors || n.id)[3] as production_id, \
             (n.ancestors || n.id)[4] as activation_id, \
             case when n.depth > 4 then n.parent_id end as parent_workspace_id",
        ),
    ];
    for (table, kind, parents) in levels {
        let node_cols = columns(client, "nodes", &node_skip).await?;
        let detail = columns(
            client,
            table,
            &[
                "org_id",
                "node_id",
                "created_at",
                "updated_at",
                "created_by",
                "updated_by",
                "deleted_at",
                "deleted_by",
                "metadata",
            ],
        )
        .await?;
        let mut select: Vec<String> = node_cols
            .iter()
            .map(|(c, e)| format!("{} as {c}", e.replacen("t.", "n.", 1)))
            .collect();
        select.extend(
            detail
                .iter()
                .filter(|(c, _)| !node_cols.iter().any(|(n, _)| n == c))
                .map(|(c, e)| format!("{} as {c}", e.replacen("t.", "d.", 1))),
        );
        client
            .batch_execute(&format!(
                "create table legacy.{table} as select {}{parents} from showtree.nodes n \
                 join showtree.{table} d on d.org_id = n.org_id and d.node_id = n.id \
                 where n.kind = '{kind}'; \
                 alter table legacy.{table} add primary key (id)",
                select.join(", ")
            ))
            .await
            .with_context(|| format!("building legacy.{table}"))?;
    }
    let mut indexes: Vec<String> = Vec::new();
    for (table, parent_cols) in [
        ("projects", vec![("organization_id", "organizations")]),
        (
            "productions",
            vec![
                ("organization_id", "organizations"),
                ("project_id", "projects"),
                ("workspace_id", "workspaces"),
            ],
        ),
        (
            "activations",
            vec![
                ("organization_id", "organizations"),
                ("production_id", "productions"),
                ("workspace_id", "workspaces"),
            ],
        ),
        (
            "workspaces",
            vec![
                ("organization_id", "organizations"),
                ("production_id", "productions"),
                ("activation_id", "activations"),
                ("parent_workspace_id", "workspaces"),
            ],
        ),
    ] {
        for (col, parent) in parent_cols {
            indexes.push(format!(
                "alter table legacy.{table} add foreign key ({col}) references legacy.{parent} (id) on delete cascade; \
                 create index on legacy.{table} ({col})"
            ));
        }
    }
    for table in [
        "organizations",
        "projects",
        "productions",
        "activations",
        "workspaces",
    ] {
        indexes.push(format!("create index on legacy.{table} (status)"));
    }

    for (table, owner) in DOMAIN {
        let cols = columns(client, table, &["org_id", "node_id"]).await?;
        let mut select: Vec<String> = cols.iter().map(|(c, e)| format!("{e} as {c}")).collect();
        let from = match owner {
            Owner::Node => {
                select.push("m.workspace_id, m.production_id".into());
                if table == "invoices" {
                    select.push("t.org_id as organization_id".into());
                }
                format!("showtree.{table} t join legacy.node_map m on m.node_id = t.node_id")
            }
            Owner::Invoice => {
                select.push("m.workspace_id, m.production_id".into());
                format!(
                    "showtree.{table} t join showtree.invoices i on i.org_id = t.org_id and i.id = t.invoice_id \
                     join legacy.node_map m on m.node_id = i.node_id"
                )
            }
            Owner::Org if table == "assets" => {
                // where the asset is now: its latest assignment
                select.push("t.org_id as organization_id, m.workspace_id, m.production_id".into());
                "showtree.assets t left join lateral (select aa.node_id from showtree.asset_assignments aa \
                 where aa.org_id = t.org_id and aa.asset_id = t.id order by aa.id desc limit 1) last on true \
                 left join legacy.node_map m on m.node_id = last.node_id"
                    .to_owned()
            }
            Owner::Org => {
                select.push(
                    "t.org_id as organization_id, null::uuid as workspace_id, null::uuid as production_id"
                        .into(),
                );
                format!("showtree.{table} t")
            }
        };
        client
            .batch_execute(&format!(
                "create table legacy.{table} as select {} from {from}; \
                 alter table legacy.{table} add primary key (id)",
                select.join(", ")
            ))
            .await
            .with_context(|| format!("building legacy.{table}"))?;
        // what showtree's column had: not null, defaults (enum defaults fit text), generated search
        let rows = client
            .query(
                "select a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attgenerated::text,
                        format_type(a.atttypid, a.atttypmod)
                   from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                  where a.attrelid = ('showtree.' || $1)::regclass and a.attnum > 0 and not a.attisdropped
                    and a.attname not in ('org_id', 'node_id')",
                &[&table],
            )
            .await?;
        let mut alter = Vec::new();
        for r in &rows {
            let (col, notnull, default, generated, ty): (
                String,
                bool,
                Option<String>,
                String,
                String,
            ) = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            if generated == "s" {
                if let Some(expr) = default {
                    alter.push(format!(
                        "add column {col} {ty} generated always as ({expr}) stored"
                    ));
                }
                continue;
            }
            if let Some(expr) = default {
                alter.push(format!("alter column {col} set default {expr}"));
            }
            if notnull {
                alter.push(format!("alter column {col} set not null"));
            }
        }
        if !alter.is_empty() {
            client
                .batch_execute(&format!("alter table legacy.{table} {}", alter.join(", ")))
                .await
                .with_context(|| format!("completing legacy.{table}"))?;
        }
        // foreign keys: showtree's, without org_id; the owner columns instead of node_id
        let fks = client
            .query(
                "select array(select a.attname::text from unnest(c.conkey) k
                               join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k),
                        c.confrelid::regclass::text, c.confdeltype::text
                   from pg_constraint c
                  where c.contype = 'f' and c.conrelid = ('showtree.' || $1)::regclass",
                &[&table],
            )
            .await?;
        let mut fk_cols = vec![
            (
                "workspace_id".to_owned(),
                "legacy.workspaces".to_owned(),
                "c".to_owned(),
            ),
            (
                "production_id".to_owned(),
                "legacy.productions".to_owned(),
                "c".to_owned(),
            ),
        ];
        if table == "invoices" || owner == Owner::Org {
            fk_cols.push((
                "organization_id".into(),
                "legacy.organizations".into(),
                "c".into(),
            ));
        }
        for r in &fks {
            let cols: Vec<String> = r.get(0);
            let (target, action): (String, String) = (r.get(1), r.get(2));
            let cols: Vec<String> = cols.into_iter().filter(|c| c != "org_id").collect();
            let [col] = cols.as_slice() else { continue };
            if col == "node_id" {
                continue;
            }
            let target = match target.as_str() {
                "auth.users" => target.clone(),
                t => match t.strip_prefix("showtree.") {
                    Some(name) if DOMAIN.iter().any(|d| d.0 == name) => format!("legacy.{name}"),
                    _ => continue,
                },
            };
            fk_cols.push((col.clone(), target, action));
        }
        for (col, target, action) in fk_cols {
            let on_delete = match action.as_str() {
                "c" => " on delete cascade",
                "n" => " on delete set null",
                "r" => " on delete restrict",
                _ => "",
            };
            indexes.push(format!(
                "alter table legacy.{table} add foreign key ({col}) references {target} (id){on_delete}; \
                 create index on legacy.{table} ({col})"
            ));
        }
        let has = |c: &str| rows.iter().any(|r| r.get::<_, String>(0) == c);
        if has("status") {
            indexes.push(format!("create index on legacy.{table} (status)"));
        }
        if has("search") {
            indexes.push(format!("create index on legacy.{table} using gin (search)"));
        }
    }
    for statement in indexes {
        client
            .batch_execute(&statement)
            .await
            .with_context(|| statement.clone())?;
    }
    client
        .batch_execute("drop table legacy.node_map; analyze")
        .await
        .context("analyzing")?;
    Ok(())
}

/// Heap (with TOAST) and index bytes of `schema.table`.
async fn size(client: &Client, schema: &str, table: &str) -> anyhow::Result<(i64, i64)> {
    let r = client
        .query_one(
            "select pg_table_size(c), pg_indexes_size(c) from (select ($1 || '.' || $2)::regclass c) x",
            &[&schema, &table],
        )
        .await
        .with_context(|| format!("measuring {schema}.{table}"))?;
    Ok((r.get(0), r.get(1)))
}

async fn sizes(client: &Client) -> anyhow::Result<(Vec<SizeRow>, i64)> {
    let mut hierarchy = SizeRow {
        name: "hierarchy (showtree: nodes + 5 level tables; flat: 5 level tables)".into(),
        ..SizeRow::default()
    };
    for t in SHOWTREE_HIERARCHY {
        let (h, i) = size(client, "showtree", t).await?;
        hierarchy.showtree.0 += h;
        hierarchy.showtree.1 += i;
    }
    for t in &SHOWTREE_HIERARCHY[1..] {
        let (h, i) = size(client, "legacy", t).await?;
        hierarchy.legacy.0 += h;
        hierarchy.legacy.1 += i;
    }
    hierarchy.rows = client
        .query_one("select count(*) from showtree.nodes", &[])
        .await?
        .get(0);
    let mut out = vec![hierarchy.clone()];
    let mut total = SizeRow {
        name: "in all".into(),
        ..SizeRow::default()
    };
    total.add(&hierarchy);
    let mut domain_rows = 0;
    for (table, _) in DOMAIN {
        let rows: i64 = client
            .query_one(&format!("select count(*) from showtree.{table}"), &[])
            .await?
            .get(0);
        domain_rows += rows;
        let row = SizeRow {
            name: table.to_owned(),
            rows,
            showtree: size(client, "showtree", table).await?,
            legacy: size(client, "legacy", table).await?,
        };
        total.add(&row);
        out.push(row);
    }
    out.push(total);
    Ok((out, domain_rows))
}

/// The three reads, each as (showtree script, flat script) per target.
async fn read_scripts(
    client: &Client,
) -> anyhow::Result<Vec<(&'static str, Vec<(String, String)>)>> {
    let end = "ffffffff-ffff-ffff-ffff-ffffffffffff";
    let workspaces = client
        .query(
            "select org_id, node_id from showtree.asset_assignments where deleted_at is null
              group by org_id, node_id order by md5(node_id::text) limit $1",
            &[&READ_TARGETS],
        )
        .await?;
    let assets = workspaces
        .iter()
        .map(|r| {
            let (o, w): (Uuid, Uuid) = (r.get(0), r.get(1));
            (
                format!(
                    "select a.* from showtree.asset_assignments aa join showtree.assets a \
                     on a.org_id = aa.org_id and a.id = aa.asset_id \
                     where aa.org_id = '{o}' and aa.node_id = '{w}' and aa.deleted_at is null and a.deleted_at is null;\n"
                ),
                format!(
                    "select a.* from legacy.asset_assignments aa join legacy.assets a on a.id = aa.asset_id \
                     where aa.workspace_id = '{w}' and aa.deleted_at is null and a.deleted_at is null;\n"
                ),
            )
        })
        .collect();
    let productions = client
        .query(
            "select n.org_id, n.id from showtree.nodes n where n.kind = 'production' and n.deleted_at is null
                and exists (select from legacy.invoices i where i.production_id = n.id)
              order by md5(n.id::text) limit $1",
            &[&READ_TARGETS],
        )
        .await?;
    let invoices = productions
        .iter()
        .map(|r| {
            let (o, p): (Uuid, Uuid) = (r.get(0), r.get(1));
            (
                format!(
                    "select i.* from showtree.invoices i join showtree.nodes n on n.org_id = i.org_id and n.id = i.node_id \
                     where i.org_id = '{o}' and i.deleted_at is null and n.deleted_at is null \
                     and (n.ancestors || n.id) >= (select r.ancestors || r.id from showtree.nodes r where r.org_id = '{o}' and r.id = '{p}') \
                     and (n.ancestors || n.id) < (select r.ancestors || r.id || '{end}'::uuid from showtree.nodes r where r.org_id = '{o}' and r.id = '{p}') \
                     order by i.id;\n"
                ),
                format!(
                    "select i.* from legacy.invoices i where i.production_id = '{p}' and i.deleted_at is null order by i.id;\n"
                ),
            )
        })
        .collect();
    let orgs = client
        .query(
            "select id from showtree.nodes where kind = 'organization' order by md5(id::text) limit $1",
            &[&READ_TARGETS],
        )
        .await?;
    let totals = orgs
        .iter()
        .map(|r| {
            let o: Uuid = r.get(0);
            (
                format!(
                    "select i.currency, sum(l.quantity * l.unit_amount_minor) from showtree.invoice_lines l \
                     join showtree.invoices i on i.org_id = l.org_id and i.id = l.invoice_id \
                     where l.org_id = '{o}' and l.deleted_at is null and i.deleted_at is null group by i.currency;\n"
                ),
                format!(
                    "select i.currency, sum(l.quantity * l.unit_amount_minor) from legacy.invoice_lines l \
                     join legacy.invoices i on i.id = l.invoice_id \
                     where i.organization_id = '{o}' and l.deleted_at is null and i.deleted_at is null group by i.currency;\n"
                ),
            )
        })
        .collect();
    Ok(vec![
        ("a workspace's assets", assets),
        ("a production's invoices", invoices),
        ("an organization's invoiced totals", totals),
    ])
}

/// Single-row task inserts under random workspaces and activations.
async fn insert_scripts(client: &Client) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let rows = client
        .query(
            "select n.org_id, n.id, case when n.kind = 'workspace' then n.id end,
                    case when n.depth >= 2 then (n.ancestors || n.id)[3] end
               from showtree.nodes n where n.kind in ('activation', 'workspace') and n.deleted_at is null
              order by md5(n.id::text) limit 64",
            &[],
        )
        .await?;
    ensure!(!rows.is_empty(), "no node to insert tasks under");
    let mut s = Vec::new();
    let mut l = Vec::new();
    for r in &rows {
        let (o, n, w, p): (Uuid, Uuid, Option<Uuid>, Option<Uuid>) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let lit = |u: Option<Uuid>| u.map_or_else(|| "null".to_owned(), |u| format!("'{u}'"));
        s.push(format!(
            "insert into showtree.tasks (org_id, node_id, title, priority) values ('{o}', '{n}', 'Bench task', 'high');\n"
        ));
        l.push(format!(
            "insert into legacy.tasks (workspace_id, production_id, title, priority) values ({}, {}, 'Bench task', 'high');\n",
            lit(w),
            lit(p)
        ));
    }
    Ok((s, l))
}

/// Copies `rows` existing tasks of `schema` out (with new ids) and back in
/// with one binary COPY, committed; rows per second of the COPY in.
async fn bulk_copy(client: &Client, schema: &str, rows: i64) -> anyhow::Result<f64> {
    let cols: Vec<String> = client
        .query(
            "select a.attname::text from pg_attribute a
              where a.attrelid = ($1 || '.tasks')::regclass and a.attnum > 0
                and not a.attisdropped and a.attgenerated = '' and a.attname <> 'id'
              order by a.attnum",
            &[&schema],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let list = cols.join(", ");
    let out = client
        .copy_out(&format!(
            "copy (select private.uuid_generate_v7(), {list} from {schema}.tasks order by id limit {rows}) \
             to stdout (format binary)"
        ))
        .await
        .context("copying tasks out")?;
    let chunks: Vec<Bytes> = out.try_collect().await.context("copying tasks out")?;
    let started = Instant::now();
    client.batch_execute("begin").await?;
    let sink = client
        .copy_in::<_, Bytes>(&format!(
            "copy {schema}.tasks (id, {list}) from stdin (format binary)"
        ))
        .await
        .context("starting the COPY in")?;
    let mut sink = std::pin::pin!(sink);
    for chunk in chunks {
        sink.send(chunk).await.context("copying tasks in")?;
    }
    let loaded = sink.as_mut().finish().await.context("copying tasks in")?;
    client.batch_execute("commit").await?;
    let took = started.elapsed();
    Ok(loaded as f64 / took.as_secs_f64().max(f64::MIN_POSITIVE))
}

fn mib(bytes: i64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// How much smaller showtree is than the flat layout (negative: larger).
pub fn saving(showtree: i64, legacy: i64) -> f64 {
    if legacy == 0 {
        return 0.0;
    }
    1.0 - showtree as f64 / legacy as f64
}

fn pct(x: f64) -> String {
    format!("{:+.1}%", 100.0 * x)
}

impl LegacyReport {
    /// The total row.
    pub fn total(&self) -> Option<&SizeRow> {
        self.sizes.last()
    }

    /// The results as plain text.
    pub fn text_table(&self) -> String {
        let mut rows = vec![[
            "table".to_owned(),
            "rows".to_owned(),
            "showtree table / index".to_owned(),
            "flat table / index".to_owned(),
            "total saving".to_owned(),
            "index saving".to_owned(),
        ]];
        for s in &self.sizes {
            rows.push([
                s.name.clone(),
                report::thousands(s.rows.max(0) as u64),
                format!("{} / {}", mib(s.showtree.0), mib(s.showtree.1)),
                format!("{} / {}", mib(s.legacy.0), mib(s.legacy.1)),
                pct(saving(s.showtree.0 + s.showtree.1, s.legacy.0 + s.legacy.1)),
                pct(saving(s.showtree.1, s.legacy.1)),
            ]);
        }
        let mut out = report::text_table(&rows);
        out.push('\n');
        let mut timed = vec![[
            "operation".to_owned(),
            "showtree per s".to_owned(),
            "flat per s".to_owned(),
            "showtree/flat".to_owned(),
        ]];
        for t in self.reads.iter().chain(&self.writes) {
            timed.push([
                t.name.clone(),
                format!("{:.0}", t.showtree.0),
                format!("{:.0}", t.legacy.0),
                format!("{:.2}", t.speed_ratio()),
            ]);
        }
        out += &report::text_table(&timed);
        out
    }

    /// The figures `bench targets` reads (JSON).
    pub fn figures(&self) -> serde_json::Value {
        let total = self.total().cloned().unwrap_or_default();
        let avg = |v: &[Timed]| {
            if v.is_empty() {
                return None;
            }
            // geometric mean of the speed ratios
            let logs: f64 = v
                .iter()
                .map(|t| t.speed_ratio().max(f64::MIN_POSITIVE).ln())
                .sum();
            Some((logs / v.len() as f64).exp())
        };
        serde_json::json!({
            "scale": self.scale,
            "storage_saving": saving(total.showtree.0 + total.showtree.1, total.legacy.0 + total.legacy.1),
            "index_saving": saving(total.showtree.1, total.legacy.1),
            "read_speed_ratio": avg(&self.reads),
            "write_speed_ratio": avg(&self.writes),
        })
    }

    /// The section of docs/BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::from("## Against the flat \"current state\" layout\n\n");
        let _ = write!(
            out,
            "Produced by `{}` on {} (release build).\n\n\
             Machine: {}, {} (shared_buffers {}, other settings default); 1-minute load \
             average {} when the run started, {} when it ended (the machine is shared).\n\n",
            self.command,
            m.date,
            m.hardware(),
            m.postgres,
            m.shared_buffers,
            m.load_average.0.as_deref().unwrap_or("unknown"),
            m.load_average.1.as_deref().unwrap_or("unknown"),
        );
        let _ = write!(
            out,
            "The same generated rows (scale {}, {} domain rows) in both layouts, both built fresh \
             (indexes after the load) and analyzed. Flat layout (schema `legacy`, as STRATEGY.md's \
             \"current state\"): one table per level naming its parents by id; every domain row \
             carries `workspace_id` and `production_id` (its workspace, its production), invoices \
             and organization-level tables `organization_id`; `id uuid` primary keys; status and \
             priority as plain text; an index on every foreign-key column and on status, the same \
             GIN search indexes, no check constraints and no triggers. showtree: `(org_id, id)` keys, \
             one owner node per row, enums, partial and composite indexes, the unique `id` index \
             the single-row routes use, and its triggers (actor columns, audit log, roll-up deltas).\n\n",
            self.scale,
            report::thousands(self.domain_rows.max(0) as u64),
        );
        out += "### Size\n\n| table | rows | showtree table | showtree indexes | flat table | flat indexes | total: showtree smaller by | indexes: showtree smaller by |\n|---|--:|--:|--:|--:|--:|--:|--:|\n";
        for s in &self.sizes {
            let bold = s.name == "in all";
            let b = |x: String| if bold { format!("**{x}**") } else { x };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                b(s.name.clone()),
                report::thousands(s.rows.max(0) as u64),
                mib(s.showtree.0),
                mib(s.showtree.1),
                mib(s.legacy.0),
                mib(s.legacy.1),
                b(pct(saving(
                    s.showtree.0 + s.showtree.1,
                    s.legacy.0 + s.legacy.1
                ))),
                b(pct(saving(s.showtree.1, s.legacy.1))),
            );
        }
        let _ = write!(
            out,
            "\n### Reads and writes\n\npgbench, {} clients, {} per run, as a superuser (no RLS, no \
             request context: the layouts, not the access layer); one script per target, picked at \
             random.\n\n| operation | showtree per s | showtree p50 / p95 / p99 ms | flat per s | flat p50 / p95 / p99 ms | showtree / flat throughput |\n|---|--:|--:|--:|--:|--:|\n",
            self.clients,
            format_args!("{:.0} s", self.duration.as_secs_f64()),
        );
        for t in self.reads.iter().chain(&self.writes) {
            let lat = |l: Option<Latency>| l.map_or_else(|| "n/a".to_owned(), |l| l.triple_ms());
            let _ = writeln!(
                out,
                "| {} | {:.0} | {} | {:.0} | {} | {:.2} |",
                t.name,
                t.showtree.0,
                lat(t.showtree.1),
                t.legacy.0,
                lat(t.legacy.1),
                t.speed_ratio()
            );
        }
        out += "\nWhere the normalized layout is slower, and why: a production's invoices are one \
                index lookup on `production_id` in the flat layout, and a range of the node path \
                joined to `nodes` in showtree (the price of deriving every ancestor instead of \
                storing it on every row, which is also what keeps a subtree move to one \
                transaction); showtree's inserts pay for their triggers (actor columns, the audit \
                log row, the roll-up delta that keeps every ancestor's totals exact and fresh) and \
                their checks, none of which the flat layout has.\n\n";
        let _ = writeln!(out, "<!-- {FIGURES_TAG} {} -->", self.figures());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saving_is_relative_to_the_flat_layout() {
        assert!((saving(80, 100) - 0.2).abs() < 1e-12);
        assert!((saving(125, 100) + 0.25).abs() < 1e-12);
        assert_eq!(saving(1, 0), 0.0);
        assert_eq!(pct(0.2), "+20.0%");
    }
}
