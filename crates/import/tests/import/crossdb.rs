//! Importing from another database: the legacy tables in one database,
//! showtree's schema in another, read through postgres_fdw; dual-write is
//! asynchronous (the legacy side logs, the target drains).

use std::time::Duration;

use showtree_db::testing::{self, TestDb};
use showtree_import::backfill::{self, BackfillArgs};
use showtree_import::fdw::LegacyUrl;
use showtree_import::state::{Phase, Session};
use showtree_import::{ImportCommand, ImportError, cutover, dualwrite, expand, rollback, validate};

use crate::support::{self, Writer};

/// A legacy database (flat layout, generated rows) and an empty showtree
/// database beside it.
struct Pair {
    legacy: TestDb,
    target: TestDb,
}

impl Pair {
    async fn new() -> Pair {
        Pair {
            legacy: support::bare_legacy_db(support::size()).await,
            target: testing::empty_db().await,
        }
    }

    fn legacy_url(&self) -> LegacyUrl {
        self.legacy.url().parse().expect("legacy URL")
    }

    /// The import's session on the target, reading the legacy database.
    async fn session(&self) -> Session {
        let url = self.legacy_url();
        let mut tries = 0;
        loop {
            match Session::connect_with(self.target.url(), Some(&url)).await {
                Ok(s) => return s,
                Err(ImportError::State(_)) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("import session: {e}"),
            }
        }
    }
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client()
        .await
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

fn args() -> BackfillArgs {
    BackfillArgs {
        rows_per_second: 4_000,
        batch_size: 50,
        preflight: false,
    }
}

#[tokio::test]
async fn imports_from_another_database_with_legacy_writes_throughout() {
    let p = Pair::new().await;
    let mut s = p.session().await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    // showtree's schema went to the target, the change log to the legacy side
    assert_eq!(
        count(&p.target, "select count(*) from pg_namespace where nspname in ('showtree', 'showtree_import', 'showtree_import_src')").await,
        3
    );
    assert_eq!(
        count(
            &p.legacy,
            "select count(*) from pg_namespace where nspname like 'showtree%'"
        )
        .await,
        1
    );

    // the target logs through the foreign table too (the backfill defers
    // rows waiting for an owner so): the legacy side numbers them
    let t = p.target.client().await;
    t.batch_execute(
        "insert into showtree_import.changes (legacy_table, legacy_id) values ('tasks', 'probe')",
    )
    .await
    .expect("logging through the foreign table");
    assert_eq!(
        count(
            &p.legacy,
            "select count(*) from showtree_import.changes where legacy_id = 'probe' and seq > 0"
        )
        .await,
        1
    );
    t.batch_execute("delete from showtree_import.changes where legacy_id = 'probe'")
        .await
        .expect("draining through the foreign table");

    // the old application writes (inserts, updates, deletes) during the backfill
    let writer = Writer::start(&p.legacy, 0).await;
    backfill::backfill(&mut s, &args()).await.expect("backfill");
    assert!(writer.stop().await > 0);
    assert_eq!(s.require().await.expect("state").phase, Phase::Backfilled);
    // the rows went to the target; the legacy database got only the capture
    assert!(count(&p.target, "select count(*) from showtree.tasks").await > 0);
    assert_eq!(
        count(
            &p.legacy,
            "select count(*) from pg_trigger where tgname = 'showtree_import_capture'"
        )
        .await,
        count(
            &p.legacy,
            "select count(*) from pg_tables where schemaname = 'public'"
        )
        .await
    );

    // asynchronous dual-write: the log is drained once, then followed
    // while the old application keeps writing
    dualwrite::enable(&mut s).await.expect("dual-write");
    assert_eq!(s.require().await.expect("state").phase, Phase::DualWrite);
    let writer = Writer::start(&p.legacy, 100_000).await;
    let followed = dualwrite::follow(&mut s, tokio::time::sleep(Duration::from_millis(2_500)))
        .await
        .expect("follow");
    let written = writer.stop().await;
    assert!(
        written > 0 && followed > 0,
        "{written} writes, {followed} copied"
    );
    support::write(&p.legacy, 1_000_000, 20).await;
    // one shot: drains until empty
    dualwrite::enable(&mut s).await.expect("catch-up");
    assert_eq!(
        count(&p.legacy, "select count(*) from showtree_import.changes").await,
        0
    );

    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));

    // writes right before cutover are caught up by it, under the legacy
    // lock; the old application keeps writing through it (a write that
    // failed on the lock would fail the writer)
    support::write(&p.legacy, 2_000_000, 10).await;
    let writer = Writer::start(&p.legacy, 3_000_000).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = cutover::cutover(&mut s, false, false)
        .await
        .expect("cutover");
    assert!(text.contains("caught up"), "{text}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(writer.stop().await > 0);
    assert_eq!(s.require().await.expect("state").phase, Phase::Cutover);
    assert!(
        cutover::cutover(&mut s, true, false).await.is_ok(),
        "a second cutover is a no-op"
    );
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));

    // contract: the legacy tables and the change log go from the legacy
    // database, the foreign objects from the target; showtree keeps its rows
    let text = cutover::contract(&mut s).await.expect("contract");
    assert!(text.contains("legacy database"), "{text}");
    assert_eq!(
        count(
            &p.legacy,
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname in ('public', 'showtree_import') and c.relkind = 'r'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &p.target,
            "select (select count(*) from pg_foreign_server) + (select count(*) from pg_foreign_table)
                  + (select count(*) from pg_extension where extname = 'postgres_fdw')
                  + (select count(*) from pg_namespace where nspname = 'showtree_import_src')"
        )
        .await,
        0
    );
    assert!(count(&p.target, "select count(*) from showtree.tasks").await > 0);
    drop(s);
    // the import is now one of this database alone
    let mut plain = support::session(&p.target).await;
    let status = showtree_import::state::status(&mut plain)
        .await
        .expect("status");
    assert!(status.contains("phase: contracted"), "{status}");
}

