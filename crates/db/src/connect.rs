//! Where showtree's database lives (DESIGN.md section 2, "Embedded default"):
//! `DATABASE_URL` if given, else a server on 127.0.0.1:5432, else a private
//! cluster started by the embedded launcher.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

use crate::embedded::{EmbeddedError, EmbeddedPg, find_pg_program};

/// Where showtree looks for a server when no URL is given.
pub const DEFAULT_SERVER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 5432);
/// The maintenance database every PostgreSQL server has.
const MAINTENANCE_DB: &str = "postgres";
/// How long we wait for the default server before deciding nothing is there.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connect timeout for URLs the user gave that do not set their own.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong finding the database.
///
/// Each message is complete (it includes its cause, down to the server's own
/// words), so the causes are fields rather than `source()`s: a reporter that
/// walks the chain would print them twice.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not a connection string tokio-postgres understands.
    #[error("invalid database URL {url}: {}", describe(.error))]
    InvalidUrl {
        /// The URL, password redacted.
        url: String,
        /// The parse error.
        error: tokio_postgres::Error,
    },
    /// The server named by the URL could not be reached or refused us.
    #[error("cannot connect to {url}: {}", describe(.error))]
    Unreachable {
        /// The URL, password redacted.
        url: String,
        /// The connection error.
        error: tokio_postgres::Error,
    },
    /// Something answers on the default address but will not let us in.
    #[error(
        "a server answers on {addr} but refused user postgres without a password ({}): \
         set DATABASE_URL to a connection string it accepts, \
         e.g. postgres://user:password@127.0.0.1:5432/showtree",
        describe(.error)
    )]
    Refused {
        /// The default address.
        addr: SocketAddr,
        /// The connection error.
        error: tokio_postgres::Error,
    },
    /// The database did not exist and could not be created.
    #[error("creating database {db}: {}", describe(.error))]
    CreateDatabase {
        /// The database name.
        db: String,
        /// The server's error.
        error: tokio_postgres::Error,
    },
    /// Nothing answers on the default address and the embedded cluster failed.
    #[error("nothing answers on {addr}, and showtree could not run its own PostgreSQL: {error}")]
    Embedded {
        /// The default address.
        addr: SocketAddr,
        /// Why the embedded cluster failed (e.g. PostgreSQL not installed).
        error: EmbeddedError,
    },
}

/// Where showtree's database lives, and the embedded cluster if we started one (kept alive by holding this).
pub struct ResolvedDb {
    /// The connection string of the database.
    pub url: String,
    /// The cluster serving it, when showtree runs its own.
    pub embedded: Option<EmbeddedPg>,
}

// By hand rather than derived: the URL may carry a password.
impl fmt::Debug for ResolvedDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedDb")
            .field("url", &redacted_url(&self.url))
            .field("embedded", &self.embedded)
            .finish()
    }
}

/// DESIGN.md section 2: use `database_url` if given (creating its database
/// if missing); else the server on 127.0.0.1:5432 as `postgres`; else start
/// an embedded cluster in `data_dir`. Creates `db_name` where needed.
#[tracing::instrument(skip_all, fields(data_dir = %data_dir.display(), db_name), err)]
pub async fn resolve(
    database_url: Option<&str>,
    data_dir: &Path,
    db_name: &str,
) -> Result<ResolvedDb, ConnectError> {
    resolve_with(DEFAULT_SERVER, database_url, data_dir, db_name).await
}

/// Same rules, but returns an *admin* URL (database `postgres`) for tools that create databases (the test suite).
#[tracing::instrument(skip_all, fields(data_dir = %data_dir.display()), err)]
pub async fn resolve_admin(
    database_url: Option<&str>,
    data_dir: &Path,
) -> Result<ResolvedDb, ConnectError> {
    let admin_url = database_url.map(|url| url_with_database(url, MAINTENANCE_DB));
    resolve_with(
        DEFAULT_SERVER,
        admin_url.as_deref(),
        data_dir,
        MAINTENANCE_DB,
    )
    .await
}

