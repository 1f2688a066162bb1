//! The hierarchy over HTTP: the Insomniac example tree built through the
//! API alone, navigation, updates with ETags, delete, restore and move.

use std::collections::HashSet;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Account, TestApp, id, spawn_app, uuid};

/// The example tree of DESIGN.md, through the API: returns the ids by name.
pub struct Insomniac {
    pub owner: Account,
    pub festivals: Uuid,
    pub edc: Uuid,
    pub edc_lv: Uuid,
    pub edc_orlando: Uuid,
    pub kinetic: Uuid,
    pub site_ops: Uuid,
    pub beyond: Uuid,
}

pub async fn build_insomniac(app: &TestApp) -> Insomniac {
    let owner = app.signup("pasquale@insomniac.example", "Insomniac").await;
    let t = &owner.token;
    let festivals = id(&app
        .create_node(
            t,
            owner.org_id,
            "project",
            "Festivals",
            json!({"description": "Every festival"}),
        )
        .await);
    let edc = id(&app
        .create_node(
            t,
            festivals,
            "production",
            "EDC",
            json!({"description": "Electric Daisy Carnival"}),
        )
        .await);
    let lv = app
        .create_node(
            t,
            edc,
            "activation",
            "EDC Las Vegas 2025",
            json!({
                "starts_at": "2025-05-16T19:00:00-07:00",
                "ends_at": "2025-05-19T05:30:00-07:00",
                "timezone": "America/Los_Angeles",
                "venue": "Las Vegas Motor Speedway",
                "capacity": 185000,
            }),
        )
        .await;
    assert_eq!(lv["venue"], "Las Vegas Motor Speedway");
    assert_eq!(lv["capacity"], 185000);
    assert_eq!(lv["starts_at"], "2025-05-17T02:00:00Z");
    let edc_lv = id(&lv);
    let kinetic = app
        .create_node(
            t,
            edc_lv,
            "workspace",
            "Kinetic Field",
            json!({"workspace_type": "stage"}),
        )
        .await;
    assert_eq!(kinetic["workspace_type"], "stage");
    let kinetic = id(&kinetic);
    let site_ops = id(&app
        .create_node(
            t,
            kinetic,
            "workspace",
            "Site Operations",
            json!({"workspace_type": "department"}),
        )
        .await);
    app.create_node(
        t,
        kinetic,
        "workspace",
        "Production Office",
        json!({"workspace_type": "department"}),
    )
    .await;
    let circuit = id(&app
        .create_node(
            t,
            edc_lv,
            "workspace",
            "Circuit Grounds",
            json!({"workspace_type": "stage"}),
        )
        .await);
    app.create_node(
        t,
        circuit,
        "workspace",
        "Site Operations",
        json!({"workspace_type": "department"}),
    )
    .await;
    app.create_node(
        t,
        edc_lv,
        "workspace",
        "cosmicMEADOW",
        json!({"workspace_type": "stage"}),
    )
    .await;
    let edc_orlando = id(&app
        .create_node(
            t,
            edc,
            "activation",
            "EDC Orlando 2025",
            json!({"timezone": "America/New_York", "venue": "Tinker Field", "capacity": 60000}),
        )
        .await);
    app.create_node(
        t,
        edc_orlando,
        "workspace",
        "Kinetic Field",
        json!({"workspace_type": "stage"}),
    )
    .await;
    let beyond = id(&app
        .create_node(t, festivals, "production", "Beyond Wonderland", json!({}))
        .await);
    let bw = id(&app
        .create_node(
            t,
            beyond,
            "activation",
            "Beyond Wonderland SoCal 2025",
            json!({}),
        )
        .await);
    app.create_node(
        t,
        bw,
        "workspace",
        "Queen's Domain",
        json!({"workspace_type": "stage"}),
    )
    .await;
    let clubs = id(&app
        .create_node(t, owner.org_id, "project", "Club Nights", json!({}))
        .await);
    let factory = id(&app
        .create_node(t, clubs, "production", "Factory 93", json!({}))
        .await);
    app.create_node(t, factory, "activation", "Factory 93 Halloween", json!({}))
        .await;
    Insomniac {
        owner,
        festivals,
        edc,
        edc_lv,
        edc_orlando,
        kinetic,
        site_ops,
        beyond,
    }
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| n["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn the_insomniac_tree_is_built_and_navigated_through_the_api_alone() {
    let app = spawn_app().await;
    let tree = build_insomniac(&app).await;
    let t = &tree.owner.token;

    let children = app
        .get(&format!("/v1/nodes/{}/children", tree.edc_lv), t)
        .await;
    // (the order is the database collation's; compared as a set)
    let mut children = names(children.ok(200));
    children.sort();
    assert_eq!(
        children,
        ["Circuit Grounds", "Kinetic Field", "cosmicMEADOW"]
    );

    let ancestors = app
        .get(&format!("/v1/nodes/{}/ancestors", tree.site_ops), t)
        .await;
    assert_eq!(
        names(ancestors.ok(200)),
        [
            "Insomniac",
            "Festivals",
            "EDC",
            "EDC Las Vegas 2025",
            "Kinetic Field"
        ]
    );

    let stages = app
        .get(&format!("/v1/nodes/{}/subtree?kind=workspace", tree.edc), t)
        .await;
    let stages = names(stages.ok(200));
    assert_eq!(stages.len(), 7, "{stages:?}");

    let whole = app
        .get(&format!("/v1/nodes/{}/subtree", tree.owner.org_id), t)
        .await;
    assert_eq!(whole.ok(200)["items"].as_array().expect("items").len(), 17);

    let node = app.get(&format!("/v1/nodes/{}", tree.edc_lv), t).await;
    let node = node.ok(200);
    assert_eq!(node["kind"], "activation");
    assert_eq!(node["timezone"], "America/Los_Angeles");
    assert_eq!(node["ancestors"].as_array().expect("ancestors").len(), 3);
    assert!(node.get("workspace_type").is_none());
}

#[tokio::test]
async fn pages_walk_every_node_exactly_once() {
    let app = spawn_app().await;
    let tree = build_insomniac(&app).await;
    let t = &tree.owner.token;
    for list in ["subtree", "children"] {
        let root = if list == "subtree" {
            tree.owner.org_id
        } else {
            tree.edc_lv
        };
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/nodes/{root}/{list}?limit=2");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = app.get(&path, t).await;
            let page = page.ok(200);
            let items = page["items"].as_array().expect("items");
            assert!(items.len() <= 2);
            seen.extend(items.iter().map(id));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{list}: no node twice");
        let expected = if list == "subtree" { 17 } else { 3 };
        assert_eq!(seen.len(), expected, "{list}: every node");
    }
}

#[tokio::test]
async fn updates_need_the_current_etag() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let t = &owner.token;
    let project = app
        .create_node(t, owner.org_id, "project", "Tours", json!({}))
        .await;
    let path = format!("/v1/nodes/{}", id(&project));
    let read = app.get(&path, t).await;
    let etag = read.header("etag").expect("etag").to_owned();

    // no If-Match: 428
    let r = app
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(t),
            Some(&json!({"name": "World Tours"})),
            &[],
        )
        .await;
    r.problem(428);

    let r = app
        .patch(
            &path,
            t,
            &etag,
            &json!({"name": "World Tours", "description": "Around the world",
                                        "status": "planning", "metadata": {"owner": "ops"}}),
        )
        .await;
    let updated = r.ok(200).clone();
    assert_eq!(updated["name"], "World Tours");
    assert_eq!(updated["description"], "Around the world");
    assert_eq!(updated["status"], "planning");
    assert_eq!(updated["metadata"]["owner"], "ops");
    let new_etag = r.header("etag").expect("etag").to_owned();
    assert_ne!(new_etag, etag);

    // the old version is stale: 412, and nothing changes
    let r = app
        .patch(&path, t, &etag, &json!({"name": "Lost Update"}))
        .await;
    r.problem(412);
    let now = app.get(&path, t).await;
    assert_eq!(now.ok(200)["name"], "World Tours");
    assert_eq!(now.header("etag"), Some(new_etag.as_str()));

    // a forbidden status transition is 422 on status
    let r = app
        .patch(&path, t, &new_etag, &json!({"status": "completed"}))
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["status"]);
    // a level field of another kind is 422 on that field
    let r = app
        .patch(&path, t, &new_etag, &json!({"venue": "Somewhere"}))
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["venue"]);
}

