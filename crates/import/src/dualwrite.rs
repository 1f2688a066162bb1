//! `showtree import dual-write`: keeps showtree current with the legacy
//! tables, in one of two modes (recorded in the state, [`Mode`]):
//!
//! - synchronous (within one database, the default): triggers on the
//!   legacy tables carry every insert, update and delete into showtree, in
//!   the writer's transaction;
//! - asynchronous (`--async`; always from another database): the capture
//!   triggers of the backfill stay, and their change log is drained here,
//!   once or with `--follow` until interrupted ([`follow`]). A legacy write
//!   pays one insert into the log; showtree lags by the drain's delay.
//!
//! Synchronous mode:
//! Exactness: since the backfill started, a capture trigger has recorded
//! the key of every legacy row written. Enabling dual-write first drains
//! that log without blocking anyone (each drained key is copied again from
//! the row's current state), then, in one transaction holding a lock that
//! stops legacy writers (readers go on), replaces the capture triggers by
//! the dual-write triggers and drains what is left. Every change is thus
//! either in the log (and copied from a state at least as new as itself) or
//! made after the switch (and copied by its own trigger).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio_postgres::{Client, GenericClient, Transaction};

use crate::plan::{Plan, UnitKind};
use crate::sql::own;
use crate::sqlgen;
use crate::state::{self, Mode, Phase, Session};
use crate::{ImportError, validate};

/// Keys drained per transaction.
const DRAIN_BATCH: i64 = 5_000;
/// Below this many pending changes the switch happens.
const SWITCH_BELOW: i64 = 2_000;

/// Turns dual-write on; returns how many captured changes were caught up.
/// Synchronous within one database unless the import's dual-write is
/// already asynchronous ([`enable_async`]); across databases always
/// asynchronous: see [`catch_up`] and [`follow`].
pub async fn enable(session: &mut Session) -> Result<u64, ImportError> {
    let st = session.require().await?;
    if st.is_async() {
        return catch_up(session).await;
    }
    match st.phase {
        Phase::Backfilled => {}
        Phase::DualWrite => return Ok(0),
        Phase::Backfilling => {
            return Err(ImportError::State(
                "the backfill has not finished: run showtree import backfill (it resumes)"
                    .to_owned(),
            ));
        }
        other => {
            return Err(ImportError::State(format!(
                "dual-write follows the backfill; the import is at {}",
                other.as_str()
            )));
        }
    }
    let plan = session.plan(&st).await?;
    let mut caught = 0;
    // shrink the log without blocking anyone
    for _ in 0..20 {
        if pending(&session.client).await? < SWITCH_BELOW {
            break;
        }
        caught += drain(&mut session.client, &plan).await?;
    }
    caught += switch(
        &mut session.client,
        &plan,
        &[
            sqlgen::drop_capture_triggers(&plan),
            sqlgen::dual_write_triggers(&plan),
            state::set_mode_sql(Some(Mode::Sync)),
        ]
        .concat(),
        Phase::DualWrite,
        "dual-write",
    )
    .await?;
    Ok(caught)
}

/// Turns dual-write on asynchronously (`dual-write --async`): the capture
/// triggers stay and the change log is drained ([`catch_up`]); the mode is
/// recorded, so later commands ([`follow`], cutover, rollback) know it.
/// Refused when synchronous dual-write is already on (roll it back first).
pub async fn enable_async(session: &mut Session) -> Result<u64, ImportError> {
    let st = session.require().await?;
    if st.phase >= Phase::DualWrite && !st.is_async() {
        return Err(ImportError::State(format!(
            "dual-write is synchronous in this import (the import is at {}): to make it asynchronous, roll dual-write back (showtree import rollback) and run showtree import dual-write --async",
            st.phase.as_str()
        )));
    }
    catch_up(session).await
}

/// Pause of [`follow`] when the log is empty: it bounds showtree's lag
/// behind a legacy application that writes now and then (an empty drain
/// costs one index probe of the log).
pub const FOLLOW_IDLE: Duration = Duration::from_millis(100);

