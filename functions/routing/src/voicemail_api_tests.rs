//! Behaviour of `/api/voicemails…` on the in-memory adapters, from the sample events.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use lambda_http::{http::StatusCode, Body, Request};
use linka_shared::{
    adapters::{
        memory::{InMemoryAuditLog, InMemoryUserDirectory},
        FakeVoicemailAudio, InMemoryRoutingStateStore, InMemoryVoicemailStore,
    },
    audit::AuditAction,
    ports::SignalError,
    routing_live::RoutingTrigger,
    routing_settings::{
        DEVICES_ID, PLAN_ID, QUEUE_ROUTING_COLLECTION, ROUTING_SETTINGS_COLLECTION,
    },
    testing::{StaticJwks, TestIssuer},
    users::User,
    voicemail::voicemail_audio_key,
};
use serde_json::{json, Value};

use super::*;

const LIST: &str = include_str!("../../../events/apigw-http/list-voicemails.json");
const ASSIGN: &str = include_str!("../../../events/apigw-http/post-voicemail-assign.json");

// ---------------------------------------------------------------------------------------------
// Fixture: queue `kkc` with members jana and petr; `ext` with karel
// ---------------------------------------------------------------------------------------------

use crate::router::tests::StaticConfig;

/// Voicemail sends no signals.
struct NoSignals;

#[async_trait]
impl RoutingSignals for NoSignals {
    async fn command(&self, _command: &cti_events::CtiCommand) -> Result<(), SignalError> {
        Ok(())
    }

    async fn trigger(
        &self,
        _trigger: &RoutingTrigger,
        _delay_seconds: u32,
    ) -> Result<(), SignalError> {
        Ok(())
    }
}

fn always_open() -> Value {
    let day = json!([{"start": "00:00", "end": "23:59"}]);
    json!({
        "timezone": "Europe/Prague",
        "weekly": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                   "friday": day, "saturday": day, "sunday": day},
        "exceptions": [], "closedOnPublicHolidays": false
    })
}

fn user(username: &str, number: &str) -> User {
    serde_json::from_value(json!({
        "username": username, "displayName": username, "roles": ["agent"],
        "agentNumber": number, "active": true,
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
    }))
    .unwrap()
}

fn member(queue: &str, username: &str) -> Value {
    json!({"queueId": queue, "username": username, "skillLevel": 5, "priority": 5})
}

fn queue(config: StaticConfig, id: &str, members: &[&str]) -> StaticConfig {
    let mut config = config
        .with(
            "queue",
            id,
            json!({"queueId": id, "name": id.to_uppercase(), "priority": 5, "schedule": always_open()}),
        )
        .with(
            QUEUE_ROUTING_COLLECTION,
            id,
            json!({"queueId": id, "wrapUpSeconds": 15, "whenNobodyLoggedIn": {"action": "wait"}}),
        );
    for name in members {
        config = config.with(
            &linka_shared::admin_config::members_collection(id),
            name,
            member(id, name),
        );
    }
    config
}

fn config() -> StaticConfig {
    let config = queue(StaticConfig::default(), "kkc", &["jana", "petr"]);
    queue(config, "ext", &["karel"])
        .with(
            ROUTING_SETTINGS_COLLECTION,
            PLAN_ID,
            json!({"rules": [{"ruleId": "kkc", "when": {"dialled": ["5000"]},
                              "entry": {"kind": "queue", "queueId": "kkc"}}]}),
        )
        .with(
            ROUTING_SETTINGS_COLLECTION,
            DEVICES_ID,
            json!({"queues": {"kkc": "5100", "ext": "5101"}, "announcements": {},
                   "defaultAnnouncement": "6900"}),
        )
}

type Deps = VoicemailDeps<
    StaticJwks,
    InMemoryRoutingStateStore,
    InMemoryUserDirectory,
    NoSignals,
    InMemoryAuditLog,
>;

struct Setup {
    deps: Deps,
    store: InMemoryVoicemailStore,
    audit: InMemoryAuditLog,
}

