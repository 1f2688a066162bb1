//! The import's state: one connection holding the import's lock, the
//! state row (phase, mapping, what expand created), the history of phase
//! events, and the compiled plan of the stored mapping.

use std::fmt::Write as _;
use std::str::FromStr;

use tokio_postgres::{Client, GenericClient, NoTls};

use crate::ImportError;
use crate::catalog;
use crate::fdw::{self, Legacy, LegacyUrl};
use crate::mapping::Mapping;
use crate::plan::{self, Catalogs, Plan};
use crate::report::Report;
use crate::sql::{SCHEMA, own};

/// Advisory lock key held by every import command: "stimport".
const LOCK_KEY: i64 = 0x7374_696d_706f_7274;

/// Where the legacy tables go on `cutover --rename`.
pub const RENAMED_SCHEMA: &str = "showtree_legacy";

/// The phases, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Expand started (schema and state exist, migrations may be pending).
    Expanding,
    /// showtree's schema, the maps and the functions are in place.
    Expanded,
    /// Changes are captured; rows are being copied.
    Backfilling,
    /// Every row was copied; changes are still captured.
    Backfilled,
    /// Triggers keep showtree current.
    DualWrite,
    /// Dual-write stopped; changes are only captured (for a rollback).
    Cutover,
    /// The legacy tables are gone.
    Contracted,
}

impl Phase {
    /// Its name in the state table.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Expanding => "expanding",
            Phase::Expanded => "expanded",
            Phase::Backfilling => "backfilling",
            Phase::Backfilled => "backfilled",
            Phase::DualWrite => "dual_write",
            Phase::Cutover => "cutover",
            Phase::Contracted => "contracted",
        }
    }
}

impl FromStr for Phase {
    type Err = ImportError;

    fn from_str(s: &str) -> Result<Phase, ImportError> {
        Ok(match s {
            "expanding" => Phase::Expanding,
            "expanded" => Phase::Expanded,
            "backfilling" => Phase::Backfilling,
            "backfilled" => Phase::Backfilled,
            "dual_write" => Phase::DualWrite,
            "cutover" => Phase::Cutover,
            "contracted" => Phase::Contracted,
            other => {
                return Err(ImportError::State(format!(
                    "unknown phase {other:?} in the state table"
                )));
            }
        })
    }
}

/// How dual-write keeps showtree current (recorded in the state's
/// `dual_write` column; none before dual-write, and none read as
/// synchronous within one database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Triggers on the legacy tables write showtree in the writer's
    /// transaction (within one database only).
    Sync,
    /// The capture triggers stay; `dual-write` drains their change log
    /// (once, or with `--follow` until interrupted).
    Async,
}

impl Mode {
    /// Its name in the state table.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Async => "async",
        }
    }
}

/// SQL recording `mode` in the state row (adding the column to a state
/// made by an older `expand`).
pub fn set_mode_sql(mode: Option<Mode>) -> String {
    format!(
        "alter table {state} add column if not exists dual_write text;\nupdate {state} set dual_write = {};\n",
        mode.map_or_else(|| "null".to_owned(), |m| format!("'{}'", m.as_str())),
        state = own("state")
    )
}

/// The state row.
#[derive(Debug, Clone)]
pub struct State {
    /// Where the import stands.
    pub phase: Phase,
    /// The mapping file's text, as given to expand.
    pub mapping: String,
    /// Whether expand created showtree's schema.
    pub created_showtree: bool,
    /// The newest migration applied before expand (0: none).
    pub migrated_from: i64,
    /// Whether expand created `showtree_meta`.
    pub created_meta: bool,
    /// Where cutover moved the legacy tables.
    pub renamed_to: Option<String>,
    /// The legacy database when it is another one (without its password).
    pub legacy_url: Option<String>,
    /// Whether expand created postgres_fdw (cross-database mode).
    pub created_fdw: bool,
    /// The dual-write mode recorded by `dual-write` (None before it).
    pub dual_write: Option<Mode>,
}

impl State {
    /// Whether dual-write is (or, before it, would be) asynchronous:
    /// always from another database, within one when chosen.
    pub fn is_async(&self) -> bool {
        self.legacy_url.is_some() || self.dual_write == Some(Mode::Async)
    }
}

/// A connection holding the import's lock for its lifetime.
#[derive(Debug)]
pub struct Session {
    /// The connection.
    pub client: Client,
    /// Where it connects.
    pub url: String,
    /// The legacy database, when it is another one (`--legacy-url`).
    pub legacy: Option<Legacy>,
}

