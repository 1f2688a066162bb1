//! `showtree import cutover` and `contract`.
//!
//! Asynchronous dual-write (from another database, or `--async`): cutover
//! drains the change log and validates everything (refusing on a mismatch
//! unless forced) while the legacy application writes on ([`prepare`]);
//! then ([`finish`]) it holds the legacy tables against writers, drains
//! the rest, validates again only the legacy keys drained since the
//! validation started, and moves on as below, the capture triggers staying.
//!
//! Synchronous dual-write: cutover validates once more (refusing on a
//! mismatch unless forced), then, with the legacy tables held against
//! writers, stops dual-write:
//! the dual-write triggers give way to the capture triggers (so a rollback
//! of cutover can catch up exactly whatever is written to the legacy tables
//! afterwards), and with `--rename` the legacy tables move into schema
//! `showtree_legacy`, out of the old application's way. Contract drops
//! them, and only that cannot be rolled back.

use tokio_postgres::Client;

use crate::sql::{ident, own};
use crate::sqlgen;
use crate::state::{self, Phase, RENAMED_SCHEMA, Session};
use crate::{ImportError, dualwrite, validate};

/// Runs cutover.
pub async fn cutover(
    session: &mut Session,
    rename: bool,
    force: bool,
) -> Result<String, ImportError> {
    let st = session.require().await?;
    match st.phase {
        Phase::DualWrite => {}
        Phase::Cutover => return Ok("cutover: already done".to_owned()),
        other => {
            return Err(ImportError::State(format!(
                "cutover follows dual-write; the import is at {}",
                other.as_str()
            )));
        }
    }
    if session.legacy.is_some() && rename {
        return Err(ImportError::Usage(RENAME_APART.to_owned()));
    }
    if session.legacy.is_some() || st.is_async() {
        let prepared = prepare(session, force).await?;
        return finish(session, prepared, rename, force).await;
    }
    let outcome = validate::validate(session).await?;
    refuse(&outcome, force, "validation found mismatches")?;
    let plan = session.plan(&st).await?;
    let mut ddl = sqlgen::drop_dual_write_triggers(&plan) + &sqlgen::capture_triggers(&plan);
    if rename {
        ddl += &rename_sql(&plan);
    }
    dualwrite::switch(&mut session.client, &plan, &ddl, Phase::Cutover, "cutover").await?;
    Ok(if rename {
        format!(
            "cutover: dual-write stopped; the legacy tables are now in schema {RENAMED_SCHEMA} (showtree import rollback moves them back)"
        )
    } else {
        "cutover: dual-write stopped; showtree is the system of record (legacy writes are only logged, for a rollback)".to_owned()
    })
}

/// Moves the legacy tables into [`RENAMED_SCHEMA`] and records it.
fn rename_sql(plan: &crate::plan::Plan) -> String {
    let mut ddl = format!("create schema if not exists {};\n", ident(RENAMED_SCHEMA));
    for t in plan.sources() {
        ddl += &format!(
            "alter table {} set schema {};\n",
            plan.legacy(&t),
            ident(RENAMED_SCHEMA)
        );
    }
    ddl += &format!(
        "update {} set renamed_to = '{RENAMED_SCHEMA}';\n",
        own("state")
    );
    ddl
}

/// What the first half of an asynchronous cutover ([`prepare`]) hands to
/// the second ([`finish`]).
#[derive(Debug)]
#[must_use = "an asynchronous cutover finishes with cutover::finish"]
pub struct Prepared {
    caught: u64,
}

/// The first half of an asynchronous cutover (within one database or
/// from another one), with legacy writers going on: drains the change log
/// to its end (at most ten rounds under an application that never pauses)
/// and runs the full validation, refusing on a mismatch unless `force`.
/// [`finish`] then re-checks, under the writers' lock, only the legacy
/// keys drained after this validation started. [`cutover`] runs both;
/// they are public so that a test can write between them.
pub async fn prepare(session: &mut Session, force: bool) -> Result<Prepared, ImportError> {
    let st = asynchronous(session).await?;
    let plan = session.plan(&st).await?;
    let mut caught = 0;
    for _ in 0..10 {
        let n = dualwrite::drain(&mut session.client, &plan).await?;
        caught += n;
        if n == 0 {
            break;
        }
    }
    // rows with a change still in the log are left out: they are drained,
    // and so checked again, by `finish`
    let outcome = validate::validate(session).await?;
    refuse(&outcome, force, "validation found mismatches")?;
    Ok(Prepared { caught })
}

