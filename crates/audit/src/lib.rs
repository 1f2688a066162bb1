//! `showtree audit`: reads any PostgreSQL catalog (read-only) and reports
//! where the schema departs from the conventions of DESIGN.md section 4 —
//! redundant hierarchy keys, user reference names, status taxonomies,
//! metadata columns, timestamps, delete rules, indexes, primary keys, row
//! level security and money types — each finding with a stable key, why it
//! matters, and the SQL that fixes it. docs/AUDIT.md describes the rules.

pub mod bench;
pub mod catalog;
pub mod config;
pub mod error;
pub mod finding;
pub mod render;
pub mod report;
pub mod rules;
pub mod sql;

use std::collections::HashMap;
use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use tokio_postgres::{Client, IsolationLevel, NoTls};

pub use config::Config;
pub use error::AuditError;
pub use finding::{Finding, Rule, Severity};
pub use report::Report;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: grouped by rule, worst first, with a summary.
    Text,
    /// For machines.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

/// The lowest severity that makes the command exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// Never (always exit 0 when the audit ran).
    Never,
}

/// Options of `showtree audit`.
#[derive(Clone, clap::Args)]
pub struct AuditArgs {
    /// The database to audit (default: showtree's own database).
    #[arg(long)]
    pub url: Option<String>,
    /// Audit this schema (repeatable). Default: every schema except
    /// PostgreSQL's, showtree_meta and hosted platforms' own (auth, storage, ...).
    #[arg(long = "schema", value_name = "SCHEMA")]
    pub schemas: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 1 when a finding at or above this severity remains.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Also read the distinct values of status-like columns from the data
    /// (one grouped scan per column).
    #[arg(long)]
    pub sample: bool,
    /// TOML file silencing findings by key (with a reason) and adjusting
    /// the conventions; see docs/AUDIT.md.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

// By hand: the URL may carry a password.
impl fmt::Debug for AuditArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditArgs")
            .field("url", &self.url.as_deref().map(redacted_url))
            .field("schemas", &self.schemas)
            .field("format", &self.format)
            .field("fail_on", &self.fail_on)
            .field("sample", &self.sample)
            .field("config", &self.config)
            .finish()
    }
}

/// What to audit.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Schemas; empty: the default set (see [`AuditArgs::schemas`]).
    pub schemas: Vec<String>,
    /// Read status values from the data.
    pub sample: bool,
}

/// `url` with its password replaced by `***`.
pub fn redacted_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    // The last @ ends the user info: a password may contain one.
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    match authority[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_owned(),
    }
}

/// `url` naming database `db` instead of its own.
pub fn url_with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Connects to `url` (as application `showtree audit`).
pub async fn connect(url: &str) -> Result<Client, AuditError> {
    let connect_error = |error| AuditError::Connect {
        url: redacted_url(url),
        error,
    };
    let mut config = tokio_postgres::Config::from_str(url).map_err(connect_error)?;
    config.application_name("showtree audit");
    let (client, conn) = config.connect(NoTls).await.map_err(connect_error)?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %e, "audit connection ended");
        }
    });
    Ok(client)
}

/// Audits the database behind `client`. Everything is read in one
/// read-only, repeatable-read transaction (one consistent snapshot), which
/// is rolled back: the audit cannot write.
// Errors are not logged here: the command reports each one once.
#[tracing::instrument(skip_all)]
pub async fn audit(
    client: &mut Client,
    opts: &Options,
    config: &Config,
) -> Result<Report, AuditError> {
    let tx = client
        .build_transaction()
        .read_only(true)
        .isolation_level(IsolationLevel::RepeatableRead)
        .start()
        .await
        .map_err(AuditError::query("starting a read-only transaction"))?;
    // An empty search path makes the server print every name outside
    // pg_catalog schema-qualified, so the fix SQL built from deparsed
    // expressions means the same whatever the reader's search path.
    tx.batch_execute("set local search_path = ''")
        .await
        .map_err(AuditError::query("setting the search path"))?;
    let catalog = catalog::read(
        &tx,
        &catalog::ReadOptions {
            schemas: opts.schemas.clone(),
            users_tables: config.users_tables.clone(),
        },
    )
    .await?;
    let samples = if opts.sample {
        catalog::sample_values(&tx, &rules::status::sample_targets(&catalog)).await?
    } else {
        HashMap::new()
    };
    tx.rollback()
        .await
        .map_err(AuditError::query("ending the read-only transaction"))?;
    Ok(Report::build(&catalog, config, &samples))
}

/// Renders a report in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => render::text(report),
        Format::Json => render::json(report),
        Format::Sarif => render::sarif(report),
    }
}

/// The exit code for `report` under `fail_on`.
pub fn exit_code(report: &Report, fail_on: FailOn) -> ExitCode {
    let threshold = match fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warn => Severity::Warn,
        FailOn::Never => return ExitCode::SUCCESS,
    };
    if report.worst().is_some_and(|w| w >= threshold) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `showtree audit`: audits `url` (used when `args.url` is absent), prints
/// the report on stdout and returns the exit code: 0 ok, 1 findings at or
/// above `--fail-on` (or a failure), 2 usage (bad config, unknown schema).
pub async fn command(args: &AuditArgs, default_url: &str) -> ExitCode {
    match command_inner(args, default_url).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            if e.is_usage() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn command_inner(args: &AuditArgs, default_url: &str) -> Result<ExitCode, AuditError> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let url = args.url.as_deref().unwrap_or(default_url);
    let mut client = connect(url).await?;
    let report = audit(
        &mut client,
        &Options {
            schemas: args.schemas.clone(),
            sample: args.sample,
        },
        &config,
    )
    .await?;
    let text = render(&report, args.format);
    // A closed pipe (`| head`) is the reader's choice, not a failure: the
    // exit code still tells the result.
    let _ = writeln!(std::io::stdout().lock(), "{}", text.trim_end());
    Ok(exit_code(&report, args.fail_on))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted_url("postgres://me:secret@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(redacted_url("postgres://me@db/x"), "postgres://me@db/x");
        assert_eq!(
            redacted_url("postgres://me:p@ss@db/x?a=b@c"),
            "postgres://me:***@db/x?a=b@c"
        );
        assert_eq!(
            url_with_database("postgres://me@db:5432/postgres?sslmode=disable", "b"),
            "postgres://me@db:5432/b?sslmode=disable"
        );
    }
}
