//! Behaviour of the desk's wrap-up routes (IN-18) on the in-memory adapters.

use chrono::TimeDelta;
use lambda_http::http::StatusCode;
use linka_shared::{
    cti_state::{AgentPresence, AgentState},
    ports::RoutingStateStore,
    routing_live::Reservation,
    routing_settings::QUEUE_ROUTING_COLLECTION,
};
use serde_json::{json, Value};

use super::*;
use crate::test_support::{desk, desk_with, request_with, token, Desk};

/// The desk with KKC's wrap-up of 15 s extendable to 60 s, agent01 ready at 2001, whose
/// answered call of KKC ended 5 s ago.
async fn wrapping_up() -> (Desk, DateTime<Utc>) {
    let desk = desk_with(vec![(
        QUEUE_ROUTING_COLLECTION.to_owned(),
        "kkc".to_owned(),
        json!({"queueId": "kkc", "wrapUpSeconds": 15, "maxWrapUpSeconds": 60}),
    )])
    .await;
    let now = Utc::now();
    let state = &desk.router.state;
    state.set_agent(AgentPresence {
        agent_id: Some("2001".into()),
        state: AgentState::Ready,
        since: Some(now - TimeDelta::seconds(300)),
        ..AgentPresence::new("2001")
    });
    let ended = now - TimeDelta::seconds(5);
    let reservation = Reservation {
        username: "agent01".into(),
        device: "2001".into(),
        call_id: "r1/c1".into(),
        queue_id: "kkc".into(),
        offered_at: now - TimeDelta::seconds(200),
        expires_at: ended + TimeDelta::seconds(15),
        answered_at: None,
        wrap_up_from: Some(ended),
        rang_out_at: None,
    };
    assert!(state.reserve(&reservation, None, now).await.unwrap());
    (desk, ended)
}

async fn call(desk: &Desk, method: &str, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
    let agent = token("agent01", &["agent"]);
    let response = handle(desk, request_with(method, path, Some(&agent), body)).await;
    let status = response.status();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (status, body)
}

fn at(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|time| time.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("not a time: {value}"))
}

#[tokio::test]
async fn when_the_agent_extends_the_wrap_up_should_stop_at_the_queues_limit() {
    let (desk, ended) = wrapping_up().await;
    let (status, view) = call(&desk, "GET", "/api/desk", None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(at(&view["wrapUp"]["from"]), ended);
    assert_eq!(at(&view["wrapUp"]["until"]), ended + TimeDelta::seconds(15));
    assert_eq!(
        at(&view["wrapUp"]["extendableUntil"]),
        ended + TimeDelta::seconds(60)
    );

    let extend = json!({"seconds": 30.0});
    let (status, answer) = call(&desk, "POST", "/api/desk/wrap-up/extend", Some(&extend)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        at(&answer["wrapUp"]["until"]),
        ended + TimeDelta::seconds(45)
    );
    let (_, answer) = call(&desk, "POST", "/api/desk/wrap-up/extend", Some(&extend)).await;
    assert_eq!(
        at(&answer["wrapUp"]["until"]),
        ended + TimeDelta::seconds(60)
    );
    assert_eq!(answer["wrapUp"]["extendableUntil"], Value::Null);
    let (status, problem) = call(&desk, "POST", "/api/desk/wrap-up/extend", Some(&extend)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "wrap-up-at-limit");
    let stored = desk
        .router
        .state
        .reservation("agent01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.expires_at, ended + TimeDelta::seconds(60));
}

#[tokio::test]
async fn when_the_agent_ends_the_wrap_up_should_be_free_at_once() {
    let (desk, _) = wrapping_up().await;
    let (status, answer) = call(&desk, "POST", "/api/desk/wrap-up/end", None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"wrapUp": null}));
    let (_, view) = call(&desk, "GET", "/api/desk", None).await;
    assert_eq!(view["wrapUp"], Value::Null);
    let (status, problem) = call(&desk, "POST", "/api/desk/wrap-up/end", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "not-in-wrap-up");
}

