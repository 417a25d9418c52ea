//! The durable spool: every event is written here, with its `seq` and `eventId`, before anything
//! else happens to it, and stays until SQS has accepted it.
//!
//! # Store
//! [redb](https://www.redb.org) (embedded, ACID, copy-on-write B-trees with checksummed pages,
//! crash-safe without a WAL to replay): one table `seq → record`, one `meta` table (spool epoch,
//! next seq). We do not hand-write a log: redb gives atomic multi-record commits, crash
//! recovery and page checksums.
//!
//! # fsync policy (group commit)
//! - **Appends** commit with `Durability::Immediate` (fsync before `commit` returns). The spool
//!   writer drains every event waiting in its channel into one transaction, so one fsync covers
//!   a burst (≈ 1 fsync per batch, not per event). An event is handed to the publisher only
//!   after its commit. CSTA has no acknowledgement of events, so the only window of loss is the
//!   events read from the PBX socket and not yet committed when the process dies (one batch,
//!   milliseconds) — the same window any PBX client has.
//! - **Deletes** (after SQS accepted) commit with `Durability::Eventual`: a crash may undo a
//!   delete, which means a resend (at-least-once; SQS deduplicates on `eventId` within 5 min,
//!   consumers deduplicate on `eventId`), never a loss. The next Immediate commit persists them.
//!
//! # Epoch
//! `eventId = "{relayId}:{epoch}:{seq}"`. The epoch is set when the spool file is created
//! (creation time in ms), and `seq` is persisted in the same transaction as the events, so ids
//! stay unique across restarts and even when the spool file is deleted and recreated.
//!
//! # Record layout
//! `version u8 = 1 | observed_at_ms i64 LE | group_len u16 LE | group | id_len u16 LE | event_id |
//! body (the SQS message body: the JSON envelope)`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cti_events::{CtiEnvelope, CtiEvent, SCHEMA_VERSION};
use redb::{Database, Durability, ReadableTable, ReadableTableMetadata, TableDefinition};

const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const RECORD_VERSION: u8 = 1;
/// redb page cache: small, the spool is a queue (written once, read once).
const CACHE_BYTES: usize = 4 * 1024 * 1024;

/// Spool errors.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The store failed.
    #[error("spool store failed while trying to {context}")]
    Store {
        /// What was being done.
        context: &'static str,
        /// Cause.
        #[source]
        source: Box<redb::Error>,
    },
    /// An envelope could not be serialised.
    #[error("failed to serialise an event envelope")]
    Serialise(#[source] serde_json::Error),
    /// A stored record is unreadable.
    #[error("spool record {seq} is corrupt: {reason}")]
    Corrupt {
        /// Its key.
        seq: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

trait StoreContext<T> {
    fn ctx(self, context: &'static str) -> Result<T, SpoolError>;
}

impl<T, E: Into<redb::Error>> StoreContext<T> for Result<T, E> {
    fn ctx(self, context: &'static str) -> Result<T, SpoolError> {
        self.map_err(|e| SpoolError::Store {
            context,
            source: Box::new(e.into()),
        })
    }
}

/// One event to spool: the event and when the relay received it.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The event.
    pub event: CtiEvent,
    /// Reception time.
    pub observed_at: DateTime<Utc>,
}

impl Observed {
    /// An event observed now.
    pub fn now(event: CtiEvent) -> Self {
        Self {
            event,
            observed_at: Utc::now(),
        }
    }
}

/// A spooled event, as the publisher sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpooledEvent {
    /// Spool position.
    pub seq: u64,
    /// `{relayId}:{epoch}:{seq}` (the SQS deduplication id).
    pub event_id: String,
    /// The SQS message group.
    pub group_id: String,
    /// When the relay received it (ms since the epoch).
    pub observed_at_ms: i64,
    /// The JSON envelope (the SQS message body).
    pub body: String,
}

/// The durable spool.
pub struct Spool {
    db: Database,
    epoch: u64,
    depth: AtomicU64,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("epoch", &self.epoch)
            .field("depth", &self.depth())
            .finish()
    }
}

