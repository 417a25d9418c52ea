//! Composition root of HttpApiFunction: tracing, config, clients, run.

use http_api::{
    config::Config,
    handler::{function_handler, HandlerDeps},
    openapi::OpenApiDocument,
};
use lambda_http::{run, service_fn, Error};
use linka_shared::{
    adapters::{
        speech_synthesizer, DynamoAuditLog, DynamoConfigStore, DynamoUserAdministration,
        DynamoUserDirectory, S3PromptStore, SqsNoticePublisher,
    },
    auth::{HttpJwksSource, TokenValidator},
    aws::sdk_config,
    prompts::PromptResolver,
    telemetry,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()
        .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))?;
    let sdk = sdk_config().await;
    let audit = DynamoAuditLog::from_sdk_config(
        &sdk,
        config.audit_table,
        chrono::Duration::days(i64::from(config.audit_retention_days)),
    );
    let deps = HandlerDeps {
        validator: TokenValidator::new(&config.auth, HttpJwksSource::new(&config.auth.jwks_url)?),
        // A user write is a configuration change for routing (its agents are read from the users).
        admin: DynamoUserAdministration::from_sdk_config(&sdk, &config.users_table, audit.clone())
            .with_change_marker(&config.config_table),
        config: std::sync::Arc::new(DynamoConfigStore::from_sdk_config(
            &sdk,
            config.config_table,
            audit.clone(),
        )),
        users: DynamoUserDirectory::from_sdk_config(&sdk, config.users_table),
        audit,
        publisher: SqsNoticePublisher::from_sdk_config(&sdk, config.broadcast_queue_url),
        prompts: PromptResolver::new(
            std::sync::Arc::new(S3PromptStore::from_sdk_config(&sdk, config.prompts.bucket)),
            speech_synthesizer(config.prompts.tts, &sdk),
        ),
        openapi: OpenApiDocument::embedded()?,
    };
    run(service_fn(|request| function_handler(&deps, request))).await
}
