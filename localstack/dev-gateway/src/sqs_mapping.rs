//! SQS event-source mappings: one poller per `Events: … Type: SQS` of the template, doing what
//! Lambda's poller does.
//!
//! It long-polls the queue (`WaitTimeSeconds` 20, stopped at once on shutdown), gathers up to
//! `BatchSize` messages within `MaximumBatchingWindowInSeconds`, invokes the function with an
//! [`SqsEvent`] built as Lambda builds it, and deletes what succeeded:
//!
//! * invocation error → nothing is deleted;
//! * success without `ReportBatchItemFailures` → everything is deleted;
//! * with `ReportBatchItemFailures` → everything except the `batchItemFailures`; a malformed
//!   response (an unknown, empty or missing `itemIdentifier`, or no JSON object) fails the
//!   whole batch, as in AWS.
//!
//! A failed message is left to the queue's visibility timeout or, with `--sqs-retry-delay`,
//! made visible again after that many seconds (`ChangeMessageVisibility`), so the emulator
//! moves it to the dead-letter queue after `maxReceiveCount` receives.
//!
//! FIFO queues (name ending `.fifo`) are polled by [`FIFO_POLLERS`] pollers side by side, as
//! Lambda processes a FIFO queue's message groups concurrently (one batch per group at a time):
//! the emulator hands no message of a group to a poller while another of that group is in
//! flight, so each group stays in order while a busy group no longer holds up the others (a
//! call's ringing event waited behind the previous call's end before). Records carry the `MessageGroupId`, `SequenceNumber` and
//! `MessageDeduplicationId` attributes; within a batch the messages keep the queue's order; and
//! when a message fails, every later message of its message group in the batch is kept for a
//! retry as well, even if the function did not report it ([`keep_group_order`]) — so no message
//! of a group is deleted before an earlier one of the same group succeeded. The emulator itself
//! delivers nothing more of a group while one of its messages is in flight; but it hands out a
//! group out of order when several of its messages become visible again together, so only the
//! first retried message of each group waits for the retry delay and the ones behind it are
//! released at once (they stay blocked behind the first). As in SQS, the held-back messages'
//! receives count towards `maxReceiveCount` too.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageSystemAttributeName,
};
use aws_smithy_types::error::display::DisplayErrorContext;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::intrinsics::REGION;
use crate::model::{Invoke, InvokeError};
use crate::resources::QueueEndpoint;
use crate::template::SqsEventSpec;

/// Longest long poll SQS allows.
const MAX_WAIT_SECONDS: i32 = 20;
/// Most messages one ReceiveMessage/DeleteMessageBatch handles.
const SQS_BATCH_LIMIT: usize = 10;

/// Pollers of one FIFO queue's mapping: as many as a function has instances by default
/// (`runtime`), so that two message groups are worked on at once.
pub const FIFO_POLLERS: usize = 2;

/// Why one polling round failed (the poller logs it and carries on).
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{action} on {queue}: {message}")]
    Sqs {
        action: &'static str,
        queue: String,
        message: String,
    },
    #[error("invalid request built for SQS")]
    Build(#[from] aws_smithy_types::error::operation::BuildError),
}

/// One SQS event source, ready to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsMapping {
    /// `<Function>/<EventName>`, for logs.
    pub name: String,
    /// Logical id of the function.
    pub function: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: usize,
    pub batching_window: Duration,
    pub report_batch_item_failures: bool,
    /// Make failed messages visible again after this long (`--sqs-retry-delay`); `None` =
    /// leave them to the queue's visibility timeout.
    pub retry_delay: Option<Duration>,
}

impl SqsMapping {
    pub fn new(spec: &SqsEventSpec, queue: &QueueEndpoint, retry_delay: Option<Duration>) -> Self {
        SqsMapping {
            name: format!("{}/{}", spec.function, spec.name),
            function: spec.function.clone(),
            queue_url: queue.url.clone(),
            queue_arn: queue.arn.clone(),
            batch_size: usize::try_from(spec.batch_size)
                .unwrap_or(SQS_BATCH_LIMIT)
                .max(1),
            batching_window: spec.maximum_batching_window,
            report_batch_item_failures: spec.report_batch_item_failures,
            retry_delay,
        }
    }

