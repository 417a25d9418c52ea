//! Test support: a minimal fake PBX (tokio TCP server speaking csta's `MessageCodec`), a fake
//! routing function (axum), the relay's test config, and polling helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use csta::model::*;
use csta::types::{ConnectionId, DeviceId, ErrorCategory, LocalConnectionState};
use csta::{CstaErrorCode, InvokeId, Message, MessageCodec};
use cti_events::{CtiEnvelope, CtiEvent};
use futures_util::{SinkExt, StreamExt};
use linka_relay::config::Config;
use linka_relay::sink::MemorySink;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

/// What the fake PBX saw and how it behaves.
#[derive(Debug, Default)]
pub struct PbxState {
    /// Sessions started so far.
    pub sessions: u32,
    /// Every message received, with the session number it came in.
    pub received: Vec<(u32, InvokeId, Message)>,
    /// Devices whose MonitorStart is refused for lack of licences.
    pub refuse_monitor: HashSet<String>,
    /// Do not answer keep-alives.
    pub ignore_keepalive: bool,
    /// Delay before answering call-control requests.
    pub command_delay: Duration,
    /// Close every new connection at once (PBX unreachable for the relay).
    pub reject_connections: bool,
    /// Events written right behind the MonitorStartResponse of a device (same write burst):
    /// device → events.
    pub events_after_monitor: std::collections::HashMap<String, Vec<Message>>,
}

/// The current connection: its outgoing queue and its kill switch.
type Connection = (
    mpsc::UnboundedSender<(InvokeId, Message)>,
    CancellationToken,
);

/// A minimal PBX.
pub struct FakePbx {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<PbxState>>,
    current: Arc<Mutex<Option<Connection>>>,
    stop: CancellationToken,
}

