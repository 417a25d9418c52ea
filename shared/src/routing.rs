//! The routing engine (IN-1, IN-4, IN-5, IN-7, IN-8, IN-9, IN-17, IN-18, ADM-4, ADM-7): given a
//! call and a snapshot of the contact centre, decide where the call goes — an IVR tree, an agent,
//! a queue to wait in, an overflow destination or an announcement — and, when an agent becomes
//! free, which waiting call it takes.
//!
//! Pure domain code: no I/O, no AWS types, no async, no clock (`now` is part of the snapshot).
//! The routing Lambda loads the snapshot (queues with members, agents, waiting calls) and the
//! [`InboundPlan`], calls [`decide`] for a relay `RouteQuery` ([`decide_queue`] when an IVR
//! `transferToQueue` node or a transfer names the queue, [`pick_call_for_agent`] when an agent
//! becomes ready, [`review_waiting_call`] on a waiting call's timer), then makes the
//! reservation with a DynamoDB conditional write. When that write loses a race it marks the
//! agent with [`RoutingSnapshot::reserve`] and decides again. For a call that waits or is being
//! offered it stores [`waiting_call_for`] (the record [`on_missed_offer`] puts back in place).
//!
//! # The inputs
//!
//! - [`RoutingSnapshot`] (built once per invocation by [`RoutingSnapshot::new`], which sorts and
//!   indexes, so that a decision afterwards is a few linear scans; it allocates only its
//!   answer — ids, the trail — and the schedule check's few ranges):
//!   - `now`;
//!   - [`QueueRuntime`]s: the admin [`Queue`] (priority 1–10, schedule, overflow), its
//!     [`QueueMember`]s (skill level and priority per agent per queue, ADM-7) and the routing
//!     settings Linka adds ([`QueueRouting`]: wrap-up time, maximum wait, maximum waiting calls,
//!     what to do when nobody is logged in, last-agent routing);
//!   - [`AgentRuntime`]s: presence (ready / not ready / busy / wrap-up / logged off), since when
//!     ready, wrap-up end, reservation;
//!   - [`WaitingCall`]s: the calls waiting in the queues.
//!
//!   The live statistics (logged-on, available, waiting, oldest wait: [`QueueStats`]) are
//!   derived from the same agents and waiting calls, so they never disagree with the decision;
//!   [`RoutingSnapshot::ivr_env`] hands the same figures and schedules to the IVR interpreter.
//! - [`CallFacts`]: the number dialled, the caller, the IVR choices and attributes, when the call
//!   entered the system, the caller's client record (status such as `VIP`), the last agent who
//!   talked with this number, whether recording is allowed.
//! - [`InboundPlan`]: ordered [`EntryRule`]s (first match wins) mapping dialled numbers, caller
//!   numbers or prefixes, client statuses, IVR paths, attributes and optional hours to an
//!   [`Entry`] (IVR tree, queue, or a direct destination), priority boosts per client status, and
//!   the [`RecordingPolicy`] (the insurer's own numbers, recording off for them, IN-7).
//!
//! # The decision ([`decide`])
//!
//! 1. The first matching rule (else the plan's default entry; else [`Decision::Fallback`], the
//!    relay's own fallback route) gives the entry. An IVR entry is returned as [`Decision::Ivr`];
//!    a destination entry as [`Decision::Overflow`] with [`OverflowReason::Rule`].
//! 2. For a queue, in this order:
//!    - **closed** (the queue's schedule in Europe/Prague, with Czech public holidays and dated
//!      exceptions, [`crate::queues::QueueSchedule::is_open`]): the queue's overflow target, or
//!      the closed announcement and hang up when it has none (IN-4, ADM-4);
//!    - **nobody logged in** (no member logged on): per [`NobodyLoggedIn`] — wait, overflow, or
//!      an announcement followed by hang-up or overflow (IN-9);
//!    - **queue full** (`maxWaitingCalls` reached): overflow;
//!    - **last agent** (IN-17): when the last agent who talked with this number (within
//!      `maxAgeHours`) is a member and available, the call goes to that agent; when that agent is
//!      logged on but not free, the call waits for them up to `holdSeconds` ([`StickyHold`]) and
//!      only then becomes available to any agent;
//!    - **calls ahead**: when waiting calls that any agent may take outrank this one, it waits
//!      behind them (no overtaking);
//!    - **best agent**: among the members that are available (ready, not reserved, past their
//!      wrap-up, IN-8, IN-18): the highest skill level, then the highest member priority, then the
//!      longest idle, then the username (deterministic) (IN-5, ADM-7);
//!    - otherwise the call **waits** ([`Decision::Queue`]) with its priority and position.
//! 3. Overflow to another queue is followed (at most [`MAX_OVERFLOW_HOPS`] queues, never the same
//!    queue twice) so the answer is final; other targets (extension, external number, mobile,
//!    agent, IVR) are returned as [`Decision::Overflow`] for the caller to dial, as is the target
//!    after an announcement ([`AnnouncementThen::Overflow`]). Mapping a decision to the device
//!    the PBX needs (queue pilot, IVR port, agent extension) is the caller's job.
//!
//! Every step is recorded in [`RoutingOutcome::trail`] for the audit log and the contact events.
//!
//! # Priorities and order of waiting calls
//!
//! A call's priority in a queue is the queue's priority (1–10) plus the boost of the caller's
//! client status ([`InboundPlan::client_priority`]) plus the matched rule's boost, saturating at
//! 255. It is fixed when the call enters the queue (`priority` of [`Decision::Queue`]). Waiting calls
//! are served by priority (higher first), then by the time the call entered the system
//! (`enteredAt`, earlier first), then by call id. A missed offer ([`on_missed_offer`]) keeps
//! `enteredAt` and priority, so the call is back at its original position; the agent goes not
//! ready with the reason [`MISSED_OFFER_REASON`].
//!
//! An agent in several queues ([`pick_call_for_agent`]) takes first a call held for them by
//! last-agent routing, then the best-ranked call over all their queues. The member priority
//! orders agents for a call, not calls for an agent.
//!
//! # Wrap-up (IN-18)
//!
//! When a call ends, the caller of this module sets [`AgentRuntime::wrap_up_until`] to
//! [`wrap_up_until`] (the end plus the queue's `wrapUpSeconds`). Until then the agent is not
//! available, whatever the PBX says; idle time counts from the later of ready-since and the end of
//! wrap-up.
//!
//! # Recording (IN-7)
//!
//! Calls are recorded when the call allows it and the plan records at all, except that the
//! insurer's own numbers ([`RecordingPolicy::own_numbers`]) follow
//! [`RecordingPolicy::record_own_numbers`] (off by default). The number checked is the external
//! party: the external or mobile destination of an overflow, otherwise the caller.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::admin_config::{Queue, QueueMember};
use crate::cti_state::AgentState;
use crate::queues::{OverflowTarget, QueueSchedule};

#[cfg(test)]
pub(crate) mod tests;

/// At most this many queues are visited when following queue overflows.
pub const MAX_OVERFLOW_HOPS: usize = 4;

