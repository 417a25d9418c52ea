//! Cloud-driven IVR ports: voice unit services (PlayMessage, RecordMessage, Stop), their events,
//! DTMF reaching the port's monitor with the digits, and recordings over HTTP.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use csta::model as m;
use csta::types::ConnectionId;
use csta::Message;
use pbx_sim::config::{DeviceConfig, DeviceKind};
use pbx_sim::{Running, SimConfig};
use tower::ServiceExt;

use crate::helpers::*;

const PORT: &str = "6003";
const CALLER: &str = "0612345678";

fn config() -> SimConfig {
    let mut c = test_config();
    let mut port: DeviceConfig =
        serde_json::from_value(serde_json::json!({"id": PORT, "kind": "ivr"})).unwrap();
    port.name = Some("cloud-driven IVR port".into());
    assert_eq!(port.kind, DeviceKind::Ivr);
    assert!(port.menu.is_empty());
    c.devices.push(port);
    c.prompt_ms = 100;
    c.record_ms = 400;
    c
}

/// Reads frames until one called `name` (others are dropped).
async fn until(c: &mut Client, name: &str) -> Message {
    loop {
        let (_, msg) = c.next().await;
        if msg.name() == name {
            return msg;
        }
    }
}

/// A call from the caller to the cloud-driven port, answered at once; returns its id.
async fn call_to_port(run: &Running, c: &mut Client) -> String {
    let v = post(
        run,
        "/calls",
        &format!(r#"{{"from": "{CALLER}", "to": "{PORT}"}}"#),
    )
    .await;
    let call = v["call_id"].as_str().unwrap().to_owned();
    let Message::EstablishedEvent(e) = until(c, "EstablishedEvent").await else {
        unreachable!()
    };
    assert_eq!(
        e.established_connection,
        Some(ConnectionId::new(&call, PORT))
    );
    call
}

async fn raw_get(run: &Running, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let router = pbx_sim::http::router(run.sim.clone());
    let resp = router
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, ct, bytes.to_vec())
}

