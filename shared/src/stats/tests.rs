//! Behaviour of the desk statistics' counters, summaries and periods.

use chrono::TimeZone;
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::contacts::{Channel, ContactOutcome};

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

/// A call of contact `c1` answered at `answered` (seconds) when given.
fn call(answered: Option<i64>) -> CallState {
    let mut call: CallState = serde_json::from_value(json!({
        "callKey": "prg-1/c1", "relayId": "prg-1", "callId": "c1", "contactId": "c1",
        "channel": "voice", "state": "wrapUp", "queue": "5100",
        "arrivedAt": "2026-11-27T08:00:00Z",
        "last": {"observedAt": "2026-11-27T08:00:00Z", "seq": 1}
    }))
    .unwrap();
    call.answered_at = answered.map(at);
    call
}

fn outcome(result: ContactResult, queue_ms: Option<u64>) -> ContactOutcome {
    ContactOutcome {
        result,
        lost_phase: None,
        total_ms: queue_ms.unwrap_or(0) + 1_000,
        from_ivr_ms: None,
        from_queue_ms: queue_ms,
        from_ring_ms: None,
        answered_by: (result == ContactResult::Answered).then(|| "2001".to_owned()),
        missed_by: Vec::new(),
    }
}

fn record(
    from: ContactState,
    to: ContactState,
    seconds: i64,
    outcome: Option<ContactOutcome>,
) -> ContactEvent {
    ContactEvent {
        contact_id: "c1".into(),
        channel: Channel::Voice,
        from: Some(from),
        to,
        at: at(seconds),
        call_id: Some("c1".into()),
        pilot: Some("5000".into()),
        queue: Some("5100".into()),
        agent_device: None,
        agent: None,
        cause: None,
        outcome,
    }
}

/// The increments as `(scope, field) → amount`.
fn table(increments: &[CounterIncrement]) -> BTreeMap<(String, Counter), u64> {
    let mut table = BTreeMap::new();
    for increment in increments {
        assert_eq!(increment.hour, "2026-11-27T08");
        *table
            .entry((increment.scope.clone(), increment.field))
            .or_default() += increment.amount;
    }
    table
}

#[test]
fn when_a_call_is_answered_within_the_service_level_should_count_it_everywhere_once() {
    // GIVEN a call answered after 15 s in the queue, talked 60 s, wrapped up and done
    let answered = outcome(ContactResult::Answered, Some(15_000));
    let events = [
        record(ContactState::Offered, ContactState::Connected, 15, None),
        record(
            ContactState::Connected,
            ContactState::WrapUp,
            75,
            Some(answered.clone()),
        ),
        record(ContactState::WrapUp, ContactState::Done, 90, Some(answered)),
    ];
    // WHEN its counters are derived
    let increments = increments_for(&events, &call(Some(15)));
    // THEN it counts once, in SL, in all, its queue and its agent, with its talk time
    let table = table(&increments);
    for scope in ["all", "queue#5100"] {
        let get = |field: Counter| table.get(&(scope.to_owned(), field)).copied();
        assert_eq!(get(Counter::Offered), Some(1));
        assert_eq!(get(Counter::Answered), Some(1));
        assert_eq!(get(Counter::AnsweredInSl), Some(1));
        assert_eq!(get(Counter::TalkMs), Some(60_000));
        assert_eq!(get(Counter::Abandoned), None);
    }
    let agent = |field: Counter| table.get(&("agent#2001".to_owned(), field)).copied();
    assert_eq!(agent(Counter::Answered), Some(1));
    assert_eq!(agent(Counter::AnsweredInSl), Some(1));
    assert_eq!(agent(Counter::Offered), None);
}

#[test]
fn when_a_call_is_answered_after_the_service_level_should_not_count_it_in_sl() {
    let events = [record(
        ContactState::Connected,
        ContactState::WrapUp,
        40,
        Some(outcome(ContactResult::Answered, Some(20_001))),
    )];
    let late = table(&increments_for(&events, &call(Some(21))));
    assert_eq!(late.get(&("all".to_owned(), Counter::Answered)), Some(&1));
    assert_eq!(late.get(&("all".to_owned(), Counter::AnsweredInSl)), None);
    // Exactly at the threshold is within it.
    let events = [record(
        ContactState::Connected,
        ContactState::WrapUp,
        40,
        Some(outcome(ContactResult::Answered, Some(20_000))),
    )];
    let edge = table(&increments_for(&events, &call(Some(20))));
    assert_eq!(
        edge.get(&("all".to_owned(), Counter::AnsweredInSl)),
        Some(&1)
    );
}

