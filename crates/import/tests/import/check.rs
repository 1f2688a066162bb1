//! Bad mappings and bad rows: reported, every one by name, and nothing
//! written that the phase cannot roll back.

use showtree_import::backfill::{self, BackfillArgs};
use showtree_import::{ImportError, Mapping, Report, check, expand, rollback};

use crate::support;

async fn check_with(db: &showtree_db::testing::TestDb, mapping: &str) -> Report {
    let mut s = support::session(db).await;
    check::check(
        &mut s.client,
        &Mapping::parse(mapping).expect("mapping parses"),
    )
    .await
    .expect("check runs")
}

fn finding<'a>(report: &'a Report, table: &str, column: Option<&str>) -> &'a str {
    report
        .findings
        .iter()
        .find(|f| f.table == table && f.column.as_deref() == column)
        .map(|f| f.message.as_str())
        .unwrap_or_else(|| {
            panic!(
                "no finding for {table}.{column:?} in:\n{}",
                report.render(0)
            )
        })
}

#[tokio::test]
async fn the_example_mapping_checks_clean_and_check_writes_nothing() {
    let db = support::legacy_db(support::size()).await;
    let before = support::dump(&db, &["--schema-only"]);
    let report = check_with(&db, support::MAPPING).await;
    assert!(report.is_clean(), "{}", report.render(0));
    support::assert_same(
        &before,
        &support::dump(&db, &["--schema-only"]),
        "the database",
    );
}

#[tokio::test]
async fn a_bad_mapping_is_reported_column_by_column() {
    let db = support::legacy_db(support::size()).await;
    let mapping = support::MAPPING
        // a legacy column that does not exist
        .replace(
            "title = { column = \"title\", trim = true }",
            "title = \"titel\"",
        )
        // a status word mapped to no showtree status
        .replace(
            "in_progress = \"active\", done = \"completed\" }",
            "in_progress = \"doing\", done = \"completed\" }",
        )
        // a target column showtree does not have
        .replace(
            "number = \"number\"",
            "number = \"number\"\ncolour = \"currency\"",
        )
        // a legacy column left unmapped
        .replace("priority = \"priority\"\n", "");
    let report = check_with(&db, &mapping).await;
    assert!(!report.is_clean());
    assert!(finding(&report, "tasks", Some("titel")).contains("no such column"));
    assert!(finding(&report, "tasks", Some("status")).contains("\"doing\" is not one of"));
    assert!(finding(&report, "invoices", Some("colour")).contains("has no such column"));
    assert!(finding(&report, "tasks", Some("priority")).contains("unmapped column"));
    // the rendered report names them the same way
    let text = report.render(0);
    assert!(text.contains("tasks.priority: unmapped column"), "{text}");

    // expand refuses it before writing anything
    let mut s = support::session(&db).await;
    let err = expand::expand(&mut s, &mapping).await.expect_err("refused");
    assert!(matches!(err, ImportError::Problems(_)), "{err}");
    assert!(s.state().await.expect("state").is_none());
}

