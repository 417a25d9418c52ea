//! Behaviour of the contact record routes on the in-memory adapters.

use std::collections::BTreeMap;

use chrono::TimeZone;
use lambda_http::http::StatusCode;
use linka_shared::{
    adapters::{
        memory::{InMemoryAuditLog, InMemoryConnectionStore, RecordingNotifier},
        InMemoryClientStore, InMemoryConfigStore, InMemoryContactRecordStore,
    },
    audit::AuditContext,
    ports::ConfigWrite,
    testing::{StaticJwks, TestIssuer},
};
use serde_json::{json, Map, Value};

use super::*;

type Deps = ContactsDeps<
    StaticJwks,
    InMemoryContactRecordStore,
    InMemoryClientStore,
    InMemoryConfigStore,
    InMemoryAuditLog,
>;

struct Setup {
    deps: Deps,
    records: InMemoryContactRecordStore,
    audit: InMemoryAuditLog,
    /// The `contact` pushes sent.
    pushed: Arc<RecordingNotifier>,
}

/// Open desks: agent01 in two tabs, agent02 and agent03 in one each.
fn connections() -> InMemoryConnectionStore {
    let open = |id: &str, username: &str| {
        let principal = Principal {
            subject: format!("sub-{username}"),
            username: username.into(),
            display_name: None,
            roles: [Role::Agent].into(),
            client_id: None,
        };
        linka_shared::realtime::Connection::open(id, &principal, at(0))
    };
    InMemoryConnectionStore::default().with_connections([
        open("tab-1a", "agent01"),
        open("tab-1b", "agent01"),
        open("tab-2", "agent02"),
        open("tab-3", "agent03"),
    ])
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 8, minute, 0).unwrap()
}

fn contact(id: &str, minute: u32, agents: &[&str], number: &str) -> ContactRecord {
    crate::test_support::voice_record(id, at(minute), chrono::Duration::minutes(1), agents, number)
}

async fn setup() -> Setup {
    let records = InMemoryContactRecordStore::new();
    records.insert(contact("prg-1:1:1", 0, &["agent01"], "+420777000111"));
    let mut noted = contact("prg-1:1:2", 5, &["agent01", "agent02"], "+420777000222");
    noted
        .add_note(
            "Paní Dvořáková volala kvůli PŘEPLATKU",
            None,
            "agent02",
            at(6),
        )
        .unwrap();
    records.insert(noted);
    records.insert(contact("prg-1:1:3", 10, &["agent02"], "+420777000333"));
    let clients = InMemoryClientStore::new();
    clients
        .batch_put(&[Versioned {
            value: Client {
                client_id: "10000001".to_owned(),
                icis_id: Some("10000001".to_owned()),
                status: "standard".to_owned(),
                fields: BTreeMap::from([
                    ("firstName".to_owned(), "Jana".to_owned()),
                    ("lastName".to_owned(), "Dvořáková".to_owned()),
                ]),
                updated_at: at(0),
                updated_by: "icis".to_owned(),
            },
            version: 0,
        }])
        .await
        .unwrap();
    let config = InMemoryConfigStore::new(InMemoryAuditLog::new());
    let audit_record = AuditRecord::new(
        &AuditContext::default(),
        AuditAction::ConfigCreate,
        None,
        201,
        Utc::now(),
    );
    for (id, active) in [("platby", true), ("stara", false)] {
        config
            .write(
                &ConfigWrite::Create {
                    collection: CallCategory::COLLECTION.to_owned(),
                    id: id.to_owned(),
                    document: json!({"categoryId": id, "name": id, "active": active}),
                },
                &audit_record,
            )
            .await
            .unwrap();
    }
    let audit = InMemoryAuditLog::new();
    let pushed = Arc::new(RecordingNotifier::new());
    Setup {
        deps: ContactsDeps {
            validator: TestIssuer::primary().validator(),
            records: records.clone(),
            clients,
            config,
            audit: audit.clone(),
            pushes: Some(ContactPushes {
                connections: Arc::new(connections()),
                notifier: pushed.clone(),
            }),
        },
        records,
        audit,
        pushed,
    }
}

