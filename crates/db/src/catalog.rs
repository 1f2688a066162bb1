//! Catalog snapshots: a database's schema as comparable text.
//!
//! A [`Snapshot`] maps one key per object (`"index app.tasks_project_id_idx"`,
//! `"column app.tasks.title"`) to its definition as PostgreSQL prints it.
//! Keys and values use names, never OIDs, and column positions count live
//! columns only, so two databases built by the same migrations give equal
//! snapshots, and a revert that forgets something shows up as a difference
//! naming the object. `migrate::verify` is built on this.
//!
//! Covered, for every user schema (all but `pg_catalog`, `information_schema`,
//! `pg_toast*`, `pg_temp*` and the runner's `showtree_meta`), skipping
//! objects that belong to an extension: schemas, tables, views, materialized
//! views, sequences, foreign tables, columns, constraints, indexes, triggers,
//! rules, extended statistics, functions, procedures, aggregates, operators,
//! policies, enums, domains, composite and range types, collations, casts,
//! extensions, event triggers, default privileges, comments and ACLs.
//! Ownership and roles are cluster-level facts and are left out; ACL entries
//! granted to an object's owner read `owner`.

use std::collections::BTreeMap;
use std::fmt;

use tokio_postgres::{Client, SimpleQueryMessage};

/// A database's schema: one entry per object, keyed `"kind schema.name[.sub]"`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Object key -> definition text.
    pub objects: BTreeMap<String, String>,
}

/// One object that differs between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// In the first snapshot, not in the second.
    Missing {
        /// The object's key.
        key: String,
        /// Its definition in the first snapshot.
        before: String,
    },
    /// In the second snapshot, not in the first.
    Added {
        /// The object's key.
        key: String,
        /// Its definition in the second snapshot.
        after: String,
    },
    /// In both, with different definitions.
    Changed {
        /// The object's key.
        key: String,
        /// Its definition in the first snapshot.
        before: String,
        /// Its definition in the second snapshot.
        after: String,
    },
}

impl Difference {
    /// The key of the object that differs.
    pub fn key(&self) -> &str {
        match self {
            Difference::Missing { key, .. }
            | Difference::Added { key, .. }
            | Difference::Changed { key, .. } => key,
        }
    }
}

/// How much of a definition a message quotes.
const EXCERPT_CHARS: usize = 100;

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing { key, before } => {
                write!(
                    f,
                    "{key} is missing (expected: {})",
                    excerpt(&squash(before), 0)
                )
            }
            Difference::Added { key, after } => {
                write!(
                    f,
                    "{key} is unexpected (found: {})",
                    excerpt(&squash(after), 0)
                )
            }
            Difference::Changed { key, before, after } => {
                let (before, after) = (squash(before), squash(after));
                // Quote both from just before where they part, which is where
                // the reader needs to look in a long function body.
                let split = before
                    .chars()
                    .zip(after.chars())
                    .take_while(|(b, a)| b == a)
                    .count();
                let from = split.saturating_sub(EXCERPT_CHARS / 3);
                write!(
                    f,
                    "{key} changed: expected `{}`, found `{}`",
                    excerpt(&before, from),
                    excerpt(&after, from)
                )
            }
        }
    }
}

/// Collapses runs of whitespace so multi-line definitions fit on one line.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `EXCERPT_CHARS` characters of `text` starting at character `from`, with
/// `...` where text was cut.
fn excerpt(text: &str, from: usize) -> String {
    let total = text.chars().count();
    let mut out: String = text.chars().skip(from).take(EXCERPT_CHARS).collect();
    if from > 0 {
        out.insert_str(0, "...");
    }
    if from + EXCERPT_CHARS < total {
        out.push_str("...");
    }
    out
}

impl Snapshot {
    /// What changes going from `self` to `other`, sorted by key.
    pub fn diff(&self, other: &Snapshot) -> Vec<Difference> {
        let mut out = Vec::new();
        for (key, before) in &self.objects {
            match other.objects.get(key) {
                None => out.push(Difference::Missing {
                    key: key.clone(),
                    before: before.clone(),
                }),
                Some(after) if after != before => out.push(Difference::Changed {
                    key: key.clone(),
                    before: before.clone(),
                    after: after.clone(),
                }),
                Some(_) => {}
            }
        }
        for (key, after) in &other.objects {
            if !self.objects.contains_key(key) {
                out.push(Difference::Added {
                    key: key.clone(),
                    after: after.clone(),
                });
            }
        }
        out.sort_by(|a, b| a.key().cmp(b.key()));
        out
    }
}

