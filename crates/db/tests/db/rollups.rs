//! Roll-ups (migration 0006): a property test against a brute-force
//! recomputation from the base tables, under concurrent writers, moves,
//! soft deletes and restores; folding; and the figures' definitions.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use showtree_db::rollups::{self, Figures};
use showtree_db::testing::{self, TestDb};
use tokio_postgres::Client;
use uuid::Uuid;

/// What exists, as the test last read it (ids only; the database decides
/// which writes succeed).
#[derive(Debug, Default, Clone)]
struct Ids {
    nodes: Vec<(Uuid, String)>,
    tasks: Vec<Uuid>,
    budget: Vec<Uuid>,
    invoices: Vec<Uuid>,
    lines: Vec<Uuid>,
    crew: Vec<Uuid>,
    schedule: Vec<Uuid>,
    assignments: Vec<Uuid>,
    people: Vec<Uuid>,
    assets: Vec<Uuid>,
    vendor: Uuid,
}

async fn ids_of(client: &Client, table: &str, org: Uuid) -> Vec<Uuid> {
    client
        .query(
            &format!("select id from showtree.{table} where org_id = $1 order by id"),
            &[&org],
        )
        .await
        .expect("ids")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn read_ids(client: &Client, org: Uuid, vendor: Uuid) -> Ids {
    Ids {
        nodes: client
            .query(
                "select id, kind::text from showtree.nodes where org_id = $1 order by id",
                &[&org],
            )
            .await
            .expect("nodes")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect(),
        tasks: ids_of(client, "tasks", org).await,
        budget: ids_of(client, "budget_lines", org).await,
        invoices: ids_of(client, "invoices", org).await,
        lines: ids_of(client, "invoice_lines", org).await,
        crew: ids_of(client, "crew_assignments", org).await,
        schedule: ids_of(client, "schedule_items", org).await,
        assignments: ids_of(client, "asset_assignments", org).await,
        people: ids_of(client, "people", org).await,
        assets: ids_of(client, "assets", org).await,
        vendor,
    }
}

const STATUSES: [&str; 7] = [
    "draft",
    "planning",
    "active",
    "review",
    "completed",
    "cancelled",
    "archived",
];
const CURRENCIES: [&str; 3] = ["USD", "EUR", "JPY"];

fn pick<T: Clone>(rng: &mut StdRng, v: &[T]) -> Option<T> {
    v.choose(rng).cloned()
}

/// A random instant within a few days of now, as SQL.
fn when(rng: &mut StdRng) -> String {
    format!("now() + interval '{} hours'", rng.random_range(-96..96))
}

/// One random write (one or more statements), with its kind for the
/// success count. Choices come from `rng`; what succeeds is up to the
/// database and the other writers.
fn random_write(rng: &mut StdRng, ids: &Ids, org: Uuid) -> (&'static str, String) {
    let node = pick(rng, &ids.nodes).map_or(org, |n| n.0);
    let status = STATUSES[rng.random_range(0..STATUSES.len())];
    let currency = CURRENCIES[rng.random_range(0..CURRENCIES.len())];
    let live = if rng.random_bool(0.5) {
        "null"
    } else {
        "now()"
    };
    match rng.random_range(0..22) {
        0 | 1 => (
            "task insert",
            format!(
                "insert into showtree.tasks (org_id, node_id, title, status, due_at, completed_at) \
                 values ('{org}', '{node}', 't', '{status}', {due}, case when '{status}' = 'completed' then now() end)",
                due = if rng.random_bool(0.2) {
                    "null".to_owned()
                } else {
                    when(rng)
                }
            ),
        ),
        2 => {
            let Some(t) = pick(rng, &ids.tasks) else {
                return ("none", String::new());
            };
            let change = match rng.random_range(0..5) {
                0 => format!("status = '{status}'"),
                1 => format!("node_id = '{node}'"),
                2 => format!("deleted_at = {live}"),
                3 => format!("due_at = {}", when(rng)),
                _ => {
                    return (
                        "task delete",
                        format!("delete from showtree.tasks where id = '{t}'"),
                    );
                }
            };
            (
                "task update",
                format!("update showtree.tasks set {change} where id = '{t}'"),
            )
        }
        3 => (
            "budget insert",
            format!(
                "insert into showtree.budget_lines (org_id, node_id, category, amount_minor, currency) \
                 values ('{org}', '{node}', 'c', {}, '{currency}')",
                rng.random_range(0..100_000)
            ),
        ),
        4 => {
            let Some(b) = pick(rng, &ids.budget) else {
                return ("none", String::new());
            };
            let change = match rng.random_range(0..4) {
                0 => format!("amount_minor = {}", rng.random_range(0..100_000)),
                1 => format!("currency = '{currency}'"),
                2 => format!("node_id = '{node}'"),
                _ => format!("deleted_at = {live}"),
            };
            (
                "budget update",
                format!("update showtree.budget_lines set {change} where id = '{b}'"),
            )
        }
        5 => {
            // an invoice with lines, in one transaction
            let id = Uuid::now_v7();
            let lines = rng.random_range(0..4);
            let mut sql = format!(
                "insert into showtree.invoices (org_id, id, node_id, vendor_id, number, issued_on, status, currency) \
                 values ('{org}', '{id}', '{node}', '{vendor}', '{id}', current_date - {}, 'draft', '{currency}');",
                rng.random_range(0..30),
                vendor = ids.vendor
            );
            for _ in 0..lines {
                sql += &format!(
                    "insert into showtree.invoice_lines (org_id, invoice_id, description, quantity, unit_amount_minor) \
                     values ('{org}', '{id}', 'l', {}.{}, {});",
                    rng.random_range(1..4),
                    rng.random_range(0..1000),
                    rng.random_range(0..50_000)
                );
            }
            if rng.random_bool(0.5) {
                sql +=
                    &format!("update showtree.invoices set status = '{status}' where id = '{id}';");
            }
            ("invoice insert", sql)
        }
        6 | 7 => {
            let Some(i) = pick(rng, &ids.invoices) else {
                return ("none", String::new());
            };
            let change = match rng.random_range(0..6) {
                0 | 1 => format!("status = '{status}'"),
                2 => format!("currency = '{currency}'"),
                3 => format!("node_id = '{node}'"),
                4 => format!("deleted_at = {live}"),
                _ => {
                    return (
                        "invoice delete",
                        format!("delete from showtree.invoices where id = '{i}'"),
                    );
                }
            };
            (
                "invoice update",
                format!("update showtree.invoices set {change} where id = '{i}'"),
            )
        }
        8 | 9 => {
            let Some(i) = pick(rng, &ids.invoices) else {
                return ("none", String::new());
            };
            (
                "line insert",
                format!(
                    "insert into showtree.invoice_lines (org_id, invoice_id, description, quantity, unit_amount_minor) \
                     values ('{org}', '{i}', 'l', {}, {})",
                    rng.random_range(1..5),
                    rng.random_range(0..50_000)
                ),
            )
        }
        10 => {
            let Some(l) = pick(rng, &ids.lines) else {
                return ("none", String::new());
            };
            let change = match rng.random_range(0..4) {
                0 => format!("quantity = {}.5", rng.random_range(1..5)),
                1 => format!("unit_amount_minor = {}", rng.random_range(0..50_000)),
                2 => format!("deleted_at = {live}"),
                _ => {
                    return (
                        "line delete",
                        format!("delete from showtree.invoice_lines where id = '{l}'"),
                    );
                }
            };
            (
                "line update",
                format!("update showtree.invoice_lines set {change} where id = '{l}'"),
            )
        }
        11 => {
            let Some(p) = pick(rng, &ids.people) else {
                return ("none", String::new());
            };
            let unit = ["hour", "day", "flat"][rng.random_range(0..3)];
            let rate = if rng.random_bool(0.7) {
                format!("{}, '{currency}', '{unit}'", rng.random_range(0..10_000))
            } else {
                "null, null, null".to_owned()
            };
            let times = if rng.random_bool(0.8) {
                let call = rng.random_range(-100..100);
                format!(
                    "now() + interval '{call} hours', now() + interval '{} minutes'",
                    call * 60 + rng.random_range(1..3000)
                )
            } else {
                "null, null".to_owned()
            };
            (
                "crew insert",
                format!(
                    "insert into showtree.crew_assignments (org_id, node_id, person_id, role, status, \
                     rate_amount_minor, currency, rate_unit, call_at, wrap_at) \
                     values ('{org}', '{node}', '{p}', 'r', '{status}', {rate}, {times})"
                ),
            )
        }
        12 => {
            let Some(a) = pick(rng, &ids.crew) else {
                return ("none", String::new());
            };
            let change = match rng.random_range(0..5) {
                0 => format!("status = '{status}'"),
                1 => format!("node_id = '{node}'"),
                2 => format!("deleted_at = {live}"),
                3 => format!(
                    "rate_amount_minor = {}, currency = '{currency}', rate_unit = 'hour'",
                    rng.random_range(0..10_000)
                ),
                _ => format!(
                    "wrap_at = call_at + interval '{} minutes'",
                    rng.random_range(1..3000)
                ),
            };
            (
                "crew update",
                format!("update showtree.crew_assignments set {change} where id = '{a}'"),
            )
        }
        13 | 14 => {
            // one to three items in one statement, often overlapping
            let n = rng.random_range(1..4);
            let values: Vec<String> = (0..n)
                .map(|_| {
                    let start = rng.random_range(0..8);
                    format!(
                        "('{org}', '{node}', 's', '{}', now() + interval '{start} hours', \
                         now() + interval '{} hours')",
                        ["", "stage"][rng.random_range(0..2)],
                        start + rng.random_range(1..4)
                    )
                })
                .collect();
            (
                "schedule insert",
                format!(
                    "insert into showtree.schedule_items (org_id, node_id, title, location, starts_at, ends_at) \
                     values {}",
                    values.join(", ")
                ),
            )
        }
        15 => {
            let Some(s) = pick(rng, &ids.schedule) else {
                return ("none", String::new());
            };
            let change = match rng.random_range(0..5) {
                0 => format!("location = '{}'", ["", "stage"][rng.random_range(0..2)]),
                1 => format!("node_id = '{node}'"),
                2 => format!("deleted_at = {live}"),
                3 => {
                    let start = rng.random_range(0..8);
                    format!(
                        "starts_at = now() + interval '{start} hours', ends_at = now() + interval '{} hours'",
                        start + rng.random_range(1..4)
                    )
                }
                _ => {
                    return (
                        "schedule delete",
                        format!("delete from showtree.schedule_items where id = '{s}'"),
                    );
                }
            };
            (
                "schedule update",
                format!("update showtree.schedule_items set {change} where id = '{s}'"),
            )
        }
        16 => {
            let Some(a) = pick(rng, &ids.assets) else {
                return ("none", String::new());
            };
            let start = rng.random_range(-72..72);
            let end = if rng.random_bool(0.3) {
                "null".to_owned()
            } else {
                format!(
                    "now() + interval '{} hours'",
                    start + rng.random_range(1..48)
                )
            };
            (
                "assignment insert",
                format!(
                    "insert into showtree.asset_assignments (org_id, asset_id, node_id, starts_at, ends_at) \
                     values ('{org}', '{a}', '{node}', now() + interval '{start} hours', {end})"
                ),
            )
        }
        17 => {
            if rng.random_bool(0.3) {
                let Some(a) = pick(rng, &ids.assets) else {
                    return ("none", String::new());
                };
                return (
                    "asset update",
                    format!("update showtree.assets set deleted_at = {live} where id = '{a}'"),
                );
            }
            let Some(a) = pick(rng, &ids.assignments) else {
                return ("none", String::new());
            };
            let change = match rng.random_range(0..3) {
                0 => format!("node_id = '{node}'"),
                1 => format!("deleted_at = {live}"),
                _ => format!(
                    "ends_at = starts_at + interval '{} hours'",
                    rng.random_range(1..100)
                ),
            };
            (
                "assignment update",
                format!("update showtree.asset_assignments set {change} where id = '{a}'"),
            )
        }
        18 => {
            // a child of a random node, of the kind its parent takes
            let Some((parent, kind)) = pick(rng, &ids.nodes) else {
                return ("none", String::new());
            };
            let child = match kind.as_str() {
                "organization" => "project",
                "project" => "production",
                "production" => "activation",
                _ => "workspace",
            };
            (
                "node insert",
                format!(
                    "insert into showtree.nodes (org_id, parent_id, kind, name, slug) \
                     values ('{org}', '{parent}', '{child}', 'n', 'n-{}')",
                    Uuid::new_v4().simple()
                ),
            )
        }
        19 => {
            // a move under a random node (the kind rule refuses most)
            let (Some((x, _)), Some((p, _))) = (pick(rng, &ids.nodes), pick(rng, &ids.nodes))
            else {
                return ("none", String::new());
            };
            (
                "node move",
                format!(
                    "update showtree.nodes set parent_id = '{p}' where id = '{x}' and id <> org_id"
                ),
            )
        }
        20 => (
            "node delete",
            format!(
                "update showtree.nodes set deleted_at = now() where id = '{node}' and id <> org_id \
                 and deleted_at is null"
            ),
        ),
        _ => (
            "node restore",
            format!(
                "update showtree.nodes set deleted_at = null where id = '{node}' and deleted_at is not null"
            ),
        ),
    }
}

/// Errors a random write may meet: rules (class 23, raised check
/// violations), deadlocks and serialization failures (class 40). Anything
/// else (a broken trigger) fails the test.
fn expected(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|d| {
        let code = d.code().code();
        code.starts_with("23") || code.starts_with("40") || code == "P0001"
    })
}

