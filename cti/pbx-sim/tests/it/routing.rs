use std::time::Instant;

use csta::model as m;
use csta::types::{ConnectionId, DeviceId};
use csta::{InvokeId, Message};

use crate::helpers::*;

async fn register(c: &mut Client, pilot: &str) -> String {
    match c
        .request(m::RouteRegister {
            routeing_device: Some(DeviceId::plain(pilot)),
            ..Default::default()
        })
        .await
    {
        Message::RouteRegisterResponse(r) => r.route_register_req_id.unwrap(),
        other => panic!("{other:?}"),
    }
}

async fn route_request(c: &mut Client) -> (InvokeId, m::RouteRequest) {
    let (id, msg) = c.next().await;
    match msg {
        Message::RouteRequest(r) => (id, r),
        other => panic!("expected RouteRequest, got {other:?}"),
    }
}

#[tokio::test]
async fn when_client_selects_a_route_should_deliver_there_and_end_the_dialogue() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    let reg = register(&mut c, "5000").await;
    c.monitor("2007").await;
    let v = post(&run, "/calls", r#"{"from": "0612345678", "to": "5000"}"#).await;
    let call = v["call_id"].as_str().unwrap().to_owned();
    let (id, req) = route_request(&mut c).await;
    assert_ne!(id, InvokeId::EVENT);
    assert_eq!(req.route_register_req_id.as_ref(), Some(&reg));
    assert_eq!(req.routed_call, Some(ConnectionId::new(&call, "5000")));
    assert_eq!(req.current_route, Some(DeviceId::plain("5000")));
    c.send(m::RouteSelect {
        cross_ref_identifier: req.cross_ref_identifier.clone(),
        route_register_req_id: Some(reg.clone()),
        route_selected: Some(DeviceId::plain("2007")),
        route_used_req: Some(true),
        ..Default::default()
    })
    .await;
    let (_, used) = c.next().await;
    let Message::RouteUsed(used) = used else {
        panic!("{used:?}")
    };
    assert_eq!(used.route_used, Some(DeviceId::plain("2007")));
    let (_, ev) = c.next().await;
    let Message::DeliveredEvent(ev) = ev else {
        panic!("{ev:?}")
    };
    assert_eq!(
        ev.alerting_device,
        Some(DeviceId::wrapped("deviceIdentifier", "2007"))
    );
    let (_, end) = c.next().await;
    let Message::RouteEnd(end) = end else {
        panic!("{end:?}")
    };
    assert_eq!(end.cross_ref_identifier, req.cross_ref_identifier);
    assert_eq!(end.error_value, None);
    run.shutdown().await;
}

#[tokio::test]
async fn when_client_does_not_answer_route_request_should_fall_back_to_default_destination() {
    // GIVEN a 300 ms route timeout and a registered route point whose fallback is 6900
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    register(&mut c, "5001").await;
    c.monitor("6900").await;
    let t0 = Instant::now();
    let v = post(&run, "/calls", r#"{"from": "0612345678", "to": "5001"}"#).await;
    let call = v["call_id"].as_str().unwrap().to_owned();
    let (_, req) = route_request(&mut c).await;
    assert_eq!(req.reply_timeout, Some(1));
    // WHEN nobody answers, THEN RouteEnd with an error value, and the announcement answers
    let (_, end) = c.next().await;
    assert!(t0.elapsed().as_millis() >= 300, "timeout honoured");
    let Message::RouteEnd(end) = end else {
        panic!("{end:?}")
    };
    assert_eq!(end.cross_ref_identifier, req.cross_ref_identifier);
    assert!(end.error_value.is_some());
    assert_eq!(c.names(2).await, ["DeliveredEvent", "EstablishedEvent"]);
    let v = get(&run, &format!("/calls/{call}")).await;
    assert_eq!(v["last_redirection"], "5001");
    assert_eq!(v["connections"][1]["device"], "6900");
    run.shutdown().await;
}

#[tokio::test]
async fn when_client_ends_the_route_dialogue_should_use_default_routeing() {
    let run = start(test_config()).await;
    let mut c = Client::with_session(run.csta_addr).await;
    let reg = register(&mut c, "5002").await;
    post(&run, "/calls", r#"{"from": "0612345678", "to": "5002"}"#).await;
    let (_, req) = route_request(&mut c).await;
    c.send(m::RouteEnd {
        cross_ref_identifier: req.cross_ref_identifier,
        route_register_req_id: Some(reg),
        ..Default::default()
    })
    .await;
    run.sim
        .wait_for(|p| {
            p.calls()
                .first()
                .is_some_and(|c| c.connections.iter().any(|x| x.device == "6900"))
        })
        .await;
    run.shutdown().await;
}
