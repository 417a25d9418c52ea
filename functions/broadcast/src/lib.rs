//! BroadcastFunction: consumes `BroadcastQueue` and pushes each notice to the open WebSocket
//! connections of its audience.
//!
//! `main.rs` only wires; [`handler::function_handler`] is generic over the ports.

pub mod config;
pub mod handler;

/// The environment variables [`config::Config`] reads (the template must set each of them).
pub const ENVIRONMENT: &[&str] = &["CONNECTIONS_TABLE", "WS_MANAGEMENT_ENDPOINT"];
