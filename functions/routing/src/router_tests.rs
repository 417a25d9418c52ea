//! Behaviour of the routing use cases on the in-memory adapters.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use cti_events::{CommandAction, CtiCommand, RouteQuery, RouteRequested, SCHEMA_VERSION};
use linka_shared::{
    adapters::{memory::InMemoryUserDirectory, InMemoryRoutingStateStore},
    audit::AuditRecord,
    cti_state::{AgentPresence, AgentState},
    paging::{Page, PageCursor},
    ports::{
        AdminError, ConfigStore, ConfigWrite, RoutingSignals, RoutingStateStore, SignalError,
        StoreError,
    },
    routing::Decision,
    routing_live::RoutingTrigger,
    users::{PageLimit, User},
};
use serde_json::{json, Value};

use super::*;

/// Configuration documents by (collection, id); read only.
#[derive(Default)]
pub(crate) struct StaticConfig(BTreeMap<(String, String), Value>);

impl StaticConfig {
    pub(crate) fn with(mut self, collection: &str, id: &str, document: Value) -> Self {
        self.0
            .insert((collection.to_owned(), id.to_owned()), document);
        self
    }
}

#[async_trait]
impl ConfigStore for StaticConfig {
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>, StoreError> {
        Ok(self.0.get(&(collection.to_owned(), id.to_owned())).cloned())
    }

    async fn list(
        &self,
        collection: &str,
        _limit: PageLimit,
        _cursor: Option<PageCursor>,
    ) -> Result<Page<Value>, StoreError> {
        Ok(Page::last(
            self.0
                .iter()
                .filter(|((c, _), _)| c == collection)
                .map(|(_, v)| v.clone())
                .collect(),
        ))
    }

    async fn write(&self, _write: &ConfigWrite, _audit: &AuditRecord) -> Result<(), AdminError> {
        Ok(())
    }
}

/// Records commands and triggers.
#[derive(Default, Clone)]
pub(crate) struct RecordingSignals {
    commands: Arc<Mutex<Vec<CtiCommand>>>,
    triggers: Arc<Mutex<Vec<(RoutingTrigger, u32)>>>,
}

impl RecordingSignals {
    pub(crate) fn commands(&self) -> Vec<CommandAction> {
        self.commands
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.action.clone())
            .collect()
    }

    pub(crate) fn triggers(&self) -> Vec<(RoutingTrigger, u32)> {
        self.triggers.lock().unwrap().clone()
    }
}

#[async_trait]
impl RoutingSignals for RecordingSignals {
    async fn command(&self, command: &CtiCommand) -> Result<(), SignalError> {
        self.commands.lock().unwrap().push(command.clone());
        Ok(())
    }

    async fn trigger(
        &self,
        trigger: &RoutingTrigger,
        delay_seconds: u32,
    ) -> Result<(), SignalError> {
        self.triggers
            .lock()
            .unwrap()
            .push((trigger.clone(), delay_seconds));
        Ok(())
    }
}

pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    // Wednesday 2026-12-02 10:00 Prague: open for a 24/7 queue anyway.
    DateTime::parse_from_rfc3339("2026-12-02T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + TimeDelta::seconds(seconds)
}

fn always_open() -> Value {
    let day = json!([{"start": "00:00", "end": "23:59"}]);
    json!({
        "timezone": "Europe/Prague",
        "weekly": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                   "friday": day, "saturday": day, "sunday": day},
        "exceptions": [], "closedOnPublicHolidays": false
    })
}

fn user(username: &str, number: &str) -> User {
    serde_json::from_value(json!({
        "username": username, "displayName": username, "roles": ["agent"],
        "agentNumber": number, "active": true,
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
    }))
    .unwrap()
}

fn member(queue: &str, username: &str, skill: u8) -> Value {
    json!({"queueId": queue, "username": username, "skillLevel": skill, "priority": 5})
}

