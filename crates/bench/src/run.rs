//! `showtree bench run`: a realistic mixed workload (navigation, subtree
//! task lists, roll-ups, search, task and invoice writes) through the real
//! HTTP service against a database `bench generate` loaded (issue 8).
//!
//! The service runs in this process on 127.0.0.1 (port 0) as the app role,
//! with a freshly generated JWT secret; the callers are generated users
//! (organization owners, and production managers where the organization
//! has one) whose tokens are minted with that secret. An in-process driver
//! (one keep-alive connection per worker) warms up, then measures, with an
//! HDR histogram per operation. The index and heap hit ratios are the
//! deltas of `pg_statio_user_indexes` / `pg_statio_user_tables` over the
//! measured run (after the warm-up). Then pgbench runs the same mix as the
//! statements the service executes, under the same request context, at the
//! same concurrency (capped by `max_connections`), so each operation has
//! its ratio. The run's writes stay in the database (new tasks, invoices,
//! task priorities).

pub mod scripts;
pub mod workload;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use showtree_api::auth::jwt::Jwt;
use showtree_core::NodeKind;
use showtree_db::connect::{url_with_database, url_with_user};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::access::APP_ROLE;
use crate::generate;
use crate::hierarchy::{self, Machine, connect};
use crate::pgbench::{self, Load as PgLoad, Protocol, Target};
use crate::report::{self, Latency};
use workload::{Job, Level, Load, Op, Scenario, Tally};

/// Default of `--connections`.
pub const DEFAULT_CONNECTIONS: u32 = 64;
/// Default of `--duration` (seconds).
pub const DEFAULT_DURATION: u64 = 30;
/// Default of `--warmup` (seconds).
pub const DEFAULT_WARMUP: u64 = 10;
/// Default of `--orgs`.
pub const DEFAULT_ORGS: u32 = 16;
/// Default of `--targets`.
pub const DEFAULT_TARGETS: u32 = 8;
/// Marks the figures `bench targets` reads back (then `:scenario-connections`).
pub const FIGURES_TAG: &str = "figures:run";

/// What names a run's section and figures: scenario, connections and, for
/// a paced run, its rate (`mixed-64`, `mixed-64-at-200`), so runs of
/// different shapes are recorded side by side.
pub fn key(scenario: Scenario, connections: u32, rate: Option<u32>) -> String {
    match rate {
        None => format!("{}-{connections}", scenario.name()),
        Some(r) => format!("{}-{connections}-at-{r}", scenario.name()),
    }
}

/// The tag of the figures of the runs of `scenario` at `connections` (and
/// `rate`).
pub fn figures_tag(scenario: Scenario, connections: u32, rate: Option<u32>) -> String {
    format!("{FIGURES_TAG}:{}", key(scenario, connections, rate))
}

/// The markers around the section of the runs of `scenario` at
/// `connections` (and `rate`).
pub fn section_markers(
    scenario: Scenario,
    connections: u32,
    rate: Option<u32>,
) -> (String, String) {
    let key = key(scenario, connections, rate);
    (
        format!("<!-- bench:run:{key}:start -->"),
        format!("<!-- bench:run:{key}:end -->"),
    )
}
/// Connections left to others when sizing pgbench.
const SPARE_CONNECTIONS: i64 = 4;

/// Options of `showtree bench run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The mix of operations.
    #[arg(long, value_enum, default_value_t = Scenario::Mixed)]
    pub scenario: Scenario,
    /// Concurrent HTTP connections (and pgbench clients, as far as the
    /// server's max_connections allows).
    #[arg(long, default_value_t = DEFAULT_CONNECTIONS)]
    pub connections: u32,
    /// Measured time: seconds, or with a unit (`30s`, `5m`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Warm-up before measuring (same mix, not recorded).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// The generated database to run against (`bench generate --database`).
    #[arg(long, default_value = generate::DEFAULT_DATABASE)]
    pub database: String,
    /// The PostgreSQL server, as the URL of any database on it (a superuser:
    /// it samples the targets and reads the statistics).
    #[arg(long)]
    pub url: Option<String>,
    /// Organizations the callers come from (the largest, then a seeded draw).
    #[arg(long, default_value_t = DEFAULT_ORGS)]
    pub orgs: u32,
    /// Targets per caller and operation.
    #[arg(long, default_value_t = DEFAULT_TARGETS)]
    pub targets: u32,
    /// Offer this many requests per second in total, each connection on a
    /// fixed schedule (open loop), latency counted from each request's
    /// scheduled time; pgbench runs with `--rate` alike. Without it, each
    /// connection sends its next request when it has the last answer
    /// (closed loop: the throughput the machine reaches, latency included
    /// queueing behind the other connections).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
    /// The service's connection pool size (default: the service's own).
    #[arg(long)]
    pub pool_size: Option<u32>,
    /// pgbench threads (`-j`).
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// Skip the pgbench baseline.
    #[arg(long)]
    pub no_pgbench: bool,
    /// Seed of the targets' and the mix's draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the results into this markdown file (between the
    /// `bench:run:SCENARIO-CONNECTIONS` markers).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

impl Default for RunArgs {
    fn default() -> Self {
        RunArgs {
            scenario: Scenario::Mixed,
            connections: DEFAULT_CONNECTIONS,
            duration: Duration::from_secs(DEFAULT_DURATION),
            warmup: Duration::from_secs(DEFAULT_WARMUP),
            database: generate::DEFAULT_DATABASE.to_owned(),
            url: None,
            orgs: DEFAULT_ORGS,
            targets: DEFAULT_TARGETS,
            rate: None,
            pool_size: None,
            threads: 2,
            no_pgbench: false,
            seed: 1,
            markdown: None,
        }
    }
}

/// `30`, `30s`, `5m`, `500ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = number.parse().map_err(|_| format!("not a duration: {s}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit in {s} (ms, s, m, h)")),
    };
    ensure_finite(secs).ok_or_else(|| format!("not a duration: {s}"))
}

