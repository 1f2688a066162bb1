//! The production domain over HTTP: every collection's life cycle, access
//! (another tenant, money without finance), bad input, the exclusion and
//! overlap rules under concurrent inserts, derived totals, versions, search.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Account, TestApp, id, spawn_app, uuid};

/// An organization with a tree and the reference rows others point at.
struct World {
    owner: Account,
    production: Uuid,
    activation: Uuid,
    workspace: Uuid,
    vendor: Uuid,
    person: Uuid,
    asset: Uuid,
    invoice: Uuid,
    tag: Uuid,
}

async fn world(app: &TestApp, email: &str, org: &str) -> World {
    let owner = app.signup(email, org).await;
    let t = &owner.token;
    let project = id(&app
        .create_node(t, owner.org_id, "project", "Festivals", json!({}))
        .await);
    let production = id(&app
        .create_node(t, project, "production", "EDC", json!({}))
        .await);
    let activation = id(&app
        .create_node(t, production, "activation", "EDC Las Vegas 2025", json!({}))
        .await);
    let workspace = id(&app
        .create_node(
            t,
            activation,
            "workspace",
            "Kinetic Field",
            json!({"workspace_type": "stage"}),
        )
        .await);
    let org = owner.org_id;
    let vendor = id(app
        .post(
            &format!("/v1/orgs/{org}/vendors"),
            t,
            &json!({"name": "Acme Staging"}),
        )
        .await
        .ok(201));
    let person = id(app
        .post(
            &format!("/v1/orgs/{org}/people"),
            t,
            &json!({"name": "Dana Rigger", "kind": "crew"}),
        )
        .await
        .ok(201));
    let asset = id(app
        .post(
            &format!("/v1/orgs/{org}/assets"),
            t,
            &json!({"name": "Truss 12m", "serial": "TR-1"}),
        )
        .await
        .ok(201));
    let invoice = id(app
        .post(
            &format!("/v1/nodes/{workspace}/invoices"),
            t,
            &json!({"vendor_id": vendor, "number": "A-100", "issued_on": "2025-05-01", "currency": "USD"}),
        )
        .await
        .ok(201));
    let tag = id(app
        .post(
            &format!("/v1/orgs/{org}/tags"),
            t,
            &json!({"name": "urgent", "color": "#ff0000"}),
        )
        .await
        .ok(201));
    World {
        owner,
        production,
        activation,
        workspace,
        vendor,
        person,
        asset,
        invoice,
        tag,
    }
}