    /// A FIFO queue (SQS requires the `.fifo` suffix).
    pub fn is_fifo(&self) -> bool {
        self.queue_arn.ends_with(".fifo")
    }

    /// Polls until `shutdown` is cancelled: with [`FIFO_POLLERS`] pollers side by side on a
    /// FIFO queue, one on a standard queue.
    pub fn spawn(
        self,
        sqs: aws_sdk_sqs::Client,
        invoker: Arc<dyn Invoke>,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        let pollers = if self.is_fifo() { FIFO_POLLERS } else { 1 };
        let handles: Vec<JoinHandle<()>> = (0..pollers)
            .map(|_| {
                let (mapping, sqs, invoker, shutdown) =
                    (self.clone(), sqs.clone(), invoker.clone(), shutdown.clone());
                tokio::spawn(async move { mapping.run(sqs, invoker, shutdown).await })
            })
            .collect();
        tokio::spawn(async move {
            futures_util::future::join_all(handles).await;
        })
    }

    async fn run(
        self,
        sqs: aws_sdk_sqs::Client,
        invoker: Arc<dyn Invoke>,
        shutdown: CancellationToken,
    ) {
        tracing::info!(mapping = %self.name, queue = %self.queue_url, "polling");
        loop {
            let round = tokio::select! {
                round = self.poll_once(&sqs, invoker.as_ref(), MAX_WAIT_SECONDS) => round,
                () = shutdown.cancelled() => break,
            };
            match round {
                Ok(report) if report.received > 0 => {
                    tracing::debug!(mapping = %self.name, ?report, "batch done");
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(mapping = %self.name, %error, "polling failed; retrying in 1 s");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = shutdown.cancelled() => break,
                    }
                }
            }
        }
        tracing::debug!(mapping = %self.name, "stopped");
    }

    /// One round: receive a batch (waiting up to `wait_seconds` for the first message), invoke,
    /// delete what succeeded.
    pub async fn poll_once(
        &self,
        sqs: &aws_sdk_sqs::Client,
        invoker: &dyn Invoke,
        wait_seconds: i32,
    ) -> Result<BatchReport, MappingError> {
        let messages = self.receive_batch(sqs, wait_seconds).await?;
        if messages.is_empty() {
            return Ok(BatchReport::default());
        }
        let event = sqs_event(&messages, &self.queue_arn);
        let payload = serde_json::to_value(&event).unwrap_or(Value::Null);
        let result = invoker.invoke(&self.function, payload).await;
        let ids: Vec<String> = messages
            .iter()
            .map(|message| message.message_id.clone().unwrap_or_default())
            .collect();
        let mut outcome = batch_outcome(&ids, &result, self.report_batch_item_failures);
        let groups: Vec<Option<String>> = messages.iter().map(message_group).collect();
        if self.is_fifo() {
            outcome = keep_group_order(&ids, &groups, outcome);
        }
        if let Err(error) = &result {
            tracing::warn!(mapping = %self.name, %error, messages = ids.len(), "invocation failed; the batch stays on the queue");
        } else if !outcome.retry.is_empty() {
            tracing::info!(mapping = %self.name, failed = outcome.retry.len(), of = ids.len(), "partial batch failure");
        }
        let handles = |wanted: &[String]| -> Vec<String> {
            messages
                .iter()
                .filter(|message| {
                    message
                        .message_id
                        .as_ref()
                        .is_some_and(|id| wanted.contains(id))
                })
                .filter_map(|message| message.receipt_handle.clone())
                .collect()
        };
        self.delete(sqs, &handles(&outcome.delete)).await?;
        let (first, behind) = if self.is_fifo() {
            split_group_heads(&ids, &groups, &outcome.retry)
        } else {
            (outcome.retry.clone(), Vec::new())
        };
        // The emulator returns a visible FIFO message out of order while a later message of its
        // group is still in flight: release the messages behind each group's first retried one
        // at once (the group stays blocked by that first one), so that they are no longer in
        // flight when it becomes visible and the group is received again in order.
        self.delay_retry(sqs, &handles(&behind), Duration::ZERO)
            .await?;
        if let Some(delay) = self.retry_delay {
            self.delay_retry(sqs, &handles(&first), delay).await?;
        }
        Ok(BatchReport {
            received: messages.len(),
            deleted: outcome.delete.len(),
            retried: outcome.retry.len(),
            invoke_error: result.err().map(|error| error.to_string()),
        })
    }

    async fn receive_batch(
        &self,
        sqs: &aws_sdk_sqs::Client,
        wait_seconds: i32,
    ) -> Result<Vec<Message>, MappingError> {
        let mut batch: Vec<Message> = Vec::new();
        let mut window_end: Option<Instant> = None;
        loop {
            let wait = match window_end {
                None => wait_seconds,
                Some(end) => {
                    let left = end.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    i32::try_from(left.as_secs())
                        .unwrap_or(MAX_WAIT_SECONDS)
                        .min(MAX_WAIT_SECONDS)
                }
            };
            let wanted = (self.batch_size - batch.len()).min(SQS_BATCH_LIMIT);
            let received = sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(i32::try_from(wanted).unwrap_or(1))
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|error| MappingError::Sqs {
                    action: "ReceiveMessage",
                    queue: self.queue_url.clone(),
                    message: DisplayErrorContext(&error).to_string(),
                })?
                .messages
                .unwrap_or_default();
            if received.is_empty() && batch.is_empty() {
                return Ok(batch);
            }
            let empty_round = received.is_empty();
            batch.extend(received);
            if batch.len() >= self.batch_size || self.batching_window.is_zero() {
                break;
            }
            if window_end.is_none() {
                window_end = Some(Instant::now() + self.batching_window);
            } else if empty_round && wait == 0 {
                break;
            }
        }
        Ok(batch)
    }

    async fn delete(
        &self,
        sqs: &aws_sdk_sqs::Client,
        receipt_handles: &[String],
    ) -> Result<(), MappingError> {
        for chunk in receipt_handles.chunks(SQS_BATCH_LIMIT) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, handle)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(handle)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| MappingError::Sqs {
                    action: "DeleteMessageBatch",
                    queue: self.queue_url.clone(),
                    message: DisplayErrorContext(&error).to_string(),
                })?;
            for failed in output.failed {
                tracing::warn!(mapping = %self.name, code = %failed.code, message = ?failed.message, "could not delete a processed message");
            }
        }
        Ok(())
    }

    async fn delay_retry(
        &self,
        sqs: &aws_sdk_sqs::Client,
        receipt_handles: &[String],
        delay: Duration,
    ) -> Result<(), MappingError> {
        let seconds = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
        for chunk in receipt_handles.chunks(SQS_BATCH_LIMIT) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, handle)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(handle)
                        .visibility_timeout(seconds)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            sqs.change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| MappingError::Sqs {
                    action: "ChangeMessageVisibilityBatch",
                    queue: self.queue_url.clone(),
                    message: DisplayErrorContext(&error).to_string(),
                })?;
        }
        Ok(())
    }
}

