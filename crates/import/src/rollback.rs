//! `showtree import rollback`: undoes the latest phase (or all of them).
//! None of it writes a legacy row: the legacy tables only lose the
//! import's triggers (and come back from `showtree_legacy`).
//!
//! - cutover: tables moved back, dual-write triggers back (synchronous
//!   mode; asynchronous mode keeps the capture triggers), the changes
//!   logged since cutover caught up (exact, under the writers' lock);
//! - dual-write: the triggers give way to the capture triggers again
//!   (asynchronous mode: only the phase moves, the capture never stopped);
//! - backfill: capture triggers dropped, every imported row deleted (every
//!   row of the organizations the import created, and the imported users),
//!   the id maps and progress emptied;
//! - expand: the import's schema dropped, and showtree's schema reverted
//!   to where it was (only what expand migrated).

use showtree_db::migrate::Migrator;

use crate::plan::{self, UnitKind};
use crate::sql::{SCHEMA, ident, own, qualified};
use crate::sqlgen;
use crate::state::{self, Phase, RENAMED_SCHEMA, Session};
use crate::{ImportError, dualwrite, fdw, indexes};

/// Rolls back the latest phase, or every phase with `all`; returns what it did.
pub async fn rollback(session: &mut Session, all: bool) -> Result<Vec<String>, ImportError> {
    let mut done = Vec::new();
    loop {
        let Some(st) = session.state().await? else {
            if done.is_empty() {
                done.push("nothing to roll back".to_owned());
            }
            return Ok(done);
        };
        let line = match st.phase {
            Phase::Contracted => {
                return Err(ImportError::State(
                    "contract dropped the legacy tables: it cannot be rolled back".to_owned(),
                ));
            }
            Phase::Cutover if session.legacy.is_some() => {
                phase_back(session, Phase::DualWrite, "cutover", "another database").await?;
                "rolled back cutover: dual-write (asynchronous: showtree import dual-write --follow) again; the changes logged since cutover are caught up by it".to_owned()
            }
            Phase::DualWrite if session.legacy.is_some() => {
                phase_back(session, Phase::Backfilled, "dual-write", "another database").await?;
                "rolled back dual-write: the legacy database's capture triggers keep recording changes".to_owned()
            }
            Phase::DualWrite if st.is_async() => {
                phase_back(session, Phase::Backfilled, "dual-write", "asynchronous").await?;
                "rolled back dual-write (asynchronous): the capture triggers keep recording changes"
                    .to_owned()
            }
            Phase::Cutover => cutover(session, &st).await?,
            Phase::DualWrite => dual_write(session, &st).await?,
            Phase::Backfilling | Phase::Backfilled => backfill(session, &st).await?,
            Phase::Expanding | Phase::Expanded => expand(session, &st).await?,
        };
        done.push(line);
        if !all {
            return Ok(done);
        }
    }
}

/// Asynchronous dual-write and cross-database cutover only move the
/// phase: the capture triggers stay on throughout, so nothing else changes
/// (back before dual-write, the mode is forgotten).
async fn phase_back(
    session: &mut Session,
    phase: Phase,
    what: &str,
    detail: &str,
) -> Result<(), ImportError> {
    let tx = session
        .client
        .transaction()
        .await
        .map_err(ImportError::db("starting the rollback"))?;
    state::set_phase(&tx, phase).await?;
    if phase < Phase::DualWrite {
        tx.batch_execute(&state::set_mode_sql(None))
            .await
            .map_err(ImportError::db("forgetting the dual-write mode"))?;
    }
    state::record(&tx, "rollback", what, detail).await?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing the rollback"))
}

/// Rollback of cutover within one database: every statement takes the
/// legacy tables' locks (moving them back, the writers' lock of the
/// catch-up), so the whole transaction runs with the short lock timeout
/// and is tried again while legacy writers are busy.
async fn cutover(session: &mut Session, st: &state::State) -> Result<String, ImportError> {
    let mapping = crate::Mapping::parse(&st.mapping)?;
    let mut attempt = 0;
    let caught = loop {
        attempt += 1;
        match cutover_once(&mut session.client, st, &mapping).await {
            Ok(caught) => break caught,
            Err(ImportError::Db { context, error })
                if attempt < dualwrite::BUSY_ATTEMPTS && dualwrite::busy(&error) =>
            {
                tracing::info!(%context, attempt, "legacy tables busy; trying again");
                dualwrite::busy_pause(attempt).await;
            }
            Err(e) => return Err(e),
        }
    };
    Ok(format!(
        "rolled back cutover: {}dual-write on again{}, {caught} changes made since cutover caught up",
        if st.renamed_to.is_some() {
            "legacy tables moved back, "
        } else {
            ""
        },
        if st.is_async() {
            " (asynchronous: showtree import dual-write --follow)"
        } else {
            ""
        }
    ))
}

