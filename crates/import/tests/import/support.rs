//! Legacy databases, the old application's writes, and dumps to compare.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use showtree_db::testing::{self, TestDb};
use showtree_import::backfill::BackfillArgs;
use showtree_import::legacy::{self, Size};
use showtree_import::state::Session;

/// The mapping of the flat layout.
pub const MAPPING: &str = showtree_import::mapping::FLAT_MAPPING;

/// The size the tests use: a few hundred legacy rows.
pub fn size() -> Size {
    Size {
        organizations: 2,
        workspaces_per_org: 2,
        productions_per_workspace: 3,
        rows_per_production: 30,
        users_per_org: 4,
        vendors_per_org: 2,
    }
}

/// A database with showtree's schema already migrated (cloned from the
/// test template) and the legacy tables, filled.
pub async fn legacy_db(size: Size) -> TestDb {
    let db = testing::migrated_db().await;
    fill(&db, size).await;
    db
}

/// The old application's own role in `db` (no superuser, no bypassrls):
/// one per test database, dropped with it.
pub fn app_role(db: &TestDb) -> String {
    format!("{}_legacy_app", db.name())
}

/// A database with nothing but the legacy tables: expand migrates it.
pub async fn bare_legacy_db(size: Size) -> TestDb {
    let db = testing::empty_db().await;
    fill(&db, size).await;
    db
}

async fn fill(db: &TestDb, size: Size) {
    let c = db.client().await;
    legacy::create(&c).await.expect("legacy layout");
    legacy::generate(&c, size).await.expect("legacy rows");
    // the old application's own role: no superuser, no bypassrls
    let role = app_role(db);
    db.drop_role_with(&role);
    c.batch_execute(&format!(
        "create role \"{role}\" login;
         grant select, insert, update, delete on all tables in schema public to \"{role}\";"
    ))
    .await
    .expect("legacy application role");
}

/// The import's connection (holding its lock); waits a little for a
/// dropped session's connection to end and release the lock.
pub async fn session(db: &TestDb) -> Session {
    let mut tries = 0;
    loop {
        match Session::connect(db.url()).await {
            Ok(s) => return s,
            Err(showtree_import::ImportError::State(_)) if tries < 100 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("import session: {e}"),
        }
    }
}

/// The import's session on `db`, expanded and backfilled (nothing written
/// to the legacy tables meanwhile).
pub async fn backfilled(db: &TestDb) -> Session {
    let mut s = session(db).await;
    showtree_import::expand::expand(&mut s, MAPPING)
        .await
        .expect("expand");
    showtree_import::backfill::backfill(&mut s, &BackfillArgs::default())
        .await
        .expect("backfill");
    s
}

/// [`backfilled`], then synchronous dual-write on.
pub async fn dual_written(db: &TestDb) -> Session {
    let mut s = backfilled(db).await;
    showtree_import::dualwrite::enable(&mut s)
        .await
        .expect("dual-write");
    assert_eq!(
        s.require().await.expect("state").dual_write,
        Some(showtree_import::state::Mode::Sync)
    );
    s
}

/// The old application writing in the background until stopped.
pub struct Writer {
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
    written: tokio::sync::watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    /// Starts writing to `db`'s legacy tables as the legacy application's
    /// role, steps numbered from `first`.
    pub async fn start(db: &TestDb, first: u64) -> Writer {
        let url = showtree_db::connect::url_with_user(db.url(), &app_role(db));
        let client = testing::connect(&url).await;
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let (s, n) = (stop.clone(), count.clone());
        let (tell, written) = tokio::sync::watch::channel(0);
        let task = tokio::spawn(async move {
            let mut step = first;
            while !s.load(Ordering::Relaxed) {
                legacy::churn(&client, step)
                    .await
                    .unwrap_or_else(|e| panic!("legacy write {step} failed: {e:?}"));
                step += 1;
                tell.send_replace(n.fetch_add(1, Ordering::Relaxed) + 1);
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
        });
        Writer {
            stop,
            count,
            written,
            task,
        }
    }

    /// Waits until the writer has made `n` writes in all (committed), for
    /// two minutes at most (a writer that stalls that long fails the test).
    pub async fn wait_for(&self, n: u64) {
        let mut written = self.written.clone();
        tokio::time::timeout(
            std::time::Duration::from_secs(120),
            written.wait_for(|w| *w >= n),
        )
        .await
        .unwrap_or_else(|_| panic!("the writer made only {} of {n} writes", self.count()))
        .expect("writer task");
    }

    /// Writes so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Stops and returns how many writes were made.
    pub async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("writer task");
        self.count.load(Ordering::Relaxed)
    }
}

/// A fixed number of legacy writes, now.
pub async fn write(db: &TestDb, first: u64, n: u64) {
    let url = showtree_db::connect::url_with_user(db.url(), &app_role(db));
    let client = testing::connect(&url).await;
    for step in first..first + n {
        legacy::churn(&client, step)
            .await
            .unwrap_or_else(|e| panic!("legacy write {step} failed: {e:?}"));
    }
}

/// What `pg_dump` prints of `db`: `args` say what (e.g. `-n public
/// --data-only`). The random `\restrict` key lines are left out.
pub fn dump(db: &TestDb, args: &[&str]) -> String {
    let pg_dump = showtree_db::embedded::find_pg_program("pg_dump").expect("pg_dump installed");
    let out = std::process::Command::new(pg_dump)
        .args(args)
        .arg("--no-owner")
        .arg(format!("--dbname={}", db.url()))
        .output()
        .expect("running pg_dump");
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The legacy tables' rows, as pg_dump prints them.
pub fn legacy_data(db: &TestDb) -> String {
    dump(db, &["-n", "public", "--data-only"])
}

/// The legacy tables' definitions (triggers included).
pub fn legacy_schema(db: &TestDb) -> String {
    dump(db, &["-n", "public", "--schema-only"])
}

/// Asserts two dumps are equal, showing the first differing line.
pub fn assert_same(before: &str, after: &str, what: &str) {
    if before != after {
        let diff = before
            .lines()
            .zip(after.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("line {i}:\n- {a}\n+ {b}"))
            .unwrap_or_else(|| "(one is a prefix of the other)".to_owned());
        panic!("{what} changed: {diff}");
    }
}
