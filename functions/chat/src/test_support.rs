//! The in-memory chat of the handler tests: queues `chat` (always open, agent01 and agent02)
//! and `closed` (never open), users, open desks, a token issuer and API Gateway events.

use std::sync::Arc;

use chrono::Utc;
use lambda_http::{Body, Request, Response};
use linka_shared::{
    adapters::{
        memory::{
            InMemoryAuditLog, InMemoryConnectionStore, InMemoryUserDirectory, RecordingNotifier,
        },
        InMemoryConfigStore, InMemoryContactEventLog, InMemoryContactRecordStore,
        InMemoryConversationStore,
    },
    admin_config::members_collection,
    audit::{AuditAction, AuditContext, AuditRecord},
    auth::{Principal, Role},
    chat::{
        channels::OutboundMessage, distribution::ChatDistributionTrigger,
        participant::ParticipantTokens, webhook::WebhookDelivery, WebhookSchemes,
    },
    ports::{
        ChannelOutbox, ChatDistributionOutbox, ConfigStore, ConfigWrite, OutboxError, WebhookOutbox,
    },
    realtime::Connection,
    testing::{StaticJwks, TestIssuer},
    users::User,
};
use serde_json::{json, Map, Value};
use std::sync::Mutex;

use crate::{
    conversation_api::ConversationDeps,
    desk_chats::DeskChatDeps,
    effects::{ChatEffects, ChatPushes},
};

pub(crate) const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

/// Webhook deliveries, kept.
#[derive(Default)]
pub(crate) struct RecordingOutbox {
    pub deliveries: Mutex<Vec<WebhookDelivery>>,
}

#[async_trait::async_trait]
impl WebhookOutbox for RecordingOutbox {
    async fn enqueue(&self, delivery: &WebhookDelivery) -> Result<(), OutboxError> {
        self.deliveries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(delivery.clone());
        Ok(())
    }
}

/// Requests for automatic chat distribution, kept.
#[derive(Default)]
pub(crate) struct RecordingDistribution {
    pub triggers: Mutex<Vec<ChatDistributionTrigger>>,
}

