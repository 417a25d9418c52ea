//! The WebSocket API: API Gateway's WebSocket front door with Lambda proxy integrations, and
//! its `@connections` management endpoint.
//!
//! - `GET /ws` (an upgrade request) invokes the `$connect` route with a `CONNECT` event built
//!   like API Gateway builds it (`ApiGatewayWebsocketProxyRequest`). A `statusCode` outside
//!   2xx refuses the upgrade with that status; a failing function refuses it with 502.
//! - Each data frame is routed by the API's route selection expression (`$request.body.action`:
//!   the field of the JSON body; `$default` when it is absent or names no route) and sent as a
//!   `MESSAGE` event. When the function answers with a `body`, that body goes back to the
//!   client (a simplification of two-way routes).
//! - When the connection ends, however it ends, `$disconnect` runs exactly once.
//! - `/ws/@connections/{connectionId}`: `POST` sends the request body to the client (a text
//!   frame, or binary when it is not UTF-8), `GET` describes the connection, `DELETE` closes
//!   it. An unknown or closed connection answers `410` with `x-amzn-ErrorType: GoneException`,
//!   which is what `aws-sdk-apigatewaymanagement` expects. Requests are not SigV4-checked: the
//!   gateway listens on the loopback interface only and is a development tool.
//! - The AWS quotas that are cheap to keep are kept: 128 KB per message, 10 minutes idle
//!   (only data frames from the client count as activity, as in AWS), 2 hours per connection.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{
        ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
        ConnectInfo, Path, State,
    },
    http::{header, Extensions, HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Map, Value};
use tokio::{sync::mpsc, sync::Notify, time::Instant};

use crate::{
    http_api::{api_id, aws_request_id, LOCAL_ACCOUNT_ID},
    model::{Invoke, InvokeError, WebSocketApiSpec},
};

/// API Gateway's maximum integration timeout for WebSocket routes.
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
/// How long a closing handshake may take before the connection is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Frames waiting to be written to one client.
const OUTBOUND_QUEUE: usize = 256;

/// The AWS quotas the gateway enforces (configurable so tests can shorten them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketLimits {
    /// Largest message in either direction (AWS: 128 KB).
    pub max_message_bytes: usize,
    /// A connection with no data frame from the client for this long is closed (AWS: 10 min).
    pub idle_timeout: Duration,
    /// A connection is closed after this long whatever happens (AWS: 2 h).
    pub max_duration: Duration,
}

impl Default for WebSocketLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 128 * 1024,
            idle_timeout: Duration::from_secs(10 * 60),
            max_duration: Duration::from_secs(2 * 60 * 60),
        }
    }
}

/// The WebSocket API of the template, served locally.
pub struct WebSocketGateway {
    spec: WebSocketApiSpec,
    invoker: Arc<dyn Invoke>,
    limits: WebSocketLimits,
    api_id: String,
    connections: Mutex<HashMap<String, Arc<Connection>>>,
}

/// One open connection, as the management endpoint sees it.
struct Connection {
    id: String,
    connected_at: DateTime<Utc>,
    source_ip: String,
    user_agent: Option<String>,
    domain_name: String,
    last_active_at: Mutex<DateTime<Utc>>,
    outbound: mpsc::Sender<Message>,
    /// Set by `DELETE @connections/{id}`.
    close_requested: Notify,
}

/// Why a connection ended, for the `$disconnect` event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Disconnect {
    status_code: u16,
    reason: String,
}