/// The not-ready reason set on an agent who let an offered call ring out.
pub const MISSED_OFFER_REASON: &str = "missed-offer";

/// The announcement played when a closed queue has no overflow and no announcement of its own.
pub const DEFAULT_CLOSED_ANNOUNCEMENT: &str = "closed";

/// The announcement played by default when nobody is logged in (IN-9).
pub const DEFAULT_NOBODY_ANNOUNCEMENT: &str = "no-agents";

// ---------------------------------------------------------------------------------------------
// Agents
// ---------------------------------------------------------------------------------------------

/// An agent's presence as routing sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Presence {
    #[default]
    LoggedOff,
    /// Logged on but not taking calls (break, or availability not reported yet).
    NotReady,
    Ready,
    /// On a call.
    Busy,
    /// After-call work reported by the PBX.
    WrapUp,
}

impl From<AgentState> for Presence {
    fn from(state: AgentState) -> Self {
        match state {
            AgentState::LoggedOff => Self::LoggedOff,
            AgentState::LoggedOn | AgentState::NotReady => Self::NotReady,
            AgentState::Ready => Self::Ready,
            AgentState::Busy => Self::Busy,
            AgentState::WorkingAfterCall => Self::WrapUp,
        }
    }
}

/// One agent's live state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentRuntime {
    pub username: String,
    /// The extension the agent is logged on at.
    pub device: String,
    pub presence: Presence,
    /// Since when the agent is ready (longest idle first). `None` counts as "just now".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_since: Option<DateTime<Utc>>,
    /// End of the queue's wrap-up time after the last call (IN-18): not available before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up_until: Option<DateTime<Utc>>,
    /// The call this agent is reserved for (being offered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_for: Option<String>,
    /// Queues the agent logged out of at the desk (DESK-3): not a member of them for routing.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub logged_out_queues: BTreeSet<String>,
}

impl AgentRuntime {
    /// Logged on (in any state but logged off).
    pub fn is_logged_on(&self) -> bool {
        self.presence != Presence::LoggedOff
    }

    /// May be offered a call at `now`: ready, not reserved, past the wrap-up time (IN-8, IN-18).
    pub fn is_available(&self, now: DateTime<Utc>) -> bool {
        self.presence == Presence::Ready
            && self.reserved_for.is_none()
            && self.wrap_up_until.is_none_or(|until| until <= now)
    }

    /// Since when the agent is idle: the later of ready-since and the end of wrap-up.
    pub fn idle_since(&self) -> Option<DateTime<Utc>> {
        match (self.ready_since, self.wrap_up_until) {
            (Some(ready), Some(wrap)) => Some(ready.max(wrap)),
            (ready, wrap) => ready.or(wrap),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Queues
// ---------------------------------------------------------------------------------------------

/// What a queue does with a call while none of its members is logged on (IN-9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum NobodyLoggedIn {
    /// Queue the call anyway (someone may log on).
    Wait,
    /// Go to the queue's overflow target (announcement and hang-up when it has none).
    Overflow,
    /// Play an announcement, then hang up or overflow.
    Announce {
        announcement_id: String,
        then: AfterAnnouncement,
    },
}

impl Default for NobodyLoggedIn {
    fn default() -> Self {
        Self::Announce {
            announcement_id: DEFAULT_NOBODY_ANNOUNCEMENT.to_owned(),
            then: AfterAnnouncement::Overflow,
        }
    }
}

/// What follows an announcement (configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AfterAnnouncement {
    #[default]
    HangUp,
    /// The queue's overflow target; hang up when it has none.
    Overflow,
}

/// Last-agent routing of a queue (IN-17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastAgentRouting {
    /// How long a call waits for its last agent (when logged on but not free) before any agent
    /// may take it; 0: only when the last agent is free right away.
    pub hold_seconds: u32,
    /// Only a conversation at most this old counts.
    pub max_age_hours: u32,
}

/// Linka's routing settings of a queue, beside the admin [`Queue`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueRouting {
    /// After-call work after each call of this queue (IN-18).
    pub wrap_up_seconds: u32,
    /// The longest an agent may extend the wrap-up to, counted from the call's end (at least
    /// `wrapUpSeconds`); `None`: the wrap-up cannot be extended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wrap_up_seconds: Option<u32>,
    /// Longest wait in the queue before the call overflows (see [`review_waiting_call`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wait_seconds: Option<u32>,
    /// With this many calls waiting (not counting calls ringing at an agent), a new call
    /// overflows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_waiting_calls: Option<u32>,
    pub when_nobody_logged_in: NobodyLoggedIn,
    /// Played when the queue is closed and has no overflow target
    /// ([`DEFAULT_CLOSED_ANNOUNCEMENT`] when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_announcement: Option<String>,
    /// `None`: last-agent routing off for this queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_agent: Option<LastAgentRouting>,
    /// Callback policy and slots (IN-11, IN-22); `None`: the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callbacks: Option<crate::callbacks::QueueCallbackSettings>,
}

impl QueueRouting {
    /// The queue's callback settings, or the defaults.
    pub fn callback_settings(&self) -> crate::callbacks::QueueCallbackSettings {
        self.callbacks.clone().unwrap_or_default()
    }
}

/// One queue with its members and routing settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueRuntime {
    pub config: Queue,
    #[serde(default)]
    pub members: Vec<QueueMember>,
    #[serde(default)]
    pub routing: QueueRouting,
}

impl QueueRuntime {
    pub fn id(&self) -> &str {
        &self.config.queue_id
    }
}

/// The end of wrap-up for an agent whose call of `queue` ended at `ended_at` (IN-18).
pub fn wrap_up_until(queue: &QueueRuntime, ended_at: DateTime<Utc>) -> DateTime<Utc> {
    ended_at + TimeDelta::seconds(i64::from(queue.routing.wrap_up_seconds))
}

/// Live statistics of one queue, derived from the snapshot (IN-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    /// Members logged on (any state but logged off).
    pub logged_on: u32,
    /// Members available now (ready, not reserved, past wrap-up).
    pub available: u32,
    pub waiting: u32,
    /// When the longest-waiting call entered the queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_queued_at: Option<DateTime<Utc>>,
    pub open: bool,
}

