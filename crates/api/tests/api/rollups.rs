//! `GET /v1/nodes/{id}/rollup`: who sees which figures (finance, restricted
//! children), currencies kept apart and converted at the right day's rate,
//! and read-your-writes through moves, soft deletes and restores.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Account, TestApp, id, spawn_app};

/// An organization: project > production > activations `open` (with a
/// workspace) and `secret` (restricted); money and tasks at each.
struct World {
    owner: Account,
    project: Uuid,
    production: Uuid,
    open: Uuid,
    secret: Uuid,
    workspace: Uuid,
    vendor: Uuid,
}

async fn world(app: &TestApp) -> World {
    let owner = app.signup("owner@rollup.test", "Rollup Events").await;
    let t = &owner.token;
    let org = owner.org_id;
    let project = id(&app
        .create_node(t, org, "project", "Festivals", json!({}))
        .await);
    let production = id(&app
        .create_node(t, project, "production", "EDC", json!({}))
        .await);
    let open = id(&app
        .create_node(t, production, "activation", "Las Vegas", json!({}))
        .await);
    let secret = id(&app
        .create_node(
            t,
            production,
            "activation",
            "Secret Show",
            json!({"restricted": true}),
        )
        .await);
    let workspace = id(&app
        .create_node(t, open, "workspace", "Kinetic Field", json!({}))
        .await);
    let vendor = id(app
        .post(
            &format!("/v1/orgs/{org}/vendors"),
            t,
            &json!({"name": "Acme Staging"}),
        )
        .await
        .ok(201));
    World {
        owner,
        project,
        production,
        open,
        secret,
        workspace,
        vendor,
    }
}

async fn budget(app: &TestApp, t: &str, node: Uuid, amount: i64, currency: &str) {
    app.post(
        &format!("/v1/nodes/{node}/budget-lines"),
        t,
        &json!({"category": "Staging", "amount_minor": amount, "currency": currency}),
    )
    .await
    .ok(201);
}

/// An invoice with one line of `amount`, in `status`.
#[allow(clippy::too_many_arguments)]
async fn invoice(
    app: &TestApp,
    t: &str,
    w: &World,
    node: Uuid,
    number: &str,
    issued_on: &str,
    currency: &str,
    amount: i64,
    status: &str,
) -> Uuid {
    let inv = id(app
        .post(
            &format!("/v1/nodes/{node}/invoices"),
            t,
            &json!({"vendor_id": w.vendor, "number": number, "issued_on": issued_on, "currency": currency}),
        )
        .await
        .ok(201));
    app.post(
        &format!("/v1/invoices/{inv}/lines"),
        t,
        &json!({"description": "Work", "quantity": 1, "unit_amount_minor": amount}),
    )
    .await
    .ok(201);
    // draft -> active (approved) -> completed (paid)
    let steps: &[&str] = match status {
        "draft" => &[],
        "completed" => &["active", "completed"],
        other => &[other],
    };
    let path = format!("/v1/invoices/{inv}");
    for step in steps {
        let etag = app
            .get(&path, t)
            .await
            .header("etag")
            .expect("etag")
            .to_owned();
        app.patch(&path, t, &etag, &json!({"status": step}))
            .await
            .ok(200);
    }
    inv
}

async fn task(app: &TestApp, t: &str, node: Uuid) {
    app.post(
        &format!("/v1/nodes/{node}/tasks"),
        t,
        &json!({"title": "Rig the truss"}),
    )
    .await
    .ok(201);
}

async fn rollup(app: &TestApp, t: &str, node: Uuid) -> Value {
    let r = app.get(&format!("/v1/nodes/{node}/rollup"), t).await;
    assert!(r.header("etag").is_some());
    r.ok(200).clone()
}

/// The money entry of `currency` in a bucket.
fn money<'a>(figures: &'a Value, currency: &str) -> &'a Value {
    figures["money"]
        .as_array()
        .and_then(|m| m.iter().find(|e| e["currency"] == currency))
        .unwrap_or_else(|| panic!("no {currency} in {figures}"))
}

/// A user of their own organization, granted `role` at `node` by the owner.
async fn member(app: &TestApp, w: &World, email: &str, node: Uuid, role: &str) -> Account {
    let user = app.signup(email, "Elsewhere").await;
    app.grant(&w.owner.token, node, user.user_id, role).await;
    user
}