fn may_follow(phase: Phase) -> Result<(), ImportError> {
    match phase {
        Phase::Backfilled | Phase::DualWrite => Ok(()),
        Phase::Backfilling => Err(ImportError::State(
            "the backfill has not finished: run showtree import backfill (it resumes)".to_owned(),
        )),
        other => Err(ImportError::State(format!(
            "dual-write follows the backfill; the import is at {}",
            other.as_str()
        ))),
    }
}

/// Asynchronous dual-write, one shot: the capture triggers stay on (in
/// the legacy database, or here), and the change log is drained until a
/// round finds it empty (or ten rounds, under a legacy application that
/// never pauses); the phase becomes dual-write, asynchronous. Returns how
/// many changes it copied.
pub async fn catch_up(session: &mut Session) -> Result<u64, ImportError> {
    let st = session.require().await?;
    may_follow(st.phase)?;
    let plan = session.plan(&st).await?;
    let mut caught = 0;
    for _ in 0..10 {
        let n = drain(&mut session.client, &plan).await?;
        caught += n;
        if n == 0 {
            break;
        }
    }
    if st.phase == Phase::Backfilled {
        let tx = session
            .client
            .transaction()
            .await
            .map_err(ImportError::db("starting dual-write"))?;
        state::set_phase(&tx, Phase::DualWrite).await?;
        tx.batch_execute(&state::set_mode_sql(Some(Mode::Async)))
            .await
            .map_err(ImportError::db("recording the dual-write mode"))?;
        state::record(
            &tx,
            "dual-write",
            "finished",
            &format!(
                "asynchronous ({}); {caught} changes caught up",
                if session.legacy.is_some() {
                    "another database"
                } else {
                    "this database"
                }
            ),
        )
        .await?;
        tx.commit()
            .await
            .map_err(ImportError::db("committing dual-write"))?;
    }
    Ok(caught)
}

/// Asynchronous dual-write, continuous (`dual-write --follow`): after
/// [`catch_up`], drains the change log batch by batch (each its own
/// transaction), pausing while it is empty, until `stop` completes; the
/// batch under way is finished first. Returns how many changes it copied.
/// Within one database the import's dual-write must be asynchronous
/// (`dual-write --async`).
pub async fn follow(
    session: &mut Session,
    stop: impl Future<Output = ()>,
) -> Result<u64, ImportError> {
    if session.legacy.is_none() && !session.state().await?.is_some_and(|s| s.is_async()) {
        return Err(ImportError::Usage(
            "--follow drains the change log of an asynchronous dual-write: within one database start it with showtree import dual-write --async (synchronous dual-write has nothing to follow)".to_owned(),
        ));
    }
    let mut caught = catch_up(session).await?;
    let st = session.require().await?;
    let plan = session.plan(&st).await?;
    caught += follow_with(&mut session.client, &plan, stop, |_, _| {}).await?;
    Ok(caught)
}

/// The loop of [`follow`], on any connection to showtree's database:
/// `batch(changes, took)` is told of every non-empty batch (the
/// benchmark measures the drain's lag so).
pub async fn follow_with(
    client: &mut Client,
    plan: &Plan,
    stop: impl Future<Output = ()>,
    mut batch: impl FnMut(u64, Duration),
) -> Result<u64, ImportError> {
    let mut caught = 0;
    tokio::pin!(stop);
    loop {
        let started = std::time::Instant::now();
        let tx = client
            .transaction()
            .await
            .map_err(ImportError::db("starting a catch-up batch"))?;
        let n = drain_once(&tx, plan, i64::MAX, None).await?;
        tx.commit()
            .await
            .map_err(ImportError::db("committing a catch-up batch"))?;
        caught += n;
        if n > 0 {
            batch(n, started.elapsed());
            tracing::debug!(changes = n, "dual-write batch copied");
            tokio::select! {
                biased;
                () = &mut stop => return Ok(caught),
                () = std::future::ready(()) => {}
            }
        } else {
            tokio::select! {
                biased;
                () = &mut stop => return Ok(caught),
                () = tokio::time::sleep(FOLLOW_IDLE) => {}
            }
        }
    }
}

