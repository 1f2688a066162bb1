//! `showtree import`: moves a PostgreSQL database laid out the old, flat
//! way (STRATEGY.md, "Current State Analysis") into showtree's schema, in
//! the same database or from another one (`--legacy-url`, [`fdw`]), in
//! reversible phases recorded in a state table: check, expand, backfill,
//! dual-write, validate, cutover, contract, and rollback of each.
//! docs/IMPORT.md is the user's reference.

pub mod backfill;
pub mod catalog;
pub mod check;
pub mod cutover;
pub mod dualwrite;
pub mod expand;
pub mod fdw;
pub mod indexes;
pub mod legacy;
pub mod mapping;
pub mod plan;
pub mod progress;
pub mod report;
pub mod rollback;
pub mod rollups;
pub mod sql;
pub mod sqlgen;
pub mod state;
pub mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

pub use mapping::Mapping;
pub use report::Report;

/// Why an import command failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Wrong use of the command (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The mapping file cannot be read or parsed.
    #[error("mapping: {0}")]
    Mapping(String),
    /// A database call failed.
    #[error("{context}: {}", showtree_db::connect::describe(.error))]
    Db {
        /// What was being done.
        context: String,
        /// The error (described in the message, so not a `source`).
        error: tokio_postgres::Error,
    },
    /// The import's state does not allow the command.
    #[error("{0}")]
    State(String),
    /// The mapping or the data has problems; nothing the phase cannot roll
    /// back was changed. The report names every one.
    #[error("{}", .0.render(0))]
    Problems(Box<Report>),
    /// Something else.
    #[error("{0}")]
    Other(String),
}

impl ImportError {
    /// Wraps a database error with what was being done.
    pub fn db(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> ImportError {
        move |source| ImportError::Db {
            context: context.to_owned(),
            error: source,
        }
    }

    /// Wraps a database error with a formatted context.
    pub fn db_at(context: String) -> impl FnOnce(tokio_postgres::Error) -> ImportError {
        move |source| ImportError::Db {
            context,
            error: source,
        }
    }
}

/// `showtree import` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    /// Validate a mapping against the live legacy catalog and data; write nothing.
    Check {
        /// The mapping file (TOML).
        #[arg(long)]
        mapping: PathBuf,
        /// At most this many row ids per problem (0: all).
        #[arg(long, default_value_t = 0)]
        max_ids: usize,
    },
    /// Create showtree's schema (when missing) and the id maps; change nothing legacy.
    Expand {
        /// The mapping file (TOML); kept in the state table for later phases.
        #[arg(long)]
        mapping: PathBuf,
    },
    /// Copy the legacy rows in batches, in primary-key order; resumable.
    Backfill(backfill::BackfillArgs),
    /// Catch up every row changed during the backfill and keep showtree
    /// current: within one database by triggers in the legacy writer's
    /// transaction (synchronous), or with --async (always from another
    /// database) by draining the change log, once or with --follow until
    /// interrupted.
    DualWrite {
        /// Within one database: keep the capture triggers and drain their
        /// change log instead of writing showtree in the legacy writer's
        /// transaction (legacy writes pay one log insert; showtree lags by
        /// the drain). Recorded: later commands keep the mode.
        #[arg(long = "async")]
        asynchronous: bool,
        /// Asynchronous dual-write only: keep draining the change log until
        /// SIGINT or SIGTERM (the batch under way is finished; exit 0).
        #[arg(long)]
        follow: bool,
    },
    /// Compare counts, per-column checksums and references; run the audit.
    Validate {
        /// At most this many row ids per mismatch (0: all).
        #[arg(long, default_value_t = 0)]
        max_ids: usize,
    },
    /// Stop dual-write (after a last validation); optionally move the
    /// legacy tables out of the way.
    Cutover {
        /// Move the legacy tables into schema `showtree_legacy`.
        #[arg(long)]
        rename: bool,
        /// Cut over even if validation finds mismatches.
        #[arg(long)]
        force: bool,
    },
    /// Drop the legacy tables for good (after cutover). Irreversible.
    Contract {
        /// Required: this cannot be rolled back.
        #[arg(long)]
        confirm: bool,
    },
    /// Undo the latest phase (or every phase with --all).
    Rollback {
        /// Undo every phase, back to before expand.
        #[arg(long)]
        all: bool,
    },
    /// Print the phase, the progress per mapping and pending changes.
    Status,
}

