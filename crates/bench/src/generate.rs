//! `showtree bench generate`: a deterministic data set of any scale, loaded
//! with binary COPY. Scale 1 is the business's target load (DESIGN.md
//! section 6): 1,000 organizations (a few huge, many small), 100,000
//! projects, their productions, activations and workspaces, users and
//! grants at every level, and about 10 million domain rows.
//!
//! How: the plan (tree and row counts) is drawn from the seed in memory;
//! then each table is written, in pieces of whole organizations, by a
//! generator thread encoding binary COPY rows for one of `--jobs`
//! connections. Those sessions run with `session_replication_role =
//! replica` (no triggers, so no foreign-key checks, audit events or
//! ancestry maintenance: the generator computes ancestry itself), with the
//! secondary indexes dropped and rebuilt afterwards; `verify` then checks
//! by query everything the triggers would have enforced.

mod copy;
mod ids;
mod plan;
mod rows;
pub mod table;
pub mod verify;
mod words;

use std::collections::VecDeque;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use futures_util::SinkExt;
use indicatif::ProgressBar;
use showtree_core::NodeKind;
use showtree_db::connect::url_with_database;
use showtree_db::migrate::Migrator;
use tokio::sync::mpsc;
use tokio_postgres::Client;

use crate::hierarchy::{self, Machine, connect, progress, quote_ident, quote_literal};
use crate::report;
use copy::CopyWriter;
use ids::Ids;
use plan::Plan;
pub use table::Table;
pub use verify::{Check, verify};

/// Default of `--seed`.
pub const DEFAULT_SEED: u64 = 1;
/// Default of `--database`.
pub const DEFAULT_DATABASE: &str = "showtree_bench";
/// Default of `--jobs`: one COPY per core of a small machine.
pub const DEFAULT_JOBS: usize = 2;

/// Every database the generator creates carries a comment starting so; it
/// never drops or reuses a database without it.
pub const MARKER: &str = "showtree bench generate";
/// Bump when the generated data changes for the same seed and scale.
const GENERATOR_VERSION: u32 = 1;
/// Estimated rows per COPY: pieces small enough for both jobs to stay busy
/// to the end, large enough that a COPY's start costs nothing.
const PIECE_ROWS: u64 = 400_000;
/// Chunks in flight between a generator thread and its COPY.
const CHANNEL_CHUNKS: usize = 8;
/// Where the results go in the markdown file.
const SECTION_START: &str = "<!-- bench:generate:start -->";
const SECTION_END: &str = "<!-- bench:generate:end -->";
/// Marks the figures `bench targets` reads back.
pub const FIGURES_TAG: &str = "figures:generate";
/// The goal of the issue: scale 1 loads in under ten minutes.
const GOAL: Duration = Duration::from_secs(600);

