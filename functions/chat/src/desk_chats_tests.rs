use linka_shared::{chat::webhook::WebhookEvent, realtime::PushMessage, testing::StaticJwks};
use serde_json::{json, Value};

use super::*;
use crate::test_support::{api, bot, chat, parts, person, queued_chat, request, Chat};

async fn desk(
    chat: &Chat,
    method: &str,
    path: &str,
    who: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let role = if who == "supervisor" {
        "supervisor"
    } else {
        "agent"
    };
    parts(
        handle(
            &chat.desk,
            request(method, path, Some(&person(who, role)), body),
        )
        .await,
    )
}

/// `who` takes the waiting chat `id`.
async fn accept(chat: &Chat, id: &str, who: &str) -> (u16, Value) {
    desk(
        chat,
        "POST",
        &format!("/api/desk/chats/{id}/accept"),
        who,
        None,
    )
    .await
}

fn recipients_of(chat: &Chat, matches: impl Fn(&PushMessage) -> bool) -> Vec<String> {
    let mut ids: Vec<String> = chat
        .pushed
        .posts()
        .into_iter()
        .filter(|(_, message)| matches(message))
        .map(|(id, _)| id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[tokio::test]
async fn when_a_chat_is_handed_off_should_the_queues_agents_see_and_hear_of_it() {
    let chat = chat().await;
    let id = queued_chat(&chat, "q-1").await;
    assert_eq!(
        recipients_of(&chat, |m| matches!(
            m,
            PushMessage::Chat {
                status: ConversationStatus::Queued,
                ..
            }
        )),
        ["tab-1", "tab-2"]
    );
    let (status, list) = desk(&chat, "GET", "/api/desk/chats", "agent01", None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["waiting"][0]["conversationId"], json!(id));
    assert_eq!(list["waiting"][0]["customer"]["name"], "Jana Dvořáková");
    assert_eq!(
        (
            list["held"].as_array().unwrap().len(),
            list["chatLimit"].as_u64()
        ),
        (0, Some(2))
    );
    let (_, other) = desk(&chat, "GET", "/api/desk/chats", "agent03", None).await;
    assert!(other["waiting"].as_array().unwrap().is_empty());
    let (_, supervisor) = desk(&chat, "GET", "/api/desk/chats", "supervisor", None).await;
    assert_eq!(supervisor["waiting"].as_array().unwrap().len(), 1);
    // A member may read the waiting chat before taking it; agent03 may not.
    let (status, read) = desk(
        &chat,
        "GET",
        &format!("/api/desk/chats/{id}/messages"),
        "agent02",
        None,
    )
    .await;
    assert_eq!(
        (status, read["messages"][0]["text"].as_str()),
        (200, Some("Dobrý den"))
    );
    let (status, problem) = desk(
        &chat,
        "GET",
        &format!("/api/desk/chats/{id}/messages"),
        "agent03",
        None,
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("not-your-chat"))
    );
}

#[tokio::test]
async fn when_two_agents_accept_one_chat_at_once_should_exactly_one_get_it() {
    let chat = chat().await;
    let id = queued_chat(&chat, "q-2").await;
    let path = format!("/api/desk/chats/{id}/accept");
    let (first, second) = tokio::join!(
        desk(&chat, "POST", &path, "agent01", None),
        desk(&chat, "POST", &path, "agent02", None)
    );
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{first:?} {second:?}");
    let loser = if first.0 == 409 { &first.1 } else { &second.1 };
    assert_eq!(loser["code"], "chat-taken");
    let conversation = chat.store.get(&id).await.unwrap().unwrap().value;
    assert_eq!(conversation.status, ConversationStatus::Assigned);
    // The bot hears that an agent took it.
    let deliveries = chat.outbox.deliveries.lock().unwrap().clone();
    assert!(deliveries.iter().any(|d| matches!(
        d.event,
        WebhookEvent::Status {
            status: ConversationStatus::Assigned,
            ..
        }
    )));
    let (status, problem) = desk(
        &chat,
        "POST",
        &format!("/api/desk/chats/{}/accept", queued_chat(&chat, "q-3").await),
        "agent03",
        None,
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("not-a-member"))
    );
}

