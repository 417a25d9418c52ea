//! The local stand-in for the AWS services Linka runs on: API Gateway (HTTP API payload 2.0 and
//! the WebSocket API with its `@connections` endpoint), the Lambda service (each function's own
//! binary behind a Lambda Runtime API), SQS event-source mappings, EventBridge schedules and an
//! OpenID issuer — all wired from `infra/template.yaml`.
//!
//! Start-up order (see [`app::start`]): load the template → create tables, queues, buckets and
//! topics in the emulator ([`resources`]) → seed demo users ([`seed`]) → start the issuer →
//! spawn the functions ([`runtime`]) → start the SQS pollers ([`sqs_mapping`]) and schedules
//! ([`schedules`]) → serve everything on one port.

pub mod app;
pub mod http_api;
pub mod intrinsics;
pub mod issuer;
pub mod model;
pub mod outbox;
pub mod resources;
pub mod runtime;
pub mod schedules;
pub mod seed;
pub mod sqs_mapping;
pub mod template;
pub mod websocket;

#[cfg(test)]
pub(crate) mod test_support;

pub use model::{HttpRoute, Invoke, InvokeError, WebSocketApiSpec, WebSocketRoute};
