//! `showtree bench api`: the HTTP service against the same SQL through
//! pgbench (issue 4). On one generated organization, the real service runs
//! in this process on 127.0.0.1 (port 0); oha loads `GET /v1/nodes/{id}`
//! and `GET /v1/nodes/{id}/children`, an in-process driver loads
//! `POST /v1/nodes` (each request needs its own slug and `Idempotency-Key`),
//! and after each HTTP run pgbench runs the statements the service executes
//! for that route, with the caller's context, at the same client count.
//! Last, oha holds thousands of keep-alive connections open at once.

pub mod driver;
pub mod oha;
pub mod scripts;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use showtree_api::auth::jwt::Jwt;
use showtree_core::{MAX_DEPTH, NodeKind};
use showtree_db::connect::{url_with_database, url_with_user};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::access::{self, APP_ROLE};
use crate::hierarchy::tree::{Ix, Tree};
use crate::hierarchy::{self, Machine};
use crate::pgbench::{self, Load, Protocol, Target};
use crate::report::{self, Latency};
use scripts::StoredReply;

/// Default of `--nodes`.
pub const DEFAULT_NODES: u32 = 20_000;
/// Default of `--duration` (seconds).
pub const DEFAULT_DURATION: u64 = 10;
/// Default of `--connections`.
pub const DEFAULT_CONNECTIONS: &str = "64,1024";
/// Default of `--hold`.
pub const DEFAULT_HOLD: u32 = 10_000;
/// Default of `--threads`.
pub const DEFAULT_THREADS: u32 = 2;
/// Default of `--targets`.
pub const DEFAULT_TARGETS: u32 = 100;
/// Default of `--seed`.
pub const DEFAULT_SEED: u64 = 1;
/// Default of `--database`.
pub const DEFAULT_DATABASE: &str = "showtree_bench_api";

/// Goal (issue 4): the HTTP path keeps this share of pgbench's throughput.
pub const GOAL_RATIO: f64 = 0.6;
/// Goal: p95 under this at [`GOAL_P95_CONNECTIONS`] connections (µs).
pub const GOAL_P95_US: u64 = 10_000;
/// The connection count the p95 goal is stated at.
pub const GOAL_P95_CONNECTIONS: u32 = 64;
/// Goal: p95 under this while holding [`DEFAULT_HOLD`] connections (µs).
pub const GOAL_HOLD_P95_US: u64 = 50_000;

/// Every database this benchmark creates carries a comment starting so.
const MARKER: &str = "showtree bench api";
/// Where the results go in the markdown file.
const SECTION_START: &str = "<!-- bench:api:start -->";
const SECTION_END: &str = "<!-- bench:api:end -->";
/// The deepest depth a parent of a new workspace may have.
const MAX_PARENT_DEPTH: u8 = MAX_DEPTH as u8 - 2;
/// The service's idle timeout here: paced, each held connection is quiet
/// for connections ÷ rate seconds between requests (51 s at 10,000 and
/// 197 rps), which can pass the service's default of 75 s; closing such
/// connections is that timeout's job, not what the keep-alive test
/// measures.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Connections left free for others when sizing pgbench's client count.
const SPARE_CONNECTIONS: i64 = 4;
/// File descriptors this process needs besides the held connections.
const SPARE_FDS: u64 = 512;

/// Options of `showtree bench api`.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// Nodes of the generated organization.
    #[arg(long, default_value_t = DEFAULT_NODES, value_parser = clap::value_parser!(u32).range(200..))]
    pub nodes: u32,
    /// Seconds of each run (HTTP and pgbench alike).
    #[arg(long, default_value_t = DEFAULT_DURATION, value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: u64,
    /// Concurrent connections of the HTTP runs (and pgbench clients), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: Vec<u32>,
    /// Keep-alive connections held open at once in the last test (0 skips it).
    #[arg(long, default_value_t = DEFAULT_HOLD)]
    pub hold: u32,
    /// Requests per second of the paced run over the held connections
    /// (default: half the HTTP rps of `GET /v1/nodes/{id}` at the first
    /// --connections count, as the manager at the root).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub hold_rate: Option<u32>,
    /// pgbench threads (`-j`, at most the client count).
    #[arg(long, default_value_t = DEFAULT_THREADS, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,
    /// Distinct nodes read (and parents written under) per user and route (one pgbench script each).
    #[arg(long, default_value_t = DEFAULT_TARGETS, value_parser = clap::value_parser!(u32).range(1..=pgbench::MAX_SCRIPTS as i64))]
    pub targets: u32,
    /// The service's database pool size (default: the service's own default).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub pool_size: Option<u32>,
    /// Seed of the tree and the targets.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Keep the database afterwards (it is dropped otherwise).
    #[arg(long)]
    pub keep: bool,
    /// The database to (re)create; it must not exist or have been created by this benchmark.
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// Write the results into this markdown file (between the bench:api markers).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

impl Default for ApiArgs {
    fn default() -> Self {
        ApiArgs {
            nodes: DEFAULT_NODES,
            duration: DEFAULT_DURATION,
            connections: vec![64, 1024],
            hold: DEFAULT_HOLD,
            hold_rate: None,
            threads: DEFAULT_THREADS,
            targets: DEFAULT_TARGETS,
            pool_size: None,
            seed: DEFAULT_SEED,
            keep: false,
            database: DEFAULT_DATABASE.to_owned(),
            markdown: None,
        }
    }
}

impl ApiArgs {
    /// The command that reproduces this run, as a user types it.
    pub fn command_line(&self) -> String {
        let connections: Vec<String> = self.connections.iter().map(u32::to_string).collect();
        let mut cmd = format!(
            "showtree bench api --nodes {} --duration {} --connections {} --hold {}",
            self.nodes,
            self.duration,
            connections.join(","),
            self.hold
        );
        let extras = [
            self.hold_rate.map(|r| format!(" --hold-rate {r}")),
            (self.threads != DEFAULT_THREADS).then(|| format!(" --threads {}", self.threads)),
            (self.targets != DEFAULT_TARGETS).then(|| format!(" --targets {}", self.targets)),
            self.pool_size.map(|p| format!(" --pool-size {p}")),
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
}

/// Whose requests they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Manager granted at the organization root.
    Organization,
    /// Manager granted at one production.
    Production,
}

impl Grant {
    /// Every user, in report order.
    pub const ALL: [Grant; 2] = [Grant::Organization, Grant::Production];

