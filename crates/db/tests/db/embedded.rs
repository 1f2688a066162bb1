//! The embedded PostgreSQL launcher and database resolution, against real
//! PostgreSQL programs and servers.

use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use showtree_db::connect::{self, ConnectError};
use showtree_db::embedded::{EmbeddedError, EmbeddedPg};
use showtree_db::testing;
use tempfile::TempDir;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A temporary directory the `postgres` user can enter (PostgreSQL runs as
/// `postgres` when we are root; tempfile's mode depends on the umask), and
/// the data directory path inside it.
fn scratch() -> (TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    if is_root() {
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod tempdir");
    }
    let data_dir = tmp.path().join("pg");
    (tmp, data_dir)
}

async fn select_one(url: &str) -> i32 {
    testing::connect(url)
        .await
        .query_one("select 1", &[])
        .await
        .expect("select 1")
        .get(0)
}

fn port_answers(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

#[tokio::test]
async fn embedded_cluster_starts_in_a_fresh_dir_answers_queries_and_stops() {
    let (_tmp, data_dir) = scratch();

    let mut pg = EmbeddedPg::start(&data_dir).await.expect("start");

    assert!(pg.owns_server());
    assert!(data_dir.join("PG_VERSION").exists(), "initdb ran");
    assert_eq!(select_one(&pg.url("postgres")).await, 1);
    let port = pg.port();
    pg.stop().expect("stop");
    assert!(!port_answers(port), "port {port} still answers after stop");
    assert!(!data_dir.join("postmaster.pid").exists());
}

#[tokio::test]
async fn second_start_on_running_dir_reuses_the_cluster() {
    let (_tmp, data_dir) = scratch();
    let mut first = EmbeddedPg::start(&data_dir).await.expect("first start");

    let second = EmbeddedPg::start(&data_dir).await.expect("second start");

    assert_eq!(second.port(), first.port());
    assert!(!second.owns_server());
    drop(second);
    assert_eq!(
        select_one(&first.url("postgres")).await,
        1,
        "dropping the reusing handle leaves the server running"
    );
    first.stop().expect("stop");
}

#[tokio::test]
async fn concurrent_starts_on_a_fresh_dir_share_one_cluster() {
    let (_tmp, data_dir) = scratch();

    let (a, b) = tokio::join!(EmbeddedPg::start(&data_dir), EmbeddedPg::start(&data_dir));
    let (a, b) = (a.expect("start a"), b.expect("start b"));

    assert_eq!(a.port(), b.port());
    assert!(
        a.owns_server() != b.owns_server(),
        "exactly one of the two started the server"
    );
    assert_eq!(select_one(&a.url("postgres")).await, 1);
    let port = a.port();
    drop((a, b));
    assert!(!port_answers(port), "the owner stops the server on drop");
}

#[tokio::test]
async fn a_restarted_cluster_keeps_its_data() {
    let (_tmp, data_dir) = scratch();
    let mut pg = EmbeddedPg::start(&data_dir).await.expect("start");
    testing::connect(&pg.url("postgres"))
        .await
        .batch_execute("create table kept (x int); insert into kept values (42)")
        .await
        .expect("write");
    pg.stop().expect("stop");

    let pg = EmbeddedPg::start(&data_dir).await.expect("restart");

    assert!(pg.owns_server());
    let x: i32 = testing::connect(&pg.url("postgres"))
        .await
        .query_one("select x from kept", &[])
        .await
        .expect("read")
        .get(0);
    assert_eq!(x, 42);
}

#[tokio::test]
async fn a_directory_holding_other_files_is_refused() {
    let (_tmp, data_dir) = scratch();
    std::fs::create_dir_all(&data_dir).expect("mkdir");
    std::fs::write(data_dir.join("notes.txt"), "mine").expect("write");

    let err = EmbeddedPg::start(&data_dir).await.expect_err("must refuse");

    assert!(matches!(err, EmbeddedError::NotACluster { .. }), "{err}");
    assert!(data_dir.join("notes.txt").exists(), "nothing was touched");
}

#[tokio::test]
async fn as_root_a_directory_postgres_cannot_enter_is_named_in_the_error() {
    if !is_root() {
        return; // The check only applies when PostgreSQL runs as another user.
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700))
        .expect("close the tempdir to other users");

    let err = EmbeddedPg::start(&tmp.path().join("pg"))
        .await
        .expect_err("must refuse");

    match &err {
        EmbeddedError::NotTraversable { dir, user } => {
            assert_eq!(dir, &tmp.path().canonicalize().expect("canonical"));
            assert_eq!(user, "postgres");
        }
        other => panic!("expected NotTraversable, got {other}"),
    }
    assert!(err.to_string().contains(&tmp.path().display().to_string()));
}

#[tokio::test]
async fn resolve_with_explicit_url_creates_the_database() {
    let admin_url = testing::admin_url().await;
    let name = format!("st_resolve_{}", std::process::id());
    let url = connect::url_with_database(&admin_url, &name);
    let (_tmp, unused_data_dir) = scratch();

    let resolved = connect::resolve(Some(&url), &unused_data_dir, "ignored")
        .await
        .expect("resolve");

    assert_eq!(resolved.url, url);
    assert!(resolved.embedded.is_none());
    assert!(!unused_data_dir.exists(), "no embedded cluster was started");
    let admin = testing::connect(&admin_url).await;
    let exists: bool = admin
        .query_one(
            "select exists (select 1 from pg_database where datname = $1)",
            &[&name],
        )
        .await
        .expect("query")
        .get(0);
    assert!(exists);
    assert_eq!(select_one(&resolved.url).await, 1);

    // Resolving again finds the database and leaves it alone.
    connect::resolve(Some(&url), &unused_data_dir, "ignored")
        .await
        .expect("resolve again");

    admin
        .batch_execute(&format!("drop database \"{name}\" with (force)"))
        .await
        .expect("clean up");
}

#[tokio::test]
async fn resolve_with_an_unreachable_url_says_which_server() {
    let nobody = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = nobody.local_addr().expect("addr").port();
    drop(nobody);
    let url = format!("postgres://postgres:hunter2@127.0.0.1:{port}/showtree");
    let (_tmp, data_dir) = scratch();

    let err = connect::resolve(Some(&url), &data_dir, "showtree")
        .await
        .expect_err("nothing listens there");

    assert!(matches!(err, ConnectError::Unreachable { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(!message.contains("hunter2"), "password leaked: {message}");
}
