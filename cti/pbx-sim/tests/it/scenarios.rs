//! Scenario files, run on tokio's paused clock (no TCP: a recording client is attached).

use csta::model as m;
use csta::types::DeviceId;
use csta::{InvokeId, Message};
use pbx_sim::pbx::ClientCmd;
use pbx_sim::scenario::{self, Scenario};
use pbx_sim::{Sim, SimConfig};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

fn sim_with_monitors(devices: &[&str]) -> (Sim, UnboundedReceiver<ClientCmd>) {
    let sim = Sim::new(SimConfig::demo(), csta::Edition::Ed4, 1);
    let (tx, rx) = unbounded_channel();
    sim.with(|p| {
        p.client_connected(1, "test".into(), tx);
        p.on_message(
            1,
            InvokeId::new(1).unwrap(),
            m::StartApplicationSession {
                requested_session_duration: Some(3600),
                ..Default::default()
            }
            .into(),
        );
        for (i, d) in devices.iter().enumerate() {
            p.on_message(
                1,
                InvokeId::new(2 + u16::try_from(i).unwrap()).unwrap(),
                m::MonitorStart {
                    monitor_object: Some(DeviceId::plain(*d)),
                    ..Default::default()
                }
                .into(),
            );
        }
    });
    (sim, rx)
}

fn events(rx: &mut UnboundedReceiver<ClientCmd>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(cmd) = rx.try_recv() {
        if let ClientCmd::Send(id, msg) = cmd {
            if id == InvokeId::EVENT {
                out.push(msg.name().to_owned());
            }
        }
    }
    out
}

fn load(name: &str) -> Scenario {
    let path = format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    Scenario::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn when_caller_hangs_up_while_ringing_should_clear_the_alerting_agent() {
    let (sim, mut rx) = sim_with_monitors(&["2001"]);
    let t0 = tokio::time::Instant::now();
    let report = scenario::run(&sim, &load("ringing-abandon.yaml"))
        .await
        .unwrap();
    assert_eq!(report.steps_run, 3);
    assert!(t0.elapsed().as_millis() >= 3000);
    assert_eq!(
        events(&mut rx),
        [
            "DeliveredEvent",
            "ConnectionClearedEvent",
            "CallClearedEvent"
        ]
    );
    assert!(sim.read(|p| p.calls().is_empty()));
}

#[tokio::test(start_paused = true)]
async fn when_inbound_answer_hangup_runs_should_answer_after_two_seconds() {
    let (sim, mut rx) = sim_with_monitors(&["2001"]);
    scenario::run(&sim, &load("inbound-answer-hangup.yaml"))
        .await
        .unwrap();
    assert_eq!(
        events(&mut rx),
        [
            "DeliveredEvent",
            "EstablishedEvent",
            "ConnectionClearedEvent",
            "CallClearedEvent"
        ]
    );
    assert_eq!(sim.read(|p| p.counters().calls_answered), 1);
}

#[tokio::test(start_paused = true)]
async fn when_caller_abandons_in_queue_after_ivr_should_leave_no_call() {
    let (sim, mut rx) = sim_with_monitors(&["6001", "5001"]);
    let report = scenario::run(&sim, &load("ivr-dtmf-queue-abandon.yaml"))
        .await
        .unwrap();
    assert_eq!(report.calls.len(), 1);
    assert_eq!(
        events(&mut rx),
        [
            "DeliveredEvent",
            "EstablishedEvent",
            "DigitsGeneratedEvent",
            "TransferredEvent",
            "QueuedEvent",
            "ConnectionClearedEvent",
            "CallClearedEvent"
        ]
    );
    assert!(sim.read(|p| p.calls().is_empty()));
}

#[tokio::test(start_paused = true)]
async fn when_consult_transfer_runs_should_end_with_no_call() {
    let (sim, mut rx) = sim_with_monitors(&["2002"]);
    scenario::run(&sim, &load("consult-transfer.yaml"))
        .await
        .unwrap();
    assert_eq!(
        events(&mut rx),
        [
            "DeliveredEvent",
            "EstablishedEvent",
            "TransferredEvent",
            "ConnectionClearedEvent",
            "CallClearedEvent"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn when_hold_conference_monitor_runs_should_keep_agents_and_supervisor() {
    let (sim, mut rx) = sim_with_monitors(&["2010"]);
    scenario::run(&sim, &load("hold-conference-monitor.yaml"))
        .await
        .unwrap();
    assert_eq!(
        events(&mut rx),
        ["ConferencedEvent", "ConnectionClearedEvent"]
    );
    let parties: Vec<String> = sim.read(|p| {
        p.calls()[0]
            .connections
            .iter()
            .map(|c| c.device.clone())
            .collect()
    });
    assert_eq!(parties, ["2001", "2002", "2010"]);
}

#[tokio::test(start_paused = true)]
async fn when_scenario_step_fails_should_report_the_step() {
    let (sim, _rx) = sim_with_monitors(&[]);
    let s = Scenario::parse(r#"{"steps": [{"action": "hangup", "call": "nope"}]}"#).unwrap();
    let err = scenario::run(&sim, &s).await.unwrap_err();
    assert!(
        matches!(err, scenario::ScenarioError::Step { step: 0, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn when_scenario_is_posted_as_yaml_should_run_it() {
    let run = crate::helpers::start(crate::helpers::test_config()).await;
    let body = "steps:\n  - action: inbound_call\n    label: a\n    from: '0611111111'\n    to: '2003'\n  - after_ms: 10\n    action: answer\n    device: '2003'\n";
    let v = crate::helpers::post(&run, "/scenario", body).await;
    assert_eq!(v["steps_run"], 2);
    let call = v["calls"]["a"].as_str().unwrap().to_owned();
    let c = crate::helpers::get(&run, &format!("/calls/{call}")).await;
    assert_eq!(c["connections"][1]["state"], "connected");
    let (status, v) =
        crate::helpers::http(&run, axum::http::Method::POST, "/scenario", "steps: [").await;
    assert_eq!(status, 400, "{v}");
    let _ = Message::from(m::MonitorStopResponse::default());
    run.shutdown().await;
}
