//! Folding CTI events (`cti_events`) into call and agent state, and into the contact lifecycle
//! ([`crate::contacts`]).
//!
//! - [`CallState`]: one PBX call seen by one relay — its connections (ECMA-269 local connection
//!   states per device), where it came in (pilot), which queue, which agent answered, the
//!   timestamps (arrived, IVR entry, queue entry, queued, offered, ring start per alerting agent,
//!   answered, ended), the missed offers and the contact's current [`ContactState`]. Applying an
//!   event returns the [`ContactEvent`]s of the moves it caused.
//!
//! # Where a contact was lost and how long the customer waited (REP-11, REP-12)
//!
//! The record that ends the customer's part (a lost state, `wrapUp`, `done`) carries a
//! [`ContactOutcome`], computed from the call state only (so a replay computes the same one):
//!
//! - lost phase ([`LostPhase`]): from the state the customer left in — `offered` →
//!   `ringingAgent`, `queued` → `inQueue`, `ivr` → `inIvr`, `arrived` → `beforeIvr`; a call in
//!   `arrived` or `ivr` that waits at a routing device (a route request not answered with an IVR)
//!   is `inQueue` (and ends `abandonedInQueue`);
//! - waits up to the answer or the loss, in milliseconds: from the first event, from IVR entry
//!   (first `established` at an IVR device before the call waited for an agent), from queue entry
//!   (first route request at a routing device or move to `queued`, before the first answer; a
//!   route answered with an IVR resets it), from ring start (the `delivered` at the agent who
//!   answered, or at the agent ringing when the customer left);
//! - missed offers: an agent device that was alerting and stopped (cleared, diverted away, or
//!   the call went back to a queue) while the customer still waited. A customer hanging up while
//!   it rings is an abandon, not a missed offer; devices still alerting when another answers
//!   (parallel ringing) are not missed offers either.
//! - [`AgentPresence`]: one agent device — logged on/off, ready, not ready (+ reason), wrap-up,
//!   busy — and the contact whose wrap-up it is doing.
//!
//! # Idempotency and order
//!
//! The relay delivers at least once, in order per SQS message group (one call, one device), but a
//! resend after a relay crash can repeat events and, rarely, put an older one after a newer one.
//!
//! - A call remembers every `eventId` it has applied; an event seen before is a no-op
//!   ([`CallOutcome::Duplicate`]). An agent device remembers its last
//!   [`AGENT_RECENT_EVENT_IDS`] ids and the position of the newest event applied.
//! - Every event has a position `(observedAt, seq)`. An event older than the newest one applied
//!   is *late*: it may fill in facts still unknown (pilot, queue, caller) but never moves the
//!   contact or an agent's state, so a terminal state is never regressed.
//!
//! Replaying any prefix of the events, or duplicating any of them, therefore leaves the state and
//! the lifecycle records exactly as they were (property tests below).
//!
//! # Wrap-up across the two aggregates
//!
//! When a handled call ends, the contact moves to `wrapUp` and [`CallOutcome::Applied`] carries
//! a [`WrapUpStarted`]. The agent device then decides ([`AgentPresence::start_wrap_up`]): if the
//! agent is busy or in after-call work the wrap-up stays pending on the agent; otherwise it has
//! already ended. When a pending agent leaves after-call work, [`AgentOutcome::Applied`] carries
//! the [`WrapUpEnded`] and [`CallState::end_wrap_up`] moves the contact to `done`.
//!
//! Pure domain code: no I/O, no AWS types.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use cti_events::{AgentEvent, AgentStateKind, CallEvent, CallEventKind, CtiEnvelope, CtiEvent};
use serde::{Deserialize, Serialize};

use crate::contacts::{
    elapsed_ms, Channel, ContactEvent, ContactOutcome, ContactResult, ContactState, LostPhase,
};

/// How many event ids an agent device remembers (its events are ordered per device; a resend
/// after a relay crash repeats at most the relay's unacknowledged window).
pub const AGENT_RECENT_EVENT_IDS: usize = 256;

/// A PBX reuses call ids. An event on an ended call this long after it ended starts a new
/// contact.
pub const CALL_ID_REUSE_AFTER: Duration = Duration::hours(1);

/// What the fold needs to know about the PBX's devices that the events do not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    /// Devices of voice applications (IVR ports, announcement groups).
    pub ivr_devices: BTreeSet<String>,
    /// Pilots / ACD groups known in advance (others are learnt from `Queued` and `Route`).
    pub queue_devices: BTreeSet<String>,
}

/// Where an event stands in the relay's stream: later events have a greater position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub observed_at: DateTime<Utc>,
    pub seq: u64,
}

impl Position {
    pub fn of(envelope: &CtiEnvelope) -> Self {
        Self {
            observed_at: envelope.observed_at,
            seq: envelope.seq,
        }
    }
}

/// Who started a call, as one device sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CallDirection {
    /// A customer called in.
    Inbound,
    /// The device called out to an external number.
    Outbound,
    /// Between two internal devices (a consultation, a colleague's call).
    Internal,
}

/// One call as one device sees it: what that agent's desk shows (kept on the agent item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCall {
    pub relay_id: String,
    pub call_id: String,
    pub contact_id: String,
    /// The device's own connection state.
    pub state: LocalState,
    /// Since when the device is in `state`.
    pub since: DateTime<Utc>,
    /// The other party: the customer, the number dialled, or the colleague's extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    pub direction: CallDirection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}

/// At most this many calls are kept per device (a phone has a handful of lines at most); the
/// oldest go first, so a call whose end was never reported cannot pile up.
pub const MAX_DEVICE_CALLS: usize = 8;

/// An internal extension rather than an external number: digits only and short.
pub fn is_extension(number: &str) -> bool {
    !number.is_empty() && number.len() <= 6 && number.chars().all(|c| c.is_ascii_digit())
}

/// ECMA-269 local connection state of one device on a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LocalState {
    Initiated,
    Alerting,
    Connected,
    Hold,
    Queued,
    Fail,
}

/// The PBX call id of a call-related event (`None` for agent, link and other events).
pub fn call_id_of(event: &CtiEvent) -> Option<&str> {
    match event {
        CtiEvent::Call(call) => Some(&call.call_id),
        CtiEvent::Route(route) => Some(&route.call_id),
        CtiEvent::RouteDecided(decided) => Some(&decided.call_id),
        // IVR port reports drive the IVR session, not the call's contact state.
        CtiEvent::Agent(_)
        | CtiEvent::Ivr(_)
        | CtiEvent::Link(_)
        | CtiEvent::CommandResult(_)
        | CtiEvent::Other(_) => None,
    }
}

/// The key of a call: `<relayId>/<callId>` (call ids are unique per PBX only).
pub fn call_key(relay_id: &str, call_id: &str) -> String {
    format!("{relay_id}/{call_id}")
}

/// A handled call ended: its agent is now wrapping it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WrapUpStarted {
    pub agent_device: String,
    pub call_key: String,
    pub contact_id: String,
    pub at: DateTime<Utc>,
}

/// The wrap-up of a contact ended (the agent left after-call work).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WrapUpEnded {
    pub call_key: String,
    pub contact_id: String,
    pub at: DateTime<Utc>,
}

/// What applying one event to a call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// The event was applied before: nothing changed.
    Duplicate,
    Applied {
        /// The lifecycle moves, in order (empty when the event moved nothing).
        events: Vec<ContactEvent>,
        /// The call ended with an agent, who now wraps it up.
        wrap_up: Option<WrapUpStarted>,
    },
}

/// One PBX call as the cloud knows it, and the contact it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallState {
    /// `<relayId>/<callId>` ([`call_key`]).
    pub call_key: String,
    pub relay_id: String,
    pub call_id: String,
    /// The contact: the `eventId` of the call's first applied event (unique, stable on replay).
    pub contact_id: String,
    pub channel: Channel,
    /// The contact's lifecycle state.
    pub state: ContactState,
    /// The customer's number (calling device of the first event that names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// The number the customer dialled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialled: Option<String>,
    /// The routing point / pilot the call came in through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pilot: Option<String>,
    /// The queue (ACD group) it is or was in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The agent device currently offered or connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_device: Option<String>,
    /// The agent device that answered first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    /// Where the routing function (or the relay's fallback) sent the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_destination: Option<String>,
    /// Devices on the call and their local connection state (a cleared device is removed).
    #[serde(default)]
    pub connections: BTreeMap<String, LocalState>,
    /// Queue devices learnt from `Queued` and `Route` events.
    #[serde(default)]
    pub queue_devices: BTreeSet<String>,
    pub arrived_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<DateTime<Utc>>,
    /// When the call first connected to an IVR device before waiting for an agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ivr_entered_at: Option<DateTime<Utc>>,
    /// When the call started waiting for an agent, before its first answer: a route request at a
    /// routing device or the first move to `queued` (a route answered with an IVR resets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_entered_at: Option<DateTime<Utc>>,
    /// Agent devices alerting now, with their ring start.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ringing: BTreeMap<String, DateTime<Utc>>,
    /// Ring start at the agent who answered first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_ring_started_at: Option<DateTime<Utc>>,
    /// Agent devices that rang and stopped without answering while the customer waited, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed_offers: Vec<String>,
    /// The cause of the last move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(default)]
    pub transfers: u32,
    /// The consultation calls merged into this one by a transfer or conference.
    #[serde(default)]
    pub secondary_calls: BTreeSet<String>,
    /// The PBX renamed the call after a transfer or conference: it goes on under this call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continued_as: Option<String>,
    /// When the contact's newest lifecycle record happened ([`CallState::move_to`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_record_at: Option<DateTime<Utc>>,
    /// The newest event applied.
    pub last: Position,
    /// Every event id applied to this call.
    #[serde(default)]
    pub applied_event_ids: BTreeSet<String>,
}