/// What one polling round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub received: usize,
    pub deleted: usize,
    pub retried: usize,
    pub invoke_error: Option<String>,
}

/// Which messages of a batch to delete and which to leave for a retry (by message id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub delete: Vec<String>,
    pub retry: Vec<String>,
}

/// Decides a batch's fate from the invocation's result (see the module docs).
pub fn batch_outcome(
    message_ids: &[String],
    result: &Result<Value, InvokeError>,
    report_batch_item_failures: bool,
) -> BatchOutcome {
    let everything = |retry: bool| {
        if retry {
            BatchOutcome {
                delete: Vec::new(),
                retry: message_ids.to_vec(),
            }
        } else {
            BatchOutcome {
                delete: message_ids.to_vec(),
                retry: Vec::new(),
            }
        }
    };
    let response = match result {
        Err(_) => return everything(true),
        Ok(_) if !report_batch_item_failures => return everything(false),
        Ok(response) => response,
    };
    match reported_failures(response, message_ids) {
        None => everything(true),
        Some(failed) => {
            let (retry, delete) = message_ids
                .iter()
                .cloned()
                .partition(|id| failed.contains(id));
            BatchOutcome { delete, retry }
        }
    }
}

/// The FIFO message group of a received message.
fn message_group(message: &Message) -> Option<String> {
    message
        .attributes
        .as_ref()?
        .get(&MessageSystemAttributeName::MessageGroupId)
        .cloned()
}

