//! Cross-database mode: the legacy tables live in another database.
//!
//! showtree's database (the target) reads them through postgres_fdw: a
//! server and a user mapping for the legacy database, and the legacy
//! schema imported as foreign tables into [`FOREIGN_SCHEMA`], so the SQL the
//! plan generates (one statement reading legacy rows and writing showtree
//! rows) runs unchanged against the foreign tables. What foreign tables
//! cannot do runs on a second connection to the legacy database: reading
//! its catalog (primary keys), the capture triggers and their change log
//! (schema `showtree_import` there, read and drained through one more
//! foreign table, `showtree_import.changes` in the target), the lock that
//! stops legacy writers at cutover, and the removal of all of it on rollback.

use std::fmt;
use std::str::FromStr;

use tokio_postgres::config::Host;
use tokio_postgres::{Client, GenericClient};

use crate::ImportError;
use crate::sql::{SCHEMA, ident, lit, own};

/// The foreign server naming the legacy database (in the target).
pub const SERVER: &str = "showtree_import_legacy";
/// Where the legacy tables are imported as foreign tables (in the target).
pub const FOREIGN_SCHEMA: &str = "showtree_import_src";
/// The scratch names `check` uses (in a transaction it rolls back).
pub const CHECK_SERVER: &str = "showtree_import_check";
/// See [`CHECK_SERVER`].
pub const CHECK_SCHEMA: &str = "showtree_import_check_src";

/// The legacy database's URL (`--legacy-url`); its password never shows
/// in `Debug` output, messages or the import's state.
#[derive(Clone)]
pub struct LegacyUrl {
    config: tokio_postgres::Config,
}

impl FromStr for LegacyUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<LegacyUrl, String> {
        if s.trim().is_empty() {
            return Err(
                "empty legacy database URL (for an import within one database, unset SHOWTREE_LEGACY_URL)"
                    .to_owned(),
            );
        }
        let config = tokio_postgres::Config::from_str(s)
            .map_err(|e| format!("bad legacy database URL: {e}"))?;
        let url = LegacyUrl { config };
        url.parts()?;
        Ok(url)
    }
}

impl fmt::Debug for LegacyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl fmt::Display for LegacyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

/// What the foreign server and user mapping need of the URL.
struct Parts {
    host: String,
    port: u16,
    dbname: String,
    user: String,
}

impl LegacyUrl {
    fn parts(&self) -> Result<Parts, String> {
        let c = &self.config;
        let host = match c.get_hosts() {
            [] => "localhost".to_owned(),
            [Host::Tcp(h)] => h.clone(),
            [Host::Unix(p)] => p.to_string_lossy().into_owned(),
            _ => return Err("the legacy database URL names several hosts: give one".to_owned()),
        };
        let port = match c.get_ports() {
            [] => 5432,
            [p] => *p,
            _ => return Err("the legacy database URL names several ports: give one".to_owned()),
        };
        let user = c
            .get_user()
            .ok_or("the legacy database URL names no user")?
            .to_owned();
        let dbname = c.get_dbname().map_or_else(|| user.clone(), str::to_owned);
        Ok(Parts {
            host,
            port,
            dbname,
            user,
        })
    }

    /// `postgres://user@host:port/dbname`: what the state stores and
    /// messages show (never the password).
    pub fn shown(&self) -> String {
        match self.parts() {
            Ok(p) => format!("postgres://{}@{}:{}/{}", p.user, p.host, p.port, p.dbname),
            Err(_) => "(unusable legacy database URL)".to_owned(),
        }
    }

    fn password(&self) -> Option<String> {
        self.config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    }
}

/// The connection to the legacy database, and where it is.
pub struct Legacy {
    /// The connection.
    pub client: Client,
    /// Its URL.
    pub url: LegacyUrl,
}

impl fmt::Debug for Legacy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Legacy").field("url", &self.url).finish()
    }
}

