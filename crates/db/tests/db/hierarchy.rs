//! The hierarchy's rules, enforced by the database, exercised through
//! `showtree_db::nodes` against a real PostgreSQL.

use std::time::Duration;

use showtree_core::{NodeKind, NodeName, Slug, Status};
use showtree_db::DbError;
use showtree_db::nodes::{self, LevelFields, NewNode, Node};
use showtree_db::testing::{self, TestDb};
use tokio_postgres::Client;
use uuid::Uuid;

fn name(s: &str) -> NodeName {
    NodeName::parse(s).expect("valid test name")
}

/// Organization > project > production > activation > workspace > workspace.
struct Tree {
    org: Node,
    project: Node,
    production: Node,
    activation: Node,
    stage: Node,
    site_ops: Node,
}

async fn org(c: &Client, n: &str) -> Node {
    nodes::create(c, &NewNode::organization(name(n)), None)
        .await
        .expect("create organization")
}

async fn child(c: &Client, parent: &Node, kind: NodeKind, n: &str) -> Result<Node, DbError> {
    nodes::create(
        c,
        &NewNode::child(parent.org_id, parent.id, kind, name(n)),
        None,
    )
    .await
}

async fn tree(c: &Client) -> Tree {
    let org = org(c, "Insomniac").await;
    let project = child(c, &org, NodeKind::Project, "Festivals")
        .await
        .expect("project");
    let production = child(c, &project, NodeKind::Production, "EDC")
        .await
        .expect("production");
    let activation = child(c, &production, NodeKind::Activation, "EDC Las Vegas 2025")
        .await
        .expect("activation");
    let stage = child(c, &activation, NodeKind::Workspace, "Kinetic Field")
        .await
        .expect("stage");
    let site_ops = child(c, &stage, NodeKind::Workspace, "Site Operations")
        .await
        .expect("site ops");
    Tree {
        org,
        project,
        production,
        activation,
        stage,
        site_ops,
    }
}

fn rule_of<T: std::fmt::Debug>(r: Result<T, DbError>) -> String {
    match r {
        Err(DbError::Rule { rule, .. }) => rule,
        other => panic!("expected a rule violation, got {other:?}"),
    }
}

/// Everything about the tree that a failed change must leave alone.
async fn fingerprint(c: &Client) -> Vec<String> {
    c.query(
        "select id::text || ':' || coalesce(parent_id::text, '-') || ':' || ancestors::text \
             || ':' || coalesce(deleted_at::text, 'live') || ':' || status::text \
           from showtree.nodes order by id",
        &[],
    )
    .await
    .expect("fingerprint")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

async fn db() -> (TestDb, Client) {
    let db = testing::migrated_db().await;
    let c = db.client().await;
    (db, c)
}

#[tokio::test]
async fn ancestry_is_derived_by_the_database() {
    let (_db, c) = db().await;
    let t = tree(&c).await;
    assert_eq!(t.org.org_id, t.org.id);
    assert_eq!(t.org.depth, 0);
    assert_eq!(
        t.site_ops.ancestors,
        vec![
            t.org.id,
            t.project.id,
            t.production.id,
            t.activation.id,
            t.stage.id
        ]
    );
    assert_eq!(t.site_ops.depth, 5);
    let ancestors: Vec<Uuid> = nodes::ancestors(&c, t.org.id, t.site_ops.id)
        .await
        .expect("ancestors")
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(ancestors, t.site_ops.ancestors);
    let crumbs: Vec<String> = nodes::breadcrumbs(&c, t.org.id, t.site_ops.id)
        .await
        .expect("breadcrumbs")
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(
        crumbs,
        [
            "Insomniac",
            "Festivals",
            "EDC",
            "EDC Las Vegas 2025",
            "Kinetic Field",
            "Site Operations"
        ]
    );
    let slug = nodes::get(&c, t.org.id, t.activation.id)
        .await
        .expect("get")
        .slug;
    assert_eq!(slug, "edc-las-vegas-2025");
}

/// Node ids come from the column default `private.uuid_generate_v7()`:
/// version 7, stamped with the time of the insert (so they sort in creation
/// order), and the function is inlined into the insert (migration 0017).
#[tokio::test]
async fn default_ids_are_time_ordered_v7_from_an_inlined_function() {
    let (_db, c) = db().await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis();
    let t = tree(&c).await;
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis();
    let ids = [
        t.org.id,
        t.project.id,
        t.production.id,
        t.activation.id,
        t.stage.id,
        t.site_ops.id,
    ];
    let mut last = 0;
    for id in ids {
        assert_eq!(id.get_version_num(), 7, "{id}");
        let (secs, nanos) = id
            .get_timestamp()
            .expect("a v7 id has a timestamp")
            .to_unix();
        let ms = u128::from(secs) * 1000 + u128::from(nanos / 1_000_000);
        assert!(
            before <= ms && ms <= after,
            "{id}: {ms} outside {before}..={after}"
        );
        assert!(ms >= last, "{id} is older than the node created before it");
        last = ms;
    }
    let plan: String = c
        .query(
            "explain (verbose, costs off) select private.uuid_generate_v7()",
            &[],
        )
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!plan.contains("uuid_generate_v7"), "not inlined: {plan}");
    assert!(plan.contains("gen_random_uuid()"), "{plan}");
}

