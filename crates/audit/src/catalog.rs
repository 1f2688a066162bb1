//! Reads what the rules need from `pg_catalog`, with one set-based query
//! per kind of object (never one per table: a thousand tables must take
//! seconds, not minutes), inside the caller's read-only transaction.

use std::collections::HashMap;

use tokio_postgres::Transaction;
use tokio_postgres::types::Oid;

use crate::error::AuditError;
use crate::sql;

/// Schemas that hold no application tables: PostgreSQL's own, showtree's
/// migration bookkeeping (`showtree_meta`), and those a hosted platform
/// (Supabase) manages itself. Audited only when named with `--schema`.
pub const DEFAULT_EXCLUDED_SCHEMAS: &[&str] = &[
    "information_schema",
    "showtree_meta",
    "auth",
    "storage",
    "realtime",
    "extensions",
    "graphql",
    "graphql_public",
    "pgsodium",
    "pgsodium_masks",
    "vault",
    "net",
    "cron",
    "supabase_functions",
    "supabase_migrations",
    "pgbouncer",
];

/// Everything the audit knows about one database.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// `current_database()`.
    pub database: String,
    /// `server_version`, e.g. `15.20`.
    pub server_version: String,
    /// Database size in bytes.
    pub database_bytes: i64,
    /// The schemas audited, in order.
    pub schemas: Vec<String>,
    /// The audited tables (partitions are audited through their parent).
    pub tables: Vec<Table>,
    /// Every enum type of the database, by oid.
    pub enums: HashMap<Oid, EnumType>,
    /// Tables treated as the users table (targets of user references).
    pub users_tables: Vec<UsersTable>,
    /// Trigger functions that set `new.updated_at` (`schema.name`, quoted).
    pub updated_at_functions: Vec<String>,
    /// Column names of the tables foreign keys reference outside the
    /// audited schemas (`auth.users`, ...), with their `schema.name`.
    pub external_tables: HashMap<Oid, (String, Vec<String>)>,
    /// Volatility of every function a policy expression calls, by
    /// (schema, name); overloads fold to the most volatile.
    pub function_volatility: HashMap<(String, String), Volatility>,
}

/// A table (ordinary or partitioned).
#[derive(Debug, Clone)]
pub struct Table {
    /// The table's oid.
    pub oid: Oid,
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Whether it is partitioned.
    pub partitioned: bool,
    /// `alter table ... enable row level security`.
    pub rls_enabled: bool,
    /// `alter table ... force row level security`.
    pub rls_forced: bool,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Constraints of every kind.
    pub constraints: Vec<Constraint>,
    /// Indexes.
    pub indexes: Vec<Index>,
    /// User-defined triggers.
    pub triggers: Vec<Trigger>,
    /// Row level security policies.
    pub policies: Vec<Policy>,
    /// Sizes and statistics.
    pub stats: TableStats,
}

/// Sizes and cache statistics of a table.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableStats {
    /// Heap (with TOAST) bytes.
    pub table_bytes: i64,
    /// Bytes of all its indexes.
    pub index_bytes: i64,
    /// Planner's row estimate (-1: never analyzed).
    pub row_estimate: f64,
    /// Heap blocks found in shared buffers.
    pub heap_blks_hit: i64,
    /// Heap blocks read from disk (or the OS cache).
    pub heap_blks_read: i64,
    /// Index blocks found in shared buffers.
    pub idx_blks_hit: i64,
    /// Index blocks read.
    pub idx_blks_read: i64,
}

/// A column.
#[derive(Debug, Clone)]
pub struct Column {
    /// `attnum`.
    pub num: i16,
    /// Name.
    pub name: String,
    /// The declared type as `format_type` prints it (schema-qualified
    /// outside `pg_catalog`).
    pub type_sql: String,
    /// The type's oid.
    pub type_oid: Oid,
    /// Name of the type, or of a domain's base type.
    pub base_type: String,
    /// The base type's modifier (-1: none, e.g. `numeric` without precision).
    pub base_typmod: i32,
    /// `typtype` of the declared type: `b` base, `e` enum, `d` domain, ...
    pub typtype: char,
    /// `not null`.
    pub not_null: bool,
    /// The default expression.
    pub default: Option<String>,
}

impl Column {
    /// Whether the column is an enum.
    pub fn is_enum(&self) -> bool {
        self.typtype == 'e'
    }
}