impl Drop for FakePbx {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn respond(message: &Message, session: u32, state: &PbxState) -> Option<Message> {
    let error = |value: &str| {
        Message::CstaErrorCode(CstaErrorCode {
            category: ErrorCategory::Operation,
            value: value.into(),
        })
    };
    Some(match message {
        Message::StartApplicationSession(_) => StartApplicationSessionPosResponse {
            session_id: Some(format!("S{session}")),
            actual_session_duration: Some(180),
            ..Default::default()
        }
        .into(),
        Message::ResetApplicationSessionTimer(_) => {
            if state.ignore_keepalive {
                return None;
            }
            ResetApplicationSessionTimerPosResponse {
                actual_session_duration: Some(180),
                ..Default::default()
            }
            .into()
        }
        Message::StopApplicationSession(_) => StopApplicationSessionPosResponse::default().into(),
        Message::MonitorStart(m) => {
            let device = m
                .monitor_object
                .as_ref()
                .map(|d| d.id.clone())
                .unwrap_or_default();
            if state.refuse_monitor.contains(&device) {
                Message::CstaErrorCode(CstaErrorCode {
                    category: ErrorCategory::SystemResourceAvailability,
                    value: "overallMonitorLimitExceeded".into(),
                })
            } else {
                MonitorStartResponse {
                    monitor_cross_ref_id: Some(cross_ref(&device, session)),
                    ..Default::default()
                }
                .into()
            }
        }
        Message::RouteRegister(r) => RouteRegisterResponse {
            route_register_req_id: Some(format!(
                "RR{}",
                r.routeing_device
                    .as_ref()
                    .map(|d| d.id.as_str())
                    .unwrap_or("")
            )),
            ..Default::default()
        }
        .into(),
        Message::MakeCall(m) => MakeCallResponse {
            calling_device: Some(ConnectionId::new(
                "C-NEW",
                m.calling_device
                    .as_ref()
                    .map(|d| d.id.as_str())
                    .unwrap_or(""),
            )),
            ..Default::default()
        }
        .into(),
        Message::AnswerCall(a) => {
            if a.call_to_be_answered
                .as_ref()
                .and_then(|c| c.call_id.as_deref())
                == Some("BAD")
            {
                error("invalidCallID")
            } else {
                AnswerCallResponse::default().into()
            }
        }
        Message::ClearConnection(_) => ClearConnectionResponse::default().into(),
        Message::HoldCall(_) => HoldCallResponse::default().into(),
        Message::RetrieveCall(_) => RetrieveCallResponse::default().into(),
        Message::SingleStepTransferCall(_) => SingleStepTransferCallResponse::default().into(),
        Message::SetAgentState(_) => SetAgentStateResponse::default().into(),
        Message::RouteSelect(_) | Message::RouteEnd(_) | Message::SystemStatusResponse(_) => {
            return None
        }
        _ => error("genericUnspecified"),
    })
}

/// The cross-reference id the fake PBX gives `device` in `session`.
pub fn cross_ref(device: &str, session: u32) -> String {
    format!("X{device}-{session}")
}

impl FakePbx {
    /// Starts on a free port.
    pub async fn start() -> FakePbx {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(PbxState::default()));
        let current = Arc::new(Mutex::new(None));
        let stop = CancellationToken::new();
        let (s, c, st) = (state.clone(), current.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    () = st.cancelled() => return,
                };
                let Ok((stream, _)) = accepted else { continue };
                if s.lock().unwrap().reject_connections {
                    drop(stream);
                    continue;
                }
                let session = {
                    let mut g = s.lock().unwrap();
                    g.sessions += 1;
                    g.sessions
                };
                let (tx, mut rx) = mpsc::unbounded_channel::<(InvokeId, Message)>();
                let kill = CancellationToken::new();
                *c.lock().unwrap() = Some((tx.clone(), kill.clone()));
                let state = s.clone();
                let stop = st.clone();
                tokio::spawn(async move {
                    let mut framed = Framed::new(stream, MessageCodec::default());
                    loop {
                        tokio::select! {
                            () = kill.cancelled() => return,
                            () = stop.cancelled() => return,
                            out = rx.recv() => {
                                let Some(out) = out else { return };
                                if framed.send(out).await.is_err() { return; }
                            }
                            frame = framed.next() => {
                                let Some(Ok((id, decoded))) = frame else { return };
                                let (answer, delay, follow_up) = {
                                    let mut g = state.lock().unwrap();
                                    g.received.push((session, id, decoded.message.clone()));
                                    let follow_up = match &decoded.message {
                                        Message::MonitorStart(m) => m
                                            .monitor_object
                                            .as_ref()
                                            .and_then(|d| g.events_after_monitor.get(&d.id).cloned())
                                            .unwrap_or_default(),
                                        _ => Vec::new(),
                                    };
                                    (respond(&decoded.message, session, &g), g.command_delay, follow_up)
                                };
                                if let Some(answer) = answer {
                                    let is_call_control = !matches!(
                                        decoded.message,
                                        Message::StartApplicationSession(_)
                                            | Message::ResetApplicationSessionTimer(_)
                                            | Message::MonitorStart(_)
                                            | Message::RouteRegister(_)
                                            | Message::StopApplicationSession(_)
                                    );
                                    if is_call_control && !delay.is_zero() {
                                        let tx = tx.clone();
                                        tokio::spawn(async move {
                                            tokio::time::sleep(delay).await;
                                            let _ = tx.send((id, answer));
                                        });
                                    } else if !follow_up.is_empty() {
                                        // One write for the answer and its follow-up events.
                                        if framed.feed((id, answer)).await.is_err() {
                                            return;
                                        }
                                    } else if framed.send((id, answer)).await.is_err() {
                                        return;
                                    }
                                    for event in follow_up {
                                        if framed.send((InvokeId::EVENT, event)).await.is_err() {
                                            return;
                                        }
                                    }
                                }
                            }
                        }
                    }
                });
            }
        });
        FakePbx {
            addr,
            state,
            current,
            stop,
        }
    }

    /// Sends an unsolicited message (invoke id 9999) on the current connection.
    pub fn send_event(&self, message: impl Into<Message>) {
        self.send_with_id(InvokeId::EVENT, message);
    }

    /// Sends a message with an invoke id.
    pub fn send_with_id(&self, id: InvokeId, message: impl Into<Message>) {
        if let Some((tx, _)) = self.current.lock().unwrap().as_ref() {
            let _ = tx.send((id, message.into()));
        }
    }

    /// Drops the current connection (the relay sees EOF).
    pub fn drop_connection(&self) {
        if let Some((_, kill)) = self.current.lock().unwrap().take() {
            kill.cancel();
        }
    }

    /// Stops accepting and drops everything.
    pub fn shutdown(&self) {
        self.stop.cancel();
        self.drop_connection();
    }

    /// Messages received so far, with their session.
    pub fn received(&self) -> Vec<(u32, InvokeId, Message)> {
        self.state.lock().unwrap().received.clone()
    }

    /// Devices monitored in `session`.
    pub fn monitored_in(&self, session: u32) -> Vec<String> {
        self.received()
            .into_iter()
            .filter(|(s, _, _)| *s == session)
            .filter_map(|(_, _, m)| match m {
                Message::MonitorStart(m) => m.monitor_object.map(|d| d.id),
                _ => None,
            })
            .collect()
    }

    /// Sessions started.
    pub fn sessions(&self) -> u32 {
        self.state.lock().unwrap().sessions
    }
}

