//! Voicemail (hlasová schránka, issue 5 item 5): messages callers leave in the IVR for a queue,
//! and how the queue's agents work them.
//!
//! Pure domain code: no I/O, no AWS types, no clock (`now` is a parameter). The IVR runtime,
//! storage and the API apply these transitions and persist the result (with a conditional write
//! on the version read, so that two agents racing for one message cannot both win).
//!
//! # Recording
//!
//! When the IVR reaches a `voicemail` node it plays the greeting and has the PBX's IVR port
//! record the caller to a presigned S3 PUT URL for [`voicemail_audio_key`]; when the relay
//! reports the object stored, the runtime makes the record with [`Voicemail::from_recording`].
//! The id is derived from the call key ([`voicemail_id`]), so a redelivered report makes the same
//! record (storing it again is a version-0 conflict, not a second message).
//!
//! # Life
//!
//! ```text
//!  new ──assign──► assigned ──markDone──► done
//!   ▲                 │  ▲
//!   └────release──────┘  └─assign (a supervisor reassigns)
//!  new ──markDone──────────────────────► done
//! ```
//!
//! - Agents assign a message to themselves; assigning someone else, taking over a message
//!   assigned to another agent, releasing it or marking it done for them needs `may_override`
//!   (a supervisor or admin: the API decides).
//! - `done` is terminal: every transition from it is refused ([`VoicemailError::Done`]); only
//!   notes may still be added (notes are history, not a transition).
//!
//! # Order
//!
//! The agent's list ([`sort_for_agent_list`]): new messages first (oldest recording first),
//! then assigned ones (oldest first), then done ones (latest done first).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::identifiers::normalize_czech_phone;

#[cfg(test)]
mod tests;

/// At most this many characters in one note.
pub const MAX_NOTE_CHARS: usize = 2000;
/// At most this many attributes collected by the IVR.
pub const MAX_ATTRIBUTES: usize = 32;
/// At most this many characters in an attribute name.
pub const MAX_ATTRIBUTE_NAME_CHARS: usize = 64;
/// At most this many characters in an attribute value.
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 500;
/// At most this many characters in a call key, an audio key or a caller number.
pub const MAX_KEY_CHARS: usize = 256;
/// A caller number longer than this is not kept.
pub const MAX_CALLER_CHARS: usize = 32;

/// Namespace of voicemail ids derived from the call key.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x5d1e_93a0_7c42_4b8f_a1e6_0f3b_92c4_d718);

/// The id of the voicemail left in the call `call_key` (the relay's call id): a UUID v5, the
/// same for the same call.
pub fn voicemail_id(call_key: &str) -> String {
    Uuid::new_v5(&ID_NAMESPACE, call_key.as_bytes()).to_string()
}

/// The S3 key the recording of the call `call_key` for the queue `queue_id` is uploaded to:
/// `voicemail/{queueId}/{id}.wav`, where `id` is [`voicemail_id`].
pub fn voicemail_audio_key(queue_id: &str, call_key: &str) -> String {
    format!("voicemail/{queue_id}/{}.wav", voicemail_id(call_key))
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// Where a voicemail is in its life. Flattened into [`Voicemail`]: `"status":"assigned"` with
/// `agent`, `assignedAt` and `assignedBy` beside it; `"status":"done"` with `doneBy`, `doneAt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "status",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum VoicemailStatus {
    /// Nobody has taken it yet.
    New,
    /// An agent is working it.
    Assigned {
        agent: String,
        #[serde(with = "crate::time::rfc3339")]
        assigned_at: DateTime<Utc>,
        /// The agent themselves, or the supervisor who assigned it.
        assigned_by: String,
    },
    /// Settled (the caller was called back, or nothing is to be done).
    Done {
        done_by: String,
        #[serde(with = "crate::time::rfc3339")]
        done_at: DateTime<Utc>,
    },
}

impl VoicemailStatus {
    /// The camelCase name used on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Assigned { .. } => "assigned",
            Self::Done { .. } => "done",
        }
    }

    /// `done`: nothing follows but notes.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Done { .. })
    }
}

/// A note on a voicemail (poznámka).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoicemailNote {
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub by: String,
    pub text: String,
}

