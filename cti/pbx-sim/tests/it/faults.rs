use csta::model as m;
use csta::types::{DeviceId, ErrorCategory};
use csta::{Frame, InvokeId, Message};
use tokio::io::AsyncWriteExt;

use crate::helpers::*;

#[tokio::test]
async fn when_link_is_dropped_should_close_tcp_and_forget_session_and_monitors() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    c.monitor("2001").await;
    let v = post(&run, "/faults/drop-link", "").await;
    assert_eq!(v["dropped"].as_array().unwrap().len(), 1);
    assert!(c.until_eof().await.is_empty());
    run.sim
        .wait_for(|p| p.client_ids().is_empty() && p.monitors().is_empty())
        .await;
    // a new client can connect again
    let mut c2 = Client::with_session(run.csta_addr).await;
    c2.monitor("2001").await;
    run.shutdown().await;
}

#[tokio::test]
async fn when_session_is_expired_by_fault_should_stop_session_and_close() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    post(&run, "/faults/expire-session", "{}").await;
    let rest = c.until_eof().await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].1.name(), "StopApplicationSession");
    run.shutdown().await;
}

#[tokio::test]
async fn when_error_is_injected_should_answer_that_request_with_it_once() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    post(
        &run,
        "/faults/error-next",
        r#"{"request": "MakeCall", "category": "stateIncompatibility", "value": "invalidObjectState"}"#,
    )
    .await;
    let make = || m::MakeCall {
        calling_device: Some(DeviceId::plain("2001")),
        called_directory_number: Some(DeviceId::plain("2002")),
        ..Default::default()
    };
    let r = c.request(make()).await;
    let Message::CstaErrorCode(e) = r else {
        panic!("{r:?}")
    };
    assert_eq!(e.category, ErrorCategory::StateIncompatibility);
    assert_eq!(e.value, "invalidObjectState");
    let r = c.request(make()).await;
    assert_eq!(r.name(), "MakeCallResponse");
    run.shutdown().await;
}

#[tokio::test]
async fn when_licence_is_exhausted_should_refuse_monitor_start() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    post(&run, "/faults/monitor-limit", r#"{"limit": 2}"#).await;
    c.monitor("2001").await;
    c.monitor("2002").await;
    let r = c
        .request(m::MonitorStart {
            monitor_object: Some(DeviceId::plain("2003")),
            ..Default::default()
        })
        .await;
    let Message::CstaErrorCode(e) = r else {
        panic!("{r:?}")
    };
    assert!(e.is_licence_exhausted());
    let mut xml = String::new();
    xml.push_str(&csta::Codec::default().encode(&Message::CstaErrorCode(e)));
    assert!(xml.contains("<systemResourceAvailibility>overallMonitorLimitExceeded<"));
    run.shutdown().await;
}

#[tokio::test]
async fn when_client_sends_malformed_frames_should_answer_error_or_close_without_crashing() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    // an undecodable payload: CSTAErrorCode under its invoke id, link stays up
    let bad = Frame::new(InvokeId::new(77).unwrap(), "<MonitorStart><unclosed>")
        .to_bytes()
        .unwrap();
    c.raw().write_all(&bad).await.unwrap();
    let (id, msg) = c.next().await;
    assert_eq!(id, InvokeId::new(77).unwrap());
    assert_eq!(msg.name(), "CSTAErrorCode");
    c.monitor("2001").await;
    // a broken header: the connection is closed
    c.raw().write_all(b"\x01\x02garbage!").await.unwrap();
    assert!(c.until_eof().await.is_empty());
    // the server still serves others
    let mut c2 = Client::with_session(run.csta_addr).await;
    c2.monitor("2001").await;
    run.shutdown().await;
}

#[tokio::test]
async fn when_http_request_names_unknown_objects_should_answer_404_or_409() {
    let run = start(test_config()).await;
    let (s, _) = http(&run, axum::http::Method::POST, "/calls/nope/hangup", "").await;
    assert_eq!(s, 404);
    let (s, _) = http(&run, axum::http::Method::POST, "/devices/2001/answer", "").await;
    assert_eq!(s, 409);
    let (s, _) = http(&run, axum::http::Method::POST, "/calls", "{not json").await;
    assert_eq!(s, 400);
    let (s, _) = http(
        &run,
        axum::http::Method::POST,
        "/faults/drop-link",
        r#"{"client": 99}"#,
    )
    .await;
    assert_eq!(s, 404);
    run.shutdown().await;
}
