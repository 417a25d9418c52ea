//! Where spooled events go: the SQS FIFO event queue ([`SqsEventSink`]) behind the small
//! [`EventSink`] port, with an in-memory adapter ([`MemorySink`]) for tests and the benchmark.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::spool::SpooledEvent;

/// SQS accepts at most 10 messages per SendMessageBatch.
pub const MAX_BATCH: usize = 10;

/// The whole batch failed (nothing was accepted).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The queue could not be reached or refused the request.
    #[error("SendMessageBatch failed")]
    Request(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A request entry could not be built.
    #[error("failed to build a SendMessageBatch entry")]
    Build(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One entry the queue did not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFailure {
    /// SQS error code.
    pub code: String,
    /// True when SQS blames the message (it will fail again as is).
    pub sender_fault: bool,
}

/// Per-entry result of a batch, in the batch's order.
pub type BatchOutcome = Vec<Result<(), EntryFailure>>;

/// The event queue port.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Sends up to [`MAX_BATCH`] events: `MessageGroupId` = `group_id`,
    /// `MessageDeduplicationId` = `event_id`, body = the envelope JSON.
    async fn send_batch(&self, batch: &[SpooledEvent]) -> Result<BatchOutcome, SinkError>;
}

/// The SQS FIFO adapter.
#[derive(Debug, Clone)]
pub struct SqsEventSink {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsEventSink {
    /// An adapter for `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl EventSink for SqsEventSink {
    async fn send_batch(&self, batch: &[SpooledEvent]) -> Result<BatchOutcome, SinkError> {
        let mut entries = Vec::with_capacity(batch.len());
        for e in batch {
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    // Entry ids only need to be unique within the request.
                    .id(e.seq.to_string())
                    .message_body(&e.body)
                    .message_group_id(&e.group_id)
                    .message_deduplication_id(&e.event_id)
                    .build()
                    .map_err(|err| SinkError::Build(Box::new(err)))?,
            );
        }
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|err| SinkError::Request(Box::new(err)))?;
        let failed: std::collections::HashMap<&str, EntryFailure> = out
            .failed()
            .iter()
            .map(|f| {
                (
                    f.id(),
                    EntryFailure {
                        code: f.code().to_owned(),
                        sender_fault: f.sender_fault(),
                    },
                )
            })
            .collect();
        let ok: HashSet<&str> = out.successful().iter().map(|s| s.id()).collect();
        Ok(batch
            .iter()
            .map(|e| {
                let id = e.seq.to_string();
                if let Some(f) = failed.get(id.as_str()) {
                    Err(f.clone())
                } else if ok.contains(id.as_str()) {
                    Ok(())
                } else {
                    Err(EntryFailure {
                        code: "MissingFromResponse".into(),
                        sender_fault: false,
                    })
                }
            })
            .collect())
    }
}

/// An in-memory FIFO queue: deduplicates on `event_id` like SQS, can be made unreachable, and
/// can fail chosen entries once. For tests and the benchmark.
#[derive(Debug, Default)]
pub struct MemorySink {
    accepted: Mutex<Vec<SpooledEvent>>,
    seen: Mutex<HashSet<String>>,
    fail_once: Mutex<HashSet<String>>,
    unreachable: AtomicBool,
    keep_messages: AtomicBool,
    requests: std::sync::atomic::AtomicU64,
    count: std::sync::atomic::AtomicU64,
}

impl MemorySink {
    /// A reachable queue that keeps the messages it accepts.
    pub fn new() -> Self {
        let sink = Self::default();
        sink.keep_messages.store(true, Ordering::Relaxed);
        sink
    }

    /// A queue that counts but does not keep messages (benchmark).
    pub fn discarding() -> Self {
        Self::default()
    }

    /// Makes every request fail (or succeed again).
    pub fn set_unreachable(&self, unreachable: bool) {
        self.unreachable.store(unreachable, Ordering::SeqCst);
    }

    /// Fails the entry with this event id the next time it is sent.
    pub fn fail_once(&self, event_id: impl Into<String>) {
        lock(&self.fail_once).insert(event_id.into());
    }

    /// The accepted messages, in acceptance order (duplicates dropped).
    pub fn messages(&self) -> Vec<SpooledEvent> {
        lock(&self.accepted).clone()
    }

    /// Number of accepted messages (without duplicates when messages are kept).
    pub fn len(&self) -> usize {
        usize::try_from(self.count.load(Ordering::Relaxed)).unwrap_or(usize::MAX)
    }

    /// True when nothing was accepted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SendMessageBatch requests received (including failed ones).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, thiserror::Error)]
#[error("memory sink is unreachable")]
struct Unreachable;

#[async_trait]
impl EventSink for MemorySink {
    async fn send_batch(&self, batch: &[SpooledEvent]) -> Result<BatchOutcome, SinkError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(SinkError::Request(Box::new(Unreachable)));
        }
        let keep = self.keep_messages.load(Ordering::Relaxed);
        let mut out = Vec::with_capacity(batch.len());
        let mut fail_once = lock(&self.fail_once);
        let mut seen = lock(&self.seen);
        let mut accepted = lock(&self.accepted);
        for e in batch {
            if fail_once.remove(&e.event_id) {
                out.push(Err(EntryFailure {
                    code: "InternalError".into(),
                    sender_fault: false,
                }));
                continue;
            }
            if !keep {
                self.count.fetch_add(1, Ordering::Relaxed);
            } else if seen.insert(e.event_id.clone()) {
                self.count.fetch_add(1, Ordering::Relaxed);
                accepted.push(e.clone());
            }
            out.push(Ok(()));
        }
        Ok(out)
    }
}