/// How long a command waits for the import's lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

impl Session {
    /// Connects as application `showtree import`, checks the role may do
    /// what the import does, and takes the import's lock.
    pub async fn connect(url: &str) -> Result<Session, ImportError> {
        Session::connect_with(url, None).await
    }

    /// [`Session::connect`], reading the legacy tables from another
    /// database when `legacy` is given. A URL with a password puts it in
    /// the foreign server's user mapping: call [`Session::forget_password`]
    /// when done (`run` does).
    pub async fn connect_with(
        url: &str,
        legacy: Option<&LegacyUrl>,
    ) -> Result<Session, ImportError> {
        let client = connect(url).await?;
        let superuser: bool = client
            .query_one(
                "select rolsuper from pg_roles where rolname = current_user",
                &[],
            )
            .await
            .map_err(ImportError::db("checking the role"))?
            .get(0);
        if !superuser {
            return Err(ImportError::Usage(
                "showtree import runs as a superuser: it sets session_replication_role and creates security-definer triggers on the legacy tables".to_owned(),
            ));
        }
        // A command killed a moment ago may still hold the lock: its server
        // process lets go when it notices its client is gone, at the end of
        // the statement it was running (a batch). Wait that long, not more.
        client
            .batch_execute(&format!("set lock_timeout = '{}s'", LOCK_WAIT.as_secs()))
            .await
            .map_err(ImportError::db("setting the lock timeout"))?;
        let locked = client
            .execute("select pg_advisory_lock($1)", &[&LOCK_KEY])
            .await;
        match locked {
            Ok(_) => {}
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                return Err(ImportError::State(
                    "another showtree import command is running on this database".to_owned(),
                ));
            }
            Err(e) => return Err(ImportError::db("taking the import's lock")(e)),
        }
        client
            .batch_execute("reset lock_timeout")
            .await
            .map_err(ImportError::db("resetting the lock timeout"))?;
        let legacy = match legacy {
            Some(u) => {
                let l = Legacy::connect(u).await?;
                if identity(&client).await? == identity(&l.client).await? {
                    return Err(ImportError::Usage(
                        "--legacy-url names showtree's own database: run the import without it"
                            .to_owned(),
                    ));
                }
                Some(l)
            }
            None => None,
        };
        let session = Session {
            client,
            url: url.to_owned(),
            legacy,
        };
        // the password sits in the user mapping only while a command runs,
        // and only when the legacy database is the one expand was given
        if let Some(l) = &session.legacy {
            if l.has_password() && session.server_exists().await? && session.state().await.is_ok() {
                l.map_user(&session.client, fdw::SERVER, true).await?;
            }
        }
        Ok(session)
    }

    /// Whether the cross-database mode's foreign server exists here.
    pub async fn server_exists(&self) -> Result<bool, ImportError> {
        Ok(self
            .client
            .query_one(
                "select exists (select from pg_foreign_server where srvname = $1)",
                &[&fdw::SERVER],
            )
            .await
            .map_err(ImportError::db("looking for the legacy database's server"))?
            .get(0))
    }

    /// Takes the legacy database's password out of the user mapping
    /// (at the end of every command).
    pub async fn forget_password(&self) -> Result<(), ImportError> {
        if let Some(l) = &self.legacy {
            if l.has_password() && self.server_exists().await? {
                l.map_user(&self.client, fdw::SERVER, false).await?;
            }
        }
        Ok(())
    }

    /// The state row, or None before expand; refuses a legacy database
    /// other than the one expand was given.
    pub async fn state(&self) -> Result<Option<State>, ImportError> {
        let st = load(&self.client).await?;
        if let Some(s) = &st {
            let given = self.legacy.as_ref().map(|l| l.url.shown());
            if s.legacy_url != given {
                return Err(ImportError::Usage(match (&s.legacy_url, given) {
                    (Some(stored), None) => format!(
                        "this import reads its legacy tables from {stored}: give the same --legacy-url (or SHOWTREE_LEGACY_URL)"
                    ),
                    (Some(stored), Some(g)) => format!(
                        "this import reads its legacy tables from {stored}, not {g}: give the same --legacy-url"
                    ),
                    (None, _) => "this import reads its legacy tables from this database: run it without --legacy-url".to_owned(),
                }));
            }
        }
        Ok(st)
    }

    /// The legacy database, in cross-database mode.
    pub fn legacy(&self) -> Option<&Legacy> {
        self.legacy.as_ref()
    }

    /// The state, which must exist.
    pub async fn require(&self) -> Result<State, ImportError> {
        self.state().await?.ok_or_else(|| {
            ImportError::State("no import here yet: run showtree import expand first".to_owned())
        })
    }

    /// The stored mapping compiled against the live catalogs.
    pub async fn plan(&self, state: &State) -> Result<Plan, ImportError> {
        let mut mapping = Mapping::parse(&state.mapping)?;
        if let Some(schema) = &state.renamed_to {
            mapping.schema = schema.clone();
        }
        let catalogs = match &self.legacy {
            None => read_catalogs(&self.client, &mapping.schema).await?,
            Some(l) => {
                let catalogs =
                    read_catalogs_apart(&self.client, &l.client, &mapping.schema).await?;
                // the generated SQL reads the foreign tables
                mapping.schema = fdw::FOREIGN_SCHEMA.to_owned();
                catalogs
            }
        };
        let (plan, findings) = plan::compile(&mapping, &catalogs);
        if !findings.is_empty() {
            return Err(ImportError::Problems(Box::new(Report {
                findings,
                ..Report::default()
            })));
        }
        Ok(plan)
    }
}

