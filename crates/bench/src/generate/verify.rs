//! Integrity of a loaded database, checked by queries rather than trusted.
//!
//! The generator loads with `session_replication_role = replica`, which
//! switches off every trigger: the foreign keys' (they are triggers) and
//! the ones keeping ancestry, detail rows and the grant rules. Check,
//! not-null, unique and exclusion constraints still hold during COPY, and
//! unique indexes are rebuilt afterwards (which checks them again); what the
//! triggers would have enforced is checked here, over every row:
//!
//! - every foreign key of the showtree, auth and private schemas, as an
//!   anti-join (`MATCH SIMPLE`: a key with a null column points nowhere);
//! - every check constraint, re-evaluated on every row (`validate
//!   constraint` would not look again at a constraint already valid);
//! - ancestry: each node's `ancestors` and `depth` are its parent's path and
//!   depth plus one, roots are organizations, the kind rule holds;
//! - each node has the detail row of its level and no detail row sits on a
//!   node of another level;
//! - each organization keeps a live owner grant at its root, and live
//!   grants sit on live nodes;
//! - no two live schedule items overlap in one location of a node whose
//!   settings (or an ancestor's) forbid it.

use anyhow::Context;
use tokio_postgres::Client;

/// One integrity rule and the rows breaking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What is checked (`foreign key showtree.tasks.tasks_node_fkey`, ...).
    pub name: String,
    /// Rows breaking it.
    pub violations: i64,
}

/// The schemas whose constraints are checked.
const SCHEMAS: &str = "'showtree', 'auth', 'private'";

/// The checks beyond the catalog's constraints, each a query counting the
/// rows that break its rule.
const RULES: &[(&str, &str)] = &[
    (
        "nodes: ancestors and depth follow the parent, kind rule",
        "select count(*) from showtree.nodes n
           left join showtree.nodes p on p.org_id = n.org_id and p.id = n.parent_id
          where case when n.parent_id is null
                     then n.kind <> 'organization' or n.id <> n.org_id or n.depth <> 0
                          or n.ancestors <> '{}'
                     else p.id is null or n.ancestors <> p.ancestors || p.id
                          or n.depth <> p.depth + 1
                          or not private.node_kind_parent_allowed(p.kind, n.kind)
                          or (p.deleted_at is not null and n.deleted_at is null)
                end",
    ),
    (
        "nodes: every node has its level's detail row",
        "select count(*) from showtree.nodes n
          where not case n.kind
            when 'organization' then exists (select from showtree.organizations d
                                              where d.org_id = n.org_id and d.node_id = n.id)
            when 'project' then exists (select from showtree.projects d
                                         where d.org_id = n.org_id and d.node_id = n.id)
            when 'production' then exists (select from showtree.productions d
                                            where d.org_id = n.org_id and d.node_id = n.id)
            when 'activation' then exists (select from showtree.activations d
                                            where d.org_id = n.org_id and d.node_id = n.id)
            when 'workspace' then exists (select from showtree.workspaces d
                                           where d.org_id = n.org_id and d.node_id = n.id)
          end",
    ),
    (
        "detail rows sit on nodes of their level",
        "select (select count(*) from showtree.organizations d join showtree.nodes n
                   on n.org_id = d.org_id and n.id = d.node_id where n.kind <> 'organization')
              + (select count(*) from showtree.projects d join showtree.nodes n
                   on n.org_id = d.org_id and n.id = d.node_id where n.kind <> 'project')
              + (select count(*) from showtree.productions d join showtree.nodes n
                   on n.org_id = d.org_id and n.id = d.node_id where n.kind <> 'production')
              + (select count(*) from showtree.activations d join showtree.nodes n
                   on n.org_id = d.org_id and n.id = d.node_id where n.kind <> 'activation')
              + (select count(*) from showtree.workspaces d join showtree.nodes n
                   on n.org_id = d.org_id and n.id = d.node_id where n.kind <> 'workspace')",
    ),
    (
        "grants: every organization keeps a live owner at its root",
        "select count(*) from showtree.nodes n
          where n.kind = 'organization'
            and not exists (select from showtree.grants g
                             where g.org_id = n.org_id and g.node_id = n.id
                               and g.role = 'owner' and g.deleted_at is null)",
    ),
    (
        "grants: live grants sit on live nodes",
        "select count(*) from showtree.grants g
           join showtree.nodes n on n.org_id = g.org_id and n.id = g.node_id
          where g.deleted_at is null and n.deleted_at is not null",
    ),
    (
        "schedule items: no overlap in one location where a node forbids it",
        "with forbidding as (
           select distinct n.org_id, n.id
             from showtree.nodes n
            cross join lateral unnest(n.ancestors || n.id) as a(id)
             join showtree.nodes r on r.org_id = n.org_id and r.id = a.id
            where jsonb_typeof(r.settings -> 'schedule' -> 'forbid_overlap') = 'boolean'
              and (r.settings -> 'schedule' ->> 'forbid_overlap')::boolean
         ), ordered as (
           select s.starts_at,
                  max(s.ends_at) over (partition by s.org_id, s.node_id, s.location
                                       order by s.starts_at, s.id
                                       rows between unbounded preceding and 1 preceding) as before
             from showtree.schedule_items s
             join forbidding f on f.org_id = s.org_id and f.id = s.node_id
            where s.deleted_at is null
         )
         select count(*) from ordered where before > starts_at",
    ),
];