fn ensure_finite(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

impl RunArgs {
    /// The command that reproduces this run.
    pub fn command_line(&self) -> String {
        let d = RunArgs::default();
        let mut cmd = format!(
            "showtree bench run --scenario {} --connections {} --duration {}",
            self.scenario.name(),
            self.connections,
            seconds(self.duration)
        );
        let extras = [
            (self.warmup != d.warmup).then(|| format!(" --warmup {}", seconds(self.warmup))),
            (self.database != d.database).then(|| format!(" --database {}", self.database)),
            (self.orgs != d.orgs).then(|| format!(" --orgs {}", self.orgs)),
            (self.targets != d.targets).then(|| format!(" --targets {}", self.targets)),
            self.rate.map(|r| format!(" --rate {r}")),
            self.pool_size.map(|p| format!(" --pool-size {p}")),
            (self.threads != d.threads).then(|| format!(" --threads {}", self.threads)),
            self.no_pgbench.then(|| " --no-pgbench".to_owned()),
            (self.seed != d.seed).then(|| format!(" --seed {}", self.seed)),
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

/// One operation both ways.
#[derive(Debug, Clone)]
pub struct OpResult {
    /// Which operation.
    pub op: Op,
    /// Whose requests (None: every caller's).
    pub level: Option<Level>,
    /// Its weight in the mix.
    pub weight: u32,
    /// Distinct targets.
    pub targets: usize,
    /// Successful HTTP requests.
    pub http_ok: u64,
    /// HTTP failures, summarized.
    pub http_failures: String,
    /// Failed HTTP requests.
    pub http_failed: u64,
    /// Successful HTTP requests per second.
    pub http_rps: f64,
    /// HTTP latency.
    pub http: Latency,
    /// pgbench transactions per second of this operation's scripts.
    pub pgbench_tps: Option<f64>,
    /// pgbench latency of this operation's scripts.
    pub pgbench: Option<Latency>,
}

impl OpResult {
    /// HTTP throughput over pgbench's.
    pub fn throughput_ratio(&self) -> Option<f64> {
        self.pgbench_tps
            .filter(|t| *t > 0.0)
            .map(|t| self.http_rps / t)
    }

    /// HTTP p95 over pgbench's.
    pub fn p95_ratio(&self) -> Option<f64> {
        self.pgbench
            .filter(|l| l.count > 0 && l.p95_us > 0)
            .map(|l| self.http.p95_us as f64 / l.p95_us as f64)
    }
}

/// Buffer hits and reads over the measured run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HitRatio {
    /// Blocks found in shared buffers.
    pub hit: i64,
    /// Blocks read from the kernel (its page cache or disk).
    pub read: i64,
}

impl HitRatio {
    /// hit / (hit + read); `None` without any access.
    pub fn ratio(&self) -> Option<f64> {
        let all = self.hit + self.read;
        (all > 0).then(|| self.hit as f64 / all as f64)
    }

    fn since(self, before: HitRatio) -> HitRatio {
        HitRatio {
            hit: self.hit - before.hit,
            read: self.read - before.read,
        }
    }

    fn percent(&self) -> String {
        self.ratio()
            .map_or_else(|| "n/a".to_owned(), |r| format!("{:.2}%", 100.0 * r))
    }
}

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The command that reproduces it.
    pub command: String,
    /// The mix.
    pub scenario: Scenario,
    /// The database and what the generator says about it.
    pub database: String,
    /// The generator's description of the data (its database comment).
    pub data: String,
    /// Organizations and nodes in the database.
    pub orgs: i64,
    /// Nodes in the database.
    pub nodes: i64,
    /// Callers (organization owners, production managers) and their level.
    pub callers: Vec<(String, Level)>,
    /// HTTP connections.
    pub connections: u32,
    /// Requests per second offered (a paced run), or None (closed loop).
    pub rate: Option<u32>,
    /// Measured and warm-up time.
    pub duration: Duration,
    /// Warm-up time.
    pub warmup: Duration,
    /// The service's pool size.
    pub pool_size: usize,
    /// The measured run's wall time.
    pub elapsed: Duration,
    /// By operation.
    pub ops: Vec<OpResult>,
    /// By operation and caller level (levels without targets left out).
    pub by_level: Vec<OpResult>,
    /// Every operation together.
    pub total: OpResult,
    /// Successful writes per second.
    pub writes_per_second: f64,
    /// pgbench clients (None when skipped).
    pub pgbench_clients: Option<u32>,
    /// pgbench transactions per second over the whole mix.
    pub pgbench_tps: Option<f64>,
    /// Index buffer hits and reads over the measured run.
    pub index_hits: HitRatio,
    /// Heap buffer hits and reads over the measured run.
    pub heap_hits: HitRatio,
    /// The server's `max_connections`.
    pub max_connections: i64,
    /// Where it ran.
    pub machine: Machine,
}

/// One caller: a generated user with a minted token.
struct Caller {
    label: String,
    level: Level,
    token: String,
    claims: String,
}

/// Runs the workload against the generated database named in `args` on
/// the server behind `admin_url` (or `--url`).
pub async fn run(args: &RunArgs, admin_url: &str) -> anyhow::Result<RunReport> {
    hierarchy::check_database_name(&args.database)?;
    ensure!(args.connections >= 1, "at least one connection");
    ensure!(
        !args.duration.is_zero(),
        "the measured duration must be above 0"
    );
    let url = args.url.as_deref().unwrap_or(admin_url);
    let admin = connect(url)
        .await
        .context("connecting to the PostgreSQL server")?;
    let data: Option<Option<String>> = admin
        .query_opt(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = $1",
            &[&args.database],
        )
        .await?
        .map(|r| r.get(0));
    let data = match data {
        None => bail!(
            "no database {}: load one with `showtree bench generate --database {}`",
            args.database,
            args.database
        ),
        Some(c) => c.unwrap_or_default(),
    };
    ensure!(
        data.starts_with(generate::MARKER) && !data.ends_with("loading"),
        "database {} was not (completely) loaded by `showtree bench generate`",
        args.database
    );
    let db_url = url_with_database(url, &args.database);
    let client = connect(&db_url)
        .await
        .context("connecting to the generated database")?;
    let max_connections: i64 = client
        .query_one("select current_setting('max_connections')::int8", &[])
        .await?
        .get(0);
    let (orgs, nodes): (i64, i64) = {
        let r = client
            .query_one(
                "select count(*) filter (where kind = 'organization'), count(*) from showtree.nodes",
                &[],
            )
            .await?;
        (r.get(0), r.get(1))
    };
    showtree_db::audit_log::ensure_partitions(&client)
        .await
        .context("creating the audit log's partitions")?;

    let secret = showtree_api::Secret::generate();
    let jwt = Jwt::new(&secret, Duration::from_secs(24 * 3600));
    let (people, jobs) = sample(&client, args).await?;
    ensure!(
        Op::ALL
            .iter()
            .zip(&jobs)
            .any(|(op, j)| !j.is_empty() && args.scenario.weight(*op) > 0),
        "no target for any operation of the mix: is the database empty?"
    );
    let mut callers = Vec::new();
    for (user, label, level) in &people {
        let token = jwt.issue(*user)?;
        let claims = jwt
            .verify(&token)
            .map_err(|r| anyhow::anyhow!("the minted token does not verify: {}", r.as_str()))?
            .claims
            .to_string();
        callers.push(Caller {
            label: label.clone(),
            level: *level,
            token,
            claims,
        });
    }

    let mut service = showtree_api::Config::new(url_with_user(&db_url, APP_ROLE), secret);
    service.bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    if let Some(size) = args.pool_size {
        service.pool_size = size as usize;
    }
    let pool_size = service.pool_size;
    let app = showtree_api::App::build(service)
        .await
        .context("starting the service")?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let mut machine = hierarchy::machine(&client).await?;
    let measured = measure_http(args, &base, &callers, &jobs, &client).await;
    let _ = stop.send(());
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "the service stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "the service task failed"),
    }
    let (outcome, index_hits, heap_hits) = measured?;

    let baseline = if args.no_pgbench {
        None
    } else {
        let target = Target::from_url(url, &args.database)?;
        Some(baseline(args, &client, &target, &callers, &jobs).await?)
    };
    machine.load_average.1 = hierarchy::load_average();

    let mut ops = Vec::new();
    let mut by_level = Vec::new();
    for (i, op) in Op::ALL.iter().enumerate() {
        let weight = args.scenario.weight(*op);
        if weight == 0 {
            continue;
        }
        let (tps, lat) = match &baseline {
            Some(b) => (Some(b.tps_of(i, None)), Some(b.per_op[i])),
            None => (None, None),
        };
        let tally = outcome.op(i)?;
        ops.push(OpResult {
            level: None,
            ..op_result(
                *op,
                weight,
                jobs[i].len(),
                &tally,
                outcome.elapsed,
                tps,
                lat,
            )
        });
        for level in Level::ALL {
            let targets = jobs[i].iter().filter(|j| j.level == level).count();
            if targets == 0 {
                continue;
            }
            let (tps, lat) = match &baseline {
                Some(b) => (
                    Some(b.tps_of(i, Some(level))),
                    Some(b.per_level[i][level as usize]),
                ),
                None => (None, None),
            };
            by_level.push(OpResult {
                level: Some(level),
                ..op_result(
                    *op,
                    weight,
                    targets,
                    outcome.of(i, level),
                    outcome.elapsed,
                    tps,
                    lat,
                )
            });
        }
    }
    let total_tally = outcome.total()?;
    let total = OpResult {
        op: Op::Node,
        weight: ops.iter().map(|o| o.weight).sum(),
        targets: ops.iter().map(|o| o.targets).sum(),
        ..op_result(
            Op::Node,
            0,
            0,
            &total_tally,
            outcome.elapsed,
            baseline.as_ref().map(|b| b.outcome.tps),
            baseline.as_ref().map(|b| b.outcome.latency),
        )
    };
    let report = RunReport {
        command: args.command_line(),
        scenario: args.scenario,
        database: args.database.clone(),
        data,
        orgs,
        nodes,
        callers: callers.iter().map(|c| (c.label.clone(), c.level)).collect(),
        connections: args.connections,
        rate: args.rate,
        duration: args.duration,
        warmup: args.warmup,
        pool_size,
        elapsed: outcome.elapsed,
        ops,
        by_level,
        total,
        writes_per_second: outcome.writes_per_second(),
        pgbench_clients: baseline.as_ref().map(|b| b.clients),
        pgbench_tps: baseline.as_ref().map(|b| b.outcome.tps),
        index_hits,
        heap_hits,
        max_connections,
        machine,
    };
    if let Some(path) = &args.markdown {
        let (start, end) = section_markers(args.scenario, args.connections, args.rate);
        report::write_section(path, &start, &end, &report.markdown())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report)
}

fn op_result(
    op: Op,
    weight: u32,
    targets: usize,
    t: &Tally,
    elapsed: Duration,
    pgbench_tps: Option<f64>,
    pgbench: Option<Latency>,
) -> OpResult {
    OpResult {
        op,
        level: None,
        weight,
        targets,
        http_ok: t.ok(),
        http_failures: t.failure_summary(),
        http_failed: t.failures(),
        http_rps: t.rate(elapsed),
        http: t.percentiles(),
        pgbench_tps,
        pgbench,
    }
}

/// Checks every operation once, warms up, then measures with the
/// statistics' snapshots around the measured run.
async fn measure_http(
    args: &RunArgs,
    base: &str,
    callers: &[Caller],
    jobs: &[Vec<Job>],
    client: &Client,
) -> anyhow::Result<(workload::Outcome, HitRatio, HitRatio)> {
    check_once(base, callers, jobs, args.scenario).await?;
    let load = |duration: Duration, seed: u64| Load {
        base: base.to_owned(),
        tokens: callers.iter().map(|c| c.token.clone()).collect(),
        jobs: jobs.to_vec(),
        scenario: args.scenario,
        connections: args.connections,
        duration,
        seed,
        rate: args.rate,
    };
    if !args.warmup.is_zero() {
        let warm = load(args.warmup, args.seed ^ 0x5741_524d);
        tokio::task::spawn_blocking(move || workload::run(&warm))
            .await
            .context("the load driver panicked")??;
    }
    // backends report their statistics at most once a second
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (index_before, heap_before) = hits(client).await?;
    let measured = load(args.duration, args.seed);
    let outcome = tokio::task::spawn_blocking(move || workload::run(&measured))
        .await
        .context("the load driver panicked")??;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (index_after, heap_after) = hits(client).await?;
    Ok((
        outcome,
        index_after.since(index_before),
        heap_after.since(heap_before),
    ))
}

/// Cumulative buffer hits and reads of indexes and of tables.
async fn hits(client: &Client) -> anyhow::Result<(HitRatio, HitRatio)> {
    let r = client
        .query_one(
            "select (select coalesce(sum(idx_blks_hit), 0)::int8 from pg_statio_user_indexes), \
                    (select coalesce(sum(idx_blks_read), 0)::int8 from pg_statio_user_indexes), \
                    (select coalesce(sum(heap_blks_hit), 0)::int8 from pg_statio_user_tables), \
                    (select coalesce(sum(heap_blks_read), 0)::int8 from pg_statio_user_tables)",
            &[],
        )
        .await
        .context("reading the buffer statistics")?;
    Ok((
        HitRatio {
            hit: r.get(0),
            read: r.get(1),
        },
        HitRatio {
            hit: r.get(2),
            read: r.get(3),
        },
    ))
}

/// One request of each operation in the mix, which must succeed: a
/// workload of errors measures nothing.
async fn check_once(
    base: &str,
    callers: &[Caller],
    jobs: &[Vec<Job>],
    scenario: Scenario,
) -> anyhow::Result<()> {
    let load = Load {
        base: base.to_owned(),
        tokens: callers.iter().map(|c| c.token.clone()).collect(),
        jobs: Vec::new(),
        scenario,
        connections: 1,
        duration: Duration::ZERO,
        seed: 0,
        rate: None,
    };
    let mut problems = Vec::new();
    for (i, op) in Op::ALL.iter().enumerate() {
        if scenario.weight(*op) == 0 {
            continue;
        }
        let Some(job) = jobs[i].first() else {
            continue;
        };
        let mut only: Vec<Vec<Job>> = Op::ALL.iter().map(|_| Vec::new()).collect();
        only[i] = vec![job.clone()];
        let one = Load {
            jobs: only,
            ..load.clone()
        };
        let status = tokio::task::spawn_blocking(move || workload::run_once(&one, i))
            .await
            .context("the load driver panicked")??;
        if !(200..300).contains(&status.0) {
            problems.push(format!(
                "{} answered {}: {}",
                op.label(),
                status.0,
                status.1
            ));
        }
    }
    if !problems.is_empty() {
        bail!("the workload's requests fail: {}", problems.join("; "));
    }
    Ok(())
}

/// What the pgbench baseline measured.
struct Baseline {
    clients: u32,
    outcome: pgbench::Outcome,
    /// By operation ([`Op::ALL`] order).
    per_op: Vec<Latency>,
    /// By operation, then caller level ([`Level::ALL`] order).
    per_level: Vec<[Latency; 2]>,
}

impl Baseline {
    /// Transactions per second of operation `i` (from callers of `level`,
    /// or all): its share of the total.
    fn tps_of(&self, i: usize, level: Option<Level>) -> f64 {
        let all: u64 = self.per_op.iter().map(|l| l.count).sum();
        if all == 0 {
            return 0.0;
        }
        let count = match level {
            None => self.per_op[i].count,
            Some(level) => self.per_level[i][level as usize].count,
        };
        self.outcome.tps * count as f64 / all as f64
    }
}

/// pgbench's scripts for the mix: up to `per_group` targets of each
/// operation and caller level, spread over the callers, each weighted so
/// the level keeps the share of the operation it has in the HTTP mix (its
/// share of the targets: the driver draws targets uniformly) and the
/// operation its weight. Returns (operation index, level, job, weight).
fn pick_scripts(scenario: Scenario, jobs: &[Vec<Job>]) -> Vec<(usize, Level, &Job, u32)> {
    let groups: Vec<(usize, Level, Vec<&Job>)> = (0..Op::ALL.len())
        .filter(|&i| scenario.weight(Op::ALL[i]) > 0)
        .flat_map(|i| {
            Level::ALL.into_iter().map(move |level| {
                let of_level = jobs[i].iter().filter(|j| j.level == level).collect();
                (i, level, of_level)
            })
        })
        .filter(|(_, _, of_level): &(usize, Level, Vec<&Job>)| !of_level.is_empty())
        .collect();
    let per_group = (pgbench::MAX_SCRIPTS / groups.len().max(1)).max(1);
    let mut picked = Vec::new();
    for (i, level, of_level) in groups {
        // targets are grouped by caller: a stride reaches every caller
        let stride = of_level.len().div_ceil(per_group).max(1);
        let chosen: Vec<&Job> = of_level
            .iter()
            .copied()
            .step_by(stride)
            .take(per_group)
            .collect();
        // x1000 keeps the integer weights close to the shares
        let share = u64::from(scenario.weight(Op::ALL[i])) * 1000 * of_level.len() as u64
            / jobs[i].len() as u64;
        let weight = u32::try_from(share / chosen.len() as u64)
            .unwrap_or(u32::MAX)
            .max(1);
        picked.extend(chosen.into_iter().map(|job| (i, level, job, weight)));
    }
    picked
}

/// The mix as pgbench scripts ([`pick_scripts`]), at the run's
/// concurrency (capped by the server's free connections), for as long.
async fn baseline(
    args: &RunArgs,
    client: &Client,
    target: &Target,
    callers: &[Caller],
    jobs: &[Vec<Job>],
) -> anyhow::Result<Baseline> {
    let picked = pick_scripts(args.scenario, jobs);
    let scripts: Vec<(String, u32)> = picked
        .iter()
        .map(|(i, _, job, weight)| {
            (
                scripts::script(Op::ALL[*i], job, &callers[job.caller].claims),
                *weight,
            )
        })
        .collect();
    let clients = pgbench_clients(client, args.connections).await?;
    let load = PgLoad {
        clients,
        threads: args.threads.min(clients).max(1),
        duration: args.duration,
        protocol: Protocol::Extended,
    };
    let (outcome, per_script) = pgbench::run_weighted(target, APP_ROLE, &scripts, load, args.rate)
        .await
        .context("pgbench: the mix")?;
    let mut merged = Op::ALL
        .iter()
        .map(|_| Ok([hierarchy::histogram()?, hierarchy::histogram()?]))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (h, (i, level, _, _)) in per_script.iter().zip(&picked) {
        merged[*i][*level as usize]
            .add(h)
            .context("merging pgbench histograms")?;
    }
    let mut per_op = Vec::new();
    let mut per_level = Vec::new();
    for [org, production] in &merged {
        let mut both = org.clone();
        both.add(production).context("merging pgbench histograms")?;
        per_op.push(Latency::from_histogram(&both));
        per_level.push([
            Latency::from_histogram(org),
            Latency::from_histogram(production),
        ]);
    }
    Ok(Baseline {
        clients,
        outcome,
        per_op,
        per_level,
    })
}

/// pgbench's client count for `wanted`: as many as the server still
/// accepts, less a few for others.
async fn pgbench_clients(client: &Client, wanted: u32) -> anyhow::Result<u32> {
    let free: i64 = client
        .query_one(
            "select current_setting('max_connections')::int8 \
                    - current_setting('superuser_reserved_connections')::int8 \
                    - (select count(*) from pg_stat_activity where backend_type = 'client backend')",
            &[],
        )
        .await
        .context("counting free connections")?
        .get(0);
    let free = u32::try_from(free - SPARE_CONNECTIONS).unwrap_or(0);
    ensure!(
        free >= 1,
        "the server has no connection left for pgbench (max_connections)"
    );
    Ok(wanted.min(free))
}

/// Where a caller may act.
struct Scope {
    caller: usize,
    level: Level,
    org_id: Uuid,
    /// A production the caller manages (None: the whole organization).
    under: Option<Uuid>,
    /// Whether the caller may write invoices (finance).
    finance: bool,
}

/// Draws the callers and every operation's targets.
async fn sample(
    client: &Client,
    args: &RunArgs,
) -> anyhow::Result<(Vec<(Uuid, String, Level)>, Vec<Vec<Job>>)> {
    let seed = args.seed.to_string();
    let orgs: Vec<Uuid> = client
        .query(
            "with largest as (
               select org_id from showtree.nodes where kind = 'project' and deleted_at is null
                group by org_id order by count(*) desc, org_id limit 1)
             select id from showtree.nodes o
              where kind = 'organization' and deleted_at is null
              order by (id in (select org_id from largest)) desc, md5(id::text || $1)
              limit $2",
            &[&seed, &i64::from(args.orgs.max(1))],
        )
        .await
        .context("drawing organizations")?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut people = Vec::new();
    let mut scopes = Vec::new();
    for &org in &orgs {
        let owner = client
            .query_opt(
                "select user_id from showtree.grants
                  where org_id = $1 and node_id = $1 and role::text = 'owner' and deleted_at is null
                  order by user_id limit 1",
                &[&org],
            )
            .await?;
        if let Some(owner) = owner {
            people.push((owner.get(0), format!("owner of {org}"), Level::Org));
            scopes.push(Scope {
                caller: people.len() - 1,
                level: Level::Org,
                org_id: org,
                under: None,
                finance: true,
            });
        }
        let manager = client
            .query_opt(
                "select g.user_id, g.node_id from showtree.grants g
                   join showtree.nodes n on n.org_id = g.org_id and n.id = g.node_id
                  where g.org_id = $1 and g.role::text = 'manager' and n.kind = 'production'
                    and g.deleted_at is null and n.deleted_at is null
                    and not exists (select from showtree.grants o where o.org_id = g.org_id
                                     and o.user_id = g.user_id and o.node_id = g.org_id)
                  order by md5(g.id::text || $2) limit 1",
                &[&org, &seed],
            )
            .await?;
        if let Some(m) = manager {
            let node: Uuid = m.get(1);
            people.push((
                m.get(0),
                format!("manager of production {node}"),
                Level::Production,
            ));
            scopes.push(Scope {
                caller: people.len() - 1,
                level: Level::Production,
                org_id: org,
                under: Some(node),
                finance: false,
            });
        }
    }
    let mut jobs: Vec<Vec<Job>> = Op::ALL.iter().map(|_| Vec::new()).collect();
    let n = i64::from(args.targets.max(1));
    for scope in &scopes {
        let vendor: Option<Uuid> = client
            .query_opt(
                "select id from showtree.vendors where org_id = $1 and deleted_at is null order by id limit 1",
                &[&scope.org_id],
            )
            .await?
            .map(|r| r.get(0));
        let currency: Option<String> = client
            .query_opt(
                "select base_currency::text from showtree.organizations where org_id = $1",
                &[&scope.org_id],
            )
            .await?
            .map(|r| r.get(0));
        let job = |node: Uuid, kind: NodeKind| Job {
            caller: scope.caller,
            level: scope.level,
            org_id: scope.org_id,
            node_id: node,
            kind,
            row_id: None,
            word: None,
            vendor_id: vendor,
            currency: currency.clone(),
        };
        for op in Op::ALL {
            let kinds: &[&str] = match op {
                Op::Node => &[
                    "organization",
                    "project",
                    "production",
                    "activation",
                    "workspace",
                ],
                Op::Children => &["project", "production", "activation", "workspace"],
                Op::Ancestors => &["workspace"],
                Op::TaskList => &["production", "activation"],
                Op::Rollup => &["organization", "project", "production", "activation"],
                Op::TaskCreate => &["activation", "workspace"],
                Op::InvoiceCreate if scope.finance && vendor.is_some() => &["production"],
                _ => &[],
            };
            if kinds.is_empty() {
                continue;
            }
            let children = op == Op::Children;
            for (node, kind) in nodes(client, scope, kinds, children, &seed, n).await? {
                jobs[op as usize].push(job(node, kind));
            }
        }
        // tasks: updated, and searched for (by a word of their title) from
        // their production (or the caller's scope)
        for r in tasks(client, scope, &seed, n).await? {
            let (task, node, search_at, title): (Uuid, Uuid, Uuid, String) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            jobs[Op::TaskUpdate as usize].push(Job {
                row_id: Some(task),
                ..job(node, NodeKind::Workspace)
            });
            if let Some(word) = search_word(&title) {
                jobs[Op::Search as usize].push(Job {
                    word: Some(word),
                    ..job(search_at, NodeKind::Production)
                });
            }
        }
    }
    Ok((people, jobs))
}