impl CallState {
    /// A call first seen with `envelope` (its contact is `arrived`).
    fn start(envelope: &CtiEnvelope, call_id: &str) -> Self {
        Self {
            call_key: call_key(&envelope.relay_id, call_id),
            relay_id: envelope.relay_id.clone(),
            call_id: call_id.to_owned(),
            contact_id: envelope.event_id.clone(),
            channel: Channel::Voice,
            state: ContactState::Arrived,
            customer: None,
            dialled: None,
            pilot: None,
            queue: None,
            agent_device: None,
            answered_by: None,
            route_destination: None,
            connections: BTreeMap::new(),
            queue_devices: BTreeSet::new(),
            arrived_at: envelope.observed_at,
            queued_at: None,
            offered_at: None,
            answered_at: None,
            ended_at: None,
            done_at: None,
            ivr_entered_at: None,
            queue_entered_at: None,
            ringing: BTreeMap::new(),
            answer_ring_started_at: None,
            missed_offers: Vec::new(),
            cause: None,
            transfers: 0,
            last_record_at: Some(envelope.observed_at),
            secondary_calls: BTreeSet::new(),
            continued_as: None,
            last: Position::of(envelope),
            applied_event_ids: BTreeSet::new(),
        }
    }

    /// Applies a call-related event to the call it names. `current` is the stored state (`None`
    /// for a call not seen yet). Returns the new state, or `None` when the event is not about a
    /// call.
    pub fn fold(
        current: Option<CallState>,
        envelope: &CtiEnvelope,
        topology: &Topology,
    ) -> Option<(CallState, CallOutcome)> {
        let call_id = call_id_of(&envelope.event)?;
        let mut first = Vec::new();
        let mut call = match current {
            Some(call) if call.applied_event_ids.contains(&envelope.event_id) => {
                return Some((call, CallOutcome::Duplicate));
            }
            Some(call) if !call.is_reused_by(envelope) => call,
            previous => {
                let mut call = Self::start(envelope, call_id);
                // A replay of the previous contact's events must stay a no-op.
                if let Some(previous) = previous {
                    call.applied_event_ids = previous.applied_event_ids;
                }
                first.push(call.record(
                    None,
                    ContactState::Arrived,
                    envelope.observed_at,
                    None,
                    None,
                ));
                call
            }
        };
        let outcome = call.apply(envelope, topology);
        let CallOutcome::Applied {
            mut events,
            wrap_up,
        } = outcome
        else {
            return Some((call, CallOutcome::Duplicate));
        };
        first.append(&mut events);
        Some((
            call,
            CallOutcome::Applied {
                events: first,
                wrap_up,
            },
        ))
    }

    /// The PBX reused this call id for a new call.
    fn is_reused_by(&self, envelope: &CtiEnvelope) -> bool {
        self.state.is_terminal()
            && self
                .ended_at
                .is_some_and(|ended| envelope.observed_at >= ended + CALL_ID_REUSE_AFTER)
    }

    /// Applies one event of this call.
    fn apply(&mut self, envelope: &CtiEnvelope, topology: &Topology) -> CallOutcome {
        if !self.applied_event_ids.insert(envelope.event_id.clone()) {
            return CallOutcome::Duplicate;
        }
        let position = Position::of(envelope);
        let late = position < self.last;
        if !late {
            self.last = position;
        }
        let at = envelope.observed_at;
        let mut step = Step::default();
        match &envelope.event {
            CtiEvent::Call(event) => self.on_call_event(event, at, late, topology, &mut step),
            CtiEvent::Route(route) => {
                self.queue_devices.insert(route.routing_device.clone());
                // The call waits at the routing device for the routing decision.
                if !late && self.waits_before_queue() {
                    self.queue_entered_at.get_or_insert(at);
                }
                self.pilot
                    .get_or_insert_with(|| route.routing_device.clone());
                if self.customer.is_none() {
                    self.customer.clone_from(&route.calling_device);
                }
                if self.dialled.is_none() {
                    self.dialled.clone_from(&route.called_device);
                }
            }
            CtiEvent::RouteDecided(decided) => {
                self.pilot
                    .get_or_insert_with(|| decided.routing_device.clone());
                if !late {
                    self.route_destination = Some(decided.destination.clone());
                    // Routing answered with an IVR (or an announcement): not waiting for an
                    // agent any more.
                    if topology.ivr_devices.contains(&decided.destination)
                        && self.waits_before_queue()
                    {
                        self.queue_entered_at = None;
                    }
                }
            }
            CtiEvent::Agent(_)
            | CtiEvent::Ivr(_)
            | CtiEvent::Link(_)
            | CtiEvent::CommandResult(_)
            | CtiEvent::Other(_) => {}
        }
        CallOutcome::Applied {
            events: step.events,
            wrap_up: step.wrap_up,
        }
    }

    /// Before the first answer, in `arrived` or `ivr`: a route request here starts the wait for
    /// an agent, an IVR ends it.
    fn waits_before_queue(&self) -> bool {
        self.answered_at.is_none()
            && matches!(self.state, ContactState::Arrived | ContactState::Ivr)
    }

    /// The customer still waits for an agent.
    fn is_waiting(&self) -> bool {
        matches!(
            self.state,
            ContactState::Arrived
                | ContactState::Ivr
                | ContactState::Queued
                | ContactState::Offered
        )
    }

    /// An agent device stopped alerting: a missed offer when the customer still waits.
    fn stop_ringing(&mut self, device: &str) {
        if self.ringing.remove(device).is_some() && self.is_waiting() {
            self.missed_offers.push(device.to_owned());
        }
    }

    fn is_queue(&self, device: &str, topology: &Topology) -> bool {
        self.queue_devices.contains(device) || topology.queue_devices.contains(device)
    }

    /// A device that is neither the customer, a queue nor an IVR: an agent's.
    fn is_agent(&self, device: &str, topology: &Topology) -> bool {
        self.customer.as_deref() != Some(device)
            && !self.is_queue(device, topology)
            && !topology.ivr_devices.contains(device)
    }

    /// Devices on the call now or before `previous` that could be an agent's phone (neither a
    /// queue nor a voice application): the desks this call may show on.
    pub fn desk_devices(
        &self,
        previous: Option<&CallState>,
        topology: &Topology,
    ) -> BTreeSet<String> {
        self.connections
            .keys()
            .chain(
                previous
                    .into_iter()
                    .flat_map(|call| call.connections.keys()),
            )
            .filter(|device| {
                !self.is_queue(device, topology) && !topology.ivr_devices.contains(*device)
            })
            .cloned()
            .collect()
    }

    /// The call as `device` sees it now; `None` when the device is not on it (any more).
    /// `earlier` is the view stored before: its `since` stays while the state is the same.
    pub fn device_view(
        &self,
        device: &str,
        topology: &Topology,
        earlier: Option<&DeviceCall>,
        at: DateTime<Utc>,
    ) -> Option<DeviceCall> {
        if self.state.is_terminal() || self.state == ContactState::WrapUp || self.ended_at.is_some()
        {
            return None;
        }
        let mut state = *self.connections.get(device)?;
        if matches!(state, LocalState::Queued | LocalState::Fail) {
            return None;
        }
        // The events name the answering device; the caller's side is connected from then on.
        if state == LocalState::Initiated
            && self
                .connections
                .iter()
                .any(|(other, local)| other != device && *local == LocalState::Connected)
        {
            state = LocalState::Connected;
        }
        let originated = self.customer.as_deref() == Some(device);
        let remote = if originated {
            self.connections
                .keys()
                .find(|other| {
                    other.as_str() != device
                        && !self.is_queue(other, topology)
                        && !topology.ivr_devices.contains(*other)
                })
                .cloned()
                .or_else(|| self.dialled.clone())
        } else {
            self.customer.clone()
        };
        let direction = match (&remote, originated) {
            (Some(remote), _) if is_extension(remote) => CallDirection::Internal,
            (_, true) => CallDirection::Outbound,
            (_, false) => CallDirection::Inbound,
        };
        let since = earlier
            .filter(|view| view.state == state)
            .map_or(at, |view| view.since);
        Some(DeviceCall {
            relay_id: self.relay_id.clone(),
            call_id: self.call_id.clone(),
            contact_id: self.contact_id.clone(),
            state,
            since,
            remote,
            direction,
            queue: self.queue.clone(),
        })
    }

