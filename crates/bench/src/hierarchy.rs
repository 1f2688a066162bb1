//! `showtree bench hierarchy`: the stored ancestry of `showtree.nodes`
//! (ancestors array, materialized-path index) against recursive CTEs over
//! `parent_id` on the same generated tree, in the same run, with the same
//! answers checked on every sample.

pub(crate) mod tree;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use showtree_core::NodeKind;
use showtree_db::connect::url_with_database;
use showtree_db::migrate::Migrator;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};
use uuid::Uuid;

use crate::report::{self, Latency};
use tree::{Ix, Tree};

/// Default of `--nodes`.
pub const DEFAULT_NODES: u32 = 1_000_000;
/// Default of `--samples`.
pub const DEFAULT_SAMPLES: u32 = 2_000;
/// Default of `--seed`.
pub const DEFAULT_SEED: u64 = 1;
/// Default of `--database`.
pub const DEFAULT_DATABASE: &str = "showtree_bench_hierarchy";
/// Default of `--move-descendants`.
pub const DEFAULT_MOVE_DESCENDANTS: u32 = 10_000;
/// Default of `--moves`.
pub const DEFAULT_MOVES: u32 = 10;

/// Rows per subtree page, as the API serves them.
const PAGE: u32 = 1_000;
/// Rows per insert statement while loading.
const LOAD_BATCH: usize = 10_000;
/// Bump when the generator changes, so `--reuse` never reuses an old tree.
const GENERATOR_VERSION: u32 = 1;
/// Every database this benchmark creates carries a comment starting so; it
/// never drops a database without it.
const MARKER: &str = "showtree bench hierarchy";
/// Mixed into the seed for drawing samples, so they are not the tree's random stream.
const SAMPLE_STREAM: u64 = 0x5341_4d50_4c45_5321; // "SAMPLES!"
/// Where the results go in the markdown file.
const SECTION_START: &str = "<!-- bench:hierarchy:start -->";
const SECTION_END: &str = "<!-- bench:hierarchy:end -->";

/// Options of `showtree bench hierarchy`.
#[derive(Debug, Clone, clap::Args)]
pub struct HierarchyArgs {
    /// Generate a tree of at least this many nodes (the move fixture included).
    #[arg(long, default_value_t = DEFAULT_NODES, value_parser = clap::value_parser!(u32).range(2..))]
    pub nodes: u32,
    /// Timed queries per operation and design.
    #[arg(long, default_value_t = DEFAULT_SAMPLES, value_parser = clap::value_parser!(u32).range(1..))]
    pub samples: u32,
    /// Seed of the tree and of the samples.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Keep the database afterwards (it is dropped otherwise).
    #[arg(long)]
    pub keep: bool,
    /// Reuse the database when it already holds the tree these options generate.
    #[arg(long)]
    pub reuse: bool,
    /// The database to (re)create; it must not exist or have been created by this benchmark.
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// Write the results into this markdown file (between the bench:hierarchy markers).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Descendants of the production the move test moves.
    #[arg(long, default_value_t = DEFAULT_MOVE_DESCENDANTS, value_parser = clap::value_parser!(u32).range(1..))]
    pub move_descendants: u32,
    /// Round trips (there and back) of the move test.
    #[arg(long, default_value_t = DEFAULT_MOVES, value_parser = clap::value_parser!(u32).range(1..))]
    pub moves: u32,
}

impl Default for HierarchyArgs {
    fn default() -> Self {
        HierarchyArgs {
            nodes: DEFAULT_NODES,
            samples: DEFAULT_SAMPLES,
            seed: DEFAULT_SEED,
            keep: false,
            reuse: false,
            database: DEFAULT_DATABASE.to_owned(),
            markdown: None,
            move_descendants: DEFAULT_MOVE_DESCENDANTS,
            moves: DEFAULT_MOVES,
        }
    }
}

impl HierarchyArgs {
    /// The command that reproduces this run, as a user types it.
    pub fn command_line(&self) -> String {
        let mut cmd = format!("showtree bench hierarchy --nodes {}", self.nodes);
        if self.samples != DEFAULT_SAMPLES {
            cmd += &format!(" --samples {}", self.samples);
        }
        if self.seed != DEFAULT_SEED {
            cmd += &format!(" --seed {}", self.seed);
        }
        if self.move_descendants != DEFAULT_MOVE_DESCENDANTS {
            cmd += &format!(" --move-descendants {}", self.move_descendants);
        }
        if self.moves != DEFAULT_MOVES {
            cmd += &format!(" --moves {}", self.moves);
        }
        if self.database != DEFAULT_DATABASE {
            cmd += &format!(" --database {}", self.database);
        }
        if self.reuse {
            cmd += " --reuse";
        }
        if self.keep {
            cmd += " --keep";
        }
        if let Some(path) = &self.markdown {
            cmd += &format!(" --markdown {}", path.display());
        }
        cmd
    }

    /// What the database comment says once the tree these options describe is loaded.
    fn marker(&self) -> String {
        format!(
            "{MARKER}: generator {GENERATOR_VERSION}, nodes {}, move {}, seed {}, migrations {}",
            self.nodes,
            self.move_descendants,
            self.seed,
            Migrator::embedded().fingerprint()
        )
    }
}

/// One read operation, measured on both designs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Root..parent of a node, weighted toward deep nodes.
    Ancestors,
    /// Live children of a non-leaf node, by name.
    Children,
    /// The first 1,000 descendants (pre-order) of a node with a large subtree.
    SubtreeFirstPage,
    /// 1,000 descendants after a cursor somewhere inside a large subtree.
    SubtreeLaterPage,
}

impl Operation {
    /// Every operation, in report order.
    pub const ALL: [Operation; 4] = [
        Operation::Ancestors,
        Operation::Children,
        Operation::SubtreeFirstPage,
        Operation::SubtreeLaterPage,
    ];