/// Runs the path up to `phase` (legacy writes along the way), rolls
/// everything back and compares the legacy database's dumps.
async fn rolled_back_apart_from(phase: Phase) {
    let p = Pair::new().await;
    let schema_before = support::dump(&p.legacy, &["--schema-only"]);
    let mut s = p.session().await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    if phase == Phase::Backfilling {
        // interrupted: a few batches only, then the connection is gone
        let writer = Writer::start(&p.legacy, 1_000).await;
        let slow = BackfillArgs {
            rows_per_second: 200,
            ..args()
        };
        let run = tokio::time::timeout(
            Duration::from_millis(1_500),
            backfill::backfill(&mut s, &slow),
        )
        .await;
        assert!(
            run.is_err(),
            "the backfill finished too soon to be interrupted"
        );
        writer.stop().await;
        drop(s);
        s = p.session().await;
        assert_eq!(s.require().await.expect("state").phase, Phase::Backfilling);
    }
    if phase >= Phase::Backfilled {
        let writer = Writer::start(&p.legacy, 1_000).await;
        backfill::backfill(&mut s, &args()).await.expect("backfill");
        writer.stop().await;
    }
    if phase >= Phase::DualWrite {
        dualwrite::enable(&mut s).await.expect("dual-write");
        support::write(&p.legacy, 1_000_004, 30).await;
        dualwrite::enable(&mut s).await.expect("catch-up");
        let outcome = validate::validate(&mut s).await.expect("validate");
        assert!(outcome.is_clean(), "{}", outcome.render(0));
    }
    if phase >= Phase::Cutover {
        cutover::cutover(&mut s, false, false)
            .await
            .expect("cutover");
        support::write(&p.legacy, 2_000_004, 10).await;
    }
    let data_before = support::legacy_data(&p.legacy);
    let done = rollback::rollback(&mut s, true)
        .await
        .expect("rollback --all");
    assert!(
        done.last().is_some_and(|l| l.contains("expand")),
        "{done:?}"
    );
    assert!(s.state().await.expect("state").is_none());
    support::assert_same(
        &data_before,
        &support::legacy_data(&p.legacy),
        "the legacy rows",
    );
    // the whole legacy database: no schema, function or trigger left
    support::assert_same(
        &schema_before,
        &support::dump(&p.legacy, &["--schema-only"]),
        "the legacy database's definitions",
    );
    let left = count(
        &p.target,
        "select (select count(*) from pg_namespace where nspname like 'showtree%')
              + (select count(*) from pg_foreign_server)
              + (select count(*) from pg_extension where extname = 'postgres_fdw')",
    )
    .await;
    assert_eq!(left, 0, "schemas or foreign objects left in the target");
}

