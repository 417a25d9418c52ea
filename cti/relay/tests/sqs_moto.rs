//! The real SQS adapters (events and commands) against moto, end to end through the relay.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use common::*;
use cti_events::{CommandOutcome, CtiEnvelope, CtiEvent};
use linka_relay::commands::{CommandSource, SqsCommandSource};
use linka_relay::sink::SqsEventSink;
use linka_relay::{start, Deps};

async fn fifo(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

#[tokio::test]
async fn when_relay_publishes_to_moto_sqs_should_use_group_and_dedup_ids_and_execute_commands() {
    // GIVEN moto with an event and a command FIFO queue
    let Some(moto) = Moto::start().await else {
        return;
    };
    let sqs = moto.sqs();
    let events_url = fifo(&sqs, "cti-events.fifo").await;
    let commands_url = fifo(&sqs, "cti-commands.fifo").await;
    // AND a relay on a fake PBX using the real adapters
    let pbx = FakePbx::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(pbx.addr, dir.path());
    config.sqs.event_queue_url = events_url.clone();
    config.sqs.command_queue_url = Some(commands_url.clone());
    let relay = start(
        config,
        Deps {
            sink: Arc::new(SqsEventSink::new(sqs.clone(), &events_url)),
            commands: Some(
                Arc::new(SqsCommandSource::new(sqs.clone(), &commands_url, 5))
                    as Arc<dyn CommandSource>,
            ),
            oracle: None,
        },
    )
    .await
    .unwrap();
    wait_until("link up", Duration::from_secs(10), || {
        relay.status.link_up()
    })
    .await;
    // WHEN the PBX reports a call and the cloud sends a hang-up command
    pbx.send_event(delivered("M1", "2001", 1));
    pbx.send_event(established("M1", "2001", 1));
    let now = chrono::Utc::now();
    let command = serde_json::json!({
        "version": 1, "commandId": "mk1", "requestedBy": "agent01",
        "issuedAt": now, "expiresAt": now + chrono::Duration::seconds(60),
        "action": {"type": "hangup", "device": "2001", "callId": "M1"},
    });
    sqs.send_message()
        .queue_url(&commands_url)
        .message_body(command.to_string())
        .message_group_id("device:2001")
        .message_deduplication_id("mk1")
        .send()
        .await
        .unwrap();
    // THEN the event queue holds link up, both call events and the command result, with
    // MessageGroupId = envelope.group_id() and MessageDeduplicationId = eventId
    let mut got: Vec<(CtiEnvelope, HashMap<String, String>)> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while got.len() < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} messages: {got:?}",
            got.len()
        );
        let out = sqs
            .receive_message()
            .queue_url(&events_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        for m in out.messages.unwrap_or_default() {
            let env: CtiEnvelope = serde_json::from_str(m.body().unwrap()).unwrap();
            let attrs = m
                .attributes
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), v))
                .collect();
            sqs.delete_message()
                .queue_url(&events_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            got.push((env, attrs));
        }
    }
    for (env, attrs) in &got {
        assert_eq!(attrs.get("MessageGroupId"), Some(&env.group_id()));
        assert_eq!(attrs.get("MessageDeduplicationId"), Some(&env.event_id));
    }
    let calls: Vec<_> = got
        .iter()
        .filter(|(e, _)| matches!(&e.event, CtiEvent::Call(c) if c.call_id == "M1"))
        .map(|(e, _)| e.seq)
        .collect();
    assert_eq!(calls.len(), 2);
    assert!(calls[0] < calls[1], "order within the call group");
    let result = got.iter().find_map(|(e, _)| match &e.event {
        CtiEvent::CommandResult(r) => Some(r.clone()),
        _ => None,
    });
    let result = result.unwrap();
    assert_eq!(result.command_id, "mk1");
    assert_eq!(result.outcome, CommandOutcome::Done { call_id: None });
    assert!(pbx
        .received()
        .iter()
        .any(|(_, _, m)| matches!(m, csta::Message::ClearConnection(_))));
    // AND the command message was deleted
    let left = sqs
        .get_queue_attributes()
        .queue_url(&commands_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let attrs = left.attributes.unwrap_or_default();
    assert_eq!(
        attrs
            .get(&QueueAttributeName::ApproximateNumberOfMessages)
            .map(String::as_str),
        Some("0")
    );
    assert_eq!(
        attrs
            .get(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .map(String::as_str),
        Some("0")
    );
    relay.stop().await;
}
