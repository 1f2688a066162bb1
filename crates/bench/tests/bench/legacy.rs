use std::time::Duration;

use showtree_bench::legacy::{self, LegacyArgs};
use showtree_db::testing;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_compare_loads_both_layouts_measures_both_and_drops_its_database() {
    let admin_url = testing::admin_url().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let markdown = dir.path().join("BENCHMARKS.md");
    let database = format!("st_bench_legacy_{}", std::process::id());
    let args = LegacyArgs {
        scale: 0.001,
        seed: 2,
        database: database.clone(),
        clients: 2,
        duration: Duration::from_secs(1),
        bulk_rows: 200,
        markdown: Some(markdown.clone()),
        ..LegacyArgs::default()
    };
    let report = legacy::run(&args, &admin_url)
        .await
        .expect("the comparison runs");

    // the hierarchy, eleven domain tables, the total; same rows both sides
    assert_eq!(report.sizes.len(), 13);
    for s in &report.sizes {
        assert!(s.rows > 0, "{}", s.name);
        assert!(s.showtree.0 > 0 && s.legacy.0 > 0, "{}: {s:?}", s.name);
        assert!(s.showtree.1 > 0 && s.legacy.1 > 0, "{}: {s:?}", s.name);
    }
    let total = report.total().expect("a total");
    let summed: i64 = report.sizes[..12].iter().map(|s| s.legacy.1).sum();
    assert_eq!(total.legacy.1, summed, "the total adds the tables up");
    assert_eq!(report.reads.len(), 3);
    assert_eq!(report.writes.len(), 2);
    for t in report.reads.iter().chain(&report.writes) {
        assert!(t.showtree.0 > 0.0 && t.legacy.0 > 0.0, "{}: {t:?}", t.name);
    }

    let text = std::fs::read_to_string(&markdown).expect("read the docs");
    let start = text
        .find("<!-- bench:legacy-compare:start -->")
        .expect("start marker");
    let section = &text[start..];
    assert!(section.contains(&args.command_line()), "{section}");
    assert!(section.contains("| **in all** |"), "{section}");
    assert!(
        section.contains("<!-- figures:legacy-compare {"),
        "{section}"
    );

    let admin = testing::connect(&admin_url).await;
    let left = admin
        .query_opt("select 1 from pg_database where datname = $1", &[&database])
        .await
        .expect("look for the database");
    assert!(left.is_none(), "{database} was dropped");
}
