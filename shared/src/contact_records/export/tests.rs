use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::{
    adapters::{InMemoryContactRecordStore, InMemoryConversationStore},
    chat::{ChatChannel, Conversation, PostMessage, StartConversation},
    ports::{ChatWrite, Versioned},
};

fn day(text: &str) -> NaiveDate {
    parse_day(text).unwrap()
}

fn period(from: &str, to: &str) -> ExportPeriod {
    ExportPeriod::parse(Some(from), Some(to)).unwrap()
}

/// A record of `channel` started at `started_at` (UTC).
fn record(id: &str, channel: Channel, started_at: DateTime<Utc>) -> ContactRecord {
    let mut record = ContactRecord::blank(id, channel, started_at);
    record.agents = vec!["agent01".to_owned()];
    record
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn ids(records: &[ContactRecord]) -> Vec<&str> {
    records.iter().map(|r| r.contact_id.as_str()).collect()
}

#[test]
fn when_the_period_is_parsed_should_take_whole_days_up_to_a_month() {
    assert_eq!(
        ExportPeriod::parse(Some("2026-11-27"), None),
        Ok(ExportPeriod {
            from: day("2026-11-27"),
            to: day("2026-11-27")
        })
    );
    assert!(ExportPeriod::parse(Some("2026-11-01"), Some("2026-12-01")).is_ok());
    let fields = |from: Option<&str>, to: Option<&str>| -> Vec<String> {
        ExportPeriod::parse(from, to)
            .unwrap_err()
            .into_iter()
            .map(|error| error.field)
            .collect()
    };
    assert_eq!(fields(None, None), ["from"]);
    assert_eq!(
        fields(Some("27.11.2026"), Some("2026-13-01")),
        ["from", "to"]
    );
    assert_eq!(fields(Some("2026-2-1"), None), ["from"]);
    assert_eq!(fields(Some("2026-11-28"), Some("2026-11-27")), ["to"]);
    assert_eq!(fields(Some("2026-11-01"), Some("2026-12-02")), ["to"]);
}

#[test]
fn when_a_record_starts_late_in_the_evening_should_belong_to_its_prague_day() {
    // 23:30 UTC on 27 November is 00:30 on the 28th in Prague (CET).
    let late = record("c1", Channel::Voice, utc("2026-11-27T23:30:00Z"));
    assert!(late.owners().contains(&Owner::Day(day("2026-11-28"))));
    // 22:30 UTC on 30 June is 00:30 on 1 July (CEST).
    let summer = record("c2", Channel::Voice, utc("2026-06-30T22:30:00Z"));
    assert!(summer.owners().contains(&Owner::Day(day("2026-07-01"))));
    assert_eq!(Owner::Day(day("2026-07-01")).key(), "day#2026-07-01");
    for owner in summer.owners() {
        assert_eq!(Owner::parse_key(&owner.key()), Some(owner));
    }
    assert_eq!(Owner::parse_key("day#2026-7-1"), None);
    assert_eq!(Owner::parse_key("day#"), None);
    assert_eq!(Owner::parse_key("queue#x"), None);
}

#[tokio::test]
async fn when_a_period_is_exported_should_page_oldest_first_across_days() {
    let store = InMemoryContactRecordStore::new();
    // Three days; the one before and after the period must not appear.
    for (id, at) in [
        ("before", "2026-11-25T12:00:00Z"),
        ("d1-b", "2026-11-26T09:00:00Z"),
        ("d1-a", "2026-11-26T08:00:00Z"),
        ("d2-a", "2026-11-27T08:00:00Z"),
        ("d3-a", "2026-11-28T08:00:00Z"),
        ("d3-b", "2026-11-28T10:00:00Z"),
        ("after", "2026-11-29T08:00:00Z"),
    ] {
        store.insert(record(id, Channel::Voice, utc(at)));
    }
    let period = period("2026-11-26", "2026-11-28");
    let mut position = ExportPosition::first(&period);
    let mut pages = Vec::new();
    loop {
        let page = export_page(&store, &period, &[], position, 2)
            .await
            .unwrap();
        pages.push(ids(&page.records).join(","));
        match page.next {
            // Every cursor given out reads back as the same position.
            Some(next) => {
                position = ExportPosition::from_cursor(next.cursor(), &period).unwrap();
                assert_eq!(position, next);
            }
            None => break,
        }
    }
    assert_eq!(pages, ["d1-a,d1-b", "d2-a,d3-a", "d3-b"]);
}

#[tokio::test]
async fn when_channels_are_asked_for_should_export_only_those() {
    let store = InMemoryContactRecordStore::new();
    store.insert(record("call", Channel::Voice, utc("2026-11-27T08:00:00Z")));
    store.insert(record("chat:s1", Channel::Sms, utc("2026-11-27T09:00:00Z")));
    store.insert(record(
        "chat:m1",
        Channel::Email,
        utc("2026-11-27T10:00:00Z"),
    ));
    store.insert(record(
        "chat:w1",
        Channel::Chat,
        utc("2026-11-27T11:00:00Z"),
    ));
    let period = period("2026-11-27", "2026-11-27");
    let page = export_page(
        &store,
        &period,
        &[Channel::Sms, Channel::Email],
        ExportPosition::first(&period),
        100,
    )
    .await
    .unwrap();
    assert_eq!(ids(&page.records), ["chat:s1", "chat:m1"]);
    assert_eq!(page.next, None);
}

#[test]
fn when_a_cursor_is_not_of_this_export_should_refuse_it() {
    let period = period("2026-11-27", "2026-11-28");
    let other_day = ExportPosition::DayStart(day("2026-11-29")).cursor();
    assert!(ExportPosition::from_cursor(other_day, &period).is_err());
    let agent_history = PageCursor::from_key(BTreeMap::from([
        ("contactId".to_owned(), "c".to_owned()),
        ("item".to_owned(), "agent#a".to_owned()),
        ("owner".to_owned(), "agent#a".to_owned()),
        ("ownerSort".to_owned(), "2026".to_owned()),
    ]));
    assert!(ExportPosition::from_cursor(agent_history, &period).is_err());
    let mixed = PageCursor::from_key(BTreeMap::from([
        (DAY_START_ATTRIBUTE.to_owned(), "2026-11-27".to_owned()),
        ("owner".to_owned(), "day#2026-11-27".to_owned()),
    ]));
    assert!(ExportPosition::from_cursor(mixed, &period).is_err());
    let start = ExportPosition::DayStart(day("2026-11-28"));
    assert_eq!(
        ExportPosition::from_cursor(start.cursor(), &period),
        Ok(start)
    );
}

#[tokio::test]
async fn when_a_transcript_is_longer_than_a_page_should_export_every_message_in_order() {
    let store = InMemoryConversationStore::new();
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap();
    let start: StartConversation = serde_json::from_value(
        json!({"clientToken": "t1", "customer": {"phone": "+420777000999"}}),
    )
    .unwrap();
    let (mut conversation, _) = Conversation::start("s1", &start, ChatChannel::Sms, "m0", now);
    let mut messages = Vec::new();
    for n in 1..=(TRANSCRIPT_PAGE + 21) {
        let post: PostMessage = serde_json::from_value(
            json!({"text": format!("SMS {n}"), "clientMessageId": format!("c{n}")}),
        )
        .unwrap();
        messages.push(conversation.post(&format!("m{n}"), &post, now).unwrap());
    }
    store
        .save(&ChatWrite {
            conversation: Versioned {
                value: conversation,
                version: 0,
            },
            messages,
            alias: None,
            load: None,
        })
        .await
        .unwrap();
    let text = text_contact(&store, "s1").await.unwrap();
    let seqs: Vec<u64> = text.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=121).collect::<Vec<u64>>());
    assert_eq!(text.messages[120].text, "SMS 121");
    assert_eq!(
        text_contact(&store, "nobody").await.unwrap(),
        TextContact::default()
    );
}

