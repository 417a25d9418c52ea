use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use linka_shared::{
    chat::{
        channels::{mail_id_key, OutboundMessage},
        ConversationStatus, Sender,
    },
    ports::{ConversationStore, MailObjects, StoreError},
    realtime::PushMessage,
};
use serde_json::json;

use super::*;
use crate::{
    channels_inbound::InboundDeps,
    test_support::{chat, parts, person, request, Chat},
};

/// S3 in memory: received mail by (bucket, key), attachments by key.
#[derive(Default)]
struct Objects {
    mail: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    attachments: Mutex<BTreeMap<String, (String, Vec<u8>)>>,
}

#[async_trait]
impl MailObjects for Objects {
    async fn raw_mail(&self, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
        self.mail
            .lock()
            .unwrap()
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .ok_or_else(|| StoreError::Backend {
                operation: "read a received e-mail",
                source: "NoSuchKey".into(),
            })
    }

    async fn put_attachment(
        &self,
        key: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.attachments
            .lock()
            .unwrap()
            .insert(key.to_owned(), (content_type.to_owned(), bytes));
        Ok(())
    }

    async fn attachment_url(
        &self,
        key: &str,
        _file_name: &str,
        _expires: std::time::Duration,
    ) -> Result<String, StoreError> {
        Ok(format!("https://s3.example/{key}?signed"))
    }
}

fn worker(chat: &Chat, objects: Arc<Objects>) -> InboundWorkerDeps {
    InboundWorkerDeps {
        inbound: InboundDeps {
            store: Arc::new(chat.store.clone()),
            effects: chat.effects.clone(),
            queue_id: "chat".into(),
        },
        mail: objects,
    }
}

fn sns(message: &serde_json::Value) -> String {
    json!({
        "Type": "Notification", "MessageId": "sns-1",
        "TopicArn": "arn:aws:sns:eu-central-1:123456789012:linka-InboundSmsTopic",
        "Message": message.to_string(), "Timestamp": "2026-11-28T09:00:00.000Z"
    })
    .to_string()
}

fn sms(id: &str, from: &str, text: &str) -> String {
    sns(&json!({
        "originationNumber": from, "destinationNumber": "+420800123456",
        "messageBody": text, "inboundMessageId": id
    }))
}

fn receipt(ses_id: &str) -> String {
    sns(&json!({
        "notificationType": "Received",
        "mail": {"messageId": ses_id, "source": "jana@example.cz"},
        "receipt": {"action": {"type": "S3", "bucketName": "inbound", "objectKey": format!("mail/{ses_id}")}}
    }))
}

