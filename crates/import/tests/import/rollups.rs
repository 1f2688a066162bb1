//! Roll-up figures (migration 0006) of imported nodes stay exact against
//! brute force (`showtree_import.rollup_diff` over every node: what the
//! rows say against folded totals plus pending deltas) whatever path a
//! legacy write takes into showtree.

use showtree_db::testing::TestDb;
use showtree_import::backfill::{self, BackfillArgs};
use showtree_import::state::Session;
use showtree_import::{dualwrite, expand, validate};

use crate::support;

/// A legacy table the flat mapping does not have: assets moved to a
/// production, each an asset assignment in showtree, so an asset can be
/// referenced by an assignment of another legacy table.
const ASSET_MOVES: &str = "
create table asset_moves (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  production_id uuid not null references productions (id) on delete cascade,
  asset_id uuid not null references assets (id) on delete cascade,
  moved_at timestamp not null default '2025-05-01 10:00'
);
insert into asset_moves (organization_id, production_id, asset_id)
select a.organization_id, p.id, a.id
  from assets a
  cross join lateral (select p.id from productions p where p.organization_id = a.organization_id
                       order by p.id limit 1) p;
";

const ASSET_MOVES_MAPPING: &str = r#"
[tables.asset_moves]
target = "asset_assignments"
owner = { organization = "organization_id", production = "production_id" }

[tables.asset_moves.columns]
asset_id = { ref = "assets", column = "asset_id" }
starts_at = "moved_at"
created_at = "moved_at"
updated_at = "moved_at"
"#;

