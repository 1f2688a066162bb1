//! Entity tags, `If-Match` and `If-None-Match` (RFC 9110 sections 13.1.1
//! and 13.1.2): strong tags over a resource's version, so a write based on
//! a stale read gets 412 instead of silently overwriting, and a client
//! re-reading what it already has gets 304 without the body.

use axum::http::HeaderValue;
use sha2::{Digest, Sha256};

/// A strong entity tag, quoted as on the wire (`"3f2a..."`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag(String);

impl ETag {
    /// A tag over the given version parts (ids and change times): equal
    /// parts give equal tags, any change a different one.
    pub fn from_parts(parts: &[&[u8]]) -> ETag {
        let mut hash = Sha256::new();
        for part in parts {
            // length-prefixed so parts cannot run into each other
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        let digest = hash.finalize();
        ETag(format!("\"{}\"", hex::encode(&digest[..12])))
    }

    /// The quoted tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As a header value.
    pub fn header_value(&self) -> HeaderValue {
        // Quotes and hex digits only: always a valid header value.
        HeaderValue::from_str(&self.0).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
    }
}

/// A parsed `If-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// `*`: any current version.
    Any,
    /// One of these tags (weak ones never match: If-Match compares strongly).
    OneOf(Vec<String>),
}

impl Precondition {
    /// Parses `*` or a comma-separated list of entity tags.
    pub fn parse(value: &str) -> Option<Precondition> {
        let value = value.trim();
        if value == "*" {
            return Some(Precondition::Any);
        }
        let mut tags = Vec::new();
        for item in value.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (weak, tag) = match item.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, item),
            };
            let valid = tag.len() >= 2
                && tag.starts_with('"')
                && tag.ends_with('"')
                && !tag[1..tag.len() - 1].contains('"');
            if !valid {
                return None;
            }
            if !weak {
                tags.push(tag.to_owned());
            }
        }
        if tags.is_empty() && !value.contains("W/") {
            return None;
        }
        Some(Precondition::OneOf(tags))
    }

    /// Whether the current version `current` satisfies the precondition.
    pub fn matches(&self, current: &ETag) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::OneOf(tags) => tags.iter().any(|t| t == current.as_str()),
        }
    }
}

/// Whether an `If-None-Match` header (its lines joined by commas) names
/// the current version `etag` (quoted, as sent in `ETag`): `*`, or a
/// listed tag equal to it by weak comparison (`W/` ignored on both sides,
/// as RFC 9110 section 13.1.2 asks). A malformed header names nothing, so
/// the request is answered as if unconditional.
pub fn none_match_names(header: &str, etag: &str) -> bool {
    let header = header.trim();
    if header == "*" {
        return true;
    }
    let opaque = |tag: &str| -> Option<String> {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        let valid = tag.len() >= 2
            && tag.starts_with('"')
            && tag.ends_with('"')
            && !tag[1..tag.len() - 1].contains('"');
        valid.then(|| tag.to_owned())
    };
    let Some(current) = opaque(etag) else {
        return false;
    };
    let mut listed = Vec::new();
    for item in header.split(',').filter(|i| !i.trim().is_empty()) {
        match opaque(item) {
            Some(tag) => listed.push(tag),
            None => return false,
        }
    }
    listed.contains(&current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_change_with_any_part() {
        let a = ETag::from_parts(&[b"id", b"1"]);
        assert_eq!(a, ETag::from_parts(&[b"id", b"1"]));
        assert_ne!(a, ETag::from_parts(&[b"id", b"2"]));
        assert_ne!(a, ETag::from_parts(&[b"id1", b""]));
    }

    #[test]
    fn if_match_compares_strongly() {
        let tag = ETag::from_parts(&[b"x"]);
        let list = format!("\"other\", {}", tag.as_str());
        assert!(Precondition::parse(&list).expect("parses").matches(&tag));
        let weak = format!("W/{}", tag.as_str());
        assert!(!Precondition::parse(&weak).expect("parses").matches(&tag));
        assert!(Precondition::parse("*").expect("parses").matches(&tag));
        assert_eq!(Precondition::parse("unquoted"), None);
        assert_eq!(Precondition::parse(""), None);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let tag = ETag::from_parts(&[b"x"]);
        let current = tag.as_str();
        assert!(none_match_names(current, current));
        assert!(none_match_names(&format!("W/{current}"), current));
        assert!(none_match_names(&format!("\"other\", {current}"), current));
        assert!(none_match_names(" * ", current));
        assert!(!none_match_names("\"other\"", current));
        assert!(!none_match_names("W/\"other\", \"another\"", current));
        // malformed: as if absent
        assert!(!none_match_names("unquoted", current));
        assert!(!none_match_names(&format!("{current}, unquoted"), current));
        assert!(!none_match_names("", current));
    }
}
