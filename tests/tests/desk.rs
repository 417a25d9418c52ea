//! The agent desk end to end (issue 6): two agents work a customer's call through the desk API
//! only — the PBX simulator rings their phones, the relay executes the desk's commands (answer,
//! consult, transfer, hang up), CtiIngestFunction keeps each agent's calls and the contact
//! record, and DeskApiFunction serves desks, clients, notes, categories and histories.
//!
//! Agents agent01 (2001) and agent02 (2002) and the demo clients of `scripts/seed-clients.py`
//! (two clients share +420777000111) are the local stack's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use system_tests::{eventually, Stack};

const WAIT: Duration = Duration::from_secs(45);
const CUSTOMER: &str = "+420777000111";

fn sim_url(path: &str) -> String {
    let base =
        std::env::var("LINKA_PBX_SIM_URL").unwrap_or_else(|_| "http://127.0.0.1:7080".to_owned());
    format!("{base}{path}")
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

/// A call placed by the PBX simulator from `from` to `to`; its PBX call id.
async fn place_call(stack: &Stack, from: &str, to: &str) -> String {
    let created: Value = sim(
        stack,
        Method::POST,
        "/calls",
        json!({"from": from, "to": to}),
    )
    .await;
    created["call_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no call: {created}"))
        .to_owned()
}

/// Waits until the PBX simulator has no call `pbx_call` (or it has no connection left).
async fn pbx_call_ended(stack: &Stack, pbx_call: &str) {
    eventually("the PBX call ended", WAIT, || async {
        let response = stack
            .http
            .get(sim_url(&format!("/calls/{pbx_call}")))
            .send()
            .await
            .ok()?;
        let gone = response.status() == 404
            || response.json::<Value>().await.ok()?["connections"]
                .as_array()
                .is_some_and(Vec::is_empty);
        gone.then_some(())
    })
    .await;
}

