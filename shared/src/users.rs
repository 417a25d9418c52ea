//! User accounts as stored in `UsersTable` (seeded from `localstack/identities.json` locally,
//! maintained by administration later).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::{lenient_roles, Role};
pub use crate::paging::{InvalidCursor, Page, PageCursor};

/// The `kind` attribute of user items (partition key of the `byKind` index).
pub const USER_KIND: &str = "user";

/// Longest username accepted in a lookup.
pub const MAX_USERNAME_LENGTH: usize = 64;

/// A user account. Serialised camelCase, as in the table and in the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub username: String,
    pub display_name: String,
    #[serde(with = "lenient_roles")]
    pub roles: BTreeSet<Role>,
    /// Organisational groups: `KKC`, `AS`, `EXT`.
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// PBX extension of an agent (`2001`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_number: Option<String>,
    pub active: bool,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// Whether `text` can be a username at all (1–64 of `A–Z a–z 0–9 . _ @ -`). Anything else
/// names no user, so lookups answer "not found" without asking the database.
pub fn is_valid_username(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_USERNAME_LENGTH
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

/// How many users one page may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u16);

impl PageLimit {
    pub const MIN: u16 = 1;
    pub const MAX: u16 = 100;
    pub const DEFAULT: PageLimit = PageLimit(50);

    /// `Some` for 1..=100.
    pub fn new(limit: u16) -> Option<Self> {
        (Self::MIN..=Self::MAX)
            .contains(&limit)
            .then_some(Self(limit))
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn when_item_is_seeded_shape_should_deserialize() {
        // GIVEN an item as the gateway seeds it (plus kind, and a role we do not know)
        let item = json!({
            "username": "agent01", "kind": "user", "displayName": "Jana Nováková",
            "roles": ["agent", "future-role"], "groups": ["KKC"], "email": "agent01@linka.local",
            "agentNumber": "2001", "active": true,
            "createdAt": "2026-11-27T10:00:00Z", "updatedAt": "2026-11-27T10:00:00+01:00"
        });
        // WHEN read
        let user: User = serde_json::from_value(item).unwrap();
        // THEN the known fields are there and the unknown role is ignored
        assert_eq!(user.roles, BTreeSet::from([Role::Agent]));
        assert_eq!(user.agent_number.as_deref(), Some("2001"));
        assert_eq!(
            crate::time::format_rfc3339(user.updated_at),
            "2026-11-27T09:00:00.000Z"
        );
    }

    #[test]
    fn when_username_has_odd_characters_should_be_invalid() {
        assert!(is_valid_username("agent01"));
        assert!(is_valid_username("jana.novakova@linka.cz"));
        for bad in ["", " ", "a/b", "a b", "ä", &"a".repeat(65)] {
            assert!(!is_valid_username(bad), "{bad}");
        }
    }

    #[test]
    fn when_limit_is_out_of_range_should_be_none() {
        assert!(PageLimit::new(0).is_none());
        assert!(PageLimit::new(101).is_none());
        assert_eq!(PageLimit::new(100).map(PageLimit::get), Some(100));
    }
}
