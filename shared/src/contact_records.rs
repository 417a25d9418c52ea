//! Contact records of the agent desk (issue 6: DESK-4, DESK-5, DESK-7, DESK-10, DESK-12, IN-16):
//! one [`ContactRecord`] per contact, with what the CTI says about it (direction, numbers, queue,
//! the agents who took part, times, outcome) and what the agents add (notes, category, the
//! identified client, the data gathered during the call).
//!
//! - **Notes are versioned** (DESK-4): a new note is a new [`NoteVersion`]; old versions are never
//!   changed. Writing a note names the version it amends (`baseVersion`), so two agents cannot
//!   silently overwrite each other ([`ContactError::StaleNote`]).
//! - **CTI projection**: [`record_from_call`] turns a call's state (`cti_state::CallState`) into a
//!   [`ContactRecordUpdate`]; [`ContactRecord::apply_cti`] merges it, idempotently and never
//!   letting an older call state overwrite a newer one ([`CtiProgress`]).
//! - **History**: every record is listed under its owners ([`Owner`]: each agent who took part,
//!   the identified client), newest first; the full-text search matches the folded text
//!   ([`fold`]: case and diacritics insensitive) of the notes, the number and the client's name.
//! - **Who may edit**: an agent who took part in the contact; supervisors and admins any
//!   ([`ContactRecord::may_edit`]).
//!
//! Pure domain code and the store port; no I/O, no AWS types.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

use crate::{
    contacts::{Channel, ContactState},
    cti_state::{CallState, LocalState},
    paging::{Page, PageCursor},
    ports::{StoreError, Versioned},
    problem::FieldError,
    time::{format_rfc3339, to_prague},
};

/// The longest note, in characters (after trimming).
pub const MAX_NOTE_CHARS: usize = 4000;
/// At most this many keys of gathered data (IN-16).
pub const MAX_DATA_KEYS: usize = 50;
/// The longest data key, in characters.
pub const MAX_DATA_KEY_CHARS: usize = 64;
/// The longest data value, in characters.
pub const MAX_DATA_VALUE_CHARS: usize = 2000;
/// The folded note text kept for the search, in characters (the newest notes win).
pub const MAX_SEARCH_CHARS: usize = 16_000;
/// The longest contact id accepted from a client.
pub const MAX_CONTACT_ID_CHARS: usize = 128;
/// `GET /api/desk/recent`: the agent's last contacts.
pub const RECENT_CONTACTS: usize = 10;

/// Who started the contact, from the contact centre's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// A customer called in.
    #[default]
    Inbound,
    /// An agent called an outside number.
    Outbound,
    /// An agent called an extension (another agent, a queue, a line).
    Internal,
}

/// How the contact ended, as the desk shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RecordOutcome {
    /// An agent talked to the customer (`wrapUp`, `done`).
    Handled,
    /// The customer hung up before an agent answered (IVR, queue, ringing).
    Lost,
    /// The call failed (busy, unreachable, rejected).
    Unanswered,
    /// Sent unanswered to a target outside the centre.
    Overflowed,
}

impl RecordOutcome {
    /// The outcome of a contact in `state`; `None` while it goes on.
    pub fn of(state: ContactState) -> Option<Self> {
        use ContactState::*;
        match state {
            WrapUp | Done => Some(Self::Handled),
            AbandonedInIvr | AbandonedInQueue | AbandonedRinging => Some(Self::Lost),
            Unanswered => Some(Self::Unanswered),
            Overflowed => Some(Self::Overflowed),
            Arrived | Ivr | Queued | Offered | Connected | Held | Conferenced | Transferred => None,
        }
    }
}

/// Whole seconds from the answer to the end, when both are known and in order.
fn talk_seconds(answered: Option<DateTime<Utc>>, ended: Option<DateTime<Utc>>) -> Option<u64> {
    match (answered, ended) {
        (Some(answered), Some(ended)) if ended >= answered => {
            u64::try_from((ended - answered).num_seconds()).ok()
        }
        _ => None,
    }
}

/// The contact id of a text conversation's record.
pub fn conversation_contact_id(conversation_id: &str) -> String {
    format!("chat:{conversation_id}")
}

