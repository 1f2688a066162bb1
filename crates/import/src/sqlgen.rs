//! The SQL a plan runs: the bookkeeping schema, the id maps, the
//! statements that copy a range or a set of legacy rows, the functions the
//! catch-up and the triggers call, and the triggers themselves.

use crate::plan::{Plan, Unit, UnitKind};
use crate::rollups;
use crate::sql::{SCHEMA, ident, lit, own};

/// The bookkeeping tables every import has.
pub fn bookkeeping() -> String {
    format!(
        "create schema {schema};
comment on schema {schema} is 'showtree import: state, id maps and change log (dropped by rollback of expand)';
revoke all on schema {schema} from public;
create table {schema}.state (
  singleton boolean primary key default true check (singleton),
  mapping text not null,
  mapping_sha256 text not null,
  phase text not null,
  created_showtree boolean not null,
  migrated_from bigint not null,
  created_meta boolean not null,
  renamed_to text,
  legacy_url text,
  created_fdw boolean not null default false,
  dual_write text check (dual_write in ('sync', 'async')),
  updated_at timestamptz not null default now()
);
create table {schema}.history (
  seq bigserial primary key,
  phase text not null,
  event text not null,
  detail text not null default '',
  at timestamptz not null default clock_timestamp()
);
create table {schema}.progress (
  mapping text primary key,
  last_key text,
  rows bigint not null default 0,
  done boolean not null default false
);
create table {schema}.changes (
  seq bigserial primary key,
  legacy_table text not null,
  legacy_id text not null
);
create table {schema}.errors (
  mapping text not null,
  legacy_id text not null,
  problems text[] not null,
  at timestamptz not null default now(),
  primary key (mapping, legacy_id)
);
",
        schema = ident(SCHEMA)
    )
}

/// The id map of every unit.
pub fn maps(plan: &Plan) -> String {
    let pk_of = |kind: UnitKind| {
        plan.unit_of(kind)
            .map_or_else(|| "text".to_owned(), |u| u.pk_type.clone())
    };
    let mut out = String::new();
    for u in &plan.units {
        let extra = match u.kind {
            UnitKind::Organization => ", project_id uuid not null".to_owned(),
            UnitKind::Workspace => format!(
                ", legacy_org_id {}, digest text",
                pk_of(UnitKind::Organization)
            ),
            UnitKind::Production => format!(
                ", activation_id uuid not null, workspace_node_id uuid not null, legacy_workspace_id {}, legacy_org_id {}",
                pk_of(UnitKind::Workspace),
                pk_of(UnitKind::Organization)
            ),
            UnitKind::Rows => String::new(),
        };
        let new_id = if u.kind == UnitKind::Workspace {
            "uuid"
        } else {
            "uuid not null"
        };
        out += &format!(
            "create table {} (legacy_id {} primary key, new_id {new_id}, org_id uuid{extra});\n",
            u.map_table(),
            u.pk_type
        );
        if u.kind == UnitKind::Production {
            out += &format!("create index on {} (legacy_workspace_id);\n", u.map_table());
        }
        out += &format!(
            "comment on table {} is {};\n",
            u.map_table(),
            lit(&format!(
                "legacy {}.{} id -> showtree id (mapping {})",
                plan.schema, u.source, u.name
            ))
        );
    }
    out
}

/// `select` of the legacy rows matching `pred`: their id, mapped id,
/// organization, node, every target column and their problems.
pub fn src_select(plan: &Plan, u: &Unit, pred: &str) -> String {
    src_select_as(plan, u, pred, true)
}

/// [`src_select`], or with `mapped` false for rows known to have no id
/// yet (a backfill batch's: see [`batch_upsert`]), without the id map's
/// join: `mapped_id` is null.
fn src_select_as(plan: &Plan, u: &Unit, pred: &str, mapped: bool) -> String {
    let mut cols = vec![
        format!("t.{} as legacy_id", ident(&u.pk)),
        if mapped { "m.new_id" } else { "null::uuid" }.to_owned() + " as mapped_id",
        format!("{} as org_id", u.org_expr),
        format!("{} as node_id", u.node_expr),
    ];
    if u.kind == UnitKind::Rows {
        for c in &u.columns {
            cols.push(format!("{} as {}", c.expr, ident(&c.name)));
        }
    } else {
        for name in ["name", "status", "metadata", "created_at", "updated_at"] {
            let expr = u.column(name).map_or_else(
                || {
                    match name {
                        "status" => "null::showtree.entity_status",
                        "metadata" => "null::jsonb",
                        "name" => "null::text",
                        _ => "null::timestamptz",
                    }
                    .to_owned()
                },
                str::to_owned,
            );
            cols.push(format!("{expr} as {}", ident(name)));
        }
        for (k, v) in &u.extra {
            cols.push(format!("{v} as {k}"));
        }
    }
    // a row is never moved to another organization (its id stays its
    // own organization's): without this the write through the id map would
    // fail on the id's unique key, and with it the legacy write (or every
    // drain after it)
    let moved = if u.kind == UnitKind::Rows && mapped {
        format!(
            " || case when m.new_id is not null and m.org_id is distinct from {} then array['moved to another organization: not supported'] else '{{}}'::text[] end",
            u.org_expr
        )
    } else {
        String::new()
    };
    cols.push(format!("{}{moved} as problems", u.problems_sql()));
    let map_join = if mapped {
        format!(
            "\n  left join {} m on m.legacy_id = t.{}",
            u.map_table(),
            ident(&u.pk)
        )
    } else {
        String::new()
    };
    format!(
        "select {}\n  from {} t{map_join}\n  {}\n where ({pred}) and {}",
        cols.join(",\n       "),
        plan.legacy(&u.source),
        u.joins.join("\n  "),
        u.filter_sql()
    )
}