#[test]
fn when_done_follows_wrap_up_should_count_only_the_wrap_up() {
    let answered = outcome(ContactResult::Answered, Some(5_000));
    let done = record(ContactState::WrapUp, ContactState::Done, 90, Some(answered));
    assert!(!counts(&done));
    assert!(increments_for(std::slice::from_ref(&done), &call(Some(5))).is_empty());
    // A handled call ending straight in `done` (no agent device known) counts there.
    let straight = ContactEvent {
        from: Some(ContactState::Connected),
        ..done
    };
    assert!(counts(&straight));
    assert_eq!(
        table(&increments_for(&[straight], &call(Some(5))))[&("all".to_owned(), Counter::Answered)],
        1
    );
}

#[test]
fn when_a_call_is_abandoned_in_each_phase_should_count_it_once_with_its_phase() {
    for (from, to, phase) in [
        (
            ContactState::Queued,
            ContactState::AbandonedInQueue,
            LostPhase::InQueue,
        ),
        (
            ContactState::Offered,
            ContactState::AbandonedRinging,
            LostPhase::RingingAgent,
        ),
        (
            ContactState::Ivr,
            ContactState::AbandonedInIvr,
            LostPhase::InIvr,
        ),
        (
            ContactState::Arrived,
            ContactState::AbandonedInIvr,
            LostPhase::BeforeIvr,
        ),
    ] {
        let mut lost = outcome(ContactResult::Abandoned, Some(30_000));
        lost.lost_phase = Some(phase);
        let table = table(&increments_for(
            &[record(from, to, 31, Some(lost))],
            &call(None),
        ));
        for scope in ["all", "queue#5100"] {
            assert_eq!(table[&(scope.to_owned(), Counter::Offered)], 1, "{phase:?}");
            assert_eq!(table[&(scope.to_owned(), Counter::Abandoned)], 1);
            assert_eq!(table[&(scope.to_owned(), Counter::abandoned_in(phase))], 1);
            assert!(!table.contains_key(&(scope.to_owned(), Counter::Answered)));
        }
        assert!(table.keys().all(|(scope, _)| !scope.starts_with("agent#")));
    }
}

#[test]
fn when_a_contact_never_waited_for_an_agent_should_not_count_it() {
    let mut lost = outcome(ContactResult::Abandoned, None);
    lost.lost_phase = Some(LostPhase::InIvr);
    let mut event = record(
        ContactState::Ivr,
        ContactState::AbandonedInIvr,
        9,
        Some(lost),
    );
    event.queue = None;
    let mut call = call(None);
    call.queue = None;
    assert!(increments_for(&[event], &call).is_empty());
}

#[test]
fn when_records_of_another_contact_are_in_the_write_should_skip_them() {
    let mut other = record(
        ContactState::Queued,
        ContactState::Unanswered,
        5,
        Some(outcome(ContactResult::Failed, Some(4_000))),
    );
    other.contact_id = "c0".into();
    assert!(increments_for(&[other], &call(None)).is_empty());
}

#[test]
fn when_increments_are_merged_should_sum_per_item_and_field() {
    let increment = |scope: &str, field, amount| CounterIncrement {
        scope: scope.into(),
        hour: "2026-11-27T08".into(),
        field,
        amount,
    };
    let merged = merge(&[
        increment("all", Counter::Offered, 1),
        increment("all", Counter::Offered, 1),
        increment("all", Counter::TalkMs, 0),
        increment("queue#5100", Counter::Answered, 1),
    ]);
    assert_eq!(merged.len(), 2);
    let all = &merged[&("all".to_owned(), "2026-11-27T08".to_owned())];
    assert_eq!(all, &BTreeMap::from([(Counter::Offered, 2)]));
}

fn hour(hour: &str, counts: &[(Counter, u64)]) -> HourCounters {
    HourCounters {
        scope: "all".into(),
        hour: hour.into(),
        counts: counts.iter().copied().collect(),
    }
}