/// Live nodes of `kinds` the scope's caller reads (restricted subtrees
/// left out for managers), drawn by the seed.
async fn nodes(
    client: &Client,
    scope: &Scope,
    kinds: &[&str],
    with_children: bool,
    seed: &str,
    n: i64,
) -> anyhow::Result<Vec<(Uuid, NodeKind)>> {
    let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
    let rows = client
        .query(
            "select n.id, n.kind::text from showtree.nodes n
              where n.org_id = $1 and n.deleted_at is null and n.kind::text = any($2)
                and ($3::uuid is null or n.id = $3 or n.ancestors @> array[$3::uuid])
                and ($3::uuid is null or not (n.restricted or exists (
                      select from showtree.nodes r where r.org_id = n.org_id
                         and r.id = any(n.ancestors) and r.restricted)))
                and (not $4 or exists (select from showtree.nodes c
                      where c.org_id = n.org_id and c.parent_id = n.id and c.deleted_at is null))
              order by md5(n.id::text || $5) limit $6",
            &[
                &scope.org_id,
                &kinds,
                &scope.under,
                &with_children,
                &seed,
                &n,
            ],
        )
        .await
        .context("drawing nodes")?;
    rows.iter()
        .map(|r| {
            let kind: String = r.get(1);
            let kind = NodeKind::ALL
                .into_iter()
                .find(|k| k.as_str() == kind)
                .context("an unknown node kind")?;
            Ok((r.get(0), kind))
        })
        .collect()
}

