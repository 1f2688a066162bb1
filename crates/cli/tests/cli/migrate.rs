use showtree_db::migrate::Migrator;
use showtree_db::testing;

use crate::{ok_stdout, showtree};

#[tokio::test]
async fn two_concurrent_migrate_up_processes_apply_each_migration_once() {
    let db = testing::empty_db().await;
    let (a, b) = tokio::join!(
        showtree(db.url(), &["migrate", "up"]),
        showtree(db.url(), &["migrate", "up"])
    );
    let (a, b) = (ok_stdout(&a), ok_stdout(&b));
    let migrations = Migrator::embedded().migrations().len();
    let applied_lines = a
        .lines()
        .chain(b.lines())
        .filter(|l| l.starts_with("applied "))
        .count();
    assert_eq!(
        applied_lines, migrations,
        "each migration reported applied once:\n{a}\n{b}"
    );
    let client = db.client().await;
    let rows: Vec<(i64, i64)> = client
        .query("select version, count(*) from showtree_meta.schema_migrations group by version order by version", &[])
        .await
        .expect("bookkeeping")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let expected: Vec<(i64, i64)> = Migrator::embedded()
        .migrations()
        .iter()
        .map(|m| (m.version, 1))
        .collect();
    assert_eq!(rows, expected);
}

#[tokio::test]
async fn down_to_each_version_and_up_again_through_the_command() {
    let db = testing::empty_db().await;
    ok_stdout(&showtree(db.url(), &["migrate", "up"]).await);
    // the versions as the files number them (the runner allows gaps)
    let mut versions: Vec<i64> = Migrator::embedded()
        .migrations()
        .iter()
        .map(|m| m.version)
        .collect();
    let latest = Migrator::embedded().latest();
    let mut pending = 0;
    while let Some(newest) = versions.pop() {
        let target = versions.last().copied().unwrap_or(0);
        let out =
            ok_stdout(&showtree(db.url(), &["migrate", "down", "--to", &target.to_string()]).await);
        assert!(out.contains(&format!("reverted {newest}")), "{out}");
        pending += 1;
        let status = ok_stdout(&showtree(db.url(), &["migrate", "status"]).await);
        let shown = status.lines().filter(|l| l.ends_with("pending")).count();
        assert_eq!(shown, pending, "{status}");
    }
    let client = db.client().await;
    let schemas: i64 = client
        .query_one(
            "select count(*) from pg_namespace where nspname in ('showtree', 'private', 'auth')",
            &[],
        )
        .await
        .expect("schemas")
        .get(0);
    assert_eq!(
        schemas, 0,
        "down to 0 removes every schema the migrations created"
    );
    ok_stdout(&showtree(db.url(), &["migrate", "up"]).await);
    let up_again = ok_stdout(&showtree(db.url(), &["migrate", "up"]).await);
    assert!(up_again.contains("up to date"));
    // plain `down` reverts only the newest
    let one = ok_stdout(&showtree(db.url(), &["migrate", "down"]).await);
    assert_eq!(one.trim(), format!("reverted {latest}"));
}

#[tokio::test]
async fn verify_passes_on_the_real_migrations() {
    let admin = testing::admin_url().await;
    let out = showtree(&admin, &["migrate", "verify"]).await;
    let text = ok_stdout(&out);
    assert!(!text.is_empty());
}