    /// Its name in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Operation::Ancestors => "ancestors",
            Operation::Children => "children",
            Operation::SubtreeFirstPage => "subtree, first 1,000-row page",
            Operation::SubtreeLaterPage => "subtree, later 1,000-row page",
        }
    }
}

/// Latencies of one operation on both designs.
#[derive(Debug, Clone)]
pub struct OperationResult {
    /// Which operation.
    pub operation: Operation,
    /// How the stored ancestry was queried (the API's function, or its SQL inline).
    pub variant: &'static str,
    /// The stored ancestry.
    pub stored: Latency,
    /// The recursive CTE over `parent_id` (for children: the plain parent-index query).
    pub baseline: Latency,
    /// Samples whose answers (and the generator's expectation) were checked equal.
    pub verified: u32,
    /// Rows returned per sample, on average.
    pub mean_rows: f64,
}

impl OperationResult {
    /// Baseline p50 over stored p50.
    pub fn ratio_p50(&self) -> f64 {
        ratio(self.baseline.p50_us, self.stored.p50_us)
    }

    /// Baseline p95 over stored p95.
    pub fn ratio_p95(&self) -> f64 {
        ratio(self.baseline.p95_us, self.stored.p95_us)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b.max(1) as f64
}

/// The move test: a production and all its descendants change project.
#[derive(Debug, Clone)]
pub struct MoveResult {
    /// Time of each whole move transaction (begin to commit).
    pub latency: Latency,
    /// Rows whose ancestry each move rewrote (the production and its descendants).
    pub rows_rewritten: u64,
}

/// The shape of the generated tree.
#[derive(Debug, Clone)]
pub struct TreeFacts {
    /// Nodes in all.
    pub nodes: usize,
    /// Nodes of each kind, in [`NodeKind::ALL`] order.
    pub by_kind: [usize; 5],
    /// Nodes on each depth, from 0.
    pub by_depth: Vec<usize>,
    /// Nodes of the largest organization.
    pub largest_org: u32,
    /// Nodes of the median organization.
    pub median_org: u32,
    /// Time the load took (insert through the triggers, then vacuum analyze), `None` when reused.
    pub load: Option<Duration>,
    /// Subtree-page roots drawn from: organizations, projects, productions.
    pub subtree_roots: [usize; 3],
    /// Median descendants of those roots.
    pub subtree_roots_median: u32,
    /// Most descendants of those roots.
    pub subtree_roots_max: u32,
}

/// Where the run happened.
#[derive(Debug, Clone)]
pub struct Machine {
    /// `std::thread::available_parallelism`.
    pub cores: usize,
    /// `MemTotal` of `/proc/meminfo`, in bytes, where the system tells it.
    pub memory: Option<u64>,
    /// `select version()`.
    pub postgres: String,
    /// `show shared_buffers`, then every setting of [`REPORTED_SETTINGS`]
    /// that differs from PostgreSQL's built-in default (`autovacuum off`,
    /// ...): the sections print "other settings default" after it.
    pub shared_buffers: String,
    /// The run's date (UTC), from the server.
    pub date: String,
    /// The 1-minute load average (`/proc/loadavg`) when measuring started
    /// and when it ended: other work on a small machine moves the tails.
    pub load_average: (Option<String>, Option<String>),
}

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct HierarchyReport {
    /// The command that reproduces it.
    pub command: String,
    /// The options it ran with.
    pub samples: u32,
    /// The tree it ran on.
    pub tree: TreeFacts,
    /// One entry per [`Operation`].
    pub operations: Vec<OperationResult>,
    /// The move test.
    pub moves: MoveResult,
    /// The machine.
    pub machine: Machine,
}

/// Runs the benchmark against the server behind `admin_url` (its
/// maintenance database); writes the markdown file when asked to.
pub async fn run(args: &HierarchyArgs, admin_url: &str) -> anyhow::Result<HierarchyReport> {
    check_database_name(&args.database)?;
    tracing::info!(nodes = args.nodes, seed = args.seed, "generating the tree");
    let tree = Tree::generate(args.nodes, args.move_descendants, args.seed);
    let admin = connect(admin_url)
        .await
        .context("connecting to the maintenance database")?;
    let db_url = url_with_database(admin_url, &args.database);
    let (mut client, load) = prepare_database(args, &admin, &db_url, &tree).await?;

    let mut machine = machine(&client).await?;
    let mut rng = StdRng::seed_from_u64(args.seed ^ SAMPLE_STREAM);
    let population = Population::new(&tree);
    let mut operations = Vec::new();
    for op in Operation::ALL {
        operations.extend(measure(&client, &tree, &population, op, args.samples, &mut rng).await?);
    }
    let moves = measure_moves(&mut client, &tree, args.moves).await?;
    machine.load_average.1 = load_average();
    drop(client);

    if !args.keep {
        admin
            .batch_execute(&format!(
                "drop database {} with (force)",
                quote_ident(&args.database)
            ))
            .await
            .context("dropping the benchmark database")?;
    }

    let mut roots = [0; 3];
    for &v in &population.large {
        roots[NodeKind::ALL
            .iter()
            .position(|&k| k == tree.kind[v as usize])
            .unwrap_or(0)] += 1;
    }
    let mut root_sizes: Vec<u32> = population
        .large
        .iter()
        .map(|&v| tree.descendants(v))
        .collect();
    root_sizes.sort_unstable();
    let organizations = tree.organizations();
    let mut org_sizes: Vec<u32> = organizations
        .iter()
        .map(|&o| tree.descendants(o) + 1)
        .collect();
    org_sizes.sort_unstable();
    let report = HierarchyReport {
        command: args.command_line(),
        samples: args.samples,
        tree: TreeFacts {
            nodes: tree.len(),
            by_kind: tree.count_by_kind(),
            by_depth: tree.count_by_depth(),
            largest_org: org_sizes.last().copied().unwrap_or(0),
            median_org: org_sizes.get(org_sizes.len() / 2).copied().unwrap_or(0),
            load,
            subtree_roots: roots,
            subtree_roots_median: root_sizes.get(root_sizes.len() / 2).copied().unwrap_or(0),
            subtree_roots_max: root_sizes.last().copied().unwrap_or(0),
        },
        operations,
        moves,
        machine,
    };
    if let Some(path) = &args.markdown {
        report::write_section(path, SECTION_START, SECTION_END, &report.markdown())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report)
}

/// Database names are quoted anyway; this keeps them to what a shell and a
/// reader handle without surprises, and keeps the maintenance databases safe.
pub(crate) fn check_database_name(name: &str) -> anyhow::Result<()> {
    let plain = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    ensure!(
        plain,
        "--database must be a lowercase identifier (a-z, 0-9, _), got {name:?}"
    );
    ensure!(
        !matches!(name, "postgres" | "template0" | "template1"),
        "--database {name} is a maintenance database: pick another name"
    );
    Ok(())
}

pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub(crate) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

pub(crate) async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "benchmark connection closed with an error");
        }
    });
    Ok(client)
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub(crate) fn progress(len: u64, message: &'static str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:32} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

/// Returns a connection to the benchmark database holding `tree`, and the
/// load time when it had to be loaded.
async fn prepare_database(
    args: &HierarchyArgs,
    admin: &Client,
    db_url: &str,
    tree: &Tree,
) -> anyhow::Result<(Client, Option<Duration>)> {
    let expected = args.marker();
    let existing: Option<Option<String>> = admin
        .query_opt(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = $1",
            &[&args.database],
        )
        .await
        .context("looking for the benchmark database")?
        .map(|row| row.get(0));
    if existing.is_some() {
        // Two runs on one database would drop it under each other.
        let sessions: i64 = admin
            .query_one(
                "select count(*) from pg_stat_activity \
                  where datname = $1 and backend_type = 'client backend'",
                &[&args.database],
            )
            .await
            .context("looking for sessions on the benchmark database")?
            .get(0);
        ensure!(
            sessions == 0,
            "database {} is in use by {sessions} session(s), another benchmark run perhaps: \
             wait for it to finish, or pick another --database",
            args.database
        );
    }

    if args.reuse
        && existing
            .as_ref()
            .is_some_and(|c| c.as_deref() == Some(&expected))
    {
        let client = connect(db_url)
            .await
            .context("connecting to the benchmark database")?;
        if holds_tree(&client, tree).await? {
            tracing::info!(database = %args.database, "reusing the loaded tree");
            return Ok((client, None));
        }
    }
    if let Some(comment) = existing {
        if !comment.is_some_and(|c| c.starts_with(MARKER)) {
            bail!(
                "database {} exists and was not created by this benchmark: \
                 pick another --database, or drop it yourself",
                args.database
            );
        }
        admin
            .batch_execute(&format!(
                "drop database {} with (force)",
                quote_ident(&args.database)
            ))
            .await
            .context("dropping the previous benchmark database")?;
    }
    let db = quote_ident(&args.database);
    // Two statements: create database refuses the implicit transaction of a batch.
    admin
        .batch_execute(&format!("create database {db}"))
        .await
        .context("creating the benchmark database")?;
    admin
        .batch_execute(&format!(
            "comment on database {db} is {}",
            quote_literal(&format!("{MARKER}: loading"))
        ))
        .await
        .context("marking the benchmark database")?;

    let mut client = connect(db_url)
        .await
        .context("connecting to the benchmark database")?;
    Migrator::embedded()
        .up(&mut client)
        .await
        .context("migrating the benchmark database")?;
    let second = connect(db_url)
        .await
        .context("connecting to the benchmark database")?;
    let started = Instant::now();
    load_split(&client, Some(&second), tree).await?;
    drop(second);
    let spinner = progress(1, "vacuum analyze");
    // A long-lived table is vacuumed by autovacuum: visibility map set,
    // hint bits written. Without this the first timed reads would pay for it.
    client
        .batch_execute("vacuum (analyze)")
        .await
        .context("vacuum analyze")?;
    spinner.finish_and_clear();
    let load_time = started.elapsed();
    admin
        .batch_execute(&format!(
            "comment on database {db} is {}",
            quote_literal(&expected)
        ))
        .await
        .context("marking the benchmark database as loaded")?;
    tracing::info!(seconds = load_time.as_secs_f64(), "tree loaded");
    Ok((client, Some(load_time)))
}

/// Whether the database holds exactly `tree` with the move fixture at home
/// (an interrupted move test may have left it away).
async fn holds_tree(client: &Client, tree: &Tree) -> anyhow::Result<bool> {
    if !Migrator::embedded().is_current(client).await? {
        return Ok(false);
    }
    let f = tree.fixture;
    let row = client
        .query_one(
            "select (select count(*) from showtree.nodes), \
                    (select parent_id from showtree.nodes where org_id = $1 and id = $2)",
            &[&tree.org_id(f.production), &tree.id[f.production as usize]],
        )
        .await
        .context("checking the loaded tree")?;
    let count: i64 = row.get(0);
    let parent: Option<Uuid> = row.get(1);
    Ok(usize::try_from(count).ok() == Some(tree.len()) && parent == Some(tree.id[f.home as usize]))
}

/// The statement that inserts one batch of one level.
const INSERT_NODES: &str = "insert into showtree.nodes (org_id, id, parent_id, kind, name, slug) \
     select u.org_id, u.id, u.parent_id, $4::text::showtree.node_kind, \
            initcap($4::text) || ' ' || (u.n + 1), $4::text || '-' || (u.n + 1) \
       from unnest($1::uuid[], $2::uuid[], $3::uuid[], $5::int4[]) as u(org_id, id, parent_id, n)";

/// Inserts the tree level by level, set-based (`unnest` of arrays), through
/// the triggers that compute ancestry and create the detail rows.
pub(crate) async fn load(client: &Client, tree: &Tree) -> anyhow::Result<()> {
    load_split(client, None, tree).await
}

/// [`load`], with the organizations shared out between `first` and
/// `second` (when given) so both cores work: no two sessions ever touch the
/// same organization, so they never wait on each other's row locks.
async fn load_split(first: &Client, second: Option<&Client>, tree: &Tree) -> anyhow::Result<()> {
    let first_insert = first
        .prepare(INSERT_NODES)
        .await
        .context("preparing the load")?;
    let second = match second {
        Some(c) => Some((
            c,
            c.prepare(INSERT_NODES)
                .await
                .context("preparing the load")?,
        )),
        None => None,
    };
    // Largest organization first, each to the session with fewer nodes so far.
    let mut on_second = vec![false; tree.len()];
    if second.is_some() {
        let mut orgs = tree.organizations().to_vec();
        orgs.sort_unstable_by_key(|&o| std::cmp::Reverse(tree.descendants(o)));
        let mut sizes = [0u64; 2];
        for o in orgs {
            let lighter = usize::from(sizes[1] < sizes[0]);
            sizes[lighter] += u64::from(tree.descendants(o)) + 1;
            on_second[o as usize] = lighter == 1;
        }
    }

    let bar = progress(tree.len() as u64, "inserting nodes");
    for level in &tree.levels {
        let (theirs, mine): (Vec<Ix>, Vec<Ix>) = level
            .iter()
            .partition(|&&v| on_second[tree.org[v as usize] as usize]);
        let first_part = insert_nodes(first, &first_insert, tree, &mine, &bar);
        let second_part = async {
            match &second {
                Some((c, insert)) => insert_nodes(c, insert, tree, &theirs, &bar).await,
                None => Ok(()),
            }
        };
        tokio::try_join!(first_part, second_part)?;
        // The plans a session caches for the foreign-key checks and the
        // triggers' lookups are made while the table is tiny, where a
        // sequential scan wins, and are kept as it grows: inserts turn
        // quadratic (2.3 ms a row at 20,000 nodes). Fresh statistics
        // invalidate them (in every session), so the next level plans
        // index scans.
        first
            .batch_execute(
                "analyze showtree.nodes, showtree.organizations, showtree.projects, \
                 showtree.productions, showtree.activations, showtree.workspaces",
            )
            .await
            .context("analyzing between levels")?;
    }
    bar.finish_and_clear();
    Ok(())
}

/// Inserts `nodes` (all of one level) in batches.
async fn insert_nodes(
    client: &Client,
    insert: &Statement,
    tree: &Tree,
    nodes: &[Ix],
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    for batch in nodes.chunks(LOAD_BATCH) {
        let kind = tree.kind[batch[0] as usize].as_str();
        let org_ids: Vec<Uuid> = batch.iter().map(|&v| tree.org_id(v)).collect();
        let ids: Vec<Uuid> = batch.iter().map(|&v| tree.id[v as usize]).collect();
        let parents: Vec<Option<Uuid>> = batch
            .iter()
            .map(|&v| tree.parent(v).map(|p| tree.id[p as usize]))
            .collect();
        let ns = batch
            .iter()
            .map(|&v| i32::try_from(tree.sibling[v as usize]))
            .collect::<Result<Vec<i32>, _>>()
            .context("sibling index out of range")?;
        client
            .execute(insert, &[&org_ids, &ids, &parents, &kind, &ns])
            .await
            .context("inserting nodes")?;
        bar.inc(batch.len() as u64);
    }
    Ok(())
}

/// Settings that move benchmark figures, named in each section when they
/// are not PostgreSQL's defaults (`shared_buffers` and `max_connections`
/// are always named).
pub(crate) const REPORTED_SETTINGS: [&str; 13] = [
    "autovacuum",
    "checkpoint_timeout",
    "effective_cache_size",
    "fsync",
    "full_page_writes",
    "jit",
    "maintenance_work_mem",
    "max_wal_size",
    "random_page_cost",
    "synchronous_commit",
    "wal_level",
    "work_mem",
    "huge_pages",
];

/// The machine and server facts every section prints.
pub(crate) async fn machine(client: &Client) -> anyhow::Result<Machine> {
    let row = client
        .query_one(
            "select version(), current_setting('shared_buffers'), \
                    to_char(now() at time zone 'UTC', 'YYYY-MM-DD'), \
                    (select string_agg(name || ' ' || current_setting(name), ', ' order by name) \
                       from pg_settings \
                      where name = any($1) and setting is distinct from boot_val)",
            &[&&REPORTED_SETTINGS[..]],
        )
        .await
        .context("reading the server's version and settings")?;
    let changed: Option<String> = row.get(3);
    let shared_buffers: String = row.get(1);
    Ok(Machine {
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        memory: memory_total(),
        postgres: row.get(0),
        shared_buffers: match changed {
            Some(changed) => format!("{shared_buffers}, {changed}"),
            None => shared_buffers,
        },
        date: row.get(2),
        load_average: (load_average(), None),
    })
}

/// `MemTotal` of `/proc/meminfo` in bytes, where the system tells it.
pub(crate) fn memory_total() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Machine {
    /// "2 cores, 23.4 GiB of memory", as the sections print it.
    pub fn hardware(&self) -> String {
        match self.memory {
            Some(bytes) => format!(
                "{} cores, {:.1} GiB of memory",
                self.cores,
                bytes as f64 / f64::from(1u32 << 30)
            ),
            None => format!("{} cores", self.cores),
        }
    }
}

/// The 1-minute load average, where the system tells it.
pub(crate) fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
}