/// The money and tasks every test starts from.
async fn books(app: &TestApp, w: &World) {
    let t = &w.owner.token;
    budget(app, t, w.production, 70_000, "EUR").await;
    budget(app, t, w.open, 100_000, "USD").await;
    budget(app, t, w.workspace, 20_000, "USD").await;
    budget(app, t, w.secret, 50_000, "USD").await;
    invoice(
        app,
        t,
        w,
        w.workspace,
        "A-1",
        "2025-05-01",
        "USD",
        30_000,
        "active",
    )
    .await;
    invoice(
        app,
        t,
        w,
        w.open,
        "A-2",
        "2025-05-02",
        "USD",
        5_000,
        "completed",
    )
    .await;
    invoice(
        app,
        t,
        w,
        w.secret,
        "S-1",
        "2025-05-03",
        "USD",
        40_000,
        "active",
    )
    .await;
    task(app, t, w.workspace).await;
    task(app, t, w.secret).await;
    task(app, t, w.production).await;
}

#[tokio::test]
async fn a_finance_user_at_a_production_sees_exact_totals_and_a_restricted_bucket() {
    let app = spawn_app().await;
    let w = world(&app).await;
    books(&app, &w).await;
    let finance = member(&app, &w, "money@rollup.test", w.production, "finance").await;
    let r = rollup(&app, &finance.token, w.production).await;

    // the whole subtree, the restricted activation included
    let usd = money(&r["total"], "USD");
    assert_eq!(usd["budget_planned_minor"], 170_000);
    assert_eq!(usd["invoiced_minor"]["active"], 70_000);
    assert_eq!(usd["paid_minor"], 5_000);
    assert_eq!(usd["committed_minor"], 75_000);
    assert_eq!(usd["variance_minor"], 95_000);
    assert_eq!(money(&r["total"], "EUR")["budget_planned_minor"], 70_000);
    assert_eq!(r["total"]["tasks"]["total"], 3);
    assert_eq!(r["total"]["money_visible"], true);

    // the node's own rows
    assert_eq!(money(&r["own"], "EUR")["budget_planned_minor"], 70_000);
    assert_eq!(r["own"]["tasks"]["total"], 1);

    // the readable child alone, the restricted one only summed
    let children = r["children"].as_array().expect("children");
    assert_eq!(children.len(), 1, "{r}");
    assert_eq!(children[0]["id"], w.open.to_string());
    assert_eq!(children[0]["name"], "Las Vegas");
    let open = &children[0]["figures"];
    assert_eq!(money(open, "USD")["budget_planned_minor"], 120_000);
    assert_eq!(money(open, "USD")["invoiced_minor"]["active"], 30_000);
    assert_eq!(open["tasks"]["total"], 1);
    let restricted = &r["restricted"];
    assert_eq!(money(restricted, "USD")["budget_planned_minor"], 50_000);
    assert_eq!(money(restricted, "USD")["invoiced_minor"]["active"], 40_000);
    assert_eq!(restricted["tasks"]["total"], 1);
    assert!(
        !r.to_string().contains(&w.secret.to_string()),
        "the restricted child is never named"
    );
}

#[tokio::test]
async fn an_editor_sees_counts_but_no_money() {
    let app = spawn_app().await;
    let w = world(&app).await;
    books(&app, &w).await;
    let editor = member(&app, &w, "work@rollup.test", w.production, "editor").await;
    let r = rollup(&app, &editor.token, w.production).await;
    assert_eq!(r["total"]["tasks"]["total"], 3);
    assert_eq!(r["restricted"]["tasks"]["total"], 1);
    for bucket in [
        &r["total"],
        &r["own"],
        &r["restricted"],
        &r["children"][0]["figures"],
    ] {
        assert_eq!(bucket["money_visible"], false, "{bucket}");
        assert!(bucket["money"].is_null(), "{bucket}");
    }
    for amount in ["170000", "70000", "50000", "EUR", "USD"] {
        assert!(!r.to_string().contains(amount), "{amount} leaked: {r}");
    }
    // the owner sees the restricted child by name, with its money
    let owner = rollup(&app, &w.owner.token, w.production).await;
    assert_eq!(owner["children"].as_array().map(Vec::len), Some(2));
    assert!(owner.get("restricted").is_none());
}

