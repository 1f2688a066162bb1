use showtree_bench::generate::{self, MARKER, Options};
use showtree_bench::rollup::{self, RollupArgs};
use showtree_db::testing;

/// `bench rollup` at a toy size, with a generated database beside it: both
/// parts run, every roll-up agreed with brute force (the run checks that
/// before timing), and the markdown carries both tables and the goals.
#[tokio::test]
async fn the_rollup_benchmark_runs_on_its_own_data_and_on_a_generated_database() {
    let admin_url = testing::admin_url().await;
    let admin = testing::connect(&admin_url).await;
    let generated = testing::empty_db().await;
    admin
        .batch_execute(&format!(
            "comment on database \"{}\" is '{MARKER}: test'",
            generated.name()
        ))
        .await
        .expect("mark the database");
    let opts = Options {
        scale: 0.001,
        seed: 3,
        jobs: 2,
        database: generated.name().to_owned(),
        ..Options::default()
    };
    generate::generate(&admin_url, &opts)
        .await
        .expect("generate");

    let dir = tempfile::tempdir().expect("tempdir");
    let markdown = dir.path().join("BENCHMARKS.md");
    std::fs::write(&markdown, "# Benchmarks\n").expect("write");
    let args = RollupArgs {
        nodes: 200,
        rows: 2_000,
        samples: 10,
        duration: 1,
        clients: 2,
        threads: 1,
        seed: 5,
        keep: false,
        database: format!("{}_rollup", generated.name()),
        markdown: Some(markdown.clone()),
        generated: Some(generated.name().to_owned()),
        generated_samples: 3,
        generated_max_nodes: 1_000_000,
        writes_only: false,
    };
    let report = rollup::run(&args, &admin_url).await.expect("bench rollup");
    assert_eq!(report.reads.len(), 3);
    let (name, org_nodes, reads) = report.generated.as_ref().expect("generated part");
    assert_eq!(name, generated.name());
    assert!(*org_nodes > 1);
    assert_eq!(reads.len(), 3);
    assert!(reads[0].subtree_nodes >= reads[1].subtree_nodes);
    assert!(reads[0].subtree_rows > 0);
    let md = std::fs::read_to_string(&markdown).expect("read");
    assert!(md.contains("**At business scale.**"), "{md}");
    assert!(md.contains(&format!("on `{}`", generated.name())), "{md}");
    assert!(md.contains("Goals (issue 6)"), "{md}");
    // the benchmark's own database is gone (no --keep)
    let left: i64 = admin
        .query_one(
            "select count(*) from pg_database where datname = $1",
            &[&args.database],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0);
}

/// `--writes-only` measures the inserts without and with the mechanism and
/// times no roll-up.
#[tokio::test]
async fn the_rollup_benchmark_can_measure_the_writes_alone() {
    let admin_url = testing::admin_url().await;
    let scratch = testing::empty_db().await;
    let args = RollupArgs {
        nodes: 200,
        rows: 2_000,
        samples: 10,
        duration: 1,
        clients: 2,
        threads: 1,
        seed: 5,
        keep: false,
        database: format!("{}_writes", scratch.name()),
        markdown: None,
        generated: None,
        generated_samples: 3,
        generated_max_nodes: 1_000_000,
        writes_only: true,
    };
    assert!(args.command_line().ends_with(" --writes-only"));
    let report = rollup::run(&args, &admin_url).await.expect("bench rollup");
    assert!(report.reads.is_empty());
    assert!(report.generated.is_none());
    assert!(report.tasks.without.tps > 0.0 && report.tasks.with.tps > 0.0);
    assert!(report.lines.without.tps > 0.0 && report.lines.with.tps > 0.0);
}
