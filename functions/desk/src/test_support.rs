//! The in-memory desk of the handler tests: queues, members, users and a token issuer.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use chrono::Utc;
use lambda_http::Request;
use linka_shared::{
    adapters::{
        memory::{InMemoryAuditLog, InMemoryUserDirectory},
        InMemoryAgentDeskStore, InMemoryConfigStore, InMemoryRoutingStateStore,
    },
    admin_config::members_collection,
    audit::{AuditAction, AuditContext, AuditRecord},
    cti_state::AgentPresence,
    ports::{AgentPresences, ConfigStore, ConfigWrite, RoutingSignals, SignalError, StoreError},
    routing_live::RoutingTrigger,
    routing_settings::{DEVICES_ID, ROUTING_SETTINGS_COLLECTION},
    testing::{StaticJwks, TestIssuer},
    users::User,
};
use routing::router::Router;
use serde_json::{json, Map, Value};

use crate::desk_api::DeskDeps;

/// Signals that only remember the PBX commands sent (routing triggers are dropped).
#[derive(Default)]
pub(crate) struct RecordedSignals {
    commands: Mutex<Vec<cti_events::CommandAction>>,
}

impl RecordedSignals {
    /// The commands sent so far, oldest first.
    pub(crate) fn commands(&self) -> Vec<cti_events::CommandAction> {
        self.commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl RoutingSignals for RecordedSignals {
    async fn command(&self, command: &cti_events::CtiCommand) -> Result<(), SignalError> {
        self.commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(command.action.clone());
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

pub(crate) struct NoPresences;

#[async_trait]
impl AgentPresences for NoPresences {
    async fn agent_presences(&self) -> Result<Vec<AgentPresence>, StoreError> {
        Ok(Vec::new())
    }
}

pub(crate) type Desk = DeskDeps<
    StaticJwks,
    InMemoryRoutingStateStore,
    InMemoryUserDirectory,
    RecordedSignals,
    InMemoryAuditLog,
>;

pub(crate) fn user(username: &str, number: Option<&str>) -> User {
    serde_json::from_value(json!({
        "username": username, "displayName": username, "roles": ["agent"],
        "agentNumber": number, "active": true,
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
    }))
    .unwrap()
}

/// agent01: desk phone 2001, mobile extension 2901 (+420601000001).
pub(crate) fn agent01() -> User {
    let mut agent = user("agent01", Some("2001"));
    agent.mobile = Some(linka_shared::users::MobilePhone {
        device: "2901".into(),
        number: "+420601000001".into(),
    });
    agent
}

pub(crate) fn always_open() -> Value {
    let day = json!([{"start": "00:00", "end": "23:59"}]);
    json!({
        "timezone": "Europe/Prague",
        "weekly": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                   "friday": day, "saturday": day, "sunday": day},
        "exceptions": [], "closedOnPublicHolidays": false
    })
}

/// Queues KKC (device 5100) and AS (5200) with agent01 and agent02 as members, and EXT (5300)
/// without them; agent01 at 2001 (with a mobile extension 2901), agent02 without a phone.
pub(crate) async fn desk() -> Desk {
    desk_with(Vec::new()).await
}

/// [`desk`] with more configuration documents `(collection, id, document)`.
pub(crate) async fn desk_with(extra: Vec<(String, String, Value)>) -> Desk {
    let config = InMemoryConfigStore::new(InMemoryAuditLog::new());
    let record = AuditRecord::new(
        &AuditContext::default(),
        AuditAction::ConfigUpdate,
        None,
        200,
        Utc::now(),
    );
    let mut writes = vec![(
        ROUTING_SETTINGS_COLLECTION.to_owned(),
        DEVICES_ID.to_owned(),
        json!({"queues": {"kkc": "5100", "as": "5200", "ext": "5300"}, "announcements": {}}),
    )];
    for (id, name) in [("kkc", "KKC"), ("as", "AS"), ("ext", "EXT")] {
        writes.push((
            "queue".to_owned(),
            id.to_owned(),
            json!({"queueId": id, "name": name, "priority": 5, "schedule": always_open()}),
        ));
    }
    for queue in ["kkc", "as"] {
        for username in ["agent01", "agent02"] {
            writes.push((
                members_collection(queue),
                username.to_owned(),
                json!({"queueId": queue, "username": username, "skillLevel": 5, "priority": 5}),
            ));
        }
    }
    writes.extend(extra);
    for (collection, id, document) in writes {
        config
            .write(
                &ConfigWrite::Upsert {
                    collection,
                    id,
                    document,
                },
                &record,
            )
            .await
            .unwrap();
    }
    let desks = Arc::new(InMemoryAgentDeskStore::new());
    DeskDeps {
        validator: TestIssuer::primary().validator(),
        router: Router::new(
            InMemoryRoutingStateStore::new(),
            InMemoryUserDirectory::new([agent01(), user("agent02", None)]),
            RecordedSignals::default(),
            Arc::new(config),
            20,
            Duration::from_secs(60),
        )
        .with_desks(desks.clone()),
        desks,
        presences: Arc::new(NoPresences),
        audit: InMemoryAuditLog::new(),
    }
}

pub(crate) fn token(username: &str, roles: &[&str]) -> String {
    TestIssuer::primary().token_for(username, roles)
}

/// An API Gateway v2 event for `method path`.
pub(crate) fn request(method: &str, path: &str, token: Option<&str>) -> Request {
    request_with(method, path, token, None)
}

/// An API Gateway v2 event for `method path[?query]` with a JSON body.
pub(crate) fn request_with(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Request {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let parameters: Map<String, Value> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), Value::String(value.to_owned()))
        })
        .collect();
    let mut headers = Map::new();
    if let Some(token) = token {
        headers.insert("authorization".into(), json!(format!("Bearer {token}")));
    }
    if body.is_some() {
        headers.insert("content-type".into(), json!("application/json"));
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "tests"},
            "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "28/Nov/2026:09:00:00 +0000", "timeEpoch": 1_795_856_400_000_i64
        },
        "isBase64Encoded": false,
        "body": body.map(Value::to_string)
    });
    if !parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(parameters);
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// A handled inbound call's contact record: started at `started_at`, answered at once, `talk`
/// long, taken by `agents`.
pub(crate) fn voice_record(
    id: &str,
    started_at: chrono::DateTime<Utc>,
    talk: chrono::Duration,
    agents: &[&str],
    number: &str,
) -> linka_shared::contact_records::ContactRecord {
    use linka_shared::contact_records::{
        ContactRecord, ContactRecordUpdate, CtiProgress, Direction, RecordOutcome,
    };
    ContactRecord::from_update(&ContactRecordUpdate {
        contact_id: id.to_owned(),
        call_key: format!("prg-1/{id}"),
        progress: CtiProgress {
            events: 5,
            done: true,
        },
        channel: linka_shared::contacts::Channel::Voice,
        direction: Direction::Inbound,
        number: Some(number.to_owned()),
        dialled: Some("4000".to_owned()),
        queue_id: Some("kkc-obecne".to_owned()),
        agents: agents.iter().map(|a| (*a).to_owned()).collect(),
        started_at,
        answered_at: Some(started_at),
        ended_at: Some(started_at + talk),
        outcome: Some(RecordOutcome::Handled),
    })
}