/// An API Gateway v2 event for `method path?query` with a JSON body.
fn request(method: &str, path: &str, body: Option<Value>, token: Option<&str>) -> Request {
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let parameters: Map<String, Value> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), Value::String(value.to_owned()))
        })
        .collect();
    let mut headers = Map::new();
    headers.insert("content-type".into(), json!("application/json"));
    if let Some(token) = token {
        headers.insert("authorization".into(), json!(format!("Bearer {token}")));
    }
    let mut event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": raw_path, "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "tests"},
            "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "28/Nov/2026:09:00:00 +0000", "timeEpoch": 1_795_856_400_000_i64
        },
        "isBase64Encoded": false
    });
    if !parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(parameters);
    }
    if let Some(body) = body {
        event["body"] = Value::String(body.to_string());
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

async fn send_as(
    s: &Setup,
    user: &str,
    roles: &[&str],
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let token = TestIssuer::primary().token_for(user, roles);
    let response = handle(&s.deps, request(method, path, body, Some(&token))).await;
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (status, body)
}

async fn send(s: &Setup, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    send_as(s, "agent01", &["agent"], method, path, body).await
}

fn contact_ids(body: &Value) -> Vec<&str> {
    body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contactId"].as_str().unwrap())
        .collect()
}

#[test]
fn when_asked_which_routes_it_serves_should_claim_only_its_own() {
    for path in [
        "/api/contacts/prg-1:1:1",
        "/api/contacts/prg-1%3A1%3A1/notes",
        "/api/contacts/x/category",
        "/api/contacts/x/client",
        "/api/contacts/x/data",
        "/api/clients/10000001/contacts",
        "/api/desk/history",
        "/api/desk/recent",
    ] {
        assert!(handles(&Method::GET, path), "{path}");
    }
    for path in [
        "/api/clients",
        "/api/clients/10000001",
        "/api/client-fields",
        "/api/desk",
        "/api/desk/presence",
        "/api/contacts",
        "/api/contacts/x/other",
        "/api/voicemails",
    ] {
        assert!(!handles(&Method::GET, path), "{path}");
    }
}

#[tokio::test]
async fn when_an_agent_reads_a_contact_should_get_the_record_and_an_audit_record() {
    let s = setup().await;
    let (status, body) = send(&s, "GET", "/api/contacts/prg-1%3A1%3A2", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["contactId"], "prg-1:1:2");
    assert_eq!(body["agents"], json!(["agent01", "agent02"]));
    assert_eq!(body["note"]["version"], 1);
    assert_eq!(body["durationSeconds"], 60);
    assert!(body.get("notesText").is_none());
    let audit = s.audit.records();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, AuditAction::ContactRead);
    assert_eq!(audit[0].target.as_deref(), Some("prg-1:1:2"));
}