    fn on_call_event(
        &mut self,
        event: &CallEvent,
        at: DateTime<Utc>,
        late: bool,
        topology: &Topology,
        step: &mut Step,
    ) {
        // Facts only the first events carry: filled in even by a late event.
        if self.customer.is_none() && event.kind != CallEventKind::ServiceInitiated {
            self.customer.clone_from(&event.calling_device);
        }
        if self.dialled.is_none() {
            self.dialled.clone_from(&event.called_device);
        }
        if let Some(called) = &event.called_device {
            if self.pilot.is_none() && self.is_queue(called, topology) {
                self.pilot = Some(called.clone());
            }
        }
        if event.kind == CallEventKind::Queued {
            if let Some(queue) = event.target_device.as_ref().or(event.device.as_ref()) {
                self.queue_devices.insert(queue.clone());
                self.pilot.get_or_insert_with(|| queue.clone());
                self.queue.get_or_insert_with(|| queue.clone());
            }
        }
        if late {
            // Never move the contact or the connections back.
            return;
        }
        if let Some(cause) = &event.cause {
            self.cause = Some(cause.clone());
        }
        let subject = event
            .subject_device
            .as_ref()
            .or(event.device.as_ref())
            .cloned();
        let cause = event.cause.clone();
        match event.kind {
            CallEventKind::ServiceInitiated | CallEventKind::Originated => {
                if let Some(device) = subject {
                    self.connections.insert(device, LocalState::Initiated);
                }
            }
            CallEventKind::Delivered => {
                let Some(device) = subject else { return };
                self.connections
                    .insert(device.clone(), LocalState::Alerting);
                if self.is_agent(&device, topology) {
                    if self.state == ContactState::Offered
                        && self.agent_device.as_deref() == Some(device.as_str())
                    {
                        return;
                    }
                    self.agent_device = Some(device.clone());
                    if self.move_to(ContactState::Offered, at, cause, step) {
                        self.ringing.entry(device).or_insert(at);
                    }
                }
            }
            CallEventKind::Established => {
                let Some(device) = subject else { return };
                self.connections
                    .insert(device.clone(), LocalState::Connected);
                if topology.ivr_devices.contains(&device) {
                    if self.waits_before_queue() {
                        self.ivr_entered_at.get_or_insert(at);
                        self.queue_entered_at = None;
                    }
                    self.move_to(ContactState::Ivr, at, cause, step);
                } else if self.is_agent(&device, topology) {
                    let rang = self.ringing.remove(&device);
                    if matches!(
                        self.state,
                        ContactState::Connected | ContactState::Conferenced
                    ) {
                        return;
                    }
                    self.agent_device = Some(device.clone());
                    let first_answer = self.answered_by.is_none();
                    if self.move_to(ContactState::Connected, at, cause, step) {
                        if first_answer {
                            self.answer_ring_started_at = rang;
                        }
                        self.answered_by.get_or_insert(device);
                        // Devices still alerting (parallel ringing) did not miss the call.
                        self.ringing.clear();
                    }
                }
            }
            CallEventKind::Queued => {
                let queue = event
                    .target_device
                    .as_ref()
                    .or(event.device.as_ref())
                    .cloned();
                if let Some(queue) = &queue {
                    self.connections.insert(queue.clone(), LocalState::Queued);
                }
                if self.state == ContactState::Queued && self.queue == queue {
                    return;
                }
                // Back to a queue while ringing an agent: ring-no-answer.
                if self.state == ContactState::Offered {
                    if let Some(device) = self.agent_device.clone() {
                        self.stop_ringing(&device);
                    }
                }
                let before = self.queue.clone();
                if queue.is_some() {
                    self.queue.clone_from(&queue);
                }
                if !self.move_to(ContactState::Queued, at, cause, step) {
                    self.queue = before;
                }
            }
            CallEventKind::Held => {
                if let Some(device) = subject {
                    self.connections.insert(device, LocalState::Hold);
                }
                if matches!(
                    self.state,
                    ContactState::Connected | ContactState::Conferenced
                ) {
                    self.move_to(ContactState::Held, at, cause, step);
                }
            }
            CallEventKind::Retrieved => {
                if let Some(device) = subject {
                    self.connections.insert(device, LocalState::Connected);
                }
                if self.state == ContactState::Held {
                    self.move_to(ContactState::Connected, at, cause, step);
                }
            }
            CallEventKind::Diverted => {
                if let Some(device) = &subject {
                    self.connections.remove(device);
                    self.stop_ringing(device);
                }
                if let Some(target) = &event.target_device {
                    if self.is_queue(target, topology) && !self.state.is_handling() {
                        self.queue = Some(target.clone());
                        self.move_to(ContactState::Queued, at, cause, step);
                    }
                }
            }
            CallEventKind::Transferred => {
                if let Some(secondary) = &event.secondary_call_id {
                    self.secondary_calls.insert(secondary.clone());
                }
                if let Some(resulting) = &event.resulting_call_id {
                    if resulting != &self.call_id {
                        self.continued_as = Some(resulting.clone());
                    }
                }
                if let Some(device) = &subject {
                    self.connections.remove(device);
                }
                if !self.state.is_handling() || self.state == ContactState::Transferred {
                    return;
                }
                self.transfers += 1;
                if let Some(device) = &subject {
                    self.agent_device = Some(device.clone());
                }
                self.move_to(ContactState::Transferred, at, cause.clone(), step);
                // An attended transfer hands the customer to a party already talking to the
                // transferring agent; a single-step (blind) one rings the target first.
                let blind = cause.as_deref() == Some("singleStepTransfer");
                if let Some(target) = &event.target_device {
                    if !blind && self.is_agent(target, topology) {
                        self.connections
                            .insert(target.clone(), LocalState::Connected);
                        self.agent_device = Some(target.clone());
                        self.move_to(ContactState::Connected, at, cause, step);
                    }
                }
            }
            CallEventKind::Conferenced => {
                if let Some(secondary) = &event.secondary_call_id {
                    self.secondary_calls.insert(secondary.clone());
                }
                if let Some(resulting) = &event.resulting_call_id {
                    if resulting != &self.call_id {
                        self.continued_as = Some(resulting.clone());
                    }
                }
                if let Some(target) = &event.target_device {
                    self.connections
                        .insert(target.clone(), LocalState::Connected);
                }
                if self.state.is_handling() && self.state != ContactState::Conferenced {
                    self.move_to(ContactState::Conferenced, at, cause, step);
                }
            }
            CallEventKind::NetworkReached => {
                if matches!(
                    self.state,
                    ContactState::Arrived
                        | ContactState::Ivr
                        | ContactState::Queued
                        | ContactState::Offered
                ) {
                    self.move_to(ContactState::Overflowed, at, cause, step);
                    self.ended_at.get_or_insert(at);
                }
            }
            CallEventKind::Failed => {
                if let Some(device) = subject {
                    self.connections.insert(device, LocalState::Fail);
                }
                if matches!(
                    self.state,
                    ContactState::Arrived
                        | ContactState::Ivr
                        | ContactState::Queued
                        | ContactState::Offered
                ) {
                    self.move_to(ContactState::Unanswered, at, cause, step);
                    self.ended_at.get_or_insert(at);
                }
            }
            CallEventKind::ConnectionCleared => {
                let Some(device) = subject else {
                    self.end(at, cause, step);
                    return;
                };
                self.connections.remove(&device);
                self.stop_ringing(&device);
                if self.customer.as_deref() == Some(device.as_str()) {
                    self.end(at, cause, step);
                    return;
                }
                // The offered agent stopped ringing and nobody else rings: ring-no-answer, the
                // call waits in its queue again.
                if self.state == ContactState::Offered
                    && self.agent_device.as_deref() == Some(device.as_str())
                    && self.ringing.is_empty()
                    && self.queue.is_some()
                {
                    self.move_to(ContactState::Queued, at, cause, step);
                    return;
                }
                if !self.state.is_handling() {
                    return;
                }
                let agents = self
                    .connections
                    .iter()
                    .filter(|(device, state)| {
                        self.is_agent(device, topology)
                            && matches!(state, LocalState::Connected | LocalState::Hold)
                    })
                    .count();
                if agents == 0 {
                    self.end(at, cause, step);
                } else if self.state == ContactState::Conferenced && agents == 1 {
                    if let Some((device, _)) = self.connections.iter().find(|(device, state)| {
                        self.is_agent(device, topology) && **state == LocalState::Connected
                    }) {
                        self.agent_device = Some(device.clone());
                    }
                    self.move_to(ContactState::Connected, at, cause, step);
                }
            }
            CallEventKind::CallCleared => {
                self.connections.clear();
                self.end(at, cause, step);
            }
            CallEventKind::DigitsGenerated => {}
        }
    }

    /// The customer left (or the call was cleared).
    fn end(&mut self, at: DateTime<Utc>, cause: Option<String>, step: &mut Step) {
        if self.state.is_terminal() || self.state == ContactState::WrapUp {
            return;
        }
        self.ended_at.get_or_insert(at);
        if self.state.is_handling() {
            match self.agent_device.clone() {
                Some(agent_device) => {
                    self.move_to(ContactState::WrapUp, at, cause, step);
                    step.wrap_up = Some(WrapUpStarted {
                        agent_device,
                        call_key: self.call_key.clone(),
                        contact_id: self.contact_id.clone(),
                        at,
                    });
                }
                None => {
                    self.move_to(ContactState::Done, at, cause, step);
                    self.done_at = Some(at);
                }
            }
        } else {
            let lost = self.lost_phase().abandoned_state();
            self.move_to(lost, at, cause, step);
        }
    }

    /// Where the customer would be lost if they left now (in a state that is not handling).
    fn lost_phase(&self) -> LostPhase {
        match self.state {
            ContactState::Offered => LostPhase::RingingAgent,
            ContactState::Queued => LostPhase::InQueue,
            ContactState::Arrived | ContactState::Ivr if self.queue_entered_at.is_some() => {
                LostPhase::InQueue
            }
            ContactState::Ivr => LostPhase::InIvr,
            _ => LostPhase::BeforeIvr,
        }
    }

    /// The outcome a record moving `from` → `to` at `at` carries (`None` unless `to` ends the
    /// contact).
    fn outcome(
        &self,
        from: ContactState,
        to: ContactState,
        at: DateTime<Utc>,
    ) -> Option<ContactOutcome> {
        let result = ContactResult::of(to)?;
        let answered = result == ContactResult::Answered;
        // The customer's wait ended with the first answer, or now.
        let end = match self.answered_at {
            Some(answered_at) if answered => answered_at,
            _ => at,
        };
        let since = |start: Option<DateTime<Utc>>| {
            start
                .filter(|start| *start <= end)
                .map(|start| elapsed_ms(start, end))
        };
        let ring_start = if answered {
            self.answer_ring_started_at
        } else if from == ContactState::Offered {
            self.agent_device
                .as_ref()
                .and_then(|device| self.ringing.get(device))
                .or_else(|| self.ringing.values().min())
                .copied()
                .or(self.offered_at)
        } else {
            None
        };
        Some(ContactOutcome {
            result,
            lost_phase: LostPhase::of(from, to),
            total_ms: elapsed_ms(self.arrived_at, end),
            from_ivr_ms: since(self.ivr_entered_at),
            from_queue_ms: since(self.queue_entered_at),
            from_ring_ms: since(ring_start),
            answered_by: self.answered_by.clone().filter(|_| answered),
            missed_by: self.missed_offers.clone(),
        })
    }

    /// The agent finished the wrap-up: `wrapUp → done`. `None` when the contact is not in
    /// wrap-up (already done, or never handled).
    /// A transfer or conference merged this (consultation) call into another one at `at`: the
    /// PBX reports nothing more of it, so it ends here, handled, without a wrap-up of its own
    /// (the merged call carries on). `None` when it had ended already.
    pub fn merged_into(&mut self, at: DateTime<Utc>) -> Option<ContactEvent> {
        if self.state.is_terminal() {
            return None;
        }
        // Handled (talking, held, wrapping up) → done; merged while still ringing → unanswered.
        let to = if self.state.is_handling() || self.state == ContactState::WrapUp {
            ContactState::Done
        } else {
            ContactState::Unanswered
        };
        let mut step = Step::default();
        if !self.move_to(to, at, Some("merged".to_owned()), &mut step) {
            return None;
        }
        self.connections.clear();
        self.ringing.clear();
        self.ended_at.get_or_insert(at);
        if to == ContactState::Done {
            self.done_at = Some(at);
        }
        step.events.pop()
    }

