//! Types shared between the gateway's parts: what the template says about routes, and the
//! port through which every front door (HTTP API, WebSocket API, SQS mappings, schedules)
//! invokes a function.

use async_trait::async_trait;
use serde_json::Value;

/// One HTTP API route of the template (`Events: … Type: HttpApi`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRoute {
    /// Upper-case method, or `ANY`.
    pub method: String,
    /// Path with `{name}` and `{proxy+}` parameters, e.g. `/api/admin/users/{username}`.
    pub path: String,
    /// Logical id of the function that serves it.
    pub function: String,
}

/// One route of the WebSocket API (`AWS::ApiGatewayV2::Route`), resolved to its function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketRoute {
    /// `$connect`, `$disconnect`, `$default` or a custom key matched by the selection expression.
    pub route_key: String,
    /// Logical id of the function behind the route's integration.
    pub function: String,
}

/// The WebSocket API as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketApiSpec {
    pub logical_id: String,
    /// e.g. `$request.body.action`.
    pub route_selection_expression: String,
    pub stage: String,
    pub routes: Vec<WebSocketRoute>,
}

/// Why an invocation produced no result.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("no function with logical id {0}")]
    UnknownFunction(String),
    #[error("function {function} timed out after {seconds} s")]
    Timeout { function: String, seconds: u64 },
    /// The function reported an error through `/invocation/{id}/error` (or its process died).
    #[error("function {function} failed: {error_type}: {error_message}")]
    Failed {
        function: String,
        error_type: String,
        error_message: String,
    },
    #[error("function {function} is not running: {reason}")]
    Unavailable { function: String, reason: String },
}

/// The Lambda service as the front doors see it.
#[async_trait]
pub trait Invoke: Send + Sync {
    /// Invoke `function` (a template logical id) synchronously with `payload` and return the
    /// JSON the function posted to `/invocation/{id}/response`.
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError>;
}