impl Legacy {
    /// Connects to the legacy database (as a superuser: the capture
    /// triggers are security definer).
    pub async fn connect(url: &LegacyUrl) -> Result<Legacy, ImportError> {
        let mut config = url.config.clone();
        config.application_name("showtree import");
        let (client, conn) =
            config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| ImportError::Db {
                    context: format!("connecting to the legacy database {}", url.shown()),
                    error: e,
                })?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "legacy connection ended");
            }
        });
        let superuser: bool = client
            .query_one(
                "select rolsuper from pg_roles where rolname = current_user",
                &[],
            )
            .await
            .map_err(ImportError::db("checking the legacy database's role"))?
            .get(0);
        if !superuser {
            return Err(ImportError::Usage(
                "the legacy database's user must be a superuser: the import creates security-definer capture triggers there".to_owned(),
            ));
        }
        Ok(Legacy {
            client,
            url: url.clone(),
        })
    }

    /// Creates, in the target (the caller's transaction), postgres_fdw
    /// (when missing), the server `server`, the current user's mapping and
    /// the legacy `schema`'s tables as foreign tables in `into`.
    pub async fn attach(
        &self,
        c: &impl GenericClient,
        server: &str,
        schema: &str,
        into: &str,
    ) -> Result<(), ImportError> {
        require_extension(c).await?;
        let p = self.url.parts().map_err(ImportError::Usage)?;
        c.batch_execute(&format!(
            "create extension if not exists postgres_fdw;
             create server {server} foreign data wrapper postgres_fdw
               options (host {host}, port {port}, dbname {dbname}, fetch_size '5000');
             create schema {into};",
            server = ident(server),
            host = lit(&p.host),
            port = lit(&p.port.to_string()),
            dbname = lit(&p.dbname),
            into = ident(into),
        ))
        .await
        .map_err(ImportError::db(
            "creating the foreign server for the legacy database",
        ))?;
        self.map_user(c, server, true).await?;
        c.batch_execute(&format!(
            "import foreign schema {} from server {} into {}",
            ident(schema),
            ident(server),
            ident(into)
        ))
        .await
        .map_err(ImportError::db_at(format!(
            "importing the legacy schema {schema} as foreign tables (can the target database's server reach {}?)",
            self.url.shown()
        )))?;
        Ok(())
    }

    /// (Re)creates the current user's mapping to the server, with the
    /// URL's password when `with_password` (and it has one).
    pub async fn map_user(
        &self,
        c: &impl GenericClient,
        server: &str,
        with_password: bool,
    ) -> Result<(), ImportError> {
        let p = self.url.parts().map_err(ImportError::Usage)?;
        let mut options = format!("user {}", lit(&p.user));
        if let (true, Some(pw)) = (with_password, self.url.password()) {
            options += &format!(", password {}", lit(&pw));
        }
        c.batch_execute(&format!(
            "drop user mapping if exists for current_user server {server};
             create user mapping for current_user server {server} options ({options});",
            server = ident(server),
        ))
        .await
        .map_err(ImportError::db(
            "mapping the import's user to the legacy database",
        ))?;
        Ok(())
    }

    /// Runs `sql` in a transaction of its own on the legacy database
    /// (rolled back on failure, so the connection stays usable).
    pub async fn in_transaction(
        &self,
        sql: &str,
        context: &'static str,
    ) -> Result<(), ImportError> {
        self.begin(sql, context).await?;
        self.end(true).await
    }

    /// Opens a transaction on the legacy database and runs `sql` in it,
    /// leaving it open for [`Legacy::end`]; on failure it is rolled back.
    pub async fn begin(&self, sql: &str, context: &'static str) -> Result<(), ImportError> {
        self.client
            .batch_execute("begin")
            .await
            .map_err(ImportError::db(
                "starting a transaction in the legacy database",
            ))?;
        if let Err(e) = self.client.batch_execute(sql).await {
            let _ = self.client.batch_execute("rollback").await;
            return Err(ImportError::db(context)(e));
        }
        Ok(())
    }

    /// Commits (`commit`) or rolls back the transaction [`Legacy::begin`] opened.
    pub async fn end(&self, commit: bool) -> Result<(), ImportError> {
        self.client
            .batch_execute(if commit { "commit" } else { "rollback" })
            .await
            .map_err(ImportError::db("ending the legacy database's transaction"))
    }

    /// Whether the URL carries a password (which is then kept in the user
    /// mapping only while a command runs).
    pub fn has_password(&self) -> bool {
        self.url.password().is_some()
    }

    /// The change log on the legacy side (idempotent): the capture
    /// triggers write it, the target drains it through a foreign table.
    pub async fn create_log(&self) -> Result<(), ImportError> {
        self.client
            .batch_execute(&format!(
                "create schema if not exists {schema};
comment on schema {schema} is 'showtree import: the change log of the legacy tables (dropped by rollback of expand)';
revoke all on schema {schema} from public;
create table if not exists {changes} (
  seq bigserial primary key,
  legacy_table text not null,
  legacy_id text not null
);
-- postgres_fdw inserts every column of the foreign table: a null seq
-- (from the target's catch-up deferrals) takes the next number
create or replace function {fill}() returns trigger
language plpgsql set search_path = '' as $fn$
begin
  new.seq := nextval(pg_catalog.pg_get_serial_sequence('{schema_plain}.changes', 'seq'));
  return new;
end
$fn$;
drop trigger if exists fill_seq on {changes};
create trigger fill_seq before insert on {changes}
  for each row when (new.seq is null) execute function {fill}();",
                schema = ident(SCHEMA),
                schema_plain = SCHEMA,
                changes = own("changes"),
                fill = own("changes_fill_seq"),
            ))
            .await
            .map_err(ImportError::db(
                "creating the change log in the legacy database",
            ))
    }

    /// Drops the legacy side's schema (change log, capture functions and,
    /// with them, any capture trigger left).
    pub async fn drop_log(&self) -> Result<(), ImportError> {
        self.client
            .batch_execute(&format!("drop schema if exists {} cascade", ident(SCHEMA)))
            .await
            .map_err(ImportError::db(
                "dropping the import's schema in the legacy database",
            ))
    }
}

