//! The live side of routing, still pure: turning stored state into the engine's inputs
//! ([`crate::routing::RoutingSnapshot`]) and the engine's [`Decision`]s into PBX devices, and the
//! messages that drive the routing worker.
//!
//! The routing function (`functions/routing`, ADR 0013) reads:
//! - the agent devices of `AgentStateTable` ([`AgentPresence`], written by cti-ingest);
//! - the users with a PBX agent number (who is at which device);
//! - the offers in flight ([`Reservation`], `AgentReservationsTable`, one per agent);
//! - the calls waiting ([`WaitingCall`], `WaitingCallsTable`);
//!
//! and builds the [`AgentRuntime`]s with [`agent_runtimes`]. A reservation is what keeps two
//! concurrent invocations from giving one agent two calls: it is written with a DynamoDB
//! condition (no other reservation of that agent still [`Reservation::holds`]) in the same
//! transaction as the call's waiting record (not offered to anyone yet), so a call is never
//! offered to two agents either.
//!
//! A reservation needs no explicit release: it stops holding when it expires (the offer rang
//! out, [`RoutingTrigger::ReviewCall`] then re-queues the call) or as soon as the agent's
//! device changes state after the offer (the agent answered, or went on a break).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::cti_state::{AgentPresence, AgentState};
use crate::queues::OverflowTarget;
use crate::routing::{AgentRuntime, AnnouncementThen, Decision, Presence, WaitingCall};

/// How long an offered call may ring at an agent before it goes back to its queue, by default.
pub const DEFAULT_OFFER_SECONDS: u32 = 20;

/// How long an agent whose offer rang out is kept from other calls at most while routing waits
/// for the PBX to report them not ready (as it asked): normally the report comes within a
/// second and ends the hold; should it never come (a PBX that refused the command), the agent
/// is routable again after this.
pub const RING_OUT_HOLD_SECONDS: u32 = 60;

/// An agent reserved for one call being offered (ringing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub username: String,
    pub device: String,
    pub call_id: String,
    pub queue_id: String,
    pub offered_at: DateTime<Utc>,
    /// After this the offer has rung out (or, after the call, the wrap-up time is over).
    pub expires_at: DateTime<Utc>,
    /// When the agent answered: from then on the reservation holds until the call ends, for a
    /// PBX that reports no busy agent state (the agent's talk time is Linka's to know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    /// When the answered call ended and the agent's wrap-up began (IN-18); the wrap-up lasts
    /// until `expires_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up_from: Option<DateTime<Utc>>,
    /// When the offer rang out unanswered ([`Reservation::rang_out`]): the reservation no
    /// longer offers the call, it keeps the agent from other calls until the PBX reports them
    /// not ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rang_out_at: Option<DateTime<Utc>>,
}

/// The wrap-up (after-call work, IN-18) an agent is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WrapUp {
    /// When the call ended.
    pub from: DateTime<Utc>,
    /// When the agent gets the next call.
    pub until: DateTime<Utc>,
    /// How far the agent may extend it (the queue's limit); `None`: not extendable.
    pub extendable_until: Option<DateTime<Utc>>,
}

/// Why a wrap-up cannot be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WrapUpError {
    #[error("the agent is not in a wrap-up")]
    NotInWrapUp,
    #[error("the queue's wrap-up cannot be extended")]
    NotExtendable,
    #[error("the wrap-up already lasts as long as the queue allows")]
    AtLimit,
}

impl Reservation {
    /// Whether the reservation still keeps the agent from other calls at `now`: not expired and
    /// the agent's device has not changed state since the offer (`device_since`: when the device
    /// entered its current state).
    pub fn holds(&self, device_since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        (self.answered_at.is_some() || self.expires_at > now)
            && device_since.is_none_or(|since| since <= self.offered_at)
    }