/// [`resolve`] with the default server's address as a parameter, so tests
/// can point it at a port where nothing listens.
async fn resolve_with(
    default_server: SocketAddr,
    database_url: Option<&str>,
    data_dir: &Path,
    db_name: &str,
) -> Result<ResolvedDb, ConnectError> {
    if let Some(url) = database_url {
        ensure_database(url, CONNECT_TIMEOUT).await.map_err(|e| {
            e.into_connect_error(|error| ConnectError::Unreachable {
                url: redacted_url(url),
                error,
            })
        })?;
        return Ok(ResolvedDb {
            url: url.to_owned(),
            embedded: None,
        });
    }

    if answers(default_server).await {
        let url = format!("postgres://postgres@{default_server}/{db_name}");
        match ensure_database(&url, PROBE_TIMEOUT).await {
            Ok(()) => {
                tracing::info!(url = %url, "using the PostgreSQL server on the default port");
                return Ok(ResolvedDb {
                    url,
                    embedded: None,
                });
            }
            // A freshly installed system cluster usually wants a password
            // over TCP: with PostgreSQL's programs at hand, a private cluster
            // serves the user better than an error.
            Err(EnsureError::Connect(error)) if find_pg_program("pg_ctl").is_some() => {
                tracing::warn!(
                    server = %default_server,
                    error = %describe(&error),
                    "the server on the default port refused us; starting an embedded cluster"
                );
            }
            Err(e) => {
                return Err(e.into_connect_error(|error| ConnectError::Refused {
                    addr: default_server,
                    error,
                }));
            }
        }
    }

    let pg = EmbeddedPg::start(data_dir)
        .await
        .map_err(|error| ConnectError::Embedded {
            addr: default_server,
            error,
        })?;
    let url = pg.url(db_name);
    ensure_database(&url, CONNECT_TIMEOUT).await.map_err(|e| {
        e.into_connect_error(|error| ConnectError::Unreachable {
            url: url.clone(),
            error,
        })
    })?;
    Ok(ResolvedDb {
        url,
        embedded: Some(pg),
    })
}

/// Whether anything accepts a TCP connection at `addr` within the probe timeout.
async fn answers(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// Why [`ensure_database`] failed: reaching the server, or creating the database.
enum EnsureError {
    InvalidUrl(String, tokio_postgres::Error),
    Connect(tokio_postgres::Error),
    Create(String, tokio_postgres::Error),
}

impl EnsureError {
    fn into_connect_error(
        self,
        connect: impl FnOnce(tokio_postgres::Error) -> ConnectError,
    ) -> ConnectError {
        match self {
            EnsureError::InvalidUrl(url, error) => ConnectError::InvalidUrl { url, error },
            EnsureError::Connect(error) => connect(error),
            EnsureError::Create(db, error) => ConnectError::CreateDatabase { db, error },
        }
    }
}

/// Connects to `url`; if its database does not exist, creates it through the
/// server's maintenance database. Needs no more privileges than the URL's
/// user has when the database is already there.
async fn ensure_database(url: &str, timeout: Duration) -> Result<(), EnsureError> {
    let mut config =
        Config::from_str(url).map_err(|e| EnsureError::InvalidUrl(redacted_url(url), e))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(timeout);
    }
    let missing = match connect(&config).await {
        Ok(_) => return Ok(()),
        Err(e) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => e,
        Err(e) => return Err(EnsureError::Connect(e)),
    };
    // No database name in the URL means the user's own, which we do not create.
    let Some(db) = config.get_dbname().map(str::to_owned) else {
        return Err(EnsureError::Connect(missing));
    };
    let admin = connect(config.dbname(MAINTENANCE_DB))
        .await
        .map_err(EnsureError::Connect)?;
    let create = format!("create database \"{}\"", db.replace('"', "\"\""));
    match admin.batch_execute(&create).await {
        Ok(()) => {
            tracing::info!(db = %db, "created database");
            Ok(())
        }
        // Another process created it between our check and our create.
        Err(e)
            if e.code() == Some(&SqlState::DUPLICATE_DATABASE)
                || e.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
        {
            Ok(())
        }
        Err(e) => Err(EnsureError::Create(db, e)),
    }
}

