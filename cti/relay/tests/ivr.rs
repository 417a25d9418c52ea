//! Cloud-driven IVR ports end to end, without SQS: the relay (memory command queue and event
//! sink) against the PBX simulator, a prompt server and an upload target (axum, in this test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::Router;
use cti_events::{CommandOutcome, CtiEnvelope, CtiEvent, IvrPortEvent, IvrPortOutcome};
use linka_relay::commands::{CommandSource, MemoryCommandSource};
use linka_relay::config::Config;
use linka_relay::sink::MemorySink;
use linka_relay::{start, Deps, RunningRelay};
use pbx_sim::{Options, SimConfig};

const PORT: &str = "6003";
const CALLER: &str = "0612345678";
const WAIT: Duration = Duration::from_secs(10);

const SIM_CONFIG: &str = r#"
prompt_ms: 150
record_ms: 300
devices:
  - { id: "2001", kind: agent, agent_id: "2001", initial_state: ready }
  - { id: "6001", kind: ivr, menu: { "1": "2001" } }
  - { id: "6003", kind: ivr }
  - { id: "0612345678", kind: external }
"#;

#[derive(Default)]
struct Web {
    media_gets: Vec<String>,
    uploads: Vec<(String, Vec<u8>)>,
}

type Shared = Arc<Mutex<Web>>;

async fn media(State(web): State<Shared>, Path(name): Path<String>) -> Vec<u8> {
    web.lock().unwrap().media_gets.push(name);
    pbx_sim::pbx::wav_tone(50)
}

async fn upload(State(web): State<Shared>, Path(key): Path<String>, body: Bytes) {
    web.lock().unwrap().uploads.push((key, body.to_vec()));
}

async fn web_server() -> (SocketAddr, Shared) {
    let web = Shared::default();
    let app = Router::new()
        .route("/media/{name}", get(media))
        .route("/upload/{key}", put(upload))
        .with_state(web.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, web)
}

struct Env {
    sim: pbx_sim::Running,
    relay: RunningRelay,
    sink: Arc<MemorySink>,
    commands: Arc<MemoryCommandSource>,
    web: Shared,
    web_addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn start() -> Env {
        Self::start_with(SimConfig::parse(SIM_CONFIG).unwrap()).await
    }

