//! Shared status and counters, and the health/metrics endpoint (axum).
//!
//! - `GET /health`: JSON (link state, session id, monitored devices, monitor failures, spool
//!   depth, oldest spooled age = lag, last SQS success, last error). 200 when the PBX link is up,
//!   publishing works and the spool is not full; 503 otherwise.
//! - `GET /metrics`: Prometheus text format (names `linka_relay_*`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::spool::Spool;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

const LATENCY_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// A Prometheus histogram with fixed buckets (seconds).
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, value: Duration) {
        let secs = value.as_secs_f64();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(value.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Counters (monotonic).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Messages received from the PBX.
    pub pbx_messages: AtomicU64,
    /// Frames that could not be decoded.
    pub decode_errors: AtomicU64,
    /// Events written to the spool.
    pub events_spooled: AtomicU64,
    /// Events SQS accepted.
    pub events_published: AtomicU64,
    /// Failed SendMessageBatch requests or entries.
    pub publish_failures: AtomicU64,
    /// Reception → SQS acceptance.
    pub publish_latency: Histogram,
    /// Successful PBX (re)connections.
    pub connects: AtomicU64,
    /// Link losses.
    pub link_losses: AtomicU64,
    /// RouteSelects with the cloud's answer.
    pub route_cloud: AtomicU64,
    /// RouteSelects with the fallback.
    pub route_fallback: AtomicU64,
    /// Commands by outcome: done, refused, expired, linkDown, invalid, duplicate.
    pub commands: [AtomicU64; 6],
}

/// Index into [`Metrics::commands`].
#[derive(Debug, Clone, Copy)]
pub enum CommandMetric {
    /// Executed.
    Done = 0,
    /// PBX refused.
    Refused = 1,
    /// Past expiry.
    Expired = 2,
    /// Link down during execution.
    LinkDown = 3,
    /// Unreadable.
    Invalid = 4,
    /// Already executed (redelivery).
    Duplicate = 5,
}

const COMMAND_LABELS: [&str; 6] = [
    "done",
    "refused",
    "expired",
    "linkDown",
    "invalid",
    "duplicate",
];

/// The relay's live status, shared by every task.
#[derive(Debug, Default)]
pub struct Status {
    link_up: AtomicBool,
    session_id: Mutex<Option<String>>,
    monitored_devices: AtomicU64,
    monitor_failures: Mutex<BTreeMap<String, String>>,
    licence_exhausted: AtomicBool,
    last_sqs_success: Mutex<Option<DateTime<Utc>>>,
    last_error: Mutex<Option<(DateTime<Utc>, String)>>,
    publish_failing: AtomicBool,
    spool_full: AtomicBool,
    spool_near_full: AtomicBool,
    /// Counters.
    pub metrics: Metrics,
}

impl Status {
    /// Link up with this session.
    pub fn set_link_up(&self, session_id: &str, monitored: u64) {
        *lock(&self.session_id) = Some(session_id.to_owned());
        self.monitored_devices.store(monitored, Ordering::Relaxed);
        self.link_up.store(true, Ordering::Relaxed);
    }

    /// Link down.
    pub fn set_link_down(&self) {
        self.link_up.store(false, Ordering::Relaxed);
        *lock(&self.session_id) = None;
        self.monitored_devices.store(0, Ordering::Relaxed);
    }

    /// True when the PBX link is up.
    pub fn link_up(&self) -> bool {
        self.link_up.load(Ordering::Relaxed)
    }

    /// Devices monitored in the current session.
    pub fn monitored_devices(&self) -> u64 {
        self.monitored_devices.load(Ordering::Relaxed)
    }

    /// A MonitorStart was refused.
    pub fn monitor_failed(&self, device: &str, error: String, licence_exhausted: bool) {
        lock(&self.monitor_failures).insert(device.to_owned(), error);
        if licence_exhausted {
            self.licence_exhausted.store(true, Ordering::Relaxed);
        }
    }

    /// Clears monitor failures (before a new session's monitors).
    pub fn clear_monitor_failures(&self) {
        lock(&self.monitor_failures).clear();
        self.licence_exhausted.store(false, Ordering::Relaxed);
    }

    /// SQS accepted a batch.
    pub fn sqs_ok(&self) {
        *lock(&self.last_sqs_success) = Some(Utc::now());
        self.publish_failing.store(false, Ordering::Relaxed);
    }

    /// SQS failed.
    pub fn sqs_failed(&self, error: String) {
        self.publish_failing.store(true, Ordering::Relaxed);
        self.error(error);
    }

    /// Records the latest error.
    pub fn error(&self, error: String) {
        *lock(&self.last_error) = Some((Utc::now(), error));
    }

    /// Spool full / near full flags.
    pub fn set_spool_pressure(&self, near_full: bool, full: bool) {
        self.spool_near_full.store(near_full, Ordering::Relaxed);
        self.spool_full.store(full, Ordering::Relaxed);
    }

    /// Counts a command outcome.
    pub fn command(&self, which: CommandMetric) {
        self.metrics.commands[which as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The health report.
    pub fn report(&self, spool: &Spool) -> HealthReport {
        let now = Utc::now();
        let oldest = spool.oldest_observed_ms().ok().flatten();
        let lag_ms = oldest.map(|ms| (now.timestamp_millis() - ms).max(0));
        let link_up = self.link_up();
        let publishing = !self.publish_failing.load(Ordering::Relaxed);
        let spool_full = self.spool_full.load(Ordering::Relaxed);
        HealthReport {
            healthy: link_up && publishing && !spool_full,
            link: if link_up { "up" } else { "down" },
            session_id: lock(&self.session_id).clone(),
            monitored_devices: self.monitored_devices(),
            monitor_failures: lock(&self.monitor_failures).clone(),
            licence_exhausted: self.licence_exhausted.load(Ordering::Relaxed),
            publishing,
            spool_depth: spool.depth(),
            spool_near_full: self.spool_near_full.load(Ordering::Relaxed),
            spool_full,
            oldest_spooled_age_ms: lag_ms,
            last_sqs_success: *lock(&self.last_sqs_success),
            last_error: lock(&self.last_error)
                .clone()
                .map(|(at, message)| LastError { at, message }),
        }
    }

    /// Prometheus text.
    pub fn render_metrics(&self, spool: &Spool) -> String {
        let m = &self.metrics;
        let mut out = String::with_capacity(4096);
        let counters: [(&str, &str, &AtomicU64); 9] = [
            (
                "linka_relay_pbx_messages_total",
                "Messages received from the PBX",
                &m.pbx_messages,
            ),
            (
                "linka_relay_decode_errors_total",
                "PBX frames that could not be decoded",
                &m.decode_errors,
            ),
            (
                "linka_relay_events_spooled_total",
                "Events written to the spool",
                &m.events_spooled,
            ),
            (
                "linka_relay_events_published_total",
                "Events accepted by SQS",
                &m.events_published,
            ),
            (
                "linka_relay_publish_failures_total",
                "Failed SQS requests or entries",
                &m.publish_failures,
            ),
            (
                "linka_relay_connects_total",
                "PBX sessions established",
                &m.connects,
            ),
            (
                "linka_relay_link_losses_total",
                "PBX link losses (each followed by a reconnect)",
                &m.link_losses,
            ),
            (
                "linka_relay_route_decisions_cloud_total",
                "RouteSelects with the cloud's answer",
                &m.route_cloud,
            ),
            (
                "linka_relay_route_decisions_fallback_total",
                "RouteSelects with the local fallback",
                &m.route_fallback,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP linka_relay_route_decisions_total RouteSelects by source\n# TYPE linka_relay_route_decisions_total counter"
        );
        let _ = writeln!(
            out,
            "linka_relay_route_decisions_total{{source=\"cloud\"}} {}\nlinka_relay_route_decisions_total{{source=\"fallback\"}} {}",
            m.route_cloud.load(Ordering::Relaxed),
            m.route_fallback.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP linka_relay_commands_total Commands by outcome\n# TYPE linka_relay_commands_total counter"
        );
        for (label, value) in COMMAND_LABELS.iter().zip(&m.commands) {
            let _ = writeln!(
                out,
                "linka_relay_commands_total{{outcome=\"{label}\"}} {}",
                value.load(Ordering::Relaxed)
            );
        }
        m.publish_latency.render(
            "linka_relay_publish_latency_seconds",
            "Time from PBX reception to SQS acceptance",
            &mut out,
        );
        let lag = spool
            .oldest_observed_ms()
            .ok()
            .flatten()
            .map(|ms| ((Utc::now().timestamp_millis() - ms).max(0)) as f64 / 1000.0)
            .unwrap_or(0.0);
        let gauges: [(&str, &str, f64); 6] = [
            (
                "linka_relay_link_up",
                "1 when the PBX session is up",
                f64::from(u8::from(self.link_up())),
            ),
            (
                "linka_relay_monitored_devices",
                "Devices monitored in the current session",
                self.monitored_devices() as f64,
            ),
            (
                "linka_relay_spool_depth",
                "Events waiting in the spool",
                spool.depth() as f64,
            ),
            (
                "linka_relay_spool_lag_seconds",
                "Age of the oldest spooled event",
                lag,
            ),
            (
                "linka_relay_spool_near_full",
                "1 when the spool is above its warning ratio",
                f64::from(u8::from(self.spool_near_full.load(Ordering::Relaxed))),
            ),
            (
                "linka_relay_spool_full",
                "1 when the spool is full (PBX reading paused)",
                f64::from(u8::from(self.spool_full.load(Ordering::Relaxed))),
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP linka_relay_licence_exhausted 1 when the PBX refused a monitor for lack of CSTA licences\n# TYPE linka_relay_licence_exhausted gauge\nlinka_relay_licence_exhausted {}",
            u8::from(self.licence_exhausted.load(Ordering::Relaxed))
        );
        out
    }
}

/// The last error.
#[derive(Debug, Clone, Serialize)]
pub struct LastError {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub message: String,
}

/// `GET /health` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// Link up, publishing and spool not full.
    pub healthy: bool,
    /// `up` / `down`.
    pub link: &'static str,
    /// ECMA-354 session id.
    pub session_id: Option<String>,
    /// Devices monitored in this session.
    pub monitored_devices: u64,
    /// Device → CSTA error of refused MonitorStarts.
    pub monitor_failures: BTreeMap<String, String>,
    /// The PBX reported no more CSTA licences.
    pub licence_exhausted: bool,
    /// SQS accepts events.
    pub publishing: bool,
    /// Events waiting.
    pub spool_depth: u64,
    /// Above the warning ratio.
    pub spool_near_full: bool,
    /// Full (PBX reading paused).
    pub spool_full: bool,
    /// Age of the oldest waiting event (lag).
    pub oldest_spooled_age_ms: Option<i64>,
    /// Last accepted SQS request.
    pub last_sqs_success: Option<DateTime<Utc>>,
    /// Last error.
    pub last_error: Option<LastError>,
}

#[derive(Clone)]
struct HealthState {
    status: Arc<Status>,
    spool: Arc<Spool>,
}

async fn health(State(s): State<HealthState>) -> Response {
    let status = s.status.clone();
    let spool = s.spool.clone();
    let report = tokio::task::spawn_blocking(move || status.report(&spool)).await;
    match report {
        Ok(r) => {
            let code = if r.healthy {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (code, Json(r)).into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn metrics(State(s): State<HealthState>) -> Response {
    let status = s.status.clone();
    let spool = s.spool.clone();
    match tokio::task::spawn_blocking(move || status.render_metrics(&spool)).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The health router.
pub fn router(status: Arc<Status>, spool: Arc<Spool>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(HealthState { status, spool })
}

/// Binds the health endpoint; returns the bound address and the server future.
pub async fn bind(
    listen: SocketAddr,
    status: Arc<Status>,
    spool: Arc<Spool>,
    shutdown: CancellationToken,
) -> std::io::Result<(
    SocketAddr,
    impl std::future::Future<Output = std::io::Result<()>>,
)> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let app = router(status, spool);
    let server = async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    };
    Ok((addr, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_link_is_down_should_be_unhealthy_and_metrics_should_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("s.redb")).unwrap();
        let status = Status::default();
        assert!(!status.report(&spool).healthy);
        status.set_link_up("S1", 3);
        assert!(status.report(&spool).healthy);
        status.sqs_failed("boom".into());
        let r = status.report(&spool);
        assert!(!r.healthy);
        assert_eq!(r.last_error.map(|e| e.message).as_deref(), Some("boom"));
        status
            .metrics
            .publish_latency
            .observe(Duration::from_millis(30));
        let text = status.render_metrics(&spool);
        assert!(text.contains("linka_relay_link_up 1"), "{text}");
        assert!(text.contains("linka_relay_monitored_devices 3"));
        assert!(text.contains("linka_relay_publish_latency_seconds_bucket{le=\"0.05\"} 1"));
        assert!(text.contains("linka_relay_commands_total{outcome=\"done\"} 0"));
    }
}
