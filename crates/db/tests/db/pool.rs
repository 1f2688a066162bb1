//! The service's pool: statements prepared once per connection and reused
//! by later transactions, whoever they run for.

use showtree_core::NodeName;
use showtree_db::auth::{self, NewSignup};
use showtree_db::pool::{Caller, Db};
use showtree_db::{DbError, Sql, nodes, testing};

const FAKE_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

async fn signup(db: &Db, email: &str, org: &str) -> (Caller, uuid::Uuid) {
    let new = NewSignup {
        email: email.into(),
        password_hash: FAKE_HASH.into(),
        display_name: email.into(),
        org_name: NodeName::parse(org).expect("name"),
        org_slug: None,
        base_currency: None,
        timezone: None,
    };
    let s = db
        .run_anonymous(async |c| auth::signup(c, &new).await)
        .await
        .expect("signup");
    (Caller::user(s.user_id), s.org_id)
}

/// Prepared statements of this session whose text reads `showtree.nodes`
/// by id (what `nodes::find` runs), and how often each was prepared.
async fn prepared_finds(db: &Db, caller: &Caller) -> Vec<String> {
    db.run_as(caller, async |c| {
        let rows = c
            .query(
                "select statement from pg_prepared_statements \
                  where statement like 'select % from showtree.nodes where id = $1' \
                  order by prepare_time",
                &[],
            )
            .await?;
        Ok::<_, DbError>(rows.iter().map(|r| r.get(0)).collect())
    })
    .await
    .expect("read pg_prepared_statements")
}

#[tokio::test]
async fn a_statement_is_prepared_once_per_connection_and_reused_across_callers() {
    let test_db = testing::migrated_db().await;
    // one connection: every transaction below runs on the same session
    let db = Db::new(&test_db.app_url(), 1).expect("pool of one");
    let (alice, alice_org) = signup(&db, "alice@example.com", "Alice Events").await;
    let (bob, bob_org) = signup(&db, "bob@example.com", "Bob Events").await;
    assert!(prepared_finds(&db, &alice).await.is_empty());

    for _ in 0..3 {
        let found = db
            .run_as(&alice, async |c| nodes::find(c, alice_org).await)
            .await
            .expect("alice reads her organization");
        assert_eq!(found.id, alice_org);
    }
    // another caller on the same connection: the same prepared statement,
    // and Row Level Security still answers for the caller of the moment
    let found = db
        .run_as(&bob, async |c| nodes::find(c, bob_org).await)
        .await
        .expect("bob reads his organization");
    assert_eq!(found.id, bob_org);
    let refused = db
        .run_as(&bob, async |c| nodes::find(c, alice_org).await)
        .await;
    assert!(
        matches!(refused, Err(DbError::NotFound)),
        "bob must not see alice's organization through a statement alice prepared: {refused:?}"
    );
    let finds = prepared_finds(&db, &alice).await;
    assert_eq!(finds.len(), 1, "prepared once: {finds:?}");
    assert!(finds[0].starts_with("select org_id, id"), "{finds:?}");
}

#[tokio::test]
async fn the_first_statement_of_a_transaction_already_runs_in_its_callers_context() {
    let test_db = testing::migrated_db().await;
    // one connection, callers alternating on it: `begin`, the context and the
    // first statement leave together, and the first statement must still see
    // this transaction's caller, never the previous one's or none
    let db = Db::new(&test_db.app_url(), 1).expect("pool of one");
    let (alice, _) = signup(&db, "alice@example.com", "Alice Events").await;
    let (bob, _) = signup(&db, "bob@example.com", "Bob Events").await;
    for caller in [&alice, &bob, &alice, &bob] {
        let (uid, role, local) = db
            .run_as(caller, async |c| {
                let first = c
                    .query_one(
                        "select auth.uid(), current_user::text, \
                                set_config('showtree.probe', 'set', true)",
                        &[],
                    )
                    .await?;
                // a transaction-local setting outlives its statement only
                // inside a transaction block: the first statement ran after
                // `begin`
                let second = c
                    .query_one("select current_setting('showtree.probe', true)", &[])
                    .await?;
                Ok::<_, DbError>((
                    first.get::<_, Option<uuid::Uuid>>(0),
                    first.get::<_, String>(1),
                    second.get::<_, Option<String>>(0),
                ))
            })
            .await
            .expect("the caller's transaction");
        assert_eq!(uid, Some(caller.user_id));
        assert_eq!(role, "authenticated");
        assert_eq!(local.as_deref(), Some("set"));
    }
}