impl QueueStats {
    /// The same figures as the IVR's `branchStatistic` node reads them (so that the IVR and
    /// routing see one truth, IN-9).
    pub fn for_ivr(&self, now: DateTime<Utc>) -> crate::ivr::QueueStats {
        crate::ivr::QueueStats {
            agents_logged_on: self.logged_on,
            agents_ready: self.available,
            waiting_calls: self.waiting,
            longest_wait_seconds: self.oldest_queued_at.map_or(0, |since| {
                u32::try_from((now - since).num_seconds().max(0)).unwrap_or(u32::MAX)
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Waiting calls
// ---------------------------------------------------------------------------------------------

/// A call waits for this agent until `until` (last-agent routing, IN-17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StickyHold {
    pub username: String,
    pub until: DateTime<Utc>,
}

/// A call waiting in a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitingCall {
    pub call_id: String,
    pub queue_id: String,
    /// Effective priority, fixed when the call entered the queue (higher first).
    pub priority: u8,
    /// When the call entered the system: the order among equal priorities. Kept across missed
    /// offers and overflows.
    pub entered_at: DateTime<Utc>,
    /// When the call entered this queue (maximum wait).
    pub queued_at: DateTime<Utc>,
    /// The agent the call is being offered to (ringing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<StickyHold>,
    /// The caller's number, to remember who talked with them (last-agent routing, IN-17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

impl WaitingCall {
    /// Serving order: higher priority, then earlier entry, then call id.
    pub fn rank(&self) -> (Reverse<u8>, DateTime<Utc>, &str) {
        (Reverse(self.priority), self.entered_at, &self.call_id)
    }
}

/// A call whose offer rang out, back in its queue, and what becomes of the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MissedOffer {
    /// The same call, same priority and `enteredAt` (so the same position), no longer offered.
    pub call: WaitingCall,
    pub agent_username: String,
    /// Always [`Presence::NotReady`].
    pub agent_presence: Presence,
    /// [`MISSED_OFFER_REASON`].
    pub agent_reason_code: String,
}

/// A missed offer (ring, no answer): the call goes back to its original position, the agent
/// goes not ready. A hold for this agent (last-agent routing) ends: any agent may take it now.
pub fn on_missed_offer(call: &WaitingCall, agent_username: &str) -> MissedOffer {
    let mut requeued = call.clone();
    requeued.offered_to = None;
    if requeued
        .sticky
        .as_ref()
        .is_some_and(|hold| hold.username == agent_username)
    {
        requeued.sticky = None;
    }
    MissedOffer {
        call: requeued,
        agent_username: agent_username.to_owned(),
        agent_presence: Presence::NotReady,
        agent_reason_code: MISSED_OFFER_REASON.to_owned(),
    }
}

/// Whether a queue holds more calls than its `maxWaitingCalls` (calls ringing at an agent no
/// longer wait). Checked after a call was stored as waiting: the decision counted the calls of
/// a snapshot, and concurrent decisions may have filled the queue since. Every call that
/// finds the queue over its limit after its own write leaves again, so the limit holds at any
/// number of concurrent decisions (the last writer always sees every other kept call); at
/// worst a call that raced at the edge overflows although a place came free.
pub fn queue_over_limit(
    waiting: &[WaitingCall],
    queue_id: &str,
    max_waiting_calls: Option<u32>,
) -> bool {
    let Some(max) = max_waiting_calls else {
        return false;
    };
    let count = waiting
        .iter()
        .filter(|call| call.queue_id == queue_id && call.offered_to.is_none())
        .count();
    u32::try_from(count).map_or(true, |count| count > max)
}

/// The waiting-call record to store for a decision that puts the call in a queue: waiting
/// ([`Decision::Queue`]) or being offered ([`Decision::Agent`], so that a missed offer finds its
/// original position). `None` for the other decisions.
pub fn waiting_call_for(
    call: &CallFacts,
    decision: &Decision,
    now: DateTime<Utc>,
) -> Option<WaitingCall> {
    let (queue_id, priority, offered_to, sticky) = match decision {
        Decision::Queue {
            queue_id,
            priority,
            sticky,
            ..
        } => (queue_id, *priority, None, sticky.clone()),
        Decision::Agent {
            username,
            queue_id,
            priority,
            ..
        } => (queue_id, *priority, Some(username.clone()), None),
        _ => return None,
    };
    Some(WaitingCall {
        caller: call.caller.clone(),
        call_id: call.call_id.clone(),
        queue_id: queue_id.clone(),
        priority,
        entered_at: call.entered_at,
        queued_at: now,
        offered_to,
        sticky,
    })
}

// ---------------------------------------------------------------------------------------------
// The call and the plan
// ---------------------------------------------------------------------------------------------

/// What is known of the caller's client record (IN-1, IN-15).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Status or segment, e.g. `VIP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// The last agent who talked with the calling number (IN-17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastAgent {
    pub username: String,
    pub at: DateTime<Utc>,
}

fn default_true() -> bool {
    true
}

/// The call to route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallFacts {
    pub call_id: String,
    /// The number dialled (pilot, DID).
    pub dialled: String,
    /// The caller: E.164 or an internal extension; `None` when withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// The IVR menu path chosen so far, e.g. `["1", "3"]`; empty before any IVR.
    #[serde(default)]
    pub ivr_choices: Vec<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// When the call entered the system.
    pub entered_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_agent: Option<LastAgent>,
    /// `false` when this call must not be recorded whatever the plan says.
    #[serde(default = "default_true")]
    pub recording_allowed: bool,
}

/// Where a matching rule sends the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Entry {
    Ivr {
        ivr_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    Queue {
        queue_id: String,
    },
    /// Straight to a destination (another line, external number, mobile, agent, IVR).
    Destination {
        target: OverflowTarget,
    },
}

/// The conditions of a rule; every given condition must hold (an empty list means "any").
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RuleMatch {
    /// Any of these dialled numbers (exact).
    pub dialled: Vec<String>,
    /// Any of these caller patterns: exact, or a prefix ending in `*` (`+420585*`).
    pub callers: Vec<String>,
    /// Any of these client statuses.
    pub client_statuses: Vec<String>,
    /// Exactly this IVR path; `Some([])` matches only calls that have not been in an IVR yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ivr_choices: Option<Vec<String>>,
    /// Every one of these call attributes, with these values.
    pub attributes: BTreeMap<String, String>,
    /// Only while this schedule is open (Europe/Prague, holidays, exceptions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub during: Option<QueueSchedule>,
}

/// One inbound routing rule (IN-1, IN-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryRule {
    pub rule_id: String,
    #[serde(default)]
    pub when: RuleMatch,
    pub entry: Entry,
    /// Added to the call's priority in the queue.
    #[serde(default)]
    pub priority_boost: u8,
}

/// Priority boost for a client status (e.g. `VIP` +5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusPriority {
    pub status: String,
    pub boost: u8,
}

/// Recording rules (IN-7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecordingPolicy {
    /// Record calls at all.
    pub record: bool,
    /// The insurer's own numbers: exact, or a prefix ending in `*`.
    pub own_numbers: Vec<String>,
    /// Whether calls with the insurer's own numbers are recorded.
    pub record_own_numbers: bool,
}

impl Default for RecordingPolicy {
    fn default() -> Self {
        Self {
            record: true,
            own_numbers: Vec::new(),
            record_own_numbers: false,
        }
    }
}

/// The inbound routing plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InboundPlan {
    /// In order; the first match wins.
    pub rules: Vec<EntryRule>,
    /// When no rule matches; `None`: the relay's fallback route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_entry: Option<Entry>,
    pub client_priority: Vec<StatusPriority>,
    pub recording: RecordingPolicy,
}

/// A number against a pattern: exact, or a prefix when the pattern ends in `*`.
pub fn number_matches(pattern: &str, number: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => number.starts_with(prefix),
        None => number == pattern,
    }
}

