//! The migration runner.
//!
//! Migrations are pairs of files in the workspace's `migrations/` directory,
//! `NNNN_name.up.sql` and `NNNN_name.down.sql`, embedded at build time
//! (see `build.rs`). The runner records what it applied in
//! `showtree_meta.schema_migrations`, holds a session-level advisory lock
//! while it works so two processes never migrate at once, refuses to touch a
//! database whose applied migrations no longer match the files, and runs each
//! migration in its own transaction together with its bookkeeping row.
//!
//! Migration SQL therefore must not contain transaction control (`begin`,
//! `commit`) or statements that cannot run in a transaction (`create index
//! concurrently`, `vacuum`).
//!
//! The lock belongs to the connection: if an `up`/`down_to` future is
//! dropped midway, the lock stays held until that connection closes. Migrate
//! on a dedicated connection (not one a pool will hand out again), or drop
//! the client after a cancelled run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio_postgres::error::ErrorPosition;
use tokio_postgres::{Client, Config, NoTls};

use crate::catalog::{self, Difference, Snapshot};

/// The key of the advisory lock held while migrating: "showtree" in ASCII.
const LOCK_KEY: i64 = 0x7368_6f77_7472_6565;

/// The migrations compiled into this binary: `(version, name, up, down)`,
/// sorted by version and checked by `build.rs`.
static EMBEDDED: &[(i64, &str, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Numbers the scratch databases `verify` creates within one process.
static VERIFY_COUNTER: AtomicU64 = AtomicU64::new(0);

/// One migration: a version, a name and the SQL that applies and reverts it.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The version, from the file name's leading digits; unique and positive.
    pub version: i64,
    /// The name, from the file name between the version and `.up.sql`.
    pub name: String,
    /// SQL that applies the migration.
    pub up: String,
    /// SQL that reverts it.
    pub down: String,
}

impl Migration {
    /// Hex SHA-256 over the up and down SQL: recorded when the migration is
    /// applied, compared on every later run.
    pub fn checksum(&self) -> String {
        let mut hash = Sha256::new();
        // Length-prefixing `up` keeps text moved between up and down from
        // producing the same digest.
        hash.update((self.up.len() as u64).to_be_bytes());
        hash.update(self.up.as_bytes());
        hash.update(self.down.as_bytes());
        hex::encode(hash.finalize())
    }
}

/// Which half of a migration ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The `.up.sql` script.
    Up,
    /// The `.down.sql` script.
    Down,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Up => "up",
            Direction::Down => "down",
        })
    }
}

/// Where one migration stands in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    /// Applied at `at`, and its files still match what was applied.
    Applied {
        /// When it was applied.
        at: OffsetDateTime,
    },
    /// Not applied yet.
    Pending,
    /// Applied, but its files changed since (the checksum differs).
    Changed,
    /// Applied in the database, but this build has no such migration.
    Unknown,
}

/// One line of [`Migrator::status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration's version.
    pub version: i64,
    /// Its name (from the files, or from the database when `Unknown`).
    pub name: String,
    /// Where it stands.
    pub state: MigrationState,
}

/// What [`verify`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many migrations the chain has.
    pub migrations: usize,
    /// How many steps (apply, revert, apply again) were compared.
    pub steps: usize,
    /// How many catalog objects the fully migrated database has.
    pub objects: usize,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} migrations reversible: {} steps (up, down, up again) left identical catalogs; \
             the migrated schema has {} objects",
            self.migrations, self.steps, self.objects
        )
    }
}

