//! The mixed workload: operations, their weights per scenario, and the
//! in-process HTTP driver that sends them (one keep-alive connection per
//! worker, as `api::driver`), with one HDR histogram per operation.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use showtree_core::NodeKind;
use uuid::Uuid;

use crate::hierarchy::histogram;
use crate::report::Latency;

/// One operation of the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `GET /v1/nodes/{id}`.
    Node,
    /// `GET /v1/nodes/{id}/children`.
    Children,
    /// `GET /v1/nodes/{id}/ancestors`.
    Ancestors,
    /// `GET /v1/nodes/{id}/tasks?scope=subtree&limit=50`.
    TaskList,
    /// `GET /v1/nodes/{id}/rollup`.
    Rollup,
    /// `GET /v1/nodes/{id}/search?q=`.
    Search,
    /// `POST /v1/nodes/{id}/tasks`.
    TaskCreate,
    /// `PATCH /v1/tasks/{id}` (`If-Match: *`).
    TaskUpdate,
    /// `POST /v1/nodes/{id}/invoices`.
    InvoiceCreate,
}

/// Rows per page of the task list.
pub const TASK_PAGE: u32 = 50;

impl Op {
    /// Every operation, in report order.
    pub const ALL: [Op; 9] = [
        Op::Node,
        Op::Children,
        Op::Ancestors,
        Op::TaskList,
        Op::Rollup,
        Op::Search,
        Op::TaskCreate,
        Op::TaskUpdate,
        Op::InvoiceCreate,
    ];

    /// Its name in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Op::Node => "node: GET /v1/nodes/{id}",
            Op::Children => "children: GET /v1/nodes/{id}/children",
            Op::Ancestors => "ancestors: GET /v1/nodes/{id}/ancestors",
            Op::TaskList => "subtree tasks: GET /v1/nodes/{id}/tasks?scope=subtree",
            Op::Rollup => "roll-up: GET /v1/nodes/{id}/rollup",
            Op::Search => "search: GET /v1/nodes/{id}/search?q=",
            Op::TaskCreate => "task insert: POST /v1/nodes/{id}/tasks",
            Op::TaskUpdate => "task update: PATCH /v1/tasks/{id}",
            Op::InvoiceCreate => "invoice insert: POST /v1/nodes/{id}/invoices",
        }
    }

    /// Its short name (the label's first word; keys of the figures).
    pub fn name(self) -> &'static str {
        match self {
            Op::Node => "node",
            Op::Children => "children",
            Op::Ancestors => "ancestors",
            Op::TaskList => "subtree tasks",
            Op::Rollup => "roll-up",
            Op::Search => "search",
            Op::TaskCreate => "task insert",
            Op::TaskUpdate => "task update",
            Op::InvoiceCreate => "invoice insert",
        }
    }

    /// Whether it writes.
    pub fn is_write(self) -> bool {
        matches!(self, Op::TaskCreate | Op::TaskUpdate | Op::InvoiceCreate)
    }
}

/// A named mix of operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Navigation, lists, roll-ups, search, and a quarter writes.
    Mixed,
    /// The mixed workload's reads only.
    Read,
    /// The mixed workload's writes only.
    Write,
}

impl Scenario {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Mixed => "mixed",
            Scenario::Read => "read",
            Scenario::Write => "write",
        }
    }

    /// Its title in the docs.
    pub fn title(self) -> &'static str {
        match self {
            Scenario::Mixed => "Mixed workload",
            Scenario::Read => "Reads",
            Scenario::Write => "Writes",
        }
    }

    /// The weight of `op` (0: not in the mix).
    pub fn weight(self, op: Op) -> u32 {
        let mixed = match op {
            Op::Node => 20,
            Op::Children => 12,
            Op::Ancestors => 8,
            Op::TaskList => 15,
            Op::Rollup => 10,
            Op::Search => 5,
            Op::TaskCreate => 12,
            Op::TaskUpdate => 12,
            Op::InvoiceCreate => 6,
        };
        match self {
            Scenario::Mixed => mixed,
            Scenario::Read if !op.is_write() => mixed,
            Scenario::Write if op.is_write() => mixed,
            _ => 0,
        }
    }
}

