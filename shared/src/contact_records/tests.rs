use std::collections::BTreeMap;

use chrono::TimeZone;
use proptest::prelude::*;
use serde_json::json;

use super::*;

fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, second).unwrap()
}

fn users() -> BTreeMap<String, String> {
    [("2001", "agent01"), ("2002", "agent02")]
        .into_iter()
        .map(|(d, u)| (d.to_owned(), u.to_owned()))
        .collect()
}

fn queues() -> BTreeMap<String, String> {
    [("5100".to_owned(), "kkc-obecne".to_owned())].into()
}

/// A call state as CallsTable stores it, with `extra` fields merged in.
fn call(extra: serde_json::Value) -> CallState {
    let mut value = json!({
        "callKey": "prg-1/c1", "relayId": "prg-1", "callId": "c1", "contactId": "prg-1:1:1",
        "channel": "voice", "state": "queued", "customer": "+420777123456", "dialled": "4000",
        "queue": "5100", "arrivedAt": "2026-11-27T08:00:00Z",
        "last": {"observedAt": "2026-11-27T08:00:01Z", "seq": 2},
        "appliedEventIds": ["e1", "e2"]
    });
    for (key, field) in extra.as_object().unwrap() {
        value[key] = field.clone();
    }
    serde_json::from_value(value).unwrap()
}

fn answered() -> CallState {
    call(json!({
        "state": "wrapUp", "agentDevice": "2001", "answeredBy": "2001",
        "answeredAt": "2026-11-27T08:00:05Z", "endedAt": "2026-11-27T08:01:05Z",
        "appliedEventIds": ["e1", "e2", "e3", "e4", "e5"]
    }))
}

#[test]
fn when_an_inbound_call_was_answered_should_project_direction_queue_agent_times_and_outcome() {
    let update = record_from_call(&answered(), &users(), &queues()).unwrap();
    let record = ContactRecord::from_update(&update);
    assert_eq!(record.direction, Direction::Inbound);
    assert_eq!(record.number.as_deref(), Some("+420777123456"));
    assert_eq!(record.dialled.as_deref(), Some("4000"));
    assert_eq!(record.queue_id.as_deref(), Some("kkc-obecne"));
    assert_eq!(record.agents, ["agent01"]);
    assert_eq!(record.started_at, at(0));
    assert_eq!(record.answered_at, Some(at(5)));
    assert_eq!(record.duration_seconds, Some(60));
    assert_eq!(record.outcome, Some(RecordOutcome::Handled));
}

#[test]
fn when_no_agent_device_takes_part_should_project_nothing() {
    assert_eq!(
        record_from_call(&call(json!({})), &users(), &queues()),
        None
    );
    let lost = call(json!({"state": "abandonedInQueue", "endedAt": "2026-11-27T08:00:30Z"}));
    assert_eq!(record_from_call(&lost, &users(), &queues()), None);
}

#[test]
fn when_an_agent_only_rang_should_project_a_record_without_participants() {
    let ringing = call(json!({"state": "offered", "agentDevice": "2001",
        "ringing": {"2001": "2026-11-27T08:00:03Z"}}));
    let update = record_from_call(&ringing, &users(), &queues()).unwrap();
    assert!(update.agents.is_empty());
    let record = ContactRecord::from_update(&update);
    assert!(!record.may_edit("agent01", false));
}

#[test]
fn when_an_agent_dials_out_or_calls_a_colleague_should_be_outbound_or_internal() {
    let outbound = call(
        json!({"customer": "2001", "dialled": "+420601000111", "queue": null,
        "state": "connected", "connections": {"2001": "connected", "+420601000111": "connected"},
        "answeredBy": "+420601000111", "answeredAt": "2026-11-27T08:00:04Z"}),
    );
    let update = record_from_call(&outbound, &users(), &queues()).unwrap();
    assert_eq!(update.direction, Direction::Outbound);
    assert_eq!(update.number.as_deref(), Some("+420601000111"));
    assert_eq!(update.agents, ["agent01"]);
    let internal = call(json!({"customer": "2001", "dialled": "2002", "queue": null,
        "state": "connected", "connections": {"2001": "connected", "2002": "connected"},
        "answeredBy": "2002", "answeredAt": "2026-11-27T08:00:04Z"}));
    let update = record_from_call(&internal, &users(), &queues()).unwrap();
    assert_eq!(update.direction, Direction::Internal);
    assert_eq!(update.agents, ["agent01", "agent02"]);
}

