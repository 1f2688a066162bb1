//! The database layer's error type.

use tokio_postgres::error::SqlState;

/// What can go wrong talking to the database, sorted so callers can map
/// each case to a clear client error without parsing messages.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row does not exist (or the caller may not see it).
    #[error("not found")]
    NotFound,
    /// A rule of the schema was broken: a named constraint, or a rule a
    /// trigger enforces (raised with the rule's name as its constraint).
    #[error("{rule}: {message}")]
    Rule {
        /// The constraint or rule name, e.g. `nodes_kind_rule`.
        rule: String,
        /// SQLSTATE of the violation (23505 unique, 23503 foreign key, ...).
        code: String,
        /// PostgreSQL's message, safe to show: it names the rule, not data.
        message: String,
    },
    /// The caller may not do this: a rule of the access layer (named, e.g.
    /// `grants_not_allowed`) or a row-level security check
    /// (`row_level_security`) refused it.
    #[error("{rule}: {message}")]
    Forbidden {
        /// The rule that refused, or `row_level_security`.
        rule: String,
        /// PostgreSQL's message.
        message: String,
    },
    /// The caller passed a value the operation cannot take.
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    /// The database returned something this code does not understand.
    #[error("unexpected data from the database: {0}")]
    Unexpected(String),
    /// The pool could not hand out a connection.
    #[error("database unavailable: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// Any other database failure.
    #[error("database error: {0}")]
    Postgres(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            if *code == SqlState::INSUFFICIENT_PRIVILEGE {
                let rule = match db.constraint() {
                    Some(rule) => rule.to_owned(),
                    None if db.message().contains("row-level security") => {
                        "row_level_security".to_owned()
                    }
                    // a missing privilege is a schema/role bug, not a caller's
                    None => return DbError::Postgres(e),
                };
                return DbError::Forbidden {
                    rule,
                    message: db.message().to_owned(),
                };
            }
            let is_rule = code.code().starts_with("23")
                || *code == SqlState::RAISE_EXCEPTION
                || *code == SqlState::CHECK_VIOLATION;
            if is_rule {
                if let Some(rule) = db.constraint() {
                    return DbError::Rule {
                        rule: rule.to_owned(),
                        code: code.code().to_owned(),
                        message: db.message().to_owned(),
                    };
                }
            }
        }
        DbError::Postgres(e)
    }
}

impl DbError {
    /// The violated rule's name, if this is a rule violation.
    pub fn rule(&self) -> Option<&str> {
        match self {
            DbError::Rule { rule, .. } | DbError::Forbidden { rule, .. } => Some(rule),
            _ => None,
        }
    }
}
