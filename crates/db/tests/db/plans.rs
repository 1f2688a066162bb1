//! Subtree lists and search read a subtree either through its nodes or by
//! walking the organization's rows (migration 0012, `domain::SubtreePlan`):
//! both ways give the same rows, in the same order, to the same callers.

use serde_json::Value;
use showtree_core::{NodeKind, NodeName, Role};
use showtree_db::auth::{self, NewSignup};
use showtree_db::domain::{self, ListQuery, Scope, SubtreePlan, tables};
use showtree_db::grants::{self, Grantee};
use showtree_db::nodes::{self, NewNode, Node};
use showtree_db::pool::{Caller, Db};
use showtree_db::testing::{self, TestDb};
use tokio_postgres::Client;
use uuid::Uuid;

const FAKE_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

async fn signup(db: &Db, email: &str, org: &str) -> (Caller, Uuid) {
    let new = NewSignup {
        email: email.into(),
        password_hash: FAKE_HASH.into(),
        display_name: email.into(),
        org_name: NodeName::parse(org).expect("name"),
        org_slug: None,
        base_currency: None,
        timezone: None,
    };
    let s = db
        .run_anonymous(async |c| auth::signup(c, &new).await)
        .await
        .expect("signup");
    (Caller::user(s.user_id), s.org_id)
}

async fn make(
    db: &Db,
    who: &Caller,
    parent: &Node,
    kind: NodeKind,
    n: &str,
    restricted: bool,
) -> Node {
    let mut new = NewNode::child(
        parent.org_id,
        parent.id,
        kind,
        NodeName::parse(n).expect("name"),
    );
    new.restricted = restricted;
    db.run_as(who, async |c| nodes::create(c, &new, None).await)
        .await
        .expect("node")
}

async fn user(admin: &Client, email: &str) -> Caller {
    let id: Uuid = admin
        .query_one(
            "insert into auth.users (email) values ($1) returning id",
            &[&email],
        )
        .await
        .expect("user")
        .get(0);
    Caller::user(id)
}

async fn give(db: &Db, owner: &Caller, node: &Node, to: &Caller, role: Role) {
    db.run_as(owner, async |c| {
        grants::grant(c, node.org_id, node.id, &Grantee::User(to.user_id), role).await
    })
    .await
    .expect("grant");
}

/// Tasks titled `word n` on `node`, written as the owner of the tables.
async fn tasks(admin: &Client, node: &Node, word: &str, n: usize) {
    for i in 0..n {
        admin
            .execute(
                "insert into showtree.tasks (org_id, node_id, title) values ($1, $2, $3)",
                &[&node.org_id, &node.id, &format!("{word} {i}")],
            )
            .await
            .expect("task");
    }
}

/// Budget lines categorised `word n` on `node`, written as the owner.
async fn budget_lines(admin: &Client, node: &Node, word: &str, n: usize) {
    for i in 0..n {
        admin
            .execute(
                "insert into showtree.budget_lines (org_id, node_id, category, amount_minor, currency) \
                 values ($1, $2, $3, 100, 'USD')",
                &[&node.org_id, &node.id, &format!("{word} {i}")],
            )
            .await
            .expect("budget line");
    }
}

/// Org > Project > Production > {Activation > {Workspace, Backstage
/// (restricted) > Green Room, Gone (deleted), Rigging Loft}, Other
/// activation}, tasks on every node, rigging budget lines on some, and a
/// second organization with the same words.
struct World {
    _db: TestDb,
    app: Db,
    owner: Caller,
    manager: Caller,
    viewer: Caller,
    finance: Caller,
    stranger: Caller,
    org: Node,
    project: Node,
    production: Node,
    activation: Node,
    backstage: Node,
    other_org: Uuid,
}