#[tokio::test]
async fn when_a_cloud_driven_port_plays_a_message_should_send_play_then_stop_and_not_act_on_digits()
{
    // GIVEN a client monitoring the cloud-driven port, and a call answered by it
    let run = start(config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    let xref = c.monitor(PORT).await;
    let call = call_to_port(&run, &mut c).await;
    // WHEN the client plays a message on the port's connection
    let r = c
        .request(m::PlayMessage {
            message_to_be_played: Some("welcome".into()),
            over_connection: Some(ConnectionId::new(&call, PORT)),
            ..Default::default()
        })
        .await;
    assert_eq!(r.name(), "PlayMessageResponse");
    // THEN PlayEvent, then (after prompt_ms) StopEvent with endOfMessageDetected
    let Message::PlayEvent(p) = c.next().await.1 else {
        panic!("no PlayEvent")
    };
    assert_eq!(p.monitor_cross_ref_id.as_ref(), Some(&xref));
    assert_eq!(p.connection, Some(ConnectionId::new(&call, PORT)));
    assert_eq!(p.message.as_deref(), Some("welcome"));
    let started = std::time::Instant::now();
    let Message::StopEvent(s) = c.next().await.1 else {
        panic!("no StopEvent")
    };
    assert!(started.elapsed() >= std::time::Duration::from_millis(60));
    assert_eq!(s.message.as_deref(), Some("welcome"));
    assert_eq!(s.cause.as_deref(), Some("endOfMessageDetected"));
    assert_eq!(s.length, Some(100));
    // WHEN the caller keys digits
    post(&run, &format!("/calls/{call}/dtmf"), r#"{"digits": "12#"}"#).await;
    // THEN the port's monitor gets them, and the port (no menu) stays in the call
    let Message::DigitsGeneratedEvent(d) = c.next().await.1 else {
        panic!("no DigitsGeneratedEvent")
    };
    assert_eq!(d.monitor_cross_ref_id.as_ref(), Some(&xref));
    assert_eq!(d.connection, Some(ConnectionId::new(&call, CALLER)));
    assert_eq!(d.digit_generated_list.as_deref(), Some("12#"));
    let state = get(&run, &format!("/calls/{call}")).await;
    assert_eq!(state["connections"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn when_stop_is_requested_during_a_message_should_stop_it_with_cause_normal() {
    let run = start(config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    c.monitor(PORT).await;
    let call = call_to_port(&run, &mut c).await;
    c.request(m::PlayMessage {
        message_to_be_played: Some("long".into()),
        over_connection: Some(ConnectionId::new(&call, PORT)),
        ..Default::default()
    })
    .await;
    let r = c
        .request(m::Stop {
            connection: Some(ConnectionId::new(&call, PORT)),
            ..Default::default()
        })
        .await;
    assert_eq!(r.name(), "StopResponse");
    let Message::StopEvent(s) = until(&mut c, "StopEvent").await else {
        unreachable!()
    };
    assert_eq!(s.message.as_deref(), Some("long"));
    assert_eq!(s.cause.as_deref(), Some("normal"));
    // AND a Stop with nothing running is answered without an event
    let r = c
        .request(m::Stop {
            connection: Some(ConnectionId::new(&call, PORT)),
            ..Default::default()
        })
        .await;
    assert_eq!(r.name(), "StopResponse");
    assert!(run.sim.read(|p| p.voice_activities().is_empty()));
    // AND PlayMessage on a device that is not an IVR port is refused
    let r = c
        .request(m::PlayMessage {
            message_to_be_played: Some("x".into()),
            over_connection: Some(ConnectionId::new(&call, CALLER)),
            ..Default::default()
        })
        .await;
    let Message::CstaErrorCode(e) = r else {
        panic!("{r:?}")
    };
    assert_eq!(e.value, "invalidObjectState");
}

#[tokio::test]
async fn when_a_recording_reaches_its_length_should_stop_and_serve_a_wav_over_http() {
    let run = start(config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    c.monitor(PORT).await;
    let call = call_to_port(&run, &mut c).await;
    // WHEN the client records for at most 10 s (the sim records record_ms = 400 ms)
    let r = c
        .request(m::RecordMessage {
            call_to_be_recorded: Some(ConnectionId::new(&call, PORT)),
            max_duration: Some(10_000),
            ..Default::default()
        })
        .await;
    let Message::RecordMessageResponse(r) = r else {
        panic!("{r:?}")
    };
    let id = r.resulting_message.unwrap();
    let Message::RecordEvent(e) = c.next().await.1 else {
        panic!("no RecordEvent")
    };
    assert_eq!(e.message.as_deref(), Some(id.as_str()));
    let Message::StopEvent(s) = c.next().await.1 else {
        panic!("no StopEvent")
    };
    assert_eq!(s.message.as_deref(), Some(id.as_str()));
    assert_eq!(s.length, Some(400));
    assert_eq!(s.cause.as_deref(), Some("messageDurationExceeded"));
    // THEN GET /recordings/{id} serves an 8 kHz mono 16-bit WAV of 400 ms
    let (status, ct, wav) = raw_get(&run, &format!("/recordings/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("audio/wav"));
    assert_eq!(&wav[0..4], b"RIFF");
    assert_eq!(&wav[8..16], b"WAVEfmt ");
    assert_eq!(u16::from_le_bytes([wav[22], wav[23]]), 1, "mono");
    assert_eq!(
        u32::from_le_bytes([wav[24], wav[25], wav[26], wav[27]]),
        8000
    );
    assert_eq!(u16::from_le_bytes([wav[34], wav[35]]), 16);
    assert_eq!(wav.len(), 44 + 400 * 8 * 2);
    let (status, _, _) = raw_get(&run, "/recordings/rec-nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn when_the_caller_hangs_up_during_a_recording_should_keep_what_was_recorded() {
    let mut cfg = config();
    cfg.record_ms = 30_000;
    let run = start(cfg).await;
    let mut c = Client::with_session(run.csta_addr).await;
    c.monitor(PORT).await;
    let call = call_to_port(&run, &mut c).await;
    // max_duration smaller than record_ms caps the recording
    let Message::RecordMessageResponse(r) = c
        .request(m::RecordMessage {
            call_to_be_recorded: Some(ConnectionId::new(&call, PORT)),
            max_duration: Some(20_000),
            ..Default::default()
        })
        .await
    else {
        panic!("no RecordMessageResponse")
    };
    let id = r.resulting_message.unwrap();
    until(&mut c, "RecordEvent").await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    post(&run, &format!("/calls/{call}/hangup"), "").await;
    // THEN StopEvent (normalClearing) comes before ConnectionCleared
    let Message::StopEvent(s) = c.next().await.1 else {
        panic!("no StopEvent first")
    };
    assert_eq!(s.cause.as_deref(), Some("normalClearing"));
    let length = s.length.unwrap();
    assert!((100..20_000).contains(&length), "{length}");
    assert_eq!(c.next().await.1.name(), "ConnectionClearedEvent");
    let (status, _, wav) = raw_get(&run, &format!("/recordings/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(wav.len(), 44 + length as usize * 16);
}
