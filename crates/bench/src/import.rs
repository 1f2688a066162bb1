//! `showtree bench import`: what `showtree import` costs (issue 9). On a
//! generated flat legacy database, in one run:
//!
//! * backfill throughput: legacy rows per second of `import backfill`,
//!   end to end (counting, the batches, the catch-up and the
//!   roll-up reconciliation), and of its copy alone;
//! * the write overhead of dual-write: the same kind of legacy writes (by
//!   primary key, one connection, one statement each: inserts, updates,
//!   deletes of tasks, budgets, crew, events) timed without and with
//!   dual-write, in both modes: synchronous (the dual-write triggers) and
//!   asynchronous (`--async`: the capture triggers, their log drained
//!   meanwhile by `dual-write --follow`'s loop on another connection, whose
//!   lag is measured too). "Without" is measured twice: before expand (the
//!   legacy database as it runs today) and, interleaved round by round
//!   with the two modes, with the import's triggers disabled, so every
//!   side sees the same data, caches and machine load.
//!
//! `showtree bench generate` writes showtree's own layout; the flat layout
//! comes from the import crate's legacy generator at the same scale
//! (`legacy::Size::scale`: scale 1 is 1,000 organizations, 50,000
//! productions and about 10 million domain rows, as for `bench generate`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use showtree_db::connect::url_with_database;
use showtree_import::backfill::BackfillArgs;
use showtree_import::legacy::{self, Size};
use showtree_import::sqlgen::{CAPTURE, DUAL_WRITE, DUAL_WRITE_DELETE};
use showtree_import::state::Session;
use showtree_import::{backfill, dualwrite, expand, sqlgen, state, validate};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::hierarchy::{self, Machine};
use crate::report::{self, Latency};

mod raw;
pub use raw::RawInsert;

/// Default of `--scale`.
pub const DEFAULT_SCALE: f64 = 0.1;
/// Default of `--writes`.
pub const DEFAULT_WRITES: u32 = 3_000;
/// Default of `--rounds`.
pub const DEFAULT_ROUNDS: u32 = 6;
/// Default of `--seed`.
pub const DEFAULT_SEED: u64 = 1;
/// Default of `--database`.
pub const DEFAULT_DATABASE: &str = "showtree_bench_import";

/// Every database this benchmark creates carries a comment starting so.
const MARKER: &str = "showtree bench import";
const SECTION_START: &str = "<!-- bench:import:start -->";
const SECTION_END: &str = "<!-- bench:import:end -->";
/// Issue 9's goals.
const GOAL_ROWS_PER_SECOND: f64 = 50_000.0;
const GOAL_RATIO: f64 = 2.0;
/// How often a sampled write's change is looked for in the log.
const LAG_POLL: Duration = Duration::from_millis(5);
/// Every how many-th update is followed until drained.
const LAG_SAMPLE: u64 = 10;

/// The legacy tables (their user triggers are the import's).
const LEGACY_TABLES: [&str; 11] = [
    "organizations",
    "users",
    "workspaces",
    "productions",
    "vendors",
    "tasks",
    "budgets",
    "invoices",
    "assets",
    "events",
    "crew",
];

/// Options of `showtree bench import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportBenchArgs {
    /// Size of the flat legacy database, as `bench generate --scale` (0.1:
    /// 100 organizations, 5,000 productions, about a million legacy rows).
    #[arg(long, default_value_t = DEFAULT_SCALE)]
    pub scale: f64,
    /// Timed legacy writes per variant (without, with synchronous and with
    /// asynchronous dual-write).
    #[arg(long, default_value_t = DEFAULT_WRITES, value_parser = clap::value_parser!(u32).range(6..))]
    pub writes: u32,
    /// Interleaved rounds the writes with each dual-write mode and with the
    /// import's triggers disabled are split into.
    #[arg(long, default_value_t = DEFAULT_ROUNDS, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// Seed of the writes.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Keep the database afterwards (it is dropped otherwise).
    #[arg(long)]
    pub keep: bool,
    /// The database to (re)create; it must not exist or have been created by this benchmark.
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// Write the results into this markdown file (between the bench:import markers).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

impl Default for ImportBenchArgs {
    fn default() -> Self {
        ImportBenchArgs {
            scale: DEFAULT_SCALE,
            writes: DEFAULT_WRITES,
            rounds: DEFAULT_ROUNDS,
            seed: DEFAULT_SEED,
            keep: false,
            database: DEFAULT_DATABASE.to_owned(),
            markdown: None,
        }
    }
}