/// The columns both designs return, compared row by row.
const COLUMNS: &str = "id, parent_id, kind::text, name";

/// One answer: (id, parent_id, kind, name) per row.
type Answer = Vec<(Uuid, Option<Uuid>, String, String)>;

fn answer(rows: &[Row]) -> anyhow::Result<Answer> {
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect()
}

/// What a query takes after `($1 org_id, $2 id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    /// Nothing.
    None,
    /// The path (`ancestors || id`) of the previous page's last row, or null.
    Path,
    /// The same path from the subtree's root on (what the CTE builds), or null.
    RelativePath,
}

/// One prepared query and how to call it.
struct Query {
    label: &'static str,
    statement: Statement,
    cursor: Cursor,
}

/// The queries of one operation: the stored-ancestry variants and the baseline.
struct Queries {
    stored: Vec<Query>,
    baseline: Query,
}

async fn query(
    c: &Client,
    label: &'static str,
    sql: &str,
    cursor: Cursor,
) -> anyhow::Result<Query> {
    Ok(Query {
        label,
        statement: c
            .prepare(sql)
            .await
            .with_context(|| format!("preparing {label}"))?,
        cursor,
    })
}

/// Labels of the stored variants.
const FUNCTION_ANCESTORS: &str = "showtree.node_ancestors()";
const FUNCTION_CHILDREN: &str = "showtree.node_children()";
const FUNCTION_SUBTREE: &str = "showtree.node_subtree()";
const DIRECT_ANCESTORS: &str = "direct query on ancestors";
const DIRECT_SUBTREE: &str = "direct path-range query";