/// Where a caller's grant sits: the split issue 5 asks for, since access
/// checks and the readable set differ between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// An organization's owner (grant on the organization's root).
    Org,
    /// A production's manager (grant on the production, none above it).
    Production,
}

impl Level {
    /// Both, in report order (the index of [`Outcome::ops`]' pairs).
    pub const ALL: [Level; 2] = [Level::Org, Level::Production];

    /// Its name in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Level::Org => "org-level owner",
            Level::Production => "production-level manager",
        }
    }

    /// Its key in the recorded figures.
    pub fn key(self) -> &'static str {
        match self {
            Level::Org => "org",
            Level::Production => "production",
        }
    }
}

/// One request's target: who sends it and what it names.
#[derive(Debug, Clone)]
pub struct Job {
    /// Index of the caller (token) in [`Load::tokens`].
    pub caller: usize,
    /// The caller's level.
    pub level: Level,
    /// The node's organization.
    pub org_id: Uuid,
    /// The node in the path (the task's node for updates).
    pub node_id: Uuid,
    /// The node's kind.
    pub kind: NodeKind,
    /// The task updated.
    pub row_id: Option<Uuid>,
    /// The search word.
    pub word: Option<String>,
    /// The vendor of new invoices.
    pub vendor_id: Option<Uuid>,
    /// The currency of new invoices.
    pub currency: Option<String>,
}

/// What the driver sends.
#[derive(Debug, Clone)]
pub struct Load {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// Bearer tokens, by caller.
    pub tokens: Vec<String>,
    /// Targets of each operation ([`Op::ALL`] order).
    pub jobs: Vec<Vec<Job>>,
    /// The mix.
    pub scenario: Scenario,
    /// Concurrent connections.
    pub connections: u32,
    /// How long workers keep starting requests.
    pub duration: Duration,
    /// Seed of the draws.
    pub seed: u64,
    /// Requests per second offered in total, on a fixed schedule (open
    /// loop); None: each connection sends as soon as it has its answer.
    pub rate: Option<u32>,
}

/// What one operation saw: latencies of its answers, statuses, transport
/// errors.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Microseconds per answered request (any status).
    pub latency: Histogram<u64>,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests without an answer, by kind.
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> anyhow::Result<Tally> {
        Ok(Tally {
            latency: histogram()?,
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
        })
    }

    /// Records one answer.
    pub fn answer(&mut self, status: u16, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(us.max(1));
        *self.statuses.entry(status).or_insert(0) += 1;
    }

    /// Adds another tally's counts.
    pub fn merge(&mut self, other: &Tally) -> anyhow::Result<()> {
        self.latency
            .add(&other.latency)
            .context("merging latency histograms")?;
        for (s, n) in &other.statuses {
            *self.statuses.entry(*s).or_insert(0) += n;
        }
        for (e, n) in &other.errors {
            *self.errors.entry(e.clone()).or_insert(0) += n;
        }
        Ok(())
    }

    /// Answers with a 2xx status.
    pub fn ok(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum()
    }

    /// Everything else: other statuses and requests without an answer.
    pub fn failures(&self) -> u64 {
        self.statuses.values().sum::<u64>() - self.ok() + self.errors.values().sum::<u64>()
    }

    /// p50 / p95 / p99 of the answers.
    pub fn percentiles(&self) -> Latency {
        Latency::from_histogram(&self.latency)
    }

    /// Successful requests per second over `elapsed`.
    pub fn rate(&self, elapsed: Duration) -> f64 {
        per_second(self.ok(), elapsed)
    }

    /// The failures by status or kind (`none` when there are none).
    pub fn failure_summary(&self) -> String {
        let mut parts: Vec<String> = self
            .statuses
            .iter()
            .filter(|(s, _)| !(200..300).contains(*s))
            .map(|(s, n)| format!("{n} x {s}"))
            .chain(self.errors.iter().map(|(e, n)| format!("{n} x {e}")))
            .collect();
        if parts.is_empty() {
            parts.push("none".into());
        }
        parts.join(", ")
    }
}

/// `count` events over `elapsed`, per second.
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// One tally per caller level ([`Level::ALL`] order).
pub type ByLevel = [Tally; 2];

