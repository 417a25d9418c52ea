//! The real-time channel: WebSocket connection records, broadcast notices, and the messages
//! pushed to browsers.
//!
//! Delivery is at least once: a notice may be pushed to the same browser more than once (a batch
//! retried after a partial failure, a redelivered SQS message). Every push that comes from a
//! notice carries the notice `id`, and clients drop ids they have already shown.

use std::{collections::BTreeSet, fmt};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;
use uuid::Uuid;

pub use crate::presence::PanelPresence;
use crate::{
    auth::{lenient_roles, Principal, Role},
    problem::FieldError,
};

/// The `kind` attribute of connection items (partition key of the `byKind` index).
pub const CONNECTION_KIND: &str = "connection";

/// How long a connection record lives: API Gateway closes WebSockets after 2 h, plus 10 min of
/// margin. After that the record is garbage (TTL `expiresAt`, and the sweeper, delete it).
pub const CONNECTION_LIFETIME_SECONDS: i64 = 2 * 60 * 60 + 10 * 60;

/// A heartbeat is written to the connection item at most this often (the browser pings every
/// 30 s; a little less lets every regular ping through and throttles bursts).
pub const HEARTBEAT_WRITE_INTERVAL_SECONDS: i64 = 25;

/// The roles whose desks show the transfer panel, and so get [`PushMessage::Presence`].
pub const PANEL_ROLES: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

/// Longest broadcast text, in characters (after trimming).
pub const MAX_NOTICE_CHARS: usize = 500;

// ---------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------

/// A live WebSocket connection, stored at `$connect` and removed at `$disconnect`, on `Gone`, or
/// by the sweeper. Serialised camelCase, as in `ConnectionsTable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub connection_id: String,
    #[serde(default)]
    pub subject: String,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(with = "lenient_roles")]
    pub roles: BTreeSet<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Sort key of the `byKind` index (fixed-width RFC 3339, so it sorts in time order).
    #[serde(with = "crate::time::rfc3339")]
    pub connected_at: DateTime<Utc>,
    /// DynamoDB TTL, epoch seconds.
    pub expires_at: i64,
    /// The last heartbeat (`{"action":"ping"}`) recorded, epoch seconds; `None` until the first
    /// one is recorded (at most one write per [`HEARTBEAT_WRITE_INTERVAL_SECONDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_at: Option<i64>,
}

/// The username under which a chat visitor's connections are stored (`visitor:<conversation>`;
/// never a real username, which has no `:`).
pub fn visitor_name(conversation_id: &str) -> String {
    format!("{VISITOR_PREFIX}{conversation_id}")
}

const VISITOR_PREFIX: &str = "visitor:";

impl Connection {
    /// The record for a connection `principal` opened at `now`.
    pub fn open(
        connection_id: impl Into<String>,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            connection_id: connection_id.into(),
            subject: principal.subject.clone(),
            username: principal.username.clone(),
            display_name: principal.display_name.clone(),
            roles: principal.roles.clone(),
            client_id: principal.client_id.clone(),
            connected_at: now,
            expires_at: now.timestamp() + CONNECTION_LIFETIME_SECONDS,
            heartbeat_at: None,
        }
    }

    /// A chat widget visitor's connection (issue 7): authorised by the participant token of one
    /// conversation, with no roles; it gets that conversation's messages and nothing else.
    pub fn visitor(
        connection_id: impl Into<String>,
        conversation_id: &str,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            connection_id: connection_id.into(),
            subject: "visitor".to_owned(),
            username: visitor_name(conversation_id),
            display_name: None,
            roles: BTreeSet::new(),
            client_id: None,
            connected_at: now,
            expires_at: now.timestamp() + CONNECTION_LIFETIME_SECONDS,
            heartbeat_at: None,
        }
    }

    /// Whether this is a chat visitor's connection ([`Connection::visitor`]).
    pub fn is_visitor(&self) -> bool {
        self.username.starts_with(VISITOR_PREFIX)
    }

    /// When the browser behind this connection was last known alive: its last recorded
    /// heartbeat, or the connect.
    pub fn last_seen(&self) -> DateTime<Utc> {
        self.heartbeat_at
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
            .map_or(self.connected_at, |beat| beat.max(self.connected_at))
    }

    /// Whether this connection gets the transfer panel's presence pushes (agents, supervisors
    /// and administrators).
    pub fn sees_transfer_panel(&self) -> bool {
        PANEL_ROLES.iter().any(|role| self.roles.contains(role))
    }

    /// Who opened the connection.
    pub fn principal(&self) -> Principal {
        Principal {
            subject: self.subject.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            roles: self.roles.clone(),
            client_id: self.client_id.clone(),
        }
    }

    /// Whether a notice for `audience` (`None` = everyone) goes to this connection.
    pub fn is_in_audience(&self, audience: Option<Role>) -> bool {
        // Broadcasts are the staff's: a chat visitor never gets one.
        !self.is_visitor() && audience.is_none_or(|role| self.roles.contains(&role))
    }
}