fn setup() -> Setup {
    let store = InMemoryVoicemailStore::new();
    let audit = InMemoryAuditLog::new();
    let router = Router::new(
        InMemoryRoutingStateStore::new(),
        InMemoryUserDirectory::new([
            user("jana", "2001"),
            user("petr", "2002"),
            user("karel", "2003"),
        ]),
        NoSignals,
        Arc::new(config()),
        20,
        Duration::from_secs(60),
    );
    let deps = VoicemailDeps {
        validator: TestIssuer::primary().validator(),
        router,
        store: Arc::new(store.clone()),
        audio: Arc::new(FakeVoicemailAudio::new()),
        audit: audit.clone(),
    };
    Setup { deps, store, audit }
}

/// A voicemail left in `queue` by the call `call_key`, as the IVR runtime stores it.
async fn left(s: &Setup, queue: &str, call_key: &str) -> String {
    let voicemail = Voicemail::from_recording(
        call_key,
        queue,
        Some("601 123 456"),
        BTreeMap::from([("problem".to_owned(), "prukaz".to_owned())]),
        &voicemail_audio_key(queue, call_key),
        42_000,
        Utc::now() - TimeDelta::minutes(5),
    )
    .unwrap();
    let id = voicemail.id.clone();
    s.store
        .save(&Versioned {
            value: voicemail,
            version: 0,
        })
        .await
        .unwrap();
    id
}

fn token(username: &str, roles: &[&str]) -> String {
    TestIssuer::primary().token_for(username, roles)
}