/// Runs `sql` in one transaction; whether it committed.
async fn write(client: &Client, sql: &str) -> bool {
    match client.batch_execute(&format!("begin; {sql}; commit")).await {
        Ok(()) => true,
        Err(e) => {
            assert!(expected(&e), "unexpected error from {sql}: {e:?}");
            client.batch_execute("rollback").await.expect("rollback");
            false
        }
    }
}

/// Every live node's stored roll-up equals the brute force, in one
/// snapshot at one `now()`.
async fn check(client: &Client, org: Uuid, context: &str) {
    client
        .batch_execute("begin isolation level repeatable read")
        .await
        .expect("begin");
    let nodes: Vec<Uuid> = client
        .query(
            "select id from showtree.nodes where org_id = $1 and deleted_at is null",
            &[&org],
        )
        .await
        .expect("nodes")
        .iter()
        .map(|r| r.get(0))
        .collect();
    for node in nodes {
        let (stored, _) = rollups::raw(client, org, node).await.expect("raw");
        let brute = rollups::brute_force(client, org, node)
            .await
            .expect("brute force");
        if stored != brute {
            let diff: BTreeMap<_, _> = stored
                .iter()
                .filter(|(k, v)| brute.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), (Some(*v), brute.get(k).copied())))
                .chain(
                    brute
                        .iter()
                        .filter(|(k, _)| !stored.contains_key(*k))
                        .map(|(k, v)| (k.clone(), (None, Some(*v)))),
                )
                .collect();
            panic!("{context}: node {node}: stored != brute force: {diff:#?}");
        }
        // the API's parts: every other child listed, the rest hidden
        let children: Vec<Uuid> = client
            .query(
                "select id from showtree.nodes \
                  where org_id = $1 and parent_id = $2 and deleted_at is null order by id",
                &[&org, &node],
            )
            .await
            .expect("children")
            .iter()
            .map(|r| r.get(0))
            .collect();
        let listed: Vec<Uuid> = children.iter().copied().step_by(2).collect();
        let hidden: Vec<Uuid> = children.iter().copied().skip(1).step_by(2).collect();
        let (parts, _) = rollups::parts(client, org, node, &listed, &hidden)
            .await
            .expect("parts");
        let mut expected = rollups::Parts::new();
        for ((bucket, currency), line) in &brute {
            let mut add = |part: &str, child: Option<Uuid>| {
                expected
                    .entry((part.to_owned(), child, currency.clone()))
                    .or_default()
                    .add(line);
            };
            add("total", None);
            if *bucket == node {
                add("own", None);
            } else if listed.contains(bucket) {
                add("child", Some(*bucket));
            } else if hidden.contains(bucket) {
                add("restricted", None);
            }
        }
        expected.retain(|_, line| !line.is_zero());
        assert_eq!(
            parts, expected,
            "{context}: node {node}: parts != brute force"
        );
    }
    client.batch_execute("commit").await.expect("commit");
}

