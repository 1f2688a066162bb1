//! The whole path on a generated flat database while the old application
//! keeps writing: expand, backfill, dual-write, validate, cutover.

use showtree_import::backfill::{self, BackfillArgs};
use showtree_import::state::Phase;
use showtree_import::{Mapping, check, cutover, dualwrite, expand, validate};

use crate::support::{self, Writer};

#[tokio::test]
async fn full_path_with_writes_during_backfill_and_dual_write_validates_clean() {
    let db = support::legacy_db(support::size()).await;
    let mut s = support::session(&db).await;
    let report = check::check(
        &mut s.client,
        &Mapping::parse(support::MAPPING).expect("mapping"),
    )
    .await
    .expect("check runs");
    assert!(report.is_clean(), "{}", report.render(0));

    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");

    // the old application writes all along the backfill (throttled so the
    // writes land between batches)
    let writer = Writer::start(&db, 0).await;
    let summary = backfill::backfill(
        &mut s,
        &BackfillArgs {
            rows_per_second: 1_500,
            batch_size: 40,
            preflight: false,
        },
    )
    .await
    .expect("backfill");
    let during_backfill = writer.count();
    assert!(
        during_backfill > 20,
        "only {during_backfill} writes during the backfill"
    );
    assert!(summary.legacy_rows > 300, "{summary}");

    // switching on dual-write while the writer goes on, then more writes:
    // at least 20 made after the switch committed (the one under way when
    // `enable` returned may have committed before it, hence 21)
    dualwrite::enable(&mut s).await.expect("dual-write");
    let at_switch = writer.count();
    writer.wait_for(at_switch + 21).await;
    let total = writer.stop().await;
    assert!(total > at_switch + 20, "{total} writes, {at_switch} before");

    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
    let tasks = outcome
        .tables
        .iter()
        .find(|t| t.mapping == "tasks")
        .expect("tasks compared");
    assert_eq!(tasks.legacy_rows, tasks.showtree_rows);

    // every kind of write reached showtree: a production the writer added,
    // a renamed workspace, a user it created
    let c = db.client().await;
    let counts = c
        .query_one(
            "select (select count(*) from showtree.nodes where kind = 'production' and name like 'Churn production%'),
                    (select count(*) from productions where name like 'Churn production%'),
                    (select count(*) from auth.users where email like 'churn%'),
                    (select count(*) from users where email like 'churn%'),
                    (select count(*) from showtree.tasks t join showtree_import.map_tasks m on m.new_id = t.id),
                    (select count(*) from tasks)",
            &[],
        )
        .await
        .expect("counts");
    assert_eq!(counts.get::<_, i64>(0), counts.get::<_, i64>(1));
    assert!(
        counts.get::<_, i64>(1) > 0,
        "the writer added no production"
    );
    assert_eq!(counts.get::<_, i64>(2), counts.get::<_, i64>(3));
    assert_eq!(
        counts.get::<_, i64>(4),
        counts.get::<_, i64>(5),
        "no duplicate, no missing task"
    );

    let text = cutover::cutover(&mut s, true, false)
        .await
        .expect("cutover");
    assert!(text.contains("showtree_legacy"), "{text}");
    assert_eq!(s.require().await.expect("state").phase, Phase::Cutover);
    // the old application's tables are out of its way
    let moved: i64 = c
        .query_one(
            "select count(*) from pg_tables where schemaname = 'showtree_legacy'",
            &[],
        )
        .await
        .expect("moved tables")
        .get(0);
    assert_eq!(moved, 11);
    // validation still reads them where they are
    let outcome = validate::validate(&mut s)
        .await
        .expect("validate after cutover");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}

