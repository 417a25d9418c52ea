//! The wire contract between the on-premise CTI relay (`cti/relay`) and the cloud.
//!
//! Three flows, all JSON (camelCase), all versioned by [`SCHEMA_VERSION`]:
//!
//! 1. **Events** relay → cloud, on the SQS FIFO queue `CtiEventQueue`: one [`CtiEnvelope`] per
//!    message. `MessageGroupId` = [`CtiEnvelope::group_id`] (per call, per device, or per relay
//!    link), `MessageDeduplicationId` = [`CtiEnvelope::event_id`]. The relay assigns `seq` and
//!    `eventId` when it writes the event to its durable spool, so a resend after a crash carries
//!    the same id: SQS drops duplicates within 5 minutes and the consumer drops the rest (it
//!    stores the ids it has applied).
//! 2. **Commands** cloud → relay, on the SQS FIFO queue `CtiCommandQueue`: one [`CtiCommand`] per
//!    message (group = the device acted on). The relay executes it against the PBX and publishes
//!    a [`CtiEvent::CommandResult`] on the event queue.
//! 3. **Routing** relay → cloud over HTTPS (SigV4 in AWS): the relay POSTs a [`RouteQuery`] for
//!    every CSTA RouteRequest and expects a [`RouteAnswer`] within its budget; when the answer is
//!    late or fails it selects its configured fallback itself and reports
//!    [`CtiEvent::RouteDecided`] with [`RouteSource::Fallback`].
//!
//! The contract is PBX-neutral: it names calls, devices and agents, not CSTA elements, so the
//! cloud never parses ECMA-323 and another PBX (or SIPREC) can feed the same model. Device ids
//! are the PBX's dialable numbers as text (CSTA `N<…>` forms are reduced to their digits by the
//! relay).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Version of every message in this crate. A consumer refuses (dead-letters) a higher one.
pub const SCHEMA_VERSION: u32 = 1;

/// One CTI event on the event queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CtiEnvelope {
    /// [`SCHEMA_VERSION`] of the writer.
    pub version: u32,
    /// Unique and stable across resends: `"{relayId}:{spoolEpoch}:{seq}"`.
    pub event_id: String,
    /// The relay that observed the event (one per PBX site).
    pub relay_id: String,
    /// Position in the relay's spool: strictly increasing per `relayId` (per spool epoch).
    pub seq: u64,
    /// When the relay received the event from the PBX (UTC).
    pub observed_at: DateTime<Utc>,
    /// The event.
    pub event: CtiEvent,
}

