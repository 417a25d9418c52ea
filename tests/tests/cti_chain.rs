//! The whole CTI chain of the local stack, as `make run` starts it: the PBX simulator (CSTA over
//! TCP) → the on-prem relay (its own binary) → the FIFO CtiEventQueue in the emulator →
//! CtiIngestFunction → call state and contact lifecycle in DynamoDB. The test drives the
//! simulator through its HTTP control API (`LINKA_PBX_SIM_URL`) and reads the relay's health
//! (`LINKA_RELAY_HEALTH_URL`); `scripts/test.sh` starts both with `scripts/stack.sh start-cti`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use system_tests::{eventually, Stack};

/// The relay id of `localstack/relay.toml`.
const RELAY_ID: &str = "local-1";
const WAIT: Duration = Duration::from_secs(45);

fn sim_url(path: &str) -> String {
    let base =
        std::env::var("LINKA_PBX_SIM_URL").unwrap_or_else(|_| "http://127.0.0.1:7080".to_owned());
    format!("{base}{path}")
}

fn relay_health_url() -> String {
    std::env::var("LINKA_RELAY_HEALTH_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:9480/health".to_owned())
}

async fn sim_post(http: &reqwest::Client, path: &str, body: Value) -> Value {
    let response = http.post(sim_url(path)).json(&body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "POST {path}: {status} {body}");
    body
}

type Item = HashMap<String, AttributeValue>;

fn text(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(value)) => value.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test]
async fn when_the_simulated_pbx_carries_a_call_should_the_stack_record_its_lifecycle() {
    // GIVEN the relay linked to the simulator, every configured device monitored
    let stack = Stack::from_env();
    let http = reqwest::Client::new();
    let health: Value = http
        .get(relay_health_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["link"], "up", "{health}");
    let configured = include_str!("../../localstack/relay.toml")
        .matches("[[pbx.devices]]")
        .count();
    assert_eq!(health["monitoredDevices"], configured, "{health}");

    // WHEN a client calls the PBX's own KKC ACD pilot (the relay's fallback for the KKC route
    // point, so that the chain does not depend on routing and opening hours), an agent answers,
    // the client hangs up
    let caller = format!("+420777{:06}", rand_suffix());
    let created = sim_post(&http, "/calls", json!({"from": caller, "to": "5900"})).await;
    let call_id = created["call_id"].as_str().unwrap().to_owned();
    // (The alerting agent answers on request: a global auto-answer would change the other tests'
    // calls on the same simulator.)
    let alerting = || {
        let http = http.clone();
        let call_id = call_id.clone();
        async move {
            let call: Value = http
                .get(sim_url(&format!("/calls/{call_id}")))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            call["connections"]
                .as_array()?
                .iter()
                .any(|connection| connection["state"] == "alerting")
                .then_some(())
        }
    };
    let rings = tokio::time::timeout(WAIT, async {
        while alerting().await.is_none() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    if rings.is_err() {
        // Not left waiting in the ACD: delivered later, it would ring at an agent's phone for
        // ever and block the other tests' calls to it.
        sim_post(&http, &format!("/calls/{call_id}/hangup"), json!({})).await;
        panic!("no agent's phone rang in the simulator within {WAIT:?}");
    }
    sim_post(&http, &format!("/calls/{call_id}/answer"), json!({})).await;
    let agent_in_sim = eventually("an agent answers the call in the simulator", WAIT, || {
        let http = http.clone();
        let call_id = call_id.clone();
        let caller = caller.clone();
        async move {
            let call: Value = http
                .get(sim_url(&format!("/calls/{call_id}")))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            call["connections"]
                .as_array()?
                .iter()
                .find_map(|connection| {
                    (connection["device"] != caller.as_str() && connection["state"] == "connected")
                        .then(|| connection["device"].as_str().unwrap_or_default().to_owned())
                })
        }
    })
    .await;
    sim_post(&http, &format!("/calls/{call_id}/hangup"), json!({})).await;

    // THEN DynamoDB holds the call, answered by an agent and ended, and its lifecycle went
    // arrived → queued/offered → connected → wrap-up or done
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let key = format!("{RELAY_ID}/{call_id}");
    let item = eventually("the call reaches wrap-up in CallsTable", WAIT, || {
        let dynamodb = dynamodb.clone();
        let key = key.clone();
        async move {
            let item = dynamodb
                .get_item()
                .table_name(Stack::physical_name("CallsTable"))
                .key("callKey", AttributeValue::S(key))
                .consistent_read(true)
                .send()
                .await
                .ok()?
                .item?;
            matches!(text(&item, "state").as_str(), "wrapUp" | "done").then_some(item)
        }
    })
    .await;
    assert_eq!(text(&item, "agentDevice"), agent_in_sim);
    assert_eq!(text(&item, "customer"), caller);
    let contact_id = text(&item, "contactId");
    let records = dynamodb
        .query()
        .table_name(Stack::physical_name("ContactEventsTable"))
        .key_condition_expression("contactId = :c")
        .expression_attribute_values(":c", AttributeValue::S(contact_id))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let states: Vec<String> = records.iter().map(|r| text(r, "to")).collect();
    assert!(states.contains(&"connected".to_owned()), "{states:?}");
    assert!(
        states.last().is_some_and(|s| s == "wrapUp" || s == "done"),
        "{states:?}"
    );
    let connected_at = states.iter().position(|s| s == "connected").unwrap();
    assert!(
        states[..connected_at].iter().any(|s| s == "offered"),
        "offered before connected: {states:?}"
    );
}

/// Six digits that differ between runs (the caller number is only a label here).
fn rand_suffix() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    nanos % 1_000_000
}
