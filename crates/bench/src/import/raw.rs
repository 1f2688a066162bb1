//! The backfill's baseline: the rows a backfill wrote, inserted again
//! raw (one `insert ... select` per table, no mapping, no classification,
//! no id lookups, no batches) into copies of their tables that keep what
//! the backfill's copy keeps (primary keys, unique and exclusion
//! constraints and indexes, defaults, generated columns such as the
//! search vectors), with triggers and foreign-key checks off as in the
//! backfill's batches (`session_replication_role = replica`,
//! `synchronous_commit = off`), on two connections. What PostgreSQL
//! itself needs to store those rows on this machine, in the same run:
//! the floor no backfill can go below.

use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_postgres::Client;

use crate::hierarchy;

/// The schema holding the copies while the baseline runs.
const SCHEMA: &str = "showtree_bench_raw";

/// What the baseline measured.
#[derive(Debug, Clone)]
pub struct RawInsert {
    /// Tables copied (showtree's, auth's and the import's id maps).
    pub tables: usize,
    /// Rows inserted.
    pub rows: u64,
    /// Wall time of the inserts on both connections.
    pub took: Duration,
}

/// One table to copy: its qualified name, the copy's name and its pages.
struct Source {
    qualified: String,
    copy: String,
    pages: i64,
}

/// The tables the backfill wrote: every plain table (or partition) of
/// `showtree` and `auth` holding rows (the database was empty before the
/// import) and the import's id maps.
const SOURCES: &str = "
select format('%I.%I', n.nspname, c.relname), format('%I.%I', $1::text, n.nspname || '_' || c.relname),
       greatest(c.relpages, 1)::int8
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'r'
   and (n.nspname in ('showtree', 'auth') or (n.nspname = 'showtree_import' and c.relname like 'map\\_%'))
   and c.reltuples > 0
 order by c.relpages desc, 1";

/// The statements creating the copy of `source` as `copy`: columns with
/// defaults and generated expressions, then its primary key, unique and
/// exclusion constraints and its other unique indexes.
const COPY_DDL: &str = "
select format('create table %s (like %s including defaults including generated)', $2::text, $1::text)
union all
select format('alter table %s add %s', $2::text, pg_get_constraintdef(k.oid))
  from pg_constraint k
 where k.conrelid = $1::text::regclass and k.contype in ('p', 'u', 'x')
union all
select regexp_replace(pg_get_indexdef(i.indexrelid), ' ON \\S+ ', format(' ON %s ', $2::text))
  from pg_index i
 where i.indrelid = $1::text::regclass and i.indisunique
   and not exists (select from pg_constraint k where k.conindid = i.indexrelid)";

/// Runs the baseline on the database behind `db_url`, then drops the
/// copies.
pub async fn measure(db_url: &str) -> anyhow::Result<RawInsert> {
    let admin = hierarchy::connect(db_url)
        .await
        .context("connecting for the raw-insert baseline")?;
    admin
        .batch_execute(&format!(
            "analyze; drop schema if exists {SCHEMA} cascade; create schema {SCHEMA};"
        ))
        .await
        .context("creating the baseline's schema")?;
    let sources: Vec<Source> = admin
        .query(SOURCES, &[&SCHEMA])
        .await
        .context("listing the tables the backfill wrote")?
        .into_iter()
        .map(|r| Source {
            qualified: r.get(0),
            copy: r.get(1),
            pages: r.get(2),
        })
        .collect();
    for s in &sources {
        for (i, row) in admin
            .query(COPY_DDL, &[&s.qualified, &s.copy])
            .await
            .with_context(|| format!("reading the definition of {}", s.qualified))?
            .into_iter()
            .enumerate()
        {
            let mut ddl: String = row.get(0);
            if ddl.starts_with("CREATE UNIQUE INDEX ") {
                // `create unique index <name> on ...`: unnamed on the copy
                if let Some(on) = ddl.find(" ON ") {
                    ddl = format!("create unique index{}", &ddl[on..]);
                }
            }
            admin
                .batch_execute(&ddl)
                .await
                .with_context(|| format!("copying {} (statement {i})", s.qualified))?;
        }
    }
    // the largest first, each to the connection with less to do
    let mut halves: [Vec<&Source>; 2] = [Vec::new(), Vec::new()];
    let mut load = [0i64; 2];
    for s in &sources {
        let k = usize::from(load[1] < load[0]);
        load[k] += s.pages;
        halves[k].push(s);
    }
    let second = hierarchy::connect(db_url)
        .await
        .context("the baseline's second connection")?;
    admin
        .batch_execute("checkpoint")
        .await
        .context("checkpoint before the baseline")?;
    let started = Instant::now();
    let (a, b) = tokio::try_join!(
        insert_all(&admin, &halves[0]),
        insert_all(&second, &halves[1])
    )?;
    let took = started.elapsed();
    admin
        .batch_execute(&format!("drop schema {SCHEMA} cascade"))
        .await
        .context("dropping the baseline's copies")?;
    Ok(RawInsert {
        tables: sources.len(),
        rows: a + b,
        took,
    })
}

/// Inserts every table of `sources` into its copy, one statement each.
async fn insert_all(c: &Client, sources: &[&Source]) -> anyhow::Result<u64> {
    c.batch_execute("set session_replication_role = replica; set synchronous_commit = off")
        .await
        .context("the baseline's session settings")?;
    let mut rows = 0;
    for s in sources {
        let columns: String = c
            .query_one(
                "select string_agg(quote_ident(attname), ', ' order by attnum) from pg_attribute
                  where attrelid = $1::text::regclass and attnum > 0 and not attisdropped and attgenerated = ''",
                &[&s.qualified],
            )
            .await
            .with_context(|| format!("the columns of {}", s.qualified))?
            .get(0);
        rows += c
            .execute(
                &format!(
                    "insert into {} ({columns}) select {columns} from {}",
                    s.copy, s.qualified
                ),
                &[],
            )
            .await
            .with_context(|| format!("inserting {} raw", s.qualified))?;
    }
    Ok(rows)
}
