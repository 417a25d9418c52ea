//! The switch itself: devices, calls with ECMA-269 connection states, monitors, application
//! sessions, route points, and the CSTA request handling.
//!
//! [`Pbx`] is synchronous and deterministic: every operation mutates state, queues the messages
//! it sends (responses under the request's invoke id, events under [`InvokeId::EVENT`], switch
//! requests such as RouteRequest under ids from a per-client [`InvokeIdAllocator`]) in an outbox,
//! and asks for timers as [`Effect`]s. [`crate::Sim`] flushes the outbox to the TCP clients and
//! runs the timers on tokio, which calls [`Pbx::fire`] back.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use csta::model::{self as m, CstaErrorCode, Message};
use csta::types::{
    AgentState, ConnectionId, ConnectionList, ConnectionListItem, DeviceId, ErrorCategory,
    LocalConnectionState as Lcs, ParticipationType,
};
use csta::{Edition, Element, InvokeId, InvokeIdAllocator};
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use crate::config::{DeviceConfig, DeviceIdFormat, DeviceKind, InitialAgentState, SimConfig};
use crate::traffic::CallPlan;

/// Identifies one TCP client connection.
pub type ClientId = u64;

/// What the PBX asks a client connection's writer to do.
#[derive(Debug, Clone)]
pub enum ClientCmd {
    /// Send one frame.
    Send(InvokeId, Box<Message>),
    /// Close the TCP connection.
    Close,
}

/// A timer the PBX wants run; when it expires, call [`Pbx::fire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timer {
    /// Check whether a client's application session has expired.
    SessionExpiry {
        /// Client.
        client: ClientId,
        /// Session generation the timer was armed for.
        generation: u64,
    },
    /// RouteRequest reply timeout.
    RouteTimeout {
        /// Routeing cross-reference id.
        xref: String,
        /// Dialogue generation the timer was armed for.
        generation: u32,
    },
    /// The device answers its alerting call.
    Answer {
        /// Device.
        device: String,
    },
    /// A party hangs up (`None` = the caller).
    Hangup {
        /// Call id.
        call: String,
        /// Device, or the calling party when `None`.
        device: Option<String>,
    },
    /// The caller abandons unless an agent has answered.
    Abandon {
        /// Call id.
        call: String,
    },
    /// A call has waited too long in a pilot's queue: overflow to the default destination.
    QueueTimeout {
        /// Call id.
        call: String,
        /// Pilot.
        pilot: String,
    },
    /// An agent's wrap-up time is over.
    WrapUpEnd {
        /// Agent device.
        device: String,
    },
    /// The caller keys DTMF digits.
    Dtmf {
        /// Call id.
        call: String,
        /// Digits.
        digits: String,
    },
    /// A message played (or recorded) on an IVR port reached its end.
    VoiceEnd {
        /// Call id.
        call: String,
        /// IVR port.
        device: String,
        /// Activity generation the timer was armed for.
        generation: u64,
    },
}

/// A timer request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    /// Delay.
    pub after: Duration,
    /// What to do then.
    pub timer: Timer,
}

/// Why an operation was refused. Maps to a `CSTAErrorCode` ([`OpError::csta`]) on the CSTA side
/// and to an HTTP status on the control API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// Device not configured (and not an external number).
    #[error("unknown device {0}")]
    UnknownDevice(String),
    /// Call id not known.
    #[error("unknown call {0}")]
    UnknownCall(String),
    /// Device has no connection in that call.
    #[error("device {device} has no connection in call {call}")]
    UnknownConnection {
        /// Call id.
        call: String,
        /// Device.
        device: String,
    },
    /// The object is in the wrong state for the request.
    #[error("invalid state: {0}")]
    InvalidState(String),
    /// The destination cannot be called.
    #[error("invalid destination {0}")]
    InvalidDestination(String),
    /// Monitor or route cross-reference id not known.
    #[error("unknown cross-reference id {0}")]
    UnknownCrossRef(String),
    /// The monitor licence limit is reached.
    #[error("monitor licence limit of {0} reached")]
    MonitorLimit(usize),
    /// A mandatory field is missing.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// No application session on this link.
    #[error("no application session")]
    NoSession,
    /// The request is not supported by the simulator.
    #[error("unsupported request {0}")]
    Unsupported(String),
    /// Injected fault.
    #[error("injected error {category}/{value}")]
    Injected {
        /// Category.
        category: String,
        /// Value.
        value: String,
    },
    /// Client id not connected.
    #[error("unknown client {0}")]
    UnknownClient(ClientId),
}

impl OpError {
    /// The CSTAErrorCode sent for this refusal.
    pub fn csta(&self) -> CstaErrorCode {
        let (category, value) = match self {
            Self::UnknownDevice(_) => (ErrorCategory::Operation, "invalidDeviceID"),
            Self::UnknownCall(_) => (ErrorCategory::Operation, "invalidCallID"),
            Self::UnknownConnection { .. } => (ErrorCategory::Operation, "invalidConnectionID"),
            Self::InvalidState(_) => (ErrorCategory::StateIncompatibility, "invalidObjectState"),
            Self::InvalidDestination(_) => (ErrorCategory::Operation, "invalidDestination"),
            Self::UnknownCrossRef(_) => (ErrorCategory::Operation, "invalidCrossRefID"),
            Self::MonitorLimit(_) => (
                ErrorCategory::SystemResourceAvailability,
                "overallMonitorLimitExceeded",
            ),
            Self::Missing(_) => (ErrorCategory::Operation, "valueOutOfRange"),
            Self::NoSession => (ErrorCategory::Security, "invalidApplicationSession"),
            Self::Unsupported(_) => (ErrorCategory::Operation, "requestIncompatibleWithObject"),
            Self::UnknownClient(_) => (ErrorCategory::Operation, "generic"),
            Self::Injected { category, value } => {
                return CstaErrorCode {
                    category: ErrorCategory::from_text(category),
                    value: value.clone(),
                }
            }
        };
        CstaErrorCode {
            category,
            value: value.to_owned(),
        }
    }
}

/// ECMA-269 agent state kept per agent extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AgentStatus {
    /// Logged off.
    LoggedOff,
    /// Logged on, not ready.
    NotReady,
    /// Ready for ACD calls.
    Ready,
    /// Wrap-up.
    WorkingAfterCall,
}

/// Agent part of an agent extension.
#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    /// Agent id.
    pub agent_id: String,
    /// State.
    pub status: AgentStatus,
    /// Tick at which the agent became idle (longest-idle distribution).
    #[serde(skip)]
    idle_since: u64,
}

/// A configured device and its agent state.
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    /// Configuration.
    pub config: DeviceConfig,
    /// Agent state (agent extensions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
}

/// One connection: a device's leg in a call.
#[derive(Debug, Clone, Serialize)]
pub struct Connection {
    /// Device id.
    pub device: String,
    /// ECMA-269 LocalConnectionState.
    #[serde(serialize_with = "ser_lcs")]
    pub state: Lcs,
    /// Silent participant (supervisor monitoring).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub silent: bool,
}

fn ser_lcs<S: serde::Serializer>(v: &Lcs, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_str())
}

/// A call.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// Call id (32 hex characters, OSV style).
    pub id: String,
    /// Calling device.
    pub calling: String,
    /// Originally called device.
    pub called: String,
    /// Last redirecting device (pilot, deflecting extension…).
    pub last_redirection: Option<String>,
    /// Connections.
    pub connections: Vec<Connection>,
    /// DTMF digits keyed on the call so far.
    pub digits: String,
    /// Traffic-generator plan, if the call is generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<CallPlan>,
}

impl Call {
    fn conn(&self, device: &str) -> Option<&Connection> {
        self.connections.iter().find(|c| c.device == device)
    }
    fn conn_mut(&mut self, device: &str) -> Option<&mut Connection> {
        self.connections.iter_mut().find(|c| c.device == device)
    }
    fn cid(&self, device: &str) -> ConnectionId {
        ConnectionId::new(&self.id, device)
    }
}

/// What an IVR port does on a connection (voice unit services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VoiceKind {
    /// PlayMessage.
    Play,
    /// RecordMessage.
    Record,
}

/// A message being played or recorded on an IVR port's connection.
#[derive(Debug, Clone, Serialize)]
pub struct VoiceActivity {
    /// Call id.
    pub call: String,
    /// IVR port.
    pub device: String,
    /// Playing or recording.
    pub kind: VoiceKind,
    /// The message id (played prompt, or the recording's id).
    pub message: String,
    /// Planned length, ms.
    pub length_ms: u64,
    #[serde(skip)]
    started: Instant,
    #[serde(skip)]
    generation: u64,
}

/// A finished recording (a WAV file served by `GET /recordings/{id}`).
#[derive(Debug, Clone)]
pub struct Recording {
    /// Call id.
    pub call: String,
    /// Length, ms.
    pub duration_ms: u64,
    /// The WAV file.
    pub wav: Vec<u8>,
}

/// A small valid WAV file: 8 kHz, mono, 16-bit PCM, a quiet 440 Hz tone of `ms` milliseconds.
pub fn wav_tone(ms: u64) -> Vec<u8> {
    const RATE: u32 = 8000;
    let samples = usize::try_from(ms.saturating_mul(u64::from(RATE)) / 1000).unwrap_or(0);
    let data_len = u32::try_from(samples * 2).unwrap_or(u32::MAX - 64);
    let mut out = Vec::with_capacity(44 + samples * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..samples {
        let t = i as f64 / f64::from(RATE);
        let v = (std::f64::consts::TAU * 440.0 * t).sin() * 6000.0;
        out.extend_from_slice(&(v as i16).to_le_bytes());
    }
    out
}

/// A device monitor.
#[derive(Debug, Clone, Serialize)]
pub struct Monitor {
    /// monitorCrossRefID.
    pub xref: String,
    /// Owning client.
    pub client: ClientId,
    /// Monitored device.
    pub device: String,
}

/// An application session (ECMA-354).
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// sessionID.
    pub id: String,
    /// actualSessionDuration, seconds.
    pub duration_s: u32,
    /// Application id the client gave.
    pub application_id: Option<String>,
    #[serde(skip)]
    expires_at: Instant,
    #[serde(skip)]
    generation: u64,
}

/// A connected CSTA client.
#[derive(Debug)]
struct Client {
    peer: String,
    tx: UnboundedSender<ClientCmd>,
    ids: InvokeIdAllocator,
    session: Option<Session>,
}

/// A RouteRegister registration.
#[derive(Debug, Clone, Serialize)]
pub struct RouteRegistration {
    /// routeRegisterReqID.
    pub id: String,
    /// Owning client.
    pub client: ClientId,
    /// Routeing device (pilot).
    pub device: String,
}

/// An open routeing dialogue (RouteRequest sent, waiting for RouteSelect).
#[derive(Debug, Clone, Serialize)]
pub struct RouteDialogue {
    /// crossRefIdentifier.
    pub xref: String,
    /// routeRegisterReqID.
    pub reg_id: String,
    /// Client routeing the call.
    pub client: ClientId,
    /// Call.
    pub call: String,
    /// Routeing device.
    pub pilot: String,
    /// ReRouteRequests sent so far.
    pub reroutes: u32,
    #[serde(skip)]
    generation: u32,
}

/// An injected "answer the next request(s) of this kind with this error" fault.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ErrorFault {
    /// Request element name, e.g. `MakeCall`.
    pub request: String,
    /// CSTAErrorCode category, e.g. `operation`.
    #[serde(default = "default_category")]
    pub category: String,
    /// Error value, e.g. `generic`.
    #[serde(default = "default_error_value")]
    pub value: String,
    /// How many requests to fail (default 1).
    #[serde(default = "one")]
    pub count: u32,
}

