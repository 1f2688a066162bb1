//! `showtree import backfill`: copies every legacy row, mapping by mapping
//! in dependency order, in batches in primary-key order, one transaction
//! per batch that also records the batch's last key: a killed run resumes
//! after the last committed batch, and every write is an upsert keyed by
//! the id map, so nothing is ever copied twice.
//!
//! Before the first row is read, a trigger on every legacy table starts
//! recording the key of each row written; dual-write (or the catch-up at
//! the end of this command) copies those rows again from their final
//! state, which makes the result exact however the old application writes
//! meanwhile.
//!
//! Mappings are copied on two connections, each as soon as its
//! dependencies are, and the secondary indexes of target tables that are
//! empty at the start are dropped for the copy and built again as soon as
//! the copy has filled their table, while other mappings still copy
//! (crate::indexes): both keep the resumability, since every batch and
//! every index build is a transaction that records what it did.
//!
//! Showtree's own triggers (audit, actor, updated_at, status transitions)
//! and foreign-key checks are off for domain rows (`session_replication_role
//! = replica`): the import writes every column they would maintain from the
//! legacy row, and `validate` checks every reference afterwards. Nodes are
//! written with their triggers on (ancestry, detail rows).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_postgres::{Client, Transaction};

use crate::plan::{Plan, Unit, UnitKind};
use crate::report::Report;
use crate::sql::{ident, lit, own};
use crate::sqlgen::{self, KeyRange, OnProblem};
use crate::state::{self, Phase, Session};
use crate::{ImportError, check, dualwrite, indexes, progress};

/// Options of `showtree import backfill`.
#[derive(Debug, Clone, clap::Args)]
pub struct BackfillArgs {
    /// At most this many legacy rows per second (0: as fast as it goes).
    #[arg(long, default_value_t = 0)]
    pub rows_per_second: u64,
    /// Legacy rows per batch (one transaction each).
    #[arg(long, default_value_t = DEFAULT_BATCH, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
    /// Scan the whole legacy data for bad rows before copying anything
    /// (expand has just scanned it; without this, every batch classifies
    /// its own rows, and the first bad row met stops the backfill with a
    /// scan that reports every bad row).
    #[arg(long)]
    pub preflight: bool,
}

/// Default of `--batch-size`.
pub const DEFAULT_BATCH: u64 = 5_000;

impl Default for BackfillArgs {
    fn default() -> Self {
        BackfillArgs {
            rows_per_second: 0,
            batch_size: DEFAULT_BATCH,
            preflight: false,
        }
    }
}

/// What a backfill run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Legacy rows read in this run.
    pub legacy_rows: u64,
    /// showtree rows (and nodes) written in this run.
    pub written: u64,
    /// Whether it continued an interrupted run.
    pub resumed: bool,
    /// Time spent scanning for bad rows first.
    pub preflight: Duration,
    /// Time spent copying, until the last batch (index builds and
    /// statistics of the tables filled meanwhile included).
    pub copy: Duration,
    /// Changes made meanwhile, copied again at the end.
    pub caught_up: u64,
    /// Roll-up delta rows appended for the imported nodes at the end.
    pub rollup_deltas: i64,
    /// Secondary indexes of empty target tables dropped for the copy.
    pub indexes_set_aside: u64,
    /// Indexes built again after the copy (this run's and a killed run's).
    pub indexes_built: u64,
    /// Time the builds took beyond the copy's end (most run alongside it).
    pub index_builds: Duration,
    /// Time spent after copying and building indexes: the statistics left,
    /// the catch-up and the roll-ups.
    pub finish: Duration,
    /// Already finished before this run.
    pub already_done: bool,
}

impl Summary {
    /// Legacy rows copied per second of copying.
    pub fn rows_per_second(&self) -> f64 {
        self.legacy_rows as f64 / self.copy.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.already_done {
            return write!(f, "backfill: already done");
        }
        write!(
            f,
            "backfill {}: {} legacy rows copied ({} showtree rows written) in {:.1} s ({:.0} rows/s); preflight {:.1} s; {} indexes built again in {:.1} s; {} changes made meanwhile caught up and {} roll-up deltas appended in {:.1} s",
            if self.resumed {
                "resumed and finished"
            } else {
                "finished"
            },
            self.legacy_rows,
            self.written,
            self.copy.as_secs_f64(),
            self.rows_per_second(),
            self.preflight.as_secs_f64(),
            self.indexes_built,
            self.index_builds.as_secs_f64(),
            self.caught_up,
            self.rollup_deltas,
            self.finish.as_secs_f64()
        )
    }
}

