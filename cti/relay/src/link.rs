//! The PBX link: TCP connection, ECMA-354 session, RouteRegister for route points, MonitorStart
//! for every device, keep-alives, loss detection and reconnect with backoff.
//!
//! One *supervisor* ([`run_link`]) loops connect → establish → keep alive → lost → backoff. Per
//! connection, one *actor* task owns the framed socket: it writes requests (allocating invoke
//! ids), matches responses to pending requests by invoke id, answers SystemStatus, hands routing
//! messages to the router and every other event to the mapping → spool pipeline, in arrival
//! order. Other tasks talk to the PBX through a cloneable [`LinkHandle`].
//!
//! Loss is detected by EOF, a socket or framing error, a keep-alive that is refused or not
//! answered within `request_timeout_ms`, or a StopApplicationSession from the PBX. Each loss
//! publishes `Link{Down, reason}`; each (re)established session publishes
//! `Link{Up, monitoredDevices}` after every device has been monitored again.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use csta::model::*;
use csta::types::DeviceId;
use csta::{
    decode_lean, Codec, CodecConfig, FrameCodec, InvokeId, InvokeIdAllocator, Message, StreamError,
};
use cti_events::{CtiEvent, LinkEvent, LinkState};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::codec::{Decoder, Encoder, Framed};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::config::{Config, DeviceKind};
use crate::health::Status;
use crate::mapping::{map_message, MonitorLookup};
use crate::pipeline::EventBus;
use crate::routing::RouteMessage;
use crate::spool::Observed;

/// The relay's codec: the csta framing with the lean decoder (typed fields only — the relay's
/// hot path) and the configured edition on encode.
#[derive(Debug, Default)]
pub struct LeanCodec {
    frames: FrameCodec,
    codec: Codec,
}

impl LeanCodec {
    /// A codec encoding in `edition`.
    pub fn new(edition: csta::Edition) -> Self {
        Self {
            frames: FrameCodec::new(),
            codec: Codec::new(CodecConfig {
                edition,
                xml_declaration: false,
            }),
        }
    }
}

impl Decoder for LeanCodec {
    type Item = (InvokeId, Message);
    type Error = StreamError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, StreamError> {
        let Some(f) = self.frames.decode(src)? else {
            return Ok(None);
        };
        let invoke_id = f.frame.invoke_id;
        decode_lean(&f.frame.xml)
            .map(|d| Some((invoke_id, d.message)))
            .map_err(|source| StreamError::Payload {
                offset: f.offset,
                invoke_id,
                source,
            })
    }
}

impl Encoder<(InvokeId, Message)> for LeanCodec {
    type Error = StreamError;

    fn encode(&mut self, item: (InvokeId, Message), dst: &mut BytesMut) -> Result<(), StreamError> {
        let frame = self.codec.encode_frame(item.0, &item.1);
        self.frames.encode(frame, dst)?;
        Ok(())
    }
}

/// Link request errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// No session (or it was lost while waiting).
    #[error("the PBX link is down")]
    Down,
    /// No response in time.
    #[error("the PBX did not answer within {0:?}")]
    Timeout(Duration),
}

enum Outgoing {
    Send(Message, Option<InvokeId>),
    Request(Message, oneshot::Sender<Message>),
}

/// Talks to the PBX over the current connection.
#[derive(Debug, Clone)]
pub struct LinkHandle {
    tx: mpsc::Sender<Outgoing>,
    timeout: Duration,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Send(m, _) => write!(f, "Send({})", m.name()),
            Self::Request(m, _) => write!(f, "Request({})", m.name()),
        }
    }
}

impl LinkHandle {
    /// Sends a message without waiting for an answer (new invoke id).
    pub async fn send(&self, message: Message) -> Result<(), LinkError> {
        self.tx
            .send(Outgoing::Send(message, None))
            .await
            .map_err(|_| LinkError::Down)
    }

    /// Sends a request and waits for its response (positive, negative or CSTAErrorCode) for the
    /// link's request timeout.
    pub async fn request(&self, message: Message) -> Result<Message, LinkError> {
        self.request_within(message, self.timeout).await
    }

    /// [`Self::request`] with an explicit timeout.
    pub async fn request_within(
        &self,
        message: Message,
        timeout: Duration,
    ) -> Result<Message, LinkError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Outgoing::Request(message, tx))
            .await
            .map_err(|_| LinkError::Down)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(LinkError::Down),
            Err(_) => Err(LinkError::Timeout(timeout)),
        }
    }
}

