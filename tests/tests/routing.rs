//! Inbound routing end to end (issue 5, IN-1, IN-4, IN-5, IN-8, IN-9, IN-17, IN-18, REP-11):
//! the PBX simulator places calls at route points → the relay asks RoutingApiFunction over HTTP
//! → RouteSelect; agents' states and calls flow back through CtiIngestFunction, which triggers
//! RoutingWorkerFunction; the worker offers waiting calls to agents who become free by
//! commanding the relay (Deflect). Everything runs as `make test` starts it.
//!
//! The devices of these scenarios (agents 2101–2104, route points 4901–4903, the waiting queue
//! 5190, the announcement 6903) exist only for them in `localstack/pbx-sim.yaml` and
//! `localstack/relay.toml`; the test configures its own users, queues, plan rules and device
//! map through the admin API. The scenarios share agents, so they run in order in one test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::Method;
use serde_json::{json, Value};
use system_tests::{eventually, Stack};

const RELAY_ID: &str = "local-1";
const WAIT: Duration = Duration::from_secs(45);

fn sim_url(path: &str) -> String {
    let base =
        std::env::var("LINKA_PBX_SIM_URL").unwrap_or_else(|_| "http://127.0.0.1:7080".to_owned());
    format!("{base}{path}")
}

async fn sim_post(http: &reqwest::Client, path: &str, body: Value) -> Value {
    let response = http.post(sim_url(path)).json(&body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "POST {path}: {status} {body}");
    body
}

async fn sim_get(http: &reqwest::Client, path: &str) -> Option<Value> {
    http.get(sim_url(path)).send().await.ok()?.json().await.ok()
}