impl RuleMatch {
    /// Whether the call meets every condition at `now`.
    pub fn matches(&self, call: &CallFacts, now: DateTime<Utc>) -> bool {
        let status = call.client.as_ref().and_then(|c| c.status.as_deref());
        (self.dialled.is_empty() || self.dialled.contains(&call.dialled))
            && (self.callers.is_empty()
                || call
                    .caller
                    .as_deref()
                    .is_some_and(|caller| self.callers.iter().any(|p| number_matches(p, caller))))
            && (self.client_statuses.is_empty()
                || status.is_some_and(|s| {
                    self.client_statuses
                        .iter()
                        .any(|x| x.eq_ignore_ascii_case(s))
                }))
            && self
                .ivr_choices
                .as_ref()
                .is_none_or(|path| *path == call.ivr_choices)
            && self
                .attributes
                .iter()
                .all(|(key, value)| call.attributes.get(key) == Some(value))
            && self
                .during
                .as_ref()
                .is_none_or(|schedule| schedule.is_open(now))
    }
}

impl InboundPlan {
    /// The first matching rule.
    pub fn rule_for(&self, call: &CallFacts, now: DateTime<Utc>) -> Option<&EntryRule> {
        self.rules.iter().find(|rule| rule.when.matches(call, now))
    }

    /// The boost of the caller's client status (0 when none).
    pub fn status_boost(&self, call: &CallFacts) -> u8 {
        let Some(status) = call.client.as_ref().and_then(|c| c.status.as_deref()) else {
            return 0;
        };
        self.client_priority
            .iter()
            .filter(|p| p.status.eq_ignore_ascii_case(status))
            .map(|p| p.boost)
            .max()
            .unwrap_or(0)
    }

    /// Whether a number is one of the insurer's own.
    pub fn is_own_number(&self, number: &str) -> bool {
        self.recording
            .own_numbers
            .iter()
            .any(|pattern| number_matches(pattern, number))
    }

    /// Whether the call is recorded with this decision (IN-7).
    pub fn recording_for(&self, call: &CallFacts, decision: &Decision) -> bool {
        if !call.recording_allowed || !self.recording.record {
            return false;
        }
        let external = match decision {
            Decision::Overflow { target, .. }
            | Decision::Announcement {
                then: AnnouncementThen::Overflow { target },
                ..
            } => match target {
                OverflowTarget::External { number } | OverflowTarget::Mobile { number } => {
                    Some(number.as_str())
                }
                _ => None,
            },
            _ => None,
        }
        .or(call.caller.as_deref());
        match external {
            Some(number) if self.is_own_number(number) => self.recording.record_own_numbers,
            _ => true,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The decision
// ---------------------------------------------------------------------------------------------

/// Why a call overflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OverflowReason {
    /// Outside the queue's opening hours (IN-4).
    Closed,
    /// No member logged on (IN-9).
    NobodyLoggedIn,
    /// Too many calls waiting.
    QueueFull,
    /// Waited longer than the queue's maximum.
    MaxWait,
    /// A routing rule sends the call there.
    Rule,
}

/// Why this agent was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum AgentReason {
    /// The last agent who talked with this number (IN-17).
    LastAgent,
    /// The best skill group, then member priority, then longest idle (IN-5, ADM-7).
    BestAgent {
        skill_level: u8,
        member_priority: u8,
    },
}

/// What follows an announcement (decision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum AnnouncementThen {
    HangUp,
    Overflow { target: OverflowTarget },
}

/// Why the relay's own fallback route is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FallbackReason {
    /// No rule matched and the plan has no default entry.
    NoMatchingRule,
    /// A rule or overflow names a queue that is not configured.
    UnknownQueue { queue_id: String },
    /// Queue overflows go round in a circle or go too deep.
    OverflowLoop { queue_id: String },
}

/// Where the call goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Decision {
    /// Into an IVR tree (IN-10).
    Ivr {
        ivr_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    /// Offer to this agent now; the caller reserves the agent (conditional write).
    Agent {
        username: String,
        device: String,
        queue_id: String,
        /// The call's priority in the queue, kept if the offer is missed.
        priority: u8,
        reason: AgentReason,
    },
    /// Wait in the queue.
    Queue {
        queue_id: String,
        priority: u8,
        /// 1 = next to be served.
        position: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sticky: Option<StickyHold>,
    },
    /// To a destination outside the queues (a queue target has already been followed).
    Overflow {
        target: OverflowTarget,
        reason: OverflowReason,
    },
    /// Play an announcement, then hang up or overflow.
    Announcement {
        announcement_id: String,
        then: AnnouncementThen,
    },
    /// Let the relay use its own fallback route.
    Fallback { reason: FallbackReason },
}

/// One step of a decision, for the audit log and the contact events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "step",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Step {
    Rule {
        rule_id: String,
    },
    DefaultEntry,
    ClientPriority {
        status: String,
        boost: u8,
    },
    QueueClosed {
        queue_id: String,
    },
    NobodyLoggedIn {
        queue_id: String,
    },
    QueueFull {
        queue_id: String,
        waiting: u32,
    },
    MaxWait {
        queue_id: String,
    },
    OverflowToQueue {
        from: String,
        to: String,
    },
    LastAgentFree {
        username: String,
    },
    LastAgentHold {
        username: String,
        until: DateTime<Utc>,
    },
    CallsAhead {
        queue_id: String,
        count: u32,
    },
    NoAgentAvailable {
        queue_id: String,
    },
}

/// A decision with its recording flag and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingOutcome {
    pub decision: Decision,
    /// Record the call (IN-7).
    pub recording: bool,
    pub trail: Vec<Step>,
}

/// The waiting call an agent takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pick {
    pub call_id: String,
    pub queue_id: String,
}

/// What to do with a call that is waiting (on its timer, see [`review_waiting_call`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Review {
    /// Keep waiting; look again at `next_review_at` (when a hold or the maximum wait ends).
    Keep {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_review_at: Option<DateTime<Utc>>,
    },
    /// An agent is available for it now.
    Offer {
        username: String,
        device: String,
        reason: AgentReason,
    },
    /// It leaves the queue (maximum wait): the outcome says where.
    Leave { outcome: RoutingOutcome },
}

// ---------------------------------------------------------------------------------------------
// The snapshot
// ---------------------------------------------------------------------------------------------

/// A snapshot that cannot be indexed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SnapshotError {
    #[error("queue {0:?} appears twice")]
    DuplicateQueue(String),
    #[error("agent {0:?} appears twice")]
    DuplicateAgent(String),
    #[error("waiting call {0:?} appears twice")]
    DuplicateCall(String),
}

/// A queue member with the index of its agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    agent: usize,
    skill: u8,
    priority: u8,
}

/// A queue an agent is a member of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Membership {
    queue: usize,
    slot: Slot,
}

/// Everything routing reads, indexed once (see the module docs).
#[derive(Debug, Clone)]
pub struct RoutingSnapshot {
    now: DateTime<Utc>,
    /// Sorted by queue id.
    queues: Vec<QueueRuntime>,
    /// Sorted by username, so an agent's index orders usernames.
    agents: Vec<AgentRuntime>,
    waiting: Vec<WaitingCall>,
    /// Per queue: its members that have an agent record.
    members: Vec<Vec<Slot>>,
    /// Per agent: the queues it is a member of.
    agent_queues: Vec<Vec<Membership>>,
    /// Per queue: indexes into `waiting`, in serving order.
    queue_waiting: Vec<Vec<usize>>,
}

