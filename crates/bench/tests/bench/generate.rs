use showtree_bench::generate::{self, MARKER, Options, Table};
use showtree_core::NodeKind;
use showtree_db::testing::{self, TestDb};
use tokio_postgres::Client;

/// A throwaway database the generator may replace (it carries the
/// generator's marker), dropped when the test ends however it ends.
async fn generator_db() -> (TestDb, Client) {
    let db = testing::empty_db().await;
    let admin = testing::connect(&testing::admin_url().await).await;
    admin
        .batch_execute(&format!(
            "comment on database \"{}\" is '{MARKER}: test'",
            db.name()
        ))
        .await
        .expect("mark the database");
    (db, admin)
}

async fn generate(db: &TestDb, scale: f64, seed: u64, jobs: usize) -> generate::Summary {
    let opts = Options {
        scale,
        seed,
        jobs,
        database: db.name().to_owned(),
        ..Options::default()
    };
    generate::generate(&testing::admin_url().await, &opts)
        .await
        .expect("generate")
}

/// An md5 of every row of every generated table, by table.
async fn checksums(client: &Client) -> Vec<(Table, String)> {
    let mut sums = Vec::new();
    for table in Table::ALL {
        let sum: String = client
            .query_one(
                &format!(
                    "select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {} t",
                    table.qualified()
                ),
                &[],
            )
            .await
            .expect("checksum")
            .get(0);
        sums.push((table, sum));
    }
    sums
}

#[tokio::test]
async fn the_same_seed_gives_the_same_bytes_whatever_the_jobs_and_another_seed_does_not() {
    let ((a, _admin_a), (b, _admin_b), (c, _admin_c)) =
        tokio::join!(generator_db(), generator_db(), generator_db());
    generate(&a, 0.001, 7, 2).await;
    generate(&b, 0.001, 7, 1).await;
    generate(&c, 0.001, 8, 2).await;

    let (sa, sb, sc) = tokio::join!(
        async { checksums(&a.client().await).await },
        async { checksums(&b.client().await).await },
        async { checksums(&c.client().await).await }
    );
    assert_eq!(
        sa, sb,
        "one seed, one data set (every column, ids and timestamps included)"
    );
    for ((table, x), (_, z)) in sa.iter().zip(&sc) {
        assert_ne!(x, z, "{table:?} differs with another seed");
    }
}

