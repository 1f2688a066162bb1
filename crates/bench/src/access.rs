//! `showtree bench access`: what Row Level Security costs. On one generated
//! organization, the same single-node read and single-row insert run (a)
//! through the caller's context as the service opens it and (b) as plain
//! SQL by a superuser (no RLS), both as pgbench custom scripts, in one run;
//! plus the time the caller's access sets take to read, as every RLS
//! statement reads them ([`ACCESS_SETS`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use showtree_core::{MAX_DEPTH, NodeKind};
use showtree_db::connect::url_with_database;
use showtree_db::migrate::Migrator;
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

use crate::hierarchy::tree::{Ix, Tree};
use crate::hierarchy::{self, Machine};
use crate::pgbench::{self, Load, Outcome, Protocol, Target};
use crate::report::{self, Latency};

/// Default of `--nodes`.
pub const DEFAULT_NODES: u32 = 6_000;
/// Default of `--restricted`.
pub const DEFAULT_RESTRICTED: u32 = 6;
/// Default of `--scattered`.
pub const DEFAULT_SCATTERED: u32 = 200;
/// Default of `--duration` (seconds).
pub const DEFAULT_DURATION: u64 = 15;
/// Default of `--rounds`.
pub const DEFAULT_ROUNDS: u32 = 3;
/// Default of `--clients`.
pub const DEFAULT_CLIENTS: u32 = 16;
/// Default of `--threads`.
pub const DEFAULT_THREADS: u32 = 2;
/// Default of `--load-runs`.
pub const DEFAULT_LOAD_RUNS: u32 = 2_000;
/// Default of `--targets`.
pub const DEFAULT_TARGETS: u32 = 100;
/// Default of `--seed`.
pub const DEFAULT_SEED: u64 = 1;
/// Default of `--database`.
pub const DEFAULT_DATABASE: &str = "showtree_bench_access";

/// Every database this benchmark creates carries a comment starting so.
const MARKER: &str = "showtree bench access";
/// The service's login role (migration 0003).
pub const APP_ROLE: &str = "authenticator";
/// What a statement through RLS may read of the caller's access, as the
/// `nodes_select` policy reads it (migrations 0008 and 0018): the nodes of
/// its grants, and, only for a row those do not reach, its admin
/// organizations.
pub const ACCESS_SETS: &str = "select array(select a.org_id from private.caller_admin_orgs a), \
     array(select g.node_id from private.caller_grant_nodes g)";
/// Where the results go in the markdown file.
const SECTION_START: &str = "<!-- bench:access:start -->";
const SECTION_END: &str = "<!-- bench:access:end -->";
/// The columns the service reads of a node (`showtree_db::nodes`).
pub use showtree_db::nodes::NODE_COLUMNS;
/// The deepest depth a parent of a new node may have.
const MAX_PARENT_DEPTH: u8 = MAX_DEPTH as u8 - 2;