/// Why migrating (or verifying) failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// An applied migration's files changed after it was applied.
    #[error(
        "migration {version} ({name}) was changed after it was applied (its checksum no longer \
         matches the database); restore its files and put the change in a new migration"
    )]
    ChecksumMismatch {
        /// The changed migration's version.
        version: i64,
        /// Its name.
        name: String,
    },
    /// The database has a migration applied that this build does not know.
    #[error(
        "migration {version} ({name}) is applied in the database but has no files here; \
         the database is newer than this build"
    )]
    UnknownApplied {
        /// The unknown version.
        version: i64,
        /// Its name, as recorded in the database.
        name: String,
    },
    /// A migration is pending below one already applied.
    #[error(
        "migration {version} ({name}) is pending but the later migration {applied} is already \
         applied; revert to {} first or renumber it", .version - 1
    )]
    OutOfOrder {
        /// The pending migration's version.
        version: i64,
        /// Its name.
        name: String,
        /// The newest applied version.
        applied: i64,
    },
    /// A migration's SQL failed; its transaction was rolled back.
    #[error("migration {version} ({name}) failed running {direction}{}: {message}", at_line(.line))]
    Sql {
        /// The failing migration's version.
        version: i64,
        /// Its name.
        name: String,
        /// Whether its up or down script failed.
        direction: Direction,
        /// The 1-based line in the script, when PostgreSQL reported a position.
        line: Option<usize>,
        /// PostgreSQL's message, with detail, hint and context when present.
        message: String,
        /// The driver's error.
        source: tokio_postgres::Error,
    },
    /// A migrations directory could not be read.
    #[error("reading migrations at {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Migration files are misnamed or incomplete (an up without its down).
    #[error("bad migration layout: {0}")]
    Layout(String),
    /// Talking to the database failed outside any migration's SQL.
    #[error("database error: {}", describe_pg(.0))]
    Db(#[from] tokio_postgres::Error),
    /// `verify` found a step that did not restore the catalog.
    #[error("verify failed {step}: {}", list_differences(.differences))]
    VerifyFailed {
        /// Which step, and what it was compared with.
        step: String,
        /// Every object that differs.
        differences: Vec<Difference>,
    },
}

fn at_line(line: &Option<usize>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}