/// Runs (or resumes) the backfill.
pub async fn backfill(session: &mut Session, args: &BackfillArgs) -> Result<Summary, ImportError> {
    let st = session.require().await?;
    let mut summary = Summary::default();
    match st.phase {
        Phase::Expanded | Phase::Backfilling => {}
        Phase::Backfilled | Phase::DualWrite | Phase::Cutover => {
            summary.already_done = true;
            return Ok(summary);
        }
        other => {
            return Err(ImportError::State(format!(
                "backfill follows expand; the import is at {}",
                other.as_str()
            )));
        }
    }
    let plan = session.plan(&st).await?;
    summary.resumed = st.phase == Phase::Backfilling;
    if args.preflight {
        let started = Instant::now();
        preflight(&mut session.client, &plan).await?;
        summary.preflight = started.elapsed();
    }
    if st.phase == Phase::Expanded {
        if let Some(l) = &session.legacy {
            // committed before the phase moves on: rerunning the backfill
            // (or rolling back expand) finds or removes them
            // creating a trigger holds its table against writers: with a
            // short lock timeout, tried again while they are busy, so that
            // no legacy write fails on a deadlock with it
            let on_legacy = state::on_legacy_side(&plan, &st)?;
            let install = format!(
                "{}{}",
                dualwrite::BUSY_LOCK_TIMEOUT,
                sqlgen::capture_triggers(&on_legacy)
            );
            dualwrite::while_busy(|| {
                l.in_transaction(
                    &install,
                    "installing the change capture on the legacy tables (in the legacy database)",
                )
            })
            .await?;
        }
        let install = format!(
            "{}{}",
            dualwrite::BUSY_LOCK_TIMEOUT,
            sqlgen::capture_triggers(&plan)
        );
        let mut attempt = 0;
        let tx = loop {
            attempt += 1;
            let tx = session
                .client
                .transaction()
                .await
                .map_err(ImportError::db("starting the backfill"))?;
            if session.legacy.is_some() {
                break tx;
            }
            // as above, in this database
            match tx.batch_execute(&install).await {
                Ok(()) => break tx,
                Err(e) if attempt < dualwrite::BUSY_ATTEMPTS && dualwrite::busy(&e) => {
                    drop(tx);
                    dualwrite::busy_pause(attempt).await;
                }
                Err(e) => {
                    return Err(ImportError::db(
                        "installing the change capture on the legacy tables",
                    )(e));
                }
            }
        };
        // dropping an index waits for every reader of its table; only
        // showtree's tables are locked from here on, and no legacy writer
        // can hold one of them while we hold its tables (its capture
        // trigger, the only thing it writes here, is new), so no legacy
        // write can deadlock with this longer wait
        tx.batch_execute("set local lock_timeout = '10s'")
            .await
            .map_err(ImportError::db("setting a lock timeout"))?;
        let (n, tables) = indexes::set_aside(&tx, &plan).await?;
        summary.indexes_set_aside = n;
        state::set_phase(&tx, Phase::Backfilling).await?;
        state::record(&tx, "backfill", "started", "").await?;
        if n > 0 {
            state::record(&tx, "backfill", "indexes set aside", &tables).await?;
        }
        tx.commit()
            .await
            .map_err(ImportError::db("committing the backfill's start"))?;
    } else {
        state::record(&session.client, "backfill", "resumed", "").await?;
    }

    let progress = read_progress(session).await?;
    let mut left: Vec<(&Unit, Option<String>, u64)> = Vec::new();
    let mut finished: BTreeSet<&str> = BTreeSet::new();
    for u in &plan.units {
        let (last, done) = progress.get(&u.name).cloned().unwrap_or((None, false));
        if done {
            finished.insert(&u.name);
        } else {
            let n = count_after(session, &plan, u, last.as_deref()).await?;
            left.push((u, last, n));
        }
    }
    let set_aside = indexes::pending(&session.client).await?;
    summary.indexes_built = set_aside.len() as u64;
    let bar = progress::rows(left.iter().map(|l| l.2).sum(), "backfill");
    let started = Instant::now();
    let batch = if args.rows_per_second > 0 {
        args.batch_size.min((args.rows_per_second / 4).max(1))
    } else {
        args.batch_size
    };
    // a throttled run copies on one connection (the throttle is a total)
    let mut second = if args.rows_per_second == 0 && left.len() + set_aside.len() > 1 {
        Some(state::connect(&session.url).await?)
    } else {
        None
    };
    let copy = Copy {
        plan: &plan,
        batch,
        rows_per_second: args.rows_per_second,
        started,
        bar: &bar,
        totals: Mutex::new((0, 0)),
        stop: AtomicBool::new(false),
        work: Mutex::new(Work::new(&plan, left, finished, set_aside)),
        changed: Notify::new(),
    };
    // every unit as soon as its dependencies are copied, each table's
    // indexes and statistics as soon as it is filled, on two connections
    let worked = match second.as_mut() {
        Some(other) => {
            let (a, b) = tokio::join!(copy.work(&mut session.client), copy.work(other));
            a.and(b)
        }
        None => copy.work(&mut session.client).await,
    };
    match worked {
        Ok(()) => {}
        Err(Stop::Halt(u, halt)) => {
            return Err(report(&mut session.client, &plan, u, halt).await);
        }
        Err(Stop::Failed(e)) => return Err(e),
    }
    let work = copy.work.into_inner().unwrap_or_else(|e| e.into_inner());
    if !work.waiting.is_empty() {
        return Err(ImportError::State(
            "the mappings depend on each other in a cycle".to_owned(),
        ));
    }
    (summary.legacy_rows, summary.written) = *copy.totals.lock().unwrap_or_else(|e| e.into_inner());
    let copied = work.copied.unwrap_or(started);
    summary.copy = copied.duration_since(started);
    // what the builds took beyond the copy (most of them ran alongside it)
    let built = work.built.map_or(copied, |b| b.max(copied));
    summary.index_builds = built.duration_since(copied);
    bar.finish_and_clear();
    let finishing = built;
    // rows changed meanwhile, copied again from their current state
    summary.caught_up = dualwrite::drain(&mut session.client, &plan).await?;
    // the batches wrote with showtree's triggers off: the roll-up figures
    // of every imported node (later writes reconcile their nodes), half
    // of the organizations on each connection, each half committed on its
    // own: appending the difference between rows and store is idempotent,
    // so a run killed after one half reconciles again to the same figures
    if let Some(orgs) = plan.unit_of(UnitKind::Organization) {
        let half = |part: i32| {
            format!(
                "select {}(array(select o.org_id from (select org_id, ntile(2) over (order by org_id) as part from {}) o where o.part = {part}))",
                own("rollup_reconcile_orgs"),
                orgs.map_table()
            )
        };
        summary.rollup_deltas = match second.as_ref() {
            Some(other) => {
                let (a, b) = tokio::try_join!(
                    reconcile(&session.client, half(1)),
                    reconcile(other, half(2))
                )?;
                a + b
            }
            None => {
                reconcile(&session.client, half(1)).await?
                    + reconcile(&session.client, half(2)).await?
            }
        };
    }
    drop(second);
    let tx = session
        .client
        .transaction()
        .await
        .map_err(ImportError::db("finishing the backfill"))?;
    state::set_phase(&tx, Phase::Backfilled).await?;
    state::record(
        &tx,
        "backfill",
        "finished",
        &format!("{} legacy rows in this run", summary.legacy_rows),
    )
    .await?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing the backfill's end"))?;
    summary.finish = finishing.elapsed();
    Ok(summary)
}

