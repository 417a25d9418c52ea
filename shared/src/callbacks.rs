//! The callback queue (zpětné volání, IN-11, IN-22, DESK-13): callback requests, their life, the
//! retry policy, the merge of repeated missed calls, the order agents and routing serve them in,
//! and the time slots a caller may choose in the IVR.
//!
//! Pure domain code: no I/O, no AWS types, no clock (`now` is a parameter). Storage, the API and
//! the worker apply these transitions and persist the result (with a conditional write on
//! `updatedAt` or the status, so that two agents racing for one callback cannot both win).
//!
//! # Sources
//!
//! A [`Callback`] comes from the IVR (the caller asked for it, optionally for a time slot they
//! chose, [`offer_slots`]), from an agent, or from a lost inbound call ([`on_lost_call`]: an
//! abandoned contact, [`crate::contacts::ContactResult::Abandoned`], in one of the policy's
//! [`LostPhase`]s). A callback keeps the original call's place: `enteredAt` is when the original
//! call entered the system and [`Callback::rank`] is the same order as
//! [`crate::routing::WaitingCall::rank`] (priority, then `enteredAt`, then id), so both ranks
//! compare directly.
//!
//! # Life
//!
//! ```text
//!  pending ──claim──► inProgress ──attempt answered / markDone──► done
//!  scheduled ─(due)─┘     │  ├──attempt noAnswer/busy (limit not reached)──► pending (due after the spacing)
//!     ▲                   │  ├──attempt noAnswer/busy (limit reached) ─────► failed
//!     └──reschedule───────┤  ├──attempt wrongNumber ───────────────────────► failed
//!                         │  ├──attempt cancelled / cancel ────────────────► cancelled
//!                         └──release, or the claim expires ───────────────► (open again)
//! ```
//!
//! - **Open** statuses are `pending` (due at [`Callback::due_at`]: at once, or after the retry
//!   spacing) and `scheduled` (a chosen time: due when its slot starts). `inProgress` carries the
//!   agent and the claim's expiry ([`CallbackPolicy::claim_minutes`]); after it expires another
//!   agent (or the same one) may claim the callback again, and until then the claiming agent may
//!   still record the attempt.
//! - `done`, `failed` and `cancelled` are terminal: every transition from them is refused
//!   ([`CallbackError::Closed`]); only notes may still be added.
//! - The attempt limit ([`CallbackPolicy::max_attempts`]) counts the attempts since the callback
//!   was created or last rescheduled (a reschedule is a new agreement with the client).
//! - To reschedule at the client's request during a call, call [`Callback::reschedule`] instead
//!   of recording an `answered` attempt (which closes the callback).
//! - An agent holds at most one active claim: [`claim_in`] checks the agent's other callbacks.
//!
//! # Order
//!
//! [`is_due`](Callback::is_due): open and `dueAt <= now`, or in progress with an expired claim.
//! Routing takes the best-ranked due callback ([`next_due`]); the agent's list
//! ([`sort_for_agent_list`]) shows the due ones first by rank, then the others by the time they
//! become due (a scheduled callback when its slot starts), then those in progress, then the
//! closed ones (latest first).
//!
//! # Slots (IN-11)
//!
//! [`offer_slots`] cuts every opening interval of the queue's [`QueueSchedule`] (Europe/Prague,
//! Czech public holidays, dated exceptions: [`QueueSchedule::intervals_on`]) into slots of
//! [`SlotOptions::slot_minutes`] from the interval's start; a slot must lie wholly inside the
//! interval, start at least [`SlotOptions::lead_minutes`] after `now` and before `now` plus the
//! look-ahead, and have room (`booked < capacity`). Interval boundaries are resolved to UTC as
//! in [`crate::queues`] (a time in the spring gap moves to the end of the gap, a repeated autumn
//! time takes the earlier instant), and slots step in real time, so a slot is always
//! `slot_minutes` long, also across a DST change. [`check_slot`] says whether a requested slot is
//! one of those offered, and if not, why.

use std::cmp::{Ordering, Reverse};

use chrono::{DateTime, NaiveDate, TimeDelta, Timelike, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::contacts::{ContactOutcome, ContactResult, LostPhase};
use crate::identifiers::{normalize_czech_phone, PhoneError};
use crate::problem::FieldError;
use crate::queues::QueueSchedule;
use crate::time::PRAGUE;

#[cfg(test)]
mod tests;

/// The `createdBy` of callbacks the IVR creates.
pub const CREATED_BY_IVR: &str = "ivr";

/// The `createdBy` of callbacks created from lost calls.
pub const CREATED_BY_SYSTEM: &str = "system";

/// At most this many characters in one note.
pub const MAX_NOTE_CHARS: usize = 2000;

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// Where a callback request came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum CallbackSource {
    /// The caller asked for it in the IVR (IN-11).
    Ivr,
    /// An agent created it (DESK-13).
    Agent,
    /// A lost inbound call (IN-22): the contact id of the (first) lost call.
    MissedCall { contact_id: String },
}