pub(crate) fn config() -> StaticConfig {
    StaticConfig::default()
        .with(
            "queue",
            "kkc",
            json!({"queueId": "kkc", "name": "KKC", "priority": 5, "schedule": always_open()}),
        )
        .with(
            &linka_shared::admin_config::members_collection("kkc"),
            "jana",
            member("kkc", "jana", 8),
        )
        .with(
            &linka_shared::admin_config::members_collection("kkc"),
            "petr",
            member("kkc", "petr", 5),
        )
        .with(
            QUEUE_ROUTING_COLLECTION,
            "kkc",
            json!({"queueId": "kkc", "wrapUpSeconds": 15, "whenNobodyLoggedIn": {"action": "wait"}}),
        )
        .with(
            ROUTING_SETTINGS_COLLECTION,
            PLAN_ID,
            json!({"rules": [{"ruleId": "kkc", "when": {"dialled": ["5000"]},
                              "entry": {"kind": "queue", "queueId": "kkc"}}]}),
        )
        .with(
            ROUTING_SETTINGS_COLLECTION,
            DEVICES_ID,
            json!({"queues": {"kkc": "5100"}, "announcements": {}, "defaultAnnouncement": "6900"}),
        )
}

pub(crate) struct Fixture {
    pub(crate) router: Router<InMemoryRoutingStateStore, InMemoryUserDirectory, RecordingSignals>,
    pub(crate) state: InMemoryRoutingStateStore,
    pub(crate) signals: RecordingSignals,
}

pub(crate) fn fixture(config: StaticConfig) -> Fixture {
    let state = InMemoryRoutingStateStore::new();
    let signals = RecordingSignals::default();
    let router = Router::new(
        state.clone(),
        InMemoryUserDirectory::new([user("jana", "2001"), user("petr", "2002")]),
        signals.clone(),
        Arc::new(config),
        20,
        Duration::from_secs(60),
    );
    Fixture {
        router,
        state,
        signals,
    }
}

pub(crate) fn presence(device: &str, state: AgentState, since: i64) -> AgentPresence {
    AgentPresence {
        agent_id: Some(device.to_owned()),
        state,
        since: Some(at(since)),
        ..AgentPresence::new(device)
    }
}

pub(crate) fn query(call: &str, attempt: u32) -> RouteQuery {
    RouteQuery {
        version: SCHEMA_VERSION,
        relay_id: "r1".into(),
        request: RouteRequested {
            cross_ref_id: format!("x-{call}"),
            call_id: call.into(),
            routing_device: "5000".into(),
            calling_device: Some("0601123456".into()),
            called_device: Some("5000".into()),
            attempt,
        },
        deadline: at(3600),
    }
}

#[tokio::test]
async fn when_an_agent_is_ready_should_offer_the_call_and_reserve_the_agent() {
    let f = fixture(config());
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.state.set_agent(presence("2002", AgentState::Ready, -200));
    let routed = f.router.route(&query("c1", 0), at(0)).await.unwrap();
    // Jana has the higher skill level, so she gets it although Petr waits longer.
    assert_eq!(routed.destination, "2001");
    let reservation = f.state.reservation("jana").await.unwrap().unwrap();
    assert_eq!(reservation.call_id, "r1/c1");
    let waiting = f.state.waiting_call("r1/c1").await.unwrap().unwrap();
    assert_eq!(waiting.offered_to.as_deref(), Some("jana"));
    assert_eq!(
        f.signals.triggers(),
        vec![(
            RoutingTrigger::ReviewCall {
                call_id: "r1/c1".into()
            },
            20
        )]
    );
    // The next call goes to Petr: Jana is reserved.
    let second = f.router.route(&query("c2", 0), at(1)).await.unwrap();
    assert_eq!(second.destination, "2002");
    // A third waits in the queue's waiting device.
    let third = f.router.route(&query("c3", 0), at(2)).await.unwrap();
    assert_eq!(third.destination, "5100");
    assert!(matches!(third.outcome.decision, Decision::Queue { .. }));
}

