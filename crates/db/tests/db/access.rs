//! Access inherited down the tree and enforced by Row Level Security,
//! exercised as the service does it: the `authenticator` role with a
//! caller's context per transaction.

use showtree_core::{Capability, NodeKind, NodeName, Role};
use showtree_db::DbError;
use showtree_db::auth::{self, NewSignup};
use showtree_db::grants::{self, Grantee};
use showtree_db::nodes::{self, NewNode, Node};
use showtree_db::pool::{Caller, Db};
use showtree_db::testing::{self, TestDb};
use tokio_postgres::Client;
use uuid::Uuid;

const FAKE_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

fn name(s: &str) -> NodeName {
    NodeName::parse(s).expect("test name")
}

async fn signup(db: &Db, email: &str, org: &str) -> (Caller, Uuid) {
    let new = NewSignup {
        email: email.into(),
        password_hash: FAKE_HASH.into(),
        display_name: email.into(),
        org_name: name(org),
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

/// A user with no organization of their own.
async fn plain_user(admin: &Client, email: &str) -> Caller {
    let id: Uuid = admin
        .query_one(
            "insert into auth.users (email) values ($1) returning id",
            &[&email],
        )
        .await
        .expect("user")
        .get(0);
    Caller::user(id)
}

async fn make(
    db: &Db,
    who: &Caller,
    parent: &Node,
    kind: NodeKind,
    n: &str,
) -> Result<Node, DbError> {
    let new = NewNode::child(parent.org_id, parent.id, kind, name(n));
    db.run_as(who, async |c| nodes::create(c, &new, None).await)
        .await
}

async fn find(db: &Db, who: &Caller, id: Uuid) -> Result<Node, DbError> {
    db.run_as(who, async |c| nodes::find(c, id).await).await
}

async fn give(
    db: &Db,
    who: &Caller,
    node: &Node,
    to: &Caller,
    role: Role,
) -> Result<grants::Grant, DbError> {
    db.run_as(who, async |c| {
        grants::grant(c, node.org_id, node.id, &Grantee::User(to.user_id), role).await
    })
    .await
}

fn rule_of<T: std::fmt::Debug>(r: Result<T, DbError>) -> String {
    match r {
        Err(DbError::Rule { rule, .. } | DbError::Forbidden { rule, .. }) => rule,
        other => panic!("expected a rule violation, got {other:?}"),
    }
}

/// Insomniac (owned by `owner`) > Festivals > EDC > {LV 2025 > {Kinetic
/// Field > Site Ops, Backstage (restricted) > Green Room}, Orlando 2025}.
struct World {
    _db: TestDb,
    admin: Client,
    app: Db,
    owner: Caller,
    org: Node,
    production: Node,
    lv: Node,
    kinetic: Node,
    site_ops: Node,
    backstage: Node,
    green_room: Node,
    orlando: Node,
}

async fn world() -> World {
    let db = testing::migrated_db().await;
    let admin = db.client().await;
    let app = db.app_db();
    let (owner, org_id) = signup(&app, "owner@insomniac.test", "Insomniac").await;
    let org = find(&app, &owner, org_id).await.expect("own org");
    let project = make(&app, &owner, &org, NodeKind::Project, "Festivals")
        .await
        .expect("project");
    let production = make(&app, &owner, &project, NodeKind::Production, "EDC")
        .await
        .expect("production");
    let lv = make(
        &app,
        &owner,
        &production,
        NodeKind::Activation,
        "EDC Las Vegas 2025",
    )
    .await
    .expect("lv");
    let kinetic = make(&app, &owner, &lv, NodeKind::Workspace, "Kinetic Field")
        .await
        .expect("kinetic");
    let site_ops = make(
        &app,
        &owner,
        &kinetic,
        NodeKind::Workspace,
        "Site Operations",
    )
    .await
    .expect("ops");
    let mut back = NewNode::child(org.org_id, lv.id, NodeKind::Workspace, name("Backstage"));
    back.restricted = true;
    let backstage = app
        .run_as(&owner, async |c| nodes::create(c, &back, None).await)
        .await
        .expect("backstage");
    let green_room = make(&app, &owner, &backstage, NodeKind::Workspace, "Green Room")
        .await
        .expect("green");
    let orlando = make(
        &app,
        &owner,
        &production,
        NodeKind::Activation,
        "EDC Orlando 2025",
    )
    .await
    .expect("orlando");
    World {
        _db: db,
        admin,
        app,
        owner,
        org,
        production,
        lv,
        kinetic,
        site_ops,
        backstage,
        green_room,
        orlando,
    }
}

/// `auth.uid()`, `auth.role()` and `auth.jwt()` read the caller's context,
/// and showtree's shims of them are inlined into their callers (migration
/// 0019: with a SET clause every call planned the body again).
#[tokio::test]
async fn the_auth_shims_read_the_context_and_are_inlined() {
    let db = testing::migrated_db().await;
    let admin = db.client().await;
    let app = db.app_db();
    let (owner, _) = signup(&app, "owner@shims.test", "Shims").await;
    let (uid, role, sub): (Uuid, String, String) = app
        .run_as(&owner, async |c| {
            let row = c
                .query_one("select auth.uid(), auth.role(), auth.jwt() ->> 'sub'", &[])
                .await
                .map_err(DbError::from)?;
            Ok::<_, DbError>((row.get(0), row.get(1), row.get(2)))
        })
        .await
        .expect("auth functions");
    assert_eq!(uid, owner.user_id);
    assert_eq!(role, "authenticated");
    assert_eq!(sub, owner.user_id.to_string());
    let none: Option<Uuid> = admin
        .query_one("select auth.uid()", &[])
        .await
        .expect("no context")
        .get(0);
    assert_eq!(none, None, "no context, no user");
    for f in ["auth.uid()", "auth.role()", "auth.jwt()"] {
        let plan = admin
            .query(&format!("explain (verbose, costs off) select {f}"), &[])
            .await
            .expect("explain")
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!plan.contains(f), "{f} not inlined: {plan}");
        assert!(plan.contains("current_setting"), "{plan}");
    }
}

#[tokio::test]
async fn the_service_role_without_a_context_reads_and_writes_nothing() {
    let w = world().await;
    let raw = testing::connect(&w._db.app_url()).await;
    let tables: Vec<String> = w
        .admin
        .query(
            "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace \
              where n.nspname in ('showtree', 'auth', 'private') and c.relkind in ('r', 'p')",
            &[],
        )
        .await
        .expect("tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(tables.len() >= 10, "{tables:?}");
    for t in &tables {
        let read = raw.query(&format!("select * from {t}"), &[]).await;
        match read {
            Ok(rows) => assert!(rows.is_empty(), "{t} leaked {} rows", rows.len()),
            Err(e) => assert_eq!(
                e.code(),
                Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
                "{t}: {e}"
            ),
        }
    }
    let write = raw
        .execute(
            "insert into showtree.nodes (org_id, parent_id, kind, name, slug) values ($1, $1, 'project', 'X', 'x')",
            &[&w.org.id],
        )
        .await;
    assert!(write.is_err(), "a context-free write must be refused");
    let role: (bool, bool) = {
        let r = w
            .admin
            .query_one(
                "select rolbypassrls, rolsuper from pg_roles where rolname = 'authenticator'",
                &[],
            )
            .await
            .expect("role");
        (r.get(0), r.get(1))
    };
    assert_eq!(role, (false, false));
    let owns: i64 = w
        .admin
        .query_one(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace \
              where n.nspname = 'showtree' and pg_get_userbyid(c.relowner) in ('authenticator', 'authenticated', 'anon')",
            &[],
        )
        .await
        .expect("owners")
        .get(0);
    assert_eq!(owns, 0, "the service's roles own no table");
}

#[tokio::test]
async fn every_showtree_table_has_rls_enabled_forced_and_policies() {
    let w = world().await;
    let missing: Vec<String> = w
        .admin
        .query(
            "select c.relname || case when not c.relrowsecurity then ' (rls off)' \
                                      when not c.relforcerowsecurity then ' (not forced)' \
                                      else ' (no policy)' end \
               from pg_class c join pg_namespace n on n.oid = c.relnamespace \
              where n.nspname = 'showtree' and c.relkind in ('r', 'p') \
                and (not c.relrowsecurity or not c.relforcerowsecurity \
                     or not exists (select from pg_policy p where p.polrelid = c.oid))",
            &[],
        )
        .await
        .expect("catalog")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(missing.is_empty(), "tables without RLS: {missing:?}");
}

#[tokio::test]
async fn another_tenant_sees_and_changes_nothing_of_the_first() {
    let w = world().await;
    let (other, other_org) = signup(&w.app, "boss@rival.test", "Rival Promotions").await;
    for id in [w.org.id, w.production.id, w.kinetic.id, w.backstage.id] {
        assert!(matches!(
            find(&w.app, &other, id).await,
            Err(DbError::NotFound)
        ));
    }
    let subtree = w
        .app
        .run_as(&other, async |c| {
            nodes::subtree(c, w.org.id, w.org.id, None, None, 100).await
        })
        .await
        .expect("subtree");
    assert!(subtree.is_empty());
    // writing under the first tenant's node, with the ids in the body
    let sneaky = make(
        &w.app,
        &other,
        &w.production,
        NodeKind::Activation,
        "Sneaky",
    )
    .await;
    assert!(sneaky.is_err(), "{sneaky:?}");
    // moving the first tenant's node, or its own under the first tenant's
    let moved = w
        .app
        .run_as(&other, async |c| {
            nodes::move_to(c, w.org.id, w.lv.id, w.production.id, None).await
        })
        .await;
    assert!(matches!(moved, Err(DbError::NotFound)), "{moved:?}");
    let granted = give(&w.app, &other, &w.org, &other, Role::Owner).await;
    assert!(granted.is_err(), "{granted:?}");
    let own_org = find(&w.app, &other, other_org).await.expect("own org");
    let cross = make(&w.app, &other, &own_org, NodeKind::Project, "Tours")
        .await
        .expect("own project");
    let into_first = w
        .app
        .run_as(&other, async |c| {
            nodes::move_to(c, cross.org_id, cross.id, w.org.id, None).await
        })
        .await;
    assert!(into_first.is_err(), "{into_first:?}");
    let count: i64 = w
        .admin
        .query_one(
            "select count(*) from showtree.nodes where org_id = $1",
            &[&w.org.id],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 9, "the first tenant's tree is untouched");
}

#[tokio::test]
async fn a_grant_at_an_activation_reaches_down_not_up_or_sideways() {
    let w = world().await;
    let viewer = plain_user(&w.admin, "viewer@insomniac.test").await;
    give(&w.app, &w.owner, &w.lv, &viewer, Role::Viewer)
        .await
        .expect("grant");
    for visible in [&w.lv, &w.kinetic, &w.site_ops] {
        assert_eq!(
            find(&w.app, &viewer, visible.id).await.expect("visible").id,
            visible.id
        );
    }
    for hidden in [
        &w.org,
        &w.production,
        &w.orlando,
        &w.backstage,
        &w.green_room,
    ] {
        assert!(
            matches!(
                find(&w.app, &viewer, hidden.id).await,
                Err(DbError::NotFound)
            ),
            "{}",
            hidden.name
        );
    }
    // a viewer cannot create under what it can read
    assert!(
        make(&w.app, &viewer, &w.kinetic, NodeKind::Workspace, "Nope")
            .await
            .is_err()
    );
    let role = w
        .app
        .run_as(&viewer, async |c| {
            grants::effective_role(c, w.org.id, w.site_ops.id).await
        })
        .await
        .expect("role");
    assert_eq!(role, Some(Role::Viewer));
}

#[tokio::test]
async fn a_restricted_workspace_stops_inherited_grants_but_not_org_admins() {
    let w = world().await;
    let manager = plain_user(&w.admin, "manager@insomniac.test").await;
    give(&w.app, &w.owner, &w.production, &manager, Role::Manager)
        .await
        .expect("grant");
    assert!(find(&w.app, &manager, w.kinetic.id).await.is_ok());
    assert!(matches!(
        find(&w.app, &manager, w.backstage.id).await,
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        find(&w.app, &manager, w.green_room.id).await,
        Err(DbError::NotFound)
    ));
    let listed: Vec<Uuid> = w
        .app
        .run_as(&manager, async |c| {
            nodes::subtree(c, w.org.id, w.lv.id, None, None, 100).await
        })
        .await
        .expect("subtree")
        .iter()
        .map(|n| n.id)
        .collect();
    assert!(!listed.contains(&w.backstage.id) && !listed.contains(&w.green_room.id));
    // an org admin passes through
    let admin = plain_user(&w.admin, "admin@insomniac.test").await;
    give(&w.app, &w.owner, &w.org, &admin, Role::Admin)
        .await
        .expect("admin grant");
    assert!(find(&w.app, &admin, w.green_room.id).await.is_ok());
    // and a grant on the restricted node itself opens it
    give(&w.app, &w.owner, &w.backstage, &manager, Role::Viewer)
        .await
        .expect("direct grant");
    assert!(find(&w.app, &manager, w.green_room.id).await.is_ok());
    let explained = w
        .app
        .run_as(&w.owner, async |c| {
            grants::explain(c, w.org.id, w.green_room.id, manager.user_id).await
        })
        .await
        .expect("explain");
    assert_eq!(explained.effective_role, Some(Role::Viewer));
    let via = explained.via.expect("via");
    assert_eq!(via.node_id, w.backstage.id);
    let blocked = explained
        .grants
        .iter()
        .find(|g| g.node_id == w.production.id)
        .expect("production grant");
    assert!(!blocked.applies);
    assert_eq!(blocked.blocked_by, Some(w.backstage.id));
}

#[tokio::test]
async fn explain_names_the_grant_its_node_and_the_path() {
    let w = world().await;
    let editor = plain_user(&w.admin, "editor@insomniac.test").await;
    let g = give(&w.app, &w.owner, &w.lv, &editor, Role::Editor)
        .await
        .expect("grant");
    let e = w
        .app
        .run_as(&w.owner, async |c| {
            grants::explain(c, w.org.id, w.site_ops.id, editor.user_id).await
        })
        .await
        .expect("explain");
    let via = e.via.expect("a grant applies");
    assert_eq!(via.grant_id, g.id);
    assert_eq!(via.node_id, w.lv.id);
    assert_eq!(via.path, w.lv.path());
    assert_eq!(e.effective_role, Some(Role::Editor));
    // an editor may explain itself, not others
    let other = w
        .app
        .run_as(&editor, async |c| {
            grants::explain(c, w.org.id, w.site_ops.id, w.owner.user_id).await
        })
        .await;
    assert_eq!(rule_of(other), "grants_explain_denied");
}

#[tokio::test]
async fn a_manager_grants_up_to_manager_and_an_org_keeps_an_owner() {
    let w = world().await;
    let manager = plain_user(&w.admin, "manager@insomniac.test").await;
    let crew = plain_user(&w.admin, "crew@insomniac.test").await;
    give(&w.app, &w.owner, &w.production, &manager, Role::Manager)
        .await
        .expect("grant");
    give(&w.app, &manager, &w.lv, &crew, Role::Editor)
        .await
        .expect("editor");
    give(&w.app, &manager, &w.lv, &crew, Role::Manager)
        .await
        .expect("manager");
    assert_eq!(
        rule_of(give(&w.app, &manager, &w.lv, &crew, Role::Admin).await),
        "grants_role_above_own"
    );
    // an editor grants nothing
    let editor = plain_user(&w.admin, "editor@insomniac.test").await;
    give(&w.app, &w.owner, &w.lv, &editor, Role::Editor)
        .await
        .expect("editor grant");
    assert_eq!(
        rule_of(give(&w.app, &editor, &w.kinetic, &crew, Role::Viewer).await),
        "grants_not_allowed"
    );
    // the only owner cannot leave
    let own = w
        .app
        .run_as(&w.owner, async |c| {
            grants::list(c, w.org.id, w.org.id).await
        })
        .await
        .expect("list")
        .into_iter()
        .find(|g| g.role == Role::Owner)
        .expect("owner grant");
    let revoke = w
        .app
        .run_as(&w.owner, async |c| grants::revoke(c, own.id).await)
        .await;
    assert_eq!(rule_of(revoke), "grants_last_owner");
    // with a second owner, the first may go
    let second = plain_user(&w.admin, "second@insomniac.test").await;
    give(&w.app, &w.owner, &w.org, &second, Role::Owner)
        .await
        .expect("second owner");
    w.app
        .run_as(&w.owner, async |c| grants::revoke(c, own.id).await)
        .await
        .expect("revoke");
    assert!(matches!(
        find(&w.app, &w.owner, w.lv.id).await,
        Err(DbError::NotFound)
    ));
}

#[tokio::test]
async fn grants_and_revokes_are_written_to_the_audit_log() {
    let w = world().await;
    let viewer = plain_user(&w.admin, "viewer@insomniac.test").await;
    let g = give(&w.app, &w.owner, &w.lv, &viewer, Role::Viewer)
        .await
        .expect("grant");
    w.app
        .run_as(&w.owner, async |c| grants::revoke(c, g.id).await)
        .await
        .expect("revoke");
    let events: Vec<(String, Uuid, Option<Uuid>)> = w
        .admin
        .query(
            "select action, node_id, created_by from showtree.audit_events where row_id = $1 order by occurred_at, id",
            &[&g.id],
        )
        .await
        .expect("events")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        events,
        vec![
            ("grant.created".to_owned(), w.lv.id, Some(w.owner.user_id)),
            ("grant.revoked".to_owned(), w.lv.id, Some(w.owner.user_id)),
        ]
    );
    // the owner reads them back through RLS; the former viewer cannot
    let seen: i64 = w
        .app
        .run_as(&w.owner, async |c| {
            Ok::<i64, DbError>(
                c.query_one("select count(*) from showtree.audit_events", &[])
                    .await?
                    .get(0),
            )
        })
        .await
        .expect("owner reads");
    assert!(seen >= 2);
    let not_seen = w
        .app
        .run_as(&viewer, async |c| {
            Ok::<i64, DbError>(
                c.query_one("select count(*) from showtree.audit_events", &[])
                    .await?
                    .get(0),
            )
        })
        .await
        .expect("viewer reads");
    assert_eq!(not_seen, 0);
}

#[tokio::test]
async fn money_is_not_implied_by_editing() {
    let w = world().await;
    let editor = plain_user(&w.admin, "editor@insomniac.test").await;
    let finance = plain_user(&w.admin, "finance@insomniac.test").await;
    give(&w.app, &w.owner, &w.production, &editor, Role::Editor)
        .await
        .expect("editor");
    give(&w.app, &w.owner, &w.production, &finance, Role::Finance)
        .await
        .expect("finance");
    let cap = async |who: &Caller, c: Capability| {
        w.app
            .run_as(who, async |tx| {
                grants::has_capability(tx, w.org.id, w.kinetic.id, c).await
            })
            .await
            .expect("capability")
    };
    assert!(cap(&editor, Capability::Write).await);
    assert!(!cap(&editor, Capability::Finance).await);
    assert!(cap(&finance, Capability::Finance).await);
    assert!(!cap(&finance, Capability::Write).await);
}

#[tokio::test]
async fn the_capability_table_in_sql_and_in_core_agree() {
    let w = world().await;
    let roles = [
        Role::Viewer,
        Role::Finance,
        Role::Editor,
        Role::Manager,
        Role::Admin,
        Role::Owner,
    ];
    let caps = [
        Capability::Read,
        Capability::Write,
        Capability::Manage,
        Capability::Finance,
        Capability::Grant,
    ];
    for role in roles {
        for cap in caps {
            let cap_name = serde_json::to_value(cap).expect("json");
            let sql: bool = w
                .admin
                .query_one(
                    "select private.role_has($1::text::showtree.access_role, $2)",
                    &[&grants::role_name(role), &cap_name.as_str()],
                )
                .await
                .expect("role_has")
                .get(0);
            assert_eq!(sql, role.has(cap), "{role:?} {cap:?}");
        }
    }
}

#[tokio::test]
async fn a_node_made_in_a_transaction_is_readable_and_editable_in_it() {
    let w = world().await;
    let manager = plain_user(&w.admin, "manager@insomniac.test").await;
    give(&w.app, &w.owner, &w.production, &manager, Role::Manager)
        .await
        .expect("grant");
    let (made, renamed) = w
        .app
        .run_as(&manager, async |c| {
            // warm the cached sets first, so the new node is not in them
            nodes::find(c, w.lv.id).await?;
            let new = NewNode::child(w.org.id, w.lv.id, NodeKind::Workspace, name("Pop-up Stage"));
            let made = nodes::create(c, &new, None).await?;
            let again = nodes::find(c, made.id).await?;
            let moved = nodes::move_to(c, w.org.id, made.id, w.kinetic.id, None).await?;
            Ok::<_, DbError>((made, (again.id, moved.ancestors)))
        })
        .await
        .expect("one transaction");
    assert_eq!(renamed.0, made.id);
    assert_eq!(renamed.1, w.kinetic.path());
}

#[tokio::test]
async fn a_failed_transaction_leaves_nothing_and_its_context_does_not_linger() {
    let w = world().await;
    let db = Db::new(&w._db.app_url(), 1).expect("pool of one");
    let failed: Result<(), DbError> = db
        .run_as(&w.owner, async |c| {
            let new = NewNode::child(w.org.id, w.lv.id, NodeKind::Workspace, name("Ghost"));
            nodes::create(c, &new, None).await?;
            Err(DbError::Invalid("changed my mind"))
        })
        .await;
    assert!(failed.is_err());
    let ghosts: i64 = w
        .admin
        .query_one(
            "select count(*) from showtree.nodes where name = 'Ghost'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(ghosts, 0);
    // the same (only) connection, next transaction: no caller, no rows
    let (uid, role): (Option<Uuid>, String) = db
        .run_anonymous(async |c| {
            let r = c
                .query_one("select auth.uid(), current_user::text", &[])
                .await?;
            Ok::<_, DbError>((r.get(0), r.get(1)))
        })
        .await
        .expect("anonymous");
    assert_eq!((uid, role.as_str()), (None, "anon"));
    let anon_read = db
        .run_anonymous(async |c| {
            c.query("select * from showtree.nodes", &[])
                .await
                .map_err(DbError::from)
        })
        .await;
    assert!(anon_read.is_err(), "anon reads no tenant table");
}

#[tokio::test]
async fn audit_partitions_take_this_months_events_and_keep_rls() {
    let w = world().await;
    let viewer = plain_user(&w.admin, "viewer@insomniac.test").await;
    // an event before the partition exists lands in the default partition
    give(&w.app, &w.owner, &w.lv, &viewer, Role::Viewer)
        .await
        .expect("grant");
    let parts = showtree_db::audit_log::ensure_partitions(&w.admin)
        .await
        .expect("partitions");
    let again = showtree_db::audit_log::ensure_partitions(&w.admin)
        .await
        .expect("idempotent");
    assert_eq!(parts, again);
    let (in_default, in_month): (i64, i64) = {
        let r = w
            .admin
            .query_one(
                &format!(
                    "select (select count(*) from showtree.audit_events_default), \
                            (select count(*) from showtree.{})",
                    parts[0]
                ),
                &[],
            )
            .await
            .expect("counts");
        (r.get(0), r.get(1))
    };
    assert_eq!(
        in_default, 0,
        "the default partition's rows moved to their month"
    );
    assert!(in_month >= 1);
    let forced: bool = w
        .admin
        .query_one(
            "select relrowsecurity and relforcerowsecurity from pg_class where relname = $1",
            &[&parts[0]],
        )
        .await
        .expect("rls")
        .get(0);
    assert!(forced);
    // still read through the parent, under the parent's policy
    let seen: i64 = w
        .app
        .run_as(&w.owner, async |c| {
            Ok::<i64, DbError>(
                c.query_one("select count(*) from showtree.audit_events", &[])
                    .await?
                    .get(0),
            )
        })
        .await
        .expect("owner reads");
    assert_eq!(seen, in_month);
}

/// `restricted` on a node, as the owner's request would set it.
async fn restrict(db: &Db, who: &Caller, node: &Node, restricted: bool) {
    let changes = nodes::NodeChanges {
        restricted: Some(restricted),
        ..nodes::NodeChanges::default()
    };
    db.run_as(who, async |c| {
        nodes::update(c, node.org_id, node.id, &changes, None).await
    })
    .await
    .expect("restricting");
}

/// Which of `ids` the caller can read, each read in its own transaction.
async fn readable(db: &Db, who: &Caller, ids: &[Uuid]) -> Vec<bool> {
    let mut out = Vec::new();
    for &id in ids {
        out.push(match find(db, who, id).await {
            Ok(_) => true,
            Err(DbError::NotFound) => false,
            Err(e) => panic!("reading {id}: {e:?}"),
        });
    }
    out
}

#[tokio::test]
async fn a_revoked_grant_stops_at_the_next_transaction_on_the_same_connection() {
    let w = world().await;
    // one connection: whatever a session could keep, the next caller inherits
    let db = Db::new(&w._db.app_url(), 1).expect("pool of one");
    let viewer = plain_user(&w.admin, "viewer@insomniac.test").await;
    let grant = give(&db, &w.owner, &w.production, &viewer, Role::Viewer)
        .await
        .expect("grant");
    assert_eq!(
        readable(&db, &viewer, &[w.lv.id, w.site_ops.id]).await,
        [true, true]
    );
    db.run_as(&w.owner, async |c| grants::revoke(c, grant.id).await)
        .await
        .expect("revoke");
    assert_eq!(
        readable(&db, &viewer, &[w.lv.id, w.site_ops.id]).await,
        [false, false]
    );
    // each statement reads the grants its snapshot sees: a grant committed
    // between two statements of one transaction counts at the second
    let (before, after) = db
        .run_as(&viewer, async |c| {
            let before = nodes::find(c, w.lv.id).await.is_ok();
            w.admin
                .execute(
                    "insert into showtree.grants (org_id, node_id, user_id, role) \
                     values ($1, $2, $3, 'viewer')",
                    &[&w.org.id, &w.lv.id, &viewer.user_id],
                )
                .await
                .expect("grant from elsewhere");
            let after = nodes::find(c, w.lv.id).await.is_ok();
            Ok::<_, DbError>((before, after))
        })
        .await
        .expect("one transaction");
    assert_eq!((before, after), (false, true));
}

#[tokio::test]
async fn restricting_a_node_stops_grants_above_it_at_the_next_transaction() {
    let w = world().await;
    let db = Db::new(&w._db.app_url(), 1).expect("pool of one");
    let manager = plain_user(&w.admin, "manager@insomniac.test").await;
    give(&db, &w.owner, &w.production, &manager, Role::Manager)
        .await
        .expect("grant");
    let below = [w.kinetic.id, w.site_ops.id];
    assert_eq!(readable(&db, &manager, &below).await, [true, true]);
    restrict(&db, &w.owner, &w.kinetic, true).await;
    assert_eq!(readable(&db, &manager, &below).await, [false, false]);
    assert_eq!(readable(&db, &w.owner, &below).await, [true, true]);
    // a grant on the restricted node opens it and what is under it
    let direct = give(&db, &w.owner, &w.kinetic, &manager, Role::Viewer)
        .await
        .expect("direct grant");
    assert_eq!(readable(&db, &manager, &below).await, [true, true]);
    db.run_as(&w.owner, async |c| grants::revoke(c, direct.id).await)
        .await
        .expect("revoke");
    assert_eq!(readable(&db, &manager, &below).await, [false, false]);
    restrict(&db, &w.owner, &w.kinetic, false).await;
    assert_eq!(readable(&db, &manager, &below).await, [true, true]);
}

#[tokio::test]
async fn moving_a_subtree_out_from_under_a_grant_hides_it_at_the_next_transaction() {
    let w = world().await;
    let db = Db::new(&w._db.app_url(), 1).expect("pool of one");
    let viewer = plain_user(&w.admin, "viewer@insomniac.test").await;
    give(&db, &w.owner, &w.lv, &viewer, Role::Viewer)
        .await
        .expect("grant");
    let moved = [w.kinetic.id, w.site_ops.id];
    assert_eq!(readable(&db, &viewer, &moved).await, [true, true]);
    db.run_as(&w.owner, async |c| {
        nodes::move_to(c, w.org.id, w.kinetic.id, w.orlando.id, None).await
    })
    .await
    .expect("move out");
    assert_eq!(readable(&db, &viewer, &moved).await, [false, false]);
    // moved back, under the restricted backstage: grants above stop there
    db.run_as(&w.owner, async |c| {
        nodes::move_to(c, w.org.id, w.kinetic.id, w.backstage.id, None).await
    })
    .await
    .expect("move under backstage");
    assert_eq!(readable(&db, &viewer, &moved).await, [false, false]);
    db.run_as(&w.owner, async |c| {
        nodes::move_to(c, w.org.id, w.kinetic.id, w.lv.id, None).await
    })
    .await
    .expect("move back");
    assert_eq!(readable(&db, &viewer, &moved).await, [true, true]);
}

/// Every node whose restricted_ancestor_depth differs from the depth of
/// its deepest restricted ancestor, recomputed from the flags.
async fn gate_mismatches(admin: &Client) -> Vec<(String, i16, i16)> {
    admin
        .query(
            "select n.name, n.restricted_ancestor_depth, \
                    coalesce((select max(r.depth) from showtree.nodes r \
                               where r.org_id = n.org_id and r.id = any(n.ancestors) \
                                 and r.restricted), 0)::int2 as expected \
               from showtree.nodes n",
            &[],
        )
        .await
        .expect("gates")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .filter(|(_, has, expected): &(String, i16, i16)| has != expected)
        .collect()
}

#[tokio::test]
async fn restricted_ancestor_depth_follows_inserts_moves_and_restricting() {
    let w = world().await;
    let owner = &w.owner;
    assert_eq!(gate_mismatches(&w.admin).await, []);
    // a deeper tree under the restricted backstage, then reshaped
    let dressing = make(
        &w.app,
        owner,
        &w.green_room,
        NodeKind::Workspace,
        "Dressing",
    )
    .await
    .expect("dressing");
    make(&w.app, owner, &dressing, NodeKind::Workspace, "Mirror")
        .await
        .expect("mirror");
    restrict(&w.app, owner, &w.green_room, true).await;
    assert_eq!(gate_mismatches(&w.admin).await, []);
    let updated_before: time::OffsetDateTime = w
        .admin
        .query_one(
            "select updated_at from showtree.nodes where id = $1",
            &[&dressing.id],
        )
        .await
        .expect("updated_at")
        .get(0);
    restrict(&w.app, owner, &w.backstage, false).await;
    assert_eq!(gate_mismatches(&w.admin).await, []);
    // the subtree's derived column changed, its rows did not
    let updated_after: time::OffsetDateTime = w
        .admin
        .query_one(
            "select updated_at from showtree.nodes where id = $1",
            &[&dressing.id],
        )
        .await
        .expect("updated_at")
        .get(0);
    assert_eq!(updated_before, updated_after);
    // moves of restricted nodes, of subtrees holding one, under one
    restrict(&w.app, owner, &w.backstage, true).await;
    for (node, parent) in [
        (&w.backstage, &w.orlando),
        (&w.green_room, &w.site_ops),
        (&w.kinetic, &w.backstage),
        (&w.green_room, &w.lv),
    ] {
        w.app
            .run_as(owner, async |c| {
                nodes::move_to(c, w.org.id, node.id, parent.id, None).await
            })
            .await
            .expect("move");
        assert_eq!(
            gate_mismatches(&w.admin).await,
            [],
            "after moving {}",
            node.id
        );
    }
    restrict(&w.app, owner, &w.lv, true).await;
    restrict(&w.app, owner, &w.production, true).await;
    restrict(&w.app, owner, &w.lv, false).await;
    assert_eq!(gate_mismatches(&w.admin).await, []);
    // clients cannot write it
    let forged = w
        .app
        .run_as(owner, async |c| {
            c.execute(
                "update showtree.nodes set restricted_ancestor_depth = 0 where id = $1",
                &[&w.green_room.id],
            )
            .await
            .map_err(DbError::from)
        })
        .await;
    assert_eq!(rule_of(forged), "nodes_ancestors_managed");
}

#[tokio::test]
async fn an_insert_racing_a_restrict_gets_the_new_gate() {
    let w = world().await;
    let manager = plain_user(&w.admin, "manager@insomniac.test").await;
    give(&w.app, &w.owner, &w.production, &manager, Role::Manager)
        .await
        .expect("grant");
    let mut owner_conn = w._db.client().await;
    let tx = owner_conn.transaction().await.expect("tx");
    tx.execute(
        "update showtree.nodes set restricted = true where id = $1",
        &[&w.kinetic.id],
    )
    .await
    .expect("restrict");
    let app = w.app.clone();
    let (owner, site_ops) = (w.owner.clone(), w.site_ops.clone());
    let insert = tokio::spawn(async move {
        make(&app, &owner, &site_ops, NodeKind::Workspace, "Late Crew").await
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!insert.is_finished(), "the insert waits for the restrict");
    tx.commit().await.expect("commit");
    let late = insert.await.expect("task").expect("insert");
    assert_eq!(gate_mismatches(&w.admin).await, []);
    assert_eq!(readable(&w.app, &manager, &[late.id]).await, [false]);
}

/// How many audit events at `node` the caller reads.
async fn events_seen(db: &Db, who: &Caller, node: &Node) -> i64 {
    db.run_as(who, async |c| {
        c.query_one(
            "select count(*) from showtree.audit_events where org_id = $1 and node_id = $2",
            &[&node.org_id, &node.id],
        )
        .await
        .map_err(DbError::from)
    })
    .await
    .expect("reading events")
    .get(0)
}

#[tokio::test]
async fn money_events_need_finance_at_their_node_and_stop_at_restricted_nodes() {
    let w = world().await;
    for (action, metadata) in [
        ("tasks.created", "{}"),
        ("invoices.created", r#"{"capability": "finance"}"#),
    ] {
        w.admin
            .execute(
                "insert into showtree.audit_events (org_id, node_id, action, metadata) \
                 values ($1, $2, $3, $4::text::jsonb)",
                &[&w.org.id, &w.green_room.id, &action, &metadata],
            )
            .await
            .expect("event");
    }
    let editor = plain_user(&w.admin, "editor@insomniac.test").await;
    let finance = plain_user(&w.admin, "finance@insomniac.test").await;
    give(&w.app, &w.owner, &w.lv, &editor, Role::Editor)
        .await
        .expect("grant");
    give(&w.app, &w.owner, &w.lv, &finance, Role::Finance)
        .await
        .expect("grant");
    // backstage is restricted: grants on LV stop there
    assert_eq!(events_seen(&w.app, &editor, &w.green_room).await, 0);
    assert_eq!(events_seen(&w.app, &finance, &w.green_room).await, 0);
    assert_eq!(events_seen(&w.app, &w.owner, &w.green_room).await, 2);
    give(&w.app, &w.owner, &w.backstage, &editor, Role::Editor)
        .await
        .expect("grant");
    give(&w.app, &w.owner, &w.backstage, &finance, Role::Finance)
        .await
        .expect("grant");
    assert_eq!(events_seen(&w.app, &editor, &w.green_room).await, 1);
    assert_eq!(events_seen(&w.app, &finance, &w.green_room).await, 2);
}

#[tokio::test]
async fn a_manager_restricts_a_node_only_from_a_grant_the_restriction_keeps() {
    let w = world().await;
    let manager = plain_user(&w.admin, "manager@insomniac.test").await;
    give(&w.app, &w.owner, &w.production, &manager, Role::Manager)
        .await
        .expect("grant");
    let changes = nodes::NodeChanges {
        restricted: Some(true),
        ..nodes::NodeChanges::default()
    };
    // the new row is checked: from above, the restriction would cut the
    // manager off, so it is refused and nothing changes
    let refused = w
        .app
        .run_as(&manager, async |c| {
            nodes::update(c, w.org.id, w.kinetic.id, &changes, None).await
        })
        .await;
    assert_eq!(rule_of(refused), "row_level_security");
    assert_eq!(readable(&w.app, &manager, &[w.kinetic.id]).await, [true]);
    // with a grant on the node itself the manager keeps it, and may
    give(&w.app, &manager, &w.kinetic, &manager, Role::Manager)
        .await
        .expect("own grant");
    restrict(&w.app, &manager, &w.kinetic, true).await;
    assert_eq!(gate_mismatches(&w.admin).await, []);
    assert_eq!(
        readable(&w.app, &manager, &[w.kinetic.id, w.site_ops.id]).await,
        [true, true]
    );
}
