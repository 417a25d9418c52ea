//! The routing settings administrators edit (IN-1, IN-4, IN-9, IN-17, IN-18, ADM-4): each
//! queue's [`QueueRouting`], the [`InboundPlan`] and the map from queues, IVR trees and
//! announcements to PBX devices ([`RoutingDevices`]). The routing engine ([`crate::routing`])
//! reads them; this module stores, parses and validates them.
//!
//! Storage (`ConfigTable`, pk `collection`, sk `id`, see `docs/data-model.md`):
//!
//! | collection | id | document |
//! |---|---|---|
//! | [`QUEUE_ROUTING_COLLECTION`] (`queueRouting`) | the queue id | [`QueueRoutingSettings`]: the [`QueueRouting`] fields plus `queueId` |
//! | [`ROUTING_SETTINGS_COLLECTION`] (`routingSettings`) | [`PLAN_ID`] (`plan`) | [`InboundPlan`] |
//! | [`ROUTING_SETTINGS_COLLECTION`] (`routingSettings`) | [`DEVICES_ID`] (`devices`) | [`RoutingDevices`] |
//!
//! A missing document means the defaults ([`QueueRouting::default`], [`InboundPlan::default`],
//! [`RoutingDevices::default`]). Pure domain code: every problem names its field with a JSON
//! path such as `rules[2].entry.queueId`; references to queues and IVR trees are returned as
//! [`Reference`]s for the caller to check against storage.

use std::collections::{BTreeMap, BTreeSet};

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::admin_config::{is_valid_config_id, ConfigEntity, Queue, Reference, IVR_COLLECTION};
use crate::ivr::model::MAX_ATTRIBUTE_VALUE_CHARS;
use crate::ivr::validate::{is_valid_attribute_name, is_valid_status};
use crate::problem::FieldError;
use crate::queues::OverflowTarget;
use crate::routing::{Entry, InboundPlan, NobodyLoggedIn, QueueRouting};

/// The collection of per-queue routing settings (id = queue id).
pub const QUEUE_ROUTING_COLLECTION: &str = "queueRouting";

/// The collection of the routing singletons ([`PLAN_ID`], [`DEVICES_ID`]).
pub const ROUTING_SETTINGS_COLLECTION: &str = "routingSettings";

/// Id of the inbound routing plan in [`ROUTING_SETTINGS_COLLECTION`].
pub const PLAN_ID: &str = "plan";

/// Id of the device map in [`ROUTING_SETTINGS_COLLECTION`].
pub const DEVICES_ID: &str = "devices";

/// Longest wrap-up time, seconds (IN-18).
pub const MAX_WRAP_UP_SECONDS: u32 = 3600;
/// Longest maximum wait in a queue, seconds.
pub const MAX_WAIT_SECONDS: u32 = 86_400;
/// Highest maximum number of waiting calls.
pub const MAX_WAITING_CALLS: u32 = 10_000;
/// Longest hold for the last agent, seconds (IN-17).
pub const MAX_HOLD_SECONDS: u32 = 600;
/// Oldest conversation last-agent routing looks at, hours (30 days).
pub const MAX_LAST_AGENT_AGE_HOURS: u32 = 720;
/// Most rules in the plan.
pub const MAX_RULES: usize = 200;
/// Most entries in one list of a rule (numbers, patterns, statuses, IVR choices, attributes).
pub const MAX_LIST_ITEMS: usize = 100;
/// Highest priority boost of a rule or a client status.
pub const MAX_BOOST: u8 = 100;
/// Most entries in one map of the device map.
pub const MAX_DEVICES: usize = 1000;

/// The message for an announcement id that breaks `^[a-z0-9][a-z0-9-]{0,39}$`.
const ID_MESSAGE: &str =
    "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit";

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Fields that are `null` when unset and left out of the stored JSON: a `null` under one of
/// these names is not an unknown field.
const OPTIONAL_FIELDS: &[&str] = &[
    "maxWaitSeconds",
    "maxWaitingCalls",
    "closedAnnouncement",
    "lastAgent",
    "defaultEntry",
    "ivrChoices",
    "during",
    "node",
    "defaultAnnouncement",
];

