//! Idempotency-Key: a retried POST returns the first response and never
//! creates twice; the same key for another request is refused.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_same_key_and_body_replay_the_first_response() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let body = json!({"parent_id": owner.org_id, "kind": "project", "name": "Festivals"});
    let key = [("idempotency-key", "create-festivals-1")];
    let first = app
        .send(
            Method::POST,
            "/v1/nodes",
            Some(&owner.token),
            Some(&body),
            &key,
        )
        .await;
    let created = first.ok(201).clone();
    assert_eq!(first.header("idempotent-replayed"), None);

    let again = app
        .send(
            Method::POST,
            "/v1/nodes",
            Some(&owner.token),
            Some(&body),
            &key,
        )
        .await;
    assert_eq!(again.ok(201), &created);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("location"), first.header("location"));

    let children = app
        .get(
            &format!("/v1/nodes/{}/children", owner.org_id),
            &owner.token,
        )
        .await;
    assert_eq!(
        children.ok(200)["items"].as_array().expect("items").len(),
        1
    );

    // without a key, the same body is a new request (here: a slug conflict)
    let r = app.post("/v1/nodes", &owner.token, &body).await;
    r.problem(409);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let key = [("idempotency-key", "k-1")];
    let body = json!({"parent_id": owner.org_id, "kind": "project", "name": "One"});
    app.send(
        Method::POST,
        "/v1/nodes",
        Some(&owner.token),
        Some(&body),
        &key,
    )
    .await
    .ok(201);
    let other = json!({"parent_id": owner.org_id, "kind": "project", "name": "Two"});
    let r = app
        .send(
            Method::POST,
            "/v1/nodes",
            Some(&owner.token),
            Some(&other),
            &key,
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["Idempotency-Key"]);
    // and on another route
    let r = app
        .send(
            Method::POST,
            "/v1/auth/tokens",
            Some(&owner.token),
            Some(&json!({"name": "x"})),
            &key,
        )
        .await;
    r.problem(422);
}

#[tokio::test]
async fn keys_belong_to_their_user() {
    let app = spawn_app().await;
    let a = app.signup("a@example.com", "A").await;
    let b = app.signup("b@example.com", "B").await;
    let key = [("idempotency-key", "shared-key")];
    let for_a = json!({"parent_id": a.org_id, "kind": "project", "name": "P"});
    let for_b = json!({"parent_id": b.org_id, "kind": "project", "name": "P"});
    let ra = app
        .send(
            Method::POST,
            "/v1/nodes",
            Some(&a.token),
            Some(&for_a),
            &key,
        )
        .await;
    let rb = app
        .send(
            Method::POST,
            "/v1/nodes",
            Some(&b.token),
            Some(&for_b),
            &key,
        )
        .await;
    assert_ne!(ra.ok(201)["id"], rb.ok(201)["id"]);
}

#[tokio::test]
async fn a_failed_request_does_not_use_up_its_key() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let key = [("idempotency-key", "retry-me")];
    let bad = json!({"parent_id": owner.org_id, "kind": "activation", "name": "Too early"});
    app.send(
        Method::POST,
        "/v1/nodes",
        Some(&owner.token),
        Some(&bad),
        &key,
    )
    .await
    .problem(422);
    let good = json!({"parent_id": owner.org_id, "kind": "project", "name": "Fine"});
    app.send(
        Method::POST,
        "/v1/nodes",
        Some(&owner.token),
        Some(&good),
        &key,
    )
    .await
    .ok(201);
}

#[tokio::test]
async fn a_replayed_token_creation_never_shows_the_secret_again() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let key = [("idempotency-key", "token-1")];
    let body = json!({"name": "deploy"});
    let first = app
        .send(
            Method::POST,
            "/v1/auth/tokens",
            Some(&owner.token),
            Some(&body),
            &key,
        )
        .await;
    let first = first.ok(201).clone();
    assert!(first["secret"].is_string());
    let again = app
        .send(
            Method::POST,
            "/v1/auth/tokens",
            Some(&owner.token),
            Some(&body),
            &key,
        )
        .await;
    let again = again.ok(201);
    assert_eq!(again["id"], first["id"]);
    assert!(again.get("secret").is_none(), "{again}");
}

#[tokio::test]
async fn malformed_keys_are_400() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let body = json!({"parent_id": owner.org_id, "kind": "project", "name": "P"});
    let long = "k".repeat(256);
    let r = app
        .send(
            Method::POST,
            "/v1/nodes",
            Some(&owner.token),
            Some(&body),
            &[("idempotency-key", &long)],
        )
        .await;
    r.problem(400);
    assert_eq!(r.error_fields(), ["Idempotency-Key"]);
}