async fn cutover_once(
    client: &mut tokio_postgres::Client,
    st: &state::State,
    mapping: &crate::Mapping,
) -> Result<u64, ImportError> {
    let tx = client
        .transaction()
        .await
        .map_err(ImportError::db("starting the rollback of cutover"))?;
    tx.batch_execute(dualwrite::BUSY_LOCK_TIMEOUT)
        .await
        .map_err(ImportError::db("setting a lock timeout"))?;
    if let Some(schema) = &st.renamed_to {
        let moved = state::read_catalogs(&tx, schema).await?;
        let (plan, _) = plan::compile(
            &crate::Mapping {
                schema: schema.clone(),
                ..mapping.clone()
            },
            &moved,
        );
        for t in plan.sources() {
            tx.batch_execute(&format!(
                "alter table {} set schema {}",
                qualified(schema, &t),
                ident(&mapping.schema)
            ))
            .await
            .map_err(ImportError::db("moving a legacy table back"))?;
        }
        let empty: bool = tx
            .query_one(
                "select not exists (select from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1)",
                &[&RENAMED_SCHEMA],
            )
            .await
            .map_err(ImportError::db("looking at the renamed schema"))?
            .get(0);
        if empty && schema == RENAMED_SCHEMA {
            tx.batch_execute(&format!("drop schema {}", ident(RENAMED_SCHEMA)))
                .await
                .map_err(ImportError::db("dropping the renamed schema"))?;
        }
        tx.batch_execute(&format!("update {} set renamed_to = null", own("state")))
            .await
            .map_err(ImportError::db("recording the move back"))?;
    }
    let catalogs = state::read_catalogs(&tx, &mapping.schema).await?;
    let (plan, findings) = plan::compile(mapping, &catalogs);
    if !findings.is_empty() {
        return Err(ImportError::Problems(Box::new(crate::Report {
            findings,
            ..crate::Report::default()
        })));
    }
    // the writes logged since cutover, caught up under the writers' lock;
    // asynchronous dual-write keeps the capture triggers
    let ddl = if st.is_async() {
        String::new()
    } else {
        sqlgen::drop_capture_triggers(&plan) + &sqlgen::dual_write_triggers(&plan)
    };
    let caught =
        dualwrite::switch_in(&tx, &plan, &ddl, Phase::DualWrite, "rollback of cutover").await?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing the rollback of cutover"))?;
    Ok(caught)
}

async fn dual_write(session: &mut Session, st: &state::State) -> Result<String, ImportError> {
    let plan = session.plan(st).await?;
    let ddl = sqlgen::drop_dual_write_triggers(&plan)
        + &sqlgen::capture_triggers(&plan)
        + &state::set_mode_sql(None);
    dualwrite::switch(
        &mut session.client,
        &plan,
        &ddl,
        Phase::Backfilled,
        "rollback of dual-write",
    )
    .await?;
    Ok("rolled back dual-write: the legacy tables' triggers only record changes again".to_owned())
}

