//! Roll-ups (migration 0006): money, work and headcount of a node's live
//! subtree, per currency, overall and per child.
//!
//! The figures come from per-node totals folded from an append-only delta
//! table plus the deltas not folded yet (see the migration and
//! docs/ROLLUPS.md). [`for_caller`] is what the API serves (the caller's
//! access applied by the database); [`raw`] is the same store without
//! access (the owner's: `showtree report`, tests); [`brute_force`] computes
//! the same figures straight from the base tables, the oracle of the tests
//! and the baseline of `showtree bench rollup`.

use std::collections::BTreeMap;

use crate::Sql;
use showtree_core::NodeKind;
use uuid::Uuid;

use crate::DbError;

/// The currency of the row that holds counts (ISO 4217 "no currency").
pub const COUNTS: &str = "XXX";

/// Every figure of a row, in [`Line`]'s order.
pub const METRICS: [&str; 20] = [
    "tasks_draft",
    "tasks_planning",
    "tasks_active",
    "tasks_review",
    "tasks_completed",
    "tasks_cancelled",
    "tasks_archived",
    "schedule_items",
    "schedule_conflicts",
    "crew_headcount",
    "budget_planned_minor",
    "invoiced_draft_minor",
    "invoiced_active_minor",
    "invoiced_review_minor",
    "invoiced_completed_minor",
    "invoiced_cancelled_minor",
    "invoiced_archived_minor",
    "crew_cost_minor",
    "tasks_overdue",
    "assets_now",
];

/// Index of the first money figure in [`METRICS`].
pub const FIRST_MONEY: usize = 10;
/// Index of the first clock-dependent figure in [`METRICS`].
pub const FIRST_CLOCK: usize = 18;

/// Task statuses in the order of the task figures.
pub const TASK_STATUSES: [&str; 7] = [
    "draft",
    "planning",
    "active",
    "review",
    "completed",
    "cancelled",
    "archived",
];

/// Invoice statuses in the order of the invoiced figures (`planning` is
/// not an invoice status).
pub const INVOICE_STATUSES: [&str; 6] = [
    "draft",
    "active",
    "review",
    "completed",
    "cancelled",
    "archived",
];

/// The figures of one bucket in one currency, in [`METRICS`] order: counts
/// in the [`COUNTS`] row, money in its currency's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Line(pub [i64; 20]);

impl Line {
    /// Whether every figure is zero.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }

    /// Adds `other` figure by figure.
    pub fn add(&mut self, other: &Line) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// A figure by name.
    pub fn get(&self, metric: &str) -> i64 {
        METRICS
            .iter()
            .position(|m| *m == metric)
            .map_or(0, |i| self.0[i])
    }
}

/// Figures by (bucket, currency): the bucket is the node itself for its own
/// rows, else the child whose subtree they are in. All-zero lines are left
/// out, so two computations compare with `==`.
pub type Figures = BTreeMap<(Uuid, String), Line>;

fn insert(figures: &mut Figures, bucket: Uuid, currency: String, line: Line) {
    if !line.is_zero() {
        figures.entry((bucket, currency)).or_default().add(&line);
    }
}

/// The stored figures of a live node's subtree, without access checks
/// (the tables' owner only), and how many delta rows were not folded yet.
/// Empty for a node that does not exist or is deleted.
#[tracing::instrument(skip_all, err)]
pub async fn raw(c: &impl Sql, org_id: Uuid, node_id: Uuid) -> Result<(Figures, i64), DbError> {
    let sql = format!(
        "select bucket, currency::text, {}, pending from private.rollup_raw($1, $2)",
        METRICS.join(", ")
    );
    let rows = c.query(&sql, &[&org_id, &node_id]).await?;
    let mut figures = Figures::new();
    let mut pending = 0;
    for r in &rows {
        let mut line = Line::default();
        for (i, v) in line.0.iter_mut().enumerate() {
            *v = r.try_get(i + 2)?;
        }
        pending += r.try_get::<_, i64>(METRICS.len() + 2)?;
        insert(&mut figures, r.try_get(0)?, r.try_get(1)?, line);
    }
    Ok((figures, pending))
}

/// A node's roll-up by part, as the API's `private.rollup` reads it:
/// (`"total"`, `"own"`, `"child"` with the child's id, or `"restricted"`,
/// currency) to figures. All-zero lines are left out.
pub type Parts = BTreeMap<(String, Option<Uuid>, String), Line>;

