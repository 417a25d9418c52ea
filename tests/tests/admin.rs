//! User administration (ADM-2) and the audit log (SEC-3) against the running local stack: real
//! HTTP to the dev gateway, the http-api binary behind it, DynamoDB (UsersTable, AuditTable) in
//! the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use system_tests::Stack;
use uuid::Uuid;

/// A username no other test (or run) uses.
fn fresh_username(prefix: &str) -> String {
    format!("{prefix}-{}", &Uuid::new_v4().simple().to_string()[..10])
}

async fn send(
    stack: &Stack,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = stack
        .http
        .request(method, stack.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, headers, body)
}

fn new_user(username: &str) -> Value {
    json!({
        "username": username, "displayName": "Test Agent", "roles": ["agent"],
        "groups": ["KKC"], "email": format!("{username}@linka.local"), "agentNumber": "2999"
    })
}

/// The audit records of `actor` in the last hour, through the API, newest first (all pages).
async fn audit_via_api(stack: &Stack, admin: &str, actor: &str) -> Vec<Value> {
    let from = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let mut records = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut query = vec![
            ("from", from.clone()),
            ("actor", actor.to_owned()),
            ("limit", "20".to_owned()),
        ];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let response = stack
            .http
            .get(stack.url("/api/admin/audit"))
            .query(&query)
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body: Value = response.json().await.unwrap();
        records.extend(body["items"].as_array().unwrap().iter().cloned());
        match body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    records
}

/// The audit items of `actor` straight from the emulator's AuditTable (its byActor index).
async fn audit_in_table(
    stack: &Stack,
    actor: &str,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let output = dynamodb
        .query()
        .table_name(Stack::physical_name("AuditTable"))
        .index_name("byActor")
        .key_condition_expression("actor = :actor")
        .expression_attribute_values(":actor", AttributeValue::S(actor.to_owned()))
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    output.items.unwrap_or_default()
}

fn text(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(value)) => value.clone(),
        Some(AttributeValue::N(value)) => value.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test]
