use chrono::TimeDelta;
use proptest::prelude::*;

use super::*;

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

fn attributes() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("problem".to_owned(), "prukaz".to_owned()),
        ("insuranceNumber".to_owned(), "8001011234".to_owned()),
    ])
}

fn recorded(call_key: &str, at: DateTime<Utc>) -> Voicemail {
    Voicemail::from_recording(
        call_key,
        "kkc-obecne",
        Some("601 123 456"),
        attributes(),
        &voicemail_audio_key("kkc-obecne", call_key),
        42_000,
        at,
    )
    .unwrap()
}

fn fresh() -> Voicemail {
    recorded("relay-1/call-17", now())
}

fn assigned(agent: &str) -> Voicemail {
    let mut voicemail = fresh();
    voicemail.assign(agent, agent, false, now()).unwrap();
    voicemail
}

// ---------------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------------

#[test]
fn when_a_recording_is_stored_should_make_a_new_voicemail_with_an_e164_caller() {
    // GIVEN a recording of a Czech caller
    // WHEN the record is made
    let voicemail = fresh();
    // THEN it is new, with the number in E.164, the attributes and the times
    assert_eq!(voicemail.status, VoicemailStatus::New);
    assert_eq!(voicemail.caller.as_deref(), Some("+420601123456"));
    assert_eq!(voicemail.queue_id, "kkc-obecne");
    assert_eq!(voicemail.call_key, "relay-1/call-17");
    assert_eq!(voicemail.duration_ms, 42_000);
    assert_eq!(voicemail.attributes, attributes());
    assert_eq!(voicemail.recorded_at, now());
    assert_eq!(voicemail.created_at, now());
    assert_eq!(voicemail.updated_at, now());
    assert!(voicemail.notes.is_empty());
    assert!(voicemail.is_active());
}

#[test]
fn when_the_same_call_is_reported_twice_should_derive_the_same_id_and_key() {
    // GIVEN two reports of one call and one of another
    let first = recorded("relay-1/call-17", now());
    let again = recorded("relay-1/call-17", now() + mins(1));
    let other = recorded("relay-1/call-18", now());
    // THEN the id is a UUID derived from the call key, and the audio key contains it
    assert_eq!(first.id, again.id);
    assert_ne!(first.id, other.id);
    assert_eq!(Uuid::parse_str(&first.id).unwrap().get_version_num(), 5);
    assert_eq!(
        voicemail_audio_key("kkc-obecne", "relay-1/call-17"),
        format!("voicemail/kkc-obecne/{}.wav", first.id)
    );
}

#[test]
fn when_the_caller_is_foreign_withheld_or_garbage_should_keep_it_raw_or_drop_it() {
    let make = |caller: Option<&str>| {
        Voicemail::from_recording("c1", "kkc", caller, BTreeMap::new(), "k.wav", 1, now())
            .unwrap()
            .caller
    };
    assert_eq!(
        make(Some("+49 30 1234567")).as_deref(),
        Some("+49 30 1234567")
    );
    assert_eq!(make(Some("2001")).as_deref(), Some("2001"));
    assert_eq!(
        make(Some("00420 601 123 456")).as_deref(),
        Some("+420601123456")
    );
    assert_eq!(make(None), None);
    assert_eq!(make(Some("   ")), None);
    assert_eq!(make(Some("1\n2")), None);
    assert_eq!(make(Some(&"9".repeat(MAX_CALLER_CHARS + 1))), None);
}

#[test]
fn when_the_recording_report_is_incomplete_should_refuse_it() {
    let make = |call_key: &str, queue: &str, audio: &str, attributes: BTreeMap<String, String>| {
        Voicemail::from_recording(call_key, queue, None, attributes, audio, 1, now())
    };
    assert_eq!(
        make(" ", "kkc", "k.wav", BTreeMap::new()),
        Err(VoicemailError::CallKey)
    );
    assert_eq!(
        make("c1", "KKC obecné!", "k.wav", BTreeMap::new()),
        Err(VoicemailError::QueueId)
    );
    assert_eq!(
        make("c1", "kkc", "", BTreeMap::new()),
        Err(VoicemailError::AudioKey)
    );
    let long_value = BTreeMap::from([(
        "problem".to_owned(),
        "x".repeat(MAX_ATTRIBUTE_VALUE_CHARS + 1),
    )]);
    assert_eq!(
        make("c1", "kkc", "k.wav", long_value),
        Err(VoicemailError::Attribute {
            name: "problem".into()
        })
    );
    let too_many: BTreeMap<String, String> = (0..=MAX_ATTRIBUTES)
        .map(|i| (format!("a{i:02}"), "v".to_owned()))
        .collect();
    assert!(matches!(
        make("c1", "kkc", "k.wav", too_many),
        Err(VoicemailError::Attribute { .. })
    ));
}