    /// Its name in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Grant::Organization => "manager at the root",
            Grant::Production => "manager at a production",
        }
    }
}

/// A measured route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/nodes/{id}`.
    Node,
    /// `GET /v1/nodes/{id}/children`.
    Children,
    /// `POST /v1/nodes`.
    Create,
}

impl Route {
    /// Every route, in report order.
    pub const ALL: [Route; 3] = [Route::Node, Route::Children, Route::Create];

    /// Its name in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Route::Node => "GET /v1/nodes/{id}",
            Route::Children => "GET /v1/nodes/{id}/children",
            Route::Create => "POST /v1/nodes",
        }
    }
}

/// What one HTTP run measured (oha or the driver).
#[derive(Debug, Clone)]
pub struct HttpOutcome {
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no response, by kind.
    pub errors: BTreeMap<String, u64>,
    /// Latency of every response (any status).
    pub latency: Latency,
}

impl HttpOutcome {
    /// Assembles an outcome.
    pub fn new(
        elapsed: Duration,
        latency: Latency,
        statuses: BTreeMap<u16, u64>,
        errors: BTreeMap<String, u64>,
    ) -> HttpOutcome {
        HttpOutcome {
            elapsed,
            statuses,
            errors,
            latency,
        }
    }

    /// Responses with a 2xx status.
    pub fn ok(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum()
    }

