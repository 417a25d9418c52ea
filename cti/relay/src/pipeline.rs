//! Event pipeline: [`EventBus`] (every producer) → spool writer (durable, group commit) →
//! [`Publisher`] (SQS FIFO, delete after acceptance).
//!
//! # Ordering
//! Events get their `seq` in the order they reach the bus. The publisher sends one request at a
//! time, and a request carries at most one event per message group (the group's oldest one
//! not yet accepted), so a later event of a group can never overtake an earlier one that
//! failed: the failed group is retried from that event after a backoff, while other groups go
//! on. A failed request (network, throttling) ends the round and is retried with backoff.
//! Accepted events are deleted from the spool; nothing is ever dropped.
//!
//! # Spool bound
//! When the spool holds `spool.max_events`, the writer stops taking events: the bus fills, the
//! PBX reader waits, the TCP window closes. Health says 503 `spoolFull`, metrics
//! `linka_relay_spool_full 1`, and an error is logged every 10 s. Nothing is dropped.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cti_events::CtiEvent;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::error_chain;
use crate::health::Status;
use crate::sink::{EventSink, MAX_BATCH};
use crate::spool::{Observed, Spool, SpooledEvent};

/// Bus capacity (events in memory before the spool writer).
pub const BUS_CAPACITY: usize = 2048;
/// Most events committed in one spool transaction.
const WRITE_BATCH: usize = 1024;
/// Events the publisher takes from the spool per round.
const PUBLISH_CHUNK: usize = 200;

/// The bus is closed (the relay is stopping).
#[derive(Debug, thiserror::Error)]
#[error("the event bus is closed")]
pub struct BusClosed;

/// Where every producer (PBX link, router, command executor) puts its events.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: mpsc::Sender<Observed>,
}

impl EventBus {
    /// A bus and its receiving end (for [`run_spool_writer`]).
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Observed>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Self { tx }, rx)
    }

    /// Publishes an event observed now.
    pub async fn publish(&self, event: CtiEvent) -> Result<(), BusClosed> {
        self.publish_observed(Observed::now(event)).await
    }

    /// Publishes an event with its reception time.
    pub async fn publish_observed(&self, observed: Observed) -> Result<(), BusClosed> {
        self.tx.send(observed).await.map_err(|_| BusClosed)
    }
}

/// Settings of the spool writer.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// Relay id (part of event ids).
    pub relay_id: String,
    /// Spool bound.
    pub max_events: u64,
    /// Warning ratio.
    pub warn_ratio: f64,
}

