//! The contact record projection on the in-memory adapters, fed by the sample batches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{TimeZone, Utc};
use linka_shared::{
    adapters::{
        memory::{InMemoryAuditLog, InMemoryUserDirectory},
        InMemoryConfigStore, InMemoryContactRecordStore, InMemoryCtiStateStore,
    },
    audit::{AuditAction, AuditContext, AuditRecord},
    auth::Role,
    contact_records::{Direction, RecordOutcome},
    cti_state::{CallOutcome, CallState, Topology},
    ports::{ConfigWrite, CtiWrite, Versioned},
    users::User,
};
use serde_json::json;

use super::*;

const ANSWERED: &str = include_str!("../../../events/sqs/cti-ingest-answered-call.json");
const ABANDONED: &str =
    include_str!("../../../events/sqs/cti-ingest-abandoned-with-duplicate.json");

fn envelopes(batch: &str) -> Vec<CtiEnvelope> {
    let batch: SqsEvent = serde_json::from_str(batch).unwrap();
    batch
        .records
        .iter()
        .map(|record| serde_json::from_str(record.body.as_deref().unwrap()).unwrap())
        .collect()
}

/// Applies a call event to the CTI store as the handler would (agent events are left out:
/// the projection only reads calls).
async fn apply(store: &InMemoryCtiStateStore, envelope: &CtiEnvelope) {
    let Some(call_id) = call_id_of(&envelope.event) else {
        return;
    };
    let current = store
        .call(&call_key(&envelope.relay_id, call_id))
        .await
        .unwrap();
    let version = current.as_ref().map_or(0, |call| call.version);
    let (call, outcome) =
        CallState::fold(current.map(|c| c.value), envelope, &Topology::default()).unwrap();
    if let CallOutcome::Applied { events, .. } = outcome {
        store
            .commit(&CtiWrite {
                calls: vec![Versioned {
                    value: call,
                    version,
                }],
                agents: Vec::new(),
                events,
                counters: Vec::new(),
            })
            .await
            .unwrap();
    }
}

fn agent(username: &str, number: &str) -> User {
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    User {
        username: username.to_owned(),
        display_name: username.to_owned(),
        roles: [Role::Agent].into(),
        groups: vec!["KKC".to_owned()],
        email: None,
        agent_number: Some(number.to_owned()),
        mobile: None,
        active: true,
        created_at: at,
        updated_at: at,
    }
}

struct Setup {
    projection: Projection,
    records: InMemoryContactRecordStore,
    calls: InMemoryCtiStateStore,
    now: Arc<AtomicU64>,
}

async fn setup() -> Setup {
    let records = InMemoryContactRecordStore::new();
    let config = InMemoryConfigStore::new(InMemoryAuditLog::new());
    config
        .write(
            &ConfigWrite::Upsert {
                collection: ROUTING_SETTINGS_COLLECTION.to_owned(),
                id: DEVICES_ID.to_owned(),
                document: json!({"queues": {"kkc-obecne": "5000"}}),
            },
            &AuditRecord::new(
                &AuditContext::default(),
                AuditAction::ConfigUpdate,
                None,
                200,
                Utc::now(),
            ),
        )
        .await
        .unwrap();
    let now = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let clock_now = now.clone();
    let clock: Clock =
        Arc::new(move || start + Duration::from_secs(clock_now.load(Ordering::SeqCst)));
    let devices = crate::directory::CachedDeviceDirectory::with_clock(
        Arc::new(InMemoryUserDirectory::new([
            agent("agent01", "2001"),
            agent("agent02", "2002"),
        ])),
        clock.clone(),
    );
    let projection = Projection::with_clock(
        Arc::new(records.clone()),
        Arc::new(devices),
        Arc::new(config),
        clock,
    );
    Setup {
        projection,
        records,
        calls: InMemoryCtiStateStore::new(),
        now,
    }
}

