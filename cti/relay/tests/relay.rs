//! The relay against a fake PBX (in this file's `common` module) and an in-memory SQS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use csta::model::RouteEnd;
use csta::Message;
use cti_events::{CallEventKind, CommandOutcome, CtiEvent, LinkState, RouteSource};
use linka_relay::commands::{CommandSource, MemoryCommandSource};
use linka_relay::routing::{HttpRouteOracle, NoAuth, RouteOracle};
use linka_relay::sink::MemorySink;
use linka_relay::{start, Deps, RunningRelay};

const WAIT: Duration = Duration::from_secs(10);

struct Env {
    pbx: FakePbx,
    sink: Arc<MemorySink>,
    commands: Arc<MemoryCommandSource>,
    dir: tempfile::TempDir,
}

impl Env {
    async fn new() -> Env {
        Env {
            pbx: FakePbx::start().await,
            sink: Arc::new(MemorySink::new()),
            commands: Arc::new(MemoryCommandSource::new(Duration::from_millis(200))),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    async fn relay(&self, routing_url: Option<String>) -> RunningRelay {
        let mut config = config(self.pbx.addr, self.dir.path());
        config.routing.url = routing_url.clone();
        let oracle = routing_url.map(|url| {
            Arc::new(HttpRouteOracle::new(
                reqwest::Client::new(),
                url,
                Arc::new(NoAuth),
            )) as Arc<dyn RouteOracle>
        });
        start(
            config,
            Deps {
                sink: self.sink.clone(),
                commands: Some(self.commands.clone() as Arc<dyn CommandSource>),
                oracle,
            },
        )
        .await
        .unwrap()
    }

    async fn wait_link_up(&self, relay: &RunningRelay, session: u32) {
        wait_until("link up", WAIT, || {
            relay.status.link_up() && self.pbx.sessions() >= session
        })
        .await;
    }

    fn link_events(&self) -> Vec<(LinkState, u32)> {
        events(&self.sink)
            .into_iter()
            .filter_map(|e| match e {
                CtiEvent::Link(l) => Some((l.state, l.monitored_devices)),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test]
async fn when_an_event_follows_the_monitor_start_response_at_once_should_carry_its_monitored_device(
) {
    // GIVEN a PBX that reports a call on 5100 in the same write as 5100's MonitorStartResponse
    let env = Env::new().await;
    env.pbx
        .state
        .lock()
        .unwrap()
        .events_after_monitor
        .insert("5100".into(), vec![delivered("EARLY", "5100", 1).into()]);
    // WHEN the relay starts and monitors its devices
    let relay = env.relay(None).await;
    env.wait_link_up(&relay, 1).await;
    wait_until("the early event", WAIT, || {
        events(&env.sink)
            .iter()
            .any(|e| matches!(e, CtiEvent::Call(c) if c.call_id == "EARLY"))
    })
    .await;
    // THEN the event is attributed to the monitored device 5100
    let early = events(&env.sink)
        .into_iter()
        .find_map(|e| match e {
            CtiEvent::Call(c) if c.call_id == "EARLY" => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!(early.monitored_device.as_deref(), Some("5100"));
    relay.stop().await;
}

#[tokio::test]
async fn when_relay_starts_should_open_session_register_route_points_and_monitor_every_device() {
    // GIVEN a PBX and a relay configured with 4 devices (one route point)
    let env = Env::new().await;
    let relay = env.relay(None).await;
    // WHEN the link comes up
    env.wait_link_up(&relay, 1).await;
    wait_until("link up event", WAIT, || !env.link_events().is_empty()).await;
    // THEN the session was started, the route point registered, every device monitored
    let received = env.pbx.received();
    assert!(matches!(received[0].2, Message::StartApplicationSession(_)));
    assert!(received
        .iter()
        .any(|(_, _, m)| matches!(m, Message::RouteRegister(r) if r.routeing_device.as_ref().map(|d| d.id.as_str()) == Some("5000"))));
    let mut monitored = env.pbx.monitored_in(1);
    monitored.sort();
    assert_eq!(monitored, ["2001", "2002", "5000", "5100"]);
    assert_eq!(env.link_events(), [(LinkState::Up, 4)]);
    // AND health says up, 200
    let health = reqwest::get(format!("http://{}/health", relay.health_addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["link"], "up");
    assert_eq!(body["sessionId"], "S1");
    assert_eq!(body["monitoredDevices"], 4);
    let metrics = reqwest::get(format!("http://{}/metrics", relay.health_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("linka_relay_link_up 1"), "{metrics}");
    // AND keep-alives flow
    wait_until("a keep-alive", WAIT, || {
        env.pbx
            .received()
            .iter()
            .any(|(_, _, m)| matches!(m, Message::ResetApplicationSessionTimer(r) if r.session_id.as_deref() == Some("S1")))
    })
    .await;
    relay.stop().await;
    assert!(env
        .pbx
        .received()
        .iter()
        .any(|(_, _, m)| matches!(m, Message::StopApplicationSession(_))));
}

#[tokio::test]
async fn when_pbx_sends_events_should_spool_and_publish_them_with_event_id_and_group() {
    // GIVEN a relay with the link up
    let env = Env::new().await;
    let relay = env.relay(None).await;
    env.wait_link_up(&relay, 1).await;
    // WHEN the PBX reports a call ringing then answered at 2001
    env.pbx.send_event(delivered("C1", "2001", 1));
    env.pbx.send_event(established("C1", "2001", 1));
    wait_until("2 call events", WAIT, || env.sink.len() >= 3).await;
    // THEN both are published, in order, with eventId = dedup id and group = call
    let envelopes = envelopes(&env.sink);
    let calls: Vec<_> = envelopes
        .iter()
        .filter_map(|e| match &e.event {
            CtiEvent::Call(c) => Some((e, c)),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2);
    let (env1, delivered) = calls[0];
    let (env2, established) = calls[1];
    assert_eq!(delivered.kind, CallEventKind::Delivered);
    assert_eq!(established.kind, CallEventKind::Established);
    assert_eq!(delivered.call_id, "C1");
    assert_eq!(delivered.monitored_device.as_deref(), Some("2001"));
    assert_eq!(delivered.calling_device.as_deref(), Some("+420601123456"));
    assert_eq!(env1.group_id(), "call:C1");
    assert!(env1.seq < env2.seq);
    assert_eq!(
        env1.event_id,
        format!("test-1:{}:{}", relay.spool.epoch(), env1.seq)
    );
    wait_until("spool drained", WAIT, || relay.spool.depth() == 0).await;
    relay.stop().await;
}

#[tokio::test]
async fn when_sink_is_unreachable_then_back_should_lose_nothing_and_keep_order_per_group() {
    // GIVEN a relay whose SQS is unreachable
    let env = Env::new().await;
    let relay = env.relay(None).await;
    env.wait_link_up(&relay, 1).await;
    wait_until("link up published", WAIT, || env.sink.len() == 1).await;
    env.sink.set_unreachable(true);
    // WHEN 5 calls × 3 events happen meanwhile
    for i in 0..5 {
        let call = format!("C{i}");
        env.pbx.send_event(delivered(&call, "2001", 1));
    }
    for i in 0..5 {
        let call = format!("C{i}");
        env.pbx.send_event(established(&call, "2001", 1));
        env.pbx.send_event(cleared(&call, "2001", 1));
    }
    wait_until("15 events spooled", WAIT, || relay.spool.depth() == 15).await;
    // THEN health is 503 while they wait
    wait_until("publish failure seen", WAIT, || env.sink.requests() > 1).await;
    let health = reqwest::get(format!("http://{}/health", relay.health_addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["spoolDepth"], 15);
    assert!(body["oldestSpooledAgeMs"].as_i64().is_some());
    // WHEN SQS is back
    env.sink.set_unreachable(false);
    wait_until("all published", Duration::from_secs(40), || {
        env.sink.len() == 16
    })
    .await;
    // THEN nothing is lost and each call's events are in order
    let envs = envelopes(&env.sink);
    for i in 0..5 {
        let kinds: Vec<CallEventKind> = envs
            .iter()
            .filter_map(|e| match &e.event {
                CtiEvent::Call(c) if c.call_id == format!("C{i}") => Some(c.kind),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            [
                CallEventKind::Delivered,
                CallEventKind::Established,
                CallEventKind::ConnectionCleared
            ]
        );
    }
    wait_until("spool drained", WAIT, || relay.spool.depth() == 0).await;
    relay.stop().await;
}

#[tokio::test]
async fn when_relay_restarts_with_a_non_empty_spool_should_resume_publishing() {
    // GIVEN a relay that spooled events while SQS was unreachable, then stopped
    let env = Env::new().await;
    env.sink.set_unreachable(true);
    let relay = env.relay(None).await;
    env.wait_link_up(&relay, 1).await;
    for i in 0..10 {
        env.pbx.send_event(delivered(&format!("R{i}"), "2002", 1));
    }
    wait_until("events spooled", WAIT, || relay.spool.depth() >= 11).await;
    relay.stop().await;
    assert!(env.sink.is_empty());
    // WHEN a new relay starts on the same spool with SQS back
    env.sink.set_unreachable(false);
    let relay = env.relay(None).await;
    // THEN every event of the first run arrives, with its original event id
    wait_until("resumed", WAIT, || {
        events(&env.sink)
            .iter()
            .filter(|e| matches!(e, CtiEvent::Call(c) if c.call_id.starts_with('R')))
            .count()
            == 10
    })
    .await;
    let envs = envelopes(&env.sink);
    let first_run: Vec<u64> = envs
        .iter()
        .filter(|e| matches!(&e.event, CtiEvent::Call(_)))
        .map(|e| e.seq)
        .collect();
    assert_eq!(first_run.len(), 10);
    assert!(first_run.windows(2).all(|w| w[0] < w[1]));
    // AND the first run's link events (up, then down on stop) are there too
    let links = env.link_events();
    assert!(
        links.starts_with(&[(LinkState::Up, 4), (LinkState::Down, 0)]),
        "{links:?}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn when_link_drops_should_reconnect_remonitor_every_device_and_publish_link_events() {
    // GIVEN a relay with the link up
    let env = Env::new().await;
    let relay = env.relay(None).await;
    env.wait_link_up(&relay, 1).await;
    // WHEN the PBX drops the connection
    env.pbx.drop_connection();
    // THEN the relay reconnects and monitors every device again
    env.wait_link_up(&relay, 2).await;
    wait_until("monitors of session 2", WAIT, || {
        env.pbx.monitored_in(2).len() == 4
    })
    .await;
    let mut again = env.pbx.monitored_in(2);
    again.sort();
    assert_eq!(again, ["2001", "2002", "5000", "5100"]);
    wait_until("link events", WAIT, || env.link_events().len() == 3).await;
    let links = env.link_events();
    assert_eq!(
        links,
        [(LinkState::Up, 4), (LinkState::Down, 0), (LinkState::Up, 4)]
    );
    // AND events of the new session map to their monitored device
    env.pbx.send_event(delivered("C2", "2002", 2));
    wait_until("event after reconnect", WAIT, || {
        events(&env.sink).iter().any(|e| {
            matches!(e, CtiEvent::Call(c) if c.call_id == "C2" && c.monitored_device.as_deref() == Some("2002"))
        })
    })
    .await;
    assert_eq!(
        relay
            .status
            .metrics
            .link_losses
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    relay.stop().await;
}

#[tokio::test]
async fn when_keepalive_is_not_answered_should_drop_the_session_and_reconnect() {
    // GIVEN a PBX that stops answering keep-alives
    let env = Env::new().await;
    let relay = env.relay(None).await;
    env.wait_link_up(&relay, 1).await;
    env.pbx.state.lock().unwrap().ignore_keepalive = true;
    // THEN the relay declares the link down and starts a new session
    wait_until("link down event", WAIT, || {
        env.link_events().contains(&(LinkState::Down, 0))
    })
    .await;
    env.pbx.state.lock().unwrap().ignore_keepalive = false;
    env.wait_link_up(&relay, 2).await;
    let reason = events(&env.sink).into_iter().find_map(|e| match e {
        CtiEvent::Link(l) if l.state == LinkState::Down => l.reason,
        _ => None,
    });
    assert!(reason.unwrap_or_default().contains("keep-alive"));
    relay.stop().await;
}

#[tokio::test]
async fn when_monitor_is_refused_for_licences_should_keep_going_and_report_it() {
    // GIVEN a PBX without licence for 2002
    let env = Env::new().await;
    env.pbx
        .state
        .lock()
        .unwrap()
        .refuse_monitor
        .insert("2002".into());
    let relay = env.relay(None).await;
    // THEN the link comes up with the other 3 devices, and health shows the refusal
    env.wait_link_up(&relay, 1).await;
    assert_eq!(relay.status.monitored_devices(), 3);
    let body: serde_json::Value = reqwest::get(format!("http://{}/health", relay.health_addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["licenceExhausted"], true);
    assert!(body["monitorFailures"]["2002"]
        .as_str()
        .unwrap()
        .contains("overallMonitorLimitExceeded"));
    relay.stop().await;
}

fn route_selects(pbx: &FakePbx) -> Vec<(String, String)> {
    pbx.received()
        .into_iter()
        .filter_map(|(_, _, m)| match m {
            Message::RouteSelect(s) => Some((
                s.cross_ref_identifier.unwrap_or_default(),
                s.route_selected.map(|d| d.id).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn when_route_answer_is_in_time_should_route_select_to_it() {
    // GIVEN a routing function answering 2002 in 20 ms
    let env = Env::new().await;
    let url = routing_server(Duration::from_millis(20), "2002").await;
    let relay = env.relay(Some(url)).await;
    env.wait_link_up(&relay, 1).await;
    // WHEN the PBX asks where call C9 goes
    env.pbx.send_event(route_request("X1", "C9"));
    // THEN the relay selects 2002 and reports a cloud decision after the request
    wait_until("RouteSelect", WAIT, || !route_selects(&env.pbx).is_empty()).await;
    assert_eq!(
        route_selects(&env.pbx),
        [("X1".to_owned(), "2002".to_owned())]
    );
    wait_until("RouteDecided", WAIT, || {
        events(&env.sink)
            .iter()
            .any(|e| matches!(e, CtiEvent::RouteDecided(_)))
    })
    .await;
    let evs = events(&env.sink);
    let route_pos = evs.iter().position(|e| matches!(e, CtiEvent::Route(r) if r.cross_ref_id == "X1" && r.routing_device == "5000" && r.call_id == "C9"));
    let decided_pos = evs.iter().position(|e| matches!(e, CtiEvent::RouteDecided(d) if d.source == RouteSource::Cloud && d.destination == "2002"));
    assert!(route_pos.unwrap() < decided_pos.unwrap());
    // AND a RouteEnd from the PBX closes the dialogue quietly
    env.pbx.send_event(RouteEnd {
        cross_ref_identifier: Some("X1".into()),
        ..Default::default()
    });
    relay.stop().await;
}

#[tokio::test]
async fn when_route_answer_is_late_should_select_the_fallback_within_the_budget() {
    // GIVEN a routing function answering after 2 s and a 300 ms budget
    let env = Env::new().await;
    let url = routing_server(Duration::from_secs(2), "2002").await;
    let relay = env.relay(Some(url)).await;
    env.wait_link_up(&relay, 1).await;
    // WHEN the PBX asks
    let asked = Instant::now();
    env.pbx.send_event(route_request("X2", "C10"));
    wait_until("RouteSelect", WAIT, || !route_selects(&env.pbx).is_empty()).await;
    let elapsed = asked.elapsed();
    // THEN the route point's fallback is selected within budget + margin
    assert_eq!(
        route_selects(&env.pbx),
        [("X2".to_owned(), "5100".to_owned())]
    );
    assert!(elapsed < Duration::from_millis(300 + 150), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(290), "{elapsed:?}");
    wait_until("RouteDecided", WAIT, || {
        events(&env.sink)
            .iter()
            .any(|e| matches!(e, CtiEvent::RouteDecided(_)))
    })
    .await;
    let decided = events(&env.sink)
        .into_iter()
        .find_map(|e| match e {
            CtiEvent::RouteDecided(d) => Some(d),
            _ => None,
        })
        .unwrap();
    assert_eq!(decided.source, RouteSource::Fallback);
    assert!(decided.reason.unwrap_or_default().contains("timeout"));
    assert!(decided.elapsed_ms < 450);
    relay.stop().await;
}

fn command(id: &str, expires_in_secs: i64, action: serde_json::Value) -> String {
    let now = chrono::Utc::now();
    serde_json::json!({
        "version": 1,
        "commandId": id,
        "requestedBy": "agent01",
        "issuedAt": now,
        "expiresAt": now + chrono::Duration::seconds(expires_in_secs),
        "action": action,
    })
    .to_string()
}

fn results(sink: &MemorySink) -> Vec<cti_events::CommandResult> {
    events(sink)
        .into_iter()
        .filter_map(|e| match e {
            CtiEvent::CommandResult(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn when_command_is_received_should_execute_it_and_publish_the_result() {
    // GIVEN a relay with the link up
    let env = Env::new().await;
    let relay = env.relay(None).await;
    env.wait_link_up(&relay, 1).await;
    // WHEN an answer command and a dial command arrive
    env.commands.push(command(
        "k1",
        30,
        serde_json::json!({"type": "answer", "device": "2001", "callId": "C1"}),
    ));
    env.commands.push(command(
        "k2",
        30,
        serde_json::json!({"type": "dial", "device": "2001", "to": "0612345678"}),
    ));
    env.commands.push(command(
        "k3",
        30,
        serde_json::json!({"type": "answer", "device": "2001", "callId": "BAD"}),
    ));
    // THEN the PBX got AnswerCall for C1 at 2001 and the results are published
    wait_until("3 results", WAIT, || results(&env.sink).len() == 3).await;
    let answered = env.pbx.received().into_iter().any(|(_, _, m)| {
        matches!(m, Message::AnswerCall(a) if a.call_to_be_answered == Some(csta::types::ConnectionId::new("C1", "2001")))
    });
    assert!(answered);
    let r = results(&env.sink);
    assert_eq!(r[0].command_id, "k1");
    assert_eq!(r[0].outcome, CommandOutcome::Done { call_id: None });
    assert_eq!(
        r[1].outcome,
        CommandOutcome::Done {
            call_id: Some("C-NEW".into())
        }
    );
    assert_eq!(
        r[2].outcome,
        CommandOutcome::Refused {
            error: "invalidCallID".into()
        }
    );
    wait_until("commands deleted", WAIT, || env.commands.pending() == 0).await;
    // AND a redelivered command is not executed twice
    env.commands.push(command(
        "k1",
        30,
        serde_json::json!({"type": "answer", "device": "2001", "callId": "C1"}),
    ));
    wait_until("duplicate deleted", WAIT, || env.commands.pending() == 0).await;
    let answers = env
        .pbx
        .received()
        .into_iter()
        .filter(|(_, _, m)| matches!(m, Message::AnswerCall(_)))
        .count();
    assert_eq!(answers, 2);
    relay.stop().await;
}

#[tokio::test]
async fn when_command_has_expired_should_not_execute_it_and_report_expired() {
    let env = Env::new().await;
    let relay = env.relay(None).await;
    env.wait_link_up(&relay, 1).await;
    env.commands.push(command(
        "old",
        -5,
        serde_json::json!({"type": "hangup", "device": "2001", "callId": "C1"}),
    ));
    wait_until("result", WAIT, || results(&env.sink).len() == 1).await;
    assert_eq!(results(&env.sink)[0].outcome, CommandOutcome::Expired);
    assert!(!env
        .pbx
        .received()
        .iter()
        .any(|(_, _, m)| matches!(m, Message::ClearConnection(_))));
    wait_until("deleted", WAIT, || env.commands.pending() == 0).await;
    relay.stop().await;
}

#[tokio::test]
async fn when_command_is_malformed_should_publish_invalid_and_delete_it() {
    let env = Env::new().await;
    let relay = env.relay(None).await;
    env.wait_link_up(&relay, 1).await;
    env.commands
        .push(r#"{"commandId":"bad-1","action":{"type":"teleport"}}"#);
    env.commands.push("not json at all");
    wait_until("results", WAIT, || results(&env.sink).len() == 2).await;
    let r = results(&env.sink);
    assert_eq!(r[0].command_id, "bad-1");
    assert!(matches!(r[0].outcome, CommandOutcome::Invalid { .. }));
    assert_eq!(r[1].command_id, "");
    assert!(matches!(r[1].outcome, CommandOutcome::Invalid { .. }));
    wait_until("deleted", WAIT, || env.commands.pending() == 0).await;
    relay.stop().await;
}

#[tokio::test]
async fn when_link_is_down_should_leave_the_command_until_the_link_is_back() {
    // GIVEN a PBX that has dropped the link and refuses new ones
    let env = Env::new().await;
    let relay = env.relay(None).await;
    env.wait_link_up(&relay, 1).await;
    env.pbx.state.lock().unwrap().reject_connections = true;
    env.pbx.drop_connection();
    wait_until("link down", WAIT, || !relay.status.link_up()).await;
    // WHEN a command arrives
    env.commands.push(command(
        "k9",
        60,
        serde_json::json!({"type": "hold", "device": "2001", "callId": "C1"}),
    ));
    tokio::time::sleep(Duration::from_millis(600)).await;
    // THEN it is neither executed nor deleted nor reported
    assert_eq!(env.commands.pending(), 1);
    assert!(results(&env.sink).is_empty());
    // WHEN the PBX is back
    env.pbx.state.lock().unwrap().reject_connections = false;
    env.wait_link_up(&relay, 2).await;
    // THEN the command runs on the new session and is deleted
    wait_until("result", WAIT, || results(&env.sink).len() == 1).await;
    assert_eq!(
        results(&env.sink)[0].outcome,
        CommandOutcome::Done { call_id: None }
    );
    assert!(env
        .pbx
        .received()
        .iter()
        .any(|(session, _, m)| *session == 2 && matches!(m, Message::HoldCall(_))));
    wait_until("deleted", WAIT, || env.commands.pending() == 0).await;
    relay.stop().await;
}
