use chrono::TimeZone;
use proptest::prelude::*;
use serde_json::json;

use super::*;

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    // Wednesday 2026-12-02, Prague = UTC+1.
    Utc.with_ymd_and_hms(2026, 12, 2, hour, minute, 0).unwrap()
}

/// Weekdays 08:00–16:00 Prague.
fn office_hours() -> QueueSchedule {
    let day = json!([{"start": "08:00", "end": "16:00"}]);
    serde_json::from_value(json!({
        "timezone": "Europe/Prague",
        "weekly": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                   "friday": day, "saturday": [], "sunday": []},
        "exceptions": [], "closedOnPublicHolidays": true
    }))
    .unwrap()
}

fn start_request(value: serde_json::Value) -> StartConversation {
    serde_json::from_value(value).unwrap()
}

fn started() -> Conversation {
    let request = start_request(json!({"clientToken": "bot-1", "initialMessage": "Dobrý den"}));
    Conversation::start("c1", &request, ChatChannel::Web, "m1", at(9, 0)).0
}

fn post(text: &str, key: &str) -> PostMessage {
    PostMessage {
        text: text.into(),
        client_message_id: key.into(),
        from: None,
    }
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn when_a_start_request_is_valid_should_normalise_the_phone_and_open_with_the_first_message() {
    let mut request = start_request(json!({
        "customer": {"name": "Jana Dvořáková", "email": "jana@example.cz", "phone": "777 000 111"},
        "attributes": {"topic": "platby"}, "initialMessage": "  Dobrý den  ",
        "clientToken": "bot-1:abc", "webhookUrl": "https://bot.example.cz/hook"
    }));
    assert!(request.validate().is_empty());
    assert_eq!(request.customer.phone.as_deref(), Some("+420777000111"));
    let (conversation, first) =
        Conversation::start("c1", &request, ChatChannel::Web, "m1", at(9, 0));
    assert_eq!(conversation.status, ConversationStatus::Bot);
    assert_eq!(conversation.next_seq, 2);
    let first = first.unwrap();
    assert_eq!(
        (first.seq, first.text.as_str(), first.from),
        (1, "Dobrý den", Sender::Customer)
    );
}

#[test]
fn when_a_start_request_is_malformed_should_name_every_field() {
    let mut request = start_request(json!({
        "customer": {"name": " ", "email": "jana", "phone": "12"},
        "attributes": {"bad key!": "x"}, "initialMessage": "", "clientToken": "",
        "webhookUrl": "http://bot"
    }));
    assert_eq!(
        fields(&request.validate()),
        [
            "clientToken",
            "customer.name",
            "customer.email",
            "customer.phone",
            "attributes.bad key!",
            "initialMessage",
            "webhookUrl"
        ]
    );
    assert!(
        serde_json::from_value::<StartConversation>(json!({"clientToken": "x", "extra": 1}))
            .is_err()
    );
}

#[test]
fn when_messages_are_posted_should_number_them_in_order_until_the_end() {
    let mut conversation = started();
    let second = conversation
        .post("m2", &post("Mám dotaz", "k2"), at(9, 1))
        .unwrap();
    let third = conversation
        .post(
            "m3",
            &PostMessage {
                from: Some(Sender::Bot),
                ..post("Rád pomohu", "k3")
            },
            at(9, 1),
        )
        .unwrap();
    assert_eq!((second.seq, third.seq), (2, 3));
    assert_eq!(third.from, Sender::Bot);
    assert_eq!(second.client_message_id.as_deref(), Some("k2"));
    let ended = conversation.end("m4", at(9, 2)).unwrap();
    assert_eq!((ended.seq, ended.from), (4, Sender::System));
    assert_eq!(
        conversation.end("m5", at(9, 3)),
        None,
        "ending twice changes nothing"
    );
    assert_eq!(
        conversation.post("m5", &post("Haló?", "k5"), at(9, 4)),
        Err(ChatError::Ended)
    );
}

#[test]
fn when_a_message_is_empty_too_long_or_claims_to_be_an_agent_should_be_refused() {
    assert_eq!(fields(&post("  ", "k").validate()), ["text"]);
    assert_eq!(
        fields(&post(&"a".repeat(MAX_TEXT_CHARS + 1), "k").validate()),
        ["text"]
    );
    assert_eq!(fields(&post("ok\u{7}", "k").validate()), ["text"]);
    assert!(post("řádek 1\nřádek 2", "k").validate().is_empty());
    assert_eq!(fields(&post("ok", "").validate()), ["clientMessageId"]);
    let agent = PostMessage {
        from: Some(Sender::Agent),
        ..post("ok", "k")
    };
    assert_eq!(fields(&agent.validate()), ["from"]);
}

#[test]
fn when_the_bot_hands_off_in_hours_should_queue_once_and_outside_hours_name_the_next_opening() {
    let mut evening = started();
    // 17:30 UTC = 18:30 Prague: closed; opens Thursday 08:00 Prague = 07:00 UTC.
    assert_eq!(
        evening.hand_off("chat", &office_hours(), "m2", at(17, 30)),
        Err(ChatError::OutOfHours {
            next_opening: Some(Utc.with_ymd_and_hms(2026, 12, 3, 7, 0, 0).unwrap())
        })
    );
    assert_eq!(evening.status, ConversationStatus::Bot);
    let mut morning = started();
    let note = morning
        .hand_off("chat", &office_hours(), "m2", at(9, 0))
        .unwrap();
    assert_eq!(note.map(|m| m.from), Some(Sender::System));
    assert_eq!(
        (morning.status, morning.queue_id.as_deref()),
        (ConversationStatus::Queued, Some("chat"))
    );
    assert_eq!(
        morning.hand_off("chat", &office_hours(), "m3", at(9, 1)),
        Ok(None),
        "a repeat"
    );
}

#[test]
fn when_agents_take_transfer_and_invite_should_keep_the_limit_and_the_holder() {
    let mut conversation = started();
    conversation
        .hand_off("chat", &office_hours(), "m2", at(9, 0))
        .unwrap();
    assert_eq!(
        conversation.assign("agent01", 3, 3, at(9, 1)),
        Err(ChatError::AtChatLimit {
            agent: "agent01".into(),
            held: 3
        })
    );
    conversation.assign("agent01", 2, 3, at(9, 1)).unwrap();
    assert_eq!(
        conversation.assign("agent02", 0, 3, at(9, 1)),
        Err(ChatError::NotQueued)
    );
    let reply = conversation
        .post_as_agent(
            "m3",
            "agent01",
            "Dobrý den, jak mohu pomoci?",
            None,
            at(9, 2),
        )
        .unwrap();
    assert_eq!(
        (reply.from, reply.author.as_deref()),
        (Sender::Agent, Some("agent01"))
    );
    assert_eq!(
        conversation.post_as_agent("m4", "agent02", "Já taky", None, at(9, 2)),
        Err(ChatError::NotHolder("agent02".into()))
    );
    conversation
        .invite("agent01", "supervisor", at(9, 3))
        .unwrap();
    assert!(conversation
        .post_as_agent("m4", "supervisor", "Přidávám se.", None, at(9, 3))
        .is_ok());
    conversation
        .transfer("agent01", Some("agent02"), None, "m5", at(9, 4))
        .unwrap();
    assert_eq!(conversation.agent.as_deref(), Some("agent02"));
    assert!(conversation.is_participant("agent02") && !conversation.is_participant("agent01"));
    conversation
        .transfer("agent02", None, Some("chat-vip"), "m6", at(9, 5))
        .unwrap();
    assert_eq!(
        (
            conversation.status,
            conversation.queue_id.as_deref(),
            conversation.agent.as_deref()
        ),
        (ConversationStatus::Queued, Some("chat-vip"), None)
    );
}

proptest! {
    /// Any number of posts, in any mix of senders, then pages of any size: the transcript comes
    /// back complete, once each, in sequence order.
    #[test]
    fn when_a_transcript_is_paged_should_return_every_message_once_in_order(
        senders in proptest::collection::vec(any::<bool>(), 0..60),
        limit in 1usize..10,
    ) {
        let mut conversation = started();
        let mut messages = Vec::new();
        for (n, bot) in senders.iter().enumerate() {
            let request = PostMessage {
                from: Some(if *bot { Sender::Bot } else { Sender::Customer }),
                ..post("zpráva", &format!("k{n}"))
            };
            messages.push(conversation.post(&format!("m{n}"), &request, at(9, 0)).unwrap());
        }
        messages.reverse();
        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let (page, next) = transcript_page(&messages, after, limit);
            prop_assert!(page.len() <= limit);
            seen.extend(page.iter().map(|m| m.seq));
            match next {
                Some(cursor) => after = cursor,
                None => break,
            }
        }
        let expected: Vec<u64> = (2..2 + senders.len() as u64).collect();
        prop_assert_eq!(seen, expected);
    }
}

