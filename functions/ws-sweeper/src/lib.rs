//! WsSweeperFunction: every 15 minutes (EventBridge Scheduler, Europe/Prague), deletes the
//! connection records that outlived any WebSocket (API Gateway closes them after 2 h).
//! DynamoDB TTL would get there too, but only eventually (up to days); the sweeper keeps
//! broadcast fan-out from posting to the dead.
//!
//! `main.rs` only wires; [`handler::function_handler`] is generic over the port.

pub mod config;
pub mod handler;

/// The environment variables [`config::Config`] reads (the template must set each of them).
pub const ENVIRONMENT: &[&str] = &["CONNECTIONS_TABLE"];