#[tokio::test]
async fn a_generated_database_has_the_scales_counts_and_breaks_no_rule() {
    let (db, _admin) = generator_db().await;
    let summary = generate(&db, 0.001, 3, 2).await;
    let mut client = db.client().await;

    // What the summary says is what the tables hold.
    for table in Table::ALL {
        let n: i64 = client
            .query_one(&format!("select count(*) from {}", table.qualified()), &[])
            .await
            .expect("count")
            .get(0);
        assert_eq!(n as u64, summary.rows(table), "{table:?}");
        assert!(n > 0, "{table:?} has rows");
    }
    // The scale's formula: exact organizations and projects, every level
    // below them, about 10 million domain rows per unit of scale.
    let (orgs, projects) = generate::orgs_and_projects(0.001);
    assert_eq!((orgs, projects), (1, 100));
    assert_eq!(summary.nodes_by_kind[0], u64::from(orgs));
    assert_eq!(summary.nodes_by_kind[1], u64::from(projects));
    assert_eq!(summary.rows(Table::Organizations), u64::from(orgs));
    assert_eq!(summary.rows(Table::Projects), u64::from(projects));
    let k = summary.nodes_by_kind;
    assert!(k[2] >= k[1] && k[3] >= k[2] && k[4] >= k[3], "{k:?}");
    assert_eq!(summary.rows(Table::Nodes), k.iter().sum::<u64>());
    let target = generate::target_domain_rows(0.001);
    let domain = summary.domain_rows() as f64;
    assert!(
        (0.75 * target..=1.35 * target).contains(&domain),
        "{domain} domain rows, about {target} expected"
    );
    // Sub-workspaces nest several levels, within the ten allowed.
    let depths = &summary.nodes_by_depth;
    assert!(depths.len() >= 7 && depths.len() <= 10, "{depths:?}");
    assert!(summary.restricted > 0);
    // Grants at every level, owners at the roots.
    let levels: Vec<(String, String)> = client
        .query(
            "select distinct n.kind::text, g.role::text from showtree.grants g
               join showtree.nodes n on n.org_id = g.org_id and n.id = g.node_id",
            &[],
        )
        .await
        .expect("grants by level")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for kind in NodeKind::ALL {
        assert!(
            levels.iter().any(|l| l.0 == kind.as_str()),
            "grants at {kind:?}: {levels:?}"
        );
    }
    assert!(levels.contains(&("organization".to_owned(), "owner".to_owned())));

    // Every check ran (foreign keys, check constraints, ancestry, detail
    // rows, grant and schedule rules) and found nothing.
    assert!(
        summary.checks.len() > 150,
        "{} checks",
        summary.checks.len()
    );
    for name in [
        "foreign key showtree.tasks.tasks_node_fkey",
        "check showtree.tasks.tasks_completed_at_check",
    ] {
        assert!(
            summary.checks.iter().any(|c| c.name == name),
            "{name} was checked"
        );
    }
    assert_eq!(summary.violations().count(), 0);

    // `showtree audit` (reading status values too) finds nothing, and the
    // schema is exactly what the migrations make: every index dropped for
    // the load is back.
    let report = showtree_audit::audit(
        &mut client,
        &showtree_audit::Options {
            schemas: Vec::new(),
            sample: true,
        },
        &showtree_audit::Config::default(),
    )
    .await
    .expect("audit");
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let fresh = testing::migrated_db().await;
    let expected = showtree_db::catalog::snapshot(&fresh.client().await)
        .await
        .expect("snapshot");
    let actual = showtree_db::catalog::snapshot(&client)
        .await
        .expect("snapshot");
    assert_eq!(expected.diff(&actual), vec![]);

    // The checks are not vacuous: break what the disabled triggers guard
    // (and add a check constraint no row meets, marked not valid).
    client
        .batch_execute(
            "set session_replication_role = replica;
             update showtree.nodes set depth = depth + 1, ancestors = ancestors || id
              where id = (select id from showtree.nodes where kind = 'workspace' order by id limit 1);
             update showtree.tasks set node_id = gen_random_uuid()
              where id = (select id from showtree.tasks order by id limit 1);
             delete from showtree.workspaces
              where node_id = (select id from showtree.nodes where kind = 'workspace' order by id desc limit 1);
             delete from showtree.grants where role = 'owner';
             reset session_replication_role;
             alter table showtree.tasks add constraint tasks_never_check check (false) not valid;",
        )
        .await
        .expect("break the data");
    let broken: Vec<String> = generate::verify(&mut client)
        .await
        .expect("verify")
        .into_iter()
        .filter(|c| c.violations > 0)
        .map(|c| c.name)
        .collect();
    for expected in [
        "foreign key showtree.tasks.tasks_node_fkey",
        "check showtree.tasks.tasks_never_check",
        "nodes: ancestors and depth follow the parent, kind rule",
        "nodes: every node has its level's detail row",
        "grants: every organization keeps a live owner at its root",
    ] {
        assert!(
            broken.iter().any(|b| b == expected),
            "{expected} in {broken:?}"
        );
    }
}

#[tokio::test]
async fn the_generator_refuses_a_database_it_did_not_create() {
    let db = testing::empty_db().await;
    let opts = Options {
        database: db.name().to_owned(),
        ..Options::default()
    };
    let err = generate::generate(&testing::admin_url().await, &opts)
        .await
        .expect_err("the database is not the generator's");
    assert!(
        err.to_string().contains("was not created by the generator"),
        "{err:#}"
    );
    db.client()
        .await
        .batch_execute("select 1")
        .await
        .expect("the database is still there");
}

