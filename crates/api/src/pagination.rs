//! Keyset pagination: `?limit=&cursor=`, a stable order, and opaque
//! cursors (base64url JSON of the last row's sort key).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::error::ApiError;

/// Rows per page when `limit` is absent.
pub const DEFAULT_LIMIT: u32 = 100;
/// Most rows per page.
pub const MAX_LIMIT: u32 = 1000;
/// Longest cursor accepted (a subtree cursor holds up to ten UUIDs).
const MAX_CURSOR_LEN: usize = 1024;

/// The paging parameters of every list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The limit, checked: 400 outside 1..=1000.
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::bad_parameter(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    /// The decoded cursor of type `K`, if one was given: 400 when it is not
    /// one this service issued for this list.
    pub fn cursor<K: DeserializeOwned>(&self) -> Result<Option<K>, ApiError> {
        let Some(raw) = &self.cursor else {
            return Ok(None);
        };
        decode(raw)
            .map(Some)
            .ok_or_else(|| ApiError::bad_parameter("cursor", "not a cursor this list issued"))
    }
}

/// Encodes a sort key as an opaque cursor.
pub fn encode<K: Serialize>(key: &K) -> String {
    // Serializing plain keys (strings, UUIDs) to JSON cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

fn decode<K: DeserializeOwned>(raw: &str) -> Option<K> {
    if raw.len() > MAX_CURSOR_LEN {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// One page of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The rows, in the list's order.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from up to `limit + 1` fetched rows: the extra row, when
    /// present, only proves that another page exists.
    pub fn from_rows<R, K: Serialize>(
        mut rows: Vec<R>,
        limit: u32,
        key: impl Fn(&R) -> K,
        item: impl FnMut(R) -> T,
    ) -> Page<T> {
        let limit = limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| encode(&key(r)))
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(item).collect(),
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let key = ("Kinetic Field".to_owned(), uuid::Uuid::nil());
        let params = PageParams {
            limit: None,
            cursor: Some(encode(&key)),
        };
        assert_eq!(
            params.cursor::<(String, uuid::Uuid)>().expect("valid"),
            Some(key)
        );
        let bad = PageParams {
            limit: None,
            cursor: Some("not!base64".into()),
        };
        assert!(bad.cursor::<(String, uuid::Uuid)>().is_err());
        let wrong_shape = PageParams {
            limit: None,
            cursor: Some(encode(&42)),
        };
        assert!(wrong_shape.cursor::<(String, uuid::Uuid)>().is_err());
    }

    #[test]
    fn limits_out_of_range_are_refused() {
        for bad in [0, MAX_LIMIT + 1] {
            let p = PageParams {
                limit: Some(bad),
                cursor: None,
            };
            assert!(p.limit().is_err());
        }
    }

    #[test]
    fn a_page_has_a_cursor_only_when_more_rows_exist() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |r| *r, |r| r);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor, Some(encode(&2)));
        let last = Page::from_rows(vec![1, 2], 2, |r| *r, |r| r);
        assert_eq!(last.next_cursor, None);
    }
}