impl CtiEnvelope {
    /// The SQS FIFO message group: events of one call are delivered in order; agent events per
    /// device; link and command events per relay.
    pub fn group_id(&self) -> String {
        match &self.event {
            CtiEvent::Call(call) => format!("call:{}", call.call_id),
            CtiEvent::Route(route) => format!("call:{}", route.call_id),
            CtiEvent::RouteDecided(decided) => format!("call:{}", decided.call_id),
            CtiEvent::Agent(agent) => format!("device:{}", agent.device),
            CtiEvent::Ivr(ivr) => format!("call:{}", ivr.call_id),
            CtiEvent::Link(_) | CtiEvent::CommandResult(_) | CtiEvent::Other(_) => {
                format!("relay:{}", self.relay_id)
            }
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum CtiEvent {
    /// A call-control event (ECMA-269 §17).
    Call(CallEvent),
    /// An agent-state event.
    Agent(AgentEvent),
    /// The PBX asked where a call at a route point should go.
    Route(RouteRequested),
    /// The relay answered a route request (with the cloud's answer or its fallback).
    RouteDecided(RouteDecided),
    /// The relay's link to the PBX changed.
    Link(LinkEvent),
    /// A command from the command queue was executed (or refused).
    CommandResult(CommandResult),
    /// A PBX message with no mapping here, kept by name for diagnostics.
    Other(OtherEvent),
    /// What a cloud-driven IVR port did with a [`CommandAction::PlayPrompt`] or
    /// [`CommandAction::RecordMessage`].
    Ivr(IvrPortEvent),
}

/// The end of a prompt, digit collection or recording on an IVR port (answers a
/// [`CommandAction::PlayPrompt`] or [`CommandAction::RecordMessage`]). When the caller hangs up
/// while a prompt, a collection or a recording runs, no event is sent for the prompt or the
/// collection (the cloud sees `ConnectionCleared`); a recording is still stored and reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IvrPortEvent {
    pub call_id: String,
    /// The IVR port.
    pub device: String,
    /// The `promptId` of the command this answers.
    pub prompt_id: String,
    #[serde(flatten)]
    pub outcome: IvrPortOutcome,
}

/// How a prompt, collection or recording ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "outcome",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum IvrPortOutcome {
    /// Every media file was played (PlayPrompt without `collect`).
    PromptFinished,
    /// Digits were collected: up to `maxDigits`, up to and including the terminator, or what was
    /// keyed before the inter-digit timeout (possibly fewer than `minDigits`: the cloud
    /// validates).
    DigitsCollected { digits: String },
    /// Nothing was keyed within `timeoutSeconds` after the prompt.
    CollectTimeout,
    /// The recording was uploaded (HTTP PUT to `uploadUrl`) as the S3 object `key`.
    RecordingStored { key: String, duration_ms: u64 },
    /// The recording could not be made or uploaded.
    RecordingFailed { error: String },
}

/// The kind of a call event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CallEventKind {
    /// Off-hook or MakeCall started (ServiceInitiated).
    ServiceInitiated,
    /// An outgoing call was dialled (Originated).
    Originated,
    /// A device is ringing (Delivered).
    #[default]
    Delivered,
    /// A device answered (Established).
    Established,
    /// Queued at an ACD group / pilot (Queued).
    Queued,
    /// Put on hold (Held).
    Held,
    /// Taken off hold (Retrieved).
    Retrieved,
    /// Redirected (Diverted: forward, deflect, pickup, route select).
    Diverted,
    /// Transferred (Transferred).
    Transferred,
    /// Conferenced (Conferenced).
    Conferenced,
    /// Left on a trunk (NetworkReached).
    NetworkReached,
    /// Failed: busy, unreachable (Failed).
    Failed,
    /// One party left (ConnectionCleared).
    ConnectionCleared,
    /// The whole call ended (CallCleared).
    CallCleared,
    /// DTMF digits were generated on the call (DigitsGenerated).
    DigitsGenerated,
}

/// A call-control event. Device fields are present when the PBX sent them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallEvent {
    pub kind: CallEventKind,
    /// The PBX call id of the connection the event is about.
    pub call_id: String,
    /// The device of that connection (the monitored party's side of the event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The device the event was reported on (the monitored device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitored_device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub called_device: Option<String>,
    /// Alerting (Delivered), answering (Established), releasing (ConnectionCleared), holding,
    /// retrieving, diverting, transferring, conferencing or failing device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_device: Option<String>,
    /// New destination (Diverted), transferred-to device, added conference party, queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_device: Option<String>,
    /// The other call of a transfer or conference (secondaryOldCall) — it ends with this event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_call_id: Option<String>,
    /// The resulting call of a transfer or conference when the PBX renamed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resulting_call_id: Option<String>,
    /// ECMA-269 event cause (`normalClearing`, `newCall`, `singleStepTransfer`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Local connection state on the monitored device (`alerting`, `connected`, `hold`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_state: Option<String>,
    /// Digits (DigitsGenerated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<String>,
}

/// Agent states as the PBX reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AgentStateKind {
    LoggedOn,
    LoggedOff,
    Ready,
    NotReady,
    WorkingAfterCall,
    Busy,
}

/// An agent-state event on an agent's device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentEvent {
    pub state: AgentStateKind,
    /// The agent's extension.
    pub device: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acd_group: Option<String>,
    /// Not-ready reason code (break code), when the PBX sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// The state as the PBX reported it when asked (GetAgentState when the link came up), not
    /// a change it announced: the state may be the one already known.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snapshot: bool,
}

/// A CSTA RouteRequest, as seen by the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteRequested {
    /// The routing cross-reference id (unique per route dialogue on the link).
    pub cross_ref_id: String,
    pub call_id: String,
    /// The route point (pilot) the call reached.
    pub routing_device: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub called_device: Option<String>,
    /// 0 for RouteRequest, n for the n-th ReRouteRequest.
    #[serde(default)]
    pub attempt: u32,
}

/// Who chose the destination of a route request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RouteSource {
    /// The cloud's routing decision, in time.
    Cloud,
    /// The relay's configured fallback (answer late, failed or refused).
    Fallback,
}

