//! The WebSocket routes.
//!
//! - `$connect`: the browser passes its access token as `?token=` (browsers cannot set headers
//!   on a WebSocket). Valid token with a role that may connect → the connection is stored and
//!   200 accepts the upgrade; otherwise 401/403 refuse it (API Gateway answers the upgrade
//!   request with that status). A chat widget visitor passes their conversation's participant
//!   token as `?participantToken=` instead (issue 7): the connection then gets that
//!   conversation's messages and nothing else (no broadcasts, no other conversation).
//! - `$disconnect`: forget the connection and remember when its user left (best effort: API
//!   Gateway ignores the answer, and TTL and the sweeper catch what is missed).
//! - `$default`: `{"action":"ping"}` → `{"type":"pong","at":…}` (and the connection's
//!   `heartbeatAt` is recorded for the presence heartbeat), `{"action":"whoami"}` → the
//!   principal stored at connect, anything else → `{"type":"error","code":"unknown-action"}`,
//!   each pushed back to the sender through `@connections`.

use aws_lambda_events::{
    apigw::ApiGatewayProxyResponse, apigw::ApiGatewayWebsocketProxyRequest, encodings::Body,
};
use lambda_runtime::{Error, LambdaEvent};
use linka_shared::{
    auth::{AuthError, JwksSource, TokenValidator},
    authz::Permission,
    chat::participant::ParticipantTokens,
    ports::{ConnectionNotifier, ConnectionStore, PostOutcome},
    realtime::{ClientAction, Connection, PushMessage},
    telemetry::ErrorChain,
    time::now_utc,
};

/// What the handler needs, built once in `main`.
pub struct HandlerDeps<J, S, N> {
    pub validator: TokenValidator<J>,
    pub connections: S,
    pub notifier: N,
    /// Chat participant tokens; `None`: visitors cannot connect.
    pub participants: Option<ParticipantTokens>,
}

/// Entry point for every WebSocket event. Failures become status codes, not Lambda errors.
pub async fn function_handler<J, S, N>(
    deps: &HandlerDeps<J, S, N>,
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error>
where
    J: JwksSource,
    S: ConnectionStore,
    N: ConnectionNotifier,
{
    let request = event.payload;
    let context = &request.request_context;
    let route = context.route_key.as_deref().unwrap_or_default();
    let Some(connection_id) = context.connection_id.as_deref() else {
        tracing::warn!(route, "WebSocket event without a connection id");
        return Ok(response(400, Some("connection-id-missing")));
    };
    let span = tracing::info_span!("ws", route, connection_id);
    let _entered = span.enter();
    let answer = match route {
        "$connect" => connect(deps, &request, connection_id).await,
        "$disconnect" => disconnect(deps, connection_id).await,
        _ => message(deps, &request, connection_id).await,
    };
    tracing::info!(status = answer.status_code, "WebSocket event handled");
    Ok(answer)
}

async fn connect<J: JwksSource, S: ConnectionStore, N>(
    deps: &HandlerDeps<J, S, N>,
    request: &ApiGatewayWebsocketProxyRequest,
    connection_id: &str,
) -> ApiGatewayProxyResponse {
    let token = request
        .query_string_parameters
        .first("token")
        .filter(|token| !token.is_empty());
    let participant = request
        .query_string_parameters
        .first("participantToken")
        .filter(|token| !token.is_empty());
    if let (None, Some(participant)) = (token, participant) {
        return connect_visitor(deps, participant, connection_id).await;
    }
    let validated = match token {
        Some(token) => deps.validator.validate(token).await,
        None => Err(AuthError::MissingToken),
    };
    let principal = match validated {
        Ok(principal) => principal,
        Err(error) if error.is_server_error() => {
            tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(&error), "cannot validate tokens");
            return response(503, Some(error.code()));
        }
        Err(error) => {
            tracing::info!(code = error.code(), "connection refused: token");
            return response(401, Some(error.code()));
        }
    };
    if let Err(forbidden) = principal.require(Permission::ConnectRealtime) {
        tracing::info!(
            permission = forbidden.permission.as_str(),
            "connection refused: permission"
        );
        return response(403, Some("forbidden"));
    }
    let connection = Connection::open(connection_id, &principal, now_utc());
    if let Err(error) = deps.connections.put(&connection).await {
        tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(&error), "failed to store a connection");
        return response(500, Some("internal-error"));
    }
    tracing::debug!(username = %principal.username, "connection stored");
    response(200, None)
}

