//! `showtree report NODE [--limit N]`: a node's roll-up as terminal tables.

use showtree_db::testing;
use uuid::Uuid;

use crate::{ok_stdout, showtree};

/// The cells after the label of the first row (the counts table comes
/// before the money table) whose label starts with `label`.
fn counts_row<'a>(report: &'a str, label: &str) -> Option<Vec<&'a str>> {
    report.lines().find_map(|l| {
        l.trim_start()
            .strip_prefix(label)
            .map(|rest| rest.split_whitespace().collect())
    })
}

#[tokio::test]
async fn report_lists_the_first_children_by_name_and_sums_the_rest_in_one_bucket() {
    let db = testing::empty_db().await;
    ok_stdout(&showtree(db.url(), &["demo", "--no-serve"]).await);
    let client = db.client().await;
    let activation: Uuid = client
        .query_one(
            "select id from showtree.nodes where name = 'EDC Las Vegas 2025'",
            &[],
        )
        .await
        .expect("activation")
        .get(0);
    let children: Vec<(Uuid, String)> = client
        .query(
            "select id, name from showtree.nodes \
              where parent_id = $1 and deleted_at is null order by name, id",
            &[&activation],
        )
        .await
        .expect("children")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(children.len(), 3);
    // a task under each child's subtree, so that the left-out bucket has figures
    for (id, _) in &children {
        client
            .execute(
                "insert into showtree.tasks (org_id, node_id, title) \
                 select org_id, id, 'Report test task' from showtree.nodes where id = $1",
                &[id],
            )
            .await
            .expect("task");
    }
    let others: Vec<Uuid> = children[1..].iter().map(|(id, _)| *id).collect();
    let expected_rest: i64 = client
        .query_one(
            "select count(*) from showtree.tasks t \
               join showtree.nodes n on n.org_id = t.org_id and n.id = t.node_id \
              where t.deleted_at is null and n.deleted_at is null \
                and (n.id = any ($1) or n.ancestors && $1)",
            &[&others],
        )
        .await
        .expect("tasks of the others")
        .get(0);
    assert!(expected_rest >= 2);

    let node = activation.to_string();
    let limited = ok_stdout(&showtree(db.url(), &["report", &node, "--limit", "1"]).await);
    assert!(
        limited.contains("1 of 3 children listed"),
        "says how many were left out:\n{limited}"
    );
    assert!(
        counts_row(&limited, &children[0].1).is_some(),
        "the first child by name is listed:\n{limited}"
    );
    for (_, name) in &children[1..] {
        assert!(
            counts_row(&limited, name).is_none(),
            "{name} is not listed:\n{limited}"
        );
    }
    let rest = counts_row(&limited, "2 more children (not listed)")
        .unwrap_or_else(|| panic!("a bucket for the other two:\n{limited}"));
    assert_eq!(rest[0], expected_rest.to_string(), "{limited}");

    let all = ok_stdout(&showtree(db.url(), &["report", &node]).await);
    for (_, name) in &children {
        assert!(counts_row(&all, name).is_some(), "{name} listed:\n{all}");
    }
    assert!(!all.contains("more children"), "{all}");
    assert!(!all.contains("children listed"), "{all}");
}