/// Why a batch stopped the copy.
enum Halt {
    /// A database call failed.
    Failed(ImportError),
    /// The batch `pred` has rows with problems (it was rolled back).
    BadRows(String),
    /// showtree's schema refused the batch `pred` (it was rolled back).
    Refused(String, tokio_postgres::Error),
}

impl From<ImportError> for Halt {
    fn from(e: ImportError) -> Halt {
        Halt::Failed(e)
    }
}

/// The error a halt becomes: the report of the bad or refused rows, made
/// once no other connection copies (its scan would race their writes).
async fn report(client: &mut Client, plan: &Plan, u: &Unit, halt: Halt) -> ImportError {
    match halt {
        Halt::Failed(e) => e,
        Halt::BadRows(pred) => every_bad_row(client, plan, u, &pred).await,
        Halt::Refused(pred, e) => failed_rows(client, plan, u, &pred, e).await,
    }
}

/// What the copy's connections share.
struct Copy<'a> {
    plan: &'a Plan,
    batch: u64,
    rows_per_second: u64,
    started: Instant,
    bar: &'a indicatif::ProgressBar,
    /// Legacy rows read and showtree rows written so far.
    totals: Mutex<(u64, u64)>,
    /// Set by a connection that halted: the other stops after its batch.
    stop: AtomicBool,
    /// What is left to do, and what it waits for.
    work: Mutex<Work<'a>>,
    /// Signalled when a job ends (it may have made others ready).
    changed: Notify,
}

/// Why a connection stopped working.
enum Stop<'a> {
    /// A batch of this unit stopped the copy.
    Halt(&'a Unit, Halt),
    /// An index build or an analyze failed.
    Failed(ImportError),
}

/// One piece of the backfill's work, on one connection.
enum Job<'a> {
    /// Copy a unit from after its last copied key.
    Copy(&'a Unit, Option<String>),
    /// Build a set-aside index again (its table is filled).
    Build(indexes::SetAside),
    /// Analyze a table (filled, its indexes built).
    Analyze(String),
}