/// The driver's `Display` says only "db error"; the server's message is what
/// a reader needs.
fn describe_pg(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.to_string(),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

fn list_differences(differences: &[Difference]) -> String {
    let mut out = format!("{} difference(s)", differences.len());
    for d in differences {
        out.push_str("\n  - ");
        out.push_str(&d.to_string());
    }
    out
}

/// An ordered set of migrations and the operations that apply them.
#[derive(Debug, Clone)]
pub struct Migrator {
    /// Sorted by version, versions unique.
    migrations: Vec<Migration>,
}

/// A row of `showtree_meta.schema_migrations`.
struct AppliedRow {
    name: String,
    checksum: String,
    at: OffsetDateTime,
}

impl Migrator {
    /// The migrations compiled into this binary from `migrations/`.
    pub fn embedded() -> Migrator {
        Migrator {
            migrations: EMBEDDED
                .iter()
                .map(|&(version, name, up, down)| Migration {
                    version,
                    name: name.to_owned(),
                    up: up.to_owned(),
                    down: down.to_owned(),
                })
                .collect(),
        }
    }

    /// Reads migrations from `dir` at run time, with the same rules as the
    /// embedded set: every `*.sql` file (hidden files aside) must be named
    /// `NNNN_name.up.sql` or `NNNN_name.down.sql`, and every up needs its down.
    pub fn from_dir(dir: &Path) -> Result<Migrator, MigrateError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| MigrateError::Io { path, source }
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let path = entry.path();
            let file_name = entry.file_name();
            let Some(file) = file_name.to_str() else {
                return Err(MigrateError::Layout(format!(
                    "{}: the file name is not UTF-8",
                    path.display()
                )));
            };
            // Editor swap files, READMEs and the like are not migrations.
            if file.starts_with('.') || !file.ends_with(".sql") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            files.push((file.to_owned(), text));
        }
        Ok(Migrator {
            migrations: parse_files(files)?,
        })
    }

    /// The migrations, sorted by version.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// The newest version, or 0 when there are no migrations.
    pub fn latest(&self) -> i64 {
        self.migrations.last().map_or(0, |m| m.version)
    }

    /// 16 hex digits identifying this exact set of migrations (versions and
    /// contents), for naming template databases built from it.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        for m in &self.migrations {
            hash.update(format!("{}:{}\n", m.version, m.checksum()));
        }
        let digest = hash.finalize();
        hex::encode(&digest[..8])
    }

    fn find(&self, version: i64) -> Option<&Migration> {
        self.migrations
            .binary_search_by_key(&version, |m| m.version)
            .ok()
            .map(|i| &self.migrations[i])
    }

    /// Applies every pending migration; returns the versions applied, oldest first.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn up(&self, client: &mut Client) -> Result<Vec<i64>, MigrateError> {
        self.migrate_up(client, i64::MAX).await
    }

    /// Applies pending migrations up to and including version `target`;
    /// returns the versions applied, oldest first.
    #[tracing::instrument(skip_all, fields(to_version = target), err)]
    pub async fn up_to(&self, client: &mut Client, target: i64) -> Result<Vec<i64>, MigrateError> {
        self.migrate_up(client, target).await
    }

    /// Reverts applied migrations newer than `target`, newest first; returns
    /// the versions reverted in that order. `down_to(0)` reverts everything.
    #[tracing::instrument(skip_all, fields(to_version = target), err)]
    pub async fn down_to(
        &self,
        client: &mut Client,
        target: i64,
    ) -> Result<Vec<i64>, MigrateError> {
        lock(client).await?;
        let result = self.down_locked(client, target).await;
        unlock(client, result).await
    }

    /// Every migration known to the files or the database, with its state,
    /// sorted by version. Reads only; creates nothing.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn status(&self, client: &Client) -> Result<Vec<MigrationStatus>, MigrateError> {
        let applied = read_applied(client).await?;
        let mut out: Vec<MigrationStatus> = self
            .migrations
            .iter()
            .map(|m| MigrationStatus {
                version: m.version,
                name: m.name.clone(),
                state: match applied.get(&m.version) {
                    Some(row) if row.checksum == m.checksum() => {
                        MigrationState::Applied { at: row.at }
                    }
                    Some(_) => MigrationState::Changed,
                    None => MigrationState::Pending,
                },
            })
            .collect();
        out.extend(
            applied
                .iter()
                .filter(|(version, _)| self.find(**version).is_none())
                .map(|(version, row)| MigrationStatus {
                    version: *version,
                    name: row.name.clone(),
                    state: MigrationState::Unknown,
                }),
        );
        out.sort_by_key(|s| s.version);
        Ok(out)
    }

    /// True when every migration is applied, none changed and none unknown.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn is_current(&self, client: &Client) -> Result<bool, MigrateError> {
        let status = self.status(client).await?;
        Ok(status
            .iter()
            .all(|s| matches!(s.state, MigrationState::Applied { .. })))
    }

    async fn migrate_up(&self, client: &mut Client, target: i64) -> Result<Vec<i64>, MigrateError> {
        lock(client).await?;
        let result = self.up_locked(client, target).await;
        unlock(client, result).await
    }

    async fn up_locked(&self, client: &mut Client, target: i64) -> Result<Vec<i64>, MigrateError> {
        ensure_bookkeeping(client).await?;
        let applied = read_applied(client).await?;
        self.check_applied(&applied)?;
        let newest_applied = applied.keys().next_back().copied().unwrap_or(0);
        let pending: Vec<&Migration> = self
            .migrations
            .iter()
            .filter(|m| m.version <= target && !applied.contains_key(&m.version))
            .collect();
        // A gap below the newest applied version would run migrations out of
        // the order `verify` proved reversible.
        if let Some(m) = pending.iter().find(|m| m.version < newest_applied) {
            return Err(MigrateError::OutOfOrder {
                version: m.version,
                name: m.name.clone(),
                applied: newest_applied,
            });
        }

        let mut done = Vec::with_capacity(pending.len());
        for m in pending {
            let started = Instant::now();
            let tx = client.transaction().await?;
            if let Err(e) = tx.batch_execute(&m.up).await {
                // The original error is the one worth reporting.
                let _ = tx.rollback().await;
                return Err(sql_error(m, Direction::Up, &m.up, e));
            }
            tx.execute(
                "insert into showtree_meta.schema_migrations (version, name, checksum) values ($1, $2, $3)",
                &[&m.version, &m.name, &m.checksum()],
            )
            .await?;
            // Deferred constraints fire at commit: that failure is the migration's.
            tx.commit()
                .await
                .map_err(|e| sql_error(m, Direction::Up, &m.up, e))?;
            tracing::info!(
                version = m.version,
                name = %m.name,
                direction = %Direction::Up,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "applied migration"
            );
            done.push(m.version);
        }
        Ok(done)
    }

    async fn down_locked(
        &self,
        client: &mut Client,
        target: i64,
    ) -> Result<Vec<i64>, MigrateError> {
        ensure_bookkeeping(client).await?;
        let applied = read_applied(client).await?;
        self.check_applied(&applied)?;
        let mut done = Vec::new();
        for version in applied.keys().rev().filter(|v| **v > target) {
            // check_applied proved every applied version has its files.
            let Some(m) = self.find(*version) else {
                return Err(MigrateError::UnknownApplied {
                    version: *version,
                    name: applied[version].name.clone(),
                });
            };
            let started = Instant::now();
            let tx = client.transaction().await?;
            if let Err(e) = tx.batch_execute(&m.down).await {
                let _ = tx.rollback().await;
                return Err(sql_error(m, Direction::Down, &m.down, e));
            }
            tx.execute(
                "delete from showtree_meta.schema_migrations where version = $1",
                &[&m.version],
            )
            .await?;
            tx.commit()
                .await
                .map_err(|e| sql_error(m, Direction::Down, &m.down, e))?;
            tracing::info!(
                version = m.version,
                name = %m.name,
                direction = %Direction::Down,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "reverted migration"
            );
            done.push(m.version);
        }
        Ok(done)
    }

    /// Refuses a database whose applied migrations differ from the files.
    fn check_applied(&self, applied: &BTreeMap<i64, AppliedRow>) -> Result<(), MigrateError> {
        for (version, row) in applied {
            match self.find(*version) {
                None => {
                    return Err(MigrateError::UnknownApplied {
                        version: *version,
                        name: row.name.clone(),
                    });
                }
                Some(m) if m.checksum() != row.checksum => {
                    return Err(MigrateError::ChecksumMismatch {
                        version: m.version,
                        name: m.name.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// Waits for the migration lock. It is session-level, so it spans the
/// per-migration transactions, and dies with the connection if we do.
async fn lock(client: &Client) -> Result<(), MigrateError> {
    client
        .execute("select pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    Ok(())
}

/// Releases the migration lock whatever `result` is; the migration's own
/// error wins over a failure to unlock.
async fn unlock<T>(client: &Client, result: Result<T, MigrateError>) -> Result<T, MigrateError> {
    let unlocked = client
        .execute("select pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    let value = result?;
    unlocked?;
    Ok(value)
}

/// Creates the runner's bookkeeping; called only under the lock, because
/// concurrent `create ... if not exists` can still collide.
async fn ensure_bookkeeping(client: &Client) -> Result<(), MigrateError> {
    client
        .batch_execute(
            "create schema if not exists showtree_meta;
             create table if not exists showtree_meta.schema_migrations (
                 version bigint primary key,
                 name text not null,
                 checksum text not null,
                 applied_at timestamptz not null default now()
             );",
        )
        .await?;
    Ok(())
}

/// The bookkeeping rows, empty when the table does not exist yet.
async fn read_applied(client: &Client) -> Result<BTreeMap<i64, AppliedRow>, MigrateError> {
    let exists: bool = client
        .query_one(
            "select to_regclass('showtree_meta.schema_migrations') is not null",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(BTreeMap::new());
    }
    let rows = client
        .query(
            "select version, name, checksum, applied_at from showtree_meta.schema_migrations",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                AppliedRow {
                    name: r.get(1),
                    checksum: r.get(2),
                    at: r.get(3),
                },
            )
        })
        .collect())
}

/// Wraps a failure of a migration's SQL with everything needed to find it.
fn sql_error(
    m: &Migration,
    direction: Direction,
    sql: &str,
    source: tokio_postgres::Error,
) -> MigrateError {
    let (message, line) = match source.as_db_error() {
        Some(db) => {
            let mut message = db.message().to_owned();
            for (label, extra) in [
                ("detail", db.detail()),
                ("hint", db.hint()),
                ("context", db.where_()),
            ] {
                if let Some(extra) = extra {
                    message.push_str(&format!("; {label}: {extra}"));
                }
            }
            let line = match db.position() {
                // PostgreSQL counts characters from 1 across the whole script.
                Some(ErrorPosition::Original(pos)) => Some(
                    sql.chars()
                        .take((*pos as usize).saturating_sub(1))
                        .filter(|c| *c == '\n')
                        .count()
                        + 1,
                ),
                _ => None,
            };
            (message, line)
        }
        None => (describe_pg(&source), None),
    };
    MigrateError::Sql {
        version: m.version,
        name: m.name.clone(),
        direction,
        line,
        message,
        source,
    }
}

/// Pairs `(file name, contents)` into migrations sorted by version.
fn parse_files(files: Vec<(String, String)>) -> Result<Vec<Migration>, MigrateError> {
    #[derive(Default)]
    struct Pair {
        name: String,
        up: Option<String>,
        down: Option<String>,
    }
    let mut pairs: BTreeMap<i64, Pair> = BTreeMap::new();
    for (file, text) in files {
        let (version, name, direction) = parse_file_name(&file)?;
        let pair = pairs.entry(version).or_default();
        if pair.up.is_none() && pair.down.is_none() {
            pair.name = name.to_owned();
        } else if pair.name != name {
            return Err(MigrateError::Layout(format!(
                "version {version} is used by two migrations, {} and {name}",
                pair.name
            )));
        }
        let slot = match direction {
            Direction::Up => &mut pair.up,
            Direction::Down => &mut pair.down,
        };
        if slot.is_some() {
            return Err(MigrateError::Layout(format!(
                "{file}: a second file for migration {version} ({name})"
            )));
        }
        *slot = Some(text);
    }
    pairs
        .into_iter()
        .map(|(version, pair)| match (pair.up, pair.down) {
            (Some(up), Some(down)) => Ok(Migration {
                version,
                name: pair.name,
                up,
                down,
            }),
            (up, _) => {
                let (have, missing) = if up.is_some() { ("up", "down") } else { ("down", "up") };
                Err(MigrateError::Layout(format!(
                    "migration {version} ({name}) has a .{have}.sql file but no {version:04}_{name}.{missing}.sql",
                    name = pair.name
                )))
            }
        })
        .collect()
}

/// `NNNN_name.up.sql` -> `(version, name, direction)`; build.rs applies the
/// same rules to the embedded files.
fn parse_file_name(file: &str) -> Result<(i64, &str, Direction), MigrateError> {
    let bad = |why: &str| {
        MigrateError::Layout(format!(
            "{file}: {why}; expected NNNN_name.up.sql or NNNN_name.down.sql"
        ))
    };
    let (stem, direction) = if let Some(stem) = file.strip_suffix(".up.sql") {
        (stem, Direction::Up)
    } else if let Some(stem) = file.strip_suffix(".down.sql") {
        (stem, Direction::Down)
    } else {
        return Err(bad("not an .up.sql or .down.sql file"));
    };
    let (digits, name) = stem
        .split_once('_')
        .ok_or_else(|| bad("no `_` between version and name"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("the version must be decimal digits"));
    }
    let version: i64 = digits
        .parse()
        .map_err(|_| bad("the version is too large"))?;
    if version == 0 {
        return Err(bad(
            "version 0 stands for the empty database and cannot be a migration",
        ));
    }
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(bad(
            "the name must be lowercase letters, digits, `_` or `-`",
        ));
    }
    Ok((version, name, direction))
}

/// Proves `migrator`'s chain reversible on a scratch database created through
/// `admin_url` (and dropped again, whatever happens): apply each migration,
/// snapshotting the catalog after each; revert them one at a time, newest
/// first, each time expecting the catalog from before that migration; apply
/// them again, expecting the catalogs of the first pass. (Only a future
/// dropped midway can leave the scratch database behind.)
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn verify(admin_url: &str, migrator: &Migrator) -> Result<VerifyReport, MigrateError> {
    let admin_config: Config = admin_url.parse()?;
    let admin = connect(&admin_config).await?;
    let name = format!(
        "showtree_verify_{}_{}",
        std::process::id(),
        VERIFY_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    // The name is letters, digits and underscores: no quoting needed.
    admin
        .batch_execute(&format!("create database {name}"))
        .await?;
    tracing::debug!(database = %name, "created scratch database");

    let mut config = admin_config.clone();
    config.dbname(&name);
    let result = async {
        let mut client = connect(&config).await?;
        check_chain(&mut client, migrator).await
    }
    .await;

    let dropped = admin
        .batch_execute(&format!("drop database if exists {name} with (force)"))
        .await;
    let report = result?;
    dropped?;
    Ok(report)
}

async fn connect(config: &Config) -> Result<Client, MigrateError> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "verify connection ended with an error");
        }
    });
    Ok(client)
}