/// What a constraint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    /// Primary key.
    PrimaryKey,
    /// Foreign key.
    ForeignKey,
    /// Unique.
    Unique,
    /// Check.
    Check,
    /// Exclusion, trigger or anything else.
    Other,
}

/// A constraint.
#[derive(Debug, Clone)]
pub struct Constraint {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ConstraintKind,
    /// The constrained columns (`conkey`).
    pub columns: Vec<i16>,
    /// `pg_get_constraintdef`.
    pub definition: String,
    /// Foreign key details.
    pub foreign: Option<ForeignKey>,
}

/// The referencing side's details of a foreign key.
#[derive(Debug, Clone)]
pub struct ForeignKey {
    /// Referenced table.
    pub target: Oid,
    /// Its schema.
    pub target_schema: String,
    /// Its name.
    pub target_name: String,
    /// Referenced column names, in key order.
    pub target_columns: Vec<String>,
    /// `confdeltype`: a no action, r restrict, c cascade, n set null, d set default.
    pub on_delete: char,
    /// `confupdtype`, same letters.
    pub on_update: char,
    /// `confmatchtype`: f full, p partial, s simple.
    pub match_type: char,
    /// Columns a `set null (...)` / `set default (...)` applies to.
    pub delete_set_columns: Vec<i16>,
    /// Deferrable.
    pub deferrable: bool,
    /// Initially deferred.
    pub deferred: bool,
}

/// An index.
#[derive(Debug, Clone)]
pub struct Index {
    /// Name.
    pub name: String,
    /// Access method (`btree`, `gin`, ...).
    pub method: String,
    /// Unique.
    pub unique: bool,
    /// Backs the primary key.
    pub primary: bool,
    /// Usable (not a failed concurrent build).
    pub valid: bool,
    /// Key columns (`0` for an expression).
    pub key_columns: Vec<i16>,
    /// `include` columns.
    pub include_columns: Vec<i16>,
    /// Operator classes of the key columns.
    pub opclasses: Vec<Oid>,
    /// Collations of the key columns.
    pub collations: Vec<Oid>,
    /// Per-column options (desc, nulls first).
    pub options: Vec<i16>,
    /// The expressions, deparsed.
    pub expressions: Option<String>,
    /// The partial index predicate, deparsed.
    pub predicate: Option<String>,
    /// `pg_get_indexdef`.
    pub definition: String,
    /// Bytes.
    pub bytes: i64,
    /// Index scans since statistics were reset.
    pub scans: i64,
    /// The constraint it backs (primary key, unique, exclusion).
    pub constraint: Option<String>,
}

/// A user-defined trigger.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// Name.
    pub name: String,
    /// `tgtype` bits: 1 row, 2 before, 4 insert, 8 delete, 16 update.
    pub tgtype: i16,
    /// `tgenabled`: `D` disabled.
    pub enabled: char,
    /// The function's schema and name, quoted.
    pub function: String,
    /// The function's source (for a C function, its symbol).
    pub function_source: String,
    /// The trigger's arguments.
    pub args: String,
}

impl Trigger {
    /// A row-level `before update` trigger that is not disabled.
    pub fn is_before_update_row(&self) -> bool {
        self.tgtype & 1 != 0 && self.tgtype & 2 != 0 && self.tgtype & 16 != 0 && self.enabled != 'D'
    }
}

/// A row level security policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Name.
    pub name: String,
    /// `r` select, `a` insert, `w` update, `d` delete, `*` all.
    pub command: char,
    /// Permissive (or restrictive).
    pub permissive: bool,
    /// Roles it applies to.
    pub roles: Vec<String>,
    /// `using` expression, deparsed.
    pub using: Option<String>,
    /// `with check` expression, deparsed.
    pub with_check: Option<String>,
}

/// An enum type.
#[derive(Debug, Clone)]
pub struct EnumType {
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// Labels in order.
    pub labels: Vec<String>,
}

/// A table user references point to.
#[derive(Debug, Clone)]
pub struct UsersTable {
    /// Its oid.
    pub oid: Oid,
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// Its single-column primary key.
    pub key_column: String,
    /// That column's type name (`typname`, e.g. `uuid`, `int8`).
    pub key_type: String,
}

impl UsersTable {
    /// `schema.name`, quoted as needed.
    pub fn sql_name(&self) -> String {
        sql::qualified(&self.schema, &self.name)
    }
}

