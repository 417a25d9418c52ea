//! Contact-centre configuration that administrators edit (ADM-4, ADM-6, ADM-7, CHAT-5): queues
//! with their opening hours and overflow, per-agent skill and priority per queue, break codes,
//! call categories, the transfer panel (groups and lines) and the ICIS link template.
//!
//! Pure domain code: the entities, their validation (each problem names its field with a JSON
//! path such as `schedule.weekly.monday[0].start`), and the [`ConfigEntity`] trait that lets one
//! generic store and one generic set of HTTP handlers serve every collection. Storage is the
//! `ConfigTable` (pk `collection`, sk `id`), see `docs/data-model.md`.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::problem::FieldError;
use crate::queues::{OverflowTarget, QueueSchedule};
use crate::users::{is_valid_group, is_valid_username};

/// Longest display name or label.
pub const MAX_NAME_CHARS: usize = 100;

/// Most dated exceptions on one queue (public holidays need none: they are built in).
pub const MAX_EXCEPTIONS: usize = 100;

/// Longest ICIS link template.
pub const MAX_URL_TEMPLATE_CHARS: usize = 500;

/// The placeholder every ICIS link template must contain.
pub const ICIS_CLIENT_ID_PLACEHOLDER: &str = "{clientId}";

/// The collection (DynamoDB partition) of one queue's members.
pub fn members_collection(queue_id: &str) -> String {
    format!("member#{queue_id}")
}

/// The collection of IVR trees (`crate::ivr::IvrTree`).
pub const IVR_COLLECTION: &str = "ivr";

/// The collection of settings (single documents such as the ICIS link).
pub const SETTINGS_COLLECTION: &str = "setting";

/// Id of the ICIS link setting.
pub const ICIS_LINK_ID: &str = "icis-link";

/// A configuration id: `^[a-z0-9][a-z0-9-]{0,39}$` (e.g. `kkc-obecne`, `obed`).
pub fn is_valid_config_id(text: &str) -> bool {
    let bytes = text.as_bytes();
    (1..=40).contains(&bytes.len())
        && bytes
            .first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// A collection of configuration documents, one DynamoDB partition each.
pub trait ConfigEntity: Serialize + DeserializeOwned + Clone + Send + Sync {
    /// Partition name, e.g. `queue`.
    const COLLECTION: &'static str;
    /// The id field in JSON, e.g. `queueId`.
    const ID_FIELD: &'static str;
    /// Singular noun for problem codes, e.g. `queue` (→ `queue-not-found`).
    const NOUN: &'static str;
    /// The URL path segment under `/api/admin/`, e.g. `queues`.
    const PATH: &'static str;
    /// Fields the API adds to responses and ignores in requests.
    const READ_ONLY_FIELDS: &'static [&'static str] = &[];

    fn id(&self) -> &str;

    /// Problems with the document on its own (references to other documents are checked by the
    /// caller, which can read them).
    fn validate(&self) -> Vec<FieldError>;

    /// The JSON the API returns at `now` (the stored document plus derived, read-only fields).
    fn view(&self, _now: DateTime<Utc>) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Other documents this one points at: `(collection, id, field)`, each of which must exist.
    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }
}

/// A document another one points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub collection: String,
    pub id: String,
    /// The JSON path of the pointing field, for the 422.
    pub field: String,
    /// `true` for a user account (UsersTable) rather than a configuration document.
    pub is_user: bool,
}

impl Reference {
    fn config(collection: &str, id: &str, field: &str) -> Self {
        Self {
            collection: collection.to_owned(),
            id: id.to_owned(),
            field: field.to_owned(),
            is_user: false,
        }
    }

    fn user(username: &str, field: &str) -> Self {
        Self {
            collection: String::new(),
            id: username.to_owned(),
            field: field.to_owned(),
            is_user: true,
        }
    }
}

/// Parses a request body into `T`, naming the offending field on failure. Read-only fields are
/// dropped first, so a client may send back what it read.
pub fn parse_document<T: ConfigEntity>(mut body: Map<String, Value>) -> Result<T, FieldError> {
    for field in T::READ_ONLY_FIELDS {
        body.remove(*field);
    }
    parse_body(body)
}

