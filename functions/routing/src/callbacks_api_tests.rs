//! Behaviour of `/api/callbacks…` on the in-memory adapters, from the sample events.

use std::sync::Arc;

use lambda_http::{http::StatusCode, Body, Request};
use linka_shared::{
    adapters::{memory::InMemoryAuditLog, InMemoryCallbackStore, InMemoryRoutingStateStore},
    audit::AuditAction,
    cti_state::AgentState,
    testing::{StaticJwks, TestIssuer},
};
use serde_json::{json, Value};

use super::*;
use crate::router::tests::{at, config, fixture, presence, RecordingSignals};

const LIST: &str = include_str!("../../../events/apigw-http/list-callbacks.json");
const CREATE: &str = include_str!("../../../events/apigw-http/post-callback.json");
const CLAIM: &str = include_str!("../../../events/apigw-http/post-callback-claim.json");
const ATTEMPT: &str = include_str!("../../../events/apigw-http/post-callback-attempt.json");

type Deps = CallbacksDeps<
    StaticJwks,
    InMemoryRoutingStateStore,
    linka_shared::adapters::memory::InMemoryUserDirectory,
    RecordingSignals,
    InMemoryAuditLog,
>;

struct Setup {
    deps: Deps,
    store: InMemoryCallbackStore,
    signals: RecordingSignals,
    audit: InMemoryAuditLog,
}

fn setup() -> Setup {
    let f = fixture(config());
    f.state.set_agent(presence("2001", AgentState::Ready, -100));
    f.state.set_agent(presence("2002", AgentState::Ready, -100));
    let store = InMemoryCallbackStore::new();
    let audit = InMemoryAuditLog::new();
    let signals = f.signals.clone();
    let deps = CallbacksDeps {
        validator: TestIssuer::primary().validator(),
        router: f.router.with_callbacks(Arc::new(store.clone())),
        store: Arc::new(store.clone()),
        audit: audit.clone(),
    };
    Setup {
        deps,
        store,
        signals,
        audit,
    }
}

fn token(username: &str, roles: &[&str]) -> String {
    TestIssuer::primary().token_for(username, roles)
}