/// A browser closed its WebSocket (`$disconnect`) at `at`: remembered for the presence
/// heartbeat, so that a page reload (disconnect, then connect) never looks like an absence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    pub username: String,
    pub at: DateTime<Utc>,
}

/// The instant before which a connection record is stale, seen at `now`.
pub fn stale_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::seconds(CONNECTION_LIFETIME_SECONDS)
}

// ---------------------------------------------------------------------------------------------
// Broadcast notices
// ---------------------------------------------------------------------------------------------

/// How loud a notice is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    #[default]
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|severity| severity.as_str() == text)
    }
}

/// Why a notice text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NoticeTextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 500 characters")]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// Broadcast text: at most 500 characters as sent and at least one after trimming, no control
/// characters (line breaks included: a notice is one line on every screen). Stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NoticeText(String);

impl NoticeText {
    pub fn parse(text: &str) -> Result<Self, NoticeTextError> {
        if text.chars().count() > MAX_NOTICE_CHARS {
            return Err(NoticeTextError::TooLong);
        }
        let text = text.trim();
        if text.is_empty() {
            Err(NoticeTextError::Empty)
        } else if text.chars().any(char::is_control) {
            Err(NoticeTextError::ControlCharacter)
        } else {
            Ok(Self(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NoticeText {
    type Error = NoticeTextError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<NoticeText> for String {
    fn from(text: NoticeText) -> Self {
        text.0
    }
}

impl fmt::Display for NoticeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a supervisor asks to broadcast (`POST /api/broadcasts` body), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastDraft {
    pub text: NoticeText,
    pub severity: Severity,
    pub audience: Option<Role>,
}

impl BroadcastDraft {
    /// The members a request body may have.
    pub const FIELDS: [&'static str; 3] = ["text", "severity", "audience"];

    /// Validates a request body `{text, severity?, audience?}`. Every invalid field is reported,
    /// by name; so is every member other than these (bodies are strict, so that a misspelt
    /// `audience` cannot silently broadcast to everyone).
    pub fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let text = match body.get("text") {
            None | Some(Value::Null) => {
                errors.push(FieldError::new("text", "is required"));
                None
            }
            Some(Value::String(text)) => NoticeText::parse(text)
                .map_err(|error| errors.push(FieldError::new("text", error.to_string())))
                .ok(),
            Some(_) => {
                errors.push(FieldError::new("text", "must be a string"));
                None
            }
        };
        // Absent means the default; an explicit null is not a severity (the schema says so).
        let severity = match body.get("severity") {
            None => Some(Severity::default()),
            Some(Value::String(name)) => Severity::parse(name),
            Some(_) => None,
        };
        if severity.is_none() {
            errors.push(FieldError::new(
                "severity",
                "must be one of info, warning, critical",
            ));
        }
        let audience = match body.get("audience") {
            None => Ok(None),
            Some(Value::String(name)) => name.parse::<Role>().map(Some).map_err(|_| ()),
            Some(_) => Err(()),
        };
        if audience.is_err() {
            errors.push(FieldError::new(
                "audience",
                "must be a role name, e.g. agent",
            ));
        }
        for name in body
            .keys()
            .filter(|name| !Self::FIELDS.contains(&name.as_str()))
        {
            let name: String = name.chars().take(64).collect();
            errors.push(FieldError::new(name, "is not a known field"));
        }
        match (text, severity, audience) {
            (Some(text), Some(severity), Ok(audience)) if errors.is_empty() => Ok(Self {
                text,
                severity,
                audience,
            }),
            _ => Err(errors),
        }
    }
}

/// A notice on its way to connected browsers: the `BroadcastQueue` message body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BroadcastNotice {
    /// Also the idempotency key: clients drop a notice id they have already shown.
    pub id: Uuid,
    pub text: NoticeText,
    #[serde(default)]
    pub severity: Severity,
    /// Only connections holding this role get the notice; `None` = everyone.
    #[serde(default)]
    pub audience: Option<Role>,
    /// Username of the sender.
    pub sent_by: String,
    #[serde(with = "crate::time::rfc3339")]
    pub sent_at: DateTime<Utc>,
}

impl BroadcastNotice {
    pub fn new(
        id: Uuid,
        draft: BroadcastDraft,
        sent_by: impl Into<String>,
        sent_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            text: draft.text,
            severity: draft.severity,
            audience: draft.audience,
            sent_by: sent_by.into(),
            sent_at,
        }
    }

    /// The message pushed to each browser.
    pub fn push_message(&self) -> PushMessage {
        PushMessage::Broadcast {
            id: self.id,
            text: self.text.clone(),
            severity: self.severity,
            sent_by: self.sent_by.clone(),
            sent_at: self.sent_at,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// Where a desk or presence push comes from: the PBX device and the version of its state that
/// the push shows (strictly increasing per device).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushOrigin {
    pub device: String,
    pub version: u64,
}

/// A message pushed to a browser over `@connections`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum PushMessage {
    /// Answer to `{"action":"ping"}`.
    Pong {
        #[serde(with = "crate::time::rfc3339")]
        at: DateTime<Utc>,
    },
    /// Answer to `{"action":"whoami"}`.
    Whoami { principal: Principal },
    /// A broadcast notice.
    Broadcast {
        id: Uuid,
        text: NoticeText,
        severity: Severity,
        sent_by: String,
        #[serde(with = "crate::time::rfc3339")]
        sent_at: DateTime<Utc>,
    },
    /// The browser sent something we do not understand.
    Error { code: String },
    /// Tells `username`'s desk to refresh `GET /api/desk`. From cti-ingest it carries the
    /// device's calls after the event (as `GET /api/desk` shows them), so that the desk shows a
    /// ringing call without waiting for its read.
    Desk {
        username: String,
        reason: DeskReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        calls: Option<Vec<crate::desk::DeskCall>>,
        /// From cti-ingest: the device and its state's version after the event. Events of
        /// different message groups (a call's, the device's) are processed side by side, so
        /// their pushes can arrive out of order: the desk ignores one whose version is not newer
        /// than one already seen from the same device.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<PushOrigin>,
    },
    /// Transfer panel: `username`'s presence changed (to every agent, supervisor and admin).
    Presence {
        username: String,
        presence: PanelPresence,
        #[serde(with = "crate::time::rfc3339")]
        since: DateTime<Utc>,
        /// As for `Desk`: a panel ignores a push not newer than one seen from the same device.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<PushOrigin>,
    },
    /// A contact record changed (note, category, client, data).
    Contact { contact_id: String },
    /// A conversation changed (issue 7): handed off to a queue (to its members), taken,
    /// transferred or ended (to its agents). The desk reads `GET /api/desk/chats` again.
    Chat {
        conversation_id: String,
        status: crate::chat::ConversationStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<String>,
    },
    /// A new message of a conversation (to its agent, invited supervisors, and its visitor).
    ChatMessage { message: crate::chat::ChatMessage },
    /// Someone in a conversation is typing (CHAT-2).
    ChatTyping {
        conversation_id: String,
        from: crate::chat::Sender,
    },
}

/// What changed on a desk ([`PushMessage::Desk`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeskReason {
    Presence,
    Calls,
    Queues,
}

impl PushMessage {
    /// The JSON text sent over the wire.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// What a browser may send (`$default` route; the route selection expression is
/// `$request.body.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAction {
    Ping,
    Whoami,
    /// Not JSON, no `action`, or an action we do not know.
    Unknown,
}

impl ClientAction {
    pub fn parse(body: Option<&str>) -> Self {
        #[derive(Deserialize)]
        struct Envelope {
            action: String,
        }
        match body.map(serde_json::from_str::<Envelope>) {
            Some(Ok(envelope)) if envelope.action == "ping" => ClientAction::Ping,
            Some(Ok(envelope)) if envelope.action == "whoami" => ClientAction::Whoami,
            _ => ClientAction::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn when_draft_is_valid_should_trim_and_default_severity() {
        // GIVEN a body with padded text and no severity
        let body = object(json!({"text": "  Porucha linky 2  ", "audience": "agent"}));
        // WHEN validated
        let draft = BroadcastDraft::from_json(&body).unwrap();
        // THEN the text is trimmed, severity is info, audience agent
        assert_eq!(draft.text.as_str(), "Porucha linky 2");
        assert_eq!(draft.severity, Severity::Info);
        assert_eq!(draft.audience, Some(Role::Agent));
    }

    #[test]
    fn when_draft_fields_are_invalid_should_name_each_field() {
        let body = object(json!({"text": "a\u{0007}b", "severity": "loud", "audience": "pilot"}));
        let errors = BroadcastDraft::from_json(&body).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["text", "severity", "audience"]);
    }

    #[test]
    fn when_severity_or_audience_is_null_should_name_each_field() {
        // GIVEN optional members sent as explicit nulls (found by the schema-driven fuzzer)
        let body = object(json!({"text": "Hi", "severity": null, "audience": null}));
        // WHEN validated THEN both are refused: absent means default, null is not a value
        let errors = BroadcastDraft::from_json(&body).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["severity", "audience"]);
    }

    #[test]
    fn when_body_has_an_unknown_member_should_name_it() {
        let body = object(json!({"text": "Hi", "audiense": "agent"}));
        let errors = BroadcastDraft::from_json(&body).unwrap_err();
        assert_eq!(
            errors,
            [FieldError::new("audiense", "is not a known field")]
        );
    }

    #[test]
    fn when_text_is_missing_blank_or_not_a_string_should_name_text() {
        for body in [
            json!({}),
            json!({"text": "   "}),
            json!({"text": 5}),
            json!({"text": null}),
        ] {
            let errors = BroadcastDraft::from_json(&object(body.clone())).unwrap_err();
            assert_eq!(errors.len(), 1, "{body}");
            assert_eq!(errors[0].field, "text");
        }
    }

    #[test]
    fn when_text_is_exactly_500_chars_should_be_accepted_and_501_refused() {
        let ok = "ž".repeat(500);
        assert!(NoticeText::parse(&ok).is_ok());
        assert_eq!(
            NoticeText::parse(&format!("{ok}x")),
            Err(NoticeTextError::TooLong)
        );
        assert_eq!(
            NoticeText::parse("line\nbreak"),
            Err(NoticeTextError::ControlCharacter)
        );
        // the limit applies to the text as sent, too (the API schema says maxLength 500)
        assert_eq!(
            NoticeText::parse(&format!(" {ok} ")),
            Err(NoticeTextError::TooLong)
        );
    }

    #[test]
    fn when_notice_is_serialized_should_round_trip_and_validate_text() {
        // GIVEN a notice
        let sent_at = Utc.with_ymd_and_hms(2026, 11, 27, 9, 30, 0).unwrap();
        let draft =
            BroadcastDraft::from_json(&object(json!({"text": "Hi", "severity": "critical"})))
                .unwrap();
        let notice = BroadcastNotice::new(Uuid::nil(), draft, "supervisor", sent_at);
        // WHEN serialized and parsed back
        let json = serde_json::to_value(&notice).unwrap();
        // THEN the wire shape is camelCase and round-trips
        assert_eq!(json["sentAt"], "2026-11-27T09:30:00.000Z");
        assert_eq!(json["sentBy"], "supervisor");
        assert_eq!(json["audience"], Value::Null);
        assert_eq!(
            serde_json::from_value::<BroadcastNotice>(json.clone()).unwrap(),
            notice
        );
        // AND a queue message with invalid text is refused
        let mut bad = json;
        bad["text"] = json!("");
        assert!(serde_json::from_value::<BroadcastNotice>(bad).is_err());
    }

    #[test]
    fn when_push_messages_are_serialized_should_have_type_tags() {
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 9, 30, 0).unwrap();
        assert_eq!(
            serde_json::to_value(PushMessage::Pong { at }).unwrap(),
            json!({"type": "pong", "at": "2026-11-27T09:30:00.000Z"})
        );
        assert_eq!(
            serde_json::to_value(PushMessage::Error {
                code: "unknown-action".to_owned()
            })
            .unwrap(),
            json!({"type": "error", "code": "unknown-action"})
        );
        let draft = BroadcastDraft::from_json(&object(json!({"text": "Hi"}))).unwrap();
        let notice = BroadcastNotice::new(Uuid::nil(), draft, "supervisor", at);
        assert_eq!(
            serde_json::to_value(notice.push_message()).unwrap(),
            json!({"type": "broadcast", "id": Uuid::nil(), "text": "Hi", "severity": "info",
                   "sentBy": "supervisor", "sentAt": "2026-11-27T09:30:00.000Z"})
        );
    }

    #[test]
    fn when_desk_presence_and_contact_pushes_are_serialized_should_match_the_contract() {
        let since = Utc.with_ymd_and_hms(2026, 11, 28, 9, 30, 0).unwrap();
        let desk = PushMessage::Desk {
            username: "agent01".into(),
            reason: DeskReason::Presence,
            calls: None,
            origin: None,
        };
        assert_eq!(
            serde_json::to_value(&desk).unwrap(),
            json!({"type": "desk", "username": "agent01", "reason": "presence"})
        );
        for (reason, text) in [(DeskReason::Calls, "calls"), (DeskReason::Queues, "queues")] {
            let message = PushMessage::Desk {
                username: "a".into(),
                reason,
                calls: None,
                origin: None,
            };
            assert_eq!(serde_json::to_value(&message).unwrap()["reason"], text);
        }
        let presence = PushMessage::Presence {
            username: "agent02".into(),
            presence: PanelPresence::WrapUp,
            since,
            origin: Some(PushOrigin {
                device: "2002".into(),
                version: 7,
            }),
        };
        assert_eq!(
            serde_json::to_value(&presence).unwrap(),
            json!({"type": "presence", "username": "agent02", "presence": "wrapUp",
                   "since": "2026-11-28T09:30:00.000Z",
                   "origin": {"device": "2002", "version": 7}})
        );
        for (presence, text) in [
            (PanelPresence::Free, "free"),
            (PanelPresence::Busy, "busy"),
            (PanelPresence::Ringing, "ringing"),
            (PanelPresence::Break, "break"),
            (PanelPresence::LoggedOut, "loggedOut"),
        ] {
            assert_eq!(serde_json::to_value(presence).unwrap(), text);
        }
        let contact = PushMessage::Contact {
            contact_id: "prg-1:1:7".into(),
        };
        assert_eq!(
            serde_json::to_value(&contact).unwrap(),
            json!({"type": "contact", "contactId": "prg-1:1:7"})
        );
        let chat = PushMessage::Chat {
            conversation_id: "c-1".into(),
            status: crate::chat::ConversationStatus::Queued,
            queue_id: Some("kkc".into()),
            agent: None,
        };
        assert_eq!(
            serde_json::to_value(&chat).unwrap(),
            json!({"type": "chat", "conversationId": "c-1", "status": "queued", "queueId": "kkc"})
        );
        let typing = PushMessage::ChatTyping {
            conversation_id: "c-1".into(),
            from: crate::chat::Sender::Agent,
        };
        assert_eq!(
            serde_json::to_value(&typing).unwrap(),
            json!({"type": "chat-typing", "conversationId": "c-1", "from": "agent"})
        );
        for message in [desk, presence, contact, chat, typing] {
            let text = message.to_json().unwrap();
            assert_eq!(serde_json::from_str::<PushMessage>(&text).unwrap(), message);
        }
    }

    #[test]
    fn when_connection_has_heartbeats_should_be_seen_at_the_newest() {
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap();
        let principal = Principal {
            subject: "s".to_owned(),
            username: "agent01".to_owned(),
            display_name: None,
            roles: BTreeSet::from([Role::Supervisor]),
            client_id: None,
        };
        let mut connection = Connection::open("c1", &principal, now);
        assert_eq!(connection.last_seen(), now);
        assert!(connection.sees_transfer_panel());
        connection.heartbeat_at = Some(now.timestamp() + 90);
        assert_eq!(connection.last_seen(), now + chrono::Duration::seconds(90));
        // AND the heartbeat is stored as a number, absent until the first one
        let json = serde_json::to_value(&connection).unwrap();
        assert_eq!(json["heartbeatAt"], json!(now.timestamp() + 90));
        let fresh = serde_json::to_value(Connection::open("c2", &principal, now)).unwrap();
        assert!(fresh.get("heartbeatAt").is_none());
        connection.roles = BTreeSet::from([Role::Wallboard]);
        assert!(!connection.sees_transfer_panel());
    }

    #[test]
    fn when_client_sends_actions_should_parse_them() {
        assert_eq!(
            ClientAction::parse(Some(r#"{"action":"ping"}"#)),
            ClientAction::Ping
        );
        assert_eq!(
            ClientAction::parse(Some(r#"{"action":"whoami","x":1}"#)),
            ClientAction::Whoami
        );
        for body in [
            None,
            Some(""),
            Some("ping"),
            Some("{}"),
            Some(r#"{"action":5}"#),
            Some(r#"{"action":"dance"}"#),
        ] {
            assert_eq!(ClientAction::parse(body), ClientAction::Unknown, "{body:?}");
        }
    }

    #[test]
    fn when_connection_is_opened_should_expire_after_two_hours_ten_minutes() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap();
        let principal = Principal {
            subject: "s".to_owned(),
            username: "agent01".to_owned(),
            display_name: None,
            roles: BTreeSet::from([Role::Agent]),
            client_id: Some("linka-web".to_owned()),
        };
        let connection = Connection::open("c1", &principal, now);
        assert_eq!(connection.expires_at - now.timestamp(), 7800);
        assert_eq!(connection.principal(), principal);
        assert!(connection.is_in_audience(None));
        assert!(connection.is_in_audience(Some(Role::Agent)));
        assert!(!connection.is_in_audience(Some(Role::Supervisor)));
        assert_eq!(stale_cutoff(now), now - chrono::Duration::minutes(130));
    }
}
