use showtree_bench::access::{self, AccessArgs, Case};

#[tokio::test]
async fn access_bench_runs_both_ways_for_every_user_and_writes_its_markdown_section() {
    let admin_url = showtree_db::testing::admin_url().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let markdown = dir.path().join("BENCHMARKS.md");
    std::fs::write(&markdown, "# Benchmarks\n\nWritten by hand, kept.\n").expect("seed the docs");
    let database = format!("st_bench_access_smoke_{}", std::process::id());
    let args = AccessArgs {
        nodes: 600,
        restricted: 3,
        scattered: 20,
        duration: 1,
        clients: 2,
        threads: 1,
        load_runs: 5,
        targets: 3,
        seed: 5,
        database: database.clone(),
        markdown: Some(markdown.clone()),
        ..AccessArgs::default()
    };

    let report = access::run(&args, &admin_url)
        .await
        .expect("the benchmark runs and RLS agrees with the generator");

    assert_eq!(report.cases.len(), Case::ALL.len());
    for c in &report.cases {
        assert!(c.readable > 0, "{:?}", c.case);
        for pair in [&c.read, &c.insert] {
            assert!(pair.rls.latency.count > 0, "{:?}", c.case);
            assert!(pair.plain.latency.count > 0, "{:?}", c.case);
        }
        assert_eq!(c.access_sets.count, 5, "{:?}", c.case);
    }

    let text = std::fs::read_to_string(&markdown).expect("read the docs");
    assert!(text.contains("Written by hand, kept."), "{text}");
    let start = text
        .find("<!-- bench:access:start -->")
        .expect("start marker");
    let end = text.find("<!-- bench:access:end -->").expect("end marker");
    let section = &text[start..end];
    assert!(section.contains(&args.command_line()), "{section}");
    assert!(
        section.contains("| granted at scattered workspaces |"),
        "{section}"
    );

    let admin = showtree_db::testing::connect(&admin_url).await;
    let left = admin
        .query_opt("select 1 from pg_database where datname = $1", &[&database])
        .await
        .expect("look for the database");
    assert!(left.is_none(), "{database} was dropped");
}
