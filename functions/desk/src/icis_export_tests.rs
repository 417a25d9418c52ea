//! Behaviour of `GET /api/icis/contacts` on the in-memory adapters.

use chrono::{DateTime, TimeZone};
use lambda_http::http::StatusCode;
use linka_shared::{
    adapters::{memory::InMemoryAuditLog, InMemoryContactRecordStore, InMemoryConversationStore},
    chat::{ChatChannel, Conversation, PostMessage, StartConversation},
    ports::{ChatWrite, Versioned},
    testing::{StaticJwks, TestIssuer},
};
use serde_json::{json, Value};

use super::*;
use crate::test_support::{request, token, voice_record};

type Deps = IcisExportDeps<StaticJwks, InMemoryContactRecordStore, InMemoryAuditLog>;

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, hour, minute, 0).unwrap()
}

fn call(id: &str, started_at: DateTime<Utc>) -> ContactRecord {
    voice_record(
        id,
        started_at,
        chrono::Duration::minutes(3),
        &["agent01"],
        "+420777000111",
    )
}

/// An SMS conversation `id` with a customer message and an agent's answer, and its record.
async fn sms(
    conversations: &InMemoryConversationStore,
    id: &str,
    now: DateTime<Utc>,
) -> ContactRecord {
    let start: StartConversation = serde_json::from_value(json!({
        "clientToken": format!("t-{id}"), "customer": {"phone": "+420777000999"}
    }))
    .unwrap();
    let (mut conversation, _) = Conversation::start(id, &start, ChatChannel::Sms, "m0", now);
    let post: PostMessage =
        serde_json::from_value(json!({"text": "Kdy přijde karta?", "clientMessageId": "c1"}))
            .unwrap();
    let question = conversation.post("m1", &post, now).unwrap();
    conversation.agent = Some("agent01".to_owned());
    let answer = conversation
        .post_as_agent("m2", "agent01", "Do týdne.", None, now)
        .unwrap();
    let messages = vec![question, answer];
    let record = ContactRecord::from_conversation(&conversation);
    conversations
        .save(&ChatWrite {
            conversation: Versioned {
                value: conversation,
                version: 0,
            },
            messages,
            alias: None,
            load: None,
        })
        .await
        .unwrap();
    record
}

async fn setup() -> (Deps, InMemoryAuditLog) {
    let records = InMemoryContactRecordStore::new();
    let conversations = InMemoryConversationStore::new();
    records.insert(call("prg-1:1:1", at(8, 0)));
    records.insert(sms(&conversations, "s1", at(9, 0)).await);
    records.insert(call("prg-1:1:2", at(10, 0)));
    // The next day in Prague (00:30 CET), outside a one-day export of the 27th.
    records.insert(call("prg-1:1:3", at(23, 30)));
    let audit = InMemoryAuditLog::new();
    (
        IcisExportDeps {
            validator: TestIssuer::primary().validator(),
            records,
            conversations: Arc::new(conversations),
            audit: audit.clone(),
        },
        audit,
    )
}

async fn get(deps: &Deps, path: &str, roles: &[&str]) -> (StatusCode, Value) {
    let token = token("icis", roles);
    let response = handle(deps, request("GET", path, Some(&token))).await;
    let status = response.status();
    (
        status,
        serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null),
    )
}

