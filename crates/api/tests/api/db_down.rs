//! PostgreSQL stopped under a running service: requests fail fast with
//! 503, /readyz says not ready, and service resumes by itself when the
//! database returns, without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use reqwest::Method;
use showtree_api::config::{APP_ROLE, url_with_user};
use showtree_db::embedded::EmbeddedPg;
use showtree_db::migrate::Migrator;

use crate::helpers::{TestApp, serve};

/// A TCP forwarder on a fixed port to wherever the cluster listens now: a
/// restarted embedded cluster picks a new port, but to the service the
/// database must come back where it was.
async fn forwarder(target: Arc<AtomicU16>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let to = target.load(Ordering::SeqCst);
            tokio::spawn(async move {
                // nothing listening: the client sees its connection closed
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    port
}

fn data_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    if nix::unistd::geteuid().is_root() {
        // the cluster runs as the postgres account, which must reach it
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    tmp
}

#[tokio::test]
async fn requests_get_503_while_the_database_is_down_and_recover_without_a_restart() {
    let tmp = data_dir();
    let mut pg = EmbeddedPg::start(&tmp.path().join("pg"))
        .await
        .expect("cluster");
    let admin = showtree_db::testing::connect(&pg.url("postgres")).await;
    admin
        .batch_execute("create database showtree")
        .await
        .expect("create database");
    let mut client = showtree_db::testing::connect(&pg.url("showtree")).await;
    Migrator::embedded().up(&mut client).await.expect("migrate");
    drop(client);
    drop(admin);

    let target = Arc::new(AtomicU16::new(pg.port()));
    let port = forwarder(Arc::clone(&target)).await;
    let app_url = url_with_user(
        &format!("postgres://postgres@127.0.0.1:{port}/showtree"),
        APP_ROLE,
    );
    let (base, jwt_secret, stop) = serve(app_url, |_| {}).await;
    let app = TestApp {
        base,
        client: crate::helpers::client(),
        jwt_secret,
        _db: None,
        _stop: stop,
    };
    let owner = app.signup("owner@example.com", "Acme").await;
    let org = format!("/v1/nodes/{}", owner.org_id);
    app.get(&org, &owner.token).await.ok(200);

    pg.stop().expect("stop the cluster");

    let r = app.get(&org, &owner.token).await;
    r.problem(503);
    assert!(
        !r.body.to_string().contains("127.0.0.1"),
        "no connection details: {}",
        r.body
    );
    app.send(Method::GET, "/readyz", None, None, &[])
        .await
        .problem(503);
    app.send(Method::GET, "/healthz", None, None, &[])
        .await
        .ok(200);
    let login = serde_json::json!({"email": "owner@example.com", "password": "correct horse battery staple"});
    app.send(Method::POST, "/v1/auth/login", None, Some(&login), &[])
        .await
        .problem(503);

    let pg = EmbeddedPg::start(&tmp.path().join("pg"))
        .await
        .expect("cluster again");
    target.store(pg.port(), Ordering::SeqCst);

    app.send(Method::GET, "/readyz", None, None, &[])
        .await
        .ok(200);
    let r = app.get(&org, &owner.token).await;
    assert_eq!(r.ok(200)["name"], "Acme");
    drop(pg);
}
