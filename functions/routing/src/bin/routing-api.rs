//! Composition root of RoutingApiFunction: tracing, config, clients, run.

use std::sync::Arc;

use lambda_http::{run, service_fn, Error};
use linka_shared::{
    adapters::{
        DynamoAgentDeskStore, DynamoAuditLog, DynamoClientStore, DynamoConfigStore,
        DynamoRoutingStateStore, DynamoUserDirectory, SqsRoutingSignals,
    },
    aws::sdk_config,
    telemetry,
};
use routing::{
    api::{function_handler, ApiDeps},
    config::Config,
    router::Router,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let desk_table = config.agent_desk_table.clone();
    let clients_table = config.clients_table.clone();
    let sdk = sdk_config().await;
    let audit = DynamoAuditLog::from_sdk_config(
        &sdk,
        config.audit_table.clone(),
        chrono::Duration::days(183),
    );
    let ivr = routing::ivr_runtime(&config, &sdk);
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
    if let Some(ivr) = ivr {
        router = router.with_ivr(ivr);
    }
    if let Some(table) = clients_table {
        router = router.with_clients(Arc::new(DynamoClientStore::from_sdk_config(&sdk, table)));
    }
    if let Some(table) = desk_table {
        router = router.with_desks(Arc::new(DynamoAgentDeskStore::from_sdk_config(&sdk, table)));
    }
    let deps = ApiDeps {
        router,
        require_iam: config.require_iam,
    };
    run(service_fn(|request| function_handler(&deps, request))).await
}