/// Which cluster and database a connection reaches.
async fn identity(c: &Client) -> Result<(i64, String), ImportError> {
    let row = c
        .query_one(
            "select system_identifier, current_database()::text from pg_control_system()",
            &[],
        )
        .await
        .map_err(ImportError::db("identifying the database"))?;
    Ok((row.get(0), row.get(1)))
}

/// Connects to `url`, spawning the connection's task.
pub async fn connect(url: &str) -> Result<Client, ImportError> {
    let mut config = tokio_postgres::Config::from_str(url)
        .map_err(|e| ImportError::Usage(format!("bad database URL: {e}")))?;
    config.application_name("showtree import");
    let (client, conn) = config.connect(NoTls).await.map_err(|e| ImportError::Db {
        context: format!("connecting to {}", showtree_db::connect::redacted_url(url)),
        error: e,
    })?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "import connection ended");
        }
    });
    Ok(client)
}

/// The legacy schema's tables and showtree's (`showtree.*`, `auth.*`).
pub async fn read_catalogs(c: &impl GenericClient, legacy: &str) -> Result<Catalogs, ImportError> {
    Ok(Catalogs {
        legacy: catalog::tables(c, legacy).await?,
        target: target_tables(c).await?,
    })
}

async fn target_tables(
    c: &impl GenericClient,
) -> Result<std::collections::BTreeMap<String, catalog::Table>, ImportError> {
    let mut target = std::collections::BTreeMap::new();
    for schema in ["showtree", "auth"] {
        for (name, t) in catalog::tables(c, schema).await? {
            target.insert(format!("{schema}.{name}"), t);
        }
    }
    Ok(target)
}

/// [`read_catalogs`] with the legacy tables in another database.
pub async fn read_catalogs_apart(
    target: &impl GenericClient,
    legacy_db: &impl GenericClient,
    legacy: &str,
) -> Result<Catalogs, ImportError> {
    Ok(Catalogs {
        legacy: catalog::tables(legacy_db, legacy).await?,
        target: target_tables(target).await?,
    })
}

/// `plan` naming the legacy tables as the legacy database has them (the
/// mapping's schema), for what runs there (triggers, locks).
pub fn on_legacy_side(plan: &Plan, state: &State) -> Result<Plan, ImportError> {
    let mapping = Mapping::parse(&state.mapping)?;
    let mut p = plan.clone();
    p.schema = mapping.schema;
    Ok(p)
}

