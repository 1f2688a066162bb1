//! Wire forms of the core domain enums, with their OpenAPI schemas (core
//! has no HTTP or OpenAPI dependency). The conversions match exhaustively,
//! so a new core variant is a compile error here, not a silent gap.

use serde::{Deserialize, Serialize};
use showtree_core::{NodeKind, Role, Status};
use utoipa::ToSchema;

/// The level of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The tenant, a root.
    Organization,
    /// Under an organization.
    Project,
    /// Under a project.
    Production,
    /// Under a production.
    Activation,
    /// Under an activation or a workspace.
    Workspace,
}

impl From<NodeKind> for Kind {
    fn from(k: NodeKind) -> Kind {
        match k {
            NodeKind::Organization => Kind::Organization,
            NodeKind::Project => Kind::Project,
            NodeKind::Production => Kind::Production,
            NodeKind::Activation => Kind::Activation,
            NodeKind::Workspace => Kind::Workspace,
        }
    }
}

impl From<Kind> for NodeKind {
    fn from(k: Kind) -> NodeKind {
        match k {
            Kind::Organization => NodeKind::Organization,
            Kind::Project => NodeKind::Project,
            Kind::Production => NodeKind::Production,
            Kind::Activation => NodeKind::Activation,
            Kind::Workspace => NodeKind::Workspace,
        }
    }
}

/// Lifecycle status (transitions are checked by the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// Initial.
    Draft,
    /// Being planned.
    Planning,
    /// In progress.
    Active,
    /// Under review.
    Review,
    /// Finished.
    Completed,
    /// Called off.
    Cancelled,
    /// Historical.
    Archived,
}

impl From<Status> for NodeStatus {
    fn from(s: Status) -> NodeStatus {
        match s {
            Status::Draft => NodeStatus::Draft,
            Status::Planning => NodeStatus::Planning,
            Status::Active => NodeStatus::Active,
            Status::Review => NodeStatus::Review,
            Status::Completed => NodeStatus::Completed,
            Status::Cancelled => NodeStatus::Cancelled,
            Status::Archived => NodeStatus::Archived,
        }
    }
}

impl From<NodeStatus> for Status {
    fn from(s: NodeStatus) -> Status {
        match s {
            NodeStatus::Draft => Status::Draft,
            NodeStatus::Planning => Status::Planning,
            NodeStatus::Active => Status::Active,
            NodeStatus::Review => Status::Review,
            NodeStatus::Completed => Status::Completed,
            NodeStatus::Cancelled => Status::Cancelled,
            NodeStatus::Archived => Status::Archived,
        }
    }
}

/// A role granted on a node, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessRole {
    /// Reads.
    Viewer,
    /// Reads and money.
    Finance,
    /// Reads and changes work.
    Editor,
    /// Manages nodes; grants up to manager.
    Manager,
    /// Everything but deleting the organization.
    Admin,
    /// Everything.
    Owner,
}

impl From<Role> for AccessRole {
    fn from(r: Role) -> AccessRole {
        match r {
            Role::Viewer => AccessRole::Viewer,
            Role::Finance => AccessRole::Finance,
            Role::Editor => AccessRole::Editor,
            Role::Manager => AccessRole::Manager,
            Role::Admin => AccessRole::Admin,
            Role::Owner => AccessRole::Owner,
        }
    }
}

impl From<AccessRole> for Role {
    fn from(r: AccessRole) -> Role {
        match r {
            AccessRole::Viewer => Role::Viewer,
            AccessRole::Finance => Role::Finance,
            AccessRole::Editor => Role::Editor,
            AccessRole::Manager => Role::Manager,
            AccessRole::Admin => Role::Admin,
            AccessRole::Owner => Role::Owner,
        }
    }
}

/// What a workspace is (`workspaces_workspace_type_check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceType {
    /// A stage.
    Stage,
    /// An area.
    Area,
    /// A department.
    Department,
    /// A zone.
    Zone,
    /// A team.
    Team,
    /// A venue.
    Venue,
    /// An office.
    Office,
    /// Anything else.
    Other,
}

impl WorkspaceType {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceType::Stage => "stage",
            WorkspaceType::Area => "area",
            WorkspaceType::Department => "department",
            WorkspaceType::Zone => "zone",
            WorkspaceType::Team => "team",
            WorkspaceType::Venue => "venue",
            WorkspaceType::Office => "office",
            WorkspaceType::Other => "other",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<WorkspaceType> {
        [
            WorkspaceType::Stage,
            WorkspaceType::Area,
            WorkspaceType::Department,
            WorkspaceType::Zone,
            WorkspaceType::Team,
            WorkspaceType::Venue,
            WorkspaceType::Office,
            WorkspaceType::Other,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// How urgent a piece of work is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

/// A calendar day, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ToSchema)]
#[schema(value_type = String, format = Date)]
pub struct Day(pub time::Date);

const DAY_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self
            .0
            .format(DAY_FORMAT)
            .map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        time::Date::parse(&text, DAY_FORMAT)
            .map(Day)
            .map_err(|_| serde::de::Error::custom("expected a date as YYYY-MM-DD"))
    }
}
