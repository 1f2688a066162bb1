//! Accounts and credentials: signup, login, access tokens and API tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_with, uuid};

#[tokio::test]
async fn signup_makes_the_user_owner_of_a_new_organization() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Insomniac").await;
    let org = app
        .get(&format!("/v1/nodes/{}", owner.org_id), &owner.token)
        .await;
    let org = org.ok(200);
    assert_eq!(org["kind"], "organization");
    assert_eq!(org["name"], "Insomniac");
    assert_eq!(org["effective_role"], "owner");
    let me = app.get("/v1/me", &owner.token).await;
    let me = me.ok(200);
    assert_eq!(me["user"]["email"], "owner@example.com");
    assert_eq!(me["orgs"][0]["id"], owner.org_id.to_string());
    assert_eq!(me["grants"][0]["role"], "owner");
}

#[tokio::test]
async fn signup_can_be_turned_off() {
    let app = spawn_with(|c| c.public_signup = false).await;
    let body = json!({"email": "a@example.com", "password": "long enough pw",
                      "organization": {"name": "A"}});
    let r = app
        .send(Method::POST, "/v1/auth/signup", None, Some(&body), &[])
        .await;
    r.problem(403);
}

async fn login(
    app: &crate::helpers::TestApp,
    email: &str,
    password: &str,
) -> crate::helpers::Reply {
    app.send(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(&json!({"email": email, "password": password})),
        &[],
    )
    .await
}

#[tokio::test]
async fn login_issues_a_token_that_works() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let r = login(&app, "OWNER@example.com", "correct horse battery staple").await;
    let body = r.ok(200);
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().expect("token");
    let me = app.get("/v1/me", token).await;
    assert_eq!(me.ok(200)["user"]["id"], owner.user_id.to_string());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_identically() {
    let app = spawn_app().await;
    app.signup("owner@example.com", "Acme").await;
    let wrong = login(&app, "owner@example.com", "not the password").await;
    let unknown = login(&app, "nobody@example.com", "not the password").await;
    wrong.problem(401);
    unknown.problem(401);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(
        wrong.header("www-authenticate"),
        unknown.header("www-authenticate")
    );
}

#[tokio::test]
async fn login_is_rate_limited_per_email_and_per_address() {
    let app = spawn_with(|c| {
        c.login_limits.per_email_per_minute = 3;
        c.login_limits.per_address_per_minute = 6;
    })
    .await;
    for _ in 0..3 {
        login(&app, "victim@example.com", "guess")
            .await
            .problem(401);
    }
    let limited = login(&app, "Victim@example.com", "guess").await;
    limited.problem(429);
    assert!(limited.header("retry-after").is_some());
    // other emails go on, until the address's own quota is used up
    login(&app, "other@example.com", "guess").await.problem(401);
    login(&app, "third@example.com", "guess").await.problem(401);
    login(&app, "fourth@example.com", "guess")
        .await
        .problem(429);
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_401() {
    let app = spawn_app().await;
    let r = app.send(Method::GET, "/v1/me", None, None, &[]).await;
    r.problem(401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = app
        .send(
            Method::GET,
            "/v1/me",
            None,
            None,
            &[("authorization", "Basic dXNlcjpwdw==")],
        )
        .await;
    r.problem(401);
    let r = app.get("/v1/me", "garbage").await;
    r.problem(401);
}

fn claims(sub: &str, exp_offset: i64) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({"sub": sub, "role": "authenticated", "aud": "authenticated",
           "iat": now, "exp": now + exp_offset})
}

#[tokio::test]
async fn forged_none_and_expired_tokens_are_401() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let sub = owner.user_id.to_string();

    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&sub, 3600),
        &EncodingKey::from_secret(b"not-the-service-secret-but-just-as-long"),
    )
    .expect("sign");
    app.get("/v1/me", &forged).await.problem(401);

    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims(&sub, 3600).to_string())
    );
    app.get("/v1/me", &none).await.problem(401);

    let key = EncodingKey::from_secret(app.jwt_secret.expose().as_bytes());
    let expired = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims(&sub, -3600), &key)
        .expect("sign");
    app.get("/v1/me", &expired).await.problem(401);

    // the same claims, signed with the right key and not expired, work:
    // the refusals above are about the signature and the expiry alone
    let valid = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims(&sub, 3600), &key)
        .expect("sign");
    app.get("/v1/me", &valid).await.ok(200);
}

#[tokio::test]
async fn supabase_style_tokens_with_extra_claims_are_accepted() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let mut c = claims(&owner.user_id.to_string(), 3600);
    c["email"] = json!("owner@example.com");
    c["app_metadata"] = json!({"provider": "email"});
    c["session_id"] = json!("b2f7");
    let key = EncodingKey::from_secret(app.jwt_secret.expose().as_bytes());
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &c, &key).expect("sign");
    app.get("/v1/me", &token).await.ok(200);
}

#[tokio::test]
async fn api_tokens_work_until_revoked() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let created = app
        .post("/v1/auth/tokens", &owner.token, &json!({"name": "ci"}))
        .await;
    let created = created.ok(201).clone();
    let secret = created["secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    let me = app.get("/v1/me", &secret).await;
    assert_eq!(me.ok(200)["user"]["id"], owner.user_id.to_string());

    let token_id = created["id"].as_str().expect("id");
    app.delete(&format!("/v1/auth/tokens/{token_id}"), &owner.token, None)
        .await
        .ok(204);
    app.get("/v1/me", &secret).await.problem(401);
    // revoking again, or someone else's token: 404
    app.delete(&format!("/v1/auth/tokens/{token_id}"), &owner.token, None)
        .await
        .problem(404);
}

#[tokio::test]
async fn using_an_api_token_stamps_its_last_use() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let created = app
        .post("/v1/auth/tokens", &owner.token, &json!({"name": "ci"}))
        .await;
    let created = created.ok(201).clone();
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let token_id = uuid(&created["id"]);
    let admin = app._db.as_ref().expect("test database").client().await;
    let last_used = async || -> Option<time::OffsetDateTime> {
        admin
            .query_one(
                "select last_used_at from private.api_tokens where id = $1",
                &[&token_id],
            )
            .await
            .expect("token row")
            .get(0)
    };
    assert_eq!(last_used().await, None, "not used yet");
    // a refused secret for the same id stamps nothing
    let forged = format!("st_{}_{}", token_id.simple(), "x".repeat(43));
    app.get("/v1/me", &forged).await.problem(401);
    assert_eq!(last_used().await, None);
    app.get("/v1/me", &secret).await.ok(200);
    let first = last_used().await.expect("stamped on use");
    // within the minute another use writes nothing
    app.get("/v1/me", &secret).await.ok(200);
    assert_eq!(last_used().await, Some(first));
}

#[tokio::test]
async fn an_expired_api_token_is_401() {
    let app = spawn_app().await;
    let owner = app.signup("owner@example.com", "Acme").await;
    let past = json!({"name": "old", "expires_at": "2001-01-01T00:00:00Z"});
    app.post("/v1/auth/tokens", &owner.token, &past)
        .await
        .problem(422);
    // a token that has expired since: made to expire a moment from now
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(3))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let created = app
        .post(
            "/v1/auth/tokens",
            &owner.token,
            &json!({"name": "brief", "expires_at": soon}),
        )
        .await;
    let secret = created.ok(201)["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    // wait until it is past its expiry: a fact, not a timing assertion
    while time::OffsetDateTime::now_utc()
        <= time::OffsetDateTime::parse(&soon, &time::format_description::well_known::Rfc3339)
            .expect("parse")
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.get("/v1/me", &secret).await.problem(401);
}