/// The relay sent a RouteSelect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteDecided {
    pub cross_ref_id: String,
    pub call_id: String,
    pub routing_device: String,
    pub destination: String,
    pub source: RouteSource,
    /// Time from RouteRequest to RouteSelect, in milliseconds.
    pub elapsed_ms: u64,
    /// Why the fallback was used (`timeout`, `http 503`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// State of the relay's PBX link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LinkState {
    /// Session started and every configured device monitored.
    Up,
    /// Link or session lost; events may be missing until `Up` (the cloud should reconcile).
    Down,
}

/// The relay's PBX link changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkEvent {
    pub state: LinkState,
    /// Devices monitored (for `Up`).
    #[serde(default)]
    pub monitored_devices: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A PBX message without a mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherEvent {
    /// The CSTA root element name.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
}

/// A command for the relay, from the command queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CtiCommand {
    /// [`SCHEMA_VERSION`] of the writer.
    pub version: u32,
    /// Unique; the result carries it back. The relay executes each id once.
    pub command_id: String,
    /// Who asked (username or machine client), for the audit trail.
    pub requested_by: String,
    pub issued_at: DateTime<Utc>,
    /// A command older than this is not executed (reported as expired): a late "answer" must
    /// not pick up a different call.
    pub expires_at: DateTime<Utc>,
    pub action: CommandAction,
}

impl CtiCommand {
    /// The SQS FIFO message group: commands on one device run in order.
    pub fn group_id(&self) -> String {
        format!("device:{}", self.action.device())
    }
}

/// Monitoring modes of a supervisor joining a call (SingleStepConference participation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MonitorMode {
    /// Listen only; nobody hears the supervisor.
    Silent,
    /// Whisper: only the agent hears the supervisor.
    Coach,
    /// Full participant (barge-in).
    Join,
}

/// Agent states an agent (or supervisor) can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RequestedAgentState {
    LoggedOn,
    LoggedOff,
    Ready,
    NotReady,
    WorkingAfterCall,
}

/// One audio file of a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptMedia {
    /// GET-able URL (presigned S3, https in AWS, http locally) of a WAV file.
    pub url: String,
    /// Stable id of the audio content (cache key, e.g. sha256 hex): the relay caches downloads
    /// by it.
    pub cache_key: String,
}

/// Digit collection after (or, with barge-in, during) a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigitCollect {
    pub min_digits: u32,
    pub max_digits: u32,
    /// Wait for the first digit after the prompt, and between digits.
    pub timeout_seconds: u32,
    /// Ends the collection (included in the collected digits, not counted towards max).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminator: Option<char>,
    /// Whether a key pressed during the prompt stops it and counts (default true).
    #[serde(default = "default_true")]
    pub barge_in: bool,
}

fn default_true() -> bool {
    true
}

/// What to do. `device` is always the device acted on (the agent's extension, or the IVR port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum CommandAction {
    /// Answer the ringing call.
    Answer {
        device: String,
        call_id: String,
    },
    /// Clear the device's connection.
    Hangup {
        device: String,
        call_id: String,
    },
    /// Dial `to` from `device`.
    Dial {
        device: String,
        to: String,
    },
    Hold {
        device: String,
        call_id: String,
    },
    Retrieve {
        device: String,
        call_id: String,
    },
    /// Hold `call_id` and call `to` (consultation).
    Consult {
        device: String,
        call_id: String,
        to: String,
    },
    /// Attended transfer: join the held and the active call, leave.
    Transfer {
        device: String,
        held_call_id: String,
        active_call_id: String,
    },
    /// Blind transfer of `call_id` to `to`.
    BlindTransfer {
        device: String,
        call_id: String,
        to: String,
    },
    /// Three-party conference of the held and the active call.
    Conference {
        device: String,
        held_call_id: String,
        active_call_id: String,
    },
    /// Redirect a ringing call to `to`.
    Deflect {
        device: String,
        call_id: String,
        to: String,
    },
    /// Send DTMF digits on the call.
    SendDigits {
        device: String,
        call_id: String,
        digits: String,
    },
    /// A supervisor at `device` joins the call of `target_device`.
    Monitor {
        device: String,
        target_device: String,
        call_id: String,
        mode: MonitorMode,
    },
    /// Set the agent state of the agent at `device`.
    AgentState {
        device: String,
        agent_id: String,
        state: RequestedAgentState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_code: Option<String>,
    },
    /// Play prompts on an IVR port; with `collect`, then collect digits (the relay answers with
    /// an [`IvrPortEvent`]: `PromptFinished` when there is no collect, else `DigitsCollected` or
    /// `CollectTimeout`). A new PlayPrompt on the same call cancels what runs, without an event.
    PlayPrompt {
        device: String,
        call_id: String,
        prompt_id: String,
        media: Vec<PromptMedia>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        collect: Option<DigitCollect>,
    },
    /// Stop what the port plays/records on the call (no event besides the CommandResult; a
    /// recording stopped this way is still stored and reported).
    StopPrompt {
        device: String,
        call_id: String,
    },
    /// Record the caller (voicemail) for at most `max_seconds`, then upload the audio (WAV) with
    /// an HTTP PUT to `upload_url` (a presigned S3 URL) and report `RecordingStored {key,
    /// durationMs}` (or `RecordingFailed`).
    RecordMessage {
        device: String,
        call_id: String,
        prompt_id: String,
        key: String,
        upload_url: String,
        max_seconds: u32,
    },
}