#[tokio::test]
async fn rollback_apart_from_expand_leaves_both_databases_as_they_were() {
    rolled_back_apart_from(Phase::Expanded).await;
}

#[tokio::test]
async fn rollback_apart_from_an_interrupted_backfill_leaves_both_databases_as_they_were() {
    rolled_back_apart_from(Phase::Backfilling).await;
}

#[tokio::test]
async fn rollback_apart_from_backfill_leaves_both_databases_as_they_were() {
    rolled_back_apart_from(Phase::Backfilled).await;
}

#[tokio::test]
async fn rollback_apart_from_dual_write_leaves_both_databases_as_they_were() {
    rolled_back_apart_from(Phase::DualWrite).await;
}

#[tokio::test]
async fn rollback_apart_from_cutover_leaves_both_databases_as_they_were() {
    rolled_back_apart_from(Phase::Cutover).await;
}

#[tokio::test]
async fn an_unreachable_legacy_database_is_a_clear_error() {
    let target = testing::empty_db().await;
    // a port nothing listens on
    let url: LegacyUrl = "postgres://postgres@127.0.0.1:1/nowhere"
        .parse()
        .expect("URL");
    let err = Session::connect_with(target.url(), Some(&url))
        .await
        .expect_err("no legacy database there");
    let msg = err.to_string();
    assert!(
        msg.contains("connecting to the legacy database postgres://postgres@127.0.0.1:1/nowhere"),
        "{msg}"
    );
    assert!(
        "postgres://a@h:1/d?host=x&host=y"
            .parse::<LegacyUrl>()
            .is_err(),
        "two hosts are refused"
    );
}