#[tokio::test]
async fn currencies_are_never_summed_and_conversion_uses_the_rate_of_the_invoice_day() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let t = &w.owner.token;
    // EUR invoices on two days, a JPY one (no minor unit), GBP without a rate
    invoice(
        &app,
        t,
        &w,
        w.workspace,
        "E-1",
        "2025-01-10",
        "EUR",
        10_001,
        "active",
    )
    .await;
    invoice(
        &app,
        t,
        &w,
        w.workspace,
        "E-2",
        "2025-02-10",
        "EUR",
        20_000,
        "completed",
    )
    .await;
    invoice(
        &app,
        t,
        &w,
        w.open,
        "U-1",
        "2025-02-11",
        "USD",
        7_000,
        "active",
    )
    .await;
    invoice(
        &app,
        t,
        &w,
        w.open,
        "J-1",
        "2025-02-12",
        "JPY",
        1_000,
        "active",
    )
    .await;
    budget(&app, t, w.open, 50_000, "EUR").await;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    for (currency, day, rate) in [
        ("EUR", "2025-01-01", "1.10"),
        ("EUR", "2025-02-01", "1.20"),
        ("EUR", "2025-02-11", "1.50"),
        ("EUR", today.as_str(), "1.30"),
        ("JPY", "2025-01-01", "0.0065"),
    ] {
        app.post(
            &format!("/v1/orgs/{}/fx-rates", w.owner.org_id),
            t,
            &json!({"currency": currency, "rate_date": day, "rate": rate}),
        )
        .await
        .ok(201);
    }

    let plain = rollup(&app, t, w.project).await;
    assert!(plain["total"].get("base").is_none());
    let eur = money(&plain["total"], "EUR");
    let usd = money(&plain["total"], "USD");
    assert_eq!(eur["invoiced_minor"]["active"], 10_001);
    assert_eq!(eur["invoiced_minor"]["completed"], 20_000);
    assert_eq!(usd["invoiced_minor"]["active"], 7_000);
    assert_eq!(
        money(&plain["total"], "JPY")["invoiced_minor"]["active"],
        1_000
    );

    let r = app
        .get(&format!("/v1/nodes/{}/rollup?convert=true", w.project), t)
        .await
        .ok(200)
        .clone();
    // per currency unchanged, beside the base figures
    assert_eq!(
        money(&r["total"], "EUR")["invoiced_minor"]["active"],
        10_001
    );
    let base = &r["total"]["base"];
    assert_eq!(base["currency"], "USD");
    // 10001 x 1.10 = 11001.1 -> 11001 (Jan 10: the Jan 1 rate); 20000 x 1.20
    // (Feb 10: the Feb 1 rate, not Feb 11's) = 24000; 1000 JPY x 0.0065
    // x 100 = 650 cents; 7000 USD as is
    assert_eq!(base["invoiced_minor"], 11_001 + 24_000 + 650 + 7_000);
    assert_eq!(base["paid_minor"], 24_000);
    assert_eq!(base["committed_minor"], 11_001 + 24_000 + 650 + 7_000);
    // budgets at today's rate
    assert_eq!(base["budget_planned_minor"], 65_000);
    assert_eq!(base["missing_rates"], json!([]));

    // a currency without a rate: its base figures are unknown, not zero
    invoice(
        &app,
        t,
        &w,
        w.open,
        "G-1",
        "2025-02-12",
        "GBP",
        1_000,
        "active",
    )
    .await;
    let r = app
        .get(&format!("/v1/nodes/{}/rollup?convert=true", w.project), t)
        .await
        .ok(200)
        .clone();
    let base = &r["total"]["base"];
    assert!(base["invoiced_minor"].is_null(), "{base}");
    assert_eq!(base["missing_rates"], json!(["GBP"]));
    assert_eq!(money(&r["total"], "GBP")["invoiced_minor"]["active"], 1_000);

    app.get(&format!("/v1/nodes/{}/rollup?convert=maybe", w.project), t)
        .await
        .problem(400);
}

