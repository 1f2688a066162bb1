//! Every phase rolled back: the legacy tables' rows are byte-for-byte what
//! they were right before the rollback (pg_dump), their definitions what
//! they were before the import, and showtree holds nothing imported.

use showtree_db::testing::TestDb;
use showtree_import::backfill::{self, BackfillArgs};
use showtree_import::state::Phase;
use showtree_import::{cutover, dualwrite, expand, rollback, validate};

use crate::support::{self, Writer};

/// Runs the path up to `phase` (legacy writes along the way), then rolls
/// everything back and compares the dumps.
async fn rolled_back_from(db: &TestDb, phase: Phase) {
    let schema_before = support::legacy_schema(db);
    let mut s = support::session(db).await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    if phase >= Phase::Backfilling {
        let writer = Writer::start(db, 1_000).await;
        let args = BackfillArgs {
            rows_per_second: if phase == Phase::Backfilling {
                200
            } else {
                4_000
            },
            batch_size: 50,
            preflight: true,
        };
        if phase == Phase::Backfilling {
            // interrupted: a few batches only, then the connection is gone
            let run = tokio::time::timeout(
                std::time::Duration::from_millis(1_500),
                backfill::backfill(&mut s, &args),
            )
            .await;
            assert!(
                run.is_err(),
                "the backfill finished too soon to be interrupted"
            );
            drop(s);
            s = support::session(db).await;
            assert_eq!(s.require().await.expect("state").phase, Phase::Backfilling);
        } else {
            backfill::backfill(&mut s, &args).await.expect("backfill");
        }
        writer.stop().await;
    }
    if phase >= Phase::DualWrite {
        dualwrite::enable(&mut s).await.expect("dual-write");
        // far above the background writer's steps (it names rows after them)
        support::write(db, 1_000_004, 60).await;
    }
    if phase >= Phase::Cutover {
        cutover::cutover(&mut s, true, false)
            .await
            .expect("cutover");
    }
    if phase >= Phase::Backfilled {
        let outcome = validate::validate(&mut s).await.expect("validate");
        assert!(outcome.is_clean(), "{}", outcome.render(0));
    }
    // the legacy data as the old application left it
    let data_before = match phase {
        Phase::Cutover => support::dump(db, &["-n", "showtree_legacy", "--data-only"])
            .replace("showtree_legacy", "public"),
        _ => support::legacy_data(db),
    };
    let done = rollback::rollback(&mut s, true)
        .await
        .expect("rollback --all");
    assert!(
        done.last().is_some_and(|l| l.contains("expand")),
        "{done:?}"
    );
    assert!(s.state().await.expect("state").is_none());
    support::assert_same(&data_before, &support::legacy_data(db), "the legacy rows");
    support::assert_same(
        &schema_before,
        &support::legacy_schema(db),
        "the legacy tables' definitions",
    );
    let c = db.client().await;
    let left: i64 = c
        .query_one(
            "select (select count(*) from showtree.nodes) + (select count(*) from showtree.tasks)
                  + (select count(*) from auth.users) + (select count(*) from showtree.audit_events)
                  + (select count(*) from pg_namespace where nspname in ('showtree_import', 'showtree_legacy'))",
            &[],
        )
        .await
        .expect("leftovers")
        .get(0);
    assert_eq!(left, 0, "imported rows or schemas left behind");
}

#[tokio::test]
async fn rollback_from_expand_leaves_the_legacy_tables_as_they_were() {
    let db = support::legacy_db(support::size()).await;
    rolled_back_from(&db, Phase::Expanded).await;
}

#[tokio::test]
async fn rollback_from_an_interrupted_backfill_leaves_the_legacy_tables_as_they_were() {
    let db = support::legacy_db(support::size()).await;
    rolled_back_from(&db, Phase::Backfilling).await;
}

#[tokio::test]
async fn rollback_from_backfill_leaves_the_legacy_tables_as_they_were() {
    let db = support::legacy_db(support::size()).await;
    rolled_back_from(&db, Phase::Backfilled).await;
}

#[tokio::test]
async fn rollback_from_dual_write_leaves_the_legacy_tables_as_they_were() {
    let db = support::legacy_db(support::size()).await;
    rolled_back_from(&db, Phase::DualWrite).await;
}

#[tokio::test]
async fn rollback_from_cutover_leaves_the_legacy_tables_as_they_were() {
    let db = support::legacy_db(support::size()).await;
    rolled_back_from(&db, Phase::Cutover).await;
}

#[tokio::test]
async fn rollback_of_expand_reverts_the_schema_it_created() {
    // nothing but the legacy tables: expand migrates showtree in, and the
    // rollback takes every trace out again (roles aside: they are the cluster's)
    let db = support::bare_legacy_db(support::size()).await;
    let whole_before = support::dump(&db, &["--schema-only"]);
    let mut s = support::dual_written(&db).await;
    support::write(&db, 0, 30).await;
    let data = support::legacy_data(&db);
    rollback::rollback(&mut s, true)
        .await
        .expect("rollback --all");
    support::assert_same(
        &whole_before,
        &support::dump(&db, &["--schema-only"]),
        "the database's schema",
    );
    support::assert_same(&data, &support::legacy_data(&db), "the legacy rows");
}

#[tokio::test]
async fn rollback_goes_back_one_phase_at_a_time() {
    let db = support::legacy_db(support::size()).await;
    let mut s = support::dual_written(&db).await;
    cutover::cutover(&mut s, false, false)
        .await
        .expect("cutover");
    for expected in [Phase::DualWrite, Phase::Backfilled, Phase::Expanded] {
        rollback::rollback(&mut s, false).await.expect("rollback");
        assert_eq!(s.require().await.expect("state").phase, expected);
        if expected == Phase::DualWrite {
            // dual-write works again after undoing cutover
            support::write(&db, 500, 28).await;
            let outcome = validate::validate(&mut s).await.expect("validate");
            assert!(outcome.is_clean(), "{}", outcome.render(0));
        }
    }
    // and forward again from there
    backfill::backfill(&mut s, &BackfillArgs::default())
        .await
        .expect("backfill again");
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}