/// One version of a contact's note. Versions are numbered from 1 and never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteVersion {
    pub version: u32,
    pub text: String,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    /// The username of the author.
    pub by: String,
}

/// How far the CTI projection got: the number of events applied to the call and whether its
/// wrap-up ended. A call state only ever grows in both, so a greater progress is a newer state.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct CtiProgress {
    pub events: u64,
    pub done: bool,
}

impl CtiProgress {
    pub fn of(call: &CallState) -> Self {
        Self {
            events: u64::try_from(call.applied_event_ids.len()).unwrap_or(u64::MAX),
            done: call.done_at.is_some(),
        }
    }
}

/// Whose history a record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// An agent who took part (username).
    Agent(String),
    /// The identified client.
    Client(String),
    /// The day (in Prague) the contact started: every record has one, so the nightly ICIS
    /// export (INT-1 b) lists a period day by day without scanning the table.
    Day(NaiveDate),
}

impl Owner {
    /// The index key: `agent#<username>`, `client#<clientId>` or `day#<YYYY-MM-DD>`.
    pub fn key(&self) -> String {
        match self {
            Self::Agent(username) => format!("agent#{username}"),
            Self::Client(client_id) => format!("client#{client_id}"),
            Self::Day(day) => format!("day#{}", day.format("%Y-%m-%d")),
        }
    }

    /// The owner of an index key ([`Owner::key`]); `None` for anything else.
    pub fn parse_key(key: &str) -> Option<Self> {
        let (kind, rest) = key.split_once('#')?;
        if rest.is_empty() {
            return None;
        }
        match kind {
            "agent" => Some(Self::Agent(rest.to_owned())),
            "client" => Some(Self::Client(rest.to_owned())),
            "day" => NaiveDate::parse_from_str(rest, "%Y-%m-%d")
                .ok()
                .filter(|day| day.format("%Y-%m-%d").to_string() == rest)
                .map(Self::Day),
            _ => None,
        }
    }
}

/// One contact as the desk sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactRecord {
    pub contact_id: String,
    pub channel: Channel,
    pub direction: Direction,
    /// The remote party: the caller (inbound) or the number dialled (outbound, internal).
    #[serde(default)]
    pub number: Option<String>,
    /// The number the caller dialled (e.g. the main line `4000`).
    #[serde(default)]
    pub dialled: Option<String>,
    /// The Linka queue the call waited in.
    #[serde(default)]
    pub queue_id: Option<String>,
    /// Usernames of the agents who took part, in order of involvement.
    #[serde(default)]
    pub agents: Vec<String>,
    #[serde(with = "crate::time::rfc3339")]
    pub started_at: DateTime<Utc>,
    #[serde(default, with = "optional_time")]
    pub answered_at: Option<DateTime<Utc>>,
    #[serde(default, with = "optional_time")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Talk time: from the answer to the end, whole seconds; `None` unless both are known.
    #[serde(default)]
    pub duration_seconds: Option<u64>,
    #[serde(default)]
    pub outcome: Option<RecordOutcome>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub category_id: Option<String>,
    /// The latest note version.
    #[serde(default)]
    pub note: Option<NoteVersion>,
    /// Extra information gathered during the contact (IN-16).
    #[serde(default)]
    pub data: BTreeMap<String, String>,
    /// What the IVR collected.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// The call (`<relayId>/<callId>`) the record was projected from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_key: Option<String>,
    /// The newest call state applied ([`ContactRecord::apply_cti`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cti: Option<CtiProgress>,
    /// The folded text of every note version, newest first, at most [`MAX_SEARCH_CHARS`].
    #[serde(default)]
    pub notes_text: String,
    /// A text conversation: the agent holding it now (kept when it ends), for its lifecycle
    /// records (`chat::lifecycle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// A text conversation: when it first waited in a queue.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_time"
    )]
    pub queued_at: Option<DateTime<Utc>>,
}

