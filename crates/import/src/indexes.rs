//! The backfill's bulk-load indexes: the secondary indexes of a target
//! table that is empty when the backfill starts are dropped for the copy
//! and built again once it is done (one `create index` over a full table
//! costs a fraction of maintaining the index row by row, the technique of
//! pg_restore and pgloader). Every index dropped is recorded, with its
//! definition and comment, in `showtree_import.set_aside_indexes` in the
//! transaction that drops it, and removed from there in the transaction
//! that builds it again: a killed backfill resumes without them and builds
//! them at its end, and its rollback builds them back, so the schema ends
//! exactly as it was.
//!
//! Only indexes nothing depends on are dropped: primary keys, unique and
//! exclusion indexes (constraints, and what `on conflict` needs), indexes
//! of a constraint, of a partition tree, marked for `cluster` or replica
//! identity, in a tablespace of their own or with per-column statistics
//! targets all stay.

use tokio_postgres::GenericClient;

use crate::ImportError;
use crate::plan::{Plan, UnitKind};
use crate::sql::{lit, own, qualified};

/// The table recording the indexes set aside, created by the backfill's
/// start (and dropped with the import's schema by rollback of expand).
fn bookkeeping() -> String {
    format!(
        "create table if not exists {} (
  schema_name text not null,
  index_name text not null,
  table_name text not null,
  definition text not null,
  comment text,
  primary key (schema_name, index_name)
);\n",
        own("set_aside_indexes")
    )
}

