//! Text conversations in the one event model (issue 7): the lifecycle records
//! ([`ContactEvent`], `ContactEventsTable`) of chats, SMS, e-mails and social messages, as calls
//! have them — so reports count every channel from the same records.
//!
//! A conversation enters the contact centre when it first waits in a queue or an agent holds
//! it (an SMS or e-mail an agent opens); a chat that stays with the bot is self-service and has
//! no records. Its moves: `arrived` → `queued` → `connected` (an agent holds it) →
//! `transferred` (to another agent or queue) → … → `done` (ended after an agent had it, outcome
//! answered) or `abandonedInQueue` (ended while waiting, outcome abandoned in the queue).
//!
//! [`chat_events`] derives the records of one change from the conversation's contact record
//! before and after it (`ContactRecord::apply_conversation`). Every record's time comes from the
//! conversation (its start, queue entry, change or end; two moves of one change 1 ms apart, so
//! they sort in order), so deriving the same change again gives the same keys (`contactId`,
//! `at`, `to`) and storing them again changes nothing.

use chrono::{DateTime, Utc};

use crate::{
    chat::Conversation,
    contact_records::{ContactRecord, RecordOutcome},
    contacts::{elapsed_ms, ContactEvent, ContactOutcome, ContactResult, ContactState, LostPhase},
};

/// Where a conversation's record says it is; `None` before it reached the contact centre.
fn stage(record: &ContactRecord) -> Option<ContactState> {
    if record.queued_at.is_none() && record.holder.is_none() && record.agents.is_empty() {
        return None;
    }
    Some(match record.outcome {
        Some(RecordOutcome::Handled) => ContactState::Done,
        Some(_) => ContactState::AbandonedInQueue,
        None if record.holder.is_some() => ContactState::Connected,
        None => ContactState::Queued,
    })
}

/// The records one change of a conversation adds to its lifecycle: `before` and `after` are its
/// contact record around the change (`before` `None`: the first).
pub fn chat_events(
    before: Option<&ContactRecord>,
    after: &ContactRecord,
    conversation: &Conversation,
) -> Vec<ContactEvent> {
    let Some(target) = stage(after) else {
        return Vec::new();
    };
    let mut steps = Steps {
        after,
        events: Vec::new(),
        current: before.and_then(stage),
    };
    let changed_at = conversation.updated_at;
    if steps.current.is_some_and(ContactState::is_terminal) {
        return Vec::new();
    }
    let first_seen = steps.current.is_none();
    if first_seen {
        steps.push(ContactState::Arrived, after.started_at, None, None, None);
    }
    // Away from the agent who held it, or from the queue it waited in.
    if let Some(before) = before {
        let from_agent = steps.current == Some(ContactState::Connected)
            && match target {
                ContactState::Connected => before.holder != after.holder,
                ContactState::Queued => true,
                _ => false,
            };
        let from_queue = steps.current == Some(ContactState::Queued)
            && target == ContactState::Queued
            && before.queue_id != after.queue_id;
        if from_agent || from_queue {
            steps.push(
                ContactState::Transferred,
                changed_at,
                before.holder.clone(),
                before.queue_id.clone(),
                Some("chatTransfer"),
            );
        }
    }
    // Through the queue, if it waited in one and the records do not say so yet.
    if steps.current == Some(ContactState::Arrived) {
        if let Some(queued_at) = after.queued_at {
            steps.push(
                ContactState::Queued,
                queued_at,
                None,
                after.queue_id.clone(),
                None,
            );
        }
    }
    if target == ContactState::Queued && steps.current != Some(ContactState::Queued) {
        steps.push(
            ContactState::Queued,
            changed_at,
            None,
            after.queue_id.clone(),
            None,
        );
    }
    // To the agent: when they took it first, or now after a transfer.
    let reaches_agent = match target {
        ContactState::Connected => steps.current != Some(ContactState::Connected),
        ContactState::Done => !matches!(steps.current, Some(ContactState::Connected)),
        _ => false,
    };
    if reaches_agent {
        // First seen now (the records start here): when the agent first had it; else now.
        let at = if first_seen {
            after.answered_at.unwrap_or(changed_at)
        } else {
            changed_at
        };
        steps.push(
            ContactState::Connected,
            at,
            after.holder.clone(),
            after.queue_id.clone(),
            None,
        );
    }
    if target.is_terminal() {
        let ended_at = after.ended_at.unwrap_or(changed_at);
        let outcome = outcome(after, target, ended_at);
        steps.push(
            target,
            ended_at,
            after.holder.clone(),
            after.queue_id.clone(),
            Some("ended"),
        );
        if let Some(last) = steps.events.last_mut() {
            last.outcome = Some(outcome);
        }
    }
    steps.events
}

fn outcome(record: &ContactRecord, to: ContactState, ended_at: DateTime<Utc>) -> ContactOutcome {
    let answered = to == ContactState::Done;
    let waited_until = if answered {
        record.answered_at.unwrap_or(ended_at)
    } else {
        ended_at
    };
    ContactOutcome {
        result: if answered {
            ContactResult::Answered
        } else {
            ContactResult::Abandoned
        },
        lost_phase: (!answered).then_some(LostPhase::InQueue),
        total_ms: elapsed_ms(record.started_at, ended_at),
        from_ivr_ms: None,
        from_queue_ms: record
            .queued_at
            .map(|queued_at| elapsed_ms(queued_at, waited_until)),
        from_ring_ms: None,
        answered_by: None,
        missed_by: Vec::new(),
    }
}

struct Steps<'a> {
    after: &'a ContactRecord,
    events: Vec<ContactEvent>,
    current: Option<ContactState>,
}

impl Steps<'_> {
    fn push(
        &mut self,
        to: ContactState,
        at: DateTime<Utc>,
        agent: Option<String>,
        queue: Option<String>,
        cause: Option<&str>,
    ) {
        // Records of one change at the same instant (a transfer and the new agent) keep their
        // order in the table, which sorts a contact's records by time: each is at least 1 ms
        // after the one before.
        let at = match self.events.last() {
            Some(last) if last.at >= at => last.at + chrono::Duration::milliseconds(1),
            _ => at,
        };
        self.events.push(ContactEvent {
            contact_id: self.after.contact_id.clone(),
            channel: self.after.channel,
            from: self.current,
            to,
            at,
            call_id: None,
            pilot: None,
            queue,
            agent_device: None,
            agent,
            cause: cause.map(str::to_owned),
            outcome: None,
        });
        self.current = Some(to);
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
