//! `showtree import expand`: showtree's schema (migrations, when missing),
//! the bookkeeping schema, the id maps and the functions every later phase
//! calls. Nothing legacy is touched. The state row is written first, so a
//! crash anywhere leaves an expand that rerunning (or rolling back) finishes.

use sha2::{Digest, Sha256};
use showtree_db::migrate::Migrator;

use crate::check;
use crate::fdw;
use crate::mapping::Mapping;
use crate::sql::own;
use crate::sqlgen;
use crate::state::{self, Phase, Session};
use crate::{ImportError, catalog};

/// Runs expand with the mapping file's `text`.
pub async fn expand(session: &mut Session, text: &str) -> Result<(), ImportError> {
    let mapping = Mapping::parse(text)?;
    match session.state().await? {
        None => {
            // a mapping that cannot apply is refused before anything is written
            let report =
                check::check_with(&mut session.client, session.legacy.as_ref(), &mapping).await?;
            if !report.is_clean() {
                return Err(ImportError::Problems(Box::new(report)));
            }
            begin(session, text).await?;
        }
        Some(s) if s.phase == Phase::Expanding && s.mapping == text => {}
        Some(s) if s.phase == Phase::Expanded && s.mapping == text => return Ok(()),
        Some(s) => {
            return Err(ImportError::State(format!(
                "an import is already here (phase {}{}); roll it back first",
                s.phase.as_str(),
                if s.mapping == text {
                    ""
                } else {
                    ", with another mapping"
                }
            )));
        }
    }
    if let Some(l) = &session.legacy {
        l.create_log().await?;
    }
    Migrator::embedded()
        .up(&mut session.client)
        .await
        .map_err(|e| ImportError::Other(format!("migrating showtree's schema: {e}")))?;
    let state = session.require().await?;
    let plan = session.plan(&state).await?;
    let tx = session
        .client
        .transaction()
        .await
        .map_err(ImportError::db("starting expand"))?;
    tx.batch_execute(&sqlgen::maps(&plan))
        .await
        .map_err(ImportError::db("creating the id maps"))?;
    tx.batch_execute(&sqlgen::functions(&plan))
        .await
        .map_err(ImportError::db("creating the import's functions"))?;
    for u in &plan.units {
        tx.execute(
            &format!(
                "insert into {} (mapping) values ($1) on conflict do nothing",
                own("progress")
            ),
            &[&u.name],
        )
        .await
        .map_err(ImportError::db("recording progress"))?;
    }
    state::set_phase(&tx, Phase::Expanded).await?;
    state::record(&tx, "expand", "finished", "").await?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing expand"))?;
    Ok(())
}

/// Records what exists before expand changes anything.
async fn begin(session: &mut Session, text: &str) -> Result<(), ImportError> {
    let c = &session.client;
    let created_showtree = !catalog::schema_exists(c, "showtree").await?;
    let created_meta = !catalog::schema_exists(c, "showtree_meta").await?;
    let migrated_from: i64 = if created_meta {
        0
    } else {
        c.query_one(
            "select coalesce(max(version), 0) from showtree_meta.schema_migrations",
            &[],
        )
        .await
        .map_err(ImportError::db("reading the migrations"))?
        .get(0)
    };
    let tx = session
        .client
        .transaction()
        .await
        .map_err(ImportError::db("starting expand"))?;
    tx.batch_execute(&sqlgen::bookkeeping())
        .await
        .map_err(ImportError::db("creating the import's schema"))?;
    let mut created_fdw = false;
    if let Some(l) = &session.legacy {
        created_fdw = !fdw::extension_installed(&tx).await?;
        let schema = Mapping::parse(text)?.schema;
        l.attach(&tx, fdw::SERVER, &schema, fdw::FOREIGN_SCHEMA)
            .await?;
        tx.batch_execute(&fdw::foreign_log())
            .await
            .map_err(ImportError::db(
                "reading the legacy change log through postgres_fdw",
            ))?;
    }
    let legacy_url = session.legacy.as_ref().map(|l| l.url.shown());
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    tx.execute(
        &format!(
            "insert into {} (mapping, mapping_sha256, phase, created_showtree, migrated_from, created_meta,
                             legacy_url, created_fdw)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
            own("state")
        ),
        &[
            &text,
            &sha,
            &Phase::Expanding.as_str(),
            &created_showtree,
            &migrated_from,
            &created_meta,
            &legacy_url,
            &created_fdw,
        ],
    )
    .await
    .map_err(ImportError::db("recording the state"))?;
    state::record(&tx, "expand", "started", "").await?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing expand's start"))?;
    Ok(())
}
