//! User accounts as stored in `UsersTable` (seeded from `localstack/identities.json` locally,
//! maintained by administration later).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use serde_json::{Map, Value};

pub use crate::paging::{InvalidCursor, Page, PageCursor};
use crate::{
    auth::{lenient_roles, Role},
    problem::FieldError,
};

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
    /// The agent's mobile phone as the PBX knows it (DESK-2): a mobile extension whose calls
    /// the PBX delivers to the mobile, which the agent may log on at instead of the desk phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<MobilePhone>,
    pub active: bool,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// An agent's mobile phone (DESK-2): the PBX device that stands for it (a MiVoice 5000 mobile
/// extension: the PBX rings the mobile over the trunk and reports and controls the call as
/// that extension's) and the mobile's number, shown to the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MobilePhone {
    pub device: String,
    /// E.164, `+420601123456`.
    pub number: String,
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

/// The fields an administrator sets on a user (`POST /api/admin/users`, `PUT …/{username}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDraft {
    pub display_name: String,
    pub roles: BTreeSet<Role>,
    pub groups: Vec<String>,
    pub email: Option<String>,
    pub agent_number: Option<String>,
    pub mobile: Option<MobilePhone>,
    pub active: bool,
}

/// Which request a [`UserDraft`] comes from: a create carries the username in the body, a
/// replace in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftKind {
    Create,
    Replace,
}

impl UserDraft {
    const FIELDS: [&'static str; 7] = [
        "displayName",
        "roles",
        "groups",
        "email",
        "agentNumber",
        "mobile",
        "active",
    ];

    /// Validates a JSON body strictly: every bad field is named, unknown fields are refused,
    /// an explicit `null` is not a value. For [`DraftKind::Create`] also returns the `username`.
    pub fn from_json(
        body: &Map<String, Value>,
        kind: DraftKind,
    ) -> Result<(Option<String>, Self), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut error = |field: &str, message: &str| errors.push(FieldError::new(field, message));
        let username = match (kind, body.get("username")) {
            (DraftKind::Replace, _) => None,
            (DraftKind::Create, Some(Value::String(name))) if is_valid_new_username(name) => {
                Some(name.clone())
            }
            (DraftKind::Create, None) => {
                error("username", "is required");
                None
            }
            (DraftKind::Create, Some(_)) => {
                error("username", "must match ^[a-z0-9][a-z0-9._-]{1,63}$");
                None
            }
        };
        let display_name = match body.get("displayName") {
            None => {
                error("displayName", "is required");
                None
            }
            Some(Value::String(name))
                if (1..=100).contains(&name.chars().count()) && !name.trim().is_empty() =>
            {
                Some(name.clone())
            }
            Some(_) => {
                error("displayName", "must be a string of 1 to 100 characters");
                None
            }
        };
        let roles = match body.get("roles") {
            None => {
                error("roles", "is required");
                None
            }
            Some(Value::Array(items)) if items.len() <= 16 => items
                .iter()
                .map(|item| item.as_str().and_then(|name| name.parse::<Role>().ok()))
                .collect::<Option<BTreeSet<Role>>>(),
            Some(_) => None,
        };
        if roles.is_none() && body.contains_key("roles") {
            error("roles", "must be an array of role names, e.g. [\"agent\"]");
        }
        let groups = match body.get("groups") {
            None => Some(Vec::new()),
            Some(Value::Array(items)) if items.len() <= 16 => items
                .iter()
                .map(|item| item.as_str().filter(|name| is_valid_group(name)))
                .collect::<Option<BTreeSet<&str>>>()
                .map(|names| names.into_iter().map(str::to_owned).collect()),
            Some(_) => None,
        };
        if groups.is_none() {
            error(
                "groups",
                "must be an array of group codes (^[A-Z][A-Z0-9_-]{1,15}$), e.g. [\"KKC\"]",
            );
        }
        let email = match body.get("email") {
            None => Ok(None),
            Some(Value::String(email)) if is_valid_email(email) => Ok(Some(email.clone())),
            Some(_) => Err(()),
        };
        if email.is_err() {
            error("email", "must be an e-mail address");
        }
        let agent_number = match body.get("agentNumber") {
            None => Ok(None),
            Some(Value::String(number)) if is_extension_number(number) => Ok(Some(number.clone())),
            Some(_) => Err(()),
        };
        if agent_number.is_err() {
            error("agentNumber", "must be a string of 3 to 6 digits");
        }
        let active = match body.get("active") {
            None => Some(true),
            Some(Value::Bool(active)) => Some(*active),
            Some(_) => None,
        };
        if active.is_none() {
            error("active", "must be true or false");
        }
        let mobile = parse_mobile(body.get("mobile"), &mut errors);
        if let (Ok(Some(number)), Ok(Some(mobile))) = (&agent_number, &mobile) {
            if &mobile.device == number {
                errors.push(FieldError::new(
                    "mobile.device",
                    "must differ from agentNumber (the desk phone)",
                ));
            }
        }
        for name in body.keys().filter(|name| {
            let known = Self::FIELDS.contains(&name.as_str())
                || (kind == DraftKind::Create && name.as_str() == "username");
            !known
        }) {
            let name: String = name.chars().take(64).collect();
            errors.push(FieldError::new(name, "is not a known field"));
        }
        match (
            display_name,
            roles,
            groups,
            email,
            agent_number,
            mobile,
            active,
        ) {
            (
                Some(display_name),
                Some(roles),
                Some(groups),
                Ok(email),
                Ok(agent_number),
                Ok(mobile),
                Some(active),
            ) if errors.is_empty() => Ok((
                username,
                Self {
                    display_name,
                    roles,
                    groups,
                    email,
                    agent_number,
                    mobile,
                    active,
                },
            )),
            _ => Err(errors),
        }
    }

    /// The user this draft describes.
    pub fn into_user(
        self,
        username: String,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> User {
        User {
            username,
            display_name: self.display_name,
            roles: self.roles,
            groups: self.groups,
            email: self.email,
            agent_number: self.agent_number,
            mobile: self.mobile,
            active: self.active,
            created_at,
            updated_at,
        }
    }
}