#[tokio::test]
async fn every_broken_kind_rule_is_rejected_by_name_and_changes_nothing() {
    let (_db, c) = db().await;
    let t = tree(&c).await;
    let parents = [&t.org, &t.project, &t.production, &t.activation, &t.stage];
    let before = fingerprint(&c).await;
    let mut rejected = 0;
    for parent in parents {
        for kind in NodeKind::ALL {
            let allowed = kind.may_have_parent(Some(parent.kind));
            let result = child(&c, parent, kind, "Probe").await;
            if allowed {
                let made = result.expect("allowed kind pair");
                c.execute(
                    "delete from showtree.nodes where org_id = $1 and id = $2",
                    &[&made.org_id, &made.id],
                )
                .await
                .expect("cleanup");
            } else {
                assert_eq!(
                    rule_of(result),
                    "nodes_kind_rule",
                    "{kind} under {}",
                    parent.kind
                );
                rejected += 1;
            }
        }
    }
    assert_eq!(
        rejected,
        5 * 5 - 5,
        "one allowed kind per parent, workspace under two"
    );
    // a non-organization without a parent
    let orphan = NewNode {
        parent_id: None,
        ..NewNode::child(t.org.id, t.org.id, NodeKind::Project, name("Orphan"))
    };
    assert_eq!(
        rule_of(nodes::create(&c, &orphan, None).await),
        "nodes_kind_rule"
    );
    assert_eq!(fingerprint(&c).await, before);
}