/// A message a caller left for a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Voicemail {
    /// [`voicemail_id`] of `callKey`.
    pub id: String,
    pub queue_id: String,
    /// The relay's call id of the call the message was left in.
    pub call_key: String,
    /// The caller's number: E.164 when it is a Czech number, else as the PBX gave it; `None`
    /// when withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// When the recording was stored (the end of the message).
    #[serde(with = "crate::time::rfc3339")]
    pub recorded_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// The S3 key of the WAV recording.
    pub audio_key: String,
    /// What the IVR collected before (`problem`, `insuranceNumber`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    #[serde(flatten)]
    pub status: VoicemailStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<VoicemailNote>,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// Why a voicemail operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VoicemailError {
    #[error("the call key must have 1 to {MAX_KEY_CHARS} characters")]
    CallKey,
    #[error("the queue id is not valid")]
    QueueId,
    #[error("the audio key must have 1 to {MAX_KEY_CHARS} characters")]
    AudioKey,
    #[error("the attribute {name:?} is not valid (at most {MAX_ATTRIBUTES} attributes, names of 1 to {MAX_ATTRIBUTE_NAME_CHARS} and values of at most {MAX_ATTRIBUTE_VALUE_CHARS} characters)")]
    Attribute { name: String },
    #[error("the agent must not be empty")]
    Agent,
    #[error("the note must have 1 to {MAX_NOTE_CHARS} characters")]
    Note,
    #[error("the voicemail is done and cannot change any more")]
    Done,
    #[error("the voicemail is assigned to {agent}")]
    AssignedTo { agent: String },
    #[error("the voicemail is not assigned")]
    NotAssigned,
    #[error("only a supervisor may assign a voicemail to someone else")]
    NotAllowed,
}

// ---------------------------------------------------------------------------------------------
// Creation and transitions
// ---------------------------------------------------------------------------------------------

fn check_note(text: &str) -> Result<(), VoicemailError> {
    let chars = text.trim().chars().count();
    if chars == 0 || text.chars().count() > MAX_NOTE_CHARS {
        Err(VoicemailError::Note)
    } else {
        Ok(())
    }
}

fn check_key(value: &str) -> bool {
    !value.trim().is_empty() && value.chars().count() <= MAX_KEY_CHARS
}

fn check_attributes(attributes: &BTreeMap<String, String>) -> Result<(), VoicemailError> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(VoicemailError::Attribute {
            name: attributes
                .keys()
                .nth(MAX_ATTRIBUTES)
                .cloned()
                .unwrap_or_default(),
        });
    }
    match attributes.iter().find(|(name, value)| {
        name.trim().is_empty()
            || name.chars().count() > MAX_ATTRIBUTE_NAME_CHARS
            || value.chars().count() > MAX_ATTRIBUTE_VALUE_CHARS
    }) {
        Some((name, _)) => Err(VoicemailError::Attribute { name: name.clone() }),
        None => Ok(()),
    }
}

/// The caller as kept: E.164 for a Czech number, else the trimmed text; `None` when empty,
/// too long or not printable.
fn caller_number(caller: Option<&str>) -> Option<String> {
    let caller = caller?.trim();
    if caller.is_empty()
        || caller.chars().count() > MAX_CALLER_CHARS
        || caller.chars().any(char::is_control)
    {
        return None;
    }
    Some(normalize_czech_phone(caller).unwrap_or_else(|_| caller.to_owned()))
}

impl Voicemail {
    /// The record of a message the PBX recorded and the relay stored at `audio_key`
    /// (`RecordingStored`), for the queue whose mailbox the IVR's voicemail node names. `new`,
    /// recorded at `now`, with the id [`voicemail_id`] of `call_key`.
    pub fn from_recording(
        call_key: &str,
        queue_id: &str,
        caller: Option<&str>,
        attributes: BTreeMap<String, String>,
        audio_key: &str,
        duration_ms: u64,
        now: DateTime<Utc>,
    ) -> Result<Self, VoicemailError> {
        if !check_key(call_key) {
            return Err(VoicemailError::CallKey);
        }
        if !crate::admin_config::is_valid_config_id(queue_id) {
            return Err(VoicemailError::QueueId);
        }
        if !check_key(audio_key) {
            return Err(VoicemailError::AudioKey);
        }
        check_attributes(&attributes)?;
        Ok(Self {
            id: voicemail_id(call_key),
            queue_id: queue_id.to_owned(),
            call_key: call_key.to_owned(),
            caller: caller_number(caller),
            recorded_at: now,
            duration_ms,
            audio_key: audio_key.to_owned(),
            attributes,
            status: VoicemailStatus::New,
            notes: Vec::new(),
            created_at: now,
            updated_at: now,
        })
    }

    /// Not done: new or assigned.
    pub fn is_active(&self) -> bool {
        !self.status.is_terminal()
    }