async fn api(
    stack: &Stack,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = stack
        .http
        .request(method, stack.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Creates a configuration document, or replaces it when it exists (a rerun on the same stack).
async fn upsert(stack: &Stack, token: &str, collection_path: &str, id: &str, body: &Value) {
    let (status, problem) = api(stack, Method::POST, collection_path, token, Some(body)).await;
    if status == 409 {
        let (status, problem) = api(
            stack,
            Method::PUT,
            &format!("{collection_path}/{id}"),
            token,
            Some(body),
        )
        .await;
        assert_eq!(status, 200, "PUT {collection_path}/{id}: {problem}");
    } else {
        assert_eq!(status, 201, "POST {collection_path}: {problem}");
    }
}

fn every_day(intervals: Value) -> Value {
    json!({
        "timezone": "Europe/Prague",
        "weekly": {"monday": intervals, "tuesday": intervals, "wednesday": intervals,
                   "thursday": intervals, "friday": intervals, "saturday": intervals,
                   "sunday": intervals},
        "exceptions": [], "closedOnPublicHolidays": false
    })
}

/// The scenarios' users, queues, members, routing settings, plan rules and devices.
async fn configure(stack: &Stack, admin: &str) {
    for (n, number) in [(1, "2101"), (2, "2102"), (3, "2103"), (4, "2104")] {
        let user = json!({
            "username": format!("rt-agent{n}"), "displayName": format!("Routing test agent {n}"),
            "roles": ["agent"], "groups": ["KKC"], "agentNumber": number
        });
        let (status, problem) =
            api(stack, Method::POST, "/api/admin/users", admin, Some(&user)).await;
        assert!(
            status == 201 || status == 409,
            "user {n}: {status} {problem}"
        );
    }
    let open = every_day(json!([{"start": "00:00", "end": "23:59"}]));
    let closed = every_day(json!([]));
    for (id, schedule, overflow) in [
        ("rt-open", open.clone(), Value::Null),
        (
            "rt-closed",
            closed,
            json!({"kind": "extension", "extension": "6903"}),
        ),
        ("rt-empty", open, Value::Null),
    ] {
        let mut queue = json!({"queueId": id, "name": format!("Routing test {id}"), "priority": 5,
                               "schedule": schedule});
        if !overflow.is_null() {
            queue["overflow"] = overflow;
        }
        upsert(stack, admin, "/api/admin/queues", id, &queue).await;
    }
    for (queue, user, skill) in [
        ("rt-open", "rt-agent1", 9),
        ("rt-open", "rt-agent2", 5),
        ("rt-open", "rt-agent3", 5),
        ("rt-empty", "rt-agent4", 5),
    ] {
        let (status, problem) = api(
            stack,
            Method::PUT,
            &format!("/api/admin/queues/{queue}/members/{user}"),
            admin,
            Some(&json!({"skillLevel": skill, "priority": 5})),
        )
        .await;
        assert!(
            status == 200 || status == 201,
            "member {queue}/{user}: {status} {problem}"
        );
    }
    for (queue, settings) in [
        (
            "rt-open",
            json!({"queueId": "rt-open", "wrapUpSeconds": 2,
                   "whenNobodyLoggedIn": {"action": "wait"},
                   "lastAgent": {"holdSeconds": 0, "maxAgeHours": 1}}),
        ),
        (
            "rt-empty",
            json!({"queueId": "rt-empty", "wrapUpSeconds": 0,
                   "whenNobodyLoggedIn": {"action": "announce", "announcementId": "rt-nobody",
                                          "then": "hangUp"}}),
        ),
    ] {
        let path = format!("/api/admin/queues/{queue}/routing");
        let (status, problem) = api(stack, Method::PUT, &path, admin, Some(&settings)).await;
        assert_eq!(status, 200, "{path}: {problem}");
    }
    // The plan and the device map are shared with the demo: keep everything but our own.
    let (status, mut plan) = api(stack, Method::GET, "/api/admin/routing/plan", admin, None).await;
    assert_eq!(status, 200, "{plan}");
    let mut rules: Vec<Value> = plan["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|rule| {
            !rule["ruleId"]
                .as_str()
                .unwrap_or_default()
                .starts_with("rt-")
        })
        .collect();
    let ours = [
        json!({"ruleId": "rt-priority", "when": {"dialled": ["4901"], "callers": ["+420777000099"]},
               "entry": {"kind": "queue", "queueId": "rt-open"}, "priorityBoost": 50}),
        json!({"ruleId": "rt-open", "when": {"dialled": ["4901"]},
               "entry": {"kind": "queue", "queueId": "rt-open"}}),
        json!({"ruleId": "rt-closed", "when": {"dialled": ["4902"]},
               "entry": {"kind": "queue", "queueId": "rt-closed"}}),
        json!({"ruleId": "rt-empty", "when": {"dialled": ["4903"]},
               "entry": {"kind": "queue", "queueId": "rt-empty"}}),
    ];
    rules.splice(0..0, ours);
    plan["rules"] = Value::Array(rules);
    let (status, problem) = api(
        stack,
        Method::PUT,
        "/api/admin/routing/plan",
        admin,
        Some(&plan),
    )
    .await;
    assert_eq!(status, 200, "plan: {problem}");
    let (status, mut devices) = api(
        stack,
        Method::GET,
        "/api/admin/routing/devices",
        admin,
        None,
    )
    .await;
    assert_eq!(status, 200, "{devices}");
    devices["queues"]["rt-open"] = json!("5190");
    devices["announcements"]["rt-nobody"] = json!("6902");
    let (status, problem) = api(
        stack,
        Method::PUT,
        "/api/admin/routing/devices",
        admin,
        Some(&devices),
    )
    .await;
    assert_eq!(status, 200, "devices: {problem}");
}

/// The devices of a call in the simulator and their connection states.
async fn connections(http: &reqwest::Client, call_id: &str) -> Option<Vec<(String, String)>> {
    let call = sim_get(http, &format!("/calls/{call_id}")).await?;
    Some(
        call["connections"]
            .as_array()?
            .iter()
            .map(|c| {
                (
                    c["device"].as_str().unwrap_or_default().to_owned(),
                    c["state"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
    )
}

async fn wait_for_connection(http: &reqwest::Client, call_id: &str, device: &str, state: &str) {
    let what = format!("call {call_id} {state} at {device}");
    eventually(&what, WAIT, || async {
        connections(http, call_id)
            .await?
            .iter()
            .any(|(d, s)| d == device && s == state)
            .then_some(())
    })
    .await;
}

async fn call(http: &reqwest::Client, from: &str, to: &str) -> String {
    let created = sim_post(http, "/calls", json!({"from": from, "to": to})).await;
    created["call_id"].as_str().unwrap().to_owned()
}

type Item = HashMap<String, AttributeValue>;

/// Sets a test agent's state in the PBX and waits until AgentStateTable has it.
async fn agent_state(
    http: &reqwest::Client,
    dynamodb: &aws_sdk_dynamodb::Client,
    device: &str,
    state: &str,
) {
    sim_post(
        http,
        &format!("/devices/{device}/agent-state"),
        json!({"state": state}),
    )
    .await;
    let stored = state;
    eventually(
        &format!("agent {device} {state} in AgentStateTable"),
        WAIT,
        || async {
            let item: Item = dynamodb
                .get_item()
                .table_name(Stack::physical_name("AgentStateTable"))
                .key("device", AttributeValue::S(device.to_owned()))
                .consistent_read(true)
                .send()
                .await
                .ok()?
                .item?;
            matches!(item.get("state"), Some(AttributeValue::S(s)) if s == stored).then_some(())
        },
    )
    .await;
}

/// The outcome map of the contact's terminal record, once there is one.
async fn outcome(
    dynamodb: &aws_sdk_dynamodb::Client,
    call_id: &str,
) -> HashMap<String, AttributeValue> {
    let key = format!("{RELAY_ID}/{call_id}");
    eventually(&format!("the outcome of {key}"), WAIT, || async {
        let call: Item = dynamodb
            .get_item()
            .table_name(Stack::physical_name("CallsTable"))
            .key("callKey", AttributeValue::S(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .ok()?
            .item?;
        let Some(AttributeValue::S(contact)) = call.get("contactId") else {
            return None;
        };
        let records = dynamodb
            .query()
            .table_name(Stack::physical_name("ContactEventsTable"))
            .key_condition_expression("contactId = :c")
            .expression_attribute_values(":c", AttributeValue::S(contact.clone()))
            .consistent_read(true)
            .send()
            .await
            .ok()?
            .items
            .unwrap_or_default();
        records
            .into_iter()
            .find_map(|record| match record.get("outcome") {
                Some(AttributeValue::M(outcome)) => Some(outcome.clone()),
                _ => None,
            })
    })
    .await
}

fn s(map: &HashMap<String, AttributeValue>, name: &str) -> String {
    match map.get(name) {
        Some(AttributeValue::S(value)) => value.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test]
async fn when_calls_reach_route_points_should_routing_place_queue_and_deliver_them() {
    let stack = Stack::from_env();
    let http = reqwest::Client::new();
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let admin = stack.token("admin").await;
    configure(&stack, &admin).await;
    // The routing function reads its configuration at most 5 s old: wait until it routes the
    // closed test line by the new rules (a route query that places no call).
    eventually(
        "the routing function sees the test configuration",
        WAIT,
        || async {
            let query = json!({"version": 1, "relayId": RELAY_ID, "crossRefId": "probe",
                           "callId": "probe-closed", "routingDevice": "4902",
                           "deadline": "2099-01-01T00:00:00Z"});
            let answer: Value = stack
                .http
                .post(stack.url("/api/cti/route"))
                .json(&query)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (answer["destination"] == "6903").then_some(())
        },
    )
    .await;
    for device in ["2101", "2102", "2103"] {
        agent_state(&http, &dynamodb, device, "notReady").await;
    }

    // 1. Nobody logged in to the queue (IN-9): the queue's announcement.
    let nobody = call(&http, "+420777000011", "4903").await;
    wait_for_connection(&http, &nobody, "6902", "connected").await;
    sim_post(&http, &format!("/calls/{nobody}/hangup"), json!({})).await;

    // 2. Outside the opening hours (IN-4): the queue's overflow.
    let closed = call(&http, "+420777000012", "4902").await;
    wait_for_connection(&http, &closed, "6903", "connected").await;
    sim_post(&http, &format!("/calls/{closed}/hangup"), json!({})).await;

    // 3. Ready agents (IN-5, IN-8): the best skill gets the call; the next call the next agent.
    agent_state(&http, &dynamodb, "2101", "ready").await;
    agent_state(&http, &dynamodb, "2102", "ready").await;
    let a = call(&http, "+420777000021", "4901").await;
    wait_for_connection(&http, &a, "2101", "alerting").await;
    sim_post(&http, "/devices/2101/answer", json!({})).await;
    let b = call(&http, "+420777000022", "4901").await;
    wait_for_connection(&http, &b, "2102", "alerting").await;
    sim_post(&http, "/devices/2102/answer", json!({})).await;
    wait_for_connection(&http, &b, "2102", "connected").await;

    // 4. Everyone busy: calls wait in the queue's waiting device; a priority caller (IN-1, a
    // rule with a priority boost) is served first although it came later.
    let c = call(&http, "+420777000023", "4901").await;
    wait_for_connection(&http, &c, "5190", "queued").await;
    let d = call(&http, "+420777000099", "4901").await;
    wait_for_connection(&http, &d, "5190", "queued").await;
    sim_post(&http, &format!("/calls/{a}/hangup"), json!({})).await;
    // After the queue's 2 s of wrap-up (IN-18) agent 1 is offered the priority call.
    wait_for_connection(&http, &d, "2101", "alerting").await;
    assert!(
        connections(&http, &c)
            .await
            .unwrap()
            .iter()
            .any(|(dev, st)| dev == "5190" && st == "queued"),
        "the earlier, normal call still waits"
    );
    sim_post(&http, "/devices/2101/answer", json!({})).await;

    // 5. A missed offer: agent 2 hangs up, is offered the waiting call, does not answer. After
    // the offer time (20 s) the call is back in the queue and agent 2 is not ready.
    sim_post(&http, &format!("/calls/{b}/hangup"), json!({})).await;
    wait_for_connection(&http, &c, "2102", "alerting").await;
    wait_for_connection(&http, &c, "5190", "queued").await;
    eventually(
        "agent 2102 not ready after the missed offer",
        WAIT,
        || async {
            let devices = sim_get(&http, "/devices").await?;
            let state = devices.as_array()?.iter().find(|d| d["id"] == "2102")?["agent"]["status"]
                .as_str()?
                .to_owned();
            (state == "notReady").then_some(())
        },
    )
    .await;
    // The caller gives up in the queue: lost in the queue, with agent 2's missed offer (REP-11).
    sim_post(&http, &format!("/calls/{c}/hangup"), json!({})).await;
    let lost = outcome(&dynamodb, &c).await;
    assert_eq!(s(&lost, "result"), "abandoned");
    assert_eq!(s(&lost, "lostPhase"), "inQueue");
    assert!(
        matches!(lost.get("missedBy"), Some(AttributeValue::L(list)) if list.contains(&AttributeValue::S("2102".into()))),
        "{lost:?}"
    );

    // 6. The same caller again (IN-17): caller B talked with agent 2, who is free again, so B
    // goes to agent 2 although agent 1 has the higher skill and is free too.
    sim_post(&http, &format!("/calls/{d}/hangup"), json!({})).await;
    agent_state(&http, &dynamodb, "2102", "ready").await;
    let b_again = call(&http, "+420777000022", "4901").await;
    wait_for_connection(&http, &b_again, "2102", "alerting").await;

    // 7. The caller hangs up while it rings: lost while ringing an agent.
    sim_post(&http, &format!("/calls/{b_again}/hangup"), json!({})).await;
    let lost = outcome(&dynamodb, &b_again).await;
    assert_eq!(s(&lost, "lostPhase"), "ringingAgent", "{lost:?}");

    for device in ["2101", "2102"] {
        agent_state(&http, &dynamodb, device, "notReady").await;
    }
}
