use std::sync::Mutex;

use async_trait::async_trait;
use linka_shared::{
    adapters::InMemoryConversationStore,
    chat::{
        channels::parse_mail, ChatChannel, ChatCustomer, Conversation, ConversationStatus, Sender,
    },
    ports::{ChatWrite, ConversationStore, Versioned},
};

use super::*;

/// Records what it sends; refuses or fails when told.
#[derive(Default)]
struct Provider {
    sent: Mutex<Vec<(String, Vec<u8>)>>,
    refuse: bool,
    fail: bool,
}

impl Provider {
    fn result(&self, to: &str, body: Vec<u8>) -> Result<String, SendError> {
        if self.refuse {
            return Err(SendError::Refused("invalid destination".into()));
        }
        if self.fail {
            return Err(SendError::Transient("throttled".into()));
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push((to.to_owned(), body));
        Ok(format!("provider-{}", sent.len()))
    }
}

#[async_trait]
impl SmsSender for Provider {
    async fn send_sms(&self, to: &str, text: &str) -> Result<String, SendError> {
        self.result(to, text.as_bytes().to_vec())
    }
}

#[async_trait]
impl MailSender for Provider {
    async fn send_mail(&self, to: &str, raw: &[u8]) -> Result<String, SendError> {
        self.result(to, raw.to_vec())
    }
}

#[async_trait]
impl SocialSender for Provider {
    async fn send_social(&self, page: &str, user: &str, text: &str) -> Result<String, SendError> {
        self.result(&format!("{page}/{user}"), text.as_bytes().to_vec())
    }
}

fn deps(store: &InMemoryConversationStore, provider: Arc<Provider>) -> OutboundDeps {
    OutboundDeps {
        store: Arc::new(store.clone()),
        sms: Some(provider.clone()),
        mail: Some((
            provider.clone(),
            MailFrom {
                address: "podpora@linka.example".into(),
                name: "Linka".into(),
            },
        )),
        social: Some(provider),
    }
}

async fn stored_conversation(store: &InMemoryConversationStore, channel: ChatChannel) {
    let conversation = Conversation::open_channel(
        "c1",
        channel,
        ChatCustomer {
            phone: Some("+420601234567".into()),
            email: Some("jana@example.cz".into()),
            name: None,
        },
        "agent01",
        "t-1",
        Some("agent01"),
        Utc::now(),
    );
    store
        .save(&ChatWrite {
            conversation: Versioned {
                value: conversation,
                version: 0,
            },
            messages: Vec::new(),
            alias: None,
            load: None,
        })
        .await
        .unwrap();
}

fn sms() -> OutboundMessage {
    OutboundMessage::Sms {
        conversation_id: "c1".into(),
        seq: 1,
        to: "+420601234567".into(),
        text: "Karta je na cestě.".into(),
    }
}

#[tokio::test]
async fn when_an_sms_is_delivered_twice_should_send_it_once() {
    let store = InMemoryConversationStore::new();
    let provider = Arc::new(Provider::default());
    let deps = deps(&store, provider.clone());
    assert_eq!(
        deliver(&deps, &sms(), Utc::now()).await.unwrap(),
        Outcome::Sent("provider-1".into())
    );
    assert_eq!(
        deliver(&deps, &sms(), Utc::now()).await.unwrap(),
        Outcome::AlreadySent("provider-1".into())
    );
    assert_eq!(provider.sent.lock().unwrap().len(), 1);
    assert_eq!(
        store.sent_id("c1", 1).await.unwrap().as_deref(),
        Some("provider-1")
    );
}

#[tokio::test]
async fn when_an_email_is_sent_should_build_mime_and_link_its_id_to_the_conversation() {
    let store = InMemoryConversationStore::new();
    stored_conversation(&store, ChatChannel::Email).await;
    let provider = Arc::new(Provider::default());
    let deps = deps(&store, provider.clone());
    let message = OutboundMessage::Email {
        conversation_id: "c1".into(),
        seq: 1,
        to: "jana@example.cz".into(),
        to_name: Some("Jana Dvořáková".into()),
        subject: "Vaše karta".into(),
        text: "Dobrý den, karta je na cestě.".into(),
        in_reply_to: None,
        references: Vec::new(),
    };
    assert_eq!(
        deliver(&deps, &message, Utc::now()).await.unwrap(),
        Outcome::Sent("provider-1".into())
    );
    let (to, raw) = provider.sent.lock().unwrap()[0].clone();
    assert_eq!(to, "jana@example.cz");
    let parsed = parse_mail(&raw).unwrap();
    assert_eq!(parsed.subject.as_deref(), Some("Vaše karta"));
    assert_eq!(parsed.text, "Dobrý den, karta je na cestě.");
    let linked = store.by_alias("mailid:provider-1").await.unwrap().unwrap();
    assert_eq!(linked.value.conversation_id, "c1");
}

#[tokio::test]
async fn when_the_provider_refuses_should_note_it_in_the_transcript_and_not_retry() {
    let store = InMemoryConversationStore::new();
    stored_conversation(&store, ChatChannel::Sms).await;
    let provider = Arc::new(Provider {
        refuse: true,
        ..Provider::default()
    });
    let deps = deps(&store, provider);
    let outcome = deliver(&deps, &sms(), Utc::now()).await.unwrap();
    assert!(matches!(outcome, Outcome::Refused(_)), "{outcome:?}");
    let transcript = store.transcript("c1");
    assert_eq!(transcript.len(), 1);
    assert_eq!(transcript[0].from, Sender::System);
    assert!(
        transcript[0].text.contains("nepodařilo odeslat"),
        "{}",
        transcript[0].text
    );
    let conversation = store.get("c1").await.unwrap().unwrap().value;
    assert_eq!(conversation.status, ConversationStatus::Assigned);
}

#[tokio::test]
async fn when_the_provider_fails_for_now_should_report_the_record_for_retry() {
    let store = InMemoryConversationStore::new();
    let provider = Arc::new(Provider {
        fail: true,
        ..Provider::default()
    });
    let deps = deps(&store, provider);
    let event = LambdaEvent::new(
        serde_json::from_value(serde_json::json!({"Records": [
            {"messageId": "m-1", "body": serde_json::to_string(&sms()).unwrap()},
            {"messageId": "m-2", "body": "not json"}
        ]}))
        .unwrap(),
        lambda_runtime::Context::default(),
    );
    let response = function_handler(&deps, event).await.unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec!["m-1"]);
    assert_eq!(store.sent_id("c1", 1).await.unwrap(), None);
}

#[tokio::test]
async fn when_a_channel_has_no_sender_should_refuse_its_messages() {
    let store = InMemoryConversationStore::new();
    let deps = OutboundDeps {
        store: Arc::new(store.clone()),
        sms: None,
        mail: None,
        social: None,
    };
    let outcome = deliver(&deps, &sms(), Utc::now()).await.unwrap();
    assert!(matches!(outcome, Outcome::Refused(reason) if reason.contains("no SMS sender")));
}