#[tokio::test]
async fn when_an_agent_moved_to_the_mobile_should_offer_the_call_to_the_mobile_extension() {
    // GIVEN Jana logged off at her desk phone 2001 and ready at her mobile extension 2901
    // (DESK-2), the log-off reported after the log-on
    let f = fixture(config());
    let mut mobile = presence("2901", AgentState::Ready, -100);
    mobile.agent_id = Some("2001".into());
    let mut desk = presence("2001", AgentState::LoggedOff, -50);
    desk.agent_id = Some("2001".into());
    f.state.set_agent(mobile);
    f.state.set_agent(desk);
    // WHEN a call comes THEN it goes to the mobile extension and Jana is reserved
    let routed = f.router.route(&query("c1", 0), at(0)).await.unwrap();
    assert_eq!(routed.destination, "2901");
    let reservation = f.state.reservation("jana").await.unwrap().unwrap();
    assert_eq!(reservation.device, "2901");
}

#[tokio::test]
async fn when_the_relay_repeats_a_request_should_answer_the_same_without_a_second_reservation() {
    let f = fixture(config());
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.state.set_agent(presence("2002", AgentState::Ready, -200));
    let first = f.router.route(&query("c1", 0), at(0)).await.unwrap();
    let again = f.router.route(&query("c1", 0), at(0)).await.unwrap();
    assert_eq!(first.destination, again.destination);
    assert!(f.state.reservation("petr").await.unwrap().is_none());
}

#[tokio::test]
async fn when_a_re_route_request_comes_should_choose_another_agent() {
    let f = fixture(config());
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.state.set_agent(presence("2002", AgentState::Ready, -200));
    assert_eq!(
        f.router
            .route(&query("c1", 0), at(0))
            .await
            .unwrap()
            .destination,
        "2001"
    );
    let rerouted = f.router.route(&query("c1", 1), at(1)).await.unwrap();
    assert_eq!(rerouted.destination, "2002");
}

#[tokio::test]
async fn when_an_agent_becomes_free_should_deflect_the_oldest_waiting_call_to_them() {
    let f = fixture(config());
    f.state
        .set_agent(presence("2001", AgentState::NotReady, -100));
    assert_eq!(
        f.router
            .route(&query("c1", 0), at(0))
            .await
            .unwrap()
            .destination,
        "5100"
    );
    assert_eq!(
        f.router
            .route(&query("c2", 0), at(5))
            .await
            .unwrap()
            .destination,
        "5100"
    );
    f.state.set_agent(presence("2001", AgentState::Ready, 10));
    let handled = f.router.agent_available("2001", at(11)).await.unwrap();
    assert_eq!(
        handled,
        Handled::Offered {
            call_id: "r1/c1".into(),
            username: "jana".into()
        }
    );
    assert_eq!(
        f.signals.commands(),
        vec![CommandAction::Deflect {
            device: "5100".into(),
            call_id: "c1".into(),
            to: "2001".into()
        }]
    );
    // A second trigger for the same agent changes nothing: she is reserved.
    assert_eq!(
        f.router.agent_available("2001", at(12)).await.unwrap(),
        Handled::Nothing
    );
    assert_eq!(f.signals.commands().len(), 1);
}

#[tokio::test]
async fn when_an_offer_rings_out_should_requeue_at_its_place_and_set_the_agent_not_ready() {
    let f = fixture(config());
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.router.route(&query("c1", 0), at(0)).await.unwrap();
    // Still ringing within the offer time: looked at again later.
    assert_eq!(
        f.router.review_call("r1/c1", at(10)).await.unwrap(),
        Handled::Rescheduled {
            call_id: "r1/c1".into()
        }
    );
    let handled = f.router.review_call("r1/c1", at(21)).await.unwrap();
    assert_eq!(
        handled,
        Handled::Requeued {
            call_id: "r1/c1".into(),
            username: "jana".into()
        }
    );
    let waiting = f.state.waiting_call("r1/c1").await.unwrap().unwrap();
    assert_eq!(waiting.offered_to, None);
    assert_eq!(waiting.entered_at, at(0), "keeps its original position");
    let commands = f.signals.commands();
    assert!(commands.contains(&CommandAction::Deflect {
        device: "2001".into(),
        call_id: "c1".into(),
        to: "5100".into()
    }));
    assert!(commands.iter().any(|c| matches!(c,
        CommandAction::AgentState { device, state: cti_events::RequestedAgentState::NotReady, reason_code: Some(reason), .. }
            if device == "2001" && reason == "missed-offer")));
}

