//! Composition root of WsApiFunction: tracing, config, clients, run.

use lambda_runtime::{run, service_fn, Error};
use linka_shared::{
    adapters::{ApiGatewayNotifier, DynamoConnectionStore},
    auth::{HttpJwksSource, TokenValidator},
    aws::sdk_config,
    chat::participant::ParticipantTokens,
    telemetry,
};
use ws_api::{
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
        validator: TokenValidator::new(&config.auth, HttpJwksSource::new(&config.auth.jwks_url)?),
        connections: DynamoConnectionStore::from_sdk_config(&sdk, config.connections_table),
        notifier: ApiGatewayNotifier::new(&sdk, &config.ws_management_endpoint),
        participants: config
            .chat_token_secret
            .as_deref()
            .map(|secret| ParticipantTokens::new(secret.as_bytes()))
            .transpose()
            .inspect_err(
                |error| tracing::error!(error.message = %error, "invalid configuration"),
            )?,
    };
    run(service_fn(|event| function_handler(&deps, event))).await
}