/// Changes waiting in the log.
pub async fn pending(c: &impl GenericClient) -> Result<i64, ImportError> {
    Ok(
        c.query_one(&format!("select count(*) from {}", own("changes")), &[])
            .await
            .map_err(ImportError::db("counting captured changes"))?
            .get(0),
    )
}

/// In one transaction holding the legacy tables against writers: runs
/// `ddl` (swapping triggers), drains the whole log, moves to `phase`.
/// Retries when the lock cannot be had quickly (a long legacy transaction)
/// or a deadlock with a legacy writer is detected.
pub async fn switch(
    client: &mut Client,
    plan: &Plan,
    ddl: &str,
    phase: Phase,
    what: &str,
) -> Result<u64, ImportError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match switch_once(client, plan, ddl, phase, what).await {
            Ok(n) => return Ok(n),
            Err(ImportError::Db {
                context,
                error: source,
            }) if attempt < BUSY_ATTEMPTS && busy(&source) => {
                tracing::info!(%context, attempt, "legacy tables busy; trying again");
                busy_pause(attempt).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// How many times a statement that takes the legacy tables' locks is tried
/// while legacy writers hold them.
pub(crate) const BUSY_ATTEMPTS: u32 = 30;

/// The lock timeout of a statement that locks legacy tables against
/// writers: below `deadlock_timeout` (1 s by default), so that when a
/// legacy statement writing two tables waits on us while we wait on it, we
/// give up (and try again) before its deadlock check fails the
/// application's write.
pub(crate) const BUSY_LOCK_TIMEOUT: &str = "set local lock_timeout = '500ms';\n";

/// Whether `e` says the legacy tables were busy: the lock timeout above
/// ran out, or a deadlock was detected on our side. Trying again is safe.
pub(crate) fn busy(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE
            || *c == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// Runs `run` again while it fails because the legacy tables are busy
/// ([`busy`]; `run` sets [`BUSY_LOCK_TIMEOUT`] and undoes its own work on
/// failure), at most [`BUSY_ATTEMPTS`] times, pausing between tries.
pub(crate) async fn while_busy<T, F: Future<Output = Result<T, ImportError>>>(
    mut run: impl FnMut() -> F,
) -> Result<T, ImportError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match run().await {
            Err(ImportError::Db { context, error }) if attempt < BUSY_ATTEMPTS && busy(&error) => {
                tracing::info!(%context, attempt, "legacy tables busy; trying again");
                busy_pause(attempt).await;
            }
            other => return other,
        }
    }
}

/// The pause before attempt `attempt + 1`: longer each time, at most 1 s.
pub(crate) async fn busy_pause(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10)))).await;
}

async fn switch_once(
    client: &mut Client,
    plan: &Plan,
    ddl: &str,
    phase: Phase,
    what: &str,
) -> Result<u64, ImportError> {
    let tx = client
        .transaction()
        .await
        .map_err(ImportError::db("starting the switch"))?;
    tx.batch_execute(BUSY_LOCK_TIMEOUT)
        .await
        .map_err(ImportError::db("setting a lock timeout"))?;
    let caught = switch_in(&tx, plan, ddl, phase, what).await?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing the switch"))?;
    Ok(caught)
}

/// [`switch`] inside the caller's transaction (which commits it).
pub async fn switch_in(
    tx: &Transaction<'_>,
    plan: &Plan,
    ddl: &str,
    phase: Phase,
    what: &str,
) -> Result<u64, ImportError> {
    tx.batch_execute(&sqlgen::lock_legacy(plan))
        .await
        .map_err(ImportError::db("locking the legacy tables against writers"))?;
    tx.batch_execute(ddl).await.map_err(ImportError::db(
        "swapping the triggers on the legacy tables",
    ))?;
    let mut caught = 0;
    loop {
        let n = drain_once(tx, plan, i64::MAX, None).await?;
        if n == 0 {
            break;
        }
        caught += n;
    }
    state::set_phase(tx, phase).await?;
    state::record(tx, what, "finished", &format!("{caught} changes caught up")).await?;
    Ok(caught)
}