async fn world() -> World {
    let db = testing::migrated_db().await;
    let admin = db.client().await;
    let app = db.app_db();
    let (owner, org_id) = signup(&app, "owner@plans.test", "Plans").await;
    let org = app
        .run_as(&owner, async |c| nodes::find(c, org_id).await)
        .await
        .expect("org");
    let project = make(&app, &owner, &org, NodeKind::Project, "Festivals", false).await;
    let production = make(&app, &owner, &project, NodeKind::Production, "EDC", false).await;
    let activation = make(
        &app,
        &owner,
        &production,
        NodeKind::Activation,
        "Las Vegas",
        false,
    )
    .await;
    let workspace = make(
        &app,
        &owner,
        &activation,
        NodeKind::Workspace,
        "Kinetic",
        false,
    )
    .await;
    let backstage = make(
        &app,
        &owner,
        &activation,
        NodeKind::Workspace,
        "Backstage",
        true,
    )
    .await;
    let green = make(
        &app,
        &owner,
        &backstage,
        NodeKind::Workspace,
        "Green Room",
        false,
    )
    .await;
    let gone = make(
        &app,
        &owner,
        &activation,
        NodeKind::Workspace,
        "Gone",
        false,
    )
    .await;
    let other = make(
        &app,
        &owner,
        &production,
        NodeKind::Activation,
        "Orlando",
        false,
    )
    .await;
    make(
        &app,
        &owner,
        &activation,
        NodeKind::Workspace,
        "Rigging Loft",
        false,
    )
    .await;
    for (node, n) in [
        (&production, 2),
        (&activation, 1),
        (&backstage, 2),
        (&gone, 1),
    ] {
        budget_lines(&admin, node, "rigging budget", n).await;
    }
    for (node, n) in [
        (&org, 2),
        (&project, 3),
        (&production, 2),
        (&activation, 4),
        (&workspace, 5),
        (&backstage, 3),
        (&green, 2),
        (&gone, 3),
        (&other, 4),
    ] {
        tasks(&admin, node, "stage rigging", n).await;
    }
    app.run_as(&owner, async |c| {
        nodes::soft_delete(c, org.org_id, gone.id, None).await
    })
    .await
    .expect("delete");

    let manager = user(&admin, "manager@plans.test").await;
    give(&app, &owner, &production, &manager, Role::Manager).await;
    let viewer = user(&admin, "viewer@plans.test").await;
    give(&app, &owner, &activation, &viewer, Role::Viewer).await;
    let finance = user(&admin, "finance@plans.test").await;
    give(&app, &owner, &production, &finance, Role::Finance).await;

    let (stranger, other_org) = signup(&app, "owner@elsewhere.test", "Elsewhere").await;
    let theirs = app
        .run_as(&stranger, async |c| nodes::find(c, other_org).await)
        .await
        .expect("their org");
    tasks(&admin, &theirs, "stage rigging", 5).await;

    World {
        _db: db,
        app,
        owner,
        manager,
        viewer,
        finance,
        stranger,
        org,
        project,
        production,
        activation,
        backstage,
        other_org,
    }
}

/// Every page of the subtree task list of `node` for `who`, pages of 3.
async fn pages(w: &World, who: &Caller, node: &Node, plan: SubtreePlan) -> Vec<Vec<Uuid>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let q = ListQuery {
            org_id: node.org_id,
            scope: Scope::Subtree(node.id),
            status: None,
            assigned_to: None,
            tag: None,
            from: None,
            to: None,
            text: None,
            equals: Vec::new(),
            after,
            limit: 3,
        };
        let rows: Vec<Value> = w
            .app
            .run_as(who, async |c| {
                domain::list_planned(c, &tables::TASKS, &q, plan).await
            })
            .await
            .expect("list");
        let ids: Vec<Uuid> = rows
            .iter()
            .map(|r| r["id"].as_str().expect("id").parse().expect("uuid"))
            .collect();
        if ids.is_empty() {
            return out;
        }
        after = ids.last().copied();
        out.push(ids);
    }
}

#[tokio::test]
async fn a_subtree_list_gives_the_same_pages_walking_or_through_the_nodes() {
    let w = world().await;
    // (caller, node, live tasks they may read in its subtree)
    let cases = [
        (&w.owner, &w.org, 25),
        (&w.owner, &w.project, 23),
        (&w.owner, &w.activation, 14),
        (&w.manager, &w.production, 15),
        // the restricted Backstage and its Green Room stop the viewer's grant
        (&w.viewer, &w.activation, 9),
    ];
    for (who, node, expected) in cases {
        let walked = pages(&w, who, node, SubtreePlan::Walk).await;
        let through = pages(&w, who, node, SubtreePlan::ThroughNodes).await;
        assert_eq!(walked, through, "{}", node.name);
        let all: Vec<Uuid> = walked.concat();
        assert_eq!(all.len(), expected, "{}", node.name);
        assert!(all.windows(2).all(|p| p[0] < p[1]), "id order");
        // and the plan the service picks gives the same first page
        let q = ListQuery {
            org_id: node.org_id,
            scope: Scope::Subtree(node.id),
            status: None,
            assigned_to: None,
            tag: None,
            from: None,
            to: None,
            text: None,
            equals: Vec::new(),
            after: None,
            limit: 3,
        };
        let first: Vec<Value> = w
            .app
            .run_as(who, async |c| domain::list(c, &tables::TASKS, &q).await)
            .await
            .expect("list");
        assert_eq!(first.len(), walked[0].len());
    }
    // a node the caller cannot read lists nothing either way
    for plan in [SubtreePlan::Walk, SubtreePlan::ThroughNodes] {
        assert!(pages(&w, &w.viewer, &w.backstage, plan).await.is_empty());
        assert!(pages(&w, &w.stranger, &w.org, plan).await.is_empty());
    }
}