/// `provolatile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Volatility {
    /// Same result for the same arguments, forever.
    Immutable,
    /// Same result within a statement.
    Stable,
    /// Anything.
    Volatile,
}

impl Table {
    /// `schema.name` as it appears in stable keys and messages.
    pub fn key_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// `schema.name`, quoted for SQL.
    pub fn sql_name(&self) -> String {
        sql::qualified(&self.schema, &self.name)
    }

    /// The column with this `attnum`.
    pub fn column(&self, num: i16) -> Option<&Column> {
        self.columns.iter().find(|c| c.num == num)
    }

    /// The column with this name.
    pub fn column_named(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Names of these column numbers (expression slots print as `(expr)`).
    pub fn column_names(&self, nums: &[i16]) -> Vec<String> {
        nums.iter()
            .map(|&n| {
                self.column(n)
                    .map_or_else(|| "(expr)".to_owned(), |c| c.name.clone())
            })
            .collect()
    }

    /// The primary key.
    pub fn primary_key(&self) -> Option<&Constraint> {
        self.constraints
            .iter()
            .find(|c| c.kind == ConstraintKind::PrimaryKey)
    }

    /// Foreign keys with their details.
    pub fn foreign_keys(&self) -> impl Iterator<Item = (&Constraint, &ForeignKey)> {
        self.constraints
            .iter()
            .filter_map(|c| c.foreign.as_ref().map(|f| (c, f)))
    }

    /// Whether every one of these columns is `not null`.
    pub fn all_not_null(&self, nums: &[i16]) -> bool {
        nums.iter()
            .all(|&n| self.column(n).is_some_and(|c| c.not_null))
    }

    /// Whether row level security makes the table append-only: enabled and
    /// forced, and no permissive policy lets any role update or delete
    /// (an audit log). Only roles that bypass RLS can change its rows.
    pub fn append_only(&self) -> bool {
        self.rls_enabled
            && self.rls_forced
            && !self
                .policies
                .iter()
                .any(|p| p.permissive && matches!(p.command, 'w' | 'd' | '*'))
    }

    /// Whether a constraint or index name is taken on this table.
    pub fn has_object_named(&self, name: &str) -> bool {
        self.constraints.iter().any(|c| c.name == name)
            || self.indexes.iter().any(|i| i.name == name)
            || self.triggers.iter().any(|t| t.name == name)
            || self.policies.iter().any(|p| p.name == name)
    }
}

impl Catalog {
    /// The audited table with this oid.
    pub fn table(&self, oid: Oid) -> Option<&Table> {
        self.tables.iter().find(|t| t.oid == oid)
    }

    /// Whether `oid` is one of the users tables.
    pub fn is_users_table(&self, oid: Oid) -> bool {
        self.users_tables.iter().any(|u| u.oid == oid)
    }

    /// The enum named `name`, preferring one in `schema`.
    pub fn enum_named(&self, schema: &str, name: &str) -> Option<&EnumType> {
        let mut found: Vec<&EnumType> = self.enums.values().filter(|e| e.name == name).collect();
        found.sort_by_key(|e| (e.schema != schema, e.schema.clone()));
        found.first().copied()
    }
}

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Schemas to audit; empty: every schema but the system's and
    /// [`DEFAULT_EXCLUDED_SCHEMAS`].
    pub schemas: Vec<String>,
    /// Users tables as `schema.name`; empty: every table named `users`.
    pub users_tables: Vec<String>,
}

