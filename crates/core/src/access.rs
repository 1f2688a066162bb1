//! Roles granted on nodes and the capabilities they carry (DESIGN.md
//! section 3, Access).

use serde::{Deserialize, Serialize};

/// A role granted to a user on a node, weakest first (`Ord` is strength).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Reads and money, no work changes.
    Finance,
    /// Reads and changes work.
    Editor,
    /// Manages nodes and grants up to manager.
    Manager,
    /// Everything but deleting the organization.
    Admin,
    /// Everything.
    Owner,
}

/// What a role allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// See the node and its work.
    Read,
    /// Change work (tasks, schedule, ...).
    Write,
    /// Create, rename, move and delete nodes.
    Manage,
    /// Read and change money.
    Finance,
    /// Grant roles to others.
    Grant,
}

impl Role {
    /// Whether this role carries `cap` (the table in DESIGN.md).
    pub fn has(self, cap: Capability) -> bool {
        use Capability as C;
        use Role::*;
        match cap {
            C::Read => true,
            C::Write => matches!(self, Editor | Manager | Admin | Owner),
            C::Manage | C::Grant => matches!(self, Manager | Admin | Owner),
            C::Finance => matches!(self, Finance | Admin | Owner),
        }
    }

    /// The strongest role this role may grant to someone else.
    pub fn max_grantable(self) -> Option<Role> {
        match self {
            Role::Manager => Some(Role::Manager),
            Role::Admin => Some(Role::Admin),
            Role::Owner => Some(Role::Owner),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_not_implied_by_editing() {
        assert!(Role::Editor.has(Capability::Write));
        assert!(!Role::Editor.has(Capability::Finance));
        assert!(Role::Finance.has(Capability::Finance));
        assert!(!Role::Finance.has(Capability::Write));
        assert!(!Role::Manager.has(Capability::Finance));
    }

    #[test]
    fn managers_grant_up_to_manager() {
        assert_eq!(Role::Manager.max_grantable(), Some(Role::Manager));
        assert_eq!(Role::Editor.max_grantable(), None);
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Manager);
    }
}