/// An organization with a small random tree and its reference rows.
async fn seeded_org(db: &TestDb, rng: &mut StdRng) -> (Uuid, Uuid) {
    let client = db.client().await;
    let org: Uuid = client
        .query_one(
            "select org_id from private.signup('owner@example.test', '$argon2id$x', 'Owner', \
             'Org', 'org', 'USD', null)",
            &[],
        )
        .await
        .expect("signup")
        .get(0);
    let mut level: Vec<Uuid> = vec![org];
    for kind in [
        "project",
        "production",
        "activation",
        "workspace",
        "workspace",
    ] {
        let mut next = Vec::new();
        for parent in &level {
            for _ in 0..rng.random_range(1..3) {
                let id: Uuid = client
                    .query_one(
                        "insert into showtree.nodes (org_id, parent_id, kind, name, slug, restricted) \
                         values ($1, $2, $3::text::showtree.node_kind, 'n', $4, $5) returning id",
                        &[
                            &org,
                            parent,
                            &kind,
                            &format!("n-{}", Uuid::new_v4().simple()),
                            &rng.random_bool(0.15),
                        ],
                    )
                    .await
                    .expect("node")
                    .get(0);
                next.push(id);
            }
        }
        level = next;
    }
    let vendor: Uuid = client
        .query_one(
            "insert into showtree.vendors (org_id, node_id, name) values ($1, $1, 'V') returning id",
            &[&org],
        )
        .await
        .expect("vendor")
        .get(0);
    client
        .batch_execute(&format!(
            "insert into showtree.people (org_id, node_id, name) \
               select '{org}', '{org}', 'P' || g from generate_series(1, 5) g;
             insert into showtree.assets (org_id, node_id, name) \
               select '{org}', '{org}', 'A' || g from generate_series(1, 5) g;"
        ))
        .await
        .expect("reference rows");
    (org, vendor)
}