/// Polls `condition` every 10 ms until true or `timeout` (then panics with `what`).
pub async fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The relay configuration used by the tests.
pub fn config(pbx: SocketAddr, spool_dir: &Path) -> Config {
    let text = format!(
        r#"
relay_id = "test-1"

[pbx]
host = "127.0.0.1"
port = {port}
session_duration_secs = 180
keepalive_interval_ms = 200
request_timeout_ms = 500
connect_timeout_ms = 500

[[pbx.devices]]
id = "2001"
kind = "agent"

[[pbx.devices]]
id = "2002"
kind = "agent"

[[pbx.devices]]
id = "5100"
kind = "pilot"

[[pbx.devices]]
id = "5000"
kind = "route_point"
fallback = "5100"

[reconnect]
initial_ms = 50
max_ms = 200
jitter = 0.1

[spool]
path = "{spool}"

[sqs]
event_queue_url = "memory://events.fifo"
command_wait_secs = 1

[routing]
budget_ms = 300
default_fallback = "5199"

[health]
listen = "127.0.0.1:0"
"#,
        port = pbx.port(),
        spool = spool_dir.join("spool.redb").display()
    );
    let config = Config::from_toml(&text).unwrap();
    config.validate().unwrap();
    config
}

/// The envelopes a memory sink accepted, in acceptance order.
pub fn envelopes(sink: &MemorySink) -> Vec<CtiEnvelope> {
    sink.messages()
        .iter()
        .map(|m| {
            let env: CtiEnvelope = serde_json::from_str(&m.body).unwrap();
            assert_eq!(env.event_id, m.event_id, "dedup id = eventId");
            assert_eq!(env.group_id(), m.group_id, "group = envelope.group_id()");
            env
        })
        .collect()
}

/// Events of the given kind from a sink.
pub fn events(sink: &MemorySink) -> Vec<CtiEvent> {
    envelopes(sink).into_iter().map(|e| e.event).collect()
}

/// A DeliveredEvent for `call` at `device` in `session`.
pub fn delivered(call: &str, device: &str, session: u32) -> DeliveredEvent {
    DeliveredEvent {
        monitor_cross_ref_id: Some(cross_ref(device, session)),
        connection: Some(ConnectionId::new(call, device)),
        alerting_device: Some(DeviceId::wrapped("deviceIdentifier", device)),
        calling_device: Some(DeviceId::wrapped("deviceIdentifier", "+420601123456")),
        called_device: Some(DeviceId::wrapped("deviceIdentifier", "5000")),
        local_connection_info: Some(LocalConnectionState::Alerting),
        cause: Some("newCall".into()),
        ..Default::default()
    }
}

/// An EstablishedEvent.
pub fn established(call: &str, device: &str, session: u32) -> EstablishedEvent {
    EstablishedEvent {
        monitor_cross_ref_id: Some(cross_ref(device, session)),
        established_connection: Some(ConnectionId::new(call, device)),
        answering_device: Some(DeviceId::wrapped("deviceIdentifier", device)),
        local_connection_info: Some(LocalConnectionState::Connected),
        ..Default::default()
    }
}

/// A ConnectionClearedEvent.
pub fn cleared(call: &str, device: &str, session: u32) -> ConnectionClearedEvent {
    ConnectionClearedEvent {
        monitor_cross_ref_id: Some(cross_ref(device, session)),
        dropped_connection: Some(ConnectionId::new(call, device)),
        releasing_device: Some(DeviceId::wrapped("deviceIdentifier", device)),
        local_connection_info: Some(LocalConnectionState::Null),
        ..Default::default()
    }
}

/// A RouteRequest at route point 5000.
pub fn route_request(cross_ref: &str, call: &str) -> RouteRequest {
    RouteRequest {
        cross_ref_identifier: Some(cross_ref.into()),
        route_register_req_id: Some("RR5000".into()),
        current_route: Some(DeviceId::plain("5000")),
        calling_device: Some(DeviceId::wrapped("deviceIdentifier", "+420601123456")),
        routeing_device: Some(DeviceId::plain("5000")),
        routed_call: Some(ConnectionId::new(call, "5000")),
        ..Default::default()
    }
}

