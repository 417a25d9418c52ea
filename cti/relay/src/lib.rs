//! `linka-relay`: the on-premise CTI relay between the PBX (CSTA XML over TCP) and Linka.
//!
//! ```text
//!  PBX ──TCP── link actor ──map──► EventBus ──► spool writer (redb, fsync per batch)
//!               │   ▲                 ▲  ▲                    │ wake
//!               │   │ LinkHandle      │  │                    ▼
//!               │   └──── commands ◄──┼──┼── SQS command FIFO  publisher ──► SQS event FIFO
//!               └──► router ──HTTPS──►│ routing function        (delete after acceptance)
//!                        (budget, fallback)
//! ```
//!
//! Modules: [`config`] (TOML + env), [`link`] (session, monitors, keep-alive, reconnect),
//! [`mapping`] (CSTA → `cti_events`), [`spool`] (durable store), [`pipeline`] (bus, writer,
//! publisher), [`sink`] (SQS adapter and in-memory fake), [`routing`], [`commands`],
//! [`health`] (status, `/health`, `/metrics`). [`start`] wires them; `main.rs` only builds the
//! AWS/HTTP clients and calls it.

pub mod backoff;
pub mod commands;
pub mod config;
pub mod health;
pub mod ivr;
pub mod link;
pub mod mapping;
pub mod pipeline;
pub mod routing;
pub mod sink;
pub mod spool;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::commands::{CommandExecutor, CommandSource};
use crate::config::Config;
use crate::health::Status;
use crate::link::{run_link, LinkContext};
use crate::pipeline::{run_spool_writer, EventBus, Publisher, WriterSettings, BUS_CAPACITY};
use crate::routing::{RouteOracle, Router};
use crate::sink::EventSink;
use crate::spool::{Spool, SpoolError};

/// An error and its sources, `: `-separated (for logs and health).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Errors starting the relay.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The spool could not be opened.
    #[error("failed to open the spool")]
    Spool(#[from] SpoolError),
    /// The health endpoint could not be bound.
    #[error("failed to bind the health endpoint on {addr}")]
    Health {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// The adapters the relay talks to (built once in `main`, fakes in tests).
pub struct Deps {
    /// The event queue.
    pub sink: Arc<dyn EventSink>,
    /// The command queue (None: commands off).
    pub commands: Option<Arc<dyn CommandSource>>,
    /// The routing function (None: always the fallback).
    pub oracle: Option<Arc<dyn RouteOracle>>,
}

/// A running relay.
pub struct RunningRelay {
    /// Live status.
    pub status: Arc<Status>,
    /// The spool.
    pub spool: Arc<Spool>,
    /// The bound health address.
    pub health_addr: SocketAddr,
    shutdown: CancellationToken,
    done: JoinHandle<()>,
}

impl RunningRelay {
    /// The token that stops the relay.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops gracefully: stops reading (PBX session closed, no more commands), spools what was
    /// received, publishes for up to the flush grace, keeps the rest in the spool.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.done.await;
    }

    /// Waits until the relay has stopped (after the shutdown token is cancelled).
    pub async fn wait(self) {
        let _ = self.done.await;
    }
}

/// How long the publisher keeps trying after a stop.
pub const FLUSH_GRACE: Duration = Duration::from_secs(5);

/// Starts every task.
pub async fn start(config: Config, deps: Deps) -> Result<RunningRelay, RelayError> {
    let config = Arc::new(config);
    let status = Arc::new(Status::default());
    let spool = Spool::open(&config.spool.path)?;
    if spool.depth() > 0 {
        tracing::info!(
            depth = spool.depth(),
            "spool has events from a previous run; resuming"
        );
    }
    let shutdown = CancellationToken::new();
    let (health_addr, server) = health::bind(
        config.health.listen,
        status.clone(),
        spool.clone(),
        shutdown.clone(),
    )
    .await
    .map_err(|source| RelayError::Health {
        addr: config.health.listen,
        source,
    })?;
    let (bus, bus_rx) = EventBus::new(BUS_CAPACITY);
    let wake = Arc::new(Notify::new());

    let writer_stop = CancellationToken::new();
    let writer = tokio::spawn(run_spool_writer(
        spool.clone(),
        bus_rx,
        WriterSettings {
            relay_id: config.relay_id.clone(),
            max_events: config.spool.max_events,
            warn_ratio: config.spool.warn_ratio,
        },
        status.clone(),
        wake.clone(),
        writer_stop.clone(),
    ));

    let flush = CancellationToken::new();
    let publisher = Publisher::new(
        spool.clone(),
        deps.sink,
        status.clone(),
        wake,
        Backoff::new(Duration::from_millis(200), Duration::from_secs(5), 0.2),
    );
    let publisher = tokio::spawn(publisher.run(flush.clone(), FLUSH_GRACE));

    let (route_tx, route_rx) = mpsc::channel(1024);
    let registrations = Arc::new(RwLock::new(HashMap::new()));
    let router = Router::new(
        config.clone(),
        deps.oracle,
        bus.clone(),
        status.clone(),
        registrations.clone(),
    );
    let router = tokio::spawn(router.run(route_rx, shutdown.clone()));

    let (current, current_rx) = watch::channel(None);
    let (ivr, ivr_handle, ivr_tap) =
        ivr::controller(config.clone(), bus.clone(), current_rx.clone());
    let ivr = tokio::spawn(ivr.run(shutdown.clone()));
    let ctx = Arc::new(LinkContext {
        config: config.clone(),
        bus: bus.clone(),
        status: status.clone(),
        monitors: Arc::new(RwLock::new(HashMap::new())),
        registrations,
        routes: route_tx,
        current,
        ivr: Some(ivr_tap),
    });
    let link = tokio::spawn(run_link(ctx, shutdown.clone()));

    let commands = deps.commands.map(|source| {
        let executor = CommandExecutor::new(
            source,
            current_rx,
            ivr_handle,
            bus.clone(),
            status.clone(),
            config.sqs.command_wait_secs,
            config.request_timeout(),
        );
        tokio::spawn(executor.run(shutdown.clone()))
    });
    drop(bus);

    let health = tokio::spawn(server);
    tracing::info!(relay_id = %config.relay_id, health = %health_addr, spool = %config.spool.path.display(), "relay started");

    let token = shutdown.clone();
    let done = tokio::spawn(async move {
        token.cancelled().await;
        tracing::info!("stopping: closing the PBX session and the command poll");
        let _ = link.await;
        if let Some(c) = commands {
            let _ = c.await;
        }
        let _ = router.await;
        let _ = ivr.await;
        // Everything received is now in the bus: commit it, then publish what we can.
        writer_stop.cancel();
        let _ = writer.await;
        flush.cancel();
        let _ = publisher.await;
        let _ = health.await;
        tracing::info!("relay stopped");
    });

    Ok(RunningRelay {
        status,
        spool,
        health_addr,
        shutdown,
        done,
    })
}