/// Options of `showtree bench generate`.
#[derive(Clone, clap::Args)]
pub struct GenerateArgs {
    /// Size of the data set: 1 = 1,000 organizations, 100,000 projects and
    /// about 10 million domain rows; every count scales linearly (0.001
    /// and 0.01 for tests).
    #[arg(long, value_parser = parse_scale)]
    pub scale: f64,
    /// Seed of everything generated: the same seed and scale give the same
    /// bytes.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// The database to (re)create; it must not exist or have been created
    /// by the generator.
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// The PostgreSQL server, as the URL of any database on it (default:
    /// the one every showtree command finds, see --database-url). Loading
    /// needs a superuser.
    #[arg(long)]
    pub url: Option<String>,
    /// Connections loading (and indexing) at once.
    #[arg(long, default_value_t = DEFAULT_JOBS, value_parser = parse_jobs)]
    pub jobs: usize,
    /// Keep the secondary indexes while loading instead of dropping and
    /// rebuilding them (slower; for comparison).
    #[arg(long)]
    pub keep_indexes: bool,
    /// Skip the integrity checks after the load.
    #[arg(long)]
    pub no_verify: bool,
    /// Drop the database at the end (for measuring the load only).
    #[arg(long)]
    pub drop: bool,
    /// Write the summary into this markdown file (between the
    /// bench:generate markers).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

// By hand: the URL may carry a password.
impl fmt::Debug for GenerateArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerateArgs")
            .field("scale", &self.scale)
            .field("seed", &self.seed)
            .field("database", &self.database)
            .field(
                "url",
                &self.url.as_deref().map(showtree_db::connect::redacted_url),
            )
            .field("jobs", &self.jobs)
            .field("keep_indexes", &self.keep_indexes)
            .field("no_verify", &self.no_verify)
            .field("drop", &self.drop)
            .field("markdown", &self.markdown)
            .finish()
    }
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(v) if (1..=16).contains(&v) => Ok(v),
        Ok(_) => Err("between 1 and 16 jobs".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 100.0 => Ok(v),
        Ok(_) => Err("the scale must be above 0 (and at most 100)".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

impl GenerateArgs {
    /// The library's options for these arguments.
    pub fn options(&self) -> Options {
        Options {
            scale: self.scale,
            seed: self.seed,
            database: self.database.clone(),
            jobs: self.jobs,
            keep_indexes: self.keep_indexes,
            verify: !self.no_verify,
            drop: self.drop,
            markdown: self.markdown.clone(),
        }
    }
}

/// What to generate, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Size: 1 = the target load (see [`GenerateArgs::scale`]).
    pub scale: f64,
    /// Seed of everything generated.
    pub seed: u64,
    /// The database to (re)create.
    pub database: String,
    /// Connections loading at once.
    pub jobs: usize,
    /// Load with the secondary indexes in place.
    pub keep_indexes: bool,
    /// Check integrity after the load (an error when anything is broken).
    pub verify: bool,
    /// Drop the database at the end.
    pub drop: bool,
    /// Write the summary into this markdown file.
    pub markdown: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            scale: 0.001,
            seed: DEFAULT_SEED,
            database: DEFAULT_DATABASE.to_owned(),
            jobs: DEFAULT_JOBS,
            keep_indexes: false,
            verify: true,
            drop: false,
            markdown: None,
        }
    }
}

impl Options {
    /// The command that reproduces this run, as a user types it.
    pub fn command_line(&self) -> String {
        let mut cmd = format!("showtree bench generate --scale {}", self.scale);
        let extras = [
            (self.seed != DEFAULT_SEED).then(|| format!(" --seed {}", self.seed)),
            (self.database != DEFAULT_DATABASE).then(|| format!(" --database {}", self.database)),
            (self.jobs != DEFAULT_JOBS).then(|| format!(" --jobs {}", self.jobs)),
            self.keep_indexes.then(|| " --keep-indexes".to_owned()),
            (!self.verify).then(|| " --no-verify".to_owned()),
            self.drop.then(|| " --drop".to_owned()),
            self.markdown
                .as_ref()
                .map(|p| format!(" --markdown {}", p.display())),
        ];
        for extra in extras.into_iter().flatten() {
            cmd += &extra;
        }
        cmd
    }

    /// What the database's comment says once these options' data is loaded.
    fn marker(&self) -> String {
        format!(
            "{MARKER}: generator {GENERATOR_VERSION}, scale {}, seed {}, migrations {}",
            self.scale,
            self.seed,
            Migrator::embedded().fingerprint()
        )
    }
}

/// Organizations and projects at `scale` (exact; everything else follows
/// from them and the seed).
pub fn orgs_and_projects(scale: f64) -> (u32, u32) {
    plan::orgs_and_projects(scale)
}

/// Domain rows at `scale`, as designed: 10 million at scale 1, linear. The
/// generated count lands within a few percent of it at scale 0.01 and up
/// (the skew moves small scales more).
pub fn target_domain_rows(scale: f64) -> f64 {
    10_000_000.0 * scale
}

/// One table's share.
#[derive(Debug, Clone)]
pub struct TableSummary {
    /// Which table.
    pub table: Table,
    /// Rows loaded.
    pub rows: u64,
    /// Table, indexes and TOAST, in bytes.
    pub bytes: i64,
}

/// How long each phase took.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Drawing the plan (tree and counts) in memory.
    pub plan: Duration,
    /// Creating and migrating the database, dropping the secondary indexes.
    pub schema: Duration,
    /// The binary COPYs.
    pub copy: Duration,
    /// Rebuilding the secondary indexes.
    pub indexes: Duration,
    /// `analyze` of every loaded table.
    pub analyze: Duration,
    /// Building the roll-up totals from the loaded rows (the triggers that
    /// keep them were off while loading).
    pub rollups: Duration,
    /// Everything up to here: the load.
    pub load: Duration,
    /// The integrity checks (not part of the load), when run.
    pub verify: Option<Duration>,
}