/// A time window `[start, end)` for a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    #[serde(with = "crate::time::rfc3339")]
    pub start: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    pub end: DateTime<Utc>,
}

impl Slot {
    /// A slot; `None` unless `start < end`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Self> {
        (start < end).then_some(Self { start, end })
    }

    /// Whether the two windows share an instant.
    pub fn overlaps(&self, other: &Slot) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// How one attempt to call back ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttemptOutcome {
    /// Rang, nobody answered: retried after the spacing, until the limit.
    NoAnswer,
    /// Busy: retried like `noAnswer`.
    Busy,
    /// The client was reached: the callback is done.
    Answered,
    /// Not the client's number: the callback failed.
    WrongNumber,
    /// The client no longer wants the callback: cancelled.
    Cancelled,
}

/// One attempt to call the client back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub agent: String,
    pub outcome: AttemptOutcome,
}

/// A note on a callback (poznámka).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackNote {
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub by: String,
    pub text: String,
}

/// A lost call merged into an existing open callback ([`on_lost_call`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergedCall {
    pub contact_id: String,
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
}

/// Where a callback is in its life. Flattened into [`Callback`]: `"status":"inProgress"` with
/// `agent`, `claimedAt` and `claimExpiresAt` beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "status",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum CallbackStatus {
    /// Waiting to be called: due at `dueAt` (at once, or after the retry spacing).
    Pending,
    /// Waiting for a chosen time: due when `requestedSlot` starts (`dueAt`).
    Scheduled,
    /// Claimed by an agent who is calling the client.
    InProgress {
        agent: String,
        #[serde(with = "crate::time::rfc3339")]
        claimed_at: DateTime<Utc>,
        /// After this instant the claim no longer holds (another agent may claim).
        #[serde(with = "crate::time::rfc3339")]
        claim_expires_at: DateTime<Utc>,
    },
    /// The client was reached (or the request was settled otherwise).
    Done,
    /// Given up: the attempt limit was reached, or the number is wrong.
    Failed,
    /// Withdrawn by the client or by a supervisor/agent.
    Cancelled,
}

impl CallbackStatus {
    /// The camelCase name used on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scheduled => "scheduled",
            Self::InProgress { .. } => "inProgress",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// `done`, `failed`, `cancelled`: nothing follows.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Cancelled)
    }

    /// `pending` or `scheduled`: waiting to be claimed.
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Pending | Self::Scheduled)
    }
}

/// A callback request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    pub id: String,
    pub queue_id: String,
    /// The number to call, E.164 (`+420601123456`).
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    pub source: CallbackSource,
    /// When the original call entered the system (the callback's place in the queue); the
    /// creation time for callbacks an agent creates without a call.
    #[serde(with = "crate::time::rfc3339")]
    pub entered_at: DateTime<Utc>,
    /// Higher first, as for waiting calls.
    pub priority: u8,
    /// The time the client chose (IVR) or agreed (reschedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_slot: Option<Slot>,
    /// When the callback is (or becomes) due while open: creation, slot start, or the last
    /// attempt plus the retry spacing.
    #[serde(with = "crate::time::rfc3339")]
    pub due_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// How many of `attempts` preceded the last reschedule (they do not count to the limit).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts_before_reschedule: u32,
    #[serde(flatten)]
    pub status: CallbackStatus,
    /// Later lost calls from the same number merged into this callback.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_calls: Vec<MergedCall>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<CallbackNote>,
    /// A username, [`CREATED_BY_IVR`] or [`CREATED_BY_SYSTEM`].
    pub created_by: String,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// When the callback became `done`, `failed` or `cancelled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it (agent, or [`CREATED_BY_SYSTEM`] for the attempt limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// The retry policy of one queue's callbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CallbackPolicy {
    /// Unanswered attempts (no answer, busy) before the callback fails.
    pub max_attempts: u32,
    /// Minutes between attempts.
    pub retry_spacing_minutes: u32,
    /// How long an agent's claim holds.
    pub claim_minutes: u32,
    /// Whether lost inbound calls create callbacks (IN-22).
    pub auto_from_missed_calls: bool,
    /// Which lost calls count (where the caller hung up).
    pub missed_call_phases: Vec<LostPhase>,
    /// A lost call from a number with an open callback in the same queue created or merged
    /// within this many minutes is merged into it.
    pub dedup_window_minutes: u32,
}