impl WebSocketGateway {
    pub fn new(spec: WebSocketApiSpec, invoker: Arc<dyn Invoke>) -> Self {
        let api_id = api_id(&spec.logical_id);
        Self {
            spec,
            invoker,
            limits: WebSocketLimits::default(),
            api_id,
            connections: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the AWS quotas (tests use short ones).
    pub fn with_limits(mut self, limits: WebSocketLimits) -> Self {
        self.limits = limits;
        self
    }

    /// `GET /ws` (upgrade) and `/ws/@connections/{connectionId}`.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/ws", get(upgrade))
            .route(
                "/ws/@connections/{connection_id}",
                get(get_connection)
                    .post(post_to_connection)
                    .delete(delete_connection),
            )
            .with_state(self)
    }

    /// How many clients are connected now.
    pub fn connection_count(&self) -> usize {
        self.lock_connections().len()
    }

    fn lock_connections(&self) -> MutexGuard<'_, HashMap<String, Arc<Connection>>> {
        // A panic while holding this lock leaves the map itself consistent.
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn connection(&self, id: &str) -> Option<Arc<Connection>> {
        self.lock_connections().get(id).cloned()
    }

    fn function_for(&self, route_key: &str) -> Option<&str> {
        self.spec
            .routes
            .iter()
            .find(|route| route.route_key == route_key)
            .map(|route| route.function.as_str())
    }

    async fn invoke(&self, function: &str, event: Value) -> Result<Value, InvokeError> {
        match tokio::time::timeout(INTEGRATION_TIMEOUT, self.invoker.invoke(function, event)).await
        {
            Ok(result) => result,
            Err(_elapsed) => Err(InvokeError::Timeout {
                function: function.to_owned(),
                seconds: INTEGRATION_TIMEOUT.as_secs(),
            }),
        }
    }

    /// The `requestContext` every event of a connection shares.
    fn request_context(
        &self,
        connection: &Connection,
        route_key: &str,
        event_type: &str,
    ) -> Map<String, Value> {
        let now = Utc::now();
        let mut identity = Map::new();
        identity.insert("sourceIp".to_owned(), json!(connection.source_ip));
        if let Some(user_agent) = &connection.user_agent {
            identity.insert("userAgent".to_owned(), json!(user_agent));
        }
        let context = json!({
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": aws_request_id(),
            "requestTime": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "messageDirection": "IN",
            "stage": self.spec.stage,
            "connectedAt": connection.connected_at.timestamp_millis(),
            "requestTimeEpoch": now.timestamp_millis(),
            "identity": identity,
            "requestId": aws_request_id(),
            "domainName": connection.domain_name,
            "connectionId": connection.id,
            "apiId": self.api_id,
            "accountId": LOCAL_ACCOUNT_ID,
        });
        match context {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn connect_event(&self, connection: &Connection, headers: &HeaderMap, uri: &Uri) -> Value {
        let mut event = Map::new();
        let mut single = Map::new();
        let mut multi = Map::new();
        for name in headers.keys() {
            let values: Vec<Value> = headers
                .get_all(name)
                .iter()
                .map(|v| json!(String::from_utf8_lossy(v.as_bytes())))
                .collect();
            if let Some(last) = values.last() {
                single.insert(name.as_str().to_owned(), last.clone());
            }
            multi.insert(name.as_str().to_owned(), Value::Array(values));
        }
        event.insert("headers".to_owned(), Value::Object(single));
        event.insert("multiValueHeaders".to_owned(), Value::Object(multi));
        let mut query: Map<String, Value> = Map::new();
        let mut multi_query: Map<String, Value> = Map::new();
        for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        {
            query.insert(name.to_string(), json!(value));
            if let Value::Array(values) = multi_query
                .entry(name.to_string())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                values.push(json!(value));
            }
        }
        if !query.is_empty() {
            event.insert("queryStringParameters".to_owned(), Value::Object(query));
            event.insert(
                "multiValueQueryStringParameters".to_owned(),
                Value::Object(multi_query),
            );
        }
        event.insert(
            "requestContext".to_owned(),
            Value::Object(self.request_context(connection, "$connect", "CONNECT")),
        );
        event.insert("isBase64Encoded".to_owned(), json!(false));
        Value::Object(event)
    }

    fn message_event(&self, connection: &Connection, route_key: &str, body: &Message) -> Value {
        let mut context = self.request_context(connection, route_key, "MESSAGE");
        context.insert("messageId".to_owned(), json!(aws_request_id()));
        let (body, is_base64) = match body {
            Message::Binary(bytes) => (
                base64::engine::general_purpose::STANDARD.encode(bytes),
                true,
            ),
            Message::Text(text) => (text.to_string(), false),
            _ => (String::new(), false),
        };
        json!({ "requestContext": context, "body": body, "isBase64Encoded": is_base64 })
    }

    fn disconnect_event(&self, connection: &Connection, disconnect: &Disconnect) -> Value {
        let mut context = self.request_context(connection, "$disconnect", "DISCONNECT");
        context.insert(
            "disconnectStatusCode".to_owned(),
            json!(disconnect.status_code),
        );
        context.insert("disconnectReason".to_owned(), json!(disconnect.reason));
        json!({
            "headers": {"host": connection.domain_name, "x-forwarded-for": connection.source_ip},
            "multiValueHeaders": {
                "host": [connection.domain_name],
                "x-forwarded-for": [connection.source_ip]
            },
            "requestContext": context,
            "isBase64Encoded": false
        })
    }

    /// The route a message goes to, by the route selection expression.
    fn select_route(&self, message: &Message) -> Option<String> {
        let selected = match message {
            Message::Text(text) => select_route_key(&self.spec.route_selection_expression, text),
            _ => None,
        };
        selected
            .filter(|key| self.function_for(key).is_some())
            .or_else(|| self.function_for("$default").map(|_| "$default".to_owned()))
    }

    /// Serves one upgraded connection until it ends, then runs `$disconnect`.
    async fn run_connection(
        self: Arc<Self>,
        socket: WebSocket,
        connection: Arc<Connection>,
        outbound: mpsc::Receiver<Message>,
    ) {
        let (sink, mut stream) = socket.split();
        let writer = tokio::spawn(write_frames(sink, outbound));
        let mut idle_deadline = Instant::now() + self.limits.idle_timeout;
        let max_deadline = Instant::now() + self.limits.max_duration;
        // Set once a close has started: by us (deadline, DELETE) or by the client.
        let mut closing: Option<Instant> = None;
        let mut disconnect: Option<Disconnect> = None;

        loop {
            let grace_deadline = closing.unwrap_or(max_deadline);
            tokio::select! {
                frame = stream.next() => match frame {
                    None => break,
                    Some(Err(error)) => {
                        let too_big = error.to_string().to_ascii_lowercase().contains("message too long")
                            || error.to_string().to_ascii_lowercase().contains("too big");
                        if too_big {
                            self.start_close(&connection, close_code::SIZE, "Message too big").await;
                        }
                        disconnect.get_or_insert(Disconnect {
                            status_code: if too_big { close_code::SIZE } else { close_code::ABNORMAL },
                            reason: if too_big { "Message too big".to_owned() } else { "Connection dropped".to_owned() },
                        });
                        break;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        disconnect.get_or_insert(match frame {
                            Some(frame) => Disconnect { status_code: frame.code, reason: frame.reason.to_string() },
                            None => Disconnect {
                                status_code: close_code::STATUS,
                                reason: "Client-side close frame status not set".to_owned(),
                            },
                        });
                        // Keep reading: the next poll flushes our reply and ends the stream.
                        closing.get_or_insert_with(|| Instant::now() + CLOSE_GRACE);
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(message)) => {
                        if closing.is_none() {
                            idle_deadline = Instant::now() + self.limits.idle_timeout;
                            connection.touch();
                            self.handle_message(&connection, message).await;
                        }
                    }
                },
                () = connection.close_requested.notified(), if closing.is_none() => {
                    self.start_close(&connection, close_code::NORMAL, "Connection deleted").await;
                    disconnect = Some(Disconnect { status_code: close_code::NORMAL, reason: "Connection deleted".to_owned() });
                    closing = Some(Instant::now() + CLOSE_GRACE);
                }
                () = tokio::time::sleep_until(idle_deadline), if closing.is_none() => {
                    self.start_close(&connection, close_code::AWAY, "Going away").await;
                    disconnect = Some(Disconnect { status_code: close_code::AWAY, reason: "Idle timeout".to_owned() });
                    closing = Some(Instant::now() + CLOSE_GRACE);
                }
                () = tokio::time::sleep_until(max_deadline), if closing.is_none() => {
                    self.start_close(&connection, close_code::AWAY, "Going away").await;
                    disconnect = Some(Disconnect { status_code: close_code::AWAY, reason: "Maximum connection duration".to_owned() });
                    closing = Some(Instant::now() + CLOSE_GRACE);
                }
                () = tokio::time::sleep_until(grace_deadline), if closing.is_some() => break,
            }
        }

        writer.abort();
        let disconnect = disconnect.unwrap_or(Disconnect {
            status_code: close_code::ABNORMAL,
            reason: "Connection dropped".to_owned(),
        });
        self.finish(&connection, &disconnect).await;
    }

    /// Removes the connection and runs `$disconnect`; called exactly once per connection.
    async fn finish(&self, connection: &Connection, disconnect: &Disconnect) {
        self.lock_connections().remove(&connection.id);
        tracing::info!(
            connection_id = %connection.id,
            status_code = disconnect.status_code,
            reason = %disconnect.reason,
            "websocket disconnected"
        );
        if let Some(function) = self.function_for("$disconnect") {
            let event = self.disconnect_event(connection, disconnect);
            if let Err(error) = self.invoke(function, event).await {
                tracing::warn!(connection_id = %connection.id, error = %error, "$disconnect failed");
            }
        }
    }

    async fn start_close(&self, connection: &Connection, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        // A writer that is gone means the socket is gone too; the reader will see it end.
        let _ = connection.outbound.send(Message::Close(Some(frame))).await;
    }

    async fn handle_message(&self, connection: &Connection, message: Message) {
        if message_len(&message) > self.limits.max_message_bytes {
            self.start_close(connection, close_code::SIZE, "Message too big")
                .await;
            return;
        }
        let Some(route_key) = self.select_route(&message) else {
            self.send_error(connection, "Forbidden").await;
            return;
        };
        let Some(function) = self.function_for(&route_key) else {
            return;
        };
        let event = self.message_event(connection, &route_key, &message);
        match self.invoke(function, event).await {
            Ok(answer) => {
                if let Some(body) = answer.get("body").and_then(Value::as_str) {
                    let _ = connection
                        .outbound
                        .send(Message::Text(Utf8Bytes::from(body)))
                        .await;
                }
            }
            Err(error) => {
                tracing::warn!(connection_id = %connection.id, route_key = %route_key, error = %error, "route function failed");
                self.send_error(connection, "Internal server error").await;
            }
        }
    }

    /// The error message API Gateway sends to a client when a route cannot be served.
    async fn send_error(&self, connection: &Connection, text: &str) {
        let body = json!({
            "message": text,
            "connectionId": connection.id,
            "requestId": aws_request_id(),
        });
        let _ = connection
            .outbound
            .send(Message::Text(Utf8Bytes::from(body.to_string())))
            .await;
    }
}

impl Connection {
    fn touch(&self) {
        *self
            .last_active_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Utc::now();
    }

    fn last_active_at(&self) -> DateTime<Utc> {
        *self
            .last_active_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn message_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
        _ => 0,
    }
}

/// Writes queued frames to the client until the queue closes or a close frame is sent.
async fn write_frames(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut outbound: mpsc::Receiver<Message>,
) {
    while let Some(message) = outbound.recv().await {
        let is_close = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || is_close {
            break;
        }
    }
}

/// Evaluates a route selection expression such as `$request.body.action` on a text message.
fn select_route_key(expression: &str, body: &str) -> Option<String> {
    let expression = expression.trim();
    let expression = expression
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .map_or_else(
            || expression.trim_start_matches('$').to_owned(),
            str::to_owned,
        );
    let path = expression.strip_prefix("request.body.")?;
    let mut value: Value = serde_json::from_str(body).ok()?;
    for field in path.split('.') {
        value = value.get_mut(field)?.take();
    }
    match value {
        Value::String(key) if !key.is_empty() => Some(key),
        _ => None,
    }
}

fn gone(connection_id: &str) -> Response {
    management_error(
        StatusCode::GONE,
        "GoneException",
        &format!("Connection {connection_id} is gone"),
    )
}

fn management_error(status: StatusCode, error_type: &'static str, text: &str) -> Response {
    (
        status,
        [("x-amzn-ErrorType", error_type)],
        Json(json!({ "message": text })),
    )
        .into_response()
}

async fn upgrade(
    State(gateway): State<Arc<WebSocketGateway>>,
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    uri: Uri,
    extensions: Extensions,
) -> Response {
    let source_ip = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "127.0.0.1".to_owned(), |info| info.0.ip().to_string());
    let now = Utc::now();
    let (sender, receiver) = mpsc::channel(OUTBOUND_QUEUE);
    let connection = Arc::new(Connection {
        id: aws_request_id(),
        connected_at: now,
        source_ip,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        domain_name: headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("127.0.0.1")
            .to_owned(),
        last_active_at: Mutex::new(now),
        outbound: sender,
        close_requested: Notify::new(),
    });

    if let Some(function) = gateway.function_for("$connect") {
        let event = gateway.connect_event(&connection, &headers, &uri);
        match gateway.invoke(function, event).await {
            Ok(answer) => {
                let status = answer
                    .get("statusCode")
                    .and_then(Value::as_u64)
                    .and_then(|code| u16::try_from(code).ok())
                    .and_then(|code| StatusCode::from_u16(code).ok())
                    .unwrap_or(StatusCode::OK);
                if !status.is_success() {
                    tracing::info!(connection_id = %connection.id, status = status.as_u16(), "$connect refused the connection");
                    let body = answer
                        .get("body")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    return (status, body).into_response();
                }
            }
            Err(error) => {
                tracing::warn!(connection_id = %connection.id, error = %error, "$connect failed");
                return (
                    StatusCode::BAD_GATEWAY,
                    Json(json!({"message": "Internal server error"})),
                )
                    .into_response();
            }
        }
    }

    // The connection exists from here on: @connections can reach it, and $disconnect will run.
    gateway
        .lock_connections()
        .insert(connection.id.clone(), connection.clone());
    tracing::info!(connection_id = %connection.id, "websocket connected");

    let failed_gateway = gateway.clone();
    let failed_connection = connection.clone();
    ws.max_message_size(gateway.limits.max_message_bytes)
        .on_failed_upgrade(move |error| {
            tracing::warn!(error = %error, "websocket upgrade failed");
            tokio::spawn(async move {
                let disconnect = Disconnect {
                    status_code: close_code::ABNORMAL,
                    reason: "Upgrade failed".to_owned(),
                };
                failed_gateway.finish(&failed_connection, &disconnect).await;
            });
        })
        .on_upgrade(move |socket| gateway.run_connection(socket, connection, receiver))
}

async fn post_to_connection(
    State(gateway): State<Arc<WebSocketGateway>>,
    Path(connection_id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(connection) = gateway.connection(&connection_id) else {
        return gone(&connection_id);
    };
    if body.len() > gateway.limits.max_message_bytes {
        return management_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeException",
            "Message is too large",
        );
    }
    let message = match std::str::from_utf8(&body) {
        Ok(text) => Message::Text(Utf8Bytes::from(text)),
        Err(_) => Message::Binary(body),
    };
    match connection.outbound.send(message).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(_) => gone(&connection_id),
    }
}