/// Options of `showtree bench access`.
#[derive(Debug, Clone, clap::Args)]
pub struct AccessArgs {
    /// Nodes of the generated organization.
    #[arg(long, default_value_t = DEFAULT_NODES, value_parser = clap::value_parser!(u32).range(50..))]
    pub nodes: u32,
    /// Restricted workspaces (at least one under the granted production when it has workspaces).
    #[arg(long, default_value_t = DEFAULT_RESTRICTED)]
    pub restricted: u32,
    /// Workspaces the scattered user is granted on.
    #[arg(long, default_value_t = DEFAULT_SCATTERED, value_parser = clap::value_parser!(u32).range(1..))]
    pub scattered: u32,
    /// Seconds each statement is measured each way, in all rounds.
    #[arg(long, default_value_t = DEFAULT_DURATION, value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: u64,
    /// Alternating (a)/(b) pgbench runs per statement, each `--duration /
    /// --rounds` seconds, so a change in the machine's load hits both.
    #[arg(long, default_value_t = DEFAULT_ROUNDS, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// pgbench clients (`-c`).
    #[arg(long, default_value_t = DEFAULT_CLIENTS, value_parser = clap::value_parser!(u32).range(1..))]
    pub clients: u32,
    /// pgbench threads (`-j`).
    #[arg(long, default_value_t = DEFAULT_THREADS, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,
    /// Timed reads of the caller's access sets ([`ACCESS_SETS`]) per user.
    #[arg(long, default_value_t = DEFAULT_LOAD_RUNS, value_parser = clap::value_parser!(u32).range(1..))]
    pub load_runs: u32,
    /// Distinct nodes (one pgbench script each) read, and parents inserted under, per user.
    #[arg(long, default_value_t = DEFAULT_TARGETS, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub targets: u32,
    /// Seed of the tree, the grants and the targets.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Keep the database afterwards (it is dropped otherwise).
    #[arg(long)]
    pub keep: bool,
    /// The database to (re)create; it must not exist or have been created by this benchmark.
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// Write the results into this markdown file (between the bench:access markers).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

impl Default for AccessArgs {
    fn default() -> Self {
        AccessArgs {
            nodes: DEFAULT_NODES,
            restricted: DEFAULT_RESTRICTED,
            scattered: DEFAULT_SCATTERED,
            duration: DEFAULT_DURATION,
            rounds: DEFAULT_ROUNDS,
            clients: DEFAULT_CLIENTS,
            threads: DEFAULT_THREADS,
            load_runs: DEFAULT_LOAD_RUNS,
            targets: DEFAULT_TARGETS,
            seed: DEFAULT_SEED,
            keep: false,
            database: DEFAULT_DATABASE.to_owned(),
            markdown: None,
        }
    }
}

impl AccessArgs {
    /// The command that reproduces this run, as a user types it.
    pub fn command_line(&self) -> String {
        let mut cmd = format!(
            "showtree bench access --nodes {} --duration {} --clients {}",
            self.nodes, self.duration, self.clients
        );
        let extras = [
            (self.restricted != DEFAULT_RESTRICTED)
                .then(|| format!(" --restricted {}", self.restricted)),
            (self.scattered != DEFAULT_SCATTERED)
                .then(|| format!(" --scattered {}", self.scattered)),
            (self.rounds != DEFAULT_ROUNDS).then(|| format!(" --rounds {}", self.rounds)),
            (self.threads != DEFAULT_THREADS).then(|| format!(" --threads {}", self.threads)),
            (self.load_runs != DEFAULT_LOAD_RUNS)
                .then(|| format!(" --load-runs {}", self.load_runs)),
            (self.targets != DEFAULT_TARGETS).then(|| format!(" --targets {}", self.targets)),
            (self.seed != DEFAULT_SEED).then(|| format!(" --seed {}", self.seed)),
            (self.database != DEFAULT_DATABASE).then(|| format!(" --database {}", self.database)),
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

    fn load(&self) -> Load {
        Load {
            clients: self.clients,
            threads: self.threads,
            duration: Duration::from_secs((self.duration / u64::from(self.rounds)).max(1)),
            protocol: Protocol::Prepared,
        }
    }
}

/// Whose access is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Owner at the organization root (the admin short cut).
    Owner,
    /// Granted at the organization root.
    Root,
    /// Granted at one production.
    Production,
    /// Granted at scattered workspaces.
    Scattered,
}

impl Case {
    /// Every case, in report order.
    pub const ALL: [Case; 4] = [Case::Root, Case::Production, Case::Scattered, Case::Owner];

    /// Its name in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Case::Owner => "owner at the root",
            Case::Root => "granted at the root",
            Case::Production => "granted at one production",
            Case::Scattered => "granted at scattered workspaces",
        }
    }
}

/// One measured statement, both ways.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    /// Through the caller's context, as `authenticator`.
    pub rls: Outcome,
    /// The same statement as a superuser, no context.
    pub plain: Outcome,
}

impl Pair {
    /// (a) / (b) throughput.
    pub fn ratio(&self) -> f64 {
        self.rls.tps / self.plain.tps.max(f64::MIN_POSITIVE)
    }
}