/// Live tasks under live nodes of the scope: id, node, where to search
/// for it, title.
async fn tasks(
    client: &Client,
    scope: &Scope,
    seed: &str,
    n: i64,
) -> anyhow::Result<Vec<tokio_postgres::Row>> {
    client
        .query(
            "select t.id, t.node_id,
                    coalesce($3::uuid, case when n.depth >= 3 then n.ancestors[3] else n.id end),
                    t.title
               from showtree.tasks t
               join showtree.nodes n on n.org_id = t.org_id and n.id = t.node_id
              where t.org_id = $1 and t.deleted_at is null and n.deleted_at is null
                and ($3::uuid is null or n.id = $3 or n.ancestors @> array[$3::uuid])
                and ($3::uuid is null or not (n.restricted or exists (
                      select from showtree.nodes r where r.org_id = n.org_id
                         and r.id = any(n.ancestors) and r.restricted)))
              order by md5(t.id::text || $2) limit $4",
            &[&scope.org_id, &seed, &scope.under, &n],
        )
        .await
        .context("drawing tasks")
}

/// The longest word of a title (letters only, at least four), lowercased.
pub fn search_word(title: &str) -> Option<String> {
    title
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 4)
        .max_by_key(|w| w.chars().count())
        .map(str::to_lowercase)
}

fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}"))
}

fn ms_opt(l: Option<Latency>) -> String {
    l.filter(|l| l.count > 0)
        .map_or_else(|| "n/a".to_owned(), |l| l.triple_ms())
}

/// A row's name: the operation, or its caller level under it.
fn row_name(o: &OpResult) -> String {
    match o.level {
        None => o.op.label().to_owned(),
        Some(level) => format!("{} ({})", o.op.name(), level.label()),
    }
}

impl RunReport {
    /// The results as plain text.
    pub fn text_table(&self) -> String {
        let mut rows = vec![[
            "operation".to_owned(),
            "HTTP req/s".to_owned(),
            "HTTP p50/p95/p99 ms".to_owned(),
            "failures".to_owned(),
            "pgbench tx/s".to_owned(),
            "pgbench p50/p95/p99 ms".to_owned(),
            "req/s ratio".to_owned(),
            "p95 ratio".to_owned(),
        ]];
        let all = OpResult {
            level: None,
            ..self.total.clone()
        };
        for o in self.ops.iter().chain(&self.by_level).chain([&all]) {
            let name = if std::ptr::eq(o, &all) {
                "all operations".to_owned()
            } else {
                row_name(o)
            };
            rows.push([
                name,
                format!("{:.0}", o.http_rps),
                o.http.triple_ms(),
                o.http_failures.clone(),
                o.pgbench_tps.map_or("n/a".into(), |t| format!("{t:.0}")),
                ms_opt(o.pgbench),
                ratio(o.throughput_ratio()),
                ratio(o.p95_ratio()),
            ]);
        }
        let mut out = report::text_table(&rows);
        let _ = writeln!(
            out,
            "\n{} connections, {:.1} s measured; writes {:.0}/s; index hit ratio {}, heap hit ratio {}",
            self.connections,
            self.elapsed.as_secs_f64(),
            self.writes_per_second,
            self.index_hits.percent(),
            self.heap_hits.percent()
        );
        out
    }