/// The parts of a live node's roll-up without access checks (the tables'
/// owner only): the total, the node's own rows, each of `children` and one
/// part summing `hidden` (both children of the node); and how many delta
/// rows of the subtree were not folded yet.
#[tracing::instrument(skip_all, err)]
pub async fn parts(
    c: &impl Sql,
    org_id: Uuid,
    node_id: Uuid,
    children: &[Uuid],
    hidden: &[Uuid],
) -> Result<(Parts, i64), DbError> {
    let sql = format!(
        "select part, child_id, currency::text, {}, pending from private.rollup_parts($1, $2, $3, $4)",
        METRICS.join(", ")
    );
    let rows = c
        .query(&sql, &[&org_id, &node_id, &children, &hidden])
        .await?;
    let mut parts = Parts::new();
    let mut pending = 0;
    for r in &rows {
        let mut line = Line::default();
        for (i, v) in line.0.iter_mut().enumerate() {
            *v = r.try_get(i + 3)?;
        }
        let part: String = r.try_get(0)?;
        if part == "total" {
            pending += r.try_get::<_, i64>(METRICS.len() + 3)?;
        }
        if !line.is_zero() {
            parts
                .entry((part, r.try_get(1)?, r.try_get(2)?))
                .or_default()
                .add(&line);
        }
    }
    Ok((parts, pending))
}

/// The brute-force roll-up: every figure aggregated straight from the base
/// tables over the live subtree (one range of the path index), at the
/// transaction's `now()`. $1 org, $2 node; rows (bucket, currency, metric,
/// amount).
pub const BRUTE_FORCE_SQL: &str = "\
with root as (
  select n.ancestors || n.id as path, n.depth + 2 as child
    from showtree.nodes n where n.org_id = $1 and n.id = $2 and n.deleted_at is null
), sub as (
  select s.id, coalesce((s.ancestors || s.id)[(select child from root)], $2) as bucket
    from showtree.nodes s
   where s.org_id = $1 and s.deleted_at is null
     and (s.ancestors || s.id) >= (select path from root)
     and (s.ancestors || s.id) < (select path || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid from root)
), c (bucket, currency, metric, amount) as (
  select sub.bucket, 'XXX', 'tasks_' || t.status, 1::numeric
    from sub join showtree.tasks t on t.org_id = $1 and t.node_id = sub.id
   where t.deleted_at is null
  union all
  select sub.bucket, 'XXX', 'tasks_overdue', 1
    from sub join showtree.tasks t on t.org_id = $1 and t.node_id = sub.id
   where t.deleted_at is null and t.due_at < now()
     and t.status not in ('completed', 'cancelled', 'archived')
  union all
  select sub.bucket, b.currency, 'budget_planned_minor', b.amount_minor
    from sub join showtree.budget_lines b on b.org_id = $1 and b.node_id = sub.id
   where b.deleted_at is null
  union all
  select sub.bucket, i.currency, 'invoiced_' || i.status || '_minor', round(l.quantity * l.unit_amount_minor)
    from sub join showtree.invoices i on i.org_id = $1 and i.node_id = sub.id
    join showtree.invoice_lines l on l.org_id = $1 and l.invoice_id = i.id
   where i.deleted_at is null and l.deleted_at is null
  union all
  select sub.bucket, 'XXX', 'crew_headcount', 1
    from sub join showtree.crew_assignments a on a.org_id = $1 and a.node_id = sub.id
   where a.deleted_at is null and a.status <> 'cancelled'
  union all
  select sub.bucket, a.currency, 'crew_cost_minor',
         case a.rate_unit
           when 'flat' then a.rate_amount_minor
           when 'hour' then round(a.rate_amount_minor * extract(epoch from a.wrap_at - a.call_at) / 3600)
           when 'day' then a.rate_amount_minor * ceil(extract(epoch from a.wrap_at - a.call_at) / 86400)
         end
    from sub join showtree.crew_assignments a on a.org_id = $1 and a.node_id = sub.id
   where a.deleted_at is null and a.status <> 'cancelled' and a.rate_amount_minor is not null
  union all
  select sub.bucket, 'XXX', 'schedule_items', 1
    from sub join showtree.schedule_items s on s.org_id = $1 and s.node_id = sub.id
   where s.deleted_at is null
  union all
  select sub.bucket, 'XXX', 'schedule_conflicts', 1
    from sub join showtree.schedule_items s on s.org_id = $1 and s.node_id = sub.id
    join showtree.schedule_items o on o.org_id = $1 and o.node_id = s.node_id
     and o.location = s.location and o.id > s.id and o.deleted_at is null
     and o.starts_at < s.ends_at and s.starts_at < o.ends_at
   where s.deleted_at is null
  union all
  select sub.bucket, 'XXX', 'assets_now', 1
    from sub join showtree.asset_assignments a on a.org_id = $1 and a.node_id = sub.id
    join showtree.assets x on x.org_id = $1 and x.id = a.asset_id and x.deleted_at is null
   where a.deleted_at is null and a.starts_at <= now() and (a.ends_at is null or a.ends_at > now())
)
select c.bucket, c.currency::text, c.metric, coalesce(sum(c.amount), 0)::bigint
  from c
 where c.amount is not null
 group by c.bucket, c.currency, c.metric";

