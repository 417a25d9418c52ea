//! Composition root of ChatDistributorFunction: tracing, config, clients, run.

use std::sync::Arc;

use chat::{
    desk_chats::DeskChatDeps,
    distributor::{function_handler, DistributorDeps},
    effects::ChatEffects,
};
use lambda_runtime::{run, service_fn, Error};
use linka_shared::{
    adapters::{
        DynamoAgentDeskStore, DynamoAuditLog, DynamoConfigStore, DynamoConversationStore,
        DynamoRoutingStateStore, DynamoUserDirectory, SqsRoutingSignals,
    },
    aws::sdk_config,
    config::{self, ProcessEnv},
    telemetry,
};
use routing::{config::Config, router::Router};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let routing = Config::from_env()
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let required = |name: &'static str| {
        config::required(&ProcessEnv, name)
            .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))
    };
    let chat_table = required("CHAT_TABLE")?;
    let desk_table = required("AGENT_DESK_TABLE")?;
    let chats_per_agent = DeskChatDeps::<()>::chats_per_agent_or_default(
        config::optional(&ProcessEnv, "CHATS_PER_AGENT").and_then(|n| n.parse().ok()),
    );
    let sdk = sdk_config().await;
    let audit = DynamoAuditLog::from_sdk_config(
        &sdk,
        routing.audit_table.clone(),
        chrono::Duration::days(183),
    );
    let config = Arc::new(DynamoConfigStore::from_sdk_config(
        &sdk,
        routing.config_table.clone(),
        audit,
    ));
    let router = Router::new(
        DynamoRoutingStateStore::from_sdk_config(&sdk, routing.routing_tables()),
        DynamoUserDirectory::from_sdk_config(&sdk, routing.users_table.clone()),
        // Distribution only reads the routing state; it sends no routing signals.
        SqsRoutingSignals::from_sdk_config(
            &sdk,
            routing.command_queue_url.clone(),
            routing.routing_queue_url.clone(),
        ),
        config.clone(),
        routing.offer_seconds,
        routing.config_cache,
    )
    .with_desks(Arc::new(DynamoAgentDeskStore::from_sdk_config(
        &sdk, desk_table,
    )));
    let deps = DistributorDeps {
        router,
        store: Arc::new(DynamoConversationStore::from_sdk_config(&sdk, chat_table)),
        effects: ChatEffects::from_environment(&sdk, config),
        chats_per_agent,
    };
    run(service_fn(|event| function_handler(&deps, event))).await
}