#[tokio::test]
async fn when_an_agent_holds_the_most_chats_should_refuse_another() {
    let chat = chat().await;
    for n in 0..2 {
        let id = queued_chat(&chat, &format!("l-{n}")).await;
        let (status, _) = accept(&chat, &id, "agent01").await;
        assert_eq!(status, 200);
    }
    let id = queued_chat(&chat, "l-2").await;
    let (status, problem) = accept(&chat, &id, "agent01").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("chat-limit"))
    );
    let (_, list) = desk(&chat, "GET", "/api/desk/chats", "agent01", None).await;
    assert_eq!(list["held"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn when_the_admin_raises_the_chat_limit_should_an_agent_take_more_at_once() {
    let chat = chat().await;
    chat.set_settings(json!({"chatsPerAgent": 3})).await;
    for n in 0..3 {
        let id = queued_chat(&chat, &format!("r-{n}")).await;
        let (status, body) = accept(&chat, &id, "agent01").await;
        assert_eq!(status, 200, "{body}");
    }
    let id = queued_chat(&chat, "r-3").await;
    let (status, _) = accept(&chat, &id, "agent01").await;
    assert_eq!(status, 409);
    let (_, list) = desk(&chat, "GET", "/api/desk/chats", "agent01", None).await;
    assert_eq!(list["chatLimit"], 3);
}

#[tokio::test]
async fn when_either_side_types_should_only_the_other_side_see_it() {
    let chat = chat().await;
    let id = queued_chat(&chat, "t-1").await;
    let typing = format!("/api/chat/conversations/{id}/typing");
    // Nobody holds it yet: accepted, nobody told.
    let (status, _) = api(&chat, "POST", &typing, Some(&bot()), None).await;
    assert_eq!(status, 204);
    let (status, _) = accept(&chat, &id, "agent01").await;
    assert_eq!(status, 200);
    let typing_pushes = |chat: &Chat| -> Vec<(String, Sender)> {
        chat.pushed
            .posts()
            .into_iter()
            .filter_map(|(connection, message)| match message {
                PushMessage::ChatTyping { from, .. } => Some((connection, from)),
                _ => None,
            })
            .collect()
    };
    let (status, _) = api(&chat, "POST", &typing, Some(&bot()), None).await;
    assert_eq!(status, 204);
    assert_eq!(
        typing_pushes(&chat),
        vec![("tab-1".to_owned(), Sender::Customer)]
    );
    // The agent's typing goes to nobody else here (a bot conversation has no visitor socket).
    let (status, _) = desk(
        &chat,
        "POST",
        &format!("/api/desk/chats/{id}/typing"),
        "agent01",
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(typing_pushes(&chat).len(), 1);
    // Without a token nobody may signal; an ended conversation refuses it.
    let (status, _) = api(&chat, "POST", &typing, None, None).await;
    assert_eq!(status, 401);
    desk(
        &chat,
        "POST",
        &format!("/api/desk/chats/{id}/end"),
        "agent01",
        None,
    )
    .await;
    let (status, problem) = api(&chat, "POST", &typing, Some(&bot()), None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("conversation-ended"))
    );
}

#[tokio::test]
async fn when_agent_and_customer_write_should_each_side_get_the_other_side_messages() {
    let chat = chat().await;
    let id = queued_chat(&chat, "w-1").await;
    accept(&chat, &id, "agent01").await;
    let messages = format!("/api/desk/chats/{id}/messages");
    let reply = json!({"text": "Dobrý den, jak mohu pomoci?", "clientMessageId": "a-1"});
    let (status, first) = desk(&chat, "POST", &messages, "agent01", Some(reply.clone())).await;
    assert_eq!(
        (status, first["from"].as_str(), first["author"].as_str()),
        (201, Some("agent"), Some("agent01"))
    );
    let (status, again) = desk(&chat, "POST", &messages, "agent01", Some(reply)).await;
    assert_eq!((status, &again["messageId"]), (201, &first["messageId"]));
    // The bot: in its webhook (once) and in the transcript.
    let agent_messages: Vec<_> = chat.outbox.deliveries.lock().unwrap().iter()
        .filter(|d| matches!(&d.event, WebhookEvent::Message { message, .. } if message.from == Sender::Agent))
        .map(|d| d.url.clone())
        .collect();
    assert_eq!(agent_messages, ["https://bot.example.cz/hook"]);
    let (_, page) = api(
        &chat,
        "GET",
        &format!("/api/chat/conversations/{id}/messages"),
        Some(&bot()),
        None,
    )
    .await;
    let from: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["from"].as_str().unwrap())
        .collect();
    assert_eq!(from, ["customer", "system", "agent"]);
    // The customer's next message reaches the agent's desk.
    let (status, _) = api(
        &chat,
        "POST",
        &format!("/api/chat/conversations/{id}/messages"),
        Some(&bot()),
        Some(json!({"text": "Ztratila jsem průkaz.", "clientMessageId": "c-9"})),
    )
    .await;
    assert_eq!(status, 201);
    let to_agent = recipients_of(
        &chat,
        |m| matches!(m, PushMessage::ChatMessage { message } if message.text == "Ztratila jsem průkaz."),
    );
    assert_eq!(to_agent, ["tab-1"]);
    // Another agent may not write into it.
    let (status, problem) = desk(
        &chat,
        "POST",
        &messages,
        "agent02",
        Some(json!({"text": "x", "clientMessageId": "a-2"})),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("not-your-chat"))
    );
    let (status, problem) = desk(
        &chat,
        "POST",
        &messages,
        "agent01",
        Some(json!({"text": " ", "clientMessageId": "a-3"})),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("text"))
    );
}

