//! Composition root of RoutingWorkerFunction: tracing, config, clients, run.

use std::sync::Arc;

use lambda_runtime::{run, service_fn, Error};
use linka_shared::{
    adapters::{
        DynamoAgentDeskStore, DynamoAuditLog, DynamoCallbackStore, DynamoConfigStore,
        DynamoRoutingStateStore, DynamoUserDirectory, SqsChatDistribution, SqsRoutingSignals,
    },
    aws::sdk_config,
    config::{optional, ProcessEnv},
    telemetry,
};
use routing::{config::Config, router::Router, worker::function_handler};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let desk_table = config.agent_desk_table.clone();
    let sdk = sdk_config().await;
    let audit = DynamoAuditLog::from_sdk_config(
        &sdk,
        config.audit_table.clone(),
        chrono::Duration::days(183),
    );
    let callbacks_table = config.callbacks_table.clone();
    let config_for_ivr = config.clone();
    let mut router = Router::new(
        DynamoRoutingStateStore::from_sdk_config(&sdk, config.routing_tables()),
        DynamoUserDirectory::from_sdk_config(&sdk, config.users_table),
        SqsRoutingSignals::from_sdk_config(
            &sdk,
            config.command_queue_url,
            config.routing_queue_url,
        ),
        Arc::new(DynamoConfigStore::from_sdk_config(
            &sdk,
            config.config_table,
            audit,
        )),
        config.offer_seconds,
        config.config_cache,
    );
    if let Some(ivr) = routing::ivr_runtime(&config_for_ivr, &sdk) {
        router = router.with_ivr(ivr);
    }
    if let Some(table) = desk_table {
        router = router.with_desks(Arc::new(DynamoAgentDeskStore::from_sdk_config(&sdk, table)));
    }
    if let Some(table) = callbacks_table {
        router = router.with_callbacks(Arc::new(DynamoCallbackStore::from_sdk_config(&sdk, table)));
    }
    if let Some(url) = optional(&ProcessEnv, "CHAT_DISTRIBUTION_QUEUE_URL") {
        router = router
            .with_chat_distribution(Arc::new(SqsChatDistribution::from_sdk_config(&sdk, url)));
    }
    run(service_fn(|event| function_handler(&router, event))).await
}
