//! `showtree import` as a user runs it: the backfill killed halfway and
//! run again, the old application writing all along.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use showtree_db::testing;
use showtree_import::legacy::{self, Size};

use crate::{ok_stdout, showtree};

#[tokio::test]
async fn a_backfill_killed_halfway_resumes_without_duplicates_and_the_path_validates() {
    let db = testing::migrated_db().await;
    let c = db.client().await;
    legacy::create(&c).await.expect("legacy layout");
    legacy::generate(
        &c,
        Size {
            organizations: 2,
            workspaces_per_org: 2,
            productions_per_workspace: 3,
            rows_per_production: 50,
            users_per_org: 4,
            vendors_per_org: 2,
        },
    )
    .await
    .expect("legacy rows");
    let dir = tempfile::tempdir().expect("tempdir");
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(&mapping, showtree_import::mapping::FLAT_MAPPING).expect("mapping file");
    let mapping = mapping.to_str().expect("utf-8 path");

    let out = ok_stdout(&showtree(db.url(), &["import", "check", "--mapping", mapping]).await);
    assert!(out.contains("no problems found"), "{out}");
    ok_stdout(&showtree(db.url(), &["import", "expand", "--mapping", mapping]).await);

    // the old application writes all along
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let client = db.client().await;
        tokio::spawn(async move {
            let mut step = 0;
            while !stop.load(Ordering::Relaxed) {
                legacy::churn(&client, step).await.expect("legacy write");
                step += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            step
        })
    };

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_showtree"))
        .args([
            "import",
            "backfill",
            "--rows-per-second",
            "300",
            "--batch-size",
            "20",
        ])
        .env("DATABASE_URL", db.url())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("starting the backfill");
    // kill it once a good part (not all) is copied
    let started = Instant::now();
    let copied = loop {
        let copied: i64 = c
            .query_one(
                "select coalesce(sum(rows), 0)::bigint from showtree_import.progress",
                &[],
            )
            .await
            .expect("progress")
            .get(0);
        if copied >= 300 {
            break copied;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the backfill makes no progress"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    child.kill().await.expect("killing the backfill");
    let phase: String = c
        .query_one("select phase from showtree_import.state", &[])
        .await
        .expect("state")
        .get(0);
    assert_eq!(phase, "backfilling");
    let legacy_rows: i64 = c
        .query_one(
            "select (select count(*) from tasks) + (select count(*) from events) + (select count(*) from budgets)",
            &[],
        )
        .await
        .expect("legacy rows")
        .get(0);
    assert!(
        copied < legacy_rows,
        "killed too late: {copied} of {legacy_rows}"
    );

    let out = ok_stdout(&showtree(db.url(), &["import", "backfill"]).await);
    assert!(out.contains("resumed and finished"), "{out}");
    let out = ok_stdout(&showtree(db.url(), &["import", "dual-write"]).await);
    assert!(out.contains("dual-write on"), "{out}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let writes = writer.await.expect("writer");
    assert!(writes > 50, "only {writes} legacy writes");

    let out = ok_stdout(&showtree(db.url(), &["import", "validate"]).await);
    assert!(out.contains("validation: clean"), "{out}");
    // every legacy task exactly once in showtree
    let row = c
        .query_one(
            "select (select count(*) from tasks),
                    (select count(*) from showtree.tasks t join showtree_import.map_tasks m on m.new_id = t.id),
                    (select count(*) from showtree.tasks)",
            &[],
        )
        .await
        .expect("counts");
    assert_eq!(row.get::<_, i64>(0), row.get::<_, i64>(1));
    assert_eq!(row.get::<_, i64>(1), row.get::<_, i64>(2));

    let out = ok_stdout(&showtree(db.url(), &["import", "cutover"]).await);
    assert!(out.contains("dual-write stopped"), "{out}");
    let out = ok_stdout(&showtree(db.url(), &["import", "status"]).await);
    assert!(out.contains("phase: cutover"), "{out}");
    // contract only with --confirm (usage error otherwise)
    let out = showtree(db.url(), &["import", "contract"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn check_exits_1_and_names_the_problem_of_a_bad_mapping() {
    let db = testing::migrated_db().await;
    let c = db.client().await;
    legacy::create(&c).await.expect("legacy layout");
    legacy::generate(&c, Size::tiny())
        .await
        .expect("legacy rows");
    c.batch_execute(
        "update tasks set status = 'stuck' where id = (select min(id::text)::uuid from tasks)",
    )
    .await
    .expect("bad status");
    let bad: String = c
        .query_one(
            "select min(id::text) from tasks where status = 'stuck'",
            &[],
        )
        .await
        .expect("id")
        .get(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(&mapping, showtree_import::mapping::FLAT_MAPPING).expect("mapping file");
    let out = showtree(
        db.url(),
        &[
            "import",
            "check",
            "--mapping",
            mapping.to_str().expect("utf-8"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "status: no mapping for value 'stuck' — 1 row: {bad}"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn demo_legacy_creates_a_flat_database_and_a_mapping_that_checks_clean() {
    let admin = testing::admin_url().await;
    let name = format!("st_test_legacy_demo_{}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    let mapping = dir.path().join("mapping.toml");
    let mapping = mapping.to_str().expect("utf-8");
    let args = [
        "demo",
        "--legacy",
        "--legacy-database",
        name.as_str(),
        "--mapping",
        mapping,
    ];
    let out = ok_stdout(&showtree(&admin, &args).await);
    assert!(out.contains("import expand --mapping"), "{out}");
    // again: the demo replaces its own database
    ok_stdout(&showtree(&admin, &args).await);
    let url = testing::url_with_database(&admin, &name);
    let out = ok_stdout(&showtree(&url, &["import", "check", "--mapping", mapping]).await);
    assert!(out.contains("no problems found"), "{out}");
    let c = testing::connect(&url).await;
    let orgs: i64 = c
        .query_one(
            "select count(*) from organizations where name = 'Insomniac'",
            &[],
        )
        .await
        .expect("example")
        .get(0);
    assert_eq!(orgs, 1);
    drop(c);
    let admin_client = testing::connect(&admin).await;
    admin_client
        .batch_execute(&format!("drop database {name} with (force)"))
        .await
        .expect("dropping the demo database");
}
