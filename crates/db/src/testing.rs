//! Test support: every test gets its own database.
//!
//! The admin connection comes from `TEST_DATABASE_URL` when it is set;
//! otherwise from the same resolution `showtree` itself uses (a server on
//! 127.0.0.1:5432, else the embedded launcher). Databases are dropped when
//! the returned [`TestDb`] is dropped.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio_postgres::{Client, NoTls};

pub use crate::connect::url_with_database;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// One throwaway database, dropped (with `force`) when this value is dropped.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
    admin_url: String,
    /// Cluster-wide roles made for this database, dropped after it.
    roles: std::sync::Mutex<Vec<String>>,
}

impl TestDb {
    /// Drops the cluster-wide role `role` (made for this database's test)
    /// right after the database, so no test leaves a role behind.
    pub fn drop_role_with(&self, role: &str) {
        if let Ok(mut roles) = self.roles.lock() {
            roles.push(role.to_owned());
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection string for this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// This database as the service's own role, `authenticator` (which
    /// sees nothing without a caller's context).
    pub fn app_url(&self) -> String {
        crate::connect::url_with_user(&self.url, "authenticator")
    }

    /// A pool for this database as the service's role.
    pub fn app_db(&self) -> crate::pool::Db {
        crate::pool::Db::new(&self.app_url(), 4).expect("test pool")
    }

    /// A new connection to this database, its driver task spawned.
    pub async fn client(&self) -> Client {
        connect(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        let roles = self
            .roles
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        // Drop runs inside the test's runtime; a fresh thread with its own
        // runtime avoids blocking (or nesting) it.
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for dropping a test database");
            rt.block_on(async move {
                if let Ok((client, conn)) = tokio_postgres::connect(&admin, NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("drop database if exists \"{name}\" with (force)"))
                        .await;
                    for role in roles {
                        let _ = client
                            .batch_execute(&format!(
                                "drop role if exists \"{}\"",
                                role.replace('"', "\"\"")
                            ))
                            .await;
                    }
                }
            });
        });
        let _ = handle.join();
    }
}

/// Connects and spawns the connection task; panics on failure (tests only).
pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to test database: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// The admin connection string tests create their databases through:
/// `TEST_DATABASE_URL`, else what `showtree` itself would find (a server on
/// 127.0.0.1:5432, else an embedded cluster in `<target>/showtree-test-pg`).
pub async fn admin_url() -> String {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        return url;
    }
    // Held for the whole process and never dropped, so an embedded cluster
    // outlives this test binary and the next one reuses it (postmaster.pid)
    // instead of paying for initdb again.
    static RESOLVED: tokio::sync::OnceCell<crate::connect::ResolvedDb> =
        tokio::sync::OnceCell::const_new();
    let resolved = RESOLVED
        .get_or_init(|| async {
            let workspace = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
            // A relative CARGO_TARGET_DIR is relative to where cargo ran: the workspace, normally.
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
            let data_dir = target.join("showtree-test-pg");
            crate::connect::resolve_admin(None, &data_dir)
                .await
                .unwrap_or_else(|e| panic!("finding a PostgreSQL for the tests: {e}"))
        })
        .await;
    resolved.url.clone()
}

fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{}", std::process::id(), n)
}

/// A new, empty database (no migrations applied).
pub async fn empty_db() -> TestDb {
    let admin_url = admin_url().await;
    let name = unique_name("st_test");
    let admin = connect(&admin_url).await;
    admin
        .batch_execute(&format!("create database \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
    TestDb {
        url: url_with_database(&admin_url, &name),
        name,
        admin_url,
        roles: std::sync::Mutex::default(),
    }
}

/// The migrated template every [`migrated_db`] is cloned from, built once
/// per migration set (its name carries the migrations' fingerprint).
static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// Advisory lock key serializing template builds across test processes.
const TEMPLATE_LOCK: i64 = 0x7374_746d_706c_0001; // "sttmpl", distinct from the migration lock

async fn template(admin_url: &str) -> String {
    TEMPLATE
        .get_or_init(|| async {
            let migrator = crate::migrate::Migrator::embedded();
            let name = format!("st_tmpl_{}", migrator.fingerprint());
            let admin = connect(admin_url).await;
            admin
                .execute("select pg_advisory_lock($1)", &[&TEMPLATE_LOCK])
                .await
                .expect("template lock");
            let exists = admin
                .query_opt("select 1 from pg_database where datname = $1", &[&name])
                .await
                .expect("looking for the template")
                .is_some();
            if !exists {
                // Built under another name and renamed when complete, so a
                // crashed build never leaves a half-migrated template.
                let building = format!("{name}_building");
                for sql in [
                    format!("drop database if exists \"{building}\" with (force)"),
                    format!("create database \"{building}\""),
                ] {
                    admin
                        .batch_execute(&sql)
                        .await
                        .expect("creating the template");
                }
                {
                    let mut client = connect(&url_with_database(admin_url, &building)).await;
                    migrator
                        .up(&mut client)
                        .await
                        .unwrap_or_else(|e| panic!("migrating the test template: {e}"));
                }
                for sql in [
                    format!("alter database \"{building}\" rename to \"{name}\""),
                    format!("alter database \"{name}\" is_template true"),
                ] {
                    admin
                        .batch_execute(&sql)
                        .await
                        .expect("publishing the template");
                }
            }
            admin
                .execute("select pg_advisory_unlock($1)", &[&TEMPLATE_LOCK])
                .await
                .expect("template unlock");
            name
        })
        .await
        .clone()
}

/// A new database with every migration applied, cloned from a template
/// (milliseconds, however many migrations there are).
pub async fn migrated_db() -> TestDb {
    let admin_url = admin_url().await;
    let template = template(&admin_url).await;
    let name = unique_name("st_test");
    let admin = connect(&admin_url).await;
    let sql = format!("create database \"{name}\" template \"{template}\"");
    let mut attempt = 0;
    loop {
        match admin.batch_execute(&sql).await {
            Ok(()) => break,
            // The template's last connection can linger a moment after the
            // build; PostgreSQL refuses to copy a database in use.
            Err(e) if attempt < 50 && e.to_string().contains("being accessed by other users") => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("creating test database {name} from {template}: {e}"),
        }
    }
    TestDb {
        url: url_with_database(&admin_url, &name),
        name,
        admin_url,
        roles: std::sync::Mutex::default(),
    }
}
