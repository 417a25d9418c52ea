//! `relay-bench`: sustained throughput of the relay pipeline — frame decode (lean) → mapping →
//! durable spool (redb, fsync per batch) → publisher → a fake, instant SQS — and the process's
//! resident memory. Goal (issue 4): ≥ 5 000 events/s sustained with RSS < 30 MB.
//!
//! `cargo run --release -p linka-relay --bin relay-bench -- --seconds 20 --calls 200`

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use clap::Parser;
use csta::{samples, Codec, Edition, FrameCodec, InvokeId};
use linka_relay::backoff::Backoff;
use linka_relay::health::Status;
use linka_relay::link::{LeanCodec, MonitorMap};
use linka_relay::mapping::map_message;
use linka_relay::pipeline::{run_spool_writer, EventBus, Publisher, WriterSettings, BUS_CAPACITY};
use linka_relay::sink::MemorySink;
use linka_relay::spool::{Observed, Spool};
use tokio::sync::Notify;
use tokio_util::codec::{Decoder, Encoder};
use tokio_util::sync::CancellationToken;

/// Measure the relay pipeline's sustained event rate and memory.
#[derive(Debug, Parser)]
#[command(name = "relay-bench")]
struct Args {
    /// Measured seconds (after a 2 s warm-up).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Concurrent calls in the generated traffic (distinct SQS message groups).
    #[arg(long, default_value_t = 200)]
    calls: u32,
    /// Spool directory (default: a fresh directory under the system temp dir).
    #[arg(long)]
    spool_dir: Option<PathBuf>,
    /// Offered load in events/s (0 = as fast as the pipeline takes them).
    #[arg(long, default_value_t = 0)]
    rate: u64,
}

const SAMPLE_CALL_ID: &str = "FF000100000000002D65C85C1C750000";

fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The wire bytes of `calls` ACD calls (10 events each), one after the other per call.
fn traffic(calls: u32) -> Result<(BytesMut, u64), csta::FrameError> {
    let codec = Codec::for_edition(Edition::Ed4);
    let mix = samples::event_mix();
    let mut frames = FrameCodec::new();
    let mut out = BytesMut::new();
    let mut count = 0;
    for k in 0..calls {
        let call = format!("{k:032X}");
        for m in &mix {
            let xml = codec.encode(m).replace(SAMPLE_CALL_ID, &call);
            frames.encode(csta::Frame::new(InvokeId::EVENT, xml), &mut out)?;
            count += 1;
        }
    }
    Ok((out, count))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let dir = args.spool_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("relay-bench-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir)?;
    let spool_path = dir.join("spool.redb");
    let _ = std::fs::remove_file(&spool_path);
    let spool = Spool::open(&spool_path)?;
    let status = Arc::new(Status::default());
    let sink = Arc::new(MemorySink::discarding());
    let wake = Arc::new(Notify::new());
    let (bus, rx) = EventBus::new(BUS_CAPACITY);
    let stop = CancellationToken::new();
    let writer = tokio::spawn(run_spool_writer(
        spool.clone(),
        rx,
        WriterSettings {
            relay_id: "bench".into(),
            max_events: 1_000_000,
            warn_ratio: 0.8,
        },
        status.clone(),
        wake.clone(),
        stop.clone(),
    ));
    let flush = CancellationToken::new();
    let publisher = tokio::spawn(
        Publisher::new(
            spool.clone(),
            sink.clone(),
            status.clone(),
            wake,
            Backoff::new(Duration::from_millis(10), Duration::from_millis(100), 0.0),
        )
        .run(flush.clone(), Duration::from_secs(30)),
    );

    let (wire, per_round) = traffic(args.calls)?;
    let monitors: MonitorMap = Arc::new(RwLock::new(HashMap::new()));
    let total = Duration::from_secs(args.seconds + 2);
    let rate = args.rate;
    let feeder = tokio::spawn(async move {
        let mut codec = LeanCodec::new(Edition::Ed4);
        let started = Instant::now();
        let mut sent: u64 = 0;
        while started.elapsed() < total {
            let mut buf = wire.clone();
            while let Ok(Some((_, message))) = codec.decode(&mut buf) {
                if let Some(event) = map_message(&message, &monitors) {
                    if bus.publish_observed(Observed::now(event)).await.is_err() {
                        return sent;
                    }
                    sent += 1;
                    if rate > 0 && sent % 100 == 0 {
                        let due = Duration::from_secs_f64(sent as f64 / rate as f64);
                        if let Some(wait) = due.checked_sub(started.elapsed()) {
                            tokio::time::sleep(wait).await;
                        }
                    }
                }
            }
        }
        sent
    });

    tokio::time::sleep(Duration::from_secs(2)).await;
    let start_published = sink.len();
    let start = Instant::now();
    let mut peak_depth = 0;
    while start.elapsed() < Duration::from_secs(args.seconds) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        peak_depth = peak_depth.max(spool.depth());
    }
    let measured = start.elapsed();
    let published = sink.len() - start_published;
    let (rss, hwm) = rss_kib();
    let sent = feeder.await?;
    stop.cancel();
    writer.await?;
    flush.cancel();
    publisher.await?;
    let rate = published as f64 / measured.as_secs_f64();
    println!(
        "relay-bench: {} calls x 10 events per round ({per_round} events), {} s measured",
        args.calls, args.seconds
    );
    println!(
        "  offered (decoded+mapped): {sent} events in {} s",
        args.seconds + 2
    );
    println!(
        "  published to the fake SQS: {published} in {:.1} s = {rate:.0} events/s",
        measured.as_secs_f64()
    );
    println!("  spool depth: peak {peak_depth}, at end {}", spool.depth());
    println!(
        "  SendMessageBatch requests: {}, spooled total {}",
        sink.requests(),
        status.metrics.events_spooled.load(Ordering::Relaxed)
    );
    println!(
        "  RSS {:.1} MiB, peak RSS (VmHWM) {:.1} MiB",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    drop(spool);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