    /// The figures `bench targets` reads (JSON), with each operation's
    /// p95 by caller level beside pgbench's (issue 5).
    pub fn figures(&self) -> serde_json::Value {
        let mut levels = serde_json::Map::new();
        for level in Level::ALL {
            let ops: serde_json::Map<String, serde_json::Value> = self
                .by_level
                .iter()
                .filter(|o| o.level == Some(level))
                .map(|o| {
                    (
                        o.op.name().to_owned(),
                        serde_json::json!({
                            "p95_us": o.http.p95_us,
                            "pgbench_p95_us": o.pgbench.filter(|l| l.count > 0).map(|l| l.p95_us),
                        }),
                    )
                })
                .collect();
            levels.insert(level.key().to_owned(), ops.into());
        }
        serde_json::json!({
            "scenario": self.scenario.name(),
            "connections": self.connections,
            "rate": self.rate,
            "duration_s": self.duration.as_secs_f64(),
            "measured_s": self.elapsed.as_secs_f64(),
            "data": self.data,
            "orgs": self.orgs,
            "p95_us": self.total.http.p95_us,
            "p99_us": self.total.http.p99_us,
            "rps": self.total.http_rps,
            "writes_per_s": self.writes_per_second,
            "failures": self.total.http_failed,
            "index_hit_ratio": self.index_hits.ratio(),
            "heap_hit_ratio": self.heap_hits.ratio(),
            "pgbench_clients": self.pgbench_clients,
            "pgbench_tps": self.pgbench_tps,
            "by_level": levels,
        })
    }

