//! `pbx-sim` binary: composition root only (CLI → config → start → wait for a signal).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use csta::Edition;
use pbx_sim::scenario::Scenario;
use pbx_sim::{Options, SimConfig};

/// PBX simulator speaking CSTA XML over TCP, with an HTTP control API.
#[derive(Debug, Parser)]
#[command(name = "pbx-sim", version)]
struct Cli {
    /// CSTA XML over TCP listen port.
    #[arg(long, env = "PBX_SIM_CSTA_PORT", default_value_t = 7001)]
    csta_port: u16,
    /// HTTP control API listen port.
    #[arg(long, env = "PBX_SIM_HTTP_PORT", default_value_t = 7080)]
    http_port: u16,
    /// Listen address for both ports.
    #[arg(long, env = "PBX_SIM_HOST", default_value = "0.0.0.0")]
    host: IpAddr,
    /// Device/settings file (YAML or JSON); the built-in demo PBX when absent.
    #[arg(long, env = "PBX_SIM_CONFIG")]
    config: Option<PathBuf>,
    /// ECMA-323 edition of outgoing CSTA messages: ed3, ed4 or ed5.
    #[arg(long, env = "PBX_SIM_EDITION", default_value = "ed4", value_parser = parse_edition)]
    edition: Edition,
    /// Start the configured demo traffic on boot.
    #[arg(long, env = "PBX_SIM_TRAFFIC")]
    traffic: bool,
    /// Seed for the traffic generator (deterministic arrivals).
    #[arg(long, env = "PBX_SIM_SEED", default_value_t = 1)]
    seed: u64,
    /// Agents answer alerting calls after this many ms (demo mode).
    #[arg(long, env = "PBX_SIM_AUTO_ANSWER_MS")]
    auto_answer_ms: Option<u64>,
    /// Run this scenario file (YAML or JSON) once the listeners are up.
    #[arg(long)]
    scenario: Option<PathBuf>,
}

/// `--edition` value outside ed3/ed4/ed5.
#[derive(Debug, thiserror::Error)]
#[error("unknown edition {0} (expected ed3, ed4 or ed5)")]
struct BadEdition(String);

fn parse_edition(s: &str) -> Result<Edition, BadEdition> {
    Edition::from_name(s).ok_or_else(|| BadEdition(s.to_owned()))
}

/// `--scenario` file problems.
#[derive(Debug, thiserror::Error)]
enum ScenarioFileError {
    #[error("cannot read scenario: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Parse(#[from] pbx_sim::scenario::ScenarioError),
}

fn load_scenario(path: &std::path::Path) -> Result<Scenario, ScenarioFileError> {
    Ok(Scenario::parse(&std::fs::read_to_string(path)?)?)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let mut config = match &cli.config {
        Some(path) => match SimConfig::load(path) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot load config");
                return ExitCode::from(2);
            }
        },
        None => SimConfig::demo(),
    };
    if cli.auto_answer_ms.is_some() {
        config.auto_answer_ms = cli.auto_answer_ms;
    }
    let scenario = match &cli.scenario {
        Some(path) => match load_scenario(path) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, path = %path.display(), "cannot load scenario");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let opts = Options {
        csta_addr: SocketAddr::new(cli.host, cli.csta_port),
        http_addr: SocketAddr::new(cli.host, cli.http_port),
        edition: cli.edition,
        seed: cli.seed,
        traffic: cli.traffic,
    };
    let running = match pbx_sim::start(config, opts).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::from(1);
        }
    };
    if let Some(s) = scenario {
        let sim = running.sim.clone();
        tokio::spawn(async move {
            match pbx_sim::scenario::run(&sim, &s).await {
                Ok(r) => tracing::info!(steps = r.steps_run, calls = ?r.calls, "scenario done"),
                Err(e) => tracing::warn!(error = %e, "scenario failed"),
            }
        });
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
