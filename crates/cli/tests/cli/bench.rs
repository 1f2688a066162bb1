use crate::{ok_stdout, showtree};

#[tokio::test]
async fn bench_generate_loads_a_database_that_the_audit_passes() {
    let admin_url = showtree_db::testing::admin_url().await;
    // A throwaway database (dropped when the test ends) the generator may
    // replace: it carries the generator's marker.
    let db = showtree_db::testing::empty_db().await;
    showtree_db::testing::connect(&admin_url)
        .await
        .batch_execute(&format!(
            "comment on database \"{}\" is '{}: test'",
            db.name(),
            showtree_bench::generate::MARKER
        ))
        .await
        .expect("mark the database");

    let out = showtree(
        "postgres://nobody@127.0.0.1:1/unused",
        &[
            "bench",
            "generate",
            "--scale",
            "0.001",
            "--seed",
            "5",
            "--database",
            db.name(),
            "--url",
            &admin_url,
        ],
    )
    .await;
    let text = ok_stdout(&out);
    assert!(text.contains("showtree.tasks"), "{text}");
    assert!(text.contains("checks, 0 broken"), "{text}");

    let out = showtree(
        &admin_url,
        &["audit", "--url", db.url(), "--fail-on", "warn"],
    )
    .await;
    let report = ok_stdout(&out);
    assert!(report.contains("0 error, 0 warn"), "{report}");
}