/// The up, down, up-again walk of [`verify`] on an empty database.
async fn check_chain(
    client: &mut Client,
    migrator: &Migrator,
) -> Result<VerifyReport, MigrateError> {
    let migrations = migrator.migrations();
    let describe = |i: usize| match i {
        0 => "the empty database".to_owned(),
        i => {
            let m = &migrations[i - 1];
            format!("migration {} ({})", m.version, m.name)
        }
    };

    // expected[i] is the catalog with the first i migrations applied.
    let mut expected: Vec<Snapshot> = Vec::with_capacity(migrations.len() + 1);
    expected.push(catalog::snapshot(client).await?);
    for m in migrations {
        migrator.up_to(client, m.version).await?;
        expected.push(catalog::snapshot(client).await?);
    }
    let mut steps = migrations.len();

    for i in (0..migrations.len()).rev() {
        let previous = if i == 0 { 0 } else { migrations[i - 1].version };
        migrator.down_to(client, previous).await?;
        compare(&expected[i], &catalog::snapshot(client).await?, || {
            format!(
                "after reverting {}: the catalog differs from the one after {}",
                describe(i + 1),
                describe(i)
            )
        })?;
        steps += 1;
    }

    for (i, m) in migrations.iter().enumerate() {
        migrator.up_to(client, m.version).await?;
        compare(&expected[i + 1], &catalog::snapshot(client).await?, || {
            format!(
                "after re-applying {}: the catalog differs from the first time it was applied",
                describe(i + 1)
            )
        })?;
        steps += 1;
    }

    Ok(VerifyReport {
        migrations: migrations.len(),
        steps,
        objects: expected.last().map_or(0, |s| s.objects.len()),
    })
}

fn compare(
    expected: &Snapshot,
    actual: &Snapshot,
    step: impl FnOnce() -> String,
) -> Result<(), MigrateError> {
    let differences = expected.diff(actual);
    if differences.is_empty() {
        Ok(())
    } else {
        Err(MigrateError::VerifyFailed {
            step: step(),
            differences,
        })
    }
}