#[tokio::test]
async fn deleting_needs_if_match_and_restoring_brings_the_subtree_back() {
    let app = spawn_app().await;
    let tree = build_insomniac(&app).await;
    let t = &tree.owner.token;
    let path = format!("/v1/nodes/{}", tree.edc_lv);
    app.delete(&path, t, None).await.problem(428);
    app.delete(&path, t, Some("\"stale\"")).await.problem(412);
    let etag = app
        .get(&path, t)
        .await
        .header("etag")
        .expect("etag")
        .to_owned();
    app.delete(&path, t, Some(&etag)).await.ok(204);

    let children = app
        .get(&format!("/v1/nodes/{}/children", tree.edc), t)
        .await;
    assert_eq!(names(children.ok(200)), ["EDC Orlando 2025"]);
    let gone = app.get(&format!("/v1/nodes/{}", tree.site_ops), t).await;
    assert!(!gone.ok(200)["deleted_at"].is_null());
    // creating under a deleted node: 409 on parent_id
    let r = app
        .post(
            "/v1/nodes",
            t,
            &json!({"parent_id": tree.kinetic, "kind": "workspace", "name": "Late"}),
        )
        .await;
    r.problem(409);
    assert_eq!(r.error_fields(), ["parent_id"]);

    let restored = app.post(&format!("{path}/restore"), t, &json!(null)).await;
    assert!(restored.ok(200)["deleted_at"].is_null());
    let back = app.get(&format!("/v1/nodes/{}", tree.site_ops), t).await;
    assert!(back.ok(200)["deleted_at"].is_null());
    // restoring a live node: 409
    app.post(&format!("{path}/restore"), t, &json!(null))
        .await
        .problem(409);
}

#[tokio::test]
async fn moving_rewrites_the_subtree_and_refuses_cycles() {
    let app = spawn_app().await;
    let tree = build_insomniac(&app).await;
    let t = &tree.owner.token;
    let moved = app
        .post(
            &format!("/v1/nodes/{}/move", tree.edc_orlando),
            t,
            &json!({"parent_id": tree.beyond}),
        )
        .await;
    let moved = moved.ok(200);
    assert_eq!(uuid(&moved["parent_id"]), tree.beyond);
    let crumbs = app
        .get(&format!("/v1/nodes/{}/subtree", tree.beyond), t)
        .await;
    assert!(names(crumbs.ok(200)).contains(&"EDC Orlando 2025".to_owned()));

    // under its own descendant
    let r = app
        .post(
            &format!("/v1/nodes/{}/move", tree.edc),
            t,
            &json!({"parent_id": tree.kinetic}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["parent_id"]);
    // under a node of the wrong kind
    let r = app
        .post(
            &format!("/v1/nodes/{}/move", tree.kinetic),
            t,
            &json!({"parent_id": tree.festivals}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.body["rule"], "nodes_kind_rule");
}
