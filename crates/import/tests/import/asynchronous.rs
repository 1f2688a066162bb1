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
    let mut s = support::backfilled(&db).await;
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

/// Expands, backfills and turns asynchronous dual-write on, with no legacy
/// writes along the way.
async fn quiet_async_dual_write(db: &TestDb) -> Session {
    let mut s = support::backfilled(db).await;
    dualwrite::enable_async(&mut s)
        .await
        .expect("dual-write --async");
    s
}

/// The problems an outcome names for legacy key `id`: (mapping, message).
fn problems_of(outcome: &validate::Outcome, id: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = outcome
        .report
        .rows
        .iter()
        .filter(|r| r.ids.iter().any(|i| i == id))
        .map(|r| (r.mapping.clone(), r.message.clone()))
        .collect();
    found.sort();
    found
}

/// A legacy task's key (as text), the `n`th by id.
async fn task_key(db: &TestDb, n: i64) -> String {
    db.client()
        .await
        .query_one(
            "select id::text from tasks order by id offset $1 limit 1",
            &[&n],
        )
        .await
        .expect("a legacy task")
        .get(0)
}

#[tokio::test]
async fn asynchronous_cutover_refuses_a_mismatch_found_by_its_full_validation() {
    let db = support::legacy_db(support::size()).await;
    let mut s = quiet_async_dual_write(&db).await;
    let key = task_key(&db, 3).await;
    // a showtree row changed by hand, with showtree's triggers off
    let c = db.client().await;
    c.batch_execute(&format!(
        "set session_replication_role = replica;
         update showtree.tasks set title = title || ' (tampered)'
          where id = (select new_id from showtree_import.map_tasks where legacy_id = '{key}');
         reset session_replication_role;"
    ))
    .await
    .expect("tampering");
    let err = cutover::cutover(&mut s, false, false)
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("cutover refused") && text.contains(&key),
        "{text}"
    );
    assert_eq!(s.require().await.expect("state").phase, Phase::DualWrite);
    assert_eq!(triggers(&db).await, (11, 0));

    // the legacy application writes the row again: the drain mends it
    c.batch_execute(&format!(
        "update tasks set title = title where id = '{key}'"
    ))
    .await
    .expect("legacy write");
    cutover::cutover(&mut s, false, false)
        .await
        .expect("cutover");
    assert_eq!(s.require().await.expect("state").phase, Phase::Cutover);
}

#[tokio::test]
async fn a_mismatch_written_between_the_full_validation_and_the_lock_is_caught_under_the_lock() {
    let db = support::legacy_db(support::size()).await;
    let mut s = quiet_async_dual_write(&db).await;
    let app = showtree_db::testing::connect(&showtree_db::connect::url_with_user(
        db.url(),
        &support::app_role(&db),
    ))
    .await;

    // the full validation is clean; then, before the lock, the legacy
    // application writes a status the mapping cannot take (dual-write
    // logs it as an error and leaves showtree's row as it was) and other
    // rows besides
    let prepared = cutover::prepare(&mut s, false).await.expect("validated");
    support::write(&db, 7_000, 14).await;
    let key = task_key(&db, 5).await;
    app.batch_execute(&format!(
        "update tasks set status = 'bogus' where id = '{key}'"
    ))
    .await
    .expect("legacy write");
    let err = cutover::finish(&mut s, prepared, false, false)
        .await
        .expect_err("the key-limited check under the lock refuses");
    let text = err.to_string();
    assert!(
        text.contains("cutover refused") && text.contains("changed since the full validation"),
        "{text}"
    );
    assert!(text.contains(&key), "{text}");
    assert_eq!(s.require().await.expect("state").phase, Phase::DualWrite);

    // the full validation names the same problems for that key
    let full = validate::validate(&mut s).await.expect("validate");
    let mut keys = validate::Keys::default();
    keys.add("tasks", &key);
    let limited = validate::validate_keys(&mut s, &keys)
        .await
        .expect("validate the key");
    assert!(!problems_of(&full, &key).is_empty(), "{}", full.render(0));
    assert_eq!(problems_of(&limited, &key), problems_of(&full, &key));

    // mended in the legacy table, and cut over with the writer going on
    app.batch_execute(&format!(
        "update tasks set status = 'todo' where id = '{key}'"
    ))
    .await
    .expect("legacy write");
    let prepared = cutover::prepare(&mut s, false).await.expect("validated");
    support::write(&db, 8_000, 14).await;
    let text = cutover::finish(&mut s, prepared, true, false)
        .await
        .expect("cutover");
    assert!(text.contains("showtree_legacy"), "{text}");
    let st = s.require().await.expect("state");
    assert_eq!(
        (st.phase, st.renamed_to.as_deref()),
        (Phase::Cutover, Some("showtree_legacy"))
    );
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}