#[tokio::test]
async fn when_an_answered_call_is_projected_event_by_event_should_end_as_a_handled_contact_of_its_agent(
) {
    let s = setup().await;
    // WHEN every event of the answered-call batch is applied and projected
    for envelope in envelopes(ANSWERED) {
        apply(&s.calls, &envelope).await;
        s.projection.project(&s.calls, &envelope).await.unwrap();
    }
    // THEN one record: inbound from the customer, in kkc-obecne, handled by agent01
    let records = s.records.all();
    assert_eq!(records.len(), 1);
    let record = &records[0].value;
    assert_eq!(
        record.contact_id,
        s.calls.calls()["prg-1/c1"].value.contact_id
    );
    assert_eq!(record.direction, Direction::Inbound);
    assert_eq!(record.number.as_deref(), Some("+420601123456"));
    assert_eq!(record.queue_id.as_deref(), Some("kkc-obecne"));
    assert_eq!(record.agents, ["agent01"]);
    assert_eq!(record.outcome, Some(RecordOutcome::Handled));
    assert!(record.answered_at.is_some() && record.ended_at.is_some());
}

#[tokio::test]
async fn when_the_same_events_are_projected_again_should_write_nothing() {
    let s = setup().await;
    let envelopes = envelopes(ANSWERED);
    for envelope in &envelopes {
        apply(&s.calls, envelope).await;
        s.projection.project(&s.calls, envelope).await.unwrap();
    }
    let (saves, records) = (s.records.saves(), s.records.all());
    // WHEN the batch is redelivered (duplicates: the call state does not change)
    for envelope in &envelopes {
        apply(&s.calls, envelope).await;
        s.projection.project(&s.calls, envelope).await.unwrap();
    }
    // THEN not one write
    assert_eq!(s.records.saves(), saves);
    assert_eq!(s.records.all(), records);
}

#[tokio::test]
async fn when_a_projection_fails_should_report_it_and_a_retry_of_the_duplicate_should_complete_it()
{
    let s = setup().await;
    let envelopes = envelopes(ANSWERED);
    for envelope in &envelopes {
        apply(&s.calls, envelope).await;
    }
    let last = envelopes.last().unwrap();
    let call_event = envelopes
        .iter()
        .rev()
        .find(|envelope| call_id_of(&envelope.event).is_some())
        .unwrap();
    // GIVEN the record store fails
    s.records.set_failing(true);
    assert!(matches!(
        s.projection.project(&s.calls, call_event).await,
        Err(ProjectionError::Record(_))
    ));
    // WHEN it works again and the (now duplicate) event is retried
    s.records.set_failing(false);
    s.projection.project(&s.calls, call_event).await.unwrap();
    // THEN the record is there
    assert_eq!(s.records.all().len(), 1);
    // AND events that name no call change nothing
    s.projection.project(&s.calls, last).await.unwrap();
    assert_eq!(s.records.all().len(), 1);
}

#[tokio::test]
async fn when_no_agent_device_took_part_should_make_no_record() {
    let s = setup().await;
    for envelope in envelopes(ABANDONED) {
        apply(&s.calls, &envelope).await;
        s.projection.project(&s.calls, &envelope).await.unwrap();
    }
    assert!(s.records.all().is_empty());
}

#[tokio::test]
async fn when_the_directory_is_fresh_should_not_read_the_users_again() {
    let s = setup().await;
    let directory = s.projection.directory().await.unwrap();
    assert_eq!(
        directory
            .usernames_by_device
            .get("2001")
            .map(String::as_str),
        Some("agent01")
    );
    assert_eq!(
        directory.queues_by_device.get("5000").map(String::as_str),
        Some("kkc-obecne")
    );
    let again = s.projection.directory().await.unwrap();
    assert!(Arc::ptr_eq(&directory, &again));
    // AFTER a minute it is read again
    s.now.store(61, Ordering::SeqCst);
    let later = s.projection.directory().await.unwrap();
    assert!(!Arc::ptr_eq(&directory, &later));
}

#[tokio::test]
async fn when_nothing_is_installed_should_do_nothing() {
    let s = setup().await;
    for envelope in envelopes(ANSWERED) {
        after_event(&s.calls, &envelope).await.unwrap();
    }
}

