use showtree_bench::import::{self, ImportBenchArgs};

#[tokio::test]
async fn import_bench_runs_the_path_and_writes_its_markdown_section() {
    let admin_url = showtree_db::testing::admin_url().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let markdown = dir.path().join("BENCHMARKS.md");
    std::fs::write(&markdown, "# Benchmarks\n\nWritten by hand, kept.\n").expect("seed the docs");
    let args = ImportBenchArgs {
        scale: 0.001,
        writes: 24,
        rounds: 2,
        database: format!("st_bench_import_{}", std::process::id()),
        markdown: Some(markdown.clone()),
        ..ImportBenchArgs::default()
    };

    assert!(import::mapping().contains("workspace_only = \"organization\""));
    let report = import::run(&args, &admin_url)
        .await
        .expect("the benchmark runs");

    assert!(
        report.legacy_rows > 1_000,
        "{} legacy rows",
        report.legacy_rows
    );
    // some legacy tables feed two mappings (invoices -> invoices and their lines)
    assert!(
        report.backfill.legacy_rows >= report.legacy_rows,
        "{}",
        report.backfill
    );
    assert!(
        report.validate_clean,
        "validate is clean before the timed writes"
    );
    for run in [&report.before, &report.with, &report.without] {
        assert_eq!(run.latency.count, 24, "{}", run.label);
    }
    assert_eq!(report.ratios().len(), 4);

    let text = std::fs::read_to_string(&markdown).expect("read the docs");
    assert!(text.contains("Written by hand, kept."), "{text}");
    let start = text
        .find("<!-- bench:import:start -->")
        .expect("start marker");
    let end = text.find("<!-- bench:import:end -->").expect("end marker");
    let section = &text[start..end];
    assert!(section.contains(&args.command_line()), "{section}");
    assert!(
        section.contains("load average") || !std::path::Path::new("/proc/loadavg").exists(),
        "{section}"
    );
    assert!(section.contains("| whole command |"), "{section}");
    assert!(
        section.contains("| with synchronous dual-write |"),
        "{section}"
    );
    assert!(
        section.contains("| with asynchronous dual-write (drained meanwhile) |"),
        "{section}"
    );
    assert!(
        section.contains("**Lag of asynchronous dual-write.**"),
        "{section}"
    );
    assert!(section.contains("Goal (issue 9), backfill"), "{section}");
    assert!(section.contains("Goal (issue 9), dual-write"), "{section}");

    // the database is dropped afterwards
    let admin = showtree_db::testing::connect(&admin_url).await;
    let left: i64 = admin
        .query_one(
            "select count(*) from pg_database where datname = $1",
            &[&args.database],
        )
        .await
        .expect("pg_database")
        .get(0);
    assert_eq!(left, 0);
}