    pub fn end_wrap_up(&mut self, at: DateTime<Utc>) -> Option<ContactEvent> {
        if self.state != ContactState::WrapUp {
            return None;
        }
        let at = at.max(self.ended_at.unwrap_or(at));
        let mut step = Step::default();
        self.move_to(
            ContactState::Done,
            at,
            Some("wrapUpEnded".to_owned()),
            &mut step,
        );
        self.done_at = Some(at);
        step.events.pop()
    }

    /// Moves the contact if the lifecycle allows it; records the move in `step`.
    fn move_to(
        &mut self,
        to: ContactState,
        at: DateTime<Utc>,
        cause: Option<String>,
        step: &mut Step,
    ) -> bool {
        if !self.state.can_move_to(to) {
            return false;
        }
        let from = self.state;
        self.state = to;
        match to {
            ContactState::Queued => {
                self.queued_at.get_or_insert(at);
                if self.answered_at.is_none() {
                    self.queue_entered_at.get_or_insert(at);
                }
            }
            ContactState::Offered => {
                self.offered_at.get_or_insert(at);
            }
            ContactState::Connected => {
                self.answered_at.get_or_insert(at);
            }
            _ => {}
        }
        let outcome = self.outcome(from, to, at);
        if to.is_lost() {
            self.ended_at.get_or_insert(at);
            self.agent_device = self
                .agent_device
                .take()
                .filter(|_| to == ContactState::AbandonedRinging);
        }
        // Records of one event (arrived and offered; wrap-up and done) keep their order in
        // ContactEventsTable, which sorts a contact's records by their millisecond: each is
        // recorded at least 1 ms after the one before (as a conversation's, `chat::lifecycle`);
        // the waits in the outcome are the real ones.
        let recorded_at = match self.last_record_at {
            Some(last) if last + Duration::milliseconds(1) > at => last + Duration::milliseconds(1),
            _ => at,
        };
        self.last_record_at = Some(recorded_at);
        step.events
            .push(self.record(Some(from), to, recorded_at, cause, outcome));
        true
    }

    fn record(
        &self,
        from: Option<ContactState>,
        to: ContactState,
        at: DateTime<Utc>,
        cause: Option<String>,
        outcome: Option<ContactOutcome>,
    ) -> ContactEvent {
        ContactEvent {
            contact_id: self.contact_id.clone(),
            channel: self.channel,
            from,
            to,
            at,
            call_id: Some(self.call_id.clone()),
            pilot: self.pilot.clone(),
            queue: self.queue.clone(),
            agent_device: self.agent_device.clone(),
            agent: None,
            cause,
            outcome,
        }
    }
}

#[derive(Debug, Default)]
struct Step {
    events: Vec<ContactEvent>,
    wrap_up: Option<WrapUpStarted>,
}

/// An agent's state as Linka shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AgentState {
    #[default]
    LoggedOff,
    /// Logged on, availability not reported yet.
    LoggedOn,
    Ready,
    NotReady,
    WorkingAfterCall,
    Busy,
}

impl From<AgentStateKind> for AgentState {
    fn from(kind: AgentStateKind) -> Self {
        match kind {
            AgentStateKind::LoggedOn => Self::LoggedOn,
            AgentStateKind::LoggedOff => Self::LoggedOff,
            AgentStateKind::Ready => Self::Ready,
            AgentStateKind::NotReady => Self::NotReady,
            AgentStateKind::WorkingAfterCall => Self::WorkingAfterCall,
            AgentStateKind::Busy => Self::Busy,
        }
    }
}

/// A wrap-up waiting for the agent to leave after-call work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingWrapUp {
    pub call_key: String,
    pub contact_id: String,
    pub since: DateTime<Utc>,
}

/// What applying one event to an agent device did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentOutcome {
    /// Seen before: nothing changed.
    Duplicate,
    Applied {
        /// The agent left after-call work: this contact's wrap-up ended.
        wrap_up_ended: Option<WrapUpEnded>,
    },
}

/// What became of a wrap-up when its call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WrapUpDecision {
    /// The agent is busy or in after-call work: the wrap-up ends with the agent's next state.
    /// `replaced`: an older contact whose wrap-up was still pending on the agent — it ends now.
    Pending { replaced: Option<WrapUpEnded> },
    /// The agent is already past it: the wrap-up ended at this instant.
    EndedAt(DateTime<Utc>),
}

/// One agent device.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPresence {
    /// The agent's extension.
    pub device: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acd_group: Option<String>,
    #[serde(default)]
    pub state: AgentState,
    /// Not-ready reason (break code), while not ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// Since when the agent is in `state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_on_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_wrap_up: Option<PendingWrapUp>,
    /// The calls at this device now, by call key (what the agent's desk shows).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calls: BTreeMap<String, DeviceCall>,
    /// The newest event applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Position>,
    /// The last [`AGENT_RECENT_EVENT_IDS`] event ids applied, oldest first.
    #[serde(default)]
    pub recent_event_ids: VecDeque<String>,
}

impl AgentPresence {
    /// A device not seen yet (logged off).
    pub fn new(device: impl Into<String>) -> Self {
        Self {
            device: device.into(),
            ..Self::default()
        }
    }

    /// Records how this device sees a call now (`None`: not on it any more). True when the
    /// stored view changed and the agent item must be written.
    pub fn track_call(&mut self, call_key: &str, view: Option<DeviceCall>) -> bool {
        match view {
            None => self.calls.remove(call_key).is_some(),
            Some(view) => {
                if self.calls.get(call_key) == Some(&view) {
                    return false;
                }
                self.calls.insert(call_key.to_owned(), view);
                while self.calls.len() > MAX_DEVICE_CALLS {
                    let oldest = self
                        .calls
                        .iter()
                        .min_by_key(|(_, call)| call.since)
                        .map(|(key, _)| key.clone());
                    match oldest {
                        Some(key) => {
                            self.calls.remove(&key);
                        }
                        None => break,
                    }
                }
                true
            }
        }
    }

    /// Applies an agent event of this device.
    pub fn apply(&mut self, envelope: &CtiEnvelope, event: &AgentEvent) -> AgentOutcome {
        if self.recent_event_ids.contains(&envelope.event_id) {
            return AgentOutcome::Duplicate;
        }
        self.recent_event_ids.push_back(envelope.event_id.clone());
        while self.recent_event_ids.len() > AGENT_RECENT_EVENT_IDS {
            self.recent_event_ids.pop_front();
        }
        let position = Position::of(envelope);
        if self.last.is_some_and(|last| position < last) {
            // Late: a newer state is known already.
            return AgentOutcome::Applied {
                wrap_up_ended: None,
            };
        }
        self.last = Some(position);
        self.relay_id = Some(envelope.relay_id.clone());
        if event.agent_id.is_some() {
            self.agent_id.clone_from(&event.agent_id);
        }
        if event.acd_group.is_some() {
            self.acd_group.clone_from(&event.acd_group);
        }
        let at = envelope.observed_at;
        let previous = self.state;
        let state = AgentState::from(event.state);
        if state != previous || self.since.is_none() {
            self.since = Some(at);
        }
        self.state = state;
        self.reason_code = if state == AgentState::NotReady {
            event.reason_code.clone()
        } else {
            None
        };
        match state {
            AgentState::LoggedOff => self.logged_on_at = None,
            _ => {
                self.logged_on_at.get_or_insert(at);
            }
        }
        let wrap_up_over = match state {
            AgentState::WorkingAfterCall => false,
            AgentState::Busy => previous == AgentState::WorkingAfterCall,
            _ => true,
        };
        let wrap_up_ended = if wrap_up_over {
            self.pending_wrap_up.take().map(|pending| WrapUpEnded {
                call_key: pending.call_key,
                contact_id: pending.contact_id,
                at: at.max(pending.since),
            })
        } else {
            None
        };
        AgentOutcome::Applied { wrap_up_ended }
    }