impl ImportBenchArgs {
    /// The command that reproduces this run, as a user types it.
    pub fn command_line(&self) -> String {
        let mut cmd = format!(
            "showtree bench import --scale {} --writes {} --rounds {}",
            self.scale, self.writes, self.rounds
        );
        let extras = [
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

/// One timed series of legacy writes.
#[derive(Debug, Clone)]
pub struct WriteRun {
    /// What ran.
    pub label: String,
    /// Per-write latency.
    pub latency: Latency,
    /// Mean latency, microseconds.
    pub mean_us: f64,
    /// Writes per second of the series' wall time.
    pub per_second: f64,
}

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The command that reproduces it.
    pub command: String,
    /// The scale.
    pub scale: f64,
    /// The legacy database's size.
    pub size: Size,
    /// Legacy rows generated.
    pub legacy_rows: u64,
    /// Seconds to generate them.
    pub generate_secs: f64,
    /// Seconds of `import expand` (showtree's migrations included).
    pub expand_secs: f64,
    /// What `import backfill` reported.
    pub backfill: backfill::Summary,
    /// Wall time of `import backfill`.
    pub backfill_secs: f64,
    /// The same rows inserted raw, right after the backfill.
    pub raw: RawInsert,
    /// Seconds of `import dual-write` (its catch-up and switch).
    pub dual_write_secs: f64,
    /// Seconds of `import validate`, and whether it was clean.
    pub validate_secs: f64,
    /// Whether validate found nothing.
    pub validate_clean: bool,
    /// Writes before expand, with dual-write, with its triggers disabled.
    pub before: WriteRun,
    /// Writes with synchronous dual-write (the dual-write triggers).
    pub with: WriteRun,
    /// Writes with asynchronous dual-write (the capture triggers, drained
    /// meanwhile on another connection).
    pub with_async: WriteRun,
    /// Writes with the capture triggers and no drain running (drained
    /// after each round): what the legacy write itself pays.
    pub capture_only: WriteRun,
    /// Writes with the import's triggers disabled, interleaved with both.
    pub without: WriteRun,
    /// What the drain did during the asynchronous rounds.
    pub drain: Drain,
    /// The machine.
    pub machine: Machine,
}

/// The asynchronous rounds' drain (`dual-write --follow`'s loop).
#[derive(Debug, Clone)]
pub struct Drain {
    /// Changes drained.
    pub changes: u64,
    /// Duration of each non-empty batch (its transaction).
    pub batches: Latency,
    /// From a sampled write's commit until its change left the log (its row
    /// being in showtree).
    pub lag: Latency,
}

impl ImportReport {
    /// Legacy rows per second of the whole backfill command.
    pub fn backfill_rows_per_second(&self) -> f64 {
        self.backfill.legacy_rows as f64 / self.backfill_secs.max(1e-9)
    }

    /// Legacy rows per second of the copy alone.
    pub fn copy_rows_per_second(&self) -> f64 {
        self.backfill.rows_per_second()
    }

    /// The copy's time over the raw insert's (how many times PostgreSQL's
    /// own floor for the same rows the copy takes).
    pub fn copy_over_raw(&self) -> f64 {
        self.backfill.copy.as_secs_f64() / self.raw.took.as_secs_f64().max(1e-9)
    }

    /// synchronous ÷ without (interleaved): p50, p95, p99, mean.
    pub fn ratios(&self) -> [f64; 4] {
        Self::ratios_of(&self.with, &self.without)
    }

    /// asynchronous ÷ without (interleaved): p50, p95, p99, mean.
    pub fn async_ratios(&self) -> [f64; 4] {
        Self::ratios_of(&self.with_async, &self.without)
    }

    /// capture only ÷ without (interleaved): p50, p95, p99, mean.
    pub fn capture_ratios(&self) -> [f64; 4] {
        Self::ratios_of(&self.capture_only, &self.without)
    }

    fn ratios_of(w: &WriteRun, o: &WriteRun) -> [f64; 4] {
        let r = |a: u64, b: u64| a as f64 / (b as f64).max(1.0);
        [
            r(w.latency.p50_us, o.latency.p50_us),
            r(w.latency.p95_us, o.latency.p95_us),
            r(w.latency.p99_us, o.latency.p99_us),
            w.mean_us / o.mean_us.max(1e-9),
        ]
    }

    /// Whether the backfill goal is met.
    pub fn backfill_goal_met(&self) -> bool {
        self.backfill_rows_per_second() >= GOAL_ROWS_PER_SECOND
    }

    /// Whether the dual-write goal is met (p50, p95 and mean at most 2x),
    /// judged on the asynchronous mode (the synchronous one is kept for
    /// comparison).
    pub fn dual_write_goal_met(&self) -> bool {
        Self::goal_met(self.async_ratios())
    }

    /// Whether the synchronous mode alone would meet it.
    pub fn sync_goal_met(&self) -> bool {
        Self::goal_met(self.ratios())
    }

    fn goal_met([p50, p95, _, mean]: [f64; 4]) -> bool {
        p50 <= GOAL_RATIO && p95 <= GOAL_RATIO && mean <= GOAL_RATIO
    }

    fn write_rows(&self) -> Vec<[String; 4]> {
        let mut rows = vec![[
            "legacy writes".to_owned(),
            "writes".to_owned(),
            "p50 / p95 / p99 ms".to_owned(),
            "mean ms, writes/s".to_owned(),
        ]];
        for r in [
            &self.before,
            &self.without,
            &self.with,
            &self.with_async,
            &self.capture_only,
        ] {
            rows.push([
                r.label.clone(),
                report::thousands(r.latency.count),
                r.latency.triple_ms(),
                format!("{:.3}, {:.0}", r.mean_us / 1000.0, r.per_second),
            ]);
        }
        rows
    }

    fn backfill_rows(&self) -> Vec<[String; 3]> {
        let b = &self.backfill;
        vec![
            [
                "backfill".to_owned(),
                "seconds".to_owned(),
                "legacy rows/s".to_owned(),
            ],
            [
                "whole command".to_owned(),
                format!("{:.1}", self.backfill_secs),
                report::thousands(self.backfill_rows_per_second() as u64),
            ],
            [
                "separate scan for bad rows".to_owned(),
                format!("{:.1}", b.preflight.as_secs_f64()),
                String::new(),
            ],
            [
                "copy (batches, with the index builds and statistics beside them)".to_owned(),
                format!("{:.1}", b.copy.as_secs_f64()),
                report::thousands(self.copy_rows_per_second() as u64),
            ],
            [
                format!(
                    "baseline: the rows written ({} in {} tables) inserted raw",
                    report::thousands(self.raw.rows),
                    self.raw.tables
                ),
                format!("{:.1}", self.raw.took.as_secs_f64()),
                report::thousands(
                    (b.legacy_rows as f64 / self.raw.took.as_secs_f64().max(1e-9)) as u64,
                ),
            ],
            [
                format!(
                    "index builds ({} set aside for the copy), beyond the copy's end",
                    b.indexes_built
                ),
                format!("{:.1}", b.index_builds.as_secs_f64()),
                String::new(),
            ],
            [
                "statistics, catch-up and roll-ups".to_owned(),
                format!("{:.1}", b.finish.as_secs_f64()),
                String::new(),
            ],
        ]
    }

    /// The results as a plain-text table, for stdout.
    pub fn text_table(&self) -> String {
        let [p50, p95, p99, mean] = self.ratios();
        let [a50, a95, a99, amean] = self.async_ratios();
        let [c50, c95, c99, cmean] = self.capture_ratios();
        format!(
            "{}\n{}\nsynchronous ÷ without: p50 {p50:.2}, p95 {p95:.2}, p99 {p99:.2}, mean {mean:.2}\n\
             asynchronous ÷ without: p50 {a50:.2}, p95 {a95:.2}, p99 {a99:.2}, mean {amean:.2}\n\
             capture only ÷ without: p50 {c50:.2}, p95 {c95:.2}, p99 {c99:.2}, mean {cmean:.2}\n\
             drain: {} changes, batch p50 / p95 / p99 {} ms, lag p50 / p95 / p99 {} ms ({} samples)\n\
             copy / raw insert of the same rows: {:.2}x\n\
             backfill goal (>= 50,000 rows/s): {}; dual-write goal (<= 2x, asynchronous): {} (synchronous: {})\n",
            report::text_table(&self.backfill_rows()),
            report::text_table(&self.write_rows()),
            self.drain.changes,
            self.drain.batches.triple_ms(),
            self.drain.lag.triple_ms(),
            self.drain.lag.count,
            self.copy_over_raw(),
            met(self.backfill_goal_met()),
            met(self.dual_write_goal_met()),
            met(self.sync_goal_met()),
        )
    }

    /// The results as the markdown section of docs/BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let s = &self.size;
        let mut md = String::new();
        md += "## Import: backfill throughput and what dual-write costs legacy writes\n\n";
        md += &format!("Produced by `{}` on {}.\n\n", self.command, m.date);
        md += &format!(
            "Machine: {}, {} (shared_buffers {}, other settings default){}; the server \
             and this command share the machine with other work, so figures are noisy.\n\n",
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
            "Data: a flat legacy database (crates/import/sql/legacy_layout.sql) of {} legacy \
             rows: {} organizations, {} workspaces each, {} productions per workspace, about {} \
             domain rows per production (tasks, budgets, invoices, assets, events, crew), {} \
             users and {} vendors per organization; generated in {:.1} s. `bench generate \
             --scale {}` writes showtree's own layout and cannot lay its data out flat, so the \
             import crate's legacy generator made a flat database of the same scale \
             (scale 1 = 1,000 organizations, 50,000 productions, about 10 million domain rows). \
             The mapping is crates/import/mapping/flat.toml with `workspace_only = \
             \"organization\"`: the generator's workspace-level rows sit in workspaces of \
             several productions, which the example mapping refuses as ambiguous owners.\n\n",
            report::thousands(self.legacy_rows),
            report::thousands(u64::from(s.organizations)),
            s.workspaces_per_org,
            s.productions_per_workspace,
            s.rows_per_production,
            s.users_per_org,
            s.vendors_per_org,
            self.generate_secs,
            self.scale,
        );
        md += &format!(
            "**Backfill.** `import expand` took {:.1} s (showtree's migrations included; it \
             scans the data for bad rows). `import backfill` (defaults: batches of {} in \
             primary-key order, one transaction each that also classifies its rows, so no \
             separate scan for bad rows; showtree's triggers off; each mapping as soon as its \
             dependencies are copied, on two connections; the secondary indexes of the target \
             tables empty at the start dropped for the copy and built again, and each table \
             analyzed, as soon as the copy has filled it, while other mappings copy) read {} \
             legacy rows and wrote {} showtree rows and nodes; the whole command includes \
             counting the rows to copy, building the indexes again, analyzing the filled tables, \
             the catch-up of captured changes and the roll-up reconciliation of every imported \
             node ({} delta rows).\n\n",
            self.expand_secs,
            report::thousands(BackfillArgs::default().batch_size),
            report::thousands(self.backfill.legacy_rows),
            report::thousands(self.backfill.written),
            report::thousands(self.backfill.rollup_deltas.unsigned_abs()),
        );
        md += &markdown_table(&self.backfill_rows());
        md += &format!(
            "\nThe baseline row is PostgreSQL's own floor for the same rows, measured right after \
             the backfill in the same run: every table the backfill wrote (showtree's, auth's \
             and the id maps) inserted again by one `insert ... select` per table into a copy \
             keeping what the copy keeps (primary keys, unique and exclusion constraints and \
             indexes, defaults, generated columns such as the search vectors), triggers and \
             foreign-key checks off and `synchronous_commit = off` as in the batches, on two \
             connections (crates/bench/src/import/raw.rs); its rows/s counts the backfill's \
             legacy rows over its time. The copy took {:.2}x the baseline's time: what reading \
             the legacy rows in key order, mapping and classifying them, looking up their \
             owners and the id map, batching and the audit events cost over storing the rows, \
             and the index builds and statistics of the tables filled while other mappings \
             still copied (they share the two connections), which the baseline does not do.\n",
            self.copy_over_raw()
        );
        md += &format!(
            "\nThen `import dual-write` took {:.1} s and `import validate` (counts, per-column \
             checksums, references, roll-ups, the audit) {:.1} s: {}.\n\n",
            self.dual_write_secs,
            self.validate_secs,
            if self.validate_clean {
                "clean"
            } else {
                "NOT clean"
            }
        );
        let [p50, p95, p99, mean] = self.ratios();
        let [a50, a95, a99, amean] = self.async_ratios();
        let [c50, c95, c99, cmean] = self.capture_ratios();
        md += &format!(
            "**Dual-write.** {} legacy writes per variant on one connection, one autocommit \
             statement each, client-side latency in an HDR histogram: in turn an insert of a \
             task into a production, an update of a task (status, title), of a budget's amount, \
             of a crew row (status, rate), an insert of an event, a delete of a task this run \
             inserted; rows picked at random (seed {}). \"Before expand\" runs on the untouched \
             legacy database; then, with dual-write on, {} rounds rotate the same writes over \
             four variants: synchronous dual-write (the dual-write triggers enabled), \
             asynchronous dual-write (`--async`: the capture triggers enabled, and `dual-write \
             --follow`'s drain loop running throughout the round, until the log is empty, on \
             another connection, the same for every round and warmed up by an untimed \
             asynchronous round of 60 writes), the same capture triggers with no drain running \
             during the round (it drains after it, untimed: what the legacy write itself pays, \
             apart from the drain's load on the machine) and \"without\" (every import trigger \
             disabled); the switch is \
             `alter table ... enable / disable trigger`, a benchmark-only one. So every variant \
             shares data, caches and load. Before each round the pending roll-up deltas are \
             folded (untimed), as `showtree serve` does in the background.\n\n",
            report::thousands(self.with.latency.count),
            self.command_seed(),
            self.rounds(),
        );
        md += &markdown_table(&self.write_rows());
        md += &format!(
            "\nSynchronous ÷ without: p50 {p50:.2}, p95 {p95:.2}, p99 {p99:.2}, mean {mean:.2}. \
             Asynchronous ÷ without: p50 {a50:.2}, p95 {a95:.2}, p99 {a99:.2}, mean {amean:.2}. \
             Capture only ÷ without: p50 {c50:.2}, p95 {c95:.2}, p99 {c99:.2}, mean {cmean:.2}.\n\n"
        );
        md += &format!(
            "**Lag of asynchronous dual-write.** The drain copied {} changes in batches (one \
             transaction each, at most 5,000 changes, a pause of {} ms when the log is \
             empty); non-empty batches took p50 / p95 / p99 {} ms. Every tenth update \
             (tasks, budgets, crew) was followed, untimed, from its commit until its change had \
             left the log (its row copied into showtree), polled every {} ms on a third \
             connection: p50 / p95 / p99 {} ms over {} samples. Showtree lags the legacy \
             application by that much; an application that writes rarely meets an idle drain, \
             whose pause adds at most its length.\n\n",
            report::thousands(self.drain.changes),
            dualwrite::FOLLOW_IDLE.as_millis(),
            self.drain.batches.triple_ms(),
            LAG_POLL.as_millis(),
            self.drain.lag.triple_ms(),
            report::thousands(self.drain.lag.count),
        );
        md += &format!(
            "- Goal (issue 9), backfill at least 50,000 legacy rows per second: {} ({} rows/s \
             for the whole command, {} rows/s for the copy alone, {:.2}x the raw insert's \
             time).\n",
            met(self.backfill_goal_met()),
            report::thousands(self.backfill_rows_per_second() as u64),
            report::thousands(self.copy_rows_per_second() as u64),
            self.copy_over_raw(),
        );
        md += &format!(
            "- Goal (issue 9), dual-write costs legacy writes at most 2x (p50, p95 and mean), \
             judged on asynchronous dual-write: {} (p50 {a50:.2}x, p95 {a95:.2}x, mean \
             {amean:.2}x; the drain running on the same 2 cores included). With no drain \
             running meanwhile, the capture alone costs p50 {c50:.2}x, p95 {c95:.2}x, mean \
             {cmean:.2}x ({}). Synchronous dual-write, for comparison: {} (p50 {p50:.2}x, p95 \
             {p95:.2}x, mean {mean:.2}x).\n",
            met(self.dual_write_goal_met()),
            if Self::goal_met(self.capture_ratios()) {
                "within the goal"
            } else {
                "above the goal"
            },
            met(self.sync_goal_met()),
        );
        md += "- Synchronously dual-written rows go through showtree's triggers (audit events, \
                roll-up deltas, foreign-key checks and cascades) in the legacy writer's \
                transaction; only those that keep columns or check transitions let them through \
                as the legacy row has them, asked by the setting `showtree.importing` that the \
                import's functions carry and honoured for a superuser only (migration 0013, \
                docs/IMPORT.md). Asynchronously, the legacy writer pays one insert into the \
                change log per row written, and the drain pays the rest on its own connection.\n";
        md
    }

    fn command_seed(&self) -> String {
        self.command
            .split(" --seed ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or("1")
            .to_owned()
    }

    fn rounds(&self) -> String {
        self.command
            .split(" --rounds ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or("1")
            .to_owned()
    }
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "not met" }
}

fn markdown_table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        out += &format!("| {} |\n", row.join(" | "));
        if i == 0 {
            out += &format!("|{}\n", "---|".repeat(N));
        }
    }
    out
}