/// `search_subtree` for `q` as `who`, at most `limit` hits, with the
/// small-subtree bound `small`.
async fn search_for(
    w: &World,
    who: &Caller,
    (org, node): (Uuid, Uuid),
    q: &str,
    limit: i32,
    small: i32,
) -> Vec<(String, Uuid)> {
    w.app
        .run_as(who, async |c| {
            let rows = c
                .query(
                    "select kind, id from showtree.search_subtree($1, $2, $3, $4, $5)",
                    &[&org, &node, &q, &limit, &small],
                )
                .await?;
            Ok::<_, showtree_db::DbError>(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
        .await
        .expect("search")
}

/// `search_subtree` for 'rigging' as `who`, with the small-subtree bound `small`.
async fn search(w: &World, who: &Caller, org: Uuid, node: Uuid, small: i32) -> Vec<(String, Uuid)> {
    search_for(w, who, (org, node), "rigging", 100, small).await
}

/// How many hits of each kind.
fn kinds(hits: &[(String, Uuid)]) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (kind, _) in hits {
        match counts.iter_mut().find(|(k, _)| k == kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((kind.clone(), 1)),
        }
    }
    counts.sort();
    counts
}

#[tokio::test]
async fn search_reads_a_large_subtree_as_a_small_one_and_never_another_org() {
    let w = world().await;
    // (budget lines, nodes, tasks) each caller may read in the subtree:
    // deleted nodes' rows never; the restricted backstage only for the
    // owner; budget lines only with the finance capability
    let cases = [
        (&w.owner, &w.org, (5, 1, 25)),
        (&w.owner, &w.activation, (3, 1, 14)),
        (&w.manager, &w.production, (0, 1, 15)),
        (&w.finance, &w.production, (3, 1, 15)),
        (&w.viewer, &w.activation, (0, 1, 9)),
    ];
    for (who, node, (budget, nodes, tasks)) in cases {
        // 0: every subtree is large; 2000 (the default): every one is small
        let large = search(&w, who, node.org_id, node.id, 0).await;
        let small = search(&w, who, node.org_id, node.id, 2000).await;
        assert_eq!(large, small, "{}", node.name);
        let mut expected = vec![
            ("budget_line".to_string(), budget),
            ("node".to_string(), nodes),
            ("task".to_string(), tasks),
        ];
        expected.retain(|(_, n)| *n > 0);
        assert_eq!(kinds(&large), expected, "{}", node.name);
        // a limit keeps the best hits, in the same order, either way
        for bound in [0, 2000] {
            let first = search_for(&w, who, (node.org_id, node.id), "rigging", 4, bound).await;
            assert_eq!(first, large[..4], "{} with bound {bound}", node.name);
        }
    }
    // the other organization's owner finds their own five, never ours
    for small in [0, 2000] {
        let theirs = search(&w, &w.stranger, w.other_org, w.other_org, small).await;
        assert_eq!(theirs.len(), 5);
        assert!(
            search(&w, &w.stranger, w.org.org_id, w.org.id, small)
                .await
                .is_empty()
        );
        assert!(
            search(&w, &w.owner, w.other_org, w.other_org, small)
                .await
                .is_empty()
        );
    }
}

#[tokio::test]
async fn search_of_stop_words_finds_nothing_and_a_negation_stays_in_the_subtree() {
    let w = world().await;
    for small in [0, 2000] {
        // no lexeme at all: nothing, not every row of the organization
        for q in ["the", "", "-"] {
            let hits = search_for(&w, &w.owner, (w.org.org_id, w.org.id), q, 100, small).await;
            assert!(hits.is_empty(), "{q:?} with bound {small}: {hits:?}");
        }
        // everything of the viewer's subtree without 'budget' or 'loft'
        // (its nine tasks), nothing of the other organization's
        let hits = search_for(
            &w,
            &w.viewer,
            (w.org.org_id, w.activation.id),
            "-budget -loft",
            100,
            small,
        )
        .await;
        assert_eq!(
            kinds(&hits),
            vec![("node".to_string(), 2), ("task".to_string(), 9)],
            "bound {small}"
        );
    }
}

#[tokio::test]
async fn subtree_nodes_are_the_live_nodes_the_caller_may_read() {
    let w = world().await;
    let count = |who: Caller, org: Uuid, node: Uuid| {
        let app = w.app.clone();
        async move {
            app.run_as(&who, async |c| {
                let row = c
                    .query_one(
                        "select cardinality(private.subtree_nodes($1, $2, null))",
                        &[&org, &node],
                    )
                    .await?;
                Ok::<i32, showtree_db::DbError>(row.get(0))
            })
            .await
            .expect("subtree_nodes")
        }
    };
    // org, project, production, activation, workspace, backstage, green
    // room, rigging loft, orlando
    assert_eq!(count(w.owner.clone(), w.org.org_id, w.org.id).await, 9);
    // activation, workspace, rigging loft
    assert_eq!(
        count(w.viewer.clone(), w.org.org_id, w.activation.id).await,
        3
    );
    assert_eq!(count(w.viewer.clone(), w.org.org_id, w.org.id).await, 0);
    assert_eq!(count(w.stranger.clone(), w.org.org_id, w.org.id).await, 0);
}