impl Default for CallbackPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            retry_spacing_minutes: 15,
            claim_minutes: 10,
            auto_from_missed_calls: true,
            missed_call_phases: LostPhase::ALL.to_vec(),
            dedup_window_minutes: 24 * 60,
        }
    }
}

/// A queue's callback settings (part of its routing settings, `queueRouting/{queueId}`):
/// the retry policy, the slots offered to callers in the IVR, and how many callbacks one slot
/// takes per agent who is a member of the queue (the staffing the slot can serve).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct QueueCallbackSettings {
    pub policy: CallbackPolicy,
    pub slots: SlotOptions,
    /// Callbacks one slot may take per member agent of the queue.
    pub per_agent_per_slot: u32,
}

impl Default for QueueCallbackSettings {
    fn default() -> Self {
        Self {
            policy: CallbackPolicy::default(),
            slots: SlotOptions::default(),
            per_agent_per_slot: 2,
        }
    }
}

/// Limits of [`QueueCallbackSettings`] (checked by [`validate_callback_settings`]).
pub const MAX_ATTEMPTS_LIMIT: u32 = 10;
pub const MAX_SPACING_MINUTES: u32 = 24 * 60;
pub const MAX_CLAIM_MINUTES: u32 = 120;
pub const MAX_DEDUP_WINDOW_MINUTES: u32 = 7 * 24 * 60;
pub const MAX_SLOT_MINUTES: u32 = 240;
pub const MAX_LOOK_AHEAD_HOURS: u32 = 14 * 24;

/// The fields of `settings` out of range (empty: valid), named `callbacks.…`.
pub fn validate_callback_settings(settings: &QueueCallbackSettings) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut check = |field: &str, value: u32, min: u32, max: u32| {
        if value < min || value > max {
            errors.push(FieldError::new(
                format!("callbacks.{field}"),
                format!("must be between {min} and {max}"),
            ));
        }
    };
    let policy = &settings.policy;
    check(
        "policy.maxAttempts",
        policy.max_attempts,
        1,
        MAX_ATTEMPTS_LIMIT,
    );
    check(
        "policy.retrySpacingMinutes",
        policy.retry_spacing_minutes,
        1,
        MAX_SPACING_MINUTES,
    );
    check(
        "policy.claimMinutes",
        policy.claim_minutes,
        1,
        MAX_CLAIM_MINUTES,
    );
    check(
        "policy.dedupWindowMinutes",
        policy.dedup_window_minutes,
        0,
        MAX_DEDUP_WINDOW_MINUTES,
    );
    check(
        "slots.slotMinutes",
        settings.slots.slot_minutes,
        5,
        MAX_SLOT_MINUTES,
    );
    check("slots.leadMinutes", settings.slots.lead_minutes, 0, 24 * 60);
    check(
        "slots.lookAheadHours",
        settings.slots.look_ahead_hours,
        1,
        MAX_LOOK_AHEAD_HOURS,
    );
    check("perAgentPerSlot", settings.per_agent_per_slot, 0, 100);
    let phases = &settings.policy.missed_call_phases;
    if phases
        .iter()
        .enumerate()
        .any(|(i, phase)| phases[..i].contains(phase))
    {
        errors.push(FieldError::new(
            "callbacks.policy.missedCallPhases",
            "must not name a phase twice",
        ));
    }
    errors
}