#[tokio::test]
async fn kind_rules_in_sql_and_in_core_agree() {
    let (_db, c) = db().await;
    let mut parents: Vec<Option<NodeKind>> = NodeKind::ALL.into_iter().map(Some).collect();
    parents.push(None);
    for child in NodeKind::ALL {
        for parent in &parents {
            let sql: bool = c
                .query_one(
                    "select coalesce(private.node_kind_parent_allowed($1::text::showtree.node_kind, $2::text::showtree.node_kind), false)",
                    &[&parent.map(NodeKind::as_str), &child.as_str()],
                )
                .await
                .expect("query")
                .get(0);
            assert_eq!(
                sql,
                child.may_have_parent(*parent),
                "{child} under {parent:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_cycle_is_rejected() {
    let (_db, c) = db().await;
    let t = tree(&c).await;
    let before = fingerprint(&c).await;
    let under_descendant = nodes::move_to(&c, t.org.id, t.stage.id, t.site_ops.id, None).await;
    assert_eq!(rule_of(under_descendant), "nodes_no_cycle");
    let under_itself = nodes::move_to(&c, t.org.id, t.stage.id, t.stage.id, None).await;
    assert_eq!(rule_of(under_itself), "nodes_no_cycle");
    assert_eq!(fingerprint(&c).await, before);
}

#[tokio::test]
async fn a_parent_in_another_organization_is_rejected() {
    let (_db, c) = db().await;
    let t = tree(&c).await;
    let other = org(&c, "Other Promoter").await;
    let other_project = child(&c, &other, NodeKind::Project, "Tours")
        .await
        .expect("project");
    let before = fingerprint(&c).await;
    // claims org A but names a parent of org B
    let sneaky = NewNode::child(
        t.org.id,
        other_project.id,
        NodeKind::Production,
        name("Sneaky"),
    );
    assert_eq!(
        rule_of(nodes::create(&c, &sneaky, None).await),
        "nodes_parent_fkey"
    );
    let moved = nodes::move_to(&c, t.org.id, t.production.id, other_project.id, None).await;
    assert_eq!(rule_of(moved), "nodes_parent_fkey");
    assert_eq!(fingerprint(&c).await, before);
}

#[tokio::test]
async fn the_eleventh_level_is_rejected() {
    let (_db, c) = db().await;
    let t = tree(&c).await;
    // site_ops is level 6; four more workspaces make ten levels
    let mut deepest = t.site_ops.clone();
    for i in 7..=10 {
        deepest = child(&c, &deepest, NodeKind::Workspace, &format!("Level {i}"))
            .await
            .expect("within the cap");
    }
    assert_eq!(deepest.depth, 9);
    let before = fingerprint(&c).await;
    let eleventh = child(&c, &deepest, NodeKind::Workspace, "Level 11").await;
    assert_eq!(rule_of(eleventh), "nodes_depth_check");
    // moving a two-level subtree under level 9 would push its child to 11
    let other_activation = child(&c, &t.production, NodeKind::Activation, "EDC Orlando")
        .await
        .expect("activation");
    let a = child(&c, &other_activation, NodeKind::Workspace, "A")
        .await
        .expect("a");
    child(&c, &a, NodeKind::Workspace, "B").await.expect("b");
    let parent_of_deepest = deepest.parent_id.expect("has parent");
    let before_move = fingerprint(&c).await;
    let too_deep = nodes::move_to(&c, t.org.id, a.id, parent_of_deepest, None).await;
    assert_eq!(rule_of(too_deep), "nodes_depth_check");
    assert_eq!(fingerprint(&c).await, before_move);
    assert!(before.len() < before_move.len());
}

#[tokio::test]
async fn clients_cannot_write_ancestry_kind_or_organization() {
    let (_db, c) = db().await;
    let t = tree(&c).await;
    let before = fingerprint(&c).await;
    let ancestry = c
        .execute(
            "update showtree.nodes set ancestors = '{}', depth = 0 where id = $1",
            &[&t.stage.id],
        )
        .await
        .map_err(DbError::from);
    assert_eq!(rule_of(ancestry), "nodes_ancestors_managed");
    let kind = c
        .execute(
            "update showtree.nodes set kind = 'activation' where id = $1",
            &[&t.stage.id],
        )
        .await
        .map_err(DbError::from);
    assert_eq!(rule_of(kind), "nodes_kind_immutable");
    let other = org(&c, "Other").await;
    let moved_org = c
        .execute(
            "update showtree.nodes set org_id = $2 where id = $1",
            &[&t.stage.id, &other.id],
        )
        .await
        .map_err(DbError::from);
    assert_eq!(rule_of(moved_org), "nodes_identity_immutable");
    let mut after = fingerprint(&c).await;
    after.retain(|l| !l.starts_with(&other.id.to_string()));
    assert_eq!(after, before);
}

#[tokio::test]
async fn slugs_are_unique_among_live_siblings_only() {
    let (_db, c) = db().await;
    let t = tree(&c).await;
    let mut twin = NewNode::child(
        t.org.id,
        t.activation.id,
        NodeKind::Workspace,
        name("Kinetic  Field!"),
    );
    twin.slug = Some(Slug::parse("kinetic-field").expect("slug"));
    assert_eq!(
        rule_of(nodes::create(&c, &twin, None).await),
        "nodes_slug_key"
    );
    // the same slug under another parent is fine
    let other = child(&c, &t.production, NodeKind::Activation, "EDC Orlando")
        .await
        .expect("activation");
    let elsewhere = NewNode {
        parent_id: Some(other.id),
        ..twin.clone()
    };
    nodes::create(&c, &elsewhere, None)
        .await
        .expect("same slug elsewhere");
    // and once the first one is deleted, reusable
    nodes::soft_delete(&c, t.org.id, t.stage.id, None)
        .await
        .expect("delete");
    nodes::create(&c, &twin, None)
        .await
        .expect("slug free again");
}

#[tokio::test]
async fn soft_delete_hides_the_subtree_and_restore_brings_back_exactly_it() {
    let (_db, c) = db().await;
    let t = tree(&c).await;
    let second_stage = child(&c, &t.activation, NodeKind::Workspace, "Circuit Grounds")
        .await
        .expect("stage");
    let crew = child(&c, &second_stage, NodeKind::Workspace, "Crew")
        .await
        .expect("crew");
    // deleted on its own first: must stay deleted after the activation's restore
    nodes::soft_delete(&c, t.org.id, t.site_ops.id, None)
        .await
        .expect("delete site ops");
    let deleted_alone = nodes::get(&c, t.org.id, t.site_ops.id).await.expect("get");

    nodes::soft_delete(&c, t.org.id, t.activation.id, None)
        .await
        .expect("delete activation");
    let visible = nodes::subtree(&c, t.org.id, t.org.id, None, None, 1000)
        .await
        .expect("subtree");
    let ids: Vec<Uuid> = visible.iter().map(|n| n.id).collect();
    assert_eq!(ids, vec![t.project.id, t.production.id]);
    assert!(
        nodes::children(&c, t.org.id, t.production.id)
            .await
            .expect("children")
            .is_empty()
    );
    assert!(
        nodes::ancestors(&c, t.org.id, crew.id)
            .await
            .expect("ancestors")
            .is_empty()
    );
    assert!(
        nodes::subtree(&c, t.org.id, t.activation.id, None, None, 100)
            .await
            .expect("subtree")
            .is_empty()
    );
    // nothing under a deleted node can be created or restored on its own
    assert_eq!(
        rule_of(child(&c, &t.stage, NodeKind::Workspace, "Late").await),
        "nodes_parent_live"
    );
    assert_eq!(
        rule_of(nodes::restore(&c, t.org.id, crew.id, None).await),
        "nodes_parent_live"
    );

    nodes::restore(&c, t.org.id, t.activation.id, None)
        .await
        .expect("restore");
    let visible: Vec<Uuid> = nodes::subtree(&c, t.org.id, t.org.id, None, None, 1000)
        .await
        .expect("subtree")
        .iter()
        .map(|n| n.id)
        .collect();
    let mut expected = vec![
        t.project.id,
        t.production.id,
        t.activation.id,
        t.stage.id,
        second_stage.id,
        crew.id,
    ];
    expected.sort();
    let mut got = visible.clone();
    got.sort();
    assert_eq!(got, expected, "site ops, deleted on its own, stays deleted");
    let still = nodes::get(&c, t.org.id, t.site_ops.id).await.expect("get");
    assert_eq!(still.deleted_at, deleted_alone.deleted_at);
}

#[tokio::test]
async fn subtree_pages_walk_the_tree_in_preorder_with_a_cursor() {
    let (_db, c) = db().await;
    let t = tree(&c).await;
    for i in 0..5 {
        let ws = child(
            &c,
            &t.activation,
            NodeKind::Workspace,
            &format!("Stage {i}"),
        )
        .await
        .expect("stage");
        child(&c, &ws, NodeKind::Workspace, &format!("Crew {i}"))
            .await
            .expect("crew");
    }
    let all = nodes::subtree(&c, t.org.id, t.org.id, None, None, 1000)
        .await
        .expect("all");
    assert_eq!(all.len(), 5 + 10);
    // every node comes after its parent
    for (i, n) in all.iter().enumerate() {
        if let Some(p) = n.parent_id.filter(|p| *p != t.org.id) {
            assert!(
                all[..i].iter().any(|m| m.id == p),
                "{} before its parent",
                n.name
            );
        }
    }
    let mut paged = Vec::new();
    let mut cursor: Option<Vec<Uuid>> = None;
    loop {
        let page = nodes::subtree(&c, t.org.id, t.org.id, None, cursor.as_deref(), 4)
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(Node::path);
        paged.extend(page);
    }
    assert_eq!(paged, all);
    let workspaces = nodes::subtree(
        &c,
        t.org.id,
        t.production.id,
        Some(NodeKind::Workspace),
        None,
        1000,
    )
    .await
    .expect("workspaces");
    assert_eq!(workspaces.len(), 12);
    assert!(workspaces.iter().all(|n| n.kind == NodeKind::Workspace));
    assert!(matches!(
        nodes::subtree(&c, t.org.id, t.org.id, None, None, 0).await,
        Err(DbError::Invalid(_))
    ));
}

#[tokio::test]
async fn level_fields_land_in_the_detail_table_of_the_kind() {
    let (_db, c) = db().await;
    let t = tree(&c).await;
    let mut ws = NewNode::child(
        t.org.id,
        t.activation.id,
        NodeKind::Workspace,
        name("Main Stage"),
    );
    ws.level = LevelFields::Workspace {
        workspace_type: "stage".into(),
    };
    let ws = nodes::create(&c, &ws, None).await.expect("workspace");
    let ty: String = c
        .query_one(
            "select workspace_type from showtree.workspaces where node_id = $1",
            &[&ws.id],
        )
        .await
        .expect("detail")
        .get(0);
    assert_eq!(ty, "stage");
    let mut bad = NewNode::child(t.org.id, t.activation.id, NodeKind::Workspace, name("Bad"));
    bad.level = LevelFields::Workspace {
        workspace_type: "spaceship".into(),
    };
    assert_eq!(
        rule_of(nodes::create(&c, &bad, None).await),
        "workspaces_workspace_type_check"
    );
    // a detail row for a node of another kind
    let wrong = c
        .execute(
            "insert into showtree.activations (org_id, node_id) values ($1, $2)",
            &[&t.org.id, &t.project.id],
        )
        .await
        .map_err(DbError::from);
    assert_eq!(rule_of(wrong), "activations_kind_check");
    let per_kind: i64 = c
        .query_one(
            "select (select count(*) from showtree.organizations) + (select count(*) from showtree.projects) \
             + (select count(*) from showtree.productions) + (select count(*) from showtree.activations) \
             + (select count(*) from showtree.workspaces)",
            &[],
        )
        .await
        .expect("counts")
        .get(0);
    let total: i64 = c
        .query_one("select count(*) from showtree.nodes", &[])
        .await
        .expect("n")
        .get(0);
    assert_eq!(per_kind, total, "one detail row per node");
}

#[tokio::test]
async fn status_transitions_follow_the_rule() {
    let (_db, c) = db().await;
    let t = tree(&c).await;
    let n = nodes::set_status(&c, t.org.id, t.project.id, Status::Completed, None)
        .await
        .expect("active -> completed");
    assert_eq!(n.status, Status::Completed);
    let forbidden = nodes::set_status(&c, t.org.id, t.project.id, Status::Draft, None).await;
    assert_eq!(rule_of(forbidden), "nodes_status_transition");
    assert_eq!(
        nodes::get(&c, t.org.id, t.project.id)
            .await
            .expect("get")
            .status,
        Status::Completed
    );
}

/// Migration 0013: `showtree.importing = on` lets a superuser's write
/// through the status and updated_at triggers (what `showtree import`'s
/// functions do); the same setting means nothing to `authenticated`.
#[tokio::test]
async fn the_import_setting_skips_checks_only_for_a_superuser() {
    let (_db, mut c) = db().await;
    let t = tree(&c).await;
    nodes::set_status(&c, t.org.id, t.project.id, Status::Completed, None)
        .await
        .expect("active -> completed");
    let back = "update showtree.nodes set status = 'draft', updated_at = timestamptz '2020-01-01 00:00Z'
                 where org_id = $1 and id = $2 returning updated_at = timestamptz '2020-01-01 00:00Z'";

    let tx = c.transaction().await.expect("begin");
    tx.batch_execute(
        "select set_config('showtree.importing', 'on', true); set local role authenticated",
    )
    .await
    .expect("as authenticated");
    let honoured: bool = tx
        .query_one("select private.importing()", &[])
        .await
        .expect("importing()")
        .get(0);
    assert!(!honoured, "authenticated must not skip showtree's checks");
    tx.rollback().await.expect("rollback");

    let refused = c.query_one(back, &[&t.org.id, &t.project.id]).await;
    let e = refused.expect_err("completed -> draft without the setting");
    let constraint = e
        .as_db_error()
        .and_then(|d| d.constraint())
        .map(str::to_owned);
    assert_eq!(constraint.as_deref(), Some("nodes_status_transition"));

    let tx = c.transaction().await.expect("begin");
    tx.batch_execute("select set_config('showtree.importing', 'on', true)")
        .await
        .expect("importing");
    let kept: bool = tx
        .query_one(back, &[&t.org.id, &t.project.id])
        .await
        .expect("completed -> draft while importing")
        .get(0);
    assert!(kept, "updated_at is the one written");
    tx.commit().await.expect("commit");
    assert_eq!(
        nodes::get(&c, t.org.id, t.project.id)
            .await
            .expect("get")
            .status,
        Status::Draft
    );
}

#[tokio::test]
async fn status_rules_in_sql_and_in_core_agree() {
    let (_db, c) = db().await;
    for from in Status::ALL {
        for to in Status::ALL {
            let sql: bool = c
                .query_one(
                    "select private.status_transition_allowed($1::text::showtree.entity_status, $2::text::showtree.entity_status)",
                    &[&from.as_str(), &to.as_str()],
                )
                .await
                .expect("query")
                .get(0);
            assert_eq!(sql, from.can_transition_to(to), "{from} -> {to}");
        }
    }
}

/// Adds `activations` activations with `per` workspaces each under
/// `production`, in bulk: 10 x 999 + 10 = 10,000 nodes.
async fn bulk_subtree(c: &Client, production: &Node, activations: i32, per: i32) {
    c.execute(
        "insert into showtree.nodes (org_id, parent_id, kind, name, slug) \
         select $1, $2, 'activation', 'Activation ' || i, 'activation-' || i from generate_series(1, $3) i",
        &[&production.org_id, &production.id, &activations],
    )
    .await
    .expect("activations");
    c.execute(
        "insert into showtree.nodes (org_id, parent_id, kind, name, slug) \
         select a.org_id, a.id, 'workspace', 'Workspace ' || i, 'workspace-' || i \
           from showtree.nodes a, generate_series(1, $3) i \
          where a.org_id = $1 and a.parent_id = $2",
        &[&production.org_id, &production.id, &per],
    )
    .await
    .expect("workspaces");
}

/// Counts the production's descendants whose ancestry starts with `prefix`.
async fn descendants_under(
    c: &impl tokio_postgres::GenericClient,
    production: Uuid,
    prefix: &[Uuid],
) -> (i64, i64) {
    let row = c
        .query_one(
            "select count(*) filter (where ancestors[1:$2] = $3::uuid[]), count(*) \
               from showtree.nodes where $1 = any(ancestors)",
            &[&production, &(prefix.len() as i32), &prefix],
        )
        .await
        .expect("count");
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn moving_a_10000_node_subtree_is_one_transaction_readers_see_old_or_new() {
    let (db, mut c) = db().await;
    let t = tree(&c).await;
    let big = child(&c, &t.project, NodeKind::Production, "Big Show")
        .await
        .expect("production");
    bulk_subtree(&c, &big, 10, 999).await;
    let target = child(&c, &t.org, NodeKind::Project, "Tours")
        .await
        .expect("project");
    let old_prefix = big.path();
    let new_prefix = vec![t.org.id, target.id, big.id];
    assert_eq!(
        descendants_under(&c, big.id, &old_prefix).await,
        (10_000, 10_000)
    );

    // a reader polling on its own connection the whole time
    let reader = db.client().await;
    let big_id = big.id;
    let (old_p, new_p) = (old_prefix.clone(), new_prefix.clone());
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let polling = tokio::spawn(async move {
        let mut seen = Vec::new();
        loop {
            // one statement sees one snapshot: all old or all new
            let one: (i64, i64) = {
                let r = reader
                    .query_one(
                        "select count(*) filter (where ancestors[1:3] = $2::uuid[]), \
                                count(*) filter (where ancestors[1:3] = $3::uuid[]) \
                           from showtree.nodes where $1 = any(ancestors)",
                        &[&big_id, &old_p, &new_p],
                    )
                    .await
                    .expect("poll");
                (r.get(0), r.get(1))
            };
            seen.push(one);
            if stop_rx.try_recv().is_ok() {
                break seen;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });

    let tx = c.transaction().await.expect("tx");
    let moved = nodes::move_to(&tx, t.org.id, big.id, target.id, None)
        .await
        .expect("move");
    assert_eq!(moved.ancestors, vec![t.org.id, target.id]);
    assert_eq!(
        descendants_under(&tx, big.id, &new_prefix).await,
        (10_000, 10_000)
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    tx.commit().await.expect("commit");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stop_tx.send(());
    let seen = polling.await.expect("reader");

    assert!(
        seen.contains(&(10_000, 0)),
        "reader saw the old tree while the move was open"
    );
    assert_eq!(
        seen.last(),
        Some(&(0, 10_000)),
        "reader sees the new tree after commit"
    );
    for s in &seen {
        assert!(
            *s == (10_000, 0) || *s == (0, 10_000),
            "a mixed tree was visible: {s:?}"
        );
    }
    // depths follow the ancestry
    let bad_depth: i64 = c
        .query_one(
            "select count(*) from showtree.nodes where depth <> cardinality(ancestors)",
            &[],
        )
        .await
        .expect("depth")
        .get(0);
    assert_eq!(bad_depth, 0);
}

#[tokio::test]
async fn an_insert_racing_a_move_gets_the_new_ancestry() {
    let (db, mut c) = db().await;
    let t = tree(&c).await;
    let target = child(&c, &t.org, NodeKind::Project, "Tours")
        .await
        .expect("project");
    let tx = c.transaction().await.expect("tx");
    nodes::move_to(&tx, t.org.id, t.production.id, target.id, None)
        .await
        .expect("move");

    let other = db.client().await;
    let stage = t.stage.clone();
    let insert =
        tokio::spawn(async move { child(&other, &stage, NodeKind::Workspace, "Late Crew").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!insert.is_finished(), "the insert waits for the move");
    tx.commit().await.expect("commit");
    let late = insert.await.expect("task").expect("insert");
    assert_eq!(
        late.ancestors,
        vec![
            t.org.id,
            target.id,
            t.production.id,
            t.activation.id,
            t.stage.id
        ]
    );
}