/// An empty tally per caller level.
pub fn by_level() -> anyhow::Result<ByLevel> {
    Ok([Tally::new()?, Tally::new()?])
}

/// What a run measured: one tally per operation and caller level, and the
/// wall time.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
    /// By operation ([`Op::ALL`] order), then by caller level.
    pub ops: Vec<ByLevel>,
}

impl Outcome {
    /// Nothing recorded yet.
    pub fn empty(elapsed: Duration) -> anyhow::Result<Outcome> {
        Ok(Outcome {
            elapsed,
            ops: Op::ALL
                .iter()
                .map(|_| by_level())
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// Adds one worker's tallies (by operation, then level).
    pub fn absorb(&mut self, worker: &[ByLevel]) -> anyhow::Result<()> {
        for (mine, theirs) in self.ops.iter_mut().zip(worker) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                m.merge(t)?;
            }
        }
        Ok(())
    }

    /// Operation `i` from callers of `level`.
    pub fn of(&self, i: usize, level: Level) -> &Tally {
        &self.ops[i][level as usize]
    }

    /// Operation `i`, both levels together.
    pub fn op(&self, i: usize) -> anyhow::Result<Tally> {
        let mut all = Tally::new()?;
        for t in &self.ops[i] {
            all.merge(t)?;
        }
        Ok(all)
    }

    /// Every operation together.
    pub fn total(&self) -> anyhow::Result<Tally> {
        let mut all = Tally::new()?;
        for t in self.ops.iter().flatten() {
            all.merge(t)?;
        }
        Ok(all)
    }

    /// Successful writes per second.
    pub fn writes_per_second(&self) -> f64 {
        let writes: u64 = Op::ALL
            .iter()
            .zip(&self.ops)
            .filter(|(op, _)| op.is_write())
            .flat_map(|(_, levels)| levels.iter().map(Tally::ok))
            .sum();
        per_second(writes, self.elapsed)
    }
}

/// Picks an operation with the scenario's weights among those with targets.
pub fn pick_op(rng: &mut StdRng, scenario: Scenario, jobs: &[Vec<Job>]) -> Option<usize> {
    let weights: Vec<u32> = Op::ALL
        .iter()
        .zip(jobs)
        .map(|(op, j)| {
            if j.is_empty() {
                0
            } else {
                scenario.weight(*op)
            }
        })
        .collect();
    let total: u32 = weights.iter().sum();
    if total == 0 {
        return None;
    }
    let mut x = rng.random_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return Some(i);
        }
        x -= w;
    }
    None
}

/// Runs the load on a thread and runtime of its own and waits for it
/// (blocking: call it through `spawn_blocking`).
pub fn run(load: &Load) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the load driver's runtime")?;
    runtime.block_on(drive(load))
}

/// Sends one request of operation `o` (its first target) and returns its
/// status and body (blocking, as [`run`]).
pub fn run_once(load: &Load, o: usize) -> anyhow::Result<(u16, String)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the load driver's runtime")?;
    runtime.block_on(async {
        let job = load.jobs[o].first().context("no target")?;
        let client = reqwest::Client::new();
        let mut rng = StdRng::seed_from_u64(load.seed);
        let response = build(&client, &load.base, Op::ALL[o], job, &mut rng)
            .header(
                "authorization",
                format!("Bearer {}", load.tokens[job.caller]),
            )
            .send()
            .await
            .context("sending a request")?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        Ok((status, body.chars().take(300).collect()))
    })
}