/// What a run generated and how long it took.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The command that reproduces it.
    pub command: String,
    /// The options' scale.
    pub scale: f64,
    /// The options' seed.
    pub seed: u64,
    /// The database it loaded (dropped again with `drop`).
    pub database: String,
    /// Rows and size per table, in [`Table::ALL`] order.
    pub tables: Vec<TableSummary>,
    /// Nodes of each kind, in [`NodeKind::ALL`] order.
    pub nodes_by_kind: [u64; 5],
    /// Nodes on each depth, from 0.
    pub nodes_by_depth: Vec<u64>,
    /// Restricted nodes.
    pub restricted: u64,
    /// Projects of the largest and of the median organization.
    pub org_projects: (u32, u32),
    /// Phases.
    pub timings: Timings,
    /// Secondary indexes rebuilt after the load (0 with `keep_indexes`).
    pub indexes_rebuilt: usize,
    /// Connections that loaded.
    pub jobs: usize,
    /// `pg_database_size` after the load.
    pub database_bytes: i64,
    /// The integrity checks and their violations (empty when not verified).
    pub checks: Vec<Check>,
    /// Where it ran.
    pub machine: Machine,
}

impl Summary {
    /// Rows of `table`.
    pub fn rows(&self, table: Table) -> u64 {
        self.tables
            .iter()
            .find(|t| t.table == table)
            .map_or(0, |t| t.rows)
    }

    /// Rows of the production domain.
    pub fn domain_rows(&self) -> u64 {
        self.tables
            .iter()
            .filter(|t| t.table.is_domain())
            .map(|t| t.rows)
            .sum()
    }