/// Why a callback operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CallbackError {
    #[error("the number is not a Czech phone number: {0}")]
    Number(#[from] PhoneError),
    #[error("the queue id is not valid")]
    QueueId,
    #[error("the callback id must not be empty")]
    Id,
    #[error("the agent must not be empty")]
    Agent,
    #[error("the slot must end after it starts and must not end in the past")]
    Slot,
    #[error("the note must have 1 to {MAX_NOTE_CHARS} characters")]
    Note,
    #[error("the callback is {status} and cannot change any more")]
    Closed { status: &'static str },
    #[error("the callback is not due before {due_at}")]
    NotDue { due_at: DateTime<Utc> },
    #[error("the callback is claimed by {agent} until {until}")]
    AlreadyClaimed { agent: String, until: DateTime<Utc> },
    #[error("the agent already holds the callback {callback_id}")]
    AgentHasClaim { callback_id: String },
    #[error("the callback is not claimed by {agent}")]
    NotClaimedBy { agent: String },
    #[error("no callback {id}")]
    NotFound { id: String },
}

/// What a new callback starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCallback {
    pub id: String,
    pub queue_id: String,
    /// Any form [`normalize_czech_phone`] accepts.
    pub number: String,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub source: CallbackSource,
    /// The original call's entry; `None` = now (an agent's callback without a call).
    pub entered_at: Option<DateTime<Utc>>,
    pub priority: u8,
    pub requested_slot: Option<Slot>,
    /// A username, [`CREATED_BY_IVR`] or [`CREATED_BY_SYSTEM`].
    pub created_by: String,
    pub note: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Creation and transitions
// ---------------------------------------------------------------------------------------------

fn minutes(value: u32) -> TimeDelta {
    TimeDelta::minutes(i64::from(value))
}

fn check_note(text: &str) -> Result<(), CallbackError> {
    let chars = text.trim().chars().count();
    if chars == 0 || text.chars().count() > MAX_NOTE_CHARS {
        Err(CallbackError::Note)
    } else {
        Ok(())
    }
}

impl Callback {
    /// A new callback: `scheduled` (due at the slot's start) when it has a requested slot, else
    /// `pending` and due at once. Checks the number (normalised to E.164), the queue id, the id
    /// and the slot (start before end, not over). Whether the slot is one the queue offers is
    /// [`check_slot`]'s business (an agent may agree any time with a client).
    pub fn create(new: NewCallback, now: DateTime<Utc>) -> Result<Self, CallbackError> {
        if new.id.trim().is_empty() {
            return Err(CallbackError::Id);
        }
        if !crate::admin_config::is_valid_config_id(&new.queue_id) {
            return Err(CallbackError::QueueId);
        }
        let number = normalize_czech_phone(&new.number)?;
        if let Some(slot) = new.requested_slot {
            if slot.start >= slot.end || slot.end <= now {
                return Err(CallbackError::Slot);
            }
        }
        let mut notes = Vec::new();
        if let Some(text) = new.note {
            check_note(&text)?;
            notes.push(CallbackNote {
                at: now,
                by: new.created_by.clone(),
                text,
            });
        }
        let (status, due_at) = match new.requested_slot {
            Some(slot) => (CallbackStatus::Scheduled, slot.start.max(now)),
            None => (CallbackStatus::Pending, now),
        };
        Ok(Self {
            id: new.id,
            queue_id: new.queue_id,
            number,
            client_id: new.client_id,
            client_name: new.client_name,
            source: new.source,
            entered_at: new.entered_at.unwrap_or(now),
            priority: new.priority,
            requested_slot: new.requested_slot,
            due_at,
            attempts: Vec::new(),
            attempts_before_reschedule: 0,
            status,
            merged_calls: Vec::new(),
            notes,
            created_by: new.created_by,
            created_at: now,
            updated_at: now,
            closed_at: None,
            closed_by: None,
        })
    }

    /// Serving order: higher priority, then earlier entry of the original call, then id — the
    /// same order (and type) as [`crate::routing::WaitingCall::rank`].
    pub fn rank(&self) -> (Reverse<u8>, DateTime<Utc>, &str) {
        (Reverse(self.priority), self.entered_at, &self.id)
    }

    /// The agent whose claim holds at `now`, if any.
    pub fn active_claim(&self, now: DateTime<Utc>) -> Option<&str> {
        match &self.status {
            CallbackStatus::InProgress {
                agent,
                claim_expires_at,
                ..
            } if *claim_expires_at > now => Some(agent),
            _ => None,
        }
    }

    /// May be claimed at `now`: open and `dueAt <= now`, or in progress with an expired claim.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        match &self.status {
            CallbackStatus::Pending | CallbackStatus::Scheduled => self.due_at <= now,
            CallbackStatus::InProgress {
                claim_expires_at, ..
            } => *claim_expires_at <= now,
            _ => false,
        }
    }

    /// Not closed: open or in progress.
    pub fn is_active(&self) -> bool {
        !self.status.is_terminal()
    }

    /// Attempts that count to [`CallbackPolicy::max_attempts`] (since the last reschedule).
    pub fn counted_attempts(&self) -> u32 {
        u32::try_from(self.attempts.len())
            .unwrap_or(u32::MAX)
            .saturating_sub(self.attempts_before_reschedule)
    }

    fn refuse_closed(&self) -> Result<(), CallbackError> {
        if self.status.is_terminal() {
            Err(CallbackError::Closed {
                status: self.status.as_str(),
            })
        } else {
            Ok(())
        }
    }

    /// Pending or scheduled again after a claim ends without closing.
    fn reopen(&mut self) {
        self.status = match self.requested_slot {
            Some(slot) if self.due_at <= slot.start => CallbackStatus::Scheduled,
            _ => CallbackStatus::Pending,
        };
    }

    fn close(&mut self, status: CallbackStatus, by: &str, now: DateTime<Utc>) {
        self.status = status;
        self.closed_at = Some(now);
        self.closed_by = Some(by.to_owned());
        self.updated_at = now;
    }

    /// An agent takes the callback to call the client: only when due and not claimed (an
    /// expired claim no longer counts). The claim holds [`CallbackPolicy::claim_minutes`].
    /// This checks the one callback; [`claim_in`] also keeps an agent to one claim.
    pub fn claim(
        &mut self,
        agent: &str,
        now: DateTime<Utc>,
        policy: &CallbackPolicy,
    ) -> Result<(), CallbackError> {
        self.refuse_closed()?;
        if agent.trim().is_empty() {
            return Err(CallbackError::Agent);
        }
        if let CallbackStatus::InProgress {
            agent: holder,
            claim_expires_at,
            ..
        } = &self.status
        {
            if *claim_expires_at > now {
                return Err(CallbackError::AlreadyClaimed {
                    agent: holder.clone(),
                    until: *claim_expires_at,
                });
            }
        } else if self.due_at > now {
            return Err(CallbackError::NotDue {
                due_at: self.due_at,
            });
        }
        self.status = CallbackStatus::InProgress {
            agent: agent.to_owned(),
            claimed_at: now,
            claim_expires_at: now + minutes(policy.claim_minutes.max(1)),
        };
        self.updated_at = now;
        Ok(())
    }

    /// The agent gives the callback back without an attempt: open again, due as before.
    pub fn release(&mut self, agent: &str, now: DateTime<Utc>) -> Result<(), CallbackError> {
        self.require_claimed_by(agent)?;
        self.reopen();
        self.updated_at = now;
        Ok(())
    }

    fn require_claimed_by(&self, agent: &str) -> Result<(), CallbackError> {
        self.refuse_closed()?;
        match &self.status {
            // Until someone else claims it, the claiming agent may finish even after expiry.
            CallbackStatus::InProgress { agent: holder, .. } if holder == agent => Ok(()),
            _ => Err(CallbackError::NotClaimedBy {
                agent: agent.to_owned(),
            }),
        }
    }

    /// Records how the agent's call went; only by the agent who claimed the callback.
    /// `answered` → done; `wrongNumber` → failed; `cancelled` → cancelled; `noAnswer` / `busy`
    /// → failed when the attempt limit is reached, else pending and due after the spacing.
    /// Returns the new status.
    pub fn record_attempt(
        &mut self,
        agent: &str,
        outcome: AttemptOutcome,
        now: DateTime<Utc>,
        policy: &CallbackPolicy,
    ) -> Result<&CallbackStatus, CallbackError> {
        self.require_claimed_by(agent)?;
        self.attempts.push(Attempt {
            at: now,
            agent: agent.to_owned(),
            outcome,
        });
        match outcome {
            AttemptOutcome::Answered => self.close(CallbackStatus::Done, agent, now),
            AttemptOutcome::WrongNumber => self.close(CallbackStatus::Failed, agent, now),
            AttemptOutcome::Cancelled => self.close(CallbackStatus::Cancelled, agent, now),
            AttemptOutcome::NoAnswer | AttemptOutcome::Busy => {
                if self.counted_attempts() >= policy.max_attempts.max(1) {
                    self.close(CallbackStatus::Failed, CREATED_BY_SYSTEM, now);
                } else {
                    self.due_at = now + minutes(policy.retry_spacing_minutes);
                    self.status = CallbackStatus::Pending;
                    self.updated_at = now;
                }
            }
        }
        Ok(&self.status)
    }

    /// Settles the callback without (another) attempt — the client called in, or the request
    /// was resolved otherwise. From any status but a terminal one; while another agent's claim
    /// holds, only that agent may.
    pub fn mark_done(&mut self, by: &str, now: DateTime<Utc>) -> Result<(), CallbackError> {
        self.refuse_other_claim(by, now)?;
        self.close(CallbackStatus::Done, by, now);
        Ok(())
    }

    /// Withdraws the callback (a supervisor, an agent, the client through an agent). From any
    /// status but a terminal one, also while an agent holds it (a supervisor may stop it).
    pub fn cancel(&mut self, by: &str, now: DateTime<Utc>) -> Result<(), CallbackError> {
        self.refuse_closed()?;
        self.close(CallbackStatus::Cancelled, by, now);
        Ok(())
    }

    /// Moves the callback to a new time agreed with the client: `scheduled`, due when the slot
    /// starts; a claim ends; the attempt count starts again. While another agent's claim holds,
    /// only that agent may.
    pub fn reschedule(
        &mut self,
        slot: Slot,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CallbackError> {
        self.refuse_other_claim(by, now)?;
        if slot.start >= slot.end || slot.end <= now {
            return Err(CallbackError::Slot);
        }
        self.requested_slot = Some(slot);
        self.due_at = slot.start.max(now);
        self.attempts_before_reschedule = u32::try_from(self.attempts.len()).unwrap_or(u32::MAX);
        self.status = CallbackStatus::Scheduled;
        self.updated_at = now;
        Ok(())
    }

    fn refuse_other_claim(&self, by: &str, now: DateTime<Utc>) -> Result<(), CallbackError> {
        self.refuse_closed()?;
        if let (
            Some(holder),
            CallbackStatus::InProgress {
                claim_expires_at, ..
            },
        ) = (self.active_claim(now), &self.status)
        {
            if holder != by {
                return Err(CallbackError::AlreadyClaimed {
                    agent: holder.to_owned(),
                    until: *claim_expires_at,
                });
            }
        }
        Ok(())
    }

    /// Adds a note (also on a closed callback: notes are history, not a transition).
    pub fn add_note(
        &mut self,
        by: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CallbackError> {
        check_note(text)?;
        self.notes.push(CallbackNote {
            at: now,
            by: by.to_owned(),
            text: text.to_owned(),
        });
        self.updated_at = now;
        Ok(())
    }

    /// Whether the lost call `contact_id` created this callback or was merged into it.
    pub fn has_contact(&self, contact_id: &str) -> bool {
        matches!(&self.source, CallbackSource::MissedCall { contact_id: id } if id == contact_id)
            || self
                .merged_calls
                .iter()
                .any(|merged| merged.contact_id == contact_id)
    }

    /// When the last lost call was merged into this callback, else when it was created: the
    /// start of the dedup window.
    pub fn last_contact_at(&self) -> DateTime<Utc> {
        self.merged_calls
            .iter()
            .map(|merged| merged.at)
            .fold(self.created_at, DateTime::max)
    }
}

/// Claims the callback `id` for `agent` among `callbacks` (the agent's queues' callbacks as
/// loaded): refused when the agent already holds another active claim, then as
/// [`Callback::claim`].
pub fn claim_in(
    callbacks: &mut [Callback],
    id: &str,
    agent: &str,
    now: DateTime<Utc>,
    policy: &CallbackPolicy,
) -> Result<(), CallbackError> {
    if let Some(held) = callbacks
        .iter()
        .find(|callback| callback.id != id && callback.active_claim(now) == Some(agent))
    {
        return Err(CallbackError::AgentHasClaim {
            callback_id: held.id.clone(),
        });
    }
    callbacks
        .iter_mut()
        .find(|callback| callback.id == id)
        .ok_or_else(|| CallbackError::NotFound { id: id.to_owned() })?
        .claim(agent, now, policy)
}

// ---------------------------------------------------------------------------------------------
// Lost calls (IN-22)
// ---------------------------------------------------------------------------------------------

/// A lost inbound call, as the contact lifecycle recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostCall {
    pub contact_id: String,
    /// The queue the callback goes to (the queue the call waited in, or the line's queue).
    pub queue_id: String,
    /// The caller's number as the PBX gave it; `None` when withheld.
    pub caller: Option<String>,
    pub entered_at: DateTime<Utc>,
    pub priority: u8,
    /// The record that ended the contact.
    pub outcome: ContactOutcome,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
}

