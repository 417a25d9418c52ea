//! The relay against the PBX simulator (`cti/pbx-sim`) and a moto SQS, end to end: what the
//! simulator sent must arrive in the event FIFO queue exactly (per call, in order), through an
//! SQS outage, a relay SIGKILL, a PBX link drop, and late routing answers.
//!
//! Each test starts its own moto (free port), its own FIFO queues, a pbx-sim on port 0 and the
//! relay (in-process, or the real binary where a process must die). The expected events are the
//! simulator's own log (direction out, invoke id 9999, one entry per monitor), the actual ones
//! every envelope read back from the queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use csta::types::LocalConnectionState as Lcs;
use csta::Message;
use cti_events::{CtiEnvelope, CtiEvent, LinkState, RouteSource};
use linka_relay::commands::{CommandSource, SqsCommandSource};
use linka_relay::config::Config;
use linka_relay::routing::{HttpRouteOracle, NoAuth, RouteOracle};
use linka_relay::sink::SqsEventSink;
use linka_relay::{start, Deps, RunningRelay};
use pbx_sim::pbx::LogEntry;
use pbx_sim::{Options, Sim, SimConfig};

// ---------------------------------------------------------------------------------- the stack

/// The simulated site: agents 2001–2003 in pilot 5000, agent 2005 (transfer target, not in the
/// pilot), pilot 5001 (registered as a route point in the routing test), announcement 6900.
const SIM_CONFIG: &str = r#"
route_timeout_ms: 10000
devices:
  - { id: "2001", kind: agent, agent_id: "2001", initial_state: ready }
  - { id: "2002", kind: agent, agent_id: "2002", initial_state: ready }
  - { id: "2003", kind: agent, agent_id: "2003", initial_state: ready }
  - { id: "2005", kind: agent, agent_id: "2005", initial_state: ready }
  - { id: "5000", kind: pilot, name: KKC, default_destination: "6900", members: ["2001", "2002", "2003"] }
  - { id: "5001", kind: pilot, name: RP, default_destination: "6900", members: ["2001", "2002", "2003"] }
  - { id: "6900", kind: announcement }
  - { id: "9000", kind: trunk }
"#;

/// Devices the relay monitors in the call tests: every party of the scripted calls.
const CALL_DEVICES: &[(&str, &str)] = &[
    ("2001", "agent"),
    ("2002", "agent"),
    ("2003", "agent"),
    ("2005", "agent"),
    ("5000", "pilot"),
];

/// moto + queues + pbx-sim + a temp dir, for one test.
struct Stack {
    moto: Moto,
    sqs: aws_sdk_sqs::Client,
    events_url: String,
    commands_url: String,
    sim: pbx_sim::Running,
    dir: tempfile::TempDir,
}

impl Stack {
    /// `None` when moto is missing (skip; `LINKA_REQUIRE_MOTO=1` makes that a failure).
    async fn start() -> Option<Stack> {
        let moto = Moto::start().await?;
        let sqs = moto.sqs();
        let events_url = fifo_queue(&sqs, "cti-events.fifo").await;
        let commands_url = fifo_queue(&sqs, "cti-commands.fifo").await;
        let sim = pbx_sim::start(
            SimConfig::parse(SIM_CONFIG).unwrap(),
            Options {
                csta_addr: "127.0.0.1:0".parse().unwrap(),
                http_addr: "127.0.0.1:0".parse().unwrap(),
                edition: csta::Edition::Ed4,
                seed: 1,
                traffic: false,
            },
        )
        .await
        .unwrap();
        Some(Stack {
            moto,
            sqs,
            events_url,
            commands_url,
            sim,
            dir: tempfile::tempdir().unwrap(),
        })
    }

    fn sim(&self) -> &Sim {
        &self.sim.sim
    }

    fn moto_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.moto.port()))
    }

    /// The relay's TOML configuration for this stack.
    fn relay_toml(&self, relay: &RelayShape) -> String {
        let mut devices = String::new();
        for (id, kind, fallback) in &relay.devices {
            devices.push_str(&format!(
                "\n[[pbx.devices]]\nid = \"{id}\"\nkind = \"{kind}\"\n"
            ));
            if let Some(f) = fallback {
                devices.push_str(&format!("fallback = \"{f}\"\n"));
            }
        }
        let routing_url = relay
            .routing_url
            .as_ref()
            .map(|u| format!("url = \"{u}\"\n"))
            .unwrap_or_default();
        format!(
            r#"relay_id = "test-1"

[pbx]
host = "127.0.0.1"
port = {port}
keepalive_interval_ms = 5000
request_timeout_ms = 2000
connect_timeout_ms = 1000
{devices}
[reconnect]
initial_ms = 50
max_ms = 500
jitter = 0.1

[spool]
path = "{spool}"

[sqs]
event_queue_url = "{events}"
command_queue_url = "{commands}"
command_wait_secs = 1

[routing]
{routing_url}budget_ms = {budget}

[health]
listen = "127.0.0.1:{health}"
"#,
            port = self.sim.csta_addr.port(),
            spool = self.dir.path().join("spool.redb").display(),
            events = self.events_url,
            commands = self.commands_url,
            budget = relay.budget_ms,
            health = relay.health_port,
        )
    }

    /// Starts the relay in this process, SQS through `sqs_endpoint`.
    async fn relay(&self, relay: &RelayShape, sqs_endpoint: &str) -> RunningRelay {
        let config = Config::from_toml(&self.relay_toml(relay)).unwrap();
        config.validate().unwrap();
        let sqs = sqs_at(sqs_endpoint);
        let oracle = relay.routing_url.as_ref().map(|url| {
            Arc::new(HttpRouteOracle::new(
                reqwest::Client::new(),
                url,
                Arc::new(NoAuth),
            )) as Arc<dyn RouteOracle>
        });
        start(
            config,
            Deps {
                sink: Arc::new(SqsEventSink::new(sqs.clone(), &self.events_url)),
                commands: Some(Arc::new(SqsCommandSource::new(sqs, &self.commands_url, 30))
                    as Arc<dyn CommandSource>),
                oracle,
            },
        )
        .await
        .unwrap()
    }

    /// Waits until the simulator shows every device of `relay` monitored by one client other
    /// than `not_by`; returns that client.
    async fn wait_monitored(&self, relay: &RelayShape, not_by: Option<u64>) -> u64 {
        let wanted: HashSet<String> = relay.devices.iter().map(|(id, _, _)| id.clone()).collect();
        let mut client = 0;
        tokio::time::timeout(
            Duration::from_secs(20),
            self.sim().wait_for(|p| {
                let monitors = p.monitors();
                let clients: HashSet<u64> = monitors.iter().map(|m| m.client).collect();
                let devices: HashSet<String> = monitors.iter().map(|m| m.device.clone()).collect();
                if clients.len() == 1 && devices == wanted && monitors.len() == wanted.len() {
                    client = *clients.iter().next().unwrap();
                    return Some(client) != not_by;
                }
                false
            }),
        )
        .await
        .expect("pbx-sim never showed every device monitored");
        client
    }
}