/// Reads the catalog inside `tx` (which the caller opened read-only).
#[tracing::instrument(skip_all)]
pub async fn read(tx: &Transaction<'_>, opts: &ReadOptions) -> Result<Catalog, AuditError> {
    let row = tx
        .query_one(
            "select current_database()::text, current_setting('server_version'), \
             pg_database_size(current_database())",
            &[],
        )
        .await
        .map_err(AuditError::query("reading the server version"))?;
    let database: String = row.get(0);
    let server_version: String = row.get(1);
    let database_bytes: i64 = row.get(2);

    let schemas = schemas(tx, &opts.schemas).await?;
    let mut tables = tables(tx, &schemas).await?;
    let oids: Vec<Oid> = tables.iter().map(|t| t.oid).collect();
    let position: HashMap<Oid, usize> = oids.iter().enumerate().map(|(i, &o)| (o, i)).collect();

    for (rel, column) in columns(tx, &oids).await? {
        if let Some(&i) = position.get(&rel) {
            tables[i].columns.push(column);
        }
    }
    for (rel, constraint) in constraints(tx, &oids).await? {
        if let Some(&i) = position.get(&rel) {
            tables[i].constraints.push(constraint);
        }
    }
    for (rel, index) in indexes(tx, &oids).await? {
        if let Some(&i) = position.get(&rel) {
            tables[i].indexes.push(index);
        }
    }
    for (rel, trigger) in triggers(tx, &oids).await? {
        if let Some(&i) = position.get(&rel) {
            tables[i].triggers.push(trigger);
        }
    }
    for (rel, policy) in policies(tx, &oids).await? {
        if let Some(&i) = position.get(&rel) {
            tables[i].policies.push(policy);
        }
    }

    let external: Vec<Oid> = {
        let mut v: Vec<Oid> = tables
            .iter()
            .flat_map(|t| t.foreign_keys().map(|(_, f)| f.target))
            .filter(|o| !position.contains_key(o))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let external_tables = external_tables(tx, &external).await?;
    let enums = enums(tx).await?;
    let users_tables = users_tables(tx, &opts.users_tables).await?;
    let updated_at_functions = updated_at_functions(tx).await?;
    let called = policy_function_names(&tables);
    let function_volatility = volatility(tx, &called).await?;

    Ok(Catalog {
        database,
        server_version,
        database_bytes,
        schemas,
        tables,
        enums,
        users_tables,
        updated_at_functions,
        external_tables,
        function_volatility,
    })
}

async fn schemas(tx: &Transaction<'_>, wanted: &[String]) -> Result<Vec<String>, AuditError> {
    if !wanted.is_empty() {
        let rows = tx
            .query(
                "select nspname::text from pg_namespace where nspname = any($1) order by 1",
                &[&wanted],
            )
            .await
            .map_err(AuditError::query("reading schemas"))?;
        let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        if let Some(missing) = wanted.iter().find(|s| !found.contains(s)) {
            return Err(AuditError::NoSuchSchema(missing.clone()));
        }
        return Ok(found);
    }
    let excluded: Vec<&str> = DEFAULT_EXCLUDED_SCHEMAS.to_vec();
    let rows = tx
        .query(
            "select n.nspname::text
               from pg_namespace n
              where n.nspname !~ '^pg_'
                and n.nspname <> all($1)
                -- schemas an extension created are the extension's business
                and not exists (select from pg_depend d
                                 where d.classid = 'pg_namespace'::regclass
                                   and d.objid = n.oid and d.deptype = 'e')
              order by 1",
            &[&excluded],
        )
        .await
        .map_err(AuditError::query("reading schemas"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

async fn tables(tx: &Transaction<'_>, schemas: &[String]) -> Result<Vec<Table>, AuditError> {
    let rows = tx
        .query(
            "select c.oid, n.nspname::text, c.relname::text, c.relkind = 'p',
                    c.relrowsecurity, c.relforcerowsecurity,
                    pg_table_size(c.oid), pg_indexes_size(c.oid), c.reltuples::float8,
                    coalesce(s.heap_blks_hit, 0), coalesce(s.heap_blks_read, 0),
                    coalesce(s.idx_blks_hit, 0), coalesce(s.idx_blks_read, 0)
               from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
               left join pg_statio_all_tables s on s.relid = c.oid
              where c.relkind in ('r', 'p')
                and not c.relispartition
                and n.nspname = any($1)
                -- tables an extension owns are not the application's
                and not exists (select from pg_depend d
                                 where d.classid = 'pg_class'::regclass
                                   and d.objid = c.oid and d.deptype = 'e')
              order by 2, 3",
            &[&schemas],
        )
        .await
        .map_err(AuditError::query("reading tables"))?;
    Ok(rows
        .iter()
        .map(|r| Table {
            oid: r.get(0),
            schema: r.get(1),
            name: r.get(2),
            partitioned: r.get(3),
            rls_enabled: r.get(4),
            rls_forced: r.get(5),
            columns: Vec::new(),
            constraints: Vec::new(),
            indexes: Vec::new(),
            triggers: Vec::new(),
            policies: Vec::new(),
            stats: TableStats {
                table_bytes: r.get(6),
                index_bytes: r.get(7),
                row_estimate: r.get(8),
                heap_blks_hit: r.get(9),
                heap_blks_read: r.get(10),
                idx_blks_hit: r.get(11),
                idx_blks_read: r.get(12),
            },
        })
        .collect())
}

fn first_char(s: &str) -> char {
    s.chars().next().unwrap_or(' ')
}

async fn columns(tx: &Transaction<'_>, oids: &[Oid]) -> Result<Vec<(Oid, Column)>, AuditError> {
    let rows = tx
        .query(
            "select a.attrelid, a.attnum, a.attname::text,
                    format_type(a.atttypid, a.atttypmod), a.atttypid,
                    coalesce(bt.typname, t.typname)::text,
                    case when t.typtype = 'd' then t.typtypmod else a.atttypmod end,
                    t.typtype::text, a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
               from pg_attribute a
               join pg_type t on t.oid = a.atttypid
               left join pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
               left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
              where a.attrelid = any($1) and a.attnum > 0 and not a.attisdropped
              order by a.attrelid, a.attnum",
            &[&oids],
        )
        .await
        .map_err(AuditError::query("reading columns"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let typtype: String = r.get(7);
            (
                r.get(0),
                Column {
                    num: r.get(1),
                    name: r.get(2),
                    type_sql: r.get(3),
                    type_oid: r.get(4),
                    base_type: r.get(5),
                    base_typmod: r.get(6),
                    typtype: first_char(&typtype),
                    not_null: r.get(8),
                    default: r.get(9),
                },
            )
        })
        .collect())
}

async fn constraints(
    tx: &Transaction<'_>,
    oids: &[Oid],
) -> Result<Vec<(Oid, Constraint)>, AuditError> {
    let rows = tx
        .query(
            "select co.conrelid, co.conname::text, co.contype::text,
                    coalesce(co.conkey, '{}')::int2[], pg_get_constraintdef(co.oid),
                    co.confrelid, fn.nspname::text, fc.relname::text,
                    array(select a.attname::text
                            from unnest(co.confkey) with ordinality k(num, ord)
                            join pg_attribute a on a.attrelid = co.confrelid and a.attnum = k.num
                           order by k.ord),
                    co.confdeltype::text, co.confupdtype::text, co.confmatchtype::text,
                    coalesce(co.confdelsetcols, '{}')::int2[], co.condeferrable, co.condeferred
               from pg_constraint co
               left join pg_class fc on fc.oid = co.confrelid
               left join pg_namespace fn on fn.oid = fc.relnamespace
              where co.conrelid = any($1)
              order by co.conrelid, co.conname",
            &[&oids],
        )
        .await
        .map_err(AuditError::query("reading constraints"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let contype: String = r.get(2);
            let kind = match contype.as_str() {
                "p" => ConstraintKind::PrimaryKey,
                "f" => ConstraintKind::ForeignKey,
                "u" => ConstraintKind::Unique,
                "c" => ConstraintKind::Check,
                _ => ConstraintKind::Other,
            };
            let foreign = (kind == ConstraintKind::ForeignKey).then(|| {
                let del: String = r.get(9);
                let upd: String = r.get(10);
                let matching: String = r.get(11);
                ForeignKey {
                    target: r.get(5),
                    target_schema: r.get(6),
                    target_name: r.get(7),
                    target_columns: r.get(8),
                    on_delete: first_char(&del),
                    on_update: first_char(&upd),
                    match_type: first_char(&matching),
                    delete_set_columns: r.get(12),
                    deferrable: r.get(13),
                    deferred: r.get(14),
                }
            });
            (
                r.get(0),
                Constraint {
                    name: r.get(1),
                    kind,
                    columns: r.get(3),
                    definition: r.get(4),
                    foreign,
                },
            )
        })
        .collect())
}

async fn indexes(tx: &Transaction<'_>, oids: &[Oid]) -> Result<Vec<(Oid, Index)>, AuditError> {
    let rows = tx
        .query(
            "select i.indrelid, ic.relname::text, am.amname::text, i.indisunique, i.indisprimary,
                    i.indisvalid, i.indnkeyatts, i.indkey::int2[], i.indclass::oid[],
                    i.indcollation::oid[], i.indoption::int2[],
                    pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid),
                    pg_get_indexdef(i.indexrelid), pg_relation_size(i.indexrelid),
                    coalesce(s.idx_scan, 0),
                    (select co.conname::text from pg_constraint co
                      where co.conindid = i.indexrelid and co.conrelid = i.indrelid
                        and co.contype in ('p', 'u', 'x'))
               from pg_index i
               join pg_class ic on ic.oid = i.indexrelid
               join pg_am am on am.oid = ic.relam
               left join pg_stat_all_indexes s on s.indexrelid = i.indexrelid
              where i.indrelid = any($1)
              order by i.indrelid, ic.relname",
            &[&oids],
        )
        .await
        .map_err(AuditError::query("reading indexes"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let key_count = usize::try_from(r.get::<_, i16>(6)).unwrap_or(0);
            let all: Vec<i16> = r.get(7);
            let (key, include) = all.split_at(key_count.min(all.len()));
            (
                r.get(0),
                Index {
                    name: r.get(1),
                    method: r.get(2),
                    unique: r.get(3),
                    primary: r.get(4),
                    valid: r.get(5),
                    key_columns: key.to_vec(),
                    include_columns: include.to_vec(),
                    opclasses: r.get(8),
                    collations: r.get(9),
                    options: r.get(10),
                    expressions: r.get(11),
                    predicate: r.get(12),
                    definition: r.get(13),
                    bytes: r.get(14),
                    scans: r.get(15),
                    constraint: r.get(16),
                },
            )
        })
        .collect())
}