/// A table the backfill writes or builds indexes of.
#[derive(Debug, Default)]
struct TableWork {
    /// Units writing it (its target or id map) not finished yet.
    units: usize,
    /// Its set-aside indexes not built yet.
    builds: usize,
    /// Its indexes waiting for the units to finish.
    held: Vec<indexes::SetAside>,
    /// Whether it is analyzed once filled (the targets and id maps).
    analyze: bool,
}

/// The backfill's work: units wait for their dependencies, a table's index
/// builds for the units writing it, its analyze for its builds.
struct Work<'a> {
    plan: &'a Plan,
    /// Units not started: last copied key, and the rows left on their
    /// longest chain of dependent units (the order they start in).
    waiting: Vec<(&'a Unit, Option<String>, u64)>,
    finished: BTreeSet<&'a str>,
    tables: BTreeMap<String, TableWork>,
    builds: VecDeque<indexes::SetAside>,
    analyzes: VecDeque<String>,
    /// Jobs running now.
    running: usize,
    /// A hierarchy unit is being copied (they go one at a time: their
    /// triggers write the nodes of one tree).
    hierarchy: bool,
    /// When the last unit was copied, and the last index built.
    copied: Option<Instant>,
    built: Option<Instant>,
}

/// The two tables a unit writes: its target and its id map.
fn written(u: &Unit) -> [String; 2] {
    [u.target_table(), u.map_table()]
}

impl<'a> Work<'a> {
    fn new(
        plan: &'a Plan,
        left: Vec<(&'a Unit, Option<String>, u64)>,
        finished: BTreeSet<&'a str>,
        set_aside: Vec<indexes::SetAside>,
    ) -> Work<'a> {
        let mut tables: BTreeMap<String, TableWork> = BTreeMap::new();
        for u in &plan.units {
            for t in written(u) {
                tables.entry(t).or_default().analyze = true;
            }
        }
        for (u, _, _) in &left {
            for t in written(u) {
                tables.entry(t).or_default().units += 1;
            }
        }
        for ix in set_aside {
            let t = tables.entry(ix.table()).or_default();
            t.builds += 1;
            t.held.push(ix);
        }
        // rows on each unit's longest chain of units waiting for it
        let rows: BTreeMap<&str, u64> =
            left.iter().map(|(u, _, n)| (u.name.as_str(), *n)).collect();
        let mut chain: BTreeMap<&str, u64> = BTreeMap::new();
        for u in plan.units.iter().rev() {
            let after = plan
                .units
                .iter()
                .filter(|v| v.name != u.name && v.deps.contains(&u.name))
                .filter_map(|v| chain.get(v.name.as_str()))
                .max()
                .copied()
                .unwrap_or(0);
            let own = rows.get(u.name.as_str()).copied().unwrap_or(0);
            chain.insert(&u.name, own + after);
        }
        let waiting = left
            .into_iter()
            .map(|(u, last, _)| (u, last, chain.get(u.name.as_str()).copied().unwrap_or(0)))
            .collect();
        let mut work = Work {
            plan,
            waiting,
            finished,
            tables,
            builds: VecDeque::new(),
            analyzes: VecDeque::new(),
            running: 0,
            hierarchy: false,
            copied: None,
            built: None,
        };
        let names: Vec<String> = work.tables.keys().cloned().collect();
        for t in names {
            work.release(&t);
        }
        work
    }

    /// Table `t`'s builds once no unit writes it any more, its analyze
    /// once they are built too.
    fn release(&mut self, t: &str) {
        let Some(w) = self.tables.get_mut(t) else {
            return;
        };
        if w.units > 0 {
            return;
        }
        self.builds.extend(w.held.drain(..));
        if w.builds == 0 && w.analyze {
            w.analyze = false;
            self.analyzes.push_back(t.to_owned());
        }
    }