/// Reads the schema of the database `client` is connected to.
///
/// Sets the session's `search_path` to empty while it reads (and restores it
/// after), so every name PostgreSQL prints comes out schema-qualified the
/// same way whatever the caller's settings are; don't share `client` with
/// concurrent work meanwhile.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn snapshot(client: &Client) -> Result<Snapshot, tokio_postgres::Error> {
    let search_path: String = client
        .query_one("select current_setting('search_path')", &[])
        .await?
        .get(0);
    client
        .execute("select set_config('search_path', '', false)", &[])
        .await?;
    // One simple-query round trip for all the catalog queries.
    let read = client.simple_query(&queries().join(";\n")).await;
    let restored = client
        .execute(
            "select set_config('search_path', $1, false)",
            &[&search_path],
        )
        .await;
    let messages = read?;
    restored?;

    // A key should be unique, but if two rows ever share one, keep both
    // (sorted) rather than let row order decide.
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for message in &messages {
        if let SimpleQueryMessage::Row(row) = message {
            if let Some(key) = row.get(0) {
                grouped
                    .entry(key.to_owned())
                    .or_default()
                    .push(row.get(1).unwrap_or_default().to_owned());
            }
        }
    }
    let objects = grouped
        .into_iter()
        .map(|(key, mut values)| {
            values.sort();
            (key, values.join("\n"))
        })
        .collect();
    Ok(Snapshot { objects })
}

/// True for a namespace name that holds user objects.
fn user_schema(nspname: &str) -> String {
    format!(
        "({nspname} not in ('pg_catalog', 'information_schema', 'showtree_meta') \
         and {nspname} not like 'pg\\_toast%' and {nspname} not like 'pg\\_temp%')"
    )
}

/// True unless the object is a member of an extension (the extension is
/// recorded by name and version instead).
fn not_in_extension(catalog: &str, oid: &str) -> String {
    format!(
        "not exists (select from pg_depend ext_dep where ext_dep.classid = '{catalog}'::regclass \
         and ext_dep.objid = {oid} and ext_dep.deptype = 'e')"
    )
}

/// An ACL as sorted `grantee=privilege` items (`*` marks grant option),
/// grantee `owner` for the owner and `public` for everyone. A null ACL means
/// the default for `kind`, an SQL expression for `acldefault`'s object type,
/// so granting and revoking back compares equal to never granting;
/// `kind = None` means null is empty.
fn acl(acl: &str, kind: Option<&str>, owner: &str) -> String {
    let items = match kind {
        Some(kind) => format!("coalesce({acl}, acldefault(({kind})::\"char\", {owner}))"),
        // aclexplode is strict: null yields no rows, hence ''.
        None => acl.to_owned(),
    };
    format!(
        "(select coalesce(string_agg(acl_items.item, ',' order by acl_items.item), '') from (\
           select case when acl_x.grantee = 0 then 'public' \
                       when acl_x.grantee = {owner} then 'owner' \
                       else pg_get_userbyid(acl_x.grantee)::text end \
                  || '=' || acl_x.privilege_type \
                  || case when acl_x.is_grantable then '*' else '' end as item \
           from aclexplode({items}) acl_x) acl_items)"
    )
}

