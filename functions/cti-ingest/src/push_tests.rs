use std::{
    collections::BTreeSet,
    sync::atomic::{AtomicU64, Ordering},
};

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::TimeZone;
use lambda_runtime::LambdaEvent;
use linka_shared::{
    adapters::{
        memory::{InMemoryConnectionStore, InMemoryUserDirectory, RecordingNotifier},
        InMemoryCtiStateStore,
    },
    auth::{Principal, Role},
    cti_state::Topology,
    ports::MockUserDirectory,
    realtime::Connection,
    users::User,
};

use super::*;
use crate::handler::function_handler;

const ANSWERED: &str = include_str!("../../../events/sqs/cti-ingest-answered-call.json");

fn at_second(second: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap() + chrono::Duration::seconds(second)
}

fn user(username: &str, number: Option<&str>, roles: &[Role]) -> User {
    User {
        username: username.into(),
        display_name: username.into(),
        roles: roles.iter().copied().collect(),
        groups: Vec::new(),
        email: None,
        agent_number: number.map(str::to_owned),
        mobile: None,
        active: true,
        created_at: at_second(0),
        updated_at: at_second(0),
    }
}

fn connection(id: &str, username: &str, roles: &[Role]) -> Connection {
    let principal = Principal {
        subject: format!("sub-{username}"),
        username: username.into(),
        display_name: None,
        roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        client_id: None,
    };
    Connection::open(id, &principal, at_second(0))
}

/// A clock the test moves by hand.
#[derive(Clone, Default)]
struct TestClock(Arc<AtomicU64>);

impl TestClock {
    fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    fn clock(&self) -> Clock {
        let base = Instant::now();
        let offset = self.0.clone();
        Arc::new(move || base + Duration::from_secs(offset.load(Ordering::SeqCst)))
    }
}

struct Fixture {
    deps: HandlerDeps<InMemoryCtiStateStore>,
    connections: Arc<InMemoryConnectionStore>,
    notifier: Arc<RecordingNotifier>,
    clock: TestClock,
}

/// agent01 at 2001 (one tab), agent02 at 2002 (one tab), a supervisor and a wallboard.
fn fixture_with(
    notifier: RecordingNotifier,
    users: Arc<dyn linka_shared::ports::UserDirectory>,
) -> Fixture {
    let connections = Arc::new(InMemoryConnectionStore::default().with_connections([
        connection("a1", "agent01", &[Role::Agent]),
        connection("a2", "agent02", &[Role::Agent]),
        connection("s1", "supervisor", &[Role::Supervisor]),
        connection("w1", "wallboard", &[Role::Wallboard]),
    ]));
    let notifier = Arc::new(notifier);
    let clock = TestClock::default();
    let devices = crate::directory::CachedDeviceDirectory::with_clock(users, clock.clock());
    let pushes = Pushes::with_clock(
        Arc::new(devices),
        connections.clone(),
        notifier.clone(),
        clock.clock(),
    );
    Fixture {
        deps: HandlerDeps {
            store: InMemoryCtiStateStore::new(),
            topology: Topology::default(),
            triggers: None,
            pushes: Some(Arc::new(pushes)),
        },
        connections,
        notifier,
        clock,
    }
}

fn directory() -> Arc<dyn linka_shared::ports::UserDirectory> {
    Arc::new(InMemoryUserDirectory::new([
        user("agent01", Some("2001"), &[Role::Agent]),
        user("agent02", Some("2002"), &[Role::Agent]),
        user("supervisor", None, &[Role::Supervisor]),
    ]))
}

fn fixture() -> Fixture {
    fixture_with(RecordingNotifier::new(), directory())
}

/// The answered-call batch cut to its records `from..to`.
fn records(from: usize, to: usize) -> LambdaEvent<SqsEvent> {
    let mut batch: SqsEvent = serde_json::from_str(ANSWERED).unwrap();
    batch.records = batch.records[from..to].to_vec();
    LambdaEvent::new(batch, lambda_runtime::Context::default())
}