/// Monitor cross-reference id → device.
pub type MonitorMap = Arc<RwLock<HashMap<String, String>>>;

impl MonitorLookup for MonitorMap {
    fn device_of(&self, cross_ref_id: &str) -> Option<String> {
        self.read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(cross_ref_id)
            .cloned()
    }
}

/// What the link tasks share.
pub struct LinkContext {
    /// Configuration.
    pub config: Arc<Config>,
    /// Event pipeline.
    pub bus: EventBus,
    /// Status / metrics.
    pub status: Arc<Status>,
    /// Monitors of the current session.
    pub monitors: MonitorMap,
    /// Route registrations of the current session: routeRegisterReqID → route point.
    pub registrations: MonitorMap,
    /// To the router.
    pub routes: mpsc::Sender<RouteMessage>,
    /// The current session's handle (None while down), for the command executor.
    pub current: watch::Sender<Option<LinkHandle>>,
    /// The IVR controller's tap (voice unit events, digits, clearing).
    pub ivr: Option<crate::ivr::IvrTap>,
}

/// Why establishing a session failed.
#[derive(Debug, thiserror::Error)]
enum EstablishError {
    #[error("StartApplicationSession failed")]
    Link(#[from] LinkError),
    #[error("the PBX refused StartApplicationSession: {0}")]
    Refused(String),
    #[error("unexpected answer {0} to {1}")]
    Unexpected(String, &'static str),
}

struct Session {
    id: String,
    duration_secs: u32,
    monitored: u32,
}

fn is_response(message: &Message) -> bool {
    matches!(message, Message::CstaErrorCode(_)) || message.name().ends_with("Response")
}

/// One connection's actor: returns the reason the connection ended.
async fn connection_actor(
    mut framed: Framed<TcpStream, LeanCodec>,
    mut rx: mpsc::Receiver<Outgoing>,
    me: mpsc::WeakSender<Outgoing>,
    timeout: Duration,
    ctx: Arc<LinkContext>,
) -> String {
    let mut ids = InvokeIdAllocator::default();
    let mut pending: HashMap<u16, oneshot::Sender<Message>> = HashMap::new();
    // MonitorStart requests in flight (invoke id → device): the cross-reference is recorded
    // here, in frame order, so an event the PBX sends right after the MonitorStartResponse is
    // already mapped to its device (the requester may run only later).
    let mut monitor_starts: HashMap<u16, String> = HashMap::new();
    loop {
        tokio::select! {
            biased;
            out = rx.recv() => {
                let Some(out) = out else { return "relay stopping".into() };
                let (id, message) = match out {
                    Outgoing::Send(m, id) => (id.unwrap_or_else(|| ids.next_id()), m),
                    Outgoing::Request(m, reply) => {
                        let id = ids.next_id();
                        if let Message::MonitorStart(MonitorStart { monitor_object: Some(device), .. }) = &m {
                            monitor_starts.insert(id.value(), device.id.clone());
                        }
                        pending.insert(id.value(), reply);
                        (id, m)
                    }
                };
                tracing::trace!(invoke_id = %id, message = message.name(), "to PBX");
                if let Err(e) = framed.send((id, message)).await {
                    return format!("write to the PBX failed: {e}");
                }
            }
            frame = framed.next() => {
                let (id, message) = match frame {
                    None => return "connection closed by the PBX".into(),
                    Some(Err(StreamError::Payload { offset, invoke_id, source })) => {
                        ctx.status.metrics.decode_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(offset, invoke_id = %invoke_id, error.message = %source, "undecodable CSTA message skipped");
                        continue;
                    }
                    Some(Err(e)) => return format!("PBX stream failed: {e}"),
                    Some(Ok(item)) => item,
                };
                let received = Instant::now();
                ctx.status.metrics.pbx_messages.fetch_add(1, Ordering::Relaxed);
                if is_response(&message) {
                    if let Some(device) = monitor_starts.remove(&id.value()) {
                        if let Message::MonitorStartResponse(MonitorStartResponse { monitor_cross_ref_id: Some(cross_ref), .. }) = &message {
                            write(&ctx.monitors).insert(cross_ref.clone(), device);
                        }
                    }
                    if let Some(reply) = pending.remove(&id.value()) {
                        let _ = reply.send(message);
                    } else if let Message::CstaErrorCode(e) = &message {
                        tracing::warn!(invoke_id = %id, category = e.category.as_str(), value = %e.value, "CSTA error for a request nobody waits for");
                    } else {
                        tracing::debug!(invoke_id = %id, message = message.name(), "response nobody waits for");
                    }
                    continue;
                }
                let handle = || me.upgrade().map(|tx| LinkHandle { tx, timeout });
                match message {
                    Message::SystemStatus(_) => {
                        let answer = Message::SystemStatusResponse(SystemStatusResponse::default());
                        if let Err(e) = framed.send((id, answer)).await {
                            return format!("write to the PBX failed: {e}");
                        }
                    }
                    Message::StopApplicationSession(_) => {
                        let _ = framed
                            .send((id, StopApplicationSessionPosResponse::default().into()))
                            .await;
                        return "session stopped by the PBX".into();
                    }
                    Message::RouteRequest(request) => {
                        if let Some(link) = handle() {
                            let _ = ctx.routes.send(RouteMessage::Request { request: Box::new(request), received, link }).await;
                        }
                    }
                    Message::ReRouteRequest(request) => {
                        if let Some(link) = handle() {
                            let _ = ctx.routes.send(RouteMessage::ReRoute { request: Box::new(request), received, link }).await;
                        }
                    }
                    Message::RouteEnd(end) => {
                        let _ = ctx.routes.send(RouteMessage::End(end)).await;
                    }
                    Message::RouteUsed(used) => {
                        tracing::debug!(cross_ref = ?used.cross_ref_identifier, route = ?used.route_used, "route used");
                    }
                    other => {
                        if let Some(tap) = ctx.ivr.as_ref().filter(|t| t.wants(&other)) {
                            let monitored = monitored_device(&other, &ctx.monitors);
                            tap.forward(monitored, other.clone());
                        }
                        if let Some(event) = map_message(&other, &ctx.monitors) {
                            if ctx.bus.publish_observed(Observed::now(event)).await.is_err() {
                                return "relay stopping".into();
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The monitored device of the events the IVR controller uses.
fn monitored_device(message: &Message, monitors: &MonitorMap) -> Option<String> {
    let cross_ref = match message {
        Message::DigitsGeneratedEvent(e) => e.monitor_cross_ref_id.as_deref(),
        Message::PlayEvent(e) => e.monitor_cross_ref_id.as_deref(),
        Message::StopEvent(e) => e.monitor_cross_ref_id.as_deref(),
        Message::RecordEvent(e) => e.monitor_cross_ref_id.as_deref(),
        _ => None,
    }?;
    monitors.device_of(cross_ref)
}

fn devices(config: &Config) -> impl Iterator<Item = &crate::config::DeviceConfig> {
    config.pbx.devices.iter()
}

async fn establish(handle: &LinkHandle, ctx: &LinkContext) -> Result<Session, EstablishError> {
    let config = &ctx.config;
    let start = StartApplicationSession {
        application_info: Some(ApplicationInfo {
            application_id: Some(config.pbx.application_id.clone()),
            ..Default::default()
        }),
        requested_protocol_versions: Some(ProtocolVersions {
            protocol_version: Some(config.edition().namespace().to_owned()),
            ..Default::default()
        }),
        requested_session_duration: Some(config.pbx.session_duration_secs),
        ..Default::default()
    };
    let (id, duration_secs) = match handle.request(start.into()).await? {
        Message::StartApplicationSessionPosResponse(r) => (
            r.session_id.unwrap_or_default(),
            r.actual_session_duration
                .unwrap_or(config.pbx.session_duration_secs),
        ),
        Message::StartApplicationSessionNegResponse(r) => {
            let detail = r.error_code.map(|e| format!("{e:?}")).unwrap_or_default();
            return Err(EstablishError::Refused(detail));
        }
        Message::CstaErrorCode(e) => {
            return Err(EstablishError::Refused(format!(
                "{}: {}",
                e.category.as_str(),
                e.value
            )))
        }
        other => {
            return Err(EstablishError::Unexpected(
                other.name().to_owned(),
                "StartApplicationSession",
            ))
        }
    };
    ctx.status.clear_monitor_failures();
    for device in devices(config).filter(|d| d.kind == DeviceKind::RoutePoint) {
        let register = RouteRegister {
            routeing_device: Some(DeviceId::plain(&device.id)),
            ..Default::default()
        };
        match handle.request(register.into()).await? {
            Message::RouteRegisterResponse(RouteRegisterResponse {
                route_register_req_id: Some(req_id),
                ..
            }) => {
                write(&ctx.registrations).insert(req_id, device.id.clone());
            }
            Message::CstaErrorCode(e) => {
                tracing::error!(device = %device.id, category = e.category.as_str(), value = %e.value, "RouteRegister refused: this route point's calls follow PBX default routing");
                ctx.status.monitor_failed(
                    &device.id,
                    format!("RouteRegister: {}: {}", e.category.as_str(), e.value),
                    false,
                );
            }
            other => {
                tracing::warn!(device = %device.id, answer = other.name(), "unexpected answer to RouteRegister");
            }
        }
    }
    let mut monitored = 0u32;
    for device in devices(config) {
        let start = MonitorStart {
            monitor_object: Some(DeviceId::wrapped("deviceObject", &device.id)),
            monitor_type: Some("device".into()),
            ..Default::default()
        };
        match handle.request(start.into()).await? {
            Message::MonitorStartResponse(MonitorStartResponse {
                monitor_cross_ref_id: Some(cross_ref),
                ..
            }) => {
                write(&ctx.monitors).insert(cross_ref, device.id.clone());
                monitored += 1;
            }
            Message::CstaErrorCode(e) => {
                let licence = e.is_licence_exhausted();
                if licence {
                    tracing::error!(device = %device.id, "MonitorStart refused: the PBX has no CSTA monitor licence left");
                } else {
                    tracing::warn!(device = %device.id, category = e.category.as_str(), value = %e.value, "MonitorStart refused");
                }
                ctx.status.monitor_failed(
                    &device.id,
                    format!("{}: {}", e.category.as_str(), e.value),
                    licence,
                );
            }
            other => {
                tracing::warn!(device = %device.id, answer = other.name(), "unexpected answer to MonitorStart");
                ctx.status.monitor_failed(
                    &device.id,
                    format!("unexpected answer {}", other.name()),
                    false,
                );
            }
        }
    }
    Ok(Session {
        id,
        duration_secs,
        monitored,
    })
}

fn write(map: &MonitorMap) -> std::sync::RwLockWriteGuard<'_, HashMap<String, String>> {
    map.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends keep-alives until one fails; returns why.
async fn keep_alive(handle: &LinkHandle, session: &Session, ctx: &LinkContext) -> String {
    let third = Duration::from_secs(u64::from(session.duration_secs.max(3)) / 3);
    let interval = Duration::from_millis(ctx.config.pbx.keepalive_interval_ms)
        .min(third)
        .max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(interval).await;
        let reset = ResetApplicationSessionTimer {
            session_id: Some(session.id.clone()),
            requested_session_duration: Some(ctx.config.pbx.session_duration_secs),
            ..Default::default()
        };
        match handle.request(reset.into()).await {
            Ok(Message::ResetApplicationSessionTimerPosResponse(_)) => {}
            Ok(Message::ResetApplicationSessionTimerNegResponse(_)) => {
                return "keep-alive refused: the session has expired".into()
            }
            Ok(Message::CstaErrorCode(e)) => {
                return format!("keep-alive refused: {}: {}", e.category.as_str(), e.value)
            }
            Ok(other) => return format!("unexpected keep-alive answer {}", other.name()),
            Err(e) => return format!("keep-alive failed: {e}"),
        }
    }
}

async fn publish_link(ctx: &LinkContext, state: LinkState, monitored: u32, reason: Option<String>) {
    let event = CtiEvent::Link(LinkEvent {
        state,
        monitored_devices: monitored,
        reason,
    });
    if ctx.bus.publish(event).await.is_err() {
        tracing::warn!("event bus closed; link event not spooled");
    }
}

/// Asks the PBX for the state of every agent device and publishes it as an agent event, so that
/// the cloud knows agents whose state has not changed since the link came up (routing offers
/// calls only to agents it knows are ready). A refused or failed request is logged and skipped.
async fn publish_agent_states(handle: &LinkHandle, ctx: &LinkContext) {
    let agents: Vec<String> = devices(&ctx.config)
        .filter(|device| device.kind == DeviceKind::Agent)
        .map(|device| device.id.clone())
        .collect();
    for device in agents {
        let request = GetAgentState {
            device: Some(DeviceId::plain(&device)),
            ..Default::default()
        };
        let event = match handle.request(request.into()).await {
            Ok(Message::GetAgentStateResponse(GetAgentStateResponse {
                agent_state_list: Some(list),
                ..
            })) => crate::mapping::agent_state_snapshot(&device, &list),
            Ok(other) => {
                tracing::warn!(device = %device, answer = other.name(), "GetAgentState not answered with a state");
                None
            }
            Err(error) => {
                tracing::warn!(device = %device, error = %error, "GetAgentState failed");
                None
            }
        };
        if let Some(event) = event {
            if ctx.bus.publish(event).await.is_err() {
                tracing::warn!("event bus closed; agent state not spooled");
                return;
            }
        }
    }
}

/// Runs the PBX link until `shutdown`.
pub async fn run_link(ctx: Arc<LinkContext>, shutdown: CancellationToken) {
    let config = ctx.config.clone();
    let mut backoff = Backoff::new(
        Duration::from_millis(config.reconnect.initial_ms),
        Duration::from_millis(config.reconnect.max_ms),
        config.reconnect.jitter,
    );
    let timeout = config.request_timeout();
    let edition = config.edition();
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let address = (config.pbx.host.as_str(), config.pbx.port);
        let connect = tokio::select! {
            r = tokio::time::timeout(Duration::from_millis(config.pbx.connect_timeout_ms), TcpStream::connect(address)) => r,
            () = shutdown.cancelled() => return,
        };
        let stream = match connect {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                let delay = backoff.next_delay();
                tracing::warn!(host = %config.pbx.host, port = config.pbx.port, error.message = %e, retry_in_ms = delay.as_millis() as u64, "PBX connect failed");
                ctx.status.error(format!("PBX connect failed: {e}"));
                if sleep_or_stop(delay, &shutdown).await {
                    return;
                }
                continue;
            }
            Err(_) => {
                let delay = backoff.next_delay();
                tracing::warn!(host = %config.pbx.host, port = config.pbx.port, retry_in_ms = delay.as_millis() as u64, "PBX connect timed out");
                ctx.status.error("PBX connect timed out".into());
                if sleep_or_stop(delay, &shutdown).await {
                    return;
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let framed = Framed::new(stream, LeanCodec::new(edition));
        let (tx, rx) = mpsc::channel(1024);
        let handle = LinkHandle { tx, timeout };
        write(&ctx.monitors).clear();
        write(&ctx.registrations).clear();
        let mut actor = tokio::spawn(connection_actor(
            framed,
            rx,
            handle.tx.downgrade(),
            timeout,
            ctx.clone(),
        ));
        let session = tokio::select! {
            r = establish(&handle, &ctx) => r.map_err(|e| crate::error_chain(&e)),
            r = &mut actor => Err(r.unwrap_or_else(|e| format!("link task failed: {e}"))),
            () = shutdown.cancelled() => {
                actor.abort();
                return;
            }
        };
        let session = match session {
            Ok(s) => s,
            Err(reason) => {
                actor.abort();
                let delay = backoff.next_delay();
                tracing::warn!(reason = %reason, retry_in_ms = delay.as_millis() as u64, "PBX session could not be established");
                ctx.status.error(format!("PBX session failed: {reason}"));
                if sleep_or_stop(delay, &shutdown).await {
                    return;
                }
                continue;
            }
        };
        backoff.reset();
        ctx.status
            .set_link_up(&session.id, u64::from(session.monitored));
        ctx.status.metrics.connects.fetch_add(1, Ordering::Relaxed);
        ctx.current.send_replace(Some(handle.clone()));
        tracing::info!(session_id = %session.id, monitored = session.monitored, configured = config.pbx.devices.len(), "PBX link up");
        publish_link(&ctx, LinkState::Up, session.monitored, None).await;
        publish_agent_states(&handle, &ctx).await;

        let (reason, stopping) = tokio::select! {
            r = &mut actor => (r.unwrap_or_else(|e| format!("link task failed: {e}")), false),
            r = keep_alive(&handle, &session, &ctx) => (r, false),
            () = shutdown.cancelled() => {
                let stop = StopApplicationSession {
                    session_id: Some(session.id.clone()),
                    session_end_reason: Some(SessionEndReason {
                        defined_end_reason: Some("normal".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let _ = handle.request_within(stop.into(), Duration::from_secs(1)).await;
                ("relay stopping".to_owned(), true)
            }
        };
        actor.abort();
        ctx.current.send_replace(None);
        ctx.status.set_link_down();
        ctx.status
            .metrics
            .link_losses
            .fetch_add(1, Ordering::Relaxed);
        let _ = ctx.routes.send(RouteMessage::LinkLost).await;
        tracing::warn!(reason = %reason, "PBX link down");
        ctx.status.error(format!("PBX link down: {reason}"));
        publish_link(&ctx, LinkState::Down, 0, Some(reason)).await;
        if stopping || sleep_or_stop(backoff.next_delay(), &shutdown).await {
            return;
        }
    }
}

/// Sleeps; true when shutdown came first.
async fn sleep_or_stop(delay: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        () = shutdown.cancelled() => true,
    }
}