#[test]
fn when_hours_are_summarised_should_sum_the_range_and_derive_the_service_level() {
    let hours = [
        hour(
            "2026-11-26T23",
            &[(Counter::Offered, 100), (Counter::Answered, 100)],
        ),
        hour(
            "2026-11-27T08",
            &[
                (Counter::Offered, 3),
                (Counter::Answered, 2),
                (Counter::AnsweredInSl, 1),
                (Counter::Abandoned, 1),
                (Counter::TalkMs, 121_000),
            ],
        ),
        hour(
            "2026-11-27T09",
            &[(Counter::Offered, 1), (Counter::Failed, 1)],
        ),
    ];
    let summary = summarise(&hours, "2026-11-27T00", "2026-11-27T23");
    assert_eq!(
        summary,
        StatsSummary {
            offered: 4,
            answered: 2,
            lost: 2,
            abandoned: 1,
            answered_in_sl: 1,
            service_level: Some(25.0),
            average_talk_seconds: Some(61),
        }
    );
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["serviceLevel"], 25.0);
    assert_eq!(json["averageTalkSeconds"], 61);
    assert_eq!(json["answeredInSl"], 1);
    // Nothing offered: no service level, no average.
    let empty = summarise(&hours, "2026-11-28T00", "2026-11-28T23");
    assert_eq!(empty.service_level, None);
    assert_eq!(empty.average_talk_seconds, None);
    assert_eq!(
        serde_json::to_value(&empty).unwrap()["serviceLevel"],
        serde_json::Value::Null
    );
    // One decimal: 2 of 3 = 66.7 %.
    let third = [hour(
        "2026-11-27T08",
        &[(Counter::Offered, 3), (Counter::AnsweredInSl, 2)],
    )];
    assert_eq!(
        summarise(&third, "2026-11-27T08", "2026-11-27T08").service_level,
        Some(66.7)
    );
}

#[test]
fn when_a_period_ends_now_should_span_whole_hours_up_to_the_current_one() {
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 8, 35, 12).unwrap();
    let day = period_range(StatsPeriod::Day, now);
    assert_eq!(
        day.from,
        Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap()
    );
    assert_eq!(day.to, now);
    assert_eq!(day.from_hour, "2026-11-26T09");
    assert_eq!(day.to_hour, "2026-11-27T08");
    assert_eq!(
        period_range(StatsPeriod::Month, now).from_hour,
        "2026-10-28T09"
    );
    assert_eq!(
        period_range(StatsPeriod::Week, now).from_hour,
        "2026-11-20T09"
    );
    assert_eq!(
        period_range(StatsPeriod::TwoWeeks, now).from_hour,
        "2026-11-13T09"
    );
    assert_eq!(
        serde_json::to_value(StatsPeriod::ALL).unwrap(),
        json!(["24h", "7d", "14d", "30d"])
    );
    for period in StatsPeriod::ALL {
        assert_eq!(serde_json::to_value(period).unwrap(), period.as_str());
    }
    assert_eq!(hour_key(now), "2026-11-27T08");
    assert_eq!(
        start_of_hour(now),
        Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap()
    );
}

proptest! {
    #[test]
    fn when_hours_are_summarised_should_keep_the_service_level_a_percentage(
        offered in 0u64..10_000, in_sl in 0u64..10_000, answered in 0u64..10_000,
    ) {
        let hours = [hour("2026-11-27T08", &[
            (Counter::Offered, offered),
            (Counter::Answered, answered),
            (Counter::AnsweredInSl, in_sl),
        ])];
        let summary = summarise(&hours, "2026-11-27T00", "2026-11-27T23");
        prop_assert_eq!(summary.service_level.is_none(), offered == 0);
        if let Some(level) = summary.service_level {
            prop_assert!((0.0..=100.0).contains(&level));
        }
        prop_assert_eq!(summary.lost + summary.answered.min(offered), offered);
    }
}

#[test]
fn when_an_hour_is_counted_should_expire_four_hundred_days_after_it_began() {
    let hour = hour_key(
        DateTime::parse_from_rfc3339("2026-11-27T08:59:59Z")
            .unwrap()
            .with_timezone(&Utc),
    );
    let expected = DateTime::parse_from_rfc3339("2028-01-01T08:00:00Z")
        .unwrap()
        .timestamp();
    assert_eq!(expires_at(&hour), Some(expected));
    assert_eq!(expires_at("not-an-hour"), None);
}