/// One user's results.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Which user.
    pub case: Case,
    /// Grants the reading user holds.
    pub grants: usize,
    /// Nodes the reading user can read (checked through RLS).
    pub readable: usize,
    /// Restricted nodes in the caller's set (`private.restricted_nodes()`).
    pub restricted_in_set: usize,
    /// The single-node read.
    pub read: Pair,
    /// The single-row insert.
    pub insert: Pair,
    /// [`ACCESS_SETS`] inside the context, client-side.
    pub access_sets: Latency,
    /// `select 1` in the same transactions: the round trip alone.
    pub round_trip: Latency,
}

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct AccessReport {
    /// The command that reproduces it.
    pub command: String,
    /// Nodes of the organization.
    pub nodes: usize,
    /// Restricted workspaces.
    pub restricted: usize,
    /// The pgbench load.
    pub clients: u32,
    /// pgbench threads.
    pub threads: u32,
    /// Seconds each statement was measured each way.
    pub duration: u64,
    /// Alternating runs each way.
    pub rounds: u32,
    /// Distinct targets per user.
    pub targets: u32,
    /// Timed reads of the access sets per user.
    pub load_runs: u32,
    /// One entry per [`Case`].
    pub cases: Vec<CaseResult>,
    /// Where it ran.
    pub machine: Machine,
}

/// A user of the benchmark: one for reading (viewer grants), one for
/// inserting (the same grants as manager; the owner does both).
#[derive(Debug, Clone)]
struct User {
    case: Case,
    reader: Uuid,
    writer: Uuid,
    /// Grant nodes (the same for reader and writer).
    grants: Vec<Ix>,
}

/// What a set of grants lets reach in the generated tree, computed the way
/// `private.path_allows` decides: a root on the path at or below the
/// deepest restricted node.
pub(crate) fn reachable(tree: &Tree, grants: &[Ix], restricted: &[bool], admin: bool) -> Vec<Ix> {
    let mut is_root = vec![false; tree.len()];
    for &g in grants {
        is_root[g as usize] = true;
    }
    (0..hierarchy::tree::ix(tree.len()))
        .filter(|&v| {
            if admin {
                return true;
            }
            let mut path = tree.ancestors(v);
            path.push(v);
            let last_root = path.iter().rposition(|&p| is_root[p as usize]);
            let last_restricted = path.iter().rposition(|&p| restricted[p as usize]);
            match (last_root, last_restricted) {
                (Some(r), Some(x)) => r >= x,
                (Some(_), None) => true,
                (None, _) => false,
            }
        })
        .collect()
}