fn event(json: &str, token: Option<&str>, id: Option<&str>) -> Request {
    let json = match id {
        Some(id) => json.replace("CALLBACK_ID", id),
        None => json.to_owned(),
    };
    let mut request = lambda_http::request::from_str(&json).unwrap();
    match token {
        Some(token) => {
            request.headers_mut().insert(
                lambda_http::http::header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
        }
        None => {
            request
                .headers_mut()
                .remove(lambda_http::http::header::AUTHORIZATION);
        }
    }
    request
}

fn with_body(mut request: Request, body: &str) -> Request {
    *request.body_mut() = Body::from(body.to_owned());
    request
}

async fn call(deps: &Deps, request: Request) -> (StatusCode, Value) {
    let response = function_handler(deps, request).await.unwrap();
    let status = response.status();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (status, body)
}

async fn create(s: &Setup, who: &str) -> String {
    let (status, body) = call(&s.deps, event(CREATE, Some(&token(who, &["agent"])), None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn when_there_is_no_token_should_answer_401_and_store_nothing() {
    let s = setup();
    let (status, body) = call(&s.deps, event(CREATE, None, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token-missing");
    assert!(s.store.all().is_empty());
}

#[tokio::test]
async fn when_an_agent_creates_a_callback_should_store_it_schedule_it_and_list_it() {
    let s = setup();
    let jana = token("jana", &["agent"]);
    let (status, body) = call(&s.deps, event(CREATE, Some(&jana), None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["number"], "+420601123456");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["due"], true);
    assert_eq!(body["createdBy"], "jana");
    assert_eq!(body["source"], json!({"kind": "agent"}));
    assert_eq!(body["notes"][0]["by"], "jana");
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(s.signals.triggers().contains(&(
        RoutingTrigger::CallbackDue {
            callback_id: id.clone()
        },
        1
    )));
    // The same request again: the same callback, not a second one.
    let (again, body) = call(&s.deps, event(CREATE, Some(&jana), None)).await;
    assert_eq!(again, StatusCode::OK);
    assert_eq!(body["id"], id.as_str());
    assert_eq!(s.store.all().len(), 1);
    // Listed for the queue.
    let (status, list) = call(&s.deps, event(LIST, Some(&jana), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], id.as_str());
    let actions: Vec<AuditAction> = s.audit.records().iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        vec![
            AuditAction::CallbackCreate,
            AuditAction::CallbackCreate,
            AuditAction::CallbacksList
        ]
    );
}

#[tokio::test]
async fn when_someone_outside_the_queue_asks_should_refuse() {
    let s = setup();
    // Not a member of kkc.
    let (status, body) = call(
        &s.deps,
        event(LIST, Some(&token("karel", &["agent"])), None),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "queue-not-allowed");
    // A wallboard has no callback permission at all.
    let (status, body) = call(
        &s.deps,
        event(LIST, Some(&token("board", &["wallboard"])), None),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden");
    // A supervisor sees every queue.
    let (status, _) = call(
        &s.deps,
        event(LIST, Some(&token("vera", &["supervisor"])), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A callback of a queue the agent is not in is as if it did not exist.
    let id = create(&s, "jana").await;
    let (status, _) = call(
        &s.deps,
        event(CLAIM, Some(&token("karel", &["agent"])), Some(&id)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn when_an_agent_claims_with_dial_should_dial_from_their_phone_and_lock_out_others() {
    let s = setup();
    let id = create(&s, "jana").await;
    let (status, body) = call(
        &s.deps,
        event(CLAIM, Some(&token("jana", &["agent"])), Some(&id)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "inProgress");
    assert_eq!(body["agent"], "jana");
    assert!(s.signals.commands().contains(&CommandAction::Dial {
        device: "2001".into(),
        to: "+420601123456".into()
    }));
    // Petr cannot take it while Jana's claim holds.
    let (status, body) = call(
        &s.deps,
        event(CLAIM, Some(&token("petr", &["agent"])), Some(&id)),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "callback-claimed");
    // Jana records no answer: open again, due after the retry spacing.
    let (status, body) = call(
        &s.deps,
        event(ATTEMPT, Some(&token("jana", &["agent"])), Some(&id)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["due"], false);
    assert_eq!(body["attempts"][0]["outcome"], "noAnswer");
    assert_eq!(
        s.signals.triggers().last().cloned(),
        Some((RoutingTrigger::CallbackDue { callback_id: id }, 900))
    );
}

#[tokio::test]
async fn when_input_is_wrong_should_answer_with_a_clear_problem() {
    let s = setup();
    let jana = token("jana", &["agent"]);
    let bad_number = CREATE.replace("601 123 456", "800 123 456");
    let (status, body) = call(&s.deps, event(&bad_number, Some(&jana), None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "number");
    let (status, body) = call(
        &s.deps,
        with_body(event(CREATE, Some(&jana), None), "{\"queueId\": 5}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid-body");
    let (status, body) = call(&s.deps, event(CLAIM, Some(&jana), Some("nope"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "callback-not-found");
    let id = create(&s, "jana").await;
    let (status, body) = call(
        &s.deps,
        with_body(
            event(ATTEMPT, Some(&jana), Some(&id)),
            "{\"outcome\":\"maybe\"}",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Recording an attempt without a claim is refused.
    let (status, body) = call(&s.deps, event(ATTEMPT, Some(&jana), Some(&id))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "callback-not-claimed");
}

#[tokio::test]
async fn when_slots_are_asked_for_should_offer_future_slots_of_the_open_queue() {
    let s = setup();
    let mut request = event(LIST, Some(&token("jana", &["agent"])), None);
    *request.uri_mut() =
        "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/callbacks/slots?queueId=kkc"
            .parse()
            .unwrap();
    let request = lambda_http::RequestExt::with_raw_http_path(request, "/api/callbacks/slots");
    let (status, body) = call(&s.deps, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let slots = body["slots"].as_array().unwrap();
    assert!(!slots.is_empty());
    let _ = at(0);
}

#[tokio::test]
async fn when_a_supervisor_settles_a_claimed_callback_should_close_it() {
    let s = setup();
    let id = create(&s, "jana").await;
    let (status, _) = call(
        &s.deps,
        with_body(
            event(CLAIM, Some(&token("jana", &["agent"])), Some(&id)),
            "",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Another agent may not…
    let mut done = event(CLAIM, Some(&token("petr", &["agent"])), Some(&id));
    *done.uri_mut() = format!("https://x/api/callbacks/{id}/done")
        .parse()
        .unwrap();
    let done =
        lambda_http::RequestExt::with_raw_http_path(done, format!("/api/callbacks/{id}/done"));
    let (status, body) = call(&s.deps, with_body(done, "")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // …a supervisor may.
    let mut done = event(CLAIM, Some(&token("vera", &["supervisor"])), Some(&id));
    *done.uri_mut() = format!("https://x/api/callbacks/{id}/done")
        .parse()
        .unwrap();
    let done =
        lambda_http::RequestExt::with_raw_http_path(done, format!("/api/callbacks/{id}/done"));
    let (status, body) = call(&s.deps, with_body(done, "")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "done");
    assert_eq!(body["closedBy"], "vera");
}