impl CommandAction {
    /// The device acted on.
    pub fn device(&self) -> &str {
        match self {
            Self::Answer { device, .. }
            | Self::Hangup { device, .. }
            | Self::Dial { device, .. }
            | Self::Hold { device, .. }
            | Self::Retrieve { device, .. }
            | Self::Consult { device, .. }
            | Self::Transfer { device, .. }
            | Self::BlindTransfer { device, .. }
            | Self::Conference { device, .. }
            | Self::Deflect { device, .. }
            | Self::SendDigits { device, .. }
            | Self::Monitor { device, .. }
            | Self::AgentState { device, .. }
            | Self::PlayPrompt { device, .. }
            | Self::StopPrompt { device, .. }
            | Self::RecordMessage { device, .. } => device,
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "outcome",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum CommandOutcome {
    /// The PBX accepted it (positive response).
    Done {
        /// A call id the PBX created (MakeCall, consultation).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
    },
    /// The PBX refused it with a CSTAErrorCode (`invalidCallID`, `genericUnspecified`…).
    Refused { error: String },
    /// Not executed: past `expiresAt`.
    Expired,
    /// Not executed: the link to the PBX is down.
    LinkDown,
    /// Not executed: the command could not be read or mapped.
    Invalid { error: String },
}

/// The result of a command, published on the event queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandResult {
    pub command_id: String,
    /// The device acted on (empty when the command was unreadable).
    pub device: String,
    #[serde(flatten)]
    pub outcome: CommandOutcome,
}

/// The relay's question to the routing function (HTTP POST body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteQuery {
    pub version: u32,
    pub relay_id: String,
    #[serde(flatten)]
    pub request: RouteRequested,
    /// The relay's deadline: an answer after this is not used.
    pub deadline: DateTime<Utc>,
}

/// The routing function's answer (HTTP 200 body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteAnswer {
    /// The device the PBX should deliver the call to (agent extension, queue pilot, IVR port,
    /// external number).
    pub destination: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(event: CtiEvent) -> CtiEnvelope {
        CtiEnvelope {
            version: SCHEMA_VERSION,
            event_id: "prg-1:1:42".into(),
            relay_id: "prg-1".into(),
            seq: 42,
            observed_at: DateTime::parse_from_rfc3339("2026-11-27T08:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            event,
        }
    }

    #[test]
    fn when_call_event_is_serialised_should_use_type_tag_and_camel_case() {
        let env = envelope(CtiEvent::Call(CallEvent {
            kind: CallEventKind::Delivered,
            call_id: "c1".into(),
            device: Some("2001".into()),
            calling_device: Some("+420601123456".into()),
            ..CallEvent::default()
        }));
        let json = serde_json::to_value(&env).unwrap();
        assert_eq!(json["event"]["type"], "call");
        assert_eq!(json["event"]["kind"], "delivered");
        assert_eq!(json["event"]["callingDevice"], "+420601123456");
        assert_eq!(json["eventId"], "prg-1:1:42");
        assert_eq!(env.group_id(), "call:c1");
        let back: CtiEnvelope = serde_json::from_value(json).unwrap();
        assert_eq!(back, env);
    }

    #[test]
    fn when_agent_and_link_events_are_grouped_should_use_device_and_relay() {
        let agent = envelope(CtiEvent::Agent(AgentEvent {
            state: AgentStateKind::Ready,
            device: "2001".into(),
            agent_id: Some("2001".into()),
            acd_group: None,
            reason_code: None,
            snapshot: false,
        }));
        assert_eq!(agent.group_id(), "device:2001");
        let link = envelope(CtiEvent::Link(LinkEvent {
            state: LinkState::Down,
            monitored_devices: 0,
            reason: Some("connection reset".into()),
        }));
        assert_eq!(link.group_id(), "relay:prg-1");
    }

    #[test]
    fn when_command_roundtrips_should_keep_action_and_group_by_device() {
        let json = r#"{"version":1,"commandId":"k1","requestedBy":"agent01",
            "issuedAt":"2026-11-27T08:00:00Z","expiresAt":"2026-11-27T08:00:10Z",
            "action":{"type":"blindTransfer","device":"2001","callId":"c1","to":"5001"}}"#;
        let command: CtiCommand = serde_json::from_str(json).unwrap();
        assert_eq!(
            command.action,
            CommandAction::BlindTransfer {
                device: "2001".into(),
                call_id: "c1".into(),
                to: "5001".into()
            }
        );
        assert_eq!(command.group_id(), "device:2001");
    }

