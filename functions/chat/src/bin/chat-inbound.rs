//! Composition root of ChatInboundFunction: tracing, config, clients, run.

use std::sync::Arc;

use chat::{
    channels_inbound::InboundDeps,
    effects::ChatEffects,
    inbound_worker::{function_handler, InboundWorkerDeps},
};
use lambda_runtime::{run, service_fn, Error};
use linka_shared::{
    adapters::{DynamoAuditLog, DynamoConfigStore, DynamoConversationStore, S3MailObjects},
    aws::sdk_config,
    config::{self, ProcessEnv},
    telemetry,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let required = |name: &'static str| {
        config::required(&ProcessEnv, name)
            .inspect_err(|error| tracing::error!(error.message = %error, "invalid configuration"))
    };
    let sdk = sdk_config().await;
    let audit = DynamoAuditLog::from_sdk_config(
        &sdk,
        required("AUDIT_TABLE")?,
        chrono::Duration::days(183),
    );
    let config = Arc::new(DynamoConfigStore::from_sdk_config(
        &sdk,
        required("CONFIG_TABLE")?,
        audit,
    ));
    let deps = InboundWorkerDeps {
        inbound: InboundDeps {
            store: Arc::new(DynamoConversationStore::from_sdk_config(
                &sdk,
                required("CHAT_TABLE")?,
            )),
            effects: ChatEffects::from_environment(&sdk, config),
            queue_id: required("CHAT_DEFAULT_QUEUE_ID")?,
        },
        mail: Arc::new(S3MailObjects::from_sdk_config(
            &sdk,
            required("CHAT_ATTACHMENTS_BUCKET")?,
        )),
    };
    run(service_fn(|event| function_handler(&deps, event))).await
}
