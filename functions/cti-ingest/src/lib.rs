//! CtiIngestFunction: consumes the SQS FIFO queue `CtiEventQueue` that the on-premise relay
//! fills, and folds each [`cti_events::CtiEnvelope`] into call and agent state and into the
//! contact lifecycle records (`linka_shared::cti_state`, `linka_shared::contacts`).
//!
//! `main.rs` only wires; [`handler::function_handler`] is generic over the
//! [`linka_shared::ports::CtiStateStore`] port.

pub mod config;
pub mod directory;
pub mod handler;
pub mod projection;
pub mod push;

/// The environment variables [`config::Config`] reads (the template must set each of them).
pub const ENVIRONMENT: &[&str] = &[
    "CALLS_TABLE",
    "AGENT_STATE_TABLE",
    "CONTACT_EVENTS_TABLE",
    "STATS_TABLE",
    "CTI_IVR_DEVICES",
    "ROUTING_QUEUE_URL",
    "USERS_TABLE",
    "CONNECTIONS_TABLE",
    "WS_MANAGEMENT_ENDPOINT",
    "CONTACTS_TABLE",
    "CONFIG_TABLE",
    "IVR_CALLS_TABLE",
];