fn mail(message_id: &str, in_reply_to: Option<&str>, body: &str) -> Vec<u8> {
    let reply = in_reply_to
        .map(|id| format!("In-Reply-To: <{id}>\r\nReferences: <{id}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: Jana Dvořáková <jana@example.cz>\r\nTo: podpora@linka.example\r\nSubject: Karta\r\nMessage-ID: <{message_id}>\r\n{reply}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"foto.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n"
    )
    .into_bytes()
}

/// The stored conversation.
async fn stored(chat: &Chat, id: &str) -> linka_shared::chat::Conversation {
    chat.store.get(id).await.unwrap().unwrap().value
}

/// The desk connections told of a new or changed chat.
fn told_of_chats(chat: &Chat) -> Vec<String> {
    chat.pushed
        .posts()
        .into_iter()
        .filter(|(_, m)| matches!(m, PushMessage::Chat { .. }))
        .map(|(id, _)| id)
        .collect()
}

#[tokio::test]
async fn when_an_sms_arrives_should_queue_a_conversation_and_tell_the_queues_agents() {
    let chat = chat().await;
    let deps = worker(&chat, Arc::default());
    let accepted = handle_record(
        &deps,
        &sms("in-1", "+420601234567", "Kdy přijde karta?"),
        Utc::now(),
    )
    .await
    .unwrap();
    let Accepted::Stored {
        conversation_id,
        new: true,
    } = accepted
    else {
        panic!("{accepted:?}");
    };
    let conversation = stored(&chat, &conversation_id).await;
    assert_eq!(conversation.channel, ChatChannel::Sms);
    assert_eq!(conversation.status, ConversationStatus::Queued);
    assert_eq!(conversation.queue_id.as_deref(), Some("chat"));
    assert_eq!(
        conversation.customer.phone.as_deref(),
        Some("+420601234567")
    );
    let transcript = chat.store.transcript(&conversation_id);
    assert_eq!(transcript.len(), 1);
    assert_eq!(transcript[0].from, Sender::Customer);
    assert_eq!(transcript[0].text, "Kdy přijde karta?");
    let told = told_of_chats(&chat);
    assert!(
        told.contains(&"tab-1".to_owned()) && told.contains(&"tab-2".to_owned()),
        "{told:?}"
    );
}

#[tokio::test]
async fn when_the_chat_settings_name_a_queue_for_sms_should_the_sms_wait_there() {
    let chat = chat().await;
    chat.set_settings(json!({"smsQueueId": "other"})).await;
    let deps = worker(&chat, Arc::default());
    let Accepted::Stored {
        conversation_id, ..
    } = handle_record(
        &deps,
        &sms("in-9", "+420601234599", "Dobrý den"),
        Utc::now(),
    )
    .await
    .unwrap()
    else {
        panic!("not stored");
    };
    assert_eq!(
        stored(&chat, &conversation_id).await.queue_id.as_deref(),
        Some("other")
    );
    // Only the SMS queue's agent hears of it.
    let told = told_of_chats(&chat);
    assert!(told.contains(&"tab-3".to_owned()), "{told:?}");
    assert!(!told.contains(&"tab-1".to_owned()), "{told:?}");
}

#[tokio::test]
async fn when_the_same_number_writes_again_should_join_its_open_conversation_and_ignore_redeliveries(
) {
    let chat = chat().await;
    let deps = worker(&chat, Arc::default());
    let first = handle_record(&deps, &sms("in-1", "+420 601 234 567", "První"), Utc::now())
        .await
        .unwrap();
    let second = handle_record(&deps, &sms("in-2", "601234567", "Druhá"), Utc::now())
        .await
        .unwrap();
    let again = handle_record(&deps, &sms("in-2", "601234567", "Druhá"), Utc::now())
        .await
        .unwrap();
    let Accepted::Stored {
        conversation_id, ..
    } = first
    else {
        panic!()
    };
    assert_eq!(
        second,
        Accepted::Stored {
            conversation_id: conversation_id.clone(),
            new: false
        }
    );
    assert_eq!(
        again,
        Accepted::Duplicate {
            conversation_id: conversation_id.clone()
        }
    );
    let texts: Vec<String> = chat
        .store
        .transcript(&conversation_id)
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, vec!["První", "Druhá"]);
}

#[tokio::test]
async fn when_the_conversation_ended_should_a_new_sms_start_another() {
    let chat = chat().await;
    let deps = worker(&chat, Arc::default());
    let Accepted::Stored {
        conversation_id: first,
        ..
    } = handle_record(&deps, &sms("in-1", "+420601234567", "První"), Utc::now())
        .await
        .unwrap()
    else {
        panic!()
    };
    let (status, _) = parts(
        crate::desk_chats::handle(
            &chat.desk,
            request(
                "POST",
                &format!("/api/desk/chats/{first}/accept"),
                Some(&person("agent01", "agent")),
                None,
            ),
        )
        .await,
    );
    assert_eq!(status, 200);
    let (status, _) = parts(
        crate::desk_chats::handle(
            &chat.desk,
            request(
                "POST",
                &format!("/api/desk/chats/{first}/end"),
                Some(&person("agent01", "agent")),
                None,
            ),
        )
        .await,
    );
    assert_eq!(status, 200);
    let Accepted::Stored {
        conversation_id: second,
        new,
    } = handle_record(&deps, &sms("in-2", "+420601234567", "Zase já"), Utc::now())
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(new);
    assert_ne!(first, second);
}