    /// The next job: a unit whose dependencies are copied (the hierarchy
    /// first, then the longest chain), else an index build, else an analyze.
    fn next(&mut self) -> Option<Job<'a>> {
        let ready = |u: &Unit| {
            u.deps.iter().all(|d| {
                d == &u.name || self.finished.contains(d.as_str()) || self.plan.unit(d).is_none()
            }) && (u.kind == UnitKind::Rows || !self.hierarchy)
        };
        let pick = self
            .waiting
            .iter()
            .enumerate()
            .filter(|(_, (u, _, _))| ready(u))
            .max_by_key(|(_, (u, _, chain))| (u.kind != UnitKind::Rows, *chain))
            .map(|(i, _)| i);
        let job = if let Some(i) = pick {
            let (u, last, _) = self.waiting.swap_remove(i);
            if u.kind != UnitKind::Rows {
                self.hierarchy = true;
            }
            Job::Copy(u, last)
        } else if let Some(ix) = self.builds.pop_front() {
            Job::Build(ix)
        } else {
            Job::Analyze(self.analyzes.pop_front()?)
        };
        self.running += 1;
        Some(job)
    }

    /// Records a job done.
    fn done(&mut self, job: &Job<'a>) {
        self.running -= 1;
        match job {
            Job::Copy(u, _) => {
                self.finished.insert(&u.name);
                if u.kind != UnitKind::Rows {
                    self.hierarchy = false;
                }
                for t in written(u) {
                    if let Some(w) = self.tables.get_mut(&t) {
                        w.units -= 1;
                    }
                    self.release(&t);
                }
                if self.waiting.is_empty() && !self.copying() {
                    self.copied = Some(Instant::now());
                }
            }
            Job::Build(ix) => {
                let t = ix.table();
                if let Some(w) = self.tables.get_mut(&t) {
                    w.builds -= 1;
                }
                self.release(&t);
                self.built = Some(Instant::now());
            }
            Job::Analyze(_) => {}
        }
    }

    /// Whether a unit is still being copied.
    fn copying(&self) -> bool {
        self.tables.values().any(|w| w.units > 0)
    }
}

impl<'a> Copy<'a> {
    /// Takes jobs as they become ready, on `client`, until none is left
    /// (or the other connection stopped).
    async fn work(&self, client: &mut Client) -> Result<(), Stop<'a>> {
        loop {
            let job = loop {
                // registered before looking, so no signal is missed
                let changed = self.changed.notified();
                {
                    // a poisoned lock only means the other connection panicked
                    let mut work = self.work.lock().unwrap_or_else(|e| e.into_inner());
                    if self.stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    if let Some(job) = work.next() {
                        break job;
                    }
                    if work.running == 0 {
                        // nothing left (or a cycle: the caller reports it)
                        self.changed.notify_waiters();
                        return Ok(());
                    }
                }
                changed.await;
            };
            let result = match &job {
                Job::Copy(u, last) => self
                    .unit(client, u, last.clone())
                    .await
                    .map_err(|(u, halt)| Stop::Halt(u, halt)),
                Job::Build(ix) => {
                    self.bar.set_message(format!("index {}", ix.name));
                    indexes::build(client, ix).await.map_err(Stop::Failed)
                }
                Job::Analyze(t) => {
                    self.bar.set_message(format!("analyze {t}"));
                    client
                        .batch_execute(&format!("analyze {t}"))
                        .await
                        .map_err(ImportError::db("analyzing the tables the copy filled"))
                        .map_err(Stop::Failed)
                }
            };
            if let Err(stop) = result {
                self.stop.store(true, Ordering::Relaxed);
                self.changed.notify_waiters();
                return Err(stop);
            }
            if self.stop.load(Ordering::Relaxed) {
                // the other connection halted: this unit may be unfinished
                self.changed.notify_waiters();
                return Ok(());
            }
            self.work
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .done(&job);
            self.changed.notify_waiters();
        }
    }

    /// Copies one unit, batch after batch, from after `last` (until the
    /// other connection halts).
    async fn unit(
        &self,
        client: &mut Client,
        u: &'a Unit,
        mut last: Option<String>,
    ) -> Result<(), (&'a Unit, Halt)> {
        self.bar.set_message(u.name.clone());
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let step = match copy_batch(client, self.plan, u, last.as_deref(), self.batch).await {
                Ok(step) => step,
                Err(halt) => {
                    self.stop.store(true, Ordering::Relaxed);
                    return Err((u, halt));
                }
            };
            let Some((hi, read, written)) = step else {
                return Ok(());
            };
            let r = {
                let mut t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
                *t = (t.0 + read, t.1 + written);
                t.0
            };
            self.bar.inc(read);
            last = Some(hi);
            if self.rows_per_second > 0 {
                let due = Duration::from_secs_f64(r as f64 / self.rows_per_second as f64);
                let elapsed = self.started.elapsed();
                if due > elapsed {
                    tokio::time::sleep(due - elapsed).await;
                }
            }
        }
    }
}

/// Runs one roll-up reconciliation statement; the delta rows it appended.
async fn reconcile(c: &Client, sql: String) -> Result<i64, ImportError> {
    c.query_one(&sql, &[])
        .await
        .map_err(ImportError::db("reconciling the roll-ups"))
        .map(|r| r.get(0))
}

/// Every bad row of the data, before anything is written (the scan runs in
/// a transaction that is rolled back).
async fn preflight(client: &mut Client, plan: &Plan) -> Result<(), ImportError> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .start()
        .await
        .map_err(ImportError::db("starting the preflight"))?;
    let mut report = Report::default();
    check::data(&tx, plan, &mut report).await?;
    tx.rollback()
        .await
        .map_err(ImportError::db("ending the preflight"))?;
    if report.is_clean() {
        Ok(())
    } else {
        Err(ImportError::Problems(Box::new(report)))
    }
}