/// Prepares the queries of `op` on `c`.
async fn prepare(c: &Client, op: Operation) -> anyhow::Result<Queries> {
    Ok(match op {
        Operation::Ancestors => Queries {
            stored: vec![
                query(
                    c,
                    FUNCTION_ANCESTORS,
                    &format!("select {COLUMNS} from showtree.node_ancestors($1, $2)"),
                    Cursor::None,
                )
                .await?,
                // The body of node_ancestors as a statement of its own: what
                // the call would cost if PostgreSQL could inline the function.
                query(
                    c,
                    DIRECT_ANCESTORS,
                    "select a.id, a.parent_id, a.kind::text, a.name \
                       from showtree.nodes n \
                      cross join lateral unnest(n.ancestors) with ordinality as u(id, ord) \
                       join showtree.nodes a on a.org_id = n.org_id and a.id = u.id \
                      where n.org_id = $1 and n.id = $2 and n.deleted_at is null \
                      order by u.ord",
                    Cursor::None,
                )
                .await?,
            ],
            // Walks up parent_id, then returns root..parent.
            baseline: query(
                c,
                "recursive CTE",
                &format!(
                    "with recursive up (id, parent_id, kind, name, lvl) as ( \
                       select n.id, n.parent_id, n.kind, n.name, 0 \
                         from showtree.nodes n \
                        where n.org_id = $1 and n.id = $2 and n.deleted_at is null \
                       union all \
                       select p.id, p.parent_id, p.kind, p.name, up.lvl + 1 \
                         from up \
                         join showtree.nodes p on p.org_id = $1 and p.id = up.parent_id \
                     ) \
                     select {COLUMNS} from up where lvl > 0 order by lvl desc"
                ),
                Cursor::None,
            )
            .await?,
        },
        Operation::Children => Queries {
            stored: vec![
                query(
                    c,
                    FUNCTION_CHILDREN,
                    &format!("select {COLUMNS} from showtree.node_children($1, $2)"),
                    Cursor::None,
                )
                .await?,
            ],
            baseline: query(
                c,
                "parent-index query",
                &format!(
                    "select {COLUMNS} from showtree.nodes \
                      where org_id = $1 and parent_id = $2 and deleted_at is null \
                      order by name, id"
                ),
                Cursor::None,
            )
            .await?,
        },
        Operation::SubtreeFirstPage | Operation::SubtreeLaterPage => Queries {
            stored: vec![
                query(
                    c,
                    FUNCTION_SUBTREE,
                    &format!("select {COLUMNS} from showtree.node_subtree($1, $2, null, $3, {PAGE})"),
                    Cursor::Path,
                )
                .await?,
                // One range of the path index, its bounds read first (the
                // subqueries run once, as init plans, so the range is an
                // index condition rather than a join filter).
                query(
                    c,
                    DIRECT_SUBTREE,
                    &format!(
                        "select d.id, d.parent_id, d.kind::text, d.name \
                           from showtree.nodes d \
                          where d.org_id = $1 \
                            and (d.ancestors || d.id) > greatest($3::uuid[], \
                                  (select r.ancestors || r.id from showtree.nodes r \
                                    where r.org_id = $1 and r.id = $2 and r.deleted_at is null)) \
                            and (d.ancestors || d.id) < \
                                  (select r.ancestors || r.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid \
                                     from showtree.nodes r \
                                    where r.org_id = $1 and r.id = $2 and r.deleted_at is null) \
                            and d.deleted_at is null \
                          order by (d.ancestors || d.id) \
                          limit {PAGE}"
                    ),
                    Cursor::Path,
                )
                .await?,
            ],
            // Walks down parent_id building each row's path from the root,
            // then sorts the whole subtree by it: the same pre-order as the
            // stored path.
            baseline: query(
                c,
                "recursive CTE",
                &format!(
                    "with recursive sub (id, parent_id, kind, name, path) as ( \
                       select n.id, n.parent_id, n.kind, n.name, array[n.id] \
                         from showtree.nodes n \
                        where n.org_id = $1 and n.id = $2 and n.deleted_at is null \
                       union all \
                       select c.id, c.parent_id, c.kind, c.name, sub.path || c.id \
                         from sub \
                         join showtree.nodes c on c.org_id = $1 and c.parent_id = sub.id \
                        where c.deleted_at is null \
                     ) \
                     select {COLUMNS} from sub \
                      where path > coalesce($3::uuid[], array[$2::uuid]) \
                      order by path \
                      limit {PAGE}"
                ),
                Cursor::RelativePath,
            )
            .await?,
        },
    })
}