/// The offending rows among those matching `pred`: `(legacy id, problems)`.
pub fn problems_select(plan: &Plan, u: &Unit, pred: &str) -> String {
    format!(
        "select s.legacy_id::text, s.problems from ({}) s where cardinality(s.problems) > 0 order by s.legacy_id",
        src_select(plan, u, pred)
    )
}

/// Fills the id map of `u` for every legacy row without a problem, without
/// writing any showtree row: what `check` (and the backfill's preflight)
/// runs in a transaction it rolls back, so later units see their owners.
pub fn dry_map(plan: &Plan, u: &Unit) -> String {
    let src = src_select(plan, u, "true");
    match u.kind {
        UnitKind::Organization => format!(
            "insert into {} (legacy_id, new_id, org_id, project_id)
             select s.legacy_id, x.id, x.id, gen_random_uuid()
               from ({src}) s cross join lateral (select gen_random_uuid() as id) x
              where cardinality(s.problems) = 0 on conflict do nothing",
            u.map_table()
        ),
        UnitKind::Workspace => format!(
            "insert into {} (legacy_id, new_id, org_id, legacy_org_id, digest)
             select s.legacy_id, null, s.org_id, s.legacy_org, s.digest from ({src}) s
              where cardinality(s.problems) = 0 on conflict do nothing",
            u.map_table()
        ),
        UnitKind::Production => format!(
            "insert into {} (legacy_id, new_id, org_id, activation_id, workspace_node_id, legacy_workspace_id, legacy_org_id)
             select s.legacy_id, gen_random_uuid(), s.org_id, gen_random_uuid(), gen_random_uuid(), s.legacy_workspace, s.legacy_org
               from ({src}) s where cardinality(s.problems) = 0 on conflict do nothing",
            u.map_table()
        ),
        UnitKind::Rows => format!(
            "insert into {} (legacy_id, new_id, org_id)
             select s.legacy_id, gen_random_uuid(), s.org_id from ({src}) s
              where cardinality(s.problems) = 0 on conflict do nothing",
            u.map_table()
        ),
    }
}

/// Problems starting so name a legacy row that exists but is not (yet)
/// imported: a backfill defers such rows to the catch-up.
pub const UNRESOLVED: &str = "unresolved: ";

/// The keys of a backfill batch: after `after` (none: from the first
/// key) through `through`, in the legacy table's key order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRange<'a> {
    /// The last key of the batch before, if any.
    pub after: Option<&'a str>,
    /// The batch's last key.
    pub through: &'a str,
}

/// How an upsert treats rows with problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnProblem<'a> {
    /// Count them (the backfill stops and reports); the rows are the
    /// backfill's batch of these keys.
    Count(KeyRange<'a>),
    /// Record them in `showtree_import.errors` (dual-write, catch-up).
    Log,
}

/// One statement copying the legacy rows of a rows unit matching `pred`
/// into showtree (insert or update, through the id map). Returns one row:
/// (rows written, rows with problems[, rows deferred to the catch-up]).
pub fn upsert(plan: &Plan, u: &Unit, pred: &str, on_problem: OnProblem) -> String {
    let mut cols = vec!["id".to_owned()];
    let mut vals = vec!["coalesce(s.mapped_id, f.new_id)".to_owned()];
    if u.tenant {
        cols.push("org_id".to_owned());
        vals.push("s.org_id".to_owned());
    }
    if u.has_node {
        cols.push("node_id".to_owned());
        vals.push("s.node_id".to_owned());
    }
    for c in &u.columns {
        cols.push(ident(&c.name));
        vals.push(format!("s.{}", ident(&c.name)));
    }
    let conflict = if u.tenant { "(org_id, id)" } else { "(id)" };
    let sets: Vec<String> = cols
        .iter()
        .filter(|c| *c != "id" && *c != "org_id")
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let name = lit(&u.name);
    let (bad, cleared) = match on_problem {
        // rows waiting for a row copied later (an owner added while the
        // backfill runs) are not bad: the catch-up copies them after it
        OnProblem::Count(_) => (
            format!(
                "bad as (select 1 from s where exists (select from unnest(s.problems) p where p not like '{UNRESOLVED}%')),
deferred as (insert into {changes} (legacy_table, legacy_id)
   select {table}, s.legacy_id::text from s
    where cardinality(s.problems) > 0 and not exists (select from unnest(s.problems) p where p not like '{UNRESOLVED}%')
   returning 1)",
                changes = own("changes"),
                table = lit(&u.source),
            ),
            String::new(),
        ),
        OnProblem::Log => (
            format!(
                "bad as (insert into {errors} (mapping, legacy_id, problems)
             select {name}, s.legacy_id::text, s.problems from s where cardinality(s.problems) > 0
             on conflict (mapping, legacy_id) do update set problems = excluded.problems, at = now()
             returning 1)",
                errors = own("errors")
            ),
            format!(
                ",\ncleared as (delete from {errors} e using s where e.mapping = {name} and e.legacy_id = s.legacy_id::text and cardinality(s.problems) = 0)",
                errors = own("errors")
            ),
        ),
    };
    if let OnProblem::Count(range) = on_problem {
        let bad = bad + &batch_audit(plan, u, range);
        return batch_upsert(plan, u, pred, &cols, &vals, &bad);
    }
    // rows already imported are updated, not upserted: an insert that ends
    // as an update still fires showtree's before-insert triggers (0006's
    // schedule-item roll-up trigger would count the row, and take its
    // location's lock before the update's two, out of order)
    let usets: Vec<String> = cols
        .iter()
        .zip(&vals)
        .filter(|(c, _)| *c != "id" && *c != "org_id")
        .map(|(c, v)| format!("{c} = {v}"))
        .collect();
    let usets = if usets.is_empty() {
        "id = x.id".to_owned()
    } else {
        usets.join(", ")
    };
    let ukey = if u.tenant {
        "x.org_id = s.org_id and x.id = s.mapped_id"
    } else {
        "x.id = s.mapped_id"
    };
    format!(
        "with s as materialized (\n{src}\n),\n{bad},\nf as (insert into {map} (legacy_id, new_id, org_id)
   select s.legacy_id, private.uuid_generate_v7(), s.org_id from s
    where s.mapped_id is null and cardinality(s.problems) = 0
   on conflict (legacy_id) do nothing
   returning legacy_id, new_id),