#[tokio::test]
async fn when_the_extension_is_out_of_range_or_malformed_should_refuse_it() {
    let (desk, _) = wrapping_up().await;
    for (body, expected) in [
        (json!({"seconds": 0}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"seconds": 3601}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"seconds": -5}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"seconds": 2.5}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"seconds": "30"}), StatusCode::BAD_REQUEST),
        (json!({"seconds": 30, "why": "x"}), StatusCode::BAD_REQUEST),
        (json!({}), StatusCode::BAD_REQUEST),
    ] {
        let (status, problem) = call(&desk, "POST", "/api/desk/wrap-up/extend", Some(&body)).await;
        assert_eq!(status, expected, "{body} → {problem}");
    }
    let (status, _) = call(&desk, "GET", "/api/desk/wrap-up/extend", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

fn agent_state(device: &str, state: RequestedAgentState, reason: Option<&str>) -> CommandAction {
    CommandAction::AgentState {
        device: device.into(),
        agent_id: "2001".into(),
        state,
        reason_code: reason.map(str::to_owned),
    }
}

#[tokio::test]
async fn when_a_ready_agent_takes_calls_on_the_mobile_should_move_them_there_and_show_it() {
    // GIVEN agent01 ready at the desk phone 2001, with the mobile extension 2901
    let desk = desk().await;
    let now = Utc::now();
    desk.router.state.set_agent(AgentPresence {
        agent_id: Some("2001".into()),
        state: AgentState::Ready,
        since: Some(now - TimeDelta::seconds(60)),
        ..AgentPresence::new("2001")
    });
    let (status, view) = call(&desk, "GET", "/api/desk", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        view["phone"],
        json!({"using": "desk", "desk": "2001",
               "mobile": {"device": "2901", "number": "+420601000001"}})
    );
    // WHEN the agent switches to the mobile
    let (status, accepted) = call(
        &desk,
        "PUT",
        "/api/desk/phone",
        Some(&json!({"phone": "mobile"})),
    )
    .await;
    // THEN the PBX is told: off the desk phone, on at the mobile extension, ready there
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["requested"], "phone");
    assert_eq!(
        desk.router.signals.commands(),
        [
            agent_state("2001", RequestedAgentState::LoggedOff, None),
            agent_state("2901", RequestedAgentState::LoggedOn, None),
            agent_state("2901", RequestedAgentState::Ready, None),
        ]
    );
    // AND once the PBX reports it, the desk is at the mobile
    desk.router.state.set_agent(AgentPresence {
        agent_id: Some("2001".into()),
        state: AgentState::LoggedOff,
        since: Some(now),
        ..AgentPresence::new("2001")
    });
    desk.router.state.set_agent(AgentPresence {
        agent_id: Some("2001".into()),
        state: AgentState::Ready,
        since: Some(now - TimeDelta::seconds(1)),
        ..AgentPresence::new("2901")
    });
    let (_, view) = call(&desk, "GET", "/api/desk", None).await;
    assert_eq!(view["device"], "2901");
    assert_eq!(view["phone"]["using"], "mobile");
    assert_eq!(view["presence"]["state"], "ready");
}

#[tokio::test]
async fn when_the_agent_is_on_the_mobile_should_refuse_an_answer_from_the_desk() {
    // GIVEN agent01 at the mobile extension 2901 with a call ringing there
    let desk = desk().await;
    let now = Utc::now();
    let mut mobile = AgentPresence {
        agent_id: Some("2001".into()),
        state: AgentState::Ready,
        since: Some(now - TimeDelta::seconds(60)),
        ..AgentPresence::new("2901")
    };
    mobile.calls.insert(
        "r1/c1".into(),
        linka_shared::cti_state::DeviceCall {
            relay_id: "r1".into(),
            call_id: "c1".into(),
            contact_id: "r1:1:c1".into(),
            state: linka_shared::cti_state::LocalState::Alerting,
            since: now,
            remote: Some("+420777000111".into()),
            direction: linka_shared::cti_state::CallDirection::Inbound,
            queue: None,
        },
    );
    desk.router.state.set_agent(mobile);
    // WHEN the agent presses Přijmout at the desk
    let (status, problem) = call(&desk, "POST", "/api/desk/calls/r1/c1/answer", None).await;
    // THEN it is refused with the reason, and no command goes to the PBX
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "answer-on-mobile");
    // AND hanging up works as on the desk phone
    let (status, _) = call(&desk, "POST", "/api/desk/calls/r1/c1/hangup", None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(matches!(
        desk.router.signals.commands().as_slice(),
        [CommandAction::Hangup { device, .. }] if device == "2901"
    ));
    // AND the agent cannot move to the desk phone while the call is there
    let (status, problem) = call(
        &desk,
        "PUT",
        "/api/desk/phone",
        Some(&json!({"phone": "desk"})),
    )
    .await;
    assert_eq!(
        (status, &problem["code"]),
        (StatusCode::CONFLICT, &json!("phone-busy"))
    );
}

#[tokio::test]
async fn when_the_agent_has_no_mobile_or_asks_for_an_unknown_phone_should_refuse_it() {
    let desk = desk().await;
    let agent02 = token("agent02", &["agent"]);
    let response = handle(
        &desk,
        request_with(
            "PUT",
            "/api/desk/phone",
            Some(&agent02),
            Some(&json!({"phone": "mobile"})),
        ),
    )
    .await;
    // agent02 has no phone at all
    assert_eq!(response.status(), StatusCode::CONFLICT);
    for body in [
        json!({"phone": "fax"}),
        json!({}),
        json!({"phone": "mobile", "x": 1}),
    ] {
        let (status, _) = call(&desk, "PUT", "/api/desk/phone", Some(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert!(desk.router.signals.commands().is_empty());
}
