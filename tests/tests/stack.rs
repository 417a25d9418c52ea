//! Integration tests against the running local stack (started by `scripts/test.sh`): real HTTP to
//! the dev gateway, real WebSocket, real SQS and DynamoDB in the emulator, the functions' own
//! binaries behind the local Lambda Runtime API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures_util::SinkExt;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{json, Value};
use system_tests::{eventually, foreign_key, repo_root, unsigned_token, Socket, Stack};
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(20);

fn identities() -> Value {
    let text = std::fs::read_to_string(repo_root().join("localstack/identities.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn get_me(stack: &Stack, token: &str) -> reqwest::Response {
    stack
        .http
        .get(stack.url("/api/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn assert_problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/problem+json"),
        "problem body expected, got {content_type}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(
        body["code"].is_string(),
        "problem has a stable code: {body}"
    );
    body
}

#[tokio::test]
async fn when_stack_is_up_health_should_report_every_function_ready() {
    let stack = Stack::from_env();
    let response = stack
        .http
        .get(stack.url("/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let text = body.to_string();
    for function in [
        "HttpApiFunction",
        "WsApiFunction",
        "BroadcastFunction",
        "WsSweeperFunction",
        "CtiIngestFunction",
    ] {
        assert!(text.contains(function), "{function} missing from {body}");
    }
}

#[tokio::test]
async fn when_each_demo_user_logs_in_should_get_a_token_carrying_its_roles() {
    let stack = Stack::from_env();
    for user in identities()["users"].as_array().unwrap() {
        let username = user["username"].as_str().unwrap();
        let token = stack.token(username).await;
        let response = get_me(&stack, &token).await;
        assert_eq!(response.status(), 200, "GET /api/me as {username}");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["username"], username);
        let expected: BTreeSet<&str> = user["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let got: BTreeSet<&str> = me["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(got, expected, "roles of {username}");
    }
}

#[tokio::test]
async fn when_machine_clients_use_client_credentials_should_get_machine_roles() {
    let stack = Stack::from_env();
    for client in ["icis", "chatbot"] {
        let token = stack.client_token(client).await;
        let me: Value = get_me(&stack, &token).await.json().await.unwrap();
        assert_eq!(me["roles"], json!([client]), "roles of client {client}");
    }
}

#[tokio::test]
async fn when_password_or_secret_is_wrong_should_refuse_a_token() {
    let stack = Stack::from_env();
    let response = stack
        .http
        .post(stack.url("/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "agent01"),
            ("password", "agent02"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");

    let response = stack
        .http
        .post(stack.url("/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "icis"),
            ("client_secret", "chatbot-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// Who may call what. A new route without a row here fails the test on purpose.
fn allowed_roles(method: &str, path: &str) -> Option<&'static [&'static str]> {
    const EVERYONE: &[&str] = &[
        "admin",
        "supervisor",
        "agent01",
        "wallboard",
        "client:icis",
        "client:chatbot",
    ];
    match (method, path) {
        ("GET", "/api/openapi.json") | ("GET", "/api/health") | ("ANY", "/api/{proxy+}") => None,
        ("GET", "/api/me") => Some(EVERYONE),
        ("GET" | "POST" | "PUT" | "DELETE", p) if p.starts_with("/api/admin/") => Some(&["admin"]),
        ("POST", "/api/broadcasts") => Some(&["admin", "supervisor"]),
        _ => panic!("route {method} {path} has no expectation in allowed_roles(): add one"),
    }
}

async fn token_of(stack: &Stack, who: &str) -> String {
    match who.strip_prefix("client:") {
        Some(client) => stack.client_token(client).await,
        None => stack.token(who).await,
    }
}

async fn call(stack: &Stack, method: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    // Writes aim at a user that does not exist, so that an allowed caller changes nothing.
    let username = if method == "GET" {
        "agent01"
    } else {
        "nobody-here"
    };
    let path = path.replace("{username}", username);
    let mut request = match method {
        "GET" => stack.http.get(stack.url(&path)),
        "PUT" => stack
            .http
            .put(stack.url(&path))
            .json(&json!({"displayName": "Nobody", "roles": ["agent"]})),
        "DELETE" => stack.http.delete(stack.url(&path)),
        "POST" => stack
            .http
            .post(stack.url(&path))
            .json(&json!({"text": "Zkušební oznámení", "severity": "info"})),
        other => panic!("method {other} not covered"),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn when_role_lacks_the_right_every_protected_route_should_answer_403() {
    let stack = Stack::from_env();
    let everyone = [
        "admin",
        "supervisor",
        "agent01",
        "wallboard",
        "client:icis",
        "client:chatbot",
    ];
    let mut tokens = HashMap::new();
    for who in everyone {
        tokens.insert(who, token_of(&stack, who).await);
    }
    let mut checked = 0;
    for (method, path) in http_api::ROUTES {
        let Some(allowed) = allowed_roles(method, path) else {
            continue;
        };
        for who in everyone {
            let response = call(&stack, method, path, Some(&tokens[who])).await;
            if allowed.contains(&who) {
                // A write that is allowed may still be refused for its content (422 for the
                // broadcast body sent to POST /api/admin/users, 404 for the absent user).
                let status = response.status();
                // A GET of one configuration document that does not exist is an admitted 404.
                let one_document = path.contains("{") && !path.contains("{username}");
                let admitted = if (*method == "GET" && !one_document) || *path == "/api/broadcasts"
                {
                    status.is_success()
                } else {
                    ![401, 403].contains(&status.as_u16()) && status.as_u16() < 500
                };
                assert!(
                    admitted,
                    "{who} should be allowed {method} {path}, got {status}"
                );
            } else {
                let body = assert_problem(response, 403).await;
                assert_eq!(body["code"], "forbidden", "{who} on {method} {path}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} refusals checked");
}

#[tokio::test]
async fn when_token_is_missing_every_protected_route_should_answer_401() {
    let stack = Stack::from_env();
    for (method, path) in http_api::ROUTES {
        if allowed_roles(method, path).is_none() {
            continue;
        }
        let response = call(&stack, method, path, None).await;
        assert!(
            response.headers().contains_key("www-authenticate"),
            "{method} {path} sends WWW-Authenticate"
        );
        assert_problem(response, 401).await;
    }
}

#[tokio::test]
async fn when_token_is_expired_should_answer_401() {
    let stack = Stack::from_env();
    let mut claims = stack.claims("agent01", &["agent"]);
    let past = chrono::Utc::now().timestamp() - 3600;
    claims["iat"] = json!(past - 600);
    claims["nbf"] = json!(past - 600);
    claims["exp"] = json!(past);
    let token = stack.sign_as_issuer(&claims).await;
    assert_problem(get_me(&stack, &token).await, 401).await;
}

#[tokio::test]
async fn when_token_is_not_yet_valid_should_answer_401() {
    let stack = Stack::from_env();
    let mut claims = stack.claims("agent01", &["agent"]);
    claims["nbf"] = json!(chrono::Utc::now().timestamp() + 600);
    claims["exp"] = json!(chrono::Utc::now().timestamp() + 1200);
    let token = stack.sign_as_issuer(&claims).await;
    assert_problem(get_me(&stack, &token).await, 401).await;
}

#[tokio::test]
async fn when_token_has_wrong_audience_should_answer_401() {
    let stack = Stack::from_env();
    let mut claims = stack.claims("agent01", &["agent"]);
    claims["aud"] = json!("some-other-api");
    let token = stack.sign_as_issuer(&claims).await;
    assert_problem(get_me(&stack, &token).await, 401).await;
}

#[tokio::test]
async fn when_token_has_wrong_issuer_should_answer_401() {
    let stack = Stack::from_env();
    let mut claims = stack.claims("agent01", &["agent"]);
    claims["iss"] = json!("https://evil.example/auth");
    let token = stack.sign_as_issuer(&claims).await;
    assert_problem(get_me(&stack, &token).await, 401).await;
}

#[tokio::test]
async fn when_token_says_alg_none_should_answer_401() {
    let stack = Stack::from_env();
    let token = unsigned_token(&stack.claims("admin", &["admin"]));
    assert_problem(get_me(&stack, &token).await, 401).await;
}

#[tokio::test]
async fn when_token_has_unknown_kid_should_answer_401() {
    let stack = Stack::from_env();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("kid-the-issuer-never-published".into());
    let token =
        jsonwebtoken::encode(&header, &stack.claims("admin", &["admin"]), &foreign_key()).unwrap();
    assert_problem(get_me(&stack, &token).await, 401).await;
}

#[tokio::test]
async fn when_token_is_signed_by_another_key_under_the_issuers_kid_should_answer_401() {
    let stack = Stack::from_env();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(stack.issuer_kid().await);
    let token =
        jsonwebtoken::encode(&header, &stack.claims("admin", &["admin"]), &foreign_key()).unwrap();
    assert_problem(get_me(&stack, &token).await, 401).await;
}

#[tokio::test]
async fn when_a_self_made_token_is_valid_should_be_accepted() {
    // The positive control of the tests above: same claims, issuer's key and kid.
    let stack = Stack::from_env();
    let token = stack
        .sign_as_issuer(&stack.claims("agent02", &["agent"]))
        .await;
    let response = get_me(&stack, &token).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn when_admin_pages_through_users_should_get_every_seeded_user_from_dynamodb() {
    let stack = Stack::from_env();
    let token = stack.token("admin").await;
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut request = stack
            .http
            .get(stack.url("/api/admin/users"))
            .bearer_auth(&token)
            .query(&[("limit", "5")]);
        if let Some(c) = &cursor {
            request = request.query(&[("cursor", c.as_str())]);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        for item in items {
            assert!(seen.insert(item["username"].as_str().unwrap().to_owned()));
        }
        pages += 1;
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 20, "paging does not end");
    }
    let expected: BTreeSet<String> = identities()["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    // Other tests (tests/admin.rs) create and delete users of their own meanwhile.
    assert!(
        expected.is_subset(&seen),
        "missing: {:?}",
        expected.difference(&seen).collect::<Vec<_>>()
    );
    assert!(pages >= 3);

    // The same users are in the emulator's table: the API read real state.
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let item = dynamodb
        .get_item()
        .table_name(Stack::physical_name("UsersTable"))
        .key(
            "username",
            aws_sdk_dynamodb::types::AttributeValue::S("agent03".into()),
        )
        .send()
        .await
        .unwrap();
    assert!(item.item().is_some());

    let response = stack
        .http
        .get(stack.url("/api/admin/users/agent03"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["username"], "agent03");
    let response = stack
        .http
        .get(stack.url("/api/admin/users/nobody-here"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(response, 404).await;
}

async fn connect(stack: &Stack, username: &str) -> Socket {
    let token = stack.token(username).await;
    let (socket, response) = tokio_tungstenite::connect_async(stack.ws_url(&token))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    socket
}

async fn next_matching(socket: &mut Socket, matches: impl Fn(&Value) -> bool) -> Value {
    system_tests::next_matching(socket, WAIT, matches).await
}

#[tokio::test]
async fn when_client_sends_ping_should_receive_pong_through_connections_api() {
    let stack = Stack::from_env();
    let mut socket = connect(&stack, "agent04").await;
    socket
        .send(Message::Text(r#"{"action":"ping"}"#.into()))
        .await
        .unwrap();
    let pong = next_matching(&mut socket, |m| m["type"] == "pong").await;
    assert!(pong["at"].is_string());
}

#[tokio::test]
async fn when_connect_token_is_invalid_should_refuse_the_upgrade_with_401() {
    let stack = Stack::from_env();
    let error = tokio_tungstenite::connect_async(stack.ws_url("not-a-token"))
        .await
        .expect_err("upgrade must be refused");
    match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn when_supervisor_posts_a_notice_should_connected_agent_receive_it() {
    // HTTP API → SQS (BroadcastQueue) → broadcast function → @connections → browser socket.
    let stack = Stack::from_env();
    let mut socket = connect(&stack, "agent05").await;
    // The connection is stored once $connect has answered; prove it with a round trip.
    socket
        .send(Message::Text(r#"{"action":"ping"}"#.into()))
        .await
        .unwrap();
    next_matching(&mut socket, |m| m["type"] == "pong").await;

    let text = format!("Výpadek ICIS {}", uuid::Uuid::new_v4());
    let response = stack
        .http
        .post(stack.url("/api/broadcasts"))
        .bearer_auth(stack.token("supervisor").await)
        .json(&json!({"text": text, "severity": "warning"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    let id = accepted["id"].as_str().unwrap().to_owned();

    let notice = next_matching(&mut socket, |m| m["type"] == "broadcast" && m["id"] == id).await;
    assert_eq!(notice["text"], text);
    assert_eq!(notice["severity"], "warning");
    assert_eq!(notice["sentBy"], "supervisor");
}

#[tokio::test]
async fn when_socket_closes_should_connection_record_be_deleted() {
    let stack = Stack::from_env();
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let table = Stack::physical_name("ConnectionsTable");
    let count_for = |user: &'static str| {
        let dynamodb = dynamodb.clone();
        let table = table.clone();
        async move {
            let scan = dynamodb
                .scan()
                .table_name(table)
                .filter_expression("username = :u")
                .expression_attribute_values(
                    ":u",
                    aws_sdk_dynamodb::types::AttributeValue::S(user.into()),
                )
                .send()
                .await
                .unwrap();
            scan.items().len()
        }
    };
    let mut socket = connect(&stack, "agent07").await;
    eventually("connection stored", WAIT, || async {
        (count_for("agent07").await == 1).then_some(())
    })
    .await;
    socket.close(None).await.unwrap();
    eventually("connection deleted", WAIT, || async {
        (count_for("agent07").await == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn when_sqs_message_fails_twice_should_land_in_its_dead_letter_queue() {
    let stack = Stack::from_env();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk_config().await);
    let queue = stack.queue_url(&sqs, "BroadcastQueue").await;
    let dlq = stack.queue_url(&sqs, "BroadcastDeadLetterQueue").await;
    let poison = format!("this is not a notice {}", uuid::Uuid::new_v4());
    sqs.send_message()
        .queue_url(&queue)
        .message_body(&poison)
        .send()
        .await
        .unwrap();

    let message = eventually("poison message in the DLQ", Duration::from_secs(60), || {
        let sqs = sqs.clone();
        let dlq = dlq.clone();
        let poison = poison.clone();
        async move {
            let received = sqs
                .receive_message()
                .queue_url(&dlq)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap();
            received
                .messages()
                .iter()
                .find(|m| m.body() == Some(poison.as_str()))
                .cloned()
        }
    })
    .await;
    let receives: u32 = message
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(receives >= 2, "received {receives} times before the DLQ");
    sqs.delete_message()
        .queue_url(&dlq)
        .receipt_handle(message.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn when_sweeper_schedule_fires_should_delete_only_stale_connections() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let stack = Stack::from_env();
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let table = Stack::physical_name("ConnectionsTable");
    let now = chrono::Utc::now();
    let stale = format!("stale-{}", uuid::Uuid::new_v4());
    let fresh = format!("fresh-{}", uuid::Uuid::new_v4());
    for (id, at) in [
        (&stale, now - chrono::Duration::hours(3)),
        (&fresh, now - chrono::Duration::minutes(5)),
    ] {
        dynamodb
            .put_item()
            .table_name(&table)
            .item("connectionId", A::S(id.clone()))
            .item("kind", A::S("connection".into()))
            .item(
                "connectedAt",
                A::S(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            )
            .item("username", A::S("agent09".into()))
            .item("roles", A::L(vec![A::S("agent".into())]))
            .item(
                "expiresAt",
                A::N(
                    (at + chrono::Duration::minutes(130))
                        .timestamp()
                        .to_string(),
                ),
            )
            .send()
            .await
            .unwrap();
    }
    let response = stack
        .http
        .post(stack.url("/_local/schedules/WsSweeperFunction/fire"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());

    let exists = |id: String| {
        let dynamodb = dynamodb.clone();
        let table = table.clone();
        async move {
            dynamodb
                .get_item()
                .table_name(table)
                .key("connectionId", A::S(id))
                .send()
                .await
                .unwrap()
                .item()
                .is_some()
        }
    };
    assert!(!exists(stale.clone()).await, "stale connection swept");
    assert!(exists(fresh.clone()).await, "fresh connection kept");
    dynamodb
        .delete_item()
        .table_name(&table)
        .key("connectionId", A::S(fresh))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn when_openapi_is_requested_should_serve_the_documented_file() {
    let stack = Stack::from_env();
    let response = stack
        .http
        .get(stack.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let served: Value = response.json().await.unwrap();
    let text = std::fs::read_to_string(repo_root().join("docs/api/openapi.yaml")).unwrap();
    let documented: Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(served, documented);
}

#[tokio::test]
async fn when_browser_opens_root_should_get_the_czech_web_app() {
    let stack = Stack::from_env();
    let response = stack.http.get(stack.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"lang="cs""#), "{html}");
}

#[tokio::test]
async fn when_method_is_not_supported_on_a_known_path_should_answer_405_with_allow() {
    let stack = Stack::from_env();
    let response = stack
        .http
        .delete(stack.url("/api/me"))
        .bearer_auth(stack.token("admin").await)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("allow").map(|v| v.to_str().unwrap()),
        Some("GET")
    );
    assert_problem(response, 405).await;
}

#[tokio::test]
async fn when_route_is_unknown_should_answer_404() {
    let stack = Stack::from_env();
    let token = stack.token("admin").await;
    let response = stack
        .http
        .get(stack.url("/api/no/such/route"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// A new on-demand table with the string hash key `pk`, for tests of the emulator itself.
async fn scratch_table(dynamodb: &aws_sdk_dynamodb::Client, kind: &str) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let table = format!("linka-test-{kind}-{}", uuid::Uuid::new_v4().simple());
    dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    table
}

async fn drop_table(dynamodb: &aws_sdk_dynamodb::Client, table: &str) {
    dynamodb
        .delete_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
}

/// The emulator's shortcuts (`localstack/moto_server.py`) must answer as moto does: every
/// DynamoDB attribute type, nested, comes back as it was stored through GetItem, Query and Scan.
#[tokio::test]
async fn when_items_of_every_attribute_type_are_read_back_from_the_emulator_should_they_be_unchanged(
) {
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let stack = Stack::from_env();
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let table = scratch_table(&dynamodb, "roundtrip").await;
    let item: HashMap<String, Av> = HashMap::from([
        ("pk".to_owned(), Av::S("a".to_owned())),
        (
            "text".to_owned(),
            Av::S("Příliš žluťoučký kůň \"\\ ".to_owned()),
        ),
        ("empty".to_owned(), Av::S(String::new())),
        ("number".to_owned(), Av::N("-12.50".to_owned())),
        ("yes".to_owned(), Av::Bool(true)),
        ("no".to_owned(), Av::Bool(false)),
        ("nothing".to_owned(), Av::Null(true)),
        (
            "texts".to_owned(),
            Av::Ss(vec!["x".to_owned(), "y".to_owned()]),
        ),
        (
            "numbers".to_owned(),
            Av::Ns(vec!["1".to_owned(), "2.5".to_owned()]),
        ),
        ("bytes".to_owned(), Av::B(Blob::new(vec![0, 1, 254, 255]))),
        (
            "byteSets".to_owned(),
            Av::Bs(vec![Blob::new(b"ab".to_vec())]),
        ),
        (
            "nested".to_owned(),
            Av::M(HashMap::from([
                (
                    "list".to_owned(),
                    Av::L(vec![
                        Av::S("q".to_owned()),
                        Av::N("3".to_owned()),
                        Av::M(HashMap::new()),
                        Av::L(Vec::new()),
                        Av::B(Blob::new(b"zz".to_vec())),
                    ]),
                ),
                ("flag".to_owned(), Av::Null(true)),
            ])),
        ),
    ]);
    dynamodb
        .put_item()
        .table_name(&table)
        .set_item(Some(item.clone()))
        .send()
        .await
        .unwrap();

    let got = dynamodb
        .get_item()
        .table_name(&table)
        .key("pk", Av::S("a".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let queried = dynamodb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", Av::S("a".to_owned()))
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    let scanned = dynamodb
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    drop_table(&dynamodb, &table).await;

    assert_eq!(got, item);
    assert_eq!(queried, vec![item.clone()]);
    assert_eq!(scanned, vec![item]);
}

/// The emulator's SQS shortcut must keep FIFO de-duplication and the queue's counts.
#[tokio::test]
async fn when_a_fifo_message_is_sent_twice_the_emulator_should_keep_one_and_count_it() {
    use aws_sdk_sqs::types::QueueAttributeName;
    let stack = Stack::from_env();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk_config().await);
    let name = format!("linka-test-dedup-{}.fifo", uuid::Uuid::new_v4().simple());
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for _ in 0..2 {
        sqs.send_message()
            .queue_url(&url)
            .message_body("one")
            .message_group_id("g")
            .message_deduplication_id("d1")
            .send()
            .await
            .unwrap();
    }
    sqs.send_message()
        .queue_url(&url)
        .message_body("two")
        .message_group_id("g")
        .message_deduplication_id("d2")
        .send()
        .await
        .unwrap();
    let without_dedup_id = sqs
        .send_message()
        .queue_url(&url)
        .message_body("three")
        .message_group_id("g")
        .send()
        .await;

    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    sqs.delete_queue().queue_url(&url).send().await.unwrap();

    assert!(
        without_dedup_id.is_err(),
        "a FIFO queue without content-based de-duplication needs a de-duplication id"
    );
    assert_eq!(
        attributes[&QueueAttributeName::ApproximateNumberOfMessages],
        "2"
    );
    assert_eq!(
        attributes[&QueueAttributeName::ContentBasedDeduplication],
        "false"
    );
    let bodies: Vec<_> = received.iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, ["one", "two"]);
}

/// The emulator's plain-scan shortcut must page and filter as moto does: a limit ends a page
/// with the last key, the next page starts after it, and a filter keeps only matching items.
#[tokio::test]
async fn when_a_table_is_scanned_in_pages_filtered_or_projected_the_emulator_should_return_each_item_once_as_asked(
) {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let stack = Stack::from_env();
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let table = scratch_table(&dynamodb, "scan").await;
    for (key, state) in [
        ("a", "ready"),
        ("b", "busy"),
        ("c", "ready"),
        ("d", "busy"),
        ("e", "ready"),
    ] {
        dynamodb
            .put_item()
            .table_name(&table)
            .item("pk", Av::S(key.to_owned()))
            .item("state", Av::S(state.to_owned()))
            .send()
            .await
            .unwrap();
    }

    let mut paged = Vec::new();
    let mut start = None;
    let mut pages = 0;
    loop {
        let page = dynamodb
            .scan()
            .table_name(&table)
            .limit(2)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.items().len() <= 2);
        paged.extend(
            page.items()
                .iter()
                .map(|item| item["pk"].as_s().unwrap().clone()),
        );
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let ready = dynamodb
        .scan()
        .table_name(&table)
        .filter_expression("#state = :ready")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":ready", Av::S("ready".to_owned()))
        .send()
        .await
        .unwrap();
    let whole = dynamodb.scan().table_name(&table).send().await.unwrap();
    let projected = dynamodb
        .scan()
        .table_name(&table)
        .projection_expression("#pk, #missing")
        .expression_attribute_names("#pk", "pk")
        .expression_attribute_names("#missing", "missing")
        .send()
        .await
        .unwrap();
    drop_table(&dynamodb, &table).await;

    paged.sort();
    assert_eq!(paged, ["a", "b", "c", "d", "e"]);
    assert!(pages >= 3, "five items in pages of two: {pages} pages");
    let mut ready: Vec<_> = ready
        .items()
        .iter()
        .map(|item| item["pk"].as_s().unwrap().clone())
        .collect();
    ready.sort();
    assert_eq!(ready, ["a", "c", "e"]);
    assert_eq!((whole.count(), whole.scanned_count()), (5, 5));
    assert!(whole.items().iter().all(|item| item.contains_key("state")));
    let mut keys_only: Vec<_> = projected
        .items()
        .iter()
        .map(|item| {
            assert_eq!(item.len(), 1, "only the projected attribute: {item:?}");
            item["pk"].as_s().unwrap().clone()
        })
        .collect();
    keys_only.sort();
    assert_eq!(keys_only, ["a", "b", "c", "d", "e"]);
}

/// A route request reads the call's waiting record and the caller's last agent in one
/// BatchGetItem; it must find what the separate reads find, and nothing that is not there.
#[tokio::test]
async fn when_routing_reads_a_call_and_its_callers_last_agent_at_once_should_it_find_what_single_reads_find(
) {
    use linka_shared::adapters::{DynamoRoutingStateStore, RoutingTables};
    use linka_shared::ports::{RoutingStateStore, WaitingGuard};
    use linka_shared::routing::{LastAgent, WaitingCall};
    let stack = Stack::from_env();
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let store = DynamoRoutingStateStore::new(
        dynamodb,
        RoutingTables {
            agents: Stack::physical_name("AgentStateTable"),
            reservations: Stack::physical_name("AgentReservationsTable"),
            waiting: Stack::physical_name("WaitingCallsTable"),
            last_agents: Stack::physical_name("LastAgentTable"),
        },
    );
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let call_id = format!("test-batch:{unique}");
    let caller = format!("+420999{}", &unique[..6]);
    let now = chrono::Utc::now();
    let call = WaitingCall {
        call_id: call_id.clone(),
        queue_id: "test-batch-queue".to_owned(),
        priority: 3,
        entered_at: now,
        queued_at: now,
        offered_to: None,
        sticky: None,
        caller: Some(caller.clone()),
    };
    let last = LastAgent {
        username: "agent-batch".to_owned(),
        at: now,
    };

    let before = store
        .call_and_last_agent(&call_id, &Some(caller.clone()))
        .await
        .unwrap();
    assert!(store.put_waiting(&call, &WaitingGuard::New).await.unwrap());
    let only_call = store
        .call_and_last_agent(&call_id, &Some(caller.clone()))
        .await
        .unwrap();
    store.record_last_agent(&caller, &last).await.unwrap();
    let both = store
        .call_and_last_agent(&call_id, &Some(caller.clone()))
        .await
        .unwrap();
    let withheld = store.call_and_last_agent(&call_id, &None).await.unwrap();
    let singles = (
        store.waiting_call(&call_id).await.unwrap(),
        store.last_agent(&caller).await.unwrap(),
    );
    store.remove_waiting(&call_id).await.unwrap();

    assert_eq!(before, (None, None));
    assert_eq!(only_call, (Some(call.clone()), None));
    assert_eq!(both, (Some(call.clone()), Some(last.clone())));
    assert_eq!(both, singles);
    assert_eq!(withheld, (Some(call), None));
}

/// DynamoDB lets exactly one of several racing conditional writes through and never loses a
/// write to another request's failed transaction; the emulator must too (its writes were not
/// serialised: two chat messages once got one sequence number, `localstack/moto_server.py`).
#[tokio::test]
async fn when_conditional_writes_and_transactions_race_should_the_emulator_let_one_win_and_lose_no_write(
) {
    use aws_sdk_dynamodb::types::{AttributeValue as Av, Put, TransactWriteItem};
    let stack = Stack::from_env();
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let table = scratch_table(&dynamodb, "race").await;
    // A table of some size, so that each transaction takes a while (moto backs the table up).
    let fill = (0..120).map(|batch| {
        let requests = (0..25)
            .map(|n| {
                aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(
                        aws_sdk_dynamodb::types::PutRequest::builder()
                            .item("pk", Av::S(format!("filler-{batch}-{n}")))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect::<Vec<_>>();
        let request = dynamodb.batch_write_item().request_items(&table, requests);
        async move { request.send().await.unwrap() }
    });
    futures_util::future::join_all(fill).await;
    let put = |pk: String, condition: Option<&str>| {
        let put = Put::builder()
            .table_name(&table)
            .item("pk", Av::S(pk))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .unwrap();
        TransactWriteItem::builder().put(put).build()
    };
    // Sixteen transactions claim each of ten keys, each with its own second item.
    for round in 0..10 {
        let claims = (0..16).map(|n| {
            let request = dynamodb
                .transact_write_items()
                .transact_items(put(
                    format!("claim-{round}"),
                    Some("attribute_not_exists(pk)"),
                ))
                .transact_items(put(format!("by-{round}-{n}"), None));
            async move { request.send().await.is_ok() }
        });
        let won = futures_util::future::join_all(claims)
            .await
            .into_iter()
            .filter(|won| *won)
            .count();
        assert_eq!(won, 1, "round {round}: one claim wins");
    }
    // Plain writes beside failing transactions on the same table: every plain write stays.
    let plain = (0..24).map(|n| {
        let request = dynamodb
            .put_item()
            .table_name(&table)
            .item("pk", Av::S(format!("plain-{n}")));
        async move { request.send().await.unwrap() }
    });
    let failing = (0..24).map(|n| {
        let request = dynamodb
            .transact_write_items()
            .transact_items(put(format!("junk-{n}"), None))
            .transact_items(put("claim-0".to_owned(), Some("attribute_not_exists(pk)")));
        async move { request.send().await.is_err() }
    });
    let (_, failed) = tokio::join!(
        futures_util::future::join_all(plain),
        futures_util::future::join_all(failing)
    );
    assert!(failed.into_iter().all(|failed| failed));
    let mut keys = BTreeSet::new();
    let mut start = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(&table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            if let Some(Av::S(pk)) = item.get("pk") {
                keys.insert(pk.clone());
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    drop_table(&dynamodb, &table).await;
    for n in 0..24 {
        assert!(keys.contains(&format!("plain-{n}")), "plain-{n} kept");
        assert!(!keys.contains(&format!("junk-{n}")), "junk-{n} rolled back");
    }
    for round in 0..10 {
        let winners = keys
            .iter()
            .filter(|key| key.starts_with(&format!("by-{round}-")))
            .count();
        assert_eq!(winners, 1, "round {round}: only the winner's second item");
    }
}