    /// Successful requests per second.
    pub fn rps(&self) -> f64 {
        self.ok() as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Responses that were not 2xx, plus requests without a response.
    pub fn failures(&self) -> u64 {
        let responses: u64 = self.statuses.values().sum();
        responses - self.ok() + self.errors.values().sum::<u64>()
    }

    /// The failures, counted by status or kind (`none` when there are none).
    pub fn failure_summary(&self) -> String {
        let mut parts: Vec<String> = self
            .statuses
            .iter()
            .filter(|(s, _)| !(200..300).contains(*s))
            .map(|(s, n)| format!("{} x {s}", report::thousands(*n)))
            .collect();
        parts.extend(
            self.errors
                .iter()
                .map(|(e, n)| format!("{} x {e}", report::thousands(*n))),
        );
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// One route at one concurrency, both ways.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Whose requests.
    pub user: Grant,
    /// Which route.
    pub route: Route,
    /// HTTP connections.
    pub connections: u32,
    /// The HTTP run.
    pub http: HttpOutcome,
    /// pgbench's client count (lower than `connections` where the server's
    /// `max_connections` does not allow as many).
    pub clients: u32,
    /// The pgbench run.
    pub pgbench: pgbench::Outcome,
}

impl Measurement {
    /// HTTP requests per second over pgbench transactions per second.
    pub fn ratio(&self) -> f64 {
        self.http.rps() / self.pgbench.tps.max(f64::MIN_POSITIVE)
    }
}

/// Many keep-alive connections open at once.
#[derive(Debug, Clone)]
pub struct Hold {
    /// What was requested.
    pub target: &'static str,
    /// oha's `-c`.
    pub connections: u32,
    /// oha's `-q` (requests per second, all connections together); `None`
    /// when every connection sends its next request as soon as it has an
    /// answer.
    pub rate: Option<u32>,
    /// oha's `-z`.
    pub duration: Duration,
    /// Most established connections to the service seen at once
    /// (`/proc/net/tcp`, sampled); `None` where it cannot be read.
    pub peak_open: Option<usize>,
    /// The run.
    pub http: HttpOutcome,
}

/// One user's facts.
#[derive(Debug, Clone)]
pub struct UserFacts {
    /// Which user.
    pub user: Grant,
    /// Nodes it can read.
    pub readable: usize,
}

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct ApiReport {
    /// The command that reproduces it.
    pub command: String,
    /// Nodes of the organization, by kind.
    pub nodes: usize,
    /// By kind, in [`NodeKind::ALL`] order.
    pub by_kind: [usize; 5],
    /// The users.
    pub users: Vec<UserFacts>,
    /// Seconds per run.
    pub duration: u64,
    /// pgbench threads.
    pub threads: u32,
    /// Distinct targets per user and route.
    pub targets: u32,
    /// The service's pool size.
    pub pool_size: usize,
    /// The service's idle timeout.
    pub idle_timeout: Duration,
    /// The server's `max_connections`.
    pub max_connections: i64,
    /// `oha --version`.
    pub oha: String,
    /// The soft limit of open files while measuring.
    pub fd_limit: u64,
    /// `SHOWTREE_LOG`, the log filter the `showtree` binary (and so the
    /// service in it) logs through; unset means warn.
    pub log_filter: Option<String>,
    /// Every route at every concurrency for every user.
    pub measurements: Vec<Measurement>,
    /// The keep-alive test (empty when skipped).
    pub holds: Vec<Hold>,
    /// Where it ran.
    pub machine: Machine,
}

/// One user's targets and credentials.
struct Caller {
    grant: Grant,
    id: Uuid,
    token: String,
    /// The claims the service sets for this token, byte for byte.
    claims: String,
    grant_node: Ix,
    readable: Vec<Ix>,
    /// Nodes read by `GET /v1/nodes/{id}`.
    nodes: Vec<Ix>,
    /// Nodes with children, listed by `/children`.
    parents_listed: Vec<Ix>,
    /// Where new workspaces go.
    parents_written: Vec<Ix>,
}

/// Runs the benchmark against the server behind `admin_url`; writes the
/// markdown file when asked to.
pub async fn run(args: &ApiArgs, admin_url: &str) -> anyhow::Result<ApiReport> {
    hierarchy::check_database_name(&args.database)?;
    ensure!(!args.connections.is_empty(), "--connections names no count");
    let oha_version = oha::version().await?;
    let most = args
        .connections
        .iter()
        .copied()
        .chain([args.hold])
        .max()
        .unwrap_or(0);
    let fd_limit = raise_fd_limit(u64::from(most) + SPARE_FDS)?;

    let tree = Tree::generate_one_org(args.nodes, 10, args.seed);
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x4150_4942_454e_4348);
    let root = tree.organizations()[0];
    let production = (0..hierarchy::tree::ix(tree.len()))
        .filter(|&v| tree.kind[v as usize] == NodeKind::Production)
        .max_by_key(|&v| tree.descendants(v))
        .context("the generated organization has no production: raise --nodes")?;

    let secret = showtree_api::Secret::generate();
    let jwt = Jwt::new(&secret, Duration::from_secs(24 * 3600));

    let mut callers = Vec::new();
    for grant in Grant::ALL {
        let node = match grant {
            Grant::Organization => root,
            Grant::Production => production,
        };
        let id = Uuid::now_v7();
        let token = jwt.issue(id)?;
        let claims = jwt
            .verify(&token)
            .map_err(|r| anyhow::anyhow!("the minted token does not verify: {}", r.as_str()))?
            .claims
            .to_string();
        let readable = access::reachable(&tree, &[node], &vec![false; tree.len()], false);
        let pick = |pool: Vec<Ix>, rng: &mut StdRng| -> Vec<Ix> {
            pool.choose_multiple(rng, args.targets as usize)
                .copied()
                .collect()
        };
        let nodes = pick(readable.clone(), &mut rng);
        let parents_listed = pick(
            readable
                .iter()
                .copied()
                .filter(|&v| !tree.children(v).is_empty())
                .collect(),
            &mut rng,
        );
        let parents_written = pick(
            readable
                .iter()
                .copied()
                .filter(|&v| {
                    matches!(
                        tree.kind[v as usize],
                        NodeKind::Activation | NodeKind::Workspace
                    ) && tree.depth[v as usize] <= MAX_PARENT_DEPTH
                })
                .collect(),
            &mut rng,
        );
        ensure!(
            !parents_listed.is_empty() && !parents_written.is_empty(),
            "{}: too few nodes to list or write under: raise --nodes",
            grant.label()
        );
        callers.push(Caller {
            grant,
            id,
            token,
            claims,
            grant_node: node,
            readable,
            nodes,
            parents_listed,
            parents_written,
        });
    }

    let admin = hierarchy::connect(admin_url)
        .await
        .context("connecting to the maintenance database")?;
    let db_url = url_with_database(admin_url, &args.database);
    let client = access::prepare_database(&args.database, MARKER, &admin, &db_url, &tree).await?;
    let mut service = showtree_api::Config::new(url_with_user(&db_url, APP_ROLE), secret);
    service.bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    if let Some(size) = args.pool_size {
        service.pool_size = size as usize;
    }
    service.idle_timeout = IDLE_TIMEOUT;
    let pool_size = service.pool_size;
    let target = Target::from_url(admin_url, &args.database)?;
    // The database goes whatever happens from here on.
    let measured = serve_and_measure(args, &tree, &callers, service, &target, &client).await;
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
    let Measured {
        measurements,
        holds,
        max_connections,
        machine,
    } = measured?;

    let report = ApiReport {
        command: args.command_line(),
        nodes: tree.len(),
        by_kind: tree.count_by_kind(),
        users: callers
            .iter()
            .map(|c| UserFacts {
                user: c.grant,
                readable: c.readable.len(),
            })
            .collect(),
        duration: args.duration,
        threads: args.threads,
        targets: args.targets,
        pool_size,
        idle_timeout: IDLE_TIMEOUT,
        max_connections,
        oha: oha_version,
        fd_limit,
        log_filter: std::env::var("SHOWTREE_LOG").ok(),
        measurements,
        holds,
        machine,
    };
    if let Some(path) = &args.markdown {
        report::write_section(path, SECTION_START, SECTION_END, &report.markdown())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report)
}

/// What [`serve_and_measure`] found.
struct Measured {
    measurements: Vec<Measurement>,
    holds: Vec<Hold>,
    max_connections: i64,
    machine: Machine,
}

/// Adds the callers, starts the service, measures, stops the service.
async fn serve_and_measure(
    args: &ApiArgs,
    tree: &Tree,
    callers: &[Caller],
    service: showtree_api::Config,
    target: &Target,
    client: &Client,
) -> anyhow::Result<Measured> {
    showtree_db::audit_log::ensure_partitions(client)
        .await
        .context("creating the audit log's partitions")?;
    add_users(client, tree, callers).await?;
    let max_connections: i64 = client
        .query_one("select current_setting('max_connections')::int8", &[])
        .await?
        .get(0);
    let app = showtree_api::App::build(service)
        .await
        .context("starting the service")?;
    let endpoint = Endpoint {
        base: format!("http://{}", app.local_addr()),
        port: app.port(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let mut machine = hierarchy::machine(client).await?;
    let measured = measure_all(args, tree, callers, &endpoint, target, client).await;
    machine.load_average.1 = hierarchy::load_average();
    let _ = stop.send(());
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "the service stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "the service task failed"),
    }
    let (measurements, holds) = measured?;
    Ok(Measured {
        measurements,
        holds,
        max_connections,
        machine,
    })
}

/// Where the service answers.
struct Endpoint {
    /// `http://127.0.0.1:port`.
    base: String,
    /// The port.
    port: u16,
}

/// Every HTTP run and its baseline, then the keep-alive test.
async fn measure_all(
    args: &ApiArgs,
    tree: &Tree,
    callers: &[Caller],
    endpoint: &Endpoint,
    target: &Target,
    client: &Client,
) -> anyhow::Result<(Vec<Measurement>, Vec<Hold>)> {
    let (base, port) = (endpoint.base.as_str(), endpoint.port);
    let duration = Duration::from_secs(args.duration);
    let mut replies = Vec::new();
    {
        // dropped after the checks: its idle connections would count as held
        let http = reqwest::Client::new();
        // Every read is checked before anything is created: creations add children.
        for caller in callers {
            check_reads(&http, base, tree, caller).await?;
        }
        for caller in callers {
            replies.push(probe_create(&http, base, tree, caller).await?);
        }
    }
    let mut measurements = Vec::new();
    for (user, (caller, reply)) in (0u64..).zip(callers.iter().zip(&replies)) {
        for route in Route::ALL {
            let scripts = baseline(tree, caller, route, reply);
            for &connections in &args.connections {
                tracing::info!(
                    user = caller.grant.label(),
                    route = route.label(),
                    connections,
                    "HTTP"
                );
                let http = match route {
                    Route::Node | Route::Children => {
                        let urls: Vec<String> = match route {
                            Route::Node => caller
                                .nodes
                                .iter()
                                .map(|&v| format!("{base}/v1/nodes/{}", tree.id[v as usize]))
                                .collect(),
                            _ => caller
                                .parents_listed
                                .iter()
                                .map(|&v| {
                                    format!("{base}/v1/nodes/{}/children", tree.id[v as usize])
                                })
                                .collect(),
                        };
                        oha::run(&oha::Run {
                            urls,
                            token: Some(caller.token.clone()),
                            connections,
                            duration,
                            rate: None,
                        })
                        .await
                    }
                    Route::Create => {
                        let load = driver::CreateLoad {
                            url: format!("{base}/v1/nodes"),
                            token: caller.token.clone(),
                            parents: caller
                                .parents_written
                                .iter()
                                .map(|&v| tree.id[v as usize])
                                .collect(),
                            connections,
                            duration,
                            // per user too: two users' workers drawing the
                            // same slugs under a parent both may write to
                            // would collide (409)
                            seed: args.seed ^ u64::from(connections) ^ (user << 32),
                        };
                        tokio::task::spawn_blocking(move || driver::run(&load))
                            .await
                            .context("the load driver panicked")?
                    }
                }
                .with_context(|| {
                    format!(
                        "{} at {connections} connections ({})",
                        route.label(),
                        caller.grant.label()
                    )
                })?;
                let clients = pgbench_clients(client, connections).await?;
                tracing::info!(clients, "pgbench");
                // Extended, not prepared: the service parses and plans every
                // statement anew, and pgbench's prepared mode, with a script
                // per target, spends a short run preparing each script once
                // per client (351 against 687 tps at 64 clients in a trial).
                let load = Load {
                    clients,
                    threads: args.threads.min(clients),
                    duration,
                    protocol: Protocol::Extended,
                };
                let pgbench = pgbench::run(target, APP_ROLE, &scripts, load)
                    .await
                    .with_context(|| format!("pgbench: {}", route.label()))?;
                measurements.push(Measurement {
                    user: caller.grant,
                    route,
                    connections,
                    http,
                    clients,
                    pgbench,
                });
            }
        }
    }

    let mut holds = Vec::new();
    if args.hold > 0 {
        let caller = &callers[0];
        let node_urls: Vec<String> = caller
            .nodes
            .iter()
            .map(|&v| format!("{base}/v1/nodes/{}", tree.id[v as usize]))
            .collect();
        let rate = args.hold_rate.unwrap_or_else(|| {
            let rps = measurements
                .iter()
                .find(|m| m.user == caller.grant && m.route == Route::Node)
                .map_or(0.0, |m| m.http.rps());
            ((rps / 2.0).round() as u32).max(1)
        });
        let token = Some(caller.token.clone());
        let few = args.connections[0];
        // (route, URLs, token, connections, rate); the last is the baseline
        // of the one before: the same paced load over few connections
        let runs = [
            (
                "GET /healthz",
                vec![format!("{base}/healthz")],
                None,
                args.hold,
                None,
            ),
            (
                Route::Node.label(),
                node_urls.clone(),
                token.clone(),
                args.hold,
                None,
            ),
            (
                Route::Node.label(),
                node_urls.clone(),
                token.clone(),
                args.hold,
                Some(rate),
            ),
            (Route::Node.label(), node_urls, token, few, Some(rate)),
        ];
        for (what, urls, token, connections, rate) in runs {
            // Paced, each connection opens on its first request: the run
            // lasts until all can have opened, then --duration more.
            let duration = match rate {
                Some(r) => duration + Duration::from_secs(u64::from(connections.div_ceil(r))),
                None => duration,
            };
            tracing::info!(
                target = what,
                connections,
                ?rate,
                ?duration,
                "holding connections"
            );
            drained(port).await;
            let sampler = tokio::spawn(open_connections_peak(port, duration));
            let http = oha::run(&oha::Run {
                urls,
                token,
                connections,
                duration,
                rate,
            })
            .await
            .with_context(|| format!("{what} at {connections} connections"))?;
            let peak_open = sampler.await.unwrap_or(None);
            holds.push(Hold {
                target: what,
                connections,
                rate,
                duration,
                peak_open,
                http,
            });
        }
    }
    Ok((measurements, holds))
}

/// The pgbench scripts of one route for one user: one per target.
fn baseline(tree: &Tree, caller: &Caller, route: Route, reply: &StoredReply) -> Vec<String> {
    let org_id = tree.org_id(0);
    match route {
        Route::Node => caller
            .nodes
            .iter()
            .map(|&v| {
                scripts::get_node(
                    &caller.claims,
                    org_id,
                    tree.id[v as usize],
                    tree.kind[v as usize],
                )
            })
            .collect(),
        Route::Children => caller
            .parents_listed
            .iter()
            .map(|&v| scripts::children(&caller.claims, org_id, tree.id[v as usize]))
            .collect(),
        Route::Create => {
            let hash: [u8; 32] = rand::rng().random();
            caller
                .parents_written
                .iter()
                .map(|&v| {
                    scripts::create_node(
                        &caller.claims,
                        org_id,
                        tree.id[v as usize],
                        caller.id,
                        &hash,
                        reply,
                    )
                })
                .collect()
        }
    }
}

/// Before measuring: every target answers 200 with the node it names (and
/// the caller's role), every listed node the children the generator gave it.
async fn check_reads(
    http: &reqwest::Client,
    base: &str,
    tree: &Tree,
    caller: &Caller,
) -> anyhow::Result<()> {
    let auth = format!("Bearer {}", caller.token);
    for &v in &caller.nodes {
        let id = tree.id[v as usize];
        let response = http
            .get(format!("{base}/v1/nodes/{id}"))
            .header("authorization", &auth)
            .send()
            .await?;
        ensure!(
            response.status() == 200,
            "GET /v1/nodes/{id} as {}: {}",
            caller.grant.label(),
            response.status()
        );
        let body: serde_json::Value = response.json().await?;
        ensure!(
            body["id"] == id.to_string() && body["effective_role"] == "manager",
            "GET /v1/nodes/{id} answered {body}"
        );
    }
    for &v in &caller.parents_listed {
        let id = tree.id[v as usize];
        let response = http
            .get(format!("{base}/v1/nodes/{id}/children"))
            .header("authorization", &auth)
            .send()
            .await?;
        ensure!(
            response.status() == 200,
            "GET /v1/nodes/{id}/children: {}",
            response.status()
        );
        let body: serde_json::Value = response.json().await?;
        let got = body["items"].as_array().map_or(0, Vec::len);
        let expected = tree
            .children(v)
            .len()
            .min(showtree_api::pagination::DEFAULT_LIMIT as usize);
        ensure!(
            got == expected,
            "GET /v1/nodes/{id}/children gave {got} children, the generator {expected}"
        );
    }
    Ok(())
}

/// One creation, which must answer 201: its reply is what the baseline
/// stores under its keys.
async fn probe_create(
    http: &reqwest::Client,
    base: &str,
    tree: &Tree,
    caller: &Caller,
) -> anyhow::Result<StoredReply> {
    let auth = format!("Bearer {}", caller.token);
    let parent = tree.id[caller.parents_written[0] as usize];
    let response = http
        .post(format!("{base}/v1/nodes"))
        .header("authorization", &auth)
        .header("idempotency-key", Uuid::new_v4().to_string())
        .json(&driver::create_body(
            parent,
            rand::rng().random_range(1..u64::MAX / 2),
        ))
        .send()
        .await?;
    ensure!(
        response.status() == 201,
        "POST /v1/nodes as {}: {}",
        caller.grant.label(),
        response.status()
    );
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .with_context(|| format!("POST /v1/nodes answered without {name}"))
    };
    let etag = header("etag")?;
    let location = header("location")?;
    let body = response.bytes().await?.to_vec();
    Ok(StoredReply {
        body,
        etag,
        location,
    })
}

/// The callers' users and grants, as the tables' owner, then
/// `vacuum (analyze)`.
async fn add_users(client: &Client, tree: &Tree, callers: &[Caller]) -> anyhow::Result<()> {
    let org_id = tree.org_id(0);
    for c in callers {
        client
            .execute(
                "insert into auth.users (id, email) values ($1, $2)",
                &[&c.id, &format!("{}@bench.invalid", c.id)],
            )
            .await
            .context("adding a user")?;
        client
            .execute(
                "insert into showtree.grants (org_id, node_id, user_id, role) \
                 values ($1, $2, $3, 'manager')",
                &[&org_id, &tree.id[c.grant_node as usize], &c.id],
            )
            .await
            .context("granting")?;
    }
    client
        .batch_execute("vacuum (analyze)")
        .await
        .context("vacuum analyze")?;
    Ok(())
}

/// pgbench's client count for `wanted`: as many as the server still
/// accepts from a non-superuser, less a few for others.
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

/// Raises this process's soft limit of open files to `needed` when the hard
/// limit allows; fails, saying how to raise it, when it does not.
fn raise_fd_limit(needed: u64) -> anyhow::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("reading the open-file limit")?;
    if soft >= needed {
        return Ok(soft);
    }
    if hard < needed {
        bail!(
            "{needed} open files are needed (the held connections, then oha's own) but the \
             hard limit is {hard}: raise it (`ulimit -n {needed}` as root, or \
             /etc/security/limits.conf), or lower --hold"
        );
    }
    setrlimit(Resource::RLIMIT_NOFILE, needed, hard).context("raising the open-file limit")?;
    Ok(needed)
}

