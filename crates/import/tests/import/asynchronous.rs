//! Asynchronous dual-write within one database (`dual-write --async`): the
//! capture triggers stay, `--follow` drains their log while the old
//! application writes, cutover drains the rest under the writers' lock, and
//! every phase rolls back to the legacy tables as they were.

use std::time::Duration;

use showtree_db::testing::TestDb;
use showtree_import::backfill::{self, BackfillArgs};
use showtree_import::state::{self, Mode, Phase, Session};
use showtree_import::{ImportError, cutover, dualwrite, expand, rollback, validate};
use tokio::sync::oneshot;

use crate::support::{self, Writer};

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client()
        .await
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// Capture triggers and dual-write triggers on the legacy tables.
async fn triggers(db: &TestDb) -> (i64, i64) {
    (
        count(
            db,
            "select count(*) from pg_trigger where tgname = 'showtree_import_capture'",
        )
        .await,
        count(
            db,
            "select count(*) from pg_trigger where tgname like 'showtree_import_dual_write%'",
        )
        .await,
    )
}

/// `dual-write --follow` as a task, until the returned sender fires.
fn follow(mut s: Session) -> (oneshot::Sender<()>, tokio::task::JoinHandle<(Session, u64)>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let n = dualwrite::follow(&mut s, async {
            let _ = stopped.await;
        })
        .await
        .expect("follow");
        (s, n)
    });
    (stop, task)
}

