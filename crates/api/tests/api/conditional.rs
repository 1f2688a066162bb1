//! Conditional GET: `If-None-Match` on every read that sends an ETag.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, id, spawn_app};

async fn get_if_none_match(app: &TestApp, path: &str, token: &str, tags: &str) -> Reply {
    app.send(
        Method::GET,
        path,
        Some(token),
        None,
        &[("if-none-match", tags)],
    )
    .await
}

/// Asserts a 304 carrying `etag` and nothing else of the representation.
#[track_caller]
fn assert_not_modified(r: &Reply, etag: &str) {
    assert_eq!(r.status.as_u16(), 304, "body: {}", r.body);
    assert_eq!(r.header("etag"), Some(etag));
    assert_eq!(r.body, Value::Null);
    assert_eq!(r.header("content-type"), None);
}

fn etag(r: &Reply) -> String {
    r.header("etag").expect("an ETag").to_owned()
}

#[tokio::test]
async fn a_node_read_with_its_current_etag_is_not_modified_until_it_changes() {
    let app = spawn_app().await;
    let owner = app.signup("owner@conditional.test", "Conditional").await;
    let (t, path) = (&owner.token, format!("/v1/nodes/{}", owner.org_id));
    let first = app.get(&path, t).await;
    first.ok(200);
    let current = etag(&first);

    for tags in [
        current.clone(),
        format!("W/{current}"),
        format!("\"stale\", {current}"),
        "*".to_owned(),
    ] {
        let r = get_if_none_match(&app, &path, t, &tags).await;
        assert_not_modified(&r, &current);
    }
    let other = get_if_none_match(&app, &path, t, "\"stale\", W/\"older\"").await;
    assert_eq!(other.ok(200)["name"], "Conditional");
    assert_eq!(etag(&other), current);
    let malformed = get_if_none_match(&app, &path, t, "not-a-tag").await;
    malformed.ok(200);

    app.patch(&path, t, &current, &json!({"name": "Renamed"}))
        .await
        .ok(200);
    let after = get_if_none_match(&app, &path, t, &current).await;
    assert_eq!(after.ok(200)["name"], "Renamed");
    let renamed = etag(&after);
    assert_ne!(renamed, current);
    assert_not_modified(&get_if_none_match(&app, &path, t, &renamed).await, &renamed);
}

#[tokio::test]
async fn if_none_match_never_hides_an_error() {
    let app = spawn_app().await;
    let owner = app.signup("owner@conditional.test", "Conditional").await;
    let missing = format!("/v1/nodes/{}", uuid::Uuid::now_v7());
    get_if_none_match(&app, &missing, &owner.token, "*")
        .await
        .problem(404);
    let r = app
        .send(
            Method::GET,
            &format!("/v1/nodes/{}", owner.org_id),
            None,
            None,
            &[("if-none-match", "*")],
        )
        .await;
    r.problem(401);
}

#[tokio::test]
async fn rows_and_rollups_answer_304_for_their_current_etag() {
    let app = spawn_app().await;
    let owner = app.signup("owner@conditional.test", "Conditional").await;
    let t = &owner.token;
    let org = owner.org_id;
    let project = id(&app.create_node(t, org, "project", "Tour", json!({})).await);

    let rollup_path = format!("/v1/nodes/{project}/rollup");
    let rollup = app.get(&rollup_path, t).await;
    rollup.ok(200);
    let figures = etag(&rollup);
    assert_not_modified(
        &get_if_none_match(&app, &rollup_path, t, &figures).await,
        &figures,
    );

    let task = app
        .post(
            &format!("/v1/nodes/{project}/tasks"),
            t,
            &json!({"title": "Book the pyro crew"}),
        )
        .await
        .ok(201)
        .clone();
    let task_path = format!("/v1/tasks/{}", id(&task));
    let read = app.get(&task_path, t).await;
    read.ok(200);
    let version = etag(&read);
    assert_not_modified(
        &get_if_none_match(&app, &task_path, t, &version).await,
        &version,
    );
    app.patch(&task_path, t, &version, &json!({"title": "Book the crew"}))
        .await
        .ok(200);
    let changed = get_if_none_match(&app, &task_path, t, &version).await;
    assert_eq!(changed.ok(200)["title"], "Book the crew");

    // the new task is in the project's figures
    let counted = get_if_none_match(&app, &rollup_path, t, &figures).await;
    counted.ok(200);
    assert_ne!(etag(&counted), figures);
}

/// Every `Vary` line's names, lowercased.
fn varies(r: &Reply) -> Vec<String> {
    r.headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect()
}

#[tokio::test]
async fn caller_dependent_reads_are_private_and_credentials_are_never_stored() {
    let app = spawn_app().await;
    let owner = app.signup("owner@cache.test", "Cache").await;
    let path = format!("/v1/nodes/{}", owner.org_id);

    // a shared cache must not hand one caller's view to another
    let read = app.get(&path, &owner.token).await;
    read.ok(200);
    assert_eq!(read.header("cache-control"), Some("private, no-cache"));
    assert!(varies(&read).contains(&"authorization".to_owned()));
    let not_modified = get_if_none_match(&app, &path, &owner.token, &etag(&read)).await;
    assert_eq!(not_modified.status.as_u16(), 304);
    assert_eq!(
        not_modified.header("cache-control"),
        Some("private, no-cache")
    );
    assert!(varies(&not_modified).contains(&"authorization".to_owned()));

    // errors are caller-dependent too (404 for what the caller cannot read)
    let missing = app
        .get(&format!("/v1/nodes/{}", uuid::Uuid::now_v7()), &owner.token)
        .await;
    missing.problem(404);
    assert_eq!(missing.header("cache-control"), Some("private, no-cache"));

    let login = app
        .send(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(&json!({"email": "owner@cache.test", "password": "correct horse battery staple"})),
            &[],
        )
        .await;
    login.ok(200);
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let token = app
        .post("/v1/auth/tokens", &owner.token, &json!({"name": "ci"}))
        .await;
    token.ok(201);
    assert_eq!(token.header("cache-control"), Some("no-store"));
}
