//! Composition root of CtiIngestFunction: tracing, config, clients, run.

use cti_ingest::{
    config::Config,
    handler::{function_handler, HandlerDeps},
};
use lambda_runtime::{run, service_fn, Error};
use linka_shared::{
    adapters::{DynamoCtiStateStore, SqsRoutingTriggers},
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
        store: DynamoCtiStateStore::from_sdk_config(
            &sdk,
            config.calls_table,
            config.agent_state_table,
            config.contact_events_table,
        ),
        topology: config.topology,
        triggers: config.routing_queue_url.map(|url| {
            std::sync::Arc::new(SqsRoutingTriggers::from_sdk_config(&sdk, url))
                as std::sync::Arc<dyn linka_shared::ports::RoutingTriggers>
        }),
    };
    run(service_fn(|event| function_handler(&deps, event))).await
}