async fn drive(load: &Load) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let deadline = started + load.duration;
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..load.connections {
        let load = load.clone();
        workers.spawn(async move { worker(&load, deadline, u64::from(w)).await });
    }
    let mut outcome = Outcome::empty(Duration::ZERO)?;
    while let Some(tallies) = workers.join_next().await {
        outcome.absorb(&tallies.context("a load worker failed")??)?;
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

async fn worker(load: &Load, deadline: Instant, index: u64) -> anyhow::Result<Vec<ByLevel>> {
    // one client per worker with at most one idle connection: one
    // keep-alive connection per worker
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .context("building an HTTP client")?;
    let mut rng = StdRng::seed_from_u64(load.seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut tallies = Op::ALL
        .iter()
        .map(|_| by_level())
        .collect::<anyhow::Result<Vec<_>>>()?;
    let auth: Vec<String> = load.tokens.iter().map(|t| format!("Bearer {t}")).collect();
    let mut schedule = load
        .rate
        .map(|rate| Schedule::new(Instant::now(), rate, load.connections, index));
    loop {
        // paced: the request's time is its slot, not when it could be sent,
        // so a late answer also counts against the requests queued behind
        // it (no coordinated omission, as wrk2 and pgbench --rate measure)
        let sent = match &mut schedule {
            Some(s) => {
                let slot = s.next_slot();
                if slot >= deadline {
                    break;
                }
                tokio::time::sleep_until(tokio::time::Instant::from_std(slot)).await;
                slot
            }
            None => {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                now
            }
        };
        let Some(o) = pick_op(&mut rng, load.scenario, &load.jobs) else {
            break;
        };
        let Some(job) = load.jobs[o].choose(&mut rng) else {
            break;
        };
        let request = build(&client, &load.base, Op::ALL[o], job, &mut rng)
            .header("authorization", &auth[job.caller]);
        let result = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                response.bytes().await.map(|_| status)
            }
            Err(e) => Err(e),
        };
        let took = sent.elapsed();
        let tally = &mut tallies[o][job.level as usize];
        match result {
            Ok(status) => tally.answer(status, took),
            Err(e) => *tally.errors.entry(error_kind(&e)).or_insert(0) += 1,
        }
    }
    Ok(tallies)
}

/// The send times of one worker of a paced load: `rate / connections`
/// requests per second, the workers' slots interleaved so the whole load
/// arrives evenly.
#[derive(Debug, Clone)]
pub struct Schedule {
    first: Instant,
    interval: Duration,
    sent: u32,
}

impl Schedule {
    /// Worker `index` of `connections` sharing `rate` requests per second
    /// from `start`.
    pub fn new(start: Instant, rate: u32, connections: u32, index: u64) -> Schedule {
        let interval =
            Duration::from_secs_f64(f64::from(connections.max(1)) / f64::from(rate.max(1)));
        let offset = interval.mul_f64(
            (index % u64::from(connections.max(1))) as f64 / f64::from(connections.max(1)),
        );
        Schedule {
            first: start + offset,
            interval,
            sent: 0,
        }
    }

    /// The next request's slot.
    pub fn next_slot(&mut self) -> Instant {
        let slot = self.first + self.interval * self.sent;
        self.sent += 1;
        slot
    }
}

/// The HTTP request of `op` on `job`.
fn build(
    client: &reqwest::Client,
    base: &str,
    op: Op,
    job: &Job,
    rng: &mut StdRng,
) -> reqwest::RequestBuilder {
    let node = job.node_id;
    match op {
        Op::Node => client.get(format!("{base}/v1/nodes/{node}")),
        Op::Children => client.get(format!("{base}/v1/nodes/{node}/children")),
        Op::Ancestors => client.get(format!("{base}/v1/nodes/{node}/ancestors")),
        Op::TaskList => client.get(format!(
            "{base}/v1/nodes/{node}/tasks?scope=subtree&limit={TASK_PAGE}"
        )),
        Op::Rollup => client.get(format!("{base}/v1/nodes/{node}/rollup")),
        Op::Search => client
            .get(format!("{base}/v1/nodes/{node}/search"))
            .query(&[("q", job.word.as_deref().unwrap_or("stage"))]),
        Op::TaskCreate => client
            .post(format!("{base}/v1/nodes/{node}/tasks"))
            .header("idempotency-key", fresh_key())
            .json(&task_body(rng.random_range(1..1_000_000))),
        Op::TaskUpdate => client
            .patch(format!(
                "{base}/v1/tasks/{}",
                job.row_id.unwrap_or(Uuid::nil())
            ))
            .header("if-match", "*")
            .json(&task_changes(rng.random_range(0..PRIORITIES.len()))),
        Op::InvoiceCreate => client
            .post(format!("{base}/v1/nodes/{node}/invoices"))
            .header("idempotency-key", fresh_key())
            .json(&invoice_body(job, &Uuid::now_v7().simple().to_string())),
    }
}