impl Spool {
    /// Opens (or creates) the spool at `path`.
    pub fn open(path: &Path) -> Result<Arc<Self>, SpoolError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(redb::Error::Io)
                .ctx("create the spool directory")?;
        }
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .ctx("open the spool file")?;
        let tx = db.begin_write().ctx("begin the opening transaction")?;
        let epoch;
        {
            let mut meta = tx.open_table(META).ctx("open the meta table")?;
            let existing = meta.get("epoch").ctx("read the epoch")?.map(|v| v.value());
            epoch = match existing {
                Some(e) => e,
                None => {
                    let e = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(1);
                    meta.insert("epoch", e).ctx("write the epoch")?;
                    meta.insert("next_seq", 1).ctx("write the first seq")?;
                    e
                }
            };
            tx.open_table(EVENTS).ctx("open the events table")?;
        }
        tx.commit().ctx("commit the opening transaction")?;
        let depth = {
            let rtx = db.begin_read().ctx("begin a read")?;
            let t = rtx.open_table(EVENTS).ctx("open the events table")?;
            t.len().ctx("count the events")?
        };
        Ok(Arc::new(Self {
            db,
            epoch,
            depth: AtomicU64::new(depth),
        }))
    }

    /// The spool epoch (part of every event id).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Events waiting for SQS.
    pub fn depth(&self) -> u64 {
        self.depth.load(Ordering::Relaxed)
    }

    /// Writes events durably (one fsync for the whole batch), assigning `seq` and `eventId`.
    /// Returns the envelopes written, in order.
    pub fn append(
        &self,
        relay_id: &str,
        events: &[Observed],
    ) -> Result<Vec<SpooledEvent>, SpoolError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db.begin_write().ctx("begin an append")?;
        tx.set_durability(Durability::Immediate);
        let mut written = Vec::with_capacity(events.len());
        {
            let mut meta = tx.open_table(META).ctx("open the meta table")?;
            let mut seq = meta
                .get("next_seq")
                .ctx("read the next seq")?
                .map(|v| v.value())
                .unwrap_or(1);
            let mut table = tx.open_table(EVENTS).ctx("open the events table")?;
            let mut record = Vec::with_capacity(1024);
            for observed in events {
                let envelope = CtiEnvelope {
                    version: SCHEMA_VERSION,
                    event_id: format!("{relay_id}:{}:{seq}", self.epoch),
                    relay_id: relay_id.to_owned(),
                    seq,
                    observed_at: observed.observed_at,
                    event: observed.event.clone(),
                };
                let body = serde_json::to_string(&envelope).map_err(SpoolError::Serialise)?;
                let spooled = SpooledEvent {
                    seq,
                    group_id: envelope.group_id(),
                    event_id: envelope.event_id,
                    observed_at_ms: envelope.observed_at.timestamp_millis(),
                    body,
                };
                encode_record(&spooled, &mut record);
                table
                    .insert(seq, record.as_slice())
                    .ctx("insert an event")?;
                written.push(spooled);
                seq += 1;
            }
            meta.insert("next_seq", seq).ctx("write the next seq")?;
        }
        tx.commit().ctx("commit an append")?;
        self.depth
            .fetch_add(written.len() as u64, Ordering::Relaxed);
        Ok(written)
    }

    /// The `max` oldest events, in seq order.
    pub fn peek(&self, max: usize) -> Result<Vec<SpooledEvent>, SpoolError> {
        let rtx = self.db.begin_read().ctx("begin a read")?;
        let table = rtx.open_table(EVENTS).ctx("open the events table")?;
        let mut out = Vec::with_capacity(max.min(1024));
        for entry in table.iter().ctx("iterate the events")?.take(max) {
            let (k, v) = entry.ctx("read an event")?;
            out.push(decode_record(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// When the oldest waiting event was received (ms since the epoch).
    pub fn oldest_observed_ms(&self) -> Result<Option<i64>, SpoolError> {
        let rtx = self.db.begin_read().ctx("begin a read")?;
        let table = rtx.open_table(EVENTS).ctx("open the events table")?;
        let first = table.first().ctx("read the oldest event")?;
        first
            .map(|(k, v)| decode_record(k.value(), v.value()).map(|e| e.observed_at_ms))
            .transpose()
    }

    /// Removes events SQS has accepted.
    pub fn remove(&self, seqs: &[u64]) -> Result<(), SpoolError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin_write().ctx("begin a delete")?;
        tx.set_durability(Durability::Eventual);
        let mut removed = 0u64;
        {
            let mut table = tx.open_table(EVENTS).ctx("open the events table")?;
            for seq in seqs {
                if table.remove(*seq).ctx("remove an event")?.is_some() {
                    removed += 1;
                }
            }
        }
        tx.commit().ctx("commit a delete")?;
        self.depth.fetch_sub(removed, Ordering::Relaxed);
        Ok(())
    }
}

fn encode_record(e: &SpooledEvent, out: &mut Vec<u8>) {
    out.clear();
    out.push(RECORD_VERSION);
    out.extend_from_slice(&e.observed_at_ms.to_le_bytes());
    for part in [e.group_id.as_bytes(), e.event_id.as_bytes()] {
        let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&part[..usize::from(len)]);
    }
    out.extend_from_slice(e.body.as_bytes());
}

fn decode_record(seq: u64, bytes: &[u8]) -> Result<SpooledEvent, SpoolError> {
    let corrupt = |reason| SpoolError::Corrupt { seq, reason };
    let (&version, rest) = bytes.split_first().ok_or(corrupt("empty record"))?;
    if version != RECORD_VERSION {
        return Err(corrupt("unknown record version"));
    }
    let (ts, rest) = rest.split_at_checked(8).ok_or(corrupt("truncated time"))?;
    let observed_at_ms = i64::from_le_bytes(ts.try_into().map_err(|_| corrupt("bad time"))?);
    let mut rest = rest;
    let mut parts = [String::new(), String::new()];
    for part in &mut parts {
        let (len, tail) = rest
            .split_at_checked(2)
            .ok_or(corrupt("truncated length"))?;
        let len = usize::from(u16::from_le_bytes([len[0], len[1]]));
        let (text, tail) = tail
            .split_at_checked(len)
            .ok_or(corrupt("truncated field"))?;
        *part = String::from_utf8(text.to_vec()).map_err(|_| corrupt("field not UTF-8"))?;
        rest = tail;
    }
    let [group_id, event_id] = parts;
    let body = String::from_utf8(rest.to_vec()).map_err(|_| corrupt("body not UTF-8"))?;
    Ok(SpooledEvent {
        seq,
        event_id,
        group_id,
        observed_at_ms,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cti_events::{LinkEvent, LinkState, OtherEvent};

    fn other(name: &str) -> Observed {
        Observed::now(CtiEvent::Other(OtherEvent {
            message: name.into(),
            call_id: None,
        }))
    }

    #[test]
    fn when_events_are_appended_should_get_increasing_seq_and_event_ids() {
        // GIVEN a new spool
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("s.redb")).unwrap();
        // WHEN two batches are appended
        let a = spool.append("r1", &[other("a"), other("b")]).unwrap();
        let b = spool.append("r1", &[other("c")]).unwrap();
        // THEN seqs continue and ids carry relay, epoch and seq
        assert_eq!(
            a.iter().chain(&b).map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(b[0].event_id, format!("r1:{}:3", spool.epoch()));
        assert_eq!(b[0].group_id, "relay:r1");
        let env: CtiEnvelope = serde_json::from_str(&b[0].body).unwrap();
        assert_eq!(env.seq, 3);
        assert_eq!(env.event_id, b[0].event_id);
        assert_eq!(spool.depth(), 3);
        assert_eq!(spool.peek(10).unwrap(), [a, b].concat());
    }

    #[test]
    fn when_spool_is_reopened_should_keep_events_epoch_and_seq() {
        // GIVEN a spool with 3 events, one removed
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let epoch = {
            let spool = Spool::open(&path).unwrap();
            spool
                .append("r1", &[other("a"), other("b"), other("c")])
                .unwrap();
            spool.remove(&[1]).unwrap();
            spool.epoch()
        };
        // WHEN reopened
        let spool = Spool::open(&path).unwrap();
        // THEN the rest is there and numbering continues
        assert_eq!(spool.epoch(), epoch);
        assert_eq!(spool.depth(), 2);
        let next = spool
            .append(
                "r1",
                &[Observed::now(CtiEvent::Link(LinkEvent {
                    state: LinkState::Up,
                    monitored_devices: 1,
                    reason: None,
                }))],
            )
            .unwrap();
        assert_eq!(next[0].seq, 4);
        let seqs: Vec<u64> = spool.peek(10).unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [2, 3, 4]);
    }

    #[test]
    fn when_record_is_truncated_should_report_corrupt_not_panic() {
        let e = SpooledEvent {
            seq: 1,
            event_id: "r:1:1".into(),
            group_id: "g".into(),
            observed_at_ms: 5,
            body: "{}".into(),
        };
        let mut bytes = Vec::new();
        encode_record(&e, &mut bytes);
        assert_eq!(decode_record(1, &bytes).unwrap(), e);
        for cut in 0..12 {
            assert!(decode_record(1, &bytes[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn when_oldest_is_asked_should_return_first_observed_time() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("s.redb")).unwrap();
        assert_eq!(spool.oldest_observed_ms().unwrap(), None);
        let written = spool.append("r1", &[other("a"), other("b")]).unwrap();
        assert_eq!(
            spool.oldest_observed_ms().unwrap(),
            Some(written[0].observed_at_ms)
        );
    }
}
