//! The one status taxonomy of every table, and priorities.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// Mirrors the `showtree.entity_status` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Initial creation.
    Draft,
    /// Being planned.
    Planning,
    /// In progress.
    Active,
    /// Under review.
    Review,
    /// Successfully finished.
    Completed,
    /// Called off.
    Cancelled,
    /// Historical.
    Archived,
}

impl Status {
    /// Every status, in the enum's order.
    pub const ALL: [Status; 7] = [
        Status::Draft,
        Status::Planning,
        Status::Active,
        Status::Review,
        Status::Completed,
        Status::Cancelled,
        Status::Archived,
    ];

    /// The name used in SQL and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Planning => "planning",
            Status::Active => "active",
            Status::Review => "review",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
            Status::Archived => "archived",
        }
    }

    /// Whether a row may move from `self` to `to`. The database enforces the
    /// same table (`private.status_transition_allowed`); staying is allowed.
    /// Completed work can be reopened, cancelled work revived, and archived
    /// work brought back to planning; nothing jumps straight to done from
    /// draft or planning.
    pub fn can_transition_to(self, to: Status) -> bool {
        use Status::*;
        self == to
            || match self {
                Draft => matches!(to, Planning | Active | Cancelled | Archived),
                Planning => matches!(to, Draft | Active | Cancelled | Archived),
                Active => matches!(to, Planning | Review | Completed | Cancelled | Archived),
                Review => matches!(to, Active | Completed | Cancelled),
                Completed => matches!(to, Active | Archived),
                Cancelled => matches!(to, Planning | Archived),
                Archived => matches!(to, Planning),
            }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(
                    "status",
                    "expected one of draft, planning, active, review, completed, cancelled, archived",
                )
            })
    }
}

/// Mirrors the `showtree.priority` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Whenever.
    Low,
    /// The default.
    Medium,
    /// Soon.
    High,
    /// Now.
    Urgent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staying_is_always_allowed() {
        for s in Status::ALL {
            assert!(s.can_transition_to(s));
        }
    }

    #[test]
    fn draft_cannot_jump_to_completed_but_active_can() {
        assert!(!Status::Draft.can_transition_to(Status::Completed));
        assert!(Status::Active.can_transition_to(Status::Completed));
        assert!(!Status::Archived.can_transition_to(Status::Active));
    }

    #[test]
    fn status_round_trips_through_its_name() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        assert!("done".parse::<Status>().is_err());
    }
}