    /// Rows in all.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Checks that found something.
    pub fn violations(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.violations != 0)
    }

    fn phases(&self) -> Vec<(String, Duration)> {
        let t = &self.timings;
        vec![
            ("plan the data in memory".to_owned(), t.plan),
            (
                if self.indexes_rebuilt > 0 {
                    "create and migrate the database, drop secondary indexes".to_owned()
                } else {
                    "create and migrate the database".to_owned()
                },
                t.schema,
            ),
            (format!("binary COPY, {} connections", self.jobs), t.copy),
            (
                format!("rebuild {} secondary indexes", self.indexes_rebuilt),
                t.indexes,
            ),
            ("analyze".to_owned(), t.analyze),
            (
                "build the roll-up totals (`private.rollup_rebuild()`)".to_owned(),
                t.rollups,
            ),
        ]
    }

    /// The summary as plain text.
    pub fn text(&self) -> String {
        let mut rows = vec![[
            "table".to_owned(),
            "rows".to_owned(),
            "table + indexes".to_owned(),
        ]];
        for t in &self.tables {
            rows.push([
                t.table.qualified().to_owned(),
                report::thousands(t.rows),
                mib(t.bytes),
            ]);
        }
        rows.push([
            "in all".to_owned(),
            report::thousands(self.total_rows()),
            format!("{} (database)", mib(self.database_bytes)),
        ]);
        let mut out = report::text_table(&rows);
        out += &format!(
            "\n{} domain rows; nodes: {}\n",
            report::thousands(self.domain_rows()),
            self.kinds()
        );
        for (phase, d) in self.phases() {
            out += &format!("{phase}: {:.1} s\n", d.as_secs_f64());
        }
        out += &format!("loaded in {:.1} s", self.timings.load.as_secs_f64());
        match self.timings.verify {
            Some(v) => {
                out += &format!(
                    "; verified in {:.1} s: {} checks, {} broken\n",
                    v.as_secs_f64(),
                    self.checks.len(),
                    self.violations().count()
                )
            }
            None => out += "; not verified\n",
        }
        out
    }

    fn kinds(&self) -> String {
        NodeKind::ALL
            .iter()
            .zip(self.nodes_by_kind)
            .map(|(k, n)| format!("{} {}", k.as_str(), report::thousands(n)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The section of docs/BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let load = self.timings.load;
        let mut out = String::from("## Data generator\n\n");
        out += &format!(
            "Produced by `{}` on {} (release build).\n\n",
            self.command, m.date
        );
        out += &format!(
            "Machine: {}, {} (shared_buffers {}, other settings default); \
             1-minute load average {} when loading started, {} when it ended; the \
             generator, its {} COPY sessions and the server share the machine.\n\n",
            m.hardware(),
            m.postgres,
            m.shared_buffers,
            m.load_average.0.as_deref().unwrap_or("unknown"),
            m.load_average.1.as_deref().unwrap_or("unknown"),
            self.jobs,
        );
        let (orgs, projects) = (self.nodes_by_kind[0], self.nodes_by_kind[1]);
        out += &format!(
            "Scale {}, seed {}: {} organizations (the largest has {} projects, the median {}), \
             {} projects, {} nodes in all ({}; by depth {}), {} of them restricted; \
             {} domain rows, {} rows in all.\n\n",
            self.scale,
            self.seed,
            report::thousands(orgs),
            report::thousands(u64::from(self.org_projects.0)),
            report::thousands(u64::from(self.org_projects.1)),
            report::thousands(projects),
            report::thousands(self.nodes_by_kind.iter().sum()),
            self.kinds(),
            self.nodes_by_depth
                .iter()
                .enumerate()
                .map(|(d, n)| format!("{d}: {}", report::thousands(*n)))
                .collect::<Vec<_>>()
                .join(", "),
            report::thousands(self.restricted),
            report::thousands(self.domain_rows()),
            report::thousands(self.total_rows()),
        );
        out += "| phase | seconds | share |\n|---|--:|--:|\n";
        for (phase, d) in self.phases() {
            out += &format!(
                "| {phase} | {:.1} | {:.0}% |\n",
                d.as_secs_f64(),
                100.0 * d.as_secs_f64() / load.as_secs_f64().max(f64::MIN_POSITIVE)
            );
        }
        out += &format!("| **load, in all** | **{:.1}** | |\n", load.as_secs_f64());
        if let Some(v) = self.timings.verify {
            out += &format!(
                "| integrity checks ({} queries; not part of the load) | {:.1} | |\n",
                self.checks.len(),
                v.as_secs_f64()
            );
        }
        out += "\n| table | rows | table + indexes |\n|---|--:|--:|\n";
        for t in &self.tables {
            out += &format!(
                "| {} | {} | {} |\n",
                t.table.qualified(),
                report::thousands(t.rows),
                mib(t.bytes)
            );
        }
        out += &format!(
            "| **in all** | **{}** | **{}** (database size) |\n\nNotes:\n\n",
            report::thousands(self.total_rows()),
            mib(self.database_bytes)
        );
        let (slowest, took) = self
            .phases()
            .into_iter()
            .max_by_key(|p| p.1)
            .unwrap_or_default();
        out += &format!(
            "- The largest phase: {slowest} ({:.0}% of the load).\n",
            100.0 * took.as_secs_f64() / load.as_secs_f64().max(f64::MIN_POSITIVE)
        );
        if self.scale >= 1.0 {
            out += &format!(
                "- Goal (issue 8), scale 1 loads in under 10 minutes: {} ({:.1} min).\n",
                if load < GOAL { "met" } else { "not met" },
                load.as_secs_f64() / 60.0
            );
        }
        out += "- Loading runs with `session_replication_role = replica`: no trigger fires \
                (foreign keys, ancestry, audit, actor columns), so the generator computes \
                `ancestors`, `depth`, detail rows and actor columns itself, and the integrity \
                checks then prove by query every foreign key, check constraint, ancestry, \
                detail row and grant rule.\n";
        if !self.checks.is_empty() {
            out += &format!(
                "- Integrity checks: {} run, {} broken.\n",
                self.checks.len(),
                self.violations().count()
            );
        }
        out += &format!("\n<!-- {FIGURES_TAG} {} -->\n", self.figures());
        out
    }

    /// The figures `bench targets` reads (JSON).
    pub fn figures(&self) -> serde_json::Value {
        serde_json::json!({
            "scale": self.scale,
            "orgs": self.nodes_by_kind[0],
            "projects": self.nodes_by_kind[1],
            "domain_rows": self.domain_rows(),
            "load_s": self.timings.load.as_secs_f64(),
            "database_bytes": self.database_bytes,
            "broken_checks": self.violations().count(),
        })
    }
}

fn mib(bytes: i64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A COPY of some organizations' rows of one table.
#[derive(Debug, Clone)]
struct Piece {
    table: Table,
    orgs: Vec<u32>,
    estimate: u64,
}

/// Generates the data set of `opts` into a new database on the server
/// behind `url` (any database there; a superuser is needed), and returns
/// what it loaded.
pub async fn generate(url: &str, opts: &Options) -> anyhow::Result<Summary> {
    hierarchy::check_database_name(&opts.database)?;
    ensure!(
        opts.scale.is_finite() && opts.scale > 0.0,
        "the scale must be above 0, got {}",
        opts.scale
    );
    ensure!(opts.jobs >= 1, "at least one job loads");
    let started = Instant::now();
    let mut timings = Timings::default();

    let (scale, seed) = (opts.scale, opts.seed);
    let plan = Arc::new(
        tokio::task::spawn_blocking(move || Plan::new(scale, seed))
            .await
            .context("drawing the plan")?,
    );
    timings.plan = started.elapsed();

    let phase = Instant::now();
    let admin = connect(url)
        .await
        .context("connecting to the PostgreSQL server")?;
    let superuser: bool = admin
        .query_one(
            "select rolsuper from pg_roles where rolname = current_user",
            &[],
        )
        .await
        .context("looking up the current role")?
        .get(0);
    ensure!(
        superuser,
        "loading needs a superuser (session_replication_role = replica switches \
         triggers off): connect as one with --url or DATABASE_URL"
    );
    let db_url = url_with_database(url, &opts.database);
    let mut client = create_database(&admin, &db_url, opts).await?;
    let mut machine = hierarchy::machine(&client).await?;
    let loaded: Vec<&str> = Table::ALL.iter().map(|t| t.qualified()).collect();
    let indexes = if opts.keep_indexes {
        Vec::new()
    } else {
        drop_secondary_indexes(&client, &loaded).await?
    };
    timings.schema = phase.elapsed();

    let phase = Instant::now();
    let rows = load(&plan, &db_url, opts.jobs).await?;
    timings.copy = phase.elapsed();

    let phase = Instant::now();
    rebuild_indexes(&db_url, &indexes, opts.jobs).await?;
    timings.indexes = phase.elapsed();

    let phase = Instant::now();
    let spinner = progress(1, "analyze");
    parallel(
        &db_url,
        opts.jobs,
        loaded.iter().map(|t| format!("analyze {t}")).collect(),
    )
    .await
    .context("analyzing the loaded tables")?;
    spinner.finish_and_clear();
    timings.analyze = phase.elapsed();

    // The roll-up triggers were off too: build the totals they would have
    // kept, as migration 0006 did for rows already there.
    let phase = Instant::now();
    let spinner = progress(1, "roll-up totals");
    client
        .batch_execute(
            "select private.rollup_rebuild(); \
             analyze private.rollup_own; analyze private.rollup_subtree",
        )
        .await
        .context("building the roll-up totals")?;
    spinner.finish_and_clear();
    timings.rollups = phase.elapsed();
    timings.load = started.elapsed();
    machine.load_average.1 = hierarchy::load_average();

    let mut checks = Vec::new();
    if opts.verify {
        let phase = Instant::now();
        let spinner = progress(1, "checking integrity");
        checks = verify(&mut client).await?;
        spinner.finish_and_clear();
        timings.verify = Some(phase.elapsed());
    }

    let mut tables = Vec::with_capacity(Table::COUNT);
    for table in Table::ALL {
        let bytes: i64 = client
            .query_one(
                "select pg_total_relation_size($1::text::regclass)",
                &[&table.qualified()],
            )
            .await
            .context("measuring the tables")?
            .get(0);
        tables.push(TableSummary {
            table,
            rows: rows[table as usize],
            bytes,
        });
    }
    let database_bytes: i64 = client
        .query_one("select pg_database_size(current_database())", &[])
        .await
        .context("measuring the database")?
        .get(0);
    drop(client);

    let db = quote_ident(&opts.database);
    admin
        .batch_execute(&format!(
            "comment on database {db} is {}",
            quote_literal(&opts.marker())
        ))
        .await
        .context("marking the database as loaded")?;

    let summary = summarize(
        opts,
        &plan,
        tables,
        timings,
        indexes.len(),
        database_bytes,
        checks,
        machine,
    );
    let broken: Vec<String> = summary
        .violations()
        .map(|c| format!("{} ({} rows)", c.name, c.violations))
        .collect();
    if !broken.is_empty() {
        bail!(
            "the loaded data breaks {} integrity rule(s) (database {} kept for a look): {}",
            broken.len(),
            opts.database,
            broken.join("; ")
        );
    }
    if let Some(path) = &opts.markdown {
        report::write_section(path, SECTION_START, SECTION_END, &summary.markdown())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if opts.drop {
        admin
            .batch_execute(&format!("drop database {db} with (force)"))
            .await
            .context("dropping the database")?;
    }
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    opts: &Options,
    plan: &Plan,
    tables: Vec<TableSummary>,
    timings: Timings,
    indexes_rebuilt: usize,
    database_bytes: i64,
    checks: Vec<Check>,
    machine: Machine,
) -> Summary {
    let n = &plan.nodes;
    let mut nodes_by_kind = [0u64; 5];
    let mut nodes_by_depth = Vec::new();
    for v in 0..n.len() {
        nodes_by_kind[n.kind[v] as usize] += 1;
        let d = usize::from(n.depth[v]);
        if nodes_by_depth.len() <= d {
            nodes_by_depth.resize(d + 1, 0);
        }
        nodes_by_depth[d] += 1;
    }
    let mut projects: Vec<u32> = plan.orgs.iter().map(|o| o.projects).collect();
    projects.sort_unstable();
    Summary {
        command: opts.command_line(),
        scale: opts.scale,
        seed: opts.seed,
        database: opts.database.clone(),
        tables,
        nodes_by_kind,
        nodes_by_depth,
        restricted: n.restricted.iter().filter(|&&r| r).count() as u64,
        org_projects: (
            projects.last().copied().unwrap_or(0),
            projects.get(projects.len() / 2).copied().unwrap_or(0),
        ),
        timings,
        indexes_rebuilt,
        jobs: opts.jobs,
        database_bytes,
        checks,
        machine,
    }
}

/// Creates (or re-creates, when the generator made it) the database,
/// marks it, migrates it, and returns a connection to it.
async fn create_database(admin: &Client, db_url: &str, opts: &Options) -> anyhow::Result<Client> {
    let existing: Option<Option<String>> = admin
        .query_opt(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = $1",
            &[&opts.database],
        )
        .await
        .context("looking for the database")?
        .map(|row| row.get(0));
    let db = quote_ident(&opts.database);
    if let Some(comment) = existing {
        if !comment.is_some_and(|c| c.starts_with(MARKER)) {
            bail!(
                "database {} exists and was not created by the generator: \
                 pick another --database, or drop it yourself",
                opts.database
            );
        }
        let sessions: i64 = admin
            .query_one(
                "select count(*) from pg_stat_activity \
                  where datname = $1 and backend_type = 'client backend'",
                &[&opts.database],
            )
            .await
            .context("looking for sessions on the database")?
            .get(0);
        ensure!(
            sessions == 0,
            "database {} is in use by {sessions} session(s): close them, or pick another --database",
            opts.database
        );
        admin
            .batch_execute(&format!("drop database {db} with (force)"))
            .await
            .context("dropping the previously generated database")?;
    }
    // Two statements: create database refuses the implicit transaction of a batch.
    admin
        .batch_execute(&format!("create database {db}"))
        .await
        .context("creating the database")?;
    admin
        .batch_execute(&format!(
            "comment on database {db} is {}",
            quote_literal(&format!("{MARKER}: loading"))
        ))
        .await
        .context("marking the database")?;
    let mut client = connect(db_url)
        .await
        .context("connecting to the new database")?;
    Migrator::embedded()
        .up(&mut client)
        .await
        .context("migrating the new database")?;
    Ok(client)
}

/// A secondary index: dropped before the load, created again after it.
#[derive(Debug, Clone)]
struct Index {
    table: String,
    name: String,
    definition: String,
}

/// Drops the indexes of `tables` that no constraint owns (primary keys,
/// unique and exclusion constraints stay and are checked during the load)
/// and returns their definitions, largest table first.
async fn drop_secondary_indexes(client: &Client, tables: &[&str]) -> anyhow::Result<Vec<Index>> {
    let tables: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
    let rows = client
        .query(
            "select n.nspname || '.' || t.relname, quote_ident(n.nspname) || '.' || quote_ident(i.relname),
                    pg_get_indexdef(x.indexrelid)
               from pg_index x
               join pg_class i on i.oid = x.indexrelid
               join pg_class t on t.oid = x.indrelid
               join pg_namespace n on n.oid = t.relnamespace
              where n.nspname || '.' || t.relname = any($1)
                and not exists (select from pg_constraint c
                                 where c.conindid = x.indexrelid and c.conrelid = x.indrelid
                                   and c.contype in ('p', 'u', 'x'))
              order by 1, 2",
            &[&tables],
        )
        .await
        .context("reading the secondary indexes")?;
    let indexes: Vec<Index> = rows
        .iter()
        .map(|r| {
            Ok(Index {
                table: r.try_get(0)?,
                name: r.try_get(1)?,
                definition: r.try_get(2)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()?;
    if !indexes.is_empty() {
        let names: Vec<&str> = indexes.iter().map(|i| i.name.as_str()).collect();
        client
            .batch_execute(&format!("drop index {}", names.join(", ")))
            .await
            .context("dropping the secondary indexes")?;
    }
    Ok(indexes)
}

/// Creates the indexes again, `jobs` at a time, the biggest tables first.
async fn rebuild_indexes(db_url: &str, indexes: &[Index], jobs: usize) -> anyhow::Result<()> {
    if indexes.is_empty() {
        return Ok(());
    }
    let sizes: std::collections::HashMap<String, i64> = {
        let client = connect(db_url).await?;
        let rows = client
            .query(
                "select n.nspname || '.' || c.relname, pg_relation_size(c.oid)
                   from pg_class c join pg_namespace n on n.oid = c.relnamespace
                  where c.relkind = 'r'",
                &[],
            )
            .await
            .context("measuring the tables")?;
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    };
    let mut ordered = indexes.to_vec();
    // GIN builds are the slowest per row: start them early
    ordered.sort_by_key(|i| {
        let gin = i.definition.contains("USING gin");
        std::cmp::Reverse((
            sizes.get(&i.table).copied().unwrap_or(0) * if gin { 4 } else { 1 },
            i.name.clone(),
        ))
    });
    let bar = progress(indexes.len() as u64, "rebuilding indexes");
    let statements = ordered.into_iter().map(|i| i.definition).collect();
    let result = parallel_with(db_url, jobs, statements, Some(&bar)).await;
    bar.finish_and_clear();
    result.context("rebuilding the secondary indexes")
}

/// Runs `statements` over `jobs` connections, each taking the next one.
async fn parallel(db_url: &str, jobs: usize, statements: Vec<String>) -> anyhow::Result<()> {
    parallel_with(db_url, jobs, statements, None).await
}

async fn parallel_with(
    db_url: &str,
    jobs: usize,
    statements: Vec<String>,
    bar: Option<&ProgressBar>,
) -> anyhow::Result<()> {
    let queue = Mutex::new(VecDeque::from(statements));
    let worker = || async {
        let client = connect(db_url).await?;
        // each session builds alone: the jobs already use the cores
        client
            .batch_execute(
                "set maintenance_work_mem = '256MB'; set max_parallel_maintenance_workers = 0",
            )
            .await?;
        loop {
            let next = queue
                .lock()
                .map_err(|_| anyhow::anyhow!("a job panicked"))?
                .pop_front();
            let Some(statement) = next else {
                return anyhow::Ok(());
            };
            client
                .batch_execute(&statement)
                .await
                .with_context(|| statement.clone())?;
            if let Some(bar) = bar {
                bar.inc(1);
            }
        }
    };
    futures_util::future::try_join_all((0..jobs).map(|_| worker())).await?;
    Ok(())
}

/// Loads every table over `jobs` connections; returns the rows per table.
async fn load(plan: &Arc<Plan>, db_url: &str, jobs: usize) -> anyhow::Result<[u64; Table::COUNT]> {
    let pieces = pieces(plan);
    let bar = progress(pieces.iter().map(|p| p.estimate).sum(), "loading rows");
    let queue = Mutex::new(VecDeque::from(pieces));
    let ids = Arc::new(Ids::new(plan.seed));
    let rows = Mutex::new([0u64; Table::COUNT]);
    let worker = || async {
        let client = connect(db_url).await?;
        // No triggers: no foreign-key checks, audit events, actor columns
        // or ancestry maintenance (the plan computed it). Checked after.
        client
            .batch_execute("set session_replication_role = replica; set synchronous_commit = off")
            .await
            .context("preparing a loading session")?;
        loop {
            let next = queue
                .lock()
                .map_err(|_| anyhow::anyhow!("a job panicked"))?
                .pop_front();
            let Some(piece) = next else {
                return anyhow::Ok(());
            };
            let table = piece.table;
            let n = copy_piece(&client, Arc::clone(plan), Arc::clone(&ids), piece, &bar).await?;
            rows.lock().map_err(|_| anyhow::anyhow!("a job panicked"))?[table as usize] += n;
        }
    };
    futures_util::future::try_join_all((0..jobs).map(|_| worker())).await?;
    bar.finish_and_clear();
    let rows = rows.lock().map_err(|_| anyhow::anyhow!("a job panicked"))?;
    Ok(*rows)
}

/// Every table cut into pieces of whole organizations, the largest first
/// (so the last pieces are small and both jobs finish together).
fn pieces(plan: &Plan) -> Vec<Piece> {
    let mut pieces = Vec::new();
    for table in Table::ALL {
        let mut piece = Piece {
            table,
            orgs: Vec::new(),
            estimate: 0,
        };
        for o in 0..plan.orgs.len() as u32 {
            let estimate = rows::estimate(plan, table, o);
            if piece.estimate + estimate > PIECE_ROWS && !piece.orgs.is_empty() {
                pieces.push(std::mem::replace(
                    &mut piece,
                    Piece {
                        table,
                        orgs: Vec::new(),
                        estimate: 0,
                    },
                ));
            }
            piece.orgs.push(o);
            piece.estimate += estimate;
        }
        if !piece.orgs.is_empty() {
            pieces.push(piece);
        }
    }
    pieces.sort_by_key(|p| {
        (
            std::cmp::Reverse(p.estimate),
            p.table,
            p.orgs.first().copied(),
        )
    });
    pieces
}

/// One COPY: a generator thread encodes the piece's rows, this task
/// forwards them to the server.
async fn copy_piece(
    client: &Client,
    plan: Arc<Plan>,
    ids: Arc<Ids>,
    piece: Piece,
    bar: &ProgressBar,
) -> anyhow::Result<u64> {
    let table = piece.table;
    let (tx, mut rx) = mpsc::channel::<(Bytes, u64)>(CHANNEL_CHUNKS);
    let generator = tokio::task::spawn_blocking(move || {
        let mut w = CopyWriter::new(tx);
        for &o in &piece.orgs {
            rows::write_org(&plan, &ids, piece.table, o, &mut w)?;
        }
        w.finish()
    });
    let statement = format!(
        "copy {} ({}) from stdin (format binary)",
        table.qualified(),
        table.columns()
    );
    let sink = client
        .copy_in::<_, Bytes>(&statement)
        .await
        .with_context(|| format!("starting the COPY into {}", table.qualified()))?;
    let mut sink = std::pin::pin!(sink);
    while let Some((chunk, rows)) = rx.recv().await {
        sink.send(chunk)
            .await
            .with_context(|| format!("loading {}", table.qualified()))?;
        bar.inc(rows);
    }
    let loaded = sink
        .as_mut()
        .finish()
        .await
        .with_context(|| format!("loading {}", table.qualified()))?;
    let written = generator
        .await
        .context("the generator thread")?
        .map_err(|_| anyhow::anyhow!("the COPY into {} ended early", table.qualified()))?;
    ensure!(
        written == loaded,
        "{}: generated {written} rows, the server took {loaded}",
        table.qualified()
    );
    Ok(loaded)
}