/// In the target: the change log as a foreign table over the legacy
/// side's, in place of the local one `sqlgen::bookkeeping` made.
pub fn foreign_log() -> String {
    format!(
        "drop table {changes};
create foreign table {changes} (seq bigint, legacy_table text, legacy_id text)
  server {server} options (schema_name {schema}, table_name 'changes');",
        changes = own("changes"),
        server = ident(SERVER),
        schema = lit(SCHEMA),
    )
}

/// In the target: drops what [`Legacy::attach`] made (the extension only
/// when `extension`, i.e. the import created it).
pub fn detach(extension: bool) -> String {
    let mut out = format!(
        "drop schema if exists {} cascade;
drop server if exists {} cascade;\n",
        ident(FOREIGN_SCHEMA),
        ident(SERVER)
    );
    if extension {
        // unless something else came to use it meanwhile
        out += "do $$ begin
  if not exists (select from pg_catalog.pg_foreign_server s
                   join pg_catalog.pg_foreign_data_wrapper w on w.oid = s.srvfdw
                  where w.fdwname = 'postgres_fdw') then
    drop extension if exists postgres_fdw;
  end if;
end $$;\n";
    }
    out
}

/// A clear error when postgres_fdw cannot be installed in the target.
async fn require_extension(c: &impl GenericClient) -> Result<(), ImportError> {
    let available: bool = c
        .query_one(
            "select exists (select from pg_available_extensions where name = 'postgres_fdw')",
            &[],
        )
        .await
        .map_err(ImportError::db("looking for postgres_fdw"))?
        .get(0);
    if available {
        Ok(())
    } else {
        Err(ImportError::Usage(
            "importing from another database needs the postgres_fdw extension in showtree's database, and its server has none (on Debian it ships with the postgresql package; elsewhere install the contrib package)".to_owned(),
        ))
    }
}

/// Whether postgres_fdw is installed in the target.
pub async fn extension_installed(c: &impl GenericClient) -> Result<bool, ImportError> {
    Ok(c.query_one(
        "select exists (select from pg_extension where extname = 'postgres_fdw')",
        &[],
    )
    .await
    .map_err(ImportError::db("looking for postgres_fdw"))?
    .get(0))
}