/// FIFO order: a message after a retried message of the same group (in batch order) is retried
/// too. A retried message without a group holds back everything after it.
pub fn keep_group_order(
    message_ids: &[String],
    groups: &[Option<String>],
    outcome: BatchOutcome,
) -> BatchOutcome {
    let mut blocked: BTreeSet<&str> = BTreeSet::new();
    let mut block_all = false;
    let mut retry = Vec::new();
    let mut delete = Vec::new();
    for (id, group) in message_ids.iter().zip(groups) {
        let held_back = block_all
            || group
                .as_deref()
                .is_some_and(|group| blocked.contains(group));
        if held_back || outcome.retry.contains(id) {
            match group {
                Some(group) => {
                    blocked.insert(group);
                }
                None => block_all = true,
            }
            retry.push(id.clone());
        } else {
            delete.push(id.clone());
        }
    }
    BatchOutcome { delete, retry }
}

/// Splits retried FIFO messages into the first of each group and the ones behind it (a retried
/// message without a group counts as the head of its own group).
fn split_group_heads(
    message_ids: &[String],
    groups: &[Option<String>],
    retry: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let (mut heads, mut behind) = (Vec::new(), Vec::new());
    for (id, group) in message_ids.iter().zip(groups) {
        if !retry.contains(id) {
            continue;
        }
        match group.as_deref() {
            Some(group) if !seen.insert(group) => behind.push(id.clone()),
            _ => heads.push(id.clone()),
        }
    }
    (heads, behind)
}

/// The message ids a `ReportBatchItemFailures` response lists; `None` if the response is
/// malformed (the whole batch then counts as failed).
fn reported_failures(response: &Value, message_ids: &[String]) -> Option<BTreeSet<String>> {
    let map = match response {
        Value::Null => return Some(BTreeSet::new()),
        Value::String(text) if text.is_empty() => return Some(BTreeSet::new()),
        Value::Object(map) => map,
        _ => return None,
    };
    let items = match map.get("batchItemFailures") {
        None | Some(Value::Null) => return Some(BTreeSet::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return None,
    };
    items
        .iter()
        .map(|item| {
            item.get("itemIdentifier")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty() && message_ids.iter().any(|known| known == id))
                .map(str::to_owned)
        })
        .collect()
}

fn base64_data(bytes: &[u8]) -> Base64Data {
    let mut data = Base64Data::default();
    data.extend_from_slice(bytes);
    data
}