#[tokio::test]
async fn a_committed_write_is_in_the_next_rollup_through_moves_deletes_and_restores() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let t = &w.owner.token;
    let other = id(&app
        .create_node(t, w.project, "production", "Beyond", json!({}))
        .await);
    let tasks = |r: &Value, child: Uuid| -> i64 {
        r["children"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == child.to_string()))
            .and_then(|c| c["figures"]["tasks"]["total"].as_i64())
            .unwrap_or(-1)
    };
    task(&app, t, w.workspace).await;
    budget(&app, t, w.workspace, 1_000, "USD").await;
    let r = rollup(&app, t, w.project).await;
    assert_eq!(tasks(&r, w.production), 1);
    assert_eq!(tasks(&r, other), 0);

    // the activation (with its workspace) moves to the other production
    app.post(
        &format!("/v1/nodes/{}/move", w.open),
        t,
        &json!({"parent_id": other}),
    )
    .await
    .ok(200);
    let r = rollup(&app, t, w.project).await;
    assert_eq!(tasks(&r, w.production), 0);
    assert_eq!(tasks(&r, other), 1);
    assert_eq!(r["total"]["tasks"]["total"], 1);

    // soft-deleted: gone from every ancestor
    let path = format!("/v1/nodes/{}", w.open);
    let etag = app
        .get(&path, t)
        .await
        .header("etag")
        .expect("etag")
        .to_owned();
    app.delete(&path, t, Some(&etag)).await.ok(204);
    let r = rollup(&app, t, w.project).await;
    assert_eq!(r["total"]["tasks"]["total"], 0);
    let left = r["total"]["money"].as_array().expect("money");
    assert!(left.iter().all(|m| m["currency"] != "USD"), "{r}");
    app.get(&format!("/v1/nodes/{}/rollup", w.workspace), t)
        .await
        .problem(404);

    // restored: back where it was
    app.post(&format!("{path}/restore"), t, &json!(null))
        .await
        .ok(200);
    let r = rollup(&app, t, w.project).await;
    assert_eq!(tasks(&r, other), 1);
    assert_eq!(money(&r["total"], "USD")["budget_planned_minor"], 1_000);
}

#[tokio::test]
async fn another_tenant_gets_404_and_so_does_an_unknown_node() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let rival = app.signup("rival@else.test", "Rival").await;
    app.get(&format!("/v1/nodes/{}/rollup", w.production), &rival.token)
        .await
        .problem(404);
    app.get(
        &format!("/v1/nodes/{}/rollup", Uuid::now_v7()),
        &w.owner.token,
    )
    .await
    .problem(404);
}

#[tokio::test]
async fn exchange_rates_are_written_with_finance_read_by_members_and_bad_ones_refused() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let t = &w.owner.token;
    let rates = format!("/v1/orgs/{}/fx-rates", w.owner.org_id);
    let created = app
        .post(
            &rates,
            t,
            &json!({"currency": "EUR", "rate_date": "2025-03-01", "rate": "1.082512345678"}),
        )
        .await;
    let rate = created.ok(201).clone();
    // every digit kept, as a string
    assert_eq!(rate["rate"], "1.082512345678");
    assert_eq!(rate["rate_date"], "2025-03-01");
    assert_eq!(rate["node_id"], json!(w.owner.org_id));

    // one live rate per currency and day
    let again = app
        .post(
            &rates,
            t,
            &json!({"currency": "EUR", "rate_date": "2025-03-01", "rate": "1.2"}),
        )
        .await;
    again.problem(409);
    assert_eq!(again.error_fields(), vec!["rate_date"]);
    for (body, field) in [
        (
            json!({"currency": "EUR", "rate_date": "2025-03-02", "rate": "0"}),
            "rate",
        ),
        (
            json!({"currency": "EUR", "rate_date": "2025-03-02", "rate": "-1"}),
            "rate",
        ),
        (
            json!({"currency": "EUR", "rate_date": "2025-03-02", "rate": "1e3"}),
            "rate",
        ),
        (
            json!({"currency": "XYZ", "rate_date": "2025-03-02", "rate": "1"}),
            "currency",
        ),
    ] {
        let r = app.post(&rates, t, &body).await;
        r.problem(422);
        assert_eq!(r.error_fields(), vec![field], "{body}");
    }
    app.post(
        &rates,
        t,
        &json!({"currency": "EUR", "rate_date": "2025-13-01", "rate": "1"}),
    )
    .await
    .problem(422);

    // a member without finance reads them and cannot write them
    let editor = app.signup("editor@rollup.test", "Editor's Own").await;
    app.grant(t, w.production, editor.user_id, "editor").await;
    let page = app.get(&rates, &editor.token).await.ok(200).clone();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    app.post(
        &rates,
        &editor.token,
        &json!({"currency": "GBP", "rate_date": "2025-03-01", "rate": "1.3"}),
    )
    .await
    .problem(403);
    // another organization's user: no such organization
    let stranger = app.signup("stranger@rollup.test", "Other Events").await;
    app.get(&rates, &stranger.token).await.problem(404);

    // the finance user changes the rate, with the ETag
    let one = format!("/v1/fx-rates/{}", id(&rate));
    let got = app.get(&one, t).await;
    let etag = got.header("etag").expect("etag").to_owned();
    let changed = app
        .patch(&one, t, &etag, &json!({"rate": "1.1"}))
        .await
        .ok(200)
        .clone();
    assert_eq!(changed["rate"], "1.100000000000");
    app.patch(&one, t, &etag, &json!({"rate": "1.2"}))
        .await
        .problem(412);
}

