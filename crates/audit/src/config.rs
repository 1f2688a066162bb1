//! The config file (`--config FILE`, TOML): silences findings by stable key
//! with a written reason, and adjusts the conventions the rules check.
//!
//! ```toml
//! [[ignore]]
//! key = "fk-delete-rule:public.legacy_events:legacy_events_user_id_fkey"
//! reason = "table is dropped in the Q3 cleanup (TICKET-123)"
//!
//! user_ref_names = ["created_by", "updated_by", "deleted_by", "assigned_to", "owner_id"]
//! status_values = ["draft", "planning", "active", "review", "completed", "cancelled", "archived"]
//!
//! [status_mapping]
//! todo = "planning"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::AuditError;

/// One silenced finding.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Ignore {
    /// The finding's stable key.
    pub key: String,
    /// Why it is acceptable here (required, non-empty).
    pub reason: String,
}

/// The audit's configuration; every field has DESIGN.md's default.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Findings silenced by key.
    pub ignore: Vec<Ignore>,
    /// Tables user references point to, as `schema.table`; empty: every
    /// table named `users` (auth.users first).
    pub users_tables: Vec<String>,
    /// The accepted names of user reference columns.
    pub user_ref_names: Vec<String>,
    /// Names accepted for the user a row is *about* (a grant's or a
    /// membership's user), when the column is part of a unique key.
    pub user_subject_names: Vec<String>,
    /// Columns that mark a table as holding tenant data.
    pub tenant_columns: Vec<String>,
    /// The unified status taxonomy, in order.
    pub status_values: Vec<String>,
    /// The enum type that holds it.
    pub status_enum: String,
    /// Proposed mapping of other status words onto the taxonomy (added to
    /// the built-in synonyms, winning over them).
    pub status_mapping: BTreeMap<String, String>,
    /// Accepted names of json columns.
    pub metadata_names: Vec<String>,
    /// Words that make a column money-like (`amount`, `total_price`, ...).
    pub money_words: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Config {
            ignore: Vec::new(),
            users_tables: Vec::new(),
            user_ref_names: strings(&[
                "created_by",
                "updated_by",
                "deleted_by",
                "assigned_to",
                "owner_id",
            ]),
            user_subject_names: strings(&["user_id"]),
            tenant_columns: strings(&[
                "org_id",
                "organization_id",
                "tenant_id",
                "account_id",
                "workspace_id",
            ]),
            status_values: strings(&[
                "draft",
                "planning",
                "active",
                "review",
                "completed",
                "cancelled",
                "archived",
            ]),
            status_enum: "entity_status".to_owned(),
            status_mapping: BTreeMap::new(),
            metadata_names: strings(&["metadata", "settings"]),
            money_words: strings(&[
                "amount", "price", "cost", "total", "subtotal", "balance", "fee", "tax", "budget",
                "rate", "salary", "wage", "payment", "revenue", "spend",
            ]),
        }
    }
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, AuditError> {
        let text = std::fs::read_to_string(path).map_err(|error| AuditError::ConfigRead {
            path: path.to_owned(),
            error,
        })?;
        Config::parse(&text).map_err(|message| AuditError::ConfigInvalid {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        for ignore in &config.ignore {
            if ignore.reason.trim().is_empty() {
                return Err(format!(
                    "ignore {}: a silenced finding needs a written reason",
                    ignore.key
                ));
            }
            if ignore.key.split(':').count() < 2 {
                return Err(format!(
                    "ignore {}: not a finding key (rule:schema.table[:detail])",
                    ignore.key
                ));
            }
        }
        if let Some(bad) = config
            .status_mapping
            .values()
            .find(|v| !config.status_values.contains(v))
        {
            return Err(format!(
                "status_mapping maps onto {bad}, which is not in status_values"
            ));
        }
        Ok(config)
    }

    /// The reason `key` is silenced, if it is.
    pub fn ignored(&self, key: &str) -> Option<&str> {
        self.ignore
            .iter()
            .find(|i| i.key == key)
            .map(|i| i.reason.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_default() {
        assert_eq!(Config::parse("").expect("parses"), Config::default());
    }

    #[test]
    fn a_silenced_finding_needs_a_reason() {
        let err = Config::parse("[[ignore]]\nkey = \"no-primary-key:public.t\"\nreason = \" \"\n")
            .expect_err("rejected");
        assert!(err.contains("written reason"), "{err}");
    }

    #[test]
    fn unknown_settings_are_rejected() {
        assert!(Config::parse("colour = \"blue\"\n").is_err());
    }

    #[test]
    fn mappings_must_land_in_the_taxonomy() {
        let err = Config::parse("[status_mapping]\ntodo = \"someday\"\n").expect_err("rejected");
        assert!(err.contains("someday"), "{err}");
        let ok = Config::parse("[status_mapping]\ntodo = \"draft\"\n").expect("parses");
        assert_eq!(ok.status_mapping["todo"], "draft");
    }
}
