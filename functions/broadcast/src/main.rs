//! Composition root of BroadcastFunction: tracing, config, clients, run.

use broadcast::{
    config::Config,
    handler::{function_handler, HandlerDeps},
};
use lambda_runtime::{run, service_fn, Error};
use linka_shared::{
    adapters::{ApiGatewayNotifier, DynamoConnectionStore},
    aws::sdk_config,
    telemetry,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let sdk = sdk_config().await;
    let deps = HandlerDeps {
        connections: DynamoConnectionStore::from_sdk_config(&sdk, config.connections_table),
        notifier: ApiGatewayNotifier::new(&sdk, &config.ws_management_endpoint),
    };
    run(service_fn(|event| function_handler(&deps, event))).await
}