/// A routing function answering `destination` after `delay`; returns its URL.
pub async fn routing_server(delay: Duration, destination: &'static str) -> String {
    use axum::routing::post;
    use axum::Json;
    let app = axum::Router::new().route(
        "/route",
        post(move |Json(q): Json<cti_events::RouteQuery>| async move {
            assert_eq!(q.relay_id, "test-1");
            tokio::time::sleep(delay).await;
            Json(cti_events::RouteAnswer {
                destination: destination.into(),
            })
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/route")
}

/// A `moto_server` started for one test on a free port; killed when dropped.
pub struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Moto {
    /// Starts moto from the project's venv (or `$MOTO_SERVER`) and waits until it answers;
    /// `None` (the caller skips) when the binary is missing.
    pub async fn start() -> Option<Moto> {
        let executable = std::env::var_os("MOTO_SERVER")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server")
            });
        if !executable.exists() {
            assert!(
                std::env::var_os("LINKA_REQUIRE_MOTO").is_none_or(|v| v != "1"),
                "LINKA_REQUIRE_MOTO=1 but moto_server is missing at {}",
                executable.display()
            );
            eprintln!(
                "SKIPPED: moto_server not found at {} (install moto[server] into /work/main/.venv or set MOTO_SERVER)",
                executable.display()
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(&executable)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let moto = Moto { child, port };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let answer = client
                .get(format!("{}/moto-api/", moto.endpoint()))
                .send()
                .await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return Some(moto);
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Its endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An SQS client for it.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        sqs_at(&self.endpoint())
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// An SQS client for `endpoint` with test credentials and the binary's timeouts (connect 3 s,
/// attempt 10 s), so an unreachable endpoint fails the way it does in production.
pub fn sqs_at(endpoint: &str) -> aws_sdk_sqs::Client {
    let timeouts = aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .build();
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_sqs::config::Region::new("eu-central-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .timeout_config(timeouts)
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// Creates a FIFO queue and returns its URL.
pub async fn fifo_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// One message read back from the event queue.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope.
    pub env: CtiEnvelope,
    /// SQS `SentTimestamp` (ms since the epoch): when the queue accepted it.
    pub sent_ms: i64,
    /// When the test received it (ms since the epoch).
    pub received_ms: i64,
}

/// One ReceiveMessage (≤ 10, long poll 1 s) on `queue`; deletes what it got.
pub async fn receive_batch(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<Received> {
    use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
    let out = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
        .send()
        .await
        .unwrap();
    let received_ms = chrono::Utc::now().timestamp_millis();
    let messages = out.messages.unwrap_or_default();
    if messages.is_empty() {
        return Vec::new();
    }
    let entries = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle().unwrap())
                .build()
                .unwrap()
        })
        .collect::<Vec<_>>();
    let deleted = sqs
        .delete_message_batch()
        .queue_url(queue)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    assert!(deleted.failed().is_empty(), "delete failed: {deleted:?}");
    messages
        .iter()
        .map(|m| Received {
            env: serde_json::from_str(m.body().unwrap()).unwrap(),
            sent_ms: m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                .and_then(|v| v.parse().ok())
                .unwrap_or_default(),
            received_ms,
        })
        .collect()
}

/// A TCP proxy in front of a service; [`TcpProxy::cut`] makes the service unreachable (live
/// connections are closed, new ones are closed at once) until [`TcpProxy::restore`].
pub struct TcpProxy {
    pub addr: SocketAddr,
    up: Arc<tokio::sync::watch::Sender<bool>>,
    stop: CancellationToken,
}

impl TcpProxy {
    /// A proxy on a free port forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, _) = tokio::sync::watch::channel(true);
        let up = Arc::new(up);
        let stop = CancellationToken::new();
        let (u, st) = (up.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    () = st.cancelled() => return,
                };
                let Ok((mut inbound, _)) = accepted else {
                    continue;
                };
                if !*u.borrow() {
                    drop(inbound);
                    continue;
                }
                let mut state = u.subscribe();
                let stop = st.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = state.wait_for(|up| !*up) => {}
                        () = stop.cancelled() => {}
                    }
                });
            }
        });
        TcpProxy { addr, up, stop }
    }

    /// `http://` URL of the proxy.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The service becomes unreachable.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    /// The service is reachable again.
    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