/// Runs the benchmark on the server behind `admin_url`.
pub async fn run(args: &ImportBenchArgs, admin_url: &str) -> anyhow::Result<ImportReport> {
    hierarchy::check_database_name(&args.database)?;
    ensure!(
        args.scale > 0.0 && args.scale <= 10.0,
        "--scale must be in (0, 10], got {}",
        args.scale
    );
    let admin = hierarchy::connect(admin_url)
        .await
        .context("connecting to the server")?;
    let db_url = url_with_database(admin_url, &args.database);
    create_database(&admin, args).await?;
    let result = measure(args, &db_url).await;
    if !args.keep {
        admin
            .batch_execute(&format!(
                "drop database {} with (force)",
                hierarchy::quote_ident(&args.database)
            ))
            .await
            .context("dropping the benchmark database")?;
    }
    let report = result?;
    if let Some(path) = &args.markdown {
        report::write_section(path, SECTION_START, SECTION_END, &report.markdown())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report)
}

async fn create_database(admin: &Client, args: &ImportBenchArgs) -> anyhow::Result<()> {
    let existing: Option<Option<String>> = admin
        .query_opt(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = $1",
            &[&args.database],
        )
        .await
        .context("looking for the benchmark database")?
        .map(|row| row.get(0));
    let db = hierarchy::quote_ident(&args.database);
    if let Some(comment) = existing {
        if !comment.is_some_and(|c| c.starts_with(MARKER)) {
            bail!(
                "database {} exists and was not created by this benchmark: \
                 pick another --database, or drop it yourself",
                args.database
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
            hierarchy::quote_literal(MARKER)
        ))
        .await
        .context("marking the benchmark database")
}

async fn measure(args: &ImportBenchArgs, db_url: &str) -> anyhow::Result<ImportReport> {
    let client = hierarchy::connect(db_url)
        .await
        .context("connecting to the benchmark database")?;
    let size = Size::scale(args.scale);
    let started = Instant::now();
    legacy::create(&client)
        .await
        .context("creating the legacy tables")?;
    let legacy_rows = legacy::generate(&client, size)
        .await
        .context("generating the legacy rows")?;
    client
        .batch_execute("vacuum (analyze)")
        .await
        .context("vacuum analyze")?;
    let generate_secs = started.elapsed().as_secs_f64();
    let mut machine = hierarchy::machine(&client).await?;

    let mut writer = Writer::new(client, args.seed).await?;
    let mut before = hierarchy::histogram()?;
    let before_took = writer.run(args.writes, &mut before).await?;

    let mut session = Session::connect(db_url)
        .await
        .context("the import's session")?;
    let step = Instant::now();
    expand::expand(&mut session, &mapping())
        .await
        .context("import expand")?;
    let expand_secs = step.elapsed().as_secs_f64();
    let step = Instant::now();
    let summary = backfill::backfill(&mut session, &BackfillArgs::default())
        .await
        .context("import backfill")?;
    let backfill_secs = step.elapsed().as_secs_f64();
    let raw = raw::measure(db_url)
        .await
        .context("the raw-insert baseline")?;
    let step = Instant::now();
    dualwrite::enable(&mut session)
        .await
        .context("import dual-write")?;
    let dual_write_secs = step.elapsed().as_secs_f64();
    let step = Instant::now();
    let outcome = validate::validate(&mut session)
        .await
        .context("import validate")?;
    let validate_secs = step.elapsed().as_secs_f64();
    if !outcome.is_clean() {
        tracing::warn!(report = %outcome.render(5), "validation is not clean");
    }

    // both modes' triggers on the legacy tables, enabled round by round
    let st = session.require().await.context("the import's state")?;
    let plan = session.plan(&st).await.context("the import's plan")?;
    session
        .client
        .batch_execute(&sqlgen::capture_triggers(&plan))
        .await
        .context("adding the capture triggers")?;
    let mut hist = [
        hierarchy::histogram()?,
        hierarchy::histogram()?,
        hierarchy::histogram()?,
        hierarchy::histogram()?,
    ];
    let mut took = [Duration::ZERO; Side::ALL.len()];
    let mut drain = DrainStats::new()?;
    // one drain connection for every round, as one `--follow` would keep,
    // warmed up by an untimed asynchronous round (its first batches compile
    // the import's functions and plan showtree's triggers)
    let mut drainer = Some(
        state::connect(db_url)
            .await
            .context("the drain's connection")?,
    );
    writer.triggers(Side::Async).await?;
    async_round(
        &mut writer,
        60,
        &mut hierarchy::histogram()?,
        db_url,
        &plan,
        &mut drainer,
        &mut DrainStats::new()?,
    )
    .await?;
    let per_round = args.writes.div_ceil(args.rounds);
    let mut left = [args.writes; Side::ALL.len()];
    for round in 0..args.rounds {
        // rotate which side goes first, so none always follows another
        for i in 0..Side::ALL.len() {
            let side = Side::ALL[(i + round as usize) % Side::ALL.len()];
            let k = side as usize;
            let take = per_round.min(left[k]);
            left[k] -= take;
            if take == 0 {
                continue;
            }
            // what `showtree serve` does in the background: fold the
            // roll-up deltas (untimed), so no round reads another's backlog
            writer.fold().await?;
            writer.triggers(side).await?;
            took[k] += match side {
                Side::Async => {
                    async_round(
                        &mut writer,
                        take,
                        &mut hist[k],
                        db_url,
                        &plan,
                        &mut drainer,
                        &mut drain,
                    )
                    .await?
                }
                Side::Capture => {
                    let took = writer.run(take, &mut hist[k]).await?;
                    // untimed, before the next round
                    let client = drainer
                        .as_mut()
                        .context("the drain's connection was lost")?;
                    dualwrite::drain(client, &plan)
                        .await
                        .context("draining the capture-only round")?;
                    took
                }
                Side::Sync | Side::Without => writer.run(take, &mut hist[k]).await?,
            };
        }
    }
    writer.triggers(Side::Sync).await?;
    session
        .client
        .batch_execute(&sqlgen::drop_capture_triggers(&plan))
        .await
        .context("dropping the capture triggers")?;
    machine.load_average.1 = hierarchy::load_average();
    drop(session);

    Ok(ImportReport {
        command: args.command_line(),
        scale: args.scale,
        size,
        legacy_rows,
        generate_secs,
        expand_secs,
        backfill: summary,
        backfill_secs,
        raw,
        dual_write_secs,
        validate_secs,
        validate_clean: outcome.is_clean(),
        before: write_run("before expand (no import)", &before, before_took),
        without: write_run(
            "without (import triggers off)",
            &hist[Side::Without as usize],
            took[Side::Without as usize],
        ),
        with: write_run(
            "with synchronous dual-write",
            &hist[Side::Sync as usize],
            took[Side::Sync as usize],
        ),
        with_async: write_run(
            "with asynchronous dual-write (drained meanwhile)",
            &hist[Side::Async as usize],
            took[Side::Async as usize],
        ),
        capture_only: write_run(
            "asynchronous, capture only (drained after the round)",
            &hist[Side::Capture as usize],
            took[Side::Capture as usize],
        ),
        drain: Drain {
            changes: drain.changes,
            batches: Latency::from_histogram(&drain.batches),
            lag: Latency::from_histogram(&drain.lag),
        },
        machine,
    })
}

/// The flat layout's mapping, with rows that name a workspace but no
/// production attached to their organization: the generator makes such
/// rows in workspaces holding several productions, which the example
/// mapping (`workspace_only = "error"`) reports as ambiguous owners.
pub fn mapping() -> String {
    let text = showtree_import::mapping::FLAT_MAPPING;
    text.replacen(
        "workspace_only = \"error\"",
        "workspace_only = \"organization\"",
        1,
    )
}

/// The variants the rounds rotate over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Sync = 0,
    Async = 1,
    Without = 2,
    Capture = 3,
}

