//! `showtree import cutover` and `contract`.
//!
//! Asynchronous dual-write (from another database, or `--async`): cutover
//! holds the legacy tables against writers, drains the change log to its
//! end, validates (refusing on a mismatch unless forced), then moves on as
//! below, the capture triggers staying.
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
    if session.legacy.is_some() {
        if rename {
            return Err(ImportError::Usage(
                "--rename moves the legacy tables within their database; from another database (--legacy-url) cut over without it".to_owned(),
            ));
        }
        return cutover_apart(session, &st, force).await;
    }
    if st.is_async() {
        return cutover_async(session, &st, rename, force).await;
    }
    let outcome = validate::validate(session).await?;
    if !outcome.is_clean() && !force {
        return Err(ImportError::Other(format!(
            "{}\ncutover refused: validation found mismatches (fix them, or --force)",
            outcome.render(20).trim_end()
        )));
    }
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

/// Cutover of an asynchronous dual-write within one database: a second
/// connection holds the legacy tables against writers (readers, the
/// drain and validate go on) while the change log is drained to its end
/// and validated; then, in that connection's transaction, the tables move
/// with `--rename` and the phase is recorded, and the lock is released.
/// The capture triggers stay, as after a synchronous cutover.
async fn cutover_async(
    session: &mut Session,
    st: &state::State,
    rename: bool,
    force: bool,
) -> Result<String, ImportError> {
    let plan = session.plan(st).await?;
    let locker = state::connect(&session.url).await?;
    lock_on(&locker, &sqlgen::lock_legacy(&plan), "").await?;
    let outcome = async {
        let caught = cutover_locked(session, &plan, force, None).await?;
        if rename {
            // the drain and validate are done: only legacy readers may
            // hold the tables now, so wait for them a little longer
            locker
                .batch_execute(&format!(
                    "set local lock_timeout = '10s';\n{}",
                    rename_sql(&plan)
                ))
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
            &format!("asynchronous dual-write; {caught} changes caught up"),
        )
        .await?;
        Ok::<u64, ImportError>(caught)
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
    let caught = outcome?;
    ended?;
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

/// Cutover from another database: with the legacy tables held against
/// writers (a transaction on the legacy database), the change log is
/// drained to its end, validated, and the phase moves to cutover. The
/// capture triggers stay on, as they do in one database, so a rollback of
/// cutover catches up what the legacy application wrote since.
async fn cutover_apart(
    session: &mut Session,
    st: &state::State,
    force: bool,
) -> Result<String, ImportError> {
    let plan = session.plan(st).await?;
    let lock = sqlgen::lock_legacy(&state::on_legacy_side(&plan, st)?);
    let Some(l) = &session.legacy else {
        return Err(ImportError::State("no legacy database".to_owned()));
    };
    lock_on(&l.client, &lock, " (in the legacy database)").await?;
    let outcome = cutover_locked(session, &plan, force, Some("another database")).await;
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
/// no legacy write fails on a deadlock with it); `where_` names the
/// database in the error.
async fn lock_on(client: &Client, lock: &str, where_: &str) -> Result<(), ImportError> {
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        client
            .batch_execute("begin; set local lock_timeout = '500ms'")
            .await
            .map_err(ImportError::db("starting the locking transaction"))?;
        match client.batch_execute(lock).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                let _ = client.batch_execute("rollback").await;
                let busy = e.code().is_some_and(|c| {
                    *c == tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE
                        || *c == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
                });
                if !busy || attempt >= 30 {
                    return Err(ImportError::db_at(format!(
                        "locking the legacy tables against writers{where_}"
                    ))(e));
                }
                tracing::info!(attempt, "legacy tables busy; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempt.min(10))).await;
            }
        }
    }
}

/// Drains the log to its end and validates; without `record` (within one
/// database) the caller moves the phase, else it is moved here with
/// `record` in the history.
async fn cutover_locked(
    session: &mut Session,
    plan: &crate::plan::Plan,
    force: bool,
    record: Option<&str>,
) -> Result<u64, ImportError> {
    let mut caught = 0;
    loop {
        let n = dualwrite::drain(&mut session.client, plan).await?;
        if n == 0 {
            break;
        }
        caught += n;
    }
    let outcome = validate::validate(session).await?;
    if !outcome.is_clean() && !force {
        return Err(ImportError::Other(format!(
            "{}\ncutover refused: validation found mismatches (fix them, or --force)",
            outcome.render(20).trim_end()
        )));
    }
    let Some(record) = record else {
        return Ok(caught);
    };
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
        &format!("{caught} changes caught up ({record})"),
    )
    .await?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing cutover"))?;
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
    let tx = session
        .client
        .transaction()
        .await
        .map_err(ImportError::db("starting contract"))?;
    tx.batch_execute(&format!("drop table {}", tables.join(", ")))
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
        .map_err(ImportError::db("committing contract"))?;
    Ok(format!(
        "contract: dropped {} (the id maps stay in schema showtree_import)",
        tables.join(", ")
    ))
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
    l.begin(
        &format!(
            "set local lock_timeout = '10s';\ndrop table {};\ndrop schema if exists {} cascade;",
            tables.join(", "),
            ident(crate::sql::SCHEMA)
        ),
        "dropping the legacy tables in the legacy database (does something else depend on them?)",
    )
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
