//! The audit log (SEC-3): who did what to which record, when, from where, and how it ended.
//!
//! Records are append-only. `AuditTable` keys them for the two reads the admin API offers with
//! `Query` only: partition `day` (the UTC date of `at`, `2026-11-27`) + sort `atId`
//! (`<RFC 3339 at>#<id>`) for a time range, and the GSI `byActor` (`actor`, `atId`) for one
//! actor's records in a time range (docs/data-model.md).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::{lenient_roles, Role},
    paging::{InvalidCursor, PageCursor},
    problem::FieldError,
    time::format_rfc3339,
    users::PageLimit,
};

/// The longest time range one audit query may span.
pub const MAX_QUERY_DAYS: i64 = 31;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AuditAction {
    #[serde(rename = "user.create")]
    UserCreate,
    #[serde(rename = "user.update")]
    UserUpdate,
    #[serde(rename = "user.delete")]
    UserDelete,
    #[serde(rename = "user.read")]
    UserRead,
    #[serde(rename = "users.list")]
    UsersList,
    #[serde(rename = "me.read")]
    MeRead,
    #[serde(rename = "broadcast.send")]
    BroadcastSend,
    #[serde(rename = "audit.read")]
    AuditRead,
    #[serde(rename = "config.list")]
    ConfigList,
    #[serde(rename = "config.read")]
    ConfigRead,
    #[serde(rename = "config.create")]
    ConfigCreate,
    #[serde(rename = "config.update")]
    ConfigUpdate,
    #[serde(rename = "config.delete")]
    ConfigDelete,
    #[serde(rename = "callbacks.list")]
    CallbacksList,
    #[serde(rename = "callback.read")]
    CallbackRead,
    #[serde(rename = "callback.create")]
    CallbackCreate,
    #[serde(rename = "callback.update")]
    CallbackUpdate,
    #[serde(rename = "voicemails.list")]
    VoicemailsList,
    #[serde(rename = "voicemail.read")]
    VoicemailRead,
    #[serde(rename = "voicemail.update")]
    VoicemailUpdate,
    #[serde(rename = "clients.search")]
    ClientsSearch,
    #[serde(rename = "client.read")]
    ClientRead,
    #[serde(rename = "client.create")]
    ClientCreate,
    #[serde(rename = "client.update")]
    ClientUpdate,
    #[serde(rename = "contacts.list")]
    ContactsList,
    #[serde(rename = "contact.read")]
    ContactRead,
    #[serde(rename = "contact.update")]
    ContactUpdate,
    /// ICIS (or an admin) read a period's records (INT-1 b).
    #[serde(rename = "contacts.export")]
    ContactsExport,
    /// An agent's own desk: presence, queue log-in/out, call control, dial, favourites.
    #[serde(rename = "desk.update")]
    DeskUpdate,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::UserCreate => "user.create",
            AuditAction::UserUpdate => "user.update",
            AuditAction::UserDelete => "user.delete",
            AuditAction::UserRead => "user.read",
            AuditAction::UsersList => "users.list",
            AuditAction::MeRead => "me.read",
            AuditAction::BroadcastSend => "broadcast.send",
            AuditAction::AuditRead => "audit.read",
            AuditAction::ConfigList => "config.list",
            AuditAction::ConfigRead => "config.read",
            AuditAction::ConfigCreate => "config.create",
            AuditAction::ConfigUpdate => "config.update",
            AuditAction::ConfigDelete => "config.delete",
            AuditAction::CallbacksList => "callbacks.list",
            AuditAction::CallbackRead => "callback.read",
            AuditAction::CallbackCreate => "callback.create",
            AuditAction::CallbackUpdate => "callback.update",
            AuditAction::VoicemailsList => "voicemails.list",
            AuditAction::VoicemailRead => "voicemail.read",
            AuditAction::VoicemailUpdate => "voicemail.update",
            AuditAction::ClientsSearch => "clients.search",
            AuditAction::ClientRead => "client.read",
            AuditAction::ClientCreate => "client.create",
            AuditAction::ClientUpdate => "client.update",
            AuditAction::ContactsList => "contacts.list",
            AuditAction::ContactRead => "contact.read",
            AuditAction::ContactUpdate => "contact.update",
            AuditAction::ContactsExport => "contacts.export",
            AuditAction::DeskUpdate => "desk.update",
        }
    }
}

/// How the call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    /// 2xx.
    Success,
    /// 403: the caller lacked the permission.
    Denied,
    /// Any other status (bad input, conflict, not found, failure).
    Failed,
}

impl AuditOutcome {
    /// The outcome of an HTTP status.
    pub fn of_status(status: u16) -> Self {
        match status {
            200..=299 => AuditOutcome::Success,
            403 => AuditOutcome::Denied,
            _ => AuditOutcome::Failed,
        }
    }
}