async fn read_progress(
    session: &Session,
) -> Result<BTreeMap<String, (Option<String>, bool)>, ImportError> {
    Ok(session
        .client
        .query(
            &format!("select mapping, last_key, done from {}", own("progress")),
            &[],
        )
        .await
        .map_err(ImportError::db("reading progress"))?
        .into_iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect())
}

fn after(u: &Unit, last: Option<&str>) -> String {
    match last {
        Some(k) => format!("t.{} > {}::{}", ident(&u.pk), lit(k), u.pk_type),
        None => "true".to_owned(),
    }
}

async fn count_after(
    session: &Session,
    plan: &Plan,
    u: &Unit,
    last: Option<&str>,
) -> Result<u64, ImportError> {
    // from the start, the planner's estimate when the table has one: the
    // count only sizes the progress bar and orders the units (counting
    // every legacy table is one more scan of each before the copy)
    let count = format!(
        "select count(*) from {} t where {}",
        plan.legacy(&u.source),
        after(u, last)
    );
    let sql = if last.is_none() {
        format!(
            "select coalesce((select c.reltuples::bigint from pg_catalog.pg_class c
                                where c.oid = {}::regclass and c.reltuples >= 0), ({count}))",
            lit(&plan.legacy(&u.source))
        )
    } else {
        count
    };
    let n: i64 = session
        .client
        .query_one(&sql, &[])
        .await
        .map_err(ImportError::db("counting legacy rows"))?
        .get(0);
    Ok(n as u64)
}

/// Copies the next batch after `last`; None when there is none (the unit
/// is then marked done). Returns the batch's last key, rows read, rows written.
async fn copy_batch(
    client: &mut Client,
    plan: &Plan,
    u: &Unit,
    last: Option<&str>,
    batch: u64,
) -> Result<Option<(String, u64, u64)>, Halt> {
    let tx = client
        .transaction()
        .await
        .map_err(ImportError::db("starting a batch"))?;
    let lo = after(u, last);
    let row = tx
        .query_one(
            &format!(
                "with s as (select t.{pk} as k from {legacy} t where {lo} order by t.{pk} limit {batch})
                 select (select k::text from s order by k desc limit 1), (select count(*) from s)",
                pk = ident(&u.pk),
                legacy = plan.legacy(&u.source),
            ),
            &[],
        )
        .await
        .map_err(ImportError::db("finding the next batch"))?;
    let read: i64 = row.get(1);
    let Some(hi) = row.get::<_, Option<String>>(0) else {
        tx.execute(
            &format!(
                "update {} set done = true where mapping = $1",
                own("progress")
            ),
            &[&u.name],
        )
        .await
        .map_err(ImportError::db("recording progress"))?;
        tx.commit()
            .await
            .map_err(ImportError::db("committing progress"))?;
        return Ok(None);
    };
    let pred = format!("{lo} and t.{} <= {}::{}", ident(&u.pk), lit(&hi), u.pk_type);
    let written = match u.kind {
        UnitKind::Rows => {
            // a crash loses at most the last batches, and their progress
            // with them (it is recorded in the batch's transaction). Hash
            // joins, as before: a run at scale 0.05 with nested loops allowed
            // and batches of 10,000 copied 8,500 rows/s against 11,600 with
            // neither (noisy machine, not isolated further). No JIT: a
            // tasks batch of 5,000 rows was planned at a cost of 86,000, under
            // `jit_above_cost` (100,000) only just; a larger `--batch-size`
            // or wider mapping would compile every batch's expressions anew
            // (its plan is not cached), for a statement that runs in tens of
            // milliseconds
            tx.batch_execute(
                "set local session_replication_role = replica; set local synchronous_commit = off;
                 set local enable_nestloop = off; set local jit = off",
            )
            .await
            .map_err(ImportError::db(
                "turning showtree's triggers off for the batch",
            ))?;
            match tx
                .query_one(
                    &sqlgen::upsert(
                        plan,
                        u,
                        &pred,
                        OnProblem::Count(KeyRange {
                            after: last,
                            through: &hi,
                        }),
                    ),
                    &[],
                )
                .await
            {
                Ok(r) => {
                    // deferred rows (r.get(2)) wait in the change log
                    let (w, b): (i64, i64) = (r.get(0), r.get(1));
                    if b > 0 {
                        let _ = tx.rollback().await;
                        return Err(Halt::BadRows(pred));
                    }
                    w as u64
                }
                Err(e) => {
                    let _ = tx.rollback().await;
                    return Err(Halt::Refused(pred, e));
                }
            }
        }
        _ => {
            let problems = tx
                .query(&sqlgen::problems_select(plan, u, &pred), &[])
                .await
                .map_err(ImportError::db("checking a batch"))?;
            let hard = problems.iter().any(|r| {
                r.get::<_, Vec<String>>(1)
                    .iter()
                    .any(|p| !p.starts_with(sqlgen::UNRESOLVED))
            });
            if hard {
                let _ = tx.rollback().await;
                return Err(Halt::BadRows(pred));
            }
            // waiting for an owner copied later: the catch-up takes them
            let deferred: Vec<String> = problems.iter().map(|r| r.get(0)).collect();
            if !deferred.is_empty() {
                tx.execute(
                    &format!(
                        "insert into {} (legacy_table, legacy_id) select $1, unnest($2::text[])",
                        own("changes")
                    ),
                    &[&u.source, &deferred],
                )
                .await
                .map_err(ImportError::db("deferring rows to the catch-up"))?;
            }
            let sql = format!(
                "select {}(array(select t.{pk} from {legacy} t where {pred} order by t.{pk}))",
                sqlgen::sync_fn(u),
                pk = ident(&u.pk),
                legacy = plan.legacy(&u.source),
            );
            if let Err(e) = tx.execute(&sql, &[]).await {
                let _ = tx.rollback().await;
                return Err(Halt::Refused(pred, e));
            }
            read as u64
        }
    };
    tx.execute(
        &format!(
            "update {} set last_key = $2, rows = rows + $3 where mapping = $1",
            own("progress")
        ),
        &[&u.name, &hi, &read],
    )
    .await
    .map_err(ImportError::db("recording progress"))?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing a batch"))?;
    Ok(Some((hi, read as u64, written)))
}