/// A PBX extension number as user accounts hold them: 3 to 6 digits.
fn is_extension_number(text: &str) -> bool {
    (3..=6).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// `mobile`: absent, or `{device, number}` — the PBX mobile extension (3–6 digits) and a
/// Czech mobile number (normalised to E.164). The errors name `mobile.device` / `mobile.number`.
fn parse_mobile(
    value: Option<&Value>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<MobilePhone>, ()> {
    let Some(value) = value else {
        return Ok(None);
    };
    let Some(object) = value.as_object() else {
        errors.push(FieldError::new(
            "mobile",
            "must be an object {device, number}",
        ));
        return Err(());
    };
    let device = match object.get("device") {
        Some(Value::String(device)) if is_extension_number(device) => Some(device.clone()),
        _ => {
            errors.push(FieldError::new(
                "mobile.device",
                "must be the PBX mobile extension: a string of 3 to 6 digits",
            ));
            None
        }
    };
    let number = match object.get("number") {
        Some(Value::String(number)) => crate::identifiers::normalize_czech_phone(number)
            .ok()
            .filter(|normalised| crate::identifiers::is_czech_mobile_number(normalised)),
        _ => None,
    };
    if number.is_none() {
        errors.push(FieldError::new(
            "mobile.number",
            "must be a Czech mobile number, e.g. +420601123456",
        ));
    }
    for name in object
        .keys()
        .filter(|name| !matches!(name.as_str(), "device" | "number"))
    {
        let name: String = name.chars().take(64).collect();
        errors.push(FieldError::new(
            format!("mobile.{name}"),
            "is not a known field",
        ));
    }
    match (device, number) {
        (Some(device), Some(number)) if object.len() == 2 => {
            Ok(Some(MobilePhone { device, number }))
        }
        _ => Err(()),
    }
}

/// A username an administrator may create: `^[a-z0-9][a-z0-9._-]{1,63}$` (a lower-case AD
/// account name, docs/data-model.md).
pub fn is_valid_new_username(text: &str) -> bool {
    let mut chars = text.chars();
    (2..=MAX_USERNAME_LENGTH).contains(&text.len())
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// A group code: `^[A-Z][A-Z0-9_-]{1,15}$` (e.g. `KKC`, `AS`, `EXT`).
pub fn is_valid_group(text: &str) -> bool {
    let mut chars = text.chars();
    (2..=16).contains(&text.len())
        && chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
}

/// A plausible e-mail address: `local@domain.tld`, no spaces, at most 254 characters.
pub fn is_valid_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && text.chars().all(|c| c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    fn draft_body() -> Map<String, Value> {
        json!({
            "username": "agent42", "displayName": "Jana Nováková", "roles": ["agent"],
            "groups": ["KKC", "AS"], "email": "agent42@linka.local", "agentNumber": "2042"
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn when_create_body_is_complete_should_return_username_and_draft() {
        let (username, draft) = UserDraft::from_json(&draft_body(), DraftKind::Create).unwrap();
        assert_eq!(username.as_deref(), Some("agent42"));
        assert_eq!(draft.roles, BTreeSet::from([Role::Agent]));
        assert_eq!(draft.groups, ["AS", "KKC"]);
        assert!(draft.active);
    }

    #[test]
    fn when_each_field_is_bad_should_name_every_one() {
        // GIVEN a body where every field is wrong, plus an unknown one
        let body = json!({
            "username": "Bad Name", "displayName": "", "roles": ["pilot"], "groups": ["kkc"],
            "email": "nobody", "agentNumber": "12", "active": "yes", "colour": "red"
        });
        // WHEN validated
        let errors =
            UserDraft::from_json(body.as_object().unwrap(), DraftKind::Create).unwrap_err();
        // THEN each one is named
        let fields: BTreeSet<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(
            fields,
            BTreeSet::from([
                "username",
                "displayName",
                "roles",
                "groups",
                "email",
                "agentNumber",
                "active",
                "colour"
            ])
        );
    }

    #[test]
    fn when_fields_are_null_or_missing_should_be_errors() {
        let body = json!({"email": null, "agentNumber": null});
        let errors =
            UserDraft::from_json(body.as_object().unwrap(), DraftKind::Create).unwrap_err();
        let fields: BTreeSet<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(
            fields,
            BTreeSet::from(["username", "displayName", "roles", "email", "agentNumber"])
        );
    }

    #[test]
    fn when_replace_body_has_username_should_refuse_it_as_unknown() {
        let errors = UserDraft::from_json(&draft_body(), DraftKind::Replace).unwrap_err();
        assert_eq!(
            errors,
            vec![FieldError::new("username", "is not a known field")]
        );
    }

    #[test]
    fn when_mobile_is_given_should_normalise_the_number_and_name_each_bad_part() {
        // GIVEN a mobile extension with a number typed with spaces
        let mut body = draft_body();
        body.insert(
            "mobile".into(),
            json!({"device": "2942", "number": "601 123 456"}),
        );
        // WHEN validated THEN the number is E.164
        let (_, draft) = UserDraft::from_json(&body, DraftKind::Create).unwrap();
        assert_eq!(
            draft.mobile,
            Some(MobilePhone {
                device: "2942".into(),
                number: "+420601123456".into()
            })
        );
        // AND a fixed-line number, a bad device, an unknown part and the desk phone's own
        // extension are each named
        for (mobile, field) in [
            (
                json!({"device": "2942", "number": "224 123 456"}),
                "mobile.number",
            ),
            (
                json!({"device": "29", "number": "601123456"}),
                "mobile.device",
            ),
            (
                json!({"device": "2942", "number": "601123456", "pin": "1"}),
                "mobile.pin",
            ),
            (
                json!({"device": "2042", "number": "601123456"}),
                "mobile.device",
            ),
            (json!("601123456"), "mobile"),
        ] {
            body.insert("mobile".into(), mobile.clone());
            let errors = UserDraft::from_json(&body, DraftKind::Create).unwrap_err();
            assert_eq!(
                errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
                [field],
                "{mobile}"
            );
        }
    }

    #[test]
    fn when_group_or_email_is_checked_should_follow_the_patterns() {
        assert!(is_valid_group("KKC") && is_valid_group("EXT") && is_valid_group("A_1-B"));
        for bad in ["", "K", "kkc", "1AB", "ABCDEFGHIJKLMNOPQ"] {
            assert!(!is_valid_group(bad), "{bad}");
        }
        assert!(is_valid_email("a.b@linka.cz"));
        for bad in [
            "", "a", "@x.cz", "a@", "a@x", "a b@x.cz", "a@@x.cz", "a@x..cz",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

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
