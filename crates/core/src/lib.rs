//! showtree's domain types. No I/O: everything here is plain data and the
//! rules that hold for it, parsed at the edge ("parse, don't validate").

pub mod access;
pub mod hierarchy;
pub mod money;
pub mod status;

pub use access::{Capability, Role};
pub use hierarchy::{MAX_DEPTH, NodeKind, NodeName, Slug};
pub use money::{Currency, Money};
pub use status::{Priority, Status};

/// A value that failed to parse, with a message safe to show to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParseError {
    /// The field (or value kind) that was invalid.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