/// Runs the benchmark against the server behind `admin_url`; writes the
/// markdown file when asked to.
pub async fn run(args: &AccessArgs, admin_url: &str) -> anyhow::Result<AccessReport> {
    hierarchy::check_database_name(&args.database)?;
    let tree = Tree::generate_one_org(args.nodes, 10, args.seed);
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x4143_4345_5353_2121);

    // Restricted workspaces: one under the chosen production where it has
    // any, the rest anywhere.
    let production = (0..hierarchy::tree::ix(tree.len()))
        .filter(|&v| tree.kind[v as usize] == NodeKind::Production)
        .max_by_key(|&v| tree.descendants(v))
        .context("the generated organization has no production")?;
    let workspaces: Vec<Ix> = (0..hierarchy::tree::ix(tree.len()))
        .filter(|&v| tree.kind[v as usize] == NodeKind::Workspace)
        .collect();
    ensure!(
        !workspaces.is_empty(),
        "the organization has no workspace: raise --nodes"
    );
    let under_production: Vec<Ix> = workspaces
        .iter()
        .copied()
        .filter(|&w| tree.ancestors(w).contains(&production))
        .collect();
    let mut restricted = vec![false; tree.len()];
    let mut restricted_ids = Vec::new();
    if args.restricted > 0 {
        if let Some(&w) = under_production.choose(&mut rng) {
            restricted[w as usize] = true;
        }
        while restricted.iter().filter(|&&r| r).count()
            < (args.restricted as usize).min(workspaces.len())
        {
            let w = workspaces[rng.random_range(0..workspaces.len())];
            restricted[w as usize] = true;
        }
        restricted_ids = (0..tree.len())
            .filter(|&v| restricted[v])
            .map(|v| tree.id[v])
            .collect();
    }
    let scattered: Vec<Ix> = workspaces
        .choose_multiple(&mut rng, (args.scattered as usize).min(workspaces.len()))
        .copied()
        .collect();

    let root = tree.organizations()[0];
    let users: Vec<User> = Case::ALL
        .iter()
        .map(|&case| {
            let grants = match case {
                Case::Owner | Case::Root => vec![root],
                Case::Production => vec![production],
                Case::Scattered => scattered.clone(),
            };
            let reader = Uuid::now_v7();
            let writer = if case == Case::Owner {
                reader
            } else {
                Uuid::now_v7()
            };
            User {
                case,
                reader,
                writer,
                grants,
            }
        })
        .collect();

    let admin = hierarchy::connect(admin_url)
        .await
        .context("connecting to the maintenance database")?;
    let db_url = url_with_database(admin_url, &args.database);
    let client = prepare_database(&args.database, MARKER, &admin, &db_url, &tree).await?;
    setup_access(&client, &tree, &users, &restricted_ids).await?;
    let mut machine = hierarchy::machine(&client).await?;

    let mut app_config: tokio_postgres::Config = db_url.parse().context("parsing the URL")?;
    app_config.user(APP_ROLE);
    let (app, conn) = app_config
        .connect(NoTls)
        .await
        .context("connecting as authenticator")?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "authenticator connection closed with an error");
        }
    });

    let target = Target::from_url(admin_url, &args.database)?;
    let superuser = url_user(admin_url)?;
    let org_id = tree.id[root as usize];
    // Every check before any insert: the inserts add readable nodes.
    let mut checked = Vec::new();
    for user in &users {
        let admin_case = user.case == Case::Owner;
        let readable = reachable(&tree, &user.grants, &restricted, admin_case);
        let counted: i64 = in_context(&app, user.reader, "select count(*) from showtree.nodes")
            .await?
            .get(0);
        ensure!(
            usize::try_from(counted).ok() == Some(readable.len()),
            "{}: RLS lets the reader see {counted} nodes, the generator expects {}",
            user.case.label(),
            readable.len()
        );
        let restricted_in_set: i64 = in_context(
            &app,
            user.reader,
            "select coalesce(cardinality(private.restricted_nodes()), 0)::int8",
        )
        .await?
        .get(0);
        checked.push((readable, restricted_in_set));
    }
    let mut cases = Vec::new();
    for (user, (readable, restricted_in_set)) in users.iter().zip(checked) {
        let parents: Vec<Ix> = readable
            .iter()
            .copied()
            .filter(|&v| {
                matches!(
                    tree.kind[v as usize],
                    NodeKind::Activation | NodeKind::Workspace
                ) && tree.depth[v as usize] <= MAX_PARENT_DEPTH
            })
            .collect();
        ensure!(
            !parents.is_empty(),
            "{}: no node to insert a workspace under",
            user.case.label()
        );
        let read_ids: Vec<Uuid> = readable
            .choose_multiple(&mut rng, args.targets as usize)
            .map(|&v| tree.id[v as usize])
            .collect();
        let parent_ids: Vec<Uuid> = parents
            .choose_multiple(&mut rng, args.targets as usize)
            .map(|&v| tree.id[v as usize])
            .collect();

        tracing::info!(case = user.case.label(), "pgbench: read");
        let read = pair(
            &target,
            &superuser,
            user.reader,
            &read_ids.iter().map(|id| read_sql(*id)).collect::<Vec<_>>(),
            args.load(),
            args.rounds,
        )
        .await
        .with_context(|| format!("{}: read", user.case.label()))?;
        tracing::info!(case = user.case.label(), "pgbench: insert");
        let insert = pair(
            &target,
            &superuser,
            user.writer,
            &parent_ids
                .iter()
                .map(|p| insert_sql(org_id, *p, user.writer))
                .collect::<Vec<_>>(),
            args.load(),
            args.rounds,
        )
        .await
        .with_context(|| format!("{}: insert", user.case.label()))?;
        let (access_sets, round_trip) = time_access_sets(&app, user.reader, args.load_runs).await?;
        cases.push(CaseResult {
            case: user.case,
            grants: user.grants.len(),
            readable: readable.len(),
            restricted_in_set: usize::try_from(restricted_in_set).unwrap_or(0),
            read,
            insert,
            access_sets,
            round_trip,
        });
    }
    machine.load_average.1 = hierarchy::load_average();
    drop(app);
    drop(client);
    if !args.keep {
        admin
            .batch_execute(&format!(
                "drop database {} with (force)",
                hierarchy::quote_ident(&args.database)
            ))
            .await
            .context("dropping the benchmark database")?;
    }

    let report = AccessReport {
        command: args.command_line(),
        nodes: tree.len(),
        restricted: restricted_ids.len(),
        clients: args.clients,
        threads: args.threads,
        duration: args.duration,
        rounds: args.rounds,
        targets: args.targets,
        load_runs: args.load_runs,
        cases,
        machine,
    };
    if let Some(path) = &args.markdown {
        report::write_section(path, SECTION_START, SECTION_END, &report.markdown())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report)
}