#[tokio::test]
async fn when_a_chat_is_transferred_invited_and_ended_should_the_right_people_hold_it() {
    let chat = chat().await;
    let id = queued_chat(&chat, "t-1").await;
    accept(&chat, &id, "agent01").await;
    let transfer = format!("/api/desk/chats/{id}/transfer");
    let (status, problem) = desk(
        &chat,
        "POST",
        &transfer,
        "agent01",
        Some(json!({"username": "nobody"})),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("username"))
    );
    let (status, moved) = desk(
        &chat,
        "POST",
        &transfer,
        "agent01",
        Some(json!({"username": "agent02"})),
    )
    .await;
    assert_eq!((status, moved["agent"].as_str()), (200, Some("agent02")));
    let (status, _) = desk(
        &chat,
        "POST",
        &format!("/api/desk/chats/{id}/messages"),
        "agent01",
        Some(json!({"text": "Ještě…", "clientMessageId": "late"})),
    )
    .await;
    assert_eq!(status, 403);
    // agent02 invites the supervisor, who may then write; an agent cannot be invited.
    let invite = format!("/api/desk/chats/{id}/invite");
    let (status, _) = desk(
        &chat,
        "POST",
        &invite,
        "agent02",
        Some(json!({"username": "agent03"})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, invited) = desk(
        &chat,
        "POST",
        &invite,
        "agent02",
        Some(json!({"username": "supervisor"})),
    )
    .await;
    assert_eq!((status, &invited["invited"]), (200, &json!(["supervisor"])));
    let (status, _) = desk(
        &chat,
        "POST",
        &format!("/api/desk/chats/{id}/messages"),
        "supervisor",
        Some(json!({"text": "Přidávám se.", "clientMessageId": "s-1"})),
    )
    .await;
    assert_eq!(status, 201);
    // Back to the queue, taken again, ended.
    let (status, queued) = desk(
        &chat,
        "POST",
        &transfer,
        "agent02",
        Some(json!({"queueId": "chat"})),
    )
    .await;
    assert_eq!((status, queued["status"].as_str()), (200, Some("queued")));
    accept(&chat, &id, "agent01").await;
    let (status, ended) = desk(
        &chat,
        "POST",
        &format!("/api/desk/chats/{id}/end"),
        "agent01",
        None,
    )
    .await;
    assert_eq!((status, ended["status"].as_str()), (200, Some("ended")));
    let (status, _) = api(
        &chat,
        "POST",
        &format!("/api/chat/conversations/{id}/messages"),
        Some(&bot()),
        Some(json!({"text": "Haló?", "clientMessageId": "after-end"})),
    )
    .await;
    assert_eq!(status, 409);
    let transcript: Vec<(Sender, String)> = chat
        .store
        .transcript(&id)
        .into_iter()
        .map(|m| (m.from, m.text))
        .collect();
    let seqs: Vec<u64> = chat.store.transcript(&id).iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(transcript.last().unwrap().0, Sender::System);
    let ended_told = chat.outbox.deliveries.lock().unwrap().iter().any(|d| {
        matches!(
            d.event,
            WebhookEvent::Status {
                status: ConversationStatus::Ended,
                ..
            }
        )
    });
    assert!(ended_told);
}

