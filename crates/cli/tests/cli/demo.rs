use showtree_db::testing;

use crate::{ok_stdout, showtree};

#[tokio::test]
async fn demo_migrates_loads_and_prints_the_example_tree_and_can_run_again() {
    let db = testing::empty_db().await;
    let first = ok_stdout(&showtree(db.url(), &["demo", "--no-serve"]).await);
    let lines: Vec<&str> = first.lines().collect();
    for path in [
        "Insomniac  [organization]",
        "├─ Festivals  [project]",
        "EDC  [production]",
        "EDC Las Vegas 2025  [activation]",
        "Kinetic Field  [workspace]",
        "Site Operations  [workspace]",
    ] {
        assert!(
            lines.iter().any(|l| l.ends_with(path)),
            "{path:?} missing from:\n{first}"
        );
    }
    // Site Operations sits two levels below the activation line
    let indent = |needle: &str| {
        lines
            .iter()
            .find(|l| l.ends_with(needle))
            .map(|l| l.chars().count() - needle.chars().count())
            .expect("line present")
    };
    assert_eq!(
        indent("Site Operations  [workspace]"),
        indent("EDC Las Vegas 2025  [activation]") + 6
    );

    // realistic data in every domain table, in several currencies
    let client = db.client().await;
    let mut counts = Vec::new();
    for table in [
        "tasks",
        "budget_lines",
        "vendors",
        "invoices",
        "invoice_lines",
        "assets",
        "asset_assignments",
        "schedule_items",
        "people",
        "crew_assignments",
        "documents",
        "tags",
        "task_tags",
        "invoice_tags",
        "person_tags",
    ] {
        let n: i64 = client
            .query_one(&format!("select count(*) from showtree.{table}"), &[])
            .await
            .expect("count")
            .get(0);
        assert!(n > 0, "the example has no {table}");
        counts.push(n);
    }
    let currencies: i64 = client
        .query_one(
            "select count(distinct currency) from (select currency from showtree.budget_lines \
              union all select currency from showtree.invoices) m",
            &[],
        )
        .await
        .expect("currencies")
        .get(0);
    assert!(currencies >= 3, "{currencies} currencies");

    // a second run replaces the example instead of failing or doubling it
    let second = ok_stdout(&showtree(db.url(), &["demo", "--no-serve"]).await);
    assert!(second.contains("migrations: 0 applied"), "{second}");
    let tasks: i64 = client
        .query_one("select count(*) from showtree.tasks", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(tasks, counts[0], "replaced, not doubled");
    let orgs: i64 = client
        .query_one(
            "select count(*) from showtree.nodes where kind = 'organization'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(orgs, 1);
    let tree = ok_stdout(&showtree(db.url(), &["tree", "insomniac"]).await);
    assert!(tree.contains("Kinetic Field  [workspace]"), "{tree}");
}

#[tokio::test]
async fn tree_of_an_unknown_organization_is_a_clear_error() {
    let db = testing::migrated_db().await;
    let out = showtree(db.url(), &["tree", "nobody"]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no organization with slug nobody"), "{err}");
    let bad = showtree(db.url(), &["tree", "Not A Slug"]).await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("slug"));
}

#[tokio::test]
async fn usage_errors_exit_with_2() {
    let db = testing::empty_db().await;
    let out = showtree(db.url(), &["migrate", "sideways"]).await;
    assert_eq!(out.status.code(), Some(2));
}