    #[test]
    fn when_command_result_is_serialised_should_flatten_the_outcome() {
        let result = CommandResult {
            command_id: "k1".into(),
            device: "2001".into(),
            outcome: CommandOutcome::Refused {
                error: "invalidCallID".into(),
            },
        };
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["outcome"], "refused");
        assert_eq!(json["error"], "invalidCallID");
        let back: CommandResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, result);
    }

    #[test]
    fn when_route_query_is_serialised_should_flatten_the_request() {
        let query = RouteQuery {
            version: SCHEMA_VERSION,
            relay_id: "prg-1".into(),
            request: RouteRequested {
                cross_ref_id: "r1".into(),
                call_id: "c1".into(),
                routing_device: "5000".into(),
                calling_device: Some("+420601123456".into()),
                called_device: Some("5000".into()),
                attempt: 0,
            },
            deadline: DateTime::parse_from_rfc3339("2026-11-27T08:00:01Z")
                .unwrap()
                .with_timezone(&Utc),
        };
        let json = serde_json::to_value(&query).unwrap();
        assert_eq!(json["routingDevice"], "5000");
        assert_eq!(json["crossRefId"], "r1");
        let back: RouteQuery = serde_json::from_value(json).unwrap();
        assert_eq!(back, query);
    }

    fn command(action: CommandAction) -> CtiCommand {
        CtiCommand {
            version: SCHEMA_VERSION,
            command_id: "k1".into(),
            requested_by: "ivr".into(),
            issued_at: DateTime::parse_from_rfc3339("2026-11-27T08:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            expires_at: DateTime::parse_from_rfc3339("2026-11-27T08:00:10Z")
                .unwrap()
                .with_timezone(&Utc),
            action,
        }
    }

    #[test]
    fn when_play_prompt_is_serialised_should_match_the_contract_json_exactly() {
        let cmd = command(CommandAction::PlayPrompt {
            device: "6003".into(),
            call_id: "c1".into(),
            prompt_id: "menu-main".into(),
            media: vec![
                PromptMedia {
                    url: "https://s3.example/p/welcome.wav?X-Amz-Signature=abc".into(),
                    cache_key: "9f86d081884c7d65".into(),
                },
                PromptMedia {
                    url: "https://s3.example/p/menu.wav".into(),
                    cache_key: "60303ae22b998861".into(),
                },
            ],
            collect: Some(DigitCollect {
                min_digits: 1,
                max_digits: 4,
                timeout_seconds: 5,
                terminator: Some('#'),
                barge_in: true,
            }),
        });
        let json = serde_json::to_value(&cmd).unwrap();
        assert_eq!(
            json["action"],
            serde_json::json!({
                "type": "playPrompt", "device": "6003", "callId": "c1", "promptId": "menu-main",
                "media": [
                    {"url": "https://s3.example/p/welcome.wav?X-Amz-Signature=abc", "cacheKey": "9f86d081884c7d65"},
                    {"url": "https://s3.example/p/menu.wav", "cacheKey": "60303ae22b998861"}
                ],
                "collect": {"minDigits": 1, "maxDigits": 4, "timeoutSeconds": 5, "terminator": "#", "bargeIn": true}
            })
        );
        assert_eq!(cmd.group_id(), "device:6003");
        let back: CtiCommand = serde_json::from_value(json).unwrap();
        assert_eq!(back, cmd);
    }

    #[test]
    fn when_play_prompt_has_no_collect_and_no_barge_in_field_should_use_the_defaults() {
        let action: CommandAction = serde_json::from_str(
            r#"{"type":"playPrompt","device":"6003","callId":"c1","promptId":"p",
                "media":[{"url":"http://x/a.wav","cacheKey":"a"}]}"#,
        )
        .unwrap();
        let CommandAction::PlayPrompt { collect, .. } = &action else {
            panic!("not a playPrompt")
        };
        assert!(collect.is_none());
        assert!(!serde_json::to_string(&action).unwrap().contains("collect"));
        let collect: DigitCollect =
            serde_json::from_str(r#"{"minDigits":1,"maxDigits":1,"timeoutSeconds":3}"#).unwrap();
        assert!(collect.barge_in);
        assert_eq!(collect.terminator, None);
        assert!(!serde_json::to_string(&collect)
            .unwrap()
            .contains("terminator"));
    }

    #[test]
    fn when_stop_and_record_commands_are_serialised_should_match_the_contract_json_exactly() {
        let stop = CommandAction::StopPrompt {
            device: "6003".into(),
            call_id: "c1".into(),
        };
        assert_eq!(
            serde_json::to_value(&stop).unwrap(),
            serde_json::json!({"type": "stopPrompt", "device": "6003", "callId": "c1"})
        );
        let record = CommandAction::RecordMessage {
            device: "6003".into(),
            call_id: "c1".into(),
            prompt_id: "vm-1".into(),
            key: "voicemail/2026/11/27/c1.wav".into(),
            upload_url: "https://s3.example/voicemail/c1.wav?X-Amz-Signature=def".into(),
            max_seconds: 120,
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "recordMessage", "device": "6003", "callId": "c1", "promptId": "vm-1",
                "key": "voicemail/2026/11/27/c1.wav",
                "uploadUrl": "https://s3.example/voicemail/c1.wav?X-Amz-Signature=def",
                "maxSeconds": 120
            })
        );
        for action in [stop, record] {
            assert_eq!(action.device(), "6003");
            let text = serde_json::to_string(&action).unwrap();
            assert_eq!(
                serde_json::from_str::<CommandAction>(&text).unwrap(),
                action
            );
        }
    }

    #[test]
    fn when_ivr_events_are_serialised_should_flatten_the_outcome_and_group_by_call() {
        let cases = [
            (
                IvrPortOutcome::PromptFinished,
                serde_json::json!({"outcome": "promptFinished"}),
            ),
            (
                IvrPortOutcome::DigitsCollected {
                    digits: "12#".into(),
                },
                serde_json::json!({"outcome": "digitsCollected", "digits": "12#"}),
            ),
            (
                IvrPortOutcome::CollectTimeout,
                serde_json::json!({"outcome": "collectTimeout"}),
            ),
            (
                IvrPortOutcome::RecordingStored {
                    key: "voicemail/c1.wav".into(),
                    duration_ms: 1000,
                },
                serde_json::json!({"outcome": "recordingStored", "key": "voicemail/c1.wav", "durationMs": 1000}),
            ),
            (
                IvrPortOutcome::RecordingFailed {
                    error: "upload: http 403".into(),
                },
                serde_json::json!({"outcome": "recordingFailed", "error": "upload: http 403"}),
            ),
        ];
        for (outcome, fields) in cases {
            let env = envelope(CtiEvent::Ivr(IvrPortEvent {
                call_id: "c1".into(),
                device: "6003".into(),
                prompt_id: "p1".into(),
                outcome,
            }));
            let json = serde_json::to_value(&env).unwrap();
            let mut expected = serde_json::json!({
                "type": "ivr", "callId": "c1", "device": "6003", "promptId": "p1"
            });
            for (k, v) in fields.as_object().unwrap() {
                expected[k] = v.clone();
            }
            assert_eq!(json["event"], expected);
            assert_eq!(env.group_id(), "call:c1");
            let back: CtiEnvelope = serde_json::from_value(json).unwrap();
            assert_eq!(back, env);
        }
    }
}
