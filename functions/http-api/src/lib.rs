//! HttpApiFunction: the agent/admin HTTP API behind API Gateway (HTTP API, payload 2.0).
//!
//! `main.rs` only wires; [`handler::function_handler`] is generic over the ports so that the
//! tests run it on sample events with in-memory adapters.

mod admin_config;
pub mod config;
pub mod handler;
pub mod openapi;
pub mod routes;

pub use routes::ROUTES;

/// The environment variables [`config::Config`] reads (the template must set each of them).
pub const ENVIRONMENT: &[&str] = &[
    "AUTH_ISSUER",
    "AUTH_AUDIENCE",
    "AUTH_JWKS_URL",
    "AUTH_ROLES_CLAIM",
    "USERS_TABLE",
    "BROADCAST_QUEUE_URL",
    "AUDIT_TABLE",
    "AUDIT_RETENTION_DAYS",
    "CONFIG_TABLE",
    "PROMPTS_BUCKET",
    "LINKA_TTS",
];