/// Parses a JSON object body into `T`, naming the offending field (`body` when the object as a
/// whole is wrong).
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: Map<String, Value>,
) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(Value::Object(body)).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." || path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        FieldError::new(field, describe_serde_error(&error.into_inner().to_string()))
    })
}

/// A short English message from a serde error (without serde's line/column suffix).
fn describe_serde_error(message: &str) -> String {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    if message.is_empty() {
        "is invalid".to_owned()
    } else {
        message
    }
}

fn check_id(errors: &mut Vec<FieldError>, field: &str, id: &str) {
    if !is_valid_config_id(id) {
        errors.push(FieldError::new(
            field,
            "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit",
        ));
    }
}

fn check_name(errors: &mut Vec<FieldError>, field: &str, name: &str) {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    } else if name.chars().any(char::is_control) || trimmed.len() != name.len() {
        errors.push(FieldError::new(
            field,
            "must not contain control characters or leading/trailing spaces",
        ));
    }
}

fn check_range(errors: &mut Vec<FieldError>, field: &str, value: u32, min: u32, max: u32) {
    if !(min..=max).contains(&value) {
        errors.push(FieldError::new(
            field,
            format!("must be between {min} and {max}"),
        ));
    }
}

fn default_true() -> bool {
    true
}

fn default_priority() -> u8 {
    5
}

// ---------------------------------------------------------------------------------------------
// Queues (fronty), ADM-4
// ---------------------------------------------------------------------------------------------

/// A queue: who it belongs to, when it is open and where calls go when it is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Queue {
    pub queue_id: String,
    pub name: String,
    /// Agent group that works the queue (`KKC`, `AS`, `EXT`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// 1 (lowest) to 10 (highest): which queue an agent in several queues serves first.
    #[serde(default = "default_priority")]
    pub priority: u8,
    #[serde(default)]
    pub schedule: QueueSchedule,
    /// Where calls go while the queue is closed; `None`: the caller hears the closed message.
    #[serde(default)]
    pub overflow: Option<OverflowTarget>,
}

impl ConfigEntity for Queue {
    const COLLECTION: &'static str = "queue";
    const ID_FIELD: &'static str = "queueId";
    const NOUN: &'static str = "queue";
    const PATH: &'static str = "queues";
    const READ_ONLY_FIELDS: &'static [&'static str] = &["openNow", "nextChange"];

    fn id(&self) -> &str {
        &self.queue_id
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_id(&mut errors, "queueId", &self.queue_id);
        check_name(&mut errors, "name", &self.name);
        if let Some(group) = &self.group {
            if !is_valid_group(group) {
                errors.push(FieldError::new(
                    "group",
                    "must be a group code such as KKC, AS or EXT",
                ));
            }
        }
        check_range(&mut errors, "priority", self.priority.into(), 1, 10);
        if self.schedule.exceptions.0.len() > MAX_EXCEPTIONS {
            errors.push(FieldError::new(
                "schedule.exceptions",
                format!("must hold at most {MAX_EXCEPTIONS} dates"),
            ));
        }
        errors.extend(
            self.schedule
                .validate()
                .into_iter()
                .map(|error| FieldError::new(format!("schedule.{}", error.field), error.message)),
        );
        if let Some(overflow) = &self.overflow {
            errors.extend(overflow.validate("overflow"));
            if matches!(overflow, OverflowTarget::Queue { queue_id } if *queue_id == self.queue_id)
            {
                errors.push(FieldError::new(
                    "overflow.queueId",
                    "must be another queue than this one",
                ));
            }
        }
        errors
    }

    fn view(&self, now: DateTime<Utc>) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(fields) = &mut value {
            fields.insert(
                "openNow".to_owned(),
                Value::Bool(self.schedule.is_open(now)),
            );
            fields.insert(
                "nextChange".to_owned(),
                self.schedule.next_change(now).map_or(Value::Null, |at| {
                    Value::String(crate::time::format_rfc3339(at))
                }),
            );
        }
        value
    }

    fn references(&self) -> Vec<Reference> {
        match &self.overflow {
            Some(OverflowTarget::Queue { queue_id }) => {
                vec![Reference::config(
                    Queue::COLLECTION,
                    queue_id,
                    "overflow.queueId",
                )]
            }
            Some(OverflowTarget::Agent { username }) => {
                vec![Reference::user(username, "overflow.username")]
            }
            Some(OverflowTarget::Ivr { ivr_id }) => {
                vec![Reference::config(IVR_COLLECTION, ivr_id, "overflow.ivrId")]
            }
            _ => Vec::new(),
        }
    }
}