/// The second half of an asynchronous cutover, after [`prepare`]: drains
/// what arrived during the validation, then, with the legacy tables held
/// against writers (readers go on), drains the rest and validates the
/// legacy keys drained since the validation started (refusing on a
/// mismatch unless `force`), moves the tables with `--rename` (within one
/// database only) and records the phase; then the lock is released.
pub async fn finish(
    session: &mut Session,
    prepared: Prepared,
    rename: bool,
    force: bool,
) -> Result<String, ImportError> {
    let st = asynchronous(session).await?;
    if session.legacy.is_some() && rename {
        return Err(ImportError::Usage(RENAME_APART.to_owned()));
    }
    let plan = session.plan(&st).await?;
    let mut keys = validate::Keys::default();
    // what the legacy application wrote during the validation, still
    // without holding it back
    let caught =
        prepared.caught + dualwrite::drain_noting(&mut session.client, &plan, &mut keys).await?;
    if session.legacy.is_some() {
        cutover_apart(session, &st, &plan, keys, caught, force).await
    } else {
        cutover_async(session, &plan, keys, caught, rename, force).await
    }
}

const RENAME_APART: &str = "--rename moves the legacy tables within their database; from another database (--legacy-url) cut over without it";

/// The state of an import whose dual-write is asynchronous, at dual-write.
async fn asynchronous(session: &mut Session) -> Result<state::State, ImportError> {
    let st = session.require().await?;
    if st.phase != Phase::DualWrite || !(st.is_async() || session.legacy.is_some()) {
        return Err(ImportError::State(format!(
            "an asynchronous cutover follows asynchronous dual-write; the import is at {}{}",
            st.phase.as_str(),
            if st.is_async() { "" } else { " (synchronous)" }
        )));
    }
    Ok(st)
}

/// Refuses a cutover on a mismatch, unless forced.
fn refuse(outcome: &validate::Outcome, force: bool, what: &str) -> Result<(), ImportError> {
    if outcome.is_clean() || force {
        return Ok(());
    }
    Err(ImportError::Other(format!(
        "{}\ncutover refused: {what} (fix them, or --force)",
        outcome.render(20).trim_end()
    )))
}

/// The locked part of [`finish`] within one database: a second connection
/// holds the legacy tables against writers (readers, the drain and
/// validate go on) while the log is drained to its end and the keys are
/// validated again; then, in that connection's transaction, the tables
/// move with `--rename` and the phase is recorded, and the lock is
/// released. The capture triggers stay, as after a synchronous cutover.
/// A rename that finds the tables busy gives the lock up and tries again
/// (see [`dualwrite::BUSY_LOCK_TIMEOUT`]).
async fn cutover_async(
    session: &mut Session,
    plan: &crate::plan::Plan,
    mut keys: validate::Keys,
    mut caught: u64,
    rename: bool,
    force: bool,
) -> Result<String, ImportError> {
    let locker = state::connect(&session.url).await?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        lock_on(&locker, &sqlgen::lock_legacy(plan), "").await?;
        let outcome = async {
            caught += recheck_locked(session, plan, &mut keys, force).await?;
            if rename {
                // in the lock's transaction, whose lock timeout is short
                // (legacy readers may hold the tables)
                locker
                    .batch_execute(&rename_sql(plan))
                    .await
                    .map_err(ImportError::db(
                        "moving the legacy tables into schema showtree_legacy",
                    ))?;
            }
            state::set_phase(&locker, Phase::Cutover).await?;
            state::record(
                &locker,
                "cutover",
                "finished",
                &format!(
                    "asynchronous dual-write; {caught} changes caught up, {} legacy keys validated again under the writers' lock",
                    keys.len()
                ),
            )
            .await
        }
        .await;
        let ended = locker
            .batch_execute(if outcome.is_ok() {
                "commit"
            } else {
                "rollback"
            })
            .await
            .map_err(ImportError::db("committing cutover"));
        match outcome {
            Err(ImportError::Db { context, error })
                if attempt < dualwrite::BUSY_ATTEMPTS && dualwrite::busy(&error) =>
            {
                ended?;
                tracing::info!(%context, attempt, "legacy tables busy; trying again");
                dualwrite::busy_pause(attempt).await;
            }
            outcome => {
                outcome?;
                ended?;
                break;
            }
        }
    }
    Ok(if rename {
        format!(
            "cutover: {caught} last changes caught up; the legacy tables are now in schema {RENAMED_SCHEMA} (showtree import rollback moves them back)"
        )
    } else {
        format!(
            "cutover: {caught} last changes caught up; showtree is the system of record (legacy writes are only logged, for a rollback)"
        )
    })
}

