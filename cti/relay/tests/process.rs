//! The `linka-relay` binary as a process: SQS unreachable, then SIGKILL with a non-empty spool,
//! then a restart against moto — no event is lost, each call's events stay in order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use common::*;
use cti_events::{CtiEnvelope, CtiEvent};

fn spawn_relay(config: &std::path::Path, endpoint: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_linka-relay"))
        .arg("--config")
        .arg(config)
        .args(["--log-format", "pretty"])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "eu-central-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn when_relay_is_killed_with_a_non_empty_spool_should_publish_everything_after_restart() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let sqs = moto.sqs();
    let queue = sqs
        .create_queue()
        .queue_name("kill-events.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let pbx = FakePbx::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("relay.toml");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/dist/relay.toml"))
        .unwrap()
        .replace("host = \"10.0.0.10\"", "host = \"127.0.0.1\"")
        .replace("port = 4000", &format!("port = {}", pbx.addr.port()))
        .replace(
            "/var/lib/linka-relay/spool.redb",
            &dir.path().join("spool.redb").display().to_string(),
        )
        .replace("listen = \"127.0.0.1:9480\"", "listen = \"127.0.0.1:0\"")
        .replace("auth = \"sigv4\"", "auth = \"none\"");
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("event_queue_url") {
                format!("event_queue_url = \"{queue}\"")
            } else if l.starts_with("command_queue_url") || l.starts_with("url = ") {
                String::new()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config_path, text).unwrap();

    // GIVEN a relay whose SQS endpoint is unreachable (nothing listens there)
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_endpoint = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let mut relay = spawn_relay(&config_path, &dead_endpoint);
    wait_until("4 monitors", Duration::from_secs(20), || {
        pbx.monitored_in(1).len() == 4
    })
    .await;
    // WHEN 20 calls × 5 events arrive, then the relay is SIGKILLed
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for round in 0..5 {
        for c in 0..20 {
            let call = format!("K{c}");
            match round {
                0 => pbx.send_event(delivered(&call, "2001", 1)),
                1 => pbx.send_event(established(&call, "2001", 1)),
                _ => pbx.send_event(cleared(&call, "2001", 1)),
            }
            *expected.entry(call).or_default() += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.kill().unwrap();
    relay.wait().unwrap();
    // AND restarted with SQS reachable
    let mut relay = spawn_relay(&config_path, &moto.endpoint());
    // THEN every call event reaches the queue, in order per call
    let mut seen: HashSet<String> = HashSet::new();
    let mut per_call: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while per_call.values().map(Vec::len).sum::<usize>() < 100 {
        assert!(Instant::now() < deadline, "only {per_call:?}");
        let out = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages.unwrap_or_default() {
            let env: CtiEnvelope = serde_json::from_str(m.body().unwrap()).unwrap();
            sqs.delete_message()
                .queue_url(&queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            if !seen.insert(env.event_id.clone()) {
                continue;
            }
            if let CtiEvent::Call(c) = env.event {
                per_call.entry(c.call_id).or_default().push(env.seq);
            }
        }
    }
    relay.kill().unwrap();
    relay.wait().unwrap();
    assert_eq!(per_call.len(), 20);
    for (call, seqs) in &per_call {
        assert_eq!(seqs.len(), expected[call], "{call}");
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{call}: {seqs:?}");
    }
}
