use std::sync::Arc;

use linka_shared::{
    chat::{channels::sign_messenger, ChatChannel, ConversationStatus},
    ports::ConversationStore,
};
use serde_json::json;

use super::*;
use crate::test_support::{chat, parts, raw_request, Chat};

const SECRET: &[u8] = b"messenger-app-secret";

fn deps(chat: &Chat) -> SocialDeps {
    SocialDeps {
        inbound: InboundDeps {
            store: Arc::new(chat.store.clone()),
            effects: chat.effects.clone(),
            queue_id: "chat".into(),
        },
        messenger: Some(MessengerSecrets {
            app_secret: SECRET.to_vec(),
            verify_token: "verify-me".into(),
        }),
    }
}

fn call(method: &str, path: &str, body: Option<&str>, signature: Option<String>) -> Request {
    let headers: Vec<(&str, String)> = signature
        .map(|signature| ("x-hub-signature-256", signature))
        .into_iter()
        .collect();
    raw_request(method, path, &headers, body)
}

fn page_event(mid: &str, text: &str) -> String {
    json!({"object": "page", "entry": [{"id": "PAGE1", "time": 1_764_322_200_000_i64, "messaging": [
        {"sender": {"id": "PSID7"}, "recipient": {"id": "PAGE1"}, "timestamp": 1_764_322_200_000_i64,
         "message": {"mid": mid, "text": text}}
    ]}]})
    .to_string()
}

#[tokio::test]
async fn when_messenger_checks_the_subscription_should_echo_the_challenge_for_our_token_only() {
    let chat = chat().await;
    let deps = deps(&chat);
    let ok = handle(
        &deps,
        call(
            "GET",
            "/api/chat/social/messenger?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
            None,
            None,
        ),
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.body(), &Body::Text("1158201444".into()));
    let (status, body) = parts(
        handle(
            &deps,
            call(
                "GET",
                "/api/chat/social/messenger?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
                None,
                None,
            ),
        )
        .await,
    );
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn when_a_signed_message_arrives_should_queue_a_social_conversation_once() {
    let chat = chat().await;
    let deps = deps(&chat);
    let body = page_event("m_1", "Dobrý den, jak změním pojišťovnu?");
    let signature = sign_messenger(SECRET, body.as_bytes());
    for _ in 0..2 {
        let (status, answer) = parts(
            handle(
                &deps,
                call(
                    "POST",
                    "/api/chat/social/messenger",
                    Some(&body),
                    Some(signature.clone()),
                ),
            )
            .await,
        );
        assert_eq!(status, 200, "{answer}");
    }
    let waiting = chat.store.queued("chat").await.unwrap();
    assert_eq!(waiting.len(), 1);
    let conversation = &waiting[0].value;
    assert_eq!(conversation.channel, ChatChannel::Social);
    assert_eq!(conversation.status, ConversationStatus::Queued);
    let social = conversation.social.clone().unwrap();
    assert_eq!(
        (social.page_id.as_str(), social.user_id.as_str()),
        ("PAGE1", "PSID7")
    );
    assert_eq!(
        chat.store.transcript(&conversation.conversation_id).len(),
        1
    );
}

#[tokio::test]
async fn when_the_signature_is_wrong_or_missing_should_refuse_and_store_nothing() {
    let chat = chat().await;
    let deps = deps(&chat);
    let body = page_event("m_1", "Ahoj");
    for signature in [None, Some(sign_messenger(b"other-secret", body.as_bytes()))] {
        let (status, answer) = parts(
            handle(
                &deps,
                call("POST", "/api/chat/social/messenger", Some(&body), signature),
            )
            .await,
        );
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["code"], "invalid-signature");
    }
    assert!(chat.store.queued("chat").await.unwrap().is_empty());
}

#[tokio::test]
async fn when_the_channel_is_not_configured_should_answer_503() {
    let chat = chat().await;
    let mut deps = deps(&chat);
    deps.messenger = None;
    let (status, _) = parts(
        handle(
            &deps,
            call("POST", "/api/chat/social/messenger", Some("{}"), None),
        )
        .await,
    );
    assert_eq!(status, 503);
}