/// Where samples are drawn from.
struct Population {
    /// Every node with at least one ancestor.
    non_roots: Vec<Ix>,
    /// Every node with at least one child.
    parents: Vec<Ix>,
    /// Organizations, projects and productions with the largest subtrees.
    large: Vec<Ix>,
    /// Deepest depth in the tree.
    max_depth: u8,
}

impl Population {
    fn new(tree: &Tree) -> Population {
        let all = 0..tree::ix(tree.len());
        let non_roots = all
            .clone()
            .filter(|&v| tree.depth[v as usize] > 0)
            .collect();
        let parents = all.clone().filter(|&v| tree.descendants(v) > 0).collect();
        let upper = |v: &Ix| {
            matches!(
                tree.kind[*v as usize],
                NodeKind::Organization | NodeKind::Project | NodeKind::Production
            )
        };
        let mut large: Vec<Ix> = all
            .clone()
            .filter(upper)
            .filter(|&v| tree.descendants(v) >= 2 * PAGE)
            .collect();
        if large.is_empty() {
            // A tiny tree (the smoke test): take the biggest subtrees there are.
            let mut upper_nodes: Vec<Ix> = all
                .filter(upper)
                .filter(|&v| tree.descendants(v) >= 2)
                .collect();
            upper_nodes.sort_unstable_by_key(|&v| std::cmp::Reverse(tree.descendants(v)));
            upper_nodes.truncate(10);
            large = upper_nodes;
        }
        Population {
            non_roots,
            parents,
            large,
            max_depth: tree.depth.iter().copied().max().unwrap_or(0),
        }
    }