#[tokio::test]
async fn when_the_call_went_through_the_ivr_should_copy_what_it_collected() {
    use linka_shared::{adapters::InMemoryIvrCallStore, ivr_live::IvrCall, ports::IvrCallStore};
    // GIVEN the call's IVR session collected a choice
    let ivr_calls = InMemoryIvrCallStore::new();
    let ivr: IvrCall = serde_json::from_value(json!({
        "callKey": "prg-1/c1", "relayId": "prg-1", "pbxCallId": "c1", "ivrId": "hlavni-linka",
        "port": "6101", "dialled": "4000", "enteredAt": "2026-11-27T08:00:00Z",
        "updatedAt": "2026-11-27T08:00:02Z",
        "session": {"phase": "notStarted", "attributes": {"ivr.volba": "1"}}
    }))
    .unwrap();
    ivr_calls
        .save(&Versioned {
            value: ivr,
            version: 0,
        })
        .await
        .unwrap();
    let mut s = setup().await;
    s.projection = s.projection.with_ivr_calls(Arc::new(ivr_calls));
    // WHEN the answered call is projected
    for envelope in envelopes(ANSWERED) {
        apply(&s.calls, &envelope).await;
        s.projection.project(&s.calls, &envelope).await.unwrap();
    }
    // THEN the record carries the choice
    let records = s.records.all();
    assert_eq!(records[0].value.attributes["ivr.volba"], "1");
}

#[tokio::test]
async fn when_a_transfer_merges_the_consultation_should_end_its_record_too() {
    let s = setup().await;
    let envelope = |seq: u64, event: serde_json::Value| -> CtiEnvelope {
        serde_json::from_value(json!({"version": 1, "eventId": format!("prg-1:7:{seq}"),
            "relayId": "prg-1", "seq": seq,
            "observedAt": format!("2026-11-27T10:00:{seq:02}.000Z"), "event": event}))
        .unwrap()
    };
    let call = |kind: &str, id: &str, device: &str, from: &str, to: &str| {
        json!({"type": "call", "kind": kind, "callId": id, "device": device,
               "subjectDevice": device, "callingDevice": from, "calledDevice": to})
    };
    // GIVEN agent01 talking to a customer (c1) and, consulting, to agent02 (c2)
    let events = [
        call("delivered", "c1", "2001", "+420601123456", "2001"),
        call("established", "c1", "2001", "+420601123456", "2001"),
        call("held", "c1", "2001", "+420601123456", "2001"),
        call("delivered", "c2", "2002", "2001", "2002"),
        call("established", "c2", "2002", "2001", "2002"),
    ];
    for (seq, event) in (1..).zip(events) {
        let envelope = envelope(seq, event);
        apply(&s.calls, &envelope).await;
        s.projection.project(&s.calls, &envelope).await.unwrap();
    }
    assert!(s.records.all().iter().all(|r| r.value.ended_at.is_none()));
    // WHEN the transfer merges c2 into c1 (the handler ends c2 in the same write)
    let mut transfer = call("transferred", "c1", "2001", "+420601123456", "2001");
    transfer["secondaryCallId"] = json!("c2");
    transfer["targetDevice"] = json!("2002");
    let transfer = envelope(6, transfer);
    apply(&s.calls, &transfer).await;
    let mut consultation = s.calls.calls()["prg-1/c2"].clone();
    let done = consultation
        .value
        .merged_into(transfer.observed_at)
        .unwrap();
    consultation.version += 1;
    s.calls
        .commit(&CtiWrite {
            calls: vec![Versioned {
                value: consultation.value,
                version: consultation.version - 1,
            }],
            agents: Vec::new(),
            events: vec![done],
            counters: Vec::new(),
        })
        .await
        .unwrap();
    s.projection.project(&s.calls, &transfer).await.unwrap();
    // THEN the consultation's record is over, handled; the customer's goes on
    let contact = |key: &str| s.calls.calls()[key].value.contact_id.clone();
    let records = s.records.all();
    let record = |contact_id: String| {
        records
            .iter()
            .find(|r| r.value.contact_id == contact_id)
            .map(|r| r.value.clone())
            .unwrap()
    };
    let consulted = record(contact("prg-1/c2"));
    assert!(consulted.ended_at.is_some());
    assert_eq!(consulted.outcome, Some(RecordOutcome::Handled));
    assert!(record(contact("prg-1/c1")).ended_at.is_none());
}
