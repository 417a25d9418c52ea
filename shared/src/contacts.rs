//! The one contact lifecycle of Linka (DESIGN "One event model"): every contact — a call now;
//! chats, e-mails, SMS, callbacks and campaign attempts later — moves through the same
//! [`ContactState`]s, and every move is one [`ContactEvent`]. Real-time views, historical reports,
//! recordings metadata and the ICIS export all derive from these records, so their numbers agree.
//!
//! ```text
//!  arrived ──► ivr ──► queued ──► offered ──► connected ◄──► held
//!     │         │        │ ▲        │  │         │  ▲ ▲        │
//!     │         │        │ └────────┘  │         ▼  │ │        ▼
//!     │         │        │   (RONA)    │     conferenced    transferred ──► offered/queued/connected
//!     ▼         ▼        ▼             ▼         │
//!  abandonedInIvr  abandonedInQueue  abandonedRinging        ▼
//!  unanswered (failed, busy)   overflowed (left to an external target)   wrapUp ──► done
//! ```
//!
//! The full table of allowed moves is [`ContactState::can_move_to`] (documented in
//! `docs/data-model.md`, "Contact lifecycle"). Terminal states: `done` and the lost variants.
//!
//! The record that ends the customer's part of a contact — a lost state, `wrapUp`, or `done` —
//! carries its [`ContactOutcome`]: answered or lost and where ([`LostPhase`], REP-11), the waits
//! until the answer or the loss (REP-12) and the agents who let it ring (missed offers), so that
//! reports never re-read the raw CTI events.
//!
//! Pure domain code: no I/O, no AWS types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::time::format_rfc3339;

/// The channel of a contact: a call, or a text conversation (issue 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Channel {
    #[default]
    Voice,
    /// The web chat (widget or chatbot).
    Chat,
    Sms,
    Email,
    /// A social network's messages (Messenger).
    Social,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Voice,
        Channel::Chat,
        Channel::Sms,
        Channel::Email,
        Channel::Social,
    ];

    /// The name as serialised (`voice`, `chat`, `sms`, `email`, `social`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voice => "voice",
            Self::Chat => "chat",
            Self::Sms => "sms",
            Self::Email => "email",
            Self::Social => "social",
        }
    }

    /// The channel named `name` ([`Channel::as_str`]).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|channel| channel.as_str() == name)
    }

    /// A text conversation (its transcript is in ChatTable).
    pub fn is_text(self) -> bool {
        self != Self::Voice
    }
}

/// Where a contact is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum ContactState {
    /// Reached the contact centre (routing point, pilot), before any IVR or queue.
    #[default]
    Arrived,
    /// In a voice application (IVR).
    Ivr,
    /// Waiting in a queue (ACD group) for an agent.
    Queued,
    /// Offered to an agent: ringing at the agent's device.
    Offered,
    /// Talking to an agent.
    Connected,
    /// Put on hold by the agent.
    Held,
    /// In a conference of three or more parties.
    Conferenced,
    /// Handed over by an agent (blind or attended); next: offered, queued or connected.
    Transferred,
    /// The customer left; the agent finishes the after-call work.
    WrapUp,
    /// Handled and finished.
    Done,
    /// Lost before reaching a queue: hung up in the IVR or before it ([`LostPhase::InIvr`],
    /// [`LostPhase::BeforeIvr`]).
    AbandonedInIvr,
    /// Lost in the queue: the customer hung up while waiting in a queue or at a routing device
    /// for the routing decision.
    AbandonedInQueue,
    /// Lost while ringing at an agent.
    AbandonedRinging,
    /// Not answered: the call failed (busy, unreachable, rejected).
    Unanswered,
    /// Left the contact centre unanswered to an overflow target outside it (trunk, external
    /// number).
    Overflowed,
}

impl ContactState {
    /// Every state, in lifecycle order.
    pub const ALL: [ContactState; 15] = [
        Self::Arrived,
        Self::Ivr,
        Self::Queued,
        Self::Offered,
        Self::Connected,
        Self::Held,
        Self::Conferenced,
        Self::Transferred,
        Self::WrapUp,
        Self::Done,
        Self::AbandonedInIvr,
        Self::AbandonedInQueue,
        Self::AbandonedRinging,
        Self::Unanswered,
        Self::Overflowed,
    ];