/// Takes events from the bus and commits them to the spool in batches (one fsync per batch),
/// then wakes the publisher. Ends when the bus is closed, or when `stop` is cancelled (after
/// committing what is already in the bus).
pub async fn run_spool_writer(
    spool: Arc<Spool>,
    mut rx: mpsc::Receiver<Observed>,
    settings: WriterSettings,
    status: Arc<Status>,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let relay_id: Arc<str> = Arc::from(settings.relay_id.as_str());
    let warn_at = (settings.max_events as f64 * settings.warn_ratio) as u64;
    let mut last_full_log: Option<Instant> = None;
    let mut stopping = false;
    loop {
        let mut batch = Vec::with_capacity(64);
        if stopping {
            while batch.len() < WRITE_BATCH {
                match rx.try_recv() {
                    Ok(o) => batch.push(o),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                return;
            }
        } else {
            tokio::select! {
                first = rx.recv() => match first {
                    Some(o) => batch.push(o),
                    None => return,
                },
                () = stop.cancelled() => {
                    stopping = true;
                    continue;
                }
            }
            while batch.len() < WRITE_BATCH {
                match rx.try_recv() {
                    Ok(o) => batch.push(o),
                    Err(_) => break,
                }
            }
        }
        // Bound: wait (never drop) while the spool is full.
        loop {
            let depth = spool.depth();
            let full = depth >= settings.max_events;
            status.set_spool_pressure(depth >= warn_at, full);
            if !full || stopping {
                break;
            }
            if last_full_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                tracing::error!(
                    depth,
                    max = settings.max_events,
                    "spool full: PBX reading paused until SQS accepts events"
                );
                status.error(format!("spool full ({depth} events)"));
                last_full_log = Some(Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut retry = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 0.1);
        loop {
            let spool = spool.clone();
            let relay_id = relay_id.clone();
            let result = tokio::task::spawn_blocking(move || {
                let r = spool.append(&relay_id, &batch);
                (batch, r)
            })
            .await;
            match result {
                Ok((_, Ok(written))) => {
                    status
                        .metrics
                        .events_spooled
                        .fetch_add(written.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    wake.notify_one();
                    break;
                }
                Ok((back, Err(e))) => {
                    tracing::error!(error.message = %e, error.cause_chain = %error_chain(&e), "failed to write events to the spool; retrying");
                    status.error(format!("spool write failed: {}", error_chain(&e)));
                    batch = back;
                    tokio::time::sleep(retry.next_delay()).await;
                }
                Err(join) => {
                    tracing::error!(error.message = %join, "spool writer thread failed");
                    return;
                }
            }
        }
    }
}

/// Sends spooled events to the event queue and deletes them once accepted.
pub struct Publisher {
    spool: Arc<Spool>,
    sink: Arc<dyn EventSink>,
    status: Arc<Status>,
    wake: Arc<Notify>,
    backoff: Backoff,
}

impl Publisher {
    /// A publisher.
    pub fn new(
        spool: Arc<Spool>,
        sink: Arc<dyn EventSink>,
        status: Arc<Status>,
        wake: Arc<Notify>,
        backoff: Backoff,
    ) -> Self {
        Self {
            spool,
            sink,
            status,
            wake,
            backoff,
        }
    }

    /// Runs until `flush` is cancelled and then either the spool is empty or `grace` has passed
    /// (what is left stays in the spool for the next start).
    pub async fn run(mut self, flush: CancellationToken, grace: Duration) {
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            if flush.is_cancelled() && deadline.is_none() {
                deadline = Some(tokio::time::Instant::now() + grace);
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                tracing::info!(
                    left = self.spool.depth(),
                    "publisher stopped; the rest stays in the spool"
                );
                return;
            }
            let spool = self.spool.clone();
            let events = match tokio::task::spawn_blocking(move || spool.peek(PUBLISH_CHUNK)).await
            {
                Ok(Ok(events)) => events,
                Ok(Err(e)) => {
                    tracing::error!(error.message = %e, error.cause_chain = %error_chain(&e), "failed to read the spool");
                    self.status
                        .error(format!("spool read failed: {}", error_chain(&e)));
                    self.pause(&flush, deadline).await;
                    continue;
                }
                Err(_) => return,
            };
            if events.is_empty() {
                if flush.is_cancelled() {
                    return;
                }
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = flush.cancelled() => {}
                }
                continue;
            }
            let (accepted, failure) = self.send(&events).await;
            if !accepted.is_empty() {
                let now_ms = Utc::now().timestamp_millis();
                for e in &accepted {
                    let ms = u64::try_from((now_ms - e.observed_at_ms).max(0)).unwrap_or(0);
                    self.status
                        .metrics
                        .publish_latency
                        .observe(Duration::from_millis(ms));
                }
                let seqs: Vec<u64> = accepted.iter().map(|e| e.seq).collect();
                let spool = self.spool.clone();
                match tokio::task::spawn_blocking(move || spool.remove(&seqs)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        // Not removed means resent later: a duplicate, never a loss.
                        tracing::error!(error.message = %e, error.cause_chain = %error_chain(&e), "failed to remove published events from the spool");
                        self.status
                            .error(format!("spool delete failed: {}", error_chain(&e)));
                    }
                    Err(_) => return,
                }
                self.status
                    .metrics
                    .events_published
                    .fetch_add(accepted.len() as u64, std::sync::atomic::Ordering::Relaxed);
                self.status.sqs_ok();
            }
            match failure {
                None => self.backoff.reset(),
                Some(reason) => {
                    self.status
                        .metrics
                        .publish_failures
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(reason = %reason, depth = self.spool.depth(), "SQS did not accept every event; retrying from the first failure");
                    self.status.sqs_failed(reason);
                    self.pause(&flush, deadline).await;
                }
            }
        }
    }

    async fn pause(&mut self, flush: &CancellationToken, deadline: Option<tokio::time::Instant>) {
        let delay = self.backoff.next_delay();
        let sleep_until = tokio::time::Instant::now() + delay;
        let until = deadline.map_or(sleep_until, |d| d.min(sleep_until));
        tokio::select! {
            () = tokio::time::sleep_until(until) => {}
            () = flush.cancelled(), if deadline.is_none() => {}
        }
    }

    /// Sends one round. Each request holds at most one event per message group — the oldest
    /// one not yet accepted — so a later event of a group is only ever sent after SQS accepted
    /// every earlier one: per-group order holds even when single entries fail. A group with a
    /// failed entry is held back until the next round (after a backoff); other groups go on.
    /// A failed request ends the round. Returns the accepted events and the last failure.
    async fn send(&self, events: &[SpooledEvent]) -> (Vec<SpooledEvent>, Option<String>) {
        let mut pending: Vec<&SpooledEvent> = events.iter().collect();
        let mut blocked: HashSet<&str> = HashSet::new();
        let mut accepted = Vec::with_capacity(events.len());
        let mut failure = None;
        loop {
            let mut groups: HashSet<&str> = HashSet::new();
            let mut picked: Vec<usize> = Vec::with_capacity(MAX_BATCH);
            for (i, e) in pending.iter().enumerate() {
                let group = e.group_id.as_str();
                if blocked.contains(group) || !groups.insert(group) {
                    continue;
                }
                picked.push(i);
                if picked.len() == MAX_BATCH {
                    break;
                }
            }
            if picked.is_empty() {
                break;
            }
            let batch: Vec<SpooledEvent> = picked.iter().map(|&i| pending[i].clone()).collect();
            let results = match self.sink.send_batch(&batch).await {
                Ok(r) => r,
                Err(e) => {
                    failure = Some(error_chain(&e));
                    break;
                }
            };
            let mut results = results.into_iter();
            let mut done: HashSet<usize> = HashSet::with_capacity(picked.len());
            for &i in &picked {
                let event = pending[i];
                match results.next() {
                    Some(Ok(())) => {
                        accepted.push(event.clone());
                        done.insert(i);
                    }
                    Some(Err(f)) => {
                        blocked.insert(event.group_id.as_str());
                        failure = Some(format!(
                            "SQS refused event {} ({}, sender fault: {})",
                            event.event_id, f.code, f.sender_fault
                        ));
                    }
                    None => {
                        blocked.insert(event.group_id.as_str());
                        failure = Some(format!("no result for event {}", event.event_id));
                    }
                }
            }
            pending = pending
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !done.contains(i))
                .map(|(_, e)| e)
                .collect();
        }
        (accepted, failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::MemorySink;
    use cti_events::{CallEvent, CallEventKind};

    fn call(id: &str, kind: CallEventKind) -> CtiEvent {
        CtiEvent::Call(CallEvent {
            kind,
            call_id: id.into(),
            ..CallEvent::default()
        })
    }

    #[tokio::test]
    async fn when_an_entry_fails_should_resend_from_it_and_keep_group_order() {
        // GIVEN a spool with 4 events of one call and a sink failing the 2nd once
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("s.redb")).unwrap();
        let events: Vec<Observed> = [
            CallEventKind::Delivered,
            CallEventKind::Established,
            CallEventKind::Held,
            CallEventKind::CallCleared,
        ]
        .into_iter()
        .map(|k| Observed::now(call("C1", k)))
        .collect();
        let written = spool.append("r1", &events).unwrap();
        let sink = Arc::new(MemorySink::new());
        sink.fail_once(written[1].event_id.clone());
        let status = Arc::new(Status::default());
        let publisher = Publisher::new(
            spool.clone(),
            sink.clone(),
            status.clone(),
            Arc::new(Notify::new()),
            Backoff::new(Duration::from_millis(1), Duration::from_millis(5), 0.0),
        );
        // WHEN it runs until drained
        let flush = CancellationToken::new();
        flush.cancel();
        publisher.run(flush, Duration::from_secs(5)).await;
        // THEN everything arrived once, in seq order, and the spool is empty
        let seqs: Vec<u64> = sink.messages().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
        assert_eq!(spool.depth(), 0);
        assert!(sink.requests() >= 2);
        assert!(sink.messages().iter().all(|e| e.group_id == "call:C1"));
    }

    #[tokio::test]
    async fn when_writer_gets_events_should_spool_them_and_wake_the_publisher() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("s.redb")).unwrap();
        let (bus, rx) = EventBus::new(16);
        let wake = Arc::new(Notify::new());
        let stop = CancellationToken::new();
        let writer = tokio::spawn(run_spool_writer(
            spool.clone(),
            rx,
            WriterSettings {
                relay_id: "r1".into(),
                max_events: 100,
                warn_ratio: 0.8,
            },
            Arc::new(Status::default()),
            wake.clone(),
            stop.clone(),
        ));
        bus.publish(call("C1", CallEventKind::Delivered))
            .await
            .unwrap();
        bus.publish(call("C1", CallEventKind::Established))
            .await
            .unwrap();
        drop(bus);
        writer.await.unwrap();
        let stored = spool.peek(10).unwrap();
        assert_eq!(stored.len(), 2);
        assert!(stored[0].body.contains("\"kind\":\"delivered\""));
        tokio::time::timeout(Duration::from_secs(1), wake.notified())
            .await
            .unwrap();
    }
}