    /// The reservation once its offer rang out at `now` (the call went back to its queue and
    /// routing asked the PBX to set the agent not ready): it keeps the agent from every call
    /// until their device changes state after `now` — the not-ready report, normally within a
    /// second — or for `hold_seconds` should that report never come. Without it the agent, still
    /// ready in routing's eyes until the report arrives, would be offered the same call again.
    pub fn rang_out(&self, hold_seconds: u32, now: DateTime<Utc>) -> Reservation {
        let mut next = self.clone();
        next.offered_at = now;
        next.expires_at = now + chrono::TimeDelta::seconds(i64::from(hold_seconds));
        next.answered_at = None;
        next.wrap_up_from = None;
        next.rang_out_at = Some(now);
        next
    }

    /// The reservation once its call ended at `now`: the agent stays reserved for the queue's
    /// wrap-up time (IN-18) when they had answered it, else it is released at once.
    pub fn after_call(&self, wrap_up_seconds: u32, now: DateTime<Utc>) -> Reservation {
        let mut next = self.clone();
        next.expires_at = match self.answered_at {
            Some(_) => now + chrono::TimeDelta::seconds(i64::from(wrap_up_seconds)),
            None => now,
        };
        next.wrap_up_from = self.answered_at.map(|_| now);
        next.answered_at = None;
        next
    }

    /// The wrap-up this reservation holds the agent in at `now`, with the queue's limit
    /// (`max_wrap_up_seconds` from the call's end, when the queue allows extending).
    pub fn wrap_up(
        &self,
        device_since: Option<DateTime<Utc>>,
        max_wrap_up_seconds: Option<u32>,
        now: DateTime<Utc>,
    ) -> Option<WrapUp> {
        let from = self.wrap_up_from?;
        if self.answered_at.is_some() || !self.holds(device_since, now) {
            return None;
        }
        let limit = max_wrap_up_seconds
            .map(|seconds| from + chrono::TimeDelta::seconds(i64::from(seconds)))
            .filter(|limit| *limit > self.expires_at);
        Some(WrapUp {
            from,
            until: self.expires_at,
            extendable_until: limit,
        })
    }