impl RoutingSnapshot {
    /// Indexes the snapshot. Members without an agent record count as logged off; waiting calls
    /// in unknown queues are ignored.
    pub fn new(
        now: DateTime<Utc>,
        mut queues: Vec<QueueRuntime>,
        mut agents: Vec<AgentRuntime>,
        waiting: Vec<WaitingCall>,
    ) -> Result<Self, SnapshotError> {
        queues.sort_by(|a, b| a.id().cmp(b.id()));
        if let Some(pair) = queues.windows(2).find(|w| w[0].id() == w[1].id()) {
            return Err(SnapshotError::DuplicateQueue(pair[0].id().to_owned()));
        }
        agents.sort_by(|a, b| a.username.cmp(&b.username));
        if let Some(pair) = agents.windows(2).find(|w| w[0].username == w[1].username) {
            return Err(SnapshotError::DuplicateAgent(pair[0].username.clone()));
        }
        let mut members = Vec::with_capacity(queues.len());
        let mut agent_queues = vec![Vec::new(); agents.len()];
        for (qi, queue) in queues.iter().enumerate() {
            let mut slots = Vec::with_capacity(queue.members.len());
            for member in &queue.members {
                let Ok(agent) =
                    agents.binary_search_by(|a| a.username.as_str().cmp(&member.username))
                else {
                    continue;
                };
                if agents
                    .get(agent)
                    .is_some_and(|a| a.logged_out_queues.contains(queue.id()))
                {
                    continue;
                }
                if slots.iter().any(|s: &Slot| s.agent == agent) {
                    continue;
                }
                let slot = Slot {
                    agent,
                    skill: member.skill_level,
                    priority: member.priority,
                };
                slots.push(slot);
                if let Some(list) = agent_queues.get_mut(agent) {
                    list.push(Membership { queue: qi, slot });
                }
            }
            members.push(slots);
        }
        let mut queue_waiting = vec![Vec::new(); queues.len()];
        let mut ids: Vec<&str> = waiting.iter().map(|w| w.call_id.as_str()).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(SnapshotError::DuplicateCall(pair[0].to_owned()));
        }
        for (wi, call) in waiting.iter().enumerate() {
            if let Ok(qi) = queues.binary_search_by(|q| q.id().cmp(&call.queue_id)) {
                if let Some(list) = queue_waiting.get_mut(qi) {
                    list.push(wi);
                }
            }
        }
        for list in &mut queue_waiting {
            list.sort_by(|&a, &b| match (waiting.get(a), waiting.get(b)) {
                (Some(a), Some(b)) => a.rank().cmp(&b.rank()),
                _ => Ordering::Equal,
            });
        }
        Ok(Self {
            now,
            queues,
            agents,
            waiting,
            members,
            agent_queues,
            queue_waiting,
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn queues(&self) -> &[QueueRuntime] {
        &self.queues
    }

    pub fn agents(&self) -> &[AgentRuntime] {
        &self.agents
    }

    pub fn waiting(&self) -> &[WaitingCall] {
        &self.waiting
    }

    fn queue_index(&self, queue_id: &str) -> Option<usize> {
        self.queues.binary_search_by(|q| q.id().cmp(queue_id)).ok()
    }

    fn agent_index(&self, username: &str) -> Option<usize> {
        self.agents
            .binary_search_by(|a| a.username.as_str().cmp(username))
            .ok()
    }

    pub fn queue(&self, queue_id: &str) -> Option<&QueueRuntime> {
        self.queue_index(queue_id)
            .and_then(|qi| self.queues.get(qi))
    }

    pub fn agent(&self, username: &str) -> Option<&AgentRuntime> {
        self.agent_index(username)
            .and_then(|ai| self.agents.get(ai))
    }

    /// The waiting call with this id.
    pub fn waiting_call(&self, call_id: &str) -> Option<&WaitingCall> {
        self.waiting.iter().find(|w| w.call_id == call_id)
    }

    /// The same snapshot with the waiting calls read again (after a concurrent decision changed
    /// them); agents stay as they are, reservations made on this snapshot included.
    pub fn with_waiting(self, waiting: Vec<WaitingCall>) -> Result<Self, SnapshotError> {
        Self::new(self.now, self.queues, self.agents, waiting)
    }

    /// Marks an agent reserved for a call (after a successful reservation, or a lost race), so
    /// that the next decision on this snapshot skips the agent. `false` when the agent is unknown.
    pub fn reserve(&mut self, username: &str, call_id: &str) -> bool {
        match self
            .agent_index(username)
            .and_then(|ai| self.agents.get_mut(ai))
        {
            Some(agent) => {
                agent.reserved_for = Some(call_id.to_owned());
                true
            }
            None => false,
        }
    }

    /// The IVR interpreter's environment from this snapshot: every queue's schedule and live
    /// statistics, and the caller's client status.
    pub fn ivr_env(&self, client_status: Option<String>) -> crate::ivr::IvrEnv {
        let mut env = crate::ivr::IvrEnv::at(self.now);
        env.client_status = client_status;
        for queue in &self.queues {
            env.schedules
                .insert(queue.id().to_owned(), queue.config.schedule.clone());
            if let Some(stats) = self.queue_stats(queue.id()) {
                env.stats
                    .insert(queue.id().to_owned(), stats.for_ivr(self.now));
            }
        }
        env
    }

    /// Live statistics of a queue (IN-9).
    pub fn queue_stats(&self, queue_id: &str) -> Option<QueueStats> {
        let qi = self.queue_index(queue_id)?;
        let queue = self.queues.get(qi)?;
        let mut stats = QueueStats {
            logged_on: 0,
            available: 0,
            waiting: 0,
            oldest_queued_at: None,
            open: queue.config.schedule.is_open(self.now),
        };
        for slot in self.members.get(qi).map_or(&[][..], Vec::as_slice) {
            if let Some(agent) = self.agents.get(slot.agent) {
                stats.logged_on += u32::from(agent.is_logged_on());
                stats.available += u32::from(agent.is_available(self.now));
            }
        }
        for call in self.waiting_in(qi).filter(|call| call.offered_to.is_none()) {
            stats.waiting += 1;
            stats.oldest_queued_at = Some(
                stats
                    .oldest_queued_at
                    .map_or(call.queued_at, |t| t.min(call.queued_at)),
            );
        }
        Some(stats)
    }

    fn waiting_in(&self, qi: usize) -> impl Iterator<Item = &WaitingCall> + '_ {
        self.queue_waiting
            .get(qi)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|&wi| self.waiting.get(wi))
    }

    fn any_logged_on(&self, qi: usize) -> bool {
        self.members.get(qi).is_some_and(|slots| {
            slots.iter().any(|slot| {
                self.agents
                    .get(slot.agent)
                    .is_some_and(AgentRuntime::is_logged_on)
            })
        })
    }

