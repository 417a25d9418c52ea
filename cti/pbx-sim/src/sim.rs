//! [`Sim`]: the shared handle on the [`Pbx`] — runs its timers on tokio, flushes its outbox,
//! owns the traffic generator — and [`start`], which binds the CSTA and HTTP listeners.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use csta::Edition;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::SimConfig;
use crate::pbx::{Effect, Pbx};
use crate::traffic::{Generator, TrafficError, TrafficProfile};

/// Shared simulator handle (cheap to clone).
#[derive(Clone, Debug)]
pub struct Sim {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pbx: Mutex<Pbx>,
    changed: Notify,
    traffic: Mutex<Option<TrafficRun>>,
    seed: u64,
    next_client: AtomicU64,
    default_profile: TrafficProfile,
}

#[derive(Debug)]
struct TrafficRun {
    stop: CancellationToken,
    profile: TrafficProfile,
    generated: Arc<AtomicU64>,
}

/// Status of the traffic generator.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrafficStatus {
    /// True while running.
    pub running: bool,
    /// Calls placed by the current / last run.
    pub generated: u64,
    /// The profile of the current run.
    pub profile: Option<TrafficProfile>,
}

impl Sim {
    /// A simulator for this configuration; `seed` drives the traffic generator.
    pub fn new(config: SimConfig, edition: Edition, seed: u64) -> Self {
        let default_profile = config.traffic.clone();
        Self {
            inner: Arc::new(Inner {
                pbx: Mutex::new(Pbx::new(config, edition)),
                changed: Notify::new(),
                traffic: Mutex::new(None),
                seed,
                next_client: AtomicU64::new(1),
                default_profile,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pbx> {
        // A panic while holding the lock cannot leave the PBX half-updated in a way worse than
        // refusing every later request, so keep serving.
        self.inner.pbx.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the PBX, then sends what it queued and arms the timers it asked for.
    /// Must be called inside a tokio runtime.
    pub fn with<R>(&self, f: impl FnOnce(&mut Pbx) -> R) -> R {
        let (r, effects) = {
            let mut pbx = self.lock();
            let r = f(&mut pbx);
            pbx.flush();
            (r, pbx.take_effects())
        };
        for e in effects {
            self.arm(e);
        }
        self.inner.changed.notify_waiters();
        r
    }

    /// Reads the PBX without side effects.
    pub fn read<R>(&self, f: impl FnOnce(&Pbx) -> R) -> R {
        f(&self.lock())
    }

    fn arm(&self, e: Effect) {
        let sim = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(e.after).await;
            sim.with(|p| p.fire(e.timer));
        });
    }

    /// Resolves when the PBX state changes next (for waiting on conditions).
    pub async fn changed(&self) {
        self.inner.changed.notified().await;
    }

    /// Waits until `cond` holds on the PBX (checked after every change).
    pub async fn wait_for(&self, mut cond: impl FnMut(&Pbx) -> bool) {
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.read(&mut cond) {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn next_client_id(&self) -> u64 {
        self.inner.next_client.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts the traffic generator (replacing a running one). `None` = the configured profile.
    pub fn start_traffic(&self, profile: Option<TrafficProfile>) -> Result<(), TrafficError> {
        let profile = profile.unwrap_or_else(|| self.inner.default_profile.clone());
        let seed = profile.seed.unwrap_or(self.inner.seed);
        let mut gen = Generator::new(profile.clone(), seed)?;
        self.stop_traffic();
        if let Some(s) = profile.agent_answer_s {
            let ms = (s.max(0.0) * 1000.0).round() as u64;
            self.with(|p| p.set_auto_answer(Some(ms)));
        }
        let stop = CancellationToken::new();
        let generated = Arc::new(AtomicU64::new(0));
        let run = TrafficRun {
            stop: stop.clone(),
            profile: profile.clone(),
            generated: generated.clone(),
        };
        *self.inner.traffic.lock().unwrap_or_else(|e| e.into_inner()) = Some(run);
        let sim = self.clone();
        tracing::info!(
            rate = profile.arrivals_per_minute,
            seed,
            "traffic generator started"
        );
        tokio::spawn(async move {
            loop {
                if profile
                    .max_calls
                    .is_some_and(|m| generated.load(Ordering::Relaxed) >= m)
                {
                    break;
                }
                let a = gen.next_arrival();
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(a.gap) => {}
                }
                match sim.with(|p| p.inbound_call(&a.from, &a.to, Some(a.plan))) {
                    Ok(_) => {
                        generated.fetch_add(1, Ordering::Relaxed);
                        sim.inner.changed.notify_waiters();
                    }
                    Err(e) => tracing::warn!(error = %e, to = %a.to, "generated call refused"),
                }
            }
            tracing::info!("traffic generator stopped");
        });
        Ok(())
    }

    /// Stops the traffic generator (calls in progress carry on).
    pub fn stop_traffic(&self) -> bool {
        let guard = self.inner.traffic.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(run) if !run.stop.is_cancelled() => {
                run.stop.cancel();
                true
            }
            _ => false,
        }
    }

    /// Traffic generator status.
    pub fn traffic_status(&self) -> TrafficStatus {
        let guard = self.inner.traffic.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(run) => TrafficStatus {
                running: !run.stop.is_cancelled(),
                generated: run.generated.load(Ordering::Relaxed),
                profile: Some(run.profile.clone()),
            },
            None => TrafficStatus {
                running: false,
                generated: 0,
                profile: None,
            },
        }
    }
}

/// Startup options.
#[derive(Debug, Clone)]
pub struct Options {
    /// CSTA listen address (port 0 = any).
    pub csta_addr: SocketAddr,
    /// HTTP listen address (port 0 = any).
    pub http_addr: SocketAddr,
    /// ECMA-323 edition of outgoing messages.
    pub edition: Edition,
    /// Seed for the traffic generator.
    pub seed: u64,
    /// Start the configured traffic profile at once.
    pub traffic: bool,
}

/// A started simulator.
#[derive(Debug)]
pub struct Running {
    /// The simulator.
    pub sim: Sim,
    /// Bound CSTA address.
    pub csta_addr: SocketAddr,
    /// Bound HTTP address.
    pub http_addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// Startup errors.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The configured traffic profile is invalid.
    #[error(transparent)]
    Traffic(#[from] TrafficError),
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Binds both listeners and serves them until [`Running::shutdown`].
pub async fn start(config: SimConfig, opts: Options) -> Result<Running, StartError> {
    let sim = Sim::new(config, opts.edition, opts.seed);
    let csta = bind(opts.csta_addr).await?;
    let http = bind(opts.http_addr).await?;
    let csta_addr = csta.local_addr().map_err(|source| StartError::Bind {
        addr: opts.csta_addr,
        source,
    })?;
    let http_addr = http.local_addr().map_err(|source| StartError::Bind {
        addr: opts.http_addr,
        source,
    })?;
    let shutdown = CancellationToken::new();
    let t1 = tokio::spawn(crate::server::serve(
        csta,
        sim.clone(),
        opts.edition,
        shutdown.clone(),
    ));
    let router = crate::http::router(sim.clone());
    let stop = shutdown.clone();
    let t2 = tokio::spawn(async move {
        let served = axum::serve(http, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    if opts.traffic {
        sim.start_traffic(None)?;
    }
    tracing::info!(%csta_addr, %http_addr, edition = ?opts.edition, "pbx-sim listening");
    Ok(Running {
        sim,
        csta_addr,
        http_addr,
        shutdown,
        tasks: vec![t1, t2],
    })
}

impl Running {
    /// Stops accepting, closes every CSTA link, stops traffic, and waits for the servers.
    pub async fn shutdown(self) {
        self.sim.stop_traffic();
        self.shutdown.cancel();
        self.sim.with(|p| {
            p.drop_links(None);
        });
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