/// The user name of a URL (pgbench's `-U` for the plain runs).
pub fn url_user(url: &str) -> anyhow::Result<String> {
    let config: tokio_postgres::Config = url.parse().context("parsing the database URL")?;
    Ok(config.get_user().unwrap_or("postgres").to_owned())
}

/// The claims the service sets for `user` (`pool::Caller::user`).
pub fn claims(user: Uuid) -> String {
    serde_json::json!({ "sub": user, "role": "authenticated" }).to_string()
}

/// A pgbench script: `begin` and the context pipelined (one round trip),
/// then `statement`, then `commit`. The service also pipelines its first
/// statement with them (`pool::Db::run_as`), but pgbench's prepared mode
/// parses a pipeline's statements before running any, so the statement
/// would be parsed as `authenticator`, before the context gives it a role
/// that may read the schema; both ways here make three round trips, so
/// (a)/(b) is still what the context statement and the policies cost.
pub fn rls_script(user: Uuid, statement: &str) -> String {
    format!(
        "\\startpipeline\n\
         begin;\n\
         select set_config('request.jwt.claims', {}, true), \
         set_config('request.jwt.claim.sub', '{user}', true), set_config('role', 'authenticated', true);\n\
         \\endpipeline\n\
         {statement};\n\
         commit;\n",
        hierarchy::quote_literal(&claims(user))
    )
}

/// The same statement without a context.
pub fn plain_script(statement: &str) -> String {
    format!("begin;\n{statement};\ncommit;\n")
}

/// The service's read of one node (`showtree_db::nodes::find`).
pub fn read_sql(id: Uuid) -> String {
    format!("select {NODE_COLUMNS} from showtree.nodes where id = '{id}'")
}

/// A workspace under `parent`, with a fresh slug (uuid text is a valid slug).
pub fn insert_sql(org_id: Uuid, parent: Uuid, actor: Uuid) -> String {
    format!(
        "insert into showtree.nodes (org_id, parent_id, kind, name, slug, created_by, updated_by) \
         values ('{org_id}', '{parent}', 'workspace', 'Bench workspace', gen_random_uuid()::text, \
         '{actor}', '{actor}') returning id"
    )
}

/// `rounds` runs each way, alternating (a) and (b).
async fn pair(
    target: &Target,
    superuser: &str,
    user: Uuid,
    statements: &[String],
    load: Load,
    rounds: u32,
) -> anyhow::Result<Pair> {
    let rls_scripts: Vec<String> = statements.iter().map(|s| rls_script(user, s)).collect();
    let plain_scripts: Vec<String> = statements.iter().map(|s| plain_script(s)).collect();
    let mut rls = pgbench::Sample::empty()?;
    let mut plain = pgbench::Sample::empty()?;
    for _ in 0..rounds {
        rls.add(&pgbench::sample(target, APP_ROLE, &rls_scripts, load).await?)?;
        plain.add(&pgbench::sample(target, superuser, &plain_scripts, load).await?)?;
    }
    Ok(Pair {
        rls: rls.outcome(),
        plain: plain.outcome(),
    })
}