#[tokio::test]
async fn when_the_caller_is_no_desk_user_or_the_route_is_wrong_should_refuse() {
    let chat = chat().await;
    let response = handle(
        &chat.desk,
        request("GET", "/api/desk/chats", Some(&bot()), None),
    )
    .await;
    assert_eq!(response.status(), 403);
    let response = handle(&chat.desk, request("GET", "/api/desk/chats", None, None)).await;
    assert_eq!(response.status(), 401);
    let response = handle(
        &chat.desk,
        request("DELETE", "/api/desk/chats/x/messages", None, None),
    )
    .await;
    assert_eq!(
        (
            response.status().as_u16(),
            response.headers()["allow"].to_str().unwrap()
        ),
        (405, "GET, POST")
    );
    let (status, _) = desk(
        &chat,
        "POST",
        "/api/desk/chats/nope/accept",
        "agent01",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let _: Option<&DeskChatDeps<StaticJwks>> = None;
}

#[tokio::test]
async fn when_a_target_username_is_malformed_should_answer_422() {
    let chat = chat().await;
    let id = queued_chat(&chat, "m-1").await;
    accept(&chat, &id, "agent01").await;
    for action in ["transfer", "invite"] {
        let (status, problem) = desk(
            &chat,
            "POST",
            &format!("/api/desk/chats/{id}/{action}"),
            "agent01",
            Some(json!({"username": ""})),
        )
        .await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (422, Some("username")),
            "{action}"
        );
    }
}

#[tokio::test]
async fn when_an_agent_sends_an_sms_from_a_client_card_should_open_a_conversation_they_hold_and_send_it_once(
) {
    use linka_shared::chat::channels::OutboundMessage;
    let chat = chat().await;
    let body = json!({"to": "601 234 567", "text": "Vaše karta je na cestě.", "clientMessageId": "card-1", "name": "Jana Dvořáková"});
    let (status, opened) = desk(
        &chat,
        "POST",
        "/api/desk/chats/sms",
        "agent01",
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["conversation"]["channel"], "sms");
    assert_eq!(opened["conversation"]["status"], "assigned");
    assert_eq!(opened["conversation"]["agent"], "agent01");
    assert_eq!(opened["conversation"]["customer"]["phone"], "+420601234567");
    assert_eq!(opened["message"]["from"], "agent");
    let id = opened["conversation"]["conversationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, again) = desk(&chat, "POST", "/api/desk/chats/sms", "agent01", Some(body)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["conversation"]["conversationId"], id.as_str());
    assert_eq!(
        chat.channel_outbox.taken(),
        vec![OutboundMessage::Sms {
            conversation_id: id.clone(),
            seq: 1,
            to: "+420601234567".into(),
            text: "Vaše karta je na cestě.".into()
        }]
    );
    let (_, list) = desk(&chat, "GET", "/api/desk/chats", "agent01", None).await;
    assert_eq!(list["held"][0]["conversationId"], id.as_str());
}

#[tokio::test]
async fn when_an_agent_sends_an_email_should_it_carry_the_subject_and_bad_input_be_refused() {
    use linka_shared::chat::channels::OutboundMessage;
    let chat = chat().await;
    let (status, problem) = desk(
        &chat,
        "POST",
        "/api/desk/chats/email",
        "agent01",
        Some(json!({
            "to": "not-an-address", "text": "x", "clientMessageId": "m-1"
        })),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"to") && fields.contains(&"subject"),
        "{problem}"
    );
    let (status, problem) = desk(
        &chat,
        "POST",
        "/api/desk/chats/sms",
        "agent01",
        Some(json!({
            "to": "12", "text": "", "clientMessageId": "m-2"
        })),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let (status, opened) = desk(&chat, "POST", "/api/desk/chats/email", "agent01", Some(json!({
        "to": "Jana@Example.cz", "subject": "Potvrzení změny", "text": "Dobrý den, změnu jsme provedli.", "clientMessageId": "m-3"
    }))).await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["conversation"]["subject"], "Potvrzení změny");
    let taken = chat.channel_outbox.taken();
    let [OutboundMessage::Email { to, subject, .. }] = taken.as_slice() else {
        panic!("{taken:?}");
    };
    assert_eq!(
        (to.as_str(), subject.as_str()),
        ("jana@example.cz", "Potvrzení změny")
    );
}