/// The state row, or None when the import's schema does not exist.
pub async fn load(c: &impl GenericClient) -> Result<Option<State>, ImportError> {
    if !catalog::schema_exists(c, SCHEMA).await? {
        return Ok(None);
    }
    let Some(row) = c
        .query_opt(
            &format!(
                "select phase, mapping, created_showtree, migrated_from, created_meta, renamed_to,
                        to_jsonb(s) ->> 'legacy_url', coalesce((to_jsonb(s) ->> 'created_fdw')::boolean, false),
                        to_jsonb(s) ->> 'dual_write'
                   from {} s",
                own("state")
            ),
            &[],
        )
        .await
        .map_err(ImportError::db("reading the import's state"))?
    else {
        return Ok(None);
    };
    Ok(Some(State {
        phase: row.get::<_, String>(0).parse()?,
        mapping: row.get(1),
        created_showtree: row.get(2),
        migrated_from: row.get(3),
        created_meta: row.get(4),
        renamed_to: row.get(5),
        legacy_url: row.get(6),
        created_fdw: row.get(7),
        dual_write: match row.get::<_, Option<String>>(8).as_deref() {
            None => None,
            Some("sync") => Some(Mode::Sync),
            Some("async") => Some(Mode::Async),
            Some(other) => {
                return Err(ImportError::State(format!(
                    "unknown dual-write mode {other:?} in the state table"
                )));
            }
        },
    }))
}

/// Moves the state to `phase` (in the caller's transaction).
pub async fn set_phase(c: &impl GenericClient, phase: Phase) -> Result<(), ImportError> {
    c.execute(
        &format!("update {} set phase = $1, updated_at = now()", own("state")),
        &[&phase.as_str()],
    )
    .await
    .map_err(ImportError::db("recording the phase"))?;
    Ok(())
}

/// Appends to the history (in the caller's transaction).
pub async fn record(
    c: &impl GenericClient,
    phase: &str,
    event: &str,
    detail: &str,
) -> Result<(), ImportError> {
    c.execute(
        &format!(
            "insert into {} (phase, event, detail) values ($1, $2, $3)",
            own("history")
        ),
        &[&phase, &event, &detail],
    )
    .await
    .map_err(ImportError::db("recording history"))?;
    Ok(())
}

/// `showtree import status`.
pub async fn status(session: &mut Session) -> Result<String, ImportError> {
    let Some(state) = session.state().await? else {
        return Ok("no import in this database".to_owned());
    };
    let c = &session.client;
    let mut out = String::new();
    let _ = writeln!(out, "phase: {}", state.phase.as_str());
    if let Some(r) = &state.renamed_to {
        let _ = writeln!(out, "legacy tables moved to schema {r}");
    }
    if state.phase >= Phase::DualWrite && state.phase < Phase::Contracted {
        let _ = writeln!(
            out,
            "dual-write: {}",
            if state.is_async() {
                "asynchronous (capture triggers; the change log is drained by showtree import dual-write, once or with --follow)"
            } else {
                "synchronous (triggers write showtree in the legacy writer's transaction)"
            }
        );
    }
    if let Some(u) = &state.legacy_url {
        let _ = writeln!(
            out,
            "legacy tables read from {u} (postgres_fdw, schema {}); dual-write is asynchronous: showtree import dual-write --follow",
            fdw::FOREIGN_SCHEMA
        );
    }
    for row in c
        .query(
            &format!(
                "select mapping, rows, done, last_key from {} order by mapping",
                own("progress")
            ),
            &[],
        )
        .await
        .map_err(ImportError::db("reading progress"))?
    {
        let done: bool = row.get(2);
        let _ = writeln!(
            out,
            "  {:<20} {:>10} legacy rows copied{}",
            row.get::<_, String>(0),
            row.get::<_, i64>(1),
            if done { ", done" } else { "" }
        );
    }
    let pending: i64 = c
        .query_one(&format!("select count(*) from {}", own("changes")), &[])
        .await
        .map_err(ImportError::db("counting changes"))?
        .get(0);
    let errors: i64 = c
        .query_one(&format!("select count(*) from {}", own("errors")), &[])
        .await
        .map_err(ImportError::db("counting errors"))?
        .get(0);
    let _ = writeln!(out, "changes waiting for catch-up: {pending}");
    let _ = writeln!(out, "rows dual-write could not map: {errors}");
    let set_aside = crate::indexes::count(c).await?;
    if set_aside > 0 {
        let _ = writeln!(
            out,
            "indexes dropped for the backfill's copy, built again at its end (or by its rollback): {set_aside}"
        );
    }
    for row in c
        .query(
            &format!(
                "select phase, event, detail, at::text from {} order by seq desc limit 10",
                own("history")
            ),
            &[],
        )
        .await
        .map_err(ImportError::db("reading history"))?
        .into_iter()
        .rev()
    {
        let _ = writeln!(
            out,
            "  {} {} {} {}",
            row.get::<_, String>(3),
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2)
        );
    }
    Ok(out)
}