/// The pushes of one type, as (connection, JSON).
fn pushed(notifier: &RecordingNotifier, kind: &str) -> Vec<(String, serde_json::Value)> {
    notifier
        .posts()
        .into_iter()
        .map(|(id, message)| (id, serde_json::to_value(message).unwrap()))
        .filter(|(_, json)| json["type"] == kind)
        .collect()
}

fn envelope(event: CtiEvent) -> CtiEnvelope {
    CtiEnvelope {
        version: cti_events::SCHEMA_VERSION,
        event_id: "prg-1:1:1".into(),
        relay_id: "prg-1".into(),
        seq: 1,
        observed_at: at_second(10),
        event,
    }
}

fn agent_item(device: &str, state: linka_shared::cti_state::AgentState) -> AgentPresence {
    AgentPresence {
        device: device.into(),
        state,
        since: Some(at_second(5)),
        ..AgentPresence::default()
    }
}

#[test]
fn when_an_agent_event_is_stored_should_tell_the_users_desk_about_its_presence() {
    use linka_shared::{cti_state::AgentState, ports::Versioned};
    // GIVEN a write of 2001 (agent01) going not ready, and of an unknown device
    let users = [user("agent01", Some("2001"), &[Role::Agent])];
    let directory = DeviceDirectory::from_users(&users);
    let write = CtiWrite {
        agents: vec![
            Versioned {
                value: agent_item("2001", AgentState::NotReady),
                version: 3,
            },
            Versioned {
                value: agent_item("7000", AgentState::Ready),
                version: 1,
            },
        ],
        ..CtiWrite::default()
    };
    let event = CtiEvent::Agent(cti_events::AgentEvent {
        device: "2001".into(),
        state: cti_events::AgentStateKind::NotReady,
        agent_id: None,
        acd_group: None,
        reason_code: None,
        snapshot: false,
    });
    // WHEN the changes are worked out
    let changes = desk_changes(&directory, &envelope(event), &write);
    // THEN only agent01's desk, for presence, on break since the state changed
    assert_eq!(
        changes,
        [DeskChange {
            username: "agent01".into(),
            reason: DeskReason::Presence,
            presence: PanelPresence::Break,
            since: at_second(5),
            calls: Vec::new(),
            // the version the store writes: read version + 1
            origin: PushOrigin {
                device: "2001".into(),
                version: 4,
            },
        }]
    );
}