/// The target tables of the plan's row mappings, each once.
fn targets(plan: &Plan) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = plan
        .units
        .iter()
        .filter(|u| u.kind == UnitKind::Rows)
        .map(|u| u.target.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Drops the secondary indexes of every empty target table, recording
/// them (in the caller's transaction, the one that starts the backfill).
/// Returns how many were set aside, and a line naming their tables.
pub async fn set_aside(c: &impl GenericClient, plan: &Plan) -> Result<(u64, String), ImportError> {
    c.batch_execute(&bookkeeping())
        .await
        .map_err(ImportError::db("creating the table of set-aside indexes"))?;
    let mut n = 0;
    let mut tables = Vec::new();
    for (schema, table) in targets(plan) {
        // another organization's rows, or a resumed run's: the copy then
        // maintains the indexes as any write does
        let empty: bool = c
            .query_one(
                &format!(
                    "select not exists (select from {})",
                    qualified(&schema, &table)
                ),
                &[],
            )
            .await
            .map_err(ImportError::db("looking for rows in a target table"))?
            .get(0);
        if !empty {
            continue;
        }
        let rows = c
            .query(
                "select ic.relname::text, pg_catalog.pg_get_indexdef(i.indexrelid),
                        pg_catalog.obj_description(i.indexrelid, 'pg_class')
                   from pg_catalog.pg_index i
                   join pg_catalog.pg_class ic on ic.oid = i.indexrelid
                   join pg_catalog.pg_class tc on tc.oid = i.indrelid
                   join pg_catalog.pg_namespace n on n.oid = tc.relnamespace
                  where n.nspname = $1 and tc.relname = $2 and tc.relkind = 'r' and ic.relkind = 'i'
                    and not i.indisunique and not i.indisprimary and not i.indisexclusion
                    and not i.indisclustered and not i.indisreplident
                    and i.indisvalid and i.indisready and ic.reltablespace = 0
                    and not exists (select from pg_catalog.pg_constraint k where k.conindid = i.indexrelid)
                    and not exists (select from pg_catalog.pg_inherits h where h.inhrelid = i.indexrelid)
                    and not exists (select from pg_catalog.pg_depend d
                                     where d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid = i.indexrelid)
                    and not exists (select from pg_catalog.pg_attribute a
                                     where a.attrelid = i.indexrelid and a.attstattarget >= 0)
                  order by ic.relname",
                &[&schema, &table],
            )
            .await
            .map_err(ImportError::db("listing a target table's indexes"))?;
        if !rows.is_empty() {
            tables.push(format!("{schema}.{table} ({})", rows.len()));
        }
        for r in rows {
            let name: String = r.get(0);
            let definition: String = r.get(1);
            let comment: Option<String> = r.get(2);
            c.execute(
                &format!(
                    "insert into {} (schema_name, index_name, table_name, definition, comment)
                     values ($1, $2, $3, $4, $5)",
                    own("set_aside_indexes")
                ),
                &[&schema, &name, &table, &definition, &comment],
            )
            .await
            .map_err(ImportError::db("recording an index set aside"))?;
            c.batch_execute(&format!("drop index {}", qualified(&schema, &name)))
                .await
                .map_err(ImportError::db_at(format!(
                    "dropping index {schema}.{name}"
                )))?;
            n += 1;
        }
    }
    Ok((n, tables.join(", ")))
}

/// One set-aside index, as recorded when it was dropped.
#[derive(Debug, Clone)]
pub struct SetAside {
    /// Schema of the index and its table.
    pub schema: String,
    /// The index's name.
    pub name: String,
    /// Its table's name.
    pub table: String,
    /// `pg_get_indexdef` of the index.
    pub definition: String,
    /// Its comment, if any.
    pub comment: Option<String>,
}

impl SetAside {
    /// Its table, qualified.
    pub fn table(&self) -> String {
        qualified(&self.schema, &self.table)
    }

    fn rebuild_sql(&self) -> String {
        rebuild_sql(
            &self.schema,
            &self.name,
            &self.definition,
            self.comment.as_deref(),
        )
    }
}

/// The indexes set aside and not built again yet.
pub async fn pending(c: &impl GenericClient) -> Result<Vec<SetAside>, ImportError> {
    let exists: bool = c
        .query_one(
            "select pg_catalog.to_regclass($1) is not null",
            &[&own("set_aside_indexes")],
        )
        .await
        .map_err(ImportError::db("looking for the set-aside indexes"))?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    Ok(c
        .query(
            &format!(
                "select schema_name, index_name, table_name, definition, comment from {} order by table_name, index_name",
                own("set_aside_indexes")
            ),
            &[],
        )
        .await
        .map_err(ImportError::db("reading the set-aside indexes"))?
        .into_iter()
        .map(|r| SetAside {
            schema: r.get(0),
            name: r.get(1),
            table: r.get(2),
            definition: r.get(3),
            comment: r.get(4),
        })
        .collect())
}

/// How many indexes are set aside now (`import status`).
pub async fn count(c: &impl GenericClient) -> Result<usize, ImportError> {
    Ok(pending(c).await?.len())
}

/// The statements building one set-aside index again, its comment
/// included, and forgetting it.
fn rebuild_sql(schema: &str, name: &str, definition: &str, comment: Option<&str>) -> String {
    let mut sql = format!("{definition};\n");
    if let Some(comment) = comment {
        sql += &format!(
            "comment on index {} is {};\n",
            qualified(schema, name),
            lit(comment)
        );
    }
    sql += &format!(
        "delete from {} where schema_name = {} and index_name = {};",
        own("set_aside_indexes"),
        lit(schema),
        lit(name)
    );
    sql
}

/// Builds every set-aside index again in the caller's transaction (the
/// rollback's).
pub async fn restore_in(c: &impl GenericClient) -> Result<u64, ImportError> {
    let mut n = 0;
    for ix in pending(c).await? {
        c.batch_execute(&ix.rebuild_sql())
            .await
            .map_err(ImportError::db_at(format!(
                "building index {}.{} again",
                ix.schema, ix.name
            )))?;
        n += 1;
    }
    Ok(n)
}

/// Memory for one index build: the sort of a whole table's keys fits in
/// it at scale 0.1 (the server's default, 64 MB, spills to disk).
const BUILD_MEMORY: &str = "256MB";

/// Builds one set-aside index again and forgets it, in a transaction of
/// its own (a killed run leaves the others recorded, built by the next
/// run). The backfill builds each table's as soon as the copy has filled
/// the table, on whichever of its connections is free (two builds on one
/// table share its lock).
pub async fn build(client: &mut tokio_postgres::Client, ix: &SetAside) -> Result<(), ImportError> {
    let tx = client
        .transaction()
        .await
        .map_err(ImportError::db("starting an index build"))?;
    tx.batch_execute(&format!(
        "set local maintenance_work_mem = {};\n{}",
        lit(BUILD_MEMORY),
        ix.rebuild_sql()
    ))
    .await
    .map_err(ImportError::db_at(format!(
        "building index {}.{} again",
        ix.schema, ix.name
    )))?;
    tx.commit()
        .await
        .map_err(ImportError::db("committing an index build"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rebuild_restores_the_comment_and_forgets_the_index() {
        let sql = rebuild_sql(
            "showtree",
            "tasks_x",
            "CREATE INDEX tasks_x ON showtree.tasks USING btree (node_id)",
            Some("it's why"),
        );
        assert!(sql.starts_with("CREATE INDEX tasks_x ON showtree.tasks"));
        assert!(sql.contains("comment on index \"showtree\".\"tasks_x\" is 'it''s why';"));
        assert!(sql.contains("index_name = 'tasks_x'"));
    }
}
