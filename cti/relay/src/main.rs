//! `linka-relay`: composition root only — tracing, config, clients, run, graceful shutdown.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use clap::{Parser, ValueEnum};
use linka_relay::commands::{CommandSource, SqsCommandSource};
use linka_relay::config::{Config, RoutingAuth};
use linka_relay::routing::{
    BearerToken, HttpRouteOracle, NoAuth, RequestSigner, RouteOracle, SigV4Signer,
};
use linka_relay::sink::SqsEventSink;
use linka_relay::{error_chain, start, Deps};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Pretty,
}

/// On-premise CTI relay: PBX (CSTA XML over TCP) → durable spool → SQS FIFO; routing with a
/// local fallback; commands from an SQS FIFO queue.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Configuration file (TOML).
    #[arg(
        long,
        env = "LINKA_RELAY_CONFIG",
        default_value = "/etc/linka-relay/relay.toml"
    )]
    config: PathBuf,
    /// Log format.
    #[arg(
        long,
        env = "LINKA_RELAY_LOG_FORMAT",
        value_enum,
        default_value = "json"
    )]
    log_format: LogFormat,
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error.message = %e, error.cause_chain = %error_chain(&e), "invalid configuration");
            return ExitCode::from(2);
        }
    };

    // Standard chain: AWS_REGION, AWS_ENDPOINT_URL, profiles with credential_process (IAM Roles
    // Anywhere), instance roles. No local branch.
    let aws = aws_config::defaults(BehaviorVersion::latest()).load().await;
    // Bounded attempts, so a hung (not refused) endpoint is retried instead of blocking the
    // publisher; the command client's attempt outlasts the 20 s long poll.
    let sqs_with_timeout = |attempt: Duration| {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(attempt)
            .build();
        aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&aws)
                .timeout_config(timeouts)
                .build(),
        )
    };
    let events_sqs = sqs_with_timeout(Duration::from_secs(10));
    let sink = Arc::new(SqsEventSink::new(events_sqs, &config.sqs.event_queue_url));
    let commands = config.command_queue_url().map(|url| {
        let wait = u64::try_from(config.sqs.command_wait_secs).unwrap_or(20);
        Arc::new(SqsCommandSource::new(
            sqs_with_timeout(Duration::from_secs(wait + 10)),
            url,
            config.sqs.command_visibility_secs,
        )) as Arc<dyn CommandSource>
    });
    let oracle = match &config.routing.url {
        None => None,
        Some(url) => {
            let http = match reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(60))
                .tcp_nodelay(true)
                .build()
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error.message = %e, "failed to build the HTTP client");
                    return ExitCode::FAILURE;
                }
            };
            let signer: Arc<dyn RequestSigner> = match config.routing.auth {
                RoutingAuth::None => Arc::new(NoAuth),
                RoutingAuth::Bearer => Arc::new(BearerToken(
                    config.routing.bearer_token.clone().unwrap_or_default(),
                )),
                RoutingAuth::Sigv4 => match (aws.credentials_provider(), aws.region()) {
                    (Some(credentials), Some(region)) => Arc::new(SigV4Signer::new(
                        credentials,
                        region.as_ref(),
                        &config.routing.sigv4_service,
                    )),
                    _ => {
                        tracing::error!("routing.auth = \"sigv4\" needs AWS credentials and a region (AWS_REGION or the profile)");
                        return ExitCode::from(2);
                    }
                },
            };
            Some(Arc::new(HttpRouteOracle::new(http, url, signer)) as Arc<dyn RouteOracle>)
        }
    };

    let relay = match start(
        config,
        Deps {
            sink,
            commands,
            oracle,
        },
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error.message = %e, error.cause_chain = %error_chain(&e), "relay failed to start");
            return ExitCode::FAILURE;
        }
    };

    let token = relay.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received");
        token.cancel();
    });
    relay.wait().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error.message = %e, "SIGTERM handler unavailable; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
