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
        rounds: 2,
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
    assert!(md.contains("| task | median |"), "{md}");
    assert!(
        md.contains("exactly the roll-up mechanism removed (its "),
        "{md}"
    );
    assert!(
        md.contains(" triggers, on asset_assignments, assets, "),
        "{md}"
    );
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
        rounds: 2,
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
    for w in [&report.tasks, &report.lines] {
        assert_eq!(w.rounds.len(), 2);
        // the side that goes first alternates
        assert!(!w.rounds[0].with_first && w.rounds[1].with_first);
        for r in &w.rounds {
            assert!(r.without.tps > 0.0 && r.with.tps > 0.0);
            // the test server runs on this machine: its backends' CPU is read
            let (without, with) = r.cpu_micros().expect("server CPU per insert, both sides");
            assert!(without > 0.0 && with > 0.0, "{without} / {with}");
            // the folder's backend is apart from pgbench's, and only "with" has one
            let folder = r.folder_micros().expect("the folder's share");
            assert!((0.0..with).contains(&folder), "{folder} of {with}");
            let none = r.without_cpu.expect("without").other_cpu_seconds;
            assert!(none == 0.0, "{none} s outside pgbench without a folder");
        }
        assert!(w.median_ratio() > 0.0);
        assert!(w.median_cpu_ratio().is_some_and(|r| r > 0.0));
    }
    // exactly the mechanism was removed from the "without" side, and it is gone
    assert!(
        report
            .removed
            .iter()
            .any(|r| r == "trigger tasks_rollup_insert on tasks"),
        "{:?}",
        report.removed
    );
    assert!(
        report
            .removed
            .iter()
            .any(|r| r == "trigger invoice_lines_rollup_insert on invoice_lines")
    );
    assert!(!report.removed.iter().any(|r| r.contains("audit")));
    let admin = testing::connect(&admin_url).await;
    let left: i64 = admin
        .query_one(
            "select count(*) from pg_database where datname = any($1)",
            &[&vec![
                args.database.clone(),
                format!("{}_without", args.database),
            ]],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0);
}

/// The median of the rounds' ratios, odd and even counts.
#[test]
fn the_median_of_the_rounds_is_the_middle_value() {
    assert_eq!(rollup::median(vec![]), 0.0);
    assert_eq!(rollup::median(vec![0.9, 0.7, 0.8]), 0.8);
    assert_eq!(rollup::median(vec![1.0, 0.25, 0.75, 0.5]), 0.625);
}