u as (update {target} x set {usets} from s
    where {ukey} and cardinality(s.problems) = 0
   returning s.legacy_id),
w as (insert into {target} ({cols})
   select {vals} from s left join f on f.legacy_id = s.legacy_id
    where cardinality(s.problems) = 0 and not exists (select from u where u.legacy_id = s.legacy_id)
   on conflict {conflict} do update set {sets}
   returning 1){cleared}
select (select count(*) from w) + (select count(*) from u), (select count(*) from bad)",
        src = src_select(plan, u, pred),
        usets = usets,
        ukey = ukey,
        map = u.map_table(),
        target = u.target_table(),
        cols = cols.join(", "),
        vals = vals.join(", "),
        sets = if sets.is_empty() {
            "id = excluded.id".to_owned()
        } else {
            sets.join(", ")
        },
    )
}

/// The audit record of a backfill batch (its rows are written with
/// showtree's triggers off, so `private.audit_row` writes none): one
/// `<table>.imported` event per organization the batch wrote rows of, on
/// the organization's root node, naming the mapping, the legacy table, the
/// batch's key range and its row count (the id map, which outlives the
/// legacy tables, leads from a row to its legacy key). Finance tables' events
/// carry the finance capability, as `audit_row`'s do. An event per row
/// would cost more than the copy itself (docs/IMPORT.md).
fn batch_audit(plan: &Plan, u: &Unit, range: KeyRange<'_>) -> String {
    if !u.tenant {
        return String::new();
    }
    let table = &u.target.1;
    let capability = if FINANCE_TABLES.contains(&table.as_str()) {
        r#" || '{"capability": "finance"}'::jsonb"#
    } else {
        ""
    };
    format!(
        ",\naudited as (insert into showtree.audit_events (org_id, node_id, action, table_name, metadata)
   select s.org_id, s.org_id, {action}, {table}, jsonb_build_object('import', jsonb_build_object(
            'mapping', {mapping}, 'legacy_table', {legacy}, 'after', {after}::text, 'through', {through}::text,
            'rows', count(*))){capability}
     from s where cardinality(s.problems) = 0 group by s.org_id)",
        action = lit(&format!("{table}.imported")),
        table = lit(table),
        mapping = lit(&u.name),
        legacy = lit(&legacy_name(plan, &u.source)),
        after = range.after.map_or_else(|| "null".to_owned(), lit),
        through = lit(range.through),
    )
}

/// `private.uuid_generate_v7()`'s expression, inline: a function with a
/// `set` clause is never inlined, and calling it per row costs as much as
/// the row's insert.
const UUID_V7: &str = "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid";

/// [`upsert`] for a backfill batch: the new ids are made with the rows
/// (one pass, no join back to the id map's insert), since nothing else
/// writes the map meanwhile (the import's lock; legacy writes are only
/// logged while the backfill runs). For the same reason no row of a batch
/// has an id yet: a batch commits with its progress, so the keys after the
/// last one recorded were never copied (a killed batch rolled back its
/// map rows; rolling the backfill back empties the maps; rows deferred to
/// the catch-up are mapped only after the last batch). So a batch reads
/// the legacy rows without joining the id map (a hash of the whole,
/// growing map per batch: a sixth of a tasks batch's time at scale 0.1)
/// and inserts plainly, into the map and into showtree. Were a row mapped
/// after all, its map insert would fail on the map's key, and the batch
/// with it: refused, never copied twice.
fn batch_upsert(
    plan: &Plan,
    u: &Unit,
    pred: &str,
    cols: &[String],
    vals: &[String],
    bad: &str,
) -> String {
    let vals: Vec<String> = vals
        .iter()
        .map(|v| {
            if v == "coalesce(s.mapped_id, f.new_id)" {
                "s.new_id".to_owned()
            } else {
                v.clone()
            }
        })
        .collect();
    format!(
        "with s as materialized (\nselect x.*, {UUID_V7} as new_id from (\n{src}\n) x\n),\n{bad},
f as (insert into {map} (legacy_id, new_id, org_id)
   select s.legacy_id, s.new_id, s.org_id from s
    where cardinality(s.problems) = 0),
w as (insert into {target} ({cols})
   select {vals} from s
    where cardinality(s.problems) = 0
   returning 1)
select (select count(*) from w), (select count(*) from bad), (select count(*) from deferred)",
        src = src_select_as(plan, u, pred, false),
        map = u.map_table(),
        target = u.target_table(),
        cols = cols.join(", "),
        vals = vals.join(", "),
    )
}

/// The `set` clause of every import function that writes showtree's
/// tables: showtree's triggers that keep columns or check transitions let
/// the import's rows through as the legacy rows have them (migration
/// 0013, `private.importing()`); every other trigger runs. A custom
/// setting, unlike `session_replication_role`, costs no cached plan when
/// it changes.
pub const IMPORTING: &str = "set showtree.importing = on";

fn fn_name(prefix: &str, name: &str) -> String {
    own(&format!("{prefix}_{name}"))
}

