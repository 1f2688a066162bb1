//! Adversarial access over HTTP: another tenant, grants one level off,
//! restricted nodes, and grants above one's own role.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, spawn_app, uuid};
use crate::nodes::build_insomniac;

#[tokio::test]
async fn a_second_tenant_cannot_reach_the_first_by_id_in_paths_or_bodies() {
    let app = spawn_app().await;
    let tree = build_insomniac(&app).await;
    let rival = app.signup("rival@example.com", "Rival Events").await;
    let r_project = id(&app
        .create_node(&rival.token, rival.org_id, "project", "Mine", json!({}))
        .await);
    let etag = app
        .get(&format!("/v1/nodes/{}", tree.edc), &tree.owner.token)
        .await
        .header("etag")
        .expect("etag")
        .to_owned();
    let grant = app
        .get(
            &format!("/v1/nodes/{}/grants", tree.owner.org_id),
            &tree.owner.token,
        )
        .await;
    let grant_id = grant.ok(200)["items"][0]["id"]
        .as_str()
        .expect("grant")
        .to_owned();
    let t = Some(rival.token.as_str());
    let n = tree.edc;

    for (method, path, body) in [
        (Method::GET, format!("/v1/nodes/{n}"), None),
        (Method::GET, format!("/v1/nodes/{n}/children"), None),
        (Method::GET, format!("/v1/nodes/{n}/ancestors"), None),
        (Method::GET, format!("/v1/nodes/{n}/subtree"), None),
        (Method::GET, format!("/v1/nodes/{n}/grants"), None),
        (Method::GET, format!("/v1/nodes/{n}/access"), None),
        (
            Method::GET,
            format!("/v1/nodes/{n}/access?user_id={}", tree.owner.user_id),
            None,
        ),
        (
            Method::POST,
            format!("/v1/nodes/{n}/grants"),
            Some(json!({"user_id": rival.user_id, "role": "owner"})),
        ),
        (Method::POST, format!("/v1/nodes/{n}/restore"), None),
        (
            Method::POST,
            format!("/v1/nodes/{n}/move"),
            Some(json!({"parent_id": r_project})),
        ),
        (
            Method::PATCH,
            format!("/v1/nodes/{n}"),
            Some(json!({"name": "Owned"})),
        ),
        (Method::DELETE, format!("/v1/nodes/{n}"), None),
        (Method::DELETE, format!("/v1/grants/{grant_id}"), None),
    ] {
        let headers = [("if-match", etag.as_str())];
        let r = app
            .send(method.clone(), &path, t, body.as_ref(), &headers)
            .await;
        r.problem(404);
    }

    // ids of the first tenant in bodies: as if they did not exist
    let r = app
        .post(
            "/v1/nodes",
            &rival.token,
            &json!({"parent_id": tree.edc, "kind": "activation", "name": "Squat"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["parent_id"]);
    let r = app
        .post(
            &format!("/v1/nodes/{r_project}/move"),
            &rival.token,
            &json!({"parent_id": tree.owner.org_id}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["parent_id"]);
    // granting oneself into the other tenant through one's own node is
    // impossible too: a grant is on a node, and the node decides the tenant
    let r = app
        .post(
            &format!("/v1/nodes/{r_project}/grants"),
            &rival.token,
            &json!({"user_id": tree.owner.user_id, "role": "viewer"}),
        )
        .await;
    assert_eq!(uuid(&r.ok(201)["org_id"]), rival.org_id);

    // nothing of the first tenant changed
    let edc = app
        .get(&format!("/v1/nodes/{}", tree.edc), &tree.owner.token)
        .await;
    assert_eq!(edc.ok(200)["name"], "EDC");
    assert_eq!(edc.header("etag"), Some(etag.as_str()));

    // the refused reads and changes are on record as the rival's, without
    // naming the tenant they were aimed at
    let admin = app._db.as_ref().expect("test database").client().await;
    let refused: Vec<String> = admin
        .query(
            "select distinct action from private.security_events \
              where created_by = $1 and reason = 'not found or not readable' order by action",
            &[&rival.user_id],
        )
        .await
        .expect("security events")
        .iter()
        .map(|r| r.get(0))
        .collect();
    for action in [
        "access.explain",
        "grant.create",
        "grant.list",
        "grant.revoke",
        "node.ancestors",
        "node.children",
        "node.delete",
        "node.move",
        "node.read",
        "node.restore",
        "node.subtree",
        "node.update",
    ] {
        assert!(
            refused.iter().any(|a| a == action),
            "{action} not recorded: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_grant_at_an_activation_reaches_neither_its_production_nor_its_sibling() {
    let app = spawn_app().await;
    let tree = build_insomniac(&app).await;
    let crew = app.signup("crew@example.com", "Crew Co").await;
    app.grant(&tree.owner.token, tree.edc_lv, crew.user_id, "editor")
        .await;
    let t = &crew.token;

    let own = app.get(&format!("/v1/nodes/{}", tree.edc_lv), t).await;
    assert_eq!(own.ok(200)["effective_role"], "editor");
    app.get(&format!("/v1/nodes/{}", tree.kinetic), t)
        .await
        .ok(200);
    app.get(&format!("/v1/nodes/{}", tree.edc), t)
        .await
        .problem(404);
    app.get(&format!("/v1/nodes/{}", tree.edc_orlando), t)
        .await
        .problem(404);
    app.get(&format!("/v1/nodes/{}/children", tree.edc), t)
        .await
        .problem(404);
    // an editor reads and writes work, but does not manage nodes: 403
    let r = app
        .post(
            "/v1/nodes",
            t,
            &json!({"parent_id": tree.edc_lv, "kind": "workspace", "name": "Mine"}),
        )
        .await;
    r.problem(403);
    let r = app
        .post(
            &format!("/v1/nodes/{}/grants", tree.edc_lv),
            t,
            &json!({"user_id": crew.user_id, "role": "viewer"}),
        )
        .await;
    r.problem(403);
    // ancestors shows only what the editor may read
    let crumbs = app
        .get(&format!("/v1/nodes/{}/ancestors", tree.site_ops), t)
        .await;
    let crumbs: Vec<_> = crumbs.ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id)
        .collect();
    assert_eq!(crumbs, [tree.edc_lv, tree.kinetic]);
    // /v1/me lists the grant
    let me = app.get("/v1/me", t).await;
    let grants = me.ok(200)["grants"].as_array().expect("grants").clone();
    assert!(
        grants
            .iter()
            .any(|g| uuid(&g["node_id"]) == tree.edc_lv && g["role"] == "editor")
    );
}

#[tokio::test]
async fn a_restricted_workspace_is_hidden_from_grants_above_it_but_not_from_the_owner() {
    let app = spawn_app().await;
    let tree = build_insomniac(&app).await;
    let owner = &tree.owner.token;
    let manager = app.signup("manager@example.com", "Mgr").await;
    app.grant(owner, tree.edc_lv, manager.user_id, "manager")
        .await;
    let vip = app
        .create_node(
            owner,
            tree.edc_lv,
            "workspace",
            "VIP Backstage",
            json!({"restricted": true}),
        )
        .await;
    let vip = id(&vip);

    app.get(&format!("/v1/nodes/{vip}"), &manager.token)
        .await
        .problem(404);
    let children = app
        .get(
            &format!("/v1/nodes/{}/children", tree.edc_lv),
            &manager.token,
        )
        .await;
    let ids: Vec<_> = children.ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id)
        .collect();
    assert!(!ids.contains(&vip));
    let subtree = app
        .get(
            &format!("/v1/nodes/{}/subtree", tree.edc_lv),
            &manager.token,
        )
        .await;
    let ids: Vec<_> = subtree.ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id)
        .collect();
    assert!(!ids.contains(&vip));
    // the owner passes through
    app.get(&format!("/v1/nodes/{vip}"), owner).await.ok(200);

    // explained: the manager's grant is cut off by the restricted node
    let why = app
        .get(
            &format!("/v1/nodes/{vip}/access?user_id={}", manager.user_id),
            owner,
        )
        .await;
    let why = why.ok(200);
    assert!(why["effective_role"].is_null(), "{why}");
    assert_eq!(why["grants"][0]["applies"], false);
    assert_eq!(uuid(&why["grants"][0]["blocked_by"]), vip);
    // a grant on the restricted node itself lets the manager in
    app.grant(owner, vip, manager.user_id, "viewer").await;
    let r = app.get(&format!("/v1/nodes/{vip}"), &manager.token).await;
    assert_eq!(r.ok(200)["effective_role"], "viewer");
}

#[tokio::test]
async fn a_manager_grants_up_to_manager_and_never_admin() {
    let app = spawn_app().await;
    let tree = build_insomniac(&app).await;
    let manager = app.signup("manager@example.com", "Mgr").await;
    let helper = app.signup("helper@example.com", "Helper").await;
    app.grant(&tree.owner.token, tree.edc, manager.user_id, "manager")
        .await;
    let path = format!("/v1/nodes/{}/grants", tree.edc_lv);
    for role in ["admin", "owner"] {
        let r = app
            .post(
                &path,
                &manager.token,
                &json!({"user_id": helper.user_id, "role": role}),
            )
            .await;
        r.problem(403);
    }
    let granted = app
        .post(
            &path,
            &manager.token,
            &json!({"email": "HELPER@example.com", "role": "manager"}),
        )
        .await;
    assert_eq!(uuid(&granted.ok(201)["user_id"]), helper.user_id);
    // the grant shows in the list and explains the helper's role
    let list = app.get(&path, &manager.token).await;
    assert_eq!(list.ok(200)["items"].as_array().expect("items").len(), 1);
    let why = app
        .get(
            &format!(
                "/v1/nodes/{}/access?user_id={}",
                tree.kinetic, helper.user_id
            ),
            &manager.token,
        )
        .await;
    assert_eq!(why.ok(200)["effective_role"], "manager");
    // and revoking it takes the access away
    let grant_id = granted.body["id"].as_str().expect("id").to_owned();
    app.delete(&format!("/v1/grants/{grant_id}"), &manager.token, None)
        .await
        .ok(204);
    app.get(&format!("/v1/nodes/{}", tree.edc_lv), &helper.token)
        .await
        .problem(404);
}

#[tokio::test]
async fn the_last_owner_cannot_be_revoked() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let grants = app
        .get(&format!("/v1/nodes/{}/grants", owner.org_id), &owner.token)
        .await;
    let grant_id = grants.ok(200)["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = app
        .delete(&format!("/v1/grants/{grant_id}"), &owner.token, None)
        .await;
    r.problem(409);
}

#[tokio::test]
async fn only_an_owner_deletes_an_organization() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let admin = app.signup("admin@example.com", "Admin's own").await;
    app.grant(&owner.token, owner.org_id, admin.user_id, "admin")
        .await;
    let path = format!("/v1/nodes/{}", owner.org_id);
    let etag = app
        .get(&path, &admin.token)
        .await
        .header("etag")
        .expect("etag")
        .to_owned();
    app.delete(&path, &admin.token, Some(&etag))
        .await
        .problem(403);
}