    /// A waiting call that `agent` (index) may take now: not being offered, not held for another
    /// logged-on agent.
    fn may_take(&self, call: &WaitingCall, agent: Option<usize>) -> bool {
        if call.offered_to.is_some() {
            return false;
        }
        match &call.sticky {
            Some(hold) if hold.until > self.now => {
                let holder = self.agent_index(&hold.username);
                holder == agent
                    || !holder
                        .and_then(|h| self.agents.get(h))
                        .is_some_and(AgentRuntime::is_logged_on)
            }
            _ => true,
        }
    }

    /// The best available member of a queue: skill, member priority, longest idle, username.
    fn best_agent(&self, qi: usize) -> Option<Slot> {
        let mut best: Option<(Slot, &AgentRuntime)> = None;
        for slot in self.members.get(qi).map_or(&[][..], Vec::as_slice) {
            let Some(agent) = self.agents.get(slot.agent) else {
                continue;
            };
            if !agent.is_available(self.now) {
                continue;
            }
            let better = match best {
                None => true,
                Some((current, current_agent)) => {
                    agent_order(slot, agent, &current, current_agent, self.now) == Ordering::Less
                }
            };
            if better {
                best = Some((*slot, agent));
            }
        }
        best.map(|(slot, _)| slot)
    }
}

/// `Less` when `a` should get the call before `b`.
fn agent_order(
    a: &Slot,
    a_agent: &AgentRuntime,
    b: &Slot,
    b_agent: &AgentRuntime,
    now: DateTime<Utc>,
) -> Ordering {
    let idle = |agent: &AgentRuntime| agent.idle_since().unwrap_or(now);
    b.skill
        .cmp(&a.skill)
        .then(b.priority.cmp(&a.priority))
        .then(idle(a_agent).cmp(&idle(b_agent)))
        .then(a.agent.cmp(&b.agent))
}

// ---------------------------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------------------------

/// Decides where a call goes (see the module docs for the order of the rules).
pub fn decide(call: &CallFacts, plan: &InboundPlan, snapshot: &RoutingSnapshot) -> RoutingOutcome {
    let mut trail = Vec::new();
    let now = snapshot.now;
    let (entry, rule_boost) = match plan.rule_for(call, now) {
        Some(rule) => {
            trail.push(Step::Rule {
                rule_id: rule.rule_id.clone(),
            });
            (Some(&rule.entry), rule.priority_boost)
        }
        None => {
            if plan.default_entry.is_some() {
                trail.push(Step::DefaultEntry);
            }
            (plan.default_entry.as_ref(), 0)
        }
    };
    let decision = match entry {
        None => Decision::Fallback {
            reason: FallbackReason::NoMatchingRule,
        },
        Some(Entry::Ivr { ivr_id, node }) => Decision::Ivr {
            ivr_id: ivr_id.clone(),
            node: node.clone(),
        },
        Some(Entry::Destination { target }) => route_target(
            target.clone(),
            OverflowReason::Rule,
            call,
            plan,
            snapshot,
            rule_boost,
            &mut trail,
            0,
        ),
        Some(Entry::Queue { queue_id }) => {
            let boost = rule_boost.saturating_add(client_boost(call, plan, &mut trail));
            route_queue(queue_id, None, call, plan, snapshot, boost, &mut trail, 0)
        }
    };
    let recording = plan.recording_for(call, &decision);
    RoutingOutcome {
        decision,
        recording,
        trail,
    }
}

/// Decides for a call sent straight to a queue — by an IVR `transferToQueue` node, a transfer to
/// a queue (IN-20) or a callback — with the same checks as [`decide`] from step 2 (hours,
/// nobody logged in, full, last agent, calls ahead, best agent) and the client-status boost.
/// `priority`: the call's priority instead of the queue's own (the IVR node's, 1–10).
pub fn decide_queue(
    call: &CallFacts,
    queue_id: &str,
    priority: Option<u8>,
    plan: &InboundPlan,
    snapshot: &RoutingSnapshot,
) -> RoutingOutcome {
    let mut trail = Vec::new();
    let boost = client_boost(call, plan, &mut trail);
    let decision = route_queue(
        queue_id, priority, call, plan, snapshot, boost, &mut trail, 0,
    );
    let recording = plan.recording_for(call, &decision);
    RoutingOutcome {
        decision,
        recording,
        trail,
    }
}

/// The client-status boost, noted in the trail.
fn client_boost(call: &CallFacts, plan: &InboundPlan, trail: &mut Vec<Step>) -> u8 {
    let boost = plan.status_boost(call);
    if boost > 0 {
        if let Some(status) = call.client.as_ref().and_then(|c| c.status.clone()) {
            trail.push(Step::ClientPriority { status, boost });
        }
    }
    boost
}

/// A target: a queue is followed, anything else is the decision.
#[allow(clippy::too_many_arguments)]
fn route_target(
    target: OverflowTarget,
    reason: OverflowReason,
    call: &CallFacts,
    plan: &InboundPlan,
    snapshot: &RoutingSnapshot,
    boost: u8,
    trail: &mut Vec<Step>,
    hops: usize,
) -> Decision {
    match target {
        OverflowTarget::Queue { queue_id } => {
            let boost = boost.saturating_add(client_boost(call, plan, trail));
            route_queue(&queue_id, None, call, plan, snapshot, boost, trail, hops)
        }
        target => Decision::Overflow { target, reason },
    }
}

/// Overflow out of `queue` for `reason`: to its target, or the announcement and hang-up.
#[allow(clippy::too_many_arguments)]
fn overflow_from(
    queue: &QueueRuntime,
    reason: OverflowReason,
    call: &CallFacts,
    plan: &InboundPlan,
    snapshot: &RoutingSnapshot,
    boost: u8,
    trail: &mut Vec<Step>,
    hops: usize,
) -> Decision {
    match &queue.config.overflow {
        Some(OverflowTarget::Queue { queue_id }) => {
            trail.push(Step::OverflowToQueue {
                from: queue.id().to_owned(),
                to: queue_id.clone(),
            });
            route_queue(queue_id, None, call, plan, snapshot, boost, trail, hops + 1)
        }
        Some(target) => Decision::Overflow {
            target: target.clone(),
            reason,
        },
        None => Decision::Announcement {
            announcement_id: match reason {
                OverflowReason::NobodyLoggedIn => DEFAULT_NOBODY_ANNOUNCEMENT.to_owned(),
                _ => queue
                    .routing
                    .closed_announcement
                    .clone()
                    .unwrap_or_else(|| DEFAULT_CLOSED_ANNOUNCEMENT.to_owned()),
            },
            then: AnnouncementThen::HangUp,
        },
    }
}

