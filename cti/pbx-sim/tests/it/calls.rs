use csta::model as m;
use csta::types::{ConnectionId, DeviceId, LocalConnectionState as Lcs};
use csta::{InvokeId, Message};

use crate::helpers::*;

fn ident(id: &str) -> Option<DeviceId> {
    Some(DeviceId::wrapped("deviceIdentifier", id))
}

#[tokio::test]
async fn when_inbound_call_reaches_pilot_should_send_the_exact_event_sequence() {
    // GIVEN a client monitoring agent 2001 and pilot 5000
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    let x_agent = c.monitor("2001").await;
    let x_pilot = c.monitor("5000").await;
    let log_mark = get(&run, "/log").await["last_seq"].as_u64().unwrap();
    // WHEN a caller dials the pilot (HTTP control API)
    let v = post(&run, "/calls", r#"{"from": "0612345678", "to": "5000"}"#).await;
    let call = v["call_id"].as_str().unwrap().to_owned();
    // THEN the agent rings: Delivered to the agent's and the pilot's monitor
    for xref in [&x_agent, &x_pilot] {
        let (id, msg) = c.next().await;
        assert_eq!(id, InvokeId::EVENT);
        let Message::DeliveredEvent(e) = msg else {
            panic!("{msg:?}")
        };
        assert_eq!(e.monitor_cross_ref_id.as_ref(), Some(xref));
        assert_eq!(e.connection, Some(ConnectionId::new(&call, "2001")));
        assert_eq!(e.alerting_device, ident("2001"));
        assert_eq!(e.calling_device, ident("0612345678"));
        assert_eq!(e.called_device, ident("5000"));
        assert_eq!(e.last_redirection_device, ident("5000"));
    }
    // WHEN the agent answers through CSTA
    let r = c
        .request(m::AnswerCall {
            call_to_be_answered: Some(ConnectionId::new(&call, "2001")),
            ..Default::default()
        })
        .await;
    assert_eq!(r.name(), "AnswerCallResponse");
    // (the pilot is no longer in the call: only the agent's monitor hears the rest)
    let (_, msg) = c.next().await;
    let Message::EstablishedEvent(e) = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(e.monitor_cross_ref_id.as_ref(), Some(&x_agent));
    assert_eq!(e.answering_device, ident("2001"));
    assert_eq!(e.called_device, ident("5000"));
    assert_eq!(e.last_redirection_device, ident("5000"));
    // AND the caller hangs up
    post(&run, &format!("/calls/{call}/hangup"), "").await;
    let (_, msg) = c.next().await;
    let Message::ConnectionClearedEvent(e) = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(e.releasing_device, ident("0612345678"));
    assert_eq!(e.local_connection_info, Some(Lcs::Connected));
    let (_, msg) = c.next().await;
    let Message::CallClearedEvent(e) = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(
        e.cleared_call.unwrap().call_id.as_deref(),
        Some(call.as_str())
    );
    assert_eq!(e.local_connection_info, Some(Lcs::Null));
    // AND the PBX's log counts exactly what the client received since the mark
    let log = get(&run, &format!("/log?since={log_mark}&direction=out")).await;
    assert_eq!(log["count"].as_u64().unwrap(), 6);
    assert_eq!(log["entries"][0]["message"], "DeliveredEvent");
    assert_eq!(log["entries"][0]["invoke_id"], "9999");
    assert!(get(&run, "/calls").await.as_array().unwrap().is_empty());
    run.shutdown().await;
}

#[tokio::test]
async fn when_agent_consults_and_transfers_over_tcp_should_leave_caller_with_second_agent() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    c.monitor("2001").await;
    let v = post(&run, "/calls", r#"{"from": "0612345678", "to": "2001"}"#).await;
    let call = v["call_id"].as_str().unwrap().to_owned();
    post(&run, "/devices/2001/answer", "").await;
    assert_eq!(c.names(2).await, ["DeliveredEvent", "EstablishedEvent"]);
    let r = c
        .request(m::ConsultationCall {
            existing_call: Some(ConnectionId::new(&call, "2001")),
            consulted_device: Some(DeviceId::plain("2002")),
            ..Default::default()
        })
        .await;
    let Message::ConsultationCallResponse(r) = r else {
        panic!("{r:?}")
    };
    let consult = r.initiated_call.unwrap().call_id.unwrap();
    assert_eq!(
        c.names(4).await,
        [
            "HeldEvent",
            "ServiceInitiatedEvent",
            "OriginatedEvent",
            "DeliveredEvent"
        ]
    );
    post(&run, "/devices/2002/answer", "").await;
    assert_eq!(c.names(1).await, ["EstablishedEvent"]);
    let r = c
        .request(m::TransferCall {
            held_call: Some(ConnectionId::new(&call, "2001")),
            active_call: Some(ConnectionId::new(&consult, "2001")),
            ..Default::default()
        })
        .await;
    assert_eq!(r.name(), "TransferCallResponse");
    let (_, msg) = c.next().await;
    let Message::TransferredEvent(e) = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(e.transferred_to_device, ident("2002"));
    let calls = get(&run, "/calls").await;
    assert_eq!(calls.as_array().unwrap().len(), 1);
    assert_eq!(calls[0]["connections"][1]["device"], "2002");
    assert_eq!(calls[0]["connections"][1]["state"], "connected");
    run.shutdown().await;
}

#[tokio::test]
async fn when_agent_state_is_set_should_respond_then_send_agent_event() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    c.monitor("2004").await;
    let r = c
        .request(m::SetAgentState {
            device: Some(DeviceId::plain("2004")),
            requested_agent_state: Some(csta::types::AgentState::NotReady),
            ..Default::default()
        })
        .await;
    assert_eq!(r.name(), "SetAgentStateResponse");
    let (_, ev) = c.next().await;
    let Message::AgentNotReadyEvent(e) = ev else {
        panic!("{ev:?}")
    };
    assert_eq!(e.agent_id.as_deref(), Some("2004"));
    let r = c
        .request(m::GetAgentState {
            device: Some(DeviceId::plain("2004")),
            ..Default::default()
        })
        .await;
    let Message::GetAgentStateResponse(r) = r else {
        panic!()
    };
    let mut xml = String::new();
    r.agent_state_list.unwrap().write(&mut xml);
    assert!(
        xml.contains("<agentState>agentNotReady</agentState>"),
        "{xml}"
    );
    run.shutdown().await;
}

#[tokio::test]
async fn when_snapshot_is_asked_should_list_the_device_connections() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    let v = post(&run, "/calls", r#"{"from": "0612345678", "to": "2005"}"#).await;
    let call = v["call_id"].as_str().unwrap().to_owned();
    let r = c
        .request(m::SnapshotDevice {
            snapshot_object: Some(DeviceId::plain("2005")),
            ..Default::default()
        })
        .await;
    let Message::SnapshotDeviceResponse(r) = r else {
        panic!("{r:?}")
    };
    let mut xml = String::new();
    r.cross_ref_id_or_snapshot_data.unwrap().write(&mut xml);
    assert!(xml.contains(&format!("<callID>{call}</callID>")), "{xml}");
    assert!(xml.contains("<localConnectionState>alerting</localConnectionState>"));
    run.shutdown().await;
}
