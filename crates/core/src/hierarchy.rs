//! The levels of the hierarchy and the names nodes carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// How many levels deep a tree may go (organization = level 1).
pub const MAX_DEPTH: usize = 10;

/// The level of a node. Mirrors the `showtree.node_kind` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// The tenant: a root, `id = org_id`.
    Organization,
    /// A strategic initiative (e.g. Festivals).
    Project,
    /// An execution phase (e.g. EDC).
    Production,
    /// A specific event or campaign (e.g. EDC Las Vegas 2025).
    Activation,
    /// An operational container (e.g. Kinetic Field); workspaces nest.
    Workspace,
}

impl NodeKind {
    /// Every kind, root first.
    pub const ALL: [NodeKind; 5] = [
        NodeKind::Organization,
        NodeKind::Project,
        NodeKind::Production,
        NodeKind::Activation,
        NodeKind::Workspace,
    ];

    /// The name used in SQL and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Organization => "organization",
            NodeKind::Project => "project",
            NodeKind::Production => "production",
            NodeKind::Activation => "activation",
            NodeKind::Workspace => "workspace",
        }
    }

    /// Whether a node of this kind may sit under `parent` (`None`: be a
    /// root). The database enforces the same rule
    /// (`private.node_kind_parent_allowed`).
    pub fn may_have_parent(self, parent: Option<NodeKind>) -> bool {
        use NodeKind::*;
        matches!(
            (self, parent),
            (Organization, None)
                | (Project, Some(Organization))
                | (Production, Some(Project))
                | (Activation, Some(Production))
                | (Workspace, Some(Activation | Workspace))
        )
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NodeKind {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NodeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(
                    "kind",
                    "expected one of organization, project, production, activation, workspace",
                )
            })
    }
}

/// A node's URL name: lowercase letters and digits in hyphen-separated
/// words, at most 63 characters (`nodes_slug_check`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// Longest slug accepted.
    pub const MAX_LEN: usize = 63;

    /// Parses a slug, rejecting anything the database would reject.
    pub fn parse(s: &str) -> Result<Slug, ParseError> {
        let valid_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(ParseError::new("slug", "must be 1 to 63 characters"));
        }
        if !valid_chars || s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return Err(ParseError::new(
                "slug",
                "lowercase letters and digits in words joined by single hyphens",
            ));
        }
        Ok(Slug(s.to_owned()))
    }

    /// Derives a slug from a display name: "EDC Las Vegas 2025" ->
    /// "edc-las-vegas-2025". Falls back to "node" when nothing is left.
    pub fn from_name(name: &str) -> Slug {
        let mut out = String::new();
        for word in name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            if out.len() + word.len() + 1 > Self::MAX_LEN {
                break;
            }
            if !out.is_empty() {
                out.push('-');
            }
            out.push_str(&word.to_ascii_lowercase());
        }
        if out.is_empty() {
            out.push_str("node");
        }
        Slug(out)
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Slug::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A node's display name: 1 to 200 characters, no surrounding whitespace
/// (`nodes_name_check`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct NodeName(String);

impl NodeName {
    /// Longest name accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Parses a name; surrounding whitespace is trimmed, not rejected.
    pub fn parse(s: &str) -> Result<NodeName, ParseError> {
        let trimmed = s.trim();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS {
            return Err(ParseError::new("name", "must be 1 to 200 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ParseError::new(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(NodeName(trimmed.to_owned()))
    }

    /// The name text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for NodeName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NodeName::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_rules_follow_the_five_levels() {
        use NodeKind::*;
        assert!(Organization.may_have_parent(None));
        assert!(!Project.may_have_parent(None));
        assert!(Project.may_have_parent(Some(Organization)));
        assert!(!Production.may_have_parent(Some(Organization)));
        assert!(Workspace.may_have_parent(Some(Workspace)));
        assert!(!Workspace.may_have_parent(Some(Production)));
        assert!(!Organization.may_have_parent(Some(Organization)));
    }

    #[test]
    fn kind_round_trips_through_its_name() {
        for k in NodeKind::ALL {
            assert_eq!(k.as_str().parse::<NodeKind>(), Ok(k));
        }
        assert!("stage".parse::<NodeKind>().is_err());
    }

    #[test]
    fn slug_rejects_what_the_database_rejects() {
        assert!(Slug::parse("edc-las-vegas-2025").is_ok());
        for bad in [
            "",
            "EDC",
            "-edc",
            "edc-",
            "edc--lv",
            "edc lv",
            "é",
            &"a".repeat(64),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn slug_from_name_is_a_valid_slug() {
        assert_eq!(
            Slug::from_name("EDC Las Vegas 2025").as_str(),
            "edc-las-vegas-2025"
        );
        assert_eq!(Slug::from_name("  ***  ").as_str(), "node");
        let long = Slug::from_name(&"word ".repeat(40));
        assert!(Slug::parse(long.as_str()).is_ok());
    }

    #[test]
    fn name_is_trimmed_and_bounded() {
        assert_eq!(
            NodeName::parse("  Kinetic Field ").map(|n| n.0),
            Ok("Kinetic Field".into())
        );
        assert!(NodeName::parse("   ").is_err());
        assert!(NodeName::parse(&"x".repeat(201)).is_err());
        assert!(NodeName::parse("a\u{0}b").is_err());
    }
}
