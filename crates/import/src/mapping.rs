//! The mapping file (TOML): which showtree table each legacy table becomes,
//! how its rows find their owning node, and how each column converts.
//! docs/IMPORT.md is the reference; `mapping/flat.toml` the example.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ImportError;

/// The whole mapping file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Format version; 1.
    pub version: u32,
    /// The schema holding the legacy tables.
    #[serde(default = "default_schema")]
    pub schema: String,
    /// The zone `timestamp without time zone` values are assumed to be in.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// ISO 4217 code of money columns that name no currency of their own,
    /// and the base currency of imported organizations.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// The project created in every imported organization; every imported
    /// production goes under it.
    pub project: ProjectSpec,
    /// Where rows go that name a workspace but no production.
    #[serde(default)]
    pub workspace_only: WorkspaceOnly,
    /// Legacy tables deliberately left behind.
    #[serde(default)]
    pub ignore_tables: Vec<String>,
    /// One entry per mapping, keyed by its name (by default also the legacy
    /// table's name).
    pub tables: BTreeMap<String, TableMapping>,
}

fn default_schema() -> String {
    "public".to_owned()
}

fn default_timezone() -> String {
    "UTC".to_owned()
}

fn default_currency() -> String {
    "USD".to_owned()
}

/// The project every imported organization gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    /// Its name (also its slug, slugified).
    pub name: String,
}

/// Rows naming a workspace but no production.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceOnly {
    /// Attached to the workspace node of the workspace's only production;
    /// a workspace holding none or several is an ambiguous owner (reported).
    #[default]
    Error,
    /// Attached to the organization's root node.
    Organization,
}

/// How one legacy table (or part of it) becomes showtree rows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableMapping {
    /// The legacy table (default: the mapping's name).
    pub source: Option<String>,
    /// `organization`, `workspace` or `production` for the hierarchy, else
    /// a showtree table (`tasks`, `invoices`, ..., or `auth.users`).
    pub target: String,
    /// Legacy columns naming the row's owner.
    pub owner: Option<OwnerSpec>,
    /// For tables owned through a parent row (invoice lines): the target
    /// column whose referenced row gives the organization.
    pub org_from: Option<String>,
    /// Target column = how to compute it.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnSpec>,
    /// JSON columns merged (left to right) into `metadata`.
    #[serde(default)]
    pub metadata: Vec<String>,
    /// Legacy columns deliberately not imported.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Only rows matching this SQL condition (over the legacy row, alias
    /// `t`) are imported by this mapping.
    pub filter: Option<String>,
    /// Productions only: the activation created under every production.
    pub activation: Option<ActivationSpec>,
    /// Productions only: `workspaces.workspace_type` of the workspace nodes.
    pub workspace_type: Option<String>,
}

impl TableMapping {
    /// The legacy table this mapping reads.
    pub fn source<'a>(&'a self, name: &'a str) -> &'a str {
        self.source.as_deref().unwrap_or(name)
    }
}

/// Legacy columns that name the owner of a row.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerSpec {
    /// The column holding the legacy organization id.
    pub organization: Option<String>,
    /// The column holding the legacy workspace id.
    pub workspace: Option<String>,
    /// The column holding the legacy production id.
    pub production: Option<String>,
    /// `organization`: the row belongs to the organization's root node
    /// whatever else it names (reference data: vendors, people, assets).
    pub level: Option<OwnerLevel>,
}

/// A forced owner level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerLevel {
    /// The organization's root node.
    Organization,
}

/// The activation created under every imported production.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationSpec {
    /// Name template: `{column}` is the production's column, `{column:year}`
    /// the year of a date or timestamp column. Empty results fall back to
    /// the production's name.
    pub name: String,
    /// Legacy column (date or timestamp) of the activation's start.
    pub starts_at: Option<String>,
    /// Legacy column of its end.
    pub ends_at: Option<String>,
    /// Legacy column of its venue.
    pub venue: Option<String>,
}

/// How a target column is computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ColumnSpec {
    /// The legacy column of this name, converted to the target's type.
    Column(String),
    /// The long form.
    Spec(Box<Spec>),
}

/// The long form of a column mapping; exactly one of `column`, `value`,
/// `ref`, `money` says where the value comes from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// A legacy column.
    pub column: Option<String>,
    /// A constant (text, converted to the target's type).
    pub value: Option<String>,
    /// The new id of the row another mapping made from the legacy id in
    /// `column` (`ref = "users", column = "assignee_id"`).
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// A legacy numeric amount, converted to minor units of its currency.
    pub money: Option<String>,
    /// Legacy value -> target value (status words, enums).
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// The target value for NULL (and, with `values`, nothing else).
    pub default: Option<String>,
    /// Money: the legacy column holding the currency code.
    pub currency_column: Option<String>,
    /// Money: a fixed currency (default: the file's `currency`).
    pub currency: Option<String>,
    /// Timestamps without time zone: the zone to assume for this column.
    pub timezone: Option<String>,
    /// With `value`: only where this legacy column is not null (else null).
    pub when_present: Option<String>,
    /// Text: trim surrounding whitespace.
    #[serde(default)]
    pub trim: bool,
}

impl ColumnSpec {
    /// The long form of either spelling.
    pub fn spec(&self) -> Spec {
        match self {
            ColumnSpec::Column(c) => Spec {
                column: Some(c.clone()),
                ..Spec::default()
            },
            ColumnSpec::Spec(s) => (**s).clone(),
        }
    }
}

impl Mapping {
    /// Parses a mapping file's text.
    pub fn parse(text: &str) -> Result<Mapping, ImportError> {
        let mapping: Mapping =
            toml::from_str(text).map_err(|e| ImportError::Mapping(e.to_string()))?;
        if mapping.version != 1 {
            return Err(ImportError::Mapping(format!(
                "version {} is not supported (this showtree reads version 1)",
                mapping.version
            )));
        }
        Ok(mapping)
    }

    /// Reads and parses a mapping file.
    pub fn load(path: &Path) -> Result<(Mapping, String), ImportError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ImportError::Usage(format!("cannot read mapping {}: {e}", path.display()))
        })?;
        let mapping = Mapping::parse(&text)
            .map_err(|e| ImportError::Mapping(format!("{}: {e}", path.display())))?;
        Ok((mapping, text))
    }
}

/// The mapping of the flat layout `showtree demo --legacy` creates.
pub const FLAT_MAPPING: &str = include_str!("../mapping/flat.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_mapping_parses() {
        let m = Mapping::parse(FLAT_MAPPING).expect("flat.toml");
        assert_eq!(m.schema, "public");
        let tasks = &m.tables["tasks"];
        assert_eq!(tasks.target, "tasks");
        assert!(matches!(tasks.columns["status"], ColumnSpec::Spec(_)));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Mapping::parse(
            "version = 1\nproject = { name = \"P\" }\n[tables.t]\ntarget = \"tasks\"\ncolour = 1\n",
        )
        .expect_err("unknown key");
        assert!(err.to_string().contains("colour"), "{err}");
    }
}