    /// The call of `started` ended with this agent: is the agent still wrapping it up?
    pub fn start_wrap_up(&mut self, started: &WrapUpStarted) -> WrapUpDecision {
        match (self.state, self.since) {
            (AgentState::WorkingAfterCall | AgentState::Busy, _) => {
                let replaced = self
                    .pending_wrap_up
                    .replace(PendingWrapUp {
                        call_key: started.call_key.clone(),
                        contact_id: started.contact_id.clone(),
                        since: started.at,
                    })
                    .filter(|old| old.call_key != started.call_key)
                    .map(|old| WrapUpEnded {
                        call_key: old.call_key,
                        contact_id: old.contact_id,
                        at: started.at.max(old.since),
                    });
                WrapUpDecision::Pending { replaced }
            }
            // The agent moved on after the call ended (its event was processed first).
            (_, Some(since)) if since > started.at => WrapUpDecision::EndedAt(since),
            _ => WrapUpDecision::EndedAt(started.at),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use cti_events::{RouteDecided, RouteRequested, RouteSource, SCHEMA_VERSION};
    use proptest::prelude::*;

    use super::*;

    const RELAY: &str = "prg-1";

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap() + Duration::seconds(i64::from(second))
    }

    fn envelope(seq: u64, event: CtiEvent) -> CtiEnvelope {
        CtiEnvelope {
            version: SCHEMA_VERSION,
            event_id: format!("{RELAY}:1:{seq}"),
            relay_id: RELAY.into(),
            seq,
            observed_at: at(u32::try_from(seq).unwrap()),
            event,
        }
    }

    fn call(kind: CallEventKind, call_id: &str, subject: &str) -> CtiEvent {
        CtiEvent::Call(CallEvent {
            kind,
            call_id: call_id.into(),
            device: Some(subject.into()),
            subject_device: Some(subject.into()),
            calling_device: Some("+420601123456".into()),
            called_device: Some("5000".into()),
            cause: Some("normal".into()),
            ..CallEvent::default()
        })
    }

    fn queued(call_id: &str, queue: &str) -> CtiEvent {
        CtiEvent::Call(CallEvent {
            kind: CallEventKind::Queued,
            call_id: call_id.into(),
            device: Some(queue.into()),
            target_device: Some(queue.into()),
            calling_device: Some("+420601123456".into()),
            called_device: Some("5000".into()),
            cause: Some("enteringDistribution".into()),
            ..CallEvent::default()
        })
    }

    fn route(call_id: &str) -> CtiEvent {
        CtiEvent::Route(RouteRequested {
            cross_ref_id: "r1".into(),
            call_id: call_id.into(),
            routing_device: "5000".into(),
            calling_device: Some("+420601123456".into()),
            called_device: Some("5000".into()),
            attempt: 0,
        })
    }

    fn route_decided(call_id: &str, destination: &str) -> CtiEvent {
        CtiEvent::RouteDecided(RouteDecided {
            cross_ref_id: "r1".into(),
            call_id: call_id.into(),
            routing_device: "5000".into(),
            destination: destination.into(),
            source: RouteSource::Cloud,
            elapsed_ms: 40,
            reason: None,
        })
    }

    fn diverted(call_id: &str, from: &str, to: &str) -> CtiEvent {
        let mut event = call(CallEventKind::Diverted, call_id, from);
        if let CtiEvent::Call(call) = &mut event {
            call.target_device = Some(to.into());
            call.cause = Some("noAnswer".into());
        }
        event
    }

    fn hang_up(seq: u64, call_id: &str) -> CtiEnvelope {
        envelope(
            seq,
            call(CallEventKind::ConnectionCleared, call_id, "+420601123456"),
        )
    }

    /// Pilot 5000 known as a queue, IVR port 7000.
    fn ivr_topology() -> Topology {
        Topology {
            ivr_devices: BTreeSet::from(["7000".to_owned()]),
            queue_devices: BTreeSet::from(["5000".to_owned()]),
        }
    }

    /// The one record that ends the contact (a lost state, wrap-up or done) and its outcome.
    fn ending(records: &[ContactEvent]) -> (&ContactEvent, &ContactOutcome) {
        let ends: Vec<&ContactEvent> = records.iter().filter(|r| r.to.ends_contact()).collect();
        assert_eq!(ends.len(), 1, "{records:#?}");
        let outcome = ends[0]
            .outcome
            .as_ref()
            .expect("the ending record has an outcome");
        (ends[0], outcome)
    }

    fn agent(state: AgentStateKind, reason: Option<&str>) -> CtiEvent {
        CtiEvent::Agent(AgentEvent {
            state,
            device: "2001".into(),
            agent_id: Some("agent01".into()),
            acd_group: Some("5000".into()),
            reason_code: reason.map(str::to_owned),
            snapshot: false,
        })
    }

    /// Folds call events into per-call states; returns the states and every lifecycle record.
    fn fold_calls(
        events: &[CtiEnvelope],
        topology: &Topology,
    ) -> (BTreeMap<String, CallState>, Vec<ContactEvent>) {
        let mut calls: BTreeMap<String, CallState> = BTreeMap::new();
        let mut records = Vec::new();
        for envelope in events {
            let Some(call_id) = call_id_of(&envelope.event) else {
                continue;
            };
            let key = call_key(&envelope.relay_id, call_id);
            let (state, outcome) = CallState::fold(calls.remove(&key), envelope, topology).unwrap();
            if let CallOutcome::Applied { events, .. } = outcome {
                records.extend(events);
            }
            calls.insert(key, state);
        }
        (calls, records)
    }

    fn states(records: &[ContactEvent]) -> Vec<ContactState> {
        records.iter().map(|record| record.to).collect()
    }

    /// Inbound call to pilot 5000, queued, offered to 2001, answered, customer hangs up.
    fn answered_call() -> Vec<CtiEnvelope> {
        vec![
            envelope(1, route("c1")),
            envelope(2, queued("c1", "5000")),
            envelope(3, call(CallEventKind::Delivered, "c1", "2001")),
            envelope(4, call(CallEventKind::Established, "c1", "2001")),
            envelope(5, call(CallEventKind::Held, "c1", "2001")),
            envelope(6, call(CallEventKind::Retrieved, "c1", "2001")),
            envelope(
                7,
                call(CallEventKind::ConnectionCleared, "c1", "+420601123456"),
            ),
            envelope(8, call(CallEventKind::ConnectionCleared, "c1", "2001")),
            envelope(9, call(CallEventKind::CallCleared, "c1", "2001")),
        ]
    }

    #[test]
    fn when_an_inbound_call_is_answered_should_go_through_queue_offer_connect_and_wrap_up() {
        // GIVEN an inbound ACD call answered by 2001
        let events = answered_call();
        // WHEN folded
        let (calls, records) = fold_calls(&events, &Topology::default());
        // THEN the lifecycle is the documented path and the state has every timestamp
        use ContactState::*;
        assert_eq!(
            states(&records),
            [Arrived, Queued, Offered, Connected, Held, Connected, WrapUp]
        );
        let call = &calls["prg-1/c1"];
        assert_eq!(call.state, WrapUp);
        assert_eq!(call.contact_id, "prg-1:1:1");
        assert_eq!(call.pilot.as_deref(), Some("5000"));
        assert_eq!(call.queue.as_deref(), Some("5000"));
        assert_eq!(call.answered_by.as_deref(), Some("2001"));
        assert_eq!(call.customer.as_deref(), Some("+420601123456"));
        assert_eq!(call.arrived_at, at(1));
        assert_eq!(call.queued_at, Some(at(2)));
        assert_eq!(call.offered_at, Some(at(3)));
        assert_eq!(call.answered_at, Some(at(4)));
        assert_eq!(call.ended_at, Some(at(7)));
        assert!(call.connections.is_empty());
        assert_eq!(records[2].agent_device.as_deref(), Some("2001"));
        assert_eq!(records[1].queue.as_deref(), Some("5000"));
        assert_eq!(records[0].from, None);
        assert_eq!(records[1].from, Some(Arrived));
    }

    #[test]
    fn when_the_caller_hangs_up_in_the_queue_should_be_abandoned_in_queue() {
        let events = vec![
            envelope(1, queued("c2", "5000")),
            envelope(
                2,
                call(CallEventKind::ConnectionCleared, "c2", "+420601123456"),
            ),
            envelope(3, call(CallEventKind::CallCleared, "c2", "5000")),
        ];
        let (calls, records) = fold_calls(&events, &Topology::default());
        use ContactState::*;
        assert_eq!(states(&records), [Arrived, Queued, AbandonedInQueue]);
        assert_eq!(calls["prg-1/c2"].ended_at, Some(at(2)));
        assert_eq!(calls["prg-1/c2"].answered_at, None);
    }

    #[test]
    fn when_the_caller_hangs_up_while_ringing_or_in_ivr_should_name_where_it_was_lost() {
        let topology = Topology {
            ivr_devices: BTreeSet::from(["7000".to_owned()]),
            ..Topology::default()
        };
        let ringing = vec![
            envelope(1, queued("c3", "5000")),
            envelope(2, call(CallEventKind::Delivered, "c3", "2001")),
            envelope(
                3,
                call(CallEventKind::ConnectionCleared, "c3", "+420601123456"),
            ),
        ];
        let (_, records) = fold_calls(&ringing, &topology);
        assert_eq!(records.last().unwrap().to, ContactState::AbandonedRinging);
        let ivr = vec![
            envelope(1, call(CallEventKind::Delivered, "c4", "7000")),
            envelope(2, call(CallEventKind::Established, "c4", "7000")),
            envelope(3, call(CallEventKind::CallCleared, "c4", "7000")),
        ];
        let (_, records) = fold_calls(&ivr, &topology);
        use ContactState::*;
        assert_eq!(states(&records), [Arrived, Ivr, AbandonedInIvr]);
    }

    #[test]
    fn when_a_call_fails_or_leaves_on_a_trunk_should_be_unanswered_or_overflowed() {
        let failed = vec![
            envelope(1, queued("c5", "5000")),
            envelope(2, call(CallEventKind::Failed, "c5", "2001")),
        ];
        let (_, records) = fold_calls(&failed, &Topology::default());
        assert_eq!(records.last().unwrap().to, ContactState::Unanswered);
        let overflow = vec![
            envelope(1, queued("c6", "5000")),
            envelope(2, call(CallEventKind::NetworkReached, "c6", "0800123456")),
            envelope(3, call(CallEventKind::CallCleared, "c6", "0800123456")),
        ];
        let (_, records) = fold_calls(&overflow, &Topology::default());
        assert_eq!(records.last().unwrap().to, ContactState::Overflowed);
    }

    #[test]
    fn when_an_agent_transfers_blind_should_be_offered_to_the_target_then_connected() {
        let mut transfer = call(CallEventKind::Transferred, "c7", "2001");
        if let CtiEvent::Call(event) = &mut transfer {
            event.target_device = Some("2002".into());
            event.cause = Some("singleStepTransfer".into());
        }
        let events = vec![
            envelope(1, queued("c7", "5000")),
            envelope(2, call(CallEventKind::Delivered, "c7", "2001")),
            envelope(3, call(CallEventKind::Established, "c7", "2001")),
            envelope(4, transfer),
            envelope(5, call(CallEventKind::Delivered, "c7", "2002")),
            envelope(6, call(CallEventKind::Established, "c7", "2002")),
            envelope(7, call(CallEventKind::ConnectionCleared, "c7", "2002")),
        ];
        let (calls, records) = fold_calls(&events, &Topology::default());
        use ContactState::*;
        assert_eq!(
            states(&records),
            [
                Arrived,
                Queued,
                Offered,
                Connected,
                Transferred,
                Offered,
                Connected,
                WrapUp
            ]
        );
        let call = &calls["prg-1/c7"];
        assert_eq!(call.transfers, 1);
        assert_eq!(call.answered_by.as_deref(), Some("2001"));
        assert_eq!(call.agent_device.as_deref(), Some("2002"));
    }

    #[test]
    fn when_an_attended_transfer_or_conference_happens_should_record_secondary_and_resulting_calls()
    {
        let mut conference = call(CallEventKind::Conferenced, "c8", "2001");
        let mut transfer = call(CallEventKind::Transferred, "c8", "2001");
        if let CtiEvent::Call(event) = &mut conference {
            event.target_device = Some("2002".into());
            event.secondary_call_id = Some("c9".into());
        }
        if let CtiEvent::Call(event) = &mut transfer {
            event.target_device = Some("2002".into());
            event.secondary_call_id = Some("c9".into());
            event.resulting_call_id = Some("c10".into());
            event.cause = Some("transfer".into());
        }
        let events = vec![
            envelope(1, queued("c8", "5000")),
            envelope(2, call(CallEventKind::Established, "c8", "2001")),
            envelope(3, conference),
            envelope(4, transfer),
        ];
        let (calls, records) = fold_calls(&events, &Topology::default());
        use ContactState::*;
        assert_eq!(
            states(&records),
            [
                Arrived,
                Queued,
                Connected,
                Conferenced,
                Transferred,
                Connected
            ]
        );
        let call = &calls["prg-1/c8"];
        assert_eq!(call.secondary_calls, BTreeSet::from(["c9".to_owned()]));
        assert_eq!(call.continued_as.as_deref(), Some("c10"));
        assert_eq!(call.agent_device.as_deref(), Some("2002"));
    }

    #[test]
    fn when_an_old_event_arrives_after_the_end_should_not_regress_the_state() {
        // GIVEN a call abandoned in the queue
        let mut events = vec![
            envelope(2, queued("c2", "5000")),
            envelope(
                3,
                call(CallEventKind::ConnectionCleared, "c2", "+420601123456"),
            ),
        ];
        // WHEN an older Delivered (seq 1) arrives afterwards
        events.push(envelope(1, call(CallEventKind::Delivered, "c2", "2001")));
        let (calls, records) = fold_calls(&events, &Topology::default());
        // THEN it is recorded as applied but moves nothing
        assert_eq!(calls["prg-1/c2"].state, ContactState::AbandonedInQueue);
        assert!(calls["prg-1/c2"].applied_event_ids.contains("prg-1:1:1"));
        assert_eq!(records.len(), 3);
    }

    #[test]
    fn when_a_call_id_is_reused_an_hour_later_should_start_a_new_contact() {
        let mut later = envelope(5000, queued("c2", "5000"));
        later.observed_at = at(2) + Duration::hours(2);
        let events = vec![
            envelope(1, queued("c2", "5000")),
            envelope(2, call(CallEventKind::CallCleared, "c2", "5000")),
            later,
        ];
        let (calls, records) = fold_calls(&events, &Topology::default());
        assert_eq!(calls["prg-1/c2"].contact_id, "prg-1:1:5000");
        assert_eq!(calls["prg-1/c2"].state, ContactState::Queued);
        assert_eq!(records.len(), 5);
    }

    #[test]
    fn when_the_agent_leaves_after_call_work_should_end_the_pending_wrap_up() {
        // GIVEN agent 2001 logged on, ready, then busy on call c1
        let mut presence = AgentPresence::new("2001");
        presence.apply(
            &envelope(1, agent(AgentStateKind::LoggedOn, None)),
            &agent_event(AgentStateKind::LoggedOn, None),
        );
        presence.apply(
            &envelope(2, agent(AgentStateKind::Ready, None)),
            &agent_event(AgentStateKind::Ready, None),
        );
        presence.apply(
            &envelope(3, agent(AgentStateKind::Busy, None)),
            &agent_event(AgentStateKind::Busy, None),
        );
        // WHEN the call ends while the agent is busy
        let (calls, _) = fold_calls(&answered_call(), &Topology::default());
        let mut call = calls["prg-1/c1"].clone();
        let started = WrapUpStarted {
            agent_device: "2001".into(),
            call_key: call.call_key.clone(),
            contact_id: call.contact_id.clone(),
            at: at(7),
        };
        assert_eq!(
            presence.start_wrap_up(&started),
            WrapUpDecision::Pending { replaced: None }
        );
        // (a second call ending while the first is pending ends the first's wrap-up)
        let mut second = presence.clone();
        let next = WrapUpStarted {
            call_key: "prg-1/c9".into(),
            contact_id: "prg-1:1:90".into(),
            at: at(8),
            ..started.clone()
        };
        assert_eq!(
            second.start_wrap_up(&next),
            WrapUpDecision::Pending {
                replaced: Some(WrapUpEnded {
                    call_key: call.call_key.clone(),
                    contact_id: call.contact_id.clone(),
                    at: at(8),
                })
            }
        );
        // AND the agent goes to after-call work, then ready
        let wac = envelope(10, agent(AgentStateKind::WorkingAfterCall, None));
        assert_eq!(
            presence.apply(&wac, &agent_event(AgentStateKind::WorkingAfterCall, None)),
            AgentOutcome::Applied {
                wrap_up_ended: None
            }
        );
        let ready = envelope(20, agent(AgentStateKind::Ready, None));
        let AgentOutcome::Applied {
            wrap_up_ended: Some(ended),
        } = presence.apply(&ready, &agent_event(AgentStateKind::Ready, None))
        else {
            panic!("the wrap-up should end");
        };
        // THEN the contact is done at the agent's ready time
        assert_eq!(ended.at, at(20));
        let done = call.end_wrap_up(ended.at).unwrap();
        assert_eq!(done.from, Some(ContactState::WrapUp));
        assert_eq!(done.to, ContactState::Done);
        assert_eq!(call.done_at, Some(at(20)));
        assert_eq!(call.end_wrap_up(at(21)), None);
        assert_eq!(presence.state, AgentState::Ready);
        assert_eq!(presence.pending_wrap_up, None);
    }

    #[test]
    fn when_the_agent_is_already_ready_when_the_call_ends_should_end_the_wrap_up_at_once() {
        let mut presence = AgentPresence::new("2001");
        presence.apply(
            &envelope(30, agent(AgentStateKind::Ready, None)),
            &agent_event(AgentStateKind::Ready, None),
        );
        let started = WrapUpStarted {
            agent_device: "2001".into(),
            call_key: "prg-1/c1".into(),
            contact_id: "prg-1:1:1".into(),
            at: at(7),
        };
        assert_eq!(
            presence.start_wrap_up(&started),
            WrapUpDecision::EndedAt(at(30))
        );
        assert_eq!(presence.pending_wrap_up, None);
    }

    #[test]
    fn when_an_agent_is_not_ready_should_keep_the_reason_until_the_next_state() {
        let mut presence = AgentPresence::new("2001");
        presence.apply(
            &envelope(1, agent(AgentStateKind::NotReady, Some("break"))),
            &agent_event(AgentStateKind::NotReady, Some("break")),
        );
        assert_eq!(presence.state, AgentState::NotReady);
        assert_eq!(presence.reason_code.as_deref(), Some("break"));
        assert_eq!(presence.agent_id.as_deref(), Some("agent01"));
        assert_eq!(presence.logged_on_at, Some(at(1)));
        // A late (older) event changes nothing; a duplicate is reported as such.
        let late = envelope(0, agent(AgentStateKind::Ready, None));
        presence.apply(&late, &agent_event(AgentStateKind::Ready, None));
        assert_eq!(presence.state, AgentState::NotReady);
        let again = envelope(1, agent(AgentStateKind::NotReady, Some("break")));
        assert_eq!(
            presence.apply(
                &again,
                &agent_event(AgentStateKind::NotReady, Some("break"))
            ),
            AgentOutcome::Duplicate
        );
        presence.apply(
            &envelope(2, agent(AgentStateKind::LoggedOff, None)),
            &agent_event(AgentStateKind::LoggedOff, None),
        );
        assert_eq!(presence.state, AgentState::LoggedOff);
        assert_eq!(presence.reason_code, None);
        assert_eq!(presence.logged_on_at, None);
    }

    fn agent_event(state: AgentStateKind, reason: Option<&str>) -> AgentEvent {
        let CtiEvent::Agent(event) = agent(state, reason) else {
            unreachable!()
        };
        event
    }

    // ------------------------------------------------------ lost phases and waits

    #[test]
    fn when_the_caller_hangs_up_before_the_ivr_answers_should_be_lost_before_ivr() {
        // GIVEN a call ringing at the pilot, then at the IVR port (not answered yet)
        let events = vec![
            envelope(1, call(CallEventKind::Delivered, "c11", "5000")),
            envelope(2, call(CallEventKind::Delivered, "c11", "7000")),
            hang_up(4, "c11"),
        ];
        // WHEN folded
        let (_, records) = fold_calls(&events, &ivr_topology());
        // THEN the contact is abandoned before the IVR after 3 s, with no other wait
        use ContactState::*;
        assert_eq!(states(&records), [Arrived, AbandonedInIvr]);
        let (_, outcome) = ending(&records);
        assert_eq!(
            outcome,
            &ContactOutcome {
                result: ContactResult::Abandoned,
                lost_phase: Some(LostPhase::BeforeIvr),
                total_ms: 3_000,
                from_ivr_ms: None,
                from_queue_ms: None,
                from_ring_ms: None,
                answered_by: None,
                missed_by: vec![],
            }
        );
        assert!(records[0].outcome.is_none());
    }

    #[test]
    fn when_the_caller_hangs_up_in_the_ivr_should_be_lost_in_ivr_with_the_ivr_time() {
        let events = vec![
            envelope(1, call(CallEventKind::Delivered, "c12", "7000")),
            envelope(2, call(CallEventKind::Established, "c12", "7000")),
            hang_up(10, "c12"),
            envelope(11, call(CallEventKind::CallCleared, "c12", "7000")),
        ];
        let (calls, records) = fold_calls(&events, &ivr_topology());
        use ContactState::*;
        assert_eq!(states(&records), [Arrived, Ivr, AbandonedInIvr]);
        let (_, outcome) = ending(&records);
        assert_eq!(outcome.lost_phase, Some(LostPhase::InIvr));
        assert_eq!(outcome.total_ms, 9_000);
        assert_eq!(outcome.from_ivr_ms, Some(8_000));
        assert_eq!(outcome.from_queue_ms, None);
        assert_eq!(calls["prg-1/c12"].ivr_entered_at, Some(at(2)));
    }

    #[test]
    fn when_the_caller_hangs_up_in_the_queue_after_the_ivr_should_measure_both_waits() {
        // GIVEN IVR from 2 s, the IVR leaves at 5 s, queued at 6 s; the caller hangs up at 16 s
        let events = vec![
            envelope(1, call(CallEventKind::Delivered, "c13", "7000")),
            envelope(2, call(CallEventKind::Established, "c13", "7000")),
            envelope(5, call(CallEventKind::ConnectionCleared, "c13", "7000")),
            envelope(6, queued("c13", "5000")),
            hang_up(16, "c13"),
        ];
        let (_, records) = fold_calls(&events, &ivr_topology());
        use ContactState::*;
        assert_eq!(states(&records), [Arrived, Ivr, Queued, AbandonedInQueue]);
        let (record, outcome) = ending(&records);
        assert_eq!(record.queue.as_deref(), Some("5000"));
        assert_eq!(outcome.lost_phase, Some(LostPhase::InQueue));
        assert_eq!(outcome.total_ms, 15_000);
        assert_eq!(outcome.from_ivr_ms, Some(14_000));
        assert_eq!(outcome.from_queue_ms, Some(10_000));
        assert_eq!(outcome.from_ring_ms, None);
    }

    #[test]
    fn when_the_caller_hangs_up_at_a_route_point_should_be_lost_in_queue_unless_routed_to_an_ivr() {
        // GIVEN a call waiting at route point 5000 for the routing decision
        let waiting = vec![envelope(1, route("c14")), hang_up(5, "c14")];
        let (_, records) = fold_calls(&waiting, &ivr_topology());
        use ContactState::*;
        assert_eq!(states(&records), [Arrived, AbandonedInQueue]);
        let (_, outcome) = ending(&records);
        assert_eq!(outcome.lost_phase, Some(LostPhase::InQueue));
        assert_eq!(outcome.from_queue_ms, Some(4_000));
        // WHEN routing sends the call to the IVR (or an announcement) before the caller leaves
        let routed = vec![
            envelope(1, route("c15")),
            envelope(2, route_decided("c15", "7000")),
            envelope(3, call(CallEventKind::Delivered, "c15", "7000")),
            hang_up(4, "c15"),
        ];
        let (_, records) = fold_calls(&routed, &ivr_topology());
        // THEN it is lost before the IVR, not in the queue
        assert_eq!(states(&records), [Arrived, AbandonedInIvr]);
        let (_, outcome) = ending(&records);
        assert_eq!(outcome.lost_phase, Some(LostPhase::BeforeIvr));
        assert_eq!(outcome.from_queue_ms, None);
    }

    #[test]
    fn when_a_call_moves_several_times_in_one_millisecond_should_its_records_sort_in_lifecycle_order(
    ) {
        // A PBX that answers at once (pbx-sim's auto-answering agent): one instant for all.
        let same_instant = |envelope: CtiEnvelope| CtiEnvelope {
            observed_at: at(1),
            ..envelope
        };
        let events = vec![
            same_instant(envelope(1, queued("c40", "5000"))),
            same_instant(envelope(2, call(CallEventKind::Delivered, "c40", "2001"))),
            same_instant(envelope(3, call(CallEventKind::Established, "c40", "2001"))),
            same_instant(hang_up(4, "c40")),
        ];
        let (mut calls, mut records) = fold_calls(&events, &ivr_topology());
        let call = calls.get_mut("prg-1/c40").unwrap();
        records.extend(call.end_wrap_up(at(1)));
        use ContactState::*;
        assert_eq!(
            states(&records),
            [Arrived, Queued, Offered, Connected, WrapUp, Done]
        );
        let keys: Vec<String> = records.iter().map(ContactEvent::sort_key).collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "{keys:?}");
        // The waits are the real ones.
        let outcome = records[4].outcome.as_ref().unwrap();
        assert_eq!((outcome.total_ms, outcome.from_ring_ms), (0, Some(0)));
    }