/// The roll-up triggers are off while loading: the generator builds the
/// totals afterwards, and they equal a brute-force recomputation.
#[tokio::test]
async fn a_generated_database_rolls_up_exactly() {
    let (db, _admin) = generator_db().await;
    generate(&db, 0.001, 7, 2).await;
    let client = db.client().await;
    let nodes: Vec<(uuid::Uuid, uuid::Uuid)> = client
        .query(
            "(select org_id, id from showtree.nodes where kind = 'organization' order by id)
             union all
             (select org_id, id from showtree.nodes where kind <> 'organization'
               order by md5(id::text) limit 40)",
            &[],
        )
        .await
        .expect("nodes")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut with_money = 0;
    for (org_id, node_id) in nodes {
        client.batch_execute("begin").await.expect("begin");
        let (raw, _) = showtree_db::rollups::raw(&client, org_id, node_id)
            .await
            .expect("roll-up");
        let brute = showtree_db::rollups::brute_force(&client, org_id, node_id)
            .await
            .expect("brute force");
        client.batch_execute("commit").await.expect("commit");
        assert_eq!(raw, brute, "node {node_id}");
        if !brute.is_empty() {
            with_money += 1;
        }
    }
    // not vacuous: the organizations' subtrees hold rows
    assert!(with_money > 0, "no node had any figure");
}

/// Subtree lists read large subtrees in id order and small ones node by
/// node (`domain::list`): on generated data with an organization above the
/// switch, both ways give, page after page, exactly the rows a plain query
/// over the subtree gives, as the organization's owner under RLS.
#[tokio::test]
async fn subtree_task_pages_are_the_same_whichever_way_the_subtree_is_read() {
    use showtree_db::domain::{self, ListQuery, Scope, tables};
    use showtree_db::pool::{Caller, Db};

    let (db, _admin) = generator_db().await;
    generate(&db, 0.01, 11, 2).await;
    let client = db.client().await;
    let org = client
        .query_one(
            "select org_id, count(*) from showtree.nodes group by 1 order by 2 desc limit 1",
            &[],
        )
        .await
        .expect("largest organization");
    let (org_id, nodes): (uuid::Uuid, i64) = (org.get(0), org.get(1));
    assert!(nodes > 2_001, "the largest organization has {nodes} nodes");
    let owner: uuid::Uuid = client
        .query_one(
            "select user_id from showtree.grants where org_id = $1 and node_id = $1 and role = 'owner' limit 1",
            &[&org_id],
        )
        .await
        .expect("owner")
        .get(0);
    // the root (large), and the production with the most tasks (small)
    let production: uuid::Uuid = client
        .query_one(
            "select n.ancestors[3] from showtree.tasks t join showtree.nodes n
                on n.org_id = t.org_id and n.id = t.node_id
              where t.org_id = $1 and n.depth > 2 group by 1 order by count(*) desc limit 1",
            &[&org_id],
        )
        .await
        .expect("production")
        .get(0);
    let pool = Db::new(&db.app_url(), 1).expect("pool");
    let caller = Caller::user(owner);
    for root in [org_id, production] {
        let expected: Vec<uuid::Uuid> = client
            .query(
                "select t.id from showtree.tasks t
                   join showtree.nodes n on n.org_id = t.org_id and n.id = t.node_id
                   join showtree.nodes r on r.org_id = $1 and r.id = $2
                  where t.org_id = $1 and t.deleted_at is null and n.deleted_at is null
                    and (n.id = r.id or r.id = any(n.ancestors))
                  order by t.id",
                &[&org_id, &root],
            )
            .await
            .expect("expected rows")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(!expected.is_empty());
        let mut got: Vec<uuid::Uuid> = Vec::new();
        let mut after = None;
        loop {
            let q = ListQuery {
                org_id,
                scope: Scope::Subtree(root),
                status: None,
                assigned_to: None,
                tag: None,
                from: None,
                to: None,
                text: None,
                equals: Vec::new(),
                after,
                limit: 500,
            };
            let page = pool
                .run_as(&caller, async |c| domain::list(c, &tables::TASKS, &q).await)
                .await
                .expect("a page");
            let ids: Vec<uuid::Uuid> = page
                .iter()
                .map(|v| v["id"].as_str().expect("id").parse().expect("uuid"))
                .collect();
            got.extend(&ids);
            if ids.len() < 500 {
                break;
            }
            after = ids.last().copied();
        }
        assert_eq!(got, expected, "subtree of {root}");
    }
}