#[test]
fn when_a_call_is_transferred_should_keep_every_agent_in_order_of_involvement() {
    let first = answered();
    let mut record =
        ContactRecord::from_update(&record_from_call(&first, &users(), &queues()).unwrap());
    let transferred = call(json!({
        "state": "connected", "agentDevice": "2002", "answeredBy": "2001",
        "connections": {"2002": "connected"}, "answeredAt": "2026-11-27T08:00:05Z",
        "appliedEventIds": ["e1", "e2", "e3", "e4", "e5", "e6"]
    }));
    assert!(record.apply_cti(&record_from_call(&transferred, &users(), &queues()).unwrap()));
    assert_eq!(record.agents, ["agent01", "agent02"]);
    assert_eq!(record.outcome, None);
}

#[test]
fn when_an_older_call_state_arrives_after_a_newer_one_should_keep_the_newer_fields() {
    let newer = record_from_call(&answered(), &users(), &queues()).unwrap();
    let older = record_from_call(
        &call(
            json!({"state": "connected", "agentDevice": "2001", "answeredBy": "2001",
            "answeredAt": "2026-11-27T08:00:05Z", "appliedEventIds": ["e1", "e2", "e3"]}),
        ),
        &users(),
        &queues(),
    )
    .unwrap();
    let mut record = ContactRecord::from_update(&newer);
    assert!(!record.apply_cti(&older));
    assert_eq!(record.outcome, Some(RecordOutcome::Handled));
    assert_eq!(record.ended_at, Some(at(0) + chrono::Duration::seconds(65)));
}

#[test]
fn when_notes_are_added_should_make_new_versions_and_refuse_a_stale_base() {
    let mut record =
        ContactRecord::from_update(&record_from_call(&answered(), &users(), &queues()).unwrap());
    let first = record
        .add_note("  Volala kvůli platbě ", None, "agent01", at(10))
        .unwrap();
    assert_eq!(
        (first.version, first.text.as_str()),
        (1, "Volala kvůli platbě")
    );
    let second = record
        .add_note("Doplněno: zaplatí zítra", Some(1), "agent01", at(20))
        .unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(record.note.as_ref(), Some(&second));
    assert_eq!(
        record.add_note("jiná", Some(1), "agent02", at(30)),
        Err(ContactError::StaleNote { latest: Some(2) })
    );
    assert_eq!(
        record.add_note("jiná", None, "agent02", at(30)),
        Err(ContactError::StaleNote { latest: Some(2) })
    );
    // Both versions are searchable, without case or diacritics.
    assert!(record.matches(&fold("PLATBE")));
    assert!(record.matches(&fold("zitra")));
    assert!(record.matches("777123"));
    assert!(!record.matches("reklamace"));
}

#[test]
fn when_a_note_is_empty_or_too_long_should_refuse_it() {
    let mut record =
        ContactRecord::from_update(&record_from_call(&answered(), &users(), &queues()).unwrap());
    assert_eq!(
        record.add_note("   ", None, "a", at(1)),
        Err(ContactError::NoteLength)
    );
    let long = "ž".repeat(MAX_NOTE_CHARS + 1);
    assert_eq!(
        record.add_note(&long, None, "a", at(1)),
        Err(ContactError::NoteLength)
    );
    assert!(record
        .add_note(&"ž".repeat(MAX_NOTE_CHARS), None, "a", at(1))
        .is_ok());
}

#[test]
fn when_data_breaks_the_limits_should_name_every_bad_key() {
    let mut data: BTreeMap<String, String> = BTreeMap::new();
    data.insert("ok".into(), "v".into());
    data.insert(" ".into(), "v".into());
    data.insert("k".repeat(65), "v".into());
    data.insert("long".into(), "x".repeat(2001));
    let Err(ContactError::Data(errors)) = valid_data(&data) else {
        panic!("accepted");
    };
    assert_eq!(errors.len(), 3);
    assert!(errors.iter().any(|e| e.field == "data.long"));
    let many: BTreeMap<String, String> =
        (0..51).map(|i| (format!("k{i}"), String::new())).collect();
    assert!(valid_data(&many).is_err());
    let fine: BTreeMap<String, String> = [(" pojisteni ".to_owned(), "111".to_owned())].into();
    assert_eq!(
        valid_data(&fine).unwrap().keys().next().unwrap(),
        "pojisteni"
    );
}