/// A request to the PBX simulator's control API, its JSON answer.
async fn sim(stack: &Stack, method: Method, path: &str, body: Value) -> Value {
    let mut request = stack.http.request(method.clone(), sim_url(path));
    if method != Method::GET {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn desk(stack: &Stack, token: &str) -> Value {
    let (status, desk) = api(stack, Method::GET, "/api/desk", token, None).await;
    assert_eq!(status, 200, "{desk}");
    desk
}

/// `PUT /api/desk/phone`: the agent takes calls on the `desk` phone or the `mobile`.
async fn use_phone(stack: &Stack, token: &str, phone: &str) -> (u16, Value) {
    api(
        stack,
        Method::PUT,
        "/api/desk/phone",
        token,
        Some(&json!({"phone": phone})),
    )
    .await
}

/// The desk's call whose other party is `remote`, once it is in `state`.
async fn call_in_state(stack: &Stack, token: &str, remote: &str, state: &str) -> Value {
    eventually(&format!("a call with {remote} {state}"), WAIT, || async {
        let desk = desk(stack, token).await;
        desk["calls"]
            .as_array()?
            .iter()
            .find(|call| call["remote"] == remote && call["state"] == state)
            .cloned()
    })
    .await
}

async fn press(stack: &Stack, token: &str, call: &Value, action: &str, body: Value) {
    let path = format!(
        "/api/desk/calls/{}/{}/{action}",
        call["relayId"].as_str().unwrap(),
        call["callId"].as_str().unwrap()
    );
    let (status, answer) = api(stack, Method::POST, &path, token, Some(&body)).await;
    assert_eq!(status, 202, "{action}: {answer}");
    assert!(answer["commandId"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
}

async fn no_calls(stack: &Stack, token: &str) {
    eventually("no calls at the desk", WAIT, || async {
        desk(stack, token).await["calls"]
            .as_array()?
            .is_empty()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn when_two_agents_work_a_call_at_their_desks_should_control_it_and_keep_the_contact() {
    let stack = Stack::from_env();
    let (first, second, admin) = (
        stack.token("agent01").await,
        stack.token("agent02").await,
        stack.token("admin").await,
    );

    // Queues: agent01 logs out of one queue and back in; a locked membership cannot be changed.
    let desk01 = desk(&stack, &first).await;
    assert_eq!(desk01["device"], "2001");
    for queue in desk01["queues"].as_array().unwrap() {
        let path = format!("/api/desk/queues/{}", queue["queueId"].as_str().unwrap());
        let (status, _) = api(
            &stack,
            Method::PUT,
            &path,
            &first,
            Some(&json!({"loggedIn": true})),
        )
        .await;
        assert!(status == 200 || status == 403, "{status}");
    }
    let queue_id = desk01["queues"][0]["queueId"].as_str().unwrap().to_owned();
    let queue_path = format!("/api/desk/queues/{queue_id}");
    let (status, queue) = api(
        &stack,
        Method::PUT,
        &queue_path,
        &first,
        Some(&json!({"loggedIn": false})),
    )
    .await;
    assert_eq!(
        (status, &queue["loggedIn"]),
        (200, &json!(false)),
        "{queue}"
    );
    let desk01 = desk(&stack, &first).await;
    let listed = desk01["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queueId"] == queue_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["loggedIn"], false);
    let (status, _) = api(
        &stack,
        Method::PUT,
        &queue_path,
        &first,
        Some(&json!({"loggedIn": true})),
    )
    .await;
    assert_eq!(status, 200);
    let member_path = format!("/api/admin/queues/{queue_id}/members/agent01");
    let (_, members) = api(
        &stack,
        Method::GET,
        &format!("/api/admin/queues/{queue_id}/members"),
        &admin,
        None,
    )
    .await;
    let member = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["username"] == "agent01")
        .unwrap()
        .clone();
    let settings = |locked: bool| json!({"skillLevel": member["skillLevel"], "priority": member["priority"], "locked": locked});
    let (status, _) = api(
        &stack,
        Method::PUT,
        &member_path,
        &admin,
        Some(&settings(true)),
    )
    .await;
    assert_eq!(status, 200);
    eventually("the lock reaches the desk", WAIT, || async {
        desk(&stack, &first).await["queues"]
            .as_array()?
            .iter()
            .any(|q| q["queueId"] == queue_id.as_str() && q["locked"] == true)
            .then_some(())
    })
    .await;
    let (status, locked) = api(
        &stack,
        Method::PUT,
        &queue_path,
        &first,
        Some(&json!({"loggedIn": false})),
    )
    .await;
    assert_eq!(status, 403, "{locked}");
    assert_eq!(locked["code"], "queue-locked");
    let (status, _) = api(
        &stack,
        Method::PUT,
        &member_path,
        &admin,
        Some(&settings(false)),
    )
    .await;
    assert_eq!(status, 200);

    // Both agents ready at their desks.
    for token in [&first, &second] {
        let (status, answer) = api(
            &stack,
            Method::PUT,
            "/api/desk/presence",
            token,
            Some(&json!({"state": "ready"})),
        )
        .await;
        assert_eq!(status, 202, "{answer}");
    }
    for token in [&first, &second] {
        eventually("the agent ready", WAIT, || async {
            (desk(&stack, token).await["presence"]["state"] == "ready").then_some(())
        })
        .await;
    }

    // A customer whose number two clients share calls agent01: the desk shows it ringing and
    // the lookup lists both clients.
    let pbx_call = place_call(&stack, CUSTOMER, "2001").await;
    let ringing = call_in_state(&stack, &first, CUSTOMER, "ringing").await;
    assert_eq!(ringing["direction"], "inbound");
    let contact_id = ringing["contactId"].as_str().unwrap().to_owned();
    let (status, found) = api(
        &stack,
        Method::GET,
        "/api/clients?phone=%2B420777000111",
        &first,
        None,
    )
    .await;
    assert_eq!(status, 200, "{found}");
    let ids: Vec<&str> = found["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clientId"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"90000001") && ids.contains(&"90000002"),
        "{ids:?}"
    );

    // agent01 answers at the desk, picks the client, writes a note and sets a category.
    press(&stack, &first, &ringing, "answer", json!({})).await;
    let talking = call_in_state(&stack, &first, CUSTOMER, "connected").await;
    let contact_path = format!("/api/contacts/{contact_id}");
    eventually("the contact record", WAIT, || async {
        let (status, _) = api(&stack, Method::GET, &contact_path, &first, None).await;
        (status == 200).then_some(())
    })
    .await;
    let (status, record) = api(
        &stack,
        Method::PUT,
        &format!("{contact_path}/client"),
        &first,
        Some(&json!({"clientId": "90000001"})),
    )
    .await;
    assert_eq!(status, 200, "{record}");
    let note = "Klientka žádá o zaslání průkazu pojištěnce";
    let (status, version) = api(
        &stack,
        Method::POST,
        &format!("{contact_path}/notes"),
        &first,
        Some(&json!({"text": note})),
    )
    .await;
    assert_eq!(status, 201, "{version}");
    let (_, categories) = api(&stack, Method::GET, "/api/desk/categories", &first, None).await;
    let categories: Vec<String> = categories["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["categoryId"].as_str().unwrap().to_owned())
        .collect();
    assert!(categories.len() >= 2, "{categories:?}");
    let (status, record) = api(
        &stack,
        Method::PUT,
        &format!("{contact_path}/category"),
        &first,
        Some(&json!({"categoryId": categories[0]})),
    )
    .await;
    assert_eq!(status, 200, "{record}");

    // agent01 consults agent02, who answers at their desk; agent01 transfers the customer.
    press(
        &stack,
        &first,
        &talking,
        "consult",
        json!({"target": {"kind": "agent", "username": "agent02"}}),
    )
    .await;
    let consulted = call_in_state(&stack, &second, "2001", "ringing").await;
    assert_eq!(consulted["direction"], "internal");
    press(&stack, &second, &consulted, "answer", json!({})).await;
    call_in_state(&stack, &first, "2002", "connected").await;
    let held = call_in_state(&stack, &first, CUSTOMER, "held").await;
    press(&stack, &first, &held, "transfer", json!({})).await;
    let transferred = call_in_state(&stack, &second, CUSTOMER, "connected").await;
    no_calls(&stack, &first).await;

    // agent02 hangs up at the desk; the PBX has no call left.
    press(&stack, &second, &transferred, "hangup", json!({})).await;
    no_calls(&stack, &second).await;
    pbx_call_ended(&stack, &pbx_call).await;

    // The category can change after the call; a note amendment keeps the first version.
    let (status, _) = api(
        &stack,
        Method::PUT,
        &format!("{contact_path}/category"),
        &first,
        Some(&json!({"categoryId": categories[1]})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = api(
        &stack,
        Method::POST,
        &format!("{contact_path}/notes"),
        &first,
        Some(&json!({"text": "Průkaz odeslán poštou", "baseVersion": 1})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, notes) = api(
        &stack,
        Method::GET,
        &format!("{contact_path}/notes"),
        &first,
        None,
    )
    .await;
    let texts: Vec<&str> = notes["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "{notes}");
    assert!(texts.contains(&note), "{texts:?}");

    // The client's history and both agents' own histories show the contact; the full-text
    // search ignores case and diacritics.
    let listed = |page: &Value| {
        page["contacts"]
            .as_array()
            .is_some_and(|list| list.iter().any(|c| c["contactId"] == contact_id.as_str()))
    };
    let (_, history) = api(
        &stack,
        Method::GET,
        "/api/clients/90000001/contacts",
        &first,
        None,
    )
    .await;
    assert!(listed(&history), "{history}");
    let record = eventually("the record with both agents", WAIT, || async {
        let (_, record) = api(&stack, Method::GET, &contact_path, &first, None).await;
        let agents = record["agents"].as_array()?;
        (agents.iter().any(|a| a == "agent01") && agents.iter().any(|a| a == "agent02"))
            .then_some(record)
    })
    .await;
    assert_eq!(record["categoryId"], categories[1].as_str());
    assert_eq!(record["clientId"], "90000001");
    let (_, mine) = api(
        &stack,
        Method::GET,
        "/api/desk/history?q=PRUKAZU%20pojistence",
        &first,
        None,
    )
    .await;
    assert!(listed(&mine), "{mine}");
    let (_, theirs) = api(&stack, Method::GET, "/api/desk/history", &second, None).await;
    assert!(listed(&theirs), "{theirs}");

    // The desk's statistics (DESK-6): the four periods, overall, in the agent's queues and own.
    let (status, stats) = api(&stack, Method::GET, "/api/desk/stats", &first, None).await;
    assert_eq!(status, 200, "{stats}");
    let periods: Vec<&str> = stats["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(periods, ["24h", "7d", "14d", "30d"]);
    for scope in ["all", "myQueues", "mine"] {
        assert!(stats["periods"][0][scope].is_object(), "{scope}: {stats}");
    }

    // The transfer panel shows agent02.
    let (_, panel) = api(&stack, Method::GET, "/api/desk/directory", &first, None).await;
    let agent02 = panel["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "agent02")
        .unwrap()
        .clone();
    assert_eq!(agent02["device"], "2002");
    assert!(agent02["presence"].is_string());
}

/// CHAT-3: an agent who holds a chat still takes a call, and writes in the chat while talking.
#[tokio::test]
async fn when_an_agent_holds_a_chat_should_a_call_still_reach_them_and_both_go_on() {
    let stack = Stack::from_env();
    let agent = stack.token("agent03").await;
    let bot = stack.client_token("chatbot").await;
    let (status, started) = api(
        &stack,
        Method::POST,
        "/api/chat/conversations",
        &bot,
        Some(
            &json!({"clientToken": format!("chat3-{}", uuid::Uuid::new_v4()),
                     "initialMessage": "Dobrý den, mám dotaz k průkazu."}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let id = started["conversationId"].as_str().unwrap().to_owned();
    let (status, _) = api(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/handoff"),
        &bot,
        Some(&json!({"queueId": "kkc-obecne", "leaveMessage": true})),
    )
    .await;
    assert_eq!(status, 202);
    let (status, taken) = api(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/accept"),
        &agent,
        None,
    )
    .await;
    assert_eq!(status, 200, "{taken}");

    // A customer calls agent03's phone: the desk shows it and the agent answers.
    let caller = "+420777000444";
    place_call(&stack, caller, "2003").await;
    let ringing = call_in_state(&stack, &agent, caller, "ringing").await;
    press(&stack, &agent, &ringing, "answer", json!({})).await;
    let talking = call_in_state(&stack, &agent, caller, "connected").await;

    // While talking, the chat is still theirs and they write in it.
    let (status, list) = api(&stack, Method::GET, "/api/desk/chats", &agent, None).await;
    assert_eq!(status, 200);
    assert!(list["held"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["conversationId"] == json!(id)));
    let (status, reply) = api(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/messages"),
        &agent,
        Some(&json!({"text": "Moment, hned se vám budu věnovat.", "clientMessageId": "chat3-1"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    press(&stack, &agent, &talking, "hangup", json!({})).await;
    no_calls(&stack, &agent).await;
    let (status, _) = api(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/end"),
        &agent,
        None,
    )
    .await;
    assert_eq!(status, 200);
}

/// DESK-2: agent08 takes calls on the mobile (the PBX mobile extension 2908 of +420601000008):
/// the ACD agent moves there, ready as before; a call to it rings at the desk, is answered on
/// the mobile (not from the desk), hung up from the desk and kept as agent08's contact; others'
/// transfer panels name the mobile extension; agent08 moves back to the desk phone.
#[tokio::test]
async fn when_an_agent_takes_calls_on_the_mobile_should_the_desk_show_and_control_them() {
    const CALLER: &str = "+420608111222";
    let stack = Stack::from_env();
    let (agent, colleague) = (stack.token("agent08").await, stack.token("agent07").await);
    let at_phone = |using: &'static str, device: &'static str| {
        let (stack, agent) = (&stack, &agent);
        async move {
            eventually(&format!("agent08 ready at {device}"), WAIT, || async {
                let desk = desk(stack, agent).await;
                (desk["phone"]["using"] == using
                    && desk["device"] == device
                    && desk["presence"]["state"] == "ready")
                    .then_some(())
            })
            .await;
        }
    };

    // Ready at the desk phone first.
    let (status, answer) = use_phone(&stack, &agent, "desk").await;
    assert_eq!(status, 202, "{answer}");
    let (status, answer) = api(
        &stack,
        Method::PUT,
        "/api/desk/presence",
        &agent,
        Some(&json!({"state": "ready"})),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    at_phone("desk", "2008").await;
    let shown = desk(&stack, &agent).await;
    assert_eq!(
        shown["phone"]["mobile"],
        json!({"device": "2908", "number": "+420601000008"})
    );

    // To the mobile: logged off at 2008, on and ready at 2908 (the PBX says so too).
    let (status, answer) = use_phone(&stack, &agent, "mobile").await;
    assert_eq!(status, 202, "{answer}");
    at_phone("mobile", "2908").await;
    let devices = sim(&stack, Method::GET, "/devices", Value::Null).await;
    let agent_at = |id: &str| {
        devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .unwrap()["agent"]
            .clone()
    };
    assert_eq!(agent_at("2908")["agent_id"], "2008", "{devices}");
    assert_eq!(agent_at("2908")["status"], "ready", "{devices}");
    assert_eq!(agent_at("2008")["status"], "loggedOff", "{devices}");
    let (_, panel) = api(&stack, Method::GET, "/api/desk/directory", &colleague, None).await;
    let listed = panel["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "agent08")
        .unwrap()
        .clone();
    assert_eq!(listed["device"], "2908", "{listed}");
    assert_eq!(listed["presence"], "free", "{listed}");

    // A call to the mobile rings at the desk; the desk cannot answer it, the mobile does.
    let pbx_call = place_call(&stack, CALLER, "2908").await;
    let ringing = call_in_state(&stack, &agent, CALLER, "ringing").await;
    let contact_id = ringing["contactId"].as_str().unwrap().to_owned();
    let path = format!(
        "/api/desk/calls/{}/{}/answer",
        ringing["relayId"].as_str().unwrap(),
        ringing["callId"].as_str().unwrap()
    );
    let (status, problem) = api(&stack, Method::POST, &path, &agent, Some(&json!({}))).await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("answer-on-mobile"))
    );
    sim(&stack, Method::POST, "/devices/2908/answer", json!({})).await;
    let talking = call_in_state(&stack, &agent, CALLER, "connected").await;

    // Moving back is refused during the call; the desk hangs it up on the mobile.
    let (status, problem) = use_phone(&stack, &agent, "desk").await;
    assert_eq!((status, &problem["code"]), (409, &json!("phone-busy")));
    press(&stack, &agent, &talking, "hangup", json!({})).await;
    no_calls(&stack, &agent).await;
    pbx_call_ended(&stack, &pbx_call).await;

    // The contact is agent08's, in their own history.
    let record = eventually("the contact record of agent08", WAIT, || async {
        let (status, record) = api(
            &stack,
            Method::GET,
            &format!("/api/contacts/{contact_id}"),
            &agent,
            None,
        )
        .await;
        (status == 200 && record["agents"].as_array()?.iter().any(|a| a == "agent08"))
            .then_some(record)
    })
    .await;
    assert_eq!(record["direction"], "inbound", "{record}");

    // Back to the desk phone, ready there.
    let (status, answer) = use_phone(&stack, &agent, "desk").await;
    assert_eq!(status, 202, "{answer}");
    at_phone("desk", "2008").await;
}