    /// The agent it is assigned to, if any.
    pub fn assignee(&self) -> Option<&str> {
        match &self.status {
            VoicemailStatus::Assigned { agent, .. } => Some(agent),
            _ => None,
        }
    }

    /// When it was done, if it is.
    pub fn done_at(&self) -> Option<DateTime<Utc>> {
        match &self.status {
            VoicemailStatus::Done { done_at, .. } => Some(*done_at),
            _ => None,
        }
    }

    fn refuse_done(&self) -> Result<(), VoicemailError> {
        if self.status.is_terminal() {
            Err(VoicemailError::Done)
        } else {
            Ok(())
        }
    }

    /// Refused when assigned to someone other than `by` and `by` may not override.
    fn refuse_other_assignee(&self, by: &str, may_override: bool) -> Result<(), VoicemailError> {
        match self.assignee() {
            Some(agent) if agent != by && !may_override => Err(VoicemailError::AssignedTo {
                agent: agent.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// `by` assigns the message to `agent` (themselves, or, with `may_override`, someone else).
    /// A message assigned to another agent is taken over only with `may_override`; assigning it
    /// again to its assignee changes nothing.
    pub fn assign(
        &mut self,
        agent: &str,
        by: &str,
        may_override: bool,
        now: DateTime<Utc>,
    ) -> Result<(), VoicemailError> {
        self.refuse_done()?;
        if agent.trim().is_empty() || by.trim().is_empty() {
            return Err(VoicemailError::Agent);
        }
        if agent != by && !may_override {
            return Err(VoicemailError::NotAllowed);
        }
        if self.assignee() == Some(agent) {
            return Ok(());
        }
        self.refuse_other_assignee(by, may_override)?;
        self.status = VoicemailStatus::Assigned {
            agent: agent.to_owned(),
            assigned_at: now,
            assigned_by: by.to_owned(),
        };
        self.updated_at = now;
        Ok(())
    }

    /// The assignee (or, with `may_override`, a supervisor) gives the message back: new again.
    pub fn release(
        &mut self,
        by: &str,
        may_override: bool,
        now: DateTime<Utc>,
    ) -> Result<(), VoicemailError> {
        self.refuse_done()?;
        if self.assignee().is_none() {
            return Err(VoicemailError::NotAssigned);
        }
        self.refuse_other_assignee(by, may_override)?;
        self.status = VoicemailStatus::New;
        self.updated_at = now;
        Ok(())
    }

    /// Settles the message. A new one: anyone of the queue; an assigned one: its assignee, or
    /// with `may_override` a supervisor.
    pub fn mark_done(
        &mut self,
        by: &str,
        may_override: bool,
        now: DateTime<Utc>,
    ) -> Result<(), VoicemailError> {
        self.refuse_done()?;
        if by.trim().is_empty() {
            return Err(VoicemailError::Agent);
        }
        self.refuse_other_assignee(by, may_override)?;
        self.status = VoicemailStatus::Done {
            done_by: by.to_owned(),
            done_at: now,
        };
        self.updated_at = now;
        Ok(())
    }

    /// Adds a note (also on a done message: notes are history, not a transition).
    pub fn add_note(
        &mut self,
        by: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(), VoicemailError> {
        check_note(text)?;
        if by.trim().is_empty() {
            return Err(VoicemailError::Agent);
        }
        self.notes.push(VoicemailNote {
            at: now,
            by: by.to_owned(),
            text: text.to_owned(),
        });
        self.updated_at = now;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------------------------

/// The agent's list order: new first (oldest recording first), then assigned (oldest recording
/// first), then done (latest done first); ties by id.
pub fn agent_list_order(a: &Voicemail, b: &Voicemail) -> Ordering {
    fn group(voicemail: &Voicemail) -> u8 {
        match voicemail.status {
            VoicemailStatus::New => 0,
            VoicemailStatus::Assigned { .. } => 1,
            VoicemailStatus::Done { .. } => 2,
        }
    }
    let (ga, gb) = (group(a), group(b));
    ga.cmp(&gb)
        .then_with(|| match ga {
            2 => b.done_at().cmp(&a.done_at()),
            _ => a.recorded_at.cmp(&b.recorded_at),
        })
        .then_with(|| a.id.cmp(&b.id))
}

/// Sorts voicemails for the agent's list ([`agent_list_order`]).
pub fn sort_for_agent_list(voicemails: &mut [Voicemail]) {
    voicemails.sort_by(agent_list_order);
}
