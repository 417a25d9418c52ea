//! CTI ingestion against the running local stack: envelopes sent to the FIFO `CtiEventQueue` in
//! the emulator (as the relay sends them), consumed by CtiIngestFunction's own binary through
//! the dev gateway's SQS event-source mapping, checked in DynamoDB.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, Utc};
use cti_events::{
    AgentEvent, AgentStateKind, CallEvent, CallEventKind, CtiEnvelope, CtiEvent, LinkEvent,
    LinkState, RouteRequested, SCHEMA_VERSION,
};
use system_tests::{eventually, Stack};

const WAIT: Duration = Duration::from_secs(30);
const CUSTOMER: &str = "+420601123456";
/// A device no demo user and no other test uses: the replay below checks that not even the agent
/// item's version changes, and other tests' calls ringing a shared device (agent01's 2001) would
/// add and remove their call views on it meanwhile.
const AGENT: &str = "2951";
const PILOT: &str = "5000";

type Item = HashMap<String, AttributeValue>;

struct Run {
    relay: String,
    start: DateTime<Utc>,
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    queue_url: String,
}

impl Run {
    async fn new(stack: &Stack) -> Self {
        let config = stack.sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let queue_url = sqs
            .get_queue_url()
            .queue_name(format!("{}.fifo", Stack::physical_name("CtiEventQueue")))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let run = uuid::Uuid::new_v4().simple().to_string();
        Self {
            relay: format!("sys-{}", &run[..8]),
            // Later than any earlier run's events, so this run's agent events are the newest.
            start: Utc::now(),
            sqs,
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            queue_url,
        }
    }

    fn envelope(&self, seq: u64, event: CtiEvent) -> CtiEnvelope {
        CtiEnvelope {
            version: SCHEMA_VERSION,
            event_id: format!("{}:1:{seq}", self.relay),
            relay_id: self.relay.clone(),
            seq,
            observed_at: self.start
                + chrono::Duration::milliseconds(i64::try_from(seq).unwrap() * 100),
            event,
        }
    }

    /// Sends like the relay: group = `envelope.group_id()`, dedup id = event id (+ `suffix`, to
    /// play a resend after SQS's 5-minute deduplication window).
    async fn send(&self, envelopes: &[CtiEnvelope], suffix: &str) {
        for envelope in envelopes {
            self.sqs
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(serde_json::to_string(envelope).unwrap())
                .message_group_id(envelope.group_id())
                .message_deduplication_id(format!("{}{suffix}", envelope.event_id))
                .send()
                .await
                .unwrap();
        }
    }