/// Parses a request body strictly: a wrong type names its path, and so does a field the type
/// does not know (the routing types read stored documents leniently, so unknown fields are
/// found here by comparing the body with what was understood of it).
pub fn parse_strict<T: Serialize + DeserializeOwned>(
    body: Map<String, Value>,
) -> Result<T, Vec<FieldError>> {
    let input = Value::Object(body);
    let parsed: T = serde_path_to_error::deserialize(&input).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." || path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        let message = error.into_inner().to_string();
        let message = message.split(" at line ").next().unwrap_or_default();
        vec![FieldError::new(
            field,
            if message.is_empty() {
                "is invalid"
            } else {
                message
            },
        )]
    })?;
    let understood =
        serde_json::to_value(&parsed).map_err(|_| vec![FieldError::new("body", "is invalid")])?;
    let mut errors = Vec::new();
    unknown_fields(&input, &understood, "", &mut errors);
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(errors)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Every member of `input` that `understood` (the parsed value written back) lacks.
fn unknown_fields(input: &Value, understood: &Value, path: &str, errors: &mut Vec<FieldError>) {
    match (input, understood) {
        (Value::Object(given), Value::Object(kept)) => {
            for (key, value) in given {
                let field = join(path, key);
                match kept.get(key) {
                    Some(inner) => unknown_fields(value, inner, &field, errors),
                    None if value.is_null() && OPTIONAL_FIELDS.contains(&key.as_str()) => {}
                    None => errors.push(FieldError::new(field, "is not a known field")),
                }
            }
        }
        (Value::Array(given), Value::Array(kept)) => {
            for (index, (value, inner)) in given.iter().zip(kept).enumerate() {
                unknown_fields(value, inner, &format!("{path}[{index}]"), errors);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Shared checks
// ---------------------------------------------------------------------------------------------

fn check_range(errors: &mut Vec<FieldError>, field: &str, value: u32, min: u32, max: u32) {
    if !(min..=max).contains(&value) {
        errors.push(FieldError::new(
            field,
            format!("must be between {min} and {max}"),
        ));
    }
}

fn check_id(errors: &mut Vec<FieldError>, field: &str, id: &str) {
    if !is_valid_config_id(id) {
        errors.push(FieldError::new(field, ID_MESSAGE));
    }
}

fn check_len(errors: &mut Vec<FieldError>, field: &str, len: usize, max: usize) {
    if len > max {
        errors.push(FieldError::new(
            field,
            format!("must hold at most {max} entries"),
        ));
    }
}

/// A dialled number: `^[0-9+]{1,20}$`.
pub fn is_valid_dialled(number: &str) -> bool {
    (1..=20).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit() || b == b'+')
}

/// A caller or own-number pattern: `^\+?[0-9]{1,20}\*?$` (exact, or a prefix ending in `*`).
pub fn is_valid_number_pattern(pattern: &str) -> bool {
    let rest = pattern.strip_prefix('+').unwrap_or(pattern);
    let digits = rest.strip_suffix('*').unwrap_or(rest);
    (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A PBX device (extension, pilot, port): `^[0-9*#+]{1,20}$`.
pub fn is_valid_device(device: &str) -> bool {
    (1..=20).contains(&device.len())
        && device
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'#' | b'+'))
}

/// An IVR path step: `^[0-9*#]{1,32}$` (a menu key or collected digits).
fn is_valid_ivr_choice(choice: &str) -> bool {
    (1..=32).contains(&choice.len())
        && choice
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'#'))
}

fn config_reference(collection: &str, id: &str, field: String) -> Reference {
    Reference {
        collection: collection.to_owned(),
        id: id.to_owned(),
        field,
        is_user: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Per-queue routing settings
// ---------------------------------------------------------------------------------------------

/// The stored document of one queue's routing settings: the [`QueueRouting`] fields plus
/// `queueId` (what `GET /api/admin/queues/{queueId}/routing` returns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueRoutingSettings {
    pub queue_id: String,
    #[serde(flatten)]
    pub routing: QueueRouting,
}

impl QueueRoutingSettings {
    /// The defaults of a queue that has no stored settings.
    pub fn defaults(queue_id: &str) -> Self {
        Self {
            queue_id: queue_id.to_owned(),
            routing: QueueRouting::default(),
        }
    }
}

impl ConfigEntity for QueueRoutingSettings {
    const COLLECTION: &'static str = QUEUE_ROUTING_COLLECTION;
    const ID_FIELD: &'static str = "queueId";
    const NOUN: &'static str = "queue-routing";
    /// Served under `queues/{queueId}/routing` (not by the generic collection handlers).
    const PATH: &'static str = "queues";

    fn id(&self) -> &str {
        &self.queue_id
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_id(&mut errors, "queueId", &self.queue_id);
        errors.extend(validate_queue_routing(&self.routing));
        errors
    }

    fn references(&self) -> Vec<Reference> {
        vec![config_reference(
            Queue::COLLECTION,
            &self.queue_id,
            "queueId".to_owned(),
        )]
    }
}

/// Parses the body of `PUT /api/admin/queues/{queueId}/routing`: the [`QueueRouting`] fields
/// (omitted ones take their defaults) and optionally `queueId`, which must be the path's.
pub fn parse_queue_routing(
    queue_id: &str,
    mut body: Map<String, Value>,
) -> Result<QueueRoutingSettings, Vec<FieldError>> {
    match body.remove("queueId") {
        None => {}
        Some(Value::String(id)) if id == queue_id => {}
        Some(_) => {
            return Err(vec![FieldError::new(
                "queueId",
                "must be the id of the path (ids cannot be changed)",
            )])
        }
    }
    let routing: QueueRouting = parse_strict(body)?;
    Ok(QueueRoutingSettings {
        queue_id: queue_id.to_owned(),
        routing,
    })
}

/// Problems with a queue's routing settings (paths such as `lastAgent.holdSeconds`).
pub fn validate_queue_routing(routing: &QueueRouting) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check_range(
        &mut errors,
        "wrapUpSeconds",
        routing.wrap_up_seconds,
        0,
        MAX_WRAP_UP_SECONDS,
    );
    if let Some(seconds) = routing.max_wrap_up_seconds {
        check_range(
            &mut errors,
            "maxWrapUpSeconds",
            seconds,
            routing.wrap_up_seconds,
            MAX_WRAP_UP_SECONDS,
        );
    }
    if let Some(seconds) = routing.max_wait_seconds {
        check_range(&mut errors, "maxWaitSeconds", seconds, 1, MAX_WAIT_SECONDS);
    }
    if let Some(calls) = routing.max_waiting_calls {
        check_range(&mut errors, "maxWaitingCalls", calls, 1, MAX_WAITING_CALLS);
    }
    if let NobodyLoggedIn::Announce {
        announcement_id, ..
    } = &routing.when_nobody_logged_in
    {
        check_id(
            &mut errors,
            "whenNobodyLoggedIn.announcementId",
            announcement_id,
        );
    }
    if let Some(announcement) = &routing.closed_announcement {
        check_id(&mut errors, "closedAnnouncement", announcement);
    }
    if let Some(last_agent) = &routing.last_agent {
        check_range(
            &mut errors,
            "lastAgent.holdSeconds",
            last_agent.hold_seconds,
            0,
            MAX_HOLD_SECONDS,
        );
        check_range(
            &mut errors,
            "lastAgent.maxAgeHours",
            last_agent.max_age_hours,
            1,
            MAX_LAST_AGENT_AGE_HOURS,
        );
    }
    if let Some(callbacks) = &routing.callbacks {
        errors.extend(crate::callbacks::validate_callback_settings(callbacks));
    }
    errors
}

// ---------------------------------------------------------------------------------------------
// The inbound routing plan
// ---------------------------------------------------------------------------------------------

fn validate_entry(errors: &mut Vec<FieldError>, prefix: &str, entry: &Entry) {
    match entry {
        Entry::Ivr { ivr_id, node } => {
            check_id(errors, &format!("{prefix}.ivrId"), ivr_id);
            if let Some(node) = node {
                check_id(errors, &format!("{prefix}.node"), node);
            }
        }
        Entry::Queue { queue_id } => check_id(errors, &format!("{prefix}.queueId"), queue_id),
        Entry::Destination { target } => {
            errors.extend(target.validate(&format!("{prefix}.target")))
        }
    }
}

fn entry_references(prefix: &str, entry: &Entry) -> Vec<Reference> {
    match entry {
        Entry::Ivr { ivr_id, .. } => vec![config_reference(
            IVR_COLLECTION,
            ivr_id,
            format!("{prefix}.ivrId"),
        )],
        Entry::Queue { queue_id } => vec![config_reference(
            Queue::COLLECTION,
            queue_id,
            format!("{prefix}.queueId"),
        )],
        Entry::Destination { target } => match target {
            OverflowTarget::Queue { queue_id } => vec![config_reference(
                Queue::COLLECTION,
                queue_id,
                format!("{prefix}.target.queueId"),
            )],
            OverflowTarget::Ivr { ivr_id } => vec![config_reference(
                IVR_COLLECTION,
                ivr_id,
                format!("{prefix}.target.ivrId"),
            )],
            OverflowTarget::Agent { username } => vec![Reference {
                collection: String::new(),
                id: username.clone(),
                field: format!("{prefix}.target.username"),
                is_user: true,
            }],
            _ => Vec::new(),
        },
    }
}

/// The entries of the plan with their JSON paths (`rules[0].entry`, `defaultEntry`).
fn entries(plan: &InboundPlan) -> Vec<(String, &Entry)> {
    let mut entries: Vec<(String, &Entry)> = plan
        .rules
        .iter()
        .enumerate()
        .map(|(index, rule)| (format!("rules[{index}].entry"), &rule.entry))
        .collect();
    if let Some(entry) = &plan.default_entry {
        entries.push(("defaultEntry".to_owned(), entry));
    }
    entries
}

/// Problems with the plan on its own (paths such as `rules[2].when.callers[0]`).
pub fn validate_plan(plan: &InboundPlan) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check_len(&mut errors, "rules", plan.rules.len(), MAX_RULES);
    let mut rule_ids = BTreeSet::new();
    for (index, rule) in plan.rules.iter().enumerate() {
        let prefix = format!("rules[{index}]");
        let field = format!("{prefix}.ruleId");
        if !is_valid_config_id(&rule.rule_id) {
            errors.push(FieldError::new(field, ID_MESSAGE));
        } else if !rule_ids.insert(rule.rule_id.as_str()) {
            errors.push(FieldError::new(field, "must be unique within the plan"));
        }
        let when = &rule.when;
        let list = |name: &str| format!("{prefix}.when.{name}");
        check_len(
            &mut errors,
            &list("dialled"),
            when.dialled.len(),
            MAX_LIST_ITEMS,
        );
        for (i, number) in when.dialled.iter().enumerate() {
            if !is_valid_dialled(number) {
                errors.push(FieldError::new(
                    format!("{}[{i}]", list("dialled")),
                    "must be 1 to 20 digits or '+'",
                ));
            }
        }
        check_len(
            &mut errors,
            &list("callers"),
            when.callers.len(),
            MAX_LIST_ITEMS,
        );
        for (i, pattern) in when.callers.iter().enumerate() {
            if !is_valid_number_pattern(pattern) {
                errors.push(FieldError::new(
                    format!("{}[{i}]", list("callers")),
                    "must be a number of 1 to 20 digits, optionally starting with '+' and ending in '*' (a prefix)",
                ));
            }
        }
        check_len(
            &mut errors,
            &list("clientStatuses"),
            when.client_statuses.len(),
            MAX_LIST_ITEMS,
        );
        for (i, status) in when.client_statuses.iter().enumerate() {
            if !is_valid_status(status) {
                errors.push(FieldError::new(
                    format!("{}[{i}]", list("clientStatuses")),
                    "must be a client status code such as VIP",
                ));
            }
        }
        if let Some(choices) = &when.ivr_choices {
            check_len(
                &mut errors,
                &list("ivrChoices"),
                choices.len(),
                MAX_LIST_ITEMS,
            );
            for (i, choice) in choices.iter().enumerate() {
                if !is_valid_ivr_choice(choice) {
                    errors.push(FieldError::new(
                        format!("{}[{i}]", list("ivrChoices")),
                        "must be 1 to 32 keypad keys (0-9, * or #)",
                    ));
                }
            }
        }
        check_len(
            &mut errors,
            &list("attributes"),
            when.attributes.len(),
            MAX_LIST_ITEMS,
        );
        for (name, value) in &when.attributes {
            let field = format!("{}.{name}", list("attributes"));
            if !is_valid_attribute_name(name) {
                errors.push(FieldError::new(
                    field,
                    "attribute name must be a letter followed by up to 39 letters or digits",
                ));
            } else if value.chars().count() > MAX_ATTRIBUTE_VALUE_CHARS {
                errors.push(FieldError::new(
                    field,
                    format!("must be at most {MAX_ATTRIBUTE_VALUE_CHARS} characters"),
                ));
            }
        }
        if let Some(schedule) = &when.during {
            if schedule.exceptions.0.len() > crate::admin_config::MAX_EXCEPTIONS {
                errors.push(FieldError::new(
                    list("during.exceptions"),
                    format!(
                        "must hold at most {} dates",
                        crate::admin_config::MAX_EXCEPTIONS
                    ),
                ));
            }
            errors.extend(schedule.validate().into_iter().map(|error| {
                FieldError::new(format!("{}.{}", list("during"), error.field), error.message)
            }));
        }
        if rule.priority_boost > MAX_BOOST {
            errors.push(FieldError::new(
                format!("{prefix}.priorityBoost"),
                format!("must be between 0 and {MAX_BOOST}"),
            ));
        }
    }
    for (prefix, entry) in entries(plan) {
        validate_entry(&mut errors, &prefix, entry);
    }
    check_len(
        &mut errors,
        "clientPriority",
        plan.client_priority.len(),
        MAX_LIST_ITEMS,
    );
    let mut statuses = BTreeSet::new();
    for (i, priority) in plan.client_priority.iter().enumerate() {
        let field = format!("clientPriority[{i}].status");
        if !is_valid_status(&priority.status) {
            errors.push(FieldError::new(
                field,
                "must be a client status code such as VIP",
            ));
        } else if !statuses.insert(priority.status.as_str()) {
            errors.push(FieldError::new(field, "must be unique within the plan"));
        }
        if priority.boost > MAX_BOOST {
            errors.push(FieldError::new(
                format!("clientPriority[{i}].boost"),
                format!("must be between 0 and {MAX_BOOST}"),
            ));
        }
    }
    let own = &plan.recording.own_numbers;
    check_len(
        &mut errors,
        "recording.ownNumbers",
        own.len(),
        MAX_LIST_ITEMS,
    );
    for (i, pattern) in own.iter().enumerate() {
        if !is_valid_number_pattern(pattern) {
            errors.push(FieldError::new(
                format!("recording.ownNumbers[{i}]"),
                "must be a number of 1 to 20 digits, optionally starting with '+' and ending in '*' (a prefix)",
            ));
        }
    }
    errors
}