async fn triggers(tx: &Transaction<'_>, oids: &[Oid]) -> Result<Vec<(Oid, Trigger)>, AuditError> {
    let rows = tx
        .query(
            "select t.tgrelid, t.tgname::text, t.tgtype, t.tgenabled::text,
                    pn.nspname::text, p.proname::text, coalesce(p.prosrc, ''),
                    encode(t.tgargs, 'escape')
               from pg_trigger t
               join pg_proc p on p.oid = t.tgfoid
               join pg_namespace pn on pn.oid = p.pronamespace
              where t.tgrelid = any($1) and not t.tgisinternal
              order by t.tgrelid, t.tgname",
            &[&oids],
        )
        .await
        .map_err(AuditError::query("reading triggers"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let enabled: String = r.get(3);
            let schema: String = r.get(4);
            let name: String = r.get(5);
            (
                r.get(0),
                Trigger {
                    name: r.get(1),
                    tgtype: r.get(2),
                    enabled: first_char(&enabled),
                    function: sql::qualified(&schema, &name),
                    function_source: r.get(6),
                    args: r.get(7),
                },
            )
        })
        .collect())
}

async fn policies(tx: &Transaction<'_>, oids: &[Oid]) -> Result<Vec<(Oid, Policy)>, AuditError> {
    let rows = tx
        .query(
            "select p.polrelid, p.polname::text, p.polcmd::text, p.polpermissive,
                    array(select case when r = 0 then 'public' else pg_get_userbyid(r)::text end
                            from unnest(p.polroles) r),
                    pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
               from pg_policy p
              where p.polrelid = any($1)
              order by p.polrelid, p.polname",
            &[&oids],
        )
        .await
        .map_err(AuditError::query("reading policies"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let cmd: String = r.get(2);
            (
                r.get(0),
                Policy {
                    name: r.get(1),
                    command: first_char(&cmd),
                    permissive: r.get(3),
                    roles: r.get(4),
                    using: r.get(5),
                    with_check: r.get(6),
                },
            )
        })
        .collect())
}