/// Drains the changes logged so far (each batch its own transaction;
/// those logged meanwhile are left for the next drain, so a busy legacy
/// application cannot keep it running forever); returns how many it copied.
pub async fn drain(client: &mut Client, plan: &Plan) -> Result<u64, ImportError> {
    drain_upto(client, plan, None).await
}

/// [`drain`], adding every key it takes off the log to `keys` (with the
/// showtree rows its map named before), for [`validate::validate_keys`].
pub async fn drain_noting(
    client: &mut Client,
    plan: &Plan,
    keys: &mut validate::Keys,
) -> Result<u64, ImportError> {
    drain_upto(client, plan, Some(keys)).await
}

async fn drain_upto(
    client: &mut Client,
    plan: &Plan,
    mut keys: Option<&mut validate::Keys>,
) -> Result<u64, ImportError> {
    let upto: i64 = client
        .query_one(
            &format!("select coalesce(max(seq), 0) from {}", own("changes")),
            &[],
        )
        .await
        .map_err(ImportError::db("reading the change log"))?
        .get(0);
    let mut total = 0;
    loop {
        let tx = client
            .transaction()
            .await
            .map_err(ImportError::db("starting a catch-up batch"))?;
        let n = drain_once(&tx, plan, upto, keys.as_deref_mut()).await?;
        tx.commit()
            .await
            .map_err(ImportError::db("committing a catch-up batch"))?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

/// Takes up to a batch of changes off the log and copies their rows from
/// their current state: deletions first (dependents before what they
/// depend on), then inserts and updates (in dependency order). The keys
/// taken are noted in `keys`, when given, before their rows are copied.
async fn drain_once(
    c: &impl GenericClient,
    plan: &Plan,
    upto: i64,
    keys: Option<&mut validate::Keys>,
) -> Result<u64, ImportError> {
    // `seq = any (array(...))`: the keys are read once, whatever the plan
    // (a semi join planned while the log looked empty may nest its two
    // scans, as the roll-up fold's did: docs/ROLLUPS.md); and across
    // databases, where the log is a foreign table, it ships as one remote
    // delete, where `seq in (...)` would fetch and lock the whole log and
    // delete its rows one by one
    let take = "delete from {changes} where seq = any (array(select seq from {changes} where seq <= $2 order by seq limit $1)) returning legacy_table, legacy_id";
    let rows = c
        .query(
            &take.replace("{changes}", &own("changes")),
            &[&DRAIN_BATCH, &upto],
        )
        .await
        .map_err(ImportError::db("taking changes off the log"))?;
    let n = rows.len() as u64;
    let mut by_table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        by_table.entry(r.get(0)).or_default().push(r.get(1));
    }
    for ids in by_table.values_mut() {
        ids.sort();
        ids.dedup();
    }
    if let Some(keys) = keys {
        keys.note(c, plan, &by_table).await?;
    }
    for u in plan.units.iter().rev() {
        if let (Some(ids), UnitKind::Rows) = (by_table.get(&u.source), u.kind) {
            c.execute(
                &format!(
                    "select {}($1::text[]::{}[])",
                    sqlgen::unsync_fn(u),
                    u.pk_type
                ),
                &[ids],
            )
            .await
            .map_err(ImportError::db_at(format!(
                "catching up deletions of {}",
                u.name
            )))?;
        }
    }
    for u in &plan.units {
        if let Some(ids) = by_table.get(&u.source) {
            c.execute(
                &format!("select {}($1::text[]::{}[])", sqlgen::sync_fn(u), u.pk_type),
                &[ids],
            )
            .await
            .map_err(ImportError::db_at(format!("catching up {}", u.name)))?;
        }
    }
    Ok(n)
}
