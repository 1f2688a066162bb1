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

    // a second run replaces the example instead of failing or doubling it
    let second = ok_stdout(&showtree(db.url(), &["demo", "--no-serve"]).await);
    assert!(second.contains("migrations: 0 applied"), "{second}");
    let client = db.client().await;
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