#[tokio::test]
async fn bad_rows_are_reported_by_id_and_stop_the_backfill_before_it_writes() {
    let db = support::legacy_db(support::size()).await;
    let c = db.client().await;
    let ids = c
        .query_one(
            "with p as (select id, workspace_id, organization_id from productions order by id limit 1),
                  other as (select w.id from workspaces w, p where w.id <> p.workspace_id and w.organization_id = p.organization_id limit 1),
                  busy as (select workspace_id from productions group by workspace_id having count(*) > 1 limit 1),
             a as (insert into tasks (organization_id, workspace_id, production_id, title, status)
                   select organization_id, workspace_id, id, 'blocked task', 'blocked' from p returning id),
             b as (insert into tasks (organization_id, workspace_id, production_id, title)
                   select p.organization_id, other.id, p.id, 'wrong workspace' from p, other returning id),
             c as (insert into tasks (organization_id, workspace_id, title)
                   select p.organization_id, busy.workspace_id, 'which production?' from p, busy returning id),
             d as (insert into events (organization_id, workspace_id, production_id, name, starts_at, ends_at)
                   select organization_id, workspace_id, id, 'in the gap', '2025-03-09 02:30', '2025-03-09 04:00' from p returning id),
             e as (insert into budgets (organization_id, workspace_id, production_id, category, amount, currency)
                   select organization_id, workspace_id, id, 'Sound', 10, 'XYZ' from p returning id)
             select (select id::text from a), (select id::text from b), (select id::text from c),
                    (select id::text from d), (select id::text from e)",
            &[],
        )
        .await
        .expect("bad rows");
    // an orphan: the legacy key would refuse it, so it is written with the keys off
    let orphan: String = c
        .query_one(
            "with x as (select set_config('session_replication_role', 'replica', false))
             insert into crew (organization_id, production_id, name, role)
             select organization_id, gen_random_uuid(), 'Ghost', 'Runner' from productions, x limit 1 returning id::text",
            &[],
        )
        .await
        .expect("orphan")
        .get(0);
    c.batch_execute("reset session_replication_role")
        .await
        .expect("reset");

    let report = check_with(&db, support::MAPPING).await;
    let text = report.render(0);
    let has = |id: &str, what: &str| {
        assert!(
            report
                .rows
                .iter()
                .any(|r| r.ids.iter().any(|i| i == id) && r.message.contains(what)),
            "row {id} not reported with {what:?}:\n{text}"
        );
    };
    has(
        &ids.get::<_, String>(0),
        "status: no mapping for value 'blocked'",
    );
    has(&ids.get::<_, String>(1), "ambiguous owner: workspace_id");
    has(
        &ids.get::<_, String>(2),
        "ambiguous owner: the row names workspace",
    );
    has(
        &ids.get::<_, String>(3),
        "does not exist in America/Los_Angeles",
    );
    has(&ids.get::<_, String>(4), "not an ISO 4217 currency code");
    has(&orphan, "orphan: production_id");
    // the person made from the orphan crew row is fine; its assignment is not
    assert_eq!(report.offending_rows(), 6, "{text}");

    // the backfill refuses to start, and has written nothing
    let mut s = support::session(&db).await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect_err("expand checks first");
    assert!(s.state().await.expect("state").is_none());
}

#[tokio::test]
async fn a_bad_row_met_by_a_batch_stops_the_backfill_and_rolls_back() {
    let db = support::legacy_db(support::size()).await;
    let mut s = support::session(&db).await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    // arrives after expand's check (as if written while the backfill runs)
    let c = db.client().await;
    let id: String = c
        .query_one(
            "insert into tasks (organization_id, workspace_id, production_id, title, status)
             select organization_id, workspace_id, id, 'late and bad', 'on_hold' from productions limit 1
             returning id::text",
            &[],
        )
        .await
        .expect("bad row")
        .get(0);
    let err = backfill::backfill(
        &mut s,
        &BackfillArgs {
            preflight: false,
            batch_size: 25,
            ..BackfillArgs::default()
        },
    )
    .await
    .expect_err("the batch refuses it");
    let ImportError::Problems(report) = err else {
        panic!("not a report: {err}");
    };
    assert!(
        report
            .rows
            .iter()
            .any(|r| r.ids == vec![id.clone()] && r.message.contains("'on_hold'")),
        "{}",
        report.render(0)
    );
    // the batches before it stay (rollback removes them); nothing of its own batch was written
    let written: i64 = c
        .query_one(
            "select count(*) from showtree_import.map_tasks where legacy_id = $1::text::uuid",
            &[&id],
        )
        .await
        .expect("map")
        .get(0);
    assert_eq!(written, 0);
    rollback::rollback(&mut s, true).await.expect("rollback");
    let left: i64 = c
        .query_one("select count(*) from showtree.nodes", &[])
        .await
        .expect("nodes")
        .get(0);
    assert_eq!(left, 0);
}
