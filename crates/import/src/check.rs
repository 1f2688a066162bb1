//! `showtree import check`: the mapping against the live catalogs (every
//! legacy column unmapped, every target column unknown or missing) and
//! then against the data (every row with an unmappable value, an orphan or
//! ambiguous owner, a timestamp that cannot be placed), in one transaction
//! that is rolled back: nothing is written.

use showtree_db::migrate::Migrator;
use tokio_postgres::{Client, IsolationLevel, Transaction};

use crate::fdw::{self, Legacy};
use crate::mapping::Mapping;
use crate::plan::{self, Plan};
use crate::report::Report;
use crate::sql::{SCHEMA, ident};
use crate::sqlgen;
use crate::{ImportError, state};

/// Checks `mapping` against the database behind `client`; writes nothing.
pub async fn check(client: &mut Client, mapping: &Mapping) -> Result<Report, ImportError> {
    check_with(client, None, mapping).await
}

/// [`check`] with the legacy tables in another database when `legacy` is
/// given: its catalog is read there, its rows through postgres_fdw objects
/// made (and rolled back) in the check's transaction.
pub async fn check_with(
    client: &mut Client,
    legacy: Option<&Legacy>,
    mapping: &Mapping,
) -> Result<Report, ImportError> {
    // one snapshot: rows written meanwhile cannot make a row look unresolved
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .start()
        .await
        .map_err(ImportError::db("starting the check's transaction"))?;
    showtree_in(&tx).await?;
    let catalogs = match legacy {
        None => state::read_catalogs(&tx, &mapping.schema).await?,
        Some(l) => state::read_catalogs_apart(&tx, &l.client, &mapping.schema).await?,
    };
    if catalogs.legacy.is_empty() {
        let _ = tx.rollback().await;
        return Err(ImportError::Usage(format!(
            "schema {} has no tables to import",
            mapping.schema
        )));
    }
    let (mut plan, findings) = plan::compile(mapping, &catalogs);
    if let (Some(l), true) = (legacy, findings.is_empty()) {
        // the same plan, reading the legacy rows through foreign tables
        l.attach(&tx, fdw::CHECK_SERVER, &mapping.schema, fdw::CHECK_SCHEMA)
            .await?;
        let foreign = Mapping {
            schema: fdw::CHECK_SCHEMA.to_owned(),
            ..mapping.clone()
        };
        plan = plan::compile(&foreign, &catalogs).0;
    }
    let mut report = Report {
        findings,
        ..Report::default()
    };
    if report.findings.is_empty() {
        // a scratch bookkeeping schema (the live one, if any, set aside)
        tx.batch_execute(&format!(
            "do $$ begin
               if exists (select from pg_namespace where nspname = '{SCHEMA}') then
                 alter schema {s} rename to {aside};
               end if;
             end $$;",
            s = ident(SCHEMA),
            aside = ident(&format!("{SCHEMA}_aside"))
        ))
        .await
        .map_err(ImportError::db("setting the import's state aside"))?;
        tx.batch_execute(&sqlgen::bookkeeping())
            .await
            .map_err(ImportError::db("creating a scratch bookkeeping schema"))?;
        tx.batch_execute(&sqlgen::maps(&plan))
            .await
            .map_err(ImportError::db("creating scratch id maps"))?;
        data(&tx, &plan, &mut report).await?;
    }
    tx.rollback()
        .await
        .map_err(ImportError::db("rolling the check back"))?;
    Ok(report)
}

/// Every row problem of the data, unit by unit in dependency order; each
/// unit's good rows enter its (scratch) id map so the next units see them.
pub async fn data(
    tx: &Transaction<'_>,
    plan: &Plan,
    report: &mut Report,
) -> Result<(), ImportError> {
    for u in &plan.units {
        let rows = tx
            .query(&sqlgen::problems_select(plan, u, "true"), &[])
            .await
            .map_err(ImportError::db_at(format!(
                "checking the rows of mapping {}",
                u.name
            )))?;
        let rows: Vec<(String, Vec<String>)> =
            rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
        report.add_rows(&u.name, &u.source, rows);
        tx.execute(&sqlgen::dry_map(plan, u), &[])
            .await
            .map_err(ImportError::db_at(format!("mapping the ids of {}", u.name)))?;
    }
    Ok(())
}

/// Makes showtree's schema exist inside `tx` (applying what is missing),
/// so the mapping can be checked against it before expand creates it.
pub async fn showtree_in(tx: &Transaction<'_>) -> Result<(), ImportError> {
    let has_meta: bool = tx
        .query_one(
            "select to_regclass('showtree_meta.schema_migrations') is not null",
            &[],
        )
        .await
        .map_err(ImportError::db("reading the migrations"))?
        .get(0);
    let newest: i64 = if has_meta {
        tx.query_one(
            "select coalesce(max(version), 0) from showtree_meta.schema_migrations",
            &[],
        )
        .await
        .map_err(ImportError::db("reading the migrations"))?
        .get(0)
    } else {
        tx.batch_execute(
            "create schema if not exists showtree_meta;
             create table showtree_meta.schema_migrations (
               version bigint primary key, name text not null, checksum text not null,
               applied_at timestamptz not null default now())",
        )
        .await
        .map_err(ImportError::db("creating the migrations' bookkeeping"))?;
        0
    };
    for m in Migrator::embedded().migrations() {
        if m.version > newest {
            tx.batch_execute(&m.up)
                .await
                .map_err(ImportError::db_at(format!(
                    "applying migration {} (rolled back with the check)",
                    m.version
                )))?;
        }
    }
    Ok(())
}
