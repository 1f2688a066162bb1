//! Every bad input of the API issue's point 4 gets its own problem+json,
//! and never a 500.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, spawn_app, spawn_with};

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let r = app
        .client
        .post(format!("{}/v1/nodes", app.base))
        .bearer_auth(&owner.token)
        .header("content-type", "application/json")
        .body(r#"{"parent_id": "#)
        .send()
        .await
        .expect("sent");
    let r = crate::helpers::read(r).await;
    r.problem(400);
}

#[tokio::test]
async fn wrong_types_and_unknown_fields_are_422_naming_the_field() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let wrong_type = json!({"parent_id": owner.org_id, "kind": "project", "name": 42});
    let r = app.post("/v1/nodes", &owner.token, &wrong_type).await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["name"]);

    let unknown =
        json!({"parent_id": owner.org_id, "kind": "project", "name": "X", "colour": "red"});
    let r = app.post("/v1/nodes", &owner.token, &unknown).await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["colour"]);

    let missing = json!({"parent_id": owner.org_id, "name": "X"});
    let r = app.post("/v1/nodes", &owner.token, &missing).await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["kind"]);

    let bad_enum = json!({"parent_id": owner.org_id, "kind": "stage", "name": "X"});
    let r = app.post("/v1/nodes", &owner.token, &bad_enum).await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["kind"]);

    let nested = json!({
        "email": "x@example.com", "password": "long enough pw",
        "organization": {"name": ["not", "a", "string"]}
    });
    let r = app
        .send(Method::POST, "/v1/auth/signup", None, Some(&nested), &[])
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["organization.name"]);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let r = app
        .client
        .post(format!("{}/v1/nodes", app.base))
        .bearer_auth(&owner.token)
        .header("content-type", "text/plain")
        .body("parent_id=1")
        .send()
        .await
        .expect("sent");
    crate::helpers::read(r).await.problem(415);
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = spawn_with(|c| c.body_limit = 4096).await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let big = json!({"parent_id": owner.org_id, "kind": "project", "name": "x".repeat(10_000)});
    let r = app.post("/v1/nodes", &owner.token, &big).await;
    r.problem(413);
}

#[tokio::test]
async fn bad_uuids_in_paths_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    for path in [
        "/v1/nodes/not-a-uuid",
        "/v1/nodes/123/children",
        "/v1/nodes/zzz/subtree",
    ] {
        let r = app.get(path, &owner.token).await;
        r.problem(400);
        assert_eq!(r.error_fields(), ["id"], "{path}");
    }
    let r = app.delete("/v1/grants/nope", &owner.token, None).await;
    r.problem(400);
}

#[tokio::test]
async fn invalid_cursors_and_limits_out_of_range_are_400() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let org = owner.org_id;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("cursor=%%%", "cursor"),
        ("cursor=bm90IGEgY3Vyc29y", "cursor"),
    ] {
        for list in ["children", "subtree"] {
            let r = app
                .get(&format!("/v1/nodes/{org}/{list}?{query}"), &owner.token)
                .await;
            r.problem(400);
            assert_eq!(r.error_fields(), [field], "{list}?{query}");
        }
    }
    let r = app
        .get(&format!("/v1/nodes/{org}/subtree?kind=stage"), &owner.token)
        .await;
    r.problem(400);
    assert_eq!(r.error_fields(), ["kind"]);
}

#[tokio::test]
async fn constraint_violations_map_by_name_to_409_and_422_with_the_field() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let festivals = app
        .create_node(
            &owner.token,
            owner.org_id,
            "project",
            "Festivals",
            json!({}),
        )
        .await;
    // the same slug under the same parent: nodes_slug_key
    let r = app
        .post(
            "/v1/nodes",
            &owner.token,
            &json!({"parent_id": owner.org_id, "kind": "project", "name": "Festivals"}),
        )
        .await;
    r.problem(409);
    assert_eq!(r.body["rule"], "nodes_slug_key");
    assert_eq!(r.error_fields(), ["slug"]);
    // an activation straight under a project: nodes_kind_rule
    let r = app
        .post(
            "/v1/nodes",
            &owner.token,
            &json!({"parent_id": id(&festivals), "kind": "activation", "name": "EDC"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.body["rule"], "nodes_kind_rule");
    assert_eq!(r.error_fields(), ["parent_id"]);
    // a time zone the database does not know: activations_timezone_check
    let edc = app
        .create_node(&owner.token, id(&festivals), "production", "EDC", json!({}))
        .await;
    let r = app
        .post(
            "/v1/nodes",
            &owner.token,
            &json!({"parent_id": id(&edc), "kind": "activation", "name": "LV", "timezone": "Mars/Olympus"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["timezone"]);
    // level fields of another kind
    let r = app
        .post(
            "/v1/nodes",
            &owner.token,
            &json!({"parent_id": id(&edc), "kind": "activation", "name": "LV", "workspace_type": "stage"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["workspace_type"]);
    // a signup with a taken email: users_email_key
    let again = json!({"email": "OWNER@example.com", "password": "long enough pw",
                       "organization": {"name": "Other"}});
    let r = app
        .send(Method::POST, "/v1/auth/signup", None, Some(&again), &[])
        .await;
    r.problem(409);
    assert_eq!(r.error_fields(), ["email"]);
}

#[tokio::test]
async fn invalid_values_are_422_before_any_database_work() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    for (body, field) in [
        (
            json!({"parent_id": owner.org_id, "kind": "project", "name": "  "}),
            "name",
        ),
        (
            json!({"parent_id": owner.org_id, "kind": "project", "name": "A", "slug": "Not A Slug"}),
            "slug",
        ),
        (
            json!({"parent_id": owner.org_id, "kind": "project", "name": "A", "metadata": [1]}),
            "metadata",
        ),
        (
            json!({"parent_id": owner.org_id, "kind": "organization", "name": "A"}),
            "kind",
        ),
    ] {
        let r = app.post("/v1/nodes", &owner.token, &body).await;
        r.problem(422);
        assert_eq!(r.error_fields(), [field], "{body}");
    }
}
