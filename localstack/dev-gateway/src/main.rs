//! `dev-gateway`: runs Linka locally (see the library docs and `--help`).

use std::process::ExitCode;

use clap::Parser;
use dev_gateway::app::{self, Config, LogFormat};
use tracing_subscriber::EnvFilter;

/// Quiet defaults for the AWS SDK and HTTP stacks; `RUST_LOG` replaces them.
const DEFAULT_FILTER: &str = "info,aws_config=warn,aws_smithy_runtime=warn,aws_sdk_sqs=warn,aws_sdk_dynamodb=warn,aws_sdk_s3=warn,hyper=warn,tower_http=info";

fn init_tracing(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    init_tracing(config.log_format);
    match app::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let error = anyhow::Error::from(error);
            tracing::error!("{error:#}");
            eprintln!("dev-gateway: {error:#}");
            ExitCode::FAILURE
        }
    }
}