/// Every imported node whose figures differ from its rows.
async fn rollup_mismatches(db: &TestDb) -> Vec<String> {
    db.client()
        .await
        .query(
            "select d.node_id::text || ' ' || d.metric || ' off by ' || d.amount
               from showtree_import.rollup_diff(array(select org_id from showtree.nodes),
                                                array(select id from showtree.nodes)) d
              order by 1",
            &[],
        )
        .await
        .expect("comparing roll-ups with brute force")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn expanded_and_backfilled(db: &TestDb, mapping: &str) -> Session {
    let mut s = support::session(db).await;
    expand::expand(&mut s, mapping).await.expect("expand");
    backfill::backfill(&mut s, &BackfillArgs::default())
        .await
        .expect("backfill");
    s
}

/// Legacy deletes whose cascade reaches showtree's rows out of the order
/// its `on delete restrict` keys accept: a data-modifying CTE runs after the
/// statement's main delete, so the vendor (the asset) is deleted before the
/// invoices (the assignments) that reference it.
async fn deletes_in_the_wrong_order(db: &TestDb) -> (String, String) {
    let c = db.client().await;
    let vendor: String = c
        .query_one(
            "select v.id::text from vendors v where exists (select from invoices i where i.vendor_id = v.id)
              order by v.id limit 1",
            &[],
        )
        .await
        .expect("a vendor with invoices")
        .get(0);
    let asset: String = c
        .query_one(
            "select a.id::text from assets a where exists (select from asset_moves m where m.asset_id = a.id)
              order by a.id limit 1",
            &[],
        )
        .await
        .expect("a moved asset")
        .get(0);
    c.execute(
        "with i as (delete from invoices where vendor_id = $1::text::uuid)
         delete from vendors where id = $1::text::uuid",
        &[&vendor],
    )
    .await
    .expect("deleting a vendor with its invoices");
    c.execute(
        "with m as (delete from asset_moves where asset_id = $1::text::uuid)
         delete from assets where id = $1::text::uuid",
        &[&asset],
    )
    .await
    .expect("deleting an asset with its moves");
    (vendor, asset)
}

/// Audit events `<table>.purged` of the showtree rows made from `legacy_id`.
async fn purged_events(db: &TestDb, map: &str, table: &str, legacy_id: &str) -> i64 {
    db.client()
        .await
        .query_one(
            &format!(
                "select count(*) from showtree.audit_events e
                  where e.action = '{table}.purged' and e.table_name = '{table}'
                    and e.row_id = (select h.new_id from showtree_import.history_ids h
                                     where h.map = '{map}' and h.legacy_id = $1)"
            ),
            &[&legacy_id],
        )
        .await
        .expect("counting audit events")
        .get(0)
}

/// The new ids of the legacy rows the test deletes, kept before they go.
async fn remember_ids(db: &TestDb) {
    db.client()
        .await
        .batch_execute(
            "create table showtree_import.history_ids as
               select 'vendors'::text as map, legacy_id::text, new_id from showtree_import.map_vendors
               union all
               select 'assets', legacy_id::text, new_id from showtree_import.map_assets",
        )
        .await
        .expect("remembering the new ids");
}

async fn with_asset_moves() -> (TestDb, String) {
    let db = support::legacy_db(support::size()).await;
    db.client()
        .await
        .batch_execute(ASSET_MOVES)
        .await
        .expect("legacy asset moves");
    (db, format!("{}\n{ASSET_MOVES_MAPPING}", support::MAPPING))
}

#[tokio::test]
async fn a_legacy_delete_out_of_key_order_under_dual_write_keeps_roll_ups_exact_and_is_audited() {
    let (db, mapping) = with_asset_moves().await;
    let mut s = expanded_and_backfilled(&db, &mapping).await;
    dualwrite::enable(&mut s).await.expect("dual-write");
    assert_eq!(rollup_mismatches(&db).await, Vec::<String>::new());
    remember_ids(&db).await;

    let (vendor, asset) = deletes_in_the_wrong_order(&db).await;
    assert_eq!(
        rollup_mismatches(&db).await,
        Vec::<String>::new(),
        "roll-ups after the deletes"
    );
    assert_eq!(purged_events(&db, "vendors", "vendors", &vendor).await, 1);
    assert_eq!(purged_events(&db, "assets", "assets", &asset).await, 1);
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}

#[tokio::test]
async fn a_legacy_delete_out_of_key_order_drained_later_keeps_roll_ups_exact_and_is_audited() {
    let (db, mapping) = with_asset_moves().await;
    let mut s = expanded_and_backfilled(&db, &mapping).await;
    dualwrite::enable_async(&mut s)
        .await
        .expect("dual-write --async");
    remember_ids(&db).await;

    // the vendor's (the asset's) change drained in a batch before the
    // invoices' (the moves') one: what a drain does when the log is
    // longer than a batch
    let (vendor, asset) = deletes_in_the_wrong_order(&db).await;
    let c = db.client().await;
    c.batch_execute(
        "create table showtree_import.held as
           select * from showtree_import.changes where legacy_table in ('invoices', 'asset_moves');
         delete from showtree_import.changes where legacy_table in ('invoices', 'asset_moves');",
    )
    .await
    .expect("holding back the dependents' changes");
    dualwrite::enable(&mut s).await.expect("a drain");
    c.batch_execute(
        "insert into showtree_import.changes (legacy_table, legacy_id) select legacy_table, legacy_id from showtree_import.held",
    )
    .await
    .expect("putting the dependents' changes back");
    dualwrite::enable(&mut s).await.expect("another drain");

    assert_eq!(
        rollup_mismatches(&db).await,
        Vec::<String>::new(),
        "roll-ups after the deletes"
    );
    assert_eq!(purged_events(&db, "vendors", "vendors", &vendor).await, 1);
    assert_eq!(purged_events(&db, "assets", "assets", &asset).await, 1);
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}

/// Updates of legacy events that overlap at one location: retitled,
/// rescheduled, moved to another location and back, several in one
/// statement, one deleted.
async fn insert_clashes(c: &tokio_postgres::Client) {
    c.batch_execute(
        "create temporary table clash (id uuid);
         with e as (
           insert into events (organization_id, workspace_id, production_id, name, kind, status, location, starts_at, ends_at)
           select p.organization_id, p.workspace_id, p.id, 'clash ' || i, 'meeting', 'published', 'Main stage',
                  timestamp '2025-06-01 10:00' + i * interval '20 minutes',
                  timestamp '2025-06-01 11:00' + i * interval '20 minutes'
             from (select id, organization_id, workspace_id from productions order by id limit 1) p,
                  generate_series(1, 4) i
           returning id)
         insert into clash select id from e;",
    )
    .await
    .expect("overlapping events");
}

async fn update_clashes(c: &tokio_postgres::Client) {
    for sql in [
        "update events set name = name || ' (retitled)' where id in (select id from clash)",
        "update events set starts_at = starts_at + interval '5 minutes' where id = (select id from clash order by id limit 1)",
        "update events set location = 'Side stage' where id = (select id from clash order by id desc limit 1)",
        "update events set location = 'Main stage', ends_at = ends_at + interval '1 hour' where id in (select id from clash)",
        "update events set status = 'cancelled', custom_fields = '{\"moved\": true}' where id = (select id from clash order by id limit 1)",
        "delete from events where id = (select id from clash order by id desc limit 1)",
    ] {
        c.batch_execute(sql).await.expect(sql);
    }
}

#[tokio::test]
async fn legacy_updates_of_overlapping_events_under_dual_write_keep_schedule_roll_ups_exact() {
    let db = support::legacy_db(support::size()).await;
    let mut s = expanded_and_backfilled(&db, support::MAPPING).await;
    dualwrite::enable(&mut s).await.expect("dual-write");
    let c = db.client().await;
    insert_clashes(&c).await;
    update_clashes(&c).await;
    assert_eq!(rollup_mismatches(&db).await, Vec::<String>::new());
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}

#[tokio::test]
async fn legacy_updates_of_overlapping_events_drained_asynchronously_keep_schedule_roll_ups_exact()
{
    let db = support::legacy_db(support::size()).await;
    let mut s = expanded_and_backfilled(&db, support::MAPPING).await;
    dualwrite::enable_async(&mut s)
        .await
        .expect("dual-write --async");
    // inserted and drained, then updated and drained
    let c = db.client().await;
    insert_clashes(&c).await;
    dualwrite::enable(&mut s).await.expect("a drain");
    assert_eq!(rollup_mismatches(&db).await, Vec::<String>::new());
    update_clashes(&c).await;
    dualwrite::enable(&mut s).await.expect("a drain");
    assert_eq!(rollup_mismatches(&db).await, Vec::<String>::new());
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}