    /// Nothing follows a terminal state.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Done
                | Self::AbandonedInIvr
                | Self::AbandonedInQueue
                | Self::AbandonedRinging
                | Self::Unanswered
                | Self::Overflowed
        )
    }

    /// A contact that ended without an agent talking to the customer.
    pub fn is_lost(self) -> bool {
        self.is_terminal() && self != Self::Done
    }

    /// The contact reached an agent and is (or was) being handled.
    pub fn is_handling(self) -> bool {
        matches!(
            self,
            Self::Connected | Self::Held | Self::Conferenced | Self::Transferred
        )
    }

    /// This state ends the customer's part of the contact: its record carries the
    /// [`ContactOutcome`].
    pub fn ends_contact(self) -> bool {
        self.is_terminal() || self == Self::WrapUp
    }

    /// The state a contact ends in when the customer leaves now (a call waiting at a routing
    /// device in `arrived` or `ivr` is lost in the queue instead: see
    /// [`LostPhase::abandoned_state`]).
    pub fn lost_from(self) -> ContactState {
        match self {
            Self::Arrived | Self::Ivr => Self::AbandonedInIvr,
            Self::Queued => Self::AbandonedInQueue,
            Self::Offered => Self::AbandonedRinging,
            other => other,
        }
    }

    /// The lifecycle's transition table. A state may move to itself only where the contact
    /// changes place without changing state (`queued → queued`: moved to another queue;
    /// `offered → offered`: redirected to another agent).
    pub fn can_move_to(self, to: ContactState) -> bool {
        use ContactState::*;
        match self {
            // `abandonedInQueue` from `arrived` or `ivr`: the customer left while the call waited
            // at a routing device for the routing decision.
            Arrived => matches!(
                to,
                Ivr | Queued
                    | Offered
                    | Connected
                    | AbandonedInIvr
                    | AbandonedInQueue
                    | Unanswered
                    | Overflowed
            ),
            Ivr => matches!(
                to,
                Queued
                    | Offered
                    | Connected
                    | AbandonedInIvr
                    | AbandonedInQueue
                    | Unanswered
                    | Overflowed
            ),
            Queued => matches!(
                to,
                Queued | Offered | Connected | AbandonedInQueue | Unanswered | Overflowed
            ),
            Offered => matches!(
                to,
                Offered | Queued | Connected | AbandonedRinging | Unanswered | Overflowed
            ),
            Connected => matches!(to, Held | Conferenced | Transferred | WrapUp | Done),
            Held => matches!(to, Connected | Conferenced | Transferred | WrapUp | Done),
            Conferenced => matches!(to, Connected | Held | Transferred | WrapUp | Done),
            Transferred => matches!(to, Offered | Queued | Connected | WrapUp | Done),
            WrapUp => matches!(to, Done),
            Done | AbandonedInIvr | AbandonedInQueue | AbandonedRinging | Unanswered
            | Overflowed => false,
        }
    }

    /// The camelCase name used on the wire and in DynamoDB.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Arrived => "arrived",
            Self::Ivr => "ivr",
            Self::Queued => "queued",
            Self::Offered => "offered",
            Self::Connected => "connected",
            Self::Held => "held",
            Self::Conferenced => "conferenced",
            Self::Transferred => "transferred",
            Self::WrapUp => "wrapUp",
            Self::Done => "done",
            Self::AbandonedInIvr => "abandonedInIvr",
            Self::AbandonedInQueue => "abandonedInQueue",
            Self::AbandonedRinging => "abandonedRinging",
            Self::Unanswered => "unanswered",
            Self::Overflowed => "overflowed",
        }
    }
}

impl std::fmt::Display for ContactState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One move of a contact: the record every view, report and export derives from.
///
/// Its identity is `(contactId, at, to)` ([`ContactEvent::sort_key`]): a replay of the same CTI
/// events produces the same records with the same keys, so storing them again changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactEvent {
    pub contact_id: String,
    pub channel: Channel,
    /// `None` for the first record of a contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ContactState>,
    pub to: ContactState,
    /// When the move happened (the PBX event's observation time, UTC).
    pub at: DateTime<Utc>,
    /// The PBX call the move was observed on (voice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// The routing point / pilot the contact came in through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pilot: Option<String>,
    /// The queue (ACD group) the contact is or was in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The agent's device (extension) involved in the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_device: Option<String>,
    /// The agent (username) involved in the move of a text conversation, which has no device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The PBX cause (`normalClearing`, `singleStepTransfer`, `busy`, …) or ours (`wrapUpEnded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// How the contact ended: only on a record that ends the customer's part (a lost state,
    /// `wrapUp`, or `done`: [`ContactState::ends_contact`]). Older records have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ContactOutcome>,
}