/// A chat visitor with the participant token of one conversation.
async fn connect_visitor<J, S: ConnectionStore, N>(
    deps: &HandlerDeps<J, S, N>,
    token: &str,
    connection_id: &str,
) -> ApiGatewayProxyResponse {
    let Some(participants) = &deps.participants else {
        tracing::info!("visitor refused: no participant token key configured");
        return response(401, Some("participant-token-invalid"));
    };
    let conversation_id = match participants.verify(token) {
        Ok(conversation_id) => conversation_id,
        Err(error) => {
            tracing::info!(error.message = %error, "visitor refused: participant token");
            return response(401, Some("participant-token-invalid"));
        }
    };
    let connection = Connection::visitor(connection_id, &conversation_id, now_utc());
    if let Err(error) = deps.connections.put(&connection).await {
        tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(&error), "failed to store a connection");
        return response(500, Some("internal-error"));
    }
    tracing::debug!(conversation_id, "visitor connection stored");
    response(200, None)
}

async fn disconnect<J, S: ConnectionStore, N>(
    deps: &HandlerDeps<J, S, N>,
    connection_id: &str,
) -> ApiGatewayProxyResponse {
    // Forgets the connection and remembers when its user left: a page reload (disconnect, then
    // connect) must not look like an absence to the presence heartbeat (ws-sweeper).
    if let Err(error) = deps.connections.depart(connection_id, now_utc()).await {
        // Nobody waits for this answer; TTL and the sweeper remove the record later.
        tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "failed to delete a connection");
    }
    response(200, None)
}

async fn message<J, S: ConnectionStore, N: ConnectionNotifier>(
    deps: &HandlerDeps<J, S, N>,
    request: &ApiGatewayWebsocketProxyRequest,
    connection_id: &str,
) -> ApiGatewayProxyResponse {
    // Binary frames arrive base64-encoded; no action is binary.
    let body = (!request.is_base64_encoded)
        .then_some(request.body.as_deref())
        .flatten();
    let action = ClientAction::parse(body);
    let reply = match action {
        ClientAction::Ping => PushMessage::Pong { at: now_utc() },
        ClientAction::Whoami => match deps.connections.get(connection_id).await {
            Ok(Some(connection)) => PushMessage::Whoami {
                principal: connection.principal(),
            },
            Ok(None) => PushMessage::Error {
                code: "connection-unknown".to_owned(),
            },
            Err(error) => {
                tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(&error), "failed to read a connection");
                return response(500, Some("internal-error"));
            }
        },
        ClientAction::Unknown => PushMessage::Error {
            code: "unknown-action".to_owned(),
        },
    };
    let heartbeat = async {
        if action == ClientAction::Ping {
            record_heartbeat(deps, connection_id).await;
        }
    };
    let ((), posted) = tokio::join!(heartbeat, deps.notifier.post(connection_id, &reply));
    match posted {
        Ok(PostOutcome::Delivered) => response(200, None),
        Ok(PostOutcome::Gone) => {
            // The sender left before the reply: forget it now rather than at the next broadcast.
            if let Err(error) = deps.connections.delete(connection_id).await {
                tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "failed to delete a gone connection");
            }
            response(410, Some("gone"))
        }
        Err(error) => {
            tracing::error!(error.message = %error, error.cause_chain = %ErrorChain(&error), "failed to reply");
            response(500, Some("internal-error"))
        }
    }
}

/// The presence heartbeat: a ping proves the desk is open. Written at most every
/// `HEARTBEAT_WRITE_INTERVAL_SECONDS` per connection (a conditional update); a failure is only
/// logged — the pong matters more, and the next ping tries again.
async fn record_heartbeat<J, S: ConnectionStore, N>(
    deps: &HandlerDeps<J, S, N>,
    connection_id: &str,
) {
    match deps
        .connections
        .record_heartbeat(connection_id, now_utc())
        .await
    {
        Ok(written) => tracing::debug!(written, "heartbeat"),
        Err(error) => {
            tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "failed to record a heartbeat");
        }
    }
}