/// `showtree_import.sync_<unit>(ids)`: hierarchy units, and
/// `upsert_<unit>` / `unsync_<unit>` for rows units.
pub fn sync_fn(u: &Unit) -> String {
    match u.kind {
        UnitKind::Rows => fn_name("upsert", &u.name),
        _ => fn_name("sync", &u.name),
    }
}

/// `showtree_import.unsync_<unit>(ids)`.
pub fn unsync_fn(u: &Unit) -> String {
    fn_name("unsync", &u.name)
}

/// Every function the import calls (created by expand).
pub fn functions(plan: &Plan) -> String {
    let mut out = helpers(plan);
    out += &rollups::functions();
    for u in &plan.units {
        out += &match u.kind {
            UnitKind::Organization => organization_fns(plan, u),
            UnitKind::Workspace => workspace_fns(plan, u),
            UnitKind::Production => production_fns(plan, u),
            UnitKind::Rows => rows_fns(plan, u),
        };
    }
    out += &format!(
        "revoke all on all functions in schema {} from public;\n",
        ident(SCHEMA)
    );
    out
}

fn helpers(plan: &Plan) -> String {
    let _ = plan;
    format!(
        r#"
-- a slug unique among the live siblings
create function {slug}(p_name text, p_org uuid, p_parent uuid, p_salt text) returns text
language plpgsql set search_path = '' as $fn$
declare
  base text := trim(both '-' from left(trim(both '-' from regexp_replace(lower(p_name), '[^a-z0-9]+', '-', 'g')), 50));
  candidate text;
  i integer := 0;
begin
  if base = '' then base := 'imported'; end if;
  candidate := base;
  while exists (select from showtree.nodes n
                 where n.org_id = p_org and n.parent_id is not distinct from p_parent
                   and n.slug = candidate and n.deleted_at is null) loop
    i := i + 1;
    candidate := base || '-' || left(md5(p_salt || i::text), 6);
  end loop;
  return candidate;
end
$fn$;

-- updates a node's own columns as the legacy row has them (showtree's
-- updated_at and status-transition triggers let the import through: a
-- legacy status may go where showtree's transitions would not), only
-- when something changed
create function {node_set}(p_org uuid, p_id uuid, p_name text, p_status showtree.entity_status,
  p_metadata jsonb, p_created_at timestamptz, p_updated_at timestamptz) returns void
language plpgsql security definer set search_path = '' {importing} as $fn$
begin
  update showtree.nodes n
     set name = coalesce(p_name, n.name), status = coalesce(p_status, n.status),
         metadata = coalesce(p_metadata, n.metadata), created_at = coalesce(p_created_at, n.created_at),
         updated_at = coalesce(p_updated_at, n.updated_at)
   where n.org_id = p_org and n.id = p_id
     and (n.name, n.status, n.metadata, n.created_at, n.updated_at) is distinct from
         (coalesce(p_name, n.name), coalesce(p_status, n.status), coalesce(p_metadata, n.metadata),
          coalesce(p_created_at, n.created_at), coalesce(p_updated_at, n.updated_at));
end
$fn$;

create function {log_problems}(p_mapping text, p_legacy_id text, p_problems text[]) returns void
language sql security definer set search_path = '' as $fn$
  insert into {errors} (mapping, legacy_id, problems) values (p_mapping, p_legacy_id, p_problems)
  on conflict (mapping, legacy_id) do update set problems = excluded.problems, at = now()
$fn$;
"#,
        slug = own("slug"),
        node_set = own("node_set"),
        log_problems = own("log_problems"),
        importing = IMPORTING,
        errors = own("errors"),
    )
}

/// The loop header of a hierarchy sync function.
fn hierarchy_loop(plan: &Plan, u: &Unit) -> String {
    format!(
        "for r in {} order by 1 loop
    if cardinality(r.problems) > 0 then
      perform {log}({name}, r.legacy_id::text, r.problems);
      continue;
    end if;
    delete from {errors} where mapping = {name} and legacy_id = r.legacy_id::text;",
        src_select(plan, u, &format!("t.{} = any (p_ids)", ident(&u.pk))),
        log = own("log_problems"),
        errors = own("errors"),
        name = lit(&u.name),
    )
}

fn gone(plan: &Plan, u: &Unit) -> String {
    format!(
        "array(select x from unnest(p_ids) x where not exists (select from {} t where t.{} = x))",
        plan.legacy(&u.source),
        ident(&u.pk)
    )
}