/// The locked part of [`finish`] from another database: with the legacy
/// tables held against writers (a transaction on the legacy database),
/// the log is drained to its end, the keys are validated again and the
/// phase moves to cutover. The capture triggers stay on, as they do in
/// one database, so a rollback of cutover catches up what the legacy
/// application wrote since.
async fn cutover_apart(
    session: &mut Session,
    st: &state::State,
    plan: &crate::plan::Plan,
    mut keys: validate::Keys,
    caught: u64,
    force: bool,
) -> Result<String, ImportError> {
    let lock = sqlgen::lock_legacy(&state::on_legacy_side(plan, st)?);
    let Some(l) = &session.legacy else {
        return Err(ImportError::State("no legacy database".to_owned()));
    };
    lock_on(&l.client, &lock, " (in the legacy database)").await?;
    let outcome = async {
        let caught = caught + recheck_locked(session, plan, &mut keys, force).await?;
        let tx = session
            .client
            .transaction()
            .await
            .map_err(ImportError::db("starting cutover"))?;
        state::set_phase(&tx, Phase::Cutover).await?;
        state::record(
            &tx,
            "cutover",
            "finished",
            &format!(
                "{caught} changes caught up (another database), {} legacy keys validated again under the writers' lock",
                keys.len()
            ),
        )
        .await?;
        tx.commit()
            .await
            .map_err(ImportError::db("committing cutover"))?;
        Ok::<u64, ImportError>(caught)
    }
    .await;
    if let Some(l) = &session.legacy {
        // nothing was written there: either way the lock is released
        l.end(outcome.is_ok()).await?;
    }
    let caught = outcome?;
    Ok(format!(
        "cutover: {caught} last changes caught up; showtree is the system of record (legacy writes are only logged, in the legacy database, for a rollback)"
    ))
}

/// Opens a transaction on `client` holding `lock` (retried while legacy
/// writers hold the tables: a short timeout, below `deadlock_timeout`, so
/// no legacy write fails on a deadlock with it; the timeout stays for the
/// transaction); `where_` names the database in the error.
async fn lock_on(client: &Client, lock: &str, where_: &str) -> Result<(), ImportError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        client
            .batch_execute(&format!("begin;\n{}", dualwrite::BUSY_LOCK_TIMEOUT))
            .await
            .map_err(ImportError::db("starting the locking transaction"))?;
        match client.batch_execute(lock).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                let _ = client.batch_execute("rollback").await;
                if attempt >= dualwrite::BUSY_ATTEMPTS || !dualwrite::busy(&e) {
                    return Err(ImportError::db_at(format!(
                        "locking the legacy tables against writers{where_}"
                    ))(e));
                }
                tracing::info!(attempt, "legacy tables busy; trying again");
                dualwrite::busy_pause(attempt).await;
            }
        }
    }
}

/// With the legacy writers held back: drains the log to its end, adding
/// its keys to `keys`, and validates `keys` (refusing on a mismatch unless
/// `force`); returns how many changes it drained.
async fn recheck_locked(
    session: &mut Session,
    plan: &crate::plan::Plan,
    keys: &mut validate::Keys,
    force: bool,
) -> Result<u64, ImportError> {
    let mut caught = 0;
    loop {
        let n = dualwrite::drain_noting(&mut session.client, plan, keys).await?;
        if n == 0 {
            break;
        }
        caught += n;
    }
    let outcome = validate::validate_keys(session, keys).await?;
    refuse(
        &outcome,
        force,
        "the legacy keys changed since the full validation have mismatches",
    )?;
    Ok(caught)
}