/// Runs `sql` in a transaction opened for `user` and returns its one row.
async fn in_context(app: &Client, user: Uuid, sql: &str) -> anyhow::Result<tokio_postgres::Row> {
    app.batch_execute("begin").await?;
    set_context(app, user).await?;
    let row = app.query_one(sql, &[]).await.context(sql.to_owned())?;
    app.batch_execute("commit").await?;
    Ok(row)
}

async fn set_context(app: &Client, user: Uuid) -> anyhow::Result<()> {
    app.query_one(
        showtree_db::pool::SET_CONTEXT,
        &[&claims(user), &user.to_string(), &"authenticated"],
    )
    .await
    .context("setting the caller's context")?;
    Ok(())
}

/// `runs` transactions of: context, `select 1` (timed: the round trip),
/// [`ACCESS_SETS`] (timed), rollback. After 10% warm-up.
async fn time_access_sets(
    app: &Client,
    user: Uuid,
    runs: u32,
) -> anyhow::Result<(Latency, Latency)> {
    // prepared inside a context: authenticator alone may not even name
    // the function; the statements outlive the transaction
    app.batch_execute("begin").await?;
    set_context(app, user).await?;
    let load = app
        .prepare(ACCESS_SETS)
        .await
        .context("preparing the access sets")?;
    let one = app.prepare("select 1").await?;
    app.batch_execute("rollback").await?;
    let mut loads = hierarchy::histogram()?;
    let mut trips = hierarchy::histogram()?;
    let warmup = (runs / 10).max(1);
    for i in 0..warmup + runs {
        app.batch_execute("begin").await?;
        set_context(app, user).await?;
        let started = Instant::now();
        app.query_one(&one, &[]).await?;
        let trip = started.elapsed();
        let started = Instant::now();
        app.query_one(&load, &[]).await.context("the access sets")?;
        let took = started.elapsed();
        app.batch_execute("rollback").await?;
        if i >= warmup {
            trips.saturating_record(micros(trip));
            loads.saturating_record(micros(took));
        }
    }
    Ok((
        Latency::from_histogram(&loads),
        Latency::from_histogram(&trips),
    ))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// (Re)creates the benchmark database `database`, marked with a comment
/// starting with `marker` (a database without it is never dropped), and
/// loads `tree` into it.
pub(crate) async fn prepare_database(
    database: &str,
    marker: &str,
    admin: &Client,
    db_url: &str,
    tree: &Tree,
) -> anyhow::Result<Client> {
    let existing: Option<Option<String>> = admin
        .query_opt(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = $1",
            &[&database],
        )
        .await
        .context("looking for the benchmark database")?
        .map(|row| row.get(0));
    let db = hierarchy::quote_ident(database);
    if let Some(comment) = existing {
        if !comment.is_some_and(|c| c.starts_with(marker)) {
            bail!(
                "database {database} exists and was not created by this benchmark: \
                 pick another --database, or drop it yourself"
            );
        }
        admin
            .batch_execute(&format!("drop database {db} with (force)"))
            .await
            .context("dropping the previous benchmark database")?;
    }
    admin
        .batch_execute(&format!("create database {db}"))
        .await
        .context("creating the benchmark database")?;
    admin
        .batch_execute(&format!(
            "comment on database {db} is {}",
            hierarchy::quote_literal(marker)
        ))
        .await
        .context("marking the benchmark database")?;
    let mut client = hierarchy::connect(db_url)
        .await
        .context("connecting to the benchmark database")?;
    Migrator::embedded()
        .up(&mut client)
        .await
        .context("migrating the benchmark database")?;
    hierarchy::load(&client, tree).await?;
    Ok(client)
}

/// Users, grants and restricted nodes, as the tables' owner (so the grant
/// rules for callers do not apply), then `vacuum (analyze)`.
async fn setup_access(
    client: &Client,
    tree: &Tree,
    users: &[User],
    restricted: &[Uuid],
) -> anyhow::Result<()> {
    let org_id = tree.org_id(0);
    client
        .execute(
            "update showtree.nodes set restricted = true where org_id = $1 and id = any($2)",
            &[&org_id, &restricted],
        )
        .await
        .context("restricting workspaces")?;
    let add_user = client
        .prepare("insert into auth.users (id, email) values ($1, $2)")
        .await?;
    let add_grants = client
        .prepare(
            "insert into showtree.grants (org_id, node_id, user_id, role) \
             select $1, n, $3, $4::text::showtree.access_role from unnest($2::uuid[]) as n",
        )
        .await?;
    for user in users {
        let nodes: Vec<Uuid> = user.grants.iter().map(|&g| tree.id[g as usize]).collect();
        let roles: &[(Uuid, &str)] = if user.case == Case::Owner {
            &[(user.reader, "owner")]
        } else {
            &[(user.reader, "viewer"), (user.writer, "manager")]
        };
        for &(id, role) in roles {
            client
                .execute(&add_user, &[&id, &format!("{id}@bench.invalid")])
                .await
                .context("adding a user")?;
            client
                .execute(&add_grants, &[&org_id, &nodes, &id, &role])
                .await
                .context("granting")?;
        }
    }
    client
        .batch_execute("vacuum (analyze)")
        .await
        .context("vacuum analyze")?;
    Ok(())
}

impl AccessReport {
    /// The results as a plain-text table, for stdout.
    pub fn text_table(&self) -> String {
        let mut rows = vec![[
            "user".to_owned(),
            "statement".to_owned(),
            "RLS tps".to_owned(),
            "plain tps".to_owned(),
            "ratio".to_owned(),
            "RLS p50/p95/p99 ms".to_owned(),
            "plain p50/p95/p99 ms".to_owned(),
        ]];
        for c in &self.cases {
            for (what, p) in [("read", &c.read), ("insert", &c.insert)] {
                rows.push([
                    c.case.label().to_owned(),
                    what.to_owned(),
                    format!("{:.0}", p.rls.tps),
                    format!("{:.0}", p.plain.tps),
                    format!("{:.2}", p.ratio()),
                    p.rls.latency.triple_ms(),
                    p.plain.latency.triple_ms(),
                ]);
            }
        }
        let mut out = report::text_table(&rows);
        out += "\naccess sets (client-side, p50 / p95 ms; round trip alone in brackets):\n";
        for c in &self.cases {
            out += &format!(
                "  {}: {} / {} ({} / {})\n",
                c.case.label(),
                report::ms(c.access_sets.p50_us),
                report::ms(c.access_sets.p95_us),
                report::ms(c.round_trip.p50_us),
                report::ms(c.round_trip.p95_us)
            );
        }
        out
    }

    /// The results as the markdown section of docs/BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut md = String::new();
        md += "## Access: Row Level Security against plain SQL\n\n";
        md += &format!("Produced by `{}` on {}.\n\n", self.command, m.date);
        md += &format!(
            "Machine: {}, {} (shared_buffers {}, other settings default){}; pgbench, the \
             server and this command share the machine.\n\n",
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
        md += &format!(
            "Data: one generated organization of {} nodes, {} restricted workspaces. Each row \
             below is {} s of pgbench each way (`-M prepared -c {} -j {}`, custom scripts), in \
             {} runs each way alternating (a) and (b), so that a change in the machine's load \
             hits both: **(a)** as `authenticator`, `begin` and \
             `set_config('request.jwt.claims', ...), set_config('request.jwt.claim.sub', ...), set_config('role', 'authenticated', true)` \
             sent together between `\\startpipeline` and `\\endpipeline` (one round trip, as \
             `pool::Db::run_as` does), then the statement, then `commit`; **(b)** as the \
             superuser (RLS bypassed), `begin`, the same statement, `commit`. Both make three \
             round trips per transaction. Throughput and latency count the transactions of \
             pgbench's `-l` logs (latency through an HDR histogram) after each run's first \
             second, where every new connection prepares and plans its statements (a pooled \
             service does that once per connection, not per request).\n\n",
            report::thousands(self.nodes as u64),
            self.restricted,
            self.duration,
            self.clients,
            self.threads,
            self.rounds
        );
        md += "| user | grants | readable nodes | statement | (a) RLS tps | (b) plain tps | (a)/(b) | (a) p50 / p95 / p99 ms | (b) p50 / p95 / p99 ms |\n";
        md += "|---|--:|--:|---|--:|--:|--:|--:|--:|\n";
        for c in &self.cases {
            for (what, p) in [("read", &c.read), ("insert", &c.insert)] {
                let failed = p.rls.failed + p.plain.failed;
                md += &format!(
                    "| {} | {} | {} | {}{} | {:.0} | {:.0} | **{:.2}** | {} | {} |\n",
                    c.case.label(),
                    c.grants,
                    report::thousands(c.readable as u64),
                    what,
                    if failed > 0 {
                        format!(" ({failed} failed)")
                    } else {
                        String::new()
                    },
                    p.rls.tps,
                    p.plain.tps,
                    p.ratio(),
                    p.rls.latency.triple_ms(),
                    p.plain.latency.triple_ms()
                );
            }
        }
        md += &format!(
            "\nReading the caller's access sets as a read through RLS does at most (both init \
             plans, alone: `{ACCESS_SETS}`; a read of granted rows runs only the second) inside \
             a fresh context, {} times per user after a \
             warm-up, one connection, client-side wall time; `select 1` in the same transaction \
             is the round trip alone:\n\n",
            report::thousands(u64::from(self.load_runs))
        );
        md += "| user | restricted nodes in its set | sets p50 / p95 ms | round trip p50 / p95 ms | sets minus round trip, p50 ms |\n";
        md += "|---|--:|--:|--:|--:|\n";
        for c in &self.cases {
            md += &format!(
                "| {} | {} | {} / {} | {} / {} | {} |\n",
                c.case.label(),
                c.restricted_in_set,
                report::ms(c.access_sets.p50_us),
                report::ms(c.access_sets.p95_us),
                report::ms(c.round_trip.p50_us),
                report::ms(c.round_trip.p95_us),
                report::ms(c.access_sets.p50_us.saturating_sub(c.round_trip.p50_us))
            );
        }
        md += "\nNotes:\n\n";
        md += &format!(
            "- Reads: each user reads {} random nodes it can read (one pgbench script per node, \
             picked at random per transaction); the statement is the service's \
             `select <node columns> from showtree.nodes where id = '<id>'` with the id as a \
             literal (pgbench variables cannot hold a uuid). The readers hold *viewer* grants; \
             before measuring, each reader's `count(*)` through RLS was checked equal to what the \
             generator computes.\n",
            self.targets
        );
        md += &format!(
            "- Inserts: a workspace (`insert ... returning id`, slug `gen_random_uuid()::text`) \
             under one of {} random activations or workspaces the writer manages. The writer of \
             each non-owner row is a second user holding the same grants as *manager* (a viewer \
             may not insert); the owner row reads and inserts as the owner. (b) inserts the same \
             rows as the superuser.\n",
            self.targets
        );
        md += "- Per statement, the policy reads the caller's grant nodes (an index-only scan of \
               the caller's live grants, run once); per row, one `&&` of the row's grant path \
               (`private.grant_path`: its path from the deepest restricted node down) with them \
               decides. Only a row that test refuses (behind a restricted node, or not granted) \
               reads the caller's admin organizations (a second scan, also once per statement), \
               where owners and admins pass on `org_id = any(admin organizations)`. The owner's \
               root grant is among its grant nodes, so its rows outside restricted nodes pass on \
               the first test.\n";
        let failing: Vec<String> = self
            .cases
            .iter()
            .flat_map(|c| {
                [("read", c.read), ("insert", c.insert)]
                    .into_iter()
                    .filter(|(_, p)| p.ratio() < 0.7)
                    .map(move |(what, p)| format!("{} {what} {:.2}", c.case.label(), p.ratio()))
            })
            .collect();
        let ratios: Vec<f64> = self
            .cases
            .iter()
            .flat_map(|c| [c.read.ratio(), c.insert.ratio()])
            .collect();
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(0.0, f64::max);
        md += &format!(
            "- Reading: (a)/(b) ranges from {low:.2} to {high:.2}. Goal (issue 3), at least 0.7 \
             for every case: {}.\n",
            if failing.is_empty() {
                "met".to_owned()
            } else {
                format!("not met ({})", failing.join("; "))
            }
        );
        md
    }
}