async fn get_connection(
    State(gateway): State<Arc<WebSocketGateway>>,
    Path(connection_id): Path<String>,
) -> Response {
    let Some(connection) = gateway.connection(&connection_id) else {
        return gone(&connection_id);
    };
    let timestamp = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Millis, true);
    Json(json!({
        "connectedAt": timestamp(connection.connected_at),
        "identity": {
            "sourceIp": connection.source_ip,
            "userAgent": connection.user_agent,
        },
        "lastActiveAt": timestamp(connection.last_active_at()),
    }))
    .into_response()
}

async fn delete_connection(
    State(gateway): State<Arc<WebSocketGateway>>,
    Path(connection_id): Path<String>,
) -> Response {
    let Some(connection) = gateway.connection(&connection_id) else {
        return gone(&connection_id);
    };
    connection.close_requested.notify_one();
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WebSocketRoute;
    use async_trait::async_trait;
    use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
    use tokio_tungstenite::tungstenite;

    type Answer = Box<dyn Fn(&str, &Value) -> Result<Value, InvokeError> + Send + Sync>;

    /// Records every event and answers by route key.
    struct FakeInvoke {
        events: Mutex<Vec<(String, Value)>>,
        events_changed: Notify,
        answer: Answer,
    }

    #[async_trait]
    impl Invoke for FakeInvoke {
        async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
            let answer = (self.answer)(function, &payload);
            self.events
                .lock()
                .unwrap()
                .push((function.to_owned(), payload));
            self.events_changed.notify_waiters();
            answer
        }
    }

    impl FakeInvoke {
        fn route_keys(&self) -> Vec<String> {
            self.events
                .lock()
                .unwrap()
                .iter()
                .map(|(_, e)| e["requestContext"]["routeKey"].as_str().unwrap().to_owned())
                .collect()
        }

        fn event(&self, route_key: &str) -> Option<Value> {
            self.events
                .lock()
                .unwrap()
                .iter()
                .find(|(_, e)| e["requestContext"]["routeKey"] == route_key)
                .map(|(_, e)| e.clone())
        }

        async fn wait_for(&self, route_key: &str) -> Value {
            tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    let notified = self.events_changed.notified();
                    if let Some(event) = self.event(route_key) {
                        return event;
                    }
                    notified.await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("no {route_key} event within 10 s"))
        }
    }

    fn spec() -> WebSocketApiSpec {
        let route = |key: &str, function: &str| WebSocketRoute {
            route_key: key.to_owned(),
            function: function.to_owned(),
        };
        WebSocketApiSpec {
            logical_id: "WebSocketApi".to_owned(),
            route_selection_expression: "$request.body.action".to_owned(),
            stage: "prod".to_owned(),
            routes: vec![
                route("$connect", "WsApiFunction"),
                route("$disconnect", "WsApiFunction"),
                route("$default", "WsApiFunction"),
                route("echo", "EchoFunction"),
            ],
        }
    }

    /// Refuses `$connect` without `?token=good`, echoes `echo` bodies, fails on `boom`.
    fn default_answer(function: &str, event: &Value) -> Result<Value, InvokeError> {
        let context = &event["requestContext"];
        match context["routeKey"].as_str().unwrap_or_default() {
            "$connect" => {
                if event["queryStringParameters"]["token"] == "good" {
                    Ok(json!({"statusCode": 200}))
                } else {
                    Ok(json!({"statusCode": 401, "body": "no token"}))
                }
            }
            "echo" => Ok(json!({"statusCode": 200, "body": event["body"]})),
            "$default" if event["body"].as_str().is_some_and(|b| b.contains("boom")) => {
                Err(InvokeError::Failed {
                    function: function.to_owned(),
                    error_type: "Panic".to_owned(),
                    error_message: "boom".to_owned(),
                })
            }
            _ => Ok(json!({"statusCode": 200})),
        }
    }

    struct Harness {
        address: SocketAddr,
        gateway: Arc<WebSocketGateway>,
        fake: Arc<FakeInvoke>,
    }

    async fn start(limits: WebSocketLimits) -> Harness {
        let fake = Arc::new(FakeInvoke {
            events: Mutex::new(Vec::new()),
            events_changed: Notify::new(),
            answer: Box::new(default_answer),
        });
        let gateway = Arc::new(WebSocketGateway::new(spec(), fake.clone()).with_limits(limits));
        let app = gateway.clone().router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Harness {
            address,
            gateway,
            fake,
        }
    }

    type Client = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;

    async fn connect(harness: &Harness, query: &str) -> Result<Client, tungstenite::Error> {
        let url = format!("ws://{}/ws{query}", harness.address);
        tokio_tungstenite::connect_async(url)
            .await
            .map(|(ws, _)| ws)
    }

    async fn next_text(client: &mut Client) -> String {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), client.next())
                .await
                .expect("a frame within 10 s")
                .expect("an open stream")
                .unwrap();
            match frame {
                tungstenite::Message::Text(text) => return text.to_string(),
                tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => {}
                other => panic!("expected text, got {other:?}"),
            }
        }
    }

    /// Reads up to the server's close frame, answers it, and returns its code.
    async fn expect_close(client: &mut Client) -> u16 {
        let code = loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), client.next())
                .await
                .expect("a frame within 5 s")
                .expect("an open stream")
                .unwrap();
            if let tungstenite::Message::Close(frame) = frame {
                break frame.map_or(1005, |frame| u16::from(frame.code));
            }
        };
        // Polling once more sends our close reply and sees the stream end.
        let _ = client.next().await;
        code
    }

    fn connection_id(harness: &Harness) -> String {
        harness.fake.event("$connect").unwrap()["requestContext"]["connectionId"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn when_connect_allows_should_upgrade_and_pass_the_event_api_gateway_sends() {
        let harness = start(WebSocketLimits::default()).await;
        let _client = connect(&harness, "?token=good").await.unwrap();
        let event = harness.fake.event("$connect").unwrap();
        assert_eq!(event["queryStringParameters"]["token"], "good");
        assert_eq!(
            event["multiValueQueryStringParameters"]["token"],
            json!(["good"])
        );
        assert_eq!(event["headers"]["host"], harness.address.to_string());
        let context = &event["requestContext"];
        assert_eq!(context["eventType"], "CONNECT");
        assert_eq!(context["messageDirection"], "IN");
        assert_eq!(context["stage"], "prod");
        assert_eq!(context["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(context["apiId"], api_id("WebSocketApi"));
        let id = context["connectionId"].as_str().unwrap().to_owned();
        assert_eq!(id.len(), 16);
        assert!(id.ends_with('='));

        let parsed: ApiGatewayWebsocketProxyRequest = serde_json::from_value(event).unwrap();
        assert_eq!(
            parsed.request_context.event_type.as_deref(),
            Some("CONNECT")
        );
        assert_eq!(
            parsed.request_context.route_key.as_deref(),
            Some("$connect")
        );
        assert_eq!(parsed.request_context.connection_id, Some(id));
        assert!(parsed.request_context.connected_at > 0);
        assert_eq!(parsed.query_string_parameters.first("token"), Some("good"));
        assert_eq!(
            parsed.request_context.identity.source_ip.as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(harness.gateway.connection_count(), 1);
    }

    #[tokio::test]
    async fn when_connect_answers_non_2xx_should_refuse_the_upgrade_with_that_status() {
        let harness = start(WebSocketLimits::default()).await;
        match connect(&harness, "?token=bad").await {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
            other => panic!("expected a refused upgrade, got {:?}", other.map(|_| ())),
        }
        assert_eq!(harness.gateway.connection_count(), 0);
        assert_eq!(harness.fake.route_keys(), ["$connect"]);
    }

    #[tokio::test]
    async fn when_a_message_names_an_action_should_route_it_and_send_the_body_back() {
        let harness = start(WebSocketLimits::default()).await;
        let mut client = connect(&harness, "?token=good").await.unwrap();
        client
            .send(tungstenite::Message::text(r#"{"action":"echo","x":1}"#))
            .await
            .unwrap();
        assert_eq!(next_text(&mut client).await, r#"{"action":"echo","x":1}"#);
        let event = harness.fake.event("echo").unwrap();
        assert_eq!(event["requestContext"]["eventType"], "MESSAGE");
        assert!(event["requestContext"]["messageId"].is_string());
        let parsed: ApiGatewayWebsocketProxyRequest = serde_json::from_value(event).unwrap();
        assert_eq!(parsed.body.as_deref(), Some(r#"{"action":"echo","x":1}"#));

        client
            .send(tungstenite::Message::text(r#"{"action":"unknown"}"#))
            .await
            .unwrap();
        client
            .send(tungstenite::Message::text("not json"))
            .await
            .unwrap();
        client
            .send(tungstenite::Message::text("boom"))
            .await
            .unwrap();
        let error: Value = serde_json::from_str(&next_text(&mut client).await).unwrap();
        assert_eq!(error["message"], "Internal server error");
        assert_eq!(error["connectionId"], connection_id(&harness));
        let keys = harness.fake.route_keys();
        assert_eq!(
            keys,
            ["$connect", "echo", "$default", "$default", "$default"]
        );
    }

    #[tokio::test]
    async fn when_the_client_closes_should_run_disconnect_exactly_once() {
        let harness = start(WebSocketLimits::default()).await;
        let mut client = connect(&harness, "?token=good").await.unwrap();
        client.close(None).await.unwrap();
        let event = harness.fake.wait_for("$disconnect").await;
        assert_eq!(event["requestContext"]["eventType"], "DISCONNECT");
        assert_eq!(
            event["requestContext"]["connectionId"],
            connection_id(&harness)
        );
        let parsed: ApiGatewayWebsocketProxyRequest = serde_json::from_value(event).unwrap();
        assert_eq!(parsed.request_context.disconnect_status_code, Some(1005));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let disconnects = harness
            .fake
            .route_keys()
            .iter()
            .filter(|k| *k == "$disconnect")
            .count();
        assert_eq!(disconnects, 1);
        assert_eq!(harness.gateway.connection_count(), 0);
    }

    #[tokio::test]
    async fn when_the_client_vanishes_should_still_run_disconnect() {
        let harness = start(WebSocketLimits::default()).await;
        let client = connect(&harness, "?token=good").await.unwrap();
        drop(client);
        harness.fake.wait_for("$disconnect").await;
        assert_eq!(harness.gateway.connection_count(), 0);
    }

    #[tokio::test]
    async fn when_the_connection_is_idle_too_long_should_close_it() {
        let harness = start(WebSocketLimits {
            idle_timeout: Duration::from_millis(300),
            ..WebSocketLimits::default()
        })
        .await;
        let mut client = connect(&harness, "?token=good").await.unwrap();
        assert_eq!(expect_close(&mut client).await, 1001);
        let event = harness.fake.wait_for("$disconnect").await;
        assert_eq!(event["requestContext"]["disconnectStatusCode"], 1001);
        assert_eq!(event["requestContext"]["disconnectReason"], "Idle timeout");
    }

    #[tokio::test]
    async fn when_the_maximum_duration_passes_should_close_even_an_active_connection() {
        let harness = start(WebSocketLimits {
            max_duration: Duration::from_millis(400),
            idle_timeout: Duration::from_millis(300),
            ..WebSocketLimits::default()
        })
        .await;
        let mut client = connect(&harness, "?token=good").await.unwrap();
        // Activity every 100 ms keeps the idle timer from firing; the 400 ms cap still does.
        let closed = loop {
            tokio::select! {
                frame = client.next() => break frame,
                () = tokio::time::sleep(Duration::from_millis(100)) => {
                    client.send(tungstenite::Message::text("{}")).await.unwrap();
                }
            }
        };
        match closed {
            Some(Ok(tungstenite::Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1001);
            }
            other => panic!("expected a close frame, got {other:?}"),
        }
        let _ = client.next().await;
        let event = harness.fake.wait_for("$disconnect").await;
        assert_eq!(
            event["requestContext"]["disconnectReason"],
            "Maximum connection duration"
        );
    }

    #[tokio::test]
    async fn when_a_message_is_too_big_should_close_with_1009() {
        let harness = start(WebSocketLimits {
            max_message_bytes: 1024,
            ..WebSocketLimits::default()
        })
        .await;
        let mut client = connect(&harness, "?token=good").await.unwrap();
        let _ = client
            .send(tungstenite::Message::text("x".repeat(2048)))
            .await;
        let event = harness.fake.wait_for("$disconnect").await;
        assert_eq!(event["requestContext"]["disconnectStatusCode"], 1009);
        assert!(harness.fake.event("$default").is_none());
    }

    #[tokio::test]
    async fn when_managing_connections_over_http_should_post_get_and_delete() {
        let harness = start(WebSocketLimits::default()).await;
        let mut client = connect(&harness, "?token=good").await.unwrap();
        let id = connection_id(&harness);
        let http = reqwest::Client::new();
        let url = format!("http://{}/ws/@connections/{id}", harness.address);

        let response = http.post(&url).body("ahoj").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(next_text(&mut client).await, "ahoj");

        let response = http.post(&url).body(vec![0xff, 0xfe]).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let frame = client.next().await.unwrap().unwrap();
        assert_eq!(frame, tungstenite::Message::binary(vec![0xff, 0xfe]));

        let info: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        assert!(DateTime::parse_from_rfc3339(info["connectedAt"].as_str().unwrap()).is_ok());
        assert!(DateTime::parse_from_rfc3339(info["lastActiveAt"].as_str().unwrap()).is_ok());
        assert_eq!(info["identity"]["sourceIp"], "127.0.0.1");

        let response = http.delete(&url).send().await.unwrap();
        assert_eq!(response.status(), 204);
        assert_eq!(expect_close(&mut client).await, 1000);
        let event = harness.fake.wait_for("$disconnect").await;
        assert_eq!(event["requestContext"]["connectionId"], id);

        let response = http.post(&url).body("late").send().await.unwrap();
        assert_eq!(response.status(), 410);
        assert_eq!(response.headers()["x-amzn-errortype"], "GoneException");
        let body: Value = response.json().await.unwrap();
        assert!(body["message"].is_string());
        for response in [
            http.get(&url).send().await.unwrap(),
            http.delete(&url).send().await.unwrap(),
        ] {
            assert_eq!(response.status(), 410);
        }
    }

    #[tokio::test]
    async fn when_the_aws_sdk_manages_connections_should_work_like_against_aws() {
        use aws_sdk_apigatewaymanagement::{
            config::{BehaviorVersion, Credentials, Region},
            primitives::Blob,
            Client, Config,
        };
        let harness = start(WebSocketLimits::default()).await;
        let mut client = connect(&harness, "?token=good").await.unwrap();
        let id = connection_id(&harness);
        let config = Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-central-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(format!("http://{}/ws", harness.address))
            .build();
        let sdk = Client::from_conf(config);

        sdk.post_to_connection()
            .connection_id(&id)
            .data(Blob::new(r#"{"type":"notice"}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(next_text(&mut client).await, r#"{"type":"notice"}"#);

        let info = sdk
            .get_connection()
            .connection_id(&id)
            .send()
            .await
            .unwrap();
        assert!(info.connected_at().is_some());
        assert!(info.last_active_at().is_some());
        assert_eq!(
            info.identity().and_then(|i| i.source_ip()),
            Some("127.0.0.1")
        );

        sdk.delete_connection()
            .connection_id(&id)
            .send()
            .await
            .unwrap();
        assert_eq!(expect_close(&mut client).await, 1000);
        harness.fake.wait_for("$disconnect").await;

        let error = sdk
            .post_to_connection()
            .connection_id(&id)
            .data(Blob::new("late"))
            .send()
            .await
            .unwrap_err();
        assert!(error.into_service_error().is_gone_exception());
    }

    #[test]
    fn when_selecting_routes_should_follow_the_expression() {
        let expression = "$request.body.action";
        assert_eq!(
            select_route_key(expression, r#"{"action":"echo"}"#).as_deref(),
            Some("echo")
        );
        assert_eq!(select_route_key(expression, r#"{"action":1}"#), None);
        assert_eq!(select_route_key(expression, "plain"), None);
        assert_eq!(
            select_route_key("${request.body.meta.kind}", r#"{"meta":{"kind":"x"}}"#).as_deref(),
            Some("x")
        );
    }
}