#[tokio::test]
async fn when_an_offer_rings_out_before_the_pbx_reports_the_agent_not_ready_should_not_offer_them_the_call_again(
) {
    let f = fixture(config());
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.router.route(&query("c1", 0), at(0)).await.unwrap();
    assert!(matches!(
        f.router.review_call("r1/c1", at(21)).await.unwrap(),
        Handled::Requeued { .. }
    ));
    // The PBX has not reported her not ready yet: her presence still says ready. The call's
    // immediate review and a trigger for her do not give her the call she just missed.
    assert_eq!(
        f.router.review_call("r1/c1", at(21)).await.unwrap(),
        Handled::Rescheduled {
            call_id: "r1/c1".into()
        }
    );
    assert_eq!(
        f.router.agent_available("2001", at(22)).await.unwrap(),
        Handled::Nothing
    );
    // Her device's not-ready report ends the hold (she is not ready anyway); the caller
    // hanging up meanwhile does not make her available either.
    assert!(f.signals.triggers().contains(&(
        RoutingTrigger::AgentAvailable {
            device: "2001".into()
        },
        RING_OUT_HOLD_SECONDS + 1
    )));
    f.state
        .set_agent(presence("2001", AgentState::NotReady, 22));
    assert_eq!(
        f.router.agent_available("2001", at(23)).await.unwrap(),
        Handled::Nothing
    );
    // Ready again: the waiting call is hers.
    f.state.set_agent(presence("2001", AgentState::Ready, 30));
    assert_eq!(
        f.router.agent_available("2001", at(30)).await.unwrap(),
        Handled::Offered {
            call_id: "r1/c1".into(),
            username: "jana".into()
        }
    );
}

#[tokio::test]
async fn when_the_pbx_never_reports_the_missed_agent_not_ready_should_route_to_them_after_the_hold()
{
    let f = fixture(config());
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.router.route(&query("c1", 0), at(0)).await.unwrap();
    f.router.review_call("r1/c1", at(21)).await.unwrap();
    let hold_end = 21 + i64::from(RING_OUT_HOLD_SECONDS);
    assert_eq!(
        f.router
            .agent_available("2001", at(hold_end - 1))
            .await
            .unwrap(),
        Handled::Nothing
    );
    assert_eq!(
        f.router
            .agent_available("2001", at(hold_end + 1))
            .await
            .unwrap(),
        Handled::Offered {
            call_id: "r1/c1".into(),
            username: "jana".into()
        }
    );
}

#[tokio::test]
async fn when_the_caller_hangs_up_during_a_ring_out_hold_should_keep_the_agent_held() {
    let f = fixture(config());
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.router.route(&query("c1", 0), at(0)).await.unwrap();
    f.router.review_call("r1/c1", at(21)).await.unwrap();
    f.router.call_settled("r1/c1", None, at(22)).await.unwrap();
    let hold = f.state.reservation("jana").await.unwrap().unwrap();
    assert_eq!(hold.rang_out_at, Some(at(21)));
    assert_eq!(hold.expires_at, at(21 + i64::from(RING_OUT_HOLD_SECONDS)));
    assert!(
        !f.signals.triggers().iter().any(|(trigger, delay)| matches!(
        trigger, RoutingTrigger::AgentAvailable { device } if device == "2001")
            && *delay == 0)
    );
}