/// Runs every check in one read-only snapshot; returns each with its
/// violations (all zero for a sound database).
pub async fn verify(client: &mut Client) -> anyhow::Result<Vec<Check>> {
    let tx = client
        .build_transaction()
        .read_only(true)
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .start()
        .await
        .context("starting the verification")?;
    // Names print schema-qualified, so deparsed checks mean what they say.
    tx.batch_execute("set local search_path = ''")
        .await
        .context("setting the search path")?;

    let mut checks = Vec::new();
    for (name, query) in foreign_key_queries(&tx).await? {
        checks.push(Check {
            violations: count(&tx, &query).await.with_context(|| name.clone())?,
            name,
        });
    }
    for (names, query) in check_constraint_queries(&tx).await? {
        let row = tx
            .query_one(&query, &[])
            .await
            .with_context(|| format!("re-evaluating {}", names.join(", ")))?;
        for (i, name) in names.into_iter().enumerate() {
            checks.push(Check {
                name,
                violations: row.try_get(i)?,
            });
        }
    }
    for (name, query) in RULES {
        checks.push(Check {
            name: (*name).to_owned(),
            violations: count(&tx, query).await.with_context(|| *name)?,
        });
    }
    tx.rollback().await.context("ending the verification")?;
    Ok(checks)
}

async fn count(tx: &tokio_postgres::Transaction<'_>, query: &str) -> anyhow::Result<i64> {
    Ok(tx.query_one(query, &[]).await?.try_get(0)?)
}

/// One anti-join per foreign key: (name, query counting orphans).
async fn foreign_key_queries(
    tx: &tokio_postgres::Transaction<'_>,
) -> anyhow::Result<Vec<(String, String)>> {
    let rows = tx
        .query(
            &format!(
                "select c.conrelid::regclass::text, c.conname, c.confrelid::regclass::text,
                        array(select quote_ident(a.attname)
                                from unnest(c.conkey) with ordinality k(attnum, ord)
                                join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
                               order by k.ord),
                        array(select quote_ident(a.attname)
                                from unnest(c.confkey) with ordinality k(attnum, ord)
                                join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum
                               order by k.ord)
                   from pg_constraint c
                   join pg_namespace n on n.oid = c.connamespace
                  where c.contype = 'f' and c.conparentid = 0 and n.nspname in ({SCHEMAS})
                  order by 1, 2"
            ),
            &[],
        )
        .await
        .context("reading the foreign keys")?;
    rows.iter()
        .map(|r| {
            let (table, name, parent): (String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let (cols, parent_cols): (Vec<String>, Vec<String>) = (r.try_get(3)?, r.try_get(4)?);
            let not_null: Vec<String> = cols.iter().map(|c| format!("c.{c} is not null")).collect();
            let matches: Vec<String> = cols
                .iter()
                .zip(&parent_cols)
                .map(|(c, p)| format!("p.{p} = c.{c}"))
                .collect();
            Ok((
                format!("foreign key {table}.{name}"),
                format!(
                    "select count(*) from {table} c where {} and not exists (select from {parent} p where {})",
                    not_null.join(" and "),
                    matches.join(" and ")
                ),
            ))
        })
        .collect()
}

/// One scan per table re-evaluating its check constraints: (names, query
/// returning one count per constraint).
async fn check_constraint_queries(
    tx: &tokio_postgres::Transaction<'_>,
) -> anyhow::Result<Vec<(Vec<String>, String)>> {
    let rows = tx
        .query(
            &format!(
                "select c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                   from pg_constraint c
                   join pg_class t on t.oid = c.conrelid
                   join pg_namespace n on n.oid = t.relnamespace
                  where c.contype = 'c' and not t.relispartition and n.nspname in ({SCHEMAS})
                  order by 1, 2"
            ),
            &[],
        )
        .await
        .context("reading the check constraints")?;
    let mut by_table: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for r in &rows {
        let (table, name, def): (String, String, String) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let expr = def
            .strip_prefix("CHECK ")
            .with_context(|| format!("unexpected check definition {def}"))?
            .trim_end_matches(" NOT VALID");
        let filter = format!("count(*) filter (where not {expr})");
        match by_table.last_mut() {
            Some((t, names, filters)) if *t == table => {
                names.push(format!("check {table}.{name}"));
                filters.push(filter);
            }
            _ => by_table.push((
                table.clone(),
                vec![format!("check {table}.{name}")],
                vec![filter],
            )),
        }
    }
    Ok(by_table
        .into_iter()
        .map(|(table, names, filters)| {
            (names, format!("select {} from {table}", filters.join(", ")))
        })
        .collect())
}