/// What [`on_lost_call`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LostCallAction {
    /// A new callback to store.
    Create(Box<Callback>),
    /// Merged into the open callback at this index of the given list (changed in place).
    Merged { index: usize },
    /// This contact is already the source of, or merged into, the callback at this index (a
    /// redelivered event): nothing changed.
    AlreadyRecorded { index: usize },
    /// No callback, and why.
    Ignored(IgnoredReason),
}

/// Why a lost call creates no callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoredReason {
    /// The queue's policy does not create callbacks from lost calls.
    Disabled,
    /// Not abandoned by the caller (answered, failed, overflowed), or lost in a phase the policy
    /// leaves out.
    NotLost,
    /// No number, or not a Czech number that can be called back.
    NoNumber,
}

/// The lost phase of an abandoned contact; `None` unless the caller hung up.
pub fn lost_phase(outcome: &ContactOutcome) -> Option<LostPhase> {
    match outcome.result {
        ContactResult::Abandoned => outcome.lost_phase,
        _ => None,
    }
}

/// A lost call → a callback: nothing when the contact is already recorded in `existing`
/// (events may be delivered twice); ignored when the policy is off, the call was not abandoned in a
/// phase the policy lists, or the number cannot be called; merged into an open callback of the
/// same number in the same queue whose [`Callback::last_contact_at`] lies within the dedup
/// window before the loss (the earlier entry and higher priority are kept, so the callback keeps
/// the best place); else a new `pending` callback with id `id`, source `missedCall`, the
/// original call's `enteredAt` and priority. `existing` are the queue's callbacks (any status).
pub fn on_lost_call(
    lost: &LostCall,
    existing: &mut [Callback],
    id: &str,
    policy: &CallbackPolicy,
    lost_at: DateTime<Utc>,
) -> Result<LostCallAction, CallbackError> {
    if !policy.auto_from_missed_calls {
        return Ok(LostCallAction::Ignored(IgnoredReason::Disabled));
    }
    if !lost_phase(&lost.outcome).is_some_and(|phase| policy.missed_call_phases.contains(&phase)) {
        return Ok(LostCallAction::Ignored(IgnoredReason::NotLost));
    }
    let Some(number) = lost
        .caller
        .as_deref()
        .and_then(|caller| normalize_czech_phone(caller).ok())
    else {
        return Ok(LostCallAction::Ignored(IgnoredReason::NoNumber));
    };
    if let Some(index) = existing
        .iter()
        .position(|callback| callback.has_contact(&lost.contact_id))
    {
        return Ok(LostCallAction::AlreadyRecorded { index });
    }
    let window = minutes(policy.dedup_window_minutes);
    let target = existing
        .iter()
        .enumerate()
        .filter(|(_, callback)| {
            callback.is_active()
                && callback.queue_id == lost.queue_id
                && callback.number == number
                && lost_at - callback.last_contact_at() <= window
        })
        .min_by(|(_, a), (_, b)| a.rank().cmp(&b.rank()))
        .map(|(index, _)| index);
    if let Some((index, callback)) =
        target.and_then(|index| existing.get_mut(index).map(|callback| (index, callback)))
    {
        callback.merged_calls.push(MergedCall {
            contact_id: lost.contact_id.clone(),
            at: lost_at,
        });
        callback.entered_at = callback.entered_at.min(lost.entered_at);
        callback.priority = callback.priority.max(lost.priority);
        if callback.client_id.is_none() {
            callback.client_id.clone_from(&lost.client_id);
            callback.client_name.clone_from(&lost.client_name);
        }
        callback.updated_at = lost_at;
        return Ok(LostCallAction::Merged { index });
    }
    Callback::create(
        NewCallback {
            id: id.to_owned(),
            queue_id: lost.queue_id.clone(),
            number,
            client_id: lost.client_id.clone(),
            client_name: lost.client_name.clone(),
            source: CallbackSource::MissedCall {
                contact_id: lost.contact_id.clone(),
            },
            entered_at: Some(lost.entered_at),
            priority: lost.priority,
            requested_slot: None,
            created_by: CREATED_BY_SYSTEM.to_owned(),
            note: None,
        },
        lost_at,
    )
    .map(|callback| LostCallAction::Create(Box::new(callback)))
}

