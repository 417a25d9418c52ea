//! Cursor paging: a page of items and an opaque cursor to the next one.
//!
//! The cursor is the storage's "last evaluated key" (attribute name → string value) as JSON in
//! base64url. Clients treat it as opaque; adapters check that a cursor has exactly the key
//! attributes they expect before handing it to the database.

use std::collections::BTreeMap;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::Serialize;
use thiserror::Error;

/// Longer cursors are refused without decoding.
const MAX_CURSOR_LENGTH: usize = 1024;
/// A key has at most this many attributes (table key + index key).
const MAX_KEY_ATTRIBUTES: usize = 4;

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<PageCursor>,
}

impl<T> Page<T> {
    pub fn last(items: Vec<T>) -> Self {
        Self {
            items,
            next_cursor: None,
        }
    }
}

/// Every item of a listing: `fetch` is called with no cursor, then with each page's next
/// cursor until a page has none (for small listings read whole: users, a config collection).
pub async fn all_pages<T, E, F, Fut>(mut fetch: F) -> Result<Vec<T>, E>
where
    F: FnMut(Option<PageCursor>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, E>>,
{
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = fetch(cursor.take()).await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// An opaque position in a listing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageCursor {
    key: BTreeMap<String, String>,
}

/// A cursor that did not come from us.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the cursor is invalid: {0}")]
pub struct InvalidCursor(pub &'static str);

impl PageCursor {
    pub fn from_key(key: BTreeMap<String, String>) -> Self {
        Self { key }
    }

    /// The key attributes (name → string value).
    pub fn key(&self) -> &BTreeMap<String, String> {
        &self.key
    }

    /// Decodes a cursor received from a client.
    pub fn parse(text: &str) -> Result<Self, InvalidCursor> {
        if text.is_empty() || text.len() > MAX_CURSOR_LENGTH {
            return Err(InvalidCursor("wrong length"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| InvalidCursor("not base64url"))?;
        let key: BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|_| InvalidCursor("not a key"))?;
        if key.is_empty() || key.len() > MAX_KEY_ATTRIBUTES {
            return Err(InvalidCursor("wrong number of key attributes"));
        }
        Ok(Self { key })
    }

    /// The opaque text form.
    pub fn encode(&self) -> String {
        // A map of strings always serialises; the fallback is unreachable but keeps this total.
        let json = serde_json::to_vec(&self.key).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// `Ok` when the cursor has exactly the attributes `names`.
    pub fn expect_attributes(&self, names: &[&str]) -> Result<(), InvalidCursor> {
        let matches =
            self.key.len() == names.len() && names.iter().all(|name| self.key.contains_key(*name));
        if matches {
            Ok(())
        } else {
            Err(InvalidCursor("not a cursor of this listing"))
        }
    }
}

impl Serialize for PageCursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn when_a_listing_has_three_pages_should_collect_every_item_in_order() {
        let cursor = |n: u32| PageCursor::from_key([("k".to_owned(), n.to_string())].into());
        let mut asked = Vec::new();
        let all: Result<Vec<u32>, ()> = all_pages(|at: Option<PageCursor>| {
            asked.push(at.clone());
            let page = match at {
                None => Page {
                    items: vec![1, 2],
                    next_cursor: Some(cursor(2)),
                },
                Some(c) if c == cursor(2) => Page {
                    items: vec![3],
                    next_cursor: Some(cursor(3)),
                },
                Some(_) => Page::last(vec![4]),
            };
            async move { Ok(page) }
        })
        .await;
        assert_eq!(all, Ok(vec![1, 2, 3, 4]));
        assert_eq!(asked, [None, Some(cursor(2)), Some(cursor(3))]);
    }

    use super::*;

    #[test]
    fn when_cursor_round_trips_should_keep_the_key() {
        // GIVEN a key
        let cursor = PageCursor::from_key(BTreeMap::from([
            ("kind".to_owned(), "user".to_owned()),
            ("username".to_owned(), "agent03".to_owned()),
        ]));
        // WHEN encoded and parsed back
        let parsed = PageCursor::parse(&cursor.encode()).unwrap();
        // THEN it is the same cursor, with the same attributes
        assert_eq!(parsed, cursor);
        assert!(parsed.expect_attributes(&["username", "kind"]).is_ok());
        assert!(parsed.expect_attributes(&["kind"]).is_err());
    }

    #[test]
    fn when_cursor_is_not_ours_should_be_invalid() {
        for text in [
            "",
            "***",
            "bm90IGpzb24",
            "WzEsMl0",
            "e30",
            &"A".repeat(1025),
        ] {
            assert!(PageCursor::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn when_page_is_serialized_should_have_items_and_next_cursor() {
        let page = Page::last(vec![1, 2]);
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            serde_json::json!({"items": [1, 2], "nextCursor": null})
        );
    }
}
