//! `showtree user add` and `showtree grant`: operator tasks without HTTP.

use std::process::Stdio;

use showtree_db::testing;
use tokio::io::AsyncWriteExt;

use crate::{ok_stdout, showtree};

#[tokio::test]
async fn an_operator_adds_a_user_with_a_password_and_grants_and_revokes_a_role() {
    let db = testing::empty_db().await;
    ok_stdout(&showtree(db.url(), &["demo", "--no-serve"]).await);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_showtree"))
        .args([
            "user",
            "add",
            "crew@insomniac.example",
            "--name",
            "Crew Lead",
            "--password-stdin",
        ])
        .env("DATABASE_URL", db.url())
        .env_remove("SHOWTREE_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"a long enough password\n")
        .await
        .expect("write");
    drop(stdin);
    let out = child.wait_with_output().await.expect("wait");
    let user: uuid::Uuid = ok_stdout(&out).trim().parse().expect("a user id");

    let client = db.client().await;
    let hash: String = client
        .query_one(
            "select password_hash from private.user_credentials where user_id = $1",
            &[&user],
        )
        .await
        .expect("credentials")
        .get(0);
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let production: uuid::Uuid = client
        .query_one("select id from showtree.nodes where name = 'EDC'", &[])
        .await
        .expect("EDC")
        .get(0);

    let granted = ok_stdout(
        &showtree(
            db.url(),
            &[
                "grant",
                "CREW@insomniac.example",
                &production.to_string(),
                "manager",
            ],
        )
        .await,
    );
    assert!(granted.contains("Manager at EDC"), "{granted}");
    let role: String = client
        .query_one(
            "select role::text from showtree.grants where user_id = $1 and node_id = $2 and deleted_at is null",
            &[&user, &production],
        )
        .await
        .expect("grant")
        .get(0);
    assert_eq!(role, "manager");
    let audited: i64 = client
        .query_one(
            "select count(*) from showtree.audit_events where action = 'grant.created' and node_id = $1",
            &[&production],
        )
        .await
        .expect("audit")
        .get(0);
    assert_eq!(audited, 1);

    ok_stdout(
        &showtree(
            db.url(),
            &[
                "grant",
                "--revoke",
                "crew@insomniac.example",
                &production.to_string(),
            ],
        )
        .await,
    );
    let live: i64 = client
        .query_one(
            "select count(*) from showtree.grants where user_id = $1 and deleted_at is null",
            &[&user],
        )
        .await
        .expect("grants")
        .get(0);
    assert_eq!(live, 0);
}

#[tokio::test]
async fn operator_mistakes_are_clear_errors_that_change_nothing() {
    let db = testing::empty_db().await;
    ok_stdout(&showtree(db.url(), &["demo", "--no-serve"]).await);
    ok_stdout(&showtree(db.url(), &["user", "add", "one@example.com"]).await);
    let again = showtree(db.url(), &["user", "add", "ONE@example.com"]).await;
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    let bad_email = showtree(db.url(), &["user", "add", "not-an-email"]).await;
    assert_eq!(bad_email.status.code(), Some(1));
    let node = uuid::Uuid::now_v7().to_string();
    let no_node = showtree(db.url(), &["grant", "one@example.com", &node, "viewer"]).await;
    assert!(String::from_utf8_lossy(&no_node.stderr).contains("no node"));
    let client = db.client().await;
    let org: uuid::Uuid = client
        .query_one(
            "select id from showtree.nodes where slug = 'insomniac'",
            &[],
        )
        .await
        .expect("org")
        .get(0);
    let bad_role = showtree(
        db.url(),
        &["grant", "one@example.com", &org.to_string(), "emperor"],
    )
    .await;
    assert_eq!(bad_role.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("not a role"));
    let no_user = showtree(
        db.url(),
        &["grant", "two@example.com", &org.to_string(), "viewer"],
    )
    .await;
    assert!(String::from_utf8_lossy(&no_user.stderr).contains("no user"));
    let grants: i64 = client
        .query_one(
            "select count(*) from showtree.grants g join auth.users u on u.id = g.user_id where u.email = 'one@example.com'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(grants, 0);
}

#[tokio::test]
async fn fold_folds_every_pending_rollup_delta_and_changes_no_figure() {
    let db = testing::empty_db().await;
    // the demo writes through the roll-up triggers; with no service
    // running, nothing folds its deltas
    ok_stdout(&showtree(db.url(), &["demo", "--no-serve"]).await);
    let client = db.client().await;
    let count = async || -> i64 {
        client
            .query_one("select count(*) from private.rollup_pending", &[])
            .await
            .expect("count")
            .get(0)
    };
    let before = count().await;
    assert!(before > 0, "the demo left no delta to fold");
    let org: uuid::Uuid = client
        .query_one(
            "select id from showtree.nodes where kind = 'organization' limit 1",
            &[],
        )
        .await
        .expect("org")
        .get(0);
    let figures = async || {
        showtree_db::rollups::raw(&client, org, org)
            .await
            .expect("raw")
            .0
    };
    let stored = figures().await;

    let out = ok_stdout(&showtree(db.url(), &["fold"]).await);
    assert!(
        out.contains(&format!("folded {before} roll-up deltas; 0 pending")),
        "{out}"
    );
    assert_eq!(count().await, 0);
    assert_eq!(figures().await, stored);
}