/// An agent's skill level and priority in one queue (ADM-7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueMember {
    pub queue_id: String,
    pub username: String,
    /// 1 (beginner) to 10 (expert): routing prefers higher skill.
    pub skill_level: u8,
    /// 1 (lowest) to 10 (highest): the agent's priority for this queue.
    pub priority: u8,
    /// The agent may not log in or out of this queue at the desk (DESK-3).
    #[serde(default)]
    pub locked: bool,
}

/// The body of `PUT /api/admin/queues/{queueId}/members/{username}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberSettings {
    pub skill_level: u8,
    #[serde(default = "default_priority")]
    pub priority: u8,
    #[serde(default)]
    pub locked: bool,
}

impl MemberSettings {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_range(&mut errors, "skillLevel", self.skill_level.into(), 1, 10);
        check_range(&mut errors, "priority", self.priority.into(), 1, 10);
        errors
    }

    pub fn into_member(self, queue_id: String, username: String) -> QueueMember {
        QueueMember {
            queue_id,
            username,
            skill_level: self.skill_level,
            priority: self.priority,
            locked: self.locked,
        }
    }
}

/// Parses a member body, naming the offending field.
pub fn parse_member_settings(body: Map<String, Value>) -> Result<MemberSettings, FieldError> {
    parse_body(body)
}

/// Whether a username can name a member (same rule as user accounts).
pub fn is_valid_member_username(username: &str) -> bool {
    is_valid_username(username)
}

// ---------------------------------------------------------------------------------------------
// Break codes (přestávky), ADM-6
// ---------------------------------------------------------------------------------------------

/// Work breaks count as working time (training, coaching); private ones do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BreakKind {
    /// Pracovní přestávka.
    Work,
    /// Soukromá přestávka.
    Private,
}

/// A break an agent can take (a not-ready reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BreakCode {
    pub code: String,
    pub name: String,
    pub kind: BreakKind,
    /// Longest allowed length; the supervisor view flags an agent past it.
    #[serde(default)]
    pub max_minutes: Option<u16>,
    #[serde(default = "default_true")]
    pub active: bool,
}

impl ConfigEntity for BreakCode {
    const COLLECTION: &'static str = "breakCode";
    const ID_FIELD: &'static str = "code";
    const NOUN: &'static str = "break-code";
    const PATH: &'static str = "break-codes";

    fn id(&self) -> &str {
        &self.code
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_id(&mut errors, "code", &self.code);
        check_name(&mut errors, "name", &self.name);
        if let Some(minutes) = self.max_minutes {
            check_range(&mut errors, "maxMinutes", minutes.into(), 1, 480);
        }
        errors
    }
}

// ---------------------------------------------------------------------------------------------
// Call categories (kategorie hovorů), ADM-6
// ---------------------------------------------------------------------------------------------

/// A call or product category agents pick in wrap-up; one level of nesting under a parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallCategory {
    pub category_id: String,
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default = "default_true")]
    pub active: bool,
}

impl ConfigEntity for CallCategory {
    const COLLECTION: &'static str = "callCategory";
    const ID_FIELD: &'static str = "categoryId";
    const NOUN: &'static str = "call-category";
    const PATH: &'static str = "call-categories";