/// One collection's test data.
struct Case {
    /// Where rows are listed and created.
    list: String,
    /// Whether `list` is a node's (so `scope=subtree` applies).
    node_scoped: bool,
    /// The URL prefix of one row.
    one: &'static str,
    /// A valid new row.
    body: Value,
    /// A change and the field it shows in.
    patch: Value,
    changed: (&'static str, Value),
    /// A query (beyond scope) the new row matches, and one it does not.
    filter: Option<(&'static str, &'static str)>,
    /// A status change the taxonomy forbids from the new row's status.
    forbidden: Option<Value>,
    /// The table, for its audit events.
    table: &'static str,
}

fn cases(w: &World) -> Vec<Case> {
    let (ws, org) = (w.workspace, w.owner.org_id);
    vec![
        Case {
            list: format!("/v1/nodes/{ws}/tasks"),
            node_scoped: true,
            one: "/v1/tasks",
            body: json!({"title": "Book the pyro crew", "due_at": "2025-05-10T12:00:00Z", "priority": "high"}),
            patch: json!({"status": "active"}),
            changed: ("status", json!("active")),
            filter: Some(("status=planning&q=pyro", "status=archived")),
            forbidden: Some(json!({"status": "draft"})),
            table: "tasks",
        },
        Case {
            list: format!("/v1/nodes/{ws}/budget-lines"),
            node_scoped: true,
            one: "/v1/budget-lines",
            body: json!({"category": "Staging", "amount_minor": 5_000_000, "currency": "USD"}),
            patch: json!({"amount_minor": 6_000_000}),
            changed: ("amount_minor", json!(6_000_000)),
            filter: Some(("q=staging", "q=catering")),
            forbidden: None,
            table: "budget_lines",
        },
        Case {
            list: format!("/v1/orgs/{org}/vendors"),
            node_scoped: false,
            one: "/v1/vendors",
            body: json!({"name": "Bright Lights LLC", "email": "ops@bright.example"}),
            patch: json!({"phone": "+1 702 555 0100"}),
            changed: ("phone", json!("+1 702 555 0100")),
            filter: Some(("q=bright", "q=sound")),
            forbidden: None,
            table: "vendors",
        },
        Case {
            list: format!("/v1/nodes/{ws}/invoices"),
            node_scoped: true,
            one: "/v1/invoices",
            body: json!({"vendor_id": w.vendor, "number": "A-200", "issued_on": "2025-05-02",
                         "due_on": "2025-06-01", "currency": "EUR"}),
            patch: json!({"status": "active"}),
            changed: ("status", json!("active")),
            filter: Some(("status=draft&from=2025-05-01T00:00:00Z", "status=completed")),
            forbidden: Some(json!({"status": "draft"})),
            table: "invoices",
        },
        Case {
            list: format!("/v1/invoices/{}/lines", w.invoice),
            node_scoped: false,
            one: "/v1/invoice-lines",
            body: json!({"description": "Stage deck", "quantity": 2, "unit_amount_minor": 125_000}),
            patch: json!({"quantity": 3}),
            changed: ("amount_minor", json!(375_000)),
            filter: None,
            forbidden: None,
            table: "invoice_lines",
        },
        Case {
            list: format!("/v1/orgs/{org}/assets"),
            node_scoped: false,
            one: "/v1/assets",
            body: json!({"name": "Line array", "category": "audio", "serial": "LA-7"}),
            patch: json!({"status": "review"}),
            changed: ("status", json!("review")),
            filter: Some(("status=active", "status=archived")),
            forbidden: Some(json!({"status": "draft"})),
            table: "assets",
        },
        Case {
            list: format!("/v1/nodes/{ws}/assets"),
            node_scoped: true,
            one: "/v1/asset-assignments",
            body: json!({"asset_id": w.asset, "starts_at": "2025-05-15T00:00:00Z", "ends_at": "2025-05-20T00:00:00Z"}),
            patch: json!({"notes": "left of stage"}),
            changed: ("notes", json!("left of stage")),
            filter: Some(("from=2025-05-01T00:00:00Z", "from=2025-06-01T00:00:00Z")),
            forbidden: None,
            table: "asset_assignments",
        },
        Case {
            list: format!("/v1/nodes/{ws}/schedule-items"),
            node_scoped: true,
            one: "/v1/schedule-items",
            body: json!({"title": "Headliner set", "item_type": "performance", "location": "Main stage",
                         "starts_at": "2025-05-16T23:00:00Z", "ends_at": "2025-05-17T00:30:00Z"}),
            patch: json!({"title": "Headliner set (extended)"}),
            changed: ("title", json!("Headliner set (extended)")),
            filter: Some(("q=headliner", "q=soundcheck")),
            forbidden: Some(json!({"status": "completed"})),
            table: "schedule_items",
        },
        Case {
            list: format!("/v1/orgs/{org}/people"),
            node_scoped: false,
            one: "/v1/people",
            body: json!({"name": "Sam Artist", "kind": "artist"}),
            patch: json!({"email": "sam@artist.example"}),
            changed: ("email", json!("sam@artist.example")),
            filter: Some(("q=sam", "q=zed")),
            forbidden: None,
            table: "people",
        },
        Case {
            list: format!("/v1/nodes/{ws}/crew-assignments"),
            node_scoped: true,
            one: "/v1/crew-assignments",
            body: json!({"person_id": w.person, "role": "Rigger", "call_at": "2025-05-15T08:00:00Z",
                         "wrap_at": "2025-05-15T18:00:00Z", "rate_amount_minor": 45_000,
                         "currency": "USD", "rate_unit": "day"}),
            patch: json!({"status": "active"}),
            changed: ("status", json!("active")),
            filter: Some(("status=planning", "status=active")),
            forbidden: Some(json!({"status": "draft"})),
            table: "crew_assignments",
        },
        Case {
            list: format!("/v1/nodes/{ws}/documents"),
            node_scoped: true,
            one: "/v1/documents",
            body: json!({"title": "Stage plot", "kind": "stage_plot", "storage_key": "docs/plot.pdf",
                         "content_type": "application/pdf", "size_bytes": 1024,
                         "checksum": format!("sha256:{}", "ab".repeat(32))}),
            patch: json!({"title": "Stage plot v1"}),
            changed: ("title", json!("Stage plot v1")),
            filter: Some(("q=plot", "q=permit")),
            forbidden: Some(json!({"status": "draft"})),
            table: "documents",
        },
        Case {
            list: format!("/v1/orgs/{org}/tags"),
            node_scoped: false,
            one: "/v1/tags",
            body: json!({"name": "VIP"}),
            patch: json!({"color": "#00aa00"}),
            changed: ("color", json!("#00aa00")),
            filter: None,
            forbidden: None,
            table: "tags",
        },
    ]
}

fn ids(page: &Value) -> Vec<Uuid> {
    page["items"]
        .as_array()
        .map(|a| a.iter().map(id).collect())
        .unwrap_or_default()
}

fn etag(reply: &crate::helpers::Reply) -> String {
    reply.header("etag").expect("an ETag").to_owned()
}

async fn audit_actions(app: &TestApp, table: &str, row: Uuid) -> Vec<String> {
    let db = app._db.as_ref().expect("the test's database");
    let client = db.client().await;
    client
        .query(
            "select action from showtree.audit_events where table_name = $1 and row_id = $2 order by occurred_at, id",
            &[&table, &row],
        )
        .await
        .expect("audit events")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn every_collection_lives_its_whole_life_over_http() {
    let app = spawn_app().await;
    let w = world(&app, "owner@insomniac.example", "Insomniac").await;
    let t = &w.owner.token;
    for case in cases(&w) {
        let what = case.one;
        let created = app.post(&case.list, t, &case.body).await;
        let row = created.ok(201).clone();
        let row_id = id(&row);
        assert_eq!(
            created.header("location"),
            Some(format!("{}/{row_id}", case.one).as_str()),
            "{what}"
        );
        let read = app.get(&format!("{}/{row_id}", case.one), t).await;
        assert_eq!(read.ok(200)["id"], row["id"], "{what}");
        assert_eq!(etag(&read), etag(&created), "{what}: one version, one tag");

        let listed = app.get(&case.list, t).await;
        assert!(ids(listed.ok(200)).contains(&row_id), "{what}: in its list");
        if case.node_scoped {
            let path = case
                .list
                .replace(&w.workspace.to_string(), &w.production.to_string());
            let node_only = app.get(&path, t).await;
            assert!(
                !ids(node_only.ok(200)).contains(&row_id),
                "{what}: not the production's own"
            );
            let subtree = app.get(&format!("{path}?scope=subtree"), t).await;
            assert!(
                ids(subtree.ok(200)).contains(&row_id),
                "{what}: in the production's subtree"
            );
        }
        if let Some((matching, other)) = case.filter {
            let hit = app.get(&format!("{}?{matching}", case.list), t).await;
            assert!(
                ids(hit.ok(200)).contains(&row_id),
                "{what}: matches {matching}"
            );
            let miss = app.get(&format!("{}?{other}", case.list), t).await;
            assert!(!ids(miss.ok(200)).contains(&row_id), "{what}: not {other}");
        }

        let one = format!("{}/{row_id}", case.one);
        let without = app
            .send(Method::PATCH, &one, Some(t), Some(&case.patch), &[])
            .await;
        without.problem(428);
        app.patch(&one, t, "\"stale\"", &case.patch)
            .await
            .problem(412);
        let patched = app.patch(&one, t, &etag(&read), &case.patch).await;
        assert_eq!(patched.ok(200)[case.changed.0], case.changed.1, "{what}");
        assert_ne!(etag(&patched), etag(&read), "{what}: a change, a new tag");
        app.patch(&one, t, &etag(&read), &case.patch)
            .await
            .problem(412);

        if let Some(forbidden) = &case.forbidden {
            let before = app.get(&one, t).await;
            let refused = app.patch(&one, t, &etag(&before), forbidden).await;
            refused.problem(422);
            assert_eq!(refused.error_fields(), vec!["status"], "{what}");
            let after = app.get(&one, t).await;
            assert_eq!(
                after.ok(200)["status"],
                before.body["status"],
                "{what}: unchanged"
            );
        }

        let current = app.get(&one, t).await;
        app.delete(&one, t, None).await.problem(428);
        assert_eq!(
            app.delete(&one, t, Some(&etag(&current))).await.status,
            204,
            "{what}"
        );
        app.get(&one, t).await.problem(404);
        assert!(
            !ids(app.get(&case.list, t).await.ok(200)).contains(&row_id),
            "{what}: gone"
        );
        let restored = app
            .send(Method::POST, &format!("{one}/restore"), Some(t), None, &[])
            .await;
        assert!(restored.ok(200)["deleted_at"].is_null(), "{what}");
        app.get(&one, t).await.ok(200);

        let actions = audit_actions(&app, case.table, row_id).await;
        for action in ["created", "updated", "deleted", "restored"] {
            let want = format!("{}.{action}", case.table);
            assert!(
                actions.contains(&want),
                "{what}: audit has {want}: {actions:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_second_tenant_reaches_no_row_of_the_first_by_path_or_body() {
    let app = spawn_app().await;
    let w = world(&app, "owner@insomniac.example", "Insomniac").await;
    let other = world(&app, "owner@rival.example", "Rival").await;
    let t = &other.owner.token;
    for case in cases(&w) {
        let row = id(app
            .post(&case.list, &w.owner.token, &case.body)
            .await
            .ok(201));
        let one = format!("{}/{row}", case.one);
        app.get(&one, t).await.problem(404);
        app.patch(&one, t, "*", &case.patch).await.problem(404);
        app.delete(&one, t, Some("*")).await.problem(404);
        app.get(&case.list, t).await.problem(404);
        app.post(&case.list, t, &case.body).await.problem(404);
    }
    // ids of the first organization in the second one's bodies
    let ws = other.workspace;
    let refused = app
        .post(
            &format!("/v1/nodes/{ws}/invoices"),
            t,
            &json!({"vendor_id": w.vendor, "number": "X-1", "issued_on": "2025-05-01", "currency": "USD"}),
        )
        .await;
    refused.problem(422);
    assert_eq!(refused.error_fields(), vec!["vendor_id"]);
    let refused = app
        .post(
            &format!("/v1/nodes/{ws}/crew-assignments"),
            t,
            &json!({"person_id": w.person, "role": "Spy"}),
        )
        .await;
    assert_eq!(refused.problem(422), &refused.body);
    assert_eq!(refused.error_fields(), vec!["person_id"]);
    let refused = app
        .post(
            &format!(
                "/v1/tasks/{}/tags",
                id(app
                    .post(
                        &format!("/v1/nodes/{ws}/tasks"),
                        t,
                        &json!({"title": "Mine"})
                    )
                    .await
                    .ok(201))
            ),
            t,
            &json!({"tag_id": w.tag}),
        )
        .await;
    assert_eq!(refused.problem(422)["errors"][0]["field"], "tag_id");
}

#[tokio::test]
async fn an_editor_gets_403_for_money_and_never_sees_a_rate() {
    let app = spawn_app().await;
    let w = world(&app, "owner@insomniac.example", "Insomniac").await;
    let editor = app.signup("editor@insomniac.example", "Editor's own").await;
    app.grant(&w.owner.token, w.production, editor.user_id, "editor")
        .await;
    let t = &editor.token;
    let ws = w.workspace;

    app.get(&format!("/v1/nodes/{ws}/invoices"), t)
        .await
        .problem(403);
    app.get(&format!("/v1/invoices/{}", w.invoice), t)
        .await
        .problem(403);
    app.get(&format!("/v1/invoices/{}/lines", w.invoice), t)
        .await
        .problem(403);
    app.get(&format!("/v1/nodes/{ws}/budget-lines"), t)
        .await
        .problem(403);
    app.post(
        &format!("/v1/nodes/{ws}/budget-lines"),
        t,
        &json!({"category": "Sneaky", "amount_minor": 1, "currency": "USD"}),
    )
    .await
    .problem(403);
    // vendors: every member reads them, only finance writes them
    app.get(&format!("/v1/orgs/{}/vendors", w.owner.org_id), t)
        .await
        .ok(200);
    app.post(
        &format!("/v1/orgs/{}/vendors", w.owner.org_id),
        t,
        &json!({"name": "Mine"}),
    )
    .await
    .problem(403);

    // work is theirs: tasks and crew, but not the rate
    app.post(
        &format!("/v1/nodes/{ws}/tasks"),
        t,
        &json!({"title": "Sweep the deck"}),
    )
    .await
    .ok(201);
    let crew = app
        .post(
            &format!("/v1/nodes/{ws}/crew-assignments"),
            &w.owner.token,
            &json!({"person_id": w.person, "role": "Rigger", "rate_amount_minor": 45_000,
                    "currency": "USD", "rate_unit": "day"}),
        )
        .await
        .ok(201)
        .clone();
    let seen = app
        .get(&format!("/v1/crew-assignments/{}", id(&crew)), t)
        .await;
    let body = seen.ok(200);
    assert_eq!(body["rate_visible"], false);
    assert!(body["rate_amount_minor"].is_null() && body["currency"].is_null());
    let listed = app
        .get(&format!("/v1/nodes/{ws}/crew-assignments"), t)
        .await;
    assert!(listed.ok(200)["items"][0]["rate_amount_minor"].is_null());
    let refused = app
        .patch(
            &format!("/v1/crew-assignments/{}", id(&crew)),
            t,
            &etag(&seen),
            &json!({"rate_amount_minor": 1}),
        )
        .await;
    refused.problem(403);
    let owner_view = app
        .get(
            &format!("/v1/crew-assignments/{}", id(&crew)),
            &w.owner.token,
        )
        .await;
    assert_eq!(owner_view.ok(200)["rate_amount_minor"], 45_000);
    // and the money's audit trail is not theirs either
    let client = app._db.as_ref().expect("db").client().await;
    let visible: i64 = client
        .query_one(
            "select count(*) from showtree.audit_events where table_name = 'invoices'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert!(visible > 0, "the owner's invoice was audited");
}

#[tokio::test]
async fn bad_input_gets_a_422_naming_the_field_and_changes_nothing() {
    let app = spawn_app().await;
    let w = world(&app, "owner@insomniac.example", "Insomniac").await;
    let t = &w.owner.token;
    let ws = w.workspace;
    let bad: Vec<(String, Value, &str)> = vec![
        (
            format!("/v1/nodes/{ws}/budget-lines"),
            json!({"category": "Power", "amount_minor": 10, "currency": "XYZ"}),
            "currency",
        ),
        (
            format!("/v1/nodes/{ws}/budget-lines"),
            json!({"category": "Power", "amount_minor": -10, "currency": "USD"}),
            "amount_minor",
        ),
        (
            format!("/v1/invoices/{}/lines", w.invoice),
            json!({"description": "Negative", "quantity": -1, "unit_amount_minor": 10}),
            "quantity",
        ),
        (
            format!("/v1/nodes/{ws}/schedule-items"),
            json!({"title": "Backwards", "starts_at": "2025-05-16T23:00:00Z", "ends_at": "2025-05-16T22:00:00Z"}),
            "ends_at",
        ),
        (
            format!("/v1/nodes/{ws}/invoices"),
            json!({"vendor_id": Uuid::now_v7(), "number": "Z-1", "issued_on": "2025-05-01", "currency": "USD"}),
            "vendor_id",
        ),
        (
            format!("/v1/nodes/{ws}/invoices"),
            json!({"vendor_id": w.vendor, "number": "Z-2", "issued_on": "2025-05-01",
                   "due_on": "2025-04-01", "currency": "USD"}),
            "due_on",
        ),
        (
            format!("/v1/nodes/{ws}/invoices"),
            json!({"vendor_id": w.vendor, "number": "Z-3", "issued_on": "2025-05-01",
                   "status": "planning", "currency": "USD"}),
            "status",
        ),
        (
            format!("/v1/nodes/{ws}/tasks"),
            json!({"title": "  padded  "}),
            "title",
        ),
        (
            format!("/v1/orgs/{}/tags", w.owner.org_id),
            json!({"name": "Red", "color": "red"}),
            "color",
        ),
    ];
    let client = app._db.as_ref().expect("db").client().await;
    let count = async || -> i64 {
        client
            .query_one(
                "select (select count(*) from showtree.budget_lines) + (select count(*) from showtree.invoice_lines) \
                      + (select count(*) from showtree.schedule_items) + (select count(*) from showtree.invoices) \
                      + (select count(*) from showtree.tasks) + (select count(*) from showtree.tags)",
                &[],
            )
            .await
            .expect("count")
            .get(0)
    };
    let before = count().await;
    for (path, body, field) in bad {
        let reply = app.post(&path, t, &body).await;
        reply.problem(422);
        assert_eq!(
            reply.error_fields(),
            vec![field.to_owned()],
            "{path} {body}"
        );
    }
    assert_eq!(count().await, before, "nothing was written");
    // a duplicate invoice number of one vendor is a conflict
    let dup = app
        .post(
            &format!("/v1/nodes/{ws}/invoices"),
            t,
            &json!({"vendor_id": w.vendor, "number": "A-100", "issued_on": "2025-05-01", "currency": "USD"}),
        )
        .await;
    dup.problem(409);
    assert_eq!(dup.error_fields(), vec!["number"]);
    // filters a list does not have
    app.get(&format!("/v1/nodes/{ws}/tasks?vendor_id={}", w.vendor), t)
        .await
        .problem(400);
    app.get(&format!("/v1/nodes/{ws}/tasks?limit=0"), t)
        .await
        .problem(400);
    app.get(&format!("/v1/nodes/{ws}/tasks?cursor=nope"), t)
        .await
        .problem(400);
}

#[tokio::test]
async fn one_asset_is_assigned_once_for_overlapping_times_even_under_concurrent_inserts() {
    let app = spawn_app().await;
    let w = world(&app, "owner@insomniac.example", "Insomniac").await;
    let t = &w.owner.token;
    let path = format!("/v1/nodes/{}/assets", w.workspace);
    let attempts = (0..8).map(|i| {
        let body = json!({"asset_id": w.asset,
                          "starts_at": format!("2025-07-0{}T00:00:00Z", 1 + i % 3),
                          "ends_at": "2025-07-09T00:00:00Z"});
        let (app, path) = (&app, &path);
        async move { app.post(path, t, &body).await }
    });
    let replies = join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let refused: Vec<_> = replies.iter().filter(|r| r.status == 409).collect();
    assert_eq!(created, 1, "{replies:?}");
    assert_eq!(refused.len(), 7);
    assert_eq!(refused[0].error_fields(), vec!["starts_at"]);
    // a later range is fine
    app.post(
        &path,
        t,
        &json!({"asset_id": w.asset, "starts_at": "2025-07-09T00:00:00Z", "ends_at": "2025-07-10T00:00:00Z"}),
    )
    .await
    .ok(201);
}

#[tokio::test]
async fn schedule_overlaps_are_reported_and_refused_where_the_node_forbids_them() {
    let app = spawn_app().await;
    let w = world(&app, "owner@insomniac.example", "Insomniac").await;
    let t = &w.owner.token;
    let path = format!("/v1/nodes/{}/schedule-items", w.workspace);
    let slot = |title: &str, start: &str, end: &str| json!({"title": title, "location": "Main stage", "starts_at": start, "ends_at": end});
    let a = id(app
        .post(
            &path,
            t,
            &slot("Opener", "2025-05-16T20:00:00Z", "2025-05-16T21:00:00Z"),
        )
        .await
        .ok(201));
    let b = app
        .post(
            &path,
            t,
            &slot("Overrun", "2025-05-16T20:30:00Z", "2025-05-16T21:30:00Z"),
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(b["conflicts"], json!([a]));
    let a_now = app.get(&format!("/v1/schedule-items/{a}"), t).await;
    assert_eq!(a_now.ok(200)["conflicts"], json!([id(&b)]));
    let elsewhere = app
        .post(
            &path,
            t,
            &json!({"title": "Side", "location": "Side stage",
                    "starts_at": "2025-05-16T20:30:00Z", "ends_at": "2025-05-16T21:30:00Z"}),
        )
        .await;
    assert_eq!(elsewhere.ok(201)["conflicts"], json!([]));

    // the activation forbids overlaps: its stages inherit that
    let node = app.get(&format!("/v1/nodes/{}", w.activation), t).await;
    app.patch(
        &format!("/v1/nodes/{}", w.activation),
        t,
        &etag(&node),
        &json!({"settings": {"schedule": {"forbid_overlap": true}}}),
    )
    .await
    .ok(200);
    let attempts = (0..6).map(|i| {
        let body = slot(
            &format!("Racer {i}"),
            "2025-05-17T20:00:00Z",
            "2025-05-17T21:00:00Z",
        );
        let (app, path) = (&app, &path);
        async move { app.post(path, t, &body).await }
    });
    let replies = join_all(attempts).await;
    assert_eq!(
        replies.iter().filter(|r| r.status == 201).count(),
        1,
        "{replies:?}"
    );
    let refused: Vec<_> = replies.iter().filter(|r| r.status != 201).collect();
    assert_eq!(refused.len(), 5);
    for r in refused {
        r.problem(409);
        assert_eq!(r.body["rule"], "schedule_items_overlap_excl");
    }
}

#[tokio::test]
async fn an_invoice_total_is_derived_from_its_live_lines() {
    let app = spawn_app().await;
    let w = world(&app, "owner@insomniac.example", "Insomniac").await;
    let t = &w.owner.token;
    let lines = format!("/v1/invoices/{}/lines", w.invoice);
    app.post(
        &lines,
        t,
        &json!({"description": "Deck", "quantity": 2, "unit_amount_minor": 1000}),
    )
    .await
    .ok(201);
    let odd = app
        .post(
            &lines,
            t,
            &json!({"description": "Cable", "quantity": 1.5, "unit_amount_minor": 333}),
        )
        .await;
    assert_eq!(
        odd.ok(201)["amount_minor"],
        500,
        "1.5 x 333 = 499.5, rounded"
    );
    let invoice = format!("/v1/invoices/{}", w.invoice);
    assert_eq!(app.get(&invoice, t).await.ok(200)["total_minor"], 2500);
    let odd_id = id(&odd.body);
    app.delete(&format!("/v1/invoice-lines/{odd_id}"), t, Some(&etag(&odd)))
        .await;
    assert_eq!(app.get(&invoice, t).await.ok(200)["total_minor"], 2000);
    // the total is not a field anyone can type
    let current = app.get(&invoice, t).await;
    let refused = app
        .patch(&invoice, t, &etag(&current), &json!({"total_minor": 1}))
        .await;
    refused.problem(422);
    assert_eq!(refused.error_fields(), vec!["total_minor"]);
}

#[tokio::test]
async fn a_new_document_version_keeps_the_older_ones() {
    let app = spawn_app().await;
    let w = world(&app, "owner@insomniac.example", "Insomniac").await;
    let t = &w.owner.token;
    let first = app
        .post(
            &format!("/v1/nodes/{}/documents", w.workspace),
            t,
            &json!({"title": "Rider", "kind": "rider", "storage_key": "r/1", "content_type": "application/pdf",
                    "size_bytes": 10, "checksum": format!("sha256:{}", "0".repeat(64))}),
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(first["version"], 1);
    assert_eq!(first["series_id"], first["id"]);
    let second = app
        .post(
            &format!("/v1/documents/{}/versions", id(&first)),
            t,
            &json!({"storage_key": "r/2", "content_type": "application/pdf", "size_bytes": 12,
                    "checksum": format!("sha256:{}", "1".repeat(64))}),
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(second["version"], 2);
    assert_eq!(second["series_id"], first["id"]);
    assert_eq!(second["title"], "Rider");
    let series = app
        .get(
            &format!(
                "/v1/nodes/{}/documents?series_id={}",
                w.workspace,
                id(&first)
            ),
            t,
        )
        .await;
    assert_eq!(ids(series.ok(200)), vec![id(&first), id(&second)]);
    assert_eq!(
        app.get(&format!("/v1/documents/{}", id(&first)), t)
            .await
            .ok(200)["storage_key"],
        "r/1"
    );
}

#[tokio::test]
async fn search_finds_only_what_the_caller_may_read_in_the_subtree() {
    let app = spawn_app().await;
    let w = world(&app, "owner@insomniac.example", "Insomniac").await;
    let t = &w.owner.token;
    let other_production = id(&app
        .create_node(t, w.owner.org_id, "project", "Clubs", json!({}))
        .await);
    let other = id(&app
        .create_node(t, other_production, "production", "Nocturnal", json!({}))
        .await);
    let ours = id(app
        .post(
            &format!("/v1/nodes/{}/tasks", w.workspace),
            t,
            &json!({"title": "Pyrotechnics permit"}),
        )
        .await
        .ok(201));
    let theirs = id(app
        .post(
            &format!("/v1/nodes/{other}/tasks"),
            t,
            &json!({"title": "Pyrotechnics rehearsal"}),
        )
        .await
        .ok(201));
    app.post(
        &format!("/v1/nodes/{}/budget-lines", w.workspace),
        t,
        &json!({"category": "Pyrotechnics", "amount_minor": 100, "currency": "USD"}),
    )
    .await
    .ok(201);

    let hits = |reply: &crate::helpers::Reply| -> Vec<(String, Uuid)> {
        reply.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|h| (h["kind"].as_str().unwrap_or("").to_owned(), uuid(&h["id"])))
            .collect()
    };
    let all = app
        .get(
            &format!("/v1/nodes/{}/search?q=pyrotechnic", w.owner.org_id),
            t,
        )
        .await;
    all.ok(200);
    let found = hits(&all);
    assert!(found.contains(&("task".into(), ours)) && found.contains(&("task".into(), theirs)));
    assert!(found.iter().any(|(k, _)| k == "budget_line"), "{found:?}");

    let editor = app.signup("editor@insomniac.example", "Own").await;
    app.grant(t, w.production, editor.user_id, "editor").await;
    let scoped = app
        .get(
            &format!("/v1/nodes/{}/search?q=pyrotechnics", w.production),
            &editor.token,
        )
        .await;
    scoped.ok(200);
    let found = hits(&scoped);
    assert_eq!(
        found,
        vec![("task".to_owned(), ours)],
        "no money, no other production"
    );
    app.get(
        &format!("/v1/nodes/{other}/search?q=pyrotechnics"),
        &editor.token,
    )
    .await
    .problem(404);
    app.get(
        &format!("/v1/nodes/{}/search?q=", w.production),
        &editor.token,
    )
    .await
    .problem(400);
}

#[tokio::test]
async fn activity_lists_the_subtree_s_changes_newest_first_without_money_for_an_editor() {
    let app = spawn_app().await;
    let w = world(&app, "owner@insomniac.example", "Insomniac").await;
    let t = &w.owner.token;
    let task = app
        .post(
            &format!("/v1/nodes/{}/tasks", w.workspace),
            t,
            &json!({"title": "Sweep"}),
        )
        .await;
    let task_id = id(task.ok(201));
    app.patch(
        &format!("/v1/tasks/{task_id}"),
        t,
        &etag(&task),
        &json!({"status": "active"}),
    )
    .await
    .ok(200);
    let page = app
        .get(&format!("/v1/nodes/{}/activity?limit=2", w.production), t)
        .await;
    let body = page.ok(200);
    let actions: Vec<&str> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["tasks.updated", "tasks.created"]);
    assert_eq!(
        body["items"][0]["changes"]["status"],
        json!({"old": "planning", "new": "active"})
    );
    let older = app
        .get(
            &format!(
                "/v1/nodes/{}/activity?limit=50&cursor={}",
                w.production,
                body["next_cursor"].as_str().expect("a next page")
            ),
            t,
        )
        .await;
    let older_actions: Vec<String> = older.ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        older_actions.contains(&"invoices.created".to_owned()),
        "{older_actions:?}"
    );
    assert!(
        !older_actions.contains(&"tasks.updated".to_owned()),
        "no repeats"
    );

    let editor = app.signup("editor@insomniac.example", "Own").await;
    app.grant(t, w.production, editor.user_id, "editor").await;
    let seen = app
        .get(
            &format!("/v1/nodes/{}/activity?limit=100", w.production),
            &editor.token,
        )
        .await;
    let tables: Vec<&str> = seen.ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["table_name"].as_str())
        .collect();
    assert!(tables.contains(&"tasks"), "{tables:?}");
    assert!(
        !tables.contains(&"invoices"),
        "no money events for an editor: {tables:?}"
    );
    let other = app.signup("owner@rival.example", "Rival").await;
    app.get(
        &format!("/v1/nodes/{}/activity", w.production),
        &other.token,
    )
    .await
    .problem(404);
}