async fn backfill(session: &mut Session, st: &state::State) -> Result<String, ImportError> {
    let plan = session.plan(st).await?;
    let tables = session
        .client
        .query(
            "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = 'showtree' and c.relkind in ('r', 'p') and not c.relispartition
                and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped)
              order by 1",
            &[],
        )
        .await
        .map_err(ImportError::db("listing showtree's tables"))?;
    let orgs = plan
        .unit_of(UnitKind::Organization)
        .map(|u| u.map_table())
        .ok_or_else(|| ImportError::State("the mapping has no organizations".to_owned()))?;
    // dropping a trigger holds its table against writers: with a short
    // lock timeout, tried again while they are busy, so that no legacy
    // write fails on a deadlock with it
    if let Some(l) = &session.legacy {
        // first, and committed: a rollback stopped after it finds no
        // trigger to drop and does the rest
        let drop_there = format!(
            "{}{}truncate {};",
            dualwrite::BUSY_LOCK_TIMEOUT,
            sqlgen::drop_capture_triggers(&state::on_legacy_side(&plan, st)?),
            own("changes")
        );
        dualwrite::while_busy(|| {
            l.in_transaction(
                &drop_there,
                "dropping the capture triggers (in the legacy database)",
            )
        })
        .await?;
    }
    let drop_here = format!(
        "{}{}",
        dualwrite::BUSY_LOCK_TIMEOUT,
        sqlgen::drop_capture_triggers(&plan)
    );
    let mut attempt = 0;
    let tx = loop {
        attempt += 1;
        let tx = session
            .client
            .transaction()
            .await
            .map_err(ImportError::db("starting the rollback of the backfill"))?;
        if session.legacy.is_some() {
            break tx;
        }
        match tx.batch_execute(&drop_here).await {
            Ok(()) => break tx,
            Err(e) if attempt < dualwrite::BUSY_ATTEMPTS && dualwrite::busy(&e) => {
                drop(tx);
                tracing::info!(attempt, "legacy tables busy; trying again");
                dualwrite::busy_pause(attempt).await;
            }
            Err(e) => return Err(ImportError::db("dropping the capture triggers")(e)),
        }
    };
    // the rest waits on showtree's own tables only: every legacy table is
    // held now, so no legacy writer holds a lock it could wait for (its
    // last write to the change log committed or rolled back before we got
    // its table)
    tx.batch_execute("set local lock_timeout = '10s'")
        .await
        .map_err(ImportError::db("setting a lock timeout"))?;
    // every row of the imported organizations, with showtree's triggers off
    // (nothing is audited, no cascade is needed: every table is emptied of them)
    tx.batch_execute("set local session_replication_role = replica")
        .await
        .map_err(ImportError::db("turning showtree's triggers off"))?;
    let mut deleted = 0u64;
    for t in tables {
        let t: String = t.get(0);
        deleted += tx
            .execute(
                &format!(
                    "delete from showtree.{} where org_id in (select org_id from {orgs})",
                    ident(&t)
                ),
                &[],
            )
            .await
            .map_err(ImportError::db_at(format!(
                "deleting imported rows of showtree.{t}"
            )))?;
    }
    // their roll-up figures (private, so not in the list above)
    for t in [
        "rollup_deltas",
        "rollup_task_deltas",
        "rollup_line_deltas",
        "rollup_own",
        "rollup_subtree",
    ] {
        deleted += tx
            .execute(
                &format!("delete from private.{t} where org_id in (select org_id from {orgs})"),
                &[],
            )
            .await
            .map_err(ImportError::db_at(format!(
                "deleting imported roll-up figures of private.{t}"
            )))?;
    }
    // imported rows outside any organization (users), with their keys' actions on
    tx.batch_execute("set local session_replication_role = origin")
        .await
        .map_err(ImportError::db("turning showtree's triggers back on"))?;
    for u in plan.units.iter().rev() {
        if u.kind == UnitKind::Rows && !u.tenant {
            deleted += tx
                .execute(
                    &format!(
                        "delete from {} x where x.id in (select new_id from {})",
                        u.target_table(),
                        u.map_table()
                    ),
                    &[],
                )
                .await
                .map_err(ImportError::db_at(format!(
                    "deleting imported rows of {}",
                    u.name
                )))?;
        }
    }
    // the indexes the backfill dropped for its copy, over the emptied tables
    indexes::restore_in(&tx).await?;
    let mut clear: Vec<String> = plan.units.iter().map(|u| u.map_table()).collect();
    if session.legacy.is_none() {
        clear.push(own("changes"));
    }
    clear.push(own("errors"));
    tx.batch_execute(&format!(
        "truncate {};\nupdate {} set last_key = null, rows = 0, done = false;",
        clear.join(", "),
        own("progress")
    ))
    .await
    .map_err(ImportError::db("emptying the id maps"))?;
    state::set_phase(&tx, Phase::Expanded).await?;
    state::record(
        &tx,
        "rollback",
        "backfill",
        &format!("{deleted} rows deleted"),
    )
    .await?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing the rollback of the backfill"))?;
    Ok(format!(
        "rolled back the backfill: {deleted} imported showtree rows deleted, capture triggers dropped"
    ))
}

async fn expand(session: &mut Session, st: &state::State) -> Result<String, ImportError> {
    // the functions first (they use showtree's types); the state stays
    // until the end, so a crash midway leaves a rollback to finish
    let tx = session
        .client
        .transaction()
        .await
        .map_err(ImportError::db("starting the rollback of expand"))?;
    tx.batch_execute(&format!(
        "do $$ declare f regprocedure; begin
           for f in select p.oid::regprocedure from pg_proc p where p.pronamespace = '{SCHEMA}'::regnamespace loop
             execute format('drop function %s', f);
           end loop;
         end $$;"
    ))
    .await
    .map_err(ImportError::db("dropping the import's functions"))?;
    state::set_phase(&tx, Phase::Expanding).await?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing the rollback of expand"))?;
    let mut what = vec!["the import's schema".to_owned()];
    if let Some(l) = &session.legacy {
        // before the state goes: a rollback stopped midway can run again
        l.drop_log().await?;
        what.push("the legacy database's change log".to_owned());
    }
    if st.created_showtree {
        let reverted = Migrator::embedded()
            .down_to(&mut session.client, st.migrated_from)
            .await
            .map_err(|e| ImportError::Other(format!("reverting showtree's migrations: {e}")))?;
        what.push(format!("{} showtree migrations", reverted.len()));
    }
    let mut drop = format!("drop schema {} cascade;", ident(SCHEMA));
    if session.legacy.is_some() {
        drop += &fdw::detach(st.created_fdw);
        what.push("the foreign server and tables".to_owned());
    }
    if st.created_meta {
        drop += "drop schema if exists showtree_meta cascade;";
        what.push("showtree_meta".to_owned());
    }
    session
        .client
        .batch_execute(&drop)
        .await
        .map_err(ImportError::db("dropping the import's schema"))?;
    Ok(format!("rolled back expand: dropped {}", what.join(", ")))
}
