//! The conversation API on the local stack (issue 7): the chatbot (client credentials) and a
//! widget visitor (participant token) talk to ChatApiFunction through the dev gateway, which
//! stores conversations in the emulator's ChatTable. Idempotency, order under concurrent
//! posts, who may read what, and the handoff within and outside a queue's opening hours.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use reqwest::Method;
use serde_json::{json, Value};
use system_tests::{percentile, Socket, Stack};
use tokio::sync::Mutex;

/// The local stack's webhook key (localstack/dev-gateway/src/app.rs).
const WEBHOOK_SECRET: &[u8] = b"linka-local-chat-webhook-secret-0123456789abcdef";
const WAIT: Duration = Duration::from_secs(30);

async fn call(
    stack: &Stack,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    stack.call(method, path, token, body).await
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

#[tokio::test]
async fn when_a_bot_relays_messages_and_hands_off_should_keep_one_ordered_transcript() {
    let stack = Stack::from_env();
    let bot = stack.client_token("chatbot").await;
    let start = json!({
        "clientToken": unique("bot"),
        "customer": {"name": "Jana Dvořáková", "email": "jana@example.cz", "phone": "777 000 111"},
        "attributes": {"topic": "prukaz"},
        "initialMessage": "Dobrý den, ztratila jsem průkaz."
    });
    let (status, started) = call(
        &stack,
        Method::POST,
        "/api/chat/conversations",
        Some(&bot),
        Some(&start),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(started["status"], "bot");
    let id = started["conversationId"].as_str().unwrap().to_owned();
    // The same client token: the same conversation, nothing new stored.
    let (status, again) = call(
        &stack,
        Method::POST,
        "/api/chat/conversations",
        Some(&bot),
        Some(&start),
    )
    .await;
    assert_eq!((status, &again["conversationId"]), (201, &json!(id)));

    let messages = format!("/api/chat/conversations/{id}/messages");
    let posts = [
        json!({"text": "Potřebuji nový.", "clientMessageId": "c-1"}),
        json!({"text": "Vyřídíte to?", "clientMessageId": "c-2", "from": "customer"}),
        json!({"text": "Předám vás kolegovi.", "clientMessageId": "b-1", "from": "bot"}),
    ];
    let mut ids = Vec::new();
    for post in &posts {
        let (status, posted) = call(&stack, Method::POST, &messages, Some(&bot), Some(post)).await;
        assert_eq!(status, 201, "{posted}");
        ids.push(posted["messageId"].clone());
    }
    // A retry of c-2 answers its first id.
    let (status, repeated) =
        call(&stack, Method::POST, &messages, Some(&bot), Some(&posts[1])).await;
    assert_eq!((status, &repeated["messageId"]), (201, &ids[1]));

    // Eight concurrent posts: distinct, gapless sequence numbers after the four before.
    let concurrent = (0..8).map(|n| {
        let (stack, messages, bot) = (&stack, &messages, &bot);
        async move {
            call(
                stack,
                Method::POST,
                messages,
                Some(bot),
                Some(
                    &json!({"text": format!("souběžně {n}"), "clientMessageId": format!("p-{n}")}),
                ),
            )
            .await
        }
    });
    let results = futures_util::future::join_all(concurrent).await;
    let mut seqs: Vec<u64> = results
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["seq"].as_u64().unwrap()
        })
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (5..=12).collect::<Vec<u64>>());

    let (status, handed) = call(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/handoff"),
        Some(&bot),
        Some(&json!({"queueId": "as-asistence"})),
    )
    .await;
    assert_eq!(
        (status, &handed),
        (
            202,
            &json!({"status": "queued", "queueId": "as-asistence", "leftMessage": false})
        )
    );

    // The transcript, read in pages of 5: every message once, in order.
    let mut transcript: Vec<Value> = Vec::new();
    let mut after = "0".to_owned();
    loop {
        let (status, page) = call(
            &stack,
            Method::GET,
            &format!("{messages}?after={after}&limit=5"),
            Some(&bot),
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        transcript.extend(page["messages"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    let seqs: Vec<u64> = transcript
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=13).collect::<Vec<u64>>());
    let head: Vec<(&str, &str)> = transcript[..4]
        .iter()
        .map(|m| (m["from"].as_str().unwrap(), m["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        head,
        [
            ("customer", "Dobrý den, ztratila jsem průkaz."),
            ("customer", "Potřebuji nový."),
            ("customer", "Vyřídíte to?"),
            ("bot", "Předám vás kolegovi."),
        ]
    );
    assert_eq!(transcript[12]["from"], "system");
    let (status, state) = call(
        &stack,
        Method::GET,
        &format!("/api/chat/conversations/{id}"),
        Some(&bot),
        None,
    )
    .await;
    assert_eq!((status, state["status"].as_str()), (200, Some("queued")));
}

#[tokio::test]
async fn when_a_visitor_uses_a_participant_token_should_reach_only_their_conversation() {
    let stack = Stack::from_env();
    let start = |token: String| json!({"clientToken": token, "customer": {"name": "Návštěvník"}});
    let (status, mine) = call(
        &stack,
        Method::POST,
        "/api/chat/conversations",
        None,
        Some(&start(unique("w"))),
    )
    .await;
    assert_eq!(status, 201, "{mine}");
    let (_, theirs) = call(
        &stack,
        Method::POST,
        "/api/chat/conversations",
        None,
        Some(&start(unique("w"))),
    )
    .await;
    let token = mine["participantToken"].as_str().unwrap();
    let id = mine["conversationId"].as_str().unwrap();
    let other = theirs["conversationId"].as_str().unwrap();

    let (status, posted) = call(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/messages"),
        Some(token),
        Some(&json!({"text": "Dobrý den", "clientMessageId": "v-1"})),
    )
    .await;
    assert_eq!((status, posted["seq"].as_u64()), (201, Some(1)));
    let (status, page) = call(
        &stack,
        Method::GET,
        &format!("/api/chat/conversations/{id}/messages"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(
        (status, page["messages"][0]["text"].as_str()),
        (200, Some("Dobrý den"))
    );

    for (method, path) in [
        (
            Method::GET,
            format!("/api/chat/conversations/{other}/messages"),
        ),
        (Method::GET, format!("/api/chat/conversations/{other}")),
        (Method::POST, format!("/api/chat/conversations/{other}/end")),
    ] {
        let (status, problem) = call(&stack, method, &path, Some(token), None).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("conversation-not-yours")),
            "{path}"
        );
    }
    let (status, problem) = call(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/messages"),
        Some(token),
        Some(&json!({"text": "Jsem bot", "clientMessageId": "v-2", "from": "bot"})),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("bot-only")));
    // The chatbot did not start it; an agent is no bot; no token reads nothing.
    let bot = stack.client_token("chatbot").await;
    let (status, _) = call(
        &stack,
        Method::GET,
        &format!("/api/chat/conversations/{id}/messages"),
        Some(&bot),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let agent = stack.token("agent01").await;
    let (status, _) = call(
        &stack,
        Method::GET,
        &format!("/api/chat/conversations/{id}/messages"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &stack,
        Method::GET,
        &format!("/api/chat/conversations/{id}/messages"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);

    // Ended: nothing more can be posted.
    let (status, ended) = call(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/end"),
        Some(token),
        None,
    )
    .await;
    assert_eq!((status, ended["status"].as_str()), (200, Some("ended")));
    let (status, problem) = call(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/messages"),
        Some(token),
        Some(&json!({"text": "Ještě…", "clientMessageId": "v-3"})),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("conversation-ended"))
    );
}

#[tokio::test]
async fn when_handed_off_outside_the_queues_hours_should_answer_when_it_opens() {
    let stack = Stack::from_env();
    let admin = stack.token("admin").await;
    // A queue open on Mondays 08:00–09:00 only, closed today by an exception.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Prague)
        .date_naive()
        .to_string();
    let queue = json!({
        "queueId": "chat-test-zavreno", "name": "Chat (test, zavřeno)", "priority": 1,
        "schedule": {"timezone": "Europe/Prague",
            "weekly": {"monday": [{"start": "08:00", "end": "09:00"}]},
            "exceptions": [{"date": today, "intervals": []}],
            "closedOnPublicHolidays": false}
    });
    let (mut status, mut body) = call(
        &stack,
        Method::PUT,
        "/api/admin/queues/chat-test-zavreno",
        Some(&admin),
        Some(&queue),
    )
    .await;
    if status == 404 {
        (status, body) = call(
            &stack,
            Method::POST,
            "/api/admin/queues",
            Some(&admin),
            Some(&queue),
        )
        .await;
    }
    assert!(status == 200 || status == 201, "{status} {body}");

    let (_, started) = call(
        &stack,
        Method::POST,
        "/api/chat/conversations",
        None,
        Some(&json!({"clientToken": unique("closed")})),
    )
    .await;
    let id = started["conversationId"].as_str().unwrap();
    let token = started["participantToken"].as_str().unwrap();
    let (status, problem) = call(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/handoff"),
        Some(token),
        Some(&json!({"queueId": "chat-test-zavreno"})),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("chat-closed")),
        "{problem}"
    );
    let next = problem["nextOpening"].as_str().expect("nextOpening");
    let next = chrono::DateTime::parse_from_rfc3339(next).unwrap();
    assert!(next > chrono::Utc::now());
    let (_, state) = call(
        &stack,
        Method::GET,
        &format!("/api/chat/conversations/{id}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(state["status"], "bot", "a refused handoff changes nothing");
    // The visitor leaves a message instead: it waits in the queue for when it opens.
    let (status, left) = call(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/handoff"),
        Some(token),
        Some(&json!({"queueId": "chat-test-zavreno", "leaveMessage": true})),
    )
    .await;
    assert_eq!(
        (
            status,
            left["status"].as_str(),
            left["leftMessage"].as_bool()
        ),
        (202, Some("queued"), Some(true))
    );
}

/// What the test bot's webhook received: (signature header, body).
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A bot's webhook endpoint on a free local port: its URL and what it receives.
async fn bot_webhook() -> (String, Received) {
    use axum::{extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
    let received: Received = Arc::default();
    async fn hook(
        State(received): State<Received>,
        headers: HeaderMap,
        body: String,
    ) -> StatusCode {
        let signature = headers
            .get("x-linka-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        received.lock().await.push((signature, body));
        StatusCode::NO_CONTENT
    }
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

async fn next_push(socket: &mut Socket, matches: impl Fn(&Value) -> bool) -> Value {
    system_tests::next_matching(socket, WAIT, matches).await
}

/// The bot scenario through the APIs (the browser part is web/e2e): a bot starts a
/// conversation with a webhook, relays two customer messages and one of its own, hands off; an
/// agent of the queue hears of it at the desk, takes it and answers; the bot gets the answer
/// signed at its webhook and in the transcript; the agent transfers the chat to a colleague.
#[tokio::test]
async fn when_a_bot_hands_off_to_an_agent_should_the_bot_get_the_agents_reply_signed() {
    let stack = Stack::from_env();
    let (webhook, received) = bot_webhook().await;
    let bot = stack.client_token("chatbot").await;
    // agent06 works as-asistence (open all day); their desk is open.
    let agent = stack.token("agent06").await;
    let (mut desk, _) = tokio_tungstenite::connect_async(stack.ws_url(&agent))
        .await
        .unwrap();

    let (status, started) = call(
        &stack,
        Method::POST,
        "/api/chat/conversations",
        Some(&bot),
        Some(&json!({
            "clientToken": unique("scenario"), "webhookUrl": webhook,
            "customer": {"name": "Tomáš Dvořák", "email": "tomas@example.cz"}
        })),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let id = started["conversationId"].as_str().unwrap().to_owned();
    let messages = format!("/api/chat/conversations/{id}/messages");
    for (n, (text, from)) in [
        ("Dobrý den.", "customer"),
        ("Potřebuji kartu EHIC.", "customer"),
        ("Předávám operátorovi.", "bot"),
    ]
    .iter()
    .enumerate()
    {
        let (status, _) = call(
            &stack,
            Method::POST,
            &messages,
            Some(&bot),
            Some(&json!({"text": text, "clientMessageId": format!("s-{n}"), "from": from})),
        )
        .await;
        assert_eq!(status, 201);
    }
    let (status, _) = call(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/handoff"),
        Some(&bot),
        Some(&json!({"queueId": "as-asistence"})),
    )
    .await;
    assert_eq!(status, 202);

    // The desk hears of the waiting chat and lists it; the agent takes it and answers.
    next_push(&mut desk, |m| {
        m["type"] == "chat" && m["conversationId"] == json!(id) && m["status"] == "queued"
    })
    .await;
    let list = desk_chats(&stack, &agent).await;
    assert!(list["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["conversationId"] == json!(id)));
    let (status, taken) = call(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/accept"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(
        (status, taken["agent"].as_str()),
        (200, Some("agent06")),
        "{taken}"
    );
    let (status, reply) = call(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/messages"),
        Some(&agent),
        Some(&json!({"text": "Dobrý den, kartu vám pošleme poštou.", "clientMessageId": "a-1"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");

    // The bot: the reply in the transcript, and signed at its webhook.
    let (_, page) = call(&stack, Method::GET, &messages, Some(&bot), None).await;
    let texts: Vec<(&str, &str)> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["from"].as_str().unwrap(), m["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        texts,
        [
            ("customer", "Dobrý den."),
            ("customer", "Potřebuji kartu EHIC."),
            ("bot", "Předávám operátorovi."),
            ("system", "Předáváme vás operátorovi."),
            ("agent", "Dobrý den, kartu vám pošleme poštou."),
        ]
    );
    let delivered = tokio::time::timeout(WAIT, async {
        loop {
            let found = received
                .lock()
                .await
                .iter()
                .find(|(_, body)| body.contains("kartu vám pošleme"))
                .cloned();
            if let Some(found) = found {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the webhook got the agent's reply");
    assert!(linka_shared::chat::webhook::verify(
        WEBHOOK_SECRET,
        &delivered.0,
        delivered.1.as_bytes(),
        chrono::Utc::now()
    ));
    let event: Value = serde_json::from_str(&delivered.1).unwrap();
    assert_eq!(
        (event["type"].as_str(), event["message"]["from"].as_str()),
        (Some("message"), Some("agent"))
    );

    // Transferred to agent07: theirs now; the transcript stays one ordered list.
    let (status, moved) = call(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/transfer"),
        Some(&agent),
        Some(&json!({"username": "agent07"})),
    )
    .await;
    assert_eq!(
        (status, moved["agent"].as_str()),
        (200, Some("agent07")),
        "{moved}"
    );
    let colleague = stack.token("agent07").await;
    let theirs = desk_chats(&stack, &colleague).await;
    assert!(theirs["held"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["conversationId"] == json!(id)));
    let (_, page) = call(&stack, Method::GET, &messages, Some(&bot), None).await;
    let seqs: Vec<u64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<u64>>());
    let (status, _) = call(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/end"),
        Some(&colleague),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

/// Benchmark (docs/benchmarks.md): message → agent's desk latency, the time from the bot's
/// `POST …/messages` to the `chat-message` push at the agent's open WebSocket, one message at a
/// time; then sustained messages/s through the chat function, `LINKA_BENCH_CHAT_WRITERS`
/// conversations written concurrently for `LINKA_BENCH_CHAT_SECONDS`.
///
/// `LINKA_STATE_DIR=… cargo test -p system-tests --features stack --test chat -- --ignored --nocapture chat_latency`
#[tokio::test]
#[ignore = "a benchmark: run by hand, results in docs/benchmarks.md"]
async fn chat_latency() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    };
    let messages = env("LINKA_BENCH_CHAT_MESSAGES", 100);
    let writers = env("LINKA_BENCH_CHAT_WRITERS", 8);
    let seconds = env("LINKA_BENCH_CHAT_SECONDS", 20) as u64;
    let stack = Stack::from_env();
    let bot = stack.client_token("chatbot").await;
    let agent = stack.token("agent08").await;
    let (mut desk, _) = tokio_tungstenite::connect_async(stack.ws_url(&agent))
        .await
        .unwrap();
    // One conversation held by agent08.
    let (_, started) = call(
        &stack,
        Method::POST,
        "/api/chat/conversations",
        Some(&bot),
        Some(&json!({"clientToken": unique("bench")})),
    )
    .await;
    let id = started["conversationId"].as_str().unwrap().to_owned();
    call(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/handoff"),
        Some(&bot),
        Some(&json!({"queueId": "as-asistence"})),
    )
    .await;
    let (status, _) = call(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/accept"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let path = format!("/api/chat/conversations/{id}/messages");
    let mut latencies = Vec::with_capacity(messages);
    for n in 0..messages {
        let text = format!("bench {n}");
        let sent = std::time::Instant::now();
        let (status, _) = call(
            &stack,
            Method::POST,
            &path,
            Some(&bot),
            Some(&json!({"text": text, "clientMessageId": format!("b-{n}")})),
        )
        .await;
        assert_eq!(status, 201);
        next_push(&mut desk, |m| {
            m["type"] == "chat-message" && m["message"]["text"] == json!(text)
        })
        .await;
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "chat: message → desk push, {messages} messages: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        latencies[latencies.len() - 1]
    );

    // Sustained: each writer its own conversation, posting as fast as answers come.
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    let counts = futures_util::future::join_all((0..writers).map(|w| {
        let (stack, bot) = (&stack, &bot);
        async move {
            let (_, started) = call(
                stack,
                Method::POST,
                "/api/chat/conversations",
                Some(bot),
                Some(&json!({"clientToken": unique("bench-w")})),
            )
            .await;
            let path = format!(
                "/api/chat/conversations/{}/messages",
                started["conversationId"].as_str().unwrap()
            );
            let (mut ok, mut failed, mut n) = (0usize, 0usize, 0usize);
            while std::time::Instant::now() < deadline {
                n += 1;
                let (status, _) = call(
                    stack,
                    Method::POST,
                    &path,
                    Some(bot),
                    Some(&json!({"text": "zpráva", "clientMessageId": format!("w{w}-{n}")})),
                )
                .await;
                if status == 201 {
                    ok += 1
                } else {
                    failed += 1
                }
            }
            (ok, failed)
        }
    }))
    .await;
    let ok: usize = counts.iter().map(|c| c.0).sum();
    let failed: usize = counts.iter().map(|c| c.1).sum();
    println!(
        "chat: sustained, {writers} conversations written at once for {seconds} s: {ok} messages stored ({:.1}/s), {failed} refused",
        ok as f64 / seconds as f64
    );
    assert_eq!(failed, 0);
}

/// CHAT-1 live delivery: the widget visitor's WebSocket (participant token) gets the agent's
/// reply as it is stored, without the agent's name, and the typing signals go both ways; a
/// forged token is refused at the upgrade.
#[tokio::test]
async fn when_a_visitor_keeps_a_websocket_open_should_the_agents_reply_arrive_live() {
    let stack = Stack::from_env();
    let (status, started) = call(
        &stack,
        Method::POST,
        "/api/chat/conversations",
        None,
        Some(&json!({"clientToken": unique("live"), "initialMessage": "Dobrý den, jsem tu?"})),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let id = started["conversationId"].as_str().unwrap().to_owned();
    let participant = started["participantToken"].as_str().unwrap().to_owned();
    let ws = stack.base_url.replacen("http", "ws", 1);
    let refused =
        tokio_tungstenite::connect_async(format!("{ws}/ws?participantToken=forged.token.x")).await;
    assert!(
        refused.is_err(),
        "a forged participant token must be refused"
    );
    let (mut visitor, _) =
        tokio_tungstenite::connect_async(format!("{ws}/ws?participantToken={participant}"))
            .await
            .unwrap();
    let (status, _) = call(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/handoff"),
        Some(&participant),
        Some(&json!({"queueId": "as-asistence", "leaveMessage": true})),
    )
    .await;
    assert_eq!(status, 202);
    let agent = stack.token("agent06").await;
    let (status, taken) = call(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/accept"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 200, "{taken}");
    let (status, _) = call(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/messages"),
        Some(&agent),
        Some(&json!({"text": "Ano, dobrý den!", "clientMessageId": "live-a1"})),
    )
    .await;
    assert_eq!(status, 201);
    let pushed = next_push(&mut visitor, |m| {
        m["type"] == "chat-message" && m["message"]["text"] == "Ano, dobrý den!"
    })
    .await;
    assert_eq!(pushed["message"]["from"], "agent");
    assert!(pushed["message"].get("author").is_none(), "{pushed}");
    assert!(
        pushed["message"].get("clientMessageId").is_none(),
        "{pushed}"
    );
    // Typing both ways (CHAT-2): the agent's reaches the visitor, the visitor's the agent's desk.
    let (mut desk, _) = tokio_tungstenite::connect_async(stack.ws_url(&agent))
        .await
        .unwrap();
    let (status, _) = call(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/typing"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let typing = next_push(&mut visitor, |m| m["type"] == "chat-typing").await;
    assert_eq!(
        (typing["conversationId"].as_str(), typing["from"].as_str()),
        (Some(id.as_str()), Some("agent"))
    );
    let (status, _) = call(
        &stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/typing"),
        Some(&participant),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let typing = next_push(&mut desk, |m| m["type"] == "chat-typing").await;
    assert_eq!(
        (typing["conversationId"].as_str(), typing["from"].as_str()),
        (Some(id.as_str()), Some("customer"))
    );
    let (status, _) = call(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{id}/end"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

/// The widget on the insurer's own site calls the API across origins: the HTTP API's CORS
/// (`WidgetOrigin`; the local stack allows any origin) answers the preflight.
#[tokio::test]
async fn when_the_widget_runs_on_another_origin_should_the_preflight_allow_it() {
    let stack = Stack::from_env();
    let response = stack
        .http
        .request(Method::OPTIONS, stack.url("/api/chat/conversations"))
        .header("Origin", "https://www.pojistovna.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let allowed = response.headers()["access-control-allow-origin"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        allowed == "*" || allowed == "https://www.pojistovna.example",
        "{allowed}"
    );
    let methods = response.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
}

/// Sets an agent's presence at the desk and waits until the desk shows it.
async fn presence(stack: &Stack, token: &str, state: &str) {
    let (status, answer) = call(
        stack,
        Method::PUT,
        "/api/desk/presence",
        Some(token),
        Some(&json!({"state": state})),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    system_tests::eventually(&format!("the agent {state}"), WAIT, || async {
        let (_, desk) = call(stack, Method::GET, "/api/desk", Some(token), None).await;
        (desk["presence"]["state"] == state).then_some(())
    })
    .await;
}

/// The conversation ids `token`'s agent holds.
/// The desk's chat lists of `token`'s user (`GET /api/desk/chats`: held and waiting).
async fn desk_chats(stack: &Stack, token: &str) -> Value {
    let (status, list) = call(stack, Method::GET, "/api/desk/chats", Some(token), None).await;
    assert_eq!(status, 200, "{list}");
    list
}

async fn held(stack: &Stack, token: &str) -> Vec<String> {
    desk_chats(stack, token).await["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversationId"].as_str().unwrap().to_owned())
        .collect()
}

/// Automatic chat distribution (CHAT-2) end to end: the admin switches it on; chats handed off
/// to a queue go to its best member by skill under the chat limit, a chat nobody can take waits,
/// an agent who becomes ready gets it (cti-ingest → routing worker → chat-distributor), and an
/// agent who ends a chat gets the next waiting one. Changes the global chat settings, so
/// `scripts/test.sh` runs it alone, after the other stack tests; it puts the defaults back.
#[tokio::test]
#[ignore = "changes the global chat settings: run alone by scripts/test.sh"]
async fn when_chats_are_distributed_automatically_should_each_go_to_the_best_free_member() {
    let Automatic {
        stack,
        admin,
        bot,
        expert,
        colleague,
        desk: mut expert_desk,
    } = Automatic::start(2).await;

    // Who of the two holds the chat (as their desks list it).
    let holder_of = |id: String| {
        let stack = &stack;
        let agents = [("agent09", expert.clone()), ("agent10", colleague.clone())];
        async move {
            for (username, token) in &agents {
                if held(stack, token).await.contains(&id) {
                    return Some((*username).to_owned());
                }
            }
            None
        }
    };

    // Two chats: both to agent09 (the higher skill, under the limit); the desk hears of each.
    let first = hand_off(&stack, &bot, "auto-1").await;
    next_push(&mut expert_desk, |m| {
        m["type"] == "chat"
            && m["conversationId"] == json!(first)
            && m["status"] == "assigned"
            && m["agent"] == "agent09"
    })
    .await;
    let second = hand_off(&stack, &bot, "auto-2").await;
    let third = hand_off(&stack, &bot, "auto-3").await;
    system_tests::eventually("two chats at agent09", WAIT, || async {
        let mine = held(&stack, &expert).await;
        (mine.contains(&first) && mine.contains(&second)).then_some(())
    })
    .await;
    // The third waits: agent09 is at the limit and agent10 on a break.
    let list = desk_chats(&stack, &colleague).await;
    assert!(
        list["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["conversationId"] == json!(third)),
        "{list}"
    );
    // agent10 becomes ready: the waiting chat is theirs.
    presence(&stack, &colleague, "ready").await;
    let holder =
        system_tests::eventually("the third chat given", WAIT, || holder_of(third.clone())).await;
    assert_eq!(holder, "agent10");
    // agent10 takes one more; the fifth waits for a free slot.
    let fourth = hand_off(&stack, &bot, "auto-4").await;
    let holder =
        system_tests::eventually("the fourth chat given", WAIT, || holder_of(fourth.clone())).await;
    assert_eq!(holder, "agent10");
    let fifth = hand_off(&stack, &bot, "auto-5").await;
    assert_eq!(holder_of(fifth.clone()).await, None);
    // agent09 ends a chat: the fifth is theirs.
    let (status, _) = call(
        &stack,
        Method::POST,
        &format!("/api/desk/chats/{first}/end"),
        Some(&expert),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let holder =
        system_tests::eventually("the fifth chat given", WAIT, || holder_of(fifth.clone())).await;
    assert_eq!(holder, "agent09");

    back_to_defaults(&stack, &admin, &[&expert, &colleague]).await;
}

/// Automatic distribution switched on for queue `chat-test-auto` ([`automatic_distribution_to`])
/// with `limit` chats per agent: agent09 ready, agent10 on a break, agent09's desk open.
struct Automatic {
    stack: Stack,
    admin: String,
    bot: String,
    /// agent09 (skill 8).
    expert: String,
    /// agent10 (skill 5).
    colleague: String,
    /// agent09's WebSocket.
    desk: Socket,
}

impl Automatic {
    async fn start(limit: u8) -> Self {
        let stack = Stack::from_env();
        let admin = stack.token("admin").await;
        let bot = stack.client_token("chatbot").await;
        let expert = stack.token("agent09").await;
        let colleague = stack.token("agent10").await;
        automatic_distribution_to(&stack, &admin, &expert, &colleague, limit).await;
        presence(&stack, &colleague, "notReady").await;
        let (desk, _) = tokio_tungstenite::connect_async(stack.ws_url(&expert))
            .await
            .unwrap();
        Self {
            stack,
            admin,
            bot,
            expert,
            colleague,
            desk,
        }
    }
}

/// Queue `chat-test-auto` (open all day; agent09 skill 8, agent10 skill 5), nothing held by the
/// two agents, both ready, and automatic distribution on with `limit` chats per agent.
async fn automatic_distribution_to(
    stack: &Stack,
    admin: &str,
    expert: &str,
    colleague: &str,
    limit: u8,
) {
    let all_day = json!([{"start": "00:00", "end": "00:00"}]);
    let queue = json!({
        "queueId": "chat-test-auto", "name": "Chat (test, automaticky)", "priority": 1,
        "schedule": {"timezone": "Europe/Prague",
            "weekly": {"monday": all_day, "tuesday": all_day, "wednesday": all_day,
                "thursday": all_day, "friday": all_day, "saturday": all_day, "sunday": all_day},
            "closedOnPublicHolidays": false}
    });
    let (mut status, mut body) = call(
        stack,
        Method::PUT,
        "/api/admin/queues/chat-test-auto",
        Some(admin),
        Some(&queue),
    )
    .await;
    if status == 404 {
        (status, body) = call(
            stack,
            Method::POST,
            "/api/admin/queues",
            Some(admin),
            Some(&queue),
        )
        .await;
    }
    assert!(status == 200 || status == 201, "{status} {body}");
    for (username, skill) in [("agent09", 8), ("agent10", 5)] {
        let (status, body) = call(
            stack,
            Method::PUT,
            &format!("/api/admin/queues/chat-test-auto/members/{username}"),
            Some(admin),
            Some(&json!({"skillLevel": skill, "priority": 5})),
        )
        .await;
        assert!(status == 200 || status == 201, "{status} {body}");
    }
    for token in [expert, colleague] {
        end_held(stack, token).await;
        presence(stack, token, "ready").await;
    }
    let (status, body) = call(
        stack,
        Method::PUT,
        "/api/admin/settings/chat",
        Some(admin),
        Some(&json!({"distribution": "automatic", "chatsPerAgent": limit})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// Ends every chat the agent of `token` holds.
async fn end_held(stack: &Stack, token: &str) {
    for id in held(stack, token).await {
        let path = format!("/api/desk/chats/{id}/end");
        call(stack, Method::POST, &path, Some(token), None).await;
    }
}

/// The chat settings' defaults again (agents take chats), the agents' chats ended, on a break.
async fn back_to_defaults(stack: &Stack, admin: &str, agents: &[&str]) {
    let (status, _) = call(
        stack,
        Method::PUT,
        "/api/admin/settings/chat",
        Some(admin),
        Some(&json!({})),
    )
    .await;
    assert_eq!(status, 200);
    for token in agents {
        end_held(stack, token).await;
        presence(stack, token, "notReady").await;
    }
}

/// A bot conversation handed off to `chat-test-auto`: its id.
async fn hand_off(stack: &Stack, bot: &str, name: &str) -> String {
    let (status, started) = call(
        stack,
        Method::POST,
        "/api/chat/conversations",
        Some(bot),
        Some(&json!({"clientToken": unique(name), "initialMessage": "Dobrý den"})),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let id = started["conversationId"].as_str().unwrap().to_owned();
    let (status, body) = call(
        stack,
        Method::POST,
        &format!("/api/chat/conversations/{id}/handoff"),
        Some(bot),
        Some(&json!({"queueId": "chat-test-auto"})),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    id
}

/// Handoff → the chat given to an agent automatically (the `chat` push with status `assigned` at
/// their desk): `LINKA_BENCH_CHATS` chats (default 30) one at a time, each ended once given.
///
/// `LINKA_BASE_URL=… cargo test -p system-tests --features stack --test chat -- --ignored --nocapture chat_distribution_latency`
#[tokio::test]
#[ignore = "a benchmark that switches the global chat settings: run by hand, results in docs/benchmarks.md"]
async fn chat_distribution_latency() {
    let chats: usize = std::env::var("LINKA_BENCH_CHATS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let Automatic {
        stack,
        admin,
        bot,
        expert,
        colleague,
        mut desk,
    } = Automatic::start(10).await;
    let mut samples = Vec::new();
    for n in 0..chats {
        let started = std::time::Instant::now();
        let id = hand_off(&stack, &bot, &format!("bench-auto-{n}")).await;
        next_push(&mut desk, |m| {
            m["type"] == "chat" && m["conversationId"] == json!(id) && m["status"] == "assigned"
        })
        .await;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        call(
            &stack,
            Method::POST,
            &format!("/api/desk/chats/{id}/end"),
            Some(&expert),
            None,
        )
        .await;
    }
    back_to_defaults(&stack, &admin, &[&expert, &colleague]).await;
    samples.sort_by(f64::total_cmp);
    println!(
        "handoff (start + handoff calls) → assigned push, {} chats: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.95),
        samples.last().copied().unwrap_or_default()
    );
}