// ---------------------------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------------------------

/// The best-ranked due callback in one of `queue_ids` (routing: what a free agent of those
/// queues calls next).
pub fn next_due<'a>(
    callbacks: &'a [Callback],
    queue_ids: &[&str],
    now: DateTime<Utc>,
) -> Option<&'a Callback> {
    callbacks
        .iter()
        .filter(|callback| callback.is_due(now) && queue_ids.contains(&callback.queue_id.as_str()))
        .min_by(|a, b| a.rank().cmp(&b.rank()))
}

/// The agent's list order at `now`: due first (by rank), then open ones by the time they become
/// due (then rank), then those in progress (by rank), then closed ones (latest closed first).
pub fn agent_list_order(a: &Callback, b: &Callback, now: DateTime<Utc>) -> Ordering {
    fn group(callback: &Callback, now: DateTime<Utc>) -> u8 {
        if callback.is_due(now) {
            0
        } else if callback.status.is_open() {
            1
        } else if callback.is_active() {
            2
        } else {
            3
        }
    }
    let (ga, gb) = (group(a, now), group(b, now));
    ga.cmp(&gb).then_with(|| match ga {
        1 => a
            .due_at
            .cmp(&b.due_at)
            .then_with(|| a.rank().cmp(&b.rank())),
        3 => b.closed_at.cmp(&a.closed_at).then_with(|| a.id.cmp(&b.id)),
        _ => a.rank().cmp(&b.rank()),
    })
}