#[tokio::test]
async fn the_legacy_url_is_stored_without_its_password_and_required_again() {
    let p = Pair::new().await;
    let mut s = p.session().await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    drop(s);
    // without --legacy-url: refused, naming the database to give
    let mut plain = support::session(&p.target).await;
    let err = backfill::backfill(&mut plain, &args())
        .await
        .expect_err("the legacy URL is required");
    assert!(
        matches!(err, ImportError::Usage(_)) && err.to_string().contains("--legacy-url"),
        "{err}"
    );
    drop(plain);
    // another legacy database: refused too
    let other = testing::empty_db().await;
    let url: LegacyUrl = other.url().parse().expect("URL");
    let s = Session::connect_with(p.target.url(), Some(&url))
        .await
        .expect("session");
    assert!(s.require().await.is_err());
    drop(s);
    // the state holds the URL without any password
    let stored = count(
        &p.target,
        "select count(*) from showtree_import.state where legacy_url like 'postgres://postgres@%'",
    )
    .await;
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn a_password_in_the_legacy_url_is_never_stored() {
    let p = Pair::new().await;
    // trust authentication accepts (and ignores) the password
    let with_password = p.legacy.url().replacen("postgres@", "postgres:s3cret@", 1);
    assert_ne!(with_password, p.legacy.url());
    let url: LegacyUrl = with_password.parse().expect("URL");
    assert!(!format!("{url:?} {url}").contains("s3cret"));
    let file = std::env::temp_dir().join(format!("{}-mapping.toml", p.target.name()));
    std::fs::write(&file, support::MAPPING).expect("mapping file");
    // the command line's entry: the user mapping holds the password only
    // while a command runs
    for cmd in [
        ImportCommand::Expand {
            mapping: file.clone(),
        },
        ImportCommand::Status,
    ] {
        let code = showtree_import::run(cmd, p.target.url(), Some(&url)).await;
        assert_eq!(code, std::process::ExitCode::SUCCESS);
    }
    let _ = std::fs::remove_file(&file);
    let leaked = count(
        &p.target,
        "select (select count(*) from showtree_import.state where legacy_url like '%s3cret%')
              + (select count(*) from pg_user_mapping where array_to_string(umoptions, ',') like '%s3cret%')",
    )
    .await;
    assert_eq!(leaked, 0);
    let mapped = count(&p.target, "select count(*) from pg_user_mapping").await;
    assert_eq!(mapped, 1);
}

#[tokio::test]
async fn follow_is_refused_within_one_database_without_async_dual_write() {
    let db = support::legacy_db(support::size()).await;
    let mut s = support::session(&db).await;
    let err = dualwrite::follow(&mut s, std::future::ready(()))
        .await
        .expect_err("synchronous dual-write has nothing to follow");
    assert!(matches!(err, ImportError::Usage(_)), "{err}");
}

#[tokio::test]
async fn an_interrupted_backfill_from_another_database_resumes_and_validates_clean() {
    let p = Pair::new().await;
    let mut s = p.session().await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    let writer = Writer::start(&p.legacy, 5_000).await;
    let slow = BackfillArgs {
        rows_per_second: 200,
        ..args()
    };
    let run = tokio::time::timeout(
        Duration::from_millis(1_500),
        backfill::backfill(&mut s, &slow),
    )
    .await;
    assert!(
        run.is_err(),
        "the backfill finished too soon to be interrupted"
    );
    drop(s);
    let mut s = p.session().await;
    let summary = backfill::backfill(&mut s, &args()).await.expect("resumed");
    assert!(summary.resumed);
    writer.stop().await;
    dualwrite::enable(&mut s).await.expect("dual-write");
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}

#[tokio::test]
async fn cutover_from_another_database_rechecks_under_the_lock_what_changed_after_its_validation() {
    let p = Pair::new().await;
    let mut s = p.session().await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    backfill::backfill(&mut s, &BackfillArgs::default())
        .await
        .expect("backfill");
    dualwrite::enable(&mut s).await.expect("dual-write");
    let legacy = p.legacy.client().await;
    let key = |n: i64| {
        let legacy = &legacy;
        async move {
            legacy
                .query_one(
                    "select id::text from tasks order by id offset $1 limit 1",
                    &[&n],
                )
                .await
                .expect("a legacy task")
                .get::<_, String>(0)
        }
    };

    // a showtree row changed by hand (triggers off): the full validation refuses
    let tampered = key(2).await;
    p.target
        .client()
        .await
        .batch_execute(&format!(
            "set session_replication_role = replica;
             update showtree.tasks set title = title || ' (tampered)'
              where id = (select new_id from showtree_import.map_tasks where legacy_id = '{tampered}');"
        ))
        .await
        .expect("tampering");
    let err = cutover::cutover(&mut s, false, false)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains(&tampered), "{err}");
    legacy
        .batch_execute(&format!(
            "update tasks set title = title where id = '{tampered}'"
        ))
        .await
        .expect("legacy write");

    // clean now; a write the mapping cannot take lands between the full
    // validation and the lock: the locked re-check of the keys refuses
    let prepared = cutover::prepare(&mut s, false).await.expect("validated");
    support::write(&p.legacy, 9_000, 14).await;
    let bad = key(4).await;
    legacy
        .batch_execute(&format!(
            "update tasks set status = 'bogus' where id = '{bad}'"
        ))
        .await
        .expect("legacy write");
    let err = cutover::finish(&mut s, prepared, false, false)
        .await
        .expect_err("refused under the lock");
    let text = err.to_string();
    assert!(
        text.contains("changed since the full validation") && text.contains(&bad),
        "{text}"
    );
    assert_eq!(s.require().await.expect("state").phase, Phase::DualWrite);
    // the lock was released: the legacy application writes on
    support::write(&p.legacy, 10_000, 14).await;

    legacy
        .batch_execute(&format!(
            "update tasks set status = 'done' where id = '{bad}'"
        ))
        .await
        .expect("legacy write");
    let prepared = cutover::prepare(&mut s, false).await.expect("validated");
    support::write(&p.legacy, 11_000, 14).await;
    cutover::finish(&mut s, prepared, false, false)
        .await
        .expect("cutover");
    assert_eq!(s.require().await.expect("state").phase, Phase::Cutover);
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}