/// Where an unanswered inbound contact was lost when the customer hung up (REP-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LostPhase {
    /// Before any IVR answered and before the call waited for an agent (ringing at the pilot or
    /// at an IVR port that had not answered yet).
    BeforeIvr,
    /// While connected to a voice application (IVR, announcement).
    InIvr,
    /// While waiting for an agent: queued at a pilot / ACD group, or at a routing device for the
    /// routing decision; no agent ringing.
    InQueue,
    /// While an agent's device was alerting.
    RingingAgent,
}

impl LostPhase {
    /// Every phase, in the order a call passes them.
    pub const ALL: [LostPhase; 4] = [
        Self::BeforeIvr,
        Self::InIvr,
        Self::InQueue,
        Self::RingingAgent,
    ];

    /// The phase of a contact the customer abandoned by moving `from` → `to`; `None` when `to` is
    /// not an abandon.
    pub fn of(from: ContactState, to: ContactState) -> Option<LostPhase> {
        match to {
            ContactState::AbandonedRinging => Some(Self::RingingAgent),
            ContactState::AbandonedInQueue => Some(Self::InQueue),
            ContactState::AbandonedInIvr if from == ContactState::Arrived => Some(Self::BeforeIvr),
            ContactState::AbandonedInIvr => Some(Self::InIvr),
            _ => None,
        }
    }

    /// The lifecycle state a contact abandoned in this phase ends in.
    pub fn abandoned_state(self) -> ContactState {
        match self {
            Self::BeforeIvr | Self::InIvr => ContactState::AbandonedInIvr,
            Self::InQueue => ContactState::AbandonedInQueue,
            Self::RingingAgent => ContactState::AbandonedRinging,
        }
    }
}

/// How a contact ended, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContactResult {
    /// An agent talked to the customer (`wrapUp`, `done`).
    Answered,
    /// The customer hung up before an agent answered (`abandoned*`; see [`LostPhase`]).
    Abandoned,
    /// The call failed: busy, unreachable, rejected (`unanswered`).
    Failed,
    /// Sent unanswered to a target outside the centre (`overflowed`): not an abandon.
    Overflowed,
}

impl ContactResult {
    /// The result a record entering `to` carries; `None` when `to` does not end the contact.
    pub fn of(to: ContactState) -> Option<ContactResult> {
        match to {
            ContactState::WrapUp | ContactState::Done => Some(Self::Answered),
            ContactState::AbandonedInIvr
            | ContactState::AbandonedInQueue
            | ContactState::AbandonedRinging => Some(Self::Abandoned),
            ContactState::Unanswered => Some(Self::Failed),
            ContactState::Overflowed => Some(Self::Overflowed),
            _ => None,
        }
    }
}

/// The outcome of a contact, carried by the record that ends it.
///
/// Every wait is in **milliseconds** and runs up to the end of the customer's wait: the answer
/// (first agent pick-up) for an answered contact, the loss (`at` of the record) otherwise. Reports
/// bucket them (10, 20, 30 s and longer, REP-12) without re-reading the CTI events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactOutcome {
    pub result: ContactResult,
    /// Where the customer hung up; only when `result` is `abandoned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_phase: Option<LostPhase>,
    /// From the contact's first event.
    pub total_ms: u64,
    /// From the first IVR entry, when the contact was in an IVR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_ivr_ms: Option<u64>,
    /// From queue entry (queued at a pilot / ACD group, or a route request at a routing device),
    /// when the contact reached a queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_queue_ms: Option<u64>,
    /// From ring start at the agent who answered, or at the agent ringing when it was lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_ring_ms: Option<u64>,
    /// The agent device that answered first (answered contacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    /// Agent devices that rang and stopped ringing without answering while the customer still
    /// waited (missed offers), in order; a device that missed twice is listed twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed_by: Vec<String>,
}

/// The milliseconds from `from` to `to` (0 when `to` is earlier).
pub fn elapsed_ms(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_milliseconds()).unwrap_or(0)
}

impl ContactEvent {
    /// Unique within a contact and stable across replays: `<at, fixed-width RFC 3339>#<to>`.
    pub fn sort_key(&self) -> String {
        format!("{}#{}", format_rfc3339(self.at), self.to)
    }

    /// The UTC date of `at` (`2026-11-27`): the partition of the by-day index for reports.
    pub fn day(&self) -> String {
        self.at.format("%Y-%m-%d").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_state_is_terminal_should_allow_no_move() {
        for from in ContactState::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in ContactState::ALL {
                assert!(!from.can_move_to(to), "{from} → {to}");
            }
        }
    }

    #[test]
    fn when_a_state_is_not_terminal_should_have_a_way_to_a_terminal_state() {
        for from in ContactState::ALL.into_iter().filter(|s| !s.is_terminal()) {
            assert!(
                ContactState::ALL
                    .iter()
                    .any(|to| to.is_terminal() && from.can_move_to(*to))
                    || from.can_move_to(ContactState::WrapUp),
                "{from} cannot end"
            );
        }
    }