/// A batch met bad rows: the report of every bad row of the data (the
/// preflight's scan, now), or of the batch's when the scan finds none (a
/// row gone bad after the batch looked).
async fn every_bad_row(client: &mut Client, plan: &Plan, u: &Unit, pred: &str) -> ImportError {
    match preflight(client, plan).await {
        Err(ImportError::Problems(mut report)) => {
            report.notes.push(format!(
                "the backfill stopped in mapping {}; batches before it stay copied (showtree import rollback removes them)",
                u.name
            ));
            ImportError::Problems(report)
        }
        Err(e) => e,
        Ok(()) => bad_rows(client, plan, u, pred).await,
    }
}

/// The report of the rows with problems in a batch's range.
async fn bad_rows(client: &Client, plan: &Plan, u: &Unit, pred: &str) -> ImportError {
    let rows = match client
        .query(&sqlgen::problems_select(plan, u, pred), &[])
        .await
    {
        Ok(rows) => rows,
        Err(e) => return ImportError::db("listing a batch's bad rows")(e),
    };
    let mut report = Report::default();
    report.add_rows(
        &u.name,
        &u.source,
        rows.into_iter().map(|r| (r.get(0), r.get(1))).collect(),
    );
    report.notes.push(format!(
        "the backfill stopped in mapping {}; batches before it stay copied (showtree import rollback removes them)",
        u.name
    ));
    ImportError::Problems(Box::new(report))
}

/// A batch the database refused (a constraint of showtree's schema): every
/// row of the range is tried alone to name those it refuses.
async fn failed_rows(
    client: &mut Client,
    plan: &Plan,
    u: &Unit,
    pred: &str,
    first: tokio_postgres::Error,
) -> ImportError {
    match probe(client, plan, u, pred).await {
        Ok(rows) if !rows.is_empty() => {
            let mut report = Report::default();
            report.add_rows(&u.name, &u.source, rows);
            report.notes.push(format!(
                "showtree's schema refused these rows of mapping {}; nothing of the batch was written",
                u.name
            ));
            ImportError::Problems(Box::new(report))
        }
        Ok(_) => ImportError::db_at(format!("copying a batch of {}", u.name))(first),
        Err(e) => e,
    }
}

async fn probe(
    client: &mut Client,
    plan: &Plan,
    u: &Unit,
    pred: &str,
) -> Result<Vec<(String, Vec<String>)>, ImportError> {
    let tx = client
        .transaction()
        .await
        .map_err(ImportError::db("probing a batch"))?;
    let ids: Vec<String> = tx
        .query(
            &format!(
                "select t.{pk}::text from {legacy} t where {pred} order by t.{pk}",
                pk = ident(&u.pk),
                legacy = plan.legacy(&u.source)
            ),
            &[],
        )
        .await
        .map_err(ImportError::db("listing a batch"))?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    if u.kind == UnitKind::Rows {
        tx.batch_execute("set local session_replication_role = replica")
            .await
            .map_err(ImportError::db("probing a batch"))?;
    }
    let mut refused = Vec::new();
    for id in ids {
        let one = format!("t.{} = {}::{}", ident(&u.pk), lit(&id), u.pk_type);
        let sql = match u.kind {
            // (audited as a batch of its own key: the probe rolls back)
            UnitKind::Rows => sqlgen::upsert(
                plan,
                u,
                &one,
                OnProblem::Count(KeyRange {
                    after: None,
                    through: &id,
                }),
            ),
            _ => format!(
                "select {}(array[{}::{}])",
                sqlgen::sync_fn(u),
                lit(&id),
                u.pk_type
            ),
        };
        if let Err(e) = savepointed(&tx, &sql).await {
            refused.push((id, vec![showtree_db::connect::describe(&e)]));
        }
    }
    let _ = tx.rollback().await;
    Ok(refused)
}

