use reqwest::Method;

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_while_the_process_is_up() {
    let app = spawn_app().await;
    let r = app.send(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!(r.ok(200)["status"], "ok");
}

#[tokio::test]
async fn readyz_is_ready_on_a_migrated_database() {
    let app = spawn_app().await;
    let r = app.send(Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!(r.ok(200)["status"], "ready");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_clients() {
    let app = spawn_app().await;
    let r = app.send(Method::GET, "/healthz", None, None, &[]).await;
    let id = r.header("x-request-id").expect("request id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let r = app
        .send(
            Method::GET,
            "/v1/nodes/nope",
            None,
            None,
            &[("x-request-id", "client-42")],
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("client-42"));
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problem_json() {
    let app = spawn_app().await;
    let r = app
        .send(Method::GET, "/v1/nothing-here", None, None, &[])
        .await;
    r.problem(404);
    let r = app.send(Method::PUT, "/healthz", None, None, &[]).await;
    r.problem(405);
    assert!(r.header("allow").is_some_and(|a| a.contains("GET")));
}

#[tokio::test]
async fn a_request_that_outlives_the_timeout_gets_503() {
    // Nothing that waits on the database finishes within a nanosecond.
    let app = crate::helpers::spawn_with(|c| {
        c.request_timeout = std::time::Duration::from_nanos(1);
    })
    .await;
    let key = jsonwebtoken::EncodingKey::from_secret(app.jwt_secret.expose().as_bytes());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = serde_json::json!({"sub": uuid::Uuid::now_v7(), "role": "authenticated",
                                    "aud": "authenticated", "exp": now + 60});
    let token =
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("sign");
    let r = app.get("/v1/me", &token).await;
    assert_eq!(r.problem(503)["type"], "urn:showtree:problem:timeout");
}