#[tokio::test]
async fn when_the_agent_answers_and_hangs_up_should_hold_them_for_the_wrap_up_time() {
    let f = fixture(config());
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.router.route(&query("c1", 0), at(0)).await.unwrap();
    f.router
        .call_settled("r1/c1", Some("2001"), at(3))
        .await
        .unwrap();
    assert!(f.state.waiting_call("r1/c1").await.unwrap().is_none());
    // Talking long after the offer time: not offered another call.
    f.state
        .set_agent(presence("2002", AgentState::NotReady, -100));
    assert_eq!(
        f.router
            .route(&query("c2", 0), at(120))
            .await
            .unwrap()
            .destination,
        "5100"
    );
    // The call ends: 15 s of wrap-up (the queue's), then she is offered the waiting call.
    f.router.call_settled("r1/c1", None, at(200)).await.unwrap();
    let reservation = f.state.reservation("jana").await.unwrap().unwrap();
    assert_eq!(reservation.expires_at, at(215));
    assert!(f.signals.triggers().contains(&(
        RoutingTrigger::AgentAvailable {
            device: "2001".into()
        },
        16
    )));
    assert_eq!(
        f.router.agent_available("2001", at(210)).await.unwrap(),
        Handled::Nothing
    );
    assert_eq!(
        f.router.agent_available("2001", at(216)).await.unwrap(),
        Handled::Offered {
            call_id: "r1/c2".into(),
            username: "jana".into()
        }
    );
}

#[tokio::test]
async fn when_the_agent_extends_or_ends_the_wrap_up_should_get_the_next_call_at_the_new_end() {
    let f = fixture(config().with(
        QUEUE_ROUTING_COLLECTION,
        "kkc",
        json!({"queueId": "kkc", "wrapUpSeconds": 15, "maxWrapUpSeconds": 60,
               "whenNobodyLoggedIn": {"action": "wait"}}),
    ));
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.router.route(&query("c1", 0), at(0)).await.unwrap();
    f.router
        .call_settled("r1/c1", Some("2001"), at(3))
        .await
        .unwrap();
    assert_eq!(
        f.router.wrap_up("jana", at(50)).await.unwrap(),
        None,
        "talking"
    );
    f.router.call_settled("r1/c1", None, at(100)).await.unwrap();
    let wrap = f.router.wrap_up("jana", at(101)).await.unwrap().unwrap();
    assert_eq!((wrap.from, wrap.until), (at(100), at(115)));
    assert_eq!(wrap.extendable_until, Some(at(160)));
    // IN-18: extended by 30 s, and once more only up to the queue's 60 s.
    let wrap = f.router.extend_wrap_up("jana", 30, at(105)).await.unwrap();
    assert_eq!(wrap.until, at(145));
    assert!(f.signals.triggers().contains(&(
        RoutingTrigger::AgentAvailable {
            device: "2001".into()
        },
        41
    )));
    let wrap = f.router.extend_wrap_up("jana", 30, at(106)).await.unwrap();
    assert_eq!(wrap.until, at(160));
    assert!(matches!(
        f.router.extend_wrap_up("jana", 30, at(107)).await,
        Err(RouterError::WrapUp(WrapUpError::AtLimit))
    ));
    // A call waits meanwhile; the old end offers nothing.
    f.state
        .set_agent(presence("2002", AgentState::NotReady, -100));
    f.router.route(&query("c2", 0), at(110)).await.unwrap();
    assert_eq!(
        f.router.agent_available("2001", at(116)).await.unwrap(),
        Handled::Nothing
    );
    // Done early: the waiting call comes at once.
    f.router.end_wrap_up("jana", at(120)).await.unwrap();
    assert!(f.signals.triggers().contains(&(
        RoutingTrigger::AgentAvailable {
            device: "2001".into()
        },
        0
    )));
    assert_eq!(f.router.wrap_up("jana", at(120)).await.unwrap(), None);
    assert_eq!(
        f.router.agent_available("2001", at(120)).await.unwrap(),
        Handled::Offered {
            call_id: "r1/c2".into(),
            username: "jana".into()
        }
    );
    assert!(matches!(
        f.router.end_wrap_up("jana", at(121)).await,
        Err(RouterError::WrapUp(WrapUpError::NotInWrapUp))
    ));
}