/// Routes into a queue. `base`: the call's priority instead of the queue's own (IVR transfer);
/// `boost` is added to it.
#[allow(clippy::too_many_arguments)]
fn route_queue(
    queue_id: &str,
    base: Option<u8>,
    call: &CallFacts,
    plan: &InboundPlan,
    snapshot: &RoutingSnapshot,
    boost: u8,
    trail: &mut Vec<Step>,
    hops: usize,
) -> Decision {
    let Some(qi) = snapshot.queue_index(queue_id) else {
        return Decision::Fallback {
            reason: FallbackReason::UnknownQueue {
                queue_id: queue_id.to_owned(),
            },
        };
    };
    let Some(queue) = snapshot.queues.get(qi) else {
        return Decision::Fallback {
            reason: FallbackReason::UnknownQueue {
                queue_id: queue_id.to_owned(),
            },
        };
    };
    let visited_before = trail
        .iter()
        .any(|step| matches!(step, Step::OverflowToQueue { from, .. } if from == queue_id));
    if hops > MAX_OVERFLOW_HOPS || visited_before {
        return Decision::Fallback {
            reason: FallbackReason::OverflowLoop {
                queue_id: queue_id.to_owned(),
            },
        };
    }
    let now = snapshot.now;

    // Closed (IN-4).
    if !queue.config.schedule.is_open(now) {
        trail.push(Step::QueueClosed {
            queue_id: queue_id.to_owned(),
        });
        return overflow_from(
            queue,
            OverflowReason::Closed,
            call,
            plan,
            snapshot,
            boost,
            trail,
            hops,
        );
    }

    // Nobody logged in (IN-9).
    if !snapshot.any_logged_on(qi) {
        match &queue.routing.when_nobody_logged_in {
            NobodyLoggedIn::Wait => {}
            NobodyLoggedIn::Overflow => {
                trail.push(Step::NobodyLoggedIn {
                    queue_id: queue_id.to_owned(),
                });
                return overflow_from(
                    queue,
                    OverflowReason::NobodyLoggedIn,
                    call,
                    plan,
                    snapshot,
                    boost,
                    trail,
                    hops,
                );
            }
            NobodyLoggedIn::Announce {
                announcement_id,
                then,
            } => {
                trail.push(Step::NobodyLoggedIn {
                    queue_id: queue_id.to_owned(),
                });
                let then = match (then, &queue.config.overflow) {
                    (AfterAnnouncement::Overflow, Some(target)) => AnnouncementThen::Overflow {
                        target: target.clone(),
                    },
                    _ => AnnouncementThen::HangUp,
                };
                return Decision::Announcement {
                    announcement_id: announcement_id.clone(),
                    then,
                };
            }
        }
    }

    // Queue full: calls ringing at an agent are no longer waiting.
    let waiting = snapshot
        .waiting_in(qi)
        .filter(|w| w.call_id != call.call_id && w.offered_to.is_none())
        .count();
    let waiting = u32::try_from(waiting).unwrap_or(u32::MAX);
    if queue
        .routing
        .max_waiting_calls
        .is_some_and(|max| waiting >= max)
    {
        trail.push(Step::QueueFull {
            queue_id: queue_id.to_owned(),
            waiting,
        });
        return overflow_from(
            queue,
            OverflowReason::QueueFull,
            call,
            plan,
            snapshot,
            boost,
            trail,
            hops,
        );
    }

    let priority = base.unwrap_or(queue.config.priority).saturating_add(boost);

    // Last agent (IN-17).
    let mut sticky = None;
    if let (Some(settings), Some(last)) = (&queue.routing.last_agent, &call.last_agent) {
        let recent = now - last.at <= TimeDelta::hours(i64::from(settings.max_age_hours));
        let member = snapshot.agent_index(&last.username).filter(|&ai| {
            snapshot
                .members
                .get(qi)
                .is_some_and(|slots| slots.iter().any(|s| s.agent == ai))
        });
        let agent = member
            .filter(|_| recent)
            .and_then(|ai| snapshot.agents.get(ai));
        if let Some(agent) = agent {
            if agent.is_available(now) {
                trail.push(Step::LastAgentFree {
                    username: agent.username.clone(),
                });
                return Decision::Agent {
                    username: agent.username.clone(),
                    device: agent.device.clone(),
                    queue_id: queue_id.to_owned(),
                    priority,
                    reason: AgentReason::LastAgent,
                };
            }
            if agent.is_logged_on() && settings.hold_seconds > 0 {
                let until = now + TimeDelta::seconds(i64::from(settings.hold_seconds));
                trail.push(Step::LastAgentHold {
                    username: agent.username.clone(),
                    until,
                });
                sticky = Some(StickyHold {
                    username: agent.username.clone(),
                    until,
                });
            }
        }
    }

    // Calls ahead, position.
    let (ahead, pickable_ahead) =
        calls_ahead(snapshot, qi, priority, call.entered_at, &call.call_id);
    if sticky.is_none() {
        if pickable_ahead > 0 {
            trail.push(Step::CallsAhead {
                queue_id: queue_id.to_owned(),
                count: pickable_ahead,
            });
        } else if let Some(slot) = snapshot.best_agent(qi) {
            if let Some(agent) = snapshot.agents.get(slot.agent) {
                return Decision::Agent {
                    username: agent.username.clone(),
                    device: agent.device.clone(),
                    queue_id: queue_id.to_owned(),
                    priority,
                    reason: AgentReason::BestAgent {
                        skill_level: slot.skill,
                        member_priority: slot.priority,
                    },
                };
            }
        } else {
            trail.push(Step::NoAgentAvailable {
                queue_id: queue_id.to_owned(),
            });
        }
    }
    Decision::Queue {
        queue_id: queue_id.to_owned(),
        priority,
        position: ahead.saturating_add(1),
        sticky,
    }
}

/// Waiting calls of queue `qi` that rank before a call of this priority and entry, other than
/// the call itself: `(all not being offered, those any agent may take now)`.
fn calls_ahead(
    snapshot: &RoutingSnapshot,
    qi: usize,
    priority: u8,
    entered_at: DateTime<Utc>,
    call_id: &str,
) -> (u32, u32) {
    let key = (Reverse(priority), entered_at, call_id);
    let mut ahead = 0_u32;
    let mut pickable = 0_u32;
    for other in snapshot.waiting_in(qi) {
        if other.rank() >= key {
            break;
        }
        if other.offered_to.is_some() {
            continue;
        }
        ahead += 1;
        if snapshot.may_take(other, None) {
            pickable += 1;
        }
    }
    (ahead, pickable)
}

// ---------------------------------------------------------------------------------------------
// pick_call_for_agent and review_waiting_call
// ---------------------------------------------------------------------------------------------

/// The waiting call an agent who became free takes: first a call held for this agent
/// (last-agent routing), then the best-ranked call over the agent's queues (priority, then entry
/// into the system). `None` when the agent is not available or nothing waits for them.
pub fn pick_call_for_agent(username: &str, snapshot: &RoutingSnapshot) -> Option<Pick> {
    let ai = snapshot.agent_index(username)?;
    let agent = snapshot.agents.get(ai)?;
    if !agent.is_available(snapshot.now) {
        return None;
    }
    let mut best: Option<(&WaitingCall, bool)> = None;
    for membership in snapshot.agent_queues.get(ai).map_or(&[][..], Vec::as_slice) {
        // In serving order: the first call this agent may take, and any call held for them.
        let mut found_plain = false;
        for call in snapshot.waiting_in(membership.queue) {
            let held = call
                .sticky
                .as_ref()
                .is_some_and(|h| h.until > snapshot.now && h.username == username);
            if (!held && found_plain) || !snapshot.may_take(call, Some(ai)) {
                continue;
            }
            found_plain |= !held;
            let better = best.is_none_or(|(current, current_held)| {
                (Reverse(held), call.rank()) < (Reverse(current_held), current.rank())
            });
            if better {
                best = Some((call, held));
            }
        }
    }
    best.map(|(call, _)| Pick {
        call_id: call.call_id.clone(),
        queue_id: call.queue_id.clone(),
    })
}