#[tokio::test]
async fn when_a_call_rings_at_an_agent_should_push_desk_and_ringing_presence_within_the_record() {
    // GIVEN agent01 at 2001 with a desk open, colleagues and a wallboard connected
    let f = fixture();
    // WHEN 2001 logs on, becomes ready, and a customer's call is queued and delivered to it
    let response = function_handler(&f.deps, records(0, 5)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    // THEN agent01's desk (and only it) was told: twice for presence, once for the call
    let desk = pushed(&f.notifier, "desk");
    assert!(desk.iter().all(|(id, _)| id == "a1"), "{desk:?}");
    let reasons: Vec<&str> = desk
        .iter()
        .map(|(_, json)| json["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["presence", "presence", "calls"]);
    assert_eq!(desk[0].1["type"], "desk");
    assert_eq!(desk[0].1["username"], "agent01");
    assert_eq!(desk[0].1["calls"], serde_json::json!([]));
    // AND the call's push carries the ringing call as GET /api/desk shows it
    let call = &desk[2].1;
    let calls = call["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{call}");
    assert_eq!(calls[0]["state"], "ringing");
    assert_eq!(calls[0]["direction"], "inbound");
    assert_eq!(calls[0]["remote"], "+420601123456");
    // AND each push names 2001's state version, newer each time (the desk drops an older one)
    let versions: Vec<u64> = desk
        .iter()
        .map(|(_, json)| {
            assert_eq!(json["origin"]["device"], "2001");
            json["origin"]["version"].as_u64().unwrap()
        })
        .collect();
    assert!(
        versions.windows(2).all(|pair| pair[0] < pair[1]),
        "{versions:?}"
    );
    // AND the transfer panels (agents and the supervisor, not the wallboard) saw agent01 free,
    // once (ready after logged-on is still free), then ringing
    let presence = pushed(&f.notifier, "presence");
    let recipients: BTreeSet<&str> = presence.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(recipients, BTreeSet::from(["a1", "a2", "s1"]));
    let shown: Vec<&str> = presence
        .iter()
        .filter(|(id, _)| id == "s1")
        .map(|(_, json)| json["presence"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["free", "ringing"]);
    let ringing = &presence
        .iter()
        .find(|(_, json)| json["presence"] == "ringing")
        .unwrap()
        .1;
    assert_eq!(ringing["username"], "agent01");
    assert!(ringing["since"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn when_the_call_is_answered_and_ends_should_show_busy_then_wrap_up_then_free() {
    let f = fixture();
    function_handler(&f.deps, records(0, 10)).await.unwrap();
    let shown: Vec<String> = pushed(&f.notifier, "presence")
        .into_iter()
        .filter(|(id, _)| id == "s1")
        .map(|(_, json)| json["presence"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown, ["free", "ringing", "busy", "wrapUp", "free"]);
}

#[tokio::test]
async fn when_pushes_fail_should_still_acknowledge_every_record() {
    // GIVEN every post failing
    let f = fixture_with(
        RecordingNotifier::new().with_failing(&["a1", "a2", "s1", "w1"]),
        directory(),
    );
    // WHEN the whole batch is handled
    let response = function_handler(&f.deps, records(0, 10)).await.unwrap();
    // THEN nothing failed: the state is stored, pushes are best effort
    assert!(response.batch_item_failures.is_empty());
    assert!(f.deps.store.agents().contains_key("2001"));
}

#[tokio::test]
async fn when_users_cannot_be_read_should_skip_the_pushes_not_the_record() {
    let mut users = MockUserDirectory::new();
    users.expect_list().returning(|_, _| {
        Err(StoreError::Backend {
            operation: "list users",
            source: "throttled".into(),
        })
    });
    let f = fixture_with(RecordingNotifier::new(), Arc::new(users));
    let response = function_handler(&f.deps, records(0, 2)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert!(f.notifier.posts().is_empty());
}

#[tokio::test]
async fn when_a_connection_is_gone_should_forget_it() {
    let f = fixture_with(RecordingNotifier::new().with_gone(&["a2"]), directory());
    function_handler(&f.deps, records(0, 1)).await.unwrap();
    assert!(!f.connections.ids().contains("a2"));
    assert!(f.connections.ids().contains("a1"));
}

#[tokio::test]
async fn when_a_tab_opens_should_reach_it_once_the_cached_list_expires() {
    // GIVEN agent01's connections listed by a first push
    let f = fixture();
    function_handler(&f.deps, records(0, 1)).await.unwrap();
    // AND a second tab opened just after
    f.connections
        .put(&connection("a1-bis", "agent01", &[Role::Agent]))
        .await
        .unwrap();
    // WHEN the next event comes within the cache time THEN only the first tab hears of it
    function_handler(&f.deps, records(1, 2)).await.unwrap();
    let to_new_tab = |f: &Fixture| {
        pushed(&f.notifier, "desk")
            .iter()
            .filter(|(id, _)| id == "a1-bis")
            .count()
    };
    assert_eq!(to_new_tab(&f), 0);
    // AND once the cache expired, the next event reaches both
    f.clock.advance(CONNECTIONS_TTL.as_secs() + 1);
    function_handler(&f.deps, records(4, 5)).await.unwrap();
    assert_eq!(to_new_tab(&f), 1);
}