    #[test]
    fn when_the_caller_hangs_up_while_an_agent_rings_should_be_lost_ringing_with_the_ring_time() {
        let events = vec![
            envelope(1, queued("c16", "5000")),
            envelope(3, call(CallEventKind::Delivered, "c16", "2001")),
            hang_up(8, "c16"),
            envelope(9, call(CallEventKind::ConnectionCleared, "c16", "2001")),
        ];
        let (calls, records) = fold_calls(&events, &ivr_topology());
        use ContactState::*;
        assert_eq!(
            states(&records),
            [Arrived, Queued, Offered, AbandonedRinging]
        );
        let (record, outcome) = ending(&records);
        assert_eq!(record.agent_device.as_deref(), Some("2001"));
        assert_eq!(outcome.lost_phase, Some(LostPhase::RingingAgent));
        assert_eq!(outcome.total_ms, 7_000);
        assert_eq!(outcome.from_queue_ms, Some(7_000));
        assert_eq!(outcome.from_ring_ms, Some(5_000));
        // The caller gave up: not a missed offer of the agent.
        assert!(outcome.missed_by.is_empty());
        assert!(calls["prg-1/c16"].missed_offers.is_empty());
    }

    #[test]
    fn when_a_call_is_answered_should_record_the_time_to_answer_on_wrap_up_and_done() {
        // GIVEN route request at 1 s, queued at 2 s, ringing at 3 s, answered at 4 s
        let (calls, records) = fold_calls(&answered_call(), &Topology::default());
        // THEN the wrap-up record carries the answer and the waits up to it
        let (record, outcome) = ending(&records);
        assert_eq!(record.to, ContactState::WrapUp);
        assert_eq!(
            outcome,
            &ContactOutcome {
                result: ContactResult::Answered,
                lost_phase: None,
                total_ms: 3_000,
                from_ivr_ms: None,
                from_queue_ms: Some(3_000),
                from_ring_ms: Some(1_000),
                answered_by: Some("2001".into()),
                missed_by: vec![],
            }
        );
        // AND so does the done record when the wrap-up ends
        let mut call = calls["prg-1/c1"].clone();
        let done = call.end_wrap_up(at(30)).unwrap();
        assert_eq!(done.outcome.as_ref(), Some(outcome));
        // AND only the ending records have one
        assert_eq!(records.iter().filter(|r| r.outcome.is_some()).count(), 1);
    }

