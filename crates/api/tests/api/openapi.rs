//! The OpenAPI document: served as generated, committed, and every route
//! it names exists.

use reqwest::Method;

use crate::helpers::spawn_app;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

/// The generated document must equal the committed copy, so a change to
/// the API shows up in review. `UPDATE_OPENAPI=1 cargo test -p
/// showtree-api openapi` rewrites the copy.
#[test]
fn the_document_matches_the_committed_copy() {
    let generated = showtree_api::openapi::document()
        .to_pretty_json()
        .expect("serializes")
        + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).expect("writing openapi.json");
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "crates/api/openapi.json is out of date: run UPDATE_OPENAPI=1 cargo test -p showtree-api openapi \
         and commit the result"
    );
}

#[tokio::test]
async fn the_served_document_is_the_generated_one_and_every_route_in_it_exists() {
    let app = spawn_app().await;
    let served = app
        .send(Method::GET, "/openapi.json", None, None, &[])
        .await;
    let served = served.ok(200).clone();
    let generated = serde_json::to_value(showtree_api::openapi::document()).expect("serializes");
    assert_eq!(served, generated);
    assert_eq!(served["openapi"], "3.1.0");

    let paths = served["paths"].as_object().expect("paths");
    assert!(paths.len() >= 14, "{:?}", paths.keys());
    let nil = uuid::Uuid::nil().to_string();
    for (path, item) in paths {
        let concrete = path.replace("{id}", &nil);
        for (method, op) in item.as_object().expect("operations") {
            let method: Method = method.to_uppercase().parse().expect("method");
            let secured = op.get("security").is_some();
            let r = app.send(method.clone(), &concrete, None, None, &[]).await;
            // without credentials a documented secured route says 401; the
            // router's own 404/405 would mean the route is missing
            if secured {
                r.problem(401);
            } else {
                assert!(
                    r.status != 404 && r.status != 405,
                    "{method} {path} is documented but not routed: {}",
                    r.status
                );
            }
        }
    }
}