fn ids(body: &Value) -> Vec<&str> {
    body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contactId"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn when_icis_exports_a_day_should_get_every_contact_with_the_sms_texts() {
    let (deps, audit) = setup().await;
    let (status, body) = get(&deps, "/api/icis/contacts?from=2026-11-27", &["icis"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), ["prg-1:1:1", "chat:s1", "prg-1:1:2"]);
    assert_eq!(
        (&body["from"], &body["to"]),
        (&json!("2026-11-27"), &json!("2026-11-27"))
    );
    assert_eq!(body["next"], Value::Null);
    let sms = &body["contacts"][1];
    assert_eq!(sms["channel"], "sms");
    assert_eq!(sms["direction"], "inbound");
    assert_eq!(sms["number"], "+420777000999");
    let texts: Vec<(&str, &str)> = sms["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["from"].as_str().unwrap(), m["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        texts,
        [("customer", "Kdy přijde karta?"), ("agent", "Do týdne.")]
    );
    assert_eq!(body["contacts"][0]["messages"], Value::Null);
    assert_eq!(body["contacts"][0]["durationSeconds"], 180);
    // Audited with the period and the number of records.
    let records = audit.records();
    let record = records.last().unwrap();
    assert_eq!(record.action, AuditAction::ContactsExport);
    assert_eq!(record.status, 200);
    assert_eq!(record.details["from"], "2026-11-27");
    assert_eq!(record.details["contacts"], "3");
}

#[tokio::test]
async fn when_the_export_is_paged_should_follow_the_cursor_into_the_next_day() {
    let (deps, _) = setup().await;
    let mut path = "/api/icis/contacts?from=2026-11-27&to=2026-11-28&limit=2".to_owned();
    let mut pages = Vec::new();
    loop {
        let (status, body) = get(&deps, &path, &["icis"]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages.push(ids(&body).join(","));
        match body["next"].as_str() {
            Some(next) => {
                path = format!(
                    "/api/icis/contacts?from=2026-11-27&to=2026-11-28&limit=2&cursor={next}"
                )
            }
            None => break,
        }
    }
    assert_eq!(pages, ["prg-1:1:1,chat:s1", "prg-1:1:2,prg-1:1:3"]);
}

#[tokio::test]
async fn when_only_text_channels_are_asked_for_should_leave_out_calls() {
    let (deps, _) = setup().await;
    let (status, body) = get(
        &deps,
        "/api/icis/contacts?from=2026-11-27&channels=sms,email",
        &["admin"],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), ["chat:s1"]);
}

#[tokio::test]
async fn when_the_query_is_wrong_should_answer_400_naming_each_parameter() {
    let (deps, audit) = setup().await;
    let (status, body) = get(
        &deps,
        "/api/icis/contacts?from=27.11.2026&channels=fax&limit=0",
        &["icis"],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid-parameter");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["from", "channels", "limit"]);
    // A cursor of another period is refused, not silently restarted.
    let (_, first) = get(
        &deps,
        "/api/icis/contacts?from=2026-11-27&to=2026-11-28&limit=1",
        &["icis"],
    )
    .await;
    let next = first["next"].as_str().unwrap();
    let (status, body) = get(
        &deps,
        &format!("/api/icis/contacts?from=2026-11-28&cursor={next}"),
        &["icis"],
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid-cursor"))
    );
    let (status, _) = get(
        &deps,
        "/api/icis/contacts?from=2026-11-27&cursor=%%%",
        &["icis"],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(audit
        .records()
        .iter()
        .all(|r| r.action == AuditAction::ContactsExport));
}

#[tokio::test]
async fn when_an_agent_or_the_chatbot_asks_should_be_forbidden() {
    let (deps, audit) = setup().await;
    for roles in [&["agent"][..], &["supervisor"], &["chatbot"]] {
        let (status, body) = get(&deps, "/api/icis/contacts?from=2026-11-27", roles).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{roles:?}");
        assert_eq!(body["code"], "forbidden");
    }
    assert_eq!(audit.records().len(), 3);
    assert!(audit.records().iter().all(|r| r.status == 403));
    let response = handle(
        &deps,
        request("GET", "/api/icis/contacts?from=2026-11-27", None),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = handle(&deps, request("POST", "/api/icis/contacts", None)).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn when_asked_which_routes_it_serves_should_claim_only_its_own() {
    assert!(handles(&Method::GET, "/api/icis/contacts"));
    assert!(handles(&Method::POST, "/api/icis/contacts/"));
    for path in [
        "/api/icis",
        "/api/icis/contactsX",
        "/api/contacts/x",
        "/api/icisx/contacts",
    ] {
        assert!(!handles(&Method::GET, path), "{path}");
    }
}