#[tokio::test]
async fn when_a_queue_has_no_waiting_device_should_refuse_so_the_relay_falls_back() {
    let f = fixture(config().with(ROUTING_SETTINGS_COLLECTION, DEVICES_ID, json!({})));
    let error = f.router.route(&query("c1", 0), at(0)).await.unwrap_err();
    assert!(matches!(error, RouterError::Unmapped(_)), "{error:?}");
}

#[tokio::test]
async fn when_sixteen_invocations_race_should_never_give_an_agent_two_calls() {
    // 50 agents, 400 calls routed 16 at a time on one shared state: every agent gets at most
    // one call (the reservation), every call exactly one answer.
    let mut config = config();
    let mut users = Vec::new();
    for n in 0..50 {
        let name = format!("a{n:02}");
        config = config.with(
            &linka_shared::admin_config::members_collection("kkc"),
            &name,
            member("kkc", &name, 1 + (n % 10) as u8),
        );
        users.push(user(&name, &format!("3{n:03}")));
    }
    let state = InMemoryRoutingStateStore::new();
    for n in 0..50 {
        state.set_agent(presence(
            &format!("3{n:03}"),
            AgentState::Ready,
            -(n as i64),
        ));
    }
    let router = Arc::new(Router::new(
        state.clone(),
        InMemoryUserDirectory::new(users),
        RecordingSignals::default(),
        Arc::new(config),
        20,
        Duration::from_secs(60),
    ));
    let mut handles = Vec::new();
    for worker in 0..16 {
        let router = Arc::clone(&router);
        handles.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for n in 0..25 {
                let call = format!("w{worker}-{n}");
                let routed = router.route(&query(&call, 0), at(0)).await.unwrap();
                answers.push((call, routed.destination));
            }
            answers
        }));
    }
    let mut agents_used = BTreeSet::new();
    let mut queued = 0;
    for handle in handles {
        for (_, destination) in handle.await.unwrap() {
            if destination == "5100" {
                queued += 1;
            } else {
                assert!(
                    agents_used.insert(destination.clone()),
                    "{destination} got two calls"
                );
            }
        }
    }
    assert_eq!(agents_used.len(), 50, "every agent is used");
    assert_eq!(queued, 400 - 50);
    assert_eq!(state.waiting_calls().await.unwrap().len(), 400);
}

#[tokio::test]
async fn when_sixteen_invocations_race_for_a_nearly_full_queue_should_keep_its_limit() {
    // Nobody logged on, room for 5 calls: 160 calls routed 16 at a time. Each decision counts a
    // snapshot, so without the check after the write all 16 would see room for the last place.
    let config = config().with(
        QUEUE_ROUTING_COLLECTION,
        "kkc",
        json!({"queueId": "kkc", "wrapUpSeconds": 15, "maxWaitingCalls": 5,
               "whenNobodyLoggedIn": {"action": "wait"}}),
    );
    let f = fixture(config);
    let router = Arc::new(f.router);
    let mut handles = Vec::new();
    for worker in 0..16 {
        let router = Arc::clone(&router);
        handles.push(tokio::spawn(async move {
            let mut destinations = Vec::new();
            for n in 0..10 {
                let routed = router
                    .route(&query(&format!("q{worker}-{n}"), 0), at(0))
                    .await
                    .unwrap();
                destinations.push(routed.destination);
            }
            destinations
        }));
    }
    let mut queued = 0;
    for handle in handles {
        queued += handle
            .await
            .unwrap()
            .iter()
            .filter(|destination| *destination == "5100")
            .count();
    }
    let waiting = f.state.waiting_calls().await.unwrap();
    assert!(waiting.len() <= 5, "{} calls wait", waiting.len());
    assert_eq!(queued, waiting.len(), "every call told to wait is waiting");
    assert!(!waiting.is_empty(), "the queue takes calls");
}