    /// The section of docs/BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "## {} through the HTTP API, {} connections{}\n\n",
            self.scenario.title(),
            self.connections,
            self.rate
                .map_or_else(String::new, |r| format!(", paced at {r} requests/s"))
        );
        let _ = write!(
            out,
            "Produced by `{}` on {} (release build).\n\n",
            self.command, m.date
        );
        let _ = write!(
            out,
            "Machine: {}, {} (shared_buffers {}, max_connections {}, other settings default); \
             1-minute load average {} when the run started, {} when it ended; the service, the \
             load driver, pgbench and the server share the machine (and it is shared with other work).\n\n",
            m.hardware(),
            m.postgres,
            m.shared_buffers,
            self.max_connections,
            m.load_average.0.as_deref().unwrap_or("unknown"),
            m.load_average.1.as_deref().unwrap_or("unknown"),
        );
        let owners = self.callers.iter().filter(|c| c.1 == Level::Org).count();
        let _ = write!(
            out,
            "Data: database `{}` ({}): {} organizations, {} nodes. Callers: {} generated users, \
             {} organization owners (org-level) and {} production managers (production-level: \
             a manager grant on one production, none above it), tokens minted with the service's \
             secret. Scenario `{}`: {} HTTP connections (one keep-alive connection per in-process \
             worker), {} of warm-up then {:.1} s measured; the service's pool holds {} \
             connections. Baseline: pgbench runs the statements the service executes for each \
             operation (same order, same request context, no HTTP), for each caller level, the \
             same mix by weight and level, {}, as long.\n\n",
            self.database,
            self.data,
            report::thousands(self.orgs.max(0) as u64),
            report::thousands(self.nodes.max(0) as u64),
            self.callers.len(),
            owners,
            self.callers.len() - owners,
            self.scenario.name(),
            self.connections,
            seconds(self.warmup),
            self.elapsed.as_secs_f64(),
            self.pool_size,
            self.pgbench_clients_sentence(),
        );
        if let Some(rate) = self.rate {
            let _ = write!(
                out,
                "Paced (open loop): {} requests per second offered in total, each connection \
                 sending on a fixed schedule ({:.2} per second, the connections' slots \
                 interleaved); a request's latency counts from its scheduled time, so time spent \
                 waiting for its connection's previous answer counts too (no coordinated \
                 omission). pgbench runs with `--rate {}`, whose latency likewise counts from \
                 each transaction's scheduled start. Throughput below the offered rate means the \
                 side could not keep up.\n\n",
                rate,
                f64::from(rate) / f64::from(self.connections.max(1)),
                rate,
            );
        }
        out += "| operation | weight | targets | HTTP req/s | HTTP p50 / p95 / p99 ms | HTTP failures | pgbench tx/s | pgbench p50 / p95 / p99 ms | req/s ratio | p95 ratio |\n";
        out += "|---|--:|--:|--:|--:|---|--:|--:|--:|--:|\n";
        for o in &self.ops {
            let _ = writeln!(out, "{}", table_row(o, o.op.label(), &o.weight.to_string()));
        }
        let t = &self.total;
        let _ = writeln!(
            out,
            "| **all operations** | {} | {} | **{:.0}** | **{}** | {} | {} | {} | {} | {} |",
            t.weight,
            t.targets,
            t.http_rps,
            t.http.triple_ms(),
            t.http_failures,
            t.pgbench_tps.map_or("n/a".into(), |t| format!("{t:.0}")),
            ms_opt(t.pgbench),
            ratio(t.throughput_ratio()),
            ratio(t.p95_ratio()),
        );
        out += "\n### By caller level\n\n\
                Each operation's requests split by who sends them, beside pgbench's transactions \
                of the same statements under the same caller's context, in the same run. Both \
                levels act on nodes they may read: owners anywhere in their organization, \
                managers inside their production (search starts at a production for both).\n\n";
        out += "| operation | caller | targets | HTTP req/s | HTTP p50 / p95 / p99 ms | HTTP failures | pgbench tx/s | pgbench p50 / p95 / p99 ms | req/s ratio | p95 ratio |\n";
        out += "|---|---|--:|--:|--:|---|--:|--:|--:|--:|\n";
        for o in &self.by_level {
            let level = o.level.map_or("all", Level::label);
            let _ = writeln!(out, "{}", table_row(o, o.op.name(), level));
        }
        let _ = write!(
            out,
            "\nWrites (task inserts and updates, invoice inserts): {:.0} per second over {:.1} s.\n\n\
             Buffer hit ratio over the measured run (after the warm-up; `pg_statio_user_indexes` \
             and `pg_statio_user_tables`, blocks found in shared buffers over blocks asked for; a \
             miss may still be served by the kernel's page cache): indexes {} ({} hits, {} reads), \
             tables {} ({} hits, {} reads).\n\n",
            self.writes_per_second,
            self.elapsed.as_secs_f64(),
            self.index_hits.percent(),
            report::thousands(self.index_hits.hit.max(0) as u64),
            report::thousands(self.index_hits.read.max(0) as u64),
            self.heap_hits.percent(),
            report::thousands(self.heap_hits.hit.max(0) as u64),
            report::thousands(self.heap_hits.read.max(0) as u64),
        );
        out += "Notes: ratios are HTTP over pgbench (req/s: below 1 means the HTTP path is slower; \
                p95: above 1 means it is slower). pgbench's concurrency is capped by \
                max_connections, the service's by its pool: at high connection counts both queue. \
                The run's writes stay in the database.\n\n";
        let _ = writeln!(
            out,
            "<!-- {} {} -->",
            figures_tag(self.scenario, self.connections, self.rate),
            self.figures()
        );
        out
    }

    /// How many clients pgbench ran, and why fewer than the connections.
    fn pgbench_clients_sentence(&self) -> String {
        match self.pgbench_clients {
            None => "(pgbench skipped)".to_owned(),
            Some(c) if c < self.connections => format!(
                "{c} clients (not {}: pgbench's clients are capped by the server's \
                 max_connections, {}, less the connections already open and a few spare)",
                self.connections, self.max_connections
            ),
            Some(c) => format!("{c} clients"),
        }
    }
}