/// Sorts callbacks for the agent's list ([`agent_list_order`]).
pub fn sort_for_agent_list(callbacks: &mut [Callback], now: DateTime<Utc>) {
    callbacks.sort_by(|a, b| agent_list_order(a, b, now));
}

// ---------------------------------------------------------------------------------------------
// Slots (IN-11)
// ---------------------------------------------------------------------------------------------

/// How slots are cut and how far they are offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SlotOptions {
    /// Length of one slot (e.g. 30).
    pub slot_minutes: u32,
    /// A slot starts at least this long after `now`.
    pub lead_minutes: u32,
    /// A slot starts before `now` plus this many hours (e.g. 48).
    pub look_ahead_hours: u32,
}

impl Default for SlotOptions {
    fn default() -> Self {
        Self {
            slot_minutes: 30,
            lead_minutes: 15,
            look_ahead_hours: 48,
        }
    }
}

/// Why a requested slot is not offered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SlotError {
    #[error("the slot length must be at least one minute")]
    Options,
    #[error("the slot starts before {earliest}")]
    TooSoon { earliest: DateTime<Utc> },
    #[error("the slot starts at or after {latest}")]
    TooFar { latest: DateTime<Utc> },
    #[error("the slot is not one of the queue's slots (outside opening hours or not aligned)")]
    NotOffered,
    #[error("the slot is full ({booked} of {capacity} booked)")]
    Full { booked: u32, capacity: u32 },
}