/// One query per kind of object, each returning `(key, definition)`.
fn queries() -> Vec<String> {
    let ns = user_schema("n.nspname");
    vec![
        // Schemas.
        format!(
            "select 'schema ' || n.nspname, 'acl=' || {acl}
             from pg_namespace n
             where {ns} and {ext}",
            acl = acl("n.nspacl", Some("'n'"), "n.nspowner"),
            ext = not_in_extension("pg_namespace", "n.oid"),
        ),
        // Relations other than indexes and composite types.
        format!(
            "select case c.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view'
                        when 'm' then 'materialized_view' when 'S' then 'sequence'
                        else 'foreign_table' end || ' ' || n.nspname || '.' || c.relname,
                concat_ws(' ',
                    'relkind=' || c.relkind::text,
                    'persistence=' || c.relpersistence::text,
                    'rls=' || c.relrowsecurity,
                    'force_rls=' || c.relforcerowsecurity,
                    'replica_identity=' || c.relreplident::text,
                    'access_method=' || am.amname,
                    'of_type=' || case when c.reloftype <> 0 then format_type(c.reloftype, null) end,
                    'partition_key=' || pg_get_partkeydef(c.oid),
                    'partition_bound=' || pg_get_expr(c.relpartbound, c.oid),
                    'parents=' || (select string_agg(pn.nspname || '.' || p.relname, ',' order by i.inhseqno)
                                   from pg_inherits i join pg_class p on p.oid = i.inhparent
                                   join pg_namespace pn on pn.oid = p.relnamespace
                                   where i.inhrelid = c.oid),
                    'options=' || (select string_agg(o, ',' order by o) from unnest(c.reloptions) o),
                    'sequence=' || (select format('type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s',
                                                  format_type(s.seqtypid, null), s.seqstart, s.seqincrement,
                                                  s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
                                    from pg_sequence s where s.seqrelid = c.oid),
                    'owned_by=' || (select tn.nspname || '.' || t.relname || '.' || a.attname
                                    from pg_depend d join pg_class t on t.oid = d.refobjid
                                    join pg_namespace tn on tn.oid = t.relnamespace
                                    join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                                    where c.relkind = 'S' and d.classid = 'pg_class'::regclass and d.objid = c.oid
                                      and d.refclassid = 'pg_class'::regclass and d.refobjsubid > 0
                                      and d.deptype in ('a', 'i')
                                    limit 1),
                    'definition=' || case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end,
                    'acl=' || {acl})
             from pg_class c
             join pg_namespace n on n.oid = c.relnamespace
             left join pg_am am on am.oid = c.relam
             where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and {ns} and {ext}",
            acl = acl(
                "c.relacl",
                Some("case when c.relkind = 'S' then 's' else 'r' end"),
                "c.relowner"
            ),
            ext = not_in_extension("pg_class", "c.oid"),
        ),
        // Columns of tables, views and foreign tables; position counts live
        // columns, so a column dropped and re-added lands where it was.
        // Only the documented attribute options (n_distinct*) are kept: some
        // servers stamp attoptions with per-build values (`pg_attver=...`)
        // that differ every time a column is created.
        format!(
            "select 'column ' || n.nspname || '.' || c.relname || '.' || a.attname,
                concat_ws(' ',
                    'position=' || row_number() over (partition by a.attrelid order by a.attnum),
                    'type=' || format_type(a.atttypid, a.atttypmod),
                    'not_null=' || a.attnotnull,
                    'default=' || pg_get_expr(ad.adbin, ad.adrelid),
                    'identity=' || nullif(a.attidentity::text, ''),
                    'generated=' || nullif(a.attgenerated::text, ''),
                    'collation=' || case when a.attcollation <> t.typcollation
                                         then (select cn.nspname || '.' || co.collname from pg_collation co
                                               join pg_namespace cn on cn.oid = co.collnamespace
                                               where co.oid = a.attcollation) end,
                    'storage=' || case when a.attstorage <> t.typstorage then a.attstorage::text end,
                    'compression=' || nullif(a.attcompression::text, ''),
                    'statistics=' || nullif(a.attstattarget, -1),
                    'local=' || a.attislocal,
                    'inherited=' || a.attinhcount,
                    'options=' || (select string_agg(o, ',' order by o) from unnest(a.attoptions) o
                                   where o like 'n\\_distinct%'),
                    'acl=' || nullif({acl}, ''))
             from pg_attribute a
             join pg_class c on c.oid = a.attrelid
             join pg_namespace n on n.oid = c.relnamespace
             join pg_type t on t.oid = a.atttypid
             left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
             where a.attnum > 0 and not a.attisdropped
               and c.relkind in ('r', 'p', 'v', 'm', 'f') and {ns} and {ext}",
            acl = acl("a.attacl", None, "c.relowner"),
            ext = not_in_extension("pg_class", "c.oid"),
        ),
        // Table constraints.
        format!(
            "select 'constraint ' || n.nspname || '.' || c.relname || '.' || con.conname,
                concat_ws(' ',
                    'type=' || con.contype::text,
                    'deferrable=' || con.condeferrable,
                    'deferred=' || con.condeferred,
                    'validated=' || con.convalidated,
                    'local=' || con.conislocal,
                    'inherited=' || con.coninhcount,
                    'no_inherit=' || con.connoinherit,
                    'definition=' || pg_get_constraintdef(con.oid))
             from pg_constraint con
             join pg_class c on c.oid = con.conrelid
             join pg_namespace n on n.oid = c.relnamespace
             where {ns} and {ext}",
            ext = not_in_extension("pg_class", "c.oid"),
        ),
        // Domain constraints.
        format!(
            "select 'domain_constraint ' || n.nspname || '.' || t.typname || '.' || con.conname,
                concat_ws(' ',
                    'validated=' || con.convalidated,
                    'definition=' || pg_get_constraintdef(con.oid))
             from pg_constraint con
             join pg_type t on t.oid = con.contypid
             join pg_namespace n on n.oid = t.typnamespace
             where {ns} and {ext}",
            ext = not_in_extension("pg_type", "t.oid"),
        ),
        // Indexes (constraint-backed ones too: they are what enforces them).
        format!(
            "select 'index ' || n.nspname || '.' || ic.relname,
                concat_ws(' ',
                    pg_get_indexdef(i.indexrelid),
                    'clustered=' || i.indisclustered,
                    'replica_identity=' || i.indisreplident,
                    'valid=' || i.indisvalid,
                    'parent=' || (select pn.nspname || '.' || p.relname from pg_inherits inh
                                  join pg_class p on p.oid = inh.inhparent
                                  join pg_namespace pn on pn.oid = p.relnamespace
                                  where inh.inhrelid = ic.oid))
             from pg_index i
             join pg_class ic on ic.oid = i.indexrelid
             join pg_namespace n on n.oid = ic.relnamespace
             where {ns} and {ext}",
            ext = not_in_extension("pg_class", "ic.oid"),
        ),
        // Triggers, with whether they fire (enabled, disabled, replica, always).
        format!(
            "select 'trigger ' || n.nspname || '.' || c.relname || '.' || tg.tgname,
                pg_get_triggerdef(tg.oid) || ' enabled=' || tg.tgenabled::text
             from pg_trigger tg
             join pg_class c on c.oid = tg.tgrelid
             join pg_namespace n on n.oid = c.relnamespace
             where not tg.tgisinternal and {ns}"
        ),
        // Rewrite rules other than the ones that implement views.
        format!(
            "select 'rule ' || n.nspname || '.' || c.relname || '.' || r.rulename,
                pg_get_ruledef(r.oid) || ' enabled=' || r.ev_enabled::text
             from pg_rewrite r
             join pg_class c on c.oid = r.ev_class
             join pg_namespace n on n.oid = c.relnamespace
             where r.rulename <> '_RETURN' and {ns}"
        ),
        // Extended statistics.
        format!(
            "select 'statistics ' || n.nspname || '.' || s.stxname, pg_get_statisticsobjdef(s.oid)
             from pg_statistic_ext s
             join pg_namespace n on n.oid = s.stxnamespace
             where {ns} and {ext}",
            ext = not_in_extension("pg_statistic_ext", "s.oid"),
        ),
        // Functions, procedures, window functions and aggregates; overloads
        // are told apart by argument types. pg_get_functiondef rejects
        // aggregates, so they are described from pg_aggregate.
        format!(
            "select case p.prokind when 'f' then 'function' when 'p' then 'procedure'
                        when 'a' then 'aggregate' else 'window_function' end
                    || ' ' || n.nspname || '.' || p.proname
                    || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                concat_ws(' ',
                    case when p.prokind = 'a' then
                        (select concat_ws(' ',
                            'returns=' || pg_get_function_result(p.oid),
                            'kind=' || ag.aggkind::text,
                            'direct_args=' || ag.aggnumdirectargs,
                            'sfunc=' || ag.aggtransfn::regprocedure::text,
                            'stype=' || format_type(ag.aggtranstype, null),
                            'sspace=' || ag.aggtransspace,
                            'finalfunc=' || ag.aggfinalfn::regprocedure::text,
                            'finalfunc_extra=' || ag.aggfinalextra,
                            'finalfunc_modify=' || ag.aggfinalmodify::text,
                            'combinefunc=' || ag.aggcombinefn::regprocedure::text,
                            'serialfunc=' || ag.aggserialfn::regprocedure::text,
                            'deserialfunc=' || ag.aggdeserialfn::regprocedure::text,
                            'msfunc=' || ag.aggmtransfn::regprocedure::text,
                            'minvfunc=' || ag.aggminvtransfn::regprocedure::text,
                            'mfinalfunc=' || ag.aggmfinalfn::regprocedure::text,
                            'mstype=' || format_type(nullif(ag.aggmtranstype, 0), null),
                            'initcond=' || ag.agginitval,
                            'minitcond=' || ag.aggminitval,
                            'sortop=' || ag.aggsortop::regoperator::text,
                            'strict=' || p.proisstrict,
                            'parallel=' || p.proparallel::text)
                         from pg_aggregate ag where ag.aggfnoid = p.oid)
                    else pg_get_functiondef(p.oid) end,
                    'acl=' || {acl})
             from pg_proc p
             join pg_namespace n on n.oid = p.pronamespace
             where {ns} and {ext}",
            acl = acl("p.proacl", Some("'f'"), "p.proowner"),
            ext = not_in_extension("pg_proc", "p.oid"),
        ),
        // Operators.
        format!(
            "select 'operator ' || n.nspname || '.' || o.oprname
                    || '(' || coalesce(format_type(nullif(o.oprleft, 0), null), 'none')
                    || ', ' || coalesce(format_type(nullif(o.oprright, 0), null), 'none') || ')',
                concat_ws(' ',
                    'function=' || o.oprcode::regprocedure::text,
                    'result=' || format_type(o.oprresult, null),
                    'commutator=' || o.oprcom::regoperator::text,
                    'negator=' || o.oprnegate::regoperator::text,
                    'restrict=' || o.oprrest::regprocedure::text,
                    'join=' || o.oprjoin::regprocedure::text,
                    'hashes=' || o.oprcanhash,
                    'merges=' || o.oprcanmerge)
             from pg_operator o
             join pg_namespace n on n.oid = o.oprnamespace
             where {ns} and {ext}",
            ext = not_in_extension("pg_operator", "o.oid"),
        ),
        // Row level security policies.
        format!(
            "select 'policy ' || n.nspname || '.' || c.relname || '.' || pol.polname,
                concat_ws(' ',
                    'permissive=' || pol.polpermissive,
                    'command=' || pol.polcmd::text,
                    'roles=' || (select string_agg(r.name, ',' order by r.name) from (
                                    select case when role_id = 0 then 'public'
                                                else pg_get_userbyid(role_id)::text end as name
                                    from unnest(pol.polroles) role_id) r),
                    'using=' || pg_get_expr(pol.polqual, pol.polrelid),
                    'with_check=' || pg_get_expr(pol.polwithcheck, pol.polrelid))
             from pg_policy pol
             join pg_class c on c.oid = pol.polrelid
             join pg_namespace n on n.oid = c.relnamespace
             where {ns}"
        ),
        // Enums (labels in sort order), domains, free-standing composite
        // types, range types and base types; array and multirange types
        // come with those and row types with their tables.
        format!(
            "select case t.typtype when 'e' then 'enum' when 'd' then 'domain' when 'c' then 'composite_type'
                        when 'r' then 'range' else 'base_type' end || ' ' || n.nspname || '.' || t.typname,
                concat_ws(' ',
                    case t.typtype
                    when 'e' then 'labels=' || (select string_agg(e.enumlabel, ',' order by e.enumsortorder)
                                                from pg_enum e where e.enumtypid = t.oid)
                    when 'd' then concat_ws(' ',
                        'base=' || format_type(t.typbasetype, t.typtypmod),
                        'not_null=' || t.typnotnull,
                        'default=' || t.typdefault,
                        'collation=' || (select cn.nspname || '.' || co.collname from pg_collation co
                                         join pg_namespace cn on cn.oid = co.collnamespace
                                         join pg_type bt on bt.oid = t.typbasetype
                                         where co.oid = t.typcollation and t.typcollation <> bt.typcollation))
                    when 'c' then 'attributes=' || (select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod),
                                                                      ', ' order by a.attnum)
                                                    from pg_attribute a
                                                    where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped)
                    when 'r' then (select concat_ws(' ',
                                       'subtype=' || format_type(r.rngsubtype, null),
                                       'opclass=' || oc.opcname,
                                       'canonical=' || r.rngcanonical::regprocedure::text,
                                       'subdiff=' || r.rngsubdiff::regprocedure::text,
                                       'multirange=' || format_type(r.rngmultitypid, null))
                                   from pg_range r join pg_opclass oc on oc.oid = r.rngsubopc
                                   where r.rngtypid = t.oid)
                    else concat_ws(' ',
                        'input=' || t.typinput::regprocedure::text,
                        'output=' || t.typoutput::regprocedure::text,
                        'length=' || t.typlen,
                        'by_value=' || t.typbyval,
                        'align=' || t.typalign::text,
                        'storage=' || t.typstorage::text)
                    end,
                    'acl=' || {acl})
             from pg_type t
             join pg_namespace n on n.oid = t.typnamespace
             where {ns} and {ext}
               and (t.typtype in ('e', 'd', 'r')
                    or (t.typtype = 'c' and exists (select from pg_class tc where tc.oid = t.typrelid and tc.relkind = 'c'))
                    or (t.typtype = 'b' and not exists (select from pg_type arr where arr.typarray = t.oid)))",
            acl = acl("t.typacl", Some("'T'"), "t.typowner"),
            ext = not_in_extension("pg_type", "t.oid"),
        ),
        // Collations.
        format!(
            "select 'collation ' || n.nspname || '.' || co.collname,
                concat_ws(' ',
                    'provider=' || co.collprovider::text,
                    'deterministic=' || co.collisdeterministic,
                    'collate=' || co.collcollate,
                    'ctype=' || co.collctype)
             from pg_collation co
             join pg_namespace n on n.oid = co.collnamespace
             where {ns} and {ext}",
            ext = not_in_extension("pg_collation", "co.oid"),
        ),
        // User-defined casts (built-in ones have OIDs below 16384).
        format!(
            "select 'cast ' || format_type(ca.castsource, null) || ' as ' || format_type(ca.casttarget, null),
                concat_ws(' ',
                    'function=' || ca.castfunc::regprocedure::text,
                    'context=' || ca.castcontext::text,
                    'method=' || ca.castmethod::text)
             from pg_cast ca
             where ca.oid >= 16384 and {ext}",
            ext = not_in_extension("pg_cast", "ca.oid"),
        ),
        // Extensions.
        "select 'extension ' || e.extname,
                'version=' || e.extversion || ' schema=' || n.nspname
         from pg_extension e
         join pg_namespace n on n.oid = e.extnamespace"
            .to_owned(),
        // Event triggers (database-wide, not in a schema).
        format!(
            "select 'event_trigger ' || et.evtname,
                concat_ws(' ',
                    'event=' || et.evtevent,
                    'function=' || et.evtfoid::regprocedure::text,
                    'enabled=' || et.evtenabled::text,
                    'tags=' || array_to_string(et.evttags, ','))
             from pg_event_trigger et
             where {ext}",
            ext = not_in_extension("pg_event_trigger", "et.oid"),
        ),
        // Default privileges (`alter default privileges`).
        format!(
            "select 'default_privileges ' || pg_get_userbyid(da.defaclrole)::text
                    || ' ' || coalesce(n.nspname, '*') || ' ' || da.defaclobjtype::text,
                {acl}
             from pg_default_acl da
             left join pg_namespace n on n.oid = da.defaclnamespace
             where da.defaclnamespace = 0 or {ns}",
            acl = acl("da.defaclacl", None, "da.defaclrole"),
        ),
        // Comments on any of the above (pg_description is what
        // obj_description and col_description read). Objects from initdb
        // have OIDs below 16384; schemas are kept so `public`'s comment
        // counts.
        format!(
            "select 'comment ' || o.type || ' ' || o.identity, d.description
             from pg_description d
             cross join lateral pg_identify_object(d.classoid, d.objoid, d.objsubid) o
             where (d.objoid >= 16384 or d.classoid = 'pg_namespace'::regclass)
               and {ns}
               and not exists (select from pg_depend ext_dep where ext_dep.classid = d.classoid
                               and ext_dep.objid = d.objoid and ext_dep.deptype = 'e')",
            ns = user_schema("coalesce(o.schema, case when o.type = 'schema' then o.identity end, '')"),
        ),
    ]
}