#[tokio::test]
async fn the_key_limited_validation_finds_what_the_full_one_finds_for_those_keys() {
    let db = support::legacy_db(support::size()).await;
    let mut s = quiet_async_dual_write(&db).await;
    let (tampered, deleted, clean) = (
        task_key(&db, 1).await,
        task_key(&db, 2).await,
        task_key(&db, 4).await,
    );
    let c = db.client().await;
    // with every trigger off (the capture too, so nothing is logged): a
    // showtree row changed by hand, a legacy row deleted behind the
    // import's back, and one added so
    c.batch_execute(&format!(
        "set session_replication_role = replica;
         update showtree.tasks set priority = 'low', title = 'x'
          where id = (select new_id from showtree_import.map_tasks where legacy_id = '{tampered}');
         delete from tasks where id = '{deleted}';"
    ))
    .await
    .expect("tampering");
    let added: String = c
        .query_one(
            &format!(
                "insert into tasks (organization_id, workspace_id, production_id, title)
                 select organization_id, workspace_id, production_id, 'added behind its back'
                   from tasks where id = '{clean}' returning id::text"
            ),
            &[],
        )
        .await
        .expect("a legacy row added")
        .get(0);
    c.batch_execute("reset session_replication_role")
        .await
        .expect("triggers back on");

    let full = validate::validate(&mut s).await.expect("validate");
    let mut keys = validate::Keys::default();
    for k in [&tampered, &deleted, &added, &clean] {
        keys.add("tasks", k);
    }
    let limited = validate::validate_keys(&mut s, &keys)
        .await
        .expect("validate the keys");
    for k in [&tampered, &deleted, &added] {
        let found = problems_of(&limited, k);
        assert!(!found.is_empty(), "{k}: {}", limited.render(0));
        assert_eq!(found, problems_of(&full, k), "{k}");
    }
    assert!(problems_of(&limited, &clean).is_empty());
    let tasks = limited
        .tables
        .iter()
        .find(|t| t.mapping == "tasks")
        .expect("the tasks mapping was compared");
    // the three keys still in the legacy table, against the three mapped
    assert_eq!((tasks.legacy_rows, tasks.showtree_rows), (3, 3));
    assert!(limited.foreign_keys > 0 && limited.rollup_nodes > 0);

    // a key the drain took whose showtree row came back is found too
    // (its map entry went with the legacy row, so only the drain's note
    // of the row it named before tells)
    let row: String = c
        .query_one(
            &format!(
                "select new_id::text from showtree_import.map_tasks where legacy_id = '{clean}'"
            ),
            &[],
        )
        .await
        .expect("mapped")
        .get(0);
    c.batch_execute(&format!(
        "create schema scratch;
         create table scratch.saved as select * from showtree.tasks where id = '{row}';
         delete from tasks where id = '{clean}';"
    ))
    .await
    .expect("a legacy delete");
    let plan = s
        .plan(&s.require().await.expect("state"))
        .await
        .expect("plan");
    let mut drained = validate::Keys::default();
    assert_eq!(
        dualwrite::drain_noting(&mut s.client, &plan, &mut drained)
            .await
            .expect("drain"),
        1
    );
    c.batch_execute(
        "set session_replication_role = replica;
         do $$ begin
           execute (select format('insert into showtree.tasks (%1$s) select %1$s from scratch.saved',
                                  string_agg(quote_ident(attname), ', '))
                      from pg_attribute where attrelid = 'showtree.tasks'::regclass
                       and attnum > 0 and not attisdropped and attgenerated = '');
         end $$;
         reset session_replication_role;",
    )
    .await
    .expect("the row back");
    let limited = validate::validate_keys(&mut s, &drained)
        .await
        .expect("validate the drained key");
    let text = limited.render(0);
    assert!(
        text.contains("still holds its row") && text.contains(&row),
        "{text}"
    );
}