/// Optional RFC 3339 timestamps in the fixed-width form.
mod optional_time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        instant: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match instant {
            Some(instant) => serializer.serialize_str(&crate::time::format_rfc3339(*instant)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|instant| instant.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

/// The record as the API returns it (`ContactRecord` of the OpenAPI file): without the
/// projection's and the search's bookkeeping.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactRecordView<'a> {
    pub contact_id: &'a str,
    pub channel: Channel,
    pub direction: Direction,
    pub number: Option<&'a str>,
    pub dialled: Option<&'a str>,
    pub queue_id: Option<&'a str>,
    pub agents: &'a [String],
    pub started_at: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_seconds: Option<u64>,
    pub outcome: Option<RecordOutcome>,
    pub client_id: Option<&'a str>,
    pub client_name: Option<&'a str>,
    pub category_id: Option<&'a str>,
    pub note: Option<&'a NoteVersion>,
    pub data: &'a BTreeMap<String, String>,
    pub attributes: &'a BTreeMap<String, String>,
}

/// What a contact record change was refused for.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContactError {
    #[error("the note must have 1 to {MAX_NOTE_CHARS} characters")]
    NoteLength,
    #[error("the note was amended meanwhile: the latest version is {latest:?}")]
    StaleNote { latest: Option<u32> },
    #[error("the gathered data is not valid")]
    Data(Vec<FieldError>),
    #[error("the client id is not valid")]
    ClientId,
    #[error("the category id is not valid")]
    CategoryId,
}

/// The CTI-derived fields of a record, from one call state ([`record_from_call`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecordUpdate {
    pub contact_id: String,
    pub call_key: String,
    pub progress: CtiProgress,
    pub channel: Channel,
    pub direction: Direction,
    pub number: Option<String>,
    pub dialled: Option<String>,
    pub queue_id: Option<String>,
    pub agents: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<RecordOutcome>,
}

/// Extensions are short digit strings; anything longer or with `+` is an outside number.
fn is_extension(number: &str) -> bool {
    (1..=6).contains(&number.len()) && number.chars().all(|c| c.is_ascii_digit())
}

/// The CTI-derived fields of the contact a call carries; `None` when no agent device (a device
/// in `usernames_by_device`) takes or took part in it — ringing, talking or calling out.
/// `queues_by_device` maps PBX queue devices to Linka queue ids (the routing device map).
///
/// Pure and deterministic: the same call state gives the same update.
pub fn record_from_call(
    call: &CallState,
    usernames_by_device: &BTreeMap<String, String>,
    queues_by_device: &BTreeMap<String, String>,
) -> Option<ContactRecordUpdate> {
    let user = |device: &Option<String>| {
        device
            .as_ref()
            .and_then(|device| usernames_by_device.get(device))
            .cloned()
    };
    let caller_agent = user(&call.customer);
    let dialled_agent = user(&call.dialled);
    let direction = match (&caller_agent, &call.dialled) {
        (None, _) => Direction::Inbound,
        (Some(_), Some(dialled)) if dialled_agent.is_none() && !is_extension(dialled) => {
            Direction::Outbound
        }
        (Some(_), _) => Direction::Internal,
    };
    let number = match direction {
        Direction::Inbound => call.customer.clone(),
        Direction::Outbound | Direction::Internal => call.dialled.clone(),
    };
    // Who took part, in order: the caller (outbound), the first to answer, the agent now
    // connected, everyone on the call now.
    let mut devices: Vec<&String> = Vec::new();
    if caller_agent.is_some() {
        devices.extend(call.customer.as_ref());
    }
    devices.extend(call.answered_by.as_ref());
    let handling =
        call.state.is_handling() || matches!(call.state, ContactState::WrapUp | ContactState::Done);
    if handling {
        devices.extend(call.agent_device.as_ref());
    }
    devices.extend(call.connections.iter().filter_map(|(device, state)| {
        matches!(
            state,
            LocalState::Connected | LocalState::Hold | LocalState::Initiated
        )
        .then_some(device)
    }));
    let mut agents: Vec<String> = Vec::new();
    for device in devices {
        if let Some(username) = usernames_by_device.get(device) {
            if !agents.contains(username) {
                agents.push(username.clone());
            }
        }
    }
    let offered = call
        .agent_device
        .iter()
        .chain(call.ringing.keys())
        .chain(call.missed_offers.iter())
        .chain(call.dialled.iter().filter(|_| dialled_agent.is_some()))
        .any(|device| usernames_by_device.contains_key(device));
    if agents.is_empty() && !offered {
        return None;
    }
    let queue_id = call
        .queue
        .as_ref()
        .and_then(|device| queues_by_device.get(device))
        .cloned();
    Some(ContactRecordUpdate {
        contact_id: call.contact_id.clone(),
        call_key: call.call_key.clone(),
        progress: CtiProgress::of(call),
        channel: call.channel,
        direction,
        number,
        dialled: call.dialled.clone(),
        queue_id,
        agents,
        started_at: call.arrived_at,
        answered_at: call.answered_at,
        ended_at: call.ended_at,
        outcome: RecordOutcome::of(call.state),
    })
}

