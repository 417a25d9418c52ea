//! WsSweeperFunction: every minute (EventBridge Scheduler, Europe/Prague), deletes the
//! connection records that outlived any WebSocket (API Gateway closes them after 2 h) and runs
//! the presence heartbeat (logs off agents whose desk is gone, see [`handler`]).
//! DynamoDB TTL would get there too, but only eventually (up to days); the sweeper keeps
//! broadcast fan-out from posting to the dead.
//!
//! `main.rs` only wires; [`handler::function_handler`] is generic over the port.

pub mod config;
pub mod handler;

/// The environment variables [`config::Config`] reads (the template must set each of them).
pub const ENVIRONMENT: &[&str] = &[
    "CONNECTIONS_TABLE",
    "CTI_COMMAND_QUEUE_URL",
    "USERS_TABLE",
    "AGENT_STATE_TABLE",
    "PRESENCE_TIMEOUT_SECONDS",
];