    /// The reservation with its wrap-up extended by `seconds`, at most to the queue's limit.
    pub fn extended_wrap_up(
        &self,
        seconds: u32,
        device_since: Option<DateTime<Utc>>,
        max_wrap_up_seconds: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Reservation, WrapUpError> {
        let wrap_up = self
            .wrap_up(device_since, max_wrap_up_seconds, now)
            .ok_or(WrapUpError::NotInWrapUp)?;
        if max_wrap_up_seconds.is_none() {
            return Err(WrapUpError::NotExtendable);
        }
        let limit = wrap_up.extendable_until.ok_or(WrapUpError::AtLimit)?;
        let mut next = self.clone();
        next.expires_at =
            (self.expires_at + chrono::TimeDelta::seconds(i64::from(seconds))).min(limit);
        Ok(next)
    }

    /// The reservation with its wrap-up over at `now` (the agent is done early).
    pub fn ended_wrap_up(
        &self,
        device_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Reservation, WrapUpError> {
        self.wrap_up(device_since, None, now)
            .ok_or(WrapUpError::NotInWrapUp)?;
        let mut next = self.clone();
        next.expires_at = now;
        Ok(next)
    }
}

/// A user who can take calls: the username and the PBX agent number (or extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentIdentity {
    pub username: String,
    pub agent_number: String,
}

/// The engine's view of the agents: every device whose agent id (or, without one, the device
/// itself) is the agent number of a user. Devices of unknown agents are not routable. When one
/// user appears at two devices, a device they are logged on at counts before one they logged
/// off from, then the device that changed state last.
pub fn agent_runtimes(
    presences: &[AgentPresence],
    identities: &[AgentIdentity],
    reservations: &[Reservation],
    desks: &[crate::desk::AgentDesk],
    now: DateTime<Utc>,
) -> Vec<AgentRuntime> {
    let by_number: BTreeMap<&str, &str> = identities
        .iter()
        .map(|id| (id.agent_number.as_str(), id.username.as_str()))
        .collect();
    let mut chosen: BTreeMap<&str, &AgentPresence> = BTreeMap::new();
    for presence in presences {
        let number = presence.agent_id.as_deref().unwrap_or(&presence.device);
        let Some(username) = by_number
            .get(number)
            .or_else(|| by_number.get(presence.device.as_str()))
        else {
            continue;
        };
        // A device the agent logged off from does not hide the one they logged on at (DESK-2:
        // the switch from the desk phone to the mobile logs off one and on the other, in
        // either order).
        let rank =
            |presence: &AgentPresence| (presence.state != AgentState::LoggedOff, presence.since);
        let newer = chosen
            .get(username)
            .is_none_or(|current| rank(presence) > rank(current));
        if newer {
            chosen.insert(username, presence);
        }
    }
    chosen
        .into_iter()
        .map(|(username, presence)| {
            let reserved_for = reservations
                .iter()
                .filter(|r| r.username == username)
                .find(|r| r.holds(presence.since, now))
                .map(|r| r.call_id.clone());
            let presence_kind = Presence::from(presence.state);
            AgentRuntime {
                username: username.to_owned(),
                device: presence.device.clone(),
                presence: presence_kind,
                ready_since: (presence.state == AgentState::Ready)
                    .then_some(presence.since)
                    .flatten(),
                wrap_up_until: None,
                reserved_for,
                logged_out_queues: desks
                    .iter()
                    .find(|desk| desk.username == username)
                    .map(|desk| desk.logged_out_queues.clone())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// A routing decision that cannot be given to the PBX: the relay should use its fallback.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnmappedDecision {
    #[error("queue {0:?} has no PBX waiting device")]
    Queue(String),
    #[error("IVR tree {0:?} has no PBX port")]
    Ivr(String),
    #[error("announcement {0:?} has no PBX device and there is no default announcement")]
    Announcement(String),
    #[error("agent {0:?} is not at any device")]
    Agent(String),
    #[error("the decision is the relay's fallback")]
    Fallback,
}

/// The PBX devices the routing function answers with (configuration `routingSettings/devices`,
/// administered through `/api/admin/routing/devices`).
pub use crate::routing_settings::RoutingDevices as DeviceMap;

impl crate::routing_settings::RoutingDevices {
    fn announcement_device(&self, id: &str) -> Result<String, UnmappedDecision> {
        self.announcement(id)
            .map(str::to_owned)
            .ok_or_else(|| UnmappedDecision::Announcement(id.to_owned()))
    }

    /// The device (or number) an overflow target or transfer line reaches.
    pub fn target(
        &self,
        target: &OverflowTarget,
        agent_device: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, UnmappedDecision> {
        match target {
            OverflowTarget::Queue { queue_id } => self
                .queues
                .get(queue_id)
                .cloned()
                .ok_or_else(|| UnmappedDecision::Queue(queue_id.clone())),
            OverflowTarget::Extension { extension } => Ok(extension.clone()),
            OverflowTarget::External { number } | OverflowTarget::Mobile { number } => {
                Ok(number.clone())
            }
            OverflowTarget::Agent { username } => {
                agent_device(username).ok_or_else(|| UnmappedDecision::Agent(username.clone()))
            }
            OverflowTarget::Ivr { ivr_id } => self
                .ivrs
                .get(ivr_id)
                .cloned()
                .ok_or_else(|| UnmappedDecision::Ivr(ivr_id.clone())),
        }
    }

    /// The device the PBX delivers the call to for `decision`. `agent_device`: where an agent
    /// (by username) is now. An announcement followed by an overflow is answered with the
    /// announcement device: what follows it is the PBX announcement's own configuration.
    pub fn destination(
        &self,
        decision: &Decision,
        agent_device: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, UnmappedDecision> {
        match decision {
            Decision::Agent { device, .. } => Ok(device.clone()),
            Decision::Queue { queue_id, .. } => self
                .queues
                .get(queue_id)
                .cloned()
                .ok_or_else(|| UnmappedDecision::Queue(queue_id.clone())),
            Decision::Ivr { ivr_id, .. } => self
                .ivrs
                .get(ivr_id)
                .cloned()
                .ok_or_else(|| UnmappedDecision::Ivr(ivr_id.clone())),
            Decision::Overflow { target, .. } => self.target(target, agent_device),
            Decision::Announcement {
                announcement_id,
                then: AnnouncementThen::HangUp | AnnouncementThen::Overflow { .. },
            } => self.announcement_device(announcement_id),
            Decision::Fallback { .. } => Err(UnmappedDecision::Fallback),
        }
    }
}

/// A message on the routing worker's queue (`RoutingQueue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum RoutingTrigger {
    /// The agent at this device may take a call now (became ready, or a call ended).
    AgentAvailable { device: String },
    /// The call no longer waits (answered by an agent or cleared): forget its waiting record.
    CallSettled {
        call_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answered_by: Option<String>,
    },
    /// Look at a waiting call again: its offer may have rung out, or its maximum wait passed.
    ReviewCall { call_id: String },
    /// A callback is (or may be) due: give it to a free agent of its queue, or look again when
    /// it becomes due.
    CallbackDue { callback_id: String },
    /// A cloud-driven IVR port reported the end of a prompt, a digit collection or a recording:
    /// the call's IVR session takes its next step.
    IvrReport {
        /// The call key (`<relayId>/<callId>`).
        call_id: String,
        device: String,
        prompt_id: String,
        outcome: cti_events::IvrPortOutcome,
    },
}

impl RoutingTrigger {
    /// A key that makes a repeated trigger harmless to drop (FIFO deduplication is not used:
    /// every trigger is idempotent anyway).
    pub fn subject(&self) -> &str {
        match self {
            Self::AgentAvailable { device } => device,
            Self::CallSettled { call_id, .. } | Self::ReviewCall { call_id } => call_id,
            Self::CallbackDue { callback_id } => callback_id,
            Self::IvrReport { call_id, .. } => call_id,
        }
    }
}

/// The routing triggers a CTI event implies (sent by cti-ingest once the event is stored): an
/// agent who became ready may take a call; a call answered, or left by a party, no longer waits
/// (and its agent's wrap-up starts).
pub fn triggers_for(envelope: &cti_events::CtiEnvelope) -> Vec<RoutingTrigger> {
    use cti_events::{AgentStateKind, CallEventKind, CtiEvent};
    match &envelope.event {
        CtiEvent::Ivr(report) => vec![RoutingTrigger::IvrReport {
            call_id: crate::cti_state::call_key(&envelope.relay_id, &report.call_id),
            device: report.device.clone(),
            prompt_id: report.prompt_id.clone(),
            outcome: report.outcome.clone(),
        }],
        CtiEvent::Agent(event) if event.state == AgentStateKind::Ready => {
            vec![RoutingTrigger::AgentAvailable {
                device: event.device.clone(),
            }]
        }
        CtiEvent::Call(event) => {
            let call_id = crate::cti_state::call_key(&envelope.relay_id, &event.call_id);
            match (event.kind, &event.device) {
                (CallEventKind::Established, Some(device)) => vec![RoutingTrigger::CallSettled {
                    call_id,
                    answered_by: Some(device.clone()),
                }],
                // A party left: for a two-party call (the caller and an agent, or a caller
                // waiting) that is the end; the PBX may report only this to a monitored device.
                (CallEventKind::CallCleared | CallEventKind::ConnectionCleared, _) => {
                    vec![RoutingTrigger::CallSettled {
                        call_id,
                        answered_by: None,
                    }]
                }
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// What the worker does with an offer that may have rung out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferReview {
    /// Still ringing (or not offered): nothing to do now.
    Pending,
    /// The agent's device changed state after the offer: the offer was taken (answered, or the
    /// call moved on). Nothing to do; the waiting record goes when the call settles.
    Taken,
    /// Rang out: put the call back at its position and set the agent not ready.
    RangOut { agent_username: String },
}

/// Reviews the offer of a waiting call at `now` against the agent's reservation.
pub fn review_offer(
    call: &WaitingCall,
    reservation: Option<&Reservation>,
    device_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> OfferReview {
    let Some(agent) = call.offered_to.as_deref() else {
        return OfferReview::Pending;
    };
    match reservation {
        Some(r) if r.call_id == call.call_id && r.username == agent => {
            if r.answered_at.is_some() || device_since.is_some_and(|since| since > r.offered_at) {
                OfferReview::Taken
            } else if r.expires_at <= now {
                OfferReview::RangOut {
                    agent_username: agent.to_owned(),
                }
            } else {
                OfferReview::Pending
            }
        }
        // The reservation is gone or belongs to another call: the offer is over, unanswered.
        _ => OfferReview::RangOut {
            agent_username: agent.to_owned(),
        },
    }
}

/// The lost call a waiting call became when it ended before anyone answered it (IN-22): lost in
/// the queue, or while ringing an agent when it was being offered. The contact reference is the
/// call key (`<relayId>/<callId>`), so a repeated trigger finds the callback it already made.
pub fn lost_from_waiting(call: &WaitingCall, lost_at: DateTime<Utc>) -> crate::callbacks::LostCall {
    use crate::contacts::{elapsed_ms, ContactOutcome, ContactResult, LostPhase};
    let phase = if call.offered_to.is_some() {
        LostPhase::RingingAgent
    } else {
        LostPhase::InQueue
    };
    crate::callbacks::LostCall {
        contact_id: call.call_id.clone(),
        queue_id: call.queue_id.clone(),
        caller: call.caller.clone(),
        entered_at: call.entered_at,
        priority: call.priority,
        outcome: ContactOutcome {
            result: ContactResult::Abandoned,
            lost_phase: Some(phase),
            total_ms: elapsed_ms(call.entered_at, lost_at),
            from_ivr_ms: None,
            from_queue_ms: Some(elapsed_ms(call.queued_at, lost_at)),
            from_ring_ms: None,
            answered_by: None,
            missed_by: Vec::new(),
        },
        client_id: None,
        client_name: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + seconds, 0).unwrap()
    }

    fn presence(device: &str, state: AgentState, since: i64) -> AgentPresence {
        AgentPresence {
            agent_id: Some(device.to_owned()),
            state,
            since: Some(at(since)),
            ..AgentPresence::new(device)
        }
    }

    fn identity(username: &str, number: &str) -> AgentIdentity {
        AgentIdentity {
            username: username.into(),
            agent_number: number.into(),
        }
    }

    fn reservation(username: &str, device: &str, call: &str, offered: i64) -> Reservation {
        Reservation {
            username: username.into(),
            device: device.into(),
            call_id: call.into(),
            queue_id: "kkc".into(),
            offered_at: at(offered),
            expires_at: at(offered) + TimeDelta::seconds(20),
            answered_at: None,
            wrap_up_from: None,
            rang_out_at: None,
        }
    }

    #[test]
    fn when_an_offer_rings_out_should_hold_the_agent_until_their_device_reports_a_new_state() {
        let offered = reservation("a", "2001", "c1", 0);
        let hold = offered.rang_out(60, at(20));
        assert_eq!(hold.rang_out_at, Some(at(20)));
        assert!(hold.wrap_up(Some(at(-100)), None, at(21)).is_none());
        // Still ready since before the offer: held.
        assert!(hold.holds(Some(at(-100)), at(21)));
        // The not-ready report (or any state after the ring-out) ends it.
        assert!(!hold.holds(Some(at(21)), at(22)));
        // Should no report come, it ends with its time.
        assert!(hold.holds(Some(at(-100)), at(79)));
        assert!(!hold.holds(Some(at(-100)), at(80)));
    }

    #[test]
    fn when_an_answered_call_ends_should_wrap_up_and_extend_only_within_the_queues_limit() {
        let mut offered = reservation("a", "2001", "c1", 0);
        offered.answered_at = Some(at(5));
        // The call ends at 100 s; the queue's wrap-up is 30 s, extendable to 90 s.
        let ended = offered.after_call(30, at(100));
        let wrap = ended.wrap_up(Some(at(0)), Some(90), at(101)).unwrap();
        assert_eq!((wrap.from, wrap.until), (at(100), at(130)));
        assert_eq!(wrap.extendable_until, Some(at(190)));
        let longer = ended
            .extended_wrap_up(45, Some(at(0)), Some(90), at(110))
            .unwrap();
        assert_eq!(longer.expires_at, at(175));
        let capped = longer
            .extended_wrap_up(45, Some(at(0)), Some(90), at(120))
            .unwrap();
        assert_eq!(capped.expires_at, at(190), "never past the limit");
        assert_eq!(
            capped.extended_wrap_up(10, Some(at(0)), Some(90), at(121)),
            Err(WrapUpError::AtLimit)
        );
        assert_eq!(
            ended.extended_wrap_up(10, Some(at(0)), None, at(101)),
            Err(WrapUpError::NotExtendable)
        );
        let done = ended.ended_wrap_up(Some(at(0)), at(105)).unwrap();
        assert!(!done.holds(Some(at(0)), at(105)), "free for the next call");
        assert_eq!(
            done.ended_wrap_up(Some(at(0)), at(106)),
            Err(WrapUpError::NotInWrapUp)
        );
    }

    #[test]
    fn when_no_call_was_answered_or_the_agent_changed_state_should_not_be_in_wrap_up() {
        let rang_out = reservation("a", "2001", "c1", 0).after_call(30, at(10));
        assert_eq!(rang_out.wrap_up(Some(at(0)), Some(60), at(10)), None);
        let mut offered = reservation("a", "2001", "c1", 0);
        offered.answered_at = Some(at(5));
        let ended = offered.after_call(30, at(100));
        // The agent went on a break at 110 s: the wrap-up is over.
        assert_eq!(ended.wrap_up(Some(at(110)), None, at(111)), None);
        assert_eq!(ended.wrap_up(Some(at(0)), None, at(131)), None, "over");
    }

    #[test]
    fn when_reservation_is_fresh_and_device_unchanged_should_hold() {
        let r = reservation("a", "2001", "c1", 10);
        assert!(r.holds(Some(at(5)), at(15)));
        assert!(!r.holds(Some(at(5)), at(30)), "expired");
        assert!(
            !r.holds(Some(at(12)), at(15)),
            "device changed state after the offer"
        );
        let mut answered = r.clone();
        answered.answered_at = Some(at(14));
        assert!(
            answered.holds(Some(at(5)), at(300)),
            "talking: held until the call ends"
        );
    }

    #[test]
    fn when_call_ends_should_keep_agent_for_wrap_up_only_if_answered() {
        let mut r = reservation("a", "2001", "c1", 10);
        r.answered_at = Some(at(14));
        let wrap = r.after_call(15, at(100));
        assert_eq!(wrap.expires_at, at(115));
        assert!(wrap.holds(Some(at(5)), at(110)));
        assert!(!wrap.holds(Some(at(5)), at(116)));
        let abandoned = reservation("a", "2001", "c1", 10).after_call(15, at(12));
        assert!(!abandoned.holds(Some(at(5)), at(12)));
    }

    #[test]
    fn when_devices_map_to_users_should_build_runtimes_with_reservations() {
        let presences = [
            presence("2001", AgentState::Ready, 0),
            presence("2002", AgentState::Busy, 3),
            presence("2999", AgentState::Ready, 0),
        ];
        let ids = [identity("jana", "2001"), identity("petr", "2002")];
        let reservations = [reservation("jana", "2001", "c1", 10)];
        let agents = agent_runtimes(&presences, &ids, &reservations, &[], at(12));
        assert_eq!(agents.len(), 2, "the unknown agent at 2999 is not routable");
        let jana = agents.iter().find(|a| a.username == "jana").unwrap();
        assert_eq!(jana.presence, Presence::Ready);
        assert_eq!(jana.ready_since, Some(at(0)));
        assert_eq!(jana.reserved_for.as_deref(), Some("c1"));
        assert!(!jana.is_available(at(12)));
        let petr = agents.iter().find(|a| a.username == "petr").unwrap();
        assert_eq!(petr.presence, Presence::Busy);
        assert_eq!(petr.ready_since, None);
    }

    #[test]
    fn when_user_is_at_two_devices_should_take_the_latest_change() {
        let mut moved = presence("2005", AgentState::Ready, 50);
        moved.agent_id = Some("2001".into());
        let presences = [presence("2001", AgentState::LoggedOff, 10), moved];
        let agents = agent_runtimes(&presences, &[identity("jana", "2001")], &[], &[], at(60));
        assert_eq!(agents.len(), 1);
        assert_eq!(agents[0].device, "2005");
    }

    #[test]
    fn when_agent_logs_off_the_old_device_after_logging_on_at_the_mobile_should_stay_at_the_mobile()
    {
        // GIVEN jana logged on at her mobile extension 2901 at 0:50, then the log-off at her
        // desk phone 2001 arrives (0:55)
        let mut mobile = presence("2901", AgentState::NotReady, 50);
        mobile.agent_id = Some("2001".into());
        let mut desk = presence("2001", AgentState::LoggedOff, 55);
        desk.agent_id = Some("2001".into());
        // WHEN the engine's view is built THEN she is at the mobile, not logged off
        let agents = agent_runtimes(
            &[desk, mobile],
            &[identity("jana", "2001")],
            &[],
            &[],
            at(60),
        );
        assert_eq!(agents.len(), 1);
        assert_eq!(agents[0].device, "2901");
        assert_eq!(agents[0].presence, Presence::NotReady);
    }

    fn devices() -> DeviceMap {
        DeviceMap {
            queues: [("kkc".to_owned(), "5100".to_owned())].into(),
            ivrs: [("main".to_owned(), "6001".to_owned())].into(),
            announcements: [("closed".to_owned(), "6901".to_owned())].into(),
            default_announcement: Some("6900".into()),
        }
    }

    #[test]
    fn when_decisions_are_mapped_should_give_pbx_devices() {
        let map = devices();
        let agent = |name: &str| (name == "jana").then(|| "2001".to_owned());
        let queue = Decision::Queue {
            queue_id: "kkc".into(),
            priority: 5,
            position: 1,
            sticky: None,
        };
        assert_eq!(map.destination(&queue, &agent).unwrap(), "5100");
        let ivr = Decision::Ivr {
            ivr_id: "main".into(),
            node: None,
        };
        assert_eq!(map.destination(&ivr, &agent).unwrap(), "6001");
        let closed = Decision::Announcement {
            announcement_id: "closed".into(),
            then: AnnouncementThen::HangUp,
        };
        assert_eq!(map.destination(&closed, &agent).unwrap(), "6901");
        let other = Decision::Announcement {
            announcement_id: "no-agents".into(),
            then: AnnouncementThen::HangUp,
        };
        assert_eq!(map.destination(&other, &agent).unwrap(), "6900");
        let to_agent = Decision::Overflow {
            target: OverflowTarget::Agent {
                username: "jana".into(),
            },
            reason: crate::routing::OverflowReason::Closed,
        };
        assert_eq!(map.destination(&to_agent, &agent).unwrap(), "2001");
        let mobile = Decision::Overflow {
            target: OverflowTarget::Mobile {
                number: "+420601123456".into(),
            },
            reason: crate::routing::OverflowReason::Closed,
        };
        assert_eq!(map.destination(&mobile, &agent).unwrap(), "+420601123456");
    }

    #[test]
    fn when_a_device_is_missing_should_refuse_so_the_relay_falls_back() {
        let map = DeviceMap::default();
        let agent = |_: &str| None;
        let queue = Decision::Queue {
            queue_id: "kkc".into(),
            priority: 5,
            position: 1,
            sticky: None,
        };
        assert_eq!(
            map.destination(&queue, &agent),
            Err(UnmappedDecision::Queue("kkc".into()))
        );
        let fallback = Decision::Fallback {
            reason: crate::routing::FallbackReason::NoMatchingRule,
        };
        assert_eq!(
            map.destination(&fallback, &agent),
            Err(UnmappedDecision::Fallback)
        );
    }

    fn offered(call: &str, agent: &str) -> WaitingCall {
        WaitingCall {
            call_id: call.into(),
            queue_id: "kkc".into(),
            priority: 5,
            entered_at: at(0),
            queued_at: at(1),
            offered_to: Some(agent.into()),
            sticky: None,
            caller: None,
        }
    }

    #[test]
    fn when_offer_is_reviewed_should_tell_pending_taken_and_rang_out() {
        let call = offered("c1", "jana");
        let r = reservation("jana", "2001", "c1", 10);
        assert_eq!(
            review_offer(&call, Some(&r), Some(at(5)), at(15)),
            OfferReview::Pending
        );
        assert_eq!(
            review_offer(&call, Some(&r), Some(at(12)), at(40)),
            OfferReview::Taken
        );
        assert_eq!(
            review_offer(&call, Some(&r), Some(at(5)), at(40)),
            OfferReview::RangOut {
                agent_username: "jana".into()
            }
        );
        let other = reservation("jana", "2001", "c2", 20);
        assert_eq!(
            review_offer(&call, Some(&other), Some(at(5)), at(25)),
            OfferReview::RangOut {
                agent_username: "jana".into()
            }
        );
        let mut waiting = call.clone();
        waiting.offered_to = None;
        assert_eq!(
            review_offer(&waiting, None, None, at(25)),
            OfferReview::Pending
        );
    }

    #[test]
    fn when_cti_events_arrive_should_imply_the_routing_triggers() {
        use cti_events::{
            AgentEvent, AgentStateKind, CallEvent, CallEventKind, CtiEnvelope, CtiEvent,
            SCHEMA_VERSION,
        };
        let envelope = |event| CtiEnvelope {
            version: SCHEMA_VERSION,
            event_id: "r1:1:1".into(),
            relay_id: "r1".into(),
            seq: 1,
            observed_at: at(0),
            event,
        };
        let agent = |state| {
            envelope(CtiEvent::Agent(AgentEvent {
                state,
                device: "2001".into(),
                agent_id: None,
                acd_group: None,
                reason_code: None,
                snapshot: false,
            }))
        };
        let call = |kind| {
            envelope(CtiEvent::Call(CallEvent {
                kind,
                call_id: "c1".into(),
                device: Some("2001".into()),
                ..CallEvent::default()
            }))
        };
        assert_eq!(
            triggers_for(&agent(AgentStateKind::Ready)),
            vec![RoutingTrigger::AgentAvailable {
                device: "2001".into()
            }]
        );
        assert!(triggers_for(&agent(AgentStateKind::NotReady)).is_empty());
        assert_eq!(
            triggers_for(&call(CallEventKind::Established)),
            vec![RoutingTrigger::CallSettled {
                call_id: "r1/c1".into(),
                answered_by: Some("2001".into())
            }]
        );
        for kind in [CallEventKind::ConnectionCleared, CallEventKind::CallCleared] {
            assert_eq!(
                triggers_for(&call(kind)),
                vec![RoutingTrigger::CallSettled {
                    call_id: "r1/c1".into(),
                    answered_by: None
                }]
            );
        }
        assert!(triggers_for(&call(CallEventKind::Delivered)).is_empty());
    }

    #[test]
    fn when_trigger_is_serialised_should_use_type_tag() {
        let json = serde_json::to_value(RoutingTrigger::CallSettled {
            call_id: "local-1/abc".into(),
            answered_by: Some("2001".into()),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "callSettled", "callId": "local-1/abc", "answeredBy": "2001"})
        );
        let back: RoutingTrigger =
            serde_json::from_str(r#"{"type":"agentAvailable","device":"2001"}"#).unwrap();
        assert_eq!(back.subject(), "2001");
    }
}