/// Who called, from where (taken from the token and the request, never the body).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditContext {
    pub actor: String,
    pub actor_roles: BTreeSet<Role>,
    pub client_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// One audit record. Serialised camelCase, as in the table and in the API. `details` holds
/// small facts about the call (changed field names, a page size) — never tokens or passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub id: Uuid,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub actor: String,
    #[serde(with = "lenient_roles")]
    pub actor_roles: BTreeSet<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub outcome: AuditOutcome,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

/// Longest user agent kept (the rest is cut).
const MAX_USER_AGENT: usize = 256;

impl AuditRecord {
    /// A record of `action` by the caller of `context`, ending with HTTP `status`.
    pub fn new(
        context: &AuditContext,
        action: AuditAction,
        target: Option<String>,
        status: u16,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            at,
            actor: context.actor.clone(),
            actor_roles: context.actor_roles.clone(),
            client_id: context.client_id.clone(),
            action,
            target,
            outcome: AuditOutcome::of_status(status),
            status,
            source_ip: context.source_ip.clone(),
            user_agent: context
                .user_agent
                .as_ref()
                .map(|agent| agent.chars().take(MAX_USER_AGENT).collect()),
            request_id: context.request_id.clone(),
            details: BTreeMap::new(),
        }
    }

    pub fn with_detail(mut self, name: &str, value: impl Into<String>) -> Self {
        self.details.insert(name.to_owned(), value.into());
        self
    }

    /// Partition key: the UTC day of `at`.
    pub fn day(&self) -> String {
        day_key(self.at.date_naive())
    }

    /// Sort key: `<RFC 3339 at>#<id>` (time order, unique).
    pub fn sort_key(&self) -> String {
        format!("{}#{}", format_rfc3339(self.at), self.id)
    }
}

/// `2026-11-27`.
pub fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// A read of the audit log: newest first, within `[from, to]`, optionally of one actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub actor: Option<String>,
    pub limit: PageLimit,
    pub cursor: Option<AuditCursor>,
}

/// Where the next page of an audit query starts: just after (older than) this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    pub day: String,
    pub sort_key: String,
}

impl AuditQuery {
    /// Checks the parameters of `GET /api/admin/audit` (raw query values), naming each bad one.
    /// `to` defaults to `now`, `from` to 24 hours before `to`; the range is at most 31 days.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        actor: Option<&str>,
        limit: Option<&str>,
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let instant = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.with_timezone(&Utc))
        };
        let to = match to {
            None => Some(now),
            Some(text) => instant(text),
        };
        if to.is_none() {
            errors.push(FieldError::new("to", "must be an RFC 3339 date-time"));
        }
        let from = match (from, to) {
            (None, Some(to)) => Some(to - Duration::days(1)),
            (None, None) => None,
            (Some(text), _) => instant(text),
        };
        if from.is_none() && errors.is_empty() {
            errors.push(FieldError::new("from", "must be an RFC 3339 date-time"));
        }
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                errors.push(FieldError::new("from", "must not be after to"));
            } else if to - from > Duration::days(MAX_QUERY_DAYS) {
                errors.push(FieldError::new("to", "must be at most 31 days after from"));
            }
        }
        let actor = match actor {
            None => None,
            Some(text) if crate::users::is_valid_username(text) => Some(text.to_owned()),
            Some(_) => {
                errors.push(FieldError::new("actor", "must be a username"));
                None
            }
        };
        let limit = match limit {
            None => Some(PageLimit::DEFAULT),
            Some(text) => text.parse::<u16>().ok().and_then(PageLimit::new),
        };
        if limit.is_none() {
            errors.push(FieldError::new("limit", "must be an integer from 1 to 100"));
        }
        let (Some(from), Some(to), Some(limit)) = (from, to, limit) else {
            return Err(errors);
        };
        let cursor = match cursor {
            None => None,
            Some(text) => match AuditCursor::parse(text, from, to, actor.as_deref()) {
                Ok(cursor) => Some(cursor),
                Err(_) => {
                    errors.push(FieldError::new(
                        "cursor",
                        "must be the nextCursor of a previous page of this query",
                    ));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            from,
            to,
            actor,
            limit,
            cursor,
        })
    }

    /// The sort-key range `[low, high]` of `[from, to]`.
    pub fn sort_key_bounds(&self) -> (String, String) {
        (
            format_rfc3339(self.from),
            format!("{}#~", format_rfc3339(self.to)),
        )
    }

    /// The days of the range, newest first, starting at the cursor's day when there is one.
    pub fn days(&self) -> Vec<String> {
        let mut days = Vec::new();
        let mut day = self.to.date_naive();
        while day >= self.from.date_naive() {
            let key = day_key(day);
            if self.cursor.as_ref().is_none_or(|cursor| key <= cursor.day) {
                days.push(key);
            }
            match day.pred_opt() {
                Some(previous) => day = previous,
                None => break,
            }
        }
        days
    }

    /// The cursor after `record`.
    pub fn cursor_after(&self, record: &AuditRecord) -> PageCursor {
        let mut key = BTreeMap::from([
            ("day".to_owned(), record.day()),
            ("atId".to_owned(), record.sort_key()),
        ]);
        if let Some(actor) = &self.actor {
            key.insert("actor".to_owned(), actor.clone());
        }
        PageCursor::from_key(key)
    }
}