impl Side {
    const ALL: [Side; 4] = [Side::Sync, Side::Async, Side::Without, Side::Capture];
}

/// The asynchronous rounds' drain, summed.
struct DrainStats {
    changes: u64,
    batches: Histogram<u64>,
    lag: Histogram<u64>,
}

impl DrainStats {
    fn new() -> anyhow::Result<DrainStats> {
        Ok(DrainStats {
            changes: 0,
            batches: hierarchy::histogram()?,
            lag: hierarchy::histogram()?,
        })
    }
}

/// A sampled write to follow until its change left the log.
type Probe = (Instant, &'static str, Uuid);

/// One asynchronous round: `dual-write --follow`'s drain loop on
/// `drainer` (lent to it for the round), a prober following every
/// [`LAG_SAMPLE`]-th update on another connection, and `n` timed writes;
/// then it waits for the log to be empty and stops both. Returns the
/// writes' wall time.
async fn async_round(
    writer: &mut Writer,
    n: u32,
    h: &mut Histogram<u64>,
    db_url: &str,
    plan: &showtree_import::plan::Plan,
    drainer: &mut Option<Client>,
    stats: &mut DrainStats,
) -> anyhow::Result<Duration> {
    let mut client = drainer.take().context("the drain's connection was lost")?;
    let plan = plan.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let drain = tokio::spawn(async move {
        let mut batches = Vec::new();
        let stop = async {
            let _ = stopped.await;
        };
        let drained = dualwrite::follow_with(&mut client, &plan, stop, |_, took| {
            batches.push(took.as_micros() as u64)
        })
        .await;
        (client, drained.map(|n| (n, batches)))
    });
    let prober = hierarchy::connect(db_url)
        .await
        .context("the prober's connection")?;
    let (probes, mut probed) = tokio::sync::mpsc::unbounded_channel::<Probe>();
    let probe = tokio::spawn(async move {
        let pending = prober
            .prepare(
                "select exists (select from showtree_import.changes where legacy_table = $1 and legacy_id = $2)",
            )
            .await
            .context("preparing the probe")?;
        let mut lags = Vec::new();
        while let Some((committed, table, id)) = probed.recv().await {
            let id = id.to_string();
            while prober
                .query_one(&pending, &[&table, &id])
                .await
                .context("probing the change log")?
                .get::<_, bool>(0)
            {
                tokio::time::sleep(LAG_POLL).await;
            }
            lags.push(committed.elapsed().as_micros() as u64);
        }
        anyhow::Ok(lags)
    });
    writer.probes = Some(probes);
    let took = writer.run(n, h).await;
    writer.probes = None;
    // the round ends when everything it wrote is in showtree
    let waited = Instant::now();
    while took.is_ok() && dualwrite::pending(&writer.client).await? > 0 {
        ensure!(
            waited.elapsed() < Duration::from_secs(300),
            "the drain did not empty the change log in 5 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    let (client, drained) = drain.await.context("the drain's task")?;
    *drainer = Some(client);
    let (changes, batches) = drained.context("draining the change log")?;
    let lags = probe.await.context("the prober's task")??;
    let took = took?;
    stats.changes += changes;
    for b in batches {
        stats
            .batches
            .record(b.max(1))
            .context("recording a batch")?;
    }
    for l in lags {
        stats.lag.record(l.max(1)).context("recording a lag")?;
    }
    Ok(took)
}

fn write_run(label: &str, h: &Histogram<u64>, took: Duration) -> WriteRun {
    WriteRun {
        label: label.to_owned(),
        latency: Latency::from_histogram(h),
        mean_us: h.mean(),
        per_second: h.len() as f64 / took.as_secs_f64().max(1e-9),
    }
}

/// The old application's writes, by primary key, on one connection.
struct Writer {
    client: Client,
    rng: StdRng,
    step: u64,
    productions: Vec<Uuid>,
    tasks: Vec<Uuid>,
    budgets: Vec<Uuid>,
    crew: Vec<Uuid>,
    inserted: Vec<Uuid>,
    statements: [tokio_postgres::Statement; 6],
    updates: u64,
    /// Where sampled updates go to be followed (asynchronous rounds).
    probes: Option<tokio::sync::mpsc::UnboundedSender<Probe>>,
}

impl Writer {
    async fn new(client: Client, seed: u64) -> anyhow::Result<Writer> {
        let ids = |table: &'static str| {
            let client = &client;
            async move {
                client
                    .query(&format!("select id from {table} order by id"), &[])
                    .await
                    .with_context(|| format!("reading the ids of {table}"))
                    .map(|rows| rows.iter().map(|r| r.get::<_, Uuid>(0)).collect::<Vec<_>>())
            }
        };
        let productions = ids("productions").await?;
        let tasks = ids("tasks").await?;
        let budgets = ids("budgets").await?;
        let crew = ids("crew").await?;
        ensure!(
            !productions.is_empty() && !tasks.is_empty() && !budgets.is_empty() && !crew.is_empty(),
            "the legacy database has no rows to write"
        );
        let sql = [
            "insert into tasks (organization_id, workspace_id, production_id, title, status, due_at)
             select organization_id, workspace_id, id, 'bench task ' || $2::bigint, 'todo',
                    timestamp '2025-01-10 10:00' + $2::bigint * interval '1 minute'
               from productions where id = $1
             returning id",
            "update tasks set status = (array['todo', 'in_progress', 'done'])[1 + $2::bigint % 3],
                    title = 'bench update ' || $2::bigint, updated_at = localtimestamp
              where id = $1",
            "update budgets set amount = amount + 1.25 + ($2::bigint % 2), updated_at = localtimestamp
              where id = $1",
            "update crew set status = (array['invited', 'confirmed', 'cancelled'])[1 + $2::bigint % 3],
                    day_rate = 300 + $2::bigint % 100, currency = 'USD', updated_at = localtimestamp
              where id = $1",
            "insert into events (organization_id, workspace_id, production_id, name, kind, status, starts_at, ends_at)
             select organization_id, workspace_id, id, 'bench slot ' || $2::bigint, 'meeting', 'published',
                    timestamp '2025-07-01 10:00' + $2::bigint * interval '1 hour',
                    timestamp '2025-07-01 11:00' + $2::bigint * interval '1 hour'
               from productions where id = $1
             returning id",
            "delete from tasks where id = $1 and $2::bigint >= 0",
        ];
        let mut statements = Vec::new();
        for s in sql {
            statements.push(
                client
                    .prepare(s)
                    .await
                    .context("preparing the legacy writes")?,
            );
        }
        let statements: [tokio_postgres::Statement; 6] = statements
            .try_into()
            .map_err(|_| anyhow::anyhow!("six statements"))?;
        Ok(Writer {
            client,
            rng: StdRng::seed_from_u64(seed),
            step: 0,
            productions,
            tasks,
            budgets,
            crew,
            inserted: Vec::new(),
            statements,
            updates: 0,
            probes: None,
        })
    }

    /// Runs `n` writes, recording each one's latency (µs); returns the wall time.
    async fn run(&mut self, n: u32, h: &mut Histogram<u64>) -> anyhow::Result<Duration> {
        let started = Instant::now();
        for _ in 0..n {
            let kind = (self.step % 6) as usize;
            let step = self.step as i64;
            self.step += 1;
            let pick = |rng: &mut StdRng, ids: &[Uuid]| ids[rng.random_range(0..ids.len())];
            let id = match kind {
                0 | 4 => pick(&mut self.rng, &self.productions),
                1 => pick(&mut self.rng, &self.tasks),
                2 => pick(&mut self.rng, &self.budgets),
                3 => pick(&mut self.rng, &self.crew),
                _ => match self.inserted.pop() {
                    Some(id) => id,
                    None => pick(&mut self.rng, &self.tasks),
                },
            };
            let params: [&(dyn ToSql + Sync); 2] = [&id, &step];
            let t = Instant::now();
            if kind == 0 {
                let row = self
                    .client
                    .query_one(&self.statements[kind], &params)
                    .await
                    .context("legacy write")?;
                self.inserted.push(row.get(0));
            } else {
                self.client
                    .execute(&self.statements[kind], &params)
                    .await
                    .context("legacy write")?;
            }
            h.record((t.elapsed().as_micros() as u64).max(1))
                .context("recording a latency")?;
            if let (Some(probes), 1..=3) = (&self.probes, kind) {
                self.updates += 1;
                if self.updates % LAG_SAMPLE == 0 {
                    let table = ["tasks", "budgets", "crew"][kind - 1];
                    // the prober ends only when the round drops the sender
                    let _ = probes.send((Instant::now(), table, id));
                }
            }
        }
        Ok(started.elapsed())
    }

    /// Folds every pending roll-up delta, as `showtree serve` does.
    async fn fold(&self) -> anyhow::Result<()> {
        self.client
            .query_one("select private.rollup_fold_all(1000000)", &[])
            .await
            .context("folding the roll-up deltas")
            .map(|_| ())
    }

    /// Enables the import's triggers of `side` on every legacy table, and
    /// disables the others.
    async fn triggers(&self, side: Side) -> anyhow::Result<()> {
        let update = format!("{DUAL_WRITE}_update");
        let on: &[&str] = match side {
            Side::Sync => &[DUAL_WRITE, &update, DUAL_WRITE_DELETE],
            Side::Async | Side::Capture => &[CAPTURE],
            Side::Without => &[],
        };
        let mut sql = String::new();
        for t in LEGACY_TABLES {
            sql += &format!("alter table public.{t} disable trigger user;\n");
            for trg in on {
                sql += &format!(
                    "alter table public.{t} enable trigger {};\n",
                    hierarchy::quote_ident(trg)
                );
            }
        }
        self.client
            .batch_execute(&sql)
            .await
            .context("switching the dual-write triggers")
    }
}