fn default_category() -> String {
    "operation".into()
}
fn default_error_value() -> String {
    "generic".into()
}
fn one() -> u32 {
    1
}

/// One message in the traffic log.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Sequence number, from 1.
    pub seq: u64,
    /// `out` (PBX → client) or `in` (client → PBX).
    pub direction: &'static str,
    /// Client id.
    pub client: ClientId,
    /// Invoke id (4 digits).
    pub invoke_id: String,
    /// XML root element name.
    pub message: String,
    /// Typed content.
    pub body: Message,
}

const LOG_CAPACITY: usize = 100_000;

/// Public counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    /// Frames sent to clients.
    pub sent: u64,
    /// Events (invoke id 9999) sent.
    pub events_sent: u64,
    /// Frames received.
    pub received: u64,
    /// Calls created.
    pub calls_created: u64,
    /// Calls answered by an agent.
    pub calls_answered: u64,
    /// Calls abandoned by the caller before an agent answered.
    pub calls_abandoned: u64,
}

/// The simulated switch.
#[derive(Debug)]
pub struct Pbx {
    config: SimConfig,
    fmt: DeviceIdFormat,
    edition: Edition,
    devices: BTreeMap<String, Device>,
    calls: BTreeMap<String, Call>,
    clients: BTreeMap<ClientId, Client>,
    monitors: BTreeMap<u64, Monitor>,
    route_regs: BTreeMap<String, RouteRegistration>,
    dialogues: BTreeMap<String, RouteDialogue>,
    queues: BTreeMap<String, VecDeque<String>>,
    faults: Vec<ErrorFault>,
    monitor_limit: Option<usize>,
    auto_answer_ms: Option<u64>,
    log: VecDeque<LogEntry>,
    log_seq: u64,
    counters: Counters,
    seq: u64,
    outbox: Vec<(ClientId, InvokeId, Message)>,
    effects: Vec<Effect>,
    /// Voice unit activity per `"{call}/{device}"`.
    voice: BTreeMap<String, VoiceActivity>,
    recordings: BTreeMap<String, Recording>,
}

/// Normalises a device id from the wire: `N<2001>;noa=nk` → `2001`.
pub fn normalise_device(id: &str) -> String {
    let id = id.trim();
    if let Some(rest) = id.strip_prefix("N<") {
        if let Some(end) = rest.find('>') {
            return rest[..end].to_owned();
        }
    }
    id.to_owned()
}

