//! The migration runner, catalog snapshots and `verify`, against real
//! PostgreSQL, using the fixture chains in `tests/fixtures/` and the
//! workspace's own (embedded) migrations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use showtree_db::catalog::{self, Difference};
use showtree_db::migrate::{self, Direction, MigrateError, MigrationState, Migrator};
use showtree_db::testing::{self, TestDb};
use tokio_postgres::Client;

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn fixture(name: &str) -> Migrator {
    Migrator::from_dir(&fixture_dir(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Versions recorded in the runner's bookkeeping, oldest first.
async fn recorded_versions(client: &Client) -> Result<Vec<i64>> {
    let rows = client
        .query(
            "select version from showtree_meta.schema_migrations order by version",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

async fn relation_exists(client: &Client, name: &str) -> Result<bool> {
    Ok(client
        .query_one("select to_regclass($1) is not null", &[&name])
        .await?
        .get(0))
}

/// `(version, times logged)` from the fixtures' `migration_log` table.
async fn log_counts(client: &Client) -> Result<Vec<(i64, i64)>> {
    let rows = client
        .query(
            "select version, count(*) from migration_log group by version order by version",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn versions(migrator: &Migrator) -> Vec<i64> {
    migrator.migrations().iter().map(|m| m.version).collect()
}

#[tokio::test]
async fn up_applies_all_then_is_current_and_a_second_up_applies_nothing() -> Result<()> {
    let db = testing::empty_db().await;
    let mut client = db.client().await;
    let migrator = fixture("migrations_chain");
    assert_eq!(versions(&migrator), [1, 2, 3]);
    assert_eq!(migrator.latest(), 3);

    assert!(!migrator.is_current(&client).await?);
    let status = migrator.status(&client).await?;
    assert!(
        status.iter().all(|s| s.state == MigrationState::Pending),
        "{status:?}"
    );

    assert_eq!(migrator.up(&mut client).await?, [1, 2, 3]);
    assert!(migrator.is_current(&client).await?);
    let status = migrator.status(&client).await?;
    assert_eq!(
        status.iter().map(|s| s.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(
        status
            .iter()
            .all(|s| matches!(s.state, MigrationState::Applied { .. })),
        "{status:?}"
    );
    assert_eq!(status[1].name, "tasks");

    assert_eq!(migrator.up(&mut client).await?, Vec::<i64>::new());
    assert_eq!(recorded_versions(&client).await?, [1, 2, 3]);
    assert_eq!(log_counts(&client).await?, [(1, 1), (2, 1), (3, 1)]);
    Ok(())
}

#[tokio::test]
async fn up_to_stops_at_the_target_and_down_to_above_the_latest_does_nothing() -> Result<()> {
    let db = testing::empty_db().await;
    let mut client = db.client().await;
    let migrator = fixture("migrations_chain");

    assert_eq!(migrator.up_to(&mut client, 2).await?, [1, 2]);
    assert!(!migrator.is_current(&client).await?);
    assert_eq!(
        migrator.status(&client).await?[2].state,
        MigrationState::Pending
    );
    assert_eq!(migrator.down_to(&mut client, 5).await?, Vec::<i64>::new());
    assert_eq!(migrator.down_to(&mut client, 2).await?, Vec::<i64>::new());
    assert_eq!(migrator.up(&mut client).await?, [3]);
    assert_eq!(migrator.down_to(&mut client, 0).await?, [3, 2, 1]);
    assert_eq!(recorded_versions(&client).await?, Vec::<i64>::new());
    assert!(!relation_exists(&client, "app.projects").await?);
    Ok(())
}

#[tokio::test]
async fn embedded_migrations_apply_then_are_current() -> Result<()> {
    // Whatever migrations/ holds right now, including nothing at all.
    let db = testing::empty_db().await;
    let mut client = db.client().await;
    let migrator = Migrator::embedded();

    assert_eq!(migrator.up(&mut client).await?, versions(&migrator));
    assert!(migrator.is_current(&client).await?);
    assert_eq!(migrator.up(&mut client).await?, Vec::<i64>::new());
    assert_eq!(recorded_versions(&client).await?, versions(&migrator));
    Ok(())
}

#[tokio::test]
async fn embedded_migrations_match_the_migrations_directory() -> Result<()> {
    // build.rs and from_dir implement the same rules; this also proves the
    // build picked up the directory's current files.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let on_disk = Migrator::from_dir(&dir)?;
    let embedded = Migrator::embedded();
    let summary = |m: &Migrator| {
        m.migrations()
            .iter()
            .map(|m| (m.version, m.name.clone(), m.checksum()))
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&embedded), summary(&on_disk));
    assert_eq!(embedded.fingerprint(), on_disk.fingerprint());
    Ok(())
}

#[tokio::test]
async fn down_to_each_version_then_up_again_restores_identical_catalog() -> Result<()> {
    let db = testing::empty_db().await;
    let mut client = db.client().await;
    let migrator = fixture("migrations_chain");

    // snapshots[v] is the catalog with migrations 1..=v applied.
    let mut snapshots = vec![catalog::snapshot(&client).await?];
    for version in versions(&migrator) {
        assert_eq!(migrator.up_to(&mut client, version).await?, [version]);
        snapshots.push(catalog::snapshot(&client).await?);
    }
    for pair in snapshots.windows(2) {
        assert_ne!(
            pair[0], pair[1],
            "every fixture migration changes the catalog"
        );
    }

    for target in (0..3).rev() {
        assert_eq!(migrator.down_to(&mut client, target).await?, [target + 1]);
        let now = catalog::snapshot(&client).await?;
        let differences = snapshots[target as usize].diff(&now);
        assert!(
            differences.is_empty(),
            "down_to({target}): {differences:#?}"
        );
        assert_eq!(
            recorded_versions(&client).await?,
            (1..=target).collect::<Vec<_>>()
        );
    }

    assert_eq!(migrator.up(&mut client).await?, [1, 2, 3]);
    let differences = snapshots[3].diff(&catalog::snapshot(&client).await?);
    assert!(differences.is_empty(), "up again: {differences:#?}");
    Ok(())
}

#[tokio::test]
async fn changed_checksum_is_refused_and_changes_nothing() -> Result<()> {
    let db = testing::empty_db().await;
    let mut client = db.client().await;
    fixture("migrations_changed_before").up(&mut client).await?;
    let before = catalog::snapshot(&client).await?;

    let changed = fixture("migrations_changed_after");
    let err = changed
        .up(&mut client)
        .await
        .expect_err("a changed migration must be refused");
    match &err {
        MigrateError::ChecksumMismatch { version, name } => {
            assert_eq!((*version, name.as_str()), (1, "things"));
        }
        other => bail!("expected ChecksumMismatch, got {other:?}"),
    }
    assert!(err.to_string().contains("migration 1 (things)"), "{err}");

    assert!(!relation_exists(&client, "more_things").await?);
    assert_eq!(recorded_versions(&client).await?, [1]);
    assert_eq!(before, catalog::snapshot(&client).await?);

    // Reverting is refused too: the down script is no longer the one that
    // matches what was applied.
    assert!(matches!(
        changed.down_to(&mut client, 0).await,
        Err(MigrateError::ChecksumMismatch { version: 1, .. })
    ));
    assert!(relation_exists(&client, "things").await?);

    let status = changed.status(&client).await?;
    assert_eq!(status[0].state, MigrationState::Changed);
    assert_eq!(status[1].state, MigrationState::Pending);
    assert!(!changed.is_current(&client).await?);
    Ok(())
}

#[tokio::test]
async fn applied_migration_without_files_is_refused() -> Result<()> {
    let db = testing::empty_db().await;
    let mut client = db.client().await;
    fixture("migrations_chain").up(&mut client).await?;

    // The same chain without its newest migration: an older build.
    let older = tempfile::tempdir()?;
    for entry in std::fs::read_dir(fixture_dir("migrations_chain"))? {
        let path = entry?.path();
        let file = path.file_name().context("file name")?;
        if !file.to_string_lossy().starts_with("0003_") {
            std::fs::copy(&path, older.path().join(file))?;
        }
    }
    let older = Migrator::from_dir(older.path())?;

    let err = older
        .up(&mut client)
        .await
        .expect_err("unknown version must be refused");
    assert!(
        matches!(&err, MigrateError::UnknownApplied { version: 3, name } if name == "security"),
        "{err:?}"
    );
    let status = older.status(&client).await?;
    assert_eq!(
        status.last().map(|s| &s.state),
        Some(&MigrationState::Unknown)
    );
    assert!(!older.is_current(&client).await?);
    Ok(())
}

#[tokio::test]
async fn pending_migration_below_an_applied_one_is_refused() -> Result<()> {
    let db = testing::empty_db().await;
    let mut client = db.client().await;
    let dir = tempfile::tempdir()?;
    let write = |file: &str, sql: &str| std::fs::write(dir.path().join(file), sql);
    write("0001_a.up.sql", "create table a (id int);")?;
    write("0001_a.down.sql", "drop table a;")?;
    write("0003_c.up.sql", "create table c (id int);")?;
    write("0003_c.down.sql", "drop table c;")?;
    Migrator::from_dir(dir.path())?.up(&mut client).await?;

    // A branch merged later brings migration 2.
    write("0002_b.up.sql", "create table b (id int);")?;
    write("0002_b.down.sql", "drop table b;")?;
    let merged = Migrator::from_dir(dir.path())?;
    let err = merged
        .up(&mut client)
        .await
        .expect_err("2 is below applied 3");
    assert!(
        matches!(
            err,
            MigrateError::OutOfOrder {
                version: 2,
                applied: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("revert to 1 first"), "{err}");
    assert!(!relation_exists(&client, "b").await?);
    Ok(())
}

#[tokio::test]
async fn failing_migration_leaves_nothing_behind() -> Result<()> {
    let db = testing::empty_db().await;
    let mut client = db.client().await;
    let migrator = fixture("migrations_failing");

    let err = migrator
        .up(&mut client)
        .await
        .expect_err("migration 2 fails");
    match &err {
        MigrateError::Sql {
            version,
            name,
            direction,
            line,
            message,
            ..
        } => {
            assert_eq!(
                (*version, name.as_str(), *direction),
                (2, "breaks", Direction::Up)
            );
            assert_eq!(*line, Some(3), "the failing statement is on line 3");
            assert!(message.contains("no_such_table"), "{message}");
        }
        other => bail!("expected Sql, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("migration 2 (breaks)") && text.contains("line 3"),
        "{text}"
    );

    // Migration 1 committed on its own; nothing of migration 2 remains.
    assert!(relation_exists(&client, "ok_table").await?);
    assert!(!relation_exists(&client, "half_done").await?);
    assert_eq!(recorded_versions(&client).await?, [1]);

    // The lock was released: another session can migrate (and fails the same way).
    let mut other = db.client().await;
    let again = tokio::time::timeout(Duration::from_secs(10), migrator.up(&mut other))
        .await
        .context("the migration lock was not released")?;
    assert!(matches!(again, Err(MigrateError::Sql { version: 2, .. })));
    assert_eq!(migrator.down_to(&mut client, 0).await?, [1]);
    Ok(())
}

/// Runs `up` from two connections at once; returns what each applied.
async fn race(db: &TestDb, migrator: &Migrator, watch_lock: bool) -> Result<(Vec<i64>, Vec<i64>)> {
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let mut client = db.client().await;
        let migrator = migrator.clone();
        tasks.push(tokio::spawn(async move { migrator.up(&mut client).await }));
    }

    if watch_lock {
        // Prove the overlap: one session must be seen waiting for the lock.
        let observer = db.client().await;
        let mut seen = false;
        for _ in 0..200 {
            let waiting: i64 = observer
                .query_one(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted
                     and database = (select oid from pg_database where datname = current_database())",
                    &[],
                )
                .await?
                .get(0);
            if waiting > 0 {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(seen, "no session ever waited for the migration lock");
    }

    let second = tasks.pop().context("two tasks")?.await??;
    let first = tasks.pop().context("two tasks")?.await??;
    Ok((first, second))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_up_applies_each_migration_once() -> Result<()> {
    for (name, watch_lock) in [("migrations_chain", false), ("migrations_slow", true)] {
        let db = testing::empty_db().await;
        let migrator = fixture(name);
        let (first, second) = race(&db, &migrator, watch_lock).await?;

        let mut all: Vec<i64> = first.iter().chain(&second).copied().collect();
        all.sort_unstable();
        assert_eq!(all, versions(&migrator), "{name}: {first:?} + {second:?}");

        let client = db.client().await;
        let once: Vec<(i64, i64)> = versions(&migrator).into_iter().map(|v| (v, 1)).collect();
        assert_eq!(log_counts(&client).await?, once, "{name}");
        assert!(migrator.is_current(&client).await?);
    }
    Ok(())
}

/// `verify` runs serially in this binary, so each test can check that no
/// scratch database of this process survives.
static VERIFY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn leftover_verify_databases() -> Result<Vec<String>> {
    let admin = testing::connect(&testing::admin_url().await).await;
    let pattern = format!("showtree\\_verify\\_{}\\_%", std::process::id());
    let rows = admin
        .query(
            "select datname from pg_database where datname like $1",
            &[&pattern],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

#[tokio::test]
async fn verify_passes_on_reversible_chain() -> Result<()> {
    let _serial = VERIFY.lock().await;
    let report = migrate::verify(&testing::admin_url().await, &fixture("migrations_chain")).await?;
    assert_eq!((report.migrations, report.steps), (3, 9));
    assert!(report.objects > 10, "{report}");
    assert!(report.to_string().contains("3 migrations"), "{report}");
    assert_eq!(leftover_verify_databases().await?, Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn verify_passes_on_the_embedded_chain() -> Result<()> {
    let _serial = VERIFY.lock().await;
    let migrator = Migrator::embedded();
    let report = migrate::verify(&testing::admin_url().await, &migrator).await?;
    assert_eq!(report.migrations, migrator.migrations().len());
    assert_eq!(leftover_verify_databases().await?, Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn verify_names_the_object_a_bad_down_forgets() -> Result<()> {
    let _serial = VERIFY.lock().await;
    let err = migrate::verify(&testing::admin_url().await, &fixture("migrations_bad_down"))
        .await
        .expect_err("the down of migration 2 forgets an index");
    match &err {
        MigrateError::VerifyFailed { step, differences } => {
            assert!(step.contains("reverting migration 2 (forgetful)"), "{step}");
            assert_eq!(differences.len(), 1, "{differences:#?}");
            assert!(
                matches!(&differences[0], Difference::Added { key, .. } if key == "index public.things_forgotten_idx"),
                "{differences:#?}"
            );
        }
        other => bail!("expected VerifyFailed, got {other:?}"),
    }
    assert!(err.to_string().contains("things_forgotten_idx"), "{err}");
    // The scratch database is dropped on failure too.
    assert_eq!(leftover_verify_databases().await?, Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn snapshot_of_same_migrations_on_two_databases_is_equal() -> Result<()> {
    let migrator = fixture("migrations_chain");
    let (one, two) = (testing::empty_db().await, testing::empty_db().await);
    let (mut a, mut b) = (one.client().await, two.client().await);
    // Different OIDs in each: create something unrelated first in one.
    a.batch_execute("create table unrelated (x int); drop table unrelated;")
        .await?;
    migrator.up(&mut a).await?;
    migrator.up(&mut b).await?;

    let (sa, sb) = (catalog::snapshot(&a).await?, catalog::snapshot(&b).await?);
    assert_eq!(sa.diff(&sb), Vec::new());
    assert_eq!(sa, sb);

    // Every kind of object the fixtures create is in the snapshot.
    for key in [
        "schema app",
        "schema public",
        "table app.projects",
        "table public.migration_log",
        "column app.projects.name",
        "column app.projects.archived",
        "constraint app.tasks.tasks_title_not_blank",
        "constraint app.tasks.tasks_project_id_fkey",
        "index app.tasks_project_id_idx",
        "index app.projects_pkey",
        "sequence app.tasks_id_seq",
        "trigger app.tasks.tasks_touch",
        "function app.touch_updated_at()",
        "aggregate app.text_concat(text)",
        "policy app.tasks.tasks_visible",
        "enum app.status",
        "domain app.short_text",
        "composite_type app.point2",
        "view app.open_tasks",
        "extension plpgsql",
        "comment table app.projects",
        "comment table column app.projects.status",
    ] {
        assert!(
            sa.objects.contains_key(key),
            "{key} missing from {:#?}",
            sa.objects.keys()
        );
    }
    assert!(sa.objects["enum app.status"].contains("labels=draft,active,done"));
    assert!(sa.objects["table app.tasks"].contains("rls=true"));
    assert!(sa.objects["view app.open_tasks"].contains("acl=owner="));
    assert!(
        !sa.objects.keys().any(|k| k.contains("showtree_meta")),
        "the runner's bookkeeping is not part of the schema"
    );
    Ok(())
}

#[tokio::test]
async fn snapshot_diff_names_changed_objects() -> Result<()> {
    let db = testing::empty_db().await;
    let client = db.client().await;
    client
        .batch_execute("create table t (a int, b text); create index t_a_idx on t (a);")
        .await?;
    let before = catalog::snapshot(&client).await?;
    client
        .batch_execute(
            "alter table t alter column b type varchar(10); drop index t_a_idx;
             create function f() returns int language sql as 'select 1';",
        )
        .await?;
    let after = catalog::snapshot(&client).await?;

    let differences = before.diff(&after);
    let keys: Vec<&str> = differences.iter().map(Difference::key).collect();
    assert_eq!(
        keys,
        [
            "column public.t.b",
            "function public.f()",
            "index public.t_a_idx"
        ]
    );
    assert!(matches!(differences[0], Difference::Changed { .. }));
    assert!(matches!(differences[1], Difference::Added { .. }));
    assert!(matches!(differences[2], Difference::Missing { .. }));
    let text = differences[0].to_string();
    assert!(
        text.contains("type=text") && text.contains("character varying(10)"),
        "{text}"
    );
    Ok(())
}

#[test]
fn layout_errors_name_the_bad_file() -> Result<()> {
    let cases: &[(&[&str], &str)] = &[
        (&["0001_a.up.sql"], "no 0001_a.down.sql"),
        (&["0001_a.down.sql"], "no 0001_a.up.sql"),
        (
            &["0001-a.up.sql", "0001-a.down.sql"],
            "no `_` between version and name",
        ),
        (&["0001_a.sql"], "0001_a.sql"),
        (&["0000_a.up.sql", "0000_a.down.sql"], "version 0"),
        (&["0001_Big.up.sql", "0001_Big.down.sql"], "lowercase"),
        (
            &[
                "0001_a.up.sql",
                "0001_a.down.sql",
                "0001_b.up.sql",
                "0001_b.down.sql",
            ],
            "version 1 is used by two migrations",
        ),
        (
            &["0001_a.up.sql", "0001_a.down.sql", "1_a.up.sql"],
            "a second file for migration 1",
        ),
    ];
    for (files, expected) in cases {
        let dir = tempfile::tempdir()?;
        for file in *files {
            std::fs::write(dir.path().join(file), "select 1;")?;
        }
        match Migrator::from_dir(dir.path()) {
            Err(err @ MigrateError::Layout(_)) => {
                assert!(err.to_string().contains(expected), "{files:?}: {err}");
            }
            other => bail!("{files:?}: expected a layout error, got {other:?}"),
        }
    }

    // Non-SQL and hidden files are ignored; versions sort numerically.
    let dir = tempfile::tempdir()?;
    for file in [
        "README.md",
        ".0003_x.up.sql.swp",
        "0010_b.up.sql",
        "0010_b.down.sql",
        "0002_a.up.sql",
        "0002_a.down.sql",
    ] {
        std::fs::write(dir.path().join(file), file)?;
    }
    let migrator = Migrator::from_dir(dir.path())?;
    assert_eq!(versions(&migrator), [2, 10]);
    assert_eq!(migrator.migrations()[1].up, "0010_b.up.sql");
    assert_eq!(Migrator::from_dir(tempfile::tempdir()?.path())?.latest(), 0);
    Ok(())
}

#[test]
fn checksum_and_fingerprint_track_contents() -> Result<()> {
    let migrator = fixture("migrations_chain");
    let mut edited = migrator.migrations()[0].clone();
    assert_eq!(edited.checksum().len(), 64);
    let original = edited.checksum();
    edited.down.push(' ');
    assert_ne!(edited.checksum(), original);

    // Moving text from up to down is a change too.
    let mut moved = migrator.migrations()[0].clone();
    let tail = moved.up.split_off(moved.up.len() - 1);
    moved.down.insert_str(0, &tail);
    assert_ne!(moved.checksum(), original);

    let fingerprint = migrator.fingerprint();
    assert_eq!(fingerprint.len(), 16);
    assert_eq!(fingerprint, fixture("migrations_chain").fingerprint());
    assert_ne!(fingerprint, fixture("migrations_slow").fingerprint());
    Ok(())
}

/// A plpgsql function with an exception block opens a subtransaction,
/// which a query in parallel mode cannot do (leader or worker): none of ours
/// may be declared parallel safe or restricted.
#[tokio::test]
async fn no_function_with_an_exception_block_may_run_in_a_parallel_query() -> Result<()> {
    let db = testing::migrated_db().await;
    let client = db.client().await;
    let offenders: Vec<String> = client
        .query(
            "select p.oid::regprocedure::text
               from pg_proc p
               join pg_namespace n on n.oid = p.pronamespace
               join pg_language l on l.oid = p.prolang
              where n.nspname in ('showtree', 'private', 'auth')
                and l.lanname = 'plpgsql'
                and p.proparallel <> 'u'
                and p.prosrc ~* '\\mexception\\M'
              order by 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        offenders.is_empty(),
        "not parallel unsafe but has an exception block: {offenders:?}"
    );

    // The one that was, over a table scan the planner is told to run in
    // parallel whenever it may: it answers instead of failing.
    client
        .batch_execute(
            "create table public.zones as
               select case when g % 2 = 0 then 'America/Los_Angeles' else 'Nowhere/Atlantis' end as tz
                 from generate_series(1, 1000) g;
             set force_parallel_mode = on;
             set parallel_setup_cost = 0;
             set parallel_tuple_cost = 0;",
        )
        .await?;
    let valid: i64 = client
        .query_one(
            "select count(*) filter (where private.is_valid_timezone(tz)) from public.zones",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(valid, 500);
    Ok(())
}