    fn id(&self) -> &str {
        &self.category_id
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_id(&mut errors, "categoryId", &self.category_id);
        check_name(&mut errors, "name", &self.name);
        if let Some(parent) = &self.parent_id {
            check_id(&mut errors, "parentId", parent);
            if *parent == self.category_id {
                errors.push(FieldError::new(
                    "parentId",
                    "must not be the category itself",
                ));
            }
        }
        errors
    }

    fn references(&self) -> Vec<Reference> {
        self.parent_id
            .iter()
            .map(|parent| Reference::config(Self::COLLECTION, parent, "parentId"))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Transfer panel (přepojovací panel), ADM-6
// ---------------------------------------------------------------------------------------------

/// A group of lines on the transfer panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferGroup {
    pub group_id: String,
    pub name: String,
    /// Position on the panel (ascending).
    #[serde(default)]
    pub order: u16,
}

impl ConfigEntity for TransferGroup {
    const COLLECTION: &'static str = "transferGroup";
    const ID_FIELD: &'static str = "groupId";
    const NOUN: &'static str = "transfer-group";
    const PATH: &'static str = "transfer-groups";

    fn id(&self) -> &str {
        &self.group_id
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_id(&mut errors, "groupId", &self.group_id);
        check_name(&mut errors, "name", &self.name);
        check_range(&mut errors, "order", self.order.into(), 0, 999);
        errors
    }
}

/// A line on the transfer panel: one click transfers the call to its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferLine {
    pub line_id: String,
    pub label: String,
    pub group_id: String,
    /// A queue, an extension, an external or mobile number, or an agent (not an IVR).
    pub target: OverflowTarget,
    #[serde(default)]
    pub order: u16,
}

impl ConfigEntity for TransferLine {
    const COLLECTION: &'static str = "transferLine";
    const ID_FIELD: &'static str = "lineId";
    const NOUN: &'static str = "transfer-line";
    const PATH: &'static str = "transfer-lines";

    fn id(&self) -> &str {
        &self.line_id
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_id(&mut errors, "lineId", &self.line_id);
        check_name(&mut errors, "label", &self.label);
        check_id(&mut errors, "groupId", &self.group_id);
        if matches!(self.target, OverflowTarget::Ivr { .. }) {
            errors.push(FieldError::new(
                "target.kind",
                "must be queue, extension, external, agent or mobile",
            ));
        } else {
            errors.extend(self.target.validate("target"));
        }
        check_range(&mut errors, "order", self.order.into(), 0, 999);
        errors
    }

    fn references(&self) -> Vec<Reference> {
        let mut references = vec![Reference::config(
            TransferGroup::COLLECTION,
            &self.group_id,
            "groupId",
        )];
        match &self.target {
            OverflowTarget::Queue { queue_id } => {
                references.push(Reference::config(
                    Queue::COLLECTION,
                    queue_id,
                    "target.queueId",
                ));
            }
            OverflowTarget::Agent { username } => {
                references.push(Reference::user(username, "target.username"));
            }
            _ => {}
        }
        references
    }
}

// ---------------------------------------------------------------------------------------------
// ICIS link (CHAT-5, DESK)
// ---------------------------------------------------------------------------------------------

/// The URL of a client's page in ICIS, with `{clientId}` where the client's id goes. `None`:
/// no link is shown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IcisLink {
    pub url_template: Option<String>,
}

impl IcisLink {
    pub fn validate(&self) -> Vec<FieldError> {
        let Some(template) = &self.url_template else {
            return Vec::new();
        };
        let problem = |message: &str| vec![FieldError::new("urlTemplate", message)];
        if template.chars().count() > MAX_URL_TEMPLATE_CHARS {
            return problem("must be at most 500 characters");
        }
        if !template.contains(ICIS_CLIENT_ID_PLACEHOLDER) {
            return problem("must contain {clientId}");
        }
        let rest = template.replace(ICIS_CLIENT_ID_PLACEHOLDER, "");
        if rest.contains('{') || rest.contains('}') {
            return problem("must contain no placeholder other than {clientId}");
        }
        match url::Url::parse(&template.replace(ICIS_CLIENT_ID_PLACEHOLDER, "123456")) {
            Ok(url) if url.scheme() == "https" && url.host().is_some() => Vec::new(),
            Ok(_) => problem("must be an https:// address"),
            Err(_) => problem("must be an https:// address"),
        }
    }