/// Connects and drives the connection on a spawned task.
async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, conn) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "connection closed with an error");
        }
    });
    Ok(client)
}

/// Replaces the user of a `postgres://` URL (dropping any password): how
/// the service's own role (`authenticator`) reaches the database the
/// migrations ran in.
pub fn url_with_user(url: &str, user: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host = match authority.rfind('@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    format!(
        "{}{user}@{host}{}",
        &url[..scheme_end],
        &rest[authority_end..]
    )
}

/// A tokio-postgres error with its cause: the server's message for database
/// errors, the I/O error for connection failures (its `Display` shows neither).
pub fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return match db.hint() {
            Some(hint) => format!("{}: {} (hint: {hint})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        };
    }
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
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

/// A `postgres://` URL with its password (if any) replaced by `***`, for logs and errors.
pub fn redacted_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        &url[..scheme_end],
        &authority[..colon],
        &url[scheme_end + at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_with_database_replaces_only_the_path() {
        assert_eq!(
            url_with_database("postgres://u:p@h:5432/a?sslmode=disable", "b"),
            "postgres://u:p@h:5432/b?sslmode=disable"
        );
        assert_eq!(url_with_database("postgres://h", "b"), "postgres://h/b");
    }

    #[test]
    fn url_with_user_replaces_user_and_drops_password() {
        assert_eq!(
            url_with_user(
                "postgres://postgres:pw@127.0.0.1:5432/showtree?x=1",
                "authenticator"
            ),
            "postgres://authenticator@127.0.0.1:5432/showtree?x=1"
        );
        assert_eq!(
            url_with_user("postgres://127.0.0.1/db", "authenticator"),
            "postgres://authenticator@127.0.0.1/db"
        );
        assert_eq!(url_with_user("postgresql://u@h", "a"), "postgresql://a@h");
    }

    #[test]
    fn redacted_url_hides_only_the_password() {
        assert_eq!(
            redacted_url("postgres://u:secret@h:5432/db?x=1"),
            "postgres://u:***@h:5432/db?x=1"
        );
        assert_eq!(redacted_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redacted_url("postgres://h:5432/db"), "postgres://h:5432/db");
    }

    #[tokio::test]
    async fn a_default_server_that_refuses_us_falls_back_to_an_embedded_cluster() {
        // Accepts TCP and hangs up: something answers, but not for us (as a
        // freshly installed system cluster that wants a password does).
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        let tmp = tempfile::tempdir().expect("tempdir");
        if nix::unistd::geteuid().is_root() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        assert!(
            find_pg_program("pg_ctl").is_some(),
            "this test needs PostgreSQL installed"
        );

        let resolved = resolve_with(addr, None, &tmp.path().join("pg"), "showtree")
            .await
            .expect("falls back");

        let pg = resolved.embedded.as_ref().expect("embedded cluster");
        assert!(pg.owns_server());
        assert_ne!(pg.port(), addr.port());
    }

    #[tokio::test]
    async fn nothing_on_the_default_port_falls_back_to_an_embedded_cluster() {
        // A port nobody listens on stands in for "no server on 5432", which
        // this machine may well have.
        let nobody = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let default_server = nobody.local_addr().expect("addr");
        drop(nobody);
        let tmp = tempfile::tempdir().expect("tempdir");
        if nix::unistd::geteuid().is_root() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }

        let resolved = resolve_with(default_server, None, &tmp.path().join("pg"), "showtree")
            .await
            .expect("resolve");
        let pg = resolved.embedded.as_ref().expect("embedded cluster");
        assert!(pg.owns_server());
        assert!(resolved.url.ends_with("/showtree"), "{}", resolved.url);
        let client = connect(&Config::from_str(&resolved.url).expect("url"))
            .await
            .expect("connect to the created database");
        let db: String = client
            .query_one("select current_database()", &[])
            .await
            .expect("query")
            .get(0);
        assert_eq!(db, "showtree");

        let port = pg.port();
        drop(client);
        drop(resolved);
        assert!(
            std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(),
            "dropping the resolved database stops the cluster"
        );
    }
}