/// The queues, IVR trees and agents the plan points at, each of which must exist.
pub fn plan_references(plan: &InboundPlan) -> Vec<Reference> {
    entries(plan)
        .into_iter()
        .flat_map(|(prefix, entry)| entry_references(&prefix, entry))
        .collect()
}

/// The IVR entries that start at a given node: `(ivrId, node, field)`; the node must exist in
/// the tree.
pub fn plan_ivr_nodes(plan: &InboundPlan) -> Vec<(String, String, String)> {
    entries(plan)
        .into_iter()
        .filter_map(|(prefix, entry)| match entry {
            Entry::Ivr {
                ivr_id,
                node: Some(node),
            } => Some((ivr_id.clone(), node.clone(), format!("{prefix}.node"))),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The device map
// ---------------------------------------------------------------------------------------------

/// Which PBX device stands for each queue, IVR tree and announcement: where the routing
/// function sends a call the engine decided to queue, to put into an IVR or to play an
/// announcement to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoutingDevices {
    /// queueId → PBX device where a call waits for an agent (a PBX queue/pilot without members).
    pub queues: BTreeMap<String, String>,
    /// ivrId → the IVR port device.
    pub ivrs: BTreeMap<String, String>,
    /// announcementId → announcement device.
    pub announcements: BTreeMap<String, String>,
    /// Played for an announcement without a device of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_announcement: Option<String>,
}

const DEVICE_MESSAGE: &str = "must be a PBX device: 1 to 20 digits, '*', '#' or '+'";

impl RoutingDevices {
    /// Problems with the map on its own (paths such as `queues.kkc-obecne`).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (name, map) in [
            ("queues", &self.queues),
            ("ivrs", &self.ivrs),
            ("announcements", &self.announcements),
        ] {
            check_len(&mut errors, name, map.len(), MAX_DEVICES);
            for (id, device) in map {
                let field = format!("{name}.{id}");
                if !is_valid_config_id(id) {
                    errors.push(FieldError::new(field, ID_MESSAGE));
                } else if !is_valid_device(device) {
                    errors.push(FieldError::new(field, DEVICE_MESSAGE));
                }
            }
        }
        if let Some(device) = &self.default_announcement {
            if !is_valid_device(device) {
                errors.push(FieldError::new("defaultAnnouncement", DEVICE_MESSAGE));
            }
        }
        errors
    }

    /// The queues and IVR trees the map has devices for, each of which must exist.
    pub fn references(&self) -> Vec<Reference> {
        let queues = self
            .queues
            .keys()
            .map(|id| config_reference(Queue::COLLECTION, id, format!("queues.{id}")));
        let ivrs = self
            .ivrs
            .keys()
            .map(|id| config_reference(IVR_COLLECTION, id, format!("ivrs.{id}")));
        queues.chain(ivrs).collect()
    }

    /// The device of an announcement: its own, else the default one.
    pub fn announcement(&self, announcement_id: &str) -> Option<&str> {
        self.announcements
            .get(announcement_id)
            .or(self.default_announcement.as_ref())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests;