    #[test]
    fn when_an_agent_misses_the_offer_and_another_answers_should_record_the_missed_offer() {
        // GIVEN 2001 rings from 2 s, ring-no-answer back to the queue at 12 s, 2002 rings at 13 s
        // and answers at 15 s
        let events = vec![
            envelope(1, queued("c17", "5000")),
            envelope(2, call(CallEventKind::Delivered, "c17", "2001")),
            envelope(12, diverted("c17", "2001", "5000")),
            envelope(13, call(CallEventKind::Delivered, "c17", "2002")),
            envelope(15, call(CallEventKind::Established, "c17", "2002")),
            hang_up(30, "c17"),
        ];
        let (calls, records) = fold_calls(&events, &ivr_topology());
        use ContactState::*;
        assert_eq!(
            states(&records),
            [Arrived, Queued, Offered, Queued, Offered, Connected, WrapUp]
        );
        let (_, outcome) = ending(&records);
        assert_eq!(outcome.result, ContactResult::Answered);
        assert_eq!(outcome.answered_by.as_deref(), Some("2002"));
        assert_eq!(outcome.missed_by, ["2001"]);
        assert_eq!(outcome.from_queue_ms, Some(14_000));
        assert_eq!(outcome.from_ring_ms, Some(2_000));
        assert_eq!(calls["prg-1/c17"].missed_offers, ["2001"]);
        // AND a ring cleared without a divert, followed by a parallel ring answered elsewhere
        let events = vec![
            envelope(1, queued("c18", "5000")),
            envelope(2, call(CallEventKind::Delivered, "c18", "2001")),
            envelope(6, call(CallEventKind::ConnectionCleared, "c18", "2001")),
            envelope(7, call(CallEventKind::Delivered, "c18", "2002")),
            envelope(7, call(CallEventKind::Delivered, "c18", "2003")),
            envelope(9, call(CallEventKind::Established, "c18", "2003")),
            envelope(9, call(CallEventKind::ConnectionCleared, "c18", "2002")),
            hang_up(20, "c18"),
        ];
        // (distinct event ids for the two events at the same second)
        let events: Vec<CtiEnvelope> = events
            .into_iter()
            .enumerate()
            .map(|(index, mut envelope)| {
                envelope.event_id = format!("prg-1:2:{index}");
                envelope.seq = u64::try_from(index).unwrap();
                envelope
            })
            .collect();
        let (_, records) = fold_calls(&events, &ivr_topology());
        let (_, outcome) = ending(&records);
        // THEN only 2001 missed it: 2002 still rang when 2003 answered
        assert_eq!(outcome.missed_by, ["2001"]);
        assert_eq!(outcome.answered_by.as_deref(), Some("2003"));
        assert_eq!(outcome.from_ring_ms, Some(2_000));
    }

    #[test]
    fn when_the_events_of_a_lost_call_are_replayed_or_arrive_late_should_keep_the_same_records() {
        let events = vec![
            envelope(1, queued("c19", "5000")),
            envelope(2, call(CallEventKind::Delivered, "c19", "2001")),
            envelope(5, call(CallEventKind::ConnectionCleared, "c19", "2001")),
            hang_up(9, "c19"),
            envelope(10, call(CallEventKind::CallCleared, "c19", "5000")),
        ];
        let (calls, records) = fold_calls(&events, &ivr_topology());
        let (_, outcome) = ending(&records);
        assert_eq!(outcome.lost_phase, Some(LostPhase::InQueue));
        assert_eq!(outcome.missed_by, ["2001"]);
        // WHEN every event is delivered again, and an older Delivered arrives after the end
        let mut replayed = events.clone();
        replayed.extend(events.iter().cloned());
        replayed.push(envelope(3, call(CallEventKind::Delivered, "c19", "2002")));
        let (calls_again, records_again) = fold_calls(&replayed, &ivr_topology());
        // THEN the records are identical and the state moved nothing but the applied ids
        assert_eq!(records_again, records);
        let mut call = calls_again["prg-1/c19"].clone();
        assert!(call.applied_event_ids.remove("prg-1:1:3"));
        assert_eq!(call, calls["prg-1/c19"]);
    }

