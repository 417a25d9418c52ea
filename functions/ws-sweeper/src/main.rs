//! Composition root of WsSweeperFunction: tracing, config, clients, run.

use lambda_runtime::{run, service_fn, Error};
use linka_shared::{adapters::DynamoConnectionStore, aws::sdk_config, telemetry};
use ws_sweeper::{
    config::Config,
    handler::{function_handler, HandlerDeps},
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let sdk = sdk_config().await;
    let deps = HandlerDeps {
        connections: DynamoConnectionStore::from_sdk_config(&sdk, config.connections_table),
    };
    run(service_fn(|event| function_handler(&deps, event))).await
}