fn organization_fns(plan: &Plan, u: &Unit) -> String {
    let m = &plan.mapping;
    format!(
        r#"
create function {sync}(p_ids {pk}[]) returns integer
language plpgsql security definer set search_path = '' {importing} as $fn$
declare
  r record;
  v_org uuid;
  v_project uuid;
  n integer := 0;
begin
  {lp}
    if r.mapped_id is null then
      v_org := private.uuid_generate_v7();
      insert into showtree.nodes (org_id, id, kind, name, slug, status, metadata, created_at, updated_at)
      values (v_org, v_org, 'organization', r.name, {slug}(r.name, v_org, null, r.legacy_id::text),
              coalesce(r.status, 'active'), coalesce(r.metadata, '{{}}'), coalesce(r.created_at, now()),
              coalesce(r.updated_at, r.created_at, now()));
      update showtree.organizations set base_currency = {currency}, timezone = {timezone}
       where org_id = v_org and node_id = v_org;
      v_project := private.uuid_generate_v7();
      insert into showtree.nodes (org_id, id, parent_id, kind, name, slug)
      values (v_org, v_project, v_org, 'project', {project}, {slug}({project}, v_org, v_org, 'project'));
      insert into {map} (legacy_id, new_id, org_id, project_id) values (r.legacy_id, v_org, v_org, v_project);
    else
      perform {node_set}(r.mapped_id, r.mapped_id, r.name, r.status, r.metadata, r.created_at, r.updated_at);
    end if;
    n := n + 1;
  end loop;
  perform {unsync}({gone});
  return n;
end
$fn$;

create function {unsync}(p_ids {pk}[]) returns integer
language plpgsql security definer set search_path = '' {importing} as $fn$
declare
  r record;
  n integer := 0;
begin
  for r in delete from {map} m where m.legacy_id = any (p_ids)
             and not exists (select from {legacy} t where t.{pkc} = m.legacy_id) returning m.org_id loop
    perform private.purge_organization(r.org_id);
    delete from showtree.audit_events where org_id = r.org_id;
    n := n + 1;
  end loop;
  delete from {errors} where mapping = {name} and legacy_id = any (p_ids::text[])
     and not exists (select from {legacy} t where t.{pkc}::text = legacy_id);
  return n;
end
$fn$;
"#,
        sync = sync_fn(u),
        unsync = unsync_fn(u),
        pk = u.pk_type,
        pkc = ident(&u.pk),
        lp = hierarchy_loop(plan, u),
        slug = own("slug"),
        node_set = own("node_set"),
        map = u.map_table(),
        legacy = plan.legacy(&u.source),
        errors = own("errors"),
        name = lit(&u.name),
        currency = lit(&m.currency),
        timezone = lit(&m.timezone),
        project = lit(m.project.name.trim()),
        gone = gone(plan, u),
        importing = IMPORTING,
    )
}

fn workspace_fns(plan: &Plan, u: &Unit) -> String {
    let prod = plan.unit_of(UnitKind::Production);
    let resync = prod.map_or(String::new(), |p| {
        format!(
            "perform {}(array(select x.legacy_id from {} x where x.legacy_workspace_id = any (changed)));",
            sync_fn(p),
            p.map_table()
        )
    });
    format!(
        r#"
create function {sync}(p_ids {pk}[]) returns integer
language plpgsql security definer set search_path = '' {importing} as $fn$
declare
  r record;
  n integer := 0;
  changed {pk}[] := '{{}}';
begin
  {lp}
    if not exists (select from {map} x where x.legacy_id = r.legacy_id and x.digest = r.digest) then
      changed := changed || r.legacy_id;
    end if;
    insert into {map} (legacy_id, new_id, org_id, legacy_org_id, digest)
    values (r.legacy_id, null, r.org_id, r.legacy_org, r.digest)
    on conflict (legacy_id) do update set org_id = excluded.org_id, legacy_org_id = excluded.legacy_org_id,
           digest = excluded.digest
     where ({map}.org_id, {map}.legacy_org_id, {map}.digest)
           is distinct from (excluded.org_id, excluded.legacy_org_id, excluded.digest);
    n := n + 1;
  end loop;
  -- the workspace nodes of its productions carry its name: renamed only
  -- when what they show of it changed
  {resync}
  perform {unsync}({gone});
  return n;
end
$fn$;

create function {unsync}(p_ids {pk}[]) returns integer
language plpgsql security definer set search_path = '' {importing} as $fn$
declare
  n integer;
begin
  delete from {map} m where m.legacy_id = any (p_ids)
     and not exists (select from {legacy} t where t.{pkc} = m.legacy_id);
  get diagnostics n = row_count;
  delete from {errors} where mapping = {name} and legacy_id = any (p_ids::text[])
     and not exists (select from {legacy} t where t.{pkc}::text = legacy_id);
  return n;
end
$fn$;
"#,
        sync = sync_fn(u),
        unsync = unsync_fn(u),
        pk = u.pk_type,
        pkc = ident(&u.pk),
        lp = hierarchy_loop(plan, u),
        map = u.map_table(),
        legacy = plan.legacy(&u.source),
        errors = own("errors"),
        name = lit(&u.name),
        gone = gone(plan, u),
        importing = IMPORTING,
    )
}