    #[test]
    fn when_an_event_is_replayed_should_report_a_duplicate() {
        let events = answered_call();
        let (calls, _) = fold_calls(&events, &Topology::default());
        let (_, outcome) = CallState::fold(
            Some(calls["prg-1/c1"].clone()),
            &events[3],
            &Topology::default(),
        )
        .unwrap();
        assert_eq!(outcome, CallOutcome::Duplicate);
    }

    // ---------------------------------------------------------------- properties

    fn arb_call_event() -> impl Strategy<Value = CtiEvent> {
        let kinds = prop::sample::select(vec![
            CallEventKind::ServiceInitiated,
            CallEventKind::Delivered,
            CallEventKind::Established,
            CallEventKind::Queued,
            CallEventKind::Held,
            CallEventKind::Retrieved,
            CallEventKind::Diverted,
            CallEventKind::Transferred,
            CallEventKind::Conferenced,
            CallEventKind::NetworkReached,
            CallEventKind::Failed,
            CallEventKind::ConnectionCleared,
            CallEventKind::CallCleared,
        ]);
        let devices = prop::sample::select(vec!["+420601123456", "5000", "7000", "2001", "2002"]);
        let calls = prop::sample::select(vec!["c1", "c2"]);
        (kinds, devices.clone(), devices, calls, any::<bool>()).prop_map(
            |(kind, subject, target, call_id, blind)| {
                if kind == CallEventKind::Queued {
                    return queued(call_id, "5000");
                }
                let mut event = call(kind, call_id, subject);
                if let CtiEvent::Call(call) = &mut event {
                    call.target_device = Some(target.to_owned());
                    if blind {
                        call.cause = Some("singleStepTransfer".into());
                    }
                }
                event
            },
        )
    }

    /// A stream of distinct envelopes, mostly in order, some late.
    fn arb_stream() -> impl Strategy<Value = Vec<CtiEnvelope>> {
        prop::collection::vec((arb_call_event(), 0_u64..3), 1..30).prop_map(|items| {
            items
                .into_iter()
                .enumerate()
                .map(|(index, (event, lateness))| {
                    let index = u64::try_from(index).unwrap() * 3 + 10;
                    let mut envelope = envelope(index, event);
                    // Some events carry an older position than their predecessor.
                    envelope.seq = index - lateness * 4;
                    envelope.observed_at = at(u32::try_from(envelope.seq).unwrap());
                    envelope
                })
                .collect()
        })
    }

    /// Events of one call (c1), route requests and decisions included.
    fn arb_one_call_stream() -> impl Strategy<Value = Vec<CtiEnvelope>> {
        let event = prop_oneof![
            8 => arb_call_event().prop_map(|mut event| {
                if let CtiEvent::Call(call) = &mut event {
                    call.call_id = "c1".into();
                }
                event
            }),
            1 => Just(route("c1")),
            1 => prop::sample::select(vec!["7000", "5000", "2001"])
                .prop_map(|destination| route_decided("c1", destination)),
        ];
        prop::collection::vec((event, 0_u64..3), 1..30).prop_map(|items| {
            items
                .into_iter()
                .enumerate()
                .map(|(index, (event, lateness))| {
                    let index = u64::try_from(index).unwrap() * 3 + 10;
                    let mut envelope = envelope(index, event);
                    envelope.seq = index - lateness * 4;
                    envelope.observed_at = at(u32::try_from(envelope.seq).unwrap());
                    envelope
                })
                .collect()
        })
    }

    fn topology() -> Topology {
        Topology {
            ivr_devices: BTreeSet::from(["7000".to_owned()]),
            ..Topology::default()
        }
    }

    proptest! {
        #[test]
        fn replaying_any_prefix_again_changes_nothing(stream in arb_stream(), cut in 0_usize..30) {
            let topology = topology();
            let (calls, records) = fold_calls(&stream, &topology);
            let mut replayed = stream.clone();
            replayed.extend(stream.iter().take(cut).cloned());
            let (calls_again, records_again) = fold_calls(&replayed, &topology);
            prop_assert_eq!(calls, calls_again);
            prop_assert_eq!(records, records_again);
        }

        #[test]
        fn duplicating_events_changes_nothing(
            stream in arb_stream(),
            duplicates in prop::collection::vec((0_usize..30, 0_usize..5), 0..10),
        ) {
            let topology = topology();
            let (calls, records) = fold_calls(&stream, &topology);
            let mut with_duplicates = stream.clone();
            // Insert a copy of event i at least one place after its first delivery.
            for (index, offset) in duplicates {
                let index = index % stream.len();
                let at = (index + 1 + offset).min(with_duplicates.len());
                let position = with_duplicates.iter().position(|e| e.event_id == stream[index].event_id).unwrap_or(0);
                with_duplicates.insert(at.max(position + 1), stream[index].clone());
            }
            let (calls_again, records_again) = fold_calls(&with_duplicates, &topology);
            prop_assert_eq!(calls, calls_again);
            prop_assert_eq!(records, records_again);
        }

        #[test]
        fn every_recorded_move_is_allowed_and_terminal_states_stay(stream in arb_stream()) {
            let (calls, records) = fold_calls(&stream, &topology());
            let mut per_contact: BTreeMap<&str, Vec<&ContactEvent>> = BTreeMap::new();
            for record in &records {
                per_contact.entry(&record.contact_id).or_default().push(record);
            }
            for moves in per_contact.values() {
                prop_assert_eq!(moves[0].from, None);
                prop_assert_eq!(moves[0].to, ContactState::Arrived);
                for pair in moves.windows(2) {
                    prop_assert_eq!(pair[1].from, Some(pair[0].to));
                    prop_assert!(pair[0].to.can_move_to(pair[1].to), "{} → {}", pair[0].to, pair[1].to);
                }
            }
            for call in calls.values() {
                let last = records.iter().rev().find(|r| r.contact_id == call.contact_id).unwrap();
                prop_assert_eq!(last.to, call.state);
            }
        }


        #[test]
        fn any_call_ending_in_a_clear_should_have_one_ending_record_with_one_classification(
            stream in arb_one_call_stream(),
            customer_leaves in any::<bool>(),
        ) {
            // GIVEN any events of call c1, then the customer's hang-up or the call's clearing
            let mut stream = stream;
            let last = stream.iter().map(|e| e.seq).max().unwrap_or(0) + 1;
            let subject = if customer_leaves { "+420601123456" } else { "5000" };
            let kind = if customer_leaves { CallEventKind::ConnectionCleared } else { CallEventKind::CallCleared };
            let mut clear = envelope(last, call(kind, "c1", subject));
            clear.event_id = "prg-1:2:last".into();
            stream.push(clear);
            // WHEN folded
            let (calls, records) = fold_calls(&stream, &ivr_topology());
            // THEN exactly one record ends the contact, and only it carries an outcome
            let ends: Vec<&ContactEvent> = records.iter().filter(|r| r.to.ends_contact()).collect();
            prop_assert_eq!(ends.len(), 1, "{:#?}", records);
            prop_assert_eq!(records.iter().filter(|r| r.outcome.is_some()).count(), 1);
            let end = ends[0];
            let outcome = end.outcome.as_ref().unwrap();
            // AND its classification is exactly one: the result of its state, a lost phase iff
            // abandoned (the one its move names)
            prop_assert_eq!(Some(outcome.result), ContactResult::of(end.to));
            let phase = end.from.and_then(|from| LostPhase::of(from, end.to));
            prop_assert_eq!(outcome.lost_phase, phase);
            prop_assert_eq!(phase.is_some(), outcome.result == ContactResult::Abandoned);
            if let Some(phase) = phase {
                prop_assert_eq!(phase.abandoned_state(), end.to);
            }
            // AND no wait is longer than the whole
            for wait in [outcome.from_ivr_ms, outcome.from_queue_ms, outcome.from_ring_ms].into_iter().flatten() {
                prop_assert!(wait <= outcome.total_ms);
            }
            prop_assert_eq!(outcome.answered_by.is_some(), outcome.result == ContactResult::Answered);
            // AND the end of a wrap-up repeats the same outcome on `done`
            let mut call = calls["prg-1/c1"].clone();
            if let Some(done) = call.end_wrap_up(at(10_000)) {
                prop_assert_eq!(done.outcome.as_ref(), Some(outcome));
            }
        }

        #[test]
        fn agent_duplicates_and_replays_change_nothing(
            states in prop::collection::vec(prop::sample::select(vec![
                AgentStateKind::LoggedOn, AgentStateKind::LoggedOff, AgentStateKind::Ready,
                AgentStateKind::NotReady, AgentStateKind::WorkingAfterCall, AgentStateKind::Busy,
            ]), 1..20),
            cut in 0_usize..20,
        ) {
            let stream: Vec<(CtiEnvelope, AgentEvent)> = states
                .iter()
                .enumerate()
                .map(|(index, state)| {
                    let envelope = envelope(u64::try_from(index).unwrap() + 1, agent(*state, Some("break")));
                    (envelope, agent_event(*state, Some("break")))
                })
                .collect();
            let fold = |items: &[(CtiEnvelope, AgentEvent)]| {
                let mut presence = AgentPresence::new("2001");
                presence.start_wrap_up(&WrapUpStarted {
                    agent_device: "2001".into(), call_key: "prg-1/c1".into(),
                    contact_id: "prg-1:1:1".into(), at: at(0),
                });
                let mut ended = Vec::new();
                for (envelope, event) in items {
                    if let AgentOutcome::Applied { wrap_up_ended: Some(end) } = presence.apply(envelope, event) {
                        ended.push(end);
                    }
                }
                (presence, ended)
            };
            let once = fold(&stream);
            let mut replayed = stream.clone();
            replayed.extend(stream.iter().take(cut).cloned());
            let mut doubled = Vec::new();
            for item in &stream {
                doubled.push(item.clone());
                doubled.push(item.clone());
            }
            prop_assert_eq!(&once, &fold(&replayed));
            prop_assert_eq!(&once, &fold(&doubled));
        }
    }
}