#[tokio::test]
async fn when_an_agent_answers_an_sms_should_queue_it_for_sending_to_the_number() {
    let chat = chat().await;
    let deps = worker(&chat, Arc::default());
    let Accepted::Stored {
        conversation_id: id,
        ..
    } = handle_record(&deps, &sms("in-1", "+420601234567", "Dotaz"), Utc::now())
        .await
        .unwrap()
    else {
        panic!()
    };
    let agent = person("agent01", "agent");
    let desk = |method: &'static str, path: String, body: Option<serde_json::Value>| {
        let request = request(method, &path, Some(&agent), body);
        async { parts(crate::desk_chats::handle(&chat.desk, request).await) }
    };
    assert_eq!(
        desk("POST", format!("/api/desk/chats/{id}/accept"), None)
            .await
            .0,
        200
    );
    let (status, body) = desk(
        "POST",
        format!("/api/desk/chats/{id}/messages"),
        Some(json!({"text": "Karta je na cestě.", "clientMessageId": "d-1"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        chat.channel_outbox.taken(),
        vec![OutboundMessage::Sms {
            conversation_id: id.clone(),
            seq: 2,
            to: "+420601234567".into(),
            text: "Karta je na cestě.".into()
        }]
    );
    let (status, body) = desk(
        "POST",
        format!("/api/desk/chats/{id}/messages"),
        Some(json!({"text": "x".repeat(1601), "clientMessageId": "d-2"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn when_an_email_arrives_should_store_its_attachments_and_a_reply_should_join_the_thread() {
    let chat = chat().await;
    let objects = Arc::new(Objects::default());
    objects.mail.lock().unwrap().insert(
        ("inbound".into(), "mail/ses-1".into()),
        mail("first@example.cz", None, "Dobrý den, posílám foto karty."),
    );
    let deps = worker(&chat, objects.clone());
    let Accepted::Stored {
        conversation_id: id,
        new: true,
    } = handle_record(&deps, &receipt("ses-1"), Utc::now())
        .await
        .unwrap()
    else {
        panic!()
    };
    let conversation = chat.store.get(&id).await.unwrap().unwrap().value;
    assert_eq!(conversation.channel, ChatChannel::Email);
    assert_eq!(conversation.subject.as_deref(), Some("Karta"));
    assert_eq!(
        conversation.customer.email.as_deref(),
        Some("jana@example.cz")
    );
    assert_eq!(
        conversation.customer.name.as_deref(),
        Some("Jana Dvořáková")
    );
    let message = &chat.store.transcript(&id)[0];
    assert_eq!(message.text, "Dobrý den, posílám foto karty.");
    assert_eq!(message.attachments.len(), 1);
    assert_eq!(message.attachments[0].name, "foto.png");
    assert_eq!(message.attachments[0].key, "mail/ses-1/1-foto.png");
    assert!(objects
        .attachments
        .lock()
        .unwrap()
        .contains_key("mail/ses-1/1-foto.png"));

    // Linka's answer was sent with SES id "0100-sent"; the customer answers it.
    chat.store.set_alias("mailid:0100-sent", &id).await.unwrap();
    objects.mail.lock().unwrap().insert(
        ("inbound".into(), "mail/ses-2".into()),
        mail(
            "second@example.cz",
            Some("0100-sent@eu-central-1.amazonses.com"),
            "Děkuji.",
        ),
    );
    let second = handle_record(&deps, &receipt("ses-2"), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        second,
        Accepted::Stored {
            conversation_id: id.clone(),
            new: false
        }
    );
    let thread = chat
        .store
        .get(&id)
        .await
        .unwrap()
        .unwrap()
        .value
        .mail_thread
        .unwrap();
    assert_eq!(thread.last_inbound.as_deref(), Some("second@example.cz"));
}

#[tokio::test]
async fn when_a_record_cannot_be_read_should_drop_it_and_when_s3_fails_should_retry_it() {
    let chat = chat().await;
    let deps = worker(&chat, Arc::default());
    let event = |bodies: &[(&str, String)]| {
        let records: Vec<_> = bodies
            .iter()
            .map(|(id, body)| json!({"messageId": id, "body": body}))
            .collect();
        LambdaEvent::new(
            serde_json::from_value(json!({"Records": records})).unwrap(),
            lambda_runtime::Context::default(),
        )
    };
    let response = function_handler(
        &deps,
        event(&[
            ("garbage", "{\"hello\":1}".into()),
            ("missing-mail", receipt("ses-404")),
            ("good", sms("in-1", "+420601234567", "Ahoj")),
        ]),
    )
    .await
    .unwrap();
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, vec!["missing-mail".to_owned()]);
}

fn bounce(ses_id: &str) -> String {
    sns(&json!({
        "eventType": "Bounce",
        "mail": {"messageId": ses_id, "destination": ["jana@example.cz"],
                 "commonHeaders": {"subject": "Re: Karta"}},
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "jana@example.cz",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}
    }))
}

#[tokio::test]
async fn when_a_sent_e_mail_bounces_should_its_conversation_get_one_note_its_agent_sees() {
    // GIVEN an e-mail conversation agent01 holds, whose reply SES sent as "0107-sent"
    let chat = chat().await;
    let deps = worker(&chat, Arc::default());
    let id = crate::test_support::queued_chat(&chat, "bounce-1").await;
    crate::take::take_chat(&chat.store, "agent01", &id, 3, Utc::now())
        .await
        .unwrap();
    chat.store
        .set_alias(&mail_id_key("0107-Sent").unwrap(), &id)
        .await
        .unwrap();
    // WHEN SES reports that it bounced, twice (SNS delivers at least once)
    let first = handle_record(&deps, &bounce("0107-Sent"), Utc::now())
        .await
        .unwrap();
    let again = handle_record(&deps, &bounce("0107-Sent"), Utc::now())
        .await
        .unwrap();
    // THEN the conversation has one note saying so, and agent01's desk got it
    assert_eq!(
        first,
        Accepted::Noted {
            conversation_id: id.clone()
        }
    );
    assert_eq!(
        again,
        Accepted::Duplicate {
            conversation_id: id.clone()
        }
    );
    let messages = chat.store.messages(&id, 0, 100).await.unwrap();
    let notes: Vec<_> = messages
        .iter()
        .filter(|m| m.text.contains("nebyl doručen"))
        .collect();
    assert_eq!(notes.len(), 1, "{messages:?}");
    assert_eq!(notes[0].from, Sender::System);
    assert!(notes[0].text.contains("550 5.1.1 user unknown"));
    assert!(chat.pushed.posts().iter().any(|(connection, message)| {
        connection == "tab-1"
            && matches!(message, PushMessage::ChatMessage { message } if message.text.contains("nebyl doručen"))
    }));
}

#[tokio::test]
async fn when_an_ses_event_needs_nothing_or_names_no_conversation_should_it_be_done_quietly() {
    let chat = chat().await;
    let deps = worker(&chat, Arc::default());
    let delivered = sns(&json!({"eventType": "Delivery", "mail": {"messageId": "0107-x"}}));
    assert!(matches!(
        handle_record(&deps, &delivered, Utc::now()).await.unwrap(),
        Accepted::Ignored(_)
    ));
    assert!(matches!(
        handle_record(&deps, &bounce("0107-unknown"), Utc::now())
            .await
            .unwrap(),
        Accepted::Ignored(_)
    ));
}