/// Drops the legacy tables (after cutover, with --confirm). Irreversible.
pub async fn contract(session: &mut Session) -> Result<String, ImportError> {
    let st = session.require().await?;
    if st.phase != Phase::Cutover {
        return Err(ImportError::State(format!(
            "contract follows cutover; the import is at {}",
            st.phase.as_str()
        )));
    }
    if session.legacy.is_some() {
        return contract_apart(session, &st).await;
    }
    let plan = session.plan(&st).await?;
    let tables: Vec<String> = plan.sources().iter().map(|t| plan.legacy(t)).collect();
    // the legacy application may still write the tables (without
    // --rename): a short lock timeout, tried again while they are busy, so
    // that no legacy write fails on a deadlock with the drop
    let mut attempt = 0;
    loop {
        attempt += 1;
        match contract_once(&mut session.client, &st, &tables).await {
            Ok(()) => break,
            Err(ImportError::Db { context, error })
                if attempt < dualwrite::BUSY_ATTEMPTS && dualwrite::busy(&error) =>
            {
                tracing::info!(%context, attempt, "legacy tables busy; trying again");
                dualwrite::busy_pause(attempt).await;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(format!(
        "contract: dropped {} (the id maps stay in schema showtree_import)",
        tables.join(", ")
    ))
}

async fn contract_once(
    client: &mut Client,
    st: &state::State,
    tables: &[String],
) -> Result<(), ImportError> {
    let tx = client
        .transaction()
        .await
        .map_err(ImportError::db("starting contract"))?;
    tx.batch_execute(&format!(
        "{}drop table {}",
        dualwrite::BUSY_LOCK_TIMEOUT,
        tables.join(", ")
    ))
    .await
    .map_err(ImportError::db(
        "dropping the legacy tables (does something else depend on them?)",
    ))?;
    if let Some(schema) = &st.renamed_to {
        let empty: bool = tx
            .query_one(
                "select not exists (select from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1)",
                &[schema],
            )
            .await
            .map_err(ImportError::db("looking at the renamed schema"))?
            .get(0);
        if empty {
            tx.batch_execute(&format!("drop schema {}", ident(schema)))
                .await
                .map_err(ImportError::db("dropping the renamed schema"))?;
        }
    }
    tx.execute(&format!("delete from {}", own("changes")), &[])
        .await
        .map_err(ImportError::db("clearing the change log"))?;
    state::set_phase(&tx, Phase::Contracted).await?;
    state::record(&tx, "contract", "finished", &tables.join(", ")).await?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing contract"))
}

/// Contract from another database: the legacy tables and the import's
/// schema (change log, capture triggers) dropped in the legacy database,
/// and here the foreign server, foreign tables and, when expand created
/// it, postgres_fdw; the change log becomes a local (empty) table again,
/// and the state forgets the legacy database. Both sides are prepared in
/// open transactions; the target commits first, then the legacy database
/// (were that last commit to fail, the legacy tables are simply still there).
async fn contract_apart(session: &mut Session, st: &state::State) -> Result<String, ImportError> {
    let plan = session.plan(st).await?;
    let on_legacy = state::on_legacy_side(&plan, st)?;
    let tables: Vec<String> = on_legacy
        .sources()
        .iter()
        .map(|t| on_legacy.legacy(t))
        .collect();
    let Some(l) = &session.legacy else {
        return Err(ImportError::State("no legacy database".to_owned()));
    };
    // dropping a table waits for its writers: a short lock timeout, tried
    // again while they are busy, so that no legacy write fails on a
    // deadlock with it
    let drop = format!(
        "{}drop table {};\ndrop schema if exists {} cascade;",
        dualwrite::BUSY_LOCK_TIMEOUT,
        tables.join(", "),
        ident(crate::sql::SCHEMA)
    );
    dualwrite::while_busy(|| {
        l.begin(
            &drop,
            "dropping the legacy tables in the legacy database (does something else depend on them?)",
        )
    })
    .await?;
    let target = async {
        let tx = session
            .client
            .transaction()
            .await
            .map_err(ImportError::db("starting contract"))?;
        tx.batch_execute(&format!(
            "drop foreign table {changes};
create table {changes} (seq bigserial primary key, legacy_table text not null, legacy_id text not null);
{detach}
update {state} set legacy_url = null;",
            changes = own("changes"),
            detach = crate::fdw::detach(st.created_fdw),
            state = own("state"),
        ))
        .await
        .map_err(ImportError::db("dropping the foreign server and tables"))?;
        state::set_phase(&tx, Phase::Contracted).await?;
        state::record(&tx, "contract", "finished", &tables.join(", ")).await?;
        tx.commit()
            .await
            .map_err(ImportError::db("committing contract"))
    }
    .await;
    let ended = l.end(target.is_ok()).await;
    target?;
    ended?;
    Ok(format!(
        "contract: dropped {} in the legacy database, and the foreign server here (the id maps stay in schema showtree_import)",
        tables.join(", ")
    ))
}
