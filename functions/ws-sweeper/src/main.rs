//! Composition root of WsSweeperFunction: tracing, config, clients, run.

use lambda_runtime::{run, service_fn, Error};
use std::sync::Arc;

use linka_shared::{
    adapters::{DynamoAgentPresences, DynamoConnectionStore, DynamoUserDirectory, SqsCtiCommands},
    aws::sdk_config,
    telemetry,
};
use ws_sweeper::{
    config::Config,
    handler::{function_handler, HandlerDeps, Heartbeat},
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let sdk = sdk_config().await;
    let deps = HandlerDeps {
        connections: DynamoConnectionStore::from_sdk_config(&sdk, config.connections_table),
        heartbeat: config.heartbeat.map(|heartbeat| Heartbeat {
            users: Arc::new(DynamoUserDirectory::from_sdk_config(
                &sdk,
                heartbeat.users_table,
            )),
            agents: Arc::new(DynamoAgentPresences::from_sdk_config(
                &sdk,
                heartbeat.agent_state_table,
            )),
            commands: Arc::new(SqsCtiCommands::from_sdk_config(
                &sdk,
                heartbeat.command_queue_url,
            )),
            timeout: chrono::Duration::seconds(heartbeat.timeout_seconds),
        }),
    };
    run(service_fn(|event| function_handler(&deps, event))).await
}