    /// A node with ancestors, with probability proportional to its depth.
    fn deep_node(&self, tree: &Tree, rng: &mut StdRng) -> Ix {
        loop {
            let v = self.non_roots[rng.random_range(0..self.non_roots.len())];
            if rng.random_range(0..self.max_depth) < tree.depth[v as usize] {
                return v;
            }
        }
    }
}

/// One sample of one operation: the node, and for later pages how many
/// descendants come before the page.
#[derive(Debug, Clone, Copy)]
struct Sample {
    node: Ix,
    skip: u32,
}

fn draw(op: Operation, tree: &Tree, pop: &Population, rng: &mut StdRng) -> Sample {
    match op {
        Operation::Ancestors => Sample {
            node: pop.deep_node(tree, rng),
            skip: 0,
        },
        Operation::Children => Sample {
            node: pop.parents[rng.random_range(0..pop.parents.len())],
            skip: 0,
        },
        Operation::SubtreeFirstPage => Sample {
            node: pop.large[rng.random_range(0..pop.large.len())],
            skip: 0,
        },
        Operation::SubtreeLaterPage => {
            let node = pop.large[rng.random_range(0..pop.large.len())];
            // a cursor anywhere that still leaves a full page after it
            let last = tree.descendants(node).saturating_sub(PAGE).max(1);
            Sample {
                node,
                skip: rng.random_range(1..=last),
            }
        }
    }
}

/// Measures `samples` samples of `op` (after an untimed warm-up), running
/// every variant on each sample and checking that all give the same answer
/// as the generator expects.
async fn measure(
    client: &Client,
    tree: &Tree,
    pop: &Population,
    op: Operation,
    samples: u32,
    rng: &mut StdRng,
) -> anyhow::Result<Vec<OperationResult>> {
    let queries = prepare(client, op).await?;
    let all: Vec<&Query> = queries.stored.iter().chain([&queries.baseline]).collect();
    let warmup = (samples / 10).clamp(1, 100);
    let mut histograms = all
        .iter()
        .map(|_| histogram())
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut rows = 0u64;
    let bar = progress(u64::from(warmup + samples), op.label());
    let mut turn: Vec<usize> = (0..all.len()).collect();
    for i in 0..warmup + samples {
        let s = draw(op, tree, pop, rng);
        let org_id = tree.org_id(s.node);
        let id = tree.id[s.node as usize];
        let (path, relative_path) = if s.skip > 0 {
            let path = tree.path(tree.nth_descendant(s.node, s.skip));
            let relative = path[usize::from(tree.depth[s.node as usize])..].to_vec();
            (Some(path), Some(relative))
        } else {
            (None, None)
        };

        // A new order every sample, so no variant always finds the pages
        // another just read.
        for k in (1..turn.len()).rev() {
            turn.swap(k, rng.random_range(0..=k));
        }
        let mut answers: Vec<Option<(Answer, u64)>> = vec![None; all.len()];
        for &q in &turn {
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&org_id, &id];
            match all[q].cursor {
                Cursor::None => {}
                Cursor::Path => params.push(&path),
                Cursor::RelativePath => params.push(&relative_path),
            }
            let started = Instant::now();
            let result = client.query(&all[q].statement, &params).await;
            let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let rows = result.with_context(|| format!("{}: {}", op.label(), all[q].label))?;
            answers[q] = Some((answer(&rows)?, us));
        }
        let answers: Vec<(Answer, u64)> = answers.into_iter().flatten().collect();

        let (baseline, _) = &answers[answers.len() - 1];
        for (q, (a, _)) in answers.iter().enumerate() {
            ensure!(
                a == baseline,
                "{}: {} and {} disagree for node {id} (skip {}): {} rows against {}, first difference at row {}",
                op.label(),
                all[q].label,
                queries.baseline.label,
                s.skip,
                a.len(),
                baseline.len(),
                a.iter()
                    .zip(baseline)
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.len().min(baseline.len()))
            );
        }
        let mut got: Vec<Uuid> = baseline.iter().map(|r| r.0).collect();
        let mut expected: Vec<Uuid> = match op {
            Operation::Ancestors => tree.ancestors(s.node),
            Operation::Children => tree.children(s.node).to_vec(),
            Operation::SubtreeFirstPage | Operation::SubtreeLaterPage => {
                tree.subtree_page(s.node, s.skip, PAGE).to_vec()
            }
        }
        .iter()
        .map(|&v| tree.id[v as usize])
        .collect();
        if op == Operation::Children {
            // children come by name; the generator only knows the set
            got.sort_unstable();
            expected.sort_unstable();
        }
        ensure!(
            got == expected,
            "{}: node {id} (skip {}) answered {} rows, the generated tree has {} there",
            op.label(),
            s.skip,
            got.len(),
            expected.len()
        );

        if i >= warmup {
            for (h, (_, us)) in histograms.iter_mut().zip(&answers) {
                h.saturating_record(*us);
            }
            rows += baseline.len() as u64;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let baseline = Latency::from_histogram(&histograms[histograms.len() - 1]);
    Ok(queries
        .stored
        .iter()
        .zip(&histograms)
        .map(|(q, h)| OperationResult {
            operation: op,
            variant: q.label,
            stored: Latency::from_histogram(h),
            baseline,
            verified: samples,
            mean_rows: rows as f64 / f64::from(samples),
        })
        .collect())
}