fn production_fns(plan: &Plan, u: &Unit) -> String {
    let m = &plan.mapping;
    format!(
        r#"
create function {sync}(p_ids {pk}[]) returns integer
language plpgsql security definer set search_path = '' {importing} as $fn$
declare
  r record;
  v_org uuid;
  v_prod uuid;
  v_act uuid;
  v_ws uuid;
  n integer := 0;
begin
  {lp}
    if r.mapped_id is not null and (select x.org_id from {map} x where x.legacy_id = r.legacy_id) <> r.org_id then
      perform {log}({name}, r.legacy_id::text, array['moved to another organization: not supported']);
      continue;
    end if;
    v_org := r.org_id;
    if r.mapped_id is null then
      v_prod := private.uuid_generate_v7();
      insert into showtree.nodes (org_id, id, parent_id, kind, name, slug, status, metadata, created_at, updated_at)
      select v_org, v_prod, o.project_id, 'production', r.name, {slug}(r.name, v_org, o.project_id, r.legacy_id::text),
             coalesce(r.status, 'active'), coalesce(r.metadata, '{{}}'), coalesce(r.created_at, now()),
             coalesce(r.updated_at, r.created_at, now())
        from {orgmap} o where o.org_id = v_org;
      v_act := private.uuid_generate_v7();
      insert into showtree.nodes (org_id, id, parent_id, kind, name, slug, created_at, updated_at)
      values (v_org, v_act, v_prod, 'activation', r.activation_name, {slug}(r.activation_name, v_org, v_prod, 'a'),
              coalesce(r.created_at, now()), coalesce(r.updated_at, r.created_at, now()));
      update showtree.activations set starts_at = r.activation_starts_at, ends_at = r.activation_ends_at,
             timezone = {timezone}, venue = r.activation_venue
       where org_id = v_org and node_id = v_act;
      v_ws := private.uuid_generate_v7();
      insert into showtree.nodes (org_id, id, parent_id, kind, name, slug, metadata, created_at, updated_at)
      values (v_org, v_ws, v_act, 'workspace', r.ws_name, {slug}(r.ws_name, v_org, v_act, 'w'),
              coalesce(r.ws_metadata, '{{}}'), coalesce(r.ws_created_at, now()), coalesce(r.ws_updated_at, r.ws_created_at, now()));
      update showtree.workspaces set workspace_type = {wtype} where org_id = v_org and node_id = v_ws;
      insert into {map} (legacy_id, new_id, org_id, activation_id, workspace_node_id, legacy_workspace_id, legacy_org_id)
      values (r.legacy_id, v_prod, v_org, v_act, v_ws, r.legacy_workspace, r.legacy_org);
    else
      select x.activation_id, x.workspace_node_id into v_act, v_ws from {map} x where x.legacy_id = r.legacy_id;
      perform {node_set}(v_org, r.mapped_id, r.name, r.status, r.metadata, r.created_at, r.updated_at);
      perform {node_set}(v_org, v_act, r.activation_name, null, null, null, null);
      perform {node_set}(v_org, v_ws, r.ws_name, null, r.ws_metadata, r.ws_created_at, r.ws_updated_at);
      update showtree.activations a set starts_at = r.activation_starts_at, ends_at = r.activation_ends_at,
             venue = r.activation_venue
       where a.org_id = v_org and a.node_id = v_act
         and (a.starts_at, a.ends_at, a.venue) is distinct from (r.activation_starts_at, r.activation_ends_at, r.activation_venue);
      update {map} x set legacy_workspace_id = r.legacy_workspace, legacy_org_id = r.legacy_org
       where x.legacy_id = r.legacy_id
         and (x.legacy_workspace_id, x.legacy_org_id) is distinct from (r.legacy_workspace, r.legacy_org);
    end if;
    n := n + 1;
  end loop;
  perform {unsync}({gone});
  return n;
end
$fn$;

create function {unsync}(p_ids {pk}[]) returns integer
language plpgsql security definer set search_path = '' {importing} as $fn$
declare
  r record;
  n integer := 0;
begin
  for r in delete from {map} m where m.legacy_id = any (p_ids)
             and not exists (select from {legacy} t where t.{pkc} = m.legacy_id) returning m.org_id, m.new_id loop
    delete from showtree.nodes where org_id = r.org_id and id = r.new_id;
    n := n + 1;
  end loop;
  delete from {errors} where mapping = {name} and legacy_id = any (p_ids::text[])
     and not exists (select from {legacy} t where t.{pkc}::text = legacy_id);
  return n;
end
$fn$;
"#,
        sync = sync_fn(u),
        unsync = unsync_fn(u),
        pk = u.pk_type,
        pkc = ident(&u.pk),
        lp = hierarchy_loop(plan, u),
        slug = own("slug"),
        node_set = own("node_set"),
        log = own("log_problems"),
        map = u.map_table(),
        orgmap = plan
            .unit_of(UnitKind::Organization)
            .map_or_else(|| own("map_organizations"), |o| o.map_table()),
        legacy = plan.legacy(&u.source),
        errors = own("errors"),
        name = lit(&u.name),
        timezone = lit(&m.timezone),
        wtype = u
            .extra
            .get("workspace_type")
            .cloned()
            .unwrap_or_else(|| "'area'".to_owned()),
        gone = gone(plan, u),
        importing = IMPORTING,
    )
}

fn rows_fns(plan: &Plan, u: &Unit) -> String {
    let pred = format!("t.{} = any (p_ids)", ident(&u.pk));
    let delete_target = if u.tenant {
        format!(
            "delete from {} x using gone where x.org_id = gone.org_id and x.id = gone.new_id",
            u.target_table()
        )
    } else {
        format!(
            "delete from {} x using gone where x.id = gone.new_id",
            u.target_table()
        )
    };
    let gone = format!(
        "gone as (
    delete from {map} m where m.legacy_id = any (p_ids)
       and not exists (select from {legacy} t where t.{pkc} = m.legacy_id and {filter})
    returning m.new_id, m.org_id)",
        map = u.map_table(),
        legacy = plan.legacy(&u.source),
        pkc = ident(&u.pk),
        filter = u.filter_sql(),
    );
    let delete = format!(
        "with {gone}
  {delete_target};"
    );
    format!(
        r#"
create function {upsert}(p_ids {pk}[]) returns bigint[]
language plpgsql security definer set search_path = '' {importing} as $fn$
declare
  w bigint;
  b bigint;
  v_nestloop text := current_setting('enable_nestloop');
  v_jit text := current_setting('jit');
begin
  -- no nested loop over the id map's new rows (the planner guesses
  -- one; the catch-up passes thousands). The statements of showtree's
  -- triggers are planned under the same setting, where a forced nested
  -- loop costs enough to be compiled by JIT: 0.8 s per row and trigger
  perform set_config('enable_nestloop', 'off', true);
  perform set_config('jit', 'off', true);
  {stmt}
  into w, b;
  perform set_config('enable_nestloop', v_nestloop, true);
  perform set_config('jit', v_jit, true);
  return array[w, b];
end
$fn$;

-- legacy rows gone (or no longer matching the filter): their showtree rows
-- go too, through showtree's keys (cascades included). Rows that reference
-- them are the legacy side's business: its own keys delete or clear them
-- in the same statement, and those changes arrive here too, but not
-- always first (an organization's cascade can reach its vendors before
-- its invoices): a row showtree's keys still protect is then deleted
-- without them, as the import did before migration 0013, and validate
-- reports any reference left dangling.
create function {unsync}(p_ids {pk}[]) returns bigint
language plpgsql security definer set search_path = '' {importing} as $fn$
declare
  n bigint;