    #[test]
    fn when_the_customer_leaves_early_should_name_where_the_contact_was_lost() {
        assert_eq!(ContactState::Ivr.lost_from(), ContactState::AbandonedInIvr);
        assert_eq!(
            ContactState::Queued.lost_from(),
            ContactState::AbandonedInQueue
        );
        assert_eq!(
            ContactState::Offered.lost_from(),
            ContactState::AbandonedRinging
        );
        for from in [
            ContactState::Arrived,
            ContactState::Ivr,
            ContactState::Queued,
            ContactState::Offered,
        ] {
            assert!(from.can_move_to(from.lost_from()));
        }
    }

    #[test]
    fn when_a_contact_is_abandoned_should_name_exactly_one_phase_matching_its_state() {
        use ContactState::*;
        assert_eq!(
            LostPhase::of(Arrived, AbandonedInIvr),
            Some(LostPhase::BeforeIvr)
        );
        assert_eq!(LostPhase::of(Ivr, AbandonedInIvr), Some(LostPhase::InIvr));
        assert_eq!(
            LostPhase::of(Arrived, AbandonedInQueue),
            Some(LostPhase::InQueue)
        );
        assert_eq!(
            LostPhase::of(Offered, AbandonedRinging),
            Some(LostPhase::RingingAgent)
        );
        for from in ContactState::ALL {
            for to in ContactState::ALL
                .into_iter()
                .filter(|to| from.can_move_to(*to))
            {
                let phase = LostPhase::of(from, to);
                assert_eq!(
                    phase.is_some(),
                    ContactResult::of(to) == Some(ContactResult::Abandoned),
                    "{from} → {to}"
                );
                if let Some(phase) = phase {
                    assert_eq!(phase.abandoned_state(), to);
                }
                assert_eq!(ContactResult::of(to).is_some(), to.ends_contact());
            }
        }
        assert_eq!(
            serde_json::to_value(LostPhase::ALL).unwrap(),
            serde_json::json!(["beforeIvr", "inIvr", "inQueue", "ringingAgent"])
        );
    }

    #[test]
    fn when_an_old_record_without_outcome_is_read_should_parse() {
        let old = serde_json::json!({
            "contactId": "prg-1:1:1", "channel": "voice", "from": "queued",
            "to": "abandonedInQueue", "at": "2026-11-27T08:00:05Z"
        });
        let event: ContactEvent = serde_json::from_value(old).unwrap();
        assert_eq!(event.outcome, None);
        assert_eq!(
            elapsed_ms(event.at, event.at + chrono::Duration::milliseconds(1500)),
            1500
        );
        assert_eq!(
            elapsed_ms(event.at, event.at - chrono::Duration::seconds(1)),
            0
        );
    }

    #[test]
    fn when_serialised_should_use_camel_case_names_and_a_stable_sort_key() {
        let event = ContactEvent {
            contact_id: "prg-1:1:42".into(),
            channel: Channel::Voice,
            from: Some(ContactState::Queued),
            to: ContactState::AbandonedInQueue,
            at: DateTime::parse_from_rfc3339("2026-11-27T08:00:05Z")
                .unwrap()
                .with_timezone(&Utc),
            call_id: Some("c2".into()),
            pilot: Some("5000".into()),
            queue: Some("5000".into()),
            agent_device: None,
            agent: None,
            cause: Some("normalClearing".into()),
            outcome: Some(ContactOutcome {
                result: ContactResult::Abandoned,
                lost_phase: Some(LostPhase::InQueue),
                total_ms: 5_000,
                from_ivr_ms: None,
                from_queue_ms: Some(4_000),
                from_ring_ms: None,
                answered_by: None,
                missed_by: vec!["2001".into()],
            }),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["to"], "abandonedInQueue");
        assert_eq!(json["from"], "queued");
        assert_eq!(json["channel"], "voice");
        assert_eq!(json["contactId"], "prg-1:1:42");
        assert!(json.get("agentDevice").is_none());
        assert_eq!(
            json["outcome"],
            serde_json::json!({
                "result": "abandoned", "lostPhase": "inQueue", "totalMs": 5000,
                "fromQueueMs": 4000, "missedBy": ["2001"]
            })
        );
        assert_eq!(
            event.sort_key(),
            "2026-11-27T08:00:05.000Z#abandonedInQueue"
        );
        assert_eq!(event.day(), "2026-11-27");
        for state in ContactState::ALL {
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::String(state.as_str().to_owned())
            );
        }
    }
}
