//! The backfill drops the secondary indexes of the target tables that are
//! empty when it starts and builds them again at its end: killed midway,
//! the resumed run (or the rollback) still leaves showtree's schema
//! exactly as it was (pg_dump), and a table already holding rows keeps
//! its indexes.

use std::time::Duration;

use showtree_db::testing::TestDb;
use showtree_import::backfill::{self, BackfillArgs};
use showtree_import::state::{Phase, Session};
use showtree_import::{expand, rollback, validate};

use crate::support;

/// showtree's tables, indexes (comments included) and functions.
fn showtree_schema(db: &TestDb) -> String {
    support::dump(db, &["-n", "showtree", "-n", "auth", "--schema-only"])
}

/// How many indexes wait in the import's record of those set aside.
async fn set_aside(db: &TestDb, table: &str) -> i64 {
    db.client()
        .await
        .query_one(
            "select count(*) from showtree_import.set_aside_indexes where table_name = $1 or $1 = ''",
            &[&table],
        )
        .await
        .expect("set-aside indexes")
        .get(0)
}

/// Expand, then a backfill killed after a few batches; the new session.
async fn killed_backfill(db: &TestDb) -> Session {
    let mut s = support::session(db).await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    let args = BackfillArgs {
        rows_per_second: 200,
        batch_size: 50,
        preflight: false,
    };
    let run = tokio::time::timeout(
        Duration::from_millis(1_500),
        backfill::backfill(&mut s, &args),
    )
    .await;
    assert!(
        run.is_err(),
        "the backfill finished too soon to be interrupted"
    );
    drop(s);
    let s = support::session(db).await;
    assert_eq!(s.require().await.expect("state").phase, Phase::Backfilling);
    s
}

#[tokio::test]
async fn a_killed_backfill_builds_the_indexes_it_dropped_when_resumed() {
    let db = support::legacy_db(support::size()).await;
    let before = showtree_schema(&db);
    let mut s = killed_backfill(&db).await;
    let dropped = set_aside(&db, "").await;
    assert!(dropped > 0, "no index was set aside");
    assert!(set_aside(&db, "tasks").await > 0);
    assert_ne!(
        before,
        showtree_schema(&db),
        "the indexes set aside are still there"
    );

    let summary = backfill::backfill(&mut s, &BackfillArgs::default())
        .await
        .expect("resumed backfill");
    assert!(summary.resumed, "{summary}");
    assert_eq!(summary.indexes_set_aside, 0, "{summary}");
    assert_eq!(summary.indexes_built, dropped as u64, "{summary}");
    assert_eq!(set_aside(&db, "").await, 0);
    support::assert_same(&before, &showtree_schema(&db), "showtree's schema");
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}

#[tokio::test]
async fn rollback_of_a_killed_backfill_builds_the_dropped_indexes_back() {
    let db = support::legacy_db(support::size()).await;
    let before = showtree_schema(&db);
    let mut s = killed_backfill(&db).await;
    assert!(set_aside(&db, "").await > 0, "no index was set aside");
    rollback::rollback(&mut s, false)
        .await
        .expect("rollback of the backfill");
    assert_eq!(s.require().await.expect("state").phase, Phase::Expanded);
    assert_eq!(set_aside(&db, "").await, 0);
    support::assert_same(&before, &showtree_schema(&db), "showtree's schema");
    // and the backfill runs again from there, dropping them again
    let summary = backfill::backfill(&mut s, &BackfillArgs::default())
        .await
        .expect("backfill again");
    assert!(summary.indexes_set_aside > 0, "{summary}");
    support::assert_same(&before, &showtree_schema(&db), "showtree's schema");
}

#[tokio::test]
async fn a_target_table_holding_rows_keeps_its_indexes_and_comments_survive() {
    let db = support::legacy_db(support::size()).await;
    let c = db.client().await;
    // another organization's vendor (no node: keys are not the point here)
    c.batch_execute(
        "set session_replication_role = replica;
         insert into showtree.vendors (org_id, node_id, name)
         values ('00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000001', 'Elsewhere');
         set session_replication_role = origin;
         comment on index showtree.tasks_assigned_to_idx is 'kept across the backfill';",
    )
    .await
    .expect("a vendor of another organization");
    let before = showtree_schema(&db);
    let mut s = support::session(&db).await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    let summary = backfill::backfill(
        &mut s,
        &BackfillArgs {
            rows_per_second: 0,
            batch_size: 40,
            preflight: false,
        },
    )
    .await
    .expect("backfill");
    assert!(summary.indexes_set_aside > 0, "{summary}");
    assert_eq!(summary.indexes_built, summary.indexes_set_aside);
    let tables: String = c
        .query_one(
            "select detail from showtree_import.history where event = 'indexes set aside'",
            &[],
        )
        .await
        .expect("history")
        .get(0);
    assert!(tables.contains("showtree.tasks ("), "{tables}");
    assert!(
        !tables.contains("showtree.vendors ("),
        "the vendors' indexes were set aside: {tables}"
    );
    support::assert_same(&before, &showtree_schema(&db), "showtree's schema");
}
