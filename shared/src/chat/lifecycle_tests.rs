use chrono::{Duration, TimeZone};
use serde_json::json;

use super::*;
use crate::{
    chat::{ChatChannel, ConversationStatus, StartConversation},
    contacts::Channel,
};

fn at(second: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap() + Duration::seconds(second)
}

/// A web chat started at 0 s, with the bot.
fn chat() -> Conversation {
    let start: StartConversation = serde_json::from_value(json!({"clientToken": "t1"})).unwrap();
    Conversation::start("w1", &start, ChatChannel::Web, "m0", at(0)).0
}

/// The conversation's record after `change`, and the records the change adds.
struct Life {
    conversation: Conversation,
    record: Option<ContactRecord>,
}

impl Life {
    fn new(conversation: Conversation) -> Self {
        Self {
            conversation,
            record: None,
        }
    }

    fn step(
        &mut self,
        second: i64,
        change: impl FnOnce(&mut Conversation),
    ) -> Vec<(String, String)> {
        change(&mut self.conversation);
        self.conversation.updated_at = at(second);
        let after = match &self.record {
            Some(before) => {
                let mut after = before.clone();
                after.apply_conversation(&self.conversation);
                after
            }
            None => ContactRecord::from_conversation(&self.conversation),
        };
        let events = chat_events(self.record.as_ref(), &after, &self.conversation);
        self.record = Some(after);
        events
            .iter()
            .map(|event| {
                (
                    event.to.to_string(),
                    format!(
                        "{}ms {} {}",
                        (event.at - at(0)).num_milliseconds(),
                        event.agent.as_deref().unwrap_or("-"),
                        event.queue.as_deref().unwrap_or("-")
                    ),
                )
            })
            .collect()
    }
}

fn queue(conversation: &mut Conversation, queue_id: &str) {
    conversation.status = ConversationStatus::Queued;
    conversation.queue_id = Some(queue_id.to_owned());
    conversation.agent = None;
}

fn assign(conversation: &mut Conversation, agent: &str) {
    conversation.status = ConversationStatus::Assigned;
    conversation.agent = Some(agent.to_owned());
}

fn end(conversation: &mut Conversation, second: i64) {
    conversation.status = ConversationStatus::Ended;
    conversation.ended_at = Some(at(second));
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(to, rest)| ((*to).to_owned(), (*rest).to_owned()))
        .collect()
}

#[test]
fn when_a_chat_is_handed_off_taken_transferred_and_ended_should_record_each_move_once() {
    let mut life = Life::new(chat());
    // With the bot: self-service, no records.
    assert!(life.step(1, |_| {}).is_empty());
    assert_eq!(
        life.step(10, |c| queue(c, "kkc")),
        pairs(&[("arrived", "0ms - -"), ("queued", "10000ms - kkc")])
    );
    assert_eq!(
        life.step(25, |c| assign(c, "agent01")),
        pairs(&[("connected", "25000ms agent01 kkc")])
    );
    // A message changes nothing in the lifecycle.
    assert!(life.step(30, |_| {}).is_empty());
    assert_eq!(
        life.step(60, |c| assign(c, "agent02")),
        pairs(&[
            ("transferred", "60000ms agent01 kkc"),
            ("connected", "60001ms agent02 kkc")
        ])
    );
    assert_eq!(
        life.step(90, |c| queue(c, "as")),
        pairs(&[
            ("transferred", "90000ms agent02 kkc"),
            ("queued", "90001ms - as")
        ])
    );
    assert_eq!(
        life.step(100, |c| assign(c, "agent03")),
        pairs(&[("connected", "100000ms agent03 as")])
    );
    assert_eq!(
        life.step(120, |c| end(c, 120)),
        pairs(&[("done", "120000ms agent03 as")])
    );
    // Ended: nothing follows.
    assert!(life.step(130, |_| {}).is_empty());
}

#[test]
fn when_a_chat_ends_answered_should_carry_the_waits_of_an_answered_contact() {
    let mut conversation = chat();
    queue(&mut conversation, "kkc");
    conversation.updated_at = at(10);
    let mut record = ContactRecord::from_conversation(&conversation);
    assign(&mut conversation, "agent01");
    conversation.updated_at = at(25);
    record.apply_conversation(&conversation);
    let before = record.clone();
    end(&mut conversation, 120);
    conversation.updated_at = at(120);
    record.apply_conversation(&conversation);
    let events = chat_events(Some(&before), &record, &conversation);
    let done = events.last().unwrap();
    assert_eq!(done.from, Some(ContactState::Connected));
    assert_eq!(done.channel, Channel::Chat);
    assert_eq!(done.contact_id, "chat:w1");
    let outcome = done.outcome.as_ref().unwrap();
    assert_eq!(outcome.result, ContactResult::Answered);
    assert_eq!(outcome.total_ms, 120_000);
    assert_eq!(outcome.from_queue_ms, Some(15_000));
}

#[test]
fn when_the_customer_leaves_the_queue_should_record_an_abandon_in_the_queue() {
    let mut life = Life::new(chat());
    life.step(10, |c| queue(c, "kkc"));
    assert_eq!(
        life.step(40, |c| end(c, 40)),
        pairs(&[("abandonedInQueue", "40000ms - kkc")])
    );
    let record = life.record.clone().unwrap();
    let mut before = record.clone();
    before.outcome = None;
    before.ended_at = None;
    let events = chat_events(Some(&before), &record, &life.conversation);
    let outcome = events[0].outcome.as_ref().unwrap();
    assert_eq!(outcome.result, ContactResult::Abandoned);
    assert_eq!(outcome.lost_phase, Some(LostPhase::InQueue));
    assert_eq!(outcome.from_queue_ms, Some(30_000));
}

#[test]
fn when_an_agent_opens_an_sms_should_record_it_connected_from_the_start() {
    let start: StartConversation = serde_json::from_value(
        json!({"clientToken": "t2", "customer": {"phone": "+420777000999"}}),
    )
    .unwrap();
    let (mut sms, _) = Conversation::start("s1", &start, ChatChannel::Sms, "m0", at(0));
    sms.started_by = Some("agent01".to_owned());
    assign(&mut sms, "agent01");
    let mut life = Life::new(sms);
    assert_eq!(
        life.step(0, |_| {}),
        pairs(&[("arrived", "0ms - -"), ("connected", "1ms agent01 -")])
    );
    assert_eq!(
        life.step(300, |c| end(c, 300)),
        pairs(&[("done", "300000ms agent01 -")])
    );
}

#[test]
fn when_the_same_change_is_derived_twice_should_give_the_same_keys() {
    let mut conversation = chat();
    queue(&mut conversation, "kkc");
    conversation.updated_at = at(10);
    let record = ContactRecord::from_conversation(&conversation);
    let first = chat_events(None, &record, &conversation);
    let again = chat_events(None, &record, &conversation);
    assert_eq!(first, again);
    let keys: Vec<String> = first.iter().map(ContactEvent::sort_key).collect();
    assert_eq!(
        keys,
        [
            "2026-11-27T08:00:00.000Z#arrived",
            "2026-11-27T08:00:10.000Z#queued"
        ]
    );
}