    async fn start_with(sim_config: SimConfig) -> Env {
        let sim = pbx_sim::start(
            sim_config,
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
        let (web_addr, web) = web_server().await;
        let dir = tempfile::tempdir().unwrap();
        let toml = format!(
            r#"relay_id = "test-ivr"

[pbx]
host = "127.0.0.1"
port = {csta}
keepalive_interval_ms = 5000
request_timeout_ms = 2000

[[pbx.devices]]
id = "6003"
kind = "ivr_port"

[spool]
path = "{spool}"

[sqs]
event_queue_url = "memory://events.fifo"
command_wait_secs = 1

[health]
listen = "127.0.0.1:0"

[ivr]
media_dir = "{media}"
recordings_url = "http://{http}/recordings/{{id}}"
http_timeout_ms = 5000
"#,
            csta = sim.csta_addr.port(),
            spool = dir.path().join("spool.redb").display(),
            media = dir.path().join("media").display(),
            http = sim.http_addr,
        );
        let config = Config::from_toml(&toml).unwrap();
        config.validate().unwrap();
        let sink = Arc::new(MemorySink::new());
        let commands = Arc::new(MemoryCommandSource::new(Duration::from_millis(500)));
        let relay = start(
            config,
            Deps {
                sink: sink.clone(),
                commands: Some(commands.clone() as Arc<dyn CommandSource>),
                oracle: None,
            },
        )
        .await
        .unwrap();
        let env = Env {
            sim,
            relay,
            sink,
            commands,
            web,
            web_addr,
            _dir: dir,
        };
        env.until("link up", |_| env.relay.status.link_up()).await;
        env
    }

    fn envelopes(&self) -> Vec<CtiEnvelope> {
        self.sink
            .messages()
            .iter()
            .map(|m| serde_json::from_str(&m.body).unwrap())
            .collect()
    }

    fn ivr_events(&self) -> Vec<IvrPortEvent> {
        self.envelopes()
            .into_iter()
            .filter_map(|e| match e.event {
                CtiEvent::Ivr(i) => Some(i),
                _ => None,
            })
            .collect()
    }

    fn result(&self, command_id: &str) -> Option<CommandOutcome> {
        self.envelopes().into_iter().find_map(|e| match e.event {
            CtiEvent::CommandResult(r) if r.command_id == command_id => Some(r.outcome),
            _ => None,
        })
    }

    async fn until(&self, what: &str, mut cond: impl FnMut(&Env) -> bool) {
        let start = std::time::Instant::now();
        while !cond(self) {
            assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn call_to_port(&self) -> String {
        self.sim
            .sim
            .with(|p| p.inbound_call(CALLER, PORT, None))
            .unwrap()
    }

    fn keys(&self, call: &str, digits: &str) {
        self.sim
            .sim
            .with(|p| p.generate_digits(call, CALLER, digits))
            .unwrap();
    }

    fn command(&self, id: &str, action: serde_json::Value) {
        let now = chrono::Utc::now();
        let body = serde_json::json!({
            "version": 1, "commandId": id, "requestedBy": "ivr-flow",
            "issuedAt": now, "expiresAt": now + chrono::Duration::seconds(30),
            "action": action,
        });
        self.commands.push(body.to_string());
    }

    fn media(&self, names: &[&str]) -> serde_json::Value {
        names
            .iter()
            .map(|n| {
                serde_json::json!({
                    "url": format!("http://{}/media/{n}.wav?X-Amz-Signature=s", self.web_addr),
                    "cacheKey": format!("sha-{n}"),
                })
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_play_prompt_collects_digits_on_a_cloud_driven_port_should_report_digits_collected() {
    // GIVEN a call answered by the cloud-driven port 6003
    let env = Env::start().await;
    let call = env.call_to_port();
    // WHEN the cloud plays a two-file prompt and collects up to 4 digits ended by #
    env.command(
        "p1",
        serde_json::json!({
            "type": "playPrompt", "device": PORT, "callId": call, "promptId": "menu",
            "media": env.media(&["welcome", "menu"]),
            "collect": {"minDigits": 1, "maxDigits": 4, "timeoutSeconds": 3, "terminator": "#"}
        }),
    );
    env.until("p1 done", |e| e.result("p1").is_some()).await;
    assert_eq!(
        env.result("p1"),
        Some(CommandOutcome::Done { call_id: None })
    );
    // THEN both files are downloaded and played in order
    env.until("both files played", |e| {
        e.sim.sim.read(|p| {
            p.log_since(0, Some("in"), 10_000)
                .iter()
                .filter(|l| l.message == "PlayMessage")
                .count()
                == 2
        })
    })
    .await;
    let played: Vec<String> = env.sim.sim.read(|p| {
        p.log_since(0, Some("in"), 10_000)
            .into_iter()
            .filter_map(|l| match l.body {
                csta::Message::PlayMessage(m) => m.message_to_be_played,
                _ => None,
            })
            .collect()
    });
    assert_eq!(played, ["sha-welcome", "sha-menu"]);
    assert_eq!(
        env.web.lock().unwrap().media_gets,
        ["welcome.wav", "menu.wav"]
    );
    // WHEN the caller keys 1, 2, # after the prompt
    tokio::time::sleep(Duration::from_millis(400)).await;
    env.keys(&call, "1");
    env.keys(&call, "2#");
    // THEN DigitsCollected "12#" (grouped by call)
    env.until("digits collected", |e| !e.ivr_events().is_empty())
        .await;
    let events = env.ivr_events();
    assert_eq!(
        events,
        [IvrPortEvent {
            call_id: call.clone(),
            device: PORT.into(),
            prompt_id: "menu".into(),
            outcome: IvrPortOutcome::DigitsCollected {
                digits: "12#".into()
            },
        }]
    );
    // AND the DigitsGenerated call events still carry the digits
    let digits: Vec<String> = env
        .envelopes()
        .into_iter()
        .filter_map(|e| match e.event {
            CtiEvent::Call(c) if c.kind == cti_events::CallEventKind::DigitsGenerated => c.digits,
            _ => None,
        })
        .collect();
    assert_eq!(digits, ["1", "2#"]);

    // WHEN the cloud plays the same prompt without collection
    env.command(
        "p2",
        serde_json::json!({
            "type": "playPrompt", "device": PORT, "callId": call, "promptId": "bye",
            "media": env.media(&["welcome"]),
        }),
    );
    // THEN it is played from the cache and PromptFinished is reported
    env.until("prompt finished", |e| e.ivr_events().len() == 2)
        .await;
    assert_eq!(env.ivr_events()[1].outcome, IvrPortOutcome::PromptFinished);
    assert_eq!(env.web.lock().unwrap().media_gets.len(), 2);

    // WHEN a collection starts, then a new prompt replaces it before any digit
    env.command(
        "p3",
        serde_json::json!({
            "type": "playPrompt", "device": PORT, "callId": call, "promptId": "ask",
            "media": env.media(&["menu"]),
            "collect": {"minDigits": 1, "maxDigits": 1, "timeoutSeconds": 30}
        }),
    );
    env.until("p3 done", |e| e.result("p3").is_some()).await;
    env.command(
        "p4",
        serde_json::json!({
            "type": "playPrompt", "device": PORT, "callId": call, "promptId": "ask-again",
            "media": env.media(&["menu"]),
            "collect": {"minDigits": 1, "maxDigits": 1, "timeoutSeconds": 1}
        }),
    );
    // THEN only the new one reports (a timeout: nothing keyed)
    env.until("collect timeout", |e| e.ivr_events().len() == 3)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = env.ivr_events();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[2].prompt_id, "ask-again");
    assert_eq!(events[2].outcome, IvrPortOutcome::CollectTimeout);
    env.relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_record_message_ends_should_upload_the_wav_and_report_recording_stored() {
    let env = Env::start().await;
    let call = env.call_to_port();
    let upload_url = format!(
        "http://{}/upload/vm-c1.wav?X-Amz-Signature=secret",
        env.web_addr
    );
    env.command(
        "r1",
        serde_json::json!({
            "type": "recordMessage", "device": PORT, "callId": call, "promptId": "vm",
            "key": "voicemail/vm-c1.wav", "uploadUrl": upload_url, "maxSeconds": 60
        }),
    );
    env.until("recording stored", |e| !e.ivr_events().is_empty())
        .await;
    assert_eq!(
        env.result("r1"),
        Some(CommandOutcome::Done { call_id: None })
    );
    let events = env.ivr_events();
    assert_eq!(
        events[0].outcome,
        IvrPortOutcome::RecordingStored {
            key: "voicemail/vm-c1.wav".into(),
            duration_ms: 300
        }
    );
    assert_eq!(events[0].prompt_id, "vm");
    let uploads = env.web.lock().unwrap().uploads.clone();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].0, "vm-c1.wav");
    assert_eq!(&uploads[0].1[0..4], b"RIFF");
    assert_eq!(uploads[0].1.len(), 44 + 300 * 16);
    env.relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_caller_hangs_up_during_a_recording_should_still_store_it() {
    // GIVEN a PBX whose recordings last 20 s unless stopped
    let mut sim_config = SimConfig::parse(SIM_CONFIG).unwrap();
    sim_config.record_ms = 20_000;
    let env = Env::start_with(sim_config).await;
    let call = env.call_to_port();
    env.command(
        "r1",
        serde_json::json!({
            "type": "recordMessage", "device": PORT, "callId": call, "promptId": "vm",
            "key": "voicemail/vm-c2.wav",
            "uploadUrl": format!("http://{}/upload/vm-c2.wav", env.web_addr),
            "maxSeconds": 120
        }),
    );
    env.until("r1 done", |e| e.result("r1").is_some()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // WHEN the caller hangs up
    env.sim
        .sim
        .with(|p| p.clear_connection(&call, CALLER))
        .unwrap();
    // THEN what was recorded is uploaded and reported
    env.until("recording stored", |e| !e.ivr_events().is_empty())
        .await;
    let IvrPortOutcome::RecordingStored { key, duration_ms } = env.ivr_events()[0].outcome.clone()
    else {
        panic!("{:?}", env.ivr_events())
    };
    assert_eq!(key, "voicemail/vm-c2.wav");
    assert!((200..20_000).contains(&duration_ms), "{duration_ms}");
    let uploads = env.web.lock().unwrap().uploads.clone();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].1.len() as u64, 44 + duration_ms * 16);
    // AND a StopPrompt afterwards is still answered (the PBX knows no such call any more)
    env.command(
        "s1",
        serde_json::json!({"type": "stopPrompt", "device": PORT, "callId": call}),
    );
    env.until("s1 done", |e| e.result("s1").is_some()).await;
    assert!(matches!(
        env.result("s1"),
        Some(CommandOutcome::Refused { .. })
    ));
    env.relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_stop_prompt_is_sent_during_a_prompt_should_stop_it_without_an_ivr_event() {
    let env = Env::start().await;
    let call = env.call_to_port();
    env.command(
        "p1",
        serde_json::json!({
            "type": "playPrompt", "device": PORT, "callId": call, "promptId": "long",
            "media": env.media(&["a", "b", "c"]),
        }),
    );
    env.until("p1 done", |e| e.result("p1").is_some()).await;
    env.command(
        "s1",
        serde_json::json!({"type": "stopPrompt", "device": PORT, "callId": call}),
    );
    env.until("s1 done", |e| e.result("s1").is_some()).await;
    assert_eq!(
        env.result("s1"),
        Some(CommandOutcome::Done { call_id: None })
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(env.ivr_events().is_empty(), "{:?}", env.ivr_events());
    let plays = env.sim.sim.read(|p| {
        p.log_since(0, Some("in"), 10_000)
            .iter()
            .filter(|l| l.message == "PlayMessage")
            .count()
    });
    assert_eq!(plays, 1, "the rest of the prompt is not played");
    env.relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_digit_is_keyed_during_the_prompt_should_barge_in() {
    let env = Env::start().await;
    let call = env.call_to_port();
    env.command(
        "p1",
        serde_json::json!({
            "type": "playPrompt", "device": PORT, "callId": call, "promptId": "menu",
            "media": env.media(&["a", "b", "c"]),
            "collect": {"minDigits": 1, "maxDigits": 1, "timeoutSeconds": 5}
        }),
    );
    env.until("p1 done", |e| e.result("p1").is_some()).await;
    // WHEN the caller keys 3 while the first file plays
    env.keys(&call, "3");
    // THEN DigitsCollected "3" at once, the prompt is stopped and not continued
    env.until("digits collected", |e| !e.ivr_events().is_empty())
        .await;
    assert_eq!(
        env.ivr_events()[0].outcome,
        IvrPortOutcome::DigitsCollected { digits: "3".into() }
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent: Vec<String> = env.sim.sim.read(|p| {
        p.log_since(0, Some("in"), 10_000)
            .into_iter()
            .filter(|l| l.message == "PlayMessage" || l.message == "Stop")
            .map(|l| l.message)
            .collect()
    });
    assert_eq!(sent, ["PlayMessage", "Stop"]);
    assert_eq!(env.ivr_events().len(), 1);
    env.relay.stop().await;
}