async fn savepointed(tx: &Transaction<'_>, sql: &str) -> Result<(), tokio_postgres::Error> {
    tx.batch_execute("savepoint probe").await?;
    match tx.batch_execute(sql).await {
        Ok(()) => tx.batch_execute("release savepoint probe").await,
        Err(e) => {
            tx.batch_execute("rollback to savepoint probe").await?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{FLAT_MAPPING, Mapping};

    fn unit(name: &str, kind: UnitKind, table: &str, deps: &[&str]) -> Unit {
        Unit {
            name: name.to_owned(),
            source: name.to_owned(),
            pk: "id".to_owned(),
            pk_type: "uuid".to_owned(),
            kind,
            target: ("showtree".to_owned(), table.to_owned()),
            tenant: true,
            has_node: true,
            columns: Vec::new(),
            joins: Vec::new(),
            org_expr: "null::uuid".to_owned(),
            node_expr: "null::uuid".to_owned(),
            problems: Vec::new(),
            filter: None,
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
            extra: BTreeMap::new(),
            reads: BTreeSet::new(),
        }
    }

    fn index(table: &str) -> indexes::SetAside {
        indexes::SetAside {
            schema: "showtree".to_owned(),
            name: format!("{table}_x"),
            table: table.to_owned(),
            definition: String::new(),
            comment: None,
        }
    }

    fn plan() -> Plan {
        Plan {
            mapping: Mapping::parse(FLAT_MAPPING).expect("the example mapping"),
            schema: "public".to_owned(),
            units: vec![
                unit("organizations", UnitKind::Organization, "nodes", &[]),
                unit("tasks", UnitKind::Rows, "tasks", &["organizations"]),
                unit("invoices", UnitKind::Rows, "invoices", &["organizations"]),
                unit("lines", UnitKind::Rows, "invoice_lines", &["invoices"]),
            ],
        }
    }

    fn name(job: Option<Job<'_>>) -> String {
        match job {
            Some(Job::Copy(u, _)) => u.name.clone(),
            Some(Job::Build(ix)) => format!("build {}", ix.name),
            Some(Job::Analyze(t)) => format!("analyze {t}"),
            None => "none".to_owned(),
        }
    }

    #[test]
    fn units_start_with_their_dependencies_and_tables_get_indexes_once_filled() {
        let plan = plan();
        let rows = [0, 50, 30, 30];
        let left = plan
            .units
            .iter()
            .zip(rows)
            .map(|(u, n)| (u, None, n))
            .collect();
        let mut w = Work::new(
            &plan,
            left,
            BTreeSet::new(),
            vec![index("tasks"), index("invoice_lines")],
        );
        // the hierarchy first; nothing else is ready meanwhile
        let org = w.next();
        assert_eq!(name(org), "organizations");
        assert_eq!(name(w.next()), "none");
        w.done(&Job::Copy(&plan.units[0], None));
        // the longest chain first: invoices and their lines (60 rows) before tasks (50)
        assert_eq!(name(w.next()), "invoices");
        assert_eq!(name(w.next()), "tasks");
        w.done(&Job::Copy(&plan.units[2], None));
        assert_eq!(name(w.next()), "lines");
        // tasks copied while the lines still copy: its index, then its statistics
        w.done(&Job::Copy(&plan.units[1], None));
        let build = w.next();
        assert_eq!(name(build), "build tasks_x");
        w.done(&Job::Build(index("tasks")));
        let mut analyzed = Vec::new();
        while let Some(job) = w.next() {
            analyzed.push(name(Some(job)));
        }
        assert!(
            analyzed.contains(&"analyze \"showtree\".\"tasks\"".to_owned()),
            "{analyzed:?}"
        );
        assert!(
            !analyzed
                .iter()
                .any(|a| a.contains("invoice_lines") || a.contains("build")),
            "{analyzed:?}"
        );
        assert!(w.copied.is_none(), "the lines are still being copied");
        w.done(&Job::Copy(&plan.units[3], None));
        assert!(w.copied.is_some());
        assert_eq!(name(w.next()), "build invoice_lines_x");
    }
}