fn event(json: &str, token: Option<&str>) -> Request {
    let mut request = lambda_http::request::from_str(json).unwrap();
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

/// The assign sample turned into `POST /api/voicemails/{id}/{action}`.
fn action(id: &str, action: &str, token: &str) -> Request {
    event(
        &ASSIGN.replace("VOICEMAIL_ID/assign", &format!("{id}/{action}")),
        Some(token),
    )
}

/// The assign sample turned into `GET /api/voicemails/{id}`.
fn read(id: &str, token: &str) -> Request {
    let json = ASSIGN
        .replace("VOICEMAIL_ID/assign", id)
        .replace("\"POST", "\"GET")
        .replace("\"body\": \"{}\",", "");
    event(&json, Some(token))
}

fn with_body(mut request: Request, body: &str) -> Request {
    *request.body_mut() = Body::from(body.to_owned());
    request
}

fn list_of(queue: Option<&str>, view: &str, token: &str) -> Request {
    let query = match queue {
        Some(queue) => format!("queueId={queue}&view={view}"),
        None => format!("view={view}"),
    };
    let params = match queue {
        Some(queue) => format!("\"queueId\": \"{queue}\",\n    \"view\": \"{view}\""),
        None => format!("\"view\": \"{view}\""),
    };
    let json = LIST
        .replace("queueId=kkc&view=open", &query)
        .replace("\"queueId\": \"kkc\",\n    \"view\": \"open\"", &params);
    event(&json, Some(token))
}

async fn call(deps: &Deps, request: Request) -> (StatusCode, Value) {
    let response = function_handler(deps, request).await.unwrap();
    let status = response.status();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (status, body)
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn when_there_is_no_token_should_answer_401_and_change_nothing() {
    let s = setup();
    let id = left(&s, "kkc", "relay-1/call-1").await;
    let (status, body) = call(&s.deps, event(LIST, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token-missing");
    let json = ASSIGN.replace("VOICEMAIL_ID", &id);
    let (status, _) = call(&s.deps, event(&json, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.store.all()[0].status.as_str(), "new");
    assert!(s.audit.records().is_empty());
}

#[tokio::test]
async fn when_an_agent_lists_should_see_only_the_queues_they_are_a_member_of() {
    let s = setup();
    let kkc = left(&s, "kkc", "relay-1/call-1").await;
    let ext = left(&s, "ext", "relay-1/call-2").await;
    let jana = token("jana", &["agent"]);
    // The sample: kkc, open.
    let (status, list) = call(&s.deps, event(LIST, Some(&jana))).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), vec![kkc.clone()]);
    assert_eq!(list["items"][0]["caller"], "+420601123456");
    assert_eq!(list["items"][0]["attributes"]["problem"], "prukaz");
    // Without a queue: all of Jana's queues, which is kkc only.
    let (status, list) = call(&s.deps, list_of(None, "open", &jana)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), vec![kkc.clone()]);
    // Another queue: refused.
    let (status, body) = call(&s.deps, list_of(Some("ext"), "open", &jana)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "queue-not-allowed");
    // A supervisor sees every queue.
    let (status, list) = call(
        &s.deps,
        list_of(None, "open", &token("vera", &["supervisor"])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut all = ids(&list);
    all.sort();
    let mut expected = vec![kkc, ext.clone()];
    expected.sort();
    assert_eq!(all, expected);
    // A wallboard has no permission at all.
    let (status, body) = call(&s.deps, event(LIST, Some(&token("board", &["wallboard"])))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden");
    // A message of another queue is as if it did not exist.
    let (status, body) = call(&s.deps, read(&ext, &jana)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "voicemail-not-found");
    // A bad view is a clear 400.
    let (status, body) = call(&s.deps, list_of(Some("kkc"), "all", &jana)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "view");
}

#[tokio::test]
async fn when_an_agent_reads_a_voicemail_should_get_a_playback_url_valid_15_minutes() {
    let s = setup();
    let id = left(&s, "kkc", "relay-1/call-1").await;
    let (status, body) = call(&s.deps, read(&id, &token("petr", &["agent"]))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["status"], "new");
    assert_eq!(body["durationMs"], 42_000);
    assert_eq!(
        body["playbackUrl"],
        format!(
            "memory://voicemail/{}?method=GET&expires=900",
            voicemail_audio_key("kkc", "relay-1/call-1")
        )
    );
    assert!(body["playbackExpiresAt"].is_string());
    let records = s.audit.records();
    assert_eq!(records[0].action, AuditAction::VoicemailRead);
    assert_eq!(records[0].target.as_deref(), Some(id.as_str()));
}

#[tokio::test]
async fn when_an_agent_assigns_should_lock_out_other_agents_but_not_a_supervisor() {
    let s = setup();
    let id = left(&s, "kkc", "relay-1/call-1").await;
    let jana = token("jana", &["agent"]);
    let petr = token("petr", &["agent"]);
    // Jana takes it (no agent: herself).
    let (status, body) = call(&s.deps, action(&id, "assign", &jana)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "assigned");
    assert_eq!(body["agent"], "jana");
    assert_eq!(body["assignedBy"], "jana");
    // Petr cannot take it.
    let (status, body) = call(&s.deps, action(&id, "assign", &petr)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "voicemail-assigned");
    // Nor release or settle it.
    let (status, body) = call(&s.deps, action(&id, "release", &petr)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "voicemail-assigned");
    let (status, _) = call(&s.deps, action(&id, "done", &petr)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Nor assign it to someone else, even a new one.
    let other = left(&s, "kkc", "relay-1/call-2").await;
    let (status, body) = call(
        &s.deps,
        with_body(action(&other, "assign", &jana), r#"{"agent":"petr"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "assign-not-allowed");
    // A supervisor hands Jana's to Petr.
    let vera = token("vera", &["supervisor"]);
    let (status, body) = call(
        &s.deps,
        with_body(action(&id, "assign", &vera), r#"{"agent":"petr"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["agent"], "petr");
    assert_eq!(body["assignedBy"], "vera");
    // But not to someone outside the queue.
    let (status, body) = call(
        &s.deps,
        with_body(action(&id, "assign", &vera), r#"{"agent":"karel"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "agent");
    // Petr gives it back: new again.
    let (status, body) = call(&s.deps, action(&id, "release", &petr)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "new");
    let actions: Vec<(AuditAction, Option<String>)> = s
        .audit
        .records()
        .iter()
        .map(|r| (r.action, r.details.get("action").cloned()))
        .collect();
    assert_eq!(
        actions[0],
        (AuditAction::VoicemailUpdate, Some("assign".to_owned()))
    );
    assert!(actions
        .iter()
        .all(|(action, _)| *action == AuditAction::VoicemailUpdate));
}

#[tokio::test]
async fn when_done_should_leave_the_open_list_for_the_closed_one_and_take_only_notes() {
    let s = setup();
    let id = left(&s, "kkc", "relay-1/call-1").await;
    let jana = token("jana", &["agent"]);
    let (status, _) = call(&s.deps, action(&id, "assign", &jana)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &s.deps,
        with_body(
            action(&id, "notes", &jana),
            r#"{"text":"Volala jsem zpět, nedostupná."}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["notes"][0]["by"], "jana");
    let (status, body) = call(&s.deps, action(&id, "done", &jana)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "done");
    assert_eq!(body["doneBy"], "jana");
    // Gone from the open list, in the closed one.
    let (_, open) = call(&s.deps, list_of(Some("kkc"), "open", &jana)).await;
    assert!(ids(&open).is_empty());
    let (status, closed) = call(&s.deps, list_of(Some("kkc"), "closed", &jana)).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(ids(&closed), vec![id.clone()]);
    // Done is final, but a note is still taken.
    let (status, body) = call(&s.deps, action(&id, "assign", &jana)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "voicemail-done");
    let (status, body) = call(
        &s.deps,
        with_body(
            action(&id, "notes", &jana),
            r#"{"text":"Vyřízeno e-mailem."}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["notes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn when_input_is_wrong_should_answer_with_a_clear_problem() {
    let s = setup();
    let id = left(&s, "kkc", "relay-1/call-1").await;
    let jana = token("jana", &["agent"]);
    // Unknown id.
    let (status, body) = call(&s.deps, read("4b1e0f52-0000-5000-8000-000000000000", &jana)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "voicemail-not-found");
    let (status, body) = call(&s.deps, action("nope", "done", &jana)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "voicemail-not-found");
    // Unknown action.
    let (status, body) = call(&s.deps, action(&id, "archive", &jana)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "route-not-found");
    // Empty and overlong notes.
    let (status, body) = call(
        &s.deps,
        with_body(action(&id, "notes", &jana), r#"{"text":" "}"#),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "text");
    let long = format!(r#"{{"text":"{}"}}"#, "a".repeat(2001));
    let (status, _) = call(&s.deps, with_body(action(&id, "notes", &jana), &long)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = call(&s.deps, with_body(action(&id, "notes", &jana), "")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid-body");
    // Unknown fields and an empty agent.
    let (status, _) = call(
        &s.deps,
        with_body(action(&id, "assign", &jana), r#"{"who":"jana"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = call(
        &s.deps,
        with_body(action(&id, "assign", &jana), r#"{"agent":" "}"#),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "agent");
    // Releasing what nobody holds.
    let (status, body) = call(&s.deps, action(&id, "release", &jana)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "voicemail-not-assigned");
    // Nothing changed, and every call was audited.
    assert_eq!(s.store.all()[0].status.as_str(), "new");
    assert!(s.store.all()[0].notes.is_empty());
    let records = s.audit.records();
    // (the unknown action is answered before sign-in is checked: not audited)
    assert_eq!(records.len(), 8);
    assert_eq!(records[0].action, AuditAction::VoicemailRead);
    assert!(records[1..]
        .iter()
        .all(|r| r.action == AuditAction::VoicemailUpdate));
}

#[tokio::test]
async fn when_listing_should_audit_the_list_and_order_new_before_assigned() {
    let s = setup();
    let first = left(&s, "kkc", "relay-1/call-1").await;
    let second = left(&s, "kkc", "relay-1/call-2").await;
    let jana = token("jana", &["agent"]);
    let (status, _) = call(&s.deps, action(&first, "assign", &jana)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, list) = call(&s.deps, event(LIST, Some(&jana))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&list), vec![second, first]);
    let actions: Vec<AuditAction> = s.audit.records().iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        vec![AuditAction::VoicemailUpdate, AuditAction::VoicemailsList]
    );
}

#[test]
fn when_routes_are_resolved_should_match_the_route_list() {
    for (method, path) in ROUTES {
        let method: Method = method.parse().unwrap();
        let path = path.replace("{voicemailId}", "0a1b");
        assert!(
            matches!(resolve(&method, &path), Resolution::Found(_)),
            "{method} {path}"
        );
    }
    assert!(matches!(
        resolve(&Method::DELETE, "/api/voicemails/0a1b"),
        Resolution::MethodNotAllowed("GET")
    ));
    assert!(matches!(
        resolve(&Method::GET, "/api/voicemailsx"),
        Resolution::NotFound
    ));
}