async fn property(seed: u64, steps: usize, writers: usize) {
    let db = testing::migrated_db().await;
    let mut rng = StdRng::seed_from_u64(seed);
    let (org, vendor) = seeded_org(&db, &mut rng).await;
    let checker = db.client().await;
    let mut clients = Vec::new();
    for _ in 0..writers {
        clients.push(db.client().await);
    }
    let mut committed: BTreeMap<&'static str, usize> = BTreeMap::new();
    for step in 0..steps {
        let ids = read_ids(&checker, org, vendor).await;
        // a few writes per connection, all connections at once, and
        // sometimes a fold among them
        let batches: Vec<Vec<(&'static str, String)>> = (0..writers)
            .map(|_| {
                (0..rng.random_range(1..5))
                    .map(|_| random_write(&mut rng, &ids, org))
                    .filter(|(kind, _)| *kind != "none")
                    .collect()
            })
            .collect();
        let fold_now = rng.random_bool(0.3);
        let runs = clients
            .iter()
            .zip(batches)
            .map(|(client, batch)| async move {
                let mut ok = Vec::new();
                for (kind, sql) in batch {
                    if write(client, &sql).await {
                        ok.push(kind);
                    }
                }
                ok
            });
        let fold = async {
            if fold_now {
                rollups::fold(&checker, org, 50).await.expect("fold");
            }
        };
        let (results, ()) = tokio::join!(futures_util::future::join_all(runs), fold);
        for kind in results.into_iter().flatten() {
            *committed.entry(kind).or_default() += 1;
        }
        check(&checker, org, &format!("seed {seed} step {step}")).await;
    }
    while rollups::fold(&checker, org, 1000).await.expect("fold") > 0 {}
    let pending: i64 = checker
        .query_one(
            "select count(*) from private.rollup_pending where org_id = $1",
            &[&org],
        )
        .await
        .expect("pending")
        .get(0);
    assert_eq!(pending, 0, "everything folds");
    check(&checker, org, &format!("seed {seed} after the last fold")).await;
    // every kind of write got through sometimes: the check was not vacuous
    for kind in [
        "task insert",
        "task update",
        "budget insert",
        "budget update",
        "invoice insert",
        "invoice update",
        "line insert",
        "line update",
        "crew insert",
        "crew update",
        "schedule insert",
        "schedule update",
        "assignment insert",
        "node insert",
        "node move",
        "node delete",
        "node restore",
    ] {
        assert!(
            committed.get(kind).copied().unwrap_or(0) > 0,
            "seed {seed}: no {kind} committed: {committed:?}"
        );
    }
}

#[tokio::test]
async fn rollups_equal_brute_force_under_concurrent_writes_moves_deletes_and_restores() {
    for seed in 1..=3 {
        property(seed, 40, 4).await;
    }
}

#[tokio::test]
async fn deleting_nodes_for_good_takes_their_subtrees_out_of_the_kept_totals() {
    let db = testing::migrated_db().await;
    let mut rng = StdRng::seed_from_u64(7);
    let (org, vendor) = seeded_org(&db, &mut rng).await;
    let client = db.client().await;
    for i in 0..300 {
        let ids = read_ids(&client, org, vendor).await;
        let (kind, sql) = random_write(&mut rng, &ids, org);
        // rows only: the tree stays as seeded (every level has children)
        if !sql.is_empty() && !kind.starts_with("node") {
            write(&client, &sql).await;
        }
        if i % 50 == 0 {
            rollups::fold(&client, org, 1000).await.expect("fold");
        }
    }
    // a workspace with a child (its total is summed from own totals), then
    // a production (a kept level), each deleted for good with deltas of
    // its subtree still pending and others folded
    for kind in ["workspace", "production"] {
        let victim: Option<Uuid> = client
            .query_opt(
                "select n.id from showtree.nodes n
                  where n.org_id = $1 and n.deleted_at is null and n.kind = $2::text::showtree.node_kind
                    and exists (select from showtree.nodes c
                                 where c.org_id = n.org_id and c.parent_id = n.id and c.deleted_at is null)
                  order by n.id limit 1",
                &[&org, &kind],
            )
            .await
            .expect("a node with children")
            .map(|r| r.get(0));
        let victim = victim.unwrap_or_else(|| panic!("the seeded tree has a {kind} with children"));
        client
            .execute(
                "delete from showtree.nodes where org_id = $1 and id = $2",
                &[&org, &victim],
            )
            .await
            .expect("delete for good");
        check(&client, org, &format!("after deleting a {kind} for good")).await;
        while rollups::fold(&client, org, 1000).await.expect("fold") > 0 {}
        check(
            &client,
            org,
            &format!("after deleting a {kind} for good, folded"),
        )
        .await;
    }
}

#[tokio::test]
async fn folding_changes_no_figure_and_empties_the_deltas() {
    let db = testing::migrated_db().await;
    let mut rng = StdRng::seed_from_u64(99);
    let (org, vendor) = seeded_org(&db, &mut rng).await;
    let client = db.client().await;
    for _ in 0..200 {
        let ids = read_ids(&client, org, vendor).await;
        let (_, sql) = random_write(&mut rng, &ids, org);
        if !sql.is_empty() {
            write(&client, &sql).await;
        }
    }
    let before: Figures = rollups::raw(&client, org, org).await.expect("raw").0;
    let (_, pending) = rollups::raw(&client, org, org).await.expect("raw");
    assert!(pending > 0, "writes left deltas");
    // the roll-up sums deltas per bucket before reading them: it still
    // counts every pending delta row of the subtree's live nodes
    let rows: i64 = client
        .query_one(
            "select count(*) from private.rollup_pending d
               join showtree.nodes n on n.org_id = d.org_id and n.id = d.node_id
              where d.org_id = $1 and n.deleted_at is null",
            &[&org],
        )
        .await
        .expect("count deltas")
        .get(0);
    assert_eq!(pending, rows, "every pending delta row is counted once");
    let mut folded = 0;
    loop {
        let n = rollups::fold_all(&client, 37).await.expect("fold");
        if n == 0 {
            break;
        }
        folded += n;
    }
    assert!(folded > 0);
    let (after, pending) = rollups::raw(&client, org, org).await.expect("raw");
    assert_eq!(pending, 0);
    assert_eq!(before, after);
}

/// The organization root's total counts line, as the API reads it.
async fn root_counts(client: &Client, org: Uuid) -> (rollups::Line, i64) {
    let (parts, pending) = rollups::parts(client, org, org, &[], &[])
        .await
        .expect("parts");
    let line = parts
        .get(&("total".to_owned(), None, "XXX".to_owned()))
        .copied()
        .unwrap_or_default();
    (line, pending)
}

/// A task's status and its open count by due week, per week of its node's
/// own folded total.
async fn own_weeks(client: &Client, org: Uuid, node: Uuid) -> Vec<(String, i64, i64)> {
    client
        .query(
            "select week::text, tasks_active + tasks_completed, tasks_open_due \
               from private.rollup_own where org_id = $1 and node_id = $2 and currency = 'XXX' \
              order by week",
            &[&org, &node],
        )
        .await
        .expect("own totals")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn an_open_task_with_a_due_date_is_one_delta_and_folds_into_its_status_and_its_due_week() {
    let db = testing::migrated_db().await;
    let mut rng = StdRng::seed_from_u64(11);
    let (org, _) = seeded_org(&db, &mut rng).await;
    let client = db.client().await;
    let node: Uuid = client
        .query_one(
            "select id from showtree.nodes where org_id = $1 and depth = 5 order by id limit 1",
            &[&org],
        )
        .await
        .expect("a nested workspace")
        .get(0);
    let deltas = "select count(*) from private.rollup_pending where org_id = $1";
    let task: Uuid = client
        .query_one(
            "insert into showtree.tasks (org_id, node_id, title, status, due_at) \
             values ($1, $2, 'Rig the truss', 'active', now() - interval '14 days') returning id",
            &[&org, &node],
        )
        .await
        .expect("task")
        .get(0);
    let rows: i64 = client
        .query_one(deltas, &[&org])
        .await
        .expect("deltas")
        .get(0);
    assert_eq!(rows, 1, "one delta row for the task");
    let (line, pending) = root_counts(&client, org).await;
    assert_eq!(pending, 1);
    assert_eq!(line.get("tasks_active"), 1, "its status, pending");
    assert_eq!(line.get("tasks_overdue"), 1, "its due week, pending");
    while rollups::fold_all(&client, 100).await.expect("fold") > 0 {}
    assert_eq!(
        root_counts(&client, org).await,
        (line, 0),
        "folding changes nothing"
    );
    let due_week: String = client
        .query_one(
            "select private.rollup_week(due_at)::text from showtree.tasks where id = $1",
            &[&task],
        )
        .await
        .expect("due week")
        .get(0);
    assert_eq!(
        own_weeks(&client, org, node).await,
        vec![("-infinity".to_owned(), 1, 0), (due_week, 0, 1)],
        "the status in the undated week, the open count in the due week"
    );
    // closed: the old version out, the new one in (undated: not open)
    client
        .execute(
            "update showtree.tasks set status = 'completed' where id = $1",
            &[&task],
        )
        .await
        .expect("complete");
    let rows: i64 = client
        .query_one(deltas, &[&org])
        .await
        .expect("deltas")
        .get(0);
    assert_eq!(rows, 2, "the old version negated and the new one");
    let (line, pending) = root_counts(&client, org).await;
    assert_eq!(pending, 2);
    assert_eq!(line.get("tasks_active"), 0);
    assert_eq!(line.get("tasks_completed"), 1);
    assert_eq!(
        line.get("tasks_overdue"),
        0,
        "a completed task is not overdue"
    );
    check(&client, org, "completed, pending").await;
    while rollups::fold_all(&client, 100).await.expect("fold") > 0 {}
    assert_eq!(root_counts(&client, org).await, (line, 0));
    assert_eq!(
        own_weeks(&client, org, node).await,
        vec![("-infinity".to_owned(), 1, 0)],
        "the due week's row came to zero and went"
    );
    check(&client, org, "completed, folded").await;
}

#[tokio::test]
async fn a_fold_in_progress_makes_another_fold_of_the_organization_return_at_once() {
    let db = testing::migrated_db().await;
    let mut rng = StdRng::seed_from_u64(5);
    let (org, _) = seeded_org(&db, &mut rng).await;
    let a = db.client().await;
    let b = db.client().await;
    a.batch_execute(&format!(
        "insert into showtree.tasks (org_id, node_id, title) values ('{org}', '{org}', 't')"
    ))
    .await
    .expect("task");
    a.batch_execute("begin").await.expect("begin");
    assert_eq!(rollups::fold(&a, org, 10).await.expect("fold"), 1);
    // a writer is never held up by the fold
    b.batch_execute(&format!(
        "insert into showtree.tasks (org_id, node_id, title) values ('{org}', '{org}', 'u')"
    ))
    .await
    .expect("a write during the fold");
    assert_eq!(rollups::fold(&b, org, 10).await.expect("fold"), 0);
    a.batch_execute("commit").await.expect("commit");
    assert_eq!(rollups::fold(&b, org, 10).await.expect("fold"), 1);
}

/// The invoiced figures of the organization root's total, by status.
async fn invoiced(client: &Client, org: Uuid) -> BTreeMap<String, i64> {
    let (stored, _) = rollups::raw(client, org, org).await.expect("raw");
    let mut by_status = BTreeMap::new();
    for line in stored.values() {
        for status in rollups::INVOICE_STATUSES {
            let amount = line.get(&format!("invoiced_{status}_minor"));
            if amount != 0 {
                *by_status.entry(status.to_owned()).or_default() += amount;
            }
        }
    }
    by_status
}

/// Line deltas of `invoice` not folded yet.
async fn pending_lines(client: &Client, org: Uuid, invoice: Uuid) -> i64 {
    client
        .query_one(
            "select count(*) from private.rollup_line_deltas where org_id = $1 and invoice_id = $2",
            &[&org, &invoice],
        )
        .await
        .expect("pending line deltas")
        .get(0)
}

#[tokio::test]
async fn a_pending_line_follows_its_invoice_and_a_fold_skips_an_invoice_being_changed() {
    let db = testing::migrated_db().await;
    let mut rng = StdRng::seed_from_u64(11);
    let (org, vendor) = seeded_org(&db, &mut rng).await;
    let a = db.client().await;
    let b = db.client().await;
    while rollups::fold(&a, org, 1000).await.expect("fold") > 0 {}
    let before = invoiced(&a, org).await;
    let invoice = Uuid::now_v7();
    a.batch_execute(&format!(
        "insert into showtree.invoices (org_id, id, node_id, vendor_id, number, issued_on, status, currency) \
         values ('{org}', '{invoice}', '{org}', '{vendor}', 'pending-line', current_date, 'draft', 'USD');
         insert into showtree.invoice_lines (org_id, invoice_id, description, quantity, unit_amount_minor) \
         values ('{org}', '{invoice}', 'l', 1, 500)"
    ))
    .await
    .expect("an invoice with a line");
    assert_eq!(pending_lines(&a, org, invoice).await, 1);
    let added = |figures: &BTreeMap<String, i64>, status: &str| {
        figures.get(status).copied().unwrap_or(0) - before.get(status).copied().unwrap_or(0)
    };
    assert_eq!(added(&invoiced(&a, org).await, "draft"), 500);
    // the line's delta is still pending when the invoice changes status:
    // it is counted at the status the invoice has now, once
    a.batch_execute(&format!(
        "update showtree.invoices set status = 'active' where id = '{invoice}'"
    ))
    .await
    .expect("activate");
    let now = invoiced(&a, org).await;
    assert_eq!((added(&now, "draft"), added(&now, "active")), (0, 500));
    check(&a, org, "a pending line, its invoice activated").await;
    // a fold while another transaction changes the invoice leaves that
    // invoice's deltas pending, and holds nobody up
    b.batch_execute(&format!(
        "begin; update showtree.invoices set status = 'review' where id = '{invoice}'"
    ))
    .await
    .expect("a change in progress");
    rollups::fold(&a, org, 1000).await.expect("fold");
    assert_eq!(
        pending_lines(&a, org, invoice).await,
        1,
        "skipped while locked"
    );
    b.batch_execute("commit").await.expect("commit");
    let now = invoiced(&a, org).await;
    assert_eq!((added(&now, "active"), added(&now, "review")), (0, 500));
    while rollups::fold(&a, org, 1000).await.expect("fold") > 0 {}
    assert_eq!(
        pending_lines(&a, org, invoice).await,
        0,
        "folded once unlocked"
    );
    assert_eq!(added(&invoiced(&a, org).await, "review"), 500);
    check(&a, org, "folded at review").await;
    // a deleted invoice's pending deltas count nothing, are dropped when
    // folded, and its restore counts its lines again
    a.batch_execute(&format!(
        "insert into showtree.invoice_lines (org_id, invoice_id, description, quantity, unit_amount_minor) \
         values ('{org}', '{invoice}', 'm', 2, 100);
         update showtree.invoices set deleted_at = now() where id = '{invoice}'"
    ))
    .await
    .expect("a line, then the invoice deleted");
    assert_eq!(added(&invoiced(&a, org).await, "review"), 0);
    while rollups::fold(&a, org, 1000).await.expect("fold") > 0 {}
    assert_eq!(pending_lines(&a, org, invoice).await, 0, "dropped");
    a.batch_execute(&format!(
        "update showtree.invoices set deleted_at = null where id = '{invoice}'"
    ))
    .await
    .expect("restore");
    assert_eq!(added(&invoiced(&a, org).await, "review"), 700);
    check(&a, org, "restored").await;
    // an invoice deleted for good takes its pending deltas' figures along
    a.batch_execute(&format!(
        "insert into showtree.invoice_lines (org_id, invoice_id, description, quantity, unit_amount_minor) \
         values ('{org}', '{invoice}', 'n', 1, 50);
         delete from showtree.invoices where id = '{invoice}'"
    ))
    .await
    .expect("a line, then the invoice deleted for good");
    assert_eq!(invoiced(&a, org).await, before);
    while rollups::fold(&a, org, 1000).await.expect("fold") > 0 {}
    assert_eq!(pending_lines(&a, org, invoice).await, 0, "gone with it");
    assert_eq!(invoiced(&a, org).await, before);
    check(&a, org, "deleted for good, folded").await;
}

#[tokio::test]
async fn a_line_written_while_its_invoice_is_being_restored_is_counted() {
    let db = testing::migrated_db().await;
    let mut rng = StdRng::seed_from_u64(12);
    let (org, vendor) = seeded_org(&db, &mut rng).await;
    let a = db.client().await;
    let b = db.client().await;
    let invoice = Uuid::now_v7();
    a.batch_execute(&format!(
        "insert into showtree.invoices (org_id, id, node_id, vendor_id, number, issued_on, status, currency, deleted_at) \
         values ('{org}', '{invoice}', '{org}', '{vendor}', 'restored', current_date, 'draft', 'USD', now())"
    ))
    .await
    .expect("a deleted invoice");
    let before = invoiced(&a, org).await;
    // the restore is in progress (not committed) while the line is written:
    // the line's transaction sees the invoice deleted, the restore does not
    // see the line; the line must count once both commit (migration 0025's
    // trigger read the invoice deleted and wrote nothing)
    b.batch_execute(&format!(
        "begin; update showtree.invoices set deleted_at = null where id = '{invoice}'"
    ))
    .await
    .expect("a restore in progress");
    a.batch_execute(&format!(
        "insert into showtree.invoice_lines (org_id, invoice_id, description, quantity, unit_amount_minor) \
         values ('{org}', '{invoice}', 'l', 1, 300)"
    ))
    .await
    .expect("a line, not held up by the restore");
    b.batch_execute("commit").await.expect("commit");
    let draft = |figures: &BTreeMap<String, i64>| figures.get("draft").copied().unwrap_or(0);
    assert_eq!(draft(&invoiced(&a, org).await) - draft(&before), 300);
    check(&a, org, "restored beside a line").await;
    while rollups::fold(&a, org, 1000).await.expect("fold") > 0 {}
    assert_eq!(draft(&invoiced(&a, org).await) - draft(&before), 300);
    check(&a, org, "restored beside a line, folded").await;
}

#[tokio::test]
async fn crew_cost_is_flat_per_hour_or_per_started_day() {
    let db = testing::migrated_db().await;
    let client = db.client().await;
    for (rate, unit, hours, cost) in [
        (1000_i64, "flat", 3.0, Some(1000_i64)),
        (1000, "hour", 8.5, Some(8500)),
        (333, "hour", 0.5, Some(167)),
        (20000, "day", 10.0, Some(20000)),
        (20000, "day", 30.0, Some(40000)),
    ] {
        let got: Option<i64> = client
            .query_one(
                "select private.crew_cost_minor($1, $2::text::showtree.rate_unit, \
                 now(), now() + $3 * interval '1 hour')",
                &[&rate, &unit, &hours],
            )
            .await
            .expect("cost")
            .get(0);
        assert_eq!(got, cost, "{rate} {unit} {hours}");
    }
    let missing: Option<i64> = client
        .query_one(
            "select private.crew_cost_minor(10, 'hour', null, null)",
            &[],
        )
        .await
        .expect("cost")
        .get(0);
    assert_eq!(missing, None);
}