#[tokio::test]
async fn dual_write_copies_legacy_writes_in_the_writers_transaction() {
    let db = support::legacy_db(support::size()).await;
    let mut s = support::dual_written(&db).await;
    let app = showtree_db::testing::connect(&showtree_db::connect::url_with_user(
        db.url(),
        &support::app_role(&db),
    ))
    .await;
    // a status the legacy application may set but showtree's transitions
    // would refuse (done -> todo is completed -> planning): the mirror follows
    app.batch_execute(
        "update tasks set status = 'done' where id = (select min(id::text)::uuid from tasks);
         update tasks set status = 'todo' where id = (select min(id::text)::uuid from tasks);",
    )
    .await
    .expect("legacy update");
    let row = app
        .query_one(
            "select t.status, t.completed_at is null from showtree.tasks t
               join showtree_import.map_tasks m on m.new_id = t.id
              where m.legacy_id = (select min(id::text)::uuid from tasks)",
            &[],
        )
        .await;
    // the application's role cannot read showtree at all; the owner can
    assert!(row.is_err(), "the legacy role reads showtree's tables");
    let owner = db.client().await;
    let row = owner
        .query_one(
            "select t.status::text, t.completed_at is null from showtree.tasks t
               join showtree_import.map_tasks m on m.new_id = t.id
              where m.legacy_id = (select min(id::text)::uuid from tasks)",
            &[],
        )
        .await
        .expect("mirrored task");
    assert_eq!(row.get::<_, String>(0), "planning");
    assert!(row.get::<_, bool>(1));

    // a transaction rolled back leaves no trace in showtree either
    let mut app = app;
    let tx = app.transaction().await.expect("tx");
    tx.execute("delete from invoices", &[])
        .await
        .expect("delete invoices");
    tx.rollback().await.expect("rollback");
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
    let invoices = outcome
        .tables
        .iter()
        .find(|t| t.mapping == "invoices")
        .expect("invoices");
    assert!(invoices.showtree_rows > 0);
}

#[tokio::test]
async fn imported_rows_count_in_the_roll_ups_and_validate_names_a_node_whose_figures_are_off() {
    let db = support::legacy_db(support::size()).await;
    let mut s = support::dual_written(&db).await;
    // inserts, updates (statuses, amounts) and deletes through dual-write
    support::write(&db, 0, 42).await;

    // the import writes with showtree's triggers off: its own reconciliation
    // must leave the roll-up store (folded totals plus pending deltas) equal
    // to the rows
    let c = db.client().await;
    let sums = |figure: &str| {
        format!(
            "((select coalesce(sum({figure}), 0) from private.rollup_own)
              + (select coalesce(sum({figure}), 0) from private.rollup_pending))::text"
        )
    };
    let row = c
        .query_one(
            &format!(
                "select (select count(*) from showtree.tasks where deleted_at is null)::text,
                        {},
                        (select coalesce(sum(amount_minor), 0) from showtree.budget_lines where deleted_at is null)::text,
                        {},
                        (select count(*) from showtree.crew_assignments where deleted_at is null and status <> 'cancelled')::text,
                        {}",
                sums("tasks_draft + tasks_planning + tasks_active + tasks_review + tasks_completed + tasks_cancelled + tasks_archived"),
                sums("budget_planned_minor"),
                sums("crew_headcount"),
            ),
            &[],
        )
        .await
        .expect("roll-up sums");
    let n = |i: usize| row.get::<_, String>(i);
    assert!(n(0) != "0", "no tasks imported");
    assert_eq!(n(0), n(1), "tasks against their roll-up");
    assert_eq!(n(2), n(3), "budget against its roll-up");
    assert_eq!(n(4), n(5), "crew against its roll-up");

    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
    assert!(outcome.rollup_nodes > 0);

    // a figure off by one is named with its node
    let node: String = c
        .query_one(
            "insert into private.rollup_deltas (org_id, node_id, currency, tasks_active)
             select org_id, node_id, 'XXX', 1 from showtree.tasks limit 1 returning node_id::text",
            &[],
        )
        .await
        .expect("tampering")
        .get(0);
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(!outcome.is_clean());
    let text = outcome.render(0);
    assert!(
        text.contains("roll-up figures differ") && text.contains(&node),
        "{text}"
    );
}

#[tokio::test]
async fn a_legacy_row_moved_to_another_organization_is_an_error_and_the_legacy_write_goes_on() {
    let db = support::legacy_db(support::size()).await;
    let mut s = support::dual_written(&db).await;

    // before, the write through the id map failed on the id's unique key,
    // and the legacy update with it
    let c = db.client().await;
    let task: String = c
        .query_one(
            "with t as (select id, organization_id from tasks where production_id is not null order by id limit 1),
                  p as (select p.* from productions p, t where p.organization_id <> t.organization_id order by p.id limit 1)
             update tasks x set organization_id = p.organization_id, workspace_id = p.workspace_id, production_id = p.id
               from t, p where x.id = t.id
             returning x.id::text",
            &[],
        )
        .await
        .expect("the legacy update goes on")
        .get(0);
    let problems: Vec<String> = c
        .query_one(
            "select problems from showtree_import.errors where mapping = 'tasks' and legacy_id = $1",
            &[&task],
        )
        .await
        .expect("the row's error")
        .get(0);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("moved to another organization")),
        "{problems:?}"
    );
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(!outcome.is_clean());
    assert!(outcome.render(0).contains(&task), "{}", outcome.render(0));
}
