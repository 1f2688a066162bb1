use showtree_bench::api::{self, ApiArgs, Grant, Route};

/// Needs oha on PATH (`cargo install oha --locked`): without it the
/// benchmark fails with that hint, and so does this test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_bench_serves_every_route_beside_pgbench_and_writes_its_markdown_section() {
    let admin_url = showtree_db::testing::admin_url().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let markdown = dir.path().join("BENCHMARKS.md");
    std::fs::write(&markdown, "# Benchmarks\n\nWritten by hand, kept.\n").expect("seed the docs");
    let database = format!("st_bench_api_smoke_{}", std::process::id());
    let args = ApiArgs {
        nodes: 600,
        duration: 1,
        connections: vec![4],
        hold: 40,
        threads: 1,
        targets: 3,
        seed: 5,
        database: database.clone(),
        markdown: Some(markdown.clone()),
        ..ApiArgs::default()
    };

    let report = api::run(&args, &admin_url)
        .await
        .expect("the benchmark runs (it needs oha: `cargo install oha --locked`)");

    assert_eq!(
        report.measurements.len(),
        Grant::ALL.len() * Route::ALL.len() * args.connections.len()
    );
    for m in &report.measurements {
        let what = format!("{:?} {:?} at {}", m.user, m.route, m.connections);
        assert!(m.http.ok() > 0, "{what}: no 2xx answer");
        assert!(
            m.pgbench.latency.count > 0,
            "{what}: no pgbench transaction"
        );
        assert!(m.clients >= 1 && m.clients <= m.connections, "{what}");
    }
    assert_eq!(report.holds.len(), 4);
    for h in &report.holds {
        assert!(h.http.ok() > 0, "{}: no 2xx answer", h.target);
    }

    let text = std::fs::read_to_string(&markdown).expect("read the docs");
    assert!(text.contains("Written by hand, kept."), "{text}");
    let start = text.find("<!-- bench:api:start -->").expect("start marker");
    let end = text.find("<!-- bench:api:end -->").expect("end marker");
    let section = &text[start..end];
    assert!(section.contains(&args.command_line()), "{section}");
    assert!(
        section.contains("| manager at a production | `POST /v1/nodes` | 4 |"),
        "{section}"
    );
    assert!(section.contains("| `GET /healthz` | 40 |"), "{section}");

    let admin = showtree_db::testing::connect(&admin_url).await;
    let left = admin
        .query_opt("select 1 from pg_database where datname = $1", &[&database])
        .await
        .expect("look for the database");
    assert!(left.is_none(), "{database} was dropped");
}