async fn when_admin_creates_reads_updates_and_deletes_a_user_should_each_be_audited() {
    // GIVEN an admin (the audit actor is the admin; a fresh target keeps runs apart)
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    let username = fresh_username("crud");
    let path = format!("/api/admin/users/{username}");

    // WHEN the admin creates the user
    let (status, headers, body) = send(
        &stack,
        reqwest::Method::POST,
        "/api/admin/users",
        &admin,
        Some(&new_user(&username)),
    )
    .await;
    // THEN 201 with Location and the stored user
    assert_eq!(status, 201, "{body}");
    assert_eq!(headers["location"], path.as_str());
    assert_eq!(body["username"], username.as_str());
    assert_eq!(body["active"], true);

    // AND it can be read back
    let (status, _, body) = send(&stack, reqwest::Method::GET, &path, &admin, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["agentNumber"], "2999");

    // AND a second create is a 409
    let (status, _, problem) = send(
        &stack,
        reqwest::Method::POST,
        "/api/admin/users",
        &admin,
        Some(&new_user(&username)),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "user-exists");

    // WHEN it is replaced
    let replacement = json!({"displayName": "Renamed", "roles": ["agent", "queues"], "groups": ["AS"], "active": false});
    let (status, _, body) = send(
        &stack,
        reqwest::Method::PUT,
        &path,
        &admin,
        Some(&replacement),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["displayName"], "Renamed");
    assert_eq!(body["roles"], json!(["agent", "queues"]));
    assert!(body.get("email").is_none());
    let (_, _, stored) = send(&stack, reqwest::Method::GET, &path, &admin, None).await;
    assert_eq!(stored["active"], false);
    assert_eq!(stored["groups"], json!(["AS"]));

    // WHEN it is deleted
    let (status, _, _) = send(&stack, reqwest::Method::DELETE, &path, &admin, None).await;
    assert_eq!(status, 204);
    // THEN it is gone, and deleting or replacing it again is a 404
    let (status, _, _) = send(&stack, reqwest::Method::GET, &path, &admin, None).await;
    assert_eq!(status, 404);
    let (status, _, _) = send(&stack, reqwest::Method::DELETE, &path, &admin, None).await;
    assert_eq!(status, 404);
    let (status, _, _) = send(
        &stack,
        reqwest::Method::PUT,
        &path,
        &admin,
        Some(&replacement),
    )
    .await;
    assert_eq!(status, 404);

    // THEN the audit log holds every step for this target, newest first, through the API…
    let records: Vec<Value> = audit_via_api(&stack, &admin, "admin")
        .await
        .into_iter()
        .filter(|record| record["target"] == username.as_str())
        .collect();
    let steps: Vec<(String, String, u64)> = records
        .iter()
        .rev()
        .map(|record| {
            (
                record["action"].as_str().unwrap().to_owned(),
                record["outcome"].as_str().unwrap().to_owned(),
                record["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, String, u64)> = [
        ("user.create", "success", 201),
        ("user.read", "success", 200),
        ("user.create", "failed", 409),
        ("user.update", "success", 200),
        ("user.read", "success", 200),
        ("user.delete", "success", 204),
        ("user.read", "failed", 404),
        ("user.delete", "failed", 404),
        ("user.update", "failed", 404),
    ]
    .iter()
    .map(|(a, o, s)| ((*a).to_owned(), (*o).to_owned(), *s))
    .collect();
    assert_eq!(steps, expected);
    let update = records
        .iter()
        .find(|record| record["action"] == "user.update" && record["status"] == 200)
        .unwrap();
    assert_eq!(
        update["details"]["changed"],
        "displayName,roles,groups,email,agentNumber,active"
    );
    assert_eq!(update["actorRoles"], json!(["admin"]));
    assert!(update["requestId"].is_string());
    assert!(update["sourceIp"].is_string());

    // …and directly in the emulator's AuditTable, with keys and TTL
    let items: Vec<_> = audit_in_table(&stack, "admin")
        .await
        .into_iter()
        .filter(|item| matches!(item.get("target"), Some(AttributeValue::S(t)) if *t == username))
        .collect();
    assert_eq!(items.len(), expected.len());
    for item in &items {
        let at = text(item, "at");
        assert_eq!(text(item, "day"), at[..10]);
        assert!(text(item, "atId").starts_with(&format!("{at}#")));
        let expires: i64 = text(item, "expiresAt").parse().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339(&at)
            .unwrap()
            .timestamp();
        assert_eq!(expires - at, 400 * 86_400);
        assert!(!item.contains_key("password") && !item.contains_key("token"));
    }
}

#[tokio::test]
async fn when_a_field_is_bad_should_answer_422_naming_it_and_create_nothing() {
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    let username = fresh_username("bad");
    let cases = [
        ("username", json!("Not Valid")),
        ("displayName", json!("")),
        ("roles", json!(["pilot"])),
        ("groups", json!(["kkc"])),
        ("email", json!("no-at-sign")),
        ("email", Value::Null),
        ("agentNumber", json!("12")),
        ("active", json!("yes")),
        ("password", json!("secret")),
    ];
    for (field, value) in cases {
        let mut body = new_user(&username);
        body[field] = value.clone();
        let (status, headers, problem) = send(
            &stack,
            reqwest::Method::POST,
            "/api/admin/users",
            &admin,
            Some(&body),
        )
        .await;
        assert_eq!(status, 422, "{field} = {value}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json"));
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| error["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [field], "{field} = {value}");
    }
    let (status, _, _) = send(
        &stack,
        reqwest::Method::GET,
        &format!("/api/admin/users/{username}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 404);
    // The secret never reaches the audit log.
    let dump = serde_json::to_string(&audit_via_api(&stack, &admin, "admin").await).unwrap();
    assert!(!dump.contains("secret"));
}

#[tokio::test]
async fn when_supervisor_or_agent_administers_users_should_get_403_and_be_audited_as_denied() {
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    for caller in ["supervisor", "agent05"] {
        let token = stack.token(caller).await;
        let username = fresh_username("denied");
        let path = format!("/api/admin/users/{username}");
        let calls = [
            (
                reqwest::Method::POST,
                "/api/admin/users".to_owned(),
                Some(new_user(&username)),
            ),
            (
                reqwest::Method::PUT,
                path.clone(),
                Some(json!({"displayName": "X", "roles": []})),
            ),
            (reqwest::Method::DELETE, path.clone(), None),
            (reqwest::Method::GET, "/api/admin/audit".to_owned(), None),
        ];
        for (method, path, body) in calls {
            let (status, _, problem) =
                send(&stack, method.clone(), &path, &token, body.as_ref()).await;
            assert_eq!(status, 403, "{caller} {method} {path}");
            assert_eq!(problem["code"], "forbidden");
        }
        let denied: Vec<String> = audit_via_api(&stack, &admin, caller)
            .await
            .into_iter()
            .filter(|record| record["outcome"] == "denied")
            .map(|record| record["action"].as_str().unwrap().to_owned())
            .collect();
        for action in ["user.create", "user.update", "user.delete", "audit.read"] {
            assert!(
                denied.iter().any(|a| a == action),
                "{caller}: {action} in {denied:?}"
            );
        }
    }
}

#[tokio::test]
async fn when_audit_query_is_bad_should_answer_400() {
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    for query in [
        vec![
            ("from", "2026-01-01T00:00:00Z"),
            ("to", "2026-03-01T00:00:00Z"),
        ],
        vec![("from", "not-a-time")],
        vec![("cursor", "garbage")],
    ] {
        let response = stack
            .http
            .get(stack.url("/api/admin/audit"))
            .query(&query)
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{query:?}");
    }
}

#[tokio::test]
async fn when_audit_range_spans_days_should_page_newest_first_across_them() {
    // GIVEN five records of a unique actor on three days in the past, put straight into the
    // emulator's AuditTable (the API only ever writes "now")
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    let actor = fresh_username("past");
    let seed = Uuid::new_v4().as_u128();
    let year = 2001 + (seed % 20) as i32;
    let base = chrono::NaiveDate::from_ymd_opt(year, 1 + (seed / 20 % 12) as u32, 10)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let offsets_minutes = [-1, 1, 30, 24 * 60 + 5, 2 * 24 * 60 - 1];
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let mut expected = Vec::new();
    for minutes in offsets_minutes {
        let at = base + chrono::Duration::minutes(minutes);
        let at_text = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let id = Uuid::new_v4().to_string();
        let s = |text: &str| AttributeValue::S(text.to_owned());
        dynamodb
            .put_item()
            .table_name(Stack::physical_name("AuditTable"))
            .item("day", s(&at_text[..10]))
            .item("atId", s(&format!("{at_text}#{id}")))
            .item("id", s(&id))
            .item("at", s(&at_text))
            .item("actor", s(&actor))
            .item("actorRoles", AttributeValue::L(vec![s("admin")]))
            .item("action", s("me.read"))
            .item("outcome", s("success"))
            .item("status", AttributeValue::N("200".into()))
            .item("details", AttributeValue::M(Default::default()))
            .send()
            .await
            .unwrap();
        expected.push(at_text);
    }
    expected.reverse();
    // WHEN the admin reads the three days two records per page, without an actor filter
    let from = (base - chrono::Duration::days(1)).to_rfc3339();
    let to = (base + chrono::Duration::days(2)).to_rfc3339();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut query = vec![
            ("from", from.clone()),
            ("to", to.clone()),
            ("limit", "2".to_owned()),
        ];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let response = stack
            .http
            .get(stack.url("/api/admin/audit"))
            .query(&query)
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body: Value = response.json().await.unwrap();
        assert!(body["items"].as_array().unwrap().len() <= 2);
        for item in body["items"].as_array().unwrap() {
            if item["actor"] == actor.as_str() {
                seen.push(item["at"].as_str().unwrap().to_owned());
            }
        }
        match body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    // THEN every record came once, newest first, across the day boundaries
    assert_eq!(seen, expected);
    // AND the same through the byActor index in one range
    let (status, _, body) = send(
        &stack,
        reqwest::Method::GET,
        &format!(
            "/api/admin/audit?actor={actor}&from={}&to={}",
            urlencode(&from),
            urlencode(&to)
        ),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let by_actor: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["at"].as_str().unwrap())
        .collect();
    assert_eq!(by_actor, expected);
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

/// A queue body with weekday hours and an overflow to a mobile.
fn new_queue(queue_id: &str) -> Value {
    json!({
        "queueId": queue_id, "name": "Klientská linka – test", "group": "KKC", "priority": 6,
        "schedule": {
            "timezone": "Europe/Prague",
            "weekly": {
                "monday": [{"start": "07:30", "end": "18:00"}],
                "friday": [{"start": "07:30", "end": "15:00"}]
            },
            "exceptions": [{"date": "2026-12-24", "intervals": []}],
            "closedOnPublicHolidays": true
        },
        "overflow": {"kind": "mobile", "number": "+420601123456"}
    })
}

#[tokio::test]
async fn when_admin_configures_a_queue_with_members_should_store_it_and_audit_each_write() {
    // GIVEN an admin and a fresh queue id
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    let queue_id = fresh_username("q");
    let path = format!("/api/admin/queues/{queue_id}");

    // WHEN the admin creates the queue
    let (status, headers, body) = send(
        &stack,
        reqwest::Method::POST,
        "/api/admin/queues",
        &admin,
        Some(&new_queue(&queue_id)),
    )
    .await;
    // THEN 201 with Location, the stored queue and its derived opening state
    assert_eq!(status, 201, "{body}");
    assert_eq!(headers["location"], path.as_str());
    assert!(body["openNow"].is_boolean());
    assert!(body["nextChange"].is_string());

    // AND it is stored in ConfigTable (pk collection, sk id) as a native map
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let item = dynamodb
        .get_item()
        .table_name(Stack::physical_name("ConfigTable"))
        .key("collection", AttributeValue::S("queue".to_owned()))
        .key("id", AttributeValue::S(queue_id.clone()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the queue item");
    assert_eq!(text(&item, "name"), "Klientská linka – test");
    assert!(matches!(item.get("schedule"), Some(AttributeValue::M(_))));

    // AND agent01 joins with a skill level and a priority
    let member_path = format!("{path}/members/agent01");
    let (status, _, member) = send(
        &stack,
        reqwest::Method::PUT,
        &member_path,
        &admin,
        Some(&json!({"skillLevel": 8, "priority": 2})),
    )
    .await;
    assert_eq!(status, 200, "{member}");
    let (status, _, members) = send(
        &stack,
        reqwest::Method::GET,
        &format!("{path}/members"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        members["items"],
        json!([{"queueId": queue_id, "username": "agent01", "skillLevel": 8, "priority": 2, "locked": false}])
    );

    // AND the queue cannot be deleted while it has members
    let (status, _, problem) = send(&stack, reqwest::Method::DELETE, &path, &admin, None).await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "queue-has-members");

    // WHEN the member and then the queue are removed
    let (status, _, _) = send(&stack, reqwest::Method::DELETE, &member_path, &admin, None).await;
    assert_eq!(status, 204);
    let (status, _, _) = send(&stack, reqwest::Method::DELETE, &path, &admin, None).await;
    assert_eq!(status, 204);
    let (status, _, _) = send(&stack, reqwest::Method::GET, &path, &admin, None).await;
    assert_eq!(status, 404);

    // THEN every write is in the audit log with its target and outcome
    let records = audit_in_table(&stack, "admin").await;
    let target_status = |target: &str, action: &str| {
        records
            .iter()
            .filter(|item| {
                item.get("target") == Some(&AttributeValue::S(target.to_owned()))
                    && text(item, "action") == action
            })
            .map(|item| text(item, "status"))
            .collect::<Vec<_>>()
    };
    let queue_target = format!("queues/{queue_id}");
    let member_target = format!("queues/{queue_id}/members/agent01");
    assert_eq!(target_status(&queue_target, "config.create"), ["201"]);
    assert_eq!(target_status(&member_target, "config.update"), ["200"]);
    assert_eq!(target_status(&member_target, "config.delete"), ["204"]);
    let deletes = target_status(&queue_target, "config.delete");
    assert!(deletes.contains(&"204".to_owned()) && deletes.contains(&"409".to_owned()));
}

/// The configuration change mark (ConfigTable `_changes`/`last`) that routing checks before
/// it reads the whole configuration again.
async fn change_mark(dynamodb: &aws_sdk_dynamodb::Client) -> Option<String> {
    dynamodb
        .get_item()
        .table_name(Stack::physical_name("ConfigTable"))
        .key("collection", AttributeValue::S("_changes".to_owned()))
        .key("id", AttributeValue::S("last".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .and_then(|item| item.get("writeId").cloned())
        .and_then(|value| value.as_s().ok().cloned())
}

#[tokio::test]
async fn when_admin_changes_a_queue_or_a_user_should_the_configuration_change_mark_change() {
    // GIVEN an admin and the change mark as it is
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let before = change_mark(&dynamodb).await;

    // WHEN the admin creates a queue
    let queue_id = fresh_username("mark");
    let (status, _, body) = send(
        &stack,
        reqwest::Method::POST,
        "/api/admin/queues",
        &admin,
        Some(&new_queue(&queue_id)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // THEN the mark is an audit record id it had not been before
    let after_queue = change_mark(&dynamodb).await.expect("a change mark");
    assert!(Uuid::parse_str(&after_queue).is_ok(), "{after_queue}");
    assert_ne!(Some(&after_queue), before.as_ref());

    // WHEN the admin creates a user (routing's agents are read from the users)
    let username = fresh_username("mark");
    let (status, _, body) = send(
        &stack,
        reqwest::Method::POST,
        "/api/admin/users",
        &admin,
        Some(&new_user(&username)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // THEN the mark changed again
    let after_user = change_mark(&dynamodb).await.expect("a change mark");
    assert_ne!(after_user, after_queue);

    // AND the mark is not a collection any listing shows
    let (status, _, queues) = send(
        &stack,
        reqwest::Method::GET,
        "/api/admin/queues",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(!queues.to_string().contains(&after_user));
}

#[tokio::test]
async fn when_a_config_field_is_bad_should_answer_422_naming_it_and_store_nothing() {
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    let queue_id = fresh_username("bad");
    let cases = [
        (
            "overflow",
            json!({"kind": "external", "number": "601 123 456"}),
            "overflow.number",
        ),
        (
            "overflow",
            json!({"kind": "queue", "queueId": "does-not-exist"}),
            "overflow.queueId",
        ),
        (
            "schedule",
            json!({"weekly": {"monday": [{"start": "18:00", "end": "08:00"}]}}),
            "schedule.weekly.monday[0]",
        ),
    ];
    for (key, value, field) in cases {
        let mut body = new_queue(&queue_id);
        body[key] = value;
        let (status, _, problem) = send(
            &stack,
            reqwest::Method::POST,
            "/api/admin/queues",
            &admin,
            Some(&body),
        )
        .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["type"], "urn:linka:problem:validation-failed");
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| error["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.iter().any(|f| f.starts_with(field)),
            "{field}: {fields:?}"
        );
    }
    let (status, _, _) = send(
        &stack,
        reqwest::Method::GET,
        &format!("/api/admin/queues/{queue_id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 404, "nothing half-written");
}

#[tokio::test]
async fn when_supervisor_or_agent_touches_configuration_should_get_403() {
    let stack = Stack::from_env();
    for username in ["supervisor", "agent01", "wallboard"] {
        let token = stack.token(username).await;
        for (method, path) in [
            (reqwest::Method::GET, "/api/admin/queues"),
            (reqwest::Method::POST, "/api/admin/break-codes"),
            (reqwest::Method::PUT, "/api/admin/settings/icis-link"),
            (reqwest::Method::DELETE, "/api/admin/transfer-lines/x"),
        ] {
            let (status, _, problem) =
                send(&stack, method.clone(), path, &token, Some(&json!({}))).await;
            assert_eq!(status, 403, "{username} {method} {path}: {problem}");
        }
    }
}

#[tokio::test]
async fn when_admin_puts_queue_routing_should_store_it_for_the_routing_function_and_read_it_back() {
    // GIVEN an admin and a fresh queue
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    let queue_id = fresh_username("qr");
    let (status, _, body) = send(
        &stack,
        reqwest::Method::POST,
        "/api/admin/queues",
        &admin,
        Some(&new_queue(&queue_id)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let path = format!("/api/admin/queues/{queue_id}/routing");
    // WHEN nothing is stored THEN the defaults
    let (status, _, defaults) = send(&stack, reqwest::Method::GET, &path, &admin, None).await;
    assert_eq!(status, 200, "{defaults}");
    assert_eq!(defaults["wrapUpSeconds"], 0);
    assert_eq!(defaults["whenNobodyLoggedIn"]["action"], "announce");

    // WHEN the admin puts settings
    let settings = json!({
        "queueId": queue_id,
        "wrapUpSeconds": 15,
        "maxWaitSeconds": 600,
        "whenNobodyLoggedIn": {"action": "announce", "announcementId": "no-agents", "then": "overflow"},
        "lastAgent": {"holdSeconds": 20, "maxAgeHours": 72}
    });
    let (status, _, body) =
        send(&stack, reqwest::Method::PUT, &path, &admin, Some(&settings)).await;
    // THEN 200, and they read back
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, settings);
    let (status, _, body) = send(&stack, reqwest::Method::GET, &path, &admin, None).await;
    assert_eq!(status, 200);
    assert_eq!(body, settings);
    // AND they are in ConfigTable where the routing function reads them: queueRouting/<queueId>
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let routing_item = |dynamodb: aws_sdk_dynamodb::Client, queue_id: String| async move {
        dynamodb
            .get_item()
            .table_name(Stack::physical_name("ConfigTable"))
            .key("collection", AttributeValue::S("queueRouting".to_owned()))
            .key("id", AttributeValue::S(queue_id))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    };
    let item = routing_item(dynamodb.clone(), queue_id.clone())
        .await
        .expect("the routing item");
    assert_eq!(text(&item, "queueId"), queue_id);
    assert!(matches!(item.get("lastAgent"), Some(AttributeValue::M(_))));
    // AND a bad field is a 422 naming it
    let (status, _, problem) = send(
        &stack,
        reqwest::Method::PUT,
        &path,
        &admin,
        Some(&json!({"lastAgent": {"holdSeconds": 601, "maxAgeHours": 72}})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "lastAgent.holdSeconds");

    // WHEN the queue is deleted THEN its routing settings go with it
    let (status, _, _) = send(
        &stack,
        reqwest::Method::DELETE,
        &format!("/api/admin/queues/{queue_id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(routing_item(dynamodb, queue_id.clone()).await.is_none());
    let (status, _, _) = send(&stack, reqwest::Method::GET, &path, &admin, None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn when_admin_reads_the_demo_routing_plan_and_devices_should_get_the_seeded_ones() {
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    let (status, _, plan) = send(
        &stack,
        reqwest::Method::GET,
        "/api/admin/routing/plan",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200, "{plan}");
    let rules: Vec<&str> = plan["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["ruleId"].as_str().unwrap())
        // The routing scenario test (tests/tests/routing.rs) adds its own `rt-` rules.
        .filter(|id| !id.starts_with("rt-"))
        .collect();
    assert_eq!(rules, ["vip", "kkc", "as", "ext", "ivr"]);
    let (status, _, devices) = send(
        &stack,
        reqwest::Method::GET,
        "/api/admin/routing/devices",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200, "{devices}");
    assert_eq!(devices["queues"]["kkc-obecne"], "5100");
    assert_eq!(devices["defaultAnnouncement"], "6900");
    // A queue the plan sends calls to cannot be deleted.
    let (status, _, problem) = send(
        &stack,
        reqwest::Method::DELETE,
        "/api/admin/queues/ext-kampane",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    // An IVR tree is checked without being stored.
    let (status, _, verdict) = send(
        &stack,
        reqwest::Method::POST,
        "/api/admin/ivrs/validate",
        &admin,
        Some(
            &json!({"ivrId": "zkouska", "name": "Zkouška", "entryNode": "konec",
                     "nodes": {"konec": {"kind": "hangup"}}}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict, json!({"valid": true, "problems": []}));
}
