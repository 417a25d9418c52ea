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
//! Pure domain code: no I/O, no AWS types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::time::format_rfc3339;

/// The channel of a contact. Only voice is produced so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Channel {
    #[default]
    Voice,
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
    /// Lost before reaching a queue: hung up in the IVR (or before it).
    AbandonedInIvr,
    /// Lost in the queue: the customer hung up while waiting.
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

    /// The state a contact ends in when the customer leaves now.
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
            Arrived => matches!(
                to,
                Ivr | Queued | Offered | Connected | AbandonedInIvr | Unanswered | Overflowed
            ),
            Ivr => matches!(
                to,
                Queued | Offered | Connected | AbandonedInIvr | Unanswered | Overflowed
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
    /// The PBX cause (`normalClearing`, `singleStepTransfer`, `busy`, …) or ours (`wrapUpEnded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
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
            cause: Some("normalClearing".into()),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["to"], "abandonedInQueue");
        assert_eq!(json["from"], "queued");
        assert_eq!(json["channel"], "voice");
        assert_eq!(json["contactId"], "prg-1:1:42");
        assert!(json.get("agentDevice").is_none());
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
