//! Fan-out of broadcast notices.
//!
//! Each SQS message is one [`BroadcastNotice`]. The handler walks every page of connections,
//! pushes the notice to those in its audience, forgets the ones that are `Gone`, and reports
//! the messages it could not finish as batch item failures (`ReportBatchItemFailures`), so SQS
//! retries only those.
//!
//! Delivery is at least once: a retried message is pushed again to everyone, including the
//! browsers that already got it. Every push carries the notice `id`, and clients drop ids they
//! have already shown, so a retry costs bandwidth, never a duplicate on screen.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use linka_shared::{
    adapters::fanout::{push_to_connections, FanOut},
    ports::{ConnectionNotifier, ConnectionStore, StoreError},
    realtime::BroadcastNotice,
    telemetry::ErrorChain,
};
use thiserror::Error;
use tracing::Instrument;

/// What the handler needs, built once in `main`.
pub struct HandlerDeps<S, N> {
    pub connections: S,
    pub notifier: N,
}

/// Why a message was not (fully) processed.
#[derive(Debug, Error)]
pub enum BroadcastError {
    #[error("the message has no body")]
    MissingBody,
    #[error("the message body is not a valid broadcast notice")]
    Malformed(#[source] serde_json::Error),
    #[error("failed to list the connections")]
    Store(#[source] StoreError),
    #[error("{failed} of the pushes failed")]
    Undelivered { failed: usize },
}

/// A batch item without a message id cannot be reported individually.
#[derive(Debug, Error)]
#[error("an SQS record without a messageId failed; failing the whole batch so that it is retried")]
pub struct UnreportableFailure;

/// Entry point for every SQS batch.
pub async fn function_handler<S, N>(
    deps: &HandlerDeps<S, N>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error>
where
    S: ConnectionStore,
    N: ConnectionNotifier,
{
    let mut response = SqsBatchResponse::default();
    for record in &event.payload.records {
        let message_id = record.message_id.as_deref().unwrap_or_default();
        let span = tracing::info_span!("broadcast_message", message_id);
        let Err(error) = process(deps, record).instrument(span.clone()).await else {
            continue;
        };
        span.in_scope(|| {
            tracing::warn!(error.message = %error, error.cause_chain = %ErrorChain(&error), "message failed; SQS will retry it");
        });
        if message_id.is_empty() {
            return Err(UnreportableFailure.into());
        }
        response.add_failure(message_id);
    }
    Ok(response)
}

async fn process<S, N>(deps: &HandlerDeps<S, N>, record: &SqsMessage) -> Result<(), BroadcastError>
where
    S: ConnectionStore,
    N: ConnectionNotifier,
{
    let body = record.body.as_deref().ok_or(BroadcastError::MissingBody)?;
    // A malformed body is reported as a failure, not acknowledged: after maxReceiveCount (2)
    // SQS moves it to BroadcastDeadLetterQueue, where it stays 14 days to be inspected and
    // redriven. Acknowledging it would lose a supervisor's notice without a trace.
    let notice: BroadcastNotice = serde_json::from_str(body).map_err(BroadcastError::Malformed)?;
    fan_out(deps, &notice).await
}

/// Pushes `notice` to every connection of its audience, page by page.
async fn fan_out<S, N>(
    deps: &HandlerDeps<S, N>,
    notice: &BroadcastNotice,
) -> Result<(), BroadcastError>
where
    S: ConnectionStore,
    N: ConnectionNotifier,
{
    let message = notice.push_message();
    let mut tally = FanOut::default();
    let mut cursor = None;
    loop {
        let page = deps
            .connections
            .list(cursor)
            .await
            .map_err(BroadcastError::Store)?;
        let audience = page
            .items
            .iter()
            .filter(|c| c.is_in_audience(notice.audience))
            .map(|c| c.connection_id.as_str());
        tally.add(push_to_connections(&deps.connections, &deps.notifier, audience, &message).await);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let (delivered, gone, failed) = (tally.delivered, tally.gone.len(), tally.failed);
    tracing::info!(notice_id = %notice.id, delivered, gone, failed, "notice fanned out");
    if failed > 0 {
        Err(BroadcastError::Undelivered { failed })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{TimeZone, Utc};
    use linka_shared::{
        adapters::memory::{InMemoryConnectionStore, RecordingNotifier},
        auth::{Principal, Role},
        ports::MockConnectionStore,
        realtime::Connection,
    };
    use serde_json::{json, Value};

    use super::*;

    const BROADCAST: &str = include_str!("../../../events/sqs/broadcast.json");
    const BROADCAST_EVERYONE: &str = include_str!("../../../events/sqs/broadcast-everyone.json");
    const POISON: &str = include_str!("../../../events/sqs/poison.json");
    const POISON_ID: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

    fn event(json: &str) -> LambdaEvent<SqsEvent> {
        LambdaEvent::new(
            serde_json::from_str(json).unwrap(),
            lambda_runtime::Context::default(),
        )
    }

    fn connection(id: &str, roles: &[Role], minute: u32) -> Connection {
        let principal = Principal {
            subject: format!("sub-{id}"),
            username: format!("user-{id}"),
            display_name: None,
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            client_id: None,
        };
        Connection::open(
            id,
            &principal,
            Utc.with_ymd_and_hms(2026, 11, 27, 13, minute, 0).unwrap(),
        )
    }

    /// Five connections (three agents, a supervisor, a wallboard), listed two per page.
    fn store() -> InMemoryConnectionStore {
        InMemoryConnectionStore::with_page_size(2).with_connections([
            connection("a1", &[Role::Agent], 1),
            connection("a2", &[Role::Agent], 2),
            connection("s1", &[Role::Supervisor], 3),
            connection("a3", &[Role::Agent], 4),
            connection("w1", &[Role::Wallboard], 5),
        ])
    }

    fn ids(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|id| (*id).to_owned()).collect()
    }

    #[tokio::test]
    async fn when_notice_has_no_audience_should_push_to_every_connection_on_every_page() {
        // GIVEN five connections over three pages
        let deps = HandlerDeps {
            connections: store(),
            notifier: RecordingNotifier::new(),
        };
        // WHEN a notice for everyone arrives
        let response = function_handler(&deps, event(BROADCAST_EVERYONE))
            .await
            .unwrap();
        // THEN no failure, and each connection got it once
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(deps.notifier.posts().len(), 5);
        assert_eq!(
            deps.notifier.recipients(),
            ids(&["a1", "a2", "a3", "s1", "w1"])
        );
    }

    #[tokio::test]
    async fn when_notice_has_an_audience_should_push_only_to_that_role_with_the_notice_id() {
        let deps = HandlerDeps {
            connections: store(),
            notifier: RecordingNotifier::new(),
        };
        let response = function_handler(&deps, event(BROADCAST)).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(deps.notifier.recipients(), ids(&["a1", "a2", "a3"]));
        let pushed = serde_json::to_value(&deps.notifier.posts()[0].1).unwrap();
        assert_eq!(
            pushed,
            json!({"type": "broadcast", "id": "6f1c2b9e-8d4a-5e3f-9b7c-1a2d3e4f5a6b",
                   "text": "Výpadek linky 2 — volající přepojujte na linku 3.", "severity": "warning",
                   "sentBy": "supervisor", "sentAt": "2026-11-27T14:05:09.120Z"})
        );
    }

    #[tokio::test]
    async fn when_one_message_is_malformed_should_report_only_it_as_failed() {
        // GIVEN a batch of a good notice and a poisoned one
        let deps = HandlerDeps {
            connections: store(),
            notifier: RecordingNotifier::new(),
        };
        // WHEN handled
        let response = function_handler(&deps, event(POISON)).await.unwrap();
        // THEN only the poisoned message is reported (it goes to the DLQ), the good one delivered
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, [POISON_ID]);
        assert_eq!(deps.notifier.recipients(), ids(&["a1", "a2", "a3"]));
    }

    #[tokio::test]
    async fn when_connection_is_gone_should_delete_it_and_still_succeed() {
        let deps = HandlerDeps {
            connections: store(),
            notifier: RecordingNotifier::new().with_gone(&["a2"]),
        };
        let response = function_handler(&deps, event(BROADCAST)).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(deps.connections.ids(), ids(&["a1", "a3", "s1", "w1"]));
        assert_eq!(deps.notifier.recipients(), ids(&["a1", "a3"]));
    }

    #[tokio::test]
    async fn when_a_push_fails_should_fail_the_message_but_reach_the_others() {
        let deps = HandlerDeps {
            connections: store(),
            notifier: RecordingNotifier::new().with_failing(&["a1"]),
        };
        let response = function_handler(&deps, event(BROADCAST)).await.unwrap();
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["c7b5a0f4-3e2d-4a1b-9c8d-7e6f5a4b3c2d"]);
        assert_eq!(deps.notifier.recipients(), ids(&["a2", "a3"]));
        // AND the failing connection is kept (it is not gone)
        assert!(deps.connections.ids().contains("a1"));
    }

    #[tokio::test]
    async fn when_connections_cannot_be_listed_should_fail_the_message() {
        let mut connections = MockConnectionStore::new();
        connections.expect_list().times(1).returning(|_| {
            Err(StoreError::Backend {
                operation: "list connections",
                source: "throttled".into(),
            })
        });
        let deps = HandlerDeps {
            connections,
            notifier: RecordingNotifier::new(),
        };
        let response = function_handler(&deps, event(BROADCAST)).await.unwrap();
        assert_eq!(response.batch_item_failures.len(), 1);
    }

    #[tokio::test]
    async fn when_batch_is_empty_should_report_no_failures() {
        let deps = HandlerDeps {
            connections: store(),
            notifier: RecordingNotifier::new(),
        };
        let response = function_handler(&deps, event(r#"{"Records": []}"#))
            .await
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert!(deps.notifier.posts().is_empty());
    }

    #[tokio::test]
    async fn when_a_failed_record_has_no_message_id_should_fail_the_whole_batch() {
        let mut value: Value = serde_json::from_str(POISON).unwrap();
        value["Records"][1]
            .as_object_mut()
            .unwrap()
            .remove("messageId");
        let deps = HandlerDeps {
            connections: store(),
            notifier: RecordingNotifier::new(),
        };
        let result = function_handler(&deps, event(&value.to_string())).await;
        assert!(result.is_err());
    }

    #[test]
    fn when_response_is_serialized_should_have_the_lambda_shape() {
        let mut response = SqsBatchResponse::default();
        response.add_failure(POISON_ID);
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": POISON_ID}]})
        );
    }
}