/// An idempotency key no earlier run used (keys live a day, and a reused
/// one replays or refuses instead of writing).
fn fresh_key() -> String {
    Uuid::now_v7().to_string()
}

/// Priorities a task update cycles through.
pub const PRIORITIES: [&str; 4] = ["low", "medium", "high", "urgent"];

/// The body of a new task.
pub fn task_body(n: u32) -> serde_json::Value {
    serde_json::json!({ "title": format!("Bench task {n}"), "priority": "high" })
}

/// The body of a task update.
pub fn task_changes(priority: usize) -> serde_json::Value {
    serde_json::json!({ "priority": PRIORITIES[priority % PRIORITIES.len()] })
}

/// The issue day of new invoices.
pub const INVOICE_DAY: &str = "2026-01-15";

/// The body of a new invoice (`number` makes it unique per vendor).
pub fn invoice_body(job: &Job, number: &str) -> serde_json::Value {
    serde_json::json!({
        "vendor_id": job.vendor_id.unwrap_or(Uuid::nil()),
        "number": format!("BENCH-{number}"),
        "issued_on": INVOICE_DAY,
        "currency": job.currency.as_deref().unwrap_or("USD"),
    })
}

/// A short, countable name for a transport error.
fn error_kind(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else if e.is_body() || e.is_decode() {
        "body".into()
    } else {
        "request".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_workers_share_the_rate_evenly() {
        let start = Instant::now();
        // 8 workers at 400 requests/s: each every 20 ms, 2.5 ms apart
        let mut slots: Vec<Instant> = (0..8)
            .flat_map(|w| {
                let mut s = Schedule::new(start, 400, 8, w);
                (0..50).map(move |_| s.next_slot())
            })
            .collect();
        slots.sort();
        let in_first_second = slots
            .iter()
            .filter(|t| **t < start + Duration::from_secs(1))
            .count();
        assert_eq!(in_first_second, 400);
        for pair in slots.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(
                gap.abs_diff(Duration::from_micros(2500)) < Duration::from_micros(2),
                "{gap:?}"
            );
        }
        let mut one = Schedule::new(start, 400, 8, 3);
        let (a, b) = (one.next_slot(), one.next_slot());
        assert_eq!(a - start, Duration::from_micros(7500));
        assert_eq!(b - a, Duration::from_millis(20));
    }

    #[test]
    fn percentiles_and_rates_come_from_the_histogram() {
        let mut t = Tally::new().expect("tally");
        // 1..=100 ms, once each: p50 = 50 ms, p95 = 95 ms, p99 = 99 ms
        for ms in 1..=100u64 {
            t.answer(200, Duration::from_millis(ms));
        }
        t.answer(409, Duration::from_millis(1));
        *t.errors.entry("timeout".into()).or_insert(0) += 2;
        let p = t.percentiles();
        assert_eq!(p.count, 101);
        // three significant digits: within 0.1%
        for (got, want) in [(p.p50_us, 50_000), (p.p95_us, 95_000), (p.p99_us, 99_000)] {
            assert!(got.abs_diff(want) <= want / 1000, "{got} vs {want}");
        }
        assert_eq!(t.ok(), 100);
        assert_eq!(t.failures(), 3);
        assert_eq!(t.failure_summary(), "1 x 409, 2 x timeout");
        assert!((t.rate(Duration::from_secs(4)) - 25.0).abs() < 1e-9);
    }

    #[test]
    fn merged_tallies_count_everything_once() {
        let mut a = Tally::new().expect("tally");
        let mut b = Tally::new().expect("tally");
        for us in [100, 200, 300] {
            a.answer(200, Duration::from_micros(us));
        }
        for us in [400, 500] {
            b.answer(201, Duration::from_micros(us));
        }
        b.answer(500, Duration::from_micros(600));
        let empty = Tally::new().expect("tally");
        let outcome = Outcome {
            elapsed: Duration::from_secs(2),
            ops: vec![[a.clone(), empty.clone()], [empty, b.clone()]],
        };
        let all = outcome.total().expect("total");
        assert_eq!(all.percentiles().count, 6);
        assert_eq!(all.ok(), 5);
        assert_eq!(all.failures(), 1);
        assert_eq!(all.latency.max(), 600);
        assert_eq!(all.percentiles().p50_us, 300);
    }

    #[test]
    fn each_caller_level_keeps_its_own_figures_and_the_operation_sums_them() {
        // two workers; the org-level owner's answers are fast, the
        // production manager's slow
        let mut outcome = Outcome::empty(Duration::ZERO).expect("outcome");
        let list = Op::TaskList as usize;
        let insert = Op::TaskCreate as usize;
        for worker in 0..2u64 {
            let mut tallies: Vec<ByLevel> = Op::ALL
                .iter()
                .map(|_| by_level().expect("tallies"))
                .collect();
            for ms in 1..=100u64 {
                tallies[list][Level::Org as usize].answer(200, Duration::from_millis(ms));
                tallies[list][Level::Production as usize]
                    .answer(200, Duration::from_millis(100 + ms));
            }
            tallies[insert][Level::Production as usize].answer(201, Duration::from_millis(5));
            tallies[insert][Level::Production as usize].answer(403, Duration::from_millis(5));
            *tallies[list][Level::Production as usize]
                .errors
                .entry(format!("timeout {worker}"))
                .or_insert(0) += 1;
            outcome.absorb(&tallies).expect("absorb");
        }
        outcome.elapsed = Duration::from_secs(2);

        let org = outcome.of(list, Level::Org);
        let production = outcome.of(list, Level::Production);
        assert_eq!((org.ok(), org.failures()), (200, 0));
        assert_eq!((production.ok(), production.failures()), (200, 2));
        let within = |got: u64, want: u64| got.abs_diff(want) <= want / 1000;
        let (o, p) = (org.percentiles(), production.percentiles());
        assert!(within(o.p95_us, 95_000), "{o:?}");
        assert!(within(p.p95_us, 195_000), "{p:?}");

        let both = outcome.op(list).expect("op");
        assert_eq!(both.ok(), 400);
        assert_eq!(both.failures(), 2);
        assert_eq!(both.percentiles().count, 400);
        // the median of both lies between the two levels' medians
        assert!(
            within(both.percentiles().p50_us, 100_000),
            "{:?}",
            both.percentiles()
        );
        assert!((both.rate(outcome.elapsed) - 200.0).abs() < 1e-9);

        let total = outcome.total().expect("total");
        assert_eq!(total.ok(), 402);
        assert_eq!(total.failures(), 4);
        // two successful inserts (the 403s are not writes) over 2 s
        assert!((outcome.writes_per_second() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_mix_follows_its_weights_and_skips_operations_without_targets() {
        let job = Job {
            caller: 0,
            level: Level::Org,
            org_id: Uuid::nil(),
            node_id: Uuid::nil(),
            kind: NodeKind::Workspace,
            row_id: None,
            word: None,
            vendor_id: None,
            currency: None,
        };
        let mut jobs: Vec<Vec<Job>> = Op::ALL.iter().map(|_| vec![job.clone()]).collect();
        jobs[Op::Search as usize].clear();
        let mut rng = StdRng::seed_from_u64(1);
        let mut counts = [0u32; 9];
        for _ in 0..100_000 {
            let o = pick_op(&mut rng, Scenario::Mixed, &jobs).expect("an op");
            counts[o] += 1;
        }
        assert_eq!(counts[Op::Search as usize], 0);
        let total: u32 = Op::ALL
            .iter()
            .filter(|&&op| op != Op::Search)
            .map(|&op| Scenario::Mixed.weight(op))
            .sum();
        let share = f64::from(counts[Op::Node as usize]) / 100_000.0;
        let want = f64::from(Scenario::Mixed.weight(Op::Node)) / f64::from(total);
        assert!((share - want).abs() < 0.01, "{share} vs {want}");
        assert_eq!(
            pick_op(&mut rng, Scenario::Write, &jobs).map(|o| Op::ALL[o].is_write()),
            Some(true)
        );
        let none: Vec<Vec<Job>> = Op::ALL.iter().map(|_| Vec::new()).collect();
        assert_eq!(pick_op(&mut rng, Scenario::Mixed, &none), None);
    }
}