impl AuditCursor {
    /// Decodes a cursor of [`AuditQuery::cursor_after`] and checks that it lies in this query.
    fn parse(
        text: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        actor: Option<&str>,
    ) -> Result<Self, InvalidCursor> {
        let cursor = PageCursor::parse(text)?;
        match actor {
            Some(_) => cursor.expect_attributes(&["actor", "atId", "day"])?,
            None => cursor.expect_attributes(&["atId", "day"])?,
        }
        let key = cursor.key();
        let value = |name: &str| key.get(name).cloned().unwrap_or_default();
        if actor.is_some_and(|actor| value("actor") != actor) {
            return Err(InvalidCursor("not a cursor of this actor"));
        }
        let (day, sort_key) = (value("day"), value("atId"));
        let low = format_rfc3339(from);
        let high = format!("{}#~", format_rfc3339(to));
        let at = sort_key.split('#').next().unwrap_or_default();
        let in_range = sort_key >= low && sort_key <= high;
        let same_day = DateTime::parse_from_rfc3339(at)
            .is_ok_and(|at| day_key(at.with_timezone(&Utc).date_naive()) == day);
        if !in_range || !same_day {
            return Err(InvalidCursor("not a cursor of this time range"));
        }
        Ok(Self { day, sort_key })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn when_record_is_serialised_should_use_the_documented_names() {
        let context = AuditContext {
            actor: "admin".to_owned(),
            actor_roles: BTreeSet::from([Role::Admin]),
            ..AuditContext::default()
        };
        let record = AuditRecord::new(
            &context,
            AuditAction::UserCreate,
            Some("agent42".into()),
            201,
            at(27, 10),
        )
        .with_detail("fields", "roles");
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["action"], "user.create");
        assert_eq!(value["outcome"], "success");
        assert_eq!(value["actorRoles"], serde_json::json!(["admin"]));
        assert_eq!(value["at"], "2026-11-27T10:00:00.000Z");
        assert_eq!(record.day(), "2026-11-27");
        assert!(record.sort_key().starts_with("2026-11-27T10:00:00.000Z#"));
        let back: AuditRecord = serde_json::from_value(value).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn when_status_is_403_should_be_denied_and_4xx_failed() {
        assert_eq!(AuditOutcome::of_status(204), AuditOutcome::Success);
        assert_eq!(AuditOutcome::of_status(403), AuditOutcome::Denied);
        assert_eq!(AuditOutcome::of_status(409), AuditOutcome::Failed);
        assert_eq!(AuditOutcome::of_status(503), AuditOutcome::Failed);
    }

    #[test]
    fn when_query_spans_three_days_should_list_them_newest_first() {
        let query = AuditQuery::parse(
            Some("2026-11-25T23:00:00Z"),
            Some("2026-11-27T01:00:00+01:00"),
            None,
            None,
            None,
            at(27, 12),
        )
        .unwrap();
        assert_eq!(query.days(), ["2026-11-27", "2026-11-26", "2026-11-25"]);
    }

    #[test]
    fn when_query_parameters_are_bad_should_name_each() {
        let errors = AuditQuery::parse(
            Some("2026-10-01T00:00:00Z"),
            Some("2026-11-27T00:00:00Z"),
            Some("a b"),
            Some("0"),
            None,
            at(27, 12),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["to", "actor", "limit"]);
        let errors = AuditQuery::parse(Some("yesterday"), None, None, None, Some("x"), at(27, 12))
            .unwrap_err();
        assert_eq!(errors[0].field, "from");
    }

    #[test]
    fn when_cursor_is_outside_the_range_should_be_refused() {
        let query = AuditQuery::parse(None, None, None, None, None, at(27, 12)).unwrap();
        let record = AuditRecord::new(
            &AuditContext::default(),
            AuditAction::MeRead,
            None,
            200,
            at(27, 11),
        );
        let cursor = query.cursor_after(&record).encode();
        let ok = AuditQuery::parse(None, None, None, None, Some(&cursor), at(27, 12)).unwrap();
        assert_eq!(ok.cursor.unwrap().day, "2026-11-27");
        let later = AuditQuery::parse(
            None,
            Some("2026-11-27T10:00:00Z"),
            None,
            None,
            Some(&cursor),
            at(27, 12),
        );
        assert_eq!(later.unwrap_err()[0].field, "cursor");
        let other_actor =
            AuditQuery::parse(None, None, Some("admin"), None, Some(&cursor), at(27, 12));
        assert_eq!(other_actor.unwrap_err()[0].field, "cursor");
    }
}
