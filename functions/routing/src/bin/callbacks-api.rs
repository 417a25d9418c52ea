//! Composition root of CallbacksApiFunction: tracing, config, clients, run.

use std::sync::Arc;

use lambda_http::{run, service_fn, Error};
use linka_shared::{
    adapters::{
        DynamoAuditLog, DynamoCallbackStore, DynamoConfigStore, DynamoRoutingStateStore,
        DynamoUserDirectory, SqsRoutingSignals,
    },
    auth::{AuthConfig, HttpJwksSource, TokenValidator},
    aws::sdk_config,
    config::{self, ProcessEnv},
    telemetry,
};
use routing::{
    callbacks_api::{function_handler, CallbacksDeps},
    config::Config,
    router::Router,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let auth = AuthConfig::from_source(&ProcessEnv)
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let callbacks_table = config::required(&ProcessEnv, "CALLBACKS_TABLE")
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let sdk = sdk_config().await;
    let audit = DynamoAuditLog::from_sdk_config(
        &sdk,
        config.audit_table.clone(),
        chrono::Duration::days(183),
    );
    let store = Arc::new(DynamoCallbackStore::from_sdk_config(&sdk, callbacks_table));
    let router = Router::new(
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
            audit.clone(),
        )),
        config.offer_seconds,
        config.config_cache,
    )
    .with_callbacks(store.clone());
    let deps = CallbacksDeps {
        validator: TokenValidator::new(&auth, HttpJwksSource::new(&auth.jwks_url)?),
        router,
        store,
        audit,
    };
    run(service_fn(|request| function_handler(&deps, request))).await
}
