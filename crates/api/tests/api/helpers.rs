//! Starting the service for a test and talking to it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use showtree_api::config::{APP_ROLE, url_with_user};
use showtree_api::{App, Config, Secret};
use showtree_db::testing::{TestDb, migrated_db};
use uuid::Uuid;

/// A running service and its database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The service's JWT secret (to forge and expire tokens with).
    pub jwt_secret: Secret,
    /// Held for the test: dropping it drops the database.
    pub _db: Option<TestDb>,
    pub _stop: tokio::sync::oneshot::Sender<()>,
}

/// A signed-up user.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub token: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the response is problem+json with `status`, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status, "body: {}", self.body);
        &self.body
    }

    /// The field names of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts a success status and returns the body.
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        &self.body
    }
}

/// A service on a fresh migrated database.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// The same, with the configuration adjusted by `tweak`.
pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let db = migrated_db().await;
    let (base, jwt_secret, stop) = serve(url_with_user(db.url(), APP_ROLE), tweak).await;
    TestApp {
        base,
        client: client(),
        jwt_secret,
        _db: Some(db),
        _stop: stop,
    }
}

/// An HTTP client that never follows redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// Starts the service against `app_url` on port 0; it stops when the
/// returned sender is dropped.
pub async fn serve(
    app_url: String,
    tweak: impl FnOnce(&mut Config),
) -> (String, Secret, tokio::sync::oneshot::Sender<()>) {
    let secret = Secret::generate();
    let mut config = Config::new(app_url, secret.clone());
    config.bind = "127.0.0.1:0".parse().expect("address");
    tweak(&mut config);
    let app = App::build(config).await.expect("the service starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (base, secret, stop)
}

impl TestApp {
    /// Sends a request with an optional bearer token, JSON body and extra
    /// headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(body), &[])
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, etag: &str, body: &Value) -> Reply {
        self.send(
            Method::PATCH,
            path,
            Some(token),
            Some(body),
            &[("if-match", etag)],
        )
        .await
    }

    pub async fn delete(&self, path: &str, token: &str, etag: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = etag.map(|e| ("if-match", e)).into_iter().collect();
        self.send(Method::DELETE, path, Some(token), None, &headers)
            .await
    }

    /// Signs up `email` with a new organization named `org`.
    pub async fn signup(&self, email: &str, org: &str) -> Account {
        let reply = self
            .send(
                Method::POST,
                "/v1/auth/signup",
                None,
                Some(&json!({
                    "email": email,
                    "password": "correct horse battery staple",
                    "display_name": email.split('@').next(),
                    "organization": {"name": org},
                })),
                &[],
            )
            .await;
        let body = reply.ok(201);
        Account {
            user_id: uuid(&body["user_id"]),
            org_id: uuid(&body["org_id"]),
            token: body["access_token"].as_str().expect("token").to_owned(),
        }
    }

    /// Creates a node and returns it.
    pub async fn create_node(
        &self,
        token: &str,
        parent: Uuid,
        kind: &str,
        name: &str,
        extra: Value,
    ) -> Value {
        let mut body = json!({"parent_id": parent, "kind": kind, "name": name});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.post("/v1/nodes", token, &body).await.ok(201).clone()
    }

    /// Grants `role` on `node` to `user`, as `token`.
    pub async fn grant(&self, token: &str, node: Uuid, user: Uuid, role: &str) -> Value {
        self.post(
            &format!("/v1/nodes/{node}/grants"),
            token,
            &json!({"user_id": user, "role": role}),
        )
        .await
        .ok(201)
        .clone()
    }
}

/// Reads a response: JSON bodies parsed, empty ones as null.
pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// A UUID from a JSON string.
#[track_caller]
pub fn uuid(v: &Value) -> Uuid {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a uuid: {v}"))
}

/// The id of a node in a response.
#[track_caller]
pub fn id(node: &Value) -> Uuid {
    uuid(&node["id"])
}