/// The same figures as [`raw`], computed from the base tables alone.
#[tracing::instrument(skip_all, err)]
pub async fn brute_force(c: &impl Sql, org_id: Uuid, node_id: Uuid) -> Result<Figures, DbError> {
    let rows = c.query(BRUTE_FORCE_SQL, &[&org_id, &node_id]).await?;
    let mut figures = Figures::new();
    for r in &rows {
        let metric: String = r.try_get(2)?;
        let i = METRICS
            .iter()
            .position(|m| *m == metric)
            .ok_or_else(|| DbError::Unexpected(format!("unknown metric {metric}")))?;
        let mut line = Line::default();
        line.0[i] = r.try_get(3)?;
        insert(&mut figures, r.try_get(0)?, r.try_get(1)?, line);
    }
    Ok(figures)
}

/// Folds up to `limit` pending deltas of one organization into the totals;
/// returns how many (0 when another fold of it is running).
#[tracing::instrument(skip_all, err)]
pub async fn fold(c: &impl Sql, org_id: Uuid, limit: i32) -> Result<i32, DbError> {
    let row = c
        .query_one("select private.rollup_fold($1, $2)", &[&org_id, &limit])
        .await?;
    Ok(row.try_get(0)?)
}

/// Folds pending deltas of every organization, up to `limit` in all.
#[tracing::instrument(skip_all, err)]
pub async fn fold_all(c: &impl Sql, limit: i32) -> Result<i32, DbError> {
    let row = c
        .query_one("select private.rollup_fold_all($1)", &[&limit])
        .await?;
    Ok(row.try_get(0)?)
}

/// Which part of a roll-up a bucket is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum BucketKind {
    /// The whole live subtree.
    Total,
    /// The node's own rows.
    Own,
    /// One child the caller can read, with its subtree: its id, name and
    /// level.
    Child(Uuid, String, NodeKind),
    /// Every child the caller cannot read, summed.
    Restricted,
}

/// Money of one bucket in one currency (only with the finance capability).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// ISO 4217 code.
    pub currency: String,
    /// Planned (live budget lines).
    pub budget_planned_minor: i64,
    /// Invoiced, by invoice status ([`INVOICE_STATUSES`] order).
    pub invoiced_minor: [i64; 6],
    /// Crew cost (live, not cancelled assignments with a rate).
    pub crew_cost_minor: i64,
    /// The same in the organization's base currency, when asked for.
    pub base: Option<BaseMoney>,
}

/// Money converted to the base currency; `None` where a rate is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseMoney {
    /// The organization's base currency.
    pub currency: String,
    /// Planned, at today's rate.
    pub budget_planned_minor: Option<i64>,
    /// Invoiced by status, each invoice at the rate of its issue date.
    pub invoiced_minor: [Option<i64>; 6],
    /// Crew cost, at today's rate.
    pub crew_cost_minor: Option<i64>,
}

/// One bucket of a caller's roll-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Which bucket.
    pub kind: BucketKind,
    /// Counts and clock figures ([`METRICS`] order, money figures zero).
    pub counts: Line,
    /// Whether money is shown here (the caller's finance capability).
    pub money_visible: bool,
    /// Money per currency; empty when not visible.
    pub money: Vec<Money>,
    /// Delta rows not folded yet that this bucket's figures include.
    pub pending: i64,
}

/// Which children a caller's roll-up lists: up to `limit` of those the
/// caller can read, after the `(name, id)` of the previous page's last
/// one, by name then id.
#[derive(Debug, Clone, Copy)]
pub struct ChildPage<'a> {
    /// The previous page's last child.
    pub after: Option<(&'a str, Uuid)>,
    /// Most children listed (1 to [`crate::nodes::MAX_PAGE`]).
    pub limit: i32,
}