fn response(status: i64, code: Option<&str>) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response.body = code.map(|code| Body::Text(code.to_owned()));
    response
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{DateTime, Utc};
    use linka_shared::{
        adapters::memory::{InMemoryConnectionStore, RecordingNotifier},
        auth::{Principal, Role},
        ports::{MockConnectionStore, StoreError},
        testing::{StaticJwks, TestIssuer},
    };
    use serde_json::{json, Value};

    use super::*;

    const CONNECT: &str = include_str!("../../../events/ws/connect.json");
    const DISCONNECT: &str = include_str!("../../../events/ws/disconnect.json");
    const PING: &str = include_str!("../../../events/ws/ping.json");
    const WHOAMI: &str = include_str!("../../../events/ws/whoami.json");
    const UNKNOWN_ACTION: &str = include_str!("../../../events/ws/unknown-action.json");
    const CONNECTION_ID: &str = "L0SM9cOFvHcCIhw=";
    const PARTICIPANT_SECRET: &[u8] = b"a-participant-secret-of-32-bytes-or-more";

    fn deps() -> HandlerDeps<StaticJwks, InMemoryConnectionStore, RecordingNotifier> {
        deps_with(InMemoryConnectionStore::default(), RecordingNotifier::new())
    }

    fn deps_with<S: ConnectionStore, N: ConnectionNotifier>(
        connections: S,
        notifier: N,
    ) -> HandlerDeps<StaticJwks, S, N> {
        HandlerDeps {
            validator: TestIssuer::primary().validator(),
            connections,
            notifier,
            participants: Some(ParticipantTokens::new(PARTICIPANT_SECRET).unwrap()),
        }
    }

    /// The sample event, with the placeholder token replaced (or removed) on `$connect`.
    fn event(json: &str, token: Option<&str>) -> LambdaEvent<ApiGatewayWebsocketProxyRequest> {
        let mut value: Value = serde_json::from_str(json).unwrap();
        if value["queryStringParameters"].is_object() {
            match token {
                Some(token) => {
                    value["queryStringParameters"]["token"] = json!(token);
                    value["multiValueQueryStringParameters"]["token"] = json!([token]);
                }
                None => {
                    value["queryStringParameters"] = json!({});
                    value["multiValueQueryStringParameters"] = json!({});
                }
            }
        }
        LambdaEvent::new(
            serde_json::from_value(value).unwrap(),
            lambda_runtime::Context::default(),
        )
    }

    fn stored(username: &str, roles: &[Role]) -> Connection {
        let principal = Principal {
            subject: format!("sub-{username}"),
            username: username.to_owned(),
            display_name: Some(format!("Test {username}")),
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            client_id: Some("linka-web".to_owned()),
        };
        Connection::open(CONNECTION_ID, &principal, Utc::now())
    }

    fn body_of(response: &ApiGatewayProxyResponse) -> Option<String> {
        match &response.body {
            Some(Body::Text(text)) => Some(text.clone()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn when_agent_connects_with_valid_token_should_store_the_connection() {
        // GIVEN the sample $connect with an agent's token
        let deps = deps();
        let token = TestIssuer::primary().token_for("agent01", &["agent"]);
        let before = Utc::now();
        // WHEN handled
        let response = function_handler(&deps, event(CONNECT, Some(&token)))
            .await
            .unwrap();
        // THEN 200, and the connection is stored with who, when, and an expiry 2 h 10 min later
        assert_eq!(response.status_code, 200);
        let connection = deps.connections.get(CONNECTION_ID).await.unwrap().unwrap();
        assert_eq!(connection.username, "agent01");
        assert_eq!(connection.roles, BTreeSet::from([Role::Agent]));
        assert!(connection.connected_at >= before - chrono::Duration::seconds(1));
        assert_eq!(
            connection.expires_at - connection.connected_at.timestamp(),
            7800
        );
    }

    /// `$connect` with `?participantToken=` instead of `?token=`.
    fn visitor_event(participant_token: &str) -> LambdaEvent<ApiGatewayWebsocketProxyRequest> {
        let mut value: Value = serde_json::from_str(CONNECT).unwrap();
        value["queryStringParameters"] = json!({ "participantToken": participant_token });
        value["multiValueQueryStringParameters"] =
            json!({ "participantToken": [participant_token] });
        LambdaEvent::new(
            serde_json::from_value(value).unwrap(),
            lambda_runtime::Context::default(),
        )
    }

    #[tokio::test]
    async fn when_a_chat_visitor_connects_with_a_participant_token_should_store_a_roleless_visitor()
    {
        let deps = deps();
        let token = ParticipantTokens::new(PARTICIPANT_SECRET)
            .unwrap()
            .issue("conv-1", Utc::now())
            .unwrap();
        let response = function_handler(&deps, visitor_event(&token))
            .await
            .unwrap();
        assert_eq!(response.status_code, 200);
        let stored = deps.connections.get(CONNECTION_ID).await.unwrap().unwrap();
        assert_eq!(stored.username, "visitor:conv-1");
        assert!(stored.roles.is_empty() && stored.is_visitor());
        assert!(
            !stored.is_in_audience(None),
            "a visitor never gets a broadcast"
        );
    }

    #[tokio::test]
    async fn when_a_participant_token_is_forged_should_refuse_with_401() {
        let deps = deps();
        let forged = ParticipantTokens::new(b"another-secret-another-secret-another!")
            .unwrap()
            .issue("conv-1", Utc::now())
            .unwrap();
        let response = function_handler(&deps, visitor_event(&forged))
            .await
            .unwrap();
        assert_eq!(response.status_code, 401);
        assert_eq!(
            body_of(&response).as_deref(),
            Some("participant-token-invalid")
        );
        assert!(deps.connections.ids().is_empty());
    }

    #[tokio::test]
    async fn when_token_is_missing_should_refuse_with_401() {
        let deps = deps();
        let response = function_handler(&deps, event(CONNECT, None)).await.unwrap();
        assert_eq!(response.status_code, 401);
        assert_eq!(body_of(&response).as_deref(), Some("token-missing"));
        assert!(deps.connections.ids().is_empty());
    }

    #[tokio::test]
    async fn when_token_has_wrong_audience_should_refuse_with_401() {
        let deps = deps();
        let issuer = TestIssuer::primary();
        let mut claims = issuer.claims("agent01", &["agent"]);
        claims["aud"] = json!("another-api");
        let response = function_handler(&deps, event(CONNECT, Some(&issuer.sign(&claims))))
            .await
            .unwrap();
        assert_eq!(response.status_code, 401);
        assert_eq!(
            body_of(&response).as_deref(),
            Some("token-audience-invalid")
        );
        assert!(deps.connections.ids().is_empty());
    }

    #[tokio::test]
    async fn when_machine_client_connects_should_refuse_with_403() {
        let deps = deps();
        let token = TestIssuer::primary().token_for("icis", &["icis"]);
        let response = function_handler(&deps, event(CONNECT, Some(&token)))
            .await
            .unwrap();
        assert_eq!(response.status_code, 403);
        assert!(deps.connections.ids().is_empty());
    }

    #[tokio::test]
    async fn when_store_fails_on_connect_should_refuse_with_500() {
        let mut connections = MockConnectionStore::new();
        connections.expect_put().times(1).returning(|_| {
            Err(StoreError::Backend {
                operation: "store a connection",
                source: "throttled".into(),
            })
        });
        let deps = deps_with(connections, RecordingNotifier::new());
        let token = TestIssuer::primary().token_for("agent01", &["agent"]);
        let response = function_handler(&deps, event(CONNECT, Some(&token)))
            .await
            .unwrap();
        assert_eq!(response.status_code, 500);
    }

    #[tokio::test]
    async fn when_client_disconnects_should_forget_the_connection() {
        let deps = deps_with(
            InMemoryConnectionStore::default()
                .with_connections([stored("agent01", &[Role::Agent])]),
            RecordingNotifier::new(),
        );
        let response = function_handler(&deps, event(DISCONNECT, None))
            .await
            .unwrap();
        assert_eq!(response.status_code, 200);
        assert!(deps.connections.ids().is_empty());
        // AND agent01's departure is remembered for the presence heartbeat
        let left = deps.connections.departures()["agent01"];
        assert!((Utc::now() - left).num_seconds().abs() < 5);
    }

    #[tokio::test]
    async fn when_client_pings_should_push_pong_to_the_sender() {
        // GIVEN a connected client
        let deps = deps_with(
            InMemoryConnectionStore::default()
                .with_connections([stored("agent01", &[Role::Agent])]),
            RecordingNotifier::new(),
        );
        // WHEN it sends {"action":"ping"}
        let response = function_handler(&deps, event(PING, None)).await.unwrap();
        // THEN a pong with the current time goes back to it
        assert_eq!(response.status_code, 200);
        let posts = deps.notifier.posts();
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].0, CONNECTION_ID);
        let json = serde_json::to_value(&posts[0].1).unwrap();
        assert_eq!(json["type"], "pong");
        let at: DateTime<Utc> = json["at"].as_str().unwrap().parse().unwrap();
        assert!((Utc::now() - at).num_seconds().abs() < 5);
    }

    #[tokio::test]
    async fn when_client_pings_should_record_a_heartbeat_at_most_every_25_seconds() {
        // GIVEN a connected client without a heartbeat yet
        let deps = deps_with(
            InMemoryConnectionStore::default()
                .with_connections([stored("agent01", &[Role::Agent])]),
            RecordingNotifier::new(),
        );
        // WHEN it pings twice in a row
        function_handler(&deps, event(PING, None)).await.unwrap();
        let first = deps.connections.connection(CONNECTION_ID).unwrap();
        function_handler(&deps, event(PING, None)).await.unwrap();
        // THEN the first ping recorded the heartbeat, the second did not move it, both got pongs
        let beat = first.heartbeat_at.expect("a heartbeat");
        assert!((Utc::now().timestamp() - beat).abs() < 5);
        assert_eq!(
            deps.connections
                .connection(CONNECTION_ID)
                .unwrap()
                .heartbeat_at,
            Some(beat)
        );
        assert_eq!(deps.notifier.posts().len(), 2);
    }

    #[tokio::test]
    async fn when_the_heartbeat_cannot_be_written_should_still_answer_pong() {
        let mut connections = MockConnectionStore::new();
        connections.expect_record_heartbeat().returning(|_, _| {
            Err(StoreError::Backend {
                operation: "record a heartbeat",
                source: "throttled".into(),
            })
        });
        let deps = deps_with(connections, RecordingNotifier::new());
        let response = function_handler(&deps, event(PING, None)).await.unwrap();
        assert_eq!(response.status_code, 200);
        assert_eq!(deps.notifier.posts().len(), 1);
    }

    #[tokio::test]
    async fn when_client_asks_whoami_should_push_the_stored_principal() {
        let deps = deps_with(
            InMemoryConnectionStore::default()
                .with_connections([stored("supervisor", &[Role::Supervisor, Role::Queues])]),
            RecordingNotifier::new(),
        );
        function_handler(&deps, event(WHOAMI, None)).await.unwrap();
        let posts = deps.notifier.posts();
        assert_eq!(
            serde_json::to_value(&posts[0].1).unwrap(),
            json!({"type": "whoami", "principal": {
                "subject": "sub-supervisor", "username": "supervisor", "name": "Test supervisor",
                "roles": ["supervisor", "queues"], "clientId": "linka-web"}})
        );
    }

    #[tokio::test]
    async fn when_client_sends_an_unknown_action_should_push_an_error() {
        let deps = deps();
        for json in [
            UNKNOWN_ACTION.to_owned(),
            PING.replace(r#"{\"action\":\"ping\"}"#, "not json"),
        ] {
            function_handler(&deps, event(&json, None)).await.unwrap();
        }
        let codes: Vec<Value> = deps
            .notifier
            .posts()
            .iter()
            .map(|(_, message)| serde_json::to_value(message).unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                json!({"type": "error", "code": "unknown-action"}),
                json!({"type": "error", "code": "unknown-action"})
            ]
        );
    }

    #[tokio::test]
    async fn when_sender_is_gone_should_forget_the_connection() {
        let deps = deps_with(
            InMemoryConnectionStore::default()
                .with_connections([stored("agent01", &[Role::Agent])]),
            RecordingNotifier::new().with_gone(&[CONNECTION_ID]),
        );
        let response = function_handler(&deps, event(PING, None)).await.unwrap();
        assert_eq!(response.status_code, 410);
        assert!(deps.connections.ids().is_empty());
    }

    #[tokio::test]
    async fn when_event_has_no_connection_id_should_answer_400() {
        let deps = deps();
        let mut value: Value = serde_json::from_str(PING).unwrap();
        value["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("connectionId");
        let event = LambdaEvent::new(
            serde_json::from_value(value).unwrap(),
            lambda_runtime::Context::default(),
        );
        let response = function_handler(&deps, event).await.unwrap();
        assert_eq!(response.status_code, 400);
        assert!(deps.notifier.posts().is_empty());
    }
}