/// Runs an import command against `url` (showtree's database), the legacy
/// tables being in `legacy` when given, else in `url` too; prints its
/// report and returns the exit code (0 ok, 1 problems or failure, 2 usage).
pub async fn run(cmd: ImportCommand, url: &str, legacy: Option<&fdw::LegacyUrl>) -> ExitCode {
    match run_inner(cmd, url, legacy).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(ImportError::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(ImportError::Problems(report)) => {
            println!("{}", report.render(0).trim_end());
            eprintln!("stopped: problems found; nothing that cannot be rolled back was changed");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_inner(
    cmd: ImportCommand,
    url: &str,
    legacy: Option<&fdw::LegacyUrl>,
) -> Result<(), ImportError> {
    let mut session = state::Session::connect_with(url, legacy).await?;
    let done = command(&mut session, cmd).await;
    let forgotten = session.forget_password().await;
    done.and(forgotten)
}

/// Completes on SIGINT or SIGTERM; the handlers are installed at once
/// (not when first polled), so a signal arriving before never kills the
/// process midway through a batch.
fn interrupted() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            match (int, term) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn command(session: &mut state::Session, cmd: ImportCommand) -> Result<(), ImportError> {
    match cmd {
        ImportCommand::Check { mapping, max_ids } => {
            let (mapping, _) = Mapping::load(&mapping)?;
            let report =
                check::check_with(&mut session.client, session.legacy.as_ref(), &mapping).await?;
            println!("{}", report.render(max_ids).trim_end());
            if !report.is_clean() {
                return Err(ImportError::Other(
                    "the mapping cannot be applied as it is".to_owned(),
                ));
            }
        }
        ImportCommand::Expand { mapping } => {
            let (_, text) = Mapping::load(&mapping)?;
            expand::expand(session, &text).await?;
            println!("expanded: showtree's schema and the id maps are in place");
        }
        ImportCommand::Backfill(args) => {
            let summary = backfill::backfill(session, &args).await?;
            println!("{summary}");
        }
        ImportCommand::DualWrite {
            asynchronous,
            follow,
        } => {
            let caught = if asynchronous {
                dualwrite::enable_async(session).await?
            } else if follow {
                // follow checks the mode itself (and catches up first)
                0
            } else {
                dualwrite::enable(session).await?
            };
            if follow {
                let followed = dualwrite::follow(session, interrupted()).await?;
                println!(
                    "dual-write stopped following: {} changes copied",
                    caught + followed
                );
            } else if session.require().await?.is_async() {
                println!(
                    "dual-write (asynchronous): {caught} logged changes caught up; run showtree import dual-write --follow to keep showtree current"
                );
            } else {
                println!(
                    "dual-write on: {caught} changes made during the backfill caught up; legacy writes now reach showtree"
                );
            }
        }
        ImportCommand::Validate { max_ids } => {
            let outcome = validate::validate(session).await?;
            println!("{}", outcome.render(max_ids).trim_end());
            if !outcome.is_clean() {
                return Err(ImportError::Other("validation found mismatches".to_owned()));
            }
        }
        ImportCommand::Cutover { rename, force } => {
            let text = cutover::cutover(session, rename, force).await?;
            println!("{text}");
        }
        ImportCommand::Contract { confirm } => {
            if !confirm {
                return Err(ImportError::Usage(
                    "contract drops the legacy tables for good; run it with --confirm".to_owned(),
                ));
            }
            let text = cutover::contract(session).await?;
            println!("{text}");
        }
        ImportCommand::Rollback { all } => {
            for line in rollback::rollback(session, all).await? {
                println!("{line}");
            }
        }
        ImportCommand::Status => {
            println!("{}", state::status(session).await?.trim_end());
        }
    }
    Ok(())
}