begin
  begin
    {delete}
    get diagnostics n = row_count;
  exception when foreign_key_violation then
    n := {unchecked}(p_ids);
  end;
  delete from {errors} where mapping = {name} and legacy_id = any (p_ids::text[])
     and not exists (select from {legacy} t where t.{pkc}::text = legacy_id and {filter});
  return n;
end
$fn$;

{unchecked_fn}"#,
        upsert = sync_fn(u),
        unsync = unsync_fn(u),
        unchecked = fn_name("unsync_unchecked", &u.name),
        unchecked_fn = unchecked_fn(u, &gone, &delete_target),
        pk = u.pk_type,
        pkc = ident(&u.pk),
        stmt = upsert(plan, u, &pred, OnProblem::Log),
        legacy = plan.legacy(&u.source),
        filter = u.filter_sql(),
        errors = own("errors"),
        name = lit(&u.name),
        importing = IMPORTING,
    )
}

/// The tables whose audit events only readers with the finance capability
/// see (migration 0005's `private.audit_row` arguments).
const FINANCE_TABLES: [&str; 4] = ["budget_lines", "invoices", "invoice_lines", "invoice_tags"];

/// `showtree_import.unsync_unchecked_<unit>(ids)`: the delete of
/// [`rows_fns`]' unsync without showtree's triggers and key checks, for
/// when the legacy side deletes a row before the rows that reference it.
/// What the skipped triggers would have done for the deleted rows is done
/// here: their audit events (`<table>.purged`, as `private.audit_row`
/// writes them), and their nodes' roll-up figures, with those of the rows
/// still referencing them (an assignment of a deleted asset no longer
/// counts), reconciled against their rows. The referencing rows' own
/// deletes (the legacy side's cascade, in the same statement or a later
/// drain) then go through showtree's triggers as usual.
fn unchecked_fn(u: &Unit, gone: &str, delete_target: &str) -> String {
    let head = format!(
        "create function {}(p_ids {}[]) returns bigint
language plpgsql security definer set search_path = '' set session_replication_role = replica as $fn$",
        fn_name("unsync_unchecked", &u.name),
        u.pk_type
    );
    if !u.tenant {
        // auth.users: neither audited nor in the roll-ups
        return format!(
            "{head}
declare
  n bigint;
begin
  with {gone}
  {delete_target};
  get diagnostics n = row_count;
  return n;
end
$fn$;
"
        );
    }
    let table = &u.target.1;
    let node = if u.has_node {
        "x.node_id"
    } else {
        "null::uuid"
    };
    let meta = if FINANCE_TABLES.contains(&table.as_str()) {
        r#"'{"capability": "finance"}'::jsonb"#
    } else {
        "'{}'::jsonb"
    };
    format!(
        r#"{head}
declare
  v_orgs uuid[];
  v_ids uuid[];
  v_nodes uuid[];
  v_more_orgs uuid[];
  v_more_nodes uuid[];
  k record;
begin
  with {gone},
  x as ({delete_target}
    returning x.org_id, x.id, {node} as node_id)
  select array_agg(x.org_id), array_agg(x.id), array_agg(x.node_id) into v_orgs, v_ids, v_nodes from x;
  if v_ids is null then
    return 0;
  end if;
  insert into showtree.audit_events (org_id, node_id, created_by, action, table_name, row_id, changes, metadata)
  select g.o, g.n, auth.uid(), {action}, {table}, g.i, '{{}}', {meta}
    from unnest(v_orgs, v_ids, v_nodes) g(o, i, n);
  -- the nodes of the rows whose keys the delete skipped
  for k in select c.conrelid::regclass::text as tbl, a.attname::text as col
             from pg_catalog.pg_constraint c
             join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[2]
            where c.confrelid = {target}::regclass and c.contype = 'f' and cardinality(c.conkey) = 2
              and exists (select from pg_catalog.pg_attribute b
                           where b.attrelid = c.conrelid and b.attname = 'node_id' and not b.attisdropped) loop
    execute pg_catalog.format('select array_agg(r.org_id), array_agg(r.node_id) from %s r
                                 join unnest($1, $2) g(o, i) on r.org_id = g.o and r.%I = g.i', k.tbl, k.col)
       into v_more_orgs, v_more_nodes using v_orgs, v_ids;
    v_orgs := v_orgs || coalesce(v_more_orgs, '{{}}');
    v_nodes := v_nodes || coalesce(v_more_nodes, '{{}}');
  end loop;
  perform {reconcile}(v_orgs, v_nodes);
  return cardinality(v_ids);
end
$fn$;
"#,
        action = lit(&format!("{table}.purged")),
        table = lit(table),
        target = lit(&u.target_table()),
        reconcile = own("rollup_reconcile"),
    )
}

/// Name of the capture trigger and function of a legacy table.
pub const CAPTURE: &str = "showtree_import_capture";
/// Name of the dual-write triggers.
pub const DUAL_WRITE: &str = "showtree_import_dual_write";
/// Name of the dual-write delete trigger.
pub const DUAL_WRITE_DELETE: &str = "showtree_import_dual_write_delete";

/// Creates the change-capture trigger on every legacy table: each write
/// records the row's key, so rows changed while the backfill runs are
/// caught up exactly.
pub fn capture_triggers(plan: &Plan) -> String {
    let mut out = String::new();
    for table in plan.sources() {
        let Some(u) = plan.units_of(&table).first().copied() else {
            continue;
        };
        let f = own(&format!("capture_{table}"));
        let pk = ident(&u.pk);
        out += &format!(
            r#"
create or replace function {f}() returns trigger
language plpgsql security definer set search_path = '' as $fn$
begin
  if tg_op <> 'INSERT' then
    insert into {changes} (legacy_table, legacy_id) values ({t}, old.{pk}::text);
  end if;
  if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.{pk} is distinct from old.{pk}) then
    insert into {changes} (legacy_table, legacy_id) values ({t}, new.{pk}::text);
  end if;
  return null;
end
$fn$;
revoke all on function {f}() from public;
drop trigger if exists {trg} on {legacy};
create trigger {trg} after insert or update or delete on {legacy}
  for each row execute function {f}();
"#,
            changes = own("changes"),
            t = lit(&table),
            trg = ident(CAPTURE),
            legacy = plan.legacy(&table),
        );
    }
    out
}

