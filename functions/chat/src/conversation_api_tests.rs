use linka_shared::{
    adapters::InMemoryConversationStore,
    chat::Sender,
    testing::{StaticJwks, TestIssuer},
};
use serde_json::{json, Value};

use super::*;
use crate::test_support::{bot, chat, parts, request};

async fn deps() -> (ConversationDeps<StaticJwks>, InMemoryConversationStore) {
    let chat = chat().await;
    (chat.conversations, chat.store)
}

async fn call(
    deps: &ConversationDeps<StaticJwks>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    parts(handle(deps, request(method, path, token, body)).await)
}

/// A widget visitor's conversation: (id, participant token).
async fn visitor_start(
    deps: &ConversationDeps<StaticJwks>,
    client_token: &str,
) -> (String, String) {
    let (status, body) = call(
        deps,
        "POST",
        "/api/chat/conversations",
        None,
        Some(json!({"clientToken": client_token, "customer": {"name": "Jana"}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (
        body["conversationId"].as_str().unwrap().to_owned(),
        body["participantToken"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn when_a_bot_starts_twice_with_one_client_token_should_get_one_conversation() {
    let (deps, store) = deps().await;
    let start = json!({"clientToken": "bot-42", "initialMessage": "Dobrý den",
                       "customer": {"phone": "777 000 111"}});
    let (status, first) = call(
        &deps,
        "POST",
        "/api/chat/conversations",
        Some(&bot()),
        Some(start.clone()),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "bot");
    let (status, again) = call(
        &deps,
        "POST",
        "/api/chat/conversations",
        Some(&bot()),
        Some(start),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(again["conversationId"], first["conversationId"]);
    let id = first["conversationId"].as_str().unwrap();
    assert_eq!(
        store.transcript(id).len(),
        1,
        "the initial message is stored once"
    );
    let conversation = store.get(id).await.unwrap().unwrap().value;
    assert_eq!(conversation.started_by.as_deref(), Some("chatbot"));
    assert_eq!(
        conversation.customer.phone.as_deref(),
        Some("+420777000111")
    );
}

#[tokio::test]
async fn when_a_visitor_and_a_bot_use_the_same_client_token_should_get_separate_conversations() {
    let (deps, _) = deps().await;
    let (visitor, _) = visitor_start(&deps, "same").await;
    let (_, bot_start) = call(
        &deps,
        "POST",
        "/api/chat/conversations",
        Some(&bot()),
        Some(json!({"clientToken": "same"})),
    )
    .await;
    assert_ne!(bot_start["conversationId"], json!(visitor));
}

#[tokio::test]
async fn when_a_message_is_repeated_should_return_the_first_message_id() {
    let (deps, store) = deps().await;
    let (id, token) = visitor_start(&deps, "w-1").await;
    let path = format!("/api/chat/conversations/{id}/messages");
    let message = json!({"text": "Potřebuji nový průkaz", "clientMessageId": "m-1"});
    let (status, first) = call(&deps, "POST", &path, Some(&token), Some(message.clone())).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = call(&deps, "POST", &path, Some(&token), Some(message)).await;
    assert_eq!(status, 201);
    assert_eq!(again["messageId"], first["messageId"]);
    assert_eq!(again["seq"], first["seq"]);
    assert_eq!(store.transcript(&id).len(), 1);
}

#[tokio::test]
async fn when_messages_are_posted_concurrently_should_get_distinct_gapless_sequence_numbers() {
    let (deps, store) = deps().await;
    let (id, token) = visitor_start(&deps, "w-2").await;
    let path = format!("/api/chat/conversations/{id}/messages");
    let posts = (0..16).map(|n| {
        let (deps, path, token) = (&deps, &path, &token);
        async move {
            call(
                deps,
                "POST",
                path,
                Some(token),
                Some(json!({"text": format!("zpráva {n}"), "clientMessageId": format!("m-{n}")})),
            )
            .await
        }
    });
    let results = futures_util::future::join_all(posts).await;
    assert!(
        results.iter().all(|(status, _)| *status == 201),
        "{results:?}"
    );
    let mut seqs: Vec<u64> = results
        .iter()
        .map(|(_, body)| body["seq"].as_u64().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=16).collect::<Vec<u64>>());
    let transcript = store.transcript(&id);
    assert_eq!(transcript.len(), 16);
}

#[tokio::test]
async fn when_a_transcript_is_read_in_pages_should_return_every_message_once_in_order() {
    let (deps, _) = deps().await;
    let (id, token) = visitor_start(&deps, "w-3").await;
    for n in 0..5 {
        let (status, _) = call(
            &deps,
            "POST",
            &format!("/api/chat/conversations/{id}/messages"),
            Some(&token),
            Some(json!({"text": format!("text {n}"), "clientMessageId": format!("k{n}")})),
        )
        .await;
        assert_eq!(status, 201);
    }
    let mut texts = Vec::new();
    let mut after = "0".to_owned();
    loop {
        let (status, page) = call(
            &deps,
            "GET",
            &format!("/api/chat/conversations/{id}/messages?after={after}&limit=2"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        texts.extend(
            page["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["text"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(texts, ["text 0", "text 1", "text 2", "text 3", "text 4"]);
    let (status, problem) = call(
        &deps,
        "GET",
        &format!("/api/chat/conversations/{id}/messages?after=x"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("invalid-parameter"))
    );
}

#[tokio::test]
async fn when_a_participant_token_is_used_on_another_conversation_should_refuse_it() {
    let (deps, _) = deps().await;
    let (first, first_token) = visitor_start(&deps, "w-4").await;
    let (second, _) = visitor_start(&deps, "w-5").await;
    let (status, problem) = call(
        &deps,
        "GET",
        &format!("/api/chat/conversations/{second}/messages"),
        Some(&first_token),
        None,
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("conversation-not-yours"))
    );
    let (status, _) = call(
        &deps,
        "POST",
        &format!("/api/chat/conversations/{second}/messages"),
        Some(&first_token),
        Some(json!({"text": "ahoj", "clientMessageId": "x"})),
    )
    .await;
    assert_eq!(status, 403);
    // Without a token nothing but a start; a bot reads only what it started.
    let (status, _) = call(
        &deps,
        "GET",
        &format!("/api/chat/conversations/{first}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = call(
        &deps,
        "GET",
        &format!("/api/chat/conversations/{first}"),
        Some(&bot()),
        None,
    )
    .await;
    assert_eq!(status, 403);
    // An agent's token is not a bot's.
    let agent = TestIssuer::primary().token_for("agent01", &["agent"]);
    let (status, _) = call(
        &deps,
        "POST",
        "/api/chat/conversations",
        Some(&agent),
        Some(json!({"clientToken": "a"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &deps,
        "GET",
        &format!("/api/chat/conversations/{first}"),
        Some("garbage.token.here"),
        None,
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn when_a_visitor_posts_as_the_bot_or_bad_text_should_get_a_clear_problem() {
    let (deps, _) = deps().await;
    let (id, token) = visitor_start(&deps, "w-6").await;
    let path = format!("/api/chat/conversations/{id}/messages");
    let (status, problem) = call(
        &deps,
        "POST",
        &path,
        Some(&token),
        Some(json!({"text": "x", "clientMessageId": "b", "from": "bot"})),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("bot-only")));
    let (status, problem) = call(
        &deps,
        "POST",
        &path,
        Some(&token),
        Some(json!({"text": "  ", "clientMessageId": "c"})),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("text"))
    );
    let long = "a".repeat(4001);
    let (status, _) = call(
        &deps,
        "POST",
        &path,
        Some(&token),
        Some(json!({"text": long, "clientMessageId": "d"})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, problem) = call(
        &deps,
        "POST",
        &path,
        Some(&token),
        Some(json!({"text": "x", "clientMessageId": "e", "from": "agent"})),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("from"))
    );
    let (status, _) = call(
        &deps,
        "POST",
        "/api/chat/conversations/nope/messages",
        Some(&bot()),
        Some(json!({"text": "x", "clientMessageId": "f"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, problem) = call(
        &deps,
        "POST",
        "/api/chat/conversations",
        None,
        Some(json!({"clientToken": "w-7", "webhookUrl": "https://example.cz/h"})),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("webhookUrl"))
    );
}

#[tokio::test]
async fn when_handed_off_in_hours_should_queue_and_out_of_hours_should_say_when_it_opens() {
    let (deps, store) = deps().await;
    let (status, started) = call(
        &deps,
        "POST",
        "/api/chat/conversations",
        Some(&bot()),
        Some(json!({"clientToken": "h-1"})),
    )
    .await;
    assert_eq!(status, 201);
    let id = started["conversationId"].as_str().unwrap();
    let handoff = format!("/api/chat/conversations/{id}/handoff");
    let (status, problem) = call(
        &deps,
        "POST",
        &handoff,
        Some(&bot()),
        Some(json!({"queueId": "closed"})),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("chat-closed"))
    );
    assert!(problem.get("nextOpening").is_some(), "{problem}");
    let (status, problem) = call(
        &deps,
        "POST",
        &handoff,
        Some(&bot()),
        Some(json!({"queueId": "nope"})),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("queueId"))
    );
    let (status, body) = call(&deps, "POST", &handoff, Some(&bot()), None).await;
    assert_eq!(
        (status, &body),
        (
            202,
            &json!({"status": "queued", "queueId": "chat", "leftMessage": false})
        )
    );
    // Again: nothing changes, no second system message.
    let (status, _) = call(&deps, "POST", &handoff, Some(&bot()), None).await;
    assert_eq!(status, 202);
    let transcript = store.transcript(id);
    assert_eq!(transcript.len(), 1);
    assert_eq!(transcript[0].from, Sender::System);
    assert_eq!(store.queued("chat").await.unwrap().len(), 1);
}

#[tokio::test]
async fn when_ended_should_refuse_messages_and_ending_again_should_change_nothing() {
    let (deps, store) = deps().await;
    let (id, token) = visitor_start(&deps, "e-1").await;
    let end = format!("/api/chat/conversations/{id}/end");
    let (status, body) = call(&deps, "POST", &end, Some(&token), None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ended")));
    let (status, _) = call(&deps, "POST", &end, Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(store.transcript(&id).len(), 1);
    let (status, problem) = call(
        &deps,
        "POST",
        &format!("/api/chat/conversations/{id}/messages"),
        Some(&token),
        Some(json!({"text": "haló", "clientMessageId": "late"})),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("conversation-ended"))
    );
    let (status, problem) = call(
        &deps,
        "POST",
        &format!("/api/chat/conversations/{id}/handoff"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("conversation-ended"))
    );
}

#[tokio::test]
async fn when_a_method_or_path_is_unknown_should_answer_405_or_404() {
    let (deps, _) = deps().await;
    let response = handle(
        &deps,
        request("DELETE", "/api/chat/conversations/x/messages", None, None),
    )
    .await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, POST");
    let (status, _) = call(&deps, "POST", "/api/chat/conversations/x/other", None, None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn when_the_body_is_an_array_should_answer_400() {
    let (deps, _) = deps().await;
    let response = handle(
        &deps,
        request(
            "POST",
            "/api/chat/conversations",
            None,
            Some(json!(["t", null])),
        ),
    )
    .await;
    let (status, problem) = parts(response);
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("invalid-body"))
    );
}

const POST_CONVERSATION: &str =
    include_str!("../../../events/apigw-http/post-chat-conversation.json");

#[tokio::test]
async fn when_the_sample_widget_start_arrives_should_open_a_conversation_with_its_first_message() {
    let (deps, store) = deps().await;
    let request = lambda_http::request::from_str(POST_CONVERSATION).unwrap();
    let (status, started) = parts(handle(&deps, request).await);
    assert_eq!(
        (status, started["status"].as_str()),
        (201, Some("bot")),
        "{started}"
    );
    let id = started["conversationId"].as_str().unwrap();
    let transcript = store.transcript(id);
    assert_eq!(
        transcript[0].text,
        "Dobrý den, potřebuji nový průkaz pojištěnce."
    );
    assert!(deps
        .tokens
        .verify(started["participantToken"].as_str().unwrap())
        .is_ok());
}

#[tokio::test]
async fn when_a_visitor_leaves_a_message_out_of_hours_should_wait_in_the_queue() {
    let (deps, store) = deps().await;
    let (id, token) = visitor_start(&deps, "off-1").await;
    let (status, body) = call(
        &deps,
        "POST",
        &format!("/api/chat/conversations/{id}/handoff"),
        Some(&token),
        Some(json!({"queueId": "closed", "leaveMessage": true})),
    )
    .await;
    assert_eq!(
        (status, &body),
        (
            202,
            &json!({"status": "queued", "queueId": "closed", "leftMessage": true})
        )
    );
    assert_eq!(store.queued("closed").await.unwrap().len(), 1);
}