#[tokio::test]
async fn when_a_waiting_call_is_reviewed_should_wait_quietly_or_go_to_a_free_agent() {
    let f = fixture(config());
    f.state
        .set_agent(presence("2001", AgentState::NotReady, -100));
    assert_eq!(
        f.router
            .route(&query("c1", 0), at(0))
            .await
            .unwrap()
            .destination,
        "5100"
    );
    // Nobody free: it keeps waiting and is looked at again within 30 s.
    assert_eq!(
        f.router.review_call("r1/c1", at(30)).await.unwrap(),
        Handled::Rescheduled {
            call_id: "r1/c1".into()
        }
    );
    assert_eq!(
        f.signals.triggers().last(),
        Some(&(
            RoutingTrigger::ReviewCall {
                call_id: "r1/c1".into()
            },
            MAX_REVIEW_INTERVAL_SECONDS
        ))
    );
    // An agent became ready but the trigger was lost: the review offers the call.
    f.state.set_agent(presence("2001", AgentState::Ready, 40));
    assert_eq!(
        f.router.review_call("r1/c1", at(60)).await.unwrap(),
        Handled::Offered {
            call_id: "r1/c1".into(),
            username: "jana".into()
        }
    );
    assert_eq!(
        f.signals.commands(),
        vec![CommandAction::Deflect {
            device: "5100".into(),
            call_id: "c1".into(),
            to: "2001".into()
        }]
    );
}

#[tokio::test]
async fn when_the_waiting_queue_answers_the_call_should_keep_it_waiting() {
    let f = fixture(config());
    f.state
        .set_agent(presence("2001", AgentState::NotReady, -100));
    assert_eq!(
        f.router
            .route(&query("c1", 0), at(0))
            .await
            .unwrap()
            .destination,
        "5100"
    );
    // The PBX's waiting queue answers to play music: still waiting.
    assert_eq!(
        f.router
            .call_settled("r1/c1", Some("5100"), at(1))
            .await
            .unwrap(),
        Handled::Nothing
    );
    assert!(f.state.waiting_call("r1/c1").await.unwrap().is_some());
    // The caller hangs up: no longer waiting.
    f.router.call_settled("r1/c1", None, at(9)).await.unwrap();
    assert!(f.state.waiting_call("r1/c1").await.unwrap().is_none());
}

#[tokio::test]
async fn when_the_calling_device_is_empty_should_route_it_as_withheld() {
    let f = fixture(config());
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    let mut withheld = query("c1", 0);
    withheld.request.calling_device = Some(String::new());
    assert_eq!(
        f.router.route(&withheld, at(0)).await.unwrap().destination,
        "2001"
    );
    let waiting = f.state.waiting_call("r1/c1").await.unwrap().unwrap();
    assert_eq!(waiting.caller, None);
}

/// A configuration store with a change mark, counting how often the queue list is read.
#[derive(Clone, Default)]
struct MarkedConfig {
    documents: Arc<StaticConfig>,
    mark: Arc<Mutex<Option<String>>>,
    mark_unreadable: Arc<std::sync::atomic::AtomicBool>,
    queue_lists: Arc<std::sync::atomic::AtomicUsize>,
}

impl MarkedConfig {
    fn mark(&self, mark: Option<&str>) {
        *self.mark.lock().unwrap() = mark.map(str::to_owned);
    }

