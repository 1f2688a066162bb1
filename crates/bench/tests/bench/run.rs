use std::time::Duration;

use showtree_bench::generate::{self, MARKER, Options};
use showtree_bench::run::{self, RunArgs, workload::Op};
use showtree_db::testing;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mixed_workload_runs_every_operation_beside_pgbench_and_writes_its_section() {
    let db = testing::empty_db().await;
    let admin_url = testing::admin_url().await;
    let admin = testing::connect(&admin_url).await;
    admin
        .batch_execute(&format!(
            "comment on database \"{}\" is '{MARKER}: test'",
            db.name()
        ))
        .await
        .expect("mark the database");
    let opts = Options {
        scale: 0.001,
        seed: 4,
        database: db.name().to_owned(),
        ..Options::default()
    };
    generate::generate(&admin_url, &opts)
        .await
        .expect("generate");

    let dir = tempfile::tempdir().expect("tempdir");
    let markdown = dir.path().join("BENCHMARKS.md");
    std::fs::write(&markdown, "# Benchmarks\n\nWritten by hand, kept.\n").expect("seed the docs");
    let args = RunArgs {
        connections: 4,
        duration: Duration::from_secs(1),
        warmup: Duration::ZERO,
        database: db.name().to_owned(),
        orgs: 1,
        targets: 2,
        threads: 1,
        markdown: Some(markdown.clone()),
        ..RunArgs::default()
    };
    let report = run::run(&args, &admin_url)
        .await
        .expect("the workload runs");

    let ops: Vec<Op> = report.ops.iter().map(|o| o.op).collect();
    assert_eq!(
        ops,
        Op::ALL.to_vec(),
        "the mixed scenario has every operation"
    );
    assert!(
        report.total.http_ok > 0,
        "answers: {:?}",
        report.total.http_failures
    );
    assert_eq!(
        report.total.http_ok,
        report.ops.iter().map(|o| o.http_ok).sum::<u64>(),
        "the total is the sum of the operations"
    );
    assert!(report.pgbench_tps.is_some_and(|t| t > 0.0));
    let baseline: u64 = report
        .ops
        .iter()
        .map(|o| o.pgbench.map_or(0, |l| l.count))
        .sum();
    assert!(baseline > 0, "pgbench transactions are split by operation");
    assert!(report.pgbench_clients.is_some_and(|c| (1..=4).contains(&c)));
    assert!(
        report.index_hits.hit + report.index_hits.read > 0,
        "indexes were read"
    );

    let text = std::fs::read_to_string(&markdown).expect("read the docs");
    assert!(text.contains("Written by hand, kept."), "{text}");
    let start = text.find("<!-- bench:run:start -->").expect("start marker");
    let end = text.find("<!-- bench:run:end -->").expect("end marker");
    let section = &text[start..end];
    assert!(section.contains(&args.command_line()), "{section}");
    assert!(section.contains("| **all operations** |"), "{section}");
    assert!(section.contains("<!-- figures:run {"), "{section}");
    for op in Op::ALL {
        assert!(section.contains(op.label()), "{op:?}: {section}");
    }
}