async fn external_tables(
    tx: &Transaction<'_>,
    oids: &[Oid],
) -> Result<HashMap<Oid, (String, Vec<String>)>, AuditError> {
    if oids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = tx
        .query(
            "select c.oid, n.nspname || '.' || c.relname,
                    array(select a.attname::text from pg_attribute a
                           where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                           order by a.attnum)
               from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
              where c.oid = any($1)",
            &[&oids],
        )
        .await
        .map_err(AuditError::query("reading referenced tables"))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect())
}

async fn enums(tx: &Transaction<'_>) -> Result<HashMap<Oid, EnumType>, AuditError> {
    let rows = tx
        .query(
            "select t.oid, n.nspname::text, t.typname::text,
                    array_agg(e.enumlabel::text order by e.enumsortorder)
               from pg_type t
               join pg_namespace n on n.oid = t.typnamespace
               join pg_enum e on e.enumtypid = t.oid
              group by 1, 2, 3",
            &[],
        )
        .await
        .map_err(AuditError::query("reading enums"))?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                EnumType {
                    schema: r.get(1),
                    name: r.get(2),
                    labels: r.get(3),
                },
            )
        })
        .collect())
}

async fn users_tables(
    tx: &Transaction<'_>,
    configured: &[String],
) -> Result<Vec<UsersTable>, AuditError> {
    let rows = tx
        .query(
            "select c.oid, n.nspname::text, c.relname::text, a.attname::text,
                    (select t.typname::text from pg_type t where t.oid = a.atttypid)
               from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
               join pg_constraint co on co.conrelid = c.oid and co.contype = 'p'
                                    and cardinality(co.conkey) = 1
               join pg_attribute a on a.attrelid = c.oid and a.attnum = co.conkey[1]
              where c.relkind in ('r', 'p')
                and case when cardinality($1::text[]) = 0 then c.relname = 'users'
                         else n.nspname || '.' || c.relname = any($1) end
              -- auth.users (Supabase's, or showtree's shim) first
              order by n.nspname <> 'auth', n.nspname",
            &[&configured],
        )
        .await
        .map_err(AuditError::query("reading the users tables"))?;
    Ok(rows
        .iter()
        .map(|r| UsersTable {
            oid: r.get(0),
            schema: r.get(1),
            name: r.get(2),
            key_column: r.get(3),
            key_type: r.get(4),
        })
        .collect())
}