/// What the relay is configured with.
struct RelayShape {
    devices: Vec<(String, &'static str, Option<String>)>,
    routing_url: Option<String>,
    budget_ms: u64,
    health_port: u16,
}

impl RelayShape {
    fn calls() -> RelayShape {
        RelayShape {
            devices: CALL_DEVICES
                .iter()
                .map(|(id, kind)| ((*id).to_owned(), *kind, None))
                .collect(),
            routing_url: None,
            budget_ms: 1500,
            health_port: 0,
        }
    }
}

/// The real binary; SIGKILLed when dropped.
struct RelayProcess(Child);

impl RelayProcess {
    fn spawn(config: &Path, sqs_endpoint: &str) -> RelayProcess {
        RelayProcess(
            Command::new(env!("CARGO_BIN_EXE_linka-relay"))
                .arg("--config")
                .arg(config)
                .env("AWS_ENDPOINT_URL", sqs_endpoint)
                .env("AWS_REGION", "eu-central-1")
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("RUST_LOG", "error")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    fn sigkill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Prometheus sample (no labels) from `/metrics`.
async fn metric(http: &reqwest::Client, health: SocketAddr, name: &str) -> Option<f64> {
    let body = http
        .get(format!("http://{health}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

// ------------------------------------------------------------------------ scripted calls

/// The device with an alerting connection in `call`.
fn alerting(sim: &Sim, call: &str) -> String {
    sim.read(|p| {
        p.call(call)
            .and_then(|c| c.connections.iter().find(|x| x.state == Lcs::Alerting))
            .map(|x| x.device.clone())
    })
    .unwrap_or_else(|| panic!("nobody rings in call {call}"))
}

/// Five inbound calls to pilot 5000 (agents 2001–2003 idle at the start), all over when it
/// returns:
/// 1. answered, consulted to 2005, transferred, then the caller hangs up;
/// 2. answered, the agent hangs up;
/// 3. answered, the caller hangs up;
/// 4. queued (every agent busy), abandoned in the queue;
/// 5. ringing, abandoned while ringing.
fn call_batch(sim: &Sim, batch: u32) {
    let caller = |i: u32| format!("0677{:06}", batch * 5 + i);
    let inbound = |i: u32| {
        sim.with(|p| p.inbound_call(&caller(i), "5000", None))
            .unwrap()
    };
    let mut answered = Vec::new();
    for i in 1..=3 {
        let call = inbound(i);
        let agent = alerting(sim, &call);
        sim.with(|p| p.answer(&call, &agent)).unwrap();
        answered.push((call, agent));
    }
    let queued = inbound(4);
    assert!(
        sim.read(|p| p.call(&queued).unwrap().connections.len()) == 2
            && sim.read(|p| p.has_connection_state("5000", &Lcs::Queued)),
        "call 4 should queue at the pilot"
    );
    sim.with(|p| p.clear_connection(&queued, &caller(4)))
        .unwrap();
    let (c1, a1) = &answered[0];
    let consultation = sim.with(|p| p.consult(c1, a1, "2005")).unwrap();
    sim.with(|p| p.answer(&consultation, "2005")).unwrap();
    sim.with(|p| p.transfer(a1, c1, &consultation)).unwrap();
    let (c2, a2) = &answered[1];
    sim.with(|p| p.clear_connection(c2, a2)).unwrap();
    let (c3, _) = &answered[2];
    sim.with(|p| p.clear_connection(c3, &caller(3))).unwrap();
    sim.with(|p| p.clear_connection(c1, &caller(1))).unwrap();
    let ringing = inbound(5);
    alerting(sim, &ringing);
    sim.with(|p| p.clear_connection(&ringing, &caller(5)))
        .unwrap();
    assert!(
        sim.read(|p| p.calls().is_empty()),
        "batch {batch} left calls"
    );
}

// ------------------------------------------------------------------ expected vs actual

/// Per group (`call:{id}` / `device:{ext}`): the (CSTA event name, monitored device) sequence.
type Sequences = BTreeMap<String, Vec<(String, String)>>;

fn call_of(c: &Option<csta::types::ConnectionId>) -> String {
    format!(
        "call:{}",
        c.as_ref()
            .and_then(|c| c.call_id.clone())
            .unwrap_or_default()
    )
}

fn agent_of(d: &Option<csta::types::DeviceId>) -> String {
    format!(
        "device:{}",
        d.as_ref()
            .map(|d| pbx_sim::pbx::normalise_device(&d.id))
            .unwrap_or_default()
    )
}

/// The group and the monitor cross-reference of a CSTA event as the simulator sent it.
fn sim_event(m: &Message) -> Option<(String, Option<String>)> {
    Some(match m {
        Message::ServiceInitiatedEvent(e) => (
            call_of(&e.initiated_connection),
            e.monitor_cross_ref_id.clone(),
        ),
        Message::OriginatedEvent(e) => (
            call_of(&e.originated_connection),
            e.monitor_cross_ref_id.clone(),
        ),
        Message::DeliveredEvent(e) => (call_of(&e.connection), e.monitor_cross_ref_id.clone()),
        Message::EstablishedEvent(e) => (
            call_of(&e.established_connection),
            e.monitor_cross_ref_id.clone(),
        ),
        Message::ConnectionClearedEvent(e) => (
            call_of(&e.dropped_connection),
            e.monitor_cross_ref_id.clone(),
        ),
        Message::CallClearedEvent(e) => (call_of(&e.cleared_call), e.monitor_cross_ref_id.clone()),
        Message::HeldEvent(e) => (call_of(&e.held_connection), e.monitor_cross_ref_id.clone()),
        Message::RetrievedEvent(e) => (
            call_of(&e.retrieved_connection),
            e.monitor_cross_ref_id.clone(),
        ),
        Message::QueuedEvent(e) => (
            call_of(&e.queued_connection),
            e.monitor_cross_ref_id.clone(),
        ),
        Message::DivertedEvent(e) => (call_of(&e.connection), e.monitor_cross_ref_id.clone()),
        Message::FailedEvent(e) => (
            call_of(&e.failed_connection),
            e.monitor_cross_ref_id.clone(),
        ),
        Message::TransferredEvent(e) => {
            (call_of(&e.primary_old_call), e.monitor_cross_ref_id.clone())
        }
        Message::ConferencedEvent(e) => {
            (call_of(&e.primary_old_call), e.monitor_cross_ref_id.clone())
        }
        Message::NetworkReachedEvent(e) => (
            call_of(&e.outbound_connection),
            e.monitor_cross_ref_id.clone(),
        ),
        Message::DigitsGeneratedEvent(e) => {
            (call_of(&e.connection), e.monitor_cross_ref_id.clone())
        }
        Message::AgentLoggedOnEvent(e) => {
            (agent_of(&e.agent_device), e.monitor_cross_ref_id.clone())
        }
        Message::AgentLoggedOffEvent(e) => {
            (agent_of(&e.agent_device), e.monitor_cross_ref_id.clone())
        }
        Message::AgentReadyEvent(e) => (agent_of(&e.agent_device), e.monitor_cross_ref_id.clone()),
        Message::AgentNotReadyEvent(e) => {
            (agent_of(&e.agent_device), e.monitor_cross_ref_id.clone())
        }
        Message::AgentWorkingAfterCallEvent(e) => {
            (agent_of(&e.agent_device), e.monitor_cross_ref_id.clone())
        }
        Message::AgentBusyEvent(e) => (agent_of(&e.agent_device), e.monitor_cross_ref_id.clone()),
        _ => return None,
    })
}

/// What the simulator says it sent: every event frame (invoke id 9999, direction out), one
/// per monitor, with the monitored device resolved through the simulator's own log
/// (MonitorStart in ↔ MonitorStartResponse out, same client and invoke id). Also returns the
/// log entries' seq per event, in the same order.
fn sim_sent(sim: &Sim) -> (Sequences, Vec<(u64, String)>) {
    let log: Vec<LogEntry> = sim.read(|p| p.log_since(0, None, usize::MAX));
    let mut asked: HashMap<(u64, String), String> = HashMap::new();
    let mut xrefs: HashMap<(u64, String), String> = HashMap::new();
    for e in &log {
        match &e.body {
            Message::MonitorStart(m) if e.direction == "in" => {
                let device = m
                    .monitor_object
                    .as_ref()
                    .map(|d| pbx_sim::pbx::normalise_device(&d.id))
                    .unwrap();
                asked.insert((e.client, e.invoke_id.clone()), device);
            }
            Message::MonitorStartResponse(r) if e.direction == "out" => {
                let device = asked[&(e.client, e.invoke_id.clone())].clone();
                xrefs.insert((e.client, r.monitor_cross_ref_id.clone().unwrap()), device);
            }
            _ => {}
        }
    }
    let mut sequences = Sequences::new();
    let mut order = Vec::new();
    for e in log
        .iter()
        .filter(|e| e.direction == "out" && e.invoke_id == "9999")
    {
        let (group, xref) =
            sim_event(&e.body).unwrap_or_else(|| panic!("unexpected event frame {}", e.message));
        let device = xrefs
            .get(&(e.client, xref.clone().unwrap_or_default()))
            .unwrap_or_else(|| panic!("{} for an unknown monitor {xref:?}", e.message))
            .clone();
        order.push((e.seq, group.clone()));
        sequences
            .entry(group)
            .or_default()
            .push((e.message.clone(), device));
    }
    (sequences, order)
}

/// The CSTA event name an envelope stands for, its group, and its monitored device; `None`
/// for the relay's own events (link, route decisions, command results).
fn as_sim_event(env: &CtiEnvelope) -> Option<(String, String, String)> {
    fn pascal(v: impl serde::Serialize) -> String {
        let text = serde_json::to_value(v).unwrap();
        let text = text.as_str().unwrap();
        let mut chars = text.chars();
        let first = chars.next().unwrap().to_ascii_uppercase();
        format!("{first}{}", chars.as_str())
    }
    match &env.event {
        CtiEvent::Call(c) => Some((
            format!("{}Event", pascal(c.kind)),
            env.group_id(),
            c.monitored_device.clone().unwrap_or_default(),
        )),
        // The relay's own question at link-up (GetAgentState), not an event the sim sent.
        CtiEvent::Agent(a) if a.snapshot => None,
        CtiEvent::Agent(a) => Some((
            format!("Agent{}Event", pascal(a.state)),
            env.group_id(),
            a.device.clone(),
        )),
        CtiEvent::Other(o) => Some((o.message.clone(), env.group_id(), String::new())),
        _ => None,
    }
}

/// What the queue delivered, after dropping exact eventId duplicates (each duplicate must be
/// the same envelope as the first copy).
struct Actual {
    sequences: Sequences,
    events: usize,
    duplicates: usize,
    relay_events: Vec<CtiEnvelope>,
    seen: HashMap<String, CtiEnvelope>,
    last_seq: HashMap<String, u64>,
}

impl Actual {
    fn new() -> Actual {
        Actual {
            sequences: Sequences::new(),
            events: 0,
            duplicates: 0,
            relay_events: Vec::new(),
            seen: HashMap::new(),
            last_seq: HashMap::new(),
        }
    }

    fn add(&mut self, r: &Received) {
        let env = &r.env;
        if let Some(first) = self.seen.get(&env.event_id) {
            assert_eq!(first, env, "a duplicate eventId with different content");
            self.duplicates += 1;
            return;
        }
        self.seen.insert(env.event_id.clone(), env.clone());
        let group = env.group_id();
        let last = self.last_seq.insert(group.clone(), env.seq);
        assert!(
            last.is_none_or(|l| l < env.seq),
            "{group}: seq {} delivered after {last:?}",
            env.seq
        );
        match as_sim_event(env) {
            Some((name, group, device)) => {
                self.events += 1;
                self.sequences
                    .entry(group)
                    .or_default()
                    .push((name, device));
            }
            None => self.relay_events.push(env.clone()),
        }
    }

    fn links(&self) -> Vec<(LinkState, u32)> {
        self.relay_events
            .iter()
            .filter_map(|e| match &e.event {
                CtiEvent::Link(l) => Some((l.state, l.monitored_devices)),
                _ => None,
            })
            .collect()
    }
}

/// Reads the event queue in the background for the whole test (one consumer, so SQS FIFO order
/// per group is the order seen here), keeping the queue short: moto's FIFO send and receive
/// cost grows with the number of messages waiting.
struct Reader {
    actual: Arc<std::sync::Mutex<Actual>>,
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Reader {
    fn start(stack: &Stack) -> Reader {
        let actual = Arc::new(std::sync::Mutex::new(Actual::new()));
        let stop = tokio_util::sync::CancellationToken::new();
        let (sqs, url, a, st) = (
            stack.sqs.clone(),
            stack.events_url.clone(),
            actual.clone(),
            stop.clone(),
        );
        let task = tokio::spawn(async move {
            while !st.is_cancelled() {
                for r in receive_batch(&sqs, &url).await {
                    a.lock().unwrap().add(&r);
                }
            }
        });
        Reader { actual, stop, task }
    }

    /// Waits until `done` holds or `within` has passed (the caller's assertions then say what
    /// is missing); a failed check in the reader fails here.
    async fn wait(&mut self, within: Duration, mut done: impl FnMut(&Actual) -> bool) {
        let deadline = Instant::now() + within;
        loop {
            if self.task.is_finished() {
                if let Err(e) = (&mut self.task).await {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
            {
                let a = self.actual.lock().unwrap();
                if done(&a) {
                    return;
                }
                if Instant::now() > deadline {
                    eprintln!(
                        "timed out reading the queue: {} events, {} relay events, {} duplicates",
                        a.events,
                        a.relay_events.len(),
                        a.duplicates
                    );
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops reading and returns what was read.
    async fn finish(self) -> Actual {
        self.stop.cancel();
        if let Err(e) = self.task.await {
            std::panic::resume_unwind(e.into_panic());
        }
        std::mem::replace(&mut *self.actual.lock().unwrap(), Actual::new())
    }
}

/// Asserts per-group equality with a readable diff of the first mismatches.
fn assert_same(expected: &Sequences, actual: &Sequences) {
    let mut problems = Vec::new();
    for (group, want) in expected {
        match actual.get(group) {
            None => problems.push(format!("{group}: missing all {} events", want.len())),
            Some(got) if got != want => {
                problems.push(format!("{group}:\n  sim:   {want:?}\n  queue: {got:?}"));
            }
            Some(_) => {}
        }
    }
    for group in actual.keys().filter(|g| !expected.contains_key(*g)) {
        problems.push(format!("{group}: not sent by the sim: {:?}", actual[group]));
    }
    assert!(
        problems.is_empty(),
        "{} of {} groups differ; first: {:#?}",
        problems.len(),
        expected.len(),
        &problems[..problems.len().min(5)]
    );
}

fn total(s: &Sequences) -> usize {
    s.values().map(Vec::len).sum()
}

// ---------------------------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_1000_scripted_calls_run_should_deliver_exactly_the_sim_events_in_order_per_call() {
    // GIVEN moto, pbx-sim and an in-process relay monitoring every party
    let Some(stack) = Stack::start().await else {
        return;
    };
    let mut reader = Reader::start(&stack);
    let shape = RelayShape::calls();
    let relay = stack.relay(&shape, &stack.moto.endpoint()).await;
    stack.wait_monitored(&shape, None).await;
    // WHEN 1 000 inbound calls run: answered + transferred, agent hang-up, caller hang-up,
    // abandoned in the queue, abandoned while ringing (200 of each)
    for batch in 0..200 {
        call_batch(stack.sim(), batch);
    }
    assert_eq!(stack.sim().read(|p| p.counters().calls_created), 1200);
    // THEN the queue holds exactly what the simulator sent, in the simulator's order per call
    let (expected, _) = sim_sent(stack.sim());
    let want = total(&expected);
    let started = Instant::now();
    // The wait ends as soon as every event is in. Its limit is only a safety net: in a full,
    // parallel test run on 2 cores moto's FIFO queue delivers ~40 events/s (6 200 events ≈ 2.5
    // min); alone it takes well under a minute.
    reader
        .wait(Duration::from_secs(360), |a| a.events >= want)
        .await;
    let actual = reader.finish().await;
    eprintln!(
        "1000 calls: {want} events in {} groups, all read back {:?} after the last call",
        expected.len(),
        started.elapsed()
    );
    assert_eq!(
        expected.keys().filter(|g| g.starts_with("call:")).count(),
        1200,
        "1 000 calls + 200 consultations"
    );
    assert_same(&expected, &actual.sequences);
    assert_eq!(actual.duplicates, 0);
    assert_eq!(actual.links(), vec![(LinkState::Up, 5)]);
    // AND nothing else follows
    assert!(receive_batch(&stack.sqs, &stack.events_url)
        .await
        .is_empty());
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_sqs_is_unreachable_for_30_s_should_spool_then_deliver_every_event_once_in_order() {
    // GIVEN an in-process relay whose SQS goes through a proxy
    let Some(stack) = Stack::start().await else {
        return;
    };
    let mut reader = Reader::start(&stack);
    let proxy = TcpProxy::start(stack.moto_addr()).await;
    let shape = RelayShape::calls();
    let relay = stack.relay(&shape, &proxy.endpoint()).await;
    stack.wait_monitored(&shape, None).await;
    // AND a steady stream of calls (one batch of 5 every 500 ms)
    let stop = tokio_util::sync::CancellationToken::new();
    let batches = Arc::new(AtomicU32::new(0));
    let traffic = {
        let (sim, stop, batches) = (stack.sim().clone(), stop.clone(), batches.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            while !stop.is_cancelled() {
                tick.tick().await;
                call_batch(&sim, batches.fetch_add(1, Ordering::Relaxed));
            }
        })
    };
    let http = reqwest::Client::new();
    let health = relay.health_addr;
    let published = |http: reqwest::Client| async move {
        metric(&http, health, "linka_relay_events_published_total")
            .await
            .unwrap_or(0.0)
    };
    wait_until_async("first events published", Duration::from_secs(20), || {
        let http = http.clone();
        async move { published(http).await > 20.0 }
    })
    .await;
    // WHEN SQS is unreachable for 30 s
    proxy.cut();
    let outage = Instant::now();
    let mut deepest = 0;
    let mut unhealthy = false;
    while outage.elapsed() < Duration::from_secs(30) {
        if let Ok(r) = http.get(format!("http://{health}/health")).send().await {
            unhealthy |= r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE;
            let body: serde_json::Value = r.json().await.unwrap();
            deepest = deepest.max(body["spoolDepth"].as_u64().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    proxy.restore();
    // AND traffic goes on for a little while, then stops
    let resumed = batches.load(Ordering::Relaxed);
    wait_until(
        "more calls after the outage",
        Duration::from_secs(10),
        || batches.load(Ordering::Relaxed) >= resumed + 6,
    )
    .await;
    stop.cancel();
    traffic.await.unwrap();
    // THEN the health endpoint showed the spool growing and SQS failing during the outage
    assert!(deepest > 300, "spool depth during the outage: {deepest}");
    assert!(unhealthy, "health never reported 503 during the outage");
    // AND every event the simulator sent arrives once (after eventId dedup), in order per call
    let (expected, _) = sim_sent(stack.sim());
    let want = total(&expected);
    reader
        .wait(Duration::from_secs(90), |a| a.events >= want)
        .await;
    let actual = reader.finish().await;
    assert_same(&expected, &actual.sequences);
    assert_eq!(actual.events, want);
    assert_eq!(actual.links(), vec![(LinkState::Up, 5)]);
    eprintln!(
        "outage: {} batches, {want} events, spool peak {deepest}, {} duplicates dropped",
        batches.load(Ordering::Relaxed),
        actual.duplicates
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_relay_is_sigkilled_with_a_full_spool_should_lose_nothing_after_restart() {
    // GIVEN the relay binary, SQS through a proxy, every device monitored
    let Some(stack) = Stack::start().await else {
        return;
    };
    let mut reader = Reader::start(&stack);
    let proxy = TcpProxy::start(stack.moto_addr()).await;
    let mut shape = RelayShape::calls();
    shape.health_port = free_port();
    let health = SocketAddr::from(([127, 0, 0, 1], shape.health_port));
    let config = stack.dir.path().join("relay.toml");
    std::fs::write(&config, stack.relay_toml(&shape)).unwrap();
    let mut first = RelayProcess::spawn(&config, &proxy.endpoint());
    let client = stack.wait_monitored(&shape, None).await;
    let http = reqwest::Client::new();
    let sim_events = |sim: &Sim| sim_sent(sim).1.len() as f64;
    // AND 8 batches of calls, all published
    for batch in 0..8 {
        call_batch(stack.sim(), batch);
    }
    let burst1 = sim_events(stack.sim());
    // Besides the simulator's events: the link-up event and one agent-state snapshot per agent.
    let own = 1.0
        + shape
            .devices
            .iter()
            .filter(|(_, kind, _)| *kind == "agent")
            .count() as f64;
    wait_until_async("burst 1 published", Duration::from_secs(60), || {
        let http = http.clone();
        async move {
            metric(&http, health, "linka_relay_events_published_total").await == Some(burst1 + own)
        }
    })
    .await;
    // WHEN SQS becomes unreachable and 8 more batches are read and spooled
    proxy.cut();
    for batch in 8..16 {
        call_batch(stack.sim(), batch);
    }
    let burst2 = sim_events(stack.sim()) - burst1;
    wait_until_async("burst 2 spooled", Duration::from_secs(30), || {
        let http = http.clone();
        async move {
            metric(&http, health, "linka_relay_events_spooled_total").await
                == Some(burst1 + burst2 + own)
                && metric(&http, health, "linka_relay_spool_depth").await == Some(burst2)
        }
    })
    .await;
    // AND the relay is SIGKILLed with those events only in its spool
    first.sigkill();
    tokio::time::timeout(
        Duration::from_secs(10),
        stack.sim().wait_for(|p| p.monitors().is_empty()),
    )
    .await
    .expect("pbx-sim kept the dead relay's monitors");
    // AND restarted on the same spool; it resumes the spool and monitors again
    let _second = RelayProcess::spawn(&config, &proxy.endpoint());
    stack.wait_monitored(&shape, Some(client)).await;
    wait_until_async("spool resumed", Duration::from_secs(10), || {
        let http = http.clone();
        async move {
            metric(&http, health, "linka_relay_spool_depth")
                .await
                .is_some_and(|d| d >= burst2)
        }
    })
    .await;
    // AND SQS comes back and 4 more batches run
    proxy.restore();
    for batch in 16..20 {
        call_batch(stack.sim(), batch);
    }
    // THEN every event the simulator sent is in the queue, in order per call; duplicates are
    // resends (same eventId, same envelope) only
    let (expected, _) = sim_sent(stack.sim());
    let want = total(&expected);
    reader
        .wait(Duration::from_secs(90), |a| {
            a.events >= want && a.links().len() == 2
        })
        .await;
    let actual = reader.finish().await;
    if actual.events < want {
        let h = http.get(format!("http://{health}/health")).send().await;
        eprintln!(
            "relay health after the deadline: {:?}",
            h.ok().map(|r| r.status())
        );
    }
    assert_same(&expected, &actual.sequences);
    assert_eq!(actual.events, want);
    assert_eq!(actual.links(), vec![(LinkState::Up, 5), (LinkState::Up, 5)]);
    assert!(
        actual.duplicates as f64 <= burst2,
        "{} duplicates for {burst2} spooled events",
        actual.duplicates
    );
    eprintln!(
        "sigkill: {want} events ({burst2} in the spool at kill time), {} duplicates dropped",
        actual.duplicates
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_pbx_drops_the_link_should_reconnect_monitor_every_device_and_report_down_then_up() {
    // GIVEN a relay monitoring 5 devices of pbx-sim
    let Some(stack) = Stack::start().await else {
        return;
    };
    let mut reader = Reader::start(&stack);
    let shape = RelayShape::calls();
    let relay = stack.relay(&shape, &stack.moto.endpoint()).await;
    let old = stack.wait_monitored(&shape, None).await;
    // WHEN the simulator drops the CSTA link
    let dropped = stack.sim().with(|p| p.drop_links(None));
    assert_eq!(dropped, vec![old]);
    // THEN the relay reconnects and pbx-sim shows every device monitored by the new session
    let new = stack.wait_monitored(&shape, Some(old)).await;
    assert_ne!(new, old);
    assert_eq!(stack.sim().read(|p| p.sessions_view().len()), 1);
    // AND calls are reported again through the new session
    call_batch(stack.sim(), 0);
    // AND the queue has Link Up(5), Down, Up(5), then the calls exactly
    let (expected, _) = sim_sent(stack.sim());
    let want = total(&expected);
    reader
        .wait(Duration::from_secs(30), |a| {
            a.events >= want && a.links().len() >= 3
        })
        .await;
    let actual = reader.finish().await;
    assert_eq!(
        actual.links(),
        vec![(LinkState::Up, 5), (LinkState::Down, 0), (LinkState::Up, 5)]
    );
    assert_same(&expected, &actual.sequences);
    relay.stop().await;
}

/// A routing function answering per caller: `(delay, destination)`; the counter is the number
/// of answers given (also those the relay no longer waited for).
async fn routing_function(
    answers: HashMap<&'static str, (Duration, &'static str)>,
) -> (String, Arc<AtomicU32>) {
    use axum::routing::post;
    use axum::Json;
    let answered = Arc::new(AtomicU32::new(0));
    let count = answered.clone();
    let answers = Arc::new(answers);
    let app = axum::Router::new().route(
        "/route",
        post(move |Json(q): Json<cti_events::RouteQuery>| {
            let (answers, count) = (answers.clone(), count.clone());
            async move {
                let caller = q.request.calling_device.unwrap_or_default();
                let (delay, destination) = answers[caller.as_str()];
                // Detached: the answer is "given" even when the relay has hung up meanwhile.
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    count.fetch_add(1, Ordering::Relaxed);
                })
                .await
                .unwrap();
                Json(cti_events::RouteAnswer {
                    destination: destination.into(),
                })
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/route"), answered)
}

/// Places a call to route point 5001; returns its id, the device it was delivered to and the
/// time from the RouteRequest to that delivery.
async fn route_call(sim: &Sim, caller: &str) -> (String, String, Duration) {
    let call = sim.with(|p| p.inbound_call(caller, "5001", None)).unwrap();
    // The RouteRequest is written to the relay's link inside `inbound_call`.
    let asked = Instant::now();
    let mut delivered = String::new();
    tokio::time::timeout(
        Duration::from_secs(8),
        sim.wait_for(|p| {
            let at = p.call(&call).and_then(|c| {
                c.connections
                    .iter()
                    .find(|x| x.state == Lcs::Alerting)
                    .map(|x| x.device.clone())
            });
            at.map(|d| delivered = d).is_some()
        }),
    )
    .await
    .expect("the routed call was never delivered");
    (call, delivered, asked.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_routing_answer_is_late_should_deliver_to_the_relay_fallback_within_the_budget() {
    // GIVEN route point 5001 (sim default 6900, reply timeout 10 s) registered by the relay with
    // fallback 2002 and a 800 ms budget; the routing function answers caller A after
    // budget + 500 ms (2001), caller B after 100 ms (2003)
    let Some(stack) = Stack::start().await else {
        return;
    };
    let mut reader = Reader::start(&stack);
    const BUDGET: u64 = 800;
    let (url, answered) = routing_function(HashMap::from([
        ("0611000001", (Duration::from_millis(BUDGET + 500), "2001")),
        ("0611000002", (Duration::from_millis(100), "2003")),
    ]))
    .await;
    let shape = RelayShape {
        devices: vec![
            ("2001".into(), "agent", None),
            ("2002".into(), "agent", None),
            ("2003".into(), "agent", None),
            ("5001".into(), "route_point", Some("2002".into())),
        ],
        routing_url: Some(url),
        budget_ms: BUDGET,
        health_port: 0,
    };
    let relay = stack.relay(&shape, &stack.moto.endpoint()).await;
    stack.wait_monitored(&shape, None).await;
    tokio::time::timeout(
        Duration::from_secs(10),
        stack.sim().wait_for(|p| {
            p.state()["route_registrations"]
                .as_array()
                .is_some_and(|r| r.len() == 1)
        }),
    )
    .await
    .expect("route point never registered");
    // WHEN caller A calls the route point
    let (late, at, took) = route_call(stack.sim(), "0611000001").await;
    // THEN pbx-sim delivered it to the relay's fallback, within budget + 300 ms of the request
    assert_eq!(at, "2002", "delivered to {at}, not the relay's fallback");
    assert!(
        took >= Duration::from_millis(BUDGET - 50) && took <= Duration::from_millis(BUDGET + 300),
        "delivered {took:?} after the RouteRequest (budget {BUDGET} ms)"
    );
    // AND the late answer changes nothing: still ringing at 2002, never at 2001 or 6900
    wait_until("the late answer", Duration::from_secs(5), || {
        answered.load(Ordering::Relaxed) == 1
    })
    .await;
    let parties = stack.sim().read(|p| {
        p.call(&late)
            .unwrap()
            .connections
            .iter()
            .map(|c| (c.device.clone(), c.state.clone()))
            .collect::<Vec<_>>()
    });
    assert_eq!(
        parties,
        vec![
            ("0611000001".to_owned(), Lcs::Connected),
            ("2002".to_owned(), Lcs::Alerting)
        ]
    );
    // AND the RouteSelect came from the relay (not the simulator's own timeout)
    let selects: Vec<String> = stack.sim().read(|p| {
        p.log_since(0, Some("in"), usize::MAX)
            .into_iter()
            .filter_map(|e| match e.body {
                Message::RouteSelect(s) => s.route_selected.map(|d| d.id),
                _ => None,
            })
            .collect()
    });
    assert_eq!(selects, vec!["2002".to_owned()]);
    // WHEN caller B calls (the positive control)
    let (control, at, took) = route_call(stack.sim(), "0611000002").await;
    // THEN the cloud's answer routes it to 2003, in time
    assert_eq!(at, "2003");
    assert!(took < Duration::from_millis(BUDGET), "{took:?}");
    // AND SQS carries RouteDecided{fallback, timeout} then RouteDecided{cloud}
    let decided = |a: &Actual| {
        a.relay_events
            .iter()
            .filter_map(|e| match &e.event {
                CtiEvent::RouteDecided(d) => Some(d.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    reader
        .wait(Duration::from_secs(30), |a| decided(a).len() == 2)
        .await;
    let actual = reader.finish().await;
    let decisions = decided(&actual);
    let fallback = decisions.iter().find(|d| d.call_id == late).unwrap();
    assert_eq!(fallback.source, RouteSource::Fallback);
    assert_eq!(fallback.destination, "2002");
    assert_eq!(fallback.routing_device, "5001");
    assert!(
        fallback.reason.as_deref().unwrap_or("").contains("timeout"),
        "{fallback:?}"
    );
    assert!(
        (BUDGET..BUDGET + 300).contains(&fallback.elapsed_ms),
        "{fallback:?}"
    );
    let cloud = decisions.iter().find(|d| d.call_id == control).unwrap();
    assert_eq!(cloud.source, RouteSource::Cloud);
    assert_eq!(cloud.destination, "2003");
    assert_eq!(cloud.reason, None);
    relay.stop().await;
}

/// Polls an async `condition` every 50 ms until true or `timeout` (then panics with `what`).
async fn wait_until_async<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !condition().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------- benchmark

/// Percentile (nearest rank) of sorted values.
fn percentile(sorted: &[i64], p: f64) -> i64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// PBX → SQS latency on the local stack shape: pbx-sim (in-process) → the relay binary
/// (`LINKA_RELAY_BIN`, default the test profile's; use the release one for figures) → moto SQS
/// FIFO → one consumer. For each call rate (`LINKA_BENCH_RATES`, calls/s, default `2,10,30`)
/// for `LINKA_BENCH_SECONDS` (default 20): inbound call to pilot 5000 (40 agents), answered
/// after 300 ms, caller hangs up 1 s later. Latency per event = SQS `SentTimestamp` (accepted
/// by the queue) and consumer receive time, each minus the wall time the simulator wrote the
/// event to the relay's socket. Events are matched per group in order (k-th sent ↔ k-th read).
///
/// `cargo build --release -p linka-relay --bin linka-relay && LINKA_RELAY_BIN=target/release/linka-relay
/// cargo test -p linka-relay --test with_pbx_sim -- --ignored --nocapture bench_`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by hand, see the doc comment"]
async fn bench_pbx_to_sqs_latency() {
    let rates: Vec<f64> = std::env::var("LINKA_BENCH_RATES")
        .unwrap_or_else(|_| "2,10,30".into())
        .split(',')
        .map(|r| r.trim().parse().unwrap())
        .collect();
    let seconds: f64 = std::env::var("LINKA_BENCH_SECONDS")
        .ok()
        .map_or(20.0, |s| s.parse().unwrap());
    let binary = std::env::var("LINKA_RELAY_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_linka-relay").to_owned());
    eprintln!("relay binary: {binary}");
    println!("| calls/s | events | events/s | to SQS accept p50 / p99 / max (ms) | to consumer receive p50 / p99 (ms) |");
    println!("|---|---|---|---|---|");
    for rate in rates {
        let Some(mut stack) = Stack::start().await else {
            return;
        };
        // 40 agents in the pilot, so calls ring at once at every rate.
        let mut config = SimConfig::parse(SIM_CONFIG).unwrap();
        let mut shape = RelayShape::calls();
        shape.devices.retain(|(id, _, _)| id == "5000");
        for n in 2001..=2040 {
            let id = n.to_string();
            if !config.devices.iter().any(|d| d.id == id) {
                let mut agent = config.devices[0].clone();
                agent.id.clone_from(&id);
                agent.agent_id = Some(id.clone());
                config.devices.push(agent);
            }
            shape.devices.push((id, "agent", None));
        }
        let pilot = config.devices.iter_mut().find(|d| d.id == "5000").unwrap();
        pilot.members = (2001..=2040).map(|n| n.to_string()).collect();
        stack.sim = pbx_sim::start(
            config,
            Options {
                csta_addr: "127.0.0.1:0".parse().unwrap(),
                http_addr: "127.0.0.1:0".parse().unwrap(),
                edition: csta::Edition::Ed4,
                seed: 1,
                traffic: false,
            },
        )
        .await
        .unwrap();
        let keep = Arc::new(std::sync::Mutex::new(Vec::<Received>::new()));
        let config_path = stack.dir.path().join("relay.toml");
        std::fs::write(&config_path, stack.relay_toml(&shape)).unwrap();
        let mut relay = RelayProcess(
            Command::new(&binary)
                .arg("--config")
                .arg(&config_path)
                .env("AWS_ENDPOINT_URL", stack.moto.endpoint())
                .env("AWS_REGION", "eu-central-1")
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("RUST_LOG", "error")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        stack.wait_monitored(&shape, None).await;
        // One consumer keeps every message with its timestamps.
        let (sqs, url, kept) = (stack.sqs.clone(), stack.events_url.clone(), keep.clone());
        let stop = tokio_util::sync::CancellationToken::new();
        let read_stop = stop.clone();
        let read = tokio::spawn(async move {
            while !read_stop.is_cancelled() {
                let got = receive_batch(&sqs, &url).await;
                kept.lock().unwrap().extend(got);
            }
        });
        // Each simulator operation, with the log range it wrote and when (wall ms).
        let ops = Arc::new(std::sync::Mutex::new(Vec::<(u64, u64, i64)>::new()));
        let op = {
            let (sim, ops) = (stack.sim().clone(), ops.clone());
            move |f: &mut dyn FnMut(&mut pbx_sim::pbx::Pbx)| {
                let mut ops = ops.lock().unwrap();
                let before = sim.read(|p| p.log_seq());
                sim.with(|p| f(p));
                let at = chrono::Utc::now().timestamp_millis();
                let after = sim.read(|p| p.log_seq());
                ops.push((before, after, at));
            }
        };
        let calls = (rate * seconds).round() as u32;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..calls {
            let due = started + Duration::from_secs_f64(f64::from(i) / rate);
            tokio::time::sleep_until(due.into()).await;
            let (op, sim) = (op.clone(), stack.sim().clone());
            tasks.push(tokio::spawn(async move {
                let caller = format!("0678{i:06}");
                let mut call = String::new();
                op(&mut |p| call = p.inbound_call(&caller, "5000", None).unwrap());
                tokio::time::sleep(Duration::from_millis(300)).await;
                let agent = sim.read(|p| {
                    p.call(&call)
                        .and_then(|c| c.connections.iter().find(|x| x.state == Lcs::Alerting))
                        .map(|x| x.device.clone())
                });
                if let Some(agent) = agent {
                    op(&mut |p| p.answer(&call, &agent).unwrap());
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                op(&mut |p| p.clear_connection(&call, &caller).unwrap());
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let offered = started.elapsed();
        // Match: k-th event of a group sent ↔ k-th read.
        let log: Vec<LogEntry> = stack
            .sim()
            .read(|p| p.log_since(0, Some("out"), usize::MAX));
        let ops = ops.lock().unwrap().clone();
        let mut sent: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for e in log.iter().filter(|e| e.invoke_id == "9999") {
            let (group, _) = sim_event(&e.body).unwrap();
            let at = ops
                .iter()
                .find(|(before, after, _)| *before < e.seq && e.seq <= *after)
                .map(|(_, _, at)| *at)
                .expect("an event outside any operation");
            sent.entry(group).or_default().push(at);
        }
        let want: usize = sent.values().map(Vec::len).sum();
        wait_until("every event read", Duration::from_secs(120), || {
            keep.lock()
                .unwrap()
                .iter()
                .filter(|r| as_sim_event(&r.env).is_some())
                .count()
                >= want
        })
        .await;
        stop.cancel();
        read.await.unwrap();
        relay.sigkill();
        let mut next: HashMap<String, usize> = HashMap::new();
        let (mut accept, mut receive) = (Vec::new(), Vec::new());
        for r in keep.lock().unwrap().iter() {
            let Some((_, group, _)) = as_sim_event(&r.env) else {
                continue;
            };
            let k = next.entry(group.clone()).or_default();
            let at = sent[&group][*k];
            *k += 1;
            accept.push(r.sent_ms - at);
            receive.push(r.received_ms - at);
        }
        accept.sort_unstable();
        receive.sort_unstable();
        println!(
            "| {rate} | {want} | {:.0} | {} / {} / {} | {} / {} |",
            want as f64 / offered.as_secs_f64(),
            percentile(&accept, 50.0),
            percentile(&accept, 99.0),
            accept.last().unwrap(),
            percentile(&receive, 50.0),
            percentile(&receive, 99.0),
        );
    }
}