/// Drops the capture triggers (their functions stay until rollback of
/// expand drops the schema).
pub fn drop_capture_triggers(plan: &Plan) -> String {
    plan.sources()
        .iter()
        .map(|t| {
            format!(
                "drop trigger if exists {} on {};\n",
                ident(CAPTURE),
                plan.legacy(t)
            )
        })
        .collect()
}

/// Creates the dual-write triggers on every legacy table: inserts, updates
/// and deletes reach showtree through its own triggers (audit, roll-ups,
/// keys), those that keep columns or check transitions letting the
/// legacy values through ([`IMPORTING`]).
pub fn dual_write_triggers(plan: &Plan) -> String {
    let mut out = String::new();
    for table in plan.sources() {
        let units = plan.units_of(&table);
        let Some(first) = units.first() else {
            continue;
        };
        let pk = ident(&first.pk);
        let mut body = String::new();
        // a changed key: the old key's rows go first
        let mut moved = String::new();
        for u in units.iter().rev() {
            moved += &format!("    perform {}(array[old.{pk}]);\n", unsync_fn(u));
        }
        body += &format!(
            "  if tg_op = 'UPDATE' and new.{pk} is distinct from old.{pk} then\n{moved}  end if;\n"
        );
        for u in &units {
            match u.kind {
                UnitKind::Rows => {
                    body += &format!(
                        "  {}\n  into w, b;\n",
                        upsert(plan, u, &format!("t.{pk} = new.{pk}"), OnProblem::Log)
                    );
                    if u.filter.is_some() {
                        body += &format!(
                            "  if w + b = 0 then\n    perform {}(array[new.{pk}]);\n  end if;\n",
                            unsync_fn(u)
                        );
                    }
                }
                _ => body += &format!("  perform {}(array[new.{pk}]);\n", sync_fn(u)),
            }
        }
        let mut del = String::new();
        for u in units.iter().rev() {
            match u.kind {
                UnitKind::Rows => del += &format!("  perform {}(array[old.{pk}]);\n", unsync_fn(u)),
                _ => del += &format!("  perform {}(array[old.{pk}]);\n", sync_fn(u)),
            }
        }
        // an update that changes nothing the mappings read costs nothing
        let mut read: Vec<String> = units.iter().flat_map(|u| u.reads.iter().cloned()).collect();
        read.sort();
        read.dedup();
        let old: Vec<String> = read.iter().map(|c| format!("old.{}", ident(c))).collect();
        let new: Vec<String> = read.iter().map(|c| format!("new.{}", ident(c))).collect();
        let f = own(&format!("dual_write_{table}"));
        let fd = own(&format!("dual_write_delete_{table}"));
        out += &format!(
            r#"
create or replace function {f}() returns trigger
language plpgsql security definer set search_path = '' {importing} as $fn$
declare
  w bigint := 0;
  b bigint := 0;
begin
{body}  return null;
end
$fn$;
create or replace function {fd}() returns trigger
language plpgsql security definer set search_path = '' {importing} as $fn$
begin
{del}  return null;
end
$fn$;
revoke all on function {f}() from public;
revoke all on function {fd}() from public;
drop trigger if exists {trg} on {legacy};
drop trigger if exists {trgu} on {legacy};
drop trigger if exists {trgd} on {legacy};
create trigger {trg} after insert on {legacy}
  for each row execute function {f}();
create trigger {trgu} after update on {legacy}
  for each row when (({old}) is distinct from ({new})) execute function {f}();
create trigger {trgd} after delete on {legacy}
  for each row execute function {fd}();
"#,
            importing = IMPORTING,
            trg = ident(DUAL_WRITE),
            trgu = ident(&format!("{DUAL_WRITE}_update")),
            trgd = ident(DUAL_WRITE_DELETE),
            legacy = plan.legacy(&table),
            old = old.join(", "),
            new = new.join(", "),
        );
    }
    out
}

/// Drops the dual-write triggers.
pub fn drop_dual_write_triggers(plan: &Plan) -> String {
    let mut out = String::new();
    for t in plan.sources() {
        for trg in [
            DUAL_WRITE.to_owned(),
            format!("{DUAL_WRITE}_update"),
            DUAL_WRITE_DELETE.to_owned(),
        ] {
            out += &format!(
                "drop trigger if exists {} on {};\n",
                ident(&trg),
                plan.legacy(&t)
            );
        }
    }
    out
}

/// `lock table` of every legacy table against writers (readers go on).
pub fn lock_legacy(plan: &Plan) -> String {
    let tables: Vec<String> = plan.sources().iter().map(|t| plan.legacy(t)).collect();
    format!(
        "lock table {} in share row exclusive mode",
        tables.join(", ")
    )
}

/// `schema.table` of a legacy table, for messages.
pub fn legacy_name(plan: &Plan, table: &str) -> String {
    format!("{}.{}", plan.schema, table)
}