fn is_external_number(id: &str) -> bool {
    let digits = id.strip_prefix('+').unwrap_or(id);
    digits.len() >= 6 && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
fn dev(id: &str) -> Option<DeviceId> {
    Some(DeviceId::wrapped("deviceIdentifier", id))
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

fn voice_key(call: &str, device: &str) -> String {
    format!("{call}/{device}")
}

/// Sets monitorCrossRefID and localConnectionInfo on an event.
fn stamp(msg: &mut Message, xref: &str, lcs: Option<Lcs>) {
    macro_rules! set {
        ($($v:ident),*) => {
            match msg {
                $( Message::$v(e) => {
                    e.monitor_cross_ref_id = Some(xref.to_owned());
                    e.local_connection_info = lcs;
                } )*
                Message::DigitsGeneratedEvent(e) => e.monitor_cross_ref_id = Some(xref.to_owned()),
                Message::PlayEvent(e) => e.monitor_cross_ref_id = Some(xref.to_owned()),
                Message::RecordEvent(e) => e.monitor_cross_ref_id = Some(xref.to_owned()),
                Message::StopEvent(e) => e.monitor_cross_ref_id = Some(xref.to_owned()),
                Message::AgentLoggedOnEvent(e) => e.monitor_cross_ref_id = Some(xref.to_owned()),
                Message::AgentLoggedOffEvent(e) => e.monitor_cross_ref_id = Some(xref.to_owned()),
                Message::AgentReadyEvent(e) => e.monitor_cross_ref_id = Some(xref.to_owned()),
                Message::AgentNotReadyEvent(e) => e.monitor_cross_ref_id = Some(xref.to_owned()),
                Message::AgentWorkingAfterCallEvent(e) => e.monitor_cross_ref_id = Some(xref.to_owned()),
                Message::AgentBusyEvent(e) => e.monitor_cross_ref_id = Some(xref.to_owned()),
                _ => {}
            }
        };
    }
    set!(
        ServiceInitiatedEvent,
        OriginatedEvent,
        DeliveredEvent,
        EstablishedEvent,
        ConnectionClearedEvent,
        CallClearedEvent,
        HeldEvent,
        RetrievedEvent,
        QueuedEvent,
        DivertedEvent,
        FailedEvent,
        TransferredEvent,
        ConferencedEvent,
        NetworkReachedEvent
    );
}

/// Which device owns a connection in a request (`deviceID`, normalised).
fn conn_parts(c: &Option<ConnectionId>, field: &'static str) -> Result<(String, String), OpError> {
    let c = c.as_ref().ok_or(OpError::Missing(field))?;
    let call = c.call_id.clone().ok_or(OpError::Missing("callID"))?;
    let device = c
        .device_id
        .as_deref()
        .map(normalise_device)
        .ok_or(OpError::Missing("deviceID"))?;
    Ok((call, device))
}

fn device_field(d: &Option<DeviceId>, field: &'static str) -> Result<String, OpError> {
    d.as_ref()
        .map(|d| normalise_device(&d.id))
        .filter(|d| !d.is_empty())
        .ok_or(OpError::Missing(field))
}

impl Pbx {
    /// A switch with these devices and settings.
    pub fn new(config: SimConfig, edition: Edition) -> Self {
        let devices = config
            .devices
            .iter()
            .map(|d| {
                let agent = (d.kind == DeviceKind::Agent).then(|| Agent {
                    agent_id: d.agent_id.clone().unwrap_or_else(|| d.id.clone()),
                    status: match d.initial_state {
                        InitialAgentState::LoggedOff => AgentStatus::LoggedOff,
                        InitialAgentState::NotReady => AgentStatus::NotReady,
                        InitialAgentState::Ready => AgentStatus::Ready,
                    },
                    idle_since: 0,
                });
                (
                    d.id.clone(),
                    Device {
                        config: d.clone(),
                        agent,
                    },
                )
            })
            .collect();
        Self {
            fmt: config.device_id_format,
            monitor_limit: config.monitor_limit,
            auto_answer_ms: config.auto_answer_ms,
            config,
            edition,
            devices,
            calls: BTreeMap::new(),
            clients: BTreeMap::new(),
            monitors: BTreeMap::new(),
            route_regs: BTreeMap::new(),
            dialogues: BTreeMap::new(),
            queues: BTreeMap::new(),
            faults: Vec::new(),
            log: VecDeque::new(),
            log_seq: 0,
            counters: Counters::default(),
            seq: 0,
            outbox: Vec::new(),
            effects: Vec::new(),
            voice: BTreeMap::new(),
            recordings: BTreeMap::new(),
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn new_call_id(&mut self) -> String {
        let n = self.next_seq();
        format!("FF00{n:028X}")
    }

    fn after(&mut self, ms: u64, timer: Timer) {
        self.effects.push(Effect {
            after: Duration::from_millis(ms),
            timer,
        });
    }

    // ------------------------------------------------------------------ outbox, log, effects

    /// Takes the timers requested since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Sends the queued messages to their clients and logs them.
    pub fn flush(&mut self) {
        for (client, invoke_id, message) in std::mem::take(&mut self.outbox) {
            let Some(c) = self.clients.get(&client) else {
                continue;
            };
            self.counters.sent += 1;
            if invoke_id == InvokeId::EVENT {
                self.counters.events_sent += 1;
            }
            let _ =
                c.tx.send(ClientCmd::Send(invoke_id, Box::new(message.clone())));
            self.push_log("out", client, invoke_id, message);
        }
    }

    fn push_log(&mut self, direction: &'static str, client: ClientId, id: InvokeId, m: Message) {
        self.log_seq += 1;
        if self.log.len() >= LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(LogEntry {
            seq: self.log_seq,
            direction,
            client,
            invoke_id: id.to_string(),
            message: m.name().to_owned(),
            body: m,
        });
    }

    /// Log entries with `seq > since` (at most `limit`).
    /// Only entries of `direction` (`in` / `out`) when given.
    pub fn log_since(&self, since: u64, direction: Option<&str>, limit: usize) -> Vec<LogEntry> {
        let start = self.log.partition_point(|e| e.seq <= since);
        self.log
            .range(start..)
            .filter(|e| direction.is_none_or(|d| d == e.direction))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Highest log sequence number so far.
    pub fn log_seq(&self) -> u64 {
        self.log_seq
    }

    /// Counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Queues a message to a client under an invoke id (e.g. an error for an undecodable frame).
    pub fn reply(&mut self, client: ClientId, id: InvokeId, msg: Message) {
        self.outbox.push((client, id, msg));
    }

    fn send(&mut self, client: ClientId, id: InvokeId, msg: impl Into<Message>) {
        self.outbox.push((client, id, msg.into()));
    }

    fn send_request(&mut self, client: ClientId, msg: impl Into<Message>) {
        if let Some(c) = self.clients.get_mut(&client) {
            let id = c.ids.next_id();
            self.outbox.push((client, id, msg.into()));
        }
    }

    /// Sends an event to every monitor of `devices` (each device once), stamping the monitor's
    /// cross-reference id and the device's local connection state in `call`.
    fn emit(&mut self, call: Option<&str>, devices: &[String], event: impl Into<Message>) {
        let event = event.into();
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for d in devices {
            if seen.contains(&d.as_str()) {
                continue;
            }
            seen.push(d);
            let lcs = call
                .and_then(|c| self.calls.get(c))
                .and_then(|c| c.conn(d))
                .map(|c| c.state.clone());
            for m in self.monitors.values().filter(|m| &m.device == d) {
                let mut e = event.clone();
                stamp(&mut e, &m.xref, lcs.clone().or(call.map(|_| Lcs::Null)));
                out.push((m.client, InvokeId::EVENT, e));
            }
        }
        self.outbox.extend(out);
    }

    fn parties(&self, call: &str) -> Vec<String> {
        self.calls
            .get(call)
            .map(|c| c.connections.iter().map(|c| c.device.clone()).collect())
            .unwrap_or_default()
    }

    // ------------------------------------------------------------------ clients and sessions

    /// Registers a TCP client.
    pub fn client_connected(&mut self, id: ClientId, peer: String, tx: UnboundedSender<ClientCmd>) {
        self.clients.insert(
            id,
            Client {
                peer,
                tx,
                ids: InvokeIdAllocator::default(),
                session: None,
            },
        );
    }

    /// Forgets a TCP client: its session, monitors and route registrations end. Open routeing
    /// dialogues stay and fall back to the default destination on timeout, as on a real switch.
    pub fn client_gone(&mut self, id: ClientId) {
        if self.clients.remove(&id).is_some() {
            tracing::info!(client = id, "client disconnected");
        }
        self.end_client_state(id);
    }

    fn end_client_state(&mut self, id: ClientId) {
        self.monitors.retain(|_, m| m.client != id);
        self.route_regs.retain(|_, r| r.client != id);
    }

    /// Closes the TCP link of one client, or of all clients (fault injection).
    pub fn drop_links(&mut self, client: Option<ClientId>) -> Vec<ClientId> {
        let ids: Vec<_> = self
            .clients
            .keys()
            .copied()
            .filter(|c| client.is_none_or(|x| x == *c))
            .collect();
        for id in &ids {
            self.flush();
            if let Some(c) = self.clients.get(id) {
                let _ = c.tx.send(ClientCmd::Close);
            }
            self.client_gone(*id);
        }
        ids
    }

    /// Expires the application session of one client or all (fault injection, or timer):
    /// sends StopApplicationSession (definedEndReason `sessionTimerExpired`), drops its monitors
    /// and route registrations, and closes the link.
    pub fn expire_sessions(&mut self, client: Option<ClientId>) -> Vec<ClientId> {
        let ids: Vec<_> = self
            .clients
            .iter()
            .filter(|(id, c)| c.session.is_some() && client.is_none_or(|x| x == **id))
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            let session = self
                .clients
                .get_mut(id)
                .and_then(|c| c.session.take())
                .map(|s| s.id);
            tracing::info!(client = id, ?session, "application session expired");
            self.send_request(
                *id,
                m::StopApplicationSession {
                    session_id: session,
                    session_end_reason: Some(m::SessionEndReason {
                        defined_end_reason: s("sessionTimerExpired"),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            );
            self.end_client_state(*id);
        }
        self.flush();
        for id in &ids {
            if let Some(c) = self.clients.get(id) {
                let _ = c.tx.send(ClientCmd::Close);
            }
            self.client_gone(*id);
        }
        ids
    }

    fn session_start(&mut self, client: ClientId, id: InvokeId, req: m::StartApplicationSession) {
        let cfg = &self.config.session;
        let duration = req
            .requested_session_duration
            .unwrap_or(cfg.default_duration_s)
            .clamp(
                cfg.min_duration_s,
                cfg.max_duration_s.max(cfg.min_duration_s),
            );
        let n = self.next_seq();
        let session_id = format!("{n:09}");
        let Some(c) = self.clients.get_mut(&client) else {
            return;
        };
        let generation = c.session.as_ref().map_or(0, |s| s.generation + 1);
        c.session = Some(Session {
            id: session_id.clone(),
            duration_s: duration,
            application_id: req.application_info.and_then(|a| a.application_id),
            expires_at: Instant::now() + Duration::from_secs(u64::from(duration)),
            generation,
        });
        self.send(
            client,
            id,
            m::StartApplicationSessionPosResponse {
                session_id: Some(session_id),
                actual_protocol_version: s(self.edition.namespace()),
                actual_session_duration: Some(duration),
                ..Default::default()
            },
        );
        self.after(
            u64::from(duration) * 1000,
            Timer::SessionExpiry { client, generation },
        );
    }

    fn session_error(code: &str) -> Element {
        Element::with_children("errorCode", vec![Element::text("definedError", code)])
    }

    fn session_reset(
        &mut self,
        client: ClientId,
        id: InvokeId,
        req: m::ResetApplicationSessionTimer,
    ) {
        let (min, max) = (
            self.config.session.min_duration_s,
            self.config.session.max_duration_s,
        );
        let Some(c) = self.clients.get_mut(&client) else {
            return;
        };
        let matches = c
            .session
            .as_ref()
            .is_some_and(|s| req.session_id.as_deref().is_none_or(|r| r == s.id));
        let Some(session) = c.session.as_mut().filter(|_| matches) else {
            self.send(
                client,
                id,
                m::ResetApplicationSessionTimerNegResponse {
                    error_code: Some(Self::session_error("invalidSessionID")),
                    ..Default::default()
                },
            );
            return;
        };
        let duration = req
            .requested_session_duration
            .unwrap_or(session.duration_s)
            .clamp(min, max.max(min));
        session.duration_s = duration;
        session.expires_at = Instant::now() + Duration::from_secs(u64::from(duration));
        session.generation += 1;
        let generation = session.generation;
        self.send(
            client,
            id,
            m::ResetApplicationSessionTimerPosResponse {
                actual_session_duration: Some(duration),
                ..Default::default()
            },
        );
        self.after(
            u64::from(duration) * 1000,
            Timer::SessionExpiry { client, generation },
        );
    }

    fn session_stop(&mut self, client: ClientId, id: InvokeId, req: m::StopApplicationSession) {
        let Some(c) = self.clients.get_mut(&client) else {
            return;
        };
        let ok = c
            .session
            .as_ref()
            .is_some_and(|s| req.session_id.as_deref().is_none_or(|r| r == s.id));
        if ok {
            c.session = None;
            self.end_client_state(client);
            self.send(client, id, m::StopApplicationSessionPosResponse::default());
        } else {
            self.send(
                client,
                id,
                m::StopApplicationSessionNegResponse {
                    error_code: Some(Self::session_error("invalidSessionID")),
                    ..Default::default()
                },
            );
        }
    }

    /// Sends SystemStatus to every client (a switch request; the client answers
    /// SystemStatusResponse under the same invoke id).
    pub fn broadcast_system_status(&mut self, status: &str) {
        let ids: Vec<_> = self.clients.keys().copied().collect();
        for c in ids {
            self.send_request(
                c,
                m::SystemStatus {
                    system_status: s(status),
                    ..Default::default()
                },
            );
        }
    }

    // ------------------------------------------------------------------ timers

    /// Runs an expired timer.
    pub fn fire(&mut self, timer: Timer) {
        let result = match timer {
            Timer::SessionExpiry { client, generation } => {
                let due = self
                    .clients
                    .get(&client)
                    .and_then(|c| c.session.as_ref())
                    .filter(|s| s.generation == generation)
                    .map(|s| s.expires_at);
                if let Some(at) = due {
                    if Instant::now() >= at {
                        self.expire_sessions(Some(client));
                    } else {
                        let ms = u64::try_from((at - Instant::now()).as_millis()).unwrap_or(0);
                        self.after(ms, Timer::SessionExpiry { client, generation });
                    }
                }
                Ok(())
            }
            Timer::RouteTimeout { xref, generation } => {
                if self
                    .dialogues
                    .get(&xref)
                    .is_some_and(|d| d.generation == generation)
                {
                    self.route_timeout(&xref);
                }
                Ok(())
            }
            Timer::Answer { device } => {
                if let Some(call) = self.alerting_call(&device) {
                    self.answer(&call, &device)
                } else {
                    Ok(())
                }
            }
            Timer::Hangup { call, device } => match self.calls.get(&call) {
                Some(c) => {
                    let d = device.unwrap_or_else(|| c.calling.clone());
                    if c.conn(&d).is_some() {
                        self.clear_connection(&call, &d)
                    } else {
                        Ok(())
                    }
                }
                None => Ok(()),
            },
            Timer::Abandon { call } => {
                let abandon = self.calls.get(&call).is_some_and(|c| {
                    !c.connections.iter().any(|x| {
                        x.state == Lcs::Connected && self.kind(&x.device) == Some(DeviceKind::Agent)
                    })
                });
                if abandon {
                    self.counters.calls_abandoned += 1;
                    let caller = self
                        .calls
                        .get(&call)
                        .map(|c| c.calling.clone())
                        .unwrap_or_default();
                    self.clear_connection(&call, &caller)
                } else {
                    Ok(())
                }
            }
            Timer::QueueTimeout { call, pilot } => {
                let queued = self.queues.get(&pilot).is_some_and(|q| q.contains(&call));
                let target = self
                    .devices
                    .get(&pilot)
                    .and_then(|d| d.config.default_destination.clone());
                match (queued, target) {
                    (true, Some(dest)) => {
                        tracing::info!(call, pilot, dest, "queue timeout, overflow");
                        self.divert(&call, &pilot, &dest, "overflow")
                    }
                    _ => Ok(()),
                }
            }
            Timer::WrapUpEnd { device } => {
                if self.agent_status(&device) == Some(AgentStatus::WorkingAfterCall) {
                    self.set_agent_state(&device, &AgentState::Ready, None)
                } else {
                    Ok(())
                }
            }
            Timer::Dtmf { call, digits } => match self.calls.get(&call) {
                Some(c) => {
                    let caller = c.calling.clone();
                    self.generate_digits(&call, &caller, &digits)
                }
                None => Ok(()),
            },
            Timer::VoiceEnd {
                call,
                device,
                generation,
            } => {
                let current = self
                    .voice
                    .get(&voice_key(&call, &device))
                    .filter(|v| v.generation == generation)
                    .map(|v| (v.kind, v.length_ms));
                if let Some((kind, length)) = current {
                    let cause = match kind {
                        VoiceKind::Play => "endOfMessageDetected",
                        VoiceKind::Record => "messageDurationExceeded",
                    };
                    self.stop_voice(&call, &device, cause, Some(length));
                }
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "timer action skipped");
        }
    }

    /// Asks for a timer (used by the HTTP API for "answer after N seconds").
    pub fn schedule(&mut self, after_ms: u64, timer: Timer) {
        self.after(after_ms, timer);
    }

    // ------------------------------------------------------------------ lookups

    fn kind(&self, device: &str) -> Option<DeviceKind> {
        self.devices.get(device).map(|d| d.config.kind)
    }

    /// Resolves a destination: a configured device, or an external number.
    fn resolve(&self, device: &str) -> Result<DeviceKind, OpError> {
        match self.kind(device) {
            Some(DeviceKind::Trunk) => Err(OpError::InvalidDestination(device.to_owned())),
            Some(k) => Ok(k),
            None if is_external_number(device) => Ok(DeviceKind::External),
            None => Err(OpError::InvalidDestination(device.to_owned())),
        }
    }

    /// True when the device has a call in progress (not held).
    fn busy(&self, device: &str) -> bool {
        self.calls.values().any(|c| {
            c.conn(device)
                .is_some_and(|x| x.state != Lcs::Hold && x.state != Lcs::Null)
        })
    }

    /// The call in which `device` is alerting.
    pub fn alerting_call(&self, device: &str) -> Option<String> {
        self.calls
            .values()
            .find(|c| c.conn(device).is_some_and(|x| x.state == Lcs::Alerting))
            .map(|c| c.id.clone())
    }

    fn call_with(&self, device: &str, state: &Lcs) -> Option<String> {
        self.calls
            .values()
            .find(|c| c.conn(device).is_some_and(|x| &x.state == state))
            .map(|c| c.id.clone())
    }

    fn require_conn(&self, call: &str, device: &str) -> Result<&Connection, OpError> {
        let c = self
            .calls
            .get(call)
            .ok_or_else(|| OpError::UnknownCall(call.to_owned()))?;
        c.conn(device).ok_or_else(|| OpError::UnknownConnection {
            call: call.to_owned(),
            device: device.to_owned(),
        })
    }

    fn set_state(&mut self, call: &str, device: &str, state: Lcs) {
        if let Some(c) = self.calls.get_mut(call).and_then(|c| c.conn_mut(device)) {
            c.state = state;
        }
    }

    fn add_conn(&mut self, call: &str, device: &str, state: Lcs) {
        if let Some(c) = self.calls.get_mut(call) {
            match c.conn_mut(device) {
                Some(x) => x.state = state,
                None => c.connections.push(Connection {
                    device: device.to_owned(),
                    state,
                    silent: false,
                }),
            }
        }
    }

    fn remove_conn(&mut self, call: &str, device: &str) {
        if self.voice.contains_key(&voice_key(call, device)) {
            self.stop_voice(call, device, "normalClearing", None);
        }
        if let Some(c) = self.calls.get_mut(call) {
            c.connections.retain(|x| x.device != device);
        }
    }

    // ------------------------------------------------------------------ call flows

    /// An inbound call from `from` (an outside number, via the trunk) to `to`.
    pub fn inbound_call(
        &mut self,
        from: &str,
        to: &str,
        plan: Option<CallPlan>,
    ) -> Result<String, OpError> {
        self.resolve(to)?;
        let id = self.new_call_id();
        self.counters.calls_created += 1;
        if let Some(p) = &plan {
            self.after(p.patience_ms, Timer::Abandon { call: id.clone() });
        }
        self.calls.insert(
            id.clone(),
            Call {
                id: id.clone(),
                calling: from.to_owned(),
                called: to.to_owned(),
                last_redirection: None,
                connections: vec![Connection {
                    device: from.to_owned(),
                    state: Lcs::Connected,
                    silent: false,
                }],
                digits: String::new(),
                plan,
            },
        );
        tracing::info!(call = %id, from, to, "inbound call");
        self.deliver(&id, to, None, "newCall")?;
        Ok(id)
    }

    /// MakeCall: `from` goes off-hook and dials `to`.
    pub fn make_call(&mut self, from: &str, to: &str) -> Result<String, OpError> {
        match self.kind(from) {
            Some(DeviceKind::Agent | DeviceKind::External | DeviceKind::Ivr) => {}
            Some(_) => return Err(OpError::InvalidState(format!("{from} cannot place calls"))),
            None => return Err(OpError::UnknownDevice(from.to_owned())),
        }
        self.resolve(to)?;
        let id = self.new_call_id();
        self.counters.calls_created += 1;
        self.calls.insert(
            id.clone(),
            Call {
                id: id.clone(),
                calling: from.to_owned(),
                called: to.to_owned(),
                last_redirection: None,
                connections: Vec::new(),
                digits: String::new(),
                plan: None,
            },
        );
        self.originate(&id, from, to, "newCall")?;
        Ok(id)
    }

    fn originate(&mut self, call: &str, from: &str, to: &str, cause: &str) -> Result<(), OpError> {
        self.add_conn(call, from, Lcs::Initiated);
        let parties = vec![from.to_owned()];
        self.emit(
            Some(call),
            &parties,
            m::ServiceInitiatedEvent {
                initiated_connection: Some(ConnectionId::new(call, from)),
                initiating_device: self.fmt.dev(from),
                cause: s(cause),
                ..Default::default()
            },
        );
        self.set_state(call, from, Lcs::Connected);
        self.emit(
            Some(call),
            &parties,
            m::OriginatedEvent {
                originated_connection: Some(ConnectionId::new(call, from)),
                calling_device: self.fmt.dev(from),
                called_device: self.fmt.dev(to),
                cause: s(cause),
                ..Default::default()
            },
        );
        self.deliver(call, to, None, cause)
    }

    /// Offers the call to `dest`: rings an extension or external number, lets an IVR or
    /// announcement port answer, or hands the call to a pilot (routeing, ACD or queue).
    fn deliver(
        &mut self,
        call: &str,
        dest: &str,
        via: Option<&str>,
        cause: &str,
    ) -> Result<(), OpError> {
        let kind = self.resolve(dest)?;
        if let (Some(v), Some(c)) = (via, self.calls.get_mut(call)) {
            c.last_redirection = Some(v.to_owned());
        }
        match kind {
            DeviceKind::Pilot => {
                self.at_pilot(call, dest);
                Ok(())
            }
            DeviceKind::Agent if self.busy(dest) => {
                self.fail(call, dest, "busy");
                Ok(())
            }
            _ => {
                if kind == DeviceKind::External {
                    self.network_reached(call, dest);
                }
                self.ring(call, dest, cause);
                match kind {
                    DeviceKind::Ivr | DeviceKind::Announcement => {
                        self.answer(call, dest)?;
                        let plan = self.calls.get(call).and_then(|c| c.plan.clone());
                        if let (DeviceKind::Ivr, Some(p)) = (kind, plan) {
                            if let Some(digit) = p.ivr_digit {
                                self.after(
                                    p.ivr_delay_ms,
                                    Timer::Dtmf {
                                        call: call.to_owned(),
                                        digits: digit,
                                    },
                                );
                            }
                        }
                    }
                    DeviceKind::Agent => {
                        if let Some(ms) = self.auto_answer_ms {
                            self.after(
                                ms,
                                Timer::Answer {
                                    device: dest.to_owned(),
                                },
                            );
                        }
                    }
                    DeviceKind::External => {
                        if let Some(ms) = self.config.external_answer_ms {
                            self.after(
                                ms,
                                Timer::Answer {
                                    device: dest.to_owned(),
                                },
                            );
                        }
                    }
                    _ => {}
                }
                Ok(())
            }
        }
    }

    fn ring(&mut self, call: &str, dest: &str, cause: &str) {
        self.add_conn(call, dest, Lcs::Alerting);
        let Some(c) = self.calls.get(call) else {
            return;
        };
        let mut recipients = self.parties(call);
        recipients.extend(c.last_redirection.clone());
        let ev = m::DeliveredEvent {
            connection: Some(c.cid(dest)),
            alerting_device: self.fmt.dev(dest),
            calling_device: self.fmt.dev(&c.calling),
            called_device: self.fmt.dev(&c.called),
            last_redirection_device: c.last_redirection.as_deref().and_then(|d| self.fmt.dev(d)),
            cause: s(cause),
            ..Default::default()
        };
        self.emit(Some(call), &recipients, ev);
    }

    /// The call leaves the switch on the trunk towards an outside number.
    fn network_reached(&mut self, call: &str, dest: &str) {
        let trunk = self
            .devices
            .values()
            .find(|d| d.config.kind == DeviceKind::Trunk)
            .map_or_else(|| "trunk".to_owned(), |d| d.config.id.clone());
        let Some(c) = self.calls.get(call) else {
            return;
        };
        let ev = m::NetworkReachedEvent {
            outbound_connection: Some(c.cid(dest)),
            network_interface_used: self.fmt.dev(&trunk),
            calling_device: self.fmt.dev(&c.calling),
            called_device: self.fmt.dev(dest),
            cause: s("normal"),
            ..Default::default()
        };
        let recipients = self.parties(call);
        self.emit(Some(call), &recipients, ev);
    }

    fn fail(&mut self, call: &str, dest: &str, cause: &str) {
        let Some(c) = self.calls.get(call) else {
            return;
        };
        let ev = m::FailedEvent {
            failed_connection: Some(c.cid(dest)),
            failing_device: self.fmt.dev(dest),
            calling_device: self.fmt.dev(&c.calling),
            called_device: self.fmt.dev(&c.called),
            cause: s(cause),
            ..Default::default()
        };
        let caller = c.calling.clone();
        self.set_state(call, &caller, Lcs::Fail);
        let mut recipients = self.parties(call);
        recipients.push(dest.to_owned());
        self.emit(Some(call), &recipients, ev);
    }

    /// A call reaches a pilot: RouteRequest when a client registered it as a route point,
    /// otherwise ACD distribution to a free agent, otherwise the queue.
    fn at_pilot(&mut self, call: &str, pilot: &str) {
        if let Some(reg) = self
            .route_regs
            .values()
            .find(|r| r.device == pilot)
            .cloned()
        {
            self.queue_at(call, pilot, "enteringDistribution", false);
            let xref = self.next_seq().to_string();
            let timeout_ms = self
                .devices
                .get(pilot)
                .and_then(|d| d.config.route_timeout_ms)
                .unwrap_or(self.config.route_timeout_ms);
            let Some(c) = self.calls.get(call) else {
                return;
            };
            let req = m::RouteRequest {
                cross_ref_identifier: Some(xref.clone()),
                route_register_req_id: Some(reg.id.clone()),
                current_route: Some(DeviceId::plain(pilot)),
                calling_device: Some(DeviceId::plain(&c.calling)),
                routeing_device: Some(DeviceId::plain(pilot)),
                routed_call: Some(c.cid(pilot)),
                route_sel_algorithm: s("routeDistribution"),
                priority: Some(false),
                reply_timeout: Some(u32::try_from(timeout_ms.div_ceil(1000)).unwrap_or(u32::MAX)),
                ..Default::default()
            };
            self.dialogues.insert(
                xref.clone(),
                RouteDialogue {
                    xref: xref.clone(),
                    reg_id: reg.id,
                    client: reg.client,
                    call: call.to_owned(),
                    pilot: pilot.to_owned(),
                    reroutes: 0,
                    generation: 0,
                },
            );
            self.send_request(reg.client, req);
            self.after(
                timeout_ms,
                Timer::RouteTimeout {
                    xref,
                    generation: 0,
                },
            );
            return;
        }
        match self.free_agent(pilot) {
            Some(agent) => {
                self.remove_conn(call, pilot);
                if let Some(c) = self.calls.get_mut(call) {
                    c.last_redirection = Some(pilot.to_owned());
                }
                self.ring_agent(call, &agent, "distributed");
            }
            None => {
                self.queues
                    .entry(pilot.to_owned())
                    .or_default()
                    .push_back(call.to_owned());
                self.queue_at(call, pilot, "noAvailableAgents", true);
                self.arm_queue_timeout(call, pilot);
            }
        }
    }

    fn ring_agent(&mut self, call: &str, agent: &str, cause: &str) {
        self.ring(call, agent, cause);
        if let Some(ms) = self.auto_answer_ms {
            self.after(
                ms,
                Timer::Answer {
                    device: agent.to_owned(),
                },
            );
        }
    }

    fn queue_at(&mut self, call: &str, pilot: &str, cause: &str, count: bool) {
        self.add_conn(call, pilot, Lcs::Queued);
        let n = if count {
            self.queues.get(pilot).map_or(0, VecDeque::len)
        } else {
            1
        };
        let Some(c) = self.calls.get(call) else {
            return;
        };
        let ev = m::QueuedEvent {
            queued_connection: Some(c.cid(pilot)),
            queue: self.fmt.dev(pilot),
            calling_device: self.fmt.dev(&c.calling),
            called_device: self.fmt.dev(&c.called),
            last_redirection_device: c.last_redirection.as_deref().and_then(|d| self.fmt.dev(d)),
            number_queued: Some(u32::try_from(n).unwrap_or(u32::MAX)),
            cause: s(cause),
            ..Default::default()
        };
        let recipients = self.parties(call);
        self.emit(Some(call), &recipients, ev);
    }

    fn arm_queue_timeout(&mut self, call: &str, pilot: &str) {
        if let Some(ms) = self
            .devices
            .get(pilot)
            .and_then(|d| d.config.queue_timeout_ms)
        {
            self.after(
                ms,
                Timer::QueueTimeout {
                    call: call.to_owned(),
                    pilot: pilot.to_owned(),
                },
            );
        }
    }

    /// The longest-idle ready agent of the pilot's group that has no call.
    fn free_agent(&self, pilot: &str) -> Option<String> {
        if self.devices.get(pilot).is_some_and(|d| !d.config.acd) {
            return None;
        }
        let members = self
            .devices
            .get(pilot)
            .map(|d| d.config.members.clone())
            .unwrap_or_default();
        self.devices
            .values()
            .filter(|d| members.is_empty() || members.contains(&d.config.id))
            .filter_map(|d| d.agent.as_ref().map(|a| (d, a)))
            .filter(|(d, a)| a.status == AgentStatus::Ready && !self.busy(&d.config.id))
            .min_by_key(|(d, a)| (a.idle_since, d.config.id.clone()))
            .map(|(d, _)| d.config.id.clone())
    }

    /// Distributes queued calls to agents that became free.
    fn dispatch_queues(&mut self) {
        let pilots: Vec<String> = self.queues.keys().cloned().collect();
        for pilot in pilots {
            while let Some(call) = self.queues.get(&pilot).and_then(|q| q.front().cloned()) {
                let Some(agent) = self.free_agent(&pilot) else {
                    break;
                };
                if let Some(q) = self.queues.get_mut(&pilot) {
                    q.pop_front();
                }
                if !self.calls.contains_key(&call) {
                    continue;
                }
                self.remove_conn(&call, &pilot);
                if let Some(c) = self.calls.get_mut(&call) {
                    c.last_redirection = Some(pilot.clone());
                }
                // The pilot's monitors see the call leave through the Delivered event.
                self.ring(&call, &agent, "distributed");
                if let Some(ms) = self.auto_answer_ms {
                    self.after(ms, Timer::Answer { device: agent });
                }
            }
        }
        self.queues.retain(|_, q| !q.is_empty());
    }

    /// The device answers its alerting connection in `call`.
    pub fn answer(&mut self, call: &str, device: &str) -> Result<(), OpError> {
        let conn = self.require_conn(call, device)?;
        if conn.state != Lcs::Alerting {
            return Err(OpError::InvalidState(format!(
                "{device} is {} in call {call}, not alerting",
                conn.state.as_str()
            )));
        }
        self.set_state(call, device, Lcs::Connected);
        let Some(c) = self.calls.get(call) else {
            return Ok(());
        };
        let ev = m::EstablishedEvent {
            established_connection: Some(c.cid(device)),
            answering_device: self.fmt.dev(device),
            calling_device: self.fmt.dev(&c.calling),
            called_device: self.fmt.dev(&c.called),
            last_redirection_device: c.last_redirection.as_deref().and_then(|d| self.fmt.dev(d)),
            cause: s("newCall"),
            ..Default::default()
        };
        let plan = c.plan.clone();
        let recipients = self.parties(call);
        self.emit(Some(call), &recipients, ev);
        if self.kind(device) == Some(DeviceKind::Agent) {
            self.counters.calls_answered += 1;
            if let Some(p) = plan {
                self.after(
                    p.talk_ms,
                    Timer::Hangup {
                        call: call.to_owned(),
                        device: None,
                    },
                );
            }
        }
        Ok(())
    }

    /// Answers whatever call is alerting at `device`.
    pub fn answer_device(&mut self, device: &str) -> Result<String, OpError> {
        let call = self
            .alerting_call(device)
            .ok_or_else(|| OpError::InvalidState(format!("no call alerting at {device}")))?;
        self.answer(&call, device)?;
        Ok(call)
    }

    /// A party leaves the call (hang-up, ClearConnection). When at most one party is left,
    /// the call is cleared.
    pub fn clear_connection(&mut self, call: &str, device: &str) -> Result<(), OpError> {
        self.require_conn(call, device)?;
        // A recording keeps what was said until the caller hung up.
        self.stop_voice_in_call(call, "normalClearing");
        let talking = self.talking_agents(call);
        let everyone = self.parties(call);
        self.set_state(call, device, Lcs::Null);
        let Some(c) = self.calls.get(call) else {
            return Ok(());
        };
        let ev = m::ConnectionClearedEvent {
            dropped_connection: Some(c.cid(device)),
            releasing_device: self.fmt.dev(device),
            cause: s("normalClearing"),
            ..Default::default()
        };
        let recipients = everyone;
        self.emit(Some(call), &recipients, ev);
        self.remove_conn(call, device);
        if self.kind(device) == Some(DeviceKind::Pilot) {
            for q in self.queues.values_mut() {
                q.retain(|c| c != call);
            }
        }
        let left = self
            .calls
            .get(call)
            .map_or(0, |c| c.connections.iter().filter(|x| !x.silent).count());
        if left <= 1 {
            self.clear_call(call, &recipients);
        }
        self.wrap_up(call, talking);
        self.dispatch_queues();
        Ok(())
    }

    /// Agents connected (or holding) in a call.
    fn talking_agents(&self, call: &str) -> Vec<String> {
        self.calls
            .get(call)
            .map(|c| {
                c.connections
                    .iter()
                    .filter(|x| matches!(x.state, Lcs::Connected | Lcs::Hold))
                    .filter(|x| self.kind(&x.device) == Some(DeviceKind::Agent))
                    .map(|x| x.device.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ready agents that left `call` go to wrap-up (when configured).
    fn wrap_up(&mut self, call: &str, agents: Vec<String>) {
        let Some(ms) = self.config.wrap_up_ms else {
            return;
        };
        for a in agents {
            let left = self.calls.get(call).is_none_or(|c| c.conn(&a).is_none());
            if left
                && self.agent_status(&a) == Some(AgentStatus::Ready)
                && self
                    .set_agent_state(&a, &AgentState::WorkingAfterCall, None)
                    .is_ok()
            {
                self.after(ms, Timer::WrapUpEnd { device: a });
            }
        }
    }

    fn clear_call(&mut self, call: &str, recipients: &[String]) {
        self.stop_voice_in_call(call, "normalClearing");
        for c in self.parties(call) {
            self.set_state(call, &c, Lcs::Null);
        }
        let ev = m::CallClearedEvent {
            cleared_call: Some(ConnectionId {
                call_id: Some(call.to_owned()),
                device_id: None,
            }),
            cause: s("normalClearing"),
            ..Default::default()
        };
        self.emit(Some(call), recipients, ev);
        self.calls.remove(call);
        for q in self.queues.values_mut() {
            q.retain(|c| c != call);
        }
        let open: Vec<_> = self
            .dialogues
            .values()
            .filter(|d| d.call == call)
            .cloned()
            .collect();
        for d in open {
            self.dialogues.remove(&d.xref);
            self.send_request(
                d.client,
                m::RouteEnd {
                    cross_ref_identifier: Some(d.xref.clone()),
                    route_register_req_id: Some(d.reg_id.clone()),
                    ..Default::default()
                },
            );
        }
        for d in recipients {
            if let Some(a) = self.devices.get_mut(d).and_then(|d| d.agent.as_mut()) {
                a.idle_since = self.seq;
            }
        }
    }

    /// Puts the device's connection on hold.
    pub fn hold(&mut self, call: &str, device: &str) -> Result<(), OpError> {
        let conn = self.require_conn(call, device)?;
        if conn.state != Lcs::Connected {
            return Err(OpError::InvalidState(format!("{device} is not connected")));
        }
        self.set_state(call, device, Lcs::Hold);
        let ev = m::HeldEvent {
            held_connection: Some(ConnectionId::new(call, device)),
            holding_device: self.fmt.dev(device),
            cause: s("newCall"),
            ..Default::default()
        };
        let recipients = self.parties(call);
        self.emit(Some(call), &recipients, ev);
        Ok(())
    }

    /// Retrieves a held connection.
    pub fn retrieve(&mut self, call: &str, device: &str) -> Result<(), OpError> {
        let conn = self.require_conn(call, device)?;
        if conn.state != Lcs::Hold {
            return Err(OpError::InvalidState(format!("{device} is not on hold")));
        }
        self.set_state(call, device, Lcs::Connected);
        let ev = m::RetrievedEvent {
            retrieved_connection: Some(ConnectionId::new(call, device)),
            retrieving_device: self.fmt.dev(device),
            cause: s("newCall"),
            ..Default::default()
        };
        let recipients = self.parties(call);
        self.emit(Some(call), &recipients, ev);
        Ok(())
    }

    /// Holds `call` at `device` (if connected) and calls `target`; returns the new call id.
    pub fn consult(&mut self, call: &str, device: &str, target: &str) -> Result<String, OpError> {
        let state = self.require_conn(call, device)?.state.clone();
        self.resolve(target)?;
        match state {
            Lcs::Connected => self.hold(call, device)?,
            Lcs::Hold => {}
            _ => return Err(OpError::InvalidState(format!("{device} is not connected"))),
        }
        let id = self.new_call_id();
        self.counters.calls_created += 1;
        self.calls.insert(
            id.clone(),
            Call {
                id: id.clone(),
                calling: device.to_owned(),
                called: target.to_owned(),
                last_redirection: None,
                connections: Vec::new(),
                digits: String::new(),
                plan: None,
            },
        );
        self.originate(&id, device, target, "consultation")?;
        Ok(id)
    }

    /// The held and the active call of a device (for transfer / conference by device).
    pub fn held_and_active(&self, device: &str) -> Result<(String, String), OpError> {
        let held = self
            .call_with(device, &Lcs::Hold)
            .ok_or_else(|| OpError::InvalidState(format!("{device} has no held call")))?;
        let active = self
            .calls
            .values()
            .find(|c| {
                c.id != held
                    && c.conn(device)
                        .is_some_and(|x| x.state == Lcs::Connected || x.state == Lcs::Initiated)
            })
            .map(|c| c.id.clone())
            .ok_or_else(|| OpError::InvalidState(format!("{device} has no active call")))?;
        Ok((held, active))
    }

    fn check_pair(&self, device: &str, held: &str, active: &str) -> Result<(), OpError> {
        if self.require_conn(held, device)?.state != Lcs::Hold {
            return Err(OpError::InvalidState(format!(
                "{device} has not held {held}"
            )));
        }
        let a = self.require_conn(active, device)?.state.clone();
        if held == active || !(a == Lcs::Connected || a == Lcs::Initiated) {
            return Err(OpError::InvalidState(format!(
                "{device} is not active in {active}"
            )));
        }
        Ok(())
    }

    /// Moves the other parties of `active` into `held` and returns the connection list
    /// (new → old) plus the added party.
    fn merge(
        &mut self,
        device: &str,
        held: &str,
        active: &str,
    ) -> (ConnectionList, Option<String>) {
        let moved: Vec<Connection> = self
            .calls
            .remove(active)
            .map(|c| c.connections)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.device != device)
            .collect();
        let added = moved.first().map(|c| c.device.clone());
        let mut list = Vec::new();
        if let Some(c) = self.calls.get_mut(held) {
            for x in &c.connections {
                if x.device != device {
                    list.push(ConnectionListItem {
                        new_connection: Some(ConnectionId::new(held, &x.device)),
                        old_connection: Some(ConnectionId::new(held, &x.device)),
                        endpoint: self.fmt.dev(&x.device),
                    });
                }
            }
            for x in moved {
                list.push(ConnectionListItem {
                    new_connection: Some(ConnectionId::new(held, &x.device)),
                    old_connection: Some(ConnectionId::new(active, &x.device)),
                    endpoint: self.fmt.dev(&x.device),
                });
                c.connections.push(x);
            }
        }
        for d in self.dialogues.values_mut() {
            if d.call == active {
                d.call = held.to_owned();
            }
        }
        for q in self.queues.values_mut() {
            for c in q.iter_mut() {
                if c == active {
                    *c = held.to_owned();
                }
            }
        }
        (ConnectionList(list), added)
    }

    /// TransferCall: the device's held call and active call are joined and the device leaves.
    /// Returns the resulting call id (the held call's id) and the connection list.
    pub fn transfer(
        &mut self,
        device: &str,
        held: &str,
        active: &str,
    ) -> Result<(String, ConnectionList), OpError> {
        self.check_pair(device, held, active)?;
        let recipients: Vec<String> = self
            .parties(held)
            .into_iter()
            .chain(self.parties(active))
            .collect();
        let (list, added) = self.merge(device, held, active);
        self.set_state(held, device, Lcs::Null);
        let ev = m::TransferredEvent {
            primary_old_call: Some(ConnectionId::new(held, device)),
            secondary_old_call: Some(ConnectionId::new(active, device)),
            transferring_device: self.fmt.dev(device),
            transferred_to_device: added.as_deref().and_then(|d| self.fmt.dev(d)),
            transferred_connections: Some(list.clone()),
            cause: s("transfer"),
            ..Default::default()
        };
        self.emit(Some(held), &recipients, ev);
        self.remove_conn(held, device);
        let left = self.calls.get(held).map_or(0, |c| c.connections.len());
        if left <= 1 {
            self.clear_call(held, &recipients);
        }
        self.wrap_up(held, vec![device.to_owned()]);
        self.dispatch_queues();
        Ok((held.to_owned(), list))
    }

    /// ConferenceCall: the device's held and active calls become one three-party call.
    pub fn conference(
        &mut self,
        device: &str,
        held: &str,
        active: &str,
    ) -> Result<(String, ConnectionList), OpError> {
        self.check_pair(device, held, active)?;
        let recipients: Vec<String> = self
            .parties(held)
            .into_iter()
            .chain(self.parties(active))
            .collect();
        let (_, added) = self.merge(device, held, active);
        self.set_state(held, device, Lcs::Connected);
        let list = self.full_list(held);
        let ev = m::ConferencedEvent {
            primary_old_call: Some(ConnectionId::new(held, device)),
            secondary_old_call: Some(ConnectionId::new(active, device)),
            conferencing_device: self.fmt.dev(device),
            added_party: added.as_deref().and_then(|d| self.fmt.dev(d)),
            conference_connections: Some(list.clone()),
            cause: s("conferenced"),
            ..Default::default()
        };
        self.emit(Some(held), &recipients, ev);
        Ok((held.to_owned(), list))
    }

    fn full_list(&self, call: &str) -> ConnectionList {
        ConnectionList(
            self.calls
                .get(call)
                .map(|c| {
                    c.connections
                        .iter()
                        .map(|x| ConnectionListItem {
                            new_connection: Some(c.cid(&x.device)),
                            old_connection: Some(c.cid(&x.device)),
                            endpoint: self.fmt.dev(&x.device),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// SingleStepTransferCall: the device leaves and the call goes to `target`.
    pub fn single_step_transfer(
        &mut self,
        call: &str,
        device: &str,
        target: &str,
    ) -> Result<(), OpError> {
        let state = self.require_conn(call, device)?.state.clone();
        if state != Lcs::Connected {
            return Err(OpError::InvalidState(format!("{device} is not connected")));
        }
        self.resolve(target)?;
        let recipients = self.parties(call);
        self.set_state(call, device, Lcs::Null);
        let mut list = self.full_list(call);
        list.0.retain(|i| {
            i.new_connection
                .as_ref()
                .and_then(|c| c.device_id.as_deref())
                != Some(device)
        });
        list.0.push(ConnectionListItem {
            new_connection: Some(ConnectionId::new(call, target)),
            old_connection: None,
            endpoint: self.fmt.dev(target),
        });
        let ev = m::TransferredEvent {
            primary_old_call: Some(ConnectionId::new(call, device)),
            transferring_device: self.fmt.dev(device),
            transferred_to_device: self.fmt.dev(target),
            transferred_connections: Some(list),
            cause: s("singleStepTransfer"),
            ..Default::default()
        };
        self.emit(Some(call), &recipients, ev);
        self.remove_conn(call, device);
        self.deliver(call, target, Some(device), "singleStepTransfer")?;
        self.dispatch_queues();
        Ok(())
    }

    /// DeflectCall: an alerting call is diverted to `target`.
    pub fn deflect(&mut self, call: &str, device: &str, target: &str) -> Result<(), OpError> {
        let state = self.require_conn(call, device)?.state.clone();
        if state != Lcs::Alerting && state != Lcs::Queued {
            return Err(OpError::InvalidState(format!("{device} is not alerting")));
        }
        self.resolve(target)?;
        self.divert(call, device, target, "redirected")
    }

    fn divert(&mut self, call: &str, from: &str, to: &str, cause: &str) -> Result<(), OpError> {
        let recipients = self.parties(call);
        self.set_state(call, from, Lcs::Null);
        for q in self.queues.values_mut() {
            q.retain(|c| c != call);
        }
        let Some(c) = self.calls.get(call) else {
            return Err(OpError::UnknownCall(call.to_owned()));
        };
        let ev = m::DivertedEvent {
            connection: Some(c.cid(from)),
            diverting_device: self.fmt.dev(from),
            new_destination: self.fmt.dev(to),
            calling_device: self.fmt.dev(&c.calling),
            called_device: self.fmt.dev(&c.called),
            last_redirection_device: c.last_redirection.as_deref().and_then(|d| self.fmt.dev(d)),
            cause: s(cause),
            ..Default::default()
        };
        self.emit(Some(call), &recipients, ev);
        self.remove_conn(call, from);
        self.deliver(call, to, Some(from), cause)
    }

    /// DTMF keyed on the device's connection: DigitsGeneratedEvent to the call's monitors; an
    /// IVR port with a menu in the call acts on the first digit it knows.
    pub fn generate_digits(
        &mut self,
        call: &str,
        device: &str,
        digits: &str,
    ) -> Result<(), OpError> {
        let state = self.require_conn(call, device)?.state.clone();
        if state != Lcs::Connected {
            return Err(OpError::InvalidState(format!("{device} is not connected")));
        }
        if let Some(c) = self.calls.get_mut(call) {
            c.digits.push_str(digits);
        }
        let recipients = self.parties(call);
        self.emit(
            Some(call),
            &recipients,
            m::DigitsGeneratedEvent {
                connection: Some(ConnectionId::new(call, device)),
                digit_generated_list: s(digits),
                ..Default::default()
            },
        );
        let ivr = recipients.iter().find_map(|d| {
            let cfg = &self.devices.get(d)?.config;
            (cfg.kind == DeviceKind::Ivr && d != device)
                .then(|| digits.chars().find_map(|ch| cfg.menu.get(&ch.to_string())))
                .flatten()
                .map(|dest| (d.clone(), dest.clone()))
        });
        if let Some((port, dest)) = ivr {
            self.single_step_transfer(call, &port, &dest)?;
        }
        Ok(())
    }

    /// SingleStepConferenceCall: `join` enters the call (silent = supervisor monitoring).
    pub fn single_step_conference(
        &mut self,
        call: &str,
        device: &str,
        join: &str,
        participation: &ParticipationType,
    ) -> Result<ConnectionList, OpError> {
        self.require_conn(call, device)?;
        if self.kind(join).is_none() {
            return Err(OpError::UnknownDevice(join.to_owned()));
        }
        if self.calls.get(call).and_then(|c| c.conn(join)).is_some() {
            return Err(OpError::InvalidState(format!(
                "{join} is already in {call}"
            )));
        }
        let silent = *participation == ParticipationType::Silent;
        if let Some(c) = self.calls.get_mut(call) {
            c.connections.push(Connection {
                device: join.to_owned(),
                state: Lcs::Connected,
                silent,
            });
        }
        let list = self.full_list(call);
        let recipients = self.parties(call);
        self.emit(
            Some(call),
            &recipients,
            m::ConferencedEvent {
                primary_old_call: Some(ConnectionId::new(call, device)),
                conferencing_device: self.fmt.dev(join),
                added_party: self.fmt.dev(join),
                conference_connections: Some(list.clone()),
                cause: s(if silent {
                    "silentParticipation"
                } else {
                    "singleStepConference"
                }),
                ..Default::default()
            },
        );
        Ok(list)
    }

    /// Silent monitoring from the sim side: `supervisor` joins the agent's active call.
    pub fn silent_monitor(&mut self, supervisor: &str, agent: &str) -> Result<String, OpError> {
        let call = self
            .call_with(agent, &Lcs::Connected)
            .ok_or_else(|| OpError::InvalidState(format!("{agent} has no active call")))?;
        self.single_step_conference(&call, agent, supervisor, &ParticipationType::Silent)?;
        Ok(call)
    }

    // ------------------------------------------------------------------ agents

    /// Changes an agent's state and emits the agent event.
    pub fn set_agent_state(
        &mut self,
        device: &str,
        state: &AgentState,
        agent_id: Option<&str>,
    ) -> Result<(), OpError> {
        let d = self
            .devices
            .get_mut(device)
            .ok_or_else(|| OpError::UnknownDevice(device.to_owned()))?;
        let a = d
            .agent
            .as_mut()
            .ok_or_else(|| OpError::InvalidState(format!("{device} is not an agent extension")))?;
        if let Some(id) = agent_id.filter(|id| !id.is_empty()) {
            a.agent_id = id.to_owned();
        }
        let logged_off = a.status == AgentStatus::LoggedOff;
        let new = match state {
            AgentState::LoggedOn if logged_off => AgentStatus::NotReady,
            AgentState::LoggedOn => a.status,
            AgentState::LoggedOff => AgentStatus::LoggedOff,
            _ if logged_off => {
                return Err(OpError::InvalidState(format!(
                    "agent at {device} is logged off"
                )))
            }
            AgentState::Ready => AgentStatus::Ready,
            AgentState::NotReady => AgentStatus::NotReady,
            AgentState::WorkingAfterCall => AgentStatus::WorkingAfterCall,
            AgentState::Other(o) => return Err(OpError::Unsupported(format!("agent state {o}"))),
        };
        a.status = new;
        if new == AgentStatus::Ready {
            a.idle_since = self.seq;
        }
        let agent_id = s(&a.agent_id);
        let ad = self.fmt.dev(device);
        let ev: Message = match state {
            AgentState::LoggedOn => m::AgentLoggedOnEvent {
                agent_device: ad,
                agent_id,
                ..Default::default()
            }
            .into(),
            AgentState::LoggedOff => m::AgentLoggedOffEvent {
                agent_device: ad,
                agent_id,
                ..Default::default()
            }
            .into(),
            AgentState::Ready => m::AgentReadyEvent {
                agent_device: ad,
                agent_id,
                ..Default::default()
            }
            .into(),
            AgentState::NotReady => m::AgentNotReadyEvent {
                agent_device: ad,
                agent_id,
                ..Default::default()
            }
            .into(),
            _ => m::AgentWorkingAfterCallEvent {
                agent_device: ad,
                agent_id,
                ..Default::default()
            }
            .into(),
        };
        self.emit(None, &[device.to_owned()], ev);
        self.dispatch_queues();
        Ok(())
    }

    fn agent_state_list(&self, device: &str) -> Result<Element, OpError> {
        let d = self
            .devices
            .get(device)
            .ok_or_else(|| OpError::UnknownDevice(device.to_owned()))?;
        let a = d
            .agent
            .as_ref()
            .ok_or_else(|| OpError::InvalidState(format!("{device} is not an agent extension")))?;
        let state = if a.status == AgentStatus::LoggedOff {
            "agentNull"
        } else if self.busy(device) {
            "agentBusy"
        } else {
            match a.status {
                AgentStatus::Ready => "agentReady",
                AgentStatus::NotReady => "agentNotReady",
                AgentStatus::WorkingAfterCall => "agentWorkingAfterCall",
                AgentStatus::LoggedOff => "agentNull",
            }
        };
        Ok(Element::with_children(
            "agentStateList",
            vec![Element::with_children(
                "agentStateEntry",
                vec![
                    Element::text("agentID", a.agent_id.clone()),
                    Element::text(
                        "loggedOnState",
                        if a.status == AgentStatus::LoggedOff {
                            "false"
                        } else {
                            "true"
                        },
                    ),
                    Element::with_children(
                        "agentInfo",
                        vec![Element::with_children(
                            "agentInfoItem",
                            vec![Element::text("agentState", state)],
                        )],
                    ),
                ],
            )],
        ))
    }

    fn snapshot(&self, device: &str) -> Element {
        let items = self
            .calls
            .values()
            .filter_map(|c| c.conn(device).map(|x| (c, x)))
            .map(|(c, x)| {
                Element::with_children(
                    "snapshotDeviceResponseInfo",
                    vec![
                        Element::with_children(
                            "connectionIdentifier",
                            vec![
                                Element::text("callID", c.id.clone()),
                                Element::text("deviceID", device),
                            ],
                        ),
                        Element::with_children(
                            "localCallState",
                            vec![Element::with_children(
                                "compoundCallState",
                                vec![Element::text("localConnectionState", x.state.as_str())],
                            )],
                        ),
                    ],
                )
            })
            .collect();
        Element::with_children(
            "crossRefIDorSnapshotData",
            vec![Element::with_children("snapshotData", items)],
        )
    }

    // ------------------------------------------------------------------ routeing

    fn route_select(&mut self, client: ClientId, req: m::RouteSelect) -> Result<(), OpError> {
        let xref = req
            .cross_ref_identifier
            .clone()
            .ok_or(OpError::Missing("crossRefIdentifier"))?;
        let d = self
            .dialogues
            .get(&xref)
            .filter(|d| d.client == client)
            .cloned()
            .ok_or_else(|| OpError::UnknownCrossRef(xref.clone()))?;
        let dest = device_field(&req.route_selected, "routeSelected")?;
        let usable = match self.resolve(&dest) {
            Ok(DeviceKind::Agent) => !self.busy(&dest),
            Ok(_) => dest != d.pilot,
            Err(_) => false,
        };
        if !usable {
            if d.reroutes < 1 {
                let generation = d.generation + 1;
                if let Some(x) = self.dialogues.get_mut(&xref) {
                    x.reroutes += 1;
                    x.generation = generation;
                }
                let timeout = self.route_timeout_for(&d.pilot);
                self.send_request(
                    client,
                    m::ReRouteRequest {
                        cross_ref_identifier: Some(xref.clone()),
                        route_register_req_id: Some(d.reg_id.clone()),
                        routed_call: Some(ConnectionId::new(&d.call, &d.pilot)),
                        ..Default::default()
                    },
                );
                self.after(timeout, Timer::RouteTimeout { xref, generation });
            } else {
                self.route_fallback(&xref, "invalidDestination");
            }
            return Ok(());
        }
        self.dialogues.remove(&xref);
        if req.route_used_req == Some(true) {
            let calling = self
                .calls
                .get(&d.call)
                .map(|c| c.calling.clone())
                .unwrap_or_default();
            self.send_request(
                client,
                m::RouteUsed {
                    cross_ref_identifier: Some(xref.clone()),
                    route_register_req_id: Some(d.reg_id.clone()),
                    route_used: Some(DeviceId::plain(&dest)),
                    calling_device: Some(DeviceId::plain(calling)),
                    ..Default::default()
                },
            );
        }
        self.divert(&d.call, &d.pilot, &dest, "redirected")?;
        self.send_request(
            client,
            m::RouteEnd {
                cross_ref_identifier: Some(xref),
                route_register_req_id: Some(d.reg_id),
                ..Default::default()
            },
        );
        Ok(())
    }

    fn route_timeout_for(&self, pilot: &str) -> u64 {
        self.devices
            .get(pilot)
            .and_then(|d| d.config.route_timeout_ms)
            .unwrap_or(self.config.route_timeout_ms)
    }

    fn route_timeout(&mut self, xref: &str) {
        tracing::info!(xref, "route request timed out, default routeing");
        self.route_fallback(xref, "timeout");
    }

    /// The switch takes back control: RouteEnd (with an error value) to the client, and the
    /// call goes to the pilot's default destination (or its own ACD when it has none).
    fn route_fallback(&mut self, xref: &str, reason: &str) {
        let Some(d) = self.dialogues.remove(xref) else {
            return;
        };
        self.send_request(
            d.client,
            m::RouteEnd {
                cross_ref_identifier: Some(d.xref.clone()),
                route_register_req_id: Some(d.reg_id.clone()),
                error_value: Some(Element::with_children(
                    "errorValue",
                    vec![Element::text("operation", reason_value(reason))],
                )),
                ..Default::default()
            },
        );
        self.default_route(&d.call, &d.pilot);
    }

    fn default_route(&mut self, call: &str, pilot: &str) {
        let fallback = self
            .devices
            .get(pilot)
            .and_then(|d| d.config.default_destination.clone());
        let result = match fallback {
            Some(dest) => self.divert(call, pilot, &dest, "redirected"),
            None => {
                self.remove_conn(call, pilot);
                self.acd(call, pilot);
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::warn!(call, pilot, error = %e, "default routeing failed");
        }
    }

    fn acd(&mut self, call: &str, pilot: &str) {
        match self.free_agent(pilot) {
            Some(agent) => {
                if let Some(c) = self.calls.get_mut(call) {
                    c.last_redirection = Some(pilot.to_owned());
                }
                self.ring_agent(call, &agent, "distributed");
            }
            None => {
                self.queues
                    .entry(pilot.to_owned())
                    .or_default()
                    .push_back(call.to_owned());
                self.queue_at(call, pilot, "noAvailableAgents", true);
                self.arm_queue_timeout(call, pilot);
            }
        }
    }

    // ------------------------------------------------------------------ faults and settings

    /// Answers the next request(s) named `fault.request` with the given CSTAErrorCode.
    pub fn inject_error(&mut self, fault: ErrorFault) {
        self.faults.push(fault);
    }

    /// Sets the monitor licence limit (`None` = unlimited).
    pub fn set_monitor_limit(&mut self, limit: Option<usize>) {
        self.monitor_limit = limit;
    }

    /// Sets the agents' auto-answer delay (`None` = agents answer only when told).
    pub fn set_auto_answer(&mut self, ms: Option<u64>) {
        self.auto_answer_ms = ms;
    }

    // ------------------------------------------------------------------ voice unit (IVR ports)

    /// Checks that `device` is an IVR (or announcement) port connected in `call`.
    fn voice_port(&self, call: &str, device: &str) -> Result<(), OpError> {
        if !matches!(
            self.kind(device),
            Some(DeviceKind::Ivr | DeviceKind::Announcement)
        ) {
            return Err(OpError::InvalidState(format!(
                "{device} is not an IVR port"
            )));
        }
        let conn = self.require_conn(call, device)?;
        if conn.state != Lcs::Connected {
            return Err(OpError::InvalidState(format!(
                "{device} is not connected in call {call}"
            )));
        }
        Ok(())
    }

    /// Starts playing or recording `message` on the port's connection (whatever ran there is
    /// stopped first), emits PlayEvent / RecordEvent and arms the end after `ms`.
    fn start_voice(&mut self, call: &str, device: &str, kind: VoiceKind, message: String, ms: u64) {
        self.stop_voice(call, device, "normal", None);
        let generation = self.next_seq();
        self.voice.insert(
            voice_key(call, device),
            VoiceActivity {
                call: call.to_owned(),
                device: device.to_owned(),
                kind,
                message: message.clone(),
                length_ms: ms,
                started: Instant::now(),
                generation,
            },
        );
        let connection = Some(ConnectionId::new(call, device));
        let length = u32::try_from(ms).ok();
        let event: Message = match kind {
            VoiceKind::Play => m::PlayEvent {
                connection,
                message: Some(message),
                length,
                current_position: Some(0),
                ..Default::default()
            }
            .into(),
            VoiceKind::Record => m::RecordEvent {
                connection,
                message: Some(message),
                current_position: Some(0),
                ..Default::default()
            }
            .into(),
        };
        self.emit(Some(call), &[device.to_owned()], event);
        self.after(
            ms,
            Timer::VoiceEnd {
                call: call.to_owned(),
                device: device.to_owned(),
                generation,
            },
        );
    }

    /// Stops what plays or records on the port's connection: a recording is kept (served by
    /// the HTTP API); StopEvent goes to the port's monitors. False when nothing ran.
    fn stop_voice(&mut self, call: &str, device: &str, cause: &str, length: Option<u64>) -> bool {
        let Some(v) = self.voice.remove(&voice_key(call, device)) else {
            return false;
        };
        let elapsed = u64::try_from(v.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let length = length.unwrap_or_else(|| elapsed.min(v.length_ms));
        if v.kind == VoiceKind::Record {
            tracing::info!(call, device, id = %v.message, length_ms = length, "recording stored");
            self.recordings.insert(
                v.message.clone(),
                Recording {
                    call: call.to_owned(),
                    duration_ms: length,
                    wav: wav_tone(length),
                },
            );
        }
        let length = u32::try_from(length).ok();
        self.emit(
            Some(call),
            &[device.to_owned()],
            m::StopEvent {
                connection: Some(ConnectionId::new(call, device)),
                message: Some(v.message),
                length,
                current_position: length,
                cause: s(cause),
                ..Default::default()
            },
        );
        true
    }

    fn stop_voice_in_call(&mut self, call: &str, cause: &str) {
        let running: Vec<String> = self
            .voice
            .values()
            .filter(|v| v.call == call)
            .map(|v| v.device.clone())
            .collect();
        for device in running {
            self.stop_voice(call, &device, cause, None);
        }
    }

    /// A finished recording (`GET /recordings/{id}`).
    pub fn recording(&self, id: &str) -> Option<&Recording> {
        self.recordings.get(id)
    }

    /// What the IVR ports play or record now.
    pub fn voice_activities(&self) -> Vec<&VoiceActivity> {
        self.voice.values().collect()
    }

    // ------------------------------------------------------------------ CSTA requests

    /// Handles one message from a client: answers under its invoke id, emits events.
    pub fn on_message(&mut self, client: ClientId, id: InvokeId, msg: Message) {
        self.counters.received += 1;
        self.push_log("in", client, id, msg.clone());
        let name = msg.name().to_owned();
        if let Some(pos) = self.faults.iter().position(|f| f.request == name) {
            let f = &mut self.faults[pos];
            let err = OpError::Injected {
                category: f.category.clone(),
                value: f.value.clone(),
            };
            f.count = f.count.saturating_sub(1);
            if f.count == 0 {
                self.faults.remove(pos);
            }
            tracing::info!(request = %name, "injected CSTA error");
            self.send(client, id, Message::CstaErrorCode(err.csta()));
            return;
        }
        match msg {
            Message::StartApplicationSession(r) => self.session_start(client, id, r),
            Message::ResetApplicationSessionTimer(r) => self.session_reset(client, id, r),
            Message::StopApplicationSession(r) => self.session_stop(client, id, r),
            Message::SystemStatus(_) => self.send(client, id, m::SystemStatusResponse::default()),
            // Answers to our own requests, and unconfirmed services: nothing to say.
            Message::SystemStatusResponse(_) => {}
            other => {
                let mark = self.outbox.len();
                let needs_session = self.config.session.require_session
                    && self
                        .clients
                        .get(&client)
                        .is_some_and(|c| c.session.is_none());
                let result = if needs_session && other.name() != "SystemRegister" {
                    Err(OpError::NoSession)
                } else {
                    self.request(client, other)
                };
                match result {
                    Ok(Some(resp)) => self.outbox.insert(mark, (client, id, resp)),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(client, request = %name, error = %e, "request refused");
                        self.outbox.truncate(mark);
                        self.outbox
                            .push((client, id, Message::CstaErrorCode(e.csta())));
                    }
                }
            }
        }
    }

    fn request(&mut self, client: ClientId, msg: Message) -> Result<Option<Message>, OpError> {
        let resp: Message = match msg {
            Message::SystemRegister(_) => m::SystemRegisterResponse {
                sys_stat_register_id: Some(self.next_seq().to_string()),
                ..Default::default()
            }
            .into(),
            Message::MonitorStart(r) => {
                let device = device_field(&r.monitor_object, "monitorObject")?;
                if !self.devices.contains_key(&device) {
                    return Err(OpError::UnknownDevice(device));
                }
                if let Some(limit) = self.monitor_limit {
                    if self.monitors.len() >= limit {
                        return Err(OpError::MonitorLimit(limit));
                    }
                }
                let n = self.next_seq();
                let xref = n.to_string();
                self.monitors.insert(
                    n,
                    Monitor {
                        xref: xref.clone(),
                        client,
                        device,
                    },
                );
                m::MonitorStartResponse {
                    monitor_cross_ref_id: Some(xref),
                    actual_monitor_filter: r.requested_monitor_filter,
                    ..Default::default()
                }
                .into()
            }
            Message::MonitorStop(r) => {
                let xref = r
                    .monitor_cross_ref_id
                    .ok_or(OpError::Missing("monitorCrossRefID"))?;
                let key = self
                    .monitors
                    .iter()
                    .find(|(_, m)| m.xref == xref && m.client == client)
                    .map(|(k, _)| *k)
                    .ok_or(OpError::UnknownCrossRef(xref))?;
                self.monitors.remove(&key);
                m::MonitorStopResponse::default().into()
            }
            Message::SnapshotDevice(r) => {
                let device = device_field(&r.snapshot_object, "snapshotObject")?;
                if !self.devices.contains_key(&device) {
                    return Err(OpError::UnknownDevice(device));
                }
                m::SnapshotDeviceResponse {
                    cross_ref_id_or_snapshot_data: Some(self.snapshot(&device)),
                    ..Default::default()
                }
                .into()
            }
            Message::MakeCall(r) => {
                let from = device_field(&r.calling_device, "callingDevice")?;
                let to = device_field(&r.called_directory_number, "calledDirectoryNumber")?;
                let call = self.make_call(&from, &to)?;
                m::MakeCallResponse {
                    calling_device: Some(ConnectionId::new(call, from)),
                    ..Default::default()
                }
                .into()
            }
            Message::AnswerCall(r) => {
                let (call, device) = conn_parts(&r.call_to_be_answered, "callToBeAnswered")?;
                if let Some(mobile) = self
                    .devices
                    .get(&device)
                    .and_then(|d| d.config.mobile.as_deref())
                {
                    return Err(OpError::InvalidState(format!(
                        "{device} is a mobile extension: the call is answered on the mobile {mobile}"
                    )));
                }
                self.answer(&call, &device)?;
                m::AnswerCallResponse::default().into()
            }
            Message::ClearConnection(r) => {
                let (call, device) =
                    conn_parts(&r.connection_to_be_cleared, "connectionToBeCleared")?;
                self.clear_connection(&call, &device)?;
                m::ClearConnectionResponse::default().into()
            }
            Message::HoldCall(r) => {
                let (call, device) = conn_parts(&r.call_to_be_held, "callToBeHeld")?;
                self.hold(&call, &device)?;
                m::HoldCallResponse::default().into()
            }
            Message::RetrieveCall(r) => {
                let (call, device) = conn_parts(&r.call_to_be_retrieved, "callToBeRetrieved")?;
                self.retrieve(&call, &device)?;
                m::RetrieveCallResponse::default().into()
            }
            Message::ConsultationCall(r) => {
                let (call, device) = conn_parts(&r.existing_call, "existingCall")?;
                let target = device_field(&r.consulted_device, "consultedDevice")?;
                let new = self.consult(&call, &device, &target)?;
                m::ConsultationCallResponse {
                    initiated_call: Some(ConnectionId::new(new, device)),
                    ..Default::default()
                }
                .into()
            }
            Message::TransferCall(r) => {
                let (held, device) = conn_parts(&r.held_call, "heldCall")?;
                let (active, _) = conn_parts(&r.active_call, "activeCall")?;
                let (call, list) = self.transfer(&device, &held, &active)?;
                let to = list
                    .0
                    .last()
                    .and_then(|i| i.new_connection.clone())
                    .unwrap_or(ConnectionId {
                        call_id: Some(call),
                        device_id: None,
                    });
                m::TransferCallResponse {
                    transferred_call: Some(to),
                    connection_list: Some(list),
                    ..Default::default()
                }
                .into()
            }
            Message::ConferenceCall(r) => {
                let (held, device) = conn_parts(&r.held_call, "heldCall")?;
                let (active, _) = conn_parts(&r.active_call, "activeCall")?;
                let (call, list) = self.conference(&device, &held, &active)?;
                m::ConferenceCallResponse {
                    conferenced_call: Some(ConnectionId::new(call, device)),
                    connection_list: Some(list),
                    ..Default::default()
                }
                .into()
            }
            Message::SingleStepTransferCall(r) => {
                let (call, device) = conn_parts(&r.active_call, "activeCall")?;
                let target = device_field(&r.transferred_to, "transferredTo")?;
                self.single_step_transfer(&call, &device, &target)?;
                m::SingleStepTransferCallResponse {
                    transferred_call: Some(ConnectionId::new(call, target)),
                    ..Default::default()
                }
                .into()
            }
            Message::DeflectCall(r) => {
                let (call, device) = conn_parts(&r.call_to_be_diverted, "callToBeDiverted")?;
                let target = device_field(&r.new_destination, "newDestination")?;
                self.deflect(&call, &device, &target)?;
                m::DeflectCallResponse::default().into()
            }
            Message::GenerateDigits(r) => {
                let (call, device) =
                    conn_parts(&r.connection_to_send_digits, "connectionToSendDigits")?;
                let digits = r
                    .characters_to_send
                    .ok_or(OpError::Missing("charactersToSend"))?;
                self.generate_digits(&call, &device, &digits)?;
                m::GenerateDigitsResponse::default().into()
            }
            Message::SingleStepConferenceCall(r) => {
                let (call, device) = conn_parts(&r.active_call, "activeCall")?;
                let join = device_field(&r.device_to_join, "deviceToJoin")?;
                let p = r.participation_type.unwrap_or(ParticipationType::Active);
                let list = self.single_step_conference(&call, &device, &join, &p)?;
                m::SingleStepConferenceCallResponse {
                    conferenced_call: Some(ConnectionId::new(call, join)),
                    connection_list: Some(list),
                    ..Default::default()
                }
                .into()
            }
            Message::SetAgentState(r) => {
                let device = device_field(&r.device, "device")?;
                let state = r
                    .requested_agent_state
                    .ok_or(OpError::Missing("requestedAgentState"))?;
                // The response goes before the agent event (on_message inserts it first).
                self.set_agent_state(&device, &state, r.agent_id.as_deref())?;
                m::SetAgentStateResponse::default().into()
            }
            Message::GetAgentState(r) => {
                let device = device_field(&r.device, "device")?;
                m::GetAgentStateResponse {
                    agent_state_list: Some(self.agent_state_list(&device)?),
                    ..Default::default()
                }
                .into()
            }
            Message::RouteRegister(r) => {
                let device = device_field(&r.routeing_device, "routeingDevice")?;
                if self.kind(&device) != Some(DeviceKind::Pilot) {
                    return Err(OpError::UnknownDevice(device));
                }
                let reg = self.next_seq().to_string();
                self.route_regs.insert(
                    reg.clone(),
                    RouteRegistration {
                        id: reg.clone(),
                        client,
                        device,
                    },
                );
                m::RouteRegisterResponse {
                    route_register_req_id: Some(reg),
                    ..Default::default()
                }
                .into()
            }
            Message::RouteRegisterCancel(r) => {
                let reg = r
                    .route_register_req_id
                    .ok_or(OpError::Missing("routeRegisterReqID"))?;
                match self.route_regs.get(&reg) {
                    Some(x) if x.client == client => {
                        self.route_regs.remove(&reg);
                    }
                    _ => return Err(OpError::UnknownCrossRef(reg)),
                }
                m::RouteRegisterCancelResponse::default().into()
            }
            Message::RouteSelect(r) => {
                self.route_select(client, r)?;
                return Ok(None);
            }
            Message::RouteEnd(r) => {
                let xref = r
                    .cross_ref_identifier
                    .ok_or(OpError::Missing("crossRefIdentifier"))?;
                let d = self
                    .dialogues
                    .get(&xref)
                    .filter(|d| d.client == client)
                    .cloned()
                    .ok_or_else(|| OpError::UnknownCrossRef(xref.clone()))?;
                self.dialogues.remove(&xref);
                self.default_route(&d.call, &d.pilot);
                return Ok(None);
            }
            Message::PlayMessage(r) => {
                let (call, device) = conn_parts(&r.over_connection, "overConnection")?;
                let message = r
                    .message_to_be_played
                    .filter(|m| !m.is_empty())
                    .ok_or(OpError::Missing("messageToBePlayed"))?;
                self.voice_port(&call, &device)?;
                let ms = self.config.prompt_ms;
                self.start_voice(&call, &device, VoiceKind::Play, message, ms);
                m::PlayMessageResponse::default().into()
            }
            Message::RecordMessage(r) => {
                let (call, device) = conn_parts(&r.call_to_be_recorded, "callToBeRecorded")?;
                self.voice_port(&call, &device)?;
                let ms = r.max_duration.map_or(self.config.record_ms, |max| {
                    u64::from(max).min(self.config.record_ms)
                });
                let id = format!("rec-{}", self.next_seq());
                self.start_voice(&call, &device, VoiceKind::Record, id.clone(), ms);
                m::RecordMessageResponse {
                    resulting_message: Some(id),
                    ..Default::default()
                }
                .into()
            }
            Message::Stop(r) => {
                let (call, device) = conn_parts(&r.connection, "connection")?;
                self.require_conn(&call, &device)?;
                self.stop_voice(&call, &device, "normal", None);
                m::StopResponse::default().into()
            }
            other => return Err(OpError::Unsupported(other.name().to_owned())),
        };
        Ok(Some(resp))
    }

    // ------------------------------------------------------------------ inspection

    /// A JSON view of the whole state (for `GET /state`).
    pub fn state(&self) -> serde_json::Value {
        serde_json::json!({
            "devices": self.devices_view(),
            "calls": self.calls.values().collect::<Vec<_>>(),
            "monitors": self.monitors.values().collect::<Vec<_>>(),
            "sessions": self.sessions_view(),
            "route_registrations": self.route_regs.values().collect::<Vec<_>>(),
            "route_dialogues": self.dialogues.values().collect::<Vec<_>>(),
            "queues": self.queues,
            "faults": self.faults,
            "monitor_limit": self.monitor_limit,
            "auto_answer_ms": self.auto_answer_ms,
            "voice": self.voice.values().collect::<Vec<_>>(),
            "recordings": self.recordings.iter().map(|(id, r)| serde_json::json!({
                "id": id, "call": r.call, "duration_ms": r.duration_ms,
            })).collect::<Vec<_>>(),
            "counters": self.counters,
        })
    }

    /// Devices with their agent state and busy flag.
    pub fn devices_view(&self) -> Vec<serde_json::Value> {
        self.devices
            .values()
            .map(|d| {
                serde_json::json!({
                    "id": d.config.id,
                    "kind": d.config.kind,
                    "name": d.config.name,
                    "agent": d.agent,
                    "busy": self.busy(&d.config.id),
                    "default_destination": d.config.default_destination,
                    "mobile": d.config.mobile,
                })
            })
            .collect()
    }

    /// Calls.
    pub fn calls(&self) -> Vec<&Call> {
        self.calls.values().collect()
    }

    /// One call, or `UnknownCall`.
    pub fn require_call(&self, id: &str) -> Result<&Call, OpError> {
        self.calls
            .get(id)
            .ok_or_else(|| OpError::UnknownCall(id.to_owned()))
    }

    /// One call.
    pub fn call(&self, id: &str) -> Option<&Call> {
        self.calls.get(id)
    }

    /// Monitors.
    pub fn monitors(&self) -> Vec<&Monitor> {
        self.monitors.values().collect()
    }

    /// Connected clients with their sessions.
    pub fn sessions_view(&self) -> Vec<serde_json::Value> {
        self.clients
            .iter()
            .map(|(id, c)| {
                serde_json::json!({
                    "client": id,
                    "peer": c.peer,
                    "session": c.session,
                })
            })
            .collect()
    }

    /// Ids of connected clients.
    pub fn client_ids(&self) -> Vec<ClientId> {
        self.clients.keys().copied().collect()
    }

    /// True when the device has a connection in `state` (`null` = no connection at all).
    pub fn has_connection_state(&self, device: &str, state: &Lcs) -> bool {
        if *state == Lcs::Null {
            return !self.calls.values().any(|c| c.conn(device).is_some());
        }
        self.call_with(device, state).is_some()
    }

    /// Agent status of a device.
    pub fn agent_status(&self, device: &str) -> Option<AgentStatus> {
        self.devices.get(device)?.agent.as_ref().map(|a| a.status)
    }
}

fn reason_value(reason: &str) -> &str {
    match reason {
        "timeout" => "generic",
        other => other,
    }
}

#[cfg(test)]
mod tests;