/// The most established TCP connections to local `port` seen during
/// `duration` (and a little after), sampling `/proc/net/tcp`.
async fn open_connections_peak(port: u16, duration: Duration) -> Option<usize> {
    let until = tokio::time::Instant::now() + duration;
    let mut peak = None;
    while tokio::time::Instant::now() < until {
        let count = established(port).await;
        peak = match (peak, count) {
            (Some(p), Some(c)) => Some(std::cmp::max(p, c)),
            (p, c) => p.or(c),
        };
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    peak
}

/// Waits (up to 30 s) until the service has closed the connections of the
/// runs before, so the next run's count is its own.
async fn drained(port: u16) {
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < until {
        if established(port).await.is_none_or(|n| n == 0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tracing::warn!("connections of an earlier run are still open");
}

/// Established connections whose local port is `port` (the server's side).
async fn established(port: u16) -> Option<usize> {
    let text = tokio::fs::read_to_string("/proc/net/tcp").await.ok()?;
    Some(count_established(&text, port))
}

/// Distinct peers: the file is read in chunks while sockets come and go,
/// so one socket may show up twice.
fn count_established(proc_net_tcp: &str, port: u16) -> usize {
    let wanted = format!(":{port:04X}");
    proc_net_tcp
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let remote = fields.next()?;
            let state = fields.next()?;
            (local.ends_with(&wanted) && state == "01").then_some(remote)
        })
        .collect::<std::collections::HashSet<_>>()
        .len()
}

impl Hold {
    /// How requests were sent: paced, or back to back.
    pub fn pace(&self) -> String {
        let s = self.duration.as_secs();
        match self.rate {
            Some(r) => format!("paced at {} rps, {s} s", report::thousands(u64::from(r))),
            None => format!("back to back, {s} s"),
        }
    }
}

impl ApiReport {
    /// The results as a plain-text table, for stdout.
    pub fn text_table(&self) -> String {
        let mut rows = vec![[
            "user".to_owned(),
            "route".to_owned(),
            "conns".to_owned(),
            "HTTP rps".to_owned(),
            "pgbench tps (clients)".to_owned(),
            "ratio".to_owned(),
            "HTTP p50/p95/p99 ms".to_owned(),
            "pgbench p50/p95/p99 ms".to_owned(),
            "HTTP errors".to_owned(),
        ]];
        for m in &self.measurements {
            rows.push([
                m.user.label().to_owned(),
                m.route.label().to_owned(),
                m.connections.to_string(),
                format!("{:.0}", m.http.rps()),
                format!("{:.0} ({})", m.pgbench.tps, m.clients),
                format!("{:.2}", m.ratio()),
                m.http.latency.triple_ms(),
                m.pgbench.latency.triple_ms(),
                m.http.failure_summary(),
            ]);
        }
        let mut out = report::text_table(&rows);
        for h in &self.holds {
            out += &format!(
                "\n{} at {} connections, {} (peak open {}): {:.0} rps, p50/p95/p99 {} ms, errors: {}",
                h.target,
                h.connections,
                h.pace(),
                h.peak_open
                    .map_or_else(|| "unknown".to_owned(), |n| n.to_string()),
                h.http.rps(),
                h.http.latency.triple_ms(),
                h.http.failure_summary()
            );
        }
        if !self.holds.is_empty() {
            out.push('\n');
        }
        out
    }

    /// The results as the markdown section of docs/BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut md = String::new();
        md += "## API: HTTP against pgbench\n\n";
        md += &format!("Produced by `{}` on {}.\n\n", self.command, m.date);
        md += &format!(
            "Machine: {}, {} (shared_buffers {}, max_connections {}, other settings \
             default){}; {}, pgbench, the server, the service and this command share the \
             machine; open-file limit {}.\n\n",
            m.hardware(),
            m.postgres,
            m.shared_buffers,
            self.max_connections,
            match &m.load_average {
                (Some(start), Some(end)) => format!(
                    "; 1-minute load average {start} when measuring started, {end} when it ended"
                ),
                _ => String::new(),
            },
            self.oha,
            report::thousands(self.fd_limit)
        );
        let kinds: Vec<String> = NodeKind::ALL
            .iter()
            .zip(self.by_kind)
            .map(|(k, n)| format!("{k} {}", report::thousands(n as u64)))
            .collect();
        let users: Vec<String> = self
            .users
            .iter()
            .map(|u| {
                format!(
                    "{} ({} readable nodes)",
                    u.user.label(),
                    report::thousands(u.readable as u64)
                )
            })
            .collect();
        md += &format!(
            "Data: one generated organization of {} nodes ({}). The service is the real one \
             (`showtree_api::App`), started in this process on 127.0.0.1, port 0, against the \
             generated database: a pool of {} connections as `authenticator`, an idle timeout \
             of {} s (paced, a held connection can be quiet for longer than the default 75 s), \
             logging to stderr as `showtree` sets it up ({}). Callers send a JWT minted with \
             the service's secret; each holds one *manager* grant: {}.\n\n",
            report::thousands(self.nodes as u64),
            kinds.join(", "),
            self.pool_size,
            self.idle_timeout.as_secs(),
            self.log_filter.as_ref().map_or_else(
                || "`SHOWTREE_LOG` unset: level warn".to_owned(),
                |f| format!("`SHOWTREE_LOG={f}`")
            ),
            users.join(", ")
        );
        md += &format!(
            "Each row is an HTTP run of {d} s, then a pgbench run of {d} s (`-M extended -c \
             <clients> -j {j}`, one custom script per target, picked at random per transaction) \
             of the statements the service executes for that route, as `authenticator`: `begin`, \
             `set_config('request.jwt.claims', ...), set_config('request.jwt.claim.sub', ...), set_config('role', 'authenticated', true)` \
             (with the claims JSON the service sets for that token) and the route's first \
             statement pipelined (one round trip, as `pool::Db::run_as` does), the route's other \
             statements, `commit`. HTTP rps counts 2xx responses; *HTTP ÷ pgbench* is HTTP rps \
             over pgbench tps.\n\n",
            d = self.duration,
            j = self.threads
        );
        md += "| user | route | connections | HTTP rps | pgbench clients | pgbench tps | HTTP ÷ pgbench | HTTP p50 / p95 / p99 ms | pgbench p50 / p95 / p99 ms | HTTP errors |\n";
        md += "|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n";
        for r in &self.measurements {
            md += &format!(
                "| {} | `{}` | {} | {:.0} | {}{} | {:.0} | **{:.2}** | {} | {} | {} |\n",
                r.user.label(),
                r.route.label(),
                report::thousands(u64::from(r.connections)),
                r.http.rps(),
                r.clients,
                if r.pgbench.failed > 0 {
                    format!(" ({} failed)", r.pgbench.failed)
                } else {
                    String::new()
                },
                r.pgbench.tps,
                r.ratio(),
                r.http.latency.triple_ms(),
                r.pgbench.latency.triple_ms(),
                r.http.failure_summary()
            );
        }
        if !self.holds.is_empty() {
            let n = report::thousands(u64::from(self.holds[0].connections));
            md += &format!(
                "\nKeep-alive connections held at once: oha with `-c {n}`, as the manager at the \
                 root where the route needs a caller. *Back to back*: each connection sends its \
                 next request when it has its answer, so by Little's law the mean latency is {n} \
                 over the throughput (under 50 ms would take more than {} rps). *Paced*: `-q` for \
                 all connections together, with `--latency-correction` (a request is timed from \
                 when it was due); each connection opens on its first request, so the run lasts \
                 {n} over the rate, until every one can have opened, then {} s more: the service \
                 answering a load it can carry while every connection stays open. *Open at \
                 once*: the most established connections to the service's port seen in \
                 `/proc/net/tcp`, sampled every 250 ms. The last row, the same paced load over a \
                 few connections, is the baseline of the one before.\n\n",
                report::thousands(
                    u64::from(self.holds[0].connections) * 1_000_000 / GOAL_HOLD_P95_US
                ),
                self.duration
            );
            md += "| route | connections | requests | open at once | rps | p50 / p95 / p99 ms | errors |\n";
            md += "|---|--:|---|--:|--:|--:|---|\n";
            for h in &self.holds {
                md += &format!(
                    "| `{}` | {} | {} | {} | {:.0} | {} | {} |\n",
                    h.target,
                    report::thousands(u64::from(h.connections)),
                    h.pace(),
                    h.peak_open
                        .map_or_else(|| "not read".to_owned(), |n| report::thousands(n as u64)),
                    h.http.rps(),
                    h.http.latency.triple_ms(),
                    h.http.failure_summary()
                );
            }
        }
        md += "\nNotes:\n\n";
        md += &format!(
            "- Targets: {t} random nodes the caller can read (`GET /v1/nodes/{{id}}`, oha \
             `--urls-from-file`), {t} with children (`/children`, the first page, default limit \
             100: the baseline fetches 101 rows as the route does), and {t} activations or \
             workspaces to create workspaces under (`POST /v1/nodes`), per user. Before \
             measuring, every target was read over HTTP and checked: the node it names with \
             the *manager* role, as many children as the generator gave it.\n",
            t = self.targets
        );
        md += "- `GET /v1/nodes/{id}` runs `nodes::find`, `private.effective_role` and the \
               level's row (`nodes::details`); `/children` runs `nodes::find`, \
               `private.effective_role` and `nodes::children_page`; the baseline runs the same \
               statements with the ids as literals.\n";
        md += "- `POST /v1/nodes`: oha sends one fixed body and fixed headers, and every \
               creation needs its own slug and `Idempotency-Key`, so an in-process driver \
               (reqwest on a runtime and thread of its own, one keep-alive connection per \
               worker, latency of every response through an HDR histogram) creates workspaces \
               with a random slug and key. The baseline runs the service's statements: claim \
               the key (expire the caller's old keys, insert it), find the parent, \
               `private.effective_role` there, insert the node (`gen_random_uuid()` for its id \
               where the service makes a uuid v7, read back with `\\gset`), \
               `private.effective_role` at it, its workspace row, store the reply (a real \
               201 body of the service) under the key; key and slug are a random number per \
               transaction.\n";
        md += "- pgbench runs `-M extended` (parse, plan and execute every statement, one round \
               trip each). The service prepares each distinct statement once per pooled \
               connection (`showtree_db::Sql`), then only binds and executes it, one round trip \
               and no parse; pgbench's prepared mode would match that, but with one script per \
               target it spends a short run preparing every script once per client (351 \
               against 687 tps at 64 clients in a trial), so the baseline parses every \
               statement where the service does not, which favours the service's ratio by the \
               cost of a parse.\n";
        md += "- Latency: oha's percentiles of every response (GETs), the driver's HDR \
               histogram (POST), pgbench's per-transaction `-l` logs through an HDR histogram. \
               HTTP runs let requests in flight at the deadline finish.\n";
        // per connection count, the range of client counts pgbench got
        let mut capped: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
        for r in self
            .measurements
            .iter()
            .filter(|r| r.clients < r.connections)
        {
            let range = capped
                .entry(r.connections)
                .or_insert((r.clients, r.clients));
            *range = (range.0.min(r.clients), range.1.max(r.clients));
        }
        if !capped.is_empty() {
            let counts: Vec<String> = capped
                .iter()
                .map(|(connections, (low, high))| {
                    let clients = if low == high {
                        low.to_string()
                    } else {
                        format!("{low} to {high}")
                    };
                    format!(
                        "{clients} clients for {} connections",
                        report::thousands(u64::from(*connections))
                    )
                })
                .collect();
            md += &format!(
                "- pgbench clients: the server takes {} connections in all \
                 (`max_connections`); less `superuser_reserved_connections`, those open (the \
                 service's pool among them) and {} spare, that left {}. The service itself \
                 never holds more than its pool of {}.\n",
                self.max_connections,
                SPARE_CONNECTIONS,
                counts.join(", "),
                self.pool_size
            );
        }
        let status_count = |status: u16| -> u64 {
            self.measurements
                .iter()
                .map(|r| &r.http)
                .chain(self.holds.iter().map(|h| &h.http))
                .map(|h| h.statuses.get(&status).copied().unwrap_or(0))
                .sum()
        };
        if status_count(503) > 0 {
            md += &format!(
                "- 503: the service's answer when a request waits more than 10 s for one of its \
                 pool's {} connections (`pool.rs`, `POOL_WAIT`) or runs past its 30 s \
                 timeout; {} in all.\n",
                self.pool_size,
                report::thousands(status_count(503))
            );
        }
        if status_count(500) > 0 {
            md += &format!(
                "- 500: {} in all (see the service's log, level error).\n",
                report::thousands(status_count(500))
            );
        }
        let connect_errors: u64 = self
            .holds
            .iter()
            .flat_map(|h| &h.http.errors)
            .filter(|(e, _)| e.contains("connect") || e.contains("timeout"))
            .map(|(_, n)| n)
            .sum();
        if connect_errors > 0 {
            md += &format!(
                "- Connection errors and timeouts while holding ({} in all; oha's `timeout` is \
                 its 5 s connect timeout, no request timeout is set): the service listens with a \
                 backlog of 4,096 (`LISTEN_BACKLOG`, capped by `net.core.somaxconn`); \
                 connections beyond what its accept queue holds wait on SYN retransmits (1 s, \
                 3 s, 7 s, ...) or are reset.\n",
                report::thousands(connect_errors)
            );
        }
        md += &self.goals();
        md
    }

    /// The goals of issue 4, each met or not with the measured numbers.
    fn goals(&self) -> String {
        let verdict = |failing: &[String]| {
            if failing.is_empty() {
                "**met**".to_owned()
            } else {
                format!("**not met** ({})", failing.join("; "))
            }
        };
        let name = |r: &Measurement| {
            format!(
                "{}, `{}` at {} connections",
                r.user.label(),
                r.route.label(),
                report::thousands(u64::from(r.connections))
            )
        };
        let mut md = String::new();
        let low: Vec<String> = self
            .measurements
            .iter()
            .filter(|r| r.ratio() < GOAL_RATIO)
            .map(|r| format!("{}: {:.2}", name(r), r.ratio()))
            .collect();
        let ratios: Vec<f64> = self.measurements.iter().map(Measurement::ratio).collect();
        md += &format!(
            "- Goal, HTTP keeps at least {GOAL_RATIO} of pgbench's throughput for the same work \
             (HTTP ÷ pgbench from {:.2} to {:.2}): {}.\n",
            ratios.iter().copied().fold(f64::INFINITY, f64::min),
            ratios.iter().copied().fold(0.0, f64::max),
            verdict(&low)
        );
        let at: Vec<&Measurement> = self
            .measurements
            .iter()
            .filter(|r| r.connections == GOAL_P95_CONNECTIONS)
            .collect();
        if at.is_empty() {
            md += &format!(
                "- Goal, p95 under {} ms at {GOAL_P95_CONNECTIONS} connections: not measured \
                 (no run at {GOAL_P95_CONNECTIONS}).\n",
                report::ms(GOAL_P95_US)
            );
        } else {
            let slow: Vec<String> = at
                .iter()
                .filter(|r| r.http.latency.p95_us >= GOAL_P95_US || r.http.failures() > 0)
                .map(|r| {
                    format!(
                        "{}: {} ms{}",
                        name(r),
                        report::ms(r.http.latency.p95_us),
                        if r.http.failures() > 0 {
                            format!(", {} errors", report::thousands(r.http.failures()))
                        } else {
                            String::new()
                        }
                    )
                })
                .collect();
            let worst = at.iter().map(|r| r.http.latency.p95_us).max().unwrap_or(0);
            md += &format!(
                "- Goal, HTTP p95 under {} ms at {GOAL_P95_CONNECTIONS} connections: {}. \
                 Connections sending back to back wait on each other: the mean latency is \
                 {GOAL_P95_CONNECTIONS} over the throughput, so under {} ms takes more than {} \
                 rps.\n",
                report::ms(GOAL_P95_US),
                if slow.is_empty() {
                    format!("**met** (highest p95 {} ms)", report::ms(worst))
                } else {
                    verdict(&slow)
                },
                report::ms(GOAL_P95_US),
                report::thousands(u64::from(GOAL_P95_CONNECTIONS) * 1_000_000 / GOAL_P95_US)
            );
        }
        if self.holds.is_empty() {
            md += "- Goal, the service holds 10,000 keep-alive connections with p95 under 50 ms: \
                   not measured (`--hold 0`).\n";
        } else {
            let describe = |h: &Hold| {
                let open = h.peak_open.map_or_else(
                    || "open at once not read".to_owned(),
                    |n| format!("{} open at once", report::thousands(n as u64)),
                );
                format!(
                    "`{}` {}: p95 {} ms, {} errors, {open}",
                    h.target,
                    h.pace(),
                    report::ms(h.http.latency.p95_us),
                    report::thousands(h.http.failures())
                )
            };
            let meets = |h: &Hold| {
                h.connections >= DEFAULT_HOLD
                    && h.http.latency.p95_us < GOAL_HOLD_P95_US
                    && h.http.failures() == 0
                    && h.peak_open.is_some_and(|n| n >= h.connections as usize)
            };
            let held = self.holds[0].connections;
            let runs = |paced: bool| -> Vec<String> {
                self.holds
                    .iter()
                    .filter(|h| h.rate.is_some() == paced && h.connections == held)
                    .map(|h| {
                        format!(
                            "{}: {}",
                            describe(h),
                            if meets(h) { "**met**" } else { "**not met**" }
                        )
                    })
                    .collect()
            };
            let baseline: Vec<String> = self
                .holds
                .iter()
                .filter(|h| h.connections != held)
                .map(|h| {
                    format!(
                        "the same paced load over {} connections: p95 {} ms, {} errors",
                        h.connections,
                        report::ms(h.http.latency.p95_us),
                        report::thousands(h.http.failures())
                    )
                })
                .collect();
            md += &format!(
                "- Goal, the service holds {} keep-alive connections with p95 under {} ms and no \
                 errors (measured with {}): {}{}. Back to back (see above for why that cannot \
                 meet it at this count): {}.\n",
                report::thousands(u64::from(DEFAULT_HOLD)),
                report::ms(GOAL_HOLD_P95_US),
                report::thousands(u64::from(held)),
                runs(true).join("; "),
                if baseline.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", baseline.join("; "))
                },
                runs(false).join("; ")
            );
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_established_connections_on_the_servers_side() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue\n\
           0: 0100007F:1F90 00000000:0000 0A 00000000:00000000\n\
           1: 0100007F:1F90 0100007F:D431 01 00000000:00000000\n\
           2: 0100007F:D431 0100007F:1F90 01 00000000:00000000\n\
           3: 0100007F:1F90 0100007F:D432 06 00000000:00000000\n\
           4: 0100007F:1F90 0100007F:D433 01 00000000:00000000\n\
           5: 0100007F:1F90 0100007F:D433 01 00000000:00000000\n";
        assert_eq!(count_established(text, 8080), 2);
    }
}