/// What an agent who became free does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextWork {
    /// Take this waiting call.
    Call(Pick),
    /// Call this client back (the callback's id).
    Callback(String),
}

/// The work an agent who became free takes: a call held for them (last-agent routing) first,
/// then whichever ranks first of the best waiting call over the agent's queues and the best due
/// callback of those queues ([`crate::callbacks::next_due`]) — a callback keeps the original
/// call's place (IN-11, IN-22). `callbacks` may hold callbacks of any queue.
pub fn pick_work_for_agent(
    username: &str,
    snapshot: &RoutingSnapshot,
    callbacks: &[crate::callbacks::Callback],
) -> Option<NextWork> {
    let call = pick_call_for_agent(username, snapshot);
    let held = call.as_ref().is_some_and(|pick| {
        snapshot.waiting_call(&pick.call_id).is_some_and(|w| {
            w.sticky
                .as_ref()
                .is_some_and(|h| h.until > snapshot.now && h.username == username)
        })
    });
    if held {
        return call.map(NextWork::Call);
    }
    let ai = snapshot.agent_index(username)?;
    if !snapshot.agents.get(ai)?.is_available(snapshot.now) {
        return None;
    }
    let queue_ids: Vec<&str> = snapshot
        .agent_queues
        .get(ai)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|m| snapshot.queues.get(m.queue).map(QueueRuntime::id))
        .collect();
    let callback = crate::callbacks::next_due(callbacks, &queue_ids, snapshot.now);
    match (call, callback) {
        (Some(pick), Some(callback)) => {
            let call_first = snapshot
                .waiting_call(&pick.call_id)
                .is_some_and(|w| w.rank() <= callback.rank());
            Some(if call_first {
                NextWork::Call(pick)
            } else {
                NextWork::Callback(callback.id.clone())
            })
        }
        (Some(pick), None) => Some(NextWork::Call(pick)),
        (None, Some(callback)) => Some(NextWork::Callback(callback.id.clone())),
        (None, None) => None,
    }
}

/// The agent a due callback goes to now: the best available member of its queue (skill, member
/// priority, longest idle), unless a waiting call of that queue which the agent may take ranks
/// before the callback (that call goes first). `None` when the callback is not due, its queue
/// is unknown or closed, or nobody is free.
pub fn agent_for_callback(
    callback: &crate::callbacks::Callback,
    snapshot: &RoutingSnapshot,
) -> Option<(String, String)> {
    if !callback.is_due(snapshot.now) {
        return None;
    }
    let qi = snapshot.queue_index(&callback.queue_id)?;
    let queue = snapshot.queues.get(qi)?;
    if !queue.config.schedule.is_open(snapshot.now) {
        return None;
    }
    let slot = snapshot.best_agent(qi)?;
    let agent = snapshot.agents.get(slot.agent)?;
    let call_first = snapshot
        .waiting_in(qi)
        .any(|call| snapshot.may_take(call, Some(slot.agent)) && call.rank() < callback.rank());
    (!call_first).then(|| (agent.username.clone(), agent.device.clone()))
}

/// Looks at a waiting call again (on its timer: end of a last-agent hold, maximum wait, or after
/// a decision left it waiting while agents were free): overflow after the maximum wait, offer to
/// an agent when one is available and nothing ranks before it, else keep waiting. `None` when
/// the call is not waiting in a known queue.
pub fn review_waiting_call(
    call_id: &str,
    plan: &InboundPlan,
    snapshot: &RoutingSnapshot,
) -> Option<Review> {
    let call = snapshot.waiting_call(call_id)?;
    let qi = snapshot.queue_index(&call.queue_id)?;
    let queue = snapshot.queues.get(qi)?;
    let now = snapshot.now;
    if call.offered_to.is_some() {
        return Some(Review::Keep {
            next_review_at: None,
        });
    }
    let max_wait_at = queue
        .routing
        .max_wait_seconds
        .map(|s| call.queued_at + TimeDelta::seconds(i64::from(s)));
    if max_wait_at.is_some_and(|at| at <= now) {
        let mut trail = vec![Step::MaxWait {
            queue_id: call.queue_id.clone(),
        }];
        let facts = CallFacts {
            call_id: call.call_id.clone(),
            dialled: String::new(),
            caller: None,
            ivr_choices: Vec::new(),
            attributes: BTreeMap::new(),
            entered_at: call.entered_at,
            client: None,
            last_agent: None,
            recording_allowed: true,
        };
        // The call keeps its boost (client status, rule) in the next queue.
        let boost = call.priority.saturating_sub(queue.config.priority);
        let decision = overflow_from(
            queue,
            OverflowReason::MaxWait,
            &facts,
            plan,
            snapshot,
            boost,
            &mut trail,
            0,
        );
        let recording = plan.recording_for(&facts, &decision);
        return Some(Review::Leave {
            outcome: RoutingOutcome {
                decision,
                recording,
                trail,
            },
        });
    }
    let hold_end = call
        .sticky
        .as_ref()
        .map(|h| h.until)
        .filter(|until| *until > now);
    let held_for = call
        .sticky
        .as_ref()
        .filter(|h| h.until > now)
        .and_then(|h| snapshot.agent_index(&h.username))
        .filter(|&ai| {
            snapshot
                .agents
                .get(ai)
                .is_some_and(AgentRuntime::is_logged_on)
        });
    // A call held for its last agent goes to that agent as soon as they are free (as in
    // `pick_call_for_agent`); any other call only when nothing that may be taken ranks before it.
    let candidate = match held_for {
        Some(ai) => snapshot
            .agents
            .get(ai)
            .filter(|a| a.is_available(now))
            .map(|a| (a, AgentReason::LastAgent)),
        None => {
            let (_, pickable_ahead) =
                calls_ahead(snapshot, qi, call.priority, call.entered_at, &call.call_id);
            if pickable_ahead == 0 && snapshot.may_take(call, None) {
                snapshot.best_agent(qi).and_then(|slot| {
                    snapshot.agents.get(slot.agent).map(|a| {
                        (
                            a,
                            AgentReason::BestAgent {
                                skill_level: slot.skill,
                                member_priority: slot.priority,
                            },
                        )
                    })
                })
            } else {
                None
            }
        }
    };
    if let Some((agent, reason)) = candidate {
        return Some(Review::Offer {
            username: agent.username.clone(),
            device: agent.device.clone(),
            reason,
        });
    }
    let next_review_at = match (hold_end, max_wait_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Some(Review::Keep { next_review_at })
}