#[test]
fn when_a_webhook_url_is_checked_should_take_only_an_ascii_https_url_with_a_host() {
    let with = |url: &str| start_request(json!({"clientToken": "t", "webhookUrl": url}));
    for bad in [
        "https://\u{84}",
        "https://",
        "ftp://bot.example.cz",
        "https://bot example.cz",
        "http://bot.example.cz",
    ] {
        assert_eq!(fields(&with(bad).validate()), ["webhookUrl"], "{bad:?}");
    }
    assert!(with("https://bot.example.cz/hook?x=1")
        .validate()
        .is_empty());
    assert!(with("http://127.0.0.1:9/hook")
        .validate_with(WebhookSchemes::AlsoHttp)
        .is_empty());
}

#[test]
fn when_the_customer_is_not_an_object_should_refuse_the_request() {
    assert!(serde_json::from_value::<StartConversation>(
        json!({"clientToken": "t", "customer": [null, null]})
    )
    .is_err());
    let request: StartConversation =
        serde_json::from_value(json!({"clientToken": "t", "customer": null})).unwrap();
    assert_eq!(request.customer, ChatCustomer::default());
}

#[test]
fn when_a_message_is_left_out_of_hours_should_queue_it_once_with_a_note() {
    let mut conversation = started();
    let note = conversation
        .leave_message("kkc", "m2", at(20, 0))
        .unwrap()
        .unwrap();
    assert_eq!(
        (note.from, conversation.status),
        (Sender::System, ConversationStatus::Queued)
    );
    assert_eq!(
        conversation.leave_message("kkc", "m3", at(20, 1)).unwrap(),
        None
    );
    conversation.end("m4", at(20, 2));
    assert_eq!(
        conversation.leave_message("kkc", "m5", at(20, 3)),
        Err(ChatError::Ended)
    );
}
