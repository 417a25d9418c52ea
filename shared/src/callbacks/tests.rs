use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::queues::{Exception, Exceptions, Interval, WeeklyHours};
use crate::routing::WaitingCall;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Wednesday 25 November 2026, 10:00 in Prague (CET, UTC+1).
fn now() -> DateTime<Utc> {
    utc("2026-11-25T09:00:00Z")
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn mins(value: i64) -> TimeDelta {
    TimeDelta::minutes(value)
}

fn slot(start: &str, end: &str) -> Slot {
    Slot::new(utc(start), utc(end)).unwrap()
}

fn policy() -> CallbackPolicy {
    CallbackPolicy::default()
}

fn new_callback(id: &str) -> NewCallback {
    NewCallback {
        id: id.to_owned(),
        queue_id: "kkc-obecne".to_owned(),
        number: "601 123 456".to_owned(),
        client_id: None,
        client_name: None,
        source: CallbackSource::Ivr,
        entered_at: Some(now() - mins(5)),
        priority: 5,
        requested_slot: None,
        created_by: CREATED_BY_IVR.to_owned(),
        note: None,
    }
}

fn pending(id: &str) -> Callback {
    Callback::create(new_callback(id), now()).unwrap()
}

fn claimed(id: &str, agent: &str) -> Callback {
    let mut callback = pending(id);
    callback.claim(agent, now(), &policy()).unwrap();
    callback
}

fn iv(sh: u32, sm: u32, eh: u32, em: u32) -> Interval {
    Interval::hm(sh, sm, eh, em).unwrap()
}

fn d(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

/// The demo queue `kkc-obecne` (localstack/demo-config.json): Mon–Thu 07:30–18:00, Fri
/// 07:30–15:00, closed at weekends and on public holidays, 24 Dec closed, 31 Dec 07:30–12:00.
fn kkc_obecne() -> QueueSchedule {
    let long = vec![iv(7, 30, 18, 0)];
    QueueSchedule {
        exceptions: Exceptions(vec![
            Exception::closed(d(2026, 12, 24)),
            Exception::open(d(2026, 12, 31), vec![iv(7, 30, 12, 0)]),
        ]),
        ..QueueSchedule::new(WeeklyHours {
            monday: long.clone(),
            tuesday: long.clone(),
            wednesday: long.clone(),
            thursday: long,
            friday: vec![iv(7, 30, 15, 0)],
            saturday: Vec::new(),
            sunday: Vec::new(),
        })
    }
}

#[test]
fn when_demo_config_is_present_should_match_the_kkc_obecne_fixture() {
    // GIVEN the demo configuration of the local stack (absent when the crate is built alone)
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../localstack/demo-config.json"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let config: serde_json::Value = serde_json::from_str(&text).unwrap();
    // WHEN reading the schedule of kkc-obecne
    let schedule = config["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|doc| doc["collection"] == "queue" && doc["id"] == "kkc-obecne")
        .map(|doc| doc["document"]["schedule"].clone())
        .unwrap();
    // THEN the slot tests use the same hours and exceptions (24 Dec closed, 31 Dec short)
    assert_eq!(
        serde_json::from_value::<QueueSchedule>(schedule).unwrap(),
        kkc_obecne()
    );
}

/// The demo queue `as-asistence`: open all day every day, also on holidays.
fn nonstop() -> QueueSchedule {
    let all = vec![iv(0, 0, 0, 0)];
    QueueSchedule {
        closed_on_public_holidays: false,
        ..QueueSchedule::new(WeeklyHours {
            monday: all.clone(),
            tuesday: all.clone(),
            wednesday: all.clone(),
            thursday: all.clone(),
            friday: all.clone(),
            saturday: all.clone(),
            sunday: all,
        })
    }
}

fn options(look_ahead_hours: u32) -> SlotOptions {
    SlotOptions {
        slot_minutes: 30,
        lead_minutes: 15,
        look_ahead_hours,
    }
}

fn unlimited(_: &Slot) -> u32 {
    10
}

fn none_booked(_: &Slot) -> u32 {
    0
}

// ---------------------------------------------------------------------------------------------
// Creation and serde
// ---------------------------------------------------------------------------------------------

#[test]
fn when_created_without_slot_should_be_pending_due_now_with_e164_number() {
    // GIVEN an IVR request typed as a national number
    // WHEN created
    let callback = pending("cb-1");
    // THEN it is pending, due at once, the number in E.164 and the call's entry kept
    assert_eq!(callback.status, CallbackStatus::Pending);
    assert_eq!(callback.number, "+420601123456");
    assert_eq!(callback.due_at, now());
    assert_eq!(callback.entered_at, now() - mins(5));
    assert!(callback.is_due(now()));
}

#[test]
fn when_created_with_slot_should_be_scheduled_and_due_at_slot_start() {
    // GIVEN a caller-chosen slot tomorrow 08:00–08:30 local
    let chosen = slot("2026-11-26T07:00:00Z", "2026-11-26T07:30:00Z");
    let new = NewCallback {
        requested_slot: Some(chosen),
        ..new_callback("cb-1")
    };
    // WHEN created
    let callback = Callback::create(new, now()).unwrap();
    // THEN it is scheduled and due only when the slot starts
    assert_eq!(callback.status, CallbackStatus::Scheduled);
    assert_eq!(callback.due_at, chosen.start);
    assert!(!callback.is_due(now()));
    assert!(callback.is_due(chosen.start));
}

#[test]
fn when_created_with_bad_input_should_refuse_it() {
    let cases = [
        (
            NewCallback {
                number: "800 123 456".to_owned(),
                ..new_callback("cb-1")
            },
            CallbackError::Number(PhoneError::NotCzech),
        ),
        (
            NewCallback {
                queue_id: "KKC Obecné".to_owned(),
                ..new_callback("cb-1")
            },
            CallbackError::QueueId,
        ),
        (new_callback(" "), CallbackError::Id),
        (
            NewCallback {
                requested_slot: Some(slot("2026-11-24T07:00:00Z", "2026-11-24T07:30:00Z")),
                ..new_callback("cb-1")
            },
            CallbackError::Slot,
        ),
        (
            NewCallback {
                note: Some("   ".to_owned()),
                ..new_callback("cb-1")
            },
            CallbackError::Note,
        ),
    ];
    for (new, error) in cases {
        assert_eq!(Callback::create(new, now()), Err(error));
    }
}

#[test]
fn when_serialised_should_be_camel_case_with_flat_status() {
    // GIVEN a claimed callback from a missed call
    let mut callback = Callback::create(
        NewCallback {
            source: CallbackSource::MissedCall {
                contact_id: "c-1".to_owned(),
            },
            ..new_callback("cb-1")
        },
        now(),
    )
    .unwrap();
    callback.claim("agent01", now(), &policy()).unwrap();
    // WHEN serialised
    let json = serde_json::to_value(&callback).unwrap();
    // THEN the status and the claim sit beside the other fields, times fixed-width UTC
    assert_eq!(json["status"], "inProgress");
    assert_eq!(json["agent"], "agent01");
    assert_eq!(json["claimExpiresAt"], "2026-11-25T09:10:00.000Z");
    assert_eq!(json["queueId"], "kkc-obecne");
    assert_eq!(json["enteredAt"], "2026-11-25T08:55:00.000Z");
    assert_eq!(
        json["source"],
        serde_json::json!({"kind": "missedCall", "contactId": "c-1"})
    );
    // AND it reads back the same
    let back: Callback = serde_json::from_value(json).unwrap();
    assert_eq!(back, callback);
    // AND a closed one reads back too
    callback
        .record_attempt("agent01", AttemptOutcome::Busy, now(), &policy())
        .unwrap();
    let json = serde_json::to_value(&callback).unwrap();
    assert_eq!(json["status"], "pending");
    assert_eq!(json["attempts"][0]["outcome"], "busy");
    assert_eq!(serde_json::from_value::<Callback>(json).unwrap(), callback);
}

// ---------------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------------

#[test]
fn when_due_and_unclaimed_should_let_an_agent_claim_for_the_policy_minutes() {
    // GIVEN a due callback
    let mut callback = pending("cb-1");
    // WHEN agent01 claims it
    callback.claim("agent01", now(), &policy()).unwrap();
    // THEN it is in progress for 10 minutes, then the claim lapses
    assert_eq!(callback.active_claim(now()), Some("agent01"));
    assert_eq!(
        callback.active_claim(now() + mins(9)),
        Some("agent01"),
        "still held"
    );
    assert_eq!(callback.active_claim(now() + mins(10)), None);
    assert!(!callback.is_due(now() + mins(9)));
    assert!(callback.is_due(now() + mins(10)));
}

#[test]
fn when_claimed_by_another_agent_should_refuse_until_the_claim_expires() {
    // GIVEN a callback agent01 claimed
    let mut callback = claimed("cb-1", "agent01");
    // WHEN agent02 (or agent01 again) claims while it holds
    let refused = callback.claim("agent02", now() + mins(5), &policy());
    let again = callback.claim("agent01", now() + mins(5), &policy());
    // THEN refused, naming the holder
    let expected = CallbackError::AlreadyClaimed {
        agent: "agent01".to_owned(),
        until: now() + mins(10),
    };
    assert_eq!(refused, Err(expected.clone()));
    assert_eq!(again, Err(expected));
    // AND after expiry agent02 takes it over, and agent01 can no longer record attempts
    callback
        .claim("agent02", now() + mins(10), &policy())
        .unwrap();
    assert_eq!(callback.active_claim(now() + mins(11)), Some("agent02"));
    assert_eq!(
        callback.record_attempt("agent01", AttemptOutcome::Answered, now(), &policy()),
        Err(CallbackError::NotClaimedBy {
            agent: "agent01".to_owned()
        })
    );
}

#[test]
fn when_claim_expired_but_nobody_took_it_should_let_the_agent_still_record_the_attempt() {
    // GIVEN agent01's claim ran out during a long call
    let mut callback = claimed("cb-1", "agent01");
    // WHEN agent01 records the outcome after expiry
    let status = callback
        .record_attempt(
            "agent01",
            AttemptOutcome::Answered,
            now() + mins(25),
            &policy(),
        )
        .unwrap()
        .clone();
    // THEN it counts
    assert_eq!(status, CallbackStatus::Done);
}

#[test]
fn when_not_due_yet_should_refuse_the_claim() {
    // GIVEN a callback scheduled for tomorrow
    let chosen = slot("2026-11-26T07:00:00Z", "2026-11-26T07:30:00Z");
    let mut callback = Callback::create(
        NewCallback {
            requested_slot: Some(chosen),
            ..new_callback("cb-1")
        },
        now(),
    )
    .unwrap();
    // WHEN claimed today / at the slot's start
    // THEN refused / accepted
    assert_eq!(
        callback.claim("agent01", now(), &policy()),
        Err(CallbackError::NotDue {
            due_at: chosen.start
        })
    );
    assert_eq!(callback.claim("agent01", chosen.start, &policy()), Ok(()));
}

#[test]
fn when_agent_already_holds_a_claim_should_refuse_a_second_one() {
    // GIVEN two due callbacks, agent01 holds the first
    let mut callbacks = vec![pending("cb-1"), pending("cb-2")];
    claim_in(&mut callbacks, "cb-1", "agent01", now(), &policy()).unwrap();
    // WHEN agent01 claims the second
    let refused = claim_in(&mut callbacks, "cb-2", "agent01", now(), &policy());
    // THEN refused; agent02 may; unknown ids are named
    assert_eq!(
        refused,
        Err(CallbackError::AgentHasClaim {
            callback_id: "cb-1".to_owned()
        })
    );
    assert_eq!(
        claim_in(&mut callbacks, "cb-2", "agent02", now(), &policy()),
        Ok(())
    );
    assert_eq!(
        claim_in(&mut callbacks, "cb-9", "agent03", now(), &policy()),
        Err(CallbackError::NotFound {
            id: "cb-9".to_owned()
        })
    );
    // AND once agent01's claim lapsed, agent01 may claim again
    assert_eq!(
        claim_in(
            &mut callbacks,
            "cb-2",
            "agent01",
            now() + mins(10),
            &policy()
        ),
        Ok(())
    );
}

#[test]
fn when_agent_releases_should_be_open_and_due_again() {
    let mut callback = claimed("cb-1", "agent01");
    assert_eq!(
        callback.release("agent02", now()),
        Err(CallbackError::NotClaimedBy {
            agent: "agent02".to_owned()
        })
    );
    callback.release("agent01", now()).unwrap();
    assert_eq!(callback.status, CallbackStatus::Pending);
    assert!(callback.is_due(now()));
}

// ---------------------------------------------------------------------------------------------
// Attempts, retry, limit
// ---------------------------------------------------------------------------------------------

#[test]
fn when_attempt_is_not_claimed_by_the_agent_should_refuse_it() {
    let mut callback = pending("cb-1");
    assert_eq!(
        callback.record_attempt("agent01", AttemptOutcome::NoAnswer, now(), &policy()),
        Err(CallbackError::NotClaimedBy {
            agent: "agent01".to_owned()
        })
    );
    assert!(callback.attempts.is_empty());
}

#[test]
fn when_attempt_ends_the_request_should_close_the_callback_accordingly() {
    for (outcome, status) in [
        (AttemptOutcome::Answered, CallbackStatus::Done),
        (AttemptOutcome::WrongNumber, CallbackStatus::Failed),
        (AttemptOutcome::Cancelled, CallbackStatus::Cancelled),
    ] {
        // GIVEN a claimed callback
        let mut callback = claimed("cb-1", "agent01");
        // WHEN the attempt ends so
        callback
            .record_attempt("agent01", outcome, now() + mins(2), &policy())
            .unwrap();
        // THEN closed, by the agent, at that time
        assert_eq!(callback.status, status);
        assert_eq!(callback.closed_at, Some(now() + mins(2)));
        assert_eq!(callback.closed_by.as_deref(), Some("agent01"));
        assert_eq!(callback.attempts.len(), 1);
    }
}

#[test]
fn when_no_answer_should_retry_after_the_spacing_and_fail_at_the_limit() {
    // GIVEN max 3 attempts, 15 minutes apart
    let policy = policy();
    let mut callback = pending("cb-1");
    let mut at = now();
    for attempt in 1..=3 {
        callback.claim("agent01", at, &policy).unwrap();
        let outcome = if attempt == 2 {
            AttemptOutcome::Busy
        } else {
            AttemptOutcome::NoAnswer
        };
        // WHEN an attempt goes unanswered
        let status = callback
            .record_attempt("agent01", outcome, at, &policy)
            .unwrap()
            .clone();
        if attempt < 3 {
            // THEN pending, not due before the spacing
            assert_eq!(status, CallbackStatus::Pending);
            assert_eq!(callback.due_at, at + mins(15));
            assert!(!callback.is_due(at + mins(14)));
            assert_eq!(
                callback.claim("agent02", at + mins(14), &policy),
                Err(CallbackError::NotDue {
                    due_at: at + mins(15)
                })
            );
            at += mins(15);
        } else {
            // AND the third unanswered attempt fails it
            assert_eq!(status, CallbackStatus::Failed);
            assert_eq!(callback.closed_by.as_deref(), Some(CREATED_BY_SYSTEM));
        }
    }
    assert_eq!(callback.attempts.len(), 3);
    assert!(!callback.is_due(at + mins(60)));
}

// ---------------------------------------------------------------------------------------------
// Done, cancel, reschedule
// ---------------------------------------------------------------------------------------------

#[test]
fn when_marked_done_should_close_unless_another_agent_holds_it() {
    // GIVEN a pending callback and one agent01 holds
    let mut open = pending("cb-1");
    let mut held = claimed("cb-2", "agent01");
    // WHEN marked done
    open.mark_done("agent02", now()).unwrap();
    let refused = held.mark_done("agent02", now());
    // THEN the open one is done; the held one only by its holder
    assert_eq!(open.status, CallbackStatus::Done);
    assert!(matches!(refused, Err(CallbackError::AlreadyClaimed { .. })));
    held.mark_done("agent01", now()).unwrap();
    assert_eq!(held.status, CallbackStatus::Done);
}

#[test]
fn when_cancelled_should_close_even_while_claimed() {
    let mut callback = claimed("cb-1", "agent01");
    callback.cancel("supervisor", now()).unwrap();
    assert_eq!(callback.status, CallbackStatus::Cancelled);
    assert_eq!(callback.closed_by.as_deref(), Some("supervisor"));
    assert_eq!(callback.active_claim(now()), None);
}

#[test]
fn when_closed_should_refuse_every_transition_but_notes() {
    for close in [
        AttemptOutcome::Answered,
        AttemptOutcome::WrongNumber,
        AttemptOutcome::Cancelled,
    ] {
        // GIVEN a closed callback
        let mut callback = claimed("cb-1", "agent01");
        callback
            .record_attempt("agent01", close, now(), &policy())
            .unwrap();
        let status = callback.status.as_str();
        let closed = Err(CallbackError::Closed { status });
        let later = now() + mins(60);
        // WHEN anything is tried
        // THEN refused
        assert_eq!(callback.claim("agent01", later, &policy()), closed);
        assert_eq!(callback.release("agent01", later), closed);
        assert_eq!(
            callback
                .record_attempt("agent01", AttemptOutcome::Answered, later, &policy())
                .map(|_| ()),
            closed
        );
        assert_eq!(callback.mark_done("agent01", later), closed);
        assert_eq!(callback.cancel("agent01", later), closed);
        assert_eq!(
            callback.reschedule(
                slot("2026-11-26T07:00:00Z", "2026-11-26T07:30:00Z"),
                "agent01",
                later
            ),
            closed
        );
        assert!(!callback.is_due(later));
        // AND a note is still history
        callback
            .add_note("agent01", "Klient volal sám.", later)
            .unwrap();
        assert_eq!(callback.status.as_str(), status);
    }
}

#[test]
fn when_rescheduled_should_be_scheduled_at_the_new_slot_with_a_new_attempt_count() {
    // GIVEN a callback with two unanswered attempts, claimed again
    let policy = policy();
    let mut callback = pending("cb-1");
    let mut at = now();
    for _ in 0..2 {
        callback.claim("agent01", at, &policy).unwrap();
        callback
            .record_attempt("agent01", AttemptOutcome::NoAnswer, at, &policy)
            .unwrap();
        at += mins(15);
    }
    callback.claim("agent01", at, &policy).unwrap();
    // WHEN the agent reschedules to tomorrow 08:00 local
    let tomorrow = slot("2026-11-26T07:00:00Z", "2026-11-26T07:30:00Z");
    callback.reschedule(tomorrow, "agent01", at).unwrap();
    // THEN scheduled, the claim gone, due at the slot's start
    assert_eq!(callback.status, CallbackStatus::Scheduled);
    assert_eq!(callback.due_at, tomorrow.start);
    assert_eq!(callback.requested_slot, Some(tomorrow));
    assert_eq!(callback.counted_attempts(), 0);
    // AND an unanswered attempt then does not fail it (new round of 3)
    callback.claim("agent01", tomorrow.start, &policy).unwrap();
    callback
        .record_attempt("agent01", AttemptOutcome::NoAnswer, tomorrow.start, &policy)
        .unwrap();
    assert_eq!(callback.status, CallbackStatus::Pending);
}

#[test]
fn when_reschedule_is_invalid_or_claimed_by_another_should_refuse_it() {
    let mut callback = claimed("cb-1", "agent01");
    let past = slot("2026-11-24T07:00:00Z", "2026-11-24T07:30:00Z");
    let tomorrow = slot("2026-11-26T07:00:00Z", "2026-11-26T07:30:00Z");
    assert_eq!(
        callback.reschedule(past, "agent01", now()),
        Err(CallbackError::Slot)
    );
    assert!(matches!(
        callback.reschedule(tomorrow, "agent02", now()),
        Err(CallbackError::AlreadyClaimed { .. })
    ));
    assert!(Slot::new(tomorrow.end, tomorrow.start).is_none());
}

// ---------------------------------------------------------------------------------------------
// Lost calls and dedup
// ---------------------------------------------------------------------------------------------

fn outcome(result: ContactResult, phase: Option<LostPhase>) -> ContactOutcome {
    ContactOutcome {
        result,
        lost_phase: phase,
        total_ms: 60_000,
        from_ivr_ms: None,
        from_queue_ms: Some(45_000),
        from_ring_ms: None,
        answered_by: None,
        missed_by: Vec::new(),
    }
}

fn lost(contact_id: &str, entered_at: DateTime<Utc>) -> LostCall {
    LostCall {
        contact_id: contact_id.to_owned(),
        queue_id: "kkc-obecne".to_owned(),
        caller: Some("+420601123456".to_owned()),
        entered_at,
        priority: 5,
        outcome: outcome(ContactResult::Abandoned, Some(LostPhase::InQueue)),
        client_id: Some("cl-1".to_owned()),
        client_name: Some("Jana Nováková".to_owned()),
    }
}

fn create_from(action: LostCallAction) -> Callback {
    match action {
        LostCallAction::Create(callback) => *callback,
        other => panic!("expected a new callback, got {other:?}"),
    }
}

#[test]
fn when_call_is_lost_in_queue_should_create_a_pending_callback_keeping_its_place() {
    // GIVEN a call that entered at 09:50 and was abandoned in the queue at 10:00
    let call = lost("c-1", now() - mins(10));
    // WHEN handled
    let callback = create_from(on_lost_call(&call, &mut [], "cb-1", &policy(), now()).unwrap());
    // THEN a pending callback from the missed call, with the original entry and priority
    assert_eq!(callback.status, CallbackStatus::Pending);
    assert_eq!(
        callback.source,
        CallbackSource::MissedCall {
            contact_id: "c-1".to_owned()
        }
    );
    assert_eq!(callback.entered_at, now() - mins(10));
    assert_eq!(callback.created_by, CREATED_BY_SYSTEM);
    assert_eq!(callback.client_id.as_deref(), Some("cl-1"));
    assert!(callback.is_due(now()));
}

#[test]
fn when_same_number_is_lost_again_within_the_window_should_merge_into_the_open_callback() {
    // GIVEN an open callback from a lost call at 10:00
    let mut existing = vec![create_from(
        on_lost_call(
            &lost("c-1", now() - mins(10)),
            &mut [],
            "cb-1",
            &policy(),
            now(),
        )
        .unwrap(),
    )];
    // WHEN the same number is lost again 2 hours later, with a higher priority
    let second = LostCall {
        priority: 7,
        ..lost("c-2", now() + mins(115))
    };
    let action = on_lost_call(&second, &mut existing, "cb-2", &policy(), now() + mins(120));
    // THEN it is merged: still one callback, the earlier place, the higher priority
    assert_eq!(action, Ok(LostCallAction::Merged { index: 0 }));
    let merged = &existing[0];
    assert_eq!(merged.id, "cb-1");
    assert_eq!(merged.entered_at, now() - mins(10));
    assert_eq!(merged.priority, 7);
    assert_eq!(
        merged.merged_calls,
        vec![MergedCall {
            contact_id: "c-2".to_owned(),
            at: now() + mins(120)
        }]
    );
    // AND the window runs from the last merged call
    assert_eq!(merged.last_contact_at(), now() + mins(120));
    // AND a redelivered event changes nothing
    let before = existing.clone();
    for (call, index) in [(lost("c-1", now() - mins(10)), 0), (second, 0)] {
        assert_eq!(
            on_lost_call(&call, &mut existing, "cb-3", &policy(), now() + mins(130)),
            Ok(LostCallAction::AlreadyRecorded { index })
        );
    }
    assert_eq!(existing, before);
}

#[test]
fn when_lost_again_outside_window_or_other_queue_or_closed_should_create_a_new_callback() {
    let policy = CallbackPolicy {
        dedup_window_minutes: 60,
        ..policy()
    };
    let first = || {
        create_from(
            on_lost_call(
                &lost("c-1", now() - mins(10)),
                &mut [],
                "cb-1",
                &policy,
                now(),
            )
            .unwrap(),
        )
    };
    // outside the window
    let mut existing = vec![first()];
    let later = on_lost_call(
        &lost("c-2", now()),
        &mut existing,
        "cb-2",
        &policy,
        now() + mins(61),
    );
    assert!(matches!(later, Ok(LostCallAction::Create(_))));
    // another queue
    let other_queue = LostCall {
        queue_id: "kkc-platby".to_owned(),
        ..lost("c-2", now())
    };
    let action = on_lost_call(
        &other_queue,
        &mut existing,
        "cb-2",
        &policy,
        now() + mins(5),
    );
    assert!(matches!(action, Ok(LostCallAction::Create(_))));
    // the open callback is done already
    existing[0].mark_done("agent01", now()).unwrap();
    let action = on_lost_call(
        &lost("c-2", now()),
        &mut existing,
        "cb-2",
        &policy,
        now() + mins(5),
    );
    assert!(matches!(action, Ok(LostCallAction::Create(_))));
    // the same number written differently still merges
    let mut existing = vec![first()];
    let national = LostCall {
        caller: Some("00420 601 123 456".to_owned()),
        ..lost("c-2", now())
    };
    let action = on_lost_call(&national, &mut existing, "cb-2", &policy, now() + mins(5));
    assert_eq!(action, Ok(LostCallAction::Merged { index: 0 }));
}

#[test]
fn when_lost_call_does_not_qualify_should_ignore_it() {
    let call = lost("c-1", now());
    let off = CallbackPolicy {
        auto_from_missed_calls: false,
        ..policy()
    };
    assert_eq!(
        on_lost_call(&call, &mut [], "cb-1", &off, now()),
        Ok(LostCallAction::Ignored(IgnoredReason::Disabled))
    );
    let withheld = LostCall {
        caller: None,
        ..call.clone()
    };
    let foreign = LostCall {
        caller: Some("+421901123456".to_owned()),
        ..call.clone()
    };
    for call in [withheld, foreign] {
        assert_eq!(
            on_lost_call(&call, &mut [], "cb-1", &policy(), now()),
            Ok(LostCallAction::Ignored(IgnoredReason::NoNumber))
        );
    }
    let overflowed = LostCall {
        outcome: outcome(ContactResult::Overflowed, None),
        ..call.clone()
    };
    assert_eq!(
        on_lost_call(&overflowed, &mut [], "cb-1", &policy(), now()),
        Ok(LostCallAction::Ignored(IgnoredReason::NotLost))
    );
    let queue_only = CallbackPolicy {
        missed_call_phases: vec![LostPhase::InQueue, LostPhase::RingingAgent],
        ..policy()
    };
    let in_ivr = LostCall {
        outcome: outcome(ContactResult::Abandoned, Some(LostPhase::InIvr)),
        ..call
    };
    assert_eq!(
        on_lost_call(&in_ivr, &mut [], "cb-1", &queue_only, now()),
        Ok(LostCallAction::Ignored(IgnoredReason::NotLost))
    );
}

// ---------------------------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------------------------

fn with(id: &str, priority: u8, entered_minutes_ago: i64) -> Callback {
    Callback::create(
        NewCallback {
            priority,
            entered_at: Some(now() - mins(entered_minutes_ago)),
            ..new_callback(id)
        },
        now(),
    )
    .unwrap()
}

#[test]
fn when_ranking_should_order_like_waiting_calls() {
    // GIVEN a callback and a waiting call with the same priority and entry
    let callback = with("cb-1", 5, 10);
    let call = WaitingCall {
        call_id: "call-1".to_owned(),
        queue_id: "kkc-obecne".to_owned(),
        priority: 5,
        entered_at: now() - mins(5),
        queued_at: now() - mins(5),
        offered_to: None,
        sticky: None,
        caller: None,
    };
    // WHEN / THEN the earlier entry (the callback's original call) goes first; priority wins
    assert!(callback.rank() < call.rank());
    assert!(with("cb-2", 4, 60).rank() > call.rank());
}

#[test]
fn when_listing_should_put_due_by_rank_then_scheduled_by_start_then_claimed_then_closed() {
    // GIVEN due callbacks of mixed priority, scheduled ones, one claimed and one done
    let mut late = Callback::create(
        NewCallback {
            requested_slot: Some(slot("2026-11-26T08:00:00Z", "2026-11-26T08:30:00Z")),
            priority: 9,
            ..new_callback("sched-late")
        },
        now(),
    )
    .unwrap();
    let soon = Callback::create(
        NewCallback {
            requested_slot: Some(slot("2026-11-25T12:00:00Z", "2026-11-25T12:30:00Z")),
            ..new_callback("sched-soon")
        },
        now(),
    )
    .unwrap();
    let mut done = with("done", 9, 100);
    done.mark_done("agent01", now()).unwrap();
    let mut held = with("held", 9, 100);
    held.claim("agent01", now(), &policy()).unwrap();
    let mut list = vec![
        done,
        late.clone(),
        with("due-low-old", 3, 60),
        held,
        soon,
        with("due-high-new", 7, 1),
        with("due-high-old", 7, 30),
    ];
    // WHEN sorted at 10:00
    sort_for_agent_list(&mut list, now());
    let ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
    // THEN
    assert_eq!(
        ids,
        [
            "due-high-old",
            "due-high-new",
            "due-low-old",
            "sched-soon",
            "sched-late",
            "held",
            "done"
        ]
    );
    // AND routing takes the best due one, in the agent's queues only, and a scheduled one once
    // its slot started (its original place then counts)
    assert_eq!(
        next_due(&list, &["kkc-obecne"], now()).map(|c| c.id.as_str()),
        Some("due-high-old")
    );
    assert!(next_due(&list, &["kkc-platby"], now()).is_none());
    late.entered_at = now() - mins(600);
    list.push(late);
    let at_slot = utc("2026-11-26T08:00:00Z");
    assert_eq!(
        next_due(&list, &["kkc-obecne"], at_slot).map(|c| c.id.as_str()),
        Some("sched-late")
    );
}

// ---------------------------------------------------------------------------------------------
// Slots
// ---------------------------------------------------------------------------------------------

fn starts(slots: &[Slot]) -> Vec<DateTime<Utc>> {
    slots.iter().map(|slot| slot.start).collect()
}

fn assert_inside_opening_hours(schedule: &QueueSchedule, slots: &[Slot], minutes: i64) {
    for slot in slots {
        assert_eq!(slot.end - slot.start, mins(minutes), "{slot:?}");
        assert!(schedule.is_open(slot.start), "{slot:?}");
        assert!(
            schedule.is_open(slot.end - TimeDelta::seconds(1)),
            "{slot:?}"
        );
    }
}

#[test]
fn when_close_to_closing_time_should_offer_the_last_whole_slot_then_the_next_morning() {
    // GIVEN Wednesday 25 Nov, 16:50 local (15:50Z), lead 15 minutes
    let at = utc("2026-11-25T15:50:00Z");
    // WHEN offering 24 hours ahead
    let slots = offer_slots(&kkc_obecne(), at, &options(24), unlimited, none_booked);
    // THEN 17:30–18:00 local is the last today (17:00 is too soon), then Thursday from 07:30
    assert_eq!(
        slots[0],
        slot("2026-11-25T16:30:00Z", "2026-11-25T17:00:00Z")
    );
    assert_eq!(slots[1].start, utc("2026-11-26T06:30:00Z"));
    // AND Thursday's slots start 07:30–16:30 local (before 16:50, the end of the 24 hours)
    assert_eq!(
        slots.last().map(|s| s.start),
        Some(utc("2026-11-26T15:30:00Z"))
    );
    assert_eq!(slots.len(), 1 + 19);
    assert_inside_opening_hours(&kkc_obecne(), &slots, 30);
}

#[test]
fn when_over_a_weekend_should_offer_nothing_on_saturday_and_sunday() {
    // GIVEN Friday 27 Nov, 14:00 local; Friday closes at 15:00
    let at = utc("2026-11-27T13:00:00Z");
    // WHEN offering 72 hours ahead
    let slots = offer_slots(&kkc_obecne(), at, &options(72), unlimited, none_booked);
    // THEN Friday 14:30, then Monday 07:30 local
    assert_eq!(
        starts(&slots[..3]),
        [
            utc("2026-11-27T13:30:00Z"),
            utc("2026-11-30T06:30:00Z"),
            utc("2026-11-30T07:00:00Z")
        ]
    );
    assert_inside_opening_hours(&kkc_obecne(), &slots, 30);
}

#[test]
fn when_over_christmas_should_skip_24_december_and_the_holidays() {
    // GIVEN Wednesday 23 Dec, 17:00 local, the demo queue (24 Dec closed by exception)
    let at = utc("2026-12-23T16:00:00Z");
    // WHEN offering 5 days ahead
    let slots = offer_slots(&kkc_obecne(), at, &options(120), unlimited, none_booked);
    // THEN 23 Dec 17:30, then nothing until Monday 28 Dec 07:30 (24 exception, 25–26 holidays,
    // 27 Sunday)
    assert_eq!(
        starts(&slots[..2]),
        [utc("2026-12-23T16:30:00Z"), utc("2026-12-28T06:30:00Z")]
    );
    // AND the exception wins even where holidays do not close the queue
    let open_on_holidays = QueueSchedule {
        closed_on_public_holidays: false,
        ..kkc_obecne()
    };
    let slots = offer_slots(&open_on_holidays, at, &options(48), unlimited, none_booked);
    assert!(slots
        .iter()
        .all(|s| s.start.with_timezone(&PRAGUE).date_naive() != d(2026, 12, 24)));
    assert!(slots
        .iter()
        .any(|s| s.start.with_timezone(&PRAGUE).date_naive() == d(2026, 12, 25)));
    // AND 31 Dec (07:30–12:00 exception) ends with 11:30
    let slots = offer_slots(
        &kkc_obecne(),
        utc("2026-12-31T06:00:00Z"),
        &options(12),
        unlimited,
        none_booked,
    );
    assert_eq!(slots.len(), 9);
    assert_eq!(
        slots.last().map(|s| s.start),
        Some(utc("2026-12-31T10:30:00Z"))
    );
}

#[test]
fn when_dst_ends_in_october_should_offer_fifty_slots_on_the_25_hour_day() {
    // GIVEN the nonstop queue and Sunday 25 Oct 2026 (CEST → CET at 03:00)
    let midnight = utc("2026-10-24T22:00:00Z"); // 00:00 CEST
    let at = midnight - mins(15); // lead 15 min
                                  // WHEN offering that day
    let slots = offer_slots(&nonstop(), at, &options(25), unlimited, none_booked);
    // THEN 50 half-hour slots, back to back, to local midnight (23:00Z)
    assert_eq!(slots.len(), 50);
    assert_eq!(slots[0].start, midnight);
    assert_eq!(
        slots.last().map(|s| s.end),
        Some(utc("2026-10-25T23:00:00Z"))
    );
    assert!(slots.windows(2).all(|w| w[0].end == w[1].start));
    assert_inside_opening_hours(&nonstop(), &slots, 30);
    // AND a Sunday 01:00–04:00 interval lasts four real hours
    let sunday = QueueSchedule::new(WeeklyHours {
        sunday: vec![iv(1, 0, 4, 0)],
        ..WeeklyHours::default()
    });
    let slots = offer_slots(&sunday, midnight, &options(24), unlimited, none_booked);
    assert_eq!(slots.len(), 8);
    assert_eq!(slots[0].start, utc("2026-10-24T23:00:00Z"));
    assert_inside_opening_hours(&sunday, &slots, 30);
}

#[test]
fn when_dst_starts_in_march_should_offer_forty_six_slots_on_the_23_hour_day() {
    // GIVEN the nonstop queue and Sunday 28 Mar 2027 (CET → CEST at 02:00)
    let midnight = utc("2027-03-27T23:00:00Z"); // 00:00 CET
    let at = midnight - mins(15);
    // WHEN offering that day
    let slots = offer_slots(&nonstop(), at, &options(23), unlimited, none_booked);
    // THEN 46 slots, back to back, none starting in the gap
    assert_eq!(slots.len(), 46);
    assert_eq!(
        slots.last().map(|s| s.end),
        Some(utc("2027-03-28T22:00:00Z"))
    );
    assert!(slots.windows(2).all(|w| w[0].end == w[1].start));
    assert_inside_opening_hours(&nonstop(), &slots, 30);
    // AND a Sunday 01:00–04:00 interval lasts two real hours (01:00 CET – 04:00 CEST)
    let sunday = QueueSchedule::new(WeeklyHours {
        sunday: vec![iv(1, 0, 4, 0)],
        ..WeeklyHours::default()
    });
    let slots = offer_slots(&sunday, midnight, &options(24), unlimited, none_booked);
    assert_eq!(
        starts(&slots),
        [
            utc("2027-03-28T00:00:00Z"),
            utc("2027-03-28T00:30:00Z"),
            utc("2027-03-28T01:00:00Z"),
            utc("2027-03-28T01:30:00Z")
        ]
    );
    assert_inside_opening_hours(&sunday, &slots, 30);
}

#[test]
fn when_slot_is_full_should_exclude_it_and_check_slot_should_say_so() {
    // GIVEN two callbacks booked 11:00–11:30 local and a capacity of 2 per slot
    let full = slot("2026-11-25T10:00:00Z", "2026-11-25T10:30:00Z");
    let booked: Vec<Callback> = (1..=2)
        .map(|i| {
            Callback::create(
                NewCallback {
                    requested_slot: Some(full),
                    ..new_callback(&format!("cb-{i}"))
                },
                now(),
            )
            .unwrap()
        })
        .collect();
    let capacity = |_: &Slot| 2;
    let count = |s: &Slot| booked_in(&booked, s);
    // WHEN offering
    let slots = offer_slots(&kkc_obecne(), now(), &options(4), capacity, count);
    // THEN 11:00 is left out, its neighbours are offered
    assert!(!slots.contains(&full));
    assert_eq!(
        starts(&slots),
        [
            utc("2026-11-25T09:30:00Z"),
            utc("2026-11-25T10:30:00Z"),
            utc("2026-11-25T11:00:00Z"),
            utc("2026-11-25T11:30:00Z"),
            utc("2026-11-25T12:00:00Z"),
            utc("2026-11-25T12:30:00Z"),
        ]
    );
    assert_eq!(
        check_slot(&kkc_obecne(), now(), &options(4), &full, capacity, count),
        Err(SlotError::Full {
            booked: 2,
            capacity: 2
        })
    );
    // AND a cancelled booking frees its place; zero capacity offers nothing
    let mut freed = booked.clone();
    freed[0].cancel("agent01", now()).unwrap();
    assert_eq!(booked_in(&freed, &full), 1);
    assert!(offer_slots(&kkc_obecne(), now(), &options(4), |_| 0, none_booked).is_empty());
}

#[test]
fn when_checking_a_requested_slot_should_name_why_it_is_not_offered() {
    let schedule = kkc_obecne();
    let opts = options(48);
    let check = |s: Slot| check_slot(&schedule, now(), &opts, &s, unlimited, none_booked);
    // offered: 11:00 local
    assert_eq!(
        check(slot("2026-11-25T10:00:00Z", "2026-11-25T10:30:00Z")),
        Ok(())
    );
    // too soon: 10:00 local is now
    assert_eq!(
        check(slot("2026-11-25T09:00:00Z", "2026-11-25T09:30:00Z")),
        Err(SlotError::TooSoon {
            earliest: now() + mins(15)
        })
    );
    // too far: beyond 48 hours
    assert_eq!(
        check(slot("2026-11-27T10:00:00Z", "2026-11-27T10:30:00Z")),
        Err(SlotError::TooFar {
            latest: now() + TimeDelta::hours(48)
        })
    );
    // after closing, and not aligned to the grid
    for s in [
        slot("2026-11-25T17:00:00Z", "2026-11-25T17:30:00Z"),
        slot("2026-11-25T10:10:00Z", "2026-11-25T10:40:00Z"),
        slot("2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z"),
    ] {
        assert_eq!(check(s), Err(SlotError::NotOffered), "{s:?}");
    }
    let zero = SlotOptions {
        slot_minutes: 0,
        ..opts
    };
    assert_eq!(
        check_slot(
            &schedule,
            now(),
            &zero,
            &slot("2026-11-25T10:00:00Z", "2026-11-25T10:30:00Z"),
            unlimited,
            none_booked
        ),
        Err(SlotError::Options)
    );
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn when_any_instant_should_offer_only_future_open_slots_that_check_slot_accepts(
        offset_minutes in 0i64..(60 * 24 * 400),
    ) {
        // GIVEN any instant over a year and a bit (both DST changes, holidays, exceptions)
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + mins(offset_minutes);
        let schedule = kkc_obecne();
        let opts = options(48);
        // WHEN offering
        let slots = offer_slots(&schedule, at, &opts, unlimited, none_booked);
        // THEN each lies in opening hours, in the window, and passes the check
        for s in &slots {
            prop_assert!(s.start >= at + mins(15));
            prop_assert!(s.start < at + TimeDelta::hours(48));
            prop_assert!(schedule.is_open(s.start));
            prop_assert!(schedule.next_change(s.start).is_some_and(|change| change >= s.end));
            prop_assert_eq!(check_slot(&schedule, at, &opts, s, unlimited, none_booked), Ok(()));
        }
        prop_assert!(slots.windows(2).all(|w| w[0].end <= w[1].start));
    }
}

#[derive(Debug, Clone)]
enum Op {
    Claim(usize, usize),
    Attempt(usize, usize, AttemptOutcome),
    Release(usize, usize),
    Done(usize, usize),
    Cancel(usize, usize),
    Reschedule(usize, usize, i64),
    Wait(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let outcome = prop_oneof![
        Just(AttemptOutcome::NoAnswer),
        Just(AttemptOutcome::Busy),
        Just(AttemptOutcome::Answered),
        Just(AttemptOutcome::WrongNumber),
        Just(AttemptOutcome::Cancelled),
    ];
    prop_oneof![
        4 => (0..4usize, 0..3usize).prop_map(|(c, a)| Op::Claim(c, a)),
        4 => (0..4usize, 0..3usize, outcome).prop_map(|(c, a, o)| Op::Attempt(c, a, o)),
        1 => (0..4usize, 0..3usize).prop_map(|(c, a)| Op::Release(c, a)),
        1 => (0..4usize, 0..3usize).prop_map(|(c, a)| Op::Done(c, a)),
        1 => (0..4usize, 0..3usize).prop_map(|(c, a)| Op::Cancel(c, a)),
        1 => (0..4usize, 0..3usize, 1..600i64).prop_map(|(c, a, m)| Op::Reschedule(c, a, m)),
        3 => (1..30i64).prop_map(Op::Wait),
    ]
}

proptest! {
    #[test]
    fn when_any_sequence_of_operations_should_keep_one_claim_per_agent_and_closed_final(
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        // GIVEN four due callbacks and three agents
        let agents = ["agent01", "agent02", "agent03"];
        let policy = CallbackPolicy { max_attempts: 2, retry_spacing_minutes: 5, ..policy() };
        let mut callbacks: Vec<Callback> =
            (0..4).map(|i| pending(&format!("cb-{i}"))).collect();
        let mut at = now();
        for op in ops {
            let before: Vec<Callback> = callbacks.clone();
            // WHEN any operation is applied (refusals are fine)
            let touched = match op {
                Op::Claim(c, a) => {
                    let id = callbacks[c].id.clone();
                    let _ = claim_in(&mut callbacks, &id, agents[a], at, &policy);
                    c
                }
                Op::Attempt(c, a, outcome) => {
                    let _ = callbacks[c].record_attempt(agents[a], outcome, at, &policy);
                    c
                }
                Op::Release(c, a) => {
                    let _ = callbacks[c].release(agents[a], at);
                    c
                }
                Op::Done(c, a) => {
                    let _ = callbacks[c].mark_done(agents[a], at);
                    c
                }
                Op::Cancel(c, a) => {
                    let _ = callbacks[c].cancel(agents[a], at);
                    c
                }
                Op::Reschedule(c, a, m) => {
                    let start = at + mins(m);
                    let _ = callbacks[c].reschedule(
                        Slot { start, end: start + mins(30) },
                        agents[a],
                        at,
                    );
                    c
                }
                Op::Wait(m) => {
                    at += mins(m);
                    usize::MAX
                }
            };
            // THEN no agent holds two active claims
            for agent in agents {
                let held = callbacks.iter().filter(|cb| cb.active_claim(at) == Some(agent)).count();
                prop_assert!(held <= 1, "{} holds {}", agent, held);
            }
            // AND a closed callback never changes again, and attempts respect the limit
            for (i, (old, new)) in before.iter().zip(&callbacks).enumerate() {
                if old.status.is_terminal() {
                    prop_assert_eq!(old, new);
                }
                prop_assert!(new.counted_attempts() <= policy.max_attempts);
                if i != touched {
                    prop_assert_eq!(old, new);
                }
                if new.status.is_terminal() {
                    prop_assert!(new.closed_at.is_some());
                    prop_assert!(!new.is_due(at));
                }
            }
        }
    }
}