/// One row of the markdown tables, named `first`; `second` fills the
/// second column.
fn table_row(o: &OpResult, first: &str, second: &str) -> String {
    format!(
        "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
        first,
        second,
        o.targets,
        o.http_rps,
        o.http.triple_ms(),
        o.http_failures,
        o.pgbench_tps.map_or("n/a".into(), |t| format!("{t:.0}")),
        ms_opt(o.pgbench),
        ratio(o.throughput_ratio()),
        ratio(o.p95_ratio()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn the_search_word_is_the_longest_of_the_title() {
        assert_eq!(
            search_word("Rig the PA for Kinetic field").as_deref(),
            Some("kinetic")
        );
        assert_eq!(search_word("a b c"), None);
    }

    #[test]
    fn the_baseline_keeps_each_levels_share_of_each_operation() {
        let job = |caller: usize, level: Level| Job {
            caller,
            level,
            org_id: Uuid::nil(),
            node_id: Uuid::nil(),
            kind: NodeKind::Activation,
            row_id: None,
            word: None,
            vendor_id: None,
            currency: None,
        };
        let mut jobs: Vec<Vec<Job>> = Op::ALL.iter().map(|_| Vec::new()).collect();
        // the list: 30 targets of one owner, 10 of one manager; search: the
        // owner's only; task inserts (writes: not in the read scenario)
        jobs[Op::TaskList as usize] = (0..30)
            .map(|_| job(0, Level::Org))
            .chain((0..10).map(|_| job(1, Level::Production)))
            .collect();
        jobs[Op::Search as usize] = (0..5).map(|_| job(0, Level::Org)).collect();
        jobs[Op::TaskCreate as usize] = vec![job(1, Level::Production)];
        let picked = pick_scripts(Scenario::Read, &jobs);
        let weight_of = |op: Op, level: Level| -> u32 {
            picked
                .iter()
                .filter(|(i, l, _, _)| *i == op as usize && *l == level)
                .map(|(_, _, _, w)| w)
                .sum()
        };
        let count = |op: Op, level: Level| {
            picked
                .iter()
                .filter(|(i, l, _, _)| *i == op as usize && *l == level)
                .count()
        };
        assert!(picked.len() <= pgbench::MAX_SCRIPTS);
        assert!(count(Op::TaskList, Level::Org) > 0 && count(Op::TaskList, Level::Production) > 0);
        assert_eq!(count(Op::Search, Level::Production), 0);
        assert_eq!(count(Op::TaskCreate, Level::Production), 0, "not a read");
        assert!(
            picked
                .iter()
                .all(|(i, l, j, _)| j.level == *l && !jobs[*i].is_empty()),
            "each script runs as its own level's caller"
        );
        let (org, production) = (
            weight_of(Op::TaskList, Level::Org),
            weight_of(Op::TaskList, Level::Production),
        );
        // 3 to 1, as the targets the driver draws from; the operation keeps
        // its weight against search (15 to 5), within integer rounding
        let list = Scenario::Read.weight(Op::TaskList) * 1000;
        let search = Scenario::Read.weight(Op::Search) * 1000;
        assert!(org.abs_diff(list * 3 / 4) <= 30, "{org}");
        assert!(production.abs_diff(list / 4) <= 30, "{production}");
        assert!(weight_of(Op::Search, Level::Org).abs_diff(search) <= 5);
    }

    #[test]
    fn hit_ratios_are_deltas() {
        let before = HitRatio { hit: 100, read: 50 };
        let after = HitRatio {
            hit: 1_090,
            read: 60,
        };
        let d = after.since(before);
        assert_eq!(d, HitRatio { hit: 990, read: 10 });
        assert_eq!(d.ratio(), Some(0.99));
        assert_eq!(HitRatio::default().ratio(), None);
    }
}