#[test]
fn when_a_contact_is_exported_should_carry_the_transcript_only_for_text_channels() {
    let call = record("prg-1:1:1", Channel::Voice, utc("2026-11-27T08:00:00Z"));
    assert_eq!(conversation_of(&call), None);
    let sms = record("chat:s1", Channel::Sms, utc("2026-11-27T08:00:00Z"));
    assert_eq!(conversation_of(&sms), Some("s1"));
    let exported = serde_json::to_value(ExportedContact::of(&call, None)).unwrap();
    assert_eq!(exported["contactId"], "prg-1:1:1");
    assert_eq!(exported["channel"], "voice");
    assert_eq!(exported["messages"], serde_json::Value::Null);
    let message = ChatMessage {
        conversation_id: "s1".into(),
        seq: 1,
        message_id: "m1".into(),
        from: Sender::Agent,
        author: Some("agent01".into()),
        text: "Dobrý den".into(),
        at: utc("2026-11-27T08:00:01Z"),
        client_message_id: Some("x".into()),
        subject: None,
        attachments: vec![crate::chat::Attachment {
            name: "smlouva.pdf".into(),
            content_type: "application/pdf".into(),
            size: 1234,
            key: "attachments/s1/1/0".into(),
        }],
    };
    let text = TextContact {
        subject: None,
        messages: vec![message],
    };
    let exported = serde_json::to_value(ExportedContact::of(&sms, Some(&text))).unwrap();
    assert_eq!(exported["subject"], serde_json::Value::Null);
    assert_eq!(
        exported["messages"],
        json!([{
            "seq": 1, "from": "agent", "author": "agent01", "text": "Dobrý den",
            "at": "2026-11-27T08:00:01.000Z", "subject": null,
            "attachments": [{"name": "smlouva.pdf", "contentType": "application/pdf", "size": 1234}]
        }])
    );
}
