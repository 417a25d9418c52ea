//! Text conversations (issue 7): one Lambda, `chat-api`, serving the conversation API of the
//! web widget and the insurer's chatbot (`/api/chat/conversations…`). The model is
//! `linka_shared::chat`; the HTTP plumbing is `routing::http_common`.

pub mod batch;
pub mod channels_inbound;
pub mod conversation_api;
pub mod desk_chats;
pub mod distributor;
pub mod effects;
pub mod inbound_worker;
pub mod messenger_sender;
pub mod outbound_worker;
pub mod social_webhook;
pub mod take;
pub mod webhook_worker;

#[cfg(test)]
pub(crate) mod test_support;

/// Every HTTP route of `chat-api` (method, path), as in the template and the OpenAPI file.
pub fn routes() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    conversation_api::ROUTES
        .iter()
        .chain(desk_chats::ROUTES)
        .chain(social_webhook::ROUTES)
}

/// Every environment variable `chat-api` reads, checked against `infra/template.yaml` by the
/// consistency tests.
pub const ENVIRONMENT: &[&str] = &[
    "CONFIG_TABLE",
    "AUDIT_TABLE",
    "CHAT_TABLE",
    "CHAT_TOKEN_SECRET",
    "CHAT_DEFAULT_QUEUE_ID",
    "CHAT_ALLOW_HTTP_WEBHOOKS",
    "CHAT_WEBHOOK_QUEUE_URL",
    "CHATS_PER_AGENT",
    "CONTACTS_TABLE",
    "CONTACT_EVENTS_TABLE",
    "CHAT_OUTBOUND_QUEUE_URL",
    "CHAT_DISTRIBUTION_QUEUE_URL",
    "CHAT_ATTACHMENTS_BUCKET",
    "MESSENGER_APP_SECRET",
    "MESSENGER_VERIFY_TOKEN",
    "USERS_TABLE",
    "CONNECTIONS_TABLE",
    "WS_MANAGEMENT_ENDPOINT",
    "AUTH_ISSUER",
    "AUTH_AUDIENCE",
    "AUTH_JWKS_URL",
    "AUTH_ROLES_CLAIM",
];

/// Every environment variable `chat-inbound` reads.
pub const INBOUND_ENVIRONMENT: &[&str] = &[
    "CONFIG_TABLE",
    "AUDIT_TABLE",
    "CHAT_TABLE",
    "CHAT_DEFAULT_QUEUE_ID",
    "CHAT_ATTACHMENTS_BUCKET",
    "CONTACTS_TABLE",
    "CONTACT_EVENTS_TABLE",
    "CHAT_DISTRIBUTION_QUEUE_URL",
    "CONNECTIONS_TABLE",
    "WS_MANAGEMENT_ENDPOINT",
];

/// Every environment variable `chat-distributor` reads: the routing state (read only, as the
/// routing functions name it), the conversations, and what a chat given to an agent tells.
pub const DISTRIBUTOR_ENVIRONMENT: &[&str] = &[
    "CONFIG_TABLE",
    "USERS_TABLE",
    "AUDIT_TABLE",
    "AGENT_STATE_TABLE",
    "AGENT_RESERVATIONS_TABLE",
    "WAITING_CALLS_TABLE",
    "LAST_AGENT_TABLE",
    "CTI_COMMAND_QUEUE_URL",
    "ROUTING_QUEUE_URL",
    "AGENT_DESK_TABLE",
    "CHAT_TABLE",
    "CHATS_PER_AGENT",
    "CONTACTS_TABLE",
    "CONTACT_EVENTS_TABLE",
    "CHAT_WEBHOOK_QUEUE_URL",
    "CONNECTIONS_TABLE",
    "WS_MANAGEMENT_ENDPOINT",
];

/// Every environment variable `chat-outbound` reads.
pub const OUTBOUND_ENVIRONMENT: &[&str] = &[
    "CHAT_TABLE",
    "SMS_SENDER_ID",
    "MAIL_FROM_ADDRESS",
    "MAIL_FROM_NAME",
    "MAIL_CONFIGURATION_SET",
    "MESSENGER_API_URL",
    "MESSENGER_PAGE_TOKEN",
];

/// Every environment variable `chat-webhook` reads.
pub const WEBHOOK_ENVIRONMENT: &[&str] = &["CHAT_WEBHOOK_SECRET"];