#[tokio::test]
async fn when_an_attachment_is_asked_for_should_answer_404_for_none_and_refuse_strangers() {
    let chat = chat().await;
    let id = queued_chat(&chat, "att-1").await;
    let (status, body) = desk(
        &chat,
        "GET",
        &format!("/api/desk/chats/{id}/messages/1/attachments/1"),
        "agent01",
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "attachment-not-found");
    let (status, _) = desk(
        &chat,
        "GET",
        &format!("/api/desk/chats/{id}/messages/x/attachments/1"),
        "agent01",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = desk(
        &chat,
        "GET",
        &format!("/api/desk/chats/{id}/messages/1/attachments/1"),
        "agent03",
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = desk(&chat, "DELETE", "/api/desk/chats/sms", "agent01", None).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn when_a_chat_is_taken_transferred_and_ended_should_its_contact_record_list_both_agents() {
    use linka_shared::contact_records::{
        conversation_contact_id, ContactRecordStore, Direction, RecordOutcome,
    };
    use linka_shared::contacts::Channel;
    let chat = chat().await;
    let id = queued_chat(&chat, "rec-1").await;
    let contact_id = conversation_contact_id(&id);
    let waiting = chat.contacts.get(&contact_id).await.unwrap().unwrap().value;
    assert_eq!(waiting.channel, Channel::Chat);
    assert!(waiting.agents.is_empty());
    assert_eq!(waiting.number.as_deref(), Some("jana@example.cz"));
    assert_eq!(waiting.client_name.as_deref(), Some("Jana Dvořáková"));
    accept(&chat, &id, "agent01").await;
    let (_, list) = desk(&chat, "GET", "/api/desk/chats", "agent01", None).await;
    assert_eq!(list["held"][0]["contactId"], contact_id.as_str());
    desk(
        &chat,
        "POST",
        &format!("/api/desk/chats/{id}/transfer"),
        "agent01",
        Some(json!({"username": "agent02"})),
    )
    .await;
    let (status, _) = desk(
        &chat,
        "POST",
        &format!("/api/desk/chats/{id}/end"),
        "agent02",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let record = chat.contacts.get(&contact_id).await.unwrap().unwrap().value;
    assert_eq!(
        record.agents,
        vec!["agent01".to_owned(), "agent02".to_owned()]
    );
    assert_eq!(record.direction, Direction::Inbound);
    assert_eq!(record.outcome, Some(RecordOutcome::Handled));
    assert!(record.answered_at.is_some() && record.ended_at.is_some());
    assert!(record.may_edit("agent01", false) && !record.may_edit("agent03", false));
    // The same moves in the event model as a call's (issue 7): once each, in order.
    let moves: Vec<(String, Option<String>)> = chat
        .events
        .of(&contact_id)
        .iter()
        .map(|event| (event.to.to_string(), event.agent.clone()))
        .collect();
    let agent = |name: &str| Some(name.to_owned());
    assert_eq!(
        moves,
        [
            ("arrived".to_owned(), None),
            ("queued".to_owned(), None),
            ("connected".to_owned(), agent("agent01")),
            ("transferred".to_owned(), agent("agent01")),
            ("connected".to_owned(), agent("agent02")),
            ("done".to_owned(), agent("agent02")),
        ]
    );
    let done = chat.events.of(&contact_id).pop().unwrap();
    assert_eq!(done.channel, Channel::Chat);
    let outcome = done.outcome.unwrap();
    assert_eq!(
        outcome.result,
        linka_shared::contacts::ContactResult::Answered
    );
    assert!(outcome.from_queue_ms.is_some());
}

#[tokio::test]
async fn when_an_agent_texts_first_should_the_record_be_an_outbound_sms_to_the_number() {
    use linka_shared::contact_records::{conversation_contact_id, ContactRecordStore, Direction};
    use linka_shared::contacts::Channel;
    let chat = chat().await;
    let (status, opened) = desk(
        &chat,
        "POST",
        "/api/desk/chats/sms",
        "agent01",
        Some(json!({
            "to": "+420601234567", "text": "Dobrý den", "clientMessageId": "o-1"
        })),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    let id = opened["conversation"]["conversationId"].as_str().unwrap();
    let record = chat
        .contacts
        .get(&conversation_contact_id(id))
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(
        (record.channel, record.direction),
        (Channel::Sms, Direction::Outbound)
    );
    assert_eq!(record.number.as_deref(), Some("+420601234567"));
    assert_eq!(record.agents, vec!["agent01".to_owned()]);
}

#[tokio::test]
async fn when_one_agent_takes_several_chats_at_once_should_stop_at_the_limit() {
    let chat = chat().await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(queued_chat(&chat, &format!("race-{n}")).await);
    }
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/api/desk/chats/{id}/accept"))
        .collect();
    let takes = paths
        .iter()
        .map(|path| desk(&chat, "POST", path, "agent01", None));
    let results = futures_util::future::join_all(takes).await;
    let taken = results.iter().filter(|(status, _)| *status == 200).count();
    let refused = results
        .iter()
        .filter(|(status, body)| *status == 409 && body["code"] == "chat-limit")
        .count();
    assert_eq!((taken, refused), (2, 2), "{results:?}");
    let (_, list) = desk(&chat, "GET", "/api/desk/chats", "agent01", None).await;
    assert_eq!(list["held"].as_array().unwrap().len(), 2);
}
