//! Test support: every test gets its own database.
//!
//! The admin connection comes from `TEST_DATABASE_URL` when it is set;
//! otherwise from the same resolution `showtree` itself uses (a server on
//! 127.0.0.1:5432, else the embedded launcher). Databases are dropped when
//! the returned [`TestDb`] is dropped.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio_postgres::{Client, NoTls};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// One throwaway database, dropped (with `force`) when this value is dropped.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDb {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection string for this database.
    pub fn url(&self) -> &str {
        &self.url
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

/// The admin connection string tests create their databases through.
pub async fn admin_url() -> String {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        return url;
    }
    "postgres://postgres@127.0.0.1:5432/postgres".to_owned()
}

/// Replaces the database name of a `postgres://` URL.
pub fn url_with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
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
    }
}
