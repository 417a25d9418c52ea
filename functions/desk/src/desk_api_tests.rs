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
use crate::test_support::{desk_with, request_with, token, Desk};

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