    /// The link for a client, with the id percent-encoded; `None` when no template is set.
    pub fn link_for(&self, client_id: &str) -> Option<String> {
        let encoded: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
        self.url_template
            .as_ref()
            .map(|template| template.replace(ICIS_CLIENT_ID_PLACEHOLDER, &encoded))
    }
}

/// Parses the ICIS link body, naming the offending field.
pub fn parse_icis_link(body: Map<String, Value>) -> Result<IcisLink, FieldError> {
    if !body.contains_key("urlTemplate") {
        return Err(FieldError::new(
            "urlTemplate",
            "is required (null to show no link)",
        ));
    }
    parse_body(body)
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

    fn queue_json() -> Value {
        json!({
            "queueId": "kkc-obecne",
            "name": "Klientská linka",
            "group": "KKC",
            "priority": 5,
            "schedule": {
                "timezone": "Europe/Prague",
                "weekly": {"monday": [{"start": "08:00", "end": "16:30"}]},
                "exceptions": [{"date": "2026-12-24", "intervals": []}],
                "closedOnPublicHolidays": true
            },
            "overflow": {"kind": "external", "number": "+420601123456"}
        })
    }

    #[test]
    fn when_queue_is_valid_should_parse_and_validate_clean() {
        let queue: Queue = parse_document(object(queue_json())).unwrap();
        assert_eq!(queue.queue_id, "kkc-obecne");
        assert!(queue.validate().is_empty(), "{:?}", queue.validate());
    }

    #[test]
    fn when_queue_view_is_built_should_add_open_now_and_next_change() {
        let queue: Queue = parse_document(object(queue_json())).unwrap();
        // Monday 30 November 2026 09:00 CET = 08:00 UTC: open until 16:30 CET.
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        let view = queue.view(now);
        assert_eq!(view["openNow"], true);
        assert_eq!(view["nextChange"], "2026-11-30T15:30:00.000Z");
    }

    #[test]
    fn when_read_only_fields_are_sent_back_should_be_ignored() {
        let mut body = object(queue_json());
        body.insert("openNow".into(), json!(true));
        body.insert("nextChange".into(), json!("2026-11-30T15:30:00Z"));
        assert!(parse_document::<Queue>(body).is_ok());
    }

    #[test]
    fn when_queue_has_unknown_field_should_name_it() {
        let mut body = object(queue_json());
        body.insert("colour".into(), json!("red"));
        let error = parse_document::<Queue>(body).unwrap_err();
        assert!(error.message.contains("colour"), "{error:?}");
    }

    #[test]
    fn when_interval_time_is_malformed_should_name_the_path() {
        let mut body = queue_json();
        body["schedule"]["weekly"]["monday"][0]["start"] = json!("8 o'clock");
        let error = parse_document::<Queue>(object(body)).unwrap_err();
        assert_eq!(error.field, "schedule.weekly.monday[0].start");
    }

    #[test]
    fn when_overflow_number_is_not_e164_should_name_overflow_number() {
        let mut body = queue_json();
        body["overflow"]["number"] = json!("601 123 456");
        let queue: Queue = parse_document(object(body)).unwrap();
        let fields: Vec<String> = queue.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["overflow.number"]);
    }

    #[test]
    fn when_queue_overflows_to_itself_should_be_refused() {
        let mut body = queue_json();
        body["overflow"] = json!({"kind": "queue", "queueId": "kkc-obecne"});
        let queue: Queue = parse_document(object(body)).unwrap();
        let fields: Vec<String> = queue.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["overflow.queueId"]);
    }

    #[test]
    fn when_queue_overflows_to_a_queue_or_agent_should_reference_it() {
        let mut body = queue_json();
        body["overflow"] = json!({"kind": "agent", "username": "agent01"});
        let queue: Queue = parse_document(object(body)).unwrap();
        assert_eq!(
            queue.references(),
            vec![Reference::user("agent01", "overflow.username")]
        );
    }

    #[test]
    fn when_ids_and_names_are_bad_should_name_each_field() {
        let queue = Queue {
            queue_id: "Bad Id".into(),
            name: " ".into(),
            group: Some("kkc".into()),
            priority: 11,
            schedule: QueueSchedule::default(),
            overflow: None,
        };
        let fields: Vec<String> = queue.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["queueId", "name", "group", "priority"]);
    }

    #[test]
    fn when_config_id_is_checked_should_accept_only_the_id_alphabet() {
        assert!(is_valid_config_id("kkc-obecne"));
        assert!(is_valid_config_id("7"));
        for bad in ["", "-a", "A", "a_b", "a b", &"a".repeat(41), "č"] {
            assert!(!is_valid_config_id(bad), "{bad}");
        }
    }

    #[test]
    fn when_member_settings_are_out_of_range_should_name_them() {
        let settings =
            parse_member_settings(object(json!({"skillLevel": 0, "priority": 11}))).unwrap();
        let fields: Vec<String> = settings.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["skillLevel", "priority"]);
        let error = parse_member_settings(object(json!({"skillLevel": "high"}))).unwrap_err();
        assert_eq!(error.field, "skillLevel");
    }

    #[test]
    fn when_break_code_is_parsed_should_default_to_active() {
        let code: BreakCode = parse_document(object(
            json!({"code": "obed", "name": "Oběd", "kind": "private", "maxMinutes": 30}),
        ))
        .unwrap();
        assert!(code.active);
        assert!(code.validate().is_empty());
        let bad: BreakCode = parse_document(object(
            json!({"code": "obed", "name": "Oběd", "kind": "work", "maxMinutes": 0}),
        ))
        .unwrap();
        assert_eq!(bad.validate()[0].field, "maxMinutes");
        let error = parse_document::<BreakCode>(object(
            json!({"code": "obed", "name": "Oběd", "kind": "lunch"}),
        ))
        .unwrap_err();
        assert_eq!(error.field, "kind");
    }

    #[test]
    fn when_category_is_its_own_parent_should_be_refused() {
        let category = CallCategory {
            category_id: "a".into(),
            name: "A".into(),
            parent_id: Some("a".into()),
            active: true,
        };
        assert_eq!(category.validate()[0].field, "parentId");
    }

    #[test]
    fn when_transfer_line_targets_an_ivr_should_be_refused() {
        let line: TransferLine = parse_document(object(json!({
            "lineId": "x", "label": "X", "groupId": "g",
            "target": {"kind": "ivr", "ivrId": "main"}
        })))
        .unwrap();
        assert_eq!(line.validate()[0].field, "target.kind");
        let line: TransferLine = parse_document(object(json!({
            "lineId": "reditel", "label": "Ředitel KC", "groupId": "vedeni",
            "target": {"kind": "queue", "queueId": "as"}
        })))
        .unwrap();
        assert!(line.validate().is_empty());
        assert_eq!(line.references().len(), 2);
    }

    #[test]
    fn when_icis_template_is_checked_should_require_https_and_client_id() {
        let ok = IcisLink {
            url_template: Some("https://icis.example.cz/klient/{clientId}".into()),
        };
        assert!(ok.validate().is_empty());
        assert_eq!(
            ok.link_for("12 34").as_deref(),
            Some("https://icis.example.cz/klient/12+34")
        );
        for bad in [
            "http://icis.example.cz/{clientId}",
            "https://icis.example.cz/klient",
            "https://icis.example.cz/{clientId}/{name}",
            "javascript:alert(1)//{clientId}",
        ] {
            let link = IcisLink {
                url_template: Some(bad.into()),
            };
            assert_eq!(link.validate()[0].field, "urlTemplate", "{bad}");
        }
        assert!(IcisLink::default().validate().is_empty());
        assert_eq!(IcisLink::default().link_for("1"), None);
    }
}