    async fn item(&self, logical_id: &str, key: (&str, &str)) -> Option<Item> {
        self.dynamodb
            .get_item()
            .table_name(Stack::physical_name(logical_id))
            .key(key.0, AttributeValue::S(key.1.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    async fn call(&self, call_id: &str) -> Option<Item> {
        self.item(
            "CallsTable",
            ("callKey", &format!("{}/{call_id}", self.relay)),
        )
        .await
    }

    async fn agent(&self) -> Option<Item> {
        self.item("AgentStateTable", ("device", AGENT)).await
    }

    /// The lifecycle records of a contact, in key order (`<at>#<state>`).
    async fn contact_events(&self, contact_id: &str) -> Vec<Item> {
        system_tests::contact_events(&self.dynamodb, contact_id).await
    }

    async fn states(&self, contact_id: &str) -> Vec<String> {
        self.contact_events(contact_id)
            .await
            .iter()
            .map(|item| text(item, "to").to_owned())
            .collect()
    }

    /// Waits until the queue holds nothing (visible or in flight).
    async fn drained(&self) {
        eventually("the CTI event queue drains", WAIT, || async {
            let attributes = self
                .sqs
                .get_queue_attributes()
                .queue_url(&self.queue_url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .unwrap()
                .attributes
                .unwrap();
            let count = |name: &QueueAttributeName| attributes[name].parse::<u64>().unwrap();
            (count(&QueueAttributeName::ApproximateNumberOfMessages)
                + count(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                == 0)
                .then_some(())
        })
        .await;
    }
}

fn text<'a>(item: &'a Item, name: &str) -> &'a str {
    match item.get(name) {
        Some(AttributeValue::S(value)) => value,
        other => panic!("{name} is not a string: {other:?}"),
    }
}

fn call(kind: CallEventKind, call_id: &str, subject: &str, cause: &str) -> CtiEvent {
    CtiEvent::Call(CallEvent {
        kind,
        call_id: call_id.into(),
        device: Some(subject.into()),
        subject_device: Some(subject.into()),
        calling_device: Some(CUSTOMER.into()),
        called_device: Some(PILOT.into()),
        cause: Some(cause.into()),
        ..CallEvent::default()
    })
}

fn queued(call_id: &str) -> CtiEvent {
    CtiEvent::Call(CallEvent {
        kind: CallEventKind::Queued,
        call_id: call_id.into(),
        device: Some(PILOT.into()),
        target_device: Some(PILOT.into()),
        calling_device: Some(CUSTOMER.into()),
        called_device: Some(PILOT.into()),
        cause: Some("enteringDistribution".into()),
        ..CallEvent::default()
    })
}

fn agent(state: AgentStateKind) -> CtiEvent {
    CtiEvent::Agent(AgentEvent {
        state,
        device: AGENT.into(),
        agent_id: Some("agent01".into()),
        acd_group: Some(PILOT.into()),
        reason_code: None,
        snapshot: false,
    })
}

#[tokio::test]
async fn when_the_relay_sends_two_calls_with_duplicates_should_store_state_and_lifecycle_once() {
    let stack = Stack::from_env();
    let run = Run::new(&stack).await;
    let (answered, abandoned) = ("1001", "1002");

    // Phase 1: agent 2951 logs on and gets ready; call 1001 reaches pilot 5000, is queued,
    // rings at 2951 and is answered.
    let phase_one = vec![
        run.envelope(1, agent(AgentStateKind::LoggedOn)),
        run.envelope(2, agent(AgentStateKind::Ready)),
        run.envelope(
            3,
            CtiEvent::Route(RouteRequested {
                cross_ref_id: "x1".into(),
                call_id: answered.into(),
                routing_device: PILOT.into(),
                calling_device: Some(CUSTOMER.into()),
                called_device: Some(PILOT.into()),
                attempt: 0,
            }),
        ),
        run.envelope(4, queued(answered)),
        run.envelope(
            5,
            call(CallEventKind::Delivered, answered, AGENT, "newCall"),
        ),
        run.envelope(6, agent(AgentStateKind::Busy)),
        run.envelope(
            7,
            call(CallEventKind::Established, answered, AGENT, "normal"),
        ),
    ];
    run.send(&phase_one, "").await;
    // A duplicate within SQS's deduplication window (dropped by SQS)…
    run.send(&phase_one[3..4], "").await;
    eventually("call 1001 connected and agent busy", WAIT, || async {
        let call = run.call(answered).await?;
        let agent = run.agent().await?;
        (text(&call, "state") == "connected" && text(&agent, "state") == "busy").then_some(())
    })
    .await;

    // Phase 2: the customer hangs up: the contact waits for the agent's wrap-up.
    let phase_two = vec![
        run.envelope(
            8,
            call(
                CallEventKind::ConnectionCleared,
                answered,
                CUSTOMER,
                "normalClearing",
            ),
        ),
        run.envelope(
            9,
            call(
                CallEventKind::CallCleared,
                answered,
                AGENT,
                "normalClearing",
            ),
        ),
    ];
    run.send(&phase_two, "").await;
    eventually("call 1001 in wrap-up", WAIT, || async {
        let call = run.call(answered).await?;
        (text(&call, "state") == "wrapUp").then_some(())
    })
    .await;

    // Phase 3: the agent finishes after-call work; call 1002 is abandoned in the queue; the
    // relay resends events after the deduplication window (new MessageDeduplicationId).
    let phase_three = vec![
        run.envelope(10, agent(AgentStateKind::WorkingAfterCall)),
        run.envelope(11, agent(AgentStateKind::Ready)),
        run.envelope(12, queued(abandoned)),
        run.envelope(
            13,
            call(
                CallEventKind::ConnectionCleared,
                abandoned,
                CUSTOMER,
                "normalClearing",
            ),
        ),
        run.envelope(
            14,
            call(
                CallEventKind::CallCleared,
                abandoned,
                PILOT,
                "normalClearing",
            ),
        ),
        run.envelope(
            15,
            CtiEvent::Link(LinkEvent {
                state: LinkState::Up,
                monitored_devices: 3,
                reason: None,
            }),
        ),
    ];
    run.send(&phase_three, "").await;
    run.send(&phase_three[2..4], ":resent").await;
    run.send(&phase_one[4..5], ":resent").await;

    let answered_contact = format!("{}:1:3", run.relay);
    let abandoned_contact = format!("{}:1:12", run.relay);
    eventually("both calls final and the agent ready", WAIT, || async {
        let first = run.call(answered).await?;
        let second = run.call(abandoned).await?;
        let agent = run.agent().await?;
        (text(&first, "state") == "done"
            && text(&second, "state") == "abandonedInQueue"
            && text(&agent, "state") == "ready")
            .then_some(())
    })
    .await;
    run.drained().await;

    // THEN exactly the expected lifecycle records exist
    assert_eq!(
        run.states(&answered_contact).await,
        [
            "arrived",
            "queued",
            "offered",
            "connected",
            "wrapUp",
            "done"
        ]
    );
    assert_eq!(
        run.states(&abandoned_contact).await,
        ["arrived", "queued", "abandonedInQueue"]
    );
    // AND the abandoned contact's last record says where it was lost (REP-11)
    let lost = run.contact_events(&abandoned_contact).await;
    let lost = lost
        .iter()
        .find(|r| text(r, "to") == "abandonedInQueue")
        .unwrap();
    let Some(AttributeValue::M(outcome)) = lost.get("outcome") else {
        panic!("no outcome on {lost:?}");
    };
    assert_eq!(text(outcome, "result"), "abandoned");
    assert_eq!(text(outcome, "lostPhase"), "inQueue");
    let records = run.contact_events(&answered_contact).await;
    let offered = records.iter().find(|r| text(r, "to") == "offered").unwrap();
    assert_eq!(text(offered, "agentDevice"), AGENT);
    assert_eq!(text(offered, "queue"), PILOT);
    assert_eq!(text(offered, "pilot"), PILOT);
    assert_eq!(text(offered, "channel"), "voice");
    let done = records.iter().find(|r| text(r, "to") == "done").unwrap();
    let done_at = DateTime::parse_from_rfc3339(text(done, "at")).unwrap();
    assert_eq!(
        done_at, phase_three[1].observed_at,
        "done when the agent became ready"
    );
    // AND the call and agent items say who answered and when
    let first = run.call(answered).await.unwrap();
    assert_eq!(text(&first, "answeredBy"), AGENT);
    assert_eq!(text(&first, "pilot"), PILOT);
    assert!(first.contains_key("answeredAt") && first.contains_key("endedAt"));
    assert!(matches!(first.get("expiresAt"), Some(AttributeValue::N(_))));
    let agent_item = run.agent().await.unwrap();
    assert_eq!(text(&agent_item, "agentId"), "agent01");
    assert!(!agent_item.contains_key("pendingWrapUp"));

    // WHEN the relay replays every envelope (after the deduplication window)
    let before = (
        run.call(answered).await,
        run.call(abandoned).await,
        run.agent().await,
        run.contact_events(&answered_contact).await,
        run.contact_events(&abandoned_contact).await,
    );
    let mut everything = phase_one.clone();
    everything.extend(phase_two.iter().cloned());
    everything.extend(phase_three.iter().cloned());
    run.send(&everything, ":replay").await;
    run.drained().await;
    // THEN nothing changed, not even a version
    let after = (
        run.call(answered).await,
        run.call(abandoned).await,
        run.agent().await,
        run.contact_events(&answered_contact).await,
        run.contact_events(&abandoned_contact).await,
    );
    assert_eq!(before, after);
}

#[tokio::test]
async fn when_a_message_is_unreadable_should_reach_the_fifo_dead_letter_queue() {
    let stack = Stack::from_env();
    let run = Run::new(&stack).await;
    let dead_letter_url = run
        .sqs
        .get_queue_url()
        .queue_name(format!(
            "{}.fifo",
            Stack::physical_name("CtiEventDeadLetterQueue")
        ))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // GIVEN an envelope of a newer schema version in its own call group
    let mut future = run.envelope(1, queued("9001"));
    future.version = SCHEMA_VERSION + 1;
    run.send(&[future.clone()], "").await;
    // WHEN the consumer refuses it maxReceiveCount (5) times
    // THEN SQS moves it to the FIFO dead-letter queue, unchanged, and no state was written
    let body = serde_json::to_string(&future).unwrap();
    eventually("the envelope reaches the DLQ", WAIT, || async {
        let received = run
            .sqs
            .receive_message()
            .queue_url(&dead_letter_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let found = received
            .messages
            .unwrap_or_default()
            .into_iter()
            .find(|message| message.body.as_deref() == Some(body.as_str()))?;
        run.sqs
            .delete_message()
            .queue_url(&dead_letter_url)
            .receipt_handle(found.receipt_handle.unwrap())
            .send()
            .await
            .unwrap();
        Some(())
    })
    .await;
    assert!(run.call("9001").await.is_none());
}
