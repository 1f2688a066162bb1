//! `/v1/nodes/{id}/tasks` and `/v1/tasks/{id}`: the work of a node.

// utoipa's generated code names types by paths that are also in scope here.
#![allow(unused_qualifications)]

use serde::{Deserialize, Serialize};
use showtree_core::Capability;
use showtree_db::domain::tables;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::nodes::{Timestamp, nullable};
use crate::collection::{Body, Collection, RowPage, Universal};
use crate::state::AppState;
use crate::wire::{NodeStatus, Priority};

/// Tasks: read with the node, written with `write`.
pub const TASKS: Collection = Collection {
    table: &tables::TASKS,
    read: Capability::Read,
    write: Capability::Write,
    noun: "task",
    path: "/v1/tasks",
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(get_task, update_task, delete_task))
        .routes(routes!(restore_task))
        .routes(routes!(tag_task))
        .routes(routes!(untag_task))
}

/// A task.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Task {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The node it belongs to.
    pub node_id: Uuid,
    /// What to do.
    pub title: String,
    /// Details.
    pub description: String,
    /// Lifecycle status (transitions are checked).
    pub status: NodeStatus,
    /// How urgent.
    pub priority: Priority,
    /// Who does it.
    pub assigned_to: Option<Uuid>,
    /// When it is due.
    pub due_at: Option<Timestamp>,
    /// When it was completed (set by the transition to completed).
    pub completed_at: Option<Timestamp>,
    /// Its tags.
    pub tags: Vec<Uuid>,
    /// The universal columns.
    #[serde(flatten)]
    pub row: Universal,
}

/// What `POST /v1/nodes/{id}/tasks` takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// What to do (1 to 500 characters, no surrounding spaces).
    pub title: String,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Initial status (default planning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// How urgent (default medium).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Who does it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<Uuid>,
    /// When it is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// Free-form attributes (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for NewTask {}

/// What `PATCH /v1/tasks/{id}` takes; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskChanges {
    /// What to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Lifecycle status (transitions are checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    /// How urgent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Who does it; null to unassign.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Uuid>)]
    pub assigned_to: Option<Option<Uuid>>,
    /// When it is due; null to clear.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Option<Timestamp>>,
    /// Replaces the metadata object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl Body for TaskChanges {}

crate::node_list_routes!(
    collection = TASKS,
    tag = "tasks",
    view = Task,
    new = NewTask,
    path = "/v1/nodes/{id}/tasks",
    list = list_tasks,
    create = create_task
);
crate::row_routes!(
    collection = TASKS,
    tag = "tasks",
    view = Task,
    patch = TaskChanges,
    one = "/v1/tasks/{id}",
    restore = "/v1/tasks/{id}/restore",
    get = get_task,
    update = update_task,
    delete = delete_task,
    restore_fn = restore_task
);
crate::tag_routes!(
    collection = TASKS,
    tag = "tasks",
    view = Task,
    add_path = "/v1/tasks/{id}/tags",
    remove_path = "/v1/tasks/{id}/tags/{tag_id}",
    add = tag_task,
    remove = untag_task
);