#[tokio::test]
async fn children_are_paged_by_name_and_every_page_carries_the_same_totals() {
    let app = spawn_app().await;
    let w = world(&app).await;
    books(&app, &w).await;
    let t = &w.owner.token;
    for name in ["Amsterdam", "Berlin", "Zurich"] {
        let a = id(&app
            .create_node(t, w.production, "activation", name, json!({}))
            .await);
        task(&app, t, a).await;
    }
    // readable: Amsterdam, Berlin, Las Vegas, Zurich; Secret Show is
    // restricted and this manager has no grant on it
    let manager = member(&app, &w, "pages@rollup.test", w.production, "manager").await;
    let whole = rollup(&app, &manager.token, w.production).await;
    assert_eq!(whole["children"].as_array().map(Vec::len), Some(4));
    assert!(whole.get("next_cursor").is_none());

    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/nodes/{}/rollup?limit=3&cursor={c}", w.production),
            None => format!("/v1/nodes/{}/rollup?limit=3", w.production),
        };
        let page = app.get(&path, &manager.token).await.ok(200).clone();
        pages += 1;
        for key in ["total", "own", "restricted"] {
            assert_eq!(page[key], whole[key], "{key} differs on page {pages}");
        }
        for c in page["children"].as_array().expect("children") {
            names.push(c["name"].as_str().expect("name").to_owned());
            let listed = whole["children"]
                .as_array()
                .and_then(|all| all.iter().find(|x| x["id"] == c["id"]))
                .expect("a child of the whole list");
            assert_eq!(c, listed);
        }
        match page.get("next_cursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(names, ["Amsterdam", "Berlin", "Las Vegas", "Zurich"]);
    // the restricted child's rows are summed, never listed, on every page
    assert_eq!(whole["restricted"]["tasks"]["total"], 1);
    assert!(!whole.to_string().contains(&w.secret.to_string()));

    let bad = format!("/v1/nodes/{}/rollup?cursor=not-a-cursor", w.production);
    app.get(&bad, &manager.token).await.problem(400);
    for limit in ["0", "1001", "x"] {
        let bad = format!("/v1/nodes/{}/rollup?limit={limit}", w.production);
        app.get(&bad, &manager.token).await.problem(400);
    }
}

#[tokio::test]
async fn a_grant_on_a_restricted_child_lists_it_instead_of_the_restricted_bucket() {
    let app = spawn_app().await;
    let w = world(&app).await;
    books(&app, &w).await;
    let user = member(&app, &w, "inside@rollup.test", w.production, "viewer").await;
    app.grant(&w.owner.token, w.secret, user.user_id, "viewer")
        .await;
    let r = rollup(&app, &user.token, w.production).await;
    let ids: Vec<&str> = r["children"]
        .as_array()
        .expect("children")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 2, "{r}");
    assert!(ids.contains(&w.secret.to_string().as_str()));
    assert!(r.get("restricted").is_none(), "{r}");
}