/// How many active callbacks (not closed) have a requested slot overlapping `slot`: the
/// `booked` count for [`offer_slots`].
pub fn booked_in(callbacks: &[Callback], slot: &Slot) -> u32 {
    let count = callbacks
        .iter()
        .filter(|callback| {
            callback.is_active()
                && callback
                    .requested_slot
                    .is_some_and(|requested| requested.overlaps(slot))
        })
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The slots a caller may choose: inside the queue's opening hours, starting in
/// `[now + lead, now + look-ahead)`, with `booked(slot) < capacity(slot)` (`capacity` is the
/// staffing: callbacks allowed per slot, 0 = none). In time order.
pub fn offer_slots(
    schedule: &QueueSchedule,
    now: DateTime<Utc>,
    options: &SlotOptions,
    capacity: impl Fn(&Slot) -> u32,
    booked: impl Fn(&Slot) -> u32,
) -> Vec<Slot> {
    candidate_slots(schedule, now, options)
        .into_iter()
        .filter(|slot| booked(slot) < capacity(slot))
        .collect()
}

/// Whether `slot` is one [`offer_slots`] offers, and if not, why.
pub fn check_slot(
    schedule: &QueueSchedule,
    now: DateTime<Utc>,
    options: &SlotOptions,
    slot: &Slot,
    capacity: impl Fn(&Slot) -> u32,
    booked: impl Fn(&Slot) -> u32,
) -> Result<(), SlotError> {
    if options.slot_minutes == 0 {
        return Err(SlotError::Options);
    }
    let (earliest, latest) = window(now, options);
    if slot.start < earliest {
        return Err(SlotError::TooSoon { earliest });
    }
    if slot.start >= latest {
        return Err(SlotError::TooFar { latest });
    }
    if !candidate_slots(schedule, now, options).contains(slot) {
        return Err(SlotError::NotOffered);
    }
    let (booked, capacity) = (booked(slot), capacity(slot));
    if booked >= capacity {
        return Err(SlotError::Full { booked, capacity });
    }
    Ok(())
}

fn window(now: DateTime<Utc>, options: &SlotOptions) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        now + minutes(options.lead_minutes),
        now + TimeDelta::hours(i64::from(options.look_ahead_hours)),
    )
}

/// Every slot inside opening hours in the time window, ignoring capacity; sorted, unique.
fn candidate_slots(
    schedule: &QueueSchedule,
    now: DateTime<Utc>,
    options: &SlotOptions,
) -> Vec<Slot> {
    if options.slot_minutes == 0 {
        return Vec::new();
    }
    let step = minutes(options.slot_minutes);
    let (earliest, latest) = window(now, options);
    let (Some(first), Some(last)) = (
        earliest.with_timezone(&PRAGUE).date_naive().pred_opt(),
        latest.with_timezone(&PRAGUE).date_naive().succ_opt(),
    ) else {
        return Vec::new();
    };
    let mut slots = Vec::new();
    for date in first.iter_days().take_while(|date| *date <= last) {
        for interval in schedule.intervals_on(date) {
            let start_secs = interval.start.num_seconds_from_midnight();
            let end_secs = match interval.end.num_seconds_from_midnight() {
                0 => SECONDS_PER_DAY,
                secs => secs,
            };
            let (Some(open), Some(close)) = (
                prague_instant(date, start_secs),
                prague_instant(date, end_secs),
            ) else {
                continue;
            };
            let mut start = open;
            while start + step <= close && start < latest {
                if start >= earliest {
                    slots.push(Slot {
                        start,
                        end: start + step,
                    });
                }
                start += step;
            }
        }
    }
    slots.sort_unstable();
    slots.dedup();
    slots
}

const SECONDS_PER_DAY: u32 = 86_400;

/// The instant of a wall-clock time in Prague, resolved as the queues' schedules do.
fn prague_instant(date: NaiveDate, secs: u32) -> Option<DateTime<Utc>> {
    crate::queues::local_instant(date, secs)
}