/// Waits (a few seconds at most) for the change log to be empty.
async fn drained(db: &TestDb) {
    for _ in 0..100 {
        if count(db, "select count(*) from showtree_import.changes").await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the follower did not drain the change log");
}

/// Expands, backfills (slowly, while the legacy application writes from
/// `writer_start` on) and turns asynchronous dual-write on.
async fn to_async_dual_write(db: &TestDb, writer_start: u64) -> (Session, Writer) {
    let mut s = support::session(db).await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    let writer = Writer::start(db, writer_start).await;
    backfill::backfill(
        &mut s,
        &BackfillArgs {
            rows_per_second: 4_000,
            batch_size: 50,
            preflight: false,
        },
    )
    .await
    .expect("backfill");
    dualwrite::enable_async(&mut s)
        .await
        .expect("dual-write --async");
    (s, writer)
}

#[tokio::test]
async fn asynchronous_dual_write_follows_legacy_writes_and_cuts_over_clean() {
    let db = support::legacy_db(support::size()).await;
    let (s, writer) = to_async_dual_write(&db, 0).await;
    let st = s.require().await.expect("state");
    assert_eq!(
        (st.phase, st.dual_write, st.is_async()),
        (Phase::DualWrite, Some(Mode::Async), true)
    );
    // the capture triggers stayed; no dual-write trigger
    assert_eq!(triggers(&db).await, (11, 0));

    // inserts, updates and deletes while --follow drains them
    let (stop, task) = follow(s);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let written = writer.stop().await;
    drained(&db).await;
    let _ = stop.send(());
    let (mut s, followed) = task.await.expect("follower task");
    assert!(
        written > 20 && followed > 0,
        "{written} writes, {followed} copied"
    );
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
    assert_eq!(outcome.pending, 0);

    // writes nobody drained yet: left out of the comparison and counted
    support::write(&db, 1_000_000, 20).await;
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.pending > 0, "{}", outcome.render(0));
    assert!(outcome.is_clean(), "{}", outcome.render(0));
    let status = state::status(&mut s).await.expect("status");
    assert!(status.contains("dual-write: asynchronous"), "{status}");

    // a plain `dual-write` keeps the mode and drains once
    let caught = dualwrite::enable(&mut s).await.expect("dual-write again");
    assert!(caught > 0);
    assert_eq!(triggers(&db).await, (11, 0));

    // cutover takes the writers' lock, drains the rest and validates, while
    // the old application keeps writing through it (a write failing on the
    // lock would fail the writer)
    support::write(&db, 2_000_000, 10).await;
    let writer = Writer::start(&db, 3_000_000).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = cutover::cutover(&mut s, false, false)
        .await
        .expect("cutover");
    assert!(text.contains("caught up"), "{text}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(writer.stop().await > 0);
    let st = s.require().await.expect("state");
    assert_eq!(
        (st.phase, st.dual_write),
        (Phase::Cutover, Some(Mode::Async))
    );
    assert_eq!(triggers(&db).await, (11, 0));
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}

#[tokio::test]
async fn synchronous_dual_write_is_not_switched_to_asynchronous_in_place() {
    let db = support::legacy_db(support::size()).await;
    let mut s = support::session(&db).await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    backfill::backfill(&mut s, &BackfillArgs::default())
        .await
        .expect("backfill");
    // --follow before any asynchronous dual-write: refused, nothing changed
    let err = dualwrite::follow(&mut s, std::future::ready(()))
        .await
        .expect_err("nothing to follow yet");
    assert!(matches!(err, ImportError::Usage(_)), "{err}");
    assert_eq!(s.require().await.expect("state").phase, Phase::Backfilled);
    dualwrite::enable(&mut s).await.expect("dual-write");
    assert_eq!(
        s.require().await.expect("state").dual_write,
        Some(Mode::Sync)
    );
    let err = dualwrite::enable_async(&mut s)
        .await
        .expect_err("synchronous dual-write is on");
    assert!(matches!(err, ImportError::State(_)), "{err}");
    assert_eq!(triggers(&db).await, (0, 33));

    // rolled back, it can start again asynchronously, and back to synchronous
    rollback::rollback(&mut s, false).await.expect("rollback");
    let st = s.require().await.expect("state");
    assert_eq!((st.phase, st.dual_write), (Phase::Backfilled, None));
    dualwrite::enable_async(&mut s)
        .await
        .expect("dual-write --async");
    support::write(&db, 0, 30).await;
    cutover::cutover(&mut s, true, false)
        .await
        .expect("cutover --rename");
    assert_eq!(
        count(
            &db,
            "select count(*) from pg_tables where schemaname = 'showtree_legacy'"
        )
        .await,
        11
    );
    for expected in [Phase::DualWrite, Phase::Backfilled] {
        rollback::rollback(&mut s, false).await.expect("rollback");
        assert_eq!(s.require().await.expect("state").phase, expected);
        assert_eq!(triggers(&db).await, (11, 0));
        if expected == Phase::DualWrite {
            // the tables are back, asynchronous dual-write goes on
            support::write(&db, 500, 28).await;
            dualwrite::enable(&mut s).await.expect("catch-up");
            let outcome = validate::validate(&mut s).await.expect("validate");
            assert!(outcome.is_clean(), "{}", outcome.render(0));
        }
    }
    dualwrite::enable(&mut s)
        .await
        .expect("synchronous dual-write");
    assert_eq!(triggers(&db).await, (0, 33));
    support::write(&db, 5_000, 12).await;
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}

/// Runs the path with asynchronous dual-write up to `phase` (legacy writes
/// along the way, some drained by a follower), rolls everything back and
/// compares the dumps.
async fn rolled_back_async_from(phase: Phase) {
    let db = support::legacy_db(support::size()).await;
    let schema_before = support::legacy_schema(&db);
    let (s, writer) = to_async_dual_write(&db, 1_000).await;
    let (stop, task) = follow(s);
    tokio::time::sleep(Duration::from_millis(800)).await;
    writer.stop().await;
    let _ = stop.send(());
    let (mut s, _) = task.await.expect("follower task");
    // some left in the log for the rollback
    support::write(&db, 1_000_004, 60).await;
    if phase >= Phase::Cutover {
        cutover::cutover(&mut s, true, false)
            .await
            .expect("cutover");
    }
    let data_before = match phase {
        Phase::Cutover => support::dump(&db, &["-n", "showtree_legacy", "--data-only"])
            .replace("showtree_legacy", "public"),
        _ => support::legacy_data(&db),
    };
    let done = rollback::rollback(&mut s, true)
        .await
        .expect("rollback --all");
    assert!(
        done.last().is_some_and(|l| l.contains("expand")),
        "{done:?}"
    );
    assert!(s.state().await.expect("state").is_none());
    support::assert_same(&data_before, &support::legacy_data(&db), "the legacy rows");
    support::assert_same(
        &schema_before,
        &support::legacy_schema(&db),
        "the legacy tables' definitions",
    );
    let left = count(
        &db,
        "select (select count(*) from showtree.nodes) + (select count(*) from showtree.tasks)
              + (select count(*) from auth.users) + (select count(*) from showtree.audit_events)
              + (select count(*) from pg_namespace where nspname in ('showtree_import', 'showtree_legacy'))",
    )
    .await;
    assert_eq!(left, 0, "imported rows or schemas left behind");
}

#[tokio::test]
async fn rollback_from_asynchronous_dual_write_leaves_the_legacy_tables_as_they_were() {
    rolled_back_async_from(Phase::DualWrite).await;
}

#[tokio::test]
async fn rollback_from_asynchronous_cutover_leaves_the_legacy_tables_as_they_were() {
    rolled_back_async_from(Phase::Cutover).await;
}