/// The event Lambda sends for a batch of SQS messages.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|message| {
            let mut record = SqsMessage::default();
            record.message_id = message.message_id.clone();
            record.receipt_handle = message.receipt_handle.clone();
            record.body = message.body.clone();
            record.md5_of_body = message.md5_of_body.clone();
            record.md5_of_message_attributes = message.md5_of_message_attributes.clone();
            record.attributes = message
                .attributes
                .iter()
                .flatten()
                .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                .collect::<HashMap<_, _>>();
            record.message_attributes = message
                .message_attributes
                .iter()
                .flatten()
                .map(|(name, value)| {
                    let mut attribute = SqsMessageAttribute::default();
                    attribute.string_value = value.string_value.clone();
                    attribute.binary_value = value
                        .binary_value
                        .as_ref()
                        .map(|blob| base64_data(blob.as_ref()));
                    attribute.string_list_values =
                        value.string_list_values.clone().unwrap_or_default();
                    attribute.binary_list_values = value
                        .binary_list_values
                        .iter()
                        .flatten()
                        .map(|blob| base64_data(blob.as_ref()))
                        .collect();
                    attribute.data_type = Some(value.data_type.clone());
                    (name.clone(), attribute)
                })
                .collect();
            record.event_source = Some("aws:sqs".to_owned());
            record.event_source_arn = Some(queue_arn.to_owned());
            record.aws_region = Some(REGION.to_owned());
            record
        })
        .collect();
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::AwsClients;
    use crate::test_support::Moto;
    use async_trait::async_trait;
    use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
    use serde_json::json;
    use std::sync::Mutex;

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    #[test]
    fn when_the_invocation_fails_should_delete_nothing() {
        let error = InvokeError::Timeout {
            function: "F".into(),
            seconds: 1,
        };
        let outcome = batch_outcome(&ids(&["a", "b"]), &Err(error), true);
        assert_eq!(outcome.delete, Vec::<String>::new());
        assert_eq!(outcome.retry, ids(&["a", "b"]));
    }

    #[test]
    fn when_batch_item_failures_are_not_reported_should_delete_everything_on_success() {
        let response = Ok(json!({"batchItemFailures": [{"itemIdentifier": "a"}]}));
        let outcome = batch_outcome(&ids(&["a", "b"]), &response, false);
        assert_eq!(outcome.delete, ids(&["a", "b"]));
    }

    #[test]
    fn when_some_items_failed_should_delete_only_the_others() {
        let response = Ok(json!({"batchItemFailures": [{"itemIdentifier": "b"}]}));
        let outcome = batch_outcome(&ids(&["a", "b", "c"]), &response, true);
        assert_eq!(outcome.delete, ids(&["a", "c"]));
        assert_eq!(outcome.retry, ids(&["b"]));
    }

    #[test]
    fn when_the_response_is_empty_should_treat_the_batch_as_a_success() {
        for response in [
            json!(null),
            json!({}),
            json!(""),
            json!({"batchItemFailures": []}),
            json!({"batchItemFailures": null}),
        ] {
            let outcome = batch_outcome(&ids(&["a"]), &Ok(response.clone()), true);
            assert_eq!(outcome.delete, ids(&["a"]), "{response}");
        }
    }

    #[test]
    fn when_the_response_is_malformed_should_fail_the_whole_batch() {
        for response in [
            json!({"batchItemFailures": [{"itemIdentifier": "unknown"}]}),
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{"itemIdentifier": null}]}),
            json!({"batchItemFailures": [{"id": "a"}]}),
            json!({"batchItemFailures": "a"}),
            json!(42),
        ] {
            let outcome = batch_outcome(&ids(&["a", "b"]), &Ok(response.clone()), true);
            assert_eq!(outcome.retry, ids(&["a", "b"]), "{response}");
        }
    }

    #[test]
    fn when_a_fifo_message_fails_should_retry_the_later_messages_of_its_group_too() {
        // GIVEN a1, b1, a2, a3, b2 where the function reported only a2 as failed
        let message_ids = ids(&["a1", "b1", "a2", "a3", "b2"]);
        let groups: Vec<Option<String>> = ["A", "B", "A", "A", "B"]
            .iter()
            .map(|group| Some((*group).to_owned()))
            .collect();
        let reported = batch_outcome(
            &message_ids,
            &Ok(json!({"batchItemFailures": [{"itemIdentifier": "a2"}]})),
            true,
        );
        // WHEN group order is enforced
        let outcome = keep_group_order(&message_ids, &groups, reported);
        // THEN a3 waits for a2; group B is unaffected
        assert_eq!(outcome.retry, ids(&["a2", "a3"]));
        assert_eq!(outcome.delete, ids(&["a1", "b1", "b2"]));
        // AND a failed message without a group holds back everything after it
        let groups = vec![Some("A".to_owned()), None, Some("B".to_owned())];
        let reported = batch_outcome(
            &ids(&["a1", "x", "b1"]),
            &Ok(json!({"batchItemFailures": [{"itemIdentifier": "x"}]})),
            true,
        );
        let outcome = keep_group_order(&ids(&["a1", "x", "b1"]), &groups, reported);
        assert_eq!(outcome.retry, ids(&["x", "b1"]));
    }

    /// Fails every record whose body starts with "fail"; remembers what it saw.
    #[derive(Default)]
    struct Recorder {
        seen: Mutex<Vec<Value>>,
        fail_invocation: bool,
    }

    #[async_trait]
    impl Invoke for Recorder {
        async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
            let failures: Vec<Value> = payload["Records"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|record| {
                    record["body"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("fail")
                })
                .map(|record| json!({"itemIdentifier": record["messageId"]}))
                .collect();
            self.seen.lock().unwrap().push(payload);
            if self.fail_invocation {
                return Err(InvokeError::Failed {
                    function: function.into(),
                    error_type: "Boom".into(),
                    error_message: "boom".into(),
                });
            }
            Ok(json!({"batchItemFailures": failures}))
        }
    }

    async fn queues(
        clients: &AwsClients,
        name: &str,
        max_receive_count: u32,
    ) -> (QueueEndpoint, String) {
        let dlq = clients
            .sqs
            .create_queue()
            .queue_name(format!("{name}-dlq"))
            .send()
            .await
            .unwrap();
        let dlq_url = dlq.queue_url.unwrap();
        let dlq_arn = format!("arn:aws:sqs:eu-central-1:123456789012:{name}-dlq");
        let policy = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
            .to_string();
        let queue = clients
            .sqs
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::VisibilityTimeout, "30")
            .attributes(QueueAttributeName::RedrivePolicy, policy)
            .send()
            .await
            .unwrap();
        (
            QueueEndpoint {
                url: queue.queue_url.unwrap(),
                arn: format!("arn:aws:sqs:eu-central-1:123456789012:{name}"),
            },
            dlq_url,
        )
    }

    async fn count(clients: &AwsClients, url: &str) -> usize {
        let attributes = clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        attributes[&QueueAttributeName::ApproximateNumberOfMessages]
            .parse::<usize>()
            .unwrap()
            + attributes[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible]
                .parse::<usize>()
                .unwrap()
    }

    fn mapping(queue: &QueueEndpoint, report: bool) -> SqsMapping {
        SqsMapping {
            name: "Worker/Queue".into(),
            function: "Worker".into(),
            queue_url: queue.url.clone(),
            queue_arn: queue.arn.clone(),
            batch_size: 10,
            batching_window: Duration::ZERO,
            report_batch_item_failures: report,
            retry_delay: Some(Duration::from_secs(1)),
        }
    }

    #[tokio::test]
    async fn when_a_message_keeps_failing_should_delete_the_others_and_move_it_to_the_dlq() {
        let moto = Moto::start().await;
        let clients = AwsClients::for_endpoint(&moto.endpoint()).await;
        let (queue, dlq_url) = queues(&clients, "work", 2).await;
        for body in ["ok-1", "fail-2", "ok-3"] {
            clients
                .sqs
                .send_message()
                .queue_url(&queue.url)
                .message_body(body)
                .message_attributes(
                    "origin",
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value("test")
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
        let recorder = Arc::new(Recorder::default());
        let shutdown = CancellationToken::new();
        let task =
            mapping(&queue, true).spawn(clients.sqs.clone(), recorder.clone(), shutdown.clone());

        let started = Instant::now();
        while count(&clients, &dlq_url).await == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the failing message never reached the DLQ"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("the poller did not stop promptly")
            .unwrap();

        assert_eq!(count(&clients, &queue.url).await, 0);
        let dead = clients
            .sqs
            .receive_message()
            .queue_url(&dlq_url)
            .send()
            .await
            .unwrap();
        assert_eq!(dead.messages.unwrap()[0].body.as_deref(), Some("fail-2"));

        let seen = recorder.seen.lock().unwrap();
        let records: Vec<&Value> = seen
            .iter()
            .flat_map(|event| event["Records"].as_array().unwrap())
            .collect();
        let failing: Vec<&&Value> = records.iter().filter(|r| r["body"] == "fail-2").collect();
        assert_eq!(failing.len(), 2, "maxReceiveCount 2 → two attempts");
        assert_eq!(failing[1]["attributes"]["ApproximateReceiveCount"], "2");
        let first = records[0];
        assert_eq!(first["eventSource"], "aws:sqs");
        assert_eq!(first["eventSourceARN"], queue.arn);
        assert_eq!(first["awsRegion"], "eu-central-1");
        assert!(first["md5OfBody"]
            .as_str()
            .is_some_and(|md5| md5.len() == 32));
        assert!(first["receiptHandle"].as_str().is_some());
        assert_eq!(first["messageAttributes"]["origin"]["stringValue"], "test");
        assert_eq!(first["messageAttributes"]["origin"]["dataType"], "String");
        assert!(first["attributes"]["SentTimestamp"].as_str().is_some());
    }

    #[tokio::test]
    async fn when_the_invocation_fails_should_leave_the_whole_batch_on_the_queue() {
        let moto = Moto::start().await;
        let clients = AwsClients::for_endpoint(&moto.endpoint()).await;
        let (queue, _) = queues(&clients, "all-or-nothing", 5).await;
        for body in ["a", "b"] {
            clients
                .sqs
                .send_message()
                .queue_url(&queue.url)
                .message_body(body)
                .send()
                .await
                .unwrap();
        }
        let recorder = Recorder {
            fail_invocation: true,
            ..Recorder::default()
        };
        let mut mapping = mapping(&queue, false);
        mapping.retry_delay = None;
        let report = mapping.poll_once(&clients.sqs, &recorder, 1).await.unwrap();
        assert_eq!(report.received, 2);
        assert_eq!(report.deleted, 0);
        assert!(report.invoke_error.is_some());
        assert_eq!(count(&clients, &queue.url).await, 2);

        let succeeding = Recorder::default();
        let queue_two = queues(&clients, "all-deleted", 5).await.0;
        clients
            .sqs
            .send_message()
            .queue_url(&queue_two.url)
            .message_body("fail-but-not-reported")
            .send()
            .await
            .unwrap();
        let report = self::mapping(&queue_two, false)
            .poll_once(&clients.sqs, &succeeding, 1)
            .await
            .unwrap();
        assert_eq!(
            report.deleted, 1,
            "without ReportBatchItemFailures a success deletes everything"
        );
        assert_eq!(count(&clients, &queue_two.url).await, 0);
    }

    #[tokio::test]
    async fn when_a_batching_window_is_set_should_gather_messages_sent_within_it() {
        let moto = Moto::start().await;
        let clients = AwsClients::for_endpoint(&moto.endpoint()).await;
        let (queue, _) = queues(&clients, "windowed", 5).await;
        clients
            .sqs
            .send_message()
            .queue_url(&queue.url)
            .message_body("first")
            .send()
            .await
            .unwrap();
        let sender = {
            let sqs = clients.sqs.clone();
            let url = queue.url.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                sqs.send_message()
                    .queue_url(url)
                    .message_body("second")
                    .send()
                    .await
                    .unwrap();
            })
        };
        let mut mapping = mapping(&queue, true);
        mapping.batching_window = Duration::from_secs(2);
        let recorder = Recorder::default();
        let report = mapping.poll_once(&clients.sqs, &recorder, 1).await.unwrap();
        sender.await.unwrap();
        assert_eq!(report.received, 2);
        assert_eq!(
            recorder.seen.lock().unwrap().len(),
            1,
            "one invocation for both"
        );
    }

    /// Sends `(body, group)` messages to a FIFO queue in order (the body is the dedup id).
    async fn send_to_groups(
        clients: &AwsClients,
        queue: &QueueEndpoint,
        messages: &[(&str, &str)],
    ) {
        for (body, group) in messages {
            clients
                .sqs
                .send_message()
                .queue_url(&queue.url)
                .message_body(*body)
                .message_group_id(*group)
                .message_deduplication_id(*body)
                .send()
                .await
                .unwrap();
        }
    }

    /// Holds an invocation of group A's message until group B's message was invoked.
    #[derive(Default)]
    struct WaitsForB {
        b_seen: tokio::sync::Notify,
        order: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Invoke for WaitsForB {
        async fn invoke(&self, _function: &str, payload: Value) -> Result<Value, InvokeError> {
            let body = payload["Records"][0]["body"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            self.order.lock().unwrap().push(format!("start {body}"));
            if body == "b1" {
                self.b_seen.notify_one();
            } else if tokio::time::timeout(Duration::from_secs(5), self.b_seen.notified())
                .await
                .is_err()
            {
                self.order.lock().unwrap().push("b never came".into());
            }
            self.order.lock().unwrap().push(format!("end {body}"));
            Ok(json!({"batchItemFailures": []}))
        }
    }

    #[tokio::test]
    async fn when_one_fifo_group_is_busy_should_another_group_be_processed_meanwhile() {
        // GIVEN a FIFO queue with a1 (group A) before b1 (group B), one message per batch
        let moto = Moto::start().await;
        let clients = AwsClients::for_endpoint(&moto.endpoint()).await;
        let created = clients
            .sqs
            .create_queue()
            .queue_name("events.fifo")
            .attributes(QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .unwrap();
        let queue = QueueEndpoint {
            url: created.queue_url.unwrap(),
            arn: "arn:aws:sqs:eu-central-1:123456789012:events.fifo".into(),
        };
        send_to_groups(&clients, &queue, &[("a1", "A"), ("b1", "B")]).await;
        // WHEN the mapping polls and a1's invocation waits for b1's
        let invoker = Arc::new(WaitsForB::default());
        let shutdown = CancellationToken::new();
        let mapping = SqsMapping {
            batch_size: 1,
            ..mapping(&queue, true)
        };
        let task = mapping.spawn(clients.sqs.clone(), invoker.clone(), shutdown.clone());
        let started = Instant::now();
        while invoker.order.lock().unwrap().len() < 4 {
            assert!(started.elapsed() < Duration::from_secs(20), "not processed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("the pollers did not stop promptly")
            .unwrap();
        // THEN b1 was processed while a1's invocation was still running (as Lambda processes
        // message groups concurrently), not after it
        assert_eq!(
            invoker.order.lock().unwrap().clone(),
            ["start a1", "start b1", "end b1", "end a1"]
        );
    }

    #[tokio::test]
    async fn when_a_fifo_message_keeps_failing_should_hold_back_its_group_until_it_is_dead_lettered(
    ) {
        // GIVEN a FIFO queue (DLQ after 2 receives) with group A: ok-a1, fail-a2, ok-a3 and
        // group B: ok-b1
        let moto = Moto::start().await;
        let clients = AwsClients::for_endpoint(&moto.endpoint()).await;
        let dlq = clients
            .sqs
            .create_queue()
            .queue_name("cti-dlq.fifo")
            .attributes(QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .unwrap();
        let dlq_url = dlq.queue_url.unwrap();
        let policy = json!({
            "deadLetterTargetArn": "arn:aws:sqs:eu-central-1:123456789012:cti-dlq.fifo",
            "maxReceiveCount": 2
        })
        .to_string();
        let created = clients
            .sqs
            .create_queue()
            .queue_name("cti.fifo")
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
            .attributes(QueueAttributeName::VisibilityTimeout, "30")
            .attributes(QueueAttributeName::RedrivePolicy, policy)
            .send()
            .await
            .unwrap();
        let queue = QueueEndpoint {
            url: created.queue_url.unwrap(),
            arn: "arn:aws:sqs:eu-central-1:123456789012:cti.fifo".into(),
        };
        send_to_groups(
            &clients,
            &queue,
            &[
                ("ok-a1", "A"),
                ("fail-a2", "A"),
                ("ok-a3", "A"),
                ("ok-b1", "B"),
            ],
        )
        .await;
        // WHEN the mapping polls (the function reports only fail-a2)
        let recorder = Arc::new(Recorder::default());
        let shutdown = CancellationToken::new();
        let task =
            mapping(&queue, true).spawn(clients.sqs.clone(), recorder.clone(), shutdown.clone());
        let started = Instant::now();
        while count(&clients, &dlq_url).await < 2 || count(&clients, &queue.url).await > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the FIFO queue did not drain"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("the poller did not stop promptly")
            .unwrap();
        // THEN group A is only ever delivered in order: ok-a3 is held back behind fail-a2 (and,
        // as in SQS, its receives count too, so both reach the DLQ); group B is unaffected
        let seen = recorder.seen.lock().unwrap().clone();
        let records: Vec<&Value> = seen
            .iter()
            .flat_map(|event| event["Records"].as_array().unwrap())
            .collect();
        let group_a: Vec<&str> = records
            .iter()
            .filter(|r| r["attributes"]["MessageGroupId"] == "A")
            .map(|r| r["body"].as_str().unwrap())
            .collect();
        assert_eq!(
            group_a,
            ["ok-a1", "fail-a2", "ok-a3", "fail-a2", "ok-a3"],
            "{records:?}"
        );
        let group_b = records
            .iter()
            .filter(|r| r["attributes"]["MessageGroupId"] == "B")
            .count();
        assert_eq!(group_b, 1);
        // AND records carry the FIFO attributes (group A's first record: the two pollers may
        // deliver group B's before it)
        let first = records
            .iter()
            .find(|r| r["attributes"]["MessageGroupId"] == "A")
            .unwrap();
        assert_eq!(first["attributes"]["MessageDeduplicationId"], "ok-a1");
        assert!(first["attributes"]["SequenceNumber"].as_str().is_some());
        let dead = clients
            .sqs
            .receive_message()
            .queue_url(&dlq_url)
            .send()
            .await
            .unwrap();
        let dead: Vec<Option<String>> = dead
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| message.body)
            .collect();
        assert_eq!(dead[0].as_deref(), Some("fail-a2"));
    }
}