async fn updated_at_functions(tx: &Transaction<'_>) -> Result<Vec<String>, AuditError> {
    let rows = tx
        .query(
            "select n.nspname::text, p.proname::text
               from pg_proc p
               join pg_namespace n on n.oid = p.pronamespace
              where p.prorettype = 'trigger'::regtype
                and p.pronargs = 0
                and p.prosrc ~* 'new\\.updated_at\\s*:?='
                and n.nspname not in ('pg_catalog', 'information_schema')
              -- the conventional name first
              order by p.proname <> 'set_updated_at', 1, 2",
            &[],
        )
        .await
        .map_err(AuditError::query("reading trigger functions"))?;
    Ok(rows
        .iter()
        .map(|r| sql::qualified(&r.get::<_, String>(0), &r.get::<_, String>(1)))
        .collect())
}

fn policy_function_names(tables: &[Table]) -> Vec<String> {
    let mut names: Vec<String> = tables
        .iter()
        .flat_map(|t| &t.policies)
        .flat_map(|p| p.using.iter().chain(p.with_check.iter()))
        .flat_map(|expr| crate::rules::rls::calls(expr))
        .map(|call| call.name)
        .collect();
    names.sort();
    names.dedup();
    names
}

async fn volatility(
    tx: &Transaction<'_>,
    names: &[String],
) -> Result<HashMap<(String, String), Volatility>, AuditError> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = tx
        .query(
            "select n.nspname::text, p.proname::text, p.provolatile::text
               from pg_proc p
               join pg_namespace n on n.oid = p.pronamespace
              where p.proname = any($1)",
            &[&names],
        )
        .await
        .map_err(AuditError::query("reading function volatility"))?;
    let mut out: HashMap<(String, String), Volatility> = HashMap::new();
    for r in &rows {
        let v: String = r.get(2);
        let v = match v.as_str() {
            "i" => Volatility::Immutable,
            "s" => Volatility::Stable,
            _ => Volatility::Volatile,
        };
        let entry = out
            .entry((r.get(0), r.get(1)))
            .or_insert(Volatility::Immutable);
        *entry = (*entry).max(v);
    }
    Ok(out)
}

/// Distinct values of each status-like column (`--sample`): one grouped
/// scan per column, at most 100 values, most frequent first.
pub async fn sample_values(
    tx: &Transaction<'_>,
    columns: &[(String, String)],
) -> Result<HashMap<(String, String), Vec<String>>, AuditError> {
    let mut out = HashMap::new();
    for (table_sql, column) in columns {
        // Identifiers cannot be bound parameters; both are quoted by sql::ident.
        let query = format!(
            "select {col}::text, count(*) from {table_sql} where {col} is not null \
             group by 1 order by 2 desc, 1 limit 100",
            col = sql::ident(column),
        );
        let rows = tx
            .query(&query, &[])
            .await
            .map_err(AuditError::query("sampling status values"))?;
        out.insert(
            (table_sql.clone(), column.clone()),
            rows.iter().map(|r| r.get(0)).collect(),
        );
    }
    Ok(out)
}