#[test]
fn when_serialised_should_use_camel_case_with_the_status_flattened() {
    // GIVEN an assigned voicemail
    let voicemail = assigned("jana");
    // WHEN serialised
    let json = serde_json::to_value(&voicemail).unwrap();
    // THEN the status and its fields sit beside the others, and it reads back the same
    assert_eq!(json["status"], "assigned");
    assert_eq!(json["agent"], "jana");
    assert_eq!(json["assignedBy"], "jana");
    assert_eq!(json["assignedAt"], "2026-11-25T09:00:00.000Z");
    assert_eq!(json["recordedAt"], "2026-11-25T09:00:00.000Z");
    assert_eq!(json["durationMs"], 42_000);
    assert_eq!(json["callKey"], "relay-1/call-17");
    assert_eq!(json["attributes"]["insuranceNumber"], "8001011234");
    assert!(json.get("notes").is_none());
    let back: Voicemail = serde_json::from_value(json).unwrap();
    assert_eq!(back, voicemail);
    let mut done = fresh();
    done.mark_done("petr", false, now() + mins(3)).unwrap();
    let json = serde_json::to_value(&done).unwrap();
    assert_eq!(json["status"], "done");
    assert_eq!(json["doneBy"], "petr");
    assert_eq!(json["doneAt"], "2026-11-25T09:03:00.000Z");
}

// ---------------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------------

#[test]
fn when_an_agent_assigns_a_new_voicemail_to_themselves_should_be_assigned() {
    // GIVEN a new voicemail
    let mut voicemail = fresh();
    // WHEN Jana takes it
    voicemail
        .assign("jana", "jana", false, now() + mins(1))
        .unwrap();
    // THEN it is hers
    assert_eq!(voicemail.assignee(), Some("jana"));
    assert_eq!(voicemail.updated_at, now() + mins(1));
    // AND taking it again changes nothing
    let before = voicemail.clone();
    voicemail
        .assign("jana", "jana", false, now() + mins(2))
        .unwrap();
    assert_eq!(voicemail, before);
}

#[test]
fn when_an_agent_assigns_someone_else_should_refuse_unless_supervisor() {
    let mut voicemail = fresh();
    assert_eq!(
        voicemail.assign("petr", "jana", false, now()),
        Err(VoicemailError::NotAllowed)
    );
    assert_eq!(voicemail, fresh());
    voicemail.assign("petr", "vera", true, now()).unwrap();
    assert_eq!(
        voicemail.status,
        VoicemailStatus::Assigned {
            agent: "petr".into(),
            assigned_at: now(),
            assigned_by: "vera".into()
        }
    );
}

#[test]
fn when_another_agent_takes_an_assigned_voicemail_should_refuse_unless_supervisor() {
    let mut voicemail = assigned("jana");
    assert_eq!(
        voicemail.assign("petr", "petr", false, now()),
        Err(VoicemailError::AssignedTo {
            agent: "jana".into()
        })
    );
    voicemail.assign("petr", "vera", true, now()).unwrap();
    assert_eq!(voicemail.assignee(), Some("petr"));
}

#[test]
fn when_an_empty_agent_is_given_should_refuse() {
    let mut voicemail = fresh();
    assert_eq!(
        voicemail.assign(" ", "vera", true, now()),
        Err(VoicemailError::Agent)
    );
    assert_eq!(
        voicemail.mark_done("", true, now()),
        Err(VoicemailError::Agent)
    );
}

#[test]
fn when_the_assignee_releases_should_be_new_again_and_others_refused() {
    let mut voicemail = assigned("jana");
    assert_eq!(
        voicemail.release("petr", false, now()),
        Err(VoicemailError::AssignedTo {
            agent: "jana".into()
        })
    );
    voicemail.release("jana", false, now() + mins(1)).unwrap();
    assert_eq!(voicemail.status, VoicemailStatus::New);
    assert_eq!(
        voicemail.release("jana", false, now()),
        Err(VoicemailError::NotAssigned)
    );
    // A supervisor may release someone else's.
    let mut voicemail = assigned("jana");
    voicemail.release("vera", true, now()).unwrap();
    assert_eq!(voicemail.status, VoicemailStatus::New);
}

#[test]
fn when_marked_done_should_allow_only_the_assignee_or_a_supervisor() {
    // A new one: anyone of the queue.
    let mut voicemail = fresh();
    voicemail.mark_done("petr", false, now() + mins(5)).unwrap();
    assert_eq!(voicemail.done_at(), Some(now() + mins(5)));
    assert!(!voicemail.is_active());
    // An assigned one: not another agent.
    let mut voicemail = assigned("jana");
    assert_eq!(
        voicemail.mark_done("petr", false, now()),
        Err(VoicemailError::AssignedTo {
            agent: "jana".into()
        })
    );
    voicemail.mark_done("jana", false, now()).unwrap();
    // A supervisor may.
    let mut voicemail = assigned("jana");
    voicemail.mark_done("vera", true, now()).unwrap();
    assert_eq!(
        voicemail.status,
        VoicemailStatus::Done {
            done_by: "vera".into(),
            done_at: now()
        }
    );
}

