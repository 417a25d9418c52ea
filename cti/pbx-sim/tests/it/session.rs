use std::time::Duration;

use csta::model as m;
use csta::Message;

use crate::helpers::*;

#[tokio::test]
async fn when_session_is_kept_alive_should_survive_and_expire_once_keepalives_stop() {
    // GIVEN a PBX granting short sessions (2 s asked)
    let mut cfg = test_config();
    cfg.session.min_duration_s = 1;
    let run = start(cfg).await;
    let mut c = Client::connect(run.csta_addr).await;
    let r = c
        .request(m::StartApplicationSession {
            application_info: Some(m::ApplicationInfo {
                application_id: Some("Linka".into()),
                ..Default::default()
            }),
            requested_session_duration: Some(2),
            ..Default::default()
        })
        .await;
    let Message::StartApplicationSessionPosResponse(pos) = r else {
        panic!("{r:?}")
    };
    assert_eq!(pos.actual_session_duration, Some(2));
    assert!(pos.actual_protocol_version.unwrap().ends_with("csta/ed4"));
    let session_id = pos.session_id.unwrap();
    c.monitor("2001").await;
    // WHEN the client resets the timer every 600 ms for 2.4 s (longer than the duration)
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let r = c
            .request(m::ResetApplicationSessionTimer {
                session_id: Some(session_id.clone()),
                requested_session_duration: Some(2),
                ..Default::default()
            })
            .await;
        assert_eq!(
            r,
            Message::ResetApplicationSessionTimerPosResponse(
                m::ResetApplicationSessionTimerPosResponse {
                    actual_session_duration: Some(2),
                    ..Default::default()
                }
            )
        );
    }
    // THEN the session is still there
    let sessions = get(&run, "/sessions").await;
    assert_eq!(sessions[0]["session"]["id"], session_id.as_str());
    // WHEN keep-alives stop, THEN the PBX sends StopApplicationSession and closes the link
    let rest = c.until_eof().await;
    let names: Vec<_> = rest.iter().map(|(_, m)| m.name()).collect();
    assert_eq!(names, ["StopApplicationSession"]);
    let Message::StopApplicationSession(stop) = &rest[0].1 else {
        panic!()
    };
    assert_eq!(stop.session_id.as_deref(), Some(session_id.as_str()));
    run.sim
        .wait_for(|p| p.client_ids().is_empty() && p.monitors().is_empty())
        .await;
    run.shutdown().await;
}

#[tokio::test]
async fn when_reset_names_a_wrong_session_should_answer_neg_response() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    let r = c
        .request(m::ResetApplicationSessionTimer {
            session_id: Some("bogus".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(r.name(), "ResetApplicationSessionTimerNegResponse");
    let r = c.request(m::StopApplicationSession::default()).await;
    assert_eq!(r.name(), "StopApplicationSessionPosResponse");
    // after StopApplicationSession, CSTA requests are refused
    let r = c
        .request(m::MonitorStart {
            monitor_object: Some(csta::types::DeviceId::plain("2001")),
            ..Default::default()
        })
        .await;
    assert_eq!(r.name(), "CSTAErrorCode");
    run.shutdown().await;
}

#[tokio::test]
async fn when_system_status_is_exchanged_should_answer_under_the_same_invoke_id() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    let r = c.request(m::SystemStatus::default()).await;
    assert_eq!(r.name(), "SystemStatusResponse");
    let r = c.request(m::SystemRegister::default()).await;
    let Message::SystemRegisterResponse(reg) = r else {
        panic!()
    };
    assert!(reg.sys_stat_register_id.is_some());
    // the PBX can also ask: SystemStatus arrives under a request id (not 9999)
    post(&run, "/system-status", r#"{"status": "normal"}"#).await;
    let (id, msg) = c.next().await;
    assert_ne!(id, csta::InvokeId::EVENT);
    let Message::SystemStatus(s) = msg else {
        panic!()
    };
    assert_eq!(s.system_status.as_deref(), Some("normal"));
    c.send_as(id, m::SystemStatusResponse::default()).await;
    run.shutdown().await;
}