pub(crate) fn histogram() -> anyhow::Result<Histogram<u64>> {
    // 1 µs to 10 min, 3 significant digits
    Histogram::new_with_bounds(1, 600_000_000, 3).context("creating a histogram")
}

/// Moves the fixture production to the other project and back, `round_trips`
/// times (after one untimed round trip), one transaction per move.
async fn measure_moves(
    client: &mut Client,
    tree: &Tree,
    round_trips: u32,
) -> anyhow::Result<MoveResult> {
    let f = tree.fixture;
    let org_id = tree.org_id(f.production);
    let production = tree.id[f.production as usize];
    let count = client
        .prepare(
            "select count(*) from showtree.nodes \
              where org_id = $1 and (ancestors || id) > $2::uuid[] \
                and (ancestors || id) < ($2::uuid[] || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid)",
        )
        .await
        .context("preparing the move check")?;
    let mut hist = histogram()?;
    let bar = progress(u64::from(2 * (round_trips + 1)), "moving a subtree");
    let mut rows_rewritten = 0;
    for i in 0..=round_trips {
        for target in [f.away, f.home] {
            let target_id = tree.id[target as usize];
            let started = Instant::now();
            let tx = client.transaction().await?;
            showtree_db::nodes::move_to(&tx, org_id, production, target_id, None)
                .await
                .context("moving the fixture production")?;
            tx.commit().await.context("committing the move")?;
            let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);

            let path = vec![org_id, target_id, production];
            let moved: i64 = client
                .query_one(&count, &[&org_id, &path])
                .await
                .context("checking the move")?
                .get(0);
            ensure!(
                moved == i64::from(tree.descendants(f.production)),
                "after the move, {moved} descendants carry the new path, expected {}",
                tree.descendants(f.production)
            );
            rows_rewritten = u64::try_from(moved).unwrap_or(0) + 1;
            if i > 0 {
                hist.saturating_record(us);
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(MoveResult {
        latency: Latency::from_histogram(&hist),
        rows_rewritten,
    })
}

impl HierarchyReport {
    /// The results as a plain-text table, for stdout.
    pub fn text_table(&self) -> String {
        let mut rows = vec![[
            "operation".to_owned(),
            "stored query".to_owned(),
            "stored p50 / p95 / p99 ms".to_owned(),
            "baseline p50 / p95 / p99 ms".to_owned(),
            "ratio p50".to_owned(),
            "ratio p95".to_owned(),
        ]];
        for r in &self.operations {
            rows.push([
                r.operation.label().to_owned(),
                r.variant.to_owned(),
                r.stored.triple_ms(),
                r.baseline.triple_ms(),
                format!("{:.1}x", r.ratio_p50()),
                format!("{:.1}x", r.ratio_p95()),
            ]);
        }
        rows.push([
            "move subtree".to_owned(),
            format!("{} rows rewritten", self.moves.rows_rewritten),
            self.moves.latency.triple_ms(),
            "n/a".to_owned(),
            "n/a".to_owned(),
            "n/a".to_owned(),
        ]);
        let mut out = report::text_table(&rows);
        out += &format!(
            "\n{} nodes, {} samples per operation. Baseline: recursive CTE over parent_id \
             (children: the plain parent-index query); ratio = baseline / stored.\n",
            report::thousands(self.tree.nodes as u64),
            report::thousands(u64::from(self.samples)),
        );
        out
    }

    /// The results as the markdown section of docs/BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let t = &self.tree;
        let m = &self.machine;
        let mut md = String::new();
        md += "## Hierarchy: stored ancestry vs recursive CTE\n\n";
        md += &format!("Produced by `{}` on {}.\n\n", self.command, m.date);
        md += &format!(
            "Machine: {}, {} (shared_buffers {}, other settings default){}.\n\n",
            m.hardware(),
            m.postgres,
            m.shared_buffers,
            match &m.load_average {
                (Some(start), Some(end)) => format!(
                    "; 1-minute load average {start} when measuring started, {end} when it ended"
                ),
                _ => String::new(),
            }
        );
        let kinds: Vec<String> = NodeKind::ALL
            .iter()
            .zip(t.by_kind)
            .map(|(k, n)| format!("{} {}", k.as_str(), report::thousands(n as u64)))
            .collect();
        let depths: Vec<String> = t
            .by_depth
            .iter()
            .enumerate()
            .map(|(d, n)| format!("{d}: {}", report::thousands(*n as u64)))
            .collect();
        md += &format!(
            "Tree: {} nodes ({}); largest organization {} nodes, median {}; nodes per depth {}.\n",
            report::thousands(t.nodes as u64),
            kinds.join(", "),
            report::thousands(u64::from(t.largest_org)),
            report::thousands(u64::from(t.median_org)),
            depths.join(", ")
        );
        md += &match t.load {
            Some(d) => format!(
                "Loaded through the triggers (set-based inserts level by level, two connections \
                 sharing out the organizations, `analyze` after each level), then \
                 `vacuum (analyze)`: {:.0} s, {} nodes/s.\n\n",
                d.as_secs_f64(),
                report::thousands((t.nodes as f64 / d.as_secs_f64().max(1e-9)) as u64)
            ),
            None => "The tree was reused from an earlier run (`--reuse`).\n\n".to_owned(),
        };
        md += &format!(
            "Client-side wall time per query: one connection, prepared statements, {} samples per \
             operation after a warm-up, every query of a sample run in a new random order. Every \
             sample's answers were compared row by row with each other and with the generated tree.\n\n",
            report::thousands(u64::from(self.samples))
        );
        md += "| operation | stored query | rows | stored p50 / p95 / p99 (ms) | baseline p50 / p95 / p99 (ms) | baseline ÷ stored p50 | p95 |\n";
        md += "|---|---|--:|--:|--:|--:|--:|\n";
        for r in &self.operations {
            md += &format!(
                "| {} | {} | {:.0} | {} | {} | {:.1}x | {:.1}x |\n",
                r.operation.label(),
                code(r.variant),
                r.mean_rows,
                r.stored.triple_ms(),
                r.baseline.triple_ms(),
                r.ratio_p50(),
                r.ratio_p95()
            );
        }
        md += &format!(
            "| move a production with {} descendants to another project | `showtree_db::nodes::move_to`, one transaction | {} | {} | n/a | n/a | n/a |\n\n",
            report::thousands(self.moves.rows_rewritten.saturating_sub(1)),
            report::thousands(self.moves.rows_rewritten),
            self.moves.latency.triple_ms()
        );
        md += "Notes:\n\n";
        md += "- *baseline*: the same rows in the same order from a `with recursive` over \
               `parent_id` (index `nodes_parent_id_idx`), what a design without stored ancestry \
               runs. For children it is the plain parent-index query: both designs answer children \
               the same way, so that row measures no design difference, only the cost of calling \
               `node_children` rather than running its query.\n";
        md += "- *stored*: `showtree.node_*()` are the functions the API calls. The direct queries \
               read the same stored ancestry without the function wrapper: the body of \
               `node_ancestors` (the `ancestors` array joined to the primary key), and one range \
               of the materialized-path index `nodes_path_idx` whose bounds come from the root's \
               path. Where a function and its direct query differ, the difference is the \
               function's.\n";
        md += &format!(
            "- ancestors: random nodes, weighted by depth. Subtree pages: random roots among the \
             {} organizations, {} projects and {} productions with at least 2,000 descendants \
             (median {}, largest {}); a later page starts after a random descendant, whose path \
             is the cursor. The CTE builds and sorts the whole subtree for every page.\n",
            t.subtree_roots[0],
            t.subtree_roots[1],
            t.subtree_roots[2],
            report::thousands(u64::from(t.subtree_roots_median)),
            report::thousands(u64::from(t.subtree_roots_max))
        );
        md += &format!(
            "- move: `update ... set parent_id` of the production, begin to commit, {} round trips \
             (there and back) after an untimed one; the trigger rewrites the ancestry of {} rows \
             per move. A parent_id-only design updates one row and has no ancestry to rewrite, so \
             there is no baseline: this is the price the stored ancestry pays for its reads.\n",
            self.moves.latency.count / 2,
            report::thousands(self.moves.rows_rewritten)
        );
        let goals: Vec<String> = Operation::ALL
            .iter()
            .filter(|&&op| op != Operation::Children)
            .map(|&op| {
                let results: Vec<&OperationResult> = self
                    .operations
                    .iter()
                    .filter(|r| r.operation == op)
                    .collect();
                let ratios: Vec<String> = results
                    .iter()
                    .map(|r| format!("{:.1}x with {}", r.ratio_p50(), code(r.variant)))
                    .collect();
                let meeting: Vec<String> = results
                    .iter()
                    .filter(|r| r.ratio_p50() >= 10.0)
                    .map(|r| code(r.variant))
                    .collect();
                let verdict = if meeting.len() == results.len() {
                    "met".to_owned()
                } else if meeting.is_empty() {
                    "not met".to_owned()
                } else {
                    format!("met only by {}", meeting.join(", "))
                };
                format!("{} {} ({})", op.label(), verdict, ratios.join(", "))
            })
            .collect();
        md += &format!(
            "- goal, ancestors and subtree pages at least 10x faster than the recursive CTE at \
             p50: {}.\n",
            goals.join("; ")
        );
        md
    }
}

/// Function names as markdown code, descriptions as they are.
fn code(variant: &str) -> String {
    if variant.ends_with("()") {
        format!("`{variant}`")
    } else {
        variant.to_owned()
    }
}

#[cfg(test)]
mod machine_tests {
    use super::Machine;

    #[test]
    fn the_machine_line_names_cores_and_memory_when_known() {
        let mut m = Machine {
            cores: 2,
            memory: Some(24 * (1 << 30)),
            postgres: String::new(),
            shared_buffers: String::new(),
            date: String::new(),
            load_average: (None, None),
        };
        assert_eq!(m.hardware(), "2 cores, 24.0 GiB of memory");
        m.memory = None;
        assert_eq!(m.hardware(), "2 cores");
    }
}
