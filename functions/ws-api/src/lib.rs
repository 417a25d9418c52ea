//! WsApiFunction: the three routes of the WebSocket API (`$connect`, `$disconnect`, `$default`).
//!
//! `main.rs` only wires; [`handler::function_handler`] is generic over the ports.

pub mod config;
pub mod handler;

/// The environment variables [`config::Config`] reads (the template must set each of them).
pub const ENVIRONMENT: &[&str] = &[
    "AUTH_ISSUER",
    "AUTH_AUDIENCE",
    "AUTH_JWKS_URL",
    "AUTH_ROLES_CLAIM",
    "CONNECTIONS_TABLE",
    "WS_MANAGEMENT_ENDPOINT",
    "CHAT_TOKEN_SECRET",
];
