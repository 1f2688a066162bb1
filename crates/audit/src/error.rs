//! The audit's error type.

use std::path::PathBuf;

/// What can stop an audit.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The database could not be reached (exit 1).
    #[error("cannot connect to {url}: {}", describe(.error))]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// The driver's error.
        error: tokio_postgres::Error,
    },
    /// A catalog query failed (exit 1).
    #[error("{context}: {}", describe(.error))]
    Query {
        /// What was being read.
        context: &'static str,
        /// The server's error.
        error: tokio_postgres::Error,
    },
    /// A schema named with `--schema` does not exist (usage, exit 2).
    #[error("no schema named {0} in this database")]
    NoSuchSchema(String),
    /// The config file could not be read (usage, exit 2).
    #[error("reading the config file {path}: {error}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The benchmark cannot proceed (e.g. its database name is taken).
    #[error("{0}")]
    Bench(String),
    /// A results file could not be written.
    #[error("writing {path}: {error}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The config file is not valid (usage, exit 2).
    #[error("invalid config file {path}: {message}")]
    ConfigInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

/// The driver's error with the server's own words: tokio-postgres's
/// `Display` says only "db error" for an error the server sent.
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => match std::error::Error::source(error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    }
}

impl AuditError {
    /// Wraps a query error with what was being read, for `map_err`.
    pub fn query(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> AuditError {
        move |error| AuditError::Query { context, error }
    }

    /// Whether the error is the user's invocation (exit 2) rather than a
    /// failure (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            AuditError::NoSuchSchema(_)
                | AuditError::ConfigRead { .. }
                | AuditError::ConfigInvalid { .. }
        )
    }
}
