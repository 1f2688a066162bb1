//! What the rules report.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails a run.
    Info,
    /// A convention is broken.
    Warn,
    /// Data can go wrong or leak.
    Error,
}

impl Severity {
    /// `error`, `warn`, `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

/// The rules, in the order the issue lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "&'static str")]
pub enum Rule {
    /// A column derivable through another foreign key.
    RedundantHierarchyFk,
    /// User references with non-standard names or no foreign key.
    UserRefNaming,
    /// Status columns outside the unified taxonomy.
    StatusTaxonomy,
    /// json columns with non-standard names, json instead of jsonb, no object check.
    MetadataNaming,
    /// The universal timestamp columns.
    Timestamps,
    /// Foreign keys on the default NO ACTION.
    FkDeleteRule,
    /// Foreign keys without an index.
    FkUnindexed,
    /// Identical or prefix-redundant indexes.
    IndexDuplicate,
    /// Tables without a primary key.
    NoPrimaryKey,
    /// Tenant tables without RLS, and per-row policy functions.
    RlsMissing,
    /// Money in floats or free-precision numerics.
    MoneyType,
}

impl From<Rule> for &'static str {
    fn from(rule: Rule) -> &'static str {
        rule.id()
    }
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 11] = [
        Rule::RedundantHierarchyFk,
        Rule::UserRefNaming,
        Rule::StatusTaxonomy,
        Rule::MetadataNaming,
        Rule::Timestamps,
        Rule::FkDeleteRule,
        Rule::FkUnindexed,
        Rule::IndexDuplicate,
        Rule::NoPrimaryKey,
        Rule::RlsMissing,
        Rule::MoneyType,
    ];

    /// The stable id.
    pub fn id(self) -> &'static str {
        match self {
            Rule::RedundantHierarchyFk => "redundant-hierarchy-fk",
            Rule::UserRefNaming => "user-ref-naming",
            Rule::StatusTaxonomy => "status-taxonomy",
            Rule::MetadataNaming => "metadata-naming",
            Rule::Timestamps => "timestamps",
            Rule::FkDeleteRule => "fk-delete-rule",
            Rule::FkUnindexed => "fk-unindexed",
            Rule::IndexDuplicate => "index-duplicate",
            Rule::NoPrimaryKey => "no-primary-key",
            Rule::RlsMissing => "rls-missing",
            Rule::MoneyType => "money-type",
        }
    }

    /// One line: what the rule checks.
    pub fn summary(self) -> &'static str {
        match self {
            Rule::RedundantHierarchyFk => {
                "a column that is derivable through another not-null foreign key chain"
            }
            Rule::UserRefNaming => {
                "user references named other than the standard names, or without a foreign key"
            }
            Rule::StatusTaxonomy => "status columns outside the one unified status enum",
            Rule::MetadataNaming => {
                "json columns not named metadata/settings, json instead of jsonb, no object check"
            }
            Rule::Timestamps => {
                "created_at/updated_at/deleted_at missing or wrong; timestamp without time zone"
            }
            Rule::FkDeleteRule => "foreign keys on the default NO ACTION delete rule",
            Rule::FkUnindexed => "foreign keys with no index leading with their columns",
            Rule::IndexDuplicate => "indexes identical to, or a prefix of, another index",
            Rule::NoPrimaryKey => "tables without a primary key",
            Rule::RlsMissing => {
                "tenant tables without RLS enabled, forced and with policies; per-row policy calls"
            }
            Rule::MoneyType => {
                "money-like columns stored as float or numeric of unstated precision"
            }
        }
    }

    /// Why it matters, for SARIF's full description and docs.
    pub fn rationale(self) -> &'static str {
        match self {
            Rule::RedundantHierarchyFk => {
                "The value is a second copy of a fact the database already holds through another \
                 foreign key; nothing keeps the two equal, so they drift and queries disagree."
            }
            Rule::UserRefNaming => {
                "One spelling per role (created_by, updated_by, deleted_by, assigned_to, owner_id) \
                 makes every table readable the same way; a user column without a foreign key can \
                 point at nobody."
            }
            Rule::StatusTaxonomy => {
                "Roll-ups, filters and transitions work across tables only when every table speaks \
                 the same status words, from one enum."
            }
            Rule::MetadataNaming => {
                "Flexible data lives in `metadata jsonb` (and `settings jsonb` for configuration), \
                 always a JSON object; json keeps duplicate keys and cannot be indexed."
            }
            Rule::Timestamps => {
                "Every row says when it was created, changed and soft-deleted, in timestamptz; \
                 `timestamp` without time zone silently shifts when the session time zone differs."
            }
            Rule::FkDeleteRule => {
                "Every relationship states what a delete does (cascade, set null, restrict). The \
                 catalog cannot tell a stated NO ACTION from the default, so both count as unstated."
            }
            Rule::FkUnindexed => {
                "Deleting or updating a parent scans the child table without an index on the key, \
                 and joins along the key cannot use one."
            }
            Rule::IndexDuplicate => {
                "A duplicate or prefix-redundant index costs writes, memory and vacuum time and \
                 serves no query the other cannot."
            }
            Rule::NoPrimaryKey => {
                "Without a primary key rows cannot be addressed, replicated logically or deduplicated."
            }
            Rule::RlsMissing => {
                "Tenant data must be fenced by row level security (enabled, forced, with policies), \
                 and policies should evaluate their functions once per statement, not once per row."
            }
            Rule::MoneyType => {
                "Floats cannot represent cents exactly and numeric without precision accepts any \
                 scale; money needs exact, stated precision."
            }
        }
    }
}

/// One problem, with the SQL that fixes it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// How bad.
    pub severity: Severity,
    /// Stable across runs: `rule:schema.table[:detail]`; what a config
    /// file silences.
    pub key: String,
    /// `schema.table`.
    pub table: String,
    /// The columns involved.
    pub columns: Vec<String>,
    /// The constraint, index or policy involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint: Option<String>,
    /// What is wrong and why it matters.
    pub message: String,
    /// SQL that removes the finding (`None` only where no statement can
    /// without a human decision the audit cannot guess; the message says).
    pub fix: Option<String>,
}

/// Something a rule looked at and deliberately accepts.
#[derive(Debug, Clone, Serialize)]
pub struct Allowed {
    /// The rule.
    pub rule: Rule,
    /// A stable key in the same form as a finding's.
    pub key: String,
    /// `schema.table`.
    pub table: String,
    /// The columns involved.
    pub columns: Vec<String>,
    /// Why it is accepted.
    pub reason: String,
}

/// A finding the config file silenced.
#[derive(Debug, Clone, Serialize)]
pub struct Silenced {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// The config file's reason.
    pub reason: String,
}

/// The value set of one status-like column, for the side-by-side view.
#[derive(Debug, Clone, Serialize)]
pub struct StatusSet {
    /// `schema.table`.
    pub table: String,
    /// The column.
    pub column: String,
    /// Its type.
    pub type_sql: String,
    /// Where the values come from: `enum`, `check`, `sample`, or `none`.
    pub source: String,
    /// The values.
    pub values: Vec<String>,
    /// Proposed value -> taxonomy value for values outside the taxonomy.
    pub mapping: Vec<(String, String)>,
}
