use std::time::Duration;

use showtree_bench::generate::{self, MARKER, Options};
use showtree_bench::run::{self, RunArgs, workload::Level, workload::Op};
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
    // each operation split by caller level, the parts summing to the whole
    assert!(
        report.callers.iter().any(|c| c.1 == Level::Production),
        "the generated organization has a production manager: {:?}",
        report.callers
    );
    for o in &report.ops {
        let parts: Vec<_> = report.by_level.iter().filter(|l| l.op == o.op).collect();
        assert!(
            parts.iter().any(|p| p.level == Some(Level::Org)),
            "{:?} has the owner's figures",
            o.op
        );
        assert_eq!(
            parts.iter().map(|p| p.http_ok).sum::<u64>(),
            o.http_ok,
            "{:?}",
            o.op
        );
        assert_eq!(
            parts.iter().map(|p| p.targets).sum::<usize>(),
            o.targets,
            "{:?}",
            o.op
        );
        assert_eq!(
            parts
                .iter()
                .map(|p| p.pgbench.map_or(0, |l| l.count))
                .sum::<u64>(),
            o.pgbench.map_or(0, |l| l.count),
            "{:?}",
            o.op
        );
    }
    assert!(
        report
            .by_level
            .iter()
            .any(|p| p.op == Op::TaskList && p.level == Some(Level::Production)),
        "the manager lists tasks"
    );

    let text = std::fs::read_to_string(&markdown).expect("read the docs");
    assert!(text.contains("Written by hand, kept."), "{text}");
    let start = text
        .find("<!-- bench:run:mixed-4:start -->")
        .expect("start marker");
    let end = text
        .find("<!-- bench:run:mixed-4:end -->")
        .expect("end marker");
    let section = &text[start..end];
    assert!(section.contains(&args.command_line()), "{section}");
    assert!(section.contains("| **all operations** |"), "{section}");
    assert!(
        section.contains("| subtree tasks | production-level manager |"),
        "{section}"
    );
    assert!(
        section.contains("| subtree tasks | org-level owner |"),
        "{section}"
    );
    let figures = showtree_bench::targets::figures(&text, "figures:run:mixed-4")
        .expect("the figures, keyed by scenario and connections");
    assert!(
        figures["by_level"]["production"]["subtree tasks"]["p95_us"].is_u64(),
        "{figures}"
    );
    for op in Op::ALL {
        assert!(section.contains(op.label()), "{op:?}: {section}");
    }

    // a run of another shape gets a section of its own, the first kept
    let write = RunArgs {
        scenario: run::workload::Scenario::Write,
        no_pgbench: true,
        ..args.clone()
    };
    run::run(&write, &admin_url)
        .await
        .expect("the write workload runs");
    let text = std::fs::read_to_string(&markdown).expect("read the docs");
    assert!(text.contains("<!-- figures:run:mixed-4 {"), "{text}");
    assert!(text.contains("<!-- figures:run:write-4 {"), "{text}");
    assert!(text.contains("| **all operations** | 30 |"), "{text}");
}
