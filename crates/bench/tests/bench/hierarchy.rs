use showtree_bench::hierarchy::{self, HierarchyArgs, Operation};

#[tokio::test]
async fn hierarchy_bench_checks_every_answer_and_writes_its_markdown_section() {
    let admin_url = showtree_db::testing::admin_url().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let markdown = dir.path().join("BENCHMARKS.md");
    std::fs::write(&markdown, "# Benchmarks\n\nWritten by hand, kept.\n").expect("seed the docs");
    let database = format!("st_bench_smoke_{}", std::process::id());
    let args = HierarchyArgs {
        nodes: 2_000,
        samples: 5,
        seed: 7,
        move_descendants: 200,
        moves: 1,
        database: database.clone(),
        markdown: Some(markdown.clone()),
        ..HierarchyArgs::default()
    };

    let report = hierarchy::run(&args, &admin_url)
        .await
        .expect("the benchmark runs and every answer matches");

    assert!(report.tree.nodes >= 2_000, "{} nodes", report.tree.nodes);
    for op in Operation::ALL {
        let results: Vec<_> = report
            .operations
            .iter()
            .filter(|r| r.operation == op)
            .collect();
        assert!(!results.is_empty(), "{op:?} was measured");
        for r in results {
            assert_eq!(r.verified, 5, "{op:?} / {}", r.variant);
            assert_eq!(r.stored.count, 5, "{op:?} / {}", r.variant);
            assert_eq!(r.baseline.count, 5, "{op:?} / {}", r.variant);
        }
    }
    assert_eq!(
        report.moves.rows_rewritten, 201,
        "the production and its descendants"
    );
    assert_eq!(report.moves.latency.count, 2, "one round trip, two moves");

    let text = std::fs::read_to_string(&markdown).expect("read the docs");
    assert!(text.contains("Written by hand, kept."), "{text}");
    let start = text
        .find("<!-- bench:hierarchy:start -->")
        .expect("start marker");
    let end = text
        .find("<!-- bench:hierarchy:end -->")
        .expect("end marker");
    let section = &text[start..end];
    assert!(section.contains(&args.command_line()), "{section}");
    assert!(section.contains("| ancestors |"), "{section}");
    assert!(
        section.contains("| subtree, later 1,000-row page |"),
        "{section}"
    );

    // Without --keep the database is gone.
    let admin = showtree_db::testing::connect(&admin_url).await;
    let left = admin
        .query_opt("select 1 from pg_database where datname = $1", &[&database])
        .await
        .expect("look for the database");
    assert!(left.is_none(), "{database} was dropped");
}

#[tokio::test]
async fn hierarchy_bench_refuses_to_drop_a_database_it_did_not_create() {
    let admin_url = showtree_db::testing::admin_url().await;
    let db = showtree_db::testing::empty_db().await;
    let args = HierarchyArgs {
        nodes: 100,
        samples: 1,
        move_descendants: 10,
        moves: 1,
        database: db.name().to_owned(),
        ..HierarchyArgs::default()
    };

    let err = hierarchy::run(&args, &admin_url)
        .await
        .expect_err("a foreign database is left alone");

    assert!(
        err.to_string()
            .contains("was not created by this benchmark"),
        "{err:#}"
    );
    let client = db.client().await;
    client
        .query_one("select 1", &[])
        .await
        .expect("the database still exists");
}

#[tokio::test]
async fn hierarchy_bench_leaves_a_database_another_run_is_using_alone() {
    let admin_url = showtree_db::testing::admin_url().await;
    let db = showtree_db::testing::empty_db().await;
    let admin = showtree_db::testing::connect(&admin_url).await;
    admin
        .batch_execute(&format!(
            "comment on database \"{}\" is 'showtree bench hierarchy: loading'",
            db.name()
        ))
        .await
        .expect("mark the database as the benchmark's");
    let other_run = db.client().await;
    let args = HierarchyArgs {
        nodes: 100,
        samples: 1,
        move_descendants: 10,
        moves: 1,
        database: db.name().to_owned(),
        ..HierarchyArgs::default()
    };

    let err = hierarchy::run(&args, &admin_url)
        .await
        .expect_err("a database in use is left alone");

    assert!(err.to_string().contains("is in use"), "{err:#}");
    other_run
        .query_one("select 1", &[])
        .await
        .expect("the other run's session survives");
}