#[tokio::test]
async fn when_a_contact_does_not_exist_or_the_caller_is_not_allowed_should_refuse() {
    let s = setup().await;
    let (status, body) = send(&s, "GET", "/api/contacts/prg-1:9:9", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("contact-not-found"))
    );
    let (status, _) = send_as(
        &s,
        "wall",
        &["wallboard"],
        "GET",
        "/api/contacts/prg-1:1:1",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = handle(
        &s.deps,
        request("GET", "/api/contacts/prg-1:1:1", None, None),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = send(&s, "DELETE", "/api/contacts/prg-1:1:1", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn when_notes_are_amended_should_keep_every_version_and_refuse_a_stale_base() {
    let s = setup().await;
    // GIVEN contact 2 with note version 1
    // WHEN agent01, who took part, amends it
    let (status, body) = send(
        &s,
        "POST",
        "/api/contacts/prg-1:1:2/notes",
        Some(json!({"text": " Přeplatek vrácen. ", "baseVersion": 1})),
    )
    .await;
    // THEN version 2 is created and both versions are listed
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (body["version"].as_u64(), body["text"].as_str()),
        (Some(2), Some("Přeplatek vrácen."))
    );
    assert_eq!(body["by"], "agent01");
    let (_, notes) = send(&s, "GET", "/api/contacts/prg-1:1:2/notes", None).await;
    let versions: Vec<u64> = notes["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2]);
    assert_eq!(notes["versions"][0]["by"], "agent02");
    // AND a write based on version 1 again is a conflict
    let (status, body) = send(
        &s,
        "POST",
        "/api/contacts/prg-1:1:2/notes",
        Some(json!({"text": "jiná", "baseVersion": 1})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("note-conflict"))
    );
    // AND an empty note is a 422 on text
    let (status, body) = send(
        &s,
        "POST",
        "/api/contacts/prg-1:1:1/notes",
        Some(json!({"text": "  ", "baseVersion": null})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "text");
}

#[tokio::test]
async fn when_an_agent_did_not_take_part_should_not_change_the_contact_but_a_supervisor_may() {
    let s = setup().await;
    let body = json!({"text": "cizí", "baseVersion": null});
    let (status, _) = send(
        &s,
        "POST",
        "/api/contacts/prg-1:1:3/notes",
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send_as(
        &s,
        "supervisor",
        &["supervisor"],
        "POST",
        "/api/contacts/prg-1:1:3/notes",
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn when_the_category_is_set_should_accept_only_an_active_category() {
    let s = setup().await;
    let (status, body) = send(
        &s,
        "PUT",
        "/api/contacts/prg-1:1:1/category",
        Some(json!({"categoryId": "platby"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["categoryId"], "platby");
    for category in ["stara", "neni", "Bad Id!"] {
        let (status, body) = send(
            &s,
            "PUT",
            "/api/contacts/prg-1:1:1/category",
            Some(json!({"categoryId": category})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{category}");
        assert_eq!(body["errors"][0]["field"], "categoryId");
    }
    let audit = s.audit.records();
    assert_eq!(audit[0].action, AuditAction::ContactUpdate);
    assert_eq!(audit[0].details["change"], "category");
}

#[tokio::test]
async fn when_the_client_is_identified_should_name_it_and_list_the_contact_in_its_history() {
    let s = setup().await;
    let (status, body) = send(
        &s,
        "PUT",
        "/api/contacts/prg-1:1:1/client",
        Some(json!({"clientId": "10000001"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["clientName"], "Jana Dvořáková");
    send(
        &s,
        "PUT",
        "/api/contacts/prg-1:1:2/client",
        Some(json!({"clientId": "10000001"})),
    )
    .await;
    let (status, body) = send(&s, "GET", "/api/clients/10000001/contacts", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(contact_ids(&body), ["prg-1:1:2", "prg-1:1:1"]);
    assert_eq!(body["next"], Value::Null);
    let (status, _) = send(
        &s,
        "PUT",
        "/api/contacts/prg-1:1:1/client",
        Some(json!({"clientId": "99999999"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn when_data_is_put_should_replace_it_within_the_limits() {
    let s = setup().await;
    let (status, body) = send(
        &s,
        "PUT",
        "/api/contacts/prg-1:1:1/data",
        Some(json!({"data": {"cisloSmlouvy": "123", "duvod": "platba"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"],
        json!({"cisloSmlouvy": "123", "duvod": "platba"})
    );
    let (status, body) = send(
        &s,
        "PUT",
        "/api/contacts/prg-1:1:1/data",
        Some(json!({"data": {"x": "y".repeat(2001)}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "data.x");
    let (status, _) = send(
        &s,
        "PUT",
        "/api/contacts/prg-1:1:1/data",
        Some(json!({"data": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn when_the_agent_searches_the_history_should_match_without_case_or_diacritics() {
    let s = setup().await;
    let (status, body) = send(&s, "GET", "/api/desk/history", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(contact_ids(&body), ["prg-1:1:2", "prg-1:1:1"]);
    let (_, body) = send(&s, "GET", "/api/desk/history?q=preplatku", None).await;
    assert_eq!(contact_ids(&body), ["prg-1:1:2"]);
    let (_, body) = send(&s, "GET", "/api/desk/history?q=000111", None).await;
    assert_eq!(contact_ids(&body), ["prg-1:1:1"]);
    let (_, body) = send(
        &s,
        "GET",
        "/api/desk/history?from=2026-11-27T08:03:00Z&to=2026-11-27T09:00:00Z",
        None,
    )
    .await;
    assert_eq!(contact_ids(&body), ["prg-1:1:2"]);
    let (status, _) = send(&s, "GET", "/api/desk/history?from=yesterday", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = send(&s, "GET", "/api/desk/history?cursor=bm90", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid-cursor"))
    );
}

#[tokio::test]
async fn when_the_history_is_longer_than_a_page_should_page_by_cursor() {
    let s = setup().await;
    for minute in 0..(PAGE_SIZE as u32 + 5) {
        s.records.insert(contact(
            &format!("prg-2:1:{minute}"),
            minute % 50,
            &["agent05"],
            "+420601000000",
        ));
    }
    let (_, first) = send_as(&s, "agent05", &["agent"], "GET", "/api/desk/history", None).await;
    assert_eq!(first["contacts"].as_array().unwrap().len(), PAGE_SIZE);
    let cursor = first["next"].as_str().unwrap();
    let (_, second) = send_as(
        &s,
        "agent05",
        &["agent"],
        "GET",
        &format!("/api/desk/history?cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(second["contacts"].as_array().unwrap().len(), 5);
    assert_eq!(second["next"], Value::Null);
    // AND another agent cannot use the cursor
    let (status, _) = send(
        &s,
        "GET",
        &format!("/api/desk/history?cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // AND recent shows the last ten without a cursor
    let (_, recent) = send_as(&s, "agent05", &["agent"], "GET", "/api/desk/recent", None).await;
    assert_eq!(
        recent["contacts"].as_array().unwrap().len(),
        RECENT_CONTACTS
    );
    assert!(recent.get("next").is_none());
}

#[tokio::test]
async fn when_the_store_fails_should_answer_500_and_still_audit() {
    let s = setup().await;
    s.records.set_failing(true);
    let (status, _) = send(&s, "GET", "/api/contacts/prg-1:1:1", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(s.audit.records()[0].status, 500);
}

#[tokio::test]
async fn when_a_record_changes_should_push_it_to_every_desk_of_its_agents_only() {
    let s = setup().await;
    // GIVEN contact 2 handled by agent01 and agent02
    // WHEN agent01 adds a note
    let (status, _) = send(
        &s,
        "POST",
        "/api/contacts/prg-1:1:2/notes",
        Some(json!({"text": "Doplněno.", "baseVersion": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // THEN both tabs of agent01 and agent02's desk are told; agent03 is not
    assert_eq!(
        s.pushed.recipients(),
        BTreeSet::from(["tab-1a".to_owned(), "tab-1b".to_owned(), "tab-2".to_owned()])
    );
    assert!(s.pushed.posts().iter().all(|(_, message)| *message
        == PushMessage::Contact {
            contact_id: "prg-1:1:2".into()
        }));
    // AND a refused change pushes nothing
    let before = s.pushed.posts().len();
    let (status, _) = send(
        &s,
        "PUT",
        "/api/contacts/prg-1:1:2/category",
        Some(json!({"categoryId": "stara"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s.pushed.posts().len(), before);
}