/// A node's roll-up as `caller` may see it (inside the caller's
/// transaction: `private.rollup` applies the caller's access), with the
/// transaction's `now()` the clock figures were counted at. `None` when
/// the caller cannot read the node (or it is deleted). The total, own and
/// restricted buckets cover the whole subtree whatever the page.
#[tracing::instrument(skip_all, err)]
pub async fn for_caller(
    c: &impl Sql,
    org_id: Uuid,
    node_id: Uuid,
    convert: bool,
    page: ChildPage<'_>,
) -> Result<Option<(time::OffsetDateTime, Vec<Bucket>)>, DbError> {
    if !(1..=crate::nodes::MAX_PAGE).contains(&page.limit) {
        return Err(DbError::Invalid("limit must be between 1 and 10000"));
    }
    let base_cols: Vec<String> = METRICS[FIRST_MONEY..FIRST_CLOCK]
        .iter()
        .map(|m| format!("base_{m}"))
        .collect();
    let sql = format!(
        "select now(), kind, child_id, currency::text, money_visible, {}, pending, \
                base_currency::text, {}, child_name, child_kind \
           from private.rollup($1, $2, $3, $4, $5, $6)",
        METRICS.join(", "),
        base_cols.join(", ")
    );
    let (after_name, after_id) = match page.after {
        Some((name, id)) => (Some(name), Some(id)),
        None => (None, None),
    };
    let rows = c
        .query(
            &sql,
            &[
                &org_id,
                &node_id,
                &convert,
                &after_name,
                &after_id,
                &page.limit,
            ],
        )
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let now: time::OffsetDateTime = first.try_get(0)?;
    let mut buckets: Vec<Bucket> = Vec::new();
    for r in &rows {
        let kind = match (r.try_get::<_, &str>(1)?, r.try_get::<_, Option<Uuid>>(2)?) {
            ("total", _) => BucketKind::Total,
            ("own", _) => BucketKind::Own,
            ("child", Some(id)) => {
                let at = 5 + METRICS.len() + 2 + (FIRST_CLOCK - FIRST_MONEY);
                let name: String = r.try_get(at)?;
                let kind: String = r.try_get(at + 1)?;
                let kind = kind
                    .parse()
                    .map_err(|_| DbError::Unexpected(format!("node kind {kind}")))?;
                BucketKind::Child(id, name, kind)
            }
            ("restricted", _) => BucketKind::Restricted,
            (other, _) => return Err(DbError::Unexpected(format!("bucket kind {other}"))),
        };
        let currency: String = r.try_get(3)?;
        let money_visible: bool = r.try_get(4)?;
        let mut line = Line::default();
        for (i, v) in line.0.iter_mut().enumerate() {
            *v = r.try_get::<_, Option<i64>>(i + 5)?.unwrap_or(0);
        }
        let at = 5 + METRICS.len();
        let pending: i64 = r.try_get(at)?;
        if buckets.last().is_none_or(|b| b.kind != kind) {
            buckets.push(Bucket {
                kind,
                counts: Line::default(),
                money_visible,
                money: Vec::new(),
                pending: 0,
            });
        }
        let Some(bucket) = buckets.last_mut() else {
            continue;
        };
        bucket.pending += pending;
        if currency == COUNTS {
            bucket.counts = line;
            continue;
        }
        let base = match r.try_get::<_, Option<String>>(at + 1)? {
            Some(base_currency) => {
                let get = |k: usize| r.try_get::<_, Option<i64>>(at + 2 + k);
                Some(BaseMoney {
                    currency: base_currency,
                    budget_planned_minor: get(0)?,
                    invoiced_minor: [get(1)?, get(2)?, get(3)?, get(4)?, get(5)?, get(6)?],
                    crew_cost_minor: get(7)?,
                })
            }
            None => None,
        };
        let m = &line.0;
        bucket.money.push(Money {
            currency,
            budget_planned_minor: m[FIRST_MONEY],
            invoiced_minor: [
                m[FIRST_MONEY + 1],
                m[FIRST_MONEY + 2],
                m[FIRST_MONEY + 3],
                m[FIRST_MONEY + 4],
                m[FIRST_MONEY + 5],
                m[FIRST_MONEY + 6],
            ],
            crew_cost_minor: m[FIRST_MONEY + 7],
            base,
        });
    }
    Ok(Some((now, buckets)))
}