#[test]
fn when_the_client_changes_should_move_the_client_owner() {
    let mut record =
        ContactRecord::from_update(&record_from_call(&answered(), &users(), &queues()).unwrap());
    record
        .set_client("10000001", Some("Jana Nováková".into()))
        .unwrap();
    let before = Versioned {
        value: record.clone(),
        version: 3,
    };
    record.set_client("10000002", None).unwrap();
    let write = ContactWrite::of(Some(&before), record.clone());
    assert_eq!(write.record.version, 3);
    assert_eq!(write.removed_owners, [Owner::Client("10000001".into())]);
    assert_eq!(
        record.owners(),
        [
            Owner::Agent("agent01".into()),
            Owner::Client("10000002".into()),
            Owner::Day(NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()),
        ]
    );
    assert_eq!(Owner::Client("1".into()).key(), "client#1");
    assert!(record.set_client("bad id!", None).is_err());
}

#[test]
fn when_viewed_should_have_the_contract_fields_only() {
    let mut record =
        ContactRecord::from_update(&record_from_call(&answered(), &users(), &queues()).unwrap());
    record.add_note("text", None, "agent01", at(9)).unwrap();
    let value = serde_json::to_value(record.view()).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 18);
    assert_eq!(value["startedAt"], "2026-11-27T08:00:00.000Z");
    assert_eq!(value["note"]["version"], 1);
    assert_eq!(value["outcome"], "handled");
    assert!(value.get("notesText").is_none() && value.get("cti").is_none());
    // The stored form reads back the same.
    let stored = serde_json::to_value(&record).unwrap();
    assert_eq!(
        serde_json::from_value::<ContactRecord>(stored).unwrap(),
        record
    );
}

#[test]
fn when_folding_should_ignore_case_diacritics_and_extra_spaces() {
    assert_eq!(fold("  Nováková\tJANA  Říčany "), "novakova jana ricany");
    assert_eq!(fold("ŽLUŤOUČKÝ kůň"), "zlutoucky kun");
    assert_eq!(fold("ﬁle"), "file");
}

fn progress_update(events: u64, done: bool, seconds: u32) -> ContactRecordUpdate {
    let mut update = record_from_call(&answered(), &users(), &queues()).unwrap();
    update.progress = CtiProgress { events, done };
    update.ended_at = Some(at(seconds));
    update
}

proptest! {
    #[test]
    fn when_folding_twice_or_in_upper_case_should_give_the_same(text in "[a-zA-Z0-9 áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ]{0,40}") {
        prop_assert_eq!(fold(&fold(&text)), fold(&text));
        prop_assert_eq!(fold(&text.to_uppercase()), fold(&text));
    }

    #[test]
    fn when_updates_arrive_in_any_order_or_twice_should_end_with_the_newest(
        updates in proptest::collection::vec((0u64..20, any::<bool>(), 0u32..59), 1..8),
        order in 0usize..100,
    ) {
        let updates: Vec<ContactRecordUpdate> = updates
            .iter()
            .map(|(events, done, seconds)| progress_update(*events, *done, *seconds))
            .collect();
        let newest = updates.iter().map(|u| u.progress).max().unwrap();
        let mut shuffled = updates.clone();
        let len = shuffled.len();
        shuffled.rotate_left(order % len);
        let mut record = ContactRecord::from_update(&shuffled[0]);
        for update in &shuffled {
            record.apply_cti(update);
            prop_assert!(!record.apply_cti(update));
        }
        prop_assert_eq!(record.cti, Some(newest));
        // The fields are those of an update with the newest progress.
        prop_assert!(updates
            .iter()
            .any(|u| u.progress == newest && record.ended_at == u.ended_at));
    }
}

#[test]
fn when_ivr_attributes_arrive_should_take_them_but_never_clear_them() {
    let mut record =
        ContactRecord::from_update(&record_from_call(&answered(), &users(), &queues()).unwrap());
    let collected: BTreeMap<String, String> = [("ivr.volba".to_owned(), "1".to_owned())].into();
    assert!(record.set_attributes(&collected));
    assert!(!record.set_attributes(&collected));
    assert!(!record.set_attributes(&BTreeMap::new()));
    assert_eq!(record.attributes, collected);
}