impl RecordingDistribution {
    pub fn taken(&self) -> Vec<ChatDistributionTrigger> {
        self.triggers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait::async_trait]
impl ChatDistributionOutbox for RecordingDistribution {
    async fn trigger(&self, trigger: &ChatDistributionTrigger) -> Result<(), OutboxError> {
        self.triggers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(trigger.clone());
        Ok(())
    }
}

/// Outbound SMS, e-mails and social messages, kept.
#[derive(Default)]
pub(crate) struct RecordingChannelOutbox {
    pub messages: Mutex<Vec<OutboundMessage>>,
}

impl RecordingChannelOutbox {
    pub fn taken(&self) -> Vec<OutboundMessage> {
        self.messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait::async_trait]
impl ChannelOutbox for RecordingChannelOutbox {
    async fn enqueue(&self, message: &OutboundMessage) -> Result<(), OutboxError> {
        self.messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(message.clone());
        Ok(())
    }
}

pub(crate) struct Chat {
    pub conversations: ConversationDeps<StaticJwks>,
    pub desk: DeskChatDeps<StaticJwks>,
    pub store: InMemoryConversationStore,
    pub pushed: Arc<RecordingNotifier>,
    pub outbox: Arc<RecordingOutbox>,
    pub channel_outbox: Arc<RecordingChannelOutbox>,
    pub effects: ChatEffects,
    pub contacts: InMemoryContactRecordStore,
    /// The conversations' lifecycle records.
    pub events: InMemoryContactEventLog,
    /// Requests for automatic chat distribution.
    pub distribution: Arc<RecordingDistribution>,
}

fn schedule(open: bool) -> Value {
    let day = if open {
        json!([{"start": "00:00", "end": "23:59"}])
    } else {
        json!([])
    };
    json!({
        "timezone": "Europe/Prague",
        "weekly": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                   "friday": day, "saturday": day, "sunday": day},
        "exceptions": [], "closedOnPublicHolidays": false
    })
}

fn user(username: &str, role: &str) -> User {
    serde_json::from_value(json!({
        "username": username, "displayName": username, "roles": [role], "active": true,
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
    }))
    .unwrap()
}

fn desk_tab(id: &str, username: &str, role: Role) -> Connection {
    let principal = Principal {
        subject: format!("sub-{username}"),
        username: username.into(),
        display_name: None,
        roles: [role].into(),
        client_id: None,
    };
    Connection::open(id, &principal, Utc::now())
}

/// The audit record of a configuration write the tests make.
fn config_record() -> AuditRecord {
    AuditRecord::new(
        &AuditContext::default(),
        AuditAction::ConfigUpdate,
        None,
        200,
        Utc::now(),
    )
}

pub(crate) async fn chat() -> Chat {
    let config = InMemoryConfigStore::new(InMemoryAuditLog::new());
    let record = config_record();
    let mut writes = Vec::new();
    for (id, open) in [("chat", true), ("closed", false), ("other", true)] {
        writes.push((
            "queue".to_owned(),
            id.to_owned(),
            json!({"queueId": id, "name": id, "priority": 5, "schedule": schedule(open)}),
        ));
    }
    for username in ["agent01", "agent02"] {
        writes.push((
            members_collection("chat"),
            username.to_owned(),
            json!({"queueId": "chat", "username": username, "skillLevel": 5, "priority": 5}),
        ));
    }
    writes.push((
        members_collection("other"),
        "agent03".to_owned(),
        json!({"queueId": "other", "username": "agent03", "skillLevel": 5, "priority": 5}),
    ));
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
    let config: Arc<dyn ConfigStore> = Arc::new(config);
    let store = InMemoryConversationStore::new();
    let pushed = Arc::new(RecordingNotifier::new());
    let outbox = Arc::new(RecordingOutbox::default());
    let channel_outbox = Arc::new(RecordingChannelOutbox::default());
    let distribution = Arc::new(RecordingDistribution::default());
    let contacts = InMemoryContactRecordStore::default();
    let events = InMemoryContactEventLog::new();
    let connections = InMemoryConnectionStore::default().with_connections([
        desk_tab("tab-1", "agent01", Role::Agent),
        desk_tab("tab-2", "agent02", Role::Agent),
        desk_tab("tab-3", "agent03", Role::Agent),
        desk_tab("tab-s", "supervisor", Role::Supervisor),
    ]);
    let effects = ChatEffects {
        config: config.clone(),
        pushes: Some(ChatPushes {
            connections: Arc::new(connections),
            notifier: pushed.clone(),
        }),
        outbox: Some(outbox.clone()),
        channel_outbox: Some(channel_outbox.clone()),
        contacts: Some(Arc::new(contacts.clone())),
        events: Some(Arc::new(events.clone())),
        distribution: Some(distribution.clone()),
    };
    Chat {
        conversations: ConversationDeps {
            validator: TestIssuer::primary().validator(),
            tokens: ParticipantTokens::new(SECRET).unwrap(),
            store: Arc::new(store.clone()),
            config: config.clone(),
            default_queue_id: "chat".into(),
            webhooks: WebhookSchemes::HttpsOnly,
            effects: effects.clone(),
        },
        desk: DeskChatDeps {
            validator: TestIssuer::primary().validator(),
            store: Arc::new(store.clone()),
            config,
            users: Arc::new(InMemoryUserDirectory::new([
                user("agent01", "agent"),
                user("agent02", "agent"),
                user("agent03", "agent"),
                user("supervisor", "supervisor"),
            ])),
            effects: effects.clone(),
            chats_per_agent: 2,
            attachments: None,
        },
        store,
        pushed,
        outbox,
        channel_outbox,
        effects,
        contacts,
        events,
        distribution,
    }
}

impl Chat {
    /// Stores the administrator's chat settings (`setting/chat`).
    pub(crate) async fn set_settings(&self, settings: serde_json::Value) {
        let record = config_record();
        self.effects
            .config
            .write(
                &ConfigWrite::Upsert {
                    collection: linka_shared::admin_config::SETTINGS_COLLECTION.to_owned(),
                    id: linka_shared::chat::settings::CHAT_SETTINGS_ID.to_owned(),
                    document: settings,
                },
                &record,
            )
            .await
            .unwrap();
    }
}

/// A conversation API call.
pub(crate) async fn api(
    chat: &Chat,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    parts(
        crate::conversation_api::handle(&chat.conversations, request(method, path, token, body))
            .await,
    )
}

/// A bot conversation (with a webhook) handed off to `chat`: its id.
pub(crate) async fn queued_chat(chat: &Chat, client_token: &str) -> String {
    let (status, started) = api(chat, "POST", "/api/chat/conversations", Some(&bot()), Some(json!({
        "clientToken": client_token, "customer": {"name": "Jana Dvořáková", "email": "jana@example.cz"},
        "initialMessage": "Dobrý den", "webhookUrl": "https://bot.example.cz/hook"
    }))).await;
    assert_eq!(status, 201, "{started}");
    let id = started["conversationId"].as_str().unwrap().to_owned();
    let (status, _) = api(
        chat,
        "POST",
        &format!("/api/chat/conversations/{id}/handoff"),
        Some(&bot()),
        None,
    )
    .await;
    assert_eq!(status, 202);
    id
}

pub(crate) fn bot() -> String {
    TestIssuer::primary().token_for("chatbot", &["chatbot"])
}

pub(crate) fn person(username: &str, role: &str) -> String {
    TestIssuer::primary().token_for(username, &[role])
}

/// An API Gateway v2 event (`path` may carry a query).
pub(crate) fn request(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Request {
    let mut headers: Vec<(&str, String)> = Vec::new();
    if let Some(token) = token {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    if body.is_some() {
        headers.push(("content-type", "application/json".to_owned()));
    }
    raw_request(
        method,
        path,
        &headers,
        body.map(|b| b.to_string()).as_deref(),
    )
}

/// An API Gateway v2 event with these headers and this raw body (`path` may carry a query).
pub(crate) fn raw_request(
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&str>,
) -> Request {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let headers: Map<String, Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    let parameters: Map<String, Value> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": headers, "queryStringParameters": parameters,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "tests"},
            "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "28/Nov/2026:09:00:00 +0000", "timeEpoch": 1_795_856_400_000_i64
        },
        "isBase64Encoded": false,
        "body": body
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

pub(crate) fn parts(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body)
}