/// Case- and diacritics-insensitive form of a text for the search: NFKD, combining marks
/// dropped, lower case, runs of whitespace as one space, trimmed (`"Nováková  JANA"` →
/// `"novakova jana"`).
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_whitespace() {
            space = !folded.is_empty();
            continue;
        }
        if space {
            folded.push(' ');
            space = false;
        }
        folded.extend(c.to_lowercase());
    }
    folded
}

/// The first `max` characters of `text`.
fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// A contact id as the CTI makes them (`prg-1:1:42`): 1 to [`MAX_CONTACT_ID_CHARS`] of
/// `A–Z a–z 0–9 : . _ -`.
pub fn is_valid_contact_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_CONTACT_ID_CHARS
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-'))
}

/// The note text as stored: trimmed, 1 to [`MAX_NOTE_CHARS`] characters.
pub fn valid_note(text: &str) -> Result<String, ContactError> {
    let text = text.trim();
    let length = text.chars().count();
    if length == 0 || length > MAX_NOTE_CHARS {
        return Err(ContactError::NoteLength);
    }
    Ok(text.to_owned())
}

/// Gathered data (IN-16) as stored: keys trimmed, 1 to [`MAX_DATA_KEY_CHARS`] characters
/// without control characters; values at most [`MAX_DATA_VALUE_CHARS`]; at most
/// [`MAX_DATA_KEYS`] keys. Every problem is reported (field `data.<key>`).
pub fn valid_data(
    data: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ContactError> {
    let mut errors = Vec::new();
    if data.len() > MAX_DATA_KEYS {
        errors.push(FieldError::new(
            "data",
            format!("must have at most {MAX_DATA_KEYS} keys"),
        ));
    }
    let mut valid = BTreeMap::new();
    for (key, value) in data {
        let trimmed = key.trim();
        let field = format!("data.{}", truncate_chars(trimmed, MAX_DATA_KEY_CHARS));
        let key_length = trimmed.chars().count();
        if key_length == 0
            || key_length > MAX_DATA_KEY_CHARS
            || trimmed.chars().any(char::is_control)
        {
            errors.push(FieldError::new(
                field,
                format!(
                    "the key must have 1 to {MAX_DATA_KEY_CHARS} characters, no control characters"
                ),
            ));
            continue;
        }
        if value.chars().count() > MAX_DATA_VALUE_CHARS {
            errors.push(FieldError::new(
                field,
                format!("must have at most {MAX_DATA_VALUE_CHARS} characters"),
            ));
            continue;
        }
        if valid.insert(trimmed.to_owned(), value.clone()).is_some() {
            errors.push(FieldError::new(field, "the key is given twice"));
        }
    }
    if errors.is_empty() {
        Ok(valid)
    } else {
        Err(ContactError::Data(errors))
    }
}

impl ContactRecord {
    /// A new record from the CTI projection.
    pub fn from_update(update: &ContactRecordUpdate) -> Self {
        let mut record = Self::blank(&update.contact_id, update.channel, update.started_at);
        record.direction = update.direction;
        record.apply_cti(update);
        record
    }

    /// A record with nothing known but its id, channel and start.
    fn blank(contact_id: &str, channel: Channel, started_at: DateTime<Utc>) -> Self {
        Self {
            contact_id: contact_id.to_owned(),
            channel,
            direction: Direction::Inbound,
            number: None,
            dialled: None,
            queue_id: None,
            agents: Vec::new(),
            started_at,
            answered_at: None,
            ended_at: None,
            duration_seconds: None,
            outcome: None,
            client_id: None,
            client_name: None,
            category_id: None,
            note: None,
            data: BTreeMap::new(),
            attributes: BTreeMap::new(),
            call_key: None,
            cti: None,
            notes_text: String::new(),
            holder: None,
            queued_at: None,
        }
    }

    /// Merges the CTI-derived fields of `update`; `true` when anything changed. A call state
    /// older than the one applied last changes nothing but adds agents not known yet; applying
    /// the same update twice changes nothing the second time.
    pub fn apply_cti(&mut self, update: &ContactRecordUpdate) -> bool {
        let before = self.clone();
        for agent in &update.agents {
            if !self.agents.contains(agent) {
                self.agents.push(agent.clone());
            }
        }
        if self.cti.is_none_or(|applied| update.progress >= applied) {
            self.channel = update.channel;
            self.direction = update.direction;
            self.number.clone_from(&update.number);
            self.dialled.clone_from(&update.dialled);
            if update.queue_id.is_some() {
                self.queue_id.clone_from(&update.queue_id);
            }
            self.started_at = update.started_at;
            self.answered_at = update.answered_at;
            self.ended_at = update.ended_at;
            self.duration_seconds = talk_seconds(update.answered_at, update.ended_at);
            self.outcome = update.outcome;
            self.call_key = Some(update.call_key.clone());
            self.cti = Some(update.progress);
        }
        *self != before
    }

    /// A new record of a text conversation (issue 7): the same history, notes and categories as
    /// calls (DESK-4/5/10).
    pub fn from_conversation(conversation: &crate::chat::Conversation) -> Self {
        let mut record = Self::blank(
            &conversation_contact_id(&conversation.conversation_id),
            Channel::Chat,
            conversation.created_at,
        );
        record.apply_conversation(conversation);
        record
    }

    /// Merges what a text conversation says now: its channel and customer address, queue, every
    /// agent who held or was invited into it (they may then edit the record), when an agent
    /// first had it, its end and outcome (handled if an agent had it, else lost). `true` when
    /// anything changed.
    pub fn apply_conversation(&mut self, conversation: &crate::chat::Conversation) -> bool {
        use crate::chat::{ChatChannel, ConversationStatus};
        let before = self.clone();
        self.channel = match conversation.channel {
            ChatChannel::Web => Channel::Chat,
            ChatChannel::Sms => Channel::Sms,
            ChatChannel::Email => Channel::Email,
            ChatChannel::Social => Channel::Social,
        };
        // Opened by an agent (an SMS or e-mail from the desk) or by the customer.
        let by_agent = conversation.channel != ChatChannel::Web
            && conversation
                .started_by
                .as_deref()
                .is_some_and(|starter| !starter.contains(':'));
        self.direction = if by_agent {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        let customer = &conversation.customer;
        self.number = match conversation.channel {
            ChatChannel::Sms => customer.phone.clone(),
            ChatChannel::Email => customer.email.clone(),
            ChatChannel::Social => conversation.social.as_ref().map(|s| s.user_id.clone()),
            ChatChannel::Web => customer.email.clone().or_else(|| customer.phone.clone()),
        };
        if conversation.queue_id.is_some() {
            self.queue_id.clone_from(&conversation.queue_id);
        }
        match conversation.status {
            ConversationStatus::Assigned => self.holder.clone_from(&conversation.agent),
            ConversationStatus::Queued => {
                self.holder = None;
                if self.queued_at.is_none() {
                    self.queued_at = Some(conversation.updated_at);
                }
            }
            ConversationStatus::Bot | ConversationStatus::Ended => {}
        }
        for agent in conversation.agent.iter().chain(conversation.invited.iter()) {
            if !self.agents.contains(agent) {
                self.agents.push(agent.clone());
            }
        }
        if self.answered_at.is_none() && conversation.agent.is_some() {
            self.answered_at = Some(conversation.updated_at);
        }
        if self.client_name.is_none() {
            self.client_name.clone_from(&customer.name);
        }
        if conversation.status == ConversationStatus::Ended {
            self.ended_at = conversation.ended_at;
            self.outcome = Some(if self.agents.is_empty() {
                RecordOutcome::Lost
            } else {
                RecordOutcome::Handled
            });
            self.duration_seconds = talk_seconds(self.answered_at, self.ended_at);
        }
        *self != before
    }

    /// Takes what the IVR collected; an empty map (IVR data expired or none) clears nothing.
    /// `true` when anything changed.
    pub fn set_attributes(&mut self, attributes: &BTreeMap<String, String>) -> bool {
        if attributes.is_empty() || self.attributes == *attributes {
            return false;
        }
        self.attributes.clone_from(attributes);
        true
    }

    /// The agent `username` may change the record: they took part, or `supervisor` (a
    /// supervisor or an admin may change any record).
    pub fn may_edit(&self, username: &str, supervisor: bool) -> bool {
        supervisor || self.agents.iter().any(|agent| agent == username)
    }

    /// Whose history lists the record: the agents, the client, and the day it started.
    pub fn owners(&self) -> Vec<Owner> {
        self.agents
            .iter()
            .cloned()
            .map(Owner::Agent)
            .chain(self.client_id.clone().map(Owner::Client))
            .chain([Owner::Day(to_prague(self.started_at).date_naive())])
            .collect()
    }

    /// The index sort key: `<startedAt>#<contactId>` (fixed-width time, so newest sorts last).
    pub fn owner_sort(&self) -> String {
        format!("{}#{}", format_rfc3339(self.started_at), self.contact_id)
    }

    /// The folded text the history search matches: number, client name, notes.
    pub fn search_text(&self) -> String {
        [
            self.number.as_deref().map(fold),
            self.client_name.as_deref().map(fold),
            Some(self.notes_text.clone()),
        ]
        .into_iter()
        .flatten()
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
    }

    /// `query` (folded) occurs in the search text.
    pub fn matches(&self, folded_query: &str) -> bool {
        folded_query.is_empty() || self.search_text().contains(folded_query)
    }

    /// A new note version amending `base_version` (`None`: the first note). Returns the version
    /// to store; the record's latest note becomes it.
    pub fn add_note(
        &mut self,
        text: &str,
        base_version: Option<u32>,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<NoteVersion, ContactError> {
        let text = valid_note(text)?;
        let latest = self.note.as_ref().map(|note| note.version);
        if base_version != latest {
            return Err(ContactError::StaleNote { latest });
        }
        let note = NoteVersion {
            version: latest.unwrap_or(0) + 1,
            text,
            // Stored with millisecond precision: the same value as read back.
            at: at.trunc_subsecs(3),
            by: by.to_owned(),
        };
        let folded = fold(&note.text);
        let combined = if self.notes_text.is_empty() {
            folded
        } else {
            format!("{folded} | {}", self.notes_text)
        };
        self.notes_text = truncate_chars(&combined, MAX_SEARCH_CHARS).to_owned();
        self.note = Some(note.clone());
        Ok(note)
    }

    /// Sets the category (DESK-10; the caller checked that it exists and is active).
    pub fn set_category(&mut self, category_id: &str) -> Result<(), ContactError> {
        if !crate::admin_config::is_valid_config_id(category_id) {
            return Err(ContactError::CategoryId);
        }
        self.category_id = Some(category_id.to_owned());
        Ok(())
    }

    /// Sets the identified client (the person the agent picked) and their display name.
    pub fn set_client(
        &mut self,
        client_id: &str,
        name: Option<String>,
    ) -> Result<(), ContactError> {
        if !crate::clients::is_valid_client_id(client_id) {
            return Err(ContactError::ClientId);
        }
        self.client_id = Some(client_id.to_owned());
        self.client_name = name;
        Ok(())
    }

    /// Replaces the gathered data (IN-16).
    pub fn set_data(&mut self, data: &BTreeMap<String, String>) -> Result<(), ContactError> {
        self.data = valid_data(data)?;
        Ok(())
    }

    /// The API form.
    pub fn view(&self) -> ContactRecordView<'_> {
        ContactRecordView {
            contact_id: &self.contact_id,
            channel: self.channel,
            direction: self.direction,
            number: self.number.as_deref(),
            dialled: self.dialled.as_deref(),
            queue_id: self.queue_id.as_deref(),
            agents: &self.agents,
            started_at: format_rfc3339(self.started_at),
            answered_at: self.answered_at.map(format_rfc3339),
            ended_at: self.ended_at.map(format_rfc3339),
            duration_seconds: self.duration_seconds,
            outcome: self.outcome,
            client_id: self.client_id.as_deref(),
            client_name: self.client_name.as_deref(),
            category_id: self.category_id.as_deref(),
            note: self.note.as_ref(),
            data: &self.data,
            attributes: &self.attributes,
        }
    }
}

/// Sorts records newest first (start time, then contact id, both descending).
pub fn sort_newest_first(records: &mut [ContactRecord]) {
    records.sort_by_key(|record| std::cmp::Reverse(record.owner_sort()));
}

// ---------------------------------------------------------------------------------------------
// The store port
// ---------------------------------------------------------------------------------------------

/// One atomic write of a record: the record at its next version, its index entries, and
/// optionally a new note version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactWrite {
    /// The record and the version it was read at (0: a new record).
    pub record: Versioned<ContactRecord>,
    /// Owners the record had when read and no longer has (their index entries go).
    pub removed_owners: Vec<Owner>,
    /// A new note version (stored only if that version does not exist yet).
    pub note: Option<NoteVersion>,
}

impl ContactWrite {
    /// The write that turns `before` (as read, `None` when new) into `after`.
    pub fn of(before: Option<&Versioned<ContactRecord>>, after: ContactRecord) -> Self {
        let (version, removed_owners) = match before {
            Some(before) => {
                let owners = after.owners();
                (
                    before.version,
                    before
                        .value
                        .owners()
                        .into_iter()
                        .filter(|owner| !owners.contains(owner))
                        .collect(),
                )
            }
            None => (0, Vec::new()),
        };
        Self {
            record: Versioned {
                value: after,
                version,
            },
            removed_owners,
            note: None,
        }
    }

    pub fn with_note(mut self, note: NoteVersion) -> Self {
        self.note = Some(note);
        self
    }
}

/// A contact record write was not stored (nothing of it was).
#[derive(Debug, Error)]
pub enum ContactWriteError {
    /// Version 0 and the record exists, another writer changed it since it was read, or the
    /// note version exists: read again.
    #[error("the contact record changed since it was read (or already exists)")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A history listing: one owner's records, newest first (or oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    pub owner: Owner,
    /// Only records started at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Only records started at or before this.
    pub to: Option<DateTime<Utc>>,
    /// Only records whose search text contains this ([`fold`]ed, non-empty).
    pub text: Option<String>,
    /// Only records of these channels (empty: every channel).
    pub channels: Vec<Channel>,
    /// Oldest first (the export) instead of newest first (the desk's histories).
    pub oldest_first: bool,
    /// Page size, 1 to 100.
    pub limit: usize,
    pub cursor: Option<PageCursor>,
}

/// `ContactsTable`: records by contact id, their note versions, and the owners' histories.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ContactRecordStore: Send + Sync {
    /// One record, or `None`.
    async fn get(&self, contact_id: &str) -> Result<Option<Versioned<ContactRecord>>, StoreError>;
    /// Every note version of the record, oldest first.
    async fn notes(&self, contact_id: &str) -> Result<Vec<NoteVersion>, StoreError>;
    /// Stores the write atomically, if the record is still at the version read.
    async fn save(&self, write: &ContactWrite) -> Result<(), ContactWriteError>;
    /// One page of an owner's history, newest first (oldest first if the query says so).
    async fn history(&self, query: &HistoryQuery) -> Result<Page<ContactRecord>, StoreError>;
}

pub mod export;

#[cfg(test)]
mod tests;