#[test]
fn when_done_should_refuse_every_transition_but_notes() {
    // GIVEN a done voicemail
    let mut voicemail = fresh();
    voicemail.mark_done("jana", false, now()).unwrap();
    let done = voicemail.clone();
    // WHEN anything but a note is tried, even by a supervisor
    assert_eq!(
        voicemail.assign("jana", "jana", false, now()),
        Err(VoicemailError::Done)
    );
    assert_eq!(
        voicemail.assign("petr", "vera", true, now()),
        Err(VoicemailError::Done)
    );
    assert_eq!(
        voicemail.release("vera", true, now()),
        Err(VoicemailError::Done)
    );
    assert_eq!(
        voicemail.mark_done("vera", true, now()),
        Err(VoicemailError::Done)
    );
    // THEN nothing changed
    assert_eq!(voicemail, done);
    // AND a note is still taken
    voicemail
        .add_note("jana", "Klientka zavolala znovu.", now() + mins(1))
        .unwrap();
    assert_eq!(voicemail.notes.len(), 1);
    assert_eq!(voicemail.status, done.status);
}

#[test]
fn when_a_note_is_empty_or_too_long_should_refuse_it() {
    let mut voicemail = fresh();
    assert_eq!(
        voicemail.add_note("jana", "  ", now()),
        Err(VoicemailError::Note)
    );
    assert_eq!(
        voicemail.add_note("jana", &"ř".repeat(MAX_NOTE_CHARS + 1), now()),
        Err(VoicemailError::Note)
    );
    voicemail
        .add_note("jana", &"ř".repeat(MAX_NOTE_CHARS), now() + mins(1))
        .unwrap();
    assert_eq!(voicemail.notes[0].by, "jana");
    assert_eq!(voicemail.notes[0].at, now() + mins(1));
    assert_eq!(voicemail.updated_at, now() + mins(1));
}

// ---------------------------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------------------------

#[test]
fn when_sorted_for_agents_should_show_new_oldest_first_then_assigned_then_done_latest_first() {
    // GIVEN new, assigned and done voicemails in a shuffled order
    let new_late = recorded("new-late", now());
    let new_early = recorded("new-early", now() - mins(30));
    let mut assigned_one = recorded("assigned", now() - mins(60));
    assigned_one.assign("jana", "jana", false, now()).unwrap();
    let mut done_early = recorded("done-early", now() - mins(90));
    done_early
        .mark_done("jana", false, now() - mins(20))
        .unwrap();
    let mut done_late = recorded("done-late", now() - mins(120));
    done_late
        .mark_done("jana", false, now() - mins(10))
        .unwrap();
    let mut list = vec![
        done_early.clone(),
        new_late.clone(),
        assigned_one.clone(),
        done_late.clone(),
        new_early.clone(),
    ];
    // WHEN sorted
    sort_for_agent_list(&mut list);
    // THEN
    let keys: Vec<&str> = list.iter().map(|v| v.call_key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "new-early",
            "new-late",
            "assigned",
            "done-late",
            "done-early"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Assign(usize, usize, bool),
    Release(usize, bool),
    Done(usize, bool),
    Note(usize),
    Wait(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..3usize, any::<bool>()).prop_map(|(a, b, o)| Op::Assign(a, b, o)),
        2 => (0..3usize, any::<bool>()).prop_map(|(b, o)| Op::Release(b, o)),
        2 => (0..3usize, any::<bool>()).prop_map(|(b, o)| Op::Done(b, o)),
        1 => (0..3usize).prop_map(Op::Note),
        2 => (1..30i64).prop_map(Op::Wait),
    ]
}

/// The voicemail without what a note changes.
fn without_notes(voicemail: &Voicemail) -> Voicemail {
    Voicemail {
        notes: Vec::new(),
        updated_at: voicemail.created_at,
        ..voicemail.clone()
    }
}

proptest! {
    #[test]
    fn when_any_sequence_of_transitions_should_leave_a_done_voicemail_unchanged_but_notes(
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        // GIVEN a new voicemail and three people
        let people = ["jana", "petr", "vera"];
        let mut voicemail = fresh();
        let mut at = now();
        let mut done: Option<Voicemail> = None;
        for op in ops {
            let before = voicemail.clone();
            // WHEN any operation is applied (refusals are fine)
            let result = match op {
                Op::Assign(a, b, o) => voicemail.assign(people[a], people[b], o, at),
                Op::Release(b, o) => voicemail.release(people[b], o, at),
                Op::Done(b, o) => voicemail.mark_done(people[b], o, at),
                Op::Note(b) => voicemail.add_note(people[b], "Volat po 14:00.", at),
                Op::Wait(m) => {
                    at += mins(m);
                    Ok(())
                }
            };
            // THEN a refused operation changes nothing
            if result.is_err() {
                prop_assert_eq!(&before, &voicemail);
            }
            // AND once done, only notes (and the time of the last change) ever change
            if let Some(done) = &done {
                prop_assert_eq!(without_notes(done), without_notes(&voicemail));
                prop_assert!(voicemail.notes.starts_with(&done.notes));
            } else if voicemail.status.is_terminal() {
                done = Some(voicemail.clone());
            }
            // AND an assigned voicemail always names an agent
            if let Some(agent) = voicemail.assignee() {
                prop_assert!(people.contains(&agent));
            }
        }
    }
}