    fn reads(&self) -> usize {
        self.queue_lists.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl ConfigStore for MarkedConfig {
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>, StoreError> {
        self.documents.get(collection, id).await
    }

    async fn list(
        &self,
        collection: &str,
        limit: PageLimit,
        cursor: Option<PageCursor>,
    ) -> Result<Page<Value>, StoreError> {
        if collection == Queue::COLLECTION {
            self.queue_lists
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        self.documents.list(collection, limit, cursor).await
    }

    async fn write(&self, write: &ConfigWrite, audit: &AuditRecord) -> Result<(), AdminError> {
        self.documents.write(write, audit).await
    }

    async fn last_change(&self) -> Result<Option<String>, StoreError> {
        if self
            .mark_unreadable
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(StoreError::Backend {
                operation: "read the configuration change marker",
                source: "throttled".into(),
            });
        }
        Ok(self.mark.lock().unwrap().clone())
    }
}

fn marked_router(
    store: &MarkedConfig,
    cache: Duration,
) -> Router<InMemoryRoutingStateStore, InMemoryUserDirectory, RecordingSignals> {
    Router::new(
        InMemoryRoutingStateStore::new(),
        InMemoryUserDirectory::new([user("jana", "2001")]),
        RecordingSignals::default(),
        Arc::new(store.clone()),
        20,
        cache,
    )
}

#[tokio::test]
async fn when_the_change_mark_is_unchanged_should_the_cached_configuration_be_used() {
    let store = MarkedConfig::default();
    store.mark(Some("write-1"));
    let router = marked_router(&store, Duration::ZERO);

    router.routing_config().await.unwrap();
    router.routing_config().await.unwrap();
    router.routing_config().await.unwrap();

    assert_eq!(store.reads(), 1);
}

#[tokio::test]
async fn when_the_change_mark_changes_should_the_configuration_be_read_again() {
    let store = MarkedConfig::default();
    store.mark(Some(""));
    let router = marked_router(&store, Duration::ZERO);
    router.routing_config().await.unwrap();

    store.mark(Some("write-1"));
    router.routing_config().await.unwrap();
    router.routing_config().await.unwrap();

    assert_eq!(store.reads(), 2);
}

#[tokio::test]
async fn when_the_cache_time_has_not_passed_should_not_even_the_mark_be_read() {
    let store = MarkedConfig::default();
    store.mark(Some("write-1"));
    let router = marked_router(&store, Duration::from_secs(60));
    router.routing_config().await.unwrap();

    store.mark(Some("write-2"));
    router.routing_config().await.unwrap();

    assert_eq!(store.reads(), 1);
}

#[tokio::test]
async fn when_the_store_keeps_no_change_mark_should_the_configuration_be_read_after_the_cache_time()
{
    let store = MarkedConfig::default();
    let router = marked_router(&store, Duration::ZERO);

    router.routing_config().await.unwrap();
    router.routing_config().await.unwrap();

    assert_eq!(store.reads(), 2);
}

#[tokio::test]
async fn when_a_fresh_configuration_is_asked_for_should_it_be_read_whatever_the_mark() {
    let store = MarkedConfig::default();
    store.mark(Some("write-1"));
    let router = marked_router(&store, Duration::from_secs(60));
    router.routing_config().await.unwrap();

    router.fresh_routing_config().await.unwrap();
    router.routing_config().await.unwrap();

    assert_eq!(store.reads(), 2);
}

#[tokio::test]
async fn when_the_change_mark_cannot_be_read_should_the_cached_configuration_still_route() {
    let store = MarkedConfig::default();
    store.mark(Some("write-1"));
    let router = marked_router(&store, Duration::ZERO);
    router.routing_config().await.unwrap();

    store
        .mark_unreadable
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let config = router.routing_config().await;

    assert!(config.is_ok());
    assert_eq!(store.reads(), 1);
}

#[tokio::test]
async fn when_the_change_mark_cannot_be_read_and_nothing_is_cached_should_fail_the_read() {
    let store = MarkedConfig::default();
    store
        .mark_unreadable
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let router = marked_router(&store, Duration::ZERO);

    let config = router.routing_config().await;

    assert!(matches!(config, Err(RouterError::Config(_))));
    assert_eq!(store.reads(), 0);
}
